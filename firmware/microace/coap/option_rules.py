"""Which critical options a request layer understands (RFC 7252 §5.4.1): the rules the
server applies to plain requests and the RS to decrypted ones. Apart from the registry
(options.py), so a module that needs only option numbers does not load these."""

from microace.coap.options import ACCEPT, BLOCK1, BLOCK2, URI_PATH, URI_QUERY


def rule(min_len, max_len, repeatable=False):
    """What a layer takes of one critical option, as a small int (no heap): its value length
    and whether it may repeat."""
    return max_len << 2 | min_len << 1 | repeatable


# The critical options every request layer here processes (the server's for plain requests,
# the RS's for the decrypted ones), from RFC 7252 §5.10 and RFC 7959 §2.1. Each layer adds its
# own (first_bad's `own`).
_request_rules = {URI_PATH: rule(0, 255, True), URI_QUERY: rule(0, 255, True),
                  ACCEPT: rule(0, 2), BLOCK2: rule(0, 3), BLOCK1: rule(0, 3)}


def critical(number):
    """Whether an option must be understood (RFC 7252 §5.4.6: the lowest bit)."""
    return number & 1


def first_bad(options, own, handled=()):
    """The first critical option of `options` that cannot be processed (RFC 7252 §5.4.1),
    else 0: one in neither the request rules above, `own` (a layer's rules, of the same form)
    nor `handled`
    (processed elsewhere, never repeatable), one of a wrong length (§5.4.3), or repeated when
    it may not be (§5.4.5; repeats are adjacent, §3.1)."""
    previous = 0
    for number, value in options:
        if critical(number):
            if number in handled:
                if number == previous:
                    return number
            else:
                taken = _request_rules.get(number)
                if taken is None:
                    taken = own.get(number)
                if taken is None or not taken >> 1 & 1 <= len(value) <= taken >> 2:
                    return number
                if number == previous and not taken & 1:
                    return number
        previous = number
    return 0
