# Extension package: ES256 verification in an ATECC608 secure element over I2C (board.json
# "backend": "atecc608"); its medium (nvs or file) is required by the board.
metadata(version="0.1.0", description="microace key store backend: ATECC608 secure element")
add_library("microace", "../..")
require("firmware", library="microace")  # the core package: firmware/manifest.py
package("microace", files=["keystore/atecc608.py"], base_path="../..")
