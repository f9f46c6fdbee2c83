"""MicroPython side of bench/server.py: the whole RS in one process, without a socket.

Builds the RS as app.main does (startup.py: board.json, key store, state, demo resources,
CoAP server) in the current directory (a provisioned state directory, or a board's
filesystem), then answers datagrams handed over as JSON lines through Server.datagram, the
path a received datagram takes in the server loop:
  {"authz": hex}                 -> {"authz": hex response, "loaded": bytes in use}
  {"alloc": [hex], "time": [hex]} -> {"alloc_per_request", "us_per_request", "responses",
                                      "timed_2_04"}
     "alloc" runs with the GC off: bytes allocated per request (gc.mem_alloc delta), and the
     responses come back to be verified on the host;
     "time" runs with the GC on: µs per request (time.ticks_us), responses counted (2.04).
On the unix port the lines come on stdin; on a board (bench/server.py --device, through
bench/device.py) the host calls handle(line) through the raw REPL.
"""

import gc
import json
import sys
import time
from binascii import hexlify, unhexlify

gc.collect()
_base = gc.mem_alloc()
from microace import startup, wiring  # noqa: E402
from microace.coap.server import Server  # noqa: E402
from microace.state import State  # noqa: E402

REMOTE = ("127.0.0.1", 40000)
_server = None


def answer(datagram):
    """Server.datagram answers at once: the RS's handler is synchronous."""
    out = _server.datagram(datagram, REMOTE)
    if type(out) is not bytes:
        raise RuntimeError("the handler waited")
    return out


def _setup():
    global _server
    cfg = startup.load_config(".")
    rs = startup.build(wiring.open_store(cfg), cfg.get("pins"), State("./state.bin"),
                       cfg.get("persist"))
    _server = Server(rs.handle, ("127.0.0.1", 0), critical=rs.CRITICAL, blocks=rs.blocks)


def _requests(alloc, timed):
    n = len(alloc)
    out = [None] * n  # made ahead: its growth is not counted
    batch = [unhexlify(d) for d in alloc]
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for i in range(n):
        out[i] = answer(batch[i])
    allocated = gc.mem_alloc() - before
    gc.enable()
    # The timed responses are counted, not kept: one kept object per request would sit in
    # every hole the request's garbage leaves, and soon no larger block could be allocated.
    batch = [unhexlify(d) for d in timed]
    changed = 0
    gc.collect()
    t = time.ticks_us()
    for i in range(len(batch)):
        changed += answer(batch[i])[1] == 0x44  # OSCORE responses go out as 2.04
    us = time.ticks_diff(time.ticks_us(), t)
    return {"alloc_per_request": allocated / n, "us_per_request": us / len(batch),
            "responses": [hexlify(r).decode() for r in out], "timed_2_04": changed}


def handle(line):
    request = json.loads(line)
    if "authz" in request:
        _setup()
        out = answer(unhexlify(request["authz"]))
        gc.collect()
        return json.dumps({"authz": hexlify(out).decode(), "loaded": gc.mem_alloc() - _base})
    return json.dumps(_requests(request["alloc"], request["time"]))


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        print(handle(line))


if "_MACE_IN" not in globals():  # on a board, bench/device.py calls handle() itself
    main()
