"""The one adapter around mpremote's raw REPL: a real board on a serial port, or the unix port
on a pseudo-terminal made by socat (`unix:DIR`), driven by the same code.

Never soft-resets (that would end the unix port and restart a board's application). Data goes
to the board as code sent over the REPL, never on a command line or in the environment.
"""

import ast
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from .firmware import BOARDS, compiled
from .unix_port import PRIVATE_UMASK, UnixPortError, make_private, micropython_command

UNIX_PREFIX = "unix:"
# A unix-port board's stand-in for a ROMFS partition: `microace deploy unix:DIR --romfs`
# writes the image here, and the RS mounts it at /rom (rs_runner), as a board does at boot.
ROMFS_IMAGE = "microace.romfs"
# A board mounts its ROMFS partition at /rom at boot, on sys.path before its filesystem's
# libraries; the unix port has none, so the image in DIR is mounted from a bytes object
# (which, unlike flash, takes heap: its size).
MOUNT_ROMFS = ("import sys, vfs\nwith open(%r, 'rb') as f:\n vfs.mount(vfs.VfsRom(f.read()), "
               "'/rom')\nsys.path.insert(0, '/rom')\n" % ROMFS_IMAGE)
HEX_PIECE = 512  # hex characters per exec: small source texts, little heap per step
INTERNED = 10  # MicroPython's parser interns string literals up to this length, for good
PTY_READ_TIMEOUT = 5  # seconds: how long one read of the unix port's pseudo-terminal may block


class BoardError(Exception):
    """The board could not be reached, or code on it raised. `kind` names the MicroPython
    exception (e.g. "KeyStoreError") when there was one; the message is one line."""

    def __init__(self, message, kind=None):
        super().__init__(message)
        self.kind = kind


def board_config(name):
    """boards/NAME/board.json as a dict."""
    path = BOARDS / name / "board.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        known = ", ".join(sorted(p.parent.name for p in BOARDS.glob("*/board.json")))
        raise BoardError("unknown board %r (known: %s)" % (name, known)) from None


def _text(data):
    return data.decode(errors="replace").replace("\r\n", "\n")


def _last_line(text):
    lines = [line.strip() for line in text.replace("\r", "").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


class Board:
    """A MicroPython REPL in raw mode. Use `Board.open(target)`; close it (or use `with`)."""

    def __init__(self, target, transport, config, process=None, pty_dir=None):
        self.target = target
        self.transport = transport
        self.config = config  # the board.json in force; config["keystore"] opens the store
        self._process = process
        self._pty_dir = pty_dir

    @classmethod
    def open(cls, target, board=None, create=False, heap=None, firmware=None):
        """Connect to TARGET: "unix:DIR" (unix port, state in DIR) or a serial port.

        board.json: `board` (a name under boards/) if given; else DIR/board.json or the one
        on the board's filesystem; else boards/unix or boards/esp32_generic. A file key store
        with a relative "dir" lives in DIR. `create` makes a missing DIR (provisioning).
        On the unix port only: `heap` is its -X heapsize (e.g. "32k"), `firmware` the
        firmware directories on its module path (default: the compiled firmware; the tests
        run the source).
        """
        if target.startswith(UNIX_PREFIX):
            return cls._open_unix(target, Path(target[len(UNIX_PREFIX):]), board, create,
                                  heap, firmware)
        try:
            transport = SerialTransport(target, baudrate=115200)
        except TransportError as exc:
            raise BoardError("cannot open serial port %s: %s" % (target, exc)) from None
        dev = cls(target, transport, None)
        try:
            dev._enter()
            dev.config = board_config(board) if board else (
                dev._config_on_board() or board_config("esp32_generic"))
        except BaseException:
            dev.close()
            raise
        return dev

    @classmethod
    def _open_unix(cls, target, state_dir, board, create, heap, firmware):
        if not create and not state_dir.is_dir():
            raise BoardError("%s: no such state directory" % target)
        try:
            make_private(state_dir, create)
        except UnixPortError as exc:
            raise BoardError(str(exc)) from None
        state_dir = state_dir.resolve()
        local = state_dir / "board.json"
        try:
            config = board_config(board) if board else (
                json.loads(local.read_text()) if local.exists() else board_config("unix"))
        except ValueError as exc:
            raise BoardError("%s: %s" % (local, exc)) from None
        store = config.get("keystore", {})
        if store.get("backend") == "file":
            config["keystore"] = dict(store, dir=str(state_dir / store.get("dir", ".")))
        if not shutil.which("socat"):
            raise BoardError("socat is not installed (apt-get install socat): it connects "
                             "mpremote to the unix port")
        try:
            argv, env = micropython_command(
                path=state_dir, heap=heap, firmware=compiled() if firmware is None else firmware)
        except UnixPortError as exc:
            raise BoardError(str(exc)) from None
        for word in argv:  # socat splits EXEC's command line at spaces
            if any(c in word for c in " ,:!'\"\\"):
                raise BoardError("cannot hand %r to socat EXEC: rename its path" % word)
        pty_dir = tempfile.mkdtemp(prefix="microace-pty-")
        link = os.path.join(pty_dir, "tty")
        # No secret here: argv and environment name only the binary and the firmware path.
        # DIR is the board's filesystem: firmware deployed there comes first, as on a board.
        process = subprocess.Popen(
            ["socat", "PTY,link=%s,raw,echo=0" % link, "EXEC:%s,pty,raw,echo=0" % " ".join(argv)],
            cwd=state_dir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,  # one process group: socat and the unix port die together
            umask=PRIVATE_UMASK)
        dev = cls(target, None, config, process, pty_dir)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(link):
                if process.poll() is not None:
                    raise BoardError("socat did not start: %s"
                                     % _last_line(process.stderr.read().decode()))
                if time.monotonic() > deadline:
                    raise BoardError("socat made no pseudo-terminal in 10 s")
                time.sleep(0.01)
            # mpremote reads a pseudo-terminal with blocking reads: a read timeout lets its
            # per-exec timeout fire when the unix port hangs.
            dev.transport = SerialTransport(os.path.realpath(link), baudrate=115200,
                                            timeout=PTY_READ_TIMEOUT)
            dev._enter()
            dev.mount_romfs()
        except BaseException:
            dev.close()
            raise
        return dev

    def _enter(self):
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it got
                self.transport.enter_raw_repl(soft_reset=False)
        except TransportError as exc:
            raise BoardError("%s: no MicroPython raw REPL (%s)" % (self.target, exc)) from None

    def mount_romfs(self):
        """On a unix-port board: mount DIR's ROMFS image (MOUNT_ROMFS), as a board mounts its
        partition at boot; nothing when there is none, or on a real board (it did so itself)."""
        state_dir = self.target[len(UNIX_PREFIX):]
        if self.target.startswith(UNIX_PREFIX) and os.path.exists(
                os.path.join(state_dir, ROMFS_IMAGE)):
            # A new image replaces the one mounted (and its modules are imported afresh).
            self.exec("import vfs\ntry:\n vfs.umount('/rom')\nexcept OSError:\n pass\n"
                      + MOUNT_ROMFS)

    def _config_on_board(self):
        text = self.exec("try:\n with open('board.json') as f: print(f.read())\n"
                         "except OSError:\n pass").strip()
        try:
            return json.loads(text) if text else None
        except ValueError as exc:
            raise BoardError("%s: board.json on the board: %s" % (self.target, exc)) from None

    def run(self, code, timeout=30):
        """Run `code` (never empty: an empty raw-REPL command is a soft reset) -> (stdout,
        error output) as text; the error output is MicroPython's whole traceback, "" when the
        code raised nothing. `timeout`: seconds the board may stay silent. BoardError when it
        does not answer."""
        if not code.strip():
            raise ValueError("empty code")
        if self.transport is None:
            raise BoardError("%s is closed" % self.target)
        try:
            out, err = self.transport.exec_raw(code, timeout=timeout)
        except (TransportError, OSError) as exc:
            raise BoardError("%s stopped answering (%s)" % (self.target, exc)) from None
        return _text(out), _text(err)

    def exec(self, code, timeout=30):
        """Run `code`; -> stdout. An exception on the board becomes BoardError with its last
        traceback line."""
        out, err = self.run(code, timeout)
        if err:
            line = _last_line(err)
            kind = line.split(":", 1)[0] if ":" in line else None
            raise BoardError(line, kind)
        return out

    def alive(self):
        """Whether the board can still run code: open, and on the unix port its process
        (socat's, which ends with MicroPython's) still runs."""
        return self.transport is not None and (
            self._process is None or self._process.poll() is None)

    def eval(self, expr, timeout=30):
        """The value of `expr` on the board, rebuilt from its repr (literals only)."""
        text = self.exec("print(repr(%s))" % expr, timeout).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise BoardError("cannot read the board's answer: %s" % text[:200]) from None

    def put_bytes(self, name, data):
        """Bind `name` on the board to a bytearray holding `data`, sent in small hex pieces
        (RAM only, never a file). Pieces are padded past MicroPython's interning limit, so no
        part of a secret stays in the interned-string pool."""
        if not name.isidentifier():
            raise ValueError("not a Python name: %r" % name)
        self.exec("%s = bytearray()" % name)
        text = bytes(data).hex()
        for at in range(0, len(text), HEX_PIECE):
            piece = text[at:at + HEX_PIECE]
            self.exec("%s += bytes.fromhex('%s')[:%d]"
                      % (name, piece.ljust(INTERNED + 2, "0"), len(piece) // 2))

    def firmware_version(self):
        """microace.VERSION as the board imports it now ("" when it has none); None when the
        board has no microace package. Imported afresh: a deploy may just have replaced it."""
        text = self.exec("import sys\nsys.modules.pop('microace', None)\ntry:\n"
                         " import microace\n print(repr(getattr(microace, 'VERSION', '')))\n"
                         "except ImportError:\n print(None)").strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise BoardError("cannot read the board's answer: %s" % text[:200]) from None

    def write_file(self, path, data):
        """Write `data` to `path` on the board (mpremote's chunked writes over the REPL)."""
        try:
            self.transport.fs_writefile(path, data)
        except (TransportError, OSError) as exc:
            raise BoardError("%s: cannot write %s (%s)" % (self.target, path, _last_line(
                str(exc)))) from None

    def sha256(self, paths):
        """{path: SHA-256 hex digest computed ON the board, or None for a missing file}."""
        code = ("import hashlib, binascii\nb = bytearray(256)\nfor p in %r:\n try:\n"
                "  f = open(p, 'rb')\n except OSError:\n  print(p, '-')\n  continue\n"
                " h = hashlib.sha256()\n while True:\n  n = f.readinto(b)\n  if not n:\n"
                "   break\n  h.update(memoryview(b)[:n])\n f.close()\n"
                " print(p, binascii.hexlify(h.digest()).decode())" % list(paths))
        digests = dict(line.split(" ", 1) for line in self.exec(code).splitlines() if line)
        return {p: None if digests.get(p, "-") == "-" else digests[p] for p in paths}

    def files(self, top):
        """(files, directories) under the directory `top` on the board, as "top/.../name";
        a directory comes after its contents. Both empty when `top` does not exist."""
        out = self.exec(
            "import os\ndef _w(d):\n for e in os.ilistdir(d):\n  p = d + '/' + e[0]\n"
            "  if e[1] & 0x4000:\n   _w(p)\n   print('D', p)\n  else:\n   print('F', p)\n"
            "try:\n _w(%r)\nexcept OSError:\n pass" % top)
        entries = [line.split(" ", 1) for line in out.splitlines() if line]
        return ([p for kind, p in entries if kind == "F"],
                [p for kind, p in entries if kind == "D"])

    def fs(self, op, paths):
        """os.OP on the board for each of `paths`: "mkdir" (an existing directory is fine),
        "remove" or "rmdir"; "rename" takes (old, new) pairs."""
        if op == "mkdir":
            body = " try:\n  os.mkdir(p)\n except OSError:\n  pass"
        else:
            body = " os.rename(*p)" if op == "rename" else " os.%s(p)" % op
        self.exec("import os\nfor p in %r:\n%s" % (list(paths), body))

    def close(self):
        """Leave the board in its normal REPL; end the unix port (socat's process group)."""
        if self.transport is not None:
            try:
                if self._process is None:
                    self.transport.exit_raw_repl()
                self.transport.close()
            except OSError:
                pass
            self.transport = None
        if self._process is not None:
            # SIGTERM first: socat then reaps the unix port; SIGKILL whatever is left.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self._process.pid, sig)
                    self._process.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            self._process.stderr.close()
            self._process = None
        if self._pty_dir is not None:
            shutil.rmtree(self._pty_dir, ignore_errors=True)
            self._pty_dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
