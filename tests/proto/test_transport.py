# SPDX-License-Identifier: MIT
"""The transport under stress, with the real binary: invites from people
scribe must not trust, a gap longer than the sync timeline, a homeserver
that fails (5xx, 429, dropped connections, stalls), SIGKILL in the middle
of a batch, and a revoked access token. After each, every command is
recorded once and answered once."""
import os
import random
import signal
import time

from harness import World, check, expect, finish, wait_for

worlds = []


def world(**kw):
    w = World(**kw)
    worlds.append(w)
    return w


def membership(w, room, user="@scribe:localhost"):
    last = None
    for ev in w.hs.room_events(room):
        if ev["type"] == "m.room.member" and ev.get("state_key") == user:
            last = ev["content"].get("membership")
    return last


def t_untrusted_invite_declined():
    w = world(inviters="@alice:localhost")
    hs = w.hs
    r2 = hs.create_room("bob", name="bob's side room")
    hs.invite("bob", r2, "scribe")
    wait_for(lambda: membership(w, r2) == "leave", what="scribe to decline bob's invite")
    expect(not any(ev["type"] == "m.room.member" and ev.get("state_key") == "@scribe:localhost"
                   and ev["content"].get("membership") == "join" for ev in hs.room_events(r2)),
           "scribe joined a room it was not allowed into")
    expect("declin" in w.scribe.stderr() or "not allowed" in w.scribe.stderr(),
           "the log says why: %s" % w.scribe.stderr()[-400:])
    # alice is trusted: the World's own room was joined and works
    ev = hs.say("alice", w.room, "!todo @bob still here")
    expect(w.reply_to(ev)["content"]["body"].startswith("Recorded T1"), "reply in alice's room")


def t_gap_backfilled():
    # timeline_limit 10: a gap of 30 messages arrives as a limited timeline
    w = world(matrix_conf="timeline_limit = 10")
    hs = w.hs
    expect(w.scribe.stop() == 0, "clean stop")
    ids = [hs.say("alice", w.room, "!todo @bob gap item %d" % i) for i in range(30)]
    mark = len(hs.requests())
    w.scribe.start()
    w.expect_exactly_once(ids)
    reqs = hs.requests()[mark:]
    limited = [r for r in reqs if r["method"] == "GET" and "/messages" in r["path"]]
    expect(limited, "scribe back-filled with /messages")
    texts = [r["text"] for r in w.scribe.records()]
    expect(texts == ["gap item %d" % i for i in range(30)],
           "records in the order they were typed: %r" % texts[:5])


def t_faults_exactly_once():
    w = world(matrix_conf="retry_min_ms = 5")
    hs = w.hs
    hs.faults(rate=0.3, seed=7, kinds=["500", "502", "429", "reset", "reset_after", "stall"],
              stall_ms=300, retry_after_ms=20)
    ids = []
    for i in range(8):
        ids += w.inject_commands("alice", ["!todo @bob faulty %d.%d" % (i, j) for j in range(10)])
        time.sleep(0.3)
    try:
        wait_for(lambda: set(ids) <= set(w.reply_counts()), 120, "replies under faults",
                 interval=0.3)
    finally:
        hs.faults()
    w.expect_exactly_once(ids)
    kinds = {str(r.get("fault")) for r in hs.requests() if r.get("fault")}
    for k in ("500", "429", "reset", "reset_after"):
        expect(any(k in f for f in kinds), "fault %s was injected (%r)" % (k, kinds))
    expect(w.scribe.proc.poll() is None, "scribe still runs")


def killed_after_join(before_commit, n=100):
    """scribe accepts an invite and dies before any sync shows it its own
    join — after committing the invite's batch, or (before_commit) while
    the join's answer is still arriving; meanwhile n messages arrive:
    more than a timeline holds, or (n=30) fewer, when Synapse prepends
    the room's latest events to the timeline, so that messages after the
    join come once before it and again after it (#9768). Every one of
    them must still be answered, once."""
    w = world(start=False)
    hs = w.hs
    w.scribe.start()
    time.sleep(0.5)
    if before_commit:  # the join is done, its answer dribbles in for 8 s
        hs.faults(kinds=["slow"], slow_ms=8000, paths="/join/", count=1)
        hs.invite("alice", w.room, "scribe")
        wait_for(w.joined, 30, "scribe's join")
    else:  # no sync gets through after the invite's
        hs.faults(kinds=["stall"], stall_ms=8000, paths="/sync", count=3)
        mark = len(hs.requests())
        hs.invite("alice", w.room, "scribe")
        wait_for(lambda: any(r["method"] == "POST" and "/join/" in r["path"]
                             for r in hs.requests()[mark:]), 30, "scribe's join")
    w.scribe.kill(signal.SIGKILL)
    hs.faults()
    expect(w.joined(), "scribe joined the room")
    ids = w.inject_commands("alice", ["!todo @bob after join %d" % i for i in range(n)])
    w.scribe.start()
    w.expect_exactly_once(ids)


def t_killed_joining_before_first_sync():
    """The invite is already there at scribe's very first sync: it joins
    and dies before that batch is committed, so its next start is a first
    sync again, which shows the room (with a timeline limited to the last
    50 of the messages that arrived meanwhile) but not the join. The
    commands after the join must still be answered, once."""
    w = world(start=False)
    hs = w.hs
    hs.invite("alice", w.room, "scribe")
    hs.faults(kinds=["slow"], slow_ms=8000, paths="/join/", count=1)
    w.scribe.start()
    wait_for(w.joined, 30, "scribe's join")
    w.scribe.kill(signal.SIGKILL)
    hs.faults()
    ids = w.inject_commands("alice", ["!todo @bob first sync %d" % i for i in range(100)])
    w.scribe.start()
    w.expect_exactly_once(ids)
    expect("found our join before the first sync; handled 50 events after it" in w.scribe.stderr(),
           w.scribe.stderr()[-600:])


def t_new_store_old_join():
    """The other first sync that shows a room but not the join: a new
    store for an account that joined an hour ago, with 100 commands since.
    They are history (a store must not answer what it never saw), and a
    new command is answered."""
    w = world(start=False)
    hs = w.hs
    old = int(time.time() * 1000) - 3600 * 1000
    ids = hs.inject([{"room_id": w.room, "sender": "@scribe:localhost", "type": "m.room.member",
                      "state_key": "@scribe:localhost", "content": {"membership": "join"},
                      "origin_server_ts": old}] +
                    [{"room_id": w.room, "sender": "@alice:localhost", "type": "m.room.message",
                      "content": {"msgtype": "m.text", "body": "!todo @bob old %d" % i},
                      "origin_server_ts": old + 1000 + i} for i in range(100)])["event_ids"]
    w.scribe.start()
    # a command counts once scribe's first sync is done (the next has since)
    wait_for(lambda: any(r["path"].endswith("/sync") and "since" in r["query"]
                         for r in hs.requests()), 30, "scribe's second sync")
    ev = hs.say("alice", w.room, "!todo @bob new one")
    w.reply_to(ev)
    texts = [r["text"] for r in w.scribe.records()]
    expect(texts == ["new one"], "%d records: %r" % (len(texts), texts[:5]))
    counts = w.reply_counts()
    expect(not any(counts.get(e) for e in ids[1:]), "old commands answered")
    expect("found our join" not in w.scribe.stderr(), w.scribe.stderr()[-400:])


def t_scribe_log_wakes_the_bot():
    # a 60 s long-poll: the announcement must not wait for it to end
    w = world(sync_timeout="60s")
    time.sleep(1.5)  # scribe is now waiting in /sync
    start = time.monotonic()
    r = w.scribe.cli("log", "-c", w.scribe.conf, "--room", w.room, "restarted haproxy")
    expect(r.returncode == 0, r.stderr)
    ann = wait_for(lambda: [m for m in w.bot_messages()
                            if "restarted haproxy" in m["content"].get("body", "")],
                   20, "the announcement while scribe long-polls")
    expect(len(ann) == 1, "announced once")
    print("# announced %.1fs after scribe log" % (time.monotonic() - start))


def t_timeout_retried_once():
    w = world(matrix_conf="request_timeout = 1s\nretry_min_ms = 5")
    hs = w.hs
    # the first two sends of the reply hang past scribe's 1 s timeout
    hs.faults(kinds=["stall"], stall_ms=2500, paths="/send/m.room.message/scribe[.]", count=2)
    ev = hs.say("alice", w.room, "!todo @bob answer despite timeouts")
    try:
        rep = w.reply_to(ev, timeout=30)
    finally:
        hs.faults()
    expect(rep["content"]["body"].startswith("Recorded T1 answer despite timeouts"), rep)
    time.sleep(3)  # the stalled requests finish on the server and are logged
    puts = [r for r in hs.requests() if r["method"] == "PUT" and ev[1:] in r["path"]]
    expect(len(puts) >= 3, "the reply was sent %d times, expected retries" % len(puts))
    expect(len({r["path"] for r in puts}) == 1, "every retry reuses the txn id")
    expect(w.reply_counts().get(ev) == 1, "one reply, not %r" % w.reply_counts().get(ev))
    expect("timed out" in w.scribe.stderr().lower() or "timeout" in w.scribe.stderr().lower(),
           "the log names the timeout: %s" % w.scribe.stderr()[-300:])


def t_sigkill_mid_batch():
    w = world()
    hs = w.hs
    expect(w.scribe.stop() == 0, "clean stop")
    ids = w.inject_commands("alice", ["!todo @elon backlog %d" % i for i in range(300)])
    # 1. killed after the batch committed, while its first reply hangs
    hs.faults(kinds=["stall"], stall_ms=4000, paths="/send/", count=1)
    w.scribe.start()
    wait_for(lambda: w.scribe.records(), 60, "the batch to commit")
    w.scribe.kill(signal.SIGKILL)
    hs.faults()
    expect(not w.reply_counts(), "no reply had been accepted yet")
    # 2. killed at random points, committed or not
    rng = random.Random(3)
    seen = []
    for _ in range(6):
        w.scribe.start()
        time.sleep(rng.uniform(0.02, 0.4))
        w.scribe.kill(signal.SIGKILL)
        seen.append((len(w.scribe.records()), len(w.reply_counts())))
    w.scribe.start()
    w.expect_exactly_once(ids, timeout=120)
    print("# records/replies after each kill: %r" % seen)


def t_revoked_token_exits_5():
    w = world()
    hs = w.hs
    with open(os.path.join(w.scribe.dir, "token")) as f:
        token = f.read().strip()
    hs.tokens["scribe"] = token
    hs.call("POST", "/_matrix/client/v3/logout", {}, "scribe")
    wait_for(lambda: w.scribe.proc.poll() is not None, 30, "scribe to stop")
    expect(w.scribe.proc.returncode == 5, "exit status %r" % w.scribe.proc.returncode)
    err = w.scribe.stderr()
    expect("M_UNKNOWN_TOKEN" in err and "scribe login" in err, err[-300:])
    expect(token not in err, "the token is never logged")


def t_revoked_token_during_replies():
    """The token is revoked while 60 replies travel on the sending thread
    (a batch that large is detached): the exit names the server's reason,
    as when a sync is refused."""
    w = world(matrix_conf="timeline_limit = 200")  # no back-fill page first
    hs = w.hs
    with open(os.path.join(w.scribe.dir, "token")) as f:
        hs.tokens["scribe"] = f.read().strip()
    hs.faults(kinds=["stall"], methods=["PUT"], paths="/send/", rate=1.0, stall_ms=1500)
    hs.hold_sync("scribe", True)  # all 60 in one sync, so one batch
    w.inject_commands("alice", ["!todo @elon step %d" % i for i in range(60)])
    hs.hold_sync("scribe", False)
    wait_for(lambda: any(q["method"] == "PUT" for q in hs.requests()), 30,
             "the first reply to reach the server")
    hs.call("POST", "/_matrix/client/v3/logout", {}, "scribe")
    wait_for(lambda: w.scribe.proc.poll() is not None, 30, "scribe to stop")
    expect(w.scribe.proc.returncode == 5, "exit status %r" % w.scribe.proc.returncode)
    last = w.scribe.stderr().strip().splitlines()[-1]
    expect(last == "scribe: error: the homeserver refused the access token (M_UNKNOWN_TOKEN); "
           "run 'scribe login' again", last)
    expect(len(w.scribe.records()) == 60, len(w.scribe.records()))


for name, fn in [("an invite from someone not allowed is declined", t_untrusted_invite_declined),
                 ("a 30-message gap with a limited timeline is back-filled", t_gap_backfilled),
                 ("500/502/429/reset/stall faults: every command once", t_faults_exactly_once),
                 ("killed after joining, before seeing the join: nothing lost",
                  lambda: killed_after_join(False)),
                 ("killed while the join is answered: nothing lost",
                  lambda: killed_after_join(True)),
                 ("killed after joining, fewer messages than a timeline: nothing lost",
                  lambda: killed_after_join(False, 30)),
                 ("killed joining during its first sync: nothing lost",
                  t_killed_joining_before_first_sync),
                 ("a new store in a room joined long ago answers nothing from before",
                  t_new_store_old_join),
                 ("scribe log is announced without waiting for the long-poll",
                  t_scribe_log_wakes_the_bot),
                 ("a reply that times out is retried with the same txn id", t_timeout_retried_once),
                 ("SIGKILL mid-batch and restart: no loss, no duplicate", t_sigkill_mid_batch),
                 ("a revoked access token stops scribe with exit 5", t_revoked_token_exits_5),
                 ("a token revoked while replies travel on their thread: exit 5, with the reason",
                  t_revoked_token_during_replies)]:
    check(name, fn)
for w in worlds:
    w.close()
finish()
