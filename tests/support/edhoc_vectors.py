"""RFC 9529 Trace 2 (method 3, suite 2, CCS identified by kid) and the invalid messages of
RFC 9529 §4, as hex; shared by the EDHOC tests."""

H = bytes.fromhex

# §3.1 message_1, first time: SUITES_I = 6 -> error (ERR_CODE 2, SUITES_R 2)
MESSAGE_1_FIRST = H("0306582074 1a13d7ba048fbb615e94386aa3b61bea5b3d8f65f32620b749bee8d278efa9 0e"
                    .replace(" ", ""))
ERROR_SUITES = H("0202")
MESSAGE_1 = H("03820602 5820 8af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3b6 37"
              .replace(" ", ""))
Y = H("e2f41267 77205e85 3b437d6e aca1e1f7 53cdcc3e 2c69fa88 4b0a1a64 0977e418".replace(" ", ""))
C_R = H("27")
SK_R = H("72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac")
SK_I = H("fb13adeb6518cee5f884176608 41142e830a81fe334380a953406a1305e8706b".replace(" ", ""))
CRED_R = H(
    "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a2341"
    "48ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0"
    "108c224c51eabf6072")
CRED_I = H(
    "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9"
    "ece3e50bfc8ed6039988952240 5c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211"
    "334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8".replace(" ", ""))
MESSAGE_2 = H(
    "582b419701d7f00a26c2dc587a36dd752549f33763c893422c8ea0f955a13a4ff5d59862a1eef9e0e7e188"
    "6fcd")
MESSAGE_3 = H("52e562097bc417dd5919485ac7891ffd90a9fc")
MESSAGE_4 = H("4828c966b7ca304f83")
TH_3 = H("adaf67a78a4bcc91e018f8882762a722000b2507039df0bc1bbf0c161bb3155c")
K_3 = H("8e7a30042000f7900e8174131f75f3ed")
IV_3 = H("6d8300c1e23b56153ae70ee457")
PLAINTEXT_3 = H("2b48623c91df41e34c2f")
PRK_OUT = H("2c71afc1a9338a940bb3529ca734b886f30d1aba0b4dc51beeaeabdfea9ecbf8")
OSCORE_SECRET = H("f9868f6a3aca78a05d1485b35030b162")
OSCORE_SALT = H("ada24c7dbfc85eeb")
OSCORE_SENDER_ID = H("37")  # the server's (Responder's): C_I
OSCORE_RECIPIENT_ID = H("27")  # C_R

# §4: invalid message_1 (the Responder's side of each)
INVALID_MESSAGE_1 = [
    ("surplus array encoding of message", "8403025820741a13d7ba048fbb615e94386aa3b61bea5b3d8f65f3"
     "2620b749bee8d278efa90e"),
    ("surplus bstr encoding of connection identifier", "03025820741a13d7ba048fbb615e94386aa3b6"
     "1bea5b3d8f65f32620b749bee8d278efa9410e"),
    ("surplus array encoding of ciphersuite", "0381025820741a13d7ba048fbb615e94386aa3b61bea5b3d"
     "8f65f32620b749bee8d278efa90e"),
    ("text string encoding of ephemeral key", "0302782020616972207370656564206F66206120756E6C"
     "6164656E207377616C6C6F77200e"),
    ("error in length of ephemeral key", "0382021818 5820741a13d7ba048fbb615e94386aa3b61bea5b3d"
     "8f65f32620b749bee8d278efa90e"),
    ("error in elliptic curve representation", "03025820ffffffff00000001000000000000000000000"
     "000ffffffffffffffffffffffff0e"),
    ("error in elliptic curve point", "03025820a04e73601df544a70ba7ea1e57030f7d4b4eb7f673924e58"
     "d54ca77a5e7d4d4a0e"),
    ("curve point of low order", "03005820edffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ffffffffff7f0e"),
    ("error in elliptic curve encoding", "0302581fd9697725d23a688b12d1c7e0108a08c9f71a85a09c20"
     "814976ab21122248fc0e"),
    ("unnecessary long encoding", "1900030258 20741a13d7ba048fbb615e94386aa3b61bea5b3d8f65f326"
     "20b749bee8d278efa90e"),
    ("indefinite-length array encoding", "039F0602FF5820741a13d7ba048fbb615e94386aa3b61bea5b3d"
     "8f65f32620b749bee8d278efa90e"),
]
INVALID_MESSAGE_1 = [(what, H(hx.replace(" ", ""))) for what, hx in INVALID_MESSAGE_1]
