"""`make bench`, profiles part: token-to-first-response over the EDHOC-OSCORE profile (EDHOC
message_1 .. message_3 with the token in EAD_3, then OSCORE GET /temp) against the ACE-OSCORE
profile (POST /authz-info, then OSCORE GET /temp), on one unix-port RS offering both, over UDP
on 127.0.0.1; the RS process's CPU time per flow (from /proc), and the smallest heap (stepped
up from --from in --step steps) in which a fresh RS serves each flow.

    .venv/bin/python bench/profiles.py [--runs 6] [--from 160] [--step 8] [--heap 320k]
    MICROACE_PROXY=$PWD/build/proxy/micropython .venv/bin/python bench/profiles.py --from 32

Tokens come from the AS emulator's code (authz_server.Issuer) before the clock starts: the AS
is not timed. Figures only, never a verdict; docs/BENCHMARKS.md records them.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console

from microace_host import authz_server as asv
from microace_host import client, demo_edhoc, rs_runner, wire
from microace_host.demo_flow import AUDIENCE, CLIENT_ID, _free_port, stop

CONTENT = 0x45


def cpu_seconds(pid):
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def grants(config_path, key):
    """One fresh token response per profile (the AS emulator's shapes)."""
    edhoc_cfg = asv.Config.load(config_path)
    oscore_cfg = asv.Config.load(config_path)
    oscore_cfg.rss[AUDIENCE].credential = None  # the same RS entry, ACE-OSCORE tokens
    return {"edhoc": asv.Issuer(edhoc_cfg).grant(CLIENT_ID, AUDIENCE),
            "oscore": asv.Issuer(oscore_cfg).grant(CLIENT_ID, AUDIENCE)}


async def flow(profile, uri, grant, key):
    """-> seconds from the first datagram of the token upload to the first OSCORE answer."""
    session = await client.Session.create()
    try:
        start = time.perf_counter()
        if profile == "edhoc":
            await session.edhoc(uri, grant, key)
        else:
            await session.use_token(uri, grant[wire.P_ACCESS_TOKEN],
                                    grant[wire.P_CNF][wire.CNF_OSC])
        response = await session.request("GET", uri)
        elapsed = time.perf_counter() - start
        if response.code != CONTENT:
            raise client.ClientError("GET /temp: %s" % response.code)
        return elapsed
    finally:
        await session.shutdown()


def served(profile, state, heap, config_path, key, runs=1, timeout=60):
    """A fresh RS with `heap`, `runs` flows (a new token each) -> [(seconds, RS CPU seconds
    of the flow)], or None when a flow failed. The RS CPU of one flow is the total over the
    runs divided by them (/proc counts in clock ticks)."""
    # each flow's token stays in the store (and in state.bin, restored at the next start):
    # a fresh start without them, and fewer runs than the board's max_tokens (8)
    (Path(state) / "state.bin").unlink(missing_ok=True)
    port = _free_port()
    try:
        process, where = rs_runner.start("unix:%s" % state, "127.0.0.1:%d" % port, heap)
    except rs_runner.UnixPortError as exc:
        print("    heap %s: %s" % (heap, exc))
        return None
    try:
        tokens = [grants(config_path, key)[profile] for _ in range(runs)]
        before = cpu_seconds(process.pid)
        times = [asyncio.run(asyncio.wait_for(flow(profile, where + "/temp", g, key), timeout))
                 for g in tokens]
        cpu = (cpu_seconds(process.pid) - before) / runs
        return [(t, cpu) for t in times]
    except (client.ClientError, asyncio.TimeoutError, OSError) as exc:
        print("    heap %s: %s %s" % (heap, type(exc).__name__, exc))
        return None
    finally:
        stop(process)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="at most 8 (the store)")
    parser.add_argument("--heap", default="320k", help="heap of the timed runs")
    parser.add_argument("--from", dest="low", type=int, default=160, help="KiB")
    parser.add_argument("--step", type=int, default=8, help="KiB")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config_path = demo_edhoc._setup(directory, _free_port(), Console(quiet=True))
        key = client.EdhocKey(directory / "keys" / "client.cose")
        state = directory / "rs-state"
        where = "board proxy %s" % os.environ["MICROACE_PROXY"] \
            if os.environ.get("MICROACE_PROXY") else "unix port"
        console.print("[bold]token to first response[/] (%s, heap %s, %d flows on one "
                      "RS; RS CPU from /proc, averaged)" % (where, args.heap, args.runs))
        for profile, name in (("oscore", "ACE-OSCORE: /authz-info + GET"),
                              ("edhoc", "EDHOC-OSCORE: message_1..3 (token in EAD_3) + GET")):
            ok = served(profile, state, args.heap, config_path, key, args.runs)
            if not ok:
                console.print("  %s: failed" % name)
                continue
            console.print("  %-52s %7.1f ms wall, %6.1f ms RS CPU (median of %d)" % (
                name, statistics.median(r[0] for r in ok) * 1000, ok[0][1] * 1000, len(ok)))
        console.print("[bold]smallest heap serving the flow[/] (a fresh RS per try, "
                      "%d KiB steps)" % args.step)
        for profile in ("oscore", "edhoc"):
            heap = args.low
            while heap <= 1024 and served(profile, state, "%dk" % heap, config_path,
                                          key) is None:
                heap += args.step
            console.print("  %-12s %s" % (profile, "%d KiB" % heap if heap <= 1024
                                          else "over 1024 KiB"))


if __name__ == "__main__":
    main()
