#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_store_open.py - a store in a folder scribe may not write to (mode
0500) cannot be opened, and scribe says why in one line: "permission
denied on" the folder, not SQLite's "unable to open database file" -
for a new store and for one that is already there (its journal files
must be made beside it), given by a full or a relative path; and a store
behind a folder scribe may not enter (mode 0000) is said to be that, not
missing. Runs scribe as nobody when the tests run as root (root may write
anywhere). Prints `ok - name` / `not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_store_open.py
"""
import atexit
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adminlib import BIN, contains, eq, exit_status, run, test, tmpdir  # noqa: E402

NOBODY = (65534, 65534)
ROOT = os.geteuid() == 0
tmp = tmpdir("scribe-store-open-")
os.chmod(tmp, 0o755)  # nobody may pass through
# nobody may not reach the build folder (a checkout in /root is 0700 on a
# fresh machine): it runs a copy of the binary from here
EXE = os.path.abspath(BIN)
if ROOT:
    EXE = os.path.join(tmp, "scribe")
    shutil.copy2(BIN, EXE)


def as_user(args, cwd=None, stdin=""):
    """Run scribe as nobody when we are root, else as ourselves."""
    def pre():
        if ROOT:
            os.setgroups([])
            os.setgid(NOBODY[1])
            os.setuid(NOBODY[0])
    return subprocess.run([EXE] + args, input=stdin,
                          capture_output=True, text=True, preexec_fn=pre,
                          cwd=cwd)


def read_only(d):
    """d, made the user's own and not writable: mode 0500."""
    for dirpath, _, files in os.walk(d):
        for p in [dirpath] + [os.path.join(dirpath, f) for f in files]:
            if ROOT:
                os.chown(p, *NOBODY)
    os.chmod(d, 0o500)
    atexit.register(os.chmod, d, 0o700)  # before tmpdir's removal
    return d


def shut(d):
    """d, made the user's own and closed to it: mode 0000."""
    if ROOT:
        os.chown(d, *NOBODY)
    os.chmod(d, 0o000)
    atexit.register(os.chmod, d, 0o700)  # before tmpdir's removal
    return d


def said_once(p, folder, what):
    """Failed, with exactly one line: the store and the folder's reason."""
    assert p.returncode != 0, "%s: exit 0: %r" % (what, p.stderr)
    lines = p.stderr.splitlines()
    eq(len(lines), 1, "%s: one error line" % what)
    contains(lines[0], "scribe: error: cannot open store '", what)
    contains(lines[0], "permission denied on '%s'" % os.path.realpath(folder),
             what)


@test
def a_new_store_in_a_folder_without_write_permission():
    d = os.path.join(tmp, "new")
    os.mkdir(d)
    read_only(d)
    p = as_user(["console", "--store", os.path.join(d, "scribe.db")],
                stdin="!todos\n")
    eq(p.returncode, 3, "exit (stderr %r)" % p.stderr)
    said_once(p, d, "console")
    eq(os.listdir(d), [], "nothing made")


@test
def a_relative_store_path_names_the_folder_in_full():
    d = os.path.join(tmp, "cwd")
    os.mkdir(d)
    read_only(d)
    p = as_user(["console", "--store", "scribe.db"], cwd=d, stdin="!todos\n")
    said_once(p, d, "console --store scribe.db")


@test
def an_existing_store_in_a_folder_without_write_permission():
    d = os.path.join(tmp, "old")
    os.mkdir(d)
    store = os.path.join(d, "scribe.db")
    run("console", "--store", store, stdin="!todo water the plants\n",
        check=True)
    eq(sorted(os.listdir(d)), ["scribe.db"], "a closed store, no journal")
    read_only(d)
    said_once(as_user(["stats", "--store", store]), d, "stats")
    said_once(as_user(["console", "--store", store], stdin="!todos\n"), d,
              "console")


@test
def stats_on_a_store_behind_a_folder_without_search_permission():
    # stat() fails with EACCES, not ENOENT: the store is there, scribe
    # may not reach it, and the folder that stops it is named
    d = os.path.join(tmp, "shut")
    os.mkdir(d)
    store = os.path.join(d, "scribe.db")
    run("console", "--store", store, stdin="!todo water the plants\n",
        check=True)
    shut(d)
    p = as_user(["stats", "--store", store])
    eq(p.returncode, 3, "exit (stderr %r)" % p.stderr)
    said_once(p, d, "stats")
    assert "does not exist" not in p.stderr, "said missing: %r" % p.stderr
    # a folder further up: the one that may not be entered is named
    outer = os.path.join(tmp, "shut-outer")
    os.makedirs(os.path.join(outer, "inner"))
    shut(outer)
    p = as_user(["stats", "--store", os.path.join(outer, "inner", "x.db")])
    eq(p.returncode, 3, "exit (stderr %r)" % p.stderr)
    said_once(p, outer, "stats, a folder further up")
    # and a new store there: not "the folder does not exist, mkdir it"
    p = as_user(["console", "--store", os.path.join(outer, "inner", "n.db")],
                stdin="!todo x\n")
    said_once(p, outer, "console, a folder further up")


sys.exit(exit_status())
