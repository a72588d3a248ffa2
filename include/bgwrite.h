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

#endif
