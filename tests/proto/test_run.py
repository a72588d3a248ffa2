# SPDX-License-Identifier: MIT
"""scribe run, the real binary, against the test homeserver: a command
becomes a pinging reply, replies are deterministic-txn PUTs, the record
survives a restart, SIGTERM exits 0. The wider scenarios are in
test_bot.py (edits, redactions, votes, threads), test_transport.py (gaps,
faults, SIGKILL, invites, revoked token), test_digest.py and test_nio.py."""
import signal

from harness import World, check, expect, finish

w = World()
hs, room = w.hs, w.room
state = {}


def t_todo_reply():
    ev = hs.say("alice", room, "!todo @elon pick tracker")
    state["ev"] = ev
    c = w.reply_to(ev)["content"]
    # people by name in the room (issue 20): elon has no display name
    expect(c["body"] == "Recorded T1 pick tracker — elon", c["body"])
    expect(c["msgtype"] == "m.text", c)
    expect(c["m.mentions"] == {"user_ids": ["@elon:localhost"]}, c)
    expect(c["m.relates_to"] == {"m.in_reply_to": {"event_id": ev}}, c)
    expect('<a href="https://matrix.to/#/@elon:localhost">' in c["formatted_body"], c)


def t_txn_id_from_event():
    sends = [r for r in hs.requests() if r["method"] == "PUT" and "/send/m.room.message/" in r["path"]
             and "scribe." in r["path"]]
    expect(sends, "scribe sent with a derived txn id")
    expect(any(state["ev"][1:] in r["path"] for r in sends), [r["path"] for r in sends])


def t_notice_reply():
    ev = hs.say("alice", room, "!decide use Linear because it is fast")
    c = w.reply_to(ev)["content"]
    expect(c["msgtype"] == "m.notice" and c["m.mentions"] == {}, c)
    expect(c["body"] == "Recorded decision D1: use Linear (because it is fast)", c["body"])


def t_restart_keeps_record():
    expect(w.scribe.kill(signal.SIGTERM) == 0, "SIGTERM exit status 0")
    w.scribe.start()
    ev = hs.say("alice", room, "!todos")
    c = w.reply_to(ev)["content"]
    expect(c["body"] == "elon\n  T1 pick tracker", c["body"])
    expect(len(w.replies_to(state["ev"])) == 1, "the first command was not answered twice")


for name, fn in [("a !todo becomes a record and a pinging reply", t_todo_reply),
                 ("replies use transaction ids derived from the command", t_txn_id_from_event),
                 ("a decision gets a notice that pings nobody", t_notice_reply),
                 ("records survive a restart, no reply is repeated", t_restart_keeps_record)]:
    check(name, fn)
w.close()
finish()
