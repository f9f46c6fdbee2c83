"""Run code inside MicroPython from pytest: the unix port on a pseudo-terminal, or a real board.

Both speak MicroPython's raw REPL: Ctrl-A enters it, the code is sent and ended with Ctrl-D,
the board answers ``OK``, the output, Ctrl-D, the error output, Ctrl-D and the ``>`` prompt.
"""

import ast
import os
import pty
import select
import signal
import subprocess
import time
import tty

from microace_host.firmware import FIRMWARE
from microace_host.unix_port import micropython_command


class MicroPythonError(Exception):
    """Code run in MicroPython raised; the message is its traceback."""


class UnixPortRepl:
    """One MicroPython unix-port process on a pty, driven through its raw REPL."""

    def __init__(self, heap=None, timeout=120):
        self.timeout = timeout
        master, slave = pty.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        argv, env = micropython_command(heap=heap, firmware=FIRMWARE)
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
            start_new_session=True,
        )
        os.close(slave)
        self.fd = master
        self.buf = b""
        os.write(self.fd, b"\r\x01")
        self._read_until(b"raw REPL; CTRL-B to exit\r\n>")

    def _read_until(self, ending):
        deadline = time.monotonic() + self.timeout
        while ending not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise MicroPythonError(
                    "MicroPython %s while waiting for %r; got %r"
                    % ("exited" if self.proc.poll() is not None else "timed out",
                       ending, self.buf[-400:]))
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    self.buf += os.read(self.fd, 65536)
                except OSError:  # EIO: the process closed the pty
                    time.sleep(0.05)
        head, _, self.buf = self.buf.partition(ending)
        return head

    def exec_raw(self, code):
        data = (code.encode() if isinstance(code, str) else code) + b"\x04"
        deadline = time.monotonic() + self.timeout
        while data:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise MicroPythonError("MicroPython stopped reading the code (out of memory?)")
            _, ready, _ = select.select([], [self.fd], [], 0.5)
            if ready:
                data = data[os.write(self.fd, data[:4096]):]
        self._read_until(b"OK")
        out = self._read_until(b"\x04")
        err = self._read_until(b"\x04")
        self._read_until(b">")
        return out, err

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.close(self.fd)


class DeviceRepl:
    """A real board on a serial port, through mpremote's transport (raw REPL, no soft reset)."""

    def __init__(self, port):
        from mpremote.transport_serial import SerialTransport

        self.transport = SerialTransport(port, baudrate=115200)
        self.transport.enter_raw_repl(soft_reset=False)

    def exec_raw(self, code):
        return self.transport.exec_raw(code, timeout=120)

    def alive(self):
        return True

    def close(self):
        self.transport.exit_raw_repl()
        self.transport.close()


class MicroPython:
    """The `mp` fixture: run code in MicroPython and get results back on the host."""

    def __init__(self, repl):
        self.repl = repl

    def exec(self, code):
        """Run `code`; return what it printed. A MicroPython exception becomes MicroPythonError."""
        out, err = self.repl.exec_raw(code)
        out = out.decode(errors="replace").replace("\r\n", "\n")
        if err:
            raise MicroPythonError(
                "MicroPython raised:\n" + err.decode(errors="replace").replace("\r\n", "\n")
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
