"""Fixtures of the hostile-input catalogue: one RS on the unix port for the whole catalogue
(tests/support/rs_peer.py's RS, provisioned as rs_setup.py says), and a live client whose
OSCORE context must survive every case: after each test the RS still runs and the live client
still gets 2.05, so no case crashed the RS, replaced the client's context or moved its replay
window."""

import pytest

from tests.hostile.rs_setup import HEAP, LIMITS, TRUSTED
from tests.support.rs_peer import RS, Peer, Session, claims

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
