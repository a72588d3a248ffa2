/* SPDX-License-Identifier: MIT */
/*
 * e2ee_int.h - what the source files of the encryption protocol share:
 * the state of struct e2ee, the devices an olm message goes to, and the
 * helpers each part calls in another. Not a public interface: e2ee.h is.
 *
 *   e2ee.c          open and close, the pickle key, our account: device,
 *                   one-time and fallback keys, cross-signing; after the
 *                   batch
 *   e2ee_devices.c  other users' device lists: /keys/query, signatures
 *   e2ee_olm.c      olm to-device traffic: decrypting it (room keys),
 *                   claiming one-time keys, sending, unwedging
 *   e2ee_megolm.c   room events: decryption with replay checks and the
 *                   queue of events without a key; our outbound session
 *                   per room: rotation, sharing, withholding
 *   e2ee_outbox.c   the worker thread that encrypts the outbox
 */
#ifndef SCRIBE_E2EE_INT_H
#define SCRIBE_E2EE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "crypto.h"
#include "e2ee.h"
#include "store_crypto.h"

#define HOUR_MS ((int64_t)3600 * 1000)
#define KEYS_TIMEOUT_MS 30000
#define GIN_CACHE 256 /* opened inbound megolm sessions kept (~1 kB each) */

struct enc_job;

/*
 * An inbound megolm session opened from the pickle the store held for
 * (room, sid). libolm keeps the latest ratchet inside the object, so the
 * next message of the session decrypts without re-advancing from the
 * first known index. Decrypting never changes what the pickle stands
 * for (the first known index and its ratchet), so the object answers
 * exactly as a fresh unpickle of the same pickle would.
 */
struct gin_slot {
	char *room, *sid, *pickle;
	struct crypto_gin *g;   /* NULL: a free slot */
	uint64_t used;          /* e->tick of the last use (LRU) */
};

struct e2ee {
	struct store *st;
	struct matrix *mx;
	const struct config *cfg;
	const char *password;     /* account password for interactive auth,
	                             borrowed during e2ee_open only, or NULL */
	struct crypto_account *acc;
	char *key;                /* pickle key, secret */
	size_t key_len;
	const char *user_id;      /* borrowed from mx */
	const char *device_id;
	json_t *device_keys;      /* our signed device_keys object */
	long otk_count;           /* the server's count, -1 = unknown */
	int need_fallback;
	int64_t forget_fallback_at; /* ms, 0 = nothing to forget */
	json_t *wedged;           /* {curve key: user id} to unwedge */
	struct gin_slot gins[GIN_CACHE];
	uint64_t tick;
	/* the outbox's encryption worker (see e2ee_outbox.c) */
	pthread_mutex_t enc_mu;
	pthread_cond_t enc_cv;
	pthread_t enc_thread;
	int enc_running;          /* the thread exists */
	int enc_quit;             /* under enc_mu: the thread must end */
	struct enc_job *job;      /* handed over, or NULL */
	int job_done;             /* under enc_mu: the worker finished it */
};

/* A device we send an olm message to. */
struct target {
	const char *user, *device, *curve, *ed; /* borrowed from a json_t */
	struct crypto_session *s;
	int sent;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static inline int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Errors that must stop the bot (the store or the process is unwell);
 * everything else is logged and retried later. */
static inline int fatal(sc_err err)
{
	return err == SC_ESTORE || err == SC_EBUSY || err == SC_ENOMEM ||
	       err == SC_EINTR || err == SC_EAUTH || err == SC_EIO;
}

/* ------------------------------------------------------------------ */
/* e2ee.c                                                              */

/*
 * Test hook: die by SIGKILL here when the environment variable
 * SCRIBE_TEST_CRASH names this point (tests/e2ee).
 */
void e2ee_crash_point(const char *name);

/* Say why a homeserver call failed, once, and pass err on. */
sc_err e2ee_call_failed(struct e2ee *e, const char *what, sc_err err);

/* End the transaction store_tx_begin opened: commit when err is SC_OK,
 * else (or when the commit fails) roll it back. Returns the outcome. */
sc_err e2ee_tx_end(struct e2ee *e, sc_err err);

/* Pickle the account into the store (in the caller's transaction). */
sc_err e2ee_save_account(struct e2ee *e);

/* method on the client-server path p (no arguments to encode) with
 * body, retrying transient failures; *out may be NULL. */
sc_err e2ee_post(struct e2ee *e, const char *method, const char *p,
		 json_t *body, json_t **out);

/* ------------------------------------------------------------------ */
/* e2ee_devices.c                                                      */

/* POST /keys/query for users (an array of user ids) and store the
 * verified devices. */
sc_err e2ee_query_users(struct e2ee *e, json_t *users);

/* Query the device lists marked outdated. */
sc_err e2ee_query_outdated(struct e2ee *e);

/* Follow user's device list and query it after the batch. */
sc_err e2ee_track_outdated(struct e2ee *e, const char *user);

/* ------------------------------------------------------------------ */
/* e2ee_olm.c                                                          */

/* PUT /sendToDevice/type/<random txn> with {messages: msgs}. */
sc_err e2ee_send_to_device(struct e2ee *e, const char *type, json_t *msgs);

/* msgs[user][device] = v (a borrowed value, referenced). */
sc_err e2ee_msgs_set(json_t *msgs, const char *user, const char *device,
		     json_t *v);

/* Olm-encrypt one event (type, content) to every target and send all of
 * them in one PUT /sendToDevice; t[i].sent says who got it. fresh: a new
 * olm session for every target, else only for those without one. */
sc_err e2ee_olm_send(struct e2ee *e, struct target *t, size_t n,
		     const char *type, json_t *content, int fresh);

/* Targets from an array of {user, device, curve, ed} objects (borrowed
 * from it); NULL when out of memory. Free with e2ee_targets_free. */
struct target *e2ee_targets_of(json_t *arr);
void e2ee_targets_free(struct target *t, size_t n);

/* Wedged sessions: a fresh olm session and an m.dummy, at most once an
 * hour per device. */
sc_err e2ee_unwedge(struct e2ee *e);

/* ------------------------------------------------------------------ */
/* e2ee_megolm.c                                                       */

void e2ee_gin_slot_clear(struct gin_slot *sl);

/* Queued events whose key arrived: decrypt and hand to retry, each in
 * its own transaction with the removal from the queue. */
sc_err e2ee_retry_queued(struct e2ee *e, e2ee_retry_fn retry, void *ctx);

/* The room's outbound session, ready to encrypt: members' device lists
 * fresh, rotated when due, shared with every member device. */
sc_err e2ee_room_gout(struct e2ee *e, const char *room,
		      struct crypto_gout **g, struct gout_row *row);

/* ------------------------------------------------------------------ */
/* e2ee_outbox.c                                                       */

/* End the encryption worker; a job not stored is dropped (its
 * plaintexts stay queued, its advanced sessions are forgotten). */
void e2ee_enc_stop(struct e2ee *e);

#endif
