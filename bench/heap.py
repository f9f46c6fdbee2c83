"""Where the RS's heap goes on the unix port: each firmware module's import cost, loaded as a
board loads it from its filesystem (.mpy read into the heap), and from a ROMFS image (the
bytecode executed in place, as from a board's ROMFS partition; MicroPython >= 1.25).

    .venv/bin/python bench/heap.py            (part of `make bench`)

Modules are imported one at a time, each after the modules it imports at its top level (found
with `ast` here), so each figure is the module's own: gc.mem_alloc() after a collection,
before and after. On the unix port a ROMFS image can only be mounted from a bytes object, which
is itself in the heap: its size is printed apart; on a board it is flash. The same on the board
proxy (`make firmware`: 32-bit, as an ESP32), plus the firmware frozen (code, constants and
strings in flash: what a board built with the manifests has), and the smallest heap at which
the RS serves there, frozen and as .mpy.
"""

import argparse
import ast
import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mpremote.romfs import make_romfs

from microace_host.firmware import FIRMWARE, compiled, manifest_modules
from microace_host.unix_port import PROXY_ENV, micropython_command

HERE = Path(__file__).resolve().parent
PROXY = HERE.parent / "build" / "proxy" / "micropython"  # make firmware
HEAP = "1024k"  # room for everything at once: this measures sizes, not limits
BOARD = "unix"


def module_order():
    """The dotted names of the board's modules, each after its top-level microace imports."""
    names = [m[:-3].replace("/", ".").removesuffix(".__init__")
             for m in manifest_modules(BOARD) if m != "main.py"]
    deps = {}
    for name in names:
        path = FIRMWARE / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = FIRMWARE / name.replace(".", "/") / "__init__.py"
        found = set()
        for node in ast.parse(path.read_text()).body:  # top level only: lazy imports wait
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update("%s.%s" % (node.module, a.name) for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        deps[name] = sorted(d for d in found if d in names and d != name)
    order = []

    def visit(name):
        if name not in order:
            for d in deps[name]:
                visit(d)
            order.append(name)

    for name in names:
        visit(name)
    return order


def mpy_size(module):
    path = compiled() / module.replace(".", "/")
    found = path.with_suffix(".mpy")
    return (found if found.exists() else path / "__init__.mpy").stat().st_size


@contextlib.contextmanager
def running_on(proxy):
    """Unix-port processes started inside run on `proxy` (the board proxy), or on the pip
    port when it is None: the switch microace_host.unix_port reads."""
    saved = os.environ.pop(PROXY_ENV, None)
    if proxy:
        os.environ[PROXY_ENV] = str(proxy)
    try:
        yield
    finally:
        os.environ.pop(PROXY_ENV, None)
        if saved is not None:
            os.environ[PROXY_ENV] = saved


def measure(modules, how, image=None):
    """Heap per module, the firmware loaded `how`: "mpy" (from files), "rom" (the ROMFS
    `image` mounted first on the path) or "frozen" (built in: the board proxy)."""
    argv, env = micropython_command(HERE / "mp_heap.py", image if how == "rom" else "-",
                                    *modules, heap=HEAP,
                                    path=compiled() if how == "mpy" else ())
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    return dict((k, int(v)) for k, v in (line.split() for line in out.splitlines()))


def smallest_serving(proxy):
    """The smallest -X heapsize (KiB) at which the RS serves authz-info, OSCORE GET and PUT
    on the board proxy (bench/server.py's bisection) -> (frozen, .mpy, ROMFS, image bytes).
    ROMFS: the image `microace deploy --romfs` makes, mounted from the heap on the unix
    port, so its size is taken off (on a board it is flash)."""
    import server

    from microace_host import deploy
    from microace_host.board import ROMFS_IMAGE

    with tempfile.TemporaryDirectory() as tmp, running_on(proxy):
        pristine = Path(tmp) / "pristine"
        pristine.mkdir()
        server.provision(pristine, server.LIMITS)
        frozen = server.smallest_heap(pristine, 24, 256, 2)
        mpy = server.smallest_heap(pristine, 24, 256, 2, path=[compiled()])
        image = deploy.files_for(BOARD, romfs=True)[ROMFS_IMAGE]
        (pristine / ROMFS_IMAGE).write_bytes(image)
        rom = server.smallest_heap(pristine, 24 + len(image) // 1024, 512, 2)
    return frozen, mpy, rom and rom - len(image) / 1024, len(image)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proxy", default=os.environ.get(PROXY_ENV) or (
        str(PROXY) if PROXY.exists() else None), help="the board proxy (make firmware)")
    ap.add_argument("--serving", action="store_true", help="only the smallest serving heaps "
                    "on the board proxy (no per-module table)")
    args = ap.parse_args()
    if args.serving:
        return print_serving(args.proxy)
    modules = module_order()
    columns = [("64-bit, .mpy from a file", None, "mpy"), ("64-bit, .mpy in ROMFS", None, "rom")]
    if args.proxy:
        columns += [("proxy, frozen", args.proxy, "frozen"),
                    ("proxy, .mpy from a file", args.proxy, "mpy"),
                    ("proxy, .mpy in ROMFS", args.proxy, "rom")]
    with tempfile.TemporaryDirectory() as tmp:
        with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
            blob = make_romfs(str(compiled()), mpy_cross=False)
        image = Path(tmp) / "microace.romfs"
        image.write_bytes(blob)
        found = []
        for _, proxy, how in columns:
            with running_on(proxy):
                found.append(measure(modules, how, str(image)))
    sizes = {m: mpy_size(m) for m in modules}
    print("Heap per module, -X heapsize=%s, bytes after gc.collect(): the pip unix port "
          "(64-bit) and the board proxy (%s: 32-bit, 16-bit digits)"
          % (HEAP, args.proxy or "not built: make firmware"))
    print("| module | .mpy bytes | %s |" % " | ".join(c[0] for c in columns))
    print("|---|" + "---:|" * (len(columns) + 1))
    for m in modules:
        print("| %s | %d | %s |" % (m, sizes[m], " | ".join(str(f[m]) for f in found)))
    print("| **all** | %d | %s |" % (sum(sizes.values()), " | ".join(
        "%d%s" % (f["total"], " (+ the %d-byte image)" % len(blob) if c[2] == "rom" else "")
        for f, c in zip(found, columns))))
    print("asyncio (frozen into both ports): %s" % ", ".join(
        "%s %d" % (c[0].split(",")[0], f["asyncio"]) for f, c in zip(found, columns)
        if c[2] == "mpy"))
    if args.proxy:
        print_serving(args.proxy)


def print_serving(proxy):
    if not proxy:
        sys.exit("no board proxy: make firmware")
    frozen, mpy, rom, image = smallest_serving(proxy)
    print("smallest -X heapsize serving authz-info + OSCORE GET + PUT on the board proxy: "
          "firmware frozen %sk, as .mpy %sk (targets 48k and 96k), from ROMFS %sk beyond "
          "the %d-byte image" % (frozen, mpy, rom if rom is None else "%.0f" % rom, image))


if __name__ == "__main__":
    sys.exit(main())
