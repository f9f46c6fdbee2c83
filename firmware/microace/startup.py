"""Board start-up, run once: board config, network, key store (fail closed when missing,
corrupt or not provisioned), the RS with the demo resources and its profiles, the CoAP server.

app.main runs start() and then drops this module and the others only start-up needs
(START_ONLY) from sys.modules, so that where the firmware is loaded as .mpy files their code
is collected before serving (docs/BENCHMARKS.md, "The board proxy").
"""

import gc
import json

from microace import net, wiring
from microace.errors import KeyStoreError

# Modules nothing needs once the RS serves; app.main drops them after start(). Only stateless
# ones: a module imported again later starts afresh (so not codepoints, whose CODES hold the
# board's overrides).
START_ONLY = ("microace.startup", "microace.wiring", "microace.net", "microace.demo",
              "microace.keystore.record", "microace.keystore.provisioning")

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


def build(store, pins=None, rs_state=None, persist=None):
    """The ResourceServer over `store` with the demo resources; `rs_state` survives reboots,
    `persist` is board.json's {"tokens": bool} (default: tokens persist)."""
    from microace import demo
    from microace.rs import ResourceServer

    status = store.status()
    config = status["config"]
    if config is None:
        raise KeyStoreError("the key store is not provisioned")
    rs = ResourceServer(store, config, rs_state, (persist or {}).get("tokens", True),
                        status["gen"])
    demo.add(rs, pins)
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


def start(state_dir=".", bind=None):
    """The board's RS, built from DIR/board.json and its key store -> (the CoAP Server, not
    yet open, and the RS's clock)."""
    cfg = load_config(state_dir)
    net.up(cfg.get("network") or {}, state_dir)
    store = wiring.open_store(cfg)
    # Start-up garbage goes before the long-lived structures are made (here and before
    # serving), so that they sit low and the heap above them stays in one piece: at 48k a
    # datagram needs one 1,281-byte block (docs/BENCHMARKS.md, "The board proxy").
    gc.collect()
    from microace.coap.server import Server  # the RS's modules after the store: its garbage
    from microace.state import State  # went first, and they sit above what it keeps

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
    return server, rs.clock
