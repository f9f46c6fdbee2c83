"""Strict, bounded CBOR (RFC 8949) decoder and deterministic encoder.

The decoder takes untrusted input (tokens, authz-info payloads) and accepts only the subset
COSE, CWT and ACE use. The work any input can cause is bounded: at most max_items data items
and max_depth open containers, and every declared length or count is checked against the
remaining input before anything is allocated. It is iterative, so hostile nesting cannot
exhaust the C stack. Byte strings come back as the exact bytes received, so signatures and
MACs are checked over what was sent, never over a re-encoding.

Rejected (DecodeError): truncated input, trailing bytes, indefinite lengths and breaks,
reserved additional information 28-30, simple values other than false/true/null (also
undefined, 23), map keys that are not int, text or bytes, duplicate map keys, invalid UTF-8.
Accepted: non-preferred (longer than needed) heads, which RFC 8949 §4.1 lets decoders accept,
and half/single/double floats. Tags are wrapped in Tag, their content is not checked here.
"""

import struct

from micropython import const

from microace.errors import DecodeError

# RFC 8949 §3.1 major types
_UINT = const(0)
_NINT = const(1)
_BYTES = const(2)
_TEXT = const(3)
_ARRAY = const(4)
_MAP = const(5)
_TAG = const(6)

# What the decoder is filling in: the slot of an open container.
_TOP = const(0)
_IN_ARRAY = const(1)
_IN_MAP_KEY = const(2)
_IN_MAP_VALUE = const(3)
_IN_TAG = const(4)


class Tag:
    """A tagged data item (RFC 8949 §3.4): tag number and uninterpreted content."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and self.tag == other.tag and self.value == other.value

    def __repr__(self):
        return "Tag(%d, %r)" % (self.tag, self.value)


def utf8_valid(buf, i, end):
    """Well-formed UTF-8 per RFC 3629 §4: no overlongs, surrogates or code points > U+10FFFF."""
    while i < end:
        c = buf[i]
        i += 1
        if c < 0x80:
            continue
        lo = 0x80
        hi = 0xBF
        if c < 0xC2:  # continuation byte, or overlong 2-byte lead
            return False
        if c < 0xE0:
            more = 1
        elif c < 0xF0:
            more = 2
            if c == 0xE0:
                lo = 0xA0  # overlong
            elif c == 0xED:
                hi = 0x9F  # UTF-16 surrogates
        elif c < 0xF5:
            more = 3
            if c == 0xF0:
                lo = 0x90  # overlong
            elif c == 0xF4:
                hi = 0x8F  # above U+10FFFF
        else:
            return False
        if i + more > end:
            return False
        c = buf[i]
        if c < lo or c > hi:
            return False
        for j in range(i + 1, i + more):
            if buf[j] & 0xC0 != 0x80:
                return False
        i += more
    return True


def _half(h):
    """IEEE 754 binary16 to float (RFC 8949 Appendix D)."""
    exp = (h >> 10) & 0x1F
    mant = h & 0x3FF
    if exp == 0:
        val = mant / 16777216.0  # mant * 2**-24
    elif exp != 31:
        val = (mant + 1024) * 2.0 ** (exp - 25)
    elif mant == 0:
        val = float("inf")
    else:
        val = float("nan")
    return -val if h & 0x8000 else val


def decode_prefix(buf, start=0, max_depth=16, max_items=512):
    """Decode the one data item at buf[start:]; return (value, offset just after it)."""
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    pos = start
    # Items are counted when a container declares them (the root is one), so the limit holds
    # before anything is allocated and leaves cost nothing.
    items = max_items - 1
    stack = []  # (container, slot, count left, pending map key) of the enclosing levels
    depth = 0
    cont = None
    slot = _TOP
    left = 0
    key = None
    try:  # reading past the end of buf raises IndexError: that is truncated input
        while True:
            # One head (RFC 8949 §3): initial byte and argument.
            ib = buf[pos]
            pos += 1
            major = ib >> 5
            arg = ib & 0x1F
            if arg >= 24:
                if arg == 24:
                    arg = buf[pos]
                    pos += 1
                elif arg == 25:
                    arg = buf[pos] << 8 | buf[pos + 1]
                    pos += 2
                elif arg == 26:
                    arg = buf[pos] << 24 | buf[pos + 1] << 16 | buf[pos + 2] << 8 | buf[pos + 3]
                    pos += 4
                elif arg == 27:
                    if pos + 8 > n:
                        raise DecodeError("truncated")
                    arg = struct.unpack_from(">Q", buf, pos)[0]
                    pos += 8
                elif arg == 31:
                    raise DecodeError("indefinite length or break")
                else:
                    raise DecodeError("reserved additional info")

            if major == _UINT:
                value = arg
            elif major == _NINT:
                value = -1 - arg
            elif major == _BYTES:
                if arg > n - pos:
                    raise DecodeError("truncated")
                value = buf[pos : pos + arg]
                pos += arg
            elif major == _TEXT:
                if arg > n - pos:
                    raise DecodeError("truncated")
                try:
                    value = buf[pos : pos + arg].decode()
                except UnicodeError:
                    raise DecodeError("invalid utf-8")
                # Equal lengths mean pure ASCII; anything else gets the full RFC 3629 check.
                if len(value) != arg and not utf8_valid(buf, pos, pos + arg):
                    raise DecodeError("invalid utf-8")
                pos += arg
            elif slot == _IN_MAP_KEY:
                raise DecodeError("map key type")  # only int, bytes and text keys
            elif major <= _TAG:  # a container: array, map or tag
                if depth >= max_depth:
                    raise DecodeError("too deep")
                if major == _TAG:
                    items -= 1
                    if items < 0:
                        raise DecodeError("too many items")
                    depth += 1
                    stack.append((cont, slot, left, key))
                    cont = arg
                    slot = _IN_TAG
                    continue
                need = arg if major == _ARRAY else 2 * arg
                if need > n - pos:  # every item takes at least one byte
                    raise DecodeError("count exceeds input")
                items -= need
                if items < 0:
                    raise DecodeError("too many items")
                if arg:
                    depth += 1
                    stack.append((cont, slot, left, key))
                    left = arg
                    if major == _ARRAY:
                        cont = [None] * arg  # filled from the front: cont[-left]
                        slot = _IN_ARRAY
                    else:
                        cont = {}
                        slot = _IN_MAP_KEY
                    continue
                value = [] if major == _ARRAY else {}
            elif ib == 0xF4:  # major type 7 (RFC 8949 §3.3)
                value = False
            elif ib == 0xF5:
                value = True
            elif ib == 0xF6:
                value = None
            elif ib == 0xF9:
                value = _half(arg)
            elif ib == 0xFA:
                value = struct.unpack_from(">f", buf, pos - 4)[0]
            elif ib == 0xFB:
                value = struct.unpack_from(">d", buf, pos - 8)[0]
            else:
                raise DecodeError("unsupported simple value")

            # Hand the value to its container; close the containers it completes.
            while True:
                if slot == _IN_MAP_KEY:
                    if value in cont:
                        raise DecodeError("duplicate map key")
                    key = value
                    slot = _IN_MAP_VALUE
                    break
                if slot == _IN_MAP_VALUE:
                    cont[key] = value
                    left -= 1
                    if left:
                        slot = _IN_MAP_KEY
                        break
                elif slot == _IN_ARRAY:
                    cont[-left] = value
                    left -= 1
                    if left:
                        break
                elif slot == _IN_TAG:
                    cont = Tag(cont, value)
                else:
                    return value, pos
                value = cont
                cont, slot, left, key = stack.pop()
                depth -= 1
    except IndexError:
        raise DecodeError("truncated")


def decode(buf, max_depth=16, max_items=512):
    """Decode exactly one data item that fills buf; raise DecodeError for anything else."""
    value, end = decode_prefix(buf, 0, max_depth, max_items)
    if end != len(buf):
        raise DecodeError("trailing bytes")
    return value


def _head(out, major, n):
    """Append the shortest head for major type and argument n (RFC 8949 §4.2.1)."""
    major <<= 5
    if n < 24:
        out.append(major | n)
    elif n < 0x100:
        out.append(major | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(major | 25)
        out.extend(n.to_bytes(2, "big"))
    elif n < 0x100000000:
        out.append(major | 26)
        out.extend(n.to_bytes(4, "big"))
    elif n < 0x10000000000000000:
        out.append(major | 27)
        out.extend(n.to_bytes(8, "big"))
    else:
        raise ValueError("int out of range")


def _encode_into(out, obj):
    t = type(obj)
    if t is int:
        if obj >= 0:
            _head(out, _UINT, obj)
        else:
            _head(out, _NINT, -1 - obj)
    elif t is bytes or t is bytearray or t is memoryview:
        _head(out, _BYTES, len(obj))
        out.extend(obj)
    elif t is str:
        raw = obj.encode()
        _head(out, _TEXT, len(raw))
        out.extend(raw)
    elif t is list or t is tuple:
        _head(out, _ARRAY, len(obj))
        for item in obj:
            _encode_into(out, item)
    elif t is dict:
        # §4.2.1: keys sorted by the bytewise lexicographic order of their encodings.
        pairs = sorted((encode(k), v) for k, v in obj.items())
        _head(out, _MAP, len(pairs))
        for k, v in pairs:
            out.extend(k)
            _encode_into(out, v)
    elif obj is False:
        out.append(0xF4)
    elif obj is True:
        out.append(0xF5)
    elif obj is None:
        out.append(0xF6)
    elif t is Tag:
        _head(out, _TAG, obj.tag)
        _encode_into(out, obj.value)
    else:
        raise TypeError("cannot encode %s" % t.__name__)


def encode(obj):
    """Deterministically encoded CBOR (RFC 8949 §4.2.1) of obj, as bytes."""
    out = bytearray()
    _encode_into(out, obj)
    return bytes(out)
