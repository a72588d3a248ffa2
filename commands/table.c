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
	{ "accept", cmd_accept, 2, -1, CMD_WRITE,
	  "accept a proposal (proposals only)", "accept D4 [note]" },
	{ "ack", cmd_ack, 2, -1, CMD_WRITE,
	  "acknowledge a critical or major item: its escalation stops",
	  "ack T12|I3 [note]" },
	{ "assign", cmd_assign, 3, 24, CMD_WRITE,
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
	  "list or search decisions; proposals show their check-in",
	  "decisions [proposed|accepted|rejected|superseded] [since:30d] [words]" },
	{ "digest", cmd_digest, 1, 6, CMD_WRITE,
	  "post the digest now, or set when it is posted (setting is privileged)",
	  "digest [at 09:00 [America/Toronto] [mon-fri] | off]" },
	{ "done", cmd_done, 2, -1, CMD_WRITE,
	  "mark action items done", "done T12 [T13 …] [note]" },
	{ "drop", cmd_drop, 2, -1, CMD_WRITE,
	  "drop action items that will not be done", "drop T12 [T13 …] [why]" },
	{ "due", cmd_due, 3, 8, CMD_WRITE,
	  "set or clear the due date of an action item",
	  "due T12 fri|fri 17:00|2026-12-24|+3d|none" },
	{ "escalate", cmd_escalate, 1, 12, CMD_WRITE,
	  "whom items that miss their SLA are escalated to here (setting is privileged)",
	  "escalate [to @user [@user2] | off | default]" },
	{ "help", cmd_help, 1, 2, 0,
	  "list commands, or show how to use one", "help [command]" },
	{ "hours", cmd_hours, 1, 6, CMD_WRITE,
	  "ops hours: outside them only critical items ping (setting is privileged)",
	  "hours [sun-thu 09:00-18:00 | on-call fri-sat 09:00-17:00 | off | default]" },
	{ "incident", cmd_incident, 1, -1, CMD_WRITE,
	  "open an incident (alone: list open ones); MTTR follows",
	  "incident [critical|major|minor] what is broken" },
	{ "info", cmd_info, 2, -1, CMD_WRITE,
	  "add a note to the running meeting's minutes", "info text" },
	{ "log", cmd_log, 2, -1, CMD_WRITE,
	  "record a change (deploys during the release freeze are flagged)",
	  "log what changed [#target]" },
	{ "meeting", cmd_meeting, 1, -1, CMD_WRITE,
	  "start or end a meeting (MeetBot's #tags work during it); the reply to the end is its minutes",
	  "meeting start [strategy|review] [title] | meeting end" },
	{ "propose", cmd_propose, 2, -1, CMD_WRITE,
	  "propose a decision; react 👍 👎 🤷 to check in",
	  "propose what to decide [because why]" },
	{ "reject", cmd_reject, 2, -1, CMD_WRITE,
	  "reject a proposal (proposals only)", "reject D4 [note]" },
	{ "remind", cmd_remind, 2, -1, CMD_WRITE,
	  "remind someone, yourself or the room at a time, once or every week",
	  "remind me|@user|here <when> text | remind cancel R3 | remind before 30m|off|on" },
	{ "reminders", cmd_reminders, 1, 2, 0,
	  "the reminders waiting here, and how due items ping",
	  "reminders [mine]" },
	{ "reopen", cmd_reopen, 2, -1, CMD_WRITE,
	  "reopen done or dropped action items", "reopen T12 [T13 …] [why]" },
	{ "resolved", cmd_resolved, 2, -1, CMD_WRITE,
	  "mark an incident resolved (shows the time to recovery)",
	  "resolved I2 [what fixed it]" },
	{ "review", cmd_review, 1, 2, 0,
	  "operational review: MTTR, deploy frequency, incidents, action items",
	  "review [since:7d]" },
	{ "revoke", cmd_revoke, 2, -1, CMD_WRITE | CMD_PRIVILEGED,
	  "overturn an accepted decision (it becomes rejected)",
	  "revoke D4 [why]" },
	{ "search", cmd_search, 2, -1, 0,
	  "search every record of this room", "search words" },
	{ "supersede", cmd_supersede, 3, -1, CMD_WRITE | CMD_PRIVILEGED,
	  "replace a decision with a new one",
	  "supersede D4 new decision [because why]" },
	{ "todo", cmd_todo, 1, -1, CMD_WRITE,
	  "record an action item (alone: list open ones)",
	  "todo @user [@user2] text [due:fri|due:fri 17:00|due:2026-12-24|due:+3d] [critical|major|minor] [#label]" },
	{ "todos", cmd_todos, 1, -1, 0,
	  "list open action items, grouped by assignee",
	  "todos [mine|@user] [overdue|all] [#label]" },
	{ "topic", cmd_topic, 2, -1, CMD_WRITE,
	  "start a new topic in the running meeting", "topic text" },
	{ "tz", cmd_tz, 1, 3, CMD_WRITE,
	  "this room's time zone, or your own (setting the room's is privileged)",
	  "tz [Europe/Berlin | me [America/Toronto|off]]" },
	{ "undo", cmd_undo, 1, 1, CMD_WRITE,
	  "take back your own last change here (within 10 minutes)", "undo" },
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
