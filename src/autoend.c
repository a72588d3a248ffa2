/* SPDX-License-Identifier: MIT */
/*
 * autoend.c - ending the meetings left running (autoend.h): the
 * scheduling and the one transaction per room; what ending a meeting
 * means and its minutes are the command engine's (meeting_autoend in
 * commands/meeting.c).
 */
#include <stdlib.h>
#include <string.h>

#include "autoend.h"
#include "commands.h"
#include "log.h"
#include "banned.h"

static int has_meeting(const struct room *r)
{
	return r->meeting != 0;
}

/* One room: end its meeting if it ran out of time, post, commit. */
static sc_err end_room(struct store *st, const struct config *cfg,
		       const char *room_id, int64_t now, digest_post_fn post,
		       void *ctx, int *ended)
{
	struct room room;
	struct reply out;
	struct cmd_ctx c;
	struct sbuf txn;
	int one = 0, in_tx = 0;
	sc_err err;

	reply_init(&out);
	sbuf_init(&txn, 1024);
	memset(&room, 0, sizeof(room));
	err = store_tx_begin(st);
	if (err)
		goto out;
	in_tx = 1;
	err = store_room_get(st, room_id, &room);
	if (err || !room.meeting)
		goto out;
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.cfg = cfg;
	c.room_id = room_id;
	c.sender = cfg->user_id ? cfg->user_id : "scribe";
	c.now = now;
	c.tz = room.tz ? room.tz : cfg->timezone;
	c.meeting = room.meeting;
	c.out = &out;
	err = meeting_autoend(&c, cfg->meeting_max_duration, &one);
	if (err || !one)
		goto out;
	err = sbuf_printf(&txn, "meeting.%s.%lld.end", room_id,
			  (long long)room.meeting);
	if (!err)
		err = post(room_id, txn.buf, &out, ctx);
	if (!err)
		err = store_tx_commit(st);
	if (!err) {
		in_tx = 0;
		(*ended)++;
	}
out:
	if (in_tx) {
		sc_err rb = store_tx_rollback(st);
		if (!err)
			err = rb;
	}
	room_clear(&room);
	reply_clear(&out);
	sbuf_release(&txn);
	return err;
}

sc_err autoend_run_due(struct store *st, const struct config *cfg, int64_t now,
		       digest_post_fn post, void *ctx, int *ended)
{
	*ended = 0;
	if (cfg->meeting_max_duration <= 0)
		return SC_OK;
	return digest_each_room(st, cfg, now, has_meeting, end_room,
				"ending the meeting", post, ctx, ended);
}
