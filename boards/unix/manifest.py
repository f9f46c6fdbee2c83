# Freeze manifest for a unix-port build with microace built in:
#   make -C ports/unix FROZEN_MANIFEST=/path/to/microace/boards/unix/manifest.py
# Relative paths are relative to this file.
include("$(PORT_DIR)/variants/standard/manifest.py")
package("microace", base_path="../../firmware")
