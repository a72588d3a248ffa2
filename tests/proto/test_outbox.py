# SPDX-License-Identifier: MIT
"""The outbox is emptied in one go: a batch that queues more replies than
one outbox read (64) sends all of them before scribe syncs again, instead
of 64 per flush with the rest waiting behind a sync long-poll (the bug
bench/ found: bot_flush_outbox's loop test read the batch size after
pending_clear had zeroed it)."""
from harness import World, check, expect, finish, wait_for

N = 150
w = World()
hs, room = w.hs, w.room


def t_one_flush():
    hs.hold_sync("scribe", True)
    hs.inject([{"room_id": room, "sender": "@alice:localhost", "type": "m.room.message",
                "content": {"msgtype": "m.text", "body": "!todo @bob check disk %d" % i}}
               for i in range(N)])
    start = len(hs.requests())
    hs.hold_sync("scribe", False)
    wait_for(lambda: sum(1 for r in w.scribe.records() if r["kind"] == "todo") == N,
             timeout=30, what="%d records" % N)
    wait_for(lambda: sum(1 for r in hs.requests()[start:] if r["method"] == "PUT"
                         and "/send/" in r["path"]) >= N, timeout=30, what="%d replies" % N)
    reqs = hs.requests()[start:]
    order = ["sync" if r["path"].endswith("/sync") else "send" for r in reqs
             if r["path"].endswith("/sync") or (r["method"] == "PUT" and "/send/" in r["path"])]
    # the sync that delivered the backlog, then all the replies in one run
    first = order.index("send")
    run = order[first:first + N]
    expect(run == ["send"] * N, "a sync came between the replies: %s" %
           "".join("S" if x == "sync" else "." for x in order))


check("a backlog's replies all go out before the next sync", t_one_flush)
w.close()
finish()
