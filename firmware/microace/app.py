"""Board start-up, then serve forever:

    import microace.app; microace.app.main(state_dir, "127.0.0.1:5683")

startup.py builds the RS (a store that is missing, corrupt or not provisioned stops the start:
fail closed); what only start-up needs is then dropped, and the RS serves.
"""

import asyncio
import gc
import sys

from micropython import const

_START_GC = const(2048)


async def _serve(server, clock):
    """Serve, and poll the clock hourly so ticks_ms never wraps unseen (clock.py)."""
    async def poll():
        while True:
            await asyncio.sleep(3600)
            clock.poll()

    asyncio.create_task(poll())
    await server.serve()


def _drop(names):
    """Forget modules: out of sys.modules and off their package, so nothing holds them."""
    for name in names:
        if sys.modules.pop(name, None) is not None:
            package, _, attr = name.rpartition(".")
            try:
                delattr(sys.modules[package], attr)
            except (KeyError, AttributeError):
                pass


def main(state_dir=".", bind=None):
    # While start-up loads modules, their loader's garbage goes every 2 KB: loaded as .mpy
    # files the code stays put, and without this it lands among the garbage and the heap
    # breaks up (on a board built with the manifests there is little of either).
    before = gc.threshold()
    gc.threshold(_START_GC)
    try:
        from microace import startup

        server, clock = startup.start(state_dir, bind)
    finally:
        gc.threshold(before)  # -1 by default: serving collects only when the heap is full
    # The start-up modules go: loaded as .mpy files, their code is heap (on a board built
    # with the manifests it is flash, and dropping them costs nothing).
    _drop(startup.START_ONLY)
    startup = None
    gc.collect()
    server.open()
    print("microace RS listening on coap://%s:%d" % server.bind)
    asyncio.run(_serve(server, clock))
