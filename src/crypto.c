/* SPDX-License-Identifier: MIT */
/*
 * crypto.c - Olm/Megolm for scribe on top of libolm (see crypto.h): the
 * helpers every libolm call goes through, signing and verifying JSON, and
 * the account (identity keys, device keys, one-time and fallback keys).
 * Olm sessions are in crypto_olm.c, megolm sessions in crypto_megolm.c,
 * cross-signing in crypto_xsign.c; crypto_int.h is what they share. Only
 * src/crypto*.c include <olm/olm.h>. Every libolm object lives in its
 * own calloc'd block, is cleared with olm_clear_*() and wiped before it
 * is freed; every input libolm could destroy (pickles, messages,
 * signatures, session keys) is handed over as a scratch copy that is
 * wiped afterwards, since decryption leaves plaintext in it. Random
 * bytes come from getrandom(), exactly *_random_length() of them, in a
 * fresh buffer per call. libolm failures are mapped to sc_err in one
 * place (crypto_fail) and logged there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <olm/olm.h>

#include "canonjson.h"
#include "crypto_int.h"
#include "wirejson.h"
#include "log.h"
#include "sbuf.h"
#include "banned.h"

#define SIG_B64_LEN 86	/* an ed25519 signature */

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

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
sc_err crypto_random_buf(size_t len, void **out)
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
sc_err crypto_fail(const char *what, enum OlmErrorCode code,
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
sc_err crypto_b64_check(const char *s, const char *what, size_t *len)
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
sc_err crypto_b64_key(const char *s, const char *what, size_t *len)
{
	size_t n;
	sc_err err = crypto_b64_check(s, what, &n);

	if (err)
		return err;
	if (n != KEY_B64_LEN) {
		log_warn("%s is not a 32-byte key", what);
		return SC_EINVAL;
	}
	*len = n;
	return SC_OK;
}

sc_err crypto_check_pickle_key(const void *key, size_t key_len)
{
	if (!key || key_len < CRYPTO_PICKLE_KEY_MIN) {
		log_error("pickle key shorter than %d bytes",
			  CRYPTO_PICKLE_KEY_MIN);
		return SC_EINVAL;
	}
	return SC_OK;
}

/* "a:b" into a new string. */
sc_err crypto_join_id(const char *a, const char *b, char **out)
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

/* ------------------------------------------------------------------ */
/* Signing and verifying JSON                                          */


/* Add obj.signatures[user_id][key_id] = sign(signable(obj)). */
sc_err crypto_sign_json(json_t *obj, const char *user_id, const char *key_id,
			crypto_signer_fn sign, void *ctx)
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

	err = crypto_b64_key(ed25519, "ed25519 key", &klen);
	if (err)
		return err;
	err = crypto_b64_check(signature, "signature", &slen);
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
		err = crypto_fail("verify signature",
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
	return crypto_fail(what, olm_account_last_error_code(acc->olm),
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
	err = crypto_random_buf(rlen, &rnd);
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

	err = crypto_check_pickle_key(key, key_len);
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

	err = crypto_check_pickle_key(key, key_len);
	if (!err)
		err = crypto_b64_check(pickle, "account pickle", &len);
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

	err = crypto_join_id("ed25519", device_id, &key_id);
	if (!err)
		err = crypto_sign_json(obj, user_id, key_id, account_signer,
				       acc);
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
	err = crypto_join_id("curve25519", device_id, &kc);
	if (!err)
		err = crypto_join_id("ed25519", device_id, &ke);
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
	err = crypto_sign_json(obj, user_id, ke, account_signer, acc);
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
		err = crypto_random_buf(rlen, &rnd);
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
			err = crypto_join_id(CRYPTO_OTK_ALGORITHM, id, &name);
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

	err = crypto_random_buf(rlen, &rnd);
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
/* Event payloads: shared by the olm and megolm ones                   */

/* algorithm must be alg; logs and refuses anything else. */
sc_err crypto_check_algorithm(json_t *content, const char *alg)
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

/* Parse decrypted JSON text: an object with string type and object
 * content (borrowed out of *root). */
sc_err crypto_parse_plaintext(const char *text, size_t len, const char *what,
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
