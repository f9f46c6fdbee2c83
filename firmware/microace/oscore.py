"""OSCORE (RFC 8613), the server side: security context, request unprotect, response protect.

Only AES-CCM-16-64-128 with HKDF-SHA256, the mandatory algorithms (§3.2), and no Class I
options (none are defined). A request is checked in the order of §8.2: OSCORE option, context,
replay window, decryption; the replay window moves only after decryption succeeded (§7.4), so
forged requests cannot shift it. Messages are neutral: the caller's CoAP layer hands in the
OSCORE option value and payload and gets back the inner code, [(number, value)] options
(values as bytes, numbers ascending) and payload.
"""

import os

from micropython import const

from microace import cbor
from microace.ace import OSC_ALG, OSC_CONTEXT_ID, OSC_HKDF, OSC_MS, OSC_SALT, OSC_VERSION
from microace.coap import codes, options
from microace.crypto import aes_ccm
from microace.crypto.ct import ct_eq
from microace.crypto.hkdf import hkdf_expand, hkdf_extract
from microace.errors import (BadOptionError, ContextExhaustedError, DecodeError, DecryptError,
                             ReplayError, UnknownContextError, VerifyError)


# The one AEAD (RFC 9053 §4.2) and its sizes. Its number is cose.ALG_AES_CCM_16_64_128, inlined
# here: importing cose.py only for it costs a module on the heap of every OSCORE-only use.
_ALG_AES_CCM_16_64_128 = const(10)
_KEY_LEN = const(16)
_NONCE_LEN = const(13)
_TAG_LEN = const(8)
_MAX_ID_LEN = const(7)  # nonce length - 6 (§3.3)
SSN_MAX = const(0xFFFFFFFFFF)  # 2^40 - 1: the Partial IV has at most 5 bytes (§7.2.1)

# OSCORE option flag bits (§6.1).
_FLAG_N = const(0x07)  # Partial IV length
_FLAG_K = const(0x08)  # kid present
_FLAG_H = const(0x10)  # kid context present
_FLAGS_RESERVED = const(0xE0)

# The options OSCORE keeps outer only, Class U (§4.1, Figure 5). All others are Class E
# (inner) - unknown ones too (§4.1).
CLASS_U_ONLY = (options.URI_HOST, options.URI_PORT, options.OSCORE, options.PROXY_URI,
                options.PROXY_SCHEME)

# Enc_structure ["Encrypt0", h'', external_aad] (RFC 9052 §5.3) up to external_aad, and
# aad_array [oscore_version 1, [alg_aead], ...] (§5.4) up to request_kid.
_ENC_HEAD = b"\x83\x68Encrypt0\x40"
_AAD_ARRAY_HEAD = b"\x85\x01\x81\x0a"
_NO_CLASS_I = const(0x40)  # the options bstr: h'' (no Class I options)

# Identifiers of HKDF-SHA256 and the AEAD in OSCORE_Input_Material (RFC 9203 §3.2.1): integer
# or text. HKDF is named by a COSE algorithm: implementations use -10 (direct+HKDF-SHA-256)
# or 5 (HMAC 256/256), and RFC 8613's name for the default.
_HKDF_SHA256 = (-10, 5, "HKDF SHA-256", "HKDF-SHA-256", "direct+HKDF-SHA-256")
_AEAD_NAMES = (_ALG_AES_CCM_16_64_128, "AES-CCM-16-64-128")


def _id_bits(ident):
    """The nonce bits of a Partial IV generator's ID: its length in the first byte, the ID
    left-padded to nonce length - 6 bytes, then room for the 5-byte Partial IV (§5.2)."""
    return (len(ident) << 96) | (int.from_bytes(ident, "big") << 40)


class Context:
    """One OSCORE security context (§3): derived keys and IV, sender sequence number and
    the recipient's replay window.

    ssn_hook, when set, is called as ssn_hook(context, n) before sender sequence number n is
    used, so that it can be persisted ahead (App. B.1.1); it may raise to refuse.
    echo: None, or the Echo value a context restored after a reboot waits for (App. B.1.2).
    """

    def __init__(self, master_secret, master_salt=b"", sender_id=b"", recipient_id=b"",
                 id_context=None, alg=_ALG_AES_CCM_16_64_128, window=32, keys=None):
        """keys: (sender key, recipient key, common IV) of a restored context, instead of
        deriving them from master_secret and master_salt."""
        if alg != _ALG_AES_CCM_16_64_128:
            raise DecodeError("OSCORE AEAD algorithm not supported")
        if len(sender_id) > _MAX_ID_LEN or len(recipient_id) > _MAX_ID_LEN:
            raise DecodeError("OSCORE ID longer than 7 bytes")
        if sender_id == recipient_id:
            raise DecodeError("OSCORE sender ID equals recipient ID")  # one nonce space (§3.3)
        if not 1 <= window <= 1024:
            raise DecodeError("replay window size")
        self.sender_id = sender_id
        self.recipient_id = recipient_id
        self.id_context = id_context
        if keys is None:
            # §3.2.1: HKDF(salt = Master Salt, IKM = Master Secret, info, L)
            prk = hkdf_extract(master_salt, master_secret)
            keys = (hkdf_expand(prk, _info(sender_id, id_context, "Key", _KEY_LEN), _KEY_LEN),
                    hkdf_expand(prk, _info(recipient_id, id_context, "Key", _KEY_LEN),
                                _KEY_LEN),
                    hkdf_expand(prk, _info(b"", id_context, "IV", _NONCE_LEN), _NONCE_LEN))
        self.sender_key, self.recipient_key, self.common_iv = keys
        iv = int.from_bytes(self.common_iv, "big")
        self._sender_iv = iv ^ _id_bits(sender_id)
        self._recipient_iv = iv ^ _id_bits(recipient_id)
        self.ssn = 0
        self.ssn_hook = None
        self.window_size = window
        self._window_mask = (1 << window) - 1
        self._window_top = -1  # highest Partial IV accepted; -1: none yet
        self._window_seen = 0  # bit i set: Partial IV top - i was accepted
        self.echo = None

    def saved(self):
        """What restore() needs, CBOR-encodable; the sender sequence number is the caller's
        to persist (ahead, App. B.1.1)."""
        return (self.sender_key, self.recipient_key, self.common_iv, self.sender_id,
                self.recipient_id, self.id_context, self.window_size)

    @classmethod
    def restore(cls, saved, ssn):
        """The context of saved(), after a reboot: sending from ssn on, and with a replay
        window that cannot be trusted until a request proves fresh with Echo (App. B.1.2)."""
        sk, rk, iv, sid, rid, idc, window = saved
        ctx = cls(None, b"", sid, rid, idc, _ALG_AES_CCM_16_64_128, window, (sk, rk, iv))
        ctx.ssn = ssn
        ctx.echo = os.urandom(8)
        return ctx

    def fresh(self, echo, piv):
        """Whether a verified request with Partial IV piv may be processed: always, unless
        the context waits for its Echo value. The request that returns it was made after the
        reboot, so its Partial IV is above every one seen before (App. B.1.2, RFC 9175
        §2.4): the window restarts there, counting it and all below as seen."""
        if self.echo is None:
            return True
        if echo is None or not ct_eq(echo, self.echo):
            return False
        self.echo = None
        self._window_top = int.from_bytes(piv, "big")
        self._window_seen = self._window_mask
        return True

    @classmethod
    def from_ace(cls, osc, nonce1, nonce2, client_recipient_id, server_recipient_id):
        """The RS's context from the token's OSCORE_Input_Material (cnf.osc, a dict with
        integer labels) and the authz-info exchange (RFC 9203 §4.3).

        Raises DecodeError for missing or malformed input and unsupported version,
        HKDF or AEAD.
        """
        ms = osc.get(OSC_MS)
        if type(ms) is not bytes or not ms:
            raise DecodeError("OSCORE input material without ms")
        salt = osc.get(OSC_SALT, b"")
        context_id = osc.get(OSC_CONTEXT_ID)
        for value in (salt, nonce1, nonce2, client_recipient_id, server_recipient_id):
            if type(value) is not bytes:
                raise DecodeError("OSCORE input material or nonce not a byte string")
        if context_id is not None and type(context_id) is not bytes:
            raise DecodeError("OSCORE contextId not a byte string")
        if not _is_one_of(osc.get(OSC_VERSION, 1), (1,)):
            raise DecodeError("OSCORE version not supported")
        if not _is_one_of(osc.get(OSC_HKDF, -10), _HKDF_SHA256):
            raise DecodeError("OSCORE HKDF not supported")
        if not _is_one_of(osc.get(OSC_ALG, _ALG_AES_CCM_16_64_128), _AEAD_NAMES):
            raise DecodeError("OSCORE AEAD algorithm not supported")
        # §4.3 (Figure 13): Master Salt = bstr(salt) | bstr(N1) | bstr(N2), CBOR-encoded each.
        master_salt = cbor.encode(salt) + cbor.encode(nonce1) + cbor.encode(nonce2)
        # §4.3: the RS's Sender ID is ID1 = ace_client_recipientid (the client's Recipient
        # ID) and its Recipient ID is ID2 = ace_server_recipientid, which the client sends as
        # its kid.
        return cls(ms, master_salt, client_recipient_id, server_recipient_id, context_id)

    def next_ssn(self):
        """Take the next sender sequence number (§7.2.1)."""
        n = self.ssn
        if n > SSN_MAX:
            raise ContextExhaustedError("sender sequence number wrapped")
        if self.ssn_hook is not None:
            self.ssn_hook(self, n)
        self.ssn = n + 1
        return n

    def check_replay(self, n):
        """Raise ReplayError unless Partial IV n is new to the window (§7.4)."""
        top = self._window_top
        if n > top:
            return
        if top - n >= self.window_size or (self._window_seen >> (top - n)) & 1:
            raise ReplayError("Replay detected")

    def accept(self, n):
        """Mark Partial IV n as received; only after the request decrypted (§7.4)."""
        top = self._window_top
        if n > top:
            shift = n - top
            if shift >= self.window_size:
                self._window_seen = 1
            else:
                self._window_seen = ((self._window_seen << shift) | 1) & self._window_mask
            self._window_top = n
        else:
            self._window_seen |= 1 << (top - n)


def _info(ident, id_context, kind, length):
    """info = [id, id_context, alg_aead, type, L] (§3.2.1)."""
    return cbor.encode([ident, id_context, _ALG_AES_CCM_16_64_128, kind, length])


def _is_one_of(value, allowed):
    """value in allowed, with no True == 1 or 1.0 == 1 confusion across types."""
    for candidate in allowed:
        if type(value) is type(candidate) and value == candidate:
            return True
    return False


def _aad(request_kid, request_piv):
    """The AAD: Enc_structure ["Encrypt0", h'', external_aad] with external_aad = bstr .cbor
    [1, [alg_aead], request_kid, request_piv, h''] (§5.4).

    Built by hand on the hot path: the kid is a context's ID (at most 7 bytes) and the
    Partial IV has at most 5, so every length fits in its CBOR head byte (below 24).
    """
    kid_len = len(request_kid)
    piv_len = len(request_piv)
    aad = bytearray(_ENC_HEAD)
    aad.append(0x40 + 7 + kid_len + piv_len)  # bstr of 4 + 1 + kid + 1 + piv + 1 bytes
    aad.extend(_AAD_ARRAY_HEAD)
    aad.append(0x40 + kid_len)
    aad.extend(request_kid)
    aad.append(0x40 + piv_len)
    aad.extend(request_piv)
    aad.append(_NO_CLASS_I)
    return aad


def _nonce(id_iv, piv):
    """AEAD nonce: Common IV XOR the generator's ID bits XOR the Partial IV (§5.2)."""
    return (id_iv ^ int.from_bytes(piv, "big")).to_bytes(_NONCE_LEN, "big")


def piv_bytes(n):
    """Partial IV for sequence number n: big-endian, shortest, 0 as one zero byte (§6.1)."""
    size = 1
    while n >> (8 * size):
        size += 1
    return n.to_bytes(size, "big")


def parse_option(value):
    """Split an OSCORE option value (bytes, §6.1) into (partial_iv, kid_context, kid); each
    is None when absent. Raises BadOptionError for reserved bits or lengths and truncation."""
    if len(value) == 0:
        return None, None, None
    flags = value[0]
    if flags & _FLAGS_RESERVED:
        raise BadOptionError("OSCORE option reserved flag bits set")
    n = flags & _FLAG_N
    if n > 5:
        raise BadOptionError("OSCORE option reserved Partial IV length")
    end = len(value)
    at = 1 + n
    if at > end:
        raise BadOptionError("OSCORE option truncated")
    piv = value[1:at] if n else None
    kid_context = None
    if flags & _FLAG_H:
        if at >= end:
            raise BadOptionError("OSCORE option truncated")
        stop = at + 1 + value[at]
        if stop > end:
            raise BadOptionError("OSCORE option truncated")
        kid_context = value[at + 1:stop]
        at = stop
    kid = None
    if flags & _FLAG_K:
        kid = value[at:]
    elif at != end:
        raise BadOptionError("OSCORE option has bytes after its fields")
    return piv, kid_context, kid


def unprotect_request(lookup, option, payload):
    """Verify and decrypt an OSCORE request (§8.2).

    lookup(kid, kid_context) returns the Context for the request's kid, or None. option is
    the OSCORE option value, payload the outer payload (the ciphertext).
    Returns (context, kid, partial_iv, code, options, payload) of the inner request; kid and
    partial_iv are what protect_response needs. Raises BadOptionError, UnknownContextError,
    ReplayError or DecryptError.
    """
    piv, kid_context, kid = parse_option(option)
    if piv is None or kid is None:
        raise BadOptionError("OSCORE request without Partial IV or kid")  # §5: both required
    if len(payload) <= _TAG_LEN:
        raise BadOptionError("OSCORE ciphertext too short")  # the code byte and the tag
    ctx = lookup(kid, kid_context)
    if (ctx is None or kid != ctx.recipient_id
            or (kid_context is not None and kid_context != ctx.id_context)):
        raise UnknownContextError("Security context not found")
    n = int.from_bytes(piv, "big")
    ctx.check_replay(n)
    try:
        plaintext = aes_ccm.decrypt(aes_ccm.held(ctx.recipient_key),
                                    _nonce(ctx._recipient_iv, piv), _aad(kid, piv), payload,
                                    _TAG_LEN)
    except VerifyError:
        raise DecryptError("Decryption failed")
    ctx.accept(n)
    code, options, inner_payload = _decode_plaintext(plaintext)
    return ctx, kid, piv, code, options, inner_payload


def protect_response(ctx, request_kid, request_piv, code, options, payload,
                     use_own_piv=False):
    """Encrypt a response to the request with request_kid and request_piv (§8.3).

    By default the nonce is the request's, and the response carries no Partial IV; with
    use_own_piv the nonce comes from the next sender sequence number, which the option
    carries. options: [(number, bytes)] in ascending order, all Class E.
    Returns (outer code, OSCORE option value, ciphertext): the outer code of a response
    without Observe is 2.04 (§4.2).
    """
    if use_own_piv:
        piv = piv_bytes(ctx.next_ssn())
        nonce = _nonce(ctx._sender_iv, piv)
        option = bytes((len(piv),)) + piv
    else:
        if request_kid != ctx.recipient_id:
            raise ValueError("request kid of another context")
        nonce = _nonce(ctx._recipient_iv, request_piv)
        option = b""
    ciphertext = aes_ccm.encrypt(aes_ccm.held(ctx.sender_key), nonce,
                                 _aad(request_kid, request_piv),
                                 encode_plaintext(code, options, payload), _TAG_LEN)
    return codes.CHANGED, option, ciphertext


def encode_plaintext(code, options, payload):
    """The plaintext: code, options (RFC 7252 §3.1 encoding), 0xFF and payload (§5.3)."""
    out = bytearray((code,))
    last = 0
    for number, value in options:
        if number < last:
            raise ValueError("options not in ascending order")
        at = len(out)
        out.append(0)
        delta = _put_nibble(out, number - last)  # extended delta bytes come first
        out[at] = (delta << 4) | _put_nibble(out, len(value))
        out.extend(value)
        last = number
    if payload:
        out.append(0xFF)
        out.extend(payload)
    return out


def _put_nibble(out, value):
    """Append the extended bytes of a delta or length; return its 4-bit nibble (RFC 7252)."""
    if value < 13:
        return value
    if value < 269:
        out.append(value - 13)
        return 13
    out.extend((value - 269).to_bytes(2, "big"))
    return 14


def _decode_plaintext(plaintext):
    """(code, options, payload) from a decrypted plaintext; BadOptionError when malformed."""
    options = []
    number = 0
    end = len(plaintext)
    at = 1
    while at < end:
        head = plaintext[at]
        at += 1
        if head == 0xFF:
            if at == end:
                raise BadOptionError("payload marker without payload")  # RFC 7252 §3
            return plaintext[0], options, plaintext[at:]
        delta = head >> 4
        size = head & 15
        if delta >= 13:
            delta, at = _nibble_ext(plaintext, at, delta)
        if size >= 13:
            size, at = _nibble_ext(plaintext, at, size)
        if at + size > end:
            raise BadOptionError("inner option truncated")
        number += delta
        if number > 0xFFFF:
            raise BadOptionError("inner option number above 65535")
        if number in CLASS_U_ONLY:
            raise BadOptionError("Class U option inside OSCORE")  # §4.1: never inner
        options.append((number, plaintext[at:at + size]))
        at += size
    return plaintext[0], options, b""


def _nibble_ext(buf, at, nibble):
    """(value, next offset) of an extended option delta or length (RFC 7252 §3.1)."""
    if nibble == 13:
        if at >= len(buf):
            raise BadOptionError("inner option truncated")
        return buf[at] + 13, at + 1
    if nibble == 14:
        if at + 2 > len(buf):
            raise BadOptionError("inner option truncated")
        return ((buf[at] << 8) | buf[at + 1]) + 269, at + 2
    raise BadOptionError("inner option nibble 15")  # reserved, or a marker in the wrong place
