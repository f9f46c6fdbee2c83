"""Hostile CoAP datagrams (RFC 7252): each gets the exact answer of DESIGN.md's table — RST for
a malformed CON whose Message ID is readable, silence for everything else malformed — and the
RS keeps serving (conftest.still_serving)."""

import pytest
from aiocoap.message import Message

from tests.support.coap_wire import GET, NON, POST, answer, code, datagram, path, reply, rst

M = 0x1234  # the Message ID of the hand-made datagrams below


def head(first, code_=GET, message_id=M):
    return bytes((first, code_, message_id >> 8, message_id & 0xFF))


MALFORMED_CON = {  # -> RST with the datagram's Message ID (§4.2)
    "truncated-token": head(0x44) + b"\x01\x02",  # TKL 4, two token bytes
    "tkl-9": head(0x49) + bytes(9),
    "tkl-12": head(0x4C) + bytes(12),
    "tkl-15": head(0x4F) + bytes(15),
    "delta-nibble-15": head(0x40) + b"\xf1\x00",  # delta 15 without length 15 (§3.1)
    "length-nibble-15": head(0x40) + b"\xbf",  # Uri-Path with length nibble 15
    "option-past-end": head(0x40) + b"\xb5te",  # Uri-Path of 5 bytes, 2 there
    "ext-delta-past-end": head(0x40) + b"\xd0",  # delta 13 needs one more byte
    "ext-length-past-end": head(0x40) + b"\xbe\x01",  # length 14 needs two more bytes
    "option-number-above-65535": head(0x40) + b"\xe0\xff\xff" * 2,
    "marker-without-payload": head(0x40) + b"\xb4temp\xff",
    "empty-with-token": head(0x41, 0) + b"\x01",
    "empty-with-payload": head(0x40, 0) + b"\xff\x01",
    "empty-with-option": head(0x40, 0) + b"\xb1a",
    "reserved-class-1": head(0x40, 0x21),
    "reserved-class-6": head(0x40, 0xC0),
    "reserved-class-7": head(0x40, 0xFF),
    "response-code-in-request": head(0x40, 0x45),
    "ping": head(0x40, 0),  # a CON Empty is a ping: RST is its answer (§4.3)
}

SILENT = {  # -> nothing at all
    "3-bytes": b"\x40\x01\x12",
    "1-byte": b"\x40",
    "empty-datagram": b"",
    "version-0": head(0x00),
    "version-2": head(0x80),
    "version-3": head(0xC0) + b"\xb4temp",
    "non-tkl-9": head(0x59) + bytes(9),
    "non-option-past-end": head(0x50) + b"\xb5te",
    "non-marker-without-payload": head(0x50) + b"\xff",
    "non-reserved-class": head(0x50, 0x21),
    "ack-from-client": head(0x60, 0x45),
    "rst-from-client": head(0x70, 0),
    "non-unknown-critical-option": datagram(GET, path("temp") + [(65001, b"x")], mtype=NON),
}


@pytest.mark.parametrize("data", MALFORMED_CON.values(), ids=MALFORMED_CON.keys())
def test_malformed_con_gets_rst(peer, data):
    assert answer(peer, data) == rst(M)


@pytest.mark.parametrize("data", SILENT.values(), ids=SILENT.keys())
def test_malformed_non_and_foreign_messages_are_dropped(peer, data):
    assert answer(peer, data) is None


BAD_OPTIONS = {  # -> 4.02 Bad Option (§5.4.1, §5.4.3, §5.4.5)
    "unknown-critical": [(65001, b"x")],
    "if-match": [(1, b"\x01")],
    "proxy-uri": [(35, b"coap://other.example/")],
    "uri-port-3-bytes": [(7, b"\x00\x16\x33")],
    "block1-4-bytes": [(27, b"\x00\x00\x00\x08")],
    "uri-host-repeated": [(3, b"a"), (3, b"b")],
    "uri-host-empty": [(3, b"")],
    "oscore-repeated": [(9, b"\x09\x01\x7f"), (9, b"\x09\x01\x7f")],
}


@pytest.mark.parametrize("options", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_unprocessable_critical_option_is_4_02(peer, options):
    response = reply(peer, datagram(GET, path("temp") + options, payload=b"x" * 40))
    assert code(response.code) == "4.02" and response.payload == b""


def test_unknown_elective_option_is_ignored(peer):
    response = reply(peer, datagram(GET, path("temp") + [(65000, b"x")], payload=bytes(96)))
    assert code(response.code) == "4.01" and response.payload  # the hints: it was served


@pytest.mark.parametrize("size", [1281, 1500, 4096, 65000], ids=lambda n: "%d-bytes" % n)
def test_oversized_datagram_is_4_13_with_size1(peer, size):
    data = datagram(POST, path("authz-info"), b"\xa0" * size)
    response = reply(peer, data)
    assert code(response.code) == "4.13" and response.opt.size1 == 2048


def test_oversized_non_gets_a_non_4_13(peer):
    data = datagram(POST, path("authz-info"), bytes(2000), mtype=NON)
    response = Message.decode(answer(peer, data))
    assert response.mtype == NON and code(response.code) == "4.13"


def test_uri_path_with_invalid_utf8_is_4_00_or_hints(peer):
    # Unprotected: the RS answers 4.01 (no path to a resource without a token) or 4.00 when
    # it cannot read the path; never more, never a crash.
    response = reply(peer, datagram(GET, [(11, b"\xff\xfe")], payload=bytes(96)))
    assert code(response.code) in ("4.00", "4.01")


def test_duplicate_with_another_remote_is_a_new_exchange(peer, rs):
    from tests.support.rs_peer import Peer

    data = datagram(GET, path("temp"), payload=bytes(96))
    first = reply(peer, data)
    other = Peer(rs)
    try:
        assert code(reply(other, data).code) == code(first.code)
    finally:
        other.close()
