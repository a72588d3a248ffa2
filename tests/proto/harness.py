# SPDX-License-Identifier: MIT
"""Protocol-test harness: the real `scribe` binary against the test
homeserver (tests/homeserver/hs.py) over loopback.

A test file builds a World (homeserver + users + a room + a running
scribe), drives the conversation as users would over the client-server
API, and asserts on what a user sees: scribe's replies in the room, the
stored records (read straight from scribe's SQLite file, read-only, so
a check sees exactly what was committed), and the requests the
homeserver received. Every wait is bounded.

Each check prints `ok - name` or `not ok - name: why`; tests/run counts
those lines.
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPSConnection

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HS = os.path.join(ROOT, "tests", "homeserver", "hs.py")
SCRIBE = os.path.abspath(os.environ.get("SCRIBE_BIN", os.path.join(ROOT, "build", "scribe")))
PY = "/usr/bin/python3"
# Every wait below is this many times longer: tests/valgrind sets it, as
# scribe under valgrind runs 20 to 50 times slower.
SLOW = float(os.environ.get("SCRIBE_TEST_SLOW", "1"))

_results = {"passed": 0, "failed": 0}


def check(name, fn):
    """Run one named check; print its verdict; never raise."""
    try:
        fn()
        print("ok - %s" % name, flush=True)
        _results["passed"] += 1
    except Exception as e:  # noqa: BLE001 - a test failure of any kind
        msg = "%s: %s" % (type(e).__name__, e)
        print("not ok - %s: %s" % (name, msg.replace("\n", "\n    ")), flush=True)
        traceback.print_exc(file=sys.stderr)
        _results["failed"] += 1


def finish():
    sys.exit(1 if _results["failed"] else 0)


def wait_for(pred, timeout=15.0, what="condition", interval=0.05):
    """Poll pred() until it returns something truthy; return it."""
    timeout *= SLOW
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


PREFIX = {"todo": "T", "decision": "D", "change": "C", "meeting": "M", "incident": "I",
          "reminder": "R"}


def _iso(ts):
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def read_records(path):
    """The records of the store at path (see Scribe.records)."""
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=10)
    try:
        out = []
        rows = db.execute("SELECT id, kind, num, room_id, author, event_id, text, detail, status,"
                          " severity, due, withdrawn FROM records ORDER BY id").fetchall()
        for (rid, kind, num, room, author, event_id, text, detail, status, severity, due,
             withdrawn) in rows:
            votes = {"up": 0, "down": 0, "meh": 0}
            for (key, n) in db.execute("SELECT key, count(*) FROM votes WHERE record = ?"
                                       " GROUP BY key", (rid,)):
                votes[key] = n
            out.append({
                "id": "%s%d" % (PREFIX[kind], num), "kind": kind, "room": room,
                "author": author, "event_id": event_id, "text": text, "detail": detail,
                "status": status, "severity": severity, "due": _iso(due),
                "withdrawn": bool(withdrawn),
                "assignees": [u for (u,) in db.execute(
                    "SELECT user_id FROM assignees WHERE record = ? ORDER BY pos", (rid,))],
                "tags": [t for (t,) in db.execute(
                    "SELECT tag FROM tags WHERE record = ? ORDER BY pos", (rid,))],
                "votes": votes,
                "history": [{"field": f, "old": o, "new": n, "actor": a, "event_id": e}
                            for (f, o, n, a, e) in db.execute(
                                "SELECT field, old, new, actor, event_id FROM history"
                                " WHERE record = ? ORDER BY id", (rid,))],
            })
        return out
    finally:
        db.close()


class HTTPError(Exception):
    def __init__(self, status, body):
        super().__init__("%s %s" % (status, body))
        self.status = status
        self.body = body


class _LoopbackHTTPS(HTTPSConnection):
    """https://localhost:PORT without asking the resolver for the name: a
    minimal system (a bare debootstrap) has no /etc/hosts, while libcurl
    knows localhost itself. Connects to 127.0.0.1 and verifies the
    certificate as the URL's host."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _LoopbackHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_LoopbackHTTPS, req, context=self._context)


def http(base, method, path, body=None, token=None, timeout=30, ctx=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        opener = urllib.request.build_opener(_LoopbackHTTPSHandler(context=ctx)).open \
            if ctx else urllib.request.urlopen
        with opener(req, timeout=timeout) as r:
            raw = r.read()
            return json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            b = json.loads(raw)
        except ValueError:
            b = raw.decode(errors="replace")
        raise HTTPError(e.code, b) from None


def q(s):
    return urllib.parse.quote(s, safe="")


def make_cert(workdir, name="hs", san="DNS:localhost"):
    """A self-signed certificate for the name localhost (P-256, valid two
    days): returns (cert path, key path), both PEM, made by openssl(1).
    san names what it is for instead, e.g. "IP:127.0.0.1"."""
    cert, key = os.path.join(workdir, name + ".crt"), os.path.join(workdir, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=" + san,
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class Homeserver:
    """The test homeserver as a subprocess on a free loopback port.
    tls=(cert, key) serves https with that certificate; the harness's own
    calls then trust it (and only it); tls13_only refuses TLS 1.2; args
    go to hs.py as they are (e.g. ["--uia-signing", "always"])."""

    def __init__(self, users=("alice", "bob", "elon", "scribe"), workdir=None, tls=None,
                 tls13_only=False, args=()):
        self.workdir = workdir or tempfile.mkdtemp(prefix="scribe-hs-")
        self.log = open(os.path.join(self.workdir, "hs.stderr"), "w")
        spec = ",".join("%s:pw-%s" % (u, u) for u in users)
        argv = [PY, HS, "--port", "0", "--users", spec] + list(args)
        self.ctx = None
        if tls:
            argv += ["--tls-cert", tls[0], "--tls-key", tls[1]]
            if tls13_only:
                argv.append("--tls13-only")
            self.ctx = ssl.create_default_context(cafile=tls[0])
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING"):
            raise RuntimeError("homeserver did not start: %r" % line)
        self.port = int(line.split()[1])
        self.base = ("https://localhost:%d" if tls else "http://127.0.0.1:%d") % self.port
        self.tokens = {}

    def call(self, method, path, body=None, user=None, timeout=30):
        tok = self.tokens.get(user) if user else None
        return http(self.base, method, path, body, tok, timeout, self.ctx)

    def login(self, user, device=None):
        body = {"type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": "pw-" + user}
        if device:
            body["device_id"] = device
        r = http(self.base, "POST", "/_matrix/client/v3/login", body, ctx=self.ctx)
        self.tokens[user] = r["access_token"]
        return r

    def uid(self, user):
        return "@%s:localhost" % user

    # --- acting as a user ---
    def create_room(self, user, invite=(), encrypted=False, name="ops"):
        body = {"preset": "private_chat", "name": name,
                "invite": [self.uid(u) for u in invite]}
        if encrypted:
            body["initial_state"] = [{"type": "m.room.encryption", "state_key": "",
                                      "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
        return self.call("POST", "/_matrix/client/v3/createRoom", body, user)["room_id"]

    def invite(self, user, room, who):
        self.call("POST", "/_matrix/client/v3/rooms/%s/invite" % q(room),
                  {"user_id": self.uid(who)}, user)

    def join(self, user, room):
        self.call("POST", "/_matrix/client/v3/join/%s" % q(room), {}, user)

    def leave(self, user, room):
        self.call("POST", "/_matrix/client/v3/rooms/%s/leave" % q(room), {}, user)

    _txn = [0]

    def send(self, user, room, content, etype="m.room.message"):
        self._txn[0] += 1
        txn = "t%d-%d" % (os.getpid(), self._txn[0])
        r = self.call("PUT", "/_matrix/client/v3/rooms/%s/send/%s/%s" % (q(room), etype, txn),
                      content, user)
        return r["event_id"]

    def say(self, user, room, text, **extra):
        content = {"msgtype": "m.text", "body": text}
        content.update(extra)
        return self.send(user, room, content)

    def edit(self, user, room, event_id, text):
        return self.send(user, room, {
            "msgtype": "m.text", "body": "* " + text,
            "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}})

    def react(self, user, room, event_id, key):
        return self.send(user, room, {"m.relates_to": {
            "rel_type": "m.annotation", "event_id": event_id, "key": key}}, "m.reaction")

    def redact(self, user, room, event_id, reason="oops"):
        self._txn[0] += 1
        r = self.call("PUT", "/_matrix/client/v3/rooms/%s/redact/%s/r%d-%d" % (
            q(room), q(event_id), os.getpid(), self._txn[0]), {"reason": reason}, user)
        return r["event_id"]

    # --- the control API ---
    def room_events(self, room):
        return self.call("GET", "/_test/room/%s/events" % q(room))["events"]

    def requests(self):
        return self.call("GET", "/_test/requests")["requests"]

    def faults(self, **spec):
        self.call("POST", "/_test/faults", spec)

    def hold_sync(self, user, hold):
        self.call("POST", "/_test/hold_sync", {"user": self.uid(user), "hold": hold})

    def inject(self, events):
        return self.call("POST", "/_test/events", {"events": events})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def new_homeserver(**kw):
    """A new homeserver, started: the test homeserver, or a real Synapse
    (tests/synapse/synapse.py) when SCRIBE_TEST_HS=synapse; kw as for
    Homeserver."""
    if os.environ.get("SCRIBE_TEST_HS", "hs") == "synapse":
        sys.path.insert(0, os.path.join(ROOT, "tests", "synapse"))
        import synapse  # noqa: E402 - only where asked for
        return synapse.Synapse(**kw)
    return Homeserver(**kw)


class Scribe:
    """The real scribe binary with its own store and config."""

    def __init__(self, hs, workdir, extra_conf="", inviters="*:localhost", matrix_conf="",
                 sync_timeout="2s"):
        self.hs = hs
        self.dir = workdir
        self.conf = os.path.join(workdir, "bot.conf")
        self.proc = None
        self.stderr_path = os.path.join(workdir, "scribe.stderr")
        with open(os.path.join(workdir, "password"), "w") as f:
            f.write("pw-scribe\n")
        os.chmod(os.path.join(workdir, "password"), 0o600)
        with open(self.conf, "w") as f:
            f.write("""[matrix]
homeserver = %s
user_id = @scribe:localhost
password_file = %s/password
access_token_file = %s/token
device_name = scribe test
sync_timeout = %s
%s

[store]
path = %s/scribe.db

[bot]
allowed_inviters = %s
log_level = info

[crypto]
pickle_key_file = %s/pickle.key
%s
""" % (hs.base, workdir, workdir, sync_timeout, matrix_conf, workdir, inviters, workdir,
       extra_conf))

    def cli(self, *args, check=True, timeout=60):
        r = subprocess.run([SCRIBE] + list(args), capture_output=True, text=True,
                           timeout=timeout * SLOW)
        if check and r.returncode != 0:
            raise AssertionError("scribe %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def login(self):
        return self.cli("login", "-c", self.conf)

    def start(self):
        self.err = open(self.stderr_path, "a")
        self.proc = subprocess.Popen([SCRIBE, "run", "-c", self.conf],
                                     stdout=self.err, stderr=self.err)

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30 * SLOW)
        if self.proc:
            self.err.close()
        return self.proc.returncode if self.proc else None

    def stop(self):
        return self.kill(signal.SIGTERM)

    def records(self):
        """Every record as committed, oldest first: a dict with id "T1",
        kind, room, author, event_id, text, detail, status, severity,
        due (ISO date-time UTC or None), withdrawn (bool), assignees,
        tags, votes {"up","down","meh"} and history [{field, old, new,
        actor, event_id}]."""
        return read_records(os.path.join(self.dir, "scribe.db"))

    def _count(self, table):
        path = os.path.join(self.dir, "scribe.db")
        if not os.path.exists(path):
            return 0
        db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
        finally:
            db.close()

    def record_count(self):
        return self._count("records")

    def _event_ids(self, table):
        path = os.path.join(self.dir, "scribe.db")
        if not os.path.exists(path):
            return set()
        db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=10)
        try:
            return {e for (e,) in db.execute("SELECT event_id FROM %s" % table)}
        finally:
            db.close()

    def recorded_event_ids(self):
        """The source event ids of every committed record."""
        return self._event_ids("records")

    def seen_event_ids(self):
        """The events scribe remembers having handled."""
        return self._event_ids("seen_events")

    def outbox_count(self):
        """Messages decided but not yet accepted by the homeserver."""
        return self._count("outbox")

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()


class World:
    """Homeserver + logged-in users + scribe joined to one room."""

    def __init__(self, users=("alice", "bob", "elon"), encrypted=False, extra_conf="",
                 start=True, tls=False, hs=None, **scribe_conf):
        """tls=True: the homeserver serves https with a fresh self-signed
        certificate (self.cert), which scribe is told to trust (ca_file)
        unless scribe_conf brings its own matrix_conf. hs: a running
        homeserver with the users registered, shared with other Worlds
        and not stopped by close(); without it a World starts its own
        (see new_homeserver)."""
        self.tmp = tempfile.mkdtemp(prefix="scribe-proto-")
        self.cert = self.key = None
        if tls:
            self.cert, self.key = make_cert(self.tmp)
            scribe_conf.setdefault("matrix_conf", "ca_file = %s" % self.cert)
        self.own_hs = hs is None
        self.hs = hs or new_homeserver(users=tuple(users) + ("scribe",), workdir=self.tmp,
                                       tls=(self.cert, self.key) if tls else None)
        for u in users:
            self.hs.login(u)
        self.scribe = Scribe(self.hs, self.tmp, extra_conf, **scribe_conf)
        self.scribe.login()
        self.room = self.hs.create_room("alice", invite=[u for u in users if u != "alice"],
                                        encrypted=encrypted)
        for u in users:
            if u != "alice":
                self.hs.join(u, self.room)
        if start:
            self.scribe.start()
            self.hs.invite("alice", self.room, "scribe")
            wait_for(lambda: self.joined(), what="scribe to join the room")

    def joined(self):
        for ev in self.hs.room_events(self.room):
            if (ev["type"] == "m.room.member" and ev.get("state_key") == "@scribe:localhost"
                    and ev["content"].get("membership") == "join"):
                return True
        return False

    def bot_messages(self):
        return [ev for ev in self.hs.room_events(self.room)
                if ev["sender"] == "@scribe:localhost" and ev["type"] in
                ("m.room.message", "m.room.encrypted")]

    def reply_to(self, event_id, timeout=15):
        """scribe's reply to event_id (waits for it)."""
        def find():
            for ev in self.bot_messages():
                rel = ev["content"].get("m.relates_to", {})
                if rel.get("m.in_reply_to", {}).get("event_id") == event_id:
                    return ev
            return None
        return wait_for(find, timeout, "scribe's reply to %s" % event_id)

    def record_count(self):
        return self.scribe.record_count()

    def inject_commands(self, user, texts, room=None, batch=500):
        """Post many messages as user at once (the control API), in order;
        return their event ids."""
        ids = []
        for i in range(0, len(texts), batch):
            evs = [{"room_id": room or self.room, "sender": self.hs.uid(user),
                    "type": "m.room.message", "content": {"msgtype": "m.text", "body": t}}
                   for t in texts[i:i + batch]]
            ids += self.hs.inject(evs)["event_ids"]
        return ids

    def reply_counts(self, room=None):
        """{command event id: number of scribe replies to it} in room."""
        counts = {}
        for ev in self.hs.room_events(room or self.room):
            if ev["sender"] != "@scribe:localhost" or ev["type"] != "m.room.message":
                continue
            src = ev["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            if src:
                counts[src] = counts.get(src, 0) + 1
        return counts

    def expect_exactly_once(self, ids, timeout=60, texts=None):
        """Wait until every command in ids is recorded and every reply
        sent, then require exactly one reply and one record per command
        (and, with texts {event id: text}, the texts typed)."""
        want = set(ids)
        # poll scribe's side first: cheap even when the room holds
        # thousands of events
        wait_for(lambda: want <= self.scribe.recorded_event_ids() and
                 not self.scribe.outbox_count(), timeout,
                 "%d records and an empty outbox" % len(ids), interval=0.2)
        wait_for(lambda: want <= set(self.reply_counts()), 30,
                 "replies to all %d commands" % len(ids), interval=0.2)
        counts = self.reply_counts()
        twice = [e for e in ids if counts.get(e) != 1]
        expect(not twice, "%d commands answered more than once, e.g. %s -> %r" % (
            len(twice), twice[:1], [counts.get(e) for e in twice[:1]]))
        recs = [r for r in self.scribe.records() if r["event_id"] in want]
        expect(len(recs) == len(ids), "%d records for %d commands" % (len(recs), len(ids)))
        expect(len({r["event_id"] for r in recs}) == len(ids), "a command was recorded twice")
        if texts is not None:
            expect(sorted(r["text"] for r in recs) == sorted(texts[e] for e in ids),
                   "records match what was typed")

    def replies_to(self, event_id):
        return [ev for ev in self.bot_messages()
                if ev["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
                .get("event_id") == event_id]

    def close(self):
        try:
            self.scribe.kill(signal.SIGTERM)
        finally:
            if self.own_hs:
                self.hs.stop()
            if os.environ.get("SCRIBE_KEEP_TMP") is None:
                shutil.rmtree(self.tmp, ignore_errors=True)
