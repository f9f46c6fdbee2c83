"""`microace token mint|inspect`: offline tokens from the AS policies; inspection shows layers
and claims but never key bytes; the firmware accepts what mint makes."""

import os
import stat

import cbor2
import cwt
import pytest
from click.testing import CliRunner

from ace_setup import AUDIENCE, ISSUER, as_public_key, rs_key, write_config
from microace_host import keys, tokens
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
    secret_k = keys.load_cose_key(key_file)[keys.K]
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
