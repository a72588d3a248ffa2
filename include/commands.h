/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the handlers of the command table (commands/table.c) and
 * the parsing and rendering helpers the command families share
 * (commands/common.c). See cmd.h for how to add a command.
 */
#ifndef SCRIBE_COMMANDS_H
#define SCRIBE_COMMANDS_H

#include "cmd.h"

/* commands/todo.c */
sc_err cmd_todo(struct cmd_ctx *c, const struct args *a);
sc_err cmd_todos(struct cmd_ctx *c, const struct args *a);
sc_err cmd_done(struct cmd_ctx *c, const struct args *a);
sc_err cmd_reopen(struct cmd_ctx *c, const struct args *a);
sc_err cmd_drop(struct cmd_ctx *c, const struct args *a);
sc_err cmd_assign(struct cmd_ctx *c, const struct args *a);
sc_err cmd_due(struct cmd_ctx *c, const struct args *a);
/* commands/decision.c */
sc_err cmd_decide(struct cmd_ctx *c, const struct args *a);
sc_err cmd_propose(struct cmd_ctx *c, const struct args *a);
sc_err cmd_accept(struct cmd_ctx *c, const struct args *a);
sc_err cmd_reject(struct cmd_ctx *c, const struct args *a);
sc_err cmd_supersede(struct cmd_ctx *c, const struct args *a);
sc_err cmd_decisions(struct cmd_ctx *c, const struct args *a);
/* commands/change.c */
sc_err cmd_log(struct cmd_ctx *c, const struct args *a);
sc_err cmd_changelog(struct cmd_ctx *c, const struct args *a);
/* commands/search.c */
sc_err cmd_search(struct cmd_ctx *c, const struct args *a);
sc_err cmd_help(struct cmd_ctx *c, const struct args *a);
/* commands/meeting.c */
sc_err cmd_meeting(struct cmd_ctx *c, const struct args *a);
sc_err cmd_topic(struct cmd_ctx *c, const struct args *a);
sc_err cmd_info(struct cmd_ctx *c, const struct args *a);
/* A non-command line said during a meeting: attendance, and #todo,
 * #action, #decision, #info tags recorded as if they were commands.
 * *handled = 1 when it produced a reply. */
sc_err meeting_line(struct cmd_ctx *c, const char *line, int *handled);
/* commands/incident.c */
sc_err cmd_incident(struct cmd_ctx *c, const struct args *a);
sc_err cmd_resolved(struct cmd_ctx *c, const struct args *a);
sc_err cmd_review(struct cmd_ctx *c, const struct args *a);
/* commands/digest.c */
sc_err cmd_digest(struct cmd_ctx *c, const struct args *a);
sc_err cmd_catchup(struct cmd_ctx *c, const struct args *a);

/* ---- shared helpers (commands/common.c) ---- */

enum item_parts {
	ITEM_MENTIONS = 1 << 0, /* leading @names become assignees */
	ITEM_DUE = 1 << 1,      /* due:WHEN */
	ITEM_SEVERITY = 1 << 2, /* critical|major|minor as first/last word */
	ITEM_TAGS = 1 << 3,     /* #tags (a trailing run is cut from text) */
};

/* The parts of a free-text item after the command words. */
struct item {
	char **assignees; /* resolved user ids */
	size_t nassignees;
	char **tags;      /* lowercase, without '#' */
	size_t ntags;
	char *text;       /* what is left, words joined by one space */
	char *severity;   /* NULL when none given */
	int64_t due;      /* 0 when none given */
};
void item_clear(struct item *it);
/*
 * Parse a->argv[start..] into it, taking the parts in `want`. A name
 * that is unknown or ambiguous, or a bad due date, writes the failure
 * reply and returns SC_EINVAL.
 */
sc_err item_parse(struct cmd_ctx *c, const struct args *a, int start,
		  unsigned want, struct item *it);
/* Resolve one typed name ("@elon", "elon:", pill text) to a member id;
 * failure writes the reply. *out is a new string. */
sc_err resolve_user(struct cmd_ctx *c, const char *name, char **out);
/* Join argv[from..to) with single spaces into a new string. */
char *args_join(const struct args *a, int from, int to);
/* 1 if s is "critical", "major" or "minor" (any case). */
int is_severity(const char *s);
/* Whether w is a #label: '#' then 1..64 letters, digits, '.', '_', '-'
 * or '/'. */
int is_tag(const char *w);
/* Due date for severity from the SLAs, counted from now. */
int64_t severity_due(const struct cmd_ctx *c, const char *severity);

/* Load the record a user named ("T12") of kind want in this room;
 * failure (bad id, wrong kind, unknown, other room) writes the reply. */
sc_err find_record(struct cmd_ctx *c, const char *id, enum rec_kind want,
		   struct record *out);
/* Store a new record created by the current command (author, room,
 * event id, times filled in here). */
sc_err add_record(struct cmd_ctx *c, struct record *r);

/* Append one line describing r (id, text, people, due, tags, status). */
sc_err render_record(struct cmd_ctx *c, const struct record *r);
/* Append t in the room's zone, relative to now ("today 14:05"). */
sc_err reply_when(struct cmd_ctx *c, struct reply *r, int64_t t);
/* Append " (due Fri 27 Nov, overdue)" or nothing. */
sc_err render_due(struct cmd_ctx *c, const struct record *r);
/* Append a list of records of q, grouped by assignee for todos, with a
 * "nothing found" line when empty; at most max lines. */
sc_err render_query(struct cmd_ctx *c, const struct rec_query *q,
		    int group_by_assignee, const char *empty, int max);

/* ---- long reports: minutes, !review, the digest (commands/meeting.c) ----
 *
 * A report is written into a scratch reply a little smaller than a real
 * one, as a bold heading over a list per section ("- " lines in the
 * plain body, <ul><li> in HTML). When it fills up, report_done() keeps
 * what fit and says the rest was cut, instead of failing: ending a long
 * meeting must never fail because its minutes are long.
 */
struct report {
	struct reply r;  /* the scratch reply; write items into it */
	int list, item;  /* an HTML <ul> / <li> is open */
	int cut;         /* something did not fit */
};
void report_init(struct report *rp);
void report_clear(struct report *rp);
/* Start a section: "\nTitle:" in plain, <p><b>Title</b></p><ul> in HTML. */
sc_err report_section(struct report *rp, const char *title);
/* Start a list item of the current section: "\n- " / <li>. */
sc_err report_item(struct report *rp);
/* Close what is open and append the report to out; a render error
 * SC_ETOOBIG (the scratch reply is full) becomes a "cut" note. Returns
 * render_err when it is another error. */
sc_err report_done(struct report *rp, sc_err render_err, struct reply *out);
/* List the records of q that keep accepts (keep NULL = all) as a
 * section under title, each written by line (NULL = render_brief), at
 * most max of them and then "… and N more"; no section when none match
 * (title NULL: the items join the current section).
 * c is the command's context (its out is not touched). *count, if not
 * NULL, gets the number of matches. */
sc_err report_records(struct report *rp, const struct cmd_ctx *c,
		      const char *title, const struct rec_query *q,
		      int (*keep)(const struct record *r, void *arg), void *arg,
		      sc_err (*line)(struct cmd_ctx *c, const struct record *r),
		      int max, int64_t *count);
/* Append a one-line summary of any record for reports: todos as
 * render_record, "D1 [proposed] text (because why)", "C3 today 10:05
 * @bob:example.org: text #web1", "I2 [critical] text (resolved after
 * 2h 5m)", "M1 title (today 15:00–16:00)". */
sc_err render_brief(struct cmd_ctx *c, const struct record *r);
/* Append an action item the way minutes list them (seed 000's Follow
 * Up): "[ ] elon/dc: text (T7, critical, due Fri 27 Nov, overdue)". */
sc_err render_action_item(struct cmd_ctx *c, const struct record *r);
/* Append a user's localpart ("elon" for @elon:example.org), linked to
 * the user in HTML. */
sc_err reply_short_user(struct reply *r, const char *user_id);

#endif
