/* SPDX-License-Identifier: MIT */
/*
 * store_int.h - what the store's source files share: the connection and
 * its caches (struct store), the helpers of store.c (errors, statements,
 * binding, columns, transactions) and the calls from one file of the
 * store into another. Private to src/store*: it includes <sqlite3.h>,
 * which nothing outside the store may see (make lint).
 *
 * Which file holds what (store.h is the contract of the first six):
 *   store.c          opening, the schema and its migrations, closing,
 *                    transactions; the helpers declared here
 *   store_record.c   records: kinds and ids, add, get, update, their
 *                    append-only history and full-text index
 *   store_query.c    record queries: listings, search, counts, the
 *                    people of a listing, stats
 *   store_vote.c     votes on decisions and reply links
 *   store_room.c     rooms, members, kv (the sync state), seen events
 *   store_meeting.c  meeting notes and attendees
 *   store_outbox.c   the outbox: messages to send after a commit
 *   store_crypto.c   the E2EE tables (store_crypto.h)
 *   store_remind.c   reminders, alert settings, time zones, threads
 *                    (store_remind.h)
 *   store_admin.c    export stream, import, backup, integrity check
 *                    (store_admin.h)
 */
#ifndef SCRIBE_STORE_INT_H
#define SCRIBE_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Record queries of distinct shapes kept prepared at once. */
#define QUERY_CACHE 16
/* Statements kept prepared by the address of their SQL (store_stmt_get):
 * every file's fixed statements fit, with room to spare. */
#define SQL_CACHE 192

/* A prepared statement and whether someone is stepping it: a callback
 * that re-enters the store with the same statement gets a private one. */
struct slot {
	sqlite3_stmt *stmt;
	unsigned key; /* query shape (query cache only) */
	int busy;
};

struct store {
	sqlite3 *db;
	int depth; /* open store_tx_begin levels */
	struct slot query[QUERY_CACHE]; /* store_query.c */
	unsigned qnext; /* next query slot to evict */
	struct slot sqlc[SQL_CACHE]; /* key unused: sql_key holds the SQL */
	const char *sql_key[SQL_CACHE];
	fts5_tokenizer tok_api;
	Fts5Tokenizer *tok; /* for search terms; NULL until first used */
	/* Records added in the open transaction, not yet in records_fts
	 * (store_record.c). */
	int64_t *fts_pending;
	size_t fts_n, fts_cap;
	/* A fixed array, not an sbuf: recording an error must not fail. */
	char errmsg[512];
};

/* ---- the schema (store.c runs the migrations of the other files) ---- */

/* Migration 2: the end-to-end encryption tables (store_crypto.c). */
extern const char store_schema_v2[];
/* The reminders migration (store_remind.c). */
extern const char store_schema_remind[];

/* The columns of a record, in the order of enum rec_col. Assignees and
 * tags come as one LIST_SEP-joined string each, in insertion order
 * (their primary key (record, pos) yields that order without a sort),
 * so a query streams one row per record without a second round trip.
 * Only decisions have votes: other kinds skip the three lookups. A
 * record query leaves out (as NULL) the lists its caller skips: each is
 * a subquery per row. */
#define RECORD_PLAIN_COLS                                                   \
	"r.id, r.kind, r.num, r.room_id, r.author, r.event_id, r.text, "    \
	"r.detail, r.status, r.severity, r.due, r.created, r.updated, "     \
	"r.closed, r.meeting, r.superseded_by, r.withdrawn"
#define ASSIGNEES_COL                                                       \
	", (SELECT group_concat(user_id, char(31)) FROM (SELECT user_id "   \
	"FROM assignees WHERE record = r.id ORDER BY pos))"
#define TAGS_COL                                                            \
	", (SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM tags " \
	"WHERE record = r.id ORDER BY pos))"
#define VOTES_COLS                                                          \
	", CASE r.kind WHEN 'decision' THEN (SELECT count(*) FROM votes "   \
	"WHERE record = r.id AND key = 'up') END, "                         \
	"CASE r.kind WHEN 'decision' THEN (SELECT count(*) FROM votes "     \
	"WHERE record = r.id AND key = 'down') END, "                       \
	"CASE r.kind WHEN 'decision' THEN (SELECT count(*) FROM votes "     \
	"WHERE record = r.id AND key = 'meh') END"
#define RECORD_COLS RECORD_PLAIN_COLS ASSIGNEES_COL TAGS_COL VOTES_COLS

enum rec_col {
	C_ID, C_KIND, C_NUM, C_ROOM, C_AUTHOR, C_EVENT, C_TEXT, C_DETAIL,
	C_STATUS, C_SEVERITY, C_DUE, C_CREATED, C_UPDATED, C_CLOSED,
	C_MEETING, C_SUPERSEDED, C_WITHDRAWN, C_ASSIGNEES, C_TAGS, C_UP,
	C_DOWN, C_MEH
};

/* ---- errors (store.c) ---- */

/* The connection, for statements of the store's other files. */
sqlite3 *store_sqlite(struct store *st);
/* Set the store's message (store_errmsg) and return err. */
sc_err store_fail(struct store *st, sc_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "what: <sqlite's message>" for rc, mapped to an sc_err (SC_EBUSY,
 * SC_EEXISTS for a UNIQUE conflict, SC_EINVAL for a CHECK, ...). Call it
 * right after the failing call. */
sc_err store_dberr(struct store *st, int rc, const char *what);
/* The sc_err for an SQLite (extended) result code, as store_dberr maps. */
sc_err store_rc_to_err(int rc);

/* ---- statements (store.c) ---- */

/* A prepared statement for sql, cached by the string's address (pass a
 * string literal or a static array), or a private one when the cached
 * statement is being stepped further up the stack (or the cache is
 * full). Give it back with store_stmt_put, which resets it and clears
 * its bindings (or finalizes a private one). */
sc_err store_stmt_get(struct store *st, const char *sql, sqlite3_stmt **out);
void store_stmt_put(struct store *st, sqlite3_stmt *s);
/* Give back s of one of the n slots (reset and unbound for the next
 * use), or finalize it when it is a private copy (NULL is fine). */
void store_slots_put(struct slot *slots, int n, sqlite3_stmt *s);
/* Run SQL without parameters (pragmas, migration scripts); on failure
 * the store's message is SQLite's alone. */
sc_err store_exec(struct store *st, const char *sql);
/* Step a statement that returns no rows. */
sc_err store_step_done(struct store *st, sqlite3_stmt *s, const char *what);
/* Step a bound insert that refers to a record (of "record" or
 * "meeting", id), unless rc (the binding's result) is already an
 * error: SC_ENOTFOUND "no meeting 12" when that record is not there,
 * else store_dberr's "what: ..." for anything but SQLITE_DONE. */
sc_err store_step_ref(struct store *st, sqlite3_stmt *s, int rc,
		      const char *of, int64_t id, const char *what);
/* Run the statement sql taking n integers as ?1..?n. */
sc_err store_run_ints(struct store *st, const char *sql, const int64_t *v,
		      int n, const char *what);
/* Run the statement sql taking one integer (a record id, a seq). */
sc_err store_run_id(struct store *st, const char *sql, int64_t v,
		    const char *what);
/* Run the statement sql binding one string; *changes (may be NULL) gets
 * the number of rows it changed. */
sc_err store_run_str(struct store *st, const char *sql, const char *v,
		     const char *what, int *changes);
/* The single integer the statement sql yields, or an error ("what"). */
sc_err store_stmt_int(struct store *st, const char *sql, const char *what,
		      int64_t *out);

/* Bind helpers: the caller's strings outlive the statement's use, which
 * ends with store_stmt_put, so nothing is copied. A NULL string binds
 * NULL. */
static inline int store_bind_str(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static inline int store_bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v);
}

/* 0 means "none" in the structs and is NULL in the tables. */
static inline int store_bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
	return v ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

/* Borrowed text of column i (NULL for SQL NULL), valid until the next
 * step or reset. */
static inline const char *store_col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* A copy of text column i into *out (NULL for SQL NULL). */
sc_err store_col_dup(sqlite3_stmt *s, int i, char **out);
/* The same as a value: NULL for SQL NULL, or NULL with *oom set when
 * the copy failed (for filling several fields, checked once). */
char *store_col_copy(sqlite3_stmt *s, int i, int *oom);

/* ---- transactions (store.c) ---- */

/* Internal atomic steps end here (after their store_tx_begin): commit
 * on success, else undo. The first error's message is the one that
 * stays. */
sc_err store_tx_end(struct store *st, sc_err err);

/* ---- records (store_record.c) ---- */

/* The validation store_record_add applies (UTF-8, kind, status, ...). */
sc_err store_record_check(struct store *st, const struct record *r);
/* Whether s (NULL is fine) is no valid UTF-8 (a NUL, an overlong, a
 * surrogate): text the store refuses. */
int store_bad_text(const char *s);
/* Fill out (zeroed by the caller) from a row of RECORD_COLS. */
sc_err store_row_record(sqlite3_stmt *s, struct record *out);
/* Index the records added in the open transaction for full-text search
 * (store_tx_commit does, and a search before it). */
sc_err store_fts_flush(struct store *st);

/* ---- reminders (store_remind.c) ---- */

/* Keep record r's reminders in line with it (store_remind.c): called by
 * store_record_add (old NULL, now = r->created) and store_record_update
 * (old = the stored row before the change) inside their transaction. */
sc_err store_remind_sync(struct store *st, const struct record *old,
			 const struct record *r, int64_t now);
/* Room old_room's records moved to new_room (store_room_upgrade): so do
 * their reminders, and its alert settings where new_room has none. */
sc_err store_remind_room_move(struct store *st, const char *old_room,
			      const char *new_room);

#endif
