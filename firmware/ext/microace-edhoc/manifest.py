# Extension package: EDHOC (RFC 9528), the RS as Responder with its static DH key made in its
# key store (board.json "edhoc"; docs/BOARDS.md). A board that enables EDHOC adds
# require("microace-edhoc", library="microace") to its manifest.
metadata(version="0.1.0", description="microace EDHOC responder (RFC 9528), the board's EDHOC key")
add_library("microace", "../..")
require("firmware", library="microace")  # the core package: firmware/manifest.py
package("microace", files=["ccs.py", "crypto/ecdh.py", "edhoc.py", "edhoc_resource.py",
                           "keystore/edhoc_record.py", "keystore/own.py",
                           "profiles/edhoc_oscore.py"], base_path="../..")
