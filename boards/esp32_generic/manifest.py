# Freeze manifest for esp32_generic (MicroPython board ESP32_GENERIC) with microace built in:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/microace/boards/esp32_generic/manifest.py
# Relative paths are relative to this file. The other ESP32 boards include this one: all keep
# their keys in NVS. A board.json with keystore backend "atecc608" needs "keystore/atecc608.py"
# added here; `microace deploy` copies exactly this list (tests/host/test_deploy.py checks it
# against the firmware's imports and board.json).
include("$(PORT_DIR)/boards/manifest.py")
module("main.py", base_path="../../firmware")
package("microace", base_path="../../firmware", files=[
    "__init__.py", "app.py", "cbor.py", "clock.py", "cnonce.py", "cose.py", "cwt.py",
    "errors.py", "net.py", "oscore.py", "rs.py", "scope.py", "state.py", "tokens.py",
    "coap/__init__.py", "coap/block.py", "coap/codes.py", "coap/dedup.py", "coap/formats.py",
    "coap/message.py", "coap/options.py", "coap/server.py",
    "crypto/__init__.py", "crypto/aes_ccm.py", "crypto/ct.py", "crypto/ed25519.py",
    "crypto/hkdf.py", "crypto/hmac.py", "crypto/p256.py", "crypto/sha512.py",
    "keystore/__init__.py", "keystore/bundle.py", "keystore/file.py", "keystore/nvs.py",
    "keystore/persistent.py", "keystore/record.py",  # file.py: state.py's medium
])
