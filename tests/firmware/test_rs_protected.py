"""rs.ResourceServer._protected, in one MicroPython process: a response's options go into the
OSCORE plaintext in ascending order, repeats in their own order, Class U ones left out
(RFC 8613 §4.1, RFC 7252 §3.1), whatever order the resource added them in; the decrypted
request gets the option checks of a plain one before its resource runs, and an inner Block1
body reaches the resource whole or not at all (RFC 8613 §8.2, RFC 7252 §5.4.1, RFC 7959)."""

import rs_inprocess


def test_response_options_go_in_sorted_repeats_kept_class_u_dropped(mp, tmp_path):
    rs_inprocess.start(mp, tmp_path)
    mp.exec("_pr_opts = []\n"
            "_rb.resource('/temp')(lambda request: Message(0x45, b'v', list(_pr_opts)))\n"
            "def _pr_answer():\n"
            "    msg, piv = _rb_request(_rb_cli)\n"
            "    return _rb_inner(_rb_cli, _rb.handle(msg, None), piv)[:3]\n")
    ordered = [(12, b"\x00"), (14, b"\x3c"), (60, b"\x01"), (60, b"\x02")]
    cases = [
        (ordered, ordered),
        ([(60, b"\x01"), (3, b"host"), (14, b"\x3c"), (60, b"\x02"), (12, b"\x00")], ordered),
        ([(60, b"\x01"), (60, b"\x02"), (39, b"coap"), (14, b"\x3c"), (12, b"\x00")], ordered),
        ([(258, b"a"), (258, b"b"), (258, b"c"), (4, b"e"), (258, b"d")],
         [(4, b"e"), (258, b"a"), (258, b"b"), (258, b"c"), (258, b"d")]),
        ([], []),
    ]
    for added, expected in cases:
        mp.exec("_pr_opts[:] = %r" % (added,))
        assert mp.eval("_pr_answer()") == (0x45, expected, b"v"), added
    mp.exec("_rb = _rb_srv = _rb_cli = _pr_opts = None")


def test_inner_checks_run_before_the_resource_and_it_never_sees_a_partial_body(mp, tmp_path):
    rs_inprocess.start(mp, tmp_path)
    mp.exec("from microace.coap.block import pack\n"
            "_pr_seen = []\n"
            "_rb.tokens.entries[0].perms = [('/temp', 5)]\n"  # GET and PUT (AIF)
            "_rb.resource('/temp', ('GET', 'PUT'), (0,))("
            "lambda request: _pr_seen.append(request.payload) or Message(0x44))\n"
            "def _pr(code, extra, payload=b''):\n"
            "    msg, piv = _rb_request(_rb_cli, None, code, extra, payload)\n"
            "    got = _rb_inner(_rb_cli, _rb.handle(msg, None), piv)\n"
            "    return got[0], [o for o in got[1] if o[0] == 27]\n")
    def block1(num, more, szx):
        return (27, mp.eval("pack(%d, %d, %d)" % (num, more, szx)))

    cases = [  # (code, inner options, payload) -> (inner response code, its Block1, seen)
        ((1, [(2053, b"x")]), (0x82, [], [])),  # unrecognized critical: 4.02
        ((1, [(17, b"")]), (0x44, [], [b""])),  # Accept: text/plain (0), produced
        ((1, [(17, b"\x3c")]), (0x86, [], [])),  # Accept: application/cbor: 4.06
        ((3, [(5, b"")], b"1"), (0x8C, [], [])),  # If-None-Match, the resource exists: 4.12
        ((3, [(1, b"\x01")], b"1"), (0x8C, [], [])),  # If-Match an ETag it does not give
        ((3, [(1, b"")], b"1"), (0x44, [], [b"1"])),  # If-Match "it exists": done
        ((3, [block1(0, 1, 0)], bytes(16)), (0x5F, [block1(0, 1, 0)], [])),  # 2.31
        ((3, [block1(1, 0, 0)], b"end"), (0x44, [block1(1, 0, 0)], [bytes(16) + b"end"])),
        ((3, [block1(0, 1, 0)], bytes(16)), (0x5F, [block1(0, 1, 0)], [])),  # never finished
        ((3, [block1(2, 0, 0)], b"x"), (0x88, [], [])),  # a block missing: 4.08
        ((3, [block1(0, 1, 0)], bytes(15)), (0x80, [], [])),  # short block with M: 4.00
        ((1, [block1(0, 1, 0), (2053, b"")], bytes(16)), (0x82, [], [])),  # checked first
    ]
    for request, (code, options, seen) in cases:
        mp.exec("_pr_seen[:] = []")
        got = mp.eval("_pr(%d, %r, %r)" % (request[0], request[1],
                                          request[2] if len(request) > 2 else b""))
        assert (got[0], [tuple(o) for o in got[1]]) == (code, options), request
        assert mp.eval("_pr_seen") == seen, request
    mp.exec("_rb = _rb_srv = _rb_cli = _pr_seen = None")
