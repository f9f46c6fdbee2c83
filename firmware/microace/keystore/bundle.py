"""Provisioning bundles: check one in full and turn it into the next store state.

Imported only while provisioning, so a board that just boots and verifies tokens does not
hold this code in RAM. A bundle is CBOR {"v": 1, "keys": [{"key": COSE_Key bytes, "iss":
text or null, "table": ES256 table or null}], "config": {...}, "owner": 32 bytes}.
"""

from hashlib import sha256

from microace import cbor, cose
from microace.crypto.ct import ct_eq
from microace.crypto.hmac import hmac_sha256
from microace.errors import KeyStoreError, MicroaceError
from microace.keystore import hex_kid, parse_key

PROOF_LABEL = b"microace-reprovision"
_MAX_ITEMS = 4096
# COSE_Key labels the store keeps (RFC 9052 §7.1, RFC 9053 §7): kty, kid, alg, crv, x, y / k.
_KEY_LABELS = {cose.KTY_EC2: (1, 2, 3, -1, -2, -3), cose.KTY_OKP: (1, 2, 3, -1, -2),
               cose.KTY_SYMMETRIC: (1, 2, 3, -1)}


def proof(owner, bundle, challenge):
    """What re-provisioning a sealed store takes: HMAC-SHA256(owner, PROOF_LABEL ||
    SHA-256(bundle) || challenge)."""
    return hmac_sha256(owner, PROOF_LABEL + sha256(bundle).digest() + challenge)


def check_proof(owner, bundle, given, challenge):
    if given is None:
        raise KeyStoreError("store is sealed: a different bundle needs a proof made with the "
                            "owner secret")
    if challenge is None:
        raise KeyStoreError("store is sealed: ask for a challenge() before each proof")
    if type(given) is not bytes or not ct_eq(proof(owner, bundle, challenge), given):
        raise KeyStoreError("store is sealed: the proof does not match (owner secret, bundle "
                            "or challenge)")


def _fields(m, allowed, what):
    if type(m) is not dict:
        raise KeyStoreError(what + " must be a map")
    for name in m:
        if name not in allowed:
            raise KeyStoreError("%s has an unknown field %r" % (what, name))
    return m


def _text(value, what, optional=False):
    if (value is None and optional) or (type(value) is str and value):
        return value
    raise KeyStoreError("%s must be a non-empty text string" % what)


def _map(value, what):
    if value is None:
        return {}
    if type(value) is not dict:
        raise KeyStoreError(what + " must be a map")
    return value


def _config(c):
    """The RS configuration, checked, with every field present."""
    from microace import scope

    _fields(c, ("audience", "issuer", "as_uri", "scope_map", "limits", "cnonce", "edhoc"),
            "config")
    scope_map = _map(c.get("scope_map"), "config scope_map")
    for name, aif in scope_map.items():
        if type(name) is not str or not name or " " in name:
            raise KeyStoreError("scope_map name %r must be text without spaces" % (name,))
        try:
            if type(aif) is not list:
                raise KeyStoreError("not an AIF array")
            scope.permissions(aif)
        except MicroaceError as e:
            raise KeyStoreError("scope_map %r: %s" % (name, e))
    limits = _map(c.get("limits"), "config limits")
    for name, value in limits.items():
        if type(name) is not str or type(value) is not int or value < 0:
            raise KeyStoreError("config limits %r must be a non-negative integer" % (name,))
    config = {"audience": _text(c.get("audience"), "config audience"),
              "issuer": _text(c.get("issuer"), "config issuer"),
              "as_uri": _text(c.get("as_uri"), "config as_uri", True),
              "scope_map": scope_map, "limits": limits}
    if c.get("cnonce") is not None:  # only when given: older stores compare equal
        if c["cnonce"] is not True:
            raise KeyStoreError("config cnonce must be true when given")
        config["cnonce"] = True
    if c.get("edhoc") is not None:  # only when given, as cnonce
        from microace.keystore.edhoc_record import edhoc_config

        config["edhoc"] = edhoc_config(c["edhoc"], _fields)
    return config


def entry(i, e, stored_table):
    """Key entry number i -> (state entry, cose.Key). An ES256 key without a table gets
    stored_table(key) or one built here (p256.make_table)."""
    try:
        _fields(e, ("key", "iss", "table"), "entry")
        if type(e.get("key")) is not bytes:
            raise KeyStoreError("entry needs key: COSE_Key bytes")
        key, m = parse_key(e["key"])
        iss = _text(e.get("iss"), "iss", True)
        table = e.get("table")
        if key.alg != cose.ALG_ES256:
            if table is not None:
                raise KeyStoreError("only ES256 keys take a verification table")
        else:
            from microace.crypto import p256

            if table is None:
                table = stored_table(key) or p256.make_table(key.public)
            else:
                p256.load_table(table, key.public)
    except MicroaceError as exc:
        raise KeyStoreError("key %d: %s" % (i, exc))
    raw = cbor.encode({label: m[label] for label in _KEY_LABELS[key.kty] if label in m})
    return {"key": raw, "iss": iss, "table": table}, key


def state(data, old, stored_table):
    """Bundle bytes -> (state with gen 0, unsealed; [cose.Key]). `old`: the stored state."""
    try:
        b = cbor.decode(data, 16, _MAX_ITEMS)
    except MicroaceError as e:
        raise KeyStoreError("bundle is not CBOR: %s" % e)
    _fields(b, ("v", "keys", "config", "owner"), "bundle")
    if type(b.get("v")) is not int or b["v"] != 1:
        raise KeyStoreError("bundle version must be 1")
    config = _config(b.get("config"))
    owner = b.get("owner")
    if owner is None and old is not None:
        owner = old["owner"]
    if type(owner) is not bytes or len(owner) != 32:
        raise KeyStoreError("bundle owner must be 32 bytes (required the first time)")
    if type(b.get("keys")) is not list or not b["keys"]:
        raise KeyStoreError("bundle needs a non-empty keys array")
    entries = []
    keys = []
    for i, e in enumerate(b["keys"]):
        ent, key = entry(i, e, stored_table)
        for other in keys:
            if other.kid == key.kid:
                raise KeyStoreError("key %d: kid %s is used twice" % (i, hex_kid(key.kid)))
        entries.append(ent)
        keys.append(key)
    return {"gen": 0, "sealed": False, "owner": owner, "keys": entries, "config": config}, keys
