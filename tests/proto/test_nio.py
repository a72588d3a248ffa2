# SPDX-License-Identifier: MIT
"""A real client library drives scribe: Debian's matrix-nio (as a team's
own tooling would) creates a room, invites the real scribe binary, types
commands and reads scribe's replies from its own /sync — the parsing of
scribe's events is nio's, not ours."""
import asyncio
import importlib.util
import sys
import tempfile

from harness import SLOW, Homeserver, Scribe, check, expect, finish, wait_for

state = {}


async def conversation(hs):
    base = hs.base
    from nio import AsyncClient, LoginResponse, RoomMessageNotice, \
        RoomMessageText, RoomCreateResponse

    alice = AsyncClient(base, "@alice:localhost")
    r = await alice.login("pw-alice", device_name="alice (nio)")
    expect(isinstance(r, LoginResponse), "nio login: %r" % r)
    try:
        r = await alice.room_create(name="ops (nio)", invite=["@scribe:localhost", "@bob:localhost"])
        expect(isinstance(r, RoomCreateResponse), "room_create: %r" % r)
        room = r.room_id
        state["room"] = room
        hs.login("bob")
        hs.join("bob", room)
        await alice.sync(timeout=0)

        # joined, not only invited (nio lists invited users among a
        # room's users): a command sent before scribe's join is history
        # to scribe and rightly gets no answer; a slow scribe (valgrind)
        # made that race visible
        def scribe_joined():
            return any(ev["type"] == "m.room.member" and
                       ev.get("state_key") == "@scribe:localhost" and
                       ev["content"].get("membership") == "join"
                       for ev in hs.room_events(room))

        async def until_joined():
            while True:
                await alice.sync(timeout=1000)
                if scribe_joined() and "@scribe:localhost" in alice.rooms[room].users:
                    return
        await asyncio.wait_for(until_joined(), 20 * SLOW)

        async def command(text):
            sent = await alice.room_send(room, "m.room.message",
                                         {"msgtype": "m.text", "body": text})
            expect(getattr(sent, "event_id", None), "room_send: %r" % sent)
            while True:
                s = await alice.sync(timeout=1000)
                tl = s.rooms.join.get(room)
                for ev in (tl.timeline.events if tl else []):
                    if ev.sender != "@scribe:localhost":
                        continue
                    rel = ev.source["content"].get("m.relates_to", {})
                    if rel.get("m.in_reply_to", {}).get("event_id") == sent.event_id:
                        return ev
        todo = await asyncio.wait_for(command("!todo @bob pick tracker due:2030-12-01"), 20 * SLOW)
        expect(isinstance(todo, RoomMessageText), "a ping is m.text for nio: %r" % type(todo))
        expect(todo.body.startswith("Recorded T1 pick tracker"), todo.body)
        expect(todo.formatted_body and "<b>T1</b>" in todo.formatted_body, todo.formatted_body)
        expect(todo.source["content"]["m.mentions"] == {"user_ids": ["@bob:localhost"]},
               todo.source["content"])
        dec = await asyncio.wait_for(command("!decide use Linear because it is fast"), 20 * SLOW)
        expect(isinstance(dec, RoomMessageNotice), "a decision reply is a notice: %r" % type(dec))
        expect(dec.body == "Recorded decision D1: use Linear (because it is fast)", dec.body)
        mine = await asyncio.wait_for(command("!todo @alice write the runbook"), 20 * SLOW)
        expect(isinstance(mine, RoomMessageNotice), "no ping for your own todo: %r" % type(mine))
        expect(mine.source["content"]["m.mentions"] == {}, mine.source["content"])
        lst = await asyncio.wait_for(command("!todos"), 20 * SLOW)
        expect("T1 pick tracker" in lst.body, lst.body)
    finally:
        await alice.close()


def t_nio_conversation():
    if importlib.util.find_spec("nio") is None:
        raise AssertionError("matrix-nio is not importable by %s" % sys.executable)
    tmp = tempfile.mkdtemp(prefix="scribe-nio-")
    hs = Homeserver(users=("alice", "bob", "scribe"), workdir=tmp)
    sc = Scribe(hs, tmp)
    try:
        sc.login()
        sc.start()
        asyncio.run(asyncio.wait_for(conversation(hs), 90 * SLOW))
        recs = wait_for(lambda: len(sc.records()) == 3 and sc.records(), what="three records")
        expect(recs[0]["text"] == "pick tracker" and recs[0]["room"] == state["room"], recs[0])
        expect(recs[0]["due"] and recs[0]["due"].startswith("2030-12-01"), recs[0])
        expect(recs[1]["kind"] == "decision" and recs[1]["detail"] == "it is fast", recs[1])
        expect(recs[2]["assignees"] == ["@alice:localhost"], recs[2])
    finally:
        sc.stop()
        hs.stop()


check("matrix-nio client: invite, commands and replies", t_nio_conversation)
finish()
