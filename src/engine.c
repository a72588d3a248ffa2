/* SPDX-License-Identifier: MIT */
/*
 * engine.c - one chat message through the command engine (see engine.h).
 * Shared by the Matrix bot, the console and the tests so that all three
 * behave the same.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "remind.h"
#include "revert.h"
#include "utf8.h"
#include "banned.h"

sc_err engine_room_ensure(struct store *st, const char *room_id, int64_t now)
{
	struct room r;
	sc_err err = store_room_get(st, room_id, &r);

	if (err == SC_OK) {
		if (r.joined_at)
			goto out;
		r.joined_at = now;
	} else if (err == SC_ENOTFOUND) {
		memset(&r, 0, sizeof(r));
		r.room_id = strdup(room_id);
		if (!r.room_id)
			return SC_ENOMEM;
		r.digest_minute = -1;
		r.joined_at = now;
	} else {
		return err;
	}
	err = store_room_put(st, &r);
out:
	room_clear(&r);
	return err;
}

sc_err engine_room_alias(struct store *st, const char *room_id,
			 const char *alias)
{
	struct sbuf key;
	sc_err err;

	sbuf_init(&key, 0);
	err = sbuf_printf(&key, "room.alias.%s", room_id);
	if (!err && alias && *alias && utf8_valid(alias, strlen(alias)) &&
	    strlen(alias) <= 255)
		err = store_kv_put(st, key.buf, alias);
	else if (!err)
		err = store_kv_del(st, key.buf);
	if (err == SC_ENOTFOUND)
		err = SC_OK;
	sbuf_release(&key);
	return err;
}

/* Replace the first occurrence of what in *s by with (reallocating). */
static sc_err replace_first(char **s, const char *what, const char *with)
{
	char *at = strstr(*s, what);
	size_t pre, wl = strlen(what);
	struct sbuf sb;

	if (!at || !wl)
		return SC_OK;
	pre = (size_t)(at - *s);
	sbuf_init(&sb, 0);
	if (sbuf_add(&sb, *s, pre) || sbuf_puts(&sb, with) ||
	    sbuf_puts(&sb, at + wl)) {
		sbuf_release(&sb);
		return SC_ENOMEM;
	}
	free(*s);
	*s = sbuf_detach(&sb, NULL);
	return *s ? SC_OK : SC_ENOMEM;
}

/* Decode the few entities a client puts in pill text. */
static void html_unescape(char *s)
{
	static const struct { const char *e; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&#39;", '\'' }, { "&#x27;", '\'' },
	};
	char *w = s;

	while (*s) {
		size_t i;
		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			size_t n = strlen(ents[i].e);
			if (!strncmp(s, ents[i].e, n)) {
				*w++ = ents[i].c;
				s += n;
				break;
			}
		}
		if (i == sizeof(ents) / sizeof(ents[0]))
			*w++ = *s++;
	}
	*w = '\0';
}

/* A user id as a pill may name: "@local:server", printable ASCII with
 * no space, quote, angle bracket or percent sign, at most 255 bytes (the spec's
 * limit). Anything else in an href is not a pill. */
static int pill_user_id(const char *id)
{
	const char *colon = strchr(id, ':');
	size_t n = strlen(id);

	if (id[0] != '@' || !colon || colon == id + 1 || !colon[1] || n > 255)
		return 0;
	for (const char *p = id; *p; p++)
		if (*p <= ' ' || *p > '~' || strchr("\"'<>%\\", *p))
			return 0;
	return 1;
}

sc_err engine_pills(const char *body, const char *html, char **out)
{
	static const char link[] = "href=\"https://matrix.to/#/";
	char *res = strdup(body);
	const char *p = html;
	sc_err err = SC_OK;

	if (!res)
		return SC_ENOMEM;
	while (p && (p = strstr(p, link)) != NULL && !err) {
		const char *uid = p + sizeof(link) - 1, *uend, *tstart, *tend;
		char *id, *text;

		uend = strchr(uid, '"');
		if (!uend)
			break;
		tstart = strchr(uend, '>');
		if (!tstart)
			break;
		tstart++;
		tend = strstr(tstart, "</a>");
		if (!tend)
			break;
		p = tend;
		if (*uid != '@' && strncmp(uid, "%40", 3) != 0)
			continue;
		id = strndup(uid, (size_t)(uend - uid));
		text = strndup(tstart, (size_t)(tend - tstart));
		if (!id || !text) {
			err = SC_ENOMEM;
		} else {
			char *q = strchr(id, '?');
			if (q)
				*q = '\0';
			if (!strncmp(id, "%40", 3)) {
				id[0] = '@';
				memmove(id + 1, id + 3, strlen(id + 3) + 1);
			}
			for (char *c = id; (c = strstr(c, "%3A")) != NULL;) {
				*c = ':';
				memmove(c + 1, c + 3, strlen(c + 3) + 1);
			}
			html_unescape(text);
			if (pill_user_id(id) && strchr(text, '<') == NULL &&
			    strcmp(text, id) != 0)
				err = replace_first(&res, text, id);
		}
		free(id);
		free(text);
	}
	if (err) {
		free(res);
		return err;
	}
	*out = res;
	return SC_OK;
}

/* A message with a NUL in it: a command (or a meeting tag) gets a clear
 * refusal, anything else is chat and left alone. Nothing is stored: the
 * text is not what the sender's client shows. */
static sc_err refuse_bad_text(struct cmd_ctx *c, const char *body, int *handled)
{
	size_t plen = strlen(c->cfg->prefix);
	int command = !strncmp(body, c->cfg->prefix, plen) && body[plen] &&
		      !isspace((unsigned char)body[plen]);

	if (!command && !(c->meeting && body[0] == '#'))
		return SC_OK;
	*handled = 1;
	cmd_fail(c, SC_EINVAL, "that message holds a NUL character or an "
		 "invalid escape or byte, which scribe cannot record; nothing "
		 "was recorded (type it again without it)");
	return SC_OK;
}

sc_err engine_message(struct store *st, const struct config *cfg,
		      const struct message *m, int64_t now, struct reply *out,
		      int *handled)
{
	struct room room;
	struct member mem;
	struct cmd_ctx c;
	char *line = NULL, *user_tz = NULL;
	sc_err err;

	*handled = 0;
	err = store_room_get(st, m->room_id, &room);
	if (err)
		return err;
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.cfg = cfg;
	c.room_id = m->room_id;
	c.sender = m->sender;
	c.event_id = m->event_id;
	c.html = m->html;
	c.now = now;
	c.tz = room.tz ? room.tz : cfg->timezone;
	c.meeting = room.meeting;
	c.out = out;
	/* people in replies by their names in this room */
	err = reply_names(out, st, m->room_id);
	if (err)
		goto out;
	err = store_member_get(st, m->room_id, m->sender, &mem);
	if (err == SC_OK) {
		c.power = mem.power;
		c.last_spoke = mem.last_spoke;
		member_clear(&mem);
	} else if (err != SC_ENOTFOUND) {
		goto out;
	}
	/* the sender's own zone (!tz me): the times they type */
	err = remind_user_tz(st, m->sender, &user_tz);
	if (err)
		goto out;
	c.user_tz = user_tz;
	err = store_member_spoke(st, m->room_id, m->sender, m->ts ? m->ts : now);
	if (err == SC_ENOTFOUND)
		err = SC_OK; /* not a member we track (yet) */
	/* Whoever speaks during a meeting attends it, commands included;
	 * each message is a line said (MeetBot's "lines said"). */
	if (!err && room.meeting)
		err = store_attendee_line(st, room.meeting, m->sender,
					  m->ts ? m->ts : now);
	if (err)
		goto out;
	if (m->html && strstr(m->html, "matrix.to/#/")) {
		err = engine_pills(m->body, m->html, &line);
		if (err)
			goto out;
	}
	if (m->bad_text)
		err = refuse_bad_text(&c, m->body, handled);
	else
		err = cmd_dispatch(&c, line ? line : m->body, handled);
out:
	free(line);
	free(user_tz);
	room_clear(&room);
	return err;
}

/* Copy the fields an edit may change from src into dst. */
static sc_err take_edit(struct record *dst, const struct record *src)
{
	sc_err err = record_set(&dst->text, src->text);

	if (!err)
		err = record_set(&dst->detail, src->detail);
	if (!err)
		err = record_set(&dst->severity, src->severity);
	dst->due = src->due;
	for (size_t i = 0; i < dst->nassignees; i++)
		free(dst->assignees[i]);
	dst->nassignees = 0;
	for (size_t i = 0; i < dst->ntags; i++)
		free(dst->tags[i]);
	dst->ntags = 0;
	for (size_t i = 0; i < src->nassignees && !err; i++)
		err = record_add_assignee(dst, src->assignees[i]);
	for (size_t i = 0; i < src->ntags && !err; i++)
		err = record_add_tag(dst, src->tags[i]);
	return err;
}

/* Whether an edit of original by sender is one Element shows: the
 * original was seen, is no edit itself, and is the editor's own. *seen
 * says whether the original was seen at all (or is older than the seen
 * events kept). */
static sc_err edit_shown(struct store *st, const char *original,
			 const char *sender, int *shown, int *seen)
{
	char *from = NULL, *edit_of = NULL;
	sc_err err = store_event_get(st, original, &from, &edit_of);

	*seen = err == SC_OK;
	*shown = err == SC_ENOTFOUND ||
		 (!err && !edit_of && from && !strcmp(from, sender));
	free(from);
	free(edit_of);
	return err == SC_ENOTFOUND ? SC_OK : err;
}

sc_err engine_edit(struct store *st, const struct config *cfg,
		   const struct message *m, const char *original, int64_t now,
		   struct reply *out, int *handled)
{
	struct record old, fresh;
	struct reply tmp;
	int made = 0, shown, seen;
	sc_err err;

	*handled = 0;
	memset(&fresh, 0, sizeof(fresh));
	err = edit_shown(st, original, m->sender, &shown, &seen);
	if (err || !shown)
		return err;
	err = store_record_by_event(st, original, &old);
	if (err == SC_ENOTFOUND) {
		/* A message that made no record now reads as a command: it
		 * is run once, as the original (so a second edit updates
		 * what the first made, and redacting the original withdraws
		 * it). An original never seen is left alone. */
		struct message as = *m;
		if (!seen)
			return SC_OK;
		as.event_id = original;
		return engine_message(st, cfg, &as, now, out, handled);
	}
	if (err)
		return err;
	if (strcmp(old.author, m->sender) != 0 || strcmp(old.room_id, m->room_id) != 0)
		goto out;
	/* Parse the new text as a fresh command inside a savepoint, keep
	 * the record it would make, and undo it: all parsing rules stay in
	 * one place, the handlers. */
	reply_init(&tmp);
	err = store_tx_begin(st);
	if (!err)
		err = engine_message(st, cfg, m, now, &tmp, &made);
	if (!err && made && tmp.record)
		err = store_record_get_id(st, tmp.record, &fresh);
	if (err) {
		store_tx_rollback(st);
		reply_clear(&tmp);
		goto out;
	}
	err = store_tx_rollback(st);
	if (err) {
		reply_clear(&tmp);
		goto out;
	}
	*handled = 1;
	if (tmp.failed) {
		reply_clear(out);
		*out = tmp;
		goto out;
	}
	reply_clear(&tmp);
	if (!fresh.id || fresh.kind != old.kind) {
		reply_textf(out, "The edit does not read as a %s any more; ",
			    rec_kind_name(old.kind));
		reply_id(out, &old);
		reply_text(out, " is unchanged.");
		out->failed = 1;
		goto out;
	}
	err = take_edit(&old, &fresh);
	if (!err)
		err = store_record_update(st, &old, m->sender, now, m->event_id);
	if (err)
		goto out;
	out->record = old.id;
	err = reply_text(out, "Updated ");
	if (!err)
		err = reply_id(out, &old);
	if (!err)
		err = reply_text(out, ": ");
	if (!err)
		err = reply_snip(out, old.text, REPLY_ECHO_CHARS);
out:
	record_clear(&fresh);
	record_clear(&old);
	return err;
}

/* Say, for each record a redaction set back: "T3 is back to what it
 * was before that message: text". */
struct undo_reply {
	struct reply *out;
	int *handled;
	sc_err err;
};

static int undo_said(const struct record *r, void *ctx)
{
	struct undo_reply *u = ctx;
	struct reply *out = u->out;

	*u->handled = 1;
	if (!out->record)
		out->record = r->id;
	if (out->body.len)
		u->err = reply_text(out, "; ");
	if (!u->err)
		u->err = reply_id(out, r);
	if (!u->err)
		u->err = reply_text(out, " is back to what it was before that message: ");
	if (!u->err)
		u->err = reply_snip(out, r->text, REPLY_LINE_CHARS);
	return u->err != SC_OK;
}

static sc_err undo_event(struct store *st, const char *room, const char *redacted,
			 const char *actor, int64_t now, struct reply *out,
			 int *handled)
{
	struct undo_reply u = { out, handled, SC_OK };
	sc_err err = revert_event(st, room, redacted, actor, now, NULL, undo_said,
				  &u, NULL);

	return err ? err : u.err;
}

sc_err engine_redaction(struct store *st, const char *room, const char *redacted,
			const char *actor, int64_t now, struct reply *out,
			int *handled)
{
	struct record r;
	char *from = NULL, *edit_of = NULL;
	int made, is_edit;
	sc_err err;

	*handled = 0;
	err = store_vote_remove_event(st, redacted);
	if (err != SC_ENOTFOUND)
		return err;
	err = store_record_by_event(st, redacted, &r);
	if (err && err != SC_ENOTFOUND)
		return err;
	if (!err && !r.withdrawn && !strcmp(r.room_id, room)) {
		r.withdrawn = 1;
		err = store_record_update(st, &r, actor, now, NULL);
		if (!err) {
			*handled = 1;
			out->record = r.id;
			err = reply_id(out, &r);
			if (!err)
				err = reply_text(out, " withdrawn (its message was deleted): ");
			if (!err)
				err = reply_snip(out, r.text, REPLY_ECHO_CHARS);
		}
	}
	made = err != SC_ENOTFOUND;
	if (made)
		record_clear(&r);
	if (err && err != SC_ENOTFOUND)
		return err;
	err = store_event_get(st, redacted, &from, &edit_of);
	if (err && err != SC_ENOTFOUND)
		return err;
	is_edit = edit_of != NULL;
	free(from);
	free(edit_of);
	/* What an edit changed goes back, and so does what a command that
	 * made a record changed elsewhere (the decision a !supersede
	 * overturned). A deleted "!done T3" leaves T3 done: deleting
	 * one's command is tidying the chat, not taking the work back. */
	return made || is_edit ?
	       undo_event(st, room, redacted, actor, now, out, handled) : SC_OK;
}

sc_err engine_reaction(struct store *st, const char *room, const char *target,
		       const char *key, const char *sender, const char *event_id)
{
	/* Keys arrive with or without the emoji variation selector
	 * (U+FE0F) and, for the shrug, with a gender sign. */
	static const struct { const char *prefix; const char *vote; } votes[] = {
		{ "\xF0\x9F\x91\x8D", "up" },   /* 👍 */
		{ "\xF0\x9F\x91\x8E", "down" }, /* 👎 */
		{ "\xF0\x9F\xA4\xB7", "meh" },  /* 🤷 */
	};
	struct record r;
	int64_t id;
	sc_err err;

	for (size_t i = 0; i < sizeof(votes) / sizeof(votes[0]); i++) {
		if (strncmp(key, votes[i].prefix, strlen(votes[i].prefix)) != 0)
			continue;
		err = store_record_for_event(st, target, &id);
		if (err == SC_ENOTFOUND)
			return SC_OK;
		if (err)
			return err;
		err = store_record_get_id(st, id, &r);
		if (err)
			return err;
		/* a relation inside ciphertext is unchecked by the server:
		 * a reaction counts only in the record's own room */
		if (r.kind == REC_DECISION && !r.withdrawn && !strcmp(r.room_id, room))
			err = store_vote_add(st, id, sender, votes[i].vote, event_id);
		record_clear(&r);
		return err;
	}
	return SC_OK;
}
