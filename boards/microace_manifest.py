# The microace modules every board freezes (included by each boards/NAME/manifest.py, which
# adds its key store backend): main.py and the package without the key store backends but
# keystore/file.py, the medium of state.py (and of the unix port's key store).
# Relative paths are relative to this file.
module("main.py", base_path="../firmware")
package("microace", base_path="../firmware", files=[
    "__init__.py", "access_token.py", "app.py", "cbor.py", "claims.py", "clock.py", "cnonce.py",
    "cose.py", "cwt.py", "errors.py", "jsonstrict.py", "jwe.py", "jwt.py", "net.py", "oscore.py",
    "rs.py", "scope.py", "state.py", "tokens.py",
    "coap/__init__.py", "coap/block.py", "coap/codes.py", "coap/dedup.py", "coap/formats.py",
    "coap/message.py", "coap/options.py", "coap/server.py",
    "crypto/__init__.py", "crypto/aes_cbc_hs.py", "crypto/aes_ccm.py", "crypto/aes_kw.py",
    "crypto/ct.py", "crypto/ed25519.py",
    "crypto/hkdf.py", "crypto/hmac.py", "crypto/p256.py", "crypto/sha512.py",
    "keystore/__init__.py", "keystore/bundle.py", "keystore/file.py", "keystore/persistent.py",
    "keystore/record.py",
])
