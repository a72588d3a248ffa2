# SPDX-License-Identifier: MIT
"""The baseline for bench/matrix_bench.py: the minimal todo bot a team
would write with Debian's python3-matrix-nio instead of scribe.

  /usr/bin/python3 bench/nio_bot.py HOMESERVER USER_ID PASSWORD DB

It logs in, joins every room it is invited to, and answers each
`!todo text` sent after it started with a notice "Recorded T<n> text"
(in reply to the command), after inserting the todo into SQLite. Made
fair, not naive: the same SQLite settings as scribe (WAL, synchronous
NORMAL, one commit per sync batch rather than per message), a sync filter
with a timeline limit large enough that no command is lost without
back-filling (nio does not back-fill), and its own echoes ignored. Like
scribe it sends its replies one at a time.
"""
import asyncio
import sqlite3
import sys

from nio import AsyncClient, InviteMemberEvent, RoomMessageText, SyncResponse


async def main(homeserver, user_id, password, db_path):
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, room TEXT,"
               " sender TEXT, event_id TEXT UNIQUE, text TEXT)")
    db.commit()
    client = AsyncClient(homeserver, user_id)
    resp = await client.login(password, device_name="nio baseline")
    if not hasattr(resp, "access_token"):
        print("login failed: %r" % resp, file=sys.stderr)
        return 1
    pending = []   # (room_id, event_id, reply text) of this batch

    async def on_invite(room, event):
        if event.state_key == client.user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_message(room, event):
        if event.sender == client.user_id or not event.body.startswith("!todo "):
            return
        text = event.body[len("!todo "):].strip()
        cur = db.execute("INSERT OR IGNORE INTO todos (room, sender, event_id, text)"
                         " VALUES (?, ?, ?, ?)", (room.room_id, event.sender, event.event_id,
                                                  text))
        if cur.rowcount:
            pending.append((room.room_id, event.event_id, "Recorded T%d %s" % (cur.lastrowid,
                                                                                text)))

    async def after_sync(_resp):
        db.commit()
        batch = pending[:]
        del pending[:]
        for room_id, event_id, body in batch:
            await client.room_send(room_id, "m.room.message", {
                "msgtype": "m.notice", "body": body,
                "m.relates_to": {"m.in_reply_to": {"event_id": event_id}}},
                ignore_unverified_devices=True)

    client.add_event_callback(on_invite, InviteMemberEvent)
    # commands sent before the bot started are history, not commands
    first = await client.sync(timeout=0, full_state=True)
    if not isinstance(first, SyncResponse):
        print("first sync failed: %r" % first, file=sys.stderr)
        return 1
    for room_id in list(first.rooms.invite):
        await client.join(room_id)
    client.add_event_callback(on_message, RoomMessageText)
    client.add_response_callback(after_sync, SyncResponse)
    await client.sync_forever(timeout=2000, sync_filter={
        "room": {"timeline": {"limit": 100000}, "state": {"lazy_load_members": True}},
        "presence": {"not_types": ["*"]}})
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(*sys.argv[1:])))
