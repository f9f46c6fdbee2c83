"""Provisioning and inspection of a board's key store, through the Board adapter.

`microace provision` builds one bundle (the AS keys reduced to what a verifier needs, e.g. the
AS's signature key and the AS<->RS AES-CCM key of Encrypt0(Sign1) tokens; the RS
configuration, the board's limits, and on first provisioning the owner secret), pushes it into
a RAM variable on the board, has the key store take it, reads back the fingerprints, and seals.
A sealed store changes only with a proof that the host holds the owner secret:
HMAC-SHA256(owner, b"microace-reprovision" + SHA-256(bundle) + challenge), where the board
makes the one-time challenge. `microace doctor` shows what a store holds, never key bytes.
"""

import hashlib
import hmac
import json
import os
import time
from pathlib import Path

import cbor2
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from . import __version__, keys, wire
from .wire import PROOF_LABEL
from .board import Board, BoardError
from .firmware import codepoints

BUNDLE_VERSION = 1
OWNER_FILE = "owner.secret"  # default: next to the first AS key
OWNER_SIZE = 32
STORE = "_mace_ks"  # names of the board-side variables
BUNDLE = "_mace_bundle"
PROVISION_TIMEOUT = 120  # the board builds the ES256 table: seconds on a slow MCU


class ProvisionError(Exception):
    """Provisioning input or outcome that is not acceptable; the message is one line."""


def load_scope_map(path):
    """JSON {name: [[path, methods], ...]} -> dict, checked like the firmware's scope.py does
    (RFC 9237 REST-specific AIF: paths start with "/", methods an unsigned 64-bit mask)."""
    try:
        with open(path) as f:
            scope_map = json.load(f)
    except OSError as exc:
        raise ProvisionError("cannot read scope map %s: %s" % (path, exc.strerror)) from None
    except ValueError as exc:
        raise ProvisionError("scope map %s is not JSON (%s)" % (path, exc)) from None
    if not isinstance(scope_map, dict):
        raise ProvisionError("scope map must be a JSON object {name: [[path, methods], ...]}")
    for name, aif in scope_map.items():
        if not name or " " in name:
            raise ProvisionError("scope name %r must be non-empty without spaces" % name)
        if not isinstance(aif, list) or not aif:
            raise ProvisionError("scope %r: needs a non-empty list of [path, methods]" % name)
        for entry in aif:
            ok = (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                  and entry[0].startswith("/") and type(entry[1]) is int
                  and 0 <= entry[1] < 1 << 64)
            if not ok:
                raise ProvisionError("scope %r: entry %r is not [\"/path\", methods]"
                                     % (name, entry))
    return scope_map


class Owner:
    """The owner secret file: read when it exists, else created (0600) on first need."""

    def __init__(self, path):
        self.path = Path(path)
        self._secret = None

    def get(self, create):
        if self._secret is None:
            if not self.path.exists() and create:
                keys.write_secret_file(self.path, os.urandom(OWNER_SIZE))
            try:
                self._secret = self.path.read_bytes()
            except OSError as exc:
                raise ProvisionError("owner secret %s: %s (the board was provisioned with "
                                     "another one?)" % (self.path, exc.strerror)) from None
            if len(self._secret) != OWNER_SIZE:
                raise ProvisionError("owner secret %s must hold %d bytes"
                                     % (self.path, OWNER_SIZE))
        return self._secret


class Plan:
    """What to provision, the same for every target but the board's limits."""

    def __init__(self, as_keys, audience, issuer, owner, as_uri=None, scope_map=None,
                 reprovision=False, board=None, require_cnonce=False, edhoc=None):
        if not audience or not issuer:
            raise ProvisionError("audience and issuer must not be empty")
        if not as_keys:
            raise ProvisionError("give at least one AS key")
        kids = [k[wire.KID] for k in as_keys]
        twice = sorted({kid.hex() for kid in kids if kids.count(kid) > 1})
        if twice:
            raise ProvisionError("kid %s names two AS keys: each key needs its own kid"
                                 % ", ".join(twice))
        self.keys = list(as_keys)  # keys.board_key() maps, in bundle order
        self.fingerprints = [keys.fingerprint(k) for k in self.keys]
        self.audience = audience
        self.issuer = issuer
        self.as_uri = as_uri
        self.scope_map = scope_map or {}
        self.owner = owner
        self.reprovision = reprovision
        self.board = board
        self.require_cnonce = require_cnonce
        self.edhoc = edhoc  # EdhocPlan or None

    def config(self, board_config):
        limits = board_config.get("limits")
        if not isinstance(limits, dict):
            raise ProvisionError("board.json of %s has no limits" % board_config.get("name"))
        config = {"audience": self.audience, "issuer": self.issuer, "as_uri": self.as_uri,
                  "scope_map": self.scope_map, "limits": limits}
        if self.require_cnonce:  # RFC 9200 §5.3.1: tokens must echo the RS's cnonce
            config["cnonce"] = True
        if self.edhoc is not None:
            config["edhoc"] = {"clients": self.edhoc.clients}
        return config

    def bundle(self, config, owner=None):
        """The CBOR bundle the key store's provision() takes; ES256 tables are built on
        the board (a few ms on the unix port), so they do not travel."""
        bundle = {"v": BUNDLE_VERSION, "config": config,
                  "keys": [{"key": keys.encode(k), "iss": self.issuer, "table": None}
                           for k in self.keys]}
        if owner is not None:
            bundle["owner"] = owner
        return cbor2.dumps(bundle, canonical=True)


class EdhocPlan:
    """`--edhoc`: the board makes its EDHOC static DH key (kid, sub) and its CCS comes back
    to cred_out; clients: the trusted client CCSs with their scopes (empty: nobody)."""

    def __init__(self, kid, sub, cred_out, clients=()):
        if not kid:
            raise ProvisionError("the EDHOC kid must not be empty")
        if not cred_out:
            raise ProvisionError("--edhoc needs --rs-cred-out FILE (where the RS's CCS goes)")
        self.kid = kid
        self.sub = sub
        self.cred_out = Path(cred_out)
        self.clients = list(clients)


def load_edhoc_client(spec):
    """--edhoc-client FILE=SCOPE -> {"cred": CCS bytes, "scope": text}: FILE holds the
    client's CCS (CBOR, a P-256 cnf COSE_Key with a kid)."""
    path, sep, scope = spec.partition("=")
    if not sep or not scope:
        raise ProvisionError("--edhoc-client takes CCS_FILE=SCOPE, got %r" % spec)
    try:
        cred = Path(path).read_bytes()
    except OSError as exc:
        raise ProvisionError("cannot read client CCS %s: %s" % (path, exc.strerror)) from None
    try:
        key = cbor2.loads(cred)[8][1]
        ok = key[1] == wire.KTY_EC2 and key[-1] == 1 and isinstance(key.get(2), bytes)
    except (ValueError, TypeError, KeyError, IndexError, cbor2.CBORDecodeError):
        ok = False
    if not ok:
        raise ProvisionError("client CCS %s: not a CCS with a P-256 cnf COSE_Key and a kid"
                             % path)
    return {"cred": cred, "scope": scope}


def _edhoc_key(board, plan, after):
    """Have the board make its EDHOC key unless it holds this kid/sub already; write its
    CCS to plan.edhoc.cred_out -> the store's EDHOC status."""
    e = plan.edhoc
    have = after.get("edhoc")
    if not have or have["kid"] != e.kid.hex() or have["sub"] != e.sub:
        if after["sealed"]:
            raise ProvisionError("store is sealed: the EDHOC key is made before sealing "
                                 "(a fresh board), not changed afterwards")
        have = board.eval("%s.generate(%r, %r)" % (STORE, e.kid, e.sub), PROVISION_TIMEOUT)
    cred = board.eval("%s.edhoc_credential()" % STORE)
    key = cbor2.loads(cred)[8][1]
    if keys.fingerprint(key) != have["fingerprint"]:
        raise ProvisionError("the board's CCS does not match its EDHOC key's fingerprint")
    e.cred_out.write_bytes(cred)
    return have


def _load_as_key(path, kid, several):
    """One --as-key file -> board key; with several keys the kid must come from the file."""
    key = keys.load_cose_key(path)
    if several and not key.get(wire.KID):
        raise ProvisionError("AS key %s has no kid: with several --as-key each must be a "
                             "COSE_Key with its kid (label 2), e.g. a .pub.cose from "
                             "`microace keys new`" % path)
    try:
        return keys.board_key(key, kid)
    except keys.KeyFileError as exc:
        raise keys.KeyFileError("AS key %s: %s" % (path, exc)) from None


def make_plan(as_keys, audience, issuer, as_kid=None, as_uri=None, scope_map=None,
              owner_key=None, reprovision=False, board=None, require_cnonce=False,
              edhoc=None):
    """A Plan from the command line's files and values: as_keys is one key file path or a
    list of them (the owner secret defaults to the first one's directory); as_kid (hex)
    only with a single key."""
    if isinstance(as_keys, (str, os.PathLike)):
        as_keys = [as_keys]
    if not as_keys:
        raise ProvisionError("give at least one --as-key")
    several = len(as_keys) > 1
    if several and as_kid is not None:
        raise ProvisionError("--as-kid applies to a single --as-key; with several, each key "
                             "file carries its kid")
    try:
        kid = bytes.fromhex(as_kid) if as_kid is not None else None
    except ValueError:
        raise ProvisionError("--as-kid must be hex, got %r" % as_kid) from None
    board_keys = [_load_as_key(path, kid, several) for path in as_keys]
    owner = Owner(owner_key or Path(as_keys[0]).parent / OWNER_FILE)
    return Plan(board_keys, audience, issuer, owner, as_uri,
                load_scope_map(scope_map) if scope_map else None, reprovision, board,
                require_cnonce, edhoc)


def reprovision_proof(owner, bundle, challenge):
    return hmac.new(owner, PROOF_LABEL + hashlib.sha256(bundle).digest() + challenge,
                    hashlib.sha256).digest()


def open_store(board, edhoc=False):
    """Open the board's key store (backend from its board.json; the one that keeps the
    board's EDHOC key when board.json or `edhoc` asks for it) -> status dict."""
    cfg = {"keystore": board.config["keystore"]}
    if edhoc or board.config.get("edhoc") is not None:
        cfg["edhoc"] = {}
    board.exec("from microace import wiring\n%s = wiring.open_store(%r)" % (STORE, cfg))
    return board.eval("%s.status()" % STORE)


def clock_status(board):
    """The board's time as its RS would start with it (clock.py, docs/SECURITY.md "Time"):
    (source "wall" | "floor" | "none", persisted floor (Unix time) or None)."""
    board.exec("from microace.clock import Clock\nfrom microace.state import State\n"
               "_state = State('state.bin')")
    return tuple(board.eval("(Clock(_state).source(), _state.get('clock'))"))


CLOCK_SOURCES = {"wall": "wall clock (set: NTP or the host)",
                 "floor": "floor learned from token iat only: exp tokens refused",
                 "none": "none: exp tokens refused, exi tokens only"}


def _holds(status, plan, config):
    """Does a status show exactly the plan's keys (each fingerprint confirmed) and config?"""
    return ([(k.get("kid"), k.get("fingerprint"), k.get("issuer")) for k in status["keys"]]
            == [(k[wire.KID].hex(), fp, plan.issuer)
                for k, fp in zip(plan.keys, plan.fingerprints)]
            and status.get("config") == config)


class Outcome:
    """One target's result: "provisioned", "re-provisioned", "unchanged" or "failed"."""

    def __init__(self, target, result, board=None, fingerprints=(), sealed=None, error=None):
        self.target = target
        self.result = result
        self.board = board
        self.fingerprints = list(fingerprints)
        self.sealed = sealed
        self.error = error

    @property
    def ok(self):
        return self.result != "failed"


def provision_target(target, plan):
    """Provision one target; never raises for a board problem (the Outcome says it)."""
    name = None
    try:
        with Board.open(target, plan.board, create=True) as board:
            name = board.config.get("name")
            return _provision(board, plan)
    except (BoardError, ProvisionError, keys.KeyFileError) as exc:
        return Outcome(target, "failed", name, error=str(exc))


def check_firmware(board):
    """Refuse a board without microace, or with another version than these host tools: the
    bundle and store formats belong to one version."""
    version = board.firmware_version()
    if version is None:
        raise ProvisionError("no microace firmware on the board: run `microace deploy %s "
                             "--board NAME` first" % board.target)
    if version != __version__:
        raise ProvisionError("the board runs microace %s but these host tools are %s: put "
                             "this version on it with `microace deploy %s --board NAME`"
                             % (version or "(no VERSION)", __version__, board.target))
    return version


def _provision(board, plan):
    check_firmware(board)
    config = plan.config(board.config)
    before = open_store(board, plan.edhoc is not None)
    sealed = before["sealed"]
    needs_proof = sealed and not _holds(before, plan, config)
    if needs_proof and not plan.reprovision:
        raise ProvisionError("store is sealed and holds other keys or config: use "
                             "--reprovision (needs the owner secret); nothing changed")
    fresh = not before["keys"]  # the owner secret goes to a board once, with its first bundle
    bundle = plan.bundle(config, plan.owner.get(create=True) if fresh else None)
    proof = None
    if needs_proof:
        challenge = board.eval("%s.challenge()" % STORE)
        proof = reprovision_proof(plan.owner.get(create=False), bundle, challenge)
    board.put_bytes(BUNDLE, bundle)
    try:  # the store checks everything before it writes: an error leaves it as it was
        after = board.eval("%s.provision(bytes(%s), %r)" % (STORE, BUNDLE, proof),
                           PROVISION_TIMEOUT)
    finally:
        board.exec("%s = None" % BUNDLE)
    if not _holds(after, plan, config):
        got = ", ".join(k.get("fingerprint", "?") for k in after["keys"])
        raise ProvisionError("board reports keys %s, expected %s (or a different config): "
                             "not sealed" % (got or "none", ", ".join(plan.fingerprints)))
    if plan.edhoc is not None:
        _edhoc_key(board, plan, after)
        after = board.eval("%s.status()" % STORE)
    changed = after["gen"] != before["gen"]
    if not after["sealed"]:
        board.exec("%s.seal()" % STORE)
        after = board.eval("%s.status()" % STORE)
    if sealed:
        result = "re-provisioned" if changed else "unchanged"
    else:
        result = "provisioned"
    return Outcome(board.target, result, board.config.get("name"),
                   [k["fingerprint"] for k in after["keys"]], after["sealed"])


def provision_all(targets, plan, console=None):
    """Provision every target in turn with a progress bar; one failure does not stop the
    others. Prints the summary table; returns the outcomes."""
    console = console or Console()
    outcomes = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("provisioning", total=len(targets))
        for target in targets:
            progress.update(task, description="provisioning %s" % target)
            outcomes.append(provision_target(target, plan))
            progress.advance(task)
    table = Table(title="provisioning summary")
    for name in ("target", "board", "result", "fingerprints", "sealed"):
        table.add_column(name)
    for o in outcomes:
        result = o.result if o.ok else "[red]failed: %s[/red]" % escape(o.error)
        table.add_row(o.target, o.board or "-", result, " ".join(o.fingerprints) or "-",
                      "-" if o.sealed is None else ("yes" if o.sealed else "no"))
    console.print(table)
    return outcomes


def _plain(value):
    """A status value for display; bytes are never shown (a store's status has none)."""
    if isinstance(value, (bytes, bytearray)):
        return "(%d bytes, not shown)" % len(value)
    if isinstance(value, dict):
        return ", ".join("%s=%s" % (k, _plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return json.dumps(value)
    return "-" if value is None else str(value)


def doctor(target, board=None, console=None):
    """Print what TARGET's key store holds: backend, protection, sealed, keys, config."""
    console = console or Console()
    with Board.open(target, board) as dev:
        version = dev.firmware_version()  # another version's store API may differ
        status = open_store(dev) if version == __version__ else {}
        clock = clock_status(dev) if version == __version__ else None
        name = dev.config.get("name", "?")
        board_cfg = dev.config
    store = Table(title="key store", show_header=False)
    store.add_column("field")
    store.add_column("value")
    store.add_row("target", target)
    store.add_row("board", name)
    store.add_row("firmware", "none (run microace deploy)" if version is None else
                  "microace %s%s" % (version or "?", "" if version == __version__ else
                                     " (host tools: %s)" % __version__))
    for field in ("backend", "protection", "sealed", "gen"):
        value = status.get(field)
        store.add_row(field, "yes" if value is True else "no" if value is False
                      else _plain(value))
    if clock is not None:
        store.add_row("time source", CLOCK_SOURCES[clock[0]])
        store.add_row("time floor", "-" if clock[1] is None else time.strftime(
            "%Y-%m-%d %H:%M:%S UTC", time.gmtime(clock[1])))
    table = Table(title="keys")
    for column in ("kid", "alg", "kty", "fingerprint", "issuer", "table"):
        table.add_column(column)
    for k in status.get("keys", []):
        table.add_row(_plain(k.get("kid")), keys.alg_name(k.get("alg")),
                      keys.kty_name(k.get("kty")),
                      _plain(k.get("fingerprint")), _plain(k.get("issuer")),
                      "yes" if k.get("table") else "no")
    config = Table(title="configuration", show_header=False)
    config.add_column("field")
    config.add_column("value")
    cfg = status.get("config") or {}
    for field in ("audience", "issuer", "as_uri"):
        config.add_row(field, _plain(cfg.get(field)))
    for scope, aif in sorted((cfg.get("scope_map") or {}).items()):
        config.add_row("scope %s" % scope, _plain(aif))
    for limit, value in sorted((cfg.get("limits") or {}).items()):
        config.add_row(limit, _plain(value))
    own = status.get("edhoc")
    if own:
        store.add_row("edhoc key", "kid %s, sub %s" % (own["kid"], own["sub"]))
        store.add_row("edhoc fingerprint", own["fingerprint"])
        store.add_row("edhoc key in", own["where"])
    if board_cfg.get("edhoc") is not None:
        # board.json: the profiles offered and the EDHOC-OSCORE codepoints in force
        offered = board_cfg.get("profiles") or ["coap_oscore"]
        config.add_row("profiles", ", ".join(offered))
        try:
            for name, number in sorted(codepoints(board_cfg.get("codepoints")).items()):
                config.add_row("codepoint %s" % name, str(number))
        except ValueError as exc:
            config.add_row("codepoints", "invalid: %s" % exc)
    if cfg.get("edhoc") is not None:
        for c in cfg["edhoc"]["clients"]:
            config.add_row("edhoc client %s" % keys.fingerprint(cbor2.loads(c["cred"])[8][1]),
                           _plain(c["scope"]))
        if not cfg["edhoc"]["clients"]:
            config.add_row("edhoc clients", "none (no Initiator is accepted)")
    console.print(store, table, config)
    return status
