"""CoAP messages (RFC 7252 §3): a strict decoder for untrusted datagrams and an encoder, and
their option codec (decode_options, encode_options), which OSCORE's plaintext uses too.

decode() raises DecodeError with one reason per message format error:
  "truncated header"  fewer than the 4 fixed bytes
  "version"           version is not 1 (§3: such messages are silently ignored)
  "token length"      TKL 9-15 (reserved)
  "truncated token"   the datagram ends inside the token
  "reserved delta"    option delta nibble 15 without length nibble 15 (§3.1)
  "reserved length"   option length nibble 15 without delta nibble 15
  "option past end"   an extended delta/length byte or an option value runs past the end
  "option number"     the option number climbs above 65535
  "empty payload"     a payload marker followed by nothing (§3)
  "non-empty empty"   code 0.00 with a token, options or payload (§4.1)
Option values and the payload come back as bytes; options stay in message order.
"""

from micropython import const

from microace.coap.options import URI_PATH, URI_QUERY
from microace.errors import DecodeError

# Message types (RFC 7252 §3)
CON = const(0)
NON = const(1)
ACK = const(2)
RST = const(3)

_MARKER = const(0xFF)


class Message:
    """One CoAP message; options is a list of (number, value bytes), in message order.

    type, mid, token and payload are class attributes until set otherwise: an instance's
    attribute table grows with each one it holds, and most messages leave some of them at
    their defaults (every request makes several messages)."""

    type = CON
    mid = 0
    token = b""
    payload = b""

    def __init__(self, code=0, payload=b"", options=None, token=b"", type=CON, mid=0):
        self.code = code
        self.options = [] if options is None else options
        if type != CON:
            self.type = type
        if mid:
            self.mid = mid
        if token:
            self.token = token
        if payload:
            self.payload = payload

    def opt(self, number, default=None):
        """The first value of option `number`, else default."""
        for n, value in self.options:
            if n == number:
                return value
        return default

    def opts(self, number):
        """All values of a repeatable option (Uri-Path, ETag…), in order."""
        return [value for n, value in self.options if n == number]

    def uint(self, number, default=None):
        """A uint option (Content-Format, Max-Age, Size1, Block…) as an int, else default.

        Every uint option in the registry is at most 4 bytes; a longer value is treated as
        absent, as RFC 7252 §5.4.3 says for values of the wrong length.
        """
        value = self.opt(number)
        if value is None or len(value) > 4:
            return default
        return uint_decode(value)

    def add(self, number, value):
        """Append an option: bytes, str (UTF-8) or int (uint). Returns self, for chaining."""
        if isinstance(value, int):
            value = uint_encode(value)
        elif isinstance(value, str):
            value = value.encode()
        self.options.append((number, value))
        return self

    def path(self):
        """The Uri-Path as '/a/b' ('/' when there is none), the key to look resources up.

        Segments are UTF-8 (else DecodeError); a '/' or '%' inside a segment is
        percent-encoded (RFC 7252 §6.5 step 8), so one segment "a/b" cannot pose as two.
        """
        path = None  # built as it goes: no list or generator (every request asks)
        for n, value in self.options:
            if n == URI_PATH:
                segment = _escape(_text(value))
                path = "/" + segment if path is None else path + "/" + segment
        return "/" if path is None else path

    def query(self):
        """The Uri-Query options as a list of str (UTF-8, else DecodeError)."""
        return [_text(v) for v in self.opts(URI_QUERY)]


def _text(value):
    try:
        text = value.decode()
    except UnicodeError:
        raise DecodeError("invalid utf-8")
    # Same length means ASCII; else the full RFC 3629 check (MicroPython's decode is lax),
    # imported here so that ASCII-only servers need not load the CBOR module.
    if len(text) != len(value):
        from microace.cbor import utf8_valid

        if not utf8_valid(value, 0, len(value)):
            raise DecodeError("invalid utf-8")
    return text


def _escape(segment):
    if "%" in segment or "/" in segment:
        segment = segment.replace("%", "%25").replace("/", "%2F")
    return segment


def uint_encode(number):
    """Shortest big-endian bytes for a uint option; 0 is empty (RFC 7252 §3.2)."""
    if number < 0 or number > 0xFFFFFFFF:
        raise ValueError("uint option out of range")
    size = 0
    while number >> (8 * size):
        size += 1
    return number.to_bytes(size, "big") if size else b""  # 0 (text/plain): no new object


def uint_decode(value):
    """A uint option value (leading zero bytes allowed) as an int."""
    return int.from_bytes(value, "big")


def decode(buf):
    """Datagram -> Message; DecodeError(reason) for every format error (see module doc)."""
    end = len(buf)
    if end < 4:
        raise DecodeError("truncated header")
    first = buf[0]
    if first >> 6 != 1:
        raise DecodeError("version")
    pos = 4 + (first & 0x0F)
    if pos > 12:
        raise DecodeError("token length")
    if pos > end:
        raise DecodeError("truncated token")
    code = buf[1]
    if code == 0 and end > 4:
        raise DecodeError("non-empty empty")
    msg = Message(code, b"", [], bytes(buf[4:pos]), (first >> 4) & 3, buf[2] << 8 | buf[3])
    pos = decode_options(buf, pos, msg.options)
    if pos < end:
        msg.payload = bytes(buf[pos:])
    return msg


def decode_options(buf, pos, options):
    """The options of buf from offset pos on (RFC 7252 §3.1), appended to `options` as
    (number, bytes) in message order -> the offset of the payload (len(buf): none).
    DecodeError(reason) as the module doc says, from "reserved delta" to "empty payload".
    The one option decoder: of datagrams (decode) and of OSCORE plaintexts (RFC 8613 §5.3)."""
    end = len(buf)
    number = 0
    while pos < end:
        byte = buf[pos]
        pos += 1
        if byte == _MARKER:
            if pos == end:
                raise DecodeError("empty payload")
            return pos
        delta = byte >> 4
        length = byte & 0x0F
        if delta >= 13:
            if delta == 15:
                raise DecodeError("reserved delta")
            pos, delta = _extended(buf, pos, end, delta)
        if length >= 13:
            if length == 15:
                raise DecodeError("reserved length")
            pos, length = _extended(buf, pos, end, length)
        number += delta
        if number > 0xFFFF:
            raise DecodeError("option number")
        if length > end - pos:
            raise DecodeError("option past end")
        options.append((number, bytes(buf[pos : pos + length])))
        pos += length
    return end


def _extended(buf, pos, end, nibble):
    """Read an extended option delta or length (nibble 13: +1 byte, 14: +2 bytes)."""
    if nibble == 13:
        if pos >= end:
            raise DecodeError("option past end")
        return pos + 1, buf[pos] + 13
    if pos + 2 > end:
        raise DecodeError("option past end")
    return pos + 2, (buf[pos] << 8 | buf[pos + 1]) + 269


def in_order(options):
    """The options sorted by number, repeats in their own order (RFC 7252 §3.1); the same
    list, not a copy, when it is in order already (the usual case: nothing allocated)."""
    for i in range(1, len(options)):
        if options[i][0] < options[i - 1][0]:
            return _sorted(options)
    return options


def _sorted(options):
    """in_order's sort, a function of its own: the lambda's closure cell for `options` would
    otherwise be made on every call of in_order, sorted or not (32 bytes a message)."""
    # MicroPython's sort is not stable: keep repeats in order by their index.
    order = sorted(range(len(options)), key=lambda k: (options[k][0], k))
    return [options[k] for k in order]


def encode(msg, token=None, kind=None, mid=None):
    """Message -> datagram bytes. Options go out sorted by number (stable for repeats).
    token, kind (the type) and mid, when given, stand in for the message's own: the server
    answers with the request's token and its own type and MID without copying the response.
    The datagram is sized first and written into one buffer: two allocations per message."""
    token = msg.token if token is None else token
    if len(token) > 8:
        raise ValueError("token longer than 8 bytes")
    mid = msg.mid if mid is None else mid
    at = 4 + len(token)
    out = encode_options(in_order(msg.options), msg.payload, at)
    out[0] = 0x40 | ((msg.type if kind is None else kind) & 3) << 4 | len(token)
    out[1] = msg.code
    out[2] = mid >> 8
    out[3] = mid & 0xFF
    out[4:at] = token
    return bytes(out)


def encode_options(options, payload, head):
    """A bytearray of `head` zero bytes (the caller's header goes there), then `options`
    [(number, bytes)] in ascending order (ValueError otherwise), encoded as RFC 7252 §3.1
    says, then 0xFF and the payload when there is one. Sized first: one allocation. The one
    option encoder: of datagrams (encode) and of OSCORE plaintexts (RFC 8613 §5.3)."""
    size = head + (1 + len(payload) if payload else 0)
    number = 0
    for n, value in options:
        if n < number:
            raise ValueError("options not in ascending order")
        size += 1 + _ext_size(n - number) + _ext_size(len(value)) + len(value)
        number = n
    out = bytearray(size)
    at = head
    number = 0
    for n, value in options:
        start = at
        at = _put_ext(out, _put_ext(out, at + 1, n - number), len(value))
        out[start] = _nibble(n - number) << 4 | _nibble(len(value))
        out[at:at + len(value)] = value
        at += len(value)
        number = n
    if payload:
        out[at] = _MARKER
        out[at + 1:] = payload
    return out


def _nibble(n):
    return n if n < 13 else (13 if n < 269 else 14)


def _ext_size(n):
    """Bytes of the extended option delta or length for n (RFC 7252 §3.1)."""
    if n > 0xFFFF + 269:
        raise ValueError("option number or length too large")
    return 0 if n < 13 else (1 if n < 269 else 2)


def _put_ext(out, at, n):
    """Write the extended delta or length bytes of n at `at` -> the offset after them."""
    if n >= 269:
        out[at] = (n - 269) >> 8
        out[at + 1] = (n - 269) & 0xFF
        return at + 2
    if n >= 13:
        out[at] = n - 13
        return at + 1
    return at
