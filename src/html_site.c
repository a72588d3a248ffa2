/* SPDX-License-Identifier: MIT */
/*
 * html_site.c - the pages of the HTML export made of many records: a log
 * month (its head and foot around the rows the pass collects), a room
 * (charts, open action items by owner, the latest of each log), a
 * target, the index and the search page.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_chart.h"
#include "html_int.h"
#include "when.h"
#include "banned.h"

#define WEEK_SECS 604800
/* the weekly charts show at most a year, at least two months */
#define WEEKS_MAX 52
#define WEEKS_MIN 8
#define MONTHS_MAX 24
#define MONTHS_MIN 6
/* ---- a month of a log ---- */

/* "2 changes" */
static void hw_count(struct hw *w, int64_t n, enum rec_kind k)
{
	hw_int(w, n);
	hw_puts(w, " ");
	hw_puts(w, n == 1 ? html_kind_one[k] : html_kind_many[k]);
}

/* The months of s, newest first, as links (to the target's months
 * when tg is set). */
static void months_list(struct hw *w, const struct stream *s,
			const struct hroom *rm, const struct target *tg,
			enum rec_kind k, const char *up)
{
	hw_puts(w, "<p class=\"months\">By month: ");
	for (size_t i = s->nmonths; i-- > 0;) {
		hw_puts(w, "<a href=\"");
		if (tg) {
			hw_puts(w, up);
			hw_puts(w, "targets/");
			hw_puts(w, tg->slug);
			hw_puts(w, "/");
			hw_puts(w, s->months[i].ym);
			hw_puts(w, ".html");
		} else {
			hw_month_href(w, up, rm, k, s->months[i].ym);
		}
		hw_puts(w, "\">");
		hw_month_name(w, s->months[i].ym);
		hw_puts(w, "</a> (");
		hw_int(w, s->months[i].n);
		hw_puts(w, i ? ") · " : ")");
	}
	hw_puts(w, "</p>\n");
}

sc_err html_month_head(struct site *x, struct sbuf *sb, const struct stream *s,
			const struct hroom *rm, const struct target *tg,
			enum rec_kind k, const char *ym)
{
	struct hw w = { sb, SC_OK }, t = { &x->tmp, SC_OK };
	struct hw c = { &x->tmp2, SC_OK };
	const char *prev = NULL;

	for (size_t i = 0; i < s->nmonths; i++)
		if (strcmp(s->months[i].ym, ym) < 0)
			prev = s->months[i].ym;
	sbuf_setlen(&x->tmp, 0);
	sbuf_setlen(&x->tmp2, 0);
	if (tg) {
		hw_puts(&t, "#");
		hw_esc(&t, tg->tag);
		hw_puts(&t, ", ");
		hw_month_name(&t, ym);
		hw_crumb(&c, "<a href=\"../../targets/");
		hw_puts(&c, tg->slug);
		hw_puts(&c, "/index.html\">#");
		hw_esc(&c, tg->tag);
		hw_puts(&c, "</a>");
	} else {
		hw_puts(&t, html_kind_log[k]);
		hw_puts(&t, ", ");
		hw_month_name(&t, ym);
		hw_puts(&t, " · ");
		hw_esc(&t, html_room_label(rm));
		hw_crumb(&c, "<a href=\"");
		hw_room_href(&c, "../../", rm);
		hw_puts(&c, "\">");
		hw_esc(&c, html_room_label(rm));
		hw_puts(&c, "</a>");
	}
	hw_crumb(&c, "");
	hw_puts(&c, tg ? "" : html_kind_log[k]);
	hw_puts(&c, tg ? "" : ", ");
	hw_month_name(&c, ym);
	if (t.err || c.err)
		return t.err ? t.err : c.err;
	html_page_head(&w, x, "../../", x->tmp.buf, x->tmp2.buf, 1);
	hw_puts(&w, "<h1>");
	if (tg) {
		hw_puts(&w, "#");
		hw_esc(&w, tg->tag);
	} else {
		hw_puts(&w, html_kind_log[k]);
	}
	hw_puts(&w, " · ");
	hw_month_name(&w, ym);
	hw_puts(&w, "</h1>\n<p class=\"lead\">");
	if (tg) {
		hw_puts(&w, "Changes to #");
		hw_esc(&w, tg->tag);
		hw_puts(&w, " in every room");
	} else {
		hw_puts(&w, "<a href=\"");
		hw_room_href(&w, "../../", rm);
		hw_puts(&w, "\">");
		hw_esc(&w, html_room_label(rm));
		hw_puts(&w, "</a>");
	}
	if (prev) {
		hw_puts(&w, " · <a rel=\"prev\" href=\"");
		if (!tg) {
			hw_puts(&w, html_kind_plural[k]);
			hw_puts(&w, "-");
		}
		hw_puts(&w, prev);
		hw_puts(&w, ".html\">← ");
		hw_month_name(&w, prev);
		hw_puts(&w, "</a>");
	}
	hw_puts(&w, "</p>\n<div class=\"table\"><table class=\"log\"");
	if (k == REC_CHANGE)
		hw_puts(&w, " data-filter");
	hw_puts(&w, ">\n");
	html_log_thead(&w, k, tg != NULL);
	hw_puts(&w, "<tbody>\n");
	return w.err;
}

sc_err html_month_foot(struct site *x, struct sbuf *sb, enum rec_kind k,
		       const char *ym, int64_t n)
{
	struct hw w = { sb, SC_OK };

	hw_puts(&w, "</tbody></table></div>\n<p class=\"muted\">");
	hw_count(&w, n, k);
	hw_puts(&w, " in ");
	hw_month_name(&w, ym);
	hw_puts(&w, ", oldest first.</p>\n");
	html_page_foot(&w, x);
	return w.err;
}

/* ---- a room ---- */

/* The latest rows of a log (ring, newest first) in a table. */
static void latest_table(struct hw *w, const struct ring *rg, enum rec_kind k,
			 int target)
{
	if (!rg->n)
		return;
	hw_puts(w, "<div class=\"table\"><table class=\"log\"");
	if (k == REC_CHANGE)
		hw_puts(w, " data-filter");
	hw_puts(w, ">\n");
	html_log_thead(w, k, target);
	hw_puts(w, "<tbody>\n");
	for (int i = 0; i < rg->n; i++) {
		int at = (rg->next - 1 - i + 2 * HTML_LATEST) % HTML_LATEST;
		const struct sbuf *row = &rg->row[at];
		size_t skip = html_row_anchor(row->buf, row->len);

		/* "<tr" and the row after its id: the anchor is the month
		 * page's */
		hw_add(w, row->buf, 3);
		hw_add(w, row->buf + 3 + skip, row->len - 3 - skip);
	}
	hw_puts(w, "</tbody></table></div>\n");
}

static int item_cmp(const void *a, const void *b, void *ctx)
{
	const struct open_item *p = a, *q = b;
	const struct hroom *rm = ctx;
	int c;

	if (p->owner != q->owner) {
		if (p->owner == SIZE_MAX || q->owner == SIZE_MAX)
			return p->owner == SIZE_MAX ? 1 : -1;
		c = strcmp(rm->owners[p->owner], rm->owners[q->owner]);
		if (c)
			return c;
	}
	if (p->critical != q->critical)
		return p->critical ? -1 : 1;
	if (p->due != q->due) {
		if (!p->due || !q->due)
			return p->due ? -1 : 1;
		return p->due < q->due ? -1 : 1;
	}
	if (p->created != q->created)
		return p->created < q->created ? -1 : 1;
	return p->num < q->num ? -1 : p->num > q->num;
}

static int64_t overdue_of(struct site *x, const struct hroom *rm, int64_t *open)
{
	int64_t n = 0;

	*open = 0;
	for (size_t i = 0; i < rm->nopen; i++) {
		/* an item with two owners is listed twice, counted once */
		if (!rm->open[i].first)
			continue;
		(*open)++;
		if (rm->open[i].due && rm->open[i].due < x->asof)
			n++;
	}
	return n;
}

/* "... and N more" after an owner's first HTML_OPEN_PER_OWNER items */
static void open_more(struct hw *w, size_t listed, size_t all)
{
	if (listed >= all)
		return;
	hw_puts(w, "<li class=\"muted\">… and ");
	hw_int(w, (long long)(all - listed));
	hw_puts(w, " more: <a href=\"#todos\">every action item</a>, by "
		   "month</li>\n");
}

static void open_items(struct hw *w, struct site *x, struct hroom *rm)
{
	size_t owner = SIZE_MAX - 1, listed = 0, all = 0;

	hw_puts(w, "<h2 id=\"open\">Open action items</h2>\n<p class=\"muted\">"
		   "By owner; critical first, then by due date. Overdue as of ");
	hw_datetime(w, x, x->asof);
	hw_puts(w, ".</p>\n");
	if (!rm->nopen) {
		hw_puts(w, "<p>No open action items.</p>\n");
		return;
	}
	for (size_t i = 0; i < rm->nopen; i++) {
		const struct open_item *it = &rm->open[i];

		if (it->owner != owner) {
			size_t n = 0;

			for (size_t j = i; j < rm->nopen && rm->open[j].owner == it->owner; j++)
				n++;
			if (owner != SIZE_MAX - 1) {
				open_more(w, listed, all);
				hw_puts(w, "</ul>\n");
			}
			owner = it->owner;
			listed = 0;
			all = n;
			hw_puts(w, "<h3>");
			if (owner == SIZE_MAX) {
				hw_puts(w, "Unassigned");
			} else {
				hw_who(w, x, rm->id, rm->owners[owner]);
				hw_puts(w, " <span class=\"muted\">(");
				hw_esc(w, rm->owners[owner]);
				hw_puts(w, ")</span>");
			}
			hw_puts(w, " <span class=\"muted\">");
			hw_int(w, (long long)n);
			hw_puts(w, "</span></h3>\n<ul class=\"items\">\n");
		}
		if (listed == HTML_OPEN_PER_OWNER)
			continue;
		listed++;
		if (it->due && it->due < x->asof) {
			hw_puts(w, "<li class=\"overdue\">");
			hw_add(w, rm->open_rows.buf + it->off, it->len);
			hw_puts(w, " <span class=\"badge overdue-badge\">overdue"
				   "</span></li>\n");
		} else {
			hw_puts(w, "<li>");
			hw_add(w, rm->open_rows.buf + it->off, it->len);
			hw_puts(w, "</li>\n");
		}
	}
	open_more(w, listed, all);
	hw_puts(w, "</ul>\n");
}

/* The weekly charts: open items at each week's end, deploys. */
static void weekly_charts(struct hw *w, struct site *x, const struct hroom *rm,
			  int todos, int changes)
{
	struct chart_point open[WEEKS_MAX], dep[WEEKS_MAX];
	char labels[WEEKS_MAX][24], first[16], last[16];
	int64_t end = html_week_of(x->asof), n = end - html_week_of(rm->first) + 1;
	int64_t start, sum = 0;

	if (n > WEEKS_MAX)
		n = WEEKS_MAX;
	if (n < WEEKS_MIN)
		n = WEEKS_MIN;
	start = end - n + 1;
	for (size_t i = 0; i < rm->weeks.cap; i++)
		if (rm->weeks.v[i].used && rm->weeks.v[i].key < start)
			sum += rm->weeks.v[i].a;
	for (int64_t i = 0; i < n; i++) {
		const struct ient *e = imap_get(&rm->weeks, start + i);

		sum += e ? e->a : 0;
		html_week_label(first, start + i);
		snprintf(labels[i], sizeof(labels[i]), "week of %s", first);
		open[i].v = sum;
		open[i].label = labels[i];
		dep[i].v = e ? e->b : 0;
		dep[i].label = labels[i];
	}
	html_week_label(first, start);
	html_week_label(last, end);
	if (todos) {
		hw_puts(w, "<figure class=\"chart\">");
		if (!w->err)
			w->err = chart_line(w->sb, "Open action items", open,
					    (size_t)n, first, last);
		hw_puts(w, "<figcaption>Open action items at the end of each "
			   "week (weeks from Monday, UTC)</figcaption></figure>\n");
	}
	if (changes) {
		hw_puts(w, "<figure class=\"chart\">");
		if (!w->err)
			w->err = chart_bars(w->sb, "Deploys", dep, NULL, NULL,
					    (size_t)n, first, last);
		hw_puts(w, "<figcaption>Deploys per week: changes tagged #");
		hw_esc(w, x->o->deploy_tag ? x->o->deploy_tag : "deploy");
		hw_puts(w, "</figcaption></figure>\n");
	}
}

static void incident_chart(struct hw *w, struct site *x, const struct hroom *rm)
{
	struct chart_point inc[MONTHS_MAX], mttr[MONTHS_MAX];
	char labels[MONTHS_MAX][24], ym[8], first[24], last[24];
	int64_t end = html_ym_of(x, x->asof, ym);
	int64_t n = end - html_ym_of(x, rm->first, ym) + 1, start;

	if (n > MONTHS_MAX)
		n = MONTHS_MAX;
	if (n < MONTHS_MIN)
		n = MONTHS_MIN;
	start = end - n + 1;
	for (int64_t i = 0; i < n; i++) {
		const struct ient *e = imap_get(&rm->months, start + i);
		int64_t m = start + i;

		snprintf(labels[i], sizeof(labels[i]), "%04lld-%02lld",
			 (long long)(m / 12), (long long)(m % 12 + 1));
		inc[i].v = e ? e->a : 0;
		inc[i].label = labels[i];
		/* hours, rounded; -1: nothing resolved that month */
		mttr[i].v = e && e->b ? (e->c / e->b + 1800) / 3600 : -1;
		mttr[i].label = labels[i];
	}
	snprintf(first, sizeof(first), "%s", labels[0]);
	snprintf(last, sizeof(last), "%s", labels[n - 1]);
	hw_puts(w, "<figure class=\"chart\">");
	if (!w->err)
		w->err = chart_bars(w->sb, "Incidents", inc, mttr, "MTTR, h",
				    (size_t)n, first, last);
	hw_puts(w, "<figcaption>Incidents opened per month (bars) and their "
		   "mean time to resolve in hours (line)</figcaption></figure>\n");
}

/* The tags of the room's changes, with counts, sorted by name. */
static int tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sent *)a)->key, ((const struct sent *)b)->key);
}

static void room_targets(struct hw *w, struct site *x, const struct hroom *rm)
{
	struct sent *v;
	size_t n = 0;

	if (!x->ntargets)
		return;
	v = malloc(x->ntargets * sizeof(*v));
	if (!v) {
		w->err = SC_ENOMEM;
		return;
	}
	for (size_t i = 0; i < x->ntargets; i++) {
		size_t c;

		if (smap_get(&x->targets[i]->rooms, rm->slug, &c))
			v[n++] = (struct sent){ x->targets[i]->tag, c };
	}
	if (!n) {
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), tag_cmp);
	hw_puts(w, "<p class=\"months\">Targets: ");
	for (size_t i = 0; i < n; i++) {
		hw_puts(w, i ? " · <a class=\"tag\" href=\"" : "<a class=\"tag\" href=\"");
		hw_target_href(w, "../../", v[i].key);
		hw_puts(w, "\">#");
		hw_esc(w, v[i].key);
		hw_puts(w, "</a> (");
		hw_int(w, (long long)v[i].val);
		hw_puts(w, ")");
	}
	hw_puts(w, "</p>\n");
	free(v);
}

sc_err html_room_page(struct site *x, struct hroom *rm)
{
	unsigned kinds = x->kinds;
	struct hw w = { &x->page, SC_OK }, t = { &x->tmp, SC_OK };
	struct hw c = { &x->tmp2, SC_OK };
	int64_t open, overdue;
	char name[512];

	if (rm->nopen)
		qsort_r(rm->open, rm->nopen, sizeof(*rm->open), item_cmp, rm);
	overdue = overdue_of(x, rm, &open);
	sbuf_setlen(&x->page, 0);
	sbuf_setlen(&x->tmp, 0);
	sbuf_setlen(&x->tmp2, 0);
	hw_esc(&t, html_room_label(rm));
	hw_crumb(&c, "");
	hw_esc(&c, html_room_label(rm));
	if (t.err || c.err)
		return t.err ? t.err : c.err;
	html_page_head(&w, x, "../../", x->tmp.buf, x->tmp2.buf, 1);
	hw_puts(&w, "<h1>");
	hw_esc(&w, html_room_label(rm));
	hw_puts(&w, "</h1>\n<p class=\"lead\">The record of room <code>");
	hw_esc(&w, rm->id);
	hw_puts(&w, "</code> kept by scribe. Last activity ");
	hw_datetime(&w, x, rm->last);
	hw_puts(&w, ".</p>\n<ul class=\"stats\">");
	if (kinds & REC_BIT(REC_TODO)) {
		hw_puts(&w, "<li><a href=\"#open\"><strong>");
		hw_int(&w, open);
		hw_puts(&w, "</strong> open action items</a></li><li><strong>");
		hw_int(&w, overdue);
		hw_puts(&w, "</strong> overdue</li>");
	}
	for (int k = REC_DECISION; k < HTML_NKINDS; k++) {
		if (!(kinds & REC_BIT(k)))
			continue;
		hw_puts(&w, "<li><a href=\"#");
		hw_puts(&w, html_kind_plural[k]);
		hw_puts(&w, "\"><strong>");
		hw_int(&w, rm->s[k].n);
		hw_puts(&w, "</strong> ");
		hw_puts(&w, rm->s[k].n == 1 ? html_kind_one[k] : html_kind_many[k]);
		hw_puts(&w, "</a></li>");
	}
	if ((kinds & REC_BIT(REC_INCIDENT)) && rm->resolved) {
		hw_puts(&w, "<li>MTTR <strong>");
		if (!w.err)
			w.err = when_format_duration(rm->ttr / rm->resolved, w.sb);
		hw_puts(&w, "</strong></li>");
	}
	hw_puts(&w, "</ul>\n<div class=\"charts\">\n");
	weekly_charts(&w, x, rm, (kinds & REC_BIT(REC_TODO)) != 0,
		      (kinds & REC_BIT(REC_CHANGE)) != 0);
	if (kinds & REC_BIT(REC_INCIDENT))
		incident_chart(&w, x, rm);
	hw_puts(&w, "</div>\n");
	if (kinds & REC_BIT(REC_TODO))
		open_items(&w, x, rm);
	for (int k = REC_DECISION; k < HTML_NKINDS; k++) {
		static const int order[] = { REC_DECISION, REC_CHANGE,
					     REC_INCIDENT, REC_MEETING };
		enum rec_kind kk = (enum rec_kind)order[k - REC_DECISION];

		if (!(kinds & REC_BIT(kk)))
			continue;
		hw_puts(&w, "<h2 id=\"");
		hw_puts(&w, html_kind_plural[kk]);
		hw_puts(&w, "\">");
		hw_puts(&w, html_kind_log[kk]);
		hw_puts(&w, "</h2>\n");
		if (kk == REC_INCIDENT && rm->resolved) {
			hw_puts(&w, "<p>Mean time to resolve (MTTR): <strong>");
			if (!w.err)
				w.err = when_format_duration(rm->ttr / rm->resolved,
							     w.sb);
			hw_puts(&w, "</strong> over ");
			hw_int(&w, rm->resolved);
			hw_puts(&w, " resolved incidents.</p>\n");
		}
		if (kk == REC_CHANGE)
			room_targets(&w, x, rm);
		if (!rm->s[kk].n) {
			hw_puts(&w, "<p>None recorded.</p>\n");
			continue;
		}
		if (rm->s[kk].n > rm->s[kk].latest.n)
			hw_puts(&w, "<p class=\"muted\">The latest:</p>\n");
		latest_table(&w, &rm->s[kk].latest, kk, 0);
		months_list(&w, &rm->s[kk], rm, NULL, kk, "../../");
	}
	if ((kinds & REC_BIT(REC_TODO)) && rm->s[REC_TODO].n) {
		hw_puts(&w, "<h2 id=\"todos\">Every action item</h2>\n");
		months_list(&w, &rm->s[REC_TODO], rm, NULL, REC_TODO, "../../");
	}
	html_page_foot(&w, x);
	if (w.err)
		return w.err;
	snprintf(name, sizeof(name), "rooms/%s/index.html", rm->slug);
	return html_put(x, name, &x->page);
}

/* ---- a target ---- */

sc_err html_target_page(struct site *x, const struct target *tg)
{
	struct hw w = { &x->page, SC_OK }, t = { &x->tmp, SC_OK };
	struct hw c = { &x->tmp2, SC_OK };
	char name[512];
	int first = 1;

	sbuf_setlen(&x->page, 0);
	sbuf_setlen(&x->tmp, 0);
	sbuf_setlen(&x->tmp2, 0);
	hw_puts(&t, "#");
	hw_esc(&t, tg->tag);
	hw_crumb(&c, "#");
	hw_esc(&c, tg->tag);
	if (t.err || c.err)
		return t.err ? t.err : c.err;
	html_page_head(&w, x, "../../", x->tmp.buf, x->tmp2.buf, 1);
	hw_puts(&w, "<h1>#");
	hw_esc(&w, tg->tag);
	hw_puts(&w, "</h1>\n<p class=\"lead\">What was changed on #");
	hw_esc(&w, tg->tag);
	hw_puts(&w, ", in every room. Last change ");
	hw_datetime(&w, x, tg->last);
	hw_puts(&w, ".</p>\n<ul class=\"stats\"><li><strong>");
	hw_int(&w, tg->s.n);
	hw_puts(&w, tg->s.n == 1 ? "</strong> change</li>" : "</strong> changes</li>");
	if (tg->deploys) {
		hw_puts(&w, "<li><strong>");
		hw_int(&w, tg->deploys);
		hw_puts(&w, tg->deploys == 1 ? "</strong> deploy</li>" : "</strong> deploys</li>");
	}
	hw_puts(&w, "<li>in ");
	for (size_t i = 0; i < x->nrooms; i++) {
		size_t n;

		if (!smap_get(&tg->rooms, x->rooms[i].slug, &n))
			continue;
		hw_puts(&w, first ? "<a href=\"" : ", <a href=\"");
		first = 0;
		hw_room_href(&w, "../../", &x->rooms[i]);
		hw_puts(&w, "\">");
		hw_esc(&w, html_room_label(&x->rooms[i]));
		hw_puts(&w, "</a> (");
		hw_int(&w, (long long)n);
		hw_puts(&w, ")");
	}
	hw_puts(&w, "</li></ul>\n");
	if (tg->s.n > tg->s.latest.n)
		hw_puts(&w, "<p class=\"muted\">The latest:</p>\n");
	latest_table(&w, &tg->s.latest, REC_CHANGE, 1);
	months_list(&w, &tg->s, NULL, tg, REC_CHANGE, "../../");
	html_page_foot(&w, x);
	if (w.err)
		return w.err;
	snprintf(name, sizeof(name), "targets/%s/index.html", tg->slug);
	return html_put(x, name, &x->page);
}

/* ---- the index ---- */

static int target_cmp(const void *a, const void *b)
{
	return strcmp((*(struct target *const *)a)->tag,
		      (*(struct target *const *)b)->tag);
}

sc_err html_index_page(struct site *x)
{
	unsigned kinds = x->kinds;
	struct hw w = { &x->page, SC_OK };
	int64_t records = 0;

	sbuf_setlen(&x->page, 0);
	for (size_t i = 0; i < x->nrooms; i++)
		for (int k = 0; k < HTML_NKINDS; k++)
			records += x->rooms[i].s[k].n;
	html_page_head(&w, x, "", "Handbook", "", 1);
	hw_puts(&w, "<h1>Handbook</h1>\n<p class=\"lead\">The record scribe "
		    "keeps: ");
	hw_int(&w, records);
	hw_puts(&w, records == 1 ? " record in " : " records in ");
	hw_int(&w, (long long)x->nrooms);
	hw_puts(&w, x->nrooms == 1 ? " room" : " rooms");
	if (x->asof) {
		hw_puts(&w, ", as of ");
		hw_datetime(&w, x, x->asof);
		hw_puts(&w, x->o->stamp ? "" : " (the latest activity)");
	}
	hw_puts(&w, ".</p>\n");
	if (!x->nrooms)
		hw_puts(&w, "<p>Nothing recorded yet.</p>\n");
	else
		hw_puts(&w, "<div class=\"table\"><table><thead><tr><th>Room</th>"
			    "<th>Open action items</th><th>Overdue</th>"
			    "<th>Last activity</th><th>Latest decisions</th>"
			    "</tr></thead><tbody>\n");
	for (size_t i = 0; i < x->nrooms; i++) {
		struct hroom *rm = &x->rooms[i];
		int64_t open, overdue = overdue_of(x, rm, &open);

		hw_puts(&w, "<tr><td><a href=\"");
		hw_room_href(&w, "", rm);
		hw_puts(&w, "\">");
		hw_esc(&w, html_room_label(rm));
		hw_puts(&w, "</a><div class=\"note\"><code>");
		hw_esc(&w, rm->id);
		hw_puts(&w, "</code></div></td><td class=\"num\">");
		if (kinds & REC_BIT(REC_TODO)) {
			hw_puts(&w, "<a href=\"");
			hw_room_href(&w, "", rm);
			hw_puts(&w, "#open\">");
			hw_int(&w, open);
			hw_puts(&w, "</a>");
		}
		hw_puts(&w, "</td><td class=\"num");
		hw_puts(&w, overdue ? " overdue\">" : "\">");
		if (kinds & REC_BIT(REC_TODO))
			hw_int(&w, overdue);
		hw_puts(&w, "</td><td class=\"when\">");
		hw_datetime(&w, x, rm->last);
		hw_puts(&w, "</td><td><ul class=\"items\">");
		for (int j = 0; j < rm->decisions.n && j < HTML_INDEX_DECISIONS; j++) {
			int at = (rm->decisions.next - 1 - j + 2 * HTML_LATEST) %
				 HTML_LATEST;
			hw_puts(&w, "<li>");
			hw_add(&w, rm->decisions.row[at].buf,
			       rm->decisions.row[at].len);
			hw_puts(&w, "</li>");
		}
		hw_puts(&w, "</ul></td></tr>\n");
	}
	if (x->nrooms)
		hw_puts(&w, "</tbody></table></div>\n");
	if (x->ntargets) {
		qsort(x->targets, x->ntargets, sizeof(*x->targets), target_cmp);
		hw_puts(&w, "<h2>Targets</h2>\n<p class=\"months\">");
		for (size_t i = 0; i < x->ntargets; i++) {
			hw_puts(&w, i ? " · <a class=\"tag\" href=\"targets/"
				      : "<a class=\"tag\" href=\"targets/");
			hw_puts(&w, x->targets[i]->slug);
			hw_puts(&w, "/index.html\">#");
			hw_esc(&w, x->targets[i]->tag);
			hw_puts(&w, "</a> (");
			hw_int(&w, x->targets[i]->s.n);
			hw_puts(&w, ")");
		}
		hw_puts(&w, "</p>\n");
	}
	html_page_foot(&w, x);
	return w.err ? w.err : html_put(x, "index.html", &x->page);
}

/* ---- search ---- */

struct token {
	const char *slug, *ym;
	enum rec_kind k;
};

static int token_cmp(const void *a, const void *b)
{
	const struct token *p = a, *q = b;
	int c = strcmp(q->ym, p->ym); /* newest first */

	if (!c)
		c = strcmp(p->slug, q->slug);
	return c ? c : (int)p->k - (int)q->k;
}

sc_err html_search_page(struct site *x)
{
	struct hw w = { &x->page, SC_OK };
	struct token *v;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < x->nrooms; i++)
		for (int k = 0; k < HTML_NKINDS; k++)
			cap += x->rooms[i].s[k].nmonths;
	v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return SC_ENOMEM;
	for (size_t i = 0; i < x->nrooms; i++)
		for (int k = 0; k < HTML_NKINDS; k++)
			for (size_t m = 0; m < x->rooms[i].s[k].nmonths; m++)
				v[n++] = (struct token){ x->rooms[i].slug,
							 x->rooms[i].s[k].months[m].ym,
							 (enum rec_kind)k };
	if (n)
		qsort(v, n, sizeof(*v), token_cmp);
	sbuf_setlen(&x->page, 0);
	html_page_head(&w, x, "", "Search",
		       "<span class=\"sep\">›</span>Search", 0);
	hw_puts(&w, "<h1>Search</h1>\n<form id=\"search\" class=\"find\" "
		    "action=\"search.html\" method=\"get\" role=\"search\" "
		    "data-shards=\"");
	for (size_t i = 0; i < n; i++) {
		hw_puts(&w, i ? " " : "");
		hw_esc(&w, v[i].slug);
		hw_puts(&w, "/");
		hw_puts(&w, html_kind_plural[v[i].k]);
		hw_puts(&w, "-");
		hw_esc(&w, v[i].ym);
	}
	hw_puts(&w, "\"><input type=\"search\" name=\"q\" placeholder=\"Words "
		    "from a title or text, or an id like D4\" aria-label=\"Search "
		    "the record\" autofocus><button type=\"submit\">Search"
		    "</button></form>\n<noscript><p>The search runs in your "
		    "browser and needs JavaScript; every other page works "
		    "without it.</p></noscript>\n<p id=\"search-status\" "
		    "aria-live=\"polite\"></p>\n<ol id=\"search-results\">"
		    "</ol>\n");
	html_page_foot(&w, x);
	free(v);
	return w.err ? w.err : html_put(x, "search.html", &x->page);
}
