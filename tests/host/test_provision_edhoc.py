"""`microace provision --edhoc --rs-cred-out FILE`: the board makes its EDHOC key, the host
gets its CCS back (never the private part), trusted clients with their scopes go into the
config, `doctor` shows kid, fingerprint and where the key lives; a second run keeps the key."""

import shutil

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from microace_host import keys
from cli_util import run, table_rows

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="needs socat (make test "
                                "installs it)")

ISS = "coaps://as.example"


def client_ccs(path, kid=b"\x2b"):
    n = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    path.write_bytes(cbor2.dumps({2: "client", 8: {1: {1: 2, 2: kid, -1: 1,
                                                      -2: n.x.to_bytes(32, "big"),
                                                      -3: n.y.to_bytes(32, "big")}}}))
    return path


def test_provision_edhoc_and_doctor(tmp_path):
    es = keys.new_key("ES256", tmp_path / "as", name="es")
    state = "unix:%s" % (tmp_path / "board")
    client = client_ccs(tmp_path / "client.ccs")
    args = ("provision", state, "--as-key", str(tmp_path / "as" / "es.pem"), "--audience",
            "rs1", "--issuer", ISS, "--as-kid", es.kid.hex(), "--edhoc", "--rs-cred-out",
            str(tmp_path / "rs.ccs"), "--edhoc-client", "%s=read" % client)
    code, out, err = run(*args)
    assert code == 0, out + err
    cred = (tmp_path / "rs.ccs").read_bytes()
    m = cbor2.loads(cred)
    assert m[2] == "rs1" and m[8][1][2] == b"\x32" and m[8][1][1] == 2
    assert cbor2.dumps(m, canonical=True) == cred  # deterministic, as EDHOC hashes it

    code, out, err = run("doctor", state)
    assert code == 0, err
    table = table_rows(out)
    assert ["edhoc key", "kid 32, sub rs1"] in table
    assert ["edhoc fingerprint", keys.fingerprint(m[8][1])] in table
    assert ["edhoc key in", "file medium (none: key file in the state directory "
            "(development and CI))"] in table
    client_key = cbor2.loads(client.read_bytes())[8][1]
    assert ["edhoc client %s" % keys.fingerprint(client_key), "read"] in table
    # the private key is in the file store (development backend) but never in the output
    record = (tmp_path / "board" / "keystore.bin").read_bytes()
    d = cbor2.loads(record[13:])["own"]["d"]
    assert len(d) == 32 and d.hex() not in (out + err).replace("\n", "")
    # P-256: the CCS's point is d*G (the key the board holds is the one it reported)
    pub = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1()).public_key()
    assert pub.public_numbers().x.to_bytes(32, "big") == m[8][1][-2]

    # again: unchanged, the same key and CCS
    (tmp_path / "rs.ccs").unlink()
    code, out, err = run(*args)
    assert code == 0, out + err
    assert (tmp_path / "rs.ccs").read_bytes() == cred


def test_provision_edhoc_input_errors(tmp_path):
    keys.new_key("ES256", tmp_path / "as", name="es")
    base = ("provision", "unix:%s" % (tmp_path / "board"), "--as-key",
            str(tmp_path / "as" / "es.pem"), "--audience", "rs1", "--issuer", ISS)
    (tmp_path / "bad.ccs").write_bytes(cbor2.dumps({2: "x"}))
    for extra, why in [
        (("--edhoc",), "--edhoc needs --rs-cred-out FILE"),
        (("--rs-cred-out", "x"), "--rs-cred-out and --edhoc-client need --edhoc"),
        (("--edhoc", "--rs-cred-out", "x", "--edhoc-kid", "zz"), "--edhoc-kid must be hex"),
        (("--edhoc", "--rs-cred-out", "x", "--edhoc-client", "nofile"),
         "--edhoc-client takes CCS_FILE=SCOPE"),
        (("--edhoc", "--rs-cred-out", "x", "--edhoc-client", "%s=read" % (tmp_path / "bad.ccs")),
         "not a CCS with a P-256 cnf COSE_Key"),
    ]:
        code, out, err = run(*base, *extra)
        assert code == 2 and why in out + err, (extra, out + err)
    assert not (tmp_path / "board").exists()


def test_doctor_prints_the_profiles_and_codepoints_in_force(tmp_path):
    """board.json says which ACE profiles the board offers and overrides the EDHOC-OSCORE
    profile's unassigned codepoints; doctor shows the ones in force (codepoints.py)."""
    import json

    es = keys.new_key("ES256", tmp_path / "as", name="es")
    board = tmp_path / "board"
    state = "unix:%s" % board
    from microace_host.firmware import BOARDS

    board.mkdir()
    cfg = json.loads((BOARDS / "unix" / "board.json").read_text())
    cfg["edhoc"] = {}
    (board / "board.json").write_text(json.dumps(cfg))
    code, out, err = run("provision", state, "--as-key", str(tmp_path / "as" / "es.pem"),
                         "--audience", "rs1", "--issuer", ISS, "--as-kid", es.kid.hex(),
                         "--edhoc", "--rs-cred-out", str(tmp_path / "rs.ccs"))
    assert code == 0, out + err
    cfg["profiles"] = ["coap_oscore", "coap_edhoc_oscore"]
    cfg["codepoints"] = {"ead_access_token": 30}
    (board / "board.json").write_text(json.dumps(cfg))
    code, out, err = run("doctor", state)
    assert code == 0, err
    table = table_rows(out)
    assert ["profiles", "coap_oscore, coap_edhoc_oscore"] in table
    assert ["codepoint ead_access_token", "30"] in table  # the override
    assert ["codepoint kccs", "11"] in table  # a default of the draft's CDDL model
    cfg["codepoints"] = {"no_such": 1}
    (board / "board.json").write_text(json.dumps(cfg))
    code, out, err = run("doctor", state)
    assert ["codepoints", "invalid: codepoints: unknown name 'no_such'"] in table_rows(out)
