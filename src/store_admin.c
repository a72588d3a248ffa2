/* SPDX-License-Identifier: MIT */
/*
 * store_admin.c - the store operations of the admin CLI (store_admin.h):
 * a full-fidelity record stream for exports, the raw import that reads
 * it back, the online backup, the integrity check and the size report.
 * Like store.c it only uses prepared statements with bound parameters;
 * the statements here are prepared per operation (an export or import
 * runs them a million times, so they are prepared once per call, not per
 * record).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_admin.h"
#include "store_int.h"
#include "banned.h"

/* Pages copied per step of a backup: small enough that the bot's writes
 * are not held up noticeably, large enough to finish a big store fast. */
#define BACKUP_PAGES 1024

static sc_err prepare(struct store *st, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v3(store_sqlite(st), sql, -1,
				    SQLITE_PREPARE_PERSISTENT, out, NULL);

	if (rc != SQLITE_OK) {
		*out = NULL;
		return store_dberr(st, rc, "cannot prepare statement");
	}
	return SC_OK;
}

/* The single integer a statement such as a PRAGMA yields. */
static sc_err one_int(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	sc_err err = prepare(st, sql, &s);
	int rc;

	if (err)
		return err;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		err = store_dberr(st, rc, "cannot read from the store");
	sqlite3_finalize(s);
	return err;
}

/* Run a bound write statement once and reset it. */
static sc_err run(struct store *st, sqlite3_stmt *s, int rc, const char *what)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, what);
	return SC_OK;
}

/* ---- export ----
 *
 * One scan of records in store id order, merged with one cursor each over
 * assignees, tags, votes, history, meeting notes, attendees and meeting
 * items in record (or meeting) order: the tables' keys (record, pos),
 * (record, user_id) and the history_record, notes_meeting and
 * records_meeting indexes give that order (attendees and items are
 * sorted, a few rows per meeting), so every row needed is read once, in
 * sequence. (A query per record and list cost two thirds of an export of
 * a million records; three queries per meeting, a sixth of the html
 * export's reading thread.) A cursor nothing asks for is never started.
 * The short ids of references are looked up per record.
 */

enum ex_stmt {
	X_RECORDS, X_ASSIGNEES, X_TAGS, X_VOTES, X_HISTORY, X_DEC_HISTORY,
	X_NOTES, X_ATTENDEES, X_ITEMS, X_SHORT, X_N
};

/* Bit of a kind in a REC_BIT mask, in SQL; the enum's order. */
#define KIND_BIT                                                           \
	"(1 << CASE kind WHEN 'todo' THEN 0 WHEN 'decision' THEN 1 "       \
	"WHEN 'change' THEN 2 WHEN 'meeting' THEN 3 WHEN 'incident' THEN 4 " \
	"ELSE 5 END)"

/* The records of a query (?1 room, ?2 kinds, ?3 status, ?4 since, ?5
 * until, ?6 withdrawn too): bind_query's. */
#define EXPORT_WHERE                                                       \
	"(?1 IS NULL OR room_id = ?1) AND (?2 & " KIND_BIT ") != 0 AND "   \
	"(?3 IS NULL OR status = ?3) AND (?4 = 0 OR created >= ?4) AND "   \
	"(?5 = 0 OR created < ?5) AND (?6 OR withdrawn = 0)"

static const char *const ex_sql[X_N] = {
	[X_RECORDS] = "SELECT id, kind, num, room_id, author, event_id, text, "
		      "detail, status, severity, due, created, updated, "
		      "closed, meeting, superseded_by, withdrawn FROM records "
		      "WHERE " EXPORT_WHERE " ORDER BY id",
	/* the record id is always the last column */
	[X_ASSIGNEES] = "SELECT user_id, record FROM assignees "
			"ORDER BY record, pos",
	[X_TAGS] = "SELECT tag, record FROM tags ORDER BY record, pos",
	[X_VOTES] = "SELECT user_id, key, event_id, record FROM votes "
		    "ORDER BY record, user_id",
	[X_HISTORY] = "SELECT ts, actor, field, old, new, event_id, record "
		      "FROM history ORDER BY record, id",
	/* the decisions' history only: their ids from the (kind, num)
	 * index, then their rows, instead of stepping over the history of
	 * every record (1.8 million rows for a million records) */
	[X_DEC_HISTORY] = "SELECT ts, actor, field, old, new, event_id, "
			  "record FROM history WHERE record IN (SELECT id "
			  "FROM records WHERE kind = 'decision') "
			  "ORDER BY record, id",
	/* the notes_meeting index (meeting, ts) gives this order */
	[X_NOTES] = "SELECT ts, author, kind, text, id, withdrawn, "
		    "after_record, meeting FROM notes "
		    "ORDER BY meeting, ts, id",
	[X_ATTENDEES] = "SELECT user_id, lines, first_ts, meeting "
			"FROM attendees ORDER BY meeting, rowid",
	/* what was made during each meeting, as a record query reads it
	 * (store_row_record); the same records the query selects */
	[X_ITEMS] = "SELECT " RECORD_PLAIN_COLS ASSIGNEES_COL TAGS_COL
		    ", NULL, NULL, NULL FROM records r WHERE "
		    "r.meeting IS NOT NULL AND r.kind <> 'meeting' AND "
		    EXPORT_WHERE " ORDER BY r.meeting, r.created, r.id",
	[X_SHORT] = "SELECT kind, num FROM records WHERE id = ?1",
};

/*
 * The strings of the record being exported (its lists, history, votes,
 * notes) are copied into blocks that are reused from record to record:
 * a strdup and a free each were ten million allocations for a million
 * records. A record's strings stay put until the next record starts;
 * the blocks, as many as the largest record needed, live until the end
 * of the export.
 */
#define ARENA_BLOCK 65536

struct block {
	struct block *next;
	size_t size, used;
	char data[];
};

struct arena {
	struct block *first, *cur;
};

/* A copy of column col of s in a, or NULL for SQL NULL (*nomem = 1 when
 * the copy failed). */
static char *arena_col(struct arena *a, sqlite3_stmt *s, int col, int *nomem)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);
	struct block *b = a->cur;
	char *p;

	if (!t) {
		*nomem |= sqlite3_column_type(s, col) != SQLITE_NULL;
		return NULL;
	}
	if (!b || b->size - b->used <= len) {
		/* the next kept block, unless it is too small: then a new
		 * one goes in front of it */
		struct block *n = b ? b->next : a->first;

		if (!n || n->size <= len) {
			size_t size = len < ARENA_BLOCK ? ARENA_BLOCK : len + 1;
			struct block *nb = malloc(sizeof(*nb) + size);

			if (!nb) {
				*nomem = 1;
				return NULL;
			}
			nb->size = size;
			nb->next = n;
			if (b)
				b->next = nb;
			else
				a->first = nb;
			n = nb;
		}
		n->used = 0;
		a->cur = b = n;
	}
	p = b->data + b->used;
	memcpy(p, t, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

/* Forget the strings, keep the blocks. */
static void arena_reset(struct arena *a)
{
	a->cur = a->first;
	if (a->cur)
		a->cur->used = 0;
}

static void arena_free(struct arena *a)
{
	while (a->first) {
		struct block *b = a->first;

		a->first = b->next;
		free(b);
	}
	a->cur = NULL;
}

/* The cursors merged with the records (their statements and record
 * column: store_export's table). */
enum ex_merge {
	M_ASSIGNEES, M_TAGS, M_VOTES, M_HISTORY, M_NOTES, M_ATTENDEES, M_ITEMS,
	M_N
};

/* A cursor over a table in record order, merged with the records. */
struct merge {
	int stmt;       /* enum ex_stmt */
	int rec_col;    /* column of the record id */
	int started, row;
	int64_t rec;    /* record of the current row */
};

struct export_state {
	struct store *st;
	sqlite3_stmt *s[X_N];
	full_cb cb;
	void *ctx;
	int attached;
	struct merge m[M_N];
	struct rec_full f;
	struct arena strs; /* f's strings but the record row's and items' */
	size_t cap_as, cap_tg, cap_h, cap_v, cap_n, cap_a, cap_at, cap_i;
	char mref[32], sref[32];
};

static sc_err merge_step(struct export_state *es, struct merge *m)
{
	sqlite3_stmt *s = es->s[m->stmt];
	int rc = sqlite3_step(s);

	m->started = 1;
	m->row = rc == SQLITE_ROW;
	if (m->row)
		m->rec = sqlite3_column_int64(s, m->rec_col);
	else if (rc != SQLITE_DONE)
		return store_dberr(es->st, rc, "cannot read records");
	return SC_OK;
}

/* Skip m to record id; *on = 1 when it is on one of id's rows. */
static sc_err merge_seek(struct export_state *es, struct merge *m, int64_t id,
			 int *on)
{
	sc_err err = m->started ? SC_OK : merge_step(es, m);

	while (!err && m->row && m->rec < id)
		err = merge_step(es, m);
	*on = !err && m->row && m->rec == id;
	return err;
}

/* Empty the arrays of es->f (keeping them) and forget their strings. */
static void full_reset(struct export_state *es)
{
	struct rec_full *f = &es->f;

	f->r.nassignees = f->r.ntags = 0;
	f->nhistory = f->nvotes = f->nnotes = f->nattendees = 0;
	f->nattendance = 0;
	for (size_t i = 0; i < f->nitems; i++)
		record_clear(&f->items[i]);
	f->nitems = 0;
	f->minutes = 0;
	arena_reset(&es->strs);
}

/* Make room for one more element in *arr (n used, *cap allocated). */
static sc_err grow(void *arr, size_t n, size_t *cap, size_t size)
{
	void **p = arr;
	size_t c;
	void *np;

	if (n < *cap)
		return SC_OK;
	c = *cap ? *cap * 2 : 8;
	np = realloc(*p, c * size);
	if (!np)
		return SC_ENOMEM;
	*p = np;
	*cap = c;
	return SC_OK;
}

/* Call add() for each of m's rows of record id (s is m's statement). */
static sc_err merge_rows(struct export_state *es, struct merge *m, int64_t id,
			 sc_err (*add)(struct export_state *es, sqlite3_stmt *s))
{
	int on;
	sc_err err = merge_seek(es, m, id, &on);

	while (!err && on) {
		err = add(es, es->s[m->stmt]);
		if (!err)
			err = merge_step(es, m);
		on = m->row && m->rec == id;
	}
	return err;
}

/* Append a copy of column 0 of s to the list *v (*n used, *cap). */
static sc_err add_to_list(struct export_state *es, sqlite3_stmt *s, char ***v,
			  size_t *n, size_t *cap)
{
	sc_err err = grow(v, *n, cap, sizeof(**v));
	int nomem = 0;

	if (err)
		return err;
	(*v)[*n] = arena_col(&es->strs, s, 0, &nomem);
	return (*v)[(*n)++] ? SC_OK : SC_ENOMEM;
}

static sc_err add_assignee(struct export_state *es, sqlite3_stmt *s)
{
	return add_to_list(es, s, &es->f.r.assignees, &es->f.r.nassignees,
			   &es->cap_as);
}

static sc_err add_tag(struct export_state *es, sqlite3_stmt *s)
{
	return add_to_list(es, s, &es->f.r.tags, &es->f.r.ntags, &es->cap_tg);
}

static sc_err add_vote(struct export_state *es, sqlite3_stmt *s)
{
	struct rec_full *f = &es->f;
	struct vote_row *v;
	int nomem = 0;
	sc_err err = grow(&f->votes, f->nvotes, &es->cap_v, sizeof(*v));

	if (err)
		return err;
	v = &f->votes[f->nvotes++];
	v->user_id = arena_col(&es->strs, s, 0, &nomem);
	v->key = arena_col(&es->strs, s, 1, &nomem);
	v->event_id = arena_col(&es->strs, s, 2, &nomem);
	if (nomem)
		return SC_ENOMEM;
	if (!strcmp(v->key, "up"))
		f->r.votes_up++;
	else if (!strcmp(v->key, "down"))
		f->r.votes_down++;
	else
		f->r.votes_meh++;
	return SC_OK;
}

static sc_err add_history(struct export_state *es, sqlite3_stmt *s)
{
	struct rec_full *f = &es->f;
	struct history_entry *h;
	int nomem = 0;
	sc_err err = grow(&f->history, f->nhistory, &es->cap_h, sizeof(*h));

	if (err)
		return err;
	h = &f->history[f->nhistory++];
	memset(h, 0, sizeof(*h));
	h->record = f->r.id;
	h->ts = sqlite3_column_int64(s, 0);
	h->actor = arena_col(&es->strs, s, 1, &nomem);
	h->field = arena_col(&es->strs, s, 2, &nomem);
	h->old_value = arena_col(&es->strs, s, 3, &nomem);
	h->new_value = arena_col(&es->strs, s, 4, &nomem);
	h->event_id = arena_col(&es->strs, s, 5, &nomem);
	return nomem ? SC_ENOMEM : SC_OK;
}

static sc_err add_note(struct export_state *es, sqlite3_stmt *s)
{
	struct rec_full *f = &es->f;
	struct note *n;
	int nomem = 0;
	sc_err err = grow(&f->notes, f->nnotes, &es->cap_n, sizeof(*n));

	if (err)
		return err;
	n = &f->notes[f->nnotes++];
	n->ts = sqlite3_column_int64(s, 0);
	n->author = arena_col(&es->strs, s, 1, &nomem);
	n->kind = arena_col(&es->strs, s, 2, &nomem);
	n->text = arena_col(&es->strs, s, 3, &nomem);
	n->id = sqlite3_column_int64(s, 4);
	n->withdrawn = sqlite3_column_int64(s, 5);
	n->after = sqlite3_column_int64(s, 6);
	return nomem ? SC_ENOMEM : SC_OK;
}

static sc_err add_attendee(struct export_state *es, sqlite3_stmt *s)
{
	struct rec_full *f = &es->f;
	struct attendee *a;
	int nomem = 0;
	sc_err err = grow(&f->attendees, f->nattendees, &es->cap_a,
			  sizeof(*f->attendees));

	if (!err)
		err = grow(&f->attendance, f->nattendance, &es->cap_at,
			   sizeof(*f->attendance));
	if (err)
		return err;
	a = &f->attendance[f->nattendance++];
	a->user_id = arena_col(&es->strs, s, 0, &nomem);
	a->lines = sqlite3_column_int64(s, 1);
	a->first = sqlite3_column_int64(s, 2);
	f->attendees[f->nattendees++] = a->user_id;
	return nomem ? SC_ENOMEM : SC_OK;
}

static sc_err add_item(struct export_state *es, sqlite3_stmt *s)
{
	struct rec_full *f = &es->f;
	struct record *r;
	sc_err err = grow(&f->items, f->nitems, &es->cap_i, sizeof(*r));

	if (err)
		return err;
	r = &f->items[f->nitems];
	memset(r, 0, sizeof(*r));
	err = store_row_record(s, r);
	if (err) {
		record_clear(r);
		return err == SC_ESTORE
			       ? store_fail(es->st, err, "record %lld has no valid kind",
					    (long long)sqlite3_column_int64(s, 0))
			       : err;
	}
	f->nitems++;
	return SC_OK;
}

/* Write the short id ("M3") of record id into buf. */
static sc_err short_id(struct export_state *es, int64_t id, char *buf,
		       size_t size)
{
	sqlite3_stmt *s = es->s[X_SHORT];
	enum rec_kind kind;
	sc_err err = SC_OK;
	int rc = sqlite3_bind_int64(s, 1, id);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (rec_kind_parse((const char *)sqlite3_column_text(s, 0),
				   &kind) == SC_OK)
			snprintf(buf, size, "%c%lld", rec_kind_prefix(kind),
				 (long long)sqlite3_column_int64(s, 1));
		else
			err = store_fail(es->st, SC_ESTORE,
					 "record %lld has no valid kind",
					 (long long)id);
	} else {
		err = rc == SQLITE_DONE
			      ? store_fail(es->st, SC_ESTORE,
					   "reference to missing record %lld",
					   (long long)id)
			      : store_dberr(es->st, rc, "cannot read record");
	}
	sqlite3_reset(s);
	return err;
}

/* The text of column col of the record row (borrowed until the next
 * step; the struct record's char * only because the struct is shared
 * with store.h: nothing here frees or writes through it). */
static char *col_text(sqlite3_stmt *s, int col)
{
	return (char *)(uintptr_t)sqlite3_column_text(s, col);
}

/* Fill es->f.r from the row of X_RECORDS and everything attached. */
static sc_err export_row(struct export_state *es)
{
	sqlite3_stmt *s = es->s[X_RECORDS];
	struct rec_full *f = &es->f;
	struct record *r = &f->r;
	sc_err err;

	full_reset(es);
	if (rec_kind_parse((const char *)sqlite3_column_text(s, 1), &r->kind))
		return store_fail(es->st, SC_ESTORE, "record %lld has no valid kind",
				  (long long)sqlite3_column_int64(s, 0));
	r->id = sqlite3_column_int64(s, 0);
	r->num = sqlite3_column_int64(s, 2);
	r->room_id = col_text(s, 3);
	r->author = col_text(s, 4);
	r->event_id = col_text(s, 5);
	r->text = col_text(s, 6);
	r->detail = col_text(s, 7);
	r->status = col_text(s, 8);
	r->severity = col_text(s, 9);
	r->due = sqlite3_column_int64(s, 10);
	r->created = sqlite3_column_int64(s, 11);
	r->updated = sqlite3_column_int64(s, 12);
	r->closed = sqlite3_column_int64(s, 13);
	r->meeting = sqlite3_column_int64(s, 14);
	r->superseded_by = sqlite3_column_int64(s, 15);
	r->withdrawn = sqlite3_column_int(s, 16);
	r->votes_up = r->votes_down = r->votes_meh = 0;
	if (!r->room_id || !r->author || !r->text || !r->status)
		return SC_ENOMEM; /* NOT NULL columns: only a failed copy */
	f->meeting_ref = f->superseded_ref = NULL;
	err = merge_rows(es, &es->m[M_ASSIGNEES], r->id, add_assignee);
	if (!err)
		err = merge_rows(es, &es->m[M_TAGS], r->id, add_tag);
	if (!err)
		err = merge_rows(es, &es->m[M_VOTES], r->id, add_vote);
	if (!err && ((es->attached & EXPORT_ATTACHED) ||
		     ((es->attached & EXPORT_DECISION_HISTORY) &&
		      r->kind == REC_DECISION)))
		err = merge_rows(es, &es->m[M_HISTORY], r->id, add_history);
	if (!err && (es->attached & (EXPORT_ATTACHED | EXPORT_MINUTES)) &&
	    r->kind == REC_MEETING) {
		err = merge_rows(es, &es->m[M_NOTES], r->id, add_note);
		if (!err)
			err = merge_rows(es, &es->m[M_ATTENDEES], r->id,
					 add_attendee);
	}
	if (!err && (es->attached & EXPORT_MINUTES) && r->kind == REC_MEETING) {
		err = merge_rows(es, &es->m[M_ITEMS], r->id, add_item);
		f->minutes = 1;
	}
	if (!err && r->meeting) {
		err = short_id(es, r->meeting, es->mref, sizeof(es->mref));
		f->meeting_ref = es->mref;
	}
	if (!err && r->superseded_by) {
		err = short_id(es, r->superseded_by, es->sref, sizeof(es->sref));
		f->superseded_ref = es->sref;
	}
	return err;
}

/* Bind q to a statement of EXPORT_WHERE. */
static int bind_query(sqlite3_stmt *s, const struct rec_query *q)
{
	int rc = store_bind_str(s, 1, q->room_id);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 2, (int)(q->kinds ? q->kinds : REC_ALL));
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, q->status);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, q->since);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 5, q->until);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 6, q->include_withdrawn ? 1 : 0);
	return rc;
}

sc_err store_export(struct store *st, const struct rec_query *q, int attached,
		    full_cb cb, void *ctx)
{
	static const struct {
		int stmt, rec_col;
	} merges[M_N] = {
		[M_ASSIGNEES] = { X_ASSIGNEES, 1 }, [M_TAGS] = { X_TAGS, 1 },
		[M_VOTES] = { X_VOTES, 3 }, [M_HISTORY] = { X_HISTORY, 6 },
		[M_NOTES] = { X_NOTES, 7 }, [M_ATTENDEES] = { X_ATTENDEES, 3 },
		[M_ITEMS] = { X_ITEMS, C_MEETING },
	};
	struct export_state es;
	sqlite3_stmt *s;
	sc_err err = SC_OK;
	int rc;

	memset(&es, 0, sizeof(es));
	es.st = st;
	es.cb = cb;
	es.ctx = ctx;
	es.attached = attached;
	for (int i = 0; i < M_N; i++) {
		es.m[i].stmt = merges[i].stmt;
		es.m[i].rec_col = merges[i].rec_col;
	}
	if (!(attached & EXPORT_ATTACHED))
		es.m[M_HISTORY].stmt = X_DEC_HISTORY;
	for (int i = 0; i < X_N && !err; i++)
		err = prepare(st, ex_sql[i], &es.s[i]);
	if (err)
		goto out;
	s = es.s[X_RECORDS];
	rc = bind_query(es.s[X_ITEMS], q);
	if (rc == SQLITE_OK)
		rc = bind_query(s, q);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		err = export_row(&es);
		if (err || cb(&es.f, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot read records");
out:
	full_reset(&es);
	arena_free(&es.strs);
	free(es.f.items);
	free(es.f.r.assignees);
	free(es.f.r.tags);
	free(es.f.history);
	free(es.f.votes);
	free(es.f.notes);
	free(es.f.attendees);
	free(es.f.attendance);
	for (int i = 0; i < X_N; i++)
		sqlite3_finalize(es.s[i]);
	return err;
}

/* ---- import ---- */

enum im_stmt {
	I_RECORD, I_ASSIGNEE, I_TAG, I_HISTORY, I_VOTE, I_NOTE, I_ATTENDEE,
	I_ATTENDANCE, I_FTS, I_REF, I_REFS, I_FIND, I_SET_MEETING, I_SET_SUPERSEDED,
	I_EXISTS, I_N
};

static const char *const im_sql[I_N] = {
	[I_RECORD] = "INSERT INTO records (kind, num, room_id, author, "
		     "event_id, text, detail, status, severity, due, created, "
		     "updated, closed, withdrawn) VALUES (?1, ?2, ?3, ?4, ?5, "
		     "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[I_ASSIGNEE] = "INSERT INTO assignees (record, pos, user_id) "
		       "VALUES (?1, ?2, ?3)",
	[I_TAG] = "INSERT INTO tags (record, pos, tag) VALUES (?1, ?2, ?3)",
	[I_HISTORY] = "INSERT INTO history (record, ts, actor, field, old, "
		      "new, event_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[I_VOTE] = "INSERT INTO votes (record, user_id, key, event_id) "
		   "VALUES (?1, ?2, ?3, ?4)",
	[I_NOTE] = "INSERT INTO notes (meeting, ts, author, kind, text, "
		   "withdrawn) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[I_ATTENDEE] = "INSERT INTO attendees (meeting, user_id) "
		       "VALUES (?1, ?2)",
	[I_ATTENDANCE] = "INSERT INTO attendees (meeting, user_id, lines, "
			 "first_ts) VALUES (?1, ?2, ?3, ?4) ON CONFLICT "
			 "(meeting, user_id) DO UPDATE SET lines = "
			 "excluded.lines, first_ts = excluded.first_ts",
	[I_FTS] = "INSERT INTO records_fts (rowid, text, detail, tags) "
		  "SELECT id, text, detail, tags FROM records_search "
		  "WHERE id = ?1",
	[I_REF] = "INSERT INTO temp.import_refs (record, meeting, "
		  "superseded) VALUES (?1, ?2, ?3)",
	[I_REFS] = "SELECT record, meeting, superseded FROM temp.import_refs "
		   "ORDER BY record",
	[I_FIND] = "SELECT id FROM records WHERE kind = ?1 AND num = ?2",
	[I_SET_MEETING] = "UPDATE records SET meeting = ?2 WHERE id = ?1",
	[I_SET_SUPERSEDED] = "UPDATE records SET superseded_by = ?2 "
			     "WHERE id = ?1",
	[I_EXISTS] = "SELECT 1 FROM records WHERE kind = ?1 AND num = ?2",
};

/* The import's statements live from begin to end; one import at a time
 * per process is all the CLI needs. */
static struct {
	struct store *st;
	sqlite3_stmt *s[I_N];
	int64_t cache_size; /* PRAGMA cache_size to restore at the end */
} im;

/* Page cache while importing: the indexes of a million records do not
 * fit the store's usual 32 MiB, and spilling them made an import three
 * times slower. */
#define IMPORT_CACHE_KIB 262144

/* Set PRAGMA cache_size (pages, or KiB when negative). */
static sc_err set_cache(struct store *st, int64_t cache_size)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = %lld",
		 (long long)cache_size);
	return store_exec(st, sql);
}

static void import_free(void)
{
	if (im.st && im.cache_size)
		set_cache(im.st, im.cache_size);
	for (int i = 0; i < I_N; i++)
		sqlite3_finalize(im.s[i]);
	memset(&im, 0, sizeof(im));
}

sc_err store_import_begin(struct store *st)
{
	sc_err err;

	if (im.st)
		return store_fail(st, SC_ESTATE, "an import is already running");
	err = store_exec(st, "CREATE TEMP TABLE IF NOT EXISTS import_refs ("
			     "record INTEGER PRIMARY KEY, meeting TEXT, "
			     "superseded TEXT)");
	if (!err)
		err = store_exec(st, "DELETE FROM temp.import_refs");
	if (err)
		return err;
	im.st = st;
	err = one_int(st, "PRAGMA cache_size", &im.cache_size);
	if (!err)
		err = set_cache(st, -IMPORT_CACHE_KIB);
	for (int i = 0; i < I_N && !err; i++)
		err = prepare(st, im_sql[i], &im.s[i]);
	if (!err)
		err = store_tx_begin(st);
	if (err)
		import_free();
	return err;
}

/* Insert a (record, pos, value) list. */
static sc_err import_list(struct store *st, sqlite3_stmt *s, int64_t id,
			  char **v, size_t n, const char *what)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < n && !err; i++) {
		int rc = sqlite3_bind_int64(s, 1, id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 2, (int64_t)i);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 3, v[i]);
		err = run(st, s, rc, what);
	}
	return err;
}

static sc_err import_attached(struct store *st, const struct rec_full *f,
			      int64_t id)
{
	sc_err err = SC_OK;
	sqlite3_stmt *s;
	int rc;

	s = im.s[I_HISTORY];
	for (size_t i = 0; i < f->nhistory && !err; i++) {
		const struct history_entry *h = &f->history[i];
		rc = sqlite3_bind_int64(s, 1, id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 2, h->ts);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 3, h->actor);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 4, h->field);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 5, h->old_value);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 6, h->new_value);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 7, h->event_id);
		err = run(st, s, rc, "cannot import history");
	}
	s = im.s[I_VOTE];
	for (size_t i = 0; i < f->nvotes && !err; i++) {
		rc = sqlite3_bind_int64(s, 1, id);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 2, f->votes[i].user_id);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 3, f->votes[i].key);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 4, f->votes[i].event_id);
		err = run(st, s, rc, "cannot import vote");
	}
	s = im.s[I_NOTE];
	for (size_t i = 0; i < f->nnotes && !err; i++) {
		rc = sqlite3_bind_int64(s, 1, id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 2, f->notes[i].ts);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 3, f->notes[i].author);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 4, f->notes[i].kind);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 5, f->notes[i].text);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 6, f->notes[i].withdrawn);
		err = run(st, s, rc, "cannot import meeting note");
	}
	s = im.s[I_ATTENDEE];
	for (size_t i = 0; i < f->nattendees && !err; i++) {
		rc = sqlite3_bind_int64(s, 1, id);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 2, f->attendees[i]);
		err = run(st, s, rc, "cannot import attendee");
	}
	s = im.s[I_ATTENDANCE];
	for (size_t i = 0; i < f->nattendance && !err; i++) {
		rc = sqlite3_bind_int64(s, 1, id);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 2, f->attendance[i].user_id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 3, f->attendance[i].lines);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 4, f->attendance[i].first);
		err = run(st, s, rc, "cannot import attendance");
	}
	return err;
}

sc_err store_import_record(struct store *st, const struct rec_full *f)
{
	const struct record *r = &f->r;
	sqlite3_stmt *s = im.s[I_RECORD];
	char sid[24];
	sc_err err;
	int64_t id;
	int rc;

	if (im.st != st)
		return store_fail(st, SC_ESTATE, "no import running");
	record_short_id(r, sid, sizeof(sid));
	err = store_record_check(st, r);
	if (err)
		return err;
	if (r->num <= 0)
		return store_fail(st, SC_EINVAL, "record %s: bad number", sid);
	rc = sqlite3_bind_text(im.s[I_EXISTS], 1, rec_kind_name(r->kind), -1,
			       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(im.s[I_EXISTS], 2, r->num);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(im.s[I_EXISTS]);
	sqlite3_reset(im.s[I_EXISTS]);
	if (rc == SQLITE_ROW)
		return store_fail(st, SC_EEXISTS, "record %s already exists",
				  sid);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "cannot look up record");

	rc = sqlite3_bind_text(s, 1, rec_kind_name(r->kind), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, r->num);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, r->room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 4, r->author);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 5, r->event_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 6, r->text);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 7, r->detail);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 8, r->status);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 9, r->severity);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 10, r->due);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 11, r->created);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 12, r->updated);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 13, r->closed);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 14, r->withdrawn ? 1 : 0);
	err = run(st, s, rc, "cannot import record");
	if (err == SC_EEXISTS)
		return store_fail(st, SC_EEXISTS,
				  "record %s: event %s is already recorded",
				  sid, r->event_id ? r->event_id : "");
	if (err)
		return err;
	id = sqlite3_last_insert_rowid(store_sqlite(st));
	err = import_list(st, im.s[I_ASSIGNEE], id, r->assignees,
			  r->nassignees, "cannot import assignee");
	if (!err)
		err = import_list(st, im.s[I_TAG], id, r->tags, r->ntags,
				  "cannot import tag");
	if (!err)
		err = import_attached(st, f, id);
	if (!err && (f->meeting_ref || f->superseded_ref)) {
		s = im.s[I_REF];
		rc = sqlite3_bind_int64(s, 1, id);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 2, f->meeting_ref);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 3, f->superseded_ref);
		err = run(st, s, rc, "cannot remember reference");
	}
	if (!err) {
		s = im.s[I_FTS];
		err = run(st, s, sqlite3_bind_int64(s, 1, id),
			  "cannot index record");
	}
	return err;
}

/* The store id of the record named ref ("M3"), which must be of kind
 * want; the message names the referring record `from` (a store id). */
static sc_err resolve_ref(struct store *st, const char *ref,
			  enum rec_kind want, const char *field, int64_t *out)
{
	sqlite3_stmt *s = im.s[I_FIND];
	enum rec_kind kind;
	int64_t num;
	int rc;

	if (rec_id_parse(ref, &kind, &num) || kind != want)
		return store_fail(st, SC_EINVAL, "bad %s reference '%s'", field,
				  ref);
	rc = sqlite3_bind_text(s, 1, rec_kind_name(kind), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, num);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store_fail(st, SC_EINVAL,
				  "%s '%s' is neither in the store nor imported",
				  field, ref);
	if (rc != SQLITE_ROW)
		return store_dberr(st, rc, "cannot look up reference");
	return SC_OK;
}

/* Point every imported record at its meeting and successor. */
static sc_err import_refs(struct store *st)
{
	sqlite3_stmt *s = im.s[I_REFS];
	sc_err err = SC_OK;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0), to = 0;
		const char *m = (const char *)sqlite3_column_text(s, 1);
		const char *sup = (const char *)sqlite3_column_text(s, 2);
		sqlite3_stmt *u;

		if (m) {
			err = resolve_ref(st, m, REC_MEETING, "meeting", &to);
			u = im.s[I_SET_MEETING];
			rc = sqlite3_bind_int64(u, 1, id);
			if (!err && rc == SQLITE_OK)
				rc = sqlite3_bind_int64(u, 2, to);
			if (!err)
				err = run(st, u, rc, "cannot set meeting");
		}
		if (!err && sup) {
			err = resolve_ref(st, sup, REC_DECISION,
					  "superseded_by", &to);
			u = im.s[I_SET_SUPERSEDED];
			rc = sqlite3_bind_int64(u, 1, id);
			if (!err && rc == SQLITE_OK)
				rc = sqlite3_bind_int64(u, 2, to);
			if (!err)
				err = run(st, u, rc, "cannot set successor");
		}
		if (err)
			break;
	}
	sqlite3_reset(s);
	if (!err && rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot read references");
	return err;
}

sc_err store_import_end(struct store *st, int commit)
{
	sc_err err = SC_OK;

	if (im.st != st)
		return store_fail(st, SC_ESTATE, "no import running");
	if (commit)
		err = import_refs(st);
	if (commit && !err)
		err = store_tx_commit(st);
	else
		store_tx_rollback(st);
	import_free();
	if (!err)
		err = store_exec(st, "DELETE FROM temp.import_refs");
	return err;
}

/* ---- snapshot, backup, check, size ---- */

/* 1 while a snapshot begun here is open. */
static int snapshot_open;

sc_err store_snapshot_begin(struct store *st)
{
	sc_err err;

	if (snapshot_open || !sqlite3_get_autocommit(store_sqlite(st)))
		return SC_OK;
	err = store_exec(st, "BEGIN DEFERRED");
	snapshot_open = !err;
	return err;
}

void store_snapshot_end(struct store *st)
{
	if (snapshot_open)
		store_exec(st, "COMMIT");
	snapshot_open = 0;
}

sc_err store_backup(struct store *st, const char *path,
		    void (*progress)(int done, int total, void *ctx), void *ctx)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	sc_err err = SC_OK;
	int rc, fd;

	/* Made here, and only if new (O_EXCL: no race with another
	 * writer, no symlink followed), with the process's file mode
	 * (main.c, config_apply_group); SQLite then fills the empty file
	 * and gives its -journal the same mode. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0666);
	if (fd < 0 && errno == EEXIST)
		return store_fail(st, SC_EEXISTS, "'%s' already exists", path);
	if (fd < 0)
		return store_fail(st, SC_EIO, "cannot create '%s': %s", path,
				  strerror(errno));
	close(fd);
	rc = sqlite3_open_v2(path, &dst,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
			     NULL);
	if (rc != SQLITE_OK) {
		err = store_fail(st, SC_EIO, "cannot create '%s': %s", path,
				 dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", store_sqlite(st), "main");
	if (!b) {
		err = store_fail(st, SC_ESTORE, "cannot start backup: %s",
				 sqlite3_errmsg(dst));
		goto out;
	}
	do {
		rc = sqlite3_backup_step(b, BACKUP_PAGES);
		if (progress)
			progress(sqlite3_backup_pagecount(b) -
					 sqlite3_backup_remaining(b),
				 sqlite3_backup_pagecount(b), ctx);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		err = store_fail(st, rc == SQLITE_NOMEM ? SC_ENOMEM : SC_EIO,
				 "backup to '%s' failed: %s", path,
				 sqlite3_errstr(rc));
out:
	if (dst && sqlite3_close(dst) != SQLITE_OK && !err)
		err = store_fail(st, SC_EIO, "cannot close '%s'", path);
	if (err && err != SC_EEXISTS)
		unlink(path);
	return err;
}

sc_err store_check(struct store *st, str_cb cb, void *ctx, int64_t *problems)
{
	sqlite3_stmt *s = NULL;
	int64_t n = 0;
	sc_err err;
	int rc;

	err = prepare(st, "PRAGMA integrity_check", &s);
	if (err)
		return err;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(s, 0);
		if (line && !strcmp(line, "ok"))
			continue;
		n++;
		if (cb && line)
			cb(line, ctx);
	}
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, "integrity check failed");
	sqlite3_finalize(s);
	if (!err)
		err = prepare(st, "PRAGMA foreign_key_check", &s);
	if (err)
		return err;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char line[512];
		snprintf(line, sizeof(line),
			 "row %lld of %s refers to a missing %s row",
			 (long long)sqlite3_column_int64(s, 1),
			 (const char *)sqlite3_column_text(s, 0),
			 (const char *)sqlite3_column_text(s, 2));
		n++;
		if (cb)
			cb(line, ctx);
	}
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, "foreign key check failed");
	sqlite3_finalize(s);
	if (!err)
		*problems = n;
	return err;
}

sc_err store_size(struct store *st, int64_t *bytes, int64_t *history_rows)
{
	int64_t pages = 0, size = 0, hist = 0;
	sc_err err = one_int(st, "PRAGMA page_count", &pages);

	if (!err)
		err = one_int(st, "PRAGMA page_size", &size);
	if (!err)
		err = one_int(st, "SELECT count(*) FROM history", &hist);
	if (!err) {
		*bytes = pages * size;
		*history_rows = hist;
	}
	return err;
}
