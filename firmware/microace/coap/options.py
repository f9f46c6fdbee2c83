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

