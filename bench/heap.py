"""Where the RS's heap goes on the unix port: each firmware module's import cost, loaded as a
board loads it from its filesystem (.mpy read into the heap), and from a ROMFS image (the
bytecode executed in place, as from a board's ROMFS partition; MicroPython >= 1.25).

    .venv/bin/python bench/heap.py            (part of `make bench`)

Modules are imported one at a time, each after the modules it imports at its top level (found
with `ast` here), so each figure is the module's own: gc.mem_alloc() after a collection,
before and after. On the unix port a ROMFS image can only be mounted from a bytes object, which
is itself in the heap: its size is printed apart; on a board it is flash. What neither mode
shows is a frozen build (code, constants and strings in flash): it needs MicroPython's source.
"""

import ast
import contextlib
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from mpremote.romfs import make_romfs

from microace_host.firmware import FIRMWARE, compiled, manifest_modules
from microace_host.unix_port import micropython_binary, micropython_env

HERE = Path(__file__).resolve().parent
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


def measure(modules, image=None):
    argv = [micropython_binary(), "-X", "heapsize=" + HEAP, str(HERE / "mp_heap.py"),
            image or "-"] + modules
    env = micropython_env(".frozen" if image else compiled())
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    return dict((k, int(v)) for k, v in (line.split() for line in out.splitlines()))


def main():
    modules = module_order()
    with tempfile.TemporaryDirectory() as tmp:
        with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
            blob = make_romfs(str(compiled()), mpy_cross=False)
        image = Path(tmp) / "microace.romfs"
        image.write_bytes(blob)
        from_file = measure(modules)
        from_rom = measure(modules, str(image))
    sizes = {m: mpy_size(m) for m in modules}
    print("Heap per module, unix port (64-bit), -X heapsize=%s, bytes after gc.collect()" % HEAP)
    print("| module | .mpy bytes | heap, .mpy from a file | heap, .mpy in ROMFS |")
    print("|---|---:|---:|---:|")
    for m in modules:
        print("| %s | %d | %d | %d |" % (m, sizes[m], from_file[m], from_rom[m]))
    print("| **all** | %d | %d | %d (+ the %d-byte image) |" % (
        sum(sizes.values()), from_file["total"], from_rom["total"], len(blob)))
    print("asyncio (frozen into the unix port): %d" % from_file["asyncio"])


if __name__ == "__main__":
    sys.exit(main())
