"""A command-level model of a Microchip ATECC608A/B on I2C, for the driver tests.

It runs inside MicroPython as the `i2c` object handed to the driver (writeto, readfrom_into),
so the driver under test runs unchanged. It follows the public data sheets and cryptoauthlib
as far as they go; where the real chip's behaviour is not documented the choice is marked
"guess". Whatever it does not model raises NotImplementedError, so no test can pass through a
gap. The tests exec this source in MicroPython (it is not imported on the host).
`make typecheck` holds its machine.I2C side to the stubs' machine.I2C (the base class below,
seen by the checker only).
"""

import os

from microace.crypto import ecdh, p256
from microace.errors import DecodeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from machine import I2C as _I2C
else:
    _I2C = object

OK = 0x00
MISCOMPARE = 0x01
PARSE = 0x03
EXEC = 0x0F
COMM = 0xFF

SLOT_SIZES = (36,) * 8 + (416,) + (72,) * 7
# Real opcodes this model leaves out (anything else is not a command: parse error).
UNMODELLED = (0x01, 0x08, 0x11, 0x15, 0x1C, 0x20, 0x24, 0x28, 0x41, 0x46, 0x47,
              0x51, 0x56, 0x77, 0x80)


def model_crc(data):
    """CRC-16 written independently of the driver: CRC-16/ARC (reflected poly 0xA001, register 0)
    gives the bit-reversed register of the chip's CRC; reverse it back; little-endian."""
    reg = 0
    for b in data:
        reg ^= b
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    out = 0
    for i in range(16):
        out |= (reg >> i & 1) << (15 - i)
    return bytes((out & 0xFF, out >> 8))


class Nack(OSError):
    """What machine.I2C raises when no device acknowledges (ENODEV)."""

    def __init__(self):
        super().__init__(19)


class AteccModel(_I2C):
    def __init__(self, address=0x60, revision=b"\x00\x00\x60\x02"):
        self.address = address
        self.revision = revision
        c = self.config = bytearray(128)
        c[0:4] = b"\x01\x23\x5a\xa5"  # SN[0:3] (SN[0:1] = 01 23 per the data sheets)
        c[4:8] = revision
        c[8:13] = b"\x11\x22\x33\x44\x01"  # SN[4:8]
        c[16] = address << 1
        c[86] = c[87] = 0x55  # LockValue, LockConfig: unlocked
        c[88] = c[89] = 0xFF  # SlotLocked: no slot locked
        for slot in range(16):
            c[96 + 2 * slot] = 0x1C  # KeyConfig: KeyType 7 (data), a guess at a blank part
        self.slots = [bytearray(n) for n in SLOT_SIZES]
        self.state = "sleep"  # sleep | idle | awake (power-up: asleep)
        self.out = b""  # output buffer and the read position in it
        self.pos = 0
        self.busy = 0  # transactions still NACKed: the command's execution time
        self.busy_polls = 1
        self.tempkey = None
        self.msgdig = None
        self.inject = None  # status byte to answer the next command with
        self.wake_reply = b"\x04\x11\x33\x43"
        self.corrupt_command = False  # flip a bit of the next command on the wire
        self.corrupt_response = False
        self.log = []  # command groups received, when a list

    # --- the machine.I2C side -------------------------------------------------------------

    def writeto(self, addr, buf, stop=True):
        buf = bytes(buf)
        if addr == 0:
            if self.state != "awake":  # a long low on SDA: wake (an awake chip ignores it)
                self.state = "awake"
                self.out, self.pos, self.busy = self.wake_reply, 0, 0
            raise Nack()  # nothing answers the general call address
        self._ack(addr)
        word = buf[0]
        if word == 0x00:
            self.pos = 0
        elif word == 0x01:
            self.state = "sleep"
            self.tempkey = self.msgdig = None
        elif word == 0x02:
            self.state = "idle"
        elif word == 0x03:
            self._command(buf[1:])
        else:
            raise NotImplementedError("word address 0x%02x" % word)
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._ack(addr)
        for i in range(len(buf)):
            buf[i] = self.out[self.pos] if self.pos < len(self.out) else 0xFF  # guess
            self.pos += 1

    def _ack(self, addr):
        if addr != self.address or self.state != "awake":
            raise Nack()
        if self.busy:
            self.busy -= 1
            raise Nack()

    # --- commands ----------------------------------------------------------------------------

    def _command(self, pkt):
        if self.corrupt_command:
            self.corrupt_command = False
            pkt = bytes((pkt[0],)) + bytes((pkt[1] ^ 0x04,)) + pkt[2:]
        if self.log is not None:
            self.log.append(pkt)
        self.busy = self.busy_polls
        if len(pkt) < 7 or pkt[0] != len(pkt) or model_crc(pkt[:-2]) != pkt[-2:]:
            return self._reply(COMM)
        if self.inject is not None:
            status, self.inject = self.inject, None
            return self._reply(status)
        op, p1, p2, data = pkt[1], pkt[2], pkt[3] | pkt[4] << 8, pkt[5:-2]
        if op == 0x08:  # MAC: its own section below
            return self._reply(self._mac(p1, p2, data))
        handler = {0x02: self._read, 0x12: self._write, 0x16: self._nonce, 0x17: self._lock,
                   0x1B: self._random, 0x30: self._info, 0x45: self._verify,
                   0x40: self._genkey, 0x43: self._ecdh}.get(op)
        if handler is None:
            if op in UNMODELLED:
                raise NotImplementedError("opcode 0x%02x" % op)
            return self._reply(PARSE)
        self._reply(handler(p1, p2, data))

    def _reply(self, result):
        data = bytes((result,)) if isinstance(result, int) else result
        group = bytes((len(data) + 3,)) + data
        group += model_crc(group)
        if self.corrupt_response:
            self.corrupt_response = False
            group = group[:1] + bytes((group[1] ^ 0x80,)) + group[2:]
        self.out, self.pos = group, 0

    def _info(self, mode, p2, data):
        if mode:
            raise NotImplementedError("Info mode %d" % mode)
        return PARSE if p2 or data else self.revision

    def _random(self, mode, p2, data):
        if mode > 1 or p2 or data:
            return PARSE
        if self.config[87]:  # configuration zone unlocked: fixed test pattern
            return b"\xff\xff\x00\x00" * 8
        return os.urandom(32)

    def _read(self, p1, addr, data):
        if p1 & 0x7C or data:
            return PARSE
        size = 32 if p1 & 0x80 else 4
        where = self._address(p1 & 3, addr, size)
        if where is None:
            return PARSE
        slot, at = where
        if slot is None:
            return bytes(self.config[at:at + size])
        if self.config[86]:  # data zone unlocked: slots cannot be read yet
            return EXEC
        sc = self._slot_config(slot)
        if sc & 0x40:
            raise NotImplementedError("encrypted Read")
        if sc & 0x80:  # IsSecret
            return EXEC
        out = bytes(self.slots[slot][at:at + size])
        return out + bytes(size - len(out))  # past the end of a 72-byte slot: zeros (guess)

    def _write(self, p1, addr, data):
        if p1 & 0x40:
            raise NotImplementedError("encrypted Write")
        size = 32 if p1 & 0x80 else 4
        if p1 & 0x3C or len(data) != size:
            return PARSE
        where = self._address(p1 & 3, addr, size)
        if where is None:
            return PARSE
        slot, at = where
        if slot is None:
            # Locked zone; SN/RevNum (0-15); UserExtra..LockConfig (84-87) belong to
            # UpdateExtra and Lock.
            if not self.config[87] or at < 16 or (at < 88 and at + size > 84):
                return EXEC
            self.config[at:at + size] = data
            return OK
        if self.config[87] or self._key_config(slot) & 1:
            return EXEC  # data zone writable only once the config is locked; private keys never
        if not self.config[86]:
            if self._locked(slot) or self._slot_config(slot) >> 12:
                return EXEC  # only WriteConfig Always takes a clear write after the data lock
        elif size != 32:
            return EXEC  # before the data lock only 32-byte writes (cryptoauthlib calib_write.c)
        end = min(at + size, SLOT_SIZES[slot])
        self.slots[slot][at:end] = data[:end - at]
        return OK

    def _lock(self, mode, summary, data):
        if data or mode & 0x40:
            return PARSE
        zone = mode & 3
        if zone == 0:
            if not self.config[87]:
                return EXEC
            if not mode & 0x80 and summary != self._crc_int(self.config):
                return EXEC
            self.config[87] = 0
        elif zone == 1:
            if self.config[87] or not self.config[86]:
                return EXEC
            if not mode & 0x80 and summary != self._crc_int(self._data_zone()):
                return EXEC
            self.config[86] = 0
        elif zone == 2:  # SlotLock: the summary is ignored
            slot = mode >> 2 & 0xF
            if self.config[86] or not self._key_config(slot) & 0x20 or self._locked(slot):
                return EXEC  # data lock first is a guess at the rule
            self.config[88 + slot // 8] &= ~(1 << slot % 8)
        else:
            return PARSE
        return OK

    def _nonce(self, mode, p2, data):
        if mode & 3 != 3:
            raise NotImplementedError("Nonce random modes")
        if mode & 0x1C or p2 or len(data) != (64 if mode & 0x20 else 32):
            return PARSE
        target = mode & 0xC0
        if target == 0x00:
            self.tempkey = data
        elif target == 0x40:
            self.msgdig = data
        else:
            raise NotImplementedError("Nonce target 0x%02x" % target)
        return OK

    def _verify(self, mode, p2, data):
        kind = mode & 7
        if mode & 0x80 or kind not in (0, 2):
            raise NotImplementedError("Verify mode 0x%02x" % mode)
        if mode & 0x58:
            return PARSE
        if kind == 0:
            if p2 > 15 or len(data) != 64:
                return PARSE
            kc = self._key_config(p2)
            if self.config[86] or kc & 1 or kc >> 2 & 7 != 4:
                return EXEC
            if kc & 2:
                raise NotImplementedError("validated public keys (PubInfo)")
            key = self.slots[p2]
            x, y = key[4:36], key[40:72]
        else:
            if p2 != 4 or len(data) != 128:
                return PARSE
            x, y = data[64:96], data[96:128]
        if mode & 0x20:
            message, self.msgdig = self.msgdig, None
        else:
            message, self.tempkey = self.tempkey, None
        if message is None:  # consumed after use: stricter than the chip may be (guess)
            return EXEC
        try:
            q = p256.decode_point(bytes(x), bytes(y))
        except DecodeError:
            return EXEC  # a key off the curve: guess
        return OK if p256.verify(q, message[:32], data[:64]) else MISCOMPARE

    def _private_slot(self, p2):
        # KeyID of a P-256 private key (KeyConfig Private, KeyType 4) -> its slot, or a status
        if p2 > 15:
            return PARSE
        kc = self._key_config(p2)
        if self.config[87] or not kc & 1 or kc >> 2 & 7 != 4:
            return EXEC  # configuration zone unlocked, or not a P-256 private key
        return p2

    def _genkey(self, mode, p2, data):
        # GenKey: Mode bit 2 creates a random private key in KeyID and outputs its public key;
        # mode 0 recomputes the public key of the stored one; digest modes are not modelled.
        if mode & ~0x04:
            raise NotImplementedError("GenKey mode 0x%02x" % mode)
        if data:
            return PARSE
        slot = self._private_slot(p2)
        if slot != p2:
            return slot
        key = self.slots[slot]
        if mode & 0x04:
            # After the data lock only a slot whose WriteConfig allows GenKey (bit 13) and is
            # not locked; before it, any private-key slot (guess).
            if self._locked(slot) or (not self.config[86] and not self._slot_config(slot) & 0x2000):
                return EXEC
            key[4:36] = ecdh.generate_scalar().to_bytes(32, "big")  # kept only in the slot
        k = int.from_bytes(key[4:36], "big")
        if not k:
            return EXEC  # no private key in the slot (guess)
        return ecdh.public_bytes(k)

    def _ecdh(self, mode, p2, data):
        # ECDH with the private key in KeyID (Mode bit 0 clear) and the 64-byte public key in
        # data; only the clear result into the output buffer (Mode 0x0C) is modelled.
        if mode != 0x0C:
            raise NotImplementedError("ECDH mode 0x%02x" % mode)
        if len(data) != 64:
            return PARSE
        slot = self._private_slot(p2)
        if slot != p2:
            return slot
        sc = self._slot_config(slot)
        if not sc & 0x04 or sc & 0x08:
            return EXEC  # ReadKey: ECDH not permitted, or its result may not leave in clear
        k = int.from_bytes(self.slots[slot][4:36], "big")
        try:
            q = p256.decode_point(bytes(data[:32]), bytes(data[32:]))
        except DecodeError:
            return EXEC  # a public key off the curve (the chip validates it)
        if not k:
            return EXEC
        return ecdh.ecdh(k, q)

    # --- MAC (opcode 0x08) --------------------------------------------------------------------

    def _mac(self, mode, slot, data):
        """MAC with a slot key and a 32-byte challenge (Mode bits 0-1 clear): SHA-256 of key,
        challenge, opcode, mode, slot (LE), 11 bytes of OTP or zeros, SN[8], SN[4:7] or
        zeros, SN[0:1], SN[2:3] or zeros (cryptoauthlib atcah_mac). TempKey sources and OTP
        are not modelled."""
        import hashlib

        if mode & 0x33:
            raise NotImplementedError("MAC mode 0x%02x (TempKey, OTP)" % mode)
        if mode & 0x8C or slot > 15 or len(data) != 32:
            return PARSE
        if self.config[86] or self._key_config(slot) & 1 or self._slot_config(slot) & 0x10:
            return EXEC  # data zone unlocked (guess), a private key, or NoMac set
        c, sn = self.config, mode & 0x40
        message = (bytes(self.slots[slot][:32]) + bytes(data) + bytes((0x08, mode, slot, 0))
                   + bytes(11) + c[12:13] + (c[8:12] if sn else bytes(4)) + c[0:2]
                   + (c[2:4] if sn else bytes(2)))
        return hashlib.sha256(message).digest()

    # --- helpers -----------------------------------------------------------------------------

    def _address(self, zone, addr, size):
        # Read/Write address -> (None, offset) in the configuration zone, (slot, offset) in the
        # data zone; None when out of range
        if zone == 0:
            if addr & ~0x1F or (size == 32 and addr & 7):
                return None
            return None, (addr >> 3) * 32 + (addr & 7) * 4
        if zone != 2:
            raise NotImplementedError("OTP zone")
        slot, block, word = addr >> 3 & 0xF, addr >> 8, addr & 7
        at = block * 32 + word * 4
        if addr & 0x80 or block > 15 or (size == 32 and word) or at >= SLOT_SIZES[slot] \
                or (size == 4 and at + 4 > SLOT_SIZES[slot]):
            return None
        return slot, at

    def _key_config(self, slot):
        return self.config[96 + 2 * slot] | self.config[97 + 2 * slot] << 8

    def _slot_config(self, slot):
        return self.config[20 + 2 * slot] | self.config[21 + 2 * slot] << 8

    def _locked(self, slot):
        return not (self.config[88] | self.config[89] << 8) >> slot & 1

    def _data_zone(self):
        # Data zone summary: all slots but private keys, then OTP (cryptoauthlib calib_lock.c);
        # the OTP zone is not modelled and reads as 64 zero bytes.
        return b"".join(bytes(s) for i, s in enumerate(self.slots)
                        if not self._key_config(i) & 1) + bytes(64)

    def _crc_int(self, data):
        c = model_crc(data)
        return c[0] | c[1] << 8
