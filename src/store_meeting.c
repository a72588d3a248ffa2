/* SPDX-License-Identifier: MIT */
/*
 * store_meeting.c - what a meeting's minutes hold besides its records:
 * the notes said in it (topics, ideas, links, Template A and B lines,
 * chairs, items carried over), which #undo can withdraw, and the
 * attendees with the lines they said and the time of the first. The
 * meeting itself is a record (store_record.c). store.h is the contract.
 */
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "banned.h"

/* ---- notes ---- */

static const char sql_note_add[] =
	"INSERT INTO notes (meeting, ts, author, kind, text, "
	"after_record) VALUES (?1, ?2, ?3, ?4, ?5, "
	"(SELECT coalesce(max(id), 0) FROM records))";

sc_err store_note_add(struct store *st, int64_t meeting, int64_t ts,
		      const char *author, const char *kind, const char *text)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!author || !kind || !text)
		return store_fail(st, SC_EINVAL, "incomplete note");
	if (store_bad_text(text) || store_bad_text(author))
		return store_fail(st, SC_EINVAL, "note is not valid utf-8");
	err = store_stmt_get(st, sql_note_add, &s);
	if (err)
		goto out;
	rc = store_bind_int(s, 1, meeting);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, ts);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, author);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 4, kind);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 5, text);
	err = store_step_ref(st, s, rc, "meeting", meeting, "cannot add note");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_notes[] =
	"SELECT ts, author, kind, text, id, withdrawn, "
	"after_record FROM notes WHERE meeting = ?1 "
	"ORDER BY ts, id";

sc_err store_notes(struct store *st, int64_t meeting, note_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_notes, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, meeting);
	while (rc == SQLITE_OK) {
		struct note n;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		n.ts = sqlite3_column_int64(s, 0);
		n.author = store_col_str(s, 1);
		n.kind = store_col_str(s, 2);
		n.text = store_col_str(s, 3);
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
		err = store_dberr(st, rc, "cannot read notes");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_note_withdraw[] =
	"UPDATE notes SET withdrawn = ?2 "
	"WHERE id = ?1 AND withdrawn = 0";

sc_err store_note_withdraw(struct store *st, int64_t note, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_note_withdraw, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, note);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, ts > 0 ? ts : 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot withdraw note");
	else if (!sqlite3_changes(st->db))
		err = store_fail(st, SC_ENOTFOUND, "no note %lld to withdraw",
				 (long long)note);
out:
	store_stmt_put(st, s);
	return err;
}

/* ---- attendees ---- */

static const char sql_attendee_add[] =
	"INSERT OR IGNORE INTO attendees (meeting, "
	"user_id) VALUES (?1, ?2)";

sc_err store_attendee_add(struct store *st, int64_t meeting,
			  const char *user_id)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!user_id)
		return store_fail(st, SC_EINVAL, "attendee without user");
	err = store_stmt_get(st, sql_attendee_add, &s);
	if (err)
		goto out;
	rc = store_bind_int(s, 1, meeting);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, user_id);
	err = store_step_ref(st, s, rc, "meeting", meeting, "cannot add attendee");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_attendees[] =
	"SELECT user_id FROM attendees WHERE meeting = ?1 "
	"ORDER BY rowid";

sc_err store_attendees(struct store *st, int64_t meeting, str_cb cb,
		       void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_attendees, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, meeting);
	while (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (cb(store_col_str(s, 0), ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot read attendees");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_attendee_line[] =
	"INSERT INTO attendees (meeting, user_id, lines, "
	"first_ts) VALUES (?1, ?2, 1, ?3) ON CONFLICT "
	"(meeting, user_id) DO UPDATE SET lines = lines + 1, "
	"first_ts = CASE WHEN first_ts = 0 THEN "
	"excluded.first_ts ELSE first_ts END";

sc_err store_attendee_line(struct store *st, int64_t meeting,
			   const char *user_id, int64_t ts)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!user_id)
		return store_fail(st, SC_EINVAL, "attendee without user");
	err = store_stmt_get(st, sql_attendee_line, &s);
	if (err)
		goto out;
	rc = store_bind_int(s, 1, meeting);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, user_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 3, ts > 0 ? ts : 1);
	err = store_step_ref(st, s, rc, "meeting", meeting, "cannot add attendee");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_attendance[] =
	"SELECT user_id, lines, first_ts FROM attendees "
	"WHERE meeting = ?1 ORDER BY rowid";
static const char sql_attendance_lines[] =
	"SELECT user_id, lines, first_ts FROM attendees "
	"WHERE meeting = ?1 ORDER BY lines DESC, rowid";

sc_err store_attendance(struct store *st, int64_t meeting, int by_lines,
			attendance_cb cb, void *ctx)
{
	const char *sql = by_lines ? sql_attendance_lines : sql_attendance;
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, meeting);
	while (rc == SQLITE_OK) {
		struct attendee a;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		a.user_id = store_col_str(s, 0);
		a.lines = sqlite3_column_int64(s, 1);
		a.first = sqlite3_column_int64(s, 2);
		if (cb(&a, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot read attendees");
out:
	store_stmt_put(st, s);
	return err;
}
