"""The catalogue's RS (its conftest starts it): the keys it trusts, its limits and heap, and
the PoP key the cases open their sessions with."""

from tests.support import tokenfactory as tf
from tests.support.rs_peer import AS_KEY, KW_KEY, RS_KEY

# Trusted keys beyond e2e's ES256 AS key, A128CCM RS key and A128KW key: an Ed25519 and an
# HMAC key, so that cases aimed at their checks reach them. All of one issuer.
ED_KEY = tf.signing_key("EdDSA", b"as-ed")
MAC_KEY = tf.symmetric_key(5, b"as-mac")
TRUSTED = (AS_KEY, RS_KEY, KW_KEY, ED_KEY, MAC_KEY)
LIMITS = {"max_tokens": 8, "max_token_bytes": 1024}  # the boards' default
# The PoP key (OSCORE id) of the sessions the cases open one at a time: each new token for it
# supersedes the last, so the used contexts left behind take at most two slots, not one per
# case (a store full of used tokens answers 5.03).
SCRATCH = b"scratch"
# The Ed25519 verifier (and its SHA-512) is code in the heap on the unix port: more than e2e.
HEAP = "320k"
