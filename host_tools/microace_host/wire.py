"""The wire numbers the host tools share: ACE parameters, AS Request Creation Hints, cnf
methods, OSCORE_Input_Material labels, the profile and the Content-Format (RFC 9200 §8,
RFC 9203 §9). One home: the AS emulator, the client and token minting import them from here
(the firmware's are firmware/microace/ace.py's)."""

CT_ACE_CBOR = 19  # application/ace+cbor (RFC 9200 §8.16)

# OAuth parameters, CBOR abbreviations (RFC 9200 §8.10, RFC 9203 §9.2).
P_ACCESS_TOKEN, P_EXPIRES_IN, P_AUDIENCE, P_CNF, P_SCOPE = 1, 2, 5, 8, 9
P_ACTIVE, P_TOKEN, P_CLIENT_ID, P_CLIENT_SECRET = 10, 11, 24, 25
P_ERROR, P_ERROR_DESCRIPTION, P_GRANT_TYPE, P_TOKEN_TYPE, P_ACE_PROFILE = 30, 31, 33, 34, 38
P_REQ_CNF = 4
P_CNONCE = 39  # RFC 9200 §5.8.4.4: the cnonce from the RS's hints, echoed in the token
P_RS_CNF = 41  # RFC 9201 §5: the RS's credential, for the client to authenticate it
# /authz-info parameters of the ACE-OSCORE profile (RFC 9203 §9.2).
P_NONCE1, P_NONCE2, P_CLIENT_RID, P_SERVER_RID = 40, 42, 43, 44
GRANT_CLIENT_CREDENTIALS = 2
TOKEN_TYPE_POP = 2

# AS Request Creation Hints (RFC 9200 §5.3).
HINT_AS, HINT_AUDIENCE, HINT_CNONCE = 1, 5, 39

# cnf methods (RFC 8747 §3.1, RFC 9203 §9.5) and OSCORE_Input_Material labels (RFC 9203 §3.2.1).
CNF_OSC, CNF_COSE_KEY = 4, 1
OSC_ID, OSC_MS, OSC_HKDF, OSC_ALG, OSC_SALT, OSC_CONTEXT_ID = 0, 2, 3, 4, 5, 6
ACE_PROFILE_COAP_OSCORE = 2  # RFC 9203 §9.1
