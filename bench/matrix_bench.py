# SPDX-License-Identifier: MIT
"""Matrix-side benchmarks: the real scribe binary (or the matrix-nio
baseline bot) against the test homeserver over loopback.

  python3 bench/matrix_bench.py ingest  [--bot scribe|nio] [--commands 10000] [--rooms 50]
                                        [--tls]
  python3 bench/matrix_bench.py latency [--commands 1000]
  python3 bench/matrix_bench.py memory  [--rooms 100] [--build system|lean] [--tls]

Each prints one summary line, "bench NAME key=value ...". The scribe
binary is $SCRIBE_BIN (default build-bench/scribe, built by `make bench`).

ingest: the bot joins N rooms; its syncs are held while the homeserver
  gets the backlog (commands spread evenly over the rooms, injected in
  bulk); the clock starts when the hold is released and stops at the
  server time of the bot's last reply; the run only counts when every
  command has exactly one reply and one stored record. CPU seconds of the
  bot and of the homeserver over that window come from /proc, so the line
  says which of the two was the bottleneck.
latency: one room; each command is injected by the homeserver and the
  homeserver times it until the bot's reply to it arrives (both instants
  taken inside the server, /_test/bench/ping), one command at a time.
memory: the bot joins N rooms and idles; peak and current RSS from
  /proc/PID/status (VmHWM, VmRSS). Then bench/rss_floor (built beside
  the binary by `make bench`) initialises and uses libcurl, SQLite,
  jansson and libolm once and does nothing else: its RSS is the floor
  the shared libraries set, and own_rss_kb is scribe's RSS above it.
  --tls serves the homeserver over https (a certificate made for the
  run, which scribe and the floor trust through ca_file), as a real
  deployment is reached: the TLS library's state is then in both.
  ingest --tls (scribe only) measures the same over https.
ingest-e2ee: as ingest, in encrypted rooms: alice (a real matrix-nio
  client with encryption) shares a Megolm session with scribe's device
  in each room, encrypts the backlog locally and the homeserver gets the
  m.room.encrypted events in bulk; scribe must decrypt every command and
  answer (encrypted). If scribe does not answer a first encrypted probe
  command, the line says pending=1 with the reason.
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("SCRIBE_BIN", os.path.join(ROOT, "build-bench", "scribe"))
sys.path.insert(0, os.path.join(ROOT, "tests", "proto"))
import harness  # noqa: E402  (after the path and SCRIBE_BIN are set)
from harness import Homeserver, Scribe, make_cert, wait_for  # noqa: E402

PY = "/usr/bin/python3"
NIO_BOT = os.path.join(HERE, "nio_bot.py")
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """user + system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_kb(pid):
    """(peak, current) resident set size in kB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out.get("VmHWM", 0), out.get("VmRSS", 0)


def mem_detail_kb(pid):
    """(anonymous RSS, PSS) in kB: RSS counts every page of the shared
    libraries mapped (libcrypto, libc, sqlite, ...) in full; RssAnon is
    the process's own memory, PSS its fair share of the shared pages."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                out["anon"] = int(line.split()[1])
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                out["pss"] = int(line.split()[1])
    return out.get("anon", 0), out.get("pss", 0)


class NioBot:
    """The baseline: bench/nio_bot.py (matrix-nio + sqlite) as a process."""

    def __init__(self, hs, workdir):
        self.hs = hs
        self.dir = workdir
        self.db = os.path.join(workdir, "nio.db")
        self.proc = None

    def login(self):
        pass

    def start(self):
        self.err = open(os.path.join(self.dir, "nio.stderr"), "a")
        self.proc = subprocess.Popen(
            [PY, NIO_BOT, self.hs.base, "@scribe:localhost", "pw-scribe", self.db],
            stdout=self.err, stderr=self.err)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.err.close()

    def records(self):
        if not os.path.exists(self.db):
            return 0
        db = sqlite3.connect(self.db, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM todos").fetchone()[0]
        finally:
            db.close()


class Setup:
    """A homeserver with alice, bob and the bot, and n rooms the bot joined."""

    def __init__(self, rooms, bot="scribe", tls=False):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="scribe-bench-")
        self.cert = make_cert(self.tmp) if tls else None
        self.hs = Homeserver(users=("alice", "bob", "scribe"), workdir=self.tmp,
                             tls=self.cert)
        self.hs.login("alice")
        self.hs.login("bob")
        if bot == "scribe":
            self.bot = Scribe(self.hs, self.tmp, "",
                              matrix_conf="ca_file = %s" % self.cert[0] if tls else "")
            self.bot.login()
        else:
            self.bot = NioBot(self.hs, self.tmp)
        self.rooms = []
        for i in range(rooms):
            rid = self.hs.call("POST", "/_test/create_room", {
                "user": "@alice:localhost", "preset": "private_chat", "name": "ops%d" % i,
                "invite": ["@bob:localhost"]})["room_id"]
            self.hs.join("bob", rid)
            self.rooms.append(rid)
        self.bot.start()
        for rid in self.rooms:
            self.hs.invite("alice", rid, "scribe")
        wait_for(self.all_joined, timeout=120, what="the bot to join %d rooms" % rooms,
                 interval=0.2)

    def all_joined(self):
        st = self.hs.call("GET", "/_test/state")
        mine = st["users"]["@scribe:localhost"]["rooms"]
        return all(mine.get(r) == "join" for r in self.rooms)

    def count(self, since_pos):
        return self.hs.call("POST", "/_test/bench/count",
                            {"sender": "@scribe:localhost", "since_pos": since_pos})

    def close(self):
        import shutil
        try:
            self.bot.stop()
        finally:
            self.hs.stop()
            if os.environ.get("SCRIBE_KEEP_TMP") is None:
                shutil.rmtree(self.tmp, ignore_errors=True)


def settle(s, pos, want, timeout):
    """Wait until the bot sent `want` messages after pos; then make sure
    no more follow (a duplicate reply would). Returns the count reply."""
    deadline = time.monotonic() + timeout
    c = s.count(pos)
    while c["count"] < want and time.monotonic() < deadline:
        time.sleep(0.05)
        c = s.count(pos)
    return c


def run_backlog(s, name, events, args, stored_fn, stored_before=0):
    """Hold the bot's syncs, give the homeserver the backlog `events`
    (one reply expected each) in bulk, release, and time until the last
    reply; print the summary line. stored_fn() counts the bot's records;
    stored_before of them existed before the backlog. 0 when every
    command got exactly one reply and one record."""
    time.sleep(1.0)  # the bot is idle in its long-poll
    s.hs.hold_sync("scribe", True)
    pos0 = s.count(0)["pos"]
    for i in range(0, len(events), 1000):
        s.hs.inject(events[i:i + 1000])
    bot_pid, hs_pid = s.bot.proc.pid, s.hs.proc.pid
    bot_cpu0, hs_cpu0 = cpu_seconds(bot_pid), cpu_seconds(hs_pid)
    t0 = time.time()
    s.hs.hold_sync("scribe", False)
    c = settle(s, pos0, len(events), args.timeout)
    bot_cpu1, hs_cpu1 = cpu_seconds(bot_pid), cpu_seconds(hs_pid)
    secs = c["last_ts"] / 1000.0 - t0
    time.sleep(1.0)  # a duplicate reply would come now
    c2 = s.count(pos0)
    peak, cur = rss_kb(bot_pid)
    anon, _ = mem_detail_kb(bot_pid)
    stored = stored_fn() - stored_before
    n = len(events)
    ok = c["count"] == n and c2["count"] == n and stored == n
    print("bench %s commands=%d rooms=%d seconds=%.3f per_second=%.0f replies=%d "
          "records=%d bot_cpu_s=%.2f hs_cpu_s=%.2f bot_peak_rss_kb=%d bot_rss_kb=%d "
          "bot_anon_rss_kb=%d%s" % (
              name, n, len(s.rooms), secs, n / secs if secs > 0 else 0, c2["count"], stored,
              bot_cpu1 - bot_cpu0, hs_cpu1 - hs_cpu0, peak, cur, anon,
              "" if ok else " FAILED=1"), flush=True)
    return 0 if ok else 1


def scribe_todos(s):
    return lambda: sum(1 for r in s.bot.records() if r["kind"] == "todo")


def ingest(args):
    s = Setup(args.rooms, args.bot, tls=args.tls)
    try:
        events = [{"room_id": s.rooms[i % len(s.rooms)], "sender": "@alice:localhost",
                   "type": "m.room.message",
                   "content": {"msgtype": "m.text",
                               "body": "!todo @bob check disk %d on web%d" % (i, i % 7)}}
                  for i in range(args.commands)]
        if args.bot == "nio":
            return run_backlog(s, "ingest-plain-nio", events, args, s.bot.records)
        return run_backlog(s, "ingest-plain-tls" if args.tls else "ingest-plain", events, args,
                           scribe_todos(s))
    finally:
        s.close()


def latency(args):
    s = Setup(1)
    try:
        time.sleep(0.5)
        lat = []
        for i in range(args.commands):
            r = s.hs.call("POST", "/_test/bench/ping", {
                "room_id": s.rooms[0], "sender": "@alice:localhost",
                "body": "!todo @bob check disk %d" % i, "reply_from": "@scribe:localhost",
                "timeout_ms": 10000})
            lat.append(r["latency_us"] / 1000.0)
        lat.sort()
        n = len(lat)
        print("bench latency-plain commands=%d median_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
              % (n, lat[n // 2], lat[int(n * 0.90)], lat[min(n - 1, int(n * 0.99))], lat[-1]),
              flush=True)
        return 0
    finally:
        s.close()


def memory(args):
    s = Setup(args.rooms, tls=args.tls)
    try:
        time.sleep(args.idle)
        peak, cur = rss_kb(s.bot.proc.pid)
        anon, pss = mem_detail_kb(s.bot.proc.pid)
        build = args.build + (" tls=1" if args.tls else "")
        print("bench memory-idle build=%s rooms=%d peak_rss_kb=%d rss_kb=%d anon_rss_kb=%d "
              "pss_kb=%d" % (build, args.rooms, peak, cur, anon, pss), flush=True)
        # The floor: the same four libraries, initialised and used once
        # by a program that does nothing else (bench/rss_floor.c).
        floor = os.path.join(os.path.dirname(os.environ["SCRIBE_BIN"]), "bench", "rss_floor")
        if os.path.exists(floor):
            out = subprocess.run([floor, s.hs.base + "/_matrix/client/versions",
                                  os.path.join(s.tmp, "floor.db")] +
                                 ([s.cert[0]] if args.tls else []),
                                 capture_output=True, text=True, timeout=30)
            line = out.stdout.strip()
            if out.returncode == 0 and line.startswith("bench memory-floor"):
                line = line.replace("memory-floor", "memory-floor build=" + build, 1)
                print(line + " own_rss_kb=%d" % (cur - int(line.split(" rss_kb=")[1].split()[0])),
                      flush=True)
            else:
                print("bench memory-floor error=%r" % (out.stderr.strip() or line), flush=True)
        return 0
    finally:
        s.close()


async def _e2ee_backlog(base, tmp, rooms, commands):
    """alice's nio client: share a Megolm session with everyone in each
    room and return the encrypted contents of the commands, by room."""
    from nio import AsyncClient, AsyncClientConfig
    cfg = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
    path = os.path.join(tmp, "alice-nio")
    os.makedirs(path, exist_ok=True)
    c = AsyncClient(base, "@alice:localhost", store_path=path, config=cfg)
    try:
        r = await c.login("pw-alice", device_name="alice (nio bench)")
        if not hasattr(r, "access_token"):
            raise RuntimeError("nio login: %r" % r)
        await c.keys_upload()
        await c.sync(timeout=0, full_state=True)
        await c.keys_query()
        out = {}
        for rid in rooms:
            r = await c.share_group_session(rid, ignore_unverified_devices=True)
            sess = c.olm.outbound_group_sessions[rid]
            sess.max_messages = 10 ** 9   # one session for the whole backlog
            out[rid] = []
        for i in range(commands):
            rid = rooms[i % len(rooms)]
            out[rid].append(c.olm.group_encrypt(rid, {
                "type": "m.room.message",
                "content": {"msgtype": "m.text", "body": "!todo @alice check disk %d" % i}}))
        return out
    finally:
        await c.close()


def ingest_e2ee(args):
    import asyncio
    s = Setup(0)
    name = "ingest-e2ee"
    try:
        # encrypted rooms with alice and scribe
        for i in range(args.rooms):
            rid = s.hs.call("POST", "/_test/create_room", {
                "user": "@alice:localhost", "preset": "private_chat", "name": "sec%d" % i,
                "initial_state": [{"type": "m.room.encryption", "state_key": "",
                                   "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]})["room_id"]
            s.rooms.append(rid)
            s.hs.invite("alice", rid, "scribe")
        wait_for(s.all_joined, timeout=120, what="scribe to join", interval=0.2)

        def has_keys():
            st = s.hs.call("GET", "/_test/state")["users"]["@scribe:localhost"]["devices"]
            return any(d["has_device_keys"] for d in st.values())
        try:
            wait_for(has_keys, timeout=20, what="scribe to upload device keys")
        except AssertionError:
            print("bench %s pending=1 reason=scribe-uploads-no-device-keys" % name, flush=True)
            return 0
        enc = asyncio.run(asyncio.wait_for(
            _e2ee_backlog(s.hs.base, s.tmp, s.rooms, args.commands + 1), 600))
        # a probe: one command, answered?
        probe_room = s.rooms[0]
        pos0 = s.count(0)["pos"]
        s.hs.inject([{"room_id": probe_room, "sender": "@alice:localhost",
                      "type": "m.room.encrypted", "content": enc[probe_room].pop()}])
        if settle(s, pos0, 1, 20)["count"] < 1:
            print("bench %s pending=1 reason=no-reply-to-an-encrypted-command" % name,
                  flush=True)
            return 0
        events = [{"room_id": rid, "sender": "@alice:localhost", "type": "m.room.encrypted",
                   "content": content} for rid in s.rooms for content in enc[rid]]
        return run_backlog(s, name, events, args, scribe_todos(s), stored_before=1)
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("ingest", "ingest-e2ee", "latency", "memory"))
    ap.add_argument("--bot", choices=("scribe", "nio"), default="scribe")
    ap.add_argument("--commands", type=int)
    ap.add_argument("--rooms", type=int)
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--build", default="system",
                    help="memory: which build $SCRIBE_BIN is (system or lean), for the line")
    ap.add_argument("--tls", action="store_true",
                    help="memory, ingest: serve the homeserver over https")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    if args.tls and (args.bot != "scribe" or args.what not in ("ingest", "memory")):
        ap.error("--tls is for scribe's ingest and memory")
    if args.what in ("ingest", "ingest-e2ee"):
        args.commands = args.commands or 10000
        args.rooms = args.rooms or 50
        return ingest(args) if args.what == "ingest" else ingest_e2ee(args)
    if args.what == "latency":
        args.commands = args.commands or 1000
        return latency(args)
    args.rooms = args.rooms or 100
    return memory(args)


if __name__ == "__main__":
    harness.SCRIBE = os.path.abspath(os.environ["SCRIBE_BIN"])
    sys.exit(main())
