/* SPDX-License-Identifier: MIT */
/*
 * decision.c - the decision log: !decide, !propose, !accept, !reject,
 * !revoke, !supersede, !decisions. A decision has a text, an optional
 * rationale ("... because ..."), a status (proposed, accepted, rejected,
 * superseded) and, for proposals, the 👍 👎 🤷 check-in votes counted
 * from reactions on scribe's reply. Anyone settles a proposal (!accept,
 * !reject); what is accepted is overturned only by a privileged
 * !supersede or !revoke. A note after the id stays in the history.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "when.h"
#include "banned.h"

/* Most lines !decisions lists: what a phone shows without scrolling. */
#define DECISIONS_MAX 15

/* Split argv[from..] at the first unquoted "because" into text and
 * rationale (NULL when none). Failure writes the reply. */
static sc_err split_because(struct cmd_ctx *c, const struct args *a, int from,
			    char **text, char **why)
{
	int at = a->argc;
	char *t, *w = NULL;

	for (int i = from; i < a->argc; i++) {
		if (!a->quoted[i] && !strcasecmp(a->argv[i], "because")) {
			at = i;
			break;
		}
	}
	if (at == from)
		return cmd_fail(c, SC_EINVAL, "what was decided? the text before 'because' is missing");
	if (at < a->argc && at + 1 == a->argc)
		return cmd_fail(c, SC_EINVAL, "because what? the rationale after 'because' is missing");
	t = args_join(a, from, at);
	if (at < a->argc)
		w = args_join(a, at + 1, a->argc);
	if (!t || (at < a->argc && !w)) {
		free(t);
		free(w);
		return SC_ENOMEM;
	}
	*text = t;
	*why = w;
	return SC_OK;
}

/* Record a new decision from argv[from..] with status; *out keeps it. */
static sc_err new_decision(struct cmd_ctx *c, const struct args *a, int from,
			   const char *status, struct record *out)
{
	struct record r;
	char *text = NULL, *why = NULL;
	sc_err err;

	memset(&r, 0, sizeof(r));
	err = split_because(c, a, from, &text, &why);
	if (err)
		return err;
	r.kind = REC_DECISION;
	r.text = text;
	r.detail = why;
	err = record_set(&r.status, status);
	if (!err)
		err = add_record(c, &r);
	if (err) {
		record_clear(&r);
		return err;
	}
	*out = r;
	return SC_OK;
}

/* Append ": text (because …)" (the rationale when r has one), each
 * shortened to what a reply about one record echoes. */
static sc_err render_because(struct cmd_ctx *c, const struct record *r)
{
	sc_err err = reply_text(c->out, ": ");

	if (!err)
		err = reply_snip(c->out, r->text, REPLY_ECHO_CHARS);
	if (!err && r->detail)
		err = reply_text(c->out, " (because ");
	if (!err && r->detail)
		err = reply_snip(c->out, r->detail, REPLY_ECHO_CHARS);
	if (!err && r->detail)
		err = reply_text(c->out, ")");
	return err;
}

sc_err cmd_decide(struct cmd_ctx *c, const struct args *a)
{
	struct record r;
	sc_err err = new_decision(c, a, 1, "accepted", &r);

	if (err)
		return err;
	c->out->record = r.id;
	err = reply_text(c->out, "Recorded decision ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = render_because(c, &r);
	record_clear(&r);
	return err;
}

sc_err cmd_propose(struct cmd_ctx *c, const struct args *a)
{
	struct record r;
	sc_err err = new_decision(c, a, 1, "proposed", &r);

	if (err)
		return err;
	c->out->record = r.id;
	err = reply_text(c->out, "Proposal ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = render_because(c, &r);
	if (!err)
		err = reply_textf(c->out,
				  "\nCheck in with a reaction to this message: 👍 for, 👎 against, 🤷 neutral. "
				  "Then %saccept or %sreject it.",
				  c->cfg->prefix, c->cfg->prefix);
	record_clear(&r);
	return err;
}

/* Move decision argv[1] from `from` to status `to` (verb says so in
 * the reply); the words after the id are a note kept in its history. */
static sc_err decision_status(struct cmd_ctx *c, const struct args *a,
			      const char *from, const char *to, const char *verb)
{
	struct record r;
	char *note = NULL;
	sc_err err = find_record(c, a->argv[1], REC_DECISION, &r);

	if (err)
		return err;
	if (strcmp(r.status, from)) {
		if (!strcmp(from, "proposed") && !strcmp(r.status, "accepted"))
			err = cmd_fail(c, SC_ESTATE,
				       "%s is accepted; only a proposal can be %s. To overturn "
				       "it: %ssupersede %s new decision, or %srevoke %s [why] "
				       "(both privileged)", a->argv[1], to, c->cfg->prefix,
				       a->argv[1], c->cfg->prefix, a->argv[1]);
		else if (!strcmp(from, "proposed"))
			err = cmd_fail(c, SC_ESTATE,
				       "%s is %s; only a proposal can be %s (%spropose it "
				       "again to reopen it)", a->argv[1], r.status, to,
				       c->cfg->prefix);
		else
			err = cmd_fail(c, SC_ESTATE, "%s is %s; only an accepted decision "
				       "can be revoked", a->argv[1], r.status);
		goto out;
	}
	if (a->argc > 2) {
		note = args_join(a, 2, a->argc);
		if (!note) {
			err = SC_ENOMEM;
			goto out;
		}
	}
	err = record_set(&r.status, to);
	if (!err)
		err = store_record_update(c->st, &r, c->sender, c->now, c->event_id);
	if (!err && note)
		err = store_history_note(c->st, r.id, c->now, c->sender, "note", note,
					 c->event_id);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Decision ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_textf(c->out, " %s: ", verb);
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err && (r.votes_up || r.votes_down || r.votes_meh))
		err = reply_textf(c->out, " (check-in: %d 👍 · %d 👎 · %d 🤷)",
				  r.votes_up, r.votes_down, r.votes_meh);
	if (!err && note)
		err = reply_text(c->out, " — note: ");
	if (!err && note)
		err = reply_snip(c->out, note, REPLY_ECHO_CHARS);
out:
	free(note);
	record_clear(&r);
	return err;
}

sc_err cmd_accept(struct cmd_ctx *c, const struct args *a)
{
	return decision_status(c, a, "proposed", "accepted", "accepted");
}

sc_err cmd_reject(struct cmd_ctx *c, const struct args *a)
{
	return decision_status(c, a, "proposed", "rejected", "rejected");
}

sc_err cmd_revoke(struct cmd_ctx *c, const struct args *a)
{
	return decision_status(c, a, "accepted", "rejected", "revoked (now rejected)");
}

sc_err cmd_supersede(struct cmd_ctx *c, const struct args *a)
{
	struct record old, r;
	sc_err err = find_record(c, a->argv[1], REC_DECISION, &old);

	if (err)
		return err;
	if (!strcmp(old.status, "superseded")) {
		err = cmd_fail(c, SC_ESTATE, "%s is already superseded", a->argv[1]);
		goto out;
	}
	err = new_decision(c, a, 2, "accepted", &r);
	if (err)
		goto out;
	old.superseded_by = r.id;
	err = record_set(&old.status, "superseded");
	if (!err)
		err = store_record_update(c->st, &old, c->sender, c->now, c->event_id);
	if (!err) {
		c->out->record = r.id;
		err = reply_text(c->out, "Recorded decision ");
	}
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = render_because(c, &r);
	if (!err)
		err = reply_text(c->out, "; it supersedes ");
	if (!err)
		err = reply_id(c->out, &old);
	if (!err)
		err = reply_text(c->out, " (");
	if (!err)
		err = reply_snip(c->out, old.text, REPLY_ECHO_CHARS);
	if (!err)
		err = reply_text(c->out, ")");
	record_clear(&r);
out:
	record_clear(&old);
	return err;
}

sc_err cmd_decisions(struct cmd_ctx *c, const struct args *a)
{
	static const char *const statuses[] = { "proposed", "accepted",
						"rejected", "superseded", NULL };
	struct rec_query q;
	struct sbuf terms;
	sc_err err = SC_OK;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_DECISION);
	q.room_id = c->room_id;
	sbuf_init(&terms, CMD_LINE_MAX);
	/* A status word filters, since: bounds, every other word searches. */
	for (int i = 1; i < a->argc && !err; i++) {
		const char *w = a->argv[i];
		const char *const *s = statuses;

		while (*s && (a->quoted[i] || strcasecmp(w, *s)))
			s++;
		if (*s) {
			q.status = *s;
		} else if (!a->quoted[i] && !strncasecmp(w, "since:", 6)) {
			if (when_parse_since(w + 6, c->now, c->tz, &q.since) != SC_OK)
				err = cmd_fail(c, SC_EINVAL,
					       "cannot read '%s' (try since:30d or since:2026-11-01)",
					       w);
		} else {
			err = sbuf_printf(&terms, "%s%s", terms.len ? " " : "", w);
		}
	}
	if (!err) {
		q.terms = terms.len ? terms.buf : NULL;
		err = render_query(c, &q, 0, "No decisions found.", DECISIONS_MAX,
				   "(narrow it with words, a status or since:30d)");
	}
	sbuf_release(&terms);
	return err;
}
