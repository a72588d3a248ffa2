/* SPDX-License-Identifier: MIT */
/*
 * e2ee_outbox.c - the encryption of the outbox: the queued messages of
 * encrypted rooms are encrypted on a worker thread, and the main thread
 * stores their ciphertexts with the advanced sessions before any is
 * sent (e2ee_prepare_outbox, e2ee_finish_outbox; see below).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "e2ee_int.h"
#include "log.h"
#include "banned.h"

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
void e2ee_enc_stop(struct e2ee *e)
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
	err = e2ee_tx_end(e, err);
	if (!err)
		e2ee_crash_point("megolm-encrypted");
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
		err = e2ee_room_gout(e, room, &c->g, &c->row);
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
