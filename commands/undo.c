/* SPDX-License-Identifier: MIT */
/*
 * undo.c - !undo: take back your own last change in this room from the
 * last ten minutes (MeetBot's #undo, for everything scribe records). A
 * record that change made is withdrawn, the fields it changed go back
 * (revert.h), and the history keeps both the change and its undoing.
 * The store's kv remembers which command undid which (undo.done.EVENT,
 * undo.by.UNDO-EVENT), so a second !undo takes back the change before,
 * never the undo itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "revert.h"
#include "when.h"
#include "banned.h"

/* How far back !undo reaches. */
#define UNDO_WINDOW (10 * 60)
/* Most records one change touches that the reply names. */
#define UNDO_SHOWN 16

static int kv_has(struct store *st, const char *prefix, const char *event,
		  sc_err *err)
{
	struct sbuf key;
	char *v = NULL;
	sc_err e;

	sbuf_init(&key, 0);
	e = sbuf_printf(&key, "%s%s", prefix, event);
	if (!e)
		e = store_kv_get(st, key.buf, &v);
	sbuf_release(&key);
	free(v);
	if (e && e != SC_ENOTFOUND)
		*err = e;
	return e == SC_OK;
}

static sc_err kv_set(struct store *st, const char *prefix, const char *event,
		     const char *value)
{
	struct sbuf key;
	sc_err err;

	sbuf_init(&key, 0);
	err = sbuf_printf(&key, "%s%s", prefix, event);
	if (!err)
		err = store_kv_put(st, key.buf, value);
	sbuf_release(&key);
	return err;
}

/* The sender's newest change that is neither an undo nor undone. */
struct last {
	struct cmd_ctx *c;
	char *event;
	int64_t ts;
	sc_err err;
};

static int last_change(const struct history_entry *h, void *ctx)
{
	struct last *l = ctx;

	if (l->c->event_id && !strcmp(h->event_id, l->c->event_id))
		return 0;
	if (kv_has(l->c->st, "undo.done.", h->event_id, &l->err) ||
	    kv_has(l->c->st, "undo.by.", h->event_id, &l->err))
		return l->err != SC_OK;
	if (l->err)
		return 1;
	l->event = strdup(h->event_id);
	l->ts = h->ts;
	if (!l->event)
		l->err = SC_ENOMEM;
	return 1;
}

/* The records the change touched, as they were before the undo. */
struct before {
	struct store *st;
	struct record r[UNDO_SHOWN];
	size_t n;
	int meeting;     /* it touched a meeting */
	sc_err err;
};

static int before_add(const struct history_entry *h, void *ctx)
{
	struct before *b = ctx;
	struct record r;

	for (size_t i = 0; i < b->n; i++)
		if (b->r[i].id == h->record)
			return 0;
	b->err = store_record_get_id(b->st, h->record, &r);
	if (b->err)
		return 1;
	if (r.kind == REC_MEETING)
		b->meeting = 1;
	if (b->n < UNDO_SHOWN)
		b->r[b->n++] = r;
	else
		record_clear(&r);
	return 0;
}

static int same_list(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return 0;
	return 1;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* "T1 pick tracker: status back to open, due back to none". */
static sc_err say_reverted(struct cmd_ctx *c, const struct record *was,
			   const struct record *now)
{
	const char *sep = ": ";
	sc_err err;

	if (same(was->status, now->status) && was->due == now->due &&
	    same_list(was->assignees, was->nassignees, now->assignees, now->nassignees) &&
	    same(was->text, now->text) && same(was->detail, now->detail) &&
	    same(was->severity, now->severity) &&
	    same_list(was->tags, was->ntags, now->tags, now->ntags))
		return SC_OK; /* changed again since: it stands */
	err = reply_nl(c->out);
	if (!err)
		err = reply_id(c->out, now);
	if (!err)
		err = reply_text(c->out, " ");
	if (!err)
		err = reply_snip(c->out, now->text, REPLY_LINE_CHARS);
	if (!err && !same(was->status, now->status)) {
		err = reply_textf(c->out, "%sstatus back to %s", sep, now->status);
		sep = ", ";
	}
	if (!err && was->due != now->due) {
		err = reply_textf(c->out, "%sdue back to ", sep);
		if (!err && now->due)
			err = reply_when(c, c->out, now->due);
		else if (!err)
			err = reply_text(c->out, "none");
		sep = ", ";
	}
	if (!err && !same_list(was->assignees, was->nassignees, now->assignees,
			       now->nassignees)) {
		err = reply_textf(c->out, "%s%s", sep, now->nassignees ? "back to " :
				  "unassigned again");
		for (size_t i = 0; i < now->nassignees && !err; i++) {
			if (i)
				err = reply_text(c->out, ", ");
			if (!err)
				err = reply_user(c->out, now->assignees[i]);
		}
		sep = ", ";
	}
	if (!err && !same(was->text, now->text)) {
		err = reply_textf(c->out, "%stext back", sep);
		sep = ", ";
	}
	if (!err && !same(was->detail, now->detail)) {
		err = reply_textf(c->out, "%s%s", sep, now->detail ? "note back" :
				  "note taken off");
		sep = ", ";
	}
	if (!err && !same(was->severity, now->severity)) {
		err = reply_textf(c->out, "%sseverity back to %s", sep,
				  now->severity ? now->severity : "none");
		sep = ", ";
	}
	if (!err && !same_list(was->tags, was->ntags, now->tags, now->ntags))
		err = reply_textf(c->out, "%slabels back", sep);
	return err;
}

sc_err cmd_undo(struct cmd_ctx *c, const struct args *a)
{
	struct last l = { c, NULL, 0, SC_OK };
	struct before b;
	struct record made;
	int have_made = 0, reverted = 0;
	sc_err err;

	(void)a;
	memset(&b, 0, sizeof(b));
	memset(&made, 0, sizeof(made));
	b.st = c->st;
	err = store_history_recent(c->st, c->room_id, c->sender,
				   c->now - UNDO_WINDOW, last_change, &l);
	if (!err)
		err = l.err;
	if (err)
		goto out;
	if (!l.event) {
		err = cmd_fail(c, SC_ENOTFOUND, "nothing of yours to undo here from "
			       "the last 10 minutes (%sundo takes back your own "
			       "changes only, newest first)", c->cfg->prefix);
		goto out;
	}
	/* what it made, and what it changed */
	err = store_record_by_event(c->st, l.event, &made);
	if (!err)
		have_made = !made.withdrawn && !strcmp(made.room_id, c->room_id);
	else if (err == SC_ENOTFOUND)
		err = SC_OK;
	if (!err)
		err = store_history_by_event(c->st, l.event, before_add, &b);
	if (!err)
		err = b.err;
	if (err)
		goto out;
	if (b.meeting || (have_made && made.kind == REC_MEETING)) {
		err = cmd_fail(c, SC_ESTATE, "your last change here was to a meeting; "
			       "%sundo does not take meetings back (%smeeting end "
			       "ends one)", c->cfg->prefix, c->cfg->prefix);
		goto out;
	}
	if (have_made) {
		made.withdrawn = 1;
		err = store_record_update(c->st, &made, c->sender, c->now, c->event_id);
		if (err)
			goto out;
	}
	err = revert_event(c->st, c->room_id, l.event, c->sender, c->now,
			   c->event_id, NULL, NULL, &reverted);
	if (err)
		goto out;
	if (!have_made && !reverted) {
		err = cmd_fail(c, SC_ESTATE, "nothing to undo: what your last change "
			       "did has been changed again since");
		goto out;
	}
	err = kv_set(c->st, "undo.done.", l.event, c->event_id ? c->event_id : "-");
	if (!err && c->event_id)
		err = kv_set(c->st, "undo.by.", c->event_id, l.event);
	if (err)
		goto out;
	c->out->record = have_made ? made.id : b.n ? b.r[0].id : 0;
	if (c->now - l.ts < 60)
		err = reply_text(c->out, "Undone, your last change here (just now):");
	else
		err = reply_textf(c->out, "Undone, your last change here (%lld min ago):",
				  (long long)((c->now - l.ts) / 60));
	if (!err && have_made) {
		err = reply_nl(c->out);
		if (!err)
			err = reply_id(c->out, &made);
		if (!err)
			err = reply_text(c->out, " ");
		if (!err)
			err = reply_snip(c->out, made.text, REPLY_LINE_CHARS);
		if (!err)
			err = reply_text(c->out, ": withdrawn (the history keeps it)");
	}
	for (size_t i = 0; i < b.n && !err; i++) {
		struct record now;
		if (have_made && b.r[i].id == made.id)
			continue;
		err = store_record_get_id(c->st, b.r[i].id, &now);
		if (err)
			break;
		if (!now.withdrawn)
			err = say_reverted(c, &b.r[i], &now);
		record_clear(&now);
	}
out:
	for (size_t i = 0; i < b.n; i++)
		record_clear(&b.r[i]);
	record_clear(&made);
	free(l.event);
	return err;
}
