/* SPDX-License-Identifier: MIT */
/*
 * incident.c - incidents and the operational review. !incident opens an
 * I-record with a severity (major unless said; its SLA gives the due
 * time, seed 003's critical = now, major <= 2 days, minor = within the
 * sprint), !resolved closes it and says how long recovery took, and
 * !review computes seed 002's Template B "Operational Review" from the
 * record: uptime (time without an open critical incident), deployment
 * frequency (changes tagged with a deploy tag: change_is_deploy), MTTR (mean of
 * resolved - opened over incidents resolved in the window), the
 * incidents, the decisions and meetings, and the action items that are
 * critical or overdue.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "when.h"
#include "banned.h"

/* Most items per section of a review. */
#define REVIEW_MAX 20
/* Most lines !incident lists: what a phone shows without scrolling. */
#define INCIDENTS_MAX 15
#define WEEK (7 * 86400)

/* Append a duration ("2h 5m"). */
static sc_err reply_duration(struct reply *r, int64_t secs)
{
	struct sbuf sb;
	sc_err err;

	sbuf_init(&sb, 64);
	err = when_format_duration(secs, &sb);
	if (!err)
		err = reply_text(r, sb.buf);
	sbuf_release(&sb);
	return err;
}

sc_err cmd_incident(struct cmd_ctx *c, const struct args *a)
{
	struct item it;
	struct record r;
	sc_err err;

	if (a->argc == 1) {
		struct rec_query q;
		struct sbuf more;
		memset(&q, 0, sizeof(q));
		q.kinds = REC_BIT(REC_INCIDENT);
		q.room_id = c->room_id;
		q.open_only = 1;
		q.order = ORDER_DUE;
		sbuf_init(&more, 128);
		err = sbuf_printf(&more, "(use %ssearch / scribe export)", c->cfg->prefix);
		if (!err)
			err = render_query(c, &q, 0, "No open incidents here.",
					   INCIDENTS_MAX, more.buf);
		sbuf_release(&more);
		return err;
	}
	/* "!incident critical" names no incident: a severity alone is
	 * no text */
	if (a->argc == 2 && a->quoted[1] == ARG_PLAIN && is_severity(a->argv[1]))
		return cmd_usage(c, cmd_lookup("incident"));
	memset(&r, 0, sizeof(r));
	err = item_parse(c, a, 1, ITEM_SEVERITY | ITEM_TAGS, &it);
	if (err)
		return err;
	r.kind = REC_INCIDENT;
	err = record_set(&r.text, it.text);
	if (!err)
		err = record_set(&r.status, "open");
	if (!err)
		err = record_set(&r.severity, it.severity ? it.severity : "major");
	for (size_t i = 0; i < it.ntags && !err; i++)
		err = record_add_tag(&r, it.tags[i]);
	if (err)
		goto out;
	r.due = severity_due(c, r.severity);
	err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Opened ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_textf(c->out, " [%s] ", r.severity);
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err)
		err = reply_text(c->out, " (fix due ");
	if (!err)
		err = reply_when(c, c->out, r.due);
	if (!err)
		err = reply_text(c->out, "); ");
	if (!err)
		err = reply_textf(c->out, "%sresolved ", c->cfg->prefix);
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, " when it is over.");
out:
	record_clear(&r);
	item_clear(&it);
	return err;
}

sc_err cmd_resolved(struct cmd_ctx *c, const struct args *a)
{
	struct record r;
	sc_err err = find_record(c, a->argv[1], REC_INCIDENT, &r);

	if (err)
		return err;
	if (!strcmp(r.status, "resolved")) {
		err = cmd_fail(c, SC_ESTATE, "%s is already resolved", a->argv[1]);
		goto out;
	}
	err = record_set(&r.status, "resolved");
	r.closed = c->now;
	if (!err && a->argc > 2) {
		char *note = args_join(a, 2, a->argc);
		if (!note) {
			err = SC_ENOMEM;
			goto out;
		}
		err = record_set(&r.detail, note);
		free(note);
	}
	if (!err)
		err = store_record_update(c->st, &r, c->sender, c->now, c->event_id);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Resolved ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, " after ");
	if (!err)
		err = reply_duration(c->out, r.closed - r.created);
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err && r.detail)
		err = reply_text(c->out, " (");
	if (!err && r.detail)
		err = reply_snip(c->out, r.detail, REPLY_ECHO_CHARS);
	if (!err && r.detail)
		err = reply_text(c->out, ")");
out:
	record_clear(&r);
	return err;
}

/* ---- !review ---- */

/* One interval during which a critical incident was open. */
struct span {
	int64_t from, to;
};

/* What the review computes from the room's incidents and todos over
 * the window [since, now], now included: the review is asked for, so
 * what was recorded in its own second counts. */
struct stats {
	int64_t since, now;
	int64_t opened, resolved, still_open;
	int64_t ttr_sum;        /* sum of closed - created over resolved */
	struct span *down;      /* critical intervals, clipped to the window */
	size_t ndown;
	int64_t todo_new, todo_done, todo_open, todo_overdue;
	sc_err err;
};

static int incident_stat(const struct record *r, void *ctx)
{
	struct stats *s = ctx;
	int resolved = !strcmp(r->status, "resolved");
	int64_t end = resolved ? r->closed : s->now;

	if (r->created >= s->since && r->created <= s->now)
		s->opened++;
	if (resolved && r->closed >= s->since && r->closed <= s->now) {
		s->resolved++;
		s->ttr_sum += r->closed - r->created;
	}
	if (!resolved)
		s->still_open++;
	if (r->severity && !strcmp(r->severity, "critical") &&
	    end > s->since && r->created <= s->now) {
		struct span *n = realloc(s->down, (s->ndown + 1) * sizeof(*n));
		if (!n) {
			s->err = SC_ENOMEM;
			return 1;
		}
		s->down = n;
		n[s->ndown].from = r->created > s->since ? r->created : s->since;
		n[s->ndown].to = end < s->now ? end : s->now;
		s->ndown++;
	}
	return 0;
}

static int todo_stat(const struct record *r, void *ctx)
{
	struct stats *s = ctx;

	if (r->created >= s->since)
		s->todo_new++;
	if (!strcmp(r->status, "done") && r->closed >= s->since)
		s->todo_done++;
	return 0;
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* Seconds of the window covered by at least one critical incident. */
static int64_t downtime(struct stats *s)
{
	int64_t total = 0, from = 0, to = 0;

	if (!s->ndown)
		return 0;
	qsort(s->down, s->ndown, sizeof(*s->down), cmp_span);
	for (size_t i = 0; i < s->ndown; i++) {
		if (i && s->down[i].from <= to) {
			if (s->down[i].to > to)
				to = s->down[i].to;
			continue;
		}
		total += to - from;
		from = s->down[i].from;
		to = s->down[i].to;
	}
	return total + (to - from);
}

static sc_err review_stats(struct cmd_ctx *c, struct stats *s)
{
	struct rec_query q;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_INCIDENT);
	q.room_id = c->room_id;
	err = store_query(c->st, &q, incident_stat, s);
	if (!err)
		err = s->err;
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_TODO);
	q.room_id = c->room_id;
	q.changed_since = s->since;
	if (!err)
		err = store_query(c->st, &q, todo_stat, s);
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_TODO);
	q.room_id = c->room_id;
	q.open_only = 1;
	if (!err)
		err = store_count(c->st, &q, &s->todo_open);
	q.overdue_at = c->now;
	if (!err)
		err = store_count(c->st, &q, &s->todo_overdue);
	return err;
}

static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Count the deploys among the changes (change_is_deploy). */
struct deploys {
	const struct config *cfg;
	int64_t n;
};

static int count_deploy(const struct record *r, void *ctx)
{
	struct deploys *d = ctx;

	d->n += change_is_deploy(d->cfg, r);
	return 0;
}

/* The Metrics Review section. */
static sc_err review_metrics(struct cmd_ctx *c, struct report *rp, struct stats *s)
{
	struct rec_query q;
	char **tags = c->cfg->deploy_tags;
	struct deploys dep = { c->cfg, 0 };
	int64_t window = s->now - s->since, down, deploys, changes = 0;
	int64_t accepted = 0, superseded = 0;
	struct reply *r = rp->r;
	struct sbuf which;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_CHANGE);
	q.room_id = c->room_id;
	q.since = s->since;
	q.until = s->now + 1;
	q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
	err = store_count(c->st, &q, &changes);
	/* a deploy is a change tagged with one of the deploy tags */
	if (!err && tags && tags[0])
		err = store_query(c->st, &q, count_deploy, &dep);
	deploys = dep.n;
	q.skip = 0;
	q.kinds = REC_BIT(REC_DECISION);
	q.status = "accepted";
	if (!err)
		err = store_count(c->st, &q, &accepted);
	q.status = "superseded";
	if (!err)
		err = store_count(c->st, &q, &superseded);
	if (!err)
		err = report_section(rp, "1. Metrics Review");
	/* Uptime */
	down = downtime(s);
	if (!err)
		err = report_item(rp);
	if (!err && !down) {
		err = reply_text(r, "Uptime: 100% (no critical incident open)");
	} else if (!err) {
		err = reply_textf(r, "Uptime: %.2f%% (a critical incident was open for ",
				  100.0 * (double)(window - down) / (double)window);
		if (!err)
			err = reply_duration(r, down);
		if (!err)
			err = reply_text(r, " of ");
		if (!err)
			err = reply_duration(r, window);
		if (!err)
			err = reply_text(r, ")");
	}
	/* Deployment frequency */
	if (!err)
		err = report_item(rp);
	sbuf_init(&which, 128);
	for (size_t i = 0; tags && tags[i] && !err; i++)
		err = sbuf_printf(&which, "%s#%s", !i ? "" : tags[i + 1] ? ", " : " or ",
				  tags[i]);
	if (!err && !which.len)
		err = reply_text(r, "Deployment frequency: not measured (no deploy tags configured)");
	else if (!err)
		err = reply_textf(r, "Deployment frequency: %.1f/week (%lld %s tagged %s)",
				  (double)deploys * WEEK / (double)window,
				  (long long)deploys, plural(deploys, "change", "changes"),
				  which.buf);
	sbuf_release(&which);
	/* MTTR */
	if (!err)
		err = report_item(rp);
	if (!err && !s->resolved) {
		err = reply_text(r, "Mean Time to Recovery (MTTR): none resolved");
	} else if (!err) {
		err = reply_text(r, "Mean Time to Recovery (MTTR): ");
		if (!err)
			err = reply_duration(r, s->ttr_sum / s->resolved);
		if (!err)
			err = reply_textf(r, " (%lld %s resolved)", (long long)s->resolved,
					  plural(s->resolved, "incident", "incidents"));
	}
	if (!err)
		err = report_item(rp);
	if (!err)
		err = reply_textf(r, "Incidents: %lld opened, %lld resolved, %lld still open",
				  (long long)s->opened, (long long)s->resolved,
				  (long long)s->still_open);
	if (!err)
		err = report_item(rp);
	if (!err)
		err = reply_textf(r, "Changes logged: %lld; decisions made: %lld",
				  (long long)changes, (long long)(accepted + superseded));
	if (!err)
		err = report_item(rp);
	if (!err)
		err = reply_textf(r, "Action items: %lld new, %lld done, %lld open (%lld overdue)",
				  (long long)s->todo_new, (long long)s->todo_done,
				  (long long)s->todo_open, (long long)s->todo_overdue);
	return err;
}

/* Filters of the review's lists; arg is the struct stats. */
static int in_window(const struct record *r, void *arg)
{
	const struct stats *s = arg;
	return (r->created >= s->since && r->created <= s->now) ||
	       (r->closed >= s->since && r->closed <= s->now) ||
	       (r->kind == REC_INCIDENT && !strcmp(r->status, "open"));
}

static int urgent(const struct record *r, void *arg)
{
	const struct stats *s = arg;
	return (r->severity && !strcmp(r->severity, "critical")) ||
	       (r->due && r->due < s->now);
}

/* A section with a single "none" item. */
static sc_err none_item(struct report *rp, const char *title, const char *text)
{
	sc_err err = report_section(rp, title);

	if (!err)
		err = report_item(rp);
	if (!err)
		err = reply_text(rp->r, text);
	return err;
}

static sc_err review(struct cmd_ctx *c, struct report *rp, struct stats *s)
{
	struct rec_query q;
	struct sbuf sb;
	int64_t n = 0;
	sc_err err;

	sbuf_init(&sb, 256);
	err = when_format(s->now, c->tz, "Operational Review: %a %-d %b %Y", &sb);
	if (!err)
		err = reply_bold(rp->r, sb.buf);
	if (!err)
		err = reply_nl(rp->r);
	if (!err)
		err = reply_text(rp->r, "Since ");
	if (!err)
		err = reply_when(c, rp->r, s->since);
	if (!err)
		err = reply_text(rp->r, " (");
	if (!err)
		err = reply_duration(rp->r, s->now - s->since);
	if (!err)
		err = reply_text(rp->r, ")");
	if (!err)
		err = review_stats(c, s);
	if (!err)
		err = review_metrics(c, rp, s);
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.kinds = REC_BIT(REC_INCIDENT);
	q.order = ORDER_OLDEST;
	if (!err)
		err = report_records(rp, c, "2. Incident Summary", &q, in_window, s,
				     NULL, REVIEW_MAX, &n);
	if (!err && !n)
		err = none_item(rp, "2. Incident Summary", "no incidents");
	/* items that missed their SLA in the window (remind.h) */
	if (!err)
		err = report_breaches(rp, c, s->since, s->now + 1);
	q.kinds = REC_BIT(REC_DECISION) | REC_BIT(REC_MEETING);
	q.since = s->since;
	q.until = s->now + 1;
	if (!err)
		err = report_records(rp, c, "3. Discussion Points", &q, NULL, NULL,
				     NULL, REVIEW_MAX, &n);
	if (!err && !n)
		err = none_item(rp, "3. Discussion Points",
				"no decisions or meetings recorded");
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.kinds = REC_BIT(REC_TODO);
	q.open_only = 1;
	q.order = ORDER_DUE;
	if (!err)
		err = report_records(rp, c, "4. Action Items", &q, urgent, s,
				     render_action_item, REVIEW_MAX, &n);
	if (!err && !n)
		err = none_item(rp, "4. Action Items", "nothing critical or overdue");
	if (!err && s->todo_open > n) {
		err = report_item(rp);
		if (!err)
			err = reply_textf(rp->r, "%lld more open: %stodos",
					  (long long)(s->todo_open - n), c->cfg->prefix);
	}
	sbuf_release(&sb);
	return err;
}

sc_err cmd_review(struct cmd_ctx *c, const struct args *a)
{
	struct stats s;
	struct report rp;
	struct sbuf more;
	sc_err err;

	memset(&s, 0, sizeof(s));
	s.now = c->now;
	s.since = c->now - WEEK;
	if (a->argc > 1) {
		const char *w = a->argv[1];
		if (!strncasecmp(w, "since:", 6))
			w += 6;
		if (when_parse_since(w, c->now, c->tz, &s.since) != SC_OK || s.since >= c->now)
			return cmd_fail(c, SC_EINVAL,
					"cannot read '%s' (try since:30d or since:2026-11-01)",
					a->argv[1]);
	}
	sbuf_init(&more, 128);
	err = sbuf_printf(&more, "(use %ssearch / scribe export)", c->cfg->prefix);
	if (err)
		return err;
	report_init(&rp, c->out);
	rp.more = more.buf;
	err = report_done(&rp, review(c, &rp, &s));
	report_clear(&rp);
	sbuf_release(&more);
	free(s.down);
	return err;
}

sc_err review_metrics_section(struct cmd_ctx *c, struct report *rp, int64_t since)
{
	struct stats s;
	sc_err err;

	memset(&s, 0, sizeof(s));
	s.now = c->now;
	s.since = since < c->now ? since : c->now - 1;
	err = review_stats(c, &s);
	if (!err)
		err = review_metrics(c, rp, &s);
	free(s.down);
	return err;
}
