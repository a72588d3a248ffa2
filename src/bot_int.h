/* SPDX-License-Identifier: MIT */
/*
 * bot_int.h - what the files of `scribe run` share: bot.c (the process:
 * setup, the sync loop, login), bot_sync.c (one /sync batch),
 * bot_backfill.c (the gaps of limited timelines), bot_outbox.c (queueing
 * messages and sending them) and bot_schedule.c (digests, reminders and
 * meeting ends). Not a public interface: bot.h is.
 */
#ifndef SCRIBE_BOT_INT_H
#define SCRIBE_BOT_INT_H

#include <jansson.h>
#include <stdint.h>

#include "bot.h"

struct reply;

/* origin_server_ts beyond the year 9999 is clamped to it */
#define EVENT_TS_MAX_MS 253402300799999LL

/* o's string member key (borrowed from o), or NULL. */
static inline const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An event's origin_server_ts in ms, 0 when missing; a hostile server's
 * far past or future (the wire parser clamps past int64) is kept within
 * what seconds and milliseconds arithmetic holds. */
static inline int64_t event_ts(json_t *ev)
{
	json_int_t ts = json_integer_value(json_object_get(ev, "origin_server_ts"));

	return ts < 0 ? 0 : ts > EVENT_TS_MAX_MS ? EVENT_TS_MAX_MS : (int64_t)ts;
}

/* One joined room's events, from a sync batch or a back-fill page. */
struct room_batch {
	const char *room;
	int64_t joined_at;      /* ms; events before it are history */
	const char *last_event; /* for the read receipt */
	int64_t not_before;     /* ms; messages before it are history too */
	int encrypted;          /* the room is encrypted; -1 not looked up */
	int replaced;           /* upgraded to another room (batch_room) */
};

/* ---- bot_sync.c ---- */

/* Whether ev is our own join. */
int bot_is_own_join(struct bot *b, json_t *ev);
/* Handle one timeline event of rb's room (borrowed), then see to the
 * replies in flight (bot_pump). Errors are the store's or SC_ENOMEM. */
sc_err bot_take_event(struct bot *b, struct room_batch *rb, json_t *ev,
		      int64_t now);

/* ---- bot_backfill.c ---- */

/* Page forward with /messages from the token since to the token to (a
 * limited timeline's prev_batch), handling each page's events and
 * committing after each page; the room's last event goes into
 * receipts. */
sc_err bot_backfill(struct bot *b, struct room_batch *rb, const char *since,
		    const char *to, int64_t now, json_t *receipts);
/* The store's first sync shows a joined room without our join: page
 * back from the token from to our join (no older than horizon_ms) and
 * handle it and every event after it. */
sc_err bot_first_sync_join(struct bot *b, struct room_batch *rb,
			   const char *from, int64_t horizon_ms, int64_t now);

/* ---- bot_outbox.c ---- */

/* Queue content (borrowed) in room's outbox as transaction id txn;
 * record is the record it is about (0: none). SC_ENOMEM when it cannot
 * be made to fit an event. */
sc_err bot_queue_message(struct bot *b, const char *room, const char *txn,
			 json_t *content, int64_t record);
/* Break the names of room's members whom r does not ping in content's
 * plain body (see the definition). */
sc_err bot_defuse_names(struct bot *b, const char *room, const struct reply *r,
			json_t *content);
/* Queue r as the reply of kind ("r", "w") to event_id, in its thread
 * thread_root (or NULL), as a reply to it when in_reply. */
sc_err bot_queue_reply(struct bot *b, const char *room, const char *kind,
		       const char *event_id, const char *thread_root,
		       const struct reply *r, int in_reply);
/* Between events: whether the batch in flight is over, and then start
 * the next one from what was committed. */
sc_err bot_pump(struct bot *b);
/* After a commit: what was queued may be sent now (nothing inside an
 * outer transaction). */
sc_err bot_committed(struct bot *b);
/* Commit the transaction open while a sync is handled, let what it
 * queued go, and open the next one. */
sc_err bot_checkpoint(struct bot *b);
/* Drop a batch still in flight at exit: its messages stay queued. */
void bot_batch_drop(struct bot *b);

/* ---- bot_schedule.c ---- */

/* Reminders and escalations due at the bot's clock; sets b->next_fire. */
sc_err bot_run_reminders(struct bot *b);
/* After a sync batch: the digests, the meetings to end and the
 * reminders that are due, each room's message queued in the outbox. */
sc_err bot_run_due(struct bot *b);

#endif
