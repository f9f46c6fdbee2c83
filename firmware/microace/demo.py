"""The demo resources a board serves: /temp, /led (a machine.Pin where board.json names one)
and /config. A module of their own so that start-up code (startup.py) can be dropped after
start while these handlers stay (docs/BENCHMARKS.md, "The board proxy")."""

import hashlib

from microace import cbor
from microace.coap import codes, formats, options
from microace.coap.message import Message
from microace.errors import DecodeError


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


def add(rs, pins=None):
    """Register the demo resources on `rs` (a ResourceServer)."""
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
