/* SPDX-License-Identifier: MIT */
/*
 * html_files.h - the files of a site written by two threads in batches,
 * while the caller makes the next pages. Each file is left alone when it
 * already holds exactly its bytes (a re-export touches nothing, not even
 * the time stamp), created in place when new, else replaced through a
 * temporary file and rename: bgwrite.h's bgf, whose promise this is too.
 *
 * Why not bgf: it hands over one file per lock and wake-up. A site of a
 * million records is 150,000 pages made faster than one at a time is
 * handed over: the caller and both threads took turns on bgf's mutex,
 * 260,000 context switches, a tenth of the export's CPU time. Here the
 * caller fills a batch (up to HFILES_BATCH_FILES pages or _BYTES bytes,
 * one big page alone) and hands it over whole; a thread writes the
 * whole batch.
 *
 * Names are relative to the folder given to hfiles_open and may hold
 * '/' (the folders must exist). One name must not be put twice between
 * an open and a close: two threads would write it at once.
 */
#ifndef SCRIBE_HTML_FILES_H
#define SCRIBE_HTML_FILES_H

#include <stddef.h>

#include "error.h"
#include "sbuf.h"

#define HFILES_BATCH_FILES 512
#define HFILES_BATCH_BYTES ((size_t)1 << 20)
/* The biggest page: a room's month of a quarter million changes, a
 * page of all its open items, is more than the 64 MiB an sbuf holds by
 * default; a site is written whatever its pages' size. */
#define HFILES_PAGE_MAX ((size_t)1 << 30)

struct hfiles;

/* Open the pool on folder dir (SC_EIO with errno when it cannot be
 * opened). */
sc_err hfiles_open(const char *dir, struct hfiles **out);

/* Queue file name with content p[0..n) (copied). SC_EIO once a file
 * failed: stop and call hfiles_close. */
sc_err hfiles_put(struct hfiles *f, const char *name, const char *p, size_t n);

/* Or make the file's content in place: begin gives the buffer to
 * append it to (the content starts at its length then); end queues
 * what was appended, or drops it when err is set, and returns err or
 * the queueing's error. Nothing else may be put in between. */
sc_err hfiles_begin(struct hfiles *f, const char *name, struct sbuf **out);
sc_err hfiles_end(struct hfiles *f, sc_err err);

/* Write what is queued, wait for it, stop the threads and free f.
 * SC_EIO when a file failed: errno is its error (EEXIST: something that
 * is not a regular file has that name) and *failed its name, a new
 * string. */
sc_err hfiles_close(struct hfiles *f, char **failed);

#endif
