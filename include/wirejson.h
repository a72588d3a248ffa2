/* SPDX-License-Identifier: MIT */
/*
 * wirejson.h - JSON text from the network, parsed so that no event can
 * make a whole response unreadable.
 *
 * A /sync body carries what any room member or any user of any server
 * sent. Real homeservers forward content that jansson refuses by
 * default: "\u0000" escapes, lone UTF-16 surrogates ("\udc00"), integers
 * past int64, nesting deeper than jansson's limit. Refusing the body
 * would stop the bot for good (the same token is retried forever), so
 * wire_json_loadb repairs such text first, changing only what jansson
 * cannot hold:
 *
 *   - "\u0000" is kept (strings may hold a NUL: JSON_ALLOW_NUL); a
 *     lone surrogate, an unknown escape, an invalid UTF-8 byte becomes
 *     "\u0000" too, so every consumer has one thing to refuse: a string
 *     whose length is not its strlen() (wire_json_clean_str); in an
 *     object key, where jansson allows no NUL, it becomes U+FFFD;
 *   - a raw control character inside a string is escaped;
 *   - an integer past int64 is clamped to INT64_MAX / INT64_MIN, a real
 *     past double to +-DBL_MAX;
 *   - an array or object nested deeper than WIRE_JSON_MAX_DEPTH is
 *     replaced by null.
 *
 * Duplicate keys are allowed, the last one wins (as in JavaScript, so
 * scribe reads what Element shows). Well-formed input takes the fast
 * path: one json_loadb, no copy. Text that is not JSON at all (cut off,
 * garbage) is still refused.
 */
#ifndef SCRIBE_WIREJSON_H
#define SCRIBE_WIREJSON_H

#include <jansson.h>
#include <stddef.h>

#include "sbuf.h"

/* Deeper containers become null: far below jansson's own limit (2048),
 * far above any event a client sends. */
#define WIRE_JSON_MAX_DEPTH 256

/* Parse buf[0..len) (see above); flags are extra jansson decoding flags.
 * NULL only when the text is not JSON; err says why. */
json_t *wire_json_loadb(const char *buf, size_t len, size_t flags,
			json_error_t *err);

/* The repair on its own: append to out the repaired form of buf. */
sc_err wire_json_repair(const char *buf, size_t len, struct sbuf *out);

/* The string value of v when it is a string without a NUL (so without
 * anything the repair replaced), else NULL. */
const char *wire_json_clean_str(const json_t *v);

#endif
