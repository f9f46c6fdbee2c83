"""Fixtures of the hostile-input catalogue: one RS on the unix port for the whole catalogue
(e2e_peer's RS, provisioned with more trusted keys), and a live client whose OSCORE context
must survive every case: after each test the RS still runs and the live client still gets
2.05, so no case crashed the RS, replaced the client's context or moved its replay window."""

import pytest

import tokenfactory as tf
from e2e.e2e_peer import AS_KEY, KW_KEY, RS, RS_KEY, Peer, Session, claims

# Trusted keys beyond e2e's ES256 AS key, A128CCM RS key and A128KW key: an Ed25519 and an
# HMAC key, so that cases aimed at their checks reach them. All of one issuer.
ED_KEY = tf.signing_key("EdDSA", b"as-ed")
MAC_KEY = tf.symmetric_key(5, b"as-mac")
TRUSTED = (AS_KEY, RS_KEY, KW_KEY, ED_KEY, MAC_KEY)
LIMITS = {"max_tokens": 8, "max_token_bytes": 1024}  # the boards' default
# The PoP key (OSCORE id) of the sessions the cases open one at a time: each new token for it
# supersedes the last, so the used contexts left behind take at most two slots, not one per
# case (a store full of used tokens answers 5.03).
SCRATCH = b"scratch"
# The Ed25519 verifier (and its SHA-512) is code in the heap on the unix port: more than e2e.
HEAP = "320k"
GET = 1


@pytest.fixture(scope="session")
def rs(tmp_path_factory):
    server = RS(tmp_path_factory.mktemp("hostile-rs"), LIMITS, HEAP, TRUSTED)
    yield server
    output = server.stop()
    assert "Traceback" not in output, output


@pytest.fixture(scope="session")
def live(rs):
    """A client with a used context: the state every case must leave alone."""
    peer = Peer(rs)
    session = Session(peer, claims(osc_id=b"live"), client_id=b"\x7f")
    assert session.call(GET, "/temp")[1].code == 0x45
    yield session
    peer.close()


@pytest.fixture(autouse=True)
def still_serving(request, rs, live):
    """After the case: the RS runs and the live client's next request succeeds."""
    yield
    assert rs.alive(), "the RS process ended"
    outer, inner = live.call(GET, "/temp")
    assert outer.code == 0x44 and inner.code == 0x45 and inner.payload == b"21.5"
