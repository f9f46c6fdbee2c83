# Freeze manifest for a unix-port build with microace built in:
#   make -C ports/unix FROZEN_MANIFEST=/path/to/microace/boards/unix/manifest.py
# Relative paths are relative to this file. The unix port keeps its keys in a file (the core
# package's keystore/file.py: no extension package) and starts with
# `micropython -c "import main"` (it runs no main.py by itself).
include("$(PORT_DIR)/variants/standard/manifest.py")
include("../../firmware")
