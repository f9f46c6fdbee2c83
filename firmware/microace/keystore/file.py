"""Key store medium: keystore.bin in the state directory (unix port, LittleFS on a board),
a storage.File (temp file + rename: the store is always the old or the new record)."""

from microace.errors import KeyStoreError, StorageError
from microace.storage import File


class FileMedium(File):
    name = "file"

    def __init__(self, state_dir, name="keystore.bin"):
        super().__init__(state_dir, name)

    def describe(self):
        return "none: key file in the state directory (development and CI)"

    def read(self):
        """The record bytes, or None when there is no store yet."""
        try:
            return super().read()
        except StorageError as e:
            raise KeyStoreError(str(e))
