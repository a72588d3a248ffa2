/* SPDX-License-Identifier: MIT */
/*
 * bgwrite.h - a file written in the background: the caller fills one
 * 1 MiB buffer while a thread writes the previous one, so producing the
 * bytes (an export reading the store and formatting records) and the
 * kernel's work of taking them (page cache, file system) overlap on two
 * cores. The thread starts with the second buffer: a file smaller than
 * one buffer is written by the caller at bgw_close, with no thread.
 *
 * Errors keep their errno: when a write failed, the next bgw_write (or
 * bgw_close) returns SC_EIO with errno set to the write's.
 */
#ifndef SCRIBE_BGWRITE_H
#define SCRIBE_BGWRITE_H

#include <stddef.h>

#include "error.h"

struct bgw;

/* Take over fd (closed by bgw_close, also on failure). */
sc_err bgw_open(int fd, struct bgw **out);
sc_err bgw_write(struct bgw *w, const char *p, size_t n);
/* Write what is buffered, wait for the thread, close the file and free
 * w; SC_EIO (errno set) when any write or the close failed. */
sc_err bgw_close(struct bgw *w);

/*
 * Small whole files (one ADR each) written into one folder by two
 * threads while the caller formats the next ones. Creating a file is
 * the kernel's work (inode, directory entry, a page cache page zeroed
 * around the bytes), about 25 us each on ext4: 100,000 files took 3.5 s
 * of system time on one core. Two threads share the folder's lock only
 * for the create itself; a third gained nothing on two cores.
 *
 * Each file is left alone when it already holds exactly those bytes (a
 * re-export touches nothing, not even the time stamp), created in place
 * when new, else replaced through a temporary file and rename.
 */
struct bgf;

/* Open the pool on folder dir (SC_EIO with errno when it cannot be
 * opened). */
sc_err bgf_open(const char *dir, struct bgf **out);
/* Queue file name with content p[0..n) (copied); waits while the queue
 * is full. SC_EIO once any file failed: stop and call bgf_close. */
sc_err bgf_put(struct bgf *f, const char *name, const char *p, size_t n);
/* Wait for every queued file, stop the threads and free f. SC_EIO when
 * a file failed: errno is its error (EEXIST: something that is not a
 * regular file has that name) and *failed its name, which the caller
 * frees. */
sc_err bgf_close(struct bgf *f, char **failed);

/* One file the way bgf writes each: left alone when it already holds
 * exactly p[0..n), created in place when new, else replaced through a
 * temporary file and rename (dfd: the folder). 0 or the errno (EEXIST:
 * something that is not a regular file has the name). For writers that
 * batch files their own way (html_files.h). */
int bgf_put_file(int dfd, const char *name, const char *p, size_t n);

#endif
