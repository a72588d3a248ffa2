/* SPDX-License-Identifier: MIT */
/*
 * todo.c - the action-item family: !todo, !todos, !done, !reopen, !drop,
 * !assign, !due. A todo has assignees, a status (open, done, dropped),
 * an optional due date (from the severity's SLA when none is typed),
 * a severity and labels. Assigning someone else pings them: the reply is
 * then an m.text naming exactly the new assignees.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "when.h"
#include "banned.h"

/* Most lines !todos lists: what a phone shows without scrolling (fewer
 * when they are long: the reply has a size budget, see cmd.h). */
#define TODOS_MAX 15

/* Ping the assignees of r other than the sender. */
static sc_err ping_assignees(struct cmd_ctx *c, char **users, size_t n)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < n && !err; i++)
		if (strcmp(users[i], c->sender) != 0)
			err = reply_mention(c->out, users[i]);
	return err;
}

sc_err cmd_todo(struct cmd_ctx *c, const struct args *a)
{
	struct item it;
	struct record r;
	sc_err err;

	if (a->argc == 1)
		return cmd_todos(c, a);
	memset(&r, 0, sizeof(r));
	err = item_parse(c, a, 1, ITEM_MENTIONS | ITEM_DUE | ITEM_SEVERITY | ITEM_TAGS, &it);
	if (err)
		return err;
	r.kind = REC_TODO;
	r.due = it.due;
	err = record_set(&r.text, it.text);
	if (!err)
		err = record_set(&r.status, "open");
	if (!err)
		err = record_set(&r.severity, it.severity);
	for (size_t i = 0; i < it.nassignees && !err; i++)
		err = record_add_assignee(&r, it.assignees[i]);
	for (size_t i = 0; i < it.ntags && !err; i++)
		err = record_add_tag(&r, it.tags[i]);
	if (!err)
		err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Recorded ");
	if (!err)
		err = render_record(c, &r, REPLY_ECHO_CHARS);
	if (!err && it.remark)
		err = reply_textf(c->out, "\n%s", it.remark);
	if (!err)
		err = ping_assignees(c, r.assignees, r.nassignees);
out:
	record_clear(&r);
	item_clear(&it);
	return err;
}

sc_err cmd_todos(struct cmd_ctx *c, const struct args *a)
{
	struct rec_query q;
	char *who = NULL, *tag = NULL;
	struct sbuf more, empty;
	int all = 0;
	sc_err err = SC_OK;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_TODO);
	q.room_id = c->room_id;
	q.open_only = 1;
	q.order = ORDER_DUE;
	sbuf_init(&more, 256);
	sbuf_init(&empty, 256);
	/* Filters combine: "!todos overdue @bob", "!todos all #docs". */
	for (int i = 1; i < a->argc && !err;) {
		const char *w = a->argv[i];
		int plain = a->quoted[i] == ARG_PLAIN;
		char *uid = NULL;

		if (plain && !strcasecmp(w, "overdue") && !q.overdue_at) {
			q.overdue_at = c->now;
		} else if (plain && !strcasecmp(w, "all") && !all) {
			all = 1;
		} else if (plain && w[0] == '#' && w[1] && !tag) {
			tag = strdup(w + 1);
			if (!tag)
				err = SC_ENOMEM;
			for (char *p = tag; p && *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			q.tag = tag;
		} else if (!who && plain && (!strcasecmp(w, "mine") || !strcasecmp(w, "me") ||
					     !strcasecmp(w, "@me"))) {
			who = strdup(c->sender);
			if (!who)
				err = SC_ENOMEM;
		} else if (!who && (a->quoted[i] == ARG_NAME || (plain && w[0] == '@'))) {
			err = take_person(c, a, &i, a->argc, &who);
			continue;
		} else if (!who && plain &&
			   store_member_resolve(c->st, c->room_id, w, &uid, NULL) == SC_OK) {
			who = uid; /* a bare name that is exactly a member's */
		} else {
			err = cmd_fail(c, SC_EINVAL,
				       "usage: %stodos [mine|@user] [overdue|all] [#label] "
				       "(filters combine: %stodos overdue @bob)",
				       c->cfg->prefix, c->cfg->prefix);
		}
		i++;
	}
	if (!err && all && q.overdue_at)
		err = cmd_fail(c, SC_EINVAL,
			       "overdue items are open ones: give overdue or all, not both");
	if (err)
		goto out;
	q.assignee = who;
	/* nothing found: "Nothing overdue for Bob with #docs here." */
	if (!who && !tag && !q.overdue_at)
		err = sbuf_puts(&empty, all ? "No action items here yet." :
				"No open action items here.");
	else
		err = sbuf_printf(&empty, "Nothing %s", q.overdue_at ? "overdue" :
				  all ? "recorded" : "open");
	if (!err && who)
		err = sbuf_printf(&empty, " for %s", reply_user_label(c->out, who) ?
				  reply_user_label(c->out, who) : who);
	if (!err && tag)
		err = sbuf_printf(&empty, " with #%s", tag);
	if (!err && (who || tag || q.overdue_at))
		err = sbuf_puts(&empty, " here.");
	/* how to see what a long list leaves out */
	if (!err)
		err = sbuf_printf(&more, "(narrow it: %stodos @user, %stodos overdue, "
				  "%stodos #label; scribe export has all)",
				  c->cfg->prefix, c->cfg->prefix, c->cfg->prefix);
	if (!err)
		err = render_todos(c, &q, all, empty.buf, TODOS_MAX, more.buf);
out:
	sbuf_release(&more);
	sbuf_release(&empty);
	free(tag);
	free(who);
	return err;
}

/* Whether argv[i] is a plain word naming a record of kind k ("T12"). */
static int id_word(const struct args *a, int i, enum rec_kind k)
{
	enum rec_kind kind;
	int64_t num;

	return a->quoted[i] == ARG_PLAIN &&
	       rec_id_parse(a->argv[i], &kind, &num) == SC_OK && kind == k;
}

/*
 * Move the todos named after the command ("!done T1 T2 note") to status
 * `to`, all or none (the command is one transaction); the words after
 * the ids are the note. done and dropped keep it as the item's detail,
 * reopening clears the detail (history keeps it) and keeps the note in
 * history only.
 */
static sc_err todo_status(struct cmd_ctx *c, const struct args *a,
			  const char *to, const char *verb)
{
	struct record *recs = NULL;
	char *note = NULL;
	int n = 1, closing = strcmp(to, "open") != 0;
	sc_err err = SC_OK;

	while (n + 1 < a->argc && id_word(a, n + 1, REC_TODO))
		n++;
	recs = calloc((size_t)n, sizeof(*recs));
	if (!recs)
		return SC_ENOMEM;
	if (n + 1 < a->argc) {
		note = args_join(a, n + 1, a->argc);
		if (!note) {
			err = SC_ENOMEM;
			goto out;
		}
	}
	for (int i = 0; i < n && !err; i++) {
		struct record *r = &recs[i];
		int dup = 0;

		err = find_record(c, a->argv[i + 1], REC_TODO, r);
		if (err) {
			memset(r, 0, sizeof(*r));
			break;
		}
		for (int k = 0; k < i; k++)
			dup |= recs[k].id == r->id;
		if (dup) {
			err = cmd_fail(c, SC_EINVAL, "%s is named twice", a->argv[i + 1]);
			break;
		}
		if (!strcmp(r->status, to)) {
			err = n == 1 ?
			      cmd_fail(c, SC_ESTATE, "%s is already %s", a->argv[i + 1], to) :
			      cmd_fail(c, SC_ESTATE, "%s is already %s, so nothing was "
				       "changed (name only the others)", a->argv[i + 1], to);
			break;
		}
		err = record_set(&r->status, to);
		r->closed = closing ? c->now : 0;
		if (!err && (closing ? note != NULL : r->detail != NULL))
			err = record_set(&r->detail, closing ? note : NULL);
		if (!err)
			err = store_record_update(c->st, r, c->sender, c->now, c->event_id);
		if (!err && note && !closing)
			err = store_history_note(c->st, r->id, c->now, c->sender, "note",
						 note, c->event_id);
	}
	if (err)
		goto out;
	c->out->record = recs[0].id;
	if (n == 1) {
		err = reply_id(c->out, &recs[0]);
		if (!err)
			err = reply_textf(c->out, " %s: ", verb);
		if (!err)
			err = reply_snip(c->out, recs[0].text, REPLY_ECHO_CHARS);
	} else {
		err = reply_textf(c->out, "%d action items %s:", n, verb);
		for (int i = 0; i < n && !err; i++) {
			err = reply_nl(c->out);
			if (!err)
				err = reply_id(c->out, &recs[i]);
			if (!err)
				err = reply_text(c->out, " ");
			if (!err)
				err = reply_snip(c->out, recs[i].text, REPLY_LINE_CHARS);
		}
	}
	if (!err && note) {
		err = n == 1 ? reply_text(c->out, " — note: ") :
			       reply_text(c->out, "\nNote: ");
		if (!err)
			err = reply_snip(c->out, note, REPLY_ECHO_CHARS);
	}
out:
	for (int i = 0; i < n; i++)
		record_clear(&recs[i]);
	free(recs);
	free(note);
	return err;
}

sc_err cmd_done(struct cmd_ctx *c, const struct args *a)
{
	return todo_status(c, a, "done", "done");
}

sc_err cmd_reopen(struct cmd_ctx *c, const struct args *a)
{
	return todo_status(c, a, "open", "reopened");
}

sc_err cmd_drop(struct cmd_ctx *c, const struct args *a)
{
	return todo_status(c, a, "dropped", "dropped");
}

/* The word between names in "!assign T4 elon, bob", "elon + bob",
 * "elon and bob". */
static int name_separator(const struct args *a, int i)
{
	const char *w = a->argv[i];

	return a->quoted[i] == ARG_PLAIN &&
	       (!strcmp(w, "+") || !strcmp(w, "&") || !strcmp(w, ",") ||
		!strcasecmp(w, "and"));
}

sc_err cmd_assign(struct cmd_ctx *c, const struct args *a)
{
	struct record r;
	char **before = NULL;
	size_t nbefore;
	sc_err err;

	err = find_record(c, a->argv[1], REC_TODO, &r);
	if (err)
		return err;
	/* The new assignees replace the old ones: "@bob", "bob", "Elon
	 * Musk" (@ or not), "me", "elon, bob", "elon + bob". */
	before = r.assignees;
	nbefore = r.nassignees;
	r.assignees = NULL;
	r.nassignees = 0;
	for (int i = 2; i < a->argc && !err;) {
		char *uid = NULL;
		if (name_separator(a, i)) {
			i++;
			continue;
		}
		err = take_person(c, a, &i, a->argc, &uid);
		if (!err)
			err = record_add_assignee(&r, uid);
		free(uid);
	}
	if (!err && !r.nassignees)
		err = cmd_fail(c, SC_EINVAL, "usage: %sassign T12 @user [@user2]",
			       c->cfg->prefix);
	if (!err)
		err = store_record_update(c->st, &r, c->sender, c->now, c->event_id);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, " is now for ");
	for (size_t i = 0; i < r.nassignees && !err; i++) {
		int had = 0;
		if (i)
			err = reply_text(c->out, ", ");
		if (!err)
			err = reply_user(c->out, r.assignees[i]);
		for (size_t k = 0; k < nbefore; k++)
			had |= !strcmp(before[k], r.assignees[i]);
		if (!err && !had && strcmp(r.assignees[i], c->sender))
			err = reply_mention(c->out, r.assignees[i]);
	}
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
out:
	for (size_t k = 0; k < nbefore; k++)
		free(before[k]);
	free(before);
	record_clear(&r);
	return err;
}

sc_err cmd_due(struct cmd_ctx *c, const struct args *a)
{
	struct record r;
	struct sbuf shown;
	int64_t due = 0;
	char *when;
	sc_err err;

	err = find_record(c, a->argv[1], REC_TODO, &r);
	if (err)
		return err;
	when = args_join_words(a, 2, a->argc);
	if (!when) {
		err = SC_ENOMEM;
		goto out;
	}
	sbuf_init(&shown, 64);
	if (strcasecmp(when, "none") && strcasecmp(when, "never")) {
		const char *w = when;
		if (!strncasecmp(w, "due:", 4))
			w += 4 + (w[4] == ' ');
		if (when_parse_due(w, c->now, cmd_input_tz(c), &due) != SC_OK) {
			err = cmd_fail(c, SC_EINVAL,
				       "cannot read the date '%s' (try fri, 2026-12-01 or +3d; "
				       "%shelp todo lists every form)", w, c->cfg->prefix);
		} else if (due < c->now) {
			err = when_format_short(due, c->now, cmd_input_tz(c), &shown);
			if (!err)
				err = cmd_fail(c, SC_EINVAL,
					       "the due date %s is in the past; give one ahead, like fri or +3d",
					       shown.buf);
		}
	}
	sbuf_release(&shown);
	free(when);
	if (err)
		goto out;
	r.due = due;
	err = store_record_update(c->st, &r, c->sender, c->now, c->event_id);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, due ? " is due" : " has no due date now");
	if (!err && due)
		err = reply_text(c->out, " ");
	if (!err && due)
		err = reply_when(c, c->out, due);
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
out:
	record_clear(&r);
	return err;
}
