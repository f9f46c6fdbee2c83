"""The docs say what the code does: docs/ARCHITECTURE.md's error table lists every class of
firmware/microace/errors.py with the code rs.CODES gives it, in CODES's order; and the
repository's docs point to no file outside it but the sources CI reads (../shared's vectors
and MicroPython tarball)."""

import ast
import re

import pytest

from microace_host.firmware import FIRMWARE
from tests.support.vectors import ROOT

PACKAGE = FIRMWARE / "microace"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
OUTSIDE_ALLOWED = ("../shared/vectors", "../shared/micropython")


def error_classes(source):
    """{class name: its base's name} of errors.py."""
    return {node.name: node.bases[0].id for node in ast.parse(source).body
            if isinstance(node, ast.ClassDef)}


def code_names(source):
    """{name: "4.01"} of coap/codes.py (NAME = const(0x81))."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            value = node.value.args[0].value
            out[node.targets[0].id] = "%d.%02d" % (value >> 5, value & 31)
    return out


def code_table(source, codes):
    """rs.CODES as [(class name, "4.01")], in order."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "CODES":
            return [(cls.id, codes[code.attr]) for cls, code in (e.elts for e in node.value.elts)]
    raise AssertionError("rs.py has no CODES table")


def documented(text):
    """The rows of the "Errors and their codes" table: [(class, base, code)]."""
    section = text.split("### Errors and their codes", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `(\w+)` \| `(\w+)` \| (\d\.\d\d) \|", section, re.M)


def table_problems(errors, table, rows):
    """What the documented rows get wrong against errors.py and rs.CODES."""
    problems = []
    if [name for name, _ in table] != [name for name, _, _ in rows]:
        problems.append("rows %s, CODES %s" % ([r[0] for r in rows], [t[0] for t in table]))
    missing = set(errors) - {name for name, _, _ in rows}
    if missing:
        problems.append("not in the table: %s" % sorted(missing))
    codes = dict(table)
    for name, base, code in rows:
        if errors.get(name) != base:
            problems.append("%s is a %s, not a %s" % (name, errors.get(name), base))
        if codes.get(name) != code:
            problems.append("%s answers %s, not %s" % (name, codes.get(name), code))
    return problems


def test_error_table_lists_every_class_with_its_code():
    errors = error_classes((PACKAGE / "errors.py").read_text())
    table = code_table((PACKAGE / "rs.py").read_text(),
                       code_names((PACKAGE / "coap" / "codes.py").read_text()))
    assert table_problems(errors, table, documented(ARCHITECTURE.read_text())) == []


@pytest.mark.parametrize("rows", [
    [("A", "Exception", "5.00")],  # B left out
    [("B", "A", "4.00"), ("A", "Exception", "5.00")],  # a wrong code
    [("A", "Exception", "5.00"), ("B", "A", "4.01")],  # out of CODES's order
])
def test_error_table_check_finds_a_wrong_table(rows):
    errors = {"A": "Exception", "B": "A"}
    table = [("B", "4.01"), ("A", "5.00")]
    assert table_problems(errors, table, [("B", "A", "4.01"), ("A", "Exception", "5.00")]) == []
    assert table_problems(errors, table, rows)


def outside_paths(text):
    """Relative paths in `text` that leave the repository (../), but those CI reads."""
    return [p for p in re.findall(r"\.\./[\w./-]+", text)
            if not p.startswith(OUTSIDE_ALLOWED) and not p.startswith("../../")]


def test_docs_point_to_no_file_outside_the_repository():
    """"The design document", not ../shared/DESIGN.md: a clone has no ../shared. (A board
    manifest's ../../firmware is inside: relative to boards/NAME.)"""
    docs = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
    found = {p.name: outside_paths(p.read_text()) for p in docs}
    assert {name: paths for name, paths in found.items() if paths} == {}
    assert outside_paths("see ../shared/DESIGN.md") == ["../shared/DESIGN.md"]
