"""Microchip ATECC608A/B on I2C: the chip driver. `Atecc608` speaks the chip's command protocol
(wake, CRC-16, command packets, status codes, polling) and offers its commands: Read, Write,
Lock, Nonce, Verify, Random, MAC, GenKey, ECDH; the module functions read the configuration
zone. It knows slots and zones, not keys: what the key store keeps in which slot is
secure_element.py's.

Section names in the comments are those of Microchip's public ATECC608A/B data sheets
(TrustFLEX / Trust&GO, onlinedocs.microchip.com); packet details follow cryptoauthlib
(lib/calib). Nothing here has run against a real chip yet: see docs/ATECC608.md.
"""

import time

from micropython import const

from microace.errors import KeyStoreError, VerifyError

ADDRESS = const(0x60)  # 7-bit default I2C address (0xC0 with the R/W bit)

# Word Address Values: the first byte of every I2C write.
_RESET = b"\x00"  # the next read starts at the beginning of the output buffer
_SLEEP = b"\x01"  # sleep: the volatile state (TempKey, buffers) is lost
_IDLE = b"\x02"  # idle: the volatile state is kept
_COMMAND = const(0x03)  # a command group follows

# Command opcodes (Device Commands).
_OP_READ = const(0x02)
_OP_WRITE = const(0x12)
_OP_NONCE = const(0x16)
_OP_LOCK = const(0x17)
_OP_RANDOM = const(0x1B)
_OP_INFO = const(0x30)
_OP_VERIFY = const(0x45)
OP_GENKEY = const(0x40)
_OP_ECDH = const(0x43)

# Longest execution time in ms (Command Execution Times), taken at the slowest ChipMode clock
# divider (M2) from cryptoauthlib calib_execution.c; polling stops as soon as the chip answers.
_EXEC_MS = {_OP_READ: 5, _OP_WRITE: 45, _OP_NONCE: 20, _OP_LOCK: 35, _OP_RANDOM: 23, _OP_INFO: 5,
            _OP_VERIFY: 1085}
_EXEC_MS[OP_GENKEY] = 653
_EXEC_MS[_OP_ECDH] = 531
_T_WHI_US = const(1500)  # wake high delay tWHI before the chip listens (cryptoauthlib wake_delay)

# MAC: SHA-256 over a key in a secret slot and a challenge.
_OP_MAC = const(0x08)
_EXEC_MS[_OP_MAC] = 35  # MAC: 14 ms at the fastest clock divider; polled, so a safe bound
_MAC_MODE_SN = const(0x40)  # Mode bit 6: SN[2:3] and SN[4:7] enter the digest too

ZONE_CONFIG = const(0)
ZONE_DATA = const(2)
_ZONE_32 = const(0x80)  # Param1 bit 7 of Read/Write: 32 bytes instead of 4

LOCK_CONFIG = const(0x00)
LOCK_DATA = const(0x01)
_LOCK_SLOT = const(0x02)  # slot number in Mode bits 2-5; the summary is ignored (SlotLock)
LOCK_NO_CRC = const(0x80)

# Nonce in pass-through ("Fixed") mode writes 32 bytes to a target buffer (Nonce - Fixed).
_NONCE_PASSTHROUGH = const(0x03)
_NONCE_TEMPKEY = const(0x00)
NONCE_MSGDIGBUF = const(0x40)

_VERIFY_STORED = const(0x00)  # Param2 = slot holding the public key
_VERIFY_EXTERNAL = const(0x02)  # Param2 = curve, data carries the public key
VERIFY_SOURCE_MSGDIGBUF = const(0x20)  # message from the Message Digest Buffer, else TempKey
_VERIFY_KEY_P256 = const(0x0004)

# Configuration zone offsets (Configuration Zone).
_CFG_SLOT_CONFIG = const(20)  # 16 x 2 bytes, little-endian
_CFG_LOCK_VALUE = const(86)  # data zone: 0x55 unlocked, 0x00 locked
_CFG_LOCK_CONFIG = const(87)  # configuration zone: same values
_CFG_SLOT_LOCKED = const(88)  # 2 bytes, bit n == 0: slot n is locked
_CFG_KEY_CONFIG = const(96)  # 16 x 2 bytes, little-endian

# GenKey makes a private key in a slot, ECDH uses it there.
_GENKEY_PRIVATE = const(0x04)  # GenKey Mode: create a random private key, output its public key
_ECDH_OUTPUT_BUFFER = const(0x0C)  # ECDH Mode: key from the slot, result in the clear (calib_ecdh)

# Status/Error Codes: what a 4-byte response means.
_STATUS = {
    0x01: "miscompare (CheckMac or Verify)",
    0x03: "parse error: bad length, opcode or parameter",
    0x05: "ECC fault: the computation failed, a retry may succeed",
    0x07: "self-test error: cryptographic commands refused until power cycle",
    0x08: "health test error: the random number generator failed its health test",
    0x0F: "execution error: not allowed in this state (lock, slot configuration, TempKey)",
    0x11: "after wake: the chip did not receive the command",
    0xEE: "watchdog about to expire: the command could not start in time",
    0xFF: "the chip saw a CRC or communication error in the command",
}


class AteccError(KeyStoreError):
    """The chip refused, failed or did not answer; `status` is its status byte when it sent one."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class Miscompare(VerifyError):
    """Status 0x01: the signature (or MAC) does not match."""


def status_error(status):
    """The exception for a non-zero status byte."""
    text = "ATECC608 status 0x%02x: %s" % (status, _STATUS.get(status, "unknown status"))
    return Miscompare(text) if status == 0x01 else AteccError(text, status)


def crc16(buf, n=None):
    """CRC-16 as the chip computes it over count..data: polynomial 0x8005, register 0, each byte
    fed least significant bit first (cryptoauthlib atCRC). It travels little-endian."""
    reg = 0
    for i in range(len(buf) if n is None else n):
        b = buf[i]
        for _ in range(8):
            if (b ^ (reg >> 15)) & 1:
                reg = ((reg << 1) ^ 0x8005) & 0xFFFF
            else:
                reg = (reg << 1) & 0xFFFF
            b >>= 1
    return reg


def pack_command(buf, opcode, param1, param2, data=b""):
    """Write [0x03, count, opcode, param1, param2 (LE), data, CRC (LE)] into buf -> its length
    (I2C Transmission: word address then the command group; Command Packets)."""
    n = 8 + len(data)
    buf[0] = _COMMAND
    buf[1] = n - 1
    buf[2] = opcode
    buf[3] = param1
    buf[4] = param2 & 0xFF
    buf[5] = param2 >> 8
    buf[6:6 + len(data)] = data
    crc = crc16(memoryview(buf)[1:], n - 3)
    buf[n - 2] = crc & 0xFF
    buf[n - 1] = crc >> 8
    return n


def check_response(resp, size):
    """Validate a response group [count, data, CRC]; return its `size` data bytes (a view), or
    None for a command that answers with status 0. A non-zero status raises its error."""
    n = resp[0]
    if not 4 <= n <= len(resp):
        raise AteccError("ATECC608 response count %d out of range" % n)
    crc = crc16(resp, n - 2)
    if resp[n - 2] != crc & 0xFF or resp[n - 1] != crc >> 8:
        raise AteccError("ATECC608 response CRC mismatch (bus noise?)")
    if n == 4:
        if resp[1]:
            raise status_error(resp[1])
        if not size:
            return None
    if n != size + 3:
        raise AteccError("ATECC608 sent %d data bytes, expected %d" % (n - 3, size))
    return memoryview(resp)[1:n - 2]


def config_address(offset):
    """Read/Write address of the 4-byte word holding configuration byte `offset`
    (block << 3 | word, which is offset // 4 in this zone)."""
    return offset >> 2


def data_address(slot, block, word=0):
    """Read/Write address in the data zone: block << 8 | slot << 3 | word."""
    return block << 8 | slot << 3 | word


class Atecc608:
    """One chip on an I2C bus (machine.I2C API: writeto, readfrom_into). Each command wakes the
    chip, runs, and leaves it idle, like cryptoauthlib: the watchdog (about 1.3 s from wake)
    never fires mid-command, and idle keeps TempKey and the message digest buffer between
    commands."""

    def __init__(self, i2c, address=ADDRESS, wake=None):
        self.i2c = i2c
        self.address = address
        self._pulse = wake  # callable(i2c) that holds SDA low >= tWLO, for buses above 100 kHz
        self._tx = bytearray(8 + 128)  # word address + the largest command here (Verify External)
        self._rx = bytearray(67)  # the largest response here: GenKey's 64 data bytes

    def wake(self):
        """Wake the chip and check its wake status 0x11 (Device is Asleep: SDA low >= tWLO, then
        tWHI). An awake chip ignores the pulse and still holds its last reply: idle, retry."""
        got = None
        for _ in range(2):
            if self._pulse:
                self._pulse(self.i2c)
            else:
                # Address 0 at <= 100 kHz keeps SDA low for 8 bit times (>= 80 us); nobody
                # acknowledges it. Second byte 0x01 as calib_wakeup_i2c: not a general-call command.
                try:
                    self.i2c.writeto(0x00, b"\x01")
                except OSError:
                    pass
            time.sleep_us(_T_WHI_US)
            try:
                self.i2c.readfrom_into(self.address, memoryview(self._rx)[:4])
                got = bytes(self._rx[:4])
            except OSError:
                got = None
            if got == b"\x04\x11\x33\x43":
                return
            if got is not None and got[0] == 4 and got[1] == 0x07:
                # 04 07 40 C2 by atCRC; cryptoauthlib hal_check_wake matches 04 07 C4 40
                raise status_error(0x07)
            self.idle()
        raise AteccError("ATECC608 at 0x%02x: no wake response (got %s)"
                         % (self.address, got.hex() if got else "no ACK"))

    def idle(self):
        self._word(_IDLE)

    def sleep(self):
        self._word(_SLEEP)

    def _word(self, word):
        try:
            self.i2c.writeto(self.address, word)
        except OSError:
            pass  # best effort: a chip that does not answer is caught by the next wake

    def execute(self, opcode, param1, param2, data=b"", size=0):
        """Run one command -> its `size` data bytes (a view into a reused buffer), or None."""
        n = pack_command(self._tx, opcode, param1, param2, data)
        self.wake()
        try:
            try:
                self.i2c.writeto(self.address, memoryview(self._tx)[:n])
            except OSError:
                raise AteccError("ATECC608 did not take command 0x%02x" % opcode)
            self._receive(_EXEC_MS[opcode])
            return check_response(self._rx, size)
        finally:
            self.idle()

    def _receive(self, max_ms):
        """Poll for the response: the chip NACKs while busy. Bounded by max_ms tries, 1 ms apart."""
        rx = memoryview(self._rx)
        for _ in range(max_ms + 1):
            time.sleep_ms(1)
            try:
                self.i2c.writeto(self.address, _RESET)  # as calib_execute_receive
                self.i2c.readfrom_into(self.address, rx[:1])
                break
            except OSError:
                pass
        else:
            raise AteccError("ATECC608 gave no response within %d ms" % max_ms)
        if 4 <= rx[0] <= len(rx):  # else check_response reports the bad count
            try:
                self.i2c.readfrom_into(self.address, rx[1:rx[0]])
            except OSError:
                raise AteccError("ATECC608 response cut short")

    def info(self):
        """Info (Revision mode) -> 4 bytes, e.g. 00 00 60 02 for an ATECC608A."""
        return bytes(self.execute(_OP_INFO, 0, 0, size=4))

    def read(self, zone, address, size=4):
        return bytes(self.execute(_OP_READ, zone | (_ZONE_32 if size == 32 else 0), address,
                                  size=size))

    def write(self, zone, address, data):
        """Clear-text Write of 4 or 32 bytes (encrypted writes are not supported here)."""
        self.execute(_OP_WRITE, zone | (_ZONE_32 if len(data) == 32 else 0), address, data)

    def read_config(self):
        return b"".join(self.read(ZONE_CONFIG, block << 3, 32) for block in range(4))

    def lock(self, mode, summary=0):
        self.execute(_OP_LOCK, mode, summary)

    def lock_config(self):
        """Lock the configuration zone against the CRC of what was read: the chip refuses if its
        zone differs (Lock Command: summary CRC)."""
        self.lock(LOCK_CONFIG, crc16(self.read_config()))

    def lock_data(self):
        """Lock the data and OTP zones without a summary (slots may hold secrets the MCU cannot
        read), as cryptoauthlib calib_lock_data_zone."""
        self.lock(LOCK_DATA | LOCK_NO_CRC)

    def nonce_load(self, value, target=NONCE_MSGDIGBUF):
        """Nonce pass-through: 32 bytes into TempKey or the message digest buffer."""
        self.execute(_OP_NONCE, _NONCE_PASSTHROUGH | target, 0, value)

    def verify_stored(self, slot, sig, source=VERIFY_SOURCE_MSGDIGBUF):
        """Verify in Stored mode: raw r || s against the public key in `slot`."""
        return self._verify(_VERIFY_STORED | source, slot, sig)

    def verify_external(self, public, sig, source=VERIFY_SOURCE_MSGDIGBUF):
        """Verify in External mode: raw r || s against the 64-byte x || y `public`."""
        return self._verify(_VERIFY_EXTERNAL | source, _VERIFY_KEY_P256, bytes(sig) + bytes(public))

    def _verify(self, mode, param2, data):
        try:
            self.execute(_OP_VERIFY, mode, param2, data)
        except Miscompare:
            return False
        return True

    def random(self):
        """32 random bytes (Random, seed update). Until the configuration zone is locked the
        chip returns a fixed FF FF 00 00 pattern: refused here rather than passed on."""
        out = bytes(self.execute(_OP_RANDOM, 0, 0, size=32))
        if out == b"\xff\xff\x00\x00" * 8:
            raise AteccError("ATECC608 configuration zone unlocked: Random is a fixed pattern")
        return out

    def mac(self, slot, challenge, mode=_MAC_MODE_SN):
        """MAC command: SHA-256 over the key in `slot`, the 32-byte `challenge`, the opcode,
        mode, slot and serial number bytes (MAC Command; cryptoauthlib atcah_mac) -> 32 bytes.
        The key never leaves the chip."""
        return bytes(self.execute(_OP_MAC, mode, slot, challenge, size=32))

    def genkey(self, slot):
        """GenKey (Create): a new random P-256 private key in `slot`, which it never leaves
        -> its public key, 64 bytes x || y (not checked here: the caller decides)."""
        return bytes(self.execute(OP_GENKEY, _GENKEY_PRIVATE, slot, size=64))

    def ecdh(self, slot, x, y):
        """ECDH with the private key in `slot` and the public (x, y), result in the clear
        -> the 32-byte shared secret (its x coordinate)."""
        return bytes(self.execute(_OP_ECDH, _ECDH_OUTPUT_BUFFER, slot, bytes(x) + bytes(y),
                                  size=32))

    def configure_slot(self, slot, slot_config, key_config):
        """Patch SlotConfig and KeyConfig of `slot`, each into its 4-byte word (configuration
        zone unlocked; takes effect once it is locked)."""
        for offset, value in ((_CFG_SLOT_CONFIG + 2 * slot, slot_config),
                              (_CFG_KEY_CONFIG + 2 * slot, key_config)):
            word = bytearray(self.read(ZONE_CONFIG, config_address(offset)))
            word[offset & 3] = value & 0xFF
            word[(offset & 3) + 1] = value >> 8
            self.write(ZONE_CONFIG, config_address(offset), word)

    def is_slot_locked(self, slot):
        """Whether `slot` is locked (its SlotLocked bit, read from the configuration zone)."""
        return slot_locked(self.read(ZONE_CONFIG, config_address(_CFG_SLOT_LOCKED)), slot, 0)

    def lock_slot(self, slot):
        """Lock `slot` for good (Lock, SlotLock mode); a no-op when it already is."""
        if not self.is_slot_locked(slot):
            self.lock(_LOCK_SLOT | slot << 2)

    def write_public_key(self, slot, x, y):
        """Write x, y (32 bytes each, big-endian) in the Stored Public Key Format: each padded
        to 36 bytes with 4 leading zeros, 72 bytes written as three 32-byte blocks (as
        cryptoauthlib calib_write_pubkey)."""
        stored = bytearray(96)
        stored[4:36] = x
        stored[40:72] = y
        for block in range(3):
            self.write(ZONE_DATA, data_address(slot, block), stored[32 * block:32 * block + 32])

    def read_public_key(self, slot):
        """The (x, y) stored in `slot` (data zone locked, slot readable)."""
        stored = b"".join(self.read(ZONE_DATA, data_address(slot, block), 32)
                          for block in range(3))
        if stored[0:4] != bytes(4) or stored[36:40] != bytes(4):
            raise KeyStoreError("ATECC608 slot %d holds no stored public key" % slot)
        return stored[4:36], stored[40:72]


def _le16(config, offset):
    return config[offset] | config[offset + 1] << 8


def slot_locked(config, slot, at=_CFG_SLOT_LOCKED):
    """SlotLocked bit of `slot` (0 = locked) in the configuration bytes, found at `at`."""
    return not _le16(config, at) >> slot & 1


def public_key_slot_problems(config, slot):
    """Why `slot` cannot (yet) hold a P-256 public key written in the clear, read back and
    locked: [] when it can."""
    problems = []
    if config[_CFG_LOCK_CONFIG]:
        problems.append("configuration zone not locked")
    if config[_CFG_LOCK_VALUE]:
        problems.append("data zone not locked")
    kc = _le16(config, _CFG_KEY_CONFIG + 2 * slot)
    sc = _le16(config, _CFG_SLOT_CONFIG + 2 * slot)
    if kc & 1 or kc >> 2 & 7 != 4:
        problems.append("KeyConfig 0x%04x is not a P-256 public key (KeyType 4, Private 0)" % kc)
    if kc & 0xC2:
        problems.append("KeyConfig 0x%04x sets PubInfo, ReqRandom or ReqAuth" % kc)
    if not kc & 0x20:
        problems.append("KeyConfig 0x%04x is not Lockable" % kc)
    if sc & 0xC0:
        problems.append("SlotConfig 0x%04x: IsSecret/EncryptRead, no read-back" % sc)
    if sc >> 12 and not slot_locked(config, slot):
        problems.append("SlotConfig 0x%04x: WriteConfig is not Always, no clear write" % sc)
    return problems
