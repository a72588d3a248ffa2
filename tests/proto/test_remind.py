# SPDX-License-Identifier: MIT
"""Reminders and escalations posted by the real binary at the minute the
clock says, against the test homeserver. scribe's clock is moved forward
through its test hook (SCRIBE_TEST_CLOCK names a file holding seconds to
add to the wall clock; nothing sleeps for hours): a due ping at its
minute and not before, in the thread the item came from, an SLA
escalation to the room's contacts and !ack stopping the next level, a
reminder across a SIGKILL on either side of its commit (sent once), and
a three-day downtime after which everything missed goes out as one
message, a daily reminder once. The scheduling rules themselves (zones,
DST, ops hours, levels) are unit-tested with an injected clock in
tests/unit/test_remind.c and tests/cmd/remind*.txt."""
import os
import shutil
import sqlite3
import tempfile
import time

from harness import World, check, expect, finish, wait_for, SLOW

CLOCK_DIR = tempfile.mkdtemp(prefix="scribe-clock-")
CLOCK = os.path.join(CLOCK_DIR, "offset")
offset = [0]


def advance(secs):
    """Move scribe's clock secs forward (it reads the file at every tick)."""
    offset[0] += secs
    with open(CLOCK + ".tmp", "w") as f:
        f.write("%d\n" % offset[0])
    os.replace(CLOCK + ".tmp", CLOCK)


advance(0)
os.environ["SCRIBE_TEST_CLOCK"] = CLOCK
w = World(extra_conf="""
[remind]
before = 5m

[escalation]
contacts = @bob:localhost

[sla]
critical = 1h
""")
hs, room = w.hs, w.room
db_path = os.path.join(w.scribe.dir, "scribe.db")
ALICE, BOB, ELON = hs.uid("alice"), hs.uid("bob"), hs.uid("elon")


def bodies(since=0):
    return [ev["content"].get("body", "") for ev in w.bot_messages()[since:]]


def pings(since, text, timeout=10):
    """The first message of scribe after index since whose body starts
    with text (waits for it)."""
    def find():
        for ev in w.bot_messages()[since:]:
            if ev["content"].get("body", "").startswith(text):
                return ev
        return None
    return wait_for(find, timeout, "a message starting %r" % text)


def quiet(since, secs=1.5):
    """Nothing new from scribe for secs (it ticks twice a second)."""
    time.sleep(secs * SLOW)
    got = bodies(since)
    expect(not got, "unexpected messages: %r" % got)


def history(rid):
    return [r["history"] for r in w.scribe.records() if r["id"] == rid][0]


def t_due_ping():
    w.reply_to(hs.say("alice", room, "!todo @elon rotate keys due:+30m"))
    n = len(w.bot_messages())
    advance(24 * 60)
    quiet(n)  # the lead time is 5 minutes: not yet at 24
    advance(60 + 2)
    t0 = time.monotonic()
    ev = pings(n, "T1 is due in 5m", timeout=10)
    expect(time.monotonic() - t0 < 5 * SLOW, "the ping came late")
    c = ev["content"]
    expect(c["msgtype"] == "m.text", "a ping is m.text: %r" % c)
    expect(c["m.mentions"] == {"user_ids": [ELON]}, c["m.mentions"])
    expect("rotate keys" in c["body"] and "elon" in c["body"], c["body"])
    expect(any(h["field"] == "reminded" for h in history("T1")), "the ping is in the history")
    quiet(len(w.bot_messages()))  # once


def t_in_thread():
    root = hs.say("alice", room, "rack 3 is flaky")
    w.reply_to(hs.say("alice", room, "!todo @elon check rack 3 cables due:+10m",
                      **{"m.relates_to": {"rel_type": "m.thread", "event_id": root,
                                          "is_falling_back": True,
                                          "m.in_reply_to": {"event_id": root}}}))
    n = len(w.bot_messages())
    advance(10 * 60)
    ev = pings(n, "T2 is due now")
    rel = ev["content"].get("m.relates_to", {})
    expect(rel.get("rel_type") == "m.thread" and rel.get("event_id") == root,
           "the ping is in the item's thread: %r" % rel)


def t_escalation():
    w.reply_to(hs.say("alice", room, "!todo @elon database down critical"))
    n = len(w.bot_messages())
    advance(55 * 60)
    pings(n, "T3 is due in 5m")
    n = len(w.bot_messages())
    advance(5 * 60)
    ev = pings(n, "T3 missed its SLA")
    c = ev["content"]
    expect(sorted(c["m.mentions"]["user_ids"]) == sorted([ELON, BOB]),
           "its people and the room's escalation contact: %r" % c["m.mentions"])
    expect("escalated to bob" in c["body"] and "!ack T3" in c["body"], c["body"])
    ack = w.reply_to(hs.say("bob", room, "!ack T3 on it"))
    expect(ack["content"]["body"].startswith("Acknowledged T3"), ack["content"]["body"])
    expect(any(h["field"] == "ack" and h["actor"] == BOB for h in history("T3")),
           "the acknowledgement is recorded")
    n = len(w.bot_messages())
    advance(2 * 3600)  # past the second level: stopped
    quiet(n)


def due_of(rid):
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
    try:
        return db.execute("SELECT r.due, r.status FROM records r WHERE r.kind = 'reminder'"
                          " AND r.num = ?", (int(rid[1:]),)).fetchone()
    finally:
        db.close()


def reminders_for(text):
    return [b for b in bodies() if b.startswith("Reminder") and text in b]


def across_kill(point, text):
    w.reply_to(hs.say("alice", room, "!remind me in 10m %s" % text))
    expect(w.scribe.stop() == 0, "clean stop")
    advance(11 * 60)
    os.environ["SCRIBE_TEST_CRASH"] = point
    try:
        w.scribe.start()
        rc = w.scribe.proc.wait(30 * SLOW)
    finally:
        del os.environ["SCRIBE_TEST_CRASH"]
    w.scribe.err.close()
    expect(rc == -9, "scribe died at %s (exit %r)" % (point, rc))
    expect(not reminders_for(text), "nothing was sent before the kill")
    w.scribe.start()
    wait_for(lambda: reminders_for(text), 15, "the reminder after the restart")
    time.sleep(1.0 * SLOW)
    expect(len(reminders_for(text)) == 1, "sent once: %r" % reminders_for(text))


def t_kill_after_commit():
    # the firing and its message committed, the message not yet sent
    across_kill("remind-committed", "check the backups")


def t_kill_before_commit():
    # the message built and queued, nothing committed
    across_kill("remind-queued", "water the plants")


def t_downtime():
    for text in ["!todo @elon renew certs due:+2h", "!todo @bob order disks due:+3h",
                 "!remind here every day %s stand up" % time.strftime(
                     "%H:%M", time.gmtime(time.time() + offset[0] + 4 * 3600))]:
        w.reply_to(hs.say("alice", room, text))
    rid = "R%d" % max(int(r["id"][1:]) for r in w.scribe.records() if r["kind"] == "reminder")
    expect(w.scribe.stop() == 0, "clean stop")
    n = len(w.bot_messages())
    advance(3 * 86400)  # three days down: the daily reminder missed three times
    w.scribe.start()
    ev = pings(n, "While I was offline:", timeout=20)
    time.sleep(1.5 * SLOW)
    # (the daily digest of the days missed comes too, once: test_digest)
    new = [b for b in bodies(n) if not b.startswith("Digest for")]
    expect(len(new) == 1, "one message for the whole downtime, not %r" % new)
    body = ev["content"]["body"]
    for want in ["renew certs", "order disks", "stand up (%s, was for" % rid]:
        expect(want in body, "%r missing:\n%s" % (want, body))
    expect(body.count("stand up") == 1, "the daily reminder once:\n" + body)
    expect(sorted(ev["content"]["m.mentions"]["user_ids"]) == sorted([BOB, ELON]),
           ev["content"]["m.mentions"])
    due, status = due_of(rid)
    now = int(time.time()) + offset[0]
    expect(status == "pending" and now < due <= now + 86400,
           "the daily reminder moved to its next time (%r, now %d)" % (due, now))
    # and a restart sends none of it again
    expect(w.scribe.stop() == 0, "clean stop")
    w.scribe.start()
    w.reply_to(hs.say("alice", room, "!reminders"))
    quiet(len(w.bot_messages()))


for name, fn in [("a due ping at its minute, to its assignee, once", t_due_ping),
                 ("a due ping in the thread its item came from", t_in_thread),
                 ("an SLA escalation to the contacts; !ack stops the next level",
                  t_escalation),
                 ("a reminder across a SIGKILL after its commit is sent once",
                  t_kill_after_commit),
                 ("a reminder across a SIGKILL before its commit is sent once",
                  t_kill_before_commit),
                 ("after three days down: one message, the daily reminder once",
                  t_downtime)]:
    check(name, fn)
w.close()
shutil.rmtree(CLOCK_DIR, ignore_errors=True)
finish()
