"""`microace token mint|inspect`: offline tokens from the AS policies; inspection shows layers
and claims but never key bytes; the firmware accepts what mint makes."""

import json
import os
import stat

import cbor2
import cwt
import pytest
from click.testing import CliRunner

from tests.support.ace_setup import (AUDIENCE, ISSUER, JWT_AUDIENCE, as_public_key, kw_key, rs_key,
                                     write_config, write_jwt_config)
from microace_host import keys, tokens, wire
from microace_host.cli import main


@pytest.fixture
def config(tmp_path):
    return write_config(tmp_path)


def mint(config, *args):
    out = str(config.parent / "token.cwt")
    result = CliRunner().invoke(main, ["token", "mint", "--config", str(config), "--out", out]
                                + list(args))
    return result, out


def test_mint_nested_token_and_osc_file(config):
    result, out = mint(config, "--client", "client1")
    assert result.exit_code == 0, result.output
    token, osc = open(out, "rb").read(), cbor2.loads(open(out + ".osc", "rb").read())
    for path in (out, out + ".osc"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    sign1 = cwt.COSE.new().decode(token, cwt.COSEKey.new(rs_key(config.parent)))
    claims = cbor2.loads(cwt.COSE.new().decode(sign1, cwt.COSEKey.new(
        as_public_key(config.parent))))
    assert claims[8] == {4: osc} and claims[3] == AUDIENCE and claims[1] == ISSUER
    assert osc[2].hex() not in result.output


def test_inspect_shows_claims_never_secrets(config):
    _, out = mint(config, "--client", "client1")
    ms = cbor2.loads(open(out + ".osc", "rb").read())[2]
    key_file = str(config.parent / "keys" / "rs1-enc.cose")
    result = CliRunner().invoke(main, ["token", "inspect", out, "--key", key_file],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "COSE_Encrypt0 protected {1: 10}" in text and "COSE_Sign1 protected {1: -7}" in text
    assert '"coap://rs1.example"' in text  # diagnostic notation of the claims
    assert 'AIF [["/temp", 1], ["/led", 5]]' in text  # the table
    assert "<secret: 16 bytes>" in text
    secret_k = keys.load_cose_key(key_file)[wire.K]
    for secret in (ms, secret_k):
        assert secret.hex() not in text.replace(" ", "") and secret.hex() not in text


def test_inspect_without_key_stops_at_the_encryption(config):
    _, out = mint(config, "--client", "client1")
    result = CliRunner().invoke(main, ["token", "inspect", out])
    assert result.exit_code == 0
    assert "COSE_Encrypt0" in result.output and "give the RS key with --key" in result.output


@pytest.mark.parametrize("form,key_name", [("encrypt0", "rs1-enc.cose"),
                                           ("sign1", "as-sign.pub.cose"),
                                           ("mac0", "rs1-mac.cose")])
def test_firmware_accepts_minted_tokens(config, form, key_name):
    result, out = mint(config, "--client", "client1", "--form", form,
                       "--aif", '[["/temp", 1]]')
    assert result.exit_code == 0, result.output
    assert os.path.exists(out + ".osc") == (form == "encrypt0")
    key = keys.load_cose_key(config.parent / "keys" / key_name)
    verdict = tokens.check(open(out, "rb").read(), key, AUDIENCE, issuer=ISSUER)
    assert verdict["accepted"], verdict
    assert ("osc" in str(verdict["cnf"])) == (form == "encrypt0")


@pytest.mark.parametrize("args,message", [
    (["--client", "client1", "--aif", '[["/config", 4]]'], "AIF scope not granted"),
    (["--client", "client2"], "audience required"),
    (["--client", "nobody"], "unknown client 'nobody'"),
    (["--client", "client1", "--scope", "a", "--aif", "[]"], "not both"),
    (["--client", "client1", "--aif", "[["], "--aif must be JSON"),
])
def test_mint_refusals(config, args, message):
    result, out = mint(config, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and not os.path.exists(out)


def test_mint_refuses_osc_in_unencrypted_forms():
    with pytest.raises(tokens.MintError, match="needs an Encrypt0 layer"):
        tokens.mint({8: {4: {2: bytes(16)}}}, "sign1", signing_key={})


def test_redacted_hides_every_secret_label():
    obj = {8: {4: {0: b"id", 2: b"m" * 16}, 1: {1: 4, -1: b"k" * 16}}, 1: {-4: b"d" * 32}}
    text = tokens.diagnostic(tokens.redacted(obj))
    for secret in ("mmmm", "kkkk", "dddd", "6d6d", "6b6b", "6464"):
        assert secret not in text
    assert "0: 'id'" in text and text.count("<secret:") == 3


def test_mint_jwt_verifies_with_pyjwt_and_the_firmware(config):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    result, out = mint(config, "--client", "client1", "--format", "jwt",
                       "--aif", '[["/temp", 1]]')
    assert result.exit_code == 0, result.output
    assert not os.path.exists(out + ".osc") and "no cnf.osc" in result.output
    token = open(out, "rb").read()
    assert token.startswith(b"eyJ") and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    pub = as_public_key(config.parent)
    public = ec.EllipticCurvePublicNumbers(int.from_bytes(pub[-2], "big"),
                                           int.from_bytes(pub[-3], "big"),
                                           ec.SECP256R1()).public_key()
    claims = jwt.decode(token, public, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["scope"] == [["/temp", 1]] and "cnf" not in claims
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "as-1", "typ": "at+jwt"}
    key = keys.load_cose_key(config.parent / "keys" / "as-sign.pub.cose")
    verdict = tokens.check(token, key, AUDIENCE, issuer=ISSUER)
    assert verdict["accepted"], verdict
    assert verdict["claims"]["scope"] == [["/temp", 1]]


def test_mint_jwt_with_a_cose_form_is_refused(config):
    result, out = mint(config, "--client", "client1", "--format", "jwt", "--form", "sign1")
    assert result.exit_code == 2 and "does not fit" in result.output
    assert not os.path.exists(out)


def test_inspect_jwt(config):
    _, out = mint(config, "--client", "client1", "--format", "jwt")
    result = CliRunner().invoke(main, ["token", "inspect", out], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "JWT (JWS compact)" in result.output
    assert 'header {"typ": "at+jwt", "alg": "ES256", "kid": "as-1"}' in result.output
    assert '"aud": "coap://rs1.example"' in result.output
    assert "UTC)" in result.output  # exp and iat as dates in the table


def test_jwt_claims_and_redaction():
    claims = tokens.jwt_claims({1: "as", 7: b"\x01\x02", 9: cbor2.dumps([["/a", 1]]), 39: b"n"})
    assert claims == {"iss": "as", "jti": "AQI", "scope": [["/a", 1]], "cnonce": "bg"}
    with pytest.raises(tokens.MintError, match="confidential"):
        tokens.jwt_claims({8: {4: {2: bytes(16)}}})
    text = str(tokens.redacted_json({"cnf": {"osc": {"ms": "c2VjcmV0", "id": "AQ"}},
                                     "jwk": {"d": "ZGRk", "k": "a2tr"}}))
    assert "c2VjcmV0" not in text and "ZGRk" not in text and "a2tr" not in text
    assert "'id': 'AQ'" in text


def test_mint_jwt_needs_a_text_kid():
    key = {1: 2, 2: b"\xff\xfe", 3: -7, -1: 1, -2: bytes(32), -3: bytes(32), -4: bytes(32)}
    with pytest.raises(tokens.MintError, match="UTF-8 kid"):
        tokens.mint_jwt({1: "as"}, key)


@pytest.fixture
def jwt_config(tmp_path):
    return write_jwt_config(tmp_path)


def test_mint_nested_jwt_carries_the_osc_material(jwt_config):
    """--format jwt for an RS with an A128KW key: a JWE (A128KW + A128CBC-HS256) around the
    AS-signed JWS, with cnf.osc; jwcrypto opens it, PyJWT verifies the inside."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwcrypto import jwe, jwk
    result, out = mint(jwt_config, "--client", "client1", "--audience", JWT_AUDIENCE,
                       "--format", "jwt")
    assert result.exit_code == 0, result.output
    token, osc = open(out, "rb").read(), cbor2.loads(open(out + ".osc", "rb").read())
    for path in (out, out + ".osc"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert token.count(b".") == 4
    kw = kw_key(jwt_config.parent)
    outer = jwe.JWE()
    outer.deserialize(token.decode(), jwk.JWK(kty="oct", k=tokens.b64url(kw[wire.K])))
    assert outer.jose_header == {"alg": "A128KW", "enc": "A128CBC-HS256", "cty": "JWT",
                                 "kid": "rs3-kw"}
    pub = as_public_key(jwt_config.parent)
    public = ec.EllipticCurvePublicNumbers(int.from_bytes(pub[-2], "big"),
                                           int.from_bytes(pub[-3], "big"),
                                           ec.SECP256R1()).public_key()
    claims = jwt.decode(outer.payload, public, algorithms=["ES256"], audience=JWT_AUDIENCE)
    assert tokens.b64url_decode(claims["cnf"]["osc"]["ms"]) == osc[2]
    assert tokens.b64url_decode(claims["cnf"]["osc"]["id"]) == osc[0]
    assert osc[2].hex() not in result.output


def test_inspect_and_check_a_nested_jwt(jwt_config):
    _, out = mint(jwt_config, "--client", "client1", "--audience", JWT_AUDIENCE,
                  "--format", "jwt")
    ms = cbor2.loads(open(out + ".osc", "rb").read())[2]
    kw_file = str(jwt_config.parent / "keys" / "rs3-kw.cose")
    run = CliRunner().invoke
    closed = run(main, ["token", "inspect", out], env={"COLUMNS": "200"}).output
    assert "nested JWT (JWE around a JWS)" in closed
    assert 'JWE header {"alg": "A128KW", "enc": "A128CBC-HS256", "cty": "JWT"' in closed
    assert "give the RS's A128KW key with --key" in closed and "JWS header" not in closed
    result = run(main, ["token", "inspect", out, "--key", kw_file], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert 'JWS header {"typ": "at+jwt", "alg": "ES256", "kid": "as-1"}' in text
    assert '"osc": {"id":' in text and "<secret: 22 characters>" in text
    for secret in (tokens.b64url(ms), ms.hex(), tokens.b64url(kw_key(jwt_config.parent)[-1])):
        assert secret not in text
    pub_file = str(jwt_config.parent / "keys" / "as-sign.pub.cose")
    check = ["token", "check", out, "--audience", JWT_AUDIENCE, "--issuer", ISSUER]
    result = run(main, check + ["--key", kw_file, "--key", pub_file])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["accepted"] and verdict["cnf"] == "osc" and verdict["encrypted"] is True
    # Without the wrap key the board cannot open it; without the AS key it cannot verify it.
    for key_file in (pub_file, kw_file):
        result = run(main, check + ["--key", key_file])
        assert result.exit_code == 1 and "rejected: VerifyError" in result.output


def test_nested_jwt_claims_and_its_refusals():
    osc = {0: b"\x01", 2: bytes(range(16)), 5: b"salt"}
    claims = tokens.jwt_claims({8: {4: osc}}, confidential=True)
    assert claims == {"cnf": {"osc": {"id": "AQ", "ms": tokens.b64url(bytes(range(16))),
                                      "salt": "c2FsdA"}}}
    with pytest.raises(tokens.MintError, match="osc only"):
        tokens.jwt_claims({8: {3: b"kid"}}, confidential=True)
    sign = {1: 2, 2: b"as", 3: -7, -1: 1, -2: bytes(32), -3: bytes(32), -4: bytes(32)}
    with pytest.raises(tokens.MintError, match="A128KW"):
        tokens.mint_jwt({1: "as"}, sign, {1: 4, 2: b"k", 3: 10, -1: bytes(16)})
