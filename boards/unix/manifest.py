# Freeze manifest for a unix-port build with microace built in:
#   make -C ports/unix FROZEN_MANIFEST=/path/to/microace/boards/unix/manifest.py
# Relative paths are relative to this file. The unix port keeps its keys in a file (no NVS, no
# ATECC608) and starts with `micropython -c "import main"` (it runs no main.py by itself).
include("$(PORT_DIR)/variants/standard/manifest.py")
module("main.py", base_path="../../firmware")
package("microace", base_path="../../firmware", files=[
    "__init__.py", "app.py", "cbor.py", "clock.py", "cnonce.py", "cose.py", "cwt.py",
    "errors.py", "net.py", "oscore.py", "rs.py", "scope.py", "state.py", "tokens.py",
    "coap/__init__.py", "coap/block.py", "coap/codes.py", "coap/dedup.py", "coap/formats.py",
    "coap/message.py", "coap/options.py", "coap/server.py",
    "crypto/__init__.py", "crypto/aes_ccm.py", "crypto/ct.py", "crypto/ed25519.py",
    "crypto/hkdf.py", "crypto/hmac.py", "crypto/p256.py", "crypto/sha512.py",
    "keystore/__init__.py", "keystore/bundle.py", "keystore/file.py", "keystore/persistent.py",
    "keystore/record.py",
])
