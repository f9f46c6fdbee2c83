"""An AS config directory for the host tests: keys made by `keys.new_key`, client secrets in
0600 files, and the TOML that `authz_server.Config.load` reads."""

from pathlib import Path

from microace_host import keys

AUDIENCE = "coap://rs1.example"
ISSUER = "coap://as.example"


def write_config(directory, alg="ES256", form="encrypt0+sign1", expiration="exp", extra=""):
    """Make keys and secrets in `directory` and write as.toml -> its Path.

    Files: keys/as-sign.cose (alg), keys/rs1-enc.cose (A128CCM), keys/rs1-mac.cose (HS256),
    secrets/client1.secret, secrets/client2.secret, secrets/rs1.secret.
    """
    d = Path(directory)
    keys.new_key(alg, d / "keys", kid=b"as-1", name="as-sign")
    keys.new_key("A128CCM", d / "keys", kid=b"rs1-enc", name="rs1-enc")
    keys.new_key("HS256", d / "keys", kid=b"rs1-mac", name="rs1-mac")
    (d / "secrets").mkdir(mode=0o700)
    for name, secret in (("client1", b"s3cret-one\n"), ("client2", b"s3cret-two"),
                         ("rs1", b"rs-introspect")):
        keys.write_secret_file(d / "secrets" / (name + ".secret"), secret)
    config = d / "as.toml"
    config.write_text('''issuer = "%s"
signing_key = "keys/as-sign.cose"
token_lifetime = 600
expiration = "%s"

[[rs]]
audience = "%s"
token_form = "%s"
encryption_key = "keys/rs1-enc.cose"
mac_key = "keys/rs1-mac.cose"
introspection_secret_file = "secrets/rs1.secret"

[[rs]]
audience = "coap://rs2.example"
token_form = "encrypt0"
encryption_key = "keys/rs1-enc.cose"

[[client]]
id = "client1"
secret_file = "secrets/client1.secret"

[[client]]
id = "client2"
secret_file = "secrets/client2.secret"

[[policy]]
client = "client1"
audience = "%s"
aif = [["/temp", 1], ["/led", 5]]

[[policy]]
client = "client2"
audience = "%s"
scopes = ["read_temp", "led"]

[[policy]]
client = "client2"
audience = "coap://rs2.example"
aif = [["/temp", 1]]
%s''' % (ISSUER, expiration, AUDIENCE, form, AUDIENCE, AUDIENCE, extra))
    return config


def rs_key(directory):
    return keys.load_cose_key(Path(directory) / "keys" / "rs1-enc.cose")


def as_public_key(directory):
    return keys.verification_key(keys.load_cose_key(Path(directory) / "keys" / "as-sign.cose"))


JWT_AUDIENCE = "coap://rs3.example"
JWT_RS = '''
[[rs]]
audience = "%s"
token_format = "jwt"
encryption_key = "keys/rs3-kw.cose"

[[policy]]
client = "client1"
audience = "%s"
aif = [["/temp", 1]]
''' % (JWT_AUDIENCE, JWT_AUDIENCE)


def write_jwt_config(directory):
    """write_config plus an RS that takes nested JWTs: keys/rs3-kw.cose (A128KW, kid rs3-kw)."""
    keys.new_key("A128KW", Path(directory) / "keys", kid=b"rs3-kw", name="rs3-kw")
    return write_config(directory, extra=JWT_RS)


def kw_key(directory):
    return keys.load_cose_key(Path(directory) / "keys" / "rs3-kw.cose")
