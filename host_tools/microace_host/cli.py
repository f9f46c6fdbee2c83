"""The `microace` command: a click tree with no logic of its own."""

import json
import sys

import click

from . import __version__, keys, tokens, unix_port


@click.group()
@click.version_option(__version__, prog_name="microace")
def main():
    """microace: offline ACE-OAuth resource server for MicroPython boards — host tools."""


@main.group()
def token():
    """Offline token tools."""


@token.command("check")
@click.argument("token_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="trusted key: COSE_Key (CBOR) or, for public keys, PEM")
@click.option("--audience", required=True, help="this resource server's audience")
@click.option("--issuer", default=None, help="required iss, if any")
@click.option("--now", type=float, default=None, help="Unix time to check at (default: now)")
@click.option("--heap", default=None, help="run the unix port with this heap, e.g. 32k")
def token_check(token_file, key_file, audience, issuer, now, heap):
    """Would a board accept TOKEN_FILE (raw token bytes)? Runs the firmware's own verification.

    Exit 0: accepted; 1: rejected (the reason is printed); 2: usage error.
    """
    try:
        key = keys.load_cose_key(key_file)
        with open(token_file, "rb") as f:
            raw = f.read()
        verdict = tokens.check(raw, key, audience, issuer=issuer,
                               now=int(now) if now is not None and now == int(now) else now,
                               heap=heap)
    except (keys.KeyFileError, unix_port.UnixPortError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(json.dumps(verdict, indent=2, sort_keys=True))
    if not verdict["accepted"]:
        click.echo("rejected: %s: %s" % (verdict.get("error"), verdict.get("reason")), err=True)
        sys.exit(1)
