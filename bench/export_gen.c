/* SPDX-License-Identifier: MIT */
/*
 * export_gen.c - generate a store for bench/export.sh: N mixed records
 * (default 1,000,000) through the store API in large transactions.
 * Shape: 5 rooms of different sizes over two years; 45% changes (one of
 * 50 host tags), 30% todos (one or two of 12 people, a third done with
 * a note, so two more history entries), 13% decisions (a quarter
 * proposals with three votes), 10% incidents (most resolved), 2%
 * meetings with two topics, an info, three attendees and a todo made
 * during each.
 *
 *   build/bench/export_gen [-n RECORDS] -f STORE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "banned.h"

#define NROOMS 5
#define NUSERS 12
#define NHOSTS 50
#define DAY 86400
#define BATCH 20000

static const int64_t t0 = 1732000000; /* late 2024 */
static uint64_t rng = 88172645463325252ull;

static unsigned pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const verbs[] = { "upgraded", "restarted", "rotated",
	"patched", "moved", "resized", "migrated", "pinned", "reverted",
	"tuned" };
static const char *const things[] = { "nginx", "postgres", "the disk",
	"dns zone", "certificates", "the backup job", "redis", "the runner",
	"grafana", "the firewall", "kernel", "matrix synapse" };

static void die(struct store *st, const char *what)
{
	fprintf(stderr, "export_gen: %s: %s\n", what, st ? store_errmsg(st) : "");
	exit(1);
}

static void fill(struct record *r, enum rec_kind k, int room, int64_t ts,
		 const char *status)
{
	char buf[160];

	memset(r, 0, sizeof(*r));
	r->kind = k;
	snprintf(buf, sizeof(buf), "!room%d:example.org", room);
	record_set(&r->room_id, buf);
	snprintf(buf, sizeof(buf), "@user%u:example.org", pick(NUSERS));
	record_set(&r->author, buf);
	snprintf(buf, sizeof(buf), "%s %s on host%u, \"step %u\"",
		 verbs[pick(10)], things[pick(12)], pick(NHOSTS), pick(1000));
	record_set(&r->text, buf);
	record_set(&r->status, status);
	r->created = r->updated = ts;
}

int main(int argc, char **argv)
{
	struct store *st = NULL;
	const char *path = NULL;
	long n = 1000000;
	int opt;

	while ((opt = getopt(argc, argv, "n:f:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'f')
			path = optarg;
		else
			return 2;
	}
	if (!path || n <= 0) {
		fprintf(stderr, "usage: export_gen [-n RECORDS] -f STORE\n");
		return 2;
	}
	log_set_level(LOG_ERROR);
	if (store_open(path, &st))
		return 1;
	if (store_tx_begin(st))
		die(st, "begin");
	for (long i = 0; i < n; i++) {
		int64_t ts = t0 + (int64_t)i * (2 * 365 * DAY) / n;
		unsigned roll = pick(100);
		/* room 0 has half the records, the others share the rest */
		int room = pick(2) ? 0 : 1 + (int)pick(NROOMS - 1);
		char buf[128];
		struct record r;

		if (roll < 45) {
			fill(&r, REC_CHANGE, room, ts, "logged");
			snprintf(buf, sizeof(buf), "host%u", pick(NHOSTS));
			record_add_tag(&r, buf);
			if (store_record_add(st, &r))
				die(st, "change");
		} else if (roll < 75) {
			fill(&r, REC_TODO, room, ts, "open");
			snprintf(buf, sizeof(buf), "@user%u:example.org", pick(NUSERS));
			record_add_assignee(&r, buf);
			if (!pick(4)) {
				snprintf(buf, sizeof(buf), "@user%u:example.org",
					 pick(NUSERS));
				record_add_assignee(&r, buf);
			}
			if (pick(2))
				r.due = ts + (int64_t)(1 + pick(14)) * DAY;
			if (!pick(5))
				record_set(&r.severity, "critical");
			if (store_record_add(st, &r))
				die(st, "todo");
			if (pick(3)) {
				record_set(&r.status, pick(5) ? "done" : "dropped");
				record_set(&r.detail, "done, see the runbook");
				r.closed = ts + DAY;
				if (store_record_update(st, &r, r.author, ts + DAY, NULL))
					die(st, "todo update");
			}
		} else if (roll < 88) {
			int proposal = !pick(4);
			fill(&r, REC_DECISION, room, ts,
			     proposal ? "proposed" : "accepted");
			record_set(&r.detail, "it is simpler, and we know it");
			if (store_record_add(st, &r))
				die(st, "decision");
			for (int v = 0; proposal && v < 3; v++) {
				static const char *const keys[] = { "up", "down", "meh" };
				snprintf(buf, sizeof(buf), "@user%d:example.org", v);
				if (store_vote_add(st, r.id, buf, keys[pick(3)], NULL))
					die(st, "vote");
			}
		} else if (roll < 98) {
			fill(&r, REC_INCIDENT, room, ts, "open");
			record_set(&r.severity, pick(3) ? "minor" : "major");
			if (store_record_add(st, &r))
				die(st, "incident");
			if (pick(10)) {
				record_set(&r.status, "resolved");
				r.closed = ts + 3600;
				if (store_record_update(st, &r, r.author, ts + 3600, NULL))
					die(st, "incident update");
			}
		} else {
			struct record t;
			int64_t mid;
			fill(&r, REC_MEETING, room, ts, "ended");
			r.closed = ts + 3600;
			if (store_record_add(st, &r))
				die(st, "meeting");
			mid = r.id;
			for (int a = 0; a < 3; a++) {
				snprintf(buf, sizeof(buf), "@user%d:example.org", a);
				if (store_attendee_add(st, mid, buf))
					die(st, "attendee");
			}
			if (store_note_add(st, mid, ts + 60, r.author, "topic", "status") ||
			    store_note_add(st, mid, ts + 120, r.author, "topic", "next steps") ||
			    store_note_add(st, mid, ts + 180, r.author, "info",
					   "we agreed to keep the runbook current"))
				die(st, "note");
			fill(&t, REC_TODO, room, ts + 300, "open");
			record_add_assignee(&t, "@user1:example.org");
			t.meeting = mid;
			if (store_record_add(st, &t))
				die(st, "meeting todo");
			record_clear(&t);
			i++;
		}
		record_clear(&r);
		if (i % BATCH == BATCH - 1 &&
		    (store_tx_commit(st) || store_tx_begin(st)))
			die(st, "commit");
	}
	if (store_tx_commit(st))
		die(st, "commit");
	store_close(st);
	return 0;
}
