"""`make demo`: the whole ACE-OSCORE flow on this machine, in two parts.

1. The firmware's verdicts: an AS key pair is generated, python-cwt mints access tokens, and
   the firmware itself (on the MicroPython unix port) judges each: a good token, a forged one,
   an expired one, one for another resource server, an encrypted ACE-OSCORE token, and a JWT
   (joserfc) with the same claims and key.
2. The flow over CoAP on 127.0.0.1: keys, a unix-port RS provisioned through mpremote, the AS
   emulator and the RS started, the client's grant, OSCORE GET /temp and PUT /led, then a forged
   token, an out-of-scope request and a replayed OSCORE request refused; everything stopped.
3. The EDHOC-OSCORE profile (demo_edhoc.py): the same requests with the token in EDHOC
   message_3, and a table of how the two profiles differ.
"""

import os
import sys
import tempfile
import time

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey
from rich.console import Console
from rich.table import Table

from . import demo_edhoc, demo_flow, keys, tokens, wire
from .demo_flow import AUDIENCE, ISSUER


def _claims(now, extra=None):
    claims = {1: ISSUER, 3: AUDIENCE, 4: now + 3600, 6: now, 7: os.urandom(4),
              9: cbor2.dumps([["/temp", 1], ["/led", 5]])}
    claims.update(extra or {})
    return claims


METHODS = ("GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH")


def _aif_text(aif):
    """AIF [[path, mask], ...] -> "/temp GET, /led GET+PUT" (RFC 9237 bit = method code - 1)."""
    return ", ".join("%s %s" % (path, "+".join(m for i, m in enumerate(METHODS) if mask >> i & 1))
                     for path, mask in aif)


def verdicts(console):
    """Part 1: the firmware's verdict table."""
    now = int(time.time())
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    signer = COSEKey.from_pem(pem, alg="ES256", kid="as-key-1")
    rs_secret = COSEKey.generate_symmetric_key(alg="AES-CCM-16-64-128", kid="as-rs1")
    public = dict(signer.to_dict())
    public.pop(-4)
    cose = COSE.new()

    def signed(claims):
        return cose.encode(cbor2.dumps(claims), signer, protected={wire.HDR_ALG: wire.ALG_ES256},
                           unprotected={4: b"as-key-1"})

    with tempfile.TemporaryDirectory() as tmp:
        keys.write_secret_file(os.path.join(tmp, "as-key-1.cose"), cbor2.dumps(signer.to_dict()))
        console.print("[bold]microace demo[/]: AS key ES256 kid 'as-key-1', key files in a "
                      "0600 directory; the board trusts only the public key.\n")
        good = signed(_claims(now))
        forged = bytearray(good)
        forged[-5] ^= 0x01
        osc = {0: b"\x01", 2: os.urandom(16), 5: os.urandom(8)}
        encrypted = cose.encode(cbor2.dumps(_claims(now, {8: {4: osc}, 38: 2})), rs_secret,
                                protected={1: 10}, unprotected={4: b"as-rs1"})
        wrap = {1: 4, 2: b"as-rs1-kw", 3: -3, -1: os.urandom(16)}  # A128KW, shared with the RS
        nested = tokens.mint(_claims(now, {8: {4: osc}, 38: 2}), "jwt",
                             signing_key=signer.to_dict(), encryption_key=wrap)
        cases = [
            ("valid ES256 token", good, public, AUDIENCE),
            ("forged: one bit of the signature flipped", bytes(forged), public, AUDIENCE),
            ("expired an hour ago", signed(_claims(now - 7200)), public, AUDIENCE),
            ("token for another RS (aud)", good, public, "coap://rs10.example"),
            ("ACE-OSCORE token (Encrypt0, cnf.osc)", encrypted, rs_secret.to_dict(), AUDIENCE),
            ("JWT, ES256, the same AS key", tokens.mint_jwt(_claims(now), signer.to_dict()),
             public, AUDIENCE),
            ("ACE-OSCORE nested JWT (JWE, cnf.osc)", nested,
             [wrap, public], AUDIENCE),
        ]
        table = Table(title="The firmware's verdict (MicroPython unix port)")
        for col in ("token", "bytes", "verdict", "why / what it grants"):
            table.add_column(col)
        for name, token, key, audience in cases:
            v = tokens.check(token, key, audience, issuer=ISSUER, now=now)
            if v["accepted"]:
                claims = v["claims"]
                aif = (claims["scope"] if "scope" in claims  # a JWT: the AIF array in JSON
                       else cbor2.loads(bytes.fromhex(claims["9"]["hex"])))
                what = "%s; PoP key: %s" % (_aif_text(aif), v["cnf"] or "none")
                table.add_row(name, str(len(token)), "[green]accepted[/]", what)
            else:
                table.add_row(name, str(len(token)), "[red]rejected[/]",
                              "%s: %s" % (v["error"], v["reason"]))
        console.print(table)
        console.print("\nTry it yourself: [cyan]microace token check TOKEN --key KEY "
                      "--audience AUD[/] (exit 0 accepted, 1 rejected).")


def main():
    console = Console()
    verdicts(console)
    console.print()
    status = demo_flow.run(console)
    console.print()
    sys.exit(demo_edhoc.run(console) or status)


if __name__ == "__main__":
    main()
