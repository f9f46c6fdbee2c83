"""The key store record: one self-checking blob that a medium writes atomically.

    b"MACE" | version (1 byte) | body length (4 bytes BE) | CRC32 of body (4 bytes BE) | body

The body is the state as deterministic CBOR (a map with text keys: gen, sealed, owner, keys,
config, own: the board's EDHOC key when it has one, and mac: a secure element's MAC over the
rest, when the board has one). A torn, truncated or bit-flipped record is caught here, so a
medium can tell a good slot from a bad one and the store fails closed instead of trusting half
a write.
"""

import struct
from binascii import crc32

from micropython import const

from microace import cbor
from microace.errors import DecodeError, KeyStoreError

MAGIC = b"MACE"
VERSION = const(1)
_HEAD = const(13)  # magic, version, length, CRC
_MAX_ITEMS = const(4096)  # the state is ours, but a scope map can hold many entries


def pack(state):
    """The record of `state` (a dict that cbor.encode takes)."""
    return frame([cbor.encode(state)])


def frame(body, magic=MAGIC):
    """The record around a CBOR body given as a list of byte strings (state.py: its own
    magic, and a body in pieces that it need not join first)."""
    size = crc = 0
    for part in body:
        size += len(part)
        crc = crc32(part, crc)
    return b"".join([magic, struct.pack(">BII", VERSION, size, crc)] + body)


def _corrupt(why):
    return KeyStoreError("store corrupt: " + why)


def _check(blob, magic=MAGIC):
    """Raise unless blob is a whole record of this version with an intact body."""
    if len(blob) < _HEAD or bytes(blob[:4]) != magic:
        raise _corrupt("not a microace key store record")
    version, length, crc = struct.unpack_from(">BII", blob, 4)
    if version != VERSION:
        raise _corrupt("record version %d, this firmware reads %d" % (version, VERSION))
    if length != len(blob) - _HEAD:
        raise _corrupt("length %d, %d bytes present (truncated or torn write)"
                       % (length, len(blob) - _HEAD))
    if crc32(memoryview(blob)[_HEAD:]) != crc:
        raise _corrupt("CRC mismatch")


def gen(blob):
    """The generation of a record, reading only its head: for a medium choosing between slots.

    Deterministic CBOR sorts map keys by their encoding (RFC 8949 §4.2.1), so "gen", the
    shortest key, always comes first.
    """
    _check(blob)
    head = bytes(blob[_HEAD : _HEAD + 16])
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
    # "own": the board's EDHOC key, checked in full by keystore/own.py where it is used;
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


def load(blob, magic=MAGIC):
    """The CBOR body of an intact record; KeyStoreError("store corrupt: ...") for anything else."""
    _check(blob, magic)
    if type(blob) is not bytes:
        blob = bytes(blob)  # decode_prefix would copy it anyway
    try:
        body, end = cbor.decode_prefix(blob, _HEAD, 16, _MAX_ITEMS)
    except DecodeError as e:
        raise _corrupt("body is not CBOR (%s)" % e)
    if end != len(blob):
        raise _corrupt("trailing bytes")
    return body


def unpack(blob):
    """The key store state a record holds; KeyStoreError("store corrupt: ...") otherwise."""
    state = load(blob)
    why = _check_state(state)
    if why:
        raise _corrupt(why)
    return state
