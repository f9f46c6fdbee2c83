"""The RS across restarts, in one MicroPython process (rs.ResourceServer over a state.State
file): tokens and contexts come back, contexts ask for Echo first (RFC 8613 App. B.1.2), the
sender sequence number never goes back (App. B.1.1), and flash writes per 1000 requests.

The writes figures here are the ones docs/BENCHMARKS.md reports:
    .venv/bin/pytest -q -p no:cacheprovider tests/firmware/test_reboot_state.py -s
"""

import pytest

import rs_inprocess


@pytest.fixture
def rb(mp, tmp_path):
    return rs_inprocess.start(mp, tmp_path)


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


FULL_HEAP = """
def _rb_full(blob):  # a write that finds no heap left (the flood at a small heap did this)
    raise MemoryError('memory allocation failed, allocating 1055 bytes')
_rb.state._medium.write = _rb_full
"""


def test_sequence_number_bound_not_raised_when_the_write_fails_for_memory(rb):
    """App. B.1.1: a bound raised in RAM but not on flash would let a reboot reuse the numbers
    sent meanwhile (AES-CCM nonces). A write that fails for lack of heap is refused like one
    that fails on flash: 5.03, no number spent, the bound unchanged."""
    rb.exec("_rb_get(_rb, _rb_cli)\n_rb = _rb_rs(_rb_path)\n_rb_e = _rb.tokens.entries[0]")
    before = rb.eval("(_rb_e.ssn_bound, _rb_e.context.ssn)")
    assert before[0] == before[1]  # restored: the next number to send needs a write first
    rb.exec(FULL_HEAP)
    assert rb.eval("_rb.handle(_rb_request(_rb_cli)[0], None).code") == 0xA3  # 5.03
    assert rb.eval("(_rb_e.ssn_bound, _rb_e.context.ssn)") == before
    rb.exec("del _rb.state._medium.write")  # the heap has room again
    code, _, own = rb.eval("_rb_get(_rb, _rb_cli)[0]")
    assert code == 0x81 and int.from_bytes(own, "big") == before[1]  # the Echo, no gap
    rb.exec("_rb = _rb_rs(_rb_path)")  # the bound that went out is on flash
    assert rb.eval("_rb.tokens.entries[0].ssn_bound") > before[1]


def test_token_not_taken_when_its_write_fails(rb):
    """A token whose record cannot be written is not kept: the client got no ids for it."""
    rb.exec(FULL_HEAP)
    out = rb.exec("try:\n    _rb.tokens.add(b'token2', ('as', b'\\x08'), None, None, [], "
                  "oscore.Context(_MS, _SALT, b'\\x02', b'\\x22'))\n"
                  "except MemoryError:\n    print('refused')")
    assert out.strip() == "refused"
    assert rb.eval("[e.digest for e in _rb.tokens.entries] == [_rb.tokens.held(b'token').digest]")


def test_nothing_served_while_the_file_lags_behind_a_supersede(rb):
    """The first use of a newer token retires the older one; if that cannot be written, no
    request is served until it is: else a reboot would bring the retired token back after
    the client was served without it."""
    rb.exec("_rb_get(_rb, _rb_cli)\n"  # the first token, used
            "_rb_cli2 = oscore.Context(_MS, _SALT, b'\\x02', b'\\x22')\n"
            "_rb.tokens.add(b'token2', ('as', b'\\x07'), None, None, [('/temp', 1)], "
            "oscore.Context(_MS, _SALT, b'\\x22', b'\\x02'))\n"
            "def _rb_try(cli):\n"
            "    try:\n"
            "        return _rb_get(_rb, cli)[0][0]\n"
            "    except MemoryError:\n"
            "        return 'refused'\n")
    rb.exec(FULL_HEAP)
    assert rb.eval("_rb_try(_rb_cli2)") == "refused"  # its first use: the write failed
    assert rb.eval("len(_rb.tokens.entries)") == 1  # in RAM the old token is gone ...
    assert rb.eval("_rb_try(_rb_cli2)") == "refused"  # ... but not on flash: nothing served
    rb.exec("del _rb.state._medium.write")
    assert rb.eval("_rb_try(_rb_cli2)") == 0x45
    rb.exec("_rb = _rb_rs(_rb_path)")  # a reboot: only the newer token, used
    assert rb.eval("[(e.pop, e.used) for e in _rb.tokens.entries]") == [(("as", b"\x07"), True)]
