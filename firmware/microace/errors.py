"""The one exception tree of the firmware.

Each class maps to exactly one CoAP response code; the mapping lives in rs.py.
Lower layers raise these and never anything else for bad input.
"""


class MicroaceError(Exception):
    """Base of every error the firmware raises on purpose."""


class DecodeError(MicroaceError):
    """Malformed input: CBOR, COSE structure, key encoding, token shape (4.00)."""


class VerifyError(MicroaceError):
    """Signature, MAC or decryption failed, or no trusted key matches (4.01)."""


class ClaimError(MicroaceError):
    """The token verified but its claims are not acceptable (4.01)."""


class AudienceError(ClaimError):
    """The token is not meant for this resource server (4.03)."""


class ScopeError(MicroaceError):
    """The scope claim has a value this board does not support (4.00)."""


class KeyStoreError(MicroaceError):
    """The key store is missing, corrupt, sealed or asked for something it refuses."""


class StorageError(MicroaceError):
    """A stored record (storage.py) is damaged, or its file cannot be read (5.00)."""


class NotInScopeError(MicroaceError):
    """The token does not cover this resource (4.03)."""


class MethodNotInScopeError(MicroaceError):
    """The token covers the resource but not this method (4.05)."""


# OSCORE (RFC 8613 §8.2, DESIGN.md response codes)
class BadOptionError(DecodeError):
    """The OSCORE option, the COSE object or the decrypted request is malformed (4.02)."""


class UnknownContextError(MicroaceError):
    """No security context matches the request's kid (and kid context) (4.01)."""


class ReplayError(MicroaceError):
    """The request's Partial IV was seen before or is older than the replay window (4.01)."""


class DecryptError(MicroaceError):
    """The request does not decrypt under the recipient key (4.00)."""


class ContextExhaustedError(MicroaceError):
    """The sender sequence number is used up or refused; the context must be replaced (5.03)."""


# Resource server (rs.py, admission.py, token_store.py)
class TooLargeError(MicroaceError):
    """The access token is larger than this board takes (4.13)."""


class StoreFullError(MicroaceError):
    """The token store is full of live, used tokens: try again later (5.03)."""


# CoAP semantics of a verified request (rs.py, RFC 7252 §5.10.4, §5.10.8)
class PreconditionFailedError(MicroaceError):
    """An If-Match or If-None-Match condition does not hold for the resource (4.12)."""


class NotAcceptableError(MicroaceError):
    """The resource cannot produce the Content-Format the request's Accept asks for (4.06)."""


# EDHOC (edhoc.py)
class EdhocError(MicroaceError):
    """An EDHOC session fails (RFC 9528 §6): args are (ERR_CODE, ERR_INFO), answered with an
    EDHOC error message; ERR_CODE 1: a text, 2: SUITES_R, 3: true."""
