"""clock.py inside MicroPython, with an injected tick source and wall clock: no clock, a clock
set later, a clock jumping backwards, ticks wrapping, the floor learned from iat and kept
across restarts; and the freshness rules of admission.py beside it: the exi/cti high-water
mark, and the cnonce cache (cnonce.py)."""

import time

import pytest

NOW = int(time.time())
FLOOR = 1767225600  # clock.BUILD_FLOOR
HOUR = 3600
# The floor tests learn today's time on a board that trusts no time yet: a skew that lets
# an iat be that far ahead of the build floor (the default, 300 s, is tested on its own).
LEARN_SKEW = 2 * (NOW - FLOOR) + 10 * HOUR


@pytest.fixture
def ck(mp):
    """A Clock over the fake sources _T (ticks, ms) and _W (wall, s), with an in-memory State."""
    mp.exec("import time\n"
            "from microace.clock import Clock, BUILD_FLOOR\n"
            "from microace.cnonce import Cnonces\n"
            "from microace.state import State\n"
            "from microace.errors import ClaimError\n"
            "_T = [0]\n_W = [0]\n"
            "def _new(state=None, skew=%d):\n"
            "    return Clock(state, lambda: _T[0], lambda: _W[0], skew)\n"
            "def _adv(ms):\n"
            "    _T[0] = time.ticks_add(_T[0], ms)\n"
            "def _err(f, *a):\n"
            "    try:\n        return f(*a)\n"
            "    except ClaimError as e:\n        return 'ClaimError: ' + e.args[0]\n"
            "_st = State()\n_c = _new(_st)" % LEARN_SKEW)
    return mp


def test_build_floor_is_the_documented_date(ck):
    assert ck.eval("BUILD_FLOOR") == FLOOR
    assert time.gmtime(FLOOR)[:3] == (2026, 1, 1)


def test_no_clock_means_no_trusted_now(ck):
    # The board's epoch default (0 s, or 2000-01-01 seen as Unix time) and anything before
    # the build floor is never taken as real time.
    for wall in (0, 946684800, FLOOR - 1):
        ck.exec("_W[0] = %d" % wall)
        assert ck.eval("(_c.now(), _c.lower(), _c.source())") == (None, None, "none")


def test_clock_set_later(ck):
    assert ck.eval("_c.now()") is None
    ck.exec("_adv(5000)\n_W[0] = %d" % NOW)
    assert ck.eval("(_c.now(), _c.source())") == (NOW, "wall")


def test_clock_jumping_backwards_does_not_go_back(ck):
    ck.exec("_W[0] = %d" % NOW)
    assert ck.eval("_c.now()") == NOW
    ck.exec("_adv(10000)\n_W[0] = %d" % (NOW - 2 * HOUR))  # set back two hours, 10 s later
    assert ck.eval("_c.now()") == NOW + 10
    ck.exec("_adv(3000)")
    assert ck.eval("_c.now()") == NOW + 13
    ck.exec("_W[0] = %d" % (NOW + HOUR))  # forward: followed (it only expires tokens sooner)
    assert ck.eval("_c.now()") == NOW + HOUR


def test_uptime_counts_across_a_ticks_wrap(ck):
    # Start 1.5 s before ticks_ms wraps; count 100 steps of 700 ms through the wrap.
    ck.exec("_T[0] = time.ticks_add(0, -1500)\n_w = _new()")
    ups = ck.eval("[(_adv(700), _w.uptime())[1] for _ in range(100)]")
    assert ups[-1] == 70 and ups == sorted(ups)
    assert ck.eval("_T[0] < 1000000")  # it did wrap
    # Unseen for more than half a period: at least d + period went by, never less.
    ck.exec("_half = time.ticks_add(0, -1) // 2 + 1\n_adv(_half - 1)\n_adv(_half // 2)")
    assert ck.eval("_w.uptime() * 1000 - 70000 >= _half - 1 + _half // 2 - 1000")


def test_floor_from_iat_is_a_lower_bound_not_a_now(ck):
    ck.exec("_c.learn(%d)" % NOW)
    assert ck.eval("(_c.now(), _c.lower(), _c.source())") == (None, NOW, "floor")
    ck.exec("_adv(60000)")
    assert ck.eval("_c.lower()") == NOW + 60
    ck.exec("_c.learn(%d)" % (NOW - 100))  # older iat: no change
    assert ck.eval("_c.lower()") == NOW + 60
    # A wall clock behind the floor is overruled by it.
    ck.exec("_W[0] = %d" % (NOW - HOUR))
    assert ck.eval("_c.now()") == NOW + 60


def test_far_future_iat_is_clamped_and_no_longer_expires_every_exp_token(ck):
    """An iat far in the future (an AS clock gone wrong) raises the floor at most `skew` past
    the trusted now, else past the floor, else past the build floor; logged once."""
    ck.exec("_W[0] = %d\n_d = _new(State(), 300)" % NOW)
    out = ck.exec("_d.learn(%d)\n_d.learn(%d)" % (NOW + 50 * 365 * 86400, NOW + 10 ** 9))
    assert out.count("iat ahead of trusted time") == 1
    assert ck.eval("_d.lower()") <= NOW + 300
    ck.exec("from microace.token_store import TokenStore\n"
            "class _Ctx:\n    recipient_id = b'\\x01'\n"
            "_ts = TokenStore(clock=_d)\n"
            "_e = _ts.add(b'exp', ('as', b'1'), %d, None, [], _Ctx())" % (NOW + HOUR))
    assert ck.eval("_ts.expired(_e)") is False
    # Without a wall clock: at most the skew beyond the floor (or the build floor).
    ck.exec("_W[0] = 0\n_f = _new(State(), 300)\n_f.learn(%d)" % (NOW + 10 ** 9))
    assert ck.eval("_f.lower()") == FLOOR + 300
    ck.exec("_f.learn(%d)" % (NOW + 10 ** 9))
    assert ck.eval("_f.lower()") == FLOOR + 600
    ck.exec("_f.learn(%d)" % (FLOOR + 700))  # within the skew: taken as it is
    assert ck.eval("_f.lower()") == FLOOR + 700


def test_floor_is_persisted_in_hour_steps_and_survives_a_restart(ck):
    ck.exec("_c.learn(%d)" % NOW)
    assert ck.eval("(_st.get('clock'), _st.writes)") == (NOW, 1)
    ck.exec("_c.learn(%d)" % (NOW + 600))  # 10 minutes on: not worth a flash write
    ck.exec("_adv(1000)\n_c.poll()")
    assert ck.eval("(_st.get('clock'), _st.writes)") == (NOW, 1)
    ck.exec("_adv(%d)\n_c.poll()" % (HOUR * 1000))  # uptime moves the floor too
    assert ck.eval("(_st.get('clock'), _st.writes)") == (NOW + 600 + HOUR + 1, 2)
    ck.exec("_T[0] = 0\n_c2 = _new(_st)")  # a restart: ticks from zero, the floor kept
    assert ck.eval("(_c2.now(), _c2.lower(), _c2.source())") == (None, NOW + 600 + HOUR + 1,
                                                                  "floor")
    ck.exec("_c3 = _new(State())")
    assert ck.eval("_c3.lower()") is None


AUD = "coap://rs1.example"


def cti(seq, aud=AUD, n=8):
    return "%r + (%d).to_bytes(%d, 'big')" % (aud.encode(), seq, n)


def _admission(ck, name, state):
    ck.exec("from microace.admission import Admission\n"
            "%s = Admission(_c, None, %r, %s)" % (name, AUD, state))


def test_exi_cti_is_audience_plus_sequence_number(ck):
    _admission(ck, "_a", "_st")
    assert ck.eval("_a.exi_seq('as', %s)" % cti(7)) == 7
    assert ck.eval("_a.exi_seq('as', %s)" % cti(7, n=1)) == 7
    bad = ["b'\\x07'", cti(7, "coap://rs2.example"), cti(7, n=9), repr(AUD.encode())]
    for c in bad:
        assert ck.eval("_err(_a.exi_seq, 'as', %s)" % c) == \
            "ClaimError: exi token cti is not audience + sequence number", c


def test_cti_high_water_mark_per_issuer_and_persisted(ck):
    _admission(ck, "_a", "_st")
    ck.exec("_a.exi_seen('as', 10)")
    assert ck.eval("_st.get('cti')") == {"as": 10}
    for seq, want in ((9, False), (10, False), (11, True)):
        got = ck.eval("_err(_a.exi_seq, 'as', %s)" % cti(seq))
        assert (got == seq) is want, (seq, got)
    assert ck.eval("_a.exi_seq('other', %s)" % cti(3)) == 3  # per issuer
    assert ck.eval("_a.exi_seq(None, %s)" % cti(3)) == 3  # no iss: key ""
    _admission(ck, "_a2", "_st")  # after a restart
    assert ck.eval("_err(_a2.exi_seq, 'as', %s)" % cti(10)) == \
        "ClaimError: exi token cti at or below the high-water mark"


def test_cnonce_single_use_bounded_and_expiring(ck):
    ck.exec("_n = Cnonces(_c)\n_a = _n.fresh()\n_b = _n.fresh()")
    assert ck.eval("(len(_a), _a != _b)") == (8, True)
    assert ck.eval("_err(_n.take, None)") == "ClaimError: token has no cnonce"
    assert ck.eval("_n.take(_a)") is None
    used = "ClaimError: cnonce unknown, used or expired"
    assert ck.eval("_err(_n.take, _a)") == used  # single use
    assert ck.eval("_err(_n.take, b'12345678')") == used  # never handed out
    ck.exec("_adv(300000)")  # TTL: 300 s
    assert ck.eval("_err(_n.take, _b)") == used
    ck.exec("_old = _n.fresh()\n_new8 = [_n.fresh() for _ in range(8)]")
    assert ck.eval("len(_n._out)") == 8  # bounded: the oldest was forgotten
    assert ck.eval("_err(_n.take, _old)") == used
    assert ck.eval("[_n.take(x) for x in _new8]") == [None] * 8


def test_token_store_expiry_follows_the_clock(ck):
    """token_store.py takes its time from the clock: exp needs a trusted now, exi counts uptime,
    and a wall clock set back does not revive an expired token."""
    ck.exec("from microace.token_store import TokenStore\n"
            "class _Ctx:\n    recipient_id = b'\\x01'\n"
            "_W[0] = 0\n_ts = TokenStore(clock=_c)\n"
            "_exp = _ts.add(b'exp', ('as', b'1'), %d, None, [], _Ctx())\n"
            "_exi = _ts.add(b'exi', ('as', b'2'), None, 5, [], _Ctx())" % (NOW + 60))
    assert ck.eval("(_ts.expired(_exp), _ts.expired(_exi))") == (True, False)  # no wall clock
    ck.exec("_W[0] = %d" % NOW)
    assert ck.eval("(_ts.expired(_exp), _ts.expired(_exi))") == (False, False)
    ck.exec("_adv(4999)")
    assert ck.eval("_ts.expired(_exi)") is False
    ck.exec("_adv(1)")
    assert ck.eval("_ts.expired(_exi)") is True  # exi 5 s after receipt on the ticks
    ck.exec("_W[0] = %d" % (NOW + 61))
    assert ck.eval("_ts.expired(_exp)") is True
    ck.exec("_W[0] = %d" % (NOW - HOUR))  # set back an hour: still expired
    assert ck.eval("_ts.expired(_exp)") is True
