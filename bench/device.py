"""`--device PORT` of the bench scripts: run a bench/mp_*.py script on a board through the
one mpremote adapter (microace_host.board: raw REPL, no soft reset) instead of a unix-port
process. The script's input goes into a RAM variable, _MACE_IN, instead of stdin (the scripts
read it when it is defined). The board needs the firmware first (`microace deploy PORT
--board NAME`); PORT may also be unix:DIR, the unix port on a pseudo-terminal, which is how
this path is tested without a board.
"""

import json
from pathlib import Path

from microace_host.board import Board, BoardError


def run_script(port, script, text, timeout=600):
    """Run SCRIPT with input TEXT on the board -> (its last output line or None, error)."""
    with Board.open(port) as board:
        board.put_bytes("_mace_in", text.encode())
        try:
            out = board.exec("_MACE_IN = bytes(_mace_in).decode()\n_mace_in = None\n"
                             + Path(script).read_text(), timeout)
        except BoardError as exc:
            return None, str(exc)
    lines = out.strip().splitlines()
    return (lines[-1], "") if lines else (None, "no output")


class Session:
    """A script that answers JSON lines through its handle(line), kept loaded on the board."""

    def __init__(self, port, script, timeout=600):
        self.board = Board.open(port)
        self.timeout = timeout
        try:
            self.board.exec("_MACE_IN = ''\n" + Path(script).read_text(), timeout)
        except BaseException:
            self.board.close()
            raise

    def call(self, request):
        self.board.put_bytes("_mace_line", json.dumps(request).encode())
        out = self.board.exec("print(handle(bytes(_mace_line).decode()))", self.timeout)
        return json.loads(out.strip().splitlines()[-1])

    def close(self):
        self.board.close()
