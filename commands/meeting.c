/* SPDX-License-Identifier: MIT */
/*
 * meeting.c - meeting minutes, MeetBot style. !meeting start [title]
 * opens an M-record (one running meeting per room), !topic and !info
 * add notes, and during the meeting every chat line tagged #todo or
 * #action, #decision or #agreed, #info or #topic is recorded as if it
 * were a command, anywhere in the line, the way seed 000's notes tag
 * them ("#todo: elon: shepard task tracker selection", "#todo land the
 * PR (@patcon)", "Proposal: Shortlinks #decision"). Everyone who speaks
 * is an attendee. !meeting end closes the record and replies with the
 * minutes: attendees, topics, notes, decisions with their rationale and
 * the action items per person, in the shape of seed 000's Follow Up
 * list. The report helpers the longer replies share live here too.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "utf8.h"
#include "when.h"
#include "banned.h"

/* Most items one section of a report lists before "… and N more". */
#define SECTION_MAX 50
/* Most words of a meeting line scribe looks at for tags. */
#define LINE_WORDS_MAX 1024

/* ---- reports ---- */

/* Room a report keeps for its ending: closing </li></ul> and the
 * "… the rest did not fit in one message" line. */
#define REPORT_TAIL 160

void report_init(struct report *rp, struct reply *out)
{
	memset(rp, 0, sizeof(*rp));
	rp->r = out;
	rp->open = 1;
	reply_reserve(out, REPORT_TAIL, REPORT_TAIL);
}

void report_clear(struct report *rp)
{
	if (rp->open)
		reply_release(rp->r, REPORT_TAIL, REPORT_TAIL);
	rp->open = 0;
}

/* Append plain and html to the report's reply, both or neither:
 * SC_ETOOBIG when the reply is (or becomes) full. */
static sc_err report_put(struct report *rp, const char *plain, const char *html)
{
	sc_err err;

	if (rp->r->full)
		return SC_ETOOBIG;
	err = reply_raw(rp->r, plain, html);
	return !err && rp->r->full ? SC_ETOOBIG : err;
}

sc_err report_section(struct report *rp, const char *title)
{
	struct sbuf plain, html;
	sc_err err;

	sbuf_init(&plain, 0);
	sbuf_init(&html, 0);
	err = sbuf_printf(&plain, "%s%s:", rp->r->body.len ? "\n" : "", title);
	if (!err)
		err = sbuf_printf(&html, "%s%s<p><b>", rp->item ? "</li>\n" : "",
				  rp->list ? "</ul>\n" : "");
	if (!err)
		err = sbuf_html(&html, title);
	if (!err)
		err = sbuf_puts(&html, "</b></p>\n<ul>\n");
	if (!err)
		err = report_put(rp, plain.buf, html.buf);
	if (!err) {
		rp->list = 1;
		rp->item = 0;
	}
	sbuf_release(&plain);
	sbuf_release(&html);
	return err;
}

sc_err report_item(struct report *rp)
{
	sc_err err = report_put(rp, rp->r->body.len ? "\n- " : "- ",
				rp->item ? "</li>\n<li>" : rp->list ? "<li>" :
				"<ul>\n<li>");

	if (!err) {
		rp->list = 1;
		rp->item = 1;
	}
	return err;
}

sc_err report_done(struct report *rp, sc_err render_err)
{
	struct reply *out = rp->r;
	sc_err err;

	if (render_err && render_err != SC_ETOOBIG) {
		report_clear(rp);
		return render_err;
	}
	if (render_err == SC_ETOOBIG || out->full)
		rp->cut = 1;
	/* the ending goes into the room kept for it */
	report_clear(rp);
	err = reply_html(out, rp->item && rp->list ? "</li>\n</ul>\n" :
			      rp->list ? "</ul>\n" : "");
	rp->item = rp->list = 0;
	if (!err && rp->cut)
		err = reply_nl(out);
	if (!err && rp->cut)
		err = reply_text(out, "… the rest did not fit in one message");
	return err;
}

/* State of one report_records() listing. */
struct rr {
	struct report *rp;
	struct reply_list l;
	struct cmd_ctx c;
	const char *title;
	int (*keep)(const struct record *r, void *arg);
	void *arg;
	sc_err (*line)(struct cmd_ctx *c, const struct record *r);
	int64_t total;
	sc_err err;
};

static int rr_line(const struct record *r, void *ctx)
{
	struct rr *s = ctx;
	int list = s->rp->list, item = s->rp->item;

	if (s->keep && !s->keep(r, s->arg))
		return 0;
	s->total++;
	if (!reply_list_begin(&s->l))
		return 0; /* keep counting */
	/* the section's heading goes with its first item */
	if (!s->l.shown && s->title)
		s->err = report_section(s->rp, s->title);
	if (!s->err)
		s->err = report_item(s->rp);
	if (!s->err)
		s->err = s->line(&s->c, r);
	if (s->err == SC_ETOOBIG)
		s->err = SC_OK; /* the reply is full: taken back below */
	if (!s->err && !reply_list_end(&s->l)) {
		s->rp->list = list;
		s->rp->item = item;
	}
	return s->err != SC_OK;
}

sc_err report_records(struct report *rp, const struct cmd_ctx *c,
		      const char *title, const struct rec_query *q,
		      int (*keep)(const struct record *r, void *arg), void *arg,
		      sc_err (*line)(struct cmd_ctx *c, const struct record *r),
		      int max, int64_t *count)
{
	struct rr s;
	sc_err err;

	if (rp->r->full)
		return SC_ETOOBIG;
	memset(&s, 0, sizeof(s));
	s.rp = rp;
	s.c = *c;
	s.c.out = rp->r;
	s.title = title;
	s.keep = keep;
	s.arg = arg;
	s.line = line ? line : render_brief;
	reply_list_open(&s.l, rp->r, max);
	err = store_query(c->st, q, rr_line, &s);
	if (!err)
		err = s.err;
	reply_list_close(&s.l);
	if (!err && s.total > s.l.shown) {
		if (!s.l.shown && title)
			err = report_section(rp, title);
		if (!err)
			err = report_item(rp);
		if (!err)
			err = reply_textf(rp->r, "… and %lld more%s%s",
					  (long long)(s.total - s.l.shown),
					  rp->more ? " " : "", rp->more ? rp->more : "");
	}
	if (!err && count)
		*count = s.total;
	return err;
}

sc_err reply_short_user(struct reply *r, const char *user_id)
{
	const char *p = user_id[0] == '@' ? user_id + 1 : user_id;
	const char *colon = strchr(p, ':');
	char *name = strndup(p, colon ? (size_t)(colon - p) : strlen(p));
	struct sbuf h;
	sc_err err;

	if (!name)
		return SC_ENOMEM;
	sbuf_init(&h, 0);
	err = sbuf_puts(&h, "<a href=\"https://matrix.to/#/");
	if (!err)
		err = sbuf_html(&h, user_id);
	if (!err)
		err = sbuf_puts(&h, "\">");
	if (!err)
		err = sbuf_html(&h, name);
	if (!err)
		err = sbuf_puts(&h, "</a>");
	if (!err)
		err = reply_raw(r, name, h.buf);
	sbuf_release(&h);
	free(name);
	return err;
}

/* Append a duration ("2h 5m"). */
static sc_err reply_duration(struct cmd_ctx *c, int64_t secs)
{
	struct sbuf sb;
	sc_err err;

	sbuf_init(&sb, 64);
	err = when_format_duration(secs, &sb);
	if (!err)
		err = reply_text(c->out, sb.buf);
	sbuf_release(&sb);
	return err;
}

/* Append "today 15:00–16:00", or the full end when it is another day. */
static sc_err reply_span(struct cmd_ctx *c, int64_t from, int64_t to)
{
	struct sbuf d1, d2;
	sc_err err;

	sbuf_init(&d1, 64);
	sbuf_init(&d2, 64);
	err = reply_when(c, c->out, from);
	if (!err)
		err = reply_text(c->out, "–");
	if (!err)
		err = when_format_date(from, c->tz, &d1);
	if (!err)
		err = when_format_date(to, c->tz, &d2);
	if (!err && !strcmp(d1.buf, d2.buf)) {
		sbuf_setlen(&d1, 0);
		err = when_format(to, c->tz, "%H:%M", &d1);
		if (!err)
			err = reply_text(c->out, d1.buf);
	} else if (!err) {
		err = reply_when(c, c->out, to);
	}
	sbuf_release(&d1);
	sbuf_release(&d2);
	return err;
}

sc_err render_brief(struct cmd_ctx *c, const struct record *r)
{
	sc_err err;

	if (r->kind == REC_TODO)
		return render_record(c, r, REPLY_LINE_CHARS);
	err = reply_id(c->out, r);
	if (!err && r->kind == REC_DECISION && strcmp(r->status, "accepted"))
		err = reply_textf(c->out, " [%s]", r->status);
	if (!err && r->kind == REC_INCIDENT && r->severity)
		err = reply_textf(c->out, " [%s]", r->severity);
	if (!err && r->kind == REC_CHANGE) {
		err = reply_text(c->out, " ");
		if (!err)
			err = reply_when(c, c->out, r->created);
		if (!err)
			err = reply_text(c->out, " ");
		if (!err)
			err = reply_user(c->out, r->author);
		if (!err)
			err = reply_text(c->out, ":");
	}
	if (!err)
		err = reply_text(c->out, " ");
	if (!err)
		err = reply_snip(c->out, r->text, REPLY_LINE_CHARS);
	switch (r->kind) {
	case REC_DECISION:
		if (!err && r->detail) {
			err = reply_text(c->out, " (because ");
			if (!err)
				err = reply_snip(c->out, r->detail, REPLY_LINE_CHARS);
			if (!err)
				err = reply_text(c->out, ")");
		}
		break;
	case REC_CHANGE: {
		size_t n = 0;
		for (size_t i = 0; i < r->ntags && !err; i++)
			if (!strstr(r->text, r->tags[i]) && n++ < LINE_TAGS_MAX)
				err = reply_textf(c->out, " #%s", r->tags[i]);
		if (!err && n > LINE_TAGS_MAX)
			err = reply_textf(c->out, " +%zu", n - LINE_TAGS_MAX);
		break;
	}
	case REC_INCIDENT:
		if (err)
			break;
		if (!strcmp(r->status, "resolved")) {
			err = reply_text(c->out, " (resolved after ");
			if (!err)
				err = reply_duration(c, r->closed - r->created);
			if (!err && r->detail)
				err = reply_text(c->out, ": ");
			if (!err && r->detail)
				err = reply_snip(c->out, r->detail, REPLY_LINE_CHARS);
		} else {
			err = reply_text(c->out, " (open since ");
			if (!err)
				err = reply_when(c, c->out, r->created);
			if (!err && r->due && r->due < c->now)
				err = reply_bold(c->out, ", overdue");
		}
		if (!err)
			err = reply_text(c->out, ")");
		break;
	case REC_MEETING:
		if (err)
			break;
		if (r->closed) {
			err = reply_text(c->out, " (");
			if (!err)
				err = reply_span(c, r->created, r->closed);
		} else {
			err = reply_text(c->out, " (running since ");
			if (!err)
				err = reply_when(c, c->out, r->created);
		}
		if (!err)
			err = reply_text(c->out, ")");
		break;
	default:
		break;
	}
	return err;
}

sc_err render_action_item(struct cmd_ctx *c, const struct record *r)
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
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r->text, REPLY_LINE_CHARS);
	if (!err)
		err = reply_text(c->out, " (");
	if (!err)
		err = reply_id(c->out, r);
	if (!err && r->severity)
		err = reply_textf(c->out, ", %s", r->severity);
	if (!err && r->due) {
		err = reply_text(c->out, ", due ");
		if (!err)
			err = reply_when(c, c->out, r->due);
		if (!err && !strcmp(r->status, "open") && r->due < c->now)
			err = reply_bold(c->out, ", overdue");
	}
	if (!err && !r->nassignees)
		err = reply_text(c->out, ", unassigned");
	if (!err && !strcmp(r->status, "dropped"))
		err = reply_text(c->out, ", dropped");
	if (!err)
		err = reply_text(c->out, ")");
	return err;
}

/* ---- the running meeting ---- */

/* Point the room at meeting id (0 = none). */
static sc_err room_set_meeting(struct cmd_ctx *c, int64_t id)
{
	struct room room;
	sc_err err = store_room_get(c->st, c->room_id, &room);

	if (err)
		return err;
	room.meeting = id;
	err = store_room_put(c->st, &room);
	room_clear(&room);
	return err;
}

/* Fail unless a meeting is running; what names the command. */
static sc_err need_meeting(struct cmd_ctx *c, const char *what)
{
	if (c->meeting)
		return SC_OK;
	return cmd_fail(c, SC_ESTATE,
			"no meeting is running here; %s%s works during one (%smeeting start [title])",
			c->cfg->prefix, what, c->cfg->prefix);
}

static sc_err meeting_start(struct cmd_ctx *c, const struct args *a)
{
	struct record r;
	struct sbuf sb;
	sc_err err;

	memset(&r, 0, sizeof(r));
	sbuf_init(&sb, CMD_LINE_MAX);
	if (c->meeting) {
		err = store_record_get_id(c->st, c->meeting, &r);
		if (!err)
			err = when_format_short(r.created, c->now, c->tz, &sb);
		if (!err) {
			char id[24];
			char *title = text_snip(r.text, REPLY_LINE_CHARS);
			record_short_id(&r, id, sizeof(id));
			err = title ? cmd_fail(c, SC_ESTATE,
					       "%s (%s) is running here since %s; %smeeting end first",
					       id, title, sb.buf, c->cfg->prefix) : SC_ENOMEM;
			free(title);
		}
		goto out;
	}
	if (a->argc > 2) {
		r.text = args_join(a, 2, a->argc);
		if (!r.text) {
			err = SC_ENOMEM;
			goto out;
		}
	} else {
		err = sbuf_puts(&sb, "Meeting ");
		if (!err)
			err = when_format_date(c->now, c->tz, &sb);
		if (err)
			goto out;
		r.text = sbuf_detach(&sb, NULL);
	}
	r.kind = REC_MEETING;
	err = record_set(&r.status, "running");
	if (!err)
		err = add_record(c, &r);
	if (!err)
		err = room_set_meeting(c, r.id);
	if (!err)
		err = store_attendee_add(c->st, r.id, c->sender);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Meeting ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, " started: ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err)
		err = reply_nl(c->out);
	if (!err)
		err = reply_textf(c->out,
				  "Tag lines with #todo, #decision or #info (\"#todo elon: pick a tracker\"); "
				  "%stopic for each topic; %smeeting end for the minutes.",
				  c->cfg->prefix, c->cfg->prefix);
out:
	sbuf_release(&sb);
	record_clear(&r);
	return err;
}

/* State for listing attendees or notes into a report. */
struct notes {
	struct report *rp;
	struct reply_list l;
	const char *kind;  /* notes of this kind */
	const char *title;
	int64_t total;
	sc_err err;
};

/* "Attendees: dc, elon", one name at a time, as many as fit. */
static int attendee_line(const char *user, void *ctx)
{
	struct notes *s = ctx;
	struct reply *r = s->rp->r;

	s->total++;
	if (!reply_list_begin(&s->l))
		return 0; /* keep counting */
	if (s->l.shown) {
		s->err = reply_text(r, ", ");
	} else {
		s->err = reply_nl(r);
		if (!s->err)
			s->err = reply_text(r, "Attendees: ");
	}
	if (!s->err)
		s->err = reply_short_user(r, user);
	if (!s->err)
		reply_list_end(&s->l);
	return s->err != SC_OK;
}

static sc_err minutes_attendees(struct report *rp, struct cmd_ctx *c, int64_t meeting)
{
	struct notes s;
	sc_err err;

	memset(&s, 0, sizeof(s));
	s.rp = rp;
	reply_list_open(&s.l, rp->r, -1);
	err = store_attendees(c->st, meeting, attendee_line, &s);
	if (!err)
		err = s.err;
	reply_list_close(&s.l);
	if (!err && s.total > s.l.shown)
		err = reply_textf(rp->r, "%s%lld more", s.l.shown ? " and " : "\nAttendees: ",
				  (long long)(s.total - s.l.shown));
	return err;
}

static int note_line(const struct note *note, void *ctx)
{
	struct notes *s = ctx;
	int list = s->rp->list, item = s->rp->item;

	if (strcmp(note->kind, s->kind) != 0)
		return 0;
	s->total++;
	if (!reply_list_begin(&s->l))
		return 0; /* keep counting */
	if (!s->l.shown && s->title)
		s->err = report_section(s->rp, s->title);
	if (!s->err)
		s->err = report_item(s->rp);
	if (!s->err)
		s->err = reply_snip(s->rp->r, note->text, REPLY_LINE_CHARS);
	/* Topics are the agenda; infos say who noted them. */
	if (!s->err && !strcmp(note->kind, "info")) {
		s->err = reply_text(s->rp->r, " (");
		if (!s->err)
			s->err = reply_short_user(s->rp->r, note->author);
		if (!s->err)
			s->err = reply_text(s->rp->r, ")");
	}
	if (s->err == SC_ETOOBIG)
		s->err = SC_OK; /* the reply is full: taken back below */
	if (!s->err && !reply_list_end(&s->l)) {
		s->rp->list = list;
		s->rp->item = item;
	}
	return s->err != SC_OK;
}

static sc_err minutes_notes(struct report *rp, struct cmd_ctx *c, int64_t meeting,
			    const char *kind, const char *title)
{
	struct notes s;
	sc_err err;

	memset(&s, 0, sizeof(s));
	s.rp = rp;
	s.kind = kind;
	s.title = title;
	reply_list_open(&s.l, rp->r, SECTION_MAX);
	err = store_notes(c->st, meeting, note_line, &s);
	if (!err)
		err = s.err;
	reply_list_close(&s.l);
	if (!err && s.total > s.l.shown) {
		if (!s.l.shown)
			err = report_section(rp, title);
		if (!err)
			err = report_item(rp);
		if (!err)
			err = reply_textf(rp->r, "… and %lld more%s%s",
					  (long long)(s.total - s.l.shown),
					  rp->more ? " " : "", rp->more ? rp->more : "");
	}
	return err;
}

/* The minutes of m into the report: seed 000's header (time,
 * attendees), then topics, notes, decisions, changes, incidents and the
 * per-person action items. */
static sc_err minutes(struct cmd_ctx *c, const struct record *m, struct report *rp)
{
	struct rec_query q;
	struct sbuf sb, d1, d2;
	int64_t todos = 0;
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
		err = minutes_attendees(rp, c, m->id);
	if (!err)
		err = minutes_notes(rp, c, m->id, "topic", "Topics");
	if (!err)
		err = minutes_notes(rp, c, m->id, "info", "Notes");
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.meeting = m->id;
	q.order = ORDER_OLDEST;
	q.kinds = REC_BIT(REC_DECISION);
	if (!err)
		err = report_records(rp, c, "Decisions", &q, NULL, NULL, NULL,
				     SECTION_MAX, NULL);
	q.kinds = REC_BIT(REC_CHANGE);
	if (!err)
		err = report_records(rp, c, "Changes", &q, NULL, NULL, NULL,
				     SECTION_MAX, NULL);
	q.kinds = REC_BIT(REC_INCIDENT);
	if (!err)
		err = report_records(rp, c, "Incidents", &q, NULL, NULL, NULL,
				     SECTION_MAX, NULL);
	q.kinds = REC_BIT(REC_TODO);
	if (!err)
		err = report_records(rp, c, "Action items", &q, NULL, NULL,
				     render_action_item, SECTION_MAX, &todos);
	if (!err && !todos) {
		err = report_section(rp, "Action items");
		if (!err)
			err = report_item(rp);
		if (!err)
			err = reply_text(rp->r, "none recorded");
	}
	sbuf_release(&sb);
	sbuf_release(&d1);
	sbuf_release(&d2);
	return err;
}

static sc_err meeting_end(struct cmd_ctx *c)
{
	struct record m;
	struct report rp;
	sc_err err;

	if (!c->meeting)
		return cmd_fail(c, SC_ESTATE,
				"no meeting is running here (start one with %smeeting start [title])",
				c->cfg->prefix);
	err = store_attendee_add(c->st, c->meeting, c->sender);
	if (err)
		return err;
	err = store_record_get_id(c->st, c->meeting, &m);
	if (err)
		return err;
	report_init(&rp, c->out);
	rp.more = "(scribe export --format minutes has them all)";
	err = record_set(&m.status, "ended");
	m.closed = c->now;
	if (!err)
		err = store_record_update(c->st, &m, c->sender, c->now, c->event_id);
	if (!err)
		err = room_set_meeting(c, 0);
	if (err)
		goto out;
	c->out->record = m.id;
	err = report_done(&rp, minutes(c, &m, &rp));
out:
	report_clear(&rp);
	record_clear(&m);
	return err;
}

/* !meeting alone: what is running. */
static sc_err meeting_status(struct cmd_ctx *c)
{
	struct record m;
	int64_t n = 0;
	struct rec_query q;
	sc_err err;

	if (!c->meeting)
		return reply_textf(c->out,
				   "No meeting is running here. Start one with %smeeting start [title].",
				   c->cfg->prefix);
	err = store_record_get_id(c->st, c->meeting, &m);
	if (err)
		return err;
	memset(&q, 0, sizeof(q));
	q.meeting = m.id;
	err = store_count(c->st, &q, &n);
	if (!err)
		err = reply_text(c->out, "Meeting ");
	if (!err)
		err = reply_id(c->out, &m);
	if (!err)
		err = reply_text(c->out, " ");
	if (!err)
		err = reply_snip(c->out, m.text, REPLY_ECHO_CHARS);
	if (!err)
		err = reply_text(c->out, " is running since ");
	if (!err)
		err = reply_when(c, c->out, m.created);
	if (!err)
		err = reply_textf(c->out, " (%lld item%s recorded); %smeeting end for the minutes.",
				  (long long)n, n == 1 ? "" : "s", c->cfg->prefix);
	record_clear(&m);
	return err;
}

sc_err cmd_meeting(struct cmd_ctx *c, const struct args *a)
{
	if (a->argc == 1)
		return meeting_status(c);
	if (!strcasecmp(a->argv[1], "start"))
		return meeting_start(c, a);
	if (!strcasecmp(a->argv[1], "end") && a->argc == 2)
		return meeting_end(c);
	return cmd_usage(c, cmd_lookup("meeting"));
}

/* Store a topic or info note said in the meeting and confirm it. */
static sc_err add_note(struct cmd_ctx *c, const char *kind, const char *text)
{
	sc_err err = store_attendee_add(c->st, c->meeting, c->sender);

	if (!err)
		err = store_note_add(c->st, c->meeting, c->now, c->sender, kind, text);
	if (!err)
		err = reply_text(c->out, !strcmp(kind, "topic") ? "Topic: " : "Noted: ");
	if (!err)
		err = reply_snip(c->out, text, REPLY_ECHO_CHARS);
	return err;
}

/* !topic / !info: text is the rest of the line. */
static sc_err cmd_note(struct cmd_ctx *c, const struct args *a, const char *kind)
{
	char *text;
	sc_err err = need_meeting(c, kind);

	if (err)
		return err;
	text = args_join(a, 1, a->argc);
	if (!text)
		return SC_ENOMEM;
	err = add_note(c, kind, text);
	free(text);
	return err;
}

sc_err cmd_topic(struct cmd_ctx *c, const struct args *a)
{
	return cmd_note(c, a, "topic");
}

sc_err cmd_info(struct cmd_ctx *c, const struct args *a)
{
	return cmd_note(c, a, "info");
}

/* ---- tagged lines during a meeting ---- */

enum { TAG_NONE = 0, TAG_TODO, TAG_DECISION, TAG_INFO, TAG_TOPIC };

#define W_NAME 1u /* part of an assignee form: "elon:", "@elon", "(@a + b)" */
#define W_OPT 2u  /* an option taken out of the text: due:, severity, labels */

/* A chat line in words, without its (first) meeting tag. */
struct mline {
	char **w;
	unsigned *f;   /* W_* per word */
	int n;
	int npre;      /* words before the tag */
	int tag;       /* TAG_* */
	char **names;  /* names typed for assignees, in order */
	size_t nnames;
};

static void mline_clear(struct mline *ml)
{
	for (int i = 0; i < ml->n; i++)
		free(ml->w[i]);
	for (size_t i = 0; i < ml->nnames; i++)
		free(ml->names[i]);
	free(ml->w);
	free(ml->f);
	free(ml->names);
	memset(ml, 0, sizeof(*ml));
}

/* The meeting tag a word is: "#todo", "#todo:", "#Decision," (a word
 * like "#todos" or "#infra" is none). */
static int line_tag(const char *w)
{
	static const struct {
		const char *name;
		int tag;
	} tags[] = {
		{ "todo", TAG_TODO },	      { "action", TAG_TODO },
		{ "decision", TAG_DECISION }, { "agreed", TAG_DECISION },
		{ "info", TAG_INFO },	      { "topic", TAG_TOPIC },
	};
	size_t n = 0;

	if (w[0] != '#')
		return TAG_NONE;
	w++;
	while (isalpha((unsigned char)w[n]))
		n++;
	for (const char *p = w + n; *p; p++)
		if (!ispunct((unsigned char)*p))
			return TAG_NONE;
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strlen(tags[i].name) == n && !strncasecmp(w, tags[i].name, n))
			return tags[i].tag;
	return TAG_NONE;
}

/* Split line into words and take out its first meeting tag. A line
 * without one gets tag TAG_NONE. */
static sc_err mline_parse(const char *line, struct mline *out)
{
	struct mline ml;
	const char *p = line;
	sc_err err = SC_OK;

	memset(&ml, 0, sizeof(ml));
	ml.w = calloc(LINE_WORDS_MAX, sizeof(*ml.w));
	ml.f = calloc(LINE_WORDS_MAX, sizeof(*ml.f));
	if (!ml.w || !ml.f) {
		err = SC_ENOMEM;
		goto out;
	}
	for (;;) {
		const char *start;
		char *w;
		int tag;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (ml.n == LINE_WORDS_MAX) {
			err = SC_ETOOBIG;
			goto out;
		}
		w = strndup(start, (size_t)(p - start));
		if (!w) {
			err = SC_ENOMEM;
			goto out;
		}
		tag = ml.tag ? TAG_NONE : line_tag(w);
		if (tag) {
			ml.tag = tag;
			ml.npre = ml.n;
			free(w);
			continue;
		}
		ml.w[ml.n++] = w;
	}
	*out = ml;
	memset(&ml, 0, sizeof(ml));
out:
	mline_clear(&ml);
	return err;
}

/* Could w be a name typed for someone: "elon", "elon:", "@elon",
 * "@elon:example.org", "Zoë,"? */
static int name_like(const char *w)
{
	size_t n = strlen(w);

	while (n && strchr(":,;", w[n - 1]))
		n--;
	if (n && w[0] == '@') {
		w++;
		n--;
	}
	if (!n || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (!isalnum(ch) && !strchr("._=-:", ch) && ch < 0x80)
			return 0;
	}
	return 1;
}

static int ends_colon(const char *w)
{
	size_t n = strlen(w);
	return n > 1 && w[n - 1] == ':';
}

static sc_err add_name(struct mline *ml, const char *s, size_t len)
{
	char **v;
	char *dup;

	/* "(@patcon", "dc)", "elon:", "@elon," → the name itself */
	while (len && (*s == '(' || isspace((unsigned char)*s))) {
		s++;
		len--;
	}
	while (len && strchr(":,;)", s[len - 1]))
		len--;
	if (!len)
		return SC_OK;
	dup = strndup(s, len);
	if (!dup)
		return SC_ENOMEM;
	v = realloc(ml->names, (ml->nnames + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return SC_ENOMEM;
	}
	v[ml->nnames++] = dup;
	ml->names = v;
	return SC_OK;
}

/* The names of a "(@patcon + dc)" group: split at + , / & and "and". */
static sc_err group_names(const char *group, struct mline *into)
{
	const char *p = group;
	sc_err err = SC_OK;

	while (*p && !err) {
		size_t n;
		while (*p && (strchr("()+,/&", *p) || isspace((unsigned char)*p)))
			p++;
		n = 0;
		while (p[n] && !strchr("()+,/&", p[n]) && !isspace((unsigned char)p[n]))
			n++;
		if (n && !(n == 3 && !strncasecmp(p, "and", 3)))
			err = add_name(into, p, n);
		p += n;
	}
	return err;
}

/* 1 if name is exactly one member here (nothing is reported). */
static int is_member(struct cmd_ctx *c, const char *name)
{
	char *uid = NULL;
	sc_err err = store_member_resolve(c->st, c->room_id, name, &uid, NULL);

	free(uid);
	return err == SC_OK;
}

/*
 * Find who a todo line is for, marking those words W_NAME and listing
 * the names: "Dawn: #todo …" or "@dawn #todo …" before the tag;
 * "#todo @elon @bob …" or "#todo: elon: …" right after it; a closing
 * "(@patcon)" or "(@patcon + dc)" group. In a group the @names are
 * names; a word without '@' is one only when it is a member here, so
 * "(45 mins)" stays text, and a group with other words ("(@patcon will
 * do it)") assigns its @names but stays in the text.
 */
static sc_err find_names(struct cmd_ctx *c, struct mline *ml)
{
	struct mline grp;
	struct sbuf g;
	int i = 0, lead = 1, ats = 0, other = 0, s, e;
	sc_err err = SC_OK;

	memset(&grp, 0, sizeof(grp));
	sbuf_init(&g, CMD_LINE_MAX);
	if (ml->npre == 1 && ends_colon(ml->w[0]) && name_like(ml->w[0])) {
		ml->f[0] |= W_NAME;
		err = add_name(ml, ml->w[0], strlen(ml->w[0]));
		i = 1;
	} else if (ml->npre > 0) {
		for (int k = 0; k < ml->npre; k++)
			lead &= ml->w[k][0] == '@' && name_like(ml->w[k]);
		for (int k = 0; lead && k < ml->npre && !err; k++) {
			ml->f[k] |= W_NAME;
			err = add_name(ml, ml->w[k], strlen(ml->w[k]));
		}
		i = ml->npre;
	}
	if (lead) {
		int at = 0;
		for (; i < ml->n - 1 && !err && ml->w[i][0] == '@' &&
		       name_like(ml->w[i]); i++, at++) {
			ml->f[i] |= W_NAME;
			err = add_name(ml, ml->w[i], strlen(ml->w[i]));
		}
		if (!err && !at && i < ml->n - 1 && ends_colon(ml->w[i]) &&
		    name_like(ml->w[i])) {
			ml->f[i] |= W_NAME;
			err = add_name(ml, ml->w[i], strlen(ml->w[i]));
		}
	}
	/* the closing group, at most 8 words back, before any due:,
	 * severity or #labels that end the line */
	e = ml->n - 1;
	while (e > 0 && (!strncasecmp(ml->w[e], "due:", 4) || is_severity(ml->w[e]) ||
			 is_tag(ml->w[e])))
		e--;
	if (err || e < 1 || (ml->f[e] & W_NAME))
		goto out;
	if (ml->w[e][strlen(ml->w[e]) - 1] != ')')
		goto out;
	for (s = e; s > 0 && e - s < 8 && ml->w[s][0] != '('; s--)
		;
	if (ml->w[s][0] != '(' || s == 0)
		goto out;
	for (int k = s; k <= e && !err; k++)
		err = sbuf_printf(&g, "%s%s", k > s ? " " : "", ml->w[k]);
	if (!err)
		err = group_names(g.buf, &grp);
	if (err || !grp.nnames)
		goto out;
	for (size_t k = 0; k < grp.nnames; k++) {
		if (grp.names[k][0] == '@')
			ats++;
		else if (!is_member(c, grp.names[k]))
			other = 1;
	}
	if (!ats && other)
		goto out;
	for (int k = s; k <= e && !other; k++)
		ml->f[k] |= W_NAME;
	for (size_t k = 0; k < grp.nnames && !err; k++)
		if (!other || grp.names[k][0] == '@')
			err = add_name(ml, grp.names[k], strlen(grp.names[k]));
out:
	mline_clear(&grp);
	sbuf_release(&g);
	return err;
}

/* Join the words without any flag of skip. */
static char *mline_join(const struct mline *ml, int from, int to, unsigned skip)
{
	struct sbuf sb;

	sbuf_init(&sb, CMD_LINE_MAX);
	for (int i = from; i < to; i++) {
		if (ml->f[i] & skip)
			continue;
		if ((sb.len && sbuf_putc(&sb, ' ')) || sbuf_puts(&sb, ml->w[i])) {
			sbuf_release(&sb);
			return NULL;
		}
	}
	return sbuf_detach(&sb, NULL);
}

/* Ping the assignees of r other than the sender (as !todo does). */
static sc_err ping_new(struct cmd_ctx *c, const struct record *r)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->nassignees && !err; i++)
		if (strcmp(r->assignees[i], c->sender) != 0)
			err = reply_mention(c->out, r->assignees[i]);
	return err;
}

/* Say that the line held no text to record (not an error: the
 * attendance it marked stays). */
static sc_err nothing_to_record(struct cmd_ctx *c, const char *example)
{
	return reply_textf(c->out, "Nothing to record after the tag; say it like \"%s\".",
			   example);
}

/* "#todo …" / "#action …": an action item; names nobody here answers
 * to leave it unassigned (the line is kept whole) and the reply says so. */
static sc_err line_todo(struct cmd_ctx *c, struct mline *ml)
{
	struct record r;
	struct sbuf why, note;
	char id[24];
	char *text = NULL;
	int first = -1, last = -1, nwords = 0;
	sc_err err;

	memset(&r, 0, sizeof(r));
	sbuf_init(&why, CMD_LINE_MAX);
	sbuf_init(&note, CMD_LINE_MAX);
	err = find_names(c, ml);
	for (int i = 0; i < ml->n && !err; i++) {
		const char *w = ml->w[i];
		int64_t due;

		if (ml->f[i] & W_NAME)
			continue;
		if (!strncasecmp(w, "due:", 4) && w[4] && !r.due) {
			if (when_parse_due(w + 4, c->now, c->tz, &due) == SC_OK) {
				r.due = due;
				ml->f[i] |= W_OPT;
			} else if (!note.len) {
				err = sbuf_printf(&note, "I could not read the date '%s'; set it with %sdue",
						  w + 4, c->cfg->prefix);
			}
			continue;
		}
		if (first < 0)
			first = i;
		last = i;
		nwords++;
	}
	/* A severity first or last, as !todo takes it. */
	if (!err && nwords > 1) {
		int at = is_severity(ml->w[last]) ? last :
			 is_severity(ml->w[first]) ? first : -1;
		if (at >= 0) {
			ml->f[at] |= W_OPT;
			err = record_set(&r.severity, ml->w[at]);
			for (char *p = r.severity; !err && *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	}
	/* Labels: every #word; a closing run of them is cut from the text. */
	for (int i = 0; i < ml->n && !err; i++) {
		char *tag;

		if ((ml->f[i] & (W_NAME | W_OPT)) || !is_tag(ml->w[i]))
			continue;
		tag = strdup(ml->w[i] + 1);
		if (!tag) {
			err = SC_ENOMEM;
			break;
		}
		for (char *p = tag; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		err = record_add_tag(&r, tag);
		free(tag);
	}
	for (int i = ml->n - 1; i >= 0 && !err; i--) {
		if (ml->f[i] & (W_NAME | W_OPT))
			continue;
		if (!is_tag(ml->w[i]))
			break;
		ml->f[i] |= W_OPT;
	}
	/* Who: every name must be a member, or nobody is assigned. */
	for (size_t i = 0; i < ml->nnames && !err; i++) {
		char *uid = NULL, *cands = NULL;
		sc_err e = store_member_resolve(c->st, c->room_id, ml->names[i],
						&uid, &cands);
		if (e == SC_OK)
			err = record_add_assignee(&r, uid);
		else if (e == SC_ENOTFOUND)
			err = sbuf_printf(&why, "%snobody called '%s' in this room",
					  why.len ? "; " : "", ml->names[i]);
		else if (e == SC_EAMBIGUOUS)
			err = sbuf_printf(&why, "%s'%s' could be %s", why.len ? "; " : "",
					  ml->names[i], cands ? cands : "several people");
		else
			err = e;
		free(uid);
		free(cands);
	}
	if (err)
		goto out;
	if (why.len) {
		for (size_t i = 0; i < r.nassignees; i++)
			free(r.assignees[i]);
		r.nassignees = 0;
	}
	text = mline_join(ml, 0, ml->n, why.len ? W_OPT : W_NAME | W_OPT);
	if (!text) {
		err = SC_ENOMEM;
		goto out;
	}
	if (!*text) {
		err = nothing_to_record(c, "#todo elon: pick a tracker");
		goto out;
	}
	r.kind = REC_TODO;
	r.text = text;
	text = NULL;
	if (!r.due)
		r.due = severity_due(c, r.severity);
	err = record_set(&r.status, "open");
	if (!err)
		err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Noted ");
	if (!err)
		err = render_record(c, &r, REPLY_ECHO_CHARS);
	record_short_id(&r, id, sizeof(id));
	if (!err && why.len) {
		err = reply_nl(c->out);
		if (!err)
			err = reply_textf(c->out, "Not assigned: %s. Use %sassign %s @user.",
					  why.buf, c->cfg->prefix, id);
	}
	if (!err && note.len) {
		err = reply_nl(c->out);
		if (!err)
			err = reply_textf(c->out, "%s %s fri.", note.buf, id);
	}
	if (!err)
		err = ping_new(c, &r);
out:
	free(text);
	sbuf_release(&why);
	sbuf_release(&note);
	record_clear(&r);
	return err;
}

/* "#decision …" / "#agreed …": an accepted decision, "because" starts
 * its rationale. */
static sc_err line_decision(struct cmd_ctx *c, struct mline *ml)
{
	struct record r;
	int at = ml->n;
	sc_err err = SC_OK;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < ml->n; i++) {
		if (!strcasecmp(ml->w[i], "because")) {
			at = i;
			break;
		}
	}
	r.text = mline_join(ml, 0, at, 0);
	if (at + 1 < ml->n)
		r.detail = mline_join(ml, at + 1, ml->n, 0);
	if (!r.text || (at + 1 < ml->n && !r.detail)) {
		err = SC_ENOMEM;
		goto out;
	}
	if (!*r.text) {
		err = nothing_to_record(c, "#decision use Linear because it is fast");
		goto out;
	}
	r.kind = REC_DECISION;
	err = record_set(&r.status, "accepted");
	if (!err)
		err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Noted decision ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err && r.detail)
		err = reply_text(c->out, " (because ");
	if (!err && r.detail)
		err = reply_snip(c->out, r.detail, REPLY_ECHO_CHARS);
	if (!err && r.detail)
		err = reply_text(c->out, ")");
out:
	record_clear(&r);
	return err;
}

/* "#info …" / "#topic …": a note of the minutes. */
static sc_err line_note(struct cmd_ctx *c, struct mline *ml, const char *kind)
{
	char *text = mline_join(ml, 0, ml->n, 0);
	sc_err err;

	if (!text)
		return SC_ENOMEM;
	if (*text)
		err = add_note(c, kind, text);
	else
		err = nothing_to_record(c, !strcmp(kind, "info") ?
					"#info the inventory sheet is current" :
					"#topic task tracker");
	free(text);
	return err;
}

sc_err meeting_line(struct cmd_ctx *c, const char *line, int *handled)
{
	struct mline ml;
	sc_err err;

	*handled = 0;
	memset(&ml, 0, sizeof(ml));
	/* Whoever speaks during a meeting attends it. */
	err = store_attendee_add(c->st, c->meeting, c->sender);
	if (err)
		return err;
	if (strlen(line) > CMD_LINE_MAX || !utf8_valid(line, strlen(line)) ||
	    !strchr(line, '#'))
		return SC_OK;
	err = mline_parse(line, &ml);
	if (err == SC_ETOOBIG)
		return SC_OK; /* not minutes material; attendance is noted */
	if (err)
		return err;
	switch (ml.tag) {
	case TAG_TODO:
		err = line_todo(c, &ml);
		break;
	case TAG_DECISION:
		err = line_decision(c, &ml);
		break;
	case TAG_INFO:
		err = line_note(c, &ml, "info");
		break;
	case TAG_TOPIC:
		err = line_note(c, &ml, "topic");
		break;
	default:
		goto out;
	}
	if (!err)
		*handled = 1;
out:
	mline_clear(&ml);
	return err;
}
