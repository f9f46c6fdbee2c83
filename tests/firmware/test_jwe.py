"""Nested JWTs on the board (microace.jwe, then microace.jwt, through access_token.verify):
RFC 3394 §4.1 for the key unwrap and RFC 7516 Appendix A.3 (A128KW + A128CBC-HS256) for the
decryption layer, exactly; tokens from two independent libraries (joserfc, jwcrypto) around
JWSs from PyJWT and joserfc, carrying cnf osc; tampering, the one algorithm pair, and padding
errors that only a valid tag can reach (no padding oracle).
"""

import json

import pytest

from tests.support import jwtfactory as jf
from tests.support import tokenfactory as tf

ES = tf.signing_key("ES256", b"jwe-es")
KW_KID = b"jwe-kw"
KW_COSE, KW = jf.kw_key(KW_KID)
OTHER_COSE, OTHER = jf.kw_key(b"jwe-kw-2")
OSC = {"alg": "AES-CCM-16-64-128", "id": "AQ", "ms": "-a-Dg2jjU-eIiOFCa9lObw"}

# RFC 3394 §4.1: 128 bits of key data wrapped with a 128-bit KEK.
KW41_KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
KW41_DATA = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
KW41_WRAPPED = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
# RFC 7516 Appendix A.3: "Live long and prosper." with A128KW and A128CBC-HS256.
A3 = (b"eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0."
      b"6KB707dM9YTIgHtLvtgWQ8mKwboJW3of9locizkDTHzBC2IlrT1oOQ."
      b"AxY8DCtDaGlsbGljb3RoZQ."
      b"KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY."
      b"U0m_YmjN04DJvceFICbCVQ")
A3_KEY = jf.unb64("GawgguFyGrWKav7AX4VKUg")  # A.3.1
A3_CEK = bytes([4, 211, 31, 197, 84, 157, 252, 254, 11, 100, 157, 250, 63, 170, 106, 206,
                107, 124, 212, 45, 111, 107, 9, 219, 200, 177, 0, 240, 143, 156, 44, 207])

MP_JWE = """
from microace import cose as _ec
from microace.crypto import aes_cbc_hs as _ecbc, aes_kw as _ekw
from microace.jwt import b64url_decode as _eb64
def _e_run(f, *args):
    try:
        return ('ok', f(*args))
    except _tf_Err as e:
        return '%s: %s' % (type(e).__name__, e.args[0] if e.args else '')
def _e_a3_layers(token):
    head, ek, iv, ct, tag = token.split(b'.')
    ks = _tf_stores['rfc7516-a3']
    r = _e_run(ks.unwrap, ks.lookup(None), _ec.ALG_A128KW, _eb64(ek))
    if r[0] != 'ok':
        return r
    return r[1], _e_run(_ecbc.decrypt, r[1], head, _eb64(iv), _eb64(ct), _eb64(tag))
"""


@pytest.fixture
def fw(mp):
    jf.mp_setup(mp, {"jwe": [(ES, None), (KW_COSE, None), (OTHER_COSE, None)],
                     "rfc7516-a3": [(jf.kw_key(b"a3", A3_KEY)[0], None)]})
    mp.exec(MP_JWE)
    return mp


def jws(**kw):
    return jf.mint_pyjwt(jf.claims(cnf={"osc": OSC}, **kw), ES)


def nested(inner=None, **headers):
    return jf.encrypt_joserfc(inner or jws(), KW_KID, KW, headers)


def verdicts(mp, tokens):
    return [tf.verdict(r) for r in jf.verdicts(mp, "jwe", tokens)]


def test_rfc3394_4_1_unwrap(fw):
    run = "_e_run(_ekw.unwrap, %r, %r)"
    assert fw.eval(run % (KW41_KEK, KW41_WRAPPED)) == ("ok", KW41_DATA)
    for i in (0, 8, 23):  # the ICV block, R[1], R[2]
        bad = bytearray(KW41_WRAPPED)
        bad[i] ^= 0x80
        assert fw.eval(run % (KW41_KEK, bytes(bad))) == \
            "VerifyError: key unwrap integrity check failed"
    assert fw.eval(run % (KW41_KEK, KW41_WRAPPED[:-8])).startswith("VerifyError")


def test_rfc7516_a3_decryption_layer(fw):
    """A.3's CEK comes out of the key store's unwrap, its plaintext out of A128CBC-HS256; the
    token as a whole is refused: it is no nested JWT (no cty JWT), and its plaintext no JWS."""
    cek, plain = fw.eval("_e_a3_layers(%r)" % A3)
    assert cek == A3_CEK
    assert plain == ("ok", b"Live long and prosper.")
    head, ek, iv, ct, tag = A3.split(b".")
    for i, seg in ((2, iv), (3, ct), (4, tag)):
        raw = bytearray(jf.unb64(seg))
        raw[0] ^= 1
        parts = A3.split(b".")
        parts[i] = jf.b64(bytes(raw))
        got = fw.eval("_e_a3_layers(%r)" % b".".join(parts))
        assert got[1] == "VerifyError: JWE authentication tag does not verify"
    got = jf.verdicts(fw, "rfc7516-a3", [A3])
    assert got == ["DecodeError: JWE must carry a nested JWT (cty JWT)"]


@pytest.mark.parametrize("encrypter", sorted(jf.ENCRYPTERS))
@pytest.mark.parametrize("signer", sorted(jf.MINTERS))
def test_interop_nested_tokens_carry_cnf_osc(fw, encrypter, signer):
    inner = jf.MINTERS[signer](jf.claims(cnf={"osc": OSC}), ES)
    token = jf.ENCRYPTERS[encrypter](inner, KW_KID, KW)
    got = jf.verdicts(fw, "jwe", [token, inner])
    assert got[0][0] == "ok", got[0]
    assert got[0][2] == ("osc", {0: b"\x01", 2: jf.unb64(OSC["ms"]), 4: OSC["alg"]})
    assert got[0][3] is True  # encrypted
    # The same JWS without the JWE around it: the secret is refused (RFC 7800 §3.3).
    assert got[1] == "ClaimError: OSCORE master secret in an unencrypted token"


def flip(token, index, byte=0):
    parts = token.split(b".")
    raw = bytearray(jf.unb64(parts[index]))
    raw[byte] ^= 1
    parts[index] = jf.b64(bytes(raw))
    return b".".join(parts)


@pytest.mark.parametrize("encrypter", sorted(jf.ENCRYPTERS))
def test_tampered_layers_are_refused(fw, encrypter):
    token = jf.ENCRYPTERS[encrypter](jws(), KW_KID, KW)
    head = json.loads(jf.unb64(token.split(b".")[0]))
    cases = {
        "wrapped key": flip(token, 1, 3),
        "wrapped key ICV": flip(token, 1, 0),
        "IV": flip(token, 2),
        "ciphertext": flip(token, 3, 5),
        "tag": flip(token, 4, 15),
        "header (AAD)": jf.b64(json.dumps(dict(head, x=1)).encode())
        + token[token.index(b"."):],
        "other wrap key": jf.encrypt_joserfc(jws(), b"jwe-kw-2", KW),
    }
    got = jf.verdicts(fw, "jwe", list(cases.values()))
    assert got == ["VerifyError: JWE authentication tag does not verify"] * len(cases), \
        dict(zip(cases, got))


def test_only_one_algorithm_pair(fw):
    from joserfc import jwe
    from joserfc.jwk import OctKey
    inner = jws()
    base = dict(jf.KW_HEADER, kid=KW_KID.decode())

    def joserfc(header, key):
        return jwe.encrypt_compact(header, inner, OctKey.import_key(key),
                                   algorithms=[header["alg"], header["enc"]]).encode()
    cases = {
        "A128GCM": (joserfc(dict(base, enc="A128GCM"), KW), "VerifyError"),
        "A256CBC-HS512": (joserfc(dict(base, enc="A256CBC-HS512"), KW), "VerifyError"),
        "dir (empty encrypted key)": (joserfc(dict(base, alg="dir"), bytes(32)), "DecodeError"),
        "A256KW": (joserfc(dict(base, alg="A256KW"), bytes(32)), "VerifyError"),
        "a128kw lower case": (jf.craft_jwe(dict(base, alg="a128kw"), inner, KW), "VerifyError"),
        "no cty": (jf.craft_jwe({k: v for k, v in base.items() if k != "cty"}, inner, KW),
                   "DecodeError"),
        "cty jwt": (jf.craft_jwe(dict(base, cty="jwt"), inner, KW), "DecodeError"),
        "zip": (jf.craft_jwe(dict(base, zip="DEF"), inner, KW), "DecodeError"),
        "crit": (jf.craft_jwe(dict(base, crit=["exp"], exp=1), inner, KW), "DecodeError"),
        "jwk in header": (jf.craft_jwe(dict(base, jwk={"kty": "oct", "k": "AA"}), inner, KW),
                          "DecodeError"),
        "kid of the signing key": (jf.craft_jwe(dict(base, kid=ES.kid.decode()), inner, KW),
                                   "VerifyError"),
        "unknown kid": (jf.craft_jwe(dict(base, kid="nope"), inner, KW), "VerifyError"),
        "no kid, several keys": (jf.craft_jwe({k: v for k, v in base.items() if k != "kid"},
                                              inner, KW), "VerifyError"),
        "hand-made, all right": (jf.craft_jwe(base, inner, KW), "ok"),
    }
    got = verdicts(fw, [t for t, _ in cases.values()])
    assert got == [want for _, want in cases.values()], dict(zip(cases, got))


def test_padding_errors_follow_a_valid_tag_only(fw):
    """Bad PKCS #7 padding under a valid tag is refused; under an invalid tag the answer is
    the tag's, whatever the padding: the padding is never looked at (no padding oracle)."""
    base = dict(jf.KW_HEADER, kid=KW_KID.decode())
    inner = jws()
    pads = {"zero": b"\x00" * 16, "17": b"\x11" * 16, "uneven": b"\x02" * 15 + b"\x03",
            "mixed": bytes(15) + b"\x02"}
    good_tag = [jf.craft_jwe(base, inner + b"x" * (-len(inner) % 16), KW, pad=p)
                for p in pads.values()]
    got = jf.verdicts(fw, "jwe", good_tag + [flip(t, 4) for t in good_tag])
    assert got[:len(pads)] == ["VerifyError: JWE plaintext padding is invalid"] * len(pads)
    assert got[len(pads):] == ["VerifyError: JWE authentication tag does not verify"] * len(pads)


def test_shapes_are_checked_before_crypto(fw):
    token = nested()
    parts = token.split(b".")
    cases = {
        "four segments": b".".join(parts[:4]),
        "six segments": token + b".AA",
        "empty encrypted key (dir shape)": b".".join(parts[:1] + [b""] + parts[2:]),
        "short IV": b".".join(parts[:2] + [jf.b64(bytes(12))] + parts[3:]),
        "short tag": b".".join(parts[:4] + [jf.b64(bytes(8))]),
        "ciphertext not whole blocks": b".".join(parts[:3] + [jf.b64(bytes(17))] + parts[4:]),
        "wrapped key of a 16-byte CEK": b".".join(parts[:1] + [jf.b64(bytes(24))] + parts[2:]),
        "padding in base64url": token + b"=",
        "oversized": jf.encrypt_joserfc(jws(pad="x" * 3000), KW_KID, KW),
        "duplicate header member": jf.craft_jwe(
            b'{"alg":"A128KW","enc":"A128CBC-HS256","cty":"JWT","kid":"jwe-kw","kid":"x"}',
            jws(), KW),
    }
    got = verdicts(fw, list(cases.values()))
    assert got == ["DecodeError"] * len(cases), dict(zip(cases, got))


def test_the_plaintext_must_be_a_jws(fw):
    base = dict(jf.KW_HEADER, kid=KW_KID.decode())
    claims = json.dumps(jf.claims(cnf={"osc": OSC})).encode()
    cases = {
        "bare claims": jf.craft_jwe(base, claims, KW),
        "a JWE in the JWE": jf.craft_jwe(base, nested(), KW),
        "a CWT": jf.craft_jwe(base, tf.protect(tf.claims(), ES), KW),
    }
    got = verdicts(fw, list(cases.values()))
    assert got == ["DecodeError"] * len(cases), dict(zip(cases, got))


def test_inner_jws_is_verified_and_claims_validated(fw):
    inner = jws()
    head, body, sig = inner.split(b".")
    forged = head + b"." + body + b"." + jf.b64(bytes(64))
    got = verdicts(fw, [nested(forged), nested(jws(aud="rs10")), nested(jws(exp=tf.NOW))])
    assert got == ["VerifyError", "AudienceError", "ClaimError"]


def test_the_jwt_path_is_dropped_after_a_nested_jwt(fw):
    """jwe, jwt, jsonstrict and the JWE crypto are imported per token and dropped after it:
    their code does not stay in the heap (access_token.py)."""
    assert tf.verdict(jf.verdicts(fw, "jwe", [nested()])[0]) == "ok"
    fw.exec("import sys, microace, microace.crypto")
    left = fw.eval("[n for n in ('jwe', 'jwt', 'jsonstrict', 'crypto.aes_kw', "
                   "'crypto.aes_cbc_hs') if 'microace.' + n in sys.modules]")
    assert left == []
    assert fw.eval("[n for n in ('aes_kw', 'aes_cbc_hs') if n in microace.crypto.__dict__]"
                   " + [n for n in ('jwe', 'jwt') if n in microace.__dict__]") == []
