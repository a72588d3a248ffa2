# SPDX-License-Identifier: MIT
"""matrix-nio peers for the E2EE interop tests: a real Matrix client
(Debian's python3-nio with python3-olm) driven synchronously, so a test
reads like a conversation. Every wait is bounded.
"""
import asyncio
import os
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

import harness  # noqa: E402

from nio import (AsyncClient, AsyncClientConfig, LoginResponse,  # noqa: E402
                 MegolmEvent, RoomMessageNotice, RoomMessageText)

SCRIBE = "@scribe:localhost"
LOOP = asyncio.new_event_loop()


def run(coro, timeout=60):
    return LOOP.run_until_complete(asyncio.wait_for(coro, timeout * harness.SLOW))


class Peer:
    """One nio device of a user; remembers every room event it saw."""

    def __init__(self, hs, user, workdir, device_name=None):
        self.hs = hs
        self.user = user
        self.uid = hs.uid(user)
        path = os.path.join(workdir, "nio-%s-%s" % (user, device_name or "main"))
        os.makedirs(path, exist_ok=True)
        cfg = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
        self.c = AsyncClient(hs.base, self.uid, store_path=path, config=cfg)
        r = run(self.c.login("pw-" + user, device_name=device_name or ("%s (nio)" % user)))
        if not isinstance(r, LoginResponse):
            raise AssertionError("nio login of %s failed: %r" % (user, r))
        run(self.c.keys_upload())
        self.seen = []          # (room_id, nio event) in order
        self.sync()

    @property
    def device_id(self):
        return self.c.device_id

    @property
    def token(self):
        return self.c.access_token

    def sync(self, timeout_ms=0):
        r = run(self.c.sync(timeout=timeout_ms, full_state=True))
        for room_id, joined in getattr(r, "rooms").join.items():
            for ev in joined.timeline.events:
                self.seen.append((room_id, ev))
        if self.c.should_query_keys:
            run(self.c.keys_query())
        return r

    def create_room(self, invite, content=None):
        content = content or {"algorithm": "m.megolm.v1.aes-sha2"}
        r = run(self.c.room_create(name="ops", invite=invite, initial_state=[{
            "type": "m.room.encryption", "state_key": "", "content": content}]))
        self.sync()
        return r.room_id

    def join(self, room):
        harness.wait_for(lambda: self.sync(200) and room in self.c.invited_rooms or
                         room in self.c.rooms, 20, "%s to see the invite" % self.user)
        run(self.c.join(room))
        self.sync()

    def wait_member(self, room, uid, timeout=20):
        # joined: nio's users include the invited ones
        def member():
            self.sync(200)
            r = self.c.rooms.get(room)
            return r is not None and uid in r.users and uid not in r.invited_users
        harness.wait_for(member, timeout, "%s to see %s in the room" % (self.user, uid))
        self.sync()

    def say(self, room, text):
        self.sync()
        r = run(self.c.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text},
                                 ignore_unverified_devices=True))
        if not getattr(r, "event_id", None):
            raise AssertionError("nio room_send failed: %r" % r)
        return r.event_id

    def replies_to(self, event_id):
        """scribe's decrypted replies to event_id seen so far; an undecryptable
        one raises."""
        out = []
        for _, ev in self.seen:
            if ev.sender != SCRIBE:
                continue
            src = ev.source.get("content", {})
            rel = src.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            if isinstance(ev, MegolmEvent):
                if rel == event_id:
                    raise AssertionError("%s cannot decrypt scribe's reply %s (session %s)"
                                         % (self.user, ev.event_id, ev.session_id))
                continue
            if isinstance(ev, (RoomMessageNotice, RoomMessageText)) and rel == event_id:
                out.append(ev)
        return out

    def reply(self, event_id, timeout=30):
        """The body of scribe's reply to event_id, as this peer decrypted it."""
        def got():
            self.sync(300)
            return self.replies_to(event_id)
        return harness.wait_for(got, timeout, "%s to read scribe's reply to %s"
                                % (self.user, event_id))[0].body

    def close(self):
        run(self.c.close())


def scribe_events(hs, room):
    """scribe's messages in room as the server has them."""
    return [ev for ev in hs.room_events(room) if ev["sender"] == SCRIBE
            and ev["type"] in ("m.room.message", "m.room.encrypted")]


def encrypted_reply(hs, room, event_id, timeout=30):
    """scribe's reply to event_id as the server has it (waits for it)."""
    def find():
        for ev in scribe_events(hs, room):
            rel = ev["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
            if rel.get("event_id") == event_id:
                return ev
        return None
    return harness.wait_for(find, timeout, "scribe's reply to %s" % event_id)


def plaintext_sends(hs, room):
    """Every PUT of a plaintext m.room.message into room (by anyone)."""
    out = []
    for r in hs.requests():
        p = urllib.parse.unquote(r["path"])
        if r["method"] == "PUT" and "/send/m.room.message/" in p and room in p:
            out.append(p)
    return out


def teardown(state, peers):
    """Close the peers named in state, stop scribe and the homeserver, and
    remove the scratch directory (kept when SCRIBE_KEEP_TMP is set)."""
    import shutil
    import signal
    for name in peers:
        if name in state:
            try:
                state[name].close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
    if "scribe" in state:
        state["scribe"].kill(signal.SIGTERM)
    if "hs" in state:
        state["hs"].stop()
    if "tmp" in state:
        if os.environ.get("SCRIBE_KEEP_TMP") is None:
            shutil.rmtree(state["tmp"], ignore_errors=True)
        else:
            print("# kept %s" % state["tmp"], flush=True)
