#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A small in-memory Matrix homeserver for scribe's tests.

It speaks the client-server API the way Synapse 1.67 does (the fixtures in
tests/data/synapse, recorded from Synapse, are the reference): the same response shapes,
status codes and error bodies, the same sync semantics (limited timelines,
newly-joined rooms, to-device delivery and deletion, device-list tracking,
one-time-key counts) and the E2EE key endpoints, well enough for two real
matrix-nio clients to exchange Olm/Megolm messages through it.

It is test infrastructure, so besides /_matrix it has an unauthenticated
control API under /_test/ (fault injection, request log, event injection,
sync holds, state dumps); see README.md next to this file.

Design:
  * Python 3 standard library only; ThreadingHTTPServer with HTTP/1.1
    keep-alive, loopback only.
  * All state lives in one `Homeserver` object guarded by one re-entrant
    lock wrapped in a condition variable.  Every endpoint runs with the
    lock held; /sync long-polls by waiting on the condition (which
    releases the lock) with a deadline, and every state change notifies.
  * Events carry a global, monotonic stream position.  Each room keeps its
    events in position order (bisect for ranges), its state history per
    (type, state_key) and its membership history per user, so a sync or a
    /messages page costs O(rooms of the user + events returned), not
    O(all events).
  * Endpoints are `ep_*` methods of `Homeserver`, looked up through the
    ROUTES dispatch table of (method, path regex, handler, needs auth).

Run:  /usr/bin/python3 hs.py --port 0 --users alice:pw,bob:pw,scribe:pw
It prints "LISTENING <port>" as its first line of stdout.
"""

import argparse
import base64
import bisect
import collections
import email.utils
import json
import os
import random
import re
import signal
import socket
import ssl
import string
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------------------
# Constants and small helpers
# ---------------------------------------------------------------------------

ROOM_VERSION = "9"
TIMELINE_LIMIT_DEFAULT = 10
TO_DEVICE_LIMIT = 100
# Synapse's MAX_PDU_SIZE (synapse/api/constants.py): the limit on the
# canonical JSON of a whole PDU, checked by event_auth._check_size_limits.
MAX_EVENT_BYTES = 65536
# Canonical JSON integers (room versions >= 6, "strict_canonicaljson").
CANONICALJSON_MAX_INT = 2 ** 53 - 1
# POST /keys/device_signing/upload and user-interactive auth:
#   always  - Synapse 1.67: every upload needs UIA (SigningKeyUploadServlet
#             calls validate_user_via_ui_auth unconditionally)
#   replace - Synapse 1.160: an upload that changes nothing is 200 at once,
#             the first one (no master key yet) needs no UIA (MSC3967), one
#             that replaces a stored key does
#   none    - no UIA at all (an "auth" that is given is still checked)
UIA_SIGNING_MODES = ("always", "replace", "none")
UIA_PASSWORD_FLOWS = [{"stages": ["m.login.password"]}]

HTML_404 = ("\n<html>\n  <head><title>404 - No Such Resource</title></head>\n  <body>\n"
            "    <h1>No Such Resource</h1>\n    <p>Sorry. No luck finding that resource.</p>\n"
            "  </body>\n</html>\n")
HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")

VERSIONS = {
    "versions": ["r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0",
                 "r0.6.1", "v1.1", "v1.2"],
    "unstable_features": {
        "org.matrix.label_based_filtering": True,
        "org.matrix.e2e_cross_signing": True,
        "org.matrix.msc2432": True,
        "uk.half-shot.msc2666.mutual_rooms": True,
        "io.element.e2ee_forced.public": False,
        "io.element.e2ee_forced.private": False,
        "io.element.e2ee_forced.trusted_private": False,
        "org.matrix.msc3026.busy_presence": False,
        "org.matrix.msc2285.stable": True,
        "org.matrix.msc3827.stable": True,
        "org.matrix.msc2716": False,
        "org.matrix.msc3030": False,
        "org.matrix.msc3440.stable": True,
        "fi.mau.msc2815": False,
    },
}

# Content keys that survive a redaction (room versions 6-10).
REDACT_KEEP = {
    "m.room.member": ("membership", "join_authorised_via_users_server"),
    "m.room.create": ("creator",),
    "m.room.join_rules": ("join_rule", "allow"),
    "m.room.power_levels": ("ban", "events", "events_default", "kick", "redact",
                            "state_default", "users", "users_default"),
    "m.room.history_visibility": ("history_visibility",),
}

# State shown to an invitee (Synapse's room_prejoin_state defaults).
INVITE_STATE_KEYS = ("m.room.topic", "m.room.name", "m.room.avatar", "m.room.canonical_alias",
                     "m.room.encryption", "m.room.join_rules", "m.room.create")

NOTIFYING_TYPES = ("m.room.message", "m.room.encrypted")

# Injected raw content (/_test/event "content_raw"): the event's content is
# this marker string until a response is encoded; then the marker, as
# json.dumps writes it, is replaced by the raw bytes.
RAW_MARKER = "\x00scribe-raw-content:%d\x00"
RAW_MARKER_RX = re.compile(rb'"\\u0000scribe-raw-content:\d+\\u0000"')


def now_ms():
    return int(time.time() * 1000)


_http_date = [0, ""]


def http_date():
    """The Date header's value, formatted once a second."""
    now = int(time.time())
    if _http_date[0] != now:
        _http_date[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _http_date[1]


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def random_letters(n, alphabet=string.ascii_letters):
    return "".join(random.choice(alphabet) for _ in range(n))


def new_event_id():
    return "$" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def localpart(user_id):
    return user_id[1:].split(":", 1)[0]


class MatrixError(Exception):
    """An error answered as {"errcode", "error", **extra} (or a raw body)."""

    def __init__(self, status, errcode, error, body=None, **extra):
        super().__init__("%d %s %s" % (status, errcode, error))
        self.status = status
        if body is None:
            body = {"errcode": errcode, "error": error}
            body.update(extra)
        self.body = body


def forbidden(msg):
    return MatrixError(403, "M_FORBIDDEN", msg)


def bad_json(msg="Content must be a JSON object."):
    return MatrixError(400, "M_BAD_JSON", msg)


def _reject_constant(name):
    raise ValueError("bad constant " + name)


def parse_json(raw):
    """Decode a request body like Synapse: M_NOT_JSON on anything invalid.

    Like Synapse's json_decoder this accepts what JSON allows and jansson
    refuses by default: "\u0000", lone surrogates ("\udc00"), integers of
    any size; NaN/Infinity are refused (parse_constant), and so is nesting
    too deep for the parser (RecursionError: Synapse's `except Exception`).
    """
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MatrixError(400, "M_NOT_JSON", "Content not JSON.")


def glob_match(pattern, value):
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def event_filter_ok(flt, ev):
    """types/not_types/senders/not_senders of a Matrix event filter."""
    if not flt:
        return True
    if any(glob_match(p, ev.type) for p in flt.get("not_types", ())):
        return False
    types = flt.get("types")
    if types is not None and not any(glob_match(p, ev.type) for p in types):
        return False
    if ev.sender in flt.get("not_senders", ()):
        return False
    senders = flt.get("senders")
    if senders is not None and ev.sender not in senders:
        return False
    return True


def default_push_rules(user_id):
    """Synapse 1.67's default push rules, as seen in fixture 14."""
    def em(key, pattern):
        return {"kind": "event_match", "key": key, "pattern": pattern}

    def rule(rule_id, conditions, actions, enabled=True):
        return {"conditions": conditions, "actions": actions, "rule_id": rule_id,
                "default": True, "enabled": enabled}

    def sound(v):
        return {"set_tweak": "sound", "value": v}

    def hl(v):
        return {"set_tweak": "highlight", "value": v}

    one_to_one = {"kind": "room_member_count", "is": "2"}
    underride = [
        rule(".m.rule.call", [em("type", "m.call.invite")], ["notify", sound("ring"), hl(False)]),
        rule(".m.rule.room_one_to_one", [one_to_one, em("type", "m.room.message")],
             ["notify", sound("default"), hl(False)]),
        rule(".m.rule.encrypted_room_one_to_one", [one_to_one, em("type", "m.room.encrypted")],
             ["notify", sound("default"), hl(False)]),
        rule(".m.rule.message", [em("type", "m.room.message")], ["notify", hl(False)]),
        rule(".m.rule.encrypted", [em("type", "m.room.encrypted")], ["notify", hl(False)]),
        rule(".im.vector.jitsi", [em("type", "im.vector.modular.widgets"),
                                  em("content.type", "jitsi"), em("state_key", "*")],
             ["notify", hl(False)]),
    ]
    override = [
        rule(".m.rule.master", [], ["dont_notify"], enabled=False),
        rule(".m.rule.suppress_notices", [em("content.msgtype", "m.notice")], ["dont_notify"]),
        rule(".m.rule.invite_for_me", [em("type", "m.room.member"),
                                       em("content.membership", "invite"),
                                       em("state_key", user_id)],
             ["notify", sound("default"), hl(False)]),
        rule(".m.rule.member_event", [em("type", "m.room.member")], ["dont_notify"]),
        rule(".m.rule.contains_display_name", [{"kind": "contains_display_name"}],
             ["notify", sound("default"), {"set_tweak": "highlight"}]),
        rule(".m.rule.roomnotif", [em("content.body", "@room"),
                                   {"kind": "sender_notification_permission", "key": "room"}],
             ["notify", hl(True)]),
        rule(".m.rule.tombstone", [em("type", "m.room.tombstone"), em("state_key", "")],
             ["notify", hl(True)]),
        rule(".m.rule.reaction", [em("type", "m.reaction")], ["dont_notify"]),
    ]
    return {"global": {"underride": underride, "sender": [], "room": [], "content": [],
                       "override": override}, "device": {}}


# ---------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------

class Event:
    """One room event.  Redaction is applied when serialising, never stored."""
    __slots__ = ("event_id", "room_id", "type", "sender", "content", "state_key", "redacts",
                 "ts", "pos", "txn", "prev", "redacted_by", "hist_vis", "raw")

    def __init__(self, room_id, etype, sender, content, state_key, redacts, ts, pos, txn):
        self.event_id = new_event_id()
        self.room_id = room_id
        self.type = etype
        self.sender = sender
        self.content = content
        self.state_key = state_key
        self.redacts = redacts
        self.ts = ts
        self.pos = pos
        self.txn = txn              # (user_id, device_id, txn_id) of the sender, or None
        self.prev = None            # the state event this one replaced
        self.redacted_by = None     # the m.room.redaction event, once redacted
        self.hist_vis = "shared"    # history_visibility in force when it was sent
        self.raw = None             # marker of injected raw content (Homeserver.raw_content)

    def relation(self):
        rel = self.content.get("m.relates_to")
        if isinstance(rel, dict) and isinstance(rel.get("event_id"), str) and rel.get("rel_type"):
            return rel["rel_type"], rel["event_id"]
        return None, None


class Room:
    def __init__(self, room_id):
        self.room_id = room_id
        self.events = []            # Event, in stream order
        self.positions = []         # their stream positions (for bisect)
        self.state = {}             # (type, state_key) -> current Event
        self.state_hist = {}        # (type, state_key) -> ([pos], [Event])
        self.member_hist = {}       # user -> ([pos], [membership])
        self.member_log = []        # (pos, user, membership), stream order
        self.member_log_pos = []
        self.joined = set()         # currently joined users
        self.receipts = {}          # (receipt type, user) -> (event_id, ts, pos)
        self.receipt_log = []       # (pos, receipt type, user, event_id, ts)
        self.receipt_log_pos = []
        self.notif_pos = []         # positions of notifying events (unread counts)
        self.notif_by_sender = collections.defaultdict(list)
        self.relations = collections.defaultdict(lambda: collections.defaultdict(list))
        self.last_pos = 0

    # -- membership and state lookups -----------------------------------
    def membership(self, user):
        hist = self.member_hist.get(user)
        return hist[1][-1] if hist else None

    def membership_at(self, user, pos):
        hist = self.member_hist.get(user)
        if not hist:
            return None
        i = bisect.bisect_right(hist[0], pos) - 1
        return hist[1][i] if i >= 0 else None

    def member_changed(self, user, lo, hi):
        """Did `user`'s membership change in (lo, hi]?"""
        hist = self.member_hist.get(user)
        if not hist:
            return False
        i = bisect.bisect_right(hist[0], lo)
        return i < len(hist[0]) and hist[0][i] <= hi

    def last_member_event(self, user, upto):
        hist = self.state_hist.get(("m.room.member", user))
        if not hist:
            return None
        i = bisect.bisect_right(hist[0], upto) - 1
        return hist[1][i] if i >= 0 else None

    def state_at(self, pos):
        """{(type, state_key): Event} after all events with position <= pos."""
        if pos >= self.last_pos:
            return dict(self.state)
        out = {}
        for key, (plist, evs) in self.state_hist.items():
            i = bisect.bisect_right(plist, pos) - 1
            if i >= 0:
                out[key] = evs[i]
        return out

    def content_of(self, etype, key=""):
        ev = self.state.get((etype, key))
        return ev.content if ev is not None else {}

    def power_levels(self):
        return self.content_of("m.room.power_levels")

    def user_level(self, user):
        pl = self.power_levels()
        users = pl.get("users", {})
        if user in users:
            return int(users[user])
        return int(pl.get("users_default", 0))

    def slice_indices(self, lo, hi):
        """Indices [i, j) of the events with lo < pos <= hi."""
        return (bisect.bisect_right(self.positions, lo), bisect.bisect_right(self.positions, hi))


class Device:
    def __init__(self, user_id, device_id, display_name):
        self.user_id = user_id
        self.device_id = device_id
        self.display_name = display_name
        self.keys = None            # device_keys as uploaded (canonical key order)
        self.otks = collections.OrderedDict()   # "alg:id" -> key object, oldest first
        self.fallback = {}          # alg -> {"key_id", "key", "used"}
        self.inbox = collections.deque()        # (to-device id, sender, type, content)
        self.last_seen_ts = now_ms()

    def otk_counts(self):
        counts = {"signed_curve25519": 0}
        for key_id in self.otks:
            alg = key_id.split(":", 1)[0]
            counts[alg] = counts.get(alg, 0) + 1
        return counts

    def unused_fallback_types(self):
        return sorted(alg for alg, fb in self.fallback.items() if not fb["used"])


class User:
    def __init__(self, user_id, password):
        self.user_id = user_id
        self.password = password
        self.displayname = localpart(user_id)
        self.avatar_url = None
        self.devices = {}           # device_id -> Device
        self.filters = []           # canonical JSON strings; the index is the filter id
        self.account_data = {}      # type -> (content, pos)
        self.cross_signing = {}     # "master" / "self_signing" / "user_signing" -> key
        #                             (with the signatures /keys/signatures/upload added)
        self.cross_signing_uploaded = {}    # the same keys exactly as uploaded
        self.presence_pos = 0       # stream position when the user came online (0: offline)
        self.last_active = 0


# ---------------------------------------------------------------------------
# The homeserver
# ---------------------------------------------------------------------------

class Request:
    """What an endpoint sees of an HTTP request."""

    def __init__(self, method, raw_path, path, query, headers, raw_body):
        self.method = method
        self.raw_path = raw_path
        self.path = path
        self.query = query
        self.headers = headers
        self.raw_body = raw_body
        self.user = None            # authenticated user id
        self.device = None          # authenticated device id
        self.token = None

    def json(self, allow_empty=False):
        if allow_empty and not self.raw_body.strip():
            return {}
        body = parse_json(self.raw_body)
        if not isinstance(body, dict):
            raise bad_json()
        return body

    def access_token(self):
        auth = self.headers.get("Authorization")
        if auth:
            parts = auth.split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "bearer":
                return parts[1].strip()
            raise MatrixError(401, "M_MISSING_TOKEN", "Invalid Authorization header.")
        return self.query.get("access_token")


class Homeserver:
    def __init__(self, server_name="localhost", quirks=True, uia_signing="replace",
                 max_event_bytes=MAX_EVENT_BYTES):
        assert uia_signing in UIA_SIGNING_MODES
        self.server_name = server_name
        self.quirks = quirks        # reproduce Synapse 1.67 bugs seen in the fixtures
        self.uia_signing = uia_signing
        self.max_event_bytes = max_event_bytes
        self.base_url = "http://127.0.0.1/"
        self.cond = threading.Condition(threading.RLock())
        self.pos = 0                # global stream position
        self.td_pos = 0             # global to-device stream position
        self.users = {}             # user_id -> User
        self.tokens = {}            # access token -> (user_id, device_id)
        self.rooms = {}             # room_id -> Room
        self.events = {}            # event_id -> Event
        self.aliases = {}           # "#alias:server" -> room_id
        self.user_rooms = collections.defaultdict(set)   # user -> rooms with a membership
        self.room_account_data = {}  # (user, room) -> {type: (content, pos)}
        self.device_changes = []    # (pos, user_id) of device-list changes
        self.device_change_pos = []
        self.txns = {}              # (user, device, request path) -> response body
        self.holds = {}             # user -> (pos, td_pos) while its syncs are held
        self.uia_sessions = {}      # session id -> {"op": (method, path), "creds": {}}
        self.raw_content = {}       # marker -> raw JSON bytes (/_test/event content_raw)
        # sender -> ([stream positions], [server ts]) of its messages, for
        # /_test/bench/count without scanning every room
        self.sent_messages = collections.defaultdict(lambda: ([], []))

    # -- positions and notification ----------------------------------------
    def _next_pos(self):
        self.pos += 1
        return self.pos

    def _device_list_changed(self, user_id):
        pos = self._next_pos()
        self.device_changes.append((pos, user_id))
        self.device_change_pos.append(pos)
        self.cond.notify_all()

    def sync_token(self, pos, td):
        return "s%d_%d" % (pos, td)

    @staticmethod
    def parse_stream_token(tok):
        """(pos, td) from "s<pos>_<td>" or "t<pos>"; None if malformed."""
        m = re.match(r"^s(\d+)_(\d+)$", tok or "")
        if m:
            return int(m.group(1)), int(m.group(2))
        m = re.match(r"^t(\d+)$", tok or "")
        if m:
            return int(m.group(1)), 0
        return None

    # -- users, devices, auth ------------------------------------------------
    def add_user(self, name, password):
        user_id = name if name.startswith("@") else "@%s:%s" % (name, self.server_name)
        user = User(user_id, password)
        self.users[user_id] = user
        return user

    def resolve_user_id(self, name):
        name = (name or "").strip()
        if name.startswith("@"):
            return name if ":" in name else name + ":" + self.server_name
        return "@%s:%s" % (name.lower(), self.server_name)

    def _new_device(self, user, device_id, display_name):
        """Return (device, token); creates the device if it is new."""
        device = user.devices.get(device_id) if device_id else None
        if device is None:
            device_id = device_id or random_letters(10, string.ascii_uppercase)
            device = Device(user.user_id, device_id, display_name)
            user.devices[device_id] = device
            self._device_list_changed(user.user_id)
        token = "syt_%s_%s_%s" % (
            base64.b64encode(localpart(user.user_id).encode()).decode().rstrip("="),
            random_letters(20), random_letters(6, string.ascii_letters + string.digits))
        self.tokens[token] = (user.user_id, device.device_id)
        return device, token

    def _delete_device(self, user, device_id):
        user.devices.pop(device_id, None)
        for tok in [t for t, (u, d) in self.tokens.items() if u == user.user_id and d == device_id]:
            del self.tokens[tok]
        self._device_list_changed(user.user_id)

    def authenticate(self, req):
        token = req.access_token()
        if not token:
            raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")
        who = self.tokens.get(token)
        if who is None:
            raise MatrixError(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.",
                              soft_logout=False)
        req.user, req.device = who
        req.token = token
        user = self.users[req.user]
        user.last_active = now_ms()
        if not user.presence_pos and req.query.get("set_presence") != "offline":
            user.presence_pos = self._next_pos()
        dev = user.devices.get(req.device)
        if dev is not None:
            dev.last_seen_ts = user.last_active

    def _user(self, user_id):
        return self.users.get(user_id)

    def _displayname(self, user_id):
        user = self.users.get(user_id)
        return user.displayname if user else localpart(user_id)

    def _member_content(self, user_id, membership, extra=None):
        content = {"membership": membership}
        user = self.users.get(user_id)
        if membership in ("join", "invite"):
            content["displayname"] = user.displayname if user else localpart(user_id)
            if user and user.avatar_url:
                content["avatar_url"] = user.avatar_url
        if extra:
            content.update(extra)
        return content

    # -- events --------------------------------------------------------------
    def add_event(self, room, sender, etype, content, state_key=None, redacts=None, txn=None,
                  ts=None):
        """Append an event to a room, update indexes, wake syncs.  Returns it."""
        pos = self._next_pos()
        ev = Event(room.room_id, etype, sender, content, state_key, redacts,
                   ts if ts is not None else now_ms(), pos, txn)
        ev.hist_vis = room.content_of("m.room.history_visibility").get("history_visibility",
                                                                         "shared")
        if state_key is not None:
            key = (etype, state_key)
            ev.prev = room.state.get(key)
            room.state[key] = ev
            plist, evs = room.state_hist.setdefault(key, ([], []))
            plist.append(pos)
            evs.append(ev)
            if etype == "m.room.member":
                membership = content.get("membership")
                hist = room.member_hist.setdefault(state_key, ([], []))
                hist[0].append(pos)
                hist[1].append(membership)
                room.member_log.append((pos, state_key, membership))
                room.member_log_pos.append(pos)
                if membership == "join":
                    room.joined.add(state_key)
                else:
                    room.joined.discard(state_key)
                self.user_rooms[state_key].add(room.room_id)
        rel_type, target = ev.relation()
        if rel_type:
            room.relations[target][rel_type].append(ev)
        if etype == "m.room.redaction" and redacts:
            victim = self.events.get(redacts)
            if victim is not None and victim.room_id == room.room_id and victim.redacted_by is None:
                victim.redacted_by = ev
                self._forget_notification(room, victim)
        if etype in NOTIFYING_TYPES and state_key is None and content.get("msgtype") != "m.notice":
            room.notif_pos.append(pos)
            room.notif_by_sender[sender].append(pos)
        room.events.append(ev)
        room.positions.append(pos)
        room.last_pos = pos
        self.events[ev.event_id] = ev
        if etype in ("m.room.message", "m.room.encrypted") and state_key is None:
            sent = self.sent_messages[sender]
            sent[0].append(pos)
            sent[1].append(ev.ts)
        self.cond.notify_all()
        return ev

    @staticmethod
    def _forget_notification(room, ev):
        for lst in (room.notif_pos, room.notif_by_sender.get(ev.sender, [])):
            i = bisect.bisect_left(lst, ev.pos)
            if i < len(lst) and lst[i] == ev.pos:
                del lst[i]

    # -- serialisation -------------------------------------------------------
    def encode(self, obj):
        """A response body: JSON like Synapse's json_encoder (ensure_ascii, so
        "\u0000", "\udc00" and big integers go out as escapes and digits),
        with injected raw content spliced in where its marker is."""
        body = json.dumps(obj, separators=(",", ":")).encode()
        if self.raw_content and b"\\u0000scribe-raw-content:" in body:
            body = RAW_MARKER_RX.sub(lambda m: self.raw_content.get(m.group(0), m.group(0)), body)
        return body

    @staticmethod
    def _pruned(ev):
        keep = REDACT_KEEP.get(ev.type, ())
        return {k: v for k, v in ev.content.items() if k in keep}

    def _content(self, ev):
        return self._pruned(ev) if ev.redacted_by is not None else ev.content

    def serialize(self, ev, viewer=None, full=False, bundle=False, apply_edits=False, now=None):
        """An event as a client sees it.

        full=False is the /sync format; full=True adds room_id and the legacy
        top-level user_id/age/replaces_state/prev_content/redacted_because like
        /messages and /event.  viewer is (user_id, device_id).
        """
        now = now if now is not None else now_ms()
        redacted = ev.redacted_by is not None
        d = {"type": ev.type}
        if full:
            d["room_id"] = ev.room_id
        d["sender"] = ev.sender
        d["content"] = ev.raw if ev.raw is not None and not redacted else self._content(ev)
        if ev.redacts is not None and not redacted:
            d["redacts"] = ev.redacts
        if ev.state_key is not None:
            d["state_key"] = ev.state_key
        d["origin_server_ts"] = ev.ts
        unsigned = {}
        prev = ev.prev
        if prev is not None:
            unsigned["replaces_state"] = prev.event_id
            if not redacted:
                unsigned["prev_content"] = self._content(prev)
                unsigned["prev_sender"] = prev.sender
        if redacted:
            unsigned["redacted_by"] = ev.redacted_by.event_id
            unsigned["redacted_because"] = self.serialize(ev.redacted_by, viewer, full, now=now)
        age = max(0, now - ev.ts)
        unsigned["age"] = age
        if ev.txn is not None and viewer is not None and ev.txn[:2] == tuple(viewer):
            unsigned["transaction_id"] = ev.txn[2]
        if bundle and not redacted:
            relations, edit = self._aggregations(ev, viewer, full, now)
            if relations:
                unsigned["m.relations"] = relations
            if apply_edits and edit is not None:
                new_content = edit.content.get("m.new_content")
                if isinstance(new_content, dict):
                    content = dict(new_content)
                    if "m.relates_to" in ev.content:
                        content["m.relates_to"] = ev.content["m.relates_to"]
                    else:
                        content.pop("m.relates_to", None)
                    d["content"] = content
        d["unsigned"] = unsigned
        d["event_id"] = ev.event_id
        if full:
            d["user_id"] = ev.sender
            d["age"] = age
            if prev is not None and not redacted:
                d["replaces_state"] = prev.event_id
                d["prev_content"] = unsigned["prev_content"]
            if redacted:
                d["redacted_because"] = unsigned["redacted_because"]
        return d

    def _aggregations(self, ev, viewer, full, now):
        """Bundled aggregations (unsigned.m.relations) and the applicable edit."""
        room = self.rooms[ev.room_id]
        rels = room.relations.get(ev.event_id)
        if not rels:
            return None, None
        out = {}
        counts = {}
        for r in rels.get("m.annotation", ()):
            key = r.content["m.relates_to"].get("key")
            if r.redacted_by is None and isinstance(key, str):
                c = counts.setdefault((r.type, key), [0, 0])
                c[0] += 1
                c[1] = r.pos
        if counts:
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))
            out["m.annotation"] = {"chunk": [{"type": t, "key": k, "count": c[0]}
                                             for (t, k), c in ordered]}
        refs = [r for r in rels.get("m.reference", ()) if r.redacted_by is None]
        if refs:
            out["m.reference"] = {"chunk": [{"event_id": r.event_id} for r in refs]}
        edit = None
        if ev.state_key is None:
            for r in rels.get("m.replace", ()):
                if r.redacted_by is None and r.sender == ev.sender and r.type == ev.type:
                    if edit is None or (r.ts, r.event_id) > (edit.ts, edit.event_id):
                        edit = r
        if edit is not None:
            out["m.replace"] = {"event_id": edit.event_id, "origin_server_ts": edit.ts,
                                "sender": edit.sender}
        thread = [r for r in rels.get("m.thread", ()) if r.redacted_by is None]
        if thread:
            me = viewer[0] if viewer else None
            out["m.thread"] = {
                "latest_event": self.serialize(thread[-1], viewer, full, now=now),
                "count": len(thread),
                "current_user_participated": ev.sender == me or any(r.sender == me
                                                                    for r in thread),
            }
        return out, edit

    @staticmethod
    def _stripped(ev):
        return {"type": ev.type, "state_key": ev.state_key, "content": ev.content,
                "sender": ev.sender}

    # -- visibility and room access -------------------------------------------
    @staticmethod
    def visible(room, ev, user, current_membership):
        """Synapse's history-visibility rules for one event."""
        if ev.type == "m.room.member" and ev.state_key == user:
            return True
        membership = room.membership_at(user, ev.pos - 1)
        if membership == "join":
            return True
        vis = ev.hist_vis
        if vis == "world_readable":
            return True
        if vis == "shared":
            return current_membership == "join"
        if vis == "invited":
            return membership == "invite"
        return False

    def visible_slice(self, room, user, lo, hi, limit, flt=None):
        """The last `limit` events with lo < pos <= hi that `user` may see.

        Returns (events oldest first, truncated) where truncated means more
        visible events exist in the range.
        """
        i_lo, i_hi = room.slice_indices(lo, hi)
        current = room.membership_at(user, hi)
        out = []
        i = i_hi - 1
        while i >= i_lo and len(out) <= limit:
            ev = room.events[i]
            if event_filter_ok(flt, ev) and self.visible(room, ev, user, current):
                out.append(ev)
            i -= 1
        truncated = len(out) > limit
        out = out[:limit]
        out.reverse()
        return out, truncated

    def _room(self, room_id):
        room = self.rooms.get(room_id)
        if room is None:
            raise forbidden("Unknown room")
        return room

    @staticmethod
    def _membership_repr(room, user):
        ev = room.state.get(("m.room.member", user))
        if ev is None:
            return "None"
        return "<FrozenEventV3 event_id=%s, type=m.room.member, state_key=%s, outlier=False>" % (
            ev.event_id, user)

    def _require_joined(self, room_id, user):
        room = self._room(room_id)
        if room.membership(user) != "join":
            raise forbidden("User %s not in room %s (%s)" % (
                user, room_id, self._membership_repr(room, user)))
        return room

    def _require_member_or_departed(self, room_id, user):
        """For reads: members, and former members up to their departure."""
        room = self.rooms.get(room_id)
        if room is None or room.membership(user) is None:
            readable = room is not None and room.content_of(
                "m.room.history_visibility").get("history_visibility") == "world_readable"
            if not readable:
                raise forbidden("User %s not in room %s, and room previews are disabled" % (
                    user, room_id))
        return room

    def _check_power(self, room, user, etype, is_state):
        pl = room.power_levels()
        if not pl:
            return
        needed = pl.get("events", {}).get(etype)
        if needed is None:
            needed = pl.get("state_default", 50) if is_state else pl.get("events_default", 0)
        level = room.user_level(user)
        if level < int(needed):
            raise forbidden("You don't have permission to post that to the room. "
                            "user_level (%d) < send_level (%d)" % (level, int(needed)))

    def _txn_key(self, req):
        return (req.user, req.device, req.path)

    # ---------------------------------------------------------------------
    # Endpoints: login, registration, account
    # ---------------------------------------------------------------------
    def ep_versions(self, req):
        return VERSIONS

    def ep_login_flows(self, req):
        return {"flows": [{"type": "m.login.password"}, {"type": "m.login.application_service"}]}

    def ep_login(self, req):
        body = req.json()
        ltype = body.get("type")
        if not isinstance(ltype, str):
            raise MatrixError(400, "M_UNKNOWN", "Missing JSON keys.")
        if ltype != "m.login.password":
            raise MatrixError(400, "M_UNKNOWN", "Unknown login type %s" % ltype)
        ident = body.get("identifier")
        if isinstance(ident, dict):
            if ident.get("type") != "m.id.user":
                raise MatrixError(400, "M_UNKNOWN", "Unknown login identifier type")
            name = ident.get("user")
        else:
            name = body.get("user")
        if not isinstance(name, str) or not isinstance(body.get("password"), str):
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid username or password")
        user = self.users.get(self.resolve_user_id(name))
        if user is None or user.password != body["password"]:
            raise forbidden("Invalid username or password")
        device, token = self._new_device(user, body.get("device_id"),
                                         body.get("initial_device_display_name"))
        return {"user_id": user.user_id, "access_token": token, "home_server": self.server_name,
                "device_id": device.device_id,
                "well_known": {"m.homeserver": {"base_url": self.base_url}}}

    def ep_register(self, req):
        if req.query.get("kind", "user") == "guest":
            raise MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is disabled")
        body = req.json()
        name = body.get("username")
        if name is None:
            name = str(len(self.users) + 1)
        if not isinstance(name, str) or not re.match(r"^[a-z0-9=_\-./]+$", name):
            raise MatrixError(400, "M_INVALID_USERNAME",
                              "User ID can only contain characters a-z, 0-9, or '=_-./'")
        user_id = "@%s:%s" % (name, self.server_name)
        if user_id in self.users:
            raise MatrixError(400, "M_USER_IN_USE", "User ID already taken.")
        user = self.add_user(user_id, body.get("password") or "")
        out = {"user_id": user_id, "home_server": self.server_name}
        if not body.get("inhibit_login"):
            device, token = self._new_device(user, body.get("device_id"),
                                             body.get("initial_device_display_name"))
            out["access_token"] = token
            out["device_id"] = device.device_id
        return out

    def ep_register_available(self, req):
        user_id = "@%s:%s" % (req.query.get("username", ""), self.server_name)
        if user_id in self.users:
            raise MatrixError(400, "M_USER_IN_USE", "User ID already taken.")
        return {"available": True}

    def ep_logout(self, req):
        self._delete_device(self.users[req.user], req.device)
        return {}

    def ep_logout_all(self, req):
        user = self.users[req.user]
        for device_id in list(user.devices):
            self._delete_device(user, device_id)
        return {}

    def ep_whoami(self, req):
        return {"user_id": req.user, "is_guest": False, "device_id": req.device}

    def ep_capabilities(self, req):
        versions = {str(v): "stable" for v in range(1, 11)}
        return {"capabilities": {
            "m.room_versions": {"default": ROOM_VERSION, "available": versions},
            "m.change_password": {"enabled": True},
        }}

    def _uia(self, req, body):
        """User-interactive auth with one m.login.password stage, as Synapse's
        AuthHandler.validate_user_via_ui_auth/check_ui_auth do it (shared by
        DELETE /devices, /delete_devices and /keys/device_signing/upload).

        Returns once the session has a completed password stage for the
        requesting user; otherwise raises the 401 that carries the session:
        {"session", "flows", "params"} (no "auth"), plus "completed" and, when
        the password was wrong, "error"/"errcode" merged from the LoginError.
        """
        auth = body.pop("auth", None)
        if not isinstance(auth, dict):
            auth = {}
        op = (req.method, req.raw_path)
        sid = auth.get("session")
        if not sid:
            sid = random_letters(24)
            self.uia_sessions[sid] = {"op": op, "creds": {}}
        session = self.uia_sessions.get(sid) if isinstance(sid, str) else None
        if session is None:
            raise MatrixError(400, "M_UNKNOWN", "Unknown session ID: %s" % (sid,))
        if session["op"] != op:
            raise MatrixError(403, "M_UNKNOWN", "Requested operation has changed during "
                                                "the UI authentication session.")
        challenge = {"session": sid, "flows": UIA_PASSWORD_FLOWS, "params": {}}
        if not auth:
            raise MatrixError(401, None, None, body=challenge)
        error = {}
        if "type" in auth:
            stage = auth["type"]
            if stage == "m.login.dummy":
                session["creds"][stage] = True
            else:
                who = self._uia_password(auth)
                if who is None:
                    error = {"error": "Invalid username or password", "errcode": "M_FORBIDDEN"}
                else:
                    session["creds"][stage] = who
        who = session["creds"].get("m.login.password")
        if who is not None:
            if who != req.user:
                raise forbidden("Invalid auth")
            return
        raise MatrixError(401, None, None, body=dict(challenge, completed=list(session["creds"]),
                                                     **error))

    def _uia_password(self, auth):
        """The user id a UIA stage authenticates (AuthHandler.validate_login
        with is_reauth), None for a wrong user or password; raises the 400s
        Synapse raises for a malformed stage."""
        if not isinstance(auth.get("type"), str):
            raise MatrixError(400, "M_INVALID_PARAM", "Bad parameter: type")
        if auth["type"] != "m.login.password":
            raise MatrixError(400, "M_UNKNOWN", "Unknown login type %s" % auth["type"])
        if not isinstance(auth.get("password"), str):
            raise MatrixError(400, "M_INVALID_PARAM", "Bad parameter: password")
        ident = {"type": "m.id.user", "user": auth["user"]} if auth.get("user") else \
            auth.get("identifier")
        if not ident:
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid login submission")
        if not isinstance(ident, dict) or ident.get("type") != "m.id.user":
            raise MatrixError(400, "M_UNKNOWN", "Unknown login identifier type")
        name = ident.get("user")
        if not name or not isinstance(name, str):
            raise MatrixError(400, "M_UNKNOWN", "User identifier is missing 'user' key")
        user = self.users.get(self.resolve_user_id(name))
        if user is None or user.password != auth["password"]:
            return None
        return user.user_id

    def ep_devices(self, req):
        user = self.users[req.user]
        return {"devices": [self._device_info(d) for d in user.devices.values()]}

    @staticmethod
    def _device_info(d):
        return {"device_id": d.device_id, "display_name": d.display_name,
                "last_seen_ip": "127.0.0.1", "last_seen_ts": d.last_seen_ts,
                "user_id": d.user_id}

    def ep_device_get(self, req, device_id):
        d = self.users[req.user].devices.get(device_id)
        if d is None:
            raise MatrixError(404, "M_NOT_FOUND", "No device found")
        return self._device_info(d)

    def ep_device_put(self, req, device_id):
        body = req.json()
        d = self.users[req.user].devices.get(device_id)
        if d is None:
            raise MatrixError(404, "M_NOT_FOUND", "No device found")
        if "display_name" in body:
            d.display_name = body["display_name"]
            self._device_list_changed(req.user)
        return {}

    def ep_device_delete(self, req, device_id):
        body = req.json(allow_empty=True)
        self._uia(req, body)
        user = self.users[req.user]
        if device_id in user.devices:
            self._delete_device(user, device_id)
        return {}

    def ep_delete_devices(self, req):
        body = req.json()
        self._uia(req, body)
        user = self.users[req.user]
        for device_id in body.get("devices", []):
            if device_id in user.devices:
                self._delete_device(user, device_id)
        return {}

    # -- profile -----------------------------------------------------------
    def ep_profile(self, req, user_id):
        user = self.users.get(user_id)
        if user is None:
            raise MatrixError(404, "M_NOT_FOUND", "Profile was not found")
        out = {"displayname": user.displayname}
        if user.avatar_url:
            out["avatar_url"] = user.avatar_url
        return out

    def ep_profile_field_get(self, req, user_id, field):
        user = self.users.get(user_id)
        if user is None:
            raise MatrixError(404, "M_NOT_FOUND", "Profile was not found")
        value = user.displayname if field == "displayname" else user.avatar_url
        return {field: value} if value is not None else {}

    def ep_profile_field_put(self, req, user_id, field):
        body = req.json()
        if user_id != req.user:
            raise forbidden("Cannot set another user's %s" % field)
        user = self.users[user_id]
        value = body.get(field)
        if field == "displayname":
            user.displayname = value
        else:
            user.avatar_url = value
        for room_id in list(self.user_rooms.get(user_id, ())):
            room = self.rooms[room_id]
            if room.membership(user_id) == "join":
                self.add_event(room, user_id, "m.room.member",
                               self._member_content(user_id, "join"), state_key=user_id)
        return {}

    # -- filters and account data -------------------------------------------
    def ep_filter_create(self, req, user_id):
        if user_id != req.user:
            raise forbidden("Cannot create filters for other users")
        body = req.json()
        canon = canonical_json(body)
        user = self.users[req.user]
        if canon in user.filters:
            return {"filter_id": str(user.filters.index(canon))}
        user.filters.append(canon)
        return {"filter_id": str(len(user.filters) - 1)}

    def ep_filter_get(self, req, user_id, filter_id):
        if user_id != req.user:
            raise forbidden("Cannot get filters for other users")
        try:
            idx = int(filter_id)
        except ValueError:
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid filter_id")
        filters = self.users[req.user].filters
        if not 0 <= idx < len(filters):
            raise MatrixError(404, "M_NOT_FOUND", "No such filter")
        return json.loads(filters[idx])

    def _load_filter(self, user, spec):
        if spec is None or spec == "":
            return {}
        if spec.startswith("{"):
            try:
                flt = json.loads(spec)
            except ValueError:
                raise MatrixError(400, "M_NOT_JSON", "Invalid filter JSON")
            if not isinstance(flt, dict):
                raise MatrixError(400, "M_BAD_JSON", "Invalid filter JSON")
            return flt
        try:
            idx = int(spec)
        except ValueError:
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid filter ID")
        if not 0 <= idx < len(user.filters):
            raise MatrixError(400, "M_INVALID_PARAM", "No such filter")
        return json.loads(user.filters[idx])

    def ep_account_data_put(self, req, user_id, etype):
        if user_id != req.user:
            raise forbidden("Cannot add account data for other users.")
        body = req.json()
        self.users[req.user].account_data[etype] = (body, self._next_pos())
        self.cond.notify_all()
        return {}

    def ep_account_data_get(self, req, user_id, etype):
        if user_id != req.user:
            raise forbidden("Cannot get account data for other users.")
        if etype == "m.push_rules":
            return default_push_rules(req.user)
        item = self.users[req.user].account_data.get(etype)
        if item is None:
            raise MatrixError(404, "M_NOT_FOUND", "Account data not found")
        return item[0]

    def ep_room_account_data_put(self, req, user_id, room_id, etype):
        if user_id != req.user:
            raise forbidden("Cannot add account data for other users.")
        body = req.json()
        self._set_room_account_data(req.user, room_id, etype, body)
        return {}

    def _set_room_account_data(self, user_id, room_id, etype, content):
        self.room_account_data.setdefault((user_id, room_id), {})[etype] = (
            content, self._next_pos())
        self.user_rooms[user_id].add(room_id)
        self.cond.notify_all()

    def ep_room_account_data_get(self, req, user_id, room_id, etype):
        if user_id != req.user:
            raise forbidden("Cannot get account data for other users.")
        item = self.room_account_data.get((req.user, room_id), {}).get(etype)
        if item is None:
            raise MatrixError(404, "M_NOT_FOUND", "Room account data not found")
        return item[0]

    def ep_pushrules(self, req):
        return default_push_rules(req.user)

    def ep_presence_put(self, req, user_id):
        req.json(allow_empty=True)
        return {}

    def ep_presence_get(self, req, user_id):
        user = self.users.get(user_id)
        if user is None:
            raise MatrixError(404, "M_NOT_FOUND", "Unknown user")
        if not user.presence_pos:
            return {"presence": "offline"}
        return {"presence": "online", "last_active_ago": max(0, now_ms() - user.last_active),
                "currently_active": True}

    # ---------------------------------------------------------------------
    # Endpoints: rooms
    # ---------------------------------------------------------------------
    def create_room(self, creator, body):
        """createRoom as Synapse does it; returns the Room."""
        visibility = body.get("visibility", "private")
        preset = body.get("preset") or ("public_chat" if visibility == "public" else "private_chat")
        if preset not in ("private_chat", "trusted_private_chat", "public_chat"):
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid preset: %s" % preset)
        version = str(body.get("room_version", ROOM_VERSION))
        if version not in [str(v) for v in range(1, 11)]:
            raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION",
                              "Your homeserver does not support this room version")
        invites = body.get("invite", [])
        if not isinstance(invites, list) or not all(
                isinstance(u, str) and re.match(r"^@[^:]+:.+$", u) for u in invites):
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid user_id in invite list")
        alias = None
        if body.get("room_alias_name"):
            alias = "#%s:%s" % (body["room_alias_name"], self.server_name)
            if alias in self.aliases:
                raise MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken")
        initial_state = body.get("initial_state", [])
        if not isinstance(initial_state, list) or not all(
                isinstance(e, dict) and isinstance(e.get("type"), str) and
                isinstance(e.get("content", {}), dict) for e in initial_state):
            raise bad_json("initial_state must be a list of state events")
        for field in ("creation_content", "power_level_content_override"):
            if not isinstance(body.get(field) or {}, dict):
                raise bad_json("%s must be an object" % field)
        initial_keys = {(e["type"], e.get("state_key", "")) for e in initial_state}

        room_id = "!%s:%s" % (random_letters(18), self.server_name)
        room = Room(room_id)
        self.rooms[room_id] = room

        def send(etype, content, state_key="", sender=creator):
            self.add_event(room, sender, etype, content, state_key=state_key)

        create = dict(body.get("creation_content") or {})
        create["room_version"] = version
        create["creator"] = creator
        send("m.room.create", create)
        send("m.room.member", self._member_content(creator, "join"), creator)
        if ("m.room.power_levels", "") not in initial_keys:
            pl = {"users": {creator: 100}, "users_default": 0,
                  "events": {"m.room.name": 50, "m.room.power_levels": 100,
                             "m.room.history_visibility": 100, "m.room.canonical_alias": 50,
                             "m.room.avatar": 50, "m.room.tombstone": 100,
                             "m.room.server_acl": 100, "m.room.encryption": 100},
                  "events_default": 0, "state_default": 50, "ban": 50, "kick": 50,
                  "redact": 50, "invite": 50 if preset == "public_chat" else 0,
                  "historical": 100}
            if preset == "trusted_private_chat":
                for u in invites:
                    pl["users"][u] = 100
            pl.update(body.get("power_level_content_override") or {})
            send("m.room.power_levels", pl)
        if alias:
            self.aliases[alias] = room_id
            send("m.room.canonical_alias", {"alias": alias})
        if ("m.room.join_rules", "") not in initial_keys:
            send("m.room.join_rules",
                 {"join_rule": "public" if preset == "public_chat" else "invite"})
        if ("m.room.history_visibility", "") not in initial_keys:
            send("m.room.history_visibility", {"history_visibility": "shared"})
        if preset != "public_chat" and ("m.room.guest_access", "") not in initial_keys:
            send("m.room.guest_access", {"guest_access": "can_join"})
        for e in initial_state:
            send(e["type"], e.get("content", {}), e.get("state_key", ""))
        if body.get("name") is not None:
            send("m.room.name", {"name": body["name"]})
        if body.get("topic") is not None:
            send("m.room.topic", {"topic": body["topic"]})
        for u in invites:
            extra = {"is_direct": True} if body.get("is_direct") else None
            send("m.room.member", self._member_content(u, "invite", extra), u)
        return room

    def ep_create_room(self, req):
        body = req.json()
        return {"room_id": self.create_room(req.user, body).room_id}

    def _resolve_room(self, id_or_alias):
        if id_or_alias.startswith("#"):
            room_id = self.aliases.get(id_or_alias)
            if room_id is None:
                raise MatrixError(404, "M_NOT_FOUND", "Room alias %s not found" % id_or_alias)
            return self.rooms[room_id]
        room = self.rooms.get(id_or_alias)
        if room is None:
            raise MatrixError(404, "M_UNKNOWN", "Can't join remote room because no servers "
                                                "that are in the room have been provided.")
        return room

    def join(self, user, room, extra=None):
        membership = room.membership(user)
        if membership == "join":
            return
        if membership == "ban":
            raise forbidden("You are banned from this room")
        rule = room.content_of("m.room.join_rules").get("join_rule", "invite")
        if rule != "public" and membership != "invite":
            raise forbidden("You are not invited to this room.")
        self.add_event(room, user, "m.room.member", self._member_content(user, "join", extra),
                       state_key=user)

    def ep_join(self, req, id_or_alias):
        try:
            body = req.json(allow_empty=True)
        except MatrixError:
            body = {}
        room = self._resolve_room(id_or_alias)
        extra = {"reason": body["reason"]} if isinstance(body.get("reason"), str) else None
        self.join(req.user, room, extra)
        return {"room_id": room.room_id}

    def _membership_body(self, req):
        try:
            return req.json(allow_empty=True)
        except MatrixError:
            return {}

    def _target(self, body):
        target = body.get("user_id")
        if not isinstance(target, str):
            raise MatrixError(400, "M_MISSING_PARAM", "Missing user_id")
        return target

    def ep_invite(self, req, room_id):
        body = req.json()
        target = self._target(body)
        room = self._require_joined(room_id, req.user)
        current = room.membership(target)
        if current == "join":
            raise forbidden("%s is already in the room." % target)
        if current == "ban":
            raise forbidden("%s is banned from the room" % target)
        if room.user_level(req.user) < int(room.power_levels().get("invite", 0)):
            raise forbidden("You don't have permission to invite users")
        if current != "invite":
            extra = {"reason": body["reason"]} if isinstance(body.get("reason"), str) else None
            self.add_event(room, req.user, "m.room.member",
                           self._member_content(target, "invite", extra), state_key=target)
        return {}

    def ep_leave(self, req, room_id):
        body = self._membership_body(req)
        room = self.rooms.get(room_id)
        if room is None:
            raise MatrixError(404, "M_NOT_FOUND", "Unknown room %s" % room_id)
        if room.membership(req.user) not in ("join", "invite"):
            raise forbidden("User %s not in room %s (%s)" % (
                req.user, room_id, self._membership_repr(room, req.user)))
        extra = {"reason": body["reason"]} if isinstance(body.get("reason"), str) else None
        self.add_event(room, req.user, "m.room.member",
                       self._member_content(req.user, "leave", extra), state_key=req.user)
        return {}

    def _moderate(self, req, room_id, action):
        body = req.json()
        target = self._target(body)
        room = self._require_joined(room_id, req.user)
        pl = room.power_levels()
        needed = int(pl.get(action if action != "unban" else "ban", 50))
        mine, theirs = room.user_level(req.user), room.user_level(target)
        current = room.membership(target)
        extra = {"reason": body["reason"]} if isinstance(body.get("reason"), str) else None
        if action == "kick":
            if current not in ("join", "invite"):
                raise forbidden("The target user is not in the room")
            if mine < needed or (mine <= theirs and target != req.user):
                raise forbidden("You cannot kick user %s." % target)
            membership = "leave"
        elif action == "ban":
            if mine < needed or (mine <= theirs and target != req.user):
                raise forbidden("You don't have permission to ban")
            membership = "ban"
        else:
            if current != "ban":
                raise forbidden("The target user is not banned")
            if mine < needed:
                raise forbidden("You don't have permission to unban")
            membership = "leave"
        self.add_event(room, req.user, "m.room.member",
                       self._member_content(target, membership, extra), state_key=target)
        return {}

    def ep_kick(self, req, room_id):
        return self._moderate(req, room_id, "kick")

    def ep_ban(self, req, room_id):
        return self._moderate(req, room_id, "ban")

    def ep_unban(self, req, room_id):
        return self._moderate(req, room_id, "unban")

    def ep_forget(self, req, room_id):
        return {}

    def ep_joined_rooms(self, req):
        return {"joined_rooms": sorted(r for r in self.user_rooms.get(req.user, ())
                                       if self.rooms[r].membership(req.user) == "join")}

    def ep_directory_get(self, req, alias):
        room_id = self.aliases.get(alias)
        if room_id is None:
            raise MatrixError(404, "M_NOT_FOUND", "Room alias %s not found" % alias)
        return {"room_id": room_id, "servers": [self.server_name]}

    def ep_directory_put(self, req, alias):
        body = req.json()
        if alias in self.aliases:
            raise MatrixError(409, "M_UNKNOWN", "Room alias %s already exists" % alias)
        self._require_joined(body.get("room_id", ""), req.user)
        self.aliases[alias] = body["room_id"]
        return {}

    # -- sending ------------------------------------------------------------
    @staticmethod
    def room_version(room):
        return str(room.content_of("m.room.create").get("room_version", "1"))

    def check_new_event(self, room, sender, etype, content, state_key=None, redacts=None,
                        raw=None):
        """What Synapse checks of an event a client creates, in Synapse's order.

        1. builder.build hashes the event: canonicaljson encodes it with
           ensure_ascii=False and then as UTF-8, which a lone surrogate
           ("\udc00") cannot be; the UnicodeEncodeError is not caught, so
           the client gets 500 M_UNKNOWN (the same text in a to-device
           message is forwarded as sent: Synapse 1.67 never encodes it so).
        2. EventValidator.validate_new: in room versions with
           strict_canonicaljson (6 and later) the content must be canonical
           JSON: 400 M_BAD_JSON "JSON integer out of range" past +-(2**53-1),
           "Bad JSON value: float" for any real (events/utils.py
           validate_canonicaljson).
        3. event_auth._check_size_limits: the canonical JSON of the whole
           PDU over MAX_PDU_SIZE is 413 M_TOO_LARGE "event too large"
           (--max-event-bytes).

        raw, the request body, allows a shortcut for the common case: with
        no "\\ud..." escape in it (nothing that could be a lone surrogate)
        and no reals allowed (strict rooms), the canonical content is never
        longer than the request, so a body well under the limit needs no
        encoding here.
        """
        strict = self.room_version(room) not in ("1", "2", "3", "4", "5")
        if raw is not None and strict and b"\\ud" not in raw and b"\\uD" not in raw and \
                len(raw) + self._overhead_bound(room, sender, etype, state_key, redacts) \
                <= self.max_event_bytes:
            self._validate_canonicaljson(content)
            return
        try:
            body = json.dumps(content, ensure_ascii=False, allow_nan=False, sort_keys=True,
                              separators=(",", ":")).encode("utf-8")
        except (UnicodeEncodeError, ValueError):
            raise MatrixError(500, "M_UNKNOWN", "Internal server error")
        if strict:
            self._validate_canonicaljson(content)
        if len(body) + self._pdu_overhead(room, sender, etype, content, state_key,
                                          redacts) > self.max_event_bytes:
            raise MatrixError(413, "M_TOO_LARGE", "event too large")

    def _overhead_bound(self, room, sender, etype, state_key, redacts):
        """More than _pdu_overhead can be: 1024 bytes for the fixed fields
        (about 600), 6 for each character of the variable ones."""
        return 1024 + 6 * (len(room.room_id) + len(sender) + len(etype) + len(state_key or "") +
                           len(redacts or "") + len(self.server_name))

    @staticmethod
    def _validate_canonicaljson(value):
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, bool) or v is None or isinstance(v, str):
                continue
            if isinstance(v, int):
                if not -CANONICALJSON_MAX_INT <= v <= CANONICALJSON_MAX_INT:
                    raise MatrixError(400, "M_BAD_JSON", "JSON integer out of range")
            elif isinstance(v, float):
                raise MatrixError(400, "M_BAD_JSON", "Bad JSON value: float")
            elif isinstance(v, dict):
                stack.extend(v.values())
            else:
                stack.extend(v)

    def _pdu_overhead(self, room, sender, etype, content, state_key, redacts):
        """Bytes the PDU Synapse 1.67 builds around the content adds to it.

        The client sends only the content; the PDU that _check_size_limits
        measures (event.get_pdu_json(), canonical JSON) is, for room
        versions 3 and later as Synapse 1.67 writes it (EventBuilder.build,
        create_local_event_from_event_dict, add_hashes_and_signatures):
          auth_events     event ids of the create, power levels and sender's
                          member event (for a member event also the
                          target's member and the join rules), "$" + 43
          content         what the client sent
          depth           the room's depth + 1
          hashes          {"sha256": 43 base64 characters}
          origin          the server name
          origin_server_ts, unsigned.age_ts  13 digits each
          prev_events     the one forward extremity
          prev_state      []
          redacts         (redactions) the target's event id
          room_id, sender, type, state_key
          signatures      {server: {"ed25519:a_XXXX": 86 base64 characters}}
          unsigned        also replaces_state when a state event replaces one
        (the layout of a PDU Synapse stored in September 2022). The same
        skeleton with placeholders of those exact lengths is encoded here:
        for a message from @scribe:localhost in a new room that is 644 bytes
        of overhead, 702 for a redaction. Synapse 1.160 writes no origin and
        no prev_state (36 bytes less): it takes content up to 36 bytes
        bigger than this does. Real rooms may have more prev_events after a
        fork (46 bytes each) and more digits of depth: a few dozen bytes
        either way.
        """
        eid = "$" + "A" * 43
        auth = [("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.member", sender)]
        if etype == "m.room.member" and state_key is not None:
            auth.append(("m.room.member", state_key))
            if content.get("membership") in ("join", "invite", "knock"):
                auth.append(("m.room.join_rules", ""))
        n_auth = len({k for k in auth if k in room.state})
        now = now_ms()
        pdu = {"auth_events": [eid] * n_auth, "content": 0, "depth": len(room.events) + 1,
               "hashes": {"sha256": "A" * 43}, "origin": self.server_name,
               "origin_server_ts": now, "prev_events": [eid] if room.events else [],
               "prev_state": [], "room_id": room.room_id, "sender": sender,
               "signatures": {self.server_name: {"ed25519:a_AAAA": "A" * 86}},
               "type": etype, "unsigned": {"age_ts": now}}
        if state_key is not None:
            pdu["state_key"] = state_key
            if (etype, state_key) in room.state:
                pdu["unsigned"]["replaces_state"] = eid
        if redacts is not None:
            pdu["redacts"] = redacts
        try:
            skeleton = json.dumps(pdu, ensure_ascii=False, sort_keys=True,
                                  separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:
            raise MatrixError(500, "M_UNKNOWN", "Internal server error")
        return len(skeleton) - 1        # less the placeholder content "0"

    def ep_send(self, req, room_id, etype, txn_id):
        key = self._txn_key(req)
        if key in self.txns:
            return self.txns[key]
        content = req.json()
        room = self._require_joined(room_id, req.user)
        redacts = content.get("redacts") if etype == "m.room.redaction" else None
        self.check_new_event(room, req.user, etype, content,
                             redacts=redacts if isinstance(redacts, str) else None,
                             raw=req.raw_body)
        self._check_power(room, req.user, etype, False)
        ev = self.add_event(room, req.user, etype, content, redacts=redacts,
                            txn=(req.user, req.device, txn_id))
        self.txns[key] = {"event_id": ev.event_id}
        return self.txns[key]

    def ep_redact(self, req, room_id, event_id, txn_id):
        key = self._txn_key(req)
        if key in self.txns:
            return self.txns[key]
        content = req.json(allow_empty=True)
        room = self._require_joined(room_id, req.user)
        self.check_new_event(room, req.user, "m.room.redaction", content, redacts=event_id,
                             raw=req.raw_body)
        target = self.events.get(event_id)
        if target is not None and target.sender != req.user and \
                room.user_level(req.user) < int(room.power_levels().get("redact", 50)):
            raise forbidden("You don't have permission to redact events")
        ev = self.add_event(room, req.user, "m.room.redaction", content, redacts=event_id,
                            txn=(req.user, req.device, txn_id))
        self.txns[key] = {"event_id": ev.event_id}
        return self.txns[key]

    def ep_state_put(self, req, room_id, etype, state_key=""):
        state_key = state_key or ""
        content = req.json()
        room = self._require_joined(room_id, req.user)
        current = room.state.get((etype, state_key))
        if current is not None and current.sender == req.user and current.content == content:
            return {"event_id": current.event_id}   # Synapse deduplicates no-op state
        self.check_new_event(room, req.user, etype, content, state_key=state_key,
                             raw=req.raw_body)
        self._check_power(room, req.user, etype, True)
        ev = self.add_event(room, req.user, etype, content, state_key=state_key)
        return {"event_id": ev.event_id}

    def _state_for_reader(self, room_id, user):
        room = self._require_member_or_departed(room_id, user)
        membership = room.membership(user)
        if membership in ("leave", "ban"):
            leave = room.last_member_event(user, room.last_pos)
            return room, room.state_at(leave.pos)
        if membership != "join" and room.content_of(
                "m.room.history_visibility").get("history_visibility") != "world_readable":
            raise forbidden("User %s not in room %s (%s)" % (
                user, room_id, self._membership_repr(room, user)))
        return room, room.state

    def ep_state_get(self, req, room_id, etype, state_key=""):
        room, state = self._state_for_reader(room_id, req.user)
        ev = state.get((etype, state_key or ""))
        if ev is None:
            raise MatrixError(404, "M_NOT_FOUND", "Event not found.")
        return self._content(ev)

    def ep_state_all(self, req, room_id):
        room, state = self._state_for_reader(room_id, req.user)
        now = now_ms()
        viewer = (req.user, req.device)
        return [self.serialize(ev, viewer, full=True, now=now)
                for ev in sorted(state.values(), key=lambda e: e.pos)]

    def ep_joined_members(self, req, room_id):
        room = self._require_joined(room_id, req.user)
        joined = {}
        for user in sorted(room.joined):
            content = room.state[("m.room.member", user)].content
            joined[user] = {"avatar_url": content.get("avatar_url"),
                            "display_name": content.get("displayname")}
        return {"joined": joined}

    def ep_members(self, req, room_id):
        room, state = self._state_for_reader(room_id, req.user)
        want = req.query.get("membership")
        skip = req.query.get("not_membership")
        now = now_ms()
        chunk = []
        for (etype, _), ev in sorted(state.items(), key=lambda kv: kv[1].pos):
            if etype != "m.room.member":
                continue
            m = ev.content.get("membership")
            if (want and m != want) or (skip and m == skip):
                continue
            chunk.append(self.serialize(ev, (req.user, req.device), full=True, now=now))
        return {"chunk": chunk}

    def ep_event_get(self, req, room_id, event_id):
        room = self._require_member_or_departed(room_id, req.user)
        ev = self.events.get(event_id)
        if ev is None or ev.room_id != room_id or not self.visible(
                room, ev, req.user, room.membership(req.user)):
            raise MatrixError(404, "M_NOT_FOUND", "Event not found.")
        return self.serialize(ev, (req.user, req.device), full=True, bundle=True)

    def ep_messages(self, req, room_id):
        room = self._require_member_or_departed(room_id, req.user)
        direction = req.query.get("dir", "f")
        if direction not in ("f", "b"):
            raise MatrixError(400, "M_INVALID_PARAM",
                              "Query parameter 'dir' must be one of ['b', 'f']")
        try:
            limit = int(req.query.get("limit", "10"))
        except ValueError:
            raise MatrixError(400, "M_INVALID_PARAM", "Query parameter 'limit' must be an integer.")
        limit = max(0, min(limit, 1000))
        flt = self._load_filter(self.users[req.user], req.query.get("filter"))
        from_tok = req.query.get("from")
        if from_tok:
            parsed = self.parse_stream_token(from_tok)
            if parsed is None:
                raise MatrixError(400, "M_INVALID_PARAM", "Invalid token %r" % from_tok)
            start = parsed[0]
        else:
            start = self.pos if direction == "b" else 0
            from_tok = self.sync_token(start, self.td_pos) if direction == "b" else "t0"
        to_pos = None
        if req.query.get("to"):
            parsed = self.parse_stream_token(req.query["to"])
            if parsed is None:
                raise MatrixError(400, "M_INVALID_PARAM", "Invalid token %r" % req.query["to"])
            to_pos = parsed[0]
        current = room.membership(req.user)
        if current in ("leave", "ban"):
            # departed users see nothing after they left
            leave = room.last_member_event(req.user, room.last_pos)
            start = min(start, leave.pos) if direction == "b" else start
            to_pos = leave.pos if direction == "f" and (to_pos is None or to_pos > leave.pos) \
                else to_pos
        chunk_events = []
        if direction == "b":
            i = bisect.bisect_right(room.positions, start) - 1
            while i >= 0 and len(chunk_events) < limit:
                ev = room.events[i]
                if to_pos is not None and ev.pos <= to_pos:
                    break
                if event_filter_ok(flt, ev) and self.visible(room, ev, req.user, current):
                    chunk_events.append(ev)
                i -= 1
        else:
            i = bisect.bisect_right(room.positions, start)
            while i < len(room.events) and len(chunk_events) < limit:
                ev = room.events[i]
                if to_pos is not None and ev.pos > to_pos:
                    break
                if event_filter_ok(flt, ev) and self.visible(room, ev, req.user, current):
                    chunk_events.append(ev)
                i += 1
        now = now_ms()
        viewer = (req.user, req.device)
        out = {"chunk": [self.serialize(ev, viewer, full=True, bundle=True, apply_edits=True,
                                        now=now) for ev in chunk_events],
               "start": from_tok}
        if chunk_events:
            last = chunk_events[-1]
            out["end"] = "t%d" % (last.pos - 1 if direction == "b" else last.pos)
        return out

    # -- receipts, markers, typing -------------------------------------------
    def record_receipt(self, room, user, rtype, event_id):
        ts = now_ms()
        pos = self._next_pos()
        room.receipts[(rtype, user)] = (event_id, ts, pos)
        room.receipt_log.append((pos, rtype, user, event_id, ts))
        room.receipt_log_pos.append(pos)
        room.last_pos = pos
        self.cond.notify_all()

    def ep_receipt(self, req, room_id, rtype, event_id):
        req.json(allow_empty=True)
        if rtype not in ("m.read", "m.read.private", "org.matrix.msc2285.read.private",
                         "m.fully_read"):
            raise MatrixError(400, "M_INVALID_PARAM",
                              "Receipt type must be 'm.read', 'm.read.private' or 'm.fully_read'")
        room = self._require_joined(room_id, req.user)
        if rtype == "m.fully_read":
            self._set_room_account_data(req.user, room_id, "m.fully_read", {"event_id": event_id})
        else:
            self.record_receipt(room, req.user, rtype, event_id)
        return {}

    def ep_read_markers(self, req, room_id):
        body = req.json()
        room = self._require_joined(room_id, req.user)
        if isinstance(body.get("m.fully_read"), str):
            self._set_room_account_data(req.user, room_id, "m.fully_read",
                                        {"event_id": body["m.fully_read"]})
        for rtype in ("m.read", "m.read.private"):
            if isinstance(body.get(rtype), str):
                self.record_receipt(room, req.user, rtype, body[rtype])
        return {}

    def ep_typing(self, req, room_id, user_id):
        req.json()
        if user_id != req.user:
            raise forbidden("Cannot set typing state for other users")
        self._require_joined(room_id, req.user)
        return {}

    # ---------------------------------------------------------------------
    # Endpoints: end-to-end encryption
    # ---------------------------------------------------------------------
    def ep_keys_upload(self, req, device_id=None):
        body = req.json()
        device = self.users[req.user].devices[req.device]
        device_keys = body.get("device_keys")
        if isinstance(device_keys, dict) and device_keys:
            stored = json.loads(canonical_json(device_keys))
            if stored != device.keys:
                device.keys = stored
                self._device_list_changed(req.user)
        otks = body.get("one_time_keys")
        if isinstance(otks, dict):
            fresh = []
            for full_id, key in otks.items():
                if ":" not in full_id:
                    raise MatrixError(400, "M_INVALID_PARAM", "Invalid one-time key id")
                alg, key_id = full_id.split(":", 1)
                old = device.otks.get(full_id)
                if old is not None:
                    if not self._otk_match(old, key):
                        raise MatrixError(400, "M_UNKNOWN",
                                          "One time key %s:%s already exists. Old key: %s; "
                                          "new key: %r" % (alg, key_id, canonical_json(old), key))
                else:
                    fresh.append((full_id, key))
            for full_id, key in fresh:
                device.otks[full_id] = key
        fallbacks = body.get("fallback_keys", body.get("org.matrix.msc2732.fallback_keys"))
        if isinstance(fallbacks, dict):
            for full_id, key in fallbacks.items():
                alg = full_id.split(":", 1)[0]
                old = device.fallback.get(alg)
                if old is None or old["key_id"] != full_id or old["key"] != key:
                    device.fallback[alg] = {"key_id": full_id, "key": key, "used": False}
        return {"one_time_key_counts": device.otk_counts()}

    @staticmethod
    def _otk_match(old, new):
        if not isinstance(old, dict) or not isinstance(new, dict):
            return old == new
        strip = lambda k: {a: b for a, b in k.items() if a != "signatures"}  # noqa: E731
        return strip(old) == strip(new)

    def ep_keys_query(self, req):
        body = req.json()
        wanted = body.get("device_keys", {})
        if not isinstance(wanted, dict):
            raise bad_json("device_keys must be an object")
        out, master, self_signing, user_signing = {}, {}, {}, {}
        for user_id, device_ids in wanted.items():
            user = self.users.get(user_id)
            out[user_id] = {}
            if user is None:
                continue
            for device in user.devices.values():
                if device.keys is None or (device_ids and device.device_id not in device_ids):
                    continue
                keys = dict(device.keys)
                if device.display_name:
                    keys["unsigned"] = {"device_display_name": device.display_name}
                out[user_id][device.device_id] = keys
            if "master" in user.cross_signing:
                master[user_id] = user.cross_signing["master"]
            if "self_signing" in user.cross_signing:
                self_signing[user_id] = user.cross_signing["self_signing"]
            if user_id == req.user and "user_signing" in user.cross_signing:
                user_signing[user_id] = user.cross_signing["user_signing"]
        return {"device_keys": out, "failures": {}, "master_keys": master,
                "self_signing_keys": self_signing, "user_signing_keys": user_signing}

    def ep_keys_claim(self, req):
        body = req.json()
        wanted = body.get("one_time_keys", {})
        if not isinstance(wanted, dict):
            raise bad_json("one_time_keys must be an object")
        out = {}
        for user_id, devices in wanted.items():
            user = self.users.get(user_id)
            if user is None or not isinstance(devices, dict):
                continue
            for device_id, alg in devices.items():
                device = user.devices.get(device_id)
                if device is None:
                    continue
                claimed = None
                for full_id in device.otks:
                    if full_id.split(":", 1)[0] == alg:
                        claimed = (full_id, device.otks.pop(full_id))
                        break
                if claimed is None and alg in device.fallback:
                    fb = device.fallback[alg]
                    fb["used"] = True
                    claimed = (fb["key_id"], fb["key"])
                if claimed is not None:
                    out.setdefault(user_id, {})[device_id] = {claimed[0]: claimed[1]}
        return {"one_time_keys": out, "failures": {}}

    XSIGN_FIELDS = (("master_key", "master"), ("self_signing_key", "self_signing"),
                    ("user_signing_key", "user_signing"))

    def ep_device_signing_upload(self, req):
        """SigningKeyUploadServlet: UIA as --uia-signing says, then
        E2eKeysHandler.upload_signing_keys_for_user (signatures unchecked)."""
        body = req.json()
        user = self.users[req.user]
        if self.uia_signing == "always":
            self._uia(req, body)
        elif self.uia_signing == "replace":
            # has_different_keys: every key given equals the stored one
            if all(field not in body or user.cross_signing_uploaded.get(name) == body[field]
                   for field, name in self.XSIGN_FIELDS):
                return {}
            if "master" in user.cross_signing:
                self._uia(req, body)
        elif isinstance(body.get("auth"), dict):
            self._uia(req, body)
        keys = {}
        for field, name in self.XSIGN_FIELDS:
            if field in body:
                key = body[field]
                if not isinstance(key, dict) or key.get("user_id") != req.user or \
                        name not in (key.get("usage") or ()) or \
                        not isinstance(key.get("keys"), dict) or len(key["keys"]) != 1:
                    raise MatrixError(400, "M_INVALID_PARAM", "Invalid %s key" % name)
                keys[name] = key
        if "master" not in keys and "master" not in user.cross_signing:
            raise MatrixError(400, "M_MISSING_PARAM", "No master key available")
        for name, key in keys.items():
            user.cross_signing_uploaded[name] = json.loads(canonical_json(key))
            user.cross_signing[name] = json.loads(canonical_json(key))
        if keys:
            self._device_list_changed(req.user)
        return {}

    def ep_signatures_upload(self, req):
        body = req.json()
        failures = {}
        for user_id, objs in body.items():
            user = self.users.get(user_id)
            if not isinstance(objs, dict):
                continue
            changed = False
            for key_id, signed in objs.items():
                target = None
                if user is not None:
                    device = user.devices.get(key_id)
                    if device is not None and device.keys is not None:
                        target = device.keys
                    else:
                        for key in user.cross_signing.values():
                            if any(v == key_id or k.endswith(":" + key_id)
                                   for k, v in key.get("keys", {}).items()):
                                target = key
                                break
                if target is None or not isinstance(signed, dict):
                    failures.setdefault(user_id, {})[key_id] = {
                        "status": 404, "errcode": "M_NOT_FOUND", "message": "Unknown key"}
                    continue
                for signer, sigs in signed.get("signatures", {}).items():
                    target.setdefault("signatures", {}).setdefault(signer, {}).update(sigs)
                changed = True
            if changed:
                self._device_list_changed(user_id)
        return {"failures": failures}

    def ep_keys_changes(self, req):
        lo = self.parse_stream_token(req.query.get("from", ""))
        hi = self.parse_stream_token(req.query.get("to", ""))
        if lo is None or hi is None:
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid from/to token")
        shared = self._shared_users(req.user)
        i = bisect.bisect_right(self.device_change_pos, lo[0])
        j = bisect.bisect_right(self.device_change_pos, hi[0])
        changed = sorted({u for _, u in self.device_changes[i:j] if u in shared})
        return {"changed": changed, "left": []}

    def ep_send_to_device(self, req, etype, txn_id):
        key = self._txn_key(req)
        if key in self.txns:
            return self.txns[key]
        body = req.json()
        messages = body.get("messages", {})
        if not isinstance(messages, dict):
            raise bad_json("messages must be an object")
        for user_id, by_device in messages.items():
            user = self.users.get(user_id)
            if user is None or not isinstance(by_device, dict):
                continue
            for device_id, content in by_device.items():
                targets = list(user.devices.values()) if device_id == "*" else \
                    [user.devices[device_id]] if device_id in user.devices else []
                for device in targets:
                    self.td_pos += 1
                    device.inbox.append((self.td_pos, req.user, etype, content))
        self.cond.notify_all()
        self.txns[key] = {}
        return {}

    # ---------------------------------------------------------------------
    # /sync
    # ---------------------------------------------------------------------
    def _shared_users(self, user_id):
        """Users sharing a joined room with user_id (including itself)."""
        shared = set()
        for room_id in self.user_rooms.get(user_id, ()):
            room = self.rooms[room_id]
            if room.membership(user_id) == "join":
                shared |= room.joined
        return shared

    def ep_sync(self, req):
        user = self.users[req.user]
        flt = self._load_filter(user, req.query.get("filter"))
        since = None
        if req.query.get("since"):
            since = self.parse_stream_token(req.query["since"])
            if since is None:
                raise MatrixError(400, "M_INVALID_PARAM", "Invalid stream token")
        try:
            timeout = int(req.query.get("timeout", "0"))
        except ValueError:
            raise MatrixError(400, "M_INVALID_PARAM", "Query parameter 'timeout' must be an integer.")
        full_state = req.query.get("full_state") == "true"
        deadline = time.monotonic() + max(0, timeout) / 1000.0
        while True:
            response, nonempty = self._sync_once(user, req.device, since, flt, full_state)
            if nonempty or since is None or full_state:
                return response
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return response
            self.cond.wait(remaining)

    def _sync_once(self, user, device_id, since, flt, full_state):
        """One pass of /sync.  Returns (response, has_news)."""
        user_id = user.user_id
        device = user.devices.get(device_id)
        hold = self.holds.get(user_id)
        upto, td_upto = hold if hold else (self.pos, self.td_pos)
        initial = since is None
        since_pos = min(since[0], upto) if since else 0
        since_td = since[1] if since else 0
        room_flt = flt.get("room", {}) if isinstance(flt.get("room"), dict) else {}
        tl_flt = room_flt.get("timeline", {}) if isinstance(room_flt.get("timeline"), dict) else {}
        limit = tl_flt.get("limit", TIMELINE_LIMIT_DEFAULT)
        limit = max(0, int(limit)) if isinstance(limit, int) else TIMELINE_LIMIT_DEFAULT
        viewer = (user_id, device_id)
        now = now_ms()

        joined, invited, left = {}, {}, {}
        newly_joined, newly_left = [], []
        for room_id in sorted(self.user_rooms.get(user_id, ())):
            if room_id in room_flt.get("not_rooms", ()) or (
                    room_flt.get("rooms") is not None and room_id not in room_flt["rooms"]):
                continue
            room = self.rooms.get(room_id)
            if room is None:
                continue
            acct = self.room_account_data.get((user_id, room_id), {})
            acct_new = [(t, c) for t, (c, p) in acct.items() if initial or since_pos < p <= upto]
            if not initial and not full_state and room.last_pos <= since_pos and not acct_new:
                continue
            now_m = room.membership_at(user_id, upto)
            then_m = None if initial else room.membership_at(user_id, since_pos)
            changed = not initial and room.member_changed(user_id, since_pos, upto)
            if now_m == "join":
                newly = not initial and (then_m != "join" or changed and self._rejoined(
                    room, user_id, since_pos, upto))
                entry = self._sync_joined(room, user_id, viewer, since_pos, upto, initial,
                                          newly, full_state, limit, tl_flt, acct_new, now)
                if entry is not None:
                    joined[room_id] = entry
                    if newly:
                        newly_joined.append(room)
            elif now_m == "invite":
                if initial or then_m != "invite" or changed:
                    invited[room_id] = {"invite_state": {
                        "events": self._invite_state(room, user_id, viewer, upto, now)}}
            elif now_m in ("leave", "ban"):
                if initial and not room_flt.get("include_leave"):
                    continue
                if not initial and not changed:
                    continue
                left[room_id] = self._sync_left(room, user_id, viewer, since_pos, then_m, upto,
                                                initial, limit, tl_flt, now)
                if then_m == "join":
                    newly_left.append(room)

        response = {"next_batch": None}
        news = bool(joined or invited or left)
        # account data
        if initial:
            events = [{"type": "m.push_rules", "content": default_push_rules(user_id)}]
            events += [{"type": t, "content": c} for t, (c, p) in user.account_data.items()
                       if p <= upto]
        else:
            events = [{"type": t, "content": c} for t, (c, p) in user.account_data.items()
                      if since_pos < p <= upto]
        if events:
            response["account_data"] = {"events": events}
            news = news or not initial
        # presence
        presence = self._sync_presence(user_id, flt, initial, since_pos, upto, newly_joined, now)
        if presence:
            response["presence"] = {"events": presence}
            news = True
        # to-device
        td_next = since_td
        if device is not None:
            while device.inbox and device.inbox[0][0] <= since_td and not initial:
                device.inbox.popleft()
            batch, more = [], False
            for item in device.inbox:
                if item[0] <= since_td:
                    continue
                if item[0] > td_upto:
                    break
                if len(batch) >= TO_DEVICE_LIMIT:
                    more = True
                    break
                batch.append(item)
            td_next = batch[-1][0] if more else max(td_upto, since_td)
            if batch:
                response["to_device"] = {"events": [
                    {"content": c, "type": t, "sender": s} for _, s, t, c in batch]}
                news = True
        # device lists
        if not initial:
            changed_users, left_users = self._device_list_delta(
                user_id, since_pos, upto, joined, newly_joined, newly_left)
            if changed_users or left_users:
                response["device_lists"] = {}
                if changed_users:
                    response["device_lists"]["changed"] = changed_users
                if left_users:
                    response["device_lists"]["left"] = left_users
                news = True
        counts = device.otk_counts() if device is not None else {"signed_curve25519": 0}
        fallback = device.unused_fallback_types() if device is not None else []
        response["device_one_time_keys_count"] = counts
        response["org.matrix.msc2732.device_unused_fallback_key_types"] = fallback
        response["device_unused_fallback_key_types"] = list(fallback)
        rooms = {}
        if joined:
            rooms["join"] = joined
        if invited:
            rooms["invite"] = invited
        if left:
            rooms["leave"] = left
        if rooms:
            response["rooms"] = rooms
        response["next_batch"] = self.sync_token(upto, td_next)
        return response, news

    @staticmethod
    def _rejoined(room, user, lo, hi):
        """Left and came back within (lo, hi]?"""
        plist, mlist = room.member_hist[user]
        i = bisect.bisect_right(plist, lo)
        return any(m != "join" for p, m in zip(plist[i:], mlist[i:]) if p <= hi)

    def _sync_joined(self, room, user_id, viewer, since_pos, upto, initial, newly, full_state,
                     limit, tl_flt, acct_new, now):
        whole = initial or newly
        if newly and self.quirks:
            events, truncated = self._newly_joined_timeline(room, user_id, since_pos, upto,
                                                            limit, tl_flt)
        else:
            events, truncated = self.visible_slice(room, user_id, 0 if whole else since_pos,
                                                   upto, limit, tl_flt)
        limited = truncated or newly
        # ephemeral: receipts
        receipts = self._sync_receipts(room, user_id, since_pos, upto, whole)
        if not whole and not full_state and not events and not receipts and not acct_new:
            return None
        # state: what the client is missing at the start of the timeline
        in_timeline = {ev.event_id for ev in events}
        state = []
        if whole or full_state or limited:
            start = room.state_at(events[0].pos - 1 if events else upto)
            current = room.state_at(upto)
            previous = {} if (whole or full_state) else room.state_at(since_pos)
            prev_ids = {ev.event_id for ev in previous.values()}
            seen = set()
            for ev in list(start.values()) + list(current.values()):
                if ev.event_id in in_timeline or ev.event_id in prev_ids or ev.event_id in seen:
                    continue
                seen.add(ev.event_id)
                state.append(ev)
            state.sort(key=lambda e: e.pos)
        if truncated:
            prev_batch = self.sync_token(events[0].pos - 1, 0)
        elif whole:
            prev_batch = self.sync_token(upto, 0)
        else:
            prev_batch = self.sync_token(since_pos, 0)
        timeline = [self.serialize(ev, viewer, bundle=limited, now=now) for ev in events]
        return {
            "timeline": {"events": timeline, "prev_batch": prev_batch, "limited": limited},
            "state": {"events": [self.serialize(ev, viewer, now=now) for ev in state]},
            "account_data": {"events": [{"type": t, "content": c} for t, c in acct_new]},
            "ephemeral": {"events": receipts},
            "unread_notifications": self._unread(room, user_id, upto),
            "summary": {},
        }

    def _newly_joined_timeline(self, room, user_id, since_pos, upto, limit, flt):
        """The timeline of a newly joined room exactly as Synapse 1.67 builds it.

        Synapse takes the (at most limit+1) newest events since the token; when
        they do not exceed the limit it loads the room's max(2*limit, 10)+1 most
        recent events and *prepends* them, so the events since the token appear
        twice (issue #9768: in fixture 16 the window is just the own join).
        """
        i_lo, i_hi = room.slice_indices(since_pos, upto)
        current = room.membership_at(user_id, upto)

        def keep(evs):
            return [e for e in evs if event_filter_ok(flt, e) and
                    self.visible(room, e, user_id, current)]

        potential = room.events[max(i_lo, i_hi - (limit + 1)):i_hi]
        recents = keep(potential)
        if len(potential) <= limit:
            load = max(2 * limit, 10) + 1
            recents = keep(room.events[max(0, i_hi - load):i_hi]) + recents
        truncated = len(recents) > limit
        if truncated:
            recents = recents[len(recents) - limit:]
        return recents, truncated

    def _sync_left(self, room, user_id, viewer, since_pos, then_m, upto, initial, limit, tl_flt,
                   now):
        leave = room.last_member_event(user_id, upto)
        if then_m != "join" and not initial:
            events, truncated = [leave], False     # a rejected or withdrawn invite
        else:
            events, truncated = self.visible_slice(room, user_id, 0 if initial else since_pos,
                                                   leave.pos, limit, tl_flt)
        state = []
        if truncated or initial:
            start = room.state_at(events[0].pos - 1 if events else leave.pos)
            ids = {ev.event_id for ev in events}
            state = sorted((ev for ev in start.values() if ev.event_id not in ids),
                           key=lambda e: e.pos)
        prev_batch = self.sync_token(events[0].pos - 1 if truncated else since_pos, 0)
        return {
            "timeline": {"events": [self.serialize(ev, viewer, bundle=truncated, now=now)
                                    for ev in events],
                         "prev_batch": prev_batch, "limited": truncated},
            "state": {"events": [self.serialize(ev, viewer, now=now) for ev in state]},
            "account_data": {"events": []},
        }

    def _invite_state(self, room, user_id, viewer, upto, now):
        state = room.state_at(upto)
        invite = state.get(("m.room.member", user_id))
        out = [self._stripped(state[(t, "")]) for t in INVITE_STATE_KEYS if (t, "") in state]
        inviter = state.get(("m.room.member", invite.sender)) if invite else None
        if inviter is not None and inviter is not invite:
            out.append(self._stripped(inviter))
        if invite is not None:
            out.append(self.serialize(invite, viewer, now=now))
        return out

    def _sync_receipts(self, room, user_id, since_pos, upto, whole):
        content = {}
        if whole:
            items = [(rtype, user, eid, ts) for (rtype, user), (eid, ts, pos) in
                     room.receipts.items() if pos <= upto]
        else:
            i = bisect.bisect_right(room.receipt_log_pos, since_pos)
            items = [(rtype, user, eid, ts) for pos, rtype, user, eid, ts in room.receipt_log[i:]
                     if pos <= upto]
        for rtype, user, eid, ts in items:
            if rtype != "m.read" and user != user_id:
                continue        # private receipts are only shown to their owner
            content.setdefault(eid, {}).setdefault(rtype, {})[user] = {"ts": ts}
        return [{"type": "m.receipt", "content": content}] if content else []

    def _unread(self, room, user_id, upto):
        """Notifying messages from others since the user's read receipt (or join)."""
        mark = 0
        receipt = room.receipts.get(("m.read", user_id)) or room.receipts.get(
            ("m.read.private", user_id))
        if receipt is not None:
            ev = self.events.get(receipt[0])
            mark = ev.pos if ev is not None else receipt[2]
        join = room.last_member_event(user_id, upto)
        if join is not None:
            mark = max(mark, join.pos)
        total = bisect.bisect_right(room.notif_pos, upto) - bisect.bisect_right(room.notif_pos,
                                                                                 mark)
        mine = room.notif_by_sender.get(user_id, [])
        own = bisect.bisect_right(mine, upto) - bisect.bisect_right(mine, mark)
        return {"notification_count": max(0, total - own), "highlight_count": 0}

    def _sync_presence(self, user_id, flt, initial, since_pos, upto, newly_joined, now):
        pres_flt = flt.get("presence") if isinstance(flt.get("presence"), dict) else {}
        if initial and "*" in pres_flt.get("not_types", ()):
            return []       # Synapse honours the wildcard only on an initial sync
        shared = self._shared_users(user_id)
        fresh = set()
        for room in newly_joined:
            fresh |= room.joined
        out = []
        for other in sorted(shared | fresh):
            if other == user_id:
                continue
            u = self.users.get(other)
            if u is None or not u.presence_pos or u.presence_pos > upto:
                continue
            if initial or other in fresh or u.presence_pos > since_pos:
                out.append({"type": "m.presence", "sender": other, "content": {
                    "presence": "online", "last_active_ago": max(0, now - u.last_active),
                    "currently_active": True}})
        return out

    def _device_list_delta(self, user_id, since_pos, upto, joined, newly_joined, newly_left):
        shared = self._shared_users(user_id)
        changed, maybe_left = set(), set()
        i = bisect.bisect_right(self.device_change_pos, since_pos)
        j = bisect.bisect_right(self.device_change_pos, upto)
        for _, other in self.device_changes[i:j]:
            if other in shared:
                changed.add(other)
        for room in newly_joined:
            changed |= room.joined
        for room_id in joined:
            room = self.rooms[room_id]
            k = bisect.bisect_right(room.member_log_pos, since_pos)
            for pos, other, membership in room.member_log[k:]:
                if pos > upto:
                    break
                if membership == "join" and other != user_id:
                    changed.add(other)
                elif membership in ("leave", "ban"):
                    maybe_left.add(other)
        for room in newly_left:
            maybe_left |= room.joined
        left = {u for u in maybe_left if u not in shared and u != user_id}
        return sorted(changed - left), sorted(left)

    # ---------------------------------------------------------------------
    # Control API (/_test/...)
    # ---------------------------------------------------------------------
    def inject(self, spec):
        room = self.rooms.get(spec.get("room_id"))
        if room is None:
            raise MatrixError(404, "M_NOT_FOUND", "Unknown room %s" % spec.get("room_id"))
        etype, sender = spec.get("type"), spec.get("sender")
        if not isinstance(etype, str) or not isinstance(sender, str):
            raise bad_json("type and sender are required")
        raw = spec.get("content_raw")
        if spec.get("content_raw_b64") is not None:
            raw = base64.b64decode(spec["content_raw_b64"])
        elif isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        if raw is not None:
            # the stored content (what relations, unread counts ... see) is
            # what Python makes of it; clients get the bytes as they are
            try:
                content = json.loads(raw.decode("utf-8", "surrogatepass"))
            except (ValueError, RecursionError):
                content = None
            content = content if isinstance(content, dict) else {}
        else:
            content = spec.get("content", {})
        if not isinstance(content, dict):
            raise bad_json("content must be an object")
        ev = self.add_event(room, sender, etype, content, state_key=spec.get("state_key"),
                            redacts=spec.get("redacts"), ts=spec.get("origin_server_ts"))
        if raw is not None:
            ev.raw = RAW_MARKER % len(self.raw_content)
            self.raw_content[json.dumps(ev.raw).encode()] = raw
        return ev.event_id

    def test_state(self):
        users = {}
        for user in self.users.values():
            users[user.user_id] = {
                "displayname": user.displayname,
                "devices": {d.device_id: {
                    "display_name": d.display_name,
                    "has_device_keys": d.keys is not None,
                    "one_time_key_counts": d.otk_counts(),
                    "fallback_keys": {a: {"key_id": f["key_id"], "used": f["used"]}
                                      for a, f in d.fallback.items()},
                    "pending_to_device": len(d.inbox),
                } for d in user.devices.values()},
                "cross_signing": sorted(user.cross_signing),
                "filters": len(user.filters),
                "rooms": {r: self.rooms[r].membership(user.user_id)
                          for r in sorted(self.user_rooms.get(user.user_id, ()))},
            }
        rooms = {r.room_id: {"events": len(r.events),
                             "members": {u: h[1][-1] for u, h in r.member_hist.items()},
                             "name": r.content_of("m.room.name").get("name"),
                             "encrypted": ("m.room.encryption", "") in r.state}
                 for r in self.rooms.values()}
        return {"stream_pos": self.pos, "to_device_pos": self.td_pos, "users": users,
                "rooms": rooms, "aliases": dict(self.aliases),
                "holds": {u: list(h) for u, h in self.holds.items()}}


# ---------------------------------------------------------------------------
# Dispatch table
# ---------------------------------------------------------------------------

C = r"^/_matrix/client/(?:r0|v3|unstable|v1)"
SEG = r"([^/]+)"

ROUTES = [
    # (method, path regex, handler, needs auth)
    ("GET", r"^/_matrix/client/versions$", "ep_versions", False),
    ("GET", C + r"/login$", "ep_login_flows", False),
    ("POST", C + r"/login$", "ep_login", False),
    ("POST", C + r"/register$", "ep_register", False),
    ("GET", C + r"/register/available$", "ep_register_available", False),
    ("POST", C + r"/logout$", "ep_logout", True),
    ("POST", C + r"/logout/all$", "ep_logout_all", True),
    ("GET", C + r"/account/whoami$", "ep_whoami", True),
    ("GET", C + r"/capabilities$", "ep_capabilities", True),
    ("GET", C + r"/devices$", "ep_devices", True),
    ("GET", C + r"/devices/" + SEG + "$", "ep_device_get", True),
    ("PUT", C + r"/devices/" + SEG + "$", "ep_device_put", True),
    ("DELETE", C + r"/devices/" + SEG + "$", "ep_device_delete", True),
    ("POST", C + r"/delete_devices$", "ep_delete_devices", True),
    ("GET", C + r"/profile/" + SEG + "$", "ep_profile", False),
    ("GET", C + r"/profile/" + SEG + r"/(displayname|avatar_url)$", "ep_profile_field_get", False),
    ("PUT", C + r"/profile/" + SEG + r"/(displayname|avatar_url)$", "ep_profile_field_put", True),
    ("POST", C + r"/user/" + SEG + r"/filter$", "ep_filter_create", True),
    ("GET", C + r"/user/" + SEG + r"/filter/" + SEG + "$", "ep_filter_get", True),
    ("PUT", C + r"/user/" + SEG + r"/account_data/" + SEG + "$", "ep_account_data_put", True),
    ("GET", C + r"/user/" + SEG + r"/account_data/" + SEG + "$", "ep_account_data_get", True),
    ("PUT", C + r"/user/" + SEG + r"/rooms/" + SEG + r"/account_data/" + SEG + "$",
     "ep_room_account_data_put", True),
    ("GET", C + r"/user/" + SEG + r"/rooms/" + SEG + r"/account_data/" + SEG + "$",
     "ep_room_account_data_get", True),
    ("GET", C + r"/pushrules/?$", "ep_pushrules", True),
    ("PUT", C + r"/presence/" + SEG + r"/status$", "ep_presence_put", True),
    ("GET", C + r"/presence/" + SEG + r"/status$", "ep_presence_get", True),
    ("GET", C + r"/sync$", "ep_sync", True),
    ("POST", C + r"/createRoom$", "ep_create_room", True),
    ("GET", C + r"/joined_rooms$", "ep_joined_rooms", True),
    ("GET", C + r"/directory/room/" + SEG + "$", "ep_directory_get", True),
    ("PUT", C + r"/directory/room/" + SEG + "$", "ep_directory_put", True),
    ("POST", C + r"/join/" + SEG + "$", "ep_join", True),
    ("POST", C + r"/rooms/" + SEG + r"/join$", "ep_join", True),
    ("POST", C + r"/rooms/" + SEG + r"/invite$", "ep_invite", True),
    ("POST", C + r"/rooms/" + SEG + r"/leave$", "ep_leave", True),
    ("POST", C + r"/rooms/" + SEG + r"/kick$", "ep_kick", True),
    ("POST", C + r"/rooms/" + SEG + r"/ban$", "ep_ban", True),
    ("POST", C + r"/rooms/" + SEG + r"/unban$", "ep_unban", True),
    ("POST", C + r"/rooms/" + SEG + r"/forget$", "ep_forget", True),
    ("PUT", C + r"/rooms/" + SEG + r"/send/" + SEG + "/" + SEG + "$", "ep_send", True),
    ("PUT", C + r"/rooms/" + SEG + r"/redact/" + SEG + "/" + SEG + "$", "ep_redact", True),
    ("PUT", C + r"/rooms/" + SEG + r"/state/" + SEG + r"(?:/([^/]*))?$", "ep_state_put", True),
    ("GET", C + r"/rooms/" + SEG + r"/state/" + SEG + r"(?:/([^/]*))?$", "ep_state_get", True),
    ("GET", C + r"/rooms/" + SEG + r"/state$", "ep_state_all", True),
    ("GET", C + r"/rooms/" + SEG + r"/joined_members$", "ep_joined_members", True),
    ("GET", C + r"/rooms/" + SEG + r"/members$", "ep_members", True),
    ("GET", C + r"/rooms/" + SEG + r"/messages$", "ep_messages", True),
    ("GET", C + r"/rooms/" + SEG + r"/event/" + SEG + "$", "ep_event_get", True),
    ("POST", C + r"/rooms/" + SEG + r"/receipt/" + SEG + "/" + SEG + "$", "ep_receipt", True),
    ("POST", C + r"/rooms/" + SEG + r"/read_markers$", "ep_read_markers", True),
    ("PUT", C + r"/rooms/" + SEG + r"/typing/" + SEG + "$", "ep_typing", True),
    ("POST", C + r"/keys/upload(?:/" + SEG + ")?$", "ep_keys_upload", True),
    ("POST", C + r"/keys/query$", "ep_keys_query", True),
    ("POST", C + r"/keys/claim$", "ep_keys_claim", True),
    ("GET", C + r"/keys/changes$", "ep_keys_changes", True),
    # releases=("v3",) in Synapse: no r0 (answered M_UNRECOGNIZED)
    ("POST", r"^/_matrix/client/(?:v3|unstable)/keys/device_signing/upload$",
     "ep_device_signing_upload", True),
    ("POST", C + r"/keys/signatures/upload$", "ep_signatures_upload", True),
    ("PUT", C + r"/sendToDevice/" + SEG + "/" + SEG + "$", "ep_send_to_device", True),
]
ROUTES = [(m, re.compile(rx), h, a) for m, rx, h, a in ROUTES]
# the same, by method (in the same order): a request tries only its own
ROUTES_BY_METHOD = collections.defaultdict(list)
for _route in ROUTES:
    ROUTES_BY_METHOD[_route[0]].append(_route[1:])
del _route


# ---------------------------------------------------------------------------
# Fault injection and the request log
# ---------------------------------------------------------------------------

FAULT_KINDS = ("500", "502", "429", "reset", "reset_after", "stall", "slow")


class Faults:
    """The /_test/faults configuration; decides which request gets which fault."""

    def __init__(self):
        self.lock = threading.Lock()
        self.spec = None
        self.rng = random.Random(0)

    def configure(self, spec):
        with self.lock:
            if not spec:
                self.spec = None
                return
            kinds = spec.get("kinds") or ["500"]
            bad = [k for k in kinds if k not in FAULT_KINDS]
            if bad:
                raise MatrixError(400, "M_INVALID_PARAM", "unknown fault kinds %s" % bad)
            self.spec = {
                "rate": float(spec.get("rate", 1.0 if "count" in spec else 0.0)),
                "kinds": list(kinds),
                "paths": re.compile(spec.get("paths") or ""),
                "methods": set(spec.get("methods") or []),
                "count": spec.get("count"),
                "stall_ms": int(spec.get("stall_ms", 3000)),
                "slow_ms": int(spec.get("slow_ms", 1500)),
                "retry_after_ms": int(spec.get("retry_after_ms", 500)),
            }
            self.rng = random.Random(spec.get("seed", 1))

    def pick(self, method, raw_path, path):
        """The fault for this request: (kind, spec) or None."""
        with self.lock:
            s = self.spec
            if s is None:
                return None
            if s["methods"] and method not in s["methods"]:
                return None
            if not (s["paths"].search(path) or s["paths"].search(raw_path)):
                return None
            if s["count"] is not None:
                if s["count"] <= 0:
                    return None
                s["count"] -= 1
            elif self.rng.random() >= s["rate"]:
                return None
            return self.rng.choice(s["kinds"]), dict(s)


class RequestLog:
    """Every request to /_matrix, in memory and optionally as JSON lines."""

    def __init__(self, path=None, keep=200000):
        self.lock = threading.Lock()
        self.entries = []           # the newest `keep` entries, oldest first
        self.keep = keep
        self.next_index = 0
        # a lone surrogate in a body (valid JSON, "\udc00") is written back
        # as that same escape
        self.file = open(path, "a", buffering=1, encoding="utf-8",
                         errors="backslashreplace") if path else None

    def start(self, req):
        headers = {k: req.headers[k] for k in ("Authorization", "Content-Type")
                   if req.headers.get(k) is not None}
        # the body stays bytes until the log is read (see _decoded)
        entry = {"index": None, "ts": now_ms(), "method": req.method, "path": req.raw_path,
                 "query": req.query, "headers": headers, "body": req.raw_body or None,
                 "status": None}
        with self.lock:
            entry["index"] = self.next_index
            self.next_index += 1
            self.entries.append(entry)
            if len(self.entries) > self.keep * 5 // 4:     # amortised trimming
                del self.entries[:len(self.entries) - self.keep]
        return entry

    @staticmethod
    def _decoded(entry):
        """A copy of entry with its body as JSON (or text when it is not)."""
        out = dict(entry)
        body = out["body"]
        if isinstance(body, bytes):
            try:
                out["body"] = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                out["body"] = body.decode("utf-8", "replace")
        out["query"] = dict(out["query"])
        return out

    def finish(self, entry, status, fault=None):
        with self.lock:
            entry["status"] = status
            if fault:
                entry["fault"] = fault
            if self.file:
                self.file.write(json.dumps(self._decoded(entry), ensure_ascii=False) + "\n")

    def since(self, index):
        with self.lock:
            i = bisect.bisect_left(self.entries, index, key=lambda e: e["index"])
            return [self._decoded(e) for e in self.entries[i:]]

    def clear(self):
        with self.lock:
            self.entries = []


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class ResetConnection(Exception):
    """Drop the connection without answering."""


class Headers(dict):
    """Request headers by lower-cased name (the last of repeated ones):
    what the handlers ask of them, without the email parser that
    BaseHTTPRequestHandler uses (the most expensive part of a request)."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name):
        return dict.get(self, name.lower())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Synapse/1.67.0"
    sys_version = ""

    def parse_request(self):
        """The request line and headers of one HTTP/1.x request; sets what
        BaseHTTPRequestHandler.parse_request sets. False after answering
        an error."""
        self.command = None
        self.request_version = "HTTP/0.9"
        self.close_connection = True
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        words = line.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(400, "Bad request syntax (%r)" % line)
            return False
        self.command, self.path, self.request_version = words
        headers = Headers()
        for _ in range(100):
            raw = self.rfile.readline(65537)
            if len(raw) > 65536:
                self.send_error(431, "Line too long")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = str(raw, "iso-8859-1").partition(":")
            if not sep:
                self.send_error(400, "Bad header line")
                return False
            headers[name.strip().lower()] = value.strip()
        else:
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers
        conn = headers.get("Connection", "").lower()
        self.close_connection = conn == "close" or (
            self.request_version == "HTTP/1.0" and conn != "keep-alive")
        if headers.get("Expect", "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = do_GET

    # -- request/response plumbing -------------------------------------------
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, content_type="application/json", extra_headers=(), slow_ms=0):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        reason = self.responses.get(status, ("",))[0]
        head = ["HTTP/1.1 %d %s" % (status, reason),
                "Server: Synapse/1.67.0",
                "Date: " + http_date(),
                "Content-Type: " + content_type,
                "Content-Length: %d" % len(body),
                "Cache-Control: no-cache, no-store, must-revalidate",
                "Access-Control-Allow-Origin: *",
                "Access-Control-Allow-Methods: GET, HEAD, POST, PUT, DELETE, OPTIONS",
                "Access-Control-Allow-Headers: X-Requested-With, Content-Type, Authorization, Date"]
        head.extend(extra_headers)
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (
            body if self.command != "HEAD" else b"")
        if slow_ms <= 0:
            self.wfile.write(data)
            return
        pieces = max(1, min(30, len(data)))
        step = -(-len(data) // pieces)
        delay = slow_ms / 1000.0 / pieces
        for i in range(0, len(data), step):
            self.wfile.write(data[i:i + step])
            time.sleep(delay)

    def reset(self):
        """Close abruptly: RST instead of an answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.rfile.close()
        except OSError:
            pass
        self.connection.close()

    # -- main entry -----------------------------------------------------------
    def handle_any(self):
        srv = self.server
        raw_path, _, qs = self.path.partition("?")
        query = dict(urllib.parse.parse_qsl(qs, keep_blank_values=True)) if qs else {}
        try:
            raw_body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        req = Request(self.command, raw_path, urllib.parse.unquote(raw_path), query,
                      self.headers, raw_body)
        if raw_path.startswith("/_test/"):
            status, body = srv.control(req)
            self.send(status, body)
            return
        entry = srv.log.start(req)
        fault = srv.faults.pick(req.method, raw_path, req.path)
        kind = fault[0] if fault else None
        try:
            if kind == "reset":
                srv.log.finish(entry, None, kind)
                self.reset()
                return
            if kind in ("500", "502", "429"):
                spec = fault[1]
                if kind == "500":
                    status, body, ctype = 500, {"errcode": "M_UNKNOWN",
                                                "error": "Internal server error"}, \
                        "application/json"
                elif kind == "502":
                    status, body, ctype = 502, HTML_502, "text/html"
                else:
                    status, body, ctype = 429, {"errcode": "M_LIMIT_EXCEEDED",
                                                "error": "Too Many Requests",
                                                "retry_after_ms": spec["retry_after_ms"]}, \
                        "application/json"
                srv.log.finish(entry, status, kind)
                self.send(status, body, ctype)
                return
            if kind == "stall":
                time.sleep(fault[1]["stall_ms"] / 1000.0)
            status, body, ctype = srv.dispatch(req)
            srv.log.finish(entry, None if kind == "reset_after" else status, kind)
            if kind == "reset_after":
                self.reset()
                return
            self.send(status, body, ctype, slow_ms=fault[1]["slow_ms"] if kind == "slow" else 0)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, hs, log):
        super().__init__(addr, Handler)
        self.hs = hs
        self.log = log
        self.faults = Faults()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, OSError)):
            super().handle_error(request, client_address)

    # -- the Matrix API -------------------------------------------------------
    def dispatch(self, req):
        """Route a request; returns (status, body bytes/str, content type)."""
        if req.method == "OPTIONS":
            return 200, b"{}", "application/json"
        hs = self.hs
        for rx, handler, needs_auth in ROUTES_BY_METHOD.get(req.method, ()):
            m = rx.match(req.raw_path)
            if not m:
                continue
            args = [urllib.parse.unquote(g) if g is not None else None for g in m.groups()]
            try:
                with hs.cond:
                    if needs_auth:
                        hs.authenticate(req)
                    result = getattr(hs, handler)(req, *args)
                    status = 200
                    if isinstance(result, tuple):
                        status, result = result
                    # encode under the lock: results may share stored objects
                    return status, hs.encode(result), "application/json"
            except MatrixError as e:
                return e.status, e.body, "application/json"
            except Exception:   # noqa: BLE001 - answer like Synapse, log the bug
                traceback.print_exc()
                return 500, {"errcode": "M_UNKNOWN", "error": "Internal server error"}, \
                    "application/json"
        # A wrong method and an unknown endpoint look alike in Synapse 1.67.
        if req.raw_path.startswith("/_matrix/client/"):
            return 400, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}, \
                "application/json"
        return 404, HTML_404, "text/html"

    # -- the control API --------------------------------------------------------
    def control(self, req):
        hs = self.hs
        path = req.raw_path
        try:
            body = req.json(allow_empty=True) if req.method in ("POST", "PUT") else {}
            if path == "/_test/faults" and req.method == "POST":
                self.faults.configure(body)
                return 200, {}
            if path == "/_test/requests" and req.method == "GET":
                entries = self.log.since(int(req.query.get("since", "0")))
                return 200, {"requests": entries, "next": self.log.next_index}
            if path == "/_test/requests/clear" and req.method == "POST":
                self.log.clear()
                return 200, {"next": self.log.next_index}
            if path.startswith("/_test/bench/"):
                return self.bench_control(req, body)
            with hs.cond:
                if path == "/_test/event" and req.method == "POST":
                    return 200, {"event_id": hs.inject(body)}
                if path == "/_test/events" and req.method == "POST":
                    return 200, {"event_ids": [hs.inject(e) for e in body.get("events", [])]}
                m = re.match(r"^/_test/room/([^/]+)/events$", path)
                if m and req.method == "GET":
                    room = hs.rooms.get(urllib.parse.unquote(m.group(1)))
                    if room is None:
                        return 404, {"errcode": "M_NOT_FOUND", "error": "Unknown room"}
                    now = now_ms()
                    out = []
                    for ev in room.events:
                        d = hs.serialize(ev, full=True, now=now)
                        d["_pos"] = ev.pos
                        if ev.txn:
                            d["_device_id"], d["_txn_id"] = ev.txn[1], ev.txn[2]
                        if ev.redacted_by is not None:
                            d["_original_content"] = ev.content
                        if ev.raw is not None:
                            d["_raw_content"] = hs.raw_content[json.dumps(ev.raw).encode()] \
                                .decode("utf-8", "replace")
                        out.append(d)
                    return 200, json.loads(json.dumps({"events": out}))
                if path == "/_test/hold_sync" and req.method == "POST":
                    user = body.get("user")
                    if body.get("hold", True):
                        hs.holds[user] = (hs.pos, hs.td_pos)
                    else:
                        hs.holds.pop(user, None)
                    hs.cond.notify_all()
                    return 200, {}
                if path == "/_test/state" and req.method == "GET":
                    return 200, json.loads(json.dumps(hs.test_state()))
                if path == "/_test/create_room" and req.method == "POST":
                    creator = body.pop("user", None)
                    if creator not in hs.users:
                        return 400, {"errcode": "M_INVALID_PARAM", "error": "unknown user"}
                    return 200, {"room_id": hs.create_room(creator, body).room_id}
            return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unknown control endpoint"}
        except MatrixError as e:
            return e.status, e.body
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            return 500, {"errcode": "M_UNKNOWN", "error": repr(e)}


    # -- the benchmark API (bench/) ------------------------------------------------
    def bench_control(self, req, body):
        """/_test/bench/*: cheap counters and server-side timing for bench/.

        POST /_test/bench/count {"sender", "since_pos"}: how many
          m.room.message (or m.room.encrypted) events sender sent after
          stream position since_pos and the server time (ms) of the last
          one; {"count","last_ts","pos"}.
        POST /_test/bench/ping {"room_id", "sender", "body", "reply_from",
          "timeout_ms"}: inject an m.text as sender, wait until reply_from
          sends a message replying to it (m.in_reply_to) and return the time
          between the two as the server saw it: {"event_id", "latency_us"}.
        """
        hs = self.hs
        path = req.raw_path
        if path == "/_test/bench/count" and req.method == "POST":
            sender, since = body.get("sender"), int(body.get("since_pos", 0))
            with hs.cond:
                positions, stamps = hs.sent_messages.get(sender, ([], []))
                first = bisect.bisect_right(positions, since)
                last = max(stamps[first:], default=0)
                return 200, {"count": len(positions) - first, "last_ts": last, "pos": hs.pos}
        if path == "/_test/bench/ping" and req.method == "POST":
            deadline = time.monotonic() + body.get("timeout_ms", 10000) / 1000.0
            reply_from = body.get("reply_from")
            with hs.cond:
                room = hs.rooms.get(body.get("room_id"))
                if room is None:
                    return 404, {"errcode": "M_NOT_FOUND", "error": "Unknown room"}
                ev = hs.add_event(room, body.get("sender"), "m.room.message",
                                  {"msgtype": "m.text", "body": body.get("body", "")})
                t0 = time.perf_counter()
                seen = len(room.events)
                while True:
                    for later in room.events[seen:]:
                        rel = later.content.get("m.relates_to")
                        if (later.sender == reply_from and isinstance(rel, dict) and
                                isinstance(rel.get("m.in_reply_to"), dict) and
                                rel["m.in_reply_to"].get("event_id") == ev.event_id):
                            return 200, {"event_id": ev.event_id, "latency_us":
                                         int((time.perf_counter() - t0) * 1e6)}
                    seen = len(room.events)
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return 504, {"errcode": "M_UNKNOWN", "error": "no reply in time"}
                    hs.cond.wait(left)
        return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unknown bench endpoint"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8008)
    ap.add_argument("--server-name", default="localhost")
    ap.add_argument("--users", default="", help="alice:pw,bob:pw,... registered at start")
    ap.add_argument("--log", help="append every request as a JSON line to this file")
    ap.add_argument("--log-keep", type=int, default=200000,
                    help="request-log entries kept in memory for /_test/requests")
    ap.add_argument("--no-quirks", action="store_true",
                    help="do not reproduce Synapse bugs (duplicated own join event)")
    ap.add_argument("--uia-signing", choices=UIA_SIGNING_MODES, default="replace",
                    help="user-interactive auth on POST /keys/device_signing/upload: "
                         "'replace' (Synapse 1.160, the default: only to replace a key), "
                         "'always' (Synapse 1.67), 'none'")
    ap.add_argument("--max-event-bytes", type=int, default=MAX_EVENT_BYTES,
                    help="refuse events whose PDU's canonical JSON is longer (413 M_TOO_LARGE)")
    ap.add_argument("--tls-cert", help="serve https with this PEM certificate (chain)")
    ap.add_argument("--tls-key", help="... and this PEM private key")
    ap.add_argument("--tls13-only", action="store_true", help="refuse TLS 1.2 and older")
    args = ap.parse_args(argv)

    hs = Homeserver(args.server_name, quirks=not args.no_quirks, uia_signing=args.uia_signing,
                    max_event_bytes=args.max_event_bytes)
    for spec in filter(None, args.users.split(",")):
        name, _, password = spec.partition(":")
        hs.add_user(name.strip(), password)
    server = Server(("127.0.0.1", args.port), hs, RequestLog(args.log, args.log_keep))
    port = server.server_address[1]
    scheme = "http"
    if args.tls_cert:
        # The handshake runs in accept(): a client that rejects the
        # certificate only costs that accept (SSLError is an OSError).
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls13_only:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    hs.base_url = "%s://127.0.0.1:%d/" % (scheme, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("LISTENING %d" % port, flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
