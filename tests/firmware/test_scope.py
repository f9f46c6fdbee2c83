"""microace.scope: AIF (RFC 9237 REST model) and text scopes -> permissions -> per-request check."""

import cbor2
import pytest

GET, POST, PUT, DELETE, FETCH, PATCH, IPATCH = 1, 2, 4, 8, 16, 32, 64
SCOPE_MAP = {"read": [["/temp", GET], ["/humidity", GET]],
             "write": [["/led", PUT | POST]],
             "bad": [["led", PUT]]}

SETUP = """
from microace import scope as _sc
from microace.errors import MicroaceError as _sc_Err
def _sc_run(f, *args):
    try:
        return ('ok', f(*args))
    except _sc_Err as e:
        return type(e).__name__
    except Exception as e:
        return 'UNEXPECTED %s: %s' % (type(e).__name__, e)
def _sc_perms(scope, scope_map):
    return _sc_run(_sc.permissions, scope, scope_map)
def _sc_check(perms, path, code):
    r = _sc_run(_sc.check, perms, path, code)
    return 'allowed' if r == ('ok', None) else r
"""


@pytest.fixture
def fw(mp):
    mp.exec(SETUP)
    return mp


def run(mp, function, cases):
    """cases: (name, args, expected) -> assert each result, naming the ones that differ."""
    got = mp.map(function, [args for _, args, _ in cases])
    bad = ["%s: expected %r, got %r" % (name, want, g)
           for (name, _, want), g in zip(cases, got) if g != want]
    assert not bad, "\n".join(bad)
    assert len(got) == len(cases)


def ok(*perms):
    return ("ok", list(perms))


def test_permissions(fw):
    aif = [["/temp", GET], ["/led", GET | PUT]]
    run(fw, "_sc_perms", [
        ("AIF bstr", (cbor2.dumps(aif), None), ok(("/temp", 1), ("/led", 5))),
        ("bare AIF array", (aif, None), ok(("/temp", 1), ("/led", 5))),
        ("AIF bstr, scope map ignored", (cbor2.dumps(aif), SCOPE_MAP),
         ok(("/temp", 1), ("/led", 5))),
        ("AIF mask 0", ([["/temp", 0]], None), ok(("/temp", 0))),
        ("AIF mask 2^64 - 1", ([["/temp", 2 ** 64 - 1]], None), ok(("/temp", 2 ** 64 - 1))),
        ("AIF dynamic-resource bits", ([["/temp", 1 << 32 | 1]], None), ok(("/temp", 1 << 32 | 1))),
        ("AIF path '/'", ([["/", GET]], None), ok(("/", 1))),
        ("text scope", ("read", SCOPE_MAP), ok(("/temp", 1), ("/humidity", 1))),
        ("two text scopes", ("read write", SCOPE_MAP),
         ok(("/temp", 1), ("/humidity", 1), ("/led", 6))),
        ("known and unknown names", ("nope write", SCOPE_MAP), ok(("/led", 6))),
        ("repeated name", ("write write", SCOPE_MAP), ok(("/led", 6), ("/led", 6))),
    ])


def test_permissions_rejected(fw):
    cases = [
        ("unknown name", ("nope", SCOPE_MAP), "ScopeError"),
        ("text scope, no scope map", ("read", None), "ScopeError"),
        ("name case differs", ("READ", SCOPE_MAP), "ScopeError"),
        ("empty text scope", ("", SCOPE_MAP), "ScopeError"),
        ("empty name 'read  write'", ("read  write", SCOPE_MAP), "ScopeError"),
        ("leading space", (" read", SCOPE_MAP), "ScopeError"),
        ("trailing space", ("read ", SCOPE_MAP), "ScopeError"),
        ("scope map entry with an invalid AIF path", ("bad", SCOPE_MAP), "ScopeError"),
        ("AIF bstr of a map", (cbor2.dumps({"/temp": 1}), None), "ScopeError"),
        ("AIF bstr of an int", (cbor2.dumps(1), None), "ScopeError"),
        ("AIF bstr of text", (cbor2.dumps("/temp"), None), "ScopeError"),
        ("AIF bstr of a tag", (cbor2.dumps(cbor2.CBORTag(24, [["/temp", 1]])), None),
         "ScopeError"),
        ("AIF bstr not CBOR", (b"\x82\x01", None), "DecodeError"),
        ("AIF bstr with trailing bytes", (cbor2.dumps([["/temp", 1]]) + b"\x00", None),
         "DecodeError"),
        ("empty AIF", ([], None), "ScopeError"),
        ("empty AIF bstr", (cbor2.dumps([]), None), "ScopeError"),
        ("AIF entry not an array", (["/temp", 1], None), "ScopeError"),
        ("AIF entry of length 1", ([["/temp"]], None), "ScopeError"),
        ("AIF entry of length 3", ([["/temp", 1, 2]], None), "ScopeError"),
        ("AIF entry empty", ([[]], None), "ScopeError"),
        ("AIF path without /", ([["temp", 1]], None), "ScopeError"),
        ("AIF path empty", ([["", 1]], None), "ScopeError"),
        ("AIF path bytes", ([[b"/temp", 1]], None), "ScopeError"),
        ("AIF path int", ([[1, 1]], None), "ScopeError"),
        ("AIF negative mask", ([["/temp", -1]], None), "ScopeError"),
        ("AIF mask 2^64", ([["/temp", 2 ** 64]], None), "ScopeError"),
        ("AIF mask 2^70", ([["/temp", 2 ** 70]], None), "ScopeError"),
        ("AIF bool mask", ([["/temp", True]], None), "ScopeError"),
        ("AIF float mask", ([["/temp", 1.0]], None), "ScopeError"),
        ("AIF text mask", ([["/temp", "GET"]], None), "ScopeError"),
        ("AIF second entry bad", ([["/temp", 1], ["/led", -4]], None), "ScopeError"),
        ("scope int", (5, SCOPE_MAP), "ScopeError"),
        ("scope None", (None, SCOPE_MAP), "ScopeError"),
        ("scope map", ({"read": 1}, SCOPE_MAP), "ScopeError"),
        ("scope bool", (True, SCOPE_MAP), "ScopeError"),
    ]
    run(fw, "_sc_perms", cases)


def test_check(fw):
    perms = [("/temp", GET), ("/led", GET | PUT), ("/all", 127), ("/dup", GET), ("/dup", DELETE)]
    allowed, not_in, method = "allowed", "NotInScopeError", "MethodNotInScopeError"
    cases = [
        ("GET /temp", (perms, "/temp", 1), allowed),
        ("POST /temp", (perms, "/temp", 2), method),
        ("PUT /temp", (perms, "/temp", 3), method),
        ("DELETE /temp", (perms, "/temp", 4), method),
        ("PUT /led", (perms, "/led", 3), allowed),
        ("POST /led", (perms, "/led", 2), method),
        ("iPATCH /led", (perms, "/led", 7), method),
        ("GET /humidity", (perms, "/humidity", 1), not_in),
        ("GET /temp/", (perms, "/temp/", 1), not_in),
        ("GET /tem", (perms, "/tem", 1), not_in),
        ("GET /temp/x", (perms, "/temp/x", 1), not_in),
        ("GET /TEMP", (perms, "/TEMP", 1), not_in),
        ("GET temp", (perms, "temp", 1), not_in),
        ("GET //temp", (perms, "//temp", 1), not_in),
        ("GET ''", (perms, "", 1), not_in),
        ("PUT /tem (uncovered beats method)", (perms, "/tem", 3), not_in),
    ]
    for code, name in enumerate(["GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"], 1):
        cases.append(("%s /all" % name, (perms, "/all", code), allowed))
    cases += [
        ("DELETE /dup (second entry)", (perms, "/dup", 4), allowed),
        ("GET /dup (first entry)", (perms, "/dup", 1), allowed),
        ("PUT /dup", (perms, "/dup", 3), method),
        ("no permissions", ([], "/temp", 1), not_in),
        ("mask 0 covers the path, grants nothing", ([("/temp", 0)], "/temp", 1), method),
    ]
    run(fw, "_sc_check", cases)
    assert len(cases) == 28


def test_check_after_permissions(fw):
    """The two together, as the RS uses them: a text scope through the scope map."""
    got = fw.eval("[_sc_check(_sc.permissions('read write', %r), p, c) for p, c in "
                  "[('/temp', 1), ('/led', 3), ('/led', 1), ('/door', 1)]]" % (SCOPE_MAP,))
    assert got == ["allowed", "allowed", "MethodNotInScopeError", "NotInScopeError"]


def test_check_code_zero(fw):
    run(fw, "_sc_check", [("code 0 (Empty)", ([("/temp", GET)], "/temp", 0),
                           "MethodNotInScopeError")])
