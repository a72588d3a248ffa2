#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_export.py - `scribe export` and `scribe import` as an admin uses
them: every format from a store filled through the real command engine
(`scribe console`), what the files say, RFC 4180 quoting, ADR numbering
and supersede links, minutes in the seed layout, idempotent re-exports,
and the lossless JSON round trip; every format on stores with no open
item (run against the sanitizer build by `make check`), an export killed
mid-file leaving nothing behind, and hostile records (HTML, javascript:
links, '|' and line breaks, 16,000 '<', spreadsheet formulas, a title of
../../etc/x, a room id with backticks, a stranger's room with the team
room's slug) that must not change what the files say or where they go.
Prints `ok - name` / `not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_export.py
"""
import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adminlib import BIN, contains, eq, exit_status, run, test, tmpdir  # noqa: E402

# A team's week, typed in chat. alice (the console speaker) has power.
CHAT = r"""!todo @bob fix the 19" rack, then reload due:2030-12-01 critical #infra
!decide use linear because it is fast, and cheap
!propose use jira
!log nginx upgraded to 1.25 #web1
!meeting start weekly sync
!topic tracker
!info we need a tracker
#todo @bob write doc
#decision we keep the wiki
!meeting end
!supersede D1 use jira instead
!incident major db down
!done T1 fixed it
!todo @alice @bob shared | pipe task
"""


tmp = tmpdir("scribe-admin-")
STORE = os.path.join(tmp, "team.db")
run("console", "--store", STORE, "--members", "bob", stdin=CHAT, check=True)


def read_tree(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = fh.read()
    return out


def export_json(store):
    return run("export", "--format", "json", "--store", store,
               check=True).stdout


@test
def json_has_every_record_with_documented_fields():
    lines = export_json(STORE).splitlines()
    recs = [json.loads(l) for l in lines]
    eq([r["id"] for r in recs],
       ["T1", "D1", "D2", "C1", "M1", "T2", "D3", "D4", "I1", "T3"], "ids")
    fields = ["id", "kind", "num", "room_id", "author", "event_id", "text",
              "detail", "status", "severity", "due", "created", "updated",
              "closed", "meeting", "superseded_by", "withdrawn", "assignees",
              "tags", "votes", "history", "notes", "attendees"]
    eq(list(recs[0].keys()), fields, "field order")
    t1 = recs[0]
    eq(t1["status"], "done", "T1 status")
    eq(t1["detail"], "fixed it", "T1 note")
    eq(t1["assignees"], ["@bob:example.org"], "assignees")
    eq(t1["tags"], ["infra"], "tags")
    eq(t1["severity"], "critical", "severity")
    eq(t1["due"], "2030-12-01T23:59:59Z", "due")
    eq([h["field"] for h in t1["history"]][0], "created", "history")
    contains([h["field"] for h in t1["history"]], "status", "history")
    d1 = recs[1]
    eq(d1["superseded_by"], "D4", "superseded_by")
    eq(d1["status"], "superseded", "D1 status")
    m1 = recs[4]
    eq(m1["attendees"], ["@alice:example.org"], "attendees")
    eq([(n["kind"], n["text"]) for n in m1["notes"]],
       [("topic", "tracker"), ("info", "we need a tracker")], "notes")
    eq(recs[5]["meeting"], "M1", "T2 made in the meeting")


@test
def json_round_trip_is_lossless():
    a = export_json(STORE)
    fresh = os.path.join(tmp, "fresh.db")
    src = os.path.join(tmp, "a.jsonl")
    with open(src, "w") as f:
        f.write(a)
    p = run("import", "--store", fresh, src)
    eq(p.returncode, 0, "import exit: " + p.stderr)
    contains(p.stdout, "imported 10 records", "import says")
    eq(export_json(fresh), a, "re-export")
    # every other format is identical too
    for fmt in ("csv", "md", "adr", "minutes"):
        d1, d2 = os.path.join(tmp, "rt1-" + fmt), os.path.join(tmp, "rt2-" + fmt)
        run("export", "--format", fmt, "--store", STORE, "-o", d1, check=True)
        run("export", "--format", fmt, "--store", fresh, "-o", d2, check=True)
        eq(read_tree(d2), read_tree(d1), fmt + " after import")


@test
def import_refuses_duplicates_all_or_nothing():
    fresh = os.path.join(tmp, "dup.db")
    a = export_json(STORE)
    run("import", "--store", fresh, stdin=a, check=True)
    before = export_json(fresh)
    p = run("import", "--store", fresh, stdin=a)
    eq(p.returncode, 1, "exit")
    contains(p.stderr, "-:1: record T1 already exists", "stderr")
    eq(export_json(fresh), before, "store unchanged")


@test
def import_reports_bad_line():
    fresh = os.path.join(tmp, "bad.db")
    good = export_json(STORE).splitlines()[0]
    bad = good + "\n" + '{"id": "X1", "room_id": "!r:x"}\n'
    p = run("import", "--store", fresh, stdin=bad)
    eq(p.returncode, 1, "exit")
    contains(p.stderr, "-:2: 'id' X1 is not a record id", "stderr")
    # a failed import creates nothing (issue 20: it left an empty store)
    eq(sorted(f for f in os.listdir(tmp) if f.startswith("bad.db")), [],
       "no store left behind")
    p = run("import", "--store", fresh, stdin="{nope\n")
    contains(p.stderr, "-:1: not JSON", "stderr")
    eq(os.path.exists(fresh), False, "no store left behind")
    # into a store that was there, a failed import changes nothing
    run("import", "--store", fresh, stdin=good + "\n", check=True)
    before = export_json(fresh)
    p = run("import", "--store", fresh, stdin='{"id": "T99"}\n')
    eq(p.returncode, 1, "exit")
    eq(export_json(fresh), before, "the store is as it was")


@test
def import_accepts_minimal_handwritten_records():
    fresh = os.path.join(tmp, "min.db")
    line = json.dumps({"id": "D7", "room_id": "!r:x", "author": "@a:x",
                       "text": "adopt ADRs", "created": 1700000000})
    run("import", "--store", fresh, stdin=line + "\n", check=True)
    rec = json.loads(export_json(fresh))
    eq(rec["status"], "accepted", "default status")
    eq(rec["created"], "2023-11-14T22:13:20Z", "unix seconds accepted")
    eq(rec["updated"], rec["created"], "updated defaults to created")


@test
def csv_is_rfc4180():
    d = os.path.join(tmp, "csv")
    run("export", "--format", "csv", "--store", STORE, "-o", d, check=True)
    eq(sorted(os.listdir(d)), ["changes.csv", "decisions.csv",
                               "incidents.csv", "meetings.csv", "reminders.csv",
                               "todos.csv"],
       "files")
    raw = open(os.path.join(d, "todos.csv"), "rb").read()
    contains(raw, b',"fix the 19"" rack, then reload",', "quotes doubled")
    eq(raw.count(b"\r\n"), 4, "CRLF line ends (header + 3)")
    rows = list(csv.DictReader(io.StringIO(raw.decode(), newline="")))
    eq(rows[0]["text"], 'fix the 19" rack, then reload', "text")
    eq(rows[0]["assignees"], "@bob:example.org", "assignees")
    eq(rows[2]["assignees"], "@alice:example.org @bob:example.org", "two")
    eq(rows[1]["meeting"], "M1", "meeting")
    dec = list(csv.DictReader(open(os.path.join(d, "decisions.csv"),
                                   newline="")))
    eq(dec[0]["detail"], "it is fast, and cheap", "rationale")
    eq(dec[0]["superseded_by"], "D4", "successor")


@test
def csv_embedded_newline_round_trips():
    fresh = os.path.join(tmp, "nl.db")
    text = 'line one\nline "two", with comma\r\nthree'
    line = json.dumps({"id": "C1", "room_id": "!r:x", "author": "@a:x",
                       "text": text, "created": "2026-01-02T03:04:05Z"})
    run("import", "--store", fresh, stdin=line + "\n", check=True)
    p = subprocess.run([BIN, "export", "--format", "csv", "--kind", "change",
                        "--store", fresh], capture_output=True, check=True)
    rows = list(csv.reader(io.StringIO(p.stdout.decode(), newline="")))
    eq(len(rows), 2, "header + 1 row")
    eq(rows[1][7], text, "text survives")


@test
def csv_to_stdout_needs_one_kind():
    p = run("export", "--format", "csv", "--store", STORE)
    eq(p.returncode, 2, "exit")
    contains(p.stderr, "--kind", "stderr")


@test
def adr_numbering_and_supersede_links():
    d = os.path.join(tmp, "adr")
    run("export", "--format", "adr", "--store", STORE, "-o", d, check=True)
    eq(sorted(os.listdir(d)), ["0001-use-linear.md", "0002-use-jira.md",
                               "0003-we-keep-the-wiki.md",
                               "0004-use-jira-instead.md"], "files")
    one = open(os.path.join(d, "0001-use-linear.md")).read()
    for part in ("# 1. use linear\n\nDate: ", "## Status\n\nSuperseded\n",
                 "Superseded by [4. use jira instead](0004-use-jira-instead.md)",
                 "## Context\n\nBecause it is fast, and cheap",
                 "## Decision\n\nuse linear", "## Consequences"):
        contains(one, part, "0001")
    four = open(os.path.join(d, "0004-use-jira-instead.md")).read()
    contains(four, "Supersedes [1. use linear](0001-use-linear.md)", "0004")
    contains(four, "## Status\n\nAccepted", "0004")
    three = open(os.path.join(d, "0003-we-keep-the-wiki.md")).read()
    contains(three, "during meeting M1", "0003")


@test
def reexport_leaves_unchanged_files_alone():
    # adr and minutes: a file per record, rewritten only when it changed
    past = 1000000000
    for fmt in ("adr", "minutes"):
        d = os.path.join(tmp, fmt + "-again")
        run("export", "--format", fmt, "--store", STORE, "-o", d, check=True)
        names = sorted(os.listdir(d))
        paths = [os.path.join(d, n) for n in names]
        for p in paths:
            os.utime(p, (past, past))
        run("export", "--format", fmt, "--store", STORE, "-o", d, check=True)
        eq([os.stat(p).st_mtime for p in paths], [past] * len(paths),
           fmt + ": time stamps after a re-export")
        good = open(paths[-1]).read()
        with open(paths[-1], "a") as f:
            f.write("edited by hand\n")
        run("export", "--format", fmt, "--store", STORE, "-o", d, check=True)
        eq(open(paths[-1]).read(), good, fmt + ": edited file restored")
        eq(sorted(os.listdir(d)), names, fmt + ": files")


@test
def adr_name_taken_by_a_folder_is_an_error():
    d = os.path.join(tmp, "adr-blocked")
    os.makedirs(os.path.join(d, "0002-use-jira.md"))
    p = run("export", "--format", "adr", "--store", STORE, "-o", d)
    eq(p.returncode, 1, "exit")
    eq(p.stderr, "scribe: error: cannot write '%s/0002-use-jira.md': it is not a "
       "regular file\n" % d, "stderr")
    assert os.path.isdir(os.path.join(d, "0002-use-jira.md")), "folder kept"


@test
def minutes_follow_the_seed_layout():
    d = os.path.join(tmp, "minutes")
    run("export", "--format", "minutes", "--store", STORE, "-o", d,
        check=True)
    files = os.listdir(d)
    eq(len(files), 1, "one meeting")
    assert files[0].endswith("-m1-weekly-sync.md"), files[0]
    m = open(os.path.join(d, files[0])).read()
    for part in ("weekly sync\n", "Time: ", "Attending:\n- alice\n",
                 "## Agenda\n\n- tracker\n", "## Notes\n\n",
                 "alice: we need a tracker", "## Decisions Made",
                 "| D3 |", "## Follow Up\n\n### Actionable Items\n\n"
                 "- [ ] bob: write doc (T2)"):
        contains(m, part, "minutes")


@test
def md_handbook_page_per_room():
    d = os.path.join(tmp, "md")
    run("export", "--format", "md", "--store", STORE, "-o", d, check=True)
    eq(os.listdir(d), ["ops-example-org.md"], "files")
    page = open(os.path.join(d, "ops-example-org.md")).read()
    for part in ("# Handbook: !ops:example.org", "## Open action items",
                 "### bob (@bob:example.org)\n\n- [ ] bob: write doc (T2)",
                 "## Decision log", "| D1 | ", "**Superseded**",
                 "## Change log", "C1 alice: nginx upgraded to 1.25 #web1"):
        contains(page, part, "handbook")
    assert "T1" not in page.split("## Decision log")[0], "done T1 listed open"
    p = run("export", "--format", "md", "--room", "!ops:example.org",
            "--store", STORE, check=True)
    eq(p.stdout, page, "--room to stdout")


@test
def reexport_is_idempotent():
    for fmt in ("json", "csv", "md", "adr", "minutes"):
        d = os.path.join(tmp, "idem-" + fmt)
        out = os.path.join(d, "x.jsonl") if fmt == "json" else d
        os.makedirs(d, exist_ok=True)
        run("export", "--format", fmt, "--store", STORE, "-o", out, check=True)
        first = read_tree(d)
        run("export", "--format", fmt, "--store", STORE, "-o", out, check=True)
        eq(read_tree(d), first, fmt)
        assert first, fmt + " wrote nothing"


@test
def filters_room_kind_since_until():
    recs = lambda *a: [json.loads(l)["id"] for l in run(
        "export", "--store", STORE, *a, check=True).stdout.splitlines()]
    eq(recs("--kind", "decision"), ["D1", "D2", "D3", "D4"], "--kind")
    eq(recs("--kind", "todo,incident"), ["T1", "T2", "I1", "T3"], "kinds")
    eq(recs("--room", "!other:example.org"), [], "--room")
    p = run("export", "--store", STORE, "--room", "no such room")
    eq(p.returncode, 4, "unknown room name exit")
    contains(p.stderr, "unknown room 'no such room'", "stderr")
    eq(recs("--since", "2000-01-01", "--kind", "change"), ["C1"], "--since")
    eq(recs("--until", "2000-01-01"), [], "--until")
    p = run("export", "--store", STORE, "--since", "someday")
    eq(p.returncode, 2, "bad date exit")
    contains(p.stderr, "bad date 'someday'", "stderr")


@test
def exit_codes_and_help():
    for sub in ("export", "import", "log", "db", "stats"):
        p = run(sub, "--help")
        eq(p.returncode, 0, sub + " --help")
        contains(p.stdout, "usage: scribe " + sub, sub)
    p = run("export", "--format", "pdf", "--store", STORE)
    eq(p.returncode, 2, "unknown format")
    contains(p.stderr, "scribe: error: unknown format 'pdf'", "stderr")
    p = run("export", "--store", os.path.join(tmp, "nope.db"))
    eq(p.returncode, 3, "missing store")
    contains(p.stderr, "does not exist", "stderr")
    assert not os.path.exists(os.path.join(tmp, "nope.db")), "created it"


@test
def output_to_a_fifo_is_written_in_place():
    # -o /dev/null or a FIFO must be written to, never replaced by a file
    fifo = os.path.join(tmp, "pipe")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    run("export", "--store", STORE, "-o", fifo, check=True)
    reader.join(10)
    eq(got[0], export_json(STORE), "what came through the FIFO")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced"


@test
def output_folder_error_gives_mkdir_reason():
    # the reason is mkdir's own (a full disk, a read-only or special file
    # system), not that of the stat scribe makes after it (which said "No
    # such file or directory" for all of them); sysfs refuses any mkdir
    target = "/sys/scribe-export-test"
    try:
        os.mkdir(target)
    except OSError as e:
        want = e.strerror
    else:
        os.rmdir(target)
        raise AssertionError("mkdir %s worked: no refusing folder here" % target)
    p = run("export", "--format", "md", "--store", STORE, "-o", target)
    eq(p.returncode, 1, "exit")
    contains(p.stderr, "cannot create directory '%s': %s" % (target, want), "stderr")


# ---- stores with nothing open: every format, under the sanitizers ----
#
# The suite's `make check` runs this file against the ASan/UBSan build: a
# sanitizer report there aborts scribe (exit status, and a half-written
# file or a *.tmp left behind), which these tests see.

FORMATS = ("json", "csv", "md", "adr", "minutes")


def rec(rid, text, room="!ops:example.org", author="@alice:example.org",
        created="2026-11-02T09:00:00Z", **kw):
    r = {"id": rid, "room_id": room, "author": author, "text": text,
         "created": created}
    r.update(kw)
    return r


def import_store(name, records):
    """A store holding exactly records (JSON export fields)."""
    path = os.path.join(tmp, name + ".db")
    lines = "".join(json.dumps(r) + "\n" for r in records)
    run("import", "--store", path, stdin=lines, check=True)
    return path


def sanitizer_clean(p, what):
    for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
        assert bad not in p.stderr, "%s: %s" % (what, p.stderr[-1500:])


def temporaries(d):
    return sorted(os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs
                  if ".tmp" in f)


def export_to(store, fmt, out, *extra):
    """Export store in fmt to out (a file for json, else a folder): exit
    0, no sanitizer report, no temporary file left."""
    p = run("export", "--format", fmt, "--store", store, "-o", out, *extra)
    sanitizer_clean(p, fmt)
    eq(p.returncode, 0, "%s exit (stderr %r)" % (fmt, p.stderr))
    eq(temporaries(os.path.dirname(out) if fmt == "json" else out), [],
       fmt + ": temporary files")
    return p


NOTHING_OPEN = {
    # rooms and records, but no todo at all
    "no-todos": [
        rec("D1", "use linear", detail="it is fast"),
        rec("C1", "nginx upgraded", tags=["web1"]),
        rec("M1", "weekly sync", status="ended", closed="2026-11-02T10:00:00Z",
            notes=[{"ts": "2026-11-02T09:05:00Z", "author": "@alice:example.org",
                    "kind": "topic", "text": "tracker"}],
            attendees=["@alice:example.org"]),
        rec("I1", "db down", severity="major", room="!infra:example.org"),
    ],
    # an open todo, but nobody's
    "unassigned-open": [
        rec("T1", "someone rotate the keys"),
        rec("D1", "use linear"),
    ],
    # only done and dropped todos (assigned), a rejected proposal
    "done-dropped": [
        rec("T1", "fix the rack", status="done", assignees=["@bob:example.org"],
            closed="2026-11-03T09:00:00Z"),
        rec("T2", "write doc", status="dropped", assignees=["@bob:example.org"],
            closed="2026-11-03T09:00:00Z"),
        rec("D1", "use jira", status="rejected"),
    ],
    "empty": [],
}


@test
def every_format_on_stores_without_assigned_open_todos():
    for name, records in NOTHING_OPEN.items():
        store = import_store("nothing-open-" + name, records)
        base = os.path.join(tmp, "nothing-open-" + name)
        os.makedirs(base)
        for fmt in FORMATS:
            out = os.path.join(base, "all.jsonl" if fmt == "json" else fmt)
            export_to(store, fmt, out)
            if fmt == "json":
                eq(len(open(out).read().splitlines()), len(records),
                   name + ": json lines")
        pages = sorted(os.listdir(os.path.join(base, "md")))
        want = sorted({r["room_id"].strip("!").replace(":", "-")
                       .replace(".", "-") + ".md" for r in records})
        eq(pages, want, name + ": md pages")
        for page in pages:
            text = open(os.path.join(base, "md", page)).read()
            contains(text, "## Open action items\n", name + " " + page)
            if name == "unassigned-open":
                contains(text, "### Unassigned\n\n- [ ] someone rotate the "
                         "keys (T1, unassigned)\n", name)
            else:
                contains(text, "\nNo open action items.\n", name + " " + page)
        eq(sorted(os.listdir(os.path.join(base, "csv"))),
           ["changes.csv", "decisions.csv", "incidents.csv", "meetings.csv",
            "reminders.csv", "todos.csv"], name + ": csv files")
        # one room to standard output, also a room with no records at all
        for room in ("!ops:example.org", "!nobody:example.org"):
            p = run("export", "--format", "md", "--room", room,
                    "--store", store)
            sanitizer_clean(p, name + " md --room")
            eq(p.returncode, 0, name + " md --room exit: " + p.stderr)
            contains(p.stdout, "\nNo open action items.\n" if
                     name != "unassigned-open" or room != "!ops:example.org"
                     else "### Unassigned", name + " md --room " + room)
        # only todos asked for: the section alone
        out = os.path.join(base, "md-todo")
        export_to(store, "md", out, "--kind", "todo")


SLOW = float(os.environ.get("SCRIBE_TEST_SLOW", "1"))  # tests/valgrind


def wait_for_open_output(pid, d, timeout=30.0):
    """True once process pid has a file under d open."""
    end = time.monotonic() + timeout * SLOW
    while time.monotonic() < end:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except FileNotFoundError:
            return False
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith(d + "/"):
                return True
        time.sleep(0.0005)
    return False


@test
def killed_export_leaves_no_temporary_and_no_half_file():
    # a crash, an abort() from a sanitizer or kill -9 in the middle of
    # writing: the folder holds what it held before, nothing else
    records = [rec("C%d" % i, "change number %d %s" % (i, "x" * 200))
               for i in range(1, 20001)]
    store = import_store("big", records)
    for fmt in ("json", "csv"):
        d = os.path.join(tmp, "killed-" + fmt)
        os.makedirs(d)
        out = os.path.join(d, "all.jsonl") if fmt == "json" else d
        before = {}
        if fmt == "json":
            with open(out, "w") as f:
                f.write("the previous export\n")
            before = read_tree(d)
        p = subprocess.Popen([BIN, "export", "--format", fmt, "--store",
                              store, "-o", out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        caught = wait_for_open_output(p.pid, d)
        p.kill()
        p.wait()
        assert caught, fmt + ": the export ended before it could be killed"
        eq(read_tree(d), before, fmt + ": folder after kill -9")


@test
def failed_export_leaves_nothing_of_its_own():
    # a page name taken by a folder: the export stops, names it, and
    # leaves no temporary file; the folders of a failed export that it
    # made itself are removed again
    store = import_store("two-rooms", [rec("D1", "one"),
                                       rec("D2", "two", room="!w:example.org")])
    d = os.path.join(tmp, "md-blocked")
    os.makedirs(os.path.join(d, "w-example-org.md"))
    p = run("export", "--format", "md", "--store", store, "-o", d)
    sanitizer_clean(p, "md")
    eq(p.returncode, 1, "exit")
    eq(p.stderr, "scribe: error: cannot create '%s/w-example-org.md': Is a "
       "directory\n" % d, "stderr")
    eq(temporaries(d), [], "temporary files")
    assert os.path.isdir(os.path.join(d, "w-example-org.md")), "folder kept"
    fresh = os.path.join(tmp, "made-by-export")
    p = run("export", "--format", "csv", "--store", store, "-o",
            os.path.join(fresh, "sub", "x" * 300))
    eq(p.returncode, 1, "exit (name too long)")
    contains(p.stderr, "File name too long", "stderr")
    assert not os.path.exists(fresh), "the folders it made are left"


# ---- hostile content: whatever a record says, the export stays right ----

EVIL_USER = "@<img src=x onerror=alert(1)>:evil.org"  # historical grammar
TICK_ROOM = "!x`<img src=y onerror=alert(2)>`:evil.org"
HOSTILE = [
    rec("T1", "<script>alert(1)</script>", assignees=["@bob:example.org"]),
    rec("T2", '"><img src=x onerror=alert(1)>', assignees=[EVIL_USER],
        tags=["<b>x</b>"]),
    rec("D1", "[click me](javascript:alert(document.cookie))",
        detail="a | b\nsecond line | c"),
    rec("D2", "../../etc/x"),
    rec("D3", "/tmp/abs path"),
    rec("D4", "<" * 16000),
    rec("D5", "old way", status="superseded", superseded_by="D6"),
    rec("D6", "x](javascript:alert(1)) [y"),
    rec("C1", "=cmd|' /C calc'!A0", author='@=HYPERLINK("http://e/"):evil.org'),
    rec("C2", '+1, "quoted", -2', detail="@SUM(1+1)", tags=["web1"]),
    rec("M1", "sync\n# fake heading", room=TICK_ROOM, status="ended",
        closed="2026-11-02T10:00:00Z", attendees=[EVIL_USER],
        notes=[{"ts": "2026-11-02T09:05:00Z", "author": EVIL_USER,
                "kind": "info", "text": "<script>x</script>\n\n## Decisions Made"}]),
    # a stranger's room whose id has the team room's slug, stored later
    rec("D7", "intruder page", room="!OPS:example.org",
        created="2026-11-03T09:00:00Z"),
]


def unescaped(line, ch):
    """Positions of ch in line not escaped by an odd run of backslashes."""
    out = []
    for i, c in enumerate(line):
        if c == ch:
            k = i
            while k > 0 and line[k - 1] == "\\":
                k -= 1
            if (i - k) % 2 == 0:
                out.append(i)
    return out


def cells(row):
    """The cells of a Markdown table row, split at unescaped '|'."""
    cuts = unescaped(row, "|")
    return [row[a + 1:b].strip() for a, b in zip(cuts, cuts[1:])]


HOSTILE_STORE = None


def hostile_store():
    global HOSTILE_STORE
    if not HOSTILE_STORE:
        HOSTILE_STORE = import_store("hostile", HOSTILE)
    return HOSTILE_STORE


def md_lines_are_text(files):
    """No line of these Markdown files has a raw '<' or a '[' of the
    record's making: only scribe's check boxes and ADR links remain."""
    for name, data in files.items():
        for line in data.decode().split("\n"):
            if "``" in line:  # a code span (room ids), checked exactly
                continue
            for c in "<":
                assert not unescaped(line, c), "%s: raw %r in %r" % (
                    name, c, line[:200])
            own = line
            for mine in ("- [ ] ", "- [x] "):
                own = own.replace(mine, "", 1) if own.startswith(mine) else own
            if own.startswith(("Superseded by [", "Supersedes [")):
                own = own.split("[", 1)[1].rsplit("](", 1)[0]
            assert not unescaped(own, "["), "%s: raw '[' in %r" % (name, line[:200])


@test
def hostile_text_stays_text_in_markdown():
    d = os.path.join(tmp, "hostile-md")
    export_to(hostile_store(), "md", d)
    eq(sorted(os.listdir(d)), ["ops-example-org-2.md", "ops-example-org.md",
                               "x-img-src-y-onerror-alert-2-evil-org.md"],
       "pages: the stranger's room gets a name of its own")
    files = read_tree(d)
    md_lines_are_text(files)
    page = files["ops-example-org.md"].decode()
    lines = page.split("\n")
    contains(page, "# Handbook: !ops:example.org\n", "the team's page")
    contains(files["ops-example-org-2.md"].decode(),
             "# Handbook: !OPS:example.org\n", "the stranger's page")
    for want in (
            "- [ ] bob: \\<script>alert(1)\\</script> (T1)",
            "### \\<img src=x onerror=alert(1)> "
            "(@\\<img src=x onerror=alert(1)>:evil.org)",
            "- [ ] \\<img src=x onerror=alert(1)>: \">\\<img src=x "
            "onerror=alert(1)> (T2) #\\<b>x\\</b>",
            "- 2026-11-02 09:00 C2 alice: +1, \"quoted\", -2 #web1"):
        contains(lines, want, "handbook line")
    rows = [l for l in lines if l.startswith("| D")]
    eq([len(cells(r)) for r in rows], [5] * 6, "5 cells in every row")
    eq(cells(rows[0]), ["D1", "2026-11-02",
                        "\\[click me\\](javascript:alert(document.cookie))",
                        "a \\| b second line \\| c", "**Accepted**"], "D1")
    eq(cells(rows[3])[2], "\\<" * 16000, "16,000 '<' as text")
    room = [l for l in files["x-img-src-y-onerror-alert-2-evil-org.md"]
            .decode().split("\n") if l.startswith("The record of room")]
    eq(room, ["The record of room ``!x`<img src=y onerror=alert(2)>`:evil.org`` "
              "kept by scribe. Times are UTC."], "room id in a code span")
    # --room writes that room's page under the same name
    d2 = os.path.join(tmp, "hostile-md-room")
    export_to(hostile_store(), "md", d2, "--room", "!OPS:example.org")
    eq(os.listdir(d2), ["ops-example-org-2.md"], "--room page name")


@test
def hostile_text_stays_text_in_adr_and_minutes():
    base = os.path.join(tmp, "hostile-adr")
    d = os.path.join(base, "a", "b", "adr")
    export_to(hostile_store(), "adr", d)
    eq(sorted(os.listdir(d)), [
        "0001-click-me-javascript-alert-document-cookie.md", "0002-etc-x.md",
        "0003-tmp-abs-path.md", "0004-untitled.md", "0005-old-way.md",
        "0006-x-javascript-alert-1-y.md", "0007-intruder-page.md"], "ADR files")
    eq(sorted(os.listdir(base)), ["a"], "nothing beside the folder")
    eq(sorted(os.listdir(os.path.join(base, "a"))), ["b"], "nothing above it")
    files = read_tree(d)
    md_lines_are_text(files)
    one = files["0001-click-me-javascript-alert-document-cookie.md"].decode()
    contains(one, "# 1. \\[click me\\](javascript:alert(document.cookie))\n",
             "title")
    five = files["0005-old-way.md"].decode()
    contains(five, "Superseded by [6. x\\](javascript:alert(1)) \\[y]"
             "(0006-x-javascript-alert-1-y.md)\n", "a link scribe wrote")
    d = os.path.join(tmp, "hostile-minutes")
    export_to(hostile_store(), "minutes", d)
    files = read_tree(d)
    eq(list(files), ["2026-11-02-m1-sync-fake-heading.md"], "minutes file")
    md_lines_are_text(files)
    m = list(files.values())[0].decode().split("\n")
    for want in ("# 2026-11-02 sync # fake heading",
                 "Meeting M1 in ``!x`<img src=y onerror=alert(2)>`:evil.org``"
                 ", recorded by scribe.",
                 "- \\<img src=x onerror=alert(1)>",
                 "- 09:05 \\<img src=x onerror=alert(1)>: \\<script>x\\</script>"
                 "  ## Decisions Made"):
        contains(m, want, "minutes line")
    assert "## Decisions Made" not in m, "a note made a heading"


@test
def hostile_text_in_csv_is_quoted_and_no_formula():
    d = os.path.join(tmp, "hostile-csv")
    export_to(hostile_store(), "csv", d)
    rows = {}
    for f in os.listdir(d):
        with open(os.path.join(d, f), newline="") as fh:
            for r in csv.DictReader(fh):
                rows[r["id"]] = r
    eq(sorted(rows), sorted(r["id"] for r in HOSTILE), "one row per record")
    eq(rows["C1"]["text"], "'=cmd|' /C calc'!A0", "formula text")
    eq(rows["C1"]["author"], "'@=HYPERLINK(\"http://e/\"):evil.org",
       "formula in a user id")
    eq(rows["C2"]["text"], "'+1, \"quoted\", -2", "leading +, comma, quotes")
    eq(rows["C2"]["detail"], "'@SUM(1+1)", "leading @")
    eq(rows["C2"]["author"], "@alice:example.org", "a user id is left alone")
    eq(rows["T1"]["assignees"], "@bob:example.org", "assignee left alone")
    eq(rows["T2"]["assignees"], "'" + EVIL_USER, "a hostile assignee")
    eq(rows["T2"]["text"], '"><img src=x onerror=alert(1)>', "quotes")
    eq(rows["D1"]["detail"], "a | b\nsecond line | c", "newline kept")
    eq(rows["D4"]["text"], "<" * 16000, "16,000 '<'")
    eq(rows["M1"]["room_id"], TICK_ROOM, "room id")
    raw = open(os.path.join(d, "changes.csv"), "rb").read()
    contains(raw, b",\"'+1, \"\"quoted\"\", -2\",'@SUM(1+1),", "raw row")


@test
def hostile_text_round_trips_through_json():
    d = os.path.join(tmp, "hostile-json")
    os.makedirs(d)
    out = os.path.join(d, "all.jsonl")
    export_to(hostile_store(), "json", out)
    got = {r["id"]: r for r in map(json.loads, open(out))}
    for r in HOSTILE:
        eq(got[r["id"]]["text"], r["text"], r["id"] + " text")
        eq(got[r["id"]]["room_id"], r["room_id"], r["id"] + " room")
        eq(got[r["id"]]["author"], r["author"], r["id"] + " author")


@test
def no_temporary_files_left():
    for root, _, files in os.walk(tmp):
        for f in files:
            assert ".tmp" not in f, os.path.join(root, f)



# ---- issue 20: names, room names, history values ----

@test
def json_history_times_and_short_ids():
    recs = {r["id"]: r for r in map(json.loads, export_json(STORE).splitlines())}
    closed = [h for h in recs["T1"]["history"] if h["field"] == "closed"]
    eq(len(closed), 1, "T1 closed once")
    eq(closed[0]["old"], None, "no close time before")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", closed[0]["new"]), closed[0]
    sup = [h for h in recs["D1"]["history"] if h["field"] == "superseded_by"]
    eq([(h["old"], h["new"]) for h in sup], [(None, "D4")], "short id, not a store id")
    # an older export's unix seconds are read, and written back as times
    old = dict(recs["T1"], id="T50", num=50, event_id=None)
    old["history"] = [dict(h, event_id=None, new=str(1800000000)) if h["field"] == "closed"
                      else dict(h, event_id=None) for h in old["history"]]
    fresh = os.path.join(tmp, "old-style.db")
    run("import", "--store", fresh, stdin=json.dumps(old) + "\n", check=True)
    back = json.loads(export_json(fresh))
    eq([h["new"] for h in back["history"] if h["field"] == "closed"],
       ["2027-01-15T08:00:00Z"], "unix seconds read")
    bad = dict(old, id="T51", num=51)
    bad["history"] = [dict(h, new="soon") if h["field"] == "closed" else h
                      for h in old["history"]]
    p = run("import", "--store", fresh, stdin=json.dumps(bad) + "\n")
    eq(p.returncode, 1, "a bad time")
    contains(p.stderr, "history 'new' of 'closed' must be a time", "stderr")


NAMED_CHAT = """/member bob Bob Builder
/member dc
!todo @bob @dc rack the servers
!decide use Linear because it is fast
!log nginx upgraded #web1
"""


@test
def md_and_adr_show_people_by_name():
    store = os.path.join(tmp, "named.db")
    run("console", "--store", store, stdin=NAMED_CHAT, check=True)
    d = os.path.join(tmp, "named-md")
    run("export", "--format", "md", "--store", store, "-o", d, check=True)
    page = open(os.path.join(d, "ops-example-org.md")).read()
    contains(page, "### Bob Builder (@bob:example.org)", "owner heading")
    contains(page, "- [ ] Bob Builder/dc: rack the servers", "action item")
    contains(page, "C1 alice: nginx upgraded", "change author (no display name)")
    d = os.path.join(tmp, "named-adr")
    run("export", "--format", "adr", "--store", store, "-o", d, check=True)
    adr = open(os.path.join(d, "0001-use-linear.md")).read()
    contains(adr, "Decided by alice", "adr author")
    # CSV keeps the ids, with the names beside them
    out = run("export", "--format", "csv", "--kind", "todo", "--store", store,
              check=True).stdout
    row = list(csv.DictReader(io.StringIO(out)))[0]
    eq(row["assignees"], "@bob:example.org @dc:example.org", "ids kept")
    eq(row["assignee_names"], "Bob Builder, dc", "names beside them")
    eq(row["author_name"], "alice", "author's name")


@test
def md_names_rooms_by_alias_and_keeps_the_file_name():
    import sqlite3
    store = os.path.join(tmp, "rooms.db")
    run("console", "--store", store, "--room", "!EYsTd9:localhost",
        stdin="!todo a\n", check=True)
    run("console", "--store", store, "--room", "!Qx7:localhost",
        stdin="!todo b\n", check=True)
    run("console", "--store", store, "--room", "!plain:localhost",
        stdin="!todo c\n", check=True)
    db = sqlite3.connect(store)
    db.execute("INSERT INTO kv (key, value) VALUES ('room.alias.!EYsTd9:localhost', "
               "'#ops:localhost')")
    db.execute("UPDATE rooms SET name = 'Infra Team' WHERE room_id = '!Qx7:localhost'")
    db.commit()
    d = os.path.join(tmp, "rooms-md")
    run("export", "--format", "md", "--store", store, "-o", d, check=True)
    eq(sorted(os.listdir(d)), ["infra-team.md", "ops.md", "plain-localhost.md"],
       "named by alias, name, id")
    contains(open(os.path.join(d, "ops.md")).read(),
             "# Handbook: #ops:localhost\n\nThe record of room `!EYsTd9:localhost`",
             "title by alias")
    contains(open(os.path.join(d, "infra-team.md")).read(),
             "# Handbook: Infra Team\n", "title by name")
    # renamed: the title follows, the file name is kept
    db.execute("UPDATE kv SET value = '#operations:localhost' "
               "WHERE key = 'room.alias.!EYsTd9:localhost'")
    db.execute("UPDATE rooms SET name = 'Platform' WHERE room_id = '!Qx7:localhost'")
    db.commit()
    db.close()
    run("export", "--format", "md", "--store", store, "-o", d, check=True)
    eq(sorted(os.listdir(d)), ["infra-team.md", "ops.md", "plain-localhost.md"],
       "file names kept")
    contains(open(os.path.join(d, "ops.md")).read(),
             "# Handbook: #operations:localhost", "title renamed")
    d2 = os.path.join(tmp, "rooms-md-2")
    run("export", "--format", "md", "--store", store, "-o", d2, check=True)
    eq(sorted(os.listdir(d2)), ["infra-team.md", "ops.md", "plain-localhost.md"],
       "the same names in another folder")


sys.exit(exit_status())
