"""Shared pytest set-up: the options and fixtures (`mp`, `mpy_firmware`, `board_proxy`,
`peer`). Fixtures only: what tests import lives in tests/support."""

import os
from pathlib import Path

import pytest

from microace_host.unix_port import PROXY_ENV, proxy_binary
from tests.support.mp_harness import MicroPython, Repl
from tests.support.vectors import ROOT


def pytest_addoption(parser):
    parser.addoption("--device", default=None,
                     help="run firmware tests on a real board at this serial port (mpremote)")
    parser.addoption("--heap", default=os.environ.get("MICROACE_HEAP"),
                     help="heap size for the unix port, e.g. 32k (micropython -X heapsize=)")
    parser.addoption("--proxy", default=None,
                     help="run every MicroPython process on the board proxy, a unix port with "
                          "microace frozen in (make firmware: build/proxy/micropython)")


def pytest_configure(config):
    """--proxy sets MICROACE_PROXY, the one switch every unix-port process goes through
    (microace_host.unix_port.micropython_command), here and in the processes tests start."""
    proxy = config.getoption("--proxy")
    if proxy:
        os.environ[PROXY_ENV] = str(Path(proxy).resolve())


MICROPY_TARBALL = ROOT.parent / "shared" / "micropython" / "micropython-src.tar.gz"


@pytest.fixture
def board_proxy():
    """For tests of the board proxy only: its binary, or a skip that says how to get one."""
    if proxy_binary():
        return proxy_binary()
    if not (os.environ.get("MICROPY_DIR") or MICROPY_TARBALL.exists()):
        pytest.skip("needs the board proxy, and there is no MicroPython source to build it "
                    "(../shared/micropython/micropython-src.tar.gz or MICROPY_DIR=...)")
    pytest.skip("runs on the board proxy: make test runs it there (make firmware, then "
                "pytest --proxy build/proxy/micropython)")


class _Session:
    """Holds the one MicroPython process the firmware tests share; restarts it when it died."""

    def __init__(self, config):
        self.config = config
        self.repl = None

    def get(self):
        if self.repl is None or not self.repl.alive():
            if self.repl is not None:
                self.repl.close()
            self.repl = Repl(self.config.getoption("--device"), self.config.getoption("--heap"))
        return self.repl

    def close(self):
        if self.repl is not None:
            self.repl.close()
            self.repl = None


@pytest.fixture(scope="session")
def _mp_session(request):
    session = _Session(request.config)
    yield session
    session.close()


@pytest.fixture
def mp(_mp_session):
    """Run code inside MicroPython (one process shared across tests); see
    tests/support/mp_harness.py."""
    mpy = MicroPython(_mp_session.get())
    yield mpy
    # Free what the test left behind so the next one starts with the same heap.
    if _mp_session.repl.alive():
        mpy.exec("import gc\ngc.collect()")


@pytest.fixture(scope="session")
def mpy_firmware(tmp_path_factory):
    """The firmware compiled to .mpy (as a board runs it), in a temporary directory."""
    from microace_host import firmware

    out = tmp_path_factory.mktemp("mpy")
    firmware.build_mpy(out)
    return out


@pytest.fixture
def peer(rs):
    """A raw-UDP CoAP peer of the directory's `rs` fixture (tests/e2e, tests/hostile)."""
    from tests.support.rs_peer import Peer

    assert rs.alive(), "the RS process has ended"
    p = Peer(rs)
    yield p
    p.close()
