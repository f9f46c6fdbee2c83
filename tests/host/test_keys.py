"""`microace keys new` and the host's key handling: 0600 files, readable formats, fingerprints
equal to the firmware's, and one-line errors for keys a board must not take."""

import os
import stat

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from microace_host import keys, wire
from cli_util import run

ALGS = {"ES256": (-7, 2), "EdDSA": (-8, 1), "HS256": (5, 4), "A128CCM": (10, 4),
        "A128KW": (-3, 4)}


def printed(out):
    """`keys new` output -> {field: [values]}."""
    fields = {}
    for line in out.splitlines():
        name, _, value = line.partition(": ")
        fields.setdefault(name, []).append(value)
    return fields


@pytest.fixture
def open_umask():
    """umask 0: files must still come out 0600 (mode fixed at creation, not by the umask)."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.parametrize("alg", sorted(ALGS))
def test_new_key_files(alg, tmp_path, open_umask, mp):
    code, out, err = run("keys", "new", "--alg", alg, "--out", str(tmp_path / "k"))
    assert code == 0, err
    f = printed(out)
    kid, fp = bytes.fromhex(f["kid"][0]), f["fingerprint"][0]
    assert len(kid) == 4 and len(fp) == 16
    files = [p.split(" (")[0] for p in f["file"]]
    stem = str(tmp_path / "k" / ("%s-%s" % (alg.lower(), kid.hex())))
    asymmetric = ALGS[alg][1] != wire.KTY_SYMMETRIC
    want = [stem + ".cose"] + ([stem + ".pub.cose", stem + ".pem", stem + ".pub.pem"]
                               if asymmetric else [])
    assert files == want
    assert sorted(os.listdir(tmp_path / "k")) == sorted(os.path.basename(p) for p in want)
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path

    full = keys.load_cose_key(stem + ".cose")
    assert full[wire.KID] == kid and full[wire.ALG] == ALGS[alg][0]
    assert full[wire.KTY] == ALGS[alg][1]
    public = keys.board_key(full)
    assert keys.fingerprint(public) == fp
    if asymmetric:
        assert wire.D in full
        assert keys.load_cose_key(stem + ".pub.cose") == public
        # PEM carries no kid: the same key once the kid is given
        assert keys.board_key(keys.load_cose_key(stem + ".pem"), kid) == public
        assert keys.board_key(keys.load_cose_key(stem + ".pub.pem"), kid) == public
        private = serialization.load_pem_private_key(open(stem + ".pem", "rb").read(), None)
        assert isinstance(private, ec.EllipticCurvePrivateKey if alg == "ES256"
                          else ed25519.Ed25519PrivateKey)
    else:
        assert len(full[wire.K]) == (32 if alg == "HS256" else 16)
    # The firmware computes the same fingerprint from the COSE_Key it would store.
    mp.exec("from microace import cose\nfrom microace.keystore import fingerprint")
    assert mp.eval("fingerprint(cose.parse_key(bytes.fromhex(%r)))"
                   % keys.encode(public).hex()) == fp


def test_new_key_with_kid_and_name(tmp_path):
    code, out, err = run("keys", "new", "--alg", "EdDSA", "--out", str(tmp_path),
                         "--kid", "0102ff", "--name", "as")
    assert code == 0, err
    assert printed(out)["kid"] == ["0102ff"]
    assert keys.load_cose_key(tmp_path / "as.pub.cose")[wire.KID] == b"\x01\x02\xff"
    # twice: refuses to overwrite, one line, the first key intact
    before = (tmp_path / "as.cose").read_bytes()
    code, out, err = run("keys", "new", "--alg", "EdDSA", "--out", str(tmp_path),
                         "--kid", "0102ff", "--name", "as")
    assert code == 2 and err.count("\n") == 1 and "refusing to overwrite" in err
    assert (tmp_path / "as.cose").read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--alg", "RS256"], "unknown alg 'RS256'"),
    (["--alg", "es256"], "unknown alg 'es256'"),
    (["--alg", "ES256", "--kid", "xyz"], "--kid must be hex"),
    (["--alg", "ES256", "--kid", ""], "kid must not be empty"),
])
def test_new_key_bad_input(args, message, tmp_path):
    code, out, err = run("keys", "new", "--out", str(tmp_path / "k"), *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "k").exists() or not os.listdir(tmp_path / "k")


def test_fingerprint_is_the_contracts():
    """sha256(b"microace-fp1" + kty + alg (2 bytes, signed) + material)[:8], spelled out."""
    import hashlib

    x, y = bytes(range(32)), bytes(range(32, 64))
    ec2 = {1: 2, 3: -7, -1: 1, -2: x, -3: y}
    assert keys.fingerprint(ec2) == hashlib.sha256(
        b"microace-fp1\x02\xff\xf9" + x + y).hexdigest()[:16]
    sym = {1: 4, 3: 10, -1: b"k" * 16}
    assert keys.fingerprint(sym) == hashlib.sha256(
        b"microace-fp1\x04\x00\x0a" + hashlib.sha256(b"k" * 16).digest()).hexdigest()[:16]


# --- keys a board must not take: refused on the host, one line, no board touched ---------

def _ec2(changes=None):
    """CBOR of a P-256 COSE_Key with these labels changed (None: removed)."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    m = {1: 2, 2: b"as", 3: -7, -1: 1, -2: point.x.to_bytes(32, "big"),
         -3: point.y.to_bytes(32, "big")}
    m.update(changes or {})
    return cbor2.dumps({k: v for k, v in m.items() if v is not None})


BAD_KEYS = {
    "EC2 key with EdDSA alg": (_ec2({3: -8}), "key type EC2 does not fit alg EdDSA"),
    "OKP key with ES256 alg": (cbor2.dumps({1: 1, 2: b"as", 3: -7, -1: 6, -2: b"x" * 32}),
                               "key type OKP does not fit alg ES256"),
    "symmetric key with ES256 alg": (cbor2.dumps({1: 4, 2: b"as", 3: -7, -1: b"k" * 32}),
                                     "key type Symmetric does not fit alg ES256"),
    "HS256 key of 16 bytes": (cbor2.dumps({1: 4, 2: b"as", 3: 5, -1: b"k" * 16}),
                              "HS256 key (k) must be a 32-byte string"),
    "A128CCM key of 32 bytes": (cbor2.dumps({1: 4, 2: b"as", 3: 10, -1: b"k" * 32}),
                                "A128CCM key (k) must be a 16-byte string"),
    "symmetric key without alg": (cbor2.dumps({1: 4, 2: b"as", -1: b"k" * 32}),
                                  "symmetric COSE_Key has no alg"),
    "unknown alg": (cbor2.dumps({1: 4, 2: b"as", 3: 999, -1: b"k" * 32}),
                    "unsupported alg 999"),
    "point not on P-256": (_ec2({-3: b"\x01" * 32}), "not on the curve"),
    "P-384 curve": (_ec2({-1: 2}), "must be on P-256"),
    "truncated COSE_Key": (_ec2()[:40], "neither PEM nor a CBOR COSE_Key"),
    "CBOR but not a key": (cbor2.dumps([1, 2]), "not a COSE_Key map"),
    "no kid": (_ec2({2: None}), "no kid: give one with --as-kid"),
    "text kid": (_ec2({2: "as"}), "kid must be a byte string"),
    "alg not an integer": (_ec2({3: [-7]}), "unsupported alg [-7]"),
    "RSA key": (cbor2.dumps({1: 3, 2: b"as", 3: -257, -1: b"n", -2: b"e"}),
                "unsupported alg -257"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_provision_refuses_bad_key(case, tmp_path):
    data, message = BAD_KEYS[case]
    (tmp_path / "as.cose").write_bytes(data)
    code, out, err = run("provision", "unix:%s" % (tmp_path / "board"), "--as-key",
                         str(tmp_path / "as.cose"), "--audience", "rs1", "--issuer", "as")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "board").exists()  # no board was touched
    assert not (tmp_path / "owner.secret").exists()


def test_provision_refuses_truncated_pem_and_missing_file(tmp_path):
    run("keys", "new", "--alg", "ES256", "--out", str(tmp_path), "--name", "as")
    pem = (tmp_path / "as.pub.pem").read_bytes()
    (tmp_path / "cut.pem").write_bytes(pem[: len(pem) // 2])
    for path, message in ((tmp_path / "cut.pem", "not a usable PEM key"),
                          (tmp_path / "none.pem", "cannot read key file")):
        code, out, err = run("provision", "unix:%s" % (tmp_path / "b"), "--as-key", str(path),
                             "--as-kid", "01", "--audience", "rs1", "--issuer", "as")
        assert code == 2 and err.count("\n") == 1 and message in err, err
    code, out, err = run("provision", "unix:%s" % (tmp_path / "b"), "--as-key",
                         str(tmp_path / "as.pub.pem"), "--as-kid", "zz", "--audience", "rs1",
                         "--issuer", "as")
    assert code == 2 and err.count("\n") == 1 and "--as-kid must be hex" in err
    assert not (tmp_path / "b").exists()


def test_new_key_with_ccs(tmp_path):
    """keys new --alg ES256 --ccs: the client's CCS for the EDHOC-OSCORE profile, the same
    bytes the Initiator and the firmware's ccs.parse take (deterministic CBOR)."""
    code, out, err = run("keys", "new", "--alg", "ES256", "--out", str(tmp_path), "--kid", "2b",
                         "--name", "client", "--ccs")
    assert code == 0, out + err
    raw = (tmp_path / "client.ccs").read_bytes()
    m = cbor2.loads(raw)
    public = cbor2.loads((tmp_path / "client.pub.cose").read_bytes())
    assert m[2] == "client" and m[8][1] == {1: 2, 2: b"\x2b", -1: 1, -2: public[-2],
                                             -3: public[-3]}
    assert cbor2.dumps(m, canonical=True) == raw
    code, out, err = run("keys", "new", "--alg", "EdDSA", "--out", str(tmp_path / "e"),
                         "--ccs")
    assert code != 0 and "--ccs needs --alg ES256" in out + err
