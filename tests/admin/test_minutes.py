#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_minutes.py - `scribe export --format minutes` as an admin runs
it, against golden files: the meetings of tests/data/minutes/NAME.jsonl
(seed 000's infrastructure meeting, a Template A strategy meeting, a
Template B operational review; written by tests/unit/test_minutes.c from
the NAME.chat conversations) are imported into a fresh store, and the
minutes export must be the files of tests/data/minutes/NAME/ byte for
byte. The JSON round trip keeps what the minutes need (lines said, late
arrivals, withdrawn notes, chairs, carried items), a re-export touches
nothing, [meeting] late_after reaches the export, and a link an import
brings with a javascript: address stays text.
Prints `ok - name` / `not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_minutes.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adminlib import contains, eq, exit_status, run, test, tmpdir  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "minutes")
GOLDEN = {"seed000": "America/Toronto", "strategy": "UTC", "review": "UTC"}
tmp = tmpdir("scribe-minutes-")


def read_tree(d):
    out = {}
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            out[f] = fh.read()
    return out


def imported(name):
    """A fresh store holding tests/data/minutes/NAME.jsonl."""
    store = os.path.join(tmp, name + ".db")
    if not os.path.exists(store):
        p = run("import", "--store", store, os.path.join(DATA, name + ".jsonl"))
        eq(p.returncode, 0, "import %s: %s" % (name, p.stderr))
    return store


def minutes(store, out, tz, *extra):
    p = run("export", "--format", "minutes", "--store", store, "--tz", tz,
            "-o", out, *extra)
    eq(p.returncode, 0, "export exit (stderr %r)" % p.stderr)
    return read_tree(out)


def same_as_golden(name):
    got = minutes(imported(name), os.path.join(tmp, name), GOLDEN[name])
    want = read_tree(os.path.join(DATA, name))
    eq(sorted(got), sorted(want), "%s: files" % name)
    for f in want:
        if got[f] != want[f]:
            g, w = got[f].decode(), want[f].decode()
            i = next((k for k in range(min(len(g), len(w))) if g[k] != w[k]),
                     min(len(g), len(w)))
            raise AssertionError("%s/%s differs at %d: got %r, want %r" % (
                name, f, i, g[max(0, i - 40):i + 80], w[max(0, i - 40):i + 80]))


@test
def seed000_infrastructure_meeting_matches_golden():
    same_as_golden("seed000")


@test
def template_a_strategy_meeting_matches_golden():
    same_as_golden("strategy")


@test
def template_b_review_meeting_matches_golden():
    same_as_golden("review")


@test
def seed000_shape():
    files = read_tree(os.path.join(DATA, "seed000"))
    eq(sorted(files), ["2019-06-14-m1-infrastructure-and-operations.md",
                       "2019-06-28-m2-infrastructure-and-operations.md"], "files")
    m = files["2019-06-28-m2-infrastructure-and-operations.md"].decode()
    for part in ("Time: 15:00-16:00 America/Toronto  \nAttending:\n- dc\n- elon\n"
                 "- yurko\n- patcon (15m late)\n- ben\n\nNotetaker: dc\n",
                 "## Open from M1\n\n- [ ] elon: draft the services inventory (T1)\n",
                 "## Follow Up\n\n### Actionable Items\n\n- [ ] dc: record voicemail for Hypha",
                 "- [ ] patcon/dc: add link shortner to the handbook",
                 "## People present (lines said)\n\n- dc ("):
        contains(m, part, "seed 000 minutes")


@test
def template_a_shape():
    m = list(read_tree(os.path.join(DATA, "strategy")).values())[0].decode()
    order = ["# Meeting Record: Checkout service migration\n**Date:** 2026-11-23",
             "**Attendees:** ", "**Facilitator:** elon, dc", "## 1. Objectives\n",
             "## 2. Key Requirements (The \"What\")\n*   [ ] Requirement 1: Must "
             "support 10k concurrent users\n",
             "## 3. Technical Strategy & Methods (The \"How\")\n*   **Infrastructure:** "
             "AWS ECS Fargate\n",
             "## 4. Decisions Made\n| Decision | Rationale | Status |\n| :--- | :--- | "
             ":--- |\n| Use Kubernetes | Need auto-scaling flexibility | **Approved** |\n",
             "## 5. Action Items\n- [ ] yurko will research service mesh options by "
             "2026-11-27"]
    at = 0
    for part in order:
        k = m.find(part, at)
        if k < 0:
            raise AssertionError("Template A lacks %r after byte %d:\n%s" % (part, at, m))
        at = k + len(part)


@test
def template_b_shape():
    files = read_tree(os.path.join(DATA, "review"))
    m = files["2026-11-23-m2-operational-review-2026-11-23.md"].decode()
    order = ["# Operational Review: 2026-11-23\n**Attendees:** ",
             "## 1. Metrics Review\n*   **Uptime:** ",
             "*   **Mean Time to Recovery (MTTR):** 2h (1 incident resolved)",
             "## 2. Incident Summary\n*   *Were there any outages?* Yes\n"
             "    *   I1: db primary down (critical, resolved after 2h); root cause: "
             "replaced the failed disk",
             "## 3. Discussion Points\n*   Incident review: db primary\n",
             "## 4. Action Items\n- [ ] elon to fix the disk alerting by 2026-11-27 (T1)"]
    at = 0
    for part in order:
        k = m.find(part, at)
        if k < 0:
            raise AssertionError("Template B lacks %r after byte %d:\n%s" % (part, at, m))
        at = k + len(part)


@test
def json_round_trip_keeps_the_meeting():
    for name in GOLDEN:
        want = open(os.path.join(DATA, name + ".jsonl")).read()
        p = run("export", "--format", "json", "--store", imported(name))
        eq(p.returncode, 0, "export json")
        eq(p.stdout, want, "%s: export of the import" % name)
    meetings = [json.loads(l) for l in open(os.path.join(DATA, "seed000.jsonl"))
                if '"kind":"meeting"' in l]
    m2 = meetings[1]
    people = {a["user_id"]: a for a in m2["attendance"]}
    eq(people["@patcon:example.org"]["first"], "2019-06-28T19:15:00Z", "patcon first line")
    eq(people["@ben:example.org"]["lines"], 0, "ben said nothing")
    eq([n["text"] for n in m2["notes"] if n["kind"] == "carry"], ["T1"], "carried")


@test
def reexport_touches_nothing():
    d = os.path.join(tmp, "again")
    first = minutes(imported("strategy"), d, "UTC")
    stamps = {f: os.stat(os.path.join(d, f)).st_mtime_ns for f in first}
    again = minutes(imported("strategy"), d, "UTC")
    eq(again, first, "bytes")
    eq({f: os.stat(os.path.join(d, f)).st_mtime_ns for f in again}, stamps, "mtimes")


@test
def late_after_comes_from_the_config():
    conf = os.path.join(tmp, "bot.conf")
    with open(conf, "w") as f:
        f.write("[meeting]\nlate_after = 1h\n")
    files = minutes(imported("seed000"), os.path.join(tmp, "late"), "America/Toronto",
                    "-c", conf)
    m = files["2019-06-28-m2-infrastructure-and-operations.md"].decode()
    contains(m, "- patcon\n", "not late within the hour")
    assert "late)" not in m, m


@test
def hostile_link_stays_text():
    store = os.path.join(tmp, "hostile.db")
    rec = {"id": "M1", "room_id": "!ops:example.org", "author": "@a:example.org",
           "text": "sync", "status": "ended", "created": "2026-11-02T09:00:00Z",
           "closed": "2026-11-02T10:00:00Z",
           "notes": [{"ts": "2026-11-02T09:05:00Z", "author": "@a:example.org",
                      "kind": "link", "text": "javascript:alert(1) click me"},
                     {"ts": "2026-11-02T09:06:00Z", "author": "@a:example.org",
                      "kind": "link", "text": "https://x.org/a)b<c>[d] ok](y"}],
           "attendees": ["@a:example.org"]}
    src = os.path.join(tmp, "hostile.jsonl")
    with open(src, "w") as f:
        f.write(json.dumps(rec) + "\n")
    eq(run("import", "--store", store, src).returncode, 0, "import")
    m = list(minutes(store, os.path.join(tmp, "hostile"), "UTC").values())[0].decode()
    contains(m, "## Links\n\n- javascript:alert(1) click me (a)\n", "no javascript: link")
    contains(m, "- [ok\\](y](https://x.org/a%29b%3Cc%3E%5Bd%5D) (a)\n", "encoded target")


sys.exit(exit_status())
