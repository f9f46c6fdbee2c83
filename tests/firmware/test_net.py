"""Network bring-up (net.py) against an in-test stand-in for MicroPython's `network` and
`ntptime` modules, with the method names of ports/esp32/network_wlan.c."""

import json
from pathlib import Path

import pytest

NET_STAND_IN = Path(__file__).with_name("standins") / "network.py"

STAND_IN = NET_STAND_IN.read_text() + """
import sys
sys.modules['network'] = _Net
sys.modules['ntptime'] = _Ntp
from microace import net
"""


@pytest.fixture
def fake_net(mp):
    mp.exec(STAND_IN)
    yield mp
    mp.exec("import sys\nsys.modules.pop('network')\nsys.modules.pop('ntptime')")


def up(mp, network, directory):
    return mp.eval("net.up(%r, %r)" % (network, str(directory)))


def test_unix_port_has_nothing_to_bring_up(fake_net, tmp_path):
    assert up(fake_net, {"interface": "host"}, tmp_path) is None
    assert fake_net.eval("_Net.calls") == []


def test_joins_the_wlan_from_the_credentials_file_and_sets_the_clock(fake_net, tmp_path):
    (tmp_path / "wlan.json").write_text(json.dumps({"ssid": "lab", "key": "k3y"}))
    fake_net.exec("_Net.joins = 3; _Net.calls = []")
    assert up(fake_net, {"interface": "wlan", "ntp": "ntp.example"}, tmp_path) == "192.0.2.7"
    assert fake_net.eval("_Net.calls") == [("active", True), ("connect", "lab", "k3y"),
                                           ("ntp", "ntp.example")]


def test_ntp_failure_leaves_the_clock_unset_but_the_board_up(fake_net, tmp_path):
    (tmp_path / "wlan.json").write_text(json.dumps({"ssid": "lab", "key": "k3y"}))
    fake_net.exec("_Net.joins = 0; _Net.calls = []; _Ntp.fail = True")
    log = fake_net.exec("_ip = net.up({'interface': 'wlan', 'ntp': 'ntp.example'}, %r)"
                        % str(tmp_path))
    assert log.strip() == "microace: NTP failed: [Errno 110] ETIMEDOUT"
    assert fake_net.eval("_ip") == "192.0.2.7"
    assert ("ntp", "ntp.example") not in fake_net.eval("_Net.calls")


@pytest.mark.parametrize("content", [None, "not json", json.dumps({"key": "k"})])
def test_missing_or_bad_credentials_fail_with_one_line(fake_net, tmp_path, content):
    if content is not None:
        (tmp_path / "wlan.json").write_text(content)
    fake_net.exec("def _try(f):\n try:\n  return f()\n except OSError as e:\n  return str(e)")
    out = fake_net.eval("_try(lambda: net.up({'interface': 'wlan'}, %r))" % str(tmp_path))
    assert out == "WLAN credentials missing or invalid: %s/wlan.json" % tmp_path


def test_a_wlan_that_never_answers_times_out(fake_net, tmp_path):
    (tmp_path / "wlan.json").write_text(json.dumps({"ssid": "lab"}))
    fake_net.exec("_Net.joins = None; _Net.calls = []\n"
                  "def _try(f):\n try:\n  return f()\n except OSError as e:\n  return str(e)")
    out = fake_net.eval("_try(lambda: net.up({'interface': 'wlan', 'join_ms': 300}, %r))"
                        % str(tmp_path))
    assert out == "WLAN lab: not joined"
    assert fake_net.eval("_Net.calls") == [("active", True), ("connect", "lab", None),
                                           ("active", False)]
