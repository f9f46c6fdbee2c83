"""An EDHOC Initiator over CoAP against the RS (RFC 9528 Appendix A.2): messages posted to
/.well-known/edhoc, a whole lakers-python handshake with RFC 9529 Trace 2's Initiator
credential, and OSCORE requests under the context it gives."""

import io

import cbor2
from aiocoap.message import Direction, Message

from microace_host.client import memory_context
from microace_host.edhoc_initiator import encode_id
from microace_host.wire import CT_EDHOC
from tests.support.edhoc_vectors import CRED_I, SK_I

POST = 2
CHANGED = 0x44


def post(peer, payload, path=(".well-known", "edhoc"), code=POST):
    m = Message(code=code, uri_path=path, payload=payload)
    m.opt.content_format = CT_EDHOC
    return peer.request(m)


def c_i_of(message_1):
    """C_I (as bytes) of a message_1: its fourth CBOR item."""
    decoder = cbor2.CBORDecoder(io.BytesIO(message_1))
    for _ in range(3):
        decoder.decode()
    start = decoder.fp.tell()
    value = decoder.decode()
    return message_1[start:decoder.fp.tell()] if isinstance(value, int) else value


def lakers_handshake(peer, cred_r, ead_1=None, ead_3=None, message_4=False):
    """lakers as Initiator over CoAP -> (aiocoap client context, response to message_3)."""
    import lakers  # the callers skip without it (importorskip)

    i = lakers.EdhocInitiator()
    m1 = i.prepare_message_1(c_i=None, ead_1=ead_1)
    r = post(peer, b"\xf5" + m1)
    assert r.code == CHANGED, (r.code, r.payload)
    c_r, id_cred_r, _ = i.parse_message_2(r.payload)
    i.verify_message_2(SK_I, CRED_I, lakers.credential_check_or_fetch(id_cred_r, cred_r))
    m3, prk_out = i.prepare_message_3(lakers.CredentialTransfer.ByReference, ead_3)
    c_r = bytes([c_r]) if isinstance(c_r, int) else bytes(c_r)
    r = post(peer, encode_id(c_r) + m3)
    if r.code != CHANGED:
        return None, r
    if message_4:
        i.process_message_4(r.payload)
    else:
        assert r.payload == b""
        i.completed_without_message_4()
    c_i = c_i_of(m1)
    ctx = memory_context(bytes(i.edhoc_exporter(0, [], 16)), bytes(i.edhoc_exporter(1, [], 8)),
                         c_r, c_i)
    return ctx, r


def oscore_call(peer, ctx, code, path, payload=b""):
    inner = Message(code=code, payload=payload, uri_path=tuple(path.strip("/").split("/")))
    outer, request_id = ctx.protect(inner)
    response = peer.request(outer)
    if response.opt.oscore is None:
        return response.code, None
    response.direction = Direction.INCOMING
    plain, _ = ctx.unprotect(response, request_id)
    return plain.code, plain.payload
