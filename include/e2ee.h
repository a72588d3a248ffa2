/* SPDX-License-Identifier: MIT */
/*
 * e2ee.h - end-to-end encryption for the bot: the protocol around the
 * crypto module (crypto.h, the only user of libolm). It keeps the
 * device's identity and one-time keys on the server, tracks the devices
 * of everyone in encrypted rooms, decrypts to-device and room events,
 * and encrypts every message queued for an encrypted room.
 *
 * State lives in the store (through store_crypto_*), so it commits with
 * the sync batch that changed it; the README's "What persists, and
 * when" states the persistence rules followed here. The pickle key is read from a
 * 0600 file outside the database.
 *
 * Order per sync (bot_sync.c): e2ee_sync_begin (to-device events, device
 * lists, key counts) → timeline events, where m.room.encrypted goes
 * through e2ee_decrypt → commit → e2ee_after_batch (uploads, queries,
 * retries of queued events). Sending: e2ee_prepare_outbox encrypts
 * queued messages of encrypted rooms before bot_flush_outbox sends them.
 */
#ifndef SCRIBE_E2EE_H
#define SCRIBE_E2EE_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "matrix.h"
#include "store.h"

struct e2ee;

/*
 * Load the account (or create, persist and upload a new one), read the
 * pickle key file (creating it with 32 random bytes and mode 0600 when
 * missing), upload device keys, one-time keys, a fallback key and the
 * self cross-signing keys as needed. SC_ECONFIG, logged with what to do:
 * a pickle that does not open with the key (crypto.h's SC_EAUTH; never
 * a silently new identity), a key file missing while the store holds
 * keys (never a new key), a key shorter than 32 bytes, or keys of
 * another device id than mx's. SC_EAUTH is the homeserver refusing the
 * access token, as everywhere. mx->user_id and mx->device_id must be
 * set (mx_whoami) and outlive e; so must st and cfg. A server that wants
 * interactive auth for the cross-signing upload gets the account
 * password when one is given (NULL: none; only used during the call),
 * else a warning, not a failure.
 */
sc_err e2ee_open(struct store *st, struct matrix *mx, const struct config *cfg,
		 const char *password, struct e2ee **out);
void e2ee_close(struct e2ee *e);

/* Inside the batch transaction: to-device events (olm decrypt, room
 * keys), device_lists changed/left, one-time key counts. Bad to-device
 * messages are logged and skipped; only store (and memory) errors are
 * returned. */
sc_err e2ee_sync_begin(struct e2ee *e, json_t *sync);

/*
 * Decrypt a room event. On SC_OK *plain is a new event object like ev but
 * with the decrypted type and content (sender, event_id, origin_server_ts
 * copied). SC_ENOTFOUND: no key yet, the event was queued and will come
 * back through the `retry` callback of e2ee_after_batch. SC_EINVAL
 * (malformed, unknown algorithm) and SC_ECRYPTO (forged sender, replay,
 * bad MAC): refused with a log line, nothing to do. Anything else is a
 * store error. Call inside a transaction: the replay log and the queue
 * are written.
 */
sc_err e2ee_decrypt(struct e2ee *e, const char *room_id, json_t *ev,
		    json_t **plain);

/* Called for each queued event whose key arrived, inside a transaction
 * e2ee_after_batch opens; plain as from e2ee_decrypt. */
typedef sc_err (*e2ee_retry_fn)(const char *room_id, json_t *plain, void *ctx);

/* After the batch committed: upload keys if the server runs low, query
 * outdated device lists, unwedge broken olm sessions, retry queued events
 * (calling retry). Network failures are logged and tried again after
 * the next batch; only errors that must stop the bot are returned. */
sc_err e2ee_after_batch(struct e2ee *e, e2ee_retry_fn retry, void *ctx);

/* The queued messages of the encrypted rooms are encrypted on a worker
 * thread, room by room: the main thread shares each room's outbound
 * session with every device that lacks it, the worker encrypts the
 * room's messages (as many as the session takes before it rotates),
 * and the main thread stores their ciphertexts and the advanced session,
 * once, in one transaction before any send (a crash resends the same
 * ciphertexts, never re-encrypts). A message that cannot be encrypted
 * now stays queued as plaintext, which bot_flush_outbox never sends to
 * an encrypted room. Only errors that must stop the bot are returned.
 *
 * e2ee_prepare_outbox does not wait: it stores the job the worker
 * finished, if any, and hands it the messages queued since, if it is
 * free. e2ee_finish_outbox waits until every message queued when it was
 * called is encrypted (or left as plaintext, as above). */
sc_err e2ee_prepare_outbox(struct e2ee *e);
sc_err e2ee_finish_outbox(struct e2ee *e);

/* Membership changed (inside the batch transaction; rooms not marked
 * encrypted are ignored): leave/kick/ban rotates the room's outbound
 * session; join/invite starts tracking the user's devices, which get
 * the current session with the next message. */
sc_err e2ee_on_member(struct e2ee *e, const char *room_id, const char *user_id,
		      const char *membership);

#endif
