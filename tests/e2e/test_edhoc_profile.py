"""The EDHOC-OSCORE profile of ACE (draft-ietf-ace-edhoc-oscore-profile) against the RS on the
unix port: the client (the RFC-exact Initiator of microace_host.edhoc_initiator, aiocoap
for OSCORE) carries its access token in EAD_3; tokens are minted with python-cwt in an AS's
shapes (Sign1, and the several-hundred-byte nested Encrypt0(Sign1)), binding the client's
CCS as kccs. Every error row of issue 16: audience, expiry, wrong ID_CRED_I, no or two token
items, tampering, replay, bare COSE_Key, update of access rights, 4.03 / 4.05, an older
session of the same series deleted, Uri-Path-Abbrev, the hints naming both profiles."""

import os
import time

import cbor2
import pytest
from aiocoap.message import Message
from aiocoap.optiontypes import UintOption

from tests.support.rs_peer import AS_KEY, AS_URI, AUDIENCE, ISSUER, RS, RS_KEY, Peer
from tests.support.edhoc_peer import CRED_I, SK_I, oscore_call, post
from tests.support.edhoc_profile_peer import (ABBREV_OPTION, BAD_OPTION, BAD_REQUEST, CHANGED,
                                              CONTENT, CREATED, CRED_OTHER, ead, EAD_TOKEN,
                                              FORBIDDEN, GET, gone, handshake, METHOD_NOT_ALLOWED,
                                              POST, PROFILE_HEAP, PUT, READ_WRITE, refused, session,
                                              SK_OTHER, start, token, UNAUTHORIZED)
from microace_host.edhoc_initiator import Initiator, encode_id
from microace_host.client import memory_context
from microace_host.provision import EdhocPlan

@pytest.fixture(scope="module")
def board(tmp_path_factory):
    server, cred_r = start(tmp_path_factory.mktemp("edhoc_profile"))
    peer = Peer(server)
    yield server, cred_r, peer
    peer.close()
    output = server.stop()
    assert "Traceback" not in output, output


def test_token_in_ead_3_then_oscore_with_its_rights(board):
    rs, cred_r, peer = board
    t = token()
    assert len(t) > 200  # nested Encrypt0(Sign1) with the client's CCS inside
    ctx = session(peer, cred_r, ead(t))
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    assert oscore_call(peer, ctx, GET, "/led")[0] == FORBIDDEN  # out of scope: 4.03
    assert oscore_call(peer, ctx, PUT, "/temp", b"1")[0] == METHOD_NOT_ALLOWED  # 4.05
    # a Sign1-only token (no confidentiality needed: the token travels encrypted in EAD_3)
    ctx = session(peer, cred_r, ead(token(nested=False, session_id=b"\x02")))
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")


def test_method_not_granted_and_replayed_request(board):
    """4.05 from the token's rights, not the resource's: /led takes PUT, the token grants it
    GET only. A request of the session sent again is a replay (RFC 8613 §7.4): 4.01, and the
    session goes on."""
    rs, cred_r, peer = board
    ctx = session(peer, cred_r, ead(token(session_id=b"\x20", scope=cbor2.dumps([["/led", 1]]))))
    assert oscore_call(peer, ctx, GET, "/led")[0] == CONTENT
    assert oscore_call(peer, ctx, PUT, "/led", b"1")[0] == METHOD_NOT_ALLOWED
    assert oscore_call(peer, ctx, GET, "/temp")[0] == FORBIDDEN
    outer, _ = ctx.protect(Message(code=GET, uri_path=("led",)))
    assert peer.request(outer).code == CHANGED  # OSCORE's outer code of a response
    replay = peer.request(outer)
    assert replay.code == UNAUTHORIZED and replay.opt.oscore is None
    assert oscore_call(peer, ctx, GET, "/led")[0] == CONTENT


@pytest.mark.parametrize("bad, reason", [
    (dict(aud="coap://other.example"), "aud does not name this resource server"),
    (dict(lifetime=-10), "token expired"),
    (dict(cnf={1: cbor2.loads(CRED_I)[8][1]}), "kccs"),  # a bare COSE_Key (§3.1)
    (dict(cred=CRED_OTHER), "ID_CRED_I is not the token's credential"),  # §4.2
])
def test_invalid_token_aborts(board, bad, reason):
    rs, cred_r, peer = board
    _, r, _ = handshake(peer, cred_r, ead(token(**bad)))
    refused(r, reason)


def test_token_items_exactly_one(board):
    rs, cred_r, peer = board
    _, r, _ = handshake(peer, cred_r, b"")
    refused(r, "exactly one access token")
    t = token()
    _, r, _ = handshake(peer, cred_r, ead(t, t))
    refused(r, "exactly one access token")
    # the item sent non-critical counts as the item too; a padding item beside it is fine
    ctx = session(peer, cred_r, b"\x00" + cbor2.dumps(bytes(3)) + cbor2.dumps(EAD_TOKEN)
                  + cbor2.dumps(token(session_id=b"\x03")))
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")


def test_tampered_token_and_replayed_message_3(board):
    rs, cred_r, peer = board
    t = bytearray(token(nested=False))
    t[-5] ^= 1  # in the signature
    _, r, _ = handshake(peer, cred_r, ead(bytes(t)))
    refused(r, "access token")
    _, r, m3 = handshake(peer, cred_r, ead(token(session_id=b"\x04")))
    assert r.code == CHANGED
    refused(post(peer, m3), "no EDHOC session for this C_R")


def test_kccs_by_value_in_id_cred_i(board):
    rs, cred_r, peer = board
    by_value = cbor2.dumps({14: cbor2.loads(CRED_I)})
    ctx = session(peer, cred_r, ead(token(session_id=b"\x05")), id_cred_i=by_value)
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    other = cbor2.dumps({14: cbor2.loads(CRED_OTHER)})
    _, r, _ = handshake(peer, cred_r, ead(token(session_id=b"\x06")), id_cred_i=other,
                        sk=SK_OTHER, cred=CRED_OTHER)
    refused(r, "ID_CRED_I is not the token's credential")


def test_older_session_of_the_series_deleted(board):
    rs, cred_r, peer = board
    first = session(peer, cred_r, ead(token(session_id=b"\x07")))
    assert oscore_call(peer, first, GET, "/temp") == (CONTENT, b"21.5")
    second = session(peer, cred_r, ead(token(session_id=b"\x07")))
    # §4.2: deleted with the new session, not once the new context is used
    gone(peer, first)
    assert oscore_call(peer, second, GET, "/temp") == (CONTENT, b"21.5")


def authz_info(peer, ctx, raw, content_format=61):
    inner = Message(code=POST, uri_path=("authz-info",), payload=raw)
    inner.opt.content_format = content_format
    outer, request_id = ctx.protect(inner)
    response = peer.request(outer)
    from aiocoap.message import Direction
    response.direction = Direction.INCOMING
    plain, _ = ctx.unprotect(response, request_id)
    return plain.code


def test_update_of_access_rights(board):
    rs, cred_r, peer = board
    ctx = session(peer, cred_r, ead(token(session_id=b"\x08")))
    assert oscore_call(peer, ctx, PUT, "/led", b"1")[0] == FORBIDDEN
    # another series or another credential: refused, the rights stay
    assert authz_info(peer, ctx, token(session_id=b"\x09", scope=READ_WRITE)) == UNAUTHORIZED
    assert authz_info(peer, ctx, token(session_id=b"\x08", cred=CRED_OTHER,
                                       scope=READ_WRITE)) == UNAUTHORIZED
    assert authz_info(peer, ctx, token(session_id=b"\x08", scope=READ_WRITE),
                      content_format=19) == BAD_REQUEST
    assert oscore_call(peer, ctx, PUT, "/led", b"1")[0] == FORBIDDEN
    # the same series: 2.01, the new rights apply over the same OSCORE context (§4.6)
    assert authz_info(peer, ctx, token(session_id=b"\x08", scope=READ_WRITE)) == CREATED
    assert oscore_call(peer, ctx, PUT, "/led", b"1")[0] == CHANGED


def test_uri_path_abbrev(board):
    rs, cred_r, peer = board
    i = Initiator(SK_I, CRED_I, c_i=b"\x11", ead_3=ead(token(session_id=b"\x0a")))
    m = Message(code=POST, payload=b"\xf5" + i.message_1())
    m.opt.add_option(UintOption(ABBREV_OPTION, 2))
    r = peer.request(m)
    assert r.code == CHANGED, (r.code, r.payload)
    c_r = i.message_2(r.payload, cred_r)
    m = Message(code=POST, payload=encode_id(c_r) + i.message_3())
    m.opt.add_option(UintOption(ABBREV_OPTION, 2))
    assert peer.request(m).code == CHANGED
    ctx = memory_context(*i.oscore())
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    m = Message(code=POST, payload=b"\xf5")
    m.opt.add_option(UintOption(ABBREV_OPTION, 7))  # a value not understood
    assert peer.request(m).code == BAD_OPTION


def test_hints_name_both_profiles(board):
    rs, cred_r, peer = board
    # padded: the hints fit in 3x the request (RFC 9175 §2.4), as test_rs.py's probes
    r = peer.request(Message(code=GET, uri_path=("temp",), payload=bytes(96)))
    assert r.code == UNAUTHORIZED
    hints = cbor2.loads(r.payload)
    assert hints[5] == AUDIENCE and hints[38] == [2, 4]


def served_then_stopped(tmp_path):
    """An RS of its own that served one session, then stopped -> (the RS, its credential, a
    peer, the session's client context)."""
    server, cred_r = start(tmp_path)
    peer = Peer(server)
    try:
        ctx = session(peer, cred_r, ead(token()))
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    finally:
        assert "Traceback" not in server.stop()
    return server, cred_r, peer, ctx


def restart(server, tmp_path):
    from microace_host import rs_runner

    server.process, server.where = rs_runner.start(
        "unix:%s" % tmp_path, "127.0.0.1:%d" % server.port, PROFILE_HEAP)


def test_reboot_keeps_the_session_with_echo_recovery(tmp_path):
    """The session's token and OSCORE context persist as a token's do (tokens.py): after a
    restart the first request gets 4.01 with Echo (RFC 8613 App. B.1.2), the request with it
    is served; no new EDHOC run is needed."""
    server, cred_r, peer, ctx = served_then_stopped(tmp_path)
    try:
        restart(server, tmp_path)
        inner = Message(code=GET, uri_path=("temp",))
        outer, request_id = ctx.protect(inner)
        response = peer.request(outer)
        from aiocoap.message import Direction
        response.direction = Direction.INCOMING
        plain, _ = ctx.unprotect(response, request_id)
        assert plain.code == UNAUTHORIZED and plain.opt.echo
        inner = Message(code=GET, uri_path=("temp",))
        inner.opt.echo = plain.opt.echo
        outer, request_id = ctx.protect(inner)
        response = peer.request(outer)
        response.direction = Direction.INCOMING
        plain, _ = ctx.unprotect(response, request_id)
        assert (plain.code, plain.payload) == (CONTENT, b"21.5")
    finally:
        peer.close()
        assert "Traceback" not in server.stop()


def test_lakers_message_3_without_token_item(board):
    """lakers-python as Initiator (its contexts stay under 256 bytes without a token): a
    message_3 without the access-token item aborts with ERR_CODE 1."""
    from tests.support.edhoc_peer import lakers_handshake

    lakers = pytest.importorskip("lakers", reason="needs lakers-python (requirements.txt)")
    rs, cred_r, peer = board
    ctx, r = lakers_handshake(peer, cred_r, ead_3=[lakers.EADItem(98, False, b"\x02")])
    assert ctx is None
    refused(r, "exactly one access token")


def test_as_emulator_token_drives_the_handshake(board):
    """The AS emulator's EDHOC-OSCORE token response (authz_server.py): ace_profile 4, rs_cnf
    the board's CCS, edhoc_info with the session_id, the client's CCS bound as kccs in a
    nested Encrypt0(Sign1) token; the token carried in EAD_3 opens the session."""
    from tests.support import tokenfactory as tf
    from microace_host import authz_server as asv

    rs, cred_r, peer = board
    signing = {k: v for k, v in AS_KEY.to_dict().items() if k != 4}  # no key_ops
    entry = asv.RS(AUDIENCE, "encrypt0+sign1", tf.cose_key_map(RS_KEY), None, None, cred_r)
    config = asv.Config(ISSUER, signing, 3600, "exp", {AUDIENCE: entry}, {"c1": b"secret"},
                        {("c1", AUDIENCE): asv.Policy([], [("/temp", 1)])}, {"c1": CRED_I})
    issuer = asv.Issuer(config)
    with pytest.raises(asv.TokenRequestError):  # the profile of another RS
        issuer.token({24: "c1", 25: b"secret", 38: 2})
    response = issuer.token({24: "c1", 25: b"secret", 38: 4, 4: {11: cbor2.loads(CRED_I)}})
    assert response[38] == 4 and response[41] == {11: cbor2.loads(cred_r)}
    info = response[47]
    assert info[5] == "/.well-known/edhoc" and info[2] == 2 and len(info[0]) == 2
    ctx = session(peer, cred_r, ead(response[1]))
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")


def test_client_runs_the_whole_flow(board, tmp_path):
    """`microace client get --profile edhoc --key client.cose`'s code (client.run): token
    from the AS emulator, EDHOC with the RS authenticated against rs_cnf first, the token in
    EAD_3, then OSCORE. An AS naming another RS credential: the client stops at message_2."""
    import asyncio

    from tests.support import tokenfactory as tf
    from tests.support.rs_peer import free_port
    from microace_host import authz_server as asv
    from microace_host import client, keys

    rs, cred_r, _ = board
    keys.new_key("ES256", tmp_path, kid=b"\x2d", name="client", with_ccs=True)
    edhoc_key = client.EdhocKey(tmp_path / "client.cose")
    signing = {k: v for k, v in AS_KEY.to_dict().items() if k != 4}

    def config(rs_credential):
        entry = asv.RS(AUDIENCE, "encrypt0+sign1", tf.cose_key_map(RS_KEY), None, None,
                       rs_credential)
        return asv.Config(ISSUER, signing, 3600, "exp", {AUDIENCE: entry}, {"c1": b"secret"},
                          {("c1", AUDIENCE): asv.Policy([], [("/temp", 1)])},
                          {"c1": edhoc_key.cred})

    async def flow(rs_credential, log):
        port = free_port()
        as_ctx, _ = await asv.start(config(rs_credential), "127.0.0.1:%d" % port,
                                    log=lambda line: None)
        try:
            return await client.run("GET", "coap://127.0.0.1:%d/temp" % rs.port, "c1",
                                    b"secret", as_uris="coap://127.0.0.1:%d" % port,
                                    audience=AUDIENCE, log=log.append, edhoc_key=edhoc_key)
        finally:
            await as_ctx.shutdown()

    log = []
    response = asyncio.run(flow(cred_r, log))
    assert (response.code, response.payload) == (CONTENT, b"21.5"), log
    assert any("authenticates it as rs_cnf" in line for line in log)
    with pytest.raises(client.ClientError, match="does not authenticate the RS"):
        asyncio.run(flow(CRED_OTHER, []))


def test_expired_token_removes_the_session(board):
    """§4.7: when the token expires the session's OSCORE context goes; the request is 4.01."""
    rs, cred_r, peer = board
    ctx = session(peer, cred_r, ead(token(session_id=b"\x0b", lifetime=2)))
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    time.sleep(3)  # past exp (a wait for a deadline, not a speed check)
    assert oscore_call(peer, ctx, GET, "/temp") == (UNAUTHORIZED, b"token expired")
    gone(peer, ctx)  # §4.10: the context went with the token


def test_board_codepoints_override_the_defaults(tmp_path):
    """board.json "codepoints": the EAD label of the access token moved to 30; the draft's
    default -24 is then an unknown critical item (RFC 9528 §3.8)."""
    plan = EdhocPlan(b"\x32", "rs1", tmp_path / "rs.ccs", [])
    server = RS(tmp_path, {"max_tokens": 4, "max_token_bytes": 1024}, heap=PROFILE_HEAP,
                edhoc=plan, board={"edhoc": {}, "profiles": ["coap_edhoc_oscore"],
                                   "codepoints": {"ead_access_token": 30}})
    cred_r = (tmp_path / "rs.ccs").read_bytes()
    peer = Peer(server)
    try:
        _, r, _ = handshake(peer, cred_r, ead(token()))
        refused(r, "unsupported critical EAD item -24")
        t = token(session_id=b"\x0c")
        ctx = session(peer, cred_r, cbor2.dumps(-30) + cbor2.dumps(t))
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
        # one profile offered: no ace_profile in the hints, and no ACE-OSCORE /authz-info
        r = peer.request(Message(code=GET, uri_path=("temp",), payload=bytes(96)))
        assert 38 not in cbor2.loads(r.payload)
        assert peer.authz_info(token())[0].code == 0x84  # 4.04
    finally:
        peer.close()
        assert "Traceback" not in server.stop()


def dated_cred(**times):
    """The client's CCS with validity claims (RFC 8392 exp 4 / nbf 5), deterministic as the
    RS re-encodes the token's kccs (the bytes MAC_3 covers as CRED_I)."""
    m = cbor2.loads(CRED_I)
    m.update({{"exp": 4, "nbf": 5}[k]: v for k, v in times.items()})
    return cbor2.dumps(m, canonical=True)


def test_client_credential_validity_checked_at_the_handshake(board):
    """§4.11: AUTH_CRED_C is the CCS in the token's cnf; outside its exp / nbf it is no
    credential and the handshake aborts with ERR_CODE 1, whatever the token's own lifetime."""
    rs, cred_r, peer = board
    now = int(time.time())
    for times, reason in ((dict(exp=now - 10), "AUTH_CRED_C expired"),
                          (dict(nbf=now + 600), "AUTH_CRED_C not yet valid")):
        cred = dated_cred(**times)
        _, r, _ = handshake(peer, cred_r, ead(token(cred=cred, session_id=b"\x0d")), cred=cred)
        refused(r, reason)
    cred = dated_cred(exp=now + 600, nbf=now - 10)
    ctx = session(peer, cred_r, ead(token(cred=cred, session_id=b"\x0d")), cred=cred)
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")


def test_client_credential_expiry_removes_the_session(board):
    """§4.7, §4.11: the session ends when AUTH_CRED_C expires, before its token does, and an
    update of access rights (a token of an hour) does not carry it past the credential."""
    rs, cred_r, peer = board
    cred = dated_cred(exp=int(time.time()) + 3)
    ctx = session(peer, cred_r, ead(token(cred=cred, session_id=b"\x0e")), cred=cred)
    assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    assert authz_info(peer, ctx, token(cred=cred, session_id=b"\x0e", scope=READ_WRITE)) \
        == CREATED
    assert oscore_call(peer, ctx, PUT, "/led", b"1")[0] == CHANGED
    time.sleep(4)  # past the credential's exp (a wait for a deadline, not a speed check)
    assert oscore_call(peer, ctx, GET, "/temp")[0] == UNAUTHORIZED
    gone(peer, ctx)


def test_new_board_key_ends_the_sessions_of_the_old(tmp_path):
    """§4.11, AUTH_CRED_RS: a board wiped and provisioned anew makes a new EDHOC key; the
    sessions kept in state.bin were made under the old credential and go at start-up (their
    requests get 4.01 with hints), even where the new store's generation is the old one's.
    The client holding the old rs_cnf cannot authenticate the board any more."""
    from tests.support.rs_peer import provision

    server, cred_r, peer, ctx = served_then_stopped(tmp_path)
    try:
        (tmp_path / "keystore.bin").unlink()  # a fresh store; state.bin stays
        provision(tmp_path, {"max_tokens": 12, "max_token_bytes": 1024},
                  edhoc=EdhocPlan(b"\x33", "rs1", tmp_path / "rs2.ccs", []),
                  board={"edhoc": {}, "profiles": ["coap_oscore", "coap_edhoc_oscore"]})
        new_cred = (tmp_path / "rs2.ccs").read_bytes()
        assert new_cred != cred_r
        restart(server, tmp_path)
        gone(peer, ctx)
        with pytest.raises(ValueError, match="MAC_2 does not verify"):
            handshake(peer, cred_r, ead(token()))
        ctx = session(peer, new_cred, ead(token()))
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    finally:
        peer.close()
        assert "Traceback" not in server.stop()


def test_ead_1_credential_by_value_and_request_creation_hints(board):
    """EAD_1 items of message_1 without a value (critical or not, both are understood):
    Credential By Value (15, §4.14) puts the board's CCS by value in ID_CRED_R; Request
    Creation Hints (1, §4.13) comes back in EAD_2 with the hints, never the audience
    (message_2 is open to active attackers). The Initiator checks MAC_2 over both."""
    rs, cred_r, peer = board
    cases = ((cbor2.dumps(15), True, False), (cbor2.dumps(-15), True, False),
             (cbor2.dumps(1), False, True), (cbor2.dumps(-1) + cbor2.dumps(15), True, True))
    for ead_1, by_value, asks_hints in cases:
        i, r, _ = handshake(peer, cred_r, ead(token(session_id=b"\x20")),  # one series
                            ead_1=ead_1)
        assert r.code == CHANGED, (r.code, r.payload)
        assert i.id_cred_r_by_value == by_value
        if asks_hints:
            label, value = i.ead_2
            hints = cbor2.loads(value)
            assert label == 1 and hints == {1: AS_URI, 38: [2, 4]}, hints
        else:
            assert i.ead_2 == []
        ctx = memory_context(*i.oscore())
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")


def test_ead_1_items_with_a_value(board):
    """The draft's EAD_1 items carry no value: one with a value is skipped when non-critical
    (RFC 9528 §3.8), and aborts with ERR_CODE 1 when critical; an unknown critical item
    aborts too."""
    rs, cred_r, peer = board
    i, r, _ = handshake(peer, cred_r, ead(token(session_id=b"\x20")),
                        ead_1=cbor2.dumps(15) + cbor2.dumps(b"\x01") + cbor2.dumps(1)
                        + cbor2.dumps(b"\xa0"))
    assert r.code == CHANGED and not i.id_cred_r_by_value and i.ead_2 == []
    for item, reason in (
            (cbor2.dumps(-15) + cbor2.dumps(b"\x01"), "EAD_1 item -15 takes no value"),
            (cbor2.dumps(-1) + cbor2.dumps(b"\xa0"), "EAD_1 item -1 takes no value"),
            (cbor2.dumps(-16), "unsupported critical EAD item -16")):
        i = Initiator(SK_I, CRED_I, c_i=os.urandom(1), ead_1=item)
        refused(post(peer, b"\xf5" + i.message_1()), reason)


def test_profile_offered_without_edhoc_fails_the_start(tmp_path):
    """board.json offering coap_edhoc_oscore without "edhoc" (no EDHOC resource to run it):
    the RS does not start (fail closed), with the reason."""
    from microace_host.unix_port import UnixPortError

    with pytest.raises(UnixPortError, match='coap_edhoc_oscore needs "edhoc"'):
        RS(tmp_path, {"max_tokens": 4, "max_token_bytes": 1024}, heap=PROFILE_HEAP,
           board={"profiles": ["coap_oscore", "coap_edhoc_oscore"]})
