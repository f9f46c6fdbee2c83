"""`microace doctor TARGET`: what a store holds and how well it is protected, through the
real adapter (socat + mpremote + unix port); never key bytes."""

import shutil

import cbor2
import pytest

from microace_host import keys
from cli_util import run, table_rows

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="needs socat (make test "
                                "installs it)")

ISS = "coaps://as.example"


def test_doctor_shows_a_provisioned_store_without_key_bytes(tmp_path):
    es = keys.new_key("ES256", tmp_path / "as", name="es")
    hs = keys.new_key("HS256", tmp_path / "as", name="hs")
    (tmp_path / "scopes.json").write_text('{"read": [["/temp", 1]]}')
    state = "unix:%s" % (tmp_path / "board")
    code, out, err = run("provision", state, "--as-key", str(tmp_path / "as" / "es.pem"),
                         "--audience", "rs1", "--issuer", ISS, "--as-kid", es.kid.hex(),
                         "--as-uri", "coaps://as.example/token",
                         "--scope-map", str(tmp_path / "scopes.json"))
    assert code == 0, out + err

    code, out, err = run("doctor", state)
    assert code == 0, err
    table = table_rows(out)
    assert ["backend", "file"] in table
    assert ["protection", "none: key file in the state directory (development and CI)"] in table
    assert ["sealed", "yes"] in table
    assert [es.kid.hex(), "ES256", "EC2", es.fingerprint, ISS, "yes"] in table
    for row in (["audience", "rs1"], ["issuer", ISS], ["as_uri", "coaps://as.example/token"],
                ["scope read", '[["/temp", 1]]'], ["max_tokens", "8"],
                ["max_token_bytes", "1024"]):
        assert row in table, row
    assert ["target", state] in table and ["board", "unix"] in table
    # the unix port's wall clock is the host's; no token has taught it a floor yet
    assert ["time source", "wall clock (set: NTP or the host)"] in table
    assert ["time floor", "-"] in table
    # never key bytes: not the public point, not the AS private key, not the owner secret
    full = cbor2.loads((tmp_path / "as" / "es.cose").read_bytes())
    owner = (tmp_path / "as" / "owner.secret").read_bytes()
    for secret in (full[-2], full[-3], full[-4], owner):
        assert secret.hex() not in out.replace("\n", "")

    # a symmetric key: its fingerprint, never k
    code, out, err = run("provision", state, "--as-key", str(tmp_path / "as" / "hs.cose"),
                         "--audience", "rs1", "--issuer", ISS, "--reprovision")
    assert code == 0, out + err
    code, out, err = run("doctor", state)
    assert code == 0, err
    assert [hs.kid.hex(), "HS256", "Symmetric", hs.fingerprint, ISS, "no"] in table_rows(out)
    secret = cbor2.loads((tmp_path / "as" / "hs.cose").read_bytes())[-1]
    assert secret.hex() not in out.replace("\n", "")


def test_doctor_on_an_empty_store(tmp_path):
    code, out, err = run("doctor", "unix:%s" % tmp_path)
    assert code == 0, err
    table = table_rows(out)
    assert ["sealed", "no"] in table and ["gen", "0"] in table and ["audience", "-"] in table


def test_doctor_errors_are_one_line(tmp_path):
    code, out, err = run("doctor", "unix:%s" % (tmp_path / "none"))
    assert code == 1 and err.count("\n") == 1 and "no such state directory" in err
    (tmp_path / "keystore.bin").write_bytes(b"MACE\x01\x00\x00\x00\x10")  # truncated record
    code, out, err = run("doctor", "unix:%s" % tmp_path)
    assert code == 1 and err.count("\n") == 1
    assert "KeyStoreError: store corrupt" in err, err
    code, out, err = run("doctor", "/dev/ttyMICROACE-NO-SUCH-PORT")
    assert code == 1 and err.count("\n") == 1 and "cannot open serial port" in err
