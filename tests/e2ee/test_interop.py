# SPDX-License-Identifier: MIT
"""E2EE interop: the real `scribe` binary against the test homeserver with
real matrix-nio clients as the other members of an encrypted room
(the nine interop scenarios of scribe's E2EE design). One conversation, checked step by step:
each check prints `ok - name` or `not ok - name: why`.
"""
import base64
import os
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

import harness  # noqa: E402
from harness import check, expect, wait_for  # noqa: E402

try:
    import nio_peer  # noqa: E402
    from nio_peer import Peer, run  # noqa: E402
except ImportError as e:  # the peer is part of the suite: its absence fails
    print("not ok - matrix-nio importable: %s (apt install python3-nio python3-olm)" % e)
    sys.exit(1)

S = {}          # the shared world of this file
SCRIBE = "@scribe:localhost"


def db(sql, *args):
    c = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(S["db"]), uri=True, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def scribe_events(room):
    return nio_peer.scribe_events(S["hs"], room)


def encrypted_reply(room, event_id, timeout=30):
    return nio_peer.encrypted_reply(S["hs"], room, event_id, timeout)


def plaintext_sends(room):
    return nio_peer.plaintext_sends(S["hs"], room)


def records():
    return S["scribe"].records()


# ---------------------------------------------------------------------------

def setup():
    tmp = tempfile.mkdtemp(prefix="scribe-e2ee-")
    S["tmp"] = tmp
    hs = harness.Homeserver(users=("alice", "bob", "carol", "scribe"), workdir=tmp)
    S["hs"] = hs
    sc = harness.Scribe(hs, tmp)
    sc.login()
    S["scribe"] = sc
    S["db"] = os.path.join(tmp, "scribe.db")
    sc.start()
    # its keys are on the server before anyone asks for them
    wait_for(lambda: "encryption ready" in sc.stderr(), 30, "scribe's keys to be uploaded")
    S["alice"] = Peer(hs, "alice", tmp)
    S["bob"] = Peer(hs, "bob", tmp)


def scenario_1_device_keys():
    alice = S["alice"]
    room = alice.create_room(["@bob:localhost", SCRIBE])
    S["room"] = room
    S["bob"].join(room)
    alice.wait_member(room, SCRIBE, 30)
    alice.wait_member(room, "@bob:localhost")
    devs = alice.c.device_store.active_user_devices(SCRIBE)
    devs = list(devs)
    expect(len(devs) == 1, "nio knows scribe's one device: %r" % devs)
    S["scribe_device"] = devs[0].id
    st = S["hs"].call("GET", "/_test/state")["users"][SCRIBE]
    expect(sorted(st["cross_signing"]) == ["master", "self_signing"],
           "scribe cross-signed itself: %r" % st["cross_signing"])
    dev = st["devices"][devs[0].id]
    expect(dev["one_time_key_counts"].get("signed_curve25519") == 50,
           "50 one-time keys on the server: %r" % dev["one_time_key_counts"])
    expect(dev["fallback_keys"].get("signed_curve25519"), "a fallback key: %r" % dev)


def scenario_2_prekey_todo_and_reply():
    alice, room = S["alice"], S["room"]
    ev = alice.say(room, "!todo @bob rotate keys")
    S["first_cmd"] = ev
    body = alice.reply(ev)
    expect("T1" in body, "reply names T1: %r" % body)
    expect(encrypted_reply(room, ev)["type"] == "m.room.encrypted", "reply went out encrypted")
    recs = records()
    expect(len(recs) == 1 and recs[0]["text"] == "rotate keys" and
           recs[0]["assignees"] == ["@bob:localhost"] and recs[0]["event_id"] == ev,
           "T1 recorded from the decrypted command: %r" % recs)
    # bob, another member, reads the reply too
    expect("T1" in S["bob"].reply(ev), "bob reads the reply")


def no_plaintext():
    expect(not plaintext_sends(S["room"]), "plaintext sends: %r" % plaintext_sends(S["room"]))


def scenario_3_rotated_sender_session():
    alice, room = S["alice"], S["room"]
    alice.c.invalidate_outbound_session(room)
    ev = alice.say(room, "!todo check the backups")
    expect("T2" in alice.reply(ev), "reply after alice's new megolm session")


def restart_kill9():
    alice, room, sc = S["alice"], S["room"], S["scribe"]
    sc.kill(signal.SIGKILL)
    sc.start()
    ev = alice.say(room, "!todo after restart")
    expect("T3" in alice.reply(ev), "reply after kill -9")
    # and the other way round: scribe's outbound session continued
    alice.c.invalidate_outbound_session(room)
    ev = alice.say(room, "!todo after restart with a new session")
    expect("T4" in alice.reply(ev), "new session after restart")


def _each_answered_once(cmds, texts):
    """Every command of cmds has exactly one reply alice can read, each of
    texts is recorded once, and the server refused no key upload."""
    alice = S["alice"]
    for ev in cmds:
        alice.reply(ev)
    time.sleep(1.5 * harness.SLOW)
    alice.sync(300)
    for ev in cmds:
        n = len(alice.replies_to(ev))
        expect(n == 1, "exactly one reply to %s, got %d" % (ev, n))
    recorded = [r["text"] for r in records()]
    for t in texts:
        expect(recorded.count(t) == 1, "%r recorded once: %r" % (t, recorded))
    bad = [r for r in S["hs"].requests() if r["path"].endswith("/keys/upload")
           and r["status"] not in (None, 200)]
    expect(not bad, "no refused key upload: %r" % [r["status"] for r in bad])


def scenario_4_kill_at_awkward_points():
    alice, room, sc = S["alice"], S["room"], S["scribe"]
    ids, texts = [], []
    for i, delay in enumerate((0.0, 0.05, 0.2, 0.5)):
        texts.append("crash test %d" % i)
        ids.append(alice.say(room, "!todo " + texts[-1]))
        time.sleep(delay)
        sc.kill(signal.SIGKILL)
        sc.start()
    _each_answered_once(ids, texts)


def _crash_at(point, trigger):
    """Restart scribe so that it dies by SIGKILL at point, run trigger(),
    wait for the death, start it again normally; trigger's result."""
    sc = S["scribe"]
    sc.stop()
    os.environ["SCRIBE_TEST_CRASH"] = point
    try:
        sc.start()
    finally:
        del os.environ["SCRIBE_TEST_CRASH"]
    result = trigger()
    wait_for(lambda: sc.proc.poll() is not None, 30, "scribe to die at %s" % point)
    expect(sc.proc.returncode == -signal.SIGKILL, "killed at %s (%r)" % (point, sc.proc.returncode))
    sc.kill()
    sc.start()
    return result


def _drain():
    dev = S["scribe_device"]
    for _ in range(55):
        harness.http(S["hs"].base, "POST", "/_matrix/client/v3/keys/claim",
                     {"one_time_keys": {SCRIBE: {dev: "signed_curve25519"}}}, S["bob"].token)
    # a sync tells scribe the count: any event in its rooms
    return S["alice"].say(S["room"], "!todo drained")


def _otk_count():
    st = S["hs"].call("GET", "/_test/state")["users"][SCRIBE]["devices"][S["scribe_device"]]
    return st["one_time_key_counts"].get("signed_curve25519", 0)


def scenario_4_crash_points():
    alice, room = S["alice"], S["room"]
    cmds = []
    for point in ("otk-generated", "otk-uploaded"):
        cmds.append(_crash_at(point, _drain))
        wait_for(lambda: _otk_count() == 50, 30, "one-time keys back to 50 after %s" % point)
    # a pre-key message decrypted, the batch not committed
    tablet = Peer(S["hs"], "bob", S["tmp"], device_name="bob tablet")
    S["tablet"] = tablet
    cmds.append(_crash_at("olm-decrypted", lambda: tablet.say(room, "!todo from the tablet")))
    # the room key olm-encrypted for a new device, not sent; the device
    # is added after the restart, so it is new to scribe however far the
    # run before got (a slow one, under valgrind, had shared the key
    # with the tablet already and had nothing left to share)
    def share_then_crash():
        S["watch"] = Peer(S["hs"], "bob", S["tmp"], device_name="bob watch")
        return alice.say(room, "!todo share then crash")
    cmds.append(_crash_at("olm-encrypted", share_then_crash))
    # a reply encrypted and stored, not sent
    cmds.append(_crash_at("megolm-encrypted", lambda: alice.say(room, "!todo encrypt then crash")))
    _each_answered_once(cmds, ("from the tablet", "share then crash", "encrypt then crash"))
    expect("T" in tablet.reply(cmds[-1]), "the tablet reads the replies")


def _batch_ready(room):
    """alice's megolm session in room shared with scribe, answered."""
    S["alice"].reply(S["alice"].say(room, "!todo before a batch"))


def _inject_batch(room, texts):
    """texts as encrypted commands that scribe gets in one sync batch (its
    syncs held while they are injected); their event ids."""
    alice, hs = S["alice"], S["hs"]
    contents = [alice.c.olm.group_encrypt(room, {
        "type": "m.room.message", "content": {"msgtype": "m.text", "body": "!todo " + t}})
        for t in texts]
    hs.hold_sync("scribe", True)
    try:
        ids = hs.inject([{"room_id": room, "sender": "@alice:localhost",
                          "type": "m.room.encrypted", "content": c}
                         for c in contents])["event_ids"]
    finally:
        hs.hold_sync("scribe", False)
    return ids


def batch_crash_after_encrypt():
    """Replies of one batch are encrypted together and the session stored
    once: a kill right after that commit resends each ciphertext once."""
    room = S["room"]
    _batch_ready(room)
    texts = ["batch crash %d" % i for i in range(4)]
    cmds = _crash_at("megolm-encrypted", lambda: _inject_batch(room, texts))
    _each_answered_once(cmds, texts)


def scenario_5_new_device_and_leave():
    hs, room, alice = S["hs"], S["room"], S["alice"]
    bob2 = Peer(hs, "bob", S["tmp"], device_name="bob laptop")
    S["bob2"] = bob2
    bob2.sync()
    before = encrypted_reply(room, S["first_cmd"])["content"]["session_id"]
    ev = alice.say(room, "!todo for the new device")
    expect("T" in bob2.reply(ev), "bob's new device reads the next reply")
    same = encrypted_reply(room, ev)["content"]["session_id"]
    # carol joins and leaves: the next reply uses a new session
    carol = Peer(hs, "carol", S["tmp"])
    S["carol"] = carol
    run(alice.c.room_invite(room, "@carol:localhost"))
    carol.join(room)
    alice.wait_member(room, "@carol:localhost")
    ev = alice.say(room, "!todo carol is here")
    expect("T" in carol.reply(ev), "carol reads a reply")
    s1 = encrypted_reply(room, ev)["content"]["session_id"]
    run(carol.c.room_leave(room))
    time.sleep(1.0 * harness.SLOW)
    ev = alice.say(room, "!todo carol left")
    alice.reply(ev)
    s2 = encrypted_reply(room, ev)["content"]["session_id"]
    expect(s2 != s1, "a new session after carol left (%s)" % s2)
    expect(same == before, "a new device gets the current session, no rotation")
    carol.sync()
    expect(not carol.replies_to(ev), "carol does not read the reply after leaving")


def scenario_6_rotation_msgs():
    alice = S["alice"]
    room = alice.create_room([SCRIBE], {"algorithm": "m.megolm.v1.aes-sha2",
                                        "rotation_period_msgs": 3})
    S["room6"] = room
    alice.wait_member(room, SCRIBE, 30)
    sessions = []
    for i in range(4):
        ev = alice.say(room, "!todo rot %d" % i)
        alice.reply(ev)
        sessions.append(encrypted_reply(room, ev)["content"]["session_id"])
    expect(len(set(sessions[:3])) == 1 and sessions[3] != sessions[0],
           "three messages per session: %r" % sessions)


def batch_rotation():
    """Five replies of one batch in the rotation_period_msgs=3 room: no
    session carries more than three, nio reads each reply once."""
    alice, room = S["alice"], S["room6"]
    _batch_ready(room)
    texts = ["rot batch %d" % i for i in range(5)]
    cmds = _inject_batch(room, texts)
    _each_answered_once(cmds, texts)
    per = {}
    for ev in scribe_events(room):
        sid = ev["content"]["session_id"]
        per[sid] = per.get(sid, 0) + 1
    expect(max(per.values()) <= 3, "messages per session: %r" % per)
    batch = {encrypted_reply(room, ev)["content"]["session_id"] for ev in cmds}
    expect(len(batch) >= 2, "the batch rotated: %r" % batch)


def leave_while_encrypting():
    """A reply is encrypted on scribe's worker thread while the next
    back-fill page is handled; it is stored only if the room's session is
    still the one it used. Here that page holds carol's leave, which
    drops the session: the reply goes out once, in a new session that
    carol never got."""
    alice, carol, hs = S["alice"], S["carol"], S["hs"]
    room = alice.create_room([SCRIBE, "@carol:localhost"])
    carol.join(room)
    alice.wait_member(room, SCRIBE, 30)
    alice.wait_member(room, "@carol:localhost")
    _batch_ready(room)
    shared = scribe_events(room)[-1]["content"]["session_id"]
    carol.sync()

    def chatter(body):   # not commands, and plaintext: cheap to page through
        return {"room_id": room, "sender": "@bob:localhost", "type": "m.room.message",
                "content": {"msgtype": "m.text", "body": body}}
    # the sync shows the last 50 events; the gap before them is paged
    # 250 at a time: the command opens the first page, the leave is in
    # the second
    events = [{"room_id": room, "sender": "@alice:localhost", "type": "m.room.encrypted",
               "content": alice.c.olm.group_encrypt(room, {
                   "type": "m.room.message",
                   "content": {"msgtype": "m.text", "body": "!todo asked before carol left"}})}]
    events += [chatter("chatter %d" % i) for i in range(299)]
    events.append({"room_id": room, "sender": "@carol:localhost", "type": "m.room.member",
                   "state_key": "@carol:localhost", "content": {"membership": "leave"}})
    events += [chatter("after %d" % i) for i in range(60)]
    hs.hold_sync("scribe", True)
    try:
        cmd = hs.inject(events)["event_ids"][0]
    finally:
        hs.hold_sync("scribe", False)
    _each_answered_once([cmd], ["asked before carol left"])
    sid = encrypted_reply(room, cmd)["content"]["session_id"]
    expect(sid != shared, "the reply used the session carol had (%s)" % sid)
    expect("changed while its messages were encrypted" in S["scribe"].stderr(),
           "scribe did not notice the dropped session")


def scenario_7_otk_drain():
    hs, dev = S["hs"], S["scribe_device"]
    for _ in range(60):
        harness.http(hs.base, "POST", "/_matrix/client/v3/keys/claim",
                     {"one_time_keys": {SCRIBE: {dev: "signed_curve25519"}}}, S["bob"].token)
    st = hs.call("GET", "/_test/state")["users"][SCRIBE]["devices"][dev]
    expect(st["one_time_key_counts"].get("signed_curve25519", 0) == 0,
           "the drain used every key: %r" % st["one_time_key_counts"])
    # any sync makes scribe see the count: say something
    ev = S["alice"].say(S["room"], "!todo after the drain")
    S["alice"].reply(ev)

    def topped():
        st = hs.call("GET", "/_test/state")["users"][SCRIBE]["devices"][dev]
        return st["one_time_key_counts"].get("signed_curve25519", 0) >= 40 and st
    st = wait_for(topped, 20, "scribe to replenish its one-time keys")
    expect(st["one_time_key_counts"]["signed_curve25519"] <= 50, "never above 50: %r" % st)
    # a new device still gets a session with the drained bot
    ev = S["bob2"].say(S["room"], "!todo from the laptop")
    expect("T" in S["alice"].reply(ev), "a new olm session after the drain")


def scenario_8_key_after_message():
    alice, room = S["alice"], S["room"]
    olm = alice.c.olm
    alice.c.invalidate_outbound_session(room)
    olm.create_outbound_group_session(room)
    users = list(alice.c.rooms[room].users)
    shares = list(olm.share_group_session_parallel(room, users, True))
    olm.outbound_group_sessions[room].shared = True
    ev = alice.say(room, "!todo key arrives late")
    wait_for(lambda: db("SELECT count(*) FROM undecrypted WHERE event_id = ?", ev)[0][0] == 1,
             20, "scribe to queue the undecryptable command")
    time.sleep(1.0 * harness.SLOW)
    expect(not [e for e in scribe_events(room) if e["content"].get("m.relates_to", {})
                .get("m.in_reply_to", {}).get("event_id") == ev], "no reply before the key")
    for i, (_, to_device) in enumerate(shares):
        harness.http(S["hs"].base, "PUT",
                                        "/_matrix/client/v3/sendToDevice/m.room.encrypted/late%d" % i,
                                        to_device, alice.token)
    expect("late" in alice.reply(ev), "reply once the key came")
    time.sleep(1.5 * harness.SLOW)
    alice.sync(300)
    expect(len(alice.replies_to(ev)) == 1, "exactly one reply")
    expect(db("SELECT count(*) FROM undecrypted")[0][0] == 0, "queue empty")


def _inject(content, sender="@alice:localhost"):
    return S["hs"].inject([{"room_id": S["room"], "sender": sender, "type": "m.room.encrypted",
                            "content": content}])["event_ids"][0]


def _last_alice_ciphertext():
    for ev in reversed(S["hs"].room_events(S["room"])):
        if ev["sender"] == "@alice:localhost" and ev["type"] == "m.room.encrypted":
            return ev
    raise AssertionError("no encrypted event of alice")


def _refused(content, sender, log_words):
    n = len(records())
    log_before = S["scribe"].stderr()
    _inject(content, sender)
    # a marker command shows the bad one was handled before it
    ev = S["alice"].say(S["room"], "!todo marker %d" % n)
    S["alice"].reply(ev)
    new = [r["text"] for r in records()[n:]]
    expect(new == ["marker %d" % n], "only the marker was recorded: %r" % new)
    log = S["scribe"].stderr()[len(log_before):]
    expect(log_words in log, "log says %r: %s" % (log_words, log[-500:]))
    expect(S["scribe"].proc.poll() is None, "scribe still running")


def scenario_9_forged_sender():
    ev = S["alice"].say(S["room"], "!todo forged target")
    S["alice"].reply(ev)
    orig = _last_alice_ciphertext()
    _refused(dict(orig["content"]), "@bob:localhost", "forged sender")


def bad_replay():
    orig = _last_alice_ciphertext()
    _refused(dict(orig["content"]), "@alice:localhost", "replayed")


def bad_garbage_base64():
    c = dict(_last_alice_ciphertext()["content"])
    c["ciphertext"] = "!!!! not base64 ####"
    _refused(c, "@alice:localhost", "refused event")


def bad_truncated():
    c = dict(_last_alice_ciphertext()["content"])
    c["ciphertext"] = c["ciphertext"][:40]
    _refused(c, "@alice:localhost", "refused event")


def bad_unknown_algorithm():
    c = dict(_last_alice_ciphertext()["content"])
    c["algorithm"] = "m.megolm.v9.rot13"
    _refused(c, "@alice:localhost", "unknown algorithm")


def _to_scribe(peer, ctype, body, txn):
    dev = S["scribe_device"]
    scribe_curve = S["alice"].c.device_store[SCRIBE][dev].curve25519
    content = {"algorithm": "m.olm.v1.curve25519-aes-sha2",
               "sender_key": peer.c.olm.account.identity_keys["curve25519"],
               "ciphertext": {scribe_curve: {"type": ctype, "body": body}}}
    harness.http(S["hs"].base, "PUT", "/_matrix/client/v3/sendToDevice/m.room.encrypted/" + txn,
                 {"messages": {SCRIBE: {dev: content}}}, peer.token)


def bad_olm_garbage():
    log_before = S["scribe"].stderr()
    _to_scribe(S["bob"], 0, "!!! not base64 !!!", "garbage1")
    _to_scribe(S["bob"], 0, base64.b64encode(os.urandom(90)).decode().rstrip("="), "garbage2")
    ev = S["alice"].say(S["room"], "!todo after olm garbage")
    S["alice"].reply(ev)
    log = S["scribe"].stderr()[len(log_before):]
    expect(log.count("refused olm pre-key message") + log.count("refused to-device") >= 2,
           "both refused with a log line: %s" % log[-800:])
    expect(S["scribe"].proc.poll() is None, "scribe still running")


def wedged_session_recovery():
    phone = Peer(S["hs"], "bob", S["tmp"], device_name="bob phone")
    S["phone"] = phone
    with open(os.path.join(S["tmp"], "token")) as f:
        auth = "Bearer " + f.read().strip()
    start = len(S["hs"].requests())
    _to_scribe(phone, 1, base64.b64encode(os.urandom(120)).decode().rstrip("="), "wedged1")

    def dummy_sent():
        for r in S["hs"].requests()[start:]:
            if (r["method"] == "PUT" and "/sendToDevice/m.room.encrypted/" in r["path"]
                    and r["headers"].get("Authorization") == auth):
                msgs = r["body"]["messages"].get("@bob:localhost", {})
                if phone.device_id in msgs:
                    return msgs[phone.device_id]
        return None
    content = wait_for(dummy_sent, 20, "scribe to start a new olm session with bob's phone")
    (ct,) = content["ciphertext"].values()
    expect(ct["type"] == 0, "a pre-key message on a fresh session: %r" % ct["type"])
    claims = [r for r in S["hs"].requests()[start:] if r["path"].endswith("/keys/claim")
              and r["headers"].get("Authorization") == auth]
    expect(claims, "scribe claimed a one-time key of the phone")
    phone.sync()  # nio takes the m.dummy without complaint
    ev = S["alice"].say(S["room"], "!todo after the unwedge")
    expect("T" in phone.reply(ev), "the phone reads the next reply")


def wrong_pickle_key_refused():
    sc = S["scribe"]
    path = os.path.join(S["tmp"], "pickle.key")
    with open(path) as f:
        good = f.read()
    sc.stop()
    uploads = len([r for r in S["hs"].requests() if r["path"].endswith("/keys/upload")])
    with open(path, "w") as f:
        f.write("%064x\n" % 12345)
    r = sc.cli("run", "-c", sc.conf, "--once", check=False)
    expect(r.returncode == 2, "scribe refused to start (exit 2): %d" % r.returncode)
    expect("does not open the stored encryption keys" in r.stderr, "says why: %s" % r.stderr)
    os.unlink(path)
    r = sc.cli("run", "-c", sc.conf, "--once", check=False)
    expect(r.returncode == 2 and not os.path.exists(path),
           "a missing key file is not replaced while the store holds keys: %s" % r.stderr)
    after = [r for r in S["hs"].requests() if r["path"].endswith("/keys/upload")]
    expect(len(after) == uploads, "no keys uploaded under a wrong key")
    with open(path, "w") as f:
        f.write(good)
    os.chmod(path, 0o600)
    sc.start()
    ev = S["alice"].say(S["room"], "!todo with the right key again")
    expect("T" in S["alice"].reply(ev), "works again with the right key")


def never_plaintext_at_end():
    no_plaintext()
    for room in (S["room"], S.get("room6")):
        if room:
            expect(not plaintext_sends(room), "no plaintext into %s" % room)
            for ev in scribe_events(room):
                expect(ev["type"] == "m.room.encrypted", "scribe event %s is %s"
                       % (ev["event_id"], ev["type"]))


def main():
    try:
        check("setup: homeserver, scribe, two nio users", setup)
        check("1: nio accepts scribe's device keys, OTKs, fallback, cross-signing",
              scenario_1_device_keys)
        check("2: !todo over a pre-key message, encrypted reply read by nio",
              scenario_2_prekey_todo_and_reply)
        check("no plaintext sent into the encrypted room", no_plaintext)
        check("3: sender rotates its megolm session (olm type 1)",
              scenario_3_rotated_sender_session)
        check("kill -9 and restart: conversation continues both ways", restart_kill9)
        check("4: kills at random points: one reply each, no refused upload",
              scenario_4_kill_at_awkward_points)
        check("4: kills after OTK generation, after upload, after decrypt, after "
              "encrypt: one reply each, nio decrypts all", scenario_4_crash_points)
        check("kill right after encrypting a batch of replies: each sent once",
              batch_crash_after_encrypt)
        check("5: a new device reads the next reply; a leave rotates",
              scenario_5_new_device_and_leave)
        check("6: rotation_period_msgs=3 rotates on the 4th message", scenario_6_rotation_msgs)
        check("a batch of replies rotates every rotation_period_msgs",
              batch_rotation)
        check("a leave after a reply was encrypted: re-encrypted in a new session",
              leave_while_encrypting)
        check("7: drained one-time keys are replenished", scenario_7_otk_drain)
        check("8: room key after the message: queued, answered once",
              scenario_8_key_after_message)
        check("9: forged sender refused", scenario_9_forged_sender)
        check("bad input: replayed ciphertext refused", bad_replay)
        check("bad input: garbage base64 refused", bad_garbage_base64)
        check("bad input: truncated ciphertext refused", bad_truncated)
        check("bad input: unknown algorithm refused", bad_unknown_algorithm)
        check("bad input: garbage olm to-device messages refused", bad_olm_garbage)
        check("wedged olm session: fresh session and m.dummy", wedged_session_recovery)
        check("a wrong or missing pickle key is refused, never replaced",
              wrong_pickle_key_refused)
        check("scribe never sent plaintext into an encrypted room", never_plaintext_at_end)
    finally:
        nio_peer.teardown(S, ("alice", "bob", "bob2", "carol", "phone", "tablet", "watch"))
    harness.finish()


if __name__ == "__main__":
    main()
