"""End-to-end helpers: a provisioned unix-port RS on 127.0.0.1 and an aiocoap peer.

The RS is the real firmware (`firmware/main.py` through microace_host.rs_runner) with a file
key store in a temporary directory, provisioned through microace_host.provision (as
`microace provision` does) with an ES256 AS key, an A128CCM key shared by the AS and the RS
and an A128KW key for nested JWTs. Tokens are minted here with python-cwt's COSE layer
(Encrypt0 around Sign1, as RFC 9203 §3.2 asks for cnf.osc); the client side is aiocoap: its
message codec and
its OSCORE contexts, over a plain UDP socket, so every datagram is under the test's control.
"""

import itertools
import json
import os
import shutil
import socket
import time

import cbor2
import pytest
from aiocoap.message import Direction, Message

from tests.support import jwtfactory as jf
from tests.support import tokenfactory as tf
from microace_host import keys, rs_runner
from microace_host import provision as provision_host
from microace_host.client import memory_context

aioscore = pytest.importorskip(
    "aiocoap.oscore", reason="aiocoap's OSCORE needs its 'oscore' extra (filelock)")

AUDIENCE = "coap://rs1.example"
ISSUER = "coap://as.example"
AS_URI = "coap://127.0.0.1:5684/token"
# On the unix port the loaded code lives in the heap too (~145 KiB of it once the RS serves;
# on a board it is frozen in flash, and tests/e2e/test_heap.py runs the flow on the board
# proxy). 192k served until issue 12's fixes; 200k until issue 16's profile code joined the
# heap, after which a rebooted RS with restored tokens could no longer take its 1,281-byte
# receive block at start; 224k leaves a margin. MICROACE_RS_HEAP=... tries others.
HEAP = os.environ.get("MICROACE_RS_HEAP", "224k")
SCOPE_MAP = {"read": [["/temp", 1]], "write": [["/led", 5], ["/config", 4]]}
AIF_ALL = cbor2.dumps([["/temp", 1], ["/led", 5], ["/config", 4]])
CON = 0
SERVICE_UNAVAILABLE = 0xA3  # 5.03

AS_KEY = tf.signing_key("ES256", b"as-e2e")
RS_KEY = tf.symmetric_key(10, b"as-rs1")  # A128CCM, the Encrypt0 layer
OTHER_KEY = tf.signing_key("ES256", b"as-e2e", seed=b"forger")  # same kid, other key
# A128KW (COSE_Key bytes, secret): the JWE layer of nested JWTs (jwe.py), shared like RS_KEY.
KW_KEY, KW_SECRET = jf.kw_key(b"as-rs1-kw")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def provision(directory, limits, trusted=None, require_cnonce=False, edhoc=None, board=None):
    """Make DIR a unix-port board: board.json and a sealed key store holding the three keys (or
    `trusted` python-cwt keys or COSE_Key bytes), provisioned as `microace provision --as-key
    SIG --as-key ENC --as-key KW`; `board` updates board.json, `edhoc` is the EDHOC plan."""
    if not shutil.which("socat"):
        pytest.skip("provisioning needs socat (make test installs it)")
    config = json.loads((rs_runner.FIRMWARE.parent / "boards/unix/board.json").read_text())
    config["limits"] = limits
    config.update(board or {})
    (directory / "board.json").write_text(json.dumps(config))
    as_keys = [keys.board_key(cbor2.loads(k if isinstance(k, bytes) else tf.trusted_key(k)))
               for k in (trusted or (AS_KEY, RS_KEY, KW_KEY))]
    plan = provision_host.Plan(as_keys, AUDIENCE, ISSUER,
                               provision_host.Owner(directory / "owner.secret"), AS_URI,
                               SCOPE_MAP, require_cnonce=require_cnonce, edhoc=edhoc)
    outcome = provision_host.provision_target("unix:%s" % directory, plan)
    assert outcome.result == "provisioned" and outcome.sealed, outcome.error


class RS:
    """A running RS process and its address."""

    def __init__(self, directory, limits, heap=HEAP, trusted=None, edhoc=None, board=None):
        provision(directory, limits, trusted, edhoc=edhoc, board=board)
        self.port = free_port()
        self.address = ("127.0.0.1", self.port)
        self.process, self.where = rs_runner.start("unix:%s" % directory,
                                                   "127.0.0.1:%d" % self.port, heap)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except Exception:  # it must not outlive the test
                self.process.kill()
                self.process.wait()
        output = self.process.stdout.read()
        self.process.stdout.close()
        return output

    def alive(self):
        return self.process.poll() is None


_mids = itertools.count(int.from_bytes(os.urandom(2), "big"))
# How long a peer waits for an answer it expects: a busy machine is slow, not wrong. Silence is
# judged otherwise (a short wait for what must not come, or coap_wire.answer's ping).
ANSWER_TIMEOUT = 30


class Peer:
    """A CoAP endpoint on its own UDP socket: sends aiocoap Messages, returns the decoded
    response (and keeps the raw datagram in .last)."""

    def __init__(self, rs):
        self.rs = rs
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(ANSWER_TIMEOUT)
        self.last = None

    def close(self):
        self.sock.close()

    def send_raw(self, datagram, expect=True):
        self.sock.sendto(datagram, self.rs.address)
        if not expect:
            self.sock.settimeout(0.3)
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                return None
            finally:
                self.sock.settimeout(ANSWER_TIMEOUT)
            return data
        self.last = self.sock.recv(2048)
        return self.last

    def request(self, message, mtype=CON):
        message.mtype = mtype
        message.mid = next(_mids) & 0xFFFF
        message.token = os.urandom(4)
        data = self.send_raw(message.encode())
        response = Message.decode(data)
        assert response.token == message.token
        return response

    def authz_info(self, token, nonce1=None, client_id=b"\x21", extra=None, content_format=19):
        """POST the token -> (response, body). A 5.03 with Max-Age, the RS out of heap for the
        moment, is posted again after Max-Age, as a client does (RFC 7252 §5.9.3.4); a full
        store's 5.03 has no Max-Age and comes back as it is."""
        body = {1: token, 40: nonce1 or os.urandom(8), 43: client_id}
        body.update(extra or {})
        for _ in range(5):
            message = Message(code=2, uri_path=("authz-info",), payload=cbor2.dumps(body))
            if content_format is not None:
                message.opt.content_format = content_format
            response = self.request(message)
            if response.code != SERVICE_UNAVAILABLE or response.opt.max_age is None:
                break
            time.sleep(response.opt.max_age)
        return response, body



def claims(scope=AIF_ALL, osc_id=b"\x01", ms=None, lifetime=3600, **kw):
    """Claims of an ACE-OSCORE access token for this RS, valid now."""
    now = int(time.time())
    c = {1: ISSUER, 3: AUDIENCE, 4: now + lifetime, 6: now, 7: os.urandom(4), 9: scope,
         8: {4: {0: osc_id, 2: ms or os.urandom(16), 5: os.urandom(8)}}}
    for name, value in kw.items():
        if value is None:
            c.pop(tf.CLAIM[name], None)
        else:
            c[tf.CLAIM[name]] = value
    return c


def mint(claims_map, signer=AS_KEY, encrypt=RS_KEY):
    """Encrypt0(Sign1(claims)) with python-cwt's COSE layer (cwt.encode refuses cnf.osc)."""
    inner = tf.protect(claims_map, signer)
    return tf.protect(inner, encrypt) if encrypt is not None else inner


class Session:
    """A client holding an OSCORE context bound to a token (RFC 9203 §4.3)."""

    def __init__(self, peer, token_claims, token=None, client_id=b"\x21"):
        self.peer = peer
        self.claims = token_claims
        self.token = token or mint(token_claims)
        response, body = peer.authz_info(self.token, client_id=client_id)
        assert response.code == 0x41, (response.code, response.payload)
        answer = cbor2.loads(response.payload)
        self.nonce2, self.server_id = answer[42], answer[44]
        osc = token_claims[8][4]
        salt = cbor2.dumps(osc.get(5, b"")) + cbor2.dumps(body[40]) + cbor2.dumps(self.nonce2)
        # The client's Sender ID is the RS's Recipient ID and vice versa (RFC 9203 §4.3).
        self.context = memory_context(osc[2], salt, self.server_id, client_id)

    def protect(self, code, path, payload=b"", content_format=None, echo=None):
        """echo: the value of an Echo challenge (RFC 9175) the request answers."""
        inner = Message(code=code, payload=payload, uri_path=tuple(path.strip("/").split("/")))
        if content_format is not None:
            inner.opt.content_format = content_format
        if echo is not None:
            inner.opt.echo = echo
        return self.context.protect(inner)

    def send(self, outer, request_id, mtype=CON):
        """Send a protected request -> (outer response, inner response or None)."""
        response = self.peer.request(outer, mtype)
        if response.opt.oscore is None:
            return response, None
        response.direction = Direction.INCOMING
        plain, _ = self.context.unprotect(response, request_id)
        return response, plain

    def call(self, code, path, payload=b"", content_format=None, echo=None):
        return self.send(*self.protect(code, path, payload, content_format, echo))
