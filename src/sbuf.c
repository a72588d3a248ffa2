/* SPDX-License-Identifier: MIT */
/*
 * sbuf.c - growable string buffer with a hard maximum (see sbuf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "banned.h"

static char sbuf_empty[1];

void sbuf_init(struct sbuf *sb, size_t max)
{
	sb->buf = sbuf_empty;
	sb->len = 0;
	sb->alloc = 0;
	sb->max = max ? max : SBUF_DEFAULT_MAX;
}

void sbuf_release(struct sbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	sbuf_init(sb, sb->max);
}

void sbuf_wipe(struct sbuf *sb)
{
	if (sb->alloc) {
		volatile char *p = sb->buf;
		for (size_t i = 0; i < sb->alloc; i++)
			p[i] = 0;
	}
	sbuf_release(sb);
}

void sbuf_setlen(struct sbuf *sb, size_t len)
{
	if (len > sb->len)
		return;
	sb->len = len;
	if (sb->alloc)
		sb->buf[len] = '\0';
}

char *sbuf_detach(struct sbuf *sb, size_t *len)
{
	char *s = sb->alloc ? sb->buf : strdup("");
	if (len)
		*len = sb->alloc ? sb->len : 0;
	sbuf_init(sb, sb->max);
	return s;
}

/* Make room for extra more bytes plus the NUL. */
static sc_err sbuf_grow(struct sbuf *sb, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > sb->max - sb->len)
		return SC_ETOOBIG;
	want = sb->len + extra + 1;
	if (want <= sb->alloc)
		return SC_OK;
	cap = sb->alloc ? sb->alloc : 64;
	while (cap < want)
		cap = cap < ((size_t)1 << 30) ? cap * 2 : want;
	p = sb->alloc ? realloc(sb->buf, cap) : malloc(cap);
	if (!p)
		return SC_ENOMEM;
	if (!sb->alloc)
		p[0] = '\0';
	sb->buf = p;
	sb->alloc = cap;
	return SC_OK;
}

sc_err sbuf_add_grow(struct sbuf *sb, const void *data, size_t len)
{
	sc_err err = sbuf_grow(sb, len);
	if (err)
		return err;
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return SC_OK;
}

sc_err sbuf_addint(struct sbuf *sb, long long v)
{
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;
	char b[24], *p = b + sizeof(b);

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return sbuf_add(sb, p, (size_t)(b + sizeof(b) - p));
}

sc_err sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	size_t avail = sb->alloc > sb->len ? sb->alloc - sb->len : 0;
	va_list cp;
	int n;
	sc_err err;

	/* Format into the room there is (usually enough: one pass), and
	 * only when it does not fit grow and format again. */
	va_copy(cp, ap);
	n = vsnprintf(avail ? sb->buf + sb->len : NULL, avail, fmt, cp);
	va_end(cp);
	if (n < 0) {
		if (avail)
			sb->buf[sb->len] = '\0';
		return SC_EINVAL;
	}
	if ((size_t)n < avail && (size_t)n <= sb->max - sb->len) {
		sb->len += (size_t)n;
		return SC_OK;
	}
	if (avail)
		sb->buf[sb->len] = '\0';
	err = sbuf_grow(sb, (size_t)n);
	if (err)
		return err;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return SC_OK;
}

sc_err sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	sc_err err;

	va_start(ap, fmt);
	err = sbuf_vprintf(sb, fmt, ap);
	va_end(ap);
	return err;
}

sc_err sbuf_html(struct sbuf *sb, const char *s)
{
	size_t start = sb->len;
	sc_err err = SC_OK;

	for (; *s && !err; s++) {
		switch (*s) {
		case '&': err = sbuf_puts(sb, "&amp;"); break;
		case '<': err = sbuf_puts(sb, "&lt;"); break;
		case '>': err = sbuf_puts(sb, "&gt;"); break;
		case '"': err = sbuf_puts(sb, "&quot;"); break;
		case '\'': err = sbuf_puts(sb, "&#39;"); break;
		default: err = sbuf_putc(sb, *s); break;
		}
	}
	if (err)
		sbuf_setlen(sb, start);
	return err;
}

sc_err sbuf_urlenc(struct sbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = sb->len;
	sc_err err = SC_OK;

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			err = sbuf_putc(sb, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			err = sbuf_add(sb, e, 3);
		}
	}
	if (err)
		sbuf_setlen(sb, start);
	return err;
}
