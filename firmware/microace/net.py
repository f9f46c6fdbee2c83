"""Network bring-up on boards: join the WLAN, optionally set the clock by NTP.

board.json "network": {"interface": "wlan", "credentials": "wlan.json", "ntp": "pool.ntp.org",
"join_ms": 20000}.
The SSID and key are not in board.json (it lives in the repository): they are a file on the
board, {"ssid": ..., "key": ...}, copied there once by the user. The unix port uses the host's
network: nothing to do. NTP is unauthenticated: it only sets the wall clock that clock.py
weighs (docs/SECURITY.md, "Time"); without "ntp" the clock stays unset.
"""

import json
import time

_JOIN_MS = 20000


def up(network, state_dir="."):
    """Bring the interface up -> its IP address, or None when there is nothing to do.
    Raises OSError with a one-line reason when the board cannot join."""
    if network.get("interface") != "wlan":
        return None
    try:
        import network as wlan_module
    except ImportError:  # the unix port has none
        raise OSError('no WLAN on this port (no network module): use "interface": "host"')

    name = state_dir + "/" + network.get("credentials", "wlan.json")
    try:
        with open(name) as f:
            credentials = json.load(f)
        ssid = credentials["ssid"]
    except (OSError, ValueError, KeyError, TypeError):
        raise OSError("WLAN credentials missing or invalid: " + name)
    sta = wlan_module.WLAN(wlan_module.STA_IF)
    sta.active(True)
    if not sta.isconnected():
        sta.connect(ssid, credentials.get("key"))
        start = time.ticks_ms()
        while not sta.isconnected():
            if time.ticks_diff(time.ticks_ms(), start) > network.get("join_ms", _JOIN_MS):
                sta.active(False)
                raise OSError("WLAN %s: not joined" % ssid)
            time.sleep_ms(100)
    if network.get("ntp"):
        try:
            import ntptime

            ntptime.host = network["ntp"]
            ntptime.settime()
        except Exception as e:  # no time is a state clock.py handles (fail closed)
            print("microace: NTP failed:", e)
    return sta.ifconfig()[0]
