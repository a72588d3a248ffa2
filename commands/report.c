/* SPDX-License-Identifier: MIT */
/*
 * report.c - long replies that must still fit one message: a report is
 * a bold heading over a list per section, each list stopping at the
 * last item that fits and saying how many it left out (commands.h has
 * the contract). Minutes, !review, !catchup and the digest are written
 * with it, and with the one-line renderings of records they share:
 * render_brief for any record, render_action_item for the Follow Up
 * lists of minutes.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "when.h"
#include "banned.h"

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

sc_err report_more(struct report *rp, const char *title, int64_t shown,
		   int64_t total)
{
	sc_err err = SC_OK;

	if (total <= shown)
		return SC_OK;
	if (!shown && title)
		err = report_section(rp, title);
	if (!err)
		err = report_item(rp);
	if (!err)
		err = reply_textf(rp->r, "… and %lld more%s%s",
				  (long long)(total - shown), rp->more ? " " : "",
				  rp->more ? rp->more : "");
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
	if (!err)
		err = report_more(rp, title, s.l.shown, s.total);
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

