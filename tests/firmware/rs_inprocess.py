"""An RS in one MicroPython process (rs.ResourceServer over a state.State file) and an OSCORE
client of it (oscore.py's client side, RFC 8613 §8.1, §8.4): tests/firmware/test_reboot_state.py
and test_rs_protected.py."""

from tests.support.mp_harness import skip_if_out_of_memory

SETUP = """
from microace import oscore, rs as rs_mod
from microace.coap.message import Message
from microace.keystore import SoftwareKeyStore
from microace.state import State

_MS, _SALT = b'\\x11' * 16, b'\\x22' * 8

def _rb_rs(path, gen=0):
    r = rs_mod.ResourceServer(SoftwareKeyStore(), {'audience': 'rs1'}, State(path), True, gen)
    r.resource('/temp')(lambda request: Message(0x45, b'21.5'))
    return r

def _rb_request(cli, echo=None, code=1, extra=(), payload=b''):
    # A client's OSCORE request to /temp (RFC 8613 §8.1), GET unless `code` says otherwise,
    # with `extra` inner options -> (outer message, its Partial IV).
    options = sorted([(11, b'temp')] + ([(252, echo)] if echo else []) + list(extra))
    return oscore.protect_request(cli, Message(code, payload, options))

def _rb_inner(cli, out, req_piv):
    # The client's reading of the response -> (inner code, options, payload, own PIV or
    # None); an unprotected one -> (outer code, None, None, None).
    opt = out.opt(9)
    if opt is None:
        return out.code, None, None, None
    inner = oscore.unprotect_response(cli, req_piv, out)
    return inner.code, inner.options, inner.payload, oscore.parse_option(opt)[0]

def _rb_answer(cli, out, req_piv):
    # -> (inner code, Echo or None, own PIV or None).
    code, options, _, own = _rb_inner(cli, out, req_piv)
    echo = [v for n, v in options or () if n == 252]
    return code, echo[0] if echo else None, own

def _rb_get(r, cli, echo=None):
    msg, piv = _rb_request(cli, echo)
    return _rb_answer(cli, r.handle(msg, None), piv), msg
"""


def start(mp, tmp_path):
    """An RS over tmp_path/state.bin (_rb, serving GET /temp) holding one token whose context
    the client _rb_cli shares; the SETUP helpers defined."""
    with skip_if_out_of_memory("compiling rs.py and every layer under it from source needs "
                               "more heap (the RS itself runs from .mpy: tests/e2e)"):
        mp.exec(SETUP)
    mp.exec("_rb_path = %r\n_rb = _rb_rs(_rb_path)\n"
            "_rb_cli = oscore.Context(_MS, _SALT, b'\\x01', b'\\x21')\n"
            "_rb_srv = oscore.Context(_MS, _SALT, b'\\x21', b'\\x01')\n"
            "_rb.tokens.add(b'token', ('as', b'\\x07'), None, None, [('/temp', 1)], _rb_srv)"
            % str(tmp_path / "state.bin"))
    return mp
