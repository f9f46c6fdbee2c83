# Extension package: ES256 verification in an ATECC608 secure element over I2C (board.json
# "backend": "atecc608"); its medium (nvs or file) is required by the board.
metadata(version="0.1.0", description="microace key store backend: ATECC608 secure element")
add_library("microace", "../..")
require("firmware", library="microace")  # the core package: firmware/manifest.py
# keystore/atecc608.py: the chip driver; keystore/secure_element.py: the key store's use of it.
package("microace", files=["keystore/atecc608.py", "keystore/secure_element.py"],
        base_path="../..")
