"""A short seeded slice of the mutation fuzzer (fuzz.py; `make fuzz` runs 100 000 of each)
against a fresh RS at a fixed heap (fuzz.LOAD_HEAP): no crash, no 5.00, no Traceback (a
MemoryError prints one), no accepted forgery, the legitimate client served throughout."""

import os

import pytest

from tests.support.rs_peer import RS
from tests.hostile import fuzz

COUNT = int(os.environ.get("MICROACE_FUZZ_SLICE", "3000"))


@pytest.fixture
def fresh_rs(tmp_path):
    server = RS(tmp_path, {"max_tokens": 8, "max_token_bytes": 1024}, fuzz.LOAD_HEAP)
    console = fuzz.Console(server)
    yield server
    output = console.text(server)
    assert "Traceback" not in output, output[-4000:]


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_slice(fresh_rs, seed):
    fuzzer = fuzz.run(fresh_rs, COUNT, seed, log=lambda line: None)
    assert fuzzer.sent == 2 * COUNT
    assert set(fuzzer.codes) >= {"4.00", "4.01", "4.02"}  # the mutations reach the checks
