"""Amplification (RFC 9175 §2.4): until a request is verified (OSCORE), the RS answers with at
most 3x the request datagram, whatever it answers. The rule lives in one place, the server's
send path (coap/server.py): an over-budget response goes out as its code alone. Error responses
to unverified requests never carry a diagnostic payload (rs.py): a reason is an oracle."""

import os

import cbor2
import pytest
from aiocoap.message import Message

from tests.support.rs_peer import AS_URI, AUDIENCE, Session, claims, mint
from tests.hostile.rs_setup import SCRATCH
from tests.support.coap_wire import (BLOCK1, GET, POST, answer, authz_body, authz_datagram, code,
                                     datagram, mid, path, reply, uint)

WELL_KNOWN = path(".well-known", "core")


def unverified_requests():
    """Every kind of unverified response the RS gives, by the smallest request for it."""
    token = mint(claims())
    return {
        "ping-rst": bytes((0x40, 0, 1, 2)),
        "malformed-rst": bytes((0x40, 1, 1, 3, 0xFF)),
        "hints-4.01-no-token": datagram(GET, token=b""),
        "hints-4.01-path": datagram(GET, path("temp"), token=b""),
        "hints-4.01-8-byte-token": datagram(GET, path("temp"), token=bytes(8)),
        "bad-option-4.02": datagram(GET, [(65001, b"")], token=b""),
        "method-4.05": datagram(GET, path("authz-info"), token=b""),
        "authz-4.00": datagram(POST, path("authz-info"), b"\xa0", token=b""),
        "authz-4.00-no-content-format": datagram(POST, path("authz-info"), b"x", token=b""),
        "authz-4.01": authz_datagram(authz_body(mint(claims(lifetime=-10)))),
        "authz-4.03": authz_datagram(authz_body(mint(claims(aud="coap://rs2.example")))),
        "authz-4.13": authz_datagram(authz_body(os.urandom(1100))),
        "authz-2.01": authz_datagram(authz_body(token)),
        "oversized-4.13": datagram(POST, path("authz-info"), bytes(1300), token=b""),
        "block-2.31": datagram(POST, path("authz-info") + [(BLOCK1, uint(0x08))], bytes(16),
                               token=b""),
        "block-4.08": datagram(POST, path("authz-info") + [(BLOCK1, uint(0x30))], b"x",
                               token=b""),
        "block-4.13": datagram(POST, path("authz-info") + [(BLOCK1, b"\xff\xff\xf8")],
                               bytes(16), token=b""),
        "well-known-core-2.05": datagram(GET, WELL_KNOWN, token=b""),
        "well-known-core-4.05": datagram(POST, WELL_KNOWN, token=b""),
        "oscore-4.02": datagram(GET, [(9, b"\x20")], b"x" * 9, token=b""),
        "oscore-4.01-unknown-context": datagram(GET, [(9, b"\x09\x00\xee")], b"x" * 9,
                                                token=b""),
    }


REQUESTS = unverified_requests()


@pytest.mark.parametrize("data", REQUESTS.values(), ids=REQUESTS.keys())
def test_unverified_response_is_at_most_3x_the_request(peer, data):
    raw = answer(peer, data)
    assert raw is not None
    assert len(raw) <= 3 * len(data), (len(raw), len(data))
    response = Message.decode(raw)
    if response.code == 0x5F:  # 2.31: end the transfer with a wrong block (the table is small)
        end = datagram(POST, path("authz-info") + [(BLOCK1, uint(0x50))], b"x", token=b"")
        assert code(reply(peer, end).code) == "4.08"
    if response.code >= 0x80:  # an error: no reason; a payload only as hints (ace+cbor)
        assert response.payload == b"" or response.opt.content_format == 19


def test_small_probe_gets_a_bare_4_01_and_a_padded_one_the_hints(peer):
    bare = reply(peer, datagram(GET, path("temp"), token=b"\x01"))
    assert code(bare.code) == "4.01" and bare.payload == b"" and not list(bare.opt.option_list())
    padded = reply(peer, datagram(GET, path("temp"), bytes(96), token=b"\x01"))
    assert code(padded.code) == "4.01" and padded.opt.content_format == 19
    assert cbor2.loads(padded.payload) == {1: AS_URI, 5: AUDIENCE}  # RFC 9200 §5.3


def test_unknown_context_gets_hints_when_they_fit(peer):
    s = Session(peer, claims(osc_id=SCRATCH), client_id=b"\x37")
    outer, _ = s.protect(GET, "/temp", b"x" * 40)
    outer.opt.oscore = outer.opt.oscore[:-1] + b"\xee"
    response = peer.request(outer)
    assert code(response.code) == "4.01" and cbor2.loads(response.payload)[5] == AUDIENCE


def test_errors_carry_no_diagnostic_payload(peer):
    for token in (mint(claims(lifetime=-10)), mint(claims(aud="x")), b"junk"):
        response = reply(peer, authz_datagram(authz_body(token)))
        assert code(response.code) in ("4.00", "4.01", "4.03") and response.payload == b""


def test_short_duplicate_does_not_get_the_cached_response(peer):
    """A forged duplicate (the victim's address and Message ID, a 4-byte datagram) would get
    the cached 2.01 of a large POST; it gets nothing, while the real retransmission does."""
    message_id = mid()
    post = authz_datagram(authz_body(mint(claims())))
    post = post[:2] + bytes((message_id >> 8, message_id & 0xFF)) + post[4:]
    first = answer(peer, post)
    assert code(first[1]) == "2.01"
    short = bytes((0x40, GET, message_id >> 8, message_id & 0xFF))
    assert 3 * len(short) < len(first)
    assert answer(peer, short) is None
    assert answer(peer, post) == first


def test_5_03_for_a_full_block1_table_is_within_3x(peer, rs):
    from tests.support.rs_peer import Peer

    def block(num, more, payload):
        return datagram(POST, path("authz-info") + [(BLOCK1, uint(num << 4 | more << 3))],
                        payload, token=b"")

    holders = [Peer(rs), Peer(rs)]
    try:
        for p in holders:
            assert code(reply(p, block(0, 1, bytes(16))).code) == "2.31"
        data = block(0, 1, bytes(16))
        raw = answer(peer, data)
        assert code(raw[1]) == "5.03" and len(raw) <= 3 * len(data)
    finally:
        for p in holders:  # a wrong block ends each transfer
            assert code(reply(p, block(5, 0, b"x")).code) == "4.08"
            p.close()
