"""The `microace` command: a click tree with no logic of its own."""

import json
import math
import sys

import click

from . import (__version__, authz_server, client, deploy, keys, provision, rs_runner, tokens,
               unix_port)
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
@click.option("--key", "key_files", required=True, multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="trusted key: COSE_Key (CBOR) or, for public keys, PEM; repeat for a nested "
              "token (the RS's encryption key and the AS key)")
@click.option("--audience", required=True, help="this resource server's audience")
@click.option("--issuer", default=None, help="required iss, if any")
@click.option("--now", type=float, default=None, help="Unix time to check at (default: now)")
@click.option("--heap", default=None, help="run the unix port with this heap, e.g. 32k")
def token_check(token_file, key_files, audience, issuer, now, heap):
    """Would a board accept TOKEN_FILE (raw token bytes)? Runs the firmware's own verification.

    Exit 0: accepted; 1: rejected (the reason is printed); 2: usage error.
    """
    if now is not None and not math.isfinite(now):
        raise click.BadParameter("must be a finite Unix time", param_hint="--now")
    try:
        key = [keys.load_cose_key(f) for f in key_files]
        key = key[0] if len(key) == 1 else key
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
@click.option("--alg", required=True, help="ES256, EdDSA, HS256, A128CCM or A128KW")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="directory for the key files (created; files are 0600)")
@click.option("--kid", default=None, help="kid as hex (default: 4 random bytes)")
@click.option("--name", default=None, help="file name stem (default: <alg>-<kid hex>)")
@click.option("--ccs", "with_ccs", is_flag=True, help="ES256: also NAME.ccs, the key's CWT "
              "Claims Set (an EDHOC client's credential for the AS and the client)")
def keys_new(alg, out_dir, kid, name, with_ccs):
    """Generate a key: NAME.cose (COSE_Key), and for ES256/EdDSA NAME.pub.cose, NAME.pem,
    NAME.pub.pem (--ccs: NAME.ccs). Prints the kid and the fingerprint a board will report."""
    try:
        made = keys.new_key(alg, out_dir, kid=bytes.fromhex(kid) if kid is not None else None,
                            name=name, with_ccs=with_ccs)
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
@click.option("--as-key", "as_keys", required=True, multiple=True,
              help="AS key file: COSE_Key (CBOR) or PEM; only the public part of ES256/EdDSA "
              "keys leaves the host. Repeatable, e.g. the AS's signature key and the AS<->RS "
              "A128CCM key for Encrypt0(Sign1) tokens (A128KW for nested JWTs); then each file "
              "carries its kid")
@click.option("--as-kid", default=None, help="kid (hex) the AS puts in its tokens, if the key "
              "file has none or another (single --as-key only)")
@click.option("--audience", required=True, help="this resource server's audience")
@click.option("--issuer", required=True, help="the AS's issuer (iss)")
@click.option("--as-uri", default=None, help="AS URI for AS Request Creation Hints")
@click.option("--scope-map", default=None, help="JSON file {name: [[path, methods], ...]}")
@click.option("--owner-key", default=None, help="owner secret file for re-provisioning "
              "(default: owner.secret next to the first AS key; made on first provisioning)")
@click.option("--reprovision", is_flag=True, help="change a sealed store (proves the owner "
              "secret)")
@click.option("--board", default=None, help="board name under boards/ (default: DIR/board.json"
              " or the board's own board.json, else unix / esp32_generic)")
@click.option("--require-cnonce", is_flag=True, help="tokens must carry the cnonce the RS put "
              "in its 4.01 hints (RFC 9200 §5.3.1): fresh tokens only")
@click.option("--edhoc", is_flag=True, help="the board makes its EDHOC static DH key (before "
              "sealing; its private part never leaves the board)")
@click.option("--rs-cred-out", default=None, type=click.Path(dir_okay=False),
              help="with --edhoc: write the RS's CCS (its EDHOC credential) to this file")
@click.option("--edhoc-kid", default="32", show_default=True,
              help="with --edhoc: kid (hex) of the RS's EDHOC key (ID_CRED_R)")
@click.option("--edhoc-sub", default=None, help="with --edhoc: sub of the RS's CCS "
              "(default: the audience)")
@click.option("--edhoc-client", "edhoc_clients", multiple=True, help="with --edhoc: a trusted "
              "EDHOC client, CCS_FILE=SCOPE (repeatable; none: no client is accepted)")
def provision_cmd(targets, as_keys, as_kid, audience, issuer, as_uri, scope_map, owner_key,
                  reprovision, board, require_cnonce, edhoc, rs_cred_out, edhoc_kid, edhoc_sub,
                  edhoc_clients):
    """Provision boards with the AS keys and RS config, then seal them.

    TARGET: unix:DIR (the unix port, key store in DIR) or a serial port.

    Exit 0: every target provisioned or unchanged; 1: some target failed; 2: bad input.
    """
    try:
        edhoc_plan = None
        if edhoc:
            try:
                kid = bytes.fromhex(edhoc_kid)
            except ValueError:
                raise provision.ProvisionError("--edhoc-kid must be hex") from None
            edhoc_plan = provision.EdhocPlan(
                kid, edhoc_sub or audience, rs_cred_out,
                [provision.load_edhoc_client(c) for c in edhoc_clients])
        elif rs_cred_out or edhoc_clients:
            raise provision.ProvisionError("--rs-cred-out and --edhoc-client need --edhoc")
        plan = provision.make_plan(list(as_keys), audience, issuer, as_kid, as_uri,
                                   scope_map, owner_key, reprovision, board, require_cnonce,
                                   edhoc_plan)
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


@main.command("deploy")
@click.argument("target")
@click.option("--board", "board_name", required=True,
              help="board name under boards/: its manifest.py says which modules it gets")
@click.option("--romfs", is_flag=True,
              help="the modules as one ROMFS image, run in place from the board's ROMFS "
                   "partition (unix:DIR: DIR/microace.romfs, mounted by `microace rs`)")
def deploy_cmd(target, board_name, romfs):
    """Compile the firmware for the board and copy it to TARGET (a serial port, or unix:DIR
    for the unix port), verified by SHA-256 on the board. Copies no keys or secrets."""
    try:
        deploy.deploy(target, board_name, romfs=romfs)
    except (BoardError, deploy.DeployError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command("rs")
@click.argument("target")
@click.option("--bind", default="127.0.0.1:5683", show_default=True, help="HOST:PORT to serve")
@click.option("--heap", default=None, help="unix port heap size, e.g. 64k")
def rs_cmd(target, bind, heap):
    """Run the resource server on the unix port with the key store in TARGET (unix:DIR)."""
    try:
        sys.exit(rs_runner.run(target, bind, heap, echo=click.echo))
    except unix_port.UnixPortError as exc:
        raise click.ClickException(str(exc)) from None


@token.command("mint")
@click.option("--config", "config_file", required=True,
              type=click.Path(exists=True, dir_okay=False), help="AS config (TOML)")
@click.option("--client", "client_id", required=True, help="client id (its policy applies)")
@click.option("--audience", default=None, help="RS audience (default: the client's only one)")
@click.option("--scope", default=None, help="text scope names; default: the whole policy")
@click.option("--aif", default=None, help='AIF scope as JSON, e.g. [["/temp", 1]]')
@click.option("--form", type=click.Choice(tokens.FORMS), default=None,
              help="COSE layers (default: the RS's token_form); sign1/mac0/jwt carry no cnf.osc")
@click.option("--format", "token_format", type=click.Choice(("cwt", "jwt")), default=None,
              help="jwt: a JWS compact JWT (= --form jwt); cwt: the COSE forms")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="token file; the client's OSCORE material goes to OUT.osc (0600)")
def token_mint(config_file, client_id, audience, scope, aif, form, token_format, out_file):
    """Mint a token offline, as `as serve` would issue it (policies apply, no client secret)."""
    if token_format is not None and (form == "jwt") != (token_format == "jwt") \
            and form is not None:
        raise InputError("--format %s does not fit --form %s" % (token_format, form))
    if token_format == "jwt":
        form = "jwt"
    try:
        minted = authz_server.mint_files(config_file, client_id, audience, scope, aif, form,
                                         out_file)
    except (authz_server.ConfigError, authz_server.TokenRequestError,
            tokens.MintError, keys.KeyFileError) as exc:
        raise InputError(str(exc)) from None
    for line in minted:
        click.echo(line)


@token.command("inspect")
@click.argument("token_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="RS key (COSE_Key) to open an Encrypt0 layer or a nested JWT's JWE; "
              "repeatable")
def token_inspect(token_file, key_files):
    """Show a token's layers and claims (CBOR diagnostic notation and a table). Secrets are
    redacted; signatures are not checked (that is `token check`)."""
    try:
        decrypt_keys = [keys.load_cose_key(f) for f in key_files]
    except keys.KeyFileError as exc:
        raise InputError(str(exc)) from None
    with open(token_file, "rb") as f:
        tokens.print_inspection(f.read(), decrypt_keys)


@main.group("as")
def as_group():
    """The AS emulator."""


@as_group.command("serve")
@click.option("--config", "config_file", required=True,
              type=click.Path(exists=True, dir_okay=False), help="AS config (TOML)")
@click.option("--bind", default="127.0.0.1:5684", show_default=True,
              help="HOST:PORT (loopback)")
def as_serve(config_file, bind):
    """Serve /token (RFC 9200 §5.8) and /introspect (§5.9) until interrupted."""
    try:
        authz_server.serve(config_file, bind, log=lambda line: click.echo(line, err=True))
    except authz_server.ConfigError as exc:
        raise InputError(str(exc)) from None


@main.group("client")
def client_group():
    """ACE client: token, authz-info, OSCORE request."""


def _client_options(f):
    for option in reversed([
            click.argument("uri"),
            click.option("--as", "as_uri", multiple=True,
                         help="an AS the client trusts with its secret (repeatable; the RS's "
                              "AS Request Creation Hints choose among these, never another)"),
            click.option("--client-id", default=None, help="needed unless --token"),
            click.option("--secret-file", default=None,
                         type=click.Path(exists=True, dir_okay=False),
                         help="file holding the client secret (needed unless --token)"),
            click.option("--token", "token_file", default=None,
                         type=click.Path(exists=True, dir_okay=False),
                         help="a token from `token mint` (its OSCORE material in TOKEN.osc)"),
            click.option("--audience", default=None, help="default: from the RS's hints"),
            click.option("--scope", default=None, help="text scope; default: the policy's"),
            click.option("--profile", type=click.Choice(["oscore", "edhoc"]), default="oscore",
                         show_default=True, help="ACE profile: ACE-OSCORE (/authz-info) or "
                         "EDHOC-OSCORE (the token in EDHOC message_3)"),
            click.option("--key", "key_file", default=None,
                         type=click.Path(exists=True, dir_okay=False),
                         help="--profile edhoc: the client's key NAME.cose, its CCS NAME.ccs "
                         "beside it (keys new --alg ES256 --ccs)")]):
        f = option(f)
    return f


def _client_run(method, uri, as_uri, client_id, secret_file, token_file, audience, scope,
                profile, key_file, payload=b"", content_format=None):
    import asyncio
    if token_file is None and (client_id is None or secret_file is None):
        raise InputError("give --client-id and --secret-file, or --token")
    if (profile == "edhoc") != (key_file is not None) or (profile == "edhoc" and token_file):
        raise InputError("--profile edhoc needs --key (and no --token); --key is for it only")
    try:
        held = client.read_token_files(token_file) if token_file else None
        secret = client.read_secret(secret_file) if secret_file else None
        edhoc_key = client.EdhocKey(key_file) if key_file else None
        response = asyncio.run(client.run(method, uri, client_id, secret, as_uri, audience,
                                          scope, payload, content_format,
                                          log=lambda line: click.echo(line, err=True),
                                          token=held, edhoc_key=edhoc_key))
    except client.ClientError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException("network: %s" % exc) from None
    click.echo("%s %s" % (response.code, client.payload_text(response)))
    if not response.code.is_successful():
        sys.exit(1)


@client_group.command("get")
@_client_options
def client_get(uri, as_uri, client_id, secret_file, token_file, audience, scope, profile,
               key_file):
    """GET URI over OSCORE after the ACE flow; prints the response."""
    _client_run("GET", uri, as_uri, client_id, secret_file, token_file, audience, scope,
                profile, key_file)


@client_group.command("put")
@_client_options
@click.option("--payload", required=True, help="request payload (text)")
@click.option("--content-format", type=int, default=0, show_default=True)
def client_put(uri, as_uri, client_id, secret_file, token_file, audience, scope, profile,
               key_file, payload, content_format):
    """PUT PAYLOAD to URI over OSCORE after the ACE flow; prints the response."""
    _client_run("PUT", uri, as_uri, client_id, secret_file, token_file, audience, scope,
                profile, key_file, payload.encode(), content_format)
