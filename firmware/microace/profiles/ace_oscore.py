"""The ACE-OSCORE profile (RFC 9203): what /authz-info accepts, and the OSCORE context a
token's input material (cnf.osc) and the exchanged nonces and Recipient IDs derive (§4.3).

A new token comes unprotected with nonce1 and the client's Recipient ID, and gets nonce2 and
the RS's Recipient ID back (§4.1, §4.2). Under an existing context it is an update of access
rights (§4.1): the access token alone, its cnf naming that context's input material by kid
(RFC 8747 §3.3); the RS then replaces the context's rights and lifetime and keeps the context.
"""

import gc
import os

from micropython import const

from microace import cbor, oscore
from microace.ace import (ACCESS_TOKEN, ACE_CLIENT_RECIPIENTID, ACE_PROFILE_COAP_OSCORE,
                          ACE_SERVER_RECIPIENTID, NONCE1, NONCE2, OSC_ID)
from microace.coap import codes, formats, options
from microace.coap.message import Message
from microace.errors import ClaimError, DecodeError, StoreFullError, TooLargeError

_NONCE_LEN = const(8)  # RFC 9203 §4.1: 8 bytes recommended
_MAX_NONCE1 = const(64)
_NEW_KEYS = (ACCESS_TOKEN, NONCE1, ACE_CLIENT_RECIPIENTID)
_UPDATE_KEYS = (ACCESS_TOKEN,)


class AceOscore:
    PATH = "/authz-info"
    NEW = True  # a new token comes to PATH unprotected
    NUMBER = ACE_PROFILE_COAP_OSCORE

    def __init__(self):
        self._next_id = 0

    def owns(self, entry):
        """Entries keyed (issuer text or None, OSCORE id); an int there is another
        profile's (profiles/edhoc_oscore.py)."""
        return type(entry.pop[0]) is not int

    def parse(self, request, limit, entry):
        """The upload's ace+cbor body, strictly -> (the access token's bytes, the body);
        limit: the largest token taken (TooLargeError above it)."""
        if request.uint(options.CONTENT_FORMAT) != formats.ACE_CBOR:
            raise DecodeError("authz-info takes application/ace+cbor")
        if len(request.payload) > limit + 2 * _MAX_NONCE1:
            raise TooLargeError("access token too large")
        body = cbor.decode(request.payload, 4, 8)
        keys = _NEW_KEYS if entry is None else _UPDATE_KEYS
        if (type(body) is not dict or len(body) != len(keys)
                or not all(type(k) is int and k in keys for k in body)):
            raise DecodeError("authz-info body keys")
        if not all(type(v) is bytes for v in body.values()):
            raise DecodeError("authz-info parameters must be byte strings")
        raw = body[ACCESS_TOKEN]
        if len(raw) > limit:
            raise TooLargeError("access token too large")
        if entry is None and not 1 <= len(body[NONCE1]) <= _MAX_NONCE1:
            raise DecodeError("nonce1 length")
        return raw, body

    def pop(self, token, entry):
        """(issuer, OSCORE id) of the token's input material; for an update, the kid in its
        cnf must name entry's (ClaimError), for a new token cnf must carry the material."""
        cnf = token.cnf or ("none", {})
        if entry is not None:
            if cnf[0] != "kid" or (token.iss, cnf[1]) != entry.pop:
                raise ClaimError("cnf kid does not name this context")
            return entry.pop
        if cnf[0] != "osc":
            # RFC 9203 §4.2: a token without the OSCORE input material is not for this profile.
            raise DecodeError("token has no cnf osc")
        return token.iss, cnf[1][OSC_ID]

    def bind(self, rs, token, body):
        """The new context (RFC 9203 §4.3) and the 2.01 carrying nonce2 and the RS's
        Recipient ID."""
        nonce2 = os.urandom(_NONCE_LEN)
        client_id = body[ACE_CLIENT_RECIPIENTID]
        server_id = self._recipient_id(rs.tokens.recipient_ids(), client_id)
        gc.collect()  # the verification's garbage first: the context lives long
        context = oscore.Context.from_ace(token.cnf[1], body[NONCE1], nonce2, client_id,
                                          server_id)
        answer = Message(codes.CREATED, cbor.encode({
            NONCE2: nonce2, ACE_SERVER_RECIPIENTID: server_id})).add(options.CONTENT_FORMAT,
                                                                     formats.ACE_CBOR)
        return context, answer

    def _recipient_id(self, taken, client_id):
        """A Recipient ID unique among live contexts and not the client's (RFC 9203 §4.2):
        one byte from a counter; the store holds far fewer than 256 contexts."""
        for _ in range(256):
            candidate = bytes((self._next_id,))
            self._next_id = (self._next_id + 1) & 0xFF
            if candidate != client_id and candidate not in taken:
                return candidate
        raise StoreFullError("no free recipient ID")
