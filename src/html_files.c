/* SPDX-License-Identifier: MIT */
/*
 * html_files.c - a site's files written in batches by two threads
 * (html_files.h). The caller fills one batch; full batches wait in a
 * queue of a few megabytes (a big page's batch alone) and each thread
 * takes a whole batch at a time, so the one mutex is taken twice per
 * batch, not per file. Used batches go back to a free list with their
 * buffers, unless a big page made them big.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bgwrite.h"
#include "html_files.h"
#include "banned.h"

#define THREADS 2
/* Full batches waiting: at most this many bytes of pages (or one batch,
 * however big its page), so that memory stays at a few megabytes. */
#define QUEUE_BYTES (6 * HFILES_BATCH_BYTES)

struct batch {
	struct batch *next;
	struct sbuf data; /* name, NUL, content, ... */
	size_t *off;      /* where each name starts */
	size_t *len;      /* its content's length */
	size_t n, cap;
};

struct hfiles {
	int dfd;
	int nthreads;
	pthread_t thread[THREADS];
	pthread_mutex_t mu;
	pthread_cond_t work, room;
	struct batch *head, *tail; /* full batches, oldest first */
	struct batch *spare;       /* written ones, for reuse */
	size_t queued;     /* bytes in the batches waiting */
	int done;     /* no more batches: threads end when the queue is empty */
	int err;      /* errno of the first failure, 0 = none */
	char *failed; /* its file name */
	struct batch *cur; /* the caller's */
	size_t mark;       /* hfiles_begin: where the name starts */
};

static sc_err eio(int e)
{
	if (!e)
		return SC_OK;
	errno = e;
	return SC_EIO;
}

static void *writer(void *arg)
{
	struct hfiles *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct batch *b;
		int skip, e = 0;
		size_t i;

		while (!f->head && !f->done)
			pthread_cond_wait(&f->work, &f->mu);
		if (!(b = f->head))
			break; /* done */
		if (!(f->head = b->next))
			f->tail = NULL;
		f->queued -= b->data.len;
		skip = f->err != 0; /* after a failure the rest is dropped */
		pthread_mutex_unlock(&f->mu);
		/* (signalled once the mutex is free: a thread woken while it
		 * is held would only wake to wait for it again) */
		pthread_cond_signal(&f->room);
		for (i = 0; i < b->n && !skip && !e; i++) {
			const char *name = b->data.buf + b->off[i];

			e = bgf_put_file(f->dfd, name, name + strlen(name) + 1,
				     b->len[i]);
		}
		pthread_mutex_lock(&f->mu);
		if (e && !f->err) {
			f->err = e;
			f->failed = strdup(b->data.buf + b->off[i - 1]);
		}
		b->n = 0;
		/* a big page's room is not kept: the spare batches would
		 * each hold the biggest page they ever carried */
		if (b->data.alloc > 2 * HFILES_BATCH_BYTES)
			sbuf_release(&b->data);
		else
			sbuf_setlen(&b->data, 0);
		b->next = f->spare;
		f->spare = b;
		if (e) /* a caller waiting for room learns of it */
			pthread_cond_broadcast(&f->room);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void batch_free(struct batch *b)
{
	while (b) {
		struct batch *next = b->next;

		sbuf_release(&b->data);
		free(b->off);
		free(b->len);
		free(b);
		b = next;
	}
}

/* Hand the caller's batch over and take a spare one (or a new one). */
static sc_err hand_over(struct hfiles *f)
{
	struct batch *b = f->cur, *fresh = NULL;
	int e;

	if (!b || !b->n)
		return SC_OK;
	pthread_mutex_lock(&f->mu);
	/* room in the queue; a spare batch comes back with it */
	while (f->queued && f->queued + b->data.len > QUEUE_BYTES && !f->err)
		pthread_cond_wait(&f->room, &f->mu);
	e = f->err;
	if (!e) {
		b->next = NULL;
		if (f->tail)
			f->tail->next = b;
		else
			f->head = b;
		f->tail = b;
		f->queued += b->data.len;
		fresh = f->spare;
		if (fresh)
			f->spare = fresh->next;
		f->cur = NULL;
	}
	pthread_mutex_unlock(&f->mu);
	if (e)
		return eio(e);
	pthread_cond_signal(&f->work);
	if (!fresh) {
		fresh = calloc(1, sizeof(*fresh));
		if (!fresh)
			return SC_ENOMEM;
		sbuf_init(&fresh->data, HFILES_PAGE_MAX);
	}
	fresh->next = NULL;
	f->cur = fresh;
	return SC_OK;
}

sc_err hfiles_open(const char *dir, struct hfiles **out)
{
	struct hfiles *f = calloc(1, sizeof(*f));
	int e = 0;

	*out = NULL;
	if (f)
		f->cur = calloc(1, sizeof(*f->cur));
	if (!f || !f->cur) {
		free(f);
		return SC_ENOMEM;
	}
	sbuf_init(&f->cur->data, HFILES_PAGE_MAX);
	f->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dfd < 0) {
		e = errno;
		batch_free(f->cur);
		free(f);
		return eio(e);
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->work, NULL);
	pthread_cond_init(&f->room, NULL);
	for (; f->nthreads < THREADS; f->nthreads++)
		if ((e = pthread_create(&f->thread[f->nthreads], NULL, writer, f)))
			break;
	if (!f->nthreads) {
		hfiles_close(f, NULL);
		return eio(e);
	}
	*out = f;
	return SC_OK;
}

/* Make room for one more file in the caller's batch. */
static sc_err room_for_one(struct batch *b)
{
	if (b->n == b->cap) {
		size_t c = b->cap ? b->cap * 2 : HFILES_BATCH_FILES;
		size_t *o = realloc(b->off, c * sizeof(*o));
		size_t *l;

		if (!o)
			return SC_ENOMEM;
		b->off = o;
		l = realloc(b->len, c * sizeof(*l));
		if (!l)
			return SC_ENOMEM;
		b->len = l;
		b->cap = c;
	}
	return SC_OK;
}

sc_err hfiles_begin(struct hfiles *f, const char *name, struct sbuf **out)
{
	struct batch *b = f->cur;
	sc_err err = room_for_one(b);

	f->mark = b->data.len;
	if (!err)
		err = sbuf_add(&b->data, name, strlen(name) + 1);
	*out = &b->data;
	return err;
}

sc_err hfiles_end(struct hfiles *f, sc_err err)
{
	struct batch *b = f->cur;

	if (err) {
		sbuf_setlen(&b->data, f->mark);
		return err;
	}
	b->off[b->n] = f->mark;
	b->len[b->n] = b->data.len - f->mark - strlen(b->data.buf + f->mark) - 1;
	b->n++;
	if (b->n >= HFILES_BATCH_FILES || b->data.len >= HFILES_BATCH_BYTES)
		return hand_over(f);
	return SC_OK;
}

sc_err hfiles_put(struct hfiles *f, const char *name, const char *p, size_t n)
{
	struct sbuf *sb;
	sc_err err;

	/* a big page goes alone: the batch at hand first */
	if (n >= HFILES_BATCH_BYTES) {
		err = hand_over(f);
		if (err)
			return err;
	}
	err = hfiles_begin(f, name, &sb);
	if (!err)
		err = sbuf_add(sb, p, n);
	return hfiles_end(f, err);
}

sc_err hfiles_close(struct hfiles *f, char **failed)
{
	sc_err err = hand_over(f); /* (SC_EIO at once after a failure) */
	int e;

	pthread_mutex_lock(&f->mu);
	f->done = 1;
	pthread_cond_broadcast(&f->work);
	pthread_mutex_unlock(&f->mu);
	for (int i = 0; i < f->nthreads; i++)
		pthread_join(f->thread[i], NULL);
	e = f->err;
	if (failed)
		*failed = f->failed;
	else
		free(f->failed);
	batch_free(f->head);
	batch_free(f->spare);
	batch_free(f->cur);
	if (f->dfd >= 0)
		close(f->dfd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->work);
	pthread_cond_destroy(&f->room);
	free(f);
	if (e)
		return eio(e);
	return err;
}
