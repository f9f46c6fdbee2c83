"""Start-up leaves nothing of itself behind: app.main builds the RS in startup.py and then drops
the modules only start-up needs (where the firmware is loaded as .mpy files their code is
heap: docs/BENCHMARKS.md, "The board proxy"). The RS still serves, and after a reboot too.

The RS runs as rs_runner starts it, with a main.py of the test's in the state directory (first
on the module path, as on a board's filesystem): it calls app.main as firmware/main.py does and
prints, once the RS listens, the firmware modules loaded, those the microace packages still
hold as attributes, and gc.threshold()."""

import cbor2

from tests.support.coap_wire import code
from tests.support.rs_peer import HEAP, Peer, Session, claims, free_port, provision
from microace_host import rs_runner

GET, PUT = 1, 3
# What only start-up needs (board config, network, wiring, the store's record parsing and
# provisioning side, the demo resources' module: their handlers stay, held by the RS).
START_ONLY = {"microace.startup", "microace.wiring", "microace.net", "microace.demo",
              "microace.keystore.record", "microace.keystore.provisioning"}

MAIN = """
import asyncio
import gc
import os
import sys

_run = asyncio.run


def run(coro):
    held = [n for n in sys.modules if n.startswith("microace")]
    held += [n for n in %r if hasattr(sys.modules.get(n.rpartition(".")[0]), n.rpartition(".")[2])]
    print("loaded", gc.threshold(), " ".join(held))
    _run(coro)


asyncio.run = run
from microace import app

app.main(os.getenv("MICROACE_STATE"), os.getenv("MICROACE_BIND"))
""" % (sorted(START_ONLY),)


def boot(directory, bind):
    """Start the RS -> (process, the modules it holds while serving, its gc.threshold())."""
    process, _ = rs_runner.start("unix:%s" % directory, bind, HEAP)
    line = process.stdout.readline().split()
    assert line[:1] == ["loaded"], line
    return process, set(line[2:]), int(line[1])


def stop(process):
    process.kill()
    process.wait()
    output = process.stdout.read()
    process.stdout.close()
    return output


def test_start_up_modules_are_dropped_and_the_rs_serves_before_and_after_a_reboot(tmp_path):
    provision(tmp_path, {"max_tokens": 2, "max_token_bytes": 1024})
    (tmp_path / "main.py").write_text(MAIN)
    port = free_port()
    bind = "127.0.0.1:%d" % port
    process, held, threshold = boot(tmp_path, bind)
    peer = Peer(type("RS", (), {"address": ("127.0.0.1", port)})())
    try:
        assert {"microace.app", "microace.rs", "microace.keystore.persistent"} <= held
        assert not held & START_ONLY, held & START_ONLY
        assert threshold == -1  # the default again: serving collects only when it must
        scope = cbor2.dumps([["/temp", 1], ["/led", 5]])
        s = Session(peer, claims(scope=scope), client_id=b"\x21")
        _, got = s.call(GET, "/temp")
        assert (code(got.code), got.payload) == ("2.05", b"21.5")
        assert code(s.call(PUT, "/led", b"1")[1].code) == "2.04"
        assert s.call(GET, "/led")[1].payload == b"1"
        assert "Traceback" not in stop(process)
        process, held, threshold = boot(tmp_path, bind)  # a reboot over the same state
        assert not held & START_ONLY and threshold == -1
        _, challenge = s.call(GET, "/temp")  # the token is back; its context asks for Echo
        assert code(challenge.code) == "4.01" and len(challenge.opt.echo) == 8
        _, served = s.call(GET, "/temp", echo=challenge.opt.echo)
        assert (code(served.code), served.payload) == ("2.05", b"21.5")
    finally:
        peer.close()
        output = stop(process)
    assert "Traceback" not in output, output
