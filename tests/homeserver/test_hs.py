#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Self-test of the test homeserver (hs.py).

Starts hs.py on a free port and checks the Synapse 1.67 error shapes, txn-id
dedup, /sync long-polling, limited timelines and /messages back-fill,
to-device and key semantics, what Synapse refuses (user-interactive auth on
cross-signing uploads in each --uia-signing mode, the 64 KiB PDU limit,
non-canonical JSON in events) and the JSON it lets through to clients, raw
content injection, every fault kind, the request log, keep-alive
throughput, and finally two real matrix-nio clients exchanging an encrypted
message through it.

Prints "ok - <name>" or "not ok - <name>: why" per check (the convention
tests/run counts) and exits non-zero on any failure.  Every wait is bounded.
Run: /usr/bin/python3 tests/homeserver/test_hs.py
"""

import asyncio
import base64
import http.client as http_client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from client import Client, ServerProcess, http, q  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "synapse")
V3 = "/_matrix/client/v3"
CHECKS = []
RESULTS = {"ok": 0, "fail": 0}


def check(fn):
    CHECKS.append(fn)
    return fn


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def expect_error(resp, status, errcode, error=None):
    got_status, body = resp
    expect_eq(got_status, status, "status")
    expect(isinstance(body, dict), "body not JSON: %r" % (body,))
    expect_eq(body.get("errcode"), errcode, "errcode")
    if error is not None:
        expect_eq(body.get("error"), error, "error")
    return body


class World:
    """The running server plus a few logged-in users."""

    def __init__(self, srv, workdir):
        self.srv = srv
        self.base = srv.base
        self.ctl = srv.control
        self.workdir = workdir
        self.alice = Client.login(self.base, "alice", "pw")
        self.bob = Client.login(self.base, "bob", "pw")
        self.scribe = Client.login(self.base, "scribe", "pw", device_id="SCRIBEDEV",
                                   display_name="scribe (test)")

    def room_with(self, *members, **kw):
        """A private room created by alice that `members` (Clients) joined."""
        room = self.alice.create_room(invite=[m.user_id for m in members], **kw)
        for m in members:
            m.join(room)
        return room


# ---------------------------------------------------------------------------
# Error shapes (fixtures 03, 05, 06, 50-61)
# ---------------------------------------------------------------------------

@check
def error_shapes(w):
    b = w.base
    expect_eq(http(b, "GET", "/_matrix/client/versions")[0], 200, "versions")
    expect_error(http(b, "POST", V3 + "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "scribe"},
        "password": "wrong"}), 403, "M_FORBIDDEN", "Invalid username or password")
    body = expect_error(http(b, "GET", V3 + "/account/whoami", token="syt_bogus"),
                        401, "M_UNKNOWN_TOKEN", "Invalid access token passed.")
    expect(body.get("soft_logout") is False, "soft_logout must be false")
    expect_error(http(b, "GET", V3 + "/account/whoami"), 401, "M_MISSING_TOKEN",
                 "Missing access token")
    t = w.scribe.token
    expect_error(http(b, "POST", V3 + "/join/" + q("!doesnotexist:localhost"), {}, t), 404,
                 "M_UNKNOWN", "Can't join remote room because no servers that are in the room "
                              "have been provided.")
    expect_error(http(b, "POST", V3 + "/join/" + q("#doesnotexist:localhost"), {}, t), 404,
                 "M_NOT_FOUND", "Room alias #doesnotexist:localhost not found")
    room = w.alice.create_room(name="not for scribe")
    expect_error(http(b, "PUT", V3 + "/rooms/%s/send/m.room.message/e1" % q(room),
                      {"msgtype": "m.notice", "body": "hello?"}, t), 403, "M_FORBIDDEN",
                 "User @scribe:localhost not in room %s (None)" % room)
    expect_error(http(b, "PUT", V3 + "/rooms/%s/send/m.room.message/e2" % q("!nope:localhost"),
                      {"msgtype": "m.notice", "body": "hello?"}, t), 403, "M_FORBIDDEN",
                 "Unknown room")
    expect_error(http(b, "PUT", V3 + "/rooms/%s/send/m.room.message/e3" % q(room),
                      token=t, raw=b'{"msgtype": "m.notice", "body": '), 400, "M_NOT_JSON",
                 "Content not JSON.")
    expect_error(http(b, "GET", V3 + "/org.example.no_such_endpoint", token=t), 400,
                 "M_UNRECOGNIZED", "Unrecognized request")
    expect_error(http(b, "DELETE", V3 + "/login", token=t), 400, "M_UNRECOGNIZED",
                 "Unrecognized request")
    status, html = http(b, "GET", "/_matrix/org.example.nothing")
    expect_eq(status, 404, "status outside /_matrix/client")
    expect(isinstance(html, str) and "<title>404 - No Such Resource</title>" in html,
           "HTML 404 body: %r" % (html,))
    expect_error(http(b, "GET", V3 + "/sync", token=t, query={"filter": "987654321",
                                                                "timeout": "0"}),
                 400, "M_INVALID_PARAM", "No such filter")
    expect_error(http(b, "GET", V3 + "/profile/%s/displayname" % q("@nobody:localhost"),
                      token=t), 404, "M_NOT_FOUND", "Profile was not found")
    expect_eq(http(b, "GET", V3 + "/profile/%s/displayname" % q("@alice:localhost"), token=t),
              (200, {"displayname": "alice"}), "displayname")


@check
def fixtures_match_exactly(w):
    """Where the fixture bodies carry no run-specific values, ours are identical."""
    if not os.path.isdir(FIXTURES):
        raise AssertionError("no fixtures at %s" % FIXTURES)
    t = w.scribe.token
    for name in ("03-login-wrong-password", "05-error-bad-token", "06-error-missing-token",
                 "51-error-join-unknown-alias", "53-error-send-unknown-room",
                 "54-error-not-json", "55-error-unrecognized", "56-error-wrong-method",
                 "57-error-unknown-prefix-html", "58-error-unknown-filter",
                 "59-error-profile-unknown-user", "01-versions"):
        with open(os.path.join(FIXTURES, name + ".json")) as f:
            fx = json.load(f)
        rq = fx["request"]
        token = t if "Authorization" in rq["headers"] else None
        if name == "05-error-bad-token":
            token = "syt_never_issued"
        body, raw = rq["body"], None
        if isinstance(body, str):
            body, raw = None, body.encode()
        if isinstance(body, dict) and body.get("password") == "<wrong_password>":
            body = dict(body, password="wrong")
        status, got = http(w.base, rq["method"], rq["path"], body, token, rq["query"], raw=raw)
        expect_eq((status, got), (fx["response"]["status"], fx["response"]["body"]), name)


def _shapes(obj, out):
    """Key sequences of events, their unsigned blocks and sync room entries."""
    if isinstance(obj, dict):
        if "event_id" in obj and "type" in obj:
            out.add(("event",) + tuple(obj))
            if isinstance(obj.get("unsigned"), dict):
                out.add(("unsigned",) + tuple(obj["unsigned"]))
        if "timeline" in obj:
            out.add(("room",) + tuple(obj))
            out.add(("timeline",) + tuple(obj["timeline"]))
        for v in obj.values():
            _shapes(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _shapes(v, out)
    return out


@check
def fixture_conversation_shapes(w):
    """Replay the fixtures' conversation; every key order we emit is Synapse's."""
    if not os.path.isdir(FIXTURES):
        raise AssertionError("no fixtures at %s" % FIXTURES)
    top_order = ["next_batch", "account_data", "presence", "to_device", "device_lists",
                 "device_one_time_keys_count",
                 "org.matrix.msc2732.device_unused_fallback_key_types",
                 "device_unused_fallback_key_types", "rooms"]     # Synapse's encode order
    want = set()
    for name in sorted(os.listdir(FIXTURES)):
        if name.endswith(".json"):
            with open(os.path.join(FIXTURES, name)) as f:
                body = json.load(f)["response"]["body"]
            _shapes(body, want)
            if "next_batch" in body:
                expect_eq(list(body), [k for k in top_order if k in body], name + " key order")
    a, bob = w.alice, Client.login(w.base, "bob", "pw")
    s = Client.login(w.base, "scribe", "pw")
    got, responses = set(), []
    room = a.create_room(name="fixtures", topic="ops decisions and action items",
                         power_level_content_override={"users": {"@alice:localhost": 100,
                                                                 "@scribe:localhost": 50}})
    a.invite(room, s.user_id)
    flt = s.upload_filter({"event_format": "client", "presence": {"not_types": ["*"]},
                           "room": {"timeline": {"limit": 50}, "include_leave": False}})
    responses.append(s.sync(filter=flt))                                    # 14
    a.invite(room, bob.user_id)
    s.join(room)
    responses.append(s.sync(filter=flt))                                    # 16
    bob.join(room)
    e1 = a.send_text(room, "!decide use **Linear**", formatted="!decide use <b>Linear</b>")
    bob.react(room, e1, "👍")
    a.edit(room, e1, "!decide use Linear because API")
    bad = a.send_text(room, "wrong room")
    a.redact(room, bad, reason="posted in the wrong room")
    bob.send_text(room, "+1", reply_to=e1, mentions=["@alice:localhost"])
    root = a.send_text(room, "!meeting start")
    bob.send_text(room, "!todo @alice book", thread_root=root)
    a.set_state(room, "m.room.topic", {"topic": "ops decisions, action items, changelog"})
    responses.append(s.sync(filter=flt))                                    # 25
    for i in range(12):
        a.send_text(room, "backlog message %d of 12" % (i + 1))
    r26 = s.sync(filter=s.upload_filter({"presence": {"not_types": ["*"]},
                                         "room": {"timeline": {"limit": 5}}}))
    responses.append(r26)                                                   # 26
    prev = r26["rooms"]["join"][room]["timeline"]["prev_batch"]
    responses.append(s.get_messages(room, prev, "b", 20))                   # 27
    s.send_text(room, "Recorded", msgtype="m.notice", reply_to=e1)          # 28
    s.receipt(room, e1)                                                     # 30
    responses.append(s.sync(filter=flt))                                    # 31
    responses.append(s.get_event(room, e1))                                 # 35
    for r in responses:
        _shapes(r, got)
        if "next_batch" in r:
            keys = list(r)
            expect_eq(keys, [k for k in top_order if k in keys], "sync top-level key order")
    extra = sorted(got - want)
    expect(not extra, "key orders Synapse never produced: %s" % extra)


@check
def r0_query_token_and_percent_decoding(w):
    st, body = http(w.base, "GET", "/_matrix/client/r0/account/whoami",
                    query={"access_token": w.bob.token})
    expect_eq((st, body.get("user_id")), (200, "@bob:localhost"), "r0 whoami via ?access_token")
    room = w.room_with(w.bob, name="decode")
    # %21 %3A in the room id, %24 in the event id, %40 in the user id
    eid = w.alice.send_text(room, "x")
    st, ev = http(w.base, "GET", "/_matrix/client/r0/rooms/%s/event/%s" % (q(room), q(eid)),
                  query={"access_token": w.bob.token})
    expect_eq((st, ev.get("event_id")), (200, eid), "event by percent-encoded ids")
    expect(eid.startswith("$") and len(eid) == 44, "event id shape %r" % eid)
    expect(room.startswith("!") and room.endswith(":localhost") and len(room.split(":")[0]) == 19,
           "room id shape %r" % room)
    # state with an empty key: no trailing slash and with one
    w.alice.call("PUT", "/rooms/%s/state/m.room.topic" % q(room), {"topic": "a"})
    expect_eq(w.alice.call("GET", "/rooms/%s/state/m.room.topic/" % q(room)), {"topic": "a"},
              "state get with trailing slash")


@check
def login_register_logout(w):
    c = Client.register(w.base, "carol", "pw")
    expect_eq(c.whoami()["user_id"], "@carol:localhost", "registered user")
    expect_error(http(w.base, "POST", V3 + "/register", {"username": "carol", "password": "x"}),
                 400, "M_USER_IN_USE", "User ID already taken.")
    c2 = Client.login(w.base, "@carol:localhost", "pw", device_id="CAROLDEV")
    expect_eq(c2.device_id, "CAROLDEV", "chosen device id")
    expect_eq(c2.logout(), {}, "logout")
    expect_error(c2.request("GET", "/sync", query={"timeout": "0"}), 401, "M_UNKNOWN_TOKEN",
                 "Invalid access token passed.")
    expect_eq(c.whoami()["device_id"] != "CAROLDEV", True, "other device still valid")


@check
def filters(w):
    flt = {"event_format": "client", "presence": {"not_types": ["*"]},
           "room": {"timeline": {"limit": 50}, "include_leave": False}}
    c = Client.register(w.base, "filterer", "pw")
    expect_eq(c.upload_filter(flt), "0", "first filter id")
    expect_eq(c.upload_filter(flt), "0", "identical filter, same id")
    expect_eq(c.upload_filter({"room": {"timeline": {"limit": 5}}}), "1", "second filter id")
    got = c.call("GET", "/user/%s/filter/0" % q(c.user_id))
    expect_eq(list(got["room"]), ["include_leave", "timeline"], "stored filter is canonical")


# ---------------------------------------------------------------------------
# Rooms, events, sync
# ---------------------------------------------------------------------------

@check
def create_room_state(w):
    room = w.alice.create_room(name="n", topic="t", invite=["@bob:localhost"], encrypted=True,
                               power_level_content_override={"users": {"@alice:localhost": 100,
                                                                       "@scribe:localhost": 50}})
    types = [(e["type"], e.get("state_key")) for e in w.ctl.room_events(room)]
    expect_eq(types, [("m.room.create", ""), ("m.room.member", "@alice:localhost"),
                      ("m.room.power_levels", ""), ("m.room.join_rules", ""),
                      ("m.room.history_visibility", ""), ("m.room.guest_access", ""),
                      ("m.room.encryption", ""), ("m.room.name", ""), ("m.room.topic", ""),
                      ("m.room.member", "@bob:localhost")], "createRoom events")
    pl = w.alice.get_state(room, "m.room.power_levels")
    expect_eq(pl["users"], {"@alice:localhost": 100, "@scribe:localhost": 50}, "PL override")
    expect("notifications" not in pl and pl["invite"] == 0, "PL content like fixture 33")


@check
def txn_dedup(w):
    room = w.room_with(w.scribe, name="txn")
    content = {"msgtype": "m.notice", "body": "once"}
    e1 = w.scribe.send(room, "m.room.message", content, txn_id="same-txn")
    e2 = w.scribe.send(room, "m.room.message", content, txn_id="same-txn")
    expect_eq(e1, e2, "retry returns the same event id")
    bodies = [e["content"].get("body") for e in w.ctl.room_events(room)]
    expect_eq(bodies.count("once"), 1, "stored once")
    other = Client.login(w.base, "scribe", "pw")        # another device, same txn id
    e3 = other.send(room, "m.room.message", content, txn_id="same-txn")
    expect(e3 != e1, "another device's txn is separate")
    # own echo carries transaction_id for the sending device only
    w.scribe.sync()
    e4 = w.scribe.send_text(room, "echo", txn_id="echo-txn")
    mine = [e for e in Client.timeline(w.scribe.sync(), room) if e["event_id"] == e4]
    expect_eq(mine[0]["unsigned"].get("transaction_id"), "echo-txn", "own transaction_id")
    theirs = [e for e in Client.timeline(w.alice.sync(since=None), room) if e["event_id"] == e4]
    expect(theirs and "transaction_id" not in theirs[0]["unsigned"],
           "no transaction_id for others")


@check
def long_poll_wakes_up(w):
    room = w.room_with(w.bob, name="poll")
    w.bob.sync()
    result = {}

    def poll():
        t0 = time.monotonic()
        try:
            result["resp"] = w.bob.sync(timeout=10000)
        except Exception as e:  # noqa: BLE001
            result["err"] = e
        result["took"] = time.monotonic() - t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.3)
    eid = w.alice.send_text(room, "wake up")
    th.join(5)
    expect(not th.is_alive(), "sync still blocked 5s after the event")
    expect("err" not in result, "sync failed: %r" % result.get("err"))
    got = [e["event_id"] for e in Client.timeline(result["resp"], room)]
    expect(eid in got, "woken sync carries the event")
    expect(result["took"] < 3, "woke after %.2fs" % result["took"])
    t0 = time.monotonic()
    r = w.bob.sync(timeout=400)
    took = time.monotonic() - t0
    expect(0.35 < took < 2.5, "idle long-poll took %.2fs (timeout 0.4s)" % took)
    expect("rooms" not in r, "idle sync has no rooms: %r" % r.get("rooms"))


@check
def limited_timeline_and_backfill(w):
    room = w.room_with(w.scribe, name="backfill")
    w.scribe.sync()
    ids = w.ctl.inject_many([{"room_id": room, "sender": "@alice:localhost",
                              "type": "m.room.message",
                              "content": {"msgtype": "m.text", "body": "backlog %d" % i}}
                             for i in range(1, 31)])
    flt = w.scribe.upload_filter({"room": {"timeline": {"limit": 5}}})
    r = w.scribe.sync(filter=flt)
    tl = r["rooms"]["join"][room]["timeline"]
    expect(tl["limited"] is True, "limited")
    expect_eq([e["event_id"] for e in tl["events"]], ids[-5:], "last 5 events")
    expect_eq(r["rooms"]["join"][room]["unread_notifications"]["notification_count"], 30,
              "unread count")
    seen, token, pages = [], tl["prev_batch"], 0
    while token and pages < 10:
        page = w.scribe.get_messages(room, token, "b", 10)
        pages += 1
        for e in page["chunk"]:
            expect("room_id" in e and e.get("user_id") == e["sender"] and "age" in e,
                   "legacy fields on /messages events")
        seen += [e["event_id"] for e in page["chunk"] if e["event_id"] in ids]
        if page["chunk"]:
            expect_eq(page["start"], token, "start echoes from")
        token = page.get("end")
    expect_eq(seen, list(reversed(ids[:-5])), "backfill newest-first covers the gap")
    fwd = w.scribe.get_messages(room, "t0", "f", 100)
    fwd_ids = [e["event_id"] for e in fwd["chunk"]]
    expect_eq([i for i in fwd_ids if i in ids], ids, "dir=f oldest-first")


@check
def newly_joined_room_is_limited(w):
    room = w.alice.create_room(name="fresh", invite=["@scribe:localhost"])
    w.scribe.sync()
    w.scribe.join(room)
    r = w.scribe.sync()
    j = r["rooms"]["join"][room]
    expect(j["timeline"]["limited"] is True, "newly joined room is limited (Synapse)")
    tl = j["timeline"]["events"]
    expect_eq(tl[0]["type"], "m.room.create", "timeline starts at creation")
    expect_eq(tl[-1]["event_id"], tl[-2]["event_id"], "own join twice (Synapse #9768 quirk)")
    expect("@alice:localhost" in r.get("device_lists", {}).get("changed", []),
           "members of a newly joined room are in device_lists.changed")
    # a bigger room than the default limit: state carries what the timeline does not
    room2 = w.alice.create_room(name="big", invite=["@scribe:localhost"])
    w.ctl.inject_many([{"room_id": room2, "sender": "@alice:localhost", "type": "m.room.message",
                        "content": {"msgtype": "m.text", "body": str(i)}} for i in range(20)])
    w.scribe.sync()
    w.scribe.join(room2)
    j = w.scribe.sync()["rooms"]["join"][room2]
    state_types = {e["type"] for e in j["state"]["events"]}
    expect({"m.room.create", "m.room.power_levels", "m.room.name"} <= state_types,
           "state block: %r" % state_types)
    tl = j["timeline"]["events"]
    expect_eq(len(tl), 10, "default timeline limit")
    expect_eq((tl[-1]["type"], tl[-2]["event_id"]), ("m.room.member", tl[-1]["event_id"]),
              "own join twice at the end")
    expect_eq(tl[-3]["content"].get("body"), "19", "then the newest messages")


@check
def invite_state_and_leave(w):
    c = Client.register(w.base, "invitee", "pw")
    c.sync()
    room = w.alice.create_room(name="inv", topic="tt", invite=[c.user_id])
    inv = c.sync()["rooms"]["invite"][room]["invite_state"]["events"]
    expect_eq([(e["type"], sorted(e)) for e in inv[:-1]][0][1],
              ["content", "sender", "state_key", "type"], "stripped state")
    expect_eq((inv[-1]["type"], inv[-1]["state_key"], inv[-1]["content"]["membership"]),
              ("m.room.member", c.user_id, "invite"), "own invite last")
    expect("event_id" in inv[-1], "own invite is a full event")
    c.join(room)
    c.sync()
    w.alice.kick(room, c.user_id, reason="bye")
    r = c.sync()
    left = r["rooms"]["leave"][room]["timeline"]["events"]
    expect_eq((left[-1]["type"], left[-1]["content"]["membership"]), ("m.room.member", "leave"),
              "kick shows in rooms.leave")
    expect("@alice:localhost" in r.get("device_lists", {}).get("left", []),
           "users no longer sharing a room are in device_lists.left")
    expect_error(c.request("PUT", "/rooms/%s/send/m.room.message/x" % q(room),
                           {"msgtype": "m.text", "body": "x"}), 403, "M_FORBIDDEN")


@check
def redaction_and_aggregations(w):
    room = w.room_with(w.bob, name="relations")
    w.bob.sync()
    orig = w.alice.send_text(room, "!decide use **Linear**",
                             formatted="!decide use <strong>Linear</strong>")
    w.bob.react(room, orig, "👍")
    edit = w.alice.edit(room, orig, "!decide use Linear because API")
    bad = w.alice.send_text(room, "oops")
    red = w.alice.redact(room, bad, reason="wrong room")
    tl = Client.timeline(w.bob.sync(), room)
    victim = [e for e in tl if e["event_id"] == bad][0]
    expect_eq(victim["content"], {}, "redacted content emptied")
    expect_eq(victim["unsigned"]["redacted_by"], red, "redacted_by")
    expect_eq(victim["unsigned"]["redacted_because"]["redacts"], bad, "redacted_because")
    redaction = [e for e in tl if e["event_id"] == red][0]
    expect_eq((redaction["redacts"], redaction["content"]), (bad, {"reason": "wrong room"}),
              "m.room.redaction with top-level redacts")
    ev = w.bob.get_event(room, orig)
    rel = ev["unsigned"]["m.relations"]
    expect_eq(rel["m.annotation"]["chunk"], [{"type": "m.reaction", "key": "👍", "count": 1}],
              "annotation counts")
    expect_eq(rel["m.replace"]["event_id"], edit, "m.replace bundle")
    expect_eq(ev["content"]["body"], "!decide use **Linear**", "/event keeps original content")
    msgs = w.bob.get_messages(room, limit=20)["chunk"]
    m = [e for e in msgs if e["event_id"] == orig][0]
    expect_eq(m["content"]["body"], "!decide use Linear because API", "/messages applies edit")
    expect_eq(list(ev)[:3], ["type", "room_id", "sender"], "key order like fixture 35")


@check
def receipts_and_unread(w):
    room = w.room_with(w.scribe, name="receipts")
    w.scribe.sync()
    e1 = w.alice.send_text(room, "one")
    w.alice.send_text(room, "notice", msgtype="m.notice")
    r = w.scribe.sync()
    expect_eq(r["rooms"]["join"][room]["unread_notifications"]["notification_count"], 1,
              "notices do not count")
    w.scribe.receipt(room, e1)
    r = w.scribe.sync()
    eph = r["rooms"]["join"][room]["ephemeral"]["events"]
    expect_eq(eph[0]["type"], "m.receipt", "receipt in ephemeral")
    expect("@scribe:localhost" in eph[0]["content"][e1]["m.read"], "receipt content")
    expect_eq(r["rooms"]["join"][room]["unread_notifications"]["notification_count"], 0,
              "read")


@check
def hold_sync(w):
    room = w.room_with(w.bob, name="hold")
    w.bob.sync()
    w.ctl.hold_sync("@bob:localhost", True)
    try:
        eid = w.alice.send_text(room, "held back")
        r = w.bob.sync(timeout=300)
        expect(room not in r.get("rooms", {}).get("join", {}), "held sync returns nothing new")
    finally:
        w.ctl.hold_sync("@bob:localhost", False)
    r = w.bob.sync(timeout=2000)
    expect(eid in [e["event_id"] for e in Client.timeline(r, room)], "released sync delivers")


@check
def to_device_semantics(w):
    c = Client.login(w.base, "bob", "pw", device_id="BOBTD")
    first = c.sync()
    w.alice.send_to_device("org.example.ping", {"@bob:localhost": {"BOBTD": {"n": 1}}},
                           txn_id="td1")
    w.alice.send_to_device("org.example.ping", {"@bob:localhost": {"BOBTD": {"n": 1}}},
                           txn_id="td1")    # retried: deduplicated
    w.alice.send_to_device("org.example.ping", {"@bob:localhost": {"*": {"n": 2}}})
    r1 = c.sync(since=first["next_batch"], advance=False)
    evs = r1["to_device"]["events"]
    expect_eq([(e["sender"], e["type"], e["content"]) for e in evs],
              [("@alice:localhost", "org.example.ping", {"n": 1}),
               ("@alice:localhost", "org.example.ping", {"n": 2})], "to_device events")
    r2 = c.sync(since=first["next_batch"], advance=False)
    expect_eq(len(r2["to_device"]["events"]), 2, "not deleted until a later token is used")
    r3 = c.sync(since=r1["next_batch"], advance=False)
    expect("to_device" not in r3, "deleted after syncing with the later token")


@check
def keys_semantics(w):
    c = Client.login(w.base, "bob", "pw", device_id="BOBKEYS", display_name="bob keys")
    dk = {"algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
          "device_id": "BOBKEYS", "user_id": "@bob:localhost",
          "keys": {"curve25519:BOBKEYS": "c", "ed25519:BOBKEYS": "e"},
          "signatures": {"@bob:localhost": {"ed25519:BOBKEYS": "s"}}}
    otks = {"signed_curve25519:AAAA%d" % i: {"key": "k%d" % i, "signatures": {}}
            for i in range(3)}
    r = c.call("POST", "/keys/upload", {"device_keys": dk, "one_time_keys": otks})
    expect_eq(r, {"one_time_key_counts": {"signed_curve25519": 3}}, "upload counts")
    # identical re-upload (signatures may differ) is accepted
    again = {k: dict(v, signatures={"x": {}}) for k, v in otks.items()}
    c.call("POST", "/keys/upload", {"one_time_keys": again})
    body = expect_error(c.request("POST", "/keys/upload", {"one_time_keys": {
        "signed_curve25519:AAAA0": {"key": "different"}}}), 400, "M_UNKNOWN")
    expect(body["error"].startswith("One time key signed_curve25519:AAAA0 already exists. "
                                    "Old key: "), body["error"])
    c.call("POST", "/keys/upload", {"fallback_keys": {"signed_curve25519:FB": {
        "key": "fb", "fallback": True, "signatures": {}}}})
    s = c.sync()
    expect_eq((s["device_one_time_keys_count"], s["device_unused_fallback_key_types"],
               s["org.matrix.msc2732.device_unused_fallback_key_types"]),
              ({"signed_curve25519": 3}, ["signed_curve25519"], ["signed_curve25519"]),
              "sync key counts")
    qr = w.alice.call("POST", "/keys/query", {"device_keys": {"@bob:localhost": ["BOBKEYS"]}})
    got = qr["device_keys"]["@bob:localhost"]["BOBKEYS"]
    expect_eq(got["unsigned"], {"device_display_name": "bob keys"}, "display name")
    expect_eq(list(got), ["algorithms", "device_id", "keys", "signatures", "user_id", "unsigned"],
              "key order like fixture 43")
    expect_eq((qr["failures"], qr["master_keys"]), ({}, {}), "no cross-signing")
    claimed = []
    for _ in range(4):
        cl = w.alice.call("POST", "/keys/claim", {"one_time_keys": {"@bob:localhost": {
            "BOBKEYS": "signed_curve25519"}}})
        claimed += list(cl["one_time_keys"]["@bob:localhost"]["BOBKEYS"])
    expect_eq(claimed, ["signed_curve25519:AAAA0", "signed_curve25519:AAAA1",
                        "signed_curve25519:AAAA2", "signed_curve25519:FB"],
              "OTKs popped, then the fallback")
    s = c.sync()
    expect_eq((s["device_one_time_keys_count"], s["device_unused_fallback_key_types"]),
              ({"signed_curve25519": 0}, []), "counts after claims")
    # cross-signing
    master = {"user_id": "@bob:localhost", "usage": ["master"], "keys": {"ed25519:MPUB": "MPUB"}}
    ssk = {"user_id": "@bob:localhost", "usage": ["self_signing"],
           "keys": {"ed25519:SPUB": "SPUB"}}
    c.call("POST", "/keys/device_signing/upload", {"master_key": master,
                                                   "self_signing_key": ssk})
    sig = {"@bob:localhost": {"BOBKEYS": dict(dk, signatures={"@bob:localhost": {
        "ed25519:SPUB": "cross"}})}}
    expect_eq(c.call("POST", "/keys/signatures/upload", sig), {"failures": {}}, "signatures")
    qr = w.alice.call("POST", "/keys/query", {"device_keys": {"@bob:localhost": []}})
    expect_eq(qr["master_keys"]["@bob:localhost"]["keys"], {"ed25519:MPUB": "MPUB"}, "master")
    expect("ed25519:SPUB" in qr["device_keys"]["@bob:localhost"]["BOBKEYS"]["signatures"][
        "@bob:localhost"], "merged device signature")


# ---------------------------------------------------------------------------
# What Synapse refuses: UIA on cross-signing uploads, the event size limit,
# non-canonical JSON in events (and what it lets through to clients)
# ---------------------------------------------------------------------------

SIGNING_UPLOAD = "/keys/device_signing/upload"
PASSWORD_FLOWS = [{"stages": ["m.login.password"]}]


def _xsign(uid, tag):
    """Cross-signing keys of uid (signatures are not checked by hs.py)."""
    return {"master_key": {"user_id": uid, "usage": ["master"],
                           "keys": {"ed25519:M" + tag: "M" + tag}},
            "self_signing_key": {"user_id": uid, "usage": ["self_signing"],
                                 "keys": {"ed25519:S" + tag: "S" + tag},
                                 "signatures": {uid: {"ed25519:M" + tag: "sig" + tag}}}}


def _password(user, pw, session):
    return {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": pw, "session": session}


def _master(w, user_id):
    qr = w.alice.call("POST", "/keys/query", {"device_keys": {user_id: []}})
    return qr["master_keys"].get(user_id, {}).get("keys")


def _challenge(resp):
    """The session of a 401 UIA challenge, after checking its exact shape."""
    st, body = resp
    expect_eq(st, 401, "UIA status")
    expect_eq(list(body), ["session", "flows", "params"], "challenge keys, in Synapse's order")
    expect_eq((body["flows"], body["params"]), (PASSWORD_FLOWS, {}), "challenge flows/params")
    expect(isinstance(body["session"], str) and len(body["session"]) >= 16,
           "random session: %r" % body["session"])
    return body["session"]


@check
def uia_signing_upload_replace(w):
    """Default --uia-signing replace (Synapse 1.160): the first upload and an
    identical one pass, a replacement needs the password."""
    c = Client.register(w.base, "xsign-replace", "pw")
    first, second = _xsign(c.user_id, "1"), _xsign(c.user_id, "2")
    expect_eq(c.request("POST", SIGNING_UPLOAD, first), (200, {}),
              "first upload without UIA (no master key yet)")
    expect_eq(_master(w, c.user_id), {"ed25519:M1": "M1"}, "master key stored")
    expect_eq(c.request("POST", SIGNING_UPLOAD, first), (200, {}),
              "the same keys again: 200 without UIA")
    expect_eq(c.request("POST", SIGNING_UPLOAD, {}), (200, {}), "no keys at all: 200")
    sid = _challenge(c.request("POST", SIGNING_UPLOAD, second))
    st, body = c.request("POST", SIGNING_UPLOAD,
                         dict(second, auth=_password("xsign-replace", "wrong", sid)))
    expect_eq((st, body), (401, {"session": sid, "flows": PASSWORD_FLOWS, "params": {},
                                 "completed": [], "error": "Invalid username or password",
                                 "errcode": "M_FORBIDDEN"}), "wrong password")
    expect_eq(list(body), ["session", "flows", "params", "completed", "error", "errcode"],
              "wrong-password body in Synapse's key order")
    expect_eq(_master(w, c.user_id), {"ed25519:M1": "M1"}, "nothing replaced yet")
    st, body = c.request("POST", SIGNING_UPLOAD, dict(second, auth={"type": "m.login.dummy",
                                                                   "session": sid}))
    expect_eq((st, body.get("completed"), body.get("session")), (401, ["m.login.dummy"], sid),
              "a dummy stage does not satisfy the password flow")
    # another user's right password completes the stage, for the wrong user
    expect_error(c.request("POST", SIGNING_UPLOAD, dict(second, auth=_password(
        "alice", "pw", sid))), 403, "M_FORBIDDEN", "Invalid auth")
    expect_error(c.request("POST", SIGNING_UPLOAD, dict(second, auth=_password(
        "xsign-replace", "pw", "no-such-session"))), 400, "M_UNKNOWN",
        "Unknown session ID: no-such-session")
    expect_eq(c.request("POST", SIGNING_UPLOAD, dict(second, auth=_password(
        "@xsign-replace:localhost", "pw", sid))), (200, {}), "password (full user id) accepted")
    expect_eq(_master(w, c.user_id), {"ed25519:M2": "M2"}, "keys/query has the new master key")
    # a session belongs to one request: it cannot authorise another one
    third = _xsign(c.user_id, "3")
    sid = _challenge(c.request("POST", SIGNING_UPLOAD, third))
    other = Client.login(w.base, "xsign-replace", "pw")
    expect_error(c.request("DELETE", "/devices/" + other.device_id,
                           {"auth": _password("xsign-replace", "pw", sid)}), 403, "M_UNKNOWN",
                 "Requested operation has changed during the UI authentication session.")
    expect_eq(c.request("POST", SIGNING_UPLOAD, dict(third, auth=_password(
        "xsign-replace", "pw", sid))), (200, {}), "then it still finishes its own")
    # Synapse serves this endpoint under v3 (and unstable) only
    st, body = http(w.base, "POST", "/_matrix/client/r0" + SIGNING_UPLOAD, third, c.token)
    expect_eq((st, body), (400, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
              "r0 path")


@check
def uia_delete_device(w):
    """DELETE /devices goes through the same UIA code."""
    c = Client.register(w.base, "uia-devices", "pw")
    other = Client.login(w.base, "uia-devices", "pw")
    path = "/devices/" + other.device_id
    sid = _challenge(c.request("DELETE", path))
    expect_eq(c.request("DELETE", path, {"auth": _password("uia-devices", "bad", sid)})[0], 401,
              "wrong password")
    expect_eq(c.request("DELETE", path, {"auth": _password("uia-devices", "pw", sid)}),
              (200, {}), "deleted with the password")
    expect_error(other.request("GET", "/account/whoami"), 401, "M_UNKNOWN_TOKEN")


@check
def uia_signing_modes(w):
    """--uia-signing always (Synapse 1.67) and none; --max-event-bytes."""
    with ServerProcess(users="alice:pw,bob:pw", extra_args=[
            "--uia-signing", "always", "--max-event-bytes", "4096"]) as srv:
        c = Client.login(srv.base, "bob", "pw")
        keys = _xsign(c.user_id, "1")
        sid = _challenge(c.request("POST", SIGNING_UPLOAD, keys))
        expect_eq(c.request("POST", SIGNING_UPLOAD, dict(keys, auth=_password("bob", "pw", sid))),
                  (200, {}), "first upload with the password")
        _challenge(c.request("POST", SIGNING_UPLOAD, keys))     # even the same keys again
        a = Client.login(srv.base, "alice", "pw")
        room = a.create_room(name="small")
        expect_eq(a.request("PUT", "/rooms/%s/send/m.room.message/s1" % q(room), {
            "msgtype": "m.text", "body": "x" * 3000})[0], 200, "3000 bytes under 4096")
        expect_error(a.request("PUT", "/rooms/%s/send/m.room.message/s2" % q(room), {
            "msgtype": "m.text", "body": "x" * 3500}), 413, "M_TOO_LARGE", "event too large")
    with ServerProcess(users="bob:pw", extra_args=["--uia-signing", "none"]) as srv:
        c = Client.login(srv.base, "bob", "pw")
        for tag in ("1", "2"):
            expect_eq(c.request("POST", SIGNING_UPLOAD, _xsign(c.user_id, tag)), (200, {}),
                      "--uia-signing none: upload %s without UIA" % tag)


def _put(w, client, path, body=None, raw=None):
    return http(w.base, "PUT", V3 + path, body, client.token, raw=raw)


def _largest_accepted(send, lo, hi):
    """The largest n in [lo, hi) that send(n) accepts (send(lo) must pass,
    send(hi) must fail)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if send(mid):
            lo = mid
        else:
            hi = mid
    return lo


@check
def event_size_limit(w):
    """413 M_TOO_LARGE past 65536 bytes of canonical PDU, whatever the
    request's own size; encrypted events, state and redactions alike."""
    c = Client.register(w.base, "big-sender", "pw")
    room = c.create_room(name="big")
    before = len(w.ctl.room_events(room))

    def send(n, etype="m.room.message", key="body"):
        content = {"msgtype": "m.text", key: "x" * n} if etype == "m.room.message" else \
            {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "A" * n}
        st, body = _put(w, c, "/rooms/%s/send/%s/%s" % (q(room), etype, c.txn()), content)
        if st == 413:
            expect_eq(body, {"errcode": "M_TOO_LARGE", "error": "event too large"}, "413 body")
        return st == 200

    n = _largest_accepted(send, 60000, 66000)
    # canonical content {"body":"x...x","msgtype":"m.text"} is n + 30 bytes;
    # the rest is the PDU Synapse 1.67 wraps around it: about 650 bytes for
    # ids this long (1.160: 36 less), see Homeserver._pdu_overhead
    overhead = 65536 - (n + 30)
    expect(600 <= overhead <= 700, "PDU overhead %d bytes (largest body %d)" % (overhead, n))
    expect(not send(n + 1), "one byte more is refused")
    sent = [e for e in w.ctl.room_events(room)[before:] if e["type"] == "m.room.message"]
    expect_eq(max(len(e["content"]["body"]) for e in sent), n, "only accepted events stored")
    # the measure is canonical UTF-8, not the request: "\u00e9" escapes are 6
    # bytes on the wire, 2 in the PDU
    st, _ = _put(w, c, "/rooms/%s/send/m.room.message/eacute1" % q(room),
                 {"msgtype": "m.text", "body": "\u00e9" * 30000})
    expect_eq(st, 200, "30000 x e-acute (180 kB escaped, 60 kB canonical)")
    st, _ = _put(w, c, "/rooms/%s/send/m.room.message/eacute2" % q(room),
                 {"msgtype": "m.text", "body": "\u00e9" * 33000})
    expect_eq(st, 413, "33000 x e-acute (66 kB canonical)")
    m = _largest_accepted(lambda k: send(k, "m.room.encrypted"), 60000, 66000)
    expect(abs((m + len('{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":""}')) -
               (n + 30)) < 10, "encrypted events count the same way (%d vs %d)" % (m, n))
    expect_error(_put(w, c, "/rooms/%s/state/m.room.topic" % q(room), {"topic": "t" * 65000}),
                 413, "M_TOO_LARGE", "event too large")
    expect_eq(_put(w, c, "/rooms/%s/state/m.room.topic" % q(room), {"topic": "t" * 60000})[0],
              200, "a big topic under the limit")
    target = c.send_text(room, "to be redacted")
    expect_error(_put(w, c, "/rooms/%s/redact/%s/r1" % (q(room), q(target)),
                      {"reason": "r" * 65000}), 413, "M_TOO_LARGE", "event too large")
    expect_eq(_put(w, c, "/rooms/%s/redact/%s/r2" % (q(room), q(target)),
                   {"reason": "r" * 64000})[0], 200, "a long reason under the limit")


def _raw_get(w, client, path, query=None):
    """(status, raw body bytes) of a GET: the JSON text as it went out."""
    conn = http_client.HTTPConnection("127.0.0.1", w.srv.port, timeout=10)
    try:
        url = V3 + path + ("?" + urllib.parse.urlencode(query) if query else "")
        conn.request("GET", url, headers={"Authorization": "Bearer " + client.token})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _raw_sync(w, client):
    st, data = _raw_get(w, client, "/sync", {"since": client.next_batch, "timeout": "0"})
    expect_eq(st, 200, "sync status")
    client.next_batch = json.loads(data.decode("utf-8", "replace"))["next_batch"]
    return data


@check
def json_jansson_refuses(w):
    """What Synapse does with "\u0000", lone surrogates, big integers and
    reals: in events and in to-device messages, and how /sync, /messages
    and /event write them."""
    a = Client.register(w.base, "json-sender", "pw")
    b = Client.register(w.base, "json-reader", "pw")
    room = a.create_room(name="json", invite=[b.user_id])
    b.join(room)
    b.sync()
    send = "/rooms/%s/send/m.room.message/" % q(room)
    # "\u0000": accepted, forwarded as the same escape
    st, body = _put(w, a, send + "nul", raw=b'{"msgtype":"m.text","body":"hello \\u0000 world"}')
    expect_eq(st, 200, "\\u0000 in a message")
    eid = body["event_id"]
    text = _raw_sync(w, b)
    expect(b'"body":"hello \\u0000 world"' in text, "/sync carries the escape as sent")
    for path, query in (("/rooms/%s/messages" % q(room), {"dir": "b", "limit": "5"}),
                        ("/rooms/%s/event/%s" % (q(room), q(eid)), None)):
        st, text = _raw_get(w, b, path, query)
        expect(st == 200 and b'"body":"hello \\u0000 world"' in text, "%s: %r" % (path, text[:200]))
    # canonical JSON only (room version 9): no integer past 2**53-1, no real
    expect_eq(_put(w, a, send + "maxint", {"msgtype": "m.text", "body": "i",
                                           "n": 2 ** 53 - 1})[0], 200, "2**53-1")
    for txn, raw, want in (
            ("bigint", b'{"msgtype":"m.text","body":"i","n":123456789012345678901234567890}',
             (400, "M_BAD_JSON", "JSON integer out of range")),
            ("int64", b'{"msgtype":"m.text","body":"i","n":9007199254740992}',
             (400, "M_BAD_JSON", "JSON integer out of range")),
            ("float", b'{"msgtype":"m.text","body":"f","x":1.5}',
             (400, "M_BAD_JSON", "Bad JSON value: float")),
            ("nan", b'{"msgtype":"m.text","body":"f","x":NaN}',
             (400, "M_NOT_JSON", "Content not JSON.")),
            # the content hash cannot encode it: Synapse answers 500
            ("surrogate", b'{"msgtype":"m.text","body":"lone \\udc00"}',
             (500, "M_UNKNOWN", "Internal server error"))):
        expect_error(_put(w, a, send + txn, raw=raw), *want)
    expect_error(_put(w, a, "/rooms/%s/state/org.example.n" % q(room),
                      raw=b'{"n":123456789012345678901234567890}'),
                 400, "M_BAD_JSON", "JSON integer out of range")
    bodies = [e["content"].get("body") for e in w.ctl.room_events(room)]
    expect(bodies.count("i") == 1 and "f" not in bodies, "refused events not stored: %r" % bodies)
    # room versions 1-5 take any integer and reals
    old = a.create_room(name="v5", invite=[b.user_id], room_version="5")
    b.join(old)
    _raw_sync(w, b)
    st, _ = _put(w, a, "/rooms/%s/send/m.room.message/v5" % q(old),
                 raw=b'{"msgtype":"m.text","body":"v5","n":123456789012345678901234567890,'
                     b'"x":1.5}')
    expect_eq(st, 200, "big integer and real in a v5 room")
    text = _raw_sync(w, b)
    expect(b'"n":123456789012345678901234567890' in text and b'"x":1.5' in text,
           "big integer forwarded as digits")
    # to-device content is not checked: all of it reaches the device
    b_dev = Client.login(w.base, "json-reader", "pw", device_id="JSONDEV")
    b_dev.sync()
    st, _ = _put(w, a, "/sendToDevice/org.example.raw/td1", raw=(
        b'{"messages":{"@json-reader:localhost":{"JSONDEV":{"a":"x\\u0000y","s":"\\udc00",'
        b'"n":123456789012345678901234567890,"f":1.5}}}}'))
    expect_eq(st, 200, "to-device with \\u0000, a lone surrogate, a big integer, a real")
    text = _raw_sync(w, b_dev)
    expect(b'"content":{"a":"x\\u0000y","s":"\\udc00","n":123456789012345678901234567890,'
           b'"f":1.5}' in text, "to-device as sent: %r" % text[:300])


@check
def raw_content_injection(w):
    """/_test/event content_raw: any JSON text (or bytes) as an event's
    content, spliced verbatim into /sync, /messages and /event."""
    c = Client.register(w.base, "raw-reader", "pw")
    creator = Client.register(w.base, "raw-writer", "pw")
    room = creator.create_room(name="raw", invite=[c.user_id])
    c.join(room)
    c.sync()
    raw = '{"msgtype":"m.text","body":"dup","body":"two","big":1e999,"nul":"\\u0000"}'
    eid = w.ctl.inject(room, creator.user_id, "m.room.message", {}, content_raw=raw)
    eid2 = w.ctl.inject(room, creator.user_id, "m.room.message", {},
                        content_raw_b64=base64.b64encode(b'{"body":"bad \xff byte"}').decode())
    text = _raw_sync(w, c)
    expect(b'"content":' + raw.encode() + b',' in text, "sync: raw text verbatim")
    expect(b'"content":{"body":"bad \xff byte"},' in text, "sync: raw bytes verbatim")
    st, text = _raw_get(w, c, "/rooms/%s/event/%s" % (q(room), q(eid)))
    expect(st == 200 and raw.encode() in text, "/event")
    st, text = _raw_get(w, c, "/rooms/%s/messages" % q(room), {"dir": "b", "limit": "3"})
    expect(raw.encode() in text and b"\xff" in text, "/messages")
    dump = {e["event_id"]: e for e in w.ctl.room_events(room)}
    expect_eq((dump[eid]["_raw_content"], dump[eid2]["_raw_content"]),
              (raw, '{"body":"bad \ufffd byte"}'), "control dump shows the raw text")


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------

def _send_raw(w, client, room, txn, body="f"):
    return http(w.base, "PUT", V3 + "/rooms/%s/send/m.room.message/%s" % (q(room), txn),
                {"msgtype": "m.text", "body": body}, client.token, timeout=10)


@check
def fault_http_errors(w):
    room = w.room_with(w.scribe, name="faults")
    try:
        w.ctl.faults(kinds=["500"], count=1, paths="/send/")
        expect_error(_send_raw(w, w.scribe, room, "f500"), 500, "M_UNKNOWN",
                     "Internal server error")
        expect_eq(_send_raw(w, w.scribe, room, "ok1")[0], 200, "count=1 faults exactly one")
        w.ctl.faults(kinds=["502"], count=1)
        st, html = http(w.base, "GET", V3 + "/account/whoami", token=w.scribe.token)
        expect(st == 502 and isinstance(html, str) and "Bad Gateway" in html, "502 HTML")
        w.ctl.faults(kinds=["429"], count=1, retry_after_ms=1234)
        body = expect_error(http(w.base, "GET", V3 + "/account/whoami", token=w.scribe.token),
                            429, "M_LIMIT_EXCEEDED", "Too Many Requests")
        expect_eq(body["retry_after_ms"], 1234, "retry_after_ms")
        bodies = [e["content"].get("body") for e in w.ctl.room_events(room)]
        expect_eq(bodies.count("f"), 1, "the faulted send was not stored")
        # rate + paths: only matching paths are faulted, deterministically per seed
        w.ctl.faults(kinds=["500"], rate=0.5, seed=7, paths="whoami")
        codes = [http(w.base, "GET", V3 + "/account/whoami", token=w.scribe.token)[0]
                 for _ in range(40)]
        expect(10 < codes.count(500) < 30 and set(codes) == {200, 500}, "rate 0.5: %r" % codes)
        expect_eq(http(w.base, "GET", "/_matrix/client/versions")[0], 200, "other paths clean")
    finally:
        w.ctl.clear_faults()


def _expect_connection_error(fn):
    try:
        fn()
    except (urllib.error.URLError, ConnectionError, http_client.HTTPException, OSError):
        return
    raise AssertionError("expected the connection to be dropped")


@check
def fault_resets(w):
    room = w.room_with(w.scribe, name="resets")
    try:
        w.ctl.faults(kinds=["reset"], count=1, paths="/send/")
        _expect_connection_error(lambda: _send_raw(w, w.scribe, room, "r1", "reset"))
        w.ctl.faults(kinds=["reset_after"], count=1, paths="/send/")
        _expect_connection_error(lambda: _send_raw(w, w.scribe, room, "r2", "reset_after"))
    finally:
        w.ctl.clear_faults()
    bodies = [e["content"].get("body") for e in w.ctl.room_events(room)]
    expect_eq(bodies.count("reset"), 0, "reset: not stored")
    expect_eq(bodies.count("reset_after"), 1, "reset_after: stored")
    st, body = _send_raw(w, w.scribe, room, "r2", "reset_after")    # the client retries
    stored = [e for e in w.ctl.room_events(room) if e["content"].get("body") == "reset_after"]
    expect_eq((st, len(stored), body.get("event_id")), (200, 1, stored[0]["event_id"]),
              "retry after reset_after returns the stored event")
    # keep-alive survives on a fresh connection afterwards
    expect_eq(http(w.base, "GET", V3 + "/account/whoami", token=w.scribe.token)[0], 200,
              "server fine after resets")


@check
def fault_stall_and_slow(w):
    try:
        w.ctl.faults(kinds=["stall"], count=1, stall_ms=400, paths="whoami")
        t0 = time.monotonic()
        st, _ = http(w.base, "GET", V3 + "/account/whoami", token=w.scribe.token)
        took = time.monotonic() - t0
        expect(st == 200 and took >= 0.38, "stall: %d after %.2fs" % (st, took))
        w.ctl.faults(kinds=["slow"], count=1, slow_ms=400, paths="versions")
        t0 = time.monotonic()
        st, body = http(w.base, "GET", "/_matrix/client/versions")
        took = time.monotonic() - t0
        expect(st == 200 and "versions" in body and took >= 0.3,
               "slow: %d after %.2fs" % (st, took))
    finally:
        w.ctl.clear_faults()


# ---------------------------------------------------------------------------
# Control API, log, performance
# ---------------------------------------------------------------------------

@check
def request_log(w):
    n = w.ctl.clear_requests()["next"]
    room = w.room_with(w.bob, name="log")
    eid = w.bob.send_text(room, "logged")
    reqs = w.ctl.requests(since=n)
    sends = [r for r in reqs if "/send/m.room.message/" in r["path"]]
    expect(sends, "send logged")
    r = sends[-1]
    expect_eq((r["method"], r["status"], r["body"]["body"], r["headers"]["Content-Type"]),
              ("PUT", 200, "logged", "application/json"), "log entry")
    expect(r["headers"]["Authorization"].startswith("Bearer ") and "%21" in r["path"],
           "raw path and auth header")
    expect(all(x["index"] >= n for x in reqs), "since filter")
    with open(os.path.join(w.workdir, "requests.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    expect(any(x["path"] == r["path"] and x["status"] == 200 for x in lines), "--log file")
    expect(eid in [e["event_id"] for e in w.ctl.room_events(room)], "room events dump")
    st = w.ctl.state()
    expect("SCRIBEDEV" in st["users"]["@scribe:localhost"]["devices"], "state dump")


@check
def concurrent_senders_and_syncers(w):
    """Parallel sends while clients long-poll: every event arrives once, in order."""
    room = w.room_with(w.bob, w.scribe, name="stress")
    syncers = [Client.login(w.base, "bob", "pw"), Client.login(w.base, "scribe", "pw")]
    flt = json.dumps({"room": {"timeline": {"limit": 1000}}})
    for c in syncers:
        c.sync(filter=flt)
    senders = [w.alice, w.bob, w.scribe, Client.login(w.base, "alice", "pw")]
    per_sender = 40
    seen = {id(c): [] for c in syncers}
    done = threading.Event()
    errors = []

    def send_all(c):
        try:
            for i in range(per_sender):
                c.send_text(room, "stress %s %d" % (c.device_id, i))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def sync_loop(c):
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                r = c.sync(timeout=500, filter=flt)
                tl = r.get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {})
                if tl.get("limited"):
                    errors.append(AssertionError("unexpected limited timeline"))
                seen[id(c)] += [e["event_id"] for e in tl.get("events", [])]
                if done.is_set() and not tl.get("events"):
                    return
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=sync_loop, args=(c,)) for c in syncers]
    threads += [threading.Thread(target=send_all, args=(c,)) for c in senders]
    for t in threads:
        t.start()
    for t in threads[len(syncers):]:
        t.join(20)
    done.set()
    for t in threads:
        t.join(25)
    expect(not any(t.is_alive() for t in threads), "threads still running")
    expect(not errors, "errors: %r" % errors[:3])
    stored = [e["event_id"] for e in w.ctl.room_events(room)
              if e["content"].get("body", "").startswith("stress ")]
    expect_eq(len(stored), per_sender * len(senders), "all sends stored")
    for c in syncers:
        got = [e for e in seen[id(c)] if e in set(stored)]
        expect_eq(got, stored, "%s saw every event once, in order" % c.device_id)


@check
def keepalive_throughput(w):
    conn = http_client.HTTPConnection("127.0.0.1", w.srv.port, timeout=10)
    hdr = {"Authorization": "Bearer " + w.bob.token}
    n = 500
    t0 = time.monotonic()
    for _ in range(n):
        conn.request("GET", V3 + "/account/whoami", headers=hdr)
        resp = conn.getresponse()
        resp.read()
        expect_eq(resp.status, 200, "status")
    rate = n / (time.monotonic() - t0)
    conn.close()
    print("# keep-alive whoami: %.0f requests/s" % rate, flush=True)
    expect(rate > 300, "only %.0f requests/s on one keep-alive connection" % rate)


# ---------------------------------------------------------------------------
# matrix-nio end-to-end encryption
# ---------------------------------------------------------------------------

async def _nio_exchange(base, tmp):
    from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomMessageText

    cfg = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
    clients = {}
    try:
        for name in ("alice", "bob"):
            path = os.path.join(tmp, name)
            os.makedirs(path)
            c = AsyncClient(base, "@%s:localhost" % name, store_path=path, config=cfg)
            clients[name] = c
            r = await c.login("pw", device_name="%s (nio)" % name)
            expect(isinstance(r, LoginResponse), "nio login: %r" % r)
            expect(c.should_upload_keys, "nio wants to upload keys")
            await c.keys_upload()
            await c.sync(timeout=0, full_state=True)
        alice, bob = clients["alice"], clients["bob"]
        r = await alice.room_create(name="e2ee", invite=["@bob:localhost"], initial_state=[{
            "type": "m.room.encryption", "state_key": "",
            "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
        room = r.room_id
        for _ in range(10):
            await bob.sync(timeout=1000)
            if room in bob.invited_rooms:
                break
        expect(room in bob.invited_rooms, "bob sees the invite")
        await bob.join(room)
        for _ in range(10):
            await alice.sync(timeout=1000)
            if "@bob:localhost" in alice.rooms[room].users:
                break
        expect("@bob:localhost" in alice.rooms[room].users, "alice sees bob join")
        if alice.should_query_keys:
            await alice.keys_query()
        r = await alice.room_send(room, "m.room.message",
                                  {"msgtype": "m.text", "body": "the secret plan"},
                                  ignore_unverified_devices=True)
        expect(getattr(r, "event_id", None), "nio room_send: %r" % r)
        for _ in range(10):
            s = await bob.sync(timeout=1000)
            joined = s.rooms.join.get(room)
            for ev in joined.timeline.events if joined else ():
                if isinstance(ev, RoomMessageText) and ev.body == "the secret plan":
                    return r.event_id
        raise AssertionError("bob could not decrypt alice's message")
    finally:
        for c in clients.values():
            await c.close()


def nio_e2ee(w):
    import importlib.util
    if importlib.util.find_spec("nio") is None or importlib.util.find_spec("olm") is None:
        raise AssertionError("matrix-nio/python3-olm not importable by %s" % sys.executable)
    tmp = tempfile.mkdtemp(prefix="hs-nio-")
    try:
        event_id = asyncio.run(asyncio.wait_for(_nio_exchange(w.base, tmp), 30))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sent = [r for r in w.ctl.requests() if r["method"] == "PUT" and
            "/send/m.room.encrypted/" in r["path"]]
    expect(sent and sent[-1]["body"]["algorithm"] == "m.megolm.v1.aes-sha2",
           "the room message went out megolm-encrypted (%s)" % event_id)
    paths = [r["path"] for r in w.ctl.requests()]
    for needed in ("/keys/upload", "/keys/query", "/keys/claim", "/sendToDevice/"):
        expect(any(needed in p for p in paths), "nio used %s" % needed)
    bob = w.ctl.state()["users"]["@bob:localhost"]["devices"]
    counts = [d["one_time_key_counts"]["signed_curve25519"] for d in bob.values()
              if d["display_name"] == "bob (nio)"]
    expect(counts and counts[0] == 49, "one OTK of bob's nio device was claimed: %r" % counts)


CHECKS.append(nio_e2ee)


# ---------------------------------------------------------------------------

def main():
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="hs-selftest-")
    stderr = open(os.path.join(workdir, "hs.stderr"), "w")
    try:
        srv = ServerProcess(users="alice:pw,bob:pw,scribe:pw",
                            log=os.path.join(workdir, "requests.jsonl"), stderr=stderr)
    except Exception as e:  # noqa: BLE001
        print("not ok - start: %s" % e, flush=True)
        sys.exit(1)
    try:
        w = World(srv, workdir)
        for fn in CHECKS:
            name = fn.__name__
            try:
                fn(w)
                print("ok - %s" % name, flush=True)
                RESULTS["ok"] += 1
            except Exception as e:  # noqa: BLE001 - any failure of a check
                msg = "%s: %s" % (type(e).__name__, e)
                print("not ok - %s: %s" % (name, msg.replace("\n", " ")), flush=True)
                traceback.print_exc(file=sys.stderr)
                RESULTS["fail"] += 1
    finally:
        srv.stop()
        stderr.close()
        with open(os.path.join(workdir, "hs.stderr")) as f:
            errors = f.read()
        if errors.strip():
            print("# hs.py stderr:\n" + "\n".join("#   " + l for l in errors.splitlines()[-30:]))
            if "Traceback" in errors:
                print("not ok - server_stderr_clean: hs.py printed a traceback", flush=True)
                RESULTS["fail"] += 1
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %d passed, %d failed in %.1fs" % (RESULTS["ok"], RESULTS["fail"],
                                              time.monotonic() - started))
    sys.exit(1 if RESULTS["fail"] else 0)


if __name__ == "__main__":
    main()
