"""Host-side reading of the published COSE/CWT vectors into what the firmware takes.

cose-wg example files describe keys JWK-style (base64url `x`/`y`/`d`/`k` or `*_hex`) and name
algorithms with JOSE-like strings; RFC 8392 Appendix A gives COSE_Key hex and claims as JSON.
These helpers turn both into CBOR bytes (COSE_Key maps, claims maps) with cbor2.
"""

import base64
import json

import cbor2

# cose-wg algorithm names -> COSE Algorithms registry values (RFC 9053 §2-§4, RFC 8152 §10).
ALGS = {
    "ES256": -7, "ES384": -35, "ES512": -36, "EdDSA": -8,
    "HS256/64": 4, "HS256": 5, "HS384": 6, "HS512": 7,
    "A128GCM": 1, "A192GCM": 2, "A256GCM": 3,
    "AES-CCM-16-128/64": 10, "AES-CCM-16-256/64": 11,
    "AES-CCM-64-128/64": 12, "AES-CCM-64-256/64": 13,
    "AES-CCM-16-128/128": 30, "AES-CCM-16-256/128": 31,
    "AES-CCM-64-128/128": 32, "AES-CCM-64-256/128": 33,
}
KTYS = {"OKP": 1, "EC": 2, "oct": 4}
CURVES = {"P-256": 1, "P-384": 2, "P-521": 3, "Ed25519": 6, "Ed448": 7}
SECTIONS = ("sign0", "mac0", "encrypted")  # the one-recipient message kinds in `input`


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_bytes(jwk, name):
    """A key parameter given as base64url (`x`) or hex (`x_hex`); None when absent."""
    if name + "_hex" in jwk:
        return bytes.fromhex(jwk[name + "_hex"])
    if name in jwk:
        return b64url(jwk[name])
    return None


def cose_key(jwk, alg):
    """A cose-wg JWK -> public COSE_Key CBOR (`d` dropped) that binds `alg` (RFC 9052 §7.1)."""
    key = {1: KTYS[jwk["kty"]], 3: alg}
    if "kid" in jwk:
        key[2] = jwk["kid"].encode()
    if jwk["kty"] == "oct":
        key[-1] = jwk_bytes(jwk, "k")
    else:
        key[-1] = CURVES[jwk["crv"]]
        key[-2] = jwk_bytes(jwk, "x")
        if jwk["kty"] == "EC":
            key[-3] = jwk_bytes(jwk, "y")
    return cbor2.dumps(key)


class Example:
    """One cose-wg example file: its message, key, algorithm, external AAD and plaintext."""

    def __init__(self, path):
        self.name = path.parent.name + "/" + path.name
        self.doc = json.loads(path.read_text())
        inp = self.doc["input"]
        kind = [s for s in SECTIONS if s in inp]
        assert len(kind) == 1, "%s: expected one of %s" % (self.name, SECTIONS)
        self.section = inp[kind[0]]
        self.jwk = (self.section["key"] if "key" in self.section
                    else self.section["recipients"][0]["key"])
        self.alg_name = (self.section.get("alg") or self.section.get("protected", {}).get("alg")
                         or self.section["unprotected"]["alg"])
        self.alg = ALGS[self.alg_name]
        self.external = bytes.fromhex(self.section.get("external", ""))
        self.plaintext = (bytes.fromhex(inp["plaintext_hex"]) if "plaintext_hex" in inp
                          else inp["plaintext"].encode())
        self.message = bytes.fromhex(self.doc["output"]["cbor"])
        self.fail = self.doc.get("fail") is True
        self.intermediates = self.doc.get("intermediates", {})

    def key(self):
        """The example's key as a public COSE_Key bound to the alg the example intends.

        That alg comes from `input`, not from the message: the `*-fail-03/-04` files change
        the message's alg, and the key must keep the one the sender meant.
        """
        return cose_key(self.jwk, self.alg)


def rfc8392_claims(expected):
    """RFC 8392 vector JSON claims (labels as strings, {'bytes_hex': ..}) -> {int: value}."""
    return {int(label): bytes.fromhex(v["bytes_hex"]) if isinstance(v, dict) else v
            for label, v in expected.items()}


def rfc8392_key(data, section, drop=(), alg=None):
    """An RFC 8392 A.2 key's COSE_Key CBOR, without the labels in `drop`, with `alg` if given."""
    [entry] = [k for k in data["keys"] if k["section"] == section]
    key = cbor2.loads(bytes.fromhex(entry["hex"]))
    for label in drop:
        del key[label]
    if alg is not None:
        key[3] = alg
    return cbor2.dumps(key)
