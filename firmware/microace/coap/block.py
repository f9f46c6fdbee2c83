"""Block-wise transfers (RFC 7959): Block1 reassembly of request bodies larger than one
datagram (§2.5), and the Block2 slicing of responses larger than one block (§2.4).

Access tokens posted to /authz-info can outgrow a datagram, so the client sends the body in
blocks, each a request of its own with a Block1 option (NUM, M more-flag, SZX size exponent).
The server answers 2.31 Continue to every block but the last, then hands the whole body to the
handler once. A transfer is matched by the remote endpoint, the method and the options that name
the target (Uri-*, OSCORE, Request-Tag; RFC 9175 §3.3) — not by the token, which may change
from block to block. The work a client can cause is bounded: the body size, the number of
transfers open at once, and how long an idle transfer is kept. The same Reassembler serves
plain requests (the server) and requests decrypted from OSCORE (the RS, RFC 8613 §4.1.3.4.1),
whose transfers are keyed by the security context instead of the address.

Block2 is stateless: each block request is answered from the whole response, made anew.
"""

import time

from microace.coap.codes import (
    BAD_OPTION,
    BAD_REQUEST,
    CONTINUE,
    REQUEST_ENTITY_INCOMPLETE,
    REQUEST_ENTITY_TOO_LARGE,
    SERVICE_UNAVAILABLE,
)
from microace.coap.message import Message, uint_decode, uint_encode
from microace.coap.options import (
    BLOCK1,
    BLOCK2,
    MAX_AGE,
    OSCORE,
    REQUEST_TAG,
    SIZE1,
    URI_HOST,
    URI_PATH,
    URI_PORT,
    URI_QUERY,
)

_TARGET = (URI_HOST, URI_PORT, OSCORE, URI_PATH, URI_QUERY, REQUEST_TAG)


def unpack(value):
    """A Block1/Block2 option value (bytes) -> (num, more, szx); the block size is 2**(szx+4)."""
    n = uint_decode(value)
    return n >> 4, n >> 3 & 1, n & 7


def pack(num, more, szx):
    """(num, more, szx) -> the Block1/Block2 option value (bytes)."""
    return uint_encode(num << 4 | more << 3 | szx)


def with_block1(response, value):
    """RFC 7959 §2.3: the final response to a Block1 upload carries the last block's Block1."""
    if value is None:
        return response
    return Message(response.code, response.payload, response.options + [(BLOCK1, value)])


def block2(response, value, max_szx):
    """The part of `response` a request with Block2 `value` (bytes, or None) gets (RFC 7959
    §2.4): the response itself when unasked and it fits in a block of 2**(max_szx+4); else
    that block, with Block2 (NUM, M, SZX). A larger SZX than max_szx is answered with the
    smaller blocks at the same offset (§2.4: "or a smaller size"). SZX 7 is 4.00 (reserved,
    RFC 8323 §6), a block past the end 4.02 (the option names nothing there)."""
    payload = response.payload
    if response.code >> 5 != 2:  # only a success carries a representation to slice
        return response
    if value is None:
        num, szx = 0, max_szx
        if len(payload) <= 1 << (szx + 4):
            return response
    else:
        num, _, szx = unpack(value)
        if szx == 7:
            return Message(BAD_REQUEST)
        if szx > max_szx:
            num <<= szx - max_szx
            szx = max_szx
    start = num << (szx + 4)
    end = start + (1 << (szx + 4))
    if start and start >= len(payload):
        return Message(BAD_OPTION)
    return Message(response.code, payload[start:end],
                   response.options + [(BLOCK2, pack(num, int(end < len(payload)), szx))])


class Reassembler:
    """Open Block1 transfers, each {key: [body buffer, bytes received, time of the last block]}."""

    def __init__(self, max_body=2048, max_transfers=2, timeout_ms=60_000, max_szx=6):
        self.max_body = max_body
        self.max_transfers = max_transfers
        self.timeout_ms = timeout_ms
        self.max_szx = max_szx  # the largest block size asked for in 2.31 (6: 1024 bytes)
        self._transfers = {}

    def feed(self, request, remote):
        """Take one request carrying Block1 -> (whole request, None) when the body is complete,
        else (None, reply) with 2.31 Continue or the error to send. Any error ends the transfer."""
        now = time.ticks_ms()
        self._expire(now)
        key = (remote, request.code) + tuple(o for o in request.options if o[0] in _TARGET)
        state = self._transfers.pop(key, None)
        num, more, szx = unpack(request.opt(BLOCK1))
        if szx == 7:  # reserved outside BERT over TCP (RFC 8323 §6)
            return None, Message(BAD_REQUEST)
        size = 1 << (szx + 4)
        payload = request.payload
        if len(payload) > size or (more and len(payload) != size):
            return None, Message(BAD_REQUEST)  # §2.2: only the last block may be short
        size1 = request.uint(SIZE1)
        offset = num * size
        if (size1 is not None and size1 > self.max_body) or offset + len(payload) > self.max_body:
            # §2.9.3 and §4: Size1 in a 4.13 tells the largest body this server takes.
            return None, Message(REQUEST_ENTITY_TOO_LARGE).add(SIZE1, self.max_body)
        if num == 0:
            if not more:  # the whole body in one block: nothing to keep
                return self._whole(request, request.payload), None
            if state is None and len(self._transfers) >= self.max_transfers:
                return None, Message(SERVICE_UNAVAILABLE).add(MAX_AGE, self._retry_after(now))
            # One buffer for the whole body, taken while the heap is not yet cut up by the
            # blocks that are on their way; the body is copied out of it once at the end.
            state = [bytearray(self.max_body), 0, now]
        elif state is None or offset != state[1]:
            return None, Message(REQUEST_ENTITY_INCOMPLETE)  # §2.9.2: a block is missing
        body = state[0]
        end = offset + len(payload)
        body[offset:end] = payload
        if not more:
            return self._whole(request, bytes(memoryview(body)[:end])), None
        state[1] = end
        state[2] = now
        self._transfers[key] = state
        # §2.3: acknowledge this block; a smaller SZX asks for smaller blocks from now on.
        return None, Message(CONTINUE).add(BLOCK1, pack(num, 1, min(szx, self.max_szx)))

    def _whole(self, request, body):
        """The request as the handler sees it: the whole body, no Block1 or Size1."""
        options = [o for o in request.options if o[0] != BLOCK1 and o[0] != SIZE1]
        return Message(request.code, body, options, request.token, request.type, request.mid)

    def clear(self):
        """Drop every open transfer (the server is out of heap to receive with)."""
        self._transfers.clear()

    def _expire(self, now):
        stale = [k for k, t in self._transfers.items()
                 if time.ticks_diff(now, t[2]) >= self.timeout_ms]
        for key in stale:
            del self._transfers[key]

    def _retry_after(self, now):
        """Seconds until the oldest open transfer times out (Max-Age of the 5.03)."""
        idle = max((time.ticks_diff(now, t[2]) for t in self._transfers.values()), default=0)
        return (self.timeout_ms - idle + 999) // 1000
