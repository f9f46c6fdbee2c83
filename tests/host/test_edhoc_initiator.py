"""The host's EDHOC Initiator (microace_host.edhoc_initiator) against lakers-python's
Responder wherever lakers is right (contexts under 256 bytes, see docs/SECURITY.md): method 3
with RFC 9529 Trace 2's static keys, with and without a short EAD_3 item; both sides derive
the same PRK_out (the exporter's OSCORE secret and salt), and lakers accepts our MAC_3. The
Trace 2 byte-for-byte check is tests/firmware/test_edhoc.py::test_initiator_reproduces_trace_2.
"""

import cbor2
import pytest

from microace_host.edhoc_initiator import Initiator

lakers = pytest.importorskip("lakers", reason="needs lakers-python (requirements.txt)")

from tests.support.edhoc_vectors import CRED_I, CRED_R, SK_I, SK_R  # noqa: E402  (RFC 9529 Trace 2)

@pytest.mark.parametrize("ead_3", [b"", cbor2.dumps(98) + cbor2.dumps(b"\x02\x03")])
def test_lakers_responder_accepts_our_initiator(ead_3):
    i = Initiator(SK_I, CRED_I, c_i=b"\x0e", ead_3=ead_3)
    r = lakers.EdhocResponder(SK_R, CRED_R)
    r.process_message_1(i.message_1())
    m2 = r.prepare_message_2(lakers.CredentialTransfer.ByReference, None, None)
    i.message_2(m2, CRED_R)  # MAC_2 from lakers verifies here
    m3 = i.message_3()
    id_cred_i, ead = r.parse_message_3(m3)
    prk_out = r.verify_message_3(lakers.credential_check_or_fetch(id_cred_i, CRED_I))
    assert bytes(prk_out) == i.prk_out
    r.completed_without_message_4()
    secret, salt, _, _ = i.oscore()
    assert bytes(r.edhoc_exporter(0, [], 16)) == secret
    assert bytes(r.edhoc_exporter(1, [], 8)) == salt
    if ead_3:
        assert [(e.label(), bytes(e.value())) for e in ead] == [(98, b"\x02\x03")]


def test_a_wrong_mac_3_is_refused_by_lakers():
    i = Initiator(SK_I, CRED_I, c_i=b"\x0e")
    r = lakers.EdhocResponder(SK_R, CRED_R)
    r.process_message_1(i.message_1())
    i.message_2(r.prepare_message_2(lakers.CredentialTransfer.ByReference, None, None), CRED_R)
    id_cred_i, _ = r.parse_message_3(i.message_3(mac_override=bytes(8)))
    with pytest.raises(Exception):
        r.verify_message_3(lakers.credential_check_or_fetch(id_cred_i, CRED_I))
