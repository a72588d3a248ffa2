/* SPDX-License-Identifier: MIT */
/*
 * remind.c - the cost of reminders on a large store: the check the bot
 * makes at every turn of its loop ("is anything due?", then "when is
 * the next?": remind_run_due with nothing due plus remind_next) and the
 * firing of one due reminder (remind_run_due: one room's transaction,
 * its message queued in the outbox), on a store of N records (default
 * 1,000,000) of which P (default 10,000) have a reminder pending:
 *
 *   bench remind-setup records=1000000 ms=..
 *   bench remind-check records=1000000 pending=10000 runs=20000 median_us=.. p99_us=.. max_us=..
 *   bench remind-fire records=1000000 pending=10000 runs=200 median_ms=.. p99_ms=.. max_ms=..
 *
 *   build-bench/bench/remind [-n RECORDS] [-p PENDING] [-r RUNS] [-f STORE]
 *
 * The target (issue 22): the per-loop check under 1 ms p99. It must not
 * scan records: pending firings sit in a partial index on their next
 * time (reminders_fire), so the check is one index lookup whatever N.
 *
 * The store is generated once through the store API (one transaction,
 * so the schedule is made by the same hooks as in the bot) and kept in
 * STORE (default build-bench/remind-<N>-<P>.db): 10 rooms, two years of
 * history, mostly changes, decisions and closed todos; the pending ones
 * are open todos due in the coming 30 days (60%), open critical and
 * major incidents (20%: their SLA escalation) and R records (20%).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "remind.h"
#include "store.h"
#include "store_remind.h"
#include "banned.h"

#define NROOMS 10
#define NUSERS 12
#define DAY 86400

static const int64_t now0 = 1795446000; /* Mon 2026-11-23 15:00 UTC */
static uint64_t rng = 88172645463325252ull;

static unsigned pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void die(struct store *st, const char *what)
{
	fprintf(stderr, "bench-remind: %s: %s\n", what, st ? store_errmsg(st) : "");
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static const char *const words[] = { "rotate", "keys", "renew", "certs",
	"order", "disks", "upgrade", "nginx", "backup", "restore", "dns",
	"kernel", "patch", "firewall", "alerts", "runbook" };

static void text(char *buf, size_t size)
{
	size_t len = 0;
	int n = 3 + (int)pick(5);

	buf[0] = '\0';
	for (int i = 0; i < n && len + 12 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "",
					words[pick(sizeof(words) / sizeof(words[0]))]);
}

static void generate(struct store *st, long n, long pending)
{
	char room[64], user[64], buf[128], ev[32];
	long every = n / pending, made = 0;
	time_t t0 = time(NULL);

	if (store_tx_begin(st))
		die(st, "begin");
	for (int r = 0; r < NROOMS; r++) {
		struct room ro;

		memset(&ro, 0, sizeof(ro));
		snprintf(room, sizeof(room), "!room%d:example.org", r);
		ro.room_id = room;
		ro.digest_minute = -2;
		ro.joined_at = now0 - 800 * DAY;
		if (store_room_put(st, &ro))
			die(st, "room");
	}
	for (long i = 0; i < n; i++) {
		struct record rec;
		unsigned k = pick(100);
		int live = made < pending && i % every == every - 1;

		memset(&rec, 0, sizeof(rec));
		snprintf(room, sizeof(room), "!room%ld:example.org", i % NROOMS);
		snprintf(user, sizeof(user), "@user%u:example.org", pick(NUSERS));
		snprintf(ev, sizeof(ev), "$gen%ld", i);
		text(buf, sizeof(buf));
		rec.room_id = room;
		rec.author = user;
		rec.event_id = ev;
		rec.text = buf;
		rec.created = now0 - 730 * DAY + (int64_t)(730.0 * DAY * (double)i / (double)n);
		if (live)
			rec.created = now0 - pick(DAY);
		rec.updated = rec.created;
		if (live) {
			/* what will fire: spread over the coming 30 days */
			unsigned w = pick(10);

			made++;
			if (w < 6) {
				rec.kind = REC_TODO;
				rec.status = (char *)"open";
				rec.due = now0 + 2 * 3600 + pick(30 * DAY);
				if (record_add_assignee(&rec, user))
					die(NULL, "assignee");
			} else if (w < 8) {
				rec.kind = REC_INCIDENT;
				rec.status = (char *)"open";
				rec.severity = (char *)(pick(2) ? "major" : "critical");
				/* opened so its first level ends ahead */
				rec.created = rec.updated = now0 - 600;
			} else {
				rec.kind = REC_REMINDER;
				rec.status = (char *)"pending";
				rec.due = now0 + 3600 + pick(30 * DAY);
				if (record_add_assignee(&rec, user))
					die(NULL, "assignee");
			}
		} else if (k < 50) {
			rec.kind = REC_CHANGE;
			rec.status = (char *)"logged";
		} else if (k < 85) {
			rec.kind = REC_TODO;
			rec.status = (char *)"done";
			rec.due = rec.created + (int64_t)(1 + pick(14)) * DAY;
			rec.closed = rec.created + pick(10 * DAY);
			if (record_add_assignee(&rec, user))
				die(NULL, "assignee");
		} else if (k < 95) {
			rec.kind = REC_DECISION;
			rec.status = (char *)"accepted";
		} else {
			rec.kind = REC_INCIDENT;
			rec.status = (char *)"resolved";
			rec.severity = (char *)"major";
			rec.closed = rec.created + 3600;
		}
		if (store_record_add(st, &rec))
			die(st, "record");
		for (size_t j = 0; j < rec.nassignees; j++)
			free(rec.assignees[j]);
		free(rec.assignees);
		if (i && i % 100000 == 0)
			fprintf(stderr, "bench-remind: %ld records (%lds)\n", i,
				(long)(time(NULL) - t0));
	}
	if (store_tx_commit(st))
		die(st, "commit");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *t, int runs, double p)
{
	int i = (int)(runs * p);

	return t[i < runs ? i : runs - 1];
}

/* A post that queues like the bot does, so a firing costs what it
 * costs there (the JSON of the message aside). */
static sc_err post(const char *room, const char *txn, const struct reply *r,
		   const struct remind_post *how, void *ctx)
{
	struct store *st = ctx;

	(void)how;
	return store_outbox_add(st, txn, room, "m.room.message", r->body.buf, 0);
}

static int count_row(const struct remind_row *r, void *ctx)
{
	(void)r;
	(*(long *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	long n = 1000000, pending = 10000, rows = 0;
	int runs = 20000, fires = 200, opt, fresh;
	char path[256] = "";
	struct store *st = NULL;
	struct config cfg;
	double *t;
	int64_t next = 0;

	while ((opt = getopt(argc, argv, "n:p:r:f:")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'p': pending = atol(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'f': snprintf(path, sizeof(path), "%s", optarg); break;
		default:
			fprintf(stderr, "usage: remind [-n RECORDS] [-p PENDING] [-r RUNS] [-f STORE]\n");
			return 2;
		}
	}
	if (n < 1000 || pending < 10 || pending > n / 2 || runs < 100)
		return 2;
	if (!*path)
		snprintf(path, sizeof(path), "build-bench/remind-%ld-%ld.db", n, pending);
	log_set_level(LOG_ERROR);
	if (config_defaults(&cfg))
		return 1;
	fresh = access(path, F_OK) != 0;
	if (store_open(path, &st))
		die(NULL, "cannot open store");
	if (fresh) {
		double t0 = now_us();

		generate(st, n, pending);
		printf("bench remind-generate records=%ld pending=%ld seconds=%.1f\n", n,
		       pending, (now_us() - t0) / 1e6);
		fflush(stdout);
	}
	/* what every start of the bot does: the defaults, and rows for
	 * what has none */
	{
		double t0 = now_us();

		if (remind_setup(st, &cfg, now0))
			die(st, "setup");
		printf("bench remind-setup records=%ld ms=%.1f\n", n,
		       (now_us() - t0) / 1e3);
	}
	/* what is pending: every row with a next time */
	if (store_remind_due(st, NULL, INT64_MAX, 0, count_row, &rows))
		die(st, "count");
	if (store_remind_next(st, &next) || !next || next <= now0)
		die(st, "nothing pending ahead");

	/* the loop's check at a moment nothing is due */
	t = calloc((size_t)runs, sizeof(*t));
	for (int i = -100; i < runs; i++) {
		double t0 = now_us();
		int posted = -1;
		int64_t at = 0;

		if (remind_run_due(st, &cfg, now0, post, st, &posted) || posted ||
		    remind_next(st, &at) || at != next)
			die(st, "check");
		if (i >= 0)
			t[i] = now_us() - t0;
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("bench remind-check records=%ld pending=%ld runs=%d median_us=%.1f "
	       "p99_us=%.1f max_us=%.1f\n", n, rows, runs, pct(t, runs, 0.5),
	       pct(t, runs, 0.99), t[runs - 1]);
	fflush(stdout);

	/* firing: the clock moves to each next time in turn, one message
	 * each, queued with its firing in the room's transaction. An outer
	 * transaction, rolled back at the end, keeps the kept store as it
	 * was for the next run (so each room's transaction is a savepoint
	 * here: the figure leaves out the commit itself) */
	if (store_tx_begin(st))
		die(st, "begin");
	for (int i = 0; i < fires; i++) {
		double t0;
		int posted = 0;

		if (store_remind_next(st, &next) || !next)
			die(st, "next");
		t0 = now_us();
		if (remind_run_due(st, &cfg, next, post, st, &posted) || posted < 1)
			die(st, "fire");
		t[i] = (now_us() - t0) / 1e3;
	}
	if (store_tx_rollback(st))
		die(st, "rollback");
	qsort(t, (size_t)fires, sizeof(*t), cmp_double);
	printf("bench remind-fire records=%ld pending=%ld runs=%d median_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f\n", n, rows, fires, pct(t, fires, 0.5),
	       pct(t, fires, 0.99), t[fires - 1]);
	free(t);
	store_close(st);
	config_free(&cfg);
	return 0;
}
