# SPDX-License-Identifier: MIT
"""E2EE interop with Element's crypto stack: the real `scribe` binary and
matrix-js-sdk 43 with its Rust crypto (vodozemac), the code Element Web
runs, as the other member of an encrypted room. Every other peer of the
suite is matrix-nio on libolm, the library scribe itself uses, so this
is where a shape only the Rust crypto sends, or a trust rule only it
enforces, shows up.

One conversation, checked step by step: alice (an Element-like user who
set up cross-signing at first login) talks to scribe; then she turns on
"exclude insecure devices"; then scribe's cross-signing identity is
replaced behind its back, so its device is no longer signed by its
owner and alice's client withholds the room key from it.

The homeserver is the test homeserver by default; SCRIBE_TEST_HS=synapse
runs the same conversation against tests/synapse/synapse.py's Synapse
(same shape as harness.Homeserver) when that is present.
"""
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

import harness  # noqa: E402
from harness import check, expect, wait_for  # noqa: E402

import element_peer  # noqa: E402
from element_peer import ElementPeer  # noqa: E402

S = {}
USERS = ("alice", "scribe")


def make_homeserver(workdir):
    """The test homeserver, or a real Synapse (tests/synapse/synapse.py)
    when SCRIBE_TEST_HS=synapse: the harness's switch where it has one."""
    new = getattr(harness, "new_homeserver", None)
    if new is not None:
        return new(users=USERS, workdir=workdir)
    if os.environ.get("SCRIBE_TEST_HS", "hs") != "synapse":
        return harness.Homeserver(users=USERS, workdir=workdir)
    path = os.path.join(os.path.dirname(HERE), "synapse", "synapse.py")
    if not os.path.exists(path):
        raise RuntimeError("SCRIBE_TEST_HS=synapse but %s is missing" % os.path.relpath(path))
    spec = importlib.util.spec_from_file_location("scribe_test_synapse", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Synapse(users=USERS, workdir=workdir)


def canonical(obj):
    o = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def http(method, path, body=None, token=None):
    hs = S["hs"]
    return harness.http(hs.base, method, path, body, token, ctx=getattr(hs, "ctx", None))


def scribe_device():
    m = re.search(r"encryption ready: device (\S+),", S["scribe"].stderr())
    expect(m, "scribe logged its device id")
    return m.group(1)


def scribe_uid():
    return S["hs"].uid("scribe")


def bot_events(room):
    return S["alice"].seen(room=room, sender=scribe_uid())


# ---------------------------------------------------------------------------

def setup():
    tmp = tempfile.mkdtemp(prefix="scribe-element-")
    S["tmp"] = tmp
    S["hs"] = hs = make_homeserver(tmp)
    sc = harness.Scribe(hs, tmp)
    sc.login()
    S["scribe"] = sc
    sc.start()
    # its keys are on the server before anyone asks for them
    wait_for(lambda: "encryption ready" in sc.stderr(), 30, "scribe's keys to be uploaded")
    alice = ElementPeer(hs, "alice", tmp)
    S["alice"] = alice
    print("# element peer: %s" % alice.crypto_version, flush=True)
    alice.bootstrap_cross_signing()
    room = alice.create_room([scribe_uid()])
    S["room"] = room
    alice.wait_member(room, scribe_uid(), 30)


def todo_roundtrip():
    alice, room = S["alice"], S["room"]
    ev = alice.say(room, "!todo @alice ship the element peer")
    S["first_cmd"] = ev
    rep = alice.reply(ev, scribe_uid())
    S["first_reply"] = rep
    expect(rep["encrypted"], "the reply was encrypted: %r" % rep)
    expect(rep["etype"] == "m.room.message" and "T1" in (rep["body"] or ""),
           "the reply names T1: %r" % rep)
    recs = [r for r in S["scribe"].records() if r["event_id"] == ev]
    expect(len(recs) == 1 and recs[0]["text"] == "ship the element peer" and
           recs[0]["assignees"] == [alice.uid] and recs[0]["author"] == alice.uid,
           "T1 recorded from the decrypted command: %r" % recs)
    # scribe copies m.relates_to to the cleartext, where Element reads the
    # reply from (E2EE.md, sending); the encrypted copy must not disagree
    expect(rep["clear_in_reply_to"] in (None, ev),
           "the encrypted reply's relation matches the cleartext: %r" % rep)


def scribe_signed_by_owner():
    alice = S["alice"]
    dev = scribe_device()
    S["scribe_device"] = dev
    st = alice.devices(scribe_uid())
    expect(dev in st["devices"], "alice's crypto knows scribe's device %s: %r" % (dev, st))
    status = alice.device_status(scribe_uid(), dev)
    expect(status and status["signedByOwner"],
           "scribe's device is signed by its owner as Element sees it: %r" % status)
    print("# scribe's device as Element sees it: %s" % json.dumps(status, sort_keys=True),
          flush=True)
    # the shield as Element draws it beside scribe's reply, now that
    # scribe's cross-signing keys are known
    info = alice.event_info(S["first_reply"]["event_id"])
    expect(info.get("known"), "alice still has scribe's reply")
    expect(info["shield"] != "RED" and
           info["shield_reason"] not in ("UNSIGNED_DEVICE", "UNKNOWN_DEVICE"),
           "no red shield on scribe's reply: %s (%s)" % (info["shield"], info["shield_reason"]))


def strict_mode_still_answered():
    alice, room = S["alice"], S["room"]
    alice.isolation("strict")
    ev = alice.say(room, "!todo @alice keys only for signed devices")
    rep = alice.reply(ev, scribe_uid())
    expect("T2" in (rep["body"] or ""), "the reply names T2: %r" % rep)
    recs = [r for r in S["scribe"].records() if r["event_id"] == ev]
    expect(len(recs) == 1, "T2 recorded: %r" % recs)
    expect("room key withheld" not in S["scribe"].stderr(),
           "nothing withheld from scribe: %s" % withheld_lines())


def withheld_lines():
    return [ln for ln in S["scribe"].stderr().splitlines() if "withheld" in ln]


def reset_scribe_identity():
    """New master and self-signing keys for @scribe, uploaded from a
    second login as someone resetting the account's cross-signing would:
    scribe's device keeps its keys but is no longer signed by its owner,
    and scribe is not told (it cross-signs only once)."""
    import olm  # python3-olm, as tests/e2ee/test_trust.py signs with it
    uid = scribe_uid()
    login = http("POST", "/_matrix/client/v3/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "scribe"},
        "password": "pw-scribe", "initial_device_display_name": "reset"})
    tok = login["access_token"]
    master = olm.PkSigning(olm.PkSigning.generate_seed())
    ssk = olm.PkSigning(olm.PkSigning.generate_seed())
    mk = {"user_id": uid, "usage": ["master"],
          "keys": {"ed25519:" + master.public_key: master.public_key}}
    sk = {"user_id": uid, "usage": ["self_signing"],
          "keys": {"ed25519:" + ssk.public_key: ssk.public_key}}
    sk["signatures"] = {uid: {"ed25519:" + master.public_key: master.sign(canonical(sk))}}
    body = {"master_key": mk, "self_signing_key": sk}
    try:
        http("POST", "/_matrix/client/v3/keys/device_signing/upload", body, tok)
    except harness.HTTPError as e:
        # Synapse asks for the password when the account has keys
        if e.status != 401 or not isinstance(e.body, dict):
            raise
        body["auth"] = {"type": "m.login.password", "session": e.body.get("session"),
                        "identifier": {"type": "m.id.user", "user": "scribe"},
                        "password": "pw-scribe"}
        http("POST", "/_matrix/client/v3/keys/device_signing/upload", body, tok)
    http("POST", "/_matrix/client/v3/logout", {}, tok)


def withheld_when_unsigned():
    alice, room, sc = S["alice"], S["room"], S["scribe"]
    dev = S["scribe_device"]
    reset_scribe_identity()
    # alice's client learns of the new identity through device_lists
    wait_for(lambda: not (alice.device_status(scribe_uid(), dev) or
                          {"signedByOwner": True})["signedByOwner"], 30,
             "alice's crypto to see scribe's device unsigned", interval=0.3)
    before = len(sc.records())
    ev = alice.say(room, "!todo @alice this must stay unread")
    S["withheld_cmd"] = ev
    lines = wait_for(withheld_lines, 30, "scribe to log the withheld room key", interval=0.2)
    # give scribe the time it needs to answer, were it to answer
    time.sleep(3 * harness.SLOW)
    expect(not alice.replies_to(ev, scribe_uid()), "scribe answered a command it cannot read: %r"
           % alice.replies_to(ev, scribe_uid()))
    expect(len(sc.records()) == before and
           not [r for r in sc.records() if r["event_id"] == ev],
           "nothing recorded from the withheld command")
    clear = [e for e in bot_events(room) if not e["encrypted"]]
    expect(not clear, "scribe posted in clear in the encrypted room: %r" % clear)
    try:
        log = S["hs"].requests()
    except NotImplementedError:
        log = []  # Synapse has no request log; the room's events above suffice
    # the test homeserver's request log: not even a refused attempt
    plain = [p for p in (urllib.parse.unquote(r["path"]) for r in log if r["method"] == "PUT")
             if "/send/m.room.message/" in p and room in p]
    expect(not plain, "plaintext sends seen by the homeserver: %r" % plain)
    line = lines[-1]
    expect(room in line and alice.uid in line,
           "the log names the room and the sender: %r" % line)
    expect("m.unverified" in line, "the log gives the withheld code m.unverified: %r" % line)
    expect("unverified devices" in line and "warning" in line,
           "a warning with the sender's reason in words: %r" % line)


def report_refused():
    """Not a check: which requests of matrix-js-sdk the homeserver
    refused, for whoever extends it."""
    alice = S.get("alice")
    if alice is None:
        return
    for method, path, status in alice.refused_requests():
        print("# homeserver refused %s %s -> %s" % (method, path, status), flush=True)


def teardown():
    import shutil
    import signal
    if "alice" in S:
        try:
            S["alice"].close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    if "scribe" in S:
        S["scribe"].kill(signal.SIGTERM)
    if "hs" in S:
        S["hs"].stop()
    if "tmp" in S:
        if os.environ.get("SCRIBE_KEEP_TMP") is None:
            shutil.rmtree(S["tmp"], ignore_errors=True)
        else:
            print("# kept %s" % S["tmp"], flush=True)


def main():
    why = element_peer.available()
    if why:
        # the peer is part of the suite: its absence fails
        print("not ok - Element peer installed: %s" % why)
        sys.exit(1)
    try:
        check("element setup: scribe, an Element user with cross-signing, an encrypted room",
              setup)
        if "room" not in S:
            harness.finish()
        check("element: a !todo from Element is decrypted, recorded, and the reply decrypts",
              todo_roundtrip)
        check("element: scribe's device is signed by its owner, its reply has no red shield",
              scribe_signed_by_owner)
        check("element: with OnlySignedDevicesIsolationMode scribe still gets the key and answers",
              strict_mode_still_answered)
        check("element: a key withheld from scribe is logged with its reason, nothing in clear",
              withheld_when_unsigned)
    finally:
        report_refused()
        teardown()
    harness.finish()


if __name__ == "__main__":
    main()
