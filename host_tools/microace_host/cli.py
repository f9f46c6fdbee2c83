"""The `microace` command: a click tree with no logic of its own."""

import json
import math
import sys

import click

from . import __version__, keys, provision, tokens, unix_port
from .board import BoardError


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
    if now is not None and not math.isfinite(now):
        raise click.BadParameter("must be a finite Unix time", param_hint="--now")
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


class InputError(click.ClickException):
    """Bad input from the user: one line on stderr, exit 2."""

    exit_code = 2


@main.group("keys")
def keys_group():
    """Key material for the AS and the boards."""


@keys_group.command("new")
@click.option("--alg", required=True, help="ES256, EdDSA, HS256 or A128CCM")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="directory for the key files (created; files are 0600)")
@click.option("--kid", default=None, help="kid as hex (default: 4 random bytes)")
@click.option("--name", default=None, help="file name stem (default: <alg>-<kid hex>)")
def keys_new(alg, out_dir, kid, name):
    """Generate a key: NAME.cose (COSE_Key), and for ES256/EdDSA NAME.pub.cose, NAME.pem,
    NAME.pub.pem. Prints the kid and the fingerprint a board will report."""
    try:
        made = keys.new_key(alg, out_dir, kid=bytes.fromhex(kid) if kid is not None else None,
                            name=name)
    except ValueError:
        raise InputError("--kid must be hex, got %r" % kid) from None
    except keys.KeyFileError as exc:
        raise InputError(str(exc)) from None
    click.echo("alg: %s" % made.alg)
    click.echo("kid: %s" % made.kid.hex())
    click.echo("fingerprint: %s" % made.fingerprint)
    for path, what in made.files:
        click.echo("file: %s (%s)" % (path, what))


@main.command("provision")
@click.argument("targets", nargs=-1, required=True)
@click.option("--as-key", required=True, help="AS key file: COSE_Key (CBOR) or PEM; only the "
              "public part of ES256/EdDSA keys leaves the host")
@click.option("--as-kid", default=None, help="kid (hex) the AS puts in its tokens, if the key "
              "file has none or another")
@click.option("--audience", required=True, help="this resource server's audience")
@click.option("--issuer", required=True, help="the AS's issuer (iss)")
@click.option("--as-uri", default=None, help="AS URI for AS Request Creation Hints")
@click.option("--scope-map", default=None, help="JSON file {name: [[path, methods], ...]}")
@click.option("--owner-key", default=None, help="owner secret file for re-provisioning "
              "(default: owner.secret next to the AS key; made on first provisioning)")
@click.option("--reprovision", is_flag=True, help="change a sealed store (proves the owner "
              "secret)")
@click.option("--board", default=None, help="board name under boards/ (default: DIR/board.json"
              " or the board's own board.json, else unix / esp32_generic)")
def provision_cmd(targets, as_key, as_kid, audience, issuer, as_uri, scope_map, owner_key,
                  reprovision, board):
    """Provision boards with the AS key and RS config, then seal them.

    TARGET: unix:DIR (the unix port, key store in DIR) or a serial port.

    Exit 0: every target provisioned or unchanged; 1: some target failed; 2: bad input.
    """
    try:
        plan = provision.make_plan(as_key, audience, issuer, as_kid, as_uri, scope_map,
                                   owner_key, reprovision, board)
    except (keys.KeyFileError, provision.ProvisionError) as exc:
        raise InputError(str(exc)) from None
    outcomes = provision.provision_all(targets, plan)
    if not all(o.ok for o in outcomes):
        sys.exit(1)


@main.command("doctor")
@click.argument("target")
@click.option("--board", default=None, help="board name under boards/ (as for provision)")
def doctor_cmd(target, board):
    """What TARGET's key store holds: backend, protection level, sealed, keys (kid, alg,
    fingerprint, issuer), config and limits. Never key bytes."""
    try:
        provision.doctor(target, board)
    except BoardError as exc:
        raise click.ClickException(str(exc)) from None
