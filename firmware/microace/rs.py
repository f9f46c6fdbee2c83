"""The resource server: /authz-info (RFC 9200 §5.10.1, RFC 9203 §4) and OSCORE-protected
resources with access control from the token's scope.

    rs = ResourceServer(keystore, config)
    @rs.resource("/temp", methods=("GET",))
    def temp(request):
        return Message(codes.CONTENT, b"21.5").add(options.CONTENT_FORMAT, formats.TEXT_PLAIN)
    server = Server(rs.handle, bind, critical=rs.CRITICAL)

A resource gets the decrypted inner request and returns a Message; raising an error of
errors.py answers with that error's code. There is no path to a resource without a token's
OSCORE context: unprotected requests get 4.01 with AS Request Creation Hints (RFC 9200 §5.3).

The decrypted request is a CoAP request like a plain one (RFC 8613 §8.2), and gets the same
option checks in one place, _call(), before any resource runs: an unprocessable critical option
is 4.02, an Accept the resource does not produce 4.06, an If-Match / If-None-Match that does not
hold 4.12 (what a resource produces and its ETag are declared with resource()); an inner Block1
body is reassembled first (coap/block.py, the server's own Reassembler), and a response larger
than a block goes out in inner Block2 blocks. Every answer to a verified request is protected.
"""

import gc

from micropython import const

from microace import access_token, cbor, oscore, scope
from microace.ace import HINT_ACE_PROFILE, HINT_AS, HINT_AUDIENCE, HINT_CNONCE
from microace.admission import Admission
from microace.coap import codes, formats, option_rules, options
from microace.coap.block import Reassembler, block2, with_block1
from microace.coap.message import Message
from microace.errors import (AudienceError, BadOptionError, ClaimError, ContextExhaustedError,
                             DecodeError, DecryptError, EdhocError, KeyStoreError,
                             MethodNotInScopeError, MicroaceError, NotAcceptableError,
                             NotInScopeError, PreconditionFailedError, ReplayError, ScopeError,
                             StorageError, StoreFullError, TooLargeError, UnknownContextError,
                             VerifyError)
from microace.clock import SKEW, Clock
from microace.profiles.ace_oscore import AceOscore
from microace.token_store import TokenStore

# The critical options of a decrypted request that the RS processes besides those of a plain
# one (option_rules): the conditions of RFC 7252 §5.10.8 (If-Match 0-8 bytes, repeatable;
# If-None-Match empty). Class U options never get this far (oscore.py refuses them inside).
_CONDITIONS = {options.IF_MATCH: option_rules.rule(0, 8, True),
               options.IF_NONE_MATCH: option_rules.rule(0, 0)}
# Inner Block2 blocks of at most 512 bytes: each goes through the OSCORE plaintext and the CCM
# buffers, several copies of it on the heap at once.
_BLOCK2_SZX = const(5)

# The one mapping of the exception tree to CoAP codes (DESIGN.md "Response codes"); the
# first matching row wins, so subclasses come before their base classes.
CODES = (
    (BadOptionError, codes.BAD_OPTION),  # RFC 8613 §8.2: 4.02
    (DecryptError, codes.BAD_REQUEST),  # RFC 8613 §8.2: 4.00
    (UnknownContextError, codes.UNAUTHORIZED),
    (ReplayError, codes.UNAUTHORIZED),
    (ContextExhaustedError, codes.SERVICE_UNAVAILABLE),
    (TooLargeError, codes.REQUEST_ENTITY_TOO_LARGE),
    (StoreFullError, codes.SERVICE_UNAVAILABLE),
    (AudienceError, codes.FORBIDDEN),  # RFC 9200 §5.10.1.1
    (ClaimError, codes.UNAUTHORIZED),
    (VerifyError, codes.UNAUTHORIZED),
    (ScopeError, codes.BAD_REQUEST),
    (NotInScopeError, codes.FORBIDDEN),
    (MethodNotInScopeError, codes.METHOD_NOT_ALLOWED),
    (PreconditionFailedError, codes.PRECONDITION_FAILED),  # RFC 7252 §5.10.8
    (NotAcceptableError, codes.NOT_ACCEPTABLE),  # RFC 7252 §5.10.4
    (DecodeError, codes.BAD_REQUEST),
    (EdhocError, codes.BAD_REQUEST),  # RFC 9528 A.2: the EDHOC error message in a 4.00
    (KeyStoreError, codes.INTERNAL_SERVER_ERROR),
    (StorageError, codes.INTERNAL_SERVER_ERROR),
    (MicroaceError, codes.INTERNAL_SERVER_ERROR),
)


def code_of(error):
    for cls, code in CODES:
        if isinstance(error, cls):
            return code
    return codes.INTERNAL_SERVER_ERROR


def _error(error):
    """An error response to a verified client: its code, and the reason as diagnostic payload
    (RFC 7252 §5.5.2), sent encrypted."""
    reason = error.args[0] if error.args and isinstance(error.args[0], str) else ""
    return Message(code_of(error), reason.encode())


class ResourceServer:
    CRITICAL = (options.OSCORE,)  # the critical option the handler processes itself

    def __init__(self, keystore, config, state=None, persist_tokens=True, gen=0, profiles=None):
        """config: the key store's RS configuration {audience, issuer, as_uri, scope_map,
        limits {max_tokens, max_token_bytes, max_store_bytes}}; state: a state.State that
        survives reboots (None: nothing does); persist_tokens: keep tokens in it (board.json
        "persist"); gen: the key store's generation, which the kept tokens are bound to;
        profiles: the ACE profiles offered (profiles/; ACE-OSCORE alone by default)."""
        self.keystore = keystore
        self.state = state
        self.audience = config["audience"]
        self.issuer = config.get("issuer")
        self.as_uri = config.get("as_uri")
        self.scope_map = config.get("scope_map") or {}
        limits = config.get("limits") or {}
        self.max_token_bytes = limits.get("max_token_bytes", 1024)
        max_tokens = limits.get("max_tokens", 8)
        self.clock = Clock(state, skew=limits.get("clock_skew", SKEW))
        # RFC 9200 §5.3.1: board config "cnonce": true asks every token to carry one back
        # (cnonce.py loaded only then: a module's heap on the unix port).
        self.cnonces = None
        if config.get("cnonce"):
            from microace.cnonce import Cnonces

            self.cnonces = Cnonces(self.clock)
        self.tokens = TokenStore(max_tokens, limits.get("max_store_bytes",
                                                        max_tokens * self.max_token_bytes),
                                 state if persist_tokens else None, clock=self.clock, gen=gen,
                                 restore=oscore.Context.restore)
        self.admission = Admission(self.clock, self.tokens, self.audience, state, self.cnonces)
        self.profiles = profiles or [AceOscore()]  # board.json's order (startup.py)
        # path -> (allowed method codes, function, Content-Formats produced, etag function)
        self.resources = {}
        self.blocks = Reassembler()  # the server's too (startup.py): one budget of transfers

    def resource(self, path, methods=("GET",), formats=(), etag=None):
        """Decorator: serve `path` for these methods ("GET", "PUT", ...) to token holders.
        formats: the Content-Formats its responses carry (an Accept of another is 4.06);
        etag: a function giving the ETag (1-8 bytes) of its current representation, or None
        while it has none. A resource without one always has a representation, with no ETag.
        The RS evaluates If-Match / If-None-Match against it and adds it to 2.05 responses."""
        allowed = tuple(getattr(codes, m) for m in methods)

        def register(function):
            self.resources[path] = (allowed, function, formats, etag)
            return function

        return register

    def handle(self, request, remote):
        """The coap.server.Server handler: one request -> its response Message."""
        try:
            if request.opt(options.OSCORE) is not None:
                return self._protected(request)
            path = request.path()
            upload = None
            for p in self.profiles:
                if p.PATH == path and (upload is None or p.NEW):
                    upload = p
            if upload is None:
                return self._hints(codes.UNAUTHORIZED)
            if not upload.NEW:  # its profiles take new tokens another way (EAD_3)
                return Message(codes.NOT_FOUND)
            return self._authz_info(request, upload)
        except MicroaceError as e:
            if isinstance(e, UnknownContextError):
                return self._hints(codes.UNAUTHORIZED)
            # The code alone: before verification a reason would tell which check failed.
            return Message(code_of(e))

    def _hints(self, code):
        """AS Request Creation Hints (RFC 9200 §5.3): where to get a token, for which audience."""
        return Message(code, cbor.encode(self.hints())).add(options.CONTENT_FORMAT,
                                                             formats.ACE_CBOR)

    def hints(self, audience=True):
        """The hints map; without the audience where it would name the RS to an eavesdropper
        (EAD_2 of EDHOC message_2: EDHOC-OSCORE profile §4.13)."""
        hints = {HINT_AUDIENCE: self.audience} if audience else {}
        if self.as_uri:
            hints[HINT_AS] = self.as_uri
        if self.cnonces is not None:
            hints[HINT_CNONCE] = self.cnonces.fresh()
        if len(self.profiles) > 1:  # which profile to ask the AS for is the client's choice
            hints[HINT_ACE_PROFILE] = [p.NUMBER for p in self.profiles]
        return hints

    # /authz-info

    def _authz_info(self, request, profile, entry=None):
        """POST /authz-info: parse -> verify -> admit -> bind (the profile) -> store.
        Unprotected: a new token, and its new context (RFC 9203 §4.1-4.3). Protected by the
        context of `entry`: an update of access rights (RFC 9203 §4.1, §4.2), the context's
        rights and lifetime replaced, same context; what the profile refuses is 4.01/4.00."""
        if request.code != codes.POST:
            return Message(codes.METHOD_NOT_ALLOWED)
        raw, body = profile.parse(request, self.max_token_bytes, entry)
        token = access_token.verify(raw, self.keystore, self.audience, self.clock.now(),
                                    self.issuer)
        gc.collect()  # the verification's garbage goes before the token's state is made, so
        # that state sits low and the heap above stays in one piece (docs/BENCHMARKS.md)
        seq = self.admission.admit(token)
        pop = profile.pop(token, entry)
        if token.scope is None:
            raise ScopeError("token has no scope")
        perms = scope.permissions(token.scope, self.scope_map)
        if entry is not None:
            self.tokens.update(entry, token.verified, len(raw), token.exp, token.exi, perms,
                               token.iat)
            answer = Message(codes.CREATED)
        else:
            context, answer = profile.bind(self, token, body)
            entry = self.tokens.add(token.verified, pop, token.exp, token.exi, perms, context,
                                    len(raw), token.iat)
        self.admission.admitted(token, seq, entry)
        return answer

    # OSCORE-protected resources

    def _protected(self, request):
        ctx, piv, inner = oscore.unprotect_request(self.tokens.context, request)
        fresh = ctx.fresh(inner.opt(options.ECHO), piv)
        if fresh:
            entry = self.tokens.verified(ctx)
            try:
                if self.tokens.expired(entry):
                    self.tokens.remove(entry)
                    raise ClaimError("token expired")
                response = self._call(inner, entry, ctx)
            except MicroaceError as e:
                response = _error(e)
        else:
            # RFC 8613 App. B.1.2: a context restored after a reboot asks for its Echo value
            # first. The request may be a replay whose nonce a response used already: this
            # answer takes a Partial IV of its own.
            response = Message(codes.UNAUTHORIZED).add(options.ECHO, ctx.echo)
        # Everything after a verified request is answered protected (RFC 8613 §8.3).
        return oscore.protect_response(ctx, piv, response, not fresh)

    def _call(self, inner, entry, ctx):
        """The decrypted request through the checks of a plain one, then its resource. Every
        block of an inner Block1 upload is checked (scope, method, conditions) before it is
        taken; the resource gets the whole body once, never a part (RFC 7959 §2.5)."""
        bad = option_rules.first_bad(inner.options, _CONDITIONS)
        if bad:
            raise BadOptionError("critical option %d not processed" % bad)  # RFC 7252 §5.4.1
        path = inner.path()
        for p in self.profiles:  # an update of access rights, by the context's own profile
            if p.PATH == path and p.owns(entry):  # (RFC 9203 §4.1, EDHOC-OSCORE §4.6)
                return self._authz_info(inner, p, entry)
        scope.check(entry.perms, path, inner.code)
        found = self.resources.get(path)
        if found is None:
            return Message(codes.NOT_FOUND)
        allowed, function, produces, etag = found
        if inner.code not in allowed:
            return Message(codes.METHOD_NOT_ALLOWED)
        accept = inner.uint(options.ACCEPT)
        if accept is not None and accept not in produces:
            raise NotAcceptableError("Content-Format %d not produced here" % accept)
        _precondition(inner, etag)
        block1 = inner.opt(options.BLOCK1)
        if block1 is not None:
            # Keyed by the security context, not the address (RFC 8613 §4.1.3.4.1, RFC 9175
            # §3): only this context's requests continue its transfer.
            inner, response = self.blocks.feed(inner, ctx)
            if response is not None:
                return response
        response = function(inner)
        tag = etag() if etag is not None and response.code == codes.CONTENT else None
        if tag:
            response.add(options.ETAG, tag)
        return with_block1(block2(response, inner.opt(options.BLOCK2), _BLOCK2_SZX), block1)


def _precondition(request, etag):
    """Raise PreconditionFailedError unless If-Match and If-None-Match hold (RFC 7252
    §5.10.8): If-Match needs a current representation whose ETag is one of its values, or
    any representation for the empty value; If-None-Match needs no current representation."""
    if request.opt(options.IF_MATCH) is None and request.opt(options.IF_NONE_MATCH) is None:
        return  # the usual case, without a list
    matches = request.opts(options.IF_MATCH)
    tag = etag() if etag is not None else b""  # b"": it exists; only If-Match b"" names it
    if tag is None:  # no current representation
        if matches:
            raise PreconditionFailedError("no current representation (If-Match)")
    elif request.opt(options.IF_NONE_MATCH) is not None:
        raise PreconditionFailedError("a current representation exists (If-None-Match)")
    elif b"" not in matches and tag not in matches:
        raise PreconditionFailedError("ETag does not match (If-Match)")
