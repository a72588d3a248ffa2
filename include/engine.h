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
	int bad_text;         /* body or html held a NUL (or what the wire
	                         parser replaced by one, wirejson.h): body
	                         is the part before it; a command is refused
	                         with a reply, chat is left alone */
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
 * An edit (m.replace) of the message `original`, applied only as
 * Element shows it: an edit of an original (never of an edit) by the
 * original's own sender, in the same room (else *handled = 0). When
 * that message made a record, the new text is parsed as the same
 * command and the record takes its text, rationale, people, due date,
 * severity and tags (with history); the reply says so, or why not.
 * When the original (seen, store_event_seen) made no record, the edit
 * is run once as that original (so fixing "!tood" into "!todo" works,
 * a second edit updates the record, and redacting the original
 * withdraws it).
 */
sc_err engine_edit(struct store *st, const struct config *cfg,
		   const struct message *m, const char *original, int64_t now,
		   struct reply *out, int *handled);

/*
 * The message `redacted` was deleted in room: the record it made is
 * marked withdrawn (history keeps it), the vote it was is taken back,
 * and what it changed in other records of the room goes back (an edit's
 * changes; the decision a !supersede overturned is accepted again).
 * *handled = 1 with a reply when a record was withdrawn or restored.
 */
sc_err engine_redaction(struct store *st, const char *room, const char *redacted,
			const char *actor, int64_t now, struct reply *out,
			int *handled);

/* A reaction `key` by sender in room to event target: 👍 👎 🤷 on a
 * decision of that room (its command or scribe's reply) count as its
 * check-in votes. */
sc_err engine_reaction(struct store *st, const char *room, const char *target,
		       const char *key, const char *sender, const char *event_id);

/* The room's canonical alias changed (m.room.canonical_alias; NULL or
 * "" when removed): kept as kv room.alias.ROOM, by which exports name
 * the room. */
sc_err engine_room_alias(struct store *st, const char *room_id,
			 const char *alias);

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
