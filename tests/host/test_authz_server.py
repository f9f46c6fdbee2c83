"""The AS emulator: config validation, the token endpoint (RFC 9200 §5.8, RFC 9203 §3.2),
introspection (§5.9) and its error responses (§5.8.3), directly and over CoAP (aiocoap)."""

import asyncio

import cbor2
import cwt
import pytest

from tests.support.rs_peer import free_port
from tests.support.ace_setup import (AUDIENCE, ISSUER, JWT_AUDIENCE, as_public_key, kw_key, rs_key,
                                     write_config, write_jwt_config)
from microace_host import authz_server as asrv
from microace_host import tokens, wire

pytest.importorskip("aiocoap")


@pytest.fixture
def config_dir(tmp_path):
    write_config(tmp_path)
    return tmp_path


def issuer(config_dir, **kw):
    return asrv.Issuer(asrv.Config.load(config_dir / "as.toml"), **kw)


def request(client="client1", secret=b"s3cret-one", extra=None):
    r = {wire.P_GRANT_TYPE: wire.GRANT_CLIENT_CREDENTIALS, wire.P_CLIENT_ID: client,
         wire.P_CLIENT_SECRET: secret, wire.P_AUDIENCE: AUDIENCE}
    r.update(extra or {})
    return {k: v for k, v in r.items() if v is not None}


def open_token(token, config_dir):
    """python-cwt opens the Encrypt0 (and the Sign1 inside) -> claims."""
    inner = cwt.COSE.new().decode(token, cwt.COSEKey.new(rs_key(config_dir)))
    if getattr(cbor2.loads(inner), "tag", None) == 18:  # Encrypt0(Sign1); else Encrypt0
        inner = cwt.COSE.new().decode(inner, cwt.COSEKey.new(as_public_key(config_dir)))
    return cbor2.loads(inner)


def test_token_response_carries_the_same_osc_as_the_token(config_dir):
    response = issuer(config_dir).token(request())
    assert response[wire.P_ACE_PROFILE] == 2 and response[wire.P_TOKEN_TYPE] == 2
    assert response[wire.P_EXPIRES_IN] == 600
    osc = response[wire.P_CNF][4]
    assert sorted(osc) == [0, 2, 5] and len(osc[2]) == 16 and len(osc[5]) == 8
    claims = open_token(response[wire.P_ACCESS_TOKEN], config_dir)
    assert claims[8] == {4: osc}
    assert claims[1] == ISSUER and claims[3] == AUDIENCE and claims[38] == 2
    assert cbor2.loads(claims[9]) == [["/temp", 1], ["/led", 5]]
    assert claims[4] == claims[6] + 600 and 40 not in claims
    assert response[wire.P_SCOPE] == claims[9]  # scope not requested: the AS says what it gave


def test_fresh_material_and_growing_cti_per_token(config_dir):
    iss = issuer(config_dir)
    a, b = (iss.token(request()) for _ in range(2))
    assert a[wire.P_CNF][4][2] != b[wire.P_CNF][4][2]
    assert a[wire.P_CNF][4][0] != b[wire.P_CNF][4][0]
    ca, cb = (open_token(r[wire.P_ACCESS_TOKEN], config_dir)[7] for r in (a, b))
    assert int.from_bytes(cb, "big") > int.from_bytes(ca, "big")


def test_exi_mode_cti_is_audience_plus_a_sequence_number_per_rs(tmp_path):
    """RFC 9200 §5.10.3: exi tokens carry cti = RS identifier + sequence number for that RS,
    increasing per RS, also over a restart of the AS (a new Issuer)."""
    write_config(tmp_path, expiration="exi")
    clock = [1_800_000_000.0]  # a clock that stands still: the counter alone must grow
    iss = issuer(tmp_path, clock=lambda: clock[0])

    def seqs(audience, n, who=iss, client="client1", secret=b"s3cret-one"):
        out = []
        for _ in range(n):
            r = who.token(request(client, secret, extra={wire.P_AUDIENCE: audience}))
            claims = open_token(r[wire.P_ACCESS_TOKEN], tmp_path)
            assert claims[40] == 600 and 4 not in claims
            prefix, seq = claims[7][:-8], int.from_bytes(claims[7][-8:], "big")
            assert prefix == audience.encode()
            out.append(seq)
        return out

    first = seqs(AUDIENCE, 3)
    assert first == [first[0], first[0] + 1, first[0] + 2]
    assert seqs(AUDIENCE, 1) == [first[0] + 3]
    assert seqs("coap://rs2.example", 1, client="client2", secret=b"s3cret-two") == \
        [first[0]]  # its own counter
    restarted = issuer(tmp_path, clock=lambda: clock[0] + 1)
    assert seqs(AUDIENCE, 1, restarted)[0] > first[0] + 3


def test_cnonce_from_the_token_request_goes_into_the_token(config_dir):
    iss = issuer(config_dir)
    r = iss.token(request(extra={wire.P_CNONCE: b"\x01" * 8}))
    assert open_token(r[wire.P_ACCESS_TOKEN], config_dir)[39] == b"\x01" * 8
    assert 39 not in open_token(iss.token(request())[wire.P_ACCESS_TOKEN], config_dir)
    for bad in (b"", "text", b"x" * 65):
        with pytest.raises(asrv.TokenRequestError) as e:
            iss.token(request(extra={wire.P_CNONCE: bad}))
        assert e.value.code == wire.INVALID_REQUEST


@pytest.mark.parametrize("alg,form", [("EdDSA", "encrypt0+sign1"), ("ES256", "encrypt0"),
                                      ("ES256", "encrypt0+mac0")])
def test_token_forms(tmp_path, alg, form):
    write_config(tmp_path, alg=alg, form=form)
    token = issuer(tmp_path).token(request())[wire.P_ACCESS_TOKEN]
    outer = cbor2.loads(token)
    assert outer.tag == 16
    inner = cwt.COSE.new().decode(token, cwt.COSEKey.new(rs_key(tmp_path)))
    if form == "encrypt0":
        assert cbor2.loads(inner)[3] == AUDIENCE
    else:
        assert cbor2.loads(inner).tag == {"encrypt0+sign1": 18, "encrypt0+mac0": 17}[form]


def test_firmware_accepts_an_issued_encrypt0_token(config_dir):
    response = issuer(config_dir).token(request("client2", b"s3cret-two",
                                                extra={wire.P_AUDIENCE: "coap://rs2.example"}))
    verdict = tokens.check(response[wire.P_ACCESS_TOKEN], rs_key(config_dir),
                           "coap://rs2.example", issuer=ISSUER)
    assert verdict["accepted"], verdict
    assert "osc" in str(verdict["cnf"])
    ms = response[wire.P_CNF][wire.CNF_OSC][2]
    assert ms.hex() not in str(verdict) and verdict["claims"]["8"] == "<not shown: osc>"


def test_token_format_jwt_issues_nested_jwts_the_firmware_accepts(tmp_path):
    """token_format = "jwt" with an A128KW encryption key: the AS answers with a nested JWT
    (JWE around the JWS) that carries the same OSCORE material as the response's cnf."""
    write_jwt_config(tmp_path)
    response = issuer(tmp_path).token(request(extra={wire.P_AUDIENCE: JWT_AUDIENCE}))
    token = response[wire.P_ACCESS_TOKEN]
    assert token.count(b".") == 4 and tokens.token_kid(token) == b"rs3-kw"
    assert response[wire.P_CNF][wire.CNF_OSC][2]  # the client gets the master secret
    verdict = tokens.check(token, [kw_key(tmp_path), as_public_key(tmp_path)], JWT_AUDIENCE,
                           issuer=ISSUER)
    assert verdict["accepted"], verdict
    assert verdict["cnf"] == "osc" and verdict["encrypted"] is True
    assert verdict["claims"]["aud"] == JWT_AUDIENCE
    # The master secret is not in the verdict (token check prints it).
    ms = response[wire.P_CNF][wire.CNF_OSC][2]
    assert tokens.b64url(ms) not in str(verdict) and ms.hex() not in str(verdict)
    assert verdict["claims"]["cnf"] == "<not shown: osc>"


@pytest.mark.parametrize("params,code", [
    ({wire.P_CLIENT_SECRET: b"wrong"}, wire.INVALID_CLIENT),
    ({wire.P_CLIENT_SECRET: None}, wire.INVALID_CLIENT),
    ({wire.P_CLIENT_ID: "mallory"}, wire.INVALID_CLIENT),
    ({wire.P_GRANT_TYPE: 0}, wire.UNSUPPORTED_GRANT_TYPE),
    ({wire.P_REQ_CNF: {3: b"k"}}, wire.UNSUPPORTED_POP_KEY),
    ({wire.P_ACE_PROFILE: 1}, wire.INCOMPATIBLE_ACE_PROFILES),
    ({wire.P_SCOPE: cbor2.dumps([["/config", 4]])}, wire.INVALID_SCOPE),
    ({wire.P_SCOPE: cbor2.dumps([["/led", 8]])}, wire.INVALID_SCOPE),  # DELETE not granted
    ({wire.P_SCOPE: b"\xff"}, wire.INVALID_SCOPE),
    ({wire.P_SCOPE: "read_temp"}, wire.INVALID_SCOPE),  # client1 has no text scopes
    ({wire.P_SCOPE: 7}, wire.INVALID_REQUEST),
    ({wire.P_AUDIENCE: "coap://rs2.example"}, wire.INVALID_SCOPE),  # no policy
    ({wire.P_AUDIENCE: "coap://nowhere"}, wire.INVALID_SCOPE),
])
def test_token_errors(config_dir, params, code):
    with pytest.raises(asrv.TokenRequestError) as exc:
        issuer(config_dir).token(request(extra=params))
    assert exc.value.code == code


def test_scopes_within_policy(config_dir):
    iss = issuer(config_dir)
    narrow = cbor2.dumps([["/led", 1]])
    got = iss.token(request(extra={wire.P_SCOPE: narrow}))
    assert open_token(got[wire.P_ACCESS_TOKEN], config_dir)[9] == narrow
    assert wire.P_SCOPE not in got  # as requested
    text = iss.token(request("client2", b"s3cret-two", extra={wire.P_SCOPE: "led"}))
    assert open_token(text[wire.P_ACCESS_TOKEN], config_dir)[9] == "led"


def test_audience_defaults_only_when_unambiguous(config_dir):
    iss = issuer(config_dir)
    got = iss.token(request(extra={wire.P_AUDIENCE: None}))
    assert open_token(got[wire.P_ACCESS_TOKEN], config_dir)[3] == AUDIENCE
    with pytest.raises(asrv.TokenRequestError) as exc:
        iss.token(request("client2", b"s3cret-two", extra={wire.P_AUDIENCE: None}))
    assert exc.value.code == wire.INVALID_REQUEST


def test_introspection(config_dir):
    now = [1_800_000_000]
    iss = issuer(config_dir, clock=lambda: now[0])
    token = iss.token(request())[wire.P_ACCESS_TOKEN]
    rs = {wire.P_CLIENT_ID: AUDIENCE, wire.P_CLIENT_SECRET: b"rs-introspect"}
    got = iss.introspect({**rs, wire.P_TOKEN: token})
    assert got[wire.P_ACTIVE] is True and got[3] == AUDIENCE and got[4] == now[0] + 600
    assert iss.introspect({**rs, wire.P_TOKEN: b"x" + token}) == {wire.P_ACTIVE: False}
    now[0] += 600
    assert iss.introspect({**rs, wire.P_TOKEN: token}) == {wire.P_ACTIVE: False}
    for bad in ({wire.P_CLIENT_SECRET: b"nope"}, {wire.P_CLIENT_ID: "coap://rs2.example"}):
        with pytest.raises(asrv.TokenRequestError) as exc:
            iss.introspect({**rs, **bad, wire.P_TOKEN: token})
        assert exc.value.code == wire.INVALID_CLIENT


CONFIG_ERRORS = [
    ('[[client]]\nid = "x"\nsecret = "inline"\n', "client[2]: secrets are read from files"),
    ('[[policy]]\nclient = "ghost"\naudience = "coap://rs1.example"\naif = [["/a", 1]]\n',
     "policy[3]: unknown client 'ghost'"),
    ('[[policy]]\nclient = "client1"\naudience = "coap://x"\naif = [["/a", 1]]\n',
     "policy[3]: unknown audience 'coap://x'"),
    ('[[policy]]\nclient = "client1"\naudience = "coap://rs1.example"\n',
     "policy[3]: give scopes (names) or aif"),
    ('[[policy]]\nclient = "client1"\naudience = "coap://rs1.example"\naif = [["temp", 1]]\n',
     "policy[3]: aif entries must be"),
    ('[[rs]]\naudience = "coap://rs3"\ntoken_form = "sign1"\nencryption_key = "k"\n',
     "rs[2]: token_form must be encrypt0"),
    ('[[rs]]\naudience = "coap://rs3"\ntoken_format = "jwt"\nencryption_key = '
     '"keys/rs1-enc.cose"\n', "rs[2].encryption_key: token_format jwt needs an A128KW COSE_Key"),
    ('[[rs]]\naudience = "coap://rs3"\ntoken_format = "jwt"\ntoken_form = "encrypt0"\n'
     'encryption_key = "keys/rs1-enc.cose"\n', "rs[2]: token_form is for CWTs"),
    ('[[rs]]\naudience = "coap://rs3"\ntoken_format = "cbor"\nencryption_key = "k"\n',
     "rs[2]: token_format must be cwt"),
    ('[[rs]]\naudience = "coap://rs3"\nencryption_key = "keys/none.cose"\n',
     "rs[2].encryption_key: cannot read key file"),
    ('[[rs]]\naudience = "coap://rs3"\nencryption_key = "keys/rs1-mac.cose"\n',
     "rs[2].encryption_key: must be an A128CCM COSE_Key"),
    ('[[client]]\nid = "client1"\nsecret_file = "secrets/rs1.secret"\n',
     "client[2]: client id 'client1' appears twice"),
    ('[[client]]\nid = "c3"\nsecret_file = "secrets/none"\n',
     "client[2].secret_file: cannot read"),
    ('bogus = 1\n', "policy[2]: unknown setting 'bogus'"),
    ('[[rs]]\naudience = "a"\nencryption_key = "keys/rs1-enc.cose"\nkey = 1\n',
     "rs[2]: unknown setting 'key'"),
    ('issuer = \n', "is not valid TOML"),
    ('[[rs]]\naudience = "e"\nencryption_key = "keys/rs1-enc.cose"\nprofile = "dtls"\n',
     "rs[2]: profile must be oscore or edhoc"),
    ('[[rs]]\naudience = "e"\nencryption_key = "keys/rs1-enc.cose"\nprofile = "edhoc"\n'
     'credential = "keys/rs1-enc.cose"\n',
     "is not a CCS with a P-256 cnf COSE_Key"),  # a COSE_Key is no CCS
    ('[[rs]]\naudience = "e"\nencryption_key = "keys/rs1-enc.cose"\n'
     'credential = "x.ccs"\n', "rs[2]: credential is for profile edhoc"),
]


@pytest.mark.parametrize("extra,message", CONFIG_ERRORS)
def test_config_errors_are_one_clear_line(tmp_path, extra, message):
    write_config(tmp_path, extra=extra)
    with pytest.raises(asrv.ConfigError) as exc:
        asrv.Config.load(tmp_path / "as.toml")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_config_refuses_public_signing_key(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("as-sign.cose", "as-sign.pub.cose"))
    with pytest.raises(asrv.ConfigError, match="needs the private key"):
        asrv.Config.load(config)


def test_shipped_example_loads(tmp_path):
    """examples/as.toml works as documented: make the keys and secret it names, load it."""
    from pathlib import Path
    import microace_host
    from microace_host import keys
    example = Path(microace_host.__file__).parent / "examples" / "as.toml"
    (tmp_path / "as.toml").write_text(example.read_text())
    keys.new_key("ES256", tmp_path / "keys", name="as-sign")
    keys.new_key("A128CCM", tmp_path / "keys", name="rs1-enc")
    (tmp_path / "secrets").mkdir()
    keys.write_secret_file(tmp_path / "secrets" / "client1.secret", b"c2VjcmV0\n")
    config = asrv.Config.load(tmp_path / "as.toml")
    assert config.clients == {"client1": b"c2VjcmV0"}
    assert config.rss["coap://rs1.example"].form == "encrypt0+sign1"
    response = asrv.Issuer(config).token({wire.P_CLIENT_ID: "client1",
                                          wire.P_CLIENT_SECRET: b"c2VjcmV0"})
    assert 4 in response[wire.P_CNF]


@pytest.mark.parametrize("bind", ["0.0.0.0:5684", "192.168.1.2:5684", "localhost:5684",
                                  "127.0.0.1", "127.0.0.1:99999"])
def test_bind_is_loopback_only(bind):
    with pytest.raises(asrv.ConfigError):
        asrv.parse_bind(bind)


def test_over_coap(config_dir):
    import aiocoap

    async def scenario():
        port = free_port()
        logged = []
        server, _ = await asrv.start(asrv.Config.load(config_dir / "as.toml"),
                                     "127.0.0.1:%d" % port, log=logged.append)
        client = await aiocoap.Context.create_client_context()
        base = "coap://127.0.0.1:%d" % port

        async def post(path, body, raw=None, content_format=19):
            msg = aiocoap.Message(code=aiocoap.POST, uri=base + path,
                                  payload=raw if raw is not None else cbor2.dumps(body))
            if content_format is not None:
                msg.opt.content_format = content_format
            return await client.request(msg).response

        try:
            ok = await post("/token", request())
            bad_secret = await post("/token", request(secret=b"guess"))
            bad_scope = await post("/token",
                                   request(extra={wire.P_SCOPE: cbor2.dumps([["/x", 1]])}))
            not_cbor = await post("/token", None, raw=b"\xff\x00")
            wrong_format = await post("/token", request(), content_format=50)
            token = cbor2.loads(ok.payload)[wire.P_ACCESS_TOKEN]
            active = await post("/introspect", {wire.P_CLIENT_ID: AUDIENCE,
                                                wire.P_CLIENT_SECRET: b"rs-introspect",
                                                wire.P_TOKEN: token})
            anonymous = await post("/introspect", {wire.P_TOKEN: token})
        finally:
            await client.shutdown()
            await server.shutdown()
        return ok, bad_secret, bad_scope, not_cbor, wrong_format, active, anonymous, logged

    ok, bad_secret, bad_scope, not_cbor, wrong_format, active, anonymous, logged = \
        asyncio.run(scenario())
    assert ok.code == aiocoap_code("CREATED") and ok.opt.content_format == 19
    assert 4 in cbor2.loads(ok.payload)[wire.P_CNF]
    assert bad_secret.code == aiocoap_code("UNAUTHORIZED")
    assert cbor2.loads(bad_secret.payload)[wire.P_ERROR] == wire.INVALID_CLIENT
    assert bad_scope.code == aiocoap_code("BAD_REQUEST")
    assert cbor2.loads(bad_scope.payload)[wire.P_ERROR] == wire.INVALID_SCOPE
    assert bad_scope.opt.content_format == 19
    assert not_cbor.code == aiocoap_code("BAD_REQUEST")
    assert cbor2.loads(not_cbor.payload)[wire.P_ERROR] == wire.INVALID_REQUEST
    assert wrong_format.code == aiocoap_code("UNSUPPORTED_CONTENT_FORMAT")
    assert active.code == aiocoap_code("CONTENT")
    assert cbor2.loads(active.payload)[wire.P_ACTIVE] is True
    assert anonymous.code == aiocoap_code("UNAUTHORIZED")
    # The log says what happened, never a secret.
    text = "\n".join(logged)
    assert "issued to client1" in text and "s3cret" not in text and "guess" not in text


def aiocoap_code(name):
    import aiocoap
    return getattr(aiocoap, name)


@pytest.mark.parametrize("args,message", [
    (["--bind", "0.0.0.0:5684"], "loopback"),
    (["--bind", "127.0.0.1:x"], "HOST:PORT"),
])
def test_serve_command_refuses_bad_input_in_one_line(config_dir, args, message):
    from click.testing import CliRunner
    from microace_host.cli import main
    result = CliRunner().invoke(main, ["as", "serve", "--config", str(config_dir / "as.toml")]
                                + args)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_command_reports_config_errors(tmp_path):
    from click.testing import CliRunner
    from microace_host.cli import main
    write_config(tmp_path, extra='[[client]]\nid = "x"\nsecret = "s"\n')
    result = CliRunner().invoke(main, ["as", "serve", "--config", str(tmp_path / "as.toml")])
    assert result.exit_code == 2 and "secrets are read from files" in result.output
    assert '"s"' not in result.output
