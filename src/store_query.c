/* SPDX-License-Identifier: MIT */
/*
 * store_query.c - record queries: the listings, searches and counts of
 * struct rec_query, the people a listing groups by, and the counts of
 * `scribe stats`. A query is assembled from constant fragments chosen by
 * which fields of the query are set, its values always bound, so no text
 * from chat ever becomes SQL (or FTS5 query syntax); the statements of
 * the shapes in use stay prepared in the store's query cache. The
 * indexes they rely on are described with the schema (store.c).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "sbuf.h"
#include "store.h"
#include "store_int.h"
#include "banned.h"

/* Longest full-text query we build from a user's words. */
#define MATCH_MAX 8192

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
		err = store_dberr(st, rc, "cannot load the search tokenizer");
		goto out;
	}
	if (!api || api->iVersion < 2) {
		err = store_fail(st, SC_ESTORE,
				 "cannot load the search "
				 "tokenizer: no fts5 api");
		goto out;
	}
	rc = api->xFindTokenizer(api, "unicode61", &uctx, &st->tok_api);
	if (rc == SQLITE_OK)
		rc = st->tok_api.xCreate(uctx, args, 2, &st->tok);
	if (rc != SQLITE_OK)
		err = store_fail(st, store_rc_to_err(rc),
				 "cannot load the search "
				 "tokenizer: %s",
				 sqlite3_errstr(rc));
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
			return store_fail(st, SC_EINVAL,
					  "search word too long");
		rc = st->tok_api.xTokenize(st->tok, &ntok, FTS5_TOKENIZE_QUERY,
					   w, (int)(p - w), count_token);
		if (rc != SQLITE_OK)
			return store_fail(st, store_rc_to_err(rc),
					  "cannot tokenize "
					  "search terms: %s",
					  sqlite3_errstr(rc));
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
		return store_fail(st, SC_EINVAL, "search terms too long");
	if (err == SC_ENOMEM)
		return store_fail(st, err, "out of memory");
	return err;
}

/* Shape of q: which fragments, which order, rows or count. */
static sc_err query_shape(struct store *st, const struct rec_query *q,
			  int count, unsigned *mask, unsigned *key)
{
	unsigned kinds = q->kinds, m = 0;

	if (kinds & ~(unsigned)REC_ALL)
		return store_fail(st, SC_EINVAL,
				  "unknown record kind in query");
	if ((unsigned)q->order > ORDER_DUE)
		return store_fail(st, SC_EINVAL, "unknown query order %d",
				  (int)q->order);
	if (q->skip & ~(unsigned)SKIP_ALL)
		return store_fail(st, SC_EINVAL,
				  "unknown list to skip in query");
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
			  store_col_str(s, 3) ? store_col_str(s, 3) : "");
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
		err = store_fail(st, err, "cannot build query");
		goto out;
	}
	rc = sqlite3_prepare_v3(st->db, sql.buf, (int)sql.len,
				free_slot ? SQLITE_PREPARE_PERSISTENT : 0, &s,
				NULL);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot prepare query");
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
	store_slots_put(st->query, QUERY_CACHE, s);
}

static int bind_named_str(sqlite3_stmt *s, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	assert(i > 0);
	return i > 0 ? store_bind_str(s, i, v) : SQLITE_RANGE;
}

static int bind_named_int(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	assert(i > 0);
	return i > 0 ? store_bind_int(s, i, v) : SQLITE_RANGE;
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
				names[n++] = rec_kind_name((enum rec_kind)k);
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
	/* a search sees this batch's records */
	if (!err && q->terms && st->fts_n)
		err = store_fts_flush(st);
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
		err = store_dberr(st, rc, "cannot bind query");
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
		err = store_row_record(s, &r);
		if (err) {
			store_fail(st, err, "cannot read record");
			goto out;
		}
		stop = cb(&r, ctx);
		record_clear(&r);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot query records");
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
		err = store_dberr(st, rc, "cannot count records");
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
		if (cb(store_col_str(s, 0), ctx))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot query assignees");
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

/* ---- stats ---- */

/* Each room with records: one seek in a (room_id, ...) index per room,
 * where store_stats counts every record (a million index entries, a
 * tenth of a second or more, for a list of a few rooms). */
static const char sql_first_room[] = "SELECT min(room_id) FROM records";
static const char sql_next_room[] =
	"SELECT room_id FROM records WHERE room_id > ?1 "
	"ORDER BY room_id LIMIT 1";

sc_err store_record_rooms(struct store *st, str_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	char *room = NULL;
	sc_err err = store_stmt_get(st, sql_first_room, &s);
	int rc = err ? SQLITE_OK : sqlite3_step(s);

	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		err = store_col_dup(s, 0, &room);
	store_stmt_put(st, s);
	s = NULL;
	if (!err && room)
		err = store_stmt_get(st, sql_next_room, &s);
	while (!err && room) {
		if (cb(room, ctx))
			break;
		rc = store_bind_str(s, 1, room);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		free(room);
		room = NULL;
		if (rc == SQLITE_ROW)
			err = store_col_dup(s, 0, &room);
		else if (rc != SQLITE_DONE)
			err = store_dberr(st, rc, "cannot list the rooms");
		sqlite3_reset(s);
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot list the rooms");
	store_stmt_put(st, s);
	free(room);
	return err;
}

static const char sql_stats[] =
	"SELECT room_id, kind, count(*) FROM records "
	"GROUP BY room_id, kind ORDER BY room_id, kind";

sc_err store_stats(struct store *st, stat_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_stats, &s);
	int rc;

	if (err)
		goto out;
	for (;;) {
		enum rec_kind kind;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (rec_kind_parse(store_col_str(s, 1), &kind))
			continue; /* CHECK kind_valid makes this impossible */
		if (cb(store_col_str(s, 0), kind, sqlite3_column_int64(s, 2),
		       ctx)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		err = store_dberr(st, rc, "cannot count records");
out:
	store_stmt_put(st, s);
	return err;
}

