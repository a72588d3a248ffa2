/* SPDX-License-Identifier: MIT */
/*
 * store_crypto.h - the end-to-end encryption state in the store (schema
 * migration 2, src/store_crypto.c): the account and cross-signing
 * pickles, olm sessions, inbound and outbound megolm sessions, which
 * devices got which outbound session, the tracked device lists, the
 * megolm replay log and the queue of events that could not be decrypted
 * yet. Only the e2ee module (src/e2ee*.c) uses it.
 *
 * Pickles are stored as given: they are already encrypted with the
 * pickle key (which never enters the database). Every write joins the
 * transaction that is open (store_tx_begin), so a sync batch's crypto
 * changes commit with its sync token.
 *
 * Strings passed in are borrowed for the call. Strings handed to a
 * callback are borrowed for the duration of the callback. Errors as in
 * store.h: SC_ESTORE / SC_EBUSY with store_errmsg(), SC_ENOTFOUND for a
 * missing row, SC_EINVAL for a missing required argument.
 */
#ifndef SCRIBE_STORE_CRYPTO_H
#define SCRIBE_STORE_CRYPTO_H

#include <stdint.h>

#include "store.h"

/* Named values: "account" (pickle), "device_id" (the device the account
 * belongs to), "xsign" (pickle), and flags of what was uploaded.
 * store_crypto_get: *out is a new string; SC_ENOTFOUND when unset. */
sc_err store_crypto_get(struct store *st, const char *name, char **out);
sc_err store_crypto_put(struct store *st, const char *name, const char *value);

/* ---- olm sessions, keyed by session id ---- */

struct olm_row {
	const char *session_id;
	const char *curve_key;  /* the peer device's identity key */
	const char *pickle;
	int64_t created;        /* ms */
	int64_t last_used;      /* ms; the order sessions are tried in */
};
/* Insert or update (created is kept from the first insert). */
sc_err store_olm_put(struct store *st, const char *session_id,
		     const char *curve_key, const char *pickle, int64_t now);
typedef int (*olm_row_cb)(const struct olm_row *r, void *ctx);
/* Sessions with curve_key, most recently used first; cb returns
 * non-zero to stop. */
sc_err store_olm_sessions(struct store *st, const char *curve_key,
			  olm_row_cb cb, void *ctx);
/* Creation time (ms) of the newest session with curve_key;
 * SC_ENOTFOUND when there is none. */
sc_err store_olm_newest(struct store *st, const char *curve_key,
			int64_t *created);

/* ---- inbound megolm sessions, keyed by (room, session id) ---- */

struct gin_row {
	char *room_id;
	char *session_id;
	char *sender_key;   /* curve25519 of the olm channel it came over */
	char *sender_user;  /* who sent the m.room_key */
	char *ed25519;      /* the sender device's claimed key, may be NULL */
	char *pickle;
	int64_t first_index;
};
void gin_row_clear(struct gin_row *r);
/* Load; strings in out are the caller's (gin_row_clear). */
sc_err store_gin_get(struct store *st, const char *room_id,
		     const char *session_id, struct gin_row *out);
/* Insert or replace every field. */
sc_err store_gin_put(struct store *st, const struct gin_row *r);
/*
 * Replay log: remember that message index of the session decrypted as
 * event_id. SC_OK when new or when it was the same event;
 * SC_EEXISTS when another event already used that index (a replay).
 */
sc_err store_gin_seen(struct store *st, const char *room_id,
		      const char *session_id, int64_t index,
		      const char *event_id);

/* ---- our outbound megolm session, one per room ---- */

struct gout_row {
	char *room_id;
	char *session_id;
	char *pickle;
	int64_t created;     /* ms */
	int64_t max_msgs;    /* rotate when the index reaches it */
	int64_t max_age_ms;  /* rotate when this old */
};
void gout_row_clear(struct gout_row *r);
sc_err store_gout_get(struct store *st, const char *room_id,
		      struct gout_row *out);
/* Insert or replace every field. */
sc_err store_gout_put(struct store *st, const struct gout_row *r);
/* Drop the room's outbound session (rotation): the next message starts
 * a new one. No session is fine. */
sc_err store_gout_del(struct store *st, const char *room_id);
/* Drop the outbound session of every room that shared it with the
 * device (the device is gone or changed its keys). */
sc_err store_gout_del_device(struct store *st, const char *user_id,
			     const char *device_id);
/* Record that the device received session_id (after the 200). */
sc_err store_gout_shared(struct store *st, const char *room_id,
			 const char *session_id, const char *user_id,
			 const char *device_id);
/* *shared = 1 when it did. */
sc_err store_gout_is_shared(struct store *st, const char *room_id,
			    const char *session_id, const char *user_id,
			    const char *device_id, int *shared);

/* ---- device lists ---- */

struct device_row {
	const char *user_id;
	const char *device_id;
	const char *curve25519;
	const char *ed25519;
	int cross_signed;       /* signed by its owner's self-signing key */
};
/* Insert or replace. */
sc_err store_device_put(struct store *st, const struct device_row *d);
sc_err store_device_del(struct store *st, const char *user_id,
			const char *device_id);
typedef int (*device_cb)(const struct device_row *d, void *ctx);
/* Every stored device of user_id, by device id. */
sc_err store_devices(struct store *st, const char *user_id, device_cb cb,
		     void *ctx);
/* The device with identity key curve25519 (at most one call of cb);
 * SC_ENOTFOUND when unknown. */
sc_err store_device_by_curve(struct store *st, const char *curve25519,
			     device_cb cb, void *ctx);

/* A user whose device list we follow. *outdated = 1 when it must be
 * queried again. SC_ENOTFOUND: not tracked. */
sc_err store_user_tracked(struct store *st, const char *user_id,
			  int *outdated);
/* Track user_id (insert or update the flag). */
sc_err store_user_track(struct store *st, const char *user_id, int outdated);
/* Mark a tracked user outdated; an untracked one stays untracked. */
sc_err store_user_outdate(struct store *st, const char *user_id);
/* Every tracked user flagged outdated. */
sc_err store_users_outdated(struct store *st, str_cb cb, void *ctx);

/* ---- the outbox ---- */

/* Queued messages that still need encrypting: not m.room.encrypted yet,
 * for a room marked encrypted. Oldest first, as store_outbox_pending. */
sc_err store_outbox_to_encrypt(struct store *st, outbox_cb cb, void *ctx);

/* ---- events waiting for their room key ---- */

/* Queue an event (JSON text); a second add of event_id is a no-op. */
sc_err store_undecrypted_add(struct store *st, const char *event_id,
			     const char *room_id, const char *session_id,
			     const char *event, int64_t now);
/* Queued events whose inbound session is now known, oldest first.
 * cb(room_id, event JSON, ctx) returns non-zero to stop. */
typedef int (*undecrypted_cb)(const char *room_id, const char *event,
			      void *ctx);
sc_err store_undecrypted_ready(struct store *st, undecrypted_cb cb,
			       void *ctx);
sc_err store_undecrypted_del(struct store *st, const char *event_id);
/* Forget events queued before before (ms): their key is not coming. */
sc_err store_undecrypted_prune(struct store *st, int64_t before);
/* Number of queued events (for tests and logs). */
sc_err store_undecrypted_count(struct store *st, int64_t *count);

#endif
