"""Stand-in for esp32.NVS (ports/esp32/esp32_nvs.c), run inside MicroPython by the NVS tests
(test_keystore_nvs.py execs this source). Methods take positional arguments only (*a: MicroPython
has no "/"), and refuse what the C functions refuse; `make typecheck` holds each method to the
esp32 stubs' NVS (the base class below, seen by the checker only) and checks that every public
method exists there. Power cuts: `_FakeNVS.cut = n` makes the n-th change (set_*, erase_key,
commit) stop the program (_PowerCut)."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from esp32 import NVS as _NVS
else:
    _NVS = object


class _PowerCut(Exception):
    pass
class _FakeNVS(_NVS):
    flash = {}  # namespace -> {key: (type, value)} that survives a reset
    cut = None  # changes left before the power cut (None: never)
    each = False  # True: every change is written at once; False: only commit() writes
    def __init__(self, *a):
        if len(a) != 1 or type(a[0]) is not str:
            raise TypeError('NVS(namespace)')
        self._ns = _FakeNVS.flash.setdefault(a[0], {})
        self._pending = []
    @staticmethod
    def _err(code, name):
        return OSError(-code, name)
    def _tick(self):
        if _FakeNVS.cut is not None:
            if _FakeNVS.cut == 0:
                raise _PowerCut()
            _FakeNVS.cut -= 1
    def _change(self, op):
        self._tick()
        if _FakeNVS.each:
            self._apply([op])
        else:
            self._pending.append(op)
    def _apply(self, ops):
        for key, value in ops:
            if value is None:
                self._ns.pop(key, None)
            else:
                self._ns[key] = value
    def _view(self, key):
        v = self._ns.get(key)
        for k, value in self._pending:
            if k == key:
                v = value
        return v
    def _key(self, a, n):
        if len(a) != n:
            raise TypeError('function takes %d positional arguments' % (n + 1))
        if type(a[0]) is not str:
            raise TypeError("can't convert to str implicitly")
        if len(a[0]) > 15:
            raise self._err(0x1109, 'ESP_ERR_NVS_KEY_TOO_LONG')
        return a[0]
    def set_i32(self, *a):
        key = self._key(a, 2)
        if type(a[1]) is not int:
            raise TypeError("can't convert to int")
        if not -2**31 <= a[1] < 2**31:
            raise OverflowError('overflow converting long int to machine word')
        self._change((key, ('i32', a[1])))
    def get_i32(self, *a):
        v = self._view(self._key(a, 1))
        if v is None or v[0] != 'i32':
            raise self._err(0x1102, 'ESP_ERR_NVS_NOT_FOUND')
        return v[1]
    def set_blob(self, *a):
        key = self._key(a, 2)
        self._change((key, ('blob', bytes(memoryview(a[1])))))  # any buffer
    def get_blob(self, *a):
        key = self._key(a, 2)
        if type(a[1]) is not bytearray:
            raise TypeError('object with buffer protocol required')  # needs a writable one
        v = self._view(key)
        if v is None or v[0] != 'blob':
            raise self._err(0x1102, 'ESP_ERR_NVS_NOT_FOUND')
        if len(a[1]) < len(v[1]):
            raise self._err(0x110c, 'ESP_ERR_NVS_INVALID_LENGTH')
        a[1][:len(v[1])] = v[1]
        return len(v[1])
    def erase_key(self, *a):
        key = self._key(a, 1)
        if self._view(key) is None:
            raise self._err(0x1102, 'ESP_ERR_NVS_NOT_FOUND')
        self._change((key, None))
    def commit(self, *a):
        if a:
            raise TypeError('function takes 1 positional arguments')
        self._tick()
        self._apply(self._pending)
        self._pending = []
