"""The IANA "CoAP Codes" registry (RFC 7252 §12.1): method and response codes.

A code is one byte, class << 5 | detail; 2.05 is 0x45. Class 0 is a request (0.00 is Empty).
"""

from micropython import const

EMPTY = const(0x00)

# CoAP Method Codes (RFC 7252 §12.1.1, RFC 8132)
GET = const(0x01)
POST = const(0x02)
PUT = const(0x03)
DELETE = const(0x04)
FETCH = const(0x05)
PATCH = const(0x06)
IPATCH = const(0x07)

# CoAP Response Codes (RFC 7252 §12.1.2, RFC 7959 §2.9, RFC 8516)
CREATED = const(0x41)  # 2.01
DELETED = const(0x42)  # 2.02
VALID = const(0x43)  # 2.03
CHANGED = const(0x44)  # 2.04
CONTENT = const(0x45)  # 2.05
CONTINUE = const(0x5F)  # 2.31
BAD_REQUEST = const(0x80)  # 4.00
UNAUTHORIZED = const(0x81)  # 4.01
BAD_OPTION = const(0x82)  # 4.02
FORBIDDEN = const(0x83)  # 4.03
NOT_FOUND = const(0x84)  # 4.04
METHOD_NOT_ALLOWED = const(0x85)  # 4.05
NOT_ACCEPTABLE = const(0x86)  # 4.06
REQUEST_ENTITY_INCOMPLETE = const(0x88)  # 4.08
PRECONDITION_FAILED = const(0x8C)  # 4.12
REQUEST_ENTITY_TOO_LARGE = const(0x8D)  # 4.13
UNSUPPORTED_CONTENT_FORMAT = const(0x8F)  # 4.15
TOO_MANY_REQUESTS = const(0x9D)  # 4.29
INTERNAL_SERVER_ERROR = const(0xA0)  # 5.00
NOT_IMPLEMENTED = const(0xA1)  # 5.01
SERVICE_UNAVAILABLE = const(0xA3)  # 5.03

