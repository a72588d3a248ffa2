/* SPDX-License-Identifier: MIT */
/*
 * export_html.c - the static site of `scribe export --format html`
 * (export_html.h): the rooms and their names, one pass over the records
 * in store order (store_export, which reads the records table in
 * sequence: a query per room and kind went through the indexes at
 * several times the cost), the logs' month pages as each month ends,
 * the pages that need the whole pass (rooms, targets, index, search).
 * The pages themselves are html_page.c's (rows), html_record.c's (a
 * decision, a meeting) and html_site.c's (months, rooms, targets, index,
 * search); html_sweep.c removes the pages the site no longer has.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "canonjson.h"
#include "export_html.h"
#include "html_assets.h"
#include "html_files.h"
#include "html_int.h"
#include "when.h"
#include "banned.h"

/* Exports smaller than this draw no progress bar (as export.c). */
#define PROGRESS_MIN 20000

static sc_err why_set(struct site *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static sc_err why_set(struct site *x, const char *fmt, ...)
{
	struct sbuf sb;
	va_list ap;

	sbuf_init(&sb, 4096);
	va_start(ap, fmt);
	sbuf_vprintf(&sb, fmt, ap);
	va_end(ap);
	free(*x->why);
	*x->why = sbuf_detach(&sb, NULL);
	return SC_OK;
}

static sc_err store_why(struct site *x, sc_err err)
{
	if (err && err != SC_ENOMEM && err != SC_EIO && !*x->why)
		why_set(x, "%s", store_errmsg(x->st));
	return err;
}

/* ---- files ---- */

/* Make folder dir (relative to the output folder) once. */
static sc_err ensure_dir(struct site *x, const char *dir)
{
	struct stat sb;
	int e;

	if (smap_get(&x->dirs, dir, NULL))
		return SC_OK;
	if (mkdirat(x->dfd, dir, 0777)) {
		e = errno;
		if (e != EEXIST) {
			why_set(x, "cannot create directory '%s/%s': %s",
				x->o->out, dir, strerror(e));
			return SC_EIO;
		}
		if (fstatat(x->dfd, dir, &sb, 0) || !S_ISDIR(sb.st_mode)) {
			why_set(x, "cannot create directory '%s/%s': %s",
				x->o->out, dir, strerror(ENOTDIR));
			return SC_EIO;
		}
	}
	return smap_at(&x->dirs, dir, NULL) ? SC_OK : SC_ENOMEM;
}

/* Make the folders of path (relative to the output folder). */
static sc_err ensure_dirs(struct site *x, const char *path)
{
	char dir[512];
	sc_err err = SC_OK;

	for (const char *p = strchr(path, '/'); p && !err; p = strchr(p + 1, '/')) {
		if ((size_t)(p - path) >= sizeof(dir))
			return SC_EINVAL;
		memcpy(dir, path, (size_t)(p - path));
		dir[p - path] = '\0';
		err = ensure_dir(x, dir);
	}
	return err;
}

sc_err html_small_begin(struct site *x, const char *path, struct sbuf **pg)
{
	sc_err err = ensure_dirs(x, path);

	return err ? err : hfiles_begin(x->files, path, pg);
}

sc_err html_small_end(struct site *x, sc_err err)
{
	return hfiles_end(x->files, err);
}

sc_err html_put(struct site *x, const char *path, const struct sbuf *sb)
{
	sc_err err = ensure_dirs(x, path);

	/* decisions and meetings are remembered by number (html_int.h) */
	if (!err && strncmp(path, "decisions/", 10) &&
	    strncmp(path, "meetings/", 9) && !smap_at(&x->written, path, NULL))
		err = SC_ENOMEM;
	if (!err)
		err = hfiles_put(x->files, path, sb->buf, sb->len);
	return err;
}

static sc_err files_open(struct site *x)
{
	if (hfiles_open(x->o->out, &x->files)) {
		why_set(x, "cannot open '%s': %s", x->o->out, strerror(errno));
		return SC_EIO;
	}
	return SC_OK;
}

/* Wait for the files queued; err, or the first file's failure. */
static sc_err files_close(struct site *x, sc_err err)
{
	char *failed = NULL;

	if (!x->files)
		return err;
	if (hfiles_close(x->files, &failed) == SC_EIO) {
		const char *f = failed ? failed : "a file";

		if (errno == EEXIST)
			why_set(x, "cannot write '%s/%s': it is not a regular file",
				x->o->out, f);
		else
			why_set(x, "cannot write '%s/%s': %s", x->o->out, f,
				strerror(errno));
		err = SC_EIO;
	}
	x->files = NULL;
	free(failed);
	return err;
}

/* ---- progress ---- */

static void progress_step(struct site *x)
{
	int pct;

	x->prog.done++;
	if (!x->prog.on)
		return;
	pct = (int)(x->prog.done * 100 / (x->prog.total ? x->prog.total : 1));
	if (pct > 100)
		pct = 100;
	if (pct == x->prog.shown)
		return;
	x->prog.shown = pct;
	fprintf(stderr, "\rexport [%-40.*s] %3d%% %lld/%lld", pct * 40 / 100,
		"########################################", pct,
		(long long)x->prog.done, (long long)x->prog.total);
}

/* ---- logs ---- */

static sc_err ring_add(struct ring *rg, const char *row, size_t len)
{
	struct sbuf *sb = &rg->row[rg->next];
	sc_err err;

	sbuf_setlen(sb, 0);
	err = sbuf_add(sb, row, len);
	if (err)
		return err;
	rg->next = (rg->next + 1) % HTML_LATEST;
	if (rg->n < HTML_LATEST)
		rg->n++;
	return SC_OK;
}

static void stream_init(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	sbuf_init(&s->rows, HFILES_PAGE_MAX);
	sbuf_init(&s->index, HFILES_PAGE_MAX);
	for (int i = 0; i < HTML_LATEST; i++)
		sbuf_init(&s->latest.row[i], 0);
}

static void stream_free(struct stream *s)
{
	sbuf_release(&s->rows);
	sbuf_release(&s->index);
	free(s->off);
	free(s->months);
	free(s->late);
	for (int i = 0; i < HTML_LATEST; i++)
		sbuf_release(&s->latest.row[i]);
}

/* Append a row to the month at hand. */
static sc_err stream_row(struct stream *s, const struct sbuf *row)
{
	if (s->noff == s->capoff) {
		size_t c = s->capoff ? s->capoff * 2 : 256;
		size_t *nv = realloc(s->off, c * sizeof(*nv));

		if (!nv)
			return SC_ENOMEM;
		s->off = nv;
		s->capoff = c;
	}
	s->off[s->noff++] = s->rows.len;
	if (sbuf_add(&s->rows, row->buf, row->len)) {
		s->noff--;
		return SC_ENOMEM;
	}
	return SC_OK;
}

/* Count one record of month ym in the months of s, which are kept in
 * order (a late month goes in its place). */
static sc_err month_count(struct stream *s, const char *ym)
{
	size_t at = s->nmonths;

	while (at > 0 && strcmp(s->months[at - 1].ym, ym) > 0)
		at--;
	if (at > 0 && !strcmp(s->months[at - 1].ym, ym)) {
		s->months[at - 1].n++;
		return SC_OK;
	}
	if (s->nmonths == s->capmonths) {
		size_t c = s->capmonths ? s->capmonths * 2 : 16;
		struct month *nv = realloc(s->months, c * sizeof(*nv));

		if (!nv)
			return SC_ENOMEM;
		s->months = nv;
		s->capmonths = c;
	}
	memmove(&s->months[at + 1], &s->months[at],
		(s->nmonths - at) * sizeof(*s->months));
	memcpy(s->months[at].ym, ym, 8);
	s->months[at].n = 1;
	s->nmonths++;
	return SC_OK;
}

static sc_err late_add(struct site *x, struct stream *s, const char *ym)
{
	for (size_t i = 0; i < s->nlate; i++)
		if (!strcmp(s->late[i], ym))
			return SC_OK;
	if (s->nlate == s->caplate) {
		size_t c = s->caplate ? s->caplate * 2 : 4;
		char (*nv)[8] = realloc(s->late, c * sizeof(*nv));

		if (!nv)
			return SC_ENOMEM;
		s->late = nv;
		s->caplate = c;
	}
	memcpy(s->late[s->nlate++], ym, 8);
	x->any_late = 1;
	return SC_OK;
}

/* Write the search part of the month at hand of room log k. */
static sc_err put_index(struct site *x, const struct hroom *rm, enum rec_kind k,
			const char *ym, const struct sbuf *entries)
{
	struct sbuf *sb = &x->page;
	char token[512], path[600];
	sc_err err;

	snprintf(token, sizeof(token), "%s/%s-%s", rm->slug,
		 html_kind_plural[k], ym);
	snprintf(path, sizeof(path), "search/%s.js", token);
	sbuf_setlen(sb, 0);
	err = sbuf_puts(sb, "scribe_index(");
	if (!err)
		err = canonjson_string(token, strlen(token), sb);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = canonjson_string(html_room_label(rm),
				       strlen(html_room_label(rm)), sb);
	if (!err)
		err = sbuf_puts(sb, ",[\n");
	if (!err)
		err = sbuf_add(sb, entries->buf, entries->len);
	if (!err)
		err = sbuf_puts(sb, "\n]);\n");
	return err ? err : html_put(x, path, sb);
}

/* Write the month at hand of stream s and start afresh. */
static sc_err stream_flush(struct site *x, struct stream *s, struct hroom *rm,
			   const struct target *tg, enum rec_kind k)
{
	size_t rows_end = s->rows.len;
	char name[600];
	sc_err err = SC_OK;

	if (!s->cur[0] || !s->noff)
		return SC_OK;
	/* the latest rows of the log, for its room's or target's page:
	 * copied here, once a month, not for every record */
	for (size_t i = s->noff > HTML_LATEST ? s->noff - HTML_LATEST : 0;
	     i < s->noff && !err; i++) {
		size_t end = i + 1 < s->noff ? s->off[i + 1] : rows_end;
		err = ring_add(&s->latest, s->rows.buf + s->off[i], end - s->off[i]);
	}
	if (tg)
		snprintf(name, sizeof(name), "targets/%s/%s.html", tg->slug, s->cur);
	else
		snprintf(name, sizeof(name), "rooms/%s/%s-%s.html", rm->slug,
			 html_kind_plural[k], s->cur);
	/* the rows buffer is the page: its head went in first */
	if (!err)
		err = html_month_foot(x, &s->rows, k, s->cur, (int64_t)s->noff);
	if (!err)
		err = html_put(x, name, &s->rows);
	if (!err && !tg)
		err = put_index(x, rm, k, s->cur, &s->index);
	sbuf_setlen(&s->rows, 0);
	sbuf_setlen(&s->index, 0);
	s->noff = 0;
	return err;
}

/* A record of month ym arrives at stream s: the month at hand, a new
 * one (the one at hand is written first) or a late one (*late). */
static sc_err stream_enter(struct site *x, struct stream *s, struct hroom *rm,
			   const struct target *tg, enum rec_kind k,
			   const char *ym, int *late)
{
	int c = s->cur[0] ? strcmp(ym, s->cur) : 1;
	sc_err err = SC_OK;

	*late = c < 0;
	s->n++;
	if (c < 0) {
		err = month_count(s, ym);
		return err ? err : late_add(x, s, ym);
	}
	if (c > 0) {
		err = stream_flush(x, s, rm, tg, k);
		memcpy(s->cur, ym, 8);
		if (!err)
			err = month_count(s, ym);
		if (!err)
			err = html_month_head(x, &s->rows, s, rm, tg, k, ym);
		return err;
	}
	return month_count(s, ym);
}

/* ---- the pass ---- */

static struct target *target_of(struct site *x, const char *tag)
{
	struct target *tg;
	struct sbuf slug;
	size_t *ix;
	int added;

	ix = smap_at(&x->target_ix, tag, &added);
	if (!ix)
		return NULL;
	if (!added)
		return x->targets[*ix];
	if (x->ntargets == x->captargets) {
		size_t c = x->captargets ? x->captargets * 2 : 16;
		struct target **nv = realloc(x->targets, c * sizeof(*nv));

		if (!nv)
			return NULL;
		x->targets = nv;
		x->captargets = c;
	}
	tg = calloc(1, sizeof(*tg));
	if (!tg)
		return NULL;
	stream_init(&tg->s);
	sbuf_init(&slug, 0);
	tg->tag = strdup(tag);
	if (!tg->tag || html_target_slug(&slug, tag)) {
		free(tg->tag);
		free(tg);
		sbuf_release(&slug);
		return NULL;
	}
	tg->slug = sbuf_detach(&slug, NULL);
	*ix = x->ntargets;
	x->targets[x->ntargets++] = tg;
	return tg;
}

static sc_err owner_of(struct hroom *rm, const char *user, size_t *out)
{
	int added;
	size_t *ix = smap_at(&rm->owner_ix, user, &added);

	if (!ix)
		return SC_ENOMEM;
	if (added) {
		if (rm->nowners == rm->capowners) {
			size_t c = rm->capowners ? rm->capowners * 2 : 16;
			char **nv = realloc(rm->owners, c * sizeof(*nv));

			if (!nv)
				return SC_ENOMEM;
			rm->owners = nv;
			rm->capowners = c;
		}
		rm->owners[rm->nowners] = strdup(user);
		if (!rm->owners[rm->nowners])
			return SC_ENOMEM;
		*ix = rm->nowners++;
	}
	*out = *ix;
	return SC_OK;
}

static sc_err open_add(struct hroom *rm, const struct open_item *it)
{
	if (rm->nopen == rm->capopen) {
		size_t c = rm->capopen ? rm->capopen * 2 : 64;
		struct open_item *nv = realloc(rm->open, c * sizeof(*nv));

		if (!nv)
			return SC_ENOMEM;
		rm->open = nv;
		rm->capopen = c;
	}
	rm->open[rm->nopen++] = *it;
	return SC_OK;
}

static sc_err todo_seen(struct site *x, struct hroom *rm, const struct record *r,
			const char *ym)
{
	struct ient *e = imap_at(&rm->weeks, html_week_of(r->created));
	struct open_item it;
	sc_err err;

	if (!e)
		return SC_ENOMEM;
	e->a++;
	if (strcmp(r->status, "open")) {
		int64_t c = r->closed ? r->closed : r->updated;

		e = imap_at(&rm->weeks, html_week_of(c < r->created ? r->created : c));
		if (!e)
			return SC_ENOMEM;
		e->a--;
		return SC_OK;
	}
	memset(&it, 0, sizeof(it));
	it.due = r->due;
	it.created = r->created;
	it.num = r->num;
	it.critical = r->severity && !strcmp(r->severity, "critical");
	it.off = rm->open_rows.len;
	err = html_open_item(x, &rm->open_rows, r, rm, ym);
	it.len = rm->open_rows.len - it.off;
	it.owner = SIZE_MAX;
	it.first = 1;
	if (!err && !r->nassignees)
		err = open_add(rm, &it);
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		err = owner_of(rm, r->assignees[i], &it.owner);
		if (!err)
			err = open_add(rm, &it);
		it.first = 0;
	}
	return err;
}

/* A change: deploys, and its row on the page of each of its targets,
 * made of its room row (row, mid: html_log_row's). */
static sc_err change_seen(struct site *x, struct hroom *rm,
			  const struct rec_full *f, const char *ym,
			  const struct sbuf *row, const struct row_marks *mk)
{
	const struct record *r = &f->r;
	const char *dtag = x->o->deploy_tag ? x->o->deploy_tag : "deploy";
	int deploy = 0, made = 0, late;
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->ntags; i++)
		deploy |= !strcmp(r->tags[i], dtag);
	if (deploy) {
		struct ient *e = imap_at(&rm->weeks, html_week_of(r->created));
		if (!e)
			return SC_ENOMEM;
		e->b++;
	}
	for (size_t i = 0; i < r->ntags && !err; i++) {
		struct target *tg = target_of(x, r->tags[i]);
		size_t *n;

		if (!tg)
			return SC_ENOMEM;
		if (r->created > tg->last)
			tg->last = r->created;
		tg->deploys += deploy;
		n = smap_at(&tg->rooms, rm->slug, NULL);
		if (!n)
			return SC_ENOMEM;
		(*n)++;
		err = stream_enter(x, &tg->s, rm, tg, REC_CHANGE, ym, &late);
		if (err || late)
			continue;
		/* x->trow: a new month of a target writes its page through
		 * x->page and x->tmp */
		if (!made) {
			sbuf_setlen(&x->trow, 0);
			err = html_target_row(&x->trow, rm, row->buf, row->len, mk);
			made = 1;
		}
		if (!err)
			err = stream_row(&tg->s, &x->trow);
	}
	return err;
}

static sc_err incident_seen(struct site *x, struct hroom *rm,
			    const struct record *r)
{
	char ym[8];
	struct ient *e = imap_at(&rm->months, html_ym_of(x, r->created, ym));

	if (!e)
		return SC_ENOMEM;
	e->a++;
	if (!strcmp(r->status, "resolved") && r->closed >= r->created) {
		e->b++;
		e->c += r->closed - r->created;
		rm->resolved++;
		rm->ttr += r->closed - r->created;
	}
	return SC_OK;
}

/*
 * Decision f is superseded: remember it for the page and row of its
 * successor. The successor was made after it and so comes later in
 * store order; when it came first (an import in another order), its
 * page and its month are written again after the pass.
 */
static sc_err pred_seen(struct site *x, const struct rec_full *f)
{
	struct ient *e;
	enum rec_kind k;
	int64_t succ;

	if (!f->superseded_ref || rec_id_parse(f->superseded_ref, &k, &succ) ||
	    k != REC_DECISION)
		return SC_OK;
	if (x->npreds == x->cappreds) {
		size_t c = x->cappreds ? x->cappreds * 2 : 16;
		struct pred *nv = realloc(x->preds, c * sizeof(*nv));

		if (!nv)
			return SC_ENOMEM;
		x->preds = nv;
		x->cappreds = c;
	}
	e = imap_at(&x->pred_head, succ);
	if (!e)
		return SC_ENOMEM;
	x->preds[x->npreds] = (struct pred){ f->r.num, succ, (size_t)e->a };
	e->a = (int64_t)++x->npreds;
	if (imap_get(&x->dec_written, succ) && !imap_at(&x->late_dec, succ))
		return SC_ENOMEM;
	return SC_OK;
}

static sc_err pass_record(struct site *x, const struct rec_full *f)
{
	const struct record *r = &f->r;
	struct sbuf summary;
	struct row_marks mk;
	struct hroom *rm;
	size_t ri;
	char ym[8];
	int late;
	sc_err err = SC_OK;

	if (!smap_get(&x->room_ix, r->room_id, &ri))
		return SC_OK;
	rm = &x->rooms[ri];
	html_ym_of(x, r->created, ym);
	if (!rm->first || r->created < rm->first)
		rm->first = r->created;
	if (r->created > rm->last)
		rm->last = r->created;
	if (r->updated > rm->last)
		rm->last = r->updated;
	sbuf_init(&summary, 0);
	switch (r->kind) {
	case REC_TODO:
		err = todo_seen(x, rm, r, ym);
		break;
	case REC_DECISION:
		err = pred_seen(x, f);
		if (!err)
			err = html_decision_page(x, f, 1, rm, ym);
		if (!err && !imap_at(&x->dec_written, r->num))
			err = SC_ENOMEM;
		sbuf_setlen(&x->tmp, 0);
		if (!err)
			err = html_index_decision(x, &x->tmp, r);
		if (!err)
			err = ring_add(&rm->decisions, x->tmp.buf, x->tmp.len);
		break;
	case REC_CHANGE:
		break; /* after its row, below */
	case REC_MEETING:
		err = html_meeting_page(x, f, rm, ym, &summary);
		if (!err && !imap_at(&x->mtg_written, r->num))
			err = SC_ENOMEM;
		break;
	default:
		err = incident_seen(x, rm, r);
		break;
	}
	sbuf_setlen(&x->row, 0);
	if (!err)
		err = html_log_row(x, &x->row, f, rm, ym, summary.buf, &mk);
	if (!err && r->kind == REC_CHANGE)
		err = change_seen(x, rm, f, ym, &x->row, &mk);
	if (!err)
		err = stream_enter(x, &rm->s[r->kind], rm, NULL, r->kind, ym, &late);
	if (!err && !late) {
		if (!err)
			err = stream_row(&rm->s[r->kind], &x->row);
		if (!err && rm->s[r->kind].index.len)
			err = sbuf_puts(&rm->s[r->kind].index, ",\n");
		if (!err)
			err = html_index_entry(&rm->s[r->kind].index, f);
	}
	sbuf_release(&summary);
	return store_why(x, err);
}

static int pass_cb(const struct rec_full *f, void *ctx)
{
	struct site *x = ctx;

	x->err = pass_record(x, f);
	progress_step(x);
	return x->err != SC_OK;
}

/* ---- late months: written again from the store ---- */

/* The instant month ym (+ add months) starts in the export's zone. */
static sc_err month_start(struct site *x, const char *ym, int add, int64_t *out)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(ym) - 1900;
	tm.tm_mon = atoi(ym + 5) - 1 + add;
	tm.tm_mday = 1;
	if (!x->utc)
		return when_from_local(x->tz, &tm, out);
	t = timegm(&tm);
	*out = (int64_t)t;
	return SC_OK;
}

struct fix {
	struct site *x;
	struct hroom *rm;      /* the room's log, or */
	const struct target *tg; /* the target's */
	struct stream s;       /* the rows of the month */
	const char *ym;
	sc_err err;
};

/* The short id of record id into b ("" when it is gone). */
static sc_err short_of(struct site *x, int64_t id, char *b, size_t size)
{
	struct record r;
	sc_err err;

	b[0] = '\0';
	if (!id)
		return SC_OK;
	memset(&r, 0, sizeof(r));
	err = store_record_get_id(x->st, id, &r);
	if (!err)
		record_short_id(&r, b, size);
	record_clear(&r);
	return err == SC_ENOTFOUND ? SC_OK : err;
}

static int fix_cb(const struct record *r, void *ctx)
{
	struct fix *fx = ctx;
	struct site *x = fx->x;
	struct rec_full f;
	struct sbuf summary;
	char mref[24], sref[24];
	const struct hroom *rm;
	struct row_marks mk;
	size_t ri;
	sc_err err;

	if (!smap_get(&x->room_ix, r->room_id, &ri))
		return 0;
	rm = &x->rooms[ri];
	memset(&f, 0, sizeof(f));
	f.r = *r; /* borrowed for this call */
	err = short_of(x, r->meeting, mref, sizeof(mref));
	if (!err)
		err = short_of(x, r->superseded_by, sref, sizeof(sref));
	f.meeting_ref = mref[0] ? mref : NULL;
	f.superseded_ref = sref[0] ? sref : NULL;
	sbuf_init(&summary, 0);
	/* a meeting's row counts what was made in it: the minutes say it
	 * again (the page's bytes are the same, so it is not rewritten) */
	if (!err && r->kind == REC_MEETING)
		err = html_meeting_page(x, &f, rm, fx->ym, &summary);
	sbuf_setlen(&x->row, 0);
	sbuf_setlen(&x->trow, 0);
	if (!err)
		err = html_log_row(x, &x->row, &f, rm, fx->ym, summary.buf, &mk);
	if (!err && fx->tg)
		err = html_target_row(&x->trow, rm, x->row.buf, x->row.len, &mk);
	if (!err)
		err = stream_row(&fx->s, fx->tg ? &x->trow : &x->row);
	if (!err && !fx->tg && fx->s.index.len)
		err = sbuf_puts(&fx->s.index, ",\n");
	if (!err && !fx->tg)
		err = html_index_entry(&fx->s.index, &f);
	sbuf_release(&summary);
	fx->err = err;
	return err != SC_OK;
}

/* The month's page from the store: the head (with the log's months),
 * the rows of q, the foot. */
static sc_err fix_rows(struct site *x, struct fix *fx, const struct rec_query *q,
		       struct stream *log, struct hroom *rm,
		       const struct target *tg, enum rec_kind k, const char *ym)
{
	sc_err err;

	fx->s.months = log->months;
	fx->s.nmonths = log->nmonths;
	memcpy(fx->s.cur, ym, 8);
	err = html_month_head(x, &fx->s.rows, &fx->s, rm, tg, k, ym);
	if (!err)
		err = store_why(x, store_query(x->st, q, fix_cb, fx));
	if (!err)
		err = fx->err;
	if (!err)
		err = stream_flush(x, &fx->s, rm, tg, k);
	return err;
}

static sc_err fix_month(struct site *x, struct hroom *rm, const struct target *tg,
			struct stream *log, enum rec_kind k, const char *ym)
{
	struct fix fx;
	struct rec_query q;
	int64_t from, to;
	sc_err err;

	memset(&fx, 0, sizeof(fx));
	fx.x = x;
	fx.rm = rm;
	fx.tg = tg;
	fx.ym = ym;
	stream_init(&fx.s);
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(k);
	q.room_id = rm ? rm->id : x->o->room_id;
	q.tag = tg ? tg->tag : NULL;
	q.order = ORDER_OLDEST;
	err = month_start(x, ym, 0, &from);
	if (!err)
		err = month_start(x, ym, 1, &to);
	q.since = x->o->since > from ? x->o->since : from;
	q.until = x->o->until && x->o->until < to ? x->o->until : to;
	/* the page lists the log's months; its rows are the month's */
	if (!err)
		err = fix_rows(x, &fx, &q, log, rm, tg, k, ym);
	fx.s.months = NULL;
	stream_free(&fx.s);
	return err;
}

/* Write again the page of decision num, and its month, after the pass
 * (pred_seen). */
static sc_err fix_decision(struct site *x, int64_t num)
{
	struct rec_full f;
	struct record *r = &f.r;
	char sref[24], mref[24], ym[8];
	size_t ri;
	sc_err err;

	memset(&f, 0, sizeof(f));
	err = store_record_get(x->st, REC_DECISION, num, r);
	if (err || !html_exported(x, r) ||
	    !smap_get(&x->room_ix, r->room_id, &ri)) {
		record_clear(r);
		return err == SC_ENOTFOUND ? SC_OK : store_why(x, err);
	}
	err = short_of(x, r->meeting, mref, sizeof(mref));
	if (!err)
		err = short_of(x, r->superseded_by, sref, sizeof(sref));
	f.meeting_ref = mref[0] ? mref : NULL;
	f.superseded_ref = sref[0] ? sref : NULL;
	html_ym_of(x, r->created, ym);
	if (!err)
		err = html_decision_page(x, &f, 0, &x->rooms[ri], ym);
	if (!err)
		err = late_add(x, &x->rooms[ri].s[REC_DECISION], ym);
	record_clear(r);
	return store_why(x, err);
}

static sc_err fix_late(struct site *x)
{
	sc_err err;

	if (!x->late_dec.n && !x->any_late)
		return SC_OK;
	/* every page of the pass is on disk before one is written again:
	 * two writes of one name must not race */
	err = files_close(x, SC_OK);
	if (!err)
		err = files_open(x);
	for (size_t i = 0; i < x->late_dec.cap && !err; i++)
		if (x->late_dec.v[i].used)
			err = fix_decision(x, x->late_dec.v[i].key);
	for (size_t i = 0; i < x->nrooms && !err; i++)
		for (int k = 0; k < HTML_NKINDS && !err; k++)
			for (size_t m = 0; m < x->rooms[i].s[k].nlate && !err; m++)
				err = fix_month(x, &x->rooms[i], NULL,
						&x->rooms[i].s[k], (enum rec_kind)k,
						x->rooms[i].s[k].late[m]);
	for (size_t i = 0; i < x->ntargets && !err; i++)
		for (size_t m = 0; m < x->targets[i]->s.nlate && !err; m++)
			err = fix_month(x, NULL, x->targets[i], &x->targets[i]->s,
					REC_CHANGE, x->targets[i]->s.late[m]);
	return err;
}

/* ---- rooms ---- */

static int first_cb(const struct rec_full *f, void *ctx)
{
	*(int64_t *)ctx = f->r.id;
	return 1;
}

/*
 * The folders of the rooms: the room id's slug, as the md export names
 * its pages. Rooms whose ids share a slug (!ops:x, !OPS:x) each get
 * their own: the room whose first record was stored first keeps the
 * plain name, the others get "-2", "-3" in that order, so a stranger's
 * room made later cannot take the team's.
 */
static sc_err room_slugs(struct site *x)
{
	int64_t *first = calloc(x->nrooms ? x->nrooms : 1, sizeof(*first));
	struct smap taken = { NULL, 0, 0 };
	struct sbuf name;
	sc_err err = first ? SC_OK : SC_ENOMEM;

	sbuf_init(&name, 0);
	for (size_t i = 0; i < x->nrooms && !err; i++) {
		sbuf_setlen(&name, 0);
		err = export_slug(&name, x->rooms[i].id, 200);
		if (!err && !(x->rooms[i].slug = strdup(name.buf)))
			err = SC_ENOMEM;
	}
	for (size_t i = 0; i < x->nrooms && !err; i++) {
		struct rec_query q;
		int shared = 0;

		for (size_t j = 0; j < x->nrooms && !shared; j++)
			shared = j != i && !strcmp(x->rooms[i].slug, x->rooms[j].slug);
		if (!shared)
			continue;
		memset(&q, 0, sizeof(q));
		q.room_id = x->rooms[i].id;
		q.include_withdrawn = 1;
		first[i] = INT64_MAX;
		err = store_why(x, store_export(x->st, &q, 0, first_cb, &first[i]));
	}
	/* the plain name to whoever came first, then -2, -3 ... */
	for (size_t done = 0; done < x->nrooms && !err; done++) {
		size_t next = x->nrooms;

		for (size_t i = 0; i < x->nrooms; i++)
			if (!smap_get(&taken, x->rooms[i].id, NULL) &&
			    (next == x->nrooms || first[i] < first[next]))
				next = i;
		for (int k = 1; !err; k++) {
			sbuf_setlen(&name, 0);
			err = k > 1 ? sbuf_printf(&name, "%s-%d", x->rooms[next].slug, k)
				    : sbuf_puts(&name, x->rooms[next].slug);
			if (!err && !smap_get(&taken, name.buf, NULL))
				break;
		}
		if (!err && (!smap_at(&taken, name.buf, NULL) ||
			     !smap_at(&taken, x->rooms[next].id, NULL)))
			err = SC_ENOMEM;
		if (!err && strcmp(name.buf, x->rooms[next].slug)) {
			free(x->rooms[next].slug);
			if (!(x->rooms[next].slug = strdup(name.buf)))
				err = SC_ENOMEM;
		}
	}
	smap_free(&taken);
	sbuf_release(&name);
	free(first);
	return err;
}

static sc_err rooms_load(struct site *x)
{
	struct export_rooms rs = { NULL, 0, 0, SC_OK };
	sc_err err = store_why(x, store_record_rooms(x->st, export_rooms_cb, &rs));
	size_t n = 0;

	if (!err)
		err = rs.err;
	if (!err)
		x->rooms = calloc(rs.n + 1, sizeof(*x->rooms));
	if (!err && !x->rooms)
		err = SC_ENOMEM;
	for (size_t i = 0; i < rs.n && !err; i++) {
		struct hroom *rm;
		struct room r;

		if (x->o->room_id && strcmp(x->o->room_id, rs.v[i]))
			continue;
		rm = &x->rooms[n++];
		x->nrooms = n;
		for (int k = 0; k < HTML_NKINDS; k++)
			stream_init(&rm->s[k]);
		for (int k = 0; k < HTML_LATEST; k++)
			sbuf_init(&rm->decisions.row[k], 0);
		sbuf_init(&rm->open_rows, HFILES_PAGE_MAX);
		sbuf_init(&rm->cell, 0);
		rm->id = rs.v[i];
		rs.v[i] = NULL;
		memset(&r, 0, sizeof(r));
		err = store_room_get(x->st, rm->id, &r);
		if (!err && r.name && !(rm->name = strdup(r.name)))
			err = SC_ENOMEM;
		room_clear(&r);
		if (err == SC_ENOTFOUND) /* an imported room scribe never saw */
			err = SC_OK;
		if (!err && !smap_at(&x->room_ix, rm->id, NULL))
			err = SC_ENOMEM;
		if (!err)
			*smap_at(&x->room_ix, rm->id, NULL) = n - 1;
	}
	if (!err)
		err = store_why(x, err);
	if (!err)
		err = room_slugs(x);
	/* the room's cell in the rows of a target's page */
	for (size_t i = 0; i < x->nrooms && !err; i++) {
		struct hroom *rm = &x->rooms[i];
		struct hw w = { &rm->cell, SC_OK };

		hw_puts(&w, "<td><a href=\"../../rooms/");
		hw_puts(&w, rm->slug);
		hw_puts(&w, "/index.html\">");
		hw_esc(&w, html_room_label(rm));
		hw_puts(&w, "</a></td>");
		err = w.err;
	}
	for (size_t i = 0; i < rs.n; i++)
		free(rs.v[i]);
	free(rs.v);
	return store_why(x, err);
}

/* ---- the export ---- */

static sc_err put_static(struct site *x, const char *name, const char *s)
{
	sc_err err;

	sbuf_setlen(&x->page, 0);
	err = sbuf_puts(&x->page, s);
	return err ? err : html_put(x, name, &x->page);
}

static sc_err write_site(struct site *x)
{
	struct rec_query q;
	size_t keep = 0;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.kinds = x->kinds;
	q.room_id = x->o->room_id;
	q.since = x->o->since;
	q.until = x->o->until;
	if (x->o->progress && !store_count(x->st, &q, &x->prog.total) &&
	    x->prog.total >= PROGRESS_MIN)
		x->prog.on = 1;
	x->prog.shown = -1;
	err = rooms_load(x);
	if (!err)
		err = files_open(x);
	/* (no kind of the site asked for: a mask of 0 would be all) */
	if (!err && x->kinds)
		err = store_why(x, store_export(x->st, &q,
						 EXPORT_DECISION_HISTORY |
							 EXPORT_MINUTES,
						 pass_cb, x));
	if (!err)
		err = x->err;
	if (x->prog.on && x->prog.shown >= 0)
		fputc('\n', stderr);
	/* the months at hand, now complete */
	for (size_t i = 0; i < x->nrooms && !err; i++)
		for (int k = 0; k < HTML_NKINDS && !err; k++)
			err = stream_flush(x, &x->rooms[i].s[k], &x->rooms[i], NULL,
					   (enum rec_kind)k);
	for (size_t i = 0; i < x->ntargets && !err; i++)
		err = stream_flush(x, &x->targets[i]->s, NULL, x->targets[i],
				   REC_CHANGE);
	if (!err)
		err = fix_late(x);
	/* rooms with nothing in this export have no page */
	for (size_t i = 0; i < x->nrooms && !err; i++) {
		int64_t n = 0;

		for (int k = 0; k < HTML_NKINDS; k++)
			n += x->rooms[i].s[k].n;
		if (!n)
			continue;
		if (keep != i) {
			struct hroom t = x->rooms[keep];
			x->rooms[keep] = x->rooms[i];
			x->rooms[i] = t;
		}
		keep++;
	}
	if (!err) {
		x->nrooms = keep;
		smap_free(&x->room_ix);
		for (size_t i = 0; i < keep && !err; i++) {
			size_t *ix = smap_at(&x->room_ix, x->rooms[i].id, NULL);
			if (!ix)
				err = SC_ENOMEM;
			else
				*ix = i;
		}
		for (size_t i = 0; i < keep; i++)
			if (x->rooms[i].last > x->asof && !x->o->stamp)
				x->asof = x->rooms[i].last;
		if (x->o->stamp)
			x->asof = x->o->stamp;
	}
	for (size_t i = 0; i < x->nrooms && !err; i++)
		err = html_room_page(x, &x->rooms[i]);
	for (size_t i = 0; i < x->ntargets && !err; i++)
		err = html_target_page(x, x->targets[i]);
	if (!err)
		err = html_index_page(x);
	if (!err)
		err = html_search_page(x);
	if (!err)
		err = put_static(x, "style.css", html_style_css);
	if (!err)
		err = put_static(x, "site.js", html_site_js);
	if (!err)
		err = put_static(x, "favicon.svg", html_favicon_svg);
	err = files_close(x, err);
	if (!err)
		html_sweep(x);
	return err;
}

static void room_free(struct hroom *rm)
{
	free(rm->id);
	free(rm->name);
	free(rm->slug);
	for (int k = 0; k < HTML_NKINDS; k++)
		stream_free(&rm->s[k]);
	free(rm->open);
	sbuf_release(&rm->open_rows);
	for (size_t i = 0; i < rm->nowners; i++)
		free(rm->owners[i]);
	free(rm->owners);
	smap_free(&rm->owner_ix);
	sbuf_release(&rm->cell);
	imap_free(&rm->weeks);
	imap_free(&rm->months);
	for (int k = 0; k < HTML_LATEST; k++)
		sbuf_release(&rm->decisions.row[k]);
}

sc_err export_html(struct store *st, const struct export_opts *o, char **why)
{
	struct site x;
	sc_err err;

	memset(&x, 0, sizeof(x));
	x.st = st;
	x.o = o;
	x.why = why;
	x.tz = o->tz ? o->tz : "UTC";
	x.utc = !strcmp(x.tz, "UTC");
	x.kinds = (o->kinds ? o->kinds : REC_ALL) & HTML_KINDS;
	x.dfd = -1;
	if (!o->out) {
		why_set(&x, "html writes a site into a folder: give -o DIR");
		return SC_EINVAL;
	}
	sbuf_init(&x.page, HFILES_PAGE_MAX);
	sbuf_init(&x.row, 0);
	sbuf_init(&x.trow, 0);
	sbuf_init(&x.tmp, 0);
	sbuf_init(&x.tmp2, 0);
	x.dfd = open(o->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.dfd < 0) {
		why_set(&x, "cannot open '%s': %s", o->out, strerror(errno));
		err = SC_EIO;
	} else {
		err = write_site(&x);
	}
	if (x.files)
		files_close(&x, err);
	/* every room rooms_load made, also those without a page (the
	 * array ends with a zeroed one) */
	for (size_t i = 0; x.rooms && x.rooms[i].id; i++)
		room_free(&x.rooms[i]);
	free(x.rooms);
	for (size_t i = 0; i < x.ntargets; i++) {
		free(x.targets[i]->tag);
		free(x.targets[i]->slug);
		stream_free(&x.targets[i]->s);
		smap_free(&x.targets[i]->rooms);
		free(x.targets[i]);
	}
	free(x.targets);
	free(x.preds);
	smap_free(&x.room_ix);
	person_names_clear(&x.people);
	smap_free(&x.target_ix);
	smap_free(&x.written);
	smap_free(&x.dirs);
	imap_free(&x.dec_written);
	imap_free(&x.pred_head);
	imap_free(&x.late_dec);

	imap_free(&x.mtg_written);
	sbuf_release(&x.page);
	sbuf_release(&x.row);
	sbuf_release(&x.trow);
	sbuf_release(&x.tmp);
	sbuf_release(&x.tmp2);
	if (x.dfd >= 0)
		close(x.dfd);
	if (err && !*why)
		why_set(&x, "%s", sc_strerror(err));
	return err;
}
