# SPDX-License-Identifier: MIT
"""The scheduled digest posted by the real binary. scribe was "down" over
a digest slot (the test moves the room's last digest back two days while
scribe is stopped, as a long outage would leave it); on return it posts
one digest covering the whole gap, pings only the owner of the overdue
item, and never posts it again after a restart. The scheduling rules
themselves (zones, DST, crashes around the send) are unit-tested with an
injected clock in tests/unit/test_digest.c."""
import os
import re
import sqlite3
import time

from harness import World, check, expect, finish, wait_for

w = World(extra_conf="[digest]\ntime = 00:00\ndays = mon-sun\n")
hs, room = w.hs, w.room
db_path = os.path.join(w.scribe.dir, "scribe.db")


def digests():
    return [ev for ev in w.bot_messages() if ev["content"].get("body", "").startswith("Digest for")]


def last_digest():
    db = sqlite3.connect(db_path, timeout=10)
    try:
        return db.execute("SELECT last_digest FROM rooms WHERE room_id = ?", (room,)).fetchone()[0]
    finally:
        db.close()


def t_setup():
    # overdue by the scheduled digest: a date in the past is refused
    # (issue 20), one a second ahead is past soon enough
    for text in ["!decide use Linear because it is fast", "!log deployed api v2 #api",
                 "!todo @elon renew certs due:+1s", "!todo @bob order disks",
                 "!incident critical db down"]:
        w.reply_to(hs.say("alice", room, text))
    before = last_digest()
    ev = hs.say("alice", room, "!digest")
    c = w.reply_to(ev)["content"]
    expect(c["body"].startswith("Digest for "), c["body"])
    expect(last_digest() == before, "!digest moved the schedule")


def t_scheduled_after_downtime():
    expect(w.scribe.stop() == 0, "clean stop")
    before = len(digests())
    db = sqlite3.connect(db_path, timeout=10)
    with db:
        db.execute("UPDATE rooms SET last_digest = ? WHERE room_id = ?",
                   (int(time.time()) - 2 * 86400, room))
    db.close()
    # windows are [from, to) in whole seconds: an item made in the very
    # second of a digest belongs to the next one, so let that second pass
    time.sleep(1.1)
    w.scribe.start()
    wait_for(lambda: len(digests()) > before, 30, "the scheduled digest")
    time.sleep(0.3)
    expect(len(digests()) == before + 1, "one digest for the whole gap, not %r" % [
        e["content"]["body"] for e in digests()[before:]])
    d = digests()[-1]["content"]
    # what a reader sees: the word joiners that keep names in the plain
    # body from pinging on older servers are invisible
    body = d["body"].replace("\u2060", "")
    for want in ["1 decision, 1 change, 1 incident, 2 open action items (1 overdue)",
                 "- D1 use Linear (because it is fast)", "deployed api v2",
                 "- I1 [critical] db down", "- [ ] elon: renew certs (T1, due", "overdue)",
                 "- [ ] bob: order disks (T2)"]:
        expect(want in body, "digest lacks %r:\n%s" % (want, body))
    expect(body.index("elon: renew certs") < body.index("bob: order disks"), "overdue first")
    expect(d["msgtype"] == "m.text", "the overdue owner is pinged: %r" % d["msgtype"])
    expect(d["m.mentions"] == {"user_ids": ["@elon:localhost"]}, d["m.mentions"])
    # and bob, named but not overdue, is no word a push rule could match
    expect(not re.search(r"(?i)(^|\W)bob(\W|$)", d["body"]), "bob's name whole: %r" % d["body"])
    expect(d.get("format") == "org.matrix.custom.html" and "<b>Digest for" in d["formatted_body"], d)
    expect(last_digest() > int(time.time()) - 120, "the window end is stored")


def t_no_second_digest():
    n = len(digests())
    expect(w.scribe.stop() == 0, "clean stop")
    w.scribe.start()
    w.reply_to(hs.say("alice", room, "!todos"))  # the loop has run since
    time.sleep(0.5)
    expect(len(digests()) == n, "a restart posted the digest again")


for name, fn in [("!digest on demand posts now", t_setup),
                 ("after downtime one digest covers the gap and pings only overdue owners",
                  t_scheduled_after_downtime),
                 ("a restart never posts the same digest twice", t_no_second_digest)]:
    check(name, fn)
w.close()
finish()
