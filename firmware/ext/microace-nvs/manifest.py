# Extension package: the key store in an esp32.NVS namespace (board.json "backend": "nvs").
metadata(version="0.1.0", description="microace key store backend: esp32.NVS")
add_library("microace", "../..")
require("firmware", library="microace")  # the core package: firmware/manifest.py
package("microace", files=["keystore/nvs.py"], base_path="../..")
