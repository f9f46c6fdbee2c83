# Freeze manifest of the board proxy: what the unix board gets (boards/unix), plus the key
# store backends of the other boards, so that the firmware suite (pytest --proxy) runs on it.
include("../../boards/unix/manifest.py")
add_library("microace", "../../firmware")
require("microace-nvs", library="microace")
require("microace-atecc608", library="microace")
