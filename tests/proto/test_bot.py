# SPDX-License-Identifier: MIT
"""The real scribe binary in a room of the test homeserver: commands,
replies, threads, edits, redactions, votes, history before the join,
receipts, invites, meetings, `scribe log` from a script and a clean
stop."""
import os
import signal
import subprocess

from harness import SCRIBE, World, check, expect, finish, wait_for

w = World()
hs, room = w.hs, w.room


def record(short_id):
    for r in w.scribe.records():
        if r["id"] == short_id:
            return r
    return None


def t_todo_reply():
    ev = hs.say("alice", room, "!todo @elon pick tracker")
    rep = w.reply_to(ev)
    c = rep["content"]
    # people by name in the room (issue 20): elon has no display name
    expect(c["body"] == "Recorded T1 pick tracker — elon", c["body"])
    expect('<a href="https://matrix.to/#/@elon:localhost">elon</a>' in c["formatted_body"],
           c["formatted_body"])
    expect(c["msgtype"] == "m.text", "a new assignee is pinged with m.text: %r" % c["msgtype"])
    expect(c["m.mentions"] == {"user_ids": ["@elon:localhost"]}, c["m.mentions"])
    expect(c["format"] == "org.matrix.custom.html", c)
    expect("<b>T1</b>" in c["formatted_body"], c["formatted_body"])
    r = record("T1")
    expect(r and r["text"] == "pick tracker" and r["assignees"] == ["@elon:localhost"], r)
    expect(r["event_id"] == ev and r["room"] == room, r)


def t_notice_and_html_escape():
    ev = hs.say("alice", room, "!decide use <b>Linear</b> because it is fast")
    c = w.reply_to(ev)["content"]
    expect(c["msgtype"] == "m.notice", c)
    expect(c["m.mentions"] == {}, "a notice pings nobody: %r" % c["m.mentions"])
    expect("&lt;b&gt;Linear&lt;/b&gt;" in c["formatted_body"], c["formatted_body"])
    expect(c["body"] == "Recorded decision D1: use <b>Linear</b> (because it is fast)", c["body"])


def t_thread():
    root = hs.say("alice", room, "deploy thread")
    ev = hs.say("alice", room, "!log deployed api v2 #api",
                **{"m.relates_to": {"rel_type": "m.thread", "event_id": root,
                                    "is_falling_back": True,
                                    "m.in_reply_to": {"event_id": root}}})
    rel = w.reply_to(ev)["content"]["m.relates_to"]
    expect(rel.get("rel_type") == "m.thread" and rel.get("event_id") == root, rel)
    expect(rel.get("is_falling_back") is True, rel)


def t_edit_updates_record():
    ev = hs.say("alice", room, "!todo @bob renew certs")
    w.reply_to(ev)
    rid = [r for r in w.scribe.records() if r.get("event_id") == ev][0]["id"]
    edit = hs.edit("alice", room, ev, "!todo @bob renew TLS certs due:2026-12-24")
    rep = w.reply_to(edit)
    expect(rep["content"]["body"] == "Updated %s: renew TLS certs" % rid, rep["content"]["body"])
    r = record(rid)
    expect(r["text"] == "renew TLS certs", r)
    expect(r["due"] is not None and r["due"].startswith("2026-12-24"), r)
    fields = [h["field"] for h in r["history"]]
    expect("text" in fields and "due" in fields, fields)


def t_redaction_withdraws():
    ev = hs.say("alice", room, "!log wrong host #web9")
    w.reply_to(ev)
    rid = [r for r in w.scribe.records() if r.get("event_id") == ev][0]["id"]
    hs.redact("alice", room, ev)
    wait_for(lambda: record(rid)["withdrawn"], what="the record to be withdrawn")
    # the notice is sent after the batch commits: wait for it too
    wait_for(lambda: any("withdrawn" in m["content"].get("body", "") for m in w.bot_messages()),
             what="a notice that says it was withdrawn")


def t_votes():
    ev = hs.say("bob", room, "!propose shortlinks in git because gdocs are not versioned")
    rep = w.reply_to(ev)
    did = [r for r in w.scribe.records() if r.get("event_id") == ev][0]["id"]
    hs.react("alice", room, rep["event_id"], "👍")
    hs.react("elon", room, rep["event_id"], "👍️")   # with the variation selector
    meh = hs.react("bob", room, rep["event_id"], "🤷")
    wait_for(lambda: record(did)["votes"] == {"up": 2, "down": 0, "meh": 1},
             what="votes 2/0/1")
    hs.redact("bob", room, meh)
    wait_for(lambda: record(did)["votes"] == {"up": 2, "down": 0, "meh": 0},
             what="the redacted vote to be uncounted")
    acc = hs.say("alice", room, "!accept %s" % did)
    body = w.reply_to(acc)["content"]["body"]
    expect("check-in: 2 👍 · 0 👎 · 0 🤷" in body, body)


def t_ignores_notices_and_itself():
    before = len(w.bot_messages())
    hs.send("alice", room, {"msgtype": "m.notice", "body": "!todo @elon loop"})
    ev = hs.say("alice", room, "!todos mine")
    w.reply_to(ev)
    expect(len(w.bot_messages()) == before + 1, "only the !todos got a reply")
    expect(not any(r["text"] == "loop" for r in w.scribe.records()), "notice not recorded")


def t_own_replies_not_stored():
    # scribe's replies come back in its sync: skipped without a write
    first = hs.say("alice", room, "!help")
    w.reply_to(first)
    second = hs.say("alice", room, "!help todo")
    w.reply_to(second)  # the first reply came back before this command
    seen = w.scribe.seen_event_ids()
    expect(first in seen and second in seen, "the commands are remembered")
    mine = [ev["event_id"] for ev in w.bot_messages()][:-1]
    expect(len(mine) > 2, "scribe has replied: %d" % len(mine))
    stored = [e for e in mine if e in seen]
    expect(not stored, "own replies remembered: %d of %d" % (len(stored), len(mine)))


def t_receipt():
    ev = hs.say("alice", room, "!help todo")
    w.reply_to(ev)
    def receipt_sent():
        return [r for r in hs.requests() if "/receipt/m.read/" in r["path"]]
    expect(wait_for(receipt_sent, what="a read receipt"), "receipt")


def t_unknown_command_and_bad_input():
    ev = hs.say("alice", room, "!todo @nobody fix")
    expect(w.reply_to(ev)["content"]["body"] == "nobody called '@nobody' in this room", "reply")


def t_history_before_join_ignored():
    # a second room where commands were typed before scribe joined
    r2 = hs.create_room("alice", name="old")
    old = hs.say("alice", r2, "!todo @alice from before the bot")
    hs.invite("alice", r2, "scribe")
    wait_for(lambda: any(ev["type"] == "m.room.member" and ev.get("state_key") == "@scribe:localhost"
                         and ev["content"].get("membership") == "join" for ev in hs.room_events(r2)),
             what="join of the second room")
    new = hs.say("alice", r2, "!todo @alice after the bot")
    w_reply = wait_for(lambda: [e for e in hs.room_events(r2) if e["sender"] == "@scribe:localhost"
                                and e["type"] == "m.room.message"], what="reply in room 2")
    expect(len(w_reply) == 1, "one reply only: %r" % [e["content"]["body"] for e in w_reply])
    texts = [r["text"] for r in w.scribe.records()]
    expect("after the bot" in texts and "from before the bot" not in texts, texts)
    expect(old != new, "")


def t_invited_joined():
    hs.login("bob")
    r3 = hs.create_room("bob", name="bob's")
    # bob is allowed (*:localhost); declining is in test_transport.py
    hs.invite("bob", r3, "scribe")
    wait_for(lambda: any(ev["type"] == "m.room.member" and ev.get("state_key") == "@scribe:localhost"
                         and ev["content"].get("membership") == "join" for ev in hs.room_events(r3)),
             what="join of an allowed inviter's room")


def t_meeting_minutes():
    start = hs.say("alice", room, "!meeting start Weekly ops")
    expect(w.reply_to(start)["content"]["body"].startswith("Meeting M1 started: Weekly ops"), "start")
    hs.say("alice", room, "!topic backups")
    hs.say("bob", room, "#todo elon: restore the backups")
    hs.say("elon", room, "#info the inventory sheet is current")
    hs.say("bob", room, "#decision backups run nightly because disks are cheap")
    end = hs.say("alice", room, "!meeting end")
    body = w.reply_to(end)["content"]["body"]
    for want in ["Minutes of M1: Weekly ops", "Attendees: alice, bob, elon", "Topics:\n- backups",
                 "- the inventory sheet is current (elon)",
                 "backups run nightly (because disks are cheap)",
                 "Action items:\n- [ ] elon: restore the backups (T"]:
        expect(want in body, "minutes lack %r:\n%s" % (want, body))
    m = record("M1")
    expect(m["status"] == "ended", m)
    made = [r for r in w.scribe.records() if r["text"] == "restore the backups"]
    expect(made and made[0]["assignees"] == ["@elon:localhost"], made)


def t_scribe_log_announced():
    # a deploy script, while the bot runs
    script = os.path.join(w.scribe.dir, "deploy.sh")
    with open(script, "w") as f:
        f.write('#!/bin/sh\nexec "$SCRIBE" log -c "$CONF" --room ops --tag web1 --deploy '
                'rolled out nginx 1.25\n')
    r = subprocess.run(["sh", script], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, SCRIBE=SCRIBE, CONF=w.scribe.conf))
    expect(r.returncode == 0, "scribe log failed (%d): %s" % (r.returncode, r.stderr))
    ann = wait_for(lambda: [m for m in w.bot_messages()
                            if "rolled out nginx 1.25" in m["content"].get("body", "")],
                   30, "the announcement in the room")
    expect(len(ann) == 1, "announced once: %r" % [m["content"]["body"] for m in ann])
    body = ann[0]["content"]["body"]
    expect(body.startswith("Logged C") and "#web1" in body and "#deploy" in body, body)
    rec = [x for x in w.scribe.records() if x["text"] == "rolled out nginx 1.25"]
    expect(rec and rec[0]["kind"] == "change" and rec[0]["tags"] == ["web1", "deploy"], rec)
    r = subprocess.run([SCRIBE, "log", "-c", w.scribe.conf, "--room", "!nowhere:localhost",
                        "nothing"], capture_output=True, text=True, timeout=60)
    expect(r.returncode == 4 and "unknown room" in r.stderr, (r.returncode, r.stderr))


def t_sigterm_clean():
    rc = w.scribe.kill(signal.SIGTERM)
    expect(rc == 0, "exit status %r after SIGTERM" % rc)
    expect("stopping" in w.scribe.stderr(), "logs that it stops")


for name, fn in [("todo becomes a record and a pinging reply", t_todo_reply),
                 ("notice reply with escaped html", t_notice_and_html_escape),
                 ("a command in a thread is answered in the thread", t_thread),
                 ("an edit updates the record", t_edit_updates_record),
                 ("a redaction withdraws the record", t_redaction_withdraws),
                 ("reactions on a proposal are votes; a redacted vote is uncounted", t_votes),
                 ("notices are never commands", t_ignores_notices_and_itself),
                 ("scribe's own replies are not stored when they come back",
                  t_own_replies_not_stored),
                 ("read receipts are sent", t_receipt),
                 ("bad input gets a clear reply", t_unknown_command_and_bad_input),
                 ("history from before the join is ignored", t_history_before_join_ignored),
                 ("an allowed inviter's room is joined", t_invited_joined),
                 ("a meeting records its items and posts minutes", t_meeting_minutes),
                 ("scribe log from a script is announced in the room", t_scribe_log_announced),
                 ("SIGTERM finishes and exits 0", t_sigterm_clean)]:
    check(name, fn)
w.close()
finish()
