/* SPDX-License-Identifier: MIT */
/*
 * minutes.c - a meeting's minutes as a chat reply, in the shape of its
 * template: seed 000's (attendees with late arrivals, topics, notes,
 * ideas, links, calls for help, decisions, changes, incidents, and the
 * per-person Follow Up list of action items), seed 002's Template A
 * for a strategy meeting (objectives, key requirements, technical
 * strategy, decisions with rationale and status, "[Who] will … by
 * [Date]") or Template B for a review (metrics, incidents with their
 * root cause, discussion points, "[Who] to …"). Everything goes
 * through a report (commands.h), so the minutes of any meeting fit one
 * message: each section lists what fits and points to `scribe export
 * --format minutes` for the rest, which writes the full record
 * (src/export_minutes.c).
 */
#include <stdlib.h>
#include <string.h>

#include "meeting.h"
#include "when.h"
#include "banned.h"

/* ---- people ---- */

struct attend {
	struct report *rp;
	struct reply_list l;
	const struct cmd_ctx *c;
	const struct record *m;
	const char *label;
	int64_t total;
	sc_err err;
};

/* Append " (15m late)" when a's first line came late_after or more
 * after the start of m. */
static sc_err late_mark(struct reply *r, const struct cmd_ctx *c,
			const struct record *m, const struct attendee *a)
{
	int64_t late = a->first - m->created;
	struct sbuf sb;
	sc_err err;

	if (!a->first || c->cfg->meeting_late_after <= 0 ||
	    late < c->cfg->meeting_late_after)
		return SC_OK;
	sbuf_init(&sb, 64);
	err = sbuf_puts(&sb, " (");
	if (!err)
		err = when_format_duration(late - late % 60, &sb);
	if (!err)
		err = sbuf_puts(&sb, " late)");
	if (!err)
		err = reply_text(r, sb.buf);
	sbuf_release(&sb);
	return err;
}

/* "Attendees: dc, yurko, patcon (15m late)", one name at a time, as
 * many as fit. */
static int attendee_line(const struct attendee *a, void *ctx)
{
	struct attend *s = ctx;
	struct reply *r = s->rp->r;

	s->total++;
	if (!reply_list_begin(&s->l))
		return 0; /* keep counting */
	if (s->l.shown) {
		s->err = reply_text(r, ", ");
	} else {
		s->err = reply_nl(r);
		if (!s->err)
			s->err = reply_textf(r, "%s: ", s->label);
	}
	if (!s->err)
		s->err = reply_short_user(r, a->user_id);
	if (!s->err)
		s->err = late_mark(r, s->c, s->m, a);
	if (!s->err)
		reply_list_end(&s->l);
	return s->err != SC_OK;
}

static sc_err minutes_attendees(struct report *rp, struct cmd_ctx *c,
				const struct record *m)
{
	struct attend s;
	sc_err err;

	memset(&s, 0, sizeof(s));
	s.rp = rp;
	s.c = c;
	s.m = m;
	s.label = "Attendees";
	reply_list_open(&s.l, rp->r, -1);
	err = store_attendance(c->st, m->id, 0, attendee_line, &s);
	if (!err)
		err = s.err;
	reply_list_close(&s.l);
	if (!err && s.total > s.l.shown)
		err = reply_textf(rp->r, "%s%lld more", s.l.shown ? " and " : "\nAttendees: ",
				  (long long)(s.total - s.l.shown));
	return err;
}

/* "Facilitator: dc, patcon" (Template A): the chairs. */
static sc_err minutes_facilitator(struct report *rp, struct cmd_ctx *c,
				  const struct record *m)
{
	struct userlist ch;
	sc_err err = meeting_chairs(c->st, m, &ch);

	if (!err)
		err = reply_nl(rp->r);
	if (!err)
		err = reply_text(rp->r, "Facilitator: ");
	for (size_t i = 0; i < ch.n && i < LINE_PEOPLE_MAX && !err; i++) {
		if (i)
			err = reply_text(rp->r, ", ");
		if (!err)
			err = reply_short_user(rp->r, ch.ids[i]);
	}
	if (!err && ch.n > LINE_PEOPLE_MAX)
		err = reply_textf(rp->r, " +%zu", ch.n - LINE_PEOPLE_MAX);
	userlist_clear(&ch);
	return err;
}

/* ---- notes ---- */

struct notes {
	struct report *rp;
	struct reply_list l;
	const char *kind;  /* notes of this kind */
	const char *title; /* NULL: the items join the current section */
	int64_t total;
	sc_err err;
};

/* A link note "URL [text]" as "text: URL". */
static sc_err reply_link(struct reply *r, const char *text)
{
	const char *sp = strchr(text, ' ');
	char *url;
	sc_err err;

	if (!sp)
		return reply_snip(r, text, REPLY_LINE_CHARS);
	url = strndup(text, (size_t)(sp - text));
	if (!url)
		return SC_ENOMEM;
	err = reply_snip(r, sp + 1, REPLY_LINE_CHARS);
	if (!err)
		err = reply_text(r, ": ");
	if (!err)
		err = reply_snip(r, url, REPLY_LINE_CHARS);
	free(url);
	return err;
}

static int note_line(const struct note *note, void *ctx)
{
	struct notes *s = ctx;
	struct reply *r = s->rp->r;
	int list = s->rp->list, item = s->rp->item;

	if (note->withdrawn || strcmp(note->kind, s->kind) != 0)
		return 0;
	s->total++;
	if (!reply_list_begin(&s->l))
		return 0; /* keep counting */
	if (!s->l.shown && s->title)
		s->err = report_section(s->rp, s->title);
	if (!s->err)
		s->err = report_item(s->rp);
	if (!s->err && !strcmp(note->kind, "requirement"))
		s->err = reply_text(r, "[ ] ");
	if (!s->err && !strcmp(note->kind, "link"))
		s->err = reply_link(r, note->text);
	else if (!s->err)
		s->err = reply_snip(r, note->text, REPLY_LINE_CHARS);
	/* topics, metrics and Template A's lines are the meeting's;
	 * infos, ideas, links and calls for help say whose they are */
	if (!s->err && (!strcmp(note->kind, "info") || !strcmp(note->kind, "idea") ||
			!strcmp(note->kind, "link") || !strcmp(note->kind, "help"))) {
		s->err = reply_text(r, " (");
		if (!s->err)
			s->err = reply_short_user(r, note->author);
		if (!s->err)
			s->err = reply_text(r, ")");
	}
	if (s->err == SC_ETOOBIG)
		s->err = SC_OK; /* the reply is full: taken back below */
	if (!s->err && !reply_list_end(&s->l)) {
		s->rp->list = list;
		s->rp->item = item;
	}
	return s->err != SC_OK;
}

/* The notes of kind as a section under title (none: no section;
 * title NULL: items of the current section). *count, if not NULL,
 * gets how many there are. */
static sc_err minutes_notes(struct report *rp, struct cmd_ctx *c, int64_t meeting,
			    const char *kind, const char *title, int64_t *count)
{
	struct notes s;
	sc_err err;

	memset(&s, 0, sizeof(s));
	s.rp = rp;
	s.kind = kind;
	s.title = title;
	reply_list_open(&s.l, rp->r, MINUTES_SECTION_MAX);
	err = store_notes(c->st, meeting, note_line, &s);
	if (!err)
		err = s.err;
	reply_list_close(&s.l);
	if (!err)
		err = report_more(rp, title, s.l.shown, s.total);
	if (!err && count)
		*count = s.total;
	return err;
}

/* A section with a single item. */
static sc_err none_item(struct report *rp, const char *title, const char *text)
{
	sc_err err = title ? report_section(rp, title) : SC_OK;

	if (!err)
		err = report_item(rp);
	if (!err)
		err = reply_text(rp->r, text);
	return err;
}

/* ---- records ---- */

/* "Approved" for accepted, as Template A says it. */
static const char *decision_status(const char *status)
{
	return !strcmp(status, "accepted") ? "Approved" :
	       !strcmp(status, "rejected") ? "Rejected" :
	       !strcmp(status, "proposed") ? "Proposed" :
	       !strcmp(status, "superseded") ? "Superseded" : status;
}

/* Template A's decision row: "Use Kubernetes (because …): Approved (D3)". */
static sc_err render_decision_row(struct cmd_ctx *c, const struct record *r)
{
	sc_err err = reply_snip(c->out, r->text, REPLY_LINE_CHARS);

	if (!err && r->detail) {
		err = reply_text(c->out, " (because ");
		if (!err)
			err = reply_snip(c->out, r->detail, REPLY_LINE_CHARS);
		if (!err)
			err = reply_text(c->out, ")");
	}
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_bold(c->out, decision_status(r->status));
	if (!err)
		err = reply_text(c->out, " (");
	if (!err)
		err = reply_id(c->out, r);
	if (!err)
		err = reply_text(c->out, ")");
	return err;
}

/* "[ ] dc will draft the diagram by Fri 27 Nov (T4)": an action item
 * as the templates say it, verb "will" (A) or "to" (B). */
static sc_err render_owned(struct cmd_ctx *c, const struct record *r, const char *verb)
{
	sc_err err = reply_text(c->out, strcmp(r->status, "done") ? "[ ] " : "[x] ");

	for (size_t i = 0; i < r->nassignees && i < LINE_PEOPLE_MAX && !err; i++) {
		if (i)
			err = reply_text(c->out, "/");
		if (!err)
			err = reply_short_user(c->out, r->assignees[i]);
	}
	if (!err && r->nassignees > LINE_PEOPLE_MAX)
		err = reply_textf(c->out, " +%zu", r->nassignees - LINE_PEOPLE_MAX);
	if (!err && r->nassignees)
		err = reply_textf(c->out, " %s ", verb);
	if (!err)
		err = reply_snip(c->out, r->text, REPLY_LINE_CHARS);
	if (!err && r->due) {
		struct sbuf d;

		sbuf_init(&d, 64);
		err = when_format(r->due, c->tz, " by %a %-d %b", &d);
		if (!err)
			err = reply_text(c->out, d.buf);
		sbuf_release(&d);
	}
	if (!err)
		err = reply_text(c->out, " (");
	if (!err)
		err = reply_id(c->out, r);
	if (!err && r->severity)
		err = reply_textf(c->out, ", %s", r->severity);
	if (!err && !strcmp(r->status, "open") && r->due && r->due < c->now)
		err = reply_bold(c->out, ", overdue");
	if (!err && !r->nassignees)
		err = reply_text(c->out, ", unassigned");
	if (!err && !strcmp(r->status, "dropped"))
		err = reply_text(c->out, ", dropped");
	if (!err)
		err = reply_text(c->out, ")");
	return err;
}

static sc_err render_will(struct cmd_ctx *c, const struct record *r)
{
	return render_owned(c, r, "will");
}

static sc_err render_to(struct cmd_ctx *c, const struct record *r)
{
	return render_owned(c, r, "to");
}

sc_err render_carried(struct cmd_ctx *c, const struct record *r)
{
	return r->kind == REC_TODO ? render_action_item(c, r) : render_brief(c, r);
}

/* The records of kinds made in m, under title (none: no section). */
static sc_err made_in(struct report *rp, struct cmd_ctx *c, const struct record *m,
		      unsigned kinds, const char *title,
		      sc_err (*line)(struct cmd_ctx *c, const struct record *r),
		      int64_t *count)
{
	struct rec_query q;

	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.meeting = m->id;
	q.order = ORDER_OLDEST;
	q.kinds = kinds;
	return report_records(rp, c, title, &q, NULL, NULL, line,
			      MINUTES_SECTION_MAX, count);
}

/* ---- the header ---- */

/* "Minutes of M1: title" and "Mon 23 Nov 2026, 15:00–16:00 UTC (1h)". */
static sc_err minutes_head(struct report *rp, struct cmd_ctx *c, const struct record *m)
{
	struct sbuf sb, d1, d2;
	int64_t end = m->closed ? m->closed : c->now;
	sc_err err;

	sbuf_init(&sb, 256);
	sbuf_init(&d1, 64);
	sbuf_init(&d2, 64);
	err = reply_text(rp->r, "Minutes of ");
	if (!err)
		err = reply_id(rp->r, m);
	if (!err)
		err = reply_text(rp->r, ": ");
	if (!err)
		err = reply_wrap(rp->r, m->text, REPLY_LINE_CHARS, "<b>", "</b>");
	if (!err)
		err = when_format_date(m->created, c->tz, &d1);
	if (!err)
		err = when_format_date(end, c->tz, &d2);
	if (!err)
		err = when_format(m->created, c->tz, "%a %-d %b %Y, %H:%M–", &sb);
	/* the end alone when on the same day, else with its date */
	if (!err)
		err = when_format(end, c->tz, strcmp(d1.buf, d2.buf) ?
				  "%a %-d %b %H:%M" : "%H:%M", &sb);
	if (!err)
		err = sbuf_printf(&sb, " %s (", c->tz);
	if (!err)
		err = when_format_duration(end - m->created, &sb);
	if (!err)
		err = sbuf_putc(&sb, ')');
	if (!err)
		err = reply_nl(rp->r);
	if (!err)
		err = reply_text(rp->r, sb.buf);
	if (!err)
		err = minutes_attendees(rp, c, m);
	sbuf_release(&sb);
	sbuf_release(&d1);
	sbuf_release(&d2);
	return err;
}

/* The sections a template has no place for, when there is something
 * in them: MeetBot's items besides what the template lists. */
static sc_err minutes_extras(struct report *rp, struct cmd_ctx *c,
			     const struct record *m, enum meeting_type type)
{
	sc_err err = SC_OK;

	if (type == MEETING_STRATEGY) {
		err = minutes_notes(rp, c, m->id, "topic", "Topics", NULL);
		if (!err)
			err = minutes_notes(rp, c, m->id, "info", "Notes", NULL);
	}
	if (!err)
		err = minutes_notes(rp, c, m->id, "idea", "Ideas", NULL);
	if (!err)
		err = minutes_notes(rp, c, m->id, "link", "Links", NULL);
	if (!err)
		err = minutes_notes(rp, c, m->id, "help", "Calls for help", NULL);
	if (!err && type == MEETING_PLAIN) {
		err = minutes_notes(rp, c, m->id, "objective", "Objectives", NULL);
		if (!err)
			err = minutes_notes(rp, c, m->id, "requirement", "Requirements", NULL);
		if (!err)
			err = minutes_notes(rp, c, m->id, "strategy", "Strategy", NULL);
	}
	return err;
}

/* ---- the three shapes ---- */

/* Seed 000: attendees, topics, notes, decisions, changes, incidents and
 * the Follow Up list of action items per person. */
static sc_err minutes_plain(struct report *rp, struct cmd_ctx *c, const struct record *m)
{
	int64_t todos = 0;
	sc_err err = minutes_head(rp, c, m);

	if (!err)
		err = minutes_notes(rp, c, m->id, "topic", "Topics", NULL);
	if (!err)
		err = minutes_notes(rp, c, m->id, "info", "Notes", NULL);
	if (!err)
		err = minutes_extras(rp, c, m, MEETING_PLAIN);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_DECISION), "Decisions", NULL, NULL);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_CHANGE), "Changes", NULL, NULL);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_INCIDENT), "Incidents", NULL, NULL);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_TODO), "Action items",
			      render_action_item, &todos);
	if (!err && !todos)
		err = none_item(rp, "Action items", "none recorded");
	return err;
}

/* Template A: objectives, key requirements, technical strategy,
 * decisions made (decision, rationale, status), action items. */
static sc_err minutes_strategy(struct report *rp, struct cmd_ctx *c,
			       const struct record *m)
{
	static const struct {
		const char *kind, *title;
	} lines[] = {
		{ "objective", "1. Objectives" },
		{ "requirement", "2. Key Requirements" },
		{ "strategy", "3. Technical Strategy & Methods" },
	};
	int64_t n = 0;
	sc_err err = minutes_head(rp, c, m);

	if (!err)
		err = minutes_facilitator(rp, c, m);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]) && !err; i++) {
		err = minutes_notes(rp, c, m->id, lines[i].kind, lines[i].title, &n);
		if (!err && !n)
			err = none_item(rp, lines[i].title, "none recorded");
	}
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_DECISION), "4. Decisions Made",
			      render_decision_row, &n);
	if (!err && !n)
		err = none_item(rp, "4. Decisions Made", "none recorded");
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_TODO), "5. Action Items",
			      render_will, &n);
	if (!err && !n)
		err = none_item(rp, "5. Action Items", "none recorded");
	if (!err)
		err = minutes_extras(rp, c, m, MEETING_STRATEGY);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_CHANGE), "Changes", NULL, NULL);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_INCIDENT), "Incidents", NULL, NULL);
	return err;
}

/* The incidents a review of [since, until] covers: open in it at some
 * time. */
struct window {
	int64_t since, until;
};

static int in_window(const struct record *r, void *arg)
{
	const struct window *w = arg;

	return r->created <= w->until && (!r->closed || r->closed >= w->since);
}

sc_err minutes_review_head(struct cmd_ctx *c, const struct record *m,
			   struct report *rp)
{
	struct window w;
	struct rec_query q;
	int64_t n = 0;
	sc_err err = meeting_review_since(c->st, m, &w.since);

	w.until = m->closed ? m->closed : c->now;
	if (!err)
		err = minutes_notes(rp, c, m->id, "metric", "1. Metrics Review", &n);
	if (!err && !n)
		err = none_item(rp, "1. Metrics Review", "not recorded");
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.kinds = REC_BIT(REC_INCIDENT);
	q.order = ORDER_OLDEST;
	if (!err)
		err = report_records(rp, c, "2. Incident Summary", &q, in_window, &w,
				     NULL, MINUTES_SECTION_MAX, &n);
	if (!err && !n)
		err = none_item(rp, "2. Incident Summary", "no incidents");
	/* items that missed their SLA in the window (remind.h) */
	if (!err)
		err = report_breaches(rp, c, w.since, w.until + 1);
	return err;
}

/* Template B: metrics, incident summary, discussion points, action
 * items. */
static sc_err minutes_review(struct report *rp, struct cmd_ctx *c,
			     const struct record *m)
{
	int64_t topics = 0, decisions = 0, infos = 0, n = 0;
	sc_err err = minutes_head(rp, c, m);

	if (!err)
		err = minutes_review_head(c, m, rp);
	if (!err)
		err = minutes_notes(rp, c, m->id, "topic", "3. Discussion Points", &topics);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_DECISION),
			      topics ? NULL : "3. Discussion Points", NULL, &decisions);
	if (!err)
		err = minutes_notes(rp, c, m->id, "info",
				    topics || decisions ? NULL : "3. Discussion Points",
				    &infos);
	if (!err && !topics && !decisions && !infos)
		err = none_item(rp, "3. Discussion Points", "none recorded");
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_TODO), "4. Action Items",
			      render_to, &n);
	if (!err && !n)
		err = none_item(rp, "4. Action Items", "none recorded");
	if (!err)
		err = minutes_extras(rp, c, m, MEETING_REVIEW);
	if (!err)
		err = made_in(rp, c, m, REC_BIT(REC_CHANGE), "Changes", NULL, NULL);
	return err;
}

sc_err meeting_minutes(struct cmd_ctx *c, const struct record *m,
		       struct report *rp)
{
	switch (meeting_type_of(m)) {
	case MEETING_STRATEGY:
		return minutes_strategy(rp, c, m);
	case MEETING_REVIEW:
		return minutes_review(rp, c, m);
	default:
		return minutes_plain(rp, c, m);
	}
}
