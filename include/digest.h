/* SPDX-License-Identifier: MIT */
/*
 * digest.h - the daily digest: what happened in a room over a window
 * (decisions, changes, incidents, meetings) and what is still open
 * (todos by assignee, overdue and critical first), posted per room at
 * the room's local time on its days. This is the schedule
 * (src/digest.c); the message itself is the command layer's
 * (digest_build in commands.h), which this calls down into.
 *
 * Scheduling is exactly-once: a room's `last_digest` (the end of the
 * last digested window) is stored in the same transaction that queues
 * the digest message, so a crash before commit posts it on restart and
 * a crash after commit never posts it twice. When scribe was down over
 * one or more slots, one digest covers the whole gap.
 */
#ifndef SCRIBE_DIGEST_H
#define SCRIBE_DIGEST_H

#include <stdint.h>

#include "cmd.h"

/* Called by digest_run_due for each digest to post; txn_id is derived
 * from the room and window end, so a retry reuses it. Return SC_OK after
 * queueing it (inside the caller's transaction). */
typedef sc_err (*digest_post_fn)(const char *room_id, const char *txn_id,
				 const struct reply *r, void *ctx);

/*
 * For every joined room whose next digest slot after its last_digest is
 * <= now: in one transaction per room, build the digest of
 * [last_digest, now), hand it to post (unless empty and not
 * post_empty), and set last_digest = now. *posted counts the digests
 * handed to post. now comes from the caller (an injectable clock).
 */
sc_err digest_run_due(struct store *st, const struct config *cfg, int64_t now,
		      digest_post_fn post, void *ctx, int *posted);

/* One room's part of a scheduled run: in its own transaction, hand
 * what is due to post and add what it handed over to *count. */
typedef sc_err (*digest_room_fn)(struct store *st, const struct config *cfg,
				 const char *room_id, int64_t now,
				 digest_post_fn post, void *ctx, int *count);

/* fn for every joined room want() takes (NULL: all), one at a time:
 * store failures stop the run and are returned; any other failure is
 * logged as "WHAT of room '...' failed" and the next room goes on.
 * *count totals what the rooms handed to post. digest_run_due is this
 * with the digest's own fn. */
sc_err digest_each_room(struct store *st, const struct config *cfg,
			int64_t now, int (*want)(const struct room *r),
			digest_room_fn fn, const char *what,
			digest_post_fn post, void *ctx, int *count);

#endif
