"""The key store's provisioning side (keystore/persistent.py's PersistentKeyStore `ks`): what
it holds (status), provisioning, sealing, adding and removing keys, the record's write.

Loaded on use: a board serving tokens needs none of it but status() at start-up, so app.py
drops it after start (where the firmware is loaded as .mpy files its code is heap:
docs/BENCHMARKS.md, "The board proxy"). PersistentKeyStore's methods of the same names call
these; the checks are the store's (bundle.py checks a bundle in full before one write).
"""

from microace import cose
from microace.errors import KeyStoreError
from microace.keystore import fingerprint, hex_kid, record


def status(ks):
    """What the store holds and how it is protected: never key bytes."""
    s = ks._state
    keys = []
    for h, (key, table) in zip(ks._handles, ks._keys):
        keys.append({"kid": hex_kid(h.kid), "alg": h.alg, "kty": h.kty, "issuer": h.issuer,
                     "fingerprint": fingerprint(key), "table": table is not None})
    st = {"backend": "atecc608" if ks._chip else ks._medium.name,
          "protection": ks.describe(),
          "sealed": bool(s and s["sealed"]), "gen": s["gen"] if s else 0,
          "keys": keys, "config": s["config"] if s else None}
    if s and "own" in s:  # the board's EDHOC key (keystore/edhoc_record.py)
        from microace.keystore import edhoc_record

        st["edhoc"] = edhoc_record.status(s["own"], ks._chip, ks._medium)
    return st


def provision(ks, bundle, proof=None):
    """Make the store hold what `bundle` says (see bundle.py) -> status().

    Nothing is written when the bundle is refused or changes nothing. A sealed store takes
    a different bundle only with proof = bundle.proof(owner, bundle, challenge()), and
    stays sealed.
    """
    from microace.keystore import bundle as bundles

    challenge, ks._challenge = ks._challenge, None  # single use, whatever happens
    old = ks._state
    state, keys = bundles.state(bundle, old, lambda key: _stored_table(ks, key))
    if old is not None:
        if "own" in old:  # the board's EDHOC key outlives re-provisioning
            state["own"] = old["own"]
        state["gen"] = old["gen"]
        state["sealed"] = old["sealed"]
        if state == old:
            return status(ks)  # idempotent: the store already holds this
        if old["sealed"]:
            bundles.check_proof(old["owner"], bundle, proof, challenge)
    if ks._chip is not None:
        _to_chip(ks, keys)
    write(ks, state, keys)
    return status(ks)


def seal(ks):
    """Refuse every change from now on, except an authenticated provision()."""
    s = _provisioned(ks, "seal")
    if ks._in_chip is not None:
        ks._chip.lock_slot(ks._chip.slot)  # for good: the AS key cannot be swapped
    if not s["sealed"]:
        s = dict(s)
        s["sealed"] = True
        write(ks, s)
    if ks._chip is not None:  # after the sealed record is written: a locked MAC key
        ks._chip.lock_mac_slot()  # with an unsealed record is a rollback
    return status(ks)


def put(ks, key, issuer=None, table=None):
    """Add one key (COSE_Key bytes) in provisioning mode -> its status entry."""
    from microace.keystore import bundle as bundles

    s = open_for(ks, "put")
    entry, parsed = bundles.entry(len(s["keys"]), {"key": key, "iss": issuer, "table": table},
                                  lambda k: _stored_table(ks, k))
    if ks.lookup(parsed.kid) is not None:
        raise KeyStoreError("kid %s is already in the store" % hex_kid(parsed.kid))
    s = dict(s)
    s["keys"] = s["keys"] + [entry]
    write(ks, s, [k for k, _ in ks._keys] + [parsed])
    return status(ks)["keys"][-1]


def erase(ks, kid):
    """Remove the key with `kid` in provisioning mode."""
    s = open_for(ks, "erase")
    h = ks.lookup(kid) if kid else None
    if h is None:
        raise KeyStoreError("no key with kid %s" % hex_kid(kid))
    keep = [i for i in range(len(ks._keys)) if i != h.slot]
    s = dict(s)
    s["keys"] = [s["keys"][i] for i in keep]
    write(ks, s, [ks._keys[i][0] for i in keep])


def list_keys(ks):
    """The status entries of the keys, in provisioning mode."""
    open_for(ks, "list")
    return status(ks)["keys"]


def _provisioned(ks, what):
    if ks._state is None:
        raise KeyStoreError("%s: the store is not provisioned" % what)
    return ks._state


def open_for(ks, what):
    s = _provisioned(ks, what)
    if s["sealed"]:
        raise KeyStoreError("store is sealed: %s is refused (re-provision with a proof)"
                            % what)
    return s


def _to_chip(ks, keys):
    """Put the ES256 key into the chip unless it is there already (a locked slot with
    another key refuses: KeyStoreError, and nothing is written)."""
    es256 = [k for k in keys if k.alg == cose.ALG_ES256]
    if len(es256) > 1:
        raise KeyStoreError("the ATECC608 holds one ES256 key, the bundle has %d"
                            % len(es256))
    if es256 and es256[0].public != ks._chip_key():
        x, y = es256[0].public
        ks._chip.provision_public_key(ks._chip.slot, x.to_bytes(32, "big"),
                                      y.to_bytes(32, "big"))


def _stored_table(ks, key):
    """The table already stored for this ES256 key: building one takes a while on a board."""
    if ks._state is not None:
        for (k, _), entry in zip(ks._keys, ks._state["keys"]):
            if entry["table"] is not None and k.public == key.public:
                return entry["table"]
    return None


def write(ks, state, keys=None):
    """Store `state` as the next generation, then serve it (keys: its cose.Keys, or None
    when they did not change)."""
    state["gen"] = (ks._state["gen"] if ks._state else 0) + 1
    packed = state if ks._chip is None else ks._chip.maced(state, ks._state is None)
    try:
        ks._medium.write(record.pack(packed))
    except OSError as e:
        raise KeyStoreError("cannot write the store: %s" % e)
    if keys is None:
        ks._state = state
    else:
        ks._install(state, keys, True)  # its tables: built, loaded or checked here
