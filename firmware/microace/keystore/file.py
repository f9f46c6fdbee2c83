"""Key store medium: one file in the state directory (unix port, LittleFS on a board).
state.py keeps the RS state in another file through the same medium.

A write goes to keystore.bin.tmp, is closed, then renamed over keystore.bin: rename replaces
the file atomically on POSIX and LittleFS, so the store is always the old or the new record.
A leftover .tmp (power lost before the rename) is never read. FAT cannot rename over a file:
the write then fails and the old record stays.
"""

import os
from errno import ENOENT

from microace.errors import KeyStoreError


class FileMedium:
    name = "file"

    def __init__(self, state_dir, name="keystore.bin"):
        self.dir = state_dir
        self.path = state_dir + "/" + name

    def describe(self):
        return "none: key file in the state directory (development and CI)"

    def read(self):
        """The record bytes, or None when there is no store yet."""
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except OSError as e:
            if e.args[0] == ENOENT:
                return None
            raise KeyStoreError("cannot read %s: %s" % (self.path, e))

    def write(self, blob):
        try:
            os.mkdir(self.dir)
        except OSError:
            pass  # it exists (or cannot be made: then open() says why)
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.rename(tmp, self.path)
