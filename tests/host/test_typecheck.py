"""`make typecheck` (typecheck/run.py) can fail: a stand-in that drifts from its port, a call
the port cannot take and CPython-only API are reported; each board sees its own stubs only;
known.toml holds reasons, not a blanket. The checks run basedpyright on small files here
against the pinned stubs that `make typecheck` installs (installed here when missing)."""

import importlib.util
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("typecheck_run", ROOT / "typecheck" / "run.py")
run = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(run)
CONFIG = run.load("config.toml")
BOARDS = sorted(p.parent.name for p in run.BOARDS.glob("*/manifest.py"))

DRIFTED_NVS = """
TYPE_CHECKING = False
if TYPE_CHECKING:
    from esp32 import NVS as _NVS
else:
    _NVS = object
class Drifted(_NVS):
    flash = {}  # a test's own control: not port API
    def set_i32(self, *a):  # positional, as the port
        pass
    def get_blob(self, key):  # the port takes (key, buffer) and returns the length
        return b''
    def get_str(self, key):  # the port has no such method
        return ''
"""

PORT_CALLS = """
import cbor2
import esp32
import hashlib
import socket
esp32.NVS('microace').set_i32('k')
socket.socket().sendto(b'x')
hashlib.blake2b(b'x')
"""


def check(tmp_path, board, sources, standins=()):
    """Diagnostics (file name, rule, message) of SOURCES {name: text} on BOARD's stubs."""
    files = []
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
        files.append(tmp_path / name)
    stub_dir = run.install_stubs(board, CONFIG)
    found = run.check(tmp_path / "work", CONFIG["firmware"], stub_dir, files, standins)
    return [(Path(f).name, rule, message) for f, _, rule, message in found]


def test_a_stand_in_that_drifts_from_the_port_is_reported(tmp_path):
    standin = {"file": str(tmp_path / "drifted.py"), "on_boards_with": "esp32",
               "classes": {"Drifted": "esp32.NVS"}}
    found = check(tmp_path, "esp32_generic", {"drifted.py": DRIFTED_NVS}, [standin])
    rules = sorted((rule, message.splitlines()[0]) for _, rule, message in found)
    assert rules == [
        ("reportIncompatibleMethodOverride",
         'Method "get_blob" overrides class "NVS" in an incompatible manner'),
        ("standin-name", "defines esp32.NVS.get_str, which this port's stubs lack")]


def test_calls_the_port_cannot_take_and_cpython_only_api_are_reported(tmp_path):
    """Also: the host's site-packages (cbor2 is installed here) are not on a board's path."""
    found = check(tmp_path, "esp32_generic", {"calls.py": PORT_CALLS})
    assert sorted((rule, message.splitlines()[0]) for _, rule, message in found) == [
        ("reportAttributeAccessIssue", '"blake2b" is not a known attribute of module "hashlib"'),
        ("reportCallIssue", "Expected 1 more positional argument"),
        ("reportCallIssue", "Expected 1 more positional argument"),
        ("reportMissingImports", 'Import "cbor2" could not be resolved')]


def test_each_board_sees_its_own_port(tmp_path):
    code = {"net.py": "import network\nnetwork.WLAN(network.STA_IF).active(True)\n"}
    assert check(tmp_path, "esp32c3_devkitm", code) == []
    assert [rule for _, rule, _ in check(tmp_path, "unix", code)] == ["reportMissingImports"]


def test_every_board_has_pinned_stubs_and_known_entries_have_reasons():
    assert set(BOARDS) <= set(CONFIG["stubs"])
    assert all("==" in pin for pin in CONFIG["stubs"].values())
    known = run.load("known.toml")["known"]
    for entry in known:
        assert set(entry) == {"where", "file", "rule", "message", "reason"}, entry
        assert set(entry["where"]) <= set(BOARDS) | {"boards", "host"}, entry
        assert entry["reason"].split(":")[0] in ("stub", "inference", "unix path"), entry
        assert entry["message"] and entry["rule"], entry


def test_a_known_entry_matches_only_its_file_rule_message_and_targets():
    entry = {"where": ["unix"], "file": "microace/net.py", "rule": "reportMissingImports",
             "message": 'Import "network"', "reason": "unix path: test"}
    found = ("microace/net.py", 22, "reportMissingImports",
             'Import "network" could not be resolved')
    assert run.allowed([entry], "unix", found) is entry
    assert run.allowed([entry], "esp32_generic", found) is None
    assert run.allowed([entry], "unix", found[:2] + ("reportCallIssue",) + found[3:]) is None
    assert run.allowed([dict(entry, where=["boards"])], "host", found) is None


@pytest.mark.parametrize("name", ["config.toml", "known.toml"])
def test_the_checker_configuration_parses(name):
    with open(ROOT / "typecheck" / name, "rb") as f:
        assert tomllib.load(f)
