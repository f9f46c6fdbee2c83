"""`microace token check`: the firmware's own verdict on a python-cwt token, through the CLI.

Exit 0 accepted (JSON with the claims on stdout), 1 rejected (reason on stderr), 2 usage error.
Secrets in key files never show up in anything the command prints.
"""

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import cbor2
import pytest

from tests.support import tokenfactory as tf
from tests.support.tokenfactory import AUD, ISS, NOW

MICROACE = Path(sys.executable).with_name("microace")
ES = tf.signing_key("ES256", b"cli-es256")
ED = tf.signing_key("EdDSA", b"cli-ed25519")
HMAC = tf.symmetric_key(5, b"cli-hmac")
CCM = tf.symmetric_key(10, b"cli-ccm")
SECRETS = [HMAC.key, CCM.key, ES.to_dict()[-4], ED.to_dict()[-4]]


def microace(*args):
    argv = ([str(MICROACE)] if MICROACE.exists()
            else [sys.executable, "-c", "from microace_host.cli import main; main()"])
    proc = subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120)
    leaked = [s.hex() for s in SECRETS
              if any(form in proc.stdout + proc.stderr for form in
                     (s.hex(), s.hex().upper(), base64.b64encode(s).decode(),
                      base64.urlsafe_b64encode(s).decode().rstrip("="), repr(s)[2:-1]))]
    assert not leaked, "key bytes in the output of %s: %s" % (args, leaked)
    return proc


def write(path, data):
    path.write_bytes(data)
    return path


def check(tmp_path, token, key_bytes, *extra, audience=AUD, now=NOW):
    token_file = write(tmp_path / "token.cbor", token)
    key_file = write(tmp_path / "key", key_bytes)
    args = ["token", "check", token_file, "--key", key_file, "--audience", audience]
    if now is not None:
        args += ["--now", now]
    return microace(*(args + list(extra)))


def accepted(proc):
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert proc.stderr == ""
    verdict = json.loads(proc.stdout)
    assert verdict["accepted"] is True
    return verdict


def rejected(proc, error):
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    verdict = json.loads(proc.stdout)
    assert verdict["accepted"] is False and verdict["error"] == error, verdict
    assert proc.stderr.startswith("rejected: %s: " % error), proc.stderr
    assert "claims" not in verdict
    return verdict


def usage_error(proc, words):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert words in proc.stderr, proc.stderr


JSON_CLAIMS = {"1": ISS, "3": AUD, "4": NOW + 3600, "5": NOW - 60, "6": NOW - 60,
               "7": {"hex": b"cti-1".hex()}, "9": "read"}


def test_accepted_es256_cose_key(tmp_path):
    verdict = accepted(check(tmp_path, tf.mint(tf.claims(), ES), tf.trusted_key(ES)))
    assert verdict["claims"] == JSON_CLAIMS
    assert verdict["cnf"] is None and verdict["encrypted"] is False


def test_expired(tmp_path):
    verdict = rejected(check(tmp_path, tf.mint(tf.claims(), ES), tf.trusted_key(ES),
                             now=NOW + 3600), "ClaimError")
    assert "expired" in verdict["reason"]


def test_wrong_audience(tmp_path):
    rejected(check(tmp_path, tf.mint(tf.claims(), ES), tf.trusted_key(ES), audience="rs10"),
             "AudienceError")


def test_wrong_key_same_kid(tmp_path):
    other = tf.signing_key("ES256", ES.kid, seed=b"other")
    rejected(check(tmp_path, tf.mint(tf.claims(), ES), tf.trusted_key(other)), "VerifyError")


def test_tampered_and_garbage_tokens(tmp_path):
    token = tf.mint(tf.claims(), ES)
    rejected(check(tmp_path, tf.flip(token, len(token) - 1, 0), tf.trusted_key(ES)),
             "VerifyError")
    rejected(check(tmp_path, b"\xd2\x84garbage", tf.trusted_key(ES)), "DecodeError")


@pytest.mark.parametrize("key, private", [(ES, False), (ES, True), (ED, False), (ED, True)],
                         ids=["ES256 public", "ES256 private", "EdDSA public", "EdDSA private"])
def test_pem_keys(tmp_path, key, private):
    """A PEM key has no kid: the tool binds it to the kid the token names."""
    verdict = accepted(check(tmp_path, tf.mint(tf.claims(), key), tf.pem(key, private)))
    assert verdict["claims"] == JSON_CLAIMS


def test_pem_key_of_another_signer(tmp_path):
    rejected(check(tmp_path, tf.mint(tf.claims(), ES),
                   tf.pem(tf.signing_key("ES256", b"cli-es256", seed=b"x"))), "VerifyError")
    rejected(check(tmp_path, tf.mint(tf.claims(), ED), tf.pem(ES)), "VerifyError")


def test_cose_key_files(tmp_path):
    accepted(check(tmp_path, tf.mint(tf.claims(), ED), tf.trusted_key(ED)))
    accepted(check(tmp_path, tf.mint(tf.claims(), ED), tf.trusted_key(ED, kid=False)))
    # a private COSE_Key file: the tool keeps only the public part
    private = cbor2.dumps({k: v for k, v in ES.to_dict().items() if k != 4})
    accepted(check(tmp_path, tf.mint(tf.claims(), ES, tagged=True), private))


def test_symmetric_cose_keys(tmp_path):
    v = accepted(check(tmp_path, tf.mint(tf.claims(), HMAC), tf.trusted_key(HMAC)))
    assert v["encrypted"] is False
    sym_pop = tf.cose_key_map(tf.symmetric_key(10, b"pop"))
    v = accepted(check(tmp_path, tf.mint(tf.claims(cnf={1: sym_pop}), CCM), tf.trusted_key(CCM)))
    assert v["encrypted"] is True and v["cnf"] == "key"
    rejected(check(tmp_path, tf.mint(tf.claims(), HMAC), tf.trusted_key(CCM, kid=False)),
             "VerifyError")


def test_now_option(tmp_path):
    token = tf.mint(tf.claims(), ES)
    key = tf.trusted_key(ES)
    accepted(check(tmp_path, token, key, now=NOW + 3599))
    accepted(check(tmp_path, token, key, now="%.1f" % (NOW + 3599.5)))
    rejected(check(tmp_path, token, key, now=NOW + 3600), "ClaimError")
    rejected(check(tmp_path, token, key, now=NOW - 61), "ClaimError")  # before nbf
    # without --now the tool checks at the host's time
    rejected(check(tmp_path, token, key, now=None), "ClaimError")
    t = int(time.time())
    fresh = tf.mint(tf.claims(exp=t + 600, nbf=t - 60, iat=t - 60), ES)
    accepted(check(tmp_path, fresh, key, now=None))


def test_issuer_option(tmp_path):
    token = tf.mint(tf.claims(), HMAC)
    key = tf.trusted_key(HMAC)
    accepted(check(tmp_path, token, key, "--issuer", ISS))
    verdict = rejected(check(tmp_path, token, key, "--issuer", "coaps://other.example"),
                       "ClaimError")
    assert "issuer" in verdict["reason"]


def test_small_heap_es256(tmp_path):
    """The compiled ES256 path (~37 KB of code on this 64-bit port) plus 32 KB of working heap;
    too small a heap is a clear usage error, not a verdict."""
    verdict = accepted(check(tmp_path, tf.mint(tf.claims(), ES), tf.trusted_key(ES),
                             "--heap", "80k"))
    assert verdict["claims"] == JSON_CLAIMS
    usage_error(check(tmp_path, tf.mint(tf.claims(), ES), tf.trusted_key(ES), "--heap", "16k"),
                "MemoryError")


def test_usage_errors(tmp_path):
    token = write(tmp_path / "token.cbor", tf.mint(tf.claims(), HMAC))
    base = ["token", "check", token, "--audience", AUD, "--now", NOW]
    usage_error(microace(*base, "--key", tmp_path / "missing.key"), "does not exist")
    usage_error(microace(*base[:3], "--key", write(tmp_path / "k", tf.trusted_key(HMAC)),
                         "--now", NOW), "--audience")
    usage_error(microace("token", "check", tmp_path / "none.cbor", "--key",
                         write(tmp_path / "k", tf.trusted_key(HMAC)), "--audience", AUD),
                "does not exist")
    broken_pem = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    for name, garbage in [("random bytes", b"\xff\xfe\x00garbage"), ("text", b"hello\n"),
                          ("CBOR int", cbor2.dumps(5)), ("CBOR map, no kty", cbor2.dumps({3: 5})),
                          ("broken PEM", broken_pem)]:
        proc = microace(*base, "--key", write(tmp_path / "garbage.key", garbage))
        assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
        assert proc.stdout == "" and "Error" in proc.stderr, (name, proc.stderr)
    no_alg = {k: v for k, v in tf.cose_key_map(HMAC).items() if k != 3}
    usage_error(microace(*base, "--key", write(tmp_path / "noalg.key", cbor2.dumps(no_alg))),
                "no alg")


@pytest.mark.parametrize("now", ["nan", "inf", "-inf"])
def test_non_finite_now_is_a_usage_error(tmp_path, now):
    usage_error(check(tmp_path, tf.mint(tf.claims(), HMAC), tf.trusted_key(HMAC), now=now),
                "--now")


@pytest.mark.parametrize("key", [ES, ED, HMAC], ids=["ES256", "EdDSA", "HS256"])
def test_jwt_verdicts(tmp_path, key):
    from tests.support import jwtfactory as jf
    token = jf.mint_pyjwt(jf.claims(), key)
    verdict = accepted(check(tmp_path, token, tf.trusted_key(key)))
    assert verdict["claims"]["aud"] == AUD and verdict["claims"]["jti"] == "jti-1"
    sig = bytearray(jf.unb64(token.split(b".")[2]))
    sig[0] ^= 1
    tampered = token.rsplit(b".", 1)[0] + b"." + jf.b64(bytes(sig))
    rejected(check(tmp_path, tampered, tf.trusted_key(key)), "VerifyError")
    rejected(check(tmp_path, token + b"==", tf.trusted_key(key)), "DecodeError")
    rejected(check(tmp_path, token, tf.trusted_key(key), audience="rs10"), "AudienceError")
