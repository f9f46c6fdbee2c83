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

H = bytes.fromhex
SK_R = H("72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac")
SK_I = H("fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b")
CRED_R = H("a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad"
           "2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7a"
           "fda64fcde0108c224c51eabf6072")
CRED_I = H("a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820"
           "ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de61138"
           "8a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8")


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
