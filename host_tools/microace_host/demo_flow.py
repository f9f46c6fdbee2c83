"""`make demo`, part 2: the ACE-OSCORE flow over CoAP on 127.0.0.1 with the real firmware RS.

Keys -> provision a unix-port RS through mpremote -> start the AS emulator and the RS ->
client: hints, grant, authz-info, OSCORE GET /temp and PUT /led -> a forged token, an
out-of-scope request and a replayed OSCORE request, each refused -> stop everything.
"""

import asyncio
import os
import socket
import tempfile
from pathlib import Path

from rich.table import Table

from . import authz_server, client, keys, provision, rs_runner, wire

# The demo's AS and RS (part 1 mints its tokens for them too).
AUDIENCE = "coap://rs1.example"
ISSUER = "coap://as.example"
CLIENT_ID = "client1"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(directory, as_port, console):
    """Keys, client secret and AS config in `directory`; provision the RS state dir."""
    keydir = directory / "keys"
    signer = keys.new_key("ES256", keydir, kid=b"as-sig1", name="as-sign")
    enc = keys.new_key("A128CCM", keydir, kid=b"as-rs1", name="rs1-enc")
    (directory / "secrets").mkdir(mode=0o700)
    keys.write_secret_file(directory / "secrets" / "client1.secret", os.urandom(24).hex().encode())
    config = directory / "as.toml"
    config.write_text(
        'issuer = "%s"\nsigning_key = "keys/as-sign.cose"\ntoken_lifetime = 3600\n\n'
        '[[rs]]\naudience = "%s"\ntoken_form = "encrypt0+sign1"\n'
        'encryption_key = "keys/rs1-enc.cose"\n\n'
        '[[client]]\nid = "%s"\nsecret_file = "secrets/client1.secret"\n\n'
        '[[policy]]\nclient = "%s"\naudience = "%s"\naif = [["/temp", 1], ["/led", 5]]\n'
        % (ISSUER, AUDIENCE, CLIENT_ID, CLIENT_ID, AUDIENCE))
    console.print("keys: the AS's ES256 key kid 'as-sig1' (fingerprint %s; the RS gets the "
                  "public part) and an A128CCM key kid 'as-rs1' (fingerprint %s) shared by the "
                  "AS and the RS: tokens are Encrypt0(Sign1); client secret in a 0600 file"
                  % (signer.fingerprint, enc.fingerprint))
    state = directory / "rs-state"
    state.mkdir()
    plan = provision.make_plan([str(keydir / "as-sign.pub.cose"), str(keydir / "rs1-enc.cose")],
                               AUDIENCE, ISSUER, as_uri="coap://127.0.0.1:%d/token" % as_port)
    outcomes = provision.provision_all(["unix:%s" % state], plan, console)
    if not all(o.ok for o in outcomes):
        raise RuntimeError("provisioning failed: %s" % outcomes[0].error)
    return config, state


async def _flow(config, rs_uri, as_port, console):
    """The client's steps; returns [(step, what happened, as expected?)]."""
    rows = []
    as_ctx, _ = await authz_server.start(authz_server.Config.load(config),
                                         "127.0.0.1:%d" % as_port,
                                         log=lambda line: console.print("  AS: " + line,
                                                                        markup=False))
    secret = client.read_secret(config.parent / "secrets" / "client1.secret")
    session = await client.Session.create(lambda line: console.print("  " + line,
                                                                     markup=False))
    try:
        console.print("[bold]client[/]: GET %s/temp without a token" % rs_uri)
        await session.connect(rs_uri + "/temp", CLIENT_ID, secret,
                              "coap://127.0.0.1:%d/token" % as_port)
        console.print("[bold]client[/]: a second token, one bit flipped, to /authz-info")
        grant = await session.token("coap://127.0.0.1:%d" % as_port, CLIENT_ID, secret,
                                    AUDIENCE)
        forged = bytearray(grant[wire.P_ACCESS_TOKEN])
        forged[-3] ^= 0x01  # one bit of the ciphertext/tag
        try:
            await session.authz_info(rs_uri, bytes(forged))
            rows.append(("forged token to /authz-info", "accepted!", False))
        except client.ClientError as exc:
            rows.append(("forged token to /authz-info", str(exc).split(": ", 1)[-1],
                         "4.01" in str(exc)))
        await resource_steps(session, rs_uri, console, rows)
    finally:
        await session.shutdown()
        await as_ctx.shutdown()
    return rows


async def resource_steps(session, rs_uri, console, rows, prefix=""):
    """The requests over the bound OSCORE context, the same for both profiles: GET /temp,
    PUT and GET /led, PUT /config out of scope, a replayed request -> rows."""
    import aiocoap
    temp = await session.request("GET", rs_uri + "/temp")
    rows.append((prefix + "OSCORE GET /temp", "%s %s" % (temp.code, client.payload_text(temp)),
                 temp.code == aiocoap.CONTENT))
    led = await session.request("PUT", rs_uri + "/led", b"1", content_format=0)
    rows.append((prefix + "OSCORE PUT /led '1'", str(led.code), led.code == aiocoap.CHANGED))
    led = await session.request("GET", rs_uri + "/led")
    rows.append((prefix + "OSCORE GET /led", "%s %s" % (led.code, client.payload_text(led)),
                 led.code == aiocoap.CONTENT and led.payload == b"1"))
    config_put = await session.request("PUT", rs_uri + "/config", b"x")
    rows.append((prefix + "OSCORE PUT /config (not in scope)", str(config_put.code),
                 config_put.code == aiocoap.FORBIDDEN))
    console.print("[bold]client[/]: one OSCORE request sent twice (an attacker's replay)")
    outer, secctx, request_id = session.protect("GET", rs_uri + "/temp")
    replay = outer.copy()
    first = await session.send_protected(outer, secctx, request_id)
    again = await session.send_protected(replay, secctx, request_id)
    rows.append((prefix + "OSCORE GET /temp, then the same request replayed",
                 "%s, then %s %s" % (first.code, again.code, client.payload_text(again)),
                 first.code == aiocoap.CONTENT and again.code == aiocoap.UNAUTHORIZED))


def stop(process):
    process.terminate()
    try:
        process.wait(5)
    except Exception:  # it must not outlive the demo
        process.kill()
        process.wait()
    process.stdout.close()


def flow_table(rows):
    table = Table(title="The flow, step by step")
    for col in ("step", "RS answer", "as expected"):
        table.add_column(col)
    for step, answer, ok in rows:
        table.add_row(step, answer, "[green]yes[/]" if ok else "[red]NO[/]")
    return table


def run(console):
    """Part 2 of the demo; returns the exit status (0: every step as expected)."""
    console.print("[bold]The ACE-OSCORE flow over CoAP on 127.0.0.1[/]")
    with tempfile.TemporaryDirectory() as tmp:
        as_port, rs_port = _free_port(), _free_port()
        config, state = _setup(Path(tmp), as_port, console)
        process, where = rs_runner.start("unix:%s" % state, "127.0.0.1:%d" % rs_port)
        console.print("RS (MicroPython unix port) on %s; AS emulator on coap://127.0.0.1:%d"
                      % (where, as_port))
        try:
            rows = asyncio.run(_flow(config, "coap://127.0.0.1:%d" % rs_port, as_port,
                                     console))
        finally:
            stop(process)
        console.print("stopped the RS and the AS")
    console.print(flow_table(rows))
    return 0 if all(ok for _, _, ok in rows) else 1
