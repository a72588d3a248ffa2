#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_export.py - `scribe export` and `scribe import` as an admin uses
them: every format from a store filled through the real command engine
(`scribe console`), what the files say, RFC 4180 quoting, ADR numbering
and supersede links, minutes in the seed layout, idempotent re-exports,
and the lossless JSON round trip. Prints `ok - name` / `not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_export.py
"""
import csv
import io
import json
import os
import stat
import subprocess
import sys
import threading

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
    eq(export_json(fresh), "", "nothing imported")
    p = run("import", "--store", fresh, stdin="{nope\n")
    contains(p.stderr, "-:1: not JSON", "stderr")


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
                               "incidents.csv", "meetings.csv", "todos.csv"],
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


@test
def no_temporary_files_left():
    for root, _, files in os.walk(tmp):
        for f in files:
            assert ".tmp" not in f, os.path.join(root, f)


sys.exit(exit_status())
