"""Raw datagrams for the hostile-input catalogue, and the one way each case is judged: send
the datagram, then a CON ping as a sentinel. The RS handles datagrams in order, so the first
datagram back is the case's answer, or the ping's RST when the RS stayed silent — no sleeps."""

import itertools
import os
import struct

import cbor2
from aiocoap.message import Message

CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST, PUT = 1, 2, 3
URI_PATH, CONTENT_FORMAT, BLOCK1, SIZE1, REQUEST_TAG = 11, 12, 27, 60, 292
ACE_CBOR = 19

_mids = itertools.count(int.from_bytes(os.urandom(2), "big"))


def mid():
    return next(_mids) & 0xFFFF


def code(c):
    """0x81 -> "4.01"."""
    return "%d.%02d" % (c >> 5, c & 31)


def rst(message_id):
    return bytes((0x70, 0, message_id >> 8, message_id & 0xFF))


def option_bytes(options):
    """[(number, value bytes)] in ascending order -> the RFC 7252 §3.1 option encoding."""
    out, last = bytearray(), 0
    for number, value in options:
        delta, size = number - last, len(value)
        head, ext = 0, bytearray()
        for shift, n in ((4, delta), (0, size)):
            if n < 13:
                head |= n << shift
            elif n < 269:
                head |= 13 << shift
                ext.append(n - 13)
            else:
                head |= 14 << shift
                ext += struct.pack(">H", n - 269)
        out.append(head)
        out += ext + value
        last = number
    return bytes(out)


def datagram(code_, options=(), payload=b"", token=b"\x01\x02", mtype=CON):
    """A request datagram built by hand (options sorted here, repeats kept in order)."""
    message_id = mid()
    head = bytes((0x40 | mtype << 4 | len(token), code_, message_id >> 8, message_id & 0xFF))
    body = option_bytes(sorted(options, key=lambda o: o[0]))
    return head + token + body + (b"\xff" + payload if payload else b"")


def path(*segments):
    return [(URI_PATH, s.encode()) for s in segments]


def uint(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def answer(peer, data):
    """Send `data` -> the datagram the RS answered it with, or None for silence."""
    sentinel = mid()
    peer.sock.sendto(data, peer.rs.address)
    peer.sock.sendto(bytes((0x40, 0, sentinel >> 8, sentinel & 0xFF)), peer.rs.address)
    first = peer.sock.recv(2048)
    if first == rst(sentinel):
        return None
    assert peer.sock.recv(2048) == rst(sentinel), "more than one answer to one datagram"
    return first


def reply(peer, data):
    """answer() decoded; fails on silence. The response echoes the request's token (§5.3.2)
    and, for a CON, is its piggy-backed ACK (§5.2.1)."""
    raw = answer(peer, data)
    assert raw is not None, "the RS stayed silent"
    response = Message.decode(raw)
    tkl = data[0] & 0x0F
    assert response.token == data[4:4 + tkl]
    if data[0] >> 4 & 3 == CON:
        assert response.mtype == ACK and response.mid == data[2] << 8 | data[3]
    return response


def authz_body(token, client_id=b"\x21"):
    return cbor2.dumps({1: token, 40: os.urandom(8), 43: client_id})


def authz_datagram(payload, content_format=ACE_CBOR, mtype=CON):
    options = path("authz-info")
    if content_format is not None:
        options.append((CONTENT_FORMAT, uint(content_format)))
    return datagram(POST, options, payload, mtype=mtype)


def post_token(peer, token, **kw):
    """POST a token to /authz-info as a raw datagram -> the decoded response."""
    return reply(peer, authz_datagram(authz_body(token, **kw)))
