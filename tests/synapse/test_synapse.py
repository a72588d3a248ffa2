# SPDX-License-Identifier: MIT
"""The real scribe binary against a real, current Synapse (Debian sid's
matrix-synapse, see synapse.py): what the protocol tests check against
the test homeserver, done where it matters that the server is the one
people run. One Synapse for the whole file, a room per concern:
commands and replies, threads, edits, redactions, votes, a gap longer
than the sync timeline, a restart and a SIGKILL in the middle of a
batch, an encrypted room with matrix-nio, and scribe's cross-signing
as other clients see it in /keys/query, also after a second login with
a new store.

Without the sid root (sh tests/synapse/setup.sh) this fails, saying so.
"""
import json
import os
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "proto"))
sys.path.insert(0, os.path.join(TESTS, "e2ee"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import Scribe, World, check, expect, finish, wait_for  # noqa: E402
import synapse  # noqa: E402

SCRIBE = "@scribe:localhost"
N_KILL = 40          # commands of the SIGKILL batch

why = synapse.root_problem()
if why:
    print("not ok - a real Synapse to test against: %s" % why, flush=True)
    sys.exit(1)
try:
    hs = synapse.Synapse(users=("alice", "bob", "elon", "scribe"))
except Exception as e:  # noqa: BLE001 - any failure to start is the verdict
    print("not ok - Synapse %s starts: %s" % (synapse.version(), str(e).replace("\n", " ")),
          flush=True)
    sys.exit(1)
print("# Synapse %s on %s" % (synapse.version(), hs.base), flush=True)
S = {}


def record_of(event_id):
    for r in S["w"].scribe.records():
        if r["event_id"] == event_id:
            return r
    return None


def commands(texts, user="alice"):
    return [hs.say(user, S["room"], t) for t in texts]


def t_todo_reply():
    w = S["w"]
    ev = hs.say("alice", S["room"], "!todo @bob pick tracker")
    c = w.reply_to(ev)["content"]
    # people by name in the room (issue 20); Synapse names bob "bob"
    expect(c["body"] == "Recorded T1 pick tracker — bob", c["body"])
    expect(c["msgtype"] == "m.text", "a new assignee is pinged with m.text: %r" % c["msgtype"])
    expect(c.get("m.mentions") == {"user_ids": ["@bob:localhost"]}, c.get("m.mentions"))
    expect("<b>T1</b>" in c.get("formatted_body", ""), c)
    r = record_of(ev)
    expect(r and r["id"] == "T1" and r["text"] == "pick tracker" and
           r["assignees"] == ["@bob:localhost"] and r["room"] == S["room"], r)


def t_thread():
    w = S["w"]
    root = hs.say("alice", S["room"], "deploy thread")
    ev = hs.say("alice", S["room"], "!log deployed api v2 #api",
                **{"m.relates_to": {"rel_type": "m.thread", "event_id": root,
                                    "is_falling_back": True,
                                    "m.in_reply_to": {"event_id": root}}})
    rel = w.reply_to(ev)["content"]["m.relates_to"]
    expect(rel.get("rel_type") == "m.thread" and rel.get("event_id") == root, rel)
    r = record_of(ev)
    expect(r and r["kind"] == "change" and r["text"] == "deployed api v2", r)


def t_edit():
    w = S["w"]
    ev = hs.say("alice", S["room"], "!todo @bob renew certs")
    w.reply_to(ev)
    rid = record_of(ev)["id"]
    edit = hs.edit("alice", S["room"], ev, "!todo @bob renew TLS certs due:2030-12-24")
    body = w.reply_to(edit)["content"]["body"]
    expect(body == "Updated %s: renew TLS certs" % rid, body)
    r = record_of(ev)
    expect(r["text"] == "renew TLS certs", r)
    expect(r["due"] is not None and r["due"].startswith("2030-12-24"), r)
    fields = [h["field"] for h in r["history"]]
    expect("text" in fields and "due" in fields, fields)


def t_redaction():
    w = S["w"]
    ev = hs.say("alice", S["room"], "!log wrong host #web9")
    w.reply_to(ev)
    hs.redact("alice", S["room"], ev)
    wait_for(lambda: record_of(ev)["withdrawn"], 20, "the record to be withdrawn")
    rid = record_of(ev)["id"]
    wait_for(lambda: [m for m in w.bot_messages() if "withdrawn" in m["content"].get("body", "")
                      and rid in m["content"].get("body", "")], 20,
             "a notice that %s was withdrawn" % rid)


def t_votes():
    w = S["w"]
    ev = hs.say("bob", S["room"], "!propose shortlinks in git because gdocs are not versioned")
    rep = w.reply_to(ev)
    did = record_of(ev)["id"]
    expect(rep["content"]["body"].startswith("Proposal %s:" % did), rep["content"]["body"])
    hs.react("alice", S["room"], rep["event_id"], "👍")
    hs.react("elon", S["room"], rep["event_id"], "👎")
    meh = hs.react("bob", S["room"], rep["event_id"], "🤷")
    wait_for(lambda: record_of(ev)["votes"] == {"up": 1, "down": 1, "meh": 1}, 20,
             "votes 1/1/1")
    hs.redact("bob", S["room"], meh)
    wait_for(lambda: record_of(ev)["votes"] == {"up": 1, "down": 1, "meh": 0}, 20,
             "the redacted vote to be uncounted")
    acc = hs.say("alice", S["room"], "!accept %s" % did)
    body = w.reply_to(acc)["content"]["body"]
    expect("check-in: 1 👍 · 1 👎 · 0 🤷" in body, body)
    expect(record_of(ev)["status"] == "accepted", record_of(ev))


def t_gap():
    # timeline_limit is 10: 30 commands while scribe is stopped arrive as
    # a limited timeline, the rest comes from /messages
    w = S["w"]
    expect(w.scribe.stop() == 0, "clean stop")
    texts = ["gap item %d" % i for i in range(30)]
    ids = commands(["!todo @bob " + t for t in texts])
    w.scribe.start()
    w.expect_exactly_once(ids, 90, texts=dict(zip(ids, texts)))
    order = [r["text"] for r in w.scribe.records() if r["event_id"] in set(ids)]
    expect(order == texts, "records in the order typed: %r" % order[:5])
    expect("back-filled" in w.scribe.stderr(), "scribe says it back-filled: %s"
           % w.scribe.stderr()[-300:])


def interrupted(sig, n, what):
    """Stop scribe, send n commands, start it, send it sig as soon as the
    first of them is committed (the rest still to handle or to answer),
    start it again: every command is answered once and recorded once.
    Returns the exit status of the interrupted scribe."""
    w = S["w"]
    expect(w.scribe.stop() == 0, "clean stop")
    texts = ["%s item %d" % (what, i) for i in range(n)]
    ids = commands(["!todo @elon " + t for t in texts])
    want = set(ids)
    w.scribe.start()
    wait_for(lambda: w.scribe.recorded_event_ids() & want, 60, "the first record",
             interval=0.01)
    rc = w.scribe.kill(sig)
    done, queued = len(w.scribe.recorded_event_ids() & want), w.scribe.outbox_count()
    expect(done < n or queued, "scribe finished all %d before the %s: no batch to interrupt"
           % (n, what))
    print("# %s with %d of %d recorded, %d replies queued" % (what, done, n, queued),
          flush=True)
    w.scribe.start()
    w.expect_exactly_once(ids, 90, texts=dict(zip(ids, texts)))
    return rc


def t_restart():
    rc = interrupted(signal.SIGTERM, 20, "SIGTERM")
    expect(rc == 0, "exit status %r after SIGTERM" % rc)


def t_sigkill():
    interrupted(signal.SIGKILL, N_KILL, "SIGKILL")


def t_encrypted():
    import nio_peer
    from nio_peer import Peer
    tmp = S["w"].tmp
    alice = S["alice"] = Peer(hs, "alice", tmp)
    bob = S["bob"] = Peer(hs, "bob", tmp)
    room = alice.create_room(["@bob:localhost", SCRIBE])
    bob.join(room)
    alice.wait_member(room, SCRIBE, 30)
    alice.wait_member(room, "@bob:localhost")
    ev = alice.say(room, "!todo @bob rotate keys")
    body = alice.reply(ev, 45)
    expect(body.startswith("Recorded T") and "rotate keys — bob" in body, body)
    expect("rotate keys" in bob.reply(ev), "bob reads the reply too")
    # both ways: scribe decrypted the command, the server has only ciphertext
    r = record_of(ev)
    expect(r and r["text"] == "rotate keys" and r["room"] == room, r)
    mine = nio_peer.scribe_events(hs, room)
    expect(mine and all(e["type"] == "m.room.encrypted" for e in mine),
           "scribe's messages in the room: %r" % [e["type"] for e in mine])
    ev2 = bob.say(room, "!decide rotate monthly because keys leak")
    expect("Recorded decision" in alice.reply(ev2, 45), "a second command, from bob")


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify(key_obj, signer, pub):
    """Whether key_obj carries a valid signature of signer's ed25519 key
    pub (the Matrix signing rules: canonical JSON without signatures and
    unsigned)."""
    import olm
    sig = key_obj.get("signatures", {}).get(signer, {}).get("ed25519:" + pub)
    if not sig:
        return False
    body = {k: v for k, v in key_obj.items() if k not in ("signatures", "unsigned")}
    try:
        olm.ed25519_verify(pub, canonical(body), sig)
        return True
    except olm.OlmVerifyError:
        return False


def one_key(key_obj):
    keys = list(key_obj.get("keys", {}).values())
    expect(len(keys) == 1, "one key in %r" % key_obj)
    return keys[0]


def expect_cross_signed(sc):
    """sc's device is signed by @scribe's self-signing key, itself signed
    by the master key, as another user reads them from /keys/query."""
    wait_for(lambda: "encryption ready" in sc.stderr(), 30, "scribe's encryption to be ready")
    with open(os.path.join(sc.dir, "token")) as f:
        me = harness.http(hs.base, "GET", "/_matrix/client/v3/account/whoami",
                          token=f.read().strip())
    dev_id = me["device_id"]
    r = hs.call("POST", "/_matrix/client/v3/keys/query", {"device_keys": {SCRIBE: []}},
                user="alice")
    # what scribe said about it, for the failure message
    said = [ln.strip() for ln in sc.stderr().splitlines()
            if "cross-sign" in ln or "device_signing" in ln]
    said = (" (scribe's log: %s)" % " / ".join(said[-2:])) if said else ""
    master = r.get("master_keys", {}).get(SCRIBE)
    expect(master, "no master key of %s on the server%s" % (SCRIBE, said))
    ssk = r.get("self_signing_keys", {}).get(SCRIBE)
    expect(ssk, "no self-signing key of %s on the server%s" % (SCRIBE, said))
    expect(verify(ssk, SCRIBE, one_key(master)), "the self-signing key is not signed by "
           "the master key: %r" % ssk.get("signatures"))
    dev = r.get("device_keys", {}).get(SCRIBE, {}).get(dev_id)
    expect(dev, "no device keys of scribe's device %s: %r" % (
        dev_id, sorted(r.get("device_keys", {}).get(SCRIBE, {}))))
    expect(verify(dev, SCRIBE, one_key(ssk)),
           "device %s is not signed by the self-signing key %s, only by %s%s" % (
               dev_id, one_key(ssk), sorted(dev.get("signatures", {}).get(SCRIBE, {})), said))


def t_cross_signed():
    expect_cross_signed(S["w"].scribe)


def t_second_login():
    # a second store on the same account (a re-install, a lost disk): the
    # account has a master key already, so the upload of new ones needs
    # the user-interactive auth Synapse asks for
    w = S["w"]
    expect(w.scribe.stop() == 0, "the first scribe stops cleanly")
    d = tempfile.mkdtemp(prefix="scribe-second-", dir=w.tmp)
    sc = S["second"] = Scribe(hs, d)
    sc.login()
    sc.start()
    expect_cross_signed(sc)


def t_world():
    # timeline_limit 10 makes the 30-command gap a limited timeline
    w = S["w"] = World(hs=hs, matrix_conf="timeline_limit = 10")
    S["room"] = w.room


def main():
    check("scribe logs in and joins alice's room", t_world)
    if "room" not in S:
        return
    for name, fn in [
            ("todo: reply with the pinged assignee, and the record", t_todo_reply),
            ("a command in a thread is answered in the thread", t_thread),
            ("an edit (m.replace) updates the record", t_edit),
            ("a redaction withdraws the record", t_redaction),
            ("reactions on a proposal are votes; a redacted vote is uncounted", t_votes),
            ("a 30-message gap is back-filled, each command answered once", t_gap),
            ("SIGTERM mid-batch and restart: each command answered once", t_restart),
            ("SIGKILL mid-batch and restart: each command answered once", t_sigkill),
            ("an encrypted room both ways with matrix-nio", t_encrypted),
            ("scribe's device is cross-signed (/keys/query)", t_cross_signed),
            ("after a second login with a new store the device is cross-signed",
             t_second_login)]:
        check(name, fn)


try:
    main()
finally:
    for p in ("alice", "bob"):
        if p in S:
            try:
                S[p].close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
    if "second" in S:
        S["second"].kill(signal.SIGTERM)
    if "w" in S:
        S["w"].close()
    hs.stop()
finish()
