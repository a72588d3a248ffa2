/* SPDX-License-Identifier: MIT */
/*
 * digest_message.c - the daily digest's message (commands.h): one
 * message per room, opening with a one-line summary an ops lead reads
 * in ten seconds, then the decisions, changes, incidents and meetings
 * of the window and the open action items grouped by person, the most
 * urgent person first; and the room's next digest slot. Written with
 * the reports of report.c, for !digest (digest.c) and for the schedule
 * (src/digest.c).
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "remind.h"
#include "when.h"
#include "banned.h"

/* Most lines per section, and of the open action items (fewer when
 * they are long: a digest always fits one message, see cmd.h). */
#define DIGEST_SECTION_MAX 20
#define DIGEST_TODO_MAX 30

/* What happened in the window, counted before anything is rendered so
 * the summary is right even when the body has to be cut. */
struct window {
	int64_t from, to, now;
	int64_t decisions, changes, meetings;
	int64_t opened, resolved, open_incidents;
	int64_t open_todos, overdue;
	int64_t breaches; /* items whose SLA ended in the window, open */
};

static int in_window(const struct record *r, void *arg)
{
	const struct window *w = arg;

	return (r->created >= w->from && r->created < w->to) ||
	       (r->closed && r->closed >= w->from && r->closed < w->to);
}

static int before_window(const struct record *r, void *arg)
{
	return !in_window(r, arg);
}

static int resolved_count(const struct record *r, void *ctx)
{
	struct window *w = ctx;

	if (r->closed >= w->from && r->closed < w->to)
		w->resolved++;
	return 0;
}

static int meeting_count(const struct record *r, void *ctx)
{
	struct window *w = ctx;

	if (in_window(r, w))
		w->meetings++;
	return 0;
}

static sc_err count_window(struct cmd_ctx *c, struct window *w)
{
	struct rec_query q;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.since = w->from;
	q.until = w->to;
	q.kinds = REC_BIT(REC_DECISION);
	err = store_count(c->st, &q, &w->decisions);
	q.kinds = REC_BIT(REC_CHANGE);
	if (!err)
		err = store_count(c->st, &q, &w->changes);
	/* incidents: each count from an index, never a walk over every
	 * incident the room ever had */
	q.kinds = REC_BIT(REC_INCIDENT);
	if (!err)
		err = store_count(c->st, &q, &w->opened);
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.kinds = REC_BIT(REC_INCIDENT);
	q.status = "open";
	if (!err)
		err = store_count(c->st, &q, &w->open_incidents);
	q.status = "resolved";
	q.changed_since = w->from;
	if (!err)
		err = store_query(c->st, &q, resolved_count, w);
	q.status = NULL;
	q.kinds = REC_BIT(REC_MEETING);
	q.changed_since = w->from;
	if (!err)
		err = store_query(c->st, &q, meeting_count, w);
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.kinds = REC_BIT(REC_TODO);
	q.open_only = 1;
	if (!err)
		err = store_count(c->st, &q, &w->open_todos);
	q.overdue_at = w->now;
	if (!err)
		err = store_count(c->st, &q, &w->overdue);
	if (!err)
		err = remind_breaches(c->st, c->cfg, c->room_id, w->from, w->to,
				      NULL, NULL, &w->breaches);
	return err;
}

/* Append ", N things" for a non-zero count. */
static sc_err part(struct sbuf *sb, int64_t n, const char *one, const char *many)
{
	if (!n)
		return SC_OK;
	return sbuf_printf(sb, "%s%lld %s", sb->len ? ", " : "", (long long)n,
			   n == 1 ? one : many);
}

/* "Digest for Mon 23 Nov: 2 decisions, 3 changes, 1 incident, 5 open
 * action items (2 overdue)" and the window it covers. */
static sc_err summary(struct cmd_ctx *c, const struct window *w)
{
	struct sbuf head, sb;
	sc_err err;

	sbuf_init(&head, 128);
	sbuf_init(&sb, 1024);
	err = when_format(w->to, c->tz, "Digest for %a %-d %b", &head);
	if (!err)
		err = part(&sb, w->decisions, "decision", "decisions");
	if (!err)
		err = part(&sb, w->changes, "change", "changes");
	if (!err)
		err = part(&sb, w->opened, "incident", "incidents");
	if (!err)
		err = part(&sb, w->resolved, "incident resolved", "incidents resolved");
	if (!err)
		err = part(&sb, w->meetings, "meeting", "meetings");
	if (!err)
		err = part(&sb, w->breaches, "SLA breach", "SLA breaches");
	if (!err && w->open_incidents && !w->opened)
		err = sbuf_printf(&sb, "%s%lld incident%s still open",
				  sb.len ? ", " : "", (long long)w->open_incidents,
				  w->open_incidents == 1 ? "" : "s");
	if (!err && w->open_todos)
		err = sbuf_printf(&sb, "%s%lld open action item%s",
				  sb.len ? ", " : "", (long long)w->open_todos,
				  w->open_todos == 1 ? "" : "s");
	else if (!err)
		err = sbuf_printf(&sb, "%sno open action items",
				  sb.len ? ", " : "nothing new, ");
	if (!err && w->overdue)
		err = sbuf_printf(&sb, " (%lld overdue)", (long long)w->overdue);
	if (!err)
		err = reply_bold(c->out, head.buf);
	if (!err)
		err = reply_textf(c->out, ": %s", sb.buf);
	sbuf_setlen(&head, 0);
	if (!err)
		err = when_format_short(w->from, w->now, c->tz, &head);
	if (!err)
		err = reply_nl(c->out);
	if (!err)
		err = reply_textf(c->out, "Since %s (%s).", head.buf, c->tz);
	sbuf_release(&head);
	sbuf_release(&sb);
	return err;
}

/* ---- open action items, grouped by person ---- */

/* The people with open items, in the order of their most urgent item;
 * a NULL entry stands for the unassigned items, placed the same way. */
struct people {
	char **users;
	size_t n;
	sc_err err;
};

/* Add user (NULL = unassigned) unless already listed. */
static sc_err people_put(struct people *p, const char *user)
{
	char **v;

	for (size_t k = 0; k < p->n; k++)
		if (user ? p->users[k] && !strcmp(p->users[k], user) : !p->users[k])
			return SC_OK;
	v = realloc(p->users, (p->n + 1) * sizeof(*v));
	if (!v)
		return SC_ENOMEM;
	p->users = v;
	v[p->n] = NULL;
	if (user) {
		v[p->n] = strdup(user);
		if (!v[p->n])
			return SC_ENOMEM;
	}
	p->n++;
	return SC_OK;
}

static int people_add(const char *user, void *ctx)
{
	struct people *p = ctx;

	p->err = people_put(p, user);
	return p->err != SC_OK;
}

/* Keep an item under person `at` only when no earlier person has it, so
 * an item for two people is listed once. */
struct group {
	const struct people *p;
	size_t at;
};

static int first_owner(const struct record *r, void *arg)
{
	const struct group *g = arg;

	if (!g->p->users[g->at])
		return r->nassignees == 0; /* the unassigned group */
	for (size_t i = 0; i < r->nassignees; i++)
		for (size_t k = 0; k < g->at; k++)
			if (g->p->users[k] && !strcmp(r->assignees[i], g->p->users[k]))
				return 0;
	return 1;
}

/* State of the grouped listing: at most max lines over all groups,
 * as many as fit. */
struct todo_list {
	struct report *rp;
	struct reply_list l;
	struct cmd_ctx c; /* out = the report's reply */
	struct group g;
	sc_err err;
};

static int todo_line(const struct record *r, void *ctx)
{
	struct todo_list *t = ctx;
	int list = t->rp->list, item = t->rp->item;

	if (!first_owner(r, &t->g))
		return 0;
	if (!reply_list_begin(&t->l))
		return 1;
	t->err = report_item(t->rp);
	if (!t->err)
		t->err = render_action_item(&t->c, r);
	if (t->err == SC_ETOOBIG)
		t->err = SC_OK; /* the reply is full: taken back below */
	if (!t->err && !reply_list_end(&t->l)) {
		t->rp->list = list;
		t->rp->item = item;
	}
	return t->err != SC_OK || t->l.stopped;
}

static sc_err open_items(struct cmd_ctx *c, struct report *rp, const struct window *w)
{
	struct people p = { NULL, 0, SC_OK };
	struct todo_list t;
	struct rec_query q;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.kinds = REC_BIT(REC_TODO);
	q.open_only = 1;
	q.order = ORDER_DUE;
	err = store_query_assignees(c->st, &q, people_add, &p);
	if (!err)
		err = p.err;
	if (!err && w->open_todos)
		err = report_section(rp, "Open action items");
	memset(&t, 0, sizeof(t));
	t.rp = rp;
	t.c = *c;
	t.c.out = rp->r;
	t.g.p = &p;
	reply_list_open(&t.l, rp->r, DIGEST_TODO_MAX);
	for (size_t i = 0; i < p.n && !err && !t.l.stopped; i++) {
		struct rec_query gq = q;

		t.g.at = i;
		gq.assignee = p.users[i];
		err = store_query(c->st, &gq, todo_line, &t);
		if (!err)
			err = t.err;
	}
	reply_list_close(&t.l);
	if (!err && w->open_todos > t.l.shown) {
		err = report_item(rp);
		if (!err)
			err = reply_textf(rp->r, "… and %lld more: %stodos",
					  (long long)(w->open_todos - t.l.shown),
					  c->cfg->prefix);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.users[i]);
	free(p.users);
	return err;
}

/* The digest's sections, in order, and their share of the room. */
enum { S_DECISIONS, S_CHANGES, S_INCIDENTS, S_MEETINGS, S_TODOS, S_N };

/* Before section i: keep room for the later sections, in proportion
 * to the lines each will show, so a busy section cannot push the
 * others out of the message; what a section leaves unused goes to the
 * next ones. */
static void keep_for_rest(struct reply *r, const int64_t *lines, int i,
			  size_t *kb, size_t *kh)
{
	size_t b, h;
	int64_t rest = 0;

	for (int k = i + 1; k < S_N; k++)
		rest += lines[k];
	reply_room(r, &b, &h);
	*kb = rest ? (size_t)((double)b * (double)rest / (double)(lines[i] + rest)) : 0;
	*kh = rest ? (size_t)((double)h * (double)rest / (double)(lines[i] + rest)) : 0;
	reply_reserve(r, *kb, *kh);
}

static int64_t at_most(int64_t n, int64_t max)
{
	return n < max ? n : max;
}

static sc_err body(struct cmd_ctx *c, struct report *rp, struct window *w)
{
	/* about as many lines as each section will show */
	int64_t lines[S_N] = {
		[S_DECISIONS] = at_most(w->decisions, DIGEST_SECTION_MAX),
		[S_CHANGES] = at_most(w->changes, DIGEST_SECTION_MAX),
		[S_INCIDENTS] = at_most(w->opened + w->resolved + w->open_incidents,
					DIGEST_SECTION_MAX),
		[S_MEETINGS] = at_most(w->meetings, DIGEST_SECTION_MAX),
		[S_TODOS] = at_most(w->open_todos, DIGEST_TODO_MAX),
	};
	struct rec_query q;
	int64_t shown = 0;
	size_t kb, kh;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.order = ORDER_OLDEST;
	q.since = w->from;
	q.until = w->to;
	q.kinds = REC_BIT(REC_DECISION);
	keep_for_rest(rp->r, lines, S_DECISIONS, &kb, &kh);
	err = report_records(rp, c, "Decisions", &q, NULL, NULL, NULL,
			     DIGEST_SECTION_MAX, NULL);
	reply_release(rp->r, kb, kh);
	q.kinds = REC_BIT(REC_CHANGE);
	keep_for_rest(rp->r, lines, S_CHANGES, &kb, &kh);
	if (!err)
		err = report_records(rp, c, "Changes", &q, NULL, NULL, NULL,
				     DIGEST_SECTION_MAX, NULL);
	reply_release(rp->r, kb, kh);
	/* incidents opened or resolved in the window, then the older ones
	 * still open, most urgent first */
	q.since = 0;
	q.until = 0;
	q.kinds = REC_BIT(REC_INCIDENT);
	q.changed_since = w->from;
	keep_for_rest(rp->r, lines, S_INCIDENTS, &kb, &kh);
	if (!err)
		err = report_records(rp, c, "Incidents", &q, in_window, w,
				     NULL, DIGEST_SECTION_MAX, &shown);
	q.changed_since = 0;
	q.status = "open";
	q.order = ORDER_DUE;
	if (shown > DIGEST_SECTION_MAX)
		shown = DIGEST_SECTION_MAX;
	if (!err)
		err = report_records(rp, c, shown ? NULL : "Incidents", &q,
				     before_window, w, NULL,
				     DIGEST_SECTION_MAX - (int)shown, NULL);
	reply_release(rp->r, kb, kh);
	q.status = NULL;
	q.order = ORDER_OLDEST;
	q.kinds = REC_BIT(REC_MEETING);
	q.changed_since = w->from;
	keep_for_rest(rp->r, lines, S_MEETINGS, &kb, &kh);
	if (!err)
		err = report_records(rp, c, "Meetings", &q, in_window, w, NULL,
				     DIGEST_SECTION_MAX, NULL);
	reply_release(rp->r, kb, kh);
	if (!err)
		err = open_items(c, rp, w);
	return err;
}

/* The owners of overdue items are the digest's only mentions. */
static int mention_overdue(const char *user, void *ctx)
{
	struct cmd_ctx *c = ctx;

	return user && reply_mention(c->out, user) != SC_OK;
}

sc_err digest_build(struct store *st, const struct config *cfg,
		    const char *room_id, int64_t from, int64_t to, int64_t now,
		    struct reply *out, int *empty)
{
	struct room room;
	struct cmd_ctx c;
	struct window w;
	struct report rp;
	struct rec_query q;
	struct sbuf more;
	sc_err err;

	memset(&rp, 0, sizeof(rp));
	sbuf_init(&more, 128);
	err = store_room_get(st, room_id, &room);
	if (err)
		return err;
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.cfg = cfg;
	c.room_id = room_id;
	c.now = now;
	c.tz = room.tz ? room.tz : cfg->timezone;
	c.out = out;
	/* people by their names in the room, also when scheduled */
	err = reply_names(out, st, room_id);
	if (err)
		goto out;
	memset(&w, 0, sizeof(w));
	w.from = from;
	w.to = to;
	w.now = now;
	err = count_window(&c, &w);
	if (err)
		goto out;
	/* the summary first: it is counted, never cut */
	err = summary(&c, &w);
	if (err)
		goto out;
	err = sbuf_printf(&more, "(use %ssearch / scribe export)", cfg->prefix);
	if (err)
		goto out;
	report_init(&rp, out);
	rp.more = more.buf;
	err = report_done(&rp, body(&c, &rp, &w));
	memset(&q, 0, sizeof(q));
	q.room_id = room_id;
	q.kinds = REC_BIT(REC_TODO);
	q.open_only = 1;
	q.overdue_at = now;
	q.order = ORDER_DUE;
	if (!err)
		err = store_query_assignee_names(st, &q, mention_overdue, &c);
	if (!err)
		*empty = !(w.decisions || w.changes || w.meetings || w.opened ||
			   w.resolved || w.open_incidents || w.open_todos);
out:
	report_clear(&rp);
	sbuf_release(&more);
	room_clear(&room);
	return err;
}

sc_err digest_next(const struct config *cfg, const struct room *room,
		   int64_t after, int64_t *out)
{
	const char *tz = room->tz ? room->tz : cfg->timezone;
	int minute = room->digest_minute >= 0 ? room->digest_minute : cfg->digest_minute;
	unsigned days = room->digest_days ? room->digest_days : cfg->digest_days;

	/* digest_minute below -1 means the room turned its digest off */
	if (room->digest_minute < -1)
		return SC_ENOTFOUND;
	return when_next_slot(after, tz, minute, days, out);
}
