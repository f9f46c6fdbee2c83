"""The peer of the OSCORE capacity benchmark: aiocoap's OSCORE server on CPython, serving the
resource the microace RS serves (GET /temp -> 2.05 "21.5", text/plain).

bench/server.py starts it as its own process (so its CPU time is its own) and writes one JSON
line on stdin: {"port", "ms", "salt", "sender", "recipient" (hex), "window"}; it prints
"ready" once it listens. The replay window is set to "window" (aiocoap's default of 32 drops
the out-of-order requests that 32 outstanding ones bring).
"""

import asyncio
import json
import sys
import types

# aiocoap's OSCORE site wrapper imports lakers (EDHOC) at the top, and uses it for EDHOC only:
# an empty stand-in spares the benchmark a dependency it never calls.
sys.modules.setdefault("lakers", types.ModuleType("lakers"))

import aiocoap  # noqa: E402
import aiocoap.resource as resource  # noqa: E402
from aiocoap import oscore  # noqa: E402
from aiocoap.credentials import CredentialsMap  # noqa: E402
from aiocoap.oscore_sitewrapper import OscoreSiteWrapper  # noqa: E402

from microace_host.client import memory_context  # noqa: E402


class Temp(resource.Resource):
    async def render_get(self, request):
        return aiocoap.Message(code=aiocoap.CONTENT, payload=b"21.5", content_format=0)


async def main():
    cfg = json.loads(sys.stdin.readline())
    context = memory_context(*(bytes.fromhex(cfg[k]) for k in ("ms", "salt", "sender",
                                                               "recipient")))
    context.recipient_replay_window = oscore.ReplayWindow(cfg["window"], lambda: None)
    context.recipient_replay_window.initialize_empty()
    site = resource.Site()
    site.add_resource(["temp"], Temp())
    credentials = CredentialsMap()
    credentials[":client"] = context
    await aiocoap.Context.create_server_context(OscoreSiteWrapper(site, credentials),
                                                bind=("127.0.0.1", cfg["port"]))
    print("ready", flush=True)
    await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
