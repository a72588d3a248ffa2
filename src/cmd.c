/* SPDX-License-Identifier: MIT */
/*
 * cmd.c - the dispatcher, the tokenizer and the reply buffer of the
 * command engine (see cmd.h). The dispatcher, not each handler, does
 * lookup, arity and permission checks and wraps each command in its own
 * transaction, the way Redis's processCommand does for its table.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "utf8.h"
#include "banned.h"

#define ARGS_MAX 256

/* "…", which marks where a reply or a text was cut: 3 bytes, and so
 * much room is always kept free in both bodies for the mark. */
#define ELLIPSIS "\xE2\x80\xA6"
#define ELLIPSIS_LEN 3
/* Most characters of a failure reply (it may quote what was typed). */
#define FAIL_CHARS 1000

/* Bytes c takes in a JSON string (as jansson and canonical JSON write
 * it: raw UTF-8, the short escapes, \u00XX for other controls). */
static size_t json_cost(unsigned char c)
{
	if (c == '"' || c == '\\')
		return 2;
	if (c < 0x20)
		return (c == '\b' || c == '\t' || c == '\n' || c == '\f' ||
			c == '\r') ? 2 : 6;
	return 1;
}

/* Bytes c takes in the HTML body: HTML-escaped (as sbuf_html does),
 * then JSON-escaped. */
static size_t html_cost(unsigned char c)
{
	switch (c) {
	case '&': return 5;  /* &amp; */
	case '<': return 4;  /* &lt; */
	case '>': return 4;  /* &gt; */
	case '"': return 6;  /* &quot; */
	case '\'': return 5; /* &#39; */
	default: return json_cost(c);
	}
}

static size_t json_len(const char *s, size_t n)
{
	size_t cost = 0;

	for (size_t i = 0; i < n; i++)
		cost += json_cost((unsigned char)s[i]);
	return cost;
}

/* Room left in a body: its budget less what is used, what is reserved
 * and the mark's room. */
static size_t room(size_t max, size_t used, size_t keep)
{
	size_t lim = max - ELLIPSIS_LEN;

	return used < lim && keep < lim - used ? lim - used - keep : 0;
}

static size_t body_room(const struct reply *r)
{
	return room(REPLY_BODY_MAX, r->body_cost, r->body_keep);
}

static size_t html_room(const struct reply *r)
{
	return room(REPLY_HTML_MAX, r->html_cost, r->html_keep);
}

void reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	/* The sbufs' own maximum is a second fence: raw bytes never
	 * exceed their JSON-escaped count. */
	sbuf_init(&r->body, REPLY_BODY_MAX);
	sbuf_init(&r->html, REPLY_HTML_MAX);
}

void reply_clear(struct reply *r)
{
	sbuf_release(&r->body);
	sbuf_release(&r->html);
	for (size_t i = 0; i < r->nmentions; i++)
		free(r->mentions[i]);
	free(r->mentions);
	person_names_clear(&r->names);
	reply_init(r);
}

void reply_reset(struct reply *r)
{
	sbuf_setlen(&r->body, 0);
	sbuf_setlen(&r->html, 0);
	r->body_cost = r->html_cost = 0;
	r->body_keep = r->html_keep = 0;
	r->full = 0;
}

sc_err reply_mention(struct reply *r, const char *user_id)
{
	size_t cost = json_len(user_id, strlen(user_id)) + 3; /* "id", */
	char **n;
	char *s;

	for (size_t i = 0; i < r->nmentions; i++)
		if (!strcmp(r->mentions[i], user_id))
			return SC_OK;
	if (cost > REPLY_MENTIONS_MAX - r->mentions_cost)
		return SC_OK;
	s = strdup(user_id);
	if (!s)
		return SC_ENOMEM;
	n = realloc(r->mentions, (r->nmentions + 1) * sizeof(*n));
	if (!n) {
		free(s);
		return SC_ENOMEM;
	}
	n[r->nmentions++] = s;
	r->mentions = n;
	r->mentions_cost += cost;
	return SC_OK;
}

/* Append to both bodies exactly, no check (the caller measured). */
static sc_err put(struct reply *r, const char *plain, size_t plen,
		  size_t pcost, const char *html, size_t hlen, size_t hcost)
{
	size_t blen = r->body.len;
	sc_err err = sbuf_add(&r->body, plain, plen);

	if (!err)
		err = sbuf_add(&r->html, html, hlen);
	if (err) {
		sbuf_setlen(&r->body, blen);
		if (err != SC_ETOOBIG)
			return err;
		/* cannot happen (raw bytes never exceed their count), but
		 * if it did the reply simply ends here */
		r->full = 1;
		return SC_OK;
	}
	r->body_cost += pcost;
	r->html_cost += hcost;
	return SC_OK;
}

/* The reply is full: mark the end with "…" in both bodies (its room is
 * always free) and take nothing more. */
static sc_err cut(struct reply *r)
{
	if (r->full)
		return SC_OK;
	r->full = 1;
	return put(r, ELLIPSIS, ELLIPSIS_LEN, ELLIPSIS_LEN, ELLIPSIS,
		   ELLIPSIS_LEN, ELLIPSIS_LEN);
}

/* Append plain to the plain body and raw html to the HTML body, both
 * or neither. */
static sc_err put_raw(struct reply *r, const char *plain, const char *html)
{
	size_t plen = strlen(plain), hlen = strlen(html);
	size_t pcost = json_len(plain, plen), hcost = json_len(html, hlen);

	if (r->full)
		return SC_OK;
	if (pcost > body_room(r) || hcost > html_room(r))
		return cut(r);
	return put(r, plain, plen, pcost, html, hlen, hcost);
}

sc_err reply_wrap(struct reply *r, const char *s, size_t max,
		  const char *open, const char *close)
{
	size_t len = strlen(s), olen, clen, oc, cc, proom, hroom;
	size_t pcost = 0, hcost = 0, end = 0, chars = 0;
	struct sbuf p, h;
	char *head;
	sc_err err;
	int shorten = 0; /* 1: cut at max characters, 2: out of room */

	if (r->full)
		return SC_OK;
	open = open ? open : "";
	close = close ? close : "";
	olen = strlen(open);
	clen = strlen(close);
	oc = json_len(open, olen);
	cc = json_len(close, clen);
	proom = body_room(r);
	hroom = html_room(r);
	if (oc + cc > hroom)
		return cut(r);
	hroom -= oc + cc;
	/* The longest run of whole characters, at most max of them, that
	 * fits the room left in both bodies. */
	while (end < len && (!max || chars < max)) {
		size_t n = 1, pc, hc = 0;

		while (end + n < len && ((unsigned char)s[end + n] & 0xC0) == 0x80)
			n++;
		pc = json_len(s + end, n);
		for (size_t k = 0; k < n; k++)
			hc += html_cost((unsigned char)s[end + k]);
		if (pcost + pc > proom || hcost + hc > hroom)
			break;
		pcost += pc;
		hcost += hc;
		end += n;
		chars++;
	}
	if (end < len)
		shorten = max && chars == max && pcost + ELLIPSIS_LEN <= proom &&
			  hcost + ELLIPSIS_LEN <= hroom ? 1 : 2;
	head = strndup(s, end);
	if (!head)
		return SC_ENOMEM;
	sbuf_init(&p, 0);
	sbuf_init(&h, 0);
	err = sbuf_add(&p, head, end);
	if (!err)
		err = sbuf_add(&h, open, olen);
	if (!err)
		err = sbuf_html(&h, head);
	if (!err && shorten == 1) {
		err = sbuf_add(&p, ELLIPSIS, ELLIPSIS_LEN);
		if (!err)
			err = sbuf_add(&h, ELLIPSIS, ELLIPSIS_LEN);
		pcost += ELLIPSIS_LEN;
		hcost += ELLIPSIS_LEN;
	}
	if (!err)
		err = sbuf_add(&h, close, clen);
	if (!err)
		err = put(r, p.buf, p.len, pcost, h.buf, h.len, hcost + oc + cc);
	/* out of room: what fit stays, "…" ends the reply */
	if (!err && shorten == 2)
		err = cut(r);
	free(head);
	sbuf_release(&p);
	sbuf_release(&h);
	return err;
}

sc_err reply_snip(struct reply *r, const char *s, size_t max)
{
	return reply_wrap(r, s, max, NULL, NULL);
}

sc_err reply_text(struct reply *r, const char *s)
{
	return reply_wrap(r, s, 0, NULL, NULL);
}

sc_err reply_textf(struct reply *r, const char *fmt, ...)
{
	struct sbuf tmp;
	va_list ap;
	sc_err err;

	sbuf_init(&tmp, 0);
	va_start(ap, fmt);
	err = sbuf_vprintf(&tmp, fmt, ap);
	va_end(ap);
	if (!err)
		err = reply_text(r, tmp.buf);
	sbuf_release(&tmp);
	return err == SC_ETOOBIG ? cut(r) : err;
}

sc_err reply_raw(struct reply *r, const char *plain, const char *html)
{
	return put_raw(r, plain, html);
}

sc_err reply_html(struct reply *r, const char *html)
{
	return put_raw(r, "", html);
}

sc_err reply_plain(struct reply *r, const char *s)
{
	return put_raw(r, s, "");
}

sc_err reply_id(struct reply *r, const struct record *rec)
{
	char id[24], html[40];

	record_short_id(rec, id, sizeof(id));
	snprintf(html, sizeof(html), "<b>%s</b>", id);
	return put_raw(r, id, html);
}

sc_err reply_names(struct reply *r, struct store *st, const char *room_id)
{
	return person_names_room(&r->names, st, room_id);
}

const char *reply_user_label(struct reply *r, const char *user_id)
{
	return person_label(&r->names, user_id);
}

sc_err reply_user(struct reply *r, const char *user_id)
{
	const char *label = reply_user_label(r, user_id);
	struct sbuf h;
	sc_err err;

	if (!label)
		return SC_ENOMEM;
	if (!person_is_user_id(user_id))
		return reply_text(r, label);
	sbuf_init(&h, 0);
	err = sbuf_puts(&h, "<a href=\"https://matrix.to/#/");
	if (!err)
		err = sbuf_html(&h, user_id);
	if (!err)
		err = sbuf_puts(&h, "\">");
	if (!err)
		err = sbuf_html(&h, label);
	if (!err)
		err = sbuf_puts(&h, "</a>");
	if (!err)
		err = put_raw(r, label, h.buf);
	sbuf_release(&h);
	return err;
}

sc_err reply_bold(struct reply *r, const char *s)
{
	return reply_wrap(r, s, 0, "<b>", "</b>");
}

sc_err reply_nl(struct reply *r)
{
	return put_raw(r, "\n", "<br>\n");
}

void reply_mark(const struct reply *r, struct reply_mark *m)
{
	m->body_len = r->body.len;
	m->html_len = r->html.len;
	m->body_cost = r->body_cost;
	m->html_cost = r->html_cost;
	m->full = r->full;
}

void reply_rewind(struct reply *r, const struct reply_mark *m)
{
	sbuf_setlen(&r->body, m->body_len);
	sbuf_setlen(&r->html, m->html_len);
	r->body_cost = m->body_cost;
	r->html_cost = m->html_cost;
	r->full = m->full;
}

void reply_room(const struct reply *r, size_t *body, size_t *html)
{
	*body = body_room(r);
	*html = html_room(r);
}

void reply_reserve(struct reply *r, size_t body, size_t html)
{
	r->body_keep += body;
	r->html_keep += html;
}

void reply_release(struct reply *r, size_t body, size_t html)
{
	r->body_keep = body < r->body_keep ? r->body_keep - body : 0;
	r->html_keep = html < r->html_keep ? r->html_keep - html : 0;
	r->full = 0;
}

void reply_list_open(struct reply_list *l, struct reply *r, int max)
{
	memset(l, 0, sizeof(*l));
	l->r = r;
	l->max = max;
	l->open = 1;
	reply_reserve(r, REPLY_TRAILER_ROOM, REPLY_TRAILER_ROOM);
}

int reply_list_begin(struct reply_list *l)
{
	if (!l->stopped && (l->r->full || (l->max >= 0 && l->shown >= l->max)))
		l->stopped = 1;
	if (l->stopped)
		return 0;
	reply_mark(l->r, &l->line);
	return 1;
}

int reply_list_end(struct reply_list *l)
{
	if (l->r->full) {
		reply_rewind(l->r, &l->line);
		l->stopped = 1;
		return 0;
	}
	l->shown++;
	return 1;
}

void reply_list_close(struct reply_list *l)
{
	if (!l->open)
		return;
	l->open = 0;
	reply_release(l->r, REPLY_TRAILER_ROOM, REPLY_TRAILER_ROOM);
}

void args_clear(struct args *a)
{
	for (int i = 0; i < a->argc; i++) {
		free(a->argv[i]);
		if (a->raw)
			free(a->raw[i]);
	}
	free(a->argv);
	free(a->quoted);
	free(a->raw);
	a->argc = 0;
	a->argv = NULL;
	a->quoted = NULL;
	a->raw = NULL;
}

sc_err cmd_tokenize(const char *line, struct args *out)
{
	struct args a = { 0, NULL, NULL, NULL };
	struct sbuf w;
	const char *p = line;
	sc_err err = SC_OK;

	if (!utf8_valid(line, strlen(line)))
		return SC_EINVAL;
	a.argv = calloc(ARGS_MAX, sizeof(*a.argv));
	a.quoted = calloc(ARGS_MAX, 1);
	a.raw = calloc(ARGS_MAX, sizeof(*a.raw));
	if (!a.argv || !a.quoted || !a.raw) {
		free(a.argv);
		free(a.quoted);
		free(a.raw);
		return SC_ENOMEM;
	}
	sbuf_init(&w, CMD_LINE_MAX);
	for (;;) {
		int quoted = ARG_PLAIN;
		const char *start;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (a.argc == ARGS_MAX) {
			err = SC_ETOOBIG;
			goto out;
		}
		sbuf_setlen(&w, 0);
		start = p;
		/* Only a double quote at the start of a word quotes (or
		 * after the @ of a name: @"Elon Musk"), so apostrophes in
		 * "don't" or "'; DROP" are plain text. */
		if (*p == '"' || (p[0] == '@' && p[1] == '"')) {
			quoted = *p == '"' ? ARG_QUOTED : ARG_NAME;
			if (quoted == ARG_NAME)
				err = sbuf_putc(&w, *p++);
			p++;
			while (*p && *p != '"' && !err) {
				if (*p == '\\' && p[1])
					p++;
				err = sbuf_putc(&w, *p++);
			}
			if (!*p && !err)
				err = SC_EINVAL;
			else if (!err)
				p++;
		}
		while (*p && !isspace((unsigned char)*p) && !err)
			err = sbuf_putc(&w, *p++);
		if (err)
			goto out;
		a.quoted[a.argc] = (unsigned char)quoted;
		a.raw[a.argc] = strndup(start, (size_t)(p - start));
		a.argv[a.argc] = sbuf_detach(&w, NULL);
		if (!a.argv[a.argc] || !a.raw[a.argc]) {
			a.argc++; /* freed by args_clear */
			err = SC_ENOMEM;
			goto out;
		}
		a.argc++;
	}
	*out = a;
	a.argv = NULL;
	a.quoted = NULL;
	a.raw = NULL;
	a.argc = 0;
out:
	sbuf_release(&w);
	args_clear(&a);
	return err;
}

/* Edit distance of a and b with adjacent swaps (optimal string
 * alignment), or more than limit as limit + 1. Short words only. */
static int distance(const char *a, const char *b, int limit)
{
	int la = (int)strlen(a), lb = (int)strlen(b);
	int d[26][26];

	if (la > 24 || lb > 24 || abs(la - lb) > limit)
		return limit + 1;
	for (int i = 0; i <= la; i++)
		d[i][0] = i;
	for (int j = 0; j <= lb; j++)
		d[0][j] = j;
	for (int i = 1; i <= la; i++) {
		for (int j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb] > limit ? limit + 1 : d[la][lb];
}

const struct command *cmd_nearest(const char *name)
{
	const struct command *tab, *best = NULL;
	size_t n, len = strlen(name);
	/* one slip in a short word, two in a longer one */
	int limit = len <= 4 ? 1 : 2, best_d = limit + 1;

	tab = cmd_table(&n);
	for (size_t i = 0; i < n; i++) {
		int d = distance(name, tab[i].name, limit);
		if (d < best_d) {
			best_d = d;
			best = &tab[i];
		}
	}
	return best;
}

sc_err cmd_fail(struct cmd_ctx *c, sc_err err, const char *fmt, ...)
{
	struct sbuf tmp;
	va_list ap;

	reply_reset(c->out);
	sbuf_init(&tmp, 0);
	va_start(ap, fmt);
	if (sbuf_vprintf(&tmp, fmt, ap) == SC_OK)
		reply_snip(c->out, tmp.buf, FAIL_CHARS);
	va_end(ap);
	sbuf_release(&tmp);
	c->out->failed = 1;
	return err;
}

sc_err cmd_usage(struct cmd_ctx *c, const struct command *cmd)
{
	return cmd_fail(c, SC_EINVAL, "usage: %s%s", c->cfg->prefix, cmd->usage);
}

int cmd_privileged(const struct cmd_ctx *c)
{
	return config_is_admin(c->cfg, c->sender) ||
	       c->power >= c->cfg->privileged_power;
}

/* Run fn inside its own transaction; a failure rolls it back. */
static sc_err cmd_run(struct cmd_ctx *c, const struct command *cmd,
		      const struct args *a)
{
	sc_err err = store_tx_begin(c->st);
	if (err)
		return err;
	err = cmd->fn(c, a);
	if (err || c->out->failed) {
		sc_err rb = store_tx_rollback(c->st);
		if (rb)
			return rb;
		if (err == SC_ESTORE || err == SC_EBUSY || err == SC_ENOMEM) {
			log_error("command '%s' failed: %s: %s", cmd->name,
				  sc_strerror(err), store_errmsg(c->st));
			return err;
		}
		if (!c->out->failed)
			cmd_fail(c, err, "%s failed: %s", cmd->name,
				 sc_strerror(err));
		return SC_OK;
	}
	return store_tx_commit(c->st);
}

sc_err cmd_dispatch(struct cmd_ctx *c, const char *line, int *handled)
{
	const struct command *cmd;
	struct args a = { 0, NULL, NULL, NULL };
	size_t plen = strlen(c->cfg->prefix);
	size_t len = strlen(line);
	sc_err err;

	*handled = 0;
	if (strncmp(line, c->cfg->prefix, plen) != 0) {
		/* Not a command, but maybe a command family's line
		 * (cmd_line_hook), run like a command. */
		if (!cmd_line_hook.wants(c, line))
			return SC_OK;
		err = store_tx_begin(c->st);
		if (err)
			return err;
		err = cmd_line_hook.fn(c, line, handled);
		if (err || c->out->failed) {
			sc_err rb = store_tx_rollback(c->st);
			if (rb)
				return rb;
			*handled = c->out->failed;
			return (err == SC_ESTORE || err == SC_EBUSY ||
				err == SC_ENOMEM) ? err : SC_OK;
		}
		return store_tx_commit(c->st);
	}
	line += plen;
	if (!*line || isspace((unsigned char)*line))
		return SC_OK; /* a lone "!" or "! text" is not a command */
	*handled = 1;
	if (len > CMD_LINE_MAX) {
		cmd_fail(c, SC_ETOOBIG, "that line is too long (%zu bytes, at most %d)",
			 len, CMD_LINE_MAX);
		return SC_OK;
	}
	err = cmd_tokenize(line, &a);
	if (err == SC_ENOMEM)
		return err;
	if (err) {
		cmd_fail(c, err, "%s", err == SC_ETOOBIG ? "too many words" :
			 utf8_valid(line, strlen(line)) ? "unterminated quote" :
			 "that line is not valid UTF-8");
		return SC_OK;
	}
	for (char *p = a.argv[0]; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	cmd = cmd_lookup(a.argv[0]);
	if (!cmd) {
		/* "!" followed by something that is no command, e.g. "!!"
		 * or "!important", is ordinary chat when it is not a
		 * plain word; unknown plain words get a hint. */
		int word = 1;
		for (const char *p = a.argv[0]; *p; p++)
			if (!isalpha((unsigned char)*p))
				word = 0;
		if (!word || strlen(a.argv[0]) > 24) {
			*handled = 0;
		} else if ((cmd = cmd_nearest(a.argv[0])) != NULL) {
			cmd_fail(c, SC_ENOTFOUND,
				 "unknown command '%s%s'; did you mean %s%s? (%shelp lists them all)",
				 c->cfg->prefix, a.argv[0], c->cfg->prefix,
				 cmd->name, c->cfg->prefix);
		} else {
			cmd_fail(c, SC_ENOTFOUND,
				 "unknown command '%s%s' (try %shelp)",
				 c->cfg->prefix, a.argv[0], c->cfg->prefix);
		}
		err = SC_OK;
		goto out;
	}
	if (a.argc < cmd->min_args ||
	    (cmd->max_args >= 0 && a.argc > cmd->max_args)) {
		cmd_usage(c, cmd);
		err = SC_OK;
		goto out;
	}
	if ((cmd->flags & CMD_PRIVILEGED) && !cmd_privileged(c)) {
		cmd_fail(c, SC_EPERM,
			 "%s%s needs power level %d in this room (you have %d)",
			 c->cfg->prefix, cmd->name, c->cfg->privileged_power,
			 c->power);
		err = SC_OK;
		goto out;
	}
	err = cmd_run(c, cmd, &a);
out:
	args_clear(&a);
	return err;
}
