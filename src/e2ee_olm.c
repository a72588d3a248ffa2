/* SPDX-License-Identifier: MIT */
/*
 * e2ee_olm.c - olm to-device traffic. In: each to-device m.room.encrypted
 * is decrypted with a known session or a new inbound one, checked
 * against the sending device, and persisted with what it carried (an
 * m.room_key becomes an inbound megolm session) in one transaction;
 * e2ee_sync_begin also reads device list changes and key counts. Out:
 * one-time keys claimed for devices without a session, events
 * olm-encrypted and sent in one PUT /sendToDevice, sessions persisted
 * before the send; wedged sessions replaced and the peer told with
 * m.dummy.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "e2ee_int.h"
#include "log.h"
#include "sbuf.h"
#include "banned.h"

/* ---- olm in: to-device events ---- */

struct olm_try {
	struct e2ee *e;
	const char *sender_key, *body;
	int type;
	struct crypto_session *found;
	char *text;
	size_t len;
};

static int try_session(const struct olm_row *r, void *ctx)
{
	struct olm_try *t = ctx;
	struct crypto_session *s = NULL;
	bool match = true;

	if (crypto_session_unpickle(r->pickle, t->e->key, t->e->key_len, &s)) {
		log_warn("olm session %s does not unpickle; skipped",
			 r->session_id);
		return 0;
	}
	if (t->type == CRYPTO_OLM_PREKEY &&
	    (crypto_session_matches(s, t->sender_key, t->body, &match) ||
	     !match)) {
		crypto_session_free(s);
		return 0;
	}
	if (crypto_session_decrypt(s, t->type, t->body, &t->text, &t->len) ==
	    SC_OK) {
		t->found = s;
		return 1;
	}
	crypto_session_free(s);
	return 0;
}

struct dev_copy {
	char *user, *device, *ed, *curve;
};

static int copy_device(const struct device_row *d, void *ctx)
{
	struct dev_copy *c = ctx;

	c->user = strdup(d->user_id);
	c->device = strdup(d->device_id);
	c->ed = strdup(d->ed25519);
	c->curve = strdup(d->curve25519);
	return 1;
}

static void dev_copy_clear(struct dev_copy *c)
{
	free(c->user);
	free(c->device);
	free(c->ed);
	free(c->curve);
	memset(c, 0, sizeof(*c));
}

/* The device (of user) with identity key curve: SC_ENOTFOUND when we do
 * not know it, or it belongs to someone else. */
static sc_err device_for_key(struct e2ee *e, const char *user,
			     const char *curve, struct dev_copy *out)
{
	sc_err err = store_device_by_curve(e->st, curve, copy_device, out);

	if (!err && (!out->user || !out->device || !out->ed || !out->curve))
		err = SC_ENOMEM;
	if (!err && strcmp(out->user, user))
		err = SC_ENOTFOUND;
	if (err)
		dev_copy_clear(out);
	return err;
}

/* An m.room_key from sender over the olm channel with sender_key. */
static sc_err room_key(struct e2ee *e, const char *sender,
		       const char *sender_key, json_t *pt)
{
	json_t *c = json_object_get(pt, "content");
	const char *alg = jstr(c, "algorithm"), *room = jstr(c, "room_id");
	const char *sid = jstr(c, "session_id"), *skey = jstr(c, "session_key");
	struct crypto_gin *g = NULL;
	struct gin_row old, row;
	char *pickle = NULL;
	sc_err err;

	if (!alg || strcmp(alg, CRYPTO_MEGOLM_ALGORITHM) || !room || !sid ||
	    !skey) {
		log_warn(
		    "refused room key from %s: unknown algorithm or missing "
		    "fields",
		    sender);
		return SC_OK;
	}
	if (crypto_gin_new(skey, sid, &g)) {
		log_warn("refused room key from %s for %s: malformed key",
			 sender, room);
		return SC_OK;
	}
	err = store_gin_get(e->st, room, sid, &old);
	if (!err) {
		int keep = strcmp(old.sender_key, sender_key) ||
			   old.first_index <= crypto_gin_first_index(g);
		if (strcmp(old.sender_key, sender_key))
			log_warn(
			    "refused room key %s for %s from %s: the session "
			    "belongs to another device",
			    sid, room, sender);
		gin_row_clear(&old);
		if (keep)
			goto out;
	} else if (err != SC_ENOTFOUND) {
		goto out;
	}
	err = crypto_gin_pickle(g, e->key, e->key_len, &pickle);
	if (err)
		goto out;
	row.room_id = (char *)room;
	row.session_id = (char *)sid;
	row.sender_key = (char *)sender_key;
	row.sender_user = (char *)sender;
	row.ed25519 = (char *)jstr(json_object_get(pt, "keys"), "ed25519");
	row.pickle = pickle;
	row.first_index = crypto_gin_first_index(g);
	err = store_gin_put(e->st, &row);
	if (!err)
		log_info("received room key for %s from %s (session %s)", room,
			 sender, sid);
out:
	free(pickle);
	crypto_gin_free(g);
	return err;
}

/* Persist what one decrypted olm message changed, and act on it. */
struct olm_done {
	struct crypto_session *s;
	int fresh;
	const char *sender, *sender_key;
	json_t *pt;
};

static sc_err olm_commit(struct e2ee *e, struct olm_done *d)
{
	const char *type = jstr(d->pt, "type");
	char *pickle = NULL;
	sc_err err = store_tx_begin(e->st);

	if (err)
		return err;
	if (d->fresh) {
		err = crypto_account_remove_otks(e->acc, d->s);
		if (err == SC_ENOTFOUND)
			err = SC_OK;
		if (!err)
			err = e2ee_save_account(e);
	}
	if (!err)
		err = crypto_session_pickle(d->s, e->key, e->key_len, &pickle);
	if (!err)
		err = store_olm_put(e->st, crypto_session_id(d->s),
				    d->sender_key, pickle, now_ms());
	if (!err && !strcmp(type, "m.room_key"))
		err = room_key(e, d->sender, d->sender_key, d->pt);
	else if (!err)
		log_debug("olm %s from %s", type, d->sender);
	err = e2ee_tx_end(e, err);
	free(pickle);
	return err;
}

/* A to-device m.room.encrypted: decrypt with a known session or a new
 * inbound one, check who sent it, persist and handle the payload. */
static sc_err olm_event(struct e2ee *e, json_t *ev)
{
	const char *sender = jstr(ev, "sender");
	struct olm_try t = { e, NULL, NULL, 0, NULL, NULL, 0 };
	struct olm_done d = { NULL, 0, sender, NULL, NULL };
	struct dev_copy dev = { NULL, NULL, NULL, NULL };
	sc_err err;

	if (!sender)
		return SC_OK;
	err = crypto_olm_ciphertext(json_object_get(ev, "content"),
				    crypto_account_curve25519(e->acc),
				    &t.sender_key, &t.type, &t.body);
	if (err) {
		if (err == SC_ENOTFOUND)
			log_debug("olm message from %s is not for this device",
				  sender);
		else
			log_warn(
			    "refused to-device message from %s: malformed or "
			    "unknown algorithm",
			    sender);
		return SC_OK;
	}
	err = store_olm_sessions(e->st, t.sender_key, try_session, &t);
	if (err)
		return err;
	if (!t.found && t.type == CRYPTO_OLM_PREKEY) {
		if (crypto_session_new_inbound(e->acc, t.sender_key, t.body,
					       &t.found)) {
			log_warn("refused olm pre-key message from %s: unknown "
				 "one-time "
				 "key or garbage",
				 sender);
			return SC_OK;
		}
		if (crypto_session_decrypt(t.found, t.type, t.body, &t.text,
					   &t.len)) {
			log_warn("cannot decrypt olm pre-key message from %s",
				 sender);
			crypto_session_free(t.found);
			return SC_OK;
		}
		d.fresh = 1;
	} else if (!t.found) {
		log_warn(
		    "cannot decrypt olm message from %s: no session matches; "
		    "starting a new one",
		    sender);
		if (json_object_set_new(e->wedged, t.sender_key,
					json_string(sender)))
			return SC_ENOMEM;
		return e2ee_track_outdated(e, sender);
	}
	err = device_for_key(e, sender, t.sender_key, &dev);
	if (err == SC_ENOTFOUND) /* keys.ed25519 unverified until queried */
		err = e2ee_track_outdated(e, sender);
	if (err)
		goto out;
	if (crypto_olm_check_plaintext(e->acc, t.text, t.len, sender,
				       e->user_id, dev.ed, &d.pt)) {
		log_warn(
		    "refused olm message from %s: sender, recipient or keys "
		    "do not match, or not JSON",
		    sender);
		goto out;
	}
	d.s = t.found;
	d.sender_key = t.sender_key;
	e2ee_crash_point("olm-decrypted");
	err = olm_commit(e, &d);
out:
	json_decref(d.pt);
	crypto_session_free(t.found);
	crypto_free_secret(t.text);
	dev_copy_clear(&dev);
	return err;
}

sc_err e2ee_sync_begin(struct e2ee *e, json_t *sync)
{
	json_t *events =
	    json_object_get(json_object_get(sync, "to_device"), "events");
	json_t *lists = json_object_get(sync, "device_lists");
	json_t *counts = json_object_get(sync, "device_one_time_keys_count");
	json_t *fb = json_object_get(sync, "device_unused_fallback_key_types");
	json_t *ev, *u;
	size_t i;
	sc_err err = SC_OK;

	json_array_foreach(events, i, ev) {
		const char *type = jstr(ev, "type");
		json_t *c = json_object_get(ev, "content");

		if (!type)
			continue;
		if (!strcmp(type, "m.room.encrypted")) {
			err = olm_event(e, ev);
			if (err)
				return err;
		} else if (!strcmp(type, "m.room_key.withheld")) {
			/* the sender's client will not let scribe read that
			 * session: the operator must hear why */
			log_warn("room key withheld by %s for %s (session %s): %s%s%s%s",
				 jstr(ev, "sender"),
				 jstr(c, "room_id") ? jstr(c, "room_id") : "?",
				 jstr(c, "session_id") ? jstr(c, "session_id") : "?",
				 jstr(c, "code") ? jstr(c, "code") : "?",
				 jstr(c, "reason") ? " (" : "",
				 jstr(c, "reason") ? jstr(c, "reason") : "",
				 jstr(c, "reason") ? ")" : "");
		}
	}
	json_array_foreach(json_object_get(lists, "changed"), i, u) {
		if (!err && json_is_string(u))
			err = store_user_outdate(e->st, json_string_value(u));
	}
	json_array_foreach(json_object_get(lists, "left"), i, u) {
		if (!err && json_is_string(u))
			err = store_user_outdate(e->st, json_string_value(u));
	}
	if (json_is_object(counts)) {
		json_t *n = json_object_get(counts, CRYPTO_OTK_ALGORITHM);
		e->otk_count =
		    json_is_integer(n) ? (long)json_integer_value(n) : 0;
	}
	if (json_is_array(fb)) {
		int have = 0;
		json_array_foreach(fb, i, u) have |=
		    !strcmp(json_string_value(u) ? json_string_value(u) : "",
			    CRYPTO_OTK_ALGORITHM);
		if (!have)
			e->need_fallback = 1;
	}
	return err;
}

/* ---- olm out: sessions, claims, to-device sends ---- */

/* PUT /sendToDevice/type/<random txn> with {messages: msgs}. */
sc_err e2ee_send_to_device(struct e2ee *e, const char *type, json_t *msgs)
{
	json_t *body = json_pack("{s:O}", "messages", msgs);
	unsigned char rnd[12];
	struct sbuf path;
	sc_err err = body ? crypto_random(rnd, sizeof(rnd)) : SC_ENOMEM;

	sbuf_init(&path, 0);
	if (!err)
		err = mx_path(&path, "/sendToDevice/%s/", type);
	for (size_t i = 0; i < sizeof(rnd) && !err; i++)
		err = sbuf_printf(&path, "%02x", rnd[i]);
	if (!err)
		err = mx_call_retry(e->mx, "PUT", path.buf, body,
				    KEYS_TIMEOUT_MS, NULL);
	if (err)
		e2ee_call_failed(e, "send to-device messages", err);
	json_decref(body);
	sbuf_release(&path);
	return err;
}

/* msgs[user][device] = v (a borrowed value, referenced). */
sc_err e2ee_msgs_set(json_t *msgs, const char *user, const char *device,
		     json_t *v)
{
	json_t *u = json_object_get(msgs, user);

	if (!u && json_object_set_new(msgs, user, json_object()))
		return SC_ENOMEM;
	u = json_object_get(msgs, user);
	return !u || json_object_set(u, device, v) ? SC_ENOMEM : SC_OK;
}

struct find_ctx {
	struct e2ee *e;
	struct crypto_session *s;
};

static int newest_session(const struct olm_row *r, void *ctx)
{
	struct find_ctx *f = ctx;

	if (crypto_session_unpickle(r->pickle, f->e->key, f->e->key_len, &f->s))
		f->s = NULL;
	return f->s != NULL;
}

/* Give every target without one (all when fresh) a new outbound olm
 * session from a claimed one-time key. */
static sc_err claim_sessions(struct e2ee *e, struct target *t, size_t n,
			     int fresh)
{
	json_t *want = json_object(), *body = NULL, *resp = NULL, *otks;
	json_t *alg = json_string(CRYPTO_OTK_ALGORITHM);
	sc_err err = want && alg ? SC_OK : SC_ENOMEM;

	for (size_t i = 0; i < n && !err; i++) {
		if (!fresh) {
			struct find_ctx f = { e, NULL };
			err = store_olm_sessions(e->st, t[i].curve,
						 newest_session, &f);
			t[i].s = f.s;
		}
		if (!err && !t[i].s)
			err = e2ee_msgs_set(want, t[i].user, t[i].device, alg);
	}
	if (err || !json_object_size(want))
		goto out;
	body = json_pack("{s:O, s:i}", "one_time_keys", want, "timeout", 10000);
	err = body ? e2ee_post(e, "POST", "/keys/claim", body, &resp)
		   : SC_ENOMEM;
	if (err) {
		e2ee_call_failed(e, "claim one-time keys", err);
		goto out;
	}
	otks = json_object_get(resp, "one_time_keys");
	for (size_t i = 0; i < n; i++) {
		json_t *keys = json_object_get(json_object_get(otks, t[i].user),
					       t[i].device), *k;
		const char *id;

		if (t[i].s)
			continue;
		json_object_foreach(keys, id, k) {
			if (strncmp(id, CRYPTO_OTK_ALGORITHM ":",
				    strlen(CRYPTO_OTK_ALGORITHM) + 1))
				continue;
			if (crypto_session_new_outbound(e->acc, k, t[i].user,
							t[i].device, t[i].ed,
							t[i].curve, &t[i].s))
				log_warn(
				    "one-time key of device %s of %s has a bad "
				    "signature; not used",
				    t[i].device, t[i].user);
			break;
		}
		if (!t[i].s)
			log_warn("no usable one-time key for device %s of %s",
				 t[i].device, t[i].user);
	}
out:
	json_decref(want);
	json_decref(alg);
	json_decref(body);
	json_decref(resp);
	return err;
}

/*
 * Olm-encrypt one event (type, content) to every target and send all of
 * them in one PUT /sendToDevice; t[i].sent says who got it. Sessions are
 * persisted, advanced, before the send.
 */
sc_err e2ee_olm_send(struct e2ee *e, struct target *t, size_t n,
		     const char *type, json_t *content, int fresh)
{
	json_t *msgs = json_object();
	size_t count = 0;
	sc_err err = msgs ? claim_sessions(e, t, n, fresh) : SC_ENOMEM;

	if (!err)
		err = store_tx_begin(e->st);
	if (err)
		goto out;
	for (size_t i = 0; i < n && !err; i++) {
		json_t *pt = NULL, *enc = NULL;
		char *pickle = NULL;

		if (!t[i].s)
			continue;
		err =
		    crypto_olm_plaintext(e->acc, type, content, e->user_id,
					 e->device_id, t[i].user, t[i].ed, &pt);
		/* MSC4147, as current clients send: the recipient learns our
		 * signed device keys even before it has queried them */
		if (!err && json_object_set(pt, "sender_device_keys", e->device_keys))
			err = SC_ENOMEM;
		if (!err)
			err = crypto_olm_encrypt_event(e->acc, t[i].s,
						       t[i].curve, pt, &enc);
		if (!err)
			err = crypto_session_pickle(t[i].s, e->key, e->key_len,
						    &pickle);
		if (!err)
			err = store_olm_put(e->st, crypto_session_id(t[i].s),
					    t[i].curve, pickle, now_ms());
		if (!err)
			err = e2ee_msgs_set(msgs, t[i].user, t[i].device, enc);
		count += !err;
		json_decref(pt);
		json_decref(enc);
		free(pickle);
	}
	err = e2ee_tx_end(e, err);
	if (err || !count)
		goto out;
	e2ee_crash_point("olm-encrypted");
	err = e2ee_send_to_device(e, "m.room.encrypted", msgs);
	for (size_t i = 0; i < n && !err; i++)
		t[i].sent = t[i].s != NULL;
out:
	json_decref(msgs);
	return err;
}

void e2ee_targets_free(struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		crypto_session_free(t[i].s);
	free(t);
}

/* Targets from an array of {user, device, curve, ed} objects. */
struct target *e2ee_targets_of(json_t *arr)
{
	struct target *t = calloc(json_array_size(arr) + 1, sizeof(*t));
	json_t *d;
	size_t i;

	if (!t)
		return NULL;
	json_array_foreach(arr, i, d) {
		t[i].user = jstr(d, "user");
		t[i].device = jstr(d, "device");
		t[i].curve = jstr(d, "curve");
		t[i].ed = jstr(d, "ed");
	}
	return t;
}

/* Wedged sessions: a fresh olm session and an m.dummy, at most once an
 * hour per device. */
sc_err e2ee_unwedge(struct e2ee *e)
{
	const char *curve;
	json_t *user, *arr = json_array(), *content = json_object();
	struct target *t = NULL;
	sc_err err = arr && content ? SC_OK : SC_ENOMEM;

	json_object_foreach(e->wedged, curve, user) {
		struct dev_copy dev = { NULL, NULL, NULL, NULL };
		int64_t created;
		sc_err r;

		if (err)
			break;
		r = store_olm_newest(e->st, curve, &created);
		if (r == SC_OK && now_ms() - created < HOUR_MS)
			continue;
		r = device_for_key(e, json_string_value(user), curve, &dev);
		if (r == SC_ENOTFOUND) {
			log_warn("cannot unwedge the session with %s: unknown "
				 "device",
				 json_string_value(user));
			continue;
		}
		if (r) {
			err = r;
			break;
		}
		if (json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s}", "user", dev.user,
				       "device", dev.device, "curve", dev.curve,
				       "ed", dev.ed)))
			err = SC_ENOMEM;
		dev_copy_clear(&dev);
	}
	json_object_clear(e->wedged);
	if (!err && json_array_size(arr)) {
		t = e2ee_targets_of(arr);
		err = t ? e2ee_olm_send(e, t, json_array_size(arr), "m.dummy",
					content, 1)
			: SC_ENOMEM;
		if (!err)
			log_info("sent m.dummy on %zu new olm sessions",
				 json_array_size(arr));
	}
	if (t)
		e2ee_targets_free(t, json_array_size(arr));
	json_decref(arr);
	json_decref(content);
	return err;
}
