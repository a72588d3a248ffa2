/* SPDX-License-Identifier: MIT */
/*
 * e2ee.c - end-to-end encryption around the crypto module: device and
 * one-time keys on the server, cross-signing, device lists, olm to-device
 * traffic, megolm decryption with replay checks and a queue for events
 * whose key has not arrived, and encryption of the outbox. e2ee.h is the
 * contract; the README's "Encrypted rooms" states the rules for users.
 *
 * The store is the truth for every session: each is written back,
 * pickled, in the transaction that advanced it, before anything derived
 * from it leaves the process. Memory only saves work: the account, a
 * bounded cache of opened inbound megolm sessions, each used only while
 * the store still holds the very pickle it was opened from (see
 * gin_open), and the outbound sessions a worker thread advances while it
 * encrypts queued replies, stored only if the store still holds the
 * pickle each was opened from (see "megolm out").
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "e2ee.h"
#include "log.h"
#include "sbuf.h"
#include "store_crypto.h"
#include "banned.h"

#define OTK_TARGET 50                    /* one-time keys kept on the server */
#define HOUR_MS ((int64_t)3600 * 1000)
#define QUEUE_DAYS 30 /* an undecryptable event waits this long */
#define PICKLE_KEY_MAX 4096
#define KEYS_TIMEOUT_MS 30000
#define GIN_CACHE 256 /* opened inbound megolm sessions kept (~1 kB each) */

/*
 * An inbound megolm session opened from the pickle the store held for
 * (room, sid). libolm keeps the latest ratchet inside the object, so the
 * next message of the session decrypts without re-advancing from the
 * first known index. Decrypting never changes what the pickle stands
 * for (the first known index and its ratchet), so the object answers
 * exactly as a fresh unpickle of the same pickle would.
 */
struct enc_job;

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
	/* the outbox's encryption worker (see "megolm out") */
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

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void gin_slot_clear(struct gin_slot *sl)
{
	free(sl->room);
	free(sl->sid);
	free(sl->pickle);
	crypto_gin_free(sl->g);
	memset(sl, 0, sizeof(*sl));
}

/* Errors that must stop the bot (the store or the process is unwell);
 * everything else is logged and retried later. */
static int fatal(sc_err err)
{
	return err == SC_ESTORE || err == SC_EBUSY || err == SC_ENOMEM ||
	       err == SC_EINTR || err == SC_EAUTH || err == SC_EIO;
}

/*
 * Test hook: die by SIGKILL here when the environment variable
 * SCRIBE_TEST_CRASH names this point. tests/e2ee kills scribe at each
 * awkward moment (after making or uploading one-time keys, after
 * decrypting, after encrypting a room key or a reply) this way; unset,
 * it costs a getenv.
 */
static void crash_point(const char *name)
{
	const char *want = getenv("SCRIBE_TEST_CRASH");

	if (want && !strcmp(want, name))
		raise(SIGKILL);
}

/* Say why a homeserver call failed, once, and pass err on. */
static sc_err call_failed(struct e2ee *e, const char *what, sc_err err)
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

static sc_err save_account(struct e2ee *e)
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
static sc_err tx_end(struct e2ee *e, sc_err err)
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
	return tx_end(e, fn(e));
}

static sc_err save_new_fallback(struct e2ee *e)
{
	sc_err err = save_account(e);

	if (!err)
		err = store_crypto_put(e->st, "keys.fallback", "1");
	return err;
}

static sc_err save_published(struct e2ee *e)
{
	sc_err err = save_account(e);

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
		err = save_account(e);
		if (!err)
			crash_point("otk-generated");
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
		call_failed(e, "upload keys", err);
		goto out;
	}
	crash_point("otk-uploaded");
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
static sc_err post(struct e2ee *e, const char *method, const char *p,
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
	sc_err err = body ? post(e, "POST", "/keys/query", body, &resp) : SC_ENOMEM;

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
	sc_err err = post(e, "POST", "/keys/device_signing/upload", body, NULL);
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
	err = post(e, "POST", "/keys/device_signing/upload", body, NULL);
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
		err = post(e, "POST", "/keys/signatures/upload", body, &resp);
	if (!err && json_object_size(json_object_get(resp, "failures"))) {
		log_warn("the homeserver refused the signature of our device");
		goto out;
	}
	if (err) {
		call_failed(e, "upload cross-signing keys (clients will show "
			    "this device as unverified)", err);
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
		err = save_account(e);
		if (!err)
			err =
			    store_crypto_put(e->st, "device_id", e->device_id);
		err = tx_end(e, err);
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

static void enc_stop(struct e2ee *e);

void e2ee_close(struct e2ee *e)
{
	if (!e)
		return;
	enc_stop(e);
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
		gin_slot_clear(&e->gins[i]);
	free(e);
}

/* ---- device lists ---- */

static int add_device(const struct device_row *d, void *ctx)
{
	json_t *o = json_pack("{s:s, s:s, s:b}", "curve", d->curve25519,
			      "ed", d->ed25519, "xs", d->cross_signed);

	return !o || json_object_set_new(ctx, d->device_id, o);
}

/* A device from /keys/query with a valid self-signature: its keys, or
 * NULL with a log line. */
static int device_valid(const char *user, const char *dev, json_t *keys,
			const char **curve, const char **ed)
{
	json_t *k = json_object_get(keys, "keys");
	struct sbuf id;
	int ok = 0;

	sbuf_init(&id, 0);
	if (strcmp(jstr(keys, "user_id") ? jstr(keys, "user_id") : "", user) ||
	    strcmp(jstr(keys, "device_id") ? jstr(keys, "device_id") : "", dev))
		goto out;
	if (sbuf_printf(&id, "curve25519:%s", dev))
		goto out;
	*curve = jstr(k, id.buf);
	sbuf_setlen(&id, 0);
	if (sbuf_printf(&id, "ed25519:%s", dev))
		goto out;
	*ed = jstr(k, id.buf);
	ok = *curve && *ed &&
	     crypto_verify_signed_json(keys, user, id.buf, *ed) == SC_OK;
out:
	if (!ok)
		log_warn("ignoring device %s of %s: bad keys or self-signature",
			 dev, user);
	sbuf_release(&id);
	return ok;
}

/* The one ed25519 key of a cross-signing key object of user with the
 * given usage; NULL when the object is not that. Borrowed from key. */
static const char *xsign_key(json_t *key, const char *user, const char *usage)
{
	json_t *u, *keys = json_object_get(key, "keys"), *v;
	const char *id, *out = NULL;
	size_t i;
	int has = 0;

	if (strcmp(jstr(key, "user_id") ? jstr(key, "user_id") : "", user) ||
	    json_object_size(keys) != 1)
		return NULL;
	json_array_foreach(json_object_get(key, "usage"), i, u) has |=
	    json_is_string(u) && !strcmp(json_string_value(u), usage);
	json_object_foreach(keys, id, v) {
		if (has && !strncmp(id, "ed25519:", 8) && json_is_string(v) &&
		    !strcmp(id + 8, json_string_value(v)))
			out = json_string_value(v);
	}
	return out;
}

/* Whether obj carries a valid signature of user's ed25519 key pub
 * (a cross-signing key, named "ed25519:<pub>"). */
static int signed_by(json_t *obj, const char *user, const char *pub)
{
	struct sbuf id;
	int ok;

	sbuf_init(&id, 0);
	ok = !sbuf_printf(&id, "ed25519:%s", pub) &&
	     crypto_verify_signed_json(obj, user, id.buf, pub) == SC_OK;
	sbuf_release(&id);
	return ok;
}

/* user's self-signing key from a /keys/query answer when the master
 * key signed it, else NULL. Borrowed from resp. (The master key itself
 * is trusted on first use: scribe does not verify users.) */
static const char *self_signing_key(json_t *resp, const char *user)
{
	json_t *mk =
	    json_object_get(json_object_get(resp, "master_keys"), user);
	json_t *sk =
	    json_object_get(json_object_get(resp, "self_signing_keys"), user);
	const char *m = xsign_key(mk, user, "master");
	const char *s = xsign_key(sk, user, "self_signing");

	return m && s && signed_by(sk, user, m) ? s : NULL;
}

/* Apply the /keys/query answer for one user, in the open transaction.
 * ssk: the user's verified self-signing key, or NULL. */
static sc_err update_user(struct e2ee *e, const char *user, json_t *devs,
			  const char *ssk)
{
	json_t *old = json_object(), *v;
	const char *dev;
	sc_err err;

	if (!old)
		return SC_ENOMEM;
	err = store_devices(e->st, user, add_device, old);
	json_object_foreach(old, dev, v) {
		if (err || json_object_get(devs, dev))
			continue;
		log_info("device %s of %s is gone", dev, user);
		err = store_device_del(e->st, user, dev);
		if (!err)
			err = store_gout_del_device(e->st, user, dev);
	}
	json_object_foreach(devs, dev, v) {
		const char *curve = NULL, *ed = NULL;
		json_t *was = json_object_get(old, dev);
		struct device_row row = { user, dev, NULL, NULL, 0 };

		if (err)
			break;
		if (!strcmp(user, e->user_id) && !strcmp(dev, e->device_id))
			continue;
		if (!device_valid(user, dev, v, &curve, &ed))
			continue;
		if (was && strcmp(jstr(was, "ed"), ed)) {
			log_warn(
			    "device %s of %s changed its ed25519 key; ignoring "
			    "the new key",
			    dev, user);
			continue;
		}
		row.cross_signed = ssk && signed_by(v, user, ssk);
		if (was && !strcmp(jstr(was, "curve"), curve) &&
		    json_is_true(json_object_get(was, "xs")) ==
			row.cross_signed)
			continue;
		if (was)
			err = store_gout_del_device(e->st, user, dev);
		row.curve25519 = curve;
		row.ed25519 = ed;
		if (!err)
			err = store_device_put(e->st, &row);
	}
	if (!err)
		err = store_user_track(e->st, user, 0);
	json_decref(old);
	return err;
}

/* POST /keys/query for users (an array of user ids) and store the
 * verified devices. */
static sc_err query_users(struct e2ee *e, json_t *users)
{
	json_t *body =
	    json_pack("{s:{}, s:i}", "device_keys", "timeout", 10000);
	json_t *resp = NULL, *u;
	size_t i;
	sc_err err = body ? SC_OK : SC_ENOMEM;

	json_array_foreach(users, i, u) {
		if (!err &&
		    json_object_set_new(json_object_get(body, "device_keys"),
					json_string_value(u), json_array()))
			err = SC_ENOMEM;
	}
	if (!err)
		err = post(e, "POST", "/keys/query", body, &resp);
	if (err) {
		call_failed(e, "query device keys", err);
		goto out;
	}
	err = store_tx_begin(e->st);
	if (err)
		goto out;
	json_array_foreach(users, i, u) {
		json_t *devs = json_object_get(
		    json_object_get(resp, "device_keys"), json_string_value(u));
		if (!err && json_is_object(devs))
			err = update_user(
			    e, json_string_value(u), devs,
			    self_signing_key(resp, json_string_value(u)));
	}
	err = tx_end(e, err);
out:
	json_decref(body);
	json_decref(resp);
	return err;
}

static int add_str(const char *s, void *ctx)
{
	return json_array_append_new(ctx, json_string(s)) != 0;
}

static sc_err query_outdated(struct e2ee *e)
{
	json_t *users = json_array();
	sc_err err =
	    users ? store_users_outdated(e->st, add_str, users) : SC_ENOMEM;

	if (!err && json_array_size(users))
		err = query_users(e, users);
	json_decref(users);
	return err;
}

/* ---- olm ---- */

struct olm_try {
	struct e2ee *e;
	const char *sender_key, *body;
	int type;
	struct crypto_session *found;
	char *text;
	size_t len;
};

static int try_session(const struct olm_row *r, void *ctx)
{
	struct olm_try *t = ctx;
	struct crypto_session *s = NULL;
	bool match = true;

	if (crypto_session_unpickle(r->pickle, t->e->key, t->e->key_len, &s)) {
		log_warn("olm session %s does not unpickle; skipped",
			 r->session_id);
		return 0;
	}
	if (t->type == CRYPTO_OLM_PREKEY &&
	    (crypto_session_matches(s, t->sender_key, t->body, &match) ||
	     !match)) {
		crypto_session_free(s);
		return 0;
	}
	if (crypto_session_decrypt(s, t->type, t->body, &t->text, &t->len) ==
	    SC_OK) {
		t->found = s;
		return 1;
	}
	crypto_session_free(s);
	return 0;
}

struct dev_copy {
	char *user, *device, *ed, *curve;
};

static int copy_device(const struct device_row *d, void *ctx)
{
	struct dev_copy *c = ctx;

	c->user = strdup(d->user_id);
	c->device = strdup(d->device_id);
	c->ed = strdup(d->ed25519);
	c->curve = strdup(d->curve25519);
	return 1;
}

static void dev_copy_clear(struct dev_copy *c)
{
	free(c->user);
	free(c->device);
	free(c->ed);
	free(c->curve);
	memset(c, 0, sizeof(*c));
}

/* The device (of user) with identity key curve: SC_ENOTFOUND when we do
 * not know it, or it belongs to someone else. */
static sc_err device_for_key(struct e2ee *e, const char *user,
			     const char *curve, struct dev_copy *out)
{
	sc_err err = store_device_by_curve(e->st, curve, copy_device, out);

	if (!err && (!out->user || !out->device || !out->ed || !out->curve))
		err = SC_ENOMEM;
	if (!err && strcmp(out->user, user))
		err = SC_ENOTFOUND;
	if (err)
		dev_copy_clear(out);
	return err;
}

/* Follow user's device list and query it after the batch. */
static sc_err track_outdated(struct e2ee *e, const char *user)
{
	return store_user_track(e->st, user, 1);
}

/* An m.room_key from sender over the olm channel with sender_key. */
static sc_err room_key(struct e2ee *e, const char *sender,
		       const char *sender_key, json_t *pt)
{
	json_t *c = json_object_get(pt, "content");
	const char *alg = jstr(c, "algorithm"), *room = jstr(c, "room_id");
	const char *sid = jstr(c, "session_id"), *skey = jstr(c, "session_key");
	struct crypto_gin *g = NULL;
	struct gin_row old, row;
	char *pickle = NULL;
	sc_err err;

	if (!alg || strcmp(alg, CRYPTO_MEGOLM_ALGORITHM) || !room || !sid ||
	    !skey) {
		log_warn(
		    "refused room key from %s: unknown algorithm or missing "
		    "fields",
		    sender);
		return SC_OK;
	}
	if (crypto_gin_new(skey, sid, &g)) {
		log_warn("refused room key from %s for %s: malformed key",
			 sender, room);
		return SC_OK;
	}
	err = store_gin_get(e->st, room, sid, &old);
	if (!err) {
		int keep = strcmp(old.sender_key, sender_key) ||
			   old.first_index <= crypto_gin_first_index(g);
		if (strcmp(old.sender_key, sender_key))
			log_warn(
			    "refused room key %s for %s from %s: the session "
			    "belongs to another device",
			    sid, room, sender);
		gin_row_clear(&old);
		if (keep)
			goto out;
	} else if (err != SC_ENOTFOUND) {
		goto out;
	}
	err = crypto_gin_pickle(g, e->key, e->key_len, &pickle);
	if (err)
		goto out;
	row.room_id = (char *)room;
	row.session_id = (char *)sid;
	row.sender_key = (char *)sender_key;
	row.sender_user = (char *)sender;
	row.ed25519 = (char *)jstr(json_object_get(pt, "keys"), "ed25519");
	row.pickle = pickle;
	row.first_index = crypto_gin_first_index(g);
	err = store_gin_put(e->st, &row);
	if (!err)
		log_info("received room key for %s from %s (session %s)", room,
			 sender, sid);
out:
	free(pickle);
	crypto_gin_free(g);
	return err;
}

/* Persist what one decrypted olm message changed, and act on it. */
struct olm_done {
	struct crypto_session *s;
	int fresh;
	const char *sender, *sender_key;
	json_t *pt;
};

static sc_err olm_commit(struct e2ee *e, struct olm_done *d)
{
	const char *type = jstr(d->pt, "type");
	char *pickle = NULL;
	sc_err err = store_tx_begin(e->st);

	if (err)
		return err;
	if (d->fresh) {
		err = crypto_account_remove_otks(e->acc, d->s);
		if (err == SC_ENOTFOUND)
			err = SC_OK;
		if (!err)
			err = save_account(e);
	}
	if (!err)
		err = crypto_session_pickle(d->s, e->key, e->key_len, &pickle);
	if (!err)
		err = store_olm_put(e->st, crypto_session_id(d->s),
				    d->sender_key, pickle, now_ms());
	if (!err && !strcmp(type, "m.room_key"))
		err = room_key(e, d->sender, d->sender_key, d->pt);
	else if (!err)
		log_debug("olm %s from %s", type, d->sender);
	err = tx_end(e, err);
	free(pickle);
	return err;
}

/* A to-device m.room.encrypted: decrypt with a known session or a new
 * inbound one, check who sent it, persist and handle the payload. */
static sc_err olm_event(struct e2ee *e, json_t *ev)
{
	const char *sender = jstr(ev, "sender");
	struct olm_try t = { e, NULL, NULL, 0, NULL, NULL, 0 };
	struct olm_done d = { NULL, 0, sender, NULL, NULL };
	struct dev_copy dev = { NULL, NULL, NULL, NULL };
	sc_err err;

	if (!sender)
		return SC_OK;
	err = crypto_olm_ciphertext(json_object_get(ev, "content"),
				    crypto_account_curve25519(e->acc),
				    &t.sender_key, &t.type, &t.body);
	if (err) {
		if (err == SC_ENOTFOUND)
			log_debug("olm message from %s is not for this device",
				  sender);
		else
			log_warn(
			    "refused to-device message from %s: malformed or "
			    "unknown algorithm",
			    sender);
		return SC_OK;
	}
	err = store_olm_sessions(e->st, t.sender_key, try_session, &t);
	if (err)
		return err;
	if (!t.found && t.type == CRYPTO_OLM_PREKEY) {
		if (crypto_session_new_inbound(e->acc, t.sender_key, t.body,
					       &t.found)) {
			log_warn("refused olm pre-key message from %s: unknown "
				 "one-time "
				 "key or garbage",
				 sender);
			return SC_OK;
		}
		if (crypto_session_decrypt(t.found, t.type, t.body, &t.text,
					   &t.len)) {
			log_warn("cannot decrypt olm pre-key message from %s",
				 sender);
			crypto_session_free(t.found);
			return SC_OK;
		}
		d.fresh = 1;
	} else if (!t.found) {
		log_warn(
		    "cannot decrypt olm message from %s: no session matches; "
		    "starting a new one",
		    sender);
		if (json_object_set_new(e->wedged, t.sender_key,
					json_string(sender)))
			return SC_ENOMEM;
		return track_outdated(e, sender);
	}
	err = device_for_key(e, sender, t.sender_key, &dev);
	if (err == SC_ENOTFOUND) /* keys.ed25519 unverified until queried */
		err = track_outdated(e, sender);
	if (err)
		goto out;
	if (crypto_olm_check_plaintext(e->acc, t.text, t.len, sender,
				       e->user_id, dev.ed, &d.pt)) {
		log_warn(
		    "refused olm message from %s: sender, recipient or keys "
		    "do not match, or not JSON",
		    sender);
		goto out;
	}
	d.s = t.found;
	d.sender_key = t.sender_key;
	crash_point("olm-decrypted");
	err = olm_commit(e, &d);
out:
	json_decref(d.pt);
	crypto_session_free(t.found);
	crypto_free_secret(t.text);
	dev_copy_clear(&dev);
	return err;
}

sc_err e2ee_sync_begin(struct e2ee *e, json_t *sync)
{
	json_t *events =
	    json_object_get(json_object_get(sync, "to_device"), "events");
	json_t *lists = json_object_get(sync, "device_lists");
	json_t *counts = json_object_get(sync, "device_one_time_keys_count");
	json_t *fb = json_object_get(sync, "device_unused_fallback_key_types");
	json_t *ev, *u;
	size_t i;
	sc_err err = SC_OK;

	json_array_foreach(events, i, ev) {
		const char *type = jstr(ev, "type");
		json_t *c = json_object_get(ev, "content");

		if (!type)
			continue;
		if (!strcmp(type, "m.room.encrypted")) {
			err = olm_event(e, ev);
			if (err)
				return err;
		} else if (!strcmp(type, "m.room_key.withheld")) {
			/* the sender's client will not let scribe read that
			 * session: the operator must hear why */
			log_warn("room key withheld by %s for %s (session %s): %s%s%s%s",
				 jstr(ev, "sender"),
				 jstr(c, "room_id") ? jstr(c, "room_id") : "?",
				 jstr(c, "session_id") ? jstr(c, "session_id") : "?",
				 jstr(c, "code") ? jstr(c, "code") : "?",
				 jstr(c, "reason") ? " (" : "",
				 jstr(c, "reason") ? jstr(c, "reason") : "",
				 jstr(c, "reason") ? ")" : "");
		}
	}
	json_array_foreach(json_object_get(lists, "changed"), i, u) {
		if (!err && json_is_string(u))
			err = store_user_outdate(e->st, json_string_value(u));
	}
	json_array_foreach(json_object_get(lists, "left"), i, u) {
		if (!err && json_is_string(u))
			err = store_user_outdate(e->st, json_string_value(u));
	}
	if (json_is_object(counts)) {
		json_t *n = json_object_get(counts, CRYPTO_OTK_ALGORITHM);
		e->otk_count =
		    json_is_integer(n) ? (long)json_integer_value(n) : 0;
	}
	if (json_is_array(fb)) {
		int have = 0;
		json_array_foreach(fb, i, u) have |=
		    !strcmp(json_string_value(u) ? json_string_value(u) : "",
			    CRYPTO_OTK_ALGORITHM);
		if (!have)
			e->need_fallback = 1;
	}
	return err;
}

/* ---- megolm in ---- */

/*
 * The inbound session of row (just read from the store), borrowed from
 * the cache: the slot of (room, sid) when it was opened from the same
 * pickle, else a fresh unpickle that takes the slot (or the least
 * recently used one). Comparing pickles makes any change of the row
 * (an earlier key replacing it, a rolled-back transaction) reopen it.
 */
static sc_err gin_open(struct e2ee *e, const struct gin_row *row,
		       struct crypto_gin **out)
{
	struct gin_slot *sl = NULL, fresh;
	sc_err err;

	for (size_t i = 0; i < GIN_CACHE && !sl; i++) {
		struct gin_slot *c = &e->gins[i];

		if (c->g && !strcmp(c->sid, row->session_id) &&
		    !strcmp(c->room, row->room_id))
			sl = c;
	}
	if (sl && !strcmp(sl->pickle, row->pickle))
		goto hit;
	for (size_t i = 0; i < GIN_CACHE && !sl; i++) {
		struct gin_slot *c = &e->gins[i];

		if (!sl || !c->g || c->used < sl->used)
			sl = c;
		if (!c->g)
			break;
	}
	memset(&fresh, 0, sizeof(fresh));
	err = crypto_gin_unpickle(row->pickle, e->key, e->key_len, &fresh.g);
	if (err)
		return err;
	fresh.room = strdup(row->room_id);
	fresh.sid = strdup(row->session_id);
	fresh.pickle = strdup(row->pickle);
	if (!fresh.room || !fresh.sid || !fresh.pickle) {
		gin_slot_clear(&fresh);
		return SC_ENOMEM;
	}
	gin_slot_clear(sl);
	*sl = fresh;
hit:
	sl->used = ++e->tick;
	*out = sl->g;
	return SC_OK;
}

static sc_err queue_event(struct e2ee *e, const char *room, const char *sid,
			  json_t *ev)
{
	char *text = json_dumps(ev, JSON_COMPACT);
	sc_err err;

	if (!text)
		return SC_ENOMEM;
	err = store_undecrypted_add(e->st, jstr(ev, "event_id"), room, sid,
				    text, now_ms());
	free(text);
	if (!err)
		log_info("no key yet for event %s in %s (session %s); queued",
			 jstr(ev, "event_id"), room, sid);
	return err ? err : SC_ENOTFOUND;
}

/* e2ee_decrypt; a retry from the queue (queued) is not queued again
 * when its key is still too new. */
static sc_err decrypt(struct e2ee *e, const char *room_id, json_t *ev,
		      json_t **plain, int queued)
{
	json_t *content = json_object_get(ev, "content"), *pt = NULL, *out;
	const char *sid, *skey, *ct, *sender = jstr(ev, "sender");
	const char *event_id = jstr(ev, "event_id");
	struct crypto_gin *g = NULL; /* borrowed from the cache */
	struct gin_row row;
	uint32_t index;
	sc_err err;

	if (!sender || !event_id)
		return SC_EINVAL;
	if (crypto_megolm_ciphertext(content, &sid, &skey, &ct)) {
		log_warn(
		    "refused event %s in %s: malformed or unknown algorithm",
		    event_id, room_id);
		return SC_EINVAL;
	}
	memset(&row, 0, sizeof(row));
	err = store_gin_get(e->st, room_id, sid, &row);
	if (err == SC_ENOTFOUND)
		return queued ? err : queue_event(e, room_id, sid, ev);
	if (err)
		return err;
	if (strcmp(row.sender_user, sender) ||
	    (skey && strcmp(skey, row.sender_key))) {
		log_warn("refused event %s in %s: sent by %s but its session "
			 "belongs to %s (forged sender)", event_id, room_id,
			 sender, row.sender_user);
		err = SC_ECRYPTO;
		goto out;
	}
	err = gin_open(e, &row, &g);
	if (!err)
		err = crypto_megolm_decrypt_event(g, room_id, content, &pt,
						  &index);
	if (err == SC_ENOTFOUND) {
		err = queued ? err : queue_event(e, room_id, sid, ev);
		goto out;
	}
	if (err) {
		if (!fatal(err))
			log_warn("refused event %s in %s: cannot decrypt (%s)",
				 event_id, room_id, sc_strerror(err));
		goto out;
	}
	err = store_gin_seen(e->st, room_id, sid, index, event_id);
	if (err == SC_EEXISTS) {
		log_warn("refused event %s in %s: replayed ciphertext (%s)",
			 event_id, room_id, store_errmsg(e->st));
		err = SC_ECRYPTO;
		goto out;
	}
	if (err)
		goto out;
	out = json_copy(ev);
	if (!out || json_object_set(out, "type", json_object_get(pt, "type")) ||
	    json_object_set(out, "content", json_object_get(pt, "content"))) {
		json_decref(out);
		err = SC_ENOMEM;
		goto out;
	}
	*plain = out;
out:
	json_decref(pt);
	gin_row_clear(&row);
	return err;
}

sc_err e2ee_decrypt(struct e2ee *e, const char *room_id, json_t *ev,
		    json_t **plain)
{
	return decrypt(e, room_id, ev, plain, 0);
}

/* ---- olm out: sessions, claims, to-device sends ---- */

/* PUT /sendToDevice/type/<random txn> with {messages: msgs}. */
static sc_err send_to_device(struct e2ee *e, const char *type, json_t *msgs)
{
	json_t *body = json_pack("{s:O}", "messages", msgs);
	unsigned char rnd[12];
	struct sbuf path;
	sc_err err = body ? crypto_random(rnd, sizeof(rnd)) : SC_ENOMEM;

	sbuf_init(&path, 0);
	if (!err)
		err = mx_path(&path, "/sendToDevice/%s/", type);
	for (size_t i = 0; i < sizeof(rnd) && !err; i++)
		err = sbuf_printf(&path, "%02x", rnd[i]);
	if (!err)
		err = mx_call_retry(e->mx, "PUT", path.buf, body,
				    KEYS_TIMEOUT_MS, NULL);
	if (err)
		call_failed(e, "send to-device messages", err);
	json_decref(body);
	sbuf_release(&path);
	return err;
}

/* msgs[user][device] = v (a borrowed value, referenced). */
static sc_err msgs_set(json_t *msgs, const char *user, const char *device,
		       json_t *v)
{
	json_t *u = json_object_get(msgs, user);

	if (!u && json_object_set_new(msgs, user, json_object()))
		return SC_ENOMEM;
	u = json_object_get(msgs, user);
	return !u || json_object_set(u, device, v) ? SC_ENOMEM : SC_OK;
}

struct find_ctx {
	struct e2ee *e;
	struct crypto_session *s;
};

static int newest_session(const struct olm_row *r, void *ctx)
{
	struct find_ctx *f = ctx;

	if (crypto_session_unpickle(r->pickle, f->e->key, f->e->key_len, &f->s))
		f->s = NULL;
	return f->s != NULL;
}

/* Give every target without one (all when fresh) a new outbound olm
 * session from a claimed one-time key. */
static sc_err claim_sessions(struct e2ee *e, struct target *t, size_t n,
			     int fresh)
{
	json_t *want = json_object(), *body = NULL, *resp = NULL, *otks;
	json_t *alg = json_string(CRYPTO_OTK_ALGORITHM);
	sc_err err = want && alg ? SC_OK : SC_ENOMEM;

	for (size_t i = 0; i < n && !err; i++) {
		if (!fresh) {
			struct find_ctx f = { e, NULL };
			err = store_olm_sessions(e->st, t[i].curve,
						 newest_session, &f);
			t[i].s = f.s;
		}
		if (!err && !t[i].s)
			err = msgs_set(want, t[i].user, t[i].device, alg);
	}
	if (err || !json_object_size(want))
		goto out;
	body = json_pack("{s:O, s:i}", "one_time_keys", want, "timeout", 10000);
	err = body ? post(e, "POST", "/keys/claim", body, &resp) : SC_ENOMEM;
	if (err) {
		call_failed(e, "claim one-time keys", err);
		goto out;
	}
	otks = json_object_get(resp, "one_time_keys");
	for (size_t i = 0; i < n; i++) {
		json_t *keys = json_object_get(json_object_get(otks, t[i].user),
					       t[i].device), *k;
		const char *id;

		if (t[i].s)
			continue;
		json_object_foreach(keys, id, k) {
			if (strncmp(id, CRYPTO_OTK_ALGORITHM ":",
				    strlen(CRYPTO_OTK_ALGORITHM) + 1))
				continue;
			if (crypto_session_new_outbound(e->acc, k, t[i].user,
							t[i].device, t[i].ed,
							t[i].curve, &t[i].s))
				log_warn(
				    "one-time key of device %s of %s has a bad "
				    "signature; not used",
				    t[i].device, t[i].user);
			break;
		}
		if (!t[i].s)
			log_warn("no usable one-time key for device %s of %s",
				 t[i].device, t[i].user);
	}
out:
	json_decref(want);
	json_decref(alg);
	json_decref(body);
	json_decref(resp);
	return err;
}

/*
 * Olm-encrypt one event (type, content) to every target and send all of
 * them in one PUT /sendToDevice; t[i].sent says who got it. Sessions are
 * persisted, advanced, before the send.
 */
static sc_err olm_send(struct e2ee *e, struct target *t, size_t n,
		       const char *type, json_t *content, int fresh)
{
	json_t *msgs = json_object();
	size_t count = 0;
	sc_err err = msgs ? claim_sessions(e, t, n, fresh) : SC_ENOMEM;

	if (!err)
		err = store_tx_begin(e->st);
	if (err)
		goto out;
	for (size_t i = 0; i < n && !err; i++) {
		json_t *pt = NULL, *enc = NULL;
		char *pickle = NULL;

		if (!t[i].s)
			continue;
		err =
		    crypto_olm_plaintext(e->acc, type, content, e->user_id,
					 e->device_id, t[i].user, t[i].ed, &pt);
		/* MSC4147, as current clients send: the recipient learns our
		 * signed device keys even before it has queried them */
		if (!err && json_object_set(pt, "sender_device_keys", e->device_keys))
			err = SC_ENOMEM;
		if (!err)
			err = crypto_olm_encrypt_event(e->acc, t[i].s,
						       t[i].curve, pt, &enc);
		if (!err)
			err = crypto_session_pickle(t[i].s, e->key, e->key_len,
						    &pickle);
		if (!err)
			err = store_olm_put(e->st, crypto_session_id(t[i].s),
					    t[i].curve, pickle, now_ms());
		if (!err)
			err = msgs_set(msgs, t[i].user, t[i].device, enc);
		count += !err;
		json_decref(pt);
		json_decref(enc);
		free(pickle);
	}
	err = tx_end(e, err);
	if (err || !count)
		goto out;
	crash_point("olm-encrypted");
	err = send_to_device(e, "m.room.encrypted", msgs);
	for (size_t i = 0; i < n && !err; i++)
		t[i].sent = t[i].s != NULL;
out:
	json_decref(msgs);
	return err;
}

static void targets_free(struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		crypto_session_free(t[i].s);
	free(t);
}

/* Targets from an array of {user, device, curve, ed} objects. */
static struct target *targets_of(json_t *arr)
{
	struct target *t = calloc(json_array_size(arr) + 1, sizeof(*t));
	json_t *d;
	size_t i;

	if (!t)
		return NULL;
	json_array_foreach(arr, i, d) {
		t[i].user = jstr(d, "user");
		t[i].device = jstr(d, "device");
		t[i].curve = jstr(d, "curve");
		t[i].ed = jstr(d, "ed");
	}
	return t;
}

/* Wedged sessions: a fresh olm session and an m.dummy, at most once an
 * hour per device. */
static sc_err unwedge(struct e2ee *e)
{
	const char *curve;
	json_t *user, *arr = json_array(), *content = json_object();
	struct target *t = NULL;
	sc_err err = arr && content ? SC_OK : SC_ENOMEM;

	json_object_foreach(e->wedged, curve, user) {
		struct dev_copy dev = { NULL, NULL, NULL, NULL };
		int64_t created;
		sc_err r;

		if (err)
			break;
		r = store_olm_newest(e->st, curve, &created);
		if (r == SC_OK && now_ms() - created < HOUR_MS)
			continue;
		r = device_for_key(e, json_string_value(user), curve, &dev);
		if (r == SC_ENOTFOUND) {
			log_warn("cannot unwedge the session with %s: unknown "
				 "device",
				 json_string_value(user));
			continue;
		}
		if (r) {
			err = r;
			break;
		}
		if (json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s}", "user", dev.user,
				       "device", dev.device, "curve", dev.curve,
				       "ed", dev.ed)))
			err = SC_ENOMEM;
		dev_copy_clear(&dev);
	}
	json_object_clear(e->wedged);
	if (!err && json_array_size(arr)) {
		t = targets_of(arr);
		err = t ? olm_send(e, t, json_array_size(arr), "m.dummy",
				   content, 1)
			: SC_ENOMEM;
		if (!err)
			log_info("sent m.dummy on %zu new olm sessions",
				 json_array_size(arr));
	}
	if (t)
		targets_free(t, json_array_size(arr));
	json_decref(arr);
	json_decref(content);
	return err;
}

/* ---- after the batch ---- */

static int collect_ready(const char *room, const char *event, void *ctx)
{
	json_t *o = json_pack("{s:s, s:s}", "room", room, "event", event);

	return !o || json_array_append_new(ctx, o);
}

/* Queued events whose key arrived: decrypt and hand to retry, each in
 * its own transaction with the removal from the queue. */
static sc_err retry_queued(struct e2ee *e, e2ee_retry_fn retry, void *ctx)
{
	json_t *list = json_array(), *item;
	size_t i;
	sc_err err = list ? store_undecrypted_ready(e->st, collect_ready, list)
			  : SC_ENOMEM;

	json_array_foreach(list, i, item) {
		/* stored by json_dumps: a NUL in it is "\u0000" */
		json_t *ev = json_loads(jstr(item, "event"), JSON_ALLOW_NUL, NULL),
		       *plain = NULL;
		const char *room = jstr(item, "room");
		sc_err r;

		if (err)
			break;
		if (!ev)
			continue;
		err = store_tx_begin(e->st);
		if (err) {
			json_decref(ev);
			break;
		}
		r = decrypt(e, room, ev, &plain, 1);
		if (r == SC_OK)
			r = retry(room, plain, ctx);
		if (r == SC_ENOTFOUND || fatal(r)) {
			store_tx_rollback(e->st);
			err = fatal(r) ? r : SC_OK;
		} else {
			err =
			    store_undecrypted_del(e->st, jstr(ev, "event_id"));
			err = tx_end(e, err);
		}
		json_decref(plain);
		json_decref(ev);
	}
	json_decref(list);
	return err;
}

sc_err e2ee_after_batch(struct e2ee *e, e2ee_retry_fn retry, void *ctx)
{
	sc_err err = SC_OK;

	if (e->otk_count < OTK_TARGET || e->need_fallback)
		err = keys_upload(e);
	if (!err && e->forget_fallback_at &&
	    now_ms() >= e->forget_fallback_at) {
		crypto_account_forget_old_fallback(e->acc);
		e->forget_fallback_at = 0;
		err = save_account(e);
	}
	if (!err)
		err = query_outdated(e);
	if (!err && json_object_size(e->wedged))
		err = unwedge(e);
	if (err && !fatal(err))
		err = SC_OK; /* logged; tried again after the next batch */
	if (!err)
		err = store_undecrypted_prune(
		    e->st, now_ms() - QUEUE_DAYS * 24 * HOUR_MS);
	if (!err)
		err = retry_queued(e, retry, ctx);
	return err;
}

/* ---- megolm out ---- */

/* Rotation limits of a new session: the config's, tightened by the
 * room's m.room.encryption content. */
static void rotation_limits(struct e2ee *e, const char *room,
			    struct gout_row *row)
{
	struct sbuf path;
	json_t *c = NULL, *v;

	row->max_msgs = e->cfg->rotation_period_msgs;
	row->max_age_ms = e->cfg->rotation_period_ms;
	sbuf_init(&path, 0);
	if (!mx_path(&path, "/rooms/%s/state/m.room.encryption/", room) &&
	    !mx_call(e->mx, "GET", path.buf, NULL, KEYS_TIMEOUT_MS, &c)) {
		v = json_object_get(c, "rotation_period_msgs");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) < row->max_msgs)
			row->max_msgs = json_integer_value(v);
		v = json_object_get(c, "rotation_period_ms");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) < row->max_age_ms)
			row->max_age_ms = json_integer_value(v);
	}
	json_decref(c);
	sbuf_release(&path);
}

/* A new outbound session for room, persisted with our inbound copy. */
static sc_err new_gout(struct e2ee *e, const char *room, struct crypto_gout **g,
		       struct gout_row *row)
{
	struct crypto_gin *in = NULL;
	struct gin_row gin;
	char *key = NULL, *inp = NULL;
	sc_err err = crypto_gout_new(g);

	memset(row, 0, sizeof(*row));
	memset(&gin, 0, sizeof(gin));
	if (err)
		return err;
	rotation_limits(e, room, row);
	row->room_id = strdup(room);
	row->session_id = strdup(crypto_gout_id(*g));
	row->created = now_ms();
	if (!row->room_id || !row->session_id)
		err = SC_ENOMEM;
	if (!err)
		err = crypto_gout_pickle(*g, e->key, e->key_len, &row->pickle);
	if (!err)
		err = crypto_gout_key(*g, &key);
	if (!err)
		err = crypto_gin_new(key, row->session_id, &in);
	if (!err)
		err = crypto_gin_pickle(in, e->key, e->key_len, &inp);
	gin.room_id = row->room_id;
	gin.session_id = row->session_id;
	gin.sender_key = (char *)crypto_account_curve25519(e->acc);
	gin.sender_user = (char *)e->user_id;
	gin.ed25519 = (char *)crypto_account_ed25519(e->acc);
	gin.pickle = inp;
	if (!err)
		err = store_tx_begin(e->st);
	if (!err) {
		err = store_gout_put(e->st, row);
		if (!err)
			err = store_gin_put(e->st, &gin);
		err = tx_end(e, err);
	}
	if (!err)
		log_info("new outbound session %s for %s", row->session_id,
			 room);
	crypto_free_secret(key);
	free(inp);
	crypto_gin_free(in);
	if (err) {
		crypto_gout_free(*g);
		*g = NULL;
		gout_row_clear(row);
	}
	return err;
}

static int add_member(const struct member *m, void *ctx)
{
	return json_array_append_new(ctx, json_string(m->user_id)) != 0;
}

struct need_ctx {
	struct e2ee *e;
	const char *room, *sid;
	json_t *need;       /* devices to send the key to */
	json_t *withhold;   /* devices the trust policy excludes */
	sc_err err;
};

static int need_device(const struct device_row *d, void *ctx)
{
	struct need_ctx *n = ctx;
	int shared = 0;

	n->err = store_gout_is_shared(n->e->st, n->room, n->sid, d->user_id,
				      d->device_id, &shared);
	if (!n->err && !shared &&
	    json_array_append_new(n->e->cfg->trust == TRUST_CROSS_SIGNED &&
				  !d->cross_signed ? n->withhold : n->need,
				  json_pack("{s:s, s:s, s:s, s:s}",
					    "user", d->user_id,
					    "device", d->device_id,
					    "curve", d->curve25519,
					    "ed", d->ed25519)))
		n->err = SC_ENOMEM;
	return n->err != SC_OK;
}

/* Record that every device in devs (array of {user, device}) got, or
 * was refused, the key of sid. */
static sc_err mark_shared(struct e2ee *e, const char *room, const char *sid,
			  json_t *devs)
{
	json_t *d;
	size_t i;
	sc_err err = store_tx_begin(e->st);

	if (err)
		return err;
	json_array_foreach(devs, i, d) {
		if (!err)
			err =
			    store_gout_shared(e->st, room, sid, jstr(d, "user"),
					      jstr(d, "device"));
	}
	return tx_end(e, err);
}

/* Tell devices the trust policy excludes that they will not get the key
 * (m.room_key.withheld, code m.unverified), once per session. */
static sc_err withhold(struct e2ee *e, const char *room, const char *sid,
		       json_t *devs)
{
	json_t *msgs = json_object(), *d;
	json_t *c =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "algorithm",
		      CRYPTO_MEGOLM_ALGORITHM, "room_id", room, "session_id",
		      sid, "sender_key", crypto_account_curve25519(e->acc),
		      "code", "m.unverified", "reason",
		      "scribe shares room keys with cross-signed devices only");
	size_t i;
	sc_err err = msgs && c ? SC_OK : SC_ENOMEM;

	json_array_foreach(devs, i, d) {
		if (!err)
			err = msgs_set(msgs, jstr(d, "user"), jstr(d, "device"),
				       c);
	}
	if (!err)
		err = send_to_device(e, "m.room_key.withheld", msgs);
	if (!err)
		err = mark_shared(e, room, sid, devs);
	if (!err)
		log_info("withheld the key of %s from %zu devices that are not "
			 "cross-signed", room, json_array_size(devs));
	json_decref(msgs);
	json_decref(c);
	return err;
}

/* Send the room key of g to every member device that lacks it. */
static sc_err share_gout(struct e2ee *e, const char *room,
			 struct crypto_gout *g, json_t *members)
{
	struct need_ctx n = {
	    e, room, crypto_gout_id(g), json_array(), json_array(), SC_OK};
	struct target *t = NULL;
	json_t *u, *content = NULL, *sent = json_array();
	size_t i, nt;
	sc_err err = n.need && n.withhold && sent ? SC_OK : SC_ENOMEM;

	json_array_foreach(members, i, u) {
		if (!err)
			err = store_devices(e->st, json_string_value(u),
					    need_device, &n);
		if (!err)
			err = n.err;
	}
	if (!err && json_array_size(n.withhold))
		err = withhold(e, room, n.sid, n.withhold);
	nt = json_array_size(n.need);
	if (err || !nt)
		goto out;
	t = targets_of(n.need);
	err = t ? crypto_room_key_content(g, room, &content) : SC_ENOMEM;
	if (!err)
		err = olm_send(e, t, nt, "m.room_key", content, 0);
	for (i = 0; i < nt && !err; i++) {
		if (!t[i].sent)
			log_warn("device %s of %s did not get the key of %s",
				 t[i].device, t[i].user, room);
		else if (json_array_append(sent, json_array_get(n.need, i)))
			err = SC_ENOMEM;
	}
	if (!err)
		err = mark_shared(e, room, n.sid, sent);
	if (!err && json_array_size(sent))
		log_info("shared session %s of %s with %zu devices", n.sid,
			 room, json_array_size(sent));
out:
	json_decref(content);
	if (t)
		targets_free(t, nt);
	json_decref(n.need);
	json_decref(n.withhold);
	json_decref(sent);
	return err;
}

/*
 * The room's outbound session, ready to encrypt: members' device lists
 * fresh, rotated when due, shared with every member device.
 */
static sc_err room_gout(struct e2ee *e, const char *room,
			struct crypto_gout **g, struct gout_row *row)
{
	json_t *members = json_array(), *stale = json_array(), *u;
	size_t i;
	sc_err err = members && stale
			 ? store_members(e->st, room, 1, add_member, members)
			 : SC_ENOMEM;

	*g = NULL;
	memset(row, 0, sizeof(*row));
	json_array_foreach(members, i, u) {
		int outdated = 0;
		sc_err r;

		if (err)
			break;
		r = store_user_tracked(e->st, json_string_value(u), &outdated);
		if ((r == SC_ENOTFOUND || (!r && outdated)) &&
		    json_array_append(stale, u))
			err = SC_ENOMEM;
		else if (r && r != SC_ENOTFOUND)
			err = r;
	}
	if (!err && json_array_size(stale))
		err = query_users(e, stale);
	if (!err)
		err = store_gout_get(e->st, room, row);
	if (!err) {
		err = crypto_gout_unpickle(row->pickle, e->key, e->key_len, g);
		if (!err && (crypto_gout_index(*g) >= row->max_msgs ||
			     now_ms() - row->created >= row->max_age_ms)) {
			log_info(
			    "rotating the outbound session of %s (%u messages)",
			    room, crypto_gout_index(*g));
			crypto_gout_free(*g);
			*g = NULL;
			gout_row_clear(row);
			err = store_gout_del(e->st, room);
			if (!err)
				err = SC_ENOTFOUND;
		}
	}
	if (err == SC_ENOTFOUND)
		err = new_gout(e, room, g, row);
	if (!err)
		err = share_gout(e, room, *g, members);
	if (err) {
		crypto_gout_free(*g);
		*g = NULL;
		gout_row_clear(row);
	}
	json_decref(members);
	json_decref(stale);
	return err;
}

/* outbox_cb: group the queued messages by room, {room: [msg, ...]},
 * oldest first within each room. */
static int collect_plain(const struct outbox_msg *m, void *ctx)
{
	json_t *rooms = ctx, *msgs = json_object_get(rooms, m->room_id);
	json_t *o = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)m->seq,
			      "type", m->type, "content", m->content);

	if (!msgs) {
		msgs = json_array();
		if (json_object_set_new(rooms, m->room_id, msgs))
			msgs = NULL;
	}
	/* a NULL msgs makes the append fail and drop o */
	return !o || json_array_append_new(msgs, o);
}

/*
 * Replies are encrypted on a worker thread while the bot goes on with the
 * next page of commands: olm's signature on every message is most of the
 * CPU a reply costs in an encrypted room. The main thread prepares a job
 * (each room's queued plaintexts with the room's session, shared with
 * every member device first: store and network stay on the main thread),
 * the worker only encrypts (olm and JSON on objects it alone holds), and
 * the main thread stores the outcome: the ciphertexts replace the
 * plaintexts and the advanced session is stored once per room, in one
 * transaction, before any of them is sent. A crash before that commit
 * leaves the old session and the plaintexts (nothing derived from the
 * new indices left the process); after it, the same ciphertexts are
 * resent, never re-encrypted. A room whose stored session changed while
 * the job ran (a member left: the session was dropped) keeps its
 * plaintexts, encrypted again with the new session by the next job.
 * One job at a time; its rooms' messages are the queued plaintexts of
 * when it started.
 */
struct enc_chunk {
	char *room;
	struct crypto_gout *g;  /* the worker's until the job is done */
	struct gout_row row;    /* as stored when the job started */
	json_t *msgs;           /* [{seq, type, content}], oldest first */
	char **out;             /* ciphertext contents; NULL: not JSON */
	size_t n;               /* messages done (a session stops at max_msgs) */
	size_t encrypted;
	sc_err err;
};

struct enc_job {
	struct enc_chunk *c;
	size_t n;
	char *device_id;
};

static void enc_job_free(struct enc_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		struct enc_chunk *c = &j->c[i];

		for (size_t k = 0; c->out && k < json_array_size(c->msgs); k++)
			free(c->out[k]);
		free(c->out);
		free(c->room);
		crypto_gout_free(c->g);
		gout_row_clear(&c->row);
		json_decref(c->msgs);
	}
	free(j->c);
	free(j->device_id);
	free(j);
}

/* The worker's part: encrypt each chunk's messages, as many as its
 * session takes before it must rotate. No store, no network. */
static void enc_run(struct e2ee *e, struct enc_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		struct enc_chunk *c = &j->c[i];
		size_t total = json_array_size(c->msgs);

		for (; !c->err && c->n < total &&
		       (!c->encrypted ||
			crypto_gout_index(c->g) < c->row.max_msgs);
		     c->n++) {
			json_t *msg = json_array_get(c->msgs, c->n), *out = NULL;
			json_t *content =
			    json_loads(jstr(msg, "content"), 0, NULL);

			if (!content)
				continue; /* logged when the job is stored */
			c->err = crypto_megolm_encrypt_event(
			    c->g, e->acc, j->device_id, c->room,
			    jstr(msg, "type"), content, &out);
			if (!c->err) {
				c->out[c->n] = json_dumps(out, JSON_COMPACT);
				c->err = c->out[c->n] ? SC_OK : SC_ENOMEM;
			}
			c->encrypted += !c->err;
			json_decref(out);
			json_decref(content);
		}
	}
}

static void *enc_worker(void *arg)
{
	struct e2ee *e = arg;

	pthread_mutex_lock(&e->enc_mu);
	for (;;) {
		struct enc_job *j;

		while (!e->enc_quit && (!e->job || e->job_done))
			pthread_cond_wait(&e->enc_cv, &e->enc_mu);
		if (e->enc_quit)
			break;
		j = e->job;
		pthread_mutex_unlock(&e->enc_mu);
		enc_run(e, j);
		pthread_mutex_lock(&e->enc_mu);
		e->job_done = 1;
		pthread_cond_broadcast(&e->enc_cv);
	}
	pthread_mutex_unlock(&e->enc_mu);
	return NULL;
}

/* End the worker; a job not stored is dropped (its plaintexts stay
 * queued, its advanced sessions are forgotten). */
static void enc_stop(struct e2ee *e)
{
	if (e->enc_running) {
		pthread_mutex_lock(&e->enc_mu);
		e->enc_quit = 1;
		pthread_cond_broadcast(&e->enc_cv);
		pthread_mutex_unlock(&e->enc_mu);
		pthread_join(e->enc_thread, NULL);
		e->enc_running = 0;
	}
	enc_job_free(e->job);
	e->job = NULL;
}

/* Store one room's outcome (see above); only errors that must stop the
 * bot are returned. */
static sc_err enc_store(struct e2ee *e, struct enc_chunk *c)
{
	struct gout_row now;
	sc_err err;
	size_t i;

	if (c->err) {
		if (fatal(c->err))
			return c->err;
		log_warn("messages for %s stay queued until they can be "
			 "encrypted", c->room);
		return SC_OK;
	}
	for (i = 0; i < c->n; i++)
		if (!c->out[i])
			log_error("queued message for %s is not JSON; left "
				  "alone", c->room);
	if (!c->encrypted)
		return SC_OK;
	memset(&now, 0, sizeof(now));
	err = store_gout_get(e->st, c->room, &now);
	if (err == SC_ENOTFOUND ||
	    (!err && strcmp(now.pickle, c->row.pickle))) {
		log_info("the session of %s changed while its messages were "
			 "encrypted; they wait for the new one", c->room);
		gout_row_clear(&now);
		return SC_OK;
	}
	gout_row_clear(&now);
	if (!err)
		err = store_tx_begin(e->st);
	if (err)
		return err;
	for (i = 0; i < c->n && !err; i++)
		if (c->out[i])
			err = store_outbox_replace(
			    e->st,
			    json_integer_value(json_object_get(
				json_array_get(c->msgs, i), "seq")),
			    "m.room.encrypted", c->out[i]);
	if (!err) {
		free(c->row.pickle);
		c->row.pickle = NULL;
		err = crypto_gout_pickle(c->g, e->key, e->key_len,
					 &c->row.pickle);
	}
	if (!err)
		err = store_gout_put(e->st, &c->row);
	err = tx_end(e, err);
	if (!err)
		crash_point("megolm-encrypted");
	if (err && !fatal(err)) {
		log_warn("messages for %s stay queued until they can be "
			 "encrypted", c->room);
		err = SC_OK;
	}
	return err;
}

/* Store the job in flight once it is done (waiting for it when wait is
 * set); *left is set when it is still running, *more when a room's
 * session stopped before the room's last message (rotation). */
static sc_err enc_harvest(struct e2ee *e, int wait, int *left, int *more)
{
	struct enc_job *j = e->job;
	sc_err err = SC_OK;

	*left = *more = 0;
	if (!j)
		return SC_OK;
	pthread_mutex_lock(&e->enc_mu);
	while (wait && !e->job_done)
		pthread_cond_wait(&e->enc_cv, &e->enc_mu);
	*left = !e->job_done;
	if (!*left)
		e->job = NULL;
	pthread_mutex_unlock(&e->enc_mu);
	if (*left)
		return SC_OK;
	for (size_t i = 0; i < j->n && !err; i++) {
		struct enc_chunk *c = &j->c[i];

		*more |= !c->err && c->n < json_array_size(c->msgs);
		err = enc_store(e, c);
	}
	enc_job_free(j);
	return err;
}

/* Hand the queued plaintexts of encrypted rooms to the worker; *started
 * tells whether there were any. */
static sc_err enc_start(struct e2ee *e, int *started)
{
	json_t *rooms = json_object(), *msgs;
	struct enc_job *j = calloc(1, sizeof(*j));
	const char *room;
	sc_err err = rooms && j ? store_outbox_to_encrypt(e->st, collect_plain,
							  rooms)
				: SC_ENOMEM;

	*started = 0;
	if (!err) {
		j->c = calloc(json_object_size(rooms) + 1, sizeof(*j->c));
		j->device_id = strdup(e->device_id);
		if (!j->c || !j->device_id)
			err = SC_ENOMEM;
	}
	json_object_foreach(rooms, room, msgs) {
		struct enc_chunk *c = &j->c[j->n];

		if (err)
			break;
		err = room_gout(e, room, &c->g, &c->row);
		if (err && !fatal(err)) {
			/* the room waits for the next job */
			log_warn("messages for %s stay queued until they can "
				 "be encrypted", room);
			err = SC_OK;
			continue;
		}
		if (err)
			break;
		j->n++;
		c->room = strdup(room);
		c->out = calloc(json_array_size(msgs), sizeof(*c->out));
		c->msgs = json_incref(msgs);
		if (!c->room || !c->out)
			err = SC_ENOMEM;
	}
	json_decref(rooms);
	if (!err && j->n && !e->enc_running) {
		e->enc_quit = 0;
		if (pthread_create(&e->enc_thread, NULL, enc_worker, e)) {
			log_error("cannot start the encryption thread");
			err = SC_ENOMEM;
		} else {
			e->enc_running = 1;
		}
	}
	if (err || !j->n) {
		enc_job_free(j);
		return err;
	}
	pthread_mutex_lock(&e->enc_mu);
	e->job = j;
	e->job_done = 0;
	pthread_cond_broadcast(&e->enc_cv);
	pthread_mutex_unlock(&e->enc_mu);
	*started = 1;
	return SC_OK;
}

sc_err e2ee_prepare_outbox(struct e2ee *e)
{
	int left, more, started;
	sc_err err = enc_harvest(e, 0, &left, &more);

	return err || left ? err : enc_start(e, &started);
}

sc_err e2ee_finish_outbox(struct e2ee *e)
{
	int left, more, started = 0;
	sc_err err = enc_harvest(e, 1, &left, &more);

	/* the first job takes every queued plaintext; another follows only
	 * for rooms whose session rotated before their last message */
	do {
		if (!err)
			err = enc_start(e, &started);
		if (!err && started)
			err = enc_harvest(e, 1, &left, &more);
	} while (!err && started && more);
	return err;
}

sc_err e2ee_on_member(struct e2ee *e, const char *room_id, const char *user_id,
		      const char *membership)
{
	struct gout_row row;
	struct room r;
	int outdated, enc;
	sc_err err;

	if (!strcmp(user_id, e->user_id))
		return SC_OK;
	err = store_room_get(e->st, room_id, &r);
	if (err)
		return err == SC_ENOTFOUND ? SC_OK : err;
	enc = r.encrypted;
	room_clear(&r);
	if (!enc)
		return SC_OK;
	if (!strcmp(membership, "leave") || !strcmp(membership, "ban")) {
		err = store_gout_get(e->st, room_id, &row);
		if (err)
			return err == SC_ENOTFOUND ? SC_OK : err;
		gout_row_clear(&row);
		log_info("%s left %s: its next message uses a new session",
			 user_id, room_id);
		return store_gout_del(e->st, room_id);
	}
	err = store_user_tracked(e->st, user_id, &outdated);
	if (err == SC_ENOTFOUND)
		err = track_outdated(e, user_id);
	return err;
}
