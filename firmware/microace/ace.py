"""The ACE registry numbers the RS puts on the wire or reads from it: /authz-info parameters
(RFC 9200 §8.10, RFC 9203 §9.1) and AS Request Creation Hints (RFC 9200 §5.3, §8.1). One home
for them: rs.py and the profiles import these names."""

from micropython import const

# ACE parameters (the ace+cbor maps of /authz-info requests and responses)
ACCESS_TOKEN = const(1)
NONCE1 = const(40)
NONCE2 = const(42)
ACE_CLIENT_RECIPIENTID = const(43)
ACE_SERVER_RECIPIENTID = const(44)

# AS Request Creation Hints
HINT_AS = const(1)
HINT_AUDIENCE = const(5)
HINT_CNONCE = const(39)
