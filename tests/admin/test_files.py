#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_files.py - who may read what scribe writes: the store (and the
-wal and -shm files SQLite makes beside it), `scribe db backup` copies and
every export format's files and folders are 0600/0700 whatever the umask
scribe is started with (000 and 022 here), and 0640/0750 owned by the
group of `[store] group` when one is set; an unknown group, or one scribe
may not take, is a configuration error (exit 2). Prints `ok - name` /
`not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_files.py
"""
import grp
import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adminlib import BIN, contains, eq, exit_status, test, tmpdir  # noqa: E402

tmp = tmpdir("scribe-files-")

RECORDS = [
    {"id": "T1", "room_id": "!ops:example.org", "author": "@alice:example.org",
     "text": "rotate keys", "created": "2026-11-02T09:00:00Z",
     "assignees": ["@bob:example.org"]},
    {"id": "D1", "room_id": "!ops:example.org", "author": "@alice:example.org",
     "text": "use linear", "created": "2026-11-02T09:01:00Z"},
    {"id": "M1", "room_id": "!ops:example.org", "author": "@alice:example.org",
     "text": "weekly sync", "created": "2026-11-02T09:02:00Z", "status": "ended",
     "closed": "2026-11-02T10:00:00Z"},
]
JSONL = "".join(json.dumps(r) + "\n" for r in RECORDS)


def scribe(args, umask, stdin=None, user=None):
    """Run scribe under umask (and as uid/gid user, when given)."""
    def pre():
        os.umask(umask)
        if user:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
    return subprocess.run([BIN] + args, input=stdin, capture_output=True,
                          text=True, preexec_fn=pre)


def ok(p, what):
    if p.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (what, p.returncode, p.stderr))


def modes(paths):
    """{path relative to tmp: (octal mode, group name)}"""
    out = {}
    for p in paths:
        st = os.lstat(p)
        out[os.path.relpath(p, tmp)] = (oct(stat.S_IMODE(st.st_mode)),
                                        grp.getgrgid(st.st_gid).gr_name)
    return out


def tree(d):
    """Every folder and file under d (d included)."""
    out = [d]
    for root, dirs, files in os.walk(d):
        out += [os.path.join(root, x) for x in dirs + files]
    return out


def hold_store_open(conf_args, umask, store):
    """A `scribe import` that has written a record and waits for more on
    its standard input: the store's -wal and -shm exist meanwhile."""
    def pre():
        os.umask(umask)
    p = subprocess.Popen([BIN, "import"] + conf_args, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=pre)
    p.stdin.write(json.dumps({"id": "C9", "room_id": "!ops:example.org",
                              "author": "@a:example.org", "text": "held",
                              "created": 1}) + "\n")
    p.stdin.flush()
    end = time.monotonic() + 30 * float(os.environ.get("SCRIBE_TEST_SLOW", "1"))
    while time.monotonic() < end and not (os.path.exists(store + "-wal") and
                                          os.path.exists(store + "-shm")):
        time.sleep(0.01)
    return p


def write_everything(d, umask, conf_args):
    """Create a store, hold it open, back it up and export every format
    under d; return the paths scribe created."""
    store = os.path.join(d, "team.db")
    ok(scribe(["import"] + conf_args, umask, stdin=JSONL), "import")
    held = hold_store_open(conf_args, umask, store)
    try:
        made = [store, store + "-wal", store + "-shm"]
        assert os.path.exists(store + "-wal"), "no -wal while the store is open"
        got = modes(made)
    finally:
        held.stdin.close()
        held.wait()
    ok(scribe(["db", "backup"] + conf_args + [os.path.join(d, "backup.db")],
              umask), "backup")
    ok(scribe(["export"] + conf_args + ["-o", os.path.join(d, "all.jsonl")],
              umask), "export json")
    out = [os.path.join(d, "backup.db"), os.path.join(d, "all.jsonl")]
    for fmt in ("csv", "md", "adr", "minutes"):
        top = os.path.join(d, fmt)
        ok(scribe(["export", "--format", fmt] + conf_args +
                  ["-o", os.path.join(top, "nested", "folder")], umask),
           "export " + fmt)
        files = [p for p in tree(top) if os.path.isfile(p)]
        assert files, fmt + " wrote no file"
        out += tree(top)
    got.update(modes(out))
    return got


def want_modes(got, file_mode, dir_mode, group):
    for path, (mode, g) in sorted(got.items()):
        full = os.path.join(tmp, path)
        want = dir_mode if os.path.isdir(full) else file_mode
        eq((mode, g), (want, group), path)


@test
def private_whatever_the_umask():
    me = grp.getgrgid(os.getegid()).gr_name
    for umask in (0o000, 0o022):
        d = os.path.join(tmp, "private-%03o" % umask)
        os.mkdir(d)
        got = write_everything(d, umask, ["--store", os.path.join(d, "team.db")])
        contains(got, os.path.relpath(os.path.join(d, "team.db-wal"), tmp),
                 "the WAL was checked")
        want_modes(got, "0o600", "0o700", me)


@test
def console_store_is_private_too():
    # the umask is set before any subcommand runs, not per subcommand
    d = os.path.join(tmp, "console")
    os.mkdir(d)
    store = os.path.join(d, "c.db")
    ok(scribe(["console", "--store", store], 0o000, stdin="!todo x\n"),
       "console")
    eq(modes([store])[os.path.relpath(store, tmp)][0], "0o600", "console store")


def other_group():
    """A group that is not ours (root may give files any group), or ours
    when we are not root."""
    if os.geteuid() != 0:
        return grp.getgrgid(os.getegid()).gr_name
    for name in ("adm", "daemon", "bin", "sys"):
        try:
            if grp.getgrnam(name).gr_gid != os.getegid():
                return name
        except KeyError:
            pass
    raise AssertionError("no group other than %d on this system" % os.getegid())


@test
def group_configured_gets_0640_and_the_group():
    group = other_group()
    d = os.path.join(tmp, "group")
    os.mkdir(d)
    conf = os.path.join(d, "bot.conf")
    with open(conf, "w") as f:
        f.write("[store]\npath = %s\ngroup = %s\n" % (os.path.join(d, "team.db"),
                                                      group))
    got = write_everything(d, 0o000, ["-c", conf])
    want_modes(got, "0o640", "0o750", group)


@test
def unknown_group_is_a_config_error():
    d = os.path.join(tmp, "nogroup")
    os.mkdir(d)
    conf = os.path.join(d, "bot.conf")
    with open(conf, "w") as f:
        f.write("[store]\npath = %s\n\ngroup = scribe-no-such-group\n" %
                os.path.join(d, "team.db"))
    for args in (["import"], ["export", "--format", "md", "-o", d + "/md"]):
        p = scribe(args + ["-c", conf], 0o022, stdin="")
        eq(p.returncode, 2, " ".join(args) + " exit")
        eq(p.stderr, "scribe: error: %s:4: unknown group 'scribe-no-such-group' "
           "for 'group' (expected the name of a group of this system)\n" % conf,
           "stderr")
    eq(sorted(os.listdir(d)), ["bot.conf"], "nothing created")


@test
def group_scribe_may_not_take_is_a_config_error():
    if os.geteuid() != 0:
        print("# skipped: needs root to run scribe as another user")
        return
    group = other_group()
    d = os.path.join(tmp, "notmine")
    os.mkdir(d)
    os.chmod(tmp, 0o711)  # nobody may pass through to d
    os.chmod(d, 0o777)
    conf = os.path.join(d, "bot.conf")
    with open(conf, "w") as f:
        f.write("[store]\npath = %s\ngroup = %s\n" % (os.path.join(d, "team.db"),
                                                      group))
    os.chmod(conf, 0o644)
    p = scribe(["import", "-c", conf], 0o022, stdin=JSONL, user=(65534, 65534))
    eq(p.returncode, 2, "exit")
    eq(p.stderr, "scribe: error: %s: cannot create files owned by group '%s' "
       "([store] group): Operation not permitted; run scribe as root, or with "
       "that group (systemd's Group=, sudo -g, sg)\n" % (conf, group), "stderr")
    eq(sorted(os.listdir(d)), ["bot.conf"], "nothing created")


@test
def readable_store_gets_a_warning():
    d = os.path.join(tmp, "loose")
    os.mkdir(d)
    store = os.path.join(d, "team.db")
    ok(scribe(["import", "--store", store], 0o022, stdin=JSONL), "import")
    os.chmod(store, 0o644)
    p = scribe(["stats", "--store", store], 0o022)
    ok(p, "stats")
    contains(p.stderr, "scribe: warning: store '%s' is mode 0644: other users "
             "can read the record; chmod 600 it" % store, "stderr")
    os.chmod(store, 0o600)
    p = scribe(["stats", "--store", store], 0o022)
    eq(p.stderr, "", "no warning for 0600")


sys.exit(exit_status())
