"""Key store medium: an esp32.NVS namespace, two slots so a write never touches the live one.

Slot "ks_a" / "ks_b" holds a record (blob), "ks_a_len" / "ks_b_len" its length (i32). A write
goes to the slot that does not hold the newest valid record and ends with commit(); reading
takes the valid slot with the highest gen. A torn or uncommitted write can only spoil the slot
being written, so the other one still holds the previous state. Once the new record is
committed the other slot is erased: at rest there is one record, so damage to it fails closed
instead of rolling the store back to an older state (say, from before it was sealed).
"""

from micropython import const

from microace.errors import KeyStoreError
from microace.keystore import record

_SLOTS = ("ks_a", "ks_b")
_MAX_BLOB = const(508000)  # the largest blob NVS stores (ESP-IDF NVS documentation)


class NvsMedium:
    name = "nvs"

    def __init__(self, namespace="microace", nvs_class=None):
        if nvs_class is None:
            from esp32 import NVS as nvs_class
        self.namespace = namespace
        self._nvs = nvs_class(namespace)
        self._newest = None  # the slot read() chose

    def describe(self):
        return ("not on the visible filesystem; encrypted at rest only when NVS encryption is "
                "enabled")

    def _slot(self, slot):
        """The slot's bytes; None when it has no length (never written, or its first write
        was cut short); b"" when it cannot be read back whole."""
        nvs = self._nvs
        try:  # esp32.NVS raises OSError for a missing key or a short buffer
            n = nvs.get_i32(slot + "_len")
        except OSError:
            return None
        if not 0 < n <= _MAX_BLOB:
            return b""
        buf = bytearray(n)
        try:
            return buf if nvs.get_blob(slot, buf) == n else b""
        except OSError:
            return b""

    def _choose(self):
        """Remember and return the slot with the newest valid record (None: no store yet);
        KeyStoreError when slots hold data but none is valid."""
        best = None
        best_gen = -1
        found = False
        for slot in _SLOTS:
            buf = self._slot(slot)
            if buf is None:
                continue
            found = True
            try:
                gen = record.gen(buf)
            except KeyStoreError:
                continue  # torn: the other slot has the state
            if gen > best_gen:
                best, best_gen = slot, gen
        self._newest = best
        if best is None and found:
            raise KeyStoreError("store corrupt: no valid record in NVS namespace %r"
                                % self.namespace)
        return best

    def read(self):
        """The newest valid record, or None when the namespace holds no store."""
        best = self._choose()  # one slot in RAM at a time: records carry 2 KB tables
        return None if best is None else bytes(self._slot(best))

    def write(self, blob):
        if self._newest is None:
            try:
                self._choose()
            except KeyStoreError:
                pass  # nothing valid to keep: either slot will do
        slot, other = _SLOTS if self._newest != _SLOTS[0] else (_SLOTS[1], _SLOTS[0])
        self._erase(slot)  # frees its flash first: NVS partitions are small
        nvs = self._nvs
        nvs.set_blob(slot, blob)
        nvs.set_i32(slot + "_len", len(blob))
        nvs.commit()
        self._newest = slot
        self._erase(other)
        nvs.commit()

    def _erase(self, slot):
        for key in (slot, slot + "_len"):
            try:
                self._nvs.erase_key(key)
            except OSError:
                pass  # not there
