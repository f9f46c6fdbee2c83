"""A small RFC-exact EDHOC Initiator (RFC 9528, suite 2, methods 1 and 3) on
pyca/cryptography and cbor2: the host client of the EDHOC-OSCORE profile and the tests' peer,
where lakers-python cannot go (an access token in EAD_3 makes context_3 longer than 256
bytes, where lakers' MAC_3 departs from the RFC; method 1; kccs by value; chosen faults).
Checked byte for byte against RFC 9529 Trace 2 (tests/firmware/test_edhoc.py: its message_3
is the trace's, and the firmware Responder accepts it)."""

import hashlib
import hmac

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from . import keys, wire

P = 2**256 - 2**224 + 2**192 + 2**96 - 1
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


def h(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def expand(prk, info, length):
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def kdf(prk, label, context, length):
    return expand(prk, cbor2.dumps(label) + cbor2.dumps(context) + cbor2.dumps(length), length)


def encode_id(c):
    if len(c) == 1 and (c[0] <= 0x17 or 0x20 <= c[0] <= 0x37):
        return c
    return cbor2.dumps(c)


def private_key(d):
    return ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())


def point(x):
    """An x-only P-256 key -> cryptography public key (either y)."""
    X = int.from_bytes(x, "big")
    y = pow((X**3 - 3 * X + B) % P, (P + 1) // 4, P)
    return ec.EllipticCurvePublicNumbers(X, y, ec.SECP256R1()).public_key()


def ccs(sub, kid, key):
    """The CCS of a cryptography private key (keys.ccs)."""
    n = key.public_key().public_numbers()
    return keys.ccs({wire.KID: kid, wire.X: n.x.to_bytes(32, "big"),
                     wire.Y: n.y.to_bytes(32, "big")}, sub)


class Initiator:
    """method 3 (static DH) or 1 (ES256 signature) with key sk_i (bytes) and its CCS cred_i;
    id_cred_i: the PLAINTEXT_3 form (default: the compact kid of cred_i)."""

    def __init__(self, sk_i, cred_i, method=3, c_i=b"\x37", x=None, ead_1=b"", ead_3=b"",
                 id_cred_i=None, suites=2):
        self.sk_i = private_key(sk_i)
        self.cred_i = cred_i
        self.kid_i = cbor2.loads(cred_i)[8][1][2]
        self.id_cred_i = id_cred_i if id_cred_i is not None else encode_id(self.kid_i)
        self.method = method
        self.c_i = c_i
        self.x = private_key(x) if x else ec.generate_private_key(ec.SECP256R1())
        self.ead_1 = ead_1
        self.ead_3 = ead_3
        self.suites = suites

    def message_1(self):
        g_x = self.x.public_key().public_numbers().x.to_bytes(32, "big")
        self.m1 = (cbor2.dumps(self.method) + cbor2.dumps(self.suites) + cbor2.dumps(g_x)
                   + encode_id(self.c_i) + self.ead_1)
        return self.m1

    def message_2(self, m2, cred_r):
        """Check message_2 against the Responder's CCS cred_r -> C_R (raises on a bad MAC)."""
        body = cbor2.loads(m2)
        g_y, ct = body[:32], body[32:]
        th_2 = h(cbor2.dumps(g_y), cbor2.dumps(h(self.m1)))
        self.g_y = point(g_y)
        prk_2e = extract(th_2, self.x.exchange(ec.ECDH(), self.g_y))
        pt = bytes(a ^ b for a, b in zip(ct, kdf(prk_2e, 0, th_2, len(ct))))
        items = list(cbor2.loads(b"\x9f" + pt + b"\xff"))
        c_r, id_cred_r, mac_2 = items[:3]
        c_r = cbor2.dumps(c_r) if isinstance(c_r, int) else c_r
        self.c_r = c_r
        key_r = cbor2.loads(cred_r)[8][1]
        if isinstance(id_cred_r, dict):  # by value (the profile's Credential By Value)
            if id_cred_r != {14: cbor2.loads(cred_r)}:
                raise ValueError("ID_CRED_R is not the expected credential")
            id_map = id_plain = b"\xa1\x0e" + cred_r
        else:
            id_map, id_plain = cbor2.dumps({4: key_r[2]}), cbor2.dumps(id_cred_r)
        self.id_cred_r_by_value = isinstance(id_cred_r, dict)
        ead_2 = pt[len(encode_id(c_r) + id_plain + cbor2.dumps(mac_2)):]
        self.ead_2 = items[3:]  # EAD_2 items, as decoded
        g_r = ec.EllipticCurvePublicNumbers(int.from_bytes(key_r[-2], "big"),
                                            int.from_bytes(key_r[-3], "big"),
                                            ec.SECP256R1()).public_key()
        self.prk_3e2m = extract(kdf(prk_2e, 1, th_2, 32), self.x.exchange(ec.ECDH(), g_r))
        want = kdf(self.prk_3e2m, 2, encode_id(c_r) + id_map + cbor2.dumps(th_2) + cred_r
                   + ead_2, 8)
        if want != mac_2:
            raise ValueError("MAC_2 does not verify")
        self.th_3 = h(cbor2.dumps(th_2), pt, cred_r)
        return c_r

    def message_3(self, mac_override=None):
        th3 = cbor2.dumps(self.th_3)
        if self.method == 3:
            salt = kdf(self.prk_3e2m, 5, self.th_3, 32)
            self.prk_4e3m = extract(salt, self.sk_i.exchange(ec.ECDH(), self.g_y))
            mac_len = 8
        else:
            self.prk_4e3m = self.prk_3e2m
            mac_len = 32
        id_cred_i_map = cbor2.dumps({4: self.kid_i}) if self.id_cred_i[0] != 0xA1 \
            else self.id_cred_i
        context = th3 + self.cred_i + self.ead_3
        mac_3 = kdf(self.prk_4e3m, 6, id_cred_i_map + context, mac_len)
        if self.method == 3:
            sig = mac_3
        else:
            tbs = cbor2.dumps(["Signature1", id_cred_i_map, context, mac_3])
            r, s = decode_dss_signature(self.sk_i.sign(tbs, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if mac_override is not None:
            sig = mac_override
        pt = self.id_cred_i + cbor2.dumps(sig) + self.ead_3
        k = kdf(self.prk_3e2m, 3, self.th_3, 16)
        iv = kdf(self.prk_3e2m, 4, self.th_3, 13)
        ct = AESCCM(k, tag_length=8).encrypt(iv, pt, cbor2.dumps(["Encrypt0", b"", self.th_3]))
        self.th_4 = h(th3, pt, self.cred_i)
        self.prk_out = kdf(self.prk_4e3m, 7, self.th_4, 32)
        return cbor2.dumps(ct)

    def message_4(self, m4):
        k = kdf(self.prk_4e3m, 8, self.th_4, 16)
        iv = kdf(self.prk_4e3m, 9, self.th_4, 13)
        return AESCCM(k, tag_length=8).decrypt(iv, cbor2.loads(m4),
                                               cbor2.dumps(["Encrypt0", b"", self.th_4]))

    def oscore(self):
        """Master Secret, Master Salt, Sender ID (C_R), Recipient ID (C_I) of the Initiator."""
        prk_exporter = kdf(self.prk_out, 10, b"", 32)
        return (kdf(prk_exporter, 0, b"", 16), kdf(prk_exporter, 1, b"", 8), self.c_r, self.c_i)
