/* SPDX-License-Identifier: MIT */
/*
 * canonjson.h - Matrix canonical JSON of a jansson value, the byte string
 * every ed25519 signature in Matrix is computed over (spec appendix
 * "Signing JSON"). Object keys are sorted by their UTF-8 bytes (which is
 * Unicode codepoint order, not UTF-16 order), there is no whitespace,
 * strings carry only the mandatory escapes (`\"`, `\\`, `\b \f \n \r \t`
 * and `\u00xx` with lowercase hex for the other control characters) and
 * everything else, non-ASCII included, is raw UTF-8. Numbers must be
 * integers in [-(2^53-1), 2^53-1]; reals are refused even when integral
 * (`1e10`, `2.0`), because jansson cannot tell us how they were written
 * and a signature over a rewritten number would not verify elsewhere.
 *
 * Both functions append to an sbuf (see sbuf.h) and leave it exactly as
 * it was on failure. The value is only read, never modified; the
 * non-const pointer is jansson's iteration API leaking through.
 */
#ifndef SCRIBE_CANONJSON_H
#define SCRIBE_CANONJSON_H

#include <jansson.h>

#include "error.h"
#include "sbuf.h"

/* Largest magnitude of an integer canonical JSON may carry: 2^53 - 1. */
#define CANONJSON_INT_MAX 9007199254740991LL

/*
 * Append the canonical JSON of v (any JSON type) to out.
 * SC_EINVAL: v contains a real, an integer out of range, a string or key
 * that is not valid UTF-8, or is nested deeper than 256 levels.
 * SC_ETOOBIG / SC_ENOMEM: from the sbuf.
 */
sc_err canonjson_encode(json_t *v, struct sbuf *out);

/*
 * Append s (len bytes; NUL bytes allowed) as a JSON string in the
 * canonical form: the mandatory escapes only, everything else raw UTF-8.
 * `scribe export` writes its JSON lines with it too. SC_EINVAL when s
 * is not valid UTF-8.
 */
sc_err canonjson_string(const char *s, size_t len, struct sbuf *out);

/*
 * Append the canonical JSON of obj without its top-level `signatures`
 * and `unsigned` members: the bytes a Matrix signature of obj covers
 * (nested members with those names are kept, as the spec says).
 * SC_EINVAL when obj is not an object, else as canonjson_encode().
 */
sc_err canonjson_signable(json_t *obj, struct sbuf *out);

#endif
