# Freeze manifest for esp32c3_devkitm (MicroPython board ESP32_GENERIC_C3) with microace built in:
#   make -C ports/esp32 BOARD=ESP32_GENERIC_C3 FROZEN_MANIFEST=/path/to/microace/boards/esp32c3_devkitm/manifest.py
# Relative paths are relative to this file.
include("$(PORT_DIR)/boards/manifest.py")
package("microace", base_path="../../firmware")
