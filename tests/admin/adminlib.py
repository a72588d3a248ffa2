# SPDX-License-Identifier: MIT
"""adminlib.py - what the admin CLI tests share: running the scribe
binary (SCRIBE_BIN), the `ok - name` / `not ok - name: why` reporting
tests/run counts, and two assertions that say what they saw."""
import atexit
import os
import shutil
import subprocess
import tempfile

BIN = os.environ.get("SCRIBE_BIN", "build/scribe")
failed = 0


def run(*args, stdin=None, check=False):
    """Run scribe with args; check=True fails the test on a non-zero exit."""
    p = subprocess.run([BIN] + list(args), input=stdin, capture_output=True,
                       text=True)
    if check and p.returncode != 0:
        raise AssertionError("scribe %s: exit %d: %s" %
                             (" ".join(args), p.returncode, p.stderr))
    return p


def test(fn):
    """Decorator: run fn now and report it."""
    global failed
    try:
        fn()
        print("ok - %s" % fn.__name__)
    except AssertionError as e:
        failed += 1
        print("not ok - %s: %s" % (fn.__name__, str(e).replace("\n", " | ")))
    except Exception as e:  # a crash of the test is a failure too
        failed += 1
        print("not ok - %s: %s: %s" % (fn.__name__, type(e).__name__, e))
    return fn


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def contains(hay, needle, what=""):
    if needle not in hay:
        raise AssertionError("%s: %r not in %r" % (what, needle,
                                                  hay[:2000] if isinstance(hay, (str, bytes)) else hay))


def tmpdir(prefix):
    """A scratch directory removed when the test program exits."""
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def exit_status():
    return 1 if failed else 0
