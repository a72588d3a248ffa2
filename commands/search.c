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

/* Most lines !search lists: what a phone shows without scrolling
 * (fewer when they are long). */
#define SEARCH_MAX 15

/* Every due date form (when_parse_due), for !help and !help todo. */
#define DATE_FORMS                                                        \
	"today, tonight, eod, tomorrow, eow (Friday), mon … sun (the next "  \
	"one), next fri (that day of next week), next week (its Friday), "  \
	"2026-12-24, 12-24, dec24, dec 24, 24 dec; a time after any of "     \
	"them: fri 17:00, 2026-12-24 17:00, tomorrow 9am; a time alone: "   \
	"17:00 (today, or tomorrow once past); +3d, +2w, in 3 days (the "    \
	"end of that day); +4h, +30m, in 2 hours (exact). A date without "  \
	"a time means the end of that day; a date in the past is refused."

/* What !help <command> adds below the usage line. */
static const struct {
	const char *name;
	const char *text;
} details[] = {
	{ "accept", "Only a proposal can be accepted or rejected; an accepted "
		    "decision is overturned by %ssupersede or %srevoke "
		    "(privileged). Words after the id are a note kept in the "
		    "history." },
	{ "assign", "People: @bob, bob, @\"Elon Musk\", Elon Musk, me; several "
		    "as @bob @dc, bob, dc or bob + dc. They replace the "
		    "assignees; the new ones are pinged." },
	{ "done", "Several ids close each: %sdone T1 T2 fixed both (one "
		  "reply); the words after the ids are the note, kept in the "
		  "history. %sundo takes it back." },
	{ "drop", "Several ids drop each: %sdrop T3 T4 not needed; the words "
		  "after the ids are the note, kept in the history." },
	{ "due", "Dates: " DATE_FORMS },
	{ "log", "A change is a deploy when it is tagged #deploy or #release "
		 "(the configured deploy_tags); its words never count. A "
		 "deploy in the release freeze gets a warning." },
	{ "reject", "Only a proposal can be accepted or rejected; an accepted "
		    "decision is overturned by %ssupersede or %srevoke "
		    "(privileged). Words after the id are a note kept in the "
		    "history." },
	{ "reopen", "Reopening clears the done note (the history keeps it); "
		    "words after the ids are a note kept in the history." },
	{ "revoke", "Turns an accepted decision into a rejected one; the "
		    "history keeps who revoked it and why." },
	{ "todo", "People first: @elon, @\"Elon Musk\", a pill, @me, or a "
		  "leading elon: / elon, bob: / elon + bob: naming members "
		  "(nobody is guessed; a bare name stays text). Text keeps what "
		  "you typed, quotes too. Dates (due:…): " DATE_FORMS },
	{ "todos", "Open items grouped by person (a line under a person "
		   "names only the other owners); filters combine: %stodos "
		   "overdue @bob, %stodos all #docs (all adds the done and "
		   "dropped ones); me or @me means you." },
	{ "undo", "Takes back your own last change in this room from the last "
		  "10 minutes: a record you made is withdrawn, a change goes "
		  "back; the reply says what was undone and the history keeps "
		  "both. Again: the change before." },
	/* reminders, escalation, ops hours, zones (commands/remind.c, tz.c) */
	{ "ack", "Stops the SLA escalation of a critical or major item (any "
		 "change of its status does too); recorded in its history with "
		 "who and when." },
	{ "escalate", "A critical or major item still open when its SLA ends "
		      "(bot.conf [sla]) pings its people and the escalation "
		      "contacts, again one SLA later per level; %sack stops it. "
		      "off: nobody here; default: bot.conf's contacts." },
	{ "hours", "Outside the ops hours only critical items ping; the rest "
		   "wait until the hours open, then go out as one message. A "
		   "critical item outside the on-call hours too pings the "
		   "escalation contacts only. In the room's zone (%stz); an end "
		   "before the start runs past midnight." },
	{ "remind", "When: in 2h, in 30 minutes, 17:00, 5pm, tomorrow 9:00, fri "
		    "17:00 (today while ahead), 2026-12-24 09:00; a day alone "
		    "means 09:00. Again: every mon 09:00, every weekday 17:30, "
		    "every day 8:00, every mon,thu 10:00 (the same time of day "
		    "across DST). Read in your own zone (%stz me) or the room's. "
		    "Due items ping their people ahead of their time: before "
		    "30m|0 sets how early, off stops it (privileged)." },
	{ "reminders", "The reminders waiting here, soonest first (mine: those "
		       "for you, in your own zone), and how due items ping." },
	{ "tz", "A zone by its tz database name, any case (Europe/Berlin, "
		"America/Toronto, UTC). The room's zone reads dates typed here "
		"and shows times, the digest's and the ops hours'; your own "
		"(%stz me ZONE) reads the times you type and shows your own "
		"reminders." },
};


sc_err cmd_search(struct cmd_ctx *c, const struct args *a)
{
	struct rec_query q;
	char *terms = args_join_words(a, 1, a->argc);
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
		for (size_t i = 0; i < sizeof(details) / sizeof(details[0]) && !err; i++) {
			if (strcmp(details[i].name, cmd->name))
				continue;
			err = reply_nl(c->out);
			if (!err)
				err = reply_textf(c->out, details[i].text, c->cfg->prefix,
						  c->cfg->prefix);
		}
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
		err = reply_text(c->out, "\nDates (due:…): " DATE_FORMS);
	if (!err)
		err = reply_textf(c->out, "\nMore: %shelp <command>", c->cfg->prefix);
	return err;
}
