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

/* Most lines !todos lists (fewer when they are long: the reply has a
 * size budget, see cmd.h). */
#define TODOS_MAX 50

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
	struct sbuf more;
	const char *empty = "No open action items here.";
	sc_err err = SC_OK;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_TODO);
	q.room_id = c->room_id;
	q.open_only = 1;
	q.order = ORDER_DUE;
	if (a->argc > 1) {
		const char *w = a->argv[1];
		if (!strcasecmp(w, "mine")) {
			q.assignee = c->sender;
			empty = "Nothing open for you here.";
		} else if (!strcasecmp(w, "overdue")) {
			q.overdue_at = c->now;
			empty = "Nothing overdue.";
		} else if (!strcasecmp(w, "all")) {
			q.open_only = 0;
			q.order = ORDER_NEWEST;
			empty = "No action items in this room yet.";
		} else if (w[0] == '#' && w[1]) {
			q.tag = w + 1;
			empty = "No open action items with that label.";
		} else if (w[0] == '@') {
			err = resolve_user(c, w, &who);
			if (err)
				return err;
			q.assignee = who;
			empty = "Nothing open for them here.";
		} else {
			return cmd_fail(c, SC_EINVAL,
					"usage: %stodos [mine|@user|overdue|all|#label]",
					c->cfg->prefix);
		}
	}
	/* how to see what a long list leaves out */
	sbuf_init(&more, 256);
	err = sbuf_printf(&more, "(narrow it: %stodos mine, %stodos @user or %stodos #label)",
			  c->cfg->prefix, c->cfg->prefix, c->cfg->prefix);
	if (!err && q.tag) {
		tag = strdup(q.tag);
		if (!tag)
			err = SC_ENOMEM;
		for (char *p = tag; p && *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		q.tag = tag;
	}
	if (!err)
		err = render_query(c, &q, q.open_only && !q.assignee,
				   empty, TODOS_MAX, more.buf);
	sbuf_release(&more);
	free(tag);
	free(who);
	return err;
}

/* Move a todo to status `to`; words after the id become its note. */
static sc_err todo_status(struct cmd_ctx *c, const struct args *a,
			  const char *to, const char *verb)
{
	struct record r;
	sc_err err;

	err = find_record(c, a->argv[1], REC_TODO, &r);
	if (err)
		return err;
	if (!strcmp(r.status, to)) {
		err = cmd_fail(c, SC_ESTATE, "%s is already %s", a->argv[1], to);
		goto out;
	}
	err = record_set(&r.status, to);
	r.closed = strcmp(to, "open") ? c->now : 0;
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
	err = reply_id(c->out, &r);
	if (!err)
		err = reply_textf(c->out, " %s: ", verb);
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
out:
	record_clear(&r);
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

sc_err cmd_assign(struct cmd_ctx *c, const struct args *a)
{
	struct record r;
	char **before = NULL;
	size_t nbefore;
	sc_err err;

	err = find_record(c, a->argv[1], REC_TODO, &r);
	if (err)
		return err;
	/* The new assignees replace the old ones. */
	before = r.assignees;
	nbefore = r.nassignees;
	r.assignees = NULL;
	r.nassignees = 0;
	for (int i = 2; i < a->argc && !err; i++) {
		char *uid = NULL;
		err = resolve_user(c, a->argv[i], &uid);
		if (!err)
			err = record_add_assignee(&r, uid);
		free(uid);
	}
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
	int64_t due = 0;
	sc_err err;

	err = find_record(c, a->argv[1], REC_TODO, &r);
	if (err)
		return err;
	if (strcasecmp(a->argv[2], "none") && strcasecmp(a->argv[2], "never")) {
		const char *w = a->argv[2];
		if (!strncasecmp(w, "due:", 4))
			w += 4;
		if (when_parse_due(w, c->now, c->tz, &due) != SC_OK) {
			err = cmd_fail(c, SC_EINVAL,
				       "cannot read the date '%s' (try fri, 2026-12-01 or +3d)",
				       a->argv[2]);
			goto out;
		}
	}
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
