"""Cryptographic primitives in pure MicroPython (on hashlib and cryptolib)."""
