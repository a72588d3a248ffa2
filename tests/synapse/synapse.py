# SPDX-License-Identifier: MIT
"""A real, current Synapse for the protocol tests: Debian sid's
matrix-synapse, run from the sid root that tests/synapse/setup.sh
builds (build-synapse/root), inside it with chroot, on 127.0.0.1 on a
free port, with a config and data of its own for each instance.

Synapse acts like the test homeserver's Homeserver class (harness.py)
wherever the client-server API can: uid, login, call, create_room,
invite, join, leave, send, say, edit, react, redact, room_events (read
with /messages by a member of the room) and stop. The test homeserver's
control API (requests, faults, hold_sync, inject) has no Synapse
equivalent: those raise.

Users are registered with the shared-secret admin API, password
"pw-<name>" as on the test homeserver. Standard library only.
"""
import base64
import ctypes
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "proto"))

import harness  # noqa: E402
from harness import http, q  # noqa: E402

# where setup.sh builds the root (SCRIBE_SYNAPSE_DIR for another one)
BUILD = os.path.abspath(os.environ.get("SCRIBE_SYNAPSE_DIR", os.path.join(TOP, "build-synapse")))
SETUP = os.path.join(HERE, "setup.sh")
START_TIMEOUT = 60
HUGE = {"per_second": 100000, "burst_count": 1000000}


def root_problem(build=BUILD):
    """None when setup.sh has built the root, else why not (one line)."""
    if not os.path.exists(os.path.join(build, "recipe-1.done")):
        return "no Synapse root in %s: run sh tests/synapse/setup.sh" % build
    if os.geteuid() != 0:
        return "running Synapse in its sid root needs root (chroot, mount)"
    return None


def version(build=BUILD):
    with open(os.path.join(build, "version.txt")) as f:
        return f.read().strip()


def _free_port():
    # Synapse binds it a moment later: a small race, the same as any
    # "port 0 then tell the server" scheme without a socket handover
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _secret():
    return base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")


def _config(run, port, secret):
    """homeserver.yaml as JSON (YAML reads it); run is the data dir as
    seen inside the root."""
    rc = {
        "rc_message": HUGE,
        "rc_registration": HUGE,
        "rc_registration_token_validity": HUGE,
        "rc_login": {"address": HUGE, "account": HUGE, "failed_attempts": HUGE},
        "rc_admin_redaction": HUGE,
        "rc_joins": {"local": HUGE, "remote": HUGE},
        "rc_joins_per_room": HUGE,
        "rc_3pid_validation": HUGE,
        "rc_invites": {"per_room": HUGE, "per_user": HUGE, "per_issuer": HUGE},
        "rc_third_party_invite": HUGE,
        "rc_key_requests": HUGE,
        "rc_media_create": HUGE,
        "rc_federation": {"window_size": 1000, "sleep_limit": 100000, "sleep_delay": 0,
                          "reject_limit": 100000, "concurrent": 100000},
        "rc_presence": {"per_user": HUGE},
        "rc_delayed_event_mgmt": HUGE,
        "rc_reports": HUGE,
        "rc_room_creation": HUGE,
    }
    conf = {
        "server_name": "localhost",
        "pid_file": run + "/homeserver.pid",
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http",
                       "tls": False, "x_forwarded": False,
                       "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": run + "/homeserver.db"}},
        "log_config": run + "/log.config",
        "media_store_path": run + "/media",
        "signing_key_path": run + "/signing.key",
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "report_stats": False,
        "enable_registration": False,
        "registration_shared_secret": secret,
        "macaroon_secret_key": _secret(),
        "form_secret": _secret(),
        "max_upload_size": "1M",
        "url_preview_enabled": False,
        "bcrypt_rounds": 4,          # logins are many and must be quick
        "presence": {"enabled": False},
    }
    conf.update(rc)
    return conf


def _log_config(run):
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                                  "filename": run + "/homeserver.log"}},
            "root": {"level": "WARNING", "handlers": ["file"]}}


def _die_with_parent():
    """In the child before exec: SIGTERM when the test that started
    Synapse dies, even by SIGKILL (PR_SET_PDEATHSIG survives the execs
    of unshare, sh and chroot)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _sweep(tmp):
    """Remove the data dirs of earlier runs whose Synapse is gone (a test
    killed before its stop)."""
    for name in os.listdir(tmp):
        if not name.startswith("scribe-run-"):
            continue
        d = os.path.join(tmp, name)
        try:
            with open(os.path.join(d, "owner.pid")) as f:
                os.kill(int(f.read()), 0)
            continue                  # its owner still runs
        except (OSError, ValueError):
            shutil.rmtree(d, ignore_errors=True)


class Synapse(harness.Homeserver):
    """A real Synapse as a subprocess on a free loopback port, with users
    registered. The acting methods (login, create_room, say, ...) are the
    Homeserver's: they are plain client-server API calls. workdir and
    tls13_only are taken for Homeserver's sake and not used; tls is
    refused."""

    def __init__(self, users=("alice", "bob", "elon", "scribe"), workdir=None, tls=None,
                 tls13_only=False, build=BUILD):
        if tls:
            raise ValueError("the Synapse of the tests serves plain http on loopback only")
        why = root_problem(build)
        if why:
            raise RuntimeError(why)
        self.root = os.path.join(build, "root")
        self.ctx = None
        self.tokens = {}
        self.creators = {}
        self.proc = None
        tmp = os.path.join(self.root, "tmp")
        _sweep(tmp)
        # the data dir lies inside the root (Synapse sees it as /tmp/...);
        # owner.pid lets a later run remove it if this one is killed
        self.data = tempfile.mkdtemp(prefix="scribe-run-", dir=tmp)
        os.chmod(self.data, 0o700)
        self.workdir = workdir or self.data   # as Homeserver's; unused here
        with open(os.path.join(self.data, "owner.pid"), "w") as f:
            f.write(str(os.getpid()))
        run = "/tmp/" + os.path.basename(self.data)
        self.secret = _secret()
        self.port = _free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        with open(os.path.join(self.data, "homeserver.yaml"), "w") as f:
            json.dump(_config(run, self.port, self.secret), f, indent=1)
        with open(os.path.join(self.data, "log.config"), "w") as f:
            json.dump(_log_config(run), f, indent=1)
        # "ed25519 <version> <unpadded base64 seed>", as Synapse writes it
        with open(os.path.join(self.data, "signing.key"), "w") as f:
            f.write("ed25519 a_test %s\n" % base64.b64encode(os.urandom(32)).decode().rstrip("="))
        self.log = open(os.path.join(self.data, "homeserver.stderr"), "w")
        # /proc and /dev for Synapse, in a mount namespace of its own: the
        # kernel removes both mounts when Synapse exits, however it exits
        script = ('mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" && '
                  'exec chroot "$1" python3 -m synapse.app.homeserver -c "$2"')
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": run,
               "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                 self.root, run + "/homeserver.yaml"],
                stdout=self.log, stderr=self.log, env=env, start_new_session=True,
                preexec_fn=_die_with_parent)
            self._wait_ready()
            for u in users:
                self.register(u)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT * harness.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("Synapse exited with status %d: %s" % (
                    self.proc.returncode, self.tail()))
            try:
                http(self.base, "GET", "/_matrix/client/versions", timeout=2)
                return
            except (OSError, harness.HTTPError):
                time.sleep(0.2)
        raise RuntimeError("Synapse did not answer within %ds: %s" % (START_TIMEOUT, self.tail()))

    def tail(self, n=5):
        """The last lines of Synapse's stderr and log, for a failure message."""
        out = []
        for name in ("homeserver.stderr", "homeserver.log"):
            try:
                with open(os.path.join(self.data, name), errors="replace") as f:
                    out += [ln.rstrip() for ln in f.readlines()[-n:]]
            except OSError:
                pass
        return " | ".join(out) or "(no output)"

    def register(self, user, admin=False):
        """Create user with password pw-<user> (shared-secret admin API:
        an HMAC-SHA1 over nonce, name, password and admin flag)."""
        path = "/_synapse/admin/v1/register"
        nonce = http(self.base, "GET", path)["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, user, "pw-" + user):
            mac.update(part.encode() + b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        http(self.base, "POST", path, {"nonce": nonce, "username": user,
                                       "password": "pw-" + user, "admin": admin,
                                       "mac": mac.hexdigest(), "inhibit_login": True})

    def create_room(self, user, invite=(), encrypted=False, name="ops"):
        room = super().create_room(user, invite, encrypted, name)
        self.creators[room] = user
        return room

    def room_events(self, room, user=None):
        """Every event of room, oldest first, as /messages gives them to
        user (default: whoever created it here, else alice): paged
        backwards from now."""
        user = user or self.creators.get(room, "alice")
        out, frm = [], None
        for _ in range(1000):
            path = "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=1000" % q(room)
            if frm:
                path += "&from=" + q(frm)
            r = self.call("GET", path, user=user)
            out += r.get("chunk", [])
            if not r.get("chunk") or not r.get("end"):
                break
            frm = r["end"]
        out.reverse()
        return out

    def _no_control(self, *_args, **_kw):
        raise NotImplementedError("Synapse has no test control API (requests, faults, "
                                  "hold_sync, inject are the test homeserver's)")

    requests = faults = hold_sync = inject = _no_control

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; remove the data dir (kept with
        SCRIBE_KEEP_TMP). The mounts went with Synapse's namespace."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10 * harness.SLOW)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if not self.log.closed:
            self.log.close()
        if os.environ.get("SCRIBE_KEEP_TMP") is None:
            shutil.rmtree(self.data, ignore_errors=True)
        else:
            print("# kept %s" % self.data, flush=True)
