"""CWT Claims Sets as EDHOC credentials (RFC 9528 §3.5.2, RFC 8392): a CBOR map with `sub`
and `cnf` {COSE_Key} of a P-256 static DH key; EDHOC identifies it by the COSE_Key's kid.

The RS builds its own CCS from the key its key store generated; the CCS of a client comes
from provisioning (the trusted list) or, in the next issue, from a token's cnf.  The bytes
are what EDHOC hashes (CRED_I / CRED_R), so a CCS is kept as received.
"""

from microace import cbor, cose
from microace.ace import CLAIM_CNF, CLAIM_SUB, CNF_COSE_KEY
from microace.errors import DecodeError


def build(sub, kid, x, y):
    """The deterministic CCS of a P-256 key: {2: sub, 8: {1: {1: 2, 2: kid, -1: 1, -2: x,
    -3: y}}}, the layout of RFC 9529's credentials."""
    key = {cose.KEY_KTY: cose.KTY_EC2, cose.KEY_KID: kid, cose.KEY_CRV: cose.CRV_P256,
           cose.KEY_X: x, cose.KEY_Y: y}
    return cbor.encode({CLAIM_SUB: sub, CLAIM_CNF: {CNF_COSE_KEY: key}})


class Credential:
    """A parsed CCS: its exact bytes, the kid of its key, and the validated point."""

    def __init__(self, raw, kid, point, sub):
        self.raw = raw
        self.kid = kid
        self.point = point
        self.sub = sub


def parse(raw):
    """CCS bytes -> Credential; DecodeError unless it carries a P-256 EC2 key with a kid."""
    m = cbor.decode(raw)
    if not isinstance(m, dict) or not isinstance(m.get(CLAIM_CNF), dict):
        raise DecodeError("CCS needs a cnf claim")
    cnf = m[CLAIM_CNF]
    if len(cnf) != 1 or not isinstance(cnf.get(CNF_COSE_KEY), dict):
        raise DecodeError("CCS cnf must hold one COSE_Key")
    key = cose.parse_key(cnf[CNF_COSE_KEY])
    if key.kty != cose.KTY_EC2 or not key.kid:
        raise DecodeError("CCS key must be a P-256 key with a kid")
    sub = m.get(CLAIM_SUB)
    if sub is not None and type(sub) is not str:
        raise DecodeError("CCS sub must be text")
    return Credential(bytes(raw), key.kid, key.public, sub)
