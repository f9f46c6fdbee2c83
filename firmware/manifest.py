# microace, packaged the micropython-lib way: this manifest is the core package (the RS, its
# protocols and crypto, the file key store); the key store backends a board may add are
# extension packages under ext/ that a board manifest require()s after
#   add_library("microace", "<this directory>")
# (boards/*/manifest.py). mip installs the same parts: package.json (this one),
# microace-nvs.json, microace-atecc608.json, microace-edhoc.json (EDHOC, board.json "edhoc").
# The version is microace.VERSION's
# (tests/host/test_version.py).
metadata(
    version="0.1.0",
    description="Offline ACE-OAuth resource server (RFC 9200, ACE-OSCORE) for MicroPython",
)
module("main.py")
package("microace", files=[
    "__init__.py", "access_token.py", "ace.py", "admission.py", "app.py", "cbor.py", "claims.py",
    "clock.py", "cnonce.py", "codepoints.py", "cose.py", "cwt.py", "demo.py", "errors.py",
    "jsonstrict.py", "jwe.py", "jwt.py", "net.py", "oscore.py", "rs.py", "scope.py", "startup.py",
    "state.py", "storage.py", "token_store.py", "wiring.py",
    "profiles/__init__.py", "profiles/ace_oscore.py",
    "coap/__init__.py", "coap/block.py", "coap/codes.py", "coap/dedup.py", "coap/formats.py",
    "coap/message.py", "coap/option_rules.py", "coap/options.py", "coap/server.py",
    "crypto/__init__.py", "crypto/aes_cbc_hs.py", "crypto/aes_ccm.py", "crypto/aes_kw.py",
    "crypto/ct.py", "crypto/ed25519.py",
    "crypto/hkdf.py", "crypto/hmac.py", "crypto/p256.py", "crypto/p256_g.py",
    "crypto/sha512.py",
    "keystore/__init__.py", "keystore/bundle.py", "keystore/file.py", "keystore/persistent.py",
    "keystore/provisioning.py", "keystore/record.py",
])
