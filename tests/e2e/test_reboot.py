"""Reboots and power loss on the unix port: the RS killed with SIGKILL at random points during
OSCORE traffic and token uploads, restarted over the same state directory, many times.

After every restart: the RS starts and serves (its state is never corrupt), the tokens whose
2.01 the client saw are back without a re-post (their contexts first ask for Echo, RFC 8613
App. B.1.2), a superseded token does not come back, no old request is served again, and no
AEAD nonce was ever used twice for different responses (RFC 8613 §5.2, App. B.1.1).

MICROACE_REBOOTS=N sets the kills per test (default 20: the file runs in about a minute).
SIGKILL keeps what the RS wrote (the OS has it); on a board, LittleFS commits on close.
"""

import os
import random
import socket
import threading
import time

import cbor2
import pytest
from aiocoap.message import Direction, Message

from tests.support.coap_wire import code
from tests.support.rs_peer import HEAP, Peer, claims, free_port, memory_context, mint, provision
from microace_host import rs_runner

GET = 1
REBOOTS = int(os.environ.get("MICROACE_REBOOTS", "20"))
POPS = (b"\x01", b"\x02", b"\x03")  # one client per PoP key: 2 tokens each at most, no eviction


def oscore_piv(option):
    """The Partial IV in an OSCORE option value (RFC 8613 §6.1), or None."""
    return option[1:1 + (option[0] & 7)] if option else None


class Board:
    """The RS process over one state directory, started and killed at will."""

    def __init__(self, directory):
        self.dir = directory
        provision(directory, {"max_tokens": 8, "max_token_bytes": 1024})
        self.address = ("127.0.0.1", free_port())
        self.process = None
        self.outputs = []

    def start(self):
        self.process, _ = rs_runner.start("unix:%s" % self.dir, "%s:%d" % self.address, HEAP)

    def kill(self):
        """SIGKILL: no clean-up in the RS, like a power cut (written files stay written)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.outputs.append(self.process.stdout.read())
            self.process.stdout.close()
            self.process = None


class Ledger:
    """Every protected response the client ever got, by AEAD key and nonce: a nonce may only
    come again with the very same ciphertext (a retransmission answered from the cache)."""

    def __init__(self):
        self.nonces = {}

    def record(self, session, request_piv, response):
        own = oscore_piv(response.opt.oscore)
        # The RS encrypts under its sender key; the nonce is made from its own Partial IV
        # and Sender ID, or from the request's Partial IV and the client's Sender ID (§5.2).
        key = (session.key_id, "rs", own) if own else (session.key_id, "client", request_piv)
        seen = self.nonces.setdefault(key, response.payload)
        assert seen == response.payload, "AEAD nonce reused: %r" % (key,)


class Client:
    """A client of one PoP key: its current session and the token that one supersedes."""

    def __init__(self, pop, client_id):
        self.pop = pop
        self.client_id = client_id
        self.current = None
        self.previous = None


class Session:
    """An OSCORE context bound to a posted token (RFC 9203 §4.3), client side (aiocoap)."""

    count = 0

    def __init__(self, token_claims, nonce1, answer, client_id):
        osc = token_claims[8][4]
        salt = cbor2.dumps(osc[5]) + cbor2.dumps(nonce1) + cbor2.dumps(answer[42])
        self.context = memory_context(osc[2], salt, answer[44], client_id)
        Session.count += 1
        self.key_id = Session.count
        self.served = False  # a 2.xx came back: the RS has used this token
        self.sent = []  # (outer request, request id) of every request sent


class Run:
    def __init__(self, board):
        self.board = board
        self.peer = Peer(board)
        self.peer.sock.settimeout(1)
        self.ledger = Ledger()
        self.clients = [Client(pop, bytes((0x40 + i,))) for i, pop in enumerate(POPS)]
        self.answer_echo = True  # False: contexts stay waiting for Echo after a restart

    # one exchange each; socket.timeout when the RS died under it

    def post(self, client):
        c = claims(osc_id=client.pop)
        if client.current is not None and not client.current.served:
            # the RS drops it for the new token's sake: also when this answer gets lost
            client.current = None
        response, body = self.peer.authz_info(mint(c), client_id=client.client_id)
        assert code(response.code) == "2.01", (response.code, response.payload)
        session = Session(c, body[40], cbor2.loads(response.payload), client.client_id)
        if client.current is not None and client.current.served:
            client.previous = client.current
        client.current = session

    def send(self, session, outer, request_id):
        """-> the inner response, or None for an unprotected one (outer code in .outer)."""
        response = self.peer.request(outer)
        self.outer = response
        if response.opt.oscore is None:
            return None
        response.direction = Direction.INCOMING
        self.ledger.record(session, request_id.partial_iv, response)
        plain, _ = session.context.unprotect(response, request_id)
        return plain

    def get(self, session, echo=None):
        inner = Message(code=GET, uri_path=("temp",))
        if echo is not None:
            inner.opt.echo = echo
        outer, request_id = session.context.protect(inner)
        session.sent.append((outer, request_id))
        plain = self.send(session, outer, request_id)
        if plain is not None and code(plain.code) == "2.05":
            session.served = True
        return plain

    def get_through_echo(self, session, wrong=0):
        """A GET that answers the RS's Echo challenge (after `wrong` requests without it)."""
        plain = self.get(session)
        while plain is not None and code(plain.code) == "4.01" and plain.opt.echo:
            plain = self.get(session, None if wrong else plain.opt.echo)
            wrong = max(0, wrong - 1)
        return plain

    def replay(self, session):
        outer, request_id = random.choice(session.sent)
        plain = self.send(session, outer, request_id)
        assert plain is None or not 0x40 <= plain.code < 0x60, "a replayed request was served"

    # the checks after a restart

    def check_restart(self):
        for client in self.clients:
            s = client.current
            if s is None:
                continue
            # Back without a re-post, and fresh only after the Echo round trip.
            plain = self.get(s)
            assert plain is not None, "a token the client holds did not survive: %s" % (
                code(self.outer.code))
            assert code(plain.code) == "4.01" and len(plain.opt.echo) == 8
            for _ in range(2):
                self.replay(s)
            if self.answer_echo:
                assert code(self.get(s, plain.opt.echo).code) == "2.05"
                self.replay(s)
            if client.previous is not None:
                # superseded (its successor was served): its context never comes back. Its
                # kid may name a new context by now: that one cannot decrypt it (4.00).
                assert self.get(client.previous) is None
                assert code(self.outer.code) in ("4.00", "4.01")

    def traffic(self, stop):
        """Random exchanges until the RS is killed (socket.timeout). The first client keeps
        its token for good: its context lives through every reboot."""
        while not stop.is_set():
            client = random.choice(self.clients)
            action = random.random()
            if client.current is None or (action < 0.2 and client is not self.clients[0]):
                self.post(client)
            elif action < 0.3 and client.current.sent:
                self.replay(client.current)
            else:
                self.get_through_echo(client.current, random.choice((0, 0, 1, 40)))


@pytest.fixture
def board(tmp_path):
    b = Board(tmp_path)
    yield b
    b.kill()


def power_cuts(board, t, traffic, longest):
    """REBOOTS times: traffic until a SIGKILL at a random moment, restart, check."""
    board.start()
    try:
        for client in t.clients:
            t.post(client)
            t.get(client.current)
        for _ in range(REBOOTS):
            stop, process = threading.Event(), board.process
            timer = threading.Timer(random.uniform(0.01, longest),
                                    lambda: (stop.set(), process.kill()))
            timer.start()
            try:
                traffic(stop)
            except (socket.timeout, ConnectionRefusedError):
                pass
            timer.join()
            board.kill()
            board.start()
            t.check_restart()
    finally:
        t.peer.close()
    board.kill()
    for output in board.outputs:
        assert "Traceback" not in output and "corrupt" not in output, output


def test_power_cuts_during_traffic_and_uploads(board):
    t = Run(board)
    power_cuts(board, t, t.traffic, 0.8)
    assert len(t.ledger.nonces) > 20 * REBOOTS  # the traffic did happen


def test_power_cuts_while_sequence_numbers_are_reserved(board):
    """One context answering Echo challenges with its own Partial IVs, one after another, so
    kills fall before, during and after the writes that reserve the next chunk (App. B.1.1)."""
    t = Run(board)
    t.clients = t.clients[:1]
    t.answer_echo = False
    session = lambda: t.clients[0].current  # noqa: E731

    def challenges(stop):
        while not stop.is_set():
            t.get(session())  # no Echo: a 4.01 with an Echo and a Partial IV of its own

    power_cuts(board, t, challenges, 0.5)
    own = [key for key in t.ledger.nonces if key[1] == "rs"]
    assert len(own) > 5 * REBOOTS  # many sequence numbers, none twice (Ledger.record)


def test_superseded_and_expired_tokens_stay_gone_after_a_power_cut(board):
    """Supersede and expiry are written before their answer goes out: a kill right after the
    answer brings neither token back (RFC 9203 §3.2.1 supersede, RFC 8392 §3.1.4 exp)."""
    t = Run(board)
    old, expiring = t.clients[:2]
    board.start()
    try:
        c = claims(osc_id=expiring.pop, lifetime=5)  # room for a busy machine until the kill
        body = {1: mint(c), 40: os.urandom(8), 43: expiring.client_id}
        message = Message(code=2, uri_path=("authz-info",), payload=cbor2.dumps(body))
        message.opt.content_format = 19
        answer = cbor2.loads(t.peer.request(message).payload)
        expiring.current = Session(c, body[40], answer, expiring.client_id)
        assert code(t.get(expiring.current).code) == "2.05"
        t.post(old)
        assert code(t.get(old.current).code) == "2.05"
        t.post(old)  # a newer token for the same PoP key: the first one is superseded ...
        assert code(t.get(old.current).code) == "2.05"  # ... once this one is used
        board.kill()
        time.sleep(max(c[4] - time.time(), 0) + 1.1)  # the wall clock passes exp, board off
        board.start()
        assert t.get(old.previous) is None and code(t.outer.code) == "4.01"
        echo = t.get(expiring.current).opt.echo  # restored, and the Echo round trip first
        assert code(t.get(expiring.current, echo).code) == "4.01"  # then: expired
        assert t.get(expiring.current) is None  # and gone
        expiring.current = None
        t.check_restart()  # the superseding token is back
    finally:
        t.peer.close()


def test_damaged_state_file_is_discarded_and_the_rs_serves(board):
    """A state.bin torn in the middle (not what the atomic write leaves, but flash can rot):
    the RS starts anyway, with no tokens: the client is told to post one, and can."""
    t = Run(board)
    client = t.clients[0]
    board.start()
    try:
        t.post(client)
        assert code(t.get(client.current).code) == "2.05"
        board.kill()
        state = board.dir / "state.bin"
        state.write_bytes(state.read_bytes()[:len(state.read_bytes()) // 2])
        board.start()
        assert t.get(client.current) is None and code(t.outer.code) == "4.01"
        t.post(client)
        assert code(t.get(client.current).code) == "2.05"
    finally:
        t.peer.close()
