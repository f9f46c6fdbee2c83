"""Records that survive reboots: the self-checking frame and the file they are written to
atomically.

The key store (keystore/record.py, keystore/file.py) and the persisted RS state (state.py)
keep their data in the same frame, each with its own magic:

    magic (4 bytes) | version (1 byte) | body length (4 bytes BE) | CRC32 of body (4 bytes BE)
    | body (deterministic CBOR)

A torn, truncated or bit-flipped record is caught here (StorageError), so a reader can tell a
good record from a bad one and never trusts half a write. `File` writes a temp file and
renames it over the old one: rename replaces a file atomically on POSIX and LittleFS, so the
file is always the old or the new record. A leftover .tmp (power lost before the rename) is
never read. FAT cannot rename over a file: the write then fails and the old record stays.
"""

import os
import struct
from binascii import crc32
from errno import ENOENT

from micropython import const

from microace import cbor
from microace.errors import DecodeError, StorageError

_VERSION = const(1)
HEAD = const(13)  # magic, version, length, CRC: where the body starts
_MAX_ITEMS = const(4096)  # the data is ours, but a scope map can hold many entries


def frame(body, magic):
    """The record around a CBOR body given as a list of byte strings (a body in pieces need
    not be joined first)."""
    size = crc = 0
    for part in body:
        size += len(part)
        crc = crc32(part, crc)
    return b"".join([magic, struct.pack(">BII", _VERSION, size, crc)] + body)


def check(blob, magic, what):
    """Raise StorageError unless blob is a whole record of this version with an intact body
    (`what`: whose record, for the message)."""
    if len(blob) < HEAD or bytes(blob[:4]) != magic:
        raise StorageError("not a microace %s record" % what)
    version, length, crc = struct.unpack_from(">BII", blob, 4)
    if version != _VERSION:
        raise StorageError("record version %d, this firmware reads %d" % (version, _VERSION))
    if length != len(blob) - HEAD:
        raise StorageError("length %d, %d bytes present (truncated or torn write)"
                           % (length, len(blob) - HEAD))
    if crc32(memoryview(blob)[HEAD:]) != crc:
        raise StorageError("CRC mismatch")


def load(blob, magic, what):
    """The CBOR body of an intact record; StorageError for anything else."""
    check(blob, magic, what)
    if type(blob) is not bytes:
        blob = bytes(blob)  # decode_prefix would copy it anyway
    try:
        body, end = cbor.decode_prefix(blob, HEAD, 16, _MAX_ITEMS)
    except DecodeError as e:
        raise StorageError("body is not CBOR (%s)" % e)
    if end != len(blob):
        raise StorageError("trailing bytes")
    return body


class File:
    """One file `name` in the directory `folder` (made by the first write), replaced whole."""

    def __init__(self, folder, name):
        self.dir = folder
        self.path = folder + "/" + name

    def read(self):
        """The file's bytes, or None when there is none yet."""
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except OSError as e:
            if e.args[0] == ENOENT:
                return None
            raise StorageError("cannot read %s: %s" % (self.path, e))

    def write(self, blob):
        """Replace the file with `blob` atomically; OSError when it cannot be written."""
        try:
            os.mkdir(self.dir)
        except OSError:
            pass  # it exists (or cannot be made: then open() says why)
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.rename(tmp, self.path)
