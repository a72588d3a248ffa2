# SPDX-License-Identifier: MIT
"""Robustness at volume, with the real binary (issue 7):

- 10,000 commands while the homeserver fails 20% of scribe's requests
  (500, 502, 429, connection resets before and after handling, stalls):
  every command recorded once and answered once.
- 100 SIGKILLs at random points while scribe works through a backlog:
  afterwards no command is lost and none is recorded or answered twice.

Both are bounded: the fault run by a deadline, the kill loop by its count.
SCRIBE_ROBUST_COMMANDS / SCRIBE_ROBUST_KILLS shrink them for a quick try."""
import os
import random
import signal
import time

from harness import World, check, expect, finish

COMMANDS = int(os.environ.get("SCRIBE_ROBUST_COMMANDS", "10000"))
KILLS = int(os.environ.get("SCRIBE_ROBUST_KILLS", "100"))
worlds = []


def commands(w, prefix, n, batch=250, pause=0.0):
    texts = ["!todo @bob %s %d" % (prefix, i) for i in range(n)]
    ids = []
    for i in range(0, n, batch):
        ids += w.inject_commands("alice", texts[i:i + batch])
        if pause:
            time.sleep(pause)
    w.texts = {e: t.split(" ", 2)[2] for e, t in zip(ids, texts)}
    return ids


def t_faults_20_percent():
    w = World(users=("alice", "bob"), matrix_conf="retry_min_ms = 5")
    worlds.append(w)
    hs = w.hs
    mark = len(hs.requests())
    hs.faults(rate=0.2, seed=11, kinds=["500", "502", "429", "reset", "reset_after", "stall"],
              stall_ms=50, retry_after_ms=10)
    start = time.monotonic()
    try:
        ids = commands(w, "fault", COMMANDS, pause=0.05)
        w.expect_exactly_once(ids, timeout=900, texts=w.texts)
    finally:
        hs.faults()
    mine = hs.requests()[mark:]
    faults = [r for r in mine if r.get("fault")]
    expect(len(faults) >= len(mine) * 0.1, "only %d faults in %d requests" % (len(faults), len(mine)))
    print("# %d commands, %d requests, %d faults, %.1fs" % (
        len(ids), len(mine), len(faults), time.monotonic() - start))


def t_kill_loop():
    w = World(users=("alice", "bob"))
    worlds.append(w)
    expect(w.scribe.stop() == 0, "clean stop")
    rng = random.Random(5)
    ids, texts = [], {}
    partial = 0
    start = time.monotonic()
    for k in range(KILLS):
        # new work arrives before every start, so each kill has some left
        ids += commands(w, "crash %d" % k, 100)
        texts.update(w.texts)
        w.scribe.start()
        time.sleep(rng.uniform(0.0, 0.1))
        w.scribe.kill(signal.SIGKILL)
        partial += w.record_count() < len(ids)
    w.texts = texts
    w.scribe.start()
    w.expect_exactly_once(ids, timeout=300, texts=w.texts)
    expect(partial >= KILLS // 4, "only %d of %d kills landed while work was left" % (
        partial, KILLS))
    print("# %d kills (%d with work left), %d commands, %.1fs" % (
        KILLS, partial, len(ids), time.monotonic() - start))


for name, fn in [("%d commands at a 20%% fault rate, each exactly once" % COMMANDS,
                  t_faults_20_percent),
                 ("%d SIGKILLs while ingesting: no loss, no duplicate" % KILLS, t_kill_loop)]:
    check(name, fn)
for w in worlds:
    w.close()
finish()
