/* SPDX-License-Identifier: MIT */
/*
 * search.c - !search over every kind of record (full text, newest
 * first) and !help, which is generated from the command table.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "banned.h"

/* Most lines !search lists (fewer when they are long). */
#define SEARCH_MAX 20

sc_err cmd_search(struct cmd_ctx *c, const struct args *a)
{
	struct rec_query q;
	char *terms = args_join(a, 1, a->argc);
	sc_err err;

	if (!terms)
		return SC_ENOMEM;
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.terms = terms;
	q.order = ORDER_NEWEST;
	err = render_query(c, &q, 0, "Nothing found.", SEARCH_MAX,
			   "(add words to narrow it; scribe export has everything)");
	free(terms);
	return err;
}

sc_err cmd_help(struct cmd_ctx *c, const struct args *a)
{
	const struct command *cmd;
	size_t n;
	sc_err err = SC_OK;

	if (a->argc == 2) {
		const char *name = a->argv[1];
		if (!strncmp(name, c->cfg->prefix, strlen(c->cfg->prefix)))
			name += strlen(c->cfg->prefix);
		cmd = cmd_lookup(name);
		if (!cmd)
			return cmd_fail(c, SC_ENOTFOUND,
					"no command '%s' (try %shelp)", name,
					c->cfg->prefix);
		err = reply_bold(c->out, c->cfg->prefix);
		if (!err)
			err = reply_textf(c->out, "%s — %s", cmd->usage, cmd->summary);
		if (!err && (cmd->flags & CMD_PRIVILEGED))
			err = reply_textf(c->out,
					  "\nNeeds power level %d in the room.",
					  c->cfg->privileged_power);
		return err;
	}
	cmd = cmd_table(&n);
	err = reply_text(c->out, "scribe keeps this room's action items, decisions and changes. Commands:");
	for (size_t i = 0; i < n && !err; i++) {
		err = reply_nl(c->out);
		if (!err)
			err = reply_textf(c->out, "%s%s — %s", c->cfg->prefix,
					  cmd[i].name, cmd[i].summary);
	}
	if (!err)
		err = reply_textf(c->out, "\nMore: %shelp <command>", c->cfg->prefix);
	return err;
}
