# Freeze manifest for esp32s3_devkitc (MicroPython board ESP32_GENERIC_S3) with microace built in:
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=/path/to/microace/boards/esp32s3_devkitc/manifest.py
# The same modules as esp32_generic (key store in NVS); relative paths are relative to this file.
include("../esp32_generic/manifest.py")
