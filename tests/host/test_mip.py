"""The mip packages (firmware/package.json and the key-store extensions) install from an HTTP
server on 127.0.0.1 into a unix-port board through `mpremote mip install` (its installer, over
the board's raw REPL on a socat pseudo-terminal), and the installed firmware runs."""

import functools
import http.server
import shutil
import subprocess
import threading

import pytest
from mpremote import mip

from microace_host import board as board_module
from microace_host import firmware
from microace_host.unix_port import micropython_command

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="needs socat (make test "
                                "installs it)")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_firmware():
    """firmware/ over HTTP on 127.0.0.1 -> (base URL, the paths requested)."""
    requested = []

    class Handler(_Quiet):
        def do_GET(self):
            requested.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(firmware.FIRMWARE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1], requested
    server.shutdown()
    server.server_close()


def test_mip_installs_the_core_and_an_extension_and_the_firmware_runs(served_firmware,
                                                                      tmp_path, monkeypatch):
    base, requested = served_firmware
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    state = tmp_path / "board"
    with board_module.Board.open("unix:%s" % state, board="unix", create=True) as dev:
        for part in ("package.json", "microace-nvs.json"):
            mip._install_package(dev.transport, "%s/%s" % (base, part), None, ".", None, False)
    want = firmware.package_manifest() + firmware.package_manifest("microace-nvs")
    got = sorted(str(p.relative_to(state)) for p in state.rglob("*.py"))
    assert got == sorted(want)
    assert all((state / m).read_bytes() == (firmware.FIRMWARE / m).read_bytes() for m in want)
    assert "/microace-atecc608.json" not in requested
    # The installed copy is what runs (first on the path, as a board's filesystem).
    argv, env = micropython_command(
        "-c", "import microace.rs, microace.keystore.nvs\nprint(microace.rs.__file__)",
        heap="256k", path=state)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "%s/microace/rs.py" % state
