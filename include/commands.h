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
sc_err cmd_revoke(struct cmd_ctx *c, const struct args *a);
sc_err cmd_supersede(struct cmd_ctx *c, const struct args *a);
sc_err cmd_decisions(struct cmd_ctx *c, const struct args *a);
/* commands/undo.c */
sc_err cmd_undo(struct cmd_ctx *c, const struct args *a);
/* commands/change.c */
sc_err cmd_log(struct cmd_ctx *c, const struct args *a);
sc_err cmd_changelog(struct cmd_ctx *c, const struct args *a);
/* 1 if the change r is a deploy: one of its tags is one of the
 * configured deploy_tags (default deploy, release). Words of its text
 * never count. */
int change_is_deploy(const struct config *cfg, const struct record *r);
/* commands/search.c */
sc_err cmd_search(struct cmd_ctx *c, const struct args *a);
sc_err cmd_help(struct cmd_ctx *c, const struct args *a);
/* commands/meeting.c */
sc_err cmd_meeting(struct cmd_ctx *c, const struct args *a);
sc_err cmd_topic(struct cmd_ctx *c, const struct args *a);
sc_err cmd_info(struct cmd_ctx *c, const struct args *a);
/* commands/meeting.c: end the room's running meeting c->meeting when it
 * started max_duration or more before c->now: it closes as of that
 * deadline, by c->sender (the bot), and c->out gets a notice that says
 * so and its minutes; *ended = 1. Otherwise nothing happens. For
 * src/autoend.c, inside its transaction. */
sc_err meeting_autoend(struct cmd_ctx *c, int64_t max_duration, int *ended);
/* commands/incident.c */
sc_err cmd_incident(struct cmd_ctx *c, const struct args *a);
sc_err cmd_resolved(struct cmd_ctx *c, const struct args *a);
sc_err cmd_review(struct cmd_ctx *c, const struct args *a);
struct report;
/* !review's "1. Metrics Review" section of the window [since, c->now]
 * in c's room, written into rp (a review meeting records it). */
sc_err review_metrics_section(struct cmd_ctx *c, struct report *rp,
			      int64_t since);
/* commands/digest.c */
sc_err cmd_digest(struct cmd_ctx *c, const struct args *a);
/* commands/digest_message.c: the digest's message, for !digest and for
 * the schedule (src/digest.c, digest.h). */
/*
 * Build the digest of room_id for the window [from, to) into out.
 * *empty = 1 when nothing happened in the window and nothing is open
 * (the caller then posts nothing unless post_empty is configured).
 * Owners of overdue items are added to out->mentions (only they).
 * The digest always fits one message (the reply budget of cmd.h),
 * whatever the records: texts are shortened with "…", each section
 * lists what fits of it (a busy one cannot push the others out) and
 * says how many more there are; the summary line counts them all.
 */
sc_err digest_build(struct store *st, const struct config *cfg,
		    const char *room_id, int64_t from, int64_t to, int64_t now,
		    struct reply *out, int *empty);

/* The next scheduled digest instant of the room after `after`. */
sc_err digest_next(const struct config *cfg, const struct room *room,
		   int64_t after, int64_t *out);
sc_err cmd_catchup(struct cmd_ctx *c, const struct args *a);
/* commands/remind.c */
sc_err cmd_remind(struct cmd_ctx *c, const struct args *a);
sc_err cmd_reminders(struct cmd_ctx *c, const struct args *a);
sc_err cmd_ack(struct cmd_ctx *c, const struct args *a);
sc_err cmd_escalate(struct cmd_ctx *c, const struct args *a);
sc_err cmd_hours(struct cmd_ctx *c, const struct args *a);
/* commands/tz.c */
sc_err cmd_tz(struct cmd_ctx *c, const struct args *a);
/* The zone a word names, in the database's spelling whatever its case
 * ("europe/berlin" -> Europe/Berlin, "utc" -> UTC) into buf; SC_EINVAL
 * when it names none. */
sc_err zone_word(const char *w, char *buf, size_t size);
/* Refuse w as a time zone, naming the right one when only its region
 * is wrong ("Europe/Toronto": did you mean America/Toronto?). */
sc_err zone_refuse(struct cmd_ctx *c, const char *w);

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
	char *text;       /* what is left, words as typed (quotes kept)
	                     joined by one space */
	char *severity;   /* NULL when none given */
	int64_t due;      /* 0 when none given */
	char *remark;     /* what the reply should add about how it was
	                     read ("nobody here is called 'x'"), or NULL */
};
void item_clear(struct item *it);
/*
 * Parse a->argv[start..] into it, taking the parts in `want`:
 *   ITEM_MENTIONS  who it is for, at the start: "@elon @bob", "@Elon
 *                  Musk" (words that are exactly a display name),
 *                  @"Elon Musk", a pill, "@me"; or the one rule of a
 *                  leading "elon:", "elon, bob:" or "elon + bob:" whose
 *                  every name is exactly a member here (lead_names). A
 *                  leading bare name is never taken ("elon check pagers"
 *                  stays text; it->remark says how to assign it).
 *   ITEM_DUE       due:WHEN, its words may follow ("due:fri 17:00",
 *                  when_parse_due); a date in the past is refused.
 *   ITEM_SEVERITY  critical|major|minor as the first or last word (alone
 *                  it is no text: refused).
 *   ITEM_TAGS      #labels: a trailing run is cut from the text.
 * The text is the rest as typed, quotes included. A name that is
 * unknown or ambiguous after an @, or a bad due date, writes the
 * failure reply and returns SC_EINVAL.
 */
sc_err item_parse(struct cmd_ctx *c, const struct args *a, int start,
		  unsigned want, struct item *it);
/* Resolve one typed name ("@elon", "elon:", pill text, "me") to a
 * member id: a whole localpart or display name, or the one member whose
 * name starts with it; failure writes the reply. *out is a new string. */
sc_err resolve_user(struct cmd_ctx *c, const char *name, char **out);
/* Resolve the person named at a->argv[*i] (before index to): as
 * resolve_user, and "@Elon Musk" over several words when they are
 * exactly someone's display name. *i moves past the words taken. */
sc_err take_person(struct cmd_ctx *c, const struct args *a, int *i, int to,
		   char **out);
/*
 * The leading "name:" rule: when a word among the first eight of
 * argv[from..to) ends with ':' and the words up to it are names of
 * members here, exactly (no prefixes), separated by ',', '+', '&' or
 * "and" ("elon:", "Elon Musk, bob:", "elon + dc:"), *people (new list
 * of *npeople ids) gets them and *used the words taken. Otherwise
 * *used = 0; when the names look like names but someone is unknown,
 * *remark (new string) says so: the words stay text, nobody is guessed.
 */
sc_err lead_names(struct cmd_ctx *c, const struct args *a, int from, int to,
		  char ***people, size_t *npeople, int *used, char **remark);
/* Join the words from..to as typed (arg_raw: quotes kept) with single
 * spaces into a new string: what a note or text records. */
char *args_join(const struct args *a, int from, int to);
/* The same of argv, without quotes (search terms). */
char *args_join_words(const struct args *a, int from, int to);
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

/* Append one line describing r (id, text, people, due, tags, status;
 * a proposal's live check-in "(proposed: 1 👍 · 0 👎 · 1 🤷; waiting
 * for Bob)", who has not checked in listed in rooms of up to ten), its
 * text shortened to text_max characters (REPLY_LINE_CHARS in lists,
 * REPLY_ECHO_CHARS in the reply about r). */
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
/*
 * !todos: the open todos of q grouped under each person, by name (a
 * line under a person names only its other owners: "— with Bob"), the
 * unassigned last; q->assignee set: that person's only. With all, then
 * the done and dropped ones, newest first, under "done or dropped". At
 * most max lines, then "… and N more " + more.
 */
sc_err render_todos(struct cmd_ctx *c, const struct rec_query *q, int all,
		    const char *empty, int max, const char *more);

/* ---- long reports: minutes, !review, !catchup, the digest
 * (commands/report.c) ----
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
/* When a list of the report showed fewer than total: "… and N more"
 * (and rp->more) as its last item, under title when nothing of it was
 * shown (title NULL: no section of its own). */
sc_err report_more(struct report *rp, const char *title, int64_t shown,
		   int64_t total);
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
/* Add an item "SLA breaches: 2 (I3 critical, T7 major)" to the current
 * section of rp: critical and major items of c's room whose SLA ended
 * in [from, to) while they were still open (commands/remind.c). */
sc_err report_breaches(struct report *rp, struct cmd_ctx *c, int64_t from,
		       int64_t to);
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
