/* SPDX-License-Identifier: MIT */
/*
 * engine.c - one chat message through the command engine (see engine.h).
 * Shared by the Matrix bot, the console and the tests so that all three
 * behave the same.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
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
			if (strchr(text, '<') == NULL && strcmp(text, id) != 0)
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

sc_err engine_message(struct store *st, const struct config *cfg,
		      const struct message *m, int64_t now, struct reply *out,
		      int *handled)
{
	struct room room;
	struct member mem;
	struct cmd_ctx c;
	char *line = NULL;
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
	err = store_member_get(st, m->room_id, m->sender, &mem);
	if (err == SC_OK) {
		c.power = mem.power;
		member_clear(&mem);
	} else if (err != SC_ENOTFOUND) {
		goto out;
	}
	err = store_member_spoke(st, m->room_id, m->sender, m->ts ? m->ts : now);
	if (err == SC_ENOTFOUND)
		err = SC_OK; /* not a member we track (yet) */
	if (err)
		goto out;
	if (m->html && strstr(m->html, "matrix.to/#/")) {
		err = engine_pills(m->body, m->html, &line);
		if (err)
			goto out;
	}
	err = cmd_dispatch(&c, line ? line : m->body, handled);
out:
	free(line);
	room_clear(&room);
	return err;
}
