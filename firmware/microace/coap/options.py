"""The IANA "CoAP Option Numbers" registry (RFC 7252 §12.2 and later RFCs).

Odd numbers are critical: a recipient that does not understand one must reject the message
(RFC 7252 §5.4.1); even numbers are elective and may be ignored.
"""

from micropython import const

IF_MATCH = const(1)
URI_HOST = const(3)
ETAG = const(4)
IF_NONE_MATCH = const(5)
OBSERVE = const(6)  # RFC 7641
URI_PORT = const(7)
LOCATION_PATH = const(8)
OSCORE = const(9)  # RFC 8613
URI_PATH = const(11)
CONTENT_FORMAT = const(12)
MAX_AGE = const(14)
URI_QUERY = const(15)
HOP_LIMIT = const(16)  # RFC 8768
ACCEPT = const(17)
LOCATION_QUERY = const(20)
EDHOC = const(21)  # RFC 9668
BLOCK2 = const(23)  # RFC 7959
BLOCK1 = const(27)  # RFC 7959
SIZE2 = const(28)  # RFC 7959
PROXY_URI = const(35)
PROXY_SCHEME = const(39)
SIZE1 = const(60)
ECHO = const(252)  # RFC 9175
NO_RESPONSE = const(258)  # RFC 7967
REQUEST_TAG = const(292)  # RFC 9175


def rule(min_len, max_len, repeatable=False):
    """What a layer takes of one critical option, as a small int (no heap): its value length
    and whether it may repeat."""
    return max_len << 2 | min_len << 1 | repeatable


# The critical options every request layer here processes (the server's for plain requests,
# the RS's for the decrypted ones), from RFC 7252 §5.10 and RFC 7959 §2.1. Each layer adds its
# own (first_bad's `own`).
REQUEST = {URI_PATH: rule(0, 255, True), URI_QUERY: rule(0, 255, True), ACCEPT: rule(0, 2),
           BLOCK2: rule(0, 3), BLOCK1: rule(0, 3)}


def critical(number):
    """Whether an option must be understood (RFC 7252 §5.4.6: the lowest bit)."""
    return number & 1


def first_bad(options, own, handled=()):
    """The first critical option of `options` that cannot be processed (RFC 7252 §5.4.1),
    else 0: one in neither REQUEST, `own` (a layer's rules, of the same form) nor `handled`
    (processed elsewhere, never repeatable), one of a wrong length (§5.4.3), or repeated when
    it may not be (§5.4.5; repeats are adjacent, §3.1)."""
    previous = 0
    for number, value in options:
        if critical(number):
            if number in handled:
                if number == previous:
                    return number
            else:
                taken = REQUEST.get(number)
                if taken is None:
                    taken = own.get(number)
                if taken is None or not taken >> 1 & 1 <= len(value) <= taken >> 2:
                    return number
                if number == previous and not taken & 1:
                    return number
        previous = number
    return 0
