"""OSCORE (RFC 8613): security contexts, and the protection of requests and responses in
both roles, on CoAP messages (coap/message.py: its option codec encodes and decodes the
plaintext, §5.3).

    server: unprotect_request(lookup, request) -> (context, Partial IV, inner request)
            protect_response(context, request_piv, response, use_own_piv) -> outer response
    client: protect_request(context, request) -> (outer request, Partial IV)
            unprotect_response(context, request_piv, response) -> inner response

Only AES-CCM-16-64-128 with HKDF-SHA256, the mandatory algorithms (§3.2), and no Class I
options (none are defined). A request is checked in the order of §8.2: OSCORE option, context,
replay window, decryption; the replay window moves only after decryption succeeded (§7.4), so
forged requests cannot shift it. Observe is not supported: a response is bound to its request
(§7.4), and a client checks no replay window of responses.
"""

import os

from micropython import const

from microace import cbor
from microace.ace import OSC_CONTEXT_ID, OSC_MS, OSC_SALT
from microace.coap import codes, options
from microace.coap.message import Message, decode_options, encode_options, in_order
from microace.cose import ALG_AES_CCM_16_64_128
from microace.crypto import aes_ccm
from microace.crypto.ct import ct_eq
from microace.crypto.hkdf import hkdf_expand, hkdf_extract
from microace.errors import (BadOptionError, ContextExhaustedError, DecodeError, DecryptError,
                             ReplayError, UnknownContextError, VerifyError)

# The one AEAD (RFC 9053 §4.2) and its sizes.
_KEY_LEN = const(16)
_NONCE_LEN = const(13)
_TAG_LEN = const(8)
_MAX_ID_LEN = const(7)  # nonce length - 6 (§3.3)
_SSN_MAX = const(0xFFFFFFFFFF)  # 2^40 - 1: the Partial IV has at most 5 bytes (§7.2.1)

# OSCORE option flag bits (§6.1).
_FLAG_N = const(0x07)  # Partial IV length
_FLAG_K = const(0x08)  # kid present
_FLAG_H = const(0x10)  # kid context present
_FLAGS_RESERVED = const(0xE0)

# The options OSCORE keeps outer only, Class U (§4.1, Figure 5). All others are Class E
# (inner) - unknown ones too (§4.1).
_CLASS_U = (options.URI_HOST, options.URI_PORT, options.OSCORE, options.PROXY_URI,
            options.PROXY_SCHEME)

_NO_CLASS_I = const(0x40)  # the options bstr: h'' (no Class I options)

_EMPTY_OPTION = (options.OSCORE, b"")  # a response's usual OSCORE option (§6.1), made once


def _id_iv(common_iv, ident):
    """Common IV XOR a Partial IV generator's ID bits: its length in the first byte, the ID
    left-padded to nonce length - 6 bytes, then room for the 5-byte Partial IV (§5.2).
    Made once a context: a nonce is then this with the Partial IV XORed into its end."""
    bits = (len(ident) << 96) | (int.from_bytes(ident, "big") << 40)
    return (int.from_bytes(common_iv, "big") ^ bits).to_bytes(_NONCE_LEN, "big")


class Context:
    """One OSCORE security context (§3): derived keys and IV, sender sequence number and
    the recipient's replay window.

    ssn_hook, when set, is called as ssn_hook(context, n) before sender sequence number n is
    used, so that it can be persisted ahead (App. B.1.1); it may raise to refuse.
    echo: None, or the Echo value a context restored after a reboot waits for (App. B.1.2).
    """

    def __init__(self, master_secret, master_salt=b"", sender_id=b"", recipient_id=b"",
                 id_context=None, alg=ALG_AES_CCM_16_64_128, window=32, keys=None):
        """keys: (sender key, recipient key, common IV) of a restored context, instead of
        deriving them from master_secret and master_salt."""
        if alg != ALG_AES_CCM_16_64_128:
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
        self._sender_iv = _id_iv(self.common_iv, sender_id)
        self._recipient_iv = _id_iv(self.common_iv, recipient_id)
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
        ctx = cls(None, b"", sid, rid, idc, ALG_AES_CCM_16_64_128, window, (sk, rk, iv))
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
        """The RS's context from the token's OSCORE_Input_Material and the authz-info
        exchange (RFC 9203 §4.3). osc: the material as the token layer checked it
        (claims.check_osc: types, ms, version, HKDF and AEAD, before any crypto); the nonces
        and Recipient IDs: byte strings (the profile's parse, the RS's own)."""
        # §4.3 (Figure 13): Master Salt = bstr(salt) | bstr(N1) | bstr(N2), CBOR-encoded each.
        master_salt = (cbor.encode(osc.get(OSC_SALT, b"")) + cbor.encode(nonce1)
                       + cbor.encode(nonce2))
        # §4.3: the RS's Sender ID is ID1 = ace_client_recipientid (the client's Recipient
        # ID) and its Recipient ID is ID2 = ace_server_recipientid, which the client sends as
        # its kid.
        return cls(osc[OSC_MS], master_salt, client_recipient_id, server_recipient_id,
                   osc.get(OSC_CONTEXT_ID))

    def next_ssn(self):
        """Take the next sender sequence number (§7.2.1)."""
        n = self.ssn
        if n > _SSN_MAX:
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
    return cbor.encode([ident, id_context, ALG_AES_CCM_16_64_128, kind, length])


# The AAD and the nonce (below) of the message being protected or verified are written into
# module buffers, as AES-CCM does its work (and gives a plaintext as a view of its buffer,
# crypto/aes_ccm.py): one message at a time. protect and unprotect run to their end without
# an await, so no other message of the server's asyncio loop can come in between.
#
# The AAD: at most 31 bytes (a kid of at most 7 and a Partial IV of at most 5), the first 16
# the same for every message but byte 11: Enc_structure ["Encrypt0", h'', external_aad]
# (RFC 9052 §5.3) up to external_aad (its bstr head at 11), then aad_array
# [oscore_version 1, [alg_aead], ...] (§5.4) up to request_kid (alg below 24: one byte).
_aad_buf = memoryview(bytearray(b"\x83\x68Encrypt0\x40\x00"
                                + bytes((0x85, 0x01, 0x81, ALG_AES_CCM_16_64_128)) + bytes(15)))


def _aad(request_kid, request_piv):
    """The AAD: Enc_structure ["Encrypt0", h'', external_aad] with external_aad = bstr .cbor
    [1, [alg_aead], request_kid, request_piv, h''] (§5.4), in _aad_buf: a view valid until
    the next call.

    Built by hand on the hot path: the kid is a context's ID (at most 7 bytes) and the
    Partial IV has at most 5, so every length fits in its CBOR head byte (below 24).
    """
    kid_len = len(request_kid)
    piv_len = len(request_piv)
    aad = _aad_buf
    aad[11] = 0x40 + 7 + kid_len + piv_len  # bstr of 4 + 1 + kid + 1 + piv + 1 bytes
    aad[16] = 0x40 + kid_len
    at = 17 + kid_len
    aad[17:at] = request_kid
    aad[at] = 0x40 + piv_len
    aad[at + 1:at + 1 + piv_len] = request_piv
    aad[at + 1 + piv_len] = _NO_CLASS_I
    return aad[:at + 2 + piv_len]


# The nonce of the message being protected or verified: rewritten for each one, and read
# only inside its AEAD call (one buffer, no allocation per message).
_nonce_buf = bytearray(_NONCE_LEN)


def _nonce(id_iv, piv):
    """AEAD nonce: Common IV XOR the generator's ID bits (id_iv, _id_iv) XOR the Partial IV,
    right-aligned (§5.2), in _nonce_buf: valid until the next call."""
    nonce = _nonce_buf
    nonce[:] = id_iv
    at = _NONCE_LEN - len(piv)
    for i in range(len(piv)):
        nonce[at + i] ^= piv[i]
    return nonce


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


def _option(piv, kid_context, kid):
    """The OSCORE option value (§6.1) of these fields; None leaves one out, and a response
    with none of them has the empty value."""
    if piv is None and kid is None and kid_context is None:
        return b""
    flags = (0 if piv is None else len(piv)) | (0 if kid is None else _FLAG_K)
    out = bytearray((flags,))
    if piv is not None:
        out.extend(piv)
    if kid_context is not None:
        out[0] |= _FLAG_H
        out.append(len(kid_context))
        out.extend(kid_context)
    if kid is not None:
        out.extend(kid)
    return bytes(out)


def _class_e(message):
    """The options of `message` that OSCORE protects, in order: all but Class U (§4.1); the
    message's own list when it has none (the usual case: nothing allocated)."""
    found = message.options
    for o in found:
        if o[0] in _CLASS_U:
            found = [o for o in found if o[0] not in _CLASS_U]
            break
    return in_order(found)


def _seal(key, id_iv, piv, request_kid, request_piv, message):
    """The COSE ciphertext of message's code, Class E options and payload (§5.3), under key
    with the nonce of id_iv and piv and the AAD of the request (§5.4)."""
    plaintext = encode_options(_class_e(message), message.payload, 1)
    plaintext[0] = message.code
    return aes_ccm.encrypt(aes_ccm.held(key), _nonce(id_iv, piv),
                           _aad(request_kid, request_piv), plaintext, _TAG_LEN)


def _decrypt(key, id_iv, piv, request_kid, request_piv, ciphertext):
    """The plaintext of ciphertext under key, the nonce of id_iv and piv and the AAD of the
    request (§5.2-5.4), a view valid until the next AES-CCM call (aes_ccm.decrypt);
    DecryptError when it does not verify."""
    if len(ciphertext) <= _TAG_LEN:
        raise BadOptionError("OSCORE ciphertext too short")  # the code byte and the tag
    try:
        return aes_ccm.decrypt(aes_ccm.held(key), _nonce(id_iv, piv),
                               _aad(request_kid, request_piv), ciphertext, _TAG_LEN, True)
    except VerifyError:
        raise DecryptError("Decryption failed")


def _inner(plaintext):
    """The inner Message of a verified plaintext: code, options, 0xFF and payload (§5.3),
    through CoAP's option codec; BadOptionError (4.02, §8.2) when malformed or holding a
    Class U option. Its values are copies: the plaintext is a view of a buffer that the next
    message reuses (_decrypt)."""
    inner = Message(plaintext[0])
    try:
        at = decode_options(plaintext, 1, inner.options)
    except DecodeError as e:
        raise BadOptionError("inner message: " + e.args[0])
    if at < len(plaintext):
        inner.payload = bytes(plaintext[at:])
    for number, _ in inner.options:
        if number in _CLASS_U:
            raise BadOptionError("Class U option inside OSCORE")  # §4.1: never inner
    return inner


def unprotect_request(lookup, request):
    """Verify and decrypt an OSCORE request, the server's side (§8.2).

    lookup(kid, kid_context) returns the Context for the request's kid, or None; request is
    the outer Message. Returns (context, partial_iv, inner Message); the Partial IV is what
    protect_response needs. Raises BadOptionError, UnknownContextError, ReplayError or
    DecryptError; once it decrypted, the Partial IV is used up even when the inner message
    is malformed (§7.4).
    """
    piv, kid_context, kid = parse_option(request.opt(options.OSCORE, b""))
    if piv is None or kid is None:
        raise BadOptionError("OSCORE request without Partial IV or kid")  # §5: both required
    if len(request.payload) <= _TAG_LEN:
        raise BadOptionError("OSCORE ciphertext too short")  # before any lookup (§8.2)
    ctx = lookup(kid, kid_context)
    if (ctx is None or kid != ctx.recipient_id
            or (kid_context is not None and kid_context != ctx.id_context)):
        raise UnknownContextError("Security context not found")
    n = int.from_bytes(piv, "big")
    ctx.check_replay(n)
    plaintext = _decrypt(ctx.recipient_key, ctx._recipient_iv, piv, kid, piv, request.payload)
    ctx.accept(n)
    return ctx, piv, _inner(plaintext)


def protect_response(ctx, request_piv, response, use_own_piv=False):
    """Protect `response` (a Message) to the request with request_piv, the server's side
    (§8.3) -> the outer response Message.

    By default the nonce is the request's, and the response carries no Partial IV; with
    use_own_piv the nonce comes from the next sender sequence number, which the option
    carries. Class U options are left out (§4.1). The outer code of a response without
    Observe is 2.04 (§4.2).
    """
    if use_own_piv:
        piv = piv_bytes(ctx.next_ssn())
        ciphertext = _seal(ctx.sender_key, ctx._sender_iv, piv, ctx.recipient_id, request_piv,
                           response)
        option = (options.OSCORE, _option(piv, None, None))
    else:
        ciphertext = _seal(ctx.sender_key, ctx._recipient_iv, request_piv, ctx.recipient_id,
                           request_piv, response)
        option = _EMPTY_OPTION
    return Message(codes.CHANGED, ciphertext, [option])


def protect_request(ctx, request, kid_context=None):
    """Protect `request` (a Message) with the next sender sequence number, the client's side
    (§8.1) -> (outer request Message, its Partial IV for unprotect_response). The outer
    request is a POST (§4.2: no Observe) with the Class U options and the OSCORE option,
    which carries kid_context when given; token, type and message ID are the request's."""
    piv = piv_bytes(ctx.next_ssn())
    ciphertext = _seal(ctx.sender_key, ctx._sender_iv, piv, ctx.sender_id, piv, request)
    outer = [o for o in request.options if o[0] in _CLASS_U]
    outer.append((options.OSCORE, _option(piv, kid_context, ctx.sender_id)))
    return Message(codes.POST, ciphertext, in_order(outer), request.token, request.type,
                   request.mid), piv


def unprotect_response(ctx, request_piv, response):
    """Verify and decrypt the response to the request with request_piv, the client's side
    (§8.4) -> the inner Message. Its nonce is the request's unless the response carries a
    Partial IV of its own. BadOptionError for a response without a valid OSCORE option,
    DecryptError when it does not verify."""
    option = response.opt(options.OSCORE)
    if option is None:
        raise BadOptionError("response without OSCORE option")
    piv = parse_option(option)[0]
    if piv is None:
        plaintext = _decrypt(ctx.recipient_key, ctx._sender_iv, request_piv, ctx.sender_id,
                             request_piv, response.payload)
    else:
        plaintext = _decrypt(ctx.recipient_key, ctx._recipient_iv, piv, ctx.sender_id,
                             request_piv, response.payload)
    return _inner(plaintext)
