/* SPDX-License-Identifier: MIT */
/*
 * autoend.h - meetings left running: one still running [meeting]
 * max_duration after its start is ended by scribe, which posts its
 * minutes in the room (someone forgot "!meeting end").
 *
 * Exactly once, as the digest is (digest.h): the meeting is closed and
 * its message queued in one transaction per room, so a crash before the
 * commit ends it at the next start and one after it never posts twice.
 * A restart in the middle of a meeting changes nothing: the running
 * meeting is the room's, in the store.
 */
#ifndef SCRIBE_AUTOEND_H
#define SCRIBE_AUTOEND_H

#include <stdint.h>

#include "config.h"
#include "digest.h"
#include "store.h"

/*
 * For every joined room whose meeting started max_duration or more
 * before now: close it as of that deadline, by cfg->user_id, and hand
 * the notice with its minutes to post (txn_id "meeting.ROOM.M12.end",
 * the same on a retry), all in one transaction. *ended counts them. A
 * room whose meeting cannot be ended is logged and left for the next
 * run; store failures stop the run and are returned.
 */
sc_err autoend_run_due(struct store *st, const struct config *cfg, int64_t now,
		       digest_post_fn post, void *ctx, int *ended);

#endif
