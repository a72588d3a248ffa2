/* SPDX-License-Identifier: MIT */
/*
 * bot.h - `scribe run` and `scribe login`: the Matrix bot on top of the
 * command engine.
 *
 * One loop: send what the outbox holds, long-poll /sync, then handle the
 * whole batch in one store transaction (invites, membership and power
 * levels, commands, edits, redactions, reactions, back-fill of limited
 * timelines) that also stores the next sync token and queues every reply
 * in the outbox. A crash before the commit replays the batch; a crash
 * after it resends the queued replies with their original transaction
 * ids, which the homeserver deduplicates. So no command is lost and none
 * is answered twice.
 */
#ifndef SCRIBE_BOT_H
#define SCRIBE_BOT_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "matrix.h"
#include "store.h"

struct e2ee;

struct bot {
	struct config cfg;
	struct store *st;
	struct matrix *mx;
	char *filter_id;
	struct e2ee *e2ee;       /* NULL when encryption is off */
	int64_t (*clock)(void); /* seconds; injectable for tests */
	int64_t data_version;    /* the store's, when the last sync began */
};

/* Handle one /sync response (a borrowed object) in one transaction.
 * Network calls it needs (join, back-fill) are made from inside. */
sc_err bot_handle_sync(struct bot *b, json_t *sync);
/* Send every queued message; stops early only on SC_EINTR / SC_EAUTH. */
sc_err bot_flush_outbox(struct bot *b);

int run_main(int argc, char **argv);
int login_main(int argc, char **argv);

#endif
