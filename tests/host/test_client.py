"""The ACE client against the AS emulator and a small RS played by aiocoap in this test:
the RS opens the token with python-cwt, answers authz-info (RFC 9203 §4.1), derives its side
of the context with aiocoap's OSCORE and serves /temp and /led only over OSCORE; unprotected
requests get 4.01 with AS Request Creation Hints (RFC 9200 §5.3)."""

import asyncio
import os
import socket

import cbor2
import cwt
import pytest

from tests.support.ace_setup import AUDIENCE, as_public_key, rs_key, write_config
from microace_host import authz_server as asrv
from microace_host import client

aiocoap = pytest.importorskip("aiocoap")
pytest.importorskip("aiocoap.oscore", reason="aiocoap's OSCORE needs filelock")
from aiocoap import oscore, resource  # noqa: E402


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TinyRS(resource.Resource):
    """Just enough RS to exercise the client: authz-info, OSCORE (aiocoap.oscore), AIF scope,
    hints. The whole site is this one resource: OSCORE hides the Uri-Path."""

    def __init__(self, config_dir, as_uri):
        super().__init__()
        self.keys = [cwt.COSEKey.new(rs_key(config_dir)),
                     cwt.COSEKey.new(as_public_key(config_dir))]
        self.as_uri = as_uri
        self.contexts = {}  # server recipient id -> (context, AIF)
        self.led = b"off"
        self.authz_info_payloads = []
        self.cnonces = None  # a set: hints carry a cnonce, tokens must bring one back

    def open(self, token):
        data = cwt.COSE.new().decode(token, self.keys[0])
        if cbor2.loads(data).tag == 18:
            data = cwt.COSE.new().decode(data, self.keys[1])
        return cbor2.loads(data)

    async def needs_blockwise_assembly(self, request):
        return False

    async def render(self, request):
        if request.opt.oscore is None:
            if request.opt.uri_path == ("authz-info",):
                return self.authz_info(request)
            hints = {1: self.as_uri, 5: AUDIENCE}
            if self.cnonces is not None:
                hints[39] = os.urandom(8)
                self.cnonces.add(hints[39])
            return aiocoap.Message(code=aiocoap.UNAUTHORIZED, content_format=19,
                                   payload=cbor2.dumps(hints))
        kid = oscore.verify_start(request).get(oscore.COSE_KID)
        if kid not in self.contexts:
            return aiocoap.Message(code=aiocoap.UNAUTHORIZED)
        ctx, aif = self.contexts[kid]
        try:
            inner, request_id = ctx.unprotect(request)
        except oscore.ReplayError:
            return aiocoap.Message(code=aiocoap.UNAUTHORIZED, payload=b"Replay detected")
        response = self.resource(inner, dict(aif))
        protected, _ = ctx.protect(response, request_id)
        return protected

    def authz_info(self, request):
        body = cbor2.loads(request.payload)
        self.authz_info_payloads.append((request.opt.content_format, body))
        claims = self.open(body[1])
        assert claims[3] == AUDIENCE
        if self.cnonces is not None:
            if claims.get(39) not in self.cnonces:
                return aiocoap.Message(code=aiocoap.UNAUTHORIZED)
            self.cnonces.remove(claims[39])
        nonce2, server_rid = os.urandom(8), b"rs%d" % len(self.contexts)  # != 1-byte IDs
        ctx = client.oscore_context(claims[8][4], body[40], nonce2, sender_id=body[43],
                                    recipient_id=server_rid)
        self.contexts[server_rid] = (ctx, cbor2.loads(claims[9]))
        return aiocoap.Message(code=aiocoap.CREATED, content_format=19,
                               payload=cbor2.dumps({42: nonce2, 44: server_rid}))

    def resource(self, inner, scope):
        path = "/" + "/".join(inner.opt.uri_path)
        bit = {aiocoap.GET: 1, aiocoap.PUT: 4}.get(inner.code, 0)
        if not scope.get(path, 0) & bit:
            return aiocoap.Message(code=aiocoap.FORBIDDEN)
        if inner.code == aiocoap.PUT:
            self.led = inner.payload
            return aiocoap.Message(code=aiocoap.CHANGED)
        return aiocoap.Message(code=aiocoap.CONTENT,
                               payload=b"21.5" if path == "/temp" else self.led)


@pytest.fixture
def config_dir(tmp_path):
    write_config(tmp_path)
    return tmp_path


def run_with_servers(config_dir, scenario):
    """Start the AS and the tiny RS on free loopback ports, run scenario(as_uri, rs_base, rs)."""

    async def main():
        as_port, rs_port = free_port(), free_port()
        as_uri, rs_base = "coap://127.0.0.1:%d" % as_port, "coap://127.0.0.1:%d" % rs_port
        as_ctx, _ = await asrv.start(asrv.Config.load(config_dir / "as.toml"),
                                     "127.0.0.1:%d" % as_port, log=lambda line: None)
        rs = TinyRS(config_dir, as_uri)
        rs_ctx = await aiocoap.Context.create_server_context(rs, bind=("127.0.0.1", rs_port))
        try:
            return await scenario(as_uri, rs_base, rs)
        finally:
            await rs_ctx.shutdown()
            await as_ctx.shutdown()

    return asyncio.run(main())


def test_full_flow_following_the_hints(config_dir):
    log = []

    async def scenario(as_uri, rs_base, rs):
        got = await client.run("GET", rs_base + "/temp", "client1", b"s3cret-one",
                               as_uris=[as_uri], log=log.append)
        put = await client.run("PUT", rs_base + "/led", "client1", b"s3cret-one",
                               as_uris=as_uri, audience=AUDIENCE, payload=b"on",
                               content_format=0, log=log.append)
        return got, put, rs

    got, put, rs = run_with_servers(config_dir, scenario)
    assert (got.code, got.payload) == (aiocoap.CONTENT, b"21.5")
    assert put.code == aiocoap.CHANGED and rs.led == b"on"
    assert any("AS hint" in line for line in log)  # the first run followed the 4.01 hints
    # The authz-info payloads: ace+cbor, {access_token, nonce1 (8 bytes), client recipient id}.
    for content_format, body in rs.authz_info_payloads:
        assert content_format == 19 and sorted(body) == [1, 40, 43] and len(body[40]) == 8
    assert "s3cret" not in "\n".join(log)


def test_out_of_scope_and_unprotected(config_dir):
    async def scenario(as_uri, rs_base, rs):
        session = await client.Session.create()
        try:
            unprotected = await session.request("GET", rs_base + "/temp")
            grant = await session.connect(rs_base + "/temp", "client1", b"s3cret-one", as_uri,
                                          AUDIENCE, scope=cbor2.dumps([["/temp", 1]]))
            temp = await session.request("GET", rs_base + "/temp")
            led = await session.request("PUT", rs_base + "/led", b"on")
            return unprotected, grant, temp, led
        finally:
            await session.shutdown()

    unprotected, grant, temp, led = run_with_servers(config_dir, scenario)
    assert unprotected.code == aiocoap.UNAUTHORIZED
    assert cbor2.loads(unprotected.payload)[5] == AUDIENCE
    assert temp.code == aiocoap.CONTENT and temp.payload == b"21.5"
    assert led.code == aiocoap.FORBIDDEN  # the narrower token does not cover /led


@pytest.mark.parametrize("given", [False, True])
def test_cnonce_from_the_hints_goes_to_the_as(config_dir, given):
    """RFC 9200 §5.3.1, §5.8.4.4: the client sends the RS's cnonce to /token; with AS and
    audience given it learns of the cnonce only from the refusal, and asks again."""
    log = []

    async def scenario(as_uri, rs_base, rs):
        rs.cnonces = set()
        got = await client.run("GET", rs_base + "/temp", "client1", b"s3cret-one",
                               as_uris=[as_uri], audience=AUDIENCE if given else None,
                               log=log.append)
        return got, rs

    got, rs = run_with_servers(config_dir, scenario)
    assert (got.code, got.payload) == (aiocoap.CONTENT, b"21.5")
    assert len(rs.authz_info_payloads) == (2 if given else 1)
    assert any("cnonce" in line for line in log) is given
    assert rs.cnonces == set()  # the cnonce it used is spent


def test_as_refusal_is_reported(config_dir):
    async def scenario(as_uri, rs_base, rs):
        with pytest.raises(client.ClientError) as exc:
            await client.run("GET", rs_base + "/temp", "client1", b"wrong", as_uris=as_uri,
                             log=lambda _: None)
        return str(exc.value)

    message = run_with_servers(config_dir, scenario)
    assert "4.01" in message and "error 2" in message and "wrong" not in message


class ThiefAS(resource.Resource):
    """An AS nobody configured: it records whatever is posted to it."""

    def __init__(self):
        super().__init__()
        self.received = []

    async def render_post(self, request):
        self.received.append(request.payload)
        return aiocoap.Message(code=aiocoap.UNAUTHORIZED)


@pytest.mark.parametrize("configured", [False, True])
def test_spoofed_hints_naming_another_as_get_no_credentials(config_dir, configured):
    """RFC 9200 §5.3, §6: the hints of a 4.01 are unprotected. A spoofed 4.01 (here: the RS
    itself) naming an AS the client was not configured with gets reported, never the secret."""
    log = []

    async def scenario(as_uri, rs_base, rs):
        thief = ThiefAS()
        root = resource.Site()
        root.add_resource(["token"], thief)
        thief_port = free_port()
        thief_ctx = await aiocoap.Context.create_server_context(root,
                                                                bind=("127.0.0.1", thief_port))
        rs.as_uri = "coap://127.0.0.1:%d/token" % thief_port
        try:
            if configured:
                got = await client.run("GET", rs_base + "/temp", "client1", b"s3cret-one",
                                       as_uris=[as_uri], log=log.append)
                return got, thief.received
            with pytest.raises(client.ClientError) as exc:
                await client.run("GET", rs_base + "/temp", "client1", b"s3cret-one",
                                 log=log.append)
            return str(exc.value), thief.received
        finally:
            await thief_ctx.shutdown()

    outcome, stolen = run_with_servers(config_dir, scenario)
    assert stolen == []
    if configured:  # served through the configured AS; the foreign hint is reported
        assert (outcome.code, outcome.payload) == (aiocoap.CONTENT, b"21.5")
        assert any("not configured" in line for line in log)
    else:
        assert "not configured" in outcome and "--as" in outcome
    assert "s3cret" not in "\n".join(log)


def test_hints_choose_among_configured_ases():
    log = []
    configured = ["coap://as1.example", "coap://as2.example/token"]
    assert client.choose_as(configured, "coap://as2.example/token", log.append) == configured[1]
    assert client.choose_as(configured, "coap://as1.example/token", log.append) == configured[0]
    assert log == []
    assert client.choose_as(configured, "coap://evil.example", log.append) == configured[0]
    assert len(log) == 1 and "evil.example" in log[0]


def test_context_roles_match_rfc9203():
    """Client Sender ID = ace_server_recipientid and Recipient ID = ace_client_recipientid;
    the RS's context is the mirror image: keys cross over."""
    osc = {0: b"\x01", 2: bytes(range(16)), 5: b"salt"}
    c = client.oscore_context(osc, b"n1" * 4, b"n2" * 4, sender_id=b"\x02", recipient_id=b"\x01")
    r = client.oscore_context(osc, b"n1" * 4, b"n2" * 4, sender_id=b"\x01", recipient_id=b"\x02")
    assert c.sender_key == r.recipient_key and c.recipient_key == r.sender_key
    assert c.common_iv == r.common_iv
    other = client.oscore_context(osc, b"n1" * 4, b"n3" * 4, sender_id=b"\x02",
                                  recipient_id=b"\x01")
    assert other.sender_key != c.sender_key  # nonce2 enters the Master Salt


def test_read_secret(tmp_path):
    path = tmp_path / "s"
    path.write_bytes(b"abc\n")
    assert client.read_secret(path) == b"abc"
    path.write_bytes(b"\n")
    with pytest.raises(client.ClientError, match="empty"):
        client.read_secret(path)


@pytest.mark.parametrize("given,endpoint", [
    ("coap://127.0.0.1:5684", "coap://127.0.0.1:5684/token"),
    ("coap://127.0.0.1:5684/", "coap://127.0.0.1:5684/token"),
    ("coap://127.0.0.1:5684/token", "coap://127.0.0.1:5684/token"),
    ("coap://as.example/ace/token", "coap://as.example/ace/token"),
])
def test_token_endpoint(given, endpoint):
    assert client.token_endpoint(given) == endpoint


def test_held_token_from_mint(config_dir):
    """A token from `token mint` (TOKEN and TOKEN.osc) goes straight to authz-info."""
    from click.testing import CliRunner
    from microace_host.cli import main
    out = str(config_dir / "t.cwt")
    minted = CliRunner().invoke(main, ["token", "mint", "--config", str(config_dir / "as.toml"),
                                       "--client", "client1", "--out", out])
    assert minted.exit_code == 0, minted.output

    async def scenario(as_uri, rs_base, rs):
        return await client.run("GET", rs_base + "/led", log=lambda _: None,
                                token=client.read_token_files(out))

    got = run_with_servers(config_dir, scenario)
    assert (got.code, got.payload) == (aiocoap.CONTENT, b"off")


def test_held_token_files_checked(tmp_path):
    (tmp_path / "t").write_bytes(b"token")
    with pytest.raises(client.ClientError, match="cannot read"):
        client.read_token_files(tmp_path / "t")
    (tmp_path / "t.osc").write_bytes(cbor2.dumps({0: b"x"}))
    with pytest.raises(client.ClientError, match="not OSCORE material"):
        client.read_token_files(tmp_path / "t")
