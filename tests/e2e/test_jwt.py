"""JWTs at the RS on the unix port (the e2e heap), minted by the AS emulator's own JWT code
(microace_host.tokens.mint_jwt, joserfc) with the AS key the RS trusts.

A JWS is signed, not encrypted: the RS verifies it and checks its claims, but it cannot carry
the OSCORE master secret (RFC 9203 §3.2), so no JWT starts an ACE-OSCORE context. What this
shows over real datagrams: a good JWT gets past signature and claims (4.00: no cnf.osc, where a
forged or expired one gets 4.01), cnf.osc in a JWT is refused (4.01), and after the JWT module
was loaded and dropped the RS serves the CWT flow as before.
"""

import time

import jwtfactory as jf
from e2e.e2e_peer import AS_KEY, AUDIENCE, ISSUER, Session, claims
from microace_host import tokens

CONTENT = 0x45


def code(c):
    return "%d.%02d" % (c >> 5, c & 31)


def as_jwt(changes=None):
    now = int(time.time())
    c = {1: ISSUER, 3: AUDIENCE, 4: now + 3600, 6: now, 7: b"jwt-1", 9: "read"}
    c.update(changes or {})
    return tokens.mint_jwt({k: v for k, v in c.items() if v is not None}, AS_KEY.to_dict())


def test_jwt_verifies_but_cannot_start_oscore(peer):
    good = as_jwt()
    assert good.startswith(b"eyJ")
    sig = bytearray(jf.unb64(good.split(b".")[2]))
    sig[5] ^= 0x10
    forged = good.rsplit(b".", 1)[0] + b"." + jf.b64(bytes(sig))
    expired = as_jwt({4: int(time.time()) - 10, 6: int(time.time()) - 100})
    osc = {"id": "AQ", "ms": jf.b64(bytes(16)).decode()}
    with_osc = jf.craft(jf.header(AS_KEY, typ="at+jwt"),
                        dict(jf.claims(iss=ISSUER, aud=AUDIENCE, exp=int(time.time()) + 60,
                                       nbf=None, iat=None), cnf={"osc": osc}), AS_KEY)
    got = [code(peer.authz_info(t)[0].code) for t in (good, forged, expired, with_osc)]
    assert got == ["4.00", "4.01", "4.01", "4.01"]


def test_cwt_flow_after_a_jwt(peer):
    assert code(peer.authz_info(as_jwt())[0].code) == "4.00"
    session = Session(peer, claims(osc_id=b"after-jwt"))
    response = session.call(1, "/temp")[1]
    assert response.code == CONTENT and response.payload == b"21.5"
