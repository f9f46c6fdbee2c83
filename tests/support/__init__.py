"""What the tests share, one home each: the MicroPython harness (mp_harness), the public test
vectors (vectors, edhoc_vectors), the token factories (tokenfactory, jwtfactory), the RS
process and its raw-UDP peer (rs_peer) and raw CoAP datagrams (coap_wire). conftest.py files
hold fixtures only; tests and bench/ import these modules."""
