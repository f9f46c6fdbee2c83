"""The codepoints of the EDHOC-OSCORE profile of ACE, in one place.

draft-ietf-ace-edhoc-oscore-profile has no IANA assignments yet: the defaults are its "CDDL
Model" appendix; a board's board.json "codepoints" {name: number} overrides any of them (when
the registry assigns other values), and `microace doctor` prints the ones in force. The
Uri-Path-Abbrev option (draft-ietf-core-uri-path-abbrev) has no number either: the default
is one of the experimental range (RFC 7252 §12.2: 65000-65535), critical and unsafe.

    from microace import codepoints
    codepoints.configure(cfg.get("codepoints"))   # at start-up, before any token is read
    codepoints.CODES["kccs"]
"""

DEFAULTS = {
    "ace_profile_coap_oscore": 2,  # RFC 9203 §9.1 (assigned)
    "ace_profile_coap_edhoc_oscore": 4,  # ACE Profiles
    "edhoc_info_param": 47,  # OAuth Parameters CBOR Mappings
    "edhoc_info_claim": 41,  # CWT Claims
    "kccs": 11,  # CWT Confirmation Methods
    "ead_access_token": 24,  # EDHOC EAD: ACE-OAuth Access Token (sent critical: -24)
    "ead_credential_by_value": 15,
    "ead_request_creation_hints": 1,
    "edhoc_info_session_id": 0,  # EDHOC_Information fields
    "edhoc_info_methods": 1,
    "edhoc_info_cipher_suites": 2,
    "edhoc_info_message_4": 3,
    "edhoc_info_comb_req": 4,
    "edhoc_info_uri_path": 5,
    "uri_path_abbrev_option": 65003,  # the option's number (experimental until assigned)
    "uri_path_abbrev_edhoc": 2,  # its value for /.well-known/edhoc
}

CODES = dict(DEFAULTS)  # the ones in force


def configure(overrides):
    """Apply board.json "codepoints" -> CODES; an unknown name or a non-integer value is a
    configuration error (ValueError), so a typo cannot leave a default silently in force."""
    codes = dict(DEFAULTS)
    for name, value in (overrides or {}).items():
        if name not in DEFAULTS:
            raise ValueError("codepoints: unknown name %r" % (name,))
        if type(value) is not int or value < 0:
            raise ValueError("codepoints: %s must be an unsigned integer" % name)
        codes[name] = value
    CODES.clear()
    CODES.update(codes)
    return CODES


def offered(names):
    """board.json "profiles" (default ["coap_oscore"]) -> their ace_profile numbers;
    ValueError for a name this firmware does not know."""
    numbers = []
    for name in names or ["coap_oscore"]:
        number = CODES.get("ace_profile_" + name) if type(name) is str else None
        if number is None:
            raise ValueError('board.json "profiles": unknown profile %r' % (name,))
        numbers.append(number)
    return numbers

