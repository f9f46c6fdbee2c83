"""Host tools for microace: keys, provisioning, deploy, AS emulator, client, and the firmware's
verdicts. The version is the firmware's (firmware/microace/__init__.py VERSION): a test keeps
them equal."""

__version__ = "0.1.0"
