/* SPDX-License-Identifier: MIT */
/*
 * e2ee.c - end-to-end encryption around the crypto module: opening it
 * (the pickle key file, the account), our device's keys on the server
 * (device, one-time and fallback keys, cross-signing), and what runs
 * after each batch. The rest is by concern: other users' device lists
 * in e2ee_devices.c, olm to-device traffic in e2ee_olm.c, megolm
 * decryption with replay checks, the queue for events whose key has not
 * arrived and the rooms' outbound sessions in e2ee_megolm.c, and the
 * encryption of the outbox in e2ee_outbox.c; e2ee_int.h is what they
 * share. e2ee.h is the contract; the README's "Encrypted rooms" states
 * the rules for users.
 *
 * The store is the truth for every session: each is written back,
 * pickled, in the transaction that advanced it, before anything derived
 * from it leaves the process. Memory only saves work: the account, a
 * bounded cache of opened inbound megolm sessions, each used only while
 * the store still holds the very pickle it was opened from (see
 * gin_open in e2ee_megolm.c), and the outbound sessions a worker thread
 * advances while it encrypts queued replies, stored only if the store
 * still holds the pickle each was opened from (see e2ee_outbox.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2ee_int.h"
#include "log.h"
#include "sbuf.h"
#include "banned.h"

#define OTK_TARGET 50                    /* one-time keys kept on the server */
#define QUEUE_DAYS 30 /* an undecryptable event waits this long */
#define PICKLE_KEY_MAX 4096

/*
 * Test hook: die by SIGKILL here when the environment variable
 * SCRIBE_TEST_CRASH names this point. tests/e2ee kills scribe at each
 * awkward moment (after making or uploading one-time keys, after
 * decrypting, after encrypting a room key or a reply) this way; unset,
 * it costs a getenv.
 */
void e2ee_crash_point(const char *name)
{
	const char *want = getenv("SCRIBE_TEST_CRASH");

	if (want && !strcmp(want, name))
		raise(SIGKILL);
}

/* Say why a homeserver call failed, once, and pass err on. */
sc_err e2ee_call_failed(struct e2ee *e, const char *what, sc_err err)
{
	if (err == SC_EMATRIX)
		log_warn("cannot %s: %s %s", what, e->mx->errcode,
			 e->mx->error);
	else if (err != SC_EINTR)
		log_warn("cannot %s: %s", what, sc_strerror(err));
	return err;
}

/* ---- the pickle key file ---- */

static sc_err make_key_file(const char *path)
{
	unsigned char raw[32];
	char hex[sizeof(raw) * 2 + 2];
	int fd;
	ssize_t w;
	sc_err err = crypto_random(raw, sizeof(raw));

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[sizeof(hex) - 2] = '\n';
	hex[sizeof(hex) - 1] = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		log_error("cannot create pickle key file '%s': %s", path,
			  strerror(errno));
		err = SC_EIO;
		goto out;
	}
	w = write(fd, hex, sizeof(hex) - 1);
	if (w != (ssize_t)(sizeof(hex) - 1) || fsync(fd) < 0) {
		log_error("cannot write pickle key file '%s': %s", path,
			  strerror(errno));
		err = SC_EIO;
	}
	close(fd);
	if (!err)
		log_info(
		    "created pickle key file '%s'; back it up with the store",
		    path);
out:
	memset(raw, 0, sizeof(raw));
	memset(hex, 0, sizeof(hex));
	return err;
}

/* Read the key (the file's first line, at least CRYPTO_PICKLE_KEY_MIN
 * bytes); create the file when missing and the store has no account. */
static sc_err load_key(struct e2ee *e, const char *path, int have_account)
{
	struct stat stt;
	char buf[PICKLE_KEY_MAX];
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY);
	sc_err err = SC_OK;

	if (fd < 0 && errno == ENOENT && !have_account) {
		err = make_key_file(path);
		if (err)
			return err;
		fd = open(path, O_RDONLY);
	}
	if (fd < 0) {
		log_error(
		    "cannot open pickle key file '%s': %s%s", path,
		    strerror(errno),
		    have_account
			? " (the store holds encryption keys that need it)"
			: "");
		return errno == ENOENT ? SC_ECONFIG : SC_EIO;
	}
	if (fstat(fd, &stt) == 0 && (stt.st_mode & 077))
		log_warn("'%s' can be read by other users; chmod 600 it", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		log_error("cannot read pickle key file '%s': %s", path,
			  strerror(errno));
		return SC_EIO;
	}
	buf[n] = 0;
	len = strcspn(buf, "\r\n");
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len < CRYPTO_PICKLE_KEY_MIN) {
		log_error("pickle key file '%s' holds fewer than %d bytes",
			  path, CRYPTO_PICKLE_KEY_MIN);
		err = SC_ECONFIG;
	} else {
		e->key = malloc(len + 1);
		if (!e->key) {
			err = SC_ENOMEM;
		} else {
			memcpy(e->key, buf, len);
			e->key[len] = 0;
			e->key_len = len;
		}
	}
	memset(buf, 0, sizeof(buf));
	return err;
}

/* ---- the account ---- */

sc_err e2ee_save_account(struct e2ee *e)
{
	char *p = NULL;
	sc_err err = crypto_account_pickle(e->acc, e->key, e->key_len, &p);

	if (!err)
		err = store_crypto_put(e->st, "account", p);
	free(p);
	return err;
}

/* End the transaction store_tx_begin opened: commit when err is SC_OK,
 * else (or when the commit fails) roll it back. Returns the outcome. */
sc_err e2ee_tx_end(struct e2ee *e, sc_err err)
{
	if (!err)
		err = store_tx_commit(e->st);
	if (err)
		store_tx_rollback(e->st);
	return err;
}

/* Run fn(e) in one store transaction. */
static sc_err in_tx(struct e2ee *e, sc_err (*fn)(struct e2ee *e))
{
	sc_err err = store_tx_begin(e->st);

	if (err)
		return err;
	return e2ee_tx_end(e, fn(e));
}

static sc_err save_new_fallback(struct e2ee *e)
{
	sc_err err = e2ee_save_account(e);

	if (!err)
		err = store_crypto_put(e->st, "keys.fallback", "1");
	return err;
}

static sc_err save_published(struct e2ee *e)
{
	sc_err err = e2ee_save_account(e);

	if (!err)
		err = store_crypto_put(e->st, "keys.device_uploaded", "1");
	return err;
}

/*
 * POST /keys/upload: device keys until the server has them, every
 * unpublished one-time and fallback key, after topping the one-time
 * keys up to OTK_TARGET when the server's count is known. New keys are
 * persisted before the upload and marked published after the 200.
 * Re-uploading identical keys after a crash is accepted by the server.
 */
static sc_err keys_upload(struct e2ee *e)
{
	json_t *body = json_object(), *otks = NULL, *fb = NULL, *resp = NULL;
	char *flag = NULL;
	struct sbuf path;
	size_t gen = 0;
	sc_err err;

	sbuf_init(&path, 0);
	if (!body) {
		err = SC_ENOMEM;
		goto out;
	}
	err = SC_OK;
	if (e->otk_count >= 0)
		err = crypto_account_generate_otks(e->acc, OTK_TARGET,
						   (size_t)e->otk_count, &gen);
	if (!err && gen) {
		err = e2ee_save_account(e);
		if (!err)
			e2ee_crash_point("otk-generated");
	}
	if (!err && e->need_fallback) {
		int had =
		    store_crypto_get(e->st, "keys.fallback", &flag) == SC_OK;
		err = crypto_account_generate_fallback(e->acc);
		if (!err)
			err = in_tx(e, save_new_fallback);
		if (!err) {
			e->need_fallback = 0;
			if (had)
				e->forget_fallback_at = now_ms() + HOUR_MS;
		}
	}
	if (err)
		goto out;
	free(flag);
	flag = NULL;
	if (store_crypto_get(e->st, "keys.device_uploaded", &flag) != SC_OK &&
	    json_object_set(body, "device_keys", e->device_keys)) {
		err = SC_ENOMEM;
		goto out;
	}
	err = crypto_account_one_time_keys(e->acc, e->user_id, e->device_id,
					   &otks);
	if (!err)
		err = crypto_account_fallback_keys(e->acc, e->user_id,
						   e->device_id, &fb);
	if (err)
		goto out;
	if ((json_object_size(otks) &&
	     json_object_set(body, "one_time_keys", otks)) ||
	    (json_object_size(fb) &&
	     json_object_set(body, "fallback_keys", fb))) {
		err = SC_ENOMEM;
		goto out;
	}
	if (!json_object_size(body) && e->otk_count >= 0)
		goto out; /* nothing new and the count is known */
	err = mx_path(&path, "/keys/upload");
	if (!err)
		err = mx_call_retry(e->mx, "POST", path.buf, body,
				    KEYS_TIMEOUT_MS, &resp);
	if (err) {
		e2ee_call_failed(e, "upload keys", err);
		goto out;
	}
	e2ee_crash_point("otk-uploaded");
	err = crypto_account_mark_published(e->acc);
	if (!err)
		err = in_tx(e, save_published);
	if (!err) {
		json_t *n = json_object_get(
		    json_object_get(resp, "one_time_key_counts"),
		    CRYPTO_OTK_ALGORITHM);
		e->otk_count =
		    json_is_integer(n) ? (long)json_integer_value(n) : 0;
		log_msg(json_object_size(body) ? LOG_INFO : LOG_DEBUG,
			"uploaded %zu one-time keys%s%s; the server holds %ld",
			json_object_size(otks),
			json_object_size(fb) ? ", a fallback key" : "",
			json_object_get(body, "device_keys") ? ", device keys"
							     : "",
			e->otk_count);
	}
out:
	free(flag);
	json_decref(body);
	json_decref(otks);
	json_decref(fb);
	json_decref(resp);
	sbuf_release(&path);
	return err;
}

/* method on the client-server path p (no arguments to encode) with
 * body, retrying transient failures; *out may be NULL. */
sc_err e2ee_post(struct e2ee *e, const char *method, const char *p,
		 json_t *body, json_t **out)
{
	struct sbuf path;
	sc_err err;

	sbuf_init(&path, 0);
	err = mx_path(&path, p);
	if (!err)
		err = mx_call_retry(e->mx, method, path.buf, body,
				    KEYS_TIMEOUT_MS, out);
	sbuf_release(&path);
	return err;
}

/* The master key the homeserver holds for our account, or NULL. */
static sc_err server_master_key(struct e2ee *e, char **out)
{
	json_t *body = json_pack("{s:{s:[]}}", "device_keys", e->user_id), *resp = NULL;
	json_t *keys;
	const char *k;
	json_t *v;
	sc_err err = body ? e2ee_post(e, "POST", "/keys/query", body, &resp) : SC_ENOMEM;

	*out = NULL;
	keys = json_object_get(json_object_get(json_object_get(resp, "master_keys"),
					       e->user_id), "keys");
	json_object_foreach(keys, k, v)
		if (!*out && json_string_value(v) && !(*out = strdup(json_string_value(v))))
			err = SC_ENOMEM;
	json_decref(body);
	json_decref(resp);
	return err;
}

/*
 * POST /keys/device_signing/upload. Synapse asks for user-interactive
 * auth: 1.67 always, current versions when the account has a master key
 * already (a new store, a reinstall). It is answered with the account
 * password (m.login.password) when scribe has it: `scribe login` always,
 * `scribe run` when [matrix] password_file is readable.
 */
static sc_err upload_signing_keys(struct e2ee *e, json_t *body)
{
	sc_err err = e2ee_post(e, "POST", "/keys/device_signing/upload", body,
			       NULL);
	json_t *auth;

	if (err != SC_EMATRIX || e->mx->status != 401 || !e->mx->uia_session[0])
		return err;
	if (!e->mx->uia_password) {
		log_warn("the homeserver wants interactive auth scribe cannot "
			 "give to publish cross-signing keys: %s", e->mx->error);
		return err;
	}
	if (!e->password) {
		log_warn("the homeserver wants the account password to publish "
			 "cross-signing keys: make [matrix] password_file readable "
			 "by `scribe run`, or run `scribe login --force` again");
		return err;
	}
	auth = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type", "m.login.password",
			 "identifier", "type", "m.id.user", "user", e->user_id,
			 "password", e->password, "session", e->mx->uia_session);
	if (!auth || json_object_set_new(body, "auth", auth))
		return SC_ENOMEM;
	err = e2ee_post(e, "POST", "/keys/device_signing/upload", body, NULL);
	json_object_del(body, "auth");
	if (err == SC_EMATRIX && e->mx->status == 401)
		log_warn("the homeserver refused the account password for the "
			 "cross-signing upload: %s %s", e->mx->errcode, e->mx->error);
	return err;
}

/*
 * Self cross-signing: master and self-signing keys (persisted before the
 * upload), then our device signed by the self-signing key. A server that
 * wants interactive auth scribe cannot give gets a warning, not a
 * failure: the bot works uncross-signed, and Element shows its replies
 * as from a device not verified by its owner (and, in its strict mode,
 * withholds room keys from it). An account whose master key this store
 * lacks (a new store, a reinstall) gets a new identity, which is said.
 */
static sc_err cross_sign(struct e2ee *e)
{
	struct crypto_xsign *x = NULL;
	json_t *body = NULL, *resp = NULL;
	char *p = NULL;
	sc_err err;

	if (store_crypto_get(e->st, "xsign.uploaded", &p) == SC_OK) {
		free(p);
		return SC_OK;
	}
	err = store_crypto_get(e->st, "xsign", &p);
	if (err == SC_ENOTFOUND) {
		err = crypto_xsign_new(&x);
		if (!err)
			err = crypto_xsign_pickle(x, e->key, e->key_len, &p);
		if (!err)
			err = store_crypto_put(e->st, "xsign", p);
	} else if (!err) {
		err = crypto_xsign_unpickle(p, e->key, e->key_len, &x);
	}
	free(p);
	if (err)
		goto out;
	err = server_master_key(e, &p);
	if (!err && p && strcmp(p, crypto_xsign_master(x)))
		log_warn("the account %s has a cross-signing identity (master key "
			 "%s) whose private keys this store does not hold (a new "
			 "store, or a reinstall); replacing it with %s: everyone "
			 "who verified scribe will see its identity changed and "
			 "must verify it again", e->user_id, p, crypto_xsign_master(x));
	free(p);
	p = NULL;
	if (err == SC_EMATRIX)
		err = SC_OK; /* the upload says what is wrong */
	if (!err)
		err = crypto_xsign_upload_body(x, e->user_id, &body);
	if (!err)
		err = upload_signing_keys(e, body);
	json_decref(body);
	body = NULL;
	if (!err)
		err = crypto_xsign_sign_device(x, e->device_keys, &body);
	if (!err)
		err = e2ee_post(e, "POST", "/keys/signatures/upload", body,
				&resp);
	if (!err && json_object_size(json_object_get(resp, "failures"))) {
		log_warn("the homeserver refused the signature of our device");
		goto out;
	}
	if (err) {
		e2ee_call_failed(e, "upload cross-signing keys (clients will "
				 "show this device as unverified)", err);
		err = fatal(err) ? err : SC_OK;
		goto out;
	}
	err = store_crypto_put(e->st, "xsign.uploaded", "1");
	if (!err)
		log_info("cross-signed device %s (master key %s)", e->device_id,
			 crypto_xsign_master(x));
out:
	json_decref(body);
	json_decref(resp);
	crypto_xsign_free(x);
	return err;
}

/* Load the account, or make and persist a new one for this device. */
static sc_err load_account(struct e2ee *e, const char *pickle)
{
	char *dev = NULL;
	sc_err err;

	if (!pickle) {
		err = crypto_account_new(&e->acc);
		if (!err)
			err = store_tx_begin(e->st);
		if (err)
			return err;
		err = e2ee_save_account(e);
		if (!err)
			err =
			    store_crypto_put(e->st, "device_id", e->device_id);
		err = e2ee_tx_end(e, err);
		if (!err)
			log_info("created encryption keys for device %s",
				 e->device_id);
		return err;
	}
	if (store_crypto_get(e->st, "device_id", &dev) == SC_OK &&
	    strcmp(dev, e->device_id) != 0) {
		log_error("the store's encryption keys belong to device %s, "
			  "but the access token is for device %s; log in "
			  "again reusing %s (scribe login --force)", dev,
			  e->device_id, dev);
		free(dev);
		return SC_ECONFIG;
	}
	free(dev);
	err = crypto_account_unpickle(pickle, e->key, e->key_len, &e->acc);
	if (err == SC_EAUTH) {
		err = SC_ECONFIG; /* SC_EAUTH would read as a refused token */
		log_error("the pickle key file '%s' does not open the stored "
			  "encryption keys; restore the right file (a new key "
			  "would mean a new device)", e->cfg->pickle_key_file);
	} else if (err) {
		log_error("the stored encryption account is corrupted");
	}
	return err;
}

sc_err e2ee_open(struct store *st, struct matrix *mx, const struct config *cfg,
		 const char *password, struct e2ee **out)
{
	struct e2ee *e = calloc(1, sizeof(*e));
	char *pickle = NULL, *flag = NULL;
	sc_err err;

	if (!e)
		return SC_ENOMEM;
	pthread_mutex_init(&e->enc_mu, NULL);
	pthread_cond_init(&e->enc_cv, NULL);
	e->st = st;
	e->mx = mx;
	e->cfg = cfg;
	e->password = password;
	e->user_id = mx->user_id;
	e->device_id = mx->device_id;
	e->otk_count = -1;
	e->wedged = json_object();
	if (!e->wedged || !e->user_id || !e->device_id) {
		err = e->wedged ? SC_EINVAL : SC_ENOMEM;
		goto fail;
	}
	err = store_crypto_get(st, "account", &pickle);
	if (err && err != SC_ENOTFOUND)
		goto fail;
	err = load_key(e, cfg->pickle_key_file, pickle != NULL);
	if (!err)
		err = load_account(e, pickle);
	free(pickle);
	if (!err)
		err = crypto_account_device_keys(e->acc, e->user_id,
						 e->device_id, &e->device_keys);
	if (err)
		goto fail;
	e->need_fallback =
	    store_crypto_get(st, "keys.fallback", &flag) != SC_OK;
	free(flag);
	/* the first upload learns the server's count, the second tops up */
	err = keys_upload(e);
	if (!err)
		err = keys_upload(e);
	if (!err)
		err = cross_sign(e);
	if (!err)
		err = store_user_track(st, e->user_id, 1);
	if (err)
		goto fail;
	log_info("encryption ready: device %s, ed25519 %s", e->device_id,
		 crypto_account_ed25519(e->acc));
	e->password = NULL; /* the caller wipes it */
	*out = e;
	return SC_OK;
fail:
	e2ee_close(e);
	return err;
}


void e2ee_close(struct e2ee *e)
{
	if (!e)
		return;
	e2ee_enc_stop(e);
	pthread_mutex_destroy(&e->enc_mu);
	pthread_cond_destroy(&e->enc_cv);
	crypto_account_free(e->acc);
	if (e->key) {
		memset(e->key, 0, e->key_len);
		free(e->key);
	}
	json_decref(e->device_keys);
	json_decref(e->wedged);
	for (size_t i = 0; i < GIN_CACHE; i++)
		e2ee_gin_slot_clear(&e->gins[i]);
	free(e);
}

/* ---- after the batch ---- */

sc_err e2ee_after_batch(struct e2ee *e, e2ee_retry_fn retry, void *ctx)
{
	sc_err err = SC_OK;

	if (e->otk_count < OTK_TARGET || e->need_fallback)
		err = keys_upload(e);
	if (!err && e->forget_fallback_at &&
	    now_ms() >= e->forget_fallback_at) {
		crypto_account_forget_old_fallback(e->acc);
		e->forget_fallback_at = 0;
		err = e2ee_save_account(e);
	}
	if (!err)
		err = e2ee_query_outdated(e);
	if (!err && json_object_size(e->wedged))
		err = e2ee_unwedge(e);
	if (err && !fatal(err))
		err = SC_OK; /* logged; tried again after the next batch */
	if (!err)
		err = store_undecrypted_prune(
		    e->st, now_ms() - QUEUE_DAYS * 24 * HOUR_MS);
	if (!err)
		err = e2ee_retry_queued(e, retry, ctx);
	return err;
}
