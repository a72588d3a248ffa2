/* SPDX-License-Identifier: MIT */
/*
 * export_csv.c - `scribe export --format csv`: RFC 4180 rows (CRLF, a
 * header row), one file per kind in -o DIR (todos.csv, decisions.csv,
 * ...) or one kind to standard output. People are user ids, with their
 * names in the room in the last columns; no cell is ever a spreadsheet
 * formula (csv_field, export.h).
 */
#include <stdint.h>
#include <string.h>

#include "export.h"
#include "export_int.h"
#include "people.h"
#include "store.h"
#include "banned.h"

/* ---- fields ---- */

/* 1 when s[0..n) is a Matrix user id of the current grammar: '@', a
 * localpart of a-z 0-9 . _ = - / +, ':' and a server name (letters,
 * digits, . - and a port or an IPv6 literal). Such an id holds no '(',
 * '|', '!' or quote, so a spreadsheet cannot make a call, a DDE link or
 * an external reference of it: it is not a formula to fear. */
static int plain_user_id(const char *s, size_t n)
{
	size_t i = 1, local;

	if (n < 4 || s[0] != '@')
		return 0;
	while (i < n &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		strchr("._=-/+", s[i])))
		i++;
	local = i - 1;
	if (!local || i >= n - 1 || s[i] != ':')
		return 0;
	for (i++; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(".-:[]", s[i])))
			return 0;
	return 1;
}

/* 1 when a spreadsheet opening the cell s (n bytes) would take it for a
 * formula: it starts, after any spaces, with one of OWASP's = + - @,
 * tab or CR. Cells that are only plain user ids separated by spaces
 * (an author, the assignees) are left as they are. */
static int csv_formula(const char *s, size_t n)
{
	size_t i = strspn(s, " "), start;

	if (i == n || !strchr("=+-@\t\r", s[i]))
		return 0;
	for (start = i = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (i > start && !plain_user_id(s + start, i - start))
			return 1;
		start = i + 1;
	}
	return 0;
}

sc_err csv_field(struct sbuf *out, const char *s)
{
	size_t n;
	int formula;
	sc_err err = SC_OK;

	if (!s || !*s)
		return SC_OK;
	n = strlen(s);
	formula = csv_formula(s, n);
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && s[n - 1] != ' ') {
		err = formula ? sbuf_putc(out, '\'') : SC_OK;
		return err ? err : sbuf_add(out, s, n);
	}
	err = sbuf_putc(out, '"');
	if (!err && formula)
		err = sbuf_putc(out, '\'');
	for (const char *p = s; *p && !err; p++)
		err = *p == '"' ? sbuf_add(out, "\"\"", 2) : sbuf_putc(out, *p);
	if (!err)
		err = sbuf_putc(out, '"');
	return err;
}

/* ---- rows, one file per kind ---- */

static const char csv_header[] =
	"id,kind,room_id,created,updated,author,status,text,detail,"
	"assignees,tags,severity,due,closed,meeting,superseded_by,"
	"votes_up,votes_down,votes_meh,event_id,withdrawn,author_name,"
	"assignee_names\r\n";

/* Append a list joined by spaces as one field. */
static sc_err csv_list(struct sbuf *sb, char *const *v, size_t n)
{
	struct sbuf tmp;
	sc_err err = SC_OK;

	sbuf_init(&tmp, 0);
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			err = sbuf_putc(&tmp, ' ');
		if (!err)
			err = sbuf_puts(&tmp, v[i]);
	}
	if (!err)
		err = csv_field(sb, tmp.buf);
	sbuf_release(&tmp);
	return err;
}

static sc_err csv_time(struct sbuf *sb, int64_t t)
{
	return t ? iso_utc(sb, t) : SC_OK;
}

/* The names beside the ids (people.h): the author's, and the
 * assignees' joined by ", ", each one field. */
static sc_err csv_names(struct ex *x, struct sbuf *sb, const struct record *r)
{
	struct sbuf names;
	const char *label;
	sc_err err = person_names_room(&x->people, x->st, r->room_id);

	sbuf_init(&names, 0);
	label = err ? NULL : person_label(&x->people, r->author);
	if (!err && !label)
		err = SC_ENOMEM;
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, label);
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		label = person_label(&x->people, r->assignees[i]);
		err = !label ? SC_ENOMEM : sbuf_printf(&names, "%s%s", i ? ", " : "", label);
	}
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, names.len ? names.buf : NULL);
	sbuf_release(&names);
	return err;
}

static sc_err csv_row(struct ex *x, struct sbuf *sb, const struct rec_full *f)
{
	const struct record *r = &f->r;
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "%s,%s,", id, rec_kind_name(r->kind));
	if (!err)
		err = csv_field(sb, r->room_id);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_time(sb, r->created);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_time(sb, r->updated);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, r->author);
	if (!err)
		err = sbuf_printf(sb, ",%s,", r->status);
	if (!err)
		err = csv_field(sb, r->text);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, r->detail);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_list(sb, r->assignees, r->nassignees);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_list(sb, r->tags, r->ntags);
	if (!err)
		err = sbuf_printf(sb, ",%s,", r->severity ? r->severity : "");
	if (!err)
		err = csv_time(sb, r->due);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_time(sb, r->closed);
	if (!err)
		err = sbuf_printf(sb, ",%s,%s,", f->meeting_ref ? f->meeting_ref : "",
				  f->superseded_ref ? f->superseded_ref : "");
	if (!err && r->kind == REC_DECISION)
		err = sbuf_printf(sb, "%d,%d,%d", r->votes_up, r->votes_down,
				  r->votes_meh);
	else if (!err)
		err = sbuf_puts(sb, ",,");
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, r->event_id);
	if (!err)
		err = sbuf_printf(sb, ",%d", r->withdrawn ? 1 : 0);
	if (!err)
		err = csv_names(x, sb, r);
	if (!err)
		err = sbuf_puts(sb, "\r\n");
	return err;
}

static int csv_cb(const struct rec_full *f, void *ctx)
{
	struct ex *x = ctx;
	struct outf *o = x->o->out ? &x->csv[f->r.kind] : &x->out;

	sbuf_setlen(&x->line, 0);
	x->err = csv_row(x, &x->line, f);
	if (!x->err)
		x->err = outf_write(o, &x->line, x->why);
	ex_progress_step(&x->prog);
	return x->err != SC_OK;
}

/* A CSV row holds no history: records stream from store_export without
 * it, for the meeting/successor short ids. */
sc_err export_csv(struct ex *x)
{
	static const char *const file[REC_NKINDS] = {
		[REC_TODO] = "todos.csv", [REC_DECISION] = "decisions.csv",
		[REC_CHANGE] = "changes.csv", [REC_MEETING] = "meetings.csv",
		[REC_INCIDENT] = "incidents.csv", [REC_REMINDER] = "reminders.csv",
	};
	struct sbuf head;
	struct rec_query q;
	sc_err err = SC_OK;

	ex_base_query(x->o, &q);
	q.include_withdrawn = 1;
	sbuf_init(&head, 0);
	sbuf_puts(&head, csv_header);
	if (!x->o->out) {
		unsigned k = x->o->kinds;
		if (!k || (k & (k - 1))) {
			ex_why(x->why, "csv writes one file per kind: give -o DIR, "
					"or --kind with one kind for standard output");
			sbuf_release(&head);
			return SC_EINVAL;
		}
		err = outf_open(&x->out, NULL, NULL, x->why);
		if (!err)
			err = outf_write(&x->out, &head, x->why);
	}
	for (int k = 0; k < REC_NKINDS && !err && x->o->out; k++) {
		if (x->o->kinds && !(x->o->kinds & REC_BIT(k)))
			continue;
		err = outf_open(&x->csv[k], x->o->out, file[k], x->why);
		if (!err)
			err = outf_write(&x->csv[k], &head, x->why);
	}
	ex_progress_start(&x->prog, x->st, &q, x->o->progress);
	if (!err)
		err = ex_store_err(x, store_export(x->st, &q, 0, csv_cb, x));
	if (!err)
		err = x->err;
	ex_progress_end(&x->prog);
	for (int k = 0; k < REC_NKINDS; k++) {
		sc_err e = outf_close(&x->csv[k], !err, x->why);
		if (!err)
			err = e;
	}
	if (!x->o->out) {
		sc_err e = outf_close(&x->out, !err, x->why);
		if (!err)
			err = e;
	}
	sbuf_release(&head);
	return err;
}
