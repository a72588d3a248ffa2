/* SPDX-License-Identifier: MIT */
/*
 * crypto_xsign.c - our cross-signing keys: master and self-signing keys
 * from random seeds (libolm's OlmPkSigning), their pickle (the seeds
 * through OlmPkDecryption, which libolm can pickle), the body that
 * uploads them and the signature of our device by the self-signing key.
 */
#include <stdlib.h>
#include <string.h>

#include <olm/olm.h>
#include <olm/pk.h>

#include "crypto_int.h"
#include "log.h"
#include "sbuf.h"
#include "banned.h"

#define SEED_LEN 32	/* an olm_pk_signing seed */

struct crypto_xsign {
	uint8_t master_seed[SEED_LEN];
	uint8_t ssk_seed[SEED_LEN];
	char master[KEY_B64_LEN + 1];
	char ssk[KEY_B64_LEN + 1];
};

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
		sc_err err = crypto_fail("derive cross-signing key",
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
		err = crypto_fail("sign with cross-signing key",
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
	err = crypto_fail("pickle cross-signing key",
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
		err = crypto_fail("open cross-signing key pickle",
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

	err = crypto_check_pickle_key(key, key_len);
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

	err = crypto_check_pickle_key(key, key_len);
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
	if (alen % 4 == 1 || crypto_b64_check(b, "cross-signing pickle", &blen))
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

	err = crypto_join_id("ed25519", pub, &kid);
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
		err = crypto_join_id("ed25519", x->master, &mkid);
	if (!err)
		err = crypto_sign_json(ssk, user_id, mkid, master_signer, x);
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
	err = crypto_join_id("ed25519", x->ssk, &kid);
	if (!err)
		err = crypto_sign_json(copy, user_id, kid, ssk_signer, x);
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
