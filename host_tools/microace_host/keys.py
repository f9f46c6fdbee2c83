"""Key files on the host: read COSE_Key (CBOR) or PEM, and reduce them to what a board may hold."""

import hashlib

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

# COSE labels (RFC 9052 §7, RFC 9053 §7); the firmware has the same table in cose.py.
KTY, KID, ALG = 1, 2, 3
CRV, X, Y, D, K = -1, -2, -3, -4, -1
KTY_OKP, KTY_EC2, KTY_SYMMETRIC = 1, 2, 4
ALG_ES256, ALG_EDDSA = -7, -8


class KeyFileError(Exception):
    """A key file that cannot be used; the message is one line for the user."""


def _from_pem(data):
    try:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            key = serialization.load_pem_private_key(data, password=None).public_key()
    except (ValueError, TypeError) as exc:
        raise KeyFileError("not a usable PEM key (%s)" % exc) from None
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        n = key.public_numbers()
        return {KTY: KTY_EC2, ALG: ALG_ES256, CRV: 1,
                X: n.x.to_bytes(32, "big"), Y: n.y.to_bytes(32, "big")}
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {KTY: KTY_OKP, ALG: ALG_EDDSA, CRV: 6, X: raw}
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


def fingerprint(key):
    """Short public fingerprint of a COSE_Key: SHA-256 over its public/identifying parts."""
    public = {k: v for k, v in key.items() if k not in (D,) and not
              (key.get(KTY) == KTY_SYMMETRIC and k == K)}
    if key.get(KTY) == KTY_SYMMETRIC:  # a secret's fingerprint must not reveal it
        public["k-hash"] = hashlib.sha256(b"microace-fp" + key[K]).digest()
    return hashlib.sha256(cbor2.dumps(public, canonical=True)).hexdigest()[:16]
