"""Board wiring: the key store a board's board.json names, built from its parts (a medium, a
secure element on its I2C bus). startup.py opens the store here at start-up, `microace
provision` and `doctor` over the REPL; the key store itself never chooses its backend.
"""

from microace.errors import KeyStoreError
from microace.keystore.persistent import PersistentKeyStore


def open_store(cfg):
    """The board's key store as its config (board.json) says: cfg["keystore"] is
    {"backend": "file", "dir": DIR} | {"backend": "nvs", "namespace": NAME} |
    {"backend": "atecc608", "i2c": {"id", "scl", "sda", "freq"}, "address": 0x60, "slot": N,
    "mac_slot": M (the record MAC key: without it the record is not authenticated),
    "medium": {... file or nvs, where everything but the ES256 AS key lives}}. Backends are
    imported when named: esp32 and machine exist only on boards. With cfg["edhoc"] (board.json) it
    is keystore/own.py's EdhocKeyStore, which also keeps the board's EDHOC key (and an
    ATECC608 makes it in "edhoc_slot"). A corrupt store raises
    KeyStoreError: the caller reports it and fails closed."""
    store = PersistentKeyStore
    ks = cfg.get("keystore") or {}
    if cfg.get("edhoc") is not None:  # board.json enables EDHOC: the store with its own key
        from microace.keystore.own import EdhocKeyStore as store
    if ks.get("backend") == "atecc608":
        return store(_medium(ks.get("medium") or {"backend": "nvs"}), _chip(ks))
    return store(_medium(ks))


def _medium(ks):
    backend = ks.get("backend")
    if backend == "file":
        from microace.keystore.file import FileMedium

        if type(ks.get("dir")) is not str:
            raise KeyStoreError('the file key store needs "dir"')
        return FileMedium(ks["dir"])
    if backend == "nvs":
        from microace.keystore.nvs import NvsMedium

        return NvsMedium(ks.get("namespace", "microace"))
    raise KeyStoreError("unknown key store backend %r" % (backend,))


def _chip(ks):
    try:
        from machine import I2C, Pin
    except ImportError:  # the unix port's machine module has neither
        raise KeyStoreError("the atecc608 key store needs machine.I2C, which this port lacks")

    from microace.keystore.atecc608 import ADDRESS
    from microace.keystore.secure_element import AteccVerifier

    bus = ks.get("i2c") or {}
    if type(bus.get("scl")) is not int or type(bus.get("sda")) is not int:
        raise KeyStoreError('the atecc608 key store needs "i2c": {"scl": PIN, "sda": PIN}')
    i2c = I2C(bus.get("id", 0), scl=Pin(bus["scl"]), sda=Pin(bus["sda"]),
              freq=bus.get("freq", 100000))  # ATECC608 wake needs SDA low >= 60 us
    chip = AteccVerifier(i2c, ks.get("address", ADDRESS), ks.get("slot"),
                         mac_slot=ks.get("mac_slot"))
    chip.edhoc_slot = ks.get("edhoc_slot")  # the EDHOC key's slot, when the chip makes it
    return chip
