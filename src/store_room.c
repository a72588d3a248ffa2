/* SPDX-License-Identifier: MIT */
/*
 * store_room.c - what the bot knows of its rooms and keeps of its sync:
 * each room's settings and state (time zone, digest schedule, running
 * meeting, encryption, name) and its upgrade to a new room; the members
 * as last seen (membership, power level, when they last spoke) and the
 * resolving of a name typed in chat to one of them; the kv table of
 * small values (sync token, filter id, device id, ...); and the seen
 * events that keep a re-delivered event from being processed twice.
 * store.h is the contract.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sbuf.h"
#include "store.h"
#include "store_int.h"
#include "banned.h"

/* ---- rooms ---- */

void room_clear(struct room *r)
{
	free(r->room_id);
	free(r->tz);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

/* A borrowed view of a rooms row (strings die with the step). */
static void row_room(sqlite3_stmt *s, struct room *r)
{
	r->room_id = (char *)store_col_str(s, 0);
	r->tz = (char *)store_col_str(s, 1);
	r->digest_minute = sqlite3_column_int(s, 2);
	r->digest_days = (unsigned)sqlite3_column_int64(s, 3);
	r->last_digest = sqlite3_column_int64(s, 4);
	r->joined_at = sqlite3_column_int64(s, 5);
	r->meeting = sqlite3_column_int64(s, 6);
	r->encrypted = sqlite3_column_int(s, 7);
	r->name = (char *)store_col_str(s, 8);
}

static const char sql_room_get[] =
	"SELECT room_id, tz, digest_minute, digest_days, "
	"last_digest, joined_at, meeting, encrypted, name "
	"FROM rooms WHERE room_id = ?1";

sc_err store_room_get(struct store *st, const char *room_id,
		      struct room *out)
{
	sqlite3_stmt *s = NULL;
	struct room r, view;
	sc_err err;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!room_id)
		return store_fail(st, SC_EINVAL, "no room");
	err = store_stmt_get(st, sql_room_get, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = store_fail(st, SC_ENOTFOUND, "unknown room '%s'",
				 room_id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = store_dberr(st, rc, "cannot read room");
		goto out;
	}
	row_room(s, &view);
	r = view;
	r.room_id = r.tz = r.name = NULL;
	err = store_col_dup(s, 0, &r.room_id);
	if (!err)
		err = store_col_dup(s, 1, &r.tz);
	if (!err)
		err = store_col_dup(s, 8, &r.name);
	if (err)
		store_fail(st, err, "out of memory");
out:
	store_stmt_put(st, s);
	if (err) {
		room_clear(&r);
		return err;
	}
	*out = r;
	return SC_OK;
}

static const char sql_room_put[] =
	"INSERT INTO rooms (room_id, tz, digest_minute, "
	"digest_days, last_digest, joined_at, meeting, "
	"encrypted, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	"?8, ?9) ON CONFLICT (room_id) DO UPDATE SET "
	"tz = excluded.tz, "
	"digest_minute = excluded.digest_minute, "
	"digest_days = excluded.digest_days, "
	"last_digest = excluded.last_digest, "
	"joined_at = excluded.joined_at, "
	"meeting = excluded.meeting, "
	"encrypted = excluded.encrypted, name = excluded.name";

sc_err store_room_put(struct store *st, const struct room *r)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!r->room_id)
		return store_fail(st, SC_EINVAL, "room without id");
	err = store_stmt_get(st, sql_room_put, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, r->room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, r->tz);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 3, r->digest_minute);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 4, r->digest_days);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 5, r->last_digest);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 6, r->joined_at);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 7, r->meeting);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 8, r->encrypted != 0);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 9, r->name);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot save room");
		goto out;
	}
	err = store_step_done(st, s, "cannot save room");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_rooms[] =
	"SELECT room_id, tz, digest_minute, digest_days, "
	"last_digest, joined_at, meeting, encrypted, name "
	"FROM rooms WHERE joined_at != 0 ORDER BY room_id";

sc_err store_rooms(struct store *st, room_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_rooms, &s);
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
		err = store_dberr(st, rc, "cannot list rooms");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_records_move[] =
	"UPDATE records SET room_id = ?2 WHERE room_id = ?1";

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
		err = store_stmt_get(st, sql_records_move, &s);
	if (!err) {
		rc = store_bind_str(s, 1, old_room);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 2, new_room);
		err = rc == SQLITE_OK
			  ? store_step_done(st, s, "cannot move records")
			  : store_dberr(st, rc, "cannot move records");
		store_stmt_put(st, s);
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

/* ---- members ---- */

void member_clear(struct member *m)
{
	/* store_member_get gives copies; the struct is shared with the
	 * borrowed view of store_members, hence the const fields. */
	free((char *)m->user_id);
	free((char *)m->display_name);
	free((char *)m->membership);
	memset(m, 0, sizeof(*m));
}

static const char sql_member_put[] =
	"INSERT INTO members (room_id, user_id, "
	"display_name, membership, power) VALUES (?1, ?2, "
	"?3, ?4, ?5) ON CONFLICT (room_id, user_id) DO "
	"UPDATE SET display_name = excluded.display_name, "
	"membership = excluded.membership, "
	"power = excluded.power";

sc_err store_member_put(struct store *st, const char *room_id,
			const char *user_id, const char *display_name,
			const char *membership, int power)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!room_id || !user_id || !membership)
		return store_fail(st, SC_EINVAL, "incomplete member");
	err = store_stmt_get(st, sql_member_put, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, display_name);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 4, membership);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 5, power);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot save member");
		goto out;
	}
	err = store_step_done(st, s, "cannot save member");
out:
	store_stmt_put(st, s);
	return err;
}

/* UPDATE members (room, [user], power) through statement sql. */
static sc_err member_power(struct store *st, const char *sql,
			   const char *room_id, const char *user_id,
			   int64_t power)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK && user_id)
		rc = store_bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, user_id ? 3 : 2, power);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot set power levels");
		goto out;
	}
	err = store_step_done(st, s, "cannot set power levels");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_member_power_all[] =
	"UPDATE members SET power = ?2 "
	"WHERE room_id = ?1";
static const char sql_member_power[] =
	"UPDATE members SET power = ?3 "
	"WHERE room_id = ?1 AND user_id = ?2";

sc_err store_member_powers(struct store *st, const char *room_id,
			   const char *const *users, const int *levels,
			   size_t n, int default_power)
{
	sc_err err;

	if (!room_id)
		return store_fail(st, SC_EINVAL, "no room");
	for (size_t i = 0; i < n; i++)
		if (!users[i])
			return store_fail(st, SC_EINVAL,
					  "power level without user");
	err = store_tx_begin(st);
	if (err)
		return err;
	err = member_power(st, sql_member_power_all, room_id, NULL,
			   default_power);
	for (size_t i = 0; i < n && !err; i++)
		err = member_power(st, sql_member_power, room_id, users[i],
				   levels[i]);
	return store_tx_end(st, err);
}

/* max(): back-filled messages arrive out of order. */
static const char sql_member_spoke[] =
	"UPDATE members SET last_spoke = "
	"max(last_spoke, ?3) "
	"WHERE room_id = ?1 AND user_id = ?2";

sc_err store_member_spoke(struct store *st, const char *room_id,
			  const char *user_id, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!room_id || !user_id)
		return store_fail(st, SC_EINVAL, "no room or user");
	err = store_stmt_get(st, sql_member_spoke, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 3, ts);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot update member");
		goto out;
	}
	err = store_step_done(st, s, "cannot update member");
	if (!err && !sqlite3_changes(st->db))
		err = store_fail(st, SC_ENOTFOUND,
				 "%s is no known member of %s", user_id,
				 room_id);
out:
	store_stmt_put(st, s);
	return err;
}

static void row_member(sqlite3_stmt *s, struct member *m)
{
	m->user_id = store_col_str(s, 0);
	m->display_name = store_col_str(s, 1);
	m->membership = store_col_str(s, 2);
	m->power = sqlite3_column_int(s, 3);
	m->last_spoke = sqlite3_column_int64(s, 4);
}

static const char sql_member_get[] =
	"SELECT user_id, display_name, membership, power, "
	"last_spoke FROM members "
	"WHERE room_id = ?1 AND user_id = ?2";

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
		return store_fail(st, SC_EINVAL, "no room or user");
	err = store_stmt_get(st, sql_member_get, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = store_fail(st, SC_ENOTFOUND,
				 "%s is no known member of %s", user_id,
				 room_id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = store_dberr(st, rc, "cannot read member");
		goto out;
	}
	row_member(s, &m);
	err = store_col_dup(s, 0, &uid);
	if (!err)
		err = store_col_dup(s, 1, &name);
	if (!err)
		err = store_col_dup(s, 2, &ms);
	if (err)
		store_fail(st, err, "out of memory");
out:
	store_stmt_put(st, s);
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

static const char sql_members[] =
	"SELECT user_id, display_name, membership, power, "
	"last_spoke FROM members WHERE room_id = ?1 AND "
	"(membership = 'join' OR "
	"(?2 AND membership = 'invite')) ORDER BY user_id";

sc_err store_members(struct store *st, const char *room_id, int with_invited,
		     member_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!room_id)
		return store_fail(st, SC_EINVAL, "no room");
	err = store_stmt_get(st, sql_members, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, with_invited != 0);
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
		err = store_dberr(st, rc, "cannot list members");
out:
	store_stmt_put(st, s);
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

static const char sql_member_full[] =
	"SELECT user_id, user_id = ?2 FROM members "
	"WHERE room_id = ?1 AND membership = 'join' AND "
	"user_id = ?2 COLLATE NOCASE ORDER BY user_id";
/* Members whose localpart (between '@' and the first ':') or
 * display name starts with ?2, ignoring ASCII case; column 1 says
 * whether it is all of it. */
static const char sql_member_name[] =
	"SELECT user_id, lp = ?2 COLLATE NOCASE OR "
	"display_name = ?2 COLLATE NOCASE FROM (SELECT "
	"user_id, display_name, substr(user_id, 2, "
	"instr(user_id, ':') - 2) AS lp FROM members "
	"WHERE room_id = ?1 AND membership = 'join') "
	"WHERE substr(lp, 1, length(?2)) = ?2 COLLATE NOCASE "
	"OR substr(display_name, 1, length(?2)) = ?2 "
	"COLLATE NOCASE ORDER BY user_id";

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
	const char *bare, *sql;
	int full, rc;
	sc_err err;

	if (!room_id || !name)
		return store_fail(st, SC_EINVAL, "no room or name");
	full = name[0] == '@' && strchr(name, ':');
	bare = full ? name : name + (name[0] == '@');
	if (!*bare)
		return store_fail(st, SC_EINVAL, "empty name");
	sql = full ? sql_member_full : sql_member_name;
	memset(&whole, 0, sizeof(whole));
	memset(&part, 0, sizeof(part));
	sbuf_init(&whole.list, 0);
	sbuf_init(&part.list, 0);
	err = store_stmt_get(st, sql, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, bare);
	while (rc == SQLITE_OK) {
		const char *uid;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		uid = store_col_str(s, 0);
		if (!uid) {
			err = store_fail(st, SC_ENOMEM, "out of memory");
			goto out;
		}
		err = names_add(sqlite3_column_int(s, 1) ? &whole : &part, uid);
		if (err) {
			store_fail(st, err, "too many members match '%s'",
				   name);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		err = store_dberr(st, rc, "cannot resolve member");
		goto out;
	}
	pick = whole.n ? &whole : &part;
	if (!pick->n) {
		err = store_fail(st, SC_ENOTFOUND, "nobody called '%s' in %s",
				 name, room_id);
	} else if (pick->n == 1 && (pick == &whole || full)) {
		/* for a full id, a case difference is no guess */
		*out = pick->first;
		pick->first = NULL;
	} else {
		err = store_fail(st, SC_EAMBIGUOUS, "'%s' could be %s", name,
				 pick->list.buf);
		if (candidates)
			*candidates = sbuf_detach(&pick->list, NULL);
	}
out:
	store_stmt_put(st, s);
	free(whole.first);
	free(part.first);
	sbuf_release(&whole.list);
	sbuf_release(&part.list);
	return err;
}

/* ---- kv ---- */

static const char sql_kv_get[] = "SELECT value FROM kv WHERE key = ?1";

sc_err store_kv_get(struct store *st, const char *key, char **out)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;
	sc_err err;
	int rc;

	if (!key)
		return store_fail(st, SC_EINVAL, "no key");
	err = store_stmt_get(st, sql_kv_get, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, key);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		err = store_fail(st, SC_ENOTFOUND, "'%s' is not set", key);
	else if (rc != SQLITE_ROW)
		err = store_dberr(st, rc, "cannot read setting");
	else if (store_col_dup(s, 0, &v) || !v)
		err = store_fail(st, SC_ENOMEM, "out of memory");
out:
	store_stmt_put(st, s);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	return SC_OK;
}

static const char sql_kv_put[] =
	"INSERT INTO kv (key, value) VALUES (?1, ?2) "
	"ON CONFLICT (key) DO UPDATE SET value = excluded.value";

sc_err store_kv_put(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!key || !value)
		return store_fail(st, SC_EINVAL, "no key or value");
	err = store_stmt_get(st, sql_kv_put, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, key);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, value);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot save setting");
		goto out;
	}
	err = store_step_done(st, s, "cannot save setting");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_kv_del[] = "DELETE FROM kv WHERE key = ?1";

/* Deleting a key that is not set is not an error. */
sc_err store_kv_del(struct store *st, const char *key)
{
	if (!key)
		return store_fail(st, SC_EINVAL, "no key");
	return store_run_str(st, sql_kv_del, key, "cannot delete setting",
			     NULL);
}

/* ---- seen events ---- */

static const char sql_event_seen[] =
	"INSERT INTO seen_events (event_id, ts, sender) "
	"VALUES (?1, ?2, ?3) ON CONFLICT (event_id) DO NOTHING";

sc_err store_event_seen(struct store *st, const char *event_id,
			const char *sender, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!event_id)
		return store_fail(st, SC_EINVAL, "no event id");
	err = store_stmt_get(st, sql_event_seen, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, ts);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, sender);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot mark event");
		goto out;
	}
	err = store_step_done(st, s, "cannot mark event");
	if (!err && !sqlite3_changes(st->db))
		err = store_fail(st, SC_EEXISTS, "event '%s' was seen already",
				 event_id);
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_event_edit[] =
	"UPDATE seen_events SET edit_of = ?2 WHERE event_id = ?1";

sc_err store_event_edit(struct store *st, const char *event_id,
			const char *original)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_event_edit, &s);
	int rc;

	if (err)
		return err;
	rc = store_bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, original);
	err = rc == SQLITE_OK ? store_step_done(st, s, "cannot mark edit")
			      : store_dberr(st, rc, "cannot mark edit");
	store_stmt_put(st, s);
	return err;
}

static const char sql_event_get[] =
	"SELECT sender, edit_of FROM seen_events WHERE event_id = ?1";

sc_err store_event_get(struct store *st, const char *event_id, char **sender,
		       char **edit_of)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_event_get, &s);
	int rc;

	*sender = *edit_of = NULL;
	if (err)
		return err;
	rc = store_bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *a = store_col_str(s, 0), *b = store_col_str(s, 1);
		if ((a && !(*sender = strdup(a))) || (b && !(*edit_of = strdup(b)))) {
			free(*sender);
			*sender = NULL;
			err = SC_ENOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		err = store_fail(st, SC_ENOTFOUND, "event '%s' not seen",
				 event_id);
	} else {
		err = store_dberr(st, rc, "cannot read event");
	}
	store_stmt_put(st, s);
	return err;
}

static const char sql_events_prune[] = "DELETE FROM seen_events WHERE ts < ?1";

sc_err store_events_prune(struct store *st, int64_t before)
{
	return store_run_id(st, sql_events_prune, before,
			    "cannot prune events");
}

