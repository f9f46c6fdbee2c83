# Runs inside MicroPython (unix port): the firmware's own verdict on one token (CWT or JWT).
# Input on stdin (never the command line): JSON {token, keys, audience, issuer, now}, bytes in
# hex; keys: the COSE_Keys the board trusts (a nested token needs its wrap key and the AS key).
# Output: one JSON line {accepted, error, reason, claims}.
import json
import sys
from binascii import hexlify, unhexlify

from microace import access_token, cose
from microace.errors import MicroaceError
from microace.keystore import SoftwareKeyStore


def plain(v):
    """Claims -> JSON-able values: bytes as hex, tags and keys spelled out."""
    if isinstance(v, (bytes, bytearray)):
        return {"hex": hexlify(v).decode()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return repr(v)


req = json.loads(sys.stdin.read())
out: dict = {"accepted": False}  # then the verdict's fields
try:
    keys = SoftwareKeyStore()
    for key in req["keys"]:
        keys.add(cose.parse_key(unhexlify(key)))
    token = access_token.verify(unhexlify(req["token"]), keys, req["audience"],
                                now=req.get("now"), issuer=req.get("issuer"))
    claims = dict(token.claims)
    for name in (8, "cnf"):  # CWT label, JWT name: the PoP key (osc ms, a symmetric k) is
        if name in claims:  # secret; `cnf` below names the method
            claims[name] = "<not shown: %s>" % (token.cnf[0] if token.cnf else "cnf")
    out = {"accepted": True, "claims": plain(claims),
           "cnf": token.cnf[0] if token.cnf else None, "encrypted": token.encrypted}
except MicroaceError as e:
    out["error"] = type(e).__name__
    out["reason"] = e.args[0] if e.args else ""
print(json.dumps(out))
