#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_log_db.py - `scribe log` (a change from a script, announced by the
running bot through the store's outbox), `scribe db check|backup` and
`scribe stats`, checked as an admin would: exit codes, stderr, the stored
record and outbox row, and a backup taken while another process writes.
Prints `ok - name` / `not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_log_db.py
"""
import json
import os
import re
import socket
import sqlite3
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adminlib import contains, eq, exit_status, run, test, tmpdir  # noqa: E402

ROOM = "!ops:example.org"

tmp = tmpdir("scribe-admin-log-")
STORE = os.path.join(tmp, "team.db")
CONF = os.path.join(tmp, "bot.conf")
with open(CONF, "w") as f:
    f.write("[matrix]\nuser_id = @scribe:example.org\n\n[store]\npath = %s\n"
            % STORE)
run("console", "--store", STORE, stdin="!log first change\n", check=True)


def records(store=STORE, *a):
    out = run("export", "--store", store, *a, check=True).stdout
    return [json.loads(l) for l in out.splitlines()]


@test
def log_records_change_and_queues_announcement():
    p = run("log", "-c", CONF, "--room", ROOM, "--tag", "web1",
            "upgraded nginx to 1.25")
    eq(p.returncode, 0, "exit: " + p.stderr)
    eq(p.stdout, "Logged C2 upgraded nginx to 1.25 #web1\n", "stdout")
    c2 = [r for r in records() if r["id"] == "C2"][0]
    eq(c2["text"], "upgraded nginx to 1.25", "text")
    eq(c2["tags"], ["web1"], "tags")
    # credited to who ran it, not the bot (issue 20)
    eq(c2["author"], "CLI (%s)" % socket.gethostname(), "author: the CLI")
    eq(c2["event_id"], None, "no source event")
    db = sqlite3.connect(STORE)
    rows = db.execute("SELECT txn_id, room_id, type, content FROM outbox "
                      "WHERE txn_id LIKE 'scribe.log.%'").fetchall()
    db.close()
    eq(len(rows), 1, "one outbox row")
    txn, room, typ, content = rows[0]
    assert re.fullmatch(r"scribe\.log\.C2\.\d+", txn), txn
    eq(room, ROOM, "room")
    eq(typ, "m.room.message", "type")
    c = json.loads(content)
    eq(c["msgtype"], "m.notice", "notice")
    eq(c["body"], "Logged C2 upgraded nginx to 1.25 #web1", "body as !log")
    contains(c["formatted_body"], "<b>C2</b>", "html")


@test
def log_deploy_tag_and_author():
    p = run("log", "-c", CONF, "--room", ROOM, "--deploy", "--as",
            "@ci:example.org", "release", "2.3", "to", "prod")
    eq(p.returncode, 0, "exit: " + p.stderr)
    rec = records()[-1]
    eq(rec["text"], "release 2.3 to prod", "words joined")
    contains(rec["tags"], "deploy", "deploy tag")
    eq(rec["author"], "@ci:example.org", "--as")


@test
def log_credits_who_ran_it():
    # a free name is kept and shown as given; a user id by their name
    p = run("log", "-c", CONF, "--room", ROOM, "--as", "deploybot",
            "nginx rolled out")
    eq(p.returncode, 0, "exit: " + p.stderr)
    rec = records()[-1]
    eq(rec["author"], "deploybot", "--as a free name")
    eq(rec["history"][0]["actor"], "deploybot", "history credits it too")
    p = run("log", "-c", CONF, "--room", ROOM, "--as", "Build Server 7",
            "api 2.4 rolled out")
    eq(records()[-1]["author"], "Build Server 7", "a name with spaces")
    out = run("console", "--store", STORE, "--room", ROOM,
              stdin="!changelog\n", check=True).stdout
    contains(out, "Build Server 7: api 2.4 rolled out", "changelog shows it")
    contains(out, "deploybot: nginx rolled out", "changelog shows it")
    contains(out, "CLI (%s): upgraded nginx" % socket.gethostname(),
             "the default")
    p = run("log", "-c", CONF, "--room", ROOM, "--as", "", "x")
    eq(p.returncode, 2, "an empty --as")


@test
def log_unknown_room_exits_4():
    before = len(records())
    p = run("log", "-c", CONF, "--room", "!nowhere:example.org", "x")
    eq(p.returncode, 4, "exit")
    contains(p.stderr, "scribe: error: unknown room '!nowhere:example.org'",
             "stderr")
    eq(len(records()), before, "nothing recorded")


@test
def log_usage_errors_exit_2():
    p = run("log", "-c", CONF, "no room")
    eq(p.returncode, 2, "no --room")
    contains(p.stderr, "--room is required", "stderr")
    p = run("log", "-c", CONF, "--room", ROOM)
    eq(p.returncode, 2, "no text")
    p = run("log", "--store", os.path.join(tmp, "none.db"), "--room", ROOM,
            "x")
    eq(p.returncode, 3, "missing store")


@test
def log_while_bot_holds_the_store():
    # Another connection in WAL mode reading and writing, as the bot does.
    db = sqlite3.connect(STORE, timeout=5)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    db.execute("SELECT count(*) FROM records").fetchall()
    p = run("log", "-c", CONF, "--room", ROOM, "during a read")
    db.rollback()
    db.close()
    eq(p.returncode, 0, "exit: " + p.stderr)


@test
def db_check_reports_schema_and_integrity():
    p = run("db", "check", "-c", CONF)
    eq(p.returncode, 0, "exit: " + p.stderr)
    contains(p.stdout, "schema version", "stdout")
    contains(p.stdout, "integrity: ok", "stdout")
    bad = os.path.join(tmp, "bad.db")
    with open(bad, "wb") as f:
        f.write(b"this is not a database" * 100)
    p = run("db", "check", "--store", bad)
    eq(p.returncode, 3, "damaged store")
    contains(p.stderr, "scribe: error:", "stderr")


@test
def db_backup_while_another_process_writes():
    stop = threading.Event()
    written = []

    def writer():
        n = 0
        while not stop.is_set() and n < 200:
            p = run("log", "-c", CONF, "--room", ROOM, "busy %d" % n)
            if p.returncode == 0:
                written.append(n)
            n += 1

    t = threading.Thread(target=writer)
    t.start()
    while len(written) < 3:
        pass
    before = len(records())
    dst = os.path.join(tmp, "backup.db")
    p = run("db", "backup", "-c", CONF, dst)
    stop.set()
    t.join()
    eq(p.returncode, 0, "exit: " + p.stderr)
    contains(p.stdout, "backed up", "stdout")
    p = run("db", "check", "--store", dst)
    eq(p.returncode, 0, "backup check: " + p.stdout + p.stderr)
    got = records(dst)
    assert len(got) >= before, "backup has %d records, store had %d" % (
        len(got), before)
    eq(got, records()[:len(got)], "backup is a prefix of the store")
    p = run("db", "backup", "-c", CONF, dst)
    eq(p.returncode, 1, "existing target")
    contains(p.stderr, "already exists", "stderr")


@test
def stats_counts_per_room_and_kind():
    p = run("stats", "-c", CONF)
    eq(p.returncode, 0, "exit: " + p.stderr)
    lines = p.stdout.splitlines()
    contains(lines[0], "todo", "header")
    n = len(records())
    row = [l for l in lines if l.startswith(ROOM)][0].split()
    eq(int(row[-1]), n, "total of the room")
    eq(int(row[3]), n, "all are changes")
    contains(p.stdout, "MiB, schema version", "size")


sys.exit(exit_status())
