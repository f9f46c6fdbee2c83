# Freeze manifest of the board proxy: what the unix board gets (boards/unix), plus the key
# store backends of the other boards and the EDHOC extension, so that the firmware, e2e and
# hostile suites (pytest --proxy) run on it. Frozen code takes no heap until it is imported.
include("../../boards/unix/manifest.py")
add_library("microace", "../../firmware")
require("microace-nvs", library="microace")
require("microace-atecc608", library="microace")
require("microace-edhoc", library="microace")
