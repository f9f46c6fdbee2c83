"""The EDHOC-OSCORE profile of ACE (draft-ietf-ace-edhoc-oscore-profile), RS side, forward
message flow (the client is the EDHOC Initiator): the access token travels in EAD_3 of
message_3, binds the client's credential AUTH_CRED_C by value ("kccs", §3.1), and the OSCORE
context EDHOC derives (RFC 9528 A.1) goes into the token store as a token's context of the
ACE-OSCORE profile does: the same access control, replay window, expiry and reboot handling.

    profile = edhoc_oscore.Profile(rs)
    responder = edhoc.Responder(..., trust=profile.trust, ead_labels=profile.EAD_LABELS)
    rs.update_access = profile.update      # POST /authz-info inside OSCORE (§4.6)
    entry = profile.admit(session, context)   # after message_3 verified

Codepoints (EAD label, kccs, edhoc_info) come from codepoints.CODES.
"""

from hashlib import sha256

from microace import access_token, cbor, ccs, scope
from microace.codepoints import CODES
from microace.coap import codes, formats, options
from microace.coap.message import Message
from microace.errors import ClaimError, DecodeError, EdhocError, MicroaceError, ScopeError

_ERR_UNSPECIFIED = 1  # RFC 9528 §6.2 (edhoc.ERR_UNSPECIFIED; edhoc.py is not imported here)


class Grant:
    """What trust() found in EAD_3, for admit() once MAC_3 has verified."""

    def __init__(self, raw, token, session_id):
        self.raw = raw
        self.token = token
        self.session_id = session_id


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
    return ccs.parse(cbor.encode(token.cnf[1]))


def _pop(session_id, cred):
    """(SESSION_ID, AUTH_CRED_C) as the store's proof-of-possession key (§4.2, §4.5). Its
    first item is the profile's ace_profile value, an int where ACE-OSCORE entries have the
    issuer (text): rs.py sends an update of access rights of such an entry here."""
    return (CODES["ace_profile_coap_edhoc_oscore"],
            sha256(cbor.encode([session_id, cred.raw])).digest())


class Profile:
    def __init__(self, rs):
        self.rs = rs
        self.EAD_LABELS = (CODES["ead_access_token"],)

    def trust(self, kid, ccs_raw, ead_3):
        """edhoc.Responder's trust(): the one access token of EAD_3 (§4.3.3), verified as on
        /authz-info, whose kccs must be the credential ID_CRED_I names (§4.2) ->
        (Credential, Grant). Every failure aborts with ERR_CODE 1."""
        label = CODES["ead_access_token"]
        items = [value for lab, value in ead_3 if abs(lab) == label]
        if len(items) != 1:
            raise EdhocError(_ERR_UNSPECIFIED, "EAD_3 must carry exactly one access token")
        raw = items[0]
        try:
            if type(raw) is not bytes or not raw:
                raise DecodeError("the item carries no token")
            if len(raw) > self.rs.max_token_bytes:
                raise DecodeError("larger than max_token_bytes")
            token = self._verify(raw)
            cred = _credential(token)
            session_id = _session_id(token)
        except MicroaceError as e:
            raise EdhocError(_ERR_UNSPECIFIED, "access token: %s" % e)
        if (cred.raw != ccs_raw) if ccs_raw is not None else (cred.kid != kid):
            raise EdhocError(_ERR_UNSPECIFIED, "ID_CRED_I is not the token's credential")
        return cred, Grant(raw, token, session_id)

    def _verify(self, raw):
        """The token verified as on /authz-info (no state changes: admission comes once the
        session is authenticated, admit())."""
        rs = self.rs
        return access_token.verify(raw, rs.keystore, rs.audience, rs.clock.now(), rs.issuer)

    def admit(self, session, context):
        """A finished session (MAC_3 verified) -> its token admitted (rs.admission: re-post,
        exi mark, cnonce, clock floor) and its OSCORE context in the store. An older session
        of the same (SESSION_ID, AUTH_CRED_C) and its context are deleted first (§4.2)."""
        g = session.grant
        rs = self.rs
        token = g.token
        if token.scope is None:
            raise ScopeError("token has no scope")
        perms = scope.permissions(token.scope, rs.scope_map)
        pop = _pop(g.session_id, session.cred_i)
        tokens = rs.tokens
        held = tokens.held(token.verified)
        deadline = held.deadline if held is not None else None
        seq = rs.admission.admit(token)
        for e in [e for e in tokens.entries if e.pop == pop or e is held]:
            tokens.remove(e)
        entry = tokens.add(token.verified, pop, token.exp, token.exi, perms, context,
                           len(g.raw), token.iat)
        if deadline is not None:  # the same exi token again: its lifetime runs on
            entry.deadline = deadline
        rs.admission.admitted(token, seq, entry)
        return entry

    def update(self, request, entry):
        """POST /authz-info over the session's OSCORE context (§4.6): a token of the same
        series (session_id) for the same credential replaces the entry's rights -> 2.01."""
        if request.code != codes.POST:
            return Message(codes.METHOD_NOT_ALLOWED)
        if request.uint(options.CONTENT_FORMAT) != formats.CWT:
            raise DecodeError("update of access rights takes application/cwt")
        raw = request.payload
        rs = self.rs
        if not raw or len(raw) > rs.max_token_bytes:
            raise DecodeError("access token missing or too large")
        token = self._verify(raw)
        session_id = _session_id(token)
        # The credential by value only (an identifier of it would do per §4.6; the AS
        # emulator sends kccs in every token of a series)
        if _pop(session_id, _credential(token)) != entry.pop:
            raise ClaimError("token of another series or credential")
        if token.scope is None:
            raise ScopeError("token has no scope")
        perms = scope.permissions(token.scope, rs.scope_map)
        seq = rs.admission.admit(token)
        rs.tokens.update(entry, token.verified, len(raw), token.exp, token.exi, perms, token.iat)
        rs.admission.admitted(token, seq, entry)
        return Message(codes.CREATED)
