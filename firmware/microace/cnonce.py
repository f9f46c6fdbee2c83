"""Client nonces (RFC 9200 §5.3.1): when the board's config asks for them, the RS puts a
fresh cnonce into each AS Request Creation Hints and takes a token only if it carries back
(claim cnonce, RFC 9200 §5.10.1) one it handed out, unused and younger than TTL seconds.

At most _SLOTS (8) are outstanding: the oldest is forgotten first, so a flood of unauthenticated
requests can make a client ask again, but never lets a nonce be used twice.
"""

import os

from micropython import const

from microace.errors import ClaimError

_LEN = const(8)  # short: the 4.01 answers unverified requests (amplification limit)
_SLOTS = const(8)
TTL = const(300)  # seconds on the monotonic clock


class Cnonces:
    def __init__(self, clock):
        self.clock = clock
        self._out = []  # [(cnonce, uptime handed out)], oldest first

    def fresh(self):
        """A new cnonce for a 4.01's hints."""
        nonce = os.urandom(_LEN)
        if len(self._out) >= _SLOTS:
            self._out.pop(0)
        self._out.append((nonce, self.clock.uptime()))
        return nonce

    def take(self, nonce):
        """Use up `nonce` from a verified token; ClaimError if it is not one to take."""
        if nonce is None:
            raise ClaimError("token has no cnonce")
        for i, (n, at) in enumerate(self._out):
            if n == nonce:
                del self._out[i]
                if self.clock.uptime() - at < TTL:
                    return
                break
        raise ClaimError("cnonce unknown, used or expired")
