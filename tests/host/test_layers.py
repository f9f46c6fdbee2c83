"""The firmware's import graph: no cycle, and every arrow points down the layers that
docs/ARCHITECTURE.md lists ("Firmware layers"). Every import counts, the lazy ones inside
functions too: a cycle hidden by a lazy import is still a cycle."""

import ast
from pathlib import Path

from microace_host.firmware import FIRMWARE

PACKAGE = Path(FIRMWARE) / "microace"

# docs/ARCHITECTURE.md's table, lowest first: a module imports only modules of its own or
# earlier layers, and the graph has no cycle.
LAYERS = [
    ["microace", "microace.errors", "microace.clock", "microace.net", "microace.ace",
     "microace.codepoints"],
    ["microace.crypto", "microace.crypto.*"],
    ["microace.cbor", "microace.jsonstrict"],
    ["microace.storage"],
    ["microace.coap", "microace.coap.*"],
    ["microace.cose", "microace.ccs"],
    ["microace.claims", "microace.scope"],
    ["microace.keystore", "microace.keystore.*"],
    ["microace.state"],
    ["microace.wiring"],
    ["microace.cwt", "microace.jwt", "microace.jwe", "microace.access_token"],
    ["microace.oscore", "microace.edhoc"],
    ["microace.cnonce", "microace.admission", "microace.token_store"],
    ["microace.profiles", "microace.profiles.*"],
    ["microace.rs"],
    ["microace.edhoc_resource"],
    ["microace.demo"],
    ["microace.startup"],
    ["microace.app"],
]


def modules():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name, path, known):
    """The firmware modules `name` imports anywhere in its file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = node.module + "." + alias.name
                out.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def layer_of(name):
    for i, layer in enumerate(LAYERS):
        for pattern in layer:
            if name == pattern or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
                return i
    raise AssertionError("%s is in no layer of docs/ARCHITECTURE.md (add it to LAYERS)" % name)


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def upward(edges):
    """Arrows to a later layer (arrows inside a layer are the cycle check's)."""
    bad = []
    for name, deps in sorted(edges.items()):
        for dep in sorted(deps):
            a, b = layer_of(name), layer_of(dep)
            if b > a:
                bad.append("%s -> %s" % (name, dep))
    return bad


def cycle(edges):
    """One cycle of the graph (a list of modules), or None."""
    state = {}

    def visit(name, stack):
        state[name] = 1
        for dep in sorted(edges[name]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, stack + [dep])
                if found:
                    return found
        state[name] = 2
        return None

    for name in sorted(edges):
        if name not in state:
            found = visit(name, [name])
            if found:
                return found
    return None


def test_every_module_is_in_a_layer():
    for name in modules():
        layer_of(name)


def test_imports_point_down_the_layers_without_a_cycle():
    edges = graph()
    assert upward(edges) == []
    assert cycle(edges) is None


def test_the_check_sees_an_upward_arrow_and_a_cycle():
    edges = graph()
    edges["microace.clock"] = edges["microace.clock"] | {"microace.rs"}
    assert upward(edges) == ["microace.clock -> microace.rs"]
    assert cycle(edges) is not None
    edges = graph()  # inside one layer: hkdf imports hmac; hmac importing hkdf is a cycle
    assert "microace.crypto.hmac" in edges["microace.crypto.hkdf"]
    edges["microace.crypto.hmac"] = edges["microace.crypto.hmac"] | {"microace.crypto.hkdf"}
    assert upward(edges) == []
    assert cycle(edges) is not None
