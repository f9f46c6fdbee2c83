"""The ACE registry numbers the RS puts on the wire or reads from it: /authz-info parameters
(RFC 9200 §8.10, RFC 9203 §9.1), CWT claims and confirmation methods (RFC 8392, RFC 8747,
RFC 9200 §8.13), OSCORE input material (RFC 9203 §3.2.1) and AS Request Creation Hints
(RFC 9200 §5.3, §8.1). One home for them: rs.py, the profiles, cwt.py, ccs.py, claims.py and
oscore.py import these names. (The EDHOC-OSCORE profile's unassigned ones: codepoints.py.)"""

from micropython import const

# ACE parameters (the ace+cbor maps of /authz-info requests and responses)
ACCESS_TOKEN = const(1)
NONCE1 = const(40)
NONCE2 = const(42)
ACE_CLIENT_RECIPIENTID = const(43)
ACE_SERVER_RECIPIENTID = const(44)

# CWT Claims registry (RFC 8392 §9.1, RFC 9200 §8.13, RFC 8747 §3.1)
CLAIM_ISS = const(1)
CLAIM_SUB = const(2)
CLAIM_AUD = const(3)
CLAIM_EXP = const(4)
CLAIM_NBF = const(5)
CLAIM_IAT = const(6)
CLAIM_CTI = const(7)
CLAIM_CNF = const(8)
CLAIM_SCOPE = const(9)
CLAIM_ACE_PROFILE = const(38)
CLAIM_CNONCE = const(39)
CLAIM_EXI = const(40)

# CWT Confirmation Methods registry (RFC 8747 §3.1, RFC 9203 §9.2); kccs: codepoints.py
CNF_COSE_KEY = const(1)
CNF_ENCRYPTED_COSE_KEY = const(2)
CNF_KID = const(3)
CNF_OSC = const(4)

# OSCORE_Input_Material parameters (RFC 9203 §3.2.1, Figure 10): cnf.osc of a token
OSC_ID = const(0)
OSC_VERSION = const(1)
OSC_MS = const(2)
OSC_HKDF = const(3)
OSC_ALG = const(4)
OSC_SALT = const(5)
OSC_CONTEXT_ID = const(6)

# AS Request Creation Hints
HINT_AS = const(1)
HINT_AUDIENCE = const(5)
HINT_CNONCE = const(39)
HINT_ACE_PROFILE = const(38)  # the ace_profile parameter, offered profiles (RFC 9200 §8.10)

# ACE profiles (RFC 9200 §8.8); the EDHOC-OSCORE profile's number: codepoints.py
ACE_PROFILE_COAP_OSCORE = const(2)  # RFC 9203 §9.1
