/* SPDX-License-Identifier: MIT */
/*
 * bgwrite.c - a file written by a background thread (see bgwrite.h).
 *
 * Two buffers: the caller fills one; a full one is handed to the thread
 * (waiting while the thread still writes the previous hand-off) and the
 * two swap. Only the hand-off is shared, under one mutex.
 *
 * Whole files (bgf): a queue of name and content under one mutex, taken
 * by two threads; the first failure stops the rest.
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

/* SC_OK for errno 0, else SC_EIO with errno set to e. */
static sc_err eio(int e)
{
	if (!e)
		return SC_OK;
	errno = e;
	return SC_EIO;
}

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
			return eio(e);
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
	return eio(e);
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
	return eio(e);
}

/* ---- whole files by a pool of threads ---- */

#define BGF_THREADS 2
#define BGF_QUEUE 256 /* files waiting: about 0.5 MB of ADRs */

struct bgf_job {
	struct bgf_job *next;
	size_t len;     /* of the content, after the name's NUL */
	char data[];    /* name, NUL, content */
};

struct bgf {
	int dfd;
	int nthreads;
	pthread_t thread[BGF_THREADS];
	pthread_mutex_t mu;
	pthread_cond_t work, room;
	struct bgf_job *head, *tail;
	size_t queued;
	int done;       /* no more jobs: the threads end when the queue is */
	int err;        /* errno of the first failure, 0 = none */
	char *failed;   /* its file name */
};

/* 1 when the open regular file fd holds exactly p[0..n), 0 when not, or
 * -1 with errno. */
static int same_content(int fd, const char *p, size_t n)
{
	char buf[16384];
	size_t at = 0;

	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			return at == n;
		if ((size_t)k > n - at || memcmp(buf, p + at, (size_t)k))
			return 0;
		at += (size_t)k;
	}
}

/* Create name (O_EXCL, or O_TRUNC for a temporary file) holding p[0..n);
 * 0 or the errno, with nothing left behind on failure. */
static int create_file(int dfd, const char *name, int excl, const char *p,
		       size_t n)
{
	int e, fd = openat(dfd, name,
			   O_WRONLY | O_CREAT | O_CLOEXEC |
				   (excl ? O_EXCL : O_TRUNC),
			   0666);

	if (fd < 0)
		return errno;
	e = write_all(fd, p, n);
	if (close(fd) && !e)
		e = errno;
	if (e)
		unlinkat(dfd, name, 0);
	return e;
}

/* Created first: a probe for an old file cost a second look-up per new
 * one (export.c's finding). */
int bgf_put_file(int dfd, const char *name, const char *p, size_t n)
{
	char tmp[4096];
	struct stat st;
	int same, fd, e = create_file(dfd, name, 1, p, n);

	if (e != EEXIST) /* a new file (the common case of a first export) */
		return e;
	fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno;
	same = fstat(fd, &st) ? -1 :
	       !S_ISREG(st.st_mode) ? (errno = EEXIST, -1) :
	       (size_t)st.st_size != n ? 0 : same_content(fd, p, n);
	e = errno;
	close(fd);
	if (same)
		return same < 0 ? e : 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", name,
			     (long)getpid()) >= sizeof(tmp))
		return ENAMETOOLONG;
	e = create_file(dfd, tmp, 0, p, n);
	if (!e && renameat(dfd, tmp, dfd, name)) {
		e = errno;
		unlinkat(dfd, tmp, 0);
	}
	return e;
}

static void *file_writer(void *arg)
{
	struct bgf *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct bgf_job *j;

		while (!f->head && !f->done)
			pthread_cond_wait(&f->work, &f->mu);
		if (!(j = f->head))
			break; /* done */
		if (!(f->head = j->next))
			f->tail = NULL;
		f->queued--;
		pthread_cond_signal(&f->room);
		int skip = f->err != 0; /* after a failure the rest is dropped */
		pthread_mutex_unlock(&f->mu);
		size_t nl = strlen(j->data);
		int e = skip ? 0 : bgf_put_file(f->dfd, j->data, j->data + nl + 1,
					    j->len);
		pthread_mutex_lock(&f->mu);
		if (e && !f->err) {
			f->err = e;
			f->failed = strdup(j->data);
		}
		free(j);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

sc_err bgf_open(const char *dir, struct bgf **out)
{
	struct bgf *f = calloc(1, sizeof(*f));
	int e = 0;

	*out = NULL;
	if (!f)
		return SC_ENOMEM;
	f->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dfd < 0) {
		e = errno;
		free(f);
		return eio(e);
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->work, NULL);
	pthread_cond_init(&f->room, NULL);
	*out = f;
	for (; f->nthreads < BGF_THREADS; f->nthreads++) {
		if ((e = pthread_create(&f->thread[f->nthreads], NULL,
					file_writer, f)))
			break;
	}
	if (f->nthreads)
		return SC_OK;
	bgf_close(f, NULL);
	*out = NULL;
	return eio(e);
}

sc_err bgf_put(struct bgf *f, const char *name, const char *p, size_t n)
{
	size_t nl = strlen(name);
	struct bgf_job *j = malloc(sizeof(*j) + nl + 1 + n);
	int e;

	if (!j)
		return SC_ENOMEM;
	j->next = NULL;
	j->len = n;
	memcpy(j->data, name, nl + 1);
	memcpy(j->data + nl + 1, p, n);
	pthread_mutex_lock(&f->mu);
	while (f->queued >= BGF_QUEUE && !f->err)
		pthread_cond_wait(&f->room, &f->mu);
	if (!(e = f->err)) {
		if (f->tail)
			f->tail->next = j;
		else
			f->head = j;
		f->tail = j;
		f->queued++;
		pthread_cond_signal(&f->work);
		j = NULL;
	}
	pthread_mutex_unlock(&f->mu);
	free(j);
	return eio(e);
}

sc_err bgf_close(struct bgf *f, char **failed)
{
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
	close(f->dfd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->work);
	pthread_cond_destroy(&f->room);
	free(f);
	return eio(e);
}
