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

/* The rooms with a running meeting (store_rooms' callback). */
struct running {
	char **ids;
	size_t n;
	sc_err err;
};

static int running_add(const struct room *r, void *ctx)
{
	struct running *rs = ctx;
	char **v;

	if (!r->meeting)
		return 0;
	v = realloc(rs->ids, (rs->n + 1) * sizeof(*v));
	if (!v) {
		rs->err = SC_ENOMEM;
		return 1;
	}
	rs->ids = v;
	v[rs->n] = strdup(r->room_id);
	if (!v[rs->n]) {
		rs->err = SC_ENOMEM;
		return 1;
	}
	rs->n++;
	return 0;
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
	struct running rs = { NULL, 0, SC_OK };
	int n = 0;
	sc_err err;

	if (cfg->meeting_max_duration <= 0) {
		*ended = 0;
		return SC_OK;
	}
	err = store_rooms(st, running_add, &rs);
	if (!err)
		err = rs.err;
	for (size_t i = 0; i < rs.n && !err; i++) {
		sc_err e = end_room(st, cfg, rs.ids[i], now, post, ctx, &n);

		if (e == SC_ESTORE || e == SC_EBUSY || e == SC_ENOMEM ||
		    e == SC_EINTR)
			err = e; /* the store is in trouble: stop here */
		else if (e)
			log_warn("cannot end the meeting of room '%s': %s",
				 rs.ids[i], sc_strerror(e));
	}
	for (size_t i = 0; i < rs.n; i++)
		free(rs.ids[i]);
	free(rs.ids);
	if (err)
		return err;
	*ended = n;
	return SC_OK;
}
