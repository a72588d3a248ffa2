/* SPDX-License-Identifier: MIT */
/*
 * change.c - the change log: !log records what changed ("upgraded nginx
 * to 1.25 #web1"), !changelog answers "what was changed when, by whom".
 * A change is a deploy by its tags alone (#deploy, #release: the
 * configured deploy_tags; `scribe log --deploy` adds the first), never
 * by the words of its text ("we did NOT deploy"); a deploy logged
 * inside the release-freeze window gets a warning, and !review counts
 * deploys the same way.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "when.h"
#include "banned.h"

/* Most lines !changelog lists: what a phone shows without scrolling
 * (fewer when they are long). */
#define CHANGELOG_MAX 15

int change_is_deploy(const struct config *cfg, const struct record *r)
{
	for (size_t i = 0; i < r->ntags; i++)
		for (char **t = cfg->deploy_tags; t && *t; t++)
			if (!strcasecmp(r->tags[i], *t))
				return 1;
	return 0;
}

sc_err cmd_log(struct cmd_ctx *c, const struct args *a)
{
	struct item it;
	struct record r;
	int deploy = 0;
	sc_err err;

	memset(&r, 0, sizeof(r));
	err = item_parse(c, a, 1, ITEM_TAGS, &it);
	if (err)
		return err;
	r.kind = REC_CHANGE;
	err = record_set(&r.text, it.text);
	if (!err)
		err = record_set(&r.status, "logged");
	for (size_t i = 0; i < it.ntags && !err; i++)
		err = record_add_tag(&r, it.tags[i]);
	deploy = change_is_deploy(c->cfg, &r);
	if (!err)
		err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Logged ");
	if (!err)
		err = render_record(c, &r, REPLY_ECHO_CHARS);
	if (!err && deploy && c->cfg->freeze.set &&
	    when_in_window(c->now, c->tz, c->cfg->freeze.start, c->cfg->freeze.end))
		err = reply_text(c->out,
				 "\n⚠ This deploy was logged during the release freeze. "
				 "If it was not an emergency, say why in the change.");
out:
	record_clear(&r);
	item_clear(&it);
	return err;
}

/* State of the !changelog list. */
struct cl {
	struct cmd_ctx *c;
	struct reply_list l;
	sc_err err;
};

/* "C3 today 10:05 @bob:example.org: text #web1", whole or not at all. */
static int cl_line(const struct record *r, void *ctx)
{
	struct cl *cl = ctx;
	struct cmd_ctx *c = cl->c;
	struct sbuf when;
	size_t ntags = 0;

	if (!reply_list_begin(&cl->l))
		return 1;
	sbuf_init(&when, 128);
	cl->err = when_format_short(r->created, c->now, c->tz, &when);
	if (!cl->err && c->out->body.len)
		cl->err = reply_nl(c->out);
	if (!cl->err)
		cl->err = reply_id(c->out, r);
	if (!cl->err)
		cl->err = reply_textf(c->out, " %s ", when.buf);
	if (!cl->err)
		cl->err = reply_user(c->out, r->author);
	if (!cl->err)
		cl->err = reply_text(c->out, ": ");
	if (!cl->err)
		cl->err = reply_snip(c->out, r->text, REPLY_LINE_CHARS);
	for (size_t i = 0; i < r->ntags && !cl->err; i++) {
		if (strstr(r->text, r->tags[i]))
			continue;
		if (ntags++ < LINE_TAGS_MAX)
			cl->err = reply_textf(c->out, " #%s", r->tags[i]);
	}
	if (!cl->err && ntags > LINE_TAGS_MAX)
		cl->err = reply_textf(c->out, " +%zu", ntags - LINE_TAGS_MAX);
	sbuf_release(&when);
	if (!cl->err)
		reply_list_end(&cl->l);
	return cl->err != SC_OK || cl->l.stopped;
}

sc_err cmd_changelog(struct cmd_ctx *c, const struct args *a)
{
	struct rec_query q;
	struct sbuf terms;
	char *who = NULL, *tag = NULL;
	struct cl cl;
	int64_t total = 0;
	sc_err err = SC_OK;

	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_CHANGE);
	q.room_id = c->room_id;
	q.order = ORDER_NEWEST;
	sbuf_init(&terms, CMD_LINE_MAX);
	for (int i = 1; i < a->argc && !err; i++) {
		const char *w = a->argv[i];
		if (a->quoted[i]) {
			err = sbuf_printf(&terms, "%s%s", terms.len ? " " : "", w);
		} else if (!strncasecmp(w, "since:", 6)) {
			if (when_parse_since(w + 6, c->now, c->tz, &q.since) != SC_OK)
				err = cmd_fail(c, SC_EINVAL,
					       "cannot read '%s' (try since:7d or since:2026-11-01)", w);
		} else if (w[0] == '#' && w[1] && !tag) {
			tag = strdup(w + 1);
			if (!tag)
				err = SC_ENOMEM;
			for (char *p = tag; p && *p; p++)
				*p = (char)tolower((unsigned char)*p);
			q.tag = tag;
		} else if (w[0] == '@' && !who) {
			err = resolve_user(c, w, &who);
			q.author = who;
		} else {
			err = sbuf_printf(&terms, "%s%s", terms.len ? " " : "", w);
		}
	}
	if (err)
		goto out;
	q.terms = terms.len ? terms.buf : NULL;
	memset(&cl, 0, sizeof(cl));
	cl.c = c;
	reply_list_open(&cl.l, c->out, CHANGELOG_MAX);
	err = store_query(c->st, &q, cl_line, &cl);
	if (!err)
		err = cl.err;
	reply_list_close(&cl.l);
	if (!err && !cl.l.shown && !cl.l.stopped)
		err = reply_text(c->out, a->argc > 1 ? "No changes match." :
				 "No changes logged here yet.");
	if (!err && cl.l.stopped)
		err = store_count(c->st, &q, &total);
	if (!err && total > cl.l.shown) {
		if (c->out->body.len)
			err = reply_nl(c->out);
		if (!err)
			err = reply_textf(c->out,
					  "… and %lld more (narrow it with since:, #target or @user)",
					  (long long)(total - cl.l.shown));
	}
out:
	free(who);
	free(tag);
	sbuf_release(&terms);
	return err;
}
