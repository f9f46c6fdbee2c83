"""The EDHOC-OSCORE profile of ACE (draft-ietf-ace-edhoc-oscore-profile), RS side, forward
message flow (the client is the EDHOC Initiator): the access token travels in EAD_3 of
message_3, binds the client's credential AUTH_CRED_C by value ("kccs", §3.1), and the OSCORE
context EDHOC derives (RFC 9528 A.1) goes into the token store as a token's context of the
ACE-OSCORE profile does: the same access control, replay window, expiry and reboot handling.

It is one of rs.profiles (profiles/__init__.py), without a new-token upload (NEW is False: its
tokens come in EAD_3); its update of access rights (§4.6) is /authz-info's parse -> verify ->
admit -> pop -> store. The EDHOC resource (edhoc_resource.py) calls the rest:

    profile.start(rs, cred_r)          # the board's credential; sessions of an older one go
    responder = edhoc.Responder(..., trust=profile.trust, ead_labels=profile.EAD_LABELS,
                                ead_1=profile.ead_1, ead_1_labels=profile.EAD_1_LABELS)
    entry = profile.admit(session, context)   # after message_3 verified

Discarding (§4.7, §4.10-§4.12): a session's entry expires with its token or with AUTH_CRED_C
(the CCS's exp caps the entry's), and a session made under another credential of the board
(AUTH_CRED_RS: a regenerated key) is dropped at start-up. Codepoints (EAD label, kccs,
edhoc_info, ace_profile) come from codepoints.CODES.
"""

from hashlib import sha256

from microace import access_token, cbor, ccs, claims, scope
from microace.codepoints import CODES
from microace.coap import formats, options
from microace.cwt import CLAIM_EXP, NAMES
from microace.errors import ClaimError, DecodeError, EdhocError, MicroaceError, ScopeError

_ERR_UNSPECIFIED = 1  # RFC 9528 §6.2 (edhoc.ERR_UNSPECIFIED; edhoc.py is not imported here)
_FP_LEN = 8  # bytes of the board credential's hash at the front of a session's pop


class Grant:
    """What trust() found in EAD_3, for admit() once MAC_3 has verified."""

    def __init__(self, raw, token, session_id, cred_exp):
        self.raw = raw
        self.token = token
        self.session_id = session_id
        self.cred_exp = cred_exp  # AUTH_CRED_C's exp claim, or None


def _session_id(token):
    """SESSION_ID: the "session_id" of the token's edhoc_info claim (§3.3, §4.2)."""
    info = token.claims.get(CODES["edhoc_info_claim"])
    if not isinstance(info, dict):
        raise ClaimError("token has no edhoc_info")
    sid = info.get(CODES["edhoc_info_session_id"])
    if type(sid) is not bytes:
        raise ClaimError("edhoc_info has no session_id byte string")
    return sid


def _credential(token):
    """AUTH_CRED_C from the token's cnf: a CCS by value only; a bare COSE_Key is no EDHOC
    credential (§3.1)."""
    if token.cnf is None or token.cnf[0] != "kccs":
        raise ClaimError("token cnf must hold the client's CCS (kccs)")
    if not isinstance(token.cnf[1], dict):
        raise ClaimError("cnf kccs must be a CWT Claims Set (a map)")
    # its deterministic encoding: the bytes EDHOC hashes as CRED_I (RFC 9528 §3.5.2)
    try:
        raw = cbor.encode(token.cnf[1])
    except (TypeError, ValueError):  # a float (a NumericDate may be one): cbor.py has none
        raise ClaimError("kccs CCS holds a value this RS cannot encode (a float)")
    return ccs.parse(raw)


def _capped(exp, cred_exp):
    """The entry's exp: the token's, no later than AUTH_CRED_C's (§4.11: the context goes
    when the credential expires)."""
    if cred_exp is None:
        return exp
    return cred_exp if exp is None or cred_exp < exp else exp


class EdhocOscore:
    PATH = "/authz-info"  # its updates of access rights (§4.6); new tokens come in EAD_3
    NEW = False

    def __init__(self):
        self.NUMBER = CODES["ace_profile_coap_edhoc_oscore"]
        self.EAD_LABELS = (CODES["ead_access_token"],)
        self.EAD_1_LABELS = (CODES["ead_credential_by_value"],
                             CODES["ead_request_creation_hints"])
        self._fp = b""  # AUTH_CRED_RS's hash prefix (start())
        self.rs = None  # the RS whose token store and checks the EDHOC callbacks use

    def start(self, rs, cred_r):
        """The board's credential AUTH_CRED_RS (its CCS bytes): the sessions kept from before
        the board's key was made anew used another one and go (§4.11)."""
        self.rs = rs
        self._fp = sha256(cred_r).digest()[:_FP_LEN]
        tokens = rs.tokens
        for e in [e for e in tokens.entries
                  if self.owns(e) and e.pop[1][:_FP_LEN] != self._fp]:
            tokens.remove(e)

    def owns(self, entry):
        """The token store's entries of this profile: an int (its ace_profile value) in
        pop[0], where ACE-OSCORE entries have the issuer (text or None)."""
        return entry.pop[0] == self.NUMBER and type(entry.pop[0]) is int

    def _pop(self, session_id, cred):
        """(SESSION_ID, AUTH_CRED_C) under this board credential as the store's
        proof-of-possession key (§4.2, §4.5)."""
        return (self.NUMBER,
                self._fp + sha256(cbor.encode([session_id, cred.raw])).digest())

    def trust(self, kid, ccs_raw, ead_3):
        """edhoc.Responder's trust(): the one access token of EAD_3 (§4.3.3), verified as on
        /authz-info, whose kccs must be the credential ID_CRED_I names (§4.2) and valid now
        (its exp / nbf, §4.11) -> (Credential, Grant). Every failure aborts with ERR_CODE 1."""
        rs = self.rs
        label = CODES["ead_access_token"]
        items = [value for lab, value in ead_3 if abs(lab) == label]
        if len(items) != 1:
            raise EdhocError(_ERR_UNSPECIFIED, "EAD_3 must carry exactly one access token")
        raw = items[0]
        try:
            if type(raw) is not bytes or not raw:
                raise DecodeError("the item carries no token")
            if len(raw) > rs.max_token_bytes:
                raise DecodeError("larger than max_token_bytes")
            now = rs.clock.now()
            token = access_token.verify(raw, rs.keystore, rs.audience, now, rs.issuer)
            cred = _credential(token)
            cred_exp = claims.validity(token.cnf[1], NAMES, now, 0, "AUTH_CRED_C")
            session_id = _session_id(token)
        except MicroaceError as e:
            raise EdhocError(_ERR_UNSPECIFIED, "access token: %s" % e)
        if (cred.raw != ccs_raw) if ccs_raw is not None else (cred.kid != kid):
            raise EdhocError(_ERR_UNSPECIFIED, "ID_CRED_I is not the token's credential")
        return cred, Grant(raw, token, session_id, cred_exp)

    def ead_1(self, items):
        """edhoc.Responder's ead_1(): what EAD_1 of message_1 asks for, each item without a
        value (§4.13, §4.14) -> (ID_CRED_R by value, EAD_2). Credential By Value: the board's
        CCS by value in ID_CRED_R. Request Creation Hints: the item again in EAD_2, its value
        the hints map without the audience (message_2 is open to active attackers). Either
        item with a value is not the draft's: skipped, or, sent critical, ERR_CODE 1."""
        by_value, ead_2 = False, b""
        hints = CODES["ead_request_creation_hints"]
        for label, value in items:
            if value is None and abs(label) == hints:
                ead_2 = cbor.encode(hints) + cbor.encode(cbor.encode(self.rs.hints(False)))
            elif value is None:
                by_value = True
            elif label < 0:
                raise EdhocError(_ERR_UNSPECIFIED, "EAD_1 item %d takes no value" % label)
        return by_value, ead_2

    def admit(self, session, context):
        """A finished session (MAC_3 verified) -> its token admitted (rs.admission: re-post,
        exi mark, cnonce, clock floor) and its OSCORE context in the store. An older session
        of the same (SESSION_ID, AUTH_CRED_C) and its context are deleted first (§4.2)."""
        rs = self.rs
        g = session.grant
        token = g.token
        if token.scope is None:
            raise ScopeError("token has no scope")
        perms = scope.permissions(token.scope, rs.scope_map)
        pop = self._pop(g.session_id, session.cred_i)
        tokens = rs.tokens
        held = tokens.held(token.verified)
        deadline = held.deadline if held is not None else None
        seq = rs.admission.admit(token)
        for e in [e for e in tokens.entries if e.pop == pop or e is held]:
            tokens.remove(e)
        entry = tokens.add(token.verified, pop, _capped(token.exp, g.cred_exp), token.exi,
                           perms, context, len(g.raw), token.iat)
        if deadline is not None:  # the same exi token again: its lifetime runs on
            entry.deadline = deadline
        rs.admission.admitted(token, seq, entry)
        return entry

    # The update of access rights (§4.6), through rs._authz_info

    def parse(self, request, limit, entry):
        """POST /authz-info over the session's OSCORE context: the token itself, as
        application/cwt (§4.6.1) -> (its bytes, None)."""
        if request.uint(options.CONTENT_FORMAT) != formats.CWT:
            raise DecodeError("update of access rights takes application/cwt")
        raw = request.payload
        if not raw or len(raw) > limit:
            raise DecodeError("access token missing or too large")
        return raw, None

    def pop(self, token, entry):
        """A token of the entry's series (session_id) for the same credential (§4.6.1), else
        ClaimError (4.01). The credential by value only (an identifier of it would do per
        §4.6.1; the AS emulator sends kccs in every token of a series). Its exp as the store
        keeps it stays capped by the credential's."""
        cred = _credential(token)
        if self._pop(_session_id(token), cred) != entry.pop:
            raise ClaimError("token of another series or credential")
        # the CCS of the session's handshake (the pop hashes its bytes), valid then
        token.exp = _capped(token.exp, token.cnf[1].get(CLAIM_EXP))
        return entry.pop
