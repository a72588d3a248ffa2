/* SPDX-License-Identifier: MIT */
/*
 * export_adr.c - `scribe export --format adr`: one Markdown file per
 * decision in the Nygard layout adr-tools writes (0004-use-linear.md:
 * title, Date, Status, Context, Decision, Consequences), superseded
 * decisions linked to their successor and back. The files go through
 * bgwrite.h's folder writer: one that already holds its bytes is not
 * touched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgwrite.h"
#include "export.h"
#include "export_int.h"
#include "store.h"
#include "store_admin.h"
#include "banned.h"

/* ---- ADR: one file per decision ---- */

/* "0004-use-linear.md" for decision D4 with that text. */
static sc_err adr_name(struct sbuf *sb, const struct record *r)
{
	sc_err err = sbuf_printf(sb, "%04lld-", (long long)r->num);

	if (!err)
		err = export_slug(sb, r->text, SLUG_MAX);
	if (!err)
		err = sbuf_puts(sb, ".md");
	return err;
}

/* "[5. Use Jira](0005-use-jira.md)" for decision num. */
static sc_err adr_link(struct ex *x, struct sbuf *sb, const char *ref)
{
	struct record d;
	enum rec_kind k;
	int64_t num;
	sc_err err;

	memset(&d, 0, sizeof(d));
	if (rec_id_parse(ref, &k, &num))
		return SC_EINVAL;
	err = store_record_get(x->st, k, num, &d);
	if (err == SC_ENOTFOUND)
		return sbuf_puts(sb, ref);
	if (err)
		return ex_store_err(x, err);
	err = sbuf_printf(sb, "[%lld. ", (long long)d.num);
	if (!err)
		err = md_text(sb, d.text, 0);
	if (!err)
		err = sbuf_puts(sb, "](");
	if (!err)
		err = adr_name(sb, &d);
	if (!err)
		err = sbuf_putc(sb, ')');
	record_clear(&d);
	return err;
}

/* Predecessors: which decisions each superseding decision replaced,
 * collected in a first pass over superseded decisions (a small set). */
struct preds {
	struct pred {
		char succ[24], pred[24];
	} *v;
	size_t n, cap;
	sc_err err;
};

static int preds_cb(const struct rec_full *f, void *ctx)
{
	struct preds *p = ctx;

	if (!f->superseded_ref)
		return 0;
	if (p->n == p->cap) {
		size_t c = p->cap ? p->cap * 2 : 16;
		struct pred *nv = realloc(p->v, c * sizeof(*nv));
		if (!nv) {
			p->err = SC_ENOMEM;
			return 1;
		}
		p->v = nv;
		p->cap = c;
	}
	snprintf(p->v[p->n].succ, sizeof(p->v[0].succ), "%s", f->superseded_ref);
	record_short_id(&f->r, p->v[p->n].pred, sizeof(p->v[0].pred));
	p->n++;
	return 0;
}

struct adr_ctx {
	struct ex *x;
	struct preds *preds;
};

static sc_err adr_write(struct ex *x, const struct rec_full *f,
			const struct preds *preds)
{
	const struct record *r = &f->r;
	struct sbuf *sb = &x->line, name;
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	sbuf_init(&name, 0);
	sbuf_setlen(sb, 0);
	err = adr_name(&name, r);
	if (!err)
		err = sbuf_printf(sb, "# %lld. ", (long long)r->num);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_puts(sb, "\n\nDate: ");
	if (!err)
		err = local_fmt(sb, x->o->tz, r->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_printf(sb, "\n\n## Status\n\n%c%s\n", r->status[0] - 32,
				  r->status + 1);
	for (size_t i = 0; preds && i < preds->n && !err; i++) {
		if (strcmp(preds->v[i].succ, id))
			continue;
		err = sbuf_puts(sb, "\nSupersedes ");
		if (!err)
			err = adr_link(x, sb, preds->v[i].pred);
		if (!err)
			err = sbuf_putc(sb, '\n');
	}
	if (!err && f->superseded_ref) {
		err = sbuf_puts(sb, "\nSuperseded by ");
		if (!err)
			err = adr_link(x, sb, f->superseded_ref);
		if (!err)
			err = sbuf_putc(sb, '\n');
	}
	if (!err)
		err = sbuf_puts(sb, "\n## Context\n\n");
	if (!err && r->detail) {
		err = sbuf_puts(sb, "Because ");
		if (!err)
			err = md_text(sb, r->detail, 0);
		if (!err)
			err = sbuf_puts(sb, "\n\n");
	}
	if (!err)
		err = sbuf_printf(sb, "Recorded by scribe as %s in room ", id);
	if (!err)
		err = md_code(sb, r->room_id);
	if (!err && f->meeting_ref)
		err = sbuf_printf(sb, " during meeting %s", f->meeting_ref);
	if (!err)
		err = sbuf_puts(sb, ".\n\n## Decision\n\n");
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_puts(sb, "\n\nDecided by ");
	if (!err)
		err = ex_person(x, sb, r->room_id, r->author);
	if (!err)
		err = sbuf_puts(sb, " (");
	if (!err)
		err = md_text(sb, r->author, 0);
	if (!err)
		err = sbuf_puts(sb, ").\n\n## Consequences\n\n");
	if (!err && r->votes_up + r->votes_down + r->votes_meh)
		err = sbuf_printf(sb, "Check-in: %d 👍, %d 👎, %d 🤷.\n\n",
				  r->votes_up, r->votes_down, r->votes_meh);
	if (!err && f->superseded_ref)
		err = sbuf_printf(sb, "This decision no longer holds: %s "
				      "replaced it.\n",
				  f->superseded_ref);
	else if (!err && !strcmp(r->status, "rejected"))
		err = sbuf_puts(sb, "The proposal was rejected; nothing "
				    "changes.\n");
	else if (!err && !strcmp(r->status, "proposed"))
		err = sbuf_puts(sb, "Pending: the proposal is not accepted "
				    "yet.\n");
	else if (!err)
		err = sbuf_puts(sb, "To be filled in as they become known.\n");
	if (!err)
		err = bgf_put(x->files, name.buf, sb->buf, sb->len);
	sbuf_release(&name);
	return err;
}

static int adr_cb(const struct rec_full *f, void *ctx)
{
	struct adr_ctx *a = ctx;

	a->x->err = adr_write(a->x, f, a->preds);
	ex_progress_step(&a->x->prog);
	return a->x->err != SC_OK;
}

sc_err export_adr(struct ex *x)
{
	struct preds preds = { NULL, 0, 0, SC_OK };
	struct adr_ctx a = { x, &preds };
	struct rec_query q;
	sc_err err;

	if (!x->o->out) {
		ex_why(x->why, "adr writes one file per decision: give -o DIR");
		return SC_EINVAL;
	}
	if (x->o->kinds && !(x->o->kinds & REC_BIT(REC_DECISION)))
		return SC_OK;
	ex_base_query(x->o, &q);
	q.kinds = REC_BIT(REC_DECISION);
	q.status = "superseded";
	err = ex_store_err(x, store_export(x->st, &q, 0, preds_cb, &preds));
	if (!err)
		err = preds.err;
	q.status = NULL;
	ex_progress_start(&x->prog, x->st, &q, x->o->progress);
	if (!err)
		err = ex_files_open(x);
	if (!err)
		err = ex_store_err(x, store_export(x->st, &q, 0, adr_cb, &a));
	if (!err)
		err = x->err;
	err = ex_files_close(x, err);
	ex_progress_end(&x->prog);
	free(preds.v);
	return err;
}
