"""Fixtures of the end-to-end tests: RS processes on the unix port (tests/support/rs_peer.py)."""

import pytest

from tests.support.rs_peer import RS

@pytest.fixture(scope="session")
def rs(tmp_path_factory):
    """One RS for the tests that do not depend on the store's state."""
    server = RS(tmp_path_factory.mktemp("rs"), {"max_tokens": 8, "max_token_bytes": 1024})
    yield server
    output = server.stop()
    assert "Traceback" not in output, output


@pytest.fixture
def small_rs(tmp_path):
    """A fresh RS whose token store holds two tokens."""
    server = RS(tmp_path, {"max_tokens": 2, "max_token_bytes": 1024})
    yield server
    output = server.stop()
    assert "Traceback" not in output, output
