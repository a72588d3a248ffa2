/* SPDX-License-Identifier: MIT */
/*
 * revert.h - take back what one event changed in the record: the fields
 * a command, an edit or a redacted message changed go back to their old
 * values, with new history entries (the history keeps both). Used by
 * engine.c for redactions and by !undo (commands/undo.c).
 */
#ifndef SCRIBE_REVERT_H
#define SCRIBE_REVERT_H

#include <stdint.h>

#include "store.h"

/* Called for each record revert_event changed, after it is written;
 * non-zero stops. r is borrowed for the call. */
typedef int (*revert_cb)(const struct record *r, void *ctx);

/*
 * Every field the event event_id changed in records of room_id (other
 * than by creating them: see store_record_by_event for that) goes back
 * to its value before, unless it has changed again since (a later
 * change stands). Each record changed is written by actor at now,
 * caused by cause (may be NULL), and then passed to cb (may be NULL).
 * Records of other rooms are left alone. *n, if not NULL, gets the
 * number of records changed.
 */
sc_err revert_event(struct store *st, const char *room_id, const char *event_id,
		    const char *actor, int64_t now, const char *cause,
		    revert_cb cb, void *ctx, int *n);

/* A history value of a record reference (superseded_by): the store's
 * record id as decimal, or a short id ("D5", what an import of a JSON
 * export keeps). 0 when v is NULL or names no record. */
int64_t revert_ref(struct store *st, const char *v);

#endif
