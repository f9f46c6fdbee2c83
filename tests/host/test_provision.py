"""`microace provision` over the real path: mpremote's raw REPL to the unix port on a
pseudo-terminal made by socat; then the firmware verifies python-cwt tokens with the store it
was given. Idempotence, the sealed store, authenticated re-provisioning, a fleet with a bad
target, and the adapter itself (no secret in argv or environment, RAM-only transfer)."""

import json
import shutil
import subprocess
import time

import cwt
import pytest

from microace_host import board as board_module
from microace_host import firmware, keys, provision, wire
from microace_host.board import Board
from cli_util import run, table_rows

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="needs socat (make test "
                                "installs it)")

ISS = "coaps://as.example"
SCOPES = {"read": [["/temp", 1]], "rw": [["/temp", 1], ["/led", 5]]}
MISSING_PORT = "/dev/ttyMICROACE-NO-SUCH-PORT"


def summary(out):
    """The summary table -> {target: {column: value}}."""
    return {r[0]: dict(zip(("board", "result", "fingerprints", "sealed"), r[1:]))
            for r in table_rows(out)}


@pytest.fixture
def as_key(tmp_path):
    """An ES256 AS key pair made by `microace keys new`; the board gets the public PEM."""
    made = keys.new_key("ES256", tmp_path / "as", name="as")
    pem = (tmp_path / "as" / "as.pem").read_bytes()
    (tmp_path / "scopes.json").write_text(json.dumps(SCOPES))
    return {"pub": str(tmp_path / "as" / "as.pub.pem"), "kid": made.kid,
            "fingerprint": made.fingerprint, "owner": tmp_path / "as" / "owner.secret",
            "signer": cwt.COSEKey.from_pem(pem, alg="ES256", kid=made.kid),
            "scopes": str(tmp_path / "scopes.json")}


def provision_cmd(as_key, *targets, audience="rs1", extra=()):
    return run("provision", *targets, "--as-key", as_key["pub"], "--as-kid",
               as_key["kid"].hex(), "--audience", audience, "--issuer", ISS,
               "--scope-map", as_key["scopes"], *extra)


def store_status(state_dir):
    with Board.open("unix:%s" % state_dir) as b:
        return provision.open_store(b)


VERIFY = """
from microace import cwt, wiring
from microace.errors import MicroaceError
_ks = wiring.open_store({"keystore": {"backend": "file", "dir": %r}})
for _t in %r:
    try:
        _tok = cwt.verify(bytes.fromhex(_t), _ks, %r, now=%d, issuer=%r)
        print("accepted", _tok.claims.get(9))
    except MicroaceError as e:
        print("rejected", type(e).__name__)
"""


def firmware_verdicts(state_dir, tokens, audience="rs1"):
    """The firmware's verdict on each token, with the store in state_dir (on the unix port)."""
    code = VERIFY % (str(state_dir), [t.hex() for t in tokens], audience, int(time.time()), ISS)
    with Board.open("unix:%s" % state_dir) as b:
        return b.exec(code).splitlines()


def mint(key, audience="rs1", scope="read"):
    now = int(time.time())
    return cwt.encode({1: ISS, 3: audience, 4: now + 600, 6: now, 9: scope}, key)


def test_provision_then_firmware_verifies_python_cwt_token(as_key, tmp_path):
    state = tmp_path / "board"
    code, out, err = provision_cmd(as_key, "unix:%s" % state)
    assert code == 0, out + err
    row = summary(out)["unix:%s" % state]
    assert row == {"board": "unix", "result": "provisioned",
                   "fingerprints": as_key["fingerprint"], "sealed": "yes"}
    assert (state / "keystore.bin").exists()  # the file backend, in DIR
    assert as_key["owner"].stat().st_mode & 0o777 == 0o600
    assert len(as_key["owner"].read_bytes()) == 32
    assert as_key["owner"].read_bytes().hex() not in out + err

    good = mint(as_key["signer"])
    tampered = bytearray(good)
    tampered[-1] ^= 1  # last byte of the signature
    other_key = keys.new_key("ES256", tmp_path / "other", kid=as_key["kid"], name="x")
    forged = mint(cwt.COSEKey.from_pem((tmp_path / "other" / "x.pem").read_bytes(),
                                       alg="ES256", kid=other_key.kid))
    assert firmware_verdicts(state, [good, bytes(tampered), forged,
                                     mint(as_key["signer"], audience="rs2")]) == [
        "accepted read", "rejected VerifyError", "rejected VerifyError",
        "rejected AudienceError"]


def test_state_directory_and_files_are_private_also_when_it_existed(as_key, tmp_path,
                                                                   monkeypatch):
    """keystore.bin holds the AS-RS key and the owner secret's hash, state.bin live OSCORE
    keys: 0700 on the directory and 0600 on its files, whatever existed before and whatever
    the umask (mkdir's mode applies only to a directory it creates)."""
    import os
    state = tmp_path / "board"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    (state / "state.bin").write_bytes(b"")
    os.chmod(state / "state.bin", 0o644)
    old = os.umask(0o022)
    try:
        code, out, err = provision_cmd(as_key, "unix:%s" % state)
    finally:
        os.umask(old)
    assert code == 0, out + err
    assert state.stat().st_mode & 0o777 == 0o700
    for name in ("keystore.bin", "state.bin"):
        assert (state / name).stat().st_mode & 0o777 == 0o600, name


def test_same_input_again_is_unchanged(as_key, tmp_path):
    state = tmp_path / "board"
    assert provision_cmd(as_key, "unix:%s" % state)[0] == 0
    record, gen = (state / "keystore.bin").read_bytes(), store_status(state)["gen"]
    code, out, err = provision_cmd(as_key, "unix:%s" % state)
    assert code == 0, out + err
    assert summary(out)["unix:%s" % state]["result"] == "unchanged"
    assert (state / "keystore.bin").read_bytes() == record
    assert store_status(state)["gen"] == gen


def test_sealed_store_refuses_other_input(as_key, tmp_path):
    state = tmp_path / "board"
    assert provision_cmd(as_key, "unix:%s" % state)[0] == 0
    record = (state / "keystore.bin").read_bytes()
    code, out, err = provision_cmd(as_key, "unix:%s" % state, audience="rs2")
    assert code == 1
    result = summary(out)["unix:%s" % state]["result"]
    assert result.startswith("failed: store is sealed") and "--reprovision" in result
    assert (state / "keystore.bin").read_bytes() == record

    # With --reprovision but the wrong owner secret: the board itself refuses the proof.
    wrong = tmp_path / "wrong.secret"
    wrong.write_bytes(b"w" * 32)
    code, out, err = provision_cmd(as_key, "unix:%s" % state, audience="rs2",
                                   extra=("--reprovision", "--owner-key", str(wrong)))
    assert code == 1
    result = summary(out)["unix:%s" % state]["result"]
    assert "KeyStoreError: store is sealed: the proof does not match" in result
    assert (state / "keystore.bin").read_bytes() == record
    # and with an owner file that does not exist: refused on the host, none is made
    code, out, err = provision_cmd(as_key, "unix:%s" % state, audience="rs2", extra=(
        "--reprovision", "--owner-key", str(tmp_path / "none.secret")))
    assert code == 1 and "owner secret" in summary(out)["unix:%s" % state]["result"]
    assert not (tmp_path / "none.secret").exists()
    assert (state / "keystore.bin").read_bytes() == record
    assert firmware_verdicts(state, [mint(as_key["signer"])]) == ["accepted read"]


def test_reprovision_with_owner_secret(as_key, tmp_path):
    state = tmp_path / "board"
    assert provision_cmd(as_key, "unix:%s" % state)[0] == 0
    before = store_status(state)
    code, out, err = provision_cmd(as_key, "unix:%s" % state, audience="rs2",
                                   extra=("--reprovision",))
    assert code == 0, out + err
    assert summary(out)["unix:%s" % state]["result"] == "re-provisioned"
    after = store_status(state)
    assert after["sealed"] and after["gen"] > before["gen"]
    assert after["config"]["audience"] == "rs2"
    assert firmware_verdicts(state, [mint(as_key["signer"], "rs2"), mint(as_key["signer"])],
                             audience="rs2") == ["accepted read", "rejected AudienceError"]
    # again: unchanged, no proof needed
    code, out, err = provision_cmd(as_key, "unix:%s" % state, audience="rs2",
                                   extra=("--reprovision",))
    assert code == 0 and summary(out)["unix:%s" % state]["result"] == "unchanged"


def test_fleet_with_one_bad_target(as_key, tmp_path):
    a, b = "unix:%s" % (tmp_path / "a"), "unix:%s" % (tmp_path / "b")
    code, out, err = provision_cmd(as_key, a, MISSING_PORT, b)
    assert code == 1
    rows = summary(out)
    assert list(rows) == [a, MISSING_PORT, b]
    for target in (a, b):
        assert rows[target] == {"board": "unix", "result": "provisioned",
                                "fingerprints": as_key["fingerprint"], "sealed": "yes"}
    assert rows[MISSING_PORT]["result"].startswith("failed: cannot open serial port")
    assert rows[MISSING_PORT]["sealed"] == "-"
    # both boards share one owner secret: each can be re-provisioned with it
    code, out, err = provision_cmd(as_key, a, b, audience="rs9", extra=("--reprovision",))
    assert code == 0, out + err
    assert {r["result"] for r in summary(out).values()} == {"re-provisioned"}


def test_symmetric_as_key_goes_whole_and_verifies(tmp_path):
    made = keys.new_key("HS256", tmp_path / "as", name="as")
    secret = keys.load_cose_key(tmp_path / "as" / "as.cose")[wire.K]
    state = tmp_path / "board"
    code, out, err = run("provision", "unix:%s" % state, "--as-key",
                         str(tmp_path / "as" / "as.cose"), "--audience", "rs1", "--issuer", ISS)
    assert code == 0, out + err
    assert summary(out)["unix:%s" % state]["fingerprints"] == made.fingerprint
    assert secret.hex() not in out + err
    signer = cwt.COSEKey.from_symmetric_key(secret, alg="HS256", kid=made.kid)
    assert firmware_verdicts(state, [mint(signer, scope="rw")]) == ["accepted rw"]


@pytest.fixture
def two_keys(tmp_path):
    """The keys of Encrypt0(Sign1) tokens, in two directories: the AS's ES256 key (the board
    gets its public .pub.cose, which carries the kid) and the AS<->RS A128CCM key."""
    es = keys.new_key("ES256", tmp_path / "sig", name="as")
    ccm = keys.new_key("A128CCM", tmp_path / "enc", name="rs1")
    signer = cwt.COSEKey.from_pem((tmp_path / "sig" / "as.pem").read_bytes(), alg="ES256",
                                  kid=es.kid)
    secret = keys.load_cose_key(tmp_path / "enc" / "rs1.cose")[wire.K]
    return {"files": (str(tmp_path / "sig" / "as.pub.cose"), str(tmp_path / "enc" / "rs1.cose")),
            "made": (es, ccm), "signer": signer, "secret": secret,
            "encrypter": cwt.COSEKey.from_symmetric_key(secret, alg="AES-CCM-16-64-128",
                                                        kid=ccm.kid)}


def provision_two(two_keys, target, *extra):
    sig, enc = two_keys["files"]
    return run("provision", target, "--as-key", sig, "--as-key", enc, "--audience", "rs1",
               "--issuer", ISS, *extra)


def mint_nested(signer, encrypter, audience="rs1"):
    """Encrypt0(Sign1(claims)) (RFC 8392 A.6), both layers made by python-cwt."""
    return cwt.encode(mint(signer, audience), encrypter)


def test_two_keys_at_once_for_nested_tokens(two_keys, tmp_path):
    state = tmp_path / "board"
    target = "unix:%s" % state
    es, ccm = two_keys["made"]
    code, out, err = provision_two(two_keys, target)
    assert code == 0, out + err
    assert summary(out)[target] == {"board": "unix", "result": "provisioned",
                                    "fingerprints": "%s %s" % (es.fingerprint, ccm.fingerprint),
                                    "sealed": "yes"}
    assert (tmp_path / "sig" / "owner.secret").exists()  # next to the first --as-key
    assert not (tmp_path / "enc" / "owner.secret").exists()
    assert two_keys["secret"].hex() not in out + err

    code, out, err = run("doctor", target)
    assert code == 0, err
    table = table_rows(out)
    assert [es.kid.hex(), "ES256", "EC2", es.fingerprint, ISS, "yes"] in table
    assert [ccm.kid.hex(), "A128CCM", "Symmetric", ccm.fingerprint, ISS, "no"] in table

    good = mint_nested(two_keys["signer"], two_keys["encrypter"])
    tampered = bytearray(good)
    tampered[-1] ^= 1  # the CCM tag
    forger = keys.new_key("ES256", tmp_path / "forger", kid=es.kid, name="x")
    forged = mint_nested(cwt.COSEKey.from_pem((tmp_path / "forger" / "x.pem").read_bytes(),
                                              alg="ES256", kid=forger.kid),
                         two_keys["encrypter"])
    assert firmware_verdicts(state, [good, bytes(tampered), forged]) == [
        "accepted read", "rejected VerifyError", "rejected VerifyError"]

    record, gen = (state / "keystore.bin").read_bytes(), store_status(state)["gen"]
    code, out, err = provision_two(two_keys, target)
    assert code == 0, out + err
    assert summary(out)[target]["result"] == "unchanged"
    assert (state / "keystore.bin").read_bytes() == record
    assert store_status(state)["gen"] == gen


def test_several_keys_refused_on_the_host(two_keys, tmp_path):
    """Each refusal is one line, exit 2, before any board or owner secret is made."""
    sig, enc = two_keys["files"]
    no_kid = tmp_path / "sig" / "as.pub.pem"  # a PEM carries no kid
    other = keys.new_key("HS256", tmp_path / "hs", kid=two_keys["made"][0].kid, name="hs")
    cases = [
        ((sig, str(no_kid)), (), "AS key %s has no kid" % no_kid),
        ((sig, enc), ("--as-kid", "01"), "--as-kid applies to a single --as-key"),
        ((sig, str(tmp_path / "hs" / "hs.cose")), (),
         "kid %s names two AS keys" % other.kid.hex()),
    ]
    for files, extra, message in cases:
        args = [a for f in files for a in ("--as-key", f)]
        code, out, err = run("provision", "unix:%s" % (tmp_path / "board"), *args,
                             "--audience", "rs1", "--issuer", ISS, *extra)
        assert code == 2 and out == "", out
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "board").exists()  # no board was touched
    assert not any(tmp_path.rglob("owner.secret"))


def test_no_secret_on_a_command_line_or_in_the_environment(tmp_path, monkeypatch):
    """Record every process the adapter starts while a symmetric key and an owner secret
    are provisioned: neither appears in argv or in the environment."""
    keys.new_key("A128CCM", tmp_path / "as", name="as")
    secret = keys.load_cose_key(tmp_path / "as" / "as.cose")[wire.K]
    started = []
    real_popen = subprocess.Popen

    def recording_popen(argv, **kw):
        started.append((argv, kw.get("env") or {}))
        return real_popen(argv, **kw)

    monkeypatch.setattr(board_module.subprocess, "Popen", recording_popen)
    code, out, err = run("provision", "unix:%s" % (tmp_path / "b"), "--as-key",
                         str(tmp_path / "as" / "as.cose"), "--audience", "rs1", "--issuer", ISS)
    assert code == 0, out + err
    owner = (tmp_path / "as" / "owner.secret").read_bytes()
    assert started and started[0][0][0] == "socat"
    for argv, env in started:
        text = " ".join(argv) + " ".join("%s=%s" % kv for kv in env.items())
        for s in (secret, owner):
            assert s.hex() not in text.lower() and s.hex().upper() not in text


@pytest.mark.parametrize("size", [0, 1, 5, 6, 255, 256, 257, 1000])
def test_put_bytes_round_trip(size, tmp_path):
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    with Board.open("unix:%s" % tmp_path, create=True) as b:
        b.put_bytes("_x", data)
        assert b.eval("bytes(_x)") == data
        assert b.eval("type(_x) is bytearray")


def test_board_process_ends_on_close(tmp_path):
    b = Board.open("unix:%s" % tmp_path)
    process = b._process
    assert b.eval("1 + 1") == 2
    b.close()
    assert process.poll() is not None
    for _ in range(50):  # nothing of its process group lives on (zombies wait for init)
        ps = subprocess.run(["ps", "-o", "stat=", "-g", str(process.pid)],
                            capture_output=True, text=True).stdout.split()
        if all(state.startswith("Z") for state in ps):
            break
        time.sleep(0.1)
    assert all(state.startswith("Z") for state in ps), ps


def test_board_errors_are_one_line(tmp_path):
    with Board.open("unix:%s" % tmp_path) as b:
        with pytest.raises(board_module.BoardError) as info:
            b.exec("raise ValueError('bad thing')")
        assert str(info.value) == "ValueError: bad thing" and info.value.kind == "ValueError"
        assert b.eval("'still here'") == "still here"  # the REPL survives a failure
    with pytest.raises(board_module.BoardError, match="no such state directory"):
        Board.open("unix:%s" % (tmp_path / "none"))
    with pytest.raises(board_module.BoardError, match="unknown board 'nope'"):
        Board.open("unix:%s" % tmp_path, board="nope")


def test_board_definitions():
    """Every board has a board.json that provisioning can use and a freeze manifest."""
    names = sorted(p.name for p in board_module.BOARDS.iterdir() if p.is_dir())
    assert names == ["esp32_generic", "esp32c3_devkitm", "esp32c6_devkitc", "esp32s3_devkitc",
                     "unix"]
    for name in names:
        config = board_module.board_config(name)
        assert config["name"] == name
        assert config["keystore"]["backend"] == ("file" if name == "unix" else "nvs")
        assert all(type(v) is int and v > 0 for v in config["limits"].values())
        assert "microace/__init__.py" in firmware.manifest_modules(name)  # test_deploy.py: more
