"""Token tools on the host: ask the firmware (on the unix port) for its verdict on a token."""

import json
import time

import cbor2

from . import keys, unix_port

# COSE header labels and tags (RFC 9052).
HDR_KID = 4
COSE_TAGS = (16, 17, 18)


def token_kid(token):
    """The kid a token names in its outermost COSE headers, if it can be read; else None."""
    try:
        obj = cbor2.loads(token)
        while isinstance(obj, cbor2.CBORTag) and obj.tag in COSE_TAGS + (61,):
            obj = obj.value
        protected = cbor2.loads(obj[0]) if obj[0] else {}
        kid = protected.get(HDR_KID, obj[1].get(HDR_KID))
    except Exception:  # any malformed token: the firmware will say what is wrong
        return None
    return kid if isinstance(kid, bytes) else None


def check(token, key, audience, issuer=None, now=None, heap=None):
    """Run the firmware's verification of `token` with `key` (a COSE_Key map) -> verdict dict.

    A key without a kid is bound to the kid the token names, as provisioning would do.
    """
    key = keys.verification_key(key)
    if keys.KID not in key:
        kid = token_kid(token)
        if kid is not None:
            key[keys.KID] = kid
    request = {"token": token.hex(), "key": cbor2.dumps(key).hex(), "audience": audience,
               "issuer": issuer, "now": int(time.time()) if now is None else now}
    out = unix_port.run_script("check_token.py", json.dumps(request), heap=heap)
    return json.loads(out.strip().splitlines()[-1])
