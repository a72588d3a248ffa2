/* SPDX-License-Identifier: MIT */
/*
 * crypto.h - the Olm/Megolm primitives of scribe, and the only door to
 * libolm (3.2.13 today; the types are opaque so that vodozemac can move in
 * behind this header without the rest of scribe noticing). It knows the
 * Matrix shapes that are pure cryptography: signed device keys, signed
 * one-time and fallback keys, olm and megolm event payloads, cross-signing
 * bodies. It knows nothing of HTTP, sqlite or sync order: persistence is
 * the caller's, through the pickle strings produced and consumed here, and
 * src/e2ee*.c write each when the protocol needs it (README, "What
 * persists, and when").
 *
 * Conventions, for every function below:
 *   - Results leave through out-parameters, written only on SC_OK.
 *   - A returned `char *` is the caller's to free(); when the header says
 *     "secret", release it with crypto_free_secret() instead, which wipes
 *     it first. A returned `json_t *` is a new reference the caller owns.
 *     A returned `const char *` is borrowed from the object it came from
 *     and lives as long as that object.
 *   - Input strings and JSON are never modified (the one exception,
 *     crypto_account_sign_json(), says so): libolm destroys many of its
 *     inputs in place, so this module always hands it scratch copies.
 *     The olm/megolm objects themselves do change (ratchets advance).
 *   - Every key, ciphertext and signature that comes from the network is
 *     validated (unpadded base64 alphabet and length; padding `=` is
 *     accepted and stripped) before libolm sees it.
 *   - Errors are logged here with what failed (never key material), so
 *     callers do not need to log them again. Expected misses are logged
 *     at debug level only: a MAC failure on an olm session that is not
 *     the right one, an unknown megolm message index. The crypto_verify_*
 *     functions do not log a signature that fails to verify: the caller
 *     knows whose it was and says so.
 *
 * Error codes used (from error.h) and what the caller should do:
 *   SC_EINVAL    malformed input: bad base64, wrong key length, unknown
 *                algorithm, corrupted pickle, JSON of the wrong shape.
 *                Retrying with another session will not help.
 *   SC_ECRYPTO   a cryptographic check failed: bad MAC (this olm session
 *                is not the one: try the next), bad signature, forged
 *                plaintext (sender/recipient/keys mismatch), session id
 *                mismatch; also libolm failing for an unexpected reason.
 *   SC_EAUTH     an unpickle whose key does not open the pickle (wrong
 *                pickle key, or a tampered pickle). Stop: never replace
 *                the object with a new one.
 *   SC_ENOTFOUND megolm: the message index is before the first index this
 *                inbound session knows (queue the event and wait for an
 *                earlier key); also "absent" cases documented per function.
 *   SC_ENOMEM    allocation failed.
 *   SC_EIO       getrandom() failed.
 *
 * Pickle keys: every pickle/unpickle function takes the caller's key as
 * bytes (at least CRYPTO_PICKLE_KEY_MIN of them, else SC_EINVAL). The key
 * is only read, never copied or kept.
 *
 * Thread safety: none; objects must not be shared between threads.
 */
#ifndef SCRIBE_CRYPTO_H
#define SCRIBE_CRYPTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CRYPTO_OLM_ALGORITHM "m.olm.v1.curve25519-aes-sha2"
#define CRYPTO_MEGOLM_ALGORITHM "m.megolm.v1.aes-sha2"
#define CRYPTO_OTK_ALGORITHM "signed_curve25519"

/* Olm message types as they appear in ciphertext.<key>.type. */
#define CRYPTO_OLM_PREKEY 0
#define CRYPTO_OLM_MESSAGE 1

#define CRYPTO_PICKLE_KEY_MIN 32

struct crypto_account;	/* our device: identity keys, one-time keys */
struct crypto_session;	/* an olm 1:1 session with one device */
struct crypto_gout;	/* a megolm outbound group session (ours) */
struct crypto_gin;	/* a megolm inbound group session (anyone's) */
struct crypto_xsign;	/* our cross-signing keys: master, self-signing */

/* ------------------------------------------------------------------ */
/* Utilities                                                           */

/* Fill buf with len bytes from getrandom(). SC_EIO on failure. */
sc_err crypto_random(void *buf, size_t len);

/* Wipe a secret string (strlen bytes) and free it; NULL is fine. */
void crypto_free_secret(char *s);

/* libolm's version as "3.2.13" into buf. */
void crypto_library_version(char *buf, size_t n);

/*
 * Verify an ed25519 signature (unpadded base64) of msg[0..len) by the
 * public key ed25519 (unpadded base64). SC_OK when it verifies,
 * SC_ECRYPTO when it does not, SC_EINVAL when key or signature is not
 * well-formed base64 of the right length.
 */
sc_err crypto_verify_ed25519(const char *ed25519, const void *msg, size_t len,
			     const char *signature);

/*
 * Verify that obj carries a valid signature
 * obj.signatures[user_id][key_id] by the ed25519 public key ed25519, over
 * the canonical JSON of obj without `signatures` and `unsigned`. key_id is
 * the full signing key id: "ed25519:DEVICEID" for a device,
 * "ed25519:<public key>" for a cross-signing key.
 * SC_OK: valid. SC_ENOTFOUND: no such signature on obj. SC_ECRYPTO: the
 * signature does not verify. SC_EINVAL: obj is not signable (not an
 * object, floats, ...) or key/signature are malformed.
 */
sc_err crypto_verify_signed_json(json_t *obj, const char *user_id,
				 const char *key_id, const char *ed25519);

/* ------------------------------------------------------------------ */
/* Account (the device identity)                                       */

/* A brand-new account with fresh identity keys and no one-time keys.
 * Persist it (crypto_account_pickle) before uploading anything. */
sc_err crypto_account_new(struct crypto_account **out);

/*
 * Restore an account from crypto_account_pickle() output. SC_EAUTH when
 * key does not open it (never fall back to a new account: the device's
 * identity would change), SC_EINVAL when the pickle is corrupted.
 */
sc_err crypto_account_unpickle(const char *pickle, const void *key,
			       size_t key_len, struct crypto_account **out);

/* Pickle (encrypt with key) the whole account, one-time keys included. */
sc_err crypto_account_pickle(struct crypto_account *acc, const void *key,
			     size_t key_len, char **out);

/* Wipe and free; NULL is fine. */
void crypto_account_free(struct crypto_account *acc);

/* Our identity keys, unpadded base64; borrowed from acc. */
const char *crypto_account_curve25519(const struct crypto_account *acc);
const char *crypto_account_ed25519(const struct crypto_account *acc);

/* Sign msg[0..len) with the account's ed25519 key: *sig is the unpadded
 * base64 signature (caller frees). */
sc_err crypto_account_sign(struct crypto_account *acc, const void *msg,
			   size_t len, char **sig);

/*
 * Sign obj in place as the device: add obj.signatures[user_id]
 * ["ed25519:"+device_id], keeping any other signatures, computed over the
 * canonical JSON without `signatures` and `unsigned`. SC_EINVAL when obj
 * is not signable; obj is unchanged on failure.
 */
sc_err crypto_account_sign_json(struct crypto_account *acc, json_t *obj,
				const char *user_id, const char *device_id);

/*
 * The signed `device_keys` object for POST /keys/upload:
 * {user_id, device_id, algorithms [olm, megolm], keys {curve25519:DEV,
 * ed25519:DEV}, signatures}. Deterministic for a given account, so the
 * same object can be rebuilt for /keys/signatures/upload.
 */
sc_err crypto_account_device_keys(struct crypto_account *acc,
				  const char *user_id, const char *device_id,
				  json_t **out);

/* libolm's limit on private one-time keys held (100); older keys are
 * silently discarded past it. */
size_t crypto_account_max_otks(const struct crypto_account *acc);

/* Number of one-time keys generated but not yet marked published. */
sc_err crypto_account_unpublished_count(struct crypto_account *acc,
					size_t *count);

/*
 * Top up one-time keys: generate enough that server_count (the server's
 * device_one_time_keys_count.signed_curve25519, 0 when missing) plus the
 * keys not yet published reaches target. target is capped at half of
 * crypto_account_max_otks(): the other half of libolm's slots holds keys
 * already claimed by peers whose pre-key message has not arrived yet, so
 * topping up never pushes out a key someone may still use, and a caller
 * asking for more than the cap (or passing a bogus count) can never make
 * the account hold more than the max. *generated says how many were made
 * (0 is fine). Persist the account before uploading the new keys.
 */
sc_err crypto_account_generate_otks(struct crypto_account *acc, size_t target,
				    size_t server_count, size_t *generated);

/*
 * The signed `one_time_keys` object for POST /keys/upload, holding every
 * unpublished key: {"signed_curve25519:<id>": {key, signatures}} with each
 * signature over {"key": K}. An empty object when there are none.
 */
sc_err crypto_account_one_time_keys(struct crypto_account *acc,
				    const char *user_id, const char *device_id,
				    json_t **out);

/* Mark every one-time key and the fallback key as published (after the
 * upload returned 200). Persist the account afterwards. */
sc_err crypto_account_mark_published(struct crypto_account *acc);

/* Generate a new fallback key; the previous one is kept (libolm keeps
 * one old key) until crypto_account_forget_old_fallback(). */
sc_err crypto_account_generate_fallback(struct crypto_account *acc);

/*
 * The signed `fallback_keys` object for POST /keys/upload:
 * {"signed_curve25519:<id>": {key, fallback: true, signatures}} signed over
 * {"fallback":true,"key":K}. Empty object when the current fallback key
 * was already published (or none was generated).
 */
sc_err crypto_account_fallback_keys(struct crypto_account *acc,
				    const char *user_id, const char *device_id,
				    json_t **out);

/* Drop the previous fallback key (an hour after replacing it, so late pre-key messages still open). */
void crypto_account_forget_old_fallback(struct crypto_account *acc);

/*
 * Remove from acc the one-time key that inbound session s was created
 * with. Call only after the first message of s decrypted. A session built
 * on the fallback key succeeds too (the fallback key is kept).
 * SC_ENOTFOUND: the key is not (or no longer) held.
 */
sc_err crypto_account_remove_otks(struct crypto_account *acc,
				  struct crypto_session *s);

/* ------------------------------------------------------------------ */
/* Olm sessions                                                        */

/*
 * Outbound session to a device, from a one-time key claimed with
 * POST /keys/claim. claimed is the {key, signatures} object found under
 * one_time_keys[user_id][device_id]["signed_curve25519:<id>"]; its
 * signature by (user_id, "ed25519:"+device_id) is checked against
 * their_ed25519 (the device's key from /keys/query) first. their_curve25519
 * is the device's identity key.
 * SC_ECRYPTO / SC_ENOTFOUND: bad or missing signature (do not use the
 * key). SC_EINVAL: malformed object or keys.
 */
sc_err crypto_session_new_outbound(struct crypto_account *acc,
				   json_t *claimed, const char *user_id,
				   const char *device_id,
				   const char *their_ed25519,
				   const char *their_curve25519,
				   struct crypto_session **out);

/*
 * Inbound session from a pre-key (type 0) message body sent by the device
 * with identity key their_curve25519. Does not remove the one-time key
 * from acc: do that (crypto_account_remove_otks) after the message
 * decrypted with the new session, and persist both together.
 * SC_ECRYPTO: the message names a one-time key we do not hold (already
 * used, or discarded) or another sender key. SC_EINVAL: garbage.
 */
sc_err crypto_session_new_inbound(struct crypto_account *acc,
				  const char *their_curve25519,
				  const char *body,
				  struct crypto_session **out);

/*
 * Whether pre-key message body from their_curve25519 belongs to existing
 * session s (a peer sent several messages before we replied). Try this on
 * every session with that sender key before creating a new one.
 * SC_EINVAL: garbage body.
 */
sc_err crypto_session_matches(struct crypto_session *s,
			      const char *their_curve25519, const char *body,
			      bool *matches);

/*
 * Encrypt plaintext[0..len): *type is CRYPTO_OLM_PREKEY until the peer's
 * first message arrived on s, then CRYPTO_OLM_MESSAGE; *body is base64
 * (caller frees). s advances: persist it before sending *body.
 */
sc_err crypto_session_encrypt(struct crypto_session *s, const char *plaintext,
			      size_t len, int *type, char **body);

/*
 * Decrypt a message of the given type. *plaintext is NUL-terminated,
 * *len bytes long (caller frees; secret). s advances on success only.
 * SC_ECRYPTO: bad MAC, i.e. not this session (try the next one).
 * SC_EINVAL: malformed body or unknown type (no session will do).
 */
sc_err crypto_session_decrypt(struct crypto_session *s, int type,
			      const char *body, char **plaintext, size_t *len);

/* The session id (same at both ends), borrowed from s. */
const char *crypto_session_id(const struct crypto_session *s);

/* Whether s has decrypted a message from the peer; until then an
 * outbound session keeps sending pre-key messages. */
bool crypto_session_has_received(const struct crypto_session *s);

sc_err crypto_session_pickle(struct crypto_session *s, const void *key,
			     size_t key_len, char **out);
/* SC_EAUTH: wrong key; SC_EINVAL: corrupted. */
sc_err crypto_session_unpickle(const char *pickle, const void *key,
			       size_t key_len, struct crypto_session **out);
void crypto_session_free(struct crypto_session *s);

/* ------------------------------------------------------------------ */
/* Megolm: our outbound group session                                  */

sc_err crypto_gout_new(struct crypto_gout **out);
sc_err crypto_gout_pickle(struct crypto_gout *g, const void *key,
			  size_t key_len, char **out);
/* SC_EAUTH: wrong key; SC_EINVAL: corrupted. */
sc_err crypto_gout_unpickle(const char *pickle, const void *key,
			    size_t key_len, struct crypto_gout **out);
void crypto_gout_free(struct crypto_gout *g);

/* The session id, borrowed from g. */
const char *crypto_gout_id(const struct crypto_gout *g);

/* Index of the next message crypto_gout_encrypt() will produce. */
uint32_t crypto_gout_index(const struct crypto_gout *g);

/*
 * The session key at the current index, for m.room_key and for our own
 * inbound copy (crypto_gin_new). Secret. Export it before the first
 * encrypt, or peers cannot read the messages before the export.
 */
sc_err crypto_gout_key(struct crypto_gout *g, char **out);

/* Encrypt plaintext[0..len): *ciphertext base64 (caller frees). g
 * advances: persist it with the ciphertext before sending. */
sc_err crypto_gout_encrypt(struct crypto_gout *g, const char *plaintext,
			   size_t len, char **ciphertext);

/* ------------------------------------------------------------------ */
/* Megolm: inbound group sessions                                      */

/*
 * From the session_key of an m.room_key (or our crypto_gout_key()).
 * When expected_id is not NULL it must equal the resulting session id
 * (the session_id field of the m.room_key), else SC_ECRYPTO.
 * SC_EINVAL: malformed key.
 */
sc_err crypto_gin_new(const char *session_key, const char *expected_id,
		      struct crypto_gin **out);

/* From crypto_gin_export() output (or an m.forwarded_room_key /
 * key backup export); expected_id as for crypto_gin_new(). */
sc_err crypto_gin_import(const char *exported, const char *expected_id,
			 struct crypto_gin **out);

/* Export the session from message index on (index >= first known).
 * Secret. SC_ENOTFOUND: index before the first known index. */
sc_err crypto_gin_export(struct crypto_gin *g, uint32_t index, char **out);

/* The earliest message index g can decrypt. */
uint32_t crypto_gin_first_index(const struct crypto_gin *g);

/* The session id, borrowed from g. */
const char *crypto_gin_id(const struct crypto_gin *g);

/*
 * Decrypt a megolm ciphertext. *plaintext NUL-terminated, *len bytes
 * (caller frees; secret), *index its message index (check it for replays).
 * SC_ENOTFOUND: the index precedes what g knows (queue the event).
 * SC_ECRYPTO: bad MAC or signature. SC_EINVAL: malformed ciphertext.
 */
sc_err crypto_gin_decrypt(struct crypto_gin *g, const char *ciphertext,
			  char **plaintext, size_t *len, uint32_t *index);

sc_err crypto_gin_pickle(struct crypto_gin *g, const void *key,
			 size_t key_len, char **out);
/* SC_EAUTH: wrong key; SC_EINVAL: corrupted. */
sc_err crypto_gin_unpickle(const char *pickle, const void *key,
			   size_t key_len, struct crypto_gin **out);
void crypto_gin_free(struct crypto_gin *g);

/* ------------------------------------------------------------------ */
/* Cross-signing (our own master and self-signing keys)                */

/* New master and self-signing keys from fresh random seeds. */
sc_err crypto_xsign_new(struct crypto_xsign **out);

/* The two seeds, encrypted with key (for the store); the format is this
 * module's own ("xs1:" + two libolm pickles). */
sc_err crypto_xsign_pickle(struct crypto_xsign *x, const void *key,
			   size_t key_len, char **out);
/* SC_EAUTH: wrong key; SC_EINVAL: corrupted. */
sc_err crypto_xsign_unpickle(const char *pickle, const void *key,
			     size_t key_len, struct crypto_xsign **out);
void crypto_xsign_free(struct crypto_xsign *x);

/* Public keys, unpadded base64, borrowed from x. */
const char *crypto_xsign_master(const struct crypto_xsign *x);
const char *crypto_xsign_self_signing(const struct crypto_xsign *x);

/*
 * Body of POST /keys/device_signing/upload (without the `auth` the
 * server may ask for): {master_key: {user_id, usage ["master"],
 * keys {ed25519:M: M}}, self_signing_key: {user_id, usage
 * ["self_signing"], keys {ed25519:S: S}, signatures {user_id:
 * {ed25519:M: sig}}}}.
 */
sc_err crypto_xsign_upload_body(struct crypto_xsign *x, const char *user_id,
				json_t **out);

/*
 * Body of POST /keys/signatures/upload signing our device with the
 * self-signing key: {user_id: {device_id: device_keys + signature
 * ed25519:S}}. device_keys is our crypto_account_device_keys() object
 * (not modified; it must be exactly what was uploaded, as the server
 * compares); user_id and device_id are read from it. `unsigned` is
 * dropped from the copy.
 */
sc_err crypto_xsign_sign_device(struct crypto_xsign *x, json_t *device_keys,
				json_t **out);

/* ------------------------------------------------------------------ */
/* Olm event payloads                                                  */

/*
 * The plaintext of an olm to-device message from us:
 * {type, content, sender, sender_device, keys {ed25519: ours}, recipient,
 * recipient_keys {ed25519: theirs}}. content is copied (deeply), not
 * stolen. Use type "m.room_key" with crypto_room_key_content(), or
 * "m.dummy" with {} to unwedge a session.
 */
sc_err crypto_olm_plaintext(struct crypto_account *acc, const char *type,
			    json_t *content, const char *sender,
			    const char *sender_device, const char *recipient,
			    const char *recipient_ed25519, json_t **out);

/* The m.room_key content for g: {algorithm, room_id, session_id,
 * session_key at the current index}. Secret inside: json_decref it soon
 * and do not log it. */
sc_err crypto_room_key_content(struct crypto_gout *g, const char *room_id,
			       json_t **out);

/*
 * Encrypt plaintext (an object, e.g. from crypto_olm_plaintext) on s for
 * the device with identity key their_curve25519, and build the to-device
 * m.room.encrypted content {algorithm, sender_key, ciphertext
 * {their_curve25519: {type, body}}}. s advances.
 */
sc_err crypto_olm_encrypt_event(struct crypto_account *acc,
				struct crypto_session *s,
				const char *their_curve25519, json_t *plaintext,
				json_t **out);

/*
 * Pick our message out of a to-device m.room.encrypted content: checks
 * algorithm (olm only, else SC_EINVAL), and returns the sender's curve
 * key, the message type (0 or 1) and body, all borrowed from content.
 * SC_ENOTFOUND: no ciphertext for our_curve25519 (sent to another device
 * of ours). SC_EINVAL: malformed.
 */
sc_err crypto_olm_ciphertext(json_t *content, const char *our_curve25519,
			     const char **sender_key, int *type,
			     const char **body);

/*
 * Parse and check a decrypted olm plaintext: valid JSON object with
 * string type and object content, `sender` == sender (the to-device
 * event's sender), `recipient` == recipient (us), recipient_keys.ed25519
 * == ours, and keys.ed25519 == sender_ed25519 (the device's key from
 * /keys/query). sender_ed25519 may be NULL only when the sending device
 * is not known yet: the claimed key is then not checked, and the caller
 * must record keys.ed25519 as unverified.
 * SC_ECRYPTO: any mismatch (forged). SC_EINVAL: not JSON or wrong shape.
 */
sc_err crypto_olm_check_plaintext(struct crypto_account *acc, const char *text,
				  size_t len, const char *sender,
				  const char *recipient,
				  const char *sender_ed25519, json_t **out);

/* ------------------------------------------------------------------ */
/* Megolm event payloads                                               */

/*
 * Encrypt a room event with g: the plaintext is {type, content, room_id};
 * *out is the m.room.encrypted content {algorithm, sender_key (ours),
 * device_id, session_id, ciphertext}, plus a copy of
 * content["m.relates_to"] when present (relations stay visible to the
 * server). g advances: persist it together with *out before sending.
 */
sc_err crypto_megolm_encrypt_event(struct crypto_gout *g,
				   struct crypto_account *acc,
				   const char *device_id, const char *room_id,
				   const char *type, json_t *content,
				   json_t **out);

/*
 * Read a room m.room.encrypted content: algorithm must be megolm
 * (SC_EINVAL otherwise); session_id and ciphertext are required,
 * sender_key is optional (deprecated by the spec; *sender_key is NULL
 * when absent). All borrowed from content.
 */
sc_err crypto_megolm_ciphertext(json_t *content, const char **session_id,
				const char **sender_key,
				const char **ciphertext);

/*
 * Decrypt a room m.room.encrypted content with g and check the result:
 * session id matches g, valid JSON object with string type and object
 * content, and room_id == room_id (SC_ECRYPTO otherwise: a replay from
 * another room). *index is the message index (for replay checks). Error
 * codes as crypto_gin_decrypt().
 */
sc_err crypto_megolm_decrypt_event(struct crypto_gin *g, const char *room_id,
				   json_t *content, json_t **plain,
				   uint32_t *index);

#endif
