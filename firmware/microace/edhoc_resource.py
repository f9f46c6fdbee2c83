"""EDHOC over CoAP for the RS (RFC 9528 Appendix A.2, RFC 9668): POST /.well-known/edhoc and
the EDHOC + OSCORE combined request. The OSCORE context a handshake makes goes into the RS's
token store as an entry with the rights the trusted client was provisioned with, so the RS's
access control applies to it as to any token.

    handler, critical, links = edhoc_resource.handler(rs, store, board_options, links)
    server = Server(handler, bind, critical=critical)    # rs.handle when no EDHOC key

message_1 comes prefixed with CBOR true (0xf5), message_3 with C_R (A.2); the answers are
2.04 (message_2; message_4 or empty), EDHOC errors 4.00 with the error message (§6).
"""

from hashlib import sha256

from micropython import const

from microace import cbor, edhoc, oscore, scope
from microace.codepoints import CODES
from microace.coap import codes, formats, options
from microace.coap.message import Message, uint_decode
from microace.errors import BadOptionError, DecodeError, EdhocError, MicroaceError
from microace.rs import code_of

PATH = "/.well-known/edhoc"
LINK = "rt=core.edhoc"  # RFC 9528 §10.10
_TRUE = const(0xF5)


def handler(rs, store, board, links):
    """(the Server handler, its critical options, its /.well-known/core links): EDHOC in
    front of rs when the store holds the board's EDHOC key, else rs alone. board: board.json's
    "edhoc" options {"message_4": bool, "max_sessions", "timeout_ms", "max_message"}. Where
    rs.profiles has the EDHOC-OSCORE profile (board.json "profiles"), clients bring an access
    token in EAD_3 (profiles/edhoc_oscore.py); else the provisioned trusted clients connect."""
    key = store.edhoc_key()
    profile = None
    for p in rs.profiles:
        if p.NUMBER == CODES["ace_profile_coap_edhoc_oscore"]:
            profile = p
    if profile is not None:  # its sessions made under another board key go (§4.11)
        profile.start(rs, store.edhoc_credential() if key is not None else b"")
    if key is None:
        return rs.handle, rs.CRITICAL, links
    board = dict(board)
    message_4 = board.pop("message_4", False)
    if profile is not None:
        trust, admit, labels = profile.trust, profile.admit, profile.EAD_LABELS
        board["ead_1_labels"], board["ead_1"] = profile.EAD_1_LABELS, profile.ead_1
    else:
        clients = (store.status()["config"].get("edhoc") or {}).get("clients")
        trust, admit, labels = edhoc.TrustedClients(clients), _trusted_client(rs), ()
    resource = EdhocResource(rs, edhoc.Responder(
        store, key, store.edhoc_credential(), trust, ead_labels=labels,
        in_use=lambda c: c in rs.tokens.recipient_ids(), **board), message_4, admit)
    abbrev = CODES["uri_path_abbrev_option"]
    return resource.handle, rs.CRITICAL + (options.EDHOC, abbrev), links + [(PATH, LINK)]


def _trusted_client(rs):
    def admit(s, context):
        """A trusted client's session -> its context in the store with the client's rights
        (pop: the client's credential, so a newer handshake of the same client supersedes
        the older once used)."""
        perms = scope.permissions(s.grant, rs.scope_map)
        return rs.tokens.add(s.th_4 + s.cred_i.raw, ("edhoc", sha256(s.cred_i.raw).digest()),
                             None, None, perms, context)

    return admit


def _error(e):
    return Message(code_of(e), edhoc.error_message(e)).add(options.CONTENT_FORMAT,
                                                           formats.EDHOC_CBOR_SEQ)


class EdhocResource:
    """The EDHOC resource in front of the RS's handler; message_4 is sent when asked."""

    def __init__(self, rs, responder, message_4, admit):
        self.rs = rs
        self.responder = responder
        self.message_4 = message_4
        self.admit = admit  # (session, oscore.Context) -> the token store's Entry

    def handle(self, request, remote):
        try:
            if request.opt(options.EDHOC) is not None:
                request = self._combined(request)  # then the OSCORE request it carries
            elif self._is_edhoc(request) and request.opt(options.OSCORE) is None:
                return self._post(request)
        except EdhocError as e:
            return _error(e)
        except BadOptionError:
            return Message(codes.BAD_OPTION)  # RFC 7252 §5.4.1
        return self.rs.handle(request, remote)

    def _is_edhoc(self, request):
        """The request targets /.well-known/edhoc: by its Uri-Path, or by Uri-Path-Abbrev
        with the value for it (the EDHOC-OSCORE profile §4.2 requires both understood)."""
        abbrev = request.opts(CODES["uri_path_abbrev_option"])
        if not abbrev:
            return request.path() == PATH
        if (len(abbrev) != 1 or request.opt(options.URI_PATH) is not None
                or uint_decode(abbrev[0]) != CODES["uri_path_abbrev_edhoc"]):
            raise BadOptionError("Uri-Path-Abbrev value not understood")
        return True

    def _post(self, request):
        if request.code != codes.POST:
            return Message(codes.METHOD_NOT_ALLOWED)
        body = request.payload
        if not body:
            raise edhoc.EdhocError(edhoc.ERR_UNSPECIFIED, "empty EDHOC request")
        if body[0] == _TRUE:  # A.2: message_1 follows
            return self._changed(self.responder.message_1(body[1:]))
        c_r, at = self._c_r(body)
        session = self._finish(c_r, body[at:])
        return self._changed(session.message_4() if self.message_4 else b"")

    def _changed(self, payload):
        return Message(codes.CHANGED, payload).add(options.CONTENT_FORMAT,
                                                   formats.EDHOC_CBOR_SEQ)

    def _c_r(self, body):
        try:
            value, at = cbor.decode_prefix(body, 0, 1, 1)
        except (DecodeError, IndexError):
            raise edhoc.EdhocError(edhoc.ERR_UNSPECIFIED, "C_R malformed")
        return edhoc.decode_id(value, body[:at]), at

    def _finish(self, c_r, message_3):
        """message_3 of session c_r -> the session, its OSCORE context in the token store
        (self.admit)."""
        s = self.responder.message_3(c_r, message_3)
        try:
            secret, salt, sender_id, recipient_id = s.oscore()
            if recipient_id in self.rs.tokens.recipient_ids():
                raise DecodeError("C_R is taken as an OSCORE Recipient ID")
            self.admit(s, oscore.Context(secret, salt, sender_id, recipient_id))
        except MicroaceError as e:
            raise edhoc.EdhocError(edhoc.ERR_UNSPECIFIED, str(e))
        return s

    def _combined(self, request):
        """RFC 9668 §3.3.1: the payload is message_3 (one CBOR bstr) then the OSCORE
        ciphertext; C_R is the OSCORE option's kid. -> the OSCORE request left."""
        opt = request.opt(options.OSCORE)
        if opt is None or not request.payload:
            raise edhoc.EdhocError(edhoc.ERR_UNSPECIFIED, "EDHOC option without OSCORE")
        try:
            kid = oscore.parse_option(opt)[2]
        except DecodeError as e:
            raise edhoc.EdhocError(edhoc.ERR_UNSPECIFIED, str(e))
        if kid is None:
            raise edhoc.EdhocError(edhoc.ERR_UNSPECIFIED, "OSCORE option without kid (C_R)")
        try:
            _, at = cbor.decode_prefix(request.payload, 0, 1, 1)
        except (DecodeError, IndexError):
            raise edhoc.EdhocError(edhoc.ERR_UNSPECIFIED, "message_3 malformed")
        self._finish(kid, request.payload[:at])
        return Message(request.code, request.payload[at:],
                       [o for o in request.options if o[0] != options.EDHOC])
