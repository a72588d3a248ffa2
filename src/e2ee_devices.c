/* SPDX-License-Identifier: MIT */
/*
 * e2ee_devices.c - the device lists of the users scribe shares rooms
 * with: POST /keys/query for the users marked outdated, each device
 * checked by its self-signature and refused when its ed25519 key
 * changed, cross-signing (a user's self-signing key, signed by the
 * master key trusted on first use) recorded per device for the trust
 * policy. Devices that are gone lose the room keys shared with them.
 */
#include <stdlib.h>
#include <string.h>

#include "e2ee_int.h"
#include "log.h"
#include "sbuf.h"
#include "banned.h"

/* ---- device lists ---- */

static int add_device(const struct device_row *d, void *ctx)
{
	json_t *o = json_pack("{s:s, s:s, s:b}", "curve", d->curve25519,
			      "ed", d->ed25519, "xs", d->cross_signed);

	return !o || json_object_set_new(ctx, d->device_id, o);
}

/* A device from /keys/query with a valid self-signature: its keys, or
 * NULL with a log line. */
static int device_valid(const char *user, const char *dev, json_t *keys,
			const char **curve, const char **ed)
{
	json_t *k = json_object_get(keys, "keys");
	struct sbuf id;
	int ok = 0;

	sbuf_init(&id, 0);
	if (strcmp(jstr(keys, "user_id") ? jstr(keys, "user_id") : "", user) ||
	    strcmp(jstr(keys, "device_id") ? jstr(keys, "device_id") : "", dev))
		goto out;
	if (sbuf_printf(&id, "curve25519:%s", dev))
		goto out;
	*curve = jstr(k, id.buf);
	sbuf_setlen(&id, 0);
	if (sbuf_printf(&id, "ed25519:%s", dev))
		goto out;
	*ed = jstr(k, id.buf);
	ok = *curve && *ed &&
	     crypto_verify_signed_json(keys, user, id.buf, *ed) == SC_OK;
out:
	if (!ok)
		log_warn("ignoring device %s of %s: bad keys or self-signature",
			 dev, user);
	sbuf_release(&id);
	return ok;
}

/* The one ed25519 key of a cross-signing key object of user with the
 * given usage; NULL when the object is not that. Borrowed from key. */
static const char *xsign_key(json_t *key, const char *user, const char *usage)
{
	json_t *u, *keys = json_object_get(key, "keys"), *v;
	const char *id, *out = NULL;
	size_t i;
	int has = 0;

	if (strcmp(jstr(key, "user_id") ? jstr(key, "user_id") : "", user) ||
	    json_object_size(keys) != 1)
		return NULL;
	json_array_foreach(json_object_get(key, "usage"), i, u) has |=
	    json_is_string(u) && !strcmp(json_string_value(u), usage);
	json_object_foreach(keys, id, v) {
		if (has && !strncmp(id, "ed25519:", 8) && json_is_string(v) &&
		    !strcmp(id + 8, json_string_value(v)))
			out = json_string_value(v);
	}
	return out;
}

/* Whether obj carries a valid signature of user's ed25519 key pub
 * (a cross-signing key, named "ed25519:<pub>"). */
static int signed_by(json_t *obj, const char *user, const char *pub)
{
	struct sbuf id;
	int ok;

	sbuf_init(&id, 0);
	ok = !sbuf_printf(&id, "ed25519:%s", pub) &&
	     crypto_verify_signed_json(obj, user, id.buf, pub) == SC_OK;
	sbuf_release(&id);
	return ok;
}

/* user's self-signing key from a /keys/query answer when the master
 * key signed it, else NULL. Borrowed from resp. (The master key itself
 * is trusted on first use: scribe does not verify users.) */
static const char *self_signing_key(json_t *resp, const char *user)
{
	json_t *mk =
	    json_object_get(json_object_get(resp, "master_keys"), user);
	json_t *sk =
	    json_object_get(json_object_get(resp, "self_signing_keys"), user);
	const char *m = xsign_key(mk, user, "master");
	const char *s = xsign_key(sk, user, "self_signing");

	return m && s && signed_by(sk, user, m) ? s : NULL;
}

/* Apply the /keys/query answer for one user, in the open transaction.
 * ssk: the user's verified self-signing key, or NULL. */
static sc_err update_user(struct e2ee *e, const char *user, json_t *devs,
			  const char *ssk)
{
	json_t *old = json_object(), *v;
	const char *dev;
	sc_err err;

	if (!old)
		return SC_ENOMEM;
	err = store_devices(e->st, user, add_device, old);
	json_object_foreach(old, dev, v) {
		if (err || json_object_get(devs, dev))
			continue;
		log_info("device %s of %s is gone", dev, user);
		err = store_device_del(e->st, user, dev);
		if (!err)
			err = store_gout_del_device(e->st, user, dev);
	}
	json_object_foreach(devs, dev, v) {
		const char *curve = NULL, *ed = NULL;
		json_t *was = json_object_get(old, dev);
		struct device_row row = { user, dev, NULL, NULL, 0 };

		if (err)
			break;
		if (!strcmp(user, e->user_id) && !strcmp(dev, e->device_id))
			continue;
		if (!device_valid(user, dev, v, &curve, &ed))
			continue;
		if (was && strcmp(jstr(was, "ed"), ed)) {
			log_warn(
			    "device %s of %s changed its ed25519 key; ignoring "
			    "the new key",
			    dev, user);
			continue;
		}
		row.cross_signed = ssk && signed_by(v, user, ssk);
		if (was && !strcmp(jstr(was, "curve"), curve) &&
		    json_is_true(json_object_get(was, "xs")) ==
			row.cross_signed)
			continue;
		if (was)
			err = store_gout_del_device(e->st, user, dev);
		row.curve25519 = curve;
		row.ed25519 = ed;
		if (!err)
			err = store_device_put(e->st, &row);
	}
	if (!err)
		err = store_user_track(e->st, user, 0);
	json_decref(old);
	return err;
}

/* POST /keys/query for users (an array of user ids) and store the
 * verified devices. */
sc_err e2ee_query_users(struct e2ee *e, json_t *users)
{
	json_t *body =
	    json_pack("{s:{}, s:i}", "device_keys", "timeout", 10000);
	json_t *resp = NULL, *u;
	size_t i;
	sc_err err = body ? SC_OK : SC_ENOMEM;

	json_array_foreach(users, i, u) {
		if (!err &&
		    json_object_set_new(json_object_get(body, "device_keys"),
					json_string_value(u), json_array()))
			err = SC_ENOMEM;
	}
	if (!err)
		err = e2ee_post(e, "POST", "/keys/query", body, &resp);
	if (err) {
		e2ee_call_failed(e, "query device keys", err);
		goto out;
	}
	err = store_tx_begin(e->st);
	if (err)
		goto out;
	json_array_foreach(users, i, u) {
		json_t *devs = json_object_get(
		    json_object_get(resp, "device_keys"), json_string_value(u));
		if (!err && json_is_object(devs))
			err = update_user(
			    e, json_string_value(u), devs,
			    self_signing_key(resp, json_string_value(u)));
	}
	err = e2ee_tx_end(e, err);
out:
	json_decref(body);
	json_decref(resp);
	return err;
}

static int add_str(const char *s, void *ctx)
{
	return json_array_append_new(ctx, json_string(s)) != 0;
}

sc_err e2ee_query_outdated(struct e2ee *e)
{
	json_t *users = json_array();
	sc_err err =
	    users ? store_users_outdated(e->st, add_str, users) : SC_ENOMEM;

	if (!err && json_array_size(users))
		err = e2ee_query_users(e, users);
	json_decref(users);
	return err;
}

/* Follow user's device list and query it after the batch. */
sc_err e2ee_track_outdated(struct e2ee *e, const char *user)
{
	return store_user_track(e->st, user, 1);
}

