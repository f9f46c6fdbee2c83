"""Scopes -> permissions: AIF (RFC 9237, REST-specific model) and text scopes via a scope map.

A permission list is `[(path, methods_bitmask), ...]`. Bit (code - 1) of the mask stands for
the CoAP method with that code (RFC 9237 §3): GET=1 POST=2 PUT=4 DELETE=8 FETCH=16 PATCH=32
iPATCH=64.
"""

from microace import cbor
from microace.errors import MethodNotInScopeError, NotInScopeError, ScopeError


def _aif(value):
    """AIF-REST-Generic array -> permission list, every entry checked (RFC 9237 §2)."""
    if not isinstance(value, list) or not value:
        raise ScopeError("AIF scope must be a non-empty array")
    perms = []
    for entry in value:
        if not isinstance(entry, list) or len(entry) != 2:
            raise ScopeError("AIF entry must be [path, methods]")
        path, mask = entry
        if not isinstance(path, str) or not path.startswith("/"):
            raise ScopeError("AIF path must be a text string starting with /")
        if not isinstance(mask, int) or isinstance(mask, bool) or mask < 0 or mask >= 1 << 64:
            raise ScopeError("AIF methods must be an unsigned 64-bit integer")
        perms.append((path, mask))
    return perms


def permissions(scope, scope_map=None):
    """The permissions a scope claim grants on this board.

    Text scopes (space-separated names, RFC 6749 §3.3) are looked up in `scope_map`
    ({name: AIF array}); names the board does not know grant nothing. A byte-string scope
    holds CBOR-encoded AIF; a bare AIF array is accepted as well.
    """
    if isinstance(scope, bytes):
        return _aif(cbor.decode(scope))
    if isinstance(scope, list):
        return _aif(scope)
    if not isinstance(scope, str):
        raise ScopeError("scope must be text, AIF bytes or an AIF array")
    names = scope.split(" ")
    if "" in names:
        raise ScopeError("text scope has an empty name")
    perms = []
    for name in names:
        granted = (scope_map or {}).get(name)
        if granted is not None:
            perms.extend(_aif(granted))
    if not perms:
        raise ScopeError("no scope name is known to this board")
    return perms


def method_bit(code):
    """The AIF bit of a CoAP method code (0.01 GET = 1 ... 0.07 iPATCH = 7)."""
    if not 1 <= code <= 31:  # request codes are 0.01..0.31 (RFC 7252 §12.1.1)
        raise MethodNotInScopeError("not a request method code: %d" % code)
    return 1 << (code - 1)


def check(perms, path, code):
    """Allow `code` on `path`, or raise NotInScopeError / MethodNotInScopeError."""
    covered = False
    for p, mask in perms:
        if p == path:
            covered = True
            if mask & method_bit(code):
                return
    if covered:
        raise MethodNotInScopeError("method not granted on " + path)
    raise NotInScopeError(path + " is not in the token's scope")
