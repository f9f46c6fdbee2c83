"""The bounded token store: each accepted access token with its OSCORE context.

At most `max_tokens` entries and `max_bytes` bytes of tokens. Re-posting a stored token takes
no new slot (its context is derived anew). A newer token for the same proof-of-possession key
(same issuer and OSCORE id, RFC 9203 §3.2.1) supersedes the old one, which stays usable until
the new context has verified a request, so a client switching tokens loses no request. When
room is needed, expired entries go first, then never-used ones (oldest first); a store full of
live, used tokens refuses with StoreFullError (5.03). Expiry is checked on every request.
"""

import time
from hashlib import sha256

from microace.errors import StoreFullError

_UNIX_2000 = 946684800  # seconds from 1970-01-01 to 2000-01-01 (MicroPython's epoch on boards)
_TRUSTED_AFTER = 1577836800  # 2020-01-01: a clock before this was never set
_TICKS_AHEAD = 0x1FFFFFFF  # ms; ticks_ms wraps at 2**30 on the unix port and ESP32


def trusted_now():
    """Trusted Unix time, or None when the board has none (then `exp` tokens fail closed).

    For now the wall clock, trusted once it is past 2020 (set by NTP or the host); clock.py
    (issue 5) replaces this with the learned lower bound and monotonic ticks.
    """
    t = time.time()
    if time.gmtime(0)[0] == 2000:
        t += _UNIX_2000
    return t if t > _TRUSTED_AFTER else None


class Entry:
    """One stored token: what the RS needs of it, and its OSCORE context."""

    def __init__(self, digest, size, pop, exp, exi, perms, context):
        self.digest = digest  # SHA-256 of the token bytes: spots a re-post
        self.size = size
        self.pop = pop  # (iss, OSCORE id): the proof-of-possession key
        self.exp = exp
        # RFC 9200 §5.10.3: an exi token expires exi seconds after the RS received it. Ticks
        # reach at most half their period ahead: a longer exi is cut short (fail closed).
        self.deadline = None if exi is None else time.ticks_add(
            time.ticks_ms(), min(exi * 1000, _TICKS_AHEAD))
        self.perms = perms
        self.context = context
        self.used = False  # a request verified under this context
        self.replaces = None  # the older entry for the same PoP key, kept until this is used

    def expired(self, now):
        if self.exp is not None and (now is None or now >= self.exp):  # RFC 8392 §3.1.4
            return True
        return (self.deadline is not None
                and time.ticks_diff(self.deadline, time.ticks_ms()) <= 0)


class TokenStore:
    def __init__(self, max_tokens=8, max_bytes=None):
        self.max_tokens = max_tokens
        self.max_bytes = max_tokens * 1024 if max_bytes is None else max_bytes
        self.entries = []  # oldest first

    def _find(self, digest):
        for e in self.entries:
            if e.digest == digest:
                return e
        return None

    def add(self, raw, pop, exp, exi, perms, context):
        """Store a verified token with its new context -> the Entry; StoreFullError when there
        is no room without dropping a used, live token."""
        digest = sha256(raw).digest()
        old = self._find(digest)
        if old is not None:  # a re-post: same slot, new context
            old.context = context
            old.used = False
            return old
        now = trusted_now()
        self._drop([e for e in self.entries if e.expired(now)])
        same = [e for e in self.entries if e.pop == pop]
        keep = None
        for e in same:  # the newest used one serves until the new token is used
            if e.used:
                keep = e
        self._drop([e for e in same if e is not keep])
        size = len(raw)
        while (len(self.entries) >= self.max_tokens
               or sum(e.size for e in self.entries) + size > self.max_bytes):
            # Never-used tokens go first (oldest first), then the one being superseded.
            unused = [e for e in self.entries if not e.used]
            victim = unused[0] if unused else keep
            if victim is None:
                raise StoreFullError("token store full")
            self._drop([victim])
            if victim is keep:
                keep = None
        entry = Entry(digest, size, pop, exp, exi, perms, context)
        entry.replaces = keep
        self.entries.append(entry)
        return entry

    def recipient_ids(self):
        return [e.context.recipient_id for e in self.entries]

    def context(self, kid, kid_context=None):
        """The context whose Recipient ID is `kid` (oscore.unprotect_request's lookup)."""
        for e in self.entries:
            if e.context.recipient_id == kid:
                return e.context
        return None

    def verified(self, context):
        """A request verified under `context` -> its Entry: marks it used and retires the
        token it supersedes."""
        for e in self.entries:
            if e.context is context:
                e.used = True
                if e.replaces is not None:
                    self._drop([e.replaces])
                    e.replaces = None
                return e
        return None

    def remove(self, entry):
        self._drop([entry])

    def _drop(self, gone):
        if gone:
            self.entries = [e for e in self.entries if e not in gone]
            for e in self.entries:
                if e.replaces in gone:
                    e.replaces = None
