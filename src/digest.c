/* SPDX-License-Identifier: MIT */
/*
 * digest.c - the daily digest's schedule (see digest.h): for each room
 * whose slot has come, in one transaction, the message of the window
 * [last_digest, now) (digest_build, commands/digest_message.c) handed
 * to the poster and last_digest moved to now. Scheduling is
 * exactly-once because the room's last_digest moves in the same
 * transaction that queues the message; a downtime over several slots
 * gives one digest. Above the command layer: it calls down into it.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "digest.h"
#include "log.h"
#include "banned.h"

/* The ids of the joined rooms want() takes; collected first so no store
 * call runs inside store_rooms' callback. */
struct rooms {
	int (*want)(const struct room *r);
	char **ids;
	size_t n;
	sc_err err;
};

static int room_add(const struct room *r, void *ctx)
{
	struct rooms *rs = ctx;
	char **v;

	if (rs->want && !rs->want(r))
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

/* One room: if a slot passed since its last digest, build, post and
 * move last_digest to now, all in one transaction. */
static sc_err run_room(struct store *st, const struct config *cfg,
		       const char *room_id, int64_t now, digest_post_fn post,
		       void *ctx, int *posted)
{
	struct room room;
	struct reply out;
	struct sbuf txn;
	int64_t start, slot;
	int empty = 0, in_tx = 0;
	sc_err err;

	reply_init(&out);
	sbuf_init(&txn, 1024);
	memset(&room, 0, sizeof(room));
	err = store_tx_begin(st);
	if (err)
		goto out;
	in_tx = 1;
	err = store_room_get(st, room_id, &room);
	if (err || !room.joined_at)
		goto out;
	start = room.last_digest ? room.last_digest : room.joined_at;
	err = digest_next(cfg, &room, start, &slot);
	if (err == SC_ENOTFOUND) {
		err = SC_OK; /* off */
		goto out;
	}
	if (err || slot > now || start >= now)
		goto out;
	err = digest_build(st, cfg, room_id, start, now, now, &out, &empty);
	if (!err && (!empty || cfg->digest_post_empty)) {
		err = sbuf_printf(&txn, "digest.%s.%lld", room_id, (long long)now);
		if (!err)
			err = post(room_id, txn.buf, &out, ctx);
		if (!err)
			(*posted)++;
	}
	if (err)
		goto out;
	room.last_digest = now;
	err = store_room_put(st, &room);
	if (!err)
		err = store_tx_commit(st);
	if (!err)
		in_tx = 0;
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

sc_err digest_each_room(struct store *st, const struct config *cfg,
			int64_t now, int (*want)(const struct room *r),
			digest_room_fn fn, const char *what,
			digest_post_fn post, void *ctx, int *count)
{
	struct rooms rs = { want, NULL, 0, SC_OK };
	int n = 0;
	sc_err err;

	err = store_rooms(st, room_add, &rs);
	if (!err)
		err = rs.err;
	for (size_t i = 0; i < rs.n && !err; i++) {
		sc_err e = fn(st, cfg, rs.ids[i], now, post, ctx, &n);

		if (e == SC_ESTORE || e == SC_EBUSY || e == SC_ENOMEM ||
		    e == SC_EINTR) {
			err = e; /* the store is in trouble: stop here */
		} else if (e) {
			/* One room's failure must not keep the other rooms
			 * from theirs, nor stop the bot; nothing was
			 * committed, so the next run tries again. */
			log_warn("%s of room '%s' failed: %s", what, rs.ids[i],
				 sc_strerror(e));
		}
	}
	for (size_t i = 0; i < rs.n; i++)
		free(rs.ids[i]);
	free(rs.ids);
	if (err)
		return err;
	*count = n;
	return SC_OK;
}

sc_err digest_run_due(struct store *st, const struct config *cfg, int64_t now,
		      digest_post_fn post, void *ctx, int *posted)
{
	return digest_each_room(st, cfg, now, NULL, run_room, "digest", post,
				ctx, posted);
}
