"""ACE client (aiocoap): token request to the AS, POST /authz-info to the RS, then OSCORE.

RFC 9200 §5.8 (token), §5.10.1 (authz-info), §5.3 (AS Request Creation Hints);
RFC 9203 §4.1-4.3 (nonces, recipient IDs, context derivation).
"""

import os
from urllib.parse import urlsplit, urlunsplit

import cbor2

from . import wire
from .wire import (ALG_A128CCM, HKDF_SHA256, CT_ACE_CBOR, CT_EDHOC, P_ACCESS_TOKEN, P_AUDIENCE,
                   P_CNF, P_SCOPE, P_CLIENT_ID, P_CLIENT_SECRET, P_ERROR, P_ERROR_DESCRIPTION,
                   P_GRANT_TYPE, P_ACE_PROFILE, P_REQ_CNF, P_CNONCE, P_RS_CNF, P_NONCE1, P_NONCE2,
                   P_CLIENT_RID, P_SERVER_RID, GRANT_CLIENT_CREDENTIALS, HINT_AS, HINT_AUDIENCE,
                   HINT_CNONCE, CNF_OSC, OSC_MS, OSC_HKDF, OSC_ALG, OSC_SALT, OSC_CONTEXT_ID,
                   ACE_PROFILE_COAP_OSCORE, EDHOC)

HINTS_PROBE_PADDING = 96  # bytes: room for hints of up to ~300 bytes within the RS's 3x budget
NONCE_LEN = 8  # §4.1: 8 bytes recommended
EDHOC_PATH = "/.well-known/edhoc"


class ClientError(Exception):
    """A step of the flow failed; the message is one line (never with secrets)."""


def _oscore():
    try:
        import aiocoap.oscore as oscore
    except ImportError as exc:  # the 'oscore' extra (filelock, cryptography) is missing
        raise ClientError("aiocoap's OSCORE is not available (%s)" % exc) from None
    return oscore


def memory_context(master_secret, master_salt, sender_id, recipient_id, id_context=None):
    """An aiocoap OSCORE security context (AES-CCM-16-64-128, HKDF-SHA256) whose state stays
    in memory: aiocoap's FilesystemSecurityContext without the files."""
    oscore = _oscore()

    class MemoryContext(oscore.CanProtect, oscore.CanUnprotect, oscore.SecurityContextUtils):
        def __init__(self):
            self.alg_aead = oscore.algorithms[oscore.DEFAULT_ALGORITHM]
            self.hashfun = oscore.hashfunctions[oscore.DEFAULT_HASHFUNCTION]
            self.sender_id = sender_id
            self.recipient_id = recipient_id
            self.id_context = id_context
            self.derive_keys(master_salt, master_secret)
            self.sender_sequence_number = 0
            self.recipient_replay_window = oscore.ReplayWindow(32, lambda: None)
            self.recipient_replay_window.initialize_empty()
            self.echo_recovery = None

        def post_seqnoincrease(self):
            pass

    return MemoryContext()


def oscore_context(osc, nonce1, nonce2, sender_id, recipient_id):
    """An aiocoap OSCORE context from ACE material (RFC 9203 §4.3): Master Salt = bstr(salt) |
    bstr(N1) | bstr(N2); ID Context from osc contextId if present. State stays in memory.
    The client's Sender ID is ace_server_recipientid, its Recipient ID ace_client_recipientid
    (the RS's are the other way round)."""
    if (osc.get(OSC_ALG, ALG_A128CCM) != ALG_A128CCM
            or osc.get(OSC_HKDF, HKDF_SHA256) != HKDF_SHA256):
        raise ClientError("OSCORE material asks for an algorithm other than AES-CCM-16-64-128 "
                          "/ HKDF-SHA256")
    salt = cbor2.dumps(osc.get(OSC_SALT, b"")) + cbor2.dumps(nonce1) + cbor2.dumps(nonce2)
    return memory_context(osc[OSC_MS], salt, sender_id, recipient_id, osc.get(OSC_CONTEXT_ID))


def _ace_error(response):
    try:
        body = cbor2.loads(response.payload)
        return "%s (error %s: %s)" % (response.code, body.get(P_ERROR),
                                      body.get(P_ERROR_DESCRIPTION, ""))
    except Exception:  # not an ACE error body
        return str(response.code)


def _origin(uri):
    """coap://host:port of a URI (the RS's base for /authz-info)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def token_endpoint(as_uri):
    """The AS's token endpoint: the URI itself when it names /token, else URI/token."""
    if urlsplit(as_uri).path.endswith("/token"):
        return as_uri
    return as_uri.rstrip("/") + "/token"


class Session:
    """One aiocoap client context; the ACE steps as methods."""

    def __init__(self, context, log=lambda line: None):
        self.context = context
        self.log = log
        self.contexts = {}  # coap://host:port -> OSCORE security context

    @classmethod
    async def create(cls, log=lambda line: None):
        import aiocoap
        return cls(await aiocoap.Context.create_client_context(), log)

    async def shutdown(self):
        await self.context.shutdown()

    async def _send(self, code, uri, payload=b"", content_format=None):
        import aiocoap
        message = aiocoap.Message(code=code, uri=uri, payload=payload)
        if content_format is not None:
            message.opt.content_format = content_format
        return await self.context.request(message).response

    async def hints(self, uri, method="GET"):
        """Unprotected request to a protected resource -> AS Request Creation Hints of the
        4.01 (RFC 9200 §5.3) as a dict {1: AS, 5: audience, ...}."""
        import aiocoap
        # The RS answers an unverified request with at most 3x its size (RFC 9175 §2.4): the
        # probe carries a padding body (ignored) so that the hints fit.
        response = await self._send(aiocoap.Code[method], uri, bytes(HINTS_PROBE_PADDING))
        if response.code != aiocoap.UNAUTHORIZED:
            raise ClientError("expected 4.01 with AS Request Creation Hints, got %s"
                              % response.code)
        try:
            hints = cbor2.loads(response.payload)
        except Exception:
            hints = None
        if not isinstance(hints, dict) or not isinstance(hints.get(HINT_AS), str):
            raise ClientError("the 4.01 carries no AS Request Creation Hints")
        self.log("RS: 4.01 Unauthorized; AS hint %s, audience %s"
                 % (hints[HINT_AS], hints.get(HINT_AUDIENCE)))
        return hints

    async def token(self, as_uri, client_id, secret, audience=None, scope=None, cnonce=None,
                    edhoc_key=None):
        """POST /token (client credentials) -> the response map (access_token, cnf.osc, ...).
        cnonce: from the RS's hints, for the AS to put into the token (RFC 9200 §5.8.4.4).
        edhoc_key: an EdhocKey asks for the EDHOC-OSCORE profile, its CCS as req_cnf kccs."""
        import aiocoap
        profile = ACE_PROFILE_COAP_OSCORE if edhoc_key is None else \
            EDHOC["ace_profile_coap_edhoc_oscore"]
        request = {P_GRANT_TYPE: GRANT_CLIENT_CREDENTIALS, P_CLIENT_ID: client_id,
                   P_CLIENT_SECRET: secret, P_ACE_PROFILE: profile}
        if edhoc_key is not None:
            request[P_REQ_CNF] = {EDHOC["kccs"]: cbor2.loads(edhoc_key.cred)}
        if audience is not None:
            request[P_AUDIENCE] = audience
        if scope is not None:
            request[P_SCOPE] = scope
        if cnonce is not None:
            request[P_CNONCE] = cnonce
        response = await self._send(aiocoap.POST, token_endpoint(as_uri), cbor2.dumps(request),
                                    CT_ACE_CBOR)
        if response.code != aiocoap.CREATED:
            raise ClientError("AS refused the token request: %s" % _ace_error(response))
        body = cbor2.loads(response.payload)
        if not isinstance(body.get(P_ACCESS_TOKEN), bytes):
            raise ClientError("token response without access_token")
        if edhoc_key is None and not isinstance((body.get(P_CNF) or {}).get(CNF_OSC), dict):
            raise ClientError("token response without cnf.osc")
        if edhoc_key is not None and (
                body.get(P_ACE_PROFILE) != profile
                or not isinstance((body.get(P_RS_CNF) or {}).get(EDHOC["kccs"]), dict)):
            raise ClientError("token response without ace_profile %d and rs_cnf (the RS's "
                              "CCS)" % profile)
        self.log("AS: 2.01 token, %d bytes, expires in %s s"
                 % (len(body[P_ACCESS_TOKEN]), body.get(2)))
        return body

    async def authz_info(self, rs_uri, token, client_rid=None):
        """POST /authz-info {access_token, nonce1, ace_client_recipientid} -> (nonce1, nonce2,
        client_rid, server_rid) (RFC 9203 §4.1)."""
        import aiocoap
        nonce1 = os.urandom(NONCE_LEN)
        client_rid = os.urandom(1) if client_rid is None else client_rid
        payload = cbor2.dumps({P_ACCESS_TOKEN: token, P_NONCE1: nonce1,
                               P_CLIENT_RID: client_rid})
        response = await self._send(aiocoap.POST, _origin(rs_uri) + "/authz-info", payload,
                                    CT_ACE_CBOR)
        if response.code != aiocoap.CREATED:
            raise ClientError("RS refused the token at /authz-info: %s" % response.code)
        try:
            body = cbor2.loads(response.payload)
            nonce2, server_rid = body[P_NONCE2], body[P_SERVER_RID]
        except Exception:
            raise ClientError("authz-info 2.01 without nonce2 and ace_server_recipientid") \
                from None
        if not isinstance(nonce2, bytes) or not isinstance(server_rid, bytes) \
                or server_rid == client_rid:
            raise ClientError("authz-info 2.01 with malformed nonce2 / recipient id")
        self.log("RS: 2.01 token accepted, OSCORE context derived (RFC 9203 §4.3)")
        return nonce1, nonce2, client_rid, server_rid

    async def edhoc(self, rs_uri, grant, key):
        """The EDHOC-OSCORE profile's forward flow (draft §4.3), the client as Initiator:
        message_1; message_2 must authenticate the RS as rs_cnf (MAC_2 over that CCS) before
        anything else is sent; message_3 carries the token in EAD_3 (critical item); the OSCORE
        context (RFC 9528 A.1) is bound for the later requests."""
        import aiocoap

        from .edhoc_initiator import Initiator, encode_id

        cred_r = cbor2.dumps(grant[P_RS_CNF][EDHOC["kccs"]], canonical=True)
        info = grant.get(EDHOC["edhoc_info_param"]) or {}
        path = info.get(EDHOC["edhoc_info_uri_path"], EDHOC_PATH)
        if not isinstance(path, str) or not path.startswith("/"):
            raise ClientError("edhoc_info uri_path must be an absolute path")
        ead_3 = cbor2.dumps(-EDHOC["ead_access_token"]) + cbor2.dumps(grant[P_ACCESS_TOKEN])
        initiator = Initiator(key.sk, key.cred, c_i=os.urandom(1), ead_3=ead_3)
        uri = _origin(rs_uri) + path
        response = await self._send(aiocoap.POST, uri, b"\xf5" + initiator.message_1(),
                                    CT_EDHOC)
        if response.code != aiocoap.CHANGED:
            raise ClientError("RS refused message_1: %s %s" % (response.code,
                                                              _edhoc_error(response)))
        try:
            c_r = initiator.message_2(response.payload, cred_r)
        except Exception:  # MAC_2 or the message itself: not the RS of rs_cnf
            raise ClientError("message_2 does not authenticate the RS named by rs_cnf; "
                              "the token was not sent") from None
        self.log("RS: message_2 authenticates it as rs_cnf (kid %s)"
                 % cbor2.loads(cred_r)[8][1][2].hex())
        response = await self._send(aiocoap.POST, uri,
                                    encode_id(c_r) + initiator.message_3(), CT_EDHOC)
        if response.code != aiocoap.CHANGED:
            raise ClientError("RS refused message_3 (the token): %s %s"
                              % (response.code, _edhoc_error(response)))
        self.log("RS: 2.04, token accepted in EAD_3; OSCORE context from EDHOC (RFC 9528 A.1)")
        self.bind(rs_uri, memory_context(*initiator.oscore()))

    def bind(self, rs_uri, secctx):
        """Protect every later request to the RS with `secctx`."""
        self.contexts[_origin(rs_uri)] = secctx

    async def request(self, method, uri, payload=b"", content_format=None):
        """A request, OSCORE-protected when a context is bound to its origin -> the response
        (unprotected by the same context; an unprotected error answer is returned as is).

        aiocoap's OSCORE transport needs its EDHOC module (lakers); aiocoap.oscore's own
        protect/unprotect do the same work here without it."""
        import aiocoap
        message = aiocoap.Message(code=aiocoap.Code[method], uri=uri, payload=payload)
        if content_format is not None:
            message.opt.content_format = content_format
        secctx = self.contexts.get(_origin(uri))
        if secctx is None:
            return await self.context.request(message).response
        outer, request_id = secctx.protect(message)
        outer.remote = message.remote
        return await self.send_protected(outer, secctx, request_id)

    def protect(self, method, uri, payload=b""):
        """(outer message, context, request id) for a request, not sent (the demo replays
        one)."""
        import aiocoap
        message = aiocoap.Message(code=aiocoap.Code[method], uri=uri, payload=payload)
        secctx = self.contexts[_origin(uri)]
        outer, request_id = secctx.protect(message)
        outer.remote = message.remote
        return outer, secctx, request_id

    async def send_protected(self, outer, secctx, request_id):
        """Send a protected request; unprotect the answer (unprotected errors as they are)."""
        response = await self.context.request(outer).response
        if response.opt.oscore is None:
            return response
        plain, _ = secctx.unprotect(response, request_id)
        return plain

    async def connect(self, uri, client_id, secret, as_uris, audience=None, scope=None,
                      method="GET", edhoc_key=None):
        """The whole flow up to a bound OSCORE context. The client secret goes only to an AS
        the client was configured with (`as_uris`, a URI or a list): AS Request Creation
        Hints are unprotected (a spoofed 4.01, a malicious RS), so they may pick one of the
        configured ASes and are otherwise only reported (RFC 9200 §5.3, §6). An RS that wants
        fresh tokens puts a cnonce in its hints (RFC 9200 §5.3.1): a token refused without one
        is asked for again with it."""
        configured = configured_ases(as_uris)
        if not configured:
            hinted = (await self.hints(uri, method))[HINT_AS]
            raise ClientError("the RS names AS %s, which is not configured: the client sends "
                              "its secret only to an AS given with --as" % hinted)
        as_uri = configured[0]
        hints = {}
        if len(configured) > 1 or audience is None:
            hints = await self.hints(uri, method)
            as_uri = choose_as(configured, hints[HINT_AS], self.log)
            audience = audience or hints.get(HINT_AUDIENCE)
        grant = await self.token(as_uri, client_id, secret, audience, scope,
                                 hints.get(HINT_CNONCE), edhoc_key)
        if edhoc_key is not None:  # the EDHOC-OSCORE profile: the token travels in EAD_3
            await self.edhoc(uri, grant, edhoc_key)
            return grant
        try:
            await self.use_token(uri, grant[P_ACCESS_TOKEN], grant[P_CNF][CNF_OSC])
        except ClientError:
            if hints:
                raise
            hints = await self.hints(uri, method)
            if HINT_CNONCE not in hints:
                raise
            self.log("RS: wants a token with its cnonce; asking the AS again")
            grant = await self.token(as_uri, client_id, secret, audience, scope,
                                     hints[HINT_CNONCE])
            await self.use_token(uri, grant[P_ACCESS_TOKEN], grant[P_CNF][CNF_OSC])
        return grant

    async def use_token(self, uri, token, osc):
        """Post a token the client holds (with its OSCORE material) and bind the context."""
        n1, n2, crid, srid = await self.authz_info(uri, token)
        self.bind(uri, oscore_context(osc, n1, n2, sender_id=srid, recipient_id=crid))


def _edhoc_error(response):
    """ERR_INFO of an EDHOC error message (RFC 9528 §6) in a 4.00, for the one-line message."""
    try:
        items = list(cbor2.loads(b"\x9f" + response.payload + b"\xff"))
        return "(EDHOC error %s: %s)" % (items[0], items[1])
    except Exception:  # not an EDHOC error message
        return ""


class EdhocKey:
    """The client's EDHOC key: NAME.cose (COSE_Key with d) and its CCS NAME.ccs beside it,
    as `keys new --alg ES256 --ccs` writes them; the CCS must hold this very key."""

    def __init__(self, path):
        from cryptography.hazmat.primitives.asymmetric import ec

        from . import keys

        path = str(path)
        cred_path = (path[:-5] if path.endswith(".cose") else path) + ".ccs"
        try:
            key = keys.load_cose_key(path)
            with open(cred_path, "rb") as f:
                self.cred = f.read()
            public = cbor2.loads(self.cred)[8][1]
        except keys.KeyFileError as exc:
            raise ClientError(str(exc)) from None
        except OSError as exc:
            raise ClientError("cannot read %s: %s" % (cred_path, exc.strerror)) from None
        except Exception:  # malformed CCS
            raise ClientError("%s is not a CCS (CWT Claims Set with a cnf COSE_Key)"
                              % cred_path) from None
        d = key.get(wire.D)
        if key.get(wire.KTY) != wire.KTY_EC2 or not isinstance(d, bytes):
            raise ClientError("%s: the EDHOC key must be a P-256 private key (ES256)" % path)
        x = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1()).public_key() \
            .public_numbers().x.to_bytes(32, "big")
        if public.get(wire.X) != x:
            raise ClientError("%s does not hold the key of %s" % (cred_path, path))
        self.sk = d


def configured_ases(as_uris):
    """The ASes the client may send its credentials to, as a list."""
    if isinstance(as_uris, str):
        as_uris = [as_uris]
    return [uri for uri in (as_uris or ()) if uri]


def choose_as(configured, hinted, log):
    """The configured AS the RS's hint names, else the first configured one; a hint naming
    an AS that is not configured is only reported, never followed (RFC 9200 §6)."""
    for uri in configured:
        if token_endpoint(uri) == token_endpoint(hinted):
            return uri
    log("note: the RS names AS %s, which is not configured; using %s"
        % (hinted, configured[0]))
    return configured[0]


def read_secret(path):
    """The client secret from its file (never from the command line)."""
    try:
        with open(path, "rb") as f:
            secret = f.read().strip()
    except OSError as exc:
        raise ClientError("cannot read %s: %s" % (path, exc.strerror)) from None
    if not secret:
        raise ClientError("%s is empty" % path)
    return secret


def payload_text(response):
    """A response payload for printing: text when it decodes, else CBOR diagnostic or hex."""
    try:
        return response.payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        from .tokens import diagnostic
        return diagnostic(cbor2.loads(response.payload))
    except Exception:  # not CBOR either
        return response.payload.hex()


def read_token_files(path):
    """A token minted by `token mint`: PATH and its OSCORE material PATH.osc."""
    try:
        with open(path, "rb") as f:
            token = f.read()
        with open(str(path) + ".osc", "rb") as f:
            osc = cbor2.loads(f.read())
    except OSError as exc:
        raise ClientError("cannot read %s: %s" % (exc.filename, exc.strerror)) from None
    except Exception:  # malformed CBOR
        raise ClientError("%s.osc is not OSCORE material (CBOR map)" % path) from None
    if not isinstance(osc, dict) or not isinstance(osc.get(OSC_MS), bytes):
        raise ClientError("%s.osc is not OSCORE material (CBOR map)" % path)
    return token, osc


async def run(method, uri, client_id=None, secret=None, as_uris=None, audience=None, scope=None,
              payload=b"", content_format=None, log=print, token=None, edhoc_key=None):
    """`microace client get|put`: the full flow (or a held token: (token, osc)), then the
    request -> aiocoap response. edhoc_key: the EDHOC-OSCORE profile with this EdhocKey."""
    session = await Session.create(log)
    try:
        if token is not None:
            await session.use_token(uri, *token)
        else:
            await session.connect(uri, client_id, secret, as_uris, audience, scope, method,
                                  edhoc_key)
        response = await session.request(method, uri, payload, content_format)
        log("RS: %s over OSCORE" % response.code)
        return response
    finally:
        await session.shutdown()
