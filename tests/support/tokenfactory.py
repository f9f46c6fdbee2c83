"""Host-side token minting for the interop tests: python-cwt makes tokens, the firmware checks them.

Keys come from python-cwt (`cwt.COSEKey`), tokens from `cwt.encode` or python-cwt's COSE layer
(`cwt.COSE.new().encode`, which also carries `cnf.osc`, refused by `cwt.encode`). Tokens that a
correct issuer never produces (wrong headers, alg confusion, bad tags) are put together here with
cbor2 and signed/MACed/encrypted by python-cwt keys over the exact protected bytes (RFC 9052
§4.4, §5.3, §6.3). `MP_VERIFY` is the MicroPython side: key stores and a verdict per token.
"""

import hashlib
import io

import cbor2
import cwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

NOW = 1_700_000_000
ISS = "coaps://as.example"
AUD = "rs1"

# CWT claim labels (RFC 8392 §9.1, RFC 9200 §8.13, RFC 8747 §3.1).
CLAIM = {"iss": 1, "sub": 2, "aud": 3, "exp": 4, "nbf": 5, "iat": 6, "cti": 7, "cnf": 8,
         "scope": 9, "ace_profile": 38, "cnonce": 39, "exi": 40}
TAG_ENCRYPT0, TAG_MAC0, TAG_SIGN1, TAG_CWT = 16, 17, 18, 61
KEY_LEN = {4: 32, 5: 32, 10: 16, 11: 32, 12: 16, 13: 32, 30: 16, 31: 32, 32: 16, 33: 32}
CCM_ALGS = (10, 11, 12, 13, 30, 31, 32, 33)
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _seed(label, size=32):
    """Fixed key material per label: failures reproduce with the same keys."""
    return hashlib.sha256(b"microace-test-key:" + label).digest()[:size]


def signing_key(alg, kid, seed=b""):
    """A python-cwt private key for "ES256" or "EdDSA", deterministic per (alg, kid, seed)."""
    seed = _seed(alg.encode() + b":" + kid + seed)
    if alg == "ES256":
        private = ec.derive_private_key(int.from_bytes(seed, "big") % (P256_N - 1) + 1,
                                        ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cwt.COSEKey.from_pem(pem, alg=alg, kid=kid)


def pem(key, private=False):
    """PEM of a python-cwt signing key: PKCS#8 private key or SubjectPublicKeyInfo."""
    d = key.to_dict()[-4]
    if key.kty == 2:
        k = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
    else:
        k = ed25519.Ed25519PrivateKey.from_private_bytes(d)
    if private:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    return k.public_key().public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)


def symmetric_key(alg, kid, secret=None, seed=b""):
    """A python-cwt symmetric key (HMAC 4/5, AES-CCM 10-13/30-33), deterministic per
    (alg, kid, seed) unless `secret` is given."""
    if secret is None:
        secret = _seed(b"%d:" % alg + kid + seed, KEY_LEN[alg])
    return cwt.COSEKey.from_symmetric_key(secret, alg=alg, kid=kid)


def cose_key_map(key, kid=True):
    """The COSE_Key map a verifier holds: public part (or the secret), alg, kid; no key_ops."""
    m = {k: v for k, v in key.to_dict().items() if k not in (4, -4)}  # key_ops, private d
    if key.kty == 4:
        m[-1] = key.key  # symmetric: -1 is k
    if not kid:
        m.pop(2, None)
    return m


def trusted_key(key, **kw):
    """CBOR bytes of the COSE_Key to provision into the board's key store."""
    return cbor2.dumps(cose_key_map(key, **kw))


def claims(**kw):
    """A valid claims map (int labels) for audience AUD at NOW; keyword None drops a claim."""
    c = {1: ISS, 3: AUD, 4: NOW + 3600, 5: NOW - 60, 6: NOW - 60, 7: b"cti-1", 9: "read"}
    for name, value in kw.items():
        label = CLAIM[name]
        if value is None:
            c.pop(label, None)
        else:
            c[label] = value
    return c


def mint(claims_map, key, tagged=False):
    """python-cwt's own CWT path (`cwt.encode`): alg protected, kid unprotected; tag 61 if tagged.
    It fills in exp/nbf/iat when absent and refuses cnf.osc: use protect() for those."""
    return cwt.encode(claims_map, key, tagged=tagged)


def protect(payload, key, protected=None, unprotected=None, cwt_tag=False, cose_tag=True):
    """python-cwt's COSE layer around `payload` (bytes, or a claims dict CBOR-encoded here)."""
    if isinstance(payload, dict):
        payload = cbor2.dumps(payload)
    p = {1: key.alg} if protected is None else protected
    u = {4: key.kid} if unprotected is None else dict(unprotected)
    out = cwt.COSE.new().encode(payload, key, protected=p, unprotected=u)
    if not cose_tag:
        out = untag(out)
    return wrap61(out) if cwt_tag else out


def craft(tag, key, payload, protected, unprotected):
    """A COSE message put together by hand, signed/MACed/encrypted by python-cwt's `key` over the
    exact protected bytes given (a dict is CBOR-encoded); the tag (16, 17, 18, or None for an
    untagged Sign1) says which structure is built, whatever the headers claim."""
    if isinstance(payload, dict):
        payload = cbor2.dumps(payload)
    prot = protected if isinstance(protected, bytes) else cbor2.dumps(protected)
    if tag == TAG_ENCRYPT0:
        aad = cbor2.dumps(["Encrypt0", prot, b""])
        parts = [prot, unprotected, key.encrypt(payload, unprotected[5], aad)]
    else:
        context = "MAC0" if tag == TAG_MAC0 else "Signature1"
        parts = [prot, unprotected, payload,
                 key.sign(cbor2.dumps([context, prot, b"", payload]))]
    return cbor2.dumps(parts if tag is None else cbor2.CBORTag(tag, parts))


def parts(token):
    """(tags outside-in, COSE array) of a token."""
    obj, tags = cbor2.loads(token), []
    while isinstance(obj, cbor2.CBORTag):
        tags.append(obj.tag)
        obj = obj.value
    return tags, obj


def rebuild(tags, array):
    obj = array
    for t in reversed(tags):
        obj = cbor2.CBORTag(t, obj)
    return cbor2.dumps(obj)


def untag(token):
    """The bare COSE array, every tag removed."""
    return rebuild([], parts(token)[1])


def retag(token, *tags):
    """The same COSE array under other tags (outside-in)."""
    return rebuild(list(tags), parts(token)[1])


def wrap61(token):
    return cbor2.dumps(cbor2.CBORTag(TAG_CWT, cbor2.loads(token)))


def replace(token, index, value):
    """The token with element `index` of its COSE array replaced, tags kept."""
    tags, array = parts(token)
    array = list(array)
    array[index] = value
    return rebuild(tags, array)


def spans(token):
    """Byte ranges of the parts of a tagged or untagged COSE token, for bit flips:
    protected/payload/signature (or ciphertext) cover the content of their byte strings,
    unprotected the whole map, kid the content of the kid inside it."""
    _, array = parts(token)
    names = ["protected", "unprotected"] + (["ciphertext"] if len(array) == 3
                                           else ["payload", "signature"])
    out, at = {}, 0
    for name, element in zip(names, array):
        encoded = cbor2.dumps(element)
        start = token.index(encoded, at)
        at = start + len(encoded)
        head = len(encoded) - len(element) if isinstance(element, bytes) else 0
        out[name] = (start + head, at)
        if name == "unprotected" and 4 in element:
            kid = cbor2.dumps(element[4])
            kid_at = token.index(kid, start) + len(kid) - len(element[4])
            out["kid"] = (kid_at, kid_at + len(element[4]))
    return out


def flip(token, byte, bit):
    b = bytearray(token)
    b[byte] ^= 1 << bit
    return bytes(b)


def strict_loads(data):
    """cbor2.loads that also rejects trailing bytes (cbor2 ignores them)."""
    fp = io.BytesIO(data)
    value = cbor2.CBORDecoder(fp).decode()
    if fp.tell() != len(data):
        raise ValueError("trailing bytes")
    return value


def der_signature(raw):
    """Raw r || s -> the DER (X9.62) encoding that COSE forbids (RFC 9053 §2.1)."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def encrypted_cose_key(pop_key, rs_key):
    """Encrypted_COSE_Key (RFC 8747 §3.3): a COSE_Encrypt0 array of the COSE_Key, by python-cwt."""
    return cwt.EncryptedCOSEKey.from_cose_key(cwt.COSEKey.new(cose_key_map(pop_key)), rs_key)


def osc(**kw):
    """OSCORE_Input_Material (RFC 9203 §3.2.1) with id and ms; keyword None drops a field."""
    fields = {"id": 0, "version": 1, "ms": 2, "hkdf": 3, "alg": 4, "salt": 5, "contextId": 6}
    m = {0: b"\x01", 2: bytes(range(16)), 5: b"\x9e\x7c\xa9\x22\x23\x78\x63\x40"}
    for name, value in kw.items():
        if value is None:
            m.pop(fields[name], None)
        else:
            m[fields[name]] = value
    return m


# MicroPython side: `_tf_store(name, [(cose_key_bytes, issuer), ...])` builds a key store;
# `_tf_verify(store, token, aud, now, issuer, leeway)` and `_tf_validate(store, claims_cbor, aud,
# now, issuers, leeway, encrypted)` return ("ok", claims, cnf, encrypted) or "ErrorClass: reason"
# (CBOR tags inside the claims come back as ("tag", number, value)).
MP_VERIFY = """
from microace import cbor as _tf_cbor, cose as _tf_cose, cwt as _tf_cwt
from microace.errors import MicroaceError as _tf_Err
from microace.keystore import SoftwareKeyStore as _tf_KS
try:
    _tf_stores
except NameError:
    _tf_stores = {}
def _tf_store(name, keys):
    if name in _tf_stores:
        return
    ks = _tf_KS()
    for k, iss in keys:
        ks.add(_tf_cose.parse_key(k), iss)
    _tf_stores[name] = ks
def _tf_cnf(cnf):
    if cnf is None or cnf[0] != 'key':
        return cnf
    k = cnf[1]
    pub = k.public.encoded if k.kty == 1 else k.public
    return ('key', k.kty, k.kid, k.alg, pub, k.secret)
def _tf_plain(v):
    if isinstance(v, _tf_cbor.Tag):
        return ('tag', v.tag, _tf_plain(v.value))
    if isinstance(v, list):
        return [_tf_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _tf_plain(x) for k, x in v.items()}
    return v
def _tf_run(f, *args):
    try:
        t = f(*args)
    except _tf_Err as e:
        return '%s: %s' % (type(e).__name__, e.args[0] if e.args else '')
    except Exception as e:
        return 'UNEXPECTED %s: %s' % (type(e).__name__, e)
    return ('ok', _tf_plain(t.claims), _tf_cnf(t.cnf), t.encrypted)
def _tf_verify(store, token, aud, now, issuer=None, leeway=0):
    return _tf_run(_tf_cwt.verify, token, _tf_stores[store], aud, now, issuer, leeway)
def _tf_validate(store, claims, aud, now, issuers=(None,), leeway=0, encrypted=False):
    try:
        claims = _tf_cbor.decode(claims)
    except _tf_Err as e:
        return 'DecodeError: %s' % e.args[0]
    return _tf_run(_tf_cwt.validate, claims, _tf_stores.get(store), aud, now, list(issuers),
                   leeway, encrypted)
"""


def mp_setup(mp, stores):
    """Load MP_VERIFY and build the named key stores: {name: [(python-cwt key or COSE_Key
    bytes, issuer), ...]}. A store is built once per MicroPython process: a name stands for
    one fixed set of keys (the keys here are deterministic)."""
    mp.exec(MP_VERIFY)
    for name, keys in stores.items():
        rows = [(k if isinstance(k, bytes) else trusted_key(k), iss) for k, iss in keys]
        mp.exec("_tf_store(%r, %r)" % (name, rows))


def verdict(result):
    """'ok' or the error class name of a _tf_verify/_tf_validate result."""
    return result[0] if isinstance(result, tuple) else result.split(":")[0]
