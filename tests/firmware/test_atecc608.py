"""The ATECC608 driver (microace.keystore.atecc608) in MicroPython: CRC-16 against data sheet
byte sequences and an independent host implementation, packet layouts, response and status
decoding, wake and polling, and the whole provisioning and verification path against a
command-level model of the chip (tests/firmware/atecc_model.py) that checks real ECDSA
signatures made by pyca/cryptography."""

import hashlib
import random
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.support.mp_harness import run_micropython, skip_if_out_of_memory
from microace_host import firmware

MODEL = Path(__file__).with_name("atecc_model.py")
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SLOT = 9
PROTECTION = ("AS public key in a locked ATECC608 slot: cannot be swapped; "
              "ES256 verify runs in the chip")
UNMACED = ("the rest of the record is NOT authenticated (no mac_slot): a flash writer can add "
           "keys (EdDSA, HMAC, AES) for the issuer, change issuer, audience, scope map and "
           "limits, and clear sealed")

SETUP = """
import hashlib
from microace.keystore import atecc608 as se
from microace.keystore.secure_element import AteccVerifier
from microace.errors import KeyStoreError, VerifyError
_hx = bytes.fromhex

def _outcome(f, *args):
    # 'ok:<hex or repr>' or 'Class:status:message'
    try:
        r = f(*args)
    except Exception as e:
        message = e.args[0] if e.args else ''
        return '%s:%s:%s' % (type(e).__name__, getattr(e, 'status', None), message)
    if isinstance(r, (bytes, bytearray, memoryview)):
        return 'ok:' + bytes(r).hex()
    return 'ok:%r' % (r,)

class _Handle:
    def __init__(self, alg):
        self.alg = alg
"""


def host_crc(data):
    """The chip's CRC as a polynomial remainder: the message bits in wire order (each byte least
    significant bit first) are the coefficients from the highest power down; times x^16, modulo
    x^16 + x^15 + x^2 + 1. Little-endian, as on the wire."""
    m = 0
    for b in data:
        for i in range(8):
            m = m << 1 | (b >> i & 1)
    m <<= 16
    while m.bit_length() > 16:
        m ^= 0x18005 << (m.bit_length() - 17)
    return m.to_bytes(2, "little")


def host_packet(opcode, param1, param2, data=b""):
    """[0x03, count, opcode, param1, param2 LE, data, CRC LE], built on the host."""
    body = bytes([7 + len(data), opcode, param1, param2 & 0xFF, param2 >> 8]) + data
    return b"\x03" + body + host_crc(body)


def host_response(data):
    group = bytes([len(data) + 3]) + data
    return group + host_crc(group)


def raw_signature(key, message):
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def public_xy(key):
    numbers = key.public_key().public_numbers()
    return numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")


@pytest.fixture
def se(mp):
    """MicroPython with the driver imported and the chip model class defined."""
    with skip_if_out_of_memory("compiling the driver, p256 and the model from source needs more "
                               "than this heap (test_heap_32k runs them from .mpy at 32 KB of "
                               "working heap)"):
        mp.exec(MODEL.read_text())
        mp.exec(SETUP)
    return mp


@pytest.fixture
def provisioned(se):
    """A model chip `m` taken from blank through the documented sequence by verifier `v`
    (slot 9) -> (mp, the AS signing key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    x, y = public_xy(key)
    se.exec("m = AteccModel()\nv = AteccVerifier(m, slot=%d)\n"
            "v.configure_public_key_slot(%d)\nv.chip.lock_config()\nv.chip.lock_data()\n"
            "v.provision_public_key(%d, _hx(%r), _hx(%r))\nv.lock_slot(%d)"
            % (SLOT, SLOT, SLOT, x.hex(), y.hex(), SLOT))
    return se, key


# --- CRC-16 ---------------------------------------------------------------------------------

DATASHEET_CRCS = [
    # (bytes the CRC covers, CRC on the wire, where the sequence comes from)
    ("0411", "3343", "wake response 04 11 33 43 (Device is Asleep; cryptoauthlib hal_check_wake)"),
    ("0400", "0340", "status 0x00 group 04 00 03 40"),
    ("0730000000", "035d", "Info command 03 07 30 00 00 00 03 5D"),
    ("0407", "40c2", "status 0x07 (self-test error) group"),
]


def test_crc_of_datasheet_sequences(se):
    for data, crc, where in DATASHEET_CRCS:
        raw = bytes.fromhex(data)
        assert host_crc(raw).hex() == crc, where
        assert se.eval("'%%04x' %% se.crc16(_hx(%r))" % data) == crc[2:] + crc[:2], where
        assert se.eval("model_crc(_hx(%r)).hex()" % data) == crc, where
    # cryptoauthlib's hal_check_wake compares against 04 07 C4 40 for a self-test failure,
    # which does not carry a valid CRC; the driver accepts both spellings (test_wake).
    assert host_crc(b"\x04\x07") != bytes.fromhex("c440")


def test_crc_matches_host_on_random_buffers(se):
    rng = random.Random(608)
    rows = [(bytes(rng.randrange(256) for _ in range(rng.randrange(141))),) for _ in range(150)]
    rows += [(b"",), (b"\x00" * 130,), (b"\xff" * 136,)]
    se.exec("def _crcs(b):\n    c = se.crc16(b)\n    return (c & 0xFF, c >> 8, model_crc(b))")
    got = se.map("_crcs", rows)
    assert len(got) == len(rows)
    for (data,), (lo, hi, model) in zip(rows, got):
        assert bytes([lo, hi]) == host_crc(data) == model, data.hex()


# --- packets --------------------------------------------------------------------------------

SIG = bytes(range(64))
PUB = bytes(range(64, 128))
DIGEST = bytes(range(200, 232))

PACKETS = [
    # (what, opcode, param1, param2, data)
    ("Info, Revision mode", 0x30, 0x00, 0x0000, b""),
    ("Read config word 22 (bytes 88-91)", 0x02, 0x00, 0x0016, b""),
    ("Read config block 3, 32 bytes", 0x02, 0x80, 0x0018, b""),
    ("Read data slot 9 block 2, 32 bytes", 0x02, 0x82, 0x0248, b""),
    ("Write config word 9 (4 bytes)", 0x12, 0x00, 0x0009, b"\x01\x02\x03\x04"),
    ("Write data slot 9 block 0, 32 bytes", 0x12, 0x82, 0x0048, PUB[:32]),
    ("Lock config with summary CRC", 0x17, 0x00, 0xBEEF, b""),
    ("Lock data, no CRC", 0x17, 0x81, 0x0000, b""),
    ("Lock slot 9", 0x17, 0x26, 0x0000, b""),
    ("Nonce pass-through into the message digest buffer", 0x16, 0x43, 0x0000, DIGEST),
    ("Nonce pass-through into TempKey", 0x16, 0x03, 0x0000, DIGEST),
    ("Verify Stored slot 9, message digest buffer", 0x45, 0x20, 0x0009, SIG),
    ("Verify External P256, message digest buffer", 0x45, 0x22, 0x0004, SIG + PUB),
    ("Random, seed update", 0x1B, 0x00, 0x0000, b""),
]


def test_packet_encoding(se):
    se.exec("_txb = bytearray(136)\n"
            "def _pack(op, p1, p2, data):\n"
            "    return bytes(_txb[:se.pack_command(_txb, op, p1, p2, data)])")
    got = se.map("_pack", [row[1:] for row in PACKETS])
    for (what, *fields), packet in zip(PACKETS, got):
        assert packet == host_packet(*fields), what
    assert got[0] == bytes.fromhex("030730000000035d")  # the Info packet, byte for byte
    # count bytes of cryptoauthlib: NONCE_COUNT_LONG 39, VERIFY_256_STORED_COUNT 71,
    # VERIFY_256_EXTERNAL_COUNT 135
    assert (got[9][1], got[11][1], got[12][1]) == (39, 71, 135)


def test_addresses(se):
    assert se.eval("[se.config_address(o) for o in (20, 38, 88, 114, 127)]") == [5, 9, 22, 28, 31]
    assert se.eval("[se.data_address(s, b, w) for s, b, w in ((9, 0, 0), (9, 2, 0), (15, 1, 7), "
                   "(8, 12, 3))]") == [0x048, 0x248, 0x17F, 0xC43]


def test_driver_methods_send_the_documented_packets(provisioned):
    """Every step of provisioning and verification, as the model received it on the wire."""
    mp, key = provisioned
    x, y = public_xy(key)
    config = mp.eval("bytes(m.config)")
    mp.exec("m.log = []\nv.chip.info()\nv.chip.random()\nv.read_public_key(%d)\n"
            "v.verify_es256(_hx(%r), _hx(%r))\n"
            "v.chip.nonce_load(_hx(%r))\nv.chip.verify_external(_hx(%r), _hx(%r))"
            % (SLOT, DIGEST.hex(), SIG.hex(), DIGEST.hex(), (x + y).hex(), SIG.hex()))
    got = mp.eval("m.log")
    want = [host_packet(0x30, 0, 0), host_packet(0x1B, 0, 0)]
    want += [host_packet(0x02, 0x82, 0x0048 | block << 8) for block in range(3)]
    want += [host_packet(0x16, 0x43, 0, DIGEST), host_packet(0x45, 0x20, SLOT, SIG)]
    want += [host_packet(0x16, 0x43, 0, DIGEST), host_packet(0x45, 0x22, 0x0004, SIG + x + y)]
    assert got == [w[1:] for w in want]

    # the provisioning sequence from a blank chip, replayed with a log
    mp.exec("m2 = AteccModel()\nv2 = AteccVerifier(m2, slot=%d)\n"
            "v2.configure_public_key_slot(%d)\nv2.chip.lock_config()\nv2.chip.lock_data()\n"
            "v2.provision_public_key(%d, _hx(%r), _hx(%r))\nv2.lock_slot(%d)"
            % (SLOT, SLOT, SLOT, x.hex(), y.hex(), SLOT))
    log = mp.eval("m2.log")
    config2 = mp.eval("bytes(m2.config)")
    read_config = [host_packet(0x02, 0x80, block << 3) for block in range(4)]
    # the configuration zone as it was when locked: both zones and every slot still unlocked
    at_lock = config2[:86] + b"\x55\x55\xff\xff" + config2[90:]
    want = [
        host_packet(0x02, 0x00, 9),  # word holding SlotConfig[9] (bytes 38-39)
        host_packet(0x12, 0x00, 9, bytes(4)),  # SlotConfig 0x0000
        host_packet(0x02, 0x00, 28),  # word holding KeyConfig[9] (bytes 114-115)
        host_packet(0x12, 0x00, 28, bytes([0x1C, 0, 0x30, 0])),  # KeyConfig[8], [9] = 0x0030
        *read_config,
        host_packet(0x17, 0x00, int.from_bytes(host_crc(at_lock), "little")),
        host_packet(0x17, 0x81, 0),
        *read_config,
    ]
    stored = bytes(4) + x + bytes(4) + y + bytes(24)
    want += [host_packet(0x12, 0x82, 0x0048 | b << 8, stored[32 * b:32 * b + 32]) for b in range(3)]
    want += [host_packet(0x02, 0x82, 0x0048 | b << 8) for b in range(3)]
    want += [host_packet(0x02, 0x00, 22), host_packet(0x17, 0x02 | SLOT << 2, 0)]
    assert log == [w[1:] for w in want]
    assert config2 == config  # same steps, same configuration


# --- responses and status codes -------------------------------------------------------------

STATUS_ERRORS = [
    # (status, exception class, words the message must contain)
    (0x01, "Miscompare", "miscompare"),
    (0x03, "AteccError", "parse error"),
    (0x05, "AteccError", "ECC fault"),
    (0x07, "AteccError", "self-test"),
    (0x08, "AteccError", "health test"),
    (0x0F, "AteccError", "execution error"),
    (0x11, "AteccError", "after wake"),
    (0xEE, "AteccError", "watchdog"),
    (0xFF, "AteccError", "CRC or communication error"),
    (0x42, "AteccError", "unknown status"),
]


def test_response_parsing(se):
    se.exec("def _check(resp, size):\n"
            "    buf = bytearray(35)\n    buf[:len(resp)] = resp\n"
            "    return _outcome(se.check_response, buf, size)")
    info = host_response(bytes.fromhex("00006002"))
    rows = [(info, 4), (host_response(b"\x00"), 0), (host_response(bytes(range(32))), 32)]
    rows += [(host_response(bytes([status])), 0) for status, _, _ in STATUS_ERRORS]
    rows += [
        (info[:-1] + bytes([info[-1] ^ 1]), 4),  # CRC error
        (b"\x03\x00\x00", 0),  # count below 4
        (b"\x24" + bytes(34), 32),  # count beyond the buffer
        (host_response(b"\x00"), 4),  # status 0 where data was expected
        (info, 32),  # 4 data bytes where 32 were expected
        (info, 0),  # data where a status was expected
    ]
    got = se.map("_check", rows)
    assert got[:3] == ["ok:00006002", "ok:None", "ok:" + bytes(range(32)).hex()]
    for (status, cls, words), outcome in zip(STATUS_ERRORS, got[3:]):
        name, st, message = outcome.split(":", 2)
        assert (name, st) == (cls, "None" if cls == "Miscompare" else str(status)), outcome
        assert words in message and "0x%02x" % status in message, outcome
    tail = got[3 + len(STATUS_ERRORS):]
    assert tail[0].startswith("AteccError:None:") and "CRC mismatch" in tail[0]
    assert "count 3 out of range" in tail[1] and "count 36 out of range" in tail[2]
    assert "sent 1 data bytes, expected 4" in tail[3]
    assert "sent 4 data bytes, expected 32" in tail[4]
    assert "sent 4 data bytes, expected 0" in tail[5]
    assert se.eval("issubclass(se.Miscompare, VerifyError) and "
                   "issubclass(se.AteccError, KeyStoreError)")


def test_status_codes_through_the_bus(provisioned):
    mp, key = provisioned
    mp.exec("def _injected(status):\n    m.inject = status\n    return _outcome(v.chip.info)")
    got = mp.map("_injected", [(status,) for status, _, _ in STATUS_ERRORS])
    for (status, cls, words), outcome in zip(STATUS_ERRORS, got):
        assert outcome.startswith(cls + ":"), outcome
        assert words in outcome, outcome
        if cls == "AteccError":
            assert outcome.split(":")[1] == str(status), outcome
    digest = hashlib.sha256(b"tbs").digest()
    sig = raw_signature(key, b"tbs")
    # a miscompare from Verify is a False verdict; any other status is an error, never False
    mp.exec("_d, _s = _hx(%r), _hx(%r)" % (digest.hex(), sig.hex()))
    assert mp.eval("v.verify_es256(_d, _s)") is True
    mp.exec("v.chip.nonce_load(_d)\nm.inject = 0x01")
    assert mp.eval("v.chip.verify_stored(%d, _s)" % SLOT) is False
    mp.exec("v.chip.nonce_load(_d)\nm.inject = 0x0F")
    assert mp.eval("_outcome(v.chip.verify_stored, %d, _s)" % SLOT).startswith("AteccError:15:")
    mp.exec("v.chip.nonce_load(_d)\nm.inject = 0x05")
    assert mp.eval("_outcome(v.chip.verify_stored, %d, _s)" % SLOT).startswith("AteccError:5:")
    # a bit flipped on the way to the chip: it answers 0xFF; on the way back: our CRC check
    mp.exec("m.corrupt_command = True")
    assert mp.eval("_outcome(v.chip.info)").startswith("AteccError:255:")
    mp.exec("m.corrupt_response = True")
    outcome = mp.eval("_outcome(v.chip.info)")
    assert outcome.startswith("AteccError:None:") and "CRC mismatch" in outcome
    assert mp.eval("v.verify_es256(_d, _s)") is True  # and the chip carries on


# --- wake, idle, polling --------------------------------------------------------------------

def test_wake(se):
    se.exec("m = AteccModel()\nc = se.Atecc608(m)")
    assert se.eval("m.state") == "sleep"
    assert se.eval("_outcome(c.wake)") == "ok:None"
    assert se.eval("m.state") == "awake"
    se.exec("c.idle()")
    assert se.eval("m.state") == "idle"
    se.exec("c.wake()\nc.sleep()")
    assert se.eval("m.state") == "sleep"
    # an awake chip ignores the wake pulse and still holds its last reply: the driver idles
    # it and wakes it again
    se.exec("m.state, m.out, m.pos = 'awake', _hx('07000060020000'), 0")
    assert se.eval("_outcome(c.info)") == "ok:00006002"
    # self-test failure, both spellings; garbage; nobody at the address
    for reply in ("040740c2", "0407c440"):
        se.exec("m = AteccModel()\nm.wake_reply = _hx(%r)\nc = se.Atecc608(m)" % reply)
        assert se.eval("_outcome(c.info)").startswith(
            "AteccError:7:ATECC608 status 0x07: self-test")
    se.exec("m = AteccModel()\nm.wake_reply = _hx('ffffffff')\nc = se.Atecc608(m)")
    assert se.eval("_outcome(c.info)") == ("AteccError:None:ATECC608 at 0x60: no wake response "
                                           "(got ffffffff)")
    se.exec("m = AteccModel()\nc = se.Atecc608(m, address=0x35)")
    assert se.eval("_outcome(c.info)") == ("AteccError:None:ATECC608 at 0x35: no wake response "
                                           "(got no ACK)")
    # a caller-supplied wake pulse (for buses above 100 kHz) replaces the address-0 write
    se.exec("m = AteccModel()\n_pulses = []\n"
            "def _pulse(bus):\n    _pulses.append(1)\n    bus.state = 'awake'\n"
            "    bus.out, bus.pos = bus.wake_reply, 0\n"
            "c = se.Atecc608(m, wake=_pulse)")
    assert se.eval("_outcome(c.info)") == "ok:00006002"
    assert se.eval("len(_pulses)") == 1


def test_polling_is_bounded(se):
    se.exec("m = AteccModel()\nc = se.Atecc608(m)\nm.busy_polls = 4")
    assert se.eval("_outcome(c.info)") == "ok:00006002"
    se.exec("import time\nm.busy_polls = 10**6\n_t = time.ticks_ms()\n"
            "_r = _outcome(c.info)\n_t = time.ticks_diff(time.ticks_ms(), _t)")
    assert se.eval("_r") == "AteccError:None:ATECC608 gave no response within 5 ms"
    assert se.eval("10**6 - m.busy") == 7  # Info: 5 ms, 6 polls 1 ms apart, then the idle
    assert se.eval("_t") < 200


# --- what the chip refuses ------------------------------------------------------------------

def test_zone_and_lock_rules(se):
    key = ec.generate_private_key(ec.SECP256R1())
    x, y = public_xy(key)
    se.exec("m = AteccModel()\nv = AteccVerifier(m, slot=%d)\nc = v.chip\n"
            "_x, _y = _hx(%r), _hx(%r)" % (SLOT, x.hex(), y.hex()))
    exec_error = "AteccError:15:ATECC608 status 0x0f: execution error"

    def outcome(call):
        return se.eval("_outcome(lambda: %s)" % call)

    assert outcome("c.random()") == ("AteccError:None:ATECC608 configuration zone unlocked: "
                                     "Random is a fixed pattern")
    assert outcome("c.write(se.ZONE_DATA, se.data_address(9, 0), bytes(32))").startswith(exec_error)
    assert outcome("c.write(se.ZONE_CONFIG, 0, bytes(4))").startswith(exec_error)  # serial number
    assert outcome("c.write(se.ZONE_CONFIG, 21, bytes(4))").startswith(exec_error)  # bytes 84-87
    assert outcome("c.lock(se.LOCK_DATA | se.LOCK_NO_CRC)").startswith(exec_error)
    assert outcome("c.lock(se.LOCK_CONFIG, 0x1234)").startswith(exec_error)  # wrong summary CRC
    assert se.eval("c.read(se.ZONE_CONFIG, 21)[3]") == 0x55  # still unlocked
    se.exec("v.configure_public_key_slot(9)\nc.lock_config()")
    assert outcome("c.write(se.ZONE_CONFIG, 9, bytes(4))").startswith(exec_error)
    assert outcome("c.lock_config()").startswith(exec_error)  # once only
    assert outcome("c.read(se.ZONE_DATA, se.data_address(9, 0), 32)").startswith(exec_error)
    assert outcome("c.write(se.ZONE_DATA, se.data_address(9, 0), bytes(4))").startswith(exec_error)
    assert outcome("c.verify_stored(9, bytes(64))").startswith(exec_error)
    assert outcome("v.lock_slot(9)").startswith(exec_error)  # data zone first
    assert outcome("v.provision_public_key(9, _x, _y)") == (
        "KeyStoreError:None:ATECC608 slot 9 cannot take the AS key: data zone not locked")
    assert len(se.eval("c.random()")) == 32
    se.exec("c.lock_data()")
    assert outcome("c.lock_data()").startswith(exec_error)
    # the model consumes the message buffer in Verify, so a Verify without a fresh Nonce is
    # refused (stricter than the data sheets say; the driver always sends the Nonce first)
    se.exec("v.provision_public_key(9, _x, _y)\nc.nonce_load(bytes(32))\n"
            "c.verify_stored(9, bytes(range(1, 65)))")
    assert outcome("c.verify_stored(9, bytes(range(1, 65)))").startswith(exec_error)
    assert outcome("v.provision_public_key(9, _x, bytes(32))").startswith("DecodeError:")


# --- end to end ------------------------------------------------------------------------------

def test_end_to_end_provision_lock_verify(provisioned):
    mp, key = provisioned
    x, y = public_xy(key)
    assert mp.eval("v.read_public_key(%d)" % SLOT) == (x, y)
    assert mp.eval("v.describe()") == PROTECTION + "; " + UNMACED
    assert mp.eval("v.state()") == {"address": 0x60, "slot": SLOT, "revision": "00006002",
                                    "slot_locked": True, "problems": []}

    other = ec.generate_private_key(ec.SECP256R1())
    tbs = [b"", b"Signature1 over a CWT", bytes(range(256)) * 4]
    cases = []  # (what, digest, sig, expected)
    for i, message in enumerate(tbs):
        digest = hashlib.sha256(message).digest()
        sig = raw_signature(key, message)
        high_s = sig[:32] + (N - int.from_bytes(sig[32:], "big")).to_bytes(32, "big")
        cases += [
            ("valid %d" % i, digest, sig, True),
            ("valid with high S %d" % i, digest, high_s, True),
            ("bit flipped in r %d" % i, digest, bytes([sig[0] ^ 1]) + sig[1:], False),
            ("bit flipped in s %d" % i, digest, sig[:63] + bytes([sig[63] ^ 0x80]), False),
            ("other message %d" % i, hashlib.sha256(message + b"!").digest(), sig, False),
            ("other key %d" % i, digest, raw_signature(other, message), False),
        ]
    assert len(cases) == 18
    mp.exec("def _v(d, s):\n    return v.verify_es256(d, s)")
    got = mp.map("_v", [(d, s) for _, d, s, _ in cases])
    for (what, _, _, want), verdict in zip(cases, got):
        assert verdict is want, what

    # out-of-range r, s and bad lengths are refused without asking the chip
    digest = hashlib.sha256(b"x").digest()
    sig = raw_signature(key, b"x")
    bad = [bytes(32) + sig[32:], sig[:32] + N.to_bytes(32, "big"), N.to_bytes(32, "big") + sig[32:],
           sig[:32] + bytes(32), sig[:63], sig + b"\x00"]
    mp.exec("m.log = []")
    assert mp.map("_v", [(digest, b) for b in bad]) == [False] * 6
    assert mp.map("_v", [(digest[:31], sig)]) == [False]
    assert mp.eval("len(m.log)") == 0

    # the key store API: SHA-256 in the MCU, the algorithm bound to the key
    mp.exec("_tbs, _sig = _hx(%r), _hx(%r)" % (b"to be signed".hex(),
                                                raw_signature(key, b"to be signed").hex()))
    assert mp.eval("v.verify(_Handle(-7), -7, _tbs, _sig)") is True
    assert mp.eval("v.verify(_Handle(-7), -7, _tbs + b'.', _sig)") is False
    assert mp.eval("_outcome(v.verify, _Handle(-7), -8, _tbs, _sig)").startswith("VerifyError:")
    assert mp.eval("_outcome(v.verify, _Handle(-8), -7, _tbs, _sig)").startswith("VerifyError:")

    # External mode with the same key, and with another
    mp.exec("_d = _hx(%r)" % hashlib.sha256(b"to be signed").hexdigest())
    mp.exec("v.chip.nonce_load(_d)")
    assert mp.eval("v.chip.verify_external(_hx(%r), _sig)" % (x + y).hex()) is True
    ox, oy = public_xy(other)
    mp.exec("v.chip.nonce_load(_d)")
    assert mp.eval("v.chip.verify_external(_hx(%r), _sig)" % (ox + oy).hex()) is False

    # after the lock: the driver refuses a new key, and so does the chip
    mp.exec("_ox, _oy = _hx(%r), _hx(%r)" % (ox.hex(), oy.hex()))
    assert mp.eval("_outcome(v.provision_public_key, %d, _ox, _oy)" % SLOT) == (
        "KeyStoreError:None:ATECC608 slot %d is locked: its key cannot be replaced" % SLOT)
    stored = bytes(4) + ox[:28]
    assert mp.eval("_outcome(v.chip.write, se.ZONE_DATA, se.data_address(%d, 0), _hx(%r))"
                   % (SLOT, stored.hex())).startswith("AteccError:15:")
    assert mp.eval("v.read_public_key(%d)" % SLOT) == (x, y)
    assert mp.eval("v.verify(_Handle(-7), -7, _tbs, _sig)") is True
    mp.exec("m.log = []\nv.lock_slot(%d)" % SLOT)  # already locked: no Lock command
    assert [p[1] for p in mp.eval("m.log")] == [0x02]


def test_mac_command_digest_and_record_mac(provisioned):
    """MAC (opcode 0x08, Mode 0x40: serial number included) with a slot key: the packet, and
    the digest recomputed here from the data sheet's message layout; the record MAC key slot
    is secret (no read-out) and locks."""
    mp, _ = provisioned
    key, challenge = bytes(range(32)), hashlib.sha256(b"challenge").digest()
    mp.exec("m.slots[3][:32] = _hx(%r)\nm.log = []" % key.hex())
    got = mp.eval("v.chip.mac(3, _hx(%r))" % challenge.hex())
    assert mp.eval("m.log") == [host_packet(0x08, 0x40, 3, challenge)[1:]]
    sn = bytes.fromhex("01235aa5") + bytes.fromhex("1122334401")  # the model's SN[0:3], [4:8]
    message = (key + challenge + bytes([0x08, 0x40, 3, 0]) + bytes(11) + sn[8:9] + sn[4:8]
               + sn[0:2] + sn[2:4])
    assert got == hashlib.sha256(message).digest()
    # a verifier with a record MAC key: configured before the locks, secret, MACs, locks
    mp.exec("m2 = AteccModel()\nv2 = AteccVerifier(m2, slot=9, mac_slot=5)\n"
            "v2.configure_public_key_slot(9)\nv2.configure_mac_key_slot(5)\n"
            "v2.chip.lock_config()\nv2.chip.lock_data()\nv2.new_record_key()")
    assert mp.eval("_outcome(v2.chip.read, se.ZONE_DATA, se.data_address(5, 0), 32)").startswith(
        "AteccError:15:")
    one, two = mp.eval("(v2.record_mac(b'record'), v2.record_mac(b'record!'))")
    assert len(one) == 32 and one != two
    assert mp.eval("v2.mac_slot_locked()") is False
    mp.exec("v2.lock_mac_slot()")
    assert mp.eval("v2.mac_slot_locked()") is True
    assert mp.eval("_outcome(v2.new_record_key)").startswith("AteccError:15:")  # locked
    assert mp.eval("v2.record_mac(b'record')") == one  # same key, same MAC
    assert mp.eval("_outcome(AteccVerifier, m2, 0x60, 9, None, 9)").startswith(
        "KeyStoreError:None:ATECC608 mac_slot")


def test_slot_problems_are_reported(se):
    key = ec.generate_private_key(ec.SECP256R1())
    x, y = public_xy(key)
    for slot in ("3", "16", "None", "'9'"):
        assert se.eval("_outcome(AteccVerifier, AteccModel(), 0x60, %s)" % slot).startswith(
            "KeyStoreError:None:ATECC608 public key slot must be 8..15")
    se.exec("m = AteccModel()\nv = AteccVerifier(m, slot=10)\n"
            "v.chip.lock_config()\nv.chip.lock_data()")
    problems = se.eval("v.state()['problems']")
    assert problems == ["KeyConfig 0x001c is not a P-256 public key (KeyType 4, Private 0)",
                        "KeyConfig 0x001c is not Lockable"]
    assert se.eval("v.describe()") == ("AS public key in ATECC608 slot 10 NOT protected: "
                                       + "; ".join(problems))
    assert se.eval("_outcome(v.provision_public_key, 10, _hx(%r), _hx(%r))"
                   % (x.hex(), y.hex())) == (
        "KeyStoreError:None:ATECC608 slot 10 cannot take the AS key: " + "; ".join(problems))
    se.exec("m = AteccModel(revision=_hx('00005000'))\nv = AteccVerifier(m, slot=9)")
    assert se.eval("v.state()['problems'][-1]") == "Info revision 00005000 is not an ATECC608"
    se.exec("v = AteccVerifier(AteccModel(address=0x36), slot=9)")
    assert se.eval("v.describe()") == ("ATECC608 not usable: ATECC608 at 0x60: no wake response "
                                       "(got no ACK)")


def test_heap_32k(mpy_firmware, tmp_path):
    """Provisioning, then verification within 32 KB of working heap beyond the loaded code
    (driver and model, both as .mpy), as test_memory does for the software path."""
    subprocess.run([firmware.mpy_cross(), "-o", str(tmp_path / "atecc_model.mpy"), str(MODEL)],
                   check=True)
    key = ec.generate_private_key(ec.SECP256R1())
    x, y = public_xy(key)
    imports = ("import gc, time\nfrom atecc_model import AteccModel\n"
               "from microace.keystore.secure_element import AteccVerifier\ngc.collect()\n")
    code_heap = int(run_micropython(imports + "print(gc.mem_alloc())", mpy_firmware, heap="512k",
                                    path=tmp_path))
    code = imports + """
m = AteccModel()
m.log = None
v = AteccVerifier(m, slot=9)
v.configure_public_key_slot(9)
v.chip.lock_config()
v.chip.lock_data()
v.provision_public_key(9, bytes.fromhex(%r), bytes.fromhex(%r))
v.lock_slot(9)
h = type("H", (), {"alg": -7})
tbs, sig = b"tbs", bytes.fromhex(%r)
first = v.verify(h, -7, tbs, sig)
gc.collect()
before = gc.mem_alloc()
t = time.ticks_us()
ok = v.verify(h, -7, tbs, sig)
t = time.ticks_diff(time.ticks_us(), t)
print(first, ok, v.verify(h, -7, tbs + b".", sig), gc.mem_alloc() - before, t)
""" % (x.hex(), y.hex(), raw_signature(key, b"tbs").hex())
    heap = "%dk" % ((code_heap + 32 * 1024) // 1024 + 1)
    out = run_micropython(code, mpy_firmware, heap=heap, path=tmp_path).split()
    assert out[:3] == ["True", "True", "False"], out
    print("heap of one verify %s B, %s us (code %d B)" % (out[3], out[4], code_heap))
