# SPDX-License-Identifier: MIT
"""The cross-signed trust policy ([crypto] trust = cross-signed) against
real matrix-nio peers: a device its owner cross-signed gets the room key
and reads scribe's reply; a device nobody signed gets m.room_key.withheld
(m.unverified) instead and cannot read it; nothing goes out in the clear.
matrix-nio 0.20 cannot cross-sign, so the test signs bob's device itself
with python-olm's PkSigning, as Element would.
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

import harness  # noqa: E402
from harness import check, expect  # noqa: E402

try:
    import olm  # noqa: E402
    from nio.crypto import olm_machine  # noqa: E402
    import nio_peer  # noqa: E402
    from nio_peer import Peer  # noqa: E402
except ImportError as e:
    print("not ok - matrix-nio and python-olm importable: %s" % e)
    sys.exit(1)

S = {}
SCRIBE = nio_peer.SCRIBE

# Every olm payload the nio peers decrypt, to see what scribe puts in
# its to-device messages (nio keeps them to itself).
OLM_PAYLOADS = []
_handle_olm_event = olm_machine.Olm._handle_olm_event


def _record_olm_event(self, sender, sender_key, payload):
    OLM_PAYLOADS.append((sender, payload))
    return _handle_olm_event(self, sender, sender_key, payload)


olm_machine.Olm._handle_olm_event = _record_olm_event


def canonical(obj):
    o = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cross_sign(peer):
    """Give peer's user master and self-signing keys and sign peer's device."""
    uid = peer.uid
    master = olm.PkSigning(olm.PkSigning.generate_seed())
    ssk = olm.PkSigning(olm.PkSigning.generate_seed())
    mk = {"user_id": uid, "usage": ["master"],
          "keys": {"ed25519:" + master.public_key: master.public_key}}
    sk = {"user_id": uid, "usage": ["self_signing"],
          "keys": {"ed25519:" + ssk.public_key: ssk.public_key}}
    sk["signatures"] = {uid: {"ed25519:" + master.public_key: master.sign(canonical(sk))}}
    base = S["hs"].base
    harness.http(base, "POST", "/_matrix/client/v3/keys/device_signing/upload",
                 {"master_key": mk, "self_signing_key": sk}, peer.token)
    q = harness.http(base, "POST", "/_matrix/client/v3/keys/query",
                     {"device_keys": {uid: [peer.device_id]}}, peer.token)
    dev = q["device_keys"][uid][peer.device_id]
    dev.pop("unsigned", None)
    sig = ssk.sign(canonical(dev))
    dev["signatures"][uid]["ed25519:" + ssk.public_key] = sig
    r = harness.http(base, "POST", "/_matrix/client/v3/keys/signatures/upload",
                     {uid: {peer.device_id: dev}}, peer.token)
    expect(not r.get("failures"), "signature upload: %r" % r)


def setup():
    tmp = tempfile.mkdtemp(prefix="scribe-trust-")
    S["tmp"] = tmp
    hs = harness.Homeserver(users=("alice", "bob", "scribe"), workdir=tmp)
    S["hs"] = hs
    sc = harness.Scribe(hs, tmp, extra_conf="trust = cross-signed")
    sc.login()
    S["scribe"] = sc
    sc.start()
    # its keys are on the server before anyone asks for them
    harness.wait_for(lambda: "encryption ready" in sc.stderr(), 30,
                     "scribe's keys to be uploaded")
    S["alice"] = Peer(hs, "alice", tmp)
    S["bob"] = Peer(hs, "bob", tmp)
    cross_sign(S["bob"])
    room = S["alice"].create_room(["@bob:localhost", SCRIBE])
    S["room"] = room
    S["bob"].join(room)
    S["alice"].wait_member(room, SCRIBE, 30)
    S["alice"].wait_member(room, "@bob:localhost")


def cross_signed_device_reads():
    ev = S["alice"].say(S["room"], "!todo only for the verified")
    S["cmd"] = ev
    expect("T1" in S["bob"].reply(ev), "bob's cross-signed device reads the reply")
    expect(nio_peer.encrypted_reply(S["hs"], S["room"], ev)["type"] == "m.room.encrypted",
           "the reply is encrypted")


def unsigned_device_withheld():
    ev = S["cmd"]
    S["alice"].sync(500)
    try:
        S["alice"].replies_to(ev)
    except AssertionError:
        pass  # alice's device has no key: exactly what must happen
    else:
        raise AssertionError("alice's unsigned device read the reply")
    withheld = [r for r in S["hs"].requests() if r["method"] == "PUT"
                and "/sendToDevice/m.room_key.withheld/" in r["path"]]
    expect(withheld, "scribe sent m.room_key.withheld")
    msg = withheld[-1]["body"]["messages"]["@alice:localhost"][S["alice"].device_id]
    expect(msg["code"] == "m.unverified" and msg["room_id"] == S["room"],
           "withheld as m.unverified: %r" % msg)
    expect("@bob:localhost" not in withheld[-1]["body"]["messages"],
           "bob's device is not withheld")
    expect(not nio_peer.plaintext_sends(S["hs"], S["room"]), "no plaintext")


def room_key_has_sender_device_keys():
    keys = [p for (sender, p) in OLM_PAYLOADS if sender == SCRIBE and p["type"] == "m.room_key"]
    expect(keys, "bob's device got a room key from scribe")
    sdk = keys[-1].get("sender_device_keys")
    expect(isinstance(sdk, dict), "sender_device_keys is there: %r" % sorted(keys[-1]))
    expect(sdk.get("user_id") == SCRIBE and sdk.get("device_id") == keys[-1]["sender_device"],
           "they are scribe's own device's: %r" % sdk)
    ed = sdk["keys"]["ed25519:" + sdk["device_id"]]
    expect(ed == keys[-1]["keys"]["ed25519"], "the key the message is signed with")
    olm.ed25519_verify(ed, canonical(sdk), sdk["signatures"][SCRIBE]["ed25519:" + sdk["device_id"]])


def uia_always():
    """Synapse 1.67 asks for the password at every cross-signing upload:
    scribe answers with its password file, at login and at run."""
    tmp = tempfile.mkdtemp(prefix="scribe-trust-uia-")
    hs = harness.Homeserver(users=("alice", "scribe"), workdir=tmp,
                            args=["--uia-signing", "always"])
    sc = harness.Scribe(hs, tmp)
    try:
        out = sc.login()
        hs.login("alice")
        r = hs.call("POST", "/_matrix/client/v3/keys/query",
                    {"device_keys": {SCRIBE: []}}, user="alice")
        dev = list(r["device_keys"][SCRIBE].values())[0]
        ssk = list(r["self_signing_keys"][SCRIBE]["keys"].values())[0]
        expect(r["master_keys"][SCRIBE]["keys"], "a master key was published")
        expect("ed25519:" + ssk in dev["signatures"][SCRIBE],
               "the device is signed by the self-signing key: %r" % dev["signatures"])
        uia = [q for q in hs.requests() if q["path"].endswith("/keys/device_signing/upload")]
        expect(len(uia) == 2 and uia[1]["body"].get("auth", {}).get("type") == "m.login.password",
               "asked, then answered with the password: %r" % [q.get("body", {}).get("auth")
                                                               for q in uia])
        expect("pw-scribe" not in out.stdout + out.stderr, "the password is never logged")
    finally:
        sc.kill()
        hs.stop()


def main():
    try:
        check("trust setup: scribe with trust = cross-signed, bob cross-signed", setup)
        check("trust: a cross-signed device gets the key and reads the reply",
              cross_signed_device_reads)
        check("trust: an unsigned device gets m.room_key.withheld, not the key",
              unsigned_device_withheld)
        check("trust: scribe's room keys carry its signed device keys (MSC4147)",
              room_key_has_sender_device_keys)
        check("trust: a server asking for the password at every cross-signing upload "
              "(Synapse 1.67) gets it", uia_always)
    finally:
        nio_peer.teardown(S, ("alice", "bob"))
    harness.finish()


if __name__ == "__main__":
    main()
