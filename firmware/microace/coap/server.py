"""A CoAP server (RFC 7252) on one UDP socket under asyncio.

The handler gets each request once, whole, and returns the response; requests are handled one
at a time, in the order they arrive:

    async def handler(request, remote) -> Message   # or a plain function
        return Message(codes.CONTENT, b"21.5").add(options.CONTENT_FORMAT, formats.TEXT_PLAIN)

`remote` is the client's address as the socket gives it (opaque, hashable). The server fills
in the response's type, message ID and token, and in order before the handler:
  - drops datagrams it cannot use: a malformed CON gets a RST, anything else malformed is
    ignored; ACK, RST and responses from clients are ignored, a CON ping (0.00) gets a RST;
  - answers a duplicate (same remote and message ID) from the dedup cache (§4.5);
  - answers 4.13 with Size1 to a datagram over 1280 bytes (the body must come block-wise);
  - answers 4.02 to a CON request with a critical option neither it nor the handler understands
    (§5.4.1; such a NON is rejected silently);
  - reassembles Block1 uploads (block.py), answering 2.31 until the body is whole;
  - answers GET /.well-known/core (RFC 6690) from the links registered with add_link(),
    4.06 to an Accept other than link-format, block-wise when asked or larger than a block
    (RFC 7959 §2.4); a request carrying an OSCORE option goes to the handler, on any path.
Amplification (RFC 9175 §2.4): a response that is not OSCORE-protected answers a client whose
address nobody verified, so it is at most 3x the request datagram: a larger one goes out as its
code alone, and a duplicate's cached response is not resent to a datagram a third its size.
A handler that raises gets 5.00, its traceback goes to the console. Running out of heap is not
a bug but load: the request gets 5.03 with Max-Age (RFC 7252 §5.9.3.4: retry after a second),
the console one line, and the heap a collection; a block kept in reserve for receiving means
a heap in pieces never leaves the server deaf. Nothing raises out of the loop: every datagram
is handled inside a catch-all, and the counters say what happened.
"""

import asyncio
import gc
import os
import socket
import sys

from micropython import const

from microace.coap import codes
from microace.coap.block import Reassembler, block2, with_block1
from microace.coap.dedup import Dedup
from microace.coap.formats import LINK_FORMAT
from microace.coap.message import ACK, CON, NON, Message, decode, encode
from microace.coap.options import (
    ACCEPT,
    BLOCK1,
    BLOCK2,
    CONTENT_FORMAT,
    MAX_AGE,
    OSCORE,
    SIZE1,
    URI_HOST,
    URI_PATH,
    URI_PORT,
)
from microace.coap.option_rules import first_bad, rule
from microace.errors import DecodeError

_DATAGRAM = const(1280)  # the largest datagram taken (IPv6 minimum MTU); 1024-byte blocks fit
_AMPLIFICATION = const(3)  # RFC 9175 §2.4: unverified responses at most 3x the request
_RETRY_AFTER = const(1)  # Max-Age of a 5.03 for lack of heap: a collection frees it
_WELL_KNOWN = [b".well-known", b"core"]

# Critical options the server processes besides the request rules (option_rules.py), with
# their value lengths and whether they may repeat: Uri-Host and Uri-Port name this server; one
# virtual host
# accepts any value.
_UNDERSTOOD = {URI_HOST: rule(1, 255), URI_PORT: rule(0, 2)}


async def _readable(sock):
    """Wait until the socket has a datagram: asyncio's I/O queue, the one place that knows it."""
    yield asyncio.core._io_queue.queue_read(sock)


class Server:
    """Serve `handler` on `bind` (host, port). `critical`: the critical option numbers the
    handler processes itself (e.g. options.OSCORE); the rest are answered 4.02."""

    def __init__(self, handler, bind=("127.0.0.1", 5683), critical=(), dedup=None,
                 blocks=None):
        self.handler = handler
        self.bind = bind
        self.understood = critical
        self.dedup = dedup or Dedup()
        self.blocks = blocks or Reassembler()
        self.links = []  # [(path, attributes)] for /.well-known/core
        self.sock = None
        self._reserve = None  # see serve()
        self._mid = int.from_bytes(os.urandom(2), "big")
        # What happened to the datagrams received:
        self.received = 0
        self.malformed = 0  # not a CoAP message: RST for a CON, else dropped
        self.ignored = 0  # ACK, RST, pings, responses, rejected NON
        self.duplicates = 0  # answered from the dedup cache
        self.errors = 0  # the handler or the server raised (5.00 or nothing sent)
        self.out_of_memory = 0  # a MemoryError: 5.03, or dropped when it struck outside

    def add_link(self, path, attributes=""):
        """List a resource in /.well-known/core: add_link("/temp", 'rt="temperature";ct=0')."""
        self.links.append((path, attributes))

    def open(self):
        """Bind the socket now (serve() does it when needed), so a taken port fails early."""
        if self.sock is None:
            host, port = self.bind
            family, _, _, _, address = socket.getaddrinfo(host, port)[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind(address)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            self.sock = sock
            self._reserve = bytearray(_DATAGRAM + 1)  # at start, while the heap is whole

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self._reserve = None

    async def serve(self):
        """Answer datagrams until cancelled."""
        self.open()
        sock = self.sock
        # Each receive needs one free block of _DATAGRAM + 1 bytes (no recvfrom_into here).
        # A heap cut into smaller pieces would leave the server deaf for good, so open() takes
        # a block that size, to give up when a receive fails.
        try:
            while True:
                await _readable(sock)
                data = out = None
                try:
                    try:
                        data, remote = sock.recvfrom(_DATAGRAM + 1)
                    except MemoryError:
                        # Receiving comes first: the reserve goes, and so do open Block1
                        # uploads (their buffers expire only when a block arrives, which
                        # a server that cannot receive never sees); their clients restart.
                        self._reserve = None
                        self.blocks.clear()
                        gc.collect()
                        data, remote = sock.recvfrom(_DATAGRAM + 1)
                    out = self.datagram(data, remote)
                    if out is not None and type(out) is not bytes:  # an async handler
                        out = await out
                    if out:
                        sock.sendto(out, remote)
                except OSError:  # nothing there after all, ICMP errors, a full send buffer
                    pass
                except Exception as e:  # the loop must survive anything
                    self._report(e)
                    if data is None:  # no room even to receive it: drop it, do not spin
                        try:
                            sock.recv(1)
                        except Exception:
                            pass
                if self._reserve is None:  # take it back, from the garbage of this datagram
                    data = out = None
                    gc.collect()
                    try:
                        self._reserve = bytearray(_DATAGRAM + 1)
                    except MemoryError:
                        pass
        finally:
            self.close()

    def datagram(self, data, remote):
        """One received datagram -> the datagram to send back, or None; when an async handler
        answers, a coroutine that gives it. Not a coroutine itself: a synchronous handler's
        request makes no coroutine objects (heap churn on every request)."""
        self.received += 1
        too_large = len(data) > _DATAGRAM
        if too_large:  # cut by the receive buffer: only the header and token are whole
            data = data[: 4 + (data[0] & 0x0F)]
        try:
            request = decode(data)
        except DecodeError:
            self.malformed += 1
            # §4.2: reject a CON with RST when its Message ID is readable; §3: ignore an
            # unknown version.
            if len(data) >= 4 and data[0] >> 4 == 0x4:  # version 1, CON
                return bytes((0x70, 0, data[2], data[3]))
            return None
        kind = request.type
        if kind >= ACK or request.code == 0 or request.code >> 5:
            # No request of ours is outstanding: ACK/RST/responses match nothing; a CON
            # ping or response is rejected with RST (§4.2, §4.3).
            self.ignored += 1
            if kind == CON:
                return bytes((0x70, 0, data[2], data[3]))
            return None
        cached = self.dedup.get(remote, request.mid)
        if cached is not None:
            self.duplicates += 1
            # A retransmission is the same datagram; a forged short one gets no more than 3x.
            return cached if len(cached) <= _AMPLIFICATION * len(data) else None
        if too_large:  # RFC 7959 §2.9.3: Size1 says how large a body (sent block-wise) can be
            response = Message(codes.REQUEST_ENTITY_TOO_LARGE).add(SIZE1, self.blocks.max_body)
            out = self._encode(response, request, len(data))
        else:
            out = self._respond(request, remote, len(data))
            if type(out) is not bytes:  # an async handler: _finish remembers its answer
                return out
        self.dedup.put(remote, request.mid, out if kind == CON else b"")
        return out

    def _respond(self, request, remote, size):
        """The encoded response to a new request of `size` bytes (b"" when a NON gets none),
        or the coroutine of _finish when the handler is async."""
        try:
            if first_bad(request.options, _UNDERSTOOD, self.understood):
                if request.type == NON:  # §5.4.1: a NON is rejected, silently
                    self.ignored += 1
                    return b""
                return self._encode(Message(codes.BAD_OPTION), request, size)
            block1 = request.opt(BLOCK1)
            whole, response = request, None
            if block1 is not None:
                whole, response = self.blocks.feed(request, remote)
            if response is None:
                response = self._dispatch(whole, remote)
                if not isinstance(response, Message):  # an async handler's coroutine
                    return self._finish(response, request, remote, size, block1)
                response = with_block1(response, block1)
            return self._encode(response, request, size)
        except Exception as e:  # a failing handler costs one 5.00, not the loop
            return self._failed(e, request, size)

    async def _finish(self, pending, request, remote, size, block1):
        """The rest of datagram() for an async handler: its answer, encoded and remembered."""
        try:
            out = self._encode(with_block1(await pending, block1), request, size)
        except Exception as e:  # as in _respond
            out = self._failed(e, request, size)
        self.dedup.put(remote, request.mid, out if request.type == CON else b"")
        return out

    def _failed(self, error, request, size):
        """A raising handler's response: 5.03 to retry for a MemoryError, else 5.00; what
        happened goes to the console, never on the wire."""
        if self._report(error):
            response = Message(codes.SERVICE_UNAVAILABLE).add(MAX_AGE, _RETRY_AFTER)
        else:
            response = Message(codes.INTERNAL_SERVER_ERROR)
        return self._encode(response, request, size)

    def _report(self, error):
        """Count and log an exception the loop caught -> whether it was a MemoryError, which
        gets one line and a collection, not a traceback: under load it is expected."""
        if isinstance(error, MemoryError):
            self.out_of_memory += 1
            gc.collect()
            print("microace: out of memory, request refused (%d so far)" % self.out_of_memory)
            return True
        self.errors += 1
        sys.print_exception(error)
        return False

    def _dispatch(self, request, remote):
        """The handler's response, or the awaitable an async handler returns. A plain
        function, not a coroutine: no coroutine object per request (heap churn)."""
        # A request with an OSCORE option is the handler's on every path (RFC 8613 §8.2):
        # never answered in plain, whatever the value of the option.
        if (request.opt(URI_PATH) == _WELL_KNOWN[0] and request.opt(OSCORE) is None
                and request.opts(URI_PATH) == _WELL_KNOWN):
            if request.code != codes.GET:
                return Message(codes.METHOD_NOT_ALLOWED)
            if request.uint(ACCEPT, LINK_FORMAT) != LINK_FORMAT:
                return Message(codes.NOT_ACCEPTABLE)  # RFC 7252 §5.10.4
            return block2(Message(codes.CONTENT, self._link_format()).add(
                CONTENT_FORMAT, LINK_FORMAT), request.opt(BLOCK2), self.blocks.max_szx)
        return self.handler(request, remote)

    def _link_format(self):
        """RFC 6690 §2: </path>;attr,… for every registered link."""
        return ",".join("<%s>%s%s" % (path, ";" if attrs else "", attrs)
                        for path, attrs in self.links).encode()

    def _encode(self, response, request, size):
        """Piggy-back on the ACK of a CON (same MID); a NON gets a NON with a new MID (§5.2).
        Unless OSCORE-protected, at most 3x the request's `size`, else the code alone (no
        options, no payload: never more than the request's header and token)."""
        if request.type == CON:
            kind, mid = ACK, request.mid
        else:
            kind = NON
            self._mid = mid = (self._mid + 1) & 0xFFFF
        out = encode(response, request.token, kind, mid)
        if len(out) > _AMPLIFICATION * size and response.opt(OSCORE) is None:
            out = encode(Message(response.code), request.token, kind, mid)
        return out
