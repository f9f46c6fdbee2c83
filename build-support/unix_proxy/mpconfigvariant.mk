# microace's board proxy (`make firmware`): a 32-bit unix port with microace frozen in, built
# from a MicroPython source tree with
#   make -C ports/unix VARIANT_DIR=/path/to/microace/build-support/unix_proxy
# No libffi and no berkeley-db (not in the source tarball, not on a board); mbedtls stays on
# for `cryptolib` (AES for the key store) and `tls`.
MICROPY_PY_FFI = 0
MICROPY_PY_BTREE = 0
MICROPY_SSL_MBEDTLS = 1
CFLAGS += -m32
LDFLAGS += -m32
FROZEN_MANIFEST ?= $(VARIANT_DIR)/manifest.py
