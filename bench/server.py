"""`make bench`, the whole server: the microace RS on the unix port against aiocoap on CPython.

    .venv/bin/python bench/server.py [--requests 3000] [--reps 3] [--rs-heap 192k]
                                     [--tokens 60] [--json out.json]

1. OSCORE-protected GET /temp, server capacity at 1, 8 and 32 outstanding requests: the real
   RS process (provisioned like the e2e suite, a token posted to /authz-info) and aiocoap's
   OSCORE server (bench/aiocoap_server.py, its own process, replay window 256), driven by the
   same load generator: requests protected ahead of the timed loop with fresh sequence numbers
   (aiocoap's SecurityContext.protect), sent over a plain UDP socket, every response verified
   afterwards. req/s, p50/p99 latency, server CPU µs/request (/proc/PID/stat utime+stime), and
   the load generator's own CPU to show it is not the bottleneck.
2. /authz-info tokens/s (upload + verify + context derivation, one at a time) for ES256 with the
   provisioned key's table, EdDSA, Mac0, Encrypt0 and Encrypt0(Sign1 ES256).
3. In one MicroPython process without a socket (bench/mp_rs.py): bytes allocated per OSCORE
   request (GC off) and µs per request through Server.datagram.
4. The smallest -X heapsize at which the RS serves authz-info + OSCORE GET + PUT (bisection),
   and how much of it the loaded code and start-up structures take.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cbor2
from aiocoap import oscore as aioscore
from aiocoap.message import Direction, Message

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository root: tests.support (RS, peer, tokens)

from microace_host import rs_runner  # noqa: E402
from microace_host.client import memory_context  # noqa: E402
from microace_host.firmware import compiled  # noqa: E402
from microace_host.unix_port import micropython_command  # noqa: E402
from tests.support import tokenfactory as tf  # noqa: E402
from tests.support.rs_peer import (AS_KEY, RS_KEY, Peer, Session, claims,  # noqa: E402
                                   free_port, mint, provision)

GET, PUT = 1, 3
CON = 0
CONTENT, CHANGED, CREATED = 0x45, 0x44, 0x41
LIMITS = {"max_tokens": 8, "max_token_bytes": 1024}
TICK = os.sysconf("SC_CLK_TCK")
AIOCOAP_WINDOW = 256
CONCURRENCY = (1, 8, 32)
TARGET_RATIO = 5
HEAP_TARGET_K = 48
ALLOC_TARGET = 2048  # bytes allocated per OSCORE GET (issue 17)
ESP32_FACTOR = (30, 60)  # assumed, docs/BENCHMARKS.md "ESP32 estimate" says why


def cpu_s(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Target:
    """A server process under load: its address, pid and a client OSCORE context."""

    def __init__(self, name, process, address, context):
        self.name, self.process, self.address, self.context = name, process, address, context
        self.mid = 0  # message IDs never repeat towards one server (its dedup cache)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stdin):
            if stream:
                stream.close()


def start_microace(directory, heap):
    """The RS at -X heapsize=HEAP, provisioned as in the e2e suite, with a token posted."""
    directory.mkdir()
    provision(directory, LIMITS)
    port = free_port()
    process, _ = rs_runner.start("unix:%s" % directory, "127.0.0.1:%d" % port, heap)
    address = ("127.0.0.1", port)
    target = Target("microace %s" % heap, process, address, None)
    peer = Peer(type("RS", (), {"address": address})())
    try:
        target.context = Session(peer, claims()).context
    except BaseException:  # e.g. the token answered 5.03: no RS left running behind the bench
        target.stop()
        raise
    finally:
        peer.close()
    return target


def start_aiocoap():
    ms, salt = os.urandom(16), os.urandom(8)
    port = free_port()
    log = tempfile.TemporaryFile()  # aiocoap's warnings, shown only if it does not start
    process = subprocess.Popen([sys.executable, str(HERE / "aiocoap_server.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                               text=True)
    process.stdin.write(json.dumps({"port": port, "ms": ms.hex(), "salt": salt.hex(),
                                    "sender": "02", "recipient": "01",
                                    "window": AIOCOAP_WINDOW}) + "\n")
    process.stdin.flush()
    if process.stdout.readline().strip() != "ready":
        process.kill()
        process.wait()
        log.seek(0)
        raise RuntimeError("aiocoap server did not start: %s" % log.read().decode()[-2000:])
    log.close()
    return Target("aiocoap", process, ("127.0.0.1", port),
                  memory_context(ms, salt, b"\x01", b"\x02"))


def protect_ahead(target, n, code=GET, path=("temp",), payload=b""):
    """n protected CON requests with fresh sequence numbers -> ([datagram], [request_id])."""
    datagrams, ids = [], []
    for _ in range(n):
        outer, request_id = target.context.protect(Message(code=code, uri_path=path,
                                                           payload=payload))
        outer.mtype, outer.mid = CON, target.mid
        outer.token = target.mid.to_bytes(2, "big")
        target.mid = (target.mid + 1) & 0xFFFF
        datagrams.append(outer.encode())
        ids.append(request_id)
    return datagrams, ids


def drive(address, datagrams, concurrency, timeout=2.0):
    """Send `datagrams` keeping `concurrency` outstanding on one fresh UDP socket ->
    (responses by index or None, latencies s, elapsed s, load generator CPU s).
    Responses are matched by token (each request has its own): a server may send an empty
    ACK first and the response later in a CON of its own (RFC 7252 §5.2.2), which gets an
    ACK here."""
    n = len(datagrams)
    index = {_token(d): i for i, d in enumerate(datagrams)}
    sent, got, latencies = [0.0] * n, [None] * n, []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.connect(address)
    sock.settimeout(timeout)
    clock, send, recv = time.perf_counter, sock.send, sock.recv
    cpu0, t0 = os.times(), clock()
    following = min(concurrency, n)
    for i in range(following):
        sent[i] = clock()
        send(datagrams[i])
    outstanding = following
    last = t0
    try:
        while outstanding:
            try:
                data = recv(2048)
            except socket.timeout:
                break  # lost: the rest of the window never comes back
            last = now = clock()
            if data[0] >> 4 & 3 == 0:  # a separate response (CON): acknowledge it
                send(bytes((0x60, 0, data[2], data[3])))
            i = index.get(_token(data))
            if i is None or got[i] is not None or data[1] == 0:  # data[1] == 0: empty ACK
                continue
            got[i] = data
            latencies.append(now - sent[i])
            outstanding -= 1
            if following < n:
                sent[following] = clock()
                send(datagrams[following])
                following += 1
                outstanding += 1
        elapsed = last - t0  # up to the last response: a final timeout is not serving time
    finally:
        sock.close()
    cpu1 = os.times()
    return got, latencies, elapsed, (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)


def _token(datagram):
    return bytes(datagram[4:4 + (datagram[0] & 0x0F)])


def verify(target, responses, ids, code=CONTENT, payload=b"21.5"):
    """How many responses decrypt under the client context to the expected answer."""
    good = 0
    for data, request_id in zip(responses, ids):
        if data is None:
            continue
        outer = Message.decode(data)
        if outer.opt.oscore is None:
            continue
        outer.direction = Direction.INCOMING
        try:
            inner, _ = target.context.unprotect(outer, request_id)
        except aioscore.ProtectionInvalid:
            continue  # not verified: the column shows it
        good += inner.code == code and inner.payload == payload
    return good


def capacity_run(target, n, concurrency):
    datagrams, ids = protect_ahead(target, n)
    cpu0 = cpu_s(target.process.pid)
    responses, latencies, elapsed, load_cpu = drive(target.address, datagrams, concurrency)
    server_cpu = cpu_s(target.process.pid) - cpu0
    answered = sum(r is not None for r in responses)
    good = verify(target, responses, ids)
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1e3 \
            if latencies else float("nan")

    return {"rps": answered / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "server_cpu_us": server_cpu / max(answered, 1) * 1e6,
            "loadgen_cpu_us": load_cpu / max(answered, 1) * 1e6,
            "sent": n, "answered": answered, "verified": good}


def capacity(targets, n, reps):
    """Each (server, C) `reps` times, servers alternating so both see the same machine;
    the run with the median req/s is kept."""
    for t in targets:  # warm-up: code paths loaded, caches filled
        capacity_run(t, 200, 8)
    results = {}
    for c in CONCURRENCY:
        runs = {t.name: [] for t in targets}
        for _ in range(reps):
            for t in targets:
                runs[t.name].append(capacity_run(t, n, c))
        for name, rs in runs.items():
            rs.sort(key=lambda r: r["rps"])
            results[(name, c)] = rs[len(rs) // 2]
    return results


# --- /authz-info tokens/s ------------------------------------------------------------------

def token_kinds():
    """(name, mint(claims) -> token) for each kind, and the AS keys to provision. cnf.osc
    must travel encrypted (RFC 9203 §3.2): the signed and MACed tokens are wrapped in an
    Encrypt0 layer (RFC 8392 A.6), as an AS issues them."""
    es, ed = AS_KEY, tf.signing_key("EdDSA", b"as-ed")
    mac, enc = tf.symmetric_key(4, b"as-mac"), RS_KEY  # HMAC 256/64, AES-CCM-16-64-128

    def nested(inner_key):
        return lambda c: tf.protect(tf.protect(c, inner_key), enc)

    return [("ES256 (provisioned key, table) in Encrypt0", nested(es)),
            ("EdDSA in Encrypt0", nested(ed)),
            ("Mac0 (HMAC 256/64) in Encrypt0", nested(mac)),
            ("Encrypt0 (AES-CCM-16-64-128)", lambda c: tf.protect(c, enc))], [es, ed, mac, enc]


def authz_info(directory, heap, count):
    kinds, keys = token_kinds()
    directory.mkdir()
    provision(directory, LIMITS, trusted=keys)
    port = free_port()
    process, _ = rs_runner.start("unix:%s" % directory, "127.0.0.1:%d" % port, heap)
    peer = Peer(type("RS", (), {"address": ("127.0.0.1", port)})())
    out = {}
    try:
        for k, (name, make) in enumerate(kinds):
            # A new PoP key (OSCORE id) per token: each is a new context; the store evicts the
            # oldest never-used ones, as for clients that post and go.
            tokens = [make(claims(osc_id=(k * count + i).to_bytes(2, "big")))
                      for i in range(count)]
            peer.authz_info(tokens[0])  # its code paths loaded
            cpu0, t0 = cpu_s(process.pid), time.perf_counter()
            ok = sum(peer.authz_info(t)[0].code == CREATED for t in tokens)
            elapsed = time.perf_counter() - t0
            out[name] = {"tokens_per_s": count / elapsed, "ms": elapsed / count * 1e3,
                         "server_cpu_ms": (cpu_s(process.pid) - cpu0) / count * 1e3,
                         "created": ok, "posted": count, "bytes": len(tokens[0])}
    finally:
        peer.close()
        process.terminate()
        process.wait(5)
        process.stdout.close()
    return out


# --- MicroPython in one process: allocations and µs per request ------------------------------

class UnixProcess:
    """bench/mp_rs.py in a unix-port process, in a copy of a provisioned state directory."""

    def __init__(self, pristine, heap):
        self._tmp = tempfile.TemporaryDirectory()
        state = Path(self._tmp.name) / "rs"
        shutil.copytree(pristine, state)
        argv, env = micropython_command(HERE / "mp_rs.py", heap=heap, firmware=compiled())
        self.process = subprocess.Popen(
            argv, cwd=state, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def call(self, request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line.startswith("{"):
            raise RuntimeError("mp_rs.py: %s%s" % (line, self.process.stdout.read()[-2000:]))
        return json.loads(line)

    def close(self):
        self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        self._tmp.cleanup()


def provision_device(port):
    """Provision a board with the e2e suite's AS keys and configuration (a spare board: a
    store sealed with other keys refuses, and nothing changes)."""
    from tests.support.rs_peer import AS_URI, AUDIENCE, ISSUER, SCOPE_MAP
    from microace_host import keys
    from microace_host import provision as provision_host

    as_keys = [keys.board_key(cbor2.loads(tf.trusted_key(k))) for k in (AS_KEY, RS_KEY)]
    with tempfile.TemporaryDirectory() as tmp:
        plan = provision_host.Plan(as_keys, AUDIENCE, ISSUER,
                                   provision_host.Owner(Path(tmp) / "owner.secret"), AS_URI,
                                   SCOPE_MAP)
        outcome = provision_host.provision_target(port, plan)
    if not outcome.ok:
        sys.exit("provisioning %s for the bench failed: %s" % (port, outcome.error))


def in_process(link, n, n_timed):
    """authz-info, then n GETs with the GC off and n_timed with it on, through mp_rs.py."""
    nonce1, client_id = os.urandom(8), b"\x21"
    token_claims = claims()
    body = {1: mint(token_claims), 40: nonce1, 43: client_id}
    request = Message(code=2, uri_path=("authz-info",), payload=cbor2.dumps(body))
    request.mtype, request.mid, request.token = CON, 1, b"\x01"
    request.opt.content_format = 19
    first = link.call({"authz": request.encode().hex()})
    answer = cbor2.loads(Message.decode(bytes.fromhex(first["authz"])).payload)
    osc = token_claims[8][4]
    salt = cbor2.dumps(osc.get(5, b"")) + cbor2.dumps(nonce1) + cbor2.dumps(answer[42])
    target = Target("mp", None, None, memory_context(osc[2], salt, answer[44], client_id))
    target.mid = 2
    datagrams, ids = protect_ahead(target, n + n_timed)
    second = link.call({"alloc": [d.hex() for d in datagrams[:n]],
                        "time": [d.hex() for d in datagrams[n:]]})
    good = verify(target, [bytes.fromhex(r) for r in second["responses"]], ids[:n])
    return {"alloc_per_request": second["alloc_per_request"],
            "us_per_request": second["us_per_request"], "verified": good, "sent": n,
            "timed": n_timed, "timed_2_04": second["timed_2_04"],
            "loaded": first["loaded"]}


# --- smallest heap ------------------------------------------------------------------------

def serves(pristine, heap, path=None):
    """Does a fresh RS with -X heapsize=HEAP serve authz-info, OSCORE GET and PUT?
    `path`: its module path (rs_runner.start), e.g. the .mpy firmware on the board proxy."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "rs"
        shutil.copytree(pristine, state)
        port = free_port()
        try:
            process, _ = rs_runner.start("unix:%s" % state, "127.0.0.1:%d" % port, heap,
                                         timeout=20, path=path)
        except Exception:  # did not even start: too small
            return False
        peer = Peer(type("RS", (), {"address": ("127.0.0.1", port)})())
        try:
            session = Session(peer, claims())
            _, got = session.call(GET, "/temp")
            _, put = session.call(PUT, "/led", b"1")
            _, again = session.call(GET, "/led")
            return (got.code, got.payload, put.code, again.payload) == (CONTENT, b"21.5",
                                                                       CHANGED, b"1")
        except Exception:  # a timeout or a wrong answer: too small
            return False
        finally:
            peer.close()
            process.kill()
            process.wait()
            process.stdout.close()


def smallest_heap(pristine, lo_k=32, hi_k=256, step_k=2, path=None):
    if not serves(pristine, "%dk" % hi_k, path):
        return None
    while hi_k - lo_k > step_k:
        mid = (lo_k + hi_k) // 2
        if serves(pristine, "%dk" % mid, path):
            hi_k = mid
        else:
            lo_k = mid
    return hi_k


# --- report --------------------------------------------------------------------------------

def report(cap, tokens, proc, smallest, args):
    print("OSCORE-protected GET /temp, server capacity (%d requests per run, median of %d runs;"
          " microace RS on the unix port at each -X heapsize (its loaded code lives in that "
          "heap too), aiocoap %s with replay window %d; CPU from /proc/PID/stat in 1/%d s "
          "ticks)" % (args.requests, args.reps, _aiocoap_version(), AIOCOAP_WINDOW, TICK))
    head = ("C", "server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req",
            "load gen CPU µs/req", "verified", "ratio req/s", "target", "ratio CPU/req")
    rows = []
    names = ["microace %s" % h for h in args.rs_heap.split(",")] + ["aiocoap"]
    for c in CONCURRENCY:
        peer = cap[("aiocoap", c)]
        for name in names:
            r = cap[(name, c)]
            ratio = r["rps"] / peer["rps"]
            ours = name != "aiocoap"
            verdict = ("met" if ratio >= TARGET_RATIO else
                       "MISSED (%.0f%% of target)" % (100 * ratio / TARGET_RATIO))
            rows.append((str(c), name, "%.0f" % r["rps"], "%.2f" % r["p50_ms"],
                         "%.2f" % r["p99_ms"], "%.0f" % r["server_cpu_us"],
                         "%.0f" % r["loadgen_cpu_us"], "%d/%d" % (r["verified"], r["sent"]),
                         "%.1f×" % ratio if ours else "",
                         "≥ %d×: %s" % (TARGET_RATIO, verdict) if ours else "",
                         "%.1f×" % (peer["server_cpu_us"] / max(r["server_cpu_us"], 1e-9))
                         if ours else ""))
    print(_table(head, rows))
    print()
    print("/authz-info: token upload + verify + context derivation, one at a time over UDP "
          "(-X heapsize=%s)" % args.authz_heap)
    rows = [(name, str(t["bytes"]), "%.0f" % t["tokens_per_s"], "%.2f" % t["ms"],
             "%.2f" % t["server_cpu_ms"], "%d/%d" % (t["created"], t["posted"]))
            for name, t in tokens.items()]
    print(_table(("token", "bytes", "tokens/s", "ms/token", "server CPU ms/token", "2.01"),
                 rows))
    print()
    report_in_process(proc)
    low, high = (proc["us_per_request"] * f for f in ESP32_FACTOR)
    print("ESP32 at 240 MHz, ESTIMATE (not measured): %.1f-%.1f ms per OSCORE GET in the RS "
          "(the in-process figure above x %d-%d, the assumed speed ratio of MicroPython "
          "bytecode between this machine and an ESP32; network stack not included), so at "
          "most %.0f-%.0f requests/s; measure instead with bench/server.py --device PORT"
          % (low / 1000, high / 1000, ESP32_FACTOR[0], ESP32_FACTOR[1], 1e6 / high, 1e6 / low))
    if args.skip_heap:
        print("smallest heap: not measured (--skip-heap)")
    elif smallest is None:
        print("smallest heap for authz-info + OSCORE GET/PUT: > 256k")
    else:
        code_k = proc["loaded"] / 1024
        print("smallest -X heapsize serving authz-info + OSCORE GET + PUT: %dk (target %dk: %s "
              "here, where the code is loaded into the heap; the board proxy's figure, code "
              "frozen, is bench/heap.py's); of that, %.0f KiB are the loaded code and start-up "
              "structures (bytes in use after start, mp_rs.py), so %.0f KiB are working heap"
              % (smallest, HEAP_TARGET_K, "met" if smallest <= HEAP_TARGET_K else
                 "MISSED by %dk" % (smallest - HEAP_TARGET_K), code_k, smallest - code_k))


def report_in_process(proc):
    alloc = proc["alloc_per_request"]
    print("one OSCORE GET through Server.datagram in one MicroPython process (bench/mp_rs.py, "
          "%s): %.0f bytes allocated per request (target <= %d: %s; GC off; %d/%d responses "
          "verified), %.1f µs per request (GC on; %d/%d answered 2.04)"
          % (proc["heap"], alloc, ALLOC_TARGET, "met" if alloc <= ALLOC_TARGET else
             "MISSED (%.2fx target)" % (alloc / ALLOC_TARGET), proc["verified"], proc["sent"],
             proc["us_per_request"], proc["timed_2_04"], proc["timed"]))


def _aiocoap_version():
    import aiocoap.meta
    return aiocoap.meta.version


def _table(head, rows):
    widths = [max(len(str(r[i])) for r in list(rows) + [head]) for i in range(len(head))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=3000, help="requests per capacity run")
    ap.add_argument("--reps", type=int, default=3, help="runs per (server, C); median kept")
    ap.add_argument("--rs-heap", default="192k,1024k", help="the RS's -X heapsize values for "
                    "the capacity runs, comma-separated (192k: the e2e suite's)")
    ap.add_argument("--tokens", type=int, default=60, help="tokens posted per kind")
    ap.add_argument("--authz-heap", default="256k", help="-X heapsize of the /authz-info RS: "
                    "it loads every algorithm's code (P-256, Ed25519, SHA-512, AES-CCM)")
    ap.add_argument("--alloc-requests", type=int, default=200)
    ap.add_argument("--alloc-heap", default="4096k", help="-X heapsize of mp_rs.py: room for "
                    "what the requests allocate with the GC off")
    ap.add_argument("--skip-heap", action="store_true", help="skip the heap bisection")
    ap.add_argument("--device", help="run mp_rs.py on this board (serial port or unix:DIR), "
                    "deployed and then provisioned here with the bench keys; the UDP parts "
                    "need the board's network and are skipped")
    ap.add_argument("--json", help="also write the raw results to this file")
    args = ap.parse_args()
    started = time.perf_counter()
    if args.device:
        import device

        provision_device(args.device)
        link = device.Session(args.device, HERE / "mp_rs.py")
        try:
            proc = dict(in_process(link, min(args.alloc_requests, 100), 100),
                        heap="the board's")
        finally:
            link.close()
        report_in_process(proc)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        targets = []
        try:
            for h in args.rs_heap.split(","):
                targets.append(start_microace(tmp / ("rs-" + h), h))
            targets.append(start_aiocoap())
            cap = capacity(targets, args.requests, args.reps)
        finally:
            for t in targets:
                t.stop()
        tokens = authz_info(tmp / "tokens", args.authz_heap, args.tokens)
        pristine = tmp / "pristine"
        pristine.mkdir()
        provision(pristine, LIMITS)
        link = UnixProcess(pristine, args.alloc_heap)
        try:
            # 100 timed requests fit in the heap the GC-off batch leaves: the RS's own time.
            proc = dict(in_process(link, args.alloc_requests, 100),
                        heap="-X heapsize=%s" % args.alloc_heap)
        finally:
            link.close()
        smallest = None if args.skip_heap else smallest_heap(pristine)
    report(cap, tokens, proc, smallest, args)
    print("whole-server bench time %.0f s, load average %.2f on %d CPUs"
          % (time.perf_counter() - started, os.getloadavg()[0], os.cpu_count()))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"capacity": {"%s C=%d" % k: v for k, v in cap.items()}, "authz_info": tokens,
             "in_process": proc, "smallest_heap_k": smallest}, indent=1))


if __name__ == "__main__":
    main()
