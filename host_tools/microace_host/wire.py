"""The wire numbers the host tools share: COSE labels and algorithms, ACE parameters, AS
Request Creation Hints, cnf methods, OSCORE_Input_Material labels, the profiles and the
Content-Formats (RFC 9052/9053, RFC 9200 §8, RFC 9203 §9, RFC 9528). One home: keys, the AS
emulator, the client and token minting import them from here (the firmware's are in
firmware/microace: ace.py, cose.py; the EDHOC-OSCORE profile's unassigned numbers come from
the firmware's own registry, codepoints.py, so host and board never disagree)."""

from . import firmware

# COSE labels (RFC 9052 §7, RFC 9053 §7); the firmware has the same table in cose.py.
KTY, KID, ALG = 1, 2, 3  # COSE_Key labels
CRV, X, Y, D, K = -1, -2, -3, -4, -1
KTY_OKP, KTY_EC2, KTY_SYMMETRIC = 1, 2, 4
CRV_P256, CRV_ED25519 = 1, 6
HDR_ALG, HDR_KID = 1, 4  # COSE header parameters alg and kid (RFC 9052 §3.1)
COSE_TAGS = (16, 17, 18)  # COSE_Encrypt0, COSE_Mac0, COSE_Sign1 (RFC 9052 §2)
ALG_ES256, ALG_EDDSA, ALG_HS256 = -7, -8, 5
ALG_A128CCM = 10  # AES-CCM-16-64-128: the ACE-OSCORE and OSCORE default AEAD
ALG_A128KW = -3  # AES Key Wrap (RFC 9053 §6.2.1): the wrap key of nested JWTs (JWE)
HKDF_SHA256 = -10  # the OSCORE default HKDF (RFC 8613 §3.2)

# The algorithms the firmware implements (cose.ALGORITHMS): alg -> (name, kty, secret length).
ALGORITHMS = {
    ALG_ES256: ("ES256", KTY_EC2, None),
    ALG_EDDSA: ("EdDSA", KTY_OKP, None),
    4: ("HMAC 256/64", KTY_SYMMETRIC, 32),
    ALG_HS256: ("HS256", KTY_SYMMETRIC, 32),
    ALG_A128CCM: ("A128CCM", KTY_SYMMETRIC, 16),
    11: ("AES-CCM-16-64-256", KTY_SYMMETRIC, 32),
    12: ("AES-CCM-64-64-128", KTY_SYMMETRIC, 16),
    13: ("AES-CCM-64-64-256", KTY_SYMMETRIC, 32),
    30: ("AES-CCM-16-128-128", KTY_SYMMETRIC, 16),
    31: ("AES-CCM-16-128-256", KTY_SYMMETRIC, 32),
    32: ("AES-CCM-64-128-128", KTY_SYMMETRIC, 16),
    33: ("AES-CCM-64-128-256", KTY_SYMMETRIC, 32),
    ALG_A128KW: ("A128KW", KTY_SYMMETRIC, 16),  # nested JWTs: wraps the JWE content key
}

CT_ACE_CBOR = 19  # application/ace+cbor (RFC 9200 §8.16)
CT_EDHOC = 65  # application/cid-edhoc+cbor-seq (RFC 9528 §10.9): C_R or true, then a message

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
# Error codes (RFC 9200 §8.4, Figure 10).
INVALID_REQUEST, INVALID_CLIENT, UNSUPPORTED_GRANT_TYPE, INVALID_SCOPE = 1, 2, 5, 6
UNSUPPORTED_POP_KEY, INCOMPATIBLE_ACE_PROFILES = 7, 8
TOKEN_TYPE_POP = 2

# AS Request Creation Hints (RFC 9200 §5.3).
HINT_AS, HINT_AUDIENCE, HINT_CNONCE = 1, 5, 39

# cnf methods (RFC 8747 §3.1, RFC 9203 §9.5) and OSCORE_Input_Material labels (RFC 9203 §3.2.1).
CNF_OSC, CNF_COSE_KEY = 4, 1
OSC_ID, OSC_MS, OSC_HKDF, OSC_ALG, OSC_SALT, OSC_CONTEXT_ID = 0, 2, 3, 4, 5, 6
ACE_PROFILE_COAP_OSCORE = 2  # RFC 9203 §9.1

# microace's own: the label of a re-provisioning proof, HMAC-SHA256(owner, PROOF_LABEL ||
# SHA-256(bundle) || challenge) (firmware/microace/keystore/bundle.py checks it).
PROOF_LABEL = b"microace-reprovision"

# The EDHOC-OSCORE profile's unassigned numbers (its profile id, kccs, the EAD label...): the
# firmware's registry with no board.json overrides.
EDHOC = firmware.codepoints()
