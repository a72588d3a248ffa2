/* SPDX-License-Identifier: MIT */
/*
 * remind.c - !remind, !reminders, !ack, !escalate and !hours: free and
 * recurring reminders (R records), the room's lead time for due items,
 * acknowledging an escalation, the room's escalation contacts and its
 * ops hours. The firing itself is src/remind.c's; these commands only
 * write records and settings, whose schedule the store keeps.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "remind.h"
#include "store_remind.h"
#include "when.h"
#include "banned.h"

/* Most reminders !reminders lists. */
#define REMINDERS_MAX 20
/* Most people one reminder is for. */
#define REMIND_PEOPLE_MAX 10

/* Append t in zone tz, relative to now ("tomorrow 09:00"). */
static sc_err say_at(struct cmd_ctx *c, int64_t t, const char *tz)
{
	struct sbuf sb;
	sc_err err;

	sbuf_init(&sb, 128);
	err = when_format_short(t, c->now, tz, &sb);
	if (!err)
		err = reply_text(c->out, sb.buf);
	sbuf_release(&sb);
	return err;
}

static sc_err say_duration(struct cmd_ctx *c, int64_t secs)
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

/* The privileged sub-forms of the commands here. */
static sc_err need_power(struct cmd_ctx *c, const char *what)
{
	if (cmd_privileged(c))
		return SC_OK;
	return cmd_fail(c, SC_EPERM, "%s%s needs power level %d in this room (you have %d)",
			c->cfg->prefix, what, c->cfg->privileged_power, c->power);
}

/* ---- !remind WHO WHEN text ---- */

/* The people a reminder is for, from argv[1]: "me", "here" (nobody: the
 * room) or one or more @names. *i moves past them. */
static sc_err remind_who(struct cmd_ctx *c, const struct args *a, int *i,
			 struct record *r)
{
	sc_err err = SC_OK;

	if (!strcasecmp(a->argv[*i], "here") || !strcasecmp(a->argv[*i], "room")) {
		(*i)++;
		return SC_OK;
	}
	if (!strcasecmp(a->argv[*i], "me")) {
		(*i)++;
		return record_add_assignee(r, c->sender);
	}
	if (a->argv[*i][0] != '@')
		return cmd_fail(c, SC_EINVAL,
				"whom should I remind? Start with me, here or "
				"@someone: %sremind me in 2h check the backups",
				c->cfg->prefix);
	while (*i < a->argc && a->argv[*i][0] == '@' && !err) {
		char *id = NULL;

		if (r->nassignees >= REMIND_PEOPLE_MAX)
			return cmd_fail(c, SC_EINVAL,
					"a reminder is for at most %d people",
					REMIND_PEOPLE_MAX);
		err = take_person(c, a, i, a->argc, &id);
		if (!err)
			err = record_add_assignee(r, id);
		free(id);
	}
	return err;
}

/* "tomorrow 09:00" or "Mon 30 Nov 09:00 (America/Toronto)". */
static sc_err say_first(struct cmd_ctx *c, int64_t t, const char *tz)
{
	sc_err err = say_at(c, t, tz);

	if (!err && strcmp(tz, c->tz))
		err = reply_textf(c->out, " (%s)", tz);
	return err;
}

/* Append "you", "this room" or the people of r. */
static sc_err say_whom(struct cmd_ctx *c, const struct record *r)
{
	sc_err err = SC_OK;

	if (!r->nassignees)
		return reply_text(c->out, "this room");
	if (r->nassignees == 1 && !strcmp(r->assignees[0], c->sender))
		return reply_text(c->out, "you");
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		if (i)
			err = reply_text(c->out, i + 1 == r->nassignees ? " and " : ", ");
		if (!err)
			err = reply_user(c->out, r->assignees[i]);
	}
	return err;
}

static sc_err remind_set(struct cmd_ctx *c, const struct args *a)
{
	const char *tz = cmd_input_tz(c);
	struct record r;
	struct sbuf rule;
	int i = 1, used = 0, minute = 0;
	unsigned days = 0;
	int64_t at = 0;
	char *text = NULL;
	sc_err err;

	memset(&r, 0, sizeof(r));
	sbuf_init(&rule, 256);
	err = remind_who(c, a, &i, &r);
	if (err)
		goto out;
	if (i >= a->argc) {
		err = cmd_usage(c, cmd_lookup("remind"));
		goto out;
	}
	if (!strcasecmp(a->argv[i], "every")) {
		if (when_parse_every(a->argv + i, a->argc - i, &days, &minute,
				     &used) != SC_OK) {
			err = cmd_fail(c, SC_EINVAL,
				       "cannot read '%s %s' as a schedule (try every "
				       "mon 09:00, every weekday 17:30 or every day "
				       "8:00)", a->argv[i],
				       i + 1 < a->argc ? a->argv[i + 1] : "");
			goto out;
		}
		err = remind_rule_format(days, minute, tz, &rule);
		if (!err)
			err = when_next_slot(c->now, tz, minute, days, &at);
		if (err)
			goto out;
	} else if (when_parse_at(a->argv + i, a->argc - i, c->now, tz, &at,
				 &used) != SC_OK) {
		err = cmd_fail(c, SC_EINVAL,
			       "cannot read '%s' as a time (try in 2h, tomorrow 9:00, "
			       "fri 17:00, 2026-12-24 09:00 or every mon 09:00)",
			       a->argv[i]);
		goto out;
	} else if (at <= c->now) {
		err = cmd_fail(c, SC_EINVAL, "'%s' has passed already; give a time "
			       "ahead (tomorrow 9:00, in 2h)", a->argv[i]);
		goto out;
	}
	i += used;
	/* "remind me tomorrow to call Bob": the "to" is no part of it */
	if (i < a->argc && a->quoted[i] == ARG_PLAIN &&
	    (!strcasecmp(a->argv[i], "to") || !strcasecmp(a->argv[i], "that")) &&
	    i + 1 < a->argc)
		i++;
	if (i >= a->argc) {
		err = cmd_fail(c, SC_EINVAL, "what should I say then? %sremind me "
			       "tomorrow 9:00 call the vendor", c->cfg->prefix);
		goto out;
	}
	text = args_join(a, i, a->argc);
	if (!text) {
		err = SC_ENOMEM;
		goto out;
	}
	r.kind = REC_REMINDER;
	err = record_set(&r.text, text);
	if (!err)
		err = record_set(&r.status, "pending");
	if (!err && rule.len)
		err = record_set(&r.detail, rule.buf);
	r.due = at;
	if (!err)
		err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "I will remind ");
	if (!err)
		err = say_whom(c, &r);
	if (!err && rule.len) {
		struct sbuf d;

		sbuf_init(&d, 64);
		err = when_format_days(days, &d);
		if (!err)
			err = reply_textf(c->out, " every %s at %02d:%02d", d.buf,
					  minute / 60, minute % 60);
		if (!err && strcmp(tz, c->tz))
			err = reply_textf(c->out, " %s", tz);
		if (!err)
			err = reply_text(c->out, ", first ");
		sbuf_release(&d);
	} else if (!err) {
		err = reply_text(c->out, " ");
	}
	if (!err)
		err = say_first(c, at, tz);
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err)
		err = reply_text(c->out, " (");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_textf(c->out, "; %sremind cancel ", c->cfg->prefix);
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, " takes it back).");
out:
	free(text);
	sbuf_release(&rule);
	record_clear(&r);
	return err;
}

/* !remind cancel R3 [R4 ...] */
static sc_err remind_cancel(struct cmd_ctx *c, const struct args *a)
{
	sc_err err = SC_OK;

	if (a->argc < 3)
		return cmd_usage(c, cmd_lookup("remind"));
	for (int i = 2; i < a->argc && !err; i++) {
		struct record r;
		int mine;

		err = find_record(c, a->argv[i], REC_REMINDER, &r);
		if (err)
			return err;
		mine = !strcmp(r.author, c->sender);
		for (size_t k = 0; k < r.nassignees; k++)
			mine |= !strcmp(r.assignees[k], c->sender);
		if (strcmp(r.status, "pending")) {
			err = cmd_fail(c, SC_ESTATE, "%s is %s already", a->argv[i],
				       r.status);
		} else if (!mine && !cmd_privileged(c)) {
			err = cmd_fail(c, SC_EPERM,
				       "%s is not yours to cancel: only who set it, "
				       "whom it is for, or someone with power level %d",
				       a->argv[i], c->cfg->privileged_power);
		} else {
			err = record_set(&r.status, "cancelled");
			r.closed = c->now;
			if (!err)
				err = store_record_update(c->st, &r, c->sender, c->now,
							  c->event_id);
			if (!err && c->out->body.len)
				err = reply_nl(c->out);
			if (!err)
				err = reply_text(c->out, "Cancelled ");
			if (!err)
				err = reply_id(c->out, &r);
			if (!err)
				err = reply_text(c->out, ": ");
			if (!err)
				err = reply_snip(c->out, r.text, REPLY_LINE_CHARS);
			if (!err && !c->out->record)
				c->out->record = r.id;
		}
		record_clear(&r);
	}
	return err;
}

/* The lead time in force: "1h before", "at the due time", "off". */
static sc_err say_lead(struct cmd_ctx *c, int64_t before)
{
	sc_err err;

	if (before < 0)
		return reply_text(c->out, "off");
	if (!before)
		return reply_text(c->out, "at the due time");
	err = say_duration(c, before);
	if (!err)
		err = reply_text(c->out, " before the due time");
	return err;
}

/* !remind before 30m | !remind off | !remind on */
static sc_err remind_lead(struct cmd_ctx *c, const struct args *a)
{
	const char *w = a->argv[1];
	struct room_alerts al;
	int64_t before = 0;
	sc_err err;

	if (!strcasecmp(w, "before")) {
		if (a->argc != 3)
			return cmd_usage(c, cmd_lookup("remind"));
		if (strcmp(a->argv[2], "0") &&
		    (when_parse_duration(a->argv[2], &before) != SC_OK ||
		     before > 30 * 86400))
			return cmd_fail(c, SC_EINVAL,
					"cannot read '%s' as a lead time (try 30m, "
					"1h, 1d, or 0 for the due time)", a->argv[2]);
	} else if (a->argc != 2) {
		return cmd_usage(c, cmd_lookup("remind"));
	}
	err = need_power(c, !strcasecmp(w, "before") ? "remind before" :
			 !strcasecmp(w, "off") ? "remind off" : "remind on");
	if (err)
		return err;
	err = store_alerts_get(c->st, c->room_id, &al);
	if (err)
		return err;
	al.before = !strcasecmp(w, "off") ? ALERT_OFF :
		    !strcasecmp(w, "on") ? ALERT_DEFAULT : before;
	err = store_alerts_put(c->st, c->room_id, &al, c->now);
	room_alerts_clear(&al);
	if (err)
		return err;
	if (!strcasecmp(w, "off"))
		return reply_textf(c->out,
				   "No due-date pings here any more. SLA escalations "
				   "and %sremind reminders still go out; %sremind on "
				   "brings them back.", c->cfg->prefix, c->cfg->prefix);
	err = reply_text(c->out, "Due items ping their people ");
	if (!err)
		err = say_lead(c, !strcasecmp(w, "on") ? c->cfg->remind_before :
			       before);
	if (!err && !strcasecmp(w, "on"))
		err = reply_text(c->out, " (bot.conf's default)");
	if (!err)
		err = reply_text(c->out, "; items already waiting moved too.");
	return err;
}

sc_err cmd_remind(struct cmd_ctx *c, const struct args *a)
{
	const char *w = a->argv[1];

	if (!strcasecmp(w, "cancel"))
		return remind_cancel(c, a);
	if (!strcasecmp(w, "before") ||
	    ((!strcasecmp(w, "off") || !strcasecmp(w, "on")) && a->argc == 2))
		return remind_lead(c, a);
	return remind_set(c, a);
}

/* ---- !reminders ---- */

struct listing {
	struct cmd_ctx *c;
	const char *tz;   /* the times' zone */
	struct reply_list l;
	sc_err err;
};

static int reminder_line(const struct record *r, void *ctx)
{
	struct listing *ls = ctx;
	struct cmd_ctx *c = ls->c;
	unsigned days;
	int minute;
	char *tz = NULL;
	sc_err err;

	if (!reply_list_begin(&ls->l))
		return 1;
	err = c->out->body.len ? reply_nl(c->out) : SC_OK;
	if (!err)
		err = reply_id(c->out, r);
	if (!err)
		err = reply_text(c->out, " ");
	if (!err)
		err = say_at(c, r->due, ls->tz);
	if (!err && r->detail &&
	    remind_rule_parse(r->detail, &days, &minute, &tz) == SC_OK) {
		struct sbuf d;

		sbuf_init(&d, 64);
		err = when_format_days(days, &d);
		if (!err)
			err = reply_textf(c->out, " (every %s %02d:%02d%s%s)", d.buf,
					  minute / 60, minute % 60,
					  strcmp(tz, ls->tz) ? " " : "",
					  strcmp(tz, ls->tz) ? tz : "");
		sbuf_release(&d);
	}
	free(tz);
	if (!err)
		err = reply_text(c->out, " for ");
	if (!err)
		err = say_whom(c, r);
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r->text, REPLY_LINE_CHARS);
	if (!err && (r->nassignees != 1 || strcmp(r->assignees[0], r->author))) {
		err = reply_text(c->out, " — set by ");
		if (!err)
			err = reply_user(c->out, r->author);
	}
	ls->err = err;
	if (err == SC_OK)
		reply_list_end(&ls->l);
	return ls->err != SC_OK || ls->l.stopped;
}

/* The room's settings, one line each. */
static sc_err say_settings(struct cmd_ctx *c, const struct alert_settings *s)
{
	struct sbuf sb;
	sc_err err = reply_text(c->out, "Due items ping their people ");

	sbuf_init(&sb, 128);
	if (!err)
		err = say_lead(c, s->before);
	if (!err)
		err = reply_text(c->out, s->own_before ? "." : " (bot.conf).");
	if (!err && s->hours.set) {
		err = when_format_hours(s->hours.days, s->hours.start,
					s->hours.end, &sb);
		if (!err)
			err = reply_textf(c->out, " Ops hours %s (%s): outside "
					  "them only critical items ping.", sb.buf,
					  s->tz);
	}
	if (!err && s->ncontacts) {
		err = reply_text(c->out, " Escalations go to ");
		for (size_t i = 0; i < s->ncontacts && !err; i++) {
			if (i)
				err = reply_text(c->out, ", ");
			if (!err)
				err = reply_user(c->out, s->contacts[i]);
		}
		if (!err)
			err = reply_text(c->out, ".");
	}
	sbuf_release(&sb);
	return err;
}

sc_err cmd_reminders(struct cmd_ctx *c, const struct args *a)
{
	struct alert_settings s;
	struct listing ls;
	struct rec_query q;
	int64_t total = 0;
	sc_err err;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_REMINDER);
	q.room_id = c->room_id;
	q.status = "pending";
	q.order = ORDER_DUE;
	if (a->argc == 2) {
		if (!strcasecmp(a->argv[1], "mine") || !strcasecmp(a->argv[1], "me"))
			q.assignee = c->sender;
		else
			return cmd_usage(c, cmd_lookup("reminders"));
	}
	err = store_count(c->st, &q, &total);
	if (err)
		return err;
	memset(&ls, 0, sizeof(ls));
	ls.c = c;
	/* one's own list in one's own zone */
	ls.tz = q.assignee && c->user_tz ? c->user_tz : c->tz;
	if (total && strcmp(ls.tz, c->tz))
		err = reply_textf(c->out, "In %s:", ls.tz);
	if (!err && !total)
		err = reply_textf(c->out, "No reminders %s. %sremind me tomorrow "
				  "9:00 call the vendor sets one.",
				  q.assignee ? "for you here" : "here",
				  c->cfg->prefix);
	if (!err && total) {
		reply_list_open(&ls.l, c->out, REMINDERS_MAX);
		err = store_query(c->st, &q, reminder_line, &ls);
		if (!err)
			err = ls.err;
		reply_list_close(&ls.l);
		if (!err && total > ls.l.shown)
			err = reply_textf(c->out, "\n… and %lld more (scribe export "
					  "--kind reminder)",
					  (long long)(total - ls.l.shown));
	}
	if (err)
		return err;
	err = remind_settings(c->st, c->cfg, c->room_id, &s);
	if (err)
		return err;
	err = reply_nl(c->out);
	if (!err)
		err = say_settings(c, &s);
	alert_settings_clear(&s);
	return err;
}

/* ---- !ack ---- */

sc_err cmd_ack(struct cmd_ctx *c, const struct args *a)
{
	enum rec_kind kind;
	struct record r;
	int64_t num;
	int level = 0, stopped = 0, was = 0;
	sc_err err;

	if (rec_id_parse(a->argv[1], &kind, &num) != SC_OK ||
	    (kind != REC_TODO && kind != REC_INCIDENT))
		return cmd_fail(c, SC_EINVAL,
				"'%s' is no action item or incident id (like T12 "
				"or I3): only those are escalated", a->argv[1]);
	err = find_record(c, a->argv[1], kind, &r);
	if (err)
		return err;
	if (strcmp(r.status, "open")) {
		err = cmd_fail(c, SC_ESTATE, "%s is %s: nothing to acknowledge",
			       a->argv[1], r.status);
		goto out;
	}
	if (store_remind_sla_state(c->st, r.id, &level, &was) == SC_OK && was) {
		err = cmd_fail(c, SC_ESTATE, "%s's escalation is stopped already "
			       "(it was acknowledged, or its status changed)",
			       a->argv[1]);
		goto out;
	}
	err = store_remind_ack(c->st, r.id, c->sender, c->now, c->event_id,
			       &stopped);
	if (!err && a->argc > 2) {
		char *note = args_join(a, 2, a->argc);

		err = note ? store_history_note(c->st, r.id, c->now, c->sender,
						"note", note, c->event_id) :
			     SC_ENOMEM;
		free(note);
	}
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Acknowledged ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, " (");
	if (!err && r.severity)
		err = reply_textf(c->out, "%s, ", r.severity);
	if (!err)
		err = reply_text(c->out, "open ");
	if (!err)
		err = say_duration(c, c->now - r.created);
	if (!err)
		err = reply_text(c->out, ") by ");
	if (!err)
		err = reply_user(c->out, c->sender);
	if (!err && stopped)
		err = reply_text(c->out, ": no more escalation.");
	else if (!err)
		err = reply_textf(c->out, ": noted (%s items are not escalated).",
				  r.severity ? r.severity : "items without a severity");
	if (!err)
		err = reply_textf(c->out, " It stays open until %s%s ",
				  c->cfg->prefix, kind == REC_TODO ? "done" : "resolved");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, ".");
out:
	record_clear(&r);
	return err;
}

/* ---- !escalate ---- */

static sc_err escalate_show(struct cmd_ctx *c)
{
	struct alert_settings s;
	struct sbuf sb;
	sc_err err = remind_settings(c->st, c->cfg, c->room_id, &s);

	if (err)
		return err;
	sbuf_init(&sb, 64);
	if (!s.ncontacts) {
		err = reply_textf(c->out, "No escalation contacts here: a breached "
				  "SLA pings the item's people only. %sescalate to "
				  "@someone sets them.", c->cfg->prefix);
	} else {
		err = reply_text(c->out, "Escalations here go to ");
		for (size_t i = 0; i < s.ncontacts && !err; i++) {
			if (i)
				err = reply_text(c->out, ", ");
			if (!err)
				err = reply_user(c->out, s.contacts[i]);
		}
		if (!err)
			err = reply_text(c->out, s.own_contacts ? "." : " (bot.conf).");
	}
	if (!err && c->cfg->escalation_levels > 0) {
		err = reply_text(c->out, " Critical items still open after ");
		if (!err)
			err = say_duration(c, c->cfg->sla_critical);
		if (!err)
			err = reply_text(c->out, ", major ones after ");
		if (!err)
			err = say_duration(c, c->cfg->sla_major);
		if (!err)
			err = reply_textf(c->out, " are escalated, at most %d time%s (one "
					  "SLA apart); %sack T12 stops it.",
					  c->cfg->escalation_levels,
					  c->cfg->escalation_levels == 1 ? "" : "s",
					  c->cfg->prefix);
	} else if (!err) {
		err = reply_text(c->out, " Escalation is off in bot.conf.");
	}
	sbuf_release(&sb);
	alert_settings_clear(&s);
	return err;
}

sc_err cmd_escalate(struct cmd_ctx *c, const struct args *a)
{
	struct room_alerts al;
	struct sbuf list;
	char **ids = NULL;
	size_t n = 0;
	const char *w;
	sc_err err;

	if (a->argc == 1)
		return escalate_show(c);
	w = a->argv[1];
	if (strcasecmp(w, "to") && strcasecmp(w, "off") && strcasecmp(w, "none") &&
	    strcasecmp(w, "default"))
		return cmd_usage(c, cmd_lookup("escalate"));
	if (strcasecmp(w, "to") && a->argc != 2)
		return cmd_usage(c, cmd_lookup("escalate"));
	if (!strcasecmp(w, "to") && a->argc < 3)
		return cmd_usage(c, cmd_lookup("escalate"));
	err = need_power(c, "escalate");
	if (err)
		return err;
	sbuf_init(&list, 4096);
	for (int i = 2; i < a->argc && !err;) {
		char *id = NULL;
		char **v;

		if (n >= REMIND_PEOPLE_MAX) {
			err = cmd_fail(c, SC_EINVAL, "at most %d escalation contacts",
				       REMIND_PEOPLE_MAX);
			break;
		}
		if (!strcasecmp(a->argv[i], "and") || !strcmp(a->argv[i], ",")) {
			i++;
			continue;
		}
		err = take_person(c, a, &i, a->argc, &id);
		if (err)
			break;
		v = realloc(ids, (n + 1) * sizeof(*v));
		if (!v) {
			free(id);
			err = SC_ENOMEM;
			break;
		}
		ids = v;
		ids[n++] = id;
		for (size_t k = 0; k + 1 < n && id; k++)
			if (!strcmp(ids[k], id))
				id = NULL; /* named twice */
		if (id)
			err = sbuf_printf(&list, "%s%s", list.len ? "," : "", id);
	}
	if (!err)
		err = store_alerts_get(c->st, c->room_id, &al);
	if (!err) {
		free(al.contacts);
		al.contacts = NULL;
		if (strcasecmp(w, "default"))
			al.contacts = strdup(list.buf);
		if (strcasecmp(w, "default") && !al.contacts)
			err = SC_ENOMEM;
		if (!err)
			err = store_alerts_put(c->st, c->room_id, &al, c->now);
		room_alerts_clear(&al);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	sbuf_release(&list);
	if (err)
		return err;
	return escalate_show(c);
}

/* ---- !hours ---- */

static sc_err say_hours(struct cmd_ctx *c, const char *what,
			const struct daily_hours *h, int own, const char *tz)
{
	struct sbuf sb;
	sc_err err;

	if (!h->set)
		return reply_textf(c->out, "%s: none%s.", what, own ? "" : " (bot.conf)");
	sbuf_init(&sb, 64);
	err = when_format_hours(h->days, h->start, h->end, &sb);
	if (!err)
		err = reply_textf(c->out, "%s: %s %s%s.", what, sb.buf, tz,
				  own ? "" : " (bot.conf)");
	sbuf_release(&sb);
	return err;
}

static sc_err hours_show(struct cmd_ctx *c)
{
	struct alert_settings s;
	sc_err err = remind_settings(c->st, c->cfg, c->room_id, &s);

	if (err)
		return err;
	err = say_hours(c, "Ops hours", &s.hours, s.own_hours, s.tz);
	if (!err)
		err = reply_nl(c->out);
	if (!err)
		err = say_hours(c, "On call for critical items", &s.on_call,
				s.own_on_call, s.tz);
	if (!err)
		err = reply_nl(c->out);
	if (!err && s.hours.set)
		err = reply_text(c->out,
				 "Outside ops hours only critical items ping; the "
				 "rest wait until the hours open and then go out "
				 "together. A critical item outside the on-call "
				 "hours too pings the escalation contacts only.");
	else if (!err)
		err = reply_textf(c->out, "Every reminder pings at its time. %shours "
				  "sun-thu 09:00-18:00 sets ops hours.", c->cfg->prefix);
	alert_settings_clear(&s);
	return err;
}

sc_err cmd_hours(struct cmd_ctx *c, const struct args *a)
{
	struct room_alerts al;
	char **field;
	char *text = NULL;
	unsigned days;
	int start, end, i = 1, on_call = 0;
	sc_err err;

	if (a->argc == 1)
		return hours_show(c);
	if (!strcasecmp(a->argv[1], "on-call") || !strcasecmp(a->argv[1], "on_call") ||
	    !strcasecmp(a->argv[1], "oncall")) {
		on_call = 1;
		i = 2;
	}
	if (i >= a->argc)
		return cmd_usage(c, cmd_lookup("hours"));
	err = need_power(c, on_call ? "hours on-call" : "hours");
	if (err)
		return err;
	if (!strcasecmp(a->argv[i], "off") || !strcasecmp(a->argv[i], "none") ||
	    !strcasecmp(a->argv[i], "always")) {
		if (a->argc != i + 1)
			return cmd_usage(c, cmd_lookup("hours"));
		text = strdup("");
	} else if (!strcasecmp(a->argv[i], "default")) {
		if (a->argc != i + 1)
			return cmd_usage(c, cmd_lookup("hours"));
	} else {
		text = args_join_words(a, i, a->argc);
		if (text && when_parse_hours(text, &days, &start, &end) != SC_OK) {
			err = cmd_fail(c, SC_EINVAL,
				       "cannot read '%s' as hours (try sun-thu "
				       "09:00-18:00 or mon-fri 8:30-17:00)", text);
			free(text);
			return err;
		}
		if (text) {
			/* kept the way it reads back */
			struct sbuf sb;

			sbuf_init(&sb, 64);
			err = when_format_hours(days, start, end, &sb);
			free(text);
			text = err ? NULL : sbuf_detach(&sb, NULL);
			sbuf_release(&sb);
			if (err)
				return err;
		}
	}
	if (strcasecmp(a->argv[i], "default") && !text)
		return SC_ENOMEM;
	err = store_alerts_get(c->st, c->room_id, &al);
	if (!err) {
		field = on_call ? &al.on_call : &al.hours;
		free(*field);
		*field = text;
		text = NULL;
		err = store_alerts_put(c->st, c->room_id, &al, c->now);
		room_alerts_clear(&al);
	}
	free(text);
	if (err)
		return err;
	return hours_show(c);
}

/* ---- SLA breaches in reports (!review, review minutes) ---- */

/* Most breached items a report names; the count has them all. */
#define BREACHES_NAMED 10

struct breach_list {
	struct reply *r;
	int n;
	sc_err err;
};

static int breach_name(const struct record *r, void *ctx)
{
	struct breach_list *b = ctx;

	if (b->n == BREACHES_NAMED)
		return 1;
	b->err = reply_text(b->r, b->n++ ? ", " : " (");
	if (!b->err)
		b->err = reply_id(b->r, r);
	if (!b->err)
		b->err = reply_textf(b->r, " %s", r->severity);
	return b->err != SC_OK;
}

sc_err report_breaches(struct report *rp, struct cmd_ctx *c, int64_t from,
		       int64_t to)
{
	struct breach_list b = { rp->r, 0, SC_OK };
	int64_t n = 0;
	sc_err err = remind_breaches(c->st, c->cfg, c->room_id, from, to, NULL,
				     NULL, &n);

	if (!err)
		err = report_item(rp);
	if (!err && !n)
		return reply_text(rp->r, "SLA breaches: none");
	if (!err)
		err = reply_textf(rp->r, "SLA breaches: %lld", (long long)n);
	if (!err)
		err = remind_breaches(c->st, c->cfg, c->room_id, from, to,
				      breach_name, &b, &n);
	if (!err)
		err = b.err;
	if (!err && n > b.n)
		err = reply_textf(rp->r, " and %lld more", (long long)(n - b.n));
	if (!err)
		err = reply_text(rp->r, ")");
	return err;
}
