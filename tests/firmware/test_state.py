"""The persisted RS state (state.py): round trip over restarts, atomic replacement, and a
damaged file discarded with one log line instead of raising or being used."""

import os
import struct
import zlib

import cbor2
import pytest


@pytest.fixture
def st(mp):
    mp.exec("from microace.state import State, MAGIC\nfrom microace import storage\n"
            "from microace.errors import KeyStoreError\n"
            "def _st_error(blob):\n"
            "    try:\n        storage.load(blob, MAGIC, 'state')\n"
            "    except Exception as e:\n        return e")
    return mp


def _open(st, path):
    """(printed output, values) of a State opened on `path` in MicroPython."""
    out = st.exec("_st = State(%r)" % str(path))
    return out, st.eval("{k: _st.get(k) for k in _st._values}")


def _record(body, raw=None):
    """A state record built here, independently of the firmware: magic, version, length, CRC."""
    raw = cbor2.dumps(body, canonical=True) if raw is None else raw
    return b"MAST" + struct.pack(">BII", 1, len(raw), zlib.crc32(raw)) + raw


def test_in_memory_state_writes_nothing(st, tmp_path):
    st.exec("_st = State()\n_st.put('boot', 1)\n_st.put('boot', 2)")
    assert st.eval("(_st.get('boot'), _st.get('nope', 7), _st.writes)") == (2, 7, 2)
    assert os.listdir(tmp_path) == []


def test_round_trip_across_restarts(st, tmp_path):
    path = tmp_path / "d" / "state.bin"  # the folder does not exist yet
    out, values = _open(st, path)
    assert (out, values) == ("", {})
    st.exec("_st.put('boot', 3)\n_st.put('cti', {'': 9, 'as.example': 2**40})\n"
            "_st.put('tokens', [[b'\\x01\\x02', -5, None, True]])")
    assert st.eval("_st.writes") == 3
    assert sorted(os.listdir(path.parent)) == ["state.bin"]  # temp file renamed away
    # the file is the record an independent encoder makes of the same map
    expect = {"boot": 3, "cti": {"": 9, "as.example": 2**40},
              "tokens": [[b"\x01\x02", -5, None, True]]}
    assert path.read_bytes() == _record(expect)
    out, values = _open(st, path)
    assert out == "" and values == expect


def test_failed_write_keeps_old_file_and_values(st, tmp_path):
    path = tmp_path / "state.bin"
    _open(st, path)
    st.exec("_st.put('boot', 1)")
    (tmp_path / "state.bin.tmp").mkdir()  # the temp file cannot be opened
    out = st.exec("try:\n    _st.put('boot', 2)\nexcept OSError:\n    print('refused')")
    assert out.strip() == "refused"
    assert st.eval("(_st.get('boot'), _st.writes)") == (1, 1)
    assert path.read_bytes() == _record({"boot": 1})


def test_leftover_tmp_is_ignored(st, tmp_path):
    path = tmp_path / "state.bin"
    path.write_bytes(_record({"boot": 4}))
    (tmp_path / "state.bin.tmp").write_bytes(b"half a record")
    assert _open(st, path) == ("", {"boot": 4})


def _damaged(good):
    yield "empty", b""
    for n in (1, 4, 12, 13, len(good) // 2, len(good) - 1):
        yield "truncated to %d" % n, good[:n]
    yield "trailing byte", good + b"\x00"
    yield "keystore magic", b"MACE" + good[4:]
    yield "version 2", good[:4] + b"\x02" + good[5:]
    for bit in range(0, len(good) * 8, 5):
        flipped = bytearray(good)
        flipped[bit // 8] ^= 1 << (bit % 8)
        yield "bit %d flipped" % bit, bytes(flipped)
    yield "body not a map", _record([1, 2])
    yield "body not CBOR", _record(None, b"\xa1\x61a\xff")


def test_damaged_file_is_discarded_with_one_line(st, tmp_path):
    path = tmp_path / "state.bin"
    good = _record({"boot": 5, "clock": 1790000000, "cti": {"": 3}})
    for what, blob in _damaged(good):
        path.write_bytes(blob)
        out, values = _open(st, path)
        assert values == {}, what
        lines = out.splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "microace: state.bin corrupt, discarded"), (what, out)
        # the next write replaces the damaged file with a good one
        st.exec("_st.put('boot', 1)")
        assert path.read_bytes() == _record({"boot": 1}), what


def test_unreadable_file_is_discarded(st, tmp_path):
    (tmp_path / "state.bin").mkdir()  # a directory where the file should be
    out, values = _open(st, tmp_path / "state.bin")
    assert values == {} and out.startswith("microace: state.bin corrupt, discarded"), out


def test_damage_is_a_storage_error_not_a_key_store_error(st, tmp_path):
    """state.bin shares the record frame with the key store (storage.py), not its errors: a
    damaged file is a StorageError that names the state, never "store corrupt"."""
    path = tmp_path / "state.bin"
    good = _record({"boot": 5})
    for blob, why in ((b"MACE" + good[4:], "not a microace state record"),
                      (good[:-1], "length %d, %d bytes present (truncated or torn write)"
                       % (len(good) - 13, len(good) - 14))):
        path.write_bytes(blob)
        out, _ = _open(st, path)
        assert out.strip() == "microace: state.bin corrupt, discarded (%s)" % why
        st.send("_st_blob", blob)
        assert st.eval("(lambda e: (type(e).__name__, isinstance(e, KeyStoreError)))"
                       "(_st_error(_st_blob))") == ("StorageError", False)


def test_bound_value_is_supplied_at_each_write(st, tmp_path):
    path = tmp_path / "state.bin"
    path.write_bytes(_record({"boot": 1, "tokens": [1, 2]}))
    _open(st, path)
    st.exec("_st_t = [7]\n_st_old = _st.bind('tokens', lambda: _st_t)")
    assert st.eval("(_st_old, _st.get('tokens'), _st.writes)") == ([1, 2], None, 0)
    st.exec("_st_t.append(8)\n_st.write()")
    assert path.read_bytes() == _record({"boot": 1, "tokens": [7, 8]})
    st.exec("_st_t.append(9)\n_st.put('boot', 2)")  # any write takes the bound value as it is
    assert path.read_bytes() == _record({"boot": 2, "tokens": [7, 8, 9]})
    assert st.eval("_st.writes") == 2
