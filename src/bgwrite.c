/* SPDX-License-Identifier: MIT */
/*
 * bgwrite.c - a file written by a background thread (see bgwrite.h).
 *
 * Two buffers: the caller fills one; a full one is handed to the thread
 * (waiting while the thread still writes the previous hand-off) and the
 * two swap. Only the hand-off is shared, under one mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgwrite.h"
#include "banned.h"

#define BGW_BUFSIZE ((size_t)1 << 20)

struct bgw {
	int fd;
	char *fill;          /* the caller's buffer */
	size_t len;
	char *out;           /* the buffer handed to the thread */
	size_t out_len;
	int handed;          /* out holds bytes the thread has not written */
	int done;            /* no more hand-offs: the thread ends */
	int err;             /* errno of the first failed write, 0 = none */
	int started;         /* the thread runs */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* write() all of p, or return the errno that stopped it. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		if (k == 0)
			return EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void *writer(void *arg)
{
	struct bgw *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->handed && !w->done)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->handed)
			break; /* done */
		pthread_mutex_unlock(&w->mu);
		/* after a failure the rest is dropped: the file is bad anyway */
		int e = w->err ? 0 : write_all(w->fd, w->out, w->out_len);
		pthread_mutex_lock(&w->mu);
		if (e && !w->err)
			w->err = e;
		w->handed = 0;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

sc_err bgw_open(int fd, struct bgw **out)
{
	struct bgw *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w)
		w->fill = malloc(BGW_BUFSIZE);
	if (!w || !w->fill) {
		if (w)
			free(w);
		close(fd);
		return SC_ENOMEM;
	}
	w->fd = fd;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	*out = w;
	return SC_OK;
}

/* Hand the filled buffer to the thread (started on the first hand-off)
 * and take the other one. */
static sc_err hand_off(struct bgw *w)
{
	int e;

	if (!w->started) {
		w->out = malloc(BGW_BUFSIZE);
		if (!w->out)
			return SC_ENOMEM;
		if ((e = pthread_create(&w->thread, NULL, writer, w))) {
			free(w->out);
			w->out = NULL;
			errno = e;
			return SC_EIO;
		}
		w->started = 1;
	}
	pthread_mutex_lock(&w->mu);
	while (w->handed)
		pthread_cond_wait(&w->cv, &w->mu);
	e = w->err;
	if (!e) {
		char *t = w->out;

		w->out = w->fill;
		w->out_len = w->len;
		w->fill = t;
		w->len = 0;
		w->handed = 1;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (e) {
		errno = e;
		return SC_EIO;
	}
	return SC_OK;
}

sc_err bgw_write(struct bgw *w, const char *p, size_t n)
{
	while (n) {
		size_t room = BGW_BUFSIZE - w->len, k = n < room ? n : room;

		memcpy(w->fill + w->len, p, k);
		w->len += k;
		p += k;
		n -= k;
		if (w->len == BGW_BUFSIZE) {
			sc_err err = hand_off(w);
			if (err)
				return err;
		}
	}
	return SC_OK;
}

sc_err bgw_close(struct bgw *w)
{
	int e = 0;

	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->done = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		e = w->err;
	}
	/* the last, partial buffer: written here, after the thread's */
	if (!e && w->len)
		e = write_all(w->fd, w->fill, w->len);
	if (close(w->fd) && !e)
		e = errno;
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->fill);
	free(w->out);
	free(w);
	if (e) {
		errno = e;
		return SC_EIO;
	}
	return SC_OK;
}
