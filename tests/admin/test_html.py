#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_html.py - `scribe export --format html -o DIR` as a reader of the
site would check it: the pages of a known store (rooms, open items by
owner with overdue and critical first, anchors and matrix.to links,
supersede links both ways, check-in tallies, MTTR, minutes, a target's
change log), the pictures (SVG that parses as XML), a strict CSP on every
page and no address outside the site but matrix.to, every link resolving
to a file and an anchor, the same bytes for the same store and no page
rewritten when nothing changed, pages of withdrawn records removed,
hostile records (<script>, javascript: links, "><img onerror>, 16,000
'<') staying text, golden pages, and Debian's chromium loading the pages
from file:// and over http with no console message, no CSP violation and
no failed request, and finding a record by typing a word in the search
box. Screenshots land in $SCRIBE_ARTEFACTS (default: artefacts/html
beside the scribe binary).

Prints `ok - name` / `not ok - name: why`.

Run: SCRIBE_BIN=build/scribe /usr/bin/python3 tests/admin/test_html.py
Golden pages: SCRIBE_UPDATE_GOLDEN=1 rewrites tests/data/html/.
"""
import base64
import html.parser
import http.server
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adminlib import BIN, contains, eq, exit_status, run, test, tmpdir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "data", "html")
ARTEFACTS = os.environ.get("SCRIBE_ARTEFACTS") or os.path.join(
    os.path.dirname(os.path.abspath(BIN)), "artefacts", "html")
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'self'")

tmp = tmpdir("scribe-html-")
OPS, INFRA = "!ops:example.org", "!infra:example.org"
ALICE, BOB = "@alice:example.org", "@bob:example.org"


def rec(rid, text, room=OPS, author=ALICE, created="2026-11-02T09:00:00Z",
        **kw):
    r = {"id": rid, "room_id": room, "author": author, "text": text,
         "created": created}
    r.update(kw)
    return r


# A team's month, in store order. The latest activity is C3's
# (2026-11-11 09:00): T1, due on the 5th, is overdue then.
RECORDS = [
    rec("T1", "fix the rack", assignees=[BOB], severity="critical",
        due="2026-11-05T17:00:00Z", tags=["infra"], event_id="$t1",
        created="2026-10-28T09:00:00Z"),
    rec("D1", "use linear", detail="it is fast", status="superseded",
        superseded_by="D3", event_id="$d1", created="2026-10-29T10:00:00Z",
        history=[{"ts": "2026-10-29T10:00:00Z", "actor": ALICE,
                  "field": "created", "new": "accepted"},
                 {"ts": "2026-11-05T09:00:00Z", "actor": ALICE,
                  "field": "status", "old": "accepted", "new": "superseded"}]),
    rec("C1", "nginx upgraded to 1.25", tags=["web1"], event_id="$c1",
        created="2026-11-02T08:00:00Z"),
    rec("I1", "db down", severity="major", status="resolved",
        detail="restarted", closed="2026-11-02T10:30:00Z",
        created="2026-11-02T09:00:00Z"),
    rec("M1", "weekly sync", status="ended", closed="2026-11-03T10:00:00Z",
        created="2026-11-03T09:00:00Z", event_id="$m1",
        notes=[{"ts": "2026-11-03T09:05:00Z", "author": ALICE,
                "kind": "topic", "text": "tracker"},
               {"ts": "2026-11-03T09:06:00Z", "author": BOB,
                "kind": "info", "text": "we need a tracker"}],
        attendees=[ALICE, BOB]),
    rec("T5", "write doc", assignees=[BOB], meeting="M1",
        created="2026-11-03T09:10:00Z"),
    rec("D4", "we keep the wiki", meeting="M1", created="2026-11-03T09:20:00Z"),
    rec("D2", "use jira", status="proposed", created="2026-11-04T09:00:00Z",
        votes=[{"user_id": ALICE, "vote": "up"},
               {"user_id": BOB, "vote": "up"},
               {"user_id": "@carol:example.org", "vote": "down"},
               {"user_id": "@dave:example.org", "vote": "meh"}]),
    rec("D3", "use jira instead", created="2026-11-05T09:00:00Z"),
    rec("C2", "deployed api 2.0", tags=["web1", "deploy"],
        created="2026-11-06T12:00:00Z"),
    rec("T2", "rotate keys", status="done", assignees=[BOB], detail="rotated",
        closed="2026-11-07T09:00:00Z", created="2026-11-06T09:00:00Z"),
    rec("T3", "shared task", assignees=[ALICE, BOB],
        created="2026-11-08T09:00:00Z"),
    rec("T4", "someone update the wiki", created="2026-11-09T09:00:00Z"),
    rec("I2", "disk filling", severity="minor", created="2026-11-10T09:00:00Z"),
    rec("C3", "dns zone moved", tags=["dns"], room=INFRA,
        created="2026-11-11T09:00:00Z"),
]


def import_store(name, records):
    path = os.path.join(tmp, name + ".db")
    lines = "".join(json.dumps(r) + "\n" for r in records)
    run("import", "--store", path, stdin=lines, check=True)
    return path


def export(store, out, *extra):
    p = run("export", "--format", "html", "--store", store, "-o", out,
            "--no-progress", *extra)
    for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
        assert bad not in p.stderr, p.stderr[-1500:]
    eq(p.returncode, 0, "export exit (stderr %r)" % p.stderr)
    return out


def read_tree(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = fh.read()
    return out


def page(site, rel):
    with open(os.path.join(site, rel), encoding="utf-8") as f:
        return f.read()


STORE = import_store("team", RECORDS)
SITE = export(STORE, os.path.join(tmp, "site"))
ROOM = "rooms/ops-example-org/"


class Page(html.parser.HTMLParser):
    """A page as a browser's parser sees it: elements, attributes, ids,
    links, text, and whether every element that must close did."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input",
            "link", "meta", "source", "track", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.attrs, self.stack = [], [], [], []
        self.problems, self.text, self.scripts = [], [], []
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append("unclosed %s" % self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.attrs.append((tag, attrs))
        if "id" in a:
            self.ids.append(a["id"])
        for k in ("href", "src", "action"):
            if k in a:
                self.links.append((tag, k, a[k]))
        if tag == "script":
            self.scripts.append(a.get("src"))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("</%s> closes %s" % (tag, self.stack[-3:]))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def words(self):
        return re.sub(r"\s+", " ", "".join(self.text))


def pages_of(site):
    out = {}
    for root, _, files in os.walk(site):
        for f in files:
            if f.endswith(".html"):
                p = os.path.join(root, f)
                out[os.path.relpath(p, site)] = Page(open(p, encoding="utf-8").read())
    return out


def svgs(text):
    return re.findall(r"<svg\b.*?</svg>", text, re.S)


# ---- what the pages say ----

@test
def site_has_every_page():
    files = set(read_tree(SITE))
    for want in ("index.html", "search.html", "style.css", "site.js",
                 "favicon.svg", ROOM + "index.html",
                 ROOM + "todos-2026-10.html", ROOM + "todos-2026-11.html",
                 ROOM + "decisions-2026-10.html", ROOM + "decisions-2026-11.html",
                 ROOM + "changes-2026-11.html", ROOM + "incidents-2026-11.html",
                 ROOM + "meetings-2026-11.html",
                 "rooms/infra-example-org/index.html",
                 "rooms/infra-example-org/changes-2026-11.html",
                 "decisions/0/D1.html", "decisions/0/D2.html", "decisions/0/D3.html",
                 "decisions/0/D4.html", "meetings/0/M1.html",
                 "targets/web1/index.html", "targets/web1/2026-11.html",
                 "targets/deploy/index.html", "targets/dns/index.html",
                 "search/ops-example-org/todos-2026-10.js",
                 "search/infra-example-org/changes-2026-11.js"):
        assert want in files, "%s missing from %s" % (want, sorted(files))
    assert not [f for f in files if ".tmp" in f], files


@test
def index_lists_rooms_open_overdue_activity_decisions():
    p = Page(page(SITE, "index.html"))
    text = p.words()
    contains(text, "15 records in 2 rooms, as of 2026-11-11 09:00 "
             "(the latest activity)", "index lead")
    rows = re.findall(r"<tr><td><a href=\"(rooms/[^\"]+)\">.*?</tr>",
                      page(SITE, "index.html"), re.S)
    eq(rows, ["rooms/infra-example-org/index.html",
              "rooms/ops-example-org/index.html"], "room rows")
    ops = re.search(r"<tr><td><a href=\"rooms/ops-example-org/index.html\">"
                    r".*?</tr>", page(SITE, "index.html"), re.S).group(0)
    contains(ops, ">4</a></td>", "open items")
    contains(ops, "<td class=\"num overdue\">1</td>", "overdue")
    contains(ops, "2026-11-10 09:00", "last activity")
    eq(re.findall(r"href=\"(decisions/\d+/D\d+\.html)\"", ops),
       ["decisions/0/D3.html", "decisions/0/D2.html", "decisions/0/D4.html"],
       "latest decisions, newest first")
    for t in ("web1", "deploy", "dns"):
        contains(page(SITE, "index.html"), "href=\"targets/%s/index.html\"" % t,
                 "targets")


@test
def room_page_open_items_by_owner_critical_and_overdue_first():
    text = page(SITE, ROOM + "index.html")
    opened = text.split('<h2 id="open">')[1].split("<h2")[0]
    heads = re.findall(r"<h3>(.*?)</h3>", opened)
    eq([re.sub(r"<[^>]+>", "", h) for h in heads],
       ["alice (@alice:example.org) 1", "bob (@bob:example.org) 3",
        "Unassigned 1"], "owners")
    bob = opened.split('<h3><span class="who" title="@bob:example.org">bob'
                       '</span>')[1].split("</ul>")[0]
    eq(re.findall(r">(T\d+)</a>", bob), ["T1", "T5", "T3"],
       "bob's items: critical (and overdue) first, then the oldest")
    contains(bob, '<li class="overdue"><a class="id" href="../../rooms/'
             'ops-example-org/todos-2026-10.html#T1">T1</a> fix the rack',
             "T1 overdue, linked to its anchor")
    contains(bob, 'overdue</span></li>', "overdue badge")
    contains(bob, "critical", "severity")
    assert "T2" not in opened, "a done item listed open"
    p = Page(text)
    contains(p.words(), "4 open action items", "count")
    contains(p.words(), "1 overdue", "overdue count")


@test
def every_record_has_an_anchor_and_its_source():
    pages = pages_of(SITE)
    ids = {i for p in pages.values() for i in p.ids}
    for r in RECORDS:
        assert r["id"] in ids, r["id"] + " has no anchor"
    row = page(SITE, ROOM + "todos-2026-10.html")
    contains(row, '<tr id="T1">', "anchor")
    contains(row, 'href="https://matrix.to/#/%21ops%3Aexample.org/%24t1"',
             "matrix.to link, ids percent-encoded")
    contains(page(SITE, "decisions/0/D1.html"),
             'href="https://matrix.to/#/%21ops%3Aexample.org/%24d1"', "ADR source")


@test
def supersede_links_both_ways():
    d1 = page(SITE, "decisions/0/D1.html")
    contains(d1, 'Superseded by <a href="../../decisions/0/D3.html">D3. use jira '
             'instead</a>', "D1 -> D3")
    contains(d1, "status: accepted → superseded", "history")
    d3 = page(SITE, "decisions/0/D3.html")
    contains(d3, 'Supersedes <a href="../../decisions/0/D1.html">D1. use linear</a>',
             "D3 -> D1")
    log = page(SITE, ROOM + "decisions-2026-11.html")
    contains(log, 'supersedes <a href="../../decisions/0/D1.html">D1</a>', "row")
    log10 = page(SITE, ROOM + "decisions-2026-10.html")
    contains(log10, 'superseded by <a href="../../decisions/0/D3.html">D3</a>',
             "row")
    for sec in ("<h2>Status</h2>", "<h2>Context</h2>", "<p>Because it is fast",
                "<h2>Decision</h2>", "<h2>Consequences</h2>", "<h2>History</h2>"):
        contains(d1, sec, "ADR section")


@test
def checkin_tally_of_a_proposal():
    d2 = page(SITE, "decisions/0/D2.html")
    tally = [s for s in svgs(d2) if 'class="tally"' in s]
    eq(len(tally), 1, "one tally picture")
    contains(tally[0], "<title>Check-in: 2 👍, 1 👎, 1 🤷</title>", "title")
    eq(re.findall(r'class="c-(up|down|meh)" x="(\d+)" y="0" width="(\d+)"',
                  tally[0]),
       [("up", "0", "60"), ("down", "60", "30"), ("meh", "90", "30")],
       "parts in proportion")
    contains(Page(d2).words(), "👍 alice, bob", "voters")
    row = page(SITE, ROOM + "decisions-2026-11.html").split('<tr id="D2">')[1]
    contains(row.split("</tr>")[0], "2 · 1 · 1", "tally in the log")


@test
def incidents_with_mttr():
    room = Page(page(SITE, ROOM + "index.html")).words()
    contains(room, "Mean time to resolve (MTTR): 1h 30m over 1 resolved "
             "incidents.", "MTTR")
    inc = page(SITE, ROOM + "incidents-2026-11.html")
    contains(inc, '<td class="num">1h 30m</td>', "time to resolve")
    contains(inc, "restarted", "resolution")


@test
def meeting_minutes():
    m = Page(page(SITE, "meetings/0/M1.html")).words()
    for part in ("2026-11-03 weekly sync", "Time: 09:00–10:00 UTC",
                 "Attending alice bob", "Agenda tracker",
                 "Notes 09:06 bob: we need a tracker",
                 "Decisions made D4 we keep the wiki accepted",
                 "Follow up Actionable items ☐ bob: write doc (T5)"):
        contains(m, part, "minutes")
    contains(page(SITE, "meetings/0/M1.html"),
             'href="../../rooms/ops-example-org/todos-2026-11.html#T5"', "item link")
    contains(page(SITE, ROOM + "meetings-2026-11.html"),
             "1 decision · 1 action item", "meeting row")


@test
def target_changelog_across_rooms():
    t = page(SITE, "targets/web1/index.html")
    eq(re.findall(r'<a href="([^"]+)">(C\d)</a>', t),
       [("../../rooms/ops-example-org/changes-2026-11.html#C2", "C2"),
        ("../../rooms/ops-example-org/changes-2026-11.html#C1", "C1")],
       "web1's changes, newest first, linked to their anchors")
    contains(Page(t).words(), "2 changes", "count")
    contains(Page(t).words(), "1 deploy", "deploys")
    month = page(SITE, "targets/web1/2026-11.html")
    assert "C3" not in month, "another target's change"


@test
def room_charts_are_svg_that_parses():
    room = page(SITE, ROOM + "index.html")
    charts = [s for s in svgs(room) if 'class="chart"' in s]
    eq([ET.fromstring(s).find("{http://www.w3.org/2000/svg}title").text
        for s in charts], ["Open action items", "Deploys", "Incidents"],
       "charts")
    for rel, p in pages_of(SITE).items():
        for s in svgs(page(SITE, rel)):
            try:
                ET.fromstring(s)
            except ET.ParseError as e:
                raise AssertionError("%s: %s in %r" % (rel, e, s[:300]))
    line = ET.fromstring(charts[0])
    pts = line.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    eq(len(pts), 8, "eight weeks at least")
    dots = [c.find("{http://www.w3.org/2000/svg}title").text
            for c in line.iter("{http://www.w3.org/2000/svg}circle")]
    eq(dots[-1], "week of 2026-11-09: 4", "open at the end of the last week")


# ---- safe to publish ----

@test
def strict_csp_and_nothing_from_elsewhere():
    pages = pages_of(SITE)
    assert len(pages) > 20, sorted(pages)
    for rel, p in pages.items():
        eq(p.problems, [], rel + ": markup")
        metas = [dict(a) for t, a in p.attrs if t == "meta"
                 and dict(a).get("http-equiv") == "Content-Security-Policy"]
        eq([m.get("content") for m in metas], [CSP], rel + ": CSP")
        for tag, attrs in p.attrs:
            for k, v in attrs:
                assert not k.startswith("on"), "%s: <%s %s>" % (rel, tag, k)
                assert k != "style", "%s: inline style on <%s>" % (rel, tag)
        depth = rel.count("/")
        eq(p.scripts, ["../" * depth + "site.js"], rel + ": scripts")
        for tag, k, v in p.links:
            if v.startswith("https://matrix.to/#/"):
                eq(tag, "a", rel + ": matrix.to only as a link")
                continue
            u = urllib.parse.urlsplit(v)
            assert not u.scheme and not u.netloc and not v.startswith("/"), \
                "%s: %s=%r is not relative" % (rel, k, v)
    for rel, data in read_tree(SITE).items():
        if rel.endswith((".css", ".js")):
            text = data.decode()
            assert "http:" not in text and "https:" not in text and \
                "@import" not in text and "url(" not in text, rel


@test
def every_link_resolves():
    pages = pages_of(SITE)
    for rel, p in pages.items():
        for tag, k, v in p.links:
            if v.startswith("https://matrix.to/#/"):
                continue
            u = urllib.parse.urlsplit(v)
            target = os.path.normpath(os.path.join(os.path.dirname(rel), u.path)) \
                if u.path else rel
            assert os.path.isfile(os.path.join(SITE, target)), \
                "%s: %s=%r -> %s" % (rel, k, v, target)
            if u.fragment:
                assert target in pages and u.fragment in pages[target].ids, \
                    "%s: %r: no anchor" % (rel, v)


@test
def search_index_is_json_of_every_record():
    seen = {}
    for rel, data in read_tree(SITE).items():
        if not rel.startswith("search/"):
            continue
        m = re.fullmatch(r"scribe_index\((\"[^\"]+\"),(\".*?\"),(\[.*\])\);\n",
                         data.decode(), re.S)
        assert m, rel
        token, room, items = (json.loads(m.group(i)) for i in (1, 2, 3))
        eq("search/" + token + ".js", rel, "token")
        for item in items:
            seen[item[0]] = item
    eq(sorted(seen), sorted(r["id"] for r in RECORDS), "every record")
    eq(seen["C2"], ["C2", "deployed api 2.0", "", "web1 deploy"], "entry")
    form = page(SITE, "search.html")
    contains(form, 'data-shards="infra-example-org/changes-2026-11 '
             'ops-example-org/todos-2026-11 ops-example-org/decisions-2026-11',
             "parts, newest month first")


# ---- same store, same bytes ----

@test
def same_store_same_bytes_and_nothing_rewritten():
    again = export(STORE, os.path.join(tmp, "site-again"))
    eq(read_tree(again), read_tree(SITE), "a second site")
    past = 1000000000
    for root, _, files in os.walk(again):
        for f in files:
            os.utime(os.path.join(root, f), (past, past))
    export(STORE, again)
    moved = [os.path.relpath(os.path.join(r, f), again)
             for r, _, fs in os.walk(again) for f in fs
             if os.stat(os.path.join(r, f)).st_mtime != past]
    eq(moved, [], "pages written again")


@test
def a_new_record_rewrites_only_its_pages():
    store = import_store("grow", RECORDS)
    site = export(store, os.path.join(tmp, "site-grow"))
    past = 1000000000
    for root, _, files in os.walk(site):
        for f in files:
            os.utime(os.path.join(root, f), (past, past))
    new = rec("C4", "dns ttl lowered", tags=["dns"], room=INFRA,
              created="2026-11-11T08:00:00Z")
    run("import", "--store", store, stdin=json.dumps(new) + "\n", check=True)
    export(store, site)
    moved = sorted(os.path.relpath(os.path.join(r, f), site)
                   for r, _, fs in os.walk(site) for f in fs
                   if os.stat(os.path.join(r, f)).st_mtime != past)
    eq(moved, ["index.html", "rooms/infra-example-org/changes-2026-11.html",
               "rooms/infra-example-org/index.html",
               "search/infra-example-org/changes-2026-11.js",
               "targets/dns/2026-11.html", "targets/dns/index.html"],
       "pages written")


@test
def pages_no_longer_in_the_site_go_and_nothing_else():
    site = export(STORE, os.path.join(tmp, "site-shrink"))
    for own in ("CNAME", "rooms/notes.txt", "decisions/README"):
        with open(os.path.join(site, own), "w") as f:
            f.write("mine\n")
    gone = [dict(r, withdrawn=True) if r["id"] in ("D4", "M1") else r
            for r in RECORDS]
    export(import_store("withdrawn", gone), site)
    files = set(read_tree(site))
    for rel in ("decisions/0/D4.html", "meetings/0/M1.html",
                ROOM + "meetings-2026-11.html",
                "search/ops-example-org/meetings-2026-11.js"):
        assert rel not in files, rel + " is still there"
    for own in ("CNAME", "rooms/notes.txt", "decisions/README"):
        assert own in files, own + " was removed"
    assert "we keep the wiki" not in "".join(
        d.decode() for d in read_tree(site).values() if True), \
        "a withdrawn record is still published"


@test
def filters_keep_links_whole():
    for extra in (("--kind", "decision"), ("--room", INFRA),
                  ("--since", "2026-11-05"), ("--kind", "todo,change")):
        site = export(STORE, os.path.join(tmp, "site-f-" + "-".join(extra)
                                          .replace("!", "").replace(":", "")),
                      *extra)
        pages = pages_of(site)
        for rel, p in pages.items():
            for tag, k, v in p.links:
                if v.startswith("https://matrix.to/#/"):
                    continue
                u = urllib.parse.urlsplit(v)
                target = os.path.normpath(os.path.join(os.path.dirname(rel),
                                                       u.path)) if u.path else rel
                assert os.path.isfile(os.path.join(site, target)), \
                    "%s: %s: %r" % (extra, rel, v)
    d = set(read_tree(os.path.join(tmp, "site-f---kind-decision")))
    assert "meetings/0/M1.html" not in d and "decisions/0/D1.html" in d, sorted(d)


@test
def stamp_prints_the_time_only_when_asked():
    assert "Generated" not in page(SITE, "index.html"), "a stamp by default"
    site = export(STORE, os.path.join(tmp, "site-stamp"), "--stamp")
    contains(page(site, "index.html"), "Generated 20", "stamp")


@test
def usage_errors():
    p = run("export", "--format", "html", "--store", STORE)
    eq(p.returncode, 2, "exit without -o")
    contains(p.stderr, "html writes a site into a folder: give -o DIR", "stderr")
    blocked = os.path.join(tmp, "blocked")
    os.makedirs(blocked)
    with open(os.path.join(blocked, "rooms"), "w") as f:
        f.write("a file where a folder goes\n")
    p = run("export", "--format", "html", "--store", STORE, "-o", blocked)
    eq(p.returncode, 1, "exit")
    contains(p.stderr, "cannot create directory '%s/rooms'" % blocked, "stderr")


# ---- hostile records ----

EVIL_USER = "@<img src=x onerror=alert(1)>:evil.org"
TICK_ROOM = "!x`<img src=y onerror=alert(2)>`:evil.org"
HOSTILE = [
    rec("T1", "<script>alert(1)</script>", assignees=[BOB], event_id="$a\"><b"),
    rec("T2", '"><img src=x onerror=alert(1)>', assignees=[EVIL_USER],
        tags=["<b>x</b>"]),
    rec("D1", "[click me](javascript:alert(document.cookie))",
        detail="a | b\nsecond line | c"),
    rec("D2", "javascript:alert(1)"),
    rec("D4", "<" * 16000),
    rec("D5", "old way", status="superseded", superseded_by="D6"),
    rec("D6", "x](javascript:alert(1)) [y"),
    rec("C1", "=cmd|' /C calc'!A0", author='@=HYPERLINK("http://e/"):evil.org',
        tags=["\"><script>x</script>", "javascript:alert(1)"]),
    rec("M1", "sync\n# fake heading", room=TICK_ROOM, status="ended",
        closed="2026-11-02T10:00:00Z", attendees=[EVIL_USER],
        notes=[{"ts": "2026-11-02T09:05:00Z", "author": EVIL_USER,
                "kind": "info", "text": "<script>x</script>"}]),
    rec("D7", "intruder page", room="!OPS:example.org",
        created="2026-11-03T09:00:00Z"),
]


@test
def hostile_records_stay_text():
    store = import_store("hostile", HOSTILE)
    site = export(store, os.path.join(tmp, "site-hostile"))
    pages = pages_of(site)
    for rel, p in pages.items():
        eq(p.problems, [], rel + ": markup")
        depth = rel.count("/")
        eq(p.scripts, ["../" * depth + "site.js"], rel + ": a script of a record")
        for tag, attrs in p.attrs:
            assert tag not in ("img", "b", "script") or tag == "script", \
                "%s: <%s> from a record" % (rel, tag)
            for k, v in attrs:
                assert not k.startswith("on"), "%s: <%s %s=%r>" % (rel, tag, k, v)
        for tag, k, v in p.links:
            assert "javascript:" not in v.lower(), "%s: %s=%r" % (rel, k, v)
            if v.startswith("https://matrix.to/#/"):
                assert re.fullmatch(r"https://matrix\.to/#/[A-Za-z0-9%._~-]+/"
                                    r"[A-Za-z0-9%._~-]+", v), v
                continue
            assert not urllib.parse.urlsplit(v).scheme, "%s: %r" % (rel, v)
    # (the search index holds the text as JSON strings, read as data)
    text = "".join(d.decode() for rel, d in read_tree(site).items()
                   if rel.endswith(".html"))
    assert "<script>alert" not in text and "<img src" not in text, "raw markup"
    d4 = page(site, "decisions/0/D4.html")
    contains(d4, "&lt;" * 16000, "16,000 '<' as text")
    contains(page(site, "decisions/0/D1.html"),
             "[click me](javascript:alert(document.cookie))", "text, not a link")
    contains(page(site, "rooms/ops-example-org/todos-2026-11.html"),
             "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;", "escaped")
    contains(page(site, "rooms/ops-example-org/todos-2026-11.html"),
             'href="https://matrix.to/#/%21ops%3Aexample.org/%24a%22%3E%3Cb"',
             "event id encoded")
    rooms = sorted(os.listdir(os.path.join(site, "rooms")))
    eq(rooms, ["ops-example-org", "ops-example-org-2",
               "x-img-src-y-onerror-alert-2-evil-org"],
       "the stranger's room gets a folder of its own")
    contains(page(site, "rooms/ops-example-org-2/index.html"), "!OPS:example.org",
             "the stranger's page")
    targets = sorted(os.listdir(os.path.join(site, "targets")))
    eq(targets, ["_22_3e_3cscript_3ex_3c_2fscript_3e",
                 "javascript_3aalert_281_29"], "target folders (changes' tags)")
    for rel, data in read_tree(site).items():
        if rel.startswith("search/"):
            m = re.fullmatch(r"scribe_index\((\".*?\"),(\".*?\"),(\[.*\])\);\n",
                             data.decode(), re.S)
            assert m, rel
            for item in json.loads(m.group(3)):
                want = [r for r in HOSTILE if r["id"] == item[0]][0]
                eq(item[1], want["text"], "indexed text")


# ---- golden pages ----

GOLDEN_PAGES = ("index.html", ROOM + "index.html", ROOM + "changes-2026-11.html",
                "decisions/0/D2.html", "meetings/0/M1.html",
                "targets/web1/index.html", "search.html",
                "search/ops-example-org/decisions-2026-11.js")


@test
def golden_pages():
    if os.environ.get("SCRIBE_UPDATE_GOLDEN"):
        for rel in GOLDEN_PAGES:
            dst = os.path.join(GOLDEN, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(SITE, rel), dst)
    for rel in GOLDEN_PAGES:
        want = open(os.path.join(GOLDEN, rel), encoding="utf-8").read()
        got = page(SITE, rel)
        if got != want:
            a, b = want.splitlines(), got.splitlines()
            i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]),
                     min(len(a), len(b)))
            raise AssertionError("%s differs at line %d: want %r, got %r" % (
                rel, i + 1, a[i:i + 1], b[i:i + 1]))


# ---- a real browser ----

class Chromium:
    """Headless chromium driven over the DevTools protocol on a pipe
    (--remote-debugging-pipe: fds 3 and 4, NUL-terminated JSON), so no
    websocket library is needed. Every call is bounded in time."""

    def __init__(self):
        exe = shutil.which("chromium")
        if not exe:
            raise AssertionError("chromium is not installed: run "
                                 "`sh docker/install-deps.sh --test`")
        self.profile = tempfile.mkdtemp(prefix="scribe-chromium-")
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()

        def child():
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", "--hide-scrollbars",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
             "about:blank"],
            close_fds=False, preexec_fn=child, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.w, self.r = to_w, from_r
        self.buf, self.n, self.events = b"", 0, []
        target = self.call("Target.createTarget", {"url": "about:blank"})
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target["targetId"],
                                  "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": 1600, "deviceScaleFactor": 1,
                   "mobile": False}, session=True)

    def _recv(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                return None
            data = os.read(self.r, 1 << 20)
            if not data:
                raise AssertionError("chromium went away")
            self.buf += data
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=False, timeout=30):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._recv(deadline)
            if m is None:
                raise AssertionError("chromium: no answer to " + method)
            if m.get("id") == self.n:
                if "error" in m:
                    raise AssertionError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def pump(self, secs):
        deadline = time.monotonic() + secs
        while True:
            m = self._recv(deadline)
            if m is None:
                return
            self.events.append(m)

    def js(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True}, session=True)
        return r.get("result", {}).get("value")

    def load(self, url):
        """Open url and wait until it has loaded; the problems it had:
        console messages, exceptions, log entries (CSP violations,
        failed loads) and failed requests."""
        self.events = []
        self.call("Page.navigate", {"url": url}, session=True)
        deadline = time.monotonic() + 30
        while not any(e.get("method") == "Page.loadEventFired"
                      for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError("%s did not load" % url)
            self.pump(0.2)
        self.pump(0.3)
        return self.problems()

    def problems(self):
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled":
                out.append("console %s: %s" % (p.get("type"), [
                    a.get("value") for a in p.get("args", [])]))
            elif m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m == "Log.entryAdded":
                out.append("log %s: %s" % (p["entry"].get("level"),
                                           p["entry"].get("text")))
            elif m == "Network.loadingFailed":
                out.append("failed request: %s" % p.get("errorText"))
        return out

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"},
                         session=True)["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except AssertionError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        shutil.rmtree(self.profile, True)


BROWSER_PAGES = ("index.html", ROOM + "index.html", ROOM + "changes-2026-11.html",
                 ROOM + "todos-2026-10.html", "decisions/0/D2.html",
                 "meetings/0/M1.html", "targets/web1/index.html",
                 "targets/web1/2026-11.html", "search.html")


@test
def browser_from_file_no_error_and_search_finds_a_record():
    c = Chromium()
    try:
        for rel in BROWSER_PAGES:
            url = "file://" + os.path.join(os.path.abspath(SITE), rel)
            eq(c.load(url), [], rel + ": problems in the browser")
            if rel in ("index.html", ROOM + "index.html"):
                c.screenshot(os.path.join(ARTEFACTS, rel.replace("/", "_")
                                          .replace(".html", ".png")))
        eq(c.js("document.styleSheets.length && getComputedStyle("
                "document.querySelector('header.top')).display"), "flex",
           "the style sheet applies")
        # dark mode: the page and its pictures follow prefers-color-scheme
        c.call("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark"}]}, session=True)
        eq(c.load("file://" + os.path.join(os.path.abspath(SITE), ROOM +
                                           "index.html")), [], "dark")
        eq(c.js("getComputedStyle(document.body).backgroundColor"),
           "rgb(21, 24, 28)", "dark background")
        eq(c.js("getComputedStyle(document.querySelector('.c-line')).stroke"),
           "rgb(110, 162, 255)", "a chart's line in dark mode")
        c.screenshot(os.path.join(ARTEFACTS, "rooms_ops-example-org_index-dark.png"))
        c.call("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "light"}]}, session=True)
        # the change log's filter: made by the script, hides rows
        c.load("file://" + os.path.join(os.path.abspath(SITE), ROOM +
                                        "changes-2026-11.html"))
        eq(c.js("(function(){var i=document.querySelector('input.filter');"
                "i.value='#deploy';i.dispatchEvent(new Event('input'));"
                "return Array.prototype.map.call(document.querySelectorAll("
                "'tbody tr'),function(r){return r.hidden?'-':r.id}).join(' ')})()"),
           "- C2", "filtered by tag")
        # type a word in the search box
        eq(c.load("file://" + os.path.join(os.path.abspath(SITE), "search.html")),
           [], "search page")
        deadline = time.monotonic() + 20
        while c.js("document.getElementById('search').getAttribute("
                   "'data-ready')") != "yes":
            assert time.monotonic() < deadline, "the index did not load"
            c.pump(0.1)
        c.js("(function(){var i=document.querySelector('#search input');"
             "i.value='rack';i.dispatchEvent(new Event('input'))})()")
        deadline = time.monotonic() + 10
        while "T1" not in (c.js("document.getElementById('search-results')"
                                ".textContent") or ""):
            assert time.monotonic() < deadline, "no result for 'rack'"
            c.pump(0.1)
        eq(c.js("Array.prototype.map.call(document.querySelectorAll("
                "'#search-results a'),function(a){return a.getAttribute('href')})"),
           ["rooms/ops-example-org/todos-2026-10.html#T1"], "the result's link")
        contains(c.js("document.getElementById('search-status').textContent"),
                 "1 record found", "status")
        # a search from the box in a page's header (a form, ?q=)
        c.load("file://" + os.path.join(os.path.abspath(SITE), "search.html")
               + "?q=jira")
        deadline = time.monotonic() + 10
        while c.js("document.querySelectorAll('#search-results li').length") != 2:
            assert time.monotonic() < deadline, "?q=jira found no 2 records"
            c.pump(0.1)
        eq(c.problems(), [], "search problems")
    finally:
        c.close()


@test
def meetings_at_the_same_time_keep_their_own_minutes():
    # two rooms meet at once: their items, notes and attendees arrive
    # interleaved in store order; a third meeting has none of them
    carol = "@carol:example.org"
    recs = [
        rec("M10", "ops sync", status="ended", closed="2026-11-03T10:00:00Z",
            created="2026-11-03T09:00:00Z",
            notes=[{"ts": "2026-11-03T09:01:00Z", "author": ALICE,
                    "kind": "topic", "text": "budget"},
                   {"ts": "2026-11-03T09:08:00Z", "author": BOB,
                    "kind": "info", "text": "we are over"}],
            attendees=[ALICE, BOB]),
        rec("M11", "infra sync", room=INFRA, author=carol, status="ended",
            closed="2026-11-03T10:00:00Z", created="2026-11-03T09:01:00Z",
            notes=[{"ts": "2026-11-03T09:02:00Z", "author": carol,
                    "kind": "topic", "text": "disks"},
                   {"ts": "2026-11-03T09:03:00Z", "author": carol,
                    "kind": "info", "text": "a note taken back",
                    "withdrawn": "2026-11-03T09:04:00Z"}],
            attendees=[carol]),
        rec("T20", "order disks", assignees=[BOB], meeting="M10",
            created="2026-11-03T09:02:00Z"),
        rec("C20", "moved backups", room=INFRA, tags=["nas"], meeting="M11",
            created="2026-11-03T09:03:00Z"),
        rec("D20", "buy more", meeting="M10", created="2026-11-03T09:04:00Z"),
        rec("T21", "check smart", room=INFRA, meeting="M11", withdrawn=True,
            created="2026-11-03T09:05:00Z"),
        rec("M12", "empty meeting", status="ended",
            closed="2026-11-03T09:30:00Z", created="2026-11-03T09:06:00Z"),
        rec("I20", "ups alarm", meeting="M10", created="2026-11-03T09:07:00Z"),
    ]
    store = import_store("together", recs)
    site = export(store, os.path.join(tmp, "site-together"))
    m10 = Page(page(site, "meetings/0/M10.html")).words()
    for part in ("Attending alice bob", "Agenda budget",
                 "Notes 09:08 bob: we are over",
                 "Decisions made D20 buy more",
                 "Incidents I20 ups alarm",
                 "Actionable items ☐ bob: order disks (T20)"):
        contains(m10, part, "M10")
    m11 = Page(page(site, "meetings/0/M11.html")).words()
    for part in ("Attending carol", "Agenda disks",
                 "Changes C20 moved backups", "No action items."):
        contains(m11, part, "M11")
    m12 = Page(page(site, "meetings/0/M12.html")).words()
    for part in ("nobody spoke", "No action items."):
        contains(m12, part, "M12")
    for name, words, others in (
            ("M10", m10, ("Agenda budget disks", "moved backups",
                          "check smart", "carol", "a note taken back")),
            ("M11", m11, ("budget", "order disks", "buy more", "ups alarm",
                          "a note taken back", "check smart", "alice")),
            ("M12", m12, ("budget", "disks", "order disks", "moved backups",
                          "buy more", "ups alarm", "Attending alice"))):
        for w in others:
            assert w not in words, "%s shows %r: %s" % (name, w, words)
    contains(page(site, "rooms/ops-example-org/meetings-2026-11.html"),
             "1 decision · 1 action item · 1 incident", "M10's row")
    # one room's export: the same minutes for its meeting
    one = export(store, os.path.join(tmp, "site-together-infra"),
                 "--room", INFRA)
    eq(page(one, "meetings/0/M11.html"), page(site, "meetings/0/M11.html"),
       "M11 alone")


@test
def a_meeting_stored_after_a_later_one_keeps_its_minutes():
    # an import in another order: October's meeting comes after
    # November's, so October's month of the log is written again after
    # the pass, its meeting's minutes asked of the store
    recs = [
        rec("M2", "november sync", status="ended",
            closed="2026-11-10T10:00:00Z", created="2026-11-10T09:00:00Z"),
        rec("M1", "october sync", status="ended",
            closed="2026-10-20T10:00:00Z", created="2026-10-20T09:00:00Z",
            notes=[{"ts": "2026-10-20T09:01:00Z", "author": BOB,
                    "kind": "topic", "text": "the rack"},
                   {"ts": "2026-10-20T09:02:00Z", "author": BOB,
                    "kind": "info", "text": "it is full"}],
            attendees=[BOB]),
        rec("T30", "buy a rack", assignees=[BOB], meeting="M1",
            created="2026-10-20T09:10:00Z"),
    ]
    store = import_store("late-meeting", recs)
    site = export(store, os.path.join(tmp, "site-late-meeting"))
    m1 = Page(page(site, "meetings/0/M1.html")).words()
    for part in ("Attending bob", "Agenda the rack",
                 "Notes 09:02 bob: it is full",
                 "Actionable items ☐ bob: buy a rack (T30)"):
        contains(m1, part, "M1")
    contains(page(site, "rooms/ops-example-org/meetings-2026-10.html"),
             "1 action item", "M1's row")


@test
def numbered_pages_sit_in_folders_of_a_hundred():
    recs = [rec("D999", "use postgres", status="superseded",
                superseded_by="D1234", created="2026-11-02T09:00:00Z"),
            rec("M2001", "quarterly review", status="ended",
                closed="2026-11-03T10:00:00Z", created="2026-11-03T09:00:00Z"),
            rec("D1234", "use cockroach", meeting="M2001",
                created="2026-11-03T09:20:00Z")]
    store = import_store("thousands", recs)
    site = os.path.join(tmp, "site-thousands")
    os.makedirs(os.path.join(site, "decisions", "9"))
    os.makedirs(os.path.join(site, "decisions", "12"))
    # an earlier version's flat page, a page in the wrong folder, and a
    # file of the user's own beside the pages
    for rel in ("decisions/D999.html", "decisions/9/D1234.html",
                "decisions/12/notes.txt"):
        with open(os.path.join(site, rel), "w") as f:
            f.write("old\n")
    export(store, site)
    files = set(read_tree(site))
    for rel in ("decisions/9/D999.html", "decisions/12/D1234.html",
                "meetings/20/M2001.html", "decisions/12/notes.txt"):
        assert rel in files, rel + " is missing"
    for rel in ("decisions/D999.html", "decisions/9/D1234.html"):
        assert rel not in files, rel + " is still there"
    contains(page(site, "decisions/9/D999.html"),
             'Superseded by <a href="../../decisions/12/D1234.html">D1234. '
             'use cockroach</a>', "link across folders")
    contains(page(site, "decisions/12/D1234.html"),
             '<a href="../../meetings/20/M2001.html">M2001</a>', "meeting")
    contains(page(site, "index.html"),
             '<a href="decisions/12/D1234.html">D1234</a>', "index")
    c = Chromium()
    try:
        c.load("file://" + os.path.join(os.path.abspath(site), "search.html")
               + "?q=cockroach")
        deadline = time.monotonic() + 10
        while c.js("document.querySelectorAll('#search-results li').length") != 1:
            assert time.monotonic() < deadline, "?q=cockroach found nothing"
            c.pump(0.1)
        eq(c.js("document.querySelector('#search-results a')"
                ".getAttribute('href')"), "decisions/12/D1234.html",
           "the search result's link")
        eq(c.problems(), [], "search problems")
    finally:
        c.close()


@test
def a_successor_stored_first_keeps_its_history():
    # D9 is stored before D8, which it supersedes: D9's page is written
    # again after the pass, from the store, with its whole history
    recs = [rec("D9", "use postgres 16", status="accepted",
                created="2026-11-02T09:00:00Z",
                history=[{"ts": "2026-11-02T09:00:00Z", "actor": ALICE,
                          "field": "created", "new": "proposed"},
                         {"ts": "2026-11-03T09:00:00Z", "actor": BOB,
                          "field": "status", "old": "proposed",
                          "new": "accepted"}]),
            rec("D8", "use postgres 15", status="superseded",
                superseded_by="D9", created="2026-11-01T09:00:00Z")]
    site = export(import_store("successor-first", recs),
                  os.path.join(tmp, "site-successor-first"))
    d9 = page(site, "decisions/0/D9.html")
    contains(d9, 'Supersedes <a href="../../decisions/0/D8.html">D8. '
             'use postgres 15</a>', "the late link")
    contains(d9, "status: proposed → accepted", "its history")


@test
def browser_over_http():
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(
        *a, directory=os.path.abspath(SITE), **kw)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    c = Chromium()
    try:
        base = "http://127.0.0.1:%d/" % srv.server_address[1]
        for rel in ("index.html", ROOM + "index.html", "decisions/0/D1.html"):
            eq(c.load(base + rel), [], rel + " over http")
    finally:
        c.close()
        srv.shutdown()
        srv.server_close()


@test
def hostile_site_in_the_browser():
    site = os.path.join(tmp, "site-hostile")
    c = Chromium()
    try:
        for rel in ("index.html", "rooms/ops-example-org/index.html",
                    "decisions/0/D4.html", "meetings/0/M1.html",
                    "rooms/ops-example-org/changes-2026-11.html"):
            eq(c.load("file://" + os.path.join(site, rel)), [], rel)
            eq(c.js("window.__pwned === undefined && document.querySelectorAll("
                    "'img,b').length"), 0, rel + ": markup of a record")
    finally:
        c.close()


sys.exit(exit_status())
