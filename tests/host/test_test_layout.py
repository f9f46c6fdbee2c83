"""Tests and tools have one home each (issue 14 §5), checked on the source so that a second
home cannot creep back: nothing imports from a conftest (fixtures only; shared helpers live in
tests/support), one function builds a MicroPython command line
(microace_host.unix_port.micropython_command), and one class drives a raw REPL
(microace_host.board.Board)."""

import ast
from pathlib import Path

import pytest

from tests.support.vectors import ROOT

HOST = ROOT / "host_tools" / "microace_host"
COMMAND_BUILDER = HOST / "unix_port.py"
REPL_DRIVER = HOST / "board.py"
THIS = Path(__file__).resolve()  # its examples of what the checks find


def python_files():
    """The CPython sources: host tools, tests and bench (firmware/ runs on the board)."""
    for top in ("host_tools", "tests", "bench"):
        yield from sorted((ROOT / top).rglob("*.py"))


def conftest_imports(tree):
    """Imports of a conftest module in `tree`, as text."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module.split(".")[-1] == "conftest"):
            found.append("from %s import ..." % node.module)
        elif isinstance(node, ast.Import):
            found += ["import " + a.name for a in node.names if a.name.split(".")[-1] == "conftest"]
    return found


def code_strings(tree):
    """The string constants of `tree` that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, (str, bytes)) and id(n) not in docstrings]


def builds_command_line(tree):
    """What in `tree` builds a MicroPython command line or its environment itself: the -X
    heapsize option, MICROPYPATH, or the lookup of the binary."""
    found = []
    for value in code_strings(tree):
        if isinstance(value, str) and (value == "-X" or value.startswith("heapsize=")
                                       or value == "MICROPYPATH"):
            found.append(repr(value))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "MICROPYPATH":
            found.append("MICROPYPATH=")
        name = getattr(node, "attr", None) or getattr(node, "id", None)
        if name == "micropython_binary" and isinstance(node.ctx, ast.Load):
            found.append("micropython_binary")
    return found


def drives_raw_repl(tree):
    """What in `tree` speaks the raw REPL itself: mpremote's transport, or the raw-REPL
    banner and its Ctrl-A."""
    found = [repr(v) for v in code_strings(tree)
             if (b"raw REPL" if isinstance(v, bytes) else "raw REPL") in v
             or v == b"\r\x01"]
    for node in ast.walk(tree):
        module = getattr(node, "module", None) or ""
        if isinstance(node, ast.ImportFrom) and module.startswith("mpremote.transport"):
            found.append("from %s import ..." % module)
    return found


def offenders(check, allowed=()):
    out = {}
    for path in python_files():
        if path in allowed or path == THIS:
            continue
        found = check(ast.parse(path.read_text(), str(path)))
        if found:
            out[str(path.relative_to(ROOT))] = found
    return out


def test_nothing_imports_from_a_conftest():
    assert offenders(conftest_imports) == {}, "move what is shared into tests/support"


def test_one_builder_of_the_micropython_command_line():
    assert offenders(builds_command_line, {COMMAND_BUILDER}) == {}, (
        "build the command line with microace_host.unix_port.micropython_command")


def test_one_raw_repl_driver():
    assert offenders(drives_raw_repl, {REPL_DRIVER}) == {}, (
        "drive MicroPython through microace_host.board.Board")


@pytest.mark.parametrize("check, source", [
    (conftest_imports, "from conftest import ROOT"),
    (conftest_imports, "from tests.hostile.conftest import SCRATCH"),
    (conftest_imports, "def f():\n    import conftest"),
    (builds_command_line, "argv = [binary, '-X', 'heapsize=' + heap]"),
    (builds_command_line, "env = dict(os.environ, MICROPYPATH=path)"),
    (builds_command_line, "env['MICROPYPATH'] = path"),
    (builds_command_line, "argv = [unix_port.micropython_binary(), '-c', code]"),
    (drives_raw_repl, "from mpremote.transport_serial import SerialTransport"),
    (drives_raw_repl, "os.write(fd, b'\\r\\x01')"),
    (drives_raw_repl, "expect(b'raw REPL; CTRL-B to exit')"),
])
def test_each_check_finds_a_second_home(check, source):
    """The checks above can fail: each finds the thing it forbids."""
    assert check(ast.parse(source))


def test_checks_pass_over_docstrings_and_messages():
    """Prose that names the option is not a second builder."""
    source = ('"""Runs `micropython -X heapsize=48k`."""\n'
              'print("smallest -X heapsize=%s" % heap)\n')
    assert builds_command_line(ast.parse(source)) == []


def test_one_file_is_called_tokens_py():
    """Issue 14 §6: three files were called tokens.py (firmware, host, hostile tests); the
    firmware's is token_store.py, the hostile tests' support/hostile_tokens.py."""
    named = [p.relative_to(ROOT).as_posix() for top in ("firmware", "host_tools", "tests", "bench")
             for p in (ROOT / top).rglob("tokens.py")]
    assert named == ["host_tools/microace_host/tokens.py"]
