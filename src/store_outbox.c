/* SPDX-License-Identifier: MIT */
/*
 * store_outbox.c - the outbox: messages decided inside a transaction and
 * sent once it commits, oldest first, each under a transaction id
 * derived from its source event (so a resend after a crash reuses it and
 * the homeserver deduplicates). Sending one removes it and links the
 * reply event to the record it is about (store_vote.c's reply links).
 * store.h is the contract.
 */
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "banned.h"

static const char sql_outbox_add[] =
	"INSERT INTO outbox (txn_id, room_id, type, "
	"content, record) VALUES (?1, ?2, ?3, ?4, ?5) "
	"ON CONFLICT (txn_id) DO NOTHING";

sc_err store_outbox_add(struct store *st, const char *txn_id,
			const char *room_id, const char *type,
			const char *content, int64_t record)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!txn_id || !room_id || !type || !content)
		return store_fail(st, SC_EINVAL, "incomplete outbox message");
	err = store_stmt_get(st, sql_outbox_add, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, txn_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, type);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 4, content);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 5, record);
	err = store_step_ref(st, s, rc, "record", record, "cannot queue message");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_outbox_replace[] =
	"UPDATE outbox SET type = ?2, content = ?3 "
	"WHERE seq = ?1";

sc_err store_outbox_replace(struct store *st, int64_t seq, const char *type,
			    const char *content)
{
	sqlite3_stmt *s = NULL;
	sc_err err;
	int rc;

	if (!type || !content)
		return store_fail(st, SC_EINVAL, "incomplete outbox message");
	err = store_stmt_get(st, sql_outbox_replace, &s);
	if (err)
		goto out;
	rc = store_bind_int(s, 1, seq);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, type);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, content);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot replace message");
		goto out;
	}
	err = store_step_done(st, s, "cannot replace message");
	if (!err && !sqlite3_changes(st->db))
		err = store_fail(st, SC_ENOTFOUND, "no queued message %lld",
				 (long long)seq);
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_outbox_pending[] =
	"SELECT o.seq, o.txn_id, o.room_id, o.type, "
	"o.content, o.record, coalesce(r.encrypted, 0) "
	"FROM outbox o LEFT JOIN rooms r "
	"ON r.room_id = o.room_id ORDER BY o.seq LIMIT ?1";

sc_err store_outbox_pending(struct store *st, int limit, outbox_cb cb,
			    void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_outbox_pending, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, limit > 0 ? limit : -1);
	while (rc == SQLITE_OK) {
		struct outbox_msg m;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		m.seq = sqlite3_column_int64(s, 0);
		m.txn_id = store_col_str(s, 1);
		m.room_id = store_col_str(s, 2);
		m.type = store_col_str(s, 3);
		m.content = store_col_str(s, 4);
		m.record = sqlite3_column_int64(s, 5);
		m.encrypted = sqlite3_column_int(s, 6);
		if (cb(&m, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot read outbox");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_outbox_last[] =
	"SELECT coalesce(max(seq), 0) FROM outbox";

sc_err store_outbox_last(struct store *st, int64_t *seq)
{
	return store_stmt_int(st, sql_outbox_last, "cannot read outbox", seq);
}

static const char sql_outbox_get[] = "SELECT record FROM outbox WHERE seq = ?1";

/* The record a queued message is about (0 = none). */
static sc_err outbox_record(struct store *st, int64_t seq, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_outbox_get, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		err = store_fail(st, SC_ENOTFOUND, "no queued message %lld",
				 (long long)seq);
	else if (rc != SQLITE_ROW)
		err = store_dberr(st, rc, "cannot read outbox");
	else
		*out = sqlite3_column_int64(s, 0);
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_outbox_del[] = "DELETE FROM outbox WHERE seq = ?1";

/* event_id NULL: the message was dropped, not sent; nothing to link. */
sc_err store_outbox_done(struct store *st, int64_t seq, const char *event_id)
{
	int64_t record = 0;
	sc_err err = store_tx_begin(st);

	if (err)
		return err;
	err = outbox_record(st, seq, &record);
	if (!err)
		err = store_run_id(st, sql_outbox_del, seq,
				   "cannot dequeue message");
	if (!err && record && event_id)
		err = store_reply_link(st, event_id, record);
	return store_tx_end(st, err);
}

