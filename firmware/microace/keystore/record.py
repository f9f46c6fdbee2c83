"""The key store record: the state of the store in one storage.py record (magic b"MACE"),
which a medium writes atomically.

The body is the state as deterministic CBOR (a map with text keys: gen, sealed, owner, keys,
config, own: the board's EDHOC key when it has one, and mac: a secure element's MAC over the
rest, when the board has one). A damaged record is "store corrupt" here (KeyStoreError), so a
medium can tell a good slot from a bad one and the store fails closed instead of trusting half
a write.
"""

from microace import cbor, storage
from microace.errors import DecodeError, KeyStoreError, StorageError

MAGIC = b"MACE"
_WHAT = "key store"


def pack(state):
    """The record of `state` (a dict that cbor.encode takes)."""
    return storage.frame([cbor.encode(state)], MAGIC)


def _corrupt(why):
    return KeyStoreError("store corrupt: %s" % why)


def gen(blob):
    """The generation of a record, reading only its head: for a medium choosing between slots.

    Deterministic CBOR sorts map keys by their encoding (RFC 8949 §4.2.1), so "gen", the
    shortest key, always comes first.
    """
    try:
        storage.check(blob, MAGIC, _WHAT)
    except StorageError as e:
        raise _corrupt(e)
    head = bytes(blob[storage.HEAD : storage.HEAD + 16])
    try:
        if head[0] & 0xE0 != 0xA0:
            raise DecodeError("not a map")
        key, at = cbor.decode_prefix(head, 1)
        value, _ = cbor.decode_prefix(head, at)
    except (DecodeError, IndexError):
        raise _corrupt("body does not start with gen")
    if key != "gen" or type(value) is not int:
        raise _corrupt("body does not start with gen")
    return value


def _is(value, kind, size=None):
    return type(value) is kind and (size is None or len(value) == size)


def _check_state(s):
    """The shape a store state must have; the medium may hold anything."""
    # "own": the board's EDHOC key, checked in full by keystore/edhoc_record.py where it is used;
    # "mac": the record MAC of a secure element (persistent.py), when the board has one.
    if not (isinstance(s, dict) and len(s) == 5 + ("own" in s) + ("mac" in s)
            and _is(s.get("own", {}), dict) and _is(s.get("gen"), int) and s["gen"] >= 0
            and _is(s.get("sealed"), bool) and _is(s.get("keys"), list)
            and _is(s.get("owner"), bytes, 32) and _is(s.get("config"), dict)):
        return "state map has the wrong shape"
    for e in s["keys"]:
        if not (isinstance(e, dict) and len(e) == 3 and _is(e.get("key"), bytes)
                and (e.get("iss") is None or _is(e["iss"], str))
                and (e.get("table") is None or _is(e["table"], bytes))):
            return "key entry has the wrong shape"
    return None


def unpack(blob):
    """The key store state a record holds; KeyStoreError("store corrupt: ...") otherwise."""
    try:
        state = storage.load(blob, MAGIC, _WHAT)
    except StorageError as e:
        raise _corrupt(e)
    why = _check_state(state)
    if why:
        raise _corrupt(why)
    return state
