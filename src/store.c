/* SPDX-License-Identifier: MIT */
/*
 * store.c - the store's core: opening the SQLite file (its folder, WAL
 * and the pragmas), the schema with its forward-only migrations,
 * closing, and nested transactions; and what every file of the store
 * shares through store_int.h: errors, the statement cache and the
 * bind, step and column helpers. store.h is the contract; the data
 * live in the files beside this one (store_int.h lists which holds
 * what). Every statement is prepared with bound parameters and stays
 * prepared in the statement cache, so no text from chat ever becomes
 * SQL.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "banned.h"

/* How long a writer waits for the other process (bot or CLI). */
#define STORE_BUSY_MS 5000

/*
 * Schema version 1, the whole initial schema.
 *
 * records: 0 in the structs (no due date, no meeting, ...) is NULL here,
 * so "no due date" sorts last and never compares as overdue. CHECK
 * constraints keep kind, status (per kind), severity and withdrawn to
 * the values store.h lists; UNIQUE(kind, num) backs T12-style ids and
 * event_id is UNIQUE (SQLite allows many NULLs: CLI records have none).
 *
 * The indexes serve exactly the hot queries of the bot (measured on a
 * 1,000,000-record store; the plans are logged at debug level and checked
 * by tests/unit/test_store.c):
 *   records(kind, num)                 T12 -> record (the UNIQUE)
 *   records(event_id)                  edits, redactions, reactions
 *   records(room_id, kind, withdrawn, status, due, severity, created)
 *                                      (due: version 3, the rest: 4)
 *                                      open todos of a room, ORDER_DUE
 *                                      (sorts only that room's open
 *                                      items, from the index alone),
 *                                      overdue, !stats
 *   records(room_id, kind, withdrawn, created)
 *                                      changes/decisions of a room since
 *                                      a date, newest first, no sort
 *   records(room_id, withdrawn, max(created, updated))
 *                                      digest: what changed in a room
 *                                      since T (an expression index:
 *                                      changed_since is "updated or
 *                                      created >= T" without an OR)
 * No ANALYZE/PRAGMA optimize: with statistics, SQLite's averages over
 * rooms of very different sizes made it pick worse plans for the big
 * room (1 ms -> 18 ms for "meetings changed in 7 days"); these indexes
 * are designed so the statistics-free plans are the right ones.
 * withdrawn sits in the room indexes because every default query says
 * withdrawn = 0: without it each candidate row costs a table lookup
 * (18 ms instead of 1 ms to count 2,300 open todos of a big room). A
 * query with include_withdrawn uses the (room_id, kind) prefix.
 *   records(meeting)                   the items made in a meeting
 *   tags(tag, record)                  #web1 -> records
 *   assignees(user_id, record)         !todos @user, mine
 *   records_fts                        !search (FTS5, below)
 * assignees and tags are WITHOUT ROWID tables keyed (record, pos): the
 * key fills a row's lists in insertion order without a sort and serves
 * as the foreign keys' child index; UNIQUE(record, ...) drops repeats.
 *
 * records_fts is an external-content FTS5 index over text, detail and
 * the record's tags (so `!search web1` finds a change tagged #web1). Its
 * content is the view records_search; store_record.c keeps it in
 * sync explicitly: a record store_record_add wrote is indexed once all its
 * tags are written (when its transaction commits, store_fts_flush), and
 * store_record_update deletes the old row (read from the same view, so the
 * values are exactly the indexed ones) before and re-inserts it after a
 * change of text, detail or tags. `INSERT INTO records_fts(records_fts)
 * VALUES('rebuild')` regenerates it from the view.
 *
 * history is append-only: triggers refuse UPDATE and DELETE. Since
 * nothing ever deletes a record either, it keeps every change forever.
 */
static const char schema_v1[] =
	"CREATE TABLE records (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	kind TEXT NOT NULL CONSTRAINT kind_valid CHECK (kind IN\n"
	"		('todo', 'decision', 'change', 'meeting', 'incident')),\n"
	"	num INTEGER NOT NULL CONSTRAINT num_valid CHECK (num > 0),\n"
	"	room_id TEXT NOT NULL,\n"
	"	author TEXT NOT NULL,\n"
	"	event_id TEXT UNIQUE,\n"
	"	text TEXT NOT NULL,\n"
	"	detail TEXT,\n"
	"	status TEXT NOT NULL,\n"
	"	severity TEXT CONSTRAINT severity_valid CHECK (severity IN\n"
	"		('critical', 'major', 'minor')),\n"
	"	due INTEGER,\n"
	"	created INTEGER NOT NULL,\n"
	"	updated INTEGER NOT NULL,\n"
	"	closed INTEGER,\n"
	"	meeting INTEGER REFERENCES records (id),\n"
	"	superseded_by INTEGER REFERENCES records (id),\n"
	"	withdrawn INTEGER NOT NULL DEFAULT 0\n"
	"		CONSTRAINT withdrawn_valid CHECK (withdrawn IN (0, 1)),\n"
	"	CONSTRAINT status_valid CHECK (\n"
	"		(kind = 'todo' AND status IN ('open', 'done', 'dropped')) OR\n"
	"		(kind = 'decision' AND status IN\n"
	"			('proposed', 'accepted', 'rejected', 'superseded')) OR\n"
	"		(kind = 'change' AND status = 'logged') OR\n"
	"		(kind = 'meeting' AND status IN ('running', 'ended')) OR\n"
	"		(kind = 'incident' AND status IN ('open', 'resolved'))),\n"
	"	UNIQUE (kind, num)\n"
	");\n"
	"CREATE INDEX records_room_kind_status\n"
	"	ON records (room_id, kind, withdrawn, status);\n"
	"CREATE INDEX records_room_kind_created\n"
	"	ON records (room_id, kind, withdrawn, created);\n"
	"CREATE INDEX records_room_changed\n"
	"	ON records (room_id, withdrawn, max(created, updated));\n"
	"CREATE INDEX records_meeting ON records (meeting) WHERE meeting IS NOT NULL;\n"
	"\n"
	"CREATE TABLE assignees (\n"
	"	record INTEGER NOT NULL REFERENCES records (id),\n"
	"	pos INTEGER NOT NULL,\n"
	"	user_id TEXT NOT NULL,\n"
	"	PRIMARY KEY (record, pos),\n"
	"	UNIQUE (record, user_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX assignees_user ON assignees (user_id, record);\n"
	"CREATE TABLE tags (\n"
	"	record INTEGER NOT NULL REFERENCES records (id),\n"
	"	pos INTEGER NOT NULL,\n"
	"	tag TEXT NOT NULL,\n"
	"	PRIMARY KEY (record, pos),\n"
	"	UNIQUE (record, tag)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX tags_tag ON tags (tag, record);\n"
	"CREATE TABLE votes (\n"
	"	record INTEGER NOT NULL REFERENCES records (id),\n"
	"	user_id TEXT NOT NULL,\n"
	"	key TEXT NOT NULL CONSTRAINT vote_key_valid CHECK (key IN\n"
	"		('up', 'down', 'meh')),\n"
	"	event_id TEXT UNIQUE,\n"
	"	PRIMARY KEY (record, user_id)\n"
	") WITHOUT ROWID;\n"
	"\n"
	"CREATE TABLE history (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	record INTEGER NOT NULL REFERENCES records (id),\n"
	"	ts INTEGER NOT NULL,\n"
	"	actor TEXT NOT NULL,\n"
	"	field TEXT NOT NULL,\n"
	"	old TEXT,\n"
	"	new TEXT,\n"
	"	event_id TEXT\n"
	");\n"
	"CREATE INDEX history_record ON history (record);\n"
	"CREATE TRIGGER history_no_update BEFORE UPDATE ON history\n"
	"BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;\n"
	"CREATE TRIGGER history_no_delete BEFORE DELETE ON history\n"
	"BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;\n"
	"\n"
	"CREATE VIEW records_search (id, text, detail, tags) AS\n"
	"	SELECT r.id, r.text, r.detail,\n"
	"		(SELECT group_concat(tag, ' ') FROM\n"
	"			(SELECT tag FROM tags WHERE record = r.id ORDER BY pos))\n"
	"	FROM records r;\n"
	"CREATE VIRTUAL TABLE records_fts USING fts5 (text, detail, tags,\n"
	"	content = 'records_search', content_rowid = 'id',\n"
	"	tokenize = 'unicode61 remove_diacritics 2');\n"
	"\n"
	"CREATE TABLE rooms (\n"
	"	room_id TEXT PRIMARY KEY,\n"
	"	tz TEXT,\n"
	"	digest_minute INTEGER NOT NULL DEFAULT -1,\n"
	"	digest_days INTEGER NOT NULL DEFAULT 0,\n"
	"	last_digest INTEGER NOT NULL DEFAULT 0,\n"
	"	joined_at INTEGER NOT NULL DEFAULT 0,\n"
	"	meeting INTEGER REFERENCES records (id),\n"
	"	encrypted INTEGER NOT NULL DEFAULT 0,\n"
	"	name TEXT\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE members (\n"
	"	room_id TEXT NOT NULL,\n"
	"	user_id TEXT NOT NULL,\n"
	"	display_name TEXT,\n"
	"	membership TEXT NOT NULL,\n"
	"	power INTEGER NOT NULL DEFAULT 0,\n"
	"	last_spoke INTEGER NOT NULL DEFAULT 0,\n"
	"	PRIMARY KEY (room_id, user_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE notes (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	meeting INTEGER NOT NULL REFERENCES records (id),\n"
	"	ts INTEGER NOT NULL,\n"
	"	author TEXT NOT NULL,\n"
	"	kind TEXT NOT NULL CONSTRAINT note_kind_valid CHECK (kind IN\n"
	"		('topic', 'info')),\n"
	"	text TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX notes_meeting ON notes (meeting, ts);\n"
	"CREATE TABLE attendees (\n"
	"	meeting INTEGER NOT NULL REFERENCES records (id),\n"
	"	user_id TEXT NOT NULL,\n"
	"	UNIQUE (meeting, user_id)\n"
	");\n"
	"CREATE TABLE kv (\n"
	"	key TEXT PRIMARY KEY,\n"
	"	value TEXT NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE outbox (\n"
	"	seq INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"	txn_id TEXT NOT NULL UNIQUE,\n"
	"	room_id TEXT NOT NULL,\n"
	"	type TEXT NOT NULL,\n"
	"	content TEXT NOT NULL,\n"
	"	record INTEGER REFERENCES records (id)\n"
	");\n"
	"CREATE TABLE reply_links (\n"
	"	event_id TEXT PRIMARY KEY,\n"
	"	record INTEGER NOT NULL REFERENCES records (id)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE seen_events (\n"
	"	event_id TEXT PRIMARY KEY,\n"
	"	ts INTEGER NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX seen_events_ts ON seen_events (ts);\n";

/*
 * Schema version 3: due joins the room/status index (its old uses see the
 * same prefix), so "overdue" — open todos of a room with due < now, for
 * !todos overdue and every digest — is a range inside the index instead
 * of a table lookup per open todo: 2.8 ms -> 0.1 ms for a room with 1,500
 * open todos (version 2 is the E2EE state, store_crypto.c).
 */
static const char schema_v3[] =
	"DROP INDEX records_room_kind_status;\n"
	"CREATE INDEX records_room_kind_status\n"
	"	ON records (room_id, kind, withdrawn, status, due);\n";

/*
 * Schema version 4: severity and created join the room/status index,
 * which then covers everything ORDER_DUE sorts by: ranking the owners
 * of a room's open todos (every digest, !todos) reads the index alone
 * instead of one table row per open todo: 4.8 ms -> 1.9 ms for a room
 * with 1,500 open todos. The prefix stays, so its other uses stay.
 */
static const char schema_v4[] =
	"DROP INDEX records_room_kind_status;\n"
	"CREATE INDEX records_room_kind_status\n"
	"	ON records (room_id, kind, withdrawn, status, due, severity,\n"
	"		created);\n";

/*
 * Schema version 5: the queued messages still in plaintext get their own
 * (partial) index. Before a batch of replies to encrypted rooms is sent,
 * store_outbox_to_encrypt looks for exactly those; without the index it
 * read the whole outbox, so a backlog of 10,000 queued replies cost
 * about 10 ms at each look.
 */
static const char schema_v5[] =
	"CREATE INDEX outbox_plain ON outbox (seq)\n"
	"	WHERE type != 'm.room.encrypted';\n";

/*
 * Schema version 6: every vote reaction is kept, not only the counted
 * one. Element shows each reaction until it is redacted, so after 👍,
 * 👎 and a redaction of the 👎 the 👍 still stands: votes holds the
 * latest reaction of each voter not redacted, vote_events all of them
 * (rowid order is arrival order).
 */
static const char schema_v6[] =
	"CREATE TABLE vote_events (\n"
	"	event_id TEXT PRIMARY KEY,\n"
	"	record INTEGER NOT NULL REFERENCES records (id),\n"
	"	user_id TEXT NOT NULL,\n"
	"	key TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX vote_events_voter ON vote_events (record, user_id);\n"
	/* An edit must come from the original's sender and never edit an
	 * edit (what Element shows): seen events keep who sent them and
	 * what they edit. A redaction takes back what its event changed:
	 * history is found by event. */
	"ALTER TABLE seen_events ADD COLUMN sender TEXT;\n"
	"ALTER TABLE seen_events ADD COLUMN edit_of TEXT;\n"
	"CREATE INDEX history_event ON history (event_id)\n"
	"	WHERE event_id IS NOT NULL;\n";

/*
 * Meetings as MeetBot keeps them: notes take the new kinds (ideas,
 * links, calls for help, Template A's objectives, requirements and
 * strategy lines, Template B's metrics, chairs, the notetaker, items
 * carried over from the room's previous meeting), can be withdrawn by
 * #undo (the time it happened; the row stays), and remember the newest
 * record id when they were written (after_record), which orders a note
 * among the records of its meeting for #undo. Attendees count the lines
 * they said and the time of the first (late arrivals). SQLite cannot
 * change a CHECK constraint in place: the notes table is built anew.
 */
static const char schema_meetbot[] =
	"CREATE TABLE notes_meetbot (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	meeting INTEGER NOT NULL REFERENCES records (id),\n"
	"	ts INTEGER NOT NULL,\n"
	"	author TEXT NOT NULL,\n"
	"	kind TEXT NOT NULL CONSTRAINT note_kind_valid CHECK (kind IN\n"
	"		('topic', 'info', 'idea', 'link', 'help', 'objective',\n"
	"		 'requirement', 'strategy', 'metric', 'chair', 'unchair',\n"
	"		 'notetaker', 'carry')),\n"
	"	text TEXT NOT NULL,\n"
	"	withdrawn INTEGER NOT NULL DEFAULT 0,\n"
	"	after_record INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"INSERT INTO notes_meetbot (id, meeting, ts, author, kind, text)\n"
	"	SELECT id, meeting, ts, author, kind, text FROM notes;\n"
	"DROP TABLE notes;\n"
	"ALTER TABLE notes_meetbot RENAME TO notes;\n"
	"CREATE INDEX notes_meeting ON notes (meeting, ts);\n"
	"ALTER TABLE attendees ADD COLUMN lines INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE attendees ADD COLUMN first_ts INTEGER NOT NULL DEFAULT 0;\n";

/* Migration n (1-based) takes a store from user_version n-1 to n. Only
 * ever append; a released script is never edited. */
static const char *const migrations[] = {
	schema_v1,
	store_schema_v2,
	schema_v3,
	schema_v4,
	schema_v5,
	schema_v6,
	schema_meetbot,
	store_schema_remind,
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- errors ---- */

sc_err store_rc_to_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return SC_EBUSY;
	case SQLITE_NOMEM:
		return SC_ENOMEM;
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return SC_EEXISTS;
		case SQLITE_CONSTRAINT_CHECK:
		case SQLITE_CONSTRAINT_NOTNULL:
			return SC_EINVAL;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return SC_ENOTFOUND; /* the referenced record */
		}
		return SC_ESTORE;
	}
	return SC_ESTORE;
}

sc_err store_dberr(struct store *st, int rc, const char *what)
{
	return store_fail(st, store_rc_to_err(rc), "%s: %s", what,
			  sqlite3_errmsg(st->db));
}

sc_err store_fail(struct store *st, sc_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

const char *store_errmsg(const struct store *st)
{
	return st->errmsg;
}

const char *store_library_version(void)
{
	return sqlite3_libversion();
}

sqlite3 *store_sqlite(struct store *st)
{
	return st->db;
}

/* ---- statements ---- */

sc_err store_stmt_get(struct store *st, const char *sql, sqlite3_stmt **out)
{
	int i, slot = -1, rc;
	sqlite3_stmt *s = NULL;

	for (i = 0; i < SQL_CACHE && st->sql_key[i] != sql; i++)
		if (slot < 0 && !st->sql_key[i])
			slot = i;
	if (i < SQL_CACHE && !st->sqlc[i].busy) {
		st->sqlc[i].busy = 1;
		*out = st->sqlc[i].stmt;
		return SC_OK;
	}
	if (i < SQL_CACHE)
		slot = -1; /* busy further up the stack: a private copy */
	rc = sqlite3_prepare_v3(st->db, sql, -1,
				slot >= 0 ? SQLITE_PREPARE_PERSISTENT : 0, &s,
				NULL);
	if (rc != SQLITE_OK)
		return store_dberr(st, rc, "cannot prepare statement");
	if (slot >= 0) {
		st->sql_key[slot] = sql;
		st->sqlc[slot].stmt = s;
		st->sqlc[slot].busy = 1;
	}
	*out = s;
	return SC_OK;
}

void store_slots_put(struct slot *slots, int n, sqlite3_stmt *s)
{
	for (int i = 0; s && i < n; i++) {
		if (slots[i].stmt == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			slots[i].busy = 0;
			return;
		}
	}
	sqlite3_finalize(s);
}

void store_stmt_put(struct store *st, sqlite3_stmt *s)
{
	store_slots_put(st->sqlc, SQL_CACHE, s);
}

sc_err store_step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return SC_OK;
	if (rc == SQLITE_ROW)
		return store_fail(st, SC_ESTORE, "%s: unexpected row", what);
	return store_dberr(st, rc, what);
}

sc_err store_step_ref(struct store *st, sqlite3_stmt *s, int rc,
		      const char *of, int64_t id, const char *what)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return store_fail(st, SC_ENOTFOUND, "no %s %lld", of,
				  (long long)id);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, what);
	return SC_OK;
}

/* Run a parameterless statement. */
static sc_err run(struct store *st, const char *sql, const char *what)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql, &s);

	if (!err)
		err = store_step_done(st, s, what);
	store_stmt_put(st, s);
	return err;
}

sc_err store_run_ints(struct store *st, const char *sql, const int64_t *v,
		      int n, const char *what)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql, &s);
	int rc = SQLITE_OK;

	if (err)
		goto out;
	for (int i = 0; i < n && rc == SQLITE_OK; i++)
		rc = store_bind_int(s, i + 1, v[i]);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, what);
		goto out;
	}
	err = store_step_done(st, s, what);
out:
	store_stmt_put(st, s);
	return err;
}

sc_err store_run_id(struct store *st, const char *sql, int64_t v,
		    const char *what)
{
	return store_run_ints(st, sql, &v, 1, what);
}

sc_err store_run_str(struct store *st, const char *sql, const char *v,
		     const char *what, int *changes)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_str(s, 1, v);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, what);
		goto out;
	}
	err = store_step_done(st, s, what);
	if (!err && changes)
		*changes = sqlite3_changes(st->db);
out:
	store_stmt_put(st, s);
	return err;
}

sc_err store_stmt_int(struct store *st, const char *sql, const char *what,
		      int64_t *out)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql, &s);
	int rc;

	if (err)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		err = store_dberr(st, rc, what);
out:
	store_stmt_put(st, s);
	return err;
}

sc_err store_col_dup(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *t;
	char *copy;

	if (sqlite3_column_type(s, i) == SQLITE_NULL) {
		*out = NULL;
		return SC_OK;
	}
	t = sqlite3_column_text(s, i);
	if (!t)
		return SC_ENOMEM;
	copy = strdup((const char *)t);
	if (!copy)
		return SC_ENOMEM;
	*out = copy;
	return SC_OK;
}

char *store_col_copy(sqlite3_stmt *s, int i, int *oom)
{
	char *v = NULL;

	if (store_col_dup(s, i, &v))
		*oom = 1;
	return v;
}

/* ---- open, close, migrations ---- */

sc_err store_exec(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return SC_OK;
	return store_fail(st, store_rc_to_err(rc), "%s",
			  sqlite3_errmsg(st->db));
}

static const char sql_user_version[] = "PRAGMA user_version";

/* PRAGMA user_version, or an error. */
static sc_err user_version(struct store *st, int *out)
{
	int64_t v = 0;
	sc_err err = store_stmt_int(st, sql_user_version,
				    "cannot read schema version", &v);

	*out = (int)v;
	return err;
}

static sc_err too_new(struct store *st, int ver)
{
	return store_fail(st, SC_ESTORE,
			  "its schema version %d is newer than this scribe "
			  "understands (%d); upgrade scribe",
			  ver, NMIGRATIONS);
}

/* Bring the schema to NMIGRATIONS, one transaction for all steps. */
static sc_err migrate(struct store *st)
{
	char sql[64];
	int ver = 0;
	sc_err err = user_version(st, &ver);

	if (err)
		return err;
	if (ver > NMIGRATIONS)
		return too_new(st, ver);
	if (ver == NMIGRATIONS)
		return SC_OK;
	err = store_exec(st, "BEGIN IMMEDIATE");
	if (err)
		return err;
	/* Another process may have migrated while we waited for the lock. */
	err = user_version(st, &ver);
	if (!err && ver > NMIGRATIONS)
		err = too_new(st, ver);
	for (; !err && ver < NMIGRATIONS; ver++) {
		err = store_exec(st, migrations[ver]);
		if (err) {
			char why[sizeof(st->errmsg)];

			snprintf(why, sizeof(why), "%s", st->errmsg);
			store_fail(st, err, "migration %d failed: %s", ver + 1,
				   why);
			break;
		}
		/* An integer of ours, not data: nothing to bind. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", ver + 1);
		err = store_exec(st, sql);
	}
	if (!err)
		err = store_exec(st, "COMMIT");
	if (err)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* WAL lets the bot and the CLI read while the other writes; NORMAL
 * sync is durable across application crashes in WAL mode and loses at
 * most the last transactions on power loss. */
static sc_err use_wal(struct store *st)
{
	sqlite3_stmt *s = NULL;
	const char *mode;
	int rc;
	sc_err err = SC_OK;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		err = store_fail(st, store_rc_to_err(rc), "%s",
				 sqlite3_errmsg(st->db));
		goto out;
	}
	mode = store_col_str(s, 0);
	if (!mode || strcasecmp(mode, "wal") != 0)
		log_warn("store: journal mode is '%s', not wal",
			 mode ? mode : "?");
	else
		err = store_exec(st, "PRAGMA synchronous = NORMAL");
out:
	sqlite3_finalize(s);
	return err;
}

/*
 * The folder a store file goes into (path's directory part, "." for
 * none) into dir. A missing folder whose parent exists is made here, as
 * a fresh install needs (/var/lib/scribe under /var/lib), with the
 * process's umask (main.c: 0700, or 0750 with [store] group). 1 when
 * the folder is there now.
 */
static int store_folder(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	struct stat sb;
	char *p;

	if (!slash) {
		snprintf(dir, size, ".");
		return 1;
	}
	snprintf(dir, size, "%.*s", (int)(slash - path > 0 ? slash - path : 1), path);
	if (!stat(dir, &sb))
		return S_ISDIR(sb.st_mode);
	if (errno != ENOENT)
		return 1; /* there, maybe, but shut: store_denied says */
	snprintf(parent, sizeof(parent), "%s", dir);
	p = strrchr(parent, '/');
	if (p)
		*(p == parent ? p + 1 : p) = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	if (stat(parent, &sb) || !S_ISDIR(sb.st_mode) || mkdir(dir, 0777) != 0)
		return 0;
	log_info("created the folder '%s' for the store", dir);
	return 1;
}

/*
 * The first folder on the way to dir, from the top ("/a", "/a/b"; for a
 * relative dir "." first), that this process may not enter, into out:
 * 1 when there is one. Past it nothing can be told, so it is the one to
 * name.
 */
static int store_shut_folder(const char *dir, char *out, size_t size)
{
	size_t n = strlen(dir);

	if (dir[0] != '/' && faccessat(AT_FDCWD, ".", X_OK, AT_EACCESS) &&
	    (errno == EACCES || errno == EPERM))
		return snprintf(out, size, ".") > 0;
	snprintf(out, size, "%s", dir);
	for (size_t i = 1; i <= n && i < size; i++) {
		char c = out[i];

		if (c && c != '/')
			continue;
		out[i] = '\0';
		if (faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) &&
		    (errno == EACCES || errno == EPERM))
			return 1;
		out[i] = c;
	}
	return 0;
}

/*
 * Whose permission is missing when SQLite could not open or write the
 * store at path in the folder dir: it says only "unable to open
 * database file" or "attempt to write a readonly database", but the
 * store writes its file and, for the journal files beside it (-wal,
 * -shm), its folder. "permission denied on '/x'" into why and 1; 0
 * when this process may write both (the reason is another).
 */
static int store_denied(const char *path, const char *dir, char *why,
			size_t size)
{
	char full[PATH_MAX], shut[PATH_MAX];
	const char *on = dir;
	int e;

	if (store_shut_folder(dir, shut, sizeof(shut))) {
		on = shut;
		errno = EACCES;
	} else if (!faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS)) {
		if (!faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) ||
		    errno == ENOENT)
			return 0;
		on = path;
	}
	e = errno;
	if (e != EACCES && e != EPERM && e != EROFS)
		return 0;
	/* "." of `--store scribe.db` said as the folder it is */
	if (on[0] != '/' && realpath(on, full))
		on = full;
	/* a long path may be cut short: the message stays a message */
	return snprintf(why, size, "%s on '%s'",
			e == EROFS ? "read-only file system" : "permission denied",
			on) > 0;
}

sc_err store_open(const char *path, struct store **out)
{
	struct store *st;
	char dir[PATH_MAX];
	int rc, memory, local, folder = 1;
	sc_err err;

	if (!path) {
		log_error("cannot open store: no path");
		return SC_EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return SC_ENOMEM;
	memory = !strcmp(path, ":memory:") || !*path;
	local = !memory && strncmp(path, "file:", 5);
	if (local)
		folder = store_folder(path, dir, sizeof(dir));
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (!st->db) {
		err = SC_ENOMEM;
		store_fail(st, err, "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (rc != SQLITE_OK && !folder) {
		/* say which folder is missing and how to make it */
		err = store_fail(st, store_rc_to_err(rc),
				 "%s: the folder '%s' does not exist (create "
				 "it with mkdir -p '%s' as the user scribe "
				 "runs as, or set [store] path)",
				 sqlite3_errmsg(st->db), dir, dir);
		goto out;
	}
	if (rc != SQLITE_OK) {
		err = store_fail(st, store_rc_to_err(rc), "%s",
				 sqlite3_errmsg(st->db));
		goto out;
	}
	rc = sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (rc != SQLITE_OK) {
		err = store_fail(st, store_rc_to_err(rc), "%s",
				 sqlite3_errmsg(st->db));
		goto out;
	}
	/* The default 2 MiB page cache thrashes on a large store: every
	 * row of a query is a random table page. A bigger cache plus
	 * memory-mapped reads keep the hot queries in memory without a
	 * read() per page (the store is only ever on a local disk). */
	err = store_exec(st, "PRAGMA foreign_keys = ON");
	if (!err)
		err = store_exec(st, "PRAGMA cache_size = -32768");

	if (!err && !memory)
		err = store_exec(st, "PRAGMA mmap_size = 268435456");
	if (!err && !memory)
		err = use_wal(st);
	if (!err)
		err = migrate(st);
out:
	if (err) {
		char why[sizeof(st->errmsg)];
		int last = st->db ? sqlite3_extended_errcode(st->db) & 0xff : 0;

		if (!local || !folder ||
		    (last != SQLITE_CANTOPEN && last != SQLITE_READONLY &&
		     last != SQLITE_PERM) ||
		    !store_denied(path, dir, why, sizeof(why)))
			snprintf(why, sizeof(why), "%s", st->errmsg);
		store_fail(st, err, "cannot open store '%s': %s", path, why);
		/* No handle leaves on failure, so say it here. */
		log_error("%s", st->errmsg);
		store_close(st);
		return err;
	}
	*out = st;
	return SC_OK;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < QUERY_CACHE; i++)
		sqlite3_finalize(st->query[i].stmt);
	for (int i = 0; i < SQL_CACHE; i++)
		sqlite3_finalize(st->sqlc[i].stmt);
	if (st->tok)
		st->tok_api.xDelete(st->tok);
	if (st->depth)
		log_warn("store: closed inside a transaction; rolled back");
	free(st->fts_pending);
	/* sqlite3_close_v2 rolls back an open transaction. */
	if (st->db && sqlite3_close_v2(st->db) != SQLITE_OK)
		log_warn("store: cannot close: %s", sqlite3_errmsg(st->db));
	free(st);
}

int store_schema_version(struct store *st)
{
	int ver = -1;

	if (user_version(st, &ver))
		return -1;
	return ver;
}

int store_schema_latest(void)
{
	return NMIGRATIONS;
}

sc_err store_temp_in_memory(struct store *st)
{
	return store_exec(st, "PRAGMA temp_store = MEMORY");
}

sc_err store_data_version(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &s, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK
		   ? SC_OK
		   : store_dberr(st, rc, "cannot read data_version");
}

/* ---- transactions ---- */

/*
 * Level 1 is BEGIN IMMEDIATE ... COMMIT, deeper levels are savepoints
 * (all named "sc": RELEASE and ROLLBACK TO act on the innermost). If
 * SQLite itself rolled the whole transaction back after an error,
 * sqlite3_get_autocommit() says so: the levels still open can then
 * only be rolled back, never committed.
 */
static int tx_lost(struct store *st)
{
	return st->depth > 0 && sqlite3_get_autocommit(st->db);
}

/* IMMEDIATE: take the write lock up front, so a batch that reads
 * and then writes waits on the busy timeout instead of failing
 * with SQLITE_BUSY_SNAPSHOT when the CLI wrote in between. */
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_savepoint[] = "SAVEPOINT sc";
static const char sql_release[] = "RELEASE sc";
static const char sql_rollback_to[] = "ROLLBACK TO sc";

sc_err store_tx_begin(struct store *st)
{
	sc_err err;

	if (tx_lost(st))
		return store_fail(st, SC_ESTORE,
				  "cannot begin transaction: the "
				  "enclosing one was rolled back by an error");
	err = run(st, st->depth ? sql_savepoint : sql_begin,
		  "cannot begin transaction");
	if (!err)
		st->depth++;
	return err;
}

sc_err store_tx_commit(struct store *st)
{
	sc_err err;

	if (!st->depth)
		return store_fail(st, SC_ESTATE,
				  "cannot commit: no transaction");
	if (tx_lost(st))
		return store_fail(st, SC_ESTORE,
				  "cannot commit: the transaction "
				  "was rolled back by an error");
	/* On failure the level stays open for store_tx_rollback. */
	err = st->depth == 1 && st->fts_n ? store_fts_flush(st) : SC_OK;
	if (!err)
		err = run(st, st->depth == 1 ? sql_commit : sql_release,
			  "cannot commit transaction");
	if (!err)
		st->depth--;
	return err;
}

sc_err store_tx_rollback(struct store *st)
{
	sc_err err = SC_OK;

	if (!st->depth)
		return store_fail(st, SC_ESTATE,
				  "cannot roll back: no transaction");
	if (st->depth == 1)
		st->fts_n = 0; /* the records are gone */
	if (tx_lost(st)) {
		st->depth--;
		return SC_OK;
	}
	if (st->depth == 1) {
		err = run(st, sql_rollback, "cannot roll back transaction");
	} else {
		/* ROLLBACK TO keeps the savepoint open; RELEASE ends it. */
		err = run(st, sql_rollback_to, "cannot roll back transaction");
		if (!err)
			err = run(st, sql_release,
				  "cannot roll back transaction");
	}
	if (!err)
		st->depth--;
	return err;
}

/* Internal atomic steps end here: commit on success, else undo. The
 * first error's message is the one that stays. */
sc_err store_tx_end(struct store *st, sc_err err)
{
	char why[sizeof(st->errmsg)];

	if (!err)
		err = store_tx_commit(st);
	if (!err)
		return SC_OK;
	snprintf(why, sizeof(why), "%s", st->errmsg);
	if (store_tx_rollback(st))
		log_error("store: %s", st->errmsg);
	snprintf(st->errmsg, sizeof(st->errmsg), "%s", why);
	return err;
}

int store_in_tx(const struct store *st)
{
	return st->depth > 0;
}
