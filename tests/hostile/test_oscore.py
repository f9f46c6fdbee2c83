"""Hostile OSCORE requests (RFC 8613 §8.2): replays, a forged high Partial IV, malformed
OSCORE options, unknown contexts. None may move the replay window or touch the context: a
request the client protected before the attack is still accepted after it."""

import pytest

from tests.support.rs_peer import Session, claims
from tests.hostile.rs_setup import SCRATCH
from tests.support.coap_wire import code

GET = 1


@pytest.fixture
def client(peer):
    s = Session(peer, claims(osc_id=SCRATCH), client_id=b"\x35")
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    return s


def send(client, outer, option=None, payload=None):
    """Send a (modified) protected request as it is -> the plain response."""
    if option is not None:
        outer.opt.oscore = option
    if payload is not None:
        outer.payload = payload
    response = client.peer.request(outer)
    assert response.opt.oscore is None  # an error of the unverified request, never protected
    return response


def flags_piv_kid(option):
    n = option[0] & 7
    return option[0], option[1:1 + n], option[1 + n:]


def assert_window_intact(client, held):
    """`held`: a request protected before the attack, never sent: its Partial IV is new."""
    response, inner = client.send(*held)
    assert code(inner.code) == "2.05"


def test_replay_is_4_01(client):
    outer, request_id = client.protect(GET, "/temp")
    held = client.protect(GET, "/temp")
    assert code(client.send(outer, request_id)[1].code) == "2.05"
    for _ in range(3):
        assert code(send(client, outer).code) == "4.01"
    assert_window_intact(client, held)


def test_replay_below_the_window_is_4_01(client):
    first = client.protect(GET, "/temp")
    assert code(client.send(*first)[1].code) == "2.05"
    for _ in range(33):  # the window is 32 wide
        client.call(GET, "/temp")
    assert code(send(client, first[0]).code) == "4.01"


@pytest.mark.parametrize("piv", [b"\xff" * 5, b"\x01\x00\x00\x00\x00", b"\x00\x00\x00\x40"],
                         ids=["2^40-1", "2^32", "64"])
def test_forged_high_partial_iv_does_not_move_the_window(client, piv):
    held = client.protect(GET, "/temp")
    outer, _ = client.protect(GET, "/temp")
    flags, _, kid = flags_piv_kid(outer.opt.oscore)
    option = bytes(((flags & ~7) | len(piv),)) + piv + kid
    assert code(send(client, outer, option).code) == "4.00"  # it does not decrypt
    assert_window_intact(client, held)


def test_tampered_ciphertext_does_not_burn_its_partial_iv(client):
    outer, request_id = client.protect(GET, "/temp")
    good = outer.payload
    assert code(send(client, outer, payload=good[:-1] + bytes((good[-1] ^ 1,))).code) == "4.00"
    outer.payload = good
    assert code(client.send(outer, request_id)[1].code) == "2.05"


def option_cases():
    """OSCORE option values built from a real one (flags, piv, kid) -> 4.02."""
    return {
        "reserved-bit-5": lambda f, p, k: bytes((f | 0x20,)) + p + k,
        "reserved-bit-6": lambda f, p, k: bytes((f | 0x40,)) + p + k,
        "reserved-bit-7": lambda f, p, k: bytes((f | 0x80,)) + p + k,
        "piv-length-6": lambda f, p, k: bytes(((f & ~7) | 6,)) + bytes(6) + k,
        "piv-length-7": lambda f, p, k: bytes(((f & ~7) | 7,)) + bytes(7) + k,
        "piv-truncated": lambda f, p, k: bytes(((f & ~0x0F) | 3,)) + p[:1],
        "kid-missing": lambda f, p, k: bytes((f & ~0x08,)) + p,
        "piv-missing": lambda f, p, k: bytes((f & ~7,)) + k,
        "empty-option": lambda f, p, k: b"",
        "bytes-after-fields": lambda f, p, k: bytes((f & ~0x08,)) + p + b"\x00",
        "kid-context-truncated": lambda f, p, k: bytes((f | 0x10,)) + p + b"\x05\x01",
        "kid-context-no-length": lambda f, p, k: bytes(((f | 0x10) & ~0x08,)) + p,
    }


@pytest.mark.parametrize("build", option_cases().values(), ids=option_cases().keys())
def test_malformed_oscore_option_is_4_02(client, build):
    held = client.protect(GET, "/temp")
    outer, _ = client.protect(GET, "/temp")
    assert code(send(client, outer, build(*flags_piv_kid(outer.opt.oscore))).code) == "4.02"
    assert_window_intact(client, held)


@pytest.mark.parametrize("payload", [b"", b"\x01" * 8], ids=["no-payload", "8-bytes"])
def test_ciphertext_too_short_is_4_02(client, payload):
    outer, _ = client.protect(GET, "/temp")
    outer.payload = payload
    assert code(client.peer.request(outer).code) == "4.02"


@pytest.mark.parametrize("kid", [b"\xee", b"", b"\x01\x02\x03\x04\x05\x06\x07\x08"],
                         ids=["unknown", "empty", "8-bytes"])
def test_unknown_context_is_4_01(client, kid):
    outer, _ = client.protect(GET, "/temp")
    flags, piv, _ = flags_piv_kid(outer.opt.oscore)
    assert code(send(client, outer, bytes((flags,)) + piv + kid).code) == "4.01"


def test_kid_context_no_context_has_is_4_01(client):
    outer, _ = client.protect(GET, "/temp")
    flags, piv, kid = flags_piv_kid(outer.opt.oscore)
    assert code(send(client, outer, bytes((flags | 0x10,)) + piv + b"\x02ab" + kid).code) == "4.01"


def test_ciphertext_of_another_context_is_4_00(client, peer):
    other = Session(peer, claims(osc_id=b"osc2"), client_id=b"\x36")
    for _ in range(40):  # a Partial IV above any the client's context has seen
        other.protect(GET, "/temp")
    outer, _ = other.protect(GET, "/temp")
    flags, piv, _ = flags_piv_kid(outer.opt.oscore)
    kid = flags_piv_kid(client.protect(GET, "/temp")[0].opt.oscore)[2]
    assert code(send(client, outer, bytes((flags,)) + piv + kid).code) == "4.00"
    assert code(other.call(GET, "/temp")[1].code) == "2.05"


@pytest.mark.parametrize("method,path", [(GET, "temp"), (3, "led"), (3, "config")])
def test_unprotected_request_to_a_protected_resource_is_4_01(peer, method, path):
    from aiocoap.message import Message

    response = peer.request(Message(code=method, uri_path=(path,)))
    assert code(response.code) == "4.01"
