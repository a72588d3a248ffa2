/* SPDX-License-Identifier: MIT */
/*
 * export_json.c - `scribe export --format json` and `scribe import`:
 * a record as one JSON line and back (export.h: export_json_line,
 * import_json_line, import_run). The field tables below describe each
 * object once, for the writer and the parser alike. The reference is in
 * docs/export-formats.md ("JSON lines"): fields may be added, none
 * renamed or removed, and export, import, export gives the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include "canonjson.h"
#include "export.h"
#include "export_int.h"
#include "store.h"
#include "store_admin.h"
#include "banned.h"

/* ---- JSON lines ----
 *
 * Written by a streaming writer, not by building jansson values: an
 * export of a million records spent two thirds of its time creating and
 * freeing jansson objects. Strings are written as canonical JSON writes
 * them (canonjson_string: mandatory escapes only, raw UTF-8). Import
 * parses with jansson; tests/unit/test_export.c checks that jansson
 * reads back exactly what was written.
 *
 * The members of the objects inside a record (history entries, votes,
 * notes) are described once, by the tables below, for the writer and
 * the parser alike, so the two cannot drift apart.
 */

/* J_STR required string, J_OPTSTR string or null, J_TIME required
 * time, J_OPTTIME time or null (0 in the struct). */
enum jtype { J_STR, J_OPTSTR, J_TIME, J_OPTTIME };

struct jfield {
	const char *key;
	const char *lit;  /* "\"key\":", written as one piece */
	size_t litlen;
	enum jtype type;
	size_t off;       /* of a (const) char * or an int64_t */
};

#define JFK(key, t, off) { key, "\"" key "\":", sizeof(key) + 2, t, off }
#define JF(type, member, t) JFK(#member, t, offsetof(type, member))

/* The plain members of a record, in file order after id, kind, num. */
static const struct jfield rec_fields[] = {
	JF(struct record, room_id, J_STR),
	JF(struct record, author, J_STR),
	JF(struct record, event_id, J_OPTSTR),
	JF(struct record, text, J_STR),
	JF(struct record, detail, J_OPTSTR),
	JF(struct record, status, J_OPTSTR),   /* default: the kind's first */
	JF(struct record, severity, J_OPTSTR),
	JF(struct record, due, J_OPTTIME),
	JF(struct record, created, J_TIME),
	JF(struct record, updated, J_OPTTIME), /* default: created */
	JF(struct record, closed, J_OPTTIME),
};
static const struct jfield hist_fields[] = {
	JF(struct history_entry, ts, J_TIME),
	JF(struct history_entry, actor, J_STR),
	JF(struct history_entry, field, J_STR),
	JFK("old", J_OPTSTR, offsetof(struct history_entry, old_value)),
	JFK("new", J_OPTSTR, offsetof(struct history_entry, new_value)),
	JF(struct history_entry, event_id, J_OPTSTR),
};
static const struct jfield vote_fields[] = {
	JF(struct vote_row, user_id, J_STR),
	JFK("vote", J_STR, offsetof(struct vote_row, key)),
	JF(struct vote_row, event_id, J_OPTSTR),
};
static const struct jfield note_fields[] = {
	JF(struct note, ts, J_TIME),
	JF(struct note, author, J_STR),
	JF(struct note, kind, J_STR),
	JF(struct note, text, J_STR),
	JF(struct note, withdrawn, J_OPTTIME), /* #undo took it back */
};
#define NFIELDS(t) (sizeof(t) / sizeof(t[0]))

static const char **field_str(const void *base, const struct jfield *f)
{
	return (const char **)((uintptr_t)base + f->off);
}

static int64_t *field_time(const void *base, const struct jfield *f)
{
	return (int64_t *)((uintptr_t)base + f->off);
}

static sc_err js_str(struct sbuf *sb, const char *s)
{
	return s ? canonjson_string(s, strlen(s), sb)
		 : sbuf_add(sb, "null", 4);
}

/* Append ,"key": (a string literal) in one piece. */
#define js_key(sb, key) sbuf_add(sb, "," "\"" key "\":", sizeof(key) + 3)

/* A time as an ISO-8601 UTC string; 0 is null when zero_null. */
static sc_err js_time(struct sbuf *sb, int64_t t, int zero_null)
{
	sc_err err;

	if (!t && zero_null)
		return sbuf_add(sb, "null", 4);
	err = sbuf_putc(sb, '"');
	if (!err)
		err = iso_utc(sb, t);
	if (!err)
		err = sbuf_putc(sb, '"');
	return err;
}

static sc_err js_strs(struct sbuf *sb, const char *const *v, size_t n)
{
	sc_err err = sbuf_putc(sb, '[');

	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			err = sbuf_putc(sb, ',');
		if (!err)
			err = js_str(sb, v[i]);
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

/* The members fl of the struct at base, each after a comma unless it is
 * the first of an object. */
static sc_err js_fields(struct sbuf *sb, const struct jfield *fl, size_t nf,
			const void *base, int first)
{
	sc_err err = SC_OK;

	for (size_t j = 0; j < nf && !err; j++) {
		err = j || !first ? sbuf_putc(sb, ',') : SC_OK;
		if (!err)
			err = sbuf_add(sb, fl[j].lit, fl[j].litlen);
		if (!err && (fl[j].type == J_TIME || fl[j].type == J_OPTTIME))
			err = js_time(sb, *field_time(base, &fl[j]),
				      fl[j].type == J_OPTTIME);
		else if (!err)
			err = js_str(sb, *field_str(base, &fl[j]));
	}
	return err;
}

/* An array of n objects of size bytes at v, members from fl. */
static sc_err js_objects(struct sbuf *sb, const struct jfield *fl, size_t nf,
			 const void *v, size_t n, size_t size)
{
	sc_err err = sbuf_putc(sb, '[');

	for (size_t i = 0; i < n && !err; i++) {
		err = sbuf_puts(sb, i ? ",{" : "{");
		if (!err)
			err = js_fields(sb, fl, nf, (const char *)v + i * size, 1);
		if (!err)
			err = sbuf_putc(sb, '}');
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

/* ,"attendance":[{"user_id":…,"lines":N,"first":time|null},…] */
static sc_err js_attendance(struct sbuf *sb, const struct attendee *v, size_t n)
{
	sc_err err = js_key(sb, "attendance");

	if (!err)
		err = sbuf_putc(sb, '[');
	for (size_t i = 0; i < n && !err; i++) {
		err = sbuf_puts(sb, i ? ",{\"user_id\":" : "{\"user_id\":");
		if (!err)
			err = js_str(sb, v[i].user_id);
		if (!err)
			err = sbuf_puts(sb, ",\"lines\":");
		if (!err)
			err = sbuf_addint(sb, v[i].lines);
		if (!err)
			err = sbuf_puts(sb, ",\"first\":");
		if (!err)
			err = js_time(sb, v[i].first, 1);
		if (!err)
			err = sbuf_putc(sb, '}');
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

/* A history entry's field whose values are times ("due", "closed"):
 * written as the record's own times are, ISO 8601 UTC. */
static int hist_time_field(const char *field)
{
	return field && (!strcmp(field, "due") || !strcmp(field, "closed"));
}

static int all_digits(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* One old/new value of a history entry. */
static sc_err js_hist_value(struct sbuf *sb, const char *field, const char *v)
{
	if (hist_time_field(field) && all_digits(v) && strlen(v) < 12)
		return js_time(sb, strtoll(v, NULL, 10), 0);
	return js_str(sb, v);
}

/* The history array: the members of hist_fields, in their order, with
 * time values as times (a reference, superseded_by, comes as a short
 * id: see json_cb). */
static sc_err js_history(struct sbuf *sb, const struct history_entry *v, size_t n)
{
	sc_err err = sbuf_putc(sb, '[');

	for (size_t i = 0; i < n && !err; i++) {
		const struct history_entry *h = &v[i];
		err = sbuf_puts(sb, i ? ",{\"ts\":" : "{\"ts\":");
		if (!err)
			err = js_time(sb, h->ts, 0);
		if (!err)
			err = sbuf_puts(sb, ",\"actor\":");
		if (!err)
			err = js_str(sb, h->actor);
		if (!err)
			err = sbuf_puts(sb, ",\"field\":");
		if (!err)
			err = js_str(sb, h->field);
		if (!err)
			err = sbuf_puts(sb, ",\"old\":");
		if (!err)
			err = js_hist_value(sb, h->field, h->old_value);
		if (!err)
			err = sbuf_puts(sb, ",\"new\":");
		if (!err)
			err = js_hist_value(sb, h->field, h->new_value);
		if (!err)
			err = sbuf_puts(sb, ",\"event_id\":");
		if (!err)
			err = js_str(sb, h->event_id);
		if (!err)
			err = sbuf_putc(sb, '}');
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

sc_err export_json_line(const struct rec_full *f, struct sbuf *out)
{
	const struct record *r = &f->r;
	size_t start = out->len;
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	/* The order here is the order in the file; it is part of the
	 * format (README "JSON lines"). */
	err = sbuf_add(out, "{\"id\":", 6);
	if (!err)
		err = js_str(out, id);
	if (!err)
		err = js_key(out, "kind");
	if (!err)
		err = js_str(out, rec_kind_name(r->kind));
	if (!err)
		err = js_key(out, "num");
	if (!err)
		err = sbuf_addint(out, r->num);
	if (!err)
		err = js_fields(out, rec_fields, NFIELDS(rec_fields), r, 0);
	if (!err)
		err = js_key(out, "meeting");
	if (!err)
		err = js_str(out, f->meeting_ref);
	if (!err)
		err = js_key(out, "superseded_by");
	if (!err)
		err = js_str(out, f->superseded_ref);
	if (!err)
		err = js_key(out, "withdrawn");
	if (!err)
		err = sbuf_puts(out, r->withdrawn ? "true" : "false");
	if (!err)
		err = js_key(out, "assignees");
	if (!err)
		err = js_strs(out, (const char *const *)r->assignees, r->nassignees);
	if (!err)
		err = js_key(out, "tags");
	if (!err)
		err = js_strs(out, (const char *const *)r->tags, r->ntags);
	if (!err)
		err = js_key(out, "votes");
	if (!err)
		err = js_objects(out, vote_fields, NFIELDS(vote_fields), f->votes,
				 f->nvotes, sizeof(*f->votes));
	if (!err)
		err = js_key(out, "history");
	if (!err)
		err = js_history(out, f->history, f->nhistory);
	if (!err)
		err = js_key(out, "notes");
	if (!err)
		err = js_objects(out, note_fields, NFIELDS(note_fields), f->notes,
				 f->nnotes, sizeof(*f->notes));
	if (!err)
		err = js_key(out, "attendees");
	if (!err)
		err = js_strs(out, f->attendees, f->nattendees);
	/* meetings only: lines said and first line of each attendee */
	if (!err && r->kind == REC_MEETING)
		err = js_attendance(out, f->attendance, f->nattendance);
	if (!err)
		err = sbuf_add(out, "}\n", 2);
	if (err)
		sbuf_setlen(out, start);
	return err;
}

/* ---- JSON import ---- */

void rec_parsed_clear(struct rec_parsed *p)
{
	record_clear(&p->f.r);
	free(p->f.history);
	free(p->f.votes);
	free(p->f.notes);
	free(p->f.attendees);
	free(p->f.attendance);
	json_decref(p->root);
	memset(p, 0, sizeof(*p));
}

/* A string member (NULL when missing or null; SC_EINVAL for another
 * type, or when missing and required). */
static sc_err get_str(json_t *o, const char *key, int required,
		      const char **out, struct sbuf *why)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return SC_OK;
		sbuf_printf(why, "'%s' is missing", key);
		return SC_EINVAL;
	}
	if (!json_is_string(v)) {
		sbuf_printf(why, "'%s' must be a string", key);
		return SC_EINVAL;
	}
	*out = json_string_value(v);
	return SC_OK;
}

/* A time member: ISO-8601 UTC string, unix seconds, or null/missing
 * (0, unless required). */
static sc_err get_time(json_t *o, const char *key, int required,
		       int64_t *out, struct sbuf *why)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v || json_is_null(v)) {
		if (!required)
			return SC_OK;
		sbuf_printf(why, "'%s' is missing", key);
		return SC_EINVAL;
	}
	/* up to 9999-12-31T23:59:59Z, what the ISO form can write back */
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < 253402300800LL) {
		*out = json_integer_value(v);
		return SC_OK;
	}
	if (json_is_string(v) && !iso_utc_parse(json_string_value(v), out))
		return SC_OK;
	sbuf_printf(why, "'%s' must be a time like \"2026-11-23T10:30:00Z\"",
		    key);
	return SC_EINVAL;
}

/* An array member (NULL when missing). */
static sc_err get_array(json_t *o, const char *key, json_t **out,
			struct sbuf *why)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return SC_OK;
	if (!json_is_array(v)) {
		sbuf_printf(why, "'%s' must be an array", key);
		return SC_EINVAL;
	}
	*out = v;
	return SC_OK;
}

/* Read the members fl of o into the struct at base. Strings are
 * borrowed from o, or copies (record_set) when copy. */
static sc_err parse_fields(json_t *o, const struct jfield *fl, size_t nf,
			   void *base, int copy, struct sbuf *why)
{
	sc_err err = SC_OK;

	for (size_t j = 0; j < nf && !err; j++) {
		const char *s = NULL;

		switch (fl[j].type) {
		case J_TIME:
		case J_OPTTIME:
			err = get_time(o, fl[j].key, fl[j].type == J_TIME,
				       field_time(base, &fl[j]), why);
			break;
		default:
			err = get_str(o, fl[j].key, fl[j].type == J_STR, &s, why);
			if (!err && copy)
				err = record_set((char **)field_str(base, &fl[j]), s);
			else if (!err)
				*field_str(base, &fl[j]) = s;
		}
	}
	return err;
}

/* The default status of a new record of kind k. */
static const char *default_status(enum rec_kind k)
{
	static const char *const st[REC_NKINDS] = {
		[REC_TODO] = "open", [REC_DECISION] = "accepted",
		[REC_CHANGE] = "logged", [REC_MEETING] = "ended",
		[REC_INCIDENT] = "open", [REC_REMINDER] = "pending",
	};
	return st[k];
}

static sc_err parse_record(json_t *o, struct record *r, struct sbuf *why)
{
	const char *id, *kind, *s;
	json_t *v, *a;
	enum rec_kind k;
	int64_t num;
	sc_err err;

	err = get_str(o, "id", 1, &id, why);
	if (err)
		return err;
	if (rec_id_parse(id, &k, &num)) {
		sbuf_printf(why, "'id' %s is not a record id like T12", id);
		return SC_EINVAL;
	}
	r->kind = k;
	r->num = num;
	err = get_str(o, "kind", 0, &kind, why);
	if (!err && kind && strcmp(kind, rec_kind_name(k))) {
		sbuf_printf(why, "'id' %s does not match kind %s", id, kind);
		return SC_EINVAL;
	}
	v = json_object_get(o, "num");
	if (!err && v && (!json_is_integer(v) || json_integer_value(v) != num)) {
		sbuf_printf(why, "'num' does not match 'id' %s", id);
		return SC_EINVAL;
	}
	if (!err)
		err = parse_fields(o, rec_fields, NFIELDS(rec_fields), r, 1, why);
	if (!err && !r->status)
		err = record_set(&r->status, default_status(k));
	if (!err && !r->updated)
		r->updated = r->created;
	v = json_object_get(o, "withdrawn");
	if (!err && v && !json_is_boolean(v)) {
		sbuf_printf(why, "'withdrawn' must be true or false");
		return SC_EINVAL;
	}
	r->withdrawn = json_is_true(v);
	if (!err)
		err = get_array(o, "assignees", &a, why);
	for (size_t i = 0; !err && a && i < json_array_size(a); i++) {
		s = json_string_value(json_array_get(a, i));
		if (!s) {
			sbuf_printf(why, "'assignees' must hold strings");
			return SC_EINVAL;
		}
		err = record_add_assignee(r, s);
	}
	if (!err)
		err = get_array(o, "tags", &a, why);
	for (size_t i = 0; !err && a && i < json_array_size(a); i++) {
		s = json_string_value(json_array_get(a, i));
		if (!s) {
			sbuf_printf(why, "'tags' must hold strings");
			return SC_EINVAL;
		}
		err = record_add_tag(r, s);
	}
	return err;
}

/* Allocate an array of n elements of size (at least 1, so n = 0 still
 * gives a pointer to free). */
static void *alloc_n(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* Parse the array member key of o into a new array of objects of size
 * bytes (members from fl) at *out, *n of them. Strings are borrowed
 * from o. */
static sc_err parse_objects(json_t *o, const char *key, const struct jfield *fl,
			    size_t nf, void *out, size_t *n, size_t size,
			    struct sbuf *why)
{
	void **arr = out;
	json_t *a, *e;
	size_t i;
	sc_err err = get_array(o, key, &a, why);

	if (err)
		return err;
	*arr = alloc_n(json_array_size(a), size);
	if (!*arr)
		return SC_ENOMEM;
	json_array_foreach(a, i, e) {
		void *base = (char *)*arr + i * size;
		if (!json_is_object(e)) {
			sbuf_printf(why, "'%s' must hold objects", key);
			return SC_EINVAL;
		}
		err = parse_fields(e, fl, nf, base, 0, why);
		if (err)
			return err;
		(*n)++;
	}
	return SC_OK;
}

/* "attendance" (optional, meetings): [{user_id, lines, first}]. */
static sc_err parse_attendance(json_t *o, struct rec_full *f, struct sbuf *why)
{
	json_t *a, *e;
	size_t i;
	sc_err err = get_array(o, "attendance", &a, why);

	if (err || !a)
		return err;
	f->attendance = alloc_n(json_array_size(a), sizeof(*f->attendance));
	if (!f->attendance)
		return SC_ENOMEM;
	json_array_foreach(a, i, e) {
		struct attendee *at = &f->attendance[i];
		json_t *lines = json_object_get(e, "lines");

		if (!json_is_object(e)) {
			sbuf_printf(why, "'attendance' must hold objects");
			return SC_EINVAL;
		}
		err = get_str(e, "user_id", 1, &at->user_id, why);
		if (!err)
			err = get_time(e, "first", 0, &at->first, why);
		if (err)
			return err;
		if (lines && (!json_is_integer(lines) ||
			      json_integer_value(lines) < 0)) {
			sbuf_printf(why, "'lines' must be a whole number");
			return SC_EINVAL;
		}
		at->lines = lines ? json_integer_value(lines) : 0;
		f->nattendance++;
	}
	return SC_OK;
}

/* History values of time fields come as ISO 8601 (what export writes)
 * or unix seconds (older exports): the store keeps seconds. */
static sc_err hist_times_back(json_t *o, struct sbuf *why)
{
	static const char *const keys[] = { "old", "new" };
	json_t *a = json_object_get(o, "history"), *e;
	size_t i;

	if (!json_is_array(a))
		return SC_OK;
	json_array_foreach(a, i, e) {
		const char *field = json_string_value(json_object_get(e, "field"));
		if (!json_is_object(e) || !hist_time_field(field))
			continue;
		for (size_t k = 0; k < 2; k++) {
			json_t *v = json_object_get(e, keys[k]);
			const char *s = json_string_value(v);
			int64_t t;
			char num[24];

			if (json_is_integer(v) && json_integer_value(v) >= 0) {
				t = json_integer_value(v);
			} else if (!s || all_digits(s)) {
				continue;
			} else if (iso_utc_parse(s, &t) != SC_OK) {
				sbuf_printf(why, "history '%s' of '%s' must be a time like "
					    "\"2026-11-23T10:30:00Z\"", keys[k], field);
				return SC_EINVAL;
			}
			snprintf(num, sizeof(num), "%lld", (long long)t);
			if (json_object_set_new(e, keys[k], json_string(num)))
				return SC_ENOMEM;
		}
	}
	return SC_OK;
}

static sc_err parse_attached(json_t *o, struct rec_full *f, struct sbuf *why)
{
	json_t *a, *e;
	size_t i;
	sc_err err;

	err = hist_times_back(o, why);
	if (!err)
		err = parse_objects(o, "history", hist_fields, NFIELDS(hist_fields),
				    &f->history, &f->nhistory, sizeof(*f->history), why);
	if (!err)
		err = parse_objects(o, "votes", vote_fields, NFIELDS(vote_fields),
				    &f->votes, &f->nvotes, sizeof(*f->votes), why);
	if (!err)
		err = parse_objects(o, "notes", note_fields, NFIELDS(note_fields),
				    &f->notes, &f->nnotes, sizeof(*f->notes), why);
	if (!err)
		err = get_array(o, "attendees", &a, why);
	if (err)
		return err;
	f->attendees = alloc_n(json_array_size(a), sizeof(*f->attendees));
	if (!f->attendees)
		return SC_ENOMEM;
	json_array_foreach(a, i, e) {
		f->attendees[i] = json_string_value(e);
		if (!f->attendees[i]) {
			sbuf_printf(why, "'attendees' must hold strings");
			return SC_EINVAL;
		}
		f->nattendees++;
	}
	return parse_attendance(o, f, why);
}

sc_err import_json_line(const char *line, struct rec_parsed *out,
			struct sbuf *why)
{
	struct rec_parsed p;
	json_error_t jerr;
	sc_err err;

	memset(&p, 0, sizeof(p));
	p.root = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!p.root) {
		sbuf_printf(why, "not JSON: %s", jerr.text);
		return SC_EINVAL;
	}
	if (!json_is_object(p.root)) {
		sbuf_puts(why, "not a JSON object");
		err = SC_EINVAL;
		goto out;
	}
	err = parse_record(p.root, &p.f.r, why);
	if (!err)
		err = get_str(p.root, "meeting", 0, &p.f.meeting_ref, why);
	if (!err)
		err = get_str(p.root, "superseded_by", 0, &p.f.superseded_ref,
			      why);
	if (!err)
		err = parse_attached(p.root, &p.f, why);
out:
	if (err) {
		rec_parsed_clear(&p);
		return err;
	}
	*out = p;
	return SC_OK;
}

sc_err import_run(struct store *st, FILE *in, const char *name,
		  int64_t *count, char **why)
{
	struct sbuf msg;
	char *line = NULL;
	size_t cap = 0;
	int64_t lineno = 0, n = 0;
	ssize_t len;
	sc_err err;

	sbuf_init(&msg, 4096);
	err = store_import_begin(st);
	if (err) {
		ex_why(why, "%s", store_errmsg(st));
		goto out;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		struct rec_parsed p;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		sbuf_setlen(&msg, 0);
		err = import_json_line(line, &p, &msg);
		if (err) {
			ex_why(why, "%s:%lld: %s", name, (long long)lineno,
				msg.len ? msg.buf : sc_strerror(err));
			break;
		}
		err = store_import_record(st, &p.f);
		rec_parsed_clear(&p);
		if (err) {
			ex_why(why, "%s:%lld: %s", name, (long long)lineno,
				store_errmsg(st));
			break;
		}
		n++;
	}
	if (!err && ferror(in)) {
		ex_why(why, "cannot read '%s': %m", name);
		err = SC_EIO;
	}
	if (err) {
		store_import_end(st, 0);
	} else {
		err = store_import_end(st, 1);
		if (err)
			ex_why(why, "%s: %s", name, store_errmsg(st));
	}
out:
	free(line);
	sbuf_release(&msg);
	if (!err)
		*count = n;
	return err;
}

/* ---- the export ---- */

/* The short id ("D5") of the record a history value names by store id
 * ("18", as the store writes superseded_by), into buf; a value that is
 * no store id (an import's "D5") as it is. */
static const char *hist_ref(struct store *st, const char *v, char *buf,
			    size_t size)
{
	struct record r;

	if (!all_digits(v) || strlen(v) > 18 ||
	    store_record_get_id(st, strtoll(v, NULL, 10), &r) != SC_OK)
		return v;
	record_short_id(&r, buf, size);
	record_clear(&r);
	return buf;
}

static int json_cb(const struct rec_full *f, void *ctx)
{
	struct ex *x = ctx;
	struct rec_full copy;
	struct history_entry *h = NULL;
	char (*refs)[2][24] = NULL;

	/* history names a successor by store id, which an import into
	 * another store changes: the file says the short id */
	for (size_t i = 0; i < f->nhistory && !h; i++) {
		if (strcmp(f->history[i].field, "superseded_by"))
			continue;
		h = malloc(f->nhistory * sizeof(*h));
		refs = calloc(f->nhistory, sizeof(*refs));
		if (!h || !refs) {
			free(h);
			free(refs);
			x->err = SC_ENOMEM;
			return 1;
		}
		memcpy(h, f->history, f->nhistory * sizeof(*h));
		for (size_t k = 0; k < f->nhistory; k++) {
			if (strcmp(h[k].field, "superseded_by"))
				continue;
			h[k].old_value = hist_ref(x->st, h[k].old_value, refs[k][0],
						  sizeof(refs[k][0]));
			h[k].new_value = hist_ref(x->st, h[k].new_value, refs[k][1],
						  sizeof(refs[k][1]));
		}
		copy = *f;
		copy.history = h;
		f = &copy;
	}
	sbuf_setlen(&x->line, 0);
	x->err = export_json_line(f, &x->line);
	free(h);
	free(refs);
	if (!x->err)
		x->err = outf_write(&x->out, &x->line, x->why);
	ex_progress_step(&x->prog);
	return x->err != SC_OK;
}

sc_err export_json(struct ex *x)
{
	struct rec_query q;
	sc_err err;

	ex_base_query(x->o, &q);
	q.include_withdrawn = 1;
	ex_progress_start(&x->prog, x->st, &q, x->o->progress);
	err = outf_open(&x->out, NULL, x->o->out, x->why);
	if (!err)
		err = ex_store_err(x, store_export(x->st, &q, 1, json_cb, x));
	if (!err)
		err = x->err;
	ex_progress_end(&x->prog);
	{
		sc_err e = outf_close(&x->out, !err, x->why);
		if (!err)
			err = e;
	}
	return err;
}
