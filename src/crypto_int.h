/* SPDX-License-Identifier: MIT */
/*
 * crypto_int.h - what the crypto module's source files share: the
 * account and olm session objects, and the helpers every libolm call goes
 * through (random buffers, base64 checks, scratch copies, the one mapping
 * from libolm errors to sc_err, JSON signing, event payload checks).
 * Private to src/crypto*: it includes <olm/olm.h>, which nothing outside
 * the crypto module may see (make lint). crypto.h is the contract.
 *
 *   crypto.c         the helpers below, signing and verifying, the account
 *                    (identity, device keys, one-time and fallback keys)
 *   crypto_olm.c     olm sessions and the olm to-device payloads
 *   crypto_megolm.c  megolm outbound and inbound sessions, room payloads
 *   crypto_xsign.c   cross-signing keys
 */
#ifndef SCRIBE_CRYPTO_INT_H
#define SCRIBE_CRYPTO_INT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <olm/olm.h>

#include "crypto.h"

#define KEY_B64_LEN 43	/* a curve25519 or ed25519 public key */

struct crypto_account {
	OlmAccount *olm;
	void *mem;
	size_t size;
	char curve[KEY_B64_LEN + 1];
	char ed[KEY_B64_LEN + 1];
};

struct crypto_session {
	OlmSession *olm;
	void *mem;
	size_t size;
	char *id;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* Wipe p[0..n) and free it; NULL is fine. */
static inline void wipe_free(void *p, size_t n)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	free(p);
}

/* A scratch copy of s[0..len) for libolm to destroy (plus a NUL). */
static inline uint8_t *scratch(const char *s, size_t len)
{
	uint8_t *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* Copy a libolm output of n bytes into a new NUL-terminated string. */
static inline char *dup_out(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Both set and equal. */
static inline int streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* ------------------------------------------------------------------ */
/* Helpers of crypto.c                                                 */

/* A fresh buffer of len random bytes (at least one byte allocated);
 * the caller wipes and frees it. */
sc_err crypto_random_buf(size_t len, void **out);

/* The one mapping from libolm errors to sc_err, with the log line: what
 * says what failed; quiet logs at debug level (an expected miss). */
sc_err crypto_fail(const char *what, enum OlmErrorCode code, const char *msg,
		   int quiet);

/* s is standard base64 (padding optional): *len is its length without
 * the padding, what libolm may be given. SC_EINVAL, logged, otherwise. */
sc_err crypto_b64_check(const char *s, const char *what, size_t *len);

/* As crypto_b64_check, for a 32-byte public key (curve25519 or ed25519). */
sc_err crypto_b64_key(const char *s, const char *what, size_t *len);

/* SC_EINVAL, logged, for a pickle key shorter than CRYPTO_PICKLE_KEY_MIN. */
sc_err crypto_check_pickle_key(const void *key, size_t key_len);

/* "a:b" into a new string (caller frees). */
sc_err crypto_join_id(const char *a, const char *b, char **out);

/* A signing key: *sig the unpadded base64 signature of msg[0..len). */
typedef sc_err (*crypto_signer_fn)(void *ctx, const void *msg, size_t len,
				   char **sig);

/* Add obj.signatures[user_id][key_id] = sign(signable(obj)); obj only
 * changes on success. */
sc_err crypto_sign_json(json_t *obj, const char *user_id, const char *key_id,
			crypto_signer_fn sign, void *ctx);

/* An m.room.encrypted content whose algorithm is alg; logs and refuses
 * anything else (SC_EINVAL). */
sc_err crypto_check_algorithm(json_t *content, const char *alg);

/* Parse decrypted JSON text: an object with string type and object
 * content (*root is a new reference). SC_EINVAL, logged, otherwise. */
sc_err crypto_parse_plaintext(const char *text, size_t len, const char *what,
			      json_t **root);

#endif
