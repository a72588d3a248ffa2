/* SPDX-License-Identifier: MIT */
/* utf8.h - UTF-8 validation and safe truncation. */
#ifndef SCRIBE_UTF8_H
#define SCRIBE_UTF8_H

#include <stddef.h>

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF) and contains no NUL, else 0. */
int utf8_valid(const char *s, size_t len);
/* The length (1 to 4) of the well-formed UTF-8 character at s[0..len),
 * or 0 when s starts with a NUL, a stray or truncated sequence. */
size_t utf8_char_len(const char *s, size_t len);
/* The largest n <= max such that s[0..n) does not end inside a UTF-8
 * sequence (for cutting long text without breaking a character). */
size_t utf8_cut(const char *s, size_t len, size_t max);

#endif
