"""`make demo`, part 3: the EDHOC-OSCORE profile of ACE over CoAP on 127.0.0.1, then the two
profiles side by side.

A unix-port RS that offers both profiles makes its EDHOC key at provisioning (its CCS comes
back for the AS); the client has an ES256 key and its CCS (`keys new --ccs`), registered at
the AS emulator. The client gets a token binding its CCS, runs EDHOC as Initiator (the RS
authenticated by message_2 against rs_cnf before the token leaves), the token in EAD_3, then
the same OSCORE requests as part 2.
"""

import asyncio
import json
import os
import tempfile
from pathlib import Path

from rich.table import Table

from . import authz_server, client, keys, provision, rs_runner, wire
from .demo_flow import AUDIENCE, CLIENT_ID, ISSUER, _free_port, flow_table, resource_steps, stop
from .firmware import BOARDS

HEAP = "320k"  # the unix port holds the EDHOC code in its heap too (a board: in flash)
PREFIX = "EDHOC: "
DIFFERENCES = [
    ("PoP key of the client", "symmetric: OSCORE master secret made by the AS, in cnf.osc",
     "asymmetric: the client's P-256 key; its CCS (public) in cnf.kccs"),
    ("the RS's key", "none of its own (AS keys only)",
     "its static DH key, made on the board (ATECC608 slot where there is one)"),
    ("who authenticates whom", "the RS trusts the token; the client trusts the AS only",
     "EDHOC: the client authenticates the RS (message_2, against rs_cnf) before sending the "
     "token; the RS authenticates the client (MAC_3) with the token's credential"),
    ("where the token travels", "POST /authz-info, in the clear (its cnf.osc encrypted for "
     "the RS: Encrypt0)", "EAD_3 of EDHOC message_3, encrypted under K_3"),
    ("OSCORE context from", "nonce1/nonce2 + cnf.osc (RFC 9203 §4.3)",
     "the EDHOC exporter (RFC 9528 A.1): forward secrecy"),
]


def _setup(directory, as_port, console):
    """Keys, the client's CCS, an RS offering both profiles with its EDHOC key, as.toml."""
    keydir = directory / "keys"
    keys.new_key("ES256", keydir, kid=b"as-sig1", name="as-sign")
    keys.new_key("A128CCM", keydir, kid=b"as-rs1", name="rs1-enc")
    mine = keys.new_key("ES256", keydir, kid=b"\x2b", name="client", with_ccs=True)
    (directory / "secrets").mkdir(mode=0o700)
    keys.write_secret_file(directory / "secrets" / "client1.secret", os.urandom(24).hex().encode())
    state = directory / "rs-state"
    state.mkdir()
    board = json.loads((BOARDS / "unix" / "board.json").read_text())
    board.update({"edhoc": {}, "profiles": ["coap_oscore", "coap_edhoc_oscore"]})
    (state / "board.json").write_text(json.dumps(board))
    edhoc = provision.EdhocPlan(b"\x32", "rs1", directory / "rs.ccs")
    plan = provision.make_plan([str(keydir / "as-sign.pub.cose"), str(keydir / "rs1-enc.cose")],
                               AUDIENCE, ISSUER, as_uri="coap://127.0.0.1:%d/token" % as_port,
                               edhoc=edhoc)
    outcomes = provision.provision_all(["unix:%s" % state], plan, console)
    if not all(o.ok for o in outcomes):
        raise RuntimeError("provisioning failed: %s" % outcomes[0].error)
    config = directory / "as.toml"
    config.write_text(
        'issuer = "%s"\nsigning_key = "keys/as-sign.cose"\ntoken_lifetime = 3600\n\n'
        '[[rs]]\naudience = "%s"\nprofile = "edhoc"\ncredential = "rs.ccs"\n'
        'token_form = "encrypt0+sign1"\nencryption_key = "keys/rs1-enc.cose"\n\n'
        '[[client]]\nid = "%s"\nsecret_file = "secrets/client1.secret"\n'
        'credential = "keys/client.ccs"\n\n'
        '[[policy]]\nclient = "%s"\naudience = "%s"\naif = [["/temp", 1], ["/led", 5]]\n'
        % (ISSUER, AUDIENCE, CLIENT_ID, CLIENT_ID, AUDIENCE))
    console.print("keys: the client's ES256 key kid 2b (fingerprint %s) and its CCS, "
                  "registered at the AS; the board made its EDHOC key, its CCS is rs.ccs "
                  "(the AS hands it to the client as rs_cnf)" % mine.fingerprint)
    return config


async def _flow(config, rs_uri, as_port, console):
    as_uri = "coap://127.0.0.1:%d" % as_port
    as_ctx, _ = await authz_server.start(authz_server.Config.load(config),
                                         "127.0.0.1:%d" % as_port,
                                         log=lambda line: console.print("  AS: " + line,
                                                                        markup=False))
    secret = client.read_secret(config.parent / "secrets" / "client1.secret")
    key = client.EdhocKey(config.parent / "keys" / "client.cose")
    session = await client.Session.create(lambda line: console.print("  " + line,
                                                                     markup=False))
    rows = []
    try:
        console.print("[bold]client[/]: token for the EDHOC-OSCORE profile, then EDHOC")
        grant = await session.connect(rs_uri + "/temp", CLIENT_ID, secret, as_uri, AUDIENCE,
                                      edhoc_key=key)
        rows.append((PREFIX + "token (kccs) in EAD_3 of message_3",
                     "2.04, %d-byte token" % len(grant[wire.P_ACCESS_TOKEN]), True))
        await resource_steps(session, rs_uri, console, rows, PREFIX)
    finally:
        await session.shutdown()
        await as_ctx.shutdown()
    return rows


def differences():
    table = Table(title="The two ACE profiles of the RS")
    for col in ("", "ACE-OSCORE (RFC 9203)", "EDHOC-OSCORE (draft-ietf-ace-edhoc-oscore-"
                "profile)"):
        table.add_column(col)
    for row in DIFFERENCES:
        table.add_row(*row)
    return table


def run(console):
    """Part 3 of the demo; returns the exit status (0: every step as expected)."""
    console.print("[bold]The EDHOC-OSCORE flow over CoAP on 127.0.0.1[/]")
    with tempfile.TemporaryDirectory() as tmp:
        as_port, rs_port = _free_port(), _free_port()
        config = _setup(Path(tmp), as_port, console)
        process, where = rs_runner.start("unix:%s" % (Path(tmp) / "rs-state"),
                                         "127.0.0.1:%d" % rs_port, HEAP)
        console.print("RS (MicroPython unix port, both profiles) on %s" % where)
        try:
            rows = asyncio.run(_flow(config, "coap://127.0.0.1:%d" % rs_port, as_port,
                                     console))
        except client.ClientError as exc:
            rows = [(PREFIX + "the flow", str(exc), False)]
        finally:
            stop(process)
        console.print("stopped the RS and the AS")
    console.print(flow_table(rows))
    console.print(differences())
    return 0 if all(ok for _, _, ok in rows) else 1
