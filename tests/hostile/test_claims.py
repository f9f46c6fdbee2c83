"""Hostile claims (RFC 8392, RFC 9200, RFC 9203, RFC 8747) in tokens whose COSE layers verify:
wrong types, missing expiry, audience tricks, scope escalation, bad `cnf`, rollback."""

import time

import cbor2
import pytest

from tests.support import tokenfactory as tf
from tests.support.rs_peer import AS_KEY, AUDIENCE, Peer, Session, claims, mint
from tests.hostile.rs_setup import SCRATCH
from tests.support.coap_wire import code, post_token

GET, PUT = 1, 3
NOT_ON_CURVE = {1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32}


def with_cnf(cnf):
    c = claims()
    c[8] = cnf
    return c


CASES = {  # claims -> code (ClaimError 4.01, AudienceError 4.03, ScopeError and shape 4.00)
    "iss-int": (dict(iss=1), "4.01"),
    "iss-other": (dict(iss="coap://as.example/"), "4.01"),
    "sub-bytes": (dict(sub=b"alice"), "4.01"),
    "cti-text": (dict(cti="1"), "4.01"),
    "exp-text": (dict(exp="tomorrow"), "4.01"),
    "exp-bool": (dict(exp=True), "4.01"),
    "no-exp-no-exi": (dict(exp=None), "4.01"),
    "exi-without-cti": (dict(exp=None, exi=60, cti=None), "4.01"),
    "exi-negative": (dict(exp=None, exi=-1), "4.01"),
    "exi-text": (dict(exp=None, exi="60"), "4.01"),
    "aud-int": (dict(aud=1), "4.01"),
    "aud-missing": (dict(aud=None), "4.03"),
    "aud-prefix": (dict(aud=AUDIENCE[:-1]), "4.03"),
    "aud-extended": (dict(aud=AUDIENCE + "0"), "4.03"),
    "aud-trailing-slash": (dict(aud=AUDIENCE + "/"), "4.03"),
    "aud-case": (dict(aud=AUDIENCE.upper()), "4.03"),
    "aud-array-of-others": (dict(aud=[AUDIENCE + "0", "rs1"]), "4.03"),
    "aud-array-empty": (dict(aud=[]), "4.01"),
    "aud-array-nested": (dict(aud=[[AUDIENCE]]), "4.01"),
    "aud-bytes": (dict(aud=AUDIENCE.encode()), "4.01"),
    "scope-int": (dict(scope=7), "4.00"),
    "scope-unknown-names-only": (dict(scope="admin root"), "4.00"),
    "scope-empty-name": (dict(scope="read  write"), "4.00"),
    "scope-aif-not-cbor": (dict(scope=b"\xff\xff"), "4.00"),
    "scope-aif-not-array": (dict(scope=cbor2.dumps({"/temp": 1})), "4.00"),
    "scope-aif-method-text": (dict(scope=cbor2.dumps([["/temp", "GET"]])), "4.00"),
    "scope-null": (dict(scope=None), "4.01"),  # null is not absent (a claims error)
    "scope-missing": (dict(drop=9), "4.00"),
    "cnf-missing": (dict(drop=8), "4.00"),  # not a token for the OSCORE profile
    "ace-profile-text": (dict(ace_profile="coap_oscore"), "4.01"),
}


@pytest.mark.parametrize("kw,want", CASES.values(), ids=CASES.keys())
def test_bad_claim(peer, kw, want):
    kw = dict(kw)
    drop = kw.pop("drop", None)
    c = claims(**kw)
    c.pop(drop, None)
    response = post_token(peer, mint(c))
    assert code(response.code) == want and response.payload == b""


CNF = {  # hostile cnf -> code
    "cnf-key-not-on-curve": ({1: NOT_ON_CURVE}, "4.00"),
    "cnf-key-x-short": ({1: {1: 2, -1: 1, -2: b"\x01" * 31, -3: b"\x02" * 32}}, "4.00"),
    "cnf-key-wrong-curve": ({1: {1: 2, -1: 2, -2: b"\x01" * 48, -3: b"\x02" * 48}}, "4.00"),
    "cnf-key-private": ({1: {**tf.cose_key_map(AS_KEY), -4: b"\x01" * 32}}, "4.00"),
    "cnf-kid-of-another-client": ({3: b"\x7f"}, "4.00"),  # not OSCORE input material
    "cnf-two-methods": ({3: b"\x01", 4: {0: b"\x01", 2: bytes(16)}}, "4.01"),
    "cnf-empty": ({}, "4.01"),
    "cnf-unknown-method": ({9: b"\x01"}, "4.01"),
    "osc-without-ms": ({4: {0: b"\x01"}}, "4.01"),
    "osc-without-id": ({4: {2: bytes(16)}}, "4.01"),
    "osc-ms-text": ({4: {0: b"\x01", 2: "secret"}}, "4.01"),
    "osc-unknown-field": ({4: {0: b"\x01", 2: bytes(16), 99: 1}}, "4.01"),
    "osc-ms-empty": ({4: {0: b"\x01", 2: b""}}, "4.00"),
    "osc-unknown-aead": ({4: {0: b"\x01", 2: bytes(16), 4: 11}}, "4.00"),
    "osc-unknown-hkdf": ({4: {0: b"\x01", 2: bytes(16), 3: -11}}, "4.00"),
    "osc-version-2": ({4: {0: b"\x01", 2: bytes(16), 1: 2}}, "4.00"),
    "osc-context-id-int": ({4: {0: b"\x01", 2: bytes(16), 6: 1}}, "4.01"),
}


@pytest.mark.parametrize("cnf,want", CNF.values(), ids=CNF.keys())
def test_bad_cnf(peer, cnf, want):
    response = post_token(peer, mint(with_cnf(cnf)))
    assert code(response.code) == want


@pytest.mark.parametrize("cnf", [
    {1: {1: 4, -1: bytes(16)}},  # a symmetric PoP key in the clear (RFC 8747 §3.3)
    {4: {0: b"\x01", 2: bytes(16)}},  # the OSCORE master secret in the clear (RFC 9203 §3.2)
], ids=["symmetric-cose-key", "osc-master-secret"])
def test_secret_cnf_in_an_unencrypted_token_is_4_01(peer, cnf):
    assert code(post_token(peer, mint(with_cnf(cnf), encrypt=None)).code) == "4.01"


@pytest.mark.parametrize("scope,path,method,want", [
    (cbor2.dumps([["/temp", 1]]), "/led", PUT, "4.03"),  # another resource
    (cbor2.dumps([["/temp", 1]]), "/temp", PUT, "4.05"),  # another method
    (cbor2.dumps([["/temp/", 1]]), "/temp", GET, "4.03"),  # a path that is not it
    (cbor2.dumps([["/TEMP", 1]]), "/temp", GET, "4.03"),
    (cbor2.dumps([["/temp/../led", 4]]), "/led", PUT, "4.03"),  # no path normalisation
    (cbor2.dumps([["/le%64", 4]]), "/led", PUT, "4.03"),  # no percent-decoding
    (cbor2.dumps([["/temp", 1 << 40]]), "/temp", GET, "4.05"),  # bits far above the methods
    ("read", "/led", PUT, "4.03"),  # text scope: "read" names GET /temp only
    ("read admin", "/led", PUT, "4.03"),  # names the board does not know grant nothing
], ids=["other-resource", "other-method", "trailing-slash", "case", "dot-dot", "percent",
        "high-bits", "text-scope", "text-scope-unknown-name"])
def test_scope_escalation_is_refused(peer, scope, path, method, want):
    s = Session(peer, claims(scope=scope, osc_id=SCRATCH), client_id=b"\x31")
    outer, inner = s.call(method, path, b"1" if method == PUT else b"")
    assert code(outer.code) == "2.04" and code(inner.code) == want  # answered protected


def test_an_older_exp_token_does_not_supersede_a_newer_one(peer, rs):
    """A token for the same PoP key (iss, OSCORE id) but issued earlier (iat) than the stored
    one would roll narrowed rights back: it is refused, and the newer token's context, not yet
    used, keeps working."""
    now = int(time.time())
    older = mint(claims(osc_id=b"older", iat=now - 60, scope=cbor2.dumps([["/temp", 1],
                                                                        ["/led", 5]])))
    newer = Session(peer, claims(osc_id=b"older", iat=now,
                                 scope=cbor2.dumps([["/temp", 1]])), client_id=b"\x46")
    assert code(post_token(peer, older, client_id=b"\x47").code) == "4.01"
    assert code(newer.call(GET, "/temp")[1].code) == "2.05"
    assert code(newer.call(PUT, "/led", b"1", 0)[1].code) == "4.03"


def test_token_rollback_cannot_take_the_clients_context(peer, rs, live):
    """An attacker re-posts the client's older token (still valid) after the client moved on
    to a newer one for the same PoP key: the client's context keeps working, and the old one
    serves nobody who does not hold its master secret."""
    c_old = claims(osc_id=b"roll")
    old = mint(c_old)
    first = Session(peer, c_old, old, client_id=b"\x41")
    assert code(first.call(GET, "/temp")[1].code) == "2.05"
    newer = Session(peer, claims(osc_id=b"roll", iat=int(time.time()) + 1), client_id=b"\x41")
    assert code(newer.call(GET, "/temp")[1].code) == "2.05"
    attacker = Peer(rs)
    try:
        assert code(post_token(attacker, old, client_id=b"\x66").code) in ("2.01", "4.01")
    finally:
        attacker.close()
    assert code(newer.call(GET, "/temp")[1].code) == "2.05"
