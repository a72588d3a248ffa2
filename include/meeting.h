/* SPDX-License-Identifier: MIT */
/*
 * meeting.h - what the files of the meeting family share:
 * commands/meeting.c (a meeting's life: start, end, chairs, the items
 * carried over from the room's previous meeting, the automatic end),
 * commands/meeting_tags.c (MeetBot's tags on chat lines during a
 * meeting) and commands/minutes.c (the minutes in chat, in the shape of
 * the meeting's template). The handlers and what the bot calls are in
 * commands.h; the dispatcher hands the family the chat lines that are no
 * commands through cmd_line_hook (cmd.h), defined in meeting.c.
 *
 * What a meeting holds besides its M-record lives in the store's notes
 * (store.h lists their kinds): topics, infos, ideas, links, calls for
 * help, Template A's objectives, requirements and strategy lines,
 * Template B's metrics, chairs, the notetaker and the carried items. A
 * meeting's template is a tag of its record ("strategy", "review").
 */
#ifndef SCRIBE_MEETING_H
#define SCRIBE_MEETING_H

#include "commands.h"

/* Seed 000's minutes, seed 002's Template A (strategy and requirements)
 * or Template B (operational review). */
enum meeting_type { MEETING_PLAIN = 0, MEETING_STRATEGY, MEETING_REVIEW };

/* The template of meeting m, from its tags (m must be loaded with its
 * tags: store_record_get_id, or a query without SKIP_TAGS). */
enum meeting_type meeting_type_of(const struct record *m);

/* A list of user ids (owned). */
struct userlist {
	char **ids;
	size_t n;
};
void userlist_clear(struct userlist *p);
int userlist_has(const struct userlist *p, const char *user_id);

/* The chairs of m: its starter first (never removed), then everyone a
 * #chair named and no later #unchair took back, in that order. */
sc_err meeting_chairs(struct store *st, const struct record *m,
		      struct userlist *out);
/* The notetaker of m: whom the last #notetaker named, else the starter.
 * *out is a new string. */
sc_err meeting_notetaker(struct store *st, const struct record *m, char **out);

/* SC_OK when the sender chairs the running meeting or is privileged
 * (cmd_privileged); else a refusal naming the chairs ("only a chair of
 * M1 (dc) or a moderator (power 50) can <what>") and SC_EPERM. */
sc_err meeting_need_chair(struct cmd_ctx *c, const char *what);

/* Start a meeting in c's room from the words after "start" (or after
 * #startmeeting): [strategy|review] [title]. Refused while one runs. */
sc_err meeting_start(struct cmd_ctx *c, const char *const *words, int n);
/* End the running meeting (chairs only) and reply with its minutes. */
sc_err meeting_end(struct cmd_ctx *c);
/* Record a note of kind in the running meeting and confirm it
 * ("Topic: …", "Noted: …", "Idea: …"). */
sc_err meeting_note(struct cmd_ctx *c, const char *kind, const char *text);

/* commands/meeting_tags.c: a non-command line said during a meeting
 * (c->meeting), or one meeting_tag_line() accepts when none runs:
 * MeetBot's tags (#todo, #action, #agreed, #info, #topic, #idea, #link,
 * #help, #undo, #chair, …) recorded as if they were commands. *handled
 * = 1 when it produced a reply. The dispatcher reaches it through
 * cmd_line_hook (commands/meeting.c). */
sc_err meeting_line(struct cmd_ctx *c, const char *line, int *handled);
/* 1 if line starts with #startmeeting or #endmeeting: cmd_line_hook
 * hands it to meeting_line even when no meeting runs. */
int meeting_tag_line(const char *line);

/* The meeting of room_id before the one with record id `before` (0:
 * the newest), only review meetings when review_only. SC_ENOTFOUND when
 * there is none. */
sc_err meeting_previous(struct store *st, const char *room_id, int64_t before,
			int review_only, struct record *out);
/* Where the operational review of meeting m starts: the start of the
 * room's previous review meeting, else a week before m. */
sc_err meeting_review_since(struct store *st, const struct record *m,
			    int64_t *since);

/* ---- commands/minutes.c ---- */

/* Most items one section of the minutes lists in chat. */
#define MINUTES_SECTION_MAX 50

/* Write the minutes of m into rp in the shape of its template: seed
 * 000's (attendees with late arrivals, topics, notes, ideas, links,
 * calls for help, decisions, changes, incidents, the action items per
 * person), Template A's five sections or Template B's four. */
sc_err meeting_minutes(struct cmd_ctx *c, const struct record *m,
		       struct report *rp);
/* One carried item as the start of a meeting lists it: an action item
 * as render_action_item, anything else as render_brief. */
sc_err render_carried(struct cmd_ctx *c, const struct record *r);
/* Template B's sections 1 and 2 of review meeting m into rp: the
 * metrics it recorded at its start and the incidents of its window
 * (meeting_review_since to its end, or to now while it runs) with their
 * root cause. */
sc_err minutes_review_head(struct cmd_ctx *c, const struct record *m,
			   struct report *rp);

#endif
