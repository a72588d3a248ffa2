# SPDX-License-Identifier: MIT
"""Room upgrades (m.room.tombstone): scribe follows the room to its
replacement, takes the room's record along, and posts no more in the old
room (where, on a real server, it could no longer post: the upgrade
raises the old room's power levels, and every reply and digest there was
refused with 403 for good).
"""
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import World, check, expect, finish, wait_for  # noqa: E402

SCRIBE = "@scribe:localhost"


def reply_in(w, room, ev, timeout=20):
    def find():
        for e in w.hs.room_events(room):
            rel = e["content"].get("m.relates_to", {}) if isinstance(e.get("content"), dict) else {}
            if e["sender"] == SCRIBE and rel.get("m.in_reply_to", {}).get("event_id") == ev:
                return e
        return None
    return wait_for(find, timeout, "scribe's reply to %s" % ev)


def joined(w, room):
    return any(e["type"] == "m.room.member" and e.get("state_key") == SCRIBE
               and e["content"].get("membership") == "join" for e in w.hs.room_events(room))


def tombstone(w, old, new):
    w.hs.call("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.tombstone/"
              % urllib.parse.quote(old),
              {"body": "This room has been replaced", "replacement_room": new}, user="alice")


def upgrade():
    w = World()
    try:
        ev = w.hs.say("alice", w.room, "!todo @bob rotate keys")
        reply_in(w, w.room, ev)
        ev = w.hs.say("alice", w.room, "!decide use Linear")
        reply_in(w, w.room, ev)
        new = w.hs.create_room("alice", invite=["bob"], name="ops")
        w.hs.join("bob", new)
        tombstone(w, w.room, new)
        # scribe is not invited yet: it tries to join, then the invite
        # comes, and it follows even without a room allow-list entry
        time.sleep(1)
        w.hs.invite("alice", new, "scribe")
        wait_for(lambda: joined(w, new), 20, "scribe to join the new room")
        ev = w.hs.say("alice", new, "!todos")
        body = reply_in(w, new, ev)["content"]["body"]
        expect("T1" in body and "rotate keys" in body, "the old room's todos: %r" % body)
        ev = w.hs.say("alice", new, "!decisions")
        body = reply_in(w, new, ev)["content"]["body"]
        expect("use Linear" in body, "the old room's decisions: %r" % body)
        recs = w.scribe.records()
        expect(all(r["room"] == new for r in recs), "every record is the new room's: %r"
               % [(r["id"], r["room"]) for r in recs])
        # the old room: nothing answered any more
        before = len(w.bot_messages())
        ev_old = w.hs.say("bob", w.room, "!todo @bob in the old room")
        ev = w.hs.say("alice", new, "!todo @bob in the new room")
        reply_in(w, new, ev)
        expect(len(w.bot_messages()) == before, "scribe posted in the old room: %r"
               % w.bot_messages()[before:])
        expect(not any(r["event_id"] == ev_old for r in w.scribe.records()),
               "nothing recorded from the old room")
        expect("was upgraded to" in w.scribe.stderr(), "the upgrade is logged")
    finally:
        w.close()


check("a room upgrade takes the record along; the old room gets nothing more", upgrade)
finish()
