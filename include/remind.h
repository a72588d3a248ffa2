/* SPDX-License-Identifier: MIT */
/*
 * remind.h - reminders, SLA escalation and ops hours: what fires when,
 * what it says and whom it pings, posted exactly once.
 *
 * What fires (the schedule is kept by the store, store_remind.h):
 *   - an open todo with a due date: its assignees, `before` (the room's
 *     lead time, [remind] before) ahead of it;
 *   - a critical or major todo or incident still open when its SLA ends
 *     (created + [sla] critical/major): its assignees and the room's
 *     escalation contacts, once per level, up to [escalation] levels
 *     (each one SLA later), until !ack or a status change;
 *   - an R record (!remind): its people, or the room, at its time; a
 *     recurring one then moves to its next occurrence after now, so a
 *     reminder missed several times fires once.
 * Ops hours ([hours] window, the room's !hours): outside them only
 * critical items ping, the rest wait until the window opens and then go
 * out together; outside the on-call hours too, a critical item pings
 * the escalation contacts only. Free reminders are not held: someone
 * asked for that minute.
 *
 * Exactly once, as the digest: per room, one transaction reads what is
 * due, queues one message for all of it in the outbox and moves the
 * schedule on; a crash before the commit leaves everything due (the
 * next run sends it), one after leaves the message queued (sent once,
 * with its transaction id). After downtime everything missed goes out
 * in one message per room ("While I was offline: …").
 */
#ifndef SCRIBE_REMIND_H
#define SCRIBE_REMIND_H

#include <stdint.h>

#include "cmd.h"
#include "config.h"
#include "store.h"

/* A room's alert settings in force: its own, or bot.conf's. */
struct alert_settings {
	int64_t before;              /* lead time in seconds; -1 = off */
	struct daily_hours hours;    /* set = 0: always in hours */
	struct daily_hours on_call;
	char **contacts;             /* escalation contacts (ncontacts) */
	size_t ncontacts;
	int own_before, own_hours, own_on_call, own_contacts; /* the room's */
	char *tz;                    /* the room's time zone */
};
/* The settings of room_id (caller clears them). */
sc_err remind_settings(struct store *st, const struct config *cfg,
		       const char *room_id, struct alert_settings *out);
void alert_settings_clear(struct alert_settings *s);

/* Make cfg's values the store's defaults and schedule what has no
 * schedule yet (store_remind_setup), in a transaction of its own. */
sc_err remind_setup(struct store *st, const struct config *cfg, int64_t now);

/* The next instant something fires (0 = nothing pending). */
sc_err remind_next(struct store *st, int64_t *at);

/* How a firing's message is sent. */
struct remind_post {
	const char *thread_root; /* in this thread (NULL: the room) */
	const char *in_reply_to; /* the thread's fallback reply target */
	int ping_room;           /* m.text even without mentions: a
	                            reminder for the whole room */
};
/* Called by remind_run_due for each message, inside the room's
 * transaction; txn_id is unique to the firing and the same when a
 * crashed run is repeated. Return SC_OK once it is queued. */
typedef sc_err (*remind_post_fn)(const char *room_id, const char *txn_id,
				 const struct reply *r,
				 const struct remind_post *how, void *ctx);

/*
 * Fire everything due at now: for each room, in one transaction, hold
 * what waits for ops hours, hand one message for the rest to post, and
 * move the schedule on. *posted counts the messages. A room whose
 * message cannot be built is logged and skipped (nothing committed, so
 * the next run tries again); a store failure stops the run.
 */
sc_err remind_run_due(struct store *st, const struct config *cfg, int64_t now,
		      remind_post_fn post, void *ctx, int *posted);

/*
 * A recurring reminder's rule, as kept in its record's detail: "every
 * mon-fri 17:30 Europe/Berlin" (days as when_format_days writes them).
 */
sc_err remind_rule_format(unsigned days, int minute, const char *tz,
			  struct sbuf *out);
sc_err remind_rule_parse(const char *detail, unsigned *days, int *minute,
			 char **tz);
/* The rule's first occurrence strictly after `after`. */
sc_err remind_rule_next(const char *detail, int64_t after, int64_t *out);

/*
 * SLA breaches of room_id in [from, to) (store_remind_breaches with
 * cfg's SLAs): *count, and cb for each (may be NULL).
 */
sc_err remind_breaches(struct store *st, const struct config *cfg,
		       const char *room_id, int64_t from, int64_t to,
		       rec_cb cb, void *ctx, int64_t *count);

/* The time zone a person's reminders are read and shown in: their own
 * (!tz me) into *out as a new string, or NULL when they have none. */
sc_err remind_user_tz(struct store *st, const char *user_id, char **out);

#endif
