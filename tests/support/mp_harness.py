"""Run code inside MicroPython from pytest, through the one raw-REPL driver of the project
(microace_host.board.Board): the unix port (on a socat pseudo-terminal, with the firmware
source on its path) or a real board; and one-shot unix-port processes (run_micropython).
"""

import ast
import shutil
import subprocess
import tempfile

import pytest

from microace_host.board import Board, BoardError
from microace_host.firmware import FIRMWARE
from microace_host.unix_port import micropython_command

EXEC_TIMEOUT = 120  # seconds MicroPython may stay silent while it runs a test's code


class MicroPythonError(Exception):
    """Code run in MicroPython raised (the message is its traceback), or MicroPython stopped
    answering."""


class Repl:
    """The MicroPython the firmware tests share: a board at the serial port `device`, else a
    unix-port process (its filesystem a fresh temporary directory, the firmware source first
    on its path, -X heapsize=`heap`)."""

    def __init__(self, device=None, heap=None):
        self.state_dir = None
        if device:
            self.board = Board.open(device)
        else:
            self.state_dir = tempfile.mkdtemp(prefix="microace-mp-")
            self.board = Board.open("unix:" + self.state_dir, create=True, heap=heap,
                                    firmware=FIRMWARE)

    def run(self, code):
        """-> (stdout, traceback); a board that stopped answering is closed (the session
        starts a new one) and raises MicroPythonError."""
        try:
            return self.board.run(code, timeout=EXEC_TIMEOUT)
        except BoardError as exc:
            self.close()
            raise MicroPythonError("MicroPython stopped answering: %s" % exc) from None

    def alive(self):
        return self.board.alive()

    def close(self):
        self.board.close()
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None


class MicroPython:
    """The `mp` fixture: run code in MicroPython and get results back on the host."""

    def __init__(self, repl):
        self.repl = repl

    def exec(self, code):
        """Run `code`; return what it printed. A MicroPython exception becomes MicroPythonError."""
        out, err = self.repl.run(code)
        if err:
            raise MicroPythonError("MicroPython raised:\n" + err
                                   + ("\n--- output before it:\n" + out if out else ""))
        return out

    def eval(self, expr):
        """Evaluate `expr` in MicroPython and rebuild its value on the host from its repr."""
        text = self.exec("print(repr(%s))" % expr).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise MicroPythonError("cannot rebuild %r on the host: %s" % (text[:300], exc))

    def send(self, name, data):
        """Bind `name` to bytes(data) in MicroPython, sent in small hex pieces (a 32k heap
        cannot compile a large literal)."""
        self.exec("%s = bytearray()" % name)
        for at in range(0, len(data), 512):
            self.exec("%s += bytes.fromhex(%r)" % (name, data[at:at + 512].hex()))
        self.exec("%s = bytes(%s)" % (name, name))

    def map(self, function, rows, limit=2000, max_rows=None):
        """[function(*row) for row in rows], computed in MicroPython, ~`limit` chars per call
        and at most `max_rows` rows per call (when the results must fit a small heap).

        Byte strings travel as slices `_map_b(at, n)` of one blob `_map_blob` per call (see
        send): MicroPython interns short string literals for good, which would fill the heap
        of the long-lived process.
        """
        self.exec("def _map_b(at, n):\n    return bytes(_map_blob[at:at + n])")
        results, start = [], 0
        while start < len(rows):
            blob, texts, size = bytearray(), [], 0
            for row in rows[start:]:
                fields = []
                for value in row:
                    if isinstance(value, (bytes, bytearray)):
                        fields.append("_map_b(%d,%d)" % (len(blob), len(value)))
                        blob += value
                    else:
                        fields.append(repr(value))
                texts.append("(%s)," % "".join(f + "," for f in fields))
                size += len(texts[-1]) + 2 * len(row)
                if size + 2 * len(blob) > limit or len(texts) == max_rows:
                    break
            self.send("_map_blob", blob)
            results += self.eval("[%s(*r) for r in [%s]]" % (function, "".join(texts)))
            start += len(texts)
        self.exec("_map_blob = None")
        return results


def run_micropython(code, firmware, heap="32k", timeout=120, path=()):
    """Run `code` in a fresh unix-port process with the firmware directory `firmware` (on the
    board proxy: the frozen one) and `path` (test helpers) first, at this heap -> stdout.
    Fails the test with MicroPython's output when the code raises."""
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
