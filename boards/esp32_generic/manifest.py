# Freeze manifest for esp32_generic (MicroPython board ESP32_GENERIC) with microace built in:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/microace/boards/esp32_generic/manifest.py
# Relative paths are relative to this file.
include("$(PORT_DIR)/boards/manifest.py")
package("microace", base_path="../../firmware")
