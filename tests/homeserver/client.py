# SPDX-License-Identifier: MIT
"""A tiny synchronous Matrix client for tests (standard library only).

    sys.path.insert(0, "tests/homeserver")
    from client import ServerProcess, Client

    with ServerProcess(users="alice:pw,bob:pw") as srv:
        alice = Client.login(srv.base, "alice", "pw")
        room = alice.create_room(name="ops", invite=["@bob:localhost"])
        eid = alice.send_text(room, "hello")
        srv.control.room_events(room)

`Client` acts as one logged-in user (one device); every call returns the
parsed JSON body and raises `HSError` (status, errcode, body) on a non-2xx
answer.  `Control` wraps the homeserver's unauthenticated /_test/ API.
`ServerProcess` starts hs.py on a free port and stops it again.
"""

import itertools
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HS_PY = os.path.join(HERE, "hs.py")
PYTHON = "/usr/bin/python3"

_txn_counter = itertools.count(1)


def q(segment):
    """Percent-encode one path segment (`!` `:` `@` `$` `#` `/` included)."""
    return urllib.parse.quote(segment, safe="")


class HSError(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        self.errcode = body.get("errcode") if isinstance(body, dict) else None
        super().__init__("HTTP %s %s" % (status, body))


def http(base, method, path, body=None, token=None, query=None, timeout=30, raw=None,
         headers=None):
    """One request; returns (status, parsed body or text).  Never raises on HTTP errors."""
    url = base + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    text = payload.decode("utf-8", "replace")
    try:
        return status, json.loads(text) if text else {}
    except ValueError:
        return status, text


def call(base, method, path, body=None, token=None, query=None, timeout=30):
    status, payload = http(base, method, path, body, token, query, timeout)
    if not 200 <= status < 300:
        raise HSError(status, payload)
    return payload


class Client:
    """One user on one device."""

    def __init__(self, base, user_id=None, access_token=None, device_id=None,
                 prefix="/_matrix/client/v3"):
        self.base = base
        self.user_id = user_id
        self.token = access_token
        self.device_id = device_id
        self.prefix = prefix
        self.next_batch = None

    # -- plumbing --------------------------------------------------------------
    def request(self, method, path, body=None, query=None, auth=True, timeout=30):
        """(status, body) without raising."""
        return http(self.base, method, self.prefix + path, body,
                    self.token if auth else None, query, timeout)

    def call(self, method, path, body=None, query=None, auth=True, timeout=30):
        status, payload = self.request(method, path, body, query, auth, timeout)
        if not 200 <= status < 300:
            raise HSError(status, payload)
        return payload

    @staticmethod
    def txn():
        return "t%d-%d-%d" % (os.getpid(), int(time.time() * 1000), next(_txn_counter))

    # -- accounts --------------------------------------------------------------
    @classmethod
    def login(cls, base, user, password, device_id=None, display_name=None):
        body = {"type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user}, "password": password}
        if device_id:
            body["device_id"] = device_id
        if display_name:
            body["initial_device_display_name"] = display_name
        r = call(base, "POST", "/_matrix/client/v3/login", body)
        return cls(base, r["user_id"], r["access_token"], r["device_id"])

    @classmethod
    def register(cls, base, username, password, device_id=None):
        body = {"username": username, "password": password, "auth": {"type": "m.login.dummy"}}
        if device_id:
            body["device_id"] = device_id
        r = call(base, "POST", "/_matrix/client/v3/register", body)
        return cls(base, r["user_id"], r["access_token"], r["device_id"])

    def logout(self):
        return self.call("POST", "/logout", {})

    def whoami(self):
        return self.call("GET", "/account/whoami")

    def upload_filter(self, flt):
        return self.call("POST", "/user/%s/filter" % q(self.user_id), flt)["filter_id"]

    # -- rooms -------------------------------------------------------------------
    def create_room(self, name=None, topic=None, invite=(), encrypted=False,
                    preset="private_chat", is_direct=False, power_level_content_override=None,
                    initial_state=None, **extra):
        body = {"preset": preset}
        if name is not None:
            body["name"] = name
        if topic is not None:
            body["topic"] = topic
        if invite:
            body["invite"] = list(invite)
        if is_direct:
            body["is_direct"] = True
        if power_level_content_override:
            body["power_level_content_override"] = power_level_content_override
        state = list(initial_state or [])
        if encrypted:
            state.append({"type": "m.room.encryption", "state_key": "",
                          "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        if state:
            body["initial_state"] = state
        body.update(extra)
        return self.call("POST", "/createRoom", body)["room_id"]

    def invite(self, room, user_id):
        return self.call("POST", "/rooms/%s/invite" % q(room), {"user_id": user_id})

    def join(self, room):
        return self.call("POST", "/join/%s" % q(room), {})["room_id"]

    def leave(self, room):
        return self.call("POST", "/rooms/%s/leave" % q(room), {})

    def kick(self, room, user_id, reason=None):
        body = {"user_id": user_id}
        if reason:
            body["reason"] = reason
        return self.call("POST", "/rooms/%s/kick" % q(room), body)

    def joined_members(self, room):
        return self.call("GET", "/rooms/%s/joined_members" % q(room))["joined"]

    # -- events ------------------------------------------------------------------
    def send(self, room, etype, content, txn_id=None):
        return self.call("PUT", "/rooms/%s/send/%s/%s" % (q(room), q(etype), q(txn_id or self.txn())),
                         content)["event_id"]

    def send_text(self, room, body, formatted=None, relates_to=None, thread_root=None,
                  reply_to=None, msgtype="m.text", mentions=None, txn_id=None):
        content = {"msgtype": msgtype, "body": body}
        if formatted is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted
        rel = dict(relates_to or {})
        if thread_root:
            rel.update({"rel_type": "m.thread", "event_id": thread_root,
                        "is_falling_back": reply_to is None,
                        "m.in_reply_to": {"event_id": reply_to or thread_root}})
        elif reply_to:
            rel["m.in_reply_to"] = {"event_id": reply_to}
        if rel:
            content["m.relates_to"] = rel
        if mentions is not None:
            content["m.mentions"] = {"user_ids": list(mentions)}
        return self.send(room, "m.room.message", content, txn_id)

    def edit(self, room, event_id, new_body, formatted=None):
        new = {"msgtype": "m.text", "body": new_body}
        if formatted is not None:
            new.update({"format": "org.matrix.custom.html", "formatted_body": formatted})
        content = dict(new)
        content["body"] = "* " + new_body
        if formatted is not None:
            content["formatted_body"] = "* " + formatted
        content["m.new_content"] = new
        content["m.relates_to"] = {"rel_type": "m.replace", "event_id": event_id}
        return self.send(room, "m.room.message", content)

    def react(self, room, event_id, key):
        return self.send(room, "m.reaction", {"m.relates_to": {
            "rel_type": "m.annotation", "event_id": event_id, "key": key}})

    def redact(self, room, event_id, reason=None, txn_id=None):
        body = {"reason": reason} if reason else {}
        return self.call("PUT", "/rooms/%s/redact/%s/%s" % (q(room), q(event_id),
                                                             q(txn_id or self.txn())),
                         body)["event_id"]

    def set_state(self, room, etype, content, state_key=""):
        path = "/rooms/%s/state/%s" % (q(room), q(etype))
        if state_key:
            path += "/" + q(state_key)
        return self.call("PUT", path, content)["event_id"]

    def get_state(self, room, etype, state_key=""):
        path = "/rooms/%s/state/%s" % (q(room), q(etype))
        if state_key:
            path += "/" + q(state_key)
        return self.call("GET", path)

    def get_event(self, room, event_id):
        return self.call("GET", "/rooms/%s/event/%s" % (q(room), q(event_id)))

    def get_messages(self, room, from_token=None, direction="b", limit=10, to=None):
        query = {"dir": direction, "limit": str(limit)}
        if from_token:
            query["from"] = from_token
        if to:
            query["to"] = to
        return self.call("GET", "/rooms/%s/messages" % q(room), query=query)

    def receipt(self, room, event_id, rtype="m.read"):
        return self.call("POST", "/rooms/%s/receipt/%s/%s" % (q(room), q(rtype), q(event_id)), {})

    def send_to_device(self, etype, messages, txn_id=None):
        return self.call("PUT", "/sendToDevice/%s/%s" % (q(etype), q(txn_id or self.txn())),
                         {"messages": messages})

    # -- sync ----------------------------------------------------------------------
    def sync(self, since=None, timeout=0, filter=None, full_state=False, advance=True):
        """One /sync.  since defaults to the last next_batch; advance remembers the new one."""
        query = {"timeout": str(int(timeout))}
        since = since if since is not None else self.next_batch
        if since:
            query["since"] = since
        if filter is not None:
            query["filter"] = filter if isinstance(filter, str) else json.dumps(filter)
        if full_state:
            query["full_state"] = "true"
        r = self.call("GET", "/sync", query=query, timeout=timeout / 1000.0 + 30)
        if advance:
            self.next_batch = r["next_batch"]
        return r

    def sync_until(self, predicate, timeout=10.0, poll_ms=1000, filter=None):
        """Long-poll until predicate(sync_response) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("sync_until: condition not met in %.1fs" % timeout)
            r = self.sync(timeout=min(poll_ms, max(0, int(left * 1000))), filter=filter)
            value = predicate(r)
            if value:
                return value

    @staticmethod
    def timeline(sync_response, room):
        return sync_response.get("rooms", {}).get("join", {}).get(room, {}).get(
            "timeline", {}).get("events", [])


class Control:
    """The homeserver's /_test/ control API."""

    def __init__(self, base):
        self.base = base

    def _call(self, method, path, body=None, query=None):
        return call(self.base, method, path, body, query=query)

    def faults(self, **spec):
        return self._call("POST", "/_test/faults", spec)

    def clear_faults(self):
        return self._call("POST", "/_test/faults", {})

    def requests(self, since=0):
        return self._call("GET", "/_test/requests", query={"since": str(since)})["requests"]

    def clear_requests(self):
        return self._call("POST", "/_test/requests/clear", {})

    def inject(self, room_id, sender, etype, content, state_key=None, **extra):
        ev = {"room_id": room_id, "sender": sender, "type": etype, "content": content}
        if state_key is not None:
            ev["state_key"] = state_key
        ev.update(extra)
        return self._call("POST", "/_test/event", ev)["event_id"]

    def inject_many(self, events):
        return self._call("POST", "/_test/events", {"events": list(events)})["event_ids"]

    def room_events(self, room_id):
        return self._call("GET", "/_test/room/%s/events" % q(room_id))["events"]

    def hold_sync(self, user_id, hold=True):
        return self._call("POST", "/_test/hold_sync", {"user": user_id, "hold": hold})

    def state(self):
        return self._call("GET", "/_test/state")

    def create_room(self, user_id, **body):
        body["user"] = user_id
        return self._call("POST", "/_test/create_room", body)["room_id"]


class ServerProcess:
    """hs.py as a subprocess on a free loopback port (a context manager)."""

    def __init__(self, users="alice:pw,bob:pw,scribe:pw", log=None, extra_args=(),
                 start_timeout=10.0, stderr=None):
        cmd = [PYTHON, HS_PY, "--port", "0", "--users", users] + list(extra_args)
        if log:
            cmd += ["--log", log]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        line = [None]
        reader = threading.Thread(target=lambda: line.__setitem__(0, self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(start_timeout)
        if not line[0] or not line[0].startswith("LISTENING "):
            self.stop()
            raise RuntimeError("hs.py did not start: %r" % (line[0],))
        self.port = int(line[0].split()[1])
        self.base = "http://127.0.0.1:%d" % self.port
        self.control = Control(self.base)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":     # a quick manual check: python3 client.py
    with ServerProcess() as srv:
        a = Client.login(srv.base, "alice", "pw")
        room = a.create_room(name="demo")
        a.send_text(room, "hello")
        json.dump(srv.control.room_events(room), sys.stdout, indent=1)
        print()
