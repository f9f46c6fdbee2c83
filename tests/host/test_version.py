"""One version: the firmware's VERSION, the host package's, `microace --version`, mip's
package.json; provisioning refuses a board with another firmware or none; `pip install
./host_tools` gives a working `microace` that carries its firmware."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import microace_host
from microace_host import board as board_module
from microace_host import firmware, keys
from microace_host.unix_port import PROXY_ENV
from microace_host import provision as provision_host
from cli_util import run

ROOT = Path(__file__).resolve().parents[2]
needs_socat = pytest.mark.skipif(not shutil.which("socat"), reason="needs socat (make test "
                                 "installs it)")


def firmware_version(package_dir):
    tree = ast.parse((package_dir / "__init__.py").read_text())
    return next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and node.targets[0].id == "VERSION")


def test_one_version_everywhere():
    version = microace_host.__version__
    assert version.count(".") == 2 and all(p.isdigit() for p in version.split("."))
    assert firmware_version(firmware.FIRMWARE / "microace") == version
    for part in ("package.json", "microace-nvs.json", "microace-atecc608.json"):
        assert json.loads((firmware.FIRMWARE / part).read_text())["version"] == version
    for manifest in [firmware.FIRMWARE / "manifest.py"] + sorted(
            (firmware.FIRMWARE / "ext").glob("*/manifest.py")):
        metadata = re.search(r'metadata\(\s*version="([^"]+)"', manifest.read_text())
        assert metadata and metadata.group(1) == version, manifest
    assert run("--version")[1] == "microace, version %s\n" % version


def provision(tmp_path, state):
    """Provision unix:STATE through the host API -> the target's Outcome."""
    made = keys.new_key("ES256", tmp_path / "as", name="as")
    plan = provision_host.make_plan(str(tmp_path / "as" / "as.pem"), "rs1", "coap://as",
                                    made.kid.hex())
    return provision_host.provision_target("unix:%s" % state, plan)


@needs_socat
def test_provisioning_refuses_another_firmware_version(tmp_path):
    state = tmp_path / "board"
    (state / "microace").mkdir(parents=True)  # the board's own (older) firmware comes first
    (state / "microace" / "__init__.py").write_text('VERSION = "0.0.1"\n')
    outcome = provision(tmp_path, state)
    assert outcome.result == "failed"
    assert outcome.error == (
        "the board runs microace 0.0.1 but these host tools are %s: put this version on it "
        "with `microace deploy unix:%s --board NAME`" % (microace_host.__version__, state))
    assert not (state / "keystore.bin").exists()
    code, out, err = run("doctor", "unix:%s" % state)
    assert "microace 0.0.1 (host tools: %s)" % microace_host.__version__ in out


@needs_socat
@pytest.mark.skipif(bool(os.environ.get(PROXY_ENV)), reason="the board proxy has microace "
                    "frozen in: there is no board without it")
def test_provisioning_refuses_a_board_without_microace(tmp_path, monkeypatch):
    empty = tmp_path / "no-firmware"
    empty.mkdir()
    monkeypatch.setattr(board_module, "compiled", lambda: empty)
    outcome = provision(tmp_path, tmp_path / "board")
    assert outcome.result == "failed"
    assert outcome.error == ("no microace firmware on the board: run `microace deploy unix:%s "
                             "--board NAME` first" % (tmp_path / "board"))
    assert not (tmp_path / "board" / "keystore.bin").exists()
    assert "none (run microace deploy)" in run("doctor", "unix:%s" % (tmp_path / "board"))[1]


def test_pip_install_host_tools_ships_the_firmware(tmp_path):
    """A non-editable install into a fresh venv (its dependencies from this venv's
    site-packages, no index, no network) runs `microace --version` and finds its own copy of
    the firmware and the boards, with the repository gone."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    for tree in ("host_tools", "firmware", "boards"):
        shutil.copytree(ROOT / tree, src / tree, ignore=ignore)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and
                (p / "click").is_dir())
    (site / "deps.pth").write_text(str(deps) + "\n")
    python = venv / "bin" / "python"
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--ignore-installed", "--disable-pip-version-check",
                    str(src / "host_tools")], check=True, env=env, timeout=300)
    shutil.rmtree(src)
    out = subprocess.run([str(venv / "bin" / "microace"), "--version"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.stdout == "microace, version %s\n" % microace_host.__version__, out.stderr
    where = subprocess.run([str(python), "-c", "from microace_host import firmware as f\n"
                            "print(f.FIRMWARE, f.BOARDS, len(f.manifest_modules('unix')))"],
                           capture_output=True, text=True, env=env, timeout=60)
    fw, boards, count = where.stdout.split()
    assert Path(fw) == site / "microace_host" / "shipped" / "firmware", where.stderr
    assert Path(boards) == site / "microace_host" / "shipped" / "boards"
    assert firmware_version(Path(fw) / "microace") == microace_host.__version__
    assert int(count) == len(firmware.manifest_modules("unix"))
