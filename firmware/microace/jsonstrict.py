"""A strict, bounded JSON reader (RFC 8259) for JWT headers and claims sets.

MicroPython's json.loads keeps the last of duplicate member names, turns 1e400 into inf and
has no depth limit; a JWT needs all three refused (RFC 7515 §5.2 step 4, RFC 7519 §4), so the
board reads JSON itself: UTF-8 checked first, objects with unique names, finite numbers only,
depth and item counts bounded, no trailing text.
"""

from micropython import const

from microace.cbor import utf8_valid
from microace.errors import DecodeError

_MAX_DEPTH = const(8)
_MAX_ITEMS = const(256)
_QUOTE = const(0x22)
_BACKSLASH = const(0x5C)
_ESCAPES = {0x22: b'"', 0x5C: b"\\", 0x2F: b"/", 0x62: b"\b", 0x66: b"\f", 0x6E: b"\n",
            0x72: b"\r", 0x74: b"\t"}
_WS = b" \t\n\r"
_DIGITS = b"0123456789"
_LITERALS = ((b"true", True), (b"false", False), (b"null", None))


class _Reader:
    def __init__(self, buf):
        self.buf = buf
        self.i = 0
        self.items = 0

    def ws(self):
        buf, i, n = self.buf, self.i, len(self.buf)
        while i < n and buf[i] in _WS:
            i += 1
        self.i = i
        return buf[i] if i < n else -1

    def expect(self, c):
        if self.ws() != c:
            raise DecodeError("JSON: expected %r at %d" % (chr(c), self.i))
        self.i += 1

    def value(self, depth):
        self.items += 1
        if self.items > _MAX_ITEMS:
            raise DecodeError("JSON: too many items")
        c = self.ws()
        if c == 0x7B:  # {
            return self.obj(depth + 1)
        if c == 0x5B:  # [
            return self.array(depth + 1)
        if c == _QUOTE:
            return self.string()
        if c == 0x2D or c in _DIGITS:
            return self.number()
        for text, v in _LITERALS:
            if self.buf[self.i:self.i + len(text)] == text:
                self.i += len(text)
                return v
        raise DecodeError("JSON: unexpected character at %d" % self.i)

    def obj(self, depth):
        if depth > _MAX_DEPTH:
            raise DecodeError("JSON nested too deeply")
        self.i += 1
        out = {}
        if self.ws() == 0x7D:
            self.i += 1
            return out
        while True:
            if self.ws() != _QUOTE:
                raise DecodeError("JSON: member name must be a string")
            name = self.string()
            if name in out:  # RFC 7515 §5.2, RFC 7519 §4: reject duplicate names
                raise DecodeError("JSON: duplicate member %r" % name)
            self.expect(0x3A)  # :
            out[name] = self.value(depth)
            c = self.ws()
            self.i += 1
            if c == 0x7D:
                return out
            if c != 0x2C:
                raise DecodeError("JSON: expected , or } in an object")

    def array(self, depth):
        if depth > _MAX_DEPTH:
            raise DecodeError("JSON nested too deeply")
        self.i += 1
        out = []
        if self.ws() == 0x5D:
            self.i += 1
            return out
        while True:
            out.append(self.value(depth))
            c = self.ws()
            self.i += 1
            if c == 0x5D:
                return out
            if c != 0x2C:
                raise DecodeError("JSON: expected , or ] in an array")

    def string(self):
        buf, n = self.buf, len(self.buf)
        i = self.i + 1
        parts = []
        start = i
        while True:
            if i >= n:
                raise DecodeError("JSON: unterminated string")
            c = buf[i]
            if c == _QUOTE:
                parts.append(buf[start:i])
                self.i = i + 1
                return b"".join(parts).decode()
            if c < 0x20:
                raise DecodeError("JSON: control character in a string")
            if c != _BACKSLASH:
                i += 1
                continue
            parts.append(buf[start:i])
            e = buf[i + 1] if i + 1 < n else -1
            if e == 0x75:  # \uXXXX, a UTF-16 surrogate pair for astral code points
                cp = self.hex4(i + 2)
                i += 6
                if 0xDC00 <= cp <= 0xDFFF:
                    raise DecodeError("JSON: lone low surrogate")
                if 0xD800 <= cp <= 0xDBFF:
                    lo = self.hex4(i + 2) if buf[i:i + 2] == b"\\u" else -1
                    if not 0xDC00 <= lo <= 0xDFFF:
                        raise DecodeError("JSON: lone high surrogate")
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                parts.append(chr(cp).encode())
            else:
                out = _ESCAPES.get(e)
                if out is None:
                    raise DecodeError("JSON: invalid escape")
                parts.append(out)
                i += 2
            start = i

    def hex4(self, i):
        h = self.buf[i:i + 4]
        if len(h) != 4 or not all(c in b"0123456789abcdefABCDEF" for c in h):
            raise DecodeError("JSON: invalid \\u escape")
        return int(h.decode(), 16)

    def number(self):
        """RFC 8259 §6: -?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?; finite only."""
        buf, n, start = self.buf, len(self.buf), self.i
        i = start + 1 if buf[start] == 0x2D else start
        if i < n and buf[i] == 0x30:
            i += 1
        else:
            i = self._digits(i)
        real = False
        if i < n and buf[i] == 0x2E:
            i = self._digits(i + 1)
            real = True
        if i < n and buf[i] in b"eE":
            i += 1
            if i < n and buf[i] in b"+-":
                i += 1
            i = self._digits(i)
            real = True
        self.i = i
        text = buf[start:i].decode()
        if not real:
            return int(text)
        v = float(text)
        if v in (float("inf"), float("-inf")) or v != v:
            raise DecodeError("JSON: number out of range")  # 1e400 is not a NumericDate
        return v

    def _digits(self, i):
        j = i
        buf, n = self.buf, len(self.buf)
        while j < n and buf[j] in _DIGITS:
            j += 1
        if j == i:
            raise DecodeError("JSON: malformed number")
        return j


def loads_object(buf) -> dict:
    """UTF-8 JSON text (bytes) holding one object -> dict; DecodeError on anything else."""
    if not utf8_valid(buf, 0, len(buf)):
        raise DecodeError("JSON is not valid UTF-8")  # RFC 8259 §8.1
    r = _Reader(buf)
    if r.ws() != 0x7B:
        raise DecodeError("JSON text must be an object")
    r.items = 1  # what value(0) would count and check for the object seen above
    out = r.obj(1)
    if r.ws() != -1:
        raise DecodeError("JSON: trailing text")
    return out
