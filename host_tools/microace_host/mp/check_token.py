# Runs inside MicroPython (unix port): the firmware's own verdict on one token.
# Input on stdin (never the command line): JSON {token, key, audience, issuer, now} with hex bytes.
# Output: one JSON line {accepted, error, reason, claims}.
import json
import sys
from binascii import hexlify, unhexlify

from microace import cose, cwt
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
    keys.add(cose.parse_key(unhexlify(req["key"])))
    token = cwt.verify(unhexlify(req["token"]), keys, req["audience"], now=req.get("now"),
                       issuer=req.get("issuer"))
    out = {"accepted": True, "claims": plain(token.claims),
           "cnf": token.cnf[0] if token.cnf else None, "encrypted": token.encrypted}
except MicroaceError as e:
    out["error"] = type(e).__name__
    out["reason"] = e.args[0] if e.args else ""
print(json.dumps(out))
