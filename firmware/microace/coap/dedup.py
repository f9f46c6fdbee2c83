"""Message-ID deduplication (RFC 7252 §4.5).

A client retransmits a CON request whose ACK it did not get, with the same Message ID. The
server must not run the request twice (a second /authz-info would build a second security
context, an OSCORE request would look like a replay): it answers a duplicate CON with the
response it sent the first time, byte for byte, and ignores a duplicate NON. Entries live for
EXCHANGE_LIFETIME (§4.8.2); when the cache is full the oldest entry goes first.
"""

import time

from micropython import const

EXCHANGE_LIFETIME_MS = const(247_000)


class Dedup:
    """Responses already sent, keyed by (remote address, message ID)."""

    def __init__(self, size=16, lifetime_ms=EXCHANGE_LIFETIME_MS):
        self.size = size
        self.lifetime_ms = lifetime_ms
        self._responses = {}  # (remote, mid) -> datagram sent, b"" when nothing was sent
        self._order = []  # [(time received, key)], oldest first

    def get(self, remote, mid):
        """The datagram sent for this exchange (b"" for none), or None if it is new."""
        self._expire()
        return self._responses.get((remote, mid))

    def put(self, remote, mid, response):
        """Remember what was answered (b"" for nothing) to a new exchange."""
        key = (remote, mid)
        if key in self._responses:
            self._responses[key] = response
            return
        if len(self._order) >= self.size:
            del self._responses[self._order.pop(0)[1]]
        self._responses[key] = response
        self._order.append((time.ticks_ms(), key))

    def _expire(self):
        now = time.ticks_ms()
        order = self._order
        while order and time.ticks_diff(now, order[0][0]) >= self.lifetime_ms:
            del self._responses[order.pop(0)[1]]
