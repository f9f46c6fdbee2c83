"""Message-ID deduplication (RFC 7252 §4.5).

A client retransmits a CON request whose ACK it did not get, with the same Message ID. The
server must not run the request twice (a second /authz-info would build a second security
context, an OSCORE request would look like a replay): it answers a duplicate CON with the
response it sent the first time, byte for byte, and ignores a duplicate NON.

Entries count for EXCHANGE_LIFETIME (§4.8.2); at most `size` are kept, the oldest overwritten
first. The responses live in one buffer allocated up front, `slot` bytes per entry: cached
responses held as objects of their own would be long-lived allocations sprinkled over a small
heap, and soon no 1.3 KB datagram could be received. A longer response is kept as its own object.
"""

import time

from micropython import const

_EXCHANGE_LIFETIME_MS = const(247_000)


class Dedup:
    """Responses already sent, by (remote address, message ID), in a ring of `size` slots."""

    def __init__(self, size=16, slot=96, lifetime_ms=_EXCHANGE_LIFETIME_MS):
        self.size = size
        self.slot = slot
        self.lifetime_ms = lifetime_ms
        self._buf = bytearray(size * slot)
        self._mid = [-1] * size  # -1: an empty slot
        self._remote = [None] * size
        self._time = [0] * size
        self._length = [0] * size
        self._long = [None] * size  # a response longer than a slot
        self._next = 0  # the slot to fill next: the oldest

    def get(self, remote, mid):
        """The datagram sent for this exchange (b"" for none), or None if it is new."""
        for i in range(self.size):
            if self._mid[i] == mid and self._remote[i] == remote:
                if time.ticks_diff(time.ticks_ms(), self._time[i]) >= self.lifetime_ms:
                    self._mid[i] = -1
                    self._remote[i] = self._long[i] = None
                    return None
                if self._long[i] is not None:
                    return self._long[i]
                start = i * self.slot
                return bytes(memoryview(self._buf)[start : start + self._length[i]])
        return None

    def put(self, remote, mid, response):
        """Remember what was answered (b"" for nothing) to an exchange get() found new."""
        for known in self._remote:  # one address object per client, not one per entry
            if known == remote:
                remote = known
                break
        i = self._next
        self._next = (i + 1) % self.size
        self._mid[i] = mid
        self._remote[i] = remote
        self._time[i] = time.ticks_ms()
        if len(response) > self.slot:
            self._long[i] = response
        else:
            self._long[i] = None
            self._length[i] = len(response)
            start = i * self.slot
            self._buf[start : start + len(response)] = response
