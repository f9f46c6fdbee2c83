"""Run the resource server on the MicroPython unix port: firmware/main.py with the compiled
firmware, its state (key store, board.json) in a directory, on one UDP address."""

import subprocess
import time
from pathlib import Path

from .board import MOUNT_ROMFS, ROMFS_IMAGE, UNIX_PREFIX
from .firmware import FIRMWARE, compiled
from .unix_port import PRIVATE_UMASK, UnixPortError, make_private, micropython_command

READY = "microace RS listening on "


def state_dir(target):
    """unix:DIR -> the resolved DIR (it must exist: provision it first), made private."""
    if not target.startswith(UNIX_PREFIX):
        raise UnixPortError("the RS runs on the unix port only: TARGET is unix:DIR")
    path = Path(target[len(UNIX_PREFIX):]).resolve()
    if not path.is_dir():
        raise UnixPortError("%s: no such state directory (provision it first)" % path)
    make_private(path)
    return path


def start(target, bind="127.0.0.1:5683", heap=None, timeout=30, path=None):
    """Start the RS; returns (process, "coap://HOST:PORT") once it listens. The caller stops
    it (process.terminate()). Raises UnixPortError with its last output line if it fails.
    `path`: the module path; by default DIR (where `microace deploy unix:DIR` puts the
    firmware, as on a board), then this checkout's compiled firmware (on the board proxy:
    the frozen one). A ROMFS image deployed into DIR is mounted first (MOUNT_ROMFS)."""
    directory = state_dir(target)
    # `import main` rather than running the file: a script's own directory comes first on the
    # module path, and the RS must load the compiled firmware, as a board does.
    mount = MOUNT_ROMFS if (directory / ROMFS_IMAGE).exists() else ""
    argv, env = micropython_command(
        "-c", mount + "import main", heap=heap, path=path or directory,
        firmware=() if path else (compiled(), FIRMWARE))
    env.update(MICROACE_STATE=str(directory), MICROACE_BIND=bind)
    process = subprocess.Popen(argv, env=env, cwd=directory, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, umask=PRIVATE_UMASK)
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith(READY):
            return process, line[len(READY):].strip()
    process.kill()
    process.wait()
    raise UnixPortError("the RS did not start: %s" % (lines[-1] if lines else "no output"))


def run(target, bind, heap=None, echo=print):
    """Run the RS in the foreground until Ctrl-C; its output is echoed. Returns its exit code."""
    process, where = start(target, bind, heap)
    try:  # Ctrl-C may come as soon as the line below is out
        echo("RS listening on %s (Ctrl-C stops it)" % where)
        for line in process.stdout:
            echo(line.rstrip())
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return 0
