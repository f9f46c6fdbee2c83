"""OSCORE interop: aiocoap's OSCORE (CPython) is the client, the firmware the server.

aiocoap protects requests, the firmware unprotects them; the firmware protects the responses,
aiocoap unprotects them. A second aiocoap context in the server's role (a "twin") processes
the same requests and responses: its plaintext and its protected response must equal the
firmware's byte for byte. Both sides derive their context as RFC 9203 §4.3 says.
"""

import random

import cbor2
import pytest
from aiocoap.message import Direction, Message
from aiocoap.optiontypes import OpaqueOption

from tests.support.mp_harness import skip_if_out_of_memory
from test_oscore import load_setup
from microace_host.client import memory_context

aioscore = pytest.importorskip(
    "aiocoap.oscore", reason="aiocoap's OSCORE needs its 'oscore' extra (filelock)")

GET, POST, PUT, DELETE = 1, 2, 3, 4
CREATED, DELETED, CHANGED, CONTENT, BAD_REQUEST, NOT_FOUND = 0x41, 0x42, 0x44, 0x45, 0x80, 0x84
CLASS_U_ONLY = {3, 7, 9, 35, 39}

MS = bytes.fromhex("f9af838368e353e78888e1426bd94e6f")
SALT = bytes.fromhex("0a0b0c0d")
N1, N2 = bytes.fromhex("018a278f7faab55a"), bytes.fromhex("25a8991cd700ac01")
ID1, ID2 = b"\x16\x45", b"\x00\x00"  # ace_client_recipientid, ace_server_recipientid
FRAGMENTED = ("heap too fragmented by compiling the firmware from source (test_oscore.py's "
              "heap test runs OSCORE from .mpy)")



def incoming(code, option, payload):
    message = Message(code=code, payload=payload)
    message.opt.oscore = option
    message.direction = Direction.INCOMING
    return message


def message_with(code, options, payload):
    message = Message(code=code, payload=payload)
    for number, value in options:
        message.opt.add_option(OpaqueOption(number, value))
    return message


def options_of(message, drop=()):
    return [(o.number, o.encode()) for o in message.opt.option_list() if o.number not in drop]


@pytest.fixture(params=[None, b"\xca\xfe"], ids=["no-context-id", "context-id"])
def peers(request, mp):
    """(aiocoap client, aiocoap server twin) and the firmware context `_osc_rs` built from
    the same OSCORE_Input_Material, nonces and recipient IDs."""
    context_id = request.param
    material = {0: b"\x01", 2: MS, 5: SALT}
    if context_id is not None:
        material[6] = context_id
    load_setup(mp)
    mp.exec("_osc_rs = oscore.Context.from_ace(%r, %r, %r, %r, %r)\n"
            "_osc_contexts = {_osc_rs.recipient_id: _osc_rs}\n"
            "def _osc_respond_hex(*args):\n"
            "    code, option, ciphertext = _osc_respond(_osc_rs, *args)\n"
            "    return code, option, ciphertext.hex()\n"
            "def _osc_unprotect_hex(option, payload):\n"
            "    got = _osc_unprotect(option, payload)\n"
            "    return got[:-1] + (got[-1].hex(),) if got[0] == 'ok' else got"
            % (material, N1, N2, ID1, ID2))
    master_salt = cbor2.dumps(SALT) + cbor2.dumps(N1) + cbor2.dumps(N2)  # RFC 9203 §4.3
    client = memory_context(MS, master_salt, ID2, ID1, context_id)
    twin = memory_context(MS, master_salt, ID1, ID2, context_id)
    return client, twin, mp


def exchange(peers, request, response_code, response_options, response_payload, own_piv):
    """One request/response through aiocoap and the firmware; returns the firmware's view of
    the request."""
    client, twin, mp = peers
    outer, request_id = client.protect(request)
    assert outer.opt.uri_host == request.opt.uri_host  # Class U stays outside

    # Payloads of up to 300 bytes travel as blob slices (mp.map) and come back as hex, which
    # is shorter than a repr: this runs with small heaps too.
    got = mp.map("_osc_unprotect_hex", [(outer.opt.oscore, outer.payload)])[0]
    assert got[0] == "ok", got
    _, kid, piv, code, options, payload = got
    payload = bytes.fromhex(payload)
    assert (kid, piv) == (request_id.kid, request_id.partial_iv)
    assert (code, options, payload) == (
        int(request.code), options_of(request, CLASS_U_ONLY), request.payload)
    inner, twin_request_id = twin.unprotect(incoming(outer.code, outer.opt.oscore, outer.payload))
    assert (int(inner.code), options_of(inner), inner.payload) == (code, options, payload)

    outer_code, option, ciphertext = mp.map("_osc_respond_hex", [(
        piv, response_code, response_options, response_payload, own_piv)])[0]
    response = outer_code, option, ciphertext = outer_code, option, bytes.fromhex(ciphertext)
    assert outer_code == CHANGED  # §4.2: no Observe, so 2.04 outside
    if own_piv:
        twin_request_id.can_reuse_nonce = False
    twin_outer, _ = twin.protect(message_with(response_code, response_options, response_payload),
                                 twin_request_id)
    assert (int(twin_outer.code), twin_outer.opt.oscore, twin_outer.payload) == response

    plain, _ = client.unprotect(incoming(outer_code, option, ciphertext), request_id)
    assert (int(plain.code), options_of(plain), plain.payload) == (
        response_code, response_options, response_payload)
    return got


def shape(rng, i, size, response_size):
    """Request i with a `size`-byte payload, and the response it gets: varied methods, codes,
    options (Class U ones too) and payload sizes."""
    request = Message(code=[GET, POST, PUT, DELETE][i % 4],
                      payload=bytes(rng.randrange(256) for _ in range(size)),
                      uri_host="rs.example", uri_path=("sensors", "temp%d" % i))
    if size:
        request.opt.content_format = 60  # application/cbor
    if i % 3 == 0:
        request.opt.uri_query = ("unit=C", "n=%d" % i)
        request.opt.accept = 50
    if i % 5 == 1:
        request.opt.uri_port = 5683
    response_code = [CONTENT, CHANGED, CREATED, DELETED, BAD_REQUEST, NOT_FOUND][i % 6]
    response_options = [(12, b"\x3c")] if i % 2 else [(12, b""), (14, b"\x3c")]
    response_payload = bytes(rng.randrange(256) for _ in range(response_size))
    return request, response_code, response_options, response_payload, i % 4 == 3


def test_requests_and_responses_of_many_shapes(peers):
    rng = random.Random(4)
    sizes = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 64, 100, 128, 200, 255, 256, 257, 299, 300]
    with skip_if_out_of_memory(FRAGMENTED):
        for i, size in enumerate(sizes):
            exchange(peers, *shape(rng, i, size, sizes[-1 - i]))


def test_replay_and_reordering_of_aiocoap_requests(peers):
    client, _, mp = peers
    requests = [client.protect(Message(code=GET, uri_path=("temp",)))[0] for _ in range(3)]
    client.sender_sequence_number = 2 ** 20  # a 3-byte Partial IV
    requests.append(client.protect(Message(code=GET, uri_path=("temp",)))[0])
    order = [2, 0, 1, 3, 1, 0]
    with skip_if_out_of_memory(FRAGMENTED):
        got = mp.map("_osc_unprotect", [(requests[i].opt.oscore, requests[i].payload)
                                        for i in order])
    assert [g[0] for g in got] == ["ok", "ok", "ok", "ok", "ReplayError", "ReplayError"]
    assert [g[2] for g in got[:4]] == [b"\x02", b"\x00", b"\x01", b"\x10\x00\x00"]


def test_a_tampered_response_is_refused_by_aiocoap(peers):
    client, _, mp = peers
    outer, request_id = client.protect(Message(code=GET, uri_path=("temp",)))
    _, kid, piv = mp.eval("_osc_unprotect(%r, %r)" % (outer.opt.oscore, outer.payload))[:3]
    code, option, ciphertext = mp.eval("_osc_respond(_osc_rs, %r, 0x45, [], b'21.5')" % piv)
    with pytest.raises(aioscore.ProtectionInvalid):
        client.unprotect(incoming(code, option, ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])),
                         request_id)
