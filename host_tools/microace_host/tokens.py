"""Token tools on the host: mint, inspect, and ask the firmware (on the unix port) for its
verdict on a token. CWTs are made with python-cwt, JWTs (JWS compact, or nested: a JWE with
A128KW + A128CBC-HS256 around the JWS, RFC 7519 §5.2) with joserfc."""

import base64
import json
import time

import cbor2

from . import keys, unix_port, wire
from .wire import (HDR_KID, COSE_TAGS, ALG_ES256, ALG_EDDSA, ALG_HS256, ALGORITHMS, CNF_OSC,
                   OSC_MS)


def is_jwt(token):
    """A JWT (JWS or JWE compact) starts with the base64url of '{' (as the board tells it)."""
    return token[:1] == b"e"


def token_kid(token):
    """The kid a token names in its outermost COSE headers (a JWT: its JOSE header, as the
    UTF-8 bytes the board looks up), if it can be read; else None."""
    if is_jwt(token):
        try:
            kid = json.loads(b64url_decode(token.split(b".")[0])).get("kid")
        except Exception:  # any malformed token: the firmware will say what is wrong
            return None
        return kid.encode() if isinstance(kid, str) else None
    try:
        obj = cbor2.loads(token)
        while isinstance(obj, cbor2.CBORTag) and obj.tag in COSE_TAGS + (61,):
            obj = obj.value
        protected = cbor2.loads(obj[0]) if obj[0] else {}
        kid = protected.get(HDR_KID, obj[1].get(HDR_KID))
    except Exception:  # any malformed token: the firmware will say what is wrong
        return None
    return kid if isinstance(kid, bytes) else None


def check(token, key, audience, issuer=None, now=None, heap=None):
    """Run the firmware's verification of `token` with `key` (a COSE_Key map, or a list of them
    for a nested token: the RS's encryption key and the AS key) -> verdict dict.

    A single key without a kid is bound to the kid the token names, as provisioning would do.
    """
    trusted = [keys.verification_key(k) for k in (key if isinstance(key, list) else [key])]
    if len(trusted) == 1 and wire.KID not in trusted[0]:
        kid = token_kid(token)
        if kid is not None:
            trusted[0][wire.KID] = kid
    request = {"token": token.hex(), "keys": [cbor2.dumps(k).hex() for k in trusted],
               "audience": audience, "issuer": issuer,
               "now": int(time.time()) if now is None else now}
    out = unix_port.run_script("check_token.py", json.dumps(request), heap=heap)
    return json.loads(out.strip().splitlines()[-1])


# --- minting and inspection (host side, python-cwt) ---------------------------------------

# CWT claims (RFC 8392 §9.1, RFC 9200 §8.13, RFC 8747 §3.1) and OSCORE_Input_Material labels
# (RFC 9203 §3.2.1).
CLAIMS = {1: "iss", 2: "sub", 3: "aud", 4: "exp", 5: "nbf", 6: "iat", 7: "cti", 8: "cnf",
          9: "scope", 38: "ace_profile", 39: "cnonce", 40: "exi"}
# Token forms: the COSE layers, outermost first (Encrypt0 needs the RS's shared AEAD key), or
# "jwt": a JWS compact JWT signed by the AS key (ES256, EdDSA) or MACed by the RS's HS256 key,
# nested in a JWE (A128KW + A128CBC-HS256) when the RS's encryption key is an A128KW key.
FORMS = ("encrypt0", "encrypt0+sign1", "encrypt0+mac0", "sign1", "mac0", "jwt")
# CWT labels -> JWT claim names (RFC 7519 §4.1, RFC 9200 §8.14, RFC 7800 §3.1).
JWT_NAMES = {1: "iss", 2: "sub", 3: "aud", 4: "exp", 5: "nbf", 6: "iat", 7: "jti", 8: "cnf",
             9: "scope", 38: "ace_profile", 39: "cnonce", 40: "exi"}
JWS_ALGS = {alg: ALGORITHMS[alg][0] for alg in (ALG_ES256, ALG_EDDSA, ALG_HS256)}
# The one JWE algorithm pair the board accepts (jwe.py): RFC 7518 §4.4 and §5.2.3.
JWE_HEADER = {"alg": "A128KW", "enc": "A128CBC-HS256", "cty": "JWT"}  # RFC 7519 §5.2
# OSCORE_Input_Material labels -> JSON member names (RFC 9203 §3.2.1, Figure 9).
OSC_NAMES = {0: "id", 1: "version", 2: "ms", 3: "hkdf", 4: "alg", 5: "salt", 6: "contextId"}
JWT_LABELS = {name: label for label, name in JWT_NAMES.items()}
SECRET_MEMBERS = ("ms", "d", "k")  # JSON: osc master secret, JWK private / symmetric key
SECRET_LABELS = {OSC_MS, -1, -4}  # osc ms, COSE_Key k (symmetric) / d (private)


class MintError(Exception):
    """Keys or claims that cannot make the requested token; the message is one line."""


def _cwt_key(key):
    """A python-cwt key from a COSE_Key map; never echoes key bytes in errors."""
    import cwt
    try:
        return cwt.COSEKey.new(dict(key))
    except Exception as exc:  # python-cwt raises ValueError/KeyError/... for bad maps
        raise MintError("unusable key (kid %s): %s" % (key.get(wire.KID, b"").hex() or "none",
                                                       type(exc).__name__)) from None


def _layer(payload, key):
    """One tagged COSE layer (Sign1, Mac0 or Encrypt0 by the key's kty/alg), alg protected and
    kid unprotected as the firmware expects."""
    import cwt
    alg, kid = key.get(wire.ALG), key.get(wire.KID)
    if not isinstance(kid, bytes) or not kid:
        raise MintError("every token key needs a kid (COSE_Key label 2)")
    return cwt.COSE.new().encode(payload, _cwt_key(key), protected={1: alg},
                                 unprotected={4: kid})


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    text = text if isinstance(text, bytes) else text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def _jwk(key):
    """joserfc key from a COSE_Key map (EC2 P-256, OKP Ed25519 or an HMAC secret)."""
    from joserfc.jwk import ECKey, OctKey, OKPKey
    kty = key.get(wire.KTY)
    if kty == wire.KTY_SYMMETRIC:
        return OctKey.import_key({"kty": "oct", "k": b64url(key[-1])})
    if -4 not in key:
        raise MintError("a JWT signing key needs its private part")
    if kty == wire.KTY_EC2:
        return ECKey.import_key({"kty": "EC", "crv": "P-256", "x": b64url(key[-2]),
                                 "y": b64url(key[-3]), "d": b64url(key[-4])})
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": b64url(key[-2]),
                              "d": b64url(key[-4])})


def jwt_claims(claims, confidential=False):
    """CWT claims (int labels) -> a JWT claims set: byte strings (cti, cnonce, osc members)
    base64url text, CBOR-encoded AIF scopes as the JSON array. cnf only when `confidential`
    (a nested JWT): a JWS alone is not encrypted."""
    out = {}
    for label, value in claims.items():
        name = JWT_NAMES.get(label, str(label))
        if label == 8:
            if not confidential:
                raise MintError("a JWS is not encrypted and cannot carry cnf: the OSCORE master "
                                "secret needs a confidential token (RFC 9203 §3.2); give an "
                                "A128KW encryption key for a nested JWT")
            if set(value) != {CNF_OSC}:
                raise MintError("a JWT's cnf here is osc only")
            value = {"osc": {OSC_NAMES[k]: b64url(v) if isinstance(v, bytes) else v
                             for k, v in value[CNF_OSC].items()}}
        elif label == 9 and isinstance(value, bytes):
            value = cbor2.loads(value)
        elif isinstance(value, bytes):
            value = b64url(value)
        out[name] = value
    return out


def text_kid(key, what):
    kid = key.get(wire.KID)
    try:
        kid = kid.decode("utf-8") if isinstance(kid, bytes) and kid else None
    except UnicodeDecodeError:
        kid = None
    if kid is None:
        raise MintError("%s names its key by a text kid: give the key a UTF-8 kid" % what)
    return kid


def is_wrap_key(key):
    return key is not None and key.get(wire.ALG) == wire.ALG_A128KW


def mint_jwt(claims, key, wrap_key=None):
    """A JWS compact JWT of `claims` (int labels) signed with `key` (a COSE_Key map with alg
    ES256, EdDSA or HS256 and a UTF-8 kid, the bytes the board looks up); with `wrap_key` (an
    A128KW COSE_Key shared with the RS) nested in a JWE (RFC 7519 §5.2, sign then encrypt)."""
    from joserfc import jwe, jwt
    from joserfc.jwk import OctKey
    alg = JWS_ALGS.get(key.get(wire.ALG))
    if alg is None:
        raise MintError("a JWT key must be ES256, EdDSA or HS256")
    if wrap_key is not None and not (is_wrap_key(wrap_key)
                                     and isinstance(wrap_key.get(wire.K), bytes)):
        raise MintError("a nested JWT's encryption key must be an A128KW key")
    header = {"alg": alg, "kid": text_kid(key, "a JWT"), "typ": "at+jwt"}  # RFC 9068 §2.1
    jws = jwt.encode(header, jwt_claims(claims, wrap_key is not None), _jwk(key),
                     algorithms=[alg])
    if wrap_key is None:
        return jws.encode()
    outer = dict(JWE_HEADER, kid=text_kid(wrap_key, "a nested JWT"))
    return jwe.encrypt_compact(outer, jws, OctKey.import_key(wrap_key[wire.K]),
                               algorithms=[outer["alg"], outer["enc"]]).encode()


def confidential(form, encryption_key):
    """Whether a token of `form` is encrypted, so may carry cnf.osc (RFC 9203 §3.2)."""
    return form.startswith("encrypt0") or (form == "jwt" and is_wrap_key(encryption_key))


def mint(claims, form, signing_key=None, mac_key=None, encryption_key=None):
    """Encode `claims` (int labels) as a token of `form` (see FORMS) -> token bytes.

    cnf.osc is symmetric key material: it goes only into forms with an Encrypt0 layer or into
    a nested JWT (RFC 8747 §3.3, RFC 7800 §3.3, RFC 9203 §3.2).
    """
    if form not in FORMS:
        raise MintError("unknown token form %r: choose one of %s" % (form, ", ".join(FORMS)))
    if form == "jwt":
        key = signing_key if signing_key is not None else mac_key
        if key is None:
            raise MintError("a JWT needs a signing key or an HS256 key")
        return mint_jwt(claims, key, encryption_key if is_wrap_key(encryption_key) else None)
    layers = form.split("+")
    cnf = claims.get(8)
    if layers[0] != "encrypt0" and isinstance(cnf, dict) and CNF_OSC in cnf:
        raise MintError("cnf.osc needs an Encrypt0 layer (RFC 9203 §3.2): use form encrypt0 or "
                        "encrypt0+sign1")
    need = {"sign1": signing_key, "mac0": mac_key, "encrypt0": encryption_key}
    for layer in layers:
        if need[layer] is None:
            raise MintError("token form %s needs a %s key" % (form, layer))
    if "sign1" in layers and signing_key.get(wire.KTY) not in (wire.KTY_EC2, wire.KTY_OKP):
        raise MintError("the signing key must be ES256 or EdDSA")
    if "mac0" in layers and mac_key.get(wire.ALG) not in (4, 5):
        raise MintError("the MAC key must be HMAC 256/64 or HS256")
    if "encrypt0" in layers and encryption_key.get(wire.ALG) not in (10, 11, 12, 13, 30, 31,
                                                                        32, 33):
        raise MintError("the encryption key must be an AES-CCM key (e.g. A128CCM)")
    payload = cbor2.dumps(claims)
    for layer in reversed(layers):  # innermost first; RFC 8392 A.6 nesting
        payload = _layer(payload, need[layer])
    return payload


def redacted(obj):
    """A copy of decoded CBOR with every secret (osc ms, COSE_Key k/d) replaced by a text that
    says only how long it was."""
    if isinstance(obj, dict):
        return {k: ("<secret: %d bytes>" % len(v) if k in SECRET_LABELS and isinstance(v, bytes)
                    else redacted(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redacted(v) for v in obj]
    if isinstance(obj, cbor2.CBORTag):
        return cbor2.CBORTag(obj.tag, redacted(obj.value))
    return obj


def redacted_json(obj):
    """A copy of JSON claims with secrets (osc ms, JWK d and k) replaced by their length."""
    if isinstance(obj, dict):
        return {k: ("<secret: %d characters>" % len(v) if k in SECRET_MEMBERS
                    and isinstance(v, str) else redacted_json(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redacted_json(v) for v in obj]
    return obj


def _json_segment(segment):
    value = json.loads(b64url_decode(segment))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _unwrap_jwe(token, header, decrypt_keys):
    """The JWS inside a nested JWT, opened with the A128KW key of decrypt_keys that fits (joserfc
    checks the tag); None if none does."""
    from joserfc import jwe
    from joserfc.jwk import OctKey
    kid = header.get("kid")
    wrap = [k for k in decrypt_keys if is_wrap_key(k) and isinstance(k.get(wire.K), bytes)]
    usable = [k for k in wrap if k.get(wire.KID) == (kid or "").encode()] or wrap
    for key in usable:
        try:
            return jwe.decrypt_compact(token, OctKey.import_key(key[wire.K]),
                                       algorithms=[JWE_HEADER["alg"], JWE_HEADER["enc"]]).plaintext
        except Exception:  # wrong key or a token that does not decrypt: try the next
            continue
    return None


def inspect_jwt(token, decrypt_keys=()):
    """A JWT -> (layers [(name, header)], claims or None, note). A nested JWT's JWE opens only
    with its A128KW key in decrypt_keys; signatures are not checked here."""
    layers = []
    segments = token.split(b".")
    if len(segments) == 5:
        try:
            header = _json_segment(segments[0])
        except Exception as exc:
            return layers, None, "not a JWT: %s" % exc
        layers.append(("JWE", header))
        inner = _unwrap_jwe(token, header, decrypt_keys)
        if inner is None:
            return layers, None, "encrypted: give the RS's A128KW key with --key to see the claims"
        segments = inner.split(b".")
    if len(segments) != 3:
        return layers, None, "not a JWS compact JWT: %d segments" % len(segments)
    try:
        header, claims = _json_segment(segments[0]), _json_segment(segments[1])
    except Exception as exc:
        return layers, None, "not a JWT: header and claims must be JSON objects (%s)" % exc
    layers.append(("JWS", header))
    return layers, claims, None


def diagnostic(obj):
    """CBOR diagnostic notation (cbor-diag) of a decoded value."""
    import cbor_diag
    return cbor_diag.cbor2diag(cbor2.dumps(obj))


def _time(value):
    return "%s (%s UTC)" % (value, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value)))


def claim_rows(claims):
    """[(name, text)] for a claims table; secrets redacted, AIF scopes decoded."""
    rows = []
    for label, value in claims.items():
        name = CLAIMS.get(label, str(label))
        if isinstance(label, str):  # a JWT claims set
            name, label = label, JWT_LABELS.get(label)
            if label == 8:
                rows.append((name, json.dumps(redacted_json(value))))
                continue
            if label == 9 and isinstance(value, list):
                value = "AIF %s" % json.dumps(value)
        if label in (4, 5, 6) and isinstance(value, (int, float)):
            text = _time(value)
        elif label == 9 and isinstance(value, bytes):
            try:
                text = "AIF %s" % json.dumps(cbor2.loads(value))
            except Exception:  # not CBOR: show the bytes
                text = "h'%s'" % value.hex()
        elif label == 8:
            text = diagnostic(redacted(value))
        elif isinstance(value, bytes):
            text = "h'%s'" % value.hex()
        else:
            text = str(value)
        rows.append((name, text))
    return rows


def inspect(token, decrypt_keys=()):
    """Open the layers of `token` -> (layers [(structure, protected, unprotected)], claims or
    None, note). Encrypt0 opens only with a key in decrypt_keys (COSE_Key maps); signatures
    are not verified here (that is `token check`)."""
    import cwt
    names = {16: "COSE_Encrypt0", 17: "COSE_Mac0", 18: "COSE_Sign1", 61: "CWT"}
    layers, data = [], token
    for _ in range(3):
        try:
            obj = cbor2.loads(data)
        except Exception as exc:
            return layers, None, "not CBOR: %s" % exc
        while isinstance(obj, cbor2.CBORTag) and obj.tag == 61:
            obj = obj.value
        if not (isinstance(obj, cbor2.CBORTag) and obj.tag in COSE_TAGS
                and isinstance(obj.value, list) and len(obj.value) == (3 if obj.tag == 16 else 4)):
            if isinstance(obj, dict) and layers:
                return layers, obj, None
            return layers, None, "not a tagged COSE message"
        tag, (protected, unprotected, payload) = obj.tag, obj.value[:3]
        try:
            protected = cbor2.loads(protected) if protected else {}
        except Exception:
            protected = {"undecodable": protected}
        layers.append((names[tag], protected, unprotected))
        if tag == 16:
            kid = unprotected.get(HDR_KID) if isinstance(unprotected, dict) else None
            usable = [k for k in decrypt_keys if k.get(wire.KID) == kid] or list(decrypt_keys)
            for key in usable:
                try:
                    data = cwt.COSE.new().decode(data, _cwt_key(key))
                    break
                except Exception:  # wrong key: try the next
                    continue
            else:
                return layers, None, "encrypted: give the RS key with --key to see the claims"
        else:
            data = payload
    return layers, None, "nested more than expected"


def print_inspection(token, decrypt_keys=(), console=None):
    """`token inspect`: layers and claims in diagnostic notation, then a claims table."""
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    if is_jwt(token):
        layers, claims, note = inspect_jwt(token, decrypt_keys)
        console.print("token: %d bytes, %s" % (len(token), "nested JWT (JWE around a JWS)"
                                                if token.count(b".") == 4 else "JWT (JWS compact)"))
        for name, header in layers:
            console.print("%s header %s" % (name, json.dumps(redacted_json(header))),
                          markup=False, highlight=False)
        if claims is not None:
            console.print("claims %s" % json.dumps(redacted_json(claims)), markup=False,
                          highlight=False)
    else:
        layers, claims, note = inspect(token, decrypt_keys)
        console.print("token: %d bytes" % len(token))
        for structure, protected, unprotected in layers:
            console.print("%s protected %s unprotected %s" % (
                structure, diagnostic(redacted(protected)), diagnostic(redacted(unprotected))),
                markup=False, highlight=False)
        if claims is not None:
            console.print("claims %s" % diagnostic(redacted(claims)), markup=False,
                          highlight=False)
    if claims is None:
        console.print(note, markup=False)
        return
    table = Table(title="claims")
    table.add_column("claim")
    table.add_column("value")
    for name, text in claim_rows(claims):
        table.add_row(name, text)
    console.print(table)
