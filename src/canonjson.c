/* SPDX-License-Identifier: MIT */
/*
 * canonjson.c - Matrix canonical JSON (see canonjson.h). A recursive
 * encoder over jansson values: objects have their keys collected and
 * sorted bytewise (UTF-8 byte order is codepoint order), strings are
 * escaped by the spec's grammar, numbers are range-checked integers.
 * Errors roll the output buffer back to where it started.
 */
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "utf8.h"
#include "banned.h"

#define CANONJSON_MAX_DEPTH 256

struct member {
	const char *key;
	size_t len;
	json_t *val;
};

static sc_err encode_value(json_t *v, struct sbuf *sb, int depth);

/* utf8_valid() refuses NUL; JSON strings may hold it (as \u0000). */
static int valid_utf8_with_nul(const char *s, size_t len)
{
	const char *nul;

	while ((nul = memchr(s, '\0', len)) != NULL) {
		size_t seg = (size_t)(nul - s);
		if (!utf8_valid(s, seg))
			return 0;
		s = nul + 1;
		len -= seg + 1;
	}
	return utf8_valid(s, len);
}

/* Printable ASCII but '"' and '\\': bytes a string carries as they are. */
static int plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

sc_err canonjson_string(const char *s, size_t len, struct sbuf *sb)
{
	static const char hex[] = "0123456789abcdef";
	size_t plain = 0, run;
	sc_err err;

	/* A plain ASCII start (all of most strings: ids, times, text)
	 * needs neither escapes nor the UTF-8 check. */
	while (plain < len && plain_ascii((unsigned char)s[plain]))
		plain++;
	if (!valid_utf8_with_nul(s + plain, len - plain))
		return SC_EINVAL;
	run = plain;
	err = sbuf_putc(sb, '"');
	for (size_t i = plain; !err && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 0, 0, 0, 0, 0 };
		size_t n = 2;

		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			if (c >= 0x20) {
				run++;
				continue;
			}
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
			break;
		}
		/* flush the unescaped bytes before this one, then the escape */
		err = sbuf_add(sb, s + i - run, run);
		run = 0;
		if (!err)
			err = sbuf_add(sb, esc, n);
	}
	if (!err)
		err = sbuf_add(sb, s + len - run, run);
	if (!err)
		err = sbuf_putc(sb, '"');
	return err;
}

static int member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->key, b->key, n);

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* skip_sig: leave out the members `signatures` and `unsigned`. */
static sc_err encode_object(json_t *obj, struct sbuf *sb, int depth,
			    int skip_sig)
{
	struct member *m = NULL;
	size_t count = 0, cap = json_object_size(obj);
	const char *key;
	json_t *val;
	sc_err err = SC_OK;

	if (cap) {
		m = calloc(cap, sizeof(*m));
		if (!m)
			return SC_ENOMEM;
	}
	json_object_foreach(obj, key, val) {
		void *it = json_object_key_to_iter(key);
		size_t len = json_object_iter_key_len(it);

		if (skip_sig &&
		    ((len == 10 && !memcmp(key, "signatures", 10)) ||
		     (len == 8 && !memcmp(key, "unsigned", 8))))
			continue;
		if (count == cap)
			break; /* cannot happen: size counted every member */
		m[count].key = key;
		m[count].len = len;
		m[count].val = val;
		count++;
	}
	if (count > 1)
		qsort(m, count, sizeof(*m), member_cmp);

	err = sbuf_putc(sb, '{');
	for (size_t i = 0; !err && i < count; i++) {
		if (i)
			err = sbuf_putc(sb, ',');
		if (!err)
			err = canonjson_string(m[i].key, m[i].len, sb);
		if (!err)
			err = sbuf_putc(sb, ':');
		if (!err)
			err = encode_value(m[i].val, sb, depth + 1);
	}
	if (!err)
		err = sbuf_putc(sb, '}');
	free(m);
	return err;
}

static sc_err encode_value(json_t *v, struct sbuf *sb, int depth)
{
	sc_err err = SC_OK;

	if (!v || depth > CANONJSON_MAX_DEPTH)
		return SC_EINVAL;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return encode_object(v, sb, depth, 0);
	case JSON_ARRAY:
		err = sbuf_putc(sb, '[');
		for (size_t i = 0; !err && i < json_array_size(v); i++) {
			if (i)
				err = sbuf_putc(sb, ',');
			if (!err)
				err = encode_value(json_array_get(v, i), sb,
						   depth + 1);
		}
		if (!err)
			err = sbuf_putc(sb, ']');
		return err;
	case JSON_STRING:
		return canonjson_string(json_string_value(v),
					json_string_length(v), sb);
	case JSON_INTEGER: {
		json_int_t n = json_integer_value(v);

		if (n > CANONJSON_INT_MAX || n < -CANONJSON_INT_MAX)
			return SC_EINVAL;
		return sbuf_printf(sb, "%lld", (long long)n);
	}
	case JSON_REAL:
		return SC_EINVAL;
	case JSON_TRUE:
		return sbuf_puts(sb, "true");
	case JSON_FALSE:
		return sbuf_puts(sb, "false");
	case JSON_NULL:
		return sbuf_puts(sb, "null");
	}
	return SC_EINVAL;
}

sc_err canonjson_encode(json_t *v, struct sbuf *out)
{
	size_t start = out->len;
	sc_err err = encode_value(v, out, 0);

	if (err)
		sbuf_setlen(out, start);
	return err;
}

sc_err canonjson_signable(json_t *obj, struct sbuf *out)
{
	size_t start = out->len;
	sc_err err;

	if (!json_is_object(obj))
		return SC_EINVAL;
	err = encode_object(obj, out, 0, 1);
	if (err)
		sbuf_setlen(out, start);
	return err;
}
