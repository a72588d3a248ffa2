# SPDX-License-Identifier: MIT
"""Meetings with the real binary: MeetBot's #startmeeting, a chair who
is not the starter, a restart (SIGKILL) in the middle of the meeting
that keeps it running, and a meeting left running that scribe ends by
itself after [meeting] max_duration (here 15 s), posting its minutes
once, with nothing more after another restart. The rules themselves are
tests/cmd/meeting-*.txt and tests/unit/test_minutes.c (injected clock)."""
import signal
import time

from harness import World, check, expect, finish, wait_for

w = World(extra_conf="[meeting]\nmax_duration = 15s\n")
hs, room = w.hs, w.room


def bodies(prefix):
    return [ev["content"].get("body", "") for ev in w.bot_messages()
            if ev["content"].get("body", "").startswith(prefix)]


def record(short_id):
    for r in w.scribe.records():
        if r["id"] == short_id:
            return r
    return None


def t_restart_keeps_meeting():
    start = hs.say("alice", room, "#startmeeting weekly ops")
    body = w.reply_to(start)["content"]["body"]
    expect(body.startswith("Meeting M1 started: weekly ops"), body)
    chair = hs.say("alice", room, "#chair @bob")
    body = w.reply_to(chair)["content"]["body"]
    expect(body == "Chairs of M1: alice, bob", body)
    # killed mid-meeting, started again
    expect(w.scribe.kill(signal.SIGKILL) == -signal.SIGKILL, "killed")
    w.scribe.start()
    todo = hs.say("elon", room, "#action @elon restore the backups")
    body = w.reply_to(todo, timeout=30)["content"]["body"]
    expect(body.startswith("Noted T1 restore the backups"), body)
    expect(record("T1")["status"] == "open", record("T1"))
    topic = hs.say("bob", room, "#topic backups")
    body = w.reply_to(topic)["content"]["body"]
    expect(body == "Topic: backups", "bob chairs after the restart: %r" % body)


def t_autoend_posts_minutes_once():
    # nobody ends it: max_duration (15 s) after its start scribe does
    wait_for(lambda: bodies("M1 ran for"), 45, "the automatic end")
    got = bodies("M1 ran for")
    expect(len(got) == 1, got)
    body = got[0]
    for want in ["M1 ran for 15s, the longest a meeting runs here ([meeting] max_duration), "
                 "and was ended by scribe.\nMinutes of M1: weekly ops",
                 "Topics:\n- backups", "Action items:\n- [ ] elon: restore the backups (T1)"]:
        expect(want in body, "the minutes lack %r:\n%s" % (want, body))
    expect(record("M1")["status"] == "ended", record("M1"))
    # tags are chat again; a restart posts nothing more
    expect(w.scribe.stop() == 0, "clean stop")
    w.scribe.start()
    ev = hs.say("alice", room, "!meeting")
    body = w.reply_to(ev, timeout=30)["content"]["body"]
    expect(body.startswith("No meeting is running here."), body)
    time.sleep(3)
    expect(len(bodies("M1 ran for")) == 1, bodies("M1 ran for"))


for name, fn in [("a restart in the middle of a meeting keeps it running", t_restart_keeps_meeting),
                 ("a meeting left running is ended once, with its minutes",
                  t_autoend_posts_minutes_once)]:
    check(name, fn)
w.close()
finish()
