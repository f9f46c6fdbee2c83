"""A public `const()` name that no other module (nor a test, tool or bench) uses gets the `_`
prefix (issue 14): MicroPython inlines a `_` const and keeps no global for it, where a public
one costs a slot in the module's dict on the board's heap. The CoAP registries are exempt: they
are the IANA tables, checked entry by entry against aiocoap's (test_coap_message.py)."""

import re
from pathlib import Path

from microace_host.firmware import FIRMWARE

ROOT = Path(FIRMWARE).parent
REGISTRIES = {"microace/coap/codes.py", "microace/coap/options.py", "microace/coap/formats.py"}
CONST = re.compile(r"^([A-Z][A-Z0-9_]*)\s*=\s*const\(", re.M)
READERS = ["firmware", "host_tools", "tests", "bench", "build-support"]


def _texts():
    for top in READERS:
        for path in (ROOT / top).rglob("*.py"):
            yield path, path.read_text()


def test_public_consts_are_used_outside_their_module():
    texts = list(_texts())
    lonely = []
    for path, source in texts:
        relative = path.relative_to(FIRMWARE).as_posix() if path.is_relative_to(FIRMWARE) else None
        if relative is None or relative in REGISTRIES:
            continue
        for name in CONST.findall(source):
            word = re.compile(r"\b%s\b" % name)
            if not any(word.search(text) for other, text in texts if other != path):
                lonely.append("%s: %s" % (relative, name))
    assert not lonely, "public const() names no other module uses (prefix them with _): %s" % (
        ", ".join(lonely))
