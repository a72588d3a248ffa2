/* SPDX-License-Identifier: MIT */
/*
 * store_record.c - records: their kinds and short ids, the record
 * struct's helpers, and the records table itself: adding (numbered per
 * kind, with assignees, tags and a "created" entry), loading and
 * updating (one history entry per changed field), the append-only
 * history, and the full-text index kept in step with text, detail and
 * tags (store.c's schema comment says how). store.h is the contract.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "sbuf.h"
#include "store.h"
#include "store_int.h"
#include "utf8.h"
#include "banned.h"

/* Separator of the assignee and tag lists read in one SELECT: a control
 * character, which store_record_add never lets into a user id or tag. */
#define LIST_SEP '\x1f'

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

/* ---- a record from a row of RECORD_COLS ---- */

/* Split a LIST_SEP-joined column into a new string vector. */
static sc_err col_list(sqlite3_stmt *s, int i, char ***out, size_t *nout)
{
	const char *t = store_col_str(s, i), *p;
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

sc_err store_row_record(sqlite3_stmt *s, struct record *out)
{
	enum rec_kind kind;
	sc_err err;

	if (rec_kind_parse(store_col_str(s, C_KIND), &kind))
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
	err = store_col_dup(s, C_ROOM, &out->room_id);
	if (!err)
		err = store_col_dup(s, C_AUTHOR, &out->author);
	if (!err)
		err = store_col_dup(s, C_EVENT, &out->event_id);
	if (!err)
		err = store_col_dup(s, C_TEXT, &out->text);
	if (!err)
		err = store_col_dup(s, C_DETAIL, &out->detail);
	if (!err)
		err = store_col_dup(s, C_STATUS, &out->status);
	if (!err)
		err = store_col_dup(s, C_SEVERITY, &out->severity);
	if (!err)
		err = col_list(s, C_ASSIGNEES, &out->assignees,
			       &out->nassignees);
	if (!err)
		err = col_list(s, C_TAGS, &out->tags, &out->ntags);
	return err;
}

/* ---- full-text index ---- */

static const char sql_fts_insert[] =
	"INSERT INTO records_fts (rowid, text, detail, tags) "
	"SELECT id, text, detail, tags FROM records_search "
	"WHERE id BETWEEN ?1 AND ?2";

/* Index the records with ids lo..hi, as they are now: one statement,
 * because FTS5 writes what it holds to disk at the end of each. */
static sc_err fts_index(struct store *st, int64_t lo, int64_t hi)
{
	int64_t v[2] = {lo, hi};

	return store_run_ints(st, sql_fts_insert, v, 2, "cannot index record");
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
			return store_fail(st, SC_ENOMEM, "out of memory");
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
sc_err store_fts_flush(struct store *st)
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

/* ---- records ---- */

/* Text must be UTF-8 (no NUL, no overlongs, no surrogates). */
int store_bad_text(const char *s)
{
	return s && !utf8_valid(s, strlen(s));
}

/* List entries must be non-empty UTF-8 without control characters,
 * which also keeps LIST_SEP out of them. */
static int bad_entry(const char *s)
{
	if (!s || !*s || store_bad_text(s))
		return 1;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

sc_err store_record_check(struct store *st, const struct record *r)
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
		return store_fail(st, SC_EINVAL, "unknown record kind %d",
				  (int)r->kind);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i].required && !fields[i].value)
			return store_fail(st, SC_EINVAL, "record has no %s",
					  fields[i].name);
		if (store_bad_text(fields[i].value))
			return store_fail(st, SC_EINVAL,
					  "record %s is not valid utf-8",
					  fields[i].name);
	}
	for (size_t i = 0; i < r->nassignees; i++)
		if (bad_entry(r->assignees[i]))
			return store_fail(st, SC_EINVAL, "invalid assignee");
	for (size_t i = 0; i < r->ntags; i++)
		if (bad_entry(r->tags[i]))
			return store_fail(st, SC_EINVAL, "invalid tag");
	return SC_OK;
}

static const char sql_assignee_add[] =
	"INSERT OR IGNORE INTO assignees (record, pos, "
	"user_id) VALUES (?1, ?3, ?2)";
static const char sql_tag_add[] =
	"INSERT OR IGNORE INTO tags (record, pos, tag) "
	"VALUES (?1, ?3, ?2)";

/* Insert record id's assignees or tags (sql_assignee_add/sql_tag_add). */
static sc_err write_list(struct store *st, const char *sql, int64_t record,
			 char *const *v, size_t n)
{
	sqlite3_stmt *s = NULL;
	sc_err err = SC_OK;
	int rc;

	if (!n)
		return SC_OK;
	err = store_stmt_get(st, sql, &s);
	for (size_t i = 0; i < n && !err; i++) {
		rc = store_bind_int(s, 1, record);
		if (rc == SQLITE_OK)
			rc = store_bind_str(s, 2, v[i]);
		if (rc == SQLITE_OK)
			rc = store_bind_int(s, 3, (int64_t)i);
		if (rc != SQLITE_OK) {
			err = store_dberr(st, rc, "cannot write list");
			break;
		}
		err = store_step_done(st, s, "cannot write list");
		sqlite3_reset(s);
	}
	store_stmt_put(st, s);
	return err;
}

static const char sql_history_add[] =
	"INSERT INTO history (record, ts, actor, field, "
	"old, new, event_id) VALUES (?1, ?2, ?3, ?4, ?5, "
	"?6, ?7)";

static sc_err history_add(struct store *st, int64_t record, int64_t ts,
			  const char *actor, const char *field,
			  const char *old_value, const char *new_value,
			  const char *event_id)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_history_add, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, record);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, ts);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, actor);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 4, field);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 5, old_value);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 6, new_value);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 7, event_id);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot write history");
		goto out;
	}
	err = store_step_done(st, s, "cannot write history");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_next_num[] =
	"SELECT coalesce(max(num), 0) + 1 FROM records "
	"WHERE kind = ?1";

static sc_err next_num(struct store *st, enum rec_kind kind, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_next_num, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_str(s, 1, kind_names[kind]);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		err = store_dberr(st, rc, "cannot number record");
		goto out;
	}
	*out = sqlite3_column_int64(s, 0);
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_rec_insert[] =
	"INSERT INTO records (kind, num, room_id, author, event_id, "
	"text, detail, status, severity, due, created, updated, "
	"closed, meeting, superseded_by, withdrawn) VALUES (?1, ?2, "
	"?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
	"?16)";

sc_err store_record_add(struct store *st, struct record *r)
{
	sqlite3_stmt *s = NULL;
	int64_t id = 0, num = 0;
	sc_err err;
	int rc;

	err = store_record_check(st, r);
	if (err)
		return err;
	err = store_tx_begin(st);
	if (err)
		return err;
	err = next_num(st, r->kind, &num);
	if (!err)
		err = store_stmt_get(st, sql_rec_insert, &s);
	if (err)
		goto out;
	rc = store_bind_str(s, 1, kind_names[r->kind]);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, num);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, r->room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 4, r->author);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 5, r->event_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 6, r->text);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 7, r->detail);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 8, r->status);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 9, r->severity);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 10, r->due);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 11, r->created);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 12, r->updated);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 13, r->closed);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 14, r->meeting);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 15, r->superseded_by);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 16, r->withdrawn != 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE && r->event_id) {
		err = store_fail(st, SC_EEXISTS,
				 "event '%s' is already recorded", r->event_id);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		err = store_dberr(st, rc, "cannot add record");
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);
	err = write_list(st, sql_assignee_add, id, r->assignees, r->nassignees);
	if (!err)
		err = write_list(st, sql_tag_add, id, r->tags, r->ntags);
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
	store_stmt_put(st, s);
	err = store_tx_end(st, err);
	if (!err) {
		r->id = id;
		r->num = num;
	}
	return err;
}

static const char sql_get_num[] =
	"SELECT " RECORD_COLS " FROM records r "
	"WHERE r.kind = ?1 AND r.num = ?2";
static const char sql_get_id[] =
	"SELECT " RECORD_COLS " FROM records r WHERE r.id = ?1";
static const char sql_get_event[] =
	"SELECT " RECORD_COLS " FROM records r "
	"WHERE r.event_id = ?1";

/* Load one record with a RECORD_COLS statement: sql_get_num (kind a,
 * number b), sql_get_id (id a) or sql_get_event (event id key). */
static sc_err get_record(struct store *st, const char *sql, int64_t a,
			 int64_t b, const char *key, struct record *out)
{
	sqlite3_stmt *s = NULL;
	struct record r;
	sc_err err;
	int rc;

	memset(&r, 0, sizeof(r));
	err = store_stmt_get(st, sql, &s);
	if (err)
		goto out;
	if (sql == sql_get_num) {
		rc = store_bind_str(s, 1, kind_names[a]);
		if (rc == SQLITE_OK)
			rc = store_bind_int(s, 2, b);
	} else if (sql == sql_get_id) {
		rc = store_bind_int(s, 1, a);
	} else {
		rc = store_bind_str(s, 1, key);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = store_fail(st, SC_ENOTFOUND, "no such record");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = store_dberr(st, rc, "cannot read record");
		goto out;
	}
	err = store_row_record(s, &r);
	if (err == SC_ESTORE)
		store_fail(st, err, "record %lld has an unknown kind",
			   (long long)sqlite3_column_int64(s, C_ID));
out:
	store_stmt_put(st, s);
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
		return store_fail(st, SC_EINVAL, "unknown record kind %d",
				  (int)kind);
	return get_record(st, sql_get_num, kind, num, NULL, out);
}

sc_err store_record_get_id(struct store *st, int64_t id, struct record *out)
{
	return get_record(st, sql_get_id, id, 0, NULL, out);
}

sc_err store_record_by_event(struct store *st, const char *event_id,
			     struct record *out)
{
	if (!event_id)
		return store_fail(st, SC_ENOTFOUND, "no such record");
	return get_record(st, sql_get_event, 0, 0, event_id, out);
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

static const char sql_rec_update[] =
	"UPDATE records SET status = ?2, text = ?3, detail = ?4, "
	"severity = ?5, due = ?6, closed = ?7, superseded_by = ?8, "
	"withdrawn = ?9, updated = ?10 WHERE id = ?1";

static sc_err update_row(struct store *st, const struct record *r,
			 int64_t now)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_rec_update, &s);
	int rc;

	if (err)
		goto out;
	rc = store_bind_int(s, 1, r->id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, r->status);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 3, r->text);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 4, r->detail);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 5, r->severity);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 6, r->due);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 7, r->closed);
	if (rc == SQLITE_OK)
		rc = store_bind_opt(s, 8, r->superseded_by);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 9, r->withdrawn != 0);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 10, now);
	if (rc != SQLITE_OK) {
		err = store_dberr(st, rc, "cannot update record");
		goto out;
	}
	err = store_step_done(st, s, "cannot update record");
out:
	store_stmt_put(st, s);
	return err;
}

static const char sql_fts_delete[] =
	"INSERT INTO records_fts (records_fts, rowid, text, "
	"detail, tags) SELECT 'delete', id, text, detail, "
	"tags FROM records_search WHERE id = ?1";
static const char sql_assignee_clear[] =
	"DELETE FROM assignees WHERE record = ?1";
static const char sql_tag_clear[] = "DELETE FROM tags WHERE record = ?1";

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
		return store_fail(st, SC_EINVAL, "record update has no actor");
	err = store_record_check(st, r);
	if (err)
		return err;
	err = store_tx_begin(st);
	if (err)
		return err;
	err = store_record_get_id(st, r->id, &old);
	if (!err && old.kind != r->kind)
		err = store_fail(st, SC_EINVAL, "record %lld is not a %s",
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
		err = store_run_id(st, sql_fts_delete, r->id,
				   "cannot unindex record");
	if (!err)
		err = update_row(st, r, now);
	if (!err && !same_set(old.assignees, old.nassignees, r->assignees,
			      r->nassignees)) {
		err = store_run_id(st, sql_assignee_clear, r->id,
				   "cannot update assignees");
		if (!err)
			err = write_list(st, sql_assignee_add, r->id,
					 r->assignees, r->nassignees);
	}
	if (!err && lists) {
		err = store_run_id(st, sql_tag_clear, r->id,
				   "cannot update tags");
		if (!err)
			err = write_list(st, sql_tag_add, r->id, r->tags,
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
	err = store_tx_end(st, err);
	changes_clear(&ch);
	record_clear(&old);
	return err;
}

/* ---- history ---- */

/* Stream the history rows of s (?1 bound by the caller: rc). */
static sc_err history_rows(struct store *st, sqlite3_stmt *s, int rc,
			   hist_cb cb, void *ctx)
{
	while (rc == SQLITE_OK) {
		struct history_entry h;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		h.record = sqlite3_column_int64(s, 0);
		h.ts = sqlite3_column_int64(s, 1);
		h.actor = store_col_str(s, 2);
		h.field = store_col_str(s, 3);
		h.old_value = store_col_str(s, 4);
		h.new_value = store_col_str(s, 5);
		h.event_id = store_col_str(s, 6);
		if (cb(&h, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	store_stmt_put(st, s);
	return rc != SQLITE_DONE ? store_dberr(st, rc, "cannot read history")
				 : SC_OK;
}

static const char sql_history[] =
	"SELECT record, ts, actor, field, old, new, event_id "
	"FROM history WHERE record = ?1 ORDER BY id";

sc_err store_history(struct store *st, int64_t record, hist_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_history, &s);

	return err ? err
		   : history_rows(st, s, store_bind_int(s, 1, record), cb, ctx);
}

static const char sql_history_event[] =
	"SELECT record, ts, actor, field, old, new, "
	"event_id FROM history WHERE event_id = ?1 "
	"ORDER BY id";

sc_err store_history_by_event(struct store *st, const char *event_id,
			      hist_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	sc_err err = store_stmt_get(st, sql_history_event, &s);

	return err ? err
		   : history_rows(st, s, store_bind_str(s, 1, event_id), cb,
				  ctx);
}

sc_err store_history_note(struct store *st, int64_t record, int64_t ts,
			  const char *actor, const char *field,
			  const char *value, const char *event_id)
{
	if (!actor || !field || !value || !utf8_valid(value, strlen(value)))
		return store_fail(st, SC_EINVAL, "invalid history note");
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
	rc = store_bind_str(s, 1, room_id);
	if (rc == SQLITE_OK)
		rc = store_bind_str(s, 2, actor);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 3, since);
	while (rc == SQLITE_OK) {
		struct history_entry h;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		h.record = sqlite3_column_int64(s, 0);
		h.ts = sqlite3_column_int64(s, 1);
		h.actor = store_col_str(s, 2);
		h.field = store_col_str(s, 3);
		h.old_value = store_col_str(s, 4);
		h.new_value = store_col_str(s, 5);
		h.event_id = store_col_str(s, 6);
		if (cb(&h, ctx)) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	err = rc != SQLITE_DONE ? store_dberr(st, rc, "cannot read history")
				: SC_OK;
	store_stmt_put(st, s);
	return err;
}

