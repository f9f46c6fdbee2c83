"""The bounded token store: each accepted access token with its OSCORE context. It holds
contexts but does not make them: a profile (profiles/) derives each one, and the RS passes the
function that restores a saved one (oscore.Context.restore).

At most `max_tokens` entries and `max_bytes` bytes of tokens. A token is known by the digest of
its verified claims, so a re-encoding of its COSE layers is the same token. Re-posting a stored
token takes no new slot: its new context waits beside the current one (at most _PENDING such
contexts in the whole store, the oldest going first: each costs heap) until one of them
verifies a request, as anyone can replay the POST (RFC 9203 §4.1, §4.3); the current context
is never pushed out by a re-post. A newer token for the same proof-of-possession key (same issuer
and OSCORE id, RFC 9203 §3.2.1) supersedes the old one, which stays usable until the new
context has verified a request, so a client switching tokens loses no request; a token older
(iat) than the stored one for its key is refused: it would roll narrowed rights back. When
room is needed, expired entries go first, then never-used ones (oldest first); a store full of
live, used tokens refuses with StoreFullError (5.03). Expiry is checked on every request.

With a state.State, the entries survive reboots (State "tokens"): written when a token is
accepted, first used, superseded or dropped, and every _SSN_CHUNK sender sequence numbers
(RFC 8613 App. B.1.1), never once per request. Restored contexts wait for Echo (App. B.1.2).
exi tokens are not kept: their lifetime counts on the monotonic clock, which a reboot resets.
Kept tokens are bound to the key store generation `gen`: a re-provisioned board (new keys,
audience or scopes) restores none of them.
"""

from hashlib import sha256

from micropython import const

from microace.clock import Clock
from microace.errors import ClaimError, ContextExhaustedError, MicroaceError, StoreFullError

_SSN_CHUNK = const(32)  # sender sequence numbers reserved per write
_PENDING = const(3)  # contexts of re-posts waiting for a verified request, in the store


class Entry:
    """One stored token: what the RS needs of it, and its OSCORE context."""

    def __init__(self, digest, size, pop, exp, exi, perms, context, uptime, iat=None):
        self.digest = digest  # SHA-256 of the verified claims: spots a re-post or re-encoding
        self.iat = iat
        self.size = size
        self.pop = pop  # (iss, OSCORE id): the proof-of-possession key
        self.exp = exp
        # RFC 9200 §5.10.3: an exi token expires exi seconds after the RS received it, on the
        # monotonic clock (clock.uptime(): whole seconds, so never late).
        self.deadline = None if exi is None else uptime + exi
        self.perms = perms
        self.context = context
        self.used = False  # a request verified under this context
        self.replaces = None  # the older entry for the same PoP key, kept until this is used
        self.pending = []  # (n, context) of re-posts of this token, until one verifies
        self.ssn_bound = _SSN_CHUNK  # the context's sender sequence numbers stay below this

    def saved(self):
        """The entry as State "tokens" keeps it (TokenStore._restore reads it back); a float
        exp is cut to the second before (CBOR floats are not encoded here)."""
        exp = self.exp if type(self.exp) is not float else int(self.exp)
        return (self.digest, self.size, self.pop[0], self.pop[1], exp, self.perms, self.used,
                self.ssn_bound, self.context.saved(), self.iat)


def _contexts(entry):
    """The entry's context, then those of re-posts waiting to verify a request."""
    return [entry.context] + [c for _, c in entry.pending]


def _pending(entry, context):
    """Whether `context` is one of the entry's re-posts' (the second half of _contexts),
    with no list made: it is asked on every request."""
    for _, c in entry.pending:
        if c is context:
            return True
    return False


def _not_older(entry, iat):
    """ClaimError for a token issued before the stored `entry` for its key (or without iat
    when the entry has one): it would roll the rights back."""
    if entry.iat is not None and (iat is None or iat < entry.iat):
        raise ClaimError("older than the stored token")


class TokenStore:
    def __init__(self, max_tokens=8, max_bytes=None, state=None, clock=None, gen=0,
                 restore=None):
        """restore(saved, ssn): a context from Context.saved() (needed with a state)."""
        self.clock = clock or Clock(state)  # trusted now and uptime
        self.max_tokens = max_tokens
        self.max_bytes = max_tokens * 1024 if max_bytes is None else max_bytes
        self.entries = []  # oldest first
        self.state = state
        self.gen = gen
        self._lagging = False  # a write failed: the file is behind the entries in RAM
        self._n = 0  # re-posts counted: the oldest waiting context goes first
        if state is not None:
            self._restore(state.bind("tokens", self._saved), restore)

    def _restore(self, saved, restore):
        """The entries of _saved(), if they were saved under this key store generation; a
        list this firmware cannot read is dropped whole. Each context restarts its sender
        sequence numbers at the persisted bound."""
        try:
            if saved is None or saved[0] != self.gen:
                return
            for digest, size, iss, osc_id, exp, perms, used, ssn, ctx, iat in saved[1]:
                e = Entry(digest, size, (iss, osc_id), exp, None, perms,
                          restore(ctx, ssn), 0, iat)
                e.used = used
                e.ssn_bound = ssn  # nothing reserved yet: the first number used writes
                for old in self.entries:
                    if old.pop == e.pop:
                        e.replaces = old
                e.context.ssn_hook = self._reserve
                self.entries.append(e)
        except (MicroaceError, LookupError, TypeError, ValueError):
            print("microace: saved tokens unusable, discarded")
            self.entries = []

    def _saved(self):
        return [self.gen, [e.saved() for e in self.entries if e.deadline is None]]

    def _save(self):
        if self.state is not None:
            self._lagging = True
            self.state.write()
            self._lagging = False

    def _reserve(self, ctx, n):
        """The contexts' ssn_hook: before sender sequence number n goes out, a bound above it
        is on flash, so no number is sent twice across any number of power cuts."""
        for e in self.entries:
            if e.context is ctx and n >= e.ssn_bound:
                e.ssn_bound = n + _SSN_CHUNK
                try:
                    self._save()
                except (OSError, MemoryError):  # no room on flash or in the heap to write:
                    e.ssn_bound = n  # a bound only in RAM would let a reboot reuse nonces
                    raise ContextExhaustedError("sequence number not persisted")

    def _find(self, digest):
        for e in self.entries:
            if e.digest == digest:
                return e
        return None

    def expired(self, e):
        """exp needs a trusted now (RFC 8392 §3.1.4; none: expired); exi the uptime."""
        if e.deadline is not None and self.clock.uptime() >= e.deadline:
            return True
        if e.exp is None:
            return False
        now = self.clock.now()
        return now is None or now >= e.exp

    def held(self, verified):
        """The Entry of this very token (its verified claims bytes), if stored: a re-post."""
        return self._find(sha256(verified).digest())

    def add(self, verified, pop, exp, exi, perms, context, size=0, iat=None):
        """Store a verified token (`verified`: its verified claims bytes; `size`: of the token
        as posted) with its new context -> the Entry; StoreFullError when there is no room
        without dropping a used, live token; ClaimError for a token older (iat) than the one
        stored for its proof-of-possession key."""
        digest = sha256(verified).digest()
        old = self._find(digest)
        if self.state is not None:
            context.ssn_hook = self._reserve
        if old is not None:  # a re-post: same slot; anyone can replay the POST, so the new
            # context waits beside the current ones until one verifies a request (verified())
            self._n += 1
            old.pending.append((self._n, context))
            waiting = [p for e in self.entries for p in e.pending]
            if len(waiting) > _PENDING:  # the heap holds _PENDING of them: the oldest goes
                oldest = min(waiting)
                for e in self.entries:
                    if oldest in e.pending:
                        e.pending.remove(oldest)
            return old
        same = [e for e in self.entries if e.pop == pop]
        for e in same:  # never back to older rights for the same key (RFC 9203 §4.1)
            if not self.expired(e):
                _not_older(e, iat)
        self._drop([e for e in self.entries if self.expired(e)])
        same = [e for e in self.entries if e.pop == pop]
        keep = None
        for e in same:  # the newest used one serves until the new token is used
            if e.used:
                keep = e
        self._drop([e for e in same if e is not keep])
        while (len(self.entries) >= self.max_tokens
               or sum(e.size for e in self.entries) + size > self.max_bytes):
            # Never-used tokens go first (oldest first), then the one being superseded.
            unused = [e for e in self.entries if not e.used]
            victim = unused[0] if unused else keep
            if victim is None:
                self._save()  # what was dropped on the way stays dropped
                raise StoreFullError("token store full")
            self._drop([victim])
            if victim is keep:
                keep = None
        entry = Entry(digest, size, pop, exp, exi, perms, context, self.clock.uptime(), iat)
        entry.replaces = keep
        self.entries.append(entry)
        try:
            self._save()
        except Exception:  # not on flash: not taken (the client gets no ids)
            self.entries.pop()
            raise
        return entry

    def update(self, entry, verified, size, exp, exi, perms, iat=None):
        """An update of access rights (RFC 9203 §4.1): `entry` takes the new token's rights
        and lifetime and keeps its context; a token older (iat) than the entry's is refused,
        as in add(). The store keeps no token bytes: a larger token costs no room."""
        _not_older(entry, iat)
        entry.digest, entry.size, entry.exp, entry.perms, entry.iat = (
            sha256(verified).digest(), size, exp, perms, iat)
        entry.deadline = None if exi is None else self.clock.uptime() + exi
        self._save()

    def recipient_ids(self):
        return [c.recipient_id for e in self.entries for c in _contexts(e)]

    def context(self, kid, kid_context=None):
        """The context whose Recipient ID is `kid` (oscore.unprotect_request's lookup)."""
        for e in self.entries:  # _contexts(e)'s order, without its lists (every request)
            if e.context.recipient_id == kid:
                return e.context
            for _, c in e.pending:
                if c.recipient_id == kid:
                    return c
        return None

    def verified(self, context):
        """A request verified under `context` -> its Entry: marks it used and retires the
        token it supersedes. While a failed write left the file behind RAM, it writes first
        and serves nothing until that succeeds: a reboot then could bring back a superseded
        or dropped token after a client was served without it."""
        if self._lagging:
            self._save()
        for e in self.entries:
            if _pending(e, context):  # a re-post's context takes over; the others go
                e.context, e.ssn_bound, e.used = context, _SSN_CHUNK, False
            if e.context is context:
                if e.pending:
                    e.pending = []
                if not e.used:
                    e.used = True
                    if e.replaces is not None:
                        self._drop([e.replaces])
                    self._save()
                return e
        return None

    def remove(self, entry):
        self._drop([entry])
        self._save()

    def _drop(self, gone):
        if gone:
            self.entries = [e for e in self.entries if e not in gone]
            for e in self.entries:
                if e.replaces in gone:
                    e.replaces = None
