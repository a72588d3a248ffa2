/* SPDX-License-Identifier: MIT */
/*
 * store_remind.c - the schedule of reminders and escalations, the rooms'
 * alert settings, people's time zones and the threads records came from
 * (store_remind.h is the contract), and the schema migration that brings
 * them: R records (reminders) join the records table, and four small
 * tables hold the rest. Every statement takes bound parameters and stays
 * prepared in the store's statement cache; the hot one, the earliest
 * pending firing, is a single lookup in a partial index.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"
#include "store_remind.h"
#include "banned.h"

/*
 * The migration. R records are records like the others, so the CHECK
 * constraints of `records` must allow kind 'reminder' and its statuses.
 * SQLite cannot alter a constraint, and rebuilding a table of a million
 * records (with its full-text index, views and foreign keys) would take
 * minutes; widening a CHECK changes no stored byte, so the table's
 * definition is edited in place the way SQLite documents for such
 * changes (writable_schema, then a schema reload), and a check makes
 * the migration fail rather than go on when the text was not the one
 * expected. The CREATE TABLEs after it change the schema cookie, so
 * other connections reload the schema too.
 *
 * reminders: one row per record and purpose (store_remind.h); fire_at
 * is NULL when nothing is pending, so the partial index holds only what
 * will fire. room_alerts: a room's lead time, ops hours, on-call hours
 * and escalation contacts (NULL = bot.conf's). user_zones: !tz me.
 * record_threads: the thread a record's command was said in.
 */
const char store_schema_remind[] =
	"PRAGMA writable_schema = ON;\n"
	"UPDATE sqlite_schema SET sql = replace(replace(sql,\n"
	"	'''meeting'', ''incident'')),',\n"
	"	'''meeting'', ''incident'', ''reminder'')),'),\n"
	"	'(kind = ''incident'' AND status IN (''open'', ''resolved''))),',\n"
	"	'(kind = ''incident'' AND status IN (''open'', ''resolved'')) OR'\n"
	"	|| char(10) || char(9) || char(9) || '(kind = ''reminder'' AND '\n"
	"	|| 'status IN (''pending'', ''done'', ''cancelled''))),')\n"
	"	WHERE type = 'table' AND name = 'records';\n"
	"PRAGMA writable_schema = RESET;\n"
	"CREATE TEMP TABLE remind_migration (ok INTEGER CHECK (ok));\n"
	"INSERT INTO remind_migration SELECT count(*) = 1 FROM sqlite_schema\n"
	"	WHERE type = 'table' AND name = 'records'\n"
	"	AND sql LIKE '%''incident'', ''reminder'')%'\n"
	"	AND sql LIKE '%kind = ''reminder'' AND status IN%';\n"
	"DROP TABLE remind_migration;\n"
	"CREATE TABLE reminders (\n"
	"	record INTEGER NOT NULL REFERENCES records (id),\n"
	"	what TEXT NOT NULL CONSTRAINT reminder_what_valid CHECK (what IN\n"
	"		('due', 'sla', 'remind')),\n"
	"	room_id TEXT NOT NULL,\n"
	"	anchor INTEGER NOT NULL,\n"
	"	fire_at INTEGER,\n"
	"	level INTEGER NOT NULL DEFAULT 0,\n"
	"	deferred INTEGER NOT NULL DEFAULT 0,\n"
	"	stopped INTEGER NOT NULL DEFAULT 0,\n"
	"	fired_at INTEGER,\n"
	"	PRIMARY KEY (record, what)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX reminders_fire ON reminders (fire_at)\n"
	"	WHERE fire_at IS NOT NULL;\n"
	"CREATE INDEX reminders_room ON reminders (room_id, what);\n"
	"CREATE TABLE room_alerts (\n"
	"	room_id TEXT PRIMARY KEY,\n"
	"	before INTEGER,\n"
	"	hours TEXT,\n"
	"	on_call TEXT,\n"
	"	contacts TEXT\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE user_zones (\n"
	"	user_id TEXT PRIMARY KEY,\n"
	"	tz TEXT NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE record_threads (\n"
	"	record INTEGER PRIMARY KEY REFERENCES records (id),\n"
	"	thread_root TEXT NOT NULL\n"
	");\n";

static const char *const what_names[] = { "due", "sla", "remind" };

const char *remind_what_name(enum remind_what w)
{
	return (unsigned)w < 3 ? what_names[w] : "?";
}

/* Called for each result row; non-zero stops the statement. */
typedef int (*row_fn)(sqlite3_stmt *s, void *ctx);

/*
 * Prepare sql (cached by its address: pass a literal), bind the
 * arguments fmt describes ('s' a string, NULL binds NULL; 'i' an
 * int64_t), step it to the end calling fn on each row. *changes (may be
 * NULL) gets sqlite3_changes().
 */
static sc_err run(struct store *st, const char *what, const char *sql,
		  row_fn fn, void *ctx, int *changes, const char *fmt, ...)
{
	sqlite3_stmt *s = NULL;
	va_list ap;
	int rc = SQLITE_OK, i = 0;
	sc_err err = store_stmt_get(st, sql, &s);

	if (err)
		return err;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && rc == SQLITE_OK; f++) {
		i++;
		if (*f == 's') {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) :
				 sqlite3_bind_null(s, i);
		} else {
			rc = sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
		}
	}
	va_end(ap);
	while (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			rc = SQLITE_OK;
			if (fn && fn(s, ctx)) {
				rc = SQLITE_DONE;
				break;
			}
		}
	}
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, what);
	else if (changes)
		*changes = sqlite3_changes(store_sqlite(st));
	store_stmt_put(st, s);
	return err;
}

static int get_int(sqlite3_stmt *s, void *ctx)
{
	int64_t *v = ctx;

	*v = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 :
	     sqlite3_column_int64(s, 0);
	return 1;
}

/* A copied text column; *found says there was a row. */
struct one_str {
	char *v;
	int found, oom;
};

static int get_str(sqlite3_stmt *s, void *ctx)
{
	struct one_str *o = ctx;
	const char *v = (const char *)sqlite3_column_text(s, 0);

	o->found = 1;
	if (v && !(o->v = strdup(v)))
		o->oom = 1;
	return 1;
}

/* ---- parameters ---- */

#define PARAMS_KEY "remind.params"

static void params_default(struct remind_params *p)
{
	p->before = 3600;
	p->sla_critical = 4 * 3600;
	p->sla_major = 2 * 86400;
	p->levels = 2;
}

/* The defaults store_remind_setup kept (built-in ones before it ran). */
static sc_err params_get(struct store *st, struct remind_params *p)
{
	char *v = NULL;
	long long b, c, m;
	int l;
	sc_err err = store_kv_get(st, PARAMS_KEY, &v);

	params_default(p);
	if (err == SC_ENOTFOUND)
		return SC_OK;
	if (err)
		return err;
	if (sscanf(v, "%lld %lld %lld %d", &b, &c, &m, &l) == 4) {
		p->before = b;
		p->sla_critical = c;
		p->sla_major = m;
		p->levels = l;
	}
	free(v);
	return SC_OK;
}

/* The lead time of room: its own, else the default (-1 = off). */
static sc_err room_before(struct store *st, const char *room,
			  const struct remind_params *p, int64_t *out)
{
	int64_t v = ALERT_DEFAULT;
	sc_err err;

	err = run(st, "cannot read room alerts",
		  "SELECT coalesce(before, -2) FROM room_alerts "
		  "WHERE room_id = ?1", get_int, &v, NULL, "s", room);
	if (err)
		return err;
	*out = v == ALERT_DEFAULT ? p->before : v;
	return SC_OK;
}

/* When a due reminder fires: `before` ahead of due; when that moment has
 * passed already (an item due within the lead time), at due itself;
 * never for a due date that has passed. 0 = not at all. */
static int64_t due_fire(int64_t due, int64_t before, int64_t now)
{
	if (before < 0 || !due)
		return 0;
	if (due - before > now)
		return due - before;
	return due > now ? due : 0;
}

/* Whether items of this severity are escalated. */
static int escalates(const char *severity)
{
	return severity &&
	       (!strcmp(severity, "critical") || !strcmp(severity, "major"));
}

static int64_t sla_secs(const struct remind_params *p, const char *severity)
{
	if (!severity)
		return 0;
	if (!strcmp(severity, "critical"))
		return p->sla_critical;
	if (!strcmp(severity, "major"))
		return p->sla_major;
	return 0;
}

/* ---- following the records ---- */

static int is_live(const struct record *r)
{
	if (r->withdrawn)
		return 0;
	switch (r->kind) {
	case REC_TODO:
	case REC_INCIDENT:
		return !strcmp(r->status, "open");
	case REC_REMINDER:
		return !strcmp(r->status, "pending");
	default:
		return 0;
	}
}

static sc_err drop_row(struct store *st, int64_t record, enum remind_what w)
{
	return run(st, "cannot cancel reminder",
		   "DELETE FROM reminders WHERE record = ?1 AND what = ?2",
		   NULL, NULL, NULL, "is", record, what_names[w]);
}

/* Insert or re-arm a row: a new one starts at level 0; an existing one
 * takes the new anchor and time, and keeps its count of firings unless
 * reset (a new due date is a new reminder; a recurring reminder counts
 * on). */
static sc_err arm_row(struct store *st, const struct record *r,
		      enum remind_what w, int64_t anchor, int64_t fire,
		      int reset)
{
	return run(st, "cannot schedule reminder",
		   "INSERT INTO reminders (record, what, room_id, anchor, "
		   "fire_at) VALUES (?1, ?2, ?3, ?4, nullif(?5, 0)) "
		   "ON CONFLICT (record, what) DO UPDATE SET "
		   "room_id = excluded.room_id, anchor = excluded.anchor, "
		   "fire_at = excluded.fire_at, deferred = 0, "
		   "level = CASE WHEN ?6 THEN 0 ELSE level END",
		   NULL, NULL, NULL, "issiii", r->id, what_names[w], r->room_id,
		   anchor, fire, (int64_t)reset);
}

static sc_err sync_due(struct store *st, const struct remind_params *p,
		       const struct record *old, const struct record *r,
		       int was_live, int64_t now)
{
	int64_t before = 0;
	sc_err err;

	if (!r->due)
		return old && old->due ? drop_row(st, r->id, RW_DUE) : SC_OK;
	if (old && was_live && old->due == r->due)
		return SC_OK;
	err = room_before(st, r->room_id, p, &before);
	if (err)
		return err;
	/* a new date is a new reminder: it fires again */
	return arm_row(st, r, RW_DUE, r->due, due_fire(r->due, before, now), 1);
}

static sc_err sync_sla(struct store *st, const struct remind_params *p,
		       const struct record *old, const struct record *r,
		       int was_live)
{
	int64_t sla = sla_secs(p, r->severity);

	if (!sla || p->levels <= 0)
		return old ? drop_row(st, r->id, RW_SLA) : SC_OK;
	if (old && !was_live)
		/* reopened: a status change stops escalation for good */
		return run(st, "cannot schedule escalation",
			   "INSERT INTO reminders (record, what, room_id, "
			   "anchor, stopped) VALUES (?1, 'sla', ?2, ?3, 1) "
			   "ON CONFLICT (record, what) DO NOTHING",
			   NULL, NULL, NULL, "isi", r->id, r->room_id,
			   r->created);
	if (old && old->severity && !strcmp(old->severity, r->severity))
		return SC_OK;
	/* new, or a new severity: the levels count from the record's
	 * creation with the new SLA (one already passed fires now) */
	return run(st, "cannot schedule escalation",
		   "INSERT INTO reminders (record, what, room_id, anchor, "
		   "fire_at) VALUES (?1, 'sla', ?2, ?3, ?3 + ?4) "
		   "ON CONFLICT (record, what) DO UPDATE SET fire_at = "
		   "CASE WHEN stopped OR level >= ?5 THEN NULL "
		   "ELSE anchor + (level + 1) * ?4 END, deferred = 0",
		   NULL, NULL, NULL, "isiii", r->id, r->room_id, r->created, sla,
		   (int64_t)p->levels);
}

sc_err store_remind_sync(struct store *st, const struct record *old,
			 const struct record *r, int64_t now)
{
	struct remind_params p;
	int live, was_live;
	sc_err err;

	if (r->kind != REC_TODO && r->kind != REC_INCIDENT &&
	    r->kind != REC_REMINDER)
		return SC_OK;
	live = is_live(r);
	was_live = old && is_live(old);
	if (!live)
		return was_live ? run(st, "cannot cancel reminders",
				      "DELETE FROM reminders WHERE record = ?1",
				      NULL, NULL, NULL, "i", r->id) :
				  SC_OK;
	/* nothing that decides a firing changed (an edit of the text) */
	if (old && was_live && old->due == r->due &&
	    (old->severity == r->severity ||
	     (old->severity && r->severity && !strcmp(old->severity, r->severity))))
		return SC_OK;
	if (r->kind == REC_REMINDER)
		return arm_row(st, r, RW_REMIND, r->due, r->due, 0);
	/* most todos: no date, no severity that escalates */
	if (!r->due && !(old && old->due) && !escalates(r->severity) &&
	    !(old && escalates(old->severity)))
		return SC_OK;
	err = params_get(st, &p);
	if (!err && r->kind == REC_TODO)
		err = sync_due(st, &p, old, r, was_live, now);
	if (!err)
		err = sync_sla(st, &p, old, r, was_live);
	return err;
}

/* ---- setup: the defaults, and rows for what has none ---- */

/* Levels of an SLA that have ended by now (at most levels), for rows
 * made after the fact: those are passed, not fired late. In SQL, over
 * the columns anchor and sla of the statement it sits in. */
#define PASSED_LEVELS "min(?3, max(0, (?4 - anchor) / sla))"

sc_err store_remind_setup(struct store *st, const struct remind_params *p,
			  int64_t now)
{
	struct remind_params old;
	char val[128];
	sc_err err = params_get(st, &old);

	if (err)
		return err;
	snprintf(val, sizeof(val), "%lld %lld %lld %d", (long long)p->before,
		 (long long)p->sla_critical, (long long)p->sla_major,
		 p->levels);
	err = store_kv_put(st, PARAMS_KEY, val);
	if (!err && old.before != p->before)
		/* due reminders of rooms without their own lead time */
		err = run(st, "cannot move due reminders",
			  "UPDATE reminders SET deferred = 0, fire_at = CASE "
			  "WHEN ?1 < 0 THEN NULL "
			  "WHEN anchor - ?1 > ?2 THEN anchor - ?1 "
			  "WHEN anchor > ?2 THEN anchor END "
			  "WHERE what = 'due' AND level = 0 AND room_id NOT IN "
			  "(SELECT room_id FROM room_alerts WHERE before IS "
			  "NOT NULL)", NULL, NULL, NULL, "ii", p->before, now);
	if (!err && (old.sla_critical != p->sla_critical ||
		     old.sla_major != p->sla_major || old.levels != p->levels))
		/* escalations on the new SLAs; levels that ended by now
		 * under them count as passed (SET sees the old level, so
		 * the level moves first, then the time follows it) */
		err = run(st, "cannot move escalations",
			  "UPDATE reminders SET level = max(level, min(?3, "
			  "max(0, (?4 - anchor) / (SELECT CASE severity WHEN "
			  "'critical' THEN ?1 ELSE ?2 END FROM records WHERE "
			  "id = reminders.record)))) WHERE what = 'sla' AND "
			  "stopped = 0", NULL, NULL, NULL, "iiii",
			  p->sla_critical, p->sla_major, (int64_t)p->levels, now);
	if (!err && (old.sla_critical != p->sla_critical ||
		     old.sla_major != p->sla_major || old.levels != p->levels))
		err = run(st, "cannot move escalations",
			  "UPDATE reminders SET deferred = 0, fire_at = CASE "
			  "WHEN level >= ?3 THEN NULL ELSE anchor + (level + 1) "
			  "* (SELECT CASE severity WHEN 'critical' THEN ?1 ELSE "
			  "?2 END FROM records WHERE id = reminders.record) END "
			  "WHERE what = 'sla' AND stopped = 0", NULL, NULL, NULL,
			  "iii", p->sla_critical, p->sla_major,
			  (int64_t)p->levels);
	/* Rows for live records that have none: a store from before
	 * reminders, or records imported. Per known room, so each is a
	 * range of the room's open items in records_room_kind_status. */
	if (!err)
		err = run(st, "cannot schedule due reminders",
			  "INSERT OR IGNORE INTO reminders (record, what, "
			  "room_id, anchor, fire_at) SELECT id, 'due', room_id, "
			  "due, CASE WHEN b < 0 THEN NULL WHEN due - b > ?2 "
			  "THEN due - b ELSE due END FROM (SELECT r.id AS id, "
			  "r.room_id AS room_id, r.due AS due, coalesce((SELECT "
			  "before FROM room_alerts a WHERE a.room_id = "
			  "r.room_id), ?1) AS b FROM records r WHERE r.room_id "
			  "IN (SELECT room_id FROM rooms) AND r.kind = 'todo' "
			  "AND r.withdrawn = 0 AND r.status = 'open' AND "
			  "r.due > ?2)", NULL, NULL, NULL, "ii", p->before, now);
	if (!err && p->levels > 0)
		err = run(st, "cannot schedule escalations",
			  "INSERT OR IGNORE INTO reminders (record, what, "
			  "room_id, anchor, level, fire_at) SELECT id, 'sla', "
			  "room_id, anchor, " PASSED_LEVELS ", CASE WHEN "
			  PASSED_LEVELS " >= ?3 THEN NULL ELSE anchor + ("
			  PASSED_LEVELS " + 1) * sla END FROM (SELECT r.id AS "
			  "id, r.room_id AS room_id, r.created AS anchor, "
			  "CASE r.severity WHEN 'critical' THEN ?1 ELSE ?2 END "
			  "AS sla FROM records r WHERE r.room_id IN (SELECT "
			  "room_id FROM rooms) AND r.kind IN ('todo', "
			  "'incident') AND r.withdrawn = 0 AND r.status = "
			  "'open' AND r.severity IN ('critical', 'major'))",
			  NULL, NULL, NULL, "iiii", p->sla_critical,
			  p->sla_major, (int64_t)p->levels, now);
	if (!err)
		err = run(st, "cannot schedule reminders",
			  "INSERT OR IGNORE INTO reminders (record, what, "
			  "room_id, anchor, fire_at) SELECT r.id, 'remind', "
			  "r.room_id, r.due, r.due FROM records r WHERE "
			  "r.room_id IN (SELECT room_id FROM rooms) AND "
			  "r.kind = 'reminder' AND r.withdrawn = 0 AND "
			  "r.status = 'pending' AND r.due IS NOT NULL",
			  NULL, NULL, NULL, "");
	return err;
}

/* ---- the schedule ---- */

sc_err store_remind_next(struct store *st, int64_t *at)
{
	int64_t v = 0;
	sc_err err = run(st, "cannot read the schedule",
			 "SELECT min(fire_at) FROM reminders "
			 "WHERE fire_at IS NOT NULL", get_int, &v, NULL, "");

	if (!err)
		*at = v;
	return err;
}

struct due_rows {
	remind_row_cb cb;
	void *ctx;
};

static int due_row(sqlite3_stmt *s, void *ctx)
{
	struct due_rows *d = ctx;
	struct remind_row r;
	const char *w = (const char *)sqlite3_column_text(s, 1);

	memset(&r, 0, sizeof(r));
	r.record = sqlite3_column_int64(s, 0);
	r.what = !strcmp(w, "due") ? RW_DUE : !strcmp(w, "sla") ? RW_SLA :
		 RW_REMIND;
	r.room_id = (const char *)sqlite3_column_text(s, 2);
	r.anchor = sqlite3_column_int64(s, 3);
	r.fire_at = sqlite3_column_int64(s, 4);
	r.level = sqlite3_column_int(s, 5);
	r.deferred = sqlite3_column_int(s, 6);
	return d->cb(&r, d->ctx);
}

sc_err store_remind_due(struct store *st, const char *room_id, int64_t now,
			int limit, remind_row_cb cb, void *ctx)
{
	struct due_rows d = { cb, ctx };

	/* what is due drives it, never the room's rows (+room_id keeps
	 * SQLite off reminders_room: a room may have thousands waiting) */
	if (room_id)
		return run(st, "cannot read the schedule",
			   "SELECT record, what, room_id, anchor, fire_at, "
			   "level, deferred FROM reminders WHERE fire_at <= ?1 "
			   "AND +room_id = ?2 ORDER BY fire_at, record, what "
			   "LIMIT ?3", due_row, &d, NULL, "isi", now, room_id,
			   (int64_t)(limit > 0 ? limit : -1));
	return run(st, "cannot read the schedule",
		   "SELECT record, what, room_id, anchor, fire_at, level, "
		   "deferred FROM reminders WHERE fire_at <= ?1 "
		   "ORDER BY room_id, fire_at, record, what LIMIT ?2",
		   due_row, &d, NULL, "ii", now,
		   (int64_t)(limit > 0 ? limit : -1));
}

sc_err store_remind_fired(struct store *st, int64_t record,
			  enum remind_what what, int level, int64_t at,
			  int64_t next)
{
	return run(st, "cannot record a reminder",
		   "UPDATE reminders SET level = ?3, fired_at = ?4, "
		   "fire_at = nullif(?5, 0), deferred = 0 "
		   "WHERE record = ?1 AND what = ?2", NULL, NULL, NULL, "isiii",
		   record, what_names[what], (int64_t)level, at, next);
}

sc_err store_remind_defer(struct store *st, int64_t record,
			  enum remind_what what, int64_t until)
{
	return run(st, "cannot hold a reminder",
		   "UPDATE reminders SET fire_at = ?3, deferred = 1 "
		   "WHERE record = ?1 AND what = ?2", NULL, NULL, NULL, "isi",
		   record, what_names[what], until);
}

struct sla_state {
	int found, level, stopped;
	int64_t fire;
};

static int get_sla(sqlite3_stmt *s, void *ctx)
{
	struct sla_state *o = ctx;

	o->found = 1;
	o->level = sqlite3_column_int(s, 0);
	o->stopped = sqlite3_column_int(s, 1);
	o->fire = sqlite3_column_int64(s, 2);
	return 1;
}

sc_err store_remind_sla_state(struct store *st, int64_t record, int *level,
			      int *stopped)
{
	struct sla_state o = { 0, 0, 0, 0 };
	sc_err err = run(st, "cannot read an escalation",
			 "SELECT level, stopped, coalesce(fire_at, 0) FROM "
			 "reminders WHERE record = ?1 AND what = 'sla'",
			 get_sla, &o, NULL, "i", record);

	if (err)
		return err;
	if (!o.found)
		return store_fail(st, SC_ENOTFOUND, "no escalation");
	*level = o.level;
	*stopped = o.stopped;
	return SC_OK;
}

sc_err store_remind_fire_of(struct store *st, int64_t record,
			    enum remind_what what, int64_t *at)
{
	int64_t v = 0;
	sc_err err = run(st, "cannot read the schedule",
			 "SELECT fire_at FROM reminders WHERE record = ?1 "
			 "AND what = ?2", get_int, &v, NULL, "is", record,
			 what_names[what]);

	if (!err)
		*at = v;
	return err;
}

sc_err store_remind_ack(struct store *st, int64_t record, const char *actor,
			int64_t now, const char *event_id, int *stopped)
{
	struct sla_state o = { 0, 0, 0, 0 };
	char note[64];
	sc_err err = run(st, "cannot read an escalation",
			 "SELECT level, stopped, coalesce(fire_at, 0) FROM "
			 "reminders WHERE record = ?1 AND what = 'sla'",
			 get_sla, &o, NULL, "i", record);

	if (!err && o.found && !o.stopped)
		err = run(st, "cannot stop an escalation",
			  "UPDATE reminders SET stopped = 1, fire_at = NULL, "
			  "deferred = 0 WHERE record = ?1 AND what = 'sla'",
			  NULL, NULL, NULL, "i", record);
	if (o.found && !o.stopped && (o.fire || o.level))
		snprintf(note, sizeof(note), "escalation stopped at level %d",
			 o.level);
	else
		snprintf(note, sizeof(note), "acknowledged");
	if (!err)
		err = store_history_note(st, record, now, actor, "ack", note,
					 event_id);
	if (!err)
		*stopped = o.found && !o.stopped && (o.fire || o.level);
	return err;
}

/* ---- room settings ---- */

void room_alerts_clear(struct room_alerts *a)
{
	free(a->hours);
	free(a->on_call);
	free(a->contacts);
	memset(a, 0, sizeof(*a));
	a->before = ALERT_DEFAULT;
}

struct alerts_row {
	struct room_alerts *a;
	int oom;
};

static int get_alerts(sqlite3_stmt *s, void *ctx)
{
	struct alerts_row *o = ctx;

	o->a->before = sqlite3_column_type(s, 0) == SQLITE_NULL ?
		       ALERT_DEFAULT : sqlite3_column_int64(s, 0);
	o->a->hours = store_col_copy(s, 1, &o->oom);
	o->a->on_call = store_col_copy(s, 2, &o->oom);
	o->a->contacts = store_col_copy(s, 3, &o->oom);
	return 1;
}

sc_err store_alerts_get(struct store *st, const char *room_id,
			struct room_alerts *out)
{
	struct room_alerts a = { ALERT_DEFAULT, NULL, NULL, NULL };
	struct alerts_row o = { &a, 0 };
	sc_err err = run(st, "cannot read room alerts",
			 "SELECT before, hours, on_call, contacts FROM "
			 "room_alerts WHERE room_id = ?1", get_alerts, &o,
			 NULL, "s", room_id);

	if (!err && o.oom)
		err = SC_ENOMEM;
	if (err) {
		room_alerts_clear(&a);
		return err;
	}
	*out = a;
	return SC_OK;
}

sc_err store_alerts_put(struct store *st, const char *room_id,
			const struct room_alerts *a, int64_t now)
{
	struct room_alerts old;
	struct remind_params p;
	int64_t before;
	sc_err err = store_alerts_get(st, room_id, &old);

	if (err)
		return err;
	err = run(st, "cannot write room alerts",
		  "INSERT INTO room_alerts (room_id, before, hours, on_call, "
		  "contacts) VALUES (?1, nullif(?2, -2), ?3, ?4, ?5) "
		  "ON CONFLICT (room_id) DO UPDATE SET before = excluded.before, "
		  "hours = excluded.hours, on_call = excluded.on_call, "
		  "contacts = excluded.contacts", NULL, NULL, NULL, "sisss",
		  room_id, a->before, a->hours, a->on_call, a->contacts);
	if (!err && old.before != a->before) {
		err = params_get(st, &p);
		before = a->before == ALERT_DEFAULT ? p.before : a->before;
		if (!err)
			err = run(st, "cannot move due reminders",
				  "UPDATE reminders SET deferred = 0, fire_at = "
				  "CASE WHEN ?2 < 0 THEN NULL "
				  "WHEN anchor - ?2 > ?3 THEN anchor - ?2 "
				  "WHEN anchor > ?3 THEN anchor END "
				  "WHERE room_id = ?1 AND what = 'due' AND "
				  "level = 0", NULL, NULL, NULL, "sii", room_id,
				  before, now);
	}
	room_alerts_clear(&old);
	return err;
}

/* ---- people's zones, threads ---- */

sc_err store_user_tz_get(struct store *st, const char *user_id, char **tz)
{
	struct one_str o = { NULL, 0, 0 };
	sc_err err = run(st, "cannot read a time zone",
			 "SELECT tz FROM user_zones WHERE user_id = ?1",
			 get_str, &o, NULL, "s", user_id);

	if (!err && o.oom)
		err = SC_ENOMEM;
	if (!err && !o.found)
		err = store_fail(st, SC_ENOTFOUND, "no time zone");
	if (err) {
		free(o.v);
		return err;
	}
	*tz = o.v;
	return SC_OK;
}

sc_err store_user_tz_put(struct store *st, const char *user_id, const char *tz)
{
	if (!tz)
		return run(st, "cannot write a time zone",
			   "DELETE FROM user_zones WHERE user_id = ?1", NULL,
			   NULL, NULL, "s", user_id);
	return run(st, "cannot write a time zone",
		   "INSERT INTO user_zones (user_id, tz) VALUES (?1, ?2) "
		   "ON CONFLICT (user_id) DO UPDATE SET tz = excluded.tz",
		   NULL, NULL, NULL, "ss", user_id, tz);
}

sc_err store_record_thread_put(struct store *st, const char *event_id,
			       const char *thread_root)
{
	return run(st, "cannot note a thread",
		   "INSERT OR IGNORE INTO record_threads (record, thread_root) "
		   "SELECT id, ?2 FROM records WHERE event_id = ?1",
		   NULL, NULL, NULL, "ss", event_id, thread_root);
}

sc_err store_record_thread_get(struct store *st, int64_t record, char **root)
{
	struct one_str o = { NULL, 0, 0 };
	sc_err err = run(st, "cannot read a thread",
			 "SELECT thread_root FROM record_threads "
			 "WHERE record = ?1", get_str, &o, NULL, "i", record);

	if (!err && o.oom)
		err = SC_ENOMEM;
	if (!err && !o.found)
		err = store_fail(st, SC_ENOTFOUND, "no thread");
	if (err) {
		free(o.v);
		return err;
	}
	*root = o.v;
	return SC_OK;
}

/* ---- breaches ---- */

struct ids {
	int64_t *v;
	size_t n, cap;
	int oom;
};

static int get_id(sqlite3_stmt *s, void *ctx)
{
	struct ids *ids = ctx;

	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 16;
		int64_t *v = realloc(ids->v, cap * sizeof(*v));

		if (!v) {
			ids->oom = 1;
			return 1;
		}
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = sqlite3_column_int64(s, 0);
	return 0;
}

sc_err store_remind_breaches(struct store *st, const char *room_id,
			     int64_t from, int64_t to, int64_t sla_critical,
			     int64_t sla_major, rec_cb cb, void *ctx,
			     int64_t *count)
{
	struct ids ids = { NULL, 0, 0, 0 };
	sc_err err;

	/* For each kind and severity, the SLA ends in [from, to) exactly
	 * when created is in [from - sla, to - sla): a range of
	 * records_room_kind_created per pair, never a walk over the room. */
	err = run(st, "cannot count breaches",
		  "SELECT id FROM (SELECT r.id AS id, r.created + s.sla AS "
		  "ends FROM (SELECT 'critical' AS sev, ?4 AS sla UNION ALL "
		  "SELECT 'major', ?5) s, (SELECT 'todo' AS k UNION ALL "
		  "SELECT 'incident') k, records r WHERE r.room_id = ?1 AND "
		  "r.kind = k.k AND r.withdrawn = 0 AND r.created >= ?2 - s.sla "
		  "AND r.created < ?3 - s.sla AND r.severity = s.sev AND "
		  "(r.closed IS NULL OR r.closed > r.created + s.sla)) "
		  "ORDER BY ends, id", get_id, &ids, NULL, "siiii", room_id,
		  from, to, sla_critical, sla_major);
	if (!err && ids.oom)
		err = SC_ENOMEM;
	for (size_t i = 0; i < ids.n && !err && cb; i++) {
		struct record r;

		err = store_record_get_id(st, ids.v[i], &r);
		if (err)
			break;
		if (cb(&r, ctx)) {
			record_clear(&r);
			break;
		}
		record_clear(&r);
	}
	if (!err)
		*count = (int64_t)ids.n;
	free(ids.v);
	return err;
}

sc_err store_remind_room_move(struct store *st, const char *old_room,
			      const char *new_room)
{
	sc_err err = run(st, "cannot move reminders",
			 "UPDATE reminders SET room_id = ?2 WHERE room_id = ?1",
			 NULL, NULL, NULL, "ss", old_room, new_room);

	if (!err)
		err = run(st, "cannot move room alerts",
			  "INSERT OR IGNORE INTO room_alerts (room_id, before, "
			  "hours, on_call, contacts) SELECT ?2, before, hours, "
			  "on_call, contacts FROM room_alerts WHERE room_id = ?1",
			  NULL, NULL, NULL, "ss", old_room, new_room);
	return err;
}
