/* SPDX-License-Identifier: MIT */
/*
 * bot.h - `scribe run` and `scribe login`: the Matrix bot on top of the
 * command engine.
 *
 * One loop: send what the outbox holds, long-poll /sync, then handle the
 * batch (invites, membership and power levels, commands, edits,
 * redactions, reactions, back-fill of limited timelines), queueing every
 * reply in the outbox. The batch is committed room by room and page by
 * page of back-fill; the last commit also stores the next sync token.
 * After each commit the replies it queued start to go out while the
 * rest of the batch is handled. A crash replays the batch from the old
 * token, and the events already handled are skipped (they are marked
 * seen in the same transactions); a crash after a commit resends the
 * queued replies with their original transaction ids, which the
 * homeserver deduplicates. So no command is lost and none is answered
 * twice.
 */
#ifndef SCRIBE_BOT_H
#define SCRIBE_BOT_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "matrix.h"
#include "store.h"

struct e2ee;
struct outgoing;

struct bot {
	struct config cfg;
	struct store *st;
	struct matrix *mx;
	char *filter_id;
	struct e2ee *e2ee;       /* NULL when encryption is off */
	int64_t (*clock)(void); /* seconds; injectable for tests */
	int64_t data_version;    /* the store's, when the last sync began */
	struct outgoing *out;    /* the batch of replies being sent, or NULL */
	int64_t pumped;          /* monotonic us of the last pump */
	int out_rooms;           /* rooms in the last batch of replies */
	int64_t committed;       /* outbox seq up to which messages are durable */
	int64_t first_run_ms;    /* the store's first `scribe run`, less a margin
	                            for clock skew; 0 = unknown (see bot.c) */
	int64_t created_ms;      /* that first run itself: no message sent
	                            before it is ever answered */
	int64_t next_fire;       /* when the next reminder is due, 0 = none */
};

/* Handle one /sync response (a borrowed object), committing as above;
 * inside a transaction the caller holds, nothing is committed and no
 * reply is sent. Network calls it needs (join, back-fill, the replies
 * already committed) are made from inside. */
sc_err bot_handle_sync(struct bot *b, json_t *sync);
/* Send every queued message; stops early only on SC_EINTR / SC_EAUTH. */
sc_err bot_flush_outbox(struct bot *b);

int run_main(int argc, char **argv);
int login_main(int argc, char **argv);

#endif
