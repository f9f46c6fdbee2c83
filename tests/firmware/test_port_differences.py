"""What `make typecheck` found where the firmware assumed more of a port than the port has
(typecheck/known.toml lists these paths for the unix board with this file as the reason): on
the MicroPython unix port, `machine` has neither Pin nor I2C and there is no `network`
module. A board.json that asks for them there gets a one-line error, not an ImportError."""

import json

TRY = """
def _pd_try(f):
    try:
        return ('ok', f())
    except Exception as e:
        return (type(e).__name__, str(e))
"""


def test_wlan_on_a_port_without_network_is_a_one_line_oserror(mp, tmp_path):
    (tmp_path / "wlan.json").write_text(json.dumps({"ssid": "lab", "key": "k3y"}))
    mp.exec(TRY + "from microace import net")
    assert mp.eval("_pd_try(lambda: net.up({'interface': 'wlan'}, %r))" % str(tmp_path)) == (
        "OSError", 'no WLAN on this port (no network module): use "interface": "host"')


def test_atecc608_on_a_port_without_machine_i2c_is_a_key_store_error(mp, tmp_path):
    mp.exec(TRY + "from microace.wiring import open_store")
    cfg = {"keystore": {"backend": "atecc608", "i2c": {"scl": 9, "sda": 8},
                        "medium": {"backend": "file", "dir": str(tmp_path)}}}
    assert mp.eval("_pd_try(lambda: open_store(%r))" % cfg) == (
        "KeyStoreError", "the atecc608 key store needs machine.I2C, which this port lacks")


def test_a_led_on_a_port_without_machine_pin_is_a_value_error(mp):
    mp.exec(TRY + "from microace import demo")
    assert mp.eval("_pd_try(lambda: demo._led({'led': 2}))") == (
        "ValueError", '"pins": {"led": 2}: this port has no machine.Pin')
    assert mp.eval("_pd_try(lambda: demo._led({}))") == ("ok", None)
