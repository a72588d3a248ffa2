/* SPDX-License-Identifier: MIT */
/*
 * store.c - the durable record in one SQLite file: the schema and its
 * forward-only migrations, records with their append-only history and
 * full-text index, and the small tables of the bot's state (rooms,
 * members, meeting notes, kv, outbox, reply links, seen events). This is
 * the only file of scribe that includes <sqlite3.h>; store.h is the
 * contract. Every statement is prepared with bound parameters; the hot
 * ones are prepared once and cached, and record queries are assembled
 * from constant fragments chosen by which fields of the query are set, so
 * no text from chat ever becomes SQL (or FTS5 query syntax).
 */
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "log.h"
#include "sbuf.h"
#include "store.h"
#include "store_int.h"
#include "utf8.h"
#include "banned.h"

/* How long a writer waits for the other process (bot or CLI). */
#define STORE_BUSY_MS 5000
/* Record queries of distinct shapes kept prepared at once. */
#define QUERY_CACHE 16
#define SQL_CACHE 96 /* statements of the store's other files (store_int.h) */
/* Longest full-text query we build from a user's words. */
#define MATCH_MAX 8192
/* Separator of the assignee and tag lists read in one SELECT: a control
 * character, which store_record_add never lets into a user id or tag. */
#define LIST_SEP '\x1f'

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
 * content is the view records_search; store.c keeps it in sync
 * explicitly: record_add inserts the row once all tags are written, and
 * record_update deletes the old row (read from the same view, so the
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

/* The fixed statements, prepared on first use and kept until close. */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_USER_VERSION,
	S_NEXT_NUM,
	S_RECORDS_MOVE,
	S_REC_INSERT,
	S_REC_UPDATE,
	S_ASSIGNEE_ADD,
	S_ASSIGNEE_CLEAR,
	S_TAG_ADD,
	S_TAG_CLEAR,
	S_FTS_INSERT,
	S_FTS_DELETE,
	S_HISTORY_ADD,
	S_GET_NUM,
	S_GET_ID,
	S_GET_EVENT,
	S_HISTORY,
	S_HISTORY_EVENT,
	S_VOTE_ADD,
	S_VOTE_DEL_EVENT,
	S_VOTE_EVENT_ADD,
	S_VOTE_EVENT_FIND,
	S_VOTE_EVENT_DEL,
	S_VOTE_DEL_VOTER,
	S_VOTE_RESTORE,
	S_REPLY_LINK,
	S_FOR_EVENT,
	S_ROOM_GET,
	S_ROOM_PUT,
	S_ROOMS,
	S_MEMBER_PUT,
	S_MEMBER_POWER_ALL,
	S_MEMBER_POWER,
	S_MEMBER_SPOKE,
	S_MEMBER_GET,
	S_MEMBERS,
	S_MEMBER_FULL,
	S_MEMBER_NAME,
	S_NOTE_ADD,
	S_NOTES,
	S_NOTE_WITHDRAW,
	S_ATTENDEE_ADD,
	S_ATTENDEES,
	S_ATTENDEE_LINE,
	S_ATTENDANCE,
	S_ATTENDANCE_LINES,
	S_KV_GET,
	S_KV_PUT,
	S_KV_DEL,
	S_OUTBOX_ADD,
	S_OUTBOX_REPLACE,
	S_OUTBOX_PENDING,
	S_OUTBOX_GET,
	S_OUTBOX_DEL,
	S_OUTBOX_LAST,
	S_EVENT_SEEN,
	S_EVENTS_PRUNE,
	S_EVENT_EDIT,
	S_EVENT_GET,
	S_STATS,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	/* IMMEDIATE: take the write lock up front, so a batch that reads
	 * and then writes waits on the busy timeout instead of failing
	 * with SQLITE_BUSY_SNAPSHOT when the CLI wrote in between. */
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT sc",
	[S_RELEASE] = "RELEASE sc",
	[S_ROLLBACK_TO] = "ROLLBACK TO sc",
	[S_USER_VERSION] = "PRAGMA user_version",
	[S_RECORDS_MOVE] = "UPDATE records SET room_id = ?2 WHERE room_id = ?1",
	[S_NEXT_NUM] = "SELECT coalesce(max(num), 0) + 1 FROM records "
		       "WHERE kind = ?1",
	[S_REC_INSERT] =
		"INSERT INTO records (kind, num, room_id, author, event_id, "
		"text, detail, status, severity, due, created, updated, "
		"closed, meeting, superseded_by, withdrawn) VALUES (?1, ?2, "
		"?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
		"?16)",
	[S_REC_UPDATE] =
		"UPDATE records SET status = ?2, text = ?3, detail = ?4, "
		"severity = ?5, due = ?6, closed = ?7, superseded_by = ?8, "
		"withdrawn = ?9, updated = ?10 WHERE id = ?1",
	[S_ASSIGNEE_ADD] = "INSERT OR IGNORE INTO assignees (record, pos, "
			   "user_id) VALUES (?1, ?3, ?2)",
	[S_ASSIGNEE_CLEAR] = "DELETE FROM assignees WHERE record = ?1",
	[S_TAG_ADD] = "INSERT OR IGNORE INTO tags (record, pos, tag) "
		      "VALUES (?1, ?3, ?2)",
	[S_TAG_CLEAR] = "DELETE FROM tags WHERE record = ?1",
	[S_FTS_INSERT] = "INSERT INTO records_fts (rowid, text, detail, tags) "
			 "SELECT id, text, detail, tags FROM records_search "
			 "WHERE id BETWEEN ?1 AND ?2",
	[S_FTS_DELETE] = "INSERT INTO records_fts (records_fts, rowid, text, "
			 "detail, tags) SELECT 'delete', id, text, detail, "
			 "tags FROM records_search WHERE id = ?1",
	[S_HISTORY_ADD] = "INSERT INTO history (record, ts, actor, field, "
			  "old, new, event_id) VALUES (?1, ?2, ?3, ?4, ?5, "
			  "?6, ?7)",
	[S_GET_NUM] = "SELECT " RECORD_COLS " FROM records r "
		      "WHERE r.kind = ?1 AND r.num = ?2",
	[S_GET_ID] = "SELECT " RECORD_COLS " FROM records r WHERE r.id = ?1",
	[S_GET_EVENT] = "SELECT " RECORD_COLS " FROM records r "
			"WHERE r.event_id = ?1",
	[S_HISTORY] = "SELECT record, ts, actor, field, old, new, event_id "
		      "FROM history WHERE record = ?1 ORDER BY id",
	[S_HISTORY_EVENT] = "SELECT record, ts, actor, field, old, new, "
			    "event_id FROM history WHERE event_id = ?1 "
			    "ORDER BY id",
	[S_VOTE_ADD] = "INSERT INTO votes (record, user_id, key, event_id) "
		       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (record, user_id) "
		       "DO UPDATE SET key = excluded.key, "
		       "event_id = excluded.event_id",
	[S_VOTE_DEL_EVENT] = "DELETE FROM votes WHERE event_id = ?1",
	[S_VOTE_EVENT_ADD] = "INSERT OR IGNORE INTO vote_events (event_id, "
			     "record, user_id, key) VALUES (?4, ?1, ?2, ?3)",
	[S_VOTE_EVENT_FIND] = "SELECT record, user_id FROM vote_events "
			      "WHERE event_id = ?1",
	[S_VOTE_EVENT_DEL] = "DELETE FROM vote_events WHERE event_id = ?1",
	[S_VOTE_DEL_VOTER] = "DELETE FROM votes WHERE record = ?1 AND "
			     "user_id = ?2",
	[S_VOTE_RESTORE] = "INSERT INTO votes (record, user_id, key, event_id) "
			   "SELECT record, user_id, key, event_id FROM "
			   "vote_events WHERE record = ?1 AND user_id = ?2 "
			   "ORDER BY rowid DESC LIMIT 1",
	[S_REPLY_LINK] = "INSERT INTO reply_links (event_id, record) "
			 "VALUES (?1, ?2) ON CONFLICT (event_id) "
			 "DO UPDATE SET record = excluded.record",
	/* A reply link wins over the command's own event. */
	[S_FOR_EVENT] = "SELECT record FROM reply_links WHERE event_id = ?1 "
			"UNION ALL SELECT id FROM records WHERE event_id = ?1 "
			"LIMIT 1",
	[S_ROOM_GET] = "SELECT room_id, tz, digest_minute, digest_days, "
		       "last_digest, joined_at, meeting, encrypted, name "
		       "FROM rooms WHERE room_id = ?1",
	[S_ROOM_PUT] = "INSERT INTO rooms (room_id, tz, digest_minute, "
		       "digest_days, last_digest, joined_at, meeting, "
		       "encrypted, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		       "?8, ?9) ON CONFLICT (room_id) DO UPDATE SET "
		       "tz = excluded.tz, "
		       "digest_minute = excluded.digest_minute, "
		       "digest_days = excluded.digest_days, "
		       "last_digest = excluded.last_digest, "
		       "joined_at = excluded.joined_at, "
		       "meeting = excluded.meeting, "
		       "encrypted = excluded.encrypted, name = excluded.name",
	[S_ROOMS] = "SELECT room_id, tz, digest_minute, digest_days, "
		    "last_digest, joined_at, meeting, encrypted, name "
		    "FROM rooms WHERE joined_at != 0 ORDER BY room_id",
	[S_MEMBER_PUT] = "INSERT INTO members (room_id, user_id, "
			 "display_name, membership, power) VALUES (?1, ?2, "
			 "?3, ?4, ?5) ON CONFLICT (room_id, user_id) DO "
			 "UPDATE SET display_name = excluded.display_name, "
			 "membership = excluded.membership, "
			 "power = excluded.power",
	[S_MEMBER_POWER_ALL] = "UPDATE members SET power = ?2 "
			       "WHERE room_id = ?1",
	[S_MEMBER_POWER] = "UPDATE members SET power = ?3 "
			   "WHERE room_id = ?1 AND user_id = ?2",
	/* max(): back-filled messages arrive out of order. */
	[S_MEMBER_SPOKE] = "UPDATE members SET last_spoke = "
			   "max(last_spoke, ?3) "
			   "WHERE room_id = ?1 AND user_id = ?2",
	[S_MEMBER_GET] = "SELECT user_id, display_name, membership, power, "
			 "last_spoke FROM members "
			 "WHERE room_id = ?1 AND user_id = ?2",
	[S_MEMBERS] = "SELECT user_id, display_name, membership, power, "
		      "last_spoke FROM members WHERE room_id = ?1 AND "
		      "(membership = 'join' OR "
		      "(?2 AND membership = 'invite')) ORDER BY user_id",
	[S_MEMBER_FULL] = "SELECT user_id, user_id = ?2 FROM members "
			  "WHERE room_id = ?1 AND membership = 'join' AND "
			  "user_id = ?2 COLLATE NOCASE ORDER BY user_id",
	/* Members whose localpart (between '@' and the first ':') or
	 * display name starts with ?2, ignoring ASCII case; column 1 says
	 * whether it is all of it. */
	[S_MEMBER_NAME] = "SELECT user_id, lp = ?2 COLLATE NOCASE OR "
			  "display_name = ?2 COLLATE NOCASE FROM (SELECT "
			  "user_id, display_name, substr(user_id, 2, "
			  "instr(user_id, ':') - 2) AS lp FROM members "
			  "WHERE room_id = ?1 AND membership = 'join') "
			  "WHERE substr(lp, 1, length(?2)) = ?2 COLLATE NOCASE "
			  "OR substr(display_name, 1, length(?2)) = ?2 "
			  "COLLATE NOCASE ORDER BY user_id",
	[S_NOTE_ADD] = "INSERT INTO notes (meeting, ts, author, kind, text, "
		       "after_record) VALUES (?1, ?2, ?3, ?4, ?5, "
		       "(SELECT coalesce(max(id), 0) FROM records))",
	[S_NOTES] = "SELECT ts, author, kind, text, id, withdrawn, "
		    "after_record FROM notes WHERE meeting = ?1 "
		    "ORDER BY ts, id",
	[S_NOTE_WITHDRAW] = "UPDATE notes SET withdrawn = ?2 "
			    "WHERE id = ?1 AND withdrawn = 0",
	[S_ATTENDEE_ADD] = "INSERT OR IGNORE INTO attendees (meeting, "
			   "user_id) VALUES (?1, ?2)",
	[S_ATTENDEES] = "SELECT user_id FROM attendees WHERE meeting = ?1 "
			"ORDER BY rowid",
	[S_ATTENDEE_LINE] = "INSERT INTO attendees (meeting, user_id, lines, "
			    "first_ts) VALUES (?1, ?2, 1, ?3) ON CONFLICT "
			    "(meeting, user_id) DO UPDATE SET lines = lines + 1, "
			    "first_ts = CASE WHEN first_ts = 0 THEN "
			    "excluded.first_ts ELSE first_ts END",
	[S_ATTENDANCE] = "SELECT user_id, lines, first_ts FROM attendees "
			 "WHERE meeting = ?1 ORDER BY rowid",
	[S_ATTENDANCE_LINES] = "SELECT user_id, lines, first_ts FROM attendees "
			       "WHERE meeting = ?1 ORDER BY lines DESC, rowid",
	[S_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
	[S_KV_PUT] = "INSERT INTO kv (key, value) VALUES (?1, ?2) "
		     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[S_KV_DEL] = "DELETE FROM kv WHERE key = ?1",
	[S_OUTBOX_ADD] = "INSERT INTO outbox (txn_id, room_id, type, "
			 "content, record) VALUES (?1, ?2, ?3, ?4, ?5) "
			 "ON CONFLICT (txn_id) DO NOTHING",
	[S_OUTBOX_REPLACE] = "UPDATE outbox SET type = ?2, content = ?3 "
			     "WHERE seq = ?1",
	[S_OUTBOX_PENDING] = "SELECT o.seq, o.txn_id, o.room_id, o.type, "
			     "o.content, o.record, coalesce(r.encrypted, 0) "
			     "FROM outbox o LEFT JOIN rooms r "
			     "ON r.room_id = o.room_id ORDER BY o.seq LIMIT ?1",
	[S_OUTBOX_GET] = "SELECT record FROM outbox WHERE seq = ?1",
	[S_OUTBOX_DEL] = "DELETE FROM outbox WHERE seq = ?1",
	[S_OUTBOX_LAST] = "SELECT coalesce(max(seq), 0) FROM outbox",
	[S_EVENT_SEEN] = "INSERT INTO seen_events (event_id, ts, sender) "
			 "VALUES (?1, ?2, ?3) ON CONFLICT (event_id) DO NOTHING",
	[S_EVENT_EDIT] = "UPDATE seen_events SET edit_of = ?2 WHERE event_id = ?1",
	[S_EVENT_GET] = "SELECT sender, edit_of FROM seen_events WHERE event_id = ?1",
	[S_EVENTS_PRUNE] = "DELETE FROM seen_events WHERE ts < ?1",
	[S_STATS] = "SELECT room_id, kind, count(*) FROM records "
		    "GROUP BY room_id, kind ORDER BY room_id, kind",
};

/*
 * Record queries: one constant fragment per field of struct rec_query.
 * Values are always bound to the named parameters; the set of fragments
 * (plus order, plus count-or-rows) is the shape that keys the cache.
 */
enum qfrag {
	QF_KIND,
	QF_KINDS,
	QF_ROOM,
	QF_ROOM_SCAN,
	QF_STATUS,
	QF_OPEN,
	QF_ASSIGNEE,
	QF_ASSIGNEE_ROOM,
	QF_AUTHOR,
	QF_TAG,
	QF_TERMS,
	QF_SINCE,
	QF_UNTIL,
	QF_CHANGED,
	QF_OVERDUE,
	QF_MEETING,
	QF_LIVE,
	QF_N
};

static const char *const qfrag_sql[QF_N] = {
	/* One kind is an equality, so records_room_kind_created can
	 * deliver rows in order; several bind 5 slots (repeating kinds)
	 * so the fragment stays a constant. */
	[QF_KIND] = " AND r.kind = :k0",
	[QF_KINDS] = " AND r.kind IN (:k0, :k1, :k2, :k3, :k4, :k5)",
	[QF_ROOM] = " AND r.room_id = :room",
	/* With search terms the FTS match must drive the query: a room
	 * index would walk every record of the room to test membership
	 * (unary + keeps SQLite from using an index for the term). */
	[QF_ROOM_SCAN] = " AND +r.room_id = :room",
	[QF_STATUS] = " AND r.status = :status",
	/* The statuses are distinct per kind (CHECK status_valid), so one
	 * list says "todo open, decision proposed|accepted, incident
	 * open, meeting running" and no change is ever open. */
	[QF_OPEN] = " AND r.status IN ('open', 'proposed', 'accepted', "
		    "'running', 'pending')",
	/* Across rooms the person's assignments drive the query; inside
	 * one room its index does and each candidate is checked against
	 * the record's few assignees: a person's assignments grow forever
	 * (29,000 rows in the 1M-record benchmark, 21 ms), a room's open
	 * items stay what a team works on (1,500 there, 0.7 ms). */
	[QF_ASSIGNEE] = " AND r.id IN (SELECT record FROM assignees "
			"WHERE user_id = :assignee)",
	[QF_ASSIGNEE_ROOM] = " AND EXISTS (SELECT 1 FROM assignees a "
			     "WHERE a.record = r.id AND a.user_id = :assignee)",
	[QF_AUTHOR] = " AND r.author = :author",
	[QF_TAG] = " AND r.id IN (SELECT record FROM tags WHERE tag = :tag)",
	[QF_TERMS] = " AND r.id IN (SELECT rowid FROM records_fts "
		     "WHERE records_fts MATCH :terms)",
	[QF_SINCE] = " AND r.created >= :since",
	[QF_UNTIL] = " AND r.created < :until",
	/* Same expression as records_room_changed, or it is not used. */
	[QF_CHANGED] = " AND max(r.created, r.updated) >= :changed",
	[QF_OVERDUE] = " AND r.kind = 'todo' AND r.status = 'open' "
		       "AND r.due < :overdue",
	[QF_MEETING] = " AND r.meeting = :meeting",
	[QF_LIVE] = " AND r.withdrawn = 0",
};

/* What a record query returns (the `count` argument of the query_*
 * functions): the records, their number, or their distinct assignees. */
enum { Q_RECORDS = 0, Q_COUNT = 1, Q_ASSIGNEES = 2, Q_NAMES = 3 };

static const char *const order_sql[] = {
	[ORDER_NEWEST] = " ORDER BY r.created DESC, r.id DESC",
	[ORDER_OLDEST] = " ORDER BY r.created, r.id",
	/* critical first; then by due with none (NULL) last; oldest */
	[ORDER_DUE] = " ORDER BY r.severity IS NOT 'critical', "
		      "r.due IS NULL, r.due, r.created, r.id",
};

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
	struct slot fixed[S_COUNT];
	struct slot query[QUERY_CACHE];
	unsigned qnext; /* next query slot to evict */
	struct slot sqlc[SQL_CACHE]; /* key unused: sql_key holds the SQL */
	const char *sql_key[SQL_CACHE];
	fts5_tokenizer tok_api;
	Fts5Tokenizer *tok; /* for search terms; NULL until first used */
	/* Records added in the open transaction, not yet in records_fts
	 * (see fts_defer). */
	int64_t *fts_pending;
	size_t fts_n, fts_cap;
	/* A fixed array, not an sbuf: recording an error must not fail. */
	char errmsg[512];
};

static const char kind_prefix[REC_NKINDS] = { 'T', 'D', 'C', 'M', 'I', 'R' };
static const char *const kind_names[REC_NKINDS] = {
	"todo", "decision", "change", "meeting", "incident", "reminder"
};

/* ---- record helpers (no database) ---- */

char rec_kind_prefix(enum rec_kind k)
{
	return (unsigned)k < REC_NKINDS ? kind_prefix[k] : '?';
}

const char *rec_kind_name(enum rec_kind k)
{
	return (unsigned)k < REC_NKINDS ? kind_names[k] : "record";
}

sc_err rec_kind_parse(const char *s, enum rec_kind *out)
{
	size_t n;

	if (!s)
		return SC_EINVAL;
	n = strlen(s);
	for (int k = 0; k < REC_NKINDS; k++) {
		size_t kn = strlen(kind_names[k]);

		if (n < kn || strncasecmp(s, kind_names[k], kn) != 0)
			continue;
		if (n == kn ||
		    (n == kn + 1 && (s[kn] == 's' || s[kn] == 'S'))) {
			*out = (enum rec_kind)k;
			return SC_OK;
		}
	}
	return SC_EINVAL;
}

sc_err rec_id_parse(const char *s, enum rec_kind *kind, int64_t *num)
{
	int64_t n = 0;
	int k;

	if (!s || !s[0] || !s[1])
		return SC_EINVAL;
	for (k = 0; k < REC_NKINDS; k++)
		if ((s[0] & ~0x20) == kind_prefix[k])
			break;
	if (k == REC_NKINDS)
		return SC_EINVAL;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return SC_EINVAL;
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return SC_EINVAL;
		n = n * 10 + (*p - '0');
	}
	if (n <= 0)
		return SC_EINVAL;
	*kind = (enum rec_kind)k;
	*num = n;
	return SC_OK;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void record_clear(struct record *r)
{
	free(r->room_id);
	free(r->author);
	free(r->event_id);
	free(r->text);
	free(r->detail);
	free(r->status);
	free(r->severity);
	strv_free(r->assignees, r->nassignees);
	strv_free(r->tags, r->ntags);
	memset(r, 0, sizeof(*r));
}

void record_short_id(const struct record *r, char *buf, size_t size)
{
	snprintf(buf, size, "%c%lld", rec_kind_prefix(r->kind),
		 (long long)r->num);
}

sc_err record_set(char **field, const char *s)
{
	char *copy = NULL;

	if (s) {
		copy = strdup(s);
		if (!copy)
			return SC_ENOMEM;
	}
	free(*field);
	*field = copy;
	return SC_OK;
}

/* Append a copy of s to the list v/n unless it is already there. */
static sc_err strv_add_unique(char ***v, size_t *n, const char *s)
{
	char **grown, *copy;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return SC_OK;
	copy = strdup(s);
	if (!copy)
		return SC_ENOMEM;
	grown = realloc(*v, (*n + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return SC_ENOMEM;
	}
	grown[(*n)++] = copy;
	*v = grown;
	return SC_OK;
}

sc_err record_add_assignee(struct record *r, const char *user_id)
{
	if (!user_id || !*user_id)
		return SC_EINVAL;
	return strv_add_unique(&r->assignees, &r->nassignees, user_id);
}

/* Tags are kept lowercase and without '#', whatever the caller passes,
 * so #Web1, web1 and #web1 are one tag. */
sc_err record_add_tag(struct record *r, const char *tag)
{
	char *norm;
	sc_err err;

	if (!tag)
		return SC_EINVAL;
	if (*tag == '#')
		tag++;
	if (!*tag)
		return SC_EINVAL;
	norm = strdup(tag);
	if (!norm)
		return SC_ENOMEM;
	for (char *p = norm; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	err = strv_add_unique(&r->tags, &r->ntags, norm);
	free(norm);
	return err;
}

void room_clear(struct room *r)
{
	free(r->room_id);
	free(r->tz);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

void member_clear(struct member *m)
{
	/* store_member_get gives copies; the struct is shared with the
	 * borrowed view of store_members, hence the const fields. */
	free((char *)m->user_id);
	free((char *)m->display_name);
	free((char *)m->membership);
	memset(m, 0, sizeof(*m));
}

/* ---- errors ---- */

#define set_err store_fail

/* The sc_err for an SQLite (extended) result code. */
static sc_err rc_to_err(int rc)
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

/* "what: <sqlite's message>", mapped to an sc_err. Call it right after
 * the failing call, before anything else talks to the connection. */
static sc_err db_err(struct store *st, int rc, const char *what)
{
	return set_err(st, rc_to_err(rc), "%s: %s", what,
		       sqlite3_errmsg(st->db));
}

const char *store_errmsg(const struct store *st)
{
	return st->errmsg;
}

const char *store_library_version(void)
{
	return sqlite3_libversion();
}

/* ---- store_int.h: for the store's other source files ---- */

sqlite3 *store_sqlite(struct store *st)
{
	return st->db;
}

sc_err store_fail(struct store *st, sc_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

sc_err store_dberr(struct store *st, int rc, const char *what)
{
	return db_err(st, rc, what);
}

/* ---- statements ---- */

/* The cached statement id, or a private copy when the cached one is
 * being stepped by a caller further up the stack. */
static sc_err stmt_get(struct store *st, enum stmt_id id, sqlite3_stmt **out)
{
	struct slot *sl = &st->fixed[id];
	sqlite3_stmt *s = NULL;
	int rc;

	if (sl->stmt && !sl->busy) {
		sl->busy = 1;
		*out = sl->stmt;
		return SC_OK;
	}
	rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
				sl->stmt ? 0 : SQLITE_PREPARE_PERSISTENT, &s,
				NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc, "cannot prepare statement");
	if (!sl->stmt) {
		sl->stmt = s;
		sl->busy = 1;
	}
	*out = s;
	return SC_OK;
}

/* Give back a statement of stmt_get (NULL is fine). The result of
 * sqlite3_reset only repeats the step's error, handled already. */
static void stmt_put(struct store *st, enum stmt_id id, sqlite3_stmt *s)
{
	if (!s)
		return;
	if (s != st->fixed[id].stmt) {
		sqlite3_finalize(s);
		return;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	st->fixed[id].busy = 0;
}

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
		return db_err(st, rc, "cannot prepare statement");
	if (slot >= 0) {
		st->sql_key[slot] = sql;
		st->sqlc[slot].stmt = s;
		st->sqlc[slot].busy = 1;
	}
	*out = s;
	return SC_OK;
}

/* Give back s of one of the n slots (reset and unbound for the next
 * use), or finalize it when it is a private copy (NULL is fine). */
static void slots_put(struct slot *slots, int n, sqlite3_stmt *s)
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
	slots_put(st->sqlc, SQL_CACHE, s);
}

/* Bind helpers: the caller's strings outlive the statement's use, which
 * ends with stmt_put, so nothing is copied. A NULL string binds NULL. */
static int bind_str(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static int bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v);
}

/* 0 means "none" in the structs and is NULL in the tables. */
static int bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
	return v ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

/* Step a statement that returns no rows. */
static sc_err step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return SC_OK;
	if (rc == SQLITE_ROW)
		return set_err(st, SC_ESTORE, "%s: unexpected row", what);
	return db_err(st, rc, what);
}

/* Run a parameterless fixed statement. */
static sc_err run(struct store *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, id, &s);

	if (!err)
		err = step_done(st, s, what);
	stmt_put(st, id, s);
	return err;
}

/* Run a fixed statement taking n integers as ?1..?n. */
static sc_err run_ints(struct store *st, enum stmt_id id, const int64_t *v,
		       int n, const char *what)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, id, &s);
	int rc = SQLITE_OK;

	if (err)
		goto out;
	for (int i = 0; i < n && rc == SQLITE_OK; i++)
		rc = bind_int(s, i + 1, v[i]);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, what);
		goto out;
	}
	err = step_done(st, s, what);
out:
	stmt_put(st, id, s);
	return err;
}

/* Run a fixed statement taking one integer (a record id, a seq). */
static sc_err run_id(struct store *st, enum stmt_id id, int64_t v,
		     const char *what)
{
	return run_ints(st, id, &v, 1, what);
}

/* Index the records with ids lo..hi, as they are now: one statement,
 * because FTS5 writes what it holds to disk at the end of each. */
static sc_err fts_index(struct store *st, int64_t lo, int64_t hi)
{
	int64_t v[2] = {lo, hi};

	return run_ints(st, S_FTS_INSERT, v, 2, "cannot index record");
}

/* A copy of text column i into *out (NULL for SQL NULL). */
static sc_err col_dup(sqlite3_stmt *s, int i, char **out)
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

/* Borrowed text of column i (NULL for SQL NULL), valid until the next
 * step or reset. */
static const char *col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Split a LIST_SEP-joined column into a new string vector. */
static sc_err col_list(sqlite3_stmt *s, int i, char ***out, size_t *nout)
{
	const char *t = col_str(s, i), *p;
	char **v;
	size_t n = 1, k = 0;

	if (!t) {
		*out = NULL;
		*nout = 0;
		return SC_OK;
	}
	for (p = t; *p; p++)
		n += *p == LIST_SEP;
	v = calloc(n, sizeof(*v));
	if (!v)
		return SC_ENOMEM;
	for (p = t; k < n; k++) {
		const char *end = strchr(p, LIST_SEP);
		size_t len = end ? (size_t)(end - p) : strlen(p);

		v[k] = strndup(p, len);
		if (!v[k]) {
			strv_free(v, k);
			return SC_ENOMEM;
		}
		p += len + (end != NULL);
	}
	*out = v;
	*nout = n;
	return SC_OK;
}

/* Fill out (zeroed by the caller) from a row of RECORD_COLS. */
static sc_err row_record(sqlite3_stmt *s, struct record *out)
{
	enum rec_kind kind;
	sc_err err;

	if (rec_kind_parse(col_str(s, C_KIND), &kind))
		return SC_ESTORE;
	out->id = sqlite3_column_int64(s, C_ID);
	out->kind = kind;
	out->num = sqlite3_column_int64(s, C_NUM);
	out->due = sqlite3_column_int64(s, C_DUE);
	out->created = sqlite3_column_int64(s, C_CREATED);
	out->updated = sqlite3_column_int64(s, C_UPDATED);
	out->closed = sqlite3_column_int64(s, C_CLOSED);
	out->meeting = sqlite3_column_int64(s, C_MEETING);
	out->superseded_by = sqlite3_column_int64(s, C_SUPERSEDED);
	out->withdrawn = sqlite3_column_int(s, C_WITHDRAWN);
	out->votes_up = sqlite3_column_int(s, C_UP);
	out->votes_down = sqlite3_column_int(s, C_DOWN);
	out->votes_meh = sqlite3_column_int(s, C_MEH);
	err = col_dup(s, C_ROOM, &out->room_id);
	if (!err)
		err = col_dup(s, C_AUTHOR, &out->author);
	if (!err)
		err = col_dup(s, C_EVENT, &out->event_id);
	if (!err)
		err = col_dup(s, C_TEXT, &out->text);
	if (!err)
		err = col_dup(s, C_DETAIL, &out->detail);
	if (!err)
		err = col_dup(s, C_STATUS, &out->status);
	if (!err)
		err = col_dup(s, C_SEVERITY, &out->severity);
	if (!err)
		err = col_list(s, C_ASSIGNEES, &out->assignees,
			       &out->nassignees);
	if (!err)
		err = col_list(s, C_TAGS, &out->tags, &out->ntags);
	return err;
}

/* ---- open, close, migrations ---- */

/* Run SQL without parameters (pragmas, migration scripts); on failure
 * the store's message is SQLite's, for store_open to prefix. */
static sc_err exec_plain(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return SC_OK;
	return set_err(st, rc_to_err(rc), "%s", sqlite3_errmsg(st->db));
}

/* The single integer statement id yields, or an error ("what"). */
static sc_err stmt_int(struct store *st, enum stmt_id id, const char *what,
		       int64_t *out)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, id, &s);
	int rc;

	if (err)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		err = db_err(st, rc, what);
out:
	stmt_put(st, id, s);
	return err;
}

/* PRAGMA user_version, or an error. */
static sc_err user_version(struct store *st, int *out)
{
	int64_t v = 0;
	sc_err err = stmt_int(st, S_USER_VERSION, "cannot read schema version", &v);

	*out = (int)v;
	return err;
}

static sc_err too_new(struct store *st, int ver)
{
	return set_err(st, SC_ESTORE,
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
	err = exec_plain(st, "BEGIN IMMEDIATE");
	if (err)
		return err;
	/* Another process may have migrated while we waited for the lock. */
	err = user_version(st, &ver);
	if (!err && ver > NMIGRATIONS)
		err = too_new(st, ver);
	for (; !err && ver < NMIGRATIONS; ver++) {
		err = exec_plain(st, migrations[ver]);
		if (err) {
			char why[sizeof(st->errmsg)];

			snprintf(why, sizeof(why), "%s", st->errmsg);
			set_err(st, err, "migration %d failed: %s", ver + 1,
				why);
			break;
		}
		/* An integer of ours, not data: nothing to bind. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", ver + 1);
		err = exec_plain(st, sql);
	}
	if (!err)
		err = exec_plain(st, "COMMIT");
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
		err = set_err(st, rc_to_err(rc), "%s", sqlite3_errmsg(st->db));
		goto out;
	}
	mode = col_str(s, 0);
	if (!mode || strcasecmp(mode, "wal") != 0)
		log_warn("store: journal mode is '%s', not wal",
			 mode ? mode : "?");
	else
		err = exec_plain(st, "PRAGMA synchronous = NORMAL");
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

sc_err store_open(const char *path, struct store **out)
{
	struct store *st;
	char dir[PATH_MAX];
	int rc, memory, folder = 1;
	sc_err err;

	if (!path) {
		log_error("cannot open store: no path");
		return SC_EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return SC_ENOMEM;
	memory = !strcmp(path, ":memory:") || !*path;
	if (!memory && strncmp(path, "file:", 5))
		folder = store_folder(path, dir, sizeof(dir));
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (!st->db) {
		err = SC_ENOMEM;
		set_err(st, err, "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (rc != SQLITE_OK && !folder) {
		/* say which folder is missing and how to make it */
		err = set_err(st, rc_to_err(rc), "%s: the folder '%s' does not exist "
			      "(create it with mkdir -p '%s' as the user scribe runs "
			      "as, or set [store] path)", sqlite3_errmsg(st->db), dir, dir);
		goto out;
	}
	if (rc != SQLITE_OK) {
		err = set_err(st, rc_to_err(rc), "%s", sqlite3_errmsg(st->db));
		goto out;
	}
	rc = sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (rc != SQLITE_OK) {
		err = set_err(st, rc_to_err(rc), "%s", sqlite3_errmsg(st->db));
		goto out;
	}
	/* The default 2 MiB page cache thrashes on a large store: every
	 * row of a query is a random table page. A bigger cache plus
	 * memory-mapped reads keep the hot queries in memory without a
	 * read() per page (the store is only ever on a local disk). */
	err = exec_plain(st, "PRAGMA foreign_keys = ON");
	if (!err)
		err = exec_plain(st, "PRAGMA cache_size = -32768");

	if (!err && !memory)
		err = exec_plain(st, "PRAGMA mmap_size = 268435456");
	if (!err && !memory)
		err = use_wal(st);
	if (!err)
		err = migrate(st);
out:
	if (err) {
		char why[sizeof(st->errmsg)];

		snprintf(why, sizeof(why), "%s", st->errmsg);
		set_err(st, err, "cannot open store '%s': %s", path, why);
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
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->fixed[i].stmt);
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

/*
 * A new record joins the full-text index when its transaction commits
 * (or before a search in it), not as it is added: FTS5 writes the terms
 * it holds to disk at every savepoint, and each record of a sync batch
 * is added inside one, so indexing on the spot wrote a one-row index
 * segment per command and merged them over and over.
 */
static sc_err fts_defer(struct store *st, int64_t id)
{
	if (st->fts_n == st->fts_cap) {
		size_t cap = st->fts_cap ? st->fts_cap * 2 : 64;
		int64_t *p = realloc(st->fts_pending, cap * sizeof(*p));

		if (!p)
			return set_err(st, SC_ENOMEM, "out of memory");
		st->fts_pending = p;
		st->fts_cap = cap;
	}
	st->fts_pending[st->fts_n++] = id;
	return SC_OK;
}

static int fts_is_pending(const struct store *st, int64_t id)
{
	for (size_t i = st->fts_n; i > 0; i--)
		if (st->fts_pending[i - 1] == id)
			return 1;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Index the deferred records. An id can be there twice (a rolled-back
 * record's rowid is reused) or stand for no record any more (rolled
 * back): each is indexed once, from the row as it is now, if any. A run
 * of consecutive ids (a sync batch's records) is indexed by one
 * statement: every id in it is pending, so the range holds no record
 * indexed before. */
static sc_err fts_flush(struct store *st)
{
	sc_err err = SC_OK;
	size_t i = 0;

	qsort(st->fts_pending, st->fts_n, sizeof(*st->fts_pending), cmp_id);
	while (i < st->fts_n && !err) {
		int64_t lo = st->fts_pending[i], hi = lo;

		while (++i < st->fts_n && st->fts_pending[i] <= hi + 1)
			hi = st->fts_pending[i];
		err = fts_index(st, lo, hi);
	}
	if (!err)
		st->fts_n = 0;
	return err;
}

sc_err store_tx_begin(struct store *st)
{
	sc_err err;

	if (tx_lost(st))
		return set_err(st, SC_ESTORE, "cannot begin transaction: the "
			       "enclosing one was rolled back by an error");
	err = run(st, st->depth ? S_SAVEPOINT : S_BEGIN,
		  "cannot begin transaction");
	if (!err)
		st->depth++;
	return err;
}

sc_err store_tx_commit(struct store *st)
{
	sc_err err;

	if (!st->depth)
		return set_err(st, SC_ESTATE, "cannot commit: no transaction");
	if (tx_lost(st))
		return set_err(st, SC_ESTORE, "cannot commit: the transaction "
			       "was rolled back by an error");
	/* On failure the level stays open for store_tx_rollback. */
	err = st->depth == 1 && st->fts_n ? fts_flush(st) : SC_OK;
	if (!err)
		err = run(st, st->depth == 1 ? S_COMMIT : S_RELEASE,
			  "cannot commit transaction");
	if (!err)
		st->depth--;
	return err;
}

sc_err store_tx_rollback(struct store *st)
{
	sc_err err = SC_OK;

	if (!st->depth)
		return set_err(st, SC_ESTATE,
			       "cannot roll back: no transaction");
	if (st->depth == 1)
		st->fts_n = 0; /* the records are gone */
	if (tx_lost(st)) {
		st->depth--;
		return SC_OK;
	}
	if (st->depth == 1) {
		err = run(st, S_ROLLBACK, "cannot roll back transaction");
	} else {
		/* ROLLBACK TO keeps the savepoint open; RELEASE ends it. */
		err = run(st, S_ROLLBACK_TO, "cannot roll back transaction");
		if (!err)
			err = run(st, S_RELEASE,
				  "cannot roll back transaction");
	}
	if (!err)
		st->depth--;
	return err;
}

/* Internal atomic steps end here: commit on success, else undo. The
 * first error's message is the one that stays. */
static sc_err tx_end(struct store *st, sc_err err)
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

/* ---- records ---- */

/* Text must be UTF-8 (no NUL, no overlongs, no surrogates). */
static int bad_text(const char *s)
{
	return s && !utf8_valid(s, strlen(s));
}

/* List entries must be non-empty UTF-8 without control characters,
 * which also keeps LIST_SEP out of them. */
static int bad_entry(const char *s)
{
	if (!s || !*s || bad_text(s))
		return 1;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static sc_err check_record(struct store *st, const struct record *r)
{
	const struct {
		const char *name;
		const char *value;
		int required;
	} fields[] = {
		{ "room", r->room_id, 1 },     { "author", r->author, 1 },
		{ "event id", r->event_id, 0 }, { "text", r->text, 1 },
		{ "detail", r->detail, 0 },     { "status", r->status, 1 },
		{ "severity", r->severity, 0 },
	};

	if ((unsigned)r->kind >= REC_NKINDS)
		return set_err(st, SC_EINVAL, "unknown record kind %d",
			       (int)r->kind);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i].required && !fields[i].value)
			return set_err(st, SC_EINVAL, "record has no %s",
				       fields[i].name);
		if (bad_text(fields[i].value))
			return set_err(st, SC_EINVAL,
				       "record %s is not valid utf-8",
				       fields[i].name);
	}
	for (size_t i = 0; i < r->nassignees; i++)
		if (bad_entry(r->assignees[i]))
			return set_err(st, SC_EINVAL, "invalid assignee");
	for (size_t i = 0; i < r->ntags; i++)
		if (bad_entry(r->tags[i]))
			return set_err(st, SC_EINVAL, "invalid tag");
	return SC_OK;
}

/* Insert record id's assignees or tags (stmt S_ASSIGNEE_ADD/S_TAG_ADD). */
static sc_err write_list(struct store *st, enum stmt_id id, int64_t record,
			 char *const *v, size_t n)
{
	sqlite3_stmt *s = NULL;
	sc_err err = SC_OK;
	int rc;

	if (!n)
		return SC_OK;
	err = stmt_get(st, id, &s);
	for (size_t i = 0; i < n && !err; i++) {
		rc = bind_int(s, 1, record);
		if (rc == SQLITE_OK)
			rc = bind_str(s, 2, v[i]);
		if (rc == SQLITE_OK)
			rc = bind_int(s, 3, (int64_t)i);
		if (rc != SQLITE_OK) {
			err = db_err(st, rc, "cannot write list");
			break;
		}
		err = step_done(st, s, "cannot write list");
		sqlite3_reset(s);
	}
	stmt_put(st, id, s);
	return err;
}

static sc_err history_add(struct store *st, int64_t record, int64_t ts,
			  const char *actor, const char *field,
			  const char *old_value, const char *new_value,
			  const char *event_id)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_HISTORY_ADD, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, record);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 2, ts);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, actor);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, field);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 5, old_value);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 6, new_value);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 7, event_id);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot write history");
		goto out;
	}
	err = step_done(st, s, "cannot write history");
out:
	stmt_put(st, S_HISTORY_ADD, s);
	return err;
}

static sc_err next_num(struct store *st, enum rec_kind kind, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_NEXT_NUM, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_str(s, 1, kind_names[kind]);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		err = db_err(st, rc, "cannot number record");
		goto out;
	}
	*out = sqlite3_column_int64(s, 0);
out:
	stmt_put(st, S_NEXT_NUM, s);
	return err;
}

sc_err store_record_add(struct store *st, struct record *r)
{
	sqlite3_stmt *s = NULL;
	int64_t id = 0, num = 0;
	sc_err err;
	int rc;

	err = check_record(st, r);
	if (err)
		return err;
	err = store_tx_begin(st);
	if (err)
		return err;
	err = next_num(st, r->kind, &num);
	if (!err)
		err = stmt_get(st, S_REC_INSERT, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, kind_names[r->kind]);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 2, num);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, r->room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, r->author);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 5, r->event_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 6, r->text);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 7, r->detail);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 8, r->status);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 9, r->severity);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 10, r->due);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 11, r->created);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 12, r->updated);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 13, r->closed);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 14, r->meeting);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 15, r->superseded_by);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 16, r->withdrawn != 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE && r->event_id) {
		err = set_err(st, SC_EEXISTS,
			      "event '%s' is already recorded", r->event_id);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		err = db_err(st, rc, "cannot add record");
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);
	err = write_list(st, S_ASSIGNEE_ADD, id, r->assignees, r->nassignees);
	if (!err)
		err = write_list(st, S_TAG_ADD, id, r->tags, r->ntags);
	if (!err)
		err = fts_defer(st, id);
	if (!err)
		err = history_add(st, id, r->created, r->author, "created",
				  NULL, r->status, r->event_id);
	if (!err) {
		/* its reminders and escalations, in the same commit */
		struct record made = *r;

		made.id = id;
		err = store_remind_sync(st, NULL, &made, r->created);
	}
out:
	stmt_put(st, S_REC_INSERT, s);
	err = tx_end(st, err);
	if (!err) {
		r->id = id;
		r->num = num;
	}
	return err;
}

/* Load one record with a fixed RECORD_COLS statement bound by bind. */
static sc_err get_record(struct store *st, enum stmt_id id, int64_t a,
			 int64_t b, const char *key, struct record *out)
{
	sqlite3_stmt *s = NULL;
	struct record r;
	sc_err err;
	int rc;

	memset(&r, 0, sizeof(r));
	err = stmt_get(st, id, &s);
	if (err)
		goto out;
	if (id == S_GET_NUM) {
		rc = bind_str(s, 1, kind_names[a]);
		if (rc == SQLITE_OK)
			rc = bind_int(s, 2, b);
	} else if (id == S_GET_ID) {
		rc = bind_int(s, 1, a);
	} else {
		rc = bind_str(s, 1, key);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = set_err(st, SC_ENOTFOUND, "no such record");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = db_err(st, rc, "cannot read record");
		goto out;
	}
	err = row_record(s, &r);
	if (err == SC_ESTORE)
		set_err(st, err, "record %lld has an unknown kind",
			(long long)sqlite3_column_int64(s, C_ID));
out:
	stmt_put(st, id, s);
	if (err) {
		record_clear(&r);
		return err;
	}
	*out = r;
	return SC_OK;
}

sc_err store_record_get(struct store *st, enum rec_kind kind, int64_t num,
			struct record *out)
{
	if ((unsigned)kind >= REC_NKINDS)
		return set_err(st, SC_EINVAL, "unknown record kind %d",
			       (int)kind);
	return get_record(st, S_GET_NUM, kind, num, NULL, out);
}

sc_err store_record_get_id(struct store *st, int64_t id, struct record *out)
{
	return get_record(st, S_GET_ID, id, 0, NULL, out);
}

sc_err store_record_by_event(struct store *st, const char *event_id,
			     struct record *out)
{
	if (!event_id)
		return set_err(st, SC_ENOTFOUND, "no such record");
	return get_record(st, S_GET_EVENT, 0, 0, event_id, out);
}

/* The changed fields of one update, rendered as history values. */
struct changes {
	size_t n;
	struct {
		const char *field;
		char *old_value, *new_value;
	} c[10];
};

static void changes_clear(struct changes *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		free(ch->c[i].old_value);
		free(ch->c[i].new_value);
	}
	ch->n = 0;
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Order does not matter: a list only changes when its set does. */
static int same_set(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		size_t j = 0;

		while (j < nb && strcmp(a[i], b[j]))
			j++;
		if (j == nb)
			return 0;
	}
	return 1;
}

/* Record field, old and new (copied; NULL stays NULL). */
static sc_err change_add(struct changes *ch, const char *field,
			 const char *old_value, const char *new_value)
{
	char *o = NULL, *n = NULL;

	assert(ch->n < sizeof(ch->c) / sizeof(ch->c[0]));
	if (old_value)
		o = strdup(old_value);
	if (new_value)
		n = strdup(new_value);
	if ((old_value && !o) || (new_value && !n)) {
		free(o);
		free(n);
		return SC_ENOMEM;
	}
	ch->c[ch->n].field = field;
	ch->c[ch->n].old_value = o;
	ch->c[ch->n].new_value = n;
	ch->n++;
	return SC_OK;
}

static sc_err change_str(struct changes *ch, const char *field,
			 const char *a, const char *b)
{
	return same_str(a, b) ? SC_OK : change_add(ch, field, a, b);
}

/* Timestamps and record ids as decimal; 0 ("none") as NULL. */
static sc_err change_num(struct changes *ch, const char *field, int64_t a,
			 int64_t b)
{
	char sa[24], sb[24];

	if (a == b)
		return SC_OK;
	snprintf(sa, sizeof(sa), "%lld", (long long)a);
	snprintf(sb, sizeof(sb), "%lld", (long long)b);
	return change_add(ch, field, a ? sa : NULL, b ? sb : NULL);
}

/* Lists as "a,b" (NULL when empty). */
static sc_err change_list(struct changes *ch, const char *field,
			  char *const *a, size_t na, char *const *b, size_t nb)
{
	struct sbuf sa, sb;
	sc_err err = SC_OK;

	if (same_set(a, na, b, nb))
		return SC_OK;
	sbuf_init(&sa, 0);
	sbuf_init(&sb, 0);
	for (size_t i = 0; i < na && !err; i++)
		err = sbuf_printf(&sa, "%s%s", i ? "," : "", a[i]);
	for (size_t i = 0; i < nb && !err; i++)
		err = sbuf_printf(&sb, "%s%s", i ? "," : "", b[i]);
	if (!err)
		err = change_add(ch, field, na ? sa.buf : NULL,
				 nb ? sb.buf : NULL);
	sbuf_release(&sa);
	sbuf_release(&sb);
	return err;
}

static sc_err diff_record(struct changes *ch, const struct record *o,
			  const struct record *r)
{
	sc_err err = change_str(ch, "status", o->status, r->status);

	if (!err)
		err = change_str(ch, "text", o->text, r->text);
	if (!err)
		err = change_str(ch, "detail", o->detail, r->detail);
	if (!err)
		err = change_str(ch, "severity", o->severity, r->severity);
	if (!err)
		err = change_num(ch, "due", o->due, r->due);
	if (!err)
		err = change_num(ch, "closed", o->closed, r->closed);
	if (!err)
		err = change_num(ch, "superseded_by", o->superseded_by,
				 r->superseded_by);
	if (!err && !o->withdrawn != !r->withdrawn)
		err = change_add(ch, "withdrawn", o->withdrawn ? "1" : "0",
				 r->withdrawn ? "1" : "0");
	if (!err)
		err = change_list(ch, "assignees", o->assignees, o->nassignees,
				  r->assignees, r->nassignees);
	if (!err)
		err = change_list(ch, "tags", o->tags, o->ntags, r->tags,
				  r->ntags);
	return err;
}

static sc_err update_row(struct store *st, const struct record *r,
			 int64_t now)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_REC_UPDATE, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, r->id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, r->status);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, r->text);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, r->detail);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 5, r->severity);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 6, r->due);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 7, r->closed);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 8, r->superseded_by);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 9, r->withdrawn != 0);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 10, now);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot update record");
		goto out;
	}
	err = step_done(st, s, "cannot update record");
out:
	stmt_put(st, S_REC_UPDATE, s);
	return err;
}

sc_err store_record_update(struct store *st, const struct record *r,
			   const char *actor, int64_t now, const char *event_id)
{
	struct record old;
	struct changes ch;
	int reindex, lists;
	sc_err err;

	memset(&old, 0, sizeof(old));
	ch.n = 0;
	if (!actor)
		return set_err(st, SC_EINVAL, "record update has no actor");
	err = check_record(st, r);
	if (err)
		return err;
	err = store_tx_begin(st);
	if (err)
		return err;
	err = store_record_get_id(st, r->id, &old);
	if (!err && old.kind != r->kind)
		err = set_err(st, SC_EINVAL, "record %lld is not a %s",
			      (long long)r->id, kind_names[r->kind]);
	if (!err)
		err = diff_record(&ch, &old, r);
	if (err || !ch.n)
		goto out;
	lists = !same_set(old.tags, old.ntags, r->tags, r->ntags);
	reindex = lists || !same_str(old.text, r->text) ||
		  !same_str(old.detail, r->detail);
	/* Remove the indexed row while it still reads as it was indexed;
	 * one added in this transaction is not indexed yet. */
	if (reindex && fts_is_pending(st, r->id))
		reindex = 0;
	if (reindex)
		err = run_id(st, S_FTS_DELETE, r->id, "cannot unindex record");
	if (!err)
		err = update_row(st, r, now);
	if (!err && !same_set(old.assignees, old.nassignees, r->assignees,
			      r->nassignees)) {
		err = run_id(st, S_ASSIGNEE_CLEAR, r->id,
			     "cannot update assignees");
		if (!err)
			err = write_list(st, S_ASSIGNEE_ADD, r->id,
					 r->assignees, r->nassignees);
	}
	if (!err && lists) {
		err = run_id(st, S_TAG_CLEAR, r->id, "cannot update tags");
		if (!err)
			err = write_list(st, S_TAG_ADD, r->id, r->tags,
					 r->ntags);
	}
	if (!err && reindex)
		err = fts_index(st, r->id, r->id);
	for (size_t i = 0; i < ch.n && !err; i++)
		err = history_add(st, r->id, now, actor, ch.c[i].field,
				  ch.c[i].old_value, ch.c[i].new_value,
				  event_id);
	/* closing, withdrawing or re-dating moves what it would fire */
	if (!err)
		err = store_remind_sync(st, &old, r, now);
out:
	err = tx_end(st, err);
	changes_clear(&ch);
	record_clear(&old);
	return err;
}

/* ---- record queries ---- */

static int count_token(void *ctx, int tflags, const char *tok, int ntok,
		       int start, int end)
{
	(void)tflags;
	(void)tok;
	(void)ntok;
	(void)start;
	(void)end;
	(*(int *)ctx)++;
	return SQLITE_OK;
}

/* The table's own tokenizer (same arguments as records_fts), to tell
 * which words of a search would yield no token at all. */
static sc_err tokenizer(struct store *st)
{
	const char *args[] = { "remove_diacritics", "2" };
	fts5_api *api = NULL;
	sqlite3_stmt *s = NULL;
	void *uctx = NULL;
	sc_err err = SC_OK;
	int rc;

	if (st->tok)
		return SC_OK;
	rc = sqlite3_prepare_v2(st->db, "SELECT fts5(?1)", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_pointer(s, 1, &api, "fts5_api_ptr", NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		err = db_err(st, rc, "cannot load the search tokenizer");
		goto out;
	}
	if (!api || api->iVersion < 2) {
		err = set_err(st, SC_ESTORE, "cannot load the search "
			      "tokenizer: no fts5 api");
		goto out;
	}
	rc = api->xFindTokenizer(api, "unicode61", &uctx, &st->tok_api);
	if (rc == SQLITE_OK)
		rc = st->tok_api.xCreate(uctx, args, 2, &st->tok);
	if (rc != SQLITE_OK)
		err = set_err(st, rc_to_err(rc), "cannot load the search "
			      "tokenizer: %s", sqlite3_errstr(rc));
out:
	sqlite3_finalize(s);
	return err;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/*
 * The FTS5 expression for a user's words: each whitespace-separated
 * word becomes a quoted phrase ("" for a quote inside), ANDed, so no
 * word is ever read as FTS5 syntax (OR, NEAR, *, -, column filters).
 * Words the tokenizer finds no token in (punctuation, emoji) are left
 * out: as a phrase they would match nothing and sink the whole AND.
 * out stays empty when no word is left.
 */
static sc_err build_match(struct store *st, const char *terms,
			  struct sbuf *out)
{
	const char *p = terms;
	sc_err err = tokenizer(st);

	while (!err && *p) {
		const char *w;
		int ntok = 0, rc;

		while (is_space(*p))
			p++;
		w = p;
		while (*p && !is_space(*p))
			p++;
		if (p == w)
			break;
		if (p - w > MATCH_MAX)
			return set_err(st, SC_EINVAL, "search word too long");
		rc = st->tok_api.xTokenize(st->tok, &ntok, FTS5_TOKENIZE_QUERY,
					   w, (int)(p - w), count_token);
		if (rc != SQLITE_OK)
			return set_err(st, rc_to_err(rc), "cannot tokenize "
				       "search terms: %s", sqlite3_errstr(rc));
		if (!ntok)
			continue;
		if (out->len)
			err = sbuf_puts(out, " AND ");
		if (!err)
			err = sbuf_putc(out, '"');
		for (const char *c = w; c < p && !err; c++)
			err = *c == '"' ? sbuf_puts(out, "\"\"")
					: sbuf_putc(out, *c);
		if (!err)
			err = sbuf_putc(out, '"');
	}
	if (err == SC_ETOOBIG)
		return set_err(st, SC_EINVAL, "search terms too long");
	if (err == SC_ENOMEM)
		return set_err(st, err, "out of memory");
	return err;
}

/* Shape of q: which fragments, which order, rows or count. */
static sc_err query_shape(struct store *st, const struct rec_query *q,
			  int count, unsigned *mask, unsigned *key)
{
	unsigned kinds = q->kinds, m = 0;

	if (kinds & ~(unsigned)REC_ALL)
		return set_err(st, SC_EINVAL, "unknown record kind in query");
	if ((unsigned)q->order > ORDER_DUE)
		return set_err(st, SC_EINVAL, "unknown query order %d",
			       (int)q->order);
	if (q->skip & ~(unsigned)SKIP_ALL)
		return set_err(st, SC_EINVAL, "unknown list to skip in query");
	if (kinds && kinds != REC_ALL)
		m |= 1u << ((kinds & (kinds - 1)) ? QF_KINDS : QF_KIND);
	if (q->room_id)
		m |= 1u << (q->terms ? QF_ROOM_SCAN : QF_ROOM);
	m |= (unsigned)(q->status != NULL) << QF_STATUS;
	m |= (unsigned)(q->open_only != 0) << QF_OPEN;
	if (q->assignee)
		m |= 1u << (q->room_id && !q->terms ? QF_ASSIGNEE_ROOM
						    : QF_ASSIGNEE);
	m |= (unsigned)(q->author != NULL) << QF_AUTHOR;
	m |= (unsigned)(q->tag != NULL) << QF_TAG;
	m |= (unsigned)(q->terms != NULL) << QF_TERMS;
	m |= (unsigned)(q->since != 0) << QF_SINCE;
	m |= (unsigned)(q->until != 0) << QF_UNTIL;
	m |= (unsigned)(q->changed_since != 0) << QF_CHANGED;
	m |= (unsigned)(q->overdue_at != 0) << QF_OVERDUE;
	m |= (unsigned)(q->meeting != 0) << QF_MEETING;
	m |= (unsigned)(q->include_withdrawn == 0) << QF_LIVE;
	*mask = m;
	/* the order bits: 0..2 records in that order, 3 a count, 4..6 the
	 * assignees of records in order 0..2, 7 the assignees by name */
	*key = m | (count == Q_COUNT ? 3u : count == Q_NAMES ? 7u :
		    (unsigned)q->order + (count == Q_ASSIGNEES ? 4u : 0u)) << QF_N;
	/* above them, the lists a record query leaves out */
	if (count == Q_RECORDS)
		*key |= (q->skip & (unsigned)SKIP_ALL) << (QF_N + 3);
	return SC_OK;
}

/* At debug level, log how SQLite runs a newly prepared query (the test
 * suite reads this to check that the indexes are used). */
static void log_plan(struct store *st, unsigned key, const char *sql)
{
	sqlite3_stmt *s = NULL;
	struct sbuf eqp;

	if (log_get_level() < LOG_DEBUG)
		return;
	sbuf_init(&eqp, 0);
	if (sbuf_puts(&eqp, "EXPLAIN QUERY PLAN ") ||
	    sbuf_puts(&eqp, sql) ||
	    sqlite3_prepare_v2(st->db, eqp.buf, -1, &s, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(s) == SQLITE_ROW)
		log_debug("store: plan of query 0x%x: %s", key,
			  col_str(s, 3) ? col_str(s, 3) : "");
out:
	sqlite3_finalize(s);
	sbuf_release(&eqp);
}

/* "SELECT <RECORD_COLS> FROM records r WHERE 1", NULL for the lists
 * skip (SKIP_* bits) leaves out. */
static sc_err record_cols(struct sbuf *sql, unsigned skip)
{
	sc_err err = sbuf_puts(sql, "SELECT " RECORD_PLAIN_COLS);

	if (!err)
		err = sbuf_puts(sql, skip & SKIP_ASSIGNEES ? ", NULL"
							  : ASSIGNEES_COL);
	if (!err)
		err = sbuf_puts(sql, skip & SKIP_TAGS ? ", NULL" : TAGS_COL);
	if (!err)
		err = sbuf_puts(sql, skip & SKIP_VOTES ? ", NULL, NULL, NULL"
						       : VOTES_COLS);
	if (!err)
		err = sbuf_puts(sql, " FROM records r WHERE 1");
	return err;
}

/* A prepared statement for the shape, cached or fresh. */
static sc_err query_stmt(struct store *st, unsigned mask, unsigned key,
			 int count, sqlite3_stmt **out)
{
	struct slot *free_slot = NULL;
	struct sbuf sql;
	sqlite3_stmt *s = NULL;
	sc_err err = SC_OK;
	int rc;

	for (int i = 0; i < QUERY_CACHE; i++) {
		struct slot *sl = &st->query[i];

		if (sl->stmt && sl->key == key && !sl->busy) {
			sl->busy = 1;
			*out = sl->stmt;
			return SC_OK;
		}
	}
	/* A free slot, else evict round-robin (never a busy one). */
	for (int i = 0; i < QUERY_CACHE && !free_slot; i++)
		if (!st->query[i].stmt)
			free_slot = &st->query[i];
	for (int i = 0; i < QUERY_CACHE && !free_slot; i++) {
		struct slot *sl = &st->query[st->qnext++ % QUERY_CACHE];

		if (!sl->busy) {
			sqlite3_finalize(sl->stmt);
			sl->stmt = NULL;
			free_slot = sl;
		}
	}
	sbuf_init(&sql, 0);
	if (count == Q_ASSIGNEES) /* rank the matches, then their people */
		err = sbuf_printf(&sql, "SELECT a.user_id FROM (SELECT r.id AS id, "
				  "row_number() OVER (%s) AS rn FROM records r WHERE 1",
				  order_sql[(key >> QF_N & 7) - 4] + 1);
	else if (count == Q_NAMES)
		err = sbuf_puts(&sql, "SELECT DISTINCT a.user_id FROM records r "
				"LEFT JOIN assignees a ON a.record = r.id WHERE 1");
	else if (count)
		err = sbuf_puts(&sql, "SELECT count(*) FROM records r WHERE 1");
	else
		err = record_cols(&sql, key >> (QF_N + 3));
	for (int f = 0; f < QF_N && !err; f++)
		if (mask & (1u << f))
			err = sbuf_puts(&sql, qfrag_sql[f]);
	if (!err && count == Q_RECORDS)
		err = sbuf_puts(&sql, order_sql[key >> QF_N & 7]);
	if (!err && count == Q_ASSIGNEES)
		err = sbuf_puts(&sql, ") o LEFT JOIN assignees a ON a.record = o.id "
				"GROUP BY a.user_id ORDER BY min(o.rn)");
	if (!err && count == Q_NAMES)
		err = sbuf_puts(&sql, " ORDER BY a.user_id");
	if (!err && count != Q_COUNT)
		err = sbuf_puts(&sql, " LIMIT :limit");
	if (err) {
		err = set_err(st, err, "cannot build query");
		goto out;
	}
	rc = sqlite3_prepare_v3(st->db, sql.buf, (int)sql.len,
				free_slot ? SQLITE_PREPARE_PERSISTENT : 0, &s,
				NULL);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot prepare query");
		goto out;
	}
	log_plan(st, key, sql.buf);
	if (free_slot) {
		free_slot->stmt = s;
		free_slot->key = key;
		free_slot->busy = 1;
	}
	*out = s;
out:
	sbuf_release(&sql);
	return err;
}

static void query_put(struct store *st, sqlite3_stmt *s)
{
	slots_put(st->query, QUERY_CACHE, s);
}

static int bind_named_str(sqlite3_stmt *s, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	assert(i > 0);
	return i > 0 ? bind_str(s, i, v) : SQLITE_RANGE;
}

static int bind_named_int(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	assert(i > 0);
	return i > 0 ? bind_int(s, i, v) : SQLITE_RANGE;
}

static int query_bind(sqlite3_stmt *s, const struct rec_query *q,
		      unsigned mask, const char *match, int count)
{
	static const char *const kslot[] = { ":k0", ":k1", ":k2", ":k3",
					     ":k4", ":k5" };
	int rc = SQLITE_OK;

	if (mask & ((1u << QF_KIND) | (1u << QF_KINDS))) {
		const char *names[REC_NKINDS];
		int n = 0, slots = mask & (1u << QF_KIND) ? 1 : REC_NKINDS;

		for (int k = 0; k < REC_NKINDS; k++)
			if (q->kinds & REC_BIT(k))
				names[n++] = kind_names[k];
		for (int i = 0; i < slots && rc == SQLITE_OK; i++)
			rc = bind_named_str(s, kslot[i], names[i % n]);
	}
	if (rc == SQLITE_OK && q->room_id)
		rc = bind_named_str(s, ":room", q->room_id);
	if (rc == SQLITE_OK && q->status)
		rc = bind_named_str(s, ":status", q->status);
	if (rc == SQLITE_OK && q->assignee)
		rc = bind_named_str(s, ":assignee", q->assignee);
	if (rc == SQLITE_OK && q->author)
		rc = bind_named_str(s, ":author", q->author);
	if (rc == SQLITE_OK && q->tag)
		rc = bind_named_str(s, ":tag", q->tag);
	if (rc == SQLITE_OK && q->terms)
		rc = bind_named_str(s, ":terms", match);
	if (rc == SQLITE_OK && q->since)
		rc = bind_named_int(s, ":since", q->since);
	if (rc == SQLITE_OK && q->until)
		rc = bind_named_int(s, ":until", q->until);
	if (rc == SQLITE_OK && q->changed_since)
		rc = bind_named_int(s, ":changed", q->changed_since);
	if (rc == SQLITE_OK && q->overdue_at)
		rc = bind_named_int(s, ":overdue", q->overdue_at);
	if (rc == SQLITE_OK && q->meeting)
		rc = bind_named_int(s, ":meeting", q->meeting);
	if (rc == SQLITE_OK && count != Q_COUNT)
		rc = bind_named_int(s, ":limit", q->limit > 0 ? q->limit : -1);
	return rc;
}

/* Prepare and bind q. *none = 1 (and no statement) when the search
 * terms have no word to look for: such a query matches nothing. */
static sc_err query_start(struct store *st, const struct rec_query *q,
			  int count, struct sbuf *match, sqlite3_stmt **out,
			  int *none)
{
	unsigned mask = 0, key = 0;
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	*none = 0;
	err = query_shape(st, q, count, &mask, &key);
	if (!err && q->terms && st->fts_n)
		err = fts_flush(st); /* a search sees this batch's records */
	if (!err && q->terms)
		err = build_match(st, q->terms, match);
	if (err)
		return err;
	if (q->terms && !match->len) {
		*none = 1;
		return SC_OK;
	}
	err = query_stmt(st, mask, key, count, &s);
	if (err)
		return err;
	rc = query_bind(s, q, mask, match->buf, count);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot bind query");
		query_put(st, s);
		return err;
	}
	*out = s;
	return SC_OK;
}

sc_err store_query(struct store *st, const struct rec_query *q, rec_cb cb,
		   void *ctx)
{
	sqlite3_stmt *s = NULL;
	struct sbuf match;
	struct record r;
	int none = 0, rc;
	sc_err err;

	memset(&r, 0, sizeof(r));
	sbuf_init(&match, MATCH_MAX);
	err = query_start(st, q, 0, &match, &s, &none);
	if (err || none)
		goto out;
	for (;;) {
		int stop;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		err = row_record(s, &r);
		if (err) {
			set_err(st, err, "cannot read record");
			goto out;
		}
		stop = cb(&r, ctx);
		record_clear(&r);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot query records");
out:
	query_put(st, s);
	record_clear(&r);
	sbuf_release(&match);
	return err;
}

sc_err store_count(struct store *st, const struct rec_query *q, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	struct sbuf match;
	int none = 0, rc;
	int64_t n = 0;
	sc_err err;

	sbuf_init(&match, MATCH_MAX);
	err = query_start(st, q, 1, &match, &s, &none);
	if (err || none)
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		err = db_err(st, rc, "cannot count records");
		goto out;
	}
	n = sqlite3_column_int64(s, 0);
out:
	query_put(st, s);
	sbuf_release(&match);
	if (!err)
		*out = n;
	return err;
}

static sc_err query_people(struct store *st, const struct rec_query *q,
			   int mode, str_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	struct sbuf match;
	int none = 0, rc;
	sc_err err;

	sbuf_init(&match, MATCH_MAX);
	err = query_start(st, q, mode, &match, &s, &none);
	if (err || none)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb(col_str(s, 0), ctx))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot query assignees");
out:
	query_put(st, s);
	sbuf_release(&match);
	return err;
}

sc_err store_query_assignees(struct store *st, const struct rec_query *q,
			     str_cb cb, void *ctx)
{
	return query_people(st, q, Q_ASSIGNEES, cb, ctx);
}

sc_err store_query_assignee_names(struct store *st, const struct rec_query *q,
				  str_cb cb, void *ctx)
{
	return query_people(st, q, Q_NAMES, cb, ctx);
}

/* Stream the history rows of statement id (?1 bound by the caller). */
static sc_err history_rows(struct store *st, enum stmt_id id, sqlite3_stmt *s,
			   int rc, hist_cb cb, void *ctx)
{
	while (rc == SQLITE_OK) {
		struct history_entry h;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		h.record = sqlite3_column_int64(s, 0);
		h.ts = sqlite3_column_int64(s, 1);
		h.actor = col_str(s, 2);
		h.field = col_str(s, 3);
		h.old_value = col_str(s, 4);
		h.new_value = col_str(s, 5);
		h.event_id = col_str(s, 6);
		if (cb(&h, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	stmt_put(st, id, s);
	return rc != SQLITE_DONE ? db_err(st, rc, "cannot read history") : SC_OK;
}

sc_err store_history(struct store *st, int64_t record, hist_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_HISTORY, &s);

	return err ? err : history_rows(st, S_HISTORY, s, bind_int(s, 1, record),
					cb, ctx);
}

sc_err store_history_by_event(struct store *st, const char *event_id,
			      hist_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_HISTORY_EVENT, &s);

	return err ? err : history_rows(st, S_HISTORY_EVENT, s,
					bind_str(s, 1, event_id), cb, ctx);
}

sc_err store_history_note(struct store *st, int64_t record, int64_t ts,
			  const char *actor, const char *field,
			  const char *value, const char *event_id)
{
	if (!actor || !field || !value || !utf8_valid(value, strlen(value)))
		return set_err(st, SC_EINVAL, "invalid history note");
	return history_add(st, record, ts, actor, field, NULL, value, event_id);
}

/* The room's records changed since ?3 come from the (room, withdrawn,
 * changed) index; their history is read by record. */
static const char sql_history_recent[] =
	"SELECT h.record, h.ts, h.actor, h.field, h.old, h.new, h.event_id "
	"FROM records r JOIN history h ON h.record = r.id "
	"WHERE r.room_id = ?1 AND r.withdrawn IN (0, 1) "
	"AND max(r.created, r.updated) >= ?3 AND h.actor = ?2 "
	"AND h.ts >= ?3 AND h.event_id IS NOT NULL ORDER BY h.id DESC";

sc_err store_history_recent(struct store *st, const char *room_id,
			    const char *actor, int64_t since, hist_cb cb,
			    void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_history_recent, &s);
	int rc;

	if (err)
		return err;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, actor);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 3, since);
	while (rc == SQLITE_OK) {
		struct history_entry h;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		h.record = sqlite3_column_int64(s, 0);
		h.ts = sqlite3_column_int64(s, 1);
		h.actor = col_str(s, 2);
		h.field = col_str(s, 3);
		h.old_value = col_str(s, 4);
		h.new_value = col_str(s, 5);
		h.event_id = col_str(s, 6);
		if (cb(&h, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	err = rc != SQLITE_DONE ? db_err(st, rc, "cannot read history") : SC_OK;
	store_stmt_put(st, s);
	return err;
}

static const char sql_voters[] =
	"SELECT user_id FROM votes WHERE record = ?1 ORDER BY user_id";

sc_err store_voters(struct store *st, int64_t record, str_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_voters, &s);
	int rc;

	if (err)
		return err;
	rc = bind_int(s, 1, record);
	while (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (cb(col_str(s, 0), ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	err = rc != SQLITE_DONE ? db_err(st, rc, "cannot read votes") : SC_OK;
	store_stmt_put(st, s);
	return err;
}

/* ---- votes and reply links ---- */

/* Run a vote statement: ?1 record, ?2 voter, then (when given) ?3 key
 * and ?4 reaction event. */
static sc_err vote_run(struct store *st, enum stmt_id id, int64_t record,
		       const char *user_id, const char *key, const char *event_id)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, id, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, record);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, user_id);
	if (rc == SQLITE_OK && key)
		rc = bind_str(s, 3, key);
	if (rc == SQLITE_OK && key)
		rc = bind_str(s, 4, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = set_err(st, SC_ENOTFOUND, "no record %lld",
			      (long long)record);
	else if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot record vote");
out:
	stmt_put(st, id, s);
	return err;
}

sc_err store_vote_add(struct store *st, int64_t record, const char *user_id,
		      const char *key, const char *event_id)
{
	sc_err err = SC_OK;

	if (!user_id || !key ||
	    (strcmp(key, "up") && strcmp(key, "down") && strcmp(key, "meh")))
		return set_err(st, SC_EINVAL, "invalid vote");
	if (event_id)
		err = vote_run(st, S_VOTE_EVENT_ADD, record, user_id, key, event_id);
	return err ? err : vote_run(st, S_VOTE_ADD, record, user_id, key, event_id);
}

/* Run a fixed statement binding one string; *changes gets the number of
 * rows it changed. */
static sc_err run_str(struct store *st, enum stmt_id id, const char *v,
		      const char *what, int *changes)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, id, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_str(s, 1, v);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, what);
		goto out;
	}
	err = step_done(st, s, what);
	if (!err && changes)
		*changes = sqlite3_changes(st->db);
out:
	stmt_put(st, id, s);
	return err;
}

sc_err store_vote_remove_event(struct store *st, const char *event_id)
{
	sqlite3_stmt *s = NULL;
	int64_t record = 0;
	char *voter = NULL;
	int n = 0, rc;
	sc_err err;

	if (!event_id)
		return set_err(st, SC_ENOTFOUND, "no vote");
	err = stmt_get(st, S_VOTE_EVENT_FIND, &s);
	if (err)
		return err;
	rc = bind_str(s, 1, event_id);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		record = sqlite3_column_int64(s, 0);
		voter = strdup((const char *)sqlite3_column_text(s, 1));
		if (!voter)
			err = SC_ENOMEM;
	} else if (rc != SQLITE_DONE) {
		err = db_err(st, rc, "cannot find vote");
	}
	stmt_put(st, S_VOTE_EVENT_FIND, s);
	if (!err && voter) {
		/* the voter's vote is their latest reaction still shown */
		err = run_str(st, S_VOTE_EVENT_DEL, event_id, "cannot remove vote", NULL);
		if (!err)
			err = vote_run(st, S_VOTE_DEL_VOTER, record, voter, NULL, NULL);
		if (!err)
			err = vote_run(st, S_VOTE_RESTORE, record, voter, NULL, NULL);
		free(voter);
		return err;
	}
	if (!err) /* a vote from before schema 6 */
		err = run_str(st, S_VOTE_DEL_EVENT, event_id, "cannot remove vote",
			      &n);
	if (!err && !n)
		err = set_err(st, SC_ENOTFOUND, "event '%s' is no vote",
			      event_id);
	return err;
}

sc_err store_reply_link(struct store *st, const char *reply_event_id,
			int64_t record)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!reply_event_id)
		return set_err(st, SC_EINVAL, "reply link without event");
	err = stmt_get(st, S_REPLY_LINK, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, reply_event_id);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 2, record);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = set_err(st, SC_ENOTFOUND, "no record %lld",
			      (long long)record);
	else if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot link reply");
out:
	stmt_put(st, S_REPLY_LINK, s);
	return err;
}

sc_err store_record_for_event(struct store *st, const char *event_id,
			      int64_t *record)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!event_id)
		return set_err(st, SC_ENOTFOUND, "no record for that event");
	err = stmt_get(st, S_FOR_EVENT, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		err = set_err(st, SC_ENOTFOUND, "no record for event '%s'",
			      event_id);
	else if (rc != SQLITE_ROW)
		err = db_err(st, rc, "cannot look up event");
	else
		*record = sqlite3_column_int64(s, 0);
out:
	stmt_put(st, S_FOR_EVENT, s);
	return err;
}

/* ---- rooms ---- */

/* A borrowed view of a rooms row (strings die with the step). */
static void row_room(sqlite3_stmt *s, struct room *r)
{
	r->room_id = (char *)col_str(s, 0);
	r->tz = (char *)col_str(s, 1);
	r->digest_minute = sqlite3_column_int(s, 2);
	r->digest_days = (unsigned)sqlite3_column_int64(s, 3);
	r->last_digest = sqlite3_column_int64(s, 4);
	r->joined_at = sqlite3_column_int64(s, 5);
	r->meeting = sqlite3_column_int64(s, 6);
	r->encrypted = sqlite3_column_int(s, 7);
	r->name = (char *)col_str(s, 8);
}

sc_err store_room_get(struct store *st, const char *room_id,
		      struct room *out)
{
	sqlite3_stmt *s = NULL;
	struct room r, view;
	sc_err err;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!room_id)
		return set_err(st, SC_EINVAL, "no room");
	err = stmt_get(st, S_ROOM_GET, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = set_err(st, SC_ENOTFOUND, "unknown room '%s'", room_id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = db_err(st, rc, "cannot read room");
		goto out;
	}
	row_room(s, &view);
	r = view;
	r.room_id = r.tz = r.name = NULL;
	err = col_dup(s, 0, &r.room_id);
	if (!err)
		err = col_dup(s, 1, &r.tz);
	if (!err)
		err = col_dup(s, 8, &r.name);
	if (err)
		set_err(st, err, "out of memory");
out:
	stmt_put(st, S_ROOM_GET, s);
	if (err) {
		room_clear(&r);
		return err;
	}
	*out = r;
	return SC_OK;
}

sc_err store_room_put(struct store *st, const struct room *r)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!r->room_id)
		return set_err(st, SC_EINVAL, "room without id");
	err = stmt_get(st, S_ROOM_PUT, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, r->room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, r->tz);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 3, r->digest_minute);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 4, r->digest_days);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 5, r->last_digest);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 6, r->joined_at);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 7, r->meeting);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 8, r->encrypted != 0);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 9, r->name);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot save room");
		goto out;
	}
	err = step_done(st, s, "cannot save room");
out:
	stmt_put(st, S_ROOM_PUT, s);
	return err;
}

sc_err store_rooms(struct store *st, room_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_ROOMS, &s);
	int rc;

	if (err)
		goto out;
	for (;;) {
		struct room r;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		row_room(s, &r);
		if (cb(&r, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot list rooms");
out:
	stmt_put(st, S_ROOMS, s);
	return err;
}

/* ---- members ---- */

sc_err store_member_put(struct store *st, const char *room_id,
			const char *user_id, const char *display_name,
			const char *membership, int power)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!room_id || !user_id || !membership)
		return set_err(st, SC_EINVAL, "incomplete member");
	err = stmt_get(st, S_MEMBER_PUT, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, display_name);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, membership);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 5, power);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot save member");
		goto out;
	}
	err = step_done(st, s, "cannot save member");
out:
	stmt_put(st, S_MEMBER_PUT, s);
	return err;
}

/* UPDATE members (room, [user], power) through statement id. */
static sc_err member_power(struct store *st, enum stmt_id id,
			   const char *room_id, const char *user_id,
			   int64_t power)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, id, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK && user_id)
		rc = bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = bind_int(s, user_id ? 3 : 2, power);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot set power levels");
		goto out;
	}
	err = step_done(st, s, "cannot set power levels");
out:
	stmt_put(st, id, s);
	return err;
}

sc_err store_member_powers(struct store *st, const char *room_id,
			   const char *const *users, const int *levels,
			   size_t n, int default_power)
{
	sc_err err;

	if (!room_id)
		return set_err(st, SC_EINVAL, "no room");
	for (size_t i = 0; i < n; i++)
		if (!users[i])
			return set_err(st, SC_EINVAL,
				       "power level without user");
	err = store_tx_begin(st);
	if (err)
		return err;
	err = member_power(st, S_MEMBER_POWER_ALL, room_id, NULL,
			   default_power);
	for (size_t i = 0; i < n && !err; i++)
		err = member_power(st, S_MEMBER_POWER, room_id, users[i],
				   levels[i]);
	return tx_end(st, err);
}

sc_err store_member_spoke(struct store *st, const char *room_id,
			  const char *user_id, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!room_id || !user_id)
		return set_err(st, SC_EINVAL, "no room or user");
	err = stmt_get(st, S_MEMBER_SPOKE, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 3, ts);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot update member");
		goto out;
	}
	err = step_done(st, s, "cannot update member");
	if (!err && !sqlite3_changes(st->db))
		err = set_err(st, SC_ENOTFOUND, "%s is no known member of %s",
			      user_id, room_id);
out:
	stmt_put(st, S_MEMBER_SPOKE, s);
	return err;
}

static void row_member(sqlite3_stmt *s, struct member *m)
{
	m->user_id = col_str(s, 0);
	m->display_name = col_str(s, 1);
	m->membership = col_str(s, 2);
	m->power = sqlite3_column_int(s, 3);
	m->last_spoke = sqlite3_column_int64(s, 4);
}

sc_err store_member_get(struct store *st, const char *room_id,
			const char *user_id, struct member *out)
{
	sqlite3_stmt *s = NULL;
	struct member m;
	char *uid = NULL, *name = NULL, *ms = NULL;
	sc_err err;
	int rc;

	memset(&m, 0, sizeof(m));
	if (!room_id || !user_id)
		return set_err(st, SC_EINVAL, "no room or user");
	err = stmt_get(st, S_MEMBER_GET, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = set_err(st, SC_ENOTFOUND, "%s is no known member of %s",
			      user_id, room_id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = db_err(st, rc, "cannot read member");
		goto out;
	}
	row_member(s, &m);
	err = col_dup(s, 0, &uid);
	if (!err)
		err = col_dup(s, 1, &name);
	if (!err)
		err = col_dup(s, 2, &ms);
	if (err)
		set_err(st, err, "out of memory");
out:
	stmt_put(st, S_MEMBER_GET, s);
	if (err) {
		free(uid);
		free(name);
		free(ms);
		return err;
	}
	m.user_id = uid;
	m.display_name = name;
	m.membership = ms;
	*out = m;
	return SC_OK;
}

sc_err store_members(struct store *st, const char *room_id, int with_invited,
		     member_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!room_id)
		return set_err(st, SC_EINVAL, "no room");
	err = stmt_get(st, S_MEMBERS, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 2, with_invited != 0);
	while (rc == SQLITE_OK) {
		struct member m;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		row_member(s, &m);
		if (cb(&m, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot list members");
out:
	stmt_put(st, S_MEMBERS, s);
	return err;
}

/* Candidates of one tier of store_member_resolve. */
struct names {
	size_t n;
	char *first;
	struct sbuf list; /* ", "-separated */
};

static sc_err names_add(struct names *nm, const char *uid)
{
	if (!nm->n) {
		nm->first = strdup(uid);
		if (!nm->first)
			return SC_ENOMEM;
	}
	nm->n++;
	return sbuf_printf(&nm->list, "%s%s", nm->n > 1 ? ", " : "", uid);
}

/*
 * "@elon:example.org" is a full id: it must be a joined member (an exact
 * match, else one that differs only in ASCII case). Anything else, with
 * or without the '@', is compared with every joined member's localpart
 * and display name, ignoring ASCII case. Whole matches come first: one
 * resolves, several are ambiguous. Without any, members whose name
 * merely starts with it are not a guess to pick from but the
 * candidates of an SC_EAMBIGUOUS ("'el' could be @eli:..., @elon:...").
 */
sc_err store_member_resolve(struct store *st, const char *room_id,
			    const char *name, char **out, char **candidates)
{
	sqlite3_stmt *s = NULL;
	struct names whole, part, *pick;
	const char *bare;
	enum stmt_id id;
	int full, rc;
	sc_err err;

	if (!room_id || !name)
		return set_err(st, SC_EINVAL, "no room or name");
	full = name[0] == '@' && strchr(name, ':');
	bare = full ? name : name + (name[0] == '@');
	if (!*bare)
		return set_err(st, SC_EINVAL, "empty name");
	id = full ? S_MEMBER_FULL : S_MEMBER_NAME;
	memset(&whole, 0, sizeof(whole));
	memset(&part, 0, sizeof(part));
	sbuf_init(&whole.list, 0);
	sbuf_init(&part.list, 0);
	err = stmt_get(st, id, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, bare);
	while (rc == SQLITE_OK) {
		const char *uid;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		uid = col_str(s, 0);
		if (!uid) {
			err = set_err(st, SC_ENOMEM, "out of memory");
			goto out;
		}
		err = names_add(sqlite3_column_int(s, 1) ? &whole : &part, uid);
		if (err) {
			set_err(st, err, "too many members match '%s'", name);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		err = db_err(st, rc, "cannot resolve member");
		goto out;
	}
	pick = whole.n ? &whole : &part;
	if (!pick->n) {
		err = set_err(st, SC_ENOTFOUND, "nobody called '%s' in %s",
			      name, room_id);
	} else if (pick->n == 1 && (pick == &whole || full)) {
		/* for a full id, a case difference is no guess */
		*out = pick->first;
		pick->first = NULL;
	} else {
		err = set_err(st, SC_EAMBIGUOUS, "'%s' could be %s", name,
			      pick->list.buf);
		if (candidates)
			*candidates = sbuf_detach(&pick->list, NULL);
	}
out:
	stmt_put(st, id, s);
	free(whole.first);
	free(part.first);
	sbuf_release(&whole.list);
	sbuf_release(&part.list);
	return err;
}

/* ---- meetings ---- */

sc_err store_note_add(struct store *st, int64_t meeting, int64_t ts,
		      const char *author, const char *kind, const char *text)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!author || !kind || !text)
		return set_err(st, SC_EINVAL, "incomplete note");
	if (bad_text(text) || bad_text(author))
		return set_err(st, SC_EINVAL, "note is not valid utf-8");
	err = stmt_get(st, S_NOTE_ADD, &s);
	if (err)
		goto out;
	rc = bind_int(s, 1, meeting);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 2, ts);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, author);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, kind);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 5, text);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = set_err(st, SC_ENOTFOUND, "no meeting %lld",
			      (long long)meeting);
	else if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot add note");
out:
	stmt_put(st, S_NOTE_ADD, s);
	return err;
}

sc_err store_notes(struct store *st, int64_t meeting, note_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_NOTES, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, meeting);
	while (rc == SQLITE_OK) {
		struct note n;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		n.ts = sqlite3_column_int64(s, 0);
		n.author = col_str(s, 1);
		n.kind = col_str(s, 2);
		n.text = col_str(s, 3);
		n.id = sqlite3_column_int64(s, 4);
		n.withdrawn = sqlite3_column_int64(s, 5);
		n.after = sqlite3_column_int64(s, 6);
		if (cb(&n, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot read notes");
out:
	stmt_put(st, S_NOTES, s);
	return err;
}

sc_err store_attendee_add(struct store *st, int64_t meeting,
			  const char *user_id)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!user_id)
		return set_err(st, SC_EINVAL, "attendee without user");
	err = stmt_get(st, S_ATTENDEE_ADD, &s);
	if (err)
		goto out;
	rc = bind_int(s, 1, meeting);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = set_err(st, SC_ENOTFOUND, "no meeting %lld",
			      (long long)meeting);
	else if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot add attendee");
out:
	stmt_put(st, S_ATTENDEE_ADD, s);
	return err;
}

sc_err store_attendees(struct store *st, int64_t meeting, str_cb cb,
		       void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_ATTENDEES, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, meeting);
	while (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (cb(col_str(s, 0), ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot read attendees");
out:
	stmt_put(st, S_ATTENDEES, s);
	return err;
}

sc_err store_note_withdraw(struct store *st, int64_t note, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_NOTE_WITHDRAW, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, note);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 2, ts > 0 ? ts : 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot withdraw note");
	else if (!sqlite3_changes(st->db))
		err = set_err(st, SC_ENOTFOUND, "no note %lld to withdraw",
			      (long long)note);
out:
	stmt_put(st, S_NOTE_WITHDRAW, s);
	return err;
}

sc_err store_attendee_line(struct store *st, int64_t meeting,
			   const char *user_id, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!user_id)
		return set_err(st, SC_EINVAL, "attendee without user");
	err = stmt_get(st, S_ATTENDEE_LINE, &s);
	if (err)
		goto out;
	rc = bind_int(s, 1, meeting);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 3, ts > 0 ? ts : 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = set_err(st, SC_ENOTFOUND, "no meeting %lld",
			      (long long)meeting);
	else if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot add attendee");
out:
	stmt_put(st, S_ATTENDEE_LINE, s);
	return err;
}

sc_err store_attendance(struct store *st, int64_t meeting, int by_lines,
			attendance_cb cb, void *ctx)
{
	enum stmt_id id = by_lines ? S_ATTENDANCE_LINES : S_ATTENDANCE;
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, id, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, meeting);
	while (rc == SQLITE_OK) {
		struct attendee a;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		a.user_id = col_str(s, 0);
		a.lines = sqlite3_column_int64(s, 1);
		a.first = sqlite3_column_int64(s, 2);
		if (cb(&a, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot read attendees");
out:
	stmt_put(st, id, s);
	return err;
}

/* ---- kv ---- */

sc_err store_temp_in_memory(struct store *st)
{
	return exec_plain(st, "PRAGMA temp_store = MEMORY");
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
	return rc == SQLITE_OK ? SC_OK : db_err(st, rc, "cannot read data_version");
}

sc_err store_room_upgrade(struct store *st, const char *old_room,
			  const char *new_room)
{
	struct room o, n;
	sqlite3_stmt *s = NULL;
	struct sbuf key;
	sc_err err = store_room_get(st, old_room, &o);
	int rc;

	if (err)
		return err;
	err = store_room_get(st, new_room, &n);
	if (err == SC_ENOTFOUND) {
		memset(&n, 0, sizeof(n));
		n.digest_minute = -1;
		err = record_set(&n.room_id, new_room);
		if (!err)
			err = record_set(&n.name, o.name);
	}
	if (err)
		goto out;
	/* the room's settings go along where the new room has none */
	if (!n.tz)
		err = record_set(&n.tz, o.tz);
	if (n.digest_minute == -1) {
		n.digest_minute = o.digest_minute;
		n.digest_days = o.digest_days;
		n.last_digest = o.last_digest;
	}
	if (!n.meeting)
		n.meeting = o.meeting;
	if (!err)
		err = store_room_put(st, &n);
	if (!err)
		err = stmt_get(st, S_RECORDS_MOVE, &s);
	if (!err) {
		rc = bind_str(s, 1, old_room);
		if (rc == SQLITE_OK)
			rc = bind_str(s, 2, new_room);
		err = rc == SQLITE_OK ? step_done(st, s, "cannot move records") :
					db_err(st, rc, "cannot move records");
		stmt_put(st, S_RECORDS_MOVE, s);
	}
	/* their reminders, and the room's alert settings where the new
	 * room has none */
	if (!err)
		err = store_remind_room_move(st, old_room, new_room);
	/* the old room: no digest, no meeting, not joined as far as the
	 * record goes */
	o.joined_at = 0;
	o.meeting = 0;
	o.digest_minute = -2;
	if (!err)
		err = store_room_put(st, &o);
	sbuf_init(&key, 0);
	if (!err)
		err = sbuf_printf(&key, "room.upgraded.%s", old_room);
	if (!err)
		err = store_kv_put(st, key.buf, new_room);
	sbuf_setlen(&key, 0);
	if (!err)
		err = sbuf_printf(&key, "room.upgrade_of.%s", new_room);
	if (!err)
		err = store_kv_put(st, key.buf, old_room);
	sbuf_release(&key);
out:
	room_clear(&o);
	room_clear(&n);
	return err;
}

sc_err store_kv_get(struct store *st, const char *key, char **out)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;
	sc_err err;
	int rc;

	if (!key)
		return set_err(st, SC_EINVAL, "no key");
	err = stmt_get(st, S_KV_GET, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, key);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		err = set_err(st, SC_ENOTFOUND, "'%s' is not set", key);
	else if (rc != SQLITE_ROW)
		err = db_err(st, rc, "cannot read setting");
	else if (col_dup(s, 0, &v) || !v)
		err = set_err(st, SC_ENOMEM, "out of memory");
out:
	stmt_put(st, S_KV_GET, s);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	return SC_OK;
}

sc_err store_kv_put(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!key || !value)
		return set_err(st, SC_EINVAL, "no key or value");
	err = stmt_get(st, S_KV_PUT, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, key);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, value);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot save setting");
		goto out;
	}
	err = step_done(st, s, "cannot save setting");
out:
	stmt_put(st, S_KV_PUT, s);
	return err;
}

/* Deleting a key that is not set is not an error. */
sc_err store_kv_del(struct store *st, const char *key)
{
	if (!key)
		return set_err(st, SC_EINVAL, "no key");
	return run_str(st, S_KV_DEL, key, "cannot delete setting", NULL);
}

/* ---- outbox ---- */

sc_err store_outbox_add(struct store *st, const char *txn_id,
			const char *room_id, const char *type,
			const char *content, int64_t record)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!txn_id || !room_id || !type || !content)
		return set_err(st, SC_EINVAL, "incomplete outbox message");
	err = stmt_get(st, S_OUTBOX_ADD, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, txn_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, room_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, type);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, content);
	if (rc == SQLITE_OK)
		rc = bind_opt(s, 5, record);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = set_err(st, SC_ENOTFOUND, "no record %lld",
			      (long long)record);
	else if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot queue message");
out:
	stmt_put(st, S_OUTBOX_ADD, s);
	return err;
}

sc_err store_outbox_replace(struct store *st, int64_t seq, const char *type,
			    const char *content)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!type || !content)
		return set_err(st, SC_EINVAL, "incomplete outbox message");
	err = stmt_get(st, S_OUTBOX_REPLACE, &s);
	if (err)
		goto out;
	rc = bind_int(s, 1, seq);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, type);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, content);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot replace message");
		goto out;
	}
	err = step_done(st, s, "cannot replace message");
	if (!err && !sqlite3_changes(st->db))
		err = set_err(st, SC_ENOTFOUND, "no queued message %lld",
			      (long long)seq);
out:
	stmt_put(st, S_OUTBOX_REPLACE, s);
	return err;
}

sc_err store_outbox_pending(struct store *st, int limit, outbox_cb cb,
			    void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_OUTBOX_PENDING, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, limit > 0 ? limit : -1);
	while (rc == SQLITE_OK) {
		struct outbox_msg m;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		m.seq = sqlite3_column_int64(s, 0);
		m.txn_id = col_str(s, 1);
		m.room_id = col_str(s, 2);
		m.type = col_str(s, 3);
		m.content = col_str(s, 4);
		m.record = sqlite3_column_int64(s, 5);
		m.encrypted = sqlite3_column_int(s, 6);
		if (cb(&m, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot read outbox");
out:
	stmt_put(st, S_OUTBOX_PENDING, s);
	return err;
}

sc_err store_outbox_last(struct store *st, int64_t *seq)
{
	return stmt_int(st, S_OUTBOX_LAST, "cannot read outbox", seq);
}

int store_in_tx(const struct store *st)
{
	return st->depth > 0;
}

/* The record a queued message is about (0 = none). */
static sc_err outbox_record(struct store *st, int64_t seq, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_OUTBOX_GET, &s);
	int rc;

	if (err)
		goto out;
	rc = bind_int(s, 1, seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		err = set_err(st, SC_ENOTFOUND, "no queued message %lld",
			      (long long)seq);
	else if (rc != SQLITE_ROW)
		err = db_err(st, rc, "cannot read outbox");
	else
		*out = sqlite3_column_int64(s, 0);
out:
	stmt_put(st, S_OUTBOX_GET, s);
	return err;
}

/* event_id NULL: the message was dropped, not sent; nothing to link. */
sc_err store_outbox_done(struct store *st, int64_t seq, const char *event_id)
{
	int64_t record = 0;
	sc_err err = store_tx_begin(st);

	if (err)
		return err;
	err = outbox_record(st, seq, &record);
	if (!err)
		err = run_id(st, S_OUTBOX_DEL, seq, "cannot dequeue message");
	if (!err && record && event_id)
		err = store_reply_link(st, event_id, record);
	return tx_end(st, err);
}

/* ---- seen events, stats ---- */

sc_err store_event_seen(struct store *st, const char *event_id,
			const char *sender, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!event_id)
		return set_err(st, SC_EINVAL, "no event id");
	err = stmt_get(st, S_EVENT_SEEN, &s);
	if (err)
		goto out;
	rc = bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = bind_int(s, 2, ts);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, sender);
	if (rc != SQLITE_OK) {
		err = db_err(st, rc, "cannot mark event");
		goto out;
	}
	err = step_done(st, s, "cannot mark event");
	if (!err && !sqlite3_changes(st->db))
		err = set_err(st, SC_EEXISTS, "event '%s' was seen already",
			      event_id);
out:
	stmt_put(st, S_EVENT_SEEN, s);
	return err;
}

sc_err store_event_edit(struct store *st, const char *event_id,
			const char *original)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_EVENT_EDIT, &s);
	int rc;

	if (err)
		return err;
	rc = bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, original);
	err = rc == SQLITE_OK ? step_done(st, s, "cannot mark edit") :
				db_err(st, rc, "cannot mark edit");
	stmt_put(st, S_EVENT_EDIT, s);
	return err;
}

sc_err store_event_get(struct store *st, const char *event_id, char **sender,
		       char **edit_of)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_EVENT_GET, &s);
	int rc;

	*sender = *edit_of = NULL;
	if (err)
		return err;
	rc = bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *a = col_str(s, 0), *b = col_str(s, 1);
		if ((a && !(*sender = strdup(a))) || (b && !(*edit_of = strdup(b)))) {
			free(*sender);
			*sender = NULL;
			err = SC_ENOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		err = set_err(st, SC_ENOTFOUND, "event '%s' not seen", event_id);
	} else {
		err = db_err(st, rc, "cannot read event");
	}
	stmt_put(st, S_EVENT_GET, s);
	return err;
}

sc_err store_events_prune(struct store *st, int64_t before)
{
	return run_id(st, S_EVENTS_PRUNE, before, "cannot prune events");
}

sc_err store_stats(struct store *st, stat_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = stmt_get(st, S_STATS, &s);
	int rc;

	if (err)
		goto out;
	for (;;) {
		enum rec_kind kind;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (rec_kind_parse(col_str(s, 1), &kind))
			continue; /* CHECK kind_valid makes this impossible */
		if (cb(col_str(s, 0), kind, sqlite3_column_int64(s, 2), ctx)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		err = db_err(st, rc, "cannot count records");
out:
	stmt_put(st, S_STATS, s);
	return err;
}

sc_err store_exec(struct store *st, const char *sql)
{
	return exec_plain(st, sql);
}

sc_err store_record_check(struct store *st, const struct record *r)
{
	return check_record(st, r);
}
