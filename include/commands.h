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
 * failure (bad id, wrong kind, unknown, withdrawn) writes the reply.
 * A record of another room is "no T12 here", exactly as one that does
 * not exist: a room learns nothing about the others. */
sc_err find_record(struct cmd_ctx *c, const char *id, enum rec_kind want,
		   struct record *out);
/* Store a new record created by the current command (author, room,
 * event id, times filled in here). */
sc_err add_record(struct cmd_ctx *c, struct record *r);
/* A copy of s shortened to max characters with "…" (caller frees;
 * NULL when out of memory), for texts quoted inside a cmd_fail(). */
char *text_snip(const char *s, size_t max);

/* Most assignees and #labels one line shows ("… +3"): a record made
 * with hundreds of them still gives a line that fits. */
#define LINE_PEOPLE_MAX 8
#define LINE_TAGS_MAX 8

/* Append one line describing r (id, text, people, due, tags, status),
 * its text shortened to text_max characters (REPLY_LINE_CHARS in
 * lists, REPLY_ECHO_CHARS in the reply about r). */
sc_err render_record(struct cmd_ctx *c, const struct record *r, size_t text_max);
/* Append t in the room's zone, relative to now ("today 14:05"). */
sc_err reply_when(struct cmd_ctx *c, struct reply *r, int64_t t);
/* Append " (due Fri 27 Nov, overdue)" or nothing. */
sc_err render_due(struct cmd_ctx *c, const struct record *r);
/*
 * Append a list of records of q, one line each (render_record),
 * grouped by assignee for todos, with a "nothing found" line `empty`
 * when none match. At most max lines, and as many as fit the reply:
 * then a last line "… and N more " + more (how to see the rest, e.g.
 * "(use !search / scribe export)"), N counting the records not shown.
 */
sc_err render_query(struct cmd_ctx *c, const struct rec_query *q,
		    int group_by_assignee, const char *empty, int max,
		    const char *more);

/* ---- long reports: minutes, !review, !catchup, the digest
 * (commands/meeting.c) ----
 *
 * A report is written into a reply as a bold heading over a list per
 * section ("- " lines in the plain body, <ul><li> in HTML). It keeps
 * room for its closing tags, each of its lists (report_records) stops
 * at the last item that fits and says how many it left out, and when
 * anything else does not fit report_done() closes what is open and says
 * the rest was cut, instead of failing: ending a long meeting must
 * never fail because its minutes are long, nor a digest because the
 * room's records are.
 */
struct report {
	struct reply *r;   /* the reply written into */
	const char *more;  /* after "… and N more" in its lists, or NULL */
	int list, item;    /* an HTML <ul> / <li> is open */
	int cut;           /* something did not fit */
	int open;          /* the closing room is reserved */
};
/* Start a report at the end of out. */
void report_init(struct report *rp, struct reply *out);
/* Give the closing room back if report_done was not called. */
void report_clear(struct report *rp);
/* Start a section: "\nTitle:" in plain, <p><b>Title</b></p><ul> in
 * HTML. SC_ETOOBIG when the reply is full. */
sc_err report_section(struct report *rp, const char *title);
/* Start a list item of the current section: "\n- " / <li>.
 * SC_ETOOBIG when the reply is full. */
sc_err report_item(struct report *rp);
/* Close what is open; a render error SC_ETOOBIG (or a full reply)
 * becomes a "cut" note. Returns render_err when it is another error. */
sc_err report_done(struct report *rp, sc_err render_err);
/* List the records of q that keep accepts (keep NULL = all) as a
 * section under title, each written by line (NULL = render_brief), at
 * most max of them and as many as fit, then "… and N more"; no section
 * when none match (title NULL: the items join the current section).
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
 * 2h 5m)", "M1 title (today 15:00–16:00)"; texts shortened to
 * REPLY_LINE_CHARS. */
sc_err render_brief(struct cmd_ctx *c, const struct record *r);
/* Append an action item the way minutes list them (seed 000's Follow
 * Up): "[ ] elon/dc: text (T7, critical, due Fri 27 Nov, overdue)". */
sc_err render_action_item(struct cmd_ctx *c, const struct record *r);
/* Append a user's localpart ("elon" for @elon:example.org), linked to
 * the user in HTML. */
sc_err reply_short_user(struct reply *r, const char *user_id);

#endif
