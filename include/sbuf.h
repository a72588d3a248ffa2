/* SPDX-License-Identifier: MIT */
/*
 * sbuf.h - growable string buffer with a hard maximum (git's strbuf,
 * curl's dynbuf).
 *
 * Every network body, every reply and every rendered export line goes
 * through one. After sbuf_init() `buf` is never NULL and always
 * NUL-terminated, so it can be passed to any function wanting a C string.
 * An append that would make `len` exceed `max` fails with SC_ETOOBIG and
 * leaves the buffer unchanged; an allocation failure gives SC_ENOMEM and
 * leaves it unchanged too.
 */
#ifndef SCRIBE_SBUF_H
#define SCRIBE_SBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "error.h"

struct sbuf {
	char *buf;   /* owned, NUL-terminated; points at a static "" until used */
	size_t len;  /* bytes used, excluding the NUL */
	size_t alloc;
	size_t max;  /* hard limit on len */
};

#define SBUF_DEFAULT_MAX ((size_t)64 << 20) /* 64 MiB */

/* Initialise an empty buffer that may grow to max bytes (0 = default). */
void sbuf_init(struct sbuf *sb, size_t max);
/* Free the memory and re-initialise (keeps max). */
void sbuf_release(struct sbuf *sb);
/* Like release, but overwrite the contents first (for secrets). */
void sbuf_wipe(struct sbuf *sb);
/* Truncate to len bytes (len <= sb->len). */
void sbuf_setlen(struct sbuf *sb, size_t len);
/* Hand the string to the caller (caller frees) and re-initialise. */
char *sbuf_detach(struct sbuf *sb, size_t *len);

/* sbuf_add when the buffer must grow first; use sbuf_add. */
sc_err sbuf_add_grow(struct sbuf *sb, const void *data, size_t len);

/* Append len bytes. Inline for the common case of an append that fits
 * the allocation (git's strbuf_addch): an export of a million records
 * makes tens of millions of small appends. */
static inline sc_err sbuf_add(struct sbuf *sb, const void *data, size_t len)
{
	if (len >= sb->alloc - sb->len || len > sb->max - sb->len)
		return sbuf_add_grow(sb, data, len);
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return SC_OK;
}

static inline sc_err sbuf_puts(struct sbuf *sb, const char *s)
{
	return sbuf_add(sb, s, strlen(s));
}

static inline sc_err sbuf_putc(struct sbuf *sb, char c)
{
	return sbuf_add(sb, &c, 1);
}

/* Append v in decimal: sbuf_printf's "%lld" without its cost. */
sc_err sbuf_addint(struct sbuf *sb, long long v);
sc_err sbuf_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
sc_err sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append s with & < > " ' escaped for HTML text and attribute values. */
sc_err sbuf_html(struct sbuf *sb, const char *s);
/* Append s with every byte outside [A-Za-z0-9-._~] percent-encoded. */
sc_err sbuf_urlenc(struct sbuf *sb, const char *s);

#endif
