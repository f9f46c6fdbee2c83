"""The EDHOC fields of the key store record: "own", the board's own static DH key for EDHOC
(RFC 9528 methods 1 and 3), and config "edhoc", the Initiators trusted without an AS.

Made, checked, shown and used here, without the store: persistent.py shows the key in
status() and bundle.py checks config "edhoc" through these functions, and keystore/own.py's
EdhocKeyStore keeps and uses the key. Loaded only where a record or a bundle has them.

    own = {"kid": bytes, "sub": text, "x": 32 bytes, "y": 32 bytes, "d": 32 bytes or None}
"""

from microace import cose
from microace.errors import KeyStoreError, MicroaceError
from microace.keystore import Handle, fingerprint


def generate(chip, kid, sub):
    """A new key -> its "own" record entry; in the chip when it has an edhoc_slot."""
    if type(kid) is not bytes or not kid or type(sub) is not str or not sub:
        raise KeyStoreError("generate needs a kid (bytes) and a sub (text)")
    slot = getattr(chip, "edhoc_slot", None) if chip else None
    if slot is not None:
        x, y = chip.generate_private_key(slot)
        d = None
    else:
        from microace.crypto import ecdh

        k = ecdh.generate_scalar()
        public = ecdh.public_bytes(k)
        x, y, d = public[:32], public[32:], k.to_bytes(32, "big")
    return {"kid": kid, "sub": sub, "x": bytes(x), "y": bytes(y), "d": d}


def handle(own):
    h = Handle(None, own["kid"], None, cose.KTY_EC2)
    h.public = (int.from_bytes(own["x"], "big"), int.from_bytes(own["y"], "big"))
    h.sub = own["sub"]
    return h


def credential(own):
    from microace import ccs

    return ccs.build(own["sub"], own["kid"], own["x"], own["y"])


def status(own, chip, medium):
    """What doctor shows of the key: never the private part."""
    why = shape_problem(own)
    if why:
        return {"kid": "-", "sub": "-", "fingerprint": "-", "where": why}
    where = "ATECC608 slot %d (never leaves the chip)" % chip.edhoc_slot if own["d"] is None \
        else "%s medium (%s)" % (medium.name, medium.describe())
    return {"kid": own["kid"].hex(), "sub": own["sub"],
            "fingerprint": fingerprint(cose.Key(cose.KTY_EC2, own["kid"], None,
                                                handle(own).public)),
            "where": where}


def shape_problem(own):
    """Why a record's "own" entry is malformed, or None."""
    ok = (isinstance(own, dict) and len(own) == 5 and type(own.get("kid")) is bytes
          and type(own.get("sub")) is str
          and all(type(own.get(c)) is bytes and len(own[c]) == 32 for c in ("x", "y"))
          and (own.get("d") is None or (type(own["d"]) is bytes and len(own["d"]) == 32)))
    return None if ok else "EDHOC key entry has the wrong shape"


def edhoc_config(e, fields):
    """The bundle's config "edhoc", checked (fields: bundle.py's map check, passed down):
    "clients", the Initiators accepted without an AS, each a CCS with the scope it gets (text
    or AIF bytes, as a token's). Empty accepts nobody; the RS never trusts a credential on
    first use."""
    from microace import ccs, scope

    fields(e, ("clients",), "config edhoc")
    clients = e.get("clients")
    if clients is None:
        clients = []
    if type(clients) is not list:
        raise KeyStoreError("config edhoc clients must be an array")
    kids = []
    for i, c in enumerate(clients):
        fields(c, ("cred", "scope"), "edhoc client")
        try:
            if type(c.get("cred")) is not bytes:
                raise KeyStoreError("needs cred: CCS bytes")
            kid = ccs.parse(c["cred"]).kid
            if type(c.get("scope")) not in (str, bytes) or not c["scope"]:
                raise KeyStoreError("needs a scope (text or AIF bytes)")
            if type(c["scope"]) is bytes:
                scope.permissions(c["scope"])
        except MicroaceError as exc:
            raise KeyStoreError("edhoc client %d: %s" % (i, exc))
        if kid in kids:
            raise KeyStoreError("edhoc client %d: kid %s is used twice" % (i, kid.hex()))
        kids.append(kid)
    return {"clients": [{"cred": c["cred"], "scope": c["scope"]} for c in clients]}
