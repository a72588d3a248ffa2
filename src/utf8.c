/* SPDX-License-Identifier: MIT */
/* utf8.c - UTF-8 validation and safe truncation (see utf8.h). */
#include "utf8.h"
#include "banned.h"

size_t utf8_char_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c, cp, min;
	size_t n;

	if (!len || !s[0])
		return 0;
	c = s[0];
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0) {
		n = 1; cp = c & 0x1F; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 2; cp = c & 0x0F; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 3; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (len <= n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n + 1;
}

int utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_char_len(s + i, len - i);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

size_t utf8_cut(const char *str, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && (s[n] & 0xC0) == 0x80)
		n--;
	return n;
}
