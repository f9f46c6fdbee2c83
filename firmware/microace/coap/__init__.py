"""CoAP (RFC 7252) for the resource server: codec, UDP server loop, dedup, block-wise.

Import the submodules you need (`from microace.coap import message`); this package module
imports nothing, so a board pays only for what it uses.
"""
