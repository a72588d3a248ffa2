/* SPDX-License-Identifier: MIT */
/*
 * revert.c - take back what one event changed (see revert.h): read the
 * event's history entries, and for each record they touched set every
 * field the event changed back to its old value when the field still
 * holds what the event wrote. Shared by redactions (engine.c) and !undo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revert.h"
#include "banned.h"

int64_t revert_ref(struct store *st, const char *v)
{
	enum rec_kind kind;
	struct record r;
	int64_t num, id = 0;

	if (!v)
		return 0;
	if (rec_id_parse(v, &kind, &num) != SC_OK)
		return strtoll(v, NULL, 10);
	if (store_record_get(st, kind, num, &r) == SC_OK) {
		id = r.id;
		record_clear(&r);
	}
	return id;
}

/* A record's fields as history writes them (store_record.c diff_record). */
static sc_err set_field(struct store *st, struct record *r, const char *field,
			const char *v)
{
	if (!strcmp(field, "status"))
		return v ? record_set(&r->status, v) : SC_OK;
	if (!strcmp(field, "text"))
		return v ? record_set(&r->text, v) : SC_OK;
	if (!strcmp(field, "detail"))
		return record_set(&r->detail, v);
	if (!strcmp(field, "severity"))
		return record_set(&r->severity, v);
	if (!strcmp(field, "due"))
		r->due = v ? strtoll(v, NULL, 10) : 0;
	else if (!strcmp(field, "closed"))
		r->closed = v ? strtoll(v, NULL, 10) : 0;
	else if (!strcmp(field, "superseded_by"))
		r->superseded_by = revert_ref(st, v);
	else if (!strcmp(field, "assignees") || !strcmp(field, "tags")) {
		int who = field[0] == 'a';
		char **list = who ? r->assignees : r->tags;
		size_t *n = who ? &r->nassignees : &r->ntags;
		sc_err err = SC_OK;

		for (size_t i = 0; i < *n; i++)
			free(list[i]);
		*n = 0;
		for (const char *p = v; p && *p && !err;) {
			size_t len = strcspn(p, ",");
			char *one = strndup(p, len);
			err = !one ? SC_ENOMEM : who ? record_add_assignee(r, one) :
			      record_add_tag(r, one);
			free(one);
			p += len + (p[len] == ',');
		}
		return err;
	}
	return SC_OK;
}

/* The records the event changed, other than by creating them. */
struct touched {
	int64_t ids[16];
	size_t n;
};

static int collect(const struct history_entry *h, void *ctx)
{
	struct touched *t = ctx;

	if (!strcmp(h->field, "created") || !strcmp(h->field, "withdrawn"))
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->ids[i] == h->record)
			return 0;
	if (t->n < sizeof(t->ids) / sizeof(t->ids[0]))
		t->ids[t->n++] = h->record;
	return 0;
}

struct one {
	struct store *st;
	struct record *r;
	const char *event_id;
	sc_err err;
	int changed;
};

/* Compare a record's current value of a field with v (as history has it). */
static int field_is(struct store *st, const struct record *r, const char *field,
		    const char *v)
{
	char num[24];
	int64_t n = !strcmp(field, "due") ? r->due :
		    !strcmp(field, "closed") ? r->closed : -1;
	const char *cur = !strcmp(field, "status") ? r->status :
			  !strcmp(field, "text") ? r->text :
			  !strcmp(field, "detail") ? r->detail :
			  !strcmp(field, "severity") ? r->severity : NULL;

	if (!strcmp(field, "superseded_by"))
		return r->superseded_by == revert_ref(st, v);
	if (n >= 0) {
		snprintf(num, sizeof(num), "%lld", (long long)n);
		cur = n ? num : NULL;
	} else if (!strcmp(field, "assignees") || !strcmp(field, "tags")) {
		return 1; /* lists: the event's value is taken back as a whole */
	} else if (!cur && strcmp(field, "detail") && strcmp(field, "severity")) {
		return 0; /* no field: a note, nothing to take back */
	}
	return (!cur && !v) || (cur && v && !strcmp(cur, v));
}

static int apply(const struct history_entry *h, void *ctx)
{
	struct one *u = ctx;

	if (!h->event_id || strcmp(h->event_id, u->event_id) ||
	    !field_is(u->st, u->r, h->field, h->new_value))
		return 0;
	u->err = set_field(u->st, u->r, h->field, h->old_value);
	u->changed = 1;
	return u->err != SC_OK;
}

sc_err revert_event(struct store *st, const char *room_id, const char *event_id,
		    const char *actor, int64_t now, const char *cause,
		    revert_cb cb, void *ctx, int *n)
{
	struct touched t;
	sc_err err;

	memset(&t, 0, sizeof(t));
	if (n)
		*n = 0;
	err = store_history_by_event(st, event_id, collect, &t);
	for (size_t i = 0; i < t.n && !err; i++) {
		struct record r;
		struct one one = { st, &r, event_id, SC_OK, 0 };

		err = store_record_get_id(st, t.ids[i], &r);
		if (err)
			break;
		if (!strcmp(r.room_id, room_id)) {
			err = store_history(st, r.id, apply, &one);
			if (!err)
				err = one.err;
			if (!err && one.changed)
				err = store_record_update(st, &r, actor, now, cause);
			if (!err && one.changed && n)
				(*n)++;
			if (!err && one.changed && cb && cb(&r, ctx)) {
				record_clear(&r);
				break;
			}
		}
		record_clear(&r);
	}
	return err;
}
