/* SPDX-License-Identifier: MIT */
/*
 * crypto_olm.c - olm 1:1 sessions (outbound from a claimed one-time key,
 * inbound from a pre-key message, encrypt, decrypt, pickles) and the olm
 * to-device payloads: the plaintext we send, the m.room.encrypted
 * content we build, the ciphertext we pick out of one and the checks on
 * what it decrypts to. The conventions of crypto.c hold here: scratch
 * copies for everything libolm destroys, errors through crypto_fail.
 */
#include <stdlib.h>
#include <string.h>

#include <olm/olm.h>

#include "crypto_int.h"
#include "log.h"
#include "banned.h"

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
	return crypto_fail(what, olm_session_last_error_code(s->olm),
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
	err = crypto_b64_key(otk, "claimed one-time key", &olen);
	if (!err)
		err = crypto_b64_key(their_curve25519, "device curve25519 key",
				     &clen);
	if (!err)
		err = crypto_b64_key(their_ed25519, "device ed25519 key",
				     &elen);
	if (!err)
		err = crypto_join_id("ed25519", device_id, &key_id);
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
	err = crypto_random_buf(rlen, &rnd);
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

	err = crypto_b64_key(their_curve25519, "sender curve25519 key", &clen);
	if (!err)
		err = crypto_b64_check(body, "olm pre-key message", &blen);
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

	err = crypto_b64_key(their_curve25519, "sender curve25519 key", &clen);
	if (!err)
		err = crypto_b64_check(body, "olm pre-key message", &blen);
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
	err = crypto_random_buf(rlen, &rnd);
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
	err = crypto_b64_check(body, "olm message", &blen);
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

	err = crypto_check_pickle_key(key, key_len);
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

	err = crypto_check_pickle_key(key, key_len);
	if (!err)
		err = crypto_b64_check(pickle, "olm session pickle", &len);
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
	err = crypto_b64_key(their_curve25519, "recipient curve25519 key",
			     &clen);
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

sc_err crypto_olm_ciphertext(json_t *content, const char *our_curve25519,
			     const char **sender_key, int *type,
			     const char **body)
{
	json_t *ct, *mine, *jt;
	const char *sk, *b;
	size_t len;
	json_int_t t;
	sc_err err;

	err = crypto_check_algorithm(content, CRYPTO_OLM_ALGORITHM);
	if (err)
		return err;
	sk = json_string_value(json_object_get(content, "sender_key"));
	err = crypto_b64_key(sk, "olm sender_key", &len);
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
	err = crypto_parse_plaintext(text, len, "olm plaintext", &root);
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

