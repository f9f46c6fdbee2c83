"""Differential fuzzing of microace.cbor (in MicroPython) against cbor2 (on the host).

Each hypothesis example is a batch of 100-200 inputs sent to MicroPython in a few exec calls,
so a few dozen examples cover thousands of inputs. The verdict rule for any input:
- MicroPython decodes it  -> cbor2 decodes it too, to the same value;
- MicroPython rejects it  -> with DecodeError, and if cbor2 accepts it, for one of the reasons
  our subset is stricter than cbor2 (indefinite lengths, duplicate or non-int/text/bytes map
  keys, simple values, the depth and item limits);
- anything else (another exception, a crashed process) fails.
The reference is cbor2's pure-Python decoder with its tag interpretations switched off, so every
tag comes back as a plain CBORTag like ours.
"""

import io
import struct
from unittest import mock

import cbor2
import cbor2._decoder
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from test_cbor import (CHUNK_CHARS, TAG_TYPES, chunks, decode_all, run_lines, setup_helpers,
                       wire)

STRICTER = {"indefinite length or break", "duplicate map key", "map key type",
            "unsupported simple value", "too deep", "too many items"}

# No shrinking: a failure names the exact input already, and shrinking a batch takes minutes.
FUZZ = settings(max_examples=25, derandomize=True, database=None, deadline=None,
                phases=(Phase.explicit, Phase.generate),
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def plain_tags():
    """cbor2 with no tag given a meaning (no bignums, dates, shared references...)."""
    with mock.patch.dict(cbor2._decoder.semantic_decoders, clear=True):
        yield


def cbor2_verdict(data):
    fp = io.BytesIO(data)
    try:
        value = cbor2._decoder.CBORDecoder(fp).decode()
    except Exception:  # cbor2 reports malformed input with several exception types
        return ("err", None)
    if fp.tell() != len(data):
        return ("err", None)  # trailing bytes: cbor2 stops after one item
    return ("ok", wire(value))


def check_verdicts(mp, inputs):
    """Apply the verdict rule above to every input; return our verdicts."""
    ours = decode_all(mp, inputs)
    for data, mine in zip(inputs, ours):
        theirs = cbor2_verdict(data)
        assert mine[0] in ("ok", "err"), (data.hex(), mine)
        if mine[0] == "ok":
            assert theirs == mine, (data.hex(), mine, theirs)
        elif theirs[0] == "ok":
            assert mine[1] in STRICTER, (data.hex(), mine, theirs)
    return ours


def head(major, arg, extra):
    """A head that spends `extra` more argument sizes than needed (RFC 8949 §4.1 allows it)."""
    sizes = (0, 1, 2, 4, 8)
    need = 0 if arg < 24 else next(i for i in range(1, 5) if arg < 256 ** sizes[i])
    i = min(need + extra, 4)
    if i == 0:
        return bytes([major << 5 | arg])
    return bytes([major << 5 | (23 + i)]) + arg.to_bytes(sizes[i], "big")


# --- (a) valid values, encoded by cbor2 -------------------------------------------------------

INTS = st.integers(-2**64, 2**64 - 1) | st.sampled_from(
    [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1, -1, -24, -25, -256, -257,
     -65536, -65537, -2**32, -2**32 - 1, -2**64])
TAG_NUMBERS = st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 2, 16, 17, 18, 24, 61, 96, 98,
                                                           258, 55799])
KEYS = INTS | st.text(max_size=8) | st.binary(max_size=8)
HALF_FLOATS = st.integers(0, 0xFFFF).map(
    lambda bits: struct.unpack(">e", struct.pack(">H", bits))[0])
FLOATS = HALF_FLOATS | st.floats(width=32) | st.floats()  # canonical cbor2 uses the shortest
LEAVES = (st.none() | st.booleans() | INTS | st.binary(max_size=24) | st.text(max_size=12)
          | FLOATS)


@st.composite
def values(draw, leaves, level=0):
    """Nested values, at most 5 containers deep (a plain composite: st.recursive is slow here)."""
    kind = draw(st.sampled_from("lllalmt" if level < 5 else "l"))
    if kind == "l":
        return draw(leaves)
    n = draw(st.integers(0, 4))
    if kind == "a":
        return [draw(values(leaves, level + 1)) for _ in range(n)]
    if kind == "m":
        return {draw(KEYS): draw(values(leaves, level + 1)) for _ in range(n)}
    return cbor2.CBORTag(draw(TAG_NUMBERS), draw(values(leaves, level + 1)))


@FUZZ
@given(st.lists(st.tuples(values(LEAVES), st.booleans()), min_size=100, max_size=200))
def test_valid_values_decode_like_cbor2(mp, batch):
    inputs = [cbor2.dumps(v, canonical=canonical) for v, canonical in batch]
    assert check_verdicts(mp, inputs) == [("ok", wire(v)) for v, _ in batch]


# --- (b) arbitrary and mutated bytes ----------------------------------------------------------

SPECIAL_BYTES = st.sampled_from(
    [m << 5 | ai for m in range(8) for ai in (0, 23, 24, 25, 26, 27, 28, 29, 30, 31)]
    + [0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xFF, 0x80, 0xBF, 0xC0, 0xED, 0xF0, 0xF4])


@st.composite
def mutated(draw):
    v = draw(values(LEAVES))
    data = bytearray(cbor2.dumps(v, canonical=draw(st.booleans())))
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(SPECIAL_BYTES | st.integers(0, 255))
        elif op == "insert":
            data.insert(i, draw(SPECIAL_BYTES | st.integers(0, 255)))
        elif op == "delete":
            del data[i]
        else:
            del data[i:]
    return bytes(data)


RAW = st.binary(max_size=40) | st.lists(SPECIAL_BYTES | st.integers(0, 255), max_size=24).map(bytes)


def byte_in(lo, hi):
    return st.integers(lo, hi).map(lambda b: bytes([b]))


def joined(*parts):
    return st.tuples(*parts).map(b"".join)


# Text strings made of pieces at the edges of UTF-8 (RFC 3629 §4): valid sequences, overlongs,
# surrogates, code points around U+10FFFF, bytes that never start a sequence, cut sequences.
# CPython's strict codec, behind cbor2, is the judge.
CONT = byte_in(0x80, 0xBF)
VALID_CHAR = st.characters(min_codepoint=0x80).map(lambda c: c.encode())
UTF8_PIECES = st.one_of(
    st.just(b"a"), VALID_CHAR, VALID_CHAR.map(lambda raw: raw[:-1]), CONT,
    joined(byte_in(0xC0, 0xC2), CONT),
    joined(st.just(b"\xe0"), byte_in(0x80, 0xA0), CONT),
    joined(st.just(b"\xed"), byte_in(0x9F, 0xA0), CONT),
    joined(st.just(b"\xf0"), byte_in(0x80, 0x90), CONT, CONT),
    joined(st.just(b"\xf4"), byte_in(0x8F, 0x90), CONT, CONT),
    joined(byte_in(0xF5, 0xFF), CONT, CONT, CONT))
TEXTS = st.lists(UTF8_PIECES, max_size=4).map(b"".join).map(
    lambda raw: head(3, len(raw), 0) + raw)


@FUZZ
@given(st.lists(mutated() | RAW | TEXTS, min_size=100, max_size=200))
def test_mutated_and_random_bytes_agree_or_reject(mp, inputs):
    check_verdicts(mp, inputs)


# --- (c) well-formed items with longer-than-needed heads -------------------------------------

@st.composite
def loose_item(draw, level=0):
    kind = draw(st.integers(0, 7 if level < 5 else 3))
    extra = draw(st.sampled_from([0, 0, 1, 2, 4]))
    count = st.integers(0, 4)
    if kind in (0, 1):
        return head(kind, draw(st.integers(0, 2**64 - 1)), extra)
    if kind in (2, 3):
        raw = draw(st.binary(max_size=12)) if kind == 2 else draw(st.text(max_size=8)).encode()
        return head(kind, len(raw), extra) + raw
    if kind == 4:
        items = [draw(loose_item(level + 1)) for _ in range(draw(count))]
        return head(4, len(items), extra) + b"".join(items)
    if kind == 5:  # keys may repeat: then we reject and cbor2 keeps the last
        n = draw(count)
        return head(5, n, extra) + b"".join(
            draw(loose_item(5)) + draw(loose_item(level + 1)) for _ in range(n))  # scalar keys
    if kind == 6:
        return head(6, draw(TAG_NUMBERS), extra) + draw(loose_item(level + 1))
    return draw(st.sampled_from([b"\xf4", b"\xf5", b"\xf6", b"\xf7", b"\xf9\x3c\x00",
                                 b"\xfa\x7f\xc0\x00\x00", b"\xfb" + struct.pack(">d", -0.1)]))


@settings(FUZZ, max_examples=30)
@given(st.lists(loose_item(), min_size=100, max_size=200))
def test_non_preferred_heads_decode_like_cbor2(mp, inputs):
    ours = check_verdicts(mp, inputs)
    assert all(v[0] == "ok" or v[1] in STRICTER for v in ours)  # they are all well-formed


# --- (d) deterministic encoding ---------------------------------------------------------------

def deterministic(v):
    """RFC 8949 §4.2.1 encoding put together from cbor2's.

    cbor2's canonical mode sorts map keys length-first (RFC 7049 §3.9); §4.2.1 sorts them by
    their encodings' bytes, so maps are assembled here from cbor2-encoded keys and values.
    """
    def container_head(major, n):
        raw = cbor2.dumps(n)
        return bytes([raw[0] | major << 5]) + raw[1:]
    if isinstance(v, dict):
        pairs = sorted((deterministic(k), deterministic(x)) for k, x in v.items())
        return container_head(5, len(pairs)) + b"".join(k + x for k, x in pairs)
    if isinstance(v, list):
        return container_head(4, len(v)) + b"".join(deterministic(x) for x in v)
    if isinstance(v, TAG_TYPES):
        return cbor2.dumps(cbor2.CBORTag(v.tag, None))[:-1] + deterministic(v.value)
    return cbor2.dumps(v, canonical=True)


def mp_source(v):
    """v as MicroPython source (ASCII only; tags as cbor.Tag)."""
    if isinstance(v, TAG_TYPES):
        return "cbor.Tag(%d, %s)" % (v.tag, mp_source(v.value))
    if isinstance(v, list):
        return "[%s]" % ", ".join(map(mp_source, v))
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%s: %s" % (mp_source(k), mp_source(x)) for k, x in v.items())
    return ascii(v)


ENCODABLE = values(st.none() | st.booleans() | INTS | st.binary(max_size=40)
                   | st.text(max_size=20))


@FUZZ
@given(st.lists(ENCODABLE, min_size=100, max_size=200))
def test_encode_is_rfc8949_deterministic(mp, batch):
    setup_helpers(mp)
    got = []
    # Literal containers compile to code, not constants: half-size chunks.
    for chunk in chunks(map(mp_source, batch), CHUNK_CHARS // 2):
        mp.exec("gc.collect()")
        got += run_lines(mp, "print([cbor.encode(x) for x in [%s]])" % ", ".join(chunk))
    assert len(got) == len(batch)
    for v, mine in zip(batch, got):
        assert mine == deterministic(v), (v, mine.hex())
        assert cbor2_verdict(mine) == ("ok", wire(v))
