"""Hostile input to the EDHOC-OSCORE profile (profiles/edhoc_oscore.py), on an RS of its own
that offers it: access-token items in EAD_3 that are malformed or carry malformed tokens (no
value, empty, not a token, cnf kccs that is no CCS, a CCS without a kid or with another curve,
a CCS exp / nbf that is no NumericDate or a float, two cnf methods, no edhoc_info, a
session_id of the wrong type, a JWT, three COSE layers), each inside a correctly encrypted
message_3 so it reaches the profile; Uri-Path-Abbrev values the RS does not know; and a
message_1 flood. Every case gets its EDHOC error (ERR_CODE 1) or 4.02, and a live EDHOC
session keeps being served throughout (no rate is asserted anywhere)."""

import os
import threading

import cbor2
import pytest
from aiocoap.message import Message
from aiocoap.optiontypes import OpaqueOption, UintOption

from tests.support import tokenfactory as tf
from tests.support.rs_peer import ANSWER_TIMEOUT, RS_KEY, Peer, mint
from tests.support.edhoc_peer import CRED_I, oscore_call, post
from tests.support import coap_wire as wire
from tests.support.edhoc_profile_peer import (ABBREV_OPTION, BAD_OPTION, CONTENT, GET, claims, ead,
                                          handshake, refused, session, start)
from microace_host.edhoc_initiator import Initiator


@pytest.fixture(scope="module")
def edhoc_board(tmp_path_factory):
    server, cred_r = start(tmp_path_factory.mktemp("hostile_edhoc"))
    peer = Peer(server)
    live = session(peer, cred_r, ead(mint(claims(session_id=b"live"))))
    yield server, cred_r, peer, live
    peer.close()
    output = server.stop()
    assert "Traceback" not in output, output


@pytest.fixture(autouse=True)
def live_session_served(edhoc_board):
    yield
    server, _, peer, live = edhoc_board
    assert server.alive(), "the RS process ended"
    assert oscore_call(peer, live, GET, "/temp") == (CONTENT, b"21.5")


def token_with(**changes):
    c = claims()
    for label, value in changes.items():
        label = int(label[1:])
        if value is None:
            c.pop(label, None)
        else:
            c[label] = value
    return mint(c)


CCS = cbor2.loads(CRED_I)
NO_KID = {2: "x", 8: {1: {k: v for k, v in CCS[8][1].items() if k != 2}}}
OKP = {2: "x", 8: {1: {1: 1, 2: b"\x2b", -1: 6, -2: bytes(32)}}}
EAD_CASES = {
    "item without a value": (b"\x37", "the item carries no token"),
    "item with an int, not a bstr": (b"\x37\x05", "the item carries no token"),
    "empty token": (b"\x37\x40", "the item carries no token"),
    "not a token": (b"\x37" + cbor2.dumps(b"\x01" * 40), "neither a CWT nor a JWT"),
    "kccs not a map": (ead(token_with(c8={11: CRED_I})), "kccs must be a CWT Claims Set"),
    "CCS without a kid": (ead(token_with(c8={11: NO_KID})), "kid"),
    "CCS with an Ed25519 key": (ead(token_with(c8={11: OKP})), "access token"),
    "two cnf methods": (ead(token_with(c8={11: CCS, 3: b"\x2b"})), "exactly one"),
    "CCS exp text": (ead(token_with(c8={11: {**CCS, 4: "soon"}})),
                     "exp must be a NumericDate"),
    "CCS nbf NaN": (ead(token_with(c8={11: {**CCS, 5: float("nan")}})), "a float"),
    "CCS exp a float": (ead(token_with(c8={11: {**CCS, 4: 4e9 + 0.5}})), "a float"),
    "no edhoc_info": (ead(token_with(c41=None)), "no edhoc_info"),
    "session_id text": (ead(token_with(c41={0: "s"})), "session_id"),
    "edhoc_info not a map": (ead(token_with(c41=[0, b"\x01"])), "no edhoc_info"),
    "three COSE layers": (ead(tf.protect(mint(claims()), RS_KEY)), "nested more than one"),
    "a JWT, not for this profile": (b"\x37" + cbor2.dumps(b"eyJ.e30.AA"), "access token"),
    "Sign1 by an unknown key": (ead(mint(claims(), tf.signing_key("ES256", b"as-e2e",
                                                                  seed=b"x"), None)),
                                "access token"),
}


@pytest.mark.parametrize("case", sorted(EAD_CASES))
def test_hostile_token_item(edhoc_board, case):
    _, cred_r, peer, _ = edhoc_board
    ead_3, reason = EAD_CASES[case]
    _, r, _ = handshake(peer, cred_r, ead_3)
    refused(r, reason)


@pytest.mark.parametrize("options", [
    [UintOption(ABBREV_OPTION, 2), UintOption(ABBREV_OPTION, 2)],  # twice
    [UintOption(ABBREV_OPTION, 2**32 - 1)],
    [OpaqueOption(ABBREV_OPTION, bytes(9))],  # longer than any uint
])
def test_hostile_uri_path_abbrev(edhoc_board, options):
    _, _, peer, _ = edhoc_board
    m = Message(code=2, payload=b"\xf5" + Initiator(tf_key(), CRED_I).message_1())
    for option in options:
        m.opt.add_option(option)
    assert peer.request(m).code == BAD_OPTION


def tf_key():
    from tests.support.edhoc_peer import SK_I
    return SK_I


FLOOD = 150  # message_1 per sender: a bounded flood, however fast the machine is


def served(peer, ctx):
    """GET /temp over ctx, the one datagram retransmitted until answered (CON, RFC 7252
    §4.2: the RS's dedup answers a repeat): under a flood datagrams get dropped."""
    import socket

    from aiocoap.message import Direction
    outer, request_id = ctx.protect(Message(code=GET, uri_path=("temp",)))
    outer.mtype, outer.mid, outer.token = 0, int.from_bytes(os.urandom(2), "big"), os.urandom(4)
    data = outer.encode()
    peer.sock.settimeout(2)
    try:
        for _ in range(90):
            peer.sock.sendto(data, peer.rs.address)
            try:
                while True:
                    response = Message.decode(peer.sock.recv(2048))
                    if response.token == outer.token:
                        break
                break
            except socket.timeout:
                continue
        else:
            raise AssertionError("no answer to 90 retransmissions")
    finally:
        peer.sock.settimeout(ANSWER_TIMEOUT)
    response.direction = Direction.INCOMING
    plain, _ = ctx.unprotect(response, request_id)
    return plain.code, plain.payload


def drain(peer):
    import socket
    peer.sock.settimeout(0.5)
    try:
        while True:
            peer.sock.recv(2048)
    except socket.timeout:
        pass
    finally:
        peer.sock.settimeout(ANSWER_TIMEOUT)


def test_message_1_flood(edhoc_board):
    """Three senders push FLOOD message_1 each, as fast as they can (each a new handshake:
    the RS's session table is bounded and evicts the oldest), while the live session keeps
    being served (retransmitting, as a client does) and a new client completes its handshake
    afterwards. Nothing about speed is judged."""
    server, cred_r, peer, live = edhoc_board
    errors = []

    def attacker():
        p = Peer(server)
        try:
            for _ in range(FLOOD):
                i = Initiator(tf_key(), CRED_I, c_i=os.urandom(1))
                p.sock.sendto(wire.datagram(2, wire.path(".well-known", "edhoc"),
                                            b"\xf5" + i.message_1(), mtype=1), server.address)
        except Exception as e:  # reported by the test, not lost in the thread
            errors.append(e)
        finally:
            p.close()

    threads = [threading.Thread(target=attacker, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            assert served(peer, live) == (CONTENT, b"21.5")
    finally:
        for t in threads:
            t.join()
    assert not errors, errors
    assert served(peer, live) == (CONTENT, b"21.5")
    drain(peer)  # late answers to retransmissions, before the next request of this peer
    fresh = session(peer, cred_r, ead(mint(claims(session_id=b"after"))))
    assert oscore_call(peer, fresh, GET, "/temp") == (CONTENT, b"21.5")
    assert post(peer, b"\xf5").code == 0x80  # still parsing strictly: a bare true is 4.00
