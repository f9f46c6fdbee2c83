"""JWTs at the RS on the unix port (the e2e heap), minted by the AS emulator's own JWT code
(microace_host.tokens.mint, joserfc) with the keys the RS trusts.

A nested JWT (RFC 7519 §5.2: a JWE, A128KW + A128CBC-HS256, around the AS-signed JWS) carries
cnf.osc and drives the same ACE-OSCORE flow as an Encrypt0(Sign1) CWT: authz-info, then
OSCORE GET and PUT. A bare JWS is signed, not encrypted: it cannot carry the OSCORE master
secret (RFC 9203 §3.2), so it gets past signature and claims and is then refused (4.00: no
cnf.osc), where a forged or expired one gets 4.01, and cnf.osc in a JWS is refused (4.01).
After the JWT modules were loaded and dropped the RS serves the CWT flow as before.
"""

import time

import cbor2
import pytest

from tests.support.coap_wire import code
from tests.support import jwtfactory as jf
from tests.support.rs_peer import AS_KEY, AUDIENCE, ISSUER, KW_KEY, OTHER_KEY, RS, Session, claims
from microace_host import tokens

CONTENT, CHANGED, GET, PUT = 0x45, 0x44, 1, 3
# One PoP key id for the sessions here: each new token for it supersedes the last once used.
OSC_ID = b"jwt-e2e"


@pytest.fixture(scope="module")
def rs(tmp_path_factory):
    """An RS of its own (the e2e heap and limits): the JWT path's imports and this file's
    tokens do not touch the directory's shared RS."""
    server = RS(tmp_path_factory.mktemp("jwt-rs"), {"max_tokens": 8, "max_token_bytes": 1024})
    yield server
    output = server.stop()
    assert "Traceback" not in output, output


def as_jwt(changes=None):
    now = int(time.time())
    c = {1: ISSUER, 3: AUDIENCE, 4: now + 3600, 6: now, 7: b"jwt-1", 9: "read"}
    c.update(changes or {})
    return tokens.mint_jwt({k: v for k, v in c.items() if v is not None}, AS_KEY.to_dict())


def as_nested(token_claims):
    """What the AS emulator issues for an RS with token_format = "jwt" (tokens.mint, form jwt,
    the RS's A128KW key): the claims with cnf.osc, signed, then encrypted."""
    return tokens.mint(token_claims, "jwt", signing_key=AS_KEY.to_dict(),
                       encryption_key=cbor2.loads(KW_KEY))


def test_nested_jwt_drives_the_oscore_flow(peer):
    token_claims = claims(osc_id=OSC_ID)
    token = as_nested(token_claims)
    assert token.count(b".") == 4 and token.startswith(b"eyJ")
    session = Session(peer, token_claims, token=token)
    response = session.call(GET, "/temp")[1]
    assert response.code == CONTENT and response.payload == b"21.5"
    assert session.call(PUT, "/config", cbor2.dumps({"interval": 10}), 60)[1].code == CHANGED


def test_nested_jwt_tampered_or_forged_is_refused(peer):
    token_claims = claims(osc_id=b"nested-bad")
    token = as_nested(token_claims)
    parts = token.split(b".")
    tag = bytearray(jf.unb64(parts[4]))
    tag[0] ^= 1
    tampered = b".".join(parts[:4] + [jf.b64(bytes(tag))])
    # Signed by the right kid with another key, encrypted correctly: the JWS does not verify.
    forged = tokens.mint(token_claims, "jwt", signing_key=OTHER_KEY.to_dict(),
                         encryption_key=cbor2.loads(KW_KEY))
    got = [code(peer.authz_info(t)[0].code) for t in (tampered, forged)]
    assert got == ["4.01", "4.01"]


def test_jws_verifies_but_cannot_start_oscore(peer):
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
    session = Session(peer, claims(osc_id=OSC_ID))
    response = session.call(GET, "/temp")[1]
    assert response.code == CONTENT and response.payload == b"21.5"
