"""EDHOC over CoAP (RFC 9528 Appendix A.2) against the RS on the unix port: lakers-python as
Initiator (method 3; with and without message_4; EAD items), the host's RFC-exact Initiator
(microace_host.edhoc_initiator) for method 1 and the EDHOC + OSCORE combined request (RFC
9668), the OSCORE context in the token store with the trusted client's rights, and hostile input."""

import os

import cbor2
import pytest
from aiocoap.message import Message

from tests.support.edhoc_peer import CRED_I, SK_I, lakers_handshake, oscore_call, post
from tests.support.rs_peer import RS, Peer
from microace_host.edhoc_initiator import Initiator, encode_id
from microace_host.client import memory_context
from microace_host.provision import EdhocPlan

lakers = pytest.importorskip("lakers", reason="needs lakers-python (requirements.txt)")

POST, GET, PUT = 2, 1, 3
CHANGED, CONTENT, BAD_REQUEST, FORBIDDEN, METHOD_NOT_ALLOWED = 0x44, 0x45, 0x80, 0x83, 0x85
EDHOC_HEAP = os.environ.get("MICROACE_EDHOC_HEAP", "256k")
# RFC 9529 Trace 2's Initiator (SK_I, CRED_I: kid 0x2b) is trusted with scope "read".


def start(tmp_path, message_4=False):
    plan = EdhocPlan(b"\x32", "rs1", tmp_path / "rs.ccs", [{"cred": CRED_I, "scope": "read"}])
    # EDHOC's code (edhoc, ecdh, ccs, edhoc_resource) lives in the unix port's heap too
    server = RS(tmp_path, {"max_tokens": 4, "max_token_bytes": 1024}, heap=EDHOC_HEAP,
                edhoc=plan, board={"edhoc": {"message_4": message_4}})
    return server, (tmp_path / "rs.ccs").read_bytes()


@pytest.fixture
def edhoc_rs(tmp_path):
    server, cred_r = start(tmp_path)
    yield server, cred_r
    output = server.stop()
    assert "Traceback" not in output, output


def test_lakers_handshake_then_oscore_with_the_clients_rights(edhoc_rs):
    rs, cred_r = edhoc_rs
    peer = Peer(rs)
    try:
        # /.well-known/core lists the EDHOC resource
        r = peer.request(Message(code=GET, uri_path=(".well-known", "core")))
        assert b"</.well-known/edhoc>;rt=core.edhoc" in r.payload
        ctx, r = lakers_handshake(peer, cred_r)
        assert ctx is not None, (r.code, r.payload)
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
        # scope "read": /temp GET only; the RS's access control applies
        assert oscore_call(peer, ctx, PUT, "/led", b"1")[0] == FORBIDDEN
        # only POST on the EDHOC resource
        assert post(peer, b"\xf5", code=GET).code == METHOD_NOT_ALLOWED
    finally:
        peer.close()


def test_lakers_with_message_4(tmp_path):
    rs, cred_r = start(tmp_path, message_4=True)
    peer = Peer(rs)
    try:
        ctx, r = lakers_handshake(peer, cred_r, message_4=True)
        assert ctx is not None and len(r.payload) == 9  # bstr of the 8-byte tag
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
    finally:
        peer.close()
        assert "Traceback" not in rs.stop()


def test_lakers_ead_items(edhoc_rs):
    rs, cred_r = edhoc_rs
    peer = Peer(rs)
    try:
        # an unknown non-critical item in EAD_1 and EAD_3: ignored
        ctx, r = lakers_handshake(peer, cred_r, ead_1=[lakers.EADItem(99, False, b"\x01")],
                                  ead_3=[lakers.EADItem(98, False, b"\x02\x03")])
        assert ctx is not None, (r.code, r.payload)
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
        # an unknown critical item: EDHOC error, ERR_CODE 1
        i = lakers.EdhocInitiator()
        r = post(peer, b"\xf5" + i.prepare_message_1(c_i=None,
                                                      ead_1=[lakers.EADItem(99, True, b"\x01")]))
        assert r.code == BAD_REQUEST and r.opt.content_format == 64
        assert r.payload == cbor2.dumps(1) + cbor2.dumps("unsupported critical EAD item -99")
    finally:
        peer.close()


def test_lakers_long_context_is_refused(edhoc_rs):
    """lakers-python 0.6.2 writes the EDHOC_KDF context length as one byte after 0x58 once a
    context reaches 256 bytes: its MAC_3 over such a context_3 (here made long by a padding
    EAD_3 item) is not RFC 9528's, and the RS refuses it. The same EAD_3 from the RFC-exact
    test Initiator is accepted (docs/SECURITY.md)."""
    rs, cred_r = edhoc_rs
    peer = Peer(rs)
    pad = bytes(120)  # context_3 = ID_CRED_I 4 + TH_3 34 + CRED_I 107 + EAD_3 123 >= 256
    try:
        ctx, r = lakers_handshake(peer, cred_r, ead_3=[lakers.EADItem(0, False, pad)])
        assert ctx is None and r.code == BAD_REQUEST
        assert r.payload == cbor2.dumps(1) + cbor2.dumps("MAC_3 does not verify")
        i = Initiator(SK_I, CRED_I, c_i=b"\x05", ead_3=b"\x00" + cbor2.dumps(pad))
        r = post(peer, b"\xf5" + i.message_1())
        c_r = i.message_2(r.payload, cred_r)
        r = post(peer, encode_id(c_r) + i.message_3())
        assert r.code == CHANGED, r.payload
    finally:
        peer.close()


def test_method_1_and_combined_request(edhoc_rs):
    """Method 1 (the Initiator signs) with the EDHOC + OSCORE combined request (RFC 9668):
    message_3 and the first OSCORE request in one datagram."""
    rs, cred_r = edhoc_rs
    peer = Peer(rs)
    try:
        i = Initiator(SK_I, CRED_I, method=1, c_i=b"\x0a")
        r = post(peer, b"\xf5" + i.message_1())
        i.message_2(r.payload, cred_r)
        m3 = i.message_3()
        ctx = memory_context(*i.oscore())
        outer, request_id = ctx.protect(Message(code=GET, uri_path=("temp",)))
        combined = Message(code=outer.code, payload=m3 + outer.payload)
        combined.opt.oscore = outer.opt.oscore
        combined.opt.edhoc = True
        response = peer.request(combined)
        assert response.opt.oscore is not None, (response.code, response.payload)
        from aiocoap.message import Direction
        response.direction = Direction.INCOMING
        plain, _ = ctx.unprotect(response, request_id)
        assert (plain.code, plain.payload) == (CONTENT, b"21.5")
    finally:
        peer.close()


def test_hostile(edhoc_rs):
    """Bad points, truncated and oversized messages, message_3 for unknown or finished C_R,
    replayed message_3, wrong suite, a message_1 flood: errors, and the RS keeps serving."""
    rs, cred_r = edhoc_rs
    peer = Peer(rs)
    P = 2**256 - 2**224 + 2**192 + 2**96 - 1
    try:
        def m1_with(g_x, suites=b"\x02"):
            return b"\xf5\x03" + suites + cbor2.dumps(g_x) + b"\x37"
        for g_x, why in ((P.to_bytes(32, "big"), "invalid G_X: P-256 x not below p"),
                         (bytes.fromhex("a04e73601df544a70ba7ea1e57030f7d4b4eb7f673924e58d54ca77a"
                                        "5e7d4d4a"), "invalid G_X: not a P-256 point"),
                         (bytes(31), "G_X must be a 32-byte P-256 x coordinate")):
            r = post(peer, m1_with(g_x))
            assert r.code == BAD_REQUEST and cbor2.loads(r.payload[1:]) == why, (why, r.payload)
        r = post(peer, m1_with(os.urandom(32), b"\x00"))
        assert (r.code, r.payload) == (BAD_REQUEST, b"\x02\x02")
        i = Initiator(SK_I, CRED_I, c_i=b"\x09")
        good = i.message_1()
        r = post(peer, b"\xf5" + good[:-3])
        assert r.code == BAD_REQUEST  # truncated
        r = post(peer, b"\xf5" + good + b"\x00" + cbor2.dumps(bytes(1100)))
        assert r.code in (BAD_REQUEST, 0x8D)  # oversized: EDHOC error or 4.13 from CoAP
        # unknown C_R
        r = post(peer, b"\x21" + cbor2.dumps(b"x" * 20))
        assert cbor2.loads(r.payload[1:]) == "no EDHOC session for this C_R"
        # a full handshake, then the same message_3 again (replay / finished C_R)
        r = post(peer, b"\xf5" + good)
        c_r = i.message_2(r.payload, cred_r)
        m3 = encode_id(c_r) + i.message_3()
        assert post(peer, m3).code == CHANGED
        r = post(peer, m3)
        assert r.code == BAD_REQUEST and cbor2.loads(r.payload[1:]) == \
            "no EDHOC session for this C_R"
        # a flood of message_1: sessions are bounded, the RS still serves
        for _ in range(30):
            j = Initiator(SK_I, CRED_I, c_i=os.urandom(1))
            assert post(peer, b"\xf5" + j.message_1()).code == CHANGED
        ctx, r = lakers_handshake(peer, cred_r)
        assert oscore_call(peer, ctx, GET, "/temp") == (CONTENT, b"21.5")
        # the oldest of the flood's sessions was evicted: its message_3 is refused
        assert rs.alive()
    finally:
        peer.close()
