/* SPDX-License-Identifier: MIT */
/*
 * test_remind.c - reminders with an injected clock, no sleeping: the
 * time words of !remind and their DST edges, recurrences, ops hours
 * (past midnight too), the schedule following its records (closing,
 * re-dating, withdrawing), exactly-once firing around a failure at every
 * point (post fails, rollback before commit, a real restart of a file
 * store), a downtime grouped into one message per room, a recurring
 * reminder missed many times firing once, the setup pass on a store
 * with items from before reminders, and the SLA breach counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "harness.h"
#include "config.h"
#include "remind.h"
#include "store.h"
#include "store_remind.h"
#include "when.h"
#include "banned.h"

#define ROOM "!ops:example.org"
#define ROOM2 "!dev:example.org"
#define HOUR 3600
#define DAY 86400

static int64_t utc(const char *iso)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm))
		th_fail(__FILE__, __LINE__, "bad time '%s' in test", iso);
	return (int64_t)timegm(&tm);
}

/* ---- time words ---- */

/* Parse the words of s (space-separated) as a reminder time. */
static sc_err at(const char *s, int64_t now, const char *tz, int64_t *out,
		 int *used)
{
	char buf[256], *w[16], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = strtok_r(buf, " ", &save); p && n < 16;
	     p = strtok_r(NULL, " ", &save))
		w[n++] = p;
	return when_parse_at(w, n, now, tz, out, used);
}

static void check_at(const char *s, const char *now, const char *tz,
		     const char *want, int want_used)
{
	int64_t t = 0;
	int used = 0;

	if (at(s, utc(now), tz, &t, &used) != SC_OK)
		th_fail(__FILE__, __LINE__, "'%s' does not parse", s);
	if (t != utc(want) || used != want_used) {
		struct sbuf sb;

		sbuf_init(&sb, 0);
		when_format(t, "UTC", "%Y-%m-%dT%H:%M:%SZ", &sb);
		th_fail(__FILE__, __LINE__, "'%s' at %s in %s: %s (%d words), want %s (%d)",
			s, now, tz, sb.buf, used, want, want_used);
	}
}

static void test_time_words(void)
{
	const char *mon = "2026-11-23T15:00:00Z"; /* a Monday */
	int64_t t;
	int used;

	check_at("in 2h check", mon, "UTC", "2026-11-23T17:00:00Z", 2);
	check_at("in 1h30m x", mon, "UTC", "2026-11-23T16:30:00Z", 2);
	check_at("in 2 hours x", mon, "UTC", "2026-11-23T17:00:00Z", 3);
	check_at("in 90 minutes", mon, "UTC", "2026-11-23T16:30:00Z", 3);
	check_at("in an hour", mon, "UTC", "2026-11-23T16:00:00Z", 3);
	check_at("in 3 days x", mon, "UTC", "2026-11-26T15:00:00Z", 3);
	check_at("+45m x", mon, "UTC", "2026-11-23T15:45:00Z", 1);
	/* a time alone: today while ahead, else tomorrow */
	check_at("17:00 x", mon, "UTC", "2026-11-23T17:00:00Z", 1);
	check_at("at 9:30 x", mon, "UTC", "2026-11-24T09:30:00Z", 2);
	check_at("5pm", mon, "UTC", "2026-11-23T17:00:00Z", 1);
	check_at("12am", mon, "UTC", "2026-11-24T00:00:00Z", 1);
	check_at("12pm", mon, "UTC", "2026-11-24T12:00:00Z", 1);
	check_at("9:15am", mon, "UTC", "2026-11-24T09:15:00Z", 1);
	/* days, with or without a time (09:00) */
	check_at("tomorrow 9:00 x", mon, "UTC", "2026-11-24T09:00:00Z", 2);
	check_at("tomorrow at 9:00 x", mon, "UTC", "2026-11-24T09:00:00Z", 3);
	check_at("tomorrow x", mon, "UTC", "2026-11-24T09:00:00Z", 1);
	check_at("tonight", mon, "UTC", "2026-11-23T20:00:00Z", 1);
	check_at("today 18:00", mon, "UTC", "2026-11-23T18:00:00Z", 2);
	check_at("2026-12-24 09:00 x", mon, "UTC", "2026-12-24T09:00:00Z", 2);
	check_at("dec24 8am", mon, "UTC", "2026-12-24T08:00:00Z", 2);
	check_at("12-24", mon, "UTC", "2026-12-24T09:00:00Z", 1);
	/* a weekday: the next such moment, today while it is ahead */
	check_at("mon 17:00", mon, "UTC", "2026-11-23T17:00:00Z", 2);
	check_at("mon 9:00", mon, "UTC", "2026-11-30T09:00:00Z", 2);
	check_at("on fri 17:00 go", mon, "UTC", "2026-11-27T17:00:00Z", 3);
	check_at("friday", mon, "UTC", "2026-11-27T09:00:00Z", 1);
	/* in the zone given */
	check_at("tomorrow 9:00", mon, "America/Toronto", "2026-11-24T14:00:00Z", 2);
	check_at("fri 17:00", mon, "Europe/Berlin", "2026-11-27T16:00:00Z", 2);
	/* spring forward: a skipped minute is the first one after the gap */
	check_at("tomorrow 2:30", "2027-03-27T10:00:00Z", "Europe/Berlin",
		 "2027-03-28T01:00:00Z", 2);
	check_at("2026-10-04 02:15", "2026-10-02T10:00:00Z", "Australia/Lord_Howe",
		 "2026-10-03T15:30:00Z", 2);
	/* fall back: an hour that happens twice is its first time */
	check_at("2026-11-01 01:30", "2026-10-30T10:00:00Z", "America/Toronto",
		 "2026-11-01T05:30:00Z", 2);
	/* an explicit past date parses; the command refuses it */
	CHECK_OK(at("2026-01-01 09:00", utc(mon), "UTC", &t, &used));
	CHECK(t < utc(mon));
	/* nothing else */
	CHECK(at("whenever", utc(mon), "UTC", &t, &used) == SC_EINVAL);
	CHECK(at("in", utc(mon), "UTC", &t, &used) == SC_EINVAL);
	CHECK(at("in soon", utc(mon), "UTC", &t, &used) == SC_EINVAL);
	CHECK(at("in 2 parsecs", utc(mon), "UTC", &t, &used) == SC_EINVAL);
	CHECK(at("eod", utc(mon), "UTC", &t, &used) == SC_EINVAL);
	CHECK(at("13pm", utc(mon), "UTC", &t, &used) == SC_EINVAL);
	CHECK(at("2026-02-30 09:00", utc(mon), "UTC", &t, &used) == SC_EINVAL);
	CHECK(at("in 9999999 weeks", utc(mon), "UTC", &t, &used) == SC_EINVAL);
}

static sc_err every(const char *s, unsigned *d, int *m, int *used)
{
	char buf[256], *w[16], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = strtok_r(buf, " ", &save); p && n < 16;
	     p = strtok_r(NULL, " ", &save))
		w[n++] = p;
	return when_parse_every(w, n, d, m, used);
}

static void test_every(void)
{
	unsigned d;
	int m, used;

	CHECK_OK(every("every mon 09:00 standup", &d, &m, &used));
	CHECK_INT(d, 0x01);
	CHECK_INT(m, 9 * 60);
	CHECK_INT(used, 3);
	CHECK_OK(every("every weekday at 17:30", &d, &m, &used));
	CHECK_INT(d, 0x1f);
	CHECK_INT(m, 17 * 60 + 30);
	CHECK_INT(used, 4);
	CHECK_OK(every("every day", &d, &m, &used));
	CHECK_INT(d, 0x7f);
	CHECK_INT(m, 9 * 60);
	CHECK_OK(every("every sun-thu 8am", &d, &m, &used));
	CHECK_INT(d, 0x4f);
	CHECK_INT(m, 8 * 60);
	CHECK_OK(every("every mon,thu 10:00 x", &d, &m, &used));
	CHECK_INT(d, 0x09);
	CHECK(every("every fortnight", &d, &m, &used) == SC_EINVAL);
	CHECK(every("every", &d, &m, &used) == SC_EINVAL);
}

/* The next occurrences of a rule, one after the other. */
static void check_rule(const char *rule, const char *from, const char *const *want,
		       int n)
{
	int64_t t = utc(from);

	for (int i = 0; i < n; i++) {
		int64_t next = 0;

		CHECK_OK(remind_rule_next(rule, t, &next));
		if (next != utc(want[i])) {
			struct sbuf sb;

			sbuf_init(&sb, 0);
			when_format(next, "UTC", "%Y-%m-%dT%H:%M:%SZ", &sb);
			th_fail(__FILE__, __LINE__, "%s after #%d: %s, want %s", rule,
				i, sb.buf, want[i]);
		}
		t = next;
	}
}

static void test_rules_across_dst(void)
{
	static const char *const berlin[] = {
		"2027-03-22T08:00:00Z", "2027-03-29T07:00:00Z", /* spring */
	};
	static const char *const berlin_fall[] = {
		"2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z",
	};
	static const char *const toronto[] = {
		"2027-03-12T22:30:00Z", "2027-03-15T21:30:00Z",
	};
	static const char *const lhi[] = {
		"2027-04-02T22:00:00Z", "2027-04-03T22:30:00Z",
		"2027-04-04T22:30:00Z",
	};
	static const char *const lhi_spring[] = {
		"2026-10-02T22:30:00Z", "2026-10-03T22:00:00Z",
	};
	struct sbuf sb;
	unsigned d;
	int m;
	char *tz = NULL;

	check_rule("every mon 09:00 Europe/Berlin", "2027-03-20T10:00:00Z", berlin, 2);
	check_rule("every mon 09:00 Europe/Berlin", "2026-10-17T10:00:00Z",
		   berlin_fall, 2);
	check_rule("every mon-fri 17:30 America/Toronto", "2027-03-12T12:00:00Z",
		   toronto, 2);
	check_rule("every daily 09:00 Australia/Lord_Howe", "2027-04-02T12:00:00Z",
		   lhi, 3);
	check_rule("every daily 09:00 Australia/Lord_Howe", "2026-10-02T12:00:00Z",
		   lhi_spring, 2);
	/* the rule reads back as it is written */
	sbuf_init(&sb, 0);
	CHECK_OK(remind_rule_format(0x1f, 17 * 60 + 30, "Europe/Berlin", &sb));
	CHECK_STR(sb.buf, "every mon-fri 17:30 Europe/Berlin");
	CHECK_OK(remind_rule_parse(sb.buf, &d, &m, &tz));
	CHECK_INT(d, 0x1f);
	CHECK_INT(m, 17 * 60 + 30);
	CHECK_STR(tz, "Europe/Berlin");
	free(tz);
	sbuf_release(&sb);
	CHECK(remind_rule_parse("every mon 09:00 Mars/Base", &d, &m, &tz) == SC_EINVAL);
	CHECK(remind_rule_parse("sometimes", &d, &m, &tz) == SC_EINVAL);
}

static void test_hours(void)
{
	unsigned d;
	int a, b;
	int64_t t;
	struct sbuf sb;

	CHECK_OK(when_parse_hours("sun-thu 09:00-18:00", &d, &a, &b));
	CHECK_INT(d, 0x4f);
	CHECK_INT(a, 9 * 60);
	CHECK_INT(b, 18 * 60);
	sbuf_init(&sb, 0);
	CHECK_OK(when_format_hours(d, a, b, &sb));
	CHECK_STR(sb.buf, "sun-thu 09:00-18:00");
	sbuf_release(&sb);
	/* Thursday 17:59 in, 18:00 out; Friday out; Sunday 09:00 in */
	CHECK(when_in_hours(utc("2026-11-26T17:59:00Z"), "UTC", d, a, b));
	CHECK(!when_in_hours(utc("2026-11-26T18:00:00Z"), "UTC", d, a, b));
	CHECK(!when_in_hours(utc("2026-11-27T12:00:00Z"), "UTC", d, a, b));
	CHECK(when_in_hours(utc("2026-11-29T09:00:00Z"), "UTC", d, a, b));
	/* the room's zone: 09:00 Berlin is 08:00 UTC in winter */
	CHECK(when_in_hours(utc("2026-11-26T08:00:00Z"), "Europe/Berlin", d, a, b));
	CHECK(!when_in_hours(utc("2026-11-26T07:59:00Z"), "Europe/Berlin", d, a, b));
	/* closed on Friday: opens Sunday 09:00 */
	CHECK_OK(when_hours_open(utc("2026-11-27T12:00:00Z"), "UTC", d, a, b, &t));
	CHECK_INT(t, utc("2026-11-29T09:00:00Z"));
	CHECK_OK(when_hours_open(utc("2026-11-26T12:00:00Z"), "UTC", d, a, b, &t));
	CHECK_INT(t, utc("2026-11-26T12:00:00Z"));
	/* past midnight: mon-fri 22:00-06:00 holds Tuesday 05:00 (after
	 * Monday), not Monday 05:00 (after Sunday) */
	CHECK_OK(when_parse_hours("mon-fri 22:00 - 06:00", &d, &a, &b));
	CHECK(when_in_hours(utc("2026-11-24T05:00:00Z"), "UTC", d, a, b));
	CHECK(!when_in_hours(utc("2026-11-23T05:00:00Z"), "UTC", d, a, b));
	CHECK(when_in_hours(utc("2026-11-27T23:00:00Z"), "UTC", d, a, b));
	CHECK(when_in_hours(utc("2026-11-28T05:59:00Z"), "UTC", d, a, b));
	CHECK(!when_in_hours(utc("2026-11-28T22:00:00Z"), "UTC", d, a, b));
	CHECK_OK(when_parse_hours("weekday 8am-5pm", &d, &a, &b));
	CHECK_INT(d, 0x1f);
	CHECK_INT(b, 17 * 60);
	CHECK(when_parse_hours("sun-thu", &d, &a, &b) == SC_EINVAL);
	CHECK(when_parse_hours("sun-thu 09:00-09:00", &d, &a, &b) == SC_EINVAL);
	CHECK(when_parse_hours("someday 09:00-10:00", &d, &a, &b) == SC_EINVAL);
	CHECK(when_parse_hours("mon 25:00-26:00", &d, &a, &b) == SC_EINVAL);
}

/* ---- the schedule and its firing ---- */

struct sink {
	struct store *st;
	int n;
	sc_err fail;        /* return this instead of posting */
	char txn[16][256];
	char room[16][64];
	char body[16][4096];
	char mentions[16][512];
	int ping_room[16];
};

static sc_err post(const char *room, const char *txn, const struct reply *r,
		   const struct remind_post *how, void *ctx)
{
	struct sink *s = ctx;
	size_t off = 0;
	sc_err err;

	if (s->fail)
		return s->fail;
	/* queued like the bot does: a rollback takes it back */
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
		s->ping_room[s->n] = how->ping_room;
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

struct fix {
	struct store *st;
	struct config cfg;
	struct sink sink;
};

static void add_room(struct store *st, const char *id, const char *tz,
		     int64_t joined)
{
	struct room r;

	memset(&r, 0, sizeof(r));
	r.room_id = (char *)id;
	r.tz = (char *)tz;
	r.digest_minute = -2;
	r.joined_at = joined;
	CHECK_OK(store_room_put(st, &r));
}

static void setup(struct fix *f, const char *path, int64_t now)
{
	memset(f, 0, sizeof(*f));
	CHECK_OK(store_open(path, &f->st));
	CHECK_OK(config_defaults(&f->cfg));
	f->sink.st = f->st;
	add_room(f->st, ROOM, "UTC", now - DAY);
	add_room(f->st, ROOM2, "Europe/Berlin", now - DAY);
	CHECK_OK(remind_setup(f->st, &f->cfg, now));
}

static void teardown(struct fix *f)
{
	store_close(f->st);
	config_free(&f->cfg);
}

/* A record made at `created` (todo/incident/reminder). */
static int64_t add(struct store *st, const char *room, enum rec_kind kind,
		   const char *text, const char *who, const char *severity,
		   int64_t created, int64_t due, const char *detail)
{
	struct record r;
	int64_t id;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	record_set(&r.room_id, room);
	record_set(&r.author, "@alice:example.org");
	record_set(&r.text, text);
	record_set(&r.status, kind == REC_REMINDER ? "pending" : "open");
	record_set(&r.severity, severity);
	record_set(&r.detail, detail);
	if (who)
		record_add_assignee(&r, who);
	r.created = r.updated = created;
	r.due = due;
	CHECK_OK(store_record_add(st, &r));
	id = r.id;
	record_clear(&r);
	return id;
}

static int64_t fire_of(struct store *st, int64_t id, enum remind_what w)
{
	int64_t t = -1;

	CHECK_OK(store_remind_fire_of(st, id, w, &t));
	return t;
}

static int run(struct fix *f, int64_t now)
{
	int n = -1;

	CHECK_OK(remind_run_due(f->st, &f->cfg, now, post, &f->sink, &n));
	return n;
}

static void set_status(struct store *st, int64_t id, const char *status,
		       int64_t due, int64_t now)
{
	struct record r;

	CHECK_OK(store_record_get_id(st, id, &r));
	if (status)
		record_set(&r.status, status);
	if (due >= 0)
		r.due = due;
	CHECK_OK(store_record_update(st, &r, "@bob:example.org", now, NULL));
	record_clear(&r);
}

static void test_schedule_follows_records(void)
{
	int64_t now = utc("2026-11-23T15:00:00Z"), t1, t2, i1, next = -1;
	struct record r;
	struct fix f;

	setup(&f, ":memory:", now);
	t1 = add(f.st, ROOM, REC_TODO, "rotate keys", "@elon:x", NULL, now,
		 now + 3 * HOUR, NULL);
	CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 2 * HOUR);
	CHECK_OK(store_remind_next(f.st, &next));
	CHECK_INT(next, now + 2 * HOUR);
	/* re-dated: moved; closed: gone; reopened: back */
	set_status(f.st, t1, NULL, now + 5 * HOUR, now);
	CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 4 * HOUR);
	set_status(f.st, t1, "done", -1, now);
	CHECK_INT(fire_of(f.st, t1, RW_DUE), 0);
	set_status(f.st, t1, "open", -1, now);
	CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 4 * HOUR);
	/* withdrawn (its message deleted): gone */
	CHECK_OK(store_record_get_id(f.st, t1, &r));
	r.withdrawn = 1;
	CHECK_OK(store_record_update(f.st, &r, "@bob:x", now, NULL));
	record_clear(&r);
	CHECK_INT(fire_of(f.st, t1, RW_DUE), 0);
	/* due inside the lead time: at the due time; in the past: never */
	t2 = add(f.st, ROOM, REC_TODO, "soon", "@elon:x", NULL, now, now + 600, NULL);
	CHECK_INT(fire_of(f.st, t2, RW_DUE), now + 600);
	t2 = add(f.st, ROOM, REC_TODO, "late", "@elon:x", NULL, now, now - 600, NULL);
	CHECK_INT(fire_of(f.st, t2, RW_DUE), 0);
	/* a critical incident: its SLA end, then each level one SLA on */
	i1 = add(f.st, ROOM, REC_INCIDENT, "db down", NULL, "critical", now, 0, NULL);
	CHECK_INT(fire_of(f.st, i1, RW_SLA), now + 4 * HOUR);
	/* a minor item never escalates; made major, it does, from its
	 * creation */
	t2 = add(f.st, ROOM, REC_TODO, "tidy", "@bob:x", "minor", now - HOUR, 0, NULL);
	CHECK_INT(fire_of(f.st, t2, RW_SLA), 0);
	CHECK_OK(store_record_get_id(f.st, t2, &r));
	record_set(&r.severity, "major");
	CHECK_OK(store_record_update(f.st, &r, "@bob:x", now, NULL));
	record_clear(&r);
	CHECK_INT(fire_of(f.st, t2, RW_SLA), now - HOUR + 2 * DAY);
	/* the room's lead time moves what waits */
	t1 = add(f.st, ROOM, REC_TODO, "plan", "@elon:x", NULL, now, now + 5 * HOUR, NULL);
	{
		struct room_alerts al;

		CHECK_OK(store_alerts_get(f.st, ROOM, &al));
		al.before = 30 * 60;
		CHECK_OK(store_alerts_put(f.st, ROOM, &al, now));
		CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 5 * HOUR - 1800);
		al.before = ALERT_OFF;
		CHECK_OK(store_alerts_put(f.st, ROOM, &al, now));
		CHECK_INT(fire_of(f.st, t1, RW_DUE), 0);
		al.before = ALERT_DEFAULT;
		CHECK_OK(store_alerts_put(f.st, ROOM, &al, now));
		CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 4 * HOUR);
		room_alerts_clear(&al);
	}
	/* another room's defaults are its own */
	t2 = add(f.st, ROOM2, REC_TODO, "other", "@elon:x", NULL, now, now + 5 * HOUR, NULL);
	CHECK_INT(fire_of(f.st, t2, RW_DUE), now + 4 * HOUR);
	teardown(&f);
}

static void test_fires_once(void)
{
	int64_t now = utc("2026-11-23T15:00:00Z"), t1, r1;
	struct record r;
	struct fix f;

	setup(&f, ":memory:", now);
	t1 = add(f.st, ROOM, REC_TODO, "rotate keys", "@elon:example.org", NULL,
		 now - HOUR, now + 3 * HOUR, NULL);
	r1 = add(f.st, ROOM2, REC_REMINDER, "call the vendor", "@bob:example.org",
		 NULL, now, now + 2 * HOUR, NULL);
	CHECK_INT(run(&f, now), 0);
	CHECK_INT(run(&f, now + 2 * HOUR - 1), 0);
	CHECK_INT(run(&f, now + 2 * HOUR), 2);
	CHECK_INT(f.sink.n, 2);
	CHECK_STR(f.sink.room[0], ROOM2);
	CHECK_STR(f.sink.body[0], "Reminder for bob: call the vendor (R1, set by alice)");
	CHECK_STR(f.sink.mentions[0], "@bob:example.org");
	CHECK_STR(f.sink.body[1], "T1 is due in 1h (today 18:00): rotate keys (opened 3h ago) — elon");
	CHECK_STR(f.sink.mentions[1], "@elon:example.org");
	CHECK_INT(outbox_count(f.st), 2);
	/* recorded: the one-off reminder is done, the todo's history has
	 * the ping */
	CHECK_OK(store_record_get_id(f.st, r1, &r));
	CHECK_STR(r.status, "done");
	record_clear(&r);
	CHECK_INT(run(&f, now + 2 * HOUR), 0);
	CHECK_INT(run(&f, now + 10 * DAY), 0);
	CHECK_INT(outbox_count(f.st), 2);
	(void)t1;
	teardown(&f);
}

static void test_failure_commits_nothing(void)
{
	int64_t now = utc("2026-11-23T15:00:00Z");
	struct fix f;
	char txn[256];
	int n = -1;

	setup(&f, ":memory:", now);
	add(f.st, ROOM, REC_TODO, "rotate keys", "@elon:example.org", NULL, now,
	    now + 2 * HOUR, NULL);
	/* the post fails: nothing queued, nothing marked */
	f.sink.fail = SC_EINVAL;
	CHECK_OK(remind_run_due(f.st, &f.cfg, now + HOUR, post, &f.sink, &n));
	CHECK_INT(n, 0);
	CHECK_INT(outbox_count(f.st), 0);
	/* then it goes out, once, with the same transaction id */
	f.sink.fail = SC_OK;
	CHECK_INT(run(&f, now + HOUR + 60), 1);
	snprintf(txn, sizeof(txn), "%s", f.sink.txn[0]);
	CHECK_CONTAINS(txn, "remind.");
	/* a rollback around the whole run (a crash before the commit of
	 * the bot's batch) takes the message and the firing back alike */
	teardown(&f);
	setup(&f, ":memory:", now);
	add(f.st, ROOM, REC_TODO, "rotate keys", "@elon:example.org", NULL, now,
	    now + 2 * HOUR, NULL);
	CHECK_OK(store_tx_begin(f.st));
	CHECK_INT(run(&f, now + HOUR), 1);
	CHECK_OK(store_tx_rollback(f.st));
	CHECK_INT(outbox_count(f.st), 0);
	CHECK_INT(run(&f, now + HOUR + 5), 1);
	CHECK_STR(f.sink.txn[1], f.sink.txn[0]);
	CHECK_INT(outbox_count(f.st), 1);
	CHECK_INT(run(&f, now + HOUR + 10), 0);
	teardown(&f);
}

static void test_restart(void)
{
	char path[512];
	int64_t now = utc("2026-11-23T15:00:00Z");
	struct fix f;

	snprintf(path, sizeof(path), "%s/remind.db", th_tmpdir());
	remove(path);
	setup(&f, path, now);
	add(f.st, ROOM, REC_REMINDER, "standup", NULL, NULL, now,
	    utc("2026-11-30T09:00:00Z"), "every mon 09:00 UTC");
	add(f.st, ROOM, REC_TODO, "renew certs", "@elon:example.org", NULL, now,
	    now + 2 * HOUR, NULL);
	teardown(&f);
	/* three weeks later, after a restart: one message for the room,
	 * the weekly reminder once, then on to its next Monday */
	setup(&f, path, now);
	CHECK_INT(run(&f, utc("2026-12-17T12:00:00Z")), 1);
	CHECK_CONTAINS(f.sink.body[0], "While I was offline:");
	CHECK_CONTAINS(f.sink.body[0], "- T1 became due (Mon 23 Nov 17:00): renew certs");
	CHECK_CONTAINS(f.sink.body[0], "- Reminder: standup (R1, was for Mon 30 Nov 09:00, set by alice)");
	CHECK(f.sink.ping_room[0]);
	teardown(&f);
	setup(&f, path, now);
	CHECK_INT(run(&f, utc("2026-12-17T12:00:01Z")), 0);
	CHECK_INT(run(&f, utc("2026-12-21T09:00:00Z")), 1);
	CHECK_STR(f.sink.body[0], "Reminder: standup (R1, set by alice). Every mon 09:00; !remind cancel R1 stops it.");
	CHECK_INT(outbox_count(f.st), 2);
	teardown(&f);
	remove(path);
}

static void test_left_room(void)
{
	int64_t now = utc("2026-11-23T15:00:00Z");
	struct fix f;

	setup(&f, ":memory:", now);
	add(f.st, ROOM, REC_TODO, "x", "@elon:example.org", NULL, now, now + 2 * HOUR, NULL);
	add_room(f.st, ROOM, "UTC", 0); /* scribe left */
	CHECK_INT(run(&f, now + 2 * HOUR), 0);
	CHECK_INT(outbox_count(f.st), 0);
	add_room(f.st, ROOM, "UTC", now + 3 * HOUR);
	CHECK_INT(run(&f, now + 3 * HOUR), 0);
	teardown(&f);
}

static void test_setup_schedules_old_items(void)
{
	int64_t now = utc("2026-11-23T15:00:00Z"), t1, i1, r1, next = 0;
	struct remind_params p = { 3600, 4 * HOUR, 2 * DAY, 2 };
	char path[512];
	sqlite3 *db = NULL;
	struct fix f;

	snprintf(path, sizeof(path), "%s/old.db", th_tmpdir());
	remove(path);
	setup(&f, path, now);
	t1 = add(f.st, ROOM, REC_TODO, "renew", "@elon:x", NULL, now, now + 5 * HOUR, NULL);
	i1 = add(f.st, ROOM, REC_INCIDENT, "db down", NULL, "critical", now - 5 * HOUR, 0, NULL);
	r1 = add(f.st, ROOM, REC_REMINDER, "x", NULL, NULL, now, now + DAY, NULL);
	store_close(f.st);
	/* a store from before reminders (or an import): no schedule */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DELETE FROM reminders", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_OK(store_open(path, &f.st));
	CHECK_OK(store_remind_next(f.st, &next));
	CHECK_INT(next, 0);
	CHECK_OK(store_remind_setup(f.st, &p, now));
	CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 4 * HOUR);
	CHECK_INT(fire_of(f.st, r1, RW_REMIND), now + DAY);
	/* level 1 ended before (an hour ago): passed, not fired late */
	CHECK_INT(fire_of(f.st, i1, RW_SLA), now - 5 * HOUR + 8 * HOUR);
	/* idempotent; a new lead time moves the due reminders */
	CHECK_OK(store_remind_setup(f.st, &p, now));
	CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 4 * HOUR);
	p.before = 2 * HOUR;
	CHECK_OK(store_remind_setup(f.st, &p, now));
	CHECK_INT(fire_of(f.st, t1, RW_DUE), now + 3 * HOUR);
	p.sla_critical = 2 * HOUR; /* the incident is past both levels now */
	CHECK_OK(store_remind_setup(f.st, &p, now));
	CHECK_INT(fire_of(f.st, i1, RW_SLA), 0);
	teardown(&f);
	remove(path);
}

static int count_row(const struct remind_row *r, void *ctx)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

/* A room upgraded (m.room.tombstone): its items' reminders and its
 * alert settings go to the new room. */
static void test_room_upgrade(void)
{
	int64_t now = utc("2026-11-23T15:00:00Z");
	struct room_alerts al;
	struct fix f;
	int old_n = 0, new_n = 0;

	setup(&f, ":memory:", now);
	add(f.st, ROOM, REC_TODO, "x", "@elon:example.org", NULL, now, now + 2 * HOUR, NULL);
	add(f.st, ROOM, REC_REMINDER, "y", NULL, NULL, now, now + HOUR, NULL);
	CHECK_OK(store_alerts_get(f.st, ROOM, &al));
	al.before = 1800;
	CHECK_OK(store_alerts_put(f.st, ROOM, &al, now));
	room_alerts_clear(&al);
	CHECK_OK(store_room_upgrade(f.st, ROOM, "!new:example.org"));
	CHECK_OK(store_remind_due(f.st, ROOM, now + DAY, 0, count_row, &old_n));
	CHECK_OK(store_remind_due(f.st, "!new:example.org", now + DAY, 0, count_row, &new_n));
	CHECK_INT(old_n, 0);
	CHECK_INT(new_n, 2);
	CHECK_OK(store_alerts_get(f.st, "!new:example.org", &al));
	CHECK_INT(al.before, 1800);
	room_alerts_clear(&al);
	teardown(&f);
}

static int count_breach(const struct record *r, void *ctx)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static void test_breaches(void)
{
	int64_t now = utc("2026-11-23T15:00:00Z"), n = -1, id;
	struct record r;
	struct fix f;
	int seen = 0;

	setup(&f, ":memory:", now);
	/* breached: still open past 4h; resolved after its SLA; a major
	 * todo past 2d */
	add(f.st, ROOM, REC_INCIDENT, "a", NULL, "critical", now - 10 * HOUR, 0, NULL);
	id = add(f.st, ROOM, REC_INCIDENT, "b", NULL, "critical", now - 10 * HOUR, 0, NULL);
	CHECK_OK(store_record_get_id(f.st, id, &r));
	record_set(&r.status, "resolved");
	r.closed = now - 5 * HOUR;
	CHECK_OK(store_record_update(f.st, &r, "@bob:x", now - 5 * HOUR, NULL));
	record_clear(&r);
	add(f.st, ROOM, REC_TODO, "c", "@bob:x", "major", now - 3 * DAY, 0, NULL);
	/* not breached: resolved in time; minor; SLA still running; other
	 * room */
	id = add(f.st, ROOM, REC_INCIDENT, "d", NULL, "critical", now - 10 * HOUR, 0, NULL);
	CHECK_OK(store_record_get_id(f.st, id, &r));
	record_set(&r.status, "resolved");
	r.closed = now - 9 * HOUR;
	CHECK_OK(store_record_update(f.st, &r, "@bob:x", now - 9 * HOUR, NULL));
	record_clear(&r);
	add(f.st, ROOM, REC_TODO, "e", "@bob:x", "minor", now - 30 * DAY, 0, NULL);
	add(f.st, ROOM, REC_INCIDENT, "f", NULL, "critical", now - HOUR, 0, NULL);
	add(f.st, ROOM2, REC_INCIDENT, "g", NULL, "critical", now - 10 * HOUR, 0, NULL);
	CHECK_OK(remind_breaches(f.st, &f.cfg, ROOM, now - 7 * DAY, now, count_breach,
				 &seen, &n));
	CHECK_INT(n, 3);
	CHECK_INT(seen, 3);
	/* a window that ends before the SLAs did */
	CHECK_OK(remind_breaches(f.st, &f.cfg, ROOM, now - 7 * DAY, now - 8 * HOUR,
				 NULL, NULL, &n));
	CHECK_INT(n, 1);
	teardown(&f);
}

TESTS(TEST(test_time_words), TEST(test_every), TEST(test_rules_across_dst),
      TEST(test_hours), TEST(test_schedule_follows_records),
      TEST(test_fires_once), TEST(test_failure_commits_nothing),
      TEST(test_restart), TEST(test_left_room),
      TEST(test_setup_schedules_old_items), TEST(test_room_upgrade),
      TEST(test_breaches))
