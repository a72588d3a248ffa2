/* SPDX-License-Identifier: MIT */
/*
 * meeting.c - a meeting's life, MeetBot style. !meeting start
 * [strategy|review] [title] (or #startmeeting) opens an M-record, one
 * running meeting per room, chaired by whoever started it; #chair and
 * #unchair change the chairs, and only chairs (or privileged users)
 * change the topic or end the meeting. At the start scribe lists what
 * the room's previous meeting left open ("Open from M3") and keeps that
 * list with the new meeting, so the record spans meetings; a review
 * meeting also records the operational numbers it reviews (Template B's
 * section 1, computed as !review does). !meeting end (or #endmeeting)
 * closes the record and replies with the minutes (minutes.c); a meeting
 * left running past [meeting] max_duration is closed by scribe itself
 * (meeting_autoend, called by src/autoend.c). The running meeting is a
 * column of the room in the store, so a restart changes nothing.
 * Tagged lines during a meeting are meeting_tags.c; they reach it from
 * the dispatcher through cmd_line_hook, defined at the end of this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meeting.h"
#include "when.h"
#include "banned.h"

/* Most carried items the start of a meeting lists in chat. */
#define CARRY_SHOWN 20
/* What a review covers when the room had no review meeting before. */
#define REVIEW_WINDOW (7 * 86400)

/* ---- who: people, chairs, the notetaker ---- */

void userlist_clear(struct userlist *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ids[i]);
	free(p->ids);
	memset(p, 0, sizeof(*p));
}

int userlist_has(const struct userlist *p, const char *user_id)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->ids[i], user_id))
			return 1;
	return 0;
}

static sc_err userlist_add(struct userlist *p, const char *user_id)
{
	char **v;
	char *dup;

	if (userlist_has(p, user_id))
		return SC_OK;
	dup = strdup(user_id);
	if (!dup)
		return SC_ENOMEM;
	v = realloc(p->ids, (p->n + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return SC_ENOMEM;
	}
	v[p->n++] = dup;
	p->ids = v;
	return SC_OK;
}

/* Remove user_id, never the first (the starter). */
static void userlist_del(struct userlist *p, const char *user_id)
{
	for (size_t i = 1; i < p->n; i++) {
		if (strcmp(p->ids[i], user_id))
			continue;
		free(p->ids[i]);
		memmove(p->ids + i, p->ids + i + 1, (p->n - i - 1) * sizeof(*p->ids));
		p->n--;
		return;
	}
}

enum meeting_type meeting_type_of(const struct record *m)
{
	for (size_t i = 0; i < m->ntags; i++) {
		if (!strcmp(m->tags[i], "strategy"))
			return MEETING_STRATEGY;
		if (!strcmp(m->tags[i], "review"))
			return MEETING_REVIEW;
	}
	return MEETING_PLAIN;
}

struct chair_scan {
	struct userlist *p;
	char *notetaker;
	sc_err err;
};

static int chair_note(const struct note *n, void *ctx)
{
	struct chair_scan *s = ctx;

	if (n->withdrawn)
		return 0;
	if (s->p && !strcmp(n->kind, "chair"))
		s->err = userlist_add(s->p, n->text);
	else if (s->p && !strcmp(n->kind, "unchair"))
		userlist_del(s->p, n->text);
	else if (!s->p && !strcmp(n->kind, "notetaker")) {
		free(s->notetaker);
		s->notetaker = strdup(n->text);
		if (!s->notetaker)
			s->err = SC_ENOMEM;
	}
	return s->err != SC_OK;
}

sc_err meeting_chairs(struct store *st, const struct record *m,
		      struct userlist *out)
{
	struct chair_scan s = { out, NULL, SC_OK };
	sc_err err;

	memset(out, 0, sizeof(*out));
	err = userlist_add(out, m->author);
	if (!err)
		err = store_notes(st, m->id, chair_note, &s);
	if (!err)
		err = s.err;
	if (err)
		userlist_clear(out);
	return err;
}

sc_err meeting_notetaker(struct store *st, const struct record *m, char **out)
{
	struct chair_scan s = { NULL, NULL, SC_OK };
	sc_err err = store_notes(st, m->id, chair_note, &s);

	if (!err)
		err = s.err;
	if (!err && !s.notetaker) {
		s.notetaker = strdup(m->author);
		if (!s.notetaker)
			err = SC_ENOMEM;
	}
	if (err) {
		free(s.notetaker);
		return err;
	}
	*out = s.notetaker;
	return SC_OK;
}

/* Append "dc, patcon" (localparts) to sb. */
static sc_err userlist_names(const struct userlist *p, struct sbuf *sb)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < p->n && !err; i++) {
		const char *u = p->ids[i][0] == '@' ? p->ids[i] + 1 : p->ids[i];
		const char *colon = strchr(u, ':');

		err = sbuf_printf(sb, "%s%.*s", i ? ", " : "",
				  (int)(colon ? (size_t)(colon - u) : strlen(u)), u);
	}
	return err;
}

sc_err meeting_need_chair(struct cmd_ctx *c, const char *what)
{
	struct record m;
	struct userlist ch;
	struct sbuf names;
	char id[24];
	const char *me;
	sc_err err;

	if (cmd_privileged(c))
		return SC_OK;
	err = store_record_get_id(c->st, c->meeting, &m);
	if (err)
		return err;
	err = meeting_chairs(c->st, &m, &ch);
	if (err) {
		record_clear(&m);
		return err;
	}
	if (userlist_has(&ch, c->sender)) {
		userlist_clear(&ch);
		record_clear(&m);
		return SC_OK;
	}
	record_short_id(&m, id, sizeof(id));
	sbuf_init(&names, CMD_LINE_MAX);
	err = userlist_names(&ch, &names);
	me = c->sender[0] == '@' ? c->sender + 1 : c->sender;
	if (!err)
		err = cmd_fail(c, SC_EPERM,
			       "only a chair of %s (%s) or a moderator (power %d) can %s; "
			       "a chair can make you one: #chair @%.*s",
			       id, names.buf, c->cfg->privileged_power, what,
			       (int)strcspn(me, ":"), me);
	sbuf_release(&names);
	userlist_clear(&ch);
	record_clear(&m);
	return err;
}

/* ---- earlier meetings of the room ---- */

struct prev_scan {
	int64_t before;
	int review_only;
	int64_t found;
};

static int prev_meeting(const struct record *r, void *ctx)
{
	struct prev_scan *s = ctx;

	if (s->before && r->id >= s->before)
		return 0;
	if (s->review_only && meeting_type_of(r) != MEETING_REVIEW)
		return 0;
	s->found = r->id;
	return 1;
}

sc_err meeting_previous(struct store *st, const char *room_id, int64_t before,
			int review_only, struct record *out)
{
	struct prev_scan s = { before, review_only, 0 };
	struct rec_query q;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_MEETING);
	q.room_id = room_id;
	q.order = ORDER_NEWEST;
	q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
	err = store_query(st, &q, prev_meeting, &s);
	if (err)
		return err;
	if (!s.found)
		return SC_ENOTFOUND;
	return store_record_get_id(st, s.found, out);
}

sc_err meeting_review_since(struct store *st, const struct record *m,
			    int64_t *since)
{
	struct record prev;
	sc_err err = meeting_previous(st, m->room_id, m->id, 1, &prev);

	if (err == SC_ENOTFOUND) {
		*since = m->created - REVIEW_WINDOW;
		return SC_OK;
	}
	if (err)
		return err;
	*since = prev.created;
	record_clear(&prev);
	return SC_OK;
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

static const char *const type_names[] = {
	[MEETING_PLAIN] = NULL,
	[MEETING_STRATEGY] = "strategy",
	[MEETING_REVIEW] = "review",
};

/* ---- carried items: what the previous meeting left open ---- */

struct carry {
	int64_t *ids;
	size_t n;
	int64_t end;   /* when the previous meeting ended */
	sc_err err;
};

/* Whether r was still open when a meeting ended at end: an open todo
 * or incident (or one closed only after the end), an undecided
 * proposal. */
static int open_at(const struct record *r, int64_t end)
{
	if (r->withdrawn)
		return 0;
	switch (r->kind) {
	case REC_TODO:
	case REC_INCIDENT:
		return !strcmp(r->status, "open") || r->closed > end;
	case REC_DECISION:
		return !strcmp(r->status, "proposed");
	default:
		return 0;
	}
}

static sc_err carry_add(struct carry *cr, const struct record *r)
{
	int64_t *v;

	if (!open_at(r, cr->end))
		return SC_OK;
	for (size_t i = 0; i < cr->n; i++)
		if (cr->ids[i] == r->id)
			return SC_OK;
	v = realloc(cr->ids, (cr->n + 1) * sizeof(*v));
	if (!v)
		return SC_ENOMEM;
	v[cr->n++] = r->id;
	cr->ids = v;
	return SC_OK;
}

static int carry_made(const struct record *r, void *ctx)
{
	struct carry *cr = ctx;

	cr->err = carry_add(cr, r);
	return cr->err != SC_OK;
}

/* The short ids the previous meeting carried itself, copied (its notes
 * are read first, the records after). */
struct carried_ids {
	char **v;
	size_t n;
	sc_err err;
};

static int carried_note(const struct note *n, void *ctx)
{
	struct carried_ids *ci = ctx;
	char **v;

	if (n->withdrawn || strcmp(n->kind, "carry"))
		return 0;
	v = realloc(ci->v, (ci->n + 1) * sizeof(*v));
	if (!v || !(v[ci->n] = strdup(n->text))) {
		if (v)
			ci->v = v;
		ci->err = SC_ENOMEM;
		return 1;
	}
	ci->v = v;
	ci->n++;
	return 0;
}

/* What prev left open: the items carried into it and the items made in
 * it that were open when it ended, in that order, each once. */
static sc_err carry_collect(struct cmd_ctx *c, const struct record *prev,
			    struct carry *cr)
{
	struct carried_ids ci = { NULL, 0, SC_OK };
	struct rec_query q;
	sc_err err;

	cr->end = prev->closed ? prev->closed : c->now;
	err = store_notes(c->st, prev->id, carried_note, &ci);
	if (!err)
		err = ci.err;
	for (size_t i = 0; i < ci.n && !err; i++) {
		enum rec_kind k;
		int64_t num;
		struct record r;

		if (rec_id_parse(ci.v[i], &k, &num))
			continue;
		err = store_record_get(c->st, k, num, &r);
		if (err == SC_ENOTFOUND) {
			err = SC_OK;
			continue;
		}
		if (!err && !strcmp(r.room_id, c->room_id))
			err = carry_add(cr, &r);
		record_clear(&r);
	}
	for (size_t i = 0; i < ci.n; i++)
		free(ci.v[i]);
	free(ci.v);
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_TODO) | REC_BIT(REC_DECISION) | REC_BIT(REC_INCIDENT);
	q.meeting = prev->id;
	q.order = ORDER_OLDEST;
	q.skip = SKIP_ALL;
	if (!err)
		err = store_query(c->st, &q, carry_made, cr);
	if (!err)
		err = cr->err;
	return err;
}

/* Keep the carried items with meeting m and list them in the reply
 * under "Open from M3". */
static sc_err carry_over(struct cmd_ctx *c, const struct record *prev,
			 const struct record *m)
{
	struct carry cr;
	struct report rp;
	struct reply_list l;
	char pid[24], title[48];
	sc_err err;

	memset(&cr, 0, sizeof(cr));
	err = carry_collect(c, prev, &cr);
	if (err || !cr.n)
		goto out;
	record_short_id(prev, pid, sizeof(pid));
	snprintf(title, sizeof(title), "Open from %s", pid);
	report_init(&rp, c->out);
	rp.more = "(scribe export --format minutes has them all)";
	reply_list_open(&l, c->out, CARRY_SHOWN);
	for (size_t i = 0; i < cr.n && !err; i++) {
		struct record r;
		char id[24];

		err = store_record_get_id(c->st, cr.ids[i], &r);
		if (err)
			break;
		record_short_id(&r, id, sizeof(id));
		err = store_note_add(c->st, m->id, c->now, c->sender, "carry", id);
		if (!err && reply_list_begin(&l)) {
			int list = rp.list, item = rp.item;

			if (!l.shown)
				err = report_section(&rp, title);
			if (!err)
				err = report_item(&rp);
			if (!err)
				err = render_carried(c, &r);
			if (err == SC_ETOOBIG)
				err = SC_OK;
			if (!err && !reply_list_end(&l)) {
				rp.list = list;
				rp.item = item;
			}
		}
		record_clear(&r);
	}
	reply_list_close(&l);
	if (!err && cr.n > (size_t)l.shown) {
		if (!l.shown)
			err = report_section(&rp, title);
		if (!err)
			err = report_item(&rp);
		if (!err)
			err = reply_textf(c->out, "… and %zu more %s",
					  cr.n - (size_t)l.shown, rp.more);
	}
	err = report_done(&rp, err);
	report_clear(&rp);
out:
	free(cr.ids);
	return err;
}

/* ---- a review meeting's numbers ---- */

/* Record the Metrics Review of the window [since, now] as the metric
 * notes of the meeting: computed as !review computes them, kept as they
 * were when the meeting reviewed them. */
static sc_err review_metrics(struct cmd_ctx *c, int64_t meeting, int64_t since)
{
	struct reply scratch;
	struct report rp;
	char *p, *line;
	sc_err err;

	reply_init(&scratch);
	report_init(&rp, &scratch);
	err = report_done(&rp, review_metrics_section(c, &rp, since));
	report_clear(&rp);
	/* its items are the "- " lines of the plain body */
	for (p = scratch.body.buf; !err && p && *p; p = line) {
		line = strchr(p, '\n');
		if (line)
			*line++ = '\0';
		if (!strncmp(p, "- ", 2) && p[2])
			err = store_note_add(c->st, meeting, c->now, c->sender,
					     "metric", p + 2);
	}
	reply_clear(&scratch);
	return err;
}

/* ---- start, status, end ---- */

static sc_err refuse_running(struct cmd_ctx *c)
{
	struct record r;
	struct sbuf sb;
	char id[24];
	char *title;
	sc_err err = store_record_get_id(c->st, c->meeting, &r);

	if (err)
		return err;
	sbuf_init(&sb, 256);
	err = when_format_short(r.created, c->now, c->tz, &sb);
	record_short_id(&r, id, sizeof(id));
	title = text_snip(r.text, REPLY_LINE_CHARS);
	if (!err && !title)
		err = SC_ENOMEM;
	if (!err)
		err = cmd_fail(c, SC_ESTATE,
			       "%s (%s) is running here since %s; %smeeting end first",
			       id, title, sb.buf, c->cfg->prefix);
	free(title);
	sbuf_release(&sb);
	record_clear(&r);
	return err;
}

/* The hint after "Meeting M1 started: …": how to feed its template. */
static sc_err start_hint(struct cmd_ctx *c, enum meeting_type type)
{
	const char *p = c->cfg->prefix;

	switch (type) {
	case MEETING_STRATEGY:
		return reply_textf(c->out,
				   "Template A: #objective …, #requirement …, "
				   "#strategy Infrastructure: …, #agreed … because …, "
				   "#action @who what by fri; %smeeting end for the record.", p);
	case MEETING_REVIEW:
		return reply_textf(c->out,
				   "Template B: #topic for each discussion point, "
				   "#action @who what, #agreed …; %smeeting end for the record.", p);
	default:
		return reply_textf(c->out,
				   "Tag lines with #todo, #decision or #info (\"#todo elon: pick a tracker\"); "
				   "%stopic for each topic; %smeeting end for the minutes.", p, p);
	}
}

sc_err meeting_start(struct cmd_ctx *c, const char *const *words, int n)
{
	static const char *const defaults[] = {
		[MEETING_PLAIN] = "Meeting ",
		[MEETING_STRATEGY] = "Strategy meeting ",
		[MEETING_REVIEW] = "Operational Review ",
	};
	enum meeting_type type = MEETING_PLAIN;
	struct record r, prev;
	struct sbuf sb;
	int from = 0, have_prev = 0;
	int64_t since = 0;
	sc_err err;

	if (c->meeting)
		return refuse_running(c);
	memset(&r, 0, sizeof(r));
	memset(&prev, 0, sizeof(prev));
	sbuf_init(&sb, CMD_LINE_MAX);
	if (n > 0 && !strcasecmp(words[0], "strategy")) {
		type = MEETING_STRATEGY;
		from = 1;
	} else if (n > 0 && !strcasecmp(words[0], "review")) {
		type = MEETING_REVIEW;
		from = 1;
	}
	err = SC_OK;
	for (int i = from; i < n && !err; i++)
		err = sbuf_printf(&sb, "%s%s", i > from ? " " : "", words[i]);
	if (!err && !sb.len) {
		err = sbuf_puts(&sb, defaults[type]);
		if (!err)
			err = when_format_date(c->now, c->tz, &sb);
	}
	if (err)
		goto out;
	r.text = sbuf_detach(&sb, NULL);
	/* the room's previous meeting, before this one exists */
	err = meeting_previous(c->st, c->room_id, 0, 0, &prev);
	if (err == SC_ENOTFOUND)
		err = SC_OK;
	else if (!err)
		have_prev = 1;
	if (!err && type == MEETING_REVIEW) {
		struct record rv;

		err = meeting_previous(c->st, c->room_id, 0, 1, &rv);
		since = c->now - REVIEW_WINDOW;
		if (err == SC_ENOTFOUND) {
			err = SC_OK;
		} else if (!err) {
			since = rv.created;
			record_clear(&rv);
		}
	}
	r.kind = REC_MEETING;
	if (!err)
		err = record_set(&r.status, "running");
	if (!err && type_names[type])
		err = record_add_tag(&r, type_names[type]);
	if (!err)
		err = add_record(c, &r);
	if (!err)
		err = room_set_meeting(c, r.id);
	/* the starter's line: the meeting did not run when it came in */
	if (!err)
		err = store_attendee_line(c->st, r.id, c->sender, c->now);
	if (!err && type == MEETING_REVIEW)
		err = review_metrics(c, r.id, since);
	if (err)
		goto out;
	c->meeting = r.id;
	c->out->record = r.id;
	err = reply_text(c->out, type == MEETING_STRATEGY ? "Strategy meeting " :
			 type == MEETING_REVIEW ? "Review meeting " : "Meeting ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, " started: ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err && have_prev)
		err = carry_over(c, &prev, &r);
	if (!err && type == MEETING_REVIEW) {
		struct report rp;

		report_init(&rp, c->out);
		err = report_done(&rp, minutes_review_head(c, &r, &rp));
		report_clear(&rp);
	}
	if (!err)
		err = reply_nl(c->out);
	if (!err)
		err = start_hint(c, type);
out:
	sbuf_release(&sb);
	record_clear(&r);
	record_clear(&prev);
	return err;
}

/* !meeting alone: what is running, since when, who chairs it. */
static sc_err meeting_status(struct cmd_ctx *c)
{
	struct record m;
	struct userlist ch;
	struct rec_query q;
	int64_t n = 0;
	enum meeting_type type;
	sc_err err;

	if (!c->meeting)
		return reply_textf(c->out,
				   "No meeting is running here. Start one with %smeeting start [title].",
				   c->cfg->prefix);
	err = store_record_get_id(c->st, c->meeting, &m);
	if (err)
		return err;
	type = meeting_type_of(&m);
	err = meeting_chairs(c->st, &m, &ch);
	if (err) {
		record_clear(&m);
		return err;
	}
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
	if (!err && type_names[type])
		err = reply_textf(c->out, " (%s)", type_names[type]);
	if (!err)
		err = reply_text(c->out, " is running since ");
	if (!err)
		err = reply_when(c, c->out, m.created);
	if (!err)
		err = reply_text(c->out, ", chaired by ");
	for (size_t i = 0; i < ch.n && i < LINE_PEOPLE_MAX && !err; i++) {
		if (i)
			err = reply_text(c->out, ", ");
		if (!err)
			err = reply_short_user(c->out, ch.ids[i]);
	}
	if (!err && ch.n > LINE_PEOPLE_MAX)
		err = reply_textf(c->out, " +%zu", ch.n - LINE_PEOPLE_MAX);
	if (!err)
		err = reply_textf(c->out, " (%lld item%s recorded); %smeeting end for the minutes.",
				  (long long)n, n == 1 ? "" : "s", c->cfg->prefix);
	userlist_clear(&ch);
	record_clear(&m);
	return err;
}

/* Close the running meeting at `at` by c->sender, the room keeping no
 * meeting; *m gets the record as closed. */
static sc_err meeting_close(struct cmd_ctx *c, int64_t at, struct record *m)
{
	sc_err err = store_record_get_id(c->st, c->meeting, m);

	if (err)
		return err;
	err = record_set(&m->status, "ended");
	m->closed = at;
	if (!err)
		err = store_record_update(c->st, m, c->sender, c->now, c->event_id);
	if (!err)
		err = room_set_meeting(c, 0);
	if (err)
		record_clear(m);
	return err;
}

/* The minutes of m as the reply, in one report. */
static sc_err reply_minutes(struct cmd_ctx *c, const struct record *m)
{
	struct report rp;
	sc_err err;

	report_init(&rp, c->out);
	rp.more = "(scribe export --format minutes has them all)";
	err = report_done(&rp, meeting_minutes(c, m, &rp));
	report_clear(&rp);
	return err;
}

sc_err meeting_end(struct cmd_ctx *c)
{
	struct record m;
	sc_err err;

	if (!c->meeting)
		return cmd_fail(c, SC_ESTATE,
				"no meeting is running here (start one with %smeeting start [title])",
				c->cfg->prefix);
	err = meeting_need_chair(c, "end the meeting");
	if (err)
		return err;
	err = meeting_close(c, c->now, &m);
	if (err)
		return err;
	c->out->record = m.id;
	err = reply_minutes(c, &m);
	record_clear(&m);
	return err;
}

sc_err meeting_autoend(struct cmd_ctx *c, int64_t max_duration, int *ended)
{
	struct record m;
	struct sbuf d;
	int64_t deadline;
	sc_err err;

	*ended = 0;
	if (!c->meeting)
		return SC_OK;
	err = store_record_get_id(c->st, c->meeting, &m);
	if (err)
		return err;
	deadline = m.created + max_duration;
	if (strcmp(m.status, "running") || c->now < deadline) {
		record_clear(&m);
		return SC_OK;
	}
	record_clear(&m);
	/* it ended when it ran out of time, however late scribe noticed */
	err = meeting_close(c, deadline, &m);
	if (err)
		return err;
	c->out->record = m.id;
	sbuf_init(&d, 64);
	err = when_format_duration(max_duration, &d);
	if (!err)
		err = reply_id(c->out, &m);
	if (!err)
		err = reply_textf(c->out, " ran for %s, the longest a meeting runs here "
				  "([meeting] max_duration), and was ended by scribe.", d.buf);
	if (!err)
		err = reply_nl(c->out);
	if (!err)
		err = reply_minutes(c, &m);
	if (!err)
		*ended = 1;
	sbuf_release(&d);
	record_clear(&m);
	return err;
}

/* ---- notes ---- */

sc_err meeting_note(struct cmd_ctx *c, const char *kind, const char *text)
{
	static const struct {
		const char *kind, *says;
	} says[] = {
		{ "topic", "Topic: " },	    { "info", "Noted: " },
		{ "idea", "Idea: " },	    { "link", "Link: " },
		{ "help", "Call for help: " }, { "objective", "Objective: " },
		{ "requirement", "Requirement: " }, { "strategy", "Strategy: " },
	};
	const char *prefix = "Noted: ";
	sc_err err;

	for (size_t i = 0; i < sizeof(says) / sizeof(says[0]); i++)
		if (!strcmp(says[i].kind, kind))
			prefix = says[i].says;
	err = store_note_add(c->st, c->meeting, c->now, c->sender, kind, text);
	if (!err)
		err = reply_text(c->out, prefix);
	if (!err)
		err = reply_snip(c->out, text, REPLY_ECHO_CHARS);
	return err;
}

/* !topic / !info: text is the rest of the line. */
static sc_err cmd_note(struct cmd_ctx *c, const struct args *a, const char *kind)
{
	char *text;
	sc_err err = need_meeting(c, kind);

	if (!err && !strcmp(kind, "topic"))
		err = meeting_need_chair(c, "change the topic");
	if (err)
		return err;
	text = args_join(a, 1, a->argc);
	if (!text)
		return SC_ENOMEM;
	err = meeting_note(c, kind, text);
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

sc_err cmd_meeting(struct cmd_ctx *c, const struct args *a)
{
	if (a->argc == 1)
		return meeting_status(c);
	if (!strcasecmp(a->argv[1], "start")) {
		const char **w = calloc((size_t)a->argc, sizeof(*w));
		sc_err err;

		if (!w)
			return SC_ENOMEM;
		for (int i = 2; i < a->argc; i++)
			w[i - 2] = arg_raw(a, i);
		err = meeting_start(c, w, a->argc - 2);
		free(w);
		return err;
	}
	if (!strcasecmp(a->argv[1], "end") && a->argc == 2)
		return meeting_end(c);
	return cmd_usage(c, cmd_lookup("meeting"));
}

/* ---- chat lines that are no commands (cmd.h's cmd_line_hook) ---- */

/* During a meeting any line may be minutes (meeting_tags.c); when none
 * runs, only #startmeeting and #endmeeting are heard. */
static int wants_line(const struct cmd_ctx *c, const char *line)
{
	return c->meeting || meeting_tag_line(line);
}

const struct cmd_line_hook cmd_line_hook = { wants_line, meeting_line };
