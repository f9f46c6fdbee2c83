"""The EDHOC-OSCORE profile's client side against the RS (e2e and hostile tests): tokens that
bind a client's CCS as kccs, EAD_3 token items, an RS offering both profiles, and the
handshake run by microace_host's RFC-exact Initiator."""

import os
import time

import cbor2
from aiocoap.message import Message

from microace_host.edhoc_initiator import Initiator, ccs, encode_id, private_key
from microace_host.client import memory_context
from microace_host.provision import EdhocPlan
from tests.support.edhoc_peer import CRED_I, SK_I, post
from tests.support.rs_peer import AS_KEY, AUDIENCE, ISSUER, RS, RS_KEY, mint

POST, GET, PUT = 2, 1, 3
CREATED, CHANGED, CONTENT = 0x41, 0x44, 0x45
BAD_REQUEST, UNAUTHORIZED, BAD_OPTION, FORBIDDEN, METHOD_NOT_ALLOWED = (0x80, 0x81, 0x82, 0x83,
                                                                        0x85)
SERVICE_UNAVAILABLE = 0xA3
READ_TEMP = cbor2.dumps([["/temp", 1]])  # AIF: GET /temp
READ_WRITE = cbor2.dumps([["/temp", 1], ["/led", 5]])
EAD_TOKEN = 24  # the draft's CDDL Model default; sent critical (-24)
ABBREV_OPTION = 65003  # codepoints.py's default number for Uri-Path-Abbrev
# a second client: its own key and CCS (kid 0x2c)
SK_OTHER = bytes(31) + b"\x07"
CRED_OTHER = ccs("other", b"\x2c", private_key(SK_OTHER))


def claims(cred=CRED_I, session_id=b"\x01", scope=READ_TEMP, aud=AUDIENCE, lifetime=3600,
           cnf=None):
    now = int(time.time())
    return {1: ISSUER, 3: aud, 4: now + lifetime, 6: now, 7: os.urandom(4), 9: scope,
            8: cnf or {11: cbor2.loads(cred)}, 38: 4, 41: {0: session_id}}


def token(nested=True, **kw):
    return mint(claims(**kw), AS_KEY, RS_KEY if nested else None)


def ead(*tokens):
    return b"".join(cbor2.dumps(-EAD_TOKEN) + cbor2.dumps(t) for t in tokens)


# the module's RS holds up to 12 sessions at once (the EDHOC code and the contexts in the
# unix port's heap): more heap than test_edhoc.py's RS; MICROACE_EDHOC_PROFILE_HEAP=...
PROFILE_HEAP = os.environ.get("MICROACE_EDHOC_PROFILE_HEAP", "320k")


def start(tmp_path):
    plan = EdhocPlan(b"\x32", "rs1", tmp_path / "rs.ccs", [])
    server = RS(tmp_path, {"max_tokens": 12, "max_token_bytes": 1024}, heap=PROFILE_HEAP,
                edhoc=plan, board={"edhoc": {}, "profiles": ["coap_oscore", "coap_edhoc_oscore"]})
    return server, (tmp_path / "rs.ccs").read_bytes()


def handshake(peer, cred_r, ead_3, sk=SK_I, cred=CRED_I, id_cred_i=None, c_i=None, ead_1=b""):
    """message_1 .. message_3 -> (the Initiator, the response to message_3, message_3)."""
    i = Initiator(sk, cred, c_i=c_i or os.urandom(1), ead_3=ead_3, id_cred_i=id_cred_i,
                  ead_1=ead_1)
    m1 = i.message_1()
    for _ in range(5):  # the RS out of heap for the moment: again after Max-Age (RFC 7252)
        r = post(peer, b"\xf5" + m1)
        if r.code != SERVICE_UNAVAILABLE or r.opt.max_age is None:
            break
        time.sleep(r.opt.max_age)
    assert r.code == CHANGED, (r.code, r.payload)
    c_r = i.message_2(r.payload, cred_r)  # the RS is authenticated before the token goes
    m3 = encode_id(c_r) + i.message_3()
    return i, post(peer, m3), m3


def session(peer, cred_r, ead_3, **kw):
    i, r, _ = handshake(peer, cred_r, ead_3, **kw)
    assert r.code == CHANGED, (r.code, r.payload)
    return memory_context(*i.oscore())


def refused(r, reason):
    assert r.code == BAD_REQUEST and r.opt.content_format == 64, (r.code, r.payload)
    err = cbor2.loads(r.payload[:1])
    info = cbor2.loads(r.payload[1:])
    assert err == 1 and reason in info, info


def gone(peer, ctx):
    """The session's context is discarded: a request under it gets the unprotected 4.01 with
    AS Request Creation Hints (RFC 9200 §5.3), both profiles named (§4.13)."""
    r = peer.request(ctx.protect(Message(code=GET, uri_path=("temp",)))[0])
    assert r.code == UNAUTHORIZED and r.opt.oscore is None, r
    hints = cbor2.loads(r.payload)
    assert hints[5] == AUDIENCE and hints[38] == [2, 4], hints


