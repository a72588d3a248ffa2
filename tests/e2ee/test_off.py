# SPDX-License-Identifier: MIT
"""[crypto] enabled = no: scribe still works in plain rooms, and never
sends plaintext into an encrypted one (its replies there are dropped
with a log line instead of waiting forever in the outbox)."""
import os
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

import harness  # noqa: E402
from harness import World, check, expect, wait_for  # noqa: E402

S = {}


def setup():
    S["w"] = World(encrypted=True, extra_conf="enabled = no")


def no_plaintext_into_encrypted_room():
    w = S["w"]
    ev = w.hs.say("alice", w.room, "!todo plain text in an encrypted room")
    # Element marks such a message "not encrypted" and a homeserver can
    # forge it: never a command, whatever scribe's own encryption
    wait_for(lambda: "sent in the clear in an encrypted room" in w.scribe.stderr(), 20,
             "scribe to ignore it with a log line")
    expect(not w.bot_messages(), "scribe sent nothing: %r" % w.bot_messages())
    db = os.path.join(w.tmp, "scribe.db")
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        n = c.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        c.close()
    expect(n == 0, "the outbox is empty: %d" % n)
    expect(not any(r["event_id"] == ev for r in w.scribe.records()),
           "the plaintext command was not recorded")


def plain_room_still_answered():
    w = S["w"]
    room = w.hs.create_room("alice", invite=["scribe"])
    wait_for(lambda: any(ev["type"] == "m.room.member" and ev.get("state_key") ==
                         "@scribe:localhost" and ev["content"].get("membership") == "join"
                         for ev in w.hs.room_events(room)), 20, "scribe to join")
    ev = w.hs.say("alice", room, "!todo in the clear")

    def reply():
        for e in w.hs.room_events(room):
            rel = e["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
            if e["sender"] == "@scribe:localhost" and rel.get("event_id") == ev:
                return e
        return None
    r = wait_for(reply, 20, "scribe's reply in the plain room")
    expect(r["type"] == "m.room.message", "a plain reply: %r" % r["type"])
    expect("/keys/upload" not in str([q["path"] for q in w.hs.requests()]),
           "no keys uploaded with encryption off")


def main():
    try:
        check("off: setup with [crypto] enabled = no", setup)
        check("off: a plaintext command in an encrypted room is ignored, nothing sent",
              no_plaintext_into_encrypted_room)
        check("off: plain rooms work as before", plain_room_still_answered)
    finally:
        if "w" in S:
            S["w"].close()
    harness.finish()


if __name__ == "__main__":
    main()
