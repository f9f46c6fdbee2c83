"""Trusted time for the RS (docs/SECURITY.md "Time"); only time: the exi/cti marks and
cnonces are admission.py's. Three sources:

- the wall clock (time.time(): NTP, the host on the unix port), trusted once past BUILD_FLOOR.
  A board starts at MicroPython's epoch (2000-01-01), which is never taken as real time;
- ticks_ms, always running, accumulated into `uptime()` seconds on every call, so its wrap is
  harmless while calls come within half a period (app.py polls hourly; ESP32: ~6 days);
- a floor: the highest `iat` of a verified token, persisted (State "clock"). The time is at
  least floor + seconds since it was learned. It never makes a trusted now by itself.

now() never goes back: it is at least the floor and every value it returned before, plus the
seconds since, so a wall clock set backwards cannot bring an expired token back.
"""

import time

from micropython import const

BUILD_FLOOR = const(1767225600)  # 2026-01-01: a wall clock before this was never set
_UNIX_2000 = const(946684800)  # 1970-01-01 to 2000-01-01, when the board counts from 2000
_SAVE_STEP = const(3600)  # persist the floor when it moved an hour: <= 24 writes a day
SKEW = const(300)  # default: how far an iat may be ahead of what the board trusts (s)


class Clock:
    def __init__(self, state=None, ticks=time.ticks_ms, wall=time.time, skew=SKEW):
        self._state = state
        self._skew = skew  # board.json limits "clock_skew"
        self._clamped = False  # the clamp of a far-future iat was logged
        self._ticks = ticks
        self._time = wall
        self._offset = _UNIX_2000 if time.gmtime(0)[0] == 2000 else 0
        self._period = time.ticks_add(0, -1) + 1
        self._t = ticks()
        self._ms = 0
        self._up = 0  # seconds since start on the monotonic clock
        saved = state.get("clock") if state else None
        self._saved = saved if type(saved) is int else 0
        self._floor = self._saved  # the time was at least _floor at uptime _floor_at
        self._floor_at = 0
        self._high = 0  # the last trusted now(), at uptime _high_at
        self._high_at = 0

    def uptime(self):
        """Whole seconds since start; monotonic, never wraps."""
        t = self._ticks()
        d = time.ticks_diff(t, self._t)
        if d < 0:  # more than half a period unseen: at least d + period went by
            d += self._period
        self._t = t
        ms = self._ms + d
        self._up += ms // 1000
        self._ms = ms % 1000
        return self._up

    def lower(self):
        """A lower bound of Unix time (floor and earlier trusted times, plus the seconds since),
        or None when there is none."""
        up = self.uptime()
        low = max(self._floor + up - self._floor_at if self._floor else 0,
                  self._high + up - self._high_at if self._high else 0)
        return low or None

    def now(self):
        """Trusted Unix time, or None without a set wall clock (then exp fails closed)."""
        wall = int(self._time()) + self._offset
        if wall < BUILD_FLOOR:
            return None
        now = max(wall, self.lower() or 0)
        self._high, self._high_at = now, self._up
        return now

    def source(self):
        """"wall", "floor" or "none": what the board's time rests on (doctor, logs)."""
        return "wall" if self.now() else "floor" if self._floor else "none"

    def learn(self, iat):
        """Raise the floor to a verified token's iat (the AS's clock said so), at most `skew`
        seconds beyond what the board trusts already: a set wall clock, else the floor, else
        the build floor (so without a wall clock it climbs at most `skew` per token). An AS
        whose clock is far ahead (or an iat far in the future) would
        otherwise expire every exp token until state.bin is wiped; the clamp is logged once."""
        if iat is None:
            return
        iat = int(iat)
        cap = int(self._time()) + self._offset
        if cap < BUILD_FLOOR:  # no wall clock
            cap = self.lower() or BUILD_FLOOR
        cap += self._skew
        if iat > cap:
            if not self._clamped:
                print("microace: iat ahead of trusted time: clamped")
                self._clamped = True
            iat = cap
        if iat > (self.lower() or 0):
            self._floor, self._floor_at = iat, self._up
        self.poll()

    def poll(self):
        """Keep ticks from wrapping unseen and persist the floor when it moved an hour."""
        up = self.uptime()
        floor = self._floor + up - self._floor_at if self._floor else 0
        if self._state and floor >= self._saved + _SAVE_STEP:
            try:
                self._state.put("clock", floor)
                self._saved = floor
            except (OSError, MemoryError):  # a lost floor only rejects fewer expired tokens
                pass
