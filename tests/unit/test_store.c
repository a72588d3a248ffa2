/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the record store keeps what it is given, numbers it,
 * logs every change, finds it again by every query field, refuses what
 * it must refuse, and survives a reopen. A few tests open the store file
 * with SQLite directly, as another process (or an admin's sqlite3 shell)
 * would, to check what the store API alone cannot show: that history
 * rows cannot be changed, that the search index matches the records,
 * and that a file from a newer scribe is refused.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"
#include "log.h"
#include "sbuf.h"
#include "store.h"
#include "banned.h"

#define ROOM_A "!a:example.org"
#define ROOM_B "!b:example.org"
#define MSG "m.room.message"

/* A fresh path in the scratch directory (the last four stay valid). */
static const char *tmp_path(const char *name)
{
	static char bufs[4][1024];
	static unsigned next;
	char *p = bufs[next++ % 4];

	snprintf(p, sizeof(bufs[0]), "%s/%s", th_tmpdir(), name);
	unlink(p);
	return p;
}

static struct store *open_mem(void)
{
	struct store *st = NULL;

	CHECK_OK(store_open(":memory:", &st));
	CHECK(st != NULL);
	return st;
}

/* Fill r (zeroed first) with the required fields. */
static void mk(struct record *r, enum rec_kind kind, const char *room,
	       const char *author, const char *event_id, const char *text,
	       const char *status, int64_t created)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	CHECK_OK(record_set(&r->room_id, room));
	CHECK_OK(record_set(&r->author, author));
	CHECK_OK(record_set(&r->event_id, event_id));
	CHECK_OK(record_set(&r->text, text));
	CHECK_OK(record_set(&r->status, status));
	r->created = r->updated = created;
}

/* Add a simple record and return its id. */
static int64_t add(struct store *st, enum rec_kind kind, const char *room,
		   const char *text, const char *status, int64_t created)
{
	struct record r;
	int64_t id;

	mk(&r, kind, room, "@alice:example.org", NULL, text, status, created);
	CHECK_OK(store_record_add(st, &r));
	id = r.id;
	record_clear(&r);
	return id;
}

/* Short ids of the matches of q, space-separated. */
struct idlist {
	char buf[4096];
	size_t len;
	int stop_after;
	int n;
};

static int collect(const struct record *r, void *ctx)
{
	struct idlist *l = ctx;
	char id[24];

	record_short_id(r, id, sizeof(id));
	l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
				   "%s%s", l->len ? " " : "", id);
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static const char *ids(struct store *st, const struct rec_query *q)
{
	static struct idlist l;
	sc_err err;

	memset(&l, 0, sizeof(l));
	err = store_query(st, q, collect, &l);
	if (err)
		th_fail(__FILE__, __LINE__, "store_query: %s",
			store_errmsg(st));
	return l.buf;
}

/* Number of space-separated words of s. */
static int64_t nwords(const char *s)
{
	int64_t n = 0;

	for (const char *p = s; *p; p++)
		n += (p == s || p[-1] == ' ') && *p != ' ';
	return n;
}

static int64_t count(struct store *st, const struct rec_query *q)
{
	int64_t n = -1;
	sc_err err = store_count(st, q, &n);

	if (err)
		th_fail(__FILE__, __LINE__, "store_count: %s",
			store_errmsg(st));
	return n;
}

/* History of a record as "field:old>new" lines. */
struct hist {
	struct sbuf sb;
	int n;
	int64_t last_ts;
	char actor[64], event[64];
};

static int hist_collect(const struct history_entry *h, void *ctx)
{
	struct hist *hs = ctx;

	sbuf_printf(&hs->sb, "%s%s:%s>%s", hs->n ? "|" : "", h->field,
		    h->old_value ? h->old_value : "-",
		    h->new_value ? h->new_value : "-");
	hs->n++;
	hs->last_ts = h->ts;
	snprintf(hs->actor, sizeof(hs->actor), "%s", h->actor);
	snprintf(hs->event, sizeof(hs->event), "%s",
		 h->event_id ? h->event_id : "-");
	return 0;
}

static void history(struct store *st, int64_t id, struct hist *hs)
{
	memset(hs, 0, sizeof(*hs));
	sbuf_init(&hs->sb, 0);
	CHECK_OK(store_history(st, id, hist_collect, hs));
}

/* stderr into a file, to read what the store logged. */
static int saved_stderr = -1;

static void capture_start(const char *path)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
}

/* Restore stderr and return what was written (caller frees). */
static char *capture_end(const char *path)
{
	struct sbuf sb;
	char buf[4096];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	sbuf_init(&sb, 0);
	f = fopen(path, "r");
	if (f) {
		for (;;) {
			n = fread(buf, 1, sizeof(buf), f);
			if (!n)
				break;
			sbuf_add(&sb, buf, n);
		}
		fclose(f);
	}
	return sbuf_detach(&sb, NULL);
}

/* Run SQL on the store file from a second connection; the SQLite
 * result code. */
static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* The integer the query returns, from a second connection; -1 when it
 * fails. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* ---- helpers without a database ---- */

static void test_kind_and_id_helpers(void)
{
	enum rec_kind k;
	struct record r;
	int64_t num;
	char id[24];

	CHECK_INT(rec_kind_prefix(REC_TODO), 'T');
	CHECK_INT(rec_kind_prefix(REC_INCIDENT), 'I');
	CHECK_STR(rec_kind_name(REC_CHANGE), "change");
	CHECK_OK(rec_kind_parse("Decisions", &k));
	CHECK_INT(k, REC_DECISION);
	CHECK_OK(rec_kind_parse("todo", &k));
	CHECK_INT(k, REC_TODO);
	CHECK_INT(rec_kind_parse("todoss", &k), SC_EINVAL);
	CHECK_INT(rec_kind_parse("", &k), SC_EINVAL);
	CHECK_OK(rec_id_parse("t12", &k, &num));
	CHECK_INT(k, REC_TODO);
	CHECK_INT(num, 12);
	CHECK_OK(rec_id_parse("M3", &k, &num));
	CHECK_INT(k, REC_MEETING);
	CHECK_INT(rec_id_parse("T0", &k, &num), SC_EINVAL);
	CHECK_INT(rec_id_parse("T", &k, &num), SC_EINVAL);
	CHECK_INT(rec_id_parse("X1", &k, &num), SC_EINVAL);
	CHECK_INT(rec_id_parse("T12x", &k, &num), SC_EINVAL);
	CHECK_INT(rec_id_parse("T-1", &k, &num), SC_EINVAL);
	CHECK_INT(rec_id_parse("T99999999999999999999", &k, &num), SC_EINVAL);

	memset(&r, 0, sizeof(r));
	r.kind = REC_DECISION;
	r.num = 4;
	record_short_id(&r, id, sizeof(id));
	CHECK_STR(id, "D4");
	CHECK_OK(record_add_tag(&r, "#Web1"));
	CHECK_OK(record_add_tag(&r, "web1"));
	CHECK_OK(record_add_tag(&r, "dns"));
	CHECK_INT(record_add_tag(&r, "#"), SC_EINVAL);
	CHECK_INT(r.ntags, 2);
	CHECK_STR(r.tags[0], "web1");
	CHECK_OK(record_add_assignee(&r, "@a:x"));
	CHECK_OK(record_add_assignee(&r, "@a:x"));
	CHECK_INT(r.nassignees, 1);
	CHECK_OK(record_set(&r.text, "x"));
	CHECK_OK(record_set(&r.text, NULL));
	CHECK(r.text == NULL);
	record_clear(&r);
	CHECK(r.tags == NULL && r.ntags == 0 && r.num == 0);
}

/* ---- records ---- */

static void test_add_get_round_trip(void)
{
	struct store *st = open_mem();
	struct record r, g, m, old;
	/* non-ASCII text must come back byte for byte */
	const char *text = "use Linear \xF0\x9F\x91\x8D for tracking "
			   "(caf\xC3\xA9, e\xCC\x81, \xE2\x80\x94)";

	mk(&m, REC_MEETING, ROOM_A, "@alice:example.org", "$m", "weekly",
	   "running", 1000);
	CHECK_OK(store_record_add(st, &m));
	mk(&old, REC_DECISION, ROOM_A, "@alice:example.org", "$old",
	   "use jira", "accepted", 1001);
	CHECK_OK(store_record_add(st, &old));

	mk(&r, REC_DECISION, ROOM_A, "@bob:example.org", "$ev1", text,
	   "superseded", 1700000000);
	CHECK_OK(record_set(&r.detail, "because it's \"fast\""));
	CHECK_OK(record_set(&r.severity, "major"));
	r.updated = 1700000100;
	r.due = 1700086400;
	r.closed = 1700000200;
	r.meeting = m.id;
	r.superseded_by = old.id;
	r.withdrawn = 1;
	CHECK_OK(record_add_assignee(&r, "@zed:example.org"));
	CHECK_OK(record_add_assignee(&r, "@amy:example.org"));
	CHECK_OK(record_add_tag(&r, "tracking"));
	CHECK_OK(record_add_tag(&r, "adr"));
	CHECK_OK(store_record_add(st, &r));
	CHECK(r.id > old.id);
	CHECK_INT(r.num, 2);

	CHECK_OK(store_record_get(st, REC_DECISION, 2, &g));
	CHECK_INT(g.id, r.id);
	CHECK_INT(g.kind, REC_DECISION);
	CHECK_INT(g.num, 2);
	CHECK_STR(g.room_id, ROOM_A);
	CHECK_STR(g.author, "@bob:example.org");
	CHECK_STR(g.event_id, "$ev1");
	CHECK_STR(g.text, text);
	CHECK_STR(g.detail, "because it's \"fast\"");
	CHECK_STR(g.status, "superseded");
	CHECK_STR(g.severity, "major");
	CHECK_INT(g.due, 1700086400);
	CHECK_INT(g.created, 1700000000);
	CHECK_INT(g.updated, 1700000100);
	CHECK_INT(g.closed, 1700000200);
	CHECK_INT(g.meeting, m.id);
	CHECK_INT(g.superseded_by, old.id);
	CHECK_INT(g.withdrawn, 1);
	/* insertion order, not sorted */
	CHECK_INT(g.nassignees, 2);
	CHECK_STR(g.assignees[0], "@zed:example.org");
	CHECK_STR(g.assignees[1], "@amy:example.org");
	CHECK_INT(g.ntags, 2);
	CHECK_STR(g.tags[0], "tracking");
	CHECK_STR(g.tags[1], "adr");
	CHECK_INT(g.votes_up + g.votes_down + g.votes_meh, 0);
	record_clear(&g);

	CHECK_OK(store_record_get_id(st, r.id, &g));
	CHECK_STR(g.text, text);
	record_clear(&g);
	CHECK_OK(store_record_by_event(st, "$ev1", &g));
	CHECK_INT(g.id, r.id);
	record_clear(&g);

	/* unset optional fields come back as NULL / 0 */
	CHECK_OK(store_record_get_id(st, m.id, &g));
	CHECK(g.detail == NULL && g.severity == NULL);
	CHECK(g.due == 0 && g.closed == 0 && g.meeting == 0);
	CHECK(g.assignees == NULL && g.nassignees == 0 && g.ntags == 0);
	record_clear(&g);

	memset(&g, 0, sizeof(g));
	CHECK_INT(store_record_get(st, REC_DECISION, 99, &g), SC_ENOTFOUND);
	CHECK_INT(store_record_get_id(st, 12345, &g), SC_ENOTFOUND);
	CHECK_INT(store_record_by_event(st, "$nope", &g), SC_ENOTFOUND);
	CHECK(g.text == NULL);
	record_clear(&r);
	record_clear(&m);
	record_clear(&old);
	store_close(st);
}

static void test_numbering_per_kind(void)
{
	struct store *st = open_mem();
	struct record r;
	const char *want[] = { "T1", "T2", "D1", "T3", "C1", "D2", "I1", "M1" };
	enum rec_kind kinds[] = { REC_TODO, REC_TODO, REC_DECISION, REC_TODO,
				  REC_CHANGE, REC_DECISION, REC_INCIDENT,
				  REC_MEETING };
	const char *status[] = { "open", "open", "accepted", "open", "logged",
				 "proposed", "open", "running" };
	char id[24];

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		mk(&r, kinds[i], ROOM_A, "@a:x", NULL, "x", status[i],
		   (int64_t)i + 1);
		CHECK_OK(store_record_add(st, &r));
		record_short_id(&r, id, sizeof(id));
		CHECK_STR(id, want[i]);
		record_clear(&r);
	}
	store_close(st);
}

static void test_duplicate_event_writes_nothing(void)
{
	struct store *st = open_mem();
	struct record r, dup;
	struct rec_query q;
	struct hist hs;

	mk(&r, REC_TODO, ROOM_A, "@a:x", "$same", "first", "open", 10);
	CHECK_OK(store_record_add(st, &r));
	mk(&dup, REC_TODO, ROOM_A, "@a:x", "$same", "second", "open", 11);
	CHECK_OK(record_add_tag(&dup, "x"));
	CHECK_OK(record_add_assignee(&dup, "@b:x"));
	CHECK_INT(store_record_add(st, &dup), SC_EEXISTS);
	CHECK_CONTAINS(store_errmsg(st), "$same");
	CHECK_INT(dup.id, 0);
	CHECK_INT(dup.num, 0);
	memset(&q, 0, sizeof(q));
	CHECK_INT(count(st, &q), 1);
	q.tag = "x";
	CHECK_INT(count(st, &q), 0);
	memset(&q, 0, sizeof(q));
	q.assignee = "@b:x";
	CHECK_INT(count(st, &q), 0);
	memset(&q, 0, sizeof(q));
	q.terms = "second";
	CHECK_INT(count(st, &q), 0);
	/* the number was not used up */
	CHECK_OK(record_set(&dup.event_id, "$other"));
	CHECK_OK(store_record_add(st, &dup));
	CHECK_INT(dup.num, 2);
	history(st, r.id, &hs);
	CHECK_INT(hs.n, 1);
	CHECK_STR(hs.sb.buf, "created:->open");
	sbuf_release(&hs.sb);
	record_clear(&r);
	record_clear(&dup);
	store_close(st);
}

static void test_bad_records_rejected(void)
{
	struct store *st = open_mem();
	struct record r;
	struct rec_query q;

	/* Invalid UTF-8 is refused, not stored: everything in the store
	 * can be exported as JSON. */
	mk(&r, REC_TODO, ROOM_A, "@a:x", "$1", "bad \xff\xfe utf8", "open", 1);
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	CHECK_CONTAINS(store_errmsg(st), "utf-8");
	CHECK_OK(record_set(&r.text, "overlong \xC0\xAF"));
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	CHECK_OK(record_set(&r.text, "surrogate \xED\xA0\x80"));
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	CHECK_OK(record_set(&r.text, "fine"));
	CHECK_OK(record_set(&r.detail, "\x80"));
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	CHECK_OK(record_set(&r.detail, NULL));
	/* a status the kind does not have, an unknown severity */
	CHECK_OK(record_set(&r.status, "accepted"));
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	CHECK_CONTAINS(store_errmsg(st), "status_valid");
	CHECK_OK(record_set(&r.status, "open"));
	CHECK_OK(record_set(&r.severity, "apocalyptic"));
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	CHECK_OK(record_set(&r.severity, NULL));
	/* a control character in a tag, a missing text */
	CHECK_OK(record_add_tag(&r, "a\x1f" "b"));
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	record_clear(&r);
	mk(&r, REC_TODO, ROOM_A, "@a:x", "$1", NULL, "open", 1);
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	r.kind = REC_NKINDS;
	CHECK_OK(record_set(&r.text, "x"));
	CHECK_INT(store_record_add(st, &r), SC_EINVAL);
	/* a meeting that does not exist */
	r.kind = REC_TODO;
	r.meeting = 999;
	CHECK_INT(store_record_add(st, &r), SC_ENOTFOUND);
	CHECK_INT(r.id, 0);
	memset(&q, 0, sizeof(q));
	q.include_withdrawn = 1;
	CHECK_INT(count(st, &q), 0);
	record_clear(&r);
	store_close(st);
}

static void test_update_writes_history(void)
{
	struct store *st = open_mem();
	struct record r, g;
	struct hist hs;

	mk(&r, REC_TODO, ROOM_A, "@alice:x", "$c", "pick tracker", "open", 100);
	CHECK_OK(record_add_assignee(&r, "@elon:x"));
	CHECK_OK(record_add_tag(&r, "infra"));
	r.due = 5000;
	CHECK_OK(store_record_add(st, &r));

	/* nothing changed: no history, updated stays */
	CHECK_OK(store_record_update(st, &r, "@bob:x", 200, "$e0"));
	history(st, r.id, &hs);
	CHECK_INT(hs.n, 1);
	sbuf_release(&hs.sb);
	CHECK_OK(store_record_get_id(st, r.id, &g));
	CHECK_INT(g.updated, 100);
	record_clear(&g);

	/* done with a note */
	CHECK_OK(record_set(&r.status, "done"));
	CHECK_OK(record_set(&r.detail, "went with Linear"));
	r.closed = 300;
	CHECK_OK(store_record_update(st, &r, "@bob:x", 300, "$e1"));
	history(st, r.id, &hs);
	CHECK_INT(hs.n, 4);
	CHECK_STR(hs.sb.buf, "created:->open|status:open>done|"
			     "detail:->went with Linear|closed:->300");
	CHECK_INT(hs.last_ts, 300);
	CHECK_STR(hs.actor, "@bob:x");
	CHECK_STR(hs.event, "$e1");
	sbuf_release(&hs.sb);
	CHECK_OK(store_record_get_id(st, r.id, &g));
	CHECK_INT(g.updated, 300);
	CHECK_STR(g.status, "done");
	record_clear(&g);

	/* lists as comma lists, due removed, no event */
	CHECK_OK(record_add_assignee(&r, "@dc:x"));
	CHECK_OK(record_add_tag(&r, "dns"));
	r.due = 0;
	CHECK_OK(store_record_update(st, &r, "@carol:x", 400, NULL));
	history(st, r.id, &hs);
	CHECK_INT(hs.n, 7);
	CHECK_CONTAINS(hs.sb.buf, "|due:5000>-|assignees:@elon:x>@elon:x,@dc:x|"
				  "tags:infra>infra,dns");
	CHECK_STR(hs.event, "-");
	sbuf_release(&hs.sb);

	/* the same set in another order is no change */
	{
		char *t = r.assignees[0];

		r.assignees[0] = r.assignees[1];
		r.assignees[1] = t;
	}
	CHECK_OK(store_record_update(st, &r, "@carol:x", 500, NULL));
	history(st, r.id, &hs);
	CHECK_INT(hs.n, 7);
	sbuf_release(&hs.sb);

	/* withdrawn, text, severity; everything reads back */
	r.withdrawn = 1;
	CHECK_OK(record_set(&r.text, "pick a tracker"));
	CHECK_OK(record_set(&r.severity, "minor"));
	CHECK_OK(store_record_update(st, &r, "@carol:x", 600, "$e3"));
	history(st, r.id, &hs);
	CHECK_INT(hs.n, 10);
	CHECK_CONTAINS(hs.sb.buf, "|text:pick tracker>pick a tracker|"
				  "severity:->minor|withdrawn:0>1");
	sbuf_release(&hs.sb);
	CHECK_OK(store_record_get_id(st, r.id, &g));
	CHECK_STR(g.text, "pick a tracker");
	CHECK_INT(g.withdrawn, 1);
	CHECK_INT(g.due, 0);
	CHECK_INT(g.nassignees, 2);
	CHECK_INT(g.ntags, 2);
	record_clear(&g);

	/* a bad value changes nothing */
	CHECK_OK(record_set(&r.status, "superseded"));
	CHECK_INT(store_record_update(st, &r, "@carol:x", 700, NULL),
		  SC_EINVAL);
	history(st, r.id, &hs);
	CHECK_INT(hs.n, 10);
	sbuf_release(&hs.sb);
	r.id = 999;
	CHECK_INT(store_record_update(st, &r, "@carol:x", 700, NULL),
		  SC_ENOTFOUND);
	record_clear(&r);
	store_close(st);
}

static void test_superseded_history(void)
{
	struct store *st = open_mem();
	struct record a, b;
	struct hist hs;

	mk(&a, REC_DECISION, ROOM_A, "@a:x", NULL, "use jira", "accepted", 1);
	CHECK_OK(store_record_add(st, &a));
	mk(&b, REC_DECISION, ROOM_A, "@a:x", NULL, "use linear", "accepted", 2);
	CHECK_OK(store_record_add(st, &b));
	CHECK_OK(record_set(&a.status, "superseded"));
	a.superseded_by = b.id;
	CHECK_OK(store_record_update(st, &a, "@a:x", 3, NULL));
	history(st, a.id, &hs);
	{
		char want[128];

		snprintf(want, sizeof(want),
			 "status:accepted>superseded|superseded_by:->%lld",
			 (long long)b.id);
		CHECK_CONTAINS(hs.sb.buf, want);
	}
	sbuf_release(&hs.sb);
	a.superseded_by = 12345; /* no such record */
	CHECK_INT(store_record_update(st, &a, "@a:x", 4, NULL), SC_ENOTFOUND);
	record_clear(&a);
	record_clear(&b);
	store_close(st);
}

static void test_history_is_append_only(void)
{
	const char *path = tmp_path("append-only.db");
	struct store *st = NULL;
	struct hist hs;
	int64_t id;

	CHECK_OK(store_open(path, &st));
	id = add(st, REC_TODO, ROOM_A, "x", "open", 1);
	store_close(st);
	CHECK_INT(raw_exec(path, "UPDATE history SET actor = 'mallory'"),
		  SQLITE_CONSTRAINT);
	CHECK_INT(raw_exec(path, "DELETE FROM history"), SQLITE_CONSTRAINT);
	CHECK_OK(store_open(path, &st));
	history(st, id, &hs);
	CHECK_INT(hs.n, 1);
	CHECK_STR(hs.actor, "@alice:example.org");
	sbuf_release(&hs.sb);
	store_close(st);
}

static void test_nested_transactions(void)
{
	struct store *st = open_mem();
	struct record r;
	struct rec_query q;

	memset(&q, 0, sizeof(q));
	CHECK_INT(store_tx_commit(st), SC_ESTATE);
	CHECK_INT(store_tx_rollback(st), SC_ESTATE);

	CHECK_OK(store_tx_begin(st));
	add(st, REC_TODO, ROOM_A, "outer one", "open", 1);
	CHECK_OK(store_tx_begin(st));
	add(st, REC_TODO, ROOM_A, "inner", "open", 2);
	CHECK_OK(store_tx_begin(st));
	add(st, REC_TODO, ROOM_A, "innermost", "open", 3);
	CHECK_OK(store_tx_commit(st));
	CHECK_INT(count(st, &q), 3);
	CHECK_OK(store_tx_rollback(st)); /* undoes inner and innermost */
	CHECK_INT(count(st, &q), 1);
	add(st, REC_TODO, ROOM_A, "outer two", "open", 4);
	CHECK_OK(store_tx_commit(st));
	q.order = ORDER_OLDEST;
	CHECK_STR(ids(st, &q), "T1 T2");
	CHECK_OK(store_record_get(st, REC_TODO, 2, &r));
	CHECK_STR(r.text, "outer two");
	record_clear(&r);

	/* rolling back the outermost level undoes everything */
	CHECK_OK(store_tx_begin(st));
	add(st, REC_TODO, ROOM_A, "gone", "open", 5);
	CHECK_OK(store_tx_begin(st));
	add(st, REC_TODO, ROOM_A, "gone too", "open", 6);
	CHECK_OK(store_tx_commit(st));
	CHECK_OK(store_tx_rollback(st));
	CHECK_INT(count(st, &q), 2);
	CHECK_INT(store_tx_commit(st), SC_ESTATE);
	store_close(st);
}

/* ---- queries ---- */

struct fixture {
	struct store *st;
	int64_t m1, t1;
};

/*
 * Room A: T1..T7 (T7 withdrawn, T6 made in M1), D1..D3, C1, C3, M1.
 * Room B: C2, I1.
 */
static void fixture(struct fixture *f)
{
	struct store *st = open_mem();
	struct record r;

	f->st = st;
	mk(&r, REC_MEETING, ROOM_A, "@alice:x", "$m1", "weekly", "running", 50);
	CHECK_OK(store_record_add(st, &r));
	f->m1 = r.id;
	record_clear(&r);

	mk(&r, REC_TODO, ROOM_A, "@alice:x", "$t1", "rotate keys on web1",
	   "open", 100);
	CHECK_OK(record_add_assignee(&r, "@bob:x"));
	CHECK_OK(record_add_tag(&r, "infra"));
	r.due = 1000;
	CHECK_OK(store_record_add(st, &r));
	f->t1 = r.id;
	record_clear(&r);

	mk(&r, REC_TODO, ROOM_A, "@bob:x", "$t2", "write the handbook",
	   "done", 200);
	CHECK_OK(record_add_assignee(&r, "@alice:x"));
	CHECK_OK(record_add_assignee(&r, "@bob:x"));
	CHECK_OK(record_add_tag(&r, "docs"));
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_TODO, ROOM_A, "@alice:x", "$t3", "restore the backups",
	   "open", 300);
	CHECK_OK(record_add_assignee(&r, "@carol:x"));
	CHECK_OK(record_set(&r.severity, "critical"));
	r.due = 5000;
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_TODO, ROOM_A, "@alice:x", "$t4", "order new disks", "open",
	   400);
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_TODO, ROOM_A, "@alice:x", "$t5", "check the disks", "open",
	   500);
	CHECK_OK(record_set(&r.severity, "minor"));
	r.due = 500;
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_TODO, ROOM_A, "@alice:x", "$t6", "send the minutes", "open",
	   60);
	r.meeting = f->m1;
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_TODO, ROOM_A, "@alice:x", "$t7", "redacted disks", "open",
	   450);
	r.withdrawn = 1;
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_DECISION, ROOM_A, "@alice:x", "$d1",
	   "use Linear for tracking", "accepted", 150);
	CHECK_OK(record_set(&r.detail, "because jira is slow"));
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_DECISION, ROOM_A, "@alice:x", "$d2",
	   "adopt NEAR(x) syntax \"quoted\" OR not", "proposed", 250);
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_DECISION, ROOM_A, "@alice:x", "$d3", "use excel",
	   "rejected", 350);
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_CHANGE, ROOM_A, "@bob:x", "$c1", "nginx upgraded to 1.25",
	   "logged", 120);
	CHECK_OK(record_add_tag(&r, "web1"));
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_CHANGE, ROOM_B, "@bob:x", "$c2", "rotated certs", "logged",
	   220);
	CHECK_OK(record_add_tag(&r, "web1"));
	CHECK_OK(record_add_tag(&r, "tls"));
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_CHANGE, ROOM_A, "@bob:x", "$c3",
	   "'; DROP TABLE records; --", "logged", 320);
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);

	mk(&r, REC_INCIDENT, ROOM_B, "@bob:x", "$i1", "web1 down", "open", 130);
	CHECK_OK(record_set(&r.severity, "major"));
	CHECK_OK(store_record_add(st, &r));
	record_clear(&r);
}

static void test_query_each_field(void)
{
	struct fixture f;
	struct rec_query q;
	struct store *st;

	fixture(&f);
	st = f.st;
	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	CHECK_STR(ids(st, &q), "M1 T6 T1 C1 I1 D1 T2 C2 D2 T3 C3 D3 T4 T5");
	CHECK_INT(count(st, &q), 14);
	q.include_withdrawn = 1;
	CHECK_STR(ids(st, &q), "M1 T6 T1 C1 I1 D1 T2 C2 D2 T3 C3 D3 T4 T7 T5");
	CHECK_INT(count(st, &q), 15);

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.room_id = ROOM_B;
	CHECK_STR(ids(st, &q), "I1 C2");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.kinds = REC_BIT(REC_DECISION);
	CHECK_STR(ids(st, &q), "D1 D2 D3");
	q.kinds = REC_BIT(REC_CHANGE) | REC_BIT(REC_INCIDENT);
	CHECK_STR(ids(st, &q), "C1 I1 C2 C3");
	CHECK_INT(count(st, &q), 4);
	q.kinds = REC_ALL;
	CHECK_INT(count(st, &q), 14);
	q.kinds = 1u << 20;
	CHECK_INT(store_count(st, &q, &(int64_t){ 0 }), SC_EINVAL);

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.status = "done";
	CHECK_STR(ids(st, &q), "T2");
	q.status = "open";
	CHECK_STR(ids(st, &q), "T6 T1 I1 T3 T4 T5");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.open_only = 1;
	CHECK_STR(ids(st, &q), "M1 T6 T1 I1 D1 D2 T3 T4 T5");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.assignee = "@bob:x";
	CHECK_STR(ids(st, &q), "T1 T2");
	q.assignee = "@nobody:x";
	CHECK_STR(ids(st, &q), "");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.author = "@bob:x";
	CHECK_STR(ids(st, &q), "C1 I1 T2 C2 C3");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.tag = "web1";
	CHECK_STR(ids(st, &q), "C1 C2");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.since = 200;
	q.until = 400;
	CHECK_STR(ids(st, &q), "T2 C2 D2 T3 C3 D3");
	q.until = 0;
	CHECK_STR(ids(st, &q), "T2 C2 D2 T3 C3 D3 T4 T5");
	q.since = 0;
	q.until = 120;
	CHECK_STR(ids(st, &q), "M1 T6 T1");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.overdue_at = 2000;
	CHECK_STR(ids(st, &q), "T1 T5");
	q.overdue_at = 501;
	CHECK_STR(ids(st, &q), "T5");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.meeting = f.m1;
	CHECK_STR(ids(st, &q), "T6");

	/* changed_since sees updates, not just creation */
	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.changed_since = 450;
	CHECK_STR(ids(st, &q), "T5");
	{
		struct record r;

		CHECK_OK(store_record_get_id(st, f.t1, &r));
		CHECK_OK(record_set(&r.status, "done"));
		CHECK_OK(store_record_update(st, &r, "@bob:x", 9000, NULL));
		record_clear(&r);
	}
	CHECK_STR(ids(st, &q), "T1 T5");
	q.changed_since = 8000;
	CHECK_STR(ids(st, &q), "T1");
	store_close(st);
}

/* store_query_assignees: "carol - bob" ("-" for the unassigned). */
static int people_cb(const char *user, void *ctx)
{
	struct idlist *l = ctx;
	size_t n = strlen(l->buf);

	snprintf(l->buf + n, sizeof(l->buf) - n, "%s%s", n ? " " : "",
		 user ? user : "-");
	return 0;
}

static const char *people(struct store *st, const struct rec_query *q)
{
	static struct idlist l;

	memset(&l, 0, sizeof(l));
	CHECK_OK(store_query_assignees(st, q, people_cb, &l));
	return l.buf;
}

static void test_query_assignees(void)
{
	struct fixture f;
	struct rec_query q;
	struct idlist l_names;

	fixture(&f);
	/* open todos in ORDER_DUE are T3 (carol) T5 (-) T1 (bob) T6 (-)
	 * T4 (-): each person once, where their first item is */
	memset(&q, 0, sizeof(q));
	q.room_id = ROOM_A;
	q.kinds = REC_BIT(REC_TODO);
	q.open_only = 1;
	q.order = ORDER_DUE;
	CHECK_STR(people(f.st, &q), "@carol:x - @bob:x");
	q.overdue_at = 2000;
	CHECK_STR(people(f.st, &q), "- @bob:x");
	q.overdue_at = 0;
	q.limit = 1;
	CHECK_STR(people(f.st, &q), "@carol:x");
	q.limit = 0;
	/* every todo, oldest first: T6 (-) T1 (bob) T2 (alice, bob) ... */
	q.open_only = 0;
	q.order = ORDER_OLDEST;
	CHECK_STR(people(f.st, &q), "- @bob:x @alice:x @carol:x");
	q.room_id = "!nowhere:x";
	CHECK_STR(people(f.st, &q), "");
	/* by name: the same people, sorted, the unassigned first */
	q.room_id = ROOM_A;
	q.open_only = 1;
	memset(&l_names, 0, sizeof(l_names));
	CHECK_OK(store_query_assignee_names(f.st, &q, people_cb, &l_names));
	CHECK_STR(l_names.buf, "- @bob:x @carol:x");
	store_close(f.st);
}

static void test_query_combined_order_limit(void)
{
	struct fixture f;
	struct rec_query q;
	struct idlist l;
	struct store *st;

	fixture(&f);
	st = f.st;

	/* ORDER_DUE: critical first, then by due, no due last by age */
	memset(&q, 0, sizeof(q));
	q.room_id = ROOM_A;
	q.kinds = REC_BIT(REC_TODO);
	q.open_only = 1;
	q.order = ORDER_DUE;
	CHECK_STR(ids(st, &q), "T3 T5 T1 T6 T4");
	q.assignee = "@bob:x";
	CHECK_STR(ids(st, &q), "T1");
	q.assignee = NULL;
	q.overdue_at = 2000;
	CHECK_STR(ids(st, &q), "T5 T1");

	memset(&q, 0, sizeof(q));
	q.order = ORDER_NEWEST;
	q.room_id = ROOM_A;
	q.kinds = REC_BIT(REC_CHANGE);
	CHECK_STR(ids(st, &q), "C3 C1");
	q.tag = "web1";
	CHECK_STR(ids(st, &q), "C1");
	q.since = 121;
	CHECK_STR(ids(st, &q), "");
	q.room_id = ROOM_B;
	q.since = 200;
	CHECK_STR(ids(st, &q), "C2");

	memset(&q, 0, sizeof(q));
	q.room_id = ROOM_A;
	q.author = "@alice:x";
	q.kinds = REC_BIT(REC_DECISION);
	q.status = "proposed";
	CHECK_STR(ids(st, &q), "D2");

	/* limit counts rows, store_count ignores it; a callback stops */
	memset(&q, 0, sizeof(q));
	q.order = ORDER_NEWEST;
	q.limit = 3;
	CHECK_STR(ids(st, &q), "T5 T4 D3");
	CHECK_INT(count(st, &q), 14);
	q.limit = 0;
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	CHECK_OK(store_query(st, &q, collect, &l));
	CHECK_STR(l.buf, "T5 T4");
	q.order = 7;
	CHECK_INT(store_query(st, &q, collect, &l), SC_EINVAL);
	store_close(st);
}

/* Lists a caller skips stay empty; the others are loaded as usual. */
struct lists {
	size_t nassignees, ntags;
	int votes_up;
};

static int lists_cb(const struct record *r, void *ctx)
{
	struct lists *l = ctx;

	l->nassignees += r->nassignees;
	l->ntags += r->ntags;
	l->votes_up += r->votes_up;
	return 0;
}

static void test_query_skip(void)
{
	struct store *st = open_mem();
	struct rec_query q;
	struct record r;
	struct lists l;

	mk(&r, REC_DECISION, ROOM_A, "@alice:x", NULL, "use jira", "proposed",
	   1000);
	CHECK_OK(record_add_assignee(&r, "@bob:x"));
	CHECK_OK(record_add_tag(&r, "tools"));
	CHECK_OK(store_record_add(st, &r));
	CHECK_OK(store_vote_add(st, r.id, "@bob:x", "up", NULL));
	record_clear(&r);
	memset(&q, 0, sizeof(q));
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_query(st, &q, lists_cb, &l));
	CHECK(l.nassignees == 1 && l.ntags == 1 && l.votes_up == 1);
	q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_query(st, &q, lists_cb, &l));
	CHECK(l.nassignees == 0 && l.ntags == 1 && l.votes_up == 0);
	q.skip = SKIP_ALL;
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_query(st, &q, lists_cb, &l));
	CHECK(l.nassignees == 0 && l.ntags == 0 && l.votes_up == 0);
	q.skip = SKIP_ALL + 1;
	CHECK_INT(store_query(st, &q, lists_cb, &l), SC_EINVAL);
	store_close(st);
}

static void test_query_terms(void)
{
	struct fixture f;
	struct rec_query q;
	struct store *st;
	static const struct {
		const char *terms;
		const char *want;
	} cases[] = {
		{ "web1", "T1 C1 I1 C2" },  /* text and tags */
		{ "#web1", "T1 C1 I1 C2" },
		{ "WEB1 rotated", "C2" },    /* every word, any case */
		{ "disks", "T4 T5" },        /* withdrawn T7 skipped */
		{ "disks order", "T4" },
		{ "jira", "D1" },            /* the detail */
		{ "tls", "C2" },             /* the second tag */
		{ "NEAR(", "D2" },           /* a word, not an operator */
		{ "OR", "D2" },
		{ "\"quoted\"", "D2" },
		{ "syntax\"", "D2" },
		{ "\"", "" },                /* nothing to look for */
		{ "*", "" },
		{ "- -- *** \"\" ( )", "" },
		{ "\xF0\x9F\x91\x8D \xE2\x80\x94", "" },
		{ "", "" },
		{ "disks -order", "T4" },    /* '-' is no NOT */
		{ "disk*", "" },             /* '*' is no prefix */
		{ "nginx NEAR(x", "" },
		{ "text:disks", "" },        /* no column filter */
		{ "'; DROP TABLE records; --", "C3" },
		{ "records", "C3" },
	};

	fixture(&f);
	st = f.st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.order = ORDER_OLDEST;
		q.terms = cases[i].terms;
		if (strcmp(ids(st, &q), cases[i].want))
			th_fail(__FILE__, __LINE__,
				"terms '%s': got '%s', want '%s'",
				cases[i].terms, ids(st, &q), cases[i].want);
		CHECK_INT(count(st, &q), nwords(cases[i].want));
	}
	/* the table is still there */
	memset(&q, 0, sizeof(q));
	CHECK_INT(count(st, &q), 14);
	/* with other fields */
	q.terms = "web1";
	q.room_id = ROOM_B;
	q.order = ORDER_OLDEST;
	CHECK_STR(ids(st, &q), "I1 C2");
	q.kinds = REC_BIT(REC_CHANGE);
	CHECK_STR(ids(st, &q), "C2");
	q.room_id = NULL;
	q.tag = "web1";
	q.since = 121;
	CHECK_STR(ids(st, &q), "C2");
	store_close(st);
}

static void test_search_follows_updates(void)
{
	const char *path = tmp_path("search.db");
	struct store *st = NULL;
	struct rec_query q;
	struct record r;

	CHECK_OK(store_open(path, &st));
	mk(&r, REC_CHANGE, ROOM_A, "@a:x", NULL, "nginx upgraded", "logged", 1);
	CHECK_OK(record_add_tag(&r, "web1"));
	CHECK_OK(store_record_add(st, &r));
	CHECK_OK(record_set(&r.text, "apache upgraded"));
	CHECK_OK(record_set(&r.detail, "rolled back later"));
	free(r.tags[0]);
	r.tags[0] = strdup("web2");
	CHECK(r.tags[0] != NULL);
	CHECK_OK(store_record_update(st, &r, "@a:x", 2, NULL));
	memset(&q, 0, sizeof(q));
	q.terms = "nginx";
	CHECK_INT(count(st, &q), 0);
	q.terms = "web1";
	CHECK_INT(count(st, &q), 0);
	q.terms = "apache web2 rolled";
	CHECK_INT(count(st, &q), 1);
	q.terms = NULL;
	q.tag = "web2";
	CHECK_INT(count(st, &q), 1);
	record_clear(&r);
	store_close(st);
	/* the index matches the records exactly (checked from outside) */
	CHECK_INT(raw_exec(path, "INSERT INTO records_fts(records_fts, rank) "
				 "VALUES('integrity-check', 1)"),
		  SQLITE_OK);
}

/* Records added in a transaction are indexed when it commits (FTS5
 * would write a segment per savepoint otherwise): a search inside the
 * transaction still sees them, an update before indexing, a record
 * rolled back and its reused rowid all leave the index exact. */
static void test_search_within_transaction(void)
{
	const char *path = tmp_path("search-tx.db");
	struct store *st = NULL;
	struct rec_query q;
	struct record a, b, c;

	CHECK_OK(store_open(path, &st));
	memset(&q, 0, sizeof(q));
	CHECK_OK(store_tx_begin(st));
	mk(&a, REC_CHANGE, ROOM_A, "@a:x", NULL, "nginx upgraded", "logged", 1);
	CHECK_OK(store_record_add(st, &a));
	CHECK_OK(record_set(&a.text, "haproxy upgraded"));
	CHECK_OK(store_record_update(st, &a, "@a:x", 2, NULL));
	/* a record rolled back; the next one gets its rowid */
	CHECK_OK(store_tx_begin(st));
	mk(&b, REC_CHANGE, ROOM_A, "@a:x", NULL, "postgres failover", "logged", 3);
	CHECK_OK(store_record_add(st, &b));
	CHECK_OK(store_tx_rollback(st));
	mk(&c, REC_CHANGE, ROOM_A, "@a:x", NULL, "redis restarted", "logged", 4);
	CHECK_OK(store_record_add(st, &c));
	CHECK_INT(c.id, b.id);
	q.terms = "haproxy";
	CHECK_INT(count(st, &q), 1);
	q.terms = "nginx";
	CHECK_INT(count(st, &q), 0);
	q.terms = "postgres";
	CHECK_INT(count(st, &q), 0);
	/* after that search indexed them, an update reindexes as usual */
	CHECK_OK(record_set(&c.text, "redis upgraded"));
	CHECK_OK(store_record_update(st, &c, "@a:x", 5, NULL));
	CHECK_OK(store_tx_commit(st));
	q.terms = "upgraded";
	CHECK_INT(count(st, &q), 2);
	q.terms = "restarted";
	CHECK_INT(count(st, &q), 0);
	/* a rolled-back transaction leaves nothing to index */
	CHECK_OK(store_tx_begin(st));
	record_clear(&b);
	mk(&b, REC_CHANGE, ROOM_A, "@a:x", NULL, "dns moved", "logged", 6);
	CHECK_OK(store_record_add(st, &b));
	CHECK_OK(store_tx_rollback(st));
	q.terms = "dns";
	CHECK_INT(count(st, &q), 0);
	record_clear(&a);
	record_clear(&b);
	record_clear(&c);
	store_close(st);
	CHECK_INT(raw_exec(path, "INSERT INTO records_fts(records_fts, rank) "
				 "VALUES('integrity-check', 1)"),
		  SQLITE_OK);
}

/* A sync batch's records, each added in a savepoint of its own as the
 * bot adds them, are indexed together when the batch commits: FTS5
 * writes what it holds to disk at the end of every statement, so one
 * statement per record left a one-record segment each (300 of them,
 * merged over and over). */
static void test_batch_indexed_together(void)
{
	const char *path = tmp_path("search-batch.db");
	struct store *st = NULL;
	struct rec_query q;
	int64_t pages;

	CHECK_OK(store_open(path, &st));
	CHECK_OK(store_tx_begin(st));
	for (int i = 0; i < 300; i++) {
		struct record r;
		char text[64];

		snprintf(text, sizeof(text), "upgraded nginx on web%d", i);
		mk(&r, REC_CHANGE, ROOM_A, "@a:x", NULL, text, "logged", 1 + i);
		CHECK_OK(store_tx_begin(st));
		CHECK_OK(store_record_add(st, &r));
		CHECK_OK(store_tx_commit(st));
		record_clear(&r);
	}
	CHECK_OK(store_tx_commit(st));
	memset(&q, 0, sizeof(q));
	q.terms = "nginx";
	CHECK_INT(count(st, &q), 300);
	q.terms = "web299";
	CHECK_INT(count(st, &q), 1);
	store_close(st);
	pages = raw_int(path, "SELECT count(*) FROM records_fts_data");
	fprintf(stderr, "# %lld rows in records_fts_data\n", (long long)pages);
	CHECK(pages > 0 && pages < 10);
	CHECK_INT(raw_exec(path, "INSERT INTO records_fts(records_fts, rank) "
				 "VALUES('integrity-check', 1)"),
		  SQLITE_OK);
}

/* A callback may use the store, even the statement being stepped. */
struct reenter {
	struct store *st;
	int rows, inner;
	sc_err err;
};

static int reenter_cb(const struct record *r, void *ctx)
{
	struct reenter *re = ctx;
	struct rec_query q;
	struct record g;
	int64_t n = 0;

	re->rows++;
	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.kinds = REC_BIT(REC_TODO);
	if (!re->err)
		re->err = store_count(re->st, &q, &n);
	re->inner += (int)n;
	if (!re->err)
		re->err = store_record_get_id(re->st, r->id, &g);
	if (!re->err) {
		re->err = strcmp(g.text, r->text) ? SC_ESTATE : SC_OK;
		record_clear(&g);
	}
	return 0;
}

static int reenter_outer(const struct record *r, void *ctx)
{
	struct reenter *re = ctx;
	struct rec_query q;

	(void)r;
	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.kinds = REC_BIT(REC_TODO);
	if (!re->err)
		re->err = store_query(re->st, &q, reenter_cb, re);
	return 0;
}

static void test_query_reentrant(void)
{
	struct fixture f;
	struct reenter re;
	struct rec_query q;

	fixture(&f);
	memset(&re, 0, sizeof(re));
	re.st = f.st;
	memset(&q, 0, sizeof(q));
	q.order = ORDER_OLDEST;
	q.kinds = REC_BIT(REC_TODO);
	CHECK_OK(store_query(f.st, &q, reenter_outer, &re));
	CHECK_OK(re.err);
	CHECK_INT(re.rows, 6 * 6);
	CHECK_INT(re.inner, 6 * 6 * 6);
	store_close(f.st);
}

static void test_query_plans_use_indexes(void)
{
	const char *log = tmp_path("plans.log");
	struct fixture f;
	struct rec_query q, open_due;
	char *out, *owners;

	fixture(&f);
	log_set_level(LOG_DEBUG);
	capture_start(log);
	/* open todos of a room, overdue first */
	memset(&q, 0, sizeof(q));
	q.room_id = ROOM_A;
	q.kinds = REC_BIT(REC_TODO);
	q.open_only = 1;
	q.order = ORDER_DUE;
	open_due = q;
	store_count(f.st, &q, &(int64_t){ 0 });
	q.overdue_at = 1000;
	ids(f.st, &q);
	/* a room's changes with a tag since a date */
	memset(&q, 0, sizeof(q));
	q.room_id = ROOM_A;
	q.kinds = REC_BIT(REC_CHANGE);
	q.tag = "web1";
	q.since = 100;
	ids(f.st, &q);
	/* the digest: what changed in a room since T */
	memset(&q, 0, sizeof(q));
	q.room_id = ROOM_A;
	q.changed_since = 100;
	ids(f.st, &q);
	/* search in a room; a user's todos everywhere */
	memset(&q, 0, sizeof(q));
	q.room_id = ROOM_A;
	q.terms = "disks";
	ids(f.st, &q);
	memset(&q, 0, sizeof(q));
	q.assignee = "@bob:x";
	ids(f.st, &q);
	out = capture_end(log);
	/* ranking the owners of open todos (digest, !todos) reads the
	 * index alone: it holds every column ORDER_DUE sorts by */
	capture_start(log);
	people(f.st, &open_due);
	owners = capture_end(log);
	log_set_level(LOG_INFO);
	CHECK_CONTAINS(owners, "SEARCH r USING COVERING INDEX "
			       "records_room_kind_status");
	CHECK(!strstr(owners, "USING INDEX records_room_kind_status"));
	free(owners);
	/* the count never touches the table */
	CHECK_CONTAINS(out, "USING COVERING INDEX records_room_kind_status "
			    "(room_id=? AND kind=? AND withdrawn=? "
			    "AND status=?)");
	CHECK_CONTAINS(out, "USING INDEX records_room_kind_created "
			    "(room_id=? AND kind=? AND withdrawn=? "
			    "AND created>?)");
	CHECK_CONTAINS(out, "tags USING COVERING INDEX tags_tag (tag=?)");
	CHECK_CONTAINS(out, "USING INDEX records_room_changed "
			    "(room_id=? AND withdrawn=? AND <expr>>?)");
	/* a row's lists come in key order, without a sort per row */
	CHECK_CONTAINS(out, "SEARCH assignees USING PRIMARY KEY (record=?)");
	CHECK_CONTAINS(out, "SEARCH tags USING PRIMARY KEY (record=?)");
	CHECK_CONTAINS(out, "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)");
	CHECK_CONTAINS(out, "SCAN records_fts VIRTUAL TABLE");
	CHECK_CONTAINS(out, "assignees USING COVERING INDEX assignees_user");
	/* and never a full scan of the records */
	CHECK(!strstr(out, "SCAN r\n") && !strstr(out, "SCAN r USING"));
	free(out);
	store_close(f.st);
}

static void test_scale_20000(void)
{
	struct store *st = open_mem();
	struct rec_query q;
	struct record r;
	char text[64], ev[32], tag[16];

	CHECK_OK(store_tx_begin(st));
	for (int i = 0; i < 20000; i++) {
		snprintf(text, sizeof(text), "change number %d", i);
		snprintf(ev, sizeof(ev), "$e%d", i);
		mk(&r, i % 4 ? REC_CHANGE : REC_TODO, i % 2 ? ROOM_A : ROOM_B,
		   "@a:x", ev, text, i % 4 ? "logged" : "open", 1000 + i);
		snprintf(tag, sizeof(tag), "web%d", i % 10);
		CHECK_OK(record_add_tag(&r, tag));
		if (!(i % 4))
			CHECK_OK(record_add_assignee(&r, "@bob:x"));
		CHECK_OK(store_record_add(st, &r));
		record_clear(&r);
	}
	CHECK_OK(store_tx_commit(st));
	memset(&q, 0, sizeof(q));
	CHECK_INT(count(st, &q), 20000);
	q.tag = "web3";
	CHECK_INT(count(st, &q), 2000);
	q.room_id = ROOM_A;
	CHECK_INT(count(st, &q), 2000); /* i % 10 == 3 is odd */
	q.kinds = REC_BIT(REC_TODO);
	CHECK_INT(count(st, &q), 0);    /* todos have even i */
	memset(&q, 0, sizeof(q));
	q.assignee = "@bob:x";
	q.open_only = 1;
	CHECK_INT(count(st, &q), 5000);
	q.assignee = NULL;
	q.open_only = 0;
	q.terms = "number 12345";
	q.order = ORDER_OLDEST;
	CHECK_STR(ids(st, &q), "C9259");
	CHECK_OK(store_record_get(st, REC_CHANGE, 15000, &r));
	CHECK_STR(r.text, "change number 19999");
	record_clear(&r);
	store_close(st);
}

/* ---- members ---- */

static void members_fixture(struct store *st)
{
	CHECK_OK(store_member_put(st, ROOM_A, "@elon:x", "Elon Musk", "join",
				  0));
	CHECK_OK(store_member_put(st, ROOM_A, "@eli:x", "Eli", "join", 0));
	CHECK_OK(store_member_put(st, ROOM_A, "@bob:x", "Bob", "join", 50));
	CHECK_OK(store_member_put(st, ROOM_A, "@robert:x", "bob", "join", 0));
	CHECK_OK(store_member_put(st, ROOM_A, "@gone:x", "Gone", "leave", 0));
	CHECK_OK(store_member_put(st, ROOM_A, "@inv:x", NULL, "invite", 0));
	CHECK_OK(store_member_put(st, ROOM_B, "@carl:x", "Carl", "join", 0));
}

static void test_member_resolve(void)
{
	struct store *st = open_mem();
	static const struct {
		const char *name;
		sc_err err;
		const char *want; /* user id or candidates */
	} cases[] = {
		{ "@elon", SC_OK, "@elon:x" },
		{ "elon", SC_OK, "@elon:x" },
		{ "@ELON", SC_OK, "@elon:x" },
		{ "Elon Musk", SC_OK, "@elon:x" },   /* display name */
		{ "elon musk", SC_OK, "@elon:x" },
		{ "eli", SC_OK, "@eli:x" },          /* whole beats prefix */
		{ "@robert", SC_OK, "@robert:x" },
		{ "@bob", SC_EAMBIGUOUS, "@bob:x, @robert:x" },
		{ "@el", SC_EAMBIGUOUS, "@eli:x, @elon:x" },
		{ "rob", SC_EAMBIGUOUS, "@robert:x" }, /* no guess */
		{ "@elon:x", SC_OK, "@elon:x" },
		{ "@Elon:X", SC_OK, "@elon:x" },
		{ "@ghost", SC_ENOTFOUND, NULL },
		{ "@ghost:x", SC_ENOTFOUND, NULL },
		{ "@gone", SC_ENOTFOUND, NULL },     /* left */
		{ "@gone:x", SC_ENOTFOUND, NULL },
		{ "@inv", SC_ENOTFOUND, NULL },      /* only invited */
		{ "@carl", SC_ENOTFOUND, NULL },     /* another room */
		{ "%", SC_ENOTFOUND, NULL },
		{ "@", SC_EINVAL, NULL },
	};

	members_fixture(st);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, *cands = NULL;
		sc_err err = store_member_resolve(st, ROOM_A, cases[i].name,
						  &out, &cands);

		if (err != cases[i].err)
			th_fail(__FILE__, __LINE__,
				"'%s': err %d, want %d (%s)",
				cases[i].name, err, cases[i].err,
				store_errmsg(st));
		if (err == SC_OK) {
			CHECK_STR(out, cases[i].want);
			CHECK(cands == NULL);
		} else if (err == SC_EAMBIGUOUS) {
			CHECK(out == NULL);
			CHECK_STR(cands, cases[i].want);
		} else {
			CHECK(out == NULL && cands == NULL);
		}
		free(out);
		free(cands);
	}
	/* candidates are optional */
	{
		char *out = NULL;

		CHECK_INT(store_member_resolve(st, ROOM_A, "bob", &out, NULL),
			  SC_EAMBIGUOUS);
		CHECK(out == NULL);
		CHECK_CONTAINS(store_errmsg(st), "@bob:x, @robert:x");
	}
	store_close(st);
}

struct mlist {
	char buf[512];
	size_t len;
};

static int member_collect(const struct member *m, void *ctx)
{
	struct mlist *l = ctx;

	l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
				   "%s%s/%s/%d/%lld", l->len ? " " : "",
				   m->user_id, m->membership, m->power,
				   (long long)m->last_spoke);
	return 0;
}

static void test_members(void)
{
	struct store *st = open_mem();
	const char *users[] = { "@elon:x", "@nobody:x" };
	const int levels[] = { 100, 75 };
	struct member m;
	struct mlist l;

	members_fixture(st);
	CHECK_OK(store_member_spoke(st, ROOM_A, "@elon:x", 500));
	CHECK_OK(store_member_spoke(st, ROOM_A, "@elon:x", 400)); /* older */
	CHECK_INT(store_member_spoke(st, ROOM_A, "@ghost:x", 1), SC_ENOTFOUND);
	/* a new display name keeps last_spoke */
	CHECK_OK(store_member_put(st, ROOM_A, "@elon:x", "Elon", "join", 10));
	CHECK_OK(store_member_get(st, ROOM_A, "@elon:x", &m));
	CHECK_STR(m.user_id, "@elon:x");
	CHECK_STR(m.display_name, "Elon");
	CHECK_STR(m.membership, "join");
	CHECK_INT(m.power, 10);
	CHECK_INT(m.last_spoke, 500);
	member_clear(&m);
	CHECK_OK(store_member_get(st, ROOM_A, "@inv:x", &m));
	CHECK(m.display_name == NULL);
	member_clear(&m);
	CHECK_INT(store_member_get(st, ROOM_A, "@ghost:x", &m), SC_ENOTFOUND);
	CHECK_INT(store_member_get(st, ROOM_B, "@elon:x", &m), SC_ENOTFOUND);

	CHECK_OK(store_member_powers(st, ROOM_A, users, levels, 2, 5));
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_members(st, ROOM_A, 0, member_collect, &l));
	CHECK_STR(l.buf, "@bob:x/join/5/0 @eli:x/join/5/0 @elon:x/join/100/500 "
			 "@robert:x/join/5/0");
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_members(st, ROOM_A, 1, member_collect, &l));
	CHECK_CONTAINS(l.buf, "@inv:x/invite/5/0");
	CHECK(!strstr(l.buf, "@gone:x") && !strstr(l.buf, "@nobody:x"));
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_members(st, ROOM_B, 1, member_collect, &l));
	CHECK_STR(l.buf, "@carl:x/join/0/0");
	store_close(st);
}

/* ---- votes, links, outbox, events ---- */

static void test_votes(void)
{
	struct store *st = open_mem();
	struct record r;
	int64_t id = add(st, REC_DECISION, ROOM_A, "adopt x", "proposed", 1);

	CHECK_OK(store_vote_add(st, id, "@a:x", "up", "$r1"));
	CHECK_OK(store_vote_add(st, id, "@b:x", "up", "$r2"));
	CHECK_OK(store_vote_add(st, id, "@c:x", "down", "$r3"));
	CHECK_OK(store_record_get_id(st, id, &r));
	CHECK_INT(r.votes_up, 2);
	CHECK_INT(r.votes_down, 1);
	CHECK_INT(r.votes_meh, 0);
	record_clear(&r);
	/* a new vote of the same user replaces the old one */
	CHECK_OK(store_vote_add(st, id, "@a:x", "meh", "$r4"));
	CHECK_OK(store_record_get_id(st, id, &r));
	CHECK_INT(r.votes_up, 1);
	CHECK_INT(r.votes_meh, 1);
	record_clear(&r);
	/* redacting an earlier reaction leaves the latest in force */
	CHECK_OK(store_vote_remove_event(st, "$r1"));
	CHECK_INT(store_vote_remove_event(st, "$r1"), SC_ENOTFOUND);
	CHECK_OK(store_vote_remove_event(st, "$r2"));
	CHECK_INT(store_vote_remove_event(st, "$r2"), SC_ENOTFOUND);
	CHECK_INT(store_vote_remove_event(st, "$nope"), SC_ENOTFOUND);
	CHECK_OK(store_record_get_id(st, id, &r));
	CHECK_INT(r.votes_up, 0);
	CHECK_INT(r.votes_down, 1);
	CHECK_INT(r.votes_meh, 1);
	record_clear(&r);
	/* 👍, 👍️ (with FE0F), 👎, then the 👎 redacted: the 👍 that
	 * Element still shows counts again, and is one vote */
	CHECK_OK(store_vote_add(st, id, "@d:x", "up", "$d1"));
	CHECK_OK(store_vote_add(st, id, "@d:x", "up", "$d2"));
	CHECK_OK(store_vote_add(st, id, "@d:x", "down", "$d3"));
	CHECK_OK(store_vote_remove_event(st, "$d3"));
	CHECK_OK(store_record_get_id(st, id, &r));
	CHECK_INT(r.votes_up, 1);
	CHECK_INT(r.votes_down, 1);
	record_clear(&r);
	CHECK_OK(store_vote_remove_event(st, "$d2"));
	CHECK_OK(store_record_get_id(st, id, &r));
	CHECK_INT(r.votes_up, 1);
	record_clear(&r);
	CHECK_OK(store_vote_remove_event(st, "$d1"));
	CHECK_OK(store_record_get_id(st, id, &r));
	CHECK_INT(r.votes_up, 0);
	record_clear(&r);
	CHECK_INT(store_vote_add(st, id, "@a:x", "love", "$r5"), SC_EINVAL);
	CHECK_INT(store_vote_add(st, 999, "@a:x", "up", "$r6"), SC_ENOTFOUND);
	store_close(st);
}

static void test_reply_links(void)
{
	struct store *st = open_mem();
	struct record r;
	int64_t rec = 0;

	mk(&r, REC_DECISION, ROOM_A, "@a:x", "$cmd", "adopt x", "proposed", 1);
	CHECK_OK(store_record_add(st, &r));
	CHECK_OK(store_record_for_event(st, "$cmd", &rec));
	CHECK_INT(rec, r.id);
	rec = 0;
	CHECK_INT(store_record_for_event(st, "$reply", &rec), SC_ENOTFOUND);
	CHECK_INT(rec, 0);
	CHECK_OK(store_reply_link(st, "$reply", r.id));
	CHECK_OK(store_record_for_event(st, "$reply", &rec));
	CHECK_INT(rec, r.id);
	CHECK_INT(store_reply_link(st, "$bad", 999), SC_ENOTFOUND);
	record_clear(&r);
	store_close(st);
}

struct olist {
	char buf[512];
	size_t len;
	int64_t first_seq;
};

static int outbox_collect(const struct outbox_msg *m, void *ctx)
{
	struct olist *l = ctx;

	if (!l->len)
		l->first_seq = m->seq;
	l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
				   "%s%s/%s/%s/%s/%lld", l->len ? " " : "",
				   m->txn_id, m->room_id, m->type, m->content,
				   (long long)m->record);
	return 0;
}

/* store_outbox_pending says which messages go to an encrypted room. */
static int outbox_flags(const struct outbox_msg *m, void *ctx)
{
	struct olist *l = ctx;

	l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
				   "%s%s=%d", l->len ? " " : "", m->txn_id,
				   m->encrypted);
	return 0;
}

static void test_outbox_encrypted_room(void)
{
	struct store *st = open_mem();
	struct room r;
	struct olist l;

	memset(&r, 0, sizeof(r));
	r.room_id = (char *)ROOM_B;
	r.digest_minute = -1;
	r.joined_at = 1;
	r.encrypted = 1;
	CHECK_OK(store_room_put(st, &r));
	CHECK_OK(store_outbox_add(st, "plain", ROOM_A, MSG, "{}", 0));
	CHECK_OK(store_outbox_add(st, "secret", ROOM_B, MSG, "{}", 0));
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 0, outbox_flags, &l));
	CHECK_STR(l.buf, "plain=0 secret=1");
	store_close(st);
}

static void test_outbox(void)
{
	struct store *st = open_mem();
	int64_t id = add(st, REC_TODO, ROOM_A, "x", "open", 1), rec = 0;
	struct olist l;

	CHECK_OK(store_outbox_add(st, "t1", ROOM_A, MSG, "{}", id));
	CHECK_OK(store_outbox_add(st, "t2", ROOM_B, MSG, "{\"b\":1}",
				  0));
	/* a retried add is a no-op */
	CHECK_OK(store_outbox_add(st, "t1", ROOM_A, MSG, "{\"new\":1}",
				  id));
	CHECK_INT(store_outbox_add(st, "t3", ROOM_A, MSG, "{}", 999),
		  SC_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 0, outbox_collect, &l));
	CHECK_STR(l.buf, "t1/!a:example.org/m.room.message/{}/1 "
			 "t2/!b:example.org/m.room.message/{\"b\":1}/0");
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 1, outbox_collect, &l));
	CHECK_STR(l.buf, "t1/!a:example.org/m.room.message/{}/1");
	CHECK_OK(store_outbox_replace(st, l.first_seq, "m.room.encrypted",
				      "{\"c\":2}"));
	CHECK_INT(store_outbox_replace(st, 999, "x", "{}"), SC_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 1, outbox_collect, &l));
	CHECK_STR(l.buf, "t1/!a:example.org/m.room.encrypted/{\"c\":2}/1");

	/* sent: removed and the reply links to the record */
	CHECK_OK(store_outbox_done(st, l.first_seq, "$sent1"));
	CHECK_OK(store_record_for_event(st, "$sent1", &rec));
	CHECK_INT(rec, id);
	CHECK_INT(store_outbox_done(st, l.first_seq, "$again"), SC_ENOTFOUND);
	CHECK_INT(store_record_for_event(st, "$again", &rec), SC_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 0, outbox_collect, &l));
	CHECK_STR(l.buf, "t2/!b:example.org/m.room.message/{\"b\":1}/0");
	/* no record: nothing to link; dropped (NULL event) works too */
	CHECK_OK(store_outbox_done(st, l.first_seq, "$sent2"));
	CHECK_INT(store_record_for_event(st, "$sent2", &rec), SC_ENOTFOUND);
	CHECK_OK(store_outbox_add(st, "t4", ROOM_A, MSG, "{}", id));
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 0, outbox_collect, &l));
	CHECK_OK(store_outbox_done(st, l.first_seq, NULL));
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 0, outbox_collect, &l));
	CHECK_STR(l.buf, "");
	/* a sent txn id never comes back as new */
	CHECK_OK(store_outbox_add(st, "t5", ROOM_A, MSG, "{}", 0));
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 0, outbox_collect, &l));
	CHECK_STR(l.buf, "t5/!a:example.org/m.room.message/{}/0");
	store_close(st);
}

static void test_events_seen(void)
{
	struct store *st = open_mem();

	CHECK_OK(store_event_seen(st, "$a", "@u:x", 100));
	CHECK_INT(store_event_seen(st, "$a", "@u:x", 100), SC_EEXISTS);
	CHECK_INT(store_event_seen(st, "$a", "@u:x", 999), SC_EEXISTS);
	CHECK_OK(store_event_seen(st, "$b", "@u:x", 300));
	CHECK_OK(store_events_prune(st, 200));
	CHECK_OK(store_event_seen(st, "$a", "@u:x", 400)); /* pruned: new again */
	CHECK_INT(store_event_seen(st, "$b", "@u:x", 400), SC_EEXISTS);
	store_close(st);
}

/* ---- rooms, meetings, kv, stats ---- */

struct rlist {
	char buf[256];
	size_t len;
};

static int room_collect(const struct room *r, void *ctx)
{
	struct rlist *l = ctx;

	l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
				   "%s%s", l->len ? " " : "", r->room_id);
	return 0;
}

static void test_rooms(void)
{
	struct store *st = open_mem();
	int64_t m = add(st, REC_MEETING, ROOM_A, "weekly", "running", 1);
	struct room r, g;
	struct rlist l;

	memset(&g, 0, sizeof(g));
	CHECK_INT(store_room_get(st, ROOM_A, &g), SC_ENOTFOUND);
	CHECK(g.room_id == NULL);
	memset(&r, 0, sizeof(r));
	r.room_id = (char *)ROOM_A;
	r.tz = (char *)"Europe/Toronto";
	r.digest_minute = 540;
	r.digest_days = 0x3e;
	r.last_digest = 1700000000;
	r.joined_at = 1600000000;
	r.meeting = m;
	r.encrypted = 1;
	r.name = (char *)"Ops \xE2\x80\x94 infra";
	CHECK_OK(store_room_put(st, &r));
	CHECK_OK(store_room_get(st, ROOM_A, &g));
	CHECK_STR(g.room_id, ROOM_A);
	CHECK_STR(g.tz, "Europe/Toronto");
	CHECK_INT(g.digest_minute, 540);
	CHECK_INT(g.digest_days, 0x3e);
	CHECK_INT(g.last_digest, 1700000000);
	CHECK_INT(g.joined_at, 1600000000);
	CHECK_INT(g.meeting, m);
	CHECK_INT(g.encrypted, 1);
	CHECK_STR(g.name, r.name);
	room_clear(&g);
	/* put replaces every field */
	r.tz = NULL;
	r.name = NULL;
	r.digest_minute = -1;
	r.meeting = 0;
	CHECK_OK(store_room_put(st, &r));
	CHECK_OK(store_room_get(st, ROOM_A, &g));
	CHECK(g.tz == NULL && g.name == NULL);
	CHECK_INT(g.digest_minute, -1);
	CHECK_INT(g.meeting, 0);
	room_clear(&g);
	r.room_id = (char *)ROOM_B;
	r.joined_at = 0;
	CHECK_OK(store_room_put(st, &r));
	r.room_id = (char *)"!c:example.org";
	r.joined_at = 5;
	CHECK_OK(store_room_put(st, &r));
	r.meeting = 999;
	CHECK_INT(store_room_put(st, &r), SC_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_rooms(st, room_collect, &l));
	CHECK_STR(l.buf, "!a:example.org !c:example.org");
	store_close(st);
}

static int note_collect(const struct note *n, void *ctx)
{
	struct sbuf *sb = ctx;

	sbuf_printf(sb, "%s%lld/%s/%s/%s", sb->len ? " " : "", (long long)n->ts,
		    n->author, n->kind, n->text);
	return 0;
}

static int str_collect(const char *s, void *ctx)
{
	struct sbuf *sb = ctx;

	sbuf_printf(sb, "%s%s", sb->len ? " " : "", s);
	return 0;
}

static void test_notes_and_attendees(void)
{
	struct store *st = open_mem();
	int64_t m = add(st, REC_MEETING, ROOM_A, "weekly", "running", 1);
	int64_t m2 = add(st, REC_MEETING, ROOM_A, "other", "running", 2);
	struct sbuf sb;

	CHECK_OK(store_note_add(st, m, 20, "@b:x", "info", "second"));
	CHECK_OK(store_note_add(st, m, 10, "@a:x", "topic", "first"));
	CHECK_OK(store_note_add(st, m, 20, "@a:x", "info", "third"));
	CHECK_OK(store_note_add(st, m2, 5, "@a:x", "topic", "elsewhere"));
	CHECK_INT(store_note_add(st, m, 30, "@a:x", "rant", "x"), SC_EINVAL);
	CHECK_INT(store_note_add(st, 999, 30, "@a:x", "info", "x"),
		  SC_ENOTFOUND);
	CHECK_INT(store_note_add(st, m, 30, "@a:x", "info", "\xff"), SC_EINVAL);
	sbuf_init(&sb, 0);
	CHECK_OK(store_notes(st, m, note_collect, &sb));
	CHECK_STR(sb.buf, "10/@a:x/topic/first 20/@b:x/info/second "
			  "20/@a:x/info/third");
	sbuf_release(&sb);

	CHECK_OK(store_attendee_add(st, m, "@zed:x"));
	CHECK_OK(store_attendee_add(st, m, "@amy:x"));
	CHECK_OK(store_attendee_add(st, m, "@zed:x"));
	CHECK_OK(store_attendee_add(st, m, "@bob:x"));
	CHECK_OK(store_attendee_add(st, m2, "@other:x"));
	CHECK_INT(store_attendee_add(st, 999, "@x:x"), SC_ENOTFOUND);
	CHECK_OK(store_attendees(st, m, str_collect, &sb));
	CHECK_STR(sb.buf, "@zed:x @amy:x @bob:x");
	sbuf_release(&sb);
	store_close(st);
}

static void test_kv(void)
{
	struct store *st = open_mem();
	char *v = NULL;

	CHECK_INT(store_kv_get(st, "sync.since", &v), SC_ENOTFOUND);
	CHECK(v == NULL);
	CHECK_OK(store_kv_put(st, "sync.since", "s1_2_3"));
	CHECK_OK(store_kv_get(st, "sync.since", &v));
	CHECK_STR(v, "s1_2_3");
	free(v);
	CHECK_OK(store_kv_put(st, "sync.since", "s4"));
	CHECK_OK(store_kv_get(st, "sync.since", &v));
	CHECK_STR(v, "s4");
	free(v);
	CHECK_OK(store_kv_del(st, "sync.since"));
	CHECK_OK(store_kv_del(st, "sync.since"));
	CHECK_INT(store_kv_get(st, "sync.since", &v), SC_ENOTFOUND);
	CHECK_INT(store_kv_put(st, "k", NULL), SC_EINVAL);
	store_close(st);
}

static int stat_collect(const char *room, enum rec_kind kind, int64_t n,
			void *ctx)
{
	struct sbuf *sb = ctx;

	sbuf_printf(sb, "%s%s/%s/%lld", sb->len ? " " : "", room,
		    rec_kind_name(kind), (long long)n);
	return 0;
}

static void test_stats(void)
{
	struct fixture f;
	struct sbuf sb;

	fixture(&f);
	sbuf_init(&sb, 0);
	CHECK_OK(store_stats(f.st, stat_collect, &sb));
	CHECK_STR(sb.buf, "!a:example.org/change/2 !a:example.org/decision/3 "
			  "!a:example.org/meeting/1 !a:example.org/todo/7 "
			  "!b:example.org/change/1 !b:example.org/incident/1");
	sbuf_release(&sb);
	store_close(f.st);
}

static int id_collect(const char *room, void *ctx)
{
	struct sbuf *sb = ctx;

	sbuf_printf(sb, "%s%s", sb->len ? " " : "", room);
	return 0;
}

static int id_first(const char *room, void *ctx)
{
	id_collect(room, ctx);
	return 1;
}

static void test_record_rooms(void)
{
	struct fixture f;
	struct sbuf sb;
	struct store *st = NULL;

	fixture(&f);
	sbuf_init(&sb, 0);
	CHECK_OK(store_record_rooms(f.st, id_collect, &sb));
	CHECK_STR(sb.buf, "!a:example.org !b:example.org");
	sbuf_setlen(&sb, 0);
	CHECK_OK(store_record_rooms(f.st, id_first, &sb));
	CHECK_STR(sb.buf, "!a:example.org");
	store_close(f.st);
	/* no records, no rooms */
	sbuf_setlen(&sb, 0);
	CHECK_OK(store_open(":memory:", &st));
	CHECK_OK(store_record_rooms(st, id_collect, &sb));
	CHECK_INT((int)sb.len, 0);
	store_close(st);
	sbuf_release(&sb);
}

/* An insert that refers to a record that is not there says which. */
static void test_missing_reference_named(void)
{
	struct store *st = NULL;

	CHECK_OK(store_open(":memory:", &st));
	CHECK_INT(store_note_add(st, 999, 1, "@a:x", "info", "t"), SC_ENOTFOUND);
	CHECK_STR(store_errmsg(st), "no meeting 999");
	CHECK_INT(store_attendee_add(st, 998, "@a:x"), SC_ENOTFOUND);
	CHECK_STR(store_errmsg(st), "no meeting 998");
	CHECK_INT(store_attendee_line(st, 997, "@a:x", 5), SC_ENOTFOUND);
	CHECK_STR(store_errmsg(st), "no meeting 997");
	CHECK_INT(store_vote_add(st, 996, "@a:x", "up", "$v"), SC_ENOTFOUND);
	CHECK_STR(store_errmsg(st), "no record 996");
	CHECK_INT(store_reply_link(st, "$reply", 995), SC_ENOTFOUND);
	CHECK_STR(store_errmsg(st), "no record 995");
	CHECK_INT(store_outbox_add(st, "t1", "!r:x", "m.room.message", "{}", 994),
		  SC_ENOTFOUND);
	CHECK_STR(store_errmsg(st), "no record 994");
	store_close(st);
}

/* ---- files ---- */

static void test_reopen_keeps_everything(void)
{
	const char *path = tmp_path("reopen.db");
	struct store *st = NULL;
	struct rec_query q;
	struct record r;
	struct room room;
	struct member m;
	struct olist l;
	struct hist hs;
	char *v = NULL;
	int64_t id, rec = 0;

	CHECK_OK(store_open(path, &st));
	CHECK_INT(store_schema_version(st), store_schema_latest());
	CHECK(store_schema_latest() >= 1);
	mk(&r, REC_TODO, ROOM_A, "@a:x", "$t1", "pick tracker", "open", 10);
	CHECK_OK(record_add_assignee(&r, "@elon:x"));
	CHECK_OK(record_add_tag(&r, "infra"));
	CHECK_OK(store_record_add(st, &r));
	id = r.id;
	CHECK_OK(record_set(&r.status, "done"));
	CHECK_OK(store_record_update(st, &r, "@b:x", 20, "$e2"));
	record_clear(&r);
	CHECK_OK(store_member_put(st, ROOM_A, "@elon:x", "Elon", "join", 7));
	CHECK_OK(store_kv_put(st, "sync.since", "tok"));
	CHECK_OK(store_outbox_add(st, "txn", ROOM_A, MSG, "{}", id));
	CHECK_OK(store_event_seen(st, "$t1", "@u:x", 10));
	CHECK_OK(store_reply_link(st, "$reply", id));
	memset(&room, 0, sizeof(room));
	room.room_id = (char *)ROOM_A;
	room.joined_at = 3;
	CHECK_OK(store_room_put(st, &room));
	store_close(st);

	st = NULL;
	CHECK_OK(store_open(path, &st));
	CHECK_INT(store_schema_version(st), store_schema_latest());
	CHECK_OK(store_record_get(st, REC_TODO, 1, &r));
	CHECK_STR(r.status, "done");
	CHECK_STR(r.assignees[0], "@elon:x");
	CHECK_STR(r.tags[0], "infra");
	record_clear(&r);
	history(st, id, &hs);
	CHECK_STR(hs.sb.buf, "created:->open|status:open>done");
	sbuf_release(&hs.sb);
	memset(&q, 0, sizeof(q));
	q.terms = "tracker";
	CHECK_INT(count(st, &q), 1);
	CHECK_OK(store_member_get(st, ROOM_A, "@elon:x", &m));
	CHECK_INT(m.power, 7);
	member_clear(&m);
	CHECK_OK(store_kv_get(st, "sync.since", &v));
	CHECK_STR(v, "tok");
	free(v);
	memset(&l, 0, sizeof(l));
	CHECK_OK(store_outbox_pending(st, 0, outbox_collect, &l));
	CHECK_CONTAINS(l.buf, "txn/");
	CHECK_INT(store_event_seen(st, "$t1", "@u:x", 11), SC_EEXISTS);
	CHECK_OK(store_record_for_event(st, "$reply", &rec));
	CHECK_INT(rec, id);
	CHECK_OK(store_room_get(st, ROOM_A, &room));
	CHECK_INT(room.joined_at, 3);
	room_clear(&room);
	/* numbering continues */
	mk(&r, REC_TODO, ROOM_A, "@a:x", "$t2", "next", "open", 30);
	CHECK_OK(store_record_add(st, &r));
	CHECK_INT(r.num, 2);
	record_clear(&r);
	store_close(st);
}

static void test_newer_schema_refused(void)
{
	const char *path = tmp_path("newer.db");
	const char *log = tmp_path("newer.log");
	struct store *st = NULL;
	char sql[64], *out;
	sc_err err;

	CHECK_OK(store_open(path, &st));
	add(st, REC_TODO, ROOM_A, "kept", "open", 1);
	store_close(st);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 store_schema_latest() + 1);
	CHECK_INT(raw_exec(path, sql), SQLITE_OK);
	st = NULL;
	capture_start(log);
	err = store_open(path, &st);
	out = capture_end(log);
	CHECK_INT(err, SC_ESTORE);
	CHECK(st == NULL);
	CHECK_CONTAINS(out, "cannot open store '");
	CHECK_CONTAINS(out, "is newer than this scribe understands");
	free(out);
	/* and nothing was touched */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 store_schema_latest());
	CHECK_INT(raw_exec(path, sql), SQLITE_OK);
	CHECK_OK(store_open(path, &st));
	{
		struct rec_query q;

		memset(&q, 0, sizeof(q));
		CHECK_INT(count(st, &q), 1);
	}
	store_close(st);
}

static void test_open_errors(void)
{
	const char *log = tmp_path("open.log");
	char bad[1100];
	struct store *st = NULL;
	FILE *f;
	char *out;
	sc_err err;

	snprintf(bad, sizeof(bad), "%s/no/such/dir/x.db", th_tmpdir());
	capture_start(log);
	err = store_open(bad, &st);
	out = capture_end(log);
	CHECK_INT(err, SC_ESTORE);
	CHECK(st == NULL);
	CHECK_CONTAINS(out, "cannot open store '");
	CHECK_CONTAINS(out, "x.db': unable to open database file");
	free(out);

	/* a file that is no database */
	snprintf(bad, sizeof(bad), "%s", tmp_path("garbage.db"));
	f = fopen(bad, "w");
	CHECK(f != NULL);
	for (int i = 0; i < 200; i++)
		fputs("this is not an sqlite database at all\n", f);
	fclose(f);
	capture_start(log);
	err = store_open(bad, &st);
	out = capture_end(log);
	CHECK(err != SC_OK);
	CHECK(st == NULL);
	CHECK_CONTAINS(out, "file is not a database");
	free(out);
}

static void test_busy_is_reported(void)
{
	const char *path = tmp_path("busy.db");
	struct store *a = NULL, *b = NULL;

	CHECK_OK(store_open(path, &a));
	CHECK_OK(store_open(path, &b));
	CHECK_OK(store_tx_begin(a));
	add(a, REC_TODO, ROOM_A, "holding the lock", "open", 1);
	/* b waits 5 s for the write lock, then gives up cleanly; a
	 * reader is never blocked */
	{
		struct rec_query q;
		int64_t n = -1;

		memset(&q, 0, sizeof(q));
		CHECK_OK(store_count(b, &q, &n));
		CHECK_INT(n, 0);
	}
	CHECK_INT(store_tx_begin(b), SC_EBUSY);
	CHECK_CONTAINS(store_errmsg(b), "database is locked");
	CHECK_OK(store_tx_commit(a));
	add(b, REC_TODO, ROOM_A, "now it is free", "open", 2);
	store_close(a);
	store_close(b);
}

TESTS(TEST(test_kind_and_id_helpers), TEST(test_add_get_round_trip),
      TEST(test_numbering_per_kind), TEST(test_duplicate_event_writes_nothing),
      TEST(test_bad_records_rejected), TEST(test_update_writes_history),
      TEST(test_superseded_history), TEST(test_history_is_append_only),
      TEST(test_nested_transactions), TEST(test_query_each_field),
      TEST(test_query_combined_order_limit), TEST(test_query_assignees),
      TEST(test_query_skip), TEST(test_query_terms),
      TEST(test_search_follows_updates),
      TEST(test_search_within_transaction),
      TEST(test_batch_indexed_together), TEST(test_query_reentrant),
      TEST(test_query_plans_use_indexes), TEST(test_scale_20000),
      TEST(test_member_resolve), TEST(test_members), TEST(test_votes),
      TEST(test_reply_links), TEST(test_outbox), TEST(test_outbox_encrypted_room), TEST(test_events_seen),
      TEST(test_rooms), TEST(test_notes_and_attendees), TEST(test_kv),
      TEST(test_stats), TEST(test_record_rooms), TEST(test_missing_reference_named), TEST(test_reopen_keeps_everything),
      TEST(test_newer_schema_refused), TEST(test_open_errors),
      TEST(test_busy_is_reported))
