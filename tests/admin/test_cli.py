#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_cli.py - what every subcommand does with a broken configuration
and with a store whose folder is missing (issue 20): a configuration
error exits 2 everywhere; a missing folder is named, with how to make it,
or made when its parent exists (a fresh /var/lib/scribe). Prints
`ok - name` / `not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_cli.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adminlib import contains, eq, exit_status, run, test, tmpdir  # noqa: E402

tmp = tmpdir("scribe-admin-cli-")


def conf(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


BAD = conf("bad.conf", "[store]\npath = %s/s.db\nno_such_key = 1\n" % tmp)


@test
def configuration_errors_exit_2_everywhere():
    for args in (["console"], ["run"], ["login"], ["export"], ["import"],
                 ["log", "--room", "!r:x", "x"], ["db", "check"], ["stats"]):
        p = run(args[0], "-c", BAD, *args[1:], stdin="")
        eq(p.returncode, 2, "scribe %s exit (stderr %r)" % (args[0], p.stderr))
        contains(p.stderr, "no_such_key", "scribe %s says which key" % args[0])


@test
def a_missing_store_folder_is_named():
    missing = os.path.join(tmp, "no", "such", "s.db")
    p = run("console", "--store", missing, stdin="!todos\n")
    eq(p.returncode, 3, "exit")
    contains(p.stderr, "the folder '%s' does not exist" % os.path.dirname(missing),
             "which folder")
    contains(p.stderr, "mkdir -p", "how to make it")
    assert "out of memory" not in p.stderr, p.stderr
    eq(os.path.exists(os.path.join(tmp, "no")), False, "nothing made")
    c = conf("deep.conf", "[matrix]\nhomeserver = http://127.0.0.1:9\n"
             "user_id = @scribe:example.org\npassword_file = %s/pw\n"
             "access_token_file = %s/token\n[store]\npath = %s\n"
             % (tmp, tmp, missing))
    p = run("login", "-c", c)
    eq(p.returncode, 3, "login exit")
    contains(p.stderr, "the folder '%s' does not exist" % os.path.dirname(missing),
             "login says which folder")
    eq(p.stderr.count("cannot open store"), 1, "said once: %r" % p.stderr)


@test
def a_store_folder_whose_parent_exists_is_made():
    folder = os.path.join(tmp, "lib-scribe")
    store = os.path.join(folder, "scribe.db")
    p = run("console", "--store", store, stdin="!todo write the runbook\n")
    eq(p.returncode, 0, "exit: " + p.stderr)
    contains(p.stdout, "Recorded T1 write the runbook", "it works")
    eq(oct(os.stat(folder).st_mode & 0o777), oct(0o700), "private folder")
    # `scribe login` on a first start gets as far as the homeserver
    folder2 = os.path.join(tmp, "lib-scribe-2")
    with open(os.path.join(tmp, "pw"), "w") as f:
        f.write("secret\n")
    c = conf("fresh.conf", "[matrix]\nhomeserver = http://127.0.0.1:9\n"
             "user_id = @scribe:example.org\npassword_file = %s/pw\n"
             "access_token_file = %s/token\n[store]\npath = %s/scribe.db\n"
             "[crypto]\nenabled = no\n" % (tmp, tmp, folder2))
    p = run("login", "-c", c)
    assert os.path.isdir(folder2), "login made the store's folder: " + p.stderr
    assert "cannot open store" not in p.stderr, p.stderr


sys.exit(exit_status())
