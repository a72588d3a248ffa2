# SPDX-License-Identifier: MIT
"""Hostile input from room members and from the homeserver: each case was
seen against a real Synapse (1.67 and 1.160). The real scribe binary
against the test homeserver, which forwards the same JSON Synapse does.

A check that scribe "still answers" sends an ordinary command after the
hostile event and waits for its reply: scribe handles a sync's events in
order, so that reply also proves the hostile event was got past.
"""
import os
import re
import shutil
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import World, check, expect, finish, wait_for  # noqa: E402

SCRIBE = "@scribe:localhost"


def still_answers(w, user="alice", room=None):
    """An ordinary command after the hostile event gets its reply."""
    room = room or w.room
    ev = w.hs.say(user, room, "!todo @bob after the storm %d" % time.monotonic_ns())

    def find():
        for e in w.hs.room_events(room):
            if not isinstance(e.get("content"), dict):
                continue  # injected raw content
            rel = e["content"].get("m.relates_to", {})
            if (e["sender"] == SCRIBE and
                    rel.get("m.in_reply_to", {}).get("event_id") == ev):
                return e
        return None
    wait_for(find, 20, "scribe's reply to %s" % ev)
    return ev


def reply_body(w, ev):
    return w.reply_to(ev, timeout=20)["content"]["body"]


def stalls_not(content_fn, name):
    def run():
        w = World()
        try:
            content_fn(w)
            still_answers(w)
        finally:
            w.close()
    check(name, run)


def nul_body(w):
    w.hs.send("bob", w.room, {"msgtype": "m.text", "body": "hello \x00 world"})


def raw_event(w, text, b64=None):
    """An event whose content is the JSON text as given: what Synapse
    refuses in room versions 6 and up (a lone surrogate is a 500 there,
    a big integer a 400) but older rooms, other servers and federation
    deliver."""
    spec = {"room_id": w.room, "type": "m.room.message", "sender": "@bob:localhost"}
    if b64:
        spec["content_raw_b64"] = b64
    else:
        spec["content_raw"] = text
    w.hs.call("POST", "/_test/event", spec)


def lone_surrogate(w):
    raw_event(w, '{"msgtype":"m.text","body":"x \\udc00 y"}')


def huge_int(w):
    raw_event(w, '{"msgtype":"m.text","body":"big","n":123456789012345678901234567890,'
              '"r":1e999}')


def deep_and_duplicate(w):
    raw_event(w, '{"msgtype":"m.text","body":"deep","d":' + "[" * 5000 + "]" * 5000 +
              ',"body":"dup","k\\u0000":1}')


def invalid_utf8(w):
    import base64
    raw_event(w, None, base64.b64encode(b'{"msgtype":"m.text","body":"bad \xff\xfe"}').decode())


def to_device_nul(w):
    # from any user, no room shared needed: straight to scribe's device
    path = "/_matrix/client/v3/sendToDevice/m.custom/t%d" % time.monotonic_ns()
    w.hs.call("PUT", path, {"messages": {SCRIBE: {"*": {
        "a": "\x00", "b": "\udc00", "n": 123456789012345678901234567890}}}}, user="bob")


stalls_not(nul_body, "a NUL in a message does not stop the sync")
stalls_not(lone_surrogate, "a lone surrogate in a message does not stop the sync")
stalls_not(huge_int, "an integer past int64 does not stop the sync")
stalls_not(to_device_nul, "hostile to-device content does not stop the sync")
stalls_not(deep_and_duplicate, "deep nesting, duplicate keys and NUL keys do not stop the sync")
stalls_not(invalid_utf8, "invalid UTF-8 from the server does not stop the sync")


def nul_command():
    w = World()
    try:
        ev = w.hs.send("bob", w.room, {"msgtype": "m.text", "body": "!todo @bob x \x00 y"})
        body = reply_body(w, ev)
        expect("NUL" in body, "reply says why: %r" % body)
        expect(w.scribe.record_count() == 0, "nothing recorded")
        raw_event(w, '{"msgtype":"m.text","body":"!todo @bob x \\udc00 y"}')
        ev = w.hs.say("alice", w.room, "!todos")
        body = reply_body(w, ev)
        expect("no open" in body.lower() or "T1" not in body, "nothing recorded: %r" % body)
        bot = [e["content"]["body"] for e in w.bot_messages()]
        expect(sum("invalid" in b for b in bot) >= 2, "both refused: %r" % bot)
        expect(w.scribe.record_count() == 0, "nothing recorded")
    finally:
        w.close()


check("a command with a NUL or a bad escape gets a clear reply, no record", nul_command)


def back_fill_with_hostile_event():
    w = World()
    try:
        w.scribe.stop()
        w.hs.send("bob", w.room, {"msgtype": "m.text", "body": "hello \x00 world"})
        ids = [w.hs.say("alice", w.room, "!todo @bob gap %d" % i) for i in range(30)]
        w.scribe.start()
        w.expect_exactly_once(ids, timeout=60)
    finally:
        w.close()


check("a back-filled gap with a NUL event is handled exactly once", back_fill_with_hostile_event)


def state_spoofing():
    w = World()
    try:
        # a power_levels event with a state key is no room state
        w.hs.call("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.power_levels/evil"
                  % urllib.parse.quote(w.room),
                  {"users": {"@bob:localhost": 100, "@alice:localhost": 100,
                             SCRIBE: 100}}, user="alice")
        w.hs.call("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.name/evil"
                  % urllib.parse.quote(w.room), {"name": "spoofed"}, user="alice")
        still_answers(w)
        ev = w.hs.say("bob", w.room, "!decide use Linear")
        reply_body(w, ev)
        ev = w.hs.say("bob", w.room, "!supersede D1 use Jira")
        body = reply_body(w, ev)
        expect("needs power level" in body, "bob is still power 0: %r" % body)
    finally:
        w.close()


check("state events with a non-empty state_key are not the room's state", state_spoofing)


def at_room_not_echoed():
    w = World()
    try:
        ev = w.hs.say("alice", w.room, "!todo @bob tell @room everyone, and @elon:localhost"
                      ", Elon and ALICE")
        reply = w.reply_to(ev)
        c = reply["content"]
        expect(c["msgtype"] == "m.text", "a pinging reply: %r" % c)
        expect("@room" not in c["body"], "no bare @room in the body: %r" % c["body"])
        expect("@elon:localhost" not in c["body"], "no bare id of elon: %r" % c["body"])
        # older servers' push rules highlight a member's name or localpart
        for name in ("elon", "alice"):
            expect(not re.search(r"(?i)(^|\W)%s(\W|$)" % name, c["body"]),
                   "no whole %s in the body: %r" % (name, c["body"]))
        expect("Elon and ALICE" in c["formatted_body"], "the HTML keeps the text")
        # the assignee shows by name (issue 20), whole: a server without
        # m.mentions pings them by their name, as Element's rules do
        expect(c["body"].endswith(" — bob"), "the assignee stays pingable: %r" % c["body"])
        expect(c["m.mentions"] == {"user_ids": ["@bob:localhost"]}, "mentions: %r" % c)
    finally:
        w.close()


check("a pinging reply does not echo @room or other user ids into its body",
      at_room_not_echoed)


def power_before_join():
    w = World(users=("alice", "bob", "elon"))
    try:
        # judy gets 100 before she joins
        w.hs.call("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.power_levels/"
                  % urllib.parse.quote(w.room),
                  {"users": {"@alice:localhost": 100, "@judy:localhost": 100},
                   "users_default": 0}, user="alice")
        w.hs.call("POST", "/_matrix/client/v3/register",
                  {"username": "judy", "password": "pw-judy"})
        w.hs.login("judy")
        w.hs.invite("alice", w.room, "judy")
        w.hs.join("judy", w.room)
        ev = w.hs.say("alice", w.room, "!decide use Linear")
        reply_body(w, ev)
        ev = w.hs.say("judy", w.room, "!supersede D1 use Jira")
        body = reply_body(w, ev)
        expect("supersedes" in body, "judy has her power: %r" % body)
    finally:
        w.close()


check("a power level given before someone joins counts when they join", power_before_join)


def new_store_no_second_answers():
    w = World()
    try:
        ids = [w.hs.say("alice", w.room, "!todo @bob before %d" % i) for i in range(5)]
        w.expect_exactly_once(ids, timeout=30)
        w.scribe.stop()
        # a reinstall: a new store (and device) for the same account
        for name in os.listdir(w.tmp):
            if name.startswith("scribe.db") or name in ("token", "pickle.key"):
                os.unlink(os.path.join(w.tmp, name))
        w.scribe.login()
        w.scribe.start()
        # what is said once the new store runs is answered
        wait_for(lambda: w.scribe.stderr().count("running as") == 2, 20, "scribe to run")
        after = still_answers(w)
        counts = w.reply_counts()
        for i in ids:
            expect(counts.get(i, 0) == 1, "%s answered %d times" % (i, counts.get(i, 0)))
        expect(counts.get(after) == 1, "the new command answered once")
    finally:
        w.close()


check("a new store never answers commands sent before it existed",
      new_store_no_second_answers)


def too_large_record():
    w = World()
    try:
        ev = w.hs.say("alice", w.room, "!todo @bob " + "<" * 16300)
        body = reply_body(w, ev)
        expect(body.startswith("Recorded T1"), "recorded: %r" % body[:80])
        ev = w.hs.say("alice", w.room, "!todo @bob small one")
        reply_body(w, ev)
        for cmd in ("!todos", "!digest", "!search small", "!catchup"):
            ev = w.hs.say("alice", w.room, cmd)
            body = reply_body(w, ev)
            expect(len(body) < 40000, "%s fits: %d bytes" % (cmd, len(body)))
    finally:
        w.close()


check("one huge record does not take the room's replies down", too_large_record)


def plaintext_in_encrypted_room():
    w = World(encrypted=True)
    try:
        plain = w.hs.create_room("alice", invite=["bob"], name="plain")
        w.hs.join("bob", plain)
        w.hs.invite("alice", plain, "scribe")
        wait_for(lambda: any(e["type"] == "m.room.member" and e.get("state_key") == SCRIBE
                             and e["content"].get("membership") == "join"
                             for e in w.hs.room_events(plain)), what="scribe joins")
        ev = w.hs.say("alice", w.room, "!todo @bob forged in the clear")
        still_answers(w, room=plain)
        expect(not w.replies_to(ev), "no reply to a plaintext command")
        expect(not any(r["text"] == "forged in the clear" for r in w.scribe.records()),
               "nothing recorded")
        expect("sent in the clear in an encrypted room" in w.scribe.stderr(),
               "logged")
    finally:
        w.close()


check("plaintext commands in an encrypted room are ignored", plaintext_in_encrypted_room)

finish()
