"""AS emulator: the token endpoint (RFC 9200 §5.8) and introspection (§5.9) on aiocoap.

Issues ACE-OSCORE tokens (RFC 9203): the AS makes the OSCORE_Input_Material, puts it in the
token's cnf.osc (inside an Encrypt0 layer, with the key it shares with the RS) and gives the
same material to the client in the response's cnf (§3.2). Clients authenticate with client_id +
client_secret in the request (an emulator's stand-in for the secure channel RFC 9200 §5.8.1
asks for): it listens on loopback only.
"""

import hmac
import ipaddress
import os
import time
import tomllib
from pathlib import Path
from typing import TypeVar

import cbor2

from . import keys, tokens, wire
from .wire import (CT_ACE_CBOR, P_ACCESS_TOKEN, P_EXPIRES_IN, P_AUDIENCE, P_CNF, P_SCOPE, P_ACTIVE,
                   P_TOKEN, P_CLIENT_ID, P_CLIENT_SECRET, P_ERROR, P_ERROR_DESCRIPTION,
                   P_GRANT_TYPE, P_TOKEN_TYPE, P_ACE_PROFILE, P_REQ_CNF, P_CNONCE, P_RS_CNF,
                   GRANT_CLIENT_CREDENTIALS, TOKEN_TYPE_POP, CNF_OSC, OSC_ID, OSC_MS, OSC_SALT,
                   ACE_PROFILE_COAP_OSCORE, EDHOC, INVALID_REQUEST, INVALID_CLIENT,
                   UNSUPPORTED_GRANT_TYPE, INVALID_SCOPE, UNSUPPORTED_POP_KEY,
                   INCOMPATIBLE_ACE_PROFILES)

MAX_CNONCE = 64
OSC_ID_LEN, OSC_MS_LEN, OSC_SALT_LEN = 4, 16, 8  # ms 16 bytes for AES-CCM-16-64-128
_T = TypeVar("_T")  # _get's KIND


class ConfigError(Exception):
    """An AS config that cannot be used; the message is one line naming the setting."""


class TokenRequestError(Exception):
    """A refused token request: RFC 9200 error code and a description for the client."""

    def __init__(self, code, description):
        super().__init__(description)
        self.code = code
        self.description = description


class RS:
    def __init__(self, audience, form, encryption_key, mac_key, introspection_secret,
                 credential=None):
        self.audience = audience
        self.form = form
        self.encryption_key = encryption_key
        self.mac_key = mac_key
        self.introspection_secret = introspection_secret
        # profile "edhoc" (the EDHOC-OSCORE profile): the board's CCS, given to clients as
        # rs_cnf; None: the ACE-OSCORE profile
        self.credential = credential


class Policy:
    """What one client may get for one audience: text scope names and/or AIF entries."""

    def __init__(self, names, aif):
        self.names = names
        self.aif = aif

    def grant(self, requested):
        """The scope to put in the token for a request's scope (None: the whole policy)."""
        if requested is None:
            if self.aif:
                return cbor2.dumps(self.aif)
            return " ".join(self.names)
        if isinstance(requested, str):
            asked = requested.split(" ")
            if not requested or any(n not in self.names for n in asked):
                raise TokenRequestError(INVALID_SCOPE, "scope not granted to this client")
            return requested
        if isinstance(requested, bytes):
            try:
                asked = cbor2.loads(requested)
                allowed = dict((path, mask) for path, mask in self.aif)
                ok = isinstance(asked, list) and asked and all(
                    isinstance(p, str) and type(m) is int and m > 0
                    and m & allowed.get(p, 0) == m for p, m in asked)
            except Exception:  # malformed AIF
                ok = False
            if not ok:
                raise TokenRequestError(INVALID_SCOPE, "AIF scope not granted to this client")
            return requested
        raise TokenRequestError(INVALID_REQUEST, "scope must be text or AIF bytes")


def _read(base, value, what):
    path = base / value
    try:
        return path, path.read_bytes()
    except OSError as exc:
        raise ConfigError("%s: cannot read %s: %s" % (what, path, exc.strerror)) from None


def _read_secret(base, value, what):
    path, data = _read(base, value, what)
    secret = data.strip()
    if not secret:
        raise ConfigError("%s: %s is empty" % (what, path))
    return secret


def _key(base, value, what):
    try:
        return keys.load_cose_key(base / value)
    except keys.KeyFileError as exc:
        raise ConfigError("%s: %s" % (what, exc)) from None


def _known(table, names, where):
    if not isinstance(table, dict):
        raise ConfigError("%s must be a table" % where)
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ConfigError("%s: unknown setting %r (known: %s)" % (where, unknown[0],
                                                                   ", ".join(names)))


def _get(table: dict, name: str, kind: type[_T], where: str, default=None) -> _T:
    value = table.get(name, default)
    if not isinstance(value, kind):
        raise ConfigError("%s: %r must be %s" % (where, name, {str: "a string", int: "an integer",
                                                               list: "a list"}.get(kind, kind)))
    return value


def _ccs(base, value, what):
    """A CCS file (P-256 cnf COSE_Key with a kid) -> its bytes, as EDHOC hashes them."""
    path, raw = _read(base, value, what)
    try:
        key = cbor2.loads(raw)[8][1]
        ok = key[wire.KTY] == wire.KTY_EC2 and isinstance(key.get(wire.KID), bytes)
    except (ValueError, TypeError, KeyError, IndexError, cbor2.CBORDecodeError):
        ok = False
    if not ok:
        raise ConfigError("%s: %s is not a CCS with a P-256 cnf COSE_Key and a kid"
                          % (what, path))
    return raw


class Config:
    """The AS config (TOML): issuer, keys, RSs, clients, policies. Paths are relative to the
    config file; secrets live in files, never in the config itself."""

    def __init__(self, issuer, signing_key, lifetime, expiration, rss, clients, policies,
                 credentials=None):
        self.issuer = issuer
        self.credentials = credentials or {}  # client id -> CCS (EDHOC-OSCORE profile)
        self.signing_key = signing_key
        self.lifetime = lifetime
        self.expiration = expiration
        self.rss = rss
        self.clients = clients
        self.policies = policies

    @classmethod
    def load(cls, path):
        path = Path(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError as exc:
            raise ConfigError("cannot read %s: %s" % (path, exc.strerror)) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("%s is not valid TOML: %s" % (path, exc)) from None
        return cls.from_dict(data, path.parent)

    @classmethod
    def from_dict(cls, data, base):
        base = Path(base)
        _known(data, ("issuer", "signing_key", "token_lifetime", "expiration", "rs", "client",
                      "policy"), "config")
        issuer = _get(data, "issuer", str, "config")
        signing_key = None
        if data.get("signing_key") is not None:
            signing_key = _key(base, _get(data, "signing_key", str, "config"), "signing_key")
            if signing_key.get(wire.D) is None:
                raise ConfigError("signing_key: needs the private key (COSE_Key with d)")
            if signing_key.get(wire.ALG) not in (wire.ALG_ES256, wire.ALG_EDDSA):
                raise ConfigError("signing_key: must be an ES256 or EdDSA key")
        lifetime = _get(data, "token_lifetime", int, "config", default=3600)
        if not 0 < lifetime <= 366 * 86400:
            raise ConfigError("config: token_lifetime must be 1 .. 31622400 seconds")
        expiration = _get(data, "expiration", str, "config", default="exp")
        if expiration not in ("exp", "exi"):
            raise ConfigError("config: expiration must be \"exp\" or \"exi\"")
        rss = {}
        for i, entry in enumerate(_get(data, "rs", list, "config")):
            where = "rs[%d]" % i
            _known(entry, ("audience", "token_form", "token_format", "encryption_key",
                           "mac_key", "introspection_secret_file", "profile", "credential"),
                   where)
            audience = _get(entry, "audience", str, where)
            profile = _get(entry, "profile", str, where, default="oscore")
            if profile not in ("oscore", "edhoc"):
                raise ConfigError("%s: profile must be oscore or edhoc" % where)
            credential = None
            if profile == "edhoc":  # the board's CCS from `provision --edhoc --rs-cred-out`
                credential = _ccs(base, _get(entry, "credential", str, where),
                                  where + ".credential")
                if entry.get("token_format", "cwt") != "cwt":
                    raise ConfigError("%s: profile edhoc issues CWTs (kccs)" % where)
            elif "credential" in entry:
                raise ConfigError("%s: credential is for profile edhoc" % where)
            token_format = _get(entry, "token_format", str, where, default="cwt")
            if token_format not in ("cwt", "jwt"):
                raise ConfigError("%s: token_format must be cwt or jwt" % where)
            if token_format == "jwt":  # nested JWTs (JWE around JWS): the board's one JWE pair
                if "token_form" in entry:
                    raise ConfigError("%s: token_form is for CWTs (token_format cwt)" % where)
                form = "jwt"
            else:
                form = _get(entry, "token_form", str, where, default="encrypt0+sign1")
                if form not in ("encrypt0", "encrypt0+sign1", "encrypt0+mac0"):
                    raise ConfigError("%s: token_form must be encrypt0, encrypt0+sign1 or "
                                      "encrypt0+mac0 (cnf.osc needs an Encrypt0 layer)" % where)
            enc = _key(base, _get(entry, "encryption_key", str, where), where + ".encryption_key")
            if form == "jwt":
                if not tokens.is_wrap_key(enc) or not isinstance(enc.get(wire.K), bytes):
                    raise ConfigError("%s.encryption_key: token_format jwt needs an A128KW "
                                      "COSE_Key (the JWE around the JWS carries cnf.osc)" % where)
                if signing_key is None and entry.get("mac_key") is None:
                    raise ConfigError("%s: token_format jwt needs signing_key or mac_key" % where)
                for key in (enc, signing_key):
                    if key is None:
                        continue
                    try:
                        tokens.text_kid(key, "a JWT")
                    except tokens.MintError as exc:
                        raise ConfigError("%s: %s" % (where, exc)) from None
            elif enc.get(wire.ALG) != wire.ALG_A128CCM or not isinstance(enc.get(wire.K), bytes):
                raise ConfigError("%s.encryption_key: must be an A128CCM COSE_Key" % where)
            mac = None
            if form == "encrypt0+mac0" or entry.get("mac_key") is not None:
                mac = _key(base, _get(entry, "mac_key", str, where), where + ".mac_key")
                if mac.get(wire.ALG) not in (4, 5):
                    raise ConfigError("%s.mac_key: must be an HS256 COSE_Key" % where)
            if form == "encrypt0+sign1" and signing_key is None:
                raise ConfigError("%s: token_form encrypt0+sign1 needs signing_key" % where)
            secret = None
            if entry.get("introspection_secret_file") is not None:
                secret = _read_secret(base, _get(entry, "introspection_secret_file", str, where),
                                      where + ".introspection_secret_file")
            if audience in rss:
                raise ConfigError("%s: audience %r appears twice" % (where, audience))
            rss[audience] = RS(audience, form, enc, mac, secret, credential)
        clients = {}
        credentials = {}  # client id -> its CCS (EDHOC-OSCORE profile)
        for i, entry in enumerate(_get(data, "client", list, "config")):
            where = "client[%d]" % i
            if "secret" in entry:
                raise ConfigError("%s: secrets are read from files: use secret_file" % where)
            _known(entry, ("id", "secret_file", "credential"), where)
            client_id = _get(entry, "id", str, where)
            if client_id in clients:
                raise ConfigError("%s: client id %r appears twice" % (where, client_id))
            clients[client_id] = _read_secret(base, _get(entry, "secret_file", str, where),
                                              where + ".secret_file")
            if entry.get("credential") is not None:  # `keys new --alg ES256 --ccs`
                credentials[client_id] = _ccs(base, _get(entry, "credential", str, where),
                                              where + ".credential")
        policies = {}
        for i, entry in enumerate(_get(data, "policy", list, "config")):
            where = "policy[%d]" % i
            _known(entry, ("client", "audience", "scopes", "aif"), where)
            client_id = _get(entry, "client", str, where)
            audience = _get(entry, "audience", str, where)
            if client_id not in clients:
                raise ConfigError("%s: unknown client %r" % (where, client_id))
            if audience not in rss:
                raise ConfigError("%s: unknown audience %r" % (where, audience))
            names = _get(entry, "scopes", list, where, default=[])
            aif = _get(entry, "aif", list, where, default=[])
            if not names and not aif:
                raise ConfigError("%s: give scopes (names) or aif ([[path, methods], ...])"
                                  % where)
            if not all(isinstance(n, str) and n and " " not in n for n in names):
                raise ConfigError("%s: scopes must be names without spaces" % where)
            if not all(isinstance(e, list) and len(e) == 2 and isinstance(e[0], str)
                       and e[0].startswith("/") and type(e[1]) is int and e[1] > 0
                       for e in aif):
                raise ConfigError("%s: aif entries must be [\"/path\", methods-bitmask]" % where)
            policies[(client_id, audience)] = Policy(names, [tuple(e) for e in aif])
        return cls(issuer, signing_key, lifetime, expiration, rss, clients, policies,
                   credentials)


def osc_material():
    """Fresh OSCORE_Input_Material (RFC 9203 §3.2.1): id, ms, salt; defaults for the rest."""
    return {OSC_ID: os.urandom(OSC_ID_LEN), OSC_MS: os.urandom(OSC_MS_LEN),
            OSC_SALT: os.urandom(OSC_SALT_LEN)}


class Issuer:
    """Makes token responses from a Config; remembers what it issued for introspection."""

    def __init__(self, config, clock=time.time):
        self.config = config
        self.clock = clock
        self.issued = {}  # token bytes -> claims
        self._seq = {}  # audience -> the last cti sequence number issued for it

    def cti(self, audience):
        """RFC 9200 §5.10.3: the RS's identifier (its audience) followed by a sequence number
        counting this AS's tokens for that RS (8 bytes, big-endian), which the RS keeps a
        high-water mark of. Numbers start from the time in microseconds, so they keep growing
        across restarts of the emulator without a state file (as long as its clock does)."""
        seq = max(self._seq.get(audience, 0) + 1, int(self.clock() * 1e6))
        self._seq[audience] = seq
        return audience.encode() + seq.to_bytes(8, "big")

    def authenticate(self, client_id, secret):
        known = self.config.clients.get(client_id) if isinstance(client_id, str) else None
        if known is None or not isinstance(secret, bytes) \
                or not hmac.compare_digest(known, secret):
            raise TokenRequestError(INVALID_CLIENT, "client authentication failed")

    def claims(self, audience, scope, osc, now, cnonce=None):
        cfg = self.config
        claims = {1: cfg.issuer, 3: audience, 6: now, 7: self.cti(audience),
                  8: {CNF_OSC: osc}, 9: scope, 38: ACE_PROFILE_COAP_OSCORE}
        if cnonce is not None:
            claims[39] = cnonce  # RFC 9200 §5.3.1: the RS checks it is the one it gave out
        if cfg.expiration == "exi":
            claims[40] = cfg.lifetime  # RFC 9200 §5.10.3: exi needs cti
        else:
            claims[4] = now + cfg.lifetime
        return claims

    def token(self, request):
        """A token request (decoded map) -> token response map, or TokenRequestError."""
        if not isinstance(request, dict):
            raise TokenRequestError(INVALID_REQUEST, "payload must be a CBOR map")
        self.authenticate(request.get(P_CLIENT_ID), request.get(P_CLIENT_SECRET))
        if request.get(P_GRANT_TYPE, GRANT_CLIENT_CREDENTIALS) != GRANT_CLIENT_CREDENTIALS:
            raise TokenRequestError(UNSUPPORTED_GRANT_TYPE, "only client_credentials")
        req_cnf = request.get(P_REQ_CNF)
        if req_cnf is not None and req_cnf != {EDHOC["kccs"]: cbor2.loads(
                self.config.credentials.get(request[P_CLIENT_ID], b"\xf6"))}:
            # ACE-OSCORE: the AS makes the material; EDHOC-OSCORE: only the client's
            # registered CCS, by value (kccs; a bare COSE_Key is no EDHOC credential, §3.1)
            raise TokenRequestError(UNSUPPORTED_POP_KEY, "req_cnf: only the client's "
                                    "registered CCS as kccs")
        cnonce = request.get(P_CNONCE)
        if cnonce is not None and not (isinstance(cnonce, bytes) and 0 < len(cnonce)
                                       <= MAX_CNONCE):
            raise TokenRequestError(INVALID_REQUEST, "cnonce must be 1..64 bytes")
        return self.grant(request[P_CLIENT_ID], request.get(P_AUDIENCE), request.get(P_SCOPE),
                          cnonce=cnonce, profile=request.get(P_ACE_PROFILE))

    def grant(self, client_id, audience=None, requested_scope=None, form=None, cnonce=None,
              profile=None):
        """Token response map for an authenticated client, by its policy (also `token mint`).
        form: override the RS's token form; sign1/mac0 and a bare JWS carry no cnf.osc. cnonce:
        the one the client got from the RS's hints (RFC 9200 §5.3.1), put into the token."""
        if audience is None:
            mine = [aud for cid, aud in self.config.policies if cid == client_id]
            if len(mine) != 1:
                raise TokenRequestError(INVALID_REQUEST, "audience required")
            audience = mine[0]
        policy = self.config.policies.get((client_id, audience))
        if policy is None:
            raise TokenRequestError(INVALID_SCOPE, "no access to this audience")
        scope = policy.grant(requested_scope)
        rs = self.config.rss[audience]
        if rs.credential is not None:
            return self._grant_edhoc(client_id, rs, scope, requested_scope, form, cnonce,
                                     profile)
        if profile is not None and profile != ACE_PROFILE_COAP_OSCORE:
            raise TokenRequestError(INCOMPATIBLE_ACE_PROFILES, "this RS: coap_oscore (2)")
        form = form or rs.form
        now = int(self.clock())
        osc = osc_material()
        claims = self.claims(audience, scope, osc, now, cnonce)
        if not tokens.confidential(form, rs.encryption_key):
            del claims[8]
        token = tokens.mint(claims, form, signing_key=self.config.signing_key,
                            mac_key=rs.mac_key, encryption_key=rs.encryption_key)
        self.issued[token] = claims
        response = {P_ACCESS_TOKEN: token, P_ACE_PROFILE: ACE_PROFILE_COAP_OSCORE,
                    P_EXPIRES_IN: self.config.lifetime, P_TOKEN_TYPE: TOKEN_TYPE_POP}
        if 8 in claims:
            response[P_CNF] = {CNF_OSC: osc}
        if requested_scope is None:
            response[P_SCOPE] = scope  # §5.8.2: scope differs from (absent) request
        return response

    def _grant_edhoc(self, client_id, rs, scope, requested_scope, form, cnonce, profile):
        """A token of the EDHOC-OSCORE profile (§3.2, §3.3): the client's CCS bound as kccs,
        edhoc_info with a fresh session_id (a new token series); the response carries the
        board's credential (rs_cnf) and the EDHOC_Information the client needs to reach it."""
        if profile is not None and profile != EDHOC["ace_profile_coap_edhoc_oscore"]:
            raise TokenRequestError(INCOMPATIBLE_ACE_PROFILES, "this RS: coap_edhoc_oscore "
                                    "(%d)" % EDHOC["ace_profile_coap_edhoc_oscore"])
        cred = self.config.credentials.get(client_id)
        if cred is None:
            raise TokenRequestError(UNSUPPORTED_POP_KEY, "client has no credential (CCS) for "
                                    "the EDHOC-OSCORE profile")
        now = int(self.clock())
        claims = self.claims(rs.audience, scope, None, now, cnonce)
        session_id = os.urandom(2)
        claims[8] = {EDHOC["kccs"]: cbor2.loads(cred)}
        claims[38] = EDHOC["ace_profile_coap_edhoc_oscore"]
        claims[EDHOC["edhoc_info_claim"]] = {EDHOC["edhoc_info_session_id"]: session_id}
        token = tokens.mint(claims, form or rs.form, signing_key=self.config.signing_key,
                            mac_key=rs.mac_key, encryption_key=rs.encryption_key)
        self.issued[token] = claims
        info = {EDHOC["edhoc_info_session_id"]: session_id, EDHOC["edhoc_info_methods"]: [1, 3],
                EDHOC["edhoc_info_cipher_suites"]: 2,
                EDHOC["edhoc_info_uri_path"]: "/.well-known/edhoc"}
        response = {P_ACCESS_TOKEN: token, P_ACE_PROFILE: claims[38],
                    P_EXPIRES_IN: self.config.lifetime, P_TOKEN_TYPE: TOKEN_TYPE_POP,
                    P_RS_CNF: {EDHOC["kccs"]: cbor2.loads(rs.credential)},
                    EDHOC["edhoc_info_param"]: info}
        if requested_scope is None:
            response[P_SCOPE] = scope
        return response

    def introspect(self, request):
        """An introspection request (§5.9.1) from an RS -> response map (§5.9.2)."""
        if not isinstance(request, dict):
            raise TokenRequestError(INVALID_REQUEST, "payload must be a CBOR map")
        rs = self.config.rss.get(request.get(P_CLIENT_ID))
        secret = request.get(P_CLIENT_SECRET)
        if rs is None or rs.introspection_secret is None or not isinstance(secret, bytes) \
                or not hmac.compare_digest(rs.introspection_secret, secret):
            raise TokenRequestError(INVALID_CLIENT, "RS authentication failed")
        token = request.get(P_TOKEN)
        if not isinstance(token, bytes):
            raise TokenRequestError(INVALID_REQUEST, "token (11) must be a byte string")
        claims = self.issued.get(token)
        if claims is None or claims[3] != rs.audience:
            return {P_ACTIVE: False}
        expires = claims.get(4, claims[6] + claims.get(40, 0))
        if self.clock() >= expires:
            return {P_ACTIVE: False}
        response = {P_ACTIVE: True, P_TOKEN_TYPE: TOKEN_TYPE_POP}
        response.update(claims)
        return response


def error_payload(exc):
    return cbor2.dumps({P_ERROR: exc.code, P_ERROR_DESCRIPTION: exc.description})


def site(issuer, log=print):
    """The aiocoap site with /token and /introspect."""
    import aiocoap
    import aiocoap.resource as resource

    class Endpoint(resource.Resource):
        def __init__(self, handle, name):
            super().__init__()
            self.handle = handle
            self.name = name

        async def render_post(self, request):
            if request.opt.content_format not in (None, CT_ACE_CBOR):
                return aiocoap.Message(code=aiocoap.UNSUPPORTED_CONTENT_FORMAT)
            try:
                try:
                    body = cbor2.loads(request.payload)
                except Exception:  # any malformed CBOR
                    raise TokenRequestError(INVALID_REQUEST, "payload is not CBOR") from None
                answer = self.handle(body)
            except TokenRequestError as exc:
                # §5.8.3: invalid_client is 4.01, the other errors 4.00.
                code = aiocoap.UNAUTHORIZED if exc.code == INVALID_CLIENT else \
                    aiocoap.BAD_REQUEST
                log("%s: refused (%s)" % (self.name, exc.description))
                return aiocoap.Message(code=code, payload=error_payload(exc),
                                       content_format=CT_ACE_CBOR)
            if self.name == "token":
                claims = issuer.issued[answer[P_ACCESS_TOKEN]]
                log("token: issued to %s for %s (%d bytes, %s)" % (
                    body.get(P_CLIENT_ID), claims[3], len(answer[P_ACCESS_TOKEN]),
                    issuer.config.rss[claims[3]].form))
                code = aiocoap.CREATED
            else:
                log("introspect: %s" % ("active" if answer[P_ACTIVE] else "inactive"))
                code = aiocoap.CONTENT
            return aiocoap.Message(code=code, payload=cbor2.dumps(answer),
                                   content_format=CT_ACE_CBOR)

    root = resource.Site()
    root.add_resource(["token"], Endpoint(issuer.token, "token"))
    root.add_resource(["introspect"], Endpoint(issuer.introspect, "introspect"))
    return root


def parse_bind(bind):
    """"HOST:PORT" -> (host, port); loopback only (the token response carries secrets over
    plain CoAP)."""
    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port)
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise ConfigError("--bind must be HOST:PORT with a numeric IP, got %r" % bind) from None
    if not sep or not 0 <= port < 65536:
        raise ConfigError("--bind must be HOST:PORT, got %r" % bind)
    if not loopback:
        raise ConfigError("the AS emulator serves plain CoAP: bind it to a loopback address")
    return host, port


async def start(config, bind, log=print):
    """Start the AS on `bind` ("HOST:PORT") -> (aiocoap context, Issuer)."""
    import aiocoap
    host, port = parse_bind(bind)
    issuer = Issuer(config)
    context = await aiocoap.Context.create_server_context(site(issuer, log), bind=(host, port))
    return context, issuer


def serve(config_path, bind, log=print):
    """Run the AS until interrupted."""
    import asyncio
    config = Config.load(config_path)
    parse_bind(bind)

    async def run():
        context, _ = await start(config, bind, log)
        log("AS %s on coap://%s: /token /introspect (%d RS, %d clients)" % (
            config.issuer, bind, len(config.rss), len(config.clients)))
        try:
            await asyncio.Event().wait()
        finally:
            await context.shutdown()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


def mint_files(config_path, client_id, audience, scope, aif_json, form, out_file):
    """`token mint`: a token from the config's policies -> lines to print. The token goes to
    out_file, the client's OSCORE material (a secret) to out_file + ".osc", both 0600."""
    import json
    config = Config.load(config_path)
    if client_id not in config.clients:
        raise ConfigError("unknown client %r" % client_id)
    if scope is not None and aif_json is not None:
        raise ConfigError("give --scope or --aif, not both")
    requested = scope
    if aif_json is not None:
        try:
            requested = cbor2.dumps(json.loads(aif_json))
        except ValueError:
            raise ConfigError("--aif must be JSON like [[\"/temp\", 1]]") from None
    response = Issuer(config).grant(client_id, audience, requested, form)
    token = response[P_ACCESS_TOKEN]
    keys.write_secret_file(out_file, token)
    lines = ["token: %s (%d bytes)" % (out_file, len(token))]
    if P_CNF in response:
        keys.write_secret_file(out_file + ".osc", cbor2.dumps(response[P_CNF][CNF_OSC]))
        lines.append("OSCORE material for the client: %s.osc (secret, 0600)" % out_file)
    else:
        lines.append("no cnf.osc: a %s token cannot carry OSCORE material" % form)
    return lines
