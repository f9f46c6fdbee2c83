"""Hostile POSTs to /authz-info (RFC 9200 §5.10.1, RFC 9203 §4.1): the request's shape, a
flood of valid tokens (the store stays bounded and keeps its used tokens), and an attacker
replaying a client's POST (the client's live context must survive)."""

import os

import cbor2
import pytest

from tests.support import tokenfactory as tf
from tests.support.rs_peer import Peer, Session, claims, mint
from tests.hostile.rs_setup import LIMITS, SCRATCH
from tests.support.coap_wire import (GET, NON, PUT, answer, authz_body, authz_datagram, code,
                                     datagram, path, reply)

TOKEN = mint(claims())  # valid: each case below fails on the request around it


@pytest.mark.parametrize("content_format", [None, 0, 50, 60, 65535],
                         ids=["none", "text", "json", "cbor", "max"])
def test_wrong_content_format_is_4_00(peer, content_format):
    assert code(reply(peer, authz_datagram(authz_body(TOKEN),
                                           content_format)).code) == "4.00"


BODIES = {
    "unknown-key": {1: TOKEN, 40: os.urandom(8), 43: b"\x01", 99: 0},
    "unknown-key-instead": {1: TOKEN, 40: os.urandom(8), 44: b"\x01"},
    "text-keys": {"access_token": TOKEN, "nonce1": os.urandom(8),
                  "ace_client_recipientid": b"\x01"},
    "token-missing": {40: os.urandom(8), 43: b"\x01"},
    "token-text": {1: TOKEN.hex(), 40: os.urandom(8), 43: b"\x01"},
    "token-tagged-bstr": {1: cbor2.CBORTag(24, TOKEN), 40: os.urandom(8), 43: b"\x01"},
    "nonce1-empty": {1: TOKEN, 40: b"", 43: b"\x01"},
    "nonce1-65-bytes": {1: TOKEN, 40: os.urandom(65), 43: b"\x01"},
    "nonce1-int": {1: TOKEN, 40: 12345678, 43: b"\x01"},
    "recipient-id-8-bytes": {1: TOKEN, 40: os.urandom(8), 43: bytes(8)},
    "recipient-id-64-bytes": {1: TOKEN, 40: os.urandom(8), 43: bytes(64)},
    "recipient-id-text": {1: TOKEN, 40: os.urandom(8), 43: "\x01"},
    "not-a-map": [TOKEN, os.urandom(8), b"\x01"],
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_malformed_request_is_4_00(peer, body):
    assert code(reply(peer, authz_datagram(cbor2.dumps(body))).code) == "4.00"


def test_trailing_bytes_after_the_body_are_4_00(peer):
    assert code(reply(peer, authz_datagram(authz_body(TOKEN) + b"\x00")).code) == "4.00"


def test_body_too_large_is_4_13(peer):
    body = authz_body(os.urandom(1100))
    assert code(reply(peer, authz_datagram(body)).code) == "4.13"


@pytest.mark.parametrize("method", [GET, PUT, 4, 5, 31], ids=["get", "put", "delete", "fetch",
                                                              "code-0.31"])
def test_other_methods_are_4_05(peer, method):
    response = reply(peer, datagram(method, path("authz-info"), authz_body(TOKEN)))
    assert code(response.code) == "4.05"


def test_non_post_gets_a_non_answer(peer):
    raw = answer(peer, authz_datagram(authz_body(mint(claims())), mtype=NON))
    assert raw is not None and raw[0] >> 4 & 3 == NON and code(raw[1]) == "2.01"


def test_flood_of_valid_tokens_keeps_the_store_bounded_and_the_used_tokens(peer, rs):
    """Far more valid, never-used tokens than the store holds: each is taken by evicting a
    never-used one, the used contexts (the live client's, this test's) are kept."""
    used = Session(peer, claims(osc_id=SCRATCH), client_id=b"\x42")
    assert code(used.call(GET, "/temp")[1].code) == "2.05"
    for i in range(3 * LIMITS["max_tokens"]):
        assert code(reply(peer, authz_datagram(authz_body(mint(claims(
            osc_id=b"f%d" % i))))).code) == "2.01"
    assert code(used.call(GET, "/temp")[1].code) == "2.05"


def test_replayed_post_does_not_kill_the_clients_live_context(peer, rs):
    """RFC 9203 §4.1 lets a client re-post its token to get a new context; an attacker can
    replay the (unprotected) POST too. The client's context must keep working: a new context
    from a re-post replaces it only once the new context has verified a request."""
    token_claims = claims(osc_id=SCRATCH)
    victim = Session(peer, token_claims, client_id=b"\x43")
    assert code(victim.call(GET, "/temp")[1].code) == "2.05"
    attacker = Peer(rs)
    try:
        for client_id in (b"\x43", b"\x66"):
            response = reply(attacker, authz_datagram(authz_body(victim.token,
                                                                 client_id=client_id)))
            assert code(response.code) == "2.01"  # a context no one can use (no ms)
            assert code(victim.call(GET, "/temp")[1].code) == "2.05"
    finally:
        attacker.close()
    # The client itself re-posts: its new context works, and then the old one is retired.
    again = Session(peer, token_claims, victim.token, client_id=b"\x43")
    assert code(again.call(GET, "/temp")[1].code) == "2.05"
    assert code(victim.call(GET, "/temp")[0].code) == "4.01"


def long_heads(token):
    """The same COSE array with its ciphertext's byte-string head in the 4-byte long form
    (RFC 8949 §3: valid CBOR, another encoding): the AEAD covers neither head nor tags."""
    tags, array = tf.parts(token)
    out = b"".join(cbor2.dumps(cbor2.CBORTag(t, None))[:-1] for t in tags)  # the tag heads
    ciphertext = array[2]
    return (out + b"\x83" + cbor2.dumps(array[0]) + cbor2.dumps(array[1]) + b"\x5a"
            + len(ciphertext).to_bytes(4, "big") + ciphertext)


def extra_label(token):
    """The same token with one more unprotected header parameter (not covered by the AEAD)."""
    unprotected = dict(tf.parts(token)[1][1])
    unprotected[-65000] = b"x"
    return tf.replace(token, 1, unprotected)


def test_reposts_of_a_fresh_token_do_not_kill_the_clients_context(peer, rs):
    """RFC 9203 §4.1, §4.3: a third party re-posting a stored, never-used token, as it is or
    re-encoded, gets a context nobody can use; the client's fresh context keeps working. The
    token is known by its verified claims, and re-posts wait beside the context they would
    replace until one of them verifies a request."""
    token_claims = claims(osc_id=SCRATCH)
    victim = Session(peer, token_claims, client_id=b"\x44")  # posted, not used yet
    attacker = Peer(rs)
    try:
        for token in (victim.token, long_heads(victim.token), extra_label(victim.token)):
            assert code(reply(attacker, authz_datagram(authz_body(token,
                                                                  client_id=b"\x44"))).code) \
                == "2.01"
        # The client re-posts too (say its 2.01 was lost); two more re-posts by the attacker.
        again = Session(peer, token_claims, victim.token, client_id=b"\x45")
        for token in (long_heads(victim.token), victim.token):
            assert code(reply(attacker, authz_datagram(authz_body(token))).code) == "2.01"
    finally:
        attacker.close()
    assert code(again.call(GET, "/temp")[1].code) == "2.05"
    assert code(victim.call(GET, "/temp")[0].code) == "4.01"  # the verified one took over
