"""Hostile tokens for the hostile catalogue's RS: claims as raw CBOR bytes, layers put together
by hand and protected by python-cwt keys (tokenfactory), so that each case reaches the one check
it aims at: an inner case sits in a valid Encrypt0, a claims case in valid Sign1 and Encrypt0."""

import cbor2

from tests.support import tokenfactory as tf
from tests.support.rs_peer import AS_KEY, RS_KEY, claims


def raw_map(pairs):
    """A CBOR map from (encoded key, encoded value) pairs, as given: duplicates, odd values."""
    assert len(pairs) < 24
    return bytes((0xA0 + len(pairs),)) + b"".join(k + v for k, v in pairs)


def claim_pairs(**kw):
    """The pairs of a valid claims map (rs_peer.claims) for raw_map()."""
    return [(cbor2.dumps(k), cbor2.dumps(v)) for k, v in claims(**kw).items()]


def with_claim(label, raw_value, **kw):
    """Valid claims bytes with claim `label` replaced (or added) by the raw CBOR value."""
    pairs = [p for p in claim_pairs(**kw) if p[0] != cbor2.dumps(label)]
    return raw_map(pairs + [(cbor2.dumps(label), raw_value)])


def sealed(payload):
    """Encrypt0(payload) under the RS key, as the AS does (payload: bytes)."""
    return tf.protect(payload, RS_KEY)


def signed(claims_bytes):
    """Encrypt0(Sign1(claims bytes as given))."""
    return sealed(tf.protect(claims_bytes, AS_KEY))


def valid_inner():
    return tf.protect(claims(), AS_KEY)
