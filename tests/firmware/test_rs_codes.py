"""rs.CODES: the one mapping of the exception tree to CoAP response codes (DESIGN.md)."""

import pytest

from tests.support.mp_harness import skip_if_out_of_memory

EXPECTED = {
    "MicroaceError": "5.00", "DecodeError": "4.00", "VerifyError": "4.01",
    "ClaimError": "4.01", "AudienceError": "4.03", "ScopeError": "4.00",
    "KeyStoreError": "5.00", "StorageError": "5.00", "NotInScopeError": "4.03",
    "MethodNotInScopeError": "4.05",
    "BadOptionError": "4.02", "UnknownContextError": "4.01", "ReplayError": "4.01",
    "DecryptError": "4.00", "ContextExhaustedError": "5.03", "TooLargeError": "4.13",
    "StoreFullError": "5.03", "PreconditionFailedError": "4.12", "NotAcceptableError": "4.06",
    "EdhocError": "4.00",
}


@pytest.fixture
def rs_loaded(mp):
    with skip_if_out_of_memory("compiling rs.py and every layer under it from source needs "
                               "more heap (the RS itself runs from .mpy: tests/e2e)"):
        mp.exec("from microace import errors, rs")
    return mp


def test_every_error_class_has_its_code(rs_loaded):
    mp = rs_loaded
    mp.exec("def _rs_code(c):\n"
            "    code = rs.code_of(c('x'))\n"
            "    return '%d.%02d' % (code >> 5, code & 31)")
    got = mp.eval("[(n, _rs_code(getattr(errors, n))) for n in dir(errors)"
                  " if isinstance(getattr(errors, n), type)"
                  " and issubclass(getattr(errors, n), errors.MicroaceError)]")
    assert dict(got) == EXPECTED


def test_each_class_has_one_row_and_subclasses_come_first(rs_loaded):
    mp = rs_loaded
    rows = mp.eval("[c.__name__ for c, _ in rs.CODES]")
    assert sorted(rows) == sorted(EXPECTED)  # one row per class of errors.py
    shadowed = mp.eval("[(a.__name__, b.__name__) for i, (a, _) in enumerate(rs.CODES)"
                       " for b, _ in rs.CODES[i + 1:] if issubclass(b, a)]")
    assert shadowed == []
