/* SPDX-License-Identifier: MIT */
/*
 * cmd.c - the dispatcher, the tokenizer and the reply buffer of the
 * command engine (see cmd.h). The dispatcher, not each handler, does
 * lookup, arity and permission checks and wraps each command in its own
 * transaction, the way Redis's processCommand does for its table.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "commands.h"
#include "log.h"
#include "utf8.h"
#include "banned.h"

#define ARGS_MAX 256

void reply_init(struct reply *r)
{
	sbuf_init(&r->body, REPLY_MAX);
	sbuf_init(&r->html, REPLY_MAX * 4);
	r->mentions = NULL;
	r->nmentions = 0;
	r->record = 0;
	r->failed = 0;
}

void reply_clear(struct reply *r)
{
	sbuf_release(&r->body);
	sbuf_release(&r->html);
	for (size_t i = 0; i < r->nmentions; i++)
		free(r->mentions[i]);
	free(r->mentions);
	r->mentions = NULL;
	r->nmentions = 0;
	r->record = 0;
	r->failed = 0;
}

sc_err reply_mention(struct reply *r, const char *user_id)
{
	char **n;
	char *s;

	for (size_t i = 0; i < r->nmentions; i++)
		if (!strcmp(r->mentions[i], user_id))
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
	return SC_OK;
}

sc_err reply_text(struct reply *r, const char *s)
{
	sc_err err = sbuf_puts(&r->body, s);
	return err ? err : sbuf_html(&r->html, s);
}

sc_err reply_textf(struct reply *r, const char *fmt, ...)
{
	struct sbuf tmp;
	va_list ap;
	sc_err err;

	sbuf_init(&tmp, REPLY_MAX);
	va_start(ap, fmt);
	err = sbuf_vprintf(&tmp, fmt, ap);
	va_end(ap);
	if (!err)
		err = reply_text(r, tmp.buf);
	sbuf_release(&tmp);
	return err;
}

sc_err reply_html(struct reply *r, const char *html)
{
	return sbuf_puts(&r->html, html);
}

sc_err reply_plain(struct reply *r, const char *s)
{
	return sbuf_puts(&r->body, s);
}

sc_err reply_id(struct reply *r, const struct record *rec)
{
	char id[24];
	sc_err err;

	record_short_id(rec, id, sizeof(id));
	err = sbuf_puts(&r->body, id);
	if (!err)
		err = sbuf_printf(&r->html, "<b>%s</b>", id);
	return err;
}

sc_err reply_user(struct reply *r, const char *user_id)
{
	sc_err err = sbuf_puts(&r->body, user_id);
	if (!err)
		err = sbuf_puts(&r->html, "<a href=\"https://matrix.to/#/");
	if (!err)
		err = sbuf_html(&r->html, user_id);
	if (!err)
		err = sbuf_puts(&r->html, "\">");
	if (!err)
		err = sbuf_html(&r->html, user_id);
	if (!err)
		err = sbuf_puts(&r->html, "</a>");
	return err;
}

sc_err reply_bold(struct reply *r, const char *s)
{
	sc_err err = sbuf_puts(&r->body, s);
	if (!err)
		err = sbuf_puts(&r->html, "<b>");
	if (!err)
		err = sbuf_html(&r->html, s);
	if (!err)
		err = sbuf_puts(&r->html, "</b>");
	return err;
}

sc_err reply_nl(struct reply *r)
{
	sc_err err = sbuf_putc(&r->body, '\n');
	return err ? err : sbuf_puts(&r->html, "<br>\n");
}

void args_clear(struct args *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a->quoted);
	a->argc = 0;
	a->argv = NULL;
	a->quoted = NULL;
}

sc_err cmd_tokenize(const char *line, struct args *out)
{
	struct args a = { 0, NULL, NULL };
	struct sbuf w;
	const char *p = line;
	sc_err err = SC_OK;

	if (!utf8_valid(line, strlen(line)))
		return SC_EINVAL;
	a.argv = calloc(ARGS_MAX, sizeof(*a.argv));
	a.quoted = calloc(ARGS_MAX, 1);
	if (!a.argv || !a.quoted) {
		free(a.argv);
		free(a.quoted);
		return SC_ENOMEM;
	}
	sbuf_init(&w, CMD_LINE_MAX);
	for (;;) {
		int quoted = 0;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (a.argc == ARGS_MAX) {
			err = SC_ETOOBIG;
			goto out;
		}
		sbuf_setlen(&w, 0);
		/* Only a double quote at the start of a word quotes, so
		 * apostrophes in "don't" or "'; DROP" are plain text. */
		if (*p == '"') {
			quoted = 1;
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
		a.argv[a.argc] = sbuf_detach(&w, NULL);
		if (!a.argv[a.argc]) {
			err = SC_ENOMEM;
			goto out;
		}
		a.argc++;
	}
	*out = a;
	a.argv = NULL;
	a.quoted = NULL;
	a.argc = 0;
out:
	sbuf_release(&w);
	args_clear(&a);
	return err;
}

sc_err cmd_fail(struct cmd_ctx *c, sc_err err, const char *fmt, ...)
{
	struct sbuf tmp;
	va_list ap;

	sbuf_setlen(&c->out->body, 0);
	sbuf_setlen(&c->out->html, 0);
	sbuf_init(&tmp, REPLY_MAX);
	va_start(ap, fmt);
	if (sbuf_vprintf(&tmp, fmt, ap) == SC_OK)
		reply_text(c->out, tmp.buf);
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
	struct args a = { 0, NULL, NULL };
	size_t plen = strlen(c->cfg->prefix);
	size_t len = strlen(line);
	sc_err err;

	*handled = 0;
	if (strncmp(line, c->cfg->prefix, plen) != 0) {
		/* Not a command: inside a meeting it may still be minutes. */
		if (!c->meeting)
			return SC_OK;
		err = store_tx_begin(c->st);
		if (err)
			return err;
		err = meeting_line(c, line, handled);
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
