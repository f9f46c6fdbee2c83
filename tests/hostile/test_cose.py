"""Hostile COSE (RFC 9052/9053) in tokens posted to /authz-info: every case is a whole token,
the hostile layer inside an otherwise valid one. Codes: structure errors 4.00 (DecodeError),
anything that fails to verify 4.01. The checks one by one, without the wire:
tests/firmware/test_cwt_*.py and test_cose_vectors.py."""

import os

import cbor2
import pytest

from tests.support import tokenfactory as tf
from tests.support.rs_peer import AS_KEY, RS_KEY, claims
from tests.hostile.rs_setup import ED_KEY, MAC_KEY
from tests.support.hostile_tokens import sealed, valid_inner
from tests.support.coap_wire import code, post_token

S1, M0, E0, CWT = tf.TAG_SIGN1, tf.TAG_MAC0, tf.TAG_ENCRYPT0, tf.TAG_CWT
KID = {4: AS_KEY.kid}
CLAIMS = cbor2.dumps(claims())
P256_N = tf.P256_N
ED_L = 2 ** 252 + 27742317777372353535851937790883648493


def sign1(protected=None, unprotected=None, key=AS_KEY, tag=S1, payload=CLAIMS):
    return tf.craft(tag, key, payload, {1: key.alg} if protected is None else protected,
                    KID if unprotected is None else unprotected)


def with_signature(sig, key=AS_KEY):
    return tf.replace(valid_inner() if key is AS_KEY else sign1(key=key,
                                                               unprotected={4: key.kid}),
                      3, sig)


def rs_sig(r, s):
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def valid_sig():
    return tf.parts(valid_inner())[1][3]


def ed_high_s():
    """A valid Ed25519 signature with S + L in place of S (RFC 8032 §5.1.7: S < L)."""
    token = sign1(key=ED_KEY, unprotected={4: ED_KEY.kid})
    sig = tf.parts(token)[1][3]
    s = int.from_bytes(sig[32:], "little") + ED_L
    return tf.replace(token, 3, sig[:32] + s.to_bytes(32, "little"))


def public_key_as_hmac_secret():
    """RFC 8725 §2.1's alg confusion: the verifier's public key used as an HMAC secret."""
    return tf.symmetric_key(5, AS_KEY.kid, secret=AS_KEY.to_dict()[-2])


def encrypt0(protected=None, unprotected=None, payload=None):
    u = {4: RS_KEY.kid, 5: os.urandom(13)} if unprotected is None else unprotected
    return tf.craft(E0, RS_KEY, payload or valid_inner(),
                    {1: RS_KEY.alg} if protected is None else protected, u)


def with_iv(size):
    """A valid Encrypt0 whose IV is then replaced by one of `size` bytes."""
    return tf.replace(encrypt0(), 1, {4: RS_KEY.kid, 5: os.urandom(size)})


INNER = {  # hostile Sign1/Mac0 inside a valid Encrypt0 -> code
    "alg-confusion-mac0-public-key": (lambda: tf.craft(M0, public_key_as_hmac_secret(), CLAIMS,
                                                       {1: 5}, KID), "4.01"),
    "alg-confusion-mac0-tag-es256-alg": (lambda: tf.craft(M0, public_key_as_hmac_secret(),
                                                          CLAIMS, {1: -7}, KID), "4.01"),
    # Untagged, a nested layer is not a token (RFC 8392 §7.2): "claims" that are no map.
    "alg-confusion-untagged-mac": (lambda: tf.untag(tf.craft(M0, public_key_as_hmac_secret(),
                                                             CLAIMS, {1: -7}, KID)), "4.00"),
    "alg-unprotected": (lambda: sign1({}, {1: -7, 4: AS_KEY.kid}), "4.00"),
    "alg-missing": (lambda: sign1({}, KID), "4.00"),
    "alg-missing-empty-bstr": (lambda: sign1(b"", KID), "4.00"),
    "alg-eddsa-on-es256-kid": (lambda: sign1({1: -8}, KID, key=ED_KEY), "4.01"),
    "alg-hs256-on-es256-kid": (lambda: tf.craft(M0, MAC_KEY, CLAIMS, {1: 5}, KID), "4.01"),
    "alg-unknown": (lambda: sign1({1: -35}, KID), "4.01"),
    "alg-text": (lambda: sign1({1: "ES256"}, KID), "4.01"),
    "crit-unknown": (lambda: sign1({1: -7, 2: [99], 99: 1}), "4.00"),
    "crit-unprotected": (lambda: sign1({1: -7}, {2: [4], 4: AS_KEY.kid}), "4.00"),
    "crit-empty": (lambda: sign1({1: -7, 2: []}), "4.00"),
    "crit-label-absent": (lambda: sign1({1: -7, 2: [3]}), "4.00"),
    "crit-not-array": (lambda: sign1({1: -7, 2: 3, 3: 0}), "4.00"),
    "protected-duplicate-alg": (lambda: sign1(b"\xa2\x01\x26\x01\x26"), "4.00"),
    "protected-not-bstr": (lambda: tf.replace(valid_inner(), 0, {1: -7}), "4.00"),
    "protected-trailing-byte": (lambda: sign1(b"\xa1\x01\x26\x00"), "4.00"),
    "kid-in-both-buckets": (lambda: sign1({1: -7, 4: AS_KEY.kid}), "4.00"),
    "kid-text": (lambda: sign1(unprotected={4: "as-e2e"}), "4.00"),
    "kid-unknown": (lambda: sign1(unprotected={4: b"nobody"}), "4.01"),
    "kid-of-aes-key": (lambda: sign1(unprotected={4: RS_KEY.kid}), "4.01"),
    "kid-of-hmac-key": (lambda: sign1(unprotected={4: MAC_KEY.kid}), "4.01"),
    "kid-of-ed25519-key": (lambda: sign1(unprotected={4: ED_KEY.kid}), "4.01"),
    "tag-mac0-on-sign1": (lambda: tf.retag(valid_inner(), M0), "4.01"),
    "tag-encrypt0-on-sign1": (lambda: tf.retag(valid_inner(), E0), "4.01"),
    "tag-96-cose-encrypt": (lambda: tf.retag(valid_inner(), 96), "4.00"),
    "tag-98-cose-sign": (lambda: tf.retag(valid_inner(), 98), "4.00"),
    "tag-61-on-array": (lambda: tf.retag(valid_inner(), CWT), "4.00"),
    "tag-61-61": (lambda: tf.retag(valid_inner(), CWT, CWT, S1), "4.00"),
    "three-elements": (lambda: tf.rebuild([S1], tf.parts(valid_inner())[1][:3]), "4.00"),
    "five-elements": (lambda: tf.rebuild([S1], tf.parts(valid_inner())[1] + [b""]), "4.00"),
    "not-an-array": (lambda: cbor2.dumps(cbor2.CBORTag(S1, {1: 2})), "4.00"),
    "payload-nil-detached": (lambda: tf.replace(valid_inner(), 2, None), "4.00"),
    "signature-text": (lambda: tf.replace(valid_inner(), 3, "sig"), "4.00"),
    "nested-sign1-in-sign1": (lambda: tf.protect(valid_inner(), AS_KEY), "4.00"),
    "der-signature": (lambda: with_signature(tf.der_signature(valid_sig())), "4.01"),
    "short-signature": (lambda: with_signature(valid_sig()[:63]), "4.01"),
    "long-signature": (lambda: with_signature(valid_sig() + b"\x00"), "4.01"),
    "empty-signature": (lambda: with_signature(b""), "4.01"),
    "r-zero": (lambda: with_signature(rs_sig(0, 1)), "4.01"),
    "s-zero": (lambda: with_signature(rs_sig(1, 0)), "4.01"),
    "r-equals-n": (lambda: with_signature(rs_sig(P256_N, 1)), "4.01"),
    "s-equals-n": (lambda: with_signature(valid_sig()[:32] + P256_N.to_bytes(32, "big")), "4.01"),
    "s-plus-n": (lambda: with_signature(valid_sig()[:32] + (
        int.from_bytes(valid_sig()[32:], "big") + P256_N).to_bytes(33, "big")[-32:]), "4.01"),
    "r-all-ones": (lambda: with_signature(b"\xff" * 64), "4.01"),
    "ed25519-s-plus-l": (ed_high_s, "4.01"),
    "ed25519-zero-signature": (lambda: with_signature(bytes(64), ED_KEY), "4.01"),
    "hmac-tag-truncated": (lambda: tf.replace(tf.craft(M0, MAC_KEY, CLAIMS, {1: 5},
                                                       {4: MAC_KEY.kid}), 3, b"\x00" * 31),
                           "4.01"),
    "hmac-tag-flipped": (lambda: tf.flip(tf.craft(M0, MAC_KEY, CLAIMS, {1: 5},
                                                  {4: MAC_KEY.kid}), -1, 0), "4.01"),
}


@pytest.mark.parametrize("make,want", INNER.values(), ids=INNER.keys())
def test_hostile_inner_layer(peer, make, want):
    response = post_token(peer, sealed(make()))
    assert code(response.code) == want and response.payload == b""


OUTER = {  # hostile Encrypt0 around a valid Sign1 -> code
    "iv-12-bytes": (lambda: with_iv(12), "4.00"),
    "iv-14-bytes": (lambda: with_iv(14), "4.00"),
    "iv-7-bytes": (lambda: with_iv(7), "4.00"),
    "iv-missing": (lambda: tf.rebuild([E0], [cbor2.dumps({1: 10}), {4: RS_KEY.kid},
                                             os.urandom(200)]), "4.00"),
    "partial-iv": (lambda: encrypt0(unprotected={4: RS_KEY.kid, 5: os.urandom(13),
                                                 6: b"\x01"}), "4.00"),
    "ciphertext-shorter-than-tag": (lambda: tf.replace(encrypt0(), 2, b"\x00" * 7), "4.00"),
    "ciphertext-truncated": (lambda: tf.replace(encrypt0(), 2,
                                                tf.parts(encrypt0())[1][2][:-1]), "4.01"),
    "ciphertext-flipped": (lambda: tf.flip(encrypt0(), -1, 7), "4.01"),
    "alg-ccm-256-on-128-key": (lambda: encrypt0({1: 11}), "4.01"),
    "alg-ccm-16-128-on-64-key": (lambda: encrypt0({1: 30}), "4.01"),
    "alg-unprotected": (lambda: encrypt0({}, {1: 10, 4: RS_KEY.kid, 5: os.urandom(13)}), "4.00"),
    "kid-of-es256-key": (lambda: encrypt0(unprotected={4: AS_KEY.kid, 5: os.urandom(13)}),
                         "4.01"),
    "tag-sign1-on-encrypt0": (lambda: tf.retag(encrypt0(), S1), "4.01"),
    "tag-61-then-encrypt0": (lambda: tf.retag(encrypt0(), CWT, E0), "2.01"),
    "nested-two-levels": (lambda: encrypt0(payload=sealed(valid_inner())), "4.00"),
    # claims made now: a token issued before one the RS holds for its key is refused (iat)
    "claims-unsigned-in-encrypt0": (lambda: sealed(cbor2.dumps(claims())), "2.01"),
    "ciphertext-nil": (lambda: tf.replace(encrypt0(), 2, None), "4.00"),
    # No Encrypt0 at all: untagged, the ES256 key makes it a Sign1, and the HMAC is no signature.
    "alg-confusion-top-level": (lambda: tf.untag(tf.craft(M0, public_key_as_hmac_secret(),
                                                          CLAIMS, {1: -7}, KID)), "4.01"),
}


@pytest.mark.parametrize("make,want", OUTER.values(), ids=OUTER.keys())
def test_hostile_outer_layer(peer, make, want):
    response = post_token(peer, make())
    assert code(response.code) == want


@pytest.mark.parametrize("key", [AS_KEY, ED_KEY, MAC_KEY], ids=["es256", "eddsa", "hs256"])
def test_controls_each_trusted_key_verifies(peer, key):
    """The keys the cases above aim at are trusted: a well-formed token of each is accepted."""
    inner = tf.protect(claims(), key)
    assert code(post_token(peer, sealed(inner)).code) == "2.01"
