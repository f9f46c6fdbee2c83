"""One ES256 CWT verify with as little else in the heap as the firmware allows.

`make bench` runs it under small -X heapsize values (32k, then a bisection for the smallest
heap that works). stdin: JSON {"key": COSE_Key hex, "token": hex, "audience", "now",
"table": bool}; prints OK, or fails with the MemoryError.
"""

import json
import sys
from binascii import unhexlify

from microace import cose, cwt
from microace.crypto import p256
from microace.keystore import SoftwareKeyStore

req = json.loads(globals().get("_MACE_IN") or sys.stdin.read())  # bench/device.py
key = cose.parse_key(unhexlify(req["key"]))
keys = SoftwareKeyStore()
keys.add(key, table=p256.make_table(key.public) if req["table"] else None)
token = cwt.verify(unhexlify(req["token"]), keys, req["audience"], now=req["now"])
print("OK" if token.aud == req["audience"] else "FAIL: wrong claims")
