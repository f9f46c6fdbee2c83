"""OSCORE (RFC 8613) in MicroPython: Appendix C vectors, RFC 9203 context derivation, replay
window, OSCORE option and inner-message parsing, response protection, heap."""

import json
import random

import cbor2
import pytest
from aiocoap.message import Message

from tests.support.mp_harness import run_micropython
from tests.support.vectors import vector_file

SETUP = """
from microace import cbor, oscore
from microace.coap.message import Message, encode_options
from microace.crypto import aes_ccm
from microace.errors import DecodeError

def _osc_ref_nonce(ctx, sender, piv):
    # §5.2 by its text, apart from oscore.py: the generator's ID length, its ID left-padded
    # to 7 bytes and the Partial IV to 5, XORed with the Common IV.
    ident = ctx.sender_id if sender else ctx.recipient_id
    n = bytes((len(ident),)) + bytes(7 - len(ident)) + ident + bytes(5 - len(piv)) + piv
    return bytes([a ^ b for a, b in zip(n, ctx.common_iv)])

def _osc_ref_aad(kid, piv):
    # §5.4 by the CBOR encoder, apart from oscore.py's hand-built AAD.
    return cbor.encode(['Encrypt0', b'', cbor.encode([1, [10], kid, piv, b''])])

def _osc_plaintext(code, options, payload):
    pt = encode_options(options, payload, 1)
    pt[0] = code
    return bytes(pt)

def _osc_seal(ctx, piv, plaintext, kid_context=None):
    # A client's request (§8.1) made by hand with the references above, for any Partial IV
    # bytes and any plaintext bytes -> (OSCORE option, ciphertext).
    flags = len(piv) | 0x08
    kc = b''
    if kid_context is not None:
        flags |= 0x10
        kc = bytes((len(kid_context),)) + kid_context
    option = bytes((flags,)) + piv + kc + ctx.sender_id
    return option, aes_ccm.encrypt(ctx.sender_key, _osc_ref_nonce(ctx, True, piv),
                                   _osc_ref_aad(ctx.sender_id, piv), plaintext, 8)

def _osc_request(ctx, code, options, payload, kid_context=None):
    # The client's side of §8.1 (oscore.protect_request) -> (OSCORE option, ciphertext).
    outer, piv = oscore.protect_request(ctx, Message(code, payload, list(options)),
                                        kid_context)
    return outer.opt(9), outer.payload

_osc_contexts = {}

def _osc_lookup(kid, kid_context):
    return _osc_contexts.get(kid)

def _osc_unprotect(option, payload):
    try:
        ctx, piv, inner = oscore.unprotect_request(_osc_lookup,
                                                   Message(2, payload, [(9, option)]))
    except Exception as e:
        return (type(e).__name__, str(e), isinstance(e, DecodeError))
    return ('ok', ctx.recipient_id, piv, inner.code, inner.options, inner.payload)

def _osc_respond(ctx, piv, code, options, payload, own=False):
    # The server's side of §8.3 (oscore.protect_response) -> (outer code, option, ciphertext).
    out = oscore.protect_response(ctx, piv, Message(code, payload, list(options)), own)
    return out.code, out.opt(9), out.payload

def _osc_verdict(f, *args):
    try:
        return ('ok', f(*args))
    except Exception as e:
        return (type(e).__name__, str(e))
"""

CODE_GET = 1


def _h(value):
    """Hex of the vectors to bytes; null (absent) stays None."""
    return None if value is None else bytes.fromhex(value)


@pytest.fixture(scope="module")
def appendix_c():
    return json.loads(vector_file("rfc8613/rfc8613_appendix_c.json").read_text())


def load_setup(mp):
    """Define the helpers once per MicroPython process: compiling them again in every test
    would fragment a small heap."""
    if not mp.eval("'_osc_unprotect' in globals()"):
        mp.exec(SETUP)
    mp.exec("_osc_contexts = {}")


@pytest.fixture
def osc(mp):
    load_setup(mp)
    return mp


def _context_code(inputs):
    return "oscore.Context(%r, %r, %r, %r, %r)" % (
        _h(inputs["master_secret"]), _h(inputs["master_salt"]) or b"",
        _h(inputs["sender_id"]), _h(inputs["recipient_id"]), _h(inputs["id_context"]))


# -- Appendix C -------------------------------------------------------------------------------

def test_c1_to_c3_key_derivation(osc, appendix_c):
    """The derived keys and Common IV (through the info structures of §3.2.1), and the
    nonces of Partial IV 0 as §5.2's text makes them (the reference the tests below use)."""
    records = appendix_c["key_derivation"]
    assert len(records) == 6
    for record in records:
        inputs, out = record["inputs"], record["outputs"]
        osc.exec("_osc_ctx = " + _context_code(inputs))
        got = osc.eval("(_osc_ctx.sender_key, _osc_ctx.recipient_key, _osc_ctx.common_iv,"
                       " _osc_ref_nonce(_osc_ctx, True, b'\\0'),"
                       " _osc_ref_nonce(_osc_ctx, False, b'\\0'))")
        assert [g.hex() for g in got] == [
            out["sender_key"], out["recipient_key"], out["common_iv"],
            out["sender_nonce_piv0"], out["recipient_nonce_piv0"]], record["section"]


def _contexts_by_section(appendix_c):
    return {r["section"]: r["inputs"] for r in appendix_c["key_derivation"]}


@pytest.mark.parametrize("section", ["C.4", "C.5", "C.6"])
def test_c4_to_c6_requests(osc, appendix_c, section):
    vector = next(v for v in appendix_c["message_protection"] if v["section"] == section)
    client = _contexts_by_section(appendix_c)[vector["security_context"]]
    server = _contexts_by_section(appendix_c)[vector["security_context"][:-1] + "2"]
    cose, out = vector["cose"], vector["outputs"]
    # The option and payload really are those of the RFC's protected CoAP message.
    outer = Message.decode(_h(out["protected_coap"]))
    assert outer.opt.oscore == _h(out["oscore_option"])
    assert outer.payload == _h(out["ciphertext"])

    # client side, byte for byte: option and ciphertext (oscore.protect_request), and the
    # references' AAD and nonce
    osc.exec("_osc_cli = %s\n_osc_cli.ssn = %d" % (
        _context_code(client), vector["sender_context"]["sender_sequence_number"]))
    got = osc.eval("_osc_request(_osc_cli, 1, [(11, b'tv1')], b'', %r)" % _h(cose["kid_context"]))
    assert [g.hex() for g in got] == [out["oscore_option"], out["ciphertext"]]
    got = osc.eval("(_osc_ref_aad(_osc_cli.sender_id, %r), _osc_ref_nonce(_osc_cli, True, %r))"
                   % (_h(cose["partial_iv"]), _h(cose["partial_iv"])))
    assert [g.hex() for g in got] == [cose["aad"], cose["nonce"]]

    # server side: the RFC's request unprotects to the exact plaintext
    osc.exec("_osc_srv = %s\n_osc_contexts[_osc_srv.recipient_id] = _osc_srv"
             % _context_code(server))
    result = osc.eval("_osc_unprotect(%r, %r)" % (outer.opt.oscore, outer.payload))
    assert result == ("ok", _h(cose["kid"]), _h(cose["partial_iv"]), CODE_GET,
                      [(11, b"tv1")], b"")
    assert osc.eval("_osc_plaintext(1, [(11, b'tv1')], b'')") == _h(cose["plaintext"])
    # and only once
    assert osc.eval("_osc_unprotect(%r, %r)[0]" % (outer.opt.oscore, outer.payload)) == (
        "ReplayError")


@pytest.mark.parametrize("section", ["C.7", "C.8"])
def test_c7_c8_responses(osc, appendix_c, section):
    vector = next(v for v in appendix_c["message_protection"] if v["section"] == section)
    server = _contexts_by_section(appendix_c)[vector["security_context"]]
    cose, out = vector["cose"], vector["outputs"]
    outer = Message.decode(_h(out["protected_coap"]))
    assert outer.opt.oscore == _h(out["oscore_option"])
    plaintext = _h(cose["plaintext"])
    assert plaintext[0] == 0x45 and plaintext[1] == 0xFF  # 2.05, no options, payload
    osc.exec("_osc_srv = %s\n_osc_srv.ssn = %d" % (
        _context_code(server), vector["sender_context"]["sender_sequence_number"]))
    own_piv = cose["partial_iv"] is not None
    # the request of C.4: kid '' and Partial IV 0x14
    got = osc.eval("_osc_respond(_osc_srv, b'\\x14', 0x45, [], %r, %r)" % (plaintext[2:], own_piv))
    assert got == (int(outer.code), outer.opt.oscore, outer.payload)
    assert int(outer.code) == 0x44  # 2.04 Changed outside (§4.2)
    nonce = osc.eval("_osc_ref_nonce(_osc_srv, %r, %r)" % (
        (True, _h(cose["partial_iv"])) if own_piv else (False, b"\x14")))
    assert nonce.hex() == cose["nonce"]
    assert osc.eval("_osc_ref_aad(b'', b'\\x14')").hex() == cose["aad"]
    assert osc.eval("_osc_srv.ssn") == (1 if own_piv else 0)
    # and the client of C.4 (context C.1 / C.2's client) reads it (§8.4)
    client = _contexts_by_section(appendix_c)[vector["security_context"][:-1] + "1"]
    osc.exec("_osc_cli = " + _context_code(client))
    got = osc.eval("(lambda m: (m.code, m.options, m.payload))(oscore.unprotect_response("
                   "_osc_cli, b'\\x14', Message(0x44, %r, [(9, %r)])))"
                   % (outer.payload, outer.opt.oscore))
    assert got == (0x45, [], plaintext[2:])


def test_protection_matches_the_references_for_every_id_and_piv_length(osc):
    """protect_request's hand-built AAD and nonce equal §5.4's Enc_structure by the CBOR
    encoder and §5.2's nonce (the references above), for every kid (0-7 bytes) and Partial
    IV length (1-5 bytes) the firmware can meet: the ciphertexts are the same."""
    osc.exec("def _osc_same(k, p):\n"
             "    ctx = oscore.Context(bytes(16), b'', bytes(range(1, 1 + k)), b'\\xff')\n"
             "    ctx.ssn = 1 << 8 * (p - 1)\n"
             "    option, ct = _osc_request(ctx, 1, [(11, b'x')], b'p')\n"
             "    piv = oscore.piv_bytes(ctx.ssn - 1)\n"
             "    ref = _osc_seal(ctx, piv, _osc_plaintext(1, [(11, b'x')], b'p'))\n"
             "    return len(piv), (option, ct) == ref")
    rows = [(k, p) for k in range(8) for p in range(1, 6)]
    assert osc.map("_osc_same", rows) == [(p, True) for _, p in rows]


# -- RFC 9203 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rfc9203():
    return json.loads(vector_file("rfc9203/rfc9203_examples.json").read_text())["vectors"]


def _from_ace_code(osc_map, n1, n2, id1, id2):
    return "oscore.Context.from_ace(%r, %r, %r, %r, %r)" % (osc_map, n1, n2, id1, id2)


def test_rfc9203_master_salt_and_context(osc, rfc9203):
    salt = rfc9203["master_salt_cbor"]
    derived = rfc9203["derived_security_context_NOT_FROM_RFC"]
    exchange = rfc9203["authz_info_exchange"]
    assert _h(salt["master_salt"]) == (cbor2.dumps(_h(salt["input_salt"]))
                                       + cbor2.dumps(_h(salt["nonce1"]))
                                       + cbor2.dumps(_h(salt["nonce2"])))
    material = {0: b"\x01", 2: _h(derived["master_secret"]), 5: _h(salt["input_salt"])}
    osc.exec("_osc_rs = " + _from_ace_code(
        material, _h(exchange["nonce1"]), _h(exchange["nonce2"]),
        _h(exchange["ace_client_recipientid"]), _h(exchange["ace_server_recipientid"])))
    got = osc.eval("(_osc_rs.sender_id, _osc_rs.recipient_id, _osc_rs.sender_key,"
                   " _osc_rs.recipient_key, _osc_rs.common_iv, _osc_rs.id_context)")
    rs = derived["rs"]
    assert [g.hex() for g in got[:5]] == [rs["sender_id"], rs["recipient_id"], rs["sender_key"],
                                          rs["recipient_key"], rs["common_iv"]]
    assert got[5] is None
    # The same as a context built from the RFC's Master Salt bytes directly.
    same = osc.eval("oscore.Context(%r, %r, %r, %r).sender_key" % (
        _h(derived["master_secret"]), _h(derived["master_salt"]), _h(rs["sender_id"]),
        _h(rs["recipient_id"])))
    assert same.hex() == rs["sender_key"]
    # The client's view (its Sender ID is ace_server_recipientid) mirrors it.
    client = derived["client"]
    got = osc.eval("(lambda c: (c.sender_key, c.recipient_key, c.common_iv))(oscore.Context("
                   "%r, %r, %r, %r))" % (_h(derived["master_secret"]), _h(derived["master_salt"]),
                                         _h(client["sender_id"]), _h(client["recipient_id"])))
    assert [g.hex() for g in got] == [client["sender_key"], client["recipient_key"],
                                      client["common_iv"]]


MS = bytes(range(16))
N1, N2 = b"\x01" * 8, b"\x02" * 8


def test_from_ace_defaults_and_context_id(osc):
    """from_ace derives from material the token layer checked (claims.check_osc, tested in
    test_cwt_claims.py): the default salt, the context ID, fields it does not use."""
    def keys(material, id1=b"\x01", id2=b"\x02"):
        return osc.eval("(lambda c: (c.sender_key, c.recipient_key, c.common_iv, c.id_context))"
                        "(%s)" % _from_ace_code(material, N1, N2, id1, id2))

    # no salt: the empty byte string, so the Master Salt starts with 0x40
    explicit = osc.eval("(lambda c: (c.sender_key, c.recipient_key, c.common_iv, c.id_context))"
                        "(oscore.Context(%r, %r, b'\\x01', b'\\x02'))"
                        % (MS, b"\x40" + cbor2.dumps(N1) + cbor2.dumps(N2)))
    assert keys({2: MS}) == explicit
    for variant in ({1: 1}, {3: -10}, {4: 10}, {5: b""}, {0: b"id"}):
        assert keys({2: MS, **variant}) == explicit, variant
    with_context = keys({2: MS, 6: b"\xca\xfe"})
    assert with_context[3] == b"\xca\xfe" and with_context[0] != explicit[0]
    assert with_context == osc.eval(
        "(lambda c: (c.sender_key, c.recipient_key, c.common_iv, c.id_context))"
        "(oscore.Context(%r, %r, b'\\x01', b'\\x02', b'\\xca\\xfe'))"
        % (MS, b"\x40" + cbor2.dumps(N1) + cbor2.dumps(N2)))


@pytest.mark.parametrize("id1,id2,reason", [
    (b"\x01", b"\x01", "equals"),
    (bytes(8), b"\x02", "longer than 7"),
    (b"\x01", bytes(8), "longer than 7"),
])
def test_from_ace_rejects_recipient_ids(osc, id1, id2, reason):
    verdict = osc.eval("_osc_verdict(lambda: %s)" % _from_ace_code({2: MS}, N1, N2, id1, id2))
    assert verdict[0] == "DecodeError" and reason in verdict[1], verdict


def test_context_rejects_bad_parameters(osc):
    for args in ("MS, b'', b'\\x01', b'\\x02', None, 11",  # AEAD
                 "MS, b'', b'\\x01', b'\\x02', None, 10, 0",  # window size
                 "MS, b'', b'', b''", "MS, b'', bytes(8), b''"):  # IDs equal, too long
        verdict = osc.eval("_osc_verdict(lambda: oscore.Context(%s))" % args.replace(
            "MS", repr(MS)))
        assert verdict[0] == "DecodeError", args
    # 7-byte IDs are the longest for a 13-byte nonce (§3.3)
    assert osc.eval("_osc_verdict(lambda: oscore.Context(%r, b'', bytes(7), b'\\1'))[0]"
                    % MS) == "ok"


# -- replay window (§7.4) ---------------------------------------------------------------------

REPLAY_SETUP = """
_osc_cli = oscore.Context(%r, b'salt', b'\\xc1', b'\\x5e')
_osc_srv = oscore.Context(%r, b'salt', b'\\x5e', b'\\xc1', None, 10, %d)
_osc_contexts = {b'\\xc1': _osc_srv}

def _osc_send(n, tamper=False, piv=None):
    # Request with sequence number n (Partial IV bytes piv when given); tamper flips a bit
    # of the ciphertext, a forgery the attacker can make for any Partial IV.
    _osc_cli.ssn = n
    if piv is None:
        option, ciphertext = _osc_request(_osc_cli, 2, [(11, b'x')], b'%%d' %% n)
    else:
        option, ciphertext = _osc_seal(_osc_cli, piv, _osc_plaintext(2, [(11, b'x')],
                                                                     b'%%d' %% n))
    if tamper:
        ciphertext = bytearray(ciphertext)
        ciphertext[-1] ^= 1
    verdict = _osc_unprotect(option, ciphertext)
    return verdict[0]
"""


def _window(osc, size=32):
    osc.exec(REPLAY_SETUP % (MS, MS, size))


def test_replay_window_sequence(osc):
    _window(osc)
    steps = [
        (0, False, "ok"), (1, False, "ok"), (2, False, "ok"), (1, False, "ReplayError"),
        (5, False, "ok"), (3, False, "ok"), (4, False, "ok"), (4, False, "ReplayError"),
        (40, False, "ok"),  # jump ahead: 8 is now 32 behind, 9 is 31 behind
        (8, False, "ReplayError"), (9, False, "ok"), (9, False, "ReplayError"),
        (20, False, "ok"), (39, False, "ok"), (40, False, "ReplayError"),
        # forged requests: high, in window, and at a fresh number - none moves the window
        (1000, True, "DecryptError"), (2 ** 40 - 1, True, "DecryptError"),
        (10, True, "DecryptError"), (10, False, "ok"),  # 10 still fresh after the forgery
        (11, False, "ok"),  # would be too old had the forged 1000 moved the window
        (41, False, "ok"), (1000, False, "ok"), (968, False, "ReplayError"), (969, False, "ok"),
        (999, False, "ok"), (967, False, "ReplayError"), (969, False, "ReplayError"),
        (41, False, "ReplayError"),
    ]
    got = osc.map("_osc_send", [(n, tamper) for n, tamper, _ in steps], limit=600)
    assert got == [verdict for _, _, verdict in steps]


def test_replay_window_beyond_16_and_32_bits(osc):
    _window(osc)
    steps = [(65535, "ok"), (65536, "ok"), (65535, "ReplayError"), (65536 + 31, "ok"),
             (65535, "ReplayError"), (65536, "ReplayError"), (65537, "ok"),
             (2 ** 32 - 1, "ok"), (2 ** 32, "ok"), (2 ** 32 - 1, "ReplayError"),
             (2 ** 32 - 2, "ok"), (2 ** 40 - 2, "ok"), (2 ** 40 - 1, "ok"),
             (2 ** 40 - 1, "ReplayError"), (2 ** 40 - 2, "ReplayError"), (2 ** 40 - 3, "ok")]
    assert osc.map("_osc_send", [(n,) for n, _ in steps], limit=600) == [v for _, v in steps]


def test_replay_of_a_differently_encoded_partial_iv(osc):
    """Partial IVs are compared as numbers: 0x0014 after 0x14 is a replay."""
    _window(osc)
    assert osc.map("_osc_send", [(20, False, b"\x14"), (20, False, b"\x00\x14"),
                                 (21, False, b"\x00\x15"), (21, False, b"\x15")]) == [
        "ok", "ReplayError", "ok", "ReplayError"]


def _reference_window(pivs, size):
    """Verdicts of the sliding window of RFC 8613 §7.4 / RFC 4303 §3.4.3, by its definition:
    a number is fresh unless it was accepted before or lies `size` or more below the highest
    accepted one."""
    seen, top, verdicts = set(), -1, []
    for n in pivs:
        if n in seen or top - n >= size:
            verdicts.append("ReplayError")
        else:
            seen.add(n)
            top = max(top, n)
            verdicts.append("ok")
    return verdicts


@pytest.mark.parametrize("size", [1, 32, 64])
def test_replay_window_against_reference(osc, size):
    rng = random.Random(size)
    pivs, n = [], 0
    for _ in range(250):
        n = max(0, n + rng.choice([-70, -40, -33, -32, -31, -5, -1, 0, 1, 1, 2, 3, 31, 32, 100]))
        pivs.append(n)
    _window(osc, size)
    assert osc.map("_osc_send", [(p,) for p in pivs], limit=600) == _reference_window(pivs, size)


# -- OSCORE option (§6.1) ---------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (b"", (None, None, None)),
    (b"\x00", (None, None, None)),
    (b"\x09\x14", (b"\x14", None, b"")),
    (b"\x09\x14\x00", (b"\x14", None, b"\x00")),
    (b"\x19\x14\x08\x37\xcb\xf3\x21\x00\x17\xa2\xd3", (b"\x14", bytes.fromhex("37cbf3210017a2d3"),
                                                       b"")),
    (b"\x01\x00", (b"\x00", None, None)),
    (b"\x02\x01\x02", (b"\x01\x02", None, None)),
    (b"\x0d\x01\x02\x03\x04\x05kid", (b"\x01\x02\x03\x04\x05", None, b"kid")),
    (b"\x08", (None, None, b"")),
    (b"\x08\xaa\xbb", (None, None, b"\xaa\xbb")),
    (b"\x10\x00", (None, b"", None)),
    (b"\x18\x02ab\x01", (None, b"ab", b"\x01")),
    (b"\x1b\x01\x02\x03\x01c\x07", (b"\x01\x02\x03", b"c", b"\x07")),
])
def test_option_parse(osc, value, expected):
    assert osc.eval("oscore.parse_option(%r)" % value) == expected


@pytest.mark.parametrize("value", [
    b"\x20", b"\x40", b"\x80", b"\xe0", b"\x29\x14", b"\x49\x14", b"\x89\x14",  # reserved bits
    b"\x06\x01\x02\x03\x04\x05\x06", b"\x07\x01\x02\x03\x04\x05\x06\x07",  # n = 6, 7 reserved
    b"\x01", b"\x02\x01", b"\x05\x01\x02\x03\x04", b"\x0d\x01\x02",  # Partial IV cut short
    b"\x10", b"\x11\x14", b"\x10\x01", b"\x10\x03ab", b"\x19\x14\x05abcd",  # kid context cut
    b"\x01\x14\x00", b"\x10\x01a\x00", b"\x00\x00",  # bytes after the fields, kid not flagged
])
def test_option_parse_rejects(osc, value):
    verdict = osc.eval("_osc_verdict(oscore.parse_option, %r)" % value)
    assert verdict[0] == "BadOptionError", verdict
    assert osc.eval("issubclass(oscore.BadOptionError, DecodeError)")


def _request_setup(osc):
    osc.exec("_osc_cli = oscore.Context(%r, b'', b'\\xc1', b'\\x5e', b'ctx')\n"
             "_osc_srv = oscore.Context(%r, b'', b'\\x5e', b'\\xc1', b'ctx')\n"
             "_osc_contexts = {b'\\xc1': _osc_srv}" % (MS, MS))


def test_unprotect_rejects_requests_it_cannot_process(osc):
    _request_setup(osc)
    option, ciphertext = osc.eval("_osc_request(_osc_cli, 1, [(11, b'a')], b'')[:2]")
    assert option == b"\x09\x00\xc1"
    cases = [
        (b"", ciphertext, "BadOptionError"),  # no Partial IV, no kid
        (b"\x01\x00", ciphertext, "BadOptionError"),  # no kid
        (b"\x08\xc1", ciphertext, "BadOptionError"),  # no Partial IV
        (b"\x29\x00\xc1", ciphertext, "BadOptionError"),  # reserved bit
        (option, ciphertext[:8], "BadOptionError"),  # only a tag, no code
        (option, b"", "BadOptionError"),
        (b"\x09\x00\xc2", ciphertext, "UnknownContextError"),
        (b"\x19\x00\x03ctX\xc1", ciphertext, "UnknownContextError"),  # wrong kid context
        (b"\x19\x00\x00\xc1", ciphertext, "UnknownContextError"),  # empty kid context
        (b"\x09\x01\xc1", ciphertext, "DecryptError"),  # another Partial IV
        (b"\x0a\x00\x00\xc1", ciphertext, "DecryptError"),  # same number, other bytes
        (option, ciphertext[:-1] + bytes([ciphertext[-1] ^ 0x80]), "DecryptError"),
        (option, ciphertext[:1] + bytes([ciphertext[1] ^ 1]) + ciphertext[2:], "DecryptError"),
        (option, ciphertext + b"\x00", "DecryptError"),
        (b"\x19\x00\x03ctx\xc1", ciphertext, "ok"),  # a matching kid context is fine
        (option, ciphertext, "ReplayError"),
    ]
    got = osc.map("_osc_unprotect", [(o, c) for o, c, _ in cases])
    assert [g[0] for g in got] == [verdict for _, _, verdict in cases], got
    for verdict in got:
        if verdict[0] != "ok":
            assert verdict[2] == (verdict[0] == "BadOptionError")  # only 4.02 is a DecodeError
    assert got[-2] == ("ok", b"\xc1", b"\x00", 1, [(11, b"a")], b"")


def test_an_inner_request_outlives_the_next_one(osc):
    """The plaintext is a view of AES-CCM's module buffer, which the next message reuses: the
    inner Message holds copies (bytes) of its option values and payload, unchanged by the
    requests unprotected after it."""
    _request_setup(osc)
    osc.exec("_osc_first = _osc_request(_osc_cli, 3, [(11, b'led'), (12, b'')], b'1')\n"
             "_osc_second = _osc_request(_osc_cli, 1, [(11, b'tmp'), (17, b'\\x29')], b'x')\n"
             "_osc_kept = oscore.unprotect_request(_osc_lookup, Message(2, _osc_first[1],"
             " [(9, _osc_first[0])]))[2]\n"
             "_osc_next = _osc_unprotect(*_osc_second)")
    assert osc.eval("_osc_next[3:]") == (1, [(11, b"tmp"), (17, b"\x29")], b"x")
    kept = osc.eval("(_osc_kept.code, _osc_kept.options, _osc_kept.payload,"
                    " [type(v).__name__ for _, v in _osc_kept.options],"
                    " type(_osc_kept.payload).__name__)")
    assert kept == (3, [(11, b"led"), (12, b"")], b"1", ["bytes", "bytes"], "bytes")


def test_lookup_must_return_the_kids_context(osc):
    _request_setup(osc)
    option, ciphertext = osc.eval("_osc_request(_osc_cli, 1, [], b'')[:2]")
    verdict = osc.eval("_osc_verdict(oscore.unprotect_request, lambda kid, kc: _osc_cli,"
                       " Message(2, %r, [(9, %r)]))" % (ciphertext, option))
    assert verdict[0] == "UnknownContextError"


# -- inner message (plaintext) ----------------------------------------------------------------

INNER_SETUP = """
def _osc_inner(plaintext):
    # Encrypt raw plaintext bytes as a request and unprotect it: malformed inner messages.
    option, ct = _osc_seal(_osc_cli, oscore.piv_bytes(_osc_cli.next_ssn()), plaintext)
    return _osc_unprotect(option, ct)
"""


@pytest.mark.parametrize("plaintext,expected", [
    (b"\x01", (1, [], b"")),
    (b"\x01\xffp", (1, [], b"p")),
    (b"\x02\xb4temp\x41\x00\xff\x01\x02", (2, [(11, b"temp"), (15, b"\x00")], b"\x01\x02")),
    (b"\x01\xd0\x00", (1, [(13, b"")], b"")),
    (b"\x01\xe0\x00\x00", (1, [(269, b"")], b"")),
    (b"\x01\xe0\xfe\xf2", (1, [(65535, b"")], b"")),
    (b"\x01\x0d\x00" + b"a" * 13, (1, [(0, b"a" * 13)], b"")),
    (b"\x01\x0e\x00\x00" + b"b" * 269, (1, [(0, b"b" * 269)], b"")),
    (b"\x01\x60\xd1\x02\x00", (1, [(6, b""), (21, b"\x00")], b"")),
])
def test_inner_message_parse(osc, plaintext, expected):
    _request_setup(osc)
    osc.exec(INNER_SETUP)
    assert osc.eval("_osc_inner(%r)" % plaintext)[3:] == expected


@pytest.mark.parametrize("plaintext,reason", [
    (b"\x01\xff", "empty payload"),
    (b"\x01\xf0", "reserved delta"), (b"\x01\x0f", "reserved length"),
    (b"\x01\xf1\x00", "reserved delta"),
    (b"\x01\xb5tem", "past end"), (b"\x01\xd0", "past end"), (b"\x01\xe0\x00", "past end"),
    (b"\x01\x0d", "past end"), (b"\x01\x0e\x01", "past end"), (b"\x01\x0d\x00abc", "past end"),
    (b"\x01\xe0\xfe\xf3", "option number"), (b"\x01\xb0\xe0\xff\xff", "option number"),
    (b"\x01\x31a", "Class U"), (b"\x01\x71\x01", "Class U"), (b"\x01\x90", "Class U"),
    (b"\x01\xd0\x16", "Class U"), (b"\x01\xd0\x1a", "Class U"), (b"\x01\xb1a\xd0\x0b", "Class U"),
])
def test_inner_message_rejects(osc, plaintext, reason):
    _request_setup(osc)
    osc.exec(INNER_SETUP)
    verdict = osc.eval("_osc_inner(%r)" % plaintext)
    assert verdict[0] == "BadOptionError" and reason in verdict[1], verdict
    # The request was authentic: its Partial IV is used up all the same (§7.4).
    n = osc.eval("_osc_cli.ssn - 1")
    assert osc.eval("_osc_verdict(_osc_srv.check_replay, %d)" % n)[0] == "ReplayError"


# -- response protection (§8.3) and the sender sequence number --------------------------------

def test_protect_response_variants(osc):
    _request_setup(osc)
    osc.exec("_osc_calls = []\n_osc_srv.ssn_hook = lambda ctx, n: _osc_calls.append(n)")
    default = osc.eval("_osc_respond(_osc_srv, b'\\x05', 0x45, [], b'x')[:2]")
    assert default == (0x44, b"")  # §4.2: 2.04 outside, the request's nonce
    own = [osc.eval("_osc_respond(_osc_srv, b'\\x05', 0x45, [], b'x', True)[1]")
           for _ in range(3)]
    assert own == [b"\x01\x00", b"\x01\x01", b"\x01\x02"]
    assert osc.eval("_osc_calls") == [0, 1, 2]
    osc.exec("_osc_srv.ssn = 0x1234")
    assert osc.eval("_osc_respond(_osc_srv, b'\\x05', 0x45, [], b'', True)[1]") == (
        b"\x02\x12\x34")
    # Class U options stay out of the plaintext (§4.1), the others go in sorted
    osc.exec("_osc_srv.ssn_hook = None")
    got = osc.eval("(lambda m: (m.code, m.options, m.payload))(oscore.unprotect_response("
                   "_osc_cli, b'\\x05', oscore.protect_response(_osc_srv, b'\\x05', Message("
                   "0x45, b'x', [(14, b'\\x3c'), (3, b'host'), (12, b''), (9, b'')]))))")
    assert got == (0x45, [(12, b""), (14, b"\x3c")], b"x")


def test_client_side_round_trip(osc):
    """protect_request and unprotect_response, the client's side (§8.1, §8.4), against the
    server's side: Class U options travel outside, the rest inside; a response with its
    own Partial IV is read with the server's nonce, a tampered one is refused."""
    _request_setup(osc)
    osc.exec("_osc_out, _osc_piv = oscore.protect_request(_osc_cli, Message(3, b'on', ["
             "(11, b'led'), (3, b'rs.example'), (60, b'\\x02')], b'tk', 0, 7))")
    assert osc.eval("(_osc_out.code, _osc_out.options[0], _osc_out.token, _osc_out.mid,"
                    " _osc_piv)") == (2, (3, b"rs.example"), b"tk", 7, b"\x00")
    got = osc.eval("(lambda r: (r[1], r[2].code, r[2].options, r[2].payload))("
                   "oscore.unprotect_request(_osc_lookup, _osc_out))")
    assert got == (b"\x00", 3, [(11, b"led"), (60, b"\x02")], b"on")
    for own in (False, True):
        osc.exec("_osc_resp = oscore.protect_response(_osc_srv, _osc_piv, Message(0x44, b'ok'),"
                 " %r)" % own)
        assert osc.eval("(lambda m: (m.code, m.payload))(oscore.unprotect_response(_osc_cli,"
                        " _osc_piv, _osc_resp))") == (0x44, b"ok")
    osc.exec("_osc_resp.payload = _osc_resp.payload[:-1] + b'\\x00'")
    assert osc.eval("_osc_verdict(oscore.unprotect_response, _osc_cli, _osc_piv, _osc_resp)")[
        0] == "DecryptError"
    assert osc.eval("_osc_verdict(oscore.unprotect_response, _osc_cli, _osc_piv,"
                    " Message(0x81))")[0] == "BadOptionError"


def test_sender_sequence_number_limit_and_hook(osc):
    _request_setup(osc)
    osc.exec("_osc_srv.ssn = (1 << 40) - 1  # the largest: 5-byte Partial IVs (§7.2.1)")
    assert osc.eval("_osc_respond(_osc_srv, b'\\x05', 0x45, [], b'', True)[1]") == (
        b"\x05\xff\xff\xff\xff\xff")
    assert osc.eval("_osc_verdict(_osc_respond, _osc_srv, b'\\x05', 0x45, [], b'', True)")[
        0] == "ContextExhaustedError"
    # a hook that refuses (say, the number could not be persisted) stops the response
    osc.exec("_osc_srv.ssn = 7\n"
             "def _osc_refuse(ctx, n):\n    raise oscore.ContextExhaustedError('not persisted')\n"
             "_osc_srv.ssn_hook = _osc_refuse")
    assert osc.eval("_osc_verdict(_osc_respond, _osc_srv, b'\\x05', 0x45, [], b'', True)") == (
        "ContextExhaustedError", "not persisted")
    assert osc.eval("_osc_srv.ssn") == 7
    assert osc.eval("(oscore.piv_bytes(0), oscore.piv_bytes(255), oscore.piv_bytes(256))") == (
        b"\x00", b"\xff", b"\x01\x00")


# -- heap -------------------------------------------------------------------------------------

HEAP_CODE = """
import gc
# The layers one at a time, collecting in between: the loader's garbage would otherwise leave
# holes among the code, which a board (its code frozen in flash) does not have.
for name in ('errors', 'cbor', 'cose', 'coap.message', 'crypto.aes_ccm', 'crypto.hkdf',
             'oscore'):
    __import__('microace.' + name)
    gc.collect()
from microace import oscore
from microace.coap.message import Message
cli = oscore.Context(bytes(16), b'', b'\\x01', b'')
srv = oscore.Context(bytes(16), b'', b'', b'\\x01')
gc.collect()
print(gc.mem_alloc())
"""

HEAP_RUN = """
# The client's sender key is the server's recipient key: the same object, so the client's
# side holds no AES object (aes_ccm.held) the server alone would not.
cli.sender_key = srv.recipient_key
outer = oscore.protect_request(cli, Message(2, bytes(300), [(11, b'temp')]))[0]
gc.collect()
ctx, piv, inner = oscore.unprotect_request(lambda k, c: srv if k == b'\\x01' else None, outer)
outer = None
print(inner.code, inner.options, len(inner.payload))
print(oscore.protect_response(srv, piv, Message(0x45, inner.payload, [(12, b'')])).code)
"""


def test_a_300_byte_exchange_fits_in_16k_of_working_heap(mpy_firmware):
    """Unprotect and protect with a 300-byte payload need less than 16 KB of heap beyond the
    loaded code (which lives in flash on a board)."""
    code_heap = int(run_micropython(HEAP_CODE, mpy_firmware, heap="512k"))
    heap = "%dk" % ((code_heap + 16 * 1024) // 1024 + 1)
    out = run_micropython(HEAP_CODE + HEAP_RUN, mpy_firmware, heap=heap)
    assert out.split("\n")[1:3] == ["2 [(11, b'temp')] 300", "68"], out
