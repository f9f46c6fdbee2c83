"""Time on the running RS (docs/SECURITY.md "Time"): exi tokens expiring during a session on
the monotonic clock, the per-issuer cti high-water mark (no rollback to an older token, also
after a restart of the RS over the same state), and cnonce (RFC 9200 §5.3.1) required by the
board's config: missing, wrong, reused.

Codes are written class.detail: 0x41 is 2.01, 0x81 is 4.01.
"""

import os
import time

import cbor2
import pytest
from aiocoap.message import Message

from tests.support.coap_wire import code
from tests.support import rs_peer
from tests.support.rs_peer import AUDIENCE, RS, Peer, Session, claims, mint
from microace_host import rs_runner

GET = 1
LIMITS = {"max_tokens": 8, "max_token_bytes": 1024}
_seq = iter(range(int(time.time() * 1000), 1 << 62))


def exi_claims(exi=3600, seq=None, **kw):
    """An exi-only token's claims; cti = audience + 8-byte sequence number (RFC 9200 §5.10.3)."""
    seq = next(_seq) if seq is None else seq
    return claims(exp=None, exi=exi, cti=AUDIENCE.encode() + seq.to_bytes(8, "big"), **kw)


class TimeRS(RS):
    """An RS that can be restarted over the same state directory (a reboot)."""

    def __init__(self, directory, require_cnonce=False):
        rs_peer.provision(directory, LIMITS, require_cnonce=require_cnonce)
        self.directory = directory
        self.start()

    def start(self):
        self.port = rs_peer.free_port()
        self.address = ("127.0.0.1", self.port)
        self.process, self.where = rs_runner.start("unix:%s" % self.directory,
                                                   "127.0.0.1:%d" % self.port, rs_peer.HEAP)


@pytest.fixture
def rs(tmp_path):
    server = TimeRS(tmp_path)
    yield server
    assert "Traceback" not in server.stop()


@pytest.fixture
def peer(rs):
    p = Peer(rs)
    yield p
    p.close()


def post(peer, token_claims, client_id=b"\x21"):
    response, _ = peer.authz_info(mint(token_claims), client_id=client_id)
    return code(response.code)


def test_exi_token_expires_during_a_session(peer):
    # exi 5 s: the post and the first request fit in it even on a busy machine
    s = Session(peer, exi_claims(exi=5))
    start = time.monotonic()
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    time.sleep(max(0.0, start + 5.2 - time.monotonic()))  # the time passing is the event
    outer, inner = s.call(GET, "/temp")
    assert code(inner.code) == "4.01" and inner.payload == b"token expired"
    # The token is gone with its context: the next request is answered with hints.
    outer, inner = s.call(GET, "/temp")
    assert inner is None and code(outer.code) == "4.01"


def test_long_exi_token_serves_and_a_repost_keeps_its_lifetime(peer):
    c = exi_claims(exi=3600)
    token = mint(c)
    s = Session(peer, c, token=token)
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    s2 = Session(peer, c, token=token)  # the same token again: re-keyed, not refused
    assert code(s2.call(GET, "/temp")[1].code) == "2.05"


def test_exi_token_needs_the_cti_format(peer):
    assert post(peer, claims(exp=None, exi=60, cti=os.urandom(8))) == "4.01"
    assert post(peer, claims(exp=None, exi=60, cti=None)) == "4.01"  # exi without cti


def test_rollback_to_an_older_token_for_the_same_pop_key_is_refused(peer):
    seq = next(_seq)
    ms = os.urandom(16)
    older, newer = (exi_claims(seq=seq + i, osc_id=b"\x07", ms=ms) for i in (0, 1))
    s = Session(peer, newer)
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    assert post(peer, older) == "4.01"  # a lower sequence number than one seen
    # A token once superseded cannot come back either.
    newest = exi_claims(seq=seq + 2, osc_id=b"\x07", ms=ms)
    s3 = Session(peer, newest)
    assert code(s3.call(GET, "/temp")[1].code) == "2.05"
    assert post(peer, newer) == "4.01"


def test_cti_high_water_mark_survives_a_restart(rs, peer):
    c = exi_claims(exi=3600)
    token = mint(c)
    s = Session(peer, c, token=token)
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    rs.stop()
    rs.start()
    response, _ = peer.authz_info(token)  # the same token after a reboot: a second lifetime
    assert code(response.code) == "4.01"
    assert post(peer, exi_claims(seq=int.from_bytes(c[7][-8:], "big") - 1)) == "4.01"
    s2 = Session(peer, exi_claims(exi=3600))  # a newer one is fine
    assert code(s2.call(GET, "/temp")[1].code) == "2.05"


# -- cnonce -----------------------------------------------------------------------------------

@pytest.fixture
def cnonce_peer(tmp_path):
    server = TimeRS(tmp_path, require_cnonce=True)
    p = Peer(server)
    yield p
    p.close()
    assert "Traceback" not in server.stop()


def hints(peer):
    # A body pads the probe: the RS answers an unverified request with at most 3x its size.
    response = peer.request(Message(code=GET, uri_path=("temp",), payload=bytes(96)))
    assert code(response.code) == "4.01"
    return cbor2.loads(response.payload)


def test_hints_carry_a_fresh_8_byte_cnonce(cnonce_peer):
    a, b = hints(cnonce_peer), hints(cnonce_peer)
    assert a[5] == AUDIENCE and len(a[39]) == 8 and a[39] != b[39]


def test_cnonce_required_missing_wrong_reused(cnonce_peer):
    nonce = hints(cnonce_peer)[39]
    assert post(cnonce_peer, claims()) == "4.01"  # missing
    assert post(cnonce_peer, claims(cnonce=os.urandom(8))) == "4.01"  # never handed out
    c = claims(cnonce=nonce)
    token = mint(c)
    s = Session(cnonce_peer, c, token=token)
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    assert post(cnonce_peer, claims(cnonce=nonce)) == "4.01"  # reused by another token
    Session(cnonce_peer, c, token=token)  # the accepted token itself may be re-posted


def test_no_cnonce_in_hints_unless_configured(peer):
    response = peer.request(Message(code=GET, uri_path=("temp",), payload=bytes(96)))
    assert 39 not in cbor2.loads(response.payload)


# -- the AS emulator and the client against the firmware -----------------------------------

def test_as_emulator_exi_tokens_with_cnonce_through_the_client(tmp_path):
    """The whole chain: the AS emulator counts cti per RS for exi tokens and echoes the cnonce
    the client got from the RS's hints; the firmware accepts what it issues, in order, once."""
    import asyncio

    import cwt
    from tests.support.ace_setup import as_public_key, rs_key, write_config
    from microace_host import authz_server as asrv
    from microace_host import client

    write_config(tmp_path, expiration="exi")
    trusted = [cwt.COSEKey.new(k) for k in (as_public_key(tmp_path), rs_key(tmp_path))]
    board = tmp_path / "board"
    board.mkdir()
    rs_peer.provision(board, LIMITS, trusted, require_cnonce=True)
    server = TimeRS.__new__(TimeRS)
    server.directory = board
    server.start()
    as_bind = "127.0.0.1:%d" % rs_peer.free_port()
    log = []

    async def flow():
        context, issuer = await asrv.start(asrv.Config.load(tmp_path / "as.toml"), as_bind,
                                           log=lambda line: None)
        try:
            for _ in range(2):  # each run: refused without cnonce, then a fresh exi token
                got = await client.run("GET", server.where + "/temp", "client1", b"s3cret-one",
                                       as_uris="coap://" + as_bind, audience=AUDIENCE,
                                       log=log.append)
                assert (got.code.dotted, got.payload) == ("2.05", b"21.5")
            return issuer.issued
        finally:
            await context.shutdown()

    try:
        issued = asyncio.run(flow())
        tokens = [(t, c) for t, c in issued.items() if 39 in c]
        assert len(tokens) == 2 and all(c[40] == 600 for _, c in tokens)
        seqs = [int.from_bytes(c[7][len(AUDIENCE):], "big") for _, c in tokens]
        assert seqs[1] > seqs[0] and sum("cnonce" in line for line in log) == 2
        refused = [t for t, c in issued.items() if 39 not in c]
        assert len(refused) == 2
        peer = Peer(server)
        try:
            for token in refused:  # without a cnonce: refused again
                assert code(peer.authz_info(token)[0].code) == "4.01"
            # a stored token may be posted again (a new context, the same lifetime)
            assert code(peer.authz_info(tokens[0][0])[0].code) == "2.01"
        finally:
            peer.close()
    finally:
        assert "Traceback" not in server.stop()
