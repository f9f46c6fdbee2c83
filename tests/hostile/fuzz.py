"""Mutation fuzzer against the RS running on the unix port: mutated datagrams and mutated
tokens, sent as real datagrams.

    .venv/bin/python tests/hostile/fuzz.py --count 100000 --seed 1     (make fuzz)

Datagrams come from a corpus of valid ones (unprotected requests, /authz-info POSTs, OSCORE
requests, Block1 blocks); tokens from tokens the AS would issue, mutated three ways: the whole
token, the inner Sign1 inside a valid Encrypt0, the claims inside valid Sign1 and Encrypt0.
Sent in batches, each closed by a CON ping. A run fails when:
  - the RS ends, leaves a batch unanswered, or prints a Traceback (the server prints every
    exception it catches but a MemoryError, which is one line and a 5.03);
  - any response is 5.00, or a datagram that is not CoAP;
  - a mutated token gets 2.01 although it is a forgery: accepted means python-cwt verifies
    the very bytes posted (both layers, with the RS's and the AS's keys) and they carry the
    claims the AS signed — the only tokens that pass are re-encodings of issued ones;
  - a legitimate client, every --check-every datagrams, does not get its 2.05.
"""

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.support

import cbor2
import cwt
from aiocoap.message import Message

from tests.support import tokenfactory as tf
from tests.support.rs_peer import AS_KEY, RS, RS_KEY, Peer, Session, claims
from tests.support.coap_wire import (BLOCK1, CONTENT_FORMAT, GET, POST, authz_body, authz_datagram,
                                     datagram, path, rst, uint)

# The fixed heap of the fuzz runs. On the unix port the firmware's code lives in the heap too:
# 138.6 KB once the RS has started and loaded its crypto (measured with gc.mem_alloc in a
# start-up that stops before serving), so 224k leaves the RS ~85 KB of working heap: the fuzz
# tests parsing, not memory, and counts every datagram its batches must get answered. The
# flood (flood.py) runs at the e2e suite's 192k, where memory does run out under load.
LOAD_HEAP = "224k"
BATCH = 16
INTERESTING = (0x00, 0x01, 0x17, 0x18, 0x1B, 0x1F, 0x3F, 0x40, 0x5F, 0x7F, 0x80, 0x9F, 0xBF,
               0xC0, 0xD8, 0xF7, 0xF9, 0xFB, 0xFF)


class Failure(AssertionError):
    pass


class Console:
    """The RS's console, read as it comes (a full pipe would stall the RS): lines kept."""

    def __init__(self, rs):
        self.lines = []
        self._thread = threading.Thread(target=self._read, args=(rs.process.stdout,),
                                        daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)

    def text(self, rs):
        """Everything the RS printed, once it has stopped (rs.stop())."""
        if rs.alive():
            rs.process.terminate()
            rs.process.wait(5)
        self._thread.join(5)  # it has read up to the end of the output
        return "".join(self.lines) + rs.stop()


def mutate(rng, data):
    """1-4 random edits: bit flips, interesting bytes, inserts, deletes, truncation, splices."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        at = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[at % len(b)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[at % len(b)] = rng.choice(INTERESTING)
        elif op == 2:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 3 and b:
            del b[at:at + rng.randint(1, 8)]
        elif op == 4:
            del b[at:]
        elif op == 5 and b:
            start = rng.randrange(len(b))
            b[at:at] = b[start:start + rng.randint(1, 16)]
        elif op == 6 and b:  # a random 16- or 32-bit value at a random place
            size = rng.choice((2, 4))
            b[at:at + size] = rng.getrandbits(8 * size).to_bytes(size, "big")
    return bytes(b)


def strip(token):
    """cbor2's reading of a COSE token: (tags outside-in, array), lenient like a re-encoder."""
    obj = cbor2.loads(token)
    tags = []
    while isinstance(obj, cbor2.CBORTag):
        tags.append(obj.tag)
        obj = obj.value
    return tags, obj


def python_cwt_opens(token, key, tag):
    """The payload of a COSE message that python-cwt verifies with `key` (the message re-tagged
    `tag`, a leading CWT tag 61 dropped: tags are not covered by any signature), else None."""
    try:
        tags, array = strip(token)
        if [t for t in tags if t != tf.TAG_CWT] not in ([], [tag]):
            return None
        return cwt.COSE.new().decode(cbor2.dumps(cbor2.CBORTag(tag, array)), key)
    except Exception:  # anything python-cwt refuses does not verify
        return None


class Fuzzer:
    def __init__(self, rs, seed, check_every=500, log=print):
        self.rs = rs
        self.rng = random.Random(seed)
        self.seed = seed
        self.check_every = check_every
        self.log = log
        self.peer = Peer(rs)
        self.peer.sock.settimeout(5)
        self.sent = self.batches = 0
        self.codes = {}
        self.accepted = 0  # 2.01 to a mutated token: each one a checked re-encoding
        self.issued = set()  # claims bytes the AS signed
        self.created = set()  # the 2.01 datagrams seen (a duplicate's cached answer repeats one)
        self.legit = Session(Peer(rs), claims(osc_id=b"fuzz-live"), client_id=b"\x70")
        self._check_legit()
        self.tokens = [self._issue(osc_id=b"fz%d" % i) for i in range(4)]
        self.datagrams = self._datagram_corpus()

    def _issue(self, **kw):
        c = cbor2.dumps(claims(**kw))
        self.issued.add(c)
        inner = tf.protect(c, AS_KEY)
        return inner, tf.protect(inner, RS_KEY), c

    def _datagram_corpus(self):
        source = Session(Peer(self.rs), claims(osc_id=b"fuzz-src"), client_id=b"\x71")
        corpus = [
            datagram(GET, path("temp")),
            datagram(GET, path("temp"), bytes(96)),
            datagram(GET, path(".well-known", "core")),
            datagram(POST, path("authz-info") + [(BLOCK1, uint(0x0C))], bytes(16)),
            datagram(POST, path("authz-info") + [(CONTENT_FORMAT, uint(19)),
                                                 (BLOCK1, uint(0x15))], bytes(32)),
        ]
        corpus += [authz_datagram(authz_body(t[1])) for t in self.tokens]
        for code, p, body in ((1, "/temp", b""), (3, "/led", b"1"), (3, "/config", b"\xa0")):
            outer, _ = source.protect(code, p, body)
            outer.mtype, outer.mid, outer.token = 0, 0x1234, b"\x01\x02"
            corpus.append(outer.encode())
        source.peer.close()
        return corpus

    def _check_legit(self):
        outer, inner = self.legit.call(GET, "/temp")
        if outer.code != 0x44 or inner is None or inner.code != 0x45:
            raise Failure("seed %d after %d datagrams: the legitimate client got %s/%s"
                          % (self.seed, self.sent, outer.code, inner and inner.code))

    def _batch(self, items):
        """Send (datagram, expect_answer, on_2_01) items, then a ping -> check every answer."""
        sock, address = self.peer.sock, self.rs.address
        by_token = {}
        for data, expect, check in items:
            sock.sendto(data, address)
            tkl = data[0] & 0x0F if data else 0
            by_token.setdefault(data[4:4 + tkl] if tkl <= 8 else None, []).append((data, check))
        sentinel = (self.batches * 7919) & 0xFFFF
        sock.sendto(bytes((0x40, 0, sentinel >> 8, sentinel & 0xFF)), address)
        answered = 0
        while True:
            try:
                raw = sock.recv(4096)
            except OSError:
                raise Failure("seed %d batch %d: the RS stopped answering (alive: %s)"
                              % (self.seed, self.batches, self.rs.alive()))
            if raw == rst(sentinel):
                break
            answered += 1
            try:
                response = Message.decode(raw)
            except Exception:
                raise Failure("seed %d batch %d: not CoAP: %s" % (self.seed, self.batches,
                                                                   raw.hex()))
            c = "%d.%02d" % (response.code >> 5, response.code & 31)
            self.codes[c] = self.codes.get(c, 0) + 1
            candidates = by_token.get(response.token, [])
            if c == "5.00":
                raise Failure("seed %d batch %d: 5.00 to one of %d datagrams, e.g. %s"
                              % (self.seed, self.batches, len(candidates),
                                 candidates[0][0].hex() if candidates else "?"))
            if c == "2.01" and raw in self.created:
                continue  # the same bytes again: a duplicate answered from the dedup cache
            if c == "2.01":
                self.created.add(raw)  # a new 2.01 carries a new random nonce2
            if c == "2.01" and not any(check(d) for d, check in candidates):
                raise Failure("seed %d batch %d: forgery accepted, one of %s" % (
                    self.seed, self.batches, [d.hex() for d, _ in candidates]))
        expected = sum(1 for _, expect, _ in items if expect)
        if answered < expected:
            raise Failure("seed %d batch %d: %d answers to %d requests that need one"
                          % (self.seed, self.batches, answered, expected))
        self.batches += 1
        self.sent += len(items)

    # The 2.01 checks: the token in the accepted datagram verifies with python-cwt.

    def _whole_token_ok(self, data):
        try:
            token = cbor2.loads(Message.decode(data).payload)[1]
        except Exception:
            return False
        inner = python_cwt_opens(token, RS_KEY, tf.TAG_ENCRYPT0)
        return inner is not None and self._inner_ok(inner)

    def _inner_ok(self, inner):
        c = python_cwt_opens(inner, AS_KEY, tf.TAG_SIGN1)
        if c is not None and c in self.issued:
            self.accepted += 1
            return True
        return False

    def _sealed_inner_ok(self, inner):
        return lambda data: self._inner_ok(inner)

    # The two fuzz loops.

    def datagrams_run(self, count):
        self._run(count, lambda: (mutate(self.rng, self.rng.choice(self.datagrams)), False,
                                  self._whole_token_ok))

    def tokens_run(self, count):
        self._run(count, self._token_item)

    def _run(self, count, item):
        """`count` items from item(), sent in batches; the legitimate client is checked every
        check_every items and at the end."""
        done = 0
        while done < count:
            n = min(BATCH, count - done)
            self._batch([item() for _ in range(n)])
            done += n
            if done % self.check_every < BATCH:
                self._check_legit()
        self._check_legit()

    def _token_item(self):
        """One /authz-info POST of a mutated token, with its forgery check."""
        inner, token, claims_bytes = self.rng.choice(self.tokens)
        how = self.rng.randrange(3)
        if how == 0:  # the whole token
            check = self._whole_token_ok
            posted = mutate(self.rng, token)
        elif how == 1:  # the inner Sign1, sealed by the AS's Encrypt0 layer
            bad_inner = mutate(self.rng, inner)
            check = self._sealed_inner_ok(bad_inner)
            posted = tf.protect(bad_inner, RS_KEY)
        else:  # the claims, signed and sealed: the AS vouches for garbage
            bad = self._signable(claims_bytes)
            check = lambda data: True  # noqa: E731 - not a forgery: every layer verifies
            posted = tf.protect(tf.protect(bad, AS_KEY), RS_KEY)
        return authz_datagram(authz_body(posted, client_id=b"\x72")), True, check

    def _signable(self, claims_bytes):
        """Mutated claims an AS might sign: not with an iat ahead of its clock. The board
        takes a verified iat as a floor for its time (clock.py), so a future iat would expire
        every token it holds: that trusts the AS, it is no parser fault."""
        while True:
            bad = mutate(self.rng, claims_bytes)
            try:
                iat = cbor2.loads(bad).get(6)
            except Exception:  # not a map, not CBOR: fine garbage
                return bad
            if not isinstance(iat, (int, float)) or not iat > time.time() + 60:
                return bad

    def close(self):
        self.peer.close()
        self.legit.peer.close()


def run(rs, count, seed, log=print):
    """Fuzz the running `rs`: `count` mutated datagrams, then `count` mutated tokens."""
    fuzzer = Fuzzer(rs, seed, log=log)
    try:
        start = time.monotonic()
        fuzzer.datagrams_run(count)
        middle = time.monotonic()
        fuzzer.tokens_run(count)
        end = time.monotonic()
        log("fuzz seed %d: %d datagrams in %.1f s, %d tokens in %.1f s; answers %s; "
            "%d accepted tokens, each a python-cwt-verified re-encoding"
            % (seed, count, middle - start, count, end - middle,
               dict(sorted(fuzzer.codes.items())), fuzzer.accepted))
        return fuzzer
    finally:
        fuzzer.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="datagrams, and tokens")
    parser.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(2), "big"))
    parser.add_argument("--heap", default=LOAD_HEAP, help="the RS's fixed heap (-X heapsize)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        rs = RS(Path(d), {"max_tokens": 8, "max_token_bytes": 1024}, args.heap)
        console = Console(rs)
        try:
            run(rs, args.count, args.seed)
        except Failure as e:
            print("FAIL: %s" % e)
            print(console.text(rs)[-4000:])
            return 1
        output = console.text(rs)
    if "Traceback" in output:
        print("FAIL: the RS printed a traceback (seed %d):\n%s" % (args.seed, output))
        return 1
    print("ok: no crash, no 5.00, no forgery, the legitimate client served throughout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
