/* SPDX-License-Identifier: MIT */
/*
 * crypto.c - Olm/Megolm for scribe on top of libolm (see crypto.h). The
 * only file that includes <olm/olm.h>. Every libolm object lives in its
 * own calloc'd block, is cleared with olm_clear_*() and wiped before it
 * is freed; every input libolm could destroy (pickles, messages,
 * signatures, session keys) is handed over as a scratch copy that is
 * wiped afterwards, since decryption leaves plaintext in it. Random
 * bytes come from getrandom(), exactly *_random_length() of them, in a
 * fresh buffer per call. libolm failures are mapped to sc_err in one
 * place (olm_fail) and logged there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <olm/olm.h>
#include <olm/pk.h>

#include "canonjson.h"
#include "crypto.h"
#include "wirejson.h"
#include "log.h"
#include "sbuf.h"
#include "banned.h"

#define KEY_B64_LEN 43	/* a curve25519 or ed25519 public key */
#define SIG_B64_LEN 86	/* an ed25519 signature */
#define SEED_LEN 32	/* an olm_pk_signing seed */

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

struct crypto_gout {
	OlmOutboundGroupSession *olm;
	void *mem;
	size_t size;
	char *id;
};

struct crypto_gin {
	OlmInboundGroupSession *olm;
	void *mem;
	size_t size;
	char *id;
};

struct crypto_xsign {
	uint8_t master_seed[SEED_LEN];
	uint8_t ssk_seed[SEED_LEN];
	char master[KEY_B64_LEN + 1];
	char ssk[KEY_B64_LEN + 1];
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static void wipe_free(void *p, size_t n)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	free(p);
}

void crypto_free_secret(char *s)
{
	if (s)
		wipe_free(s, strlen(s));
}

void crypto_library_version(char *buf, size_t n)
{
	uint8_t major, minor, patch;

	olm_get_library_version(&major, &minor, &patch);
	snprintf(buf, n, "%u.%u.%u", major, minor, patch);
}

sc_err crypto_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("cannot read random bytes: %s",
				  strerror(errno));
			return SC_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return SC_OK;
}

/* A fresh buffer of len random bytes (at least one byte allocated);
 * the caller wipes and frees it. */
static sc_err random_buf(size_t len, void **out)
{
	void *p = malloc(len ? len : 1);
	sc_err err;

	if (!p)
		return SC_ENOMEM;
	err = crypto_random(p, len);
	if (err) {
		free(p);
		return err;
	}
	*out = p;
	return SC_OK;
}

/*
 * The one mapping from libolm errors to sc_err, with the log line. what
 * says what failed ("decrypt olm message"); quiet logs at debug level
 * (for misses the caller expects, like a MAC failure on the wrong
 * session).
 */
static sc_err olm_fail(const char *what, enum OlmErrorCode code,
		       const char *msg, int quiet)
{
	sc_err err;

	switch (code) {
	case OLM_INVALID_BASE64:
	case OLM_BAD_MESSAGE_VERSION:
	case OLM_BAD_MESSAGE_FORMAT:
	case OLM_CORRUPTED_PICKLE:
	case OLM_UNKNOWN_PICKLE_VERSION:
	case OLM_PICKLE_EXTRA_DATA:
	case OLM_BAD_SESSION_KEY:
	case OLM_BAD_LEGACY_ACCOUNT_PICKLE:
	case OLM_INPUT_BUFFER_TOO_SMALL:
		err = SC_EINVAL;
		break;
	case OLM_BAD_ACCOUNT_KEY:
		err = SC_EAUTH;
		break;
	case OLM_UNKNOWN_MESSAGE_INDEX:
		err = SC_ENOTFOUND;
		break;
	default:
		err = SC_ECRYPTO;
		break;
	}
	if (err == SC_EAUTH)
		log_error("cannot %s: %s (wrong pickle key?)", what, msg);
	else
		log_msg(quiet ? LOG_DEBUG : LOG_WARN, "cannot %s: %s", what,
			msg);
	return err;
}

/*
 * Check that s is standard base64 (padding optional) and give its length
 * without padding: what libolm's decoder, which trusts its input, may be
 * given.
 */
static sc_err b64_check(const char *s, const char *what, size_t *len)
{
	size_t n, pad = 0;

	if (!s) {
		log_warn("missing %s", what);
		return SC_EINVAL;
	}
	n = strlen(s);
	while (pad < 2 && n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (n % 4 == 1 || (pad && (n + pad) % 4 != 0))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			goto bad;
	}
	*len = n;
	return SC_OK;
bad:
	log_warn("invalid base64 in %s", what);
	return SC_EINVAL;
}

/* A 32-byte public key (curve25519 or ed25519) in base64. */
static sc_err b64_key(const char *s, const char *what, size_t *len)
{
	size_t n;
	sc_err err = b64_check(s, what, &n);

	if (err)
		return err;
	if (n != KEY_B64_LEN) {
		log_warn("%s is not a 32-byte key", what);
		return SC_EINVAL;
	}
	*len = n;
	return SC_OK;
}

/* A scratch copy of s[0..len) for libolm to destroy (plus a NUL). */
static uint8_t *scratch(const char *s, size_t len)
{
	uint8_t *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static sc_err check_pickle_key(const void *key, size_t key_len)
{
	if (!key || key_len < CRYPTO_PICKLE_KEY_MIN) {
		log_error("pickle key shorter than %d bytes",
			  CRYPTO_PICKLE_KEY_MIN);
		return SC_EINVAL;
	}
	return SC_OK;
}

/* "a:b" into a new string. */
static sc_err join_id(const char *a, const char *b, char **out)
{
	struct sbuf sb;
	sc_err err;

	if (!a || !b)
		return SC_EINVAL;
	sbuf_init(&sb, 4096);
	err = sbuf_printf(&sb, "%s:%s", a, b);
	if (err) {
		sbuf_release(&sb);
		return err;
	}
	*out = sbuf_detach(&sb, NULL);
	return *out ? SC_OK : SC_ENOMEM;
}

/* Copy a libolm output of n bytes into a new NUL-terminated string. */
static char *dup_out(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* ------------------------------------------------------------------ */
/* Signing and verifying JSON                                          */

typedef sc_err (*signer_fn)(void *ctx, const void *msg, size_t len,
			    char **sig);

/* Add obj.signatures[user_id][key_id] = sign(signable(obj)). */
static sc_err sign_json(json_t *obj, const char *user_id, const char *key_id,
			signer_fn sign, void *ctx)
{
	struct sbuf sb;
	char *sig = NULL;
	json_t *sigs, *mine, *jsig = NULL, *new_sigs = NULL, *new_mine = NULL;
	sc_err err;

	sbuf_init(&sb, 0);
	if (!user_id || !key_id) {
		err = SC_EINVAL;
		goto out;
	}
	err = canonjson_signable(obj, &sb);
	if (err)
		goto out;
	sigs = json_object_get(obj, "signatures");
	mine = json_object_get(sigs, user_id);
	if ((sigs && !json_is_object(sigs)) ||
	    (mine && !json_is_object(mine))) {
		err = SC_EINVAL;
		goto out;
	}
	err = sign(ctx, sb.buf, sb.len, &sig);
	if (err)
		goto out;

	/* allocate everything first so that obj only changes on success */
	err = SC_ENOMEM;
	jsig = json_string(sig);
	if (!jsig)
		goto out;
	if (!sigs && !(new_sigs = json_object()))
		goto out;
	if (!mine && !(new_mine = json_object()))
		goto out;
	if (json_object_set_new(mine ? mine : new_mine, key_id, jsig)) {
		jsig = NULL;
		goto out;
	}
	jsig = NULL;
	if (new_mine) {
		int rc = json_object_set_new(sigs ? sigs : new_sigs, user_id,
					     new_mine);
		new_mine = NULL;
		if (rc)
			goto out;
	}
	if (new_sigs) {
		int rc = json_object_set_new(obj, "signatures", new_sigs);
		new_sigs = NULL;
		if (rc)
			goto out;
	}
	err = SC_OK;
out:
	json_decref(jsig);
	json_decref(new_mine);
	json_decref(new_sigs);
	free(sig);
	sbuf_release(&sb);
	return err;
}

sc_err crypto_verify_ed25519(const char *ed25519, const void *msg, size_t len,
			     const char *signature)
{
	void *mem = NULL;
	OlmUtility *u = NULL;
	uint8_t *sig = NULL;
	size_t klen, slen;
	sc_err err;

	err = b64_key(ed25519, "ed25519 key", &klen);
	if (err)
		return err;
	err = b64_check(signature, "signature", &slen);
	if (err)
		return err;
	if (slen != SIG_B64_LEN) {
		log_warn("signature is not 64 bytes");
		return SC_EINVAL;
	}
	err = SC_ENOMEM;
	mem = calloc(1, olm_utility_size());
	sig = scratch(signature, slen);	/* olm_ed25519_verify destroys it */
	if (!mem || !sig)
		goto out;
	u = olm_utility(mem);
	if (olm_ed25519_verify(u, ed25519, klen, msg, len, sig, slen) ==
	    olm_error()) {
		/* a bad signature is the caller's to report */
		err = olm_fail("verify signature",
			       olm_utility_last_error_code(u),
			       olm_utility_last_error(u), 1);
		goto out;
	}
	err = SC_OK;
out:
	if (u)
		olm_clear_utility(u);
	free(mem);
	wipe_free(sig, slen + 1);
	return err;
}

sc_err crypto_verify_signed_json(json_t *obj, const char *user_id,
				 const char *key_id, const char *ed25519)
{
	struct sbuf sb;
	const char *sig;
	sc_err err;

	if (!json_is_object(obj) || !user_id || !key_id)
		return SC_EINVAL;
	sig = json_string_value(json_object_get(
		json_object_get(json_object_get(obj, "signatures"), user_id),
		key_id));
	if (!sig)
		return SC_ENOTFOUND;
	sbuf_init(&sb, 0);
	err = canonjson_signable(obj, &sb);
	if (!err)
		err = crypto_verify_ed25519(ed25519, sb.buf, sb.len, sig);
	sbuf_release(&sb);
	return err;
}

/* ------------------------------------------------------------------ */
/* Account                                                             */

static sc_err account_alloc(struct crypto_account **out)
{
	struct crypto_account *acc = calloc(1, sizeof(*acc));

	if (!acc)
		return SC_ENOMEM;
	acc->size = olm_account_size();
	acc->mem = calloc(1, acc->size);
	if (!acc->mem) {
		free(acc);
		return SC_ENOMEM;
	}
	acc->olm = olm_account(acc->mem);
	*out = acc;
	return SC_OK;
}

void crypto_account_free(struct crypto_account *acc)
{
	if (!acc)
		return;
	olm_clear_account(acc->olm);
	wipe_free(acc->mem, acc->size);
	free(acc);
}

static sc_err account_fail(struct crypto_account *acc, const char *what)
{
	return olm_fail(what, olm_account_last_error_code(acc->olm),
			olm_account_last_error(acc->olm), 0);
}

/* Read the identity keys into acc->curve / acc->ed. */
static sc_err account_load_keys(struct crypto_account *acc)
{
	size_t len = olm_account_identity_keys_length(acc->olm), n;
	uint8_t *buf = malloc(len ? len : 1);
	json_t *keys = NULL;
	json_error_t jerr;
	const char *curve = NULL, *ed = NULL;
	sc_err err = SC_ENOMEM;

	if (!buf)
		goto out;
	n = olm_account_identity_keys(acc->olm, buf, len);
	if (n == olm_error()) {
		err = account_fail(acc, "read identity keys");
		goto out;
	}
	keys = json_loadb((const char *)buf, n, 0, &jerr);
	if (!keys || json_unpack_ex(keys, &jerr, 0, "{s:s, s:s}", "curve25519",
				    &curve, "ed25519", &ed)) {
		log_error("cannot parse identity keys: %s", jerr.text);
		err = SC_ECRYPTO;
		goto out;
	}
	if (strlen(curve) != KEY_B64_LEN || strlen(ed) != KEY_B64_LEN) {
		log_error("identity keys have an unexpected length");
		err = SC_ECRYPTO;
		goto out;
	}
	memcpy(acc->curve, curve, KEY_B64_LEN + 1);
	memcpy(acc->ed, ed, KEY_B64_LEN + 1);
	err = SC_OK;
out:
	json_decref(keys);
	free(buf);
	return err;
}

sc_err crypto_account_new(struct crypto_account **out)
{
	struct crypto_account *acc = NULL;
	void *rnd = NULL;
	size_t rlen = 0;
	sc_err err;

	err = account_alloc(&acc);
	if (err)
		goto out;
	rlen = olm_create_account_random_length(acc->olm);
	err = random_buf(rlen, &rnd);
	if (err)
		goto out;
	if (olm_create_account(acc->olm, rnd, rlen) == olm_error()) {
		err = account_fail(acc, "create account");
		goto out;
	}
	err = account_load_keys(acc);
	if (err)
		goto out;
	*out = acc;
	acc = NULL;
out:
	wipe_free(rnd, rlen);
	crypto_account_free(acc);
	return err;
}

sc_err crypto_account_pickle(struct crypto_account *acc, const void *key,
			     size_t key_len, char **out)
{
	size_t len, n;
	char *buf;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (err)
		return err;
	len = olm_pickle_account_length(acc->olm);
	buf = malloc(len + 1);
	if (!buf)
		return SC_ENOMEM;
	n = olm_pickle_account(acc->olm, key, key_len, buf, len);
	if (n == olm_error()) {
		err = account_fail(acc, "pickle account");
		/* the buffer may hold the plaintext pickle */
		wipe_free(buf, len + 1);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	return SC_OK;
}

sc_err crypto_account_unpickle(const char *pickle, const void *key,
			       size_t key_len, struct crypto_account **out)
{
	struct crypto_account *acc = NULL;
	uint8_t *copy = NULL;
	size_t len = 0;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (!err)
		err = b64_check(pickle, "account pickle", &len);
	if (!err)
		err = account_alloc(&acc);
	if (err)
		goto out;
	copy = scratch(pickle, len);
	if (!copy) {
		err = SC_ENOMEM;
		goto out;
	}
	if (olm_unpickle_account(acc->olm, key, key_len, copy, len) ==
	    olm_error()) {
		err = account_fail(acc, "open account pickle");
		goto out;
	}
	err = account_load_keys(acc);
	if (err)
		goto out;
	*out = acc;
	acc = NULL;
out:
	wipe_free(copy, len + 1);
	crypto_account_free(acc);
	return err;
}

const char *crypto_account_curve25519(const struct crypto_account *acc)
{
	return acc->curve;
}

const char *crypto_account_ed25519(const struct crypto_account *acc)
{
	return acc->ed;
}

sc_err crypto_account_sign(struct crypto_account *acc, const void *msg,
			   size_t len, char **sig)
{
	size_t slen = olm_account_signature_length(acc->olm), n;
	char *buf = malloc(slen + 1);

	if (!buf)
		return SC_ENOMEM;
	n = olm_account_sign(acc->olm, msg, len, buf, slen);
	if (n == olm_error()) {
		free(buf);
		return account_fail(acc, "sign with the device key");
	}
	buf[n] = '\0';
	*sig = buf;
	return SC_OK;
}

static sc_err account_signer(void *ctx, const void *msg, size_t len,
			     char **sig)
{
	return crypto_account_sign(ctx, msg, len, sig);
}

sc_err crypto_account_sign_json(struct crypto_account *acc, json_t *obj,
				const char *user_id, const char *device_id)
{
	char *key_id = NULL;
	sc_err err;

	err = join_id("ed25519", device_id, &key_id);
	if (!err)
		err = sign_json(obj, user_id, key_id, account_signer, acc);
	free(key_id);
	return err;
}

sc_err crypto_account_device_keys(struct crypto_account *acc,
				  const char *user_id, const char *device_id,
				  json_t **out)
{
	char *kc = NULL, *ke = NULL;
	json_t *obj = NULL;
	sc_err err;

	if (!user_id || !device_id)
		return SC_EINVAL;
	err = join_id("curve25519", device_id, &kc);
	if (!err)
		err = join_id("ed25519", device_id, &ke);
	if (err)
		goto out;
	obj = json_pack("{s:s, s:s, s:[s, s], s:{s:s, s:s}}", "user_id",
			user_id, "device_id", device_id, "algorithms",
			CRYPTO_OLM_ALGORITHM, CRYPTO_MEGOLM_ALGORITHM, "keys",
			kc, acc->curve, ke, acc->ed);
	if (!obj) {
		err = SC_ENOMEM;
		goto out;
	}
	err = sign_json(obj, user_id, ke, account_signer, acc);
	if (err)
		goto out;
	*out = obj;
	obj = NULL;
out:
	json_decref(obj);
	free(kc);
	free(ke);
	return err;
}

size_t crypto_account_max_otks(const struct crypto_account *acc)
{
	return olm_account_max_number_of_one_time_keys(acc->olm);
}

/* The unpublished one-time keys as libolm lists them: {id: key}. */
static sc_err account_otks(struct crypto_account *acc, json_t **out)
{
	size_t len = olm_account_one_time_keys_length(acc->olm), n;
	uint8_t *buf = malloc(len ? len : 1);
	json_t *root = NULL, *keys;
	json_error_t jerr;
	sc_err err = SC_ENOMEM;

	if (!buf)
		goto out;
	n = olm_account_one_time_keys(acc->olm, buf, len);
	if (n == olm_error()) {
		err = account_fail(acc, "list one-time keys");
		goto out;
	}
	root = json_loadb((const char *)buf, n, 0, &jerr);
	keys = json_object_get(root, "curve25519");
	if (!json_is_object(keys)) {
		log_error("cannot parse one-time keys from libolm");
		err = SC_ECRYPTO;
		goto out;
	}
	*out = json_incref(keys);
	err = SC_OK;
out:
	json_decref(root);
	free(buf);
	return err;
}

sc_err crypto_account_unpublished_count(struct crypto_account *acc,
					size_t *count)
{
	json_t *keys = NULL;
	sc_err err = account_otks(acc, &keys);

	if (err)
		return err;
	*count = json_object_size(keys);
	json_decref(keys);
	return SC_OK;
}

sc_err crypto_account_generate_otks(struct crypto_account *acc, size_t target,
				    size_t server_count, size_t *generated)
{
	size_t cap = olm_account_max_number_of_one_time_keys(acc->olm) / 2;
	size_t unpublished = 0, have, n, rlen = 0;
	void *rnd = NULL;
	sc_err err;

	err = crypto_account_unpublished_count(acc, &unpublished);
	if (err)
		return err;
	if (target > cap)
		target = cap;
	have = (server_count > cap ? cap : server_count) + unpublished;
	n = have < target ? target - have : 0;
	if (n) {
		rlen = olm_account_generate_one_time_keys_random_length(
			acc->olm, n);
		err = random_buf(rlen, &rnd);
		if (err)
			goto out;
		if (olm_account_generate_one_time_keys(acc->olm, n, rnd,
						       rlen) == olm_error()) {
			err = account_fail(acc, "generate one-time keys");
			goto out;
		}
	}
	*generated = n;
out:
	wipe_free(rnd, rlen);
	return err;
}

/*
 * {"signed_curve25519:<id>": {key, [fallback: true,] signatures}} for
 * every {id: key} of keys.
 */
static sc_err signed_keys(struct crypto_account *acc, json_t *keys,
			  int fallback, const char *user_id,
			  const char *device_id, json_t **out)
{
	json_t *result = json_object(), *entry = NULL, *val;
	const char *id;
	char *name = NULL;
	sc_err err = SC_OK;

	if (!result)
		return SC_ENOMEM;
	json_object_foreach(keys, id, val) {
		if (!json_is_string(val)) {
			err = SC_ECRYPTO;
			break;
		}
		entry = fallback ? json_pack("{s:O, s:b}", "key", val,
					     "fallback", 1)
				 : json_pack("{s:O}", "key", val);
		if (!entry) {
			err = SC_ENOMEM;
			break;
		}
		err = crypto_account_sign_json(acc, entry, user_id, device_id);
		if (!err)
			err = join_id(CRYPTO_OTK_ALGORITHM, id, &name);
		if (err)
			break;
		if (json_object_set_new(result, name, entry)) {
			entry = NULL;
			err = SC_ENOMEM;
			break;
		}
		entry = NULL;
		free(name);
		name = NULL;
	}
	if (!err) {
		*out = result;
		result = NULL;
	}
	free(name);
	json_decref(entry);
	json_decref(result);
	return err;
}

sc_err crypto_account_one_time_keys(struct crypto_account *acc,
				    const char *user_id, const char *device_id,
				    json_t **out)
{
	json_t *keys = NULL;
	sc_err err;

	if (!user_id || !device_id)
		return SC_EINVAL;
	err = account_otks(acc, &keys);
	if (!err)
		err = signed_keys(acc, keys, 0, user_id, device_id, out);
	json_decref(keys);
	return err;
}

sc_err crypto_account_mark_published(struct crypto_account *acc)
{
	if (olm_account_mark_keys_as_published(acc->olm) == olm_error())
		return account_fail(acc, "mark one-time keys as published");
	return SC_OK;
}

sc_err crypto_account_generate_fallback(struct crypto_account *acc)
{
	size_t rlen = olm_account_generate_fallback_key_random_length(acc->olm);
	void *rnd = NULL;
	sc_err err;

	err = random_buf(rlen, &rnd);
	if (err)
		return err;
	if (olm_account_generate_fallback_key(acc->olm, rnd, rlen) ==
	    olm_error())
		err = account_fail(acc, "generate fallback key");
	wipe_free(rnd, rlen);
	return err;
}

sc_err crypto_account_fallback_keys(struct crypto_account *acc,
				    const char *user_id, const char *device_id,
				    json_t **out)
{
	size_t len = olm_account_unpublished_fallback_key_length(acc->olm), n;
	uint8_t *buf = malloc(len ? len : 1);
	json_t *root = NULL, *keys;
	json_error_t jerr;
	sc_err err = SC_ENOMEM;

	if (!user_id || !device_id) {
		err = SC_EINVAL;
		goto out;
	}
	if (!buf)
		goto out;
	n = olm_account_unpublished_fallback_key(acc->olm, buf, len);
	if (n == olm_error()) {
		err = account_fail(acc, "read fallback key");
		goto out;
	}
	root = json_loadb((const char *)buf, n, 0, &jerr);
	keys = json_object_get(root, "curve25519");
	if (!json_is_object(keys)) {
		log_error("cannot parse fallback key from libolm");
		err = SC_ECRYPTO;
		goto out;
	}
	err = signed_keys(acc, keys, 1, user_id, device_id, out);
out:
	json_decref(root);
	free(buf);
	return err;
}

void crypto_account_forget_old_fallback(struct crypto_account *acc)
{
	olm_account_forget_old_fallback_key(acc->olm);
}

sc_err crypto_account_remove_otks(struct crypto_account *acc,
				  struct crypto_session *s)
{
	if (olm_remove_one_time_keys(acc->olm, s->olm) == olm_error()) {
		log_warn("cannot remove one-time key of olm session '%s': %s",
			 s->id, olm_account_last_error(acc->olm));
		return SC_ENOTFOUND;
	}
	return SC_OK;
}

/* ------------------------------------------------------------------ */
/* Olm sessions                                                        */

static sc_err session_alloc(struct crypto_session **out)
{
	struct crypto_session *s = calloc(1, sizeof(*s));

	if (!s)
		return SC_ENOMEM;
	s->size = olm_session_size();
	s->mem = calloc(1, s->size);
	if (!s->mem) {
		free(s);
		return SC_ENOMEM;
	}
	s->olm = olm_session(s->mem);
	*out = s;
	return SC_OK;
}

void crypto_session_free(struct crypto_session *s)
{
	if (!s)
		return;
	olm_clear_session(s->olm);
	wipe_free(s->mem, s->size);
	free(s->id);
	free(s);
}

static sc_err session_fail(struct crypto_session *s, const char *what,
			   int quiet)
{
	return olm_fail(what, olm_session_last_error_code(s->olm),
			olm_session_last_error(s->olm), quiet);
}

static sc_err session_load_id(struct crypto_session *s)
{
	size_t len = olm_session_id_length(s->olm), n;
	uint8_t *buf = malloc(len ? len : 1);
	sc_err err = SC_ENOMEM;

	if (!buf)
		return err;
	n = olm_session_id(s->olm, buf, len);
	if (n == olm_error()) {
		err = session_fail(s, "read olm session id", 0);
	} else {
		s->id = dup_out(buf, n);
		err = s->id ? SC_OK : SC_ENOMEM;
	}
	free(buf);
	return err;
}

sc_err crypto_session_new_outbound(struct crypto_account *acc,
				   json_t *claimed, const char *user_id,
				   const char *device_id,
				   const char *their_ed25519,
				   const char *their_curve25519,
				   struct crypto_session **out)
{
	struct crypto_session *s = NULL;
	const char *otk = json_string_value(json_object_get(claimed, "key"));
	char *key_id = NULL;
	void *rnd = NULL;
	size_t olen, clen, elen, rlen = 0;
	sc_err err;

	if (!user_id || !device_id)
		return SC_EINVAL;
	err = b64_key(otk, "claimed one-time key", &olen);
	if (!err)
		err = b64_key(their_curve25519, "device curve25519 key", &clen);
	if (!err)
		err = b64_key(their_ed25519, "device ed25519 key", &elen);
	if (!err)
		err = join_id("ed25519", device_id, &key_id);
	if (err)
		goto out;
	err = crypto_verify_signed_json(claimed, user_id, key_id,
					their_ed25519);
	if (err) {
		log_warn("refusing one-time key of '%s' device '%s': %s",
			 user_id, device_id,
			 err == SC_ENOTFOUND  ? "not signed by the device"
			 : err == SC_ECRYPTO ? "bad signature"
					     : sc_strerror(err));
		goto out;
	}
	err = session_alloc(&s);
	if (err)
		goto out;
	rlen = olm_create_outbound_session_random_length(s->olm);
	err = random_buf(rlen, &rnd);
	if (err)
		goto out;
	if (olm_create_outbound_session(s->olm, acc->olm, their_curve25519,
					clen, otk, olen, rnd,
					rlen) == olm_error()) {
		err = session_fail(s, "create outbound olm session", 0);
		goto out;
	}
	err = session_load_id(s);
	if (err)
		goto out;
	*out = s;
	s = NULL;
out:
	wipe_free(rnd, rlen);
	free(key_id);
	crypto_session_free(s);
	return err;
}

sc_err crypto_session_new_inbound(struct crypto_account *acc,
				  const char *their_curve25519,
				  const char *body, struct crypto_session **out)
{
	struct crypto_session *s = NULL;
	uint8_t *copy = NULL;
	size_t clen, blen = 0;
	sc_err err;

	err = b64_key(their_curve25519, "sender curve25519 key", &clen);
	if (!err)
		err = b64_check(body, "olm pre-key message", &blen);
	if (!err)
		err = session_alloc(&s);
	if (err)
		goto out;
	copy = scratch(body, blen);
	if (!copy) {
		err = SC_ENOMEM;
		goto out;
	}
	if (olm_create_inbound_session_from(s->olm, acc->olm, their_curve25519,
					    clen, copy, blen) == olm_error()) {
		err = session_fail(s, "create inbound olm session", 0);
		goto out;
	}
	err = session_load_id(s);
	if (err)
		goto out;
	*out = s;
	s = NULL;
out:
	wipe_free(copy, blen + 1);
	crypto_session_free(s);
	return err;
}

sc_err crypto_session_matches(struct crypto_session *s,
			      const char *their_curve25519, const char *body,
			      bool *matches)
{
	uint8_t *copy;
	size_t clen, blen = 0, n;
	sc_err err;

	err = b64_key(their_curve25519, "sender curve25519 key", &clen);
	if (!err)
		err = b64_check(body, "olm pre-key message", &blen);
	if (err)
		return err;
	copy = scratch(body, blen);
	if (!copy)
		return SC_ENOMEM;
	n = olm_matches_inbound_session_from(s->olm, their_curve25519, clen,
					     copy, blen);
	wipe_free(copy, blen + 1);
	if (n == olm_error())
		return session_fail(s, "match olm pre-key message", 0);
	*matches = n == 1;
	return SC_OK;
}

sc_err crypto_session_encrypt(struct crypto_session *s, const char *plaintext,
			      size_t len, int *type, char **body)
{
	size_t t, rlen, mlen, n;
	void *rnd = NULL;
	char *buf = NULL;
	sc_err err;

	t = olm_encrypt_message_type(s->olm);
	if (t == olm_error())
		return session_fail(s, "encrypt olm message", 0);
	rlen = olm_encrypt_random_length(s->olm);
	mlen = olm_encrypt_message_length(s->olm, len);
	err = random_buf(rlen, &rnd);
	if (err)
		goto out;
	buf = malloc(mlen + 1);
	if (!buf) {
		err = SC_ENOMEM;
		goto out;
	}
	n = olm_encrypt(s->olm, plaintext, len, rnd, rlen, buf, mlen);
	if (n == olm_error()) {
		err = session_fail(s, "encrypt olm message", 0);
		goto out;
	}
	buf[n] = '\0';
	*type = t == OLM_MESSAGE_TYPE_PRE_KEY ? CRYPTO_OLM_PREKEY
					      : CRYPTO_OLM_MESSAGE;
	*body = buf;
	buf = NULL;
out:
	wipe_free(rnd, rlen);
	wipe_free(buf, mlen + 1);
	return err;
}

sc_err crypto_session_decrypt(struct crypto_session *s, int type,
			      const char *body, char **plaintext, size_t *len)
{
	uint8_t *copy = NULL;
	char *plain = NULL;
	size_t blen = 0, max = 0, n;
	sc_err err;

	if (type != CRYPTO_OLM_PREKEY && type != CRYPTO_OLM_MESSAGE) {
		log_warn("unknown olm message type %d", type);
		return SC_EINVAL;
	}
	err = b64_check(body, "olm message", &blen);
	if (err)
		return err;
	copy = scratch(body, blen);
	if (!copy)
		return SC_ENOMEM;
	/* both calls destroy their input: a fresh copy for each */
	max = olm_decrypt_max_plaintext_length(s->olm, (size_t)type, copy,
					       blen);
	if (max == olm_error()) {
		err = session_fail(s, "decrypt olm message", 0);
		max = 0;
		goto out;
	}
	memcpy(copy, body, blen);
	plain = malloc(max + 1);
	if (!plain) {
		err = SC_ENOMEM;
		goto out;
	}
	n = olm_decrypt(s->olm, (size_t)type, copy, blen, plain, max);
	if (n == olm_error()) {
		int quiet = olm_session_last_error_code(s->olm) ==
			    OLM_BAD_MESSAGE_MAC;
		err = session_fail(s, "decrypt olm message", quiet);
		goto out;
	}
	plain[n] = '\0';
	*plaintext = plain;
	*len = n;
	plain = NULL;
out:
	wipe_free(copy, blen + 1);
	wipe_free(plain, max + 1);
	return err;
}

const char *crypto_session_id(const struct crypto_session *s)
{
	return s->id;
}

bool crypto_session_has_received(const struct crypto_session *s)
{
	return olm_session_has_received_message(s->olm) != 0;
}

sc_err crypto_session_pickle(struct crypto_session *s, const void *key,
			     size_t key_len, char **out)
{
	size_t len, n;
	char *buf;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (err)
		return err;
	len = olm_pickle_session_length(s->olm);
	buf = malloc(len + 1);
	if (!buf)
		return SC_ENOMEM;
	n = olm_pickle_session(s->olm, key, key_len, buf, len);
	if (n == olm_error()) {
		err = session_fail(s, "pickle olm session", 0);
		wipe_free(buf, len + 1);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	return SC_OK;
}

sc_err crypto_session_unpickle(const char *pickle, const void *key,
			       size_t key_len, struct crypto_session **out)
{
	struct crypto_session *s = NULL;
	uint8_t *copy = NULL;
	size_t len = 0;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (!err)
		err = b64_check(pickle, "olm session pickle", &len);
	if (!err)
		err = session_alloc(&s);
	if (err)
		goto out;
	copy = scratch(pickle, len);
	if (!copy) {
		err = SC_ENOMEM;
		goto out;
	}
	if (olm_unpickle_session(s->olm, key, key_len, copy, len) ==
	    olm_error()) {
		err = session_fail(s, "open olm session pickle", 0);
		goto out;
	}
	err = session_load_id(s);
	if (err)
		goto out;
	*out = s;
	s = NULL;
out:
	wipe_free(copy, len + 1);
	crypto_session_free(s);
	return err;
}

/* ------------------------------------------------------------------ */
/* Megolm outbound                                                     */

static sc_err gout_alloc(struct crypto_gout **out)
{
	struct crypto_gout *g = calloc(1, sizeof(*g));

	if (!g)
		return SC_ENOMEM;
	g->size = olm_outbound_group_session_size();
	g->mem = calloc(1, g->size);
	if (!g->mem) {
		free(g);
		return SC_ENOMEM;
	}
	g->olm = olm_outbound_group_session(g->mem);
	*out = g;
	return SC_OK;
}

void crypto_gout_free(struct crypto_gout *g)
{
	if (!g)
		return;
	olm_clear_outbound_group_session(g->olm);
	wipe_free(g->mem, g->size);
	free(g->id);
	free(g);
}

static sc_err gout_fail(struct crypto_gout *g, const char *what)
{
	OlmOutboundGroupSession *o = g->olm;

	return olm_fail(what, olm_outbound_group_session_last_error_code(o),
			olm_outbound_group_session_last_error(o), 0);
}

static sc_err gout_load_id(struct crypto_gout *g)
{
	size_t len = olm_outbound_group_session_id_length(g->olm), n;
	uint8_t *buf = malloc(len ? len : 1);
	sc_err err = SC_ENOMEM;

	if (!buf)
		return err;
	n = olm_outbound_group_session_id(g->olm, buf, len);
	if (n == olm_error()) {
		err = gout_fail(g, "read megolm session id");
	} else {
		g->id = dup_out(buf, n);
		err = g->id ? SC_OK : SC_ENOMEM;
	}
	free(buf);
	return err;
}

sc_err crypto_gout_new(struct crypto_gout **out)
{
	struct crypto_gout *g = NULL;
	void *rnd = NULL;
	size_t rlen = 0;
	sc_err err;

	err = gout_alloc(&g);
	if (err)
		goto out;
	rlen = olm_init_outbound_group_session_random_length(g->olm);
	err = random_buf(rlen, &rnd);
	if (err)
		goto out;
	if (olm_init_outbound_group_session(g->olm, rnd, rlen) == olm_error()) {
		err = gout_fail(g, "create megolm session");
		goto out;
	}
	err = gout_load_id(g);
	if (err)
		goto out;
	*out = g;
	g = NULL;
out:
	wipe_free(rnd, rlen);
	crypto_gout_free(g);
	return err;
}

sc_err crypto_gout_pickle(struct crypto_gout *g, const void *key,
			  size_t key_len, char **out)
{
	size_t len, n;
	char *buf;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (err)
		return err;
	len = olm_pickle_outbound_group_session_length(g->olm);
	buf = malloc(len + 1);
	if (!buf)
		return SC_ENOMEM;
	n = olm_pickle_outbound_group_session(g->olm, key, key_len, buf, len);
	if (n == olm_error()) {
		err = gout_fail(g, "pickle megolm session");
		wipe_free(buf, len + 1);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	return SC_OK;
}

sc_err crypto_gout_unpickle(const char *pickle, const void *key,
			    size_t key_len, struct crypto_gout **out)
{
	struct crypto_gout *g = NULL;
	uint8_t *copy = NULL;
	size_t len = 0;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (!err)
		err = b64_check(pickle, "megolm session pickle", &len);
	if (!err)
		err = gout_alloc(&g);
	if (err)
		goto out;
	copy = scratch(pickle, len);
	if (!copy) {
		err = SC_ENOMEM;
		goto out;
	}
	if (olm_unpickle_outbound_group_session(g->olm, key, key_len, copy,
						len) == olm_error()) {
		err = gout_fail(g, "open megolm session pickle");
		goto out;
	}
	err = gout_load_id(g);
	if (err)
		goto out;
	*out = g;
	g = NULL;
out:
	wipe_free(copy, len + 1);
	crypto_gout_free(g);
	return err;
}

const char *crypto_gout_id(const struct crypto_gout *g)
{
	return g->id;
}

uint32_t crypto_gout_index(const struct crypto_gout *g)
{
	return olm_outbound_group_session_message_index(g->olm);
}

sc_err crypto_gout_key(struct crypto_gout *g, char **out)
{
	size_t len = olm_outbound_group_session_key_length(g->olm), n;
	uint8_t *buf = malloc(len + 1);
	sc_err err;

	if (!buf)
		return SC_ENOMEM;
	n = olm_outbound_group_session_key(g->olm, buf, len);
	if (n == olm_error()) {
		err = gout_fail(g, "export megolm session key");
		wipe_free(buf, len + 1);
		return err;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	return SC_OK;
}

sc_err crypto_gout_encrypt(struct crypto_gout *g, const char *plaintext,
			   size_t len, char **ciphertext)
{
	size_t mlen = olm_group_encrypt_message_length(g->olm, len), n;
	uint8_t *buf = malloc(mlen + 1);
	sc_err err;

	if (!buf)
		return SC_ENOMEM;
	n = olm_group_encrypt(g->olm, (const uint8_t *)plaintext, len, buf,
			      mlen);
	if (n == olm_error()) {
		err = gout_fail(g, "encrypt megolm message");
		wipe_free(buf, mlen + 1);
		return err;
	}
	buf[n] = '\0';
	*ciphertext = (char *)buf;
	return SC_OK;
}

/* ------------------------------------------------------------------ */
/* Megolm inbound                                                      */

static sc_err gin_alloc(struct crypto_gin **out)
{
	struct crypto_gin *g = calloc(1, sizeof(*g));

	if (!g)
		return SC_ENOMEM;
	g->size = olm_inbound_group_session_size();
	g->mem = calloc(1, g->size);
	if (!g->mem) {
		free(g);
		return SC_ENOMEM;
	}
	g->olm = olm_inbound_group_session(g->mem);
	*out = g;
	return SC_OK;
}

void crypto_gin_free(struct crypto_gin *g)
{
	if (!g)
		return;
	olm_clear_inbound_group_session(g->olm);
	wipe_free(g->mem, g->size);
	free(g->id);
	free(g);
}

/* UNKNOWN_MESSAGE_INDEX is routine (the key comes later): debug only. */
static sc_err gin_fail(struct crypto_gin *g, const char *what)
{
	OlmInboundGroupSession *o = g->olm;
	enum OlmErrorCode code = olm_inbound_group_session_last_error_code(o);

	return olm_fail(what, code, olm_inbound_group_session_last_error(o),
			code == OLM_UNKNOWN_MESSAGE_INDEX);
}

static sc_err gin_load_id(struct crypto_gin *g)
{
	size_t len = olm_inbound_group_session_id_length(g->olm), n;
	uint8_t *buf = malloc(len ? len : 1);
	sc_err err = SC_ENOMEM;

	if (!buf)
		return err;
	n = olm_inbound_group_session_id(g->olm, buf, len);
	if (n == olm_error()) {
		err = gin_fail(g, "read megolm session id");
	} else {
		g->id = dup_out(buf, n);
		err = g->id ? SC_OK : SC_ENOMEM;
	}
	free(buf);
	return err;
}

/* Shared by crypto_gin_new (import = 0) and crypto_gin_import. */
static sc_err gin_create(const char *key, const char *expected_id, int import,
			 struct crypto_gin **out)
{
	struct crypto_gin *g = NULL;
	uint8_t *copy = NULL;
	size_t len = 0, n;
	sc_err err;

	err = b64_check(key, "megolm session key", &len);
	if (!err)
		err = gin_alloc(&g);
	if (err)
		goto out;
	copy = scratch(key, len);
	if (!copy) {
		err = SC_ENOMEM;
		goto out;
	}
	n = import ? olm_import_inbound_group_session(g->olm, copy, len)
		   : olm_init_inbound_group_session(g->olm, copy, len);
	if (n == olm_error()) {
		err = gin_fail(g, import ? "import megolm session"
					 : "create inbound megolm session");
		goto out;
	}
	err = gin_load_id(g);
	if (err)
		goto out;
	if (expected_id && strcmp(expected_id, g->id) != 0) {
		log_warn("megolm session key is for session '%s', not '%s'",
			 g->id, expected_id);
		err = SC_ECRYPTO;
		goto out;
	}
	*out = g;
	g = NULL;
out:
	wipe_free(copy, len + 1);
	crypto_gin_free(g);
	return err;
}

sc_err crypto_gin_new(const char *session_key, const char *expected_id,
		      struct crypto_gin **out)
{
	return gin_create(session_key, expected_id, 0, out);
}

sc_err crypto_gin_import(const char *exported, const char *expected_id,
			 struct crypto_gin **out)
{
	return gin_create(exported, expected_id, 1, out);
}

sc_err crypto_gin_export(struct crypto_gin *g, uint32_t index, char **out)
{
	size_t len = olm_export_inbound_group_session_length(g->olm), n;
	uint8_t *buf = malloc(len + 1);
	sc_err err;

	if (!buf)
		return SC_ENOMEM;
	n = olm_export_inbound_group_session(g->olm, buf, len, index);
	if (n == olm_error()) {
		err = gin_fail(g, "export megolm session");
		wipe_free(buf, len + 1);
		return err;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	return SC_OK;
}

uint32_t crypto_gin_first_index(const struct crypto_gin *g)
{
	return olm_inbound_group_session_first_known_index(g->olm);
}

const char *crypto_gin_id(const struct crypto_gin *g)
{
	return g->id;
}

sc_err crypto_gin_decrypt(struct crypto_gin *g, const char *ciphertext,
			  char **plaintext, size_t *len, uint32_t *index)
{
	uint8_t *copy = NULL, *plain = NULL;
	size_t clen = 0, max = 0, n;
	uint32_t idx = 0;
	sc_err err;

	err = b64_check(ciphertext, "megolm message", &clen);
	if (err)
		return err;
	copy = scratch(ciphertext, clen);
	if (!copy)
		return SC_ENOMEM;
	/* both calls destroy their input: a fresh copy for each */
	max = olm_group_decrypt_max_plaintext_length(g->olm, copy, clen);
	if (max == olm_error()) {
		err = gin_fail(g, "decrypt megolm message");
		max = 0;
		goto out;
	}
	memcpy(copy, ciphertext, clen);
	plain = malloc(max + 1);
	if (!plain) {
		err = SC_ENOMEM;
		goto out;
	}
	n = olm_group_decrypt(g->olm, copy, clen, plain, max, &idx);
	if (n == olm_error()) {
		err = gin_fail(g, "decrypt megolm message");
		goto out;
	}
	plain[n] = '\0';
	*plaintext = (char *)plain;
	*len = n;
	*index = idx;
	plain = NULL;
out:
	wipe_free(copy, clen + 1);
	wipe_free(plain, max + 1);
	return err;
}

sc_err crypto_gin_pickle(struct crypto_gin *g, const void *key,
			 size_t key_len, char **out)
{
	size_t len, n;
	char *buf;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (err)
		return err;
	len = olm_pickle_inbound_group_session_length(g->olm);
	buf = malloc(len + 1);
	if (!buf)
		return SC_ENOMEM;
	n = olm_pickle_inbound_group_session(g->olm, key, key_len, buf, len);
	if (n == olm_error()) {
		err = gin_fail(g, "pickle inbound megolm session");
		wipe_free(buf, len + 1);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	return SC_OK;
}

sc_err crypto_gin_unpickle(const char *pickle, const void *key,
			   size_t key_len, struct crypto_gin **out)
{
	struct crypto_gin *g = NULL;
	uint8_t *copy = NULL;
	size_t len = 0;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (!err)
		err = b64_check(pickle, "inbound megolm session pickle", &len);
	if (!err)
		err = gin_alloc(&g);
	if (err)
		goto out;
	copy = scratch(pickle, len);
	if (!copy) {
		err = SC_ENOMEM;
		goto out;
	}
	if (olm_unpickle_inbound_group_session(g->olm, key, key_len, copy,
					       len) == olm_error()) {
		err = gin_fail(g, "open inbound megolm session pickle");
		goto out;
	}
	err = gin_load_id(g);
	if (err)
		goto out;
	*out = g;
	g = NULL;
out:
	wipe_free(copy, len + 1);
	crypto_gin_free(g);
	return err;
}

/* ------------------------------------------------------------------ */
/* Cross-signing                                                       */

/* An OlmPkSigning object (and its memory) for seed; pub gets the
 * public key. Release with pk_free(). */
static sc_err pk_from_seed(const uint8_t *seed, OlmPkSigning **ps_out,
			   void **mem_out, char pub[KEY_B64_LEN + 1])
{
	void *mem;
	OlmPkSigning *ps;
	size_t n;

	if (olm_pk_signing_seed_length() != SEED_LEN ||
	    olm_pk_signing_public_key_length() != KEY_B64_LEN) {
		log_error("libolm signing key sizes are not the expected ones");
		return SC_ECRYPTO;
	}
	mem = calloc(1, olm_pk_signing_size());
	if (!mem)
		return SC_ENOMEM;
	ps = olm_pk_signing(mem);
	n = olm_pk_signing_key_from_seed(ps, pub, KEY_B64_LEN, seed, SEED_LEN);
	if (n == olm_error()) {
		sc_err err = olm_fail("derive cross-signing key",
				      olm_pk_signing_last_error_code(ps),
				      olm_pk_signing_last_error(ps), 0);
		olm_clear_pk_signing(ps);
		wipe_free(mem, olm_pk_signing_size());
		return err;
	}
	pub[KEY_B64_LEN] = '\0';
	*ps_out = ps;
	*mem_out = mem;
	return SC_OK;
}

static void pk_free(OlmPkSigning *ps, void *mem)
{
	if (!mem)
		return;
	olm_clear_pk_signing(ps);
	wipe_free(mem, olm_pk_signing_size());
}

static sc_err pk_sign(const uint8_t *seed, const void *msg, size_t len,
		      char **sig)
{
	OlmPkSigning *ps = NULL;
	void *mem = NULL;
	char pub[KEY_B64_LEN + 1];
	size_t slen = olm_pk_signature_length(), n;
	uint8_t *buf = NULL;
	sc_err err;

	err = pk_from_seed(seed, &ps, &mem, pub);
	if (err)
		return err;
	buf = malloc(slen + 1);
	if (!buf) {
		err = SC_ENOMEM;
		goto out;
	}
	n = olm_pk_sign(ps, msg, len, buf, slen);
	if (n == olm_error()) {
		err = olm_fail("sign with cross-signing key",
			       olm_pk_signing_last_error_code(ps),
			       olm_pk_signing_last_error(ps), 0);
		goto out;
	}
	buf[n] = '\0';
	*sig = (char *)buf;
	buf = NULL;
out:
	free(buf);
	pk_free(ps, mem);
	return err;
}

static sc_err master_signer(void *ctx, const void *msg, size_t len,
			    char **sig)
{
	struct crypto_xsign *x = ctx;

	return pk_sign(x->master_seed, msg, len, sig);
}

static sc_err ssk_signer(void *ctx, const void *msg, size_t len, char **sig)
{
	struct crypto_xsign *x = ctx;

	return pk_sign(x->ssk_seed, msg, len, sig);
}

static sc_err xsign_derive(struct crypto_xsign *x)
{
	OlmPkSigning *ps = NULL;
	void *mem = NULL;
	sc_err err;

	err = pk_from_seed(x->master_seed, &ps, &mem, x->master);
	pk_free(ps, mem);
	mem = NULL;
	if (err)
		return err;
	err = pk_from_seed(x->ssk_seed, &ps, &mem, x->ssk);
	pk_free(ps, mem);
	return err;
}

void crypto_xsign_free(struct crypto_xsign *x)
{
	if (x)
		wipe_free(x, sizeof(*x));
}

sc_err crypto_xsign_new(struct crypto_xsign **out)
{
	struct crypto_xsign *x = calloc(1, sizeof(*x));
	sc_err err;

	if (!x)
		return SC_ENOMEM;
	err = crypto_random(x->master_seed, SEED_LEN);
	if (!err)
		err = crypto_random(x->ssk_seed, SEED_LEN);
	if (!err)
		err = xsign_derive(x);
	if (err) {
		crypto_xsign_free(x);
		return err;
	}
	*out = x;
	return SC_OK;
}

/*
 * libolm has no pickle for signing keys, but an OlmPkDecryption pickles
 * its 32-byte private key verbatim, encrypted and MACed with the pickle
 * key: the seed travels as that private key.
 */
static sc_err seed_pickle(const uint8_t *seed, const void *key,
			  size_t key_len, struct sbuf *sb)
{
	size_t size = olm_pk_decryption_size(), plen = 0, n;
	void *mem = calloc(1, size);
	OlmPkDecryption *pd = NULL;
	char pub[64];
	char *buf = NULL;
	sc_err err = SC_ENOMEM;

	if (!mem)
		goto out;
	pd = olm_pk_decryption(mem);
	if (olm_pk_private_key_length() != SEED_LEN ||
	    olm_pk_key_length() >= sizeof(pub)) {
		log_error("libolm key sizes are not the expected ones");
		err = SC_ECRYPTO;
		goto out;
	}
	if (olm_pk_key_from_private(pd, pub, olm_pk_key_length(), seed,
				    SEED_LEN) == olm_error())
		goto fail;
	plen = olm_pickle_pk_decryption_length(pd);
	buf = malloc(plen);
	if (!buf)
		goto out;
	n = olm_pickle_pk_decryption(pd, key, key_len, buf, plen);
	if (n == olm_error())
		goto fail;
	err = sbuf_add(sb, buf, n);
	goto out;
fail:
	err = olm_fail("pickle cross-signing key",
		       olm_pk_decryption_last_error_code(pd),
		       olm_pk_decryption_last_error(pd), 0);
out:
	if (pd)
		olm_clear_pk_decryption(pd);
	wipe_free(mem, size);
	wipe_free(buf, plen);
	return err;
}

static sc_err seed_unpickle(const char *p, size_t len, const void *key,
			    size_t key_len, uint8_t *seed)
{
	size_t size = olm_pk_decryption_size();
	void *mem = calloc(1, size);
	OlmPkDecryption *pd = NULL;
	uint8_t *copy = scratch(p, len);
	char pub[64];
	sc_err err = SC_ENOMEM;

	if (!mem || !copy)
		goto out;
	pd = olm_pk_decryption(mem);
	if (olm_pk_private_key_length() != SEED_LEN ||
	    olm_pk_key_length() >= sizeof(pub)) {
		log_error("libolm key sizes are not the expected ones");
		err = SC_ECRYPTO;
		goto out;
	}
	if (olm_unpickle_pk_decryption(pd, key, key_len, copy, len, pub,
				       olm_pk_key_length()) == olm_error() ||
	    olm_pk_get_private_key(pd, seed, SEED_LEN) == olm_error()) {
		err = olm_fail("open cross-signing key pickle",
			       olm_pk_decryption_last_error_code(pd),
			       olm_pk_decryption_last_error(pd), 0);
		goto out;
	}
	err = SC_OK;
out:
	if (pd)
		olm_clear_pk_decryption(pd);
	wipe_free(mem, size);
	wipe_free(copy, len + 1);
	return err;
}

#define XSIGN_PICKLE_PREFIX "xs1:"

sc_err crypto_xsign_pickle(struct crypto_xsign *x, const void *key,
			   size_t key_len, char **out)
{
	struct sbuf sb;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (err)
		return err;
	sbuf_init(&sb, 0);
	err = sbuf_puts(&sb, XSIGN_PICKLE_PREFIX);
	if (!err)
		err = seed_pickle(x->master_seed, key, key_len, &sb);
	if (!err)
		err = sbuf_putc(&sb, ':');
	if (!err)
		err = seed_pickle(x->ssk_seed, key, key_len, &sb);
	if (err) {
		sbuf_release(&sb);
		return err;
	}
	*out = sbuf_detach(&sb, NULL);
	return *out ? SC_OK : SC_ENOMEM;
}

sc_err crypto_xsign_unpickle(const char *pickle, const void *key,
			     size_t key_len, struct crypto_xsign **out)
{
	struct crypto_xsign *x = NULL;
	const char *a, *b;
	size_t alen, blen;
	sc_err err;

	err = check_pickle_key(key, key_len);
	if (err)
		return err;
	if (!pickle || strncmp(pickle, XSIGN_PICKLE_PREFIX,
			       strlen(XSIGN_PICKLE_PREFIX)) != 0)
		goto bad;
	a = pickle + strlen(XSIGN_PICKLE_PREFIX);
	b = strchr(a, ':');
	if (!b)
		goto bad;
	alen = (size_t)(b - a);
	b++;
	blen = strlen(b);
	for (size_t i = 0; i < alen; i++) {
		char c = a[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			goto bad;
	}
	if (alen % 4 == 1 || b64_check(b, "cross-signing pickle", &blen))
		goto bad;
	x = calloc(1, sizeof(*x));
	if (!x)
		return SC_ENOMEM;
	err = seed_unpickle(a, alen, key, key_len, x->master_seed);
	if (!err)
		err = seed_unpickle(b, blen, key, key_len, x->ssk_seed);
	if (!err)
		err = xsign_derive(x);
	if (err) {
		crypto_xsign_free(x);
		return err;
	}
	*out = x;
	return SC_OK;
bad:
	log_error("cannot open cross-signing pickle: not in 'xs1:' format");
	return SC_EINVAL;
}

const char *crypto_xsign_master(const struct crypto_xsign *x)
{
	return x->master;
}

const char *crypto_xsign_self_signing(const struct crypto_xsign *x)
{
	return x->ssk;
}

/* {user_id, usage: [usage], keys: {"ed25519:<pub>": pub}} */
static sc_err xsign_key_object(const char *user_id, const char *usage,
			       const char *pub, json_t **out)
{
	char *kid = NULL;
	json_t *obj;
	sc_err err;

	err = join_id("ed25519", pub, &kid);
	if (err)
		return err;
	obj = json_pack("{s:s, s:[s], s:{s:s}}", "user_id", user_id, "usage",
			usage, "keys", kid, pub);
	free(kid);
	if (!obj)
		return SC_ENOMEM;
	*out = obj;
	return SC_OK;
}

sc_err crypto_xsign_upload_body(struct crypto_xsign *x, const char *user_id,
				json_t **out)
{
	json_t *mk = NULL, *ssk = NULL, *body;
	char *mkid = NULL;
	sc_err err;

	if (!user_id)
		return SC_EINVAL;
	err = xsign_key_object(user_id, "master", x->master, &mk);
	if (!err)
		err = xsign_key_object(user_id, "self_signing", x->ssk, &ssk);
	if (!err)
		err = join_id("ed25519", x->master, &mkid);
	if (!err)
		err = sign_json(ssk, user_id, mkid, master_signer, x);
	if (err)
		goto out;
	/* "o" steals both references, on failure too */
	body = json_pack("{s:o, s:o}", "master_key", mk, "self_signing_key",
			 ssk);
	mk = ssk = NULL;
	if (!body) {
		err = SC_ENOMEM;
		goto out;
	}
	*out = body;
out:
	free(mkid);
	json_decref(mk);
	json_decref(ssk);
	return err;
}

sc_err crypto_xsign_sign_device(struct crypto_xsign *x, json_t *device_keys,
				json_t **out)
{
	const char *user_id, *device_id;
	json_t *copy = NULL, *body;
	char *kid = NULL;
	sc_err err;

	user_id = json_string_value(json_object_get(device_keys, "user_id"));
	device_id = json_string_value(json_object_get(device_keys,
						      "device_id"));
	if (!user_id || !device_id)
		return SC_EINVAL;
	copy = json_deep_copy(device_keys);
	if (!copy)
		return SC_ENOMEM;
	json_object_del(copy, "unsigned");
	err = join_id("ed25519", x->ssk, &kid);
	if (!err)
		err = sign_json(copy, user_id, kid, ssk_signer, x);
	if (err)
		goto out;
	body = json_pack("{s:{s:o}}", user_id, device_id, copy);
	copy = NULL;
	if (!body) {
		err = SC_ENOMEM;
		goto out;
	}
	*out = body;
out:
	free(kid);
	json_decref(copy);
	return err;
}

/* ------------------------------------------------------------------ */
/* Olm event payloads                                                  */

sc_err crypto_olm_plaintext(struct crypto_account *acc, const char *type,
			    json_t *content, const char *sender,
			    const char *sender_device, const char *recipient,
			    const char *recipient_ed25519, json_t **out)
{
	json_t *copy, *obj;

	if (!type || !json_is_object(content) || !sender || !sender_device ||
	    !recipient || !recipient_ed25519)
		return SC_EINVAL;
	copy = json_deep_copy(content);
	if (!copy)
		return SC_ENOMEM;
	obj = json_pack("{s:s, s:o, s:s, s:s, s:{s:s}, s:s, s:{s:s}}", "type",
			type, "content", copy, "sender", sender,
			"sender_device", sender_device, "keys", "ed25519",
			acc->ed, "recipient", recipient, "recipient_keys",
			"ed25519", recipient_ed25519);
	if (!obj)
		return SC_ENOMEM;
	*out = obj;
	return SC_OK;
}

sc_err crypto_room_key_content(struct crypto_gout *g, const char *room_id,
			       json_t **out)
{
	char *key = NULL;
	json_t *obj;
	sc_err err;

	if (!room_id)
		return SC_EINVAL;
	err = crypto_gout_key(g, &key);
	if (err)
		return err;
	obj = json_pack("{s:s, s:s, s:s, s:s}", "algorithm",
			CRYPTO_MEGOLM_ALGORITHM, "room_id", room_id,
			"session_id", g->id, "session_key", key);
	crypto_free_secret(key);
	if (!obj)
		return SC_ENOMEM;
	*out = obj;
	return SC_OK;
}

sc_err crypto_olm_encrypt_event(struct crypto_account *acc,
				struct crypto_session *s,
				const char *their_curve25519, json_t *plaintext,
				json_t **out)
{
	char *text = NULL, *body = NULL;
	int type = 0;
	size_t clen;
	json_t *obj;
	sc_err err;

	if (!json_is_object(plaintext))
		return SC_EINVAL;
	err = b64_key(their_curve25519, "recipient curve25519 key", &clen);
	if (err)
		return err;
	text = json_dumps(plaintext, JSON_COMPACT);
	if (!text)
		return SC_ENOMEM;
	err = crypto_session_encrypt(s, text, strlen(text), &type, &body);
	if (err)
		goto out;
	obj = json_pack("{s:s, s:s, s:{s:{s:i, s:s}}}", "algorithm",
			CRYPTO_OLM_ALGORITHM, "sender_key", acc->curve,
			"ciphertext", their_curve25519, "type", type, "body",
			body);
	if (!obj) {
		err = SC_ENOMEM;
		goto out;
	}
	*out = obj;
out:
	crypto_free_secret(text);
	free(body);
	return err;
}

/* algorithm must be alg; logs and refuses anything else. */
static sc_err check_algorithm(json_t *content, const char *alg)
{
	const char *got;

	if (!json_is_object(content)) {
		log_warn("m.room.encrypted content is not an object");
		return SC_EINVAL;
	}
	got = json_string_value(json_object_get(content, "algorithm"));
	if (!got) {
		log_warn("m.room.encrypted without algorithm");
		return SC_EINVAL;
	}
	if (strcmp(got, alg) != 0) {
		log_warn("unsupported encryption algorithm '%.100s' where '%s' "
			 "was expected", got, alg);
		return SC_EINVAL;
	}
	return SC_OK;
}

sc_err crypto_olm_ciphertext(json_t *content, const char *our_curve25519,
			     const char **sender_key, int *type,
			     const char **body)
{
	json_t *ct, *mine, *jt;
	const char *sk, *b;
	size_t len;
	json_int_t t;
	sc_err err;

	err = check_algorithm(content, CRYPTO_OLM_ALGORITHM);
	if (err)
		return err;
	sk = json_string_value(json_object_get(content, "sender_key"));
	err = b64_key(sk, "olm sender_key", &len);
	if (err)
		return err;
	ct = json_object_get(content, "ciphertext");
	if (!json_is_object(ct)) {
		log_warn("olm message without ciphertext object");
		return SC_EINVAL;
	}
	mine = json_object_get(ct, our_curve25519);
	if (!mine)
		return SC_ENOTFOUND;
	jt = json_object_get(mine, "type");
	b = json_string_value(json_object_get(mine, "body"));
	if (!json_is_integer(jt) || !b) {
		log_warn("olm ciphertext without type or body");
		return SC_EINVAL;
	}
	t = json_integer_value(jt);
	if (t != CRYPTO_OLM_PREKEY && t != CRYPTO_OLM_MESSAGE) {
		log_warn("unknown olm message type %lld", (long long)t);
		return SC_EINVAL;
	}
	*sender_key = sk;
	*type = (int)t;
	*body = b;
	return SC_OK;
}

/* Parse decrypted JSON text: an object with string type and object
 * content (borrowed out of *root). */
static sc_err parse_plaintext(const char *text, size_t len, const char *what,
			      json_t **root)
{
	json_error_t jerr;
	/* a NUL or lone surrogate inside reaches the handlers as a NUL
	 * (wirejson.h), which refuse it with a reply */
	json_t *v = wire_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!v) {
		log_warn("%s is not JSON: %s", what, jerr.text);
		return SC_EINVAL;
	}
	if (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "type")) ||
	    !json_is_object(json_object_get(v, "content"))) {
		log_warn("%s lacks type or content", what);
		json_decref(v);
		return SC_EINVAL;
	}
	*root = v;
	return SC_OK;
}

static int streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

sc_err crypto_olm_check_plaintext(struct crypto_account *acc, const char *text,
				  size_t len, const char *sender,
				  const char *recipient,
				  const char *sender_ed25519, json_t **out)
{
	json_t *root = NULL;
	const char *psender, *precipient, *rkey, *skey;
	sc_err err;

	if (!text || !sender || !recipient)
		return SC_EINVAL;
	err = parse_plaintext(text, len, "olm plaintext", &root);
	if (err)
		return err;
	psender = json_string_value(json_object_get(root, "sender"));
	precipient = json_string_value(json_object_get(root, "recipient"));
	rkey = json_string_value(json_object_get(
		json_object_get(root, "recipient_keys"), "ed25519"));
	skey = json_string_value(json_object_get(json_object_get(root, "keys"),
						 "ed25519"));
	if (!psender || !precipient || !rkey || !skey) {
		log_warn("olm plaintext from '%s' lacks sender, recipient or "
			 "keys", sender);
		err = SC_EINVAL;
		goto out;
	}
	err = SC_ECRYPTO;
	if (!streq(psender, sender)) {
		log_warn("olm plaintext sent by '%s' claims sender '%.255s'",
			 sender, psender);
		goto out;
	}
	if (!streq(precipient, recipient)) {
		log_warn("olm plaintext from '%s' is for '%.255s', not us",
			 sender, precipient);
		goto out;
	}
	if (!streq(rkey, acc->ed)) {
		log_warn("olm plaintext from '%s' is for another device key",
			 sender);
		goto out;
	}
	if (sender_ed25519 && !streq(skey, sender_ed25519)) {
		log_warn("olm plaintext from '%s' claims a device key that is "
			 "not the sending device's", sender);
		goto out;
	}
	*out = root;
	root = NULL;
	err = SC_OK;
out:
	json_decref(root);
	return err;
}

/* ------------------------------------------------------------------ */
/* Megolm event payloads                                               */

sc_err crypto_megolm_encrypt_event(struct crypto_gout *g,
				   struct crypto_account *acc,
				   const char *device_id, const char *room_id,
				   const char *type, json_t *content,
				   json_t **out)
{
	json_t *plain = NULL, *obj = NULL, *rel;
	char *text = NULL, *ct = NULL;
	sc_err err;

	if (!device_id || !room_id || !type || !json_is_object(content))
		return SC_EINVAL;
	plain = json_pack("{s:s, s:O, s:s}", "type", type, "content", content,
			  "room_id", room_id);
	if (!plain)
		return SC_ENOMEM;
	err = SC_ENOMEM;
	text = json_dumps(plain, JSON_COMPACT);
	if (!text)
		goto out;
	err = crypto_gout_encrypt(g, text, strlen(text), &ct);
	if (err)
		goto out;
	err = SC_ENOMEM;
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "algorithm",
			CRYPTO_MEGOLM_ALGORITHM, "sender_key", acc->curve,
			"device_id", device_id, "session_id", g->id,
			"ciphertext", ct);
	if (!obj)
		goto out;
	rel = json_object_get(content, "m.relates_to");
	if (rel && json_object_set_new(obj, "m.relates_to",
				       json_deep_copy(rel)))
		goto out;
	*out = obj;
	obj = NULL;
	err = SC_OK;
out:
	json_decref(obj);
	json_decref(plain);
	crypto_free_secret(text);
	free(ct);
	return err;
}

sc_err crypto_megolm_ciphertext(json_t *content, const char **session_id,
				const char **sender_key,
				const char **ciphertext)
{
	const char *sid, *sk, *ct;
	sc_err err;

	err = check_algorithm(content, CRYPTO_MEGOLM_ALGORITHM);
	if (err)
		return err;
	sid = json_string_value(json_object_get(content, "session_id"));
	ct = json_string_value(json_object_get(content, "ciphertext"));
	sk = json_string_value(json_object_get(content, "sender_key"));
	if (!sid || !ct) {
		log_warn("megolm message without session_id or ciphertext");
		return SC_EINVAL;
	}
	*session_id = sid;
	*sender_key = sk;
	*ciphertext = ct;
	return SC_OK;
}

sc_err crypto_megolm_decrypt_event(struct crypto_gin *g, const char *room_id,
				   json_t *content, json_t **plain,
				   uint32_t *index)
{
	const char *sid, *sk, *ct, *proom;
	char *text = NULL;
	size_t len = 0;
	uint32_t idx = 0;
	json_t *root = NULL;
	sc_err err;

	if (!room_id)
		return SC_EINVAL;
	err = crypto_megolm_ciphertext(content, &sid, &sk, &ct);
	if (err)
		return err;
	if (strcmp(sid, g->id) != 0) {
		log_warn("megolm message for session '%.64s' given to session "
			 "'%s'", sid, g->id);
		return SC_ECRYPTO;
	}
	err = crypto_gin_decrypt(g, ct, &text, &len, &idx);
	if (err)
		return err;
	err = parse_plaintext(text, len, "megolm plaintext", &root);
	if (err)
		goto out;
	proom = json_string_value(json_object_get(root, "room_id"));
	if (!streq(proom, room_id)) {
		log_warn("megolm plaintext of session '%s' names room "
			 "'%.255s', not '%s'", g->id, proom ? proom : "(none)",
			 room_id);
		err = SC_ECRYPTO;
		goto out;
	}
	*plain = root;
	*index = idx;
	root = NULL;
out:
	json_decref(root);
	wipe_free(text, len + 1);
	return err;
}
