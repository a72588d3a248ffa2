# SPDX-License-Identifier: MIT
"""The outbox while a backlog is handled and after it.

- The outbox is emptied in one go: a batch that queues more replies than
  one outbox read (1,024) sends all of them before scribe syncs again,
  instead of one read per flush with the rest waiting behind a sync
  long-poll (the bug bench/ found: bot_flush_outbox's loop test read the
  batch size after pending_clear had zeroed it).
- Replies leave while the backlog is still read: each back-filled page
  is committed, and its replies are sent while scribe fetches and
  handles the next pages, in command order and once each.
- They keep leaving while scribe waits for a slow page: the replies
  travel on a thread of their own, not only between two events.
- A backlog in several rooms queues its replies room after room; the
  rooms' replies still travel side by side (a batch takes at most
  1,024 / parallel_sends of a room at first), each room's in order."""
import json
import os
import sqlite3
import urllib.parse

from harness import World, check, expect, finish, wait_for

N = 1100
w = World()
hs, room = w.hs, w.room


def is_send(r):
    return r["method"] == "PUT" and "/send/" in r["path"]


def t_one_flush():
    hs.hold_sync("scribe", True)
    hs.inject([{"room_id": room, "sender": "@alice:localhost", "type": "m.room.message",
                "content": {"msgtype": "m.text", "body": "!todo @bob check disk %d" % i}}
               for i in range(N)])
    start = len(hs.requests())
    hs.hold_sync("scribe", False)
    wait_for(lambda: sum(1 for r in w.scribe.records() if r["kind"] == "todo") == N,
             timeout=30, what="%d records" % N)
    wait_for(lambda: sum(1 for r in hs.requests()[start:] if is_send(r)) >= N,
             timeout=30, what="%d replies" % N)
    reqs = hs.requests()[start:]
    order = ["sync" if r["path"].endswith("/sync") else "send" for r in reqs
             if r["path"].endswith("/sync") or is_send(r)]
    # the sync that delivered the backlog, then all the replies in one run
    first = order.index("send")
    run = order[first:first + N]
    expect(run == ["send"] * N, "a sync came between the replies: %s" %
           "".join("S" if x == "sync" else "." for x in order))


def t_replies_while_reading():
    # 1,050 commands: the sync shows the last 50 (timeline_limit), the
    # 1,000 before them come from /messages in four pages of 250; the
    # first replies must reach the server before the last two pages are
    # asked for (with a margin: a slow scribe, under valgrind, may have
    # asked for the next page before its first reply is out)
    hs.hold_sync("scribe", True)
    ids = w.inject_commands("alice", ["!todo @elon rack server %d" % i for i in range(1050)])
    start = len(hs.requests())
    hs.hold_sync("scribe", False)
    w.expect_exactly_once(ids)
    reqs = hs.requests()[start:]
    # the back-fill of the backlog: the pages from the first one until
    # scribe syncs again (the next sync brings scribe's own 1,050 replies,
    # which it skips); a slow scribe (valgrind) may still be entering
    # the held sync when the log is read
    # and finish the back-fill of its own previous replies first: the
    # backlog's sync is the last one before the first reply
    is_sync = [r["path"].endswith("/sync") for r in reqs]
    first_send = next(i for i, r in enumerate(reqs) if is_send(r))
    held = max([i for i in range(first_send) if is_sync[i]] or [-1])
    first = next(i for i, r in enumerate(reqs) if i > held and "/messages" in r["path"])
    again = next((i for i in range(first, len(reqs)) if is_sync[i]), len(reqs))
    pages = [i for i in range(first, again) if "/messages" in reqs[i]["path"]]
    sends = [i for i, r in enumerate(reqs) if is_send(r)]
    seq = "".join("S" if r["path"].endswith("/sync") else "M" if "/messages" in r["path"]
                  else "P" if is_send(r) else "" for r in reqs)
    expect(len(pages) >= 4, "back-fill pages: %d (requests: %s)" % (len(pages), seq[:80]))
    expect(sends and sends[0] < pages[-2],
           "no reply left before the last pages were asked for (first send at %s, "
           "pages at %s)" % (sends[:1], pages))
    # the replies arrived in the order of the commands
    pos = {e: i for i, e in enumerate(ids)}
    answered = [pos[ev["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]]
                for ev in hs.room_events(room)
                if ev["sender"] == "@scribe:localhost" and
                ev["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
                .get("event_id") in pos]
    expect(answered == sorted(answered) and len(answered) == len(ids),
           "replies out of order or missing: %d of %d" % (len(answered), len(ids)))


def t_replies_while_waiting():
    # 600 commands: the sync shows the last 50, /messages the 550 before
    # them in pages of 250, 250 and 50, then an empty one. Each page is
    # answered only after 800 ms. While scribe waits for the second and
    # later pages, the replies of the pages before must reach the server
    # (before, a reply started only between two events: one at most)
    hs.hold_sync("scribe", True)
    ids = w.inject_commands("alice", ["!todo @elon patch host %d" % i for i in range(600)])
    start = len(hs.requests())
    hs.faults(rate=1.0, kinds=["stall"], stall_ms=800, paths="/messages", methods=["GET"])
    try:
        hs.hold_sync("scribe", False)
        w.expect_exactly_once(ids)
    finally:
        hs.faults()
    reqs = hs.requests()[start:]
    pages = [r["ts"] for r in reqs if "/messages" in r["path"]]
    sends = [r["ts"] for r in reqs if is_send(r)]
    expect(len(pages) >= 3, "back-fill pages: %d" % len(pages))
    waiting = sum(1 for p in pages[1:] for t in sends if p < t < p + 750)
    expect(waiting >= 20, "%d replies reached the server while scribe waited for "
           "%d slow pages" % (waiting, len(pages) - 1))


def t_rooms_side_by_side():
    # ten rooms with 200 queued messages each, queued room after room (as
    # a backlog queues its replies); scribe is stopped while they are
    # put in the outbox directly, so what it sends when it starts does
    # not depend on how fast it handled anything
    nrooms, per_room = 10, 200
    rooms = [room]
    for i in range(nrooms - 1):
        r = hs.create_room("alice", invite=["scribe"], name="side%d" % i)
        wait_for(lambda: any(ev["type"] == "m.room.member" and
                             ev.get("state_key") == "@scribe:localhost" and
                             ev["content"].get("membership") == "join"
                             for ev in hs.room_events(r)), what="scribe to join %s" % r)
        rooms.append(r)
    w.scribe.stop()
    db = sqlite3.connect(os.path.join(w.scribe.dir, "scribe.db"))
    with db:
        for k, r in enumerate(rooms):
            db.executemany("INSERT INTO outbox (txn_id, room_id, type, content) "
                           "VALUES (?, ?, 'm.room.message', ?)",
                           [("side-%d-%d" % (k, i), r,
                             json.dumps({"msgtype": "m.notice", "body": "side %d" % i}))
                            for i in range(per_room)])
    db.close()
    start = len(hs.requests())
    w.scribe.start()
    wait_for(lambda: not w.scribe.outbox_count(), 120, "an empty outbox", interval=0.2)
    by_path = {"/rooms/%s/" % urllib.parse.quote(r): r for r in rooms}
    sent = [next(r for p, r in by_path.items() if p in q["path"])
            for q in hs.requests()[start:] if is_send(q) and q["status"] == 200]
    expect(len(sent) == nrooms * per_room, "sent %d" % len(sent))
    # the oldest 1,024 are the messages of five rooms and a bit: taken
    # as they are, at most six rooms would be in flight together (more
    # only where one batch's last replies meet the next one's first)
    widths = sorted(len(set(sent[i:i + 16])) for i in range(len(sent) - 15))
    expect(widths[len(widths) // 2] >= 7, "a median of %d rooms among 16 messages in "
           "a row" % widths[len(widths) // 2])
    for r in rooms:
        bodies = [ev["content"]["body"] for ev in hs.room_events(r)
                  if ev["sender"] == "@scribe:localhost" and
                  ev["content"].get("body", "").startswith("side ")]
        expect(bodies == ["side %d" % i for i in range(per_room)],
               "%s: out of order or missing: %s" % (r, bodies[:5]))


check("a backlog's replies all go out before the next sync", t_one_flush)
check("replies leave while the rest of a backlog is read, in order", t_replies_while_reading)
check("replies leave while scribe waits for a slow page", t_replies_while_waiting)
check("rooms' replies go side by side, each room's in order", t_rooms_side_by_side)
w.close()
finish()
