"""The RS across restarts, in one MicroPython process (rs.ResourceServer over a state.State
file): tokens and contexts come back, contexts ask for Echo first (RFC 8613 App. B.1.2), the
sender sequence number never goes back (App. B.1.1), and flash writes per 1000 requests.

The writes figures here are the ones docs/BENCHMARKS.md reports:
    .venv/bin/pytest -q -p no:cacheprovider tests/firmware/test_reboot_state.py -s
"""

import pytest

from conftest import skip_if_out_of_memory

SETUP = """
from microace import oscore, rs as rs_mod
from microace.coap.message import Message
from microace.crypto import aes_ccm
from microace.keystore import SoftwareKeyStore
from microace.state import State

_MS, _SALT = b'\\x11' * 16, b'\\x22' * 8

def _rb_rs(path, gen=0):
    r = rs_mod.ResourceServer(SoftwareKeyStore(), {'audience': 'rs1'}, State(path), True, gen)
    r.resource('/temp')(lambda request: Message(0x45, b'21.5'))
    return r

def _rb_request(cli, echo=None):
    # A client's OSCORE GET /temp (RFC 8613 §8.1) -> (outer message, its Partial IV).
    piv = oscore.piv_bytes(cli.next_ssn())
    options = [(11, b'temp')] + ([(252, echo)] if echo else [])
    pt = oscore.encode_plaintext(1, options, b'')
    ct = aes_ccm.encrypt(cli.sender_key, oscore._nonce(cli._sender_iv, piv),
                         bytes(oscore._aad(cli.sender_id, piv)), pt, 8)
    return Message(2, ct, [(9, bytes((len(piv) | 8,)) + piv + cli.sender_id)]), piv

def _rb_answer(cli, out, req_piv):
    # The client's reading of the response -> (inner code, Echo or None, own PIV or None).
    opt = out.opt(9)
    if opt is None:
        return out.code, None, None
    own = opt[1:1 + (opt[0] & 7)] if opt else None
    nonce = oscore._nonce(cli._recipient_iv, own) if own else oscore._nonce(cli._sender_iv,
                                                                            req_piv)
    pt = aes_ccm.decrypt(cli.recipient_key, nonce, bytes(oscore._aad(cli.sender_id, req_piv)),
                         out.payload, 8)
    code, options, _ = oscore._decode_plaintext(pt)
    echo = [v for n, v in options if n == 252]
    return code, bytes(echo[0]) if echo else None, own

def _rb_get(r, cli, echo=None):
    msg, piv = _rb_request(cli, echo)
    return _rb_answer(cli, r.handle(msg, None), piv), msg
"""


@pytest.fixture
def rb(mp, tmp_path):
    with skip_if_out_of_memory("compiling rs.py and every layer under it from source needs "
                               "more heap (the RS itself runs from .mpy: tests/e2e)"):
        mp.exec(SETUP)
    mp.exec("_rb_path = %r\n_rb = _rb_rs(_rb_path)\n"
            "_rb_cli = oscore.Context(_MS, _SALT, b'\\x01', b'\\x21')\n"
            "_rb_srv = oscore.Context(_MS, _SALT, b'\\x21', b'\\x01')\n"
            "_rb.tokens.add(b'token', ('as', b'\\x07'), None, None, [('/temp', 1)], _rb_srv)"
            % str(tmp_path / "state.bin"))
    return mp


def test_served_requests_write_nothing(rb):
    assert rb.eval("_rb.state.writes") == 1  # the token, when it was accepted
    assert rb.eval("_rb_get(_rb, _rb_cli)[0][0]") == 0x45
    assert rb.eval("_rb.state.writes") == 2  # its first use (it may supersede another)
    rb.exec("_rb_codes = set(_rb_get(_rb, _rb_cli)[0][0] for _ in range(1000))")
    assert rb.eval("(_rb_codes, _rb.state.writes)") == ({0x45}, 2)
    print("\nwrites per 1000 served requests: %d" % (rb.eval("_rb.state.writes") - 2))


def test_restart_restores_the_context_behind_an_echo_round_trip(rb):
    rb.exec("_rb_get(_rb, _rb_cli)\n_rb_old = [_rb_request(_rb_cli) for _ in range(3)]\n"
            "_rb_codes = [_rb.handle(m, None).code for m, _ in _rb_old]\n"
            "_rb = _rb_rs(_rb_path)")  # the restart: a new RS over the same file
    assert rb.eval("_rb_codes") == [0x44] * 3  # served (2.04 is OSCORE's outer code)
    assert rb.eval("len(_rb.tokens.entries)") == 1
    # the first request gets a protected 4.01 with an 8-byte Echo, under its own Partial IV
    code, echo, own = rb.eval("_rb_get(_rb, _rb_cli)[0]")
    assert code == 0x81 and len(echo) == 8 and own is not None
    # requests without the Echo, or with a wrong one, keep getting it; replays too
    assert rb.eval("_rb_get(_rb, _rb_cli, b'12345678')[0][:2]") == (0x81, echo)
    assert rb.eval("_rb_answer(_rb_cli, _rb.handle(*_rb_old[0]), _rb_old[0][1])[:2]") == (
        0x81, echo)
    assert rb.eval("_rb_get(_rb, _rb_cli, %r)[0][0]" % echo) == 0x45
    assert rb.eval("_rb_get(_rb, _rb_cli)[0][0]") == 0x45  # normal service now
    # the window restarted at the Echo request: older requests are replays (unprotected 4.01)
    for i in range(3):
        assert rb.eval("_rb.handle(_rb_old[%d][0], None).code" % i) == 0x81
        assert rb.eval("_rb.handle(_rb_old[%d][0], None).opt(9)" % i) is None


def test_sender_sequence_numbers_never_repeat_across_restarts(rb):
    """Echo challenges use the RS's own Partial IVs: 1000 of them per run, three runs."""
    rb.exec("_rb_seen = []")
    for run in range(3):
        rb.exec("_rb = _rb_rs(_rb_path)\n_rb_w = _rb.state.writes\n"
                "for _ in range(1000):\n"
                "    _rb_seen.append(int.from_bytes(_rb_get(_rb, _rb_cli)[0][2], 'big'))")
        writes = rb.eval("_rb.state.writes - _rb_w")
        assert writes == 1000 // 32 + 1  # one per chunk of 32 numbers reserved ahead
        if run == 0:
            print("\nwrites per 1000 Echo challenges (own Partial IVs): %d" % writes)
    assert rb.eval("(len(_rb_seen), len(set(_rb_seen)), _rb_seen == sorted(_rb_seen))") == (
        3000, 3000, True)


def test_damaged_state_starts_empty(rb, tmp_path):
    (tmp_path / "state.bin").write_bytes(b"MAST\x01garbage")
    out = rb.exec("_rb = _rb_rs(_rb_path)")
    assert "state.bin corrupt, discarded" in out
    assert rb.eval("len(_rb.tokens.entries)") == 0
    assert rb.eval("_rb_get(_rb, _rb_cli)[0]") == (0x81, None, None)  # unknown context


def test_tokens_are_bound_to_the_key_store_generation(rb):
    """A re-provisioned board (new keys, audience or scopes: a new generation) restores none."""
    rb.exec("_rb_get(_rb, _rb_cli)\n_rb = _rb_rs(_rb_path, 1)")
    assert rb.eval("len(_rb.tokens.entries)") == 0
    assert rb.eval("_rb_get(_rb, _rb_cli)[0]") == (0x81, None, None)


def test_unreadable_tokens_are_discarded_with_one_line(rb):
    rb.exec("State(_rb_path).put('tokens', [0, [[1, 2]]])")
    out = rb.exec("_rb = _rb_rs(_rb_path)")
    assert out.strip() == "microace: saved tokens unusable, discarded"
    assert rb.eval("len(_rb.tokens.entries)") == 0
