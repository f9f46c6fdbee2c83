"""The RS on the unix port, reached by real datagrams: the ACE-OSCORE flow and every response
code of DESIGN.md's table that a client can provoke.

Codes are written class.detail as in the RFCs: 0x41 is 2.01, 0x81 is 4.01.
"""

import os
import time

import cbor2
import pytest
from aiocoap.message import Message

from tests.support.coap_wire import code
from tests.support import tokenfactory as tf
from tests.support.rs_peer import AIF_ALL, AS_URI, AUDIENCE, OTHER_KEY, Peer, Session, claims, mint

GET, POST, PUT, DELETE = 1, 2, 3, 4
CREATED, CHANGED, CONTENT = 0x41, 0x44, 0x45
BAD_REQUEST, UNAUTHORIZED, BAD_OPTION, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED = (
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85)
TOO_LARGE, SERVICE_UNAVAILABLE = 0x8D, 0xA3


def assert_hints(response):
    """4.01 with AS Request Creation Hints (RFC 9200 §5.3)."""
    assert code(response.code) == "4.01"
    assert response.opt.content_format == 19
    assert cbor2.loads(response.payload) == {1: AS_URI, 5: AUDIENCE}


# -- the flow ---------------------------------------------------------------------------------

def test_full_flow_authz_info_then_oscore_get_and_put(peer):
    s = Session(peer, claims())
    assert len(s.nonce2) == 8 and s.server_id != b"\x21"
    outer, inner = s.call(GET, "/temp")
    assert code(outer.code) == "2.04"  # OSCORE outer code (RFC 8613 §4.2)
    assert (code(inner.code), inner.payload, inner.opt.content_format) == ("2.05", b"21.5", 0)
    _, inner = s.call(PUT, "/led", b"1")
    assert code(inner.code) == "2.04"
    _, inner = s.call(GET, "/led")
    assert (code(inner.code), inner.payload) == ("2.05", b"1")
    _, inner = s.call(PUT, "/config", cbor2.dumps({"interval": 10}), 60)
    assert code(inner.code) == "2.04"


def test_text_scope_through_the_scope_map(peer):
    s = Session(peer, claims(scope="read"), client_id=b"\x22")
    _, inner = s.call(GET, "/temp")
    assert code(inner.code) == "2.05"
    _, inner = s.call(GET, "/led")
    assert code(inner.code) == "4.03"


def test_two_clients_have_distinct_contexts(peer):
    a = Session(peer, claims(osc_id=b"\x0a"), client_id=b"\x31")
    b = Session(peer, claims(osc_id=b"\x0b"), client_id=b"\x31")
    assert a.server_id != b.server_id
    for s in (a, b, a):
        assert code(s.call(GET, "/temp")[1].code) == "2.05"


# -- /authz-info ------------------------------------------------------------------------------

def test_get_on_authz_info_is_4_05(peer):
    assert code(peer.request(Message(code=GET, uri_path=("authz-info",))).code) == "4.05"


@pytest.mark.parametrize("body,content_format", [
    (b"\xa1", 19),  # truncated CBOR
    (cbor2.dumps([1, 2, 3]), 19),  # not a map
    (cbor2.dumps({1: b"x", 40: b"12345678"}), 19),  # no ace_client_recipientid
    (cbor2.dumps({1: b"x", 43: b"\x01"}), 19),  # no nonce1
    (cbor2.dumps({1: b"x", 40: b"12345678", 43: b"\x01", 99: 0}), 19),  # unknown key
    (cbor2.dumps({1: "x", 40: b"12345678", 43: b"\x01"}), 19),  # token not bytes
    (cbor2.dumps({1: b"not a token", 40: b"12345678", 43: b"\x01"}), 19),  # not COSE
    (cbor2.dumps({1: b"x", 40: b"12345678", 43: b"\x01"}) + b"\x00", 19),  # trailing byte
    (cbor2.dumps({1: b"x", 40: b"12345678", 43: b"\x01"}), 60),  # wrong Content-Format
    (cbor2.dumps({1: b"x", 40: b"12345678", 43: b"\x01"}), None),  # no Content-Format
    (cbor2.dumps({"a": b"x", 1: b"x", 40: b"12345678"}), 19),  # text and integer keys
    (cbor2.dumps({True: b"x", 40: b"12345678", 43: b"\x01"}), 19),  # true is not 1
    (cbor2.dumps({1.0: b"x", 40: b"12345678", 43: b"\x01"}), 19),  # 1.0 is not 1
], ids=["truncated", "array", "no-recipientid", "no-nonce1", "unknown-key", "token-text",
        "token-garbage", "trailing", "cf-60", "cf-none", "mixed-keys", "key-true",
        "key-float"])
def test_malformed_authz_info_is_4_00(peer, body, content_format):
    message = Message(code=POST, uri_path=("authz-info",), payload=body)
    if content_format is not None:
        message.opt.content_format = content_format
    assert code(peer.request(message).code) == "4.00"


def test_token_without_cnf_osc_is_4_00(peer):
    c = claims()
    del c[8]
    assert code(peer.authz_info(mint(c))[0].code) == "4.00"


def test_unsupported_scope_is_4_00(peer):
    assert code(peer.authz_info(mint(claims(scope="unknown-name")))[0].code) == "4.00"


@pytest.mark.parametrize("make,reason", [
    (lambda: mint(claims(), signer=OTHER_KEY), b"COSE_Sign1 does not verify"),  # forged
    (lambda: tf.flip(mint(claims()), -3, 0), b"AES-CCM tag mismatch"),  # tampered ciphertext
    (lambda: mint(claims(), encrypt=tf.symmetric_key(10, b"as-rs1", seed=b"x")),
     b"AES-CCM tag mismatch"),  # encrypted for another RS
    (lambda: mint(claims(lifetime=-10)), b"token expired"),
    (lambda: mint(claims(nbf=int(time.time()) + 3600)), b"token not yet valid (nbf)"),
    (lambda: mint(claims(iss="coap://other-as.example")), b"is not the trusted issuer"),
    (lambda: mint(claims(), encrypt=None), b"OSCORE master secret in an unencrypted token"),
], ids=["forged", "tampered", "other-rs-key", "expired", "nbf-future", "other-issuer",
        "osc-unencrypted"])
def test_unverifiable_or_invalid_token_is_4_01(peer, make, reason):
    response = peer.authz_info(make())[0]
    assert code(response.code) == "4.01"
    # No diagnostic payload before verification: which check failed (`reason`) stays unsaid.
    assert response.payload == b"", reason


def test_other_audience_is_4_03(peer):
    assert code(peer.authz_info(mint(claims(aud="coap://rs2.example")))[0].code) == "4.03"


def test_token_too_large_is_4_13(peer):
    big = mint(claims(sub="x" * 1100))
    assert len(big) > 1024
    assert code(peer.authz_info(big)[0].code) == "4.13"


def test_reposting_a_token_takes_no_new_slot_and_gives_a_new_context(peer):
    token_claims = claims(osc_id=b"\x0c")
    token = mint(token_claims)
    first = Session(peer, token_claims, token, client_id=b"\x41")
    second = Session(peer, token_claims, token, client_id=b"\x41")
    assert code(second.call(GET, "/temp")[1].code) == "2.05"
    assert code(first.call(GET, "/temp")[0].code) == "4.01"  # its context was replaced


def update_token(osc_id, scope, **kw):
    """A token naming an existing OSCORE context by cnf kid (RFC 8747 §3.3, RFC 9203 §4.1)."""
    c = claims(scope=scope, **kw)
    c[8] = {3: osc_id}
    return mint(c)


@pytest.fixture
def own_peer(small_rs):
    """A client of a fresh RS: the used tokens of a test do not fill the shared RS's store."""
    peer = Peer(small_rs)
    yield peer
    peer.close()


def test_access_rights_update_over_the_existing_context(own_peer):
    """RFC 9203 §4.1, §4.2: POST /authz-info protected with the client's context, the new
    token naming that context by kid -> 2.01, the new rights apply, no new context."""
    peer = own_peer
    s = Session(peer, claims(osc_id=b"upd", scope=cbor2.dumps([["/temp", 1]])),
                client_id=b"\x51")
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    assert code(s.call(PUT, "/led", b"1")[1].code) == "4.03"
    wider = update_token(b"upd", cbor2.dumps([["/temp", 1], ["/led", 5]]),
                         iat=int(time.time()) + 1)
    outer, inner = s.call(POST, "/authz-info", cbor2.dumps({1: wider}), 19)
    assert code(outer.code) == "2.04" and code(inner.code) == "2.01"  # answered protected
    assert inner.payload == b""  # no nonce2, no Recipient ID: the context stays
    assert code(s.call(PUT, "/led", b"1")[1].code) == "2.04"
    # Narrowed again: the update takes rights away as well.
    narrow = update_token(b"upd", cbor2.dumps([["/led", 1]]), iat=int(time.time()) + 2)
    assert code(s.call(POST, "/authz-info", cbor2.dumps({1: narrow}), 19)[1].code) == "2.01"
    assert code(s.call(GET, "/temp")[1].code) == "4.03"
    # An older token (the wider one, again) does not roll that back.
    assert code(s.call(POST, "/authz-info", cbor2.dumps({1: wider}), 19)[1].code) == "4.01"
    assert code(s.call(GET, "/temp")[1].code) == "4.03"


def test_access_rights_update_naming_another_context_is_4_01(own_peer):
    peer = own_peer
    a = Session(peer, claims(osc_id=b"upd-a", scope=cbor2.dumps([["/temp", 1]])),
                client_id=b"\x52")
    b = Session(peer, claims(osc_id=b"upd-b", scope=cbor2.dumps([["/temp", 1]])),
                client_id=b"\x53")
    for s in (a, b):
        assert code(s.call(GET, "/temp")[1].code) == "2.05"
    steal = update_token(b"upd-b", AIF_ALL, iat=int(time.time()) + 1)
    assert code(a.call(POST, "/authz-info", cbor2.dumps({1: steal}), 19)[1].code) == "4.01"
    # A new-context token (cnf osc) or nonce1 over OSCORE is no update either.
    osc = mint(claims(osc_id=b"upd-a"))
    assert code(a.call(POST, "/authz-info", cbor2.dumps({1: osc}), 19)[1].code) == "4.01"
    body = cbor2.dumps({1: steal, 40: os.urandom(8), 43: b"\x52"})
    assert code(a.call(POST, "/authz-info", body, 19)[1].code) == "4.00"
    for s in (a, b):
        assert code(s.call(PUT, "/led", b"1")[1].code) == "4.03"


# -- protected resources ----------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [(GET, "temp"), (PUT, "led"), (GET, "nothing")])
def test_unprotected_request_is_4_01_with_hints(peer, method, path):
    # Padded as the client pads its probe: the hints fit in 3x the request (RFC 9175 §2.4).
    assert_hints(peer.request(Message(code=method, uri_path=(path,), payload=bytes(96))))


def test_resource_not_in_scope_is_4_03_and_method_not_in_scope_is_4_05(peer):
    s = Session(peer, claims(scope=cbor2.dumps([["/temp", 1], ["/led", 1]])), client_id=b"\x23")
    outer, inner = s.call(GET, "/config")
    assert code(outer.code) == "2.04" and code(inner.code) == "4.03"  # answered protected
    assert code(s.call(PUT, "/led", b"1")[1].code) == "4.05"
    assert code(s.call(GET, "/led")[1].code) == "2.05"


def test_unknown_resource_in_scope_is_4_04_and_unknown_method_4_05(peer):
    s = Session(peer, claims(scope=cbor2.dumps([["/nothing", 1], ["/temp", 15]])),
                client_id=b"\x24")
    assert code(s.call(GET, "/nothing")[1].code) == "4.04"
    assert code(s.call(DELETE, "/temp")[1].code) == "4.05"


def test_oscore_replay_is_4_01(peer):
    s = Session(peer, claims(), client_id=b"\x25")
    outer, request_id = s.protect(GET, "/temp")
    assert code(s.send(outer, request_id)[1].code) == "2.05"
    response = peer.request(outer)  # the same OSCORE request, a new message ID
    assert code(response.code) == "4.01" and response.opt.oscore is None


def test_oscore_unknown_context_is_4_01_with_hints(peer):
    s = Session(peer, claims(), client_id=b"\x26")
    outer, _ = s.protect(GET, "/temp")
    outer.opt.oscore = outer.opt.oscore[:-1] + b"\x7e"  # a kid no context has
    assert_hints(peer.request(outer))


def test_oscore_bad_option_is_4_02(peer):
    s = Session(peer, claims(), client_id=b"\x27")
    outer, _ = s.protect(GET, "/temp")
    outer.opt.oscore = b"\xe9" + outer.opt.oscore[1:]  # reserved flag bits
    assert code(peer.request(outer).code) == "4.02"


def test_oscore_decryption_failure_is_4_00(peer):
    s = Session(peer, claims(), client_id=b"\x28")
    outer, _ = s.protect(GET, "/temp")
    outer.payload = outer.payload[:-1] + bytes([outer.payload[-1] ^ 1])
    response = peer.request(outer)
    assert code(response.code) == "4.00" and response.opt.oscore is None


def test_duplicate_con_is_answered_byte_for_byte(peer):
    s = Session(peer, claims(), client_id=b"\x29")
    outer, request_id = s.protect(GET, "/temp")
    s.send(outer, request_id)
    first = peer.last
    assert peer.send_raw(outer.encode()) == first  # the same MID: from the dedup cache


def test_duplicate_authz_info_gets_the_cached_2_01(peer):
    message = Message(code=POST, uri_path=("authz-info",), payload=cbor2.dumps(
        {1: mint(claims()), 40: os.urandom(8), 43: b"\x2a"}))
    message.opt.content_format = 19
    assert code(peer.request(message).code) == "2.01"
    first = peer.last
    assert peer.send_raw(message.encode()) == first  # not a second context: the cached 2.01


def test_malformed_con_gets_rst_and_non_is_dropped(peer):
    assert peer.send_raw(bytes((0x40, 0x01, 0x12, 0x34, 0xFF))) == bytes((0x70, 0, 0x12, 0x34))
    assert peer.send_raw(bytes((0x50, 0x01, 0x12, 0x35, 0xFF)), expect=False) is None


# Long enough for the post and the first request even on a busy machine; the test then waits
# until the token has expired, whatever that took.
LIFETIME = 5


@pytest.mark.parametrize("lifetime", [
    {"lifetime": LIFETIME},  # exp, against the board's trusted wall clock
    # exi: LIFETIME s after the RS received it; cti: audience + sequence number (RFC 9200
    # §5.10.3)
    {"exp": None, "exi": LIFETIME,
     "cti": AUDIENCE.encode() + int(time.time() * 1e6).to_bytes(8, "big")},
], ids=["exp", "exi"])
def test_token_expiring_during_a_session_is_4_01(peer, lifetime):
    c = claims(**lifetime)
    s = Session(peer, c, client_id=b"\x2b")
    assert code(s.call(GET, "/temp")[1].code) == "2.05"
    # exp: a NumericDate of whole seconds; exi: counted from the receipt, before this
    time.sleep(max(c[4] - time.time(), 0) + 1.1 if 4 in c else LIFETIME + 0.1)
    outer, inner = s.call(GET, "/temp")
    assert code(outer.code) == "2.04" and code(inner.code) == "4.01"  # answered protected
    assert code(s.call(GET, "/temp")[0].code) == "4.01"  # the context is gone


# -- the token store --------------------------------------------------------------------------

def test_store_full_of_used_tokens_is_5_03(small_rs):
    peer = Peer(small_rs)
    try:
        for i in range(2):
            s = Session(peer, claims(osc_id=bytes([i])), client_id=b"\x51")
            assert code(s.call(GET, "/temp")[1].code) == "2.05"
        assert code(peer.authz_info(mint(claims(osc_id=b"\x09")))[0].code) == "5.03"
    finally:
        peer.close()


def test_never_used_token_is_evicted_first(small_rs):
    peer = Peer(small_rs)
    try:
        used = Session(peer, claims(osc_id=b"\x01"), client_id=b"\x51")
        assert code(used.call(GET, "/temp")[1].code) == "2.05"
        idle = Session(peer, claims(osc_id=b"\x02"), client_id=b"\x51")
        fresh = Session(peer, claims(osc_id=b"\x03"), client_id=b"\x51")
        assert code(idle.call(GET, "/temp")[0].code) == "4.01"  # evicted
        assert code(used.call(GET, "/temp")[1].code) == "2.05"
        assert code(fresh.call(GET, "/temp")[1].code) == "2.05"
    finally:
        peer.close()


def test_newer_token_supersedes_once_it_is_used(small_rs):
    peer = Peer(small_rs)
    try:
        old = Session(peer, claims(osc_id=b"\x07"), client_id=b"\x51")
        assert code(old.call(GET, "/temp")[1].code) == "2.05"
        new = Session(peer, claims(osc_id=b"\x07"), client_id=b"\x51")
        assert code(old.call(GET, "/temp")[1].code) == "2.05"  # still usable
        assert code(new.call(GET, "/temp")[1].code) == "2.05"
        assert code(old.call(GET, "/temp")[0].code) == "4.01"  # retired
        # Only one slot is taken now: another used token still fits.
        other = Session(peer, claims(osc_id=b"\x08"), client_id=b"\x51")
        assert code(other.call(GET, "/temp")[1].code) == "2.05"
    finally:
        peer.close()


def test_rs_answers_well_known_core(peer):
    response = peer.request(Message(code=GET, uri_path=(".well-known", "core")))
    assert code(response.code) == "2.05"
    assert b"</temp>" in response.payload


def test_microace_rs_command_serves_until_interrupted(tmp_path):
    """`microace rs unix:DIR --bind HOST:PORT` prints where it listens; Ctrl-C stops it."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.support.rs_peer import HEAP, free_port, provision

    provision(tmp_path, {"max_tokens": 2, "max_token_bytes": 1024})
    port = free_port()
    # the e2e RS's heap: 192k was at the start-up's fragmentation edge on the unix port
    # (190k failed, 188k and 192k started), a heap minimum this test is not about
    cli = subprocess.Popen([str(Path(sys.executable).parent / "microace"), "rs",
                            "unix:%s" % tmp_path, "--bind", "127.0.0.1:%d" % port,
                            "--heap", HEAP],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = cli.stdout.readline()
        assert line.strip() == "RS listening on coap://127.0.0.1:%d (Ctrl-C stops it)" % port
        cli.send_signal(signal.SIGINT)
        assert cli.wait(10) == 0
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        cli.stdout.close()


def test_an_unprovisioned_board_does_not_start(tmp_path):
    from microace_host import rs_runner
    from microace_host.unix_port import UnixPortError

    with pytest.raises(UnixPortError, match="not provisioned"):
        rs_runner.start("unix:%s" % tmp_path, "127.0.0.1:9", "192k")


def test_authz_info_in_block1_blocks(peer):
    """A token sent block-wise (RFC 7959): 2.31 Continue, then the 2.01 of the whole body."""
    body = cbor2.dumps({1: mint(claims(sub="s" * 400)), 40: os.urandom(8), 43: b"\x2c"})
    assert 512 < len(body) <= 1024
    for num, chunk in enumerate((body[:512], body[512:])):
        message = Message(code=POST, uri_path=("authz-info",), payload=chunk)
        message.opt.content_format = 19
        more = num == 0
        message.opt.block1 = (num, more, 5)  # SZX 5: 512-byte blocks
        for _ in range(5):  # out of heap for the moment: again after Max-Age, as a client does
            response = peer.request(message)
            if response.code != SERVICE_UNAVAILABLE or response.opt.max_age is None:
                break
            time.sleep(response.opt.max_age)
        assert code(response.code) == ("2.31" if more else "2.01")
    answer = cbor2.loads(response.payload)
    assert sorted(answer) == [42, 44]


def test_a_full_store_still_takes_a_renewal_of_a_held_token(small_rs):
    peer = Peer(small_rs)
    try:
        first = Session(peer, claims(osc_id=b"\x01"), client_id=b"\x51")
        second = Session(peer, claims(osc_id=b"\x02"), client_id=b"\x51")
        for s in (first, second):
            assert code(s.call(GET, "/temp")[1].code) == "2.05"
        renewed = Session(peer, claims(osc_id=b"\x02"), client_id=b"\x51")  # no 5.03
        assert code(renewed.call(GET, "/temp")[1].code) == "2.05"
        assert code(first.call(GET, "/temp")[1].code) == "2.05"
        assert code(second.call(GET, "/temp")[0].code) == "4.01"
    finally:
        peer.close()
