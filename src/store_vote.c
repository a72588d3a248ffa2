/* SPDX-License-Identifier: MIT */
/*
 * store_vote.c - votes on decisions and reply links. A vote is a
 * reaction (👍 👎 🤷) on a proposal or on the bot's reply about it:
 * every reaction event is kept, one counts per voter (the latest not
 * redacted), and the counts come with each record (RECORD_COLS,
 * store_int.h). A reply link remembers which record a message of the
 * bot is about, so a reaction to the reply finds the record.
 * store.h is the contract.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "banned.h"

/* ---- votes ---- */

/* Run a vote statement: ?1 record, ?2 voter, then (when given) ?3 key
 * and ?4 reaction event. */
static sc_err vote_run(struct store *st, const char *sql, int64_t record,
		       const char *user_id, const char *key, const char *event_id)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, record);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, user_id);
	if (rc == SQLITE_OK && key)
		rc = store_bind_str(s, 3, key);
	if (rc == SQLITE_OK && key)
		rc = store_bind_str(s, 4, event_id);
	err = store_step_ref(st, s, rc, "record", record, "cannot record vote");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_vote_event_add[] =
	"INSERT OR IGNORE INTO vote_events (event_id, "
	"record, user_id, key) VALUES (?4, ?1, ?2, ?3)";
static const char sql_vote_add[] =
	"INSERT INTO votes (record, user_id, key, event_id) "
	"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (record, user_id) "
	"DO UPDATE SET key = excluded.key, "
	"event_id = excluded.event_id";

sc_err store_vote_add(struct store *st, int64_t record, const char *user_id,
		      const char *key, const char *event_id)
{
	sc_err err = SC_OK;

	if (!user_id || !key ||
	    (strcmp(key, "up") && strcmp(key, "down") && strcmp(key, "meh")))
		return store_fail(st, SC_EINVAL, "invalid vote");
	if (event_id)
		err = vote_run(st, sql_vote_event_add, record, user_id, key,
			       event_id);
	return err ? err
		   : vote_run(st, sql_vote_add, record, user_id, key, event_id);
}

static const char sql_vote_event_find[] =
	"SELECT record, user_id FROM vote_events "
	"WHERE event_id = ?1";
static const char sql_vote_event_del[] =
	"DELETE FROM vote_events WHERE event_id = ?1";
static const char sql_vote_del_voter[] =
	"DELETE FROM votes WHERE record = ?1 AND "
	"user_id = ?2";
static const char sql_vote_restore[] =
	"INSERT INTO votes (record, user_id, key, event_id) "
	"SELECT record, user_id, key, event_id FROM "
	"vote_events WHERE record = ?1 AND user_id = ?2 "
	"ORDER BY rowid DESC LIMIT 1";
static const char sql_vote_del_event[] =
	"DELETE FROM votes WHERE event_id = ?1";

sc_err store_vote_remove_event(struct store *st, const char *event_id)
{
	sqlite3_stmt *s = NULL;
	int64_t record = 0;
	char *voter = NULL;
	int n = 0, rc;
	sc_err err;

	if (!event_id)
		return store_fail(st, SC_ENOTFOUND, "no vote");
	err = store_stmt_get(st, sql_vote_event_find, &s);
	if (err)
		return err;
	rc = store_bind_str(s, 1, event_id);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		record = sqlite3_column_int64(s, 0);
		voter = strdup((const char *)sqlite3_column_text(s, 1));
		if (!voter)
			err = SC_ENOMEM;
	} else if (rc != SQLITE_DONE) {
		err = store_dberr(st, rc, "cannot find vote");
	}
	store_stmt_put(st, s);
	if (!err && voter) {
		/* the voter's vote is their latest reaction still shown */
		err = store_run_str(st, sql_vote_event_del, event_id,
				    "cannot remove vote", NULL);
		if (!err)
			err = vote_run(st, sql_vote_del_voter, record, voter,
				       NULL, NULL);
		if (!err)
			err = vote_run(st, sql_vote_restore, record, voter,
				       NULL, NULL);
		free(voter);
		return err;
	}
	if (!err) /* a vote from before schema 6 */
		err = store_run_str(st, sql_vote_del_event, event_id,
				    "cannot remove vote", &n);
	if (!err && !n)
		err = store_fail(st, SC_ENOTFOUND, "event '%s' is no vote",
				 event_id);
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
	rc = store_bind_int(s, 1, record);
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
	err = rc != SQLITE_DONE ? store_dberr(st, rc, "cannot read votes")
				: SC_OK;
	store_stmt_put(st, s);
	return err;
}

/* ---- reply links ---- */

static const char sql_reply_link[] =
	"INSERT INTO reply_links (event_id, record) "
	"VALUES (?1, ?2) ON CONFLICT (event_id) "
	"DO UPDATE SET record = excluded.record";

sc_err store_reply_link(struct store *st, const char *reply_event_id,
			int64_t record)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!reply_event_id)
		return store_fail(st, SC_EINVAL, "reply link without event");
	err = store_stmt_get(st, sql_reply_link, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, reply_event_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, record);
	err = store_step_ref(st, s, rc, "record", record, "cannot link reply");
out:
	store_stmt_put(st, s);
	return err;
}

/* A reply link wins over the command's own event. */
static const char sql_for_event[] =
	"SELECT record FROM reply_links WHERE event_id = ?1 "
	"UNION ALL SELECT id FROM records WHERE event_id = ?1 "
	"LIMIT 1";

sc_err store_record_for_event(struct store *st, const char *event_id,
			      int64_t *record)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!event_id)
		return store_fail(st, SC_ENOTFOUND, "no record for that event");
	err = store_stmt_get(st, sql_for_event, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		err = store_fail(st, SC_ENOTFOUND, "no record for event '%s'",
				 event_id);
	else if (rc != SQLITE_ROW)
		err = store_dberr(st, rc, "cannot look up event");
	else
		*record = sqlite3_column_int64(s, 0);
out:
	store_stmt_put(st, s);
	return err;
}

