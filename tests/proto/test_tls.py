# SPDX-License-Identifier: MIT
"""scribe over https: the test homeserver serves TLS with a self-signed
certificate made for the test. With `ca_file` naming it, scribe logs in
and answers; without it, or with another CA, the certificate is refused
before any request (the password never reaches the server) and the log
says why; an unreadable ca_file stops scribe at start. Run against both
builds (tests/run runs it with the lean libcurl too): `scribe --version`
says which, and both reach a server that speaks only TLS 1.3 and one
named by its IP address with a certificate for that address."""
import os
import re
import subprocess

from harness import (SCRIBE, SLOW, Homeserver, Scribe, World, check, expect, finish,
                     make_cert)

w = World(tls=True)
hs, room = w.hs, w.room


def t_answers_over_https():
    expect(hs.base.startswith("https://"), hs.base)
    ev = hs.say("alice", room, "!todo @elon renew the certificate")
    c = w.reply_to(ev)["content"]
    expect(c["body"] == "Recorded T1 renew the certificate — elon", c["body"])
    expect([r["text"] for r in w.scribe.records()] == ["renew the certificate"],
           w.scribe.records())


def other_scribe(name, matrix_conf):
    d = os.path.join(w.tmp, name)
    os.mkdir(d)
    return Scribe(hs, d, matrix_conf=matrix_conf)


def login_refused(s):
    before = len(hs.requests())
    r = s.cli("login", "-c", s.conf, check=False)
    expect(r.returncode == 1, (r.returncode, r.stderr))
    expect("login failed: connection failed" in r.stderr, r.stderr)
    # curl's reason, with the detail of the TLS library
    expect("SSL peer certificate or SSH remote key was not OK (" in r.stderr, r.stderr)
    expect(not os.path.exists(os.path.join(s.dir, "token")), "no token file")
    logins = [q for q in hs.requests()[before:] if q["path"].endswith("/login")]
    expect(logins == [], "the server received: %r" % logins)
    return r


def t_no_ca_file():
    r = login_refused(other_scribe("no-ca", ""))
    # a few attempts, then a clear failure: not an endless retry
    expect(r.stderr.count("SSL peer certificate") == 5, r.stderr)


def t_other_ca():
    other, _ = make_cert(w.tmp, "other")
    login_refused(other_scribe("other-ca", "ca_file = %s" % other))


def version():
    r = subprocess.run([SCRIBE, "--version"], capture_output=True, text=True, timeout=30 * SLOW)
    expect(r.returncode == 0, r)
    return r.stdout.splitlines()


def t_version():
    lines = version()
    expect(len(lines) == 3, lines)
    expect(lines[0] == "scribe 0.1.0", lines)
    expect(re.match(r"libcurl/7\.\d+\.\d+ OpenSSL/3\.|libcurl/8\.\d+\.\d+ mbedTLS/3\.",
                    lines[1]), lines)
    expect(re.match(r"SQLite 3\.\d+\.\d+, jansson 2\.\d+(\.\d+)?, libolm 3\.\d+\.\d+$",
                    lines[2]), lines)


def login_to(name, cert, key, tls13_only=False, by_address=False):
    """scribe login against a homeserver of its own serving cert; with
    by_address scribe names it https://127.0.0.1:PORT. Returns the
    requests that server received."""
    os.mkdir(os.path.join(w.tmp, "hs-" + name))
    other = Homeserver(users=("scribe",), workdir=os.path.join(w.tmp, "hs-" + name),
                       tls=(cert, key), tls13_only=tls13_only)
    try:
        if by_address:
            other.base = "https://127.0.0.1:%d" % other.port
        d = os.path.join(w.tmp, name)
        os.mkdir(d)
        s = Scribe(other, d, matrix_conf="ca_file = %s" % cert)
        r = s.cli("login", "-c", s.conf, check=False)
        expect(r.returncode == 0, (r.returncode, r.stderr))
        expect(os.path.exists(os.path.join(d, "token")), "token written")
        return other.requests()
    finally:
        other.stop()


def t_tls13_only():
    reqs = login_to("tls13", w.cert, w.key, tls13_only=True)
    expect([q["path"] for q in reqs if q["path"].endswith("/login")] ==
           ["/_matrix/client/v3/login"], reqs)


def t_ip_address_certificate():
    cert, key = make_cert(w.tmp, "by-ip", san="IP:127.0.0.1")
    reqs = login_to("by-ip", cert, key, by_address=True)
    expect([q["path"] for q in reqs if q["path"].endswith("/login")] ==
           ["/_matrix/client/v3/login"], reqs)


def t_unreadable_ca_file():
    s = other_scribe("missing-ca", "ca_file = %s/nowhere.pem" % w.tmp)
    for cmd in ("login", "run"):
        r = subprocess.run([SCRIBE, cmd, "-c", s.conf], capture_output=True, text=True,
                           timeout=30 * SLOW)
        expect(r.returncode == 2, (cmd, r.returncode, r.stderr))
        expect(r.stderr == "scribe: error: cannot read ca_file '%s/nowhere.pem': "
               "No such file or directory\n" % w.tmp, r.stderr)


for name, fn in [("with ca_file, scribe logs in and answers over https", t_answers_over_https),
                 ("without ca_file a self-signed certificate is refused, with the reason",
                  t_no_ca_file),
                 ("a certificate from another CA is refused", t_other_ca),
                 ("an unreadable ca_file stops login and run at start", t_unreadable_ca_file),
                 ("scribe --version names the libraries and the TLS back-end", t_version),
                 ("a server that speaks only TLS 1.3 is reached", t_tls13_only),
                 ("a homeserver named by its IP address, with a certificate for it",
                  t_ip_address_certificate)]:
    check(name, fn)
w.close()
finish()
