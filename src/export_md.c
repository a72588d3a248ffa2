/* SPDX-License-Identifier: MIT */
/*
 * export_md.c - `scribe export --format md`: a handbook page per room
 * (open action items by owner, decision log, change log), named once by
 * the room's alias and kept. Also the Markdown that md, adr and minutes
 * write alike (export_int.h): text that stays text on its line, code
 * spans, people as the room knows them, dates in the export's zone, and
 * the lines of an action item, a decision and a change, which the
 * minutes list too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "export_int.h"
#include "people.h"
#include "store.h"
#include "store_admin.h"
#include "when.h"
#include "banned.h"

/* ---- Markdown text ---- */

/* Append t in tz with strftime format fmt. UTC (the common case, and
 * the bench's) skips the zone switch of when_format. */
sc_err local_fmt(struct sbuf *out, const char *tz, int64_t t,
		 const char *fmt)
{
	struct tm tm;
	char buf[64];

	if (tz && strcmp(tz, "UTC"))
		return when_format(t, tz, fmt, out);
	if (when_utc(t, &tm) || !strftime(buf, sizeof(buf), fmt, &tm))
		return SC_EINVAL;
	return sbuf_puts(out, buf);
}

/*
 * Append s[0..n) as text on one Markdown line. Whatever the record says
 * (it may come from anyone in a room, or from an import), it stays text
 * on its line: line breaks become spaces, and what would start markup
 * is backslash-escaped: '<' (raw HTML: <script>, <img onerror=...>,
 * autolinks), '[' and ']' (links and images: [x](javascript:...), and
 * the end of a link scribe writes around a title), '\\' itself, and '|'
 * in a table cell, which would start the next cell.
 */
sc_err md_textn(struct sbuf *out, const char *s, size_t n, int table)
{
	const char *run = s, *end = s + n;
	sc_err err = SC_OK;

	for (const char *p = s; p < end && !err; p++) {
		if (*p != '\n' && *p != '\r' && *p != '<' && *p != '\\' &&
		    *p != '[' && *p != ']' && (*p != '|' || !table))
			continue;
		err = sbuf_add(out, run, (size_t)(p - run));
		run = p + 1;
		if (!err && (*p == '\n' || *p == '\r'))
			err = sbuf_putc(out, ' ');
		else if (!err)
			err = sbuf_add(out, (const char[]){ '\\', *p }, 2);
	}
	return err ? err : sbuf_add(out, run, (size_t)(end - run));
}

sc_err md_text(struct sbuf *out, const char *s, int table)
{
	return md_textn(out, s, strlen(s), table);
}

/*
 * Append s as a Markdown code span (`!ops:example.org`), whatever it
 * holds: the fence is one backtick longer than the longest run of
 * backticks in s, with a space inside it when s starts or ends with a
 * backtick (CommonMark's rule), and line breaks become spaces, so no
 * room id can end the span early and write HTML or a heading.
 */
sc_err md_code(struct sbuf *out, const char *s)
{
	size_t run = 0, longest = 0, n = strlen(s);
	int pad = n && (s[0] == '`' || s[n - 1] == '`');
	sc_err err = SC_OK;

	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	for (size_t i = 0; i <= longest && !err; i++)
		err = sbuf_putc(out, '`');
	if (!err && pad)
		err = sbuf_putc(out, ' ');
	for (const char *p = s; *p && !err; p++)
		err = sbuf_putc(out, *p == '\n' || *p == '\r' ? ' ' : *p);
	if (!err && pad)
		err = sbuf_putc(out, ' ');
	for (size_t i = 0; i <= longest && !err; i++)
		err = sbuf_putc(out, '`');
	return err;
}

/* A person as the room of what is written knows them (people.h): their
 * display name there, else the localpart, the id when two would look
 * the same; a free name (the CLI's) as it is. Markdown-escaped. */
sc_err ex_person(struct ex *x, struct sbuf *out, const char *room,
	      const char *user_id)
{
	const char *label;
	sc_err err = person_names_room(&x->people, x->st, room);

	if (err)
		return err;
	label = person_label(&x->people, user_id);
	return label ? md_text(out, label, 0) : SC_ENOMEM;
}

/* ---- Markdown: shared pieces ---- */

/* "[ ] elon/dc: text (T7, critical, due 2026-11-27)" as the minutes of
 * seed 000 list follow-ups (render_action_item's layout, with absolute
 * dates so the file does not change with the day it is written). */
sc_err md_action_item(struct ex *x, struct sbuf *sb,
		      const struct record *r)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_puts(sb, strcmp(r->status, "done") ? "- [ ] " : "- [x] ");
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		if (i)
			err = sbuf_putc(sb, '/');
		if (!err)
			err = ex_person(x, sb, r->room_id, r->assignees[i]);
	}
	if (!err && r->nassignees)
		err = sbuf_puts(sb, ": ");
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_printf(sb, " (%s", id);
	if (!err && r->severity)
		err = sbuf_printf(sb, ", %s", r->severity);
	if (!err && r->due) {
		err = sbuf_puts(sb, ", due ");
		if (!err)
			err = local_fmt(sb, x->o->tz, r->due, "%Y-%m-%d");
	}
	if (!err && !r->nassignees)
		err = sbuf_puts(sb, ", unassigned");
	if (!err && strcmp(r->status, "open") && strcmp(r->status, "done"))
		err = sbuf_printf(sb, ", %s", r->status);
	for (size_t i = 0; i < r->ntags && !err; i++) {
		err = sbuf_puts(sb, i ? " #" : ") #");
		if (!err)
			err = md_text(sb, r->tags[i], 0);
	}
	if (!err && !r->ntags)
		err = sbuf_putc(sb, ')');
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

/* One row of a decision table: | D4 | date | text | rationale | status | */
sc_err md_decision_row(struct ex *x, struct sbuf *sb,
		       const struct record *r)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "| %s | ", id);
	if (!err)
		err = local_fmt(sb, x->o->tz, r->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_puts(sb, " | ");
	if (!err)
		err = md_text(sb, r->text, 1);
	if (!err)
		err = sbuf_puts(sb, " | ");
	if (!err && r->detail)
		err = md_text(sb, r->detail, 1);
	if (!err)
		err = sbuf_printf(sb, " | **%c%s** |\n", r->status[0] - 32,
				  r->status + 1);
	return err;
}

sc_err md_change_line(struct ex *x, struct sbuf *sb,
		      const struct record *r)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_puts(sb, "- ");
	if (!err)
		err = local_fmt(sb, x->o->tz, r->created, "%Y-%m-%d %H:%M");
	if (!err)
		err = sbuf_printf(sb, " %s ", id);
	if (!err)
		err = ex_person(x, sb, r->room_id, r->author);
	if (!err)
		err = sbuf_puts(sb, ": ");
	if (!err)
		err = md_text(sb, r->text, 0);
	for (size_t i = 0; i < r->ntags && !err; i++) {
		if (strstr(r->text, r->tags[i]))
			continue;
		err = sbuf_puts(sb, " #");
		if (!err)
			err = md_text(sb, r->tags[i], 0);
	}
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

/* A way to write a record as a Markdown line, and the lists of the
 * record it does not read: the store leaves them out. */
struct md_line {
	sc_err (*fn)(struct ex *x, struct sbuf *sb, const struct record *r);
	unsigned skip;
};

static const struct md_line action_item = { md_action_item, SKIP_VOTES };
static const struct md_line decision_row = { md_decision_row, SKIP_ALL };
static const struct md_line change_line = { md_change_line,
					    SKIP_ASSIGNEES | SKIP_VOTES };

/* A store_query callback that appends a line per record to x->line and
 * flushes it to x->out. */
struct md_list {
	struct ex *x;
	const struct md_line *line;
	int64_t n;
};

static int md_list_cb(const struct record *r, void *ctx)
{
	struct md_list *l = ctx;
	struct ex *x = l->x;

	sbuf_setlen(&x->line, 0);
	x->err = l->line->fn(x, &x->line, r);
	if (!x->err)
		x->err = outf_write(&x->out, &x->line, x->why);
	ex_progress_step(&x->prog);
	l->n++;
	return x->err != SC_OK;
}

/* Write the records of q, one line each; *n gets how many. */
static sc_err md_list(struct ex *x, const struct rec_query *q,
		      const struct md_line *line, int64_t *n)
{
	struct md_list l = { x, line, 0 };
	struct rec_query lq = *q;
	sc_err err;

	lq.skip = line->skip;
	err = ex_store_err(x, store_query(x->st, &lq, md_list_cb, &l));
	if (!err)
		err = x->err;
	if (n)
		*n = l.n;
	return err;
}

static sc_err md_puts(struct ex *x, const char *s)
{
	sbuf_setlen(&x->line, 0);
	x->err = sbuf_puts(&x->line, s);
	return x->err ? x->err : outf_write(&x->out, &x->line, x->why);
}

/* ---- Markdown handbook page per room ---- */

/*
 * The open action items of a room grouped by owner, from one pass over
 * them in due order: each line is rendered once into the section of
 * every assignee (or of nobody). Holds that part of the page, the open
 * items of one room, until it is written; a query per owner read the
 * whole assignee index once per person (two thirds of a large export).
 */
struct owner {
	char *user;
	struct sbuf lines;
};

struct owners {
	struct ex *x;
	struct owner *v;
	size_t n, cap;
	struct sbuf nobody; /* unassigned items */
	sc_err err;
};

/* The section of user, made on first use. */
static struct sbuf *owner_lines(struct owners *ow, const char *user)
{
	struct owner *o;

	for (size_t i = 0; i < ow->n; i++)
		if (!strcmp(ow->v[i].user, user))
			return &ow->v[i].lines;
	if (ow->n == ow->cap) {
		size_t c = ow->cap ? ow->cap * 2 : 16;
		struct owner *nv = realloc(ow->v, c * sizeof(*nv));
		if (!nv)
			return NULL;
		ow->v = nv;
		ow->cap = c;
	}
	o = &ow->v[ow->n];
	o->user = strdup(user);
	if (!o->user)
		return NULL;
	sbuf_init(&o->lines, 0);
	ow->n++;
	return &o->lines;
}

static int owners_cb(const struct record *r, void *ctx)
{
	struct owners *ow = ctx;
	struct ex *x = ow->x;
	struct sbuf *sb;

	sbuf_setlen(&x->line, 0);
	ow->err = md_action_item(x, &x->line, r);
	if (!ow->err && !r->nassignees)
		ow->err = sbuf_add(&ow->nobody, x->line.buf, x->line.len);
	for (size_t i = 0; i < r->nassignees && !ow->err; i++) {
		sb = owner_lines(ow, r->assignees[i]);
		ow->err = sb ? sbuf_add(sb, x->line.buf, x->line.len)
			     : SC_ENOMEM;
	}
	ex_progress_step(&x->prog);
	return ow->err != SC_OK;
}

static int owner_cmp(const void *a, const void *b)
{
	return strcmp(((const struct owner *)a)->user,
		      ((const struct owner *)b)->user);
}

static void owners_clear(struct owners *ow)
{
	for (size_t i = 0; i < ow->n; i++) {
		free(ow->v[i].user);
		sbuf_release(&ow->v[i].lines);
	}
	free(ow->v);
	sbuf_release(&ow->nobody);
}

/* "## Open action items" of the room of q: one "### elon (@elon:x)"
 * section per owner in user id order, then "### Unassigned". */
static sc_err md_open_items(struct ex *x, struct rec_query *q)
{
	struct owners ow;
	sc_err err;

	memset(&ow, 0, sizeof(ow));
	ow.x = x;
	sbuf_init(&ow.nobody, 0);
	q->kinds = REC_BIT(REC_TODO);
	q->open_only = 1;
	q->order = ORDER_DUE;
	q->skip = action_item.skip;
	err = md_puts(x, "\n## Open action items\n");
	if (!err)
		err = ex_store_err(x, store_query(x->st, q, owners_cb, &ow));
	if (!err)
		err = ow.err;
	if (ow.n) /* qsort(NULL, 0) is undefined: a room with no owner */
		qsort(ow.v, ow.n, sizeof(*ow.v), owner_cmp);
	for (size_t i = 0; i < ow.n && !err; i++) {
		sbuf_setlen(&x->line, 0);
		err = sbuf_puts(&x->line, "\n### ");
		if (!err)
			err = ex_person(x, &x->line, q->room_id, ow.v[i].user);
		if (!err)
			err = sbuf_puts(&x->line, " (");
		if (!err)
			err = md_text(&x->line, ow.v[i].user, 0);
		if (!err)
			err = sbuf_puts(&x->line, ")\n\n");
		if (!err)
			err = outf_write(&x->out, &x->line, x->why);
		if (!err)
			err = outf_write(&x->out, &ow.v[i].lines, x->why);
	}
	if (!err && ow.nobody.len) {
		err = md_puts(x, "\n### Unassigned\n\n");
		if (!err)
			err = outf_write(&x->out, &ow.nobody, x->why);
	}
	if (!err && !ow.n && !ow.nobody.len)
		err = md_puts(x, "\nNo open action items.\n");
	q->open_only = 0;
	q->order = ORDER_OLDEST;
	q->skip = 0;
	owners_clear(&ow);
	return err;
}

/* The page of room in file name of the output folder (NULL: stdout). */
static sc_err md_room(struct ex *x, const char *room, const char *name)
{
	struct rec_query q;
	unsigned kinds = x->o->kinds ? x->o->kinds : REC_ALL;
	char *label = NULL;
	int64_t n;
	sc_err err;

	err = outf_open(&x->out, name ? x->o->out : NULL, name, x->why);
	if (err)
		goto out;
	sbuf_setlen(&x->line, 0);
	err = export_room_label(x->st, room, &label);
	if (!err)
		err = sbuf_puts(&x->line, "# Handbook: ");
	if (!err)
		err = md_text(&x->line, label, 0);
	if (!err)
		err = sbuf_puts(&x->line, "\n\nThe record of room ");
	if (!err)
		err = md_code(&x->line, room);
	if (!err)
		err = sbuf_printf(&x->line, " kept by scribe. Times are %s.\n",
				  x->o->tz ? x->o->tz : "UTC");
	if (!err)
		err = outf_write(&x->out, &x->line, x->why);

	ex_base_query(x->o, &q);
	q.room_id = room;
	if (!err && (kinds & REC_BIT(REC_TODO)))
		err = md_open_items(x, &q);
	if (!err && (kinds & REC_BIT(REC_DECISION))) {
		err = md_puts(x, "\n## Decision log\n\n"
				 "| ID | Date | Decision | Rationale | Status |\n"
				 "| :--- | :--- | :--- | :--- | :--- |\n");
		q.kinds = REC_BIT(REC_DECISION);
		if (!err)
			err = md_list(x, &q, &decision_row, NULL);
	}
	if (!err && (kinds & REC_BIT(REC_CHANGE))) {
		err = md_puts(x, "\n## Change log\n\n");
		q.kinds = REC_BIT(REC_CHANGE);
		q.order = ORDER_NEWEST;
		if (!err)
			err = md_list(x, &q, &change_line, &n);
		if (!err && !n)
			err = md_puts(x, "No changes logged.\n");
	}
out:
	outf_close(&x->out, !err, x->why);
	free(label);
	return err;
}

static int first_cb(const struct rec_full *f, void *ctx)
{
	*(int64_t *)ctx = f->r.id;
	return 1;
}

/* Whether name is among names[0..n) (NULL entries: not yet named). */
static int name_taken(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], name))
			return 1;
	return 0;
}

sc_err export_room_label(struct store *st, const char *room_id, char **out)
{
	struct sbuf key;
	struct room r;
	char *v = NULL;
	sc_err err;

	sbuf_init(&key, 0);
	err = sbuf_printf(&key, "room.alias.%s", room_id);
	if (!err)
		err = store_kv_get(st, key.buf, &v);
	sbuf_release(&key);
	if (err != SC_ENOTFOUND) {
		if (!err)
			*out = v;
		return err;
	}
	memset(&r, 0, sizeof(r));
	err = store_room_get(st, room_id, &r);
	if (!err && r.name && *r.name) {
		*out = r.name;
		r.name = NULL;
	} else if (!err || err == SC_ENOTFOUND) {
		err = (*out = strdup(room_id)) ? SC_OK : SC_ENOMEM;
	}
	room_clear(&r);
	return err;
}

/* The slug a room's page is first named by: its alias without the
 * server (#ops:example.org → "ops"), else its name, else its id. */
static sc_err room_slug(struct store *st, const char *room_id, struct sbuf *out)
{
	char *label = NULL;
	sc_err err = export_room_label(st, room_id, &label);

	if (!err && label[0] == '#' && strchr(label, ':')) {
		*strchr(label, ':') = '\0';
		err = export_slug(out, label + 1, 200);
	} else if (!err) {
		err = export_slug(out, label, 200);
	}
	free(label);
	return err;
}

/* The kv key keeping the file name of a room's page. */
static sc_err page_key(struct sbuf *key, const char *room_id)
{
	sbuf_setlen(key, 0);
	return sbuf_printf(key, "export.md.%s", room_id);
}

/*
 * The file names of the pages of rooms[0..n) into names[0..n) (new
 * strings). A room's page is named once, the first time it is
 * exported, and the name is kept in the store (export.md.ROOM), so a
 * renamed room keeps its page: "ops.md" from its alias #ops:example.org,
 * else the slug of its name, else of its id. Rooms that would share a
 * name get "-2", "-3" in the order their first records were stored:
 * the room whose first record was stored first keeps the plain name. A
 * room's alias and name are chosen by whoever made the room, and a
 * record's time by the sender's server: neither lets a stranger's room
 * take the name of the team's handbook page, or overwrite it. With
 * keep, new names are written to the store (before the export's read
 * snapshot: export_run).
 */
static sc_err md_page_names(struct ex *x, char *const *rooms, size_t n,
			    char **names, int keep)
{
	struct sbuf name, key;
	char **slugs = calloc(n, sizeof(*slugs));
	int64_t *first = calloc(n, sizeof(*first));
	sc_err err = slugs && first ? SC_OK : SC_ENOMEM;

	sbuf_init(&name, 0);
	sbuf_init(&key, 0);
	/* the names kept in the store stand */
	for (size_t i = 0; i < n && !err; i++) {
		char *v = NULL;
		err = page_key(&key, rooms[i]);
		if (!err)
			err = store_kv_get(x->st, key.buf, &v);
		if (!err && !name_taken(names, n, v))
			names[i] = v;
		else
			free(v);
		err = err == SC_ENOTFOUND ? SC_OK : ex_store_err(x, err);
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct rec_query q;

		if (names[i])
			continue;
		sbuf_setlen(&name, 0);
		err = ex_store_err(x, room_slug(x->st, rooms[i], &name));
		if (!err && !(slugs[i] = strdup(name.buf)))
			err = SC_ENOMEM;
		memset(&q, 0, sizeof(q));
		q.room_id = rooms[i];
		q.include_withdrawn = 1;
		first[i] = INT64_MAX;
		if (!err)
			err = ex_store_err(x, store_export(x->st, &q, 0, first_cb,
							   &first[i]));
	}
	/* the new ones, the first stored first */
	for (;;) {
		size_t next = n;

		for (size_t i = 0; i < n && !err; i++)
			if (!names[i] && (next == n || first[i] < first[next]))
				next = i;
		if (err || next == n)
			break;
		for (int k = 1;; k++) {
			sbuf_setlen(&name, 0);
			err = k > 1 ? sbuf_printf(&name, "%s-%d.md",
						  slugs[next], k)
				    : sbuf_printf(&name, "%s.md", slugs[next]);
			if (err || !name_taken(names, n, name.buf))
				break;
		}
		if (!err && !(names[next] = strdup(name.buf)))
			err = SC_ENOMEM;
		if (!err && keep)
			err = page_key(&key, rooms[next]);
		if (!err && keep)
			err = ex_store_err(x, store_kv_put(x->st, key.buf, names[next]));
	}
	for (size_t i = 0; slugs && i < n; i++)
		free(slugs[i]);
	free(slugs);
	free(first);
	sbuf_release(&name);
	sbuf_release(&key);
	return err;
}

/* Name the pages of rooms exported for the first time and keep the
 * names (one write transaction, before the read snapshot). */
sc_err md_keep_names(struct ex *x)
{
	struct export_rooms rs = { NULL, 0, 0, SC_OK };
	char **names = NULL;
	sc_err err = ex_store_err(x, store_record_rooms(x->st, export_rooms_cb, &rs));

	if (!err)
		err = rs.err;
	if (!err && rs.n) {
		names = calloc(rs.n, sizeof(*names));
		err = names ? ex_store_err(x, store_tx_begin(x->st)) : SC_ENOMEM;
		if (!err) {
			err = md_page_names(x, rs.v, rs.n, names, 1);
			if (err)
				store_tx_rollback(x->st);
			else
				err = ex_store_err(x, store_tx_commit(x->st));
		}
	}
	for (size_t i = 0; i < rs.n; i++) {
		free(rs.v[i]);
		if (names)
			free(names[i]);
	}
	free(rs.v);
	free(names);
	return err;
}

sc_err export_md(struct ex *x)
{
	/* every room, for page names that do not depend on --room */
	struct export_rooms rs = { NULL, 0, 0, SC_OK };
	const char *only = x->o->room_id;
	struct rec_query q;
	char **names = NULL;
	int found = 0;
	sc_err err;

	if (!x->o->out && !x->o->room_id) {
		ex_why(x->why, "md writes a page per room: give -o DIR, or "
				"--room for standard output");
		return SC_EINVAL;
	}
	ex_base_query(x->o, &q);
	ex_progress_start(&x->prog, x->st, &q, x->o->progress);
	err = ex_store_err(x, store_record_rooms(x->st, export_rooms_cb, &rs));
	if (!err)
		err = rs.err;
	if (!err && rs.n && x->o->out) {
		names = calloc(rs.n, sizeof(*names));
		err = names ? md_page_names(x, rs.v, rs.n, names, 0) : SC_ENOMEM;
	}
	for (size_t i = 0; i < rs.n && !err; i++) {
		if (only && strcmp(only, rs.v[i]))
			continue;
		found = 1;
		err = md_room(x, rs.v[i], x->o->out ? names[i] : NULL);
	}
	if (!err && !found && !x->o->out)
		err = md_room(x, only, NULL);
	ex_progress_end(&x->prog);
	for (size_t i = 0; i < rs.n; i++) {
		free(rs.v[i]);
		if (names)
			free(names[i]);
	}
	free(rs.v);
	free(names);
	return err;
}
