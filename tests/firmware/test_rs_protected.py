"""rs.ResourceServer._protected, in one MicroPython process: a response's options go into the
OSCORE plaintext in ascending order, repeats in their own order, Class U ones left out
(RFC 8613 §4.1, RFC 7252 §3.1), whatever order the resource added them in."""

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
