"""Admission: whether a verified access token is fresh enough to take, in one step
(docs/SECURITY.md "Time"). /authz-info reads parse -> verify -> admit -> bind -> store; this
module is "admit", for every profile:

- a re-post of a stored token (the same verified claims) takes no new cti or cnonce, and an
  expired one is dropped and refused;
- exi tokens (RFC 9200 §5.10.3): the AS makes the cti of each exi token from the RS's
  identifier and a sequence number counting its exi tokens for that RS; the RS keeps the
  highest number it has seen per issuer (State "cti") and treats lower ones as expired.
  microace takes "seen" at its word: a number at or below the mark never comes in again, so a
  token cannot start a second lifetime after it was dropped, replaced or the board rebooted;
- a client nonce (RFC 9200 §5.3.1, cnonce.py) handed out by this RS, when the board asks for
  them;
- the token's iat raises the clock's floor (clock.learn).

    seq = admission.admit(token)          # ClaimError: not fresh
    entry = ...                           # bound and stored by the profile and the store
    admission.admitted(token, seq, entry) # the exi mark recorded, or the entry dropped
"""

from micropython import const

from microace.errors import ClaimError

_SEQ_MAX = const(8)  # bytes of the sequence number in an exi token's cti


class Admission:
    def __init__(self, clock, tokens, audience, state=None, cnonces=None):
        """clock: clock.Clock; tokens: the token store (re-posts, expiry); audience: the
        RS's, the prefix of an exi token's cti; state: a state.State keeping the marks;
        cnonces: a cnonce.Cnonces when every token must carry one back, else None."""
        self.clock = clock
        self.tokens = tokens
        self.audience = audience
        self.cnonces = cnonces
        self._state = state
        cti = state.get("cti") if state else None
        self._cti = cti if type(cti) is dict else {}  # issuer or "" -> highest exi sequence

    def admit(self, token):
        """A verified token -> the exi sequence number to record once it is stored (None:
        nothing to record); ClaimError when it is not fresh."""
        tokens = self.tokens
        held = tokens.held(token.verified)  # a re-post (or re-encoding): its cti and
        if held is not None and tokens.expired(held):  # cnonce were taken already
            tokens.remove(held)
            raise ClaimError("token expired")
        seq = None
        if held is None and token.exi is not None:
            seq = self.exi_seq(token.iss, token.cti)
        if held is None and self.cnonces is not None:
            self.cnonces.take(token.cnonce)
        self.clock.learn(token.iat)
        return seq

    def admitted(self, token, seq, entry):
        """After `entry` holds the token: raise its issuer's exi mark to `seq`. A mark that
        cannot be written drops the entry: an unrecorded exi token could start a new lifetime
        after a reboot."""
        if seq is None:
            return
        try:
            self.exi_seen(token.iss, seq)
        except (OSError, MemoryError):
            self.tokens.remove(entry)
            raise

    def exi_seq(self, iss, cti):
        """The sequence number of an exi token's cti (audience bytes + 1..8 bytes big-endian),
        if above the issuer's mark; ClaimError otherwise."""
        prefix = self.audience.encode()
        n = len(cti) - len(prefix)
        if not 0 < n <= _SEQ_MAX or cti[:len(prefix)] != prefix:
            raise ClaimError("exi token cti is not audience + sequence number")
        seq = int.from_bytes(cti[len(prefix):], "big")
        if seq <= self._cti.get(iss or "", -1):
            raise ClaimError("exi token cti at or below the high-water mark")
        return seq

    def exi_seen(self, iss, seq):
        """Raise the issuer's mark to `seq` and persist it (OSError: it is not persisted)."""
        marks = dict(self._cti)
        marks[iss or ""] = seq
        if self._state:
            self._state.put("cti", marks)
        self._cti = marks
