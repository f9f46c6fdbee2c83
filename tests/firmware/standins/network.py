"""Stand-ins for MicroPython's `network` (the WLAN methods of ports/esp32/network_wlan.c) and
`ntptime` modules, run inside MicroPython by test_net.py (it execs this source and installs
_Net and _Ntp as the modules). `make typecheck` holds WLAN's methods to the esp32 stubs'
network.WLAN (the base class below, seen by the checker only) and checks that every public
name here exists in the stubs' network, network.WLAN and ntptime."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from network import WLAN as _WLAN
else:
    _WLAN = object


class _Net:
    STA_IF = 0
    joins = 0  # polls of isconnected() until the join succeeds (None: never)
    calls = []
    class WLAN(_WLAN):
        def __init__(self, interface):
            self._polls = 0
            self._up = False
        def active(self, *a):  # active() -> bool, active(on)
            if not a:
                return self._up
            _Net.calls.append(('active', a[0]))
        def isconnected(self):
            self._polls += 1
            return _Net.joins is not None and self._up and self._polls > _Net.joins
        def connect(self, ssid=None, key=None, *, bssid=None):
            _Net.calls.append(('connect', ssid, key))
            self._up = True
        def ifconfig(self, *a):  # ifconfig() -> 4 strings, ifconfig((ip, mask, gw, dns))
            if a:
                raise NotImplementedError('ifconfig(config): not modelled')
            return ('192.0.2.7', '255.255.255.0', '192.0.2.1', '192.0.2.1')
class _Ntp:
    host = None
    fail = False
    @staticmethod
    def settime():
        if _Ntp.fail:
            raise OSError(110)
        _Net.calls.append(('ntp', _Ntp.host))
