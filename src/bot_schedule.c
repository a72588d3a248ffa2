/* SPDX-License-Identifier: MIT */
/*
 * bot_schedule.c - what `scribe run` posts at a time rather than in
 * answer to a command: the daily digests, the automatic end of meetings
 * left running, and reminders and escalations. digest.c, autoend.c and
 * remind.c decide what is due; here their messages are queued in the
 * outbox, and the time of the next reminder is kept for the long-poll
 * to wake for.
 */
#include "autoend.h"
#include "bot_int.h"
#include "digest.h"
#include "remind.h"
#include "banned.h"

static sc_err post_digest(const char *room, const char *txn,
			  const struct reply *r, void *ctx)
{
	struct bot *b = ctx;
	json_t *content = mx_reply_content(r, NULL, NULL);
	sc_err err;

	if (!content)
		return SC_ENOMEM;
	err = bot_defuse_names(b, room, r, content);
	if (!err)
		err = bot_queue_message(b, room, txn, content, 0);
	json_decref(content);
	return err;
}

/* remind_post_fn: a reminder or escalation (remind.h). One for the
 * whole room is an m.text without mentions, so people who follow every
 * message of the room hear it; its echoed text then cannot ping anyone
 * either (a word joiner after every "@" of the plain body). */
static sc_err post_remind(const char *room, const char *txn,
			  const struct reply *r, const struct remind_post *how,
			  void *ctx)
{
	struct bot *b = ctx;
	json_t *content = mx_reply_content(r, how->in_reply_to, how->thread_root);
	const char *body;
	struct sbuf sb;
	sc_err err = SC_OK;

	if (!content)
		return SC_ENOMEM;
	body = json_string_value(json_object_get(content, "body"));
	if (how->ping_room && !r->nmentions && body) {
		sbuf_init(&sb, 0);
		for (const char *p = body; *p && !err; p++)
			err = *p == '@' ? sbuf_puts(&sb, "@\xE2\x81\xA0") :
					  sbuf_putc(&sb, *p);
		if (!err && (json_object_set_new(content, "body", json_string(sb.buf)) ||
			     json_object_set_new(content, "msgtype",
						 json_string("m.text"))))
			err = SC_ENOMEM;
		sbuf_release(&sb);
	}
	if (!err)
		err = bot_defuse_names(b, room, r, content);
	if (!err)
		err = bot_queue_message(b, room, txn, content, 0);
	json_decref(content);
	return err;
}

/* Reminders and escalations due at the bot's clock; then when the
 * next one is due, for the long-poll to wake for it (store_changed).
 * A room with more due than one message takes goes again at once; one
 * whose message cannot be made (logged) is tried again a minute later,
 * not at every wake-up. */
sc_err bot_run_reminders(struct bot *b)
{
	int64_t now = b->clock();
	sc_err err = SC_OK;

	for (int i = 0; i < 16 && !err; i++) {
		int posted = 0;

		err = remind_run_due(b->st, &b->cfg, now, post_remind, b, &posted);
		if (!err)
			err = remind_next(b->st, &b->next_fire);
		if (err || !posted || !b->next_fire || b->next_fire > now)
			break;
	}
	if (!err && b->next_fire && b->next_fire <= now)
		b->next_fire = now + 60;
	return err;
}

sc_err bot_run_due(struct bot *b)
{
	int posted = 0;
	sc_err err;

	err = digest_run_due(b->st, &b->cfg, b->clock(), post_digest, b,
			     &posted);
	if (!err)
		err = autoend_run_due(b->st, &b->cfg, b->clock(), post_digest,
				      b, &posted);
	if (!err)
		err = bot_run_reminders(b);
	return err;
}
