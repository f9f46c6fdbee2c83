"""The host tools' import graph has no cycle (the demo once imported demo_flow, which imported
the demo back), and the client takes wire numbers from wire.py, not from the AS emulator.
Every import counts, the lazy ones inside functions too."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import microace_host

PACKAGE = Path(microace_host.__file__).resolve().parent


def modules():
    return {"microace_host." + p.stem: p for p in sorted(PACKAGE.glob("*.py"))
            if p.stem != "__init__"}


def imports(path, known):
    """The package's modules that the file at `path` imports (relative or absolute)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = ("microace_host" + ("." + node.module if node.module else "")
                    if node.level == 1 else node.module or "")
            for alias in node.names:
                full = base + "." + alias.name
                out.add(full if full in known else base)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known}


def graph():
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def cycle(edges):
    """One cycle of the graph (a list of modules), or None."""
    try:
        TopologicalSorter(edges).prepare()
    except CycleError as exc:
        return exc.args[1]
    return None


def test_host_tools_import_without_a_cycle():
    assert cycle(graph()) is None


def test_the_cycle_check_sees_the_old_demo_cycle():
    edges = graph()
    edges["microace_host.demo_flow"] = edges["microace_host.demo_flow"] | {"microace_host.demo"}
    assert cycle(edges) is not None


def test_the_client_does_not_import_the_as_emulator():
    assert "microace_host.authz_server" not in graph()["microace_host.client"]
    assert "microace_host.wire" in graph()["microace_host.client"]
