/* SPDX-License-Identifier: MIT */
/*
 * store_crypto.c - the end-to-end encryption tables (schema migration 2)
 * and their accessors; store_crypto.h is the contract. Statements take
 * bound parameters only and stay prepared in the store's statement cache
 * (store_stmt_get): the inbound session and the replay log are read for
 * every encrypted message.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_crypto.h"
#include "store_int.h"
#include "banned.h"

const char store_schema_v2[] =
	"CREATE TABLE crypto_state (\n"
	"	name TEXT PRIMARY KEY,\n"
	"	value TEXT NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE olm_sessions (\n"
	"	session_id TEXT PRIMARY KEY,\n"
	"	curve_key TEXT NOT NULL,\n"
	"	pickle TEXT NOT NULL,\n"
	"	created INTEGER NOT NULL,\n"
	"	last_used INTEGER NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX olm_sessions_curve\n"
	"	ON olm_sessions (curve_key, last_used);\n"
	"CREATE TABLE megolm_in (\n"
	"	room_id TEXT NOT NULL,\n"
	"	session_id TEXT NOT NULL,\n"
	"	sender_key TEXT NOT NULL,\n"
	"	sender_user TEXT NOT NULL,\n"
	"	ed25519 TEXT,\n"
	"	first_index INTEGER NOT NULL,\n"
	"	pickle TEXT NOT NULL,\n"
	"	PRIMARY KEY (room_id, session_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE megolm_seen (\n"
	"	room_id TEXT NOT NULL,\n"
	"	session_id TEXT NOT NULL,\n"
	"	msg_index INTEGER NOT NULL,\n"
	"	event_id TEXT NOT NULL,\n"
	"	PRIMARY KEY (room_id, session_id, msg_index)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE megolm_out (\n"
	"	room_id TEXT PRIMARY KEY,\n"
	"	session_id TEXT NOT NULL,\n"
	"	pickle TEXT NOT NULL,\n"
	"	created INTEGER NOT NULL,\n"
	"	max_msgs INTEGER NOT NULL,\n"
	"	max_age_ms INTEGER NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE megolm_shared (\n"
	"	room_id TEXT NOT NULL,\n"
	"	session_id TEXT NOT NULL,\n"
	"	user_id TEXT NOT NULL,\n"
	"	device_id TEXT NOT NULL,\n"
	"	PRIMARY KEY (room_id, session_id, user_id, device_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX megolm_shared_device\n"
	"	ON megolm_shared (user_id, device_id);\n"
	"CREATE TABLE devices (\n"
	"	user_id TEXT NOT NULL,\n"
	"	device_id TEXT NOT NULL,\n"
	"	curve25519 TEXT NOT NULL,\n"
	"	ed25519 TEXT NOT NULL,\n"
	"	cross_signed INTEGER NOT NULL DEFAULT 0,\n"
	"	PRIMARY KEY (user_id, device_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX devices_curve ON devices (curve25519);\n"
	"CREATE TABLE device_users (\n"
	"	user_id TEXT PRIMARY KEY,\n"
	"	outdated INTEGER NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE undecrypted (\n"
	"	event_id TEXT PRIMARY KEY,\n"
	"	room_id TEXT NOT NULL,\n"
	"	session_id TEXT NOT NULL,\n"
	"	event TEXT NOT NULL,\n"
	"	ts INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX undecrypted_session\n"
	"	ON undecrypted (room_id, session_id);\n";

/* Called for each result row; non-zero stops the statement. */
typedef int (*row_fn)(sqlite3_stmt *s, void *ctx);

/*
 * Prepare sql, bind the arguments described by fmt ('s' a string, NULL
 * binds NULL; 'i' an int64_t), step it to the end calling fn (may be
 * NULL) on each row. *changes (may be NULL) gets sqlite3_changes().
 */
static sc_err run(struct store *st, const char *what, const char *sql,
		  row_fn fn, void *ctx, int *changes, const char *fmt, ...)
{
	sqlite3 *db = store_sqlite(st);
	sqlite3_stmt *s = NULL;
	va_list ap;
	int rc, i = 0;
	sc_err err = SC_OK;

	err = store_stmt_get(st, sql, &s);
	if (err)
		return err;
	rc = SQLITE_OK;
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
		*changes = sqlite3_changes(db);
	store_stmt_put(st, s);
	return err;
}

/* What a one-row SELECT fills in: the row's copy, whether there was a
 * row, whether a copy failed. */
struct one_row {
	void *row;
	int found, oom;
};

/* The outcome of a one-row SELECT that returned err. */
static sc_err one_row_result(struct store *st, sc_err err,
			     const struct one_row *o, const char *missing)
{
	if (!err && o->oom)
		return SC_ENOMEM;
	if (!err && !o->found)
		return store_fail(st, SC_ENOTFOUND, "%s", missing);
	return err;
}

/* ---- named values ---- */

static int get_str(sqlite3_stmt *s, void *ctx)
{
	struct one_row *o = ctx;

	o->found = 1;
	*(char **)o->row = store_col_copy(s, 0, &o->oom);
	return 1;
}

sc_err store_crypto_get(struct store *st, const char *name, char **out)
{
	char *v = NULL;
	struct one_row o = { &v, 0, 0 };
	sc_err err;

	if (!name)
		return store_fail(st, SC_EINVAL, "no name");
	err = run(st, "cannot read crypto state",
		  "SELECT value FROM crypto_state WHERE name = ?", get_str, &o,
		  NULL, "s", name);
	err = one_row_result(st, err, &o, "no such crypto state");
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	return SC_OK;
}

sc_err store_crypto_put(struct store *st, const char *name, const char *value)
{
	if (!name || !value)
		return store_fail(st, SC_EINVAL, "incomplete crypto state");
	return run(
	    st, "cannot write crypto state",
	    "INSERT OR REPLACE INTO crypto_state (name, value) VALUES (?, ?)",
	    NULL, NULL, NULL, "ss", name, value);
}

/* ---- olm sessions ---- */

sc_err store_olm_put(struct store *st, const char *session_id,
		     const char *curve_key, const char *pickle, int64_t now)
{
	if (!session_id || !curve_key || !pickle)
		return store_fail(st, SC_EINVAL, "incomplete olm session");
	return run(st, "cannot save olm session",
		   "INSERT INTO olm_sessions (session_id, curve_key, pickle, "
		   "created, last_used) VALUES (?1, ?2, ?3, ?4, ?4) "
		   "ON CONFLICT (session_id) DO UPDATE SET pickle = ?3, "
		   "last_used = ?4",
		   NULL, NULL, NULL, "sssi", session_id, curve_key, pickle,
		   now);
}

struct olm_ctx {
	olm_row_cb cb;
	void *ctx;
};

static int olm_row(sqlite3_stmt *s, void *ctx)
{
	struct olm_ctx *o = ctx;
	struct olm_row r = { store_col_str(s, 0), store_col_str(s, 1), store_col_str(s, 2),
			     sqlite3_column_int64(s, 3),
			     sqlite3_column_int64(s, 4) };

	return o->cb(&r, o->ctx);
}

sc_err store_olm_sessions(struct store *st, const char *curve_key,
			  olm_row_cb cb, void *ctx)
{
	struct olm_ctx o = { cb, ctx };

	return run(st, "cannot read olm sessions",
		   "SELECT session_id, curve_key, pickle, created, last_used "
		   "FROM olm_sessions WHERE curve_key = ? "
		   "ORDER BY last_used DESC, created DESC",
		   olm_row, &o, NULL, "s", curve_key);
}

struct one_int {
	int64_t v;
	int found;
};

static int get_int(sqlite3_stmt *s, void *ctx)
{
	struct one_int *o = ctx;

	if (sqlite3_column_type(s, 0) != SQLITE_NULL) {
		o->found = 1;
		o->v = sqlite3_column_int64(s, 0);
	}
	return 1;
}

sc_err store_olm_newest(struct store *st, const char *curve_key,
			int64_t *created)
{
	struct one_int o = { 0, 0 };
	sc_err err =
	    run(st, "cannot read olm sessions",
		"SELECT max(created) FROM olm_sessions WHERE curve_key = ?",
		get_int, &o, NULL, "s", curve_key);

	if (!err && !o.found)
		return store_fail(st, SC_ENOTFOUND, "no olm session");
	if (!err)
		*created = o.v;
	return err;
}

/* ---- inbound megolm ---- */

void gin_row_clear(struct gin_row *r)
{
	free(r->room_id);
	free(r->session_id);
	free(r->sender_key);
	free(r->sender_user);
	free(r->ed25519);
	free(r->pickle);
	memset(r, 0, sizeof(*r));
}

static int gin_row(sqlite3_stmt *s, void *ctx)
{
	struct one_row *o = ctx;
	struct gin_row *r = o->row;

	o->found = 1;
	r->room_id = store_col_copy(s, 0, &o->oom);
	r->session_id = store_col_copy(s, 1, &o->oom);
	r->sender_key = store_col_copy(s, 2, &o->oom);
	r->sender_user = store_col_copy(s, 3, &o->oom);
	r->ed25519 = store_col_copy(s, 4, &o->oom);
	r->pickle = store_col_copy(s, 5, &o->oom);
	r->first_index = sqlite3_column_int64(s, 6);
	return 1;
}

sc_err store_gin_get(struct store *st, const char *room_id,
		     const char *session_id, struct gin_row *out)
{
	struct gin_row r;
	struct one_row o = { &r, 0, 0 };
	sc_err err;

	memset(&r, 0, sizeof(r));
	err =
	    run(st, "cannot read inbound session",
		"SELECT room_id, session_id, sender_key, sender_user, ed25519, "
		"pickle, first_index FROM megolm_in "
		"WHERE room_id = ? AND session_id = ?",
		gin_row, &o, NULL, "ss", room_id, session_id);
	err = one_row_result(st, err, &o, "no inbound session");
	if (err) {
		gin_row_clear(&r);
		return err;
	}
	*out = r;
	return SC_OK;
}

sc_err store_gin_put(struct store *st, const struct gin_row *r)
{
	if (!r->room_id || !r->session_id || !r->sender_key ||
	    !r->sender_user || !r->pickle)
		return store_fail(st, SC_EINVAL, "incomplete inbound session");
	return run(st, "cannot save inbound session",
		   "INSERT OR REPLACE INTO megolm_in (room_id, session_id, "
		   "sender_key, sender_user, ed25519, pickle, first_index) "
		   "VALUES (?, ?, ?, ?, ?, ?, ?)",
		   NULL, NULL, NULL, "ssssssi", r->room_id, r->session_id,
		   r->sender_key, r->sender_user, r->ed25519, r->pickle,
		   r->first_index);
}

sc_err store_gin_seen(struct store *st, const char *room_id,
		      const char *session_id, int64_t index,
		      const char *event_id)
{
	char *was = NULL;
	struct one_row o = { &was, 0, 0 };
	int added = 0;
	sc_err err;

	if (!room_id || !session_id || !event_id)
		return store_fail(st, SC_EINVAL, "incomplete replay entry");
	/* the usual case, a new index, in one statement */
	err = run(st, "cannot write replay log",
		  "INSERT INTO megolm_seen (room_id, session_id, msg_index, "
		  "event_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		  NULL, NULL, &added, "ssis", room_id, session_id, index,
		  event_id);
	if (err || added)
		return err;
	err = run(st, "cannot read replay log",
		  "SELECT event_id FROM megolm_seen WHERE room_id = ? AND "
		  "session_id = ? AND msg_index = ?",
		  get_str, &o, NULL, "ssi", room_id, session_id, index);
	if (!err && o.oom)
		err = SC_ENOMEM;
	if (!err && o.found && strcmp(was, event_id))
		err = store_fail(st, SC_EEXISTS, "message index %lld of "
				 "session %s was %s", (long long)index,
				 session_id, was);
	free(was);
	return err;
}

/* ---- outbound megolm ---- */

void gout_row_clear(struct gout_row *r)
{
	free(r->room_id);
	free(r->session_id);
	free(r->pickle);
	memset(r, 0, sizeof(*r));
}

static int gout_row(sqlite3_stmt *s, void *ctx)
{
	struct one_row *o = ctx;
	struct gout_row *r = o->row;

	o->found = 1;
	r->room_id = store_col_copy(s, 0, &o->oom);
	r->session_id = store_col_copy(s, 1, &o->oom);
	r->pickle = store_col_copy(s, 2, &o->oom);
	r->created = sqlite3_column_int64(s, 3);
	r->max_msgs = sqlite3_column_int64(s, 4);
	r->max_age_ms = sqlite3_column_int64(s, 5);
	return 1;
}

sc_err store_gout_get(struct store *st, const char *room_id,
		      struct gout_row *out)
{
	struct gout_row r;
	struct one_row o = { &r, 0, 0 };
	sc_err err;

	memset(&r, 0, sizeof(r));
	err = run(st, "cannot read outbound session",
		  "SELECT room_id, session_id, pickle, created, max_msgs, "
		  "max_age_ms FROM megolm_out WHERE room_id = ?",
		  gout_row, &o, NULL, "s", room_id);
	err = one_row_result(st, err, &o, "no outbound session");
	if (err) {
		gout_row_clear(&r);
		return err;
	}
	*out = r;
	return SC_OK;
}

sc_err store_gout_put(struct store *st, const struct gout_row *r)
{
	if (!r->room_id || !r->session_id || !r->pickle)
		return store_fail(st, SC_EINVAL, "incomplete outbound session");
	return run(st, "cannot save outbound session",
		   "INSERT OR REPLACE INTO megolm_out (room_id, session_id, "
		   "pickle, created, max_msgs, max_age_ms) "
		   "VALUES (?, ?, ?, ?, ?, ?)",
		   NULL, NULL, NULL, "sssiii", r->room_id, r->session_id,
		   r->pickle, r->created, r->max_msgs, r->max_age_ms);
}

sc_err store_gout_del(struct store *st, const char *room_id)
{
	sc_err err = run(st, "cannot drop outbound session",
			 "DELETE FROM megolm_shared WHERE room_id = ?",
			 NULL, NULL, NULL, "s", room_id);

	if (!err)
		err = run(st, "cannot drop outbound session",
			  "DELETE FROM megolm_out WHERE room_id = ?",
			  NULL, NULL, NULL, "s", room_id);
	return err;
}

static int collect_room(sqlite3_stmt *s, void *ctx)
{
	char ***rooms = ctx;
	size_t n = 0;
	char **grown;

	while (*rooms && (*rooms)[n])
		n++;
	grown = realloc(*rooms, (n + 2) * sizeof(*grown));
	if (!grown)
		return 1;
	*rooms = grown;
	grown[n] = strdup(store_col_str(s, 0));
	grown[n + 1] = NULL;
	return !grown[n];
}

sc_err store_gout_del_device(struct store *st, const char *user_id,
			     const char *device_id)
{
	char **rooms = NULL;
	sc_err err = run(st, "cannot read shared sessions",
			 "SELECT DISTINCT s.room_id FROM megolm_shared s JOIN "
			 "megolm_out o ON o.room_id = s.room_id AND "
			 "o.session_id = s.session_id "
			 "WHERE s.user_id = ? AND s.device_id = ?",
			 collect_room, &rooms, NULL, "ss", user_id, device_id);

	for (size_t i = 0; rooms && rooms[i]; i++) {
		if (!err)
			err = store_gout_del(st, rooms[i]);
		free(rooms[i]);
	}
	free(rooms);
	return err;
}

sc_err store_gout_shared(struct store *st, const char *room_id,
			 const char *session_id, const char *user_id,
			 const char *device_id)
{
	return run(st, "cannot record shared session",
		   "INSERT OR IGNORE INTO megolm_shared (room_id, session_id, "
		   "user_id, device_id) VALUES (?, ?, ?, ?)",
		   NULL, NULL, NULL, "ssss", room_id, session_id, user_id,
		   device_id);
}

sc_err store_gout_is_shared(struct store *st, const char *room_id,
			    const char *session_id, const char *user_id,
			    const char *device_id, int *shared)
{
	struct one_int o = { 0, 0 };
	sc_err err = run(st, "cannot read shared sessions",
			 "SELECT 1 FROM megolm_shared WHERE room_id = ? AND "
			 "session_id = ? AND user_id = ? AND device_id = ?",
			 get_int, &o, NULL, "ssss", room_id, session_id,
			 user_id, device_id);

	if (!err)
		*shared = o.found;
	return err;
}

/* ---- devices ---- */

sc_err store_device_put(struct store *st, const struct device_row *d)
{
	if (!d->user_id || !d->device_id || !d->curve25519 || !d->ed25519)
		return store_fail(st, SC_EINVAL, "incomplete device");
	return run(st, "cannot save device",
		   "INSERT OR REPLACE INTO devices (user_id, device_id, "
		   "curve25519, ed25519, cross_signed) VALUES (?, ?, ?, ?, ?)",
		   NULL, NULL, NULL, "ssssi", d->user_id, d->device_id,
		   d->curve25519, d->ed25519, (int64_t)(d->cross_signed != 0));
}

sc_err store_device_del(struct store *st, const char *user_id,
			const char *device_id)
{
	return run(st, "cannot delete device",
		   "DELETE FROM devices WHERE user_id = ? AND device_id = ?",
		   NULL, NULL, NULL, "ss", user_id, device_id);
}

struct device_ctx {
	device_cb cb;
	void *ctx;
	int found;
};

static int device_row(sqlite3_stmt *s, void *ctx)
{
	struct device_ctx *d = ctx;
	struct device_row r = { store_col_str(s, 0), store_col_str(s, 1), store_col_str(s, 2), store_col_str(s, 3),
				sqlite3_column_int(s, 4) };

	d->found = 1;
	return d->cb(&r, d->ctx);
}

#define DEVICE_COLS                                                     \
	"SELECT user_id, device_id, curve25519, ed25519, cross_signed "  \
	"FROM devices "

sc_err store_devices(struct store *st, const char *user_id, device_cb cb,
		     void *ctx)
{
	struct device_ctx d = { cb, ctx, 0 };

	return run(st, "cannot read devices",
		   DEVICE_COLS "WHERE user_id = ? ORDER BY device_id",
		   device_row, &d, NULL, "s", user_id);
}

sc_err store_device_by_curve(struct store *st, const char *curve25519,
			     device_cb cb, void *ctx)
{
	struct device_ctx d = { cb, ctx, 0 };
	sc_err err = run(st, "cannot read devices",
			 DEVICE_COLS "WHERE curve25519 = ? LIMIT 1",
			 device_row, &d, NULL, "s", curve25519);

	if (!err && !d.found)
		err = store_fail(st, SC_ENOTFOUND, "unknown device key");
	return err;
}

sc_err store_user_tracked(struct store *st, const char *user_id,
			  int *outdated)
{
	struct one_int o = { 0, 0 };
	sc_err err = run(st, "cannot read device lists",
			 "SELECT outdated FROM device_users WHERE user_id = ?",
			 get_int, &o, NULL, "s", user_id);

	if (!err && !o.found)
		return store_fail(st, SC_ENOTFOUND, "user not tracked");
	if (!err)
		*outdated = (int)o.v;
	return err;
}

sc_err store_user_track(struct store *st, const char *user_id, int outdated)
{
	return run(st, "cannot track device list",
		   "INSERT OR REPLACE INTO device_users (user_id, outdated) "
		   "VALUES (?, ?)",
		   NULL, NULL, NULL, "si", user_id, (int64_t)outdated);
}

sc_err store_user_outdate(struct store *st, const char *user_id)
{
	return run(st, "cannot mark device list outdated",
		   "UPDATE device_users SET outdated = 1 WHERE user_id = ?",
		   NULL, NULL, NULL, "s", user_id);
}

struct str_ctx {
	str_cb cb;
	void *ctx;
};

static int str_row(sqlite3_stmt *s, void *ctx)
{
	struct str_ctx *c = ctx;

	return c->cb(store_col_str(s, 0), c->ctx);
}

sc_err store_users_outdated(struct store *st, str_cb cb, void *ctx)
{
	struct str_ctx c = { cb, ctx };

	return run(st, "cannot read device lists",
		   "SELECT user_id FROM device_users WHERE outdated = 1 "
		   "ORDER BY user_id",
		   str_row, &c, NULL, "");
}

/* ---- the outbox ---- */

struct outbox_ctx {
	outbox_cb cb;
	void *ctx;
};

static int outbox_row(sqlite3_stmt *s, void *ctx)
{
	struct outbox_ctx *o = ctx;
	struct outbox_msg m = {sqlite3_column_int64(s, 0),
			       store_col_str(s, 1),
			       store_col_str(s, 2),
			       store_col_str(s, 3),
			       store_col_str(s, 4),
			       sqlite3_column_int64(s, 5),
			       1 /* the query's rooms are all encrypted */};

	return o->cb(&m, o->ctx);
}

sc_err store_outbox_to_encrypt(struct store *st, outbox_cb cb, void *ctx)
{
	struct outbox_ctx o = { cb, ctx };

	return run(st, "cannot read the outbox",
		   "SELECT o.seq, o.txn_id, o.room_id, o.type, o.content, "
		   "coalesce(o.record, 0) FROM outbox o JOIN rooms r "
		   "ON r.room_id = o.room_id WHERE r.encrypted = 1 AND "
		   "o.type != 'm.room.encrypted' ORDER BY o.seq",
		   outbox_row, &o, NULL, "");
}

/* ---- undecryptable events ---- */

sc_err store_undecrypted_add(struct store *st, const char *event_id,
			     const char *room_id, const char *session_id,
			     const char *event, int64_t now)
{
	if (!event_id || !room_id || !session_id || !event)
		return store_fail(st, SC_EINVAL, "incomplete queued event");
	return run(st, "cannot queue undecryptable event",
		   "INSERT OR IGNORE INTO undecrypted (event_id, room_id, "
		   "session_id, event, ts) VALUES (?, ?, ?, ?, ?)",
		   NULL, NULL, NULL, "ssssi", event_id, room_id, session_id,
		   event, now);
}

struct und_ctx {
	undecrypted_cb cb;
	void *ctx;
};

static int und_row(sqlite3_stmt *s, void *ctx)
{
	struct und_ctx *u = ctx;

	return u->cb(store_col_str(s, 0), store_col_str(s, 1), u->ctx);
}

sc_err store_undecrypted_ready(struct store *st, undecrypted_cb cb,
			       void *ctx)
{
	struct und_ctx u = { cb, ctx };

	return run(
	    st, "cannot read queued events",
	    "SELECT u.room_id, u.event FROM undecrypted u JOIN megolm_in m "
	    "ON m.room_id = u.room_id AND m.session_id = u.session_id "
	    "ORDER BY u.rowid",
	    und_row, &u, NULL, "");
}

sc_err store_undecrypted_del(struct store *st, const char *event_id)
{
	return run(st, "cannot drop queued event",
		   "DELETE FROM undecrypted WHERE event_id = ?",
		   NULL, NULL, NULL, "s", event_id);
}

sc_err store_undecrypted_prune(struct store *st, int64_t before)
{
	return run(st, "cannot prune queued events",
		   "DELETE FROM undecrypted WHERE ts < ?",
		   NULL, NULL, NULL, "i", before);
}

sc_err store_undecrypted_count(struct store *st, int64_t *count)
{
	struct one_int o = { 0, 0 };
	sc_err err = run(st, "cannot count queued events",
			 "SELECT count(*) FROM undecrypted",
			 get_int, &o, NULL, "");

	if (!err)
		*count = o.v;
	return err;
}
