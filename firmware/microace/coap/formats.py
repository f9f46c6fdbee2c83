"""The IANA "CoAP Content-Formats" registry (RFC 7252 §12.3 and later RFCs)."""

from micropython import const

TEXT_PLAIN = const(0)  # text/plain; charset=utf-8
COSE_ENCRYPT0 = const(16)  # application/cose; cose-type="cose-encrypt0" (RFC 9052)
COSE_MAC0 = const(17)  # application/cose; cose-type="cose-mac0"
COSE_SIGN1 = const(18)  # application/cose; cose-type="cose-sign1"
ACE_CBOR = const(19)  # application/ace+cbor (RFC 9200)
LINK_FORMAT = const(40)  # application/link-format (RFC 6690)
OCTET_STREAM = const(42)  # application/octet-stream
JSON = const(50)  # application/json
CBOR = const(60)  # application/cbor
CWT = const(61)  # application/cwt (RFC 8392)
EDHOC_CBOR_SEQ = const(64)  # application/edhoc+cbor-seq (RFC 9528)
CID_EDHOC_CBOR_SEQ = const(65)  # application/cid-edhoc+cbor-seq (RFC 9528)
COSE_KEY = const(101)  # application/cose-key
AIF_CBOR = const(290)  # application/aif+cbor (RFC 9237)
OSCORE = const(10001)  # application/oscore (RFC 8613)
