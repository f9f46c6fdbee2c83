"""Hostile Block1 uploads (RFC 7959) to /authz-info: bad sizes, huge block numbers and Size1
(4.13 with Size1), missing and out-of-order blocks (4.08), interleaved transfers, and the cap
on open transfers (5.03 with Max-Age). Idle transfers time out: the firmware test
tests/firmware/test_coap_server.py::test_block1_transfers_are_bounded_and_time_out shows it
with a short timeout (the RS keeps them 60 s)."""

import os

import cbor2
import pytest

from tests.support.rs_peer import Peer, claims, mint
from tests.support.coap_wire import (BLOCK1, CONTENT_FORMAT, POST, REQUEST_TAG, SIZE1, authz_body,
                                     code, datagram, path, reply, uint)

MAX_BODY = 2048


def block(num, more, szx, payload, tag=None, size1=None):
    options = path("authz-info") + [(CONTENT_FORMAT, uint(19)),
                                    (BLOCK1, uint(num << 4 | more << 3 | szx))]
    if tag is not None:
        options.append((REQUEST_TAG, tag))
    if size1 is not None:
        options.append((SIZE1, uint(size1)))
    return datagram(POST, options, payload)


def body():
    """An authz-info body of 513..1024 bytes: two 512-byte blocks (SZX 5)."""
    b = authz_body(mint(claims(sub="s" * 400)), client_id=os.urandom(2))
    assert 512 < len(b) <= 1024
    return b


@pytest.mark.parametrize("num,more,szx,size,size1,want", [
    (0, 1, 7, 1024, None, "4.00"),  # SZX 7 is reserved (BERT only over TCP)
    (0, 1, 0, 15, None, "4.00"),  # a block that is not the last must be full
    (0, 0, 0, 17, None, "4.00"),  # no block is larger than its size
    (0xFFFFF, 1, 6, 1024, None, "4.13"),  # the largest block number: far past 2048 bytes
    (2, 1, 6, 1024, None, "4.13"),  # offset 2048: past the body the RS takes
    (0, 1, 0, 16, 2049, "4.13"),  # Size1 one byte too large
    (0, 1, 0, 16, 0xFFFFFFFF, "4.13"),  # Size1 at its maximum
    (1, 1, 4, 256, None, "4.08"),  # block 1 of a transfer that never started
    (7, 0, 0, 3, None, "4.08"),  # the last block of a transfer that never started
], ids=["szx-7", "short-block", "long-block", "num-2^20-1", "offset-2048", "size1-2049",
        "size1-max", "missing-first", "last-without-first"])
def test_bad_block_is_refused(peer, num, more, szx, size, size1, want):
    response = reply(peer, block(num, more, szx, os.urandom(size), size1=size1))
    assert code(response.code) == want
    if want == "4.13":
        assert response.opt.size1 == MAX_BODY  # §2.9.3: the largest body the RS takes


def test_out_of_order_block_is_4_08_and_ends_the_transfer(peer):
    b = body()
    assert code(reply(peer, block(0, 1, 5, b[:512])).code) == "2.31"
    assert code(reply(peer, block(2, 0, 5, b[:16])).code) == "4.08"  # block 1 skipped
    assert code(reply(peer, block(1, 0, 5, b[512:])).code) == "4.08"  # the transfer is gone
    # A new transfer from block 0 goes through.
    assert code(reply(peer, block(0, 1, 5, b[:512])).code) == "2.31"
    assert code(reply(peer, block(1, 0, 5, b[512:])).code) == "2.01"


def test_repeated_block_is_4_08(peer):
    b = body()
    assert code(reply(peer, block(0, 1, 4, b[:256])).code) == "2.31"
    assert code(reply(peer, block(1, 1, 4, b[256:512])).code) == "2.31"
    assert code(reply(peer, block(1, 1, 4, b[256:512])).code) == "4.08"  # not the next offset


def test_interleaved_transfers_each_get_their_own_body(peer, rs):
    other = Peer(rs)
    try:
        a, b = body(), body()
        for num in (0, 1):
            more = 1 - num
            for p, data in ((peer, a), (other, b)):
                response = reply(p, block(num, more, 5, data[512 * num:512 * (num + 1)]))
                assert code(response.code) == ("2.31" if more else "2.01")
                if not more:
                    assert sorted(cbor2.loads(response.payload)) == [42, 44]
    finally:
        other.close()


def test_request_tags_keep_transfers_of_one_client_apart(peer):
    a, b = body(), body()
    for num in (0, 1):
        for tag, data in ((b"a", a), (b"b", b)):
            response = reply(peer, block(num, 1 - num, 5, data[512 * num:512 * (num + 1)], tag))
            assert code(response.code) == ("2.31" if num == 0 else "2.01")


def test_open_transfers_are_capped_with_5_03_and_max_age(peer, rs):
    holders = [Peer(rs), Peer(rs)]
    try:
        for p in holders:
            assert code(reply(p, block(0, 1, 4, bytes(256))).code) == "2.31"
        refused = reply(peer, block(0, 1, 4, bytes(256)))
        assert code(refused.code) == "5.03" and 0 < refused.opt.max_age <= 60
        # A body in one block needs no reassembly state: it is still served.
        whole = reply(peer, block(0, 0, 6, authz_body(b"x" * 8)))
        assert code(whole.code) == "4.00"  # not a token, but it reached /authz-info
    finally:
        for p in holders:  # a wrong block ends each transfer: the table is free again
            assert code(reply(p, block(5, 0, 4, b"x")).code) == "4.08"
            p.close()
    assert code(reply(peer, block(0, 1, 4, bytes(256))).code) == "2.31"
    assert code(reply(peer, block(5, 0, 4, b"x")).code) == "4.08"
