"""EDHOC Responder (RFC 9528): cipher suite 2, methods 1 and 3 (the RS authenticates with
the static DH key of its key store; it never signs).

    r = Responder(keys, handle, cred_r, trust)
    out = r.message_1(msg)            # message_2, or raises EdhocError (the error to send)
    session, out = r.message_3(c_r, msg)   # the finished session, message_4 or None

Every message is parsed strictly (deterministic CBOR, exact types and lengths) before any
crypto. State is bounded: at most max_sessions handshakes wait for message_3 (the oldest is
evicted), each for at most timeout_ms, and messages above max_message bytes are refused. A
duplicate message_1 gets the same message_2 again, no second session (§7); a session takes
one message_3 (replays and message_3 for unknown C_R are refused).

Who may connect is the caller's decision: trust(kid, ccs, ead_3) -> (Credential, grant) or
None (ERR_CODE 3). A trusted-clients list is `TrustedClients`; the EDHOC-OSCORE profile can
pass its own resolver that reads the access token from EAD_3 (ead_labels says which EAD
labels the caller consumes; other critical items abort, other non-critical ones are skipped).
Likewise for EAD_1: ead_1(items) of the labels in ead_1_labels -> (ID_CRED_R by value?,
EAD_2 bytes), the caller's answer to what message_1 asked for.
"""

import hashlib
import time

from micropython import const

from microace import cbor
from microace.crypto import aes_ccm, ecdh
from microace.crypto.ct import ct_eq
from microace.crypto.hkdf import hkdf_expand, hkdf_extract
from microace.errors import DecodeError, EdhocError, MicroaceError, VerifyError

# RFC 9528 §10.2 cipher suite 2: AES-CCM-16-64-128, SHA-256, MAC length 8, P-256, ES256,
# application AES-CCM-16-64-128 / SHA-256
_SUITE = const(2)
_KEY_LEN = const(16)
_IV_LEN = const(13)
_TAG_LEN = const(8)
_HASH_LEN = const(32)
_MAC_LEN = const(8)  # EDHOC MAC length of suite 2 (static DH)
_OSCORE_SALT_LEN = const(8)  # Appendix A.1

_METHOD_SIG_STAT = const(1)  # Initiator signs, Responder static DH
_METHOD_STAT_STAT = const(3)

# EDHOC_KDF info labels (§4.1.2, §4.2.1)
_KS_2 = const(0)
_SALT_3E2M = const(1)
_MAC_2 = const(2)
_K_3 = const(3)
_IV_3 = const(4)
_SALT_4E3M = const(5)
_MAC_3 = const(6)
_PRK_OUT = const(7)
_K_4 = const(8)
_IV_4 = const(9)
_PRK_EXPORTER = const(10)

ERR_UNSPECIFIED = const(1)
_ERR_WRONG_SUITE = const(2)
_ERR_UNKNOWN_CRED = const(3)

_HDR_KID = const(4)  # COSE header parameters (RFC 9052 §3.1, RFC 9528 §3.5.3)
_HDR_KCCS = const(14)
_EAD_PADDING = const(0)  # §3.8.1
_ENCRYPT0 = b"\x83\x68Encrypt0\x40"  # ["Encrypt0", h'', ...] of A_3 / A_4 (§5.4.2)


def _fail(why):
    return EdhocError(ERR_UNSPECIFIED, why)


def error_message(err):
    """The EDHOC error message (§6) of an EdhocError: (ERR_CODE, ERR_INFO)."""
    return cbor.encode(err.args[0]) + cbor.encode(err.args[1])


def kdf(prk, label, context, length):
    """EDHOC_KDF (§4.1.2): HKDF-Expand(PRK, info = (label, context bstr, length))."""
    info = cbor.encode(label) + cbor.encode(context) + cbor.encode(length)
    return hkdf_expand(prk, info, length)


def _h(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def _bstr(b):
    return cbor.encode(b)


# -- connection identifiers (§3.3.2) and compact ID_CRED (§3.5.3.2) ------------------------

def _is_int_byte(b):
    # the one-byte CBOR encodings of the integers -24..23
    return b <= 0x17 or 0x20 <= b <= 0x37


def encode_id(c):
    """A connection identifier (or compact kid) as sent: the CBOR int when the byte string
    is one byte that encodes an int in -24..23, else the byte string."""
    if len(c) == 1 and _is_int_byte(c[0]):
        return bytes(c)
    return _bstr(c)


def decode_id(value, raw):
    """A received bstr / -24..23 identifier -> its byte string; the bstr form of an
    int-encodable byte is not deterministic (RFC 9529 §4.1.2)."""
    if type(value) is int:
        if not -24 <= value <= 23:
            raise _fail("identifier int outside -24..23")
        return bytes(raw)
    if type(value) is not bytes:
        raise _fail("identifier must be a byte string or an int")
    if len(value) == 1 and _is_int_byte(value[0]):
        raise _fail("identifier must use its int encoding")
    return value


class _Seq:
    """A CBOR sequence read item by item, each checked to be deterministically encoded
    (RFC 9528 §3.1; RFC 9529 §4.3)."""

    def __init__(self, buf):
        self.buf = buf if type(buf) is bytes else bytes(buf)
        self.at = 0

    def more(self):
        return self.at < len(self.buf)

    def next(self):
        """-> (value, its raw bytes)."""
        if not self.more():
            raise _fail("message truncated")
        start = self.at
        try:
            value, self.at = cbor.decode_prefix(self.buf, start, 8, 128)
        except (DecodeError, IndexError) as e:
            raise _fail("malformed CBOR: %s" % e)
        raw = self.buf[start:self.at]
        try:
            canonical = cbor.encode(value) == raw
        except (TypeError, ValueError):
            canonical = False
        if not canonical:
            raise _fail("CBOR not deterministically encoded")
        return value, raw

    def ead(self, consumed):
        """The EAD items to the end (§3.8): [(label, value or None)] of the labels in
        `consumed`; other non-critical items (padding too) are skipped, other critical
        ones abort."""
        items = []
        while self.more():
            label, _ = self.next()
            if type(label) is not int:
                raise _fail("EAD label must be an int")
            value = None
            if self.more() and self.buf[self.at] >> 5 == 2:  # a bstr: this item's value
                value, _ = self.next()
            if abs(label) in consumed and label != _EAD_PADDING:
                items.append((label, value))
            elif label < 0:
                raise _fail("unsupported critical EAD item %d" % label)
        return items


def _x_coordinate(value):
    # G_X: the 32-byte x of a P-256 point (§3.7), validated (§9.2) -> the point
    if type(value) is not bytes or len(value) != 32:
        raise _fail("G_X must be a 32-byte P-256 x coordinate")
    try:
        return ecdh.decompress(value)
    except DecodeError as e:
        raise _fail("invalid G_X: %s" % e)


class TrustedClients:
    """The trust resolver of a board without an AS: the provisioned list of client CCSs,
    each with the scope it grants. Empty accepts nobody; never trust on first use.
    clients: [{"cred": CCS bytes, "scope": text or AIF bytes}] (the store's config)."""

    def __init__(self, clients):
        self.clients = clients or []

    def __call__(self, kid, ccs_raw, ead_3):
        from microace import ccs

        for c in self.clients:
            cred = ccs.parse(c["cred"])
            if (ccs_raw is None and cred.kid == kid) or ccs_raw == cred.raw:
                return cred, c["scope"]
        return None


class Session:
    """One handshake: after message_1 it waits for message_3; after message_3 it holds
    PRK_out, the Initiator's credential and what trust() granted."""

    def __init__(self, c_i, c_r, method, y, digest_1, message_2, prk_3e2m, th_3, now):
        self.c_i = c_i
        self.c_r = c_r
        self.method = method
        self.y = y  # the ephemeral private scalar, until message_3 (G_IY of method 3)
        self.digest_1 = digest_1
        self.message_2 = message_2
        self.prk_3e2m = prk_3e2m
        self.th_3 = th_3
        self.started = now
        self.done = False
        self.cred_i = self.grant = self.prk_out = self.prk_4e3m = self.th_4 = None
        self.ead_3 = []

    def exporter(self, label, context, length):
        """EDHOC_Exporter (§4.2.1)."""
        return kdf(kdf(self.prk_out, _PRK_EXPORTER, b"", _HASH_LEN), label, context, length)

    def oscore(self):
        """OSCORE Master Secret, Master Salt, Sender ID and Recipient ID of the Responder
        (Appendix A.1, §3.3.3: Sender ID = C_I, Recipient ID = C_R)."""
        prk_exporter = kdf(self.prk_out, _PRK_EXPORTER, b"", _HASH_LEN)
        return (kdf(prk_exporter, 0, b"", _KEY_LEN), kdf(prk_exporter, 1, b"", _OSCORE_SALT_LEN),
                self.c_i, self.c_r)

    def message_4(self, ead_4=b""):
        """message_4 (§5.5): PLAINTEXT_4 = EAD_4, under K_4 / IV_4 from PRK_4e3m and TH_4."""
        th = _bstr(self.th_4)
        k = kdf(self.prk_4e3m, _K_4, self.th_4, _KEY_LEN)
        iv = kdf(self.prk_4e3m, _IV_4, self.th_4, _IV_LEN)
        return _bstr(aes_ccm.encrypt(k, iv, _ENCRYPT0 + th, ead_4, _TAG_LEN))


class Responder:
    """keys.ecdh(handle, point) with the RS's static key; cred_r: its CCS bytes (CRED_R),
    whose kid is ID_CRED_R; trust: see the module doc; in_use(c) -> True when c is taken as
    an OSCORE Recipient ID (C_R must be usable as one, §3.3.3)."""

    def __init__(self, keys, handle, cred_r, trust, max_sessions=4, timeout_ms=60000,
                 max_message=1024, ead_labels=(), in_use=None, ead_1_labels=(), ead_1=None):
        self.keys = keys
        self.handle = handle
        self.cred_r = cred_r
        self.kid_r = handle.kid
        self.trust = trust
        self.max_sessions = max_sessions
        self.timeout_ms = timeout_ms
        self.max_message = max_message
        self.ead_labels = ead_labels
        self.ead_1_labels = ead_1_labels
        self.ead_1 = ead_1
        self.in_use = in_use
        self.sessions = []  # oldest first

    def _expire(self, now):
        self.sessions = [s for s in self.sessions
                         if time.ticks_diff(now, s.started) < self.timeout_ms]

    def _find(self, c_r):
        for s in self.sessions:
            if s.c_r == c_r:
                return s
        return None

    def _new_c_r(self, c_i):
        # One byte with a one-byte encoding, random, unique among sessions and OSCORE
        # Recipient IDs, and not C_I; two bytes when those are taken.
        from os import urandom

        for size in (1, 1, 1, 1, 2, 2, 2, 2):
            c = urandom(size)
            if size == 1 and not _is_int_byte(c[0]):
                c = bytes((c[0] % 24,))
            if c != c_i and self._find(c) is None and not (self.in_use and self.in_use(c)):
                return c
        raise EdhocError(ERR_UNSPECIFIED, "no connection identifier free")

    def message_1(self, msg, _ephemeral=None):
        """message_1 -> message_2 (§5.2.3, §5.3.2); EdhocError to answer with an error.
        _ephemeral = (y, C_R) is for the test vectors only: nothing else passes it."""
        if len(msg) > self.max_message:
            raise _fail("message_1 too large")
        seq = _Seq(msg)
        method, _ = seq.next()
        suites, _ = seq.next()
        g_x, _ = seq.next()
        c_i_value, c_i_raw = seq.next()
        ead_1 = seq.ead(self.ead_1_labels)  # parsed in full before any crypto
        # §5.2.3: the selected suite is the last of SUITES_I; no suite before it may be
        # one the Responder supports (§6.3)
        if type(suites) is int:
            listed = [suites]
        elif type(suites) is list and len(suites) >= 2 and all(type(s) is int for s in suites):
            listed = suites
        else:
            raise _fail("SUITES_I must be an int or an array of two or more ints")
        if listed[-1] != _SUITE or _SUITE in listed[:-1]:
            raise EdhocError(_ERR_WRONG_SUITE, _SUITE)
        if type(method) is not int:
            raise _fail("METHOD must be an int")
        if method not in (_METHOD_SIG_STAT, _METHOD_STAT_STAT):
            raise _fail("Method not supported")  # the Responder authenticates by static DH
        point_x = _x_coordinate(g_x)
        c_i = decode_id(c_i_value, c_i_raw)
        now = time.ticks_ms()
        self._expire(now)
        digest_1 = _h(msg)
        for s in self.sessions:  # §7: a duplicate gets the same message_2, no new session
            if s.digest_1 == digest_1 and not s.done:
                return s.message_2
        by_value, ead_2 = self.ead_1(ead_1) if ead_1 else (False, b"")
        if _ephemeral is None:
            y = ecdh.generate_scalar()
            c_r = self._new_c_r(c_i)
        else:
            y, c_r = _ephemeral
        g_y = ecdh.multiply_base(y)[0].to_bytes(32, "big")
        g_xy = ecdh.ecdh(y, point_x)
        g_rx = self.keys.ecdh(self.handle, point_x)
        th_2 = _h(_bstr(g_y), _bstr(digest_1))
        prk_2e = hkdf_extract(th_2, g_xy)
        prk_3e2m = hkdf_extract(kdf(prk_2e, _SALT_3E2M, th_2, _HASH_LEN), g_rx)
        if by_value:  # {14: CCS} (§3.5.3: kccs), as ID_CRED_R and in PLAINTEXT_2
            id_cred_r = id_plain = bytes((0xA1, _HDR_KCCS)) + self.cred_r
        else:  # {4: kid}, sent compact (§3.5.3.2)
            id_cred_r, id_plain = cbor.encode({_HDR_KID: self.kid_r}), encode_id(self.kid_r)
        c_r_enc = encode_id(c_r)
        mac_2 = kdf(prk_3e2m, _MAC_2, c_r_enc + id_cred_r + _bstr(th_2) + self.cred_r + ead_2,
                    _MAC_LEN)
        plaintext_2 = c_r_enc + id_plain + _bstr(mac_2) + ead_2
        keystream = kdf(prk_2e, _KS_2, th_2, len(plaintext_2))
        ciphertext_2 = bytes(a ^ b for a, b in zip(plaintext_2, keystream))
        message_2 = _bstr(g_y + ciphertext_2)
        th_3 = _h(_bstr(th_2), plaintext_2, self.cred_r)
        if len(self.sessions) >= self.max_sessions:
            self.sessions.pop(0)  # the oldest handshake in progress gives way
        self.sessions.append(Session(c_i, c_r, method, y if method == _METHOD_STAT_STAT else None,
                                     digest_1, message_2, prk_3e2m, th_3, now))
        return message_2

    def abort(self, c_r):
        """Drop the session of c_r (after an error message, §6)."""
        self.sessions = [s for s in self.sessions if s.c_r != c_r]

    def message_3(self, c_r, msg):
        """message_3 of the session c_r (bytes) -> the finished Session (§5.4.3). The
        session is gone afterwards whatever happens: one message_3 per session."""
        self._expire(time.ticks_ms())
        s = self._find(c_r)
        if s is None:
            raise _fail("no EDHOC session for this C_R")
        self.abort(c_r)
        try:
            return self._message_3(s, msg)
        except EdhocError:
            raise
        except MicroaceError as e:
            raise _fail(str(e))

    def _message_3(self, s, msg):
        if len(msg) > self.max_message:
            raise _fail("message_3 too large")
        seq = _Seq(msg)
        ciphertext_3, _ = seq.next()
        if type(ciphertext_3) is not bytes or seq.more():
            raise _fail("message_3 must be one byte string")
        th3 = _bstr(s.th_3)
        k_3 = kdf(s.prk_3e2m, _K_3, s.th_3, _KEY_LEN)
        iv_3 = kdf(s.prk_3e2m, _IV_3, s.th_3, _IV_LEN)
        try:
            plaintext_3 = aes_ccm.decrypt(k_3, iv_3, _ENCRYPT0 + th3, ciphertext_3, _TAG_LEN)
        except (VerifyError, DecodeError):
            raise _fail("message_3 does not decrypt")
        seq = _Seq(plaintext_3)
        id_cred, id_raw = seq.next()
        sig_or_mac, _ = seq.next()
        ead_at = seq.at
        ead_3 = seq.ead(self.ead_labels)
        ead_raw = plaintext_3[ead_at:]
        kid = ccs_raw = None
        if type(id_cred) is dict:  # by value: a CCS (kccs); a lone kid must be compact
            if len(id_cred) != 1 or type(id_cred.get(_HDR_KCCS)) is not dict:
                raise _fail("ID_CRED_I must be a compact kid or a kccs map")
            ccs_raw = cbor.encode(id_cred[_HDR_KCCS])
            id_cred_i = id_raw
        else:
            kid = decode_id(id_cred, id_raw)
            id_cred_i = cbor.encode({_HDR_KID: kid})
        found = self.trust(kid, ccs_raw, ead_3)
        if found is None:
            raise EdhocError(_ERR_UNKNOWN_CRED, True)
        cred_i, grant = found
        if type(sig_or_mac) is not bytes:
            raise _fail("Signature_or_MAC_3 must be a byte string")
        if s.method == _METHOD_STAT_STAT:
            g_iy = ecdh.ecdh(s.y, cred_i.point)
            prk_4e3m = hkdf_extract(kdf(s.prk_3e2m, _SALT_4E3M, s.th_3, _HASH_LEN), g_iy)
            mac_len = _MAC_LEN
        else:
            prk_4e3m = s.prk_3e2m
            mac_len = _HASH_LEN
        s.y = None
        context_3 = th3 + cred_i.raw + ead_raw
        mac_3 = kdf(prk_4e3m, _MAC_3, id_cred_i + context_3, mac_len)
        if s.method == _METHOD_STAT_STAT:
            if len(sig_or_mac) != _MAC_LEN or not ct_eq(mac_3, sig_or_mac):
                raise _fail("MAC_3 does not verify")
        else:
            from microace.crypto import p256

            # COSE_Sign1 Sig_structure (§5.4.2): ["Signature1", << ID_CRED_I >>,
            # << TH_3, CRED_I, ? EAD_3 >>, MAC_3], ES256 with CRED_I's key
            tbs = (b"\x84\x6aSignature1" + _bstr(id_cred_i) + _bstr(context_3)
                   + _bstr(mac_3))
            if not p256.verify(cred_i.point, _h(tbs), sig_or_mac):
                raise _fail("Signature_or_MAC_3 does not verify")
        th_4 = _h(th3, plaintext_3, cred_i.raw)
        s.prk_4e3m = prk_4e3m
        s.th_4 = th_4
        s.prk_out = kdf(prk_4e3m, _PRK_OUT, th_4, _HASH_LEN)
        s.prk_3e2m = s.message_2 = None
        s.cred_i = cred_i
        s.grant = grant
        s.ead_3 = ead_3
        s.done = True
        return s
