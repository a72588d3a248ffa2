/* SPDX-License-Identifier: MIT */
/*
 * crypto_megolm.c - megolm group sessions: our outbound sessions (new,
 * pickles, the session key, encrypt) and everyone's inbound sessions
 * (from an m.room_key or an export, decrypt, pickles), and the room
 * payloads: the m.room_key content, the m.room.encrypted content we
 * send, and reading and checking the ones we receive. The conventions of
 * crypto.c hold here: scratch copies for everything libolm destroys,
 * errors through crypto_fail.
 */
#include <stdlib.h>
#include <string.h>

#include <olm/olm.h>

#include "crypto_int.h"
#include "log.h"
#include "banned.h"

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

	return crypto_fail(what, olm_outbound_group_session_last_error_code(o),
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
	err = crypto_random_buf(rlen, &rnd);
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

	err = crypto_check_pickle_key(key, key_len);
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

	err = crypto_check_pickle_key(key, key_len);
	if (!err)
		err = crypto_b64_check(pickle, "megolm session pickle", &len);
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

	return crypto_fail(what, code, olm_inbound_group_session_last_error(o),
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

	err = crypto_b64_check(key, "megolm session key", &len);
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

	err = crypto_b64_check(ciphertext, "megolm message", &clen);
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

	err = crypto_check_pickle_key(key, key_len);
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

	err = crypto_check_pickle_key(key, key_len);
	if (!err)
		err = crypto_b64_check(pickle, "inbound megolm session pickle",
				       &len);
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
/* Megolm event payloads                                               */

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

	err = crypto_check_algorithm(content, CRYPTO_MEGOLM_ALGORITHM);
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
	err = crypto_parse_plaintext(text, len, "megolm plaintext", &root);
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
