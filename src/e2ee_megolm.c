/* SPDX-License-Identifier: MIT */
/*
 * e2ee_megolm.c - megolm in rooms. In: room events decrypted with the
 * inbound session the store holds (a bounded cache of opened sessions),
 * checked for a forged sender and replays; an event whose key has not
 * arrived is queued and retried after later batches. Out: the room's
 * outbound session, rotated when due or when a member leaves, persisted
 * with our own inbound copy, and its key shared with every member
 * device (or withheld from those the trust policy excludes).
 */
#include <stdlib.h>
#include <string.h>

#include "e2ee_int.h"
#include "log.h"
#include "sbuf.h"
#include "banned.h"

/* ---- megolm in ---- */

void e2ee_gin_slot_clear(struct gin_slot *sl)
{
	free(sl->room);
	free(sl->sid);
	free(sl->pickle);
	crypto_gin_free(sl->g);
	memset(sl, 0, sizeof(*sl));
}

/*
 * The inbound session of row (just read from the store), borrowed from
 * the cache: the slot of (room, sid) when it was opened from the same
 * pickle, else a fresh unpickle that takes the slot (or the least
 * recently used one). Comparing pickles makes any change of the row
 * (an earlier key replacing it, a rolled-back transaction) reopen it.
 */
static sc_err gin_open(struct e2ee *e, const struct gin_row *row,
		       struct crypto_gin **out)
{
	struct gin_slot *sl = NULL, fresh;
	sc_err err;

	for (size_t i = 0; i < GIN_CACHE && !sl; i++) {
		struct gin_slot *c = &e->gins[i];

		if (c->g && !strcmp(c->sid, row->session_id) &&
		    !strcmp(c->room, row->room_id))
			sl = c;
	}
	if (sl && !strcmp(sl->pickle, row->pickle))
		goto hit;
	for (size_t i = 0; i < GIN_CACHE && !sl; i++) {
		struct gin_slot *c = &e->gins[i];

		if (!sl || !c->g || c->used < sl->used)
			sl = c;
		if (!c->g)
			break;
	}
	memset(&fresh, 0, sizeof(fresh));
	err = crypto_gin_unpickle(row->pickle, e->key, e->key_len, &fresh.g);
	if (err)
		return err;
	fresh.room = strdup(row->room_id);
	fresh.sid = strdup(row->session_id);
	fresh.pickle = strdup(row->pickle);
	if (!fresh.room || !fresh.sid || !fresh.pickle) {
		e2ee_gin_slot_clear(&fresh);
		return SC_ENOMEM;
	}
	e2ee_gin_slot_clear(sl);
	*sl = fresh;
hit:
	sl->used = ++e->tick;
	*out = sl->g;
	return SC_OK;
}

static sc_err queue_event(struct e2ee *e, const char *room, const char *sid,
			  json_t *ev)
{
	char *text = json_dumps(ev, JSON_COMPACT);
	sc_err err;

	if (!text)
		return SC_ENOMEM;
	err = store_undecrypted_add(e->st, jstr(ev, "event_id"), room, sid,
				    text, now_ms());
	free(text);
	if (!err)
		log_info("no key yet for event %s in %s (session %s); queued",
			 jstr(ev, "event_id"), room, sid);
	return err ? err : SC_ENOTFOUND;
}

/* e2ee_decrypt; a retry from the queue (queued) is not queued again
 * when its key is still too new. */
static sc_err decrypt(struct e2ee *e, const char *room_id, json_t *ev,
		      json_t **plain, int queued)
{
	json_t *content = json_object_get(ev, "content"), *pt = NULL, *out;
	const char *sid, *skey, *ct, *sender = jstr(ev, "sender");
	const char *event_id = jstr(ev, "event_id");
	struct crypto_gin *g = NULL; /* borrowed from the cache */
	struct gin_row row;
	uint32_t index;
	sc_err err;

	if (!sender || !event_id)
		return SC_EINVAL;
	if (crypto_megolm_ciphertext(content, &sid, &skey, &ct)) {
		log_warn(
		    "refused event %s in %s: malformed or unknown algorithm",
		    event_id, room_id);
		return SC_EINVAL;
	}
	memset(&row, 0, sizeof(row));
	err = store_gin_get(e->st, room_id, sid, &row);
	if (err == SC_ENOTFOUND)
		return queued ? err : queue_event(e, room_id, sid, ev);
	if (err)
		return err;
	if (strcmp(row.sender_user, sender) ||
	    (skey && strcmp(skey, row.sender_key))) {
		log_warn("refused event %s in %s: sent by %s but its session "
			 "belongs to %s (forged sender)", event_id, room_id,
			 sender, row.sender_user);
		err = SC_ECRYPTO;
		goto out;
	}
	err = gin_open(e, &row, &g);
	if (!err)
		err = crypto_megolm_decrypt_event(g, room_id, content, &pt,
						  &index);
	if (err == SC_ENOTFOUND) {
		err = queued ? err : queue_event(e, room_id, sid, ev);
		goto out;
	}
	if (err) {
		if (!fatal(err))
			log_warn("refused event %s in %s: cannot decrypt (%s)",
				 event_id, room_id, sc_strerror(err));
		goto out;
	}
	err = store_gin_seen(e->st, room_id, sid, index, event_id);
	if (err == SC_EEXISTS) {
		log_warn("refused event %s in %s: replayed ciphertext (%s)",
			 event_id, room_id, store_errmsg(e->st));
		err = SC_ECRYPTO;
		goto out;
	}
	if (err)
		goto out;
	out = json_copy(ev);
	if (!out || json_object_set(out, "type", json_object_get(pt, "type")) ||
	    json_object_set(out, "content", json_object_get(pt, "content"))) {
		json_decref(out);
		err = SC_ENOMEM;
		goto out;
	}
	*plain = out;
out:
	json_decref(pt);
	gin_row_clear(&row);
	return err;
}

sc_err e2ee_decrypt(struct e2ee *e, const char *room_id, json_t *ev,
		    json_t **plain)
{
	return decrypt(e, room_id, ev, plain, 0);
}

/* ---- retrying queued events ---- */

static int collect_ready(const char *room, const char *event, void *ctx)
{
	json_t *o = json_pack("{s:s, s:s}", "room", room, "event", event);

	return !o || json_array_append_new(ctx, o);
}

/* Queued events whose key arrived: decrypt and hand to retry, each in
 * its own transaction with the removal from the queue. */
sc_err e2ee_retry_queued(struct e2ee *e, e2ee_retry_fn retry, void *ctx)
{
	json_t *list = json_array(), *item;
	size_t i;
	sc_err err = list ? store_undecrypted_ready(e->st, collect_ready, list)
			  : SC_ENOMEM;

	json_array_foreach(list, i, item) {
		/* stored by json_dumps: a NUL in it is "\u0000" */
		json_t *ev = json_loads(jstr(item, "event"), JSON_ALLOW_NUL, NULL),
		       *plain = NULL;
		const char *room = jstr(item, "room");
		sc_err r;

		if (err)
			break;
		if (!ev)
			continue;
		err = store_tx_begin(e->st);
		if (err) {
			json_decref(ev);
			break;
		}
		r = decrypt(e, room, ev, &plain, 1);
		if (r == SC_OK)
			r = retry(room, plain, ctx);
		if (r == SC_ENOTFOUND || fatal(r)) {
			store_tx_rollback(e->st);
			err = fatal(r) ? r : SC_OK;
		} else {
			err =
			    store_undecrypted_del(e->st, jstr(ev, "event_id"));
			err = e2ee_tx_end(e, err);
		}
		json_decref(plain);
		json_decref(ev);
	}
	json_decref(list);
	return err;
}

/* ---- megolm out ---- */

/* Rotation limits of a new session: the config's, tightened by the
 * room's m.room.encryption content. */
static void rotation_limits(struct e2ee *e, const char *room,
			    struct gout_row *row)
{
	struct sbuf path;
	json_t *c = NULL, *v;

	row->max_msgs = e->cfg->rotation_period_msgs;
	row->max_age_ms = e->cfg->rotation_period_ms;
	sbuf_init(&path, 0);
	if (!mx_path(&path, "/rooms/%s/state/m.room.encryption/", room) &&
	    !mx_call(e->mx, "GET", path.buf, NULL, KEYS_TIMEOUT_MS, &c)) {
		v = json_object_get(c, "rotation_period_msgs");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) < row->max_msgs)
			row->max_msgs = json_integer_value(v);
		v = json_object_get(c, "rotation_period_ms");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) < row->max_age_ms)
			row->max_age_ms = json_integer_value(v);
	}
	json_decref(c);
	sbuf_release(&path);
}

/* A new outbound session for room, persisted with our inbound copy. */
static sc_err new_gout(struct e2ee *e, const char *room, struct crypto_gout **g,
		       struct gout_row *row)
{
	struct crypto_gin *in = NULL;
	struct gin_row gin;
	char *key = NULL, *inp = NULL;
	sc_err err = crypto_gout_new(g);

	memset(row, 0, sizeof(*row));
	memset(&gin, 0, sizeof(gin));
	if (err)
		return err;
	rotation_limits(e, room, row);
	row->room_id = strdup(room);
	row->session_id = strdup(crypto_gout_id(*g));
	row->created = now_ms();
	if (!row->room_id || !row->session_id)
		err = SC_ENOMEM;
	if (!err)
		err = crypto_gout_pickle(*g, e->key, e->key_len, &row->pickle);
	if (!err)
		err = crypto_gout_key(*g, &key);
	if (!err)
		err = crypto_gin_new(key, row->session_id, &in);
	if (!err)
		err = crypto_gin_pickle(in, e->key, e->key_len, &inp);
	gin.room_id = row->room_id;
	gin.session_id = row->session_id;
	gin.sender_key = (char *)crypto_account_curve25519(e->acc);
	gin.sender_user = (char *)e->user_id;
	gin.ed25519 = (char *)crypto_account_ed25519(e->acc);
	gin.pickle = inp;
	if (!err)
		err = store_tx_begin(e->st);
	if (!err) {
		err = store_gout_put(e->st, row);
		if (!err)
			err = store_gin_put(e->st, &gin);
		err = e2ee_tx_end(e, err);
	}
	if (!err)
		log_info("new outbound session %s for %s", row->session_id,
			 room);
	crypto_free_secret(key);
	free(inp);
	crypto_gin_free(in);
	if (err) {
		crypto_gout_free(*g);
		*g = NULL;
		gout_row_clear(row);
	}
	return err;
}

static int add_member(const struct member *m, void *ctx)
{
	return json_array_append_new(ctx, json_string(m->user_id)) != 0;
}

struct need_ctx {
	struct e2ee *e;
	const char *room, *sid;
	json_t *need;       /* devices to send the key to */
	json_t *withhold;   /* devices the trust policy excludes */
	sc_err err;
};

static int need_device(const struct device_row *d, void *ctx)
{
	struct need_ctx *n = ctx;
	int shared = 0;

	n->err = store_gout_is_shared(n->e->st, n->room, n->sid, d->user_id,
				      d->device_id, &shared);
	if (!n->err && !shared &&
	    json_array_append_new(n->e->cfg->trust == TRUST_CROSS_SIGNED &&
				  !d->cross_signed ? n->withhold : n->need,
				  json_pack("{s:s, s:s, s:s, s:s}",
					    "user", d->user_id,
					    "device", d->device_id,
					    "curve", d->curve25519,
					    "ed", d->ed25519)))
		n->err = SC_ENOMEM;
	return n->err != SC_OK;
}

/* Record that every device in devs (array of {user, device}) got, or
 * was refused, the key of sid. */
static sc_err mark_shared(struct e2ee *e, const char *room, const char *sid,
			  json_t *devs)
{
	json_t *d;
	size_t i;
	sc_err err = store_tx_begin(e->st);

	if (err)
		return err;
	json_array_foreach(devs, i, d) {
		if (!err)
			err =
			    store_gout_shared(e->st, room, sid, jstr(d, "user"),
					      jstr(d, "device"));
	}
	return e2ee_tx_end(e, err);
}

/* Tell devices the trust policy excludes that they will not get the key
 * (m.room_key.withheld, code m.unverified), once per session. */
static sc_err withhold(struct e2ee *e, const char *room, const char *sid,
		       json_t *devs)
{
	json_t *msgs = json_object(), *d;
	json_t *c =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "algorithm",
		      CRYPTO_MEGOLM_ALGORITHM, "room_id", room, "session_id",
		      sid, "sender_key", crypto_account_curve25519(e->acc),
		      "code", "m.unverified", "reason",
		      "scribe shares room keys with cross-signed devices only");
	size_t i;
	sc_err err = msgs && c ? SC_OK : SC_ENOMEM;

	json_array_foreach(devs, i, d) {
		if (!err)
			err = e2ee_msgs_set(msgs, jstr(d, "user"),
					    jstr(d, "device"), c);
	}
	if (!err)
		err = e2ee_send_to_device(e, "m.room_key.withheld", msgs);
	if (!err)
		err = mark_shared(e, room, sid, devs);
	if (!err)
		log_info("withheld the key of %s from %zu devices that are not "
			 "cross-signed", room, json_array_size(devs));
	json_decref(msgs);
	json_decref(c);
	return err;
}

/* Send the room key of g to every member device that lacks it. */
static sc_err share_gout(struct e2ee *e, const char *room,
			 struct crypto_gout *g, json_t *members)
{
	struct need_ctx n = {
	    e, room, crypto_gout_id(g), json_array(), json_array(), SC_OK};
	struct target *t = NULL;
	json_t *u, *content = NULL, *sent = json_array();
	size_t i, nt;
	sc_err err = n.need && n.withhold && sent ? SC_OK : SC_ENOMEM;

	json_array_foreach(members, i, u) {
		if (!err)
			err = store_devices(e->st, json_string_value(u),
					    need_device, &n);
		if (!err)
			err = n.err;
	}
	if (!err && json_array_size(n.withhold))
		err = withhold(e, room, n.sid, n.withhold);
	nt = json_array_size(n.need);
	if (err || !nt)
		goto out;
	t = e2ee_targets_of(n.need);
	err = t ? crypto_room_key_content(g, room, &content) : SC_ENOMEM;
	if (!err)
		err = e2ee_olm_send(e, t, nt, "m.room_key", content, 0);
	for (i = 0; i < nt && !err; i++) {
		if (!t[i].sent)
			log_warn("device %s of %s did not get the key of %s",
				 t[i].device, t[i].user, room);
		else if (json_array_append(sent, json_array_get(n.need, i)))
			err = SC_ENOMEM;
	}
	if (!err)
		err = mark_shared(e, room, n.sid, sent);
	if (!err && json_array_size(sent))
		log_info("shared session %s of %s with %zu devices", n.sid,
			 room, json_array_size(sent));
out:
	json_decref(content);
	if (t)
		e2ee_targets_free(t, nt);
	json_decref(n.need);
	json_decref(n.withhold);
	json_decref(sent);
	return err;
}

/*
 * The room's outbound session, ready to encrypt: members' device lists
 * fresh, rotated when due, shared with every member device.
 */
sc_err e2ee_room_gout(struct e2ee *e, const char *room,
		      struct crypto_gout **g, struct gout_row *row)
{
	json_t *members = json_array(), *stale = json_array(), *u;
	size_t i;
	sc_err err = members && stale
			 ? store_members(e->st, room, 1, add_member, members)
			 : SC_ENOMEM;

	*g = NULL;
	memset(row, 0, sizeof(*row));
	json_array_foreach(members, i, u) {
		int outdated = 0;
		sc_err r;

		if (err)
			break;
		r = store_user_tracked(e->st, json_string_value(u), &outdated);
		if ((r == SC_ENOTFOUND || (!r && outdated)) &&
		    json_array_append(stale, u))
			err = SC_ENOMEM;
		else if (r && r != SC_ENOTFOUND)
			err = r;
	}
	if (!err && json_array_size(stale))
		err = e2ee_query_users(e, stale);
	if (!err)
		err = store_gout_get(e->st, room, row);
	if (!err) {
		err = crypto_gout_unpickle(row->pickle, e->key, e->key_len, g);
		if (!err && (crypto_gout_index(*g) >= row->max_msgs ||
			     now_ms() - row->created >= row->max_age_ms)) {
			log_info(
			    "rotating the outbound session of %s (%u messages)",
			    room, crypto_gout_index(*g));
			crypto_gout_free(*g);
			*g = NULL;
			gout_row_clear(row);
			err = store_gout_del(e->st, room);
			if (!err)
				err = SC_ENOTFOUND;
		}
	}
	if (err == SC_ENOTFOUND)
		err = new_gout(e, room, g, row);
	if (!err)
		err = share_gout(e, room, *g, members);
	if (err) {
		crypto_gout_free(*g);
		*g = NULL;
		gout_row_clear(row);
	}
	json_decref(members);
	json_decref(stale);
	return err;
}

sc_err e2ee_on_member(struct e2ee *e, const char *room_id, const char *user_id,
		      const char *membership)
{
	struct gout_row row;
	struct room r;
	int outdated, enc;
	sc_err err;

	if (!strcmp(user_id, e->user_id))
		return SC_OK;
	err = store_room_get(e->st, room_id, &r);
	if (err)
		return err == SC_ENOTFOUND ? SC_OK : err;
	enc = r.encrypted;
	room_clear(&r);
	if (!enc)
		return SC_OK;
	if (!strcmp(membership, "leave") || !strcmp(membership, "ban")) {
		err = store_gout_get(e->st, room_id, &row);
		if (err)
			return err == SC_ENOTFOUND ? SC_OK : err;
		gout_row_clear(&row);
		log_info("%s left %s: its next message uses a new session",
			 user_id, room_id);
		return store_gout_del(e->st, room_id);
	}
	err = store_user_tracked(e->st, user_id, &outdated);
	if (err == SC_ENOTFOUND)
		err = e2ee_track_outdated(e, user_id);
	return err;
}
