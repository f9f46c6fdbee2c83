"""The EDHOC Responder (microace.edhoc) in MicroPython against RFC 9529 Trace 2 (method 3,
suite 2): byte-exact message_2, message_4, PRK_out and OSCORE parameters with the trace's
keys (the test-only _ephemeral argument injects Y and C_R), the suite-negotiation error, the
invalid messages of RFC 9529 §4, the PLAINTEXT_3 counterparts of its PLAINTEXT_2 cases, and
the session rules (one message_3 per session, dedup of message_1, bounded sessions)."""

import cbor2
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from tests.support import edhoc_vectors as v

SETUP = """
from microace import edhoc
from microace.crypto import ecdh
from microace.errors import EdhocError

class _TraceKeys:
    # the key store's ecdh() with the trace's static key SK_R (a test stand-in: a real
    # store generates its key and never takes one)
    def __init__(self, d):
        self.d = int.from_bytes(d, 'big')
    def ecdh(self, handle, point):
        return ecdh.ecdh(self.d, point)

class _Handle:
    kid = b'\\x32'

def _responder(**kw):
    return edhoc.Responder(_TraceKeys(_sk_r), _Handle(), _cred_r,
                           edhoc.TrustedClients([{'cred': _cred_i, 'scope': 'read'}]), **kw)

def _err(f, *a, **kw):
    try:
        return ('ok', f(*a, **kw))
    except EdhocError as e:
        return (e.args[0], e.args[1], edhoc.error_message(e))

_Y = int.from_bytes(_y, 'big')
"""


@pytest.fixture
def ed(mp):
    for name, value in (("_sk_r", v.SK_R), ("_cred_r", v.CRED_R), ("_cred_i", v.CRED_I),
                        ("_y", v.Y)):
        mp.send(name, value)
    mp.exec(SETUP)
    mp.exec("r = _responder()")
    return mp


def message_2(mp):
    mp.send("_m1", v.MESSAGE_1)
    return mp.eval("r.message_1(_m1, _ephemeral=(_Y, b'\\x27'))")


def test_trace_2(ed):
    assert message_2(ed) == v.MESSAGE_2
    ed.send("_m3", v.MESSAGE_3)
    ed.exec("s = r.message_3(b'\\x27', _m3)")
    assert ed.eval("s.prk_out") == v.PRK_OUT
    assert ed.eval("s.message_4()") == v.MESSAGE_4
    assert ed.eval("s.oscore()") == (v.OSCORE_SECRET, v.OSCORE_SALT, v.OSCORE_SENDER_ID,
                                     v.OSCORE_RECIPIENT_ID)
    assert ed.eval("(s.cred_i.raw, s.grant, s.ead_3, s.c_i, s.c_r)") == (
        v.CRED_I, "read", [], b"\x37", b"\x27")
    # the exporter with the OSCORE labels gives the same values
    assert ed.eval("(s.exporter(0, b'', 16), s.exporter(1, b'', 8))") == (
        v.OSCORE_SECRET, v.OSCORE_SALT)
    # one message_3 per session: the replay is refused
    got = ed.eval("_err(r.message_3, b'\\x27', _m3)")
    assert got[:2] == (1, "no EDHOC session for this C_R")
    assert got[2] == cbor2.dumps(1) + cbor2.dumps("no EDHOC session for this C_R")


def test_suite_negotiation_error(ed):
    ed.send("_m1", v.MESSAGE_1_FIRST)
    assert ed.eval("_err(r.message_1, _m1)") == (2, 2, v.ERROR_SUITES)
    # suite 2 selected but preceded by itself (a supported suite more preferred): error 2 too
    ed.send("_m1", bytes([3, 0x83, 2, 6, 2]) + v.MESSAGE_1[4:])
    assert ed.eval("_err(r.message_1, _m1)") == (2, 2, v.ERROR_SUITES)
    assert ed.eval("len(r.sessions)") == 0


EXPECTED_INVALID = {
    "surplus array encoding of message": (1, "message truncated"),
    "surplus bstr encoding of connection identifier": (1, "identifier must use its int encoding"),
    "surplus array encoding of ciphersuite": (1, "SUITES_I must be an int or an array of two "
                                                 "or more ints"),
    "text string encoding of ephemeral key": (1, "G_X must be a 32-byte P-256 x coordinate"),
    "error in length of ephemeral key": (2, 2),
    "error in elliptic curve representation": (1, "invalid G_X: P-256 x not below p"),
    "error in elliptic curve point": (1, "invalid G_X: not a P-256 point"),
    "curve point of low order": (2, 2),
    "error in elliptic curve encoding": (1, "G_X must be a 32-byte P-256 x coordinate"),
    "unnecessary long encoding": (1, "CBOR not deterministically encoded"),
    "indefinite-length array encoding": (1, "malformed CBOR"),
}


def test_invalid_traces_message_1(ed):
    assert len(v.INVALID_MESSAGE_1) == len(EXPECTED_INVALID) == 11
    for what, msg in v.INVALID_MESSAGE_1:
        ed.send("_m1", msg)
        got = ed.eval("_err(r.message_1, _m1)")
        code, info = EXPECTED_INVALID[what]
        assert got[0] == code and str(got[1]).startswith(str(info)), (what, got)
    assert ed.eval("len(r.sessions)") == 0


def encrypt_3(plaintext):
    """CIPHERTEXT_3 of a PLAINTEXT_3 under the trace's K_3/IV_3/A_3 (cryptography)."""
    a_3 = cbor2.dumps(["Encrypt0", b"", v.TH_3])
    return cbor2.dumps(AESCCM(v.K_3, tag_length=8).encrypt(v.IV_3, plaintext, a_3))


def run_3(ed, message_3):
    assert message_2(ed) == v.MESSAGE_2
    ed.send("_m3", message_3)
    return ed.eval("_err(r.message_3, b'\\x27', _m3)")


MAC_3 = v.PLAINTEXT_3[1:]  # 48 || MAC_3
PLAINTEXT_3_CASES = [
    # RFC 9529 §4.1.6/4.1.7/4.2.5 for PLAINTEXT_2, here for PLAINTEXT_3
    ("surplus map encoding of ID_CRED_I", b"\xa1\x04\x41\x2b" + MAC_3,
     (1, "ID_CRED_I must be a compact kid or a kccs map")),
    ("surplus bstr encoding of ID_CRED_I", b"\x41\x2b" + MAC_3,
     (1, "identifier must use its int encoding")),
    ("error in length of MAC", b"\x2b\x44" + MAC_3[1:5], (1, "MAC_3 does not verify")),
    ("wrong MAC", b"\x2b" + MAC_3[:-1] + bytes([MAC_3[-1] ^ 1]), (1, "MAC_3 does not verify")),
    ("unknown kid", b"\x2c" + MAC_3, (3, True)),
    ("unknown critical EAD", v.PLAINTEXT_3 + b"\x38\x63\x41\x00", (1, "unsupported critical "
                                                                   "EAD item -100")),
    ("MAC not a bstr", b"\x2b\x08", (1, "Signature_or_MAC_3 must be a byte string")),
    ("truncated", b"\x2b", (1, "message truncated")),
    ("trailing break", v.PLAINTEXT_3 + b"\xff", (1, "malformed CBOR")),
]


def test_invalid_plaintext_3(ed):
    # the unchanged PLAINTEXT_3 gives the trace's message_3: the cases differ in one thing
    assert encrypt_3(v.PLAINTEXT_3) == v.MESSAGE_3
    for what, plaintext, want in PLAINTEXT_3_CASES:
        got = run_3(ed, encrypt_3(plaintext))
        assert got[0] == want[0] and str(got[1]).startswith(str(want[1])), (what, got)
        assert ed.eval("len(r.sessions)") == 0  # the session is aborted


def test_ead_3_non_critical_and_padding_are_skipped(ed):
    """Non-critical unknown items and padding do not stop the handshake; MAC_3 covers them
    (so this message_3 needs its own MAC_3: the trace's no longer verifies)."""
    got = run_3(ed, encrypt_3(v.PLAINTEXT_3 + b"\x18\x63\x41\x00\x00\x00\x40"))
    assert got[:2] == (1, "MAC_3 does not verify")  # parsed past the EAD, refused by MAC


def test_message_3_shapes(ed):
    for what, m3, want in [
        ("not a bstr", b"\x01", "message_3 must be one byte string"),
        ("two items", v.MESSAGE_3 + b"\x40", "message_3 must be one byte string"),
        ("truncated", v.MESSAGE_3[:-1], "malformed CBOR"),
        ("bit flipped", v.MESSAGE_3[:-1] + bytes([v.MESSAGE_3[-1] ^ 1]),
         "message_3 does not decrypt"),
        ("empty", b"", "message truncated"),
        ("oversized", cbor2.dumps(bytes(2000)), "message_3 too large"),
    ]:
        got = run_3(ed, m3)
        assert got[0] == 1 and got[1].startswith(want), (what, got)


def test_sessions(ed):
    """Dedup of message_1 (§7), unknown C_R, bounded sessions (oldest evicted), timeout."""
    first = message_2(ed)
    assert message_2(ed) == first and ed.eval("len(r.sessions)") == 1
    assert ed.eval("_err(r.message_3, b'\\x28', _m3)")[:2] == (
        1, "no EDHOC session for this C_R")
    # production path: random Y and C_R; C_R never equals C_I, unique
    ed.exec("r2 = _responder(max_sessions=3)")
    crs = set()
    for i in range(5):
        m1 = v.MESSAGE_1[:-1] + bytes([i])  # C_I = i: five different message_1
        ed.send("_m1", m1)
        ed.exec("_out = r2.message_1(_m1)")
        c_r = ed.eval("r2.sessions[-1].c_r")
        assert c_r != bytes([i]) and c_r not in [s for s in ed.eval(
            "[s.c_r for s in r2.sessions[:-1]]")]
        crs.add(c_r)
    assert ed.eval("[s.c_i for s in r2.sessions]") == [b"\x02", b"\x03", b"\x04"]
    # timeout: every session older than timeout_ms is gone at the next message
    ed.exec("r3 = _responder(timeout_ms=0)")
    ed.send("_m1", v.MESSAGE_1)
    ed.exec("r3.message_1(_m1)")
    ed.send("_m3", v.MESSAGE_3)
    assert ed.eval("_err(r3.message_3, r3.sessions[0].c_r, _m3)")[:2] == (
        1, "no EDHOC session for this C_R")
    # methods 0 and 2 (Responder signs) and unknown methods
    for method in (0, 2, 4, 24):
        ed.send("_m1", cbor2.dumps(method) + v.MESSAGE_1[1:])
        assert ed.eval("_err(r.message_1, _m1)")[:2] == (1, "Method not supported")
    ed.send("_m1", cbor2.dumps(bytes(2000)))
    assert ed.eval("_err(r.message_1, _m1)")[:2] == (1, "message_1 too large")


# -- against the host Initiator (microace_host.edhoc_initiator): method 1, kccs by value -----

def test_initiator_reproduces_trace_2():
    """The host Initiator is right: with Trace 2's keys it makes the trace's message_1 and
    message_3, verifies the trace's message_2 and message_4 (the Responder's side), and
    derives the trace's PRK_out and OSCORE context (its Sender ID is C_R)."""
    from microace_host.edhoc_initiator import Initiator

    i = Initiator(v.SK_I, v.CRED_I, x=bytes.fromhex(
        "368ec1f69aeb659ba37d5a8d45b21bdc0299dceaa8ef235f3ca42ce3530f9525"))
    i.suites = [6, 2]
    assert i.message_1() == v.MESSAGE_1
    assert i.message_2(v.MESSAGE_2, v.CRED_R) == v.C_R
    assert i.message_3() == v.MESSAGE_3
    assert i.prk_out == v.PRK_OUT and i.message_4(v.MESSAGE_4) == b""
    assert i.oscore() == (v.OSCORE_SECRET, v.OSCORE_SALT, v.OSCORE_RECIPIENT_ID,
                          v.OSCORE_SENDER_ID)


def handshake(ed, i, responder="r"):
    ed.send("_m1", i.message_1())
    m2 = ed.eval("%s.message_1(_m1)" % responder)
    c_r = i.message_2(m2, v.CRED_R)
    ed.send("_m3", i.message_3())
    got = ed.eval("_err(lambda: %s.message_3(%r, _m3).prk_out)" % (responder, c_r))
    if got[0] == "ok":
        assert got[1] == i.prk_out
    return got


def test_method_1_signature(ed):
    """Method 1: the Initiator signs (ES256 over the Sig_structure with MAC_3 of hash
    length); a wrong signature is refused."""
    from microace_host.edhoc_initiator import Initiator

    i = Initiator(v.SK_I, v.CRED_I, method=1)
    assert handshake(ed, i)[0] == "ok"
    assert ed.eval("len(r.sessions)") == 0
    i = Initiator(v.SK_I, v.CRED_I, method=1)
    ed.send("_m1", i.message_1())
    c_r = i.message_2(ed.eval("r.message_1(_m1)"), v.CRED_R)
    ed.send("_m3", i.message_3(mac_override=bytes(64)))
    assert ed.eval("_err(r.message_3, %r, _m3)" % c_r)[:2] == (
        1, "Signature_or_MAC_3 does not verify")


def test_random_handshakes_agree(ed):
    """Fresh ephemeral keys on both sides: PRK_out, OSCORE parameters and message_4 agree."""
    from microace_host.edhoc_initiator import Initiator

    for method, c_i in ((3, b"\x01"), (1, b"\x00\x01"), (3, b"")):
        i = Initiator(v.SK_I, v.CRED_I, method=method, c_i=c_i)
        ed.send("_m1", i.message_1())
        c_r = i.message_2(ed.eval("r.message_1(_m1)"), v.CRED_R)
        ed.send("_m3", i.message_3())
        ed.exec("s = r.message_3(%r, _m3)" % c_r)
        assert ed.eval("s.prk_out") == i.prk_out
        secret, salt, sid, rid = ed.eval("s.oscore()")
        assert (secret, salt, rid, sid) == i.oscore()
        assert i.message_4(ed.eval("s.message_4()")) == b""


def test_id_cred_by_value_and_untrusted(ed):
    """ID_CRED_I as {14: CCS} (kccs) of a trusted client is accepted; an untrusted CCS by value
    or by kid gets ERR_CODE 3 (unknown credential); with an empty list nobody gets in."""
    from microace_host.edhoc_initiator import Initiator, ccs, private_key

    kccs = cbor2.dumps({14: cbor2.loads(v.CRED_I)}, canonical=True)
    assert handshake(ed, Initiator(v.SK_I, v.CRED_I, id_cred_i=kccs))[0] == "ok"
    other = bytes(31) + b"\x07"
    cred_other = ccs("other", b"\x2b", private_key(other))  # same kid, another key
    kccs_other = cbor2.dumps({14: cbor2.loads(cred_other)}, canonical=True)
    assert handshake(ed, Initiator(other, cred_other, id_cred_i=kccs_other))[:2] == (3, True)
    ed.exec("r_empty = edhoc.Responder(_TraceKeys(_sk_r), _Handle(), _cred_r, "
            "edhoc.TrustedClients([]))")
    assert handshake(ed, Initiator(v.SK_I, v.CRED_I), "r_empty")[:2] == (3, True)


def test_ead_1_and_ead_3_items(ed):
    """EAD_1 padding and unknown non-critical items are skipped; an unknown critical item
    aborts; ead_labels hands the caller its items (the hook for the access token)."""
    from microace_host.edhoc_initiator import Initiator

    i = Initiator(v.SK_I, v.CRED_I, ead_1=b"\x00\x00\x41\x00\x18\x63")
    assert handshake(ed, i)[0] == "ok"
    ed.send("_m1", Initiator(v.SK_I, v.CRED_I, ead_1=b"\x38\x63").message_1())
    assert ed.eval("_err(r.message_1, _m1)")[:2] == (1, "unsupported critical EAD item -100")
    ed.exec("r_ead = _responder(ead_labels=(24,))")
    i = Initiator(v.SK_I, v.CRED_I, ead_3=b"\x37\x43abc\x18\x63\x00")
    assert handshake(ed, i, "r_ead")[0] == "ok"
    assert ed.eval("len(r_ead.sessions)") == 0
    i = Initiator(v.SK_I, v.CRED_I, ead_3=b"\x37\x43abc")
    ed.send("_m1", i.message_1())
    c_r = i.message_2(ed.eval("r_ead.message_1(_m1)"), v.CRED_R)
    ed.send("_m3", i.message_3())
    assert ed.eval("r_ead.message_3(%r, _m3).ead_3" % c_r) == [(-24, b"abc")]
    # without the label consumed, the critical -24 item aborts
    assert handshake(ed, Initiator(v.SK_I, v.CRED_I, ead_3=b"\x37\x43abc"))[:2] == (
        1, "unsupported critical EAD item -24")


def test_c_r_avoids_recipient_ids_in_use(ed):
    """C_R is usable as an OSCORE Recipient ID (§3.3.3): never one a live context has; with
    every one-byte ID taken it takes two bytes."""
    ed.exec("_taken = [bytes((i,)) for i in range(256)]\n"
            "r4 = _responder(in_use=lambda c: c in _taken)")
    ed.send("_m1", v.MESSAGE_1)
    ed.exec("r4.message_1(_m1)")
    assert len(ed.eval("r4.sessions[0].c_r")) == 2
    ed.exec("_taken = [bytes((i,)) for i in range(256) if i != 5]")
    for _ in range(8):  # whichever it picks, never a taken one
        ed.exec("r4.sessions = []\nr4.message_1(_m1)")
        assert ed.eval("r4.sessions[0].c_r not in _taken") is True
