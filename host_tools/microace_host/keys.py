"""Key files on the host: make them, read COSE_Key (CBOR) or PEM, reduce them to what a board
may hold, and fingerprint them the way the firmware does."""

import hashlib
import os
from pathlib import Path

import cbor2
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .wire import (KTY, KID, ALG, CRV, X, Y, D, K, KTY_OKP, KTY_EC2, KTY_SYMMETRIC, CRV_P256,
                   CRV_ED25519, ALG_ES256, ALG_EDDSA, ALG_HS256, ALG_A128CCM, ALG_A128KW,
                   ALGORITHMS)

# `microace keys new`
NEW_KEY_ALGS = {"ES256": ALG_ES256, "EdDSA": ALG_EDDSA, "HS256": ALG_HS256, "A128CCM": ALG_A128CCM,
                "A128KW": ALG_A128KW}
KTY_NAMES = {KTY_OKP: "OKP", KTY_EC2: "EC2", KTY_SYMMETRIC: "Symmetric"}


class KeyFileError(Exception):
    """A key file that cannot be used; the message is one line for the user."""


def alg_name(alg):
    return ALGORITHMS[alg][0] if type(alg) is int and alg in ALGORITHMS else repr(alg)


def kty_name(kty):
    return KTY_NAMES[kty] if type(kty) is int and kty in KTY_NAMES else repr(kty)


def _from_pem(data):
    try:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            key = serialization.load_pem_private_key(data, password=None).public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError("not a usable PEM key (%s)" % str(exc).splitlines()[0]) from None
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        n = key.public_numbers()
        return {KTY: KTY_EC2, ALG: ALG_ES256, CRV: CRV_P256,
                X: n.x.to_bytes(32, "big"), Y: n.y.to_bytes(32, "big")}
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {KTY: KTY_OKP, ALG: ALG_EDDSA, CRV: CRV_ED25519, X: raw}
    raise KeyFileError("PEM key must be P-256 or Ed25519")


def load_cose_key(path):
    """Read a key file -> COSE_Key map. PEM for public keys, CBOR COSE_Key for any key."""
    try:
        data = open(path, "rb").read()
    except OSError as exc:
        raise KeyFileError("cannot read key file %s: %s" % (path, exc.strerror)) from None
    if data.lstrip().startswith(b"-----BEGIN"):
        return _from_pem(data)
    try:
        key = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types for bad input
        raise KeyFileError("key file is neither PEM nor a CBOR COSE_Key (%s)" % exc) from None
    if not isinstance(key, dict) or KTY not in key:
        raise KeyFileError("key file is CBOR but not a COSE_Key map with kty")
    return key


def verification_key(key):
    """The part of a key a verifier needs: public keys lose `d`; alg is made explicit."""
    key = dict(key)
    if key.get(KTY) in (KTY_EC2, KTY_OKP):
        key.pop(D, None)
        key.setdefault(ALG, ALG_ES256 if key[KTY] == KTY_EC2 else ALG_EDDSA)
    elif ALG not in key:
        raise KeyFileError("symmetric COSE_Key has no alg (label 3): the board binds each key "
                           "to one algorithm")
    return key


def _bstr(key, label, size, what):
    value = key.get(label)
    if not isinstance(value, bytes) or len(value) != size:
        raise KeyFileError("%s must be a %d-byte string" % (what, size))
    return value


def board_key(key, kid=None):
    """The COSE_Key a board may hold, checked: kty/alg/crv/kid and the public part (EC2, OKP)
    or the secret (Symmetric), nothing else. `kid` (bytes) replaces the key's own."""
    key = verification_key(key)
    alg, kty = key.get(ALG), key.get(KTY)
    if type(alg) is not int or alg not in ALGORITHMS:
        raise KeyFileError("unsupported alg %r in key file" % (alg,))
    name, want_kty, size = ALGORITHMS[alg]
    if kty != want_kty:
        raise KeyFileError("key type %s does not fit alg %s (needs %s)"
                           % (kty_name(kty), name, KTY_NAMES[want_kty]))
    kid = key.get(KID) if kid is None else kid
    if not kid:
        raise KeyFileError("the key has no kid: give one with --as-kid HEX")
    if not isinstance(kid, bytes):
        raise KeyFileError("kid must be a byte string (COSE_Key label 2)")
    out = {KTY: kty, KID: kid, ALG: alg}
    if kty == KTY_SYMMETRIC:
        out[K] = _bstr(key, K, size, "%s key (k)" % name)
    elif kty == KTY_EC2:
        if key.get(CRV) != CRV_P256:
            raise KeyFileError("ES256 key must be on P-256 (crv 1)")
        out[CRV] = CRV_P256
        out[X], out[Y] = _bstr(key, X, 32, "P-256 x"), _bstr(key, Y, 32, "P-256 y")
        try:
            ec.EllipticCurvePublicNumbers(int.from_bytes(out[X], "big"),
                                          int.from_bytes(out[Y], "big"),
                                          ec.SECP256R1()).public_key()
        except ValueError:
            raise KeyFileError("P-256 key: the point is not on the curve") from None
    else:
        if key.get(CRV) != CRV_ED25519:
            raise KeyFileError("EdDSA key must be Ed25519 (crv 6)")
        out[CRV] = CRV_ED25519
        out[X] = _bstr(key, X, 32, "Ed25519 x")
    return out


def encode(key):
    """Deterministic CBOR (RFC 8949 §4.2.1) of a COSE_Key: the same key, the same bytes."""
    return cbor2.dumps(key, canonical=True)


def fingerprint(key):
    """Public fingerprint, identical to the firmware's keystore.fingerprint: SHA-256 over a
    label, kty, alg (2 bytes, signed) and x||y (EC2), x (OKP) or SHA-256(k) (Symmetric)."""
    kty, alg = key.get(KTY), key.get(ALG)
    if kty == KTY_EC2:
        material = key[X] + key[Y]
    elif kty == KTY_OKP:
        material = key[X]
    elif kty == KTY_SYMMETRIC:
        material = hashlib.sha256(key[K]).digest()
    else:
        raise KeyFileError("no fingerprint for key type %r" % (kty,))
    if alg is None and kty == KTY_EC2:
        alg = 0  # an EDHOC static DH key (a CCS's cnf) names no alg
    if not isinstance(alg, int):
        raise KeyFileError("a fingerprint needs the key's alg")
    head = b"microace-fp1" + bytes([kty]) + alg.to_bytes(2, "big", signed=True)
    return hashlib.sha256(head + material).digest()[:8].hex()


def write_secret_file(path, data):
    """Create `path` with mode 0600 from the first byte on; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # exactly 0600, whatever the umask
        f.write(data)


class NewKey:
    """What `keys new` made: alg name, kid, fingerprint, and the files [(path, what)]."""

    def __init__(self, alg, kid, fingerprint, files):
        self.alg = alg
        self.kid = kid
        self.fingerprint = fingerprint
        self.files = files


def _generate(alg):
    """COSE_Key map with the private part (d) or the secret (k), no kid yet; + a PEM pair."""
    if alg == ALG_ES256:
        private = ec.generate_private_key(ec.SECP256R1())
        n = private.private_numbers()
        key = {KTY: KTY_EC2, ALG: alg, CRV: CRV_P256,
               X: n.public_numbers.x.to_bytes(32, "big"),
               Y: n.public_numbers.y.to_bytes(32, "big"), D: n.private_value.to_bytes(32, "big")}
    elif alg == ALG_EDDSA:
        private = ed25519.Ed25519PrivateKey.generate()
        raw = serialization.Encoding.Raw
        key = {KTY: KTY_OKP, ALG: alg, CRV: CRV_ED25519,
               X: private.public_key().public_bytes(raw, serialization.PublicFormat.Raw),
               D: private.private_bytes(raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())}
    else:
        return {KTY: KTY_SYMMETRIC, ALG: alg, K: os.urandom(ALGORITHMS[alg][2])}, None
    pem = (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()),
           private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, pem


def ccs(public, sub):
    """The CWT Claims Set of a P-256 public COSE_Key (RFC 9528 §3.5.2): {2: sub, 8: {1:
    {1: 2, 2: kid, -1: 1, -2: x, -3: y}}}, deterministically encoded (EDHOC hashes these
    bytes), the layout of RFC 9529's credentials and of the firmware's ccs.build."""
    key = {KTY: KTY_EC2, KID: public[KID], CRV: CRV_P256, X: public[X], Y: public[Y]}
    return cbor2.dumps({2: sub, 8: {1: key}}, canonical=True)


def new_key(alg, out_dir, kid=None, name=None, with_ccs=False):
    """Generate a key for `alg` (ES256, EdDSA, HS256, A128CCM, A128KW) into out_dir, files 0600:
    NAME.cose (COSE_Key with the private part or secret), and for ES256/EdDSA also
    NAME.pub.cose, NAME.pem (PKCS#8) and NAME.pub.pem; with_ccs (ES256): NAME.ccs, the key's
    CCS, an EDHOC client's credential (sub NAME). kid: random 4 bytes unless given;
    NAME defaults to <alg>-<kid hex>. Refuses to overwrite any file."""
    if alg not in NEW_KEY_ALGS:
        raise KeyFileError("unknown alg %r: choose one of %s" % (alg, ", ".join(NEW_KEY_ALGS)))
    if with_ccs and alg != "ES256":
        raise KeyFileError("--ccs needs --alg ES256 (EDHOC's P-256 credential)")
    kid = os.urandom(4) if kid is None else kid
    if not kid:
        raise KeyFileError("kid must not be empty")
    key, pem = _generate(NEW_KEY_ALGS[alg])
    key[KID] = kid
    public = board_key(key)
    out_dir = Path(out_dir)
    stem = out_dir / (name or "%s-%s" % (alg.lower(), kid.hex()))
    files = [(stem.with_name(stem.name + ".cose"), encode(key), "COSE_Key")]
    if pem:
        files += [(stem.with_name(stem.name + ".pub.cose"), encode(public), "COSE_Key, public"),
                  (stem.with_name(stem.name + ".pem"), pem[0], "PEM PKCS#8"),
                  (stem.with_name(stem.name + ".pub.pem"), pem[1], "PEM, public")]
    if with_ccs:
        files.append((stem.with_name(stem.name + ".ccs"), ccs(public, stem.name),
                      "CCS, EDHOC credential"))
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    taken = [str(path) for path, _, _ in files if path.exists()]
    if taken:
        raise KeyFileError("refusing to overwrite %s" % ", ".join(taken))
    for path, data, _ in files:
        try:
            write_secret_file(path, data)
        except OSError as exc:
            raise KeyFileError("cannot write %s: %s" % (path, exc.strerror)) from None
    return NewKey(alg, kid, fingerprint(public), [(p, what) for p, _, what in files])
