/* SPDX-License-Identifier: MIT */
/*
 * html_record.c - the pages of one record in the HTML export: the ADR of
 * a decision (Nygard's sections, supersede links both ways, the check-in
 * tally and who checked in, the history) and the minutes of a meeting
 * (the layout of the team's minutes: time, attending, notetaker, agenda,
 * notes, what was decided and changed, follow-up action items). Each is
 * written straight into the batch of files (html_small_begin).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_chart.h"
#include "html_files.h"
#include "html_int.h"
#include "when.h"
#include "banned.h"
/* ---- a decision: the ADR ---- */

struct hist_ctx {
	struct site *x;
	struct hw *w;
	const char *room; /* the record's */
};

/* A value of a history entry; a reference (superseded_by, meeting) is
 * stored as the record's id in the store, shown as its short id. */
static void history_value(struct site *x, struct hw *w, const char *v, int ref)
{
	struct record r;
	char *end;
	long long id;

	if (!v)
		return hw_puts(w, "(none)");
	errno = 0;
	id = ref ? strtoll(v, &end, 10) : 0;
	memset(&r, 0, sizeof(r));
	if (ref && !errno && !*end && id > 0 &&
	    !store_record_get_id(x->st, id, &r)) {
		char sid[24];

		record_short_id(&r, sid, sizeof(sid));
		hw_esc(w, sid);
	} else {
		hw_esc(w, v);
	}
	record_clear(&r);
}

static int adr_history_cb(const struct history_entry *h, void *ctx)
{
	struct hist_ctx *c = ctx;
	struct hw *w = c->w;

	hw_puts(w, "<tr><td class=\"when\">");
	hw_datetime(w, c->x, h->ts);
	hw_puts(w, "</td><td>");
	hw_who(w, c->x, c->room, h->actor);
	hw_puts(w, "</td><td>");
	hw_esc(w, h->field);
	if (strcmp(h->field, "created")) {
		int ref = !strcmp(h->field, "superseded_by") ||
			  !strcmp(h->field, "meeting");

		hw_puts(w, ": ");
		history_value(c->x, w, h->old_value, ref);
		hw_puts(w, " → ");
		history_value(c->x, w, h->new_value, ref);
	}
	hw_puts(w, "</td></tr>\n");
	return w->err != SC_OK;
}

static void voters(struct hw *w, struct site *x, const struct rec_full *f,
		   const char *key, const char *emoji)
{
	int n = 0;

	for (size_t i = 0; i < f->nvotes; i++) {
		if (strcmp(f->votes[i].key, key))
			continue;
		hw_puts(w, n++ ? ", " : "<li>");
		if (n == 1) {
			hw_puts(w, emoji);
			hw_puts(w, " ");
		}
		hw_who(w, x, f->r.room_id, f->votes[i].user_id);
	}
	if (n)
		hw_puts(w, "</li>");
}

sc_err html_decision_page(struct site *x, const struct rec_full *f,
			  int has_history, const struct hroom *rm,
			  const char *ym)
{
	const struct record *r = &f->r;
	struct hw w = { NULL, SC_OK }, t = { &x->tmp, SC_OK };
	struct hw c = { &x->tmp2, SC_OK };
	struct hist_ctx hc = { x, &w, r->room_id };
	char id[24], name[HTML_NUMBERED_PATH];
	int64_t preds[16];
	size_t n;
	sc_err err;

	html_short_id(r, id);
	html_numbered_path(name, r);
	sbuf_setlen(&x->tmp, 0);
	sbuf_setlen(&x->tmp2, 0);
	hw_puts(&t, id);
	hw_puts(&t, ". ");
	hw_esc(&t, r->text);
	hw_crumb(&c, "<a href=\"");
	hw_room_href(&c, "../../", rm);
	hw_puts(&c, "\">");
	hw_esc(&c, html_room_label(rm));
	hw_puts(&c, "</a>");
	hw_crumb(&c, "<a href=\"");
	hw_month_href(&c, "../../", rm, REC_DECISION, ym);
	hw_puts(&c, "#");
	hw_puts(&c, id);
	hw_puts(&c, "\">Decision log</a>");
	hw_crumb(&c, id);
	if (t.err || c.err)
		return t.err ? t.err : c.err;
	err = html_small_begin(x, name, &w.sb);
	if (err)
		return err;
	html_page_head(&w, x, "../../", x->tmp.buf, x->tmp2.buf, 1);
	hw_puts(&w, "<article class=\"adr\">\n<h1>");
	hw_puts(&w, x->tmp.buf);
	hw_puts(&w, "</h1>\n<p class=\"lead\">Date: ");
	hw_date(&w, x, r->created);
	hw_puts(&w, " · ");
	hw_badge(&w, "s-", r->status);
	hw_puts(&w, " · room <a href=\"");
	hw_room_href(&w, "../../", rm);
	hw_puts(&w, "\">");
	hw_esc(&w, html_room_label(rm));
	hw_puts(&w, "</a>");
	if (f->meeting_ref) {
		hw_puts(&w, " · in meeting ");
		if (!w.err)
			w.err = html_meeting_link(x, &w, "../../", f->meeting_ref);
	}
	if (r->event_id) {
		hw_puts(&w, " · ");
		hw_src(&w, r);
	}
	hw_puts(&w, "</p>\n");
	if (f->superseded_ref) {
		hw_puts(&w, "<p class=\"supersede\">Superseded by ");
		if (!w.err)
			w.err = html_ref_link(x, &w, "../../", f->superseded_ref, 1);
		hw_puts(&w, "</p>\n");
	}
	n = html_preds(x, r->num, preds, 16);
	for (size_t i = 0; i < n; i++) {
		char ref[24];

		snprintf(ref, sizeof(ref), "D%lld", (long long)preds[i]);
		hw_puts(&w, "<p class=\"supersede\">Supersedes ");
		if (!w.err)
			w.err = html_ref_link(x, &w, "../../", ref, 1);
		hw_puts(&w, "</p>\n");
	}
	hw_puts(&w, "<section>\n<h2>Status</h2>\n<p>");
	hw_badge(&w, "s-", r->status);
	hw_puts(&w, "</p>\n</section>\n<section>\n<h2>Context</h2>\n");
	if (r->detail) {
		hw_puts(&w, "<p>Because ");
		hw_esc(&w, r->detail);
		hw_puts(&w, "</p>\n");
	}
	hw_puts(&w, "<p>Recorded by scribe as ");
	hw_puts(&w, id);
	hw_puts(&w, " in room <code>");
	hw_esc(&w, r->room_id);
	hw_puts(&w, "</code>.</p>\n</section>\n<section>\n<h2>Decision</h2>\n<p>");
	hw_esc(&w, r->text);
	hw_puts(&w, "</p>\n<p>Decided by ");
	hw_who(&w, x, r->room_id, r->author);
	hw_puts(&w, " (<code>");
	hw_esc(&w, r->author);
	hw_puts(&w, "</code>).</p>\n</section>\n<section>\n<h2>Consequences</h2>\n");
	if (r->votes_up + r->votes_down + r->votes_meh) {
		hw_puts(&w, "<figure class=\"tally-fig\">");
		if (!w.err)
			w.err = chart_tally(w.sb, r->votes_up, r->votes_down,
					    r->votes_meh, 1);
		hw_puts(&w, "<figcaption>Check-in: ");
		hw_int(&w, r->votes_up);
		hw_puts(&w, " 👍, ");
		hw_int(&w, r->votes_down);
		hw_puts(&w, " 👎, ");
		hw_int(&w, r->votes_meh);
		hw_puts(&w, " 🤷</figcaption></figure>\n<ul class=\"items\">");
		voters(&w, x, f, "up", "👍");
		voters(&w, x, f, "down", "👎");
		voters(&w, x, f, "meh", "🤷");
		hw_puts(&w, "</ul>\n");
	}
	if (f->superseded_ref) {
		hw_puts(&w, "<p>This decision no longer holds: ");
		hw_esc(&w, f->superseded_ref);
		hw_puts(&w, " replaced it.</p>\n");
	} else if (!strcmp(r->status, "rejected")) {
		hw_puts(&w, "<p>The proposal was rejected; nothing changes.</p>\n");
	} else if (!strcmp(r->status, "proposed")) {
		hw_puts(&w, "<p>Pending: the proposal is not accepted yet.</p>\n");
	} else {
		hw_puts(&w, "<p>To be filled in as they become known.</p>\n");
	}
	hw_puts(&w, "</section>\n<section>\n<h2>History</h2>\n<div class=\"table\">"
		    "<table><thead><tr><th>When</th><th>Who</th><th>What</th>"
		    "</tr></thead><tbody>\n");
	for (size_t i = 0; has_history && i < f->nhistory && !w.err; i++)
		adr_history_cb(&f->history[i], &hc);
	if (!has_history && !w.err) {
		err = store_history(x->st, r->id, adr_history_cb, &hc);
		if (err)
			return html_small_end(x, err);
	}
	hw_puts(&w, "</tbody></table></div>\n</section>\n</article>\n");
	html_page_foot(&w, x);
	return html_small_end(x, w.err);
}

/* ---- a meeting: the minutes ---- */

/* The sections of the minutes made of notes, in page order, and the
 * note kinds each holds (store.h lists them; chair, unchair and
 * notetaker name people and stay out). */
static const struct {
	const char *title;
	const char *kinds[5];
	const char *none;
} note_sections[] = {
	{ "Agenda", { "topic" }, "No topics were set." },
	{ "Objectives", { "objective" }, NULL },
	{ "Requirements", { "requirement" }, NULL },
	{ "Strategy", { "strategy" }, NULL },
	{ "Metrics", { "metric" }, NULL },
	{ "Notes", { "info", "idea", "help", "link" }, "No notes were taken." },
	{ "Carried over", { "carry" }, NULL },
};
#define NSECTIONS (sizeof(note_sections) / sizeof(note_sections[0]))

struct mtg_ctx {
	struct site *x;
	const char *room; /* the meeting's */
	struct hw dec, chg, inc, todo;
	struct hw notes[NSECTIONS];
	int64_t ndec, nchg, ninc, ntodo;
	struct hw att; /* the attendees' list items */
	int n;         /* attendees */
};

static int attendee_cb(const char *user, void *ctx)
{
	struct mtg_ctx *m = ctx;

	hw_puts(&m->att, "<li>");
	hw_who(&m->att, m->x, m->room, user);
	hw_puts(&m->att, "</li>\n");
	m->n++;
	return m->att.err != SC_OK;
}

static int minutes_note_cb(const struct note *n, void *ctx)
{
	struct mtg_ctx *m = ctx;
	struct hw *w = NULL;
	size_t i, j;

	if (n->withdrawn) /* taken back with #undo */
		return 0;
	for (i = 0; i < NSECTIONS && !w; i++)
		for (j = 0; j < 5 && note_sections[i].kinds[j] && !w; j++)
			if (!strcmp(n->kind, note_sections[i].kinds[j]))
				w = &m->notes[i];
	if (!w)
		return 0;
	hw_puts(w, "<li>");
	if (strcmp(n->kind, "topic") && strcmp(n->kind, "carry")) {
		hw_puts(w, "<span class=\"when\">");
		hw_hm(w, m->x, n->ts);
		hw_puts(w, "</span> ");
		hw_who(w, m->x, m->room, n->author);
		hw_puts(w, ": ");
	}
	if (!strcmp(n->kind, "idea"))
		hw_puts(w, "Idea: ");
	else if (!strcmp(n->kind, "help"))
		hw_puts(w, "Help wanted: ");
	else if (!strcmp(n->kind, "link"))
		hw_puts(w, "Link: "); /* text, not a link: no address a
					 * record gives is followed */
	if (!strcmp(n->kind, "carry") && !w->err)
		w->err = html_ref_link(m->x, w, "../../", n->text, 1);
	else
		hw_esc(w, n->text);
	hw_puts(w, "</li>\n");
	return w->err != SC_OK;
}

static int item_cb(const struct record *r, void *ctx)
{
	struct mtg_ctx *m = ctx;
	struct site *x = m->x;
	const struct hroom *rm = html_room_by_id(x, r->room_id);
	struct hw *w;
	char id[24], ym[8];

	if (!rm)
		return 0;
	html_short_id(r, id);
	html_ym_of(x, r->created, ym);
	switch (r->kind) {
	case REC_DECISION: w = &m->dec; m->ndec++; break;
	case REC_CHANGE: w = &m->chg; m->nchg++; break;
	case REC_INCIDENT: w = &m->inc; m->ninc++; break;
	default: w = &m->todo; m->ntodo++; break;
	}
	hw_puts(w, "<li>");
	if (r->kind == REC_TODO) {
		hw_puts(w, strcmp(r->status, "done") ? "<span class=\"box\">☐</span> "
						     : "<span class=\"box\">☑</span> ");
		for (size_t i = 0; i < r->nassignees; i++) {
			if (i)
				hw_puts(w, "/");
			hw_who(w, x, r->room_id, r->assignees[i]);
		}
		if (r->nassignees)
			hw_puts(w, ": ");
		hw_esc(w, r->text);
		hw_puts(w, " (<a href=\"");
		hw_record_href(w, "../../", rm, ym, r);
		hw_puts(w, "\">");
		hw_puts(w, id);
		hw_puts(w, "</a>");
		if (r->severity) {
			hw_puts(w, ", ");
			hw_esc(w, r->severity);
		}
		if (r->due) {
			hw_puts(w, ", due ");
			hw_date(w, x, r->due);
		}
		if (!r->nassignees)
			hw_puts(w, ", unassigned");
		hw_puts(w, ")");
	} else {
		hw_puts(w, "<a href=\"");
		hw_record_href(w, "../../", rm, ym, r);
		hw_puts(w, "\">");
		hw_puts(w, id);
		hw_puts(w, "</a> ");
		hw_esc(w, r->text);
		if (r->kind == REC_CHANGE)
			hw_tags(w, "../../", r, 1);
		if (r->kind != REC_CHANGE) {
			hw_puts(w, " ");
			hw_badge(w, "s-", r->status);
		}
	}
	hw_puts(w, "</li>\n");
	return w->err != SC_OK;
}

static void section(struct hw *w, const char *h, const char *title,
		    const struct hw *items, const char *none)
{
	if (!items->sb->len && !none)
		return;
	hw_puts(w, "<");
	hw_puts(w, h);
	hw_puts(w, ">");
	hw_puts(w, title);
	hw_puts(w, "</");
	hw_puts(w, h);
	hw_puts(w, ">\n");
	if (!items->sb->len) {
		hw_puts(w, none);
		return;
	}
	hw_puts(w, "<ul class=\"items\">\n");
	hw_add(w, items->sb->buf, items->sb->len);
	hw_puts(w, "</ul>\n");
}

static void count_words(struct hw *w, int64_t n, const char *one,
			const char *many, int *first)
{
	if (!n)
		return;
	hw_puts(w, *first ? "" : " · ");
	hw_int(w, n);
	hw_puts(w, " ");
	hw_puts(w, n == 1 ? one : many);
	*first = 0;
}

/* What the minutes show besides the meeting itself, into m: read along
 * with the records by store_export (f->minutes), or asked of the store
 * for a month written again after the pass. */
static sc_err minutes_parts(struct site *x, const struct rec_full *f,
			    const struct rec_query *q, struct mtg_ctx *m)
{
	sc_err err = SC_OK;

	if (f->minutes) {
		size_t i;

		for (i = 0; i < f->nitems; i++)
			if (item_cb(&f->items[i], m))
				break;
		for (i = 0; i < f->nattendees; i++)
			if (attendee_cb(f->attendees[i], m))
				break;
		for (i = 0; i < f->nnotes; i++)
			if (minutes_note_cb(&f->notes[i], m))
				break;
		return SC_OK;
	}
	if (q->kinds)
		err = store_query(x->st, q, item_cb, m);
	if (!err)
		err = store_attendees(x->st, f->r.id, attendee_cb, m);
	if (!err)
		err = store_notes(x->st, f->r.id, minutes_note_cb, m);
	return err;
}

sc_err html_meeting_page(struct site *x, const struct rec_full *f,
			 const struct hroom *rm, const char *ym,
			 struct sbuf *summary)
{
	const struct record *r = &f->r;
	struct sbuf dec, chg, inc, todo, att, notes[NSECTIONS];
	struct hw w = { NULL, SC_OK }, t = { &x->tmp, SC_OK };
	struct hw c = { &x->tmp2, SC_OK }, s = { summary, SC_OK };
	struct mtg_ctx m;
	struct rec_query q;
	unsigned kinds = x->kinds;
	char id[24], name[HTML_NUMBERED_PATH];
	int first = 1, begun = 0;
	sc_err err = SC_OK;

	html_short_id(r, id);
	html_numbered_path(name, r);
	sbuf_init(&dec, HFILES_PAGE_MAX);
	sbuf_init(&chg, HFILES_PAGE_MAX);
	sbuf_init(&inc, HFILES_PAGE_MAX);
	sbuf_init(&todo, HFILES_PAGE_MAX);
	sbuf_init(&att, HFILES_PAGE_MAX);
	memset(&m, 0, sizeof(m));
	m.x = x;
	m.room = r->room_id;
	m.dec.sb = &dec;
	m.chg.sb = &chg;
	m.inc.sb = &inc;
	m.todo.sb = &todo;
	m.att.sb = &att;
	for (size_t i = 0; i < NSECTIONS; i++) {
		sbuf_init(&notes[i], HFILES_PAGE_MAX);
		m.notes[i].sb = &notes[i];
	}
	/* what was recorded during the meeting, that this export holds */
	memset(&q, 0, sizeof(q));
	q.meeting = r->id;
	q.kinds = kinds & ~REC_BIT(REC_MEETING);
	q.room_id = x->o->room_id;
	q.since = x->o->since;
	q.until = x->o->until;
	q.order = ORDER_OLDEST;
	q.skip = SKIP_VOTES;
	err = minutes_parts(x, f, &q, &m);
	if (!err)
		err = m.dec.err ? m.dec.err : m.chg.err ? m.chg.err
				: m.inc.err ? m.inc.err : m.todo.err
				? m.todo.err : m.att.err;
	for (size_t i = 0; i < NSECTIONS && !err; i++)
		err = m.notes[i].err;
	if (err)
		goto out;
	sbuf_setlen(summary, 0);
	count_words(&s, m.ndec, "decision", "decisions", &first);
	count_words(&s, m.ntodo, "action item", "action items", &first);
	count_words(&s, m.nchg, "change", "changes", &first);
	count_words(&s, m.ninc, "incident", "incidents", &first);

	sbuf_setlen(&x->tmp, 0);
	sbuf_setlen(&x->tmp2, 0);
	hw_date(&t, x, r->created);
	hw_puts(&t, " ");
	hw_esc(&t, r->text);
	hw_crumb(&c, "<a href=\"");
	hw_room_href(&c, "../../", rm);
	hw_puts(&c, "\">");
	hw_esc(&c, html_room_label(rm));
	hw_puts(&c, "</a>");
	hw_crumb(&c, "<a href=\"");
	hw_month_href(&c, "../../", rm, REC_MEETING, ym);
	hw_puts(&c, "#");
	hw_puts(&c, id);
	hw_puts(&c, "\">Meetings</a>");
	hw_crumb(&c, id);
	err = s.err ? s.err : t.err ? t.err : c.err;
	if (!err)
		err = html_small_begin(x, name, &w.sb);
	if (err)
		goto out;
	begun = 1;
	html_page_head(&w, x, "../../", x->tmp.buf, x->tmp2.buf, 1);
	hw_puts(&w, "<article class=\"minutes\">\n<h1>");
	hw_puts(&w, x->tmp.buf);
	hw_puts(&w, "</h1>\n<p class=\"lead\">Meeting ");
	hw_puts(&w, id);
	hw_puts(&w, " in <a href=\"");
	hw_room_href(&w, "../../", rm);
	hw_puts(&w, "\">");
	hw_esc(&w, html_room_label(rm));
	hw_puts(&w, "</a>, recorded by scribe.");
	if (r->event_id) {
		hw_puts(&w, " ");
		hw_src(&w, r);
	}
	hw_puts(&w, "</p>\n<p>Time: ");
	hw_hm(&w, x, r->created);
	if (r->closed) {
		hw_puts(&w, "–");
		hw_hm(&w, x, r->closed);
	}
	hw_puts(&w, " ");
	hw_esc(&w, x->tz);
	if (!r->closed)
		hw_puts(&w, " (still running)");
	hw_puts(&w, "</p>\n<h2>Attending</h2>\n<ul>\n");
	hw_add(&w, att.buf, att.len);
	if (!m.n)
		hw_puts(&w, "<li class=\"muted\">nobody spoke</li>\n");
	hw_puts(&w, "</ul>\n<p>Notetaker: scribe (started by ");
	hw_who(&w, x, r->room_id, r->author);
	hw_puts(&w, ")</p>\n");
	for (size_t i = 0; i < NSECTIONS; i++) {
		struct sbuf none;
		struct hw nw = { &none, SC_OK };

		sbuf_init(&none, 0);
		if (note_sections[i].none) {
			hw_puts(&nw, "<p class=\"muted\">");
			hw_puts(&nw, note_sections[i].none);
			hw_puts(&nw, "</p>\n");
		}
		section(&w, "h2", note_sections[i].title, &m.notes[i],
			note_sections[i].none ? none.buf : NULL);
		if (nw.err && !w.err)
			w.err = nw.err;
		sbuf_release(&none);
	}
	section(&w, "h2", "Decisions made", &m.dec, NULL);
	section(&w, "h2", "Changes", &m.chg, NULL);
	section(&w, "h2", "Incidents", &m.inc, NULL);
	hw_puts(&w, "<h2>Follow up</h2>\n");
	section(&w, "h3", "Actionable items", &m.todo,
		"<p>No action items.</p>\n");
	hw_puts(&w, "</article>\n");
	html_page_foot(&w, x);
	err = w.err;
out:
	if (begun)
		err = html_small_end(x, err);
	sbuf_release(&dec);
	sbuf_release(&chg);
	sbuf_release(&inc);
	sbuf_release(&todo);
	sbuf_release(&att);
	for (size_t i = 0; i < NSECTIONS; i++)
		sbuf_release(&notes[i]);
	return err;
}

