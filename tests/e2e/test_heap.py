"""DESIGN.md's heap target for the whole RS ("serving at -X heapsize=48k"), the part the unix
port can show. There the firmware's code lives in the heap (docs/BENCHMARKS.md, "Heap: where it
goes": 133 KB loaded), so the RS gets what its code and start-up structures take, measured in a
process of its own, plus 48 KiB: with that it must take a token and serve GET and PUT over
OSCORE. A board with the code frozen in flash has the 48 KiB as its whole heap."""

import importlib.util

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("bench_server", ROOT / "bench" / "server.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

WORKING = 48 * 1024


def test_the_rs_serves_with_48k_of_heap_beyond_its_code(tmp_path):
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
    assert bench.serves(pristine, heap), "the RS does not serve with 48 KiB beyond its code"
