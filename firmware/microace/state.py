"""Small persisted RS state: named values in one file, written atomically.

The file is a storage.py record with its own magic (version, length, CRC32, CBOR map of
name -> value), written through storage.File (temp file + rename). Names in use:
"clock" (clock.py), "cti" (admission.py), "tokens" (token_store.py). Each writer decides when
to write: never once per request. A missing file starts empty; a damaged one starts empty
with one log line, so a power cut mid-write can never stop the board from booting.

Values are held CBOR-encoded: one compact bytes object per name instead of a tree of small
objects spread over the heap. A large value whose owner holds it anyway (the tokens) is not
copied at all: bind() lets the owner supply it at each write, so a write leaves nothing
behind on the heap but garbage.
"""

from micropython import const

from microace import cbor, storage
from microace.errors import MicroaceError, StorageError

MAGIC = b"MAST"
_MAX_ITEMS = const(4096)


class State:
    """`path` None keeps the values in memory only (tests, boards without a filesystem)."""

    def __init__(self, path=None):
        self.writes = 0  # files written since start: the flash-wear figure in BENCHMARKS.md
        self._values = {}  # name -> CBOR bytes
        self._bound = {}  # name -> function giving its value now
        self._medium = None
        if path is None:
            return
        folder, _, name = path.rpartition("/")
        self._medium = storage.File(folder or ".", name)
        try:
            blob = self._medium.read()
            if blob is not None:
                values = storage.load(blob, MAGIC, "state")
                if type(values) is not dict or not all(type(k) is str for k in values):
                    raise StorageError("not a map of names")
                self._values = {k: cbor.encode(v) for k, v in values.items()}
        except (MicroaceError, OSError, MemoryError) as e:
            print("microace: %s corrupt, discarded (%s)" % (name, e))

    def get(self, name, default=None):
        """A fresh copy of the value of `name`."""
        raw = self._values.get(name)
        return default if raw is None else cbor.decode(raw, 16, _MAX_ITEMS)

    def bind(self, name, current):
        """From now on current() gives the value of `name` at each write (the owner writes
        with write(), not put); -> the value the file held, or None."""
        value = self.get(name)
        self._values.pop(name, None)
        self._bound[name] = current
        return value

    def put(self, name, value):
        """Set `name` to `value` (CBOR-encodable) and write the file now; OSError if it cannot
        be written, so a caller that must not run ahead of its record (SSN) stops."""
        values = dict(self._values)
        values[name] = cbor.encode(value)
        self._write(values)
        self._values = values

    def write(self):
        """Write the file now, with the bound values as they are."""
        self._write(self._values)

    def _write(self, values):
        if self._medium is not None:
            # A deterministic map (RFC 8949 §4.2.1): keys sorted by their encoding; the few
            # names fit the map head's one byte.
            pairs = [(cbor.encode(k), v) for k, v in values.items()]
            pairs += [(cbor.encode(k), cbor.encode(f())) for k, f in self._bound.items()]
            pairs.sort()
            body = [bytes((0xA0 + len(pairs),))]
            for k, v in pairs:
                body.append(k)
                body.append(v)
            self._medium.write(storage.frame(body, MAGIC))
        self.writes += 1
