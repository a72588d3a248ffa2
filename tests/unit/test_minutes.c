/* SPDX-License-Identifier: MIT */
/*
 * test_minutes.c - meetings end to end with an injected clock. Golden
 * files: each tests/data/minutes/NAME.chat conversation is said through
 * the real engine (engine_message) on a fresh store, then `scribe
 * export --format minutes` (export_run) must write exactly the files of
 * tests/data/minutes/NAME/, byte for byte, and the JSON export must be
 * tests/data/minutes/NAME.jsonl (which tests/admin/test_minutes.py
 * imports back into the same minutes): seed 000's infrastructure
 * meeting, a Template A strategy meeting and a Template B review. Then
 * the automatic end of a meeting left running ([meeting] max_duration),
 * exactly once across a failed post and a restart, and a restart in the
 * middle of a meeting, which keeps it running.
 *
 * SCRIBE_UPDATE_GOLDEN=1 rewrites the golden files from what scribe
 * writes now (then read the diff before committing it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "autoend.h"
#include "config.h"
#include "engine.h"
#include "export.h"
#include "store.h"
#include "when.h"
#include "banned.h"

#define HOUR 3600

/* tests/data/minutes, from this file's path as the Makefile compiles it
 * ("tests/unit/test_minutes.c" from the repository root). */
static const char *data_dir(void)
{
	static char path[512];
	const char *me = __FILE__, *cut = strstr(me, "tests/unit/");
	int n = cut ? (int)(cut - me) : 0;

	snprintf(path, sizeof(path), "%.*stests/data/minutes", n, me);
	return path;
}

static int64_t utc(const char *iso)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm))
		th_fail(__FILE__, __LINE__, "bad time '%s' in test", iso);
	return (int64_t)timegm(&tm);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct sbuf sb;
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	sbuf_init(&sb, 0);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&sb, buf, n);
	fclose(f);
	if (len)
		*len = sb.len;
	return sbuf_detach(&sb, NULL);
}

static void spit(const char *path, const char *s, size_t len)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	CHECK(fwrite(s, 1, len, f) == len);
	fclose(f);
}

/* ---- a conversation ---- */

struct talk {
	struct store *st;
	struct config cfg;
	char room[256];
	char as[256];
	int64_t now;
	int evno;
	struct reply out;  /* the last reply */
	int handled;
};

static void talk_open(struct talk *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	CHECK_OK(config_defaults(&t->cfg));
	CHECK_OK(store_open(path, &t->st));
	snprintf(t->room, sizeof(t->room), "!ops:example.org");
	snprintf(t->as, sizeof(t->as), "@dc:example.org");
	t->now = utc("2026-11-23T15:00:00Z");
	reply_init(&t->out);
	CHECK_OK(engine_room_ensure(t->st, t->room, t->now));
}

static void talk_close(struct talk *t)
{
	reply_clear(&t->out);
	store_close(t->st);
	config_free(&t->cfg);
}

static void say(struct talk *t, const char *line)
{
	struct message m;
	char ev[64];

	snprintf(ev, sizeof(ev), "$t%d", ++t->evno);
	memset(&m, 0, sizeof(m));
	m.room_id = t->room;
	m.sender = t->as;
	m.event_id = ev;
	m.body = line;
	m.ts = t->now;
	reply_clear(&t->out);
	reply_init(&t->out);
	CHECK_OK(engine_room_ensure(t->st, t->room, t->now));
	CHECK_OK(engine_message(t->st, &t->cfg, &m, t->now, &t->out, &t->handled));
}

/* One line of a .chat file: the directives of tests/cmd (@now, @advance,
 * @tz, @room, @member, @as) and "> line"; a reply that is an error
 * fails the test (the conversation is meant to be right). */
static void chat_line(struct talk *t, char *line, const char *file, int no)
{
	if (!strncmp(line, "@now ", 5)) {
		t->now = utc(line + 5);
	} else if (!strncmp(line, "@advance ", 9)) {
		int64_t d;
		CHECK_OK(when_parse_duration(line + 9, &d));
		t->now += d;
	} else if (!strncmp(line, "@tz ", 4)) {
		struct room r;
		CHECK_OK(engine_room_ensure(t->st, t->room, t->now));
		CHECK_OK(store_room_get(t->st, t->room, &r));
		free(r.tz);
		r.tz = strdup(line + 4);
		CHECK_OK(store_room_put(t->st, &r));
		room_clear(&r);
	} else if (!strncmp(line, "@room ", 6)) {
		snprintf(t->room, sizeof(t->room), "%s", line + 6);
		CHECK_OK(engine_room_ensure(t->st, t->room, t->now));
	} else if (!strncmp(line, "@as ", 4)) {
		snprintf(t->as, sizeof(t->as), "%s", line + 4);
	} else if (!strncmp(line, "@member ", 8)) {
		char uid[256], name[256] = "";
		int power = 0, n = 0;
		CHECK_OK(engine_room_ensure(t->st, t->room, t->now));
		if (sscanf(line + 8, "%255s %d %n", uid, &power, &n) >= 2 && n)
			snprintf(name, sizeof(name), "%s", line + 8 + n);
		CHECK_OK(store_member_put(t->st, t->room, uid, name[0] ? name : NULL,
					  "join", power));
	} else if (!strncmp(line, "> ", 2)) {
		say(t, line + 2);
		if (t->handled && t->out.failed)
			th_fail(file, no, "'%s' was refused: %s", line + 2, t->out.body.buf);
	} else {
		th_fail(file, no, "unknown line '%s'", line);
	}
}

static void chat_file(struct talk *t, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int no = 0;

	if (!f)
		th_fail(__FILE__, __LINE__, "cannot open '%s'", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		no++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		chat_line(t, line, path, no);
	}
	free(line);
	fclose(f);
}

/* ---- golden files ---- */

/* Compare every file of dir `got` with `want` (same names, same
 * bytes); with SCRIBE_UPDATE_GOLDEN set, write want from got instead. */
static void same_tree(const char *got, const char *want)
{
	const char *update = getenv("SCRIBE_UPDATE_GOLDEN");
	struct dirent *e;
	DIR *d;
	int ngot = 0, nwant = 0;

	if (update && *update)
		mkdir(want, 0777);
	d = opendir(got);
	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL) {
		char gp[4096], wp[4096];
		char *g, *w;
		size_t gl = 0, wl = 0;

		if (e->d_name[0] == '.')
			continue;
		ngot++;
		snprintf(gp, sizeof(gp), "%s/%s", got, e->d_name);
		snprintf(wp, sizeof(wp), "%s/%s", want, e->d_name);
		g = slurp(gp, &gl);
		CHECK(g != NULL);
		if (update && *update)
			spit(wp, g, gl);
		w = slurp(wp, &wl);
		if (!w) {
			closedir(d);
			th_fail(__FILE__, __LINE__, "scribe wrote '%s', which has no golden "
				"file '%s'", e->d_name, wp);
		}
		if (gl != wl || memcmp(g, w, gl)) {
			size_t i = 0;
			while (i < gl && i < wl && g[i] == w[i])
				i++;
			closedir(d);
			th_fail(__FILE__, __LINE__, "'%s' differs from its golden file at "
				"byte %zu:\n  got:  \"%.200s\"\n  want: \"%.200s\"",
				e->d_name, i, g + (i > 40 ? i - 40 : 0),
				w + (i > 40 ? i - 40 : 0));
		}
		free(g);
		free(w);
	}
	closedir(d);
	d = opendir(want);
	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		nwant += e->d_name[0] != '.';
	closedir(d);
	CHECK_INT(ngot, nwant);
}

static void same_file(const char *got, const char *want)
{
	const char *update = getenv("SCRIBE_UPDATE_GOLDEN");
	size_t gl = 0, wl = 0;
	char *g = slurp(got, &gl), *w;

	CHECK(g != NULL);
	if (update && *update)
		spit(want, g, gl);
	w = slurp(want, &wl);
	CHECK(w != NULL);
	if (gl != wl || memcmp(g, w, gl)) {
		size_t i = 0;
		while (i < gl && i < wl && g[i] == w[i])
			i++;
		th_fail(__FILE__, __LINE__, "'%s' differs from '%s' at byte %zu:\n"
			"  got:  \"%.200s\"\n  want: \"%.200s\"", got, want, i,
			g + (i > 40 ? i - 40 : 0), w + (i > 40 ? i - 40 : 0));
	}
	free(g);
	free(w);
}

/* Say NAME.chat, export minutes and JSON, compare with the golden. */
static void golden(const char *name, const char *tz)
{
	struct talk t;
	struct export_opts o;
	char chat[2048], dir[2048], want[2048], json[2048], wjson[2048];
	char *why = NULL;

	snprintf(chat, sizeof(chat), "%s/%s.chat", data_dir(), name);
	snprintf(dir, sizeof(dir), "%s/%s", th_tmpdir(), name);
	snprintf(want, sizeof(want), "%s/%s", data_dir(), name);
	snprintf(json, sizeof(json), "%s/%s.jsonl", th_tmpdir(), name);
	snprintf(wjson, sizeof(wjson), "%s/%s.jsonl", data_dir(), name);
	talk_open(&t, ":memory:");
	chat_file(&t, chat);
	memset(&o, 0, sizeof(o));
	o.format = FMT_MINUTES;
	o.out = dir;
	o.tz = tz;
	o.late_after = t.cfg.meeting_late_after;
	if (export_run(t.st, &o, &why))
		th_fail(__FILE__, __LINE__, "export: %s", why ? why : "?");
	o.format = FMT_JSON;
	o.out = json;
	if (export_run(t.st, &o, &why))
		th_fail(__FILE__, __LINE__, "export: %s", why ? why : "?");
	talk_close(&t);
	same_tree(dir, want);
	same_file(json, wjson);
}

/* Seed 000: Hypha's infrastructure meeting, with what the meeting
 * before it left open. */
static void test_golden_seed000(void)
{
	golden("seed000", "America/Toronto");
}

/* Seed 002's Template A, filled with its own example. */
static void test_golden_strategy(void)
{
	golden("strategy", "UTC");
}

/* Seed 002's Template B after a week of incidents and deploys. */
static void test_golden_review(void)
{
	golden("review", "UTC");
}

/* People in minutes are shown as their room knows them (people.h), as
 * in the follow-up items: the display name, and the full id when another
 * member looks the same, so nobody passes for someone else in the
 * attendance, the notes or the notetaker's line. */
static void test_lookalikes_shown_by_their_ids(void)
{
	static const char *const chat[] = {
		"@room !ops:example.org",
		"@member @alice:example.org 0 Alice",
		"@member @alice:evil.org 0 alice",
		"@member @bob:example.org 0 Bob B",
		"@now 2026-11-23T15:00:00Z",
		"@as @bob:example.org",
		"> #startmeeting Weekly",
		"@as @alice:evil.org",
		"> #notetaker @alice:evil.org",
		"> #info the keys are rotated",
		"@as @alice:example.org",
		"> #info nothing is rotated",
		"> #info not one key",
		"> #idea rotate them monthly",
		"@as @bob:example.org",
		"> #endmeeting",
		NULL
	};
	struct talk t;
	struct export_opts o;
	char dir[2048], path[2300], *why = NULL, *md;
	char line[256];

	talk_open(&t, ":memory:");
	for (size_t i = 0; chat[i]; i++) {
		snprintf(line, sizeof(line), "%s", chat[i]);
		chat_line(&t, line, __FILE__, __LINE__);
	}
	snprintf(dir, sizeof(dir), "%s/lookalikes", th_tmpdir());
	memset(&o, 0, sizeof(o));
	o.format = FMT_MINUTES;
	o.out = dir;
	o.tz = "UTC";
	if (export_run(t.st, &o, &why))
		th_fail(__FILE__, __LINE__, "export: %s", why ? why : "?");
	snprintf(path, sizeof(path), "%s/2026-11-23-m1-weekly.md", dir);
	md = slurp(path, NULL);
	CHECK(md != NULL);
	CHECK_CONTAINS(md, "Attending:\n- Bob B\n- @alice:evil.org\n"
			   "- @alice:example.org\n");
	CHECK_CONTAINS(md, "Notetaker: @alice:evil.org\n");
	CHECK_CONTAINS(md, "- 15:00 @alice:evil.org: the keys are rotated\n");
	/* most lines first, then in order of first word */
	CHECK_CONTAINS(md, "(lines said)\n\n- @alice:example.org (3)\n"
			   "- Bob B (2)\n- @alice:evil.org (2)\n");
	free(md);
	talk_close(&t);
}

/* ---- the automatic end ---- */

struct sink {
	struct store *st;
	int n;
	sc_err fail;
	char txn[256];
	char room[256];
	char *body;
};

static sc_err post(const char *room, const char *txn, const struct reply *r,
		   void *ctx)
{
	struct sink *s = ctx;
	sc_err err;

	if (s->fail)
		return s->fail;
	err = store_outbox_add(s->st, txn, room, "m.room.message", "{}", 0);
	if (err)
		return err;
	s->n++;
	snprintf(s->txn, sizeof(s->txn), "%s", txn);
	snprintf(s->room, sizeof(s->room), "%s", room);
	free(s->body);
	s->body = strdup(r->body.buf);
	return SC_OK;
}

static int run_due(struct talk *t, struct sink *s, int64_t now)
{
	int ended = -1;

	s->st = t->st;
	CHECK_OK(autoend_run_due(t->st, &t->cfg, now, post, s, &ended));
	return ended;
}

static void meeting_record(struct talk *t, int64_t num, struct record *m)
{
	CHECK_OK(store_record_get(t->st, REC_MEETING, num, m));
}

static void test_autoend_once(void)
{
	struct talk t;
	struct sink s;
	struct record m;
	struct room room;
	int64_t start;

	memset(&s, 0, sizeof(s));
	talk_open(&t, ":memory:");
	CHECK_OK(store_member_put(t.st, t.room, "@dc:example.org", NULL, "join", 0));
	start = t.now;
	say(&t, "!meeting start weekly ops");
	say(&t, "#topic backups");
	t.now += 10 * 60;
	snprintf(t.as, sizeof(t.as), "@elon:example.org");
	say(&t, "#info the backups are slow");
	/* not yet: 3h59m */
	CHECK_INT(run_due(&t, &s, start + 4 * HOUR - 60), 0);
	CHECK_INT(s.n, 0);
	/* scribe was down past the deadline; the post fails: nothing
	 * changes, the next run tries again */
	s.fail = SC_EIO;
	CHECK_INT(run_due(&t, &s, start + 6 * HOUR), 0);
	meeting_record(&t, 1, &m);
	CHECK_STR(m.status, "running");
	record_clear(&m);
	s.fail = SC_OK;
	CHECK_INT(run_due(&t, &s, start + 6 * HOUR), 1);
	CHECK_INT(s.n, 1);
	CHECK_STR(s.room, "!ops:example.org");
	CHECK_CONTAINS(s.txn, "meeting.!ops:example.org.");
	CHECK_CONTAINS(s.body, "M1 ran for 4h, the longest a meeting runs here "
			       "([meeting] max_duration), and was ended by scribe.\n"
			       "Minutes of M1: weekly ops\n"
			       "Mon 23 Nov 2026, 15:00–19:00 UTC (4h)\n"
			       "Attendees: dc, elon\nTopics:\n- backups\n"
			       "Notes:\n- the backups are slow (elon)");
	/* it ended at its deadline, by the bot's account */
	meeting_record(&t, 1, &m);
	CHECK_STR(m.status, "ended");
	CHECK_INT(m.closed, start + 4 * HOUR);
	record_clear(&m);
	CHECK_OK(store_room_get(t.st, t.room, &room));
	CHECK_INT(room.meeting, 0);
	room_clear(&room);
	/* never twice */
	CHECK_INT(run_due(&t, &s, start + 7 * HOUR), 0);
	CHECK_INT(run_due(&t, &s, start + 30 * HOUR), 0);
	CHECK_INT(s.n, 1);
	/* tags are chat again */
	say(&t, "#todo after the meeting");
	CHECK_INT(t.handled, 0);
	free(s.body);
	talk_close(&t);
}

static void test_autoend_configured(void)
{
	struct talk t;
	struct sink s;

	memset(&s, 0, sizeof(s));
	talk_open(&t, ":memory:");
	t.cfg.meeting_max_duration = 90 * 60;
	say(&t, "!meeting start short");
	CHECK_INT(run_due(&t, &s, t.now + 89 * 60), 0);
	CHECK_INT(run_due(&t, &s, t.now + 90 * 60), 1);
	CHECK_CONTAINS(s.body, "M1 ran for 1h 30m");
	CHECK_CONTAINS(s.body, "15:00–16:30 UTC (1h 30m)");
	/* a room without a meeting, and one whose meeting is young */
	say(&t, "!meeting start again");
	CHECK_INT(run_due(&t, &s, t.now + 60), 0);
	CHECK_INT(s.n, 1);
	free(s.body);
	talk_close(&t);
}

/* The meeting ends and its message is queued in one commit: a crash
 * before it (a real restart of a file store) ends it at the next run,
 * after it never again. */
static void test_autoend_restart(void)
{
	char path[1024];
	struct talk t;
	struct sink s;
	int64_t start;

	snprintf(path, sizeof(path), "%s/autoend.db", th_tmpdir());
	memset(&s, 0, sizeof(s));
	talk_open(&t, path);
	start = t.now;
	say(&t, "!meeting start forgotten");
	/* the batch that would end it is rolled back: a crash */
	CHECK_OK(store_tx_begin(t.st));
	CHECK_INT(run_due(&t, &s, start + 5 * HOUR), 1);
	CHECK_OK(store_tx_rollback(t.st));
	talk_close(&t);
	talk_open(&t, path);
	s.n = 0;
	CHECK_INT(run_due(&t, &s, start + 5 * HOUR), 1);
	CHECK_INT(s.n, 1);
	talk_close(&t);
	talk_open(&t, path);
	CHECK_INT(run_due(&t, &s, start + 6 * HOUR), 0);
	CHECK_INT(s.n, 1);
	free(s.body);
	talk_close(&t);
}

/* A restart in the middle of a meeting keeps it running: the next line
 * is recorded in it, attendance and chairs carry on. */
static void test_restart_keeps_meeting(void)
{
	char path[1024];
	struct talk t;
	struct record r, m;

	snprintf(path, sizeof(path), "%s/restart.db", th_tmpdir());
	talk_open(&t, path);
	CHECK_OK(store_member_put(t.st, t.room, "@elon:example.org", "Elon", "join", 0));
	say(&t, "#startmeeting weekly");
	say(&t, "#chair @elon");
	CHECK_STR(t.out.body.buf, "Chairs of M1: dc, elon");
	talk_close(&t);

	talk_open(&t, path);
	t.now += 20 * 60;
	snprintf(t.as, sizeof(t.as), "@elon:example.org");
	say(&t, "!meeting");
	CHECK_STR(t.out.body.buf, "Meeting M1 weekly is running since today 15:00, "
		  "chaired by dc, elon (0 items recorded); !meeting end for the minutes.");
	say(&t, "#action @elon restore the backups");
	CHECK(t.handled && !t.out.failed);
	CHECK_OK(store_record_get(t.st, REC_MEETING, 1, &m));
	CHECK_OK(store_record_get(t.st, REC_TODO, 1, &r));
	CHECK_INT(r.meeting, m.id);
	record_clear(&r);
	record_clear(&m);
	say(&t, "#endmeeting");
	CHECK_CONTAINS(t.out.body.buf, "Attendees: dc, elon (20m late)");
	CHECK_CONTAINS(t.out.body.buf, "- [ ] elon: restore the backups (T1)");
	talk_close(&t);
}

TESTS(TEST(test_golden_seed000), TEST(test_golden_strategy),
      TEST(test_golden_review), TEST(test_lookalikes_shown_by_their_ids),
      TEST(test_autoend_once),
      TEST(test_autoend_configured), TEST(test_autoend_restart),
      TEST(test_restart_keeps_meeting))
