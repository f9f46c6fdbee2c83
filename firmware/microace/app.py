"""Board start-up: board config, key store, the RS with the demo resources; serve forever.

    import microace.app; microace.app.main(state_dir, "127.0.0.1:5683")

A store that is missing, corrupt or not provisioned stops the start (fail closed).
"""

import asyncio
import gc
import hashlib
import json

from microace import cbor, net, wiring
from microace.coap import codes, formats, options
from microace.coap.message import Message
from microace.coap.server import Server
from microace.errors import DecodeError, KeyStoreError
from microace.rs import ResourceServer
from microace.state import State

DEFAULTS = {"keystore": {"backend": "file", "dir": "."},
            "limits": {"max_tokens": 8, "max_token_bytes": 1024},
            "network": {"coap_port": 5683}, "pins": {}}


def load_config(state_dir):
    """DIR/board.json, else the unix defaults; a relative file store "dir" lives in DIR."""
    try:
        with open(state_dir + "/board.json") as f:
            cfg = json.load(f)
    except OSError:
        cfg = dict(DEFAULTS)
    store = cfg.get("keystore") or {}
    if store.get("backend") == "file" and not store.get("dir", ".").startswith("/"):
        store = dict(store)
        store["dir"] = state_dir + "/" + store.get("dir", ".")
        cfg["keystore"] = store
    return cfg


def parse_bind(text, port):
    """"HOST:PORT" or "HOST" -> (host, port)."""
    host, _, p = text.rpartition(":") if ":" in text else (text, "", "")
    return (host or "0.0.0.0"), (int(p) if p else port)


def _led(pins):
    """The LED: a machine.Pin on boards that name one, else a variable."""
    number = pins.get("led")
    if number is None:
        return None
    try:
        from machine import Pin
    except ImportError:  # the unix port's machine module has no Pin
        raise ValueError('"pins": {"led": %r}: this port has no machine.Pin' % (number,))

    return Pin(number, Pin.OUT)


def build(store, pins=None, rs_state=None, persist=None):
    """The ResourceServer over `store` with the demo resources; `rs_state` survives reboots,
    `persist` is board.json's {"tokens": bool} (default: tokens persist)."""
    status = store.status()
    config = status["config"]
    if config is None:
        raise KeyStoreError("the key store is not provisioned")
    rs = ResourceServer(store, config, rs_state, (persist or {}).get("tokens", True),
                        status["gen"])
    pin = _led(pins or {})
    state = {"led": False, "config": None, "etag": None}  # config: its CBOR, once PUT

    @rs.resource("/temp", methods=("GET",), formats=(formats.TEXT_PLAIN,))
    def temp(request):
        return Message(codes.CONTENT, b"21.5").add(options.CONTENT_FORMAT, formats.TEXT_PLAIN)

    @rs.resource("/led", methods=("GET", "PUT"), formats=(formats.TEXT_PLAIN,))
    def led(request):
        if request.code == codes.GET:
            return Message(codes.CONTENT, b"1" if state["led"] else b"0").add(
                options.CONTENT_FORMAT, formats.TEXT_PLAIN)
        if request.payload not in (b"0", b"1"):
            raise DecodeError("led takes 0 or 1")
        state["led"] = request.payload == b"1"
        if pin is not None:
            pin.value(state["led"])
        return Message(codes.CHANGED)

    # /config: a CBOR map, up to a Block1 body (2 KB); none until the first PUT. Its ETag
    # lets a client update it conditionally (If-Match) or create it once (If-None-Match).
    @rs.resource("/config", methods=("GET", "PUT"), formats=(formats.CBOR,),
                 etag=lambda: state["etag"])
    def config_(request):
        if request.code == codes.GET:
            if state["config"] is None:
                return Message(codes.NOT_FOUND)
            return Message(codes.CONTENT, state["config"]).add(options.CONTENT_FORMAT,
                                                               formats.CBOR)
        if type(cbor.decode(request.payload, 2, 32)) is not dict:
            raise DecodeError("config takes a CBOR map")
        state["config"] = request.payload
        state["etag"] = hashlib.sha256(request.payload).digest()[:8]
        return Message(codes.CHANGED)

    return rs


def _profile(number, rs, cfg):
    """An offered ace_profile number -> its profiles/ object; the EDHOC-OSCORE profile's
    module is loaded only here, and needs board.json "edhoc" (its EDHOC resource)."""
    from microace.codepoints import CODES

    if number != CODES["ace_profile_coap_edhoc_oscore"]:
        return rs.profiles[0]  # ACE-OSCORE, as build() made it
    if cfg.get("edhoc") is None:
        raise ValueError('board.json "profiles": coap_edhoc_oscore needs "edhoc"')
    from microace.profiles.edhoc_oscore import EdhocOscore

    return EdhocOscore()


async def _serve(server, clock):
    """Serve, and poll the clock hourly so ticks_ms never wraps unseen (clock.py)."""
    async def poll():
        while True:
            await asyncio.sleep(3600)
            clock.poll()

    asyncio.create_task(poll())
    await server.serve()


def main(state_dir=".", bind=None):
    cfg = load_config(state_dir)
    net.up(cfg.get("network") or {}, state_dir)
    store = wiring.open_store(cfg)
    # Start-up garbage goes before the long-lived structures are made (here and before
    # serving), so that they sit low and the heap above them stays in one piece: at 48k a
    # datagram needs one 1,281-byte block (docs/BENCHMARKS.md, "The board proxy").
    gc.collect()
    rs = build(store, cfg.get("pins"), State(state_dir + "/state.bin"), cfg.get("persist"))
    if "profiles" in cfg or "codepoints" in cfg:  # board.json: ACE profiles offered and the
        from microace import codepoints, cwt  # EDHOC-OSCORE numbers; a board without
        # loads none (nor cwt this early: where code sits in the heap, its place matters)

        cwt.CNF_KCCS = codepoints.configure(cfg.get("codepoints"))["kccs"]
        rs.profiles = [_profile(n, rs, cfg) for n in codepoints.offered(cfg.get("profiles"))]
    handle, critical, links = rs.handle, rs.CRITICAL, [(path, "") for path in rs.resources]
    if cfg.get("edhoc") is not None:  # board.json enables EDHOC: edhoc_resource.py in front
        from microace import edhoc_resource

        handle, critical, links = edhoc_resource.handler(rs, store, cfg["edhoc"], links)
    port = (cfg.get("network") or {}).get("coap_port", 5683)
    server = Server(handle, parse_bind(bind or "0.0.0.0", port), critical=critical,
                    blocks=rs.blocks)
    for link in links:
        server.add_link(*link)
    gc.collect()
    server.open()
    print("microace RS listening on coap://%s:%d" % server.bind)
    asyncio.run(_serve(server, rs.clock))
