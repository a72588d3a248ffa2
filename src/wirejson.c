/* SPDX-License-Identifier: MIT */
/* wirejson.c - JSON text from the network (see wirejson.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "wirejson.h"
#include "banned.h"

/* What stands for a character jansson cannot hold: a NUL in a string
 * value, U+FFFD in an object key (jansson refuses NUL in keys). */
#define NUL_ESC "\\u0000"
#define BAD_KEY_ESC "\\ufffd"

static long hex4(const char *s, size_t len)
{
	long v = 0;

	if (len < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The index just past the string opening at buf[i] (len if unclosed). */
static size_t skip_string(const char *buf, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (buf[i] == '\\')
			i++;
		else if (buf[i] == '"')
			return i + 1;
	}
	return len;
}

/* The index just past the container opening at buf[i]. */
static size_t skip_container(const char *buf, size_t len, size_t i)
{
	size_t depth = 0;

	while (i < len) {
		char c = buf[i];
		if (c == '"') {
			i = skip_string(buf, len, i);
			continue;
		}
		if (c == '[' || c == '{')
			depth++;
		else if ((c == ']' || c == '}') && --depth == 0)
			return i + 1;
		i++;
	}
	return len;
}

/* One escape at buf[*pi] == '\\': copied when jansson takes it in a
 * value (key: in an object key), else replaced. */
static sc_err put_escape(const char *buf, size_t len, size_t *pi, int key,
			 struct sbuf *out)
{
	const char *bad = key ? BAD_KEY_ESC : NUL_ESC;
	size_t i = *pi;
	long u, lo;

	if (i + 1 >= len) {
		*pi = len;
		return sbuf_puts(out, bad);
	}
	if (buf[i + 1] && strchr("\"\\/bfnrt", buf[i + 1])) {
		*pi = i + 2;
		return sbuf_add(out, buf + i, 2);
	}
	u = buf[i + 1] == 'u' ? hex4(buf + i + 2, len - i - 2) : -1;
	if (u < 0) {
		*pi = i + 2;
		return sbuf_puts(out, bad);
	}
	*pi = i + 6;
	if (u >= 0xD800 && u <= 0xDBFF) {
		/* a high surrogate counts only with its low half */
		if (i + 12 <= len && buf[i + 6] == '\\' && buf[i + 7] == 'u' &&
		    (lo = hex4(buf + i + 8, len - i - 8)) >= 0xDC00 && lo <= 0xDFFF) {
			*pi = i + 12;
			return sbuf_add(out, buf + i, 12);
		}
		return sbuf_puts(out, bad);
	}
	if ((u >= 0xDC00 && u <= 0xDFFF) || (u == 0 && key))
		return sbuf_puts(out, bad);
	return sbuf_add(out, buf + i, 6);
}

/* The string opening at buf[*pi]; an object key when a ':' follows. */
static sc_err put_string(const char *buf, size_t len, size_t *pi,
			 struct sbuf *out)
{
	size_t i = *pi + 1, k = skip_string(buf, len, *pi);
	const char *bad;
	int key;
	sc_err err;

	while (k < len && buf[k] && strchr(" \t\r\n", buf[k]))
		k++;
	key = k < len && buf[k] == ':';
	bad = key ? BAD_KEY_ESC : NUL_ESC;
	err = sbuf_putc(out, '"');
	while (!err && i < len && buf[i] != '"') {
		unsigned char c = (unsigned char)buf[i];
		size_t n;

		if (c == '\\') {
			err = put_escape(buf, len, &i, key, out);
		} else if (c < 0x20) {
			err = c ? sbuf_printf(out, "\\u%04x", c) : sbuf_puts(out, bad);
			i++;
		} else if ((n = utf8_char_len(buf + i, len - i)) != 0) {
			err = sbuf_add(out, buf + i, n);
			i += n;
		} else {
			err = sbuf_puts(out, bad);
			i++;
		}
	}
	if (!err && i < len) {
		err = sbuf_putc(out, '"');
		i++;
	}
	*pi = i;
	return err;
}

/* The number starting at buf[*pi], clamped to what jansson holds. */
static sc_err put_number(const char *buf, size_t len, size_t *pi,
			 struct sbuf *out)
{
	size_t s = *pi, e = s;
	int real = 0;
	char *tok;
	sc_err err;

	while (e < len && buf[e] && strchr("+-0123456789.eE", buf[e])) {
		if (buf[e] == '.' || buf[e] == 'e' || buf[e] == 'E')
			real = 1;
		e++;
	}
	*pi = e;
	tok = strndup(buf + s, e - s);
	if (!tok)
		return SC_ENOMEM;
	errno = 0;
	if (!real) {
		long long v = strtoll(tok, NULL, 10);
		err = errno == ERANGE ? sbuf_addint(out, v) : sbuf_puts(out, tok);
	} else {
		double v = strtod(tok, NULL);
		err = errno == ERANGE && isinf(v) ?
			sbuf_puts(out, v < 0 ? "-1.7976931348623157e308" :
				  "1.7976931348623157e308") :
			sbuf_puts(out, tok);
	}
	free(tok);
	return err;
}

sc_err wire_json_repair(const char *buf, size_t len, struct sbuf *out)
{
	size_t i = 0, depth = 0;
	sc_err err = SC_OK;

	while (i < len && !err) {
		char c = buf[i];

		if (c == '"') {
			err = put_string(buf, len, &i, out);
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			err = put_number(buf, len, &i, out);
		} else if ((c == '[' || c == '{') && depth >= WIRE_JSON_MAX_DEPTH) {
			i = skip_container(buf, len, i);
			err = sbuf_puts(out, "null");
		} else {
			if (c == '[' || c == '{')
				depth++;
			else if ((c == ']' || c == '}') && depth)
				depth--;
			err = sbuf_putc(out, c);
			i++;
		}
	}
	return err;
}

json_t *wire_json_loadb(const char *buf, size_t len, size_t flags,
			json_error_t *err)
{
	json_t *v = json_loadb(buf, len, flags | JSON_ALLOW_NUL, err);
	struct sbuf fixed;

	if (v)
		return v;
	sbuf_init(&fixed, 0);
	if (wire_json_repair(buf, len, &fixed) == SC_OK)
		v = json_loadb(fixed.buf, fixed.len, flags | JSON_ALLOW_NUL, err);
	sbuf_release(&fixed);
	return v;
}

const char *wire_json_clean_str(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v) ? s : NULL;
}
