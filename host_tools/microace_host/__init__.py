"""Host tools for microace: keys, provisioning, AS emulator, client, and the firmware's verdicts."""

__version__ = "0.1.0"
