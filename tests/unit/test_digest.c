/* SPDX-License-Identifier: MIT */
/*
 * test_digest.c - the daily digest with an injected clock, no sleeping:
 * slots in UTC, America/Toronto and Australia/Lord_Howe; a spring-forward
 * and a fall-back day post exactly one digest each; a downtime over
 * three slots posts one digest covering the gap; a crash at every point
 * around a send (post fails, rollback before commit, a real restart of
 * a file store) posts it on the next run, and after the commit never
 * again; empty windows; mentions only for overdue owners; hostile
 * records (16,300 `<`, control characters, thousands of items) never
 * make the digest too large to post.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "harness.h"
#include "commands.h"
#include "config.h"
#include "digest.h"
#include "log.h"
#include "store.h"
#include "when.h"
#include "banned.h"

#define ROOM "!ops:example.org"
#define ROOM2 "!dev:example.org"
#define HOUR 3600
#define DAY 86400

/* What the post callback saw; it also queues into the outbox like the
 * bot does, so a rollback takes the message back. */
struct sink {
	struct store *st;
	int n;
	sc_err fail;          /* return this instead of posting */
	char txn[16][256];
	char room[16][64];
	char body[16][4096];
	char mentions[16][512];
};

struct fix {
	struct store *st;
	struct config cfg;
	struct sink sink;
};

static int64_t utc(const char *iso)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm))
		th_fail(__FILE__, __LINE__, "bad time '%s' in test", iso);
	return (int64_t)timegm(&tm);
}

static sc_err post(const char *room, const char *txn, const struct reply *r,
		   void *ctx)
{
	struct sink *s = ctx;
	size_t off = 0;
	sc_err err;

	if (s->fail)
		return s->fail;
	err = store_outbox_add(s->st, txn, room, "m.room.message", "{}", 0);
	if (err)
		return err;
	if (s->n < 16) {
		snprintf(s->txn[s->n], sizeof(s->txn[0]), "%s", txn);
		snprintf(s->room[s->n], sizeof(s->room[0]), "%s", room);
		snprintf(s->body[s->n], sizeof(s->body[0]), "%s", r->body.buf);
		s->mentions[s->n][0] = '\0';
		for (size_t i = 0; i < r->nmentions; i++)
			off += (size_t)snprintf(s->mentions[s->n] + off,
						sizeof(s->mentions[0]) - off, "%s%s",
						i ? " " : "", r->mentions[i]);
	}
	s->n++;
	return SC_OK;
}

static int count_msg(const struct outbox_msg *m, void *ctx)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

static int outbox_count(struct store *st)
{
	int n = 0;
	CHECK_OK(store_outbox_pending(st, 0, count_msg, &n));
	return n;
}

/* A room joined at `joined` with a digest at local `hhmm` on `days`. */
static void add_room(struct store *st, const char *id, const char *tz,
		     const char *hhmm, const char *days, int64_t joined)
{
	struct room r;

	memset(&r, 0, sizeof(r));
	r.room_id = (char *)id;
	r.tz = (char *)tz;
	r.digest_minute = -1;
	if (hhmm)
		CHECK_OK(when_parse_hhmm(hhmm, &r.digest_minute));
	if (days)
		CHECK_OK(when_parse_days(days, &r.digest_days));
	r.joined_at = joined;
	CHECK_OK(store_room_put(st, &r));
}

static void setup(struct fix *f, const char *path)
{
	/* the crash tests make the store and the scheduler warn */
	log_set_level(LOG_ERROR);
	memset(f, 0, sizeof(*f));
	CHECK_OK(store_open(path ? path : ":memory:", &f->st));
	CHECK_OK(config_defaults(&f->cfg));
	f->sink.st = f->st;
}

static void teardown(struct fix *f)
{
	config_free(&f->cfg);
	store_close(f->st);
}

/* Store a record of kind in ROOM (or room) created at t. */
static void add(struct store *st, const char *room, enum rec_kind kind,
		const char *text, const char *status, const char *assignee,
		const char *severity, int64_t due, int64_t t)
{
	struct record r;
	static int ev;
	char event[32];

	memset(&r, 0, sizeof(r));
	snprintf(event, sizeof(event), "$ev%d", ++ev);
	r.kind = kind;
	CHECK_OK(record_set(&r.room_id, room));
	CHECK_OK(record_set(&r.author, "@alice:example.org"));
	CHECK_OK(record_set(&r.event_id, event));
	CHECK_OK(record_set(&r.text, text));
	CHECK_OK(record_set(&r.status, status));
	CHECK_OK(record_set(&r.severity, severity));
	if (assignee)
		CHECK_OK(record_add_assignee(&r, assignee));
	r.due = due;
	r.created = r.updated = t;
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);
}

static int64_t last_digest(struct store *st, const char *room)
{
	struct room r;
	int64_t t;

	CHECK_OK(store_room_get(st, room, &r));
	t = r.last_digest;
	room_clear(&r);
	return t;
}

/* Run the scheduler at now; returns how many digests it posted. */
static int run(struct fix *f, int64_t now)
{
	int posted = -1;

	CHECK_OK(digest_run_due(f->st, &f->cfg, now, post, &f->sink, &posted));
	return posted;
}

/* digest_next of ROOM after t. */
static int64_t next(struct fix *f, int64_t after)
{
	struct room r;
	int64_t t = 0;

	CHECK_OK(store_room_get(f->st, ROOM, &r));
	CHECK_OK(digest_next(&f->cfg, &r, after, &t));
	room_clear(&r);
	return t;
}

static void test_slots_utc(void)
{
	struct fix f;

	setup(&f, NULL);
	add_room(f.st, ROOM, "UTC", "09:00", "mon-fri", utc("2026-11-23T08:00:00Z"));
	add(f.st, ROOM, REC_TODO, "pick tracker", "open", NULL, NULL, 0,
	    utc("2026-11-23T08:30:00Z"));
	CHECK_INT(next(&f, utc("2026-11-23T08:00:00Z")), utc("2026-11-23T09:00:00Z"));
	/* strictly after: the slot itself gives the next day's */
	CHECK_INT(next(&f, utc("2026-11-23T09:00:00Z")), utc("2026-11-24T09:00:00Z"));
	/* Friday's next is Monday */
	CHECK_INT(next(&f, utc("2026-11-27T09:00:00Z")), utc("2026-11-30T09:00:00Z"));
	CHECK_INT(run(&f, utc("2026-11-23T08:59:59Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-23T09:00:00Z")), 1);
	CHECK_STR(f.sink.txn[0], "digest." ROOM ".1795424400");
	CHECK_STR(f.sink.room[0], ROOM);
	CHECK_INT(last_digest(f.st, ROOM), utc("2026-11-23T09:00:00Z"));
	CHECK_INT(run(&f, utc("2026-11-23T09:00:00Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-24T08:59:00Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-24T09:00:30Z")), 1);
	CHECK_INT(run(&f, utc("2026-11-25T09:00:00Z")), 1);
	CHECK_INT(run(&f, utc("2026-11-26T09:00:00Z")), 1);
	CHECK_INT(run(&f, utc("2026-11-27T09:00:00Z")), 1);
	/* Saturday and Sunday: nothing; Monday: one */
	CHECK_INT(run(&f, utc("2026-11-28T09:00:00Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-29T09:00:00Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-29T23:00:00Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-30T09:00:00Z")), 1);
	CHECK_INT(f.sink.n, 6);
	CHECK_INT(outbox_count(f.st), 6);
	teardown(&f);
}

static void test_slots_zones(void)
{
	struct fix f;

	setup(&f, NULL);
	/* Toronto: EST (UTC-5) in November, EDT (UTC-4) in July */
	add_room(f.st, ROOM, "America/Toronto", "09:00", "daily", utc("2026-01-01T00:00:00Z"));
	CHECK_INT(next(&f, utc("2026-11-23T12:00:00Z")), utc("2026-11-23T14:00:00Z"));
	CHECK_INT(next(&f, utc("2026-07-01T12:00:00Z")), utc("2026-07-01T13:00:00Z"));
	teardown(&f);

	setup(&f, NULL);
	/* Lord Howe: UTC+11 in (southern) summer, UTC+10:30 in winter */
	add_room(f.st, ROOM, "Australia/Lord_Howe", "09:00", "daily",
		 utc("2026-01-01T00:00:00Z"));
	CHECK_INT(next(&f, utc("2026-11-23T12:00:00Z")), utc("2026-11-23T22:00:00Z"));
	CHECK_INT(next(&f, utc("2026-07-01T12:00:00Z")), utc("2026-07-01T22:30:00Z"));
	/* the config's default time (09:00) and days (mon-fri) */
	teardown(&f);

	setup(&f, NULL);
	add_room(f.st, ROOM, "America/Toronto", NULL, NULL, utc("2026-01-01T00:00:00Z"));
	/* Fri 27 Nov 15:00Z is 10:00 in Toronto: next is Mon 30 Nov 09:00 EST */
	CHECK_INT(next(&f, utc("2026-11-27T15:00:00Z")), utc("2026-11-30T14:00:00Z"));
	teardown(&f);
}

/*
 * Run the clock over [from, to) in steps and count the posts per UTC
 * hour bucket; returns the total and the instants of the posts.
 */
static int sweep(struct fix *f, int64_t from, int64_t to, int64_t step,
		 int64_t *at, int max)
{
	int total = 0;

	for (int64_t t = from; t < to; t += step) {
		int n = run(f, t);
		if (n && total < max)
			at[total] = t;
		total += n;
	}
	return total;
}

static void test_dst_spring_forward(void)
{
	struct fix f;
	int64_t at[8];

	setup(&f, NULL);
	f.cfg.digest_post_empty = 1;
	/* 2026-03-08 in Toronto: 02:00 EST jumps to 03:00 EDT, so 02:30
	 * does not exist that day; the slot is the first instant after the
	 * gap, 03:00 EDT = 07:00Z. */
	add_room(f.st, ROOM, "America/Toronto", "02:30", "daily",
		 utc("2026-03-06T12:00:00Z"));
	CHECK_INT(next(&f, utc("2026-03-08T05:00:00Z")), utc("2026-03-08T07:00:00Z"));
	CHECK_INT(sweep(&f, utc("2026-03-07T00:00:00Z"), utc("2026-03-10T00:00:00Z"),
			5 * 60, at, 8), 3);
	CHECK_INT(at[0], utc("2026-03-07T07:30:00Z")); /* 02:30 EST */
	CHECK_INT(at[1], utc("2026-03-08T07:00:00Z")); /* 03:00 EDT */
	CHECK_INT(at[2], utc("2026-03-09T06:30:00Z")); /* 02:30 EDT */
	teardown(&f);
}

static void test_dst_fall_back(void)
{
	struct fix f;
	int64_t at[8];

	setup(&f, NULL);
	f.cfg.digest_post_empty = 1;
	/* 2026-11-01 in Toronto: 02:00 EDT falls back to 01:00 EST, so
	 * 01:30 happens twice (05:30Z and 06:30Z); the digest goes out
	 * once, at the earlier one. */
	add_room(f.st, ROOM, "America/Toronto", "01:30", "daily",
		 utc("2026-10-30T12:00:00Z"));
	CHECK_INT(sweep(&f, utc("2026-10-31T00:00:00Z"), utc("2026-11-03T00:00:00Z"),
			5 * 60, at, 8), 3);
	CHECK_INT(at[0], utc("2026-10-31T05:30:00Z")); /* 01:30 EDT */
	CHECK_INT(at[1], utc("2026-11-01T05:30:00Z")); /* the first 01:30 */
	CHECK_INT(at[2], utc("2026-11-02T06:30:00Z")); /* 01:30 EST */
	teardown(&f);
}

static void test_downtime_one_digest(void)
{
	struct fix f;

	setup(&f, NULL);
	add_room(f.st, ROOM, "UTC", "09:00", "daily", utc("2026-11-20T00:00:00Z"));
	add(f.st, ROOM, REC_TODO, "pick tracker", "open", NULL, NULL, 0,
	    utc("2026-11-21T10:00:00Z"));
	CHECK_INT(run(&f, utc("2026-11-23T09:00:00Z")), 1); /* Monday's */
	/* down from Monday 10:00 to Thursday 10:00: Tue, Wed, Thu missed */
	add(f.st, ROOM, REC_DECISION, "use Linear", "accepted", NULL, NULL, 0,
	    utc("2026-11-24T12:00:00Z"));
	add(f.st, ROOM, REC_CHANGE, "nginx upgraded", "logged", NULL, NULL, 0,
	    utc("2026-11-25T12:00:00Z"));
	add(f.st, ROOM, REC_CHANGE, "certs renewed", "logged", NULL, NULL, 0,
	    utc("2026-11-26T09:30:00Z"));
	CHECK_INT(run(&f, utc("2026-11-26T10:00:00Z")), 1);
	CHECK_STR(f.sink.txn[1], "digest." ROOM ".1795687200");
	/* the one digest covers the whole gap */
	CHECK_CONTAINS(f.sink.body[1], ": 1 decision, 2 changes, 1 open action item\n");
	CHECK_CONTAINS(f.sink.body[1], "use Linear");
	CHECK_CONTAINS(f.sink.body[1], "certs renewed");
	CHECK_INT(last_digest(f.st, ROOM), utc("2026-11-26T10:00:00Z"));
	CHECK_INT(run(&f, utc("2026-11-26T10:00:00Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-26T23:59:59Z")), 0);
	CHECK_INT(run(&f, utc("2026-11-27T09:00:00Z")), 1);
	CHECK_CONTAINS(f.sink.body[2], "Digest for Fri 27 Nov: 1 open action item\n");
	CHECK_INT(last_digest(f.st, ROOM), utc("2026-11-27T09:00:00Z"));
	CHECK_INT(outbox_count(f.st), 3);
	teardown(&f);
}

/* A crash at each point around a send; returns after checking that the
 * digest of the window reaches the outbox exactly once. */
static void test_crash_points(void)
{
	int64_t slot = utc("2026-11-23T09:00:00Z");
	int64_t later = slot + 90;

	for (int point = 0; point < 3; point++) {
		struct fix f;
		int posted = -1;

		setup(&f, NULL);
		add_room(f.st, ROOM, "UTC", "09:00", "daily", utc("2026-11-22T09:00:00Z"));
		add(f.st, ROOM, REC_TODO, "pick tracker", "open", NULL, NULL, 0,
		    utc("2026-11-22T10:00:00Z"));
		switch (point) {
		case 0:
			/* the post itself fails: nothing is committed, the
			 * bot keeps running */
			f.sink.fail = SC_EIO;
			CHECK_OK(digest_run_due(f.st, &f.cfg, slot, post, &f.sink, &posted));
			CHECK_INT(posted, 0);
			f.sink.fail = SC_OK;
			break;
		case 1:
			/* queued, then the batch is rolled back (crash before
			 * the commit) */
			CHECK_OK(store_tx_begin(f.st));
			CHECK_INT(run(&f, slot), 1);
			CHECK_INT(outbox_count(f.st), 1);
			CHECK_OK(store_tx_rollback(f.st));
			f.sink.n = 0;
			break;
		case 2:
			/* queued and committed: the crash comes after */
			CHECK_INT(run(&f, slot), 1);
			f.sink.n = 0;
			break;
		}
		CHECK_INT(last_digest(f.st, ROOM), point == 2 ? slot : 0);
		CHECK_INT(outbox_count(f.st), point == 2 ? 1 : 0);
		/* the restart: a later run posts it only if it was lost */
		CHECK_INT(run(&f, later), point == 2 ? 0 : 1);
		CHECK_INT(run(&f, later), 0);
		CHECK_INT(outbox_count(f.st), 1);
		if (point != 2)
			CHECK_STR(f.sink.txn[0], "digest." ROOM ".1795424490");
		CHECK_INT(last_digest(f.st, ROOM), point == 2 ? slot : later);
		teardown(&f);
	}
}

/* A real restart: the process dies with the transaction open. */
static void test_crash_restart_file(void)
{
	char path[600];
	struct fix f;
	int64_t slot = utc("2026-11-23T09:00:00Z");

	snprintf(path, sizeof(path), "%s/digest-restart.db", th_tmpdir());
	remove(path);
	setup(&f, path);
	add_room(f.st, ROOM, "UTC", "09:00", "daily", utc("2026-11-22T09:00:00Z"));
	add(f.st, ROOM, REC_TODO, "pick tracker", "open", NULL, NULL, 0,
	    utc("2026-11-22T10:00:00Z"));
	CHECK_OK(store_tx_begin(f.st));
	CHECK_INT(run(&f, slot), 1);
	teardown(&f); /* closed without a commit */

	setup(&f, path);
	CHECK_INT(outbox_count(f.st), 0);
	CHECK_INT(last_digest(f.st, ROOM), 0);
	CHECK_INT(run(&f, slot), 1);
	CHECK_STR(f.sink.txn[0], "digest." ROOM ".1795424400");
	teardown(&f);

	setup(&f, path);
	CHECK_INT(outbox_count(f.st), 1);
	CHECK_INT(run(&f, slot), 0);
	CHECK_INT(run(&f, slot + HOUR), 0);
	teardown(&f);
	remove(path);
}

static void test_empty_window(void)
{
	struct fix f;

	setup(&f, NULL);
	add_room(f.st, ROOM, "UTC", "09:00", "daily", utc("2026-11-22T12:00:00Z"));
	CHECK_INT(run(&f, utc("2026-11-23T09:00:00Z")), 0);
	/* nothing posted, but the window is done */
	CHECK_INT(last_digest(f.st, ROOM), utc("2026-11-23T09:00:00Z"));
	CHECK_INT(outbox_count(f.st), 0);
	f.cfg.digest_post_empty = 1;
	CHECK_INT(run(&f, utc("2026-11-24T09:00:00Z")), 1);
	CHECK_CONTAINS(f.sink.body[0], "Digest for Tue 24 Nov: nothing new, no open action items");
	teardown(&f);
}

static void test_off_and_rooms(void)
{
	struct fix f;
	struct room r;
	int64_t t;

	setup(&f, NULL);
	f.cfg.digest_post_empty = 1;
	add_room(f.st, ROOM, "UTC", "09:00", "daily", utc("2026-11-22T12:00:00Z"));
	add_room(f.st, ROOM2, "UTC", "10:00", "daily", utc("2026-11-22T12:00:00Z"));
	CHECK_INT(run(&f, utc("2026-11-23T09:30:00Z")), 1);
	CHECK_STR(f.sink.room[0], ROOM);
	CHECK_INT(run(&f, utc("2026-11-23T10:30:00Z")), 1);
	CHECK_STR(f.sink.room[1], ROOM2);
	/* a room whose digest is off never gets one */
	CHECK_OK(store_room_get(f.st, ROOM, &r));
	r.digest_minute = -2;
	CHECK_OK(store_room_put(f.st, &r));
	CHECK_INT(digest_next(&f.cfg, &r, utc("2026-11-23T10:30:00Z"), &t), SC_ENOTFOUND);
	room_clear(&r);
	CHECK_INT(run(&f, utc("2026-11-25T12:00:00Z")), 1); /* only ROOM2 */
	CHECK_STR(f.sink.room[2], ROOM2);
	teardown(&f);
}

static void test_build_and_mentions(void)
{
	struct fix f;
	struct reply out;
	int64_t now = utc("2026-11-23T09:00:00Z");
	int64_t from = now - DAY;
	int empty = -1;

	setup(&f, NULL);
	add_room(f.st, ROOM, "UTC", "09:00", "daily", utc("2026-11-01T00:00:00Z"));
	add(f.st, ROOM, REC_DECISION, "use Linear", "accepted", NULL, NULL, 0, from + HOUR);
	add(f.st, ROOM, REC_DECISION, "old one", "accepted", NULL, NULL, 0, from - HOUR);
	add(f.st, ROOM, REC_CHANGE, "nginx upgraded", "logged", NULL, NULL, 0, from + 2 * HOUR);
	add(f.st, ROOM, REC_INCIDENT, "db down", "open", NULL, "critical", from + 5 * HOUR,
	    from + 3 * HOUR);
	add(f.st, ROOM, REC_TODO, "pick tracker", "open", "@elon:example.org", NULL,
	    now - HOUR, from - 2 * DAY);
	add(f.st, ROOM, REC_TODO, "order disks", "open", "@bob:example.org", NULL,
	    now + DAY, from);
	add(f.st, ROOM, REC_TODO, "restore backups", "open", "@dc:example.org",
	    "critical", now - 2 * HOUR, from + HOUR);
	add(f.st, ROOM, REC_TODO, "label cables", "open", NULL, NULL, now - DAY, from);
	add(f.st, ROOM, REC_TODO, "done thing", "done", "@bob:example.org", NULL, 0, from);
	/* another room's items stay out */
	add(f.st, ROOM2, REC_TODO, "other room", "open", "@zed:example.org", NULL,
	    now - DAY, from);
	reply_init(&out);
	CHECK_OK(digest_build(f.st, &f.cfg, ROOM, from, now, now, &out, &empty));
	CHECK_INT(empty, 0);
	CHECK_CONTAINS(out.body.buf,
		       "Digest for Mon 23 Nov: 1 decision, 1 change, 1 incident, "
		       "2 SLA breaches, 4 open action items (3 overdue)\n"
		       "Since yesterday 09:00 (UTC).");
	CHECK(!strstr(out.body.buf, "old one"));
	CHECK(!strstr(out.body.buf, "other room"));
	CHECK(!strstr(out.body.buf, "done thing"));
	/* critical first, then by due date: dc, the unassigned, elon, bob */
	CHECK(strstr(out.body.buf, "dc: restore backups") <
	      strstr(out.body.buf, "label cables"));
	CHECK(strstr(out.body.buf, "label cables") <
	      strstr(out.body.buf, "elon: pick tracker"));
	CHECK(strstr(out.body.buf, "elon: pick tracker") <
	      strstr(out.body.buf, "bob: order disks"));
	CHECK(strstr(out.body.buf, "bob: order disks") != NULL);
	CHECK_CONTAINS(out.html.buf, "<b>Digest for Mon 23 Nov</b>");
	/* mentions: the overdue owners only (not bob, not the other room) */
	CHECK_INT(out.nmentions, 2);
	CHECK_STR(out.mentions[0], "@dc:example.org");
	CHECK_STR(out.mentions[1], "@elon:example.org");
	reply_clear(&out);

	/* an empty room */
	reply_init(&out);
	add_room(f.st, ROOM2 "x", "UTC", NULL, NULL, from);
	CHECK_OK(digest_build(f.st, &f.cfg, ROOM2 "x", from, now, now, &out, &empty));
	CHECK_INT(empty, 1);
	CHECK_INT(out.nmentions, 0);
	reply_clear(&out);
	teardown(&f);
}

/* The scheduled digest mentions overdue owners; the window is
 * [last_digest, now): an item made at the edge goes to the next one. */
static void test_window_edges(void)
{
	struct fix f;
	int64_t mon = utc("2026-11-23T09:00:00Z");

	setup(&f, NULL);
	add_room(f.st, ROOM, "UTC", "09:00", "daily", mon - DAY);
	add(f.st, ROOM, REC_CHANGE, "before", "logged", NULL, NULL, 0, mon - 1);
	add(f.st, ROOM, REC_CHANGE, "at the edge", "logged", NULL, NULL, 0, mon);
	add(f.st, ROOM, REC_TODO, "late", "open", "@elon:example.org", NULL, mon - HOUR,
	    mon - DAY);
	CHECK_INT(run(&f, mon), 1);
	CHECK_CONTAINS(f.sink.body[0], "before");
	CHECK(!strstr(f.sink.body[0], "at the edge"));
	CHECK_STR(f.sink.mentions[0], "@elon:example.org");
	CHECK_INT(run(&f, mon + DAY), 1);
	CHECK_CONTAINS(f.sink.body[1], "at the edge");
	CHECK(!strstr(f.sink.body[1], "before"));
	teardown(&f);
}

/* Bytes s takes as a JSON string (what the homeserver counts). */
static size_t jsize(const char *s)
{
	json_t *j = json_string(s);
	char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t n = d ? strlen(d) - 2 : (size_t)-1;

	free(d);
	json_decref(j);
	return n;
}

/* The scheduled digest as posted: its sizes and some of its text. */
struct seen {
	int n;
	size_t body, html;
	char *text;
};

static sc_err post_seen(const char *room, const char *txn, const struct reply *r,
			void *ctx)
{
	struct seen *s = ctx;

	(void)room;
	(void)txn;
	s->n++;
	s->body = jsize(r->body.buf);
	s->html = jsize(r->html.buf);
	free(s->text);
	s->text = strdup(r->body.buf);
	return SC_OK;
}

/* A text of n copies of c. */
static char *many(size_t n, char c)
{
	char *t = malloc(n + 1);

	memset(t, c, n);
	t[n] = '\0';
	return t;
}

/* One hostile record among normal ones, then thousands: the scheduled
 * digest is always posted, within the reply budget, lists the others
 * and shortens the long ones with "…". */
static void test_hostile_records(void)
{
	int64_t now = utc("2026-11-23T09:00:00Z"), from = now - DAY;
	char *lt = many(16300, '<'), *quotes = many(16000, '"');
	char *ctl = many(16000, '\x01'), *want = many(200, '<');
	char line[512];
	struct seen seen = { 0, 0, 0, NULL };
	struct fix f;
	int posted = -1;

	setup(&f, NULL);
	add_room(f.st, ROOM, "UTC", "09:00", "daily", from - DAY);
	add(f.st, ROOM, REC_TODO, "pick tracker", "open", "@elon:example.org", NULL,
	    0, from + HOUR);
	add(f.st, ROOM, REC_TODO, lt, "open", "@judy:example.org", NULL, 0, from + HOUR);
	add(f.st, ROOM, REC_TODO, "restore backups", "open", "@bob:example.org", NULL,
	    0, from + HOUR);
	add(f.st, ROOM, REC_DECISION, quotes, "accepted", NULL, NULL, 0, from + HOUR);
	add(f.st, ROOM, REC_DECISION, "use Linear", "accepted", NULL, NULL, 0,
	    from + 2 * HOUR);
	/* a change from a script can hold control characters: 6 bytes
	 * each as JSON ("\u0001") */
	add(f.st, ROOM, REC_CHANGE, ctl, "logged", NULL, NULL, 0, from + HOUR);
	add(f.st, ROOM, REC_CHANGE, "nginx upgraded", "logged", NULL, NULL, 0,
	    from + 2 * HOUR);
	CHECK_OK(digest_run_due(f.st, &f.cfg, now, post_seen, &seen, &posted));
	CHECK_INT(posted, 1);
	CHECK(seen.body <= REPLY_BODY_MAX);
	CHECK(seen.html <= REPLY_HTML_MAX);
	CHECK_CONTAINS(seen.text, "2 decisions, 2 changes, 3 open action items");
	CHECK_CONTAINS(seen.text, "elon: pick tracker");
	CHECK_CONTAINS(seen.text, "bob: restore backups");
	CHECK_CONTAINS(seen.text, "use Linear");
	CHECK_CONTAINS(seen.text, "nginx upgraded");
	snprintf(line, sizeof(line), "judy: %s\xE2\x80\xA6 (T2)", want);
	CHECK_CONTAINS(seen.text, line);
	CHECK(!strstr(seen.text, "did not fit"));

	/* three thousand more, each 800 bytes as HTML */
	for (int i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line), "item %d %s", i, want);
		add(f.st, ROOM, REC_TODO, line, "open", "@elon:example.org", NULL, 0,
		    now + HOUR);
	}
	CHECK_OK(digest_run_due(f.st, &f.cfg, now + DAY, post_seen, &seen, &posted));
	CHECK_INT(posted, 1);
	CHECK(seen.body <= REPLY_BODY_MAX);
	CHECK(seen.html <= REPLY_HTML_MAX);
	CHECK_CONTAINS(seen.text, "3003 open action items");
	CHECK_CONTAINS(seen.text, "elon: pick tracker");
	CHECK_CONTAINS(seen.text, "more: !todos");
	free(seen.text);
	free(lt);
	free(quotes);
	free(ctl);
	free(want);
	teardown(&f);
}

TESTS(TEST(test_slots_utc), TEST(test_slots_zones), TEST(test_dst_spring_forward),
      TEST(test_dst_fall_back), TEST(test_downtime_one_digest), TEST(test_crash_points),
      TEST(test_crash_restart_file), TEST(test_empty_window), TEST(test_off_and_rooms),
      TEST(test_build_and_mentions), TEST(test_window_edges),
      TEST(test_hostile_records))
