/* SPDX-License-Identifier: MIT */
/*
 * engine.h - one chat message through the command engine, the same way
 * for `scribe run` (Matrix), `scribe console` and the tests: load the
 * room's zone and running meeting, the sender's power level, note that
 * the sender spoke, dispatch, and hand back the reply.
 */
#ifndef SCRIBE_ENGINE_H
#define SCRIBE_ENGINE_H

#include <stdint.h>

#include "cmd.h"

struct message {
	const char *room_id;
	const char *sender;
	const char *event_id;
	const char *body;     /* plain text as typed */
	const char *html;     /* formatted_body or NULL (for pills) */
	int64_t ts;           /* origin_server_ts in seconds */
};

/*
 * Process m. The room must be known to the store (store_room_put). On
 * SC_OK, *handled says whether out holds a reply to send. Errors are
 * store failures: the caller should roll back its batch and retry.
 */
sc_err engine_message(struct store *st, const struct config *cfg,
		      const struct message *m, int64_t now, struct reply *out,
		      int *handled);

/*
 * An edit (m.replace) of the message `original`: when that message made
 * a record and m->sender wrote it, the new text is parsed as the same
 * command and the record takes its text, rationale, people, due date,
 * severity and tags (with history); the reply says so, or why not.
 * When the original made no record, the edit is run as a new message
 * (so fixing "!tood" into "!todo" works). Edits by someone else than
 * the original author are ignored (*handled = 0).
 */
sc_err engine_edit(struct store *st, const struct config *cfg,
		   const struct message *m, const char *original, int64_t now,
		   struct reply *out, int *handled);

/*
 * The message `redacted` was deleted: the record it made is marked
 * withdrawn (history keeps it), or the vote it was is taken back.
 * *handled = 1 with a reply when a record was withdrawn.
 */
sc_err engine_redaction(struct store *st, const char *redacted,
			const char *actor, int64_t now, struct reply *out,
			int *handled);

/* A reaction `key` by sender to event target: 👍 👎 🤷 on a decision
 * (its command or scribe's reply) count as its check-in votes. */
sc_err engine_reaction(struct store *st, const char *target, const char *key,
		       const char *sender, const char *event_id);

/* Make sure the store knows room_id (new rooms get the config's zone and
 * joined_at = now). */
sc_err engine_room_ensure(struct store *st, const char *room_id, int64_t now);

/*
 * Rewrite Matrix pills: for each <a href="https://matrix.to/#/@user:srv">
 * text</a> in html, the first occurrence of that text in body becomes the
 * user id, so "Elon Musk: pick tracker" reads "@elon:srv: pick tracker".
 * *out is a new string (a plain copy when there are no pills).
 */
sc_err engine_pills(const char *body, const char *html, char **out);

#endif
