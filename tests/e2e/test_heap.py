"""DESIGN.md's heap target for the whole RS ("serving at -X heapsize=48k"), the part the unix
port can show. There the firmware's code lives in the heap (docs/BENCHMARKS.md, "Heap: where it
goes": 133 KB loaded), so the RS gets what its code and start-up structures take, measured in a
process of its own, plus 48 KiB (WORKING): with that it must take a
token and serve GET and PUT over OSCORE. A board with the code frozen in flash has that as its
whole heap: the second test runs the whole flow on the board proxy, where the firmware is
frozen."""

import importlib.util
import subprocess

import cbor2

from tests.support.coap_wire import code
from tests.support.vectors import ROOT

_spec = importlib.util.spec_from_file_location("bench_server", ROOT / "bench" / "server.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# DESIGN.md's 48 KiB (the board proxy's figure below).
WORKING = 48 * 1024


def test_the_rs_serves_with_its_working_heap_beyond_its_code(tmp_path):
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    bench.provision(pristine, bench.LIMITS)
    link = bench.UnixProcess(pristine, "4096k")
    try:  # code and start-up structures, with one token taken (bench/mp_rs.py)
        loaded = bench.in_process(link, 1, 1)["loaded"]
    finally:
        link.close()
    heap = "%dk" % ((loaded + WORKING + 1023) // 1024)
    print("\ncode and start-up %d bytes; the RS at -X heapsize=%s" % (loaded, heap))
    assert bench.serves(pristine, heap), "the RS does not serve with %d KiB beyond its code" % (
        WORKING // 1024)


# The board proxy (`make firmware`, `pytest --proxy`): 32-bit, 16-bit digits, the firmware
# frozen, so the heap holds only what the RS builds at run time, as on an ESP32. DESIGN.md's
# target is 48k: the literal target. It fits since G's comb table is a bytes constant (in flash
# when frozen: 2 KB less heap) and app.main collects start-up garbage before the long-lived
# structures are made (they sit low, the heap above stays in one piece for the 1,281-byte
# receive block): docs/BENCHMARKS.md, "The board proxy".
PROXY_HEAP = "48k"
GET, PUT = 1, 3


def test_the_whole_flow_at_48k_on_the_board_proxy_with_the_firmware_frozen(board_proxy,
                                                                           tmp_path):
    """Token upload, OSCORE GET and PUT, a forged token, a request out of scope, a replay,
    then a reboot after which the context comes back through Echo (RFC 8613 App. B.1.2)."""
    from tests.support.rs_peer import OTHER_KEY, Peer, Session, claims, free_port, mint, provision
    from microace_host import rs_runner
    from microace_host.unix_port import micropython_command

    argv, env = micropython_command("-c", "import microace.rs\nprint(microace.rs.__file__)")
    where = subprocess.run(argv, env=env, capture_output=True, text=True).stdout.strip()
    assert where == "microace/rs.py", "the RS is not frozen into %s: %r" % (board_proxy, where)
    provision(tmp_path, {"max_tokens": 2, "max_token_bytes": 1024})
    bind = "127.0.0.1:%d" % free_port()
    process, _ = rs_runner.start("unix:%s" % tmp_path, bind, PROXY_HEAP)
    rs = type("RS", (), {"address": ("127.0.0.1", int(bind.rsplit(":", 1)[1]))})()
    peer = Peer(rs)
    try:
        scope = cbor2.dumps([["/temp", 1], ["/led", 5]])  # GET /temp; GET and PUT /led
        s = Session(peer, claims(scope=scope), client_id=b"\x21")
        _, got = s.call(GET, "/temp")
        assert (code(got.code), got.payload) == ("2.05", b"21.5")
        assert code(s.call(PUT, "/led", b"1")[1].code) == "2.04"
        assert s.call(GET, "/led")[1].payload == b"1"
        forged, _ = peer.authz_info(mint(claims(), signer=OTHER_KEY), client_id=b"\x22")
        assert code(forged.code) == "4.01"
        assert code(s.call(PUT, "/config", b"x")[1].code) == "4.03"
        outer, request_id = s.protect(GET, "/temp")
        assert code(s.send(outer, request_id)[1].code) == "2.05"
        assert code(peer.request(outer).code) == "4.01"  # the same request again: a replay
        process.kill()
        process.wait()
        process.stdout.close()
        process, _ = rs_runner.start("unix:%s" % tmp_path, bind, PROXY_HEAP)
        _, challenge = s.call(GET, "/temp")
        assert code(challenge.code) == "4.01" and len(challenge.opt.echo) == 8
        # The same context answers the Echo; the RS then serves it again.
        _, served = s.call(GET, "/temp", echo=challenge.opt.echo)
        assert (code(served.code), served.payload) == ("2.05", b"21.5")
    finally:
        peer.close()
        process.kill()
        process.wait()
        output = process.stdout.read()
        process.stdout.close()
        print(output)
