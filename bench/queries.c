/* SPDX-License-Identifier: MIT */
/*
 * queries.c - query latency on a large store: `!todos overdue`,
 * `!changelog #web1 since:30d`, `!search ...` through the real
 * dispatcher (cmd_dispatch) and a digest build (digest_build), each run
 * many times on a store of N records (default 1,000,000), reporting
 * median, p99 and max per query as one line each:
 *
 *   bench query-todos-overdue records=1000000 runs=200 median_ms=.. p99_ms=.. max_ms=..
 *
 *   build-bench/bench/queries [-n RECORDS] [-r RUNS] [-f STORE] [-q NAME]
 *
 * -q runs only the queries whose name starts with NAME (for profiling).
 *
 * The store is generated once through the store API (one transaction,
 * so it takes a minute, not hours) and kept in STORE (default
 * build-bench/bench-<N>.db) for later runs. Shape: 10 rooms, two years
 * of history, about half changes (tagged with one of 50 hosts), a
 * third todos (a tenth still open, half of those overdue), decisions
 * and incidents; texts from a 1,000-word vocabulary, 12 people. The
 * queries run in room 0 (a tenth of the records).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "digest.h"
#include "log.h"
#include "store.h"
#include "banned.h"

#define NROOMS 10
#define NUSERS 12
#define NHOSTS 50
#define NWORDS 1000
#define DAY 86400

static const int64_t now0 = 1795446000; /* Mon 2026-11-23 15:00 UTC */
static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next_rand() % n);
}

static char words[NWORDS][16];

/* Pronounceable made-up words, plus a few real ops words so searches
 * for "nginx" or "disk" have realistic hit counts. */
static void make_words(void)
{
	static const char *const real[] = { "nginx", "disk", "backup", "deploy", "cert",
		"postgres", "redis", "kernel", "upgrade", "rotate", "dns", "tls",
		"memory", "latency", "alert", "firewall" };
	static const char cons[] = "bcdfghklmnprstvz", vow[] = "aeiou";
	size_t nreal = sizeof(real) / sizeof(real[0]);

	for (int i = 0; i < NWORDS; i++) {
		if ((size_t)i < nreal) {
			snprintf(words[i], sizeof(words[i]), "%s", real[i]);
			continue;
		}
		int len = 2 + pick(3), k = 0;
		for (int j = 0; j < len; j++) {
			words[i][k++] = cons[pick(sizeof(cons) - 1)];
			words[i][k++] = vow[pick(sizeof(vow) - 1)];
		}
		words[i][k] = '\0';
	}
}

/* Zipf-ish: low word numbers are much more common. */
static const char *word(void)
{
	unsigned a = pick(NWORDS), b = pick(NWORDS);
	return words[a < b ? a : b];
}

static void text(char *buf, size_t size)
{
	int n = 4 + pick(7);
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && len + 17 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "", word());
}

static int die(struct store *st, const char *what)
{
	fprintf(stderr, "bench-queries: %s: %s\n", what, st ? store_errmsg(st) : "");
	exit(1);
}

static void generate(struct store *st, long n)
{
	char room[64], user[64], host[16], buf[256], ev[32];
	time_t t0 = time(NULL);

	if (store_tx_begin(st))
		die(st, "begin");
	for (int r = 0; r < NROOMS; r++) {
		struct room ro;
		memset(&ro, 0, sizeof(ro));
		snprintf(room, sizeof(room), "!room%d:example.org", r);
		ro.room_id = room;
		ro.digest_minute = -1;
		ro.joined_at = now0 - 800 * DAY;
		if (store_room_put(st, &ro))
			die(st, "room");
		for (int u = 0; u < NUSERS; u++) {
			snprintf(user, sizeof(user), "@user%d:example.org", u);
			if (store_member_put(st, room, user, NULL, "join", u == 0 ? 100 : 0))
				die(st, "member");
		}
	}
	for (long i = 0; i < n; i++) {
		struct record rec;
		unsigned k = pick(100);
		memset(&rec, 0, sizeof(rec));
		snprintf(room, sizeof(room), "!room%ld:example.org", i % NROOMS);
		snprintf(user, sizeof(user), "@user%u:example.org", pick(NUSERS));
		snprintf(ev, sizeof(ev), "$gen%ld", i);
		text(buf, sizeof(buf));
		rec.room_id = room;
		rec.author = user;
		rec.event_id = ev;
		rec.text = buf;
		/* oldest first, spread over two years */
		rec.created = now0 - 730 * DAY + (int64_t)(730.0 * DAY * (double)i / (double)n);
		rec.updated = rec.created;
		if (k < 50) {
			rec.kind = REC_CHANGE;
			rec.status = (char *)"logged";
			snprintf(host, sizeof(host), "web%u", 1 + pick(NHOSTS));
			if (record_add_tag(&rec, host))
				die(NULL, "tag");
		} else if (k < 85) {
			rec.kind = REC_TODO;
			snprintf(user, sizeof(user), "@user%u:example.org", pick(NUSERS));
			if (record_add_assignee(&rec, user))
				die(NULL, "assignee");
			rec.due = rec.created + (int64_t)(1 + pick(14)) * DAY;
			if (rec.created > now0 - 60 * DAY && pick(2)) {
				rec.status = (char *)"open";
			} else {
				rec.status = (char *)"done";
				rec.closed = rec.created + pick(10 * DAY);
			}
			if (pick(10) == 0)
				rec.severity = (char *)(pick(3) == 0 ? "critical" : "major");
		} else if (k < 95) {
			rec.kind = REC_DECISION;
			rec.status = (char *)(pick(3) ? "accepted" : "proposed");
		} else {
			rec.kind = REC_INCIDENT;
			rec.status = (char *)"resolved";
			rec.severity = (char *)"major";
			rec.closed = rec.created + 3600;
		}
		if (store_record_add(st, &rec))
			die(st, "record");
		/* the struct's own arrays; the strings above are borrowed */
		for (size_t j = 0; j < rec.nassignees; j++)
			free(rec.assignees[j]);
		for (size_t j = 0; j < rec.ntags; j++)
			free(rec.tags[j]);
		free(rec.assignees);
		free(rec.tags);
		if (i && i % 100000 == 0)
			fprintf(stderr, "bench-queries: %ld records (%lds)\n", i,
				(long)(time(NULL) - t0));
	}
	if (store_tx_commit(st))
		die(st, "commit");
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, long n, double *t, int runs, size_t bytes)
{
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("bench query-%s records=%ld runs=%d median_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	       "reply_bytes=%zu\n", name, n, runs, t[runs / 2],
	       t[(int)(runs * 0.99) < runs ? (int)(runs * 0.99) : runs - 1], t[runs - 1],
	       bytes);
	fflush(stdout);
}

static const char *only = "";

static void run_cmd(struct store *st, const struct config *cfg, const char *name,
		    const char *line, long n, int runs, int print)
{
	double *t;
	size_t bytes = 0;

	if (strncmp(name, only, strlen(only)) != 0)
		return;
	t = calloc((size_t)runs, sizeof(*t));
	for (int i = 0; i < runs; i++) {
		struct reply out;
		struct cmd_ctx c;
		int handled = 0;
		double t0;

		reply_init(&out);
		memset(&c, 0, sizeof(c));
		c.st = st;
		c.cfg = cfg;
		c.room_id = "!room0:example.org";
		c.sender = "@user1:example.org";
		c.event_id = "$bench";
		c.now = now0;
		c.tz = "UTC";
		c.power = 0;
		c.out = &out;
		t0 = now_ms();
		if (cmd_dispatch(&c, line, &handled) || !handled || out.failed) {
			fprintf(stderr, "bench-queries: '%s' failed: %s\n", line, out.body.buf);
			exit(1);
		}
		t[i] = now_ms() - t0;
		bytes = out.body.len;
		reply_clear(&out);
	}
	if (print)
		report(name, n, t, runs, bytes);
	free(t);
}

static void run_digest(struct store *st, const struct config *cfg, long n, int runs)
{
	double *t;
	size_t bytes = 0;

	if (strncmp("digest", only, strlen(only)) != 0)
		return;
	t = calloc((size_t)runs, sizeof(*t));
	for (int i = 0; i < runs; i++) {
		struct reply out;
		int empty = 0;
		double t0;

		reply_init(&out);
		t0 = now_ms();
		if (digest_build(st, cfg, "!room0:example.org", now0 - DAY, now0, now0, &out,
				 &empty)) {
			fprintf(stderr, "bench-queries: digest failed: %s\n", store_errmsg(st));
			exit(1);
		}
		t[i] = now_ms() - t0;
		bytes = out.body.len;
		reply_clear(&out);
	}
	report("digest", n, t, runs, bytes);
	free(t);
}

int main(int argc, char **argv)
{
	long n = 1000000;
	int runs = 200, opt;
	char path[256] = "";
	struct store *st = NULL;
	struct config cfg;
	int fresh;

	while ((opt = getopt(argc, argv, "n:r:f:q:")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'f': snprintf(path, sizeof(path), "%s", optarg); break;
		case 'q': only = optarg; break;
		default:
			fprintf(stderr, "usage: queries [-n RECORDS] [-r RUNS] [-f STORE] [-q NAME]\n");
			return 2;
		}
	}
	if (n < 1000 || runs < 1)
		return 2;
	if (!*path)
		snprintf(path, sizeof(path), "build-bench/bench-%ld.db", n);
	log_set_level(LOG_ERROR);
	if (config_defaults(&cfg))
		return 1;
	make_words();
	fresh = access(path, F_OK) != 0;
	if (store_open(path, &st))
		die(NULL, "cannot open store");
	if (fresh) {
		double t0 = now_ms();
		generate(st, n);
		printf("bench store-generate records=%ld seconds=%.1f\n", n, (now_ms() - t0) / 1e3);
		fflush(stdout);
	}
	/* one warm-up pass each (page cache), then the timed runs */
	run_cmd(st, &cfg, "todos-overdue", "!todos overdue", n, 1, 0);
	run_cmd(st, &cfg, "todos-overdue", "!todos overdue", n, runs, 1);
	run_cmd(st, &cfg, "changelog-web1-30d", "!changelog #web1 since:30d", n, runs, 1);
	run_cmd(st, &cfg, "search", "!search nginx disk", n, runs, 1);
	run_cmd(st, &cfg, "search-rare", "!search kernel firewall upgrade", n, runs, 1);
	run_digest(st, &cfg, n, runs);
	store_close(st);
	config_free(&cfg);
	return 0;
}
