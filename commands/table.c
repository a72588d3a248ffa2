/* SPDX-License-Identifier: MIT */
/*
 * table.c - the one command table (Redis's server.c, git's git.c),
 * sorted by name. The dispatcher checks arity and flags from here and
 * !help prints it; see cmd.h for how to add a row.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "banned.h"

static const struct command commands[] = {
	{ "accept", cmd_accept, 2, 2, CMD_WRITE,
	  "accept a proposed decision", "accept D4" },
	{ "assign", cmd_assign, 3, 12, CMD_WRITE,
	  "give an action item to someone else (pings them)",
	  "assign T12 @user [@user2]" },
	{ "catchup", cmd_catchup, 1, 2, 0,
	  "what happened here since your last message (or since a time)",
	  "catchup [since:3d]" },
	{ "changelog", cmd_changelog, 1, -1, 0,
	  "what was changed when, newest first",
	  "changelog [since:7d] [#target] [@user] [words]" },
	{ "decide", cmd_decide, 2, -1, CMD_WRITE,
	  "record an accepted decision",
	  "decide what was decided [because why]" },
	{ "decisions", cmd_decisions, 1, -1, 0,
	  "list or search decisions",
	  "decisions [proposed|accepted|rejected|superseded] [since:30d] [words]" },
	{ "digest", cmd_digest, 1, 6, CMD_WRITE,
	  "post the digest now, or set when it is posted (setting is privileged)",
	  "digest [at 09:00 [America/Toronto] [mon-fri] | off]" },
	{ "done", cmd_done, 2, -1, CMD_WRITE,
	  "mark an action item done", "done T12 [note]" },
	{ "drop", cmd_drop, 2, -1, CMD_WRITE,
	  "drop an action item that will not be done", "drop T12 [why]" },
	{ "due", cmd_due, 3, 3, CMD_WRITE,
	  "set or clear the due date of an action item",
	  "due T12 fri|2026-12-01|+3d|none" },
	{ "help", cmd_help, 1, 2, 0,
	  "list commands, or show how to use one", "help [command]" },
	{ "incident", cmd_incident, 1, -1, CMD_WRITE,
	  "open an incident (alone: list open ones); MTTR follows",
	  "incident [critical|major|minor] what is broken" },
	{ "info", cmd_info, 2, -1, CMD_WRITE,
	  "add a note to the running meeting's minutes", "info text" },
	{ "log", cmd_log, 2, -1, CMD_WRITE,
	  "record a change (deploys during the release freeze are flagged)",
	  "log what changed [#target]" },
	{ "meeting", cmd_meeting, 1, -1, CMD_WRITE,
	  "start or end a meeting; the reply to the end is its minutes",
	  "meeting start [title] | meeting end" },
	{ "propose", cmd_propose, 2, -1, CMD_WRITE,
	  "propose a decision; react 👍 👎 🤷 to check in",
	  "propose what to decide [because why]" },
	{ "reject", cmd_reject, 2, 2, CMD_WRITE,
	  "reject a proposed decision", "reject D4" },
	{ "reopen", cmd_reopen, 2, 2, CMD_WRITE,
	  "reopen a done or dropped action item", "reopen T12" },
	{ "resolved", cmd_resolved, 2, -1, CMD_WRITE,
	  "mark an incident resolved (shows the time to recovery)",
	  "resolved I2 [what fixed it]" },
	{ "review", cmd_review, 1, 2, 0,
	  "operational review: MTTR, deploy frequency, incidents, action items",
	  "review [since:7d]" },
	{ "search", cmd_search, 2, -1, 0,
	  "search every record of this room", "search words" },
	{ "supersede", cmd_supersede, 3, -1, CMD_WRITE | CMD_PRIVILEGED,
	  "replace a decision with a new one",
	  "supersede D4 new decision [because why]" },
	{ "todo", cmd_todo, 1, -1, CMD_WRITE,
	  "record an action item (alone: list open ones)",
	  "todo @user [@user2] text [due:fri|due:2026-12-01|due:+3d] [critical|major|minor] [#label]" },
	{ "todos", cmd_todos, 1, 2, 0,
	  "list open action items, grouped by assignee",
	  "todos [mine|@user|overdue|all|#label]" },
	{ "topic", cmd_topic, 2, -1, CMD_WRITE,
	  "start a new topic in the running meeting", "topic text" },
};

const struct command *cmd_table(size_t *count)
{
	*count = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct command *)elem)->name);
}

const struct command *cmd_lookup(const char *name)
{
	return bsearch(name, commands, sizeof(commands) / sizeof(commands[0]),
		       sizeof(commands[0]), cmp_name);
}
