"""Entry point: `micropython main.py [STATE_DIR [HOST:PORT]]` on the unix port (or the
MICROACE_STATE / MICROACE_BIND environment variables); on a board, the board's defaults."""

import os
import sys

from microace import app


def _arg(i, env):
    if len(sys.argv) > i:
        return sys.argv[i]
    return os.getenv(env) if hasattr(os, "getenv") else None


app.main(_arg(1, "MICROACE_STATE") or ".", _arg(2, "MICROACE_BIND"))
