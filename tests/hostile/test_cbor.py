"""Hostile CBOR (RFC 8949) at the two places the RS decodes it from a stranger: the
/authz-info body (4.00) and the claims inside a token whose COSE layers verify (4.00; NaN and
infinite dates 4.01, as claims errors). The decoder's limits: tests/firmware/test_cbor.py."""

import os

import cbor2
import pytest

from tests.support.hostile_tokens import claim_pairs, raw_map, signed, with_claim
from tests.support.coap_wire import authz_body, authz_datagram, code, reply

N1 = b"\x18\x28\x48" + bytes(8)  # 40: nonce1 (8 bytes)
ID = b"\x18\x2b\x41\x21"  # 43: h'21'
TOKEN = b"\x01\x41x"  # 1: h'78'

BODIES = {
    "empty": b"",
    "truncated-map": b"\xa3\x01",
    "truncated-bstr": b"\xa3\x01\x58\x20" + bytes(5),
    "huge-bstr-length": b"\xa3\x01\x5b" + b"\xff" * 8 + bytes(16),
    "huge-text-length": b"\xa3\x01\x7a\xff\xff\xff\xff" + bytes(16),
    "huge-array-count": b"\x9b" + b"\xff" * 8,
    "huge-map-count": b"\xba\xff\xff\xff\xff" + bytes(16),
    "8-byte-head-truncated": b"\x1b\x00\x00",
    "indefinite-map": b"\xbf" + TOKEN + N1 + ID + b"\xff",
    "indefinite-bstr-token": b"\xa3\x01\x5f\x41x\xff" + N1 + ID,
    "indefinite-text": b"\x7f\x61a\xff",
    "indefinite-array": b"\x9f\x00\xff",
    "bare-break": b"\xff",
    "break-in-map": b"\xa1\xff",
    "nesting-bomb-arrays": b"\x81" * 1100 + b"\x00",
    "nesting-bomb-maps": b"\xa1\x01" * 550 + b"\x00",
    "nesting-bomb-tags": b"\xc6" * 1100 + b"\x00",
    "duplicate-key": b"\xa4" + TOKEN + TOKEN + N1 + ID,
    "duplicate-key-other-encoding": b"\xa4" + TOKEN + b"\x18\x01\x41x" + N1 + ID,
    "invalid-utf8-key": b"\xa4\x62\xc3\x28\x00" + TOKEN + N1 + ID,
    "overlong-utf8-key": b"\xa4\x62\xc0\xaf\x00" + TOKEN + N1 + ID,
    "surrogate-utf8-key": b"\xa4\x63\xed\xa0\x80\x00" + TOKEN + N1 + ID,
    "tag-around-body": b"\xd8\x18" + b"\xa3" + TOKEN + N1 + ID,
    "tag-61-around-body": b"\xd8\x3d" + b"\xa3" + TOKEN + N1 + ID,
    "bignum-key": b"\xa3\xc2\x41\x01\x41x" + N1 + ID,
    "float-key": b"\xa3\xf9\x3c\x00\x41x" + N1 + ID,
    "nan-key": b"\xa3\xf9\x7e\x00\x41x" + N1 + ID,
    "array-key": b"\xa3\x81\x01\x41x" + N1 + ID,
    "reserved-ai-28": b"\x1c",
    "reserved-ai-30": b"\xbe",
    "undefined": b"\xf7",
    "simple-32": b"\xf8\x20",
    "simple-16": b"\xf0",
    "trailing-byte": b"\xa3" + TOKEN + N1 + ID + b"\x00",
    "two-items": b"\xa0\xa0",
    "random-bytes": os.urandom(1000),
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_malformed_authz_info_cbor_is_4_00(peer, body):
    response = reply(peer, authz_datagram(body))
    assert code(response.code) == "4.00" and response.payload == b""


def authz_body_for(claims_bytes):
    return authz_body(signed(claims_bytes))


def nested(depth):
    return b"\x81" * depth + b"\x00"


CLAIMS = {  # claims bytes inside valid Sign1 and Encrypt0 -> 4.00
    "truncated": raw_map(claim_pairs())[:-3],
    "trailing-byte": raw_map(claim_pairs()) + b"\x00",
    "duplicate-claim": raw_map(claim_pairs() + [claim_pairs()[0]]),
    "indefinite-map": b"\xbf" + raw_map(claim_pairs())[1:] + b"\xff",
    "indefinite-iss": with_claim(1, b"\x7f\x61a\xff"),
    "nesting-bomb-in-sub": with_claim(2, nested(40)),
    "invalid-utf8-iss": with_claim(1, b"\x62\xc3\x28"),
    "huge-bstr-in-cti": with_claim(7, b"\x5b" + b"\xff" * 8),
    "bare-break-as-value": with_claim(2, b"\xff"),
    "undefined-sub": with_claim(2, b"\xf7"),
    "claims-in-tag-1": b"\xc1" + raw_map(claim_pairs()),
    "claims-array": cbor2.dumps(list(cbor2.loads(raw_map(claim_pairs())).items())),
    "float-claim-key": raw_map(claim_pairs() + [(b"\xf9\x3c\x00", b"\x00")]),
}


@pytest.mark.parametrize("claims_bytes", CLAIMS.values(), ids=CLAIMS.keys())
def test_malformed_claims_cbor_is_4_00(peer, claims_bytes):
    response = reply(peer, authz_datagram(authz_body_for(claims_bytes)))
    assert code(response.code) == "4.00"


DATES = {  # NumericDate (RFC 8392 §2) that is not a finite number -> 4.01
    "exp-nan": (4, b"\xf9\x7e\x00"),
    "exp-inf": (4, b"\xf9\x7c\x00"),
    "exp-neg-inf-single": (4, b"\xfa\xff\x80\x00\x00"),
    "exp-nan-double": (4, b"\xfb\x7f\xf8" + bytes(6)),
    "nbf-neg-inf": (5, b"\xf9\xfc\x00"),
    "iat-nan": (6, b"\xf9\x7e\x00"),
    "exp-tagged-date": (4, b"\xc1\x1a\x7f\xff\xff\xff"),  # tag 1 is not a NumericDate
    "exp-text": (4, b"\x64soon"),
}


@pytest.mark.parametrize("label,raw", DATES.values(), ids=DATES.keys())
def test_non_finite_or_tagged_dates_are_4_01(peer, label, raw):
    response = reply(peer, authz_datagram(authz_body_for(with_claim(label, raw))))
    assert code(response.code) == "4.01"
