# Freeze manifest for esp32_generic (MicroPython board ESP32_GENERIC) with microace built in:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/microace/boards/esp32_generic/manifest.py
# Relative paths are relative to this file. The other ESP32 boards include this one: all keep
# their keys in NVS. A board.json with keystore backend "atecc608" adds
# require("microace-atecc608", library="microace"); `microace deploy` copies exactly what the
# manifests name (tests/host/test_mpy.py checks it against the firmware's imports and
# board.json).
include("$(PORT_DIR)/boards/manifest.py")
add_library("microace", "../../firmware")
require("microace-nvs", library="microace")
