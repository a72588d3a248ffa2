/* SPDX-License-Identifier: MIT */
/*
 * test_canonjson.c - canonical JSON against golden files. Every
 * tests/data/canonjson/NAME.in.json is encoded and compared with
 * NAME.out.json (one trailing newline ignored); a NAME starting with
 * "reject-" has no .out.json and must be refused with SC_EINVAL. The
 * spec-* pairs are the examples of the Matrix spec appendix on canonical
 * JSON; its last example ({"a": -0, "b": 1e10}) is split in two because
 * scribe refuses reals such as 1e10 outright (Matrix canonical JSON has no floats).
 * A real matrix-nio device_keys object (fixtures/synapse/43, bob's
 * device) checks that signatures made elsewhere verify over our bytes.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "crypto.h"
#include "harness.h"
#include "sbuf.h"
#include "banned.h"

#define DATA_DIR "tests/data/canonjson"
#define FIXTURE DATA_DIR "/fixture43-bob-device.in.json"

static json_t *load(const char *path)
{
	json_error_t jerr;
	json_t *v = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL |
					 JSON_REJECT_DUPLICATES, &jerr);

	if (!v)
		th_fail(__FILE__, __LINE__, "cannot load %s: %s", path,
			jerr.text);
	return v;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct sbuf sb;
	char chunk[4096];
	size_t n;

	if (!f)
		th_fail(__FILE__, __LINE__, "cannot open %s", path);
	sbuf_init(&sb, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		CHECK_OK(sbuf_add(&sb, chunk, n));
	fclose(f);
	if (sb.len && sb.buf[sb.len - 1] == '\n')
		sbuf_setlen(&sb, sb.len - 1);
	return sbuf_detach(&sb, len);
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_one(const char *name)
{
	char in[512], outp[512];
	size_t base = strlen(name) - strlen(".in.json");
	struct sbuf sb;
	json_t *v;
	sc_err err;

	snprintf(in, sizeof(in), "%s/%s", DATA_DIR, name);
	snprintf(outp, sizeof(outp), "%s/%.*s.out.json", DATA_DIR, (int)base,
		 name);
	v = load(in);
	sbuf_init(&sb, 0);
	CHECK_OK(sbuf_puts(&sb, "keep"));
	err = canonjson_encode(v, &sb);
	if (strncmp(name, "reject-", 7) == 0) {
		if (err != SC_EINVAL)
			th_fail(__FILE__, __LINE__, "%s: got %s, want refusal",
				name, err ? sc_strerror(err) : sb.buf);
		if (strcmp(sb.buf, "keep") != 0)
			th_fail(__FILE__, __LINE__,
				"%s: buffer not rolled back", name);
	} else {
		size_t wlen;
		char *want = slurp(outp, &wlen);

		if (err)
			th_fail(__FILE__, __LINE__, "%s: %s", name,
				sc_strerror(err));
		if (sb.len - 4 != wlen || memcmp(sb.buf + 4, want, wlen) != 0)
			th_fail(__FILE__, __LINE__,
				"%s\n  got:  %s\n  want: %s", name, sb.buf + 4,
				want);
		free(want);
	}
	sbuf_release(&sb);
	json_decref(v);
}

static void test_golden_files(void)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *de;
	char *names[256];
	size_t n = 0, spec = 0, reject = 0;

	if (!d)
		th_fail(__FILE__, __LINE__, "cannot open %s (run from the "
			"repository root)", DATA_DIR);
	while ((de = readdir(d)) != NULL && n < 256) {
		if (has_suffix(de->d_name, ".in.json"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		spec += strncmp(names[i], "spec-", 5) == 0;
		reject += strncmp(names[i], "reject-", 7) == 0;
		check_one(names[i]);
		free(names[i]);
	}
	CHECK(n >= 20);
	CHECK(spec >= 10);
	CHECK(reject >= 4);
}

static void test_signable_drops_only_top_level(void)
{
	json_t *v = json_pack("{s:s, s:{s:{s:s}}, s:{s:i}, s:{s:{s:i}, s:{}}}",
			      "b", "x", "signatures", "@u:h", "ed25519:D",
			      "sig", "unsigned", "age", 5, "a", "unsigned",
			      "k", 1, "signatures");
	struct sbuf sb;

	CHECK(v != NULL);
	sbuf_init(&sb, 0);
	CHECK_OK(canonjson_signable(v, &sb));
	CHECK_STR(sb.buf, "{\"a\":{\"signatures\":{},\"unsigned\":{\"k\":1}},"
			  "\"b\":\"x\"}");
	sbuf_release(&sb);
	json_decref(v);
	/* only objects are signable */
	v = json_array();
	CHECK_INT(canonjson_signable(v, &sb), SC_EINVAL);
	CHECK_INT(sb.len, 0);
	json_decref(v);
}

/* jansson's parser refuses NUL in keys, but json_object_setn does not:
 * keys are compared with their length, and a prefix sorts first. */
static void test_nul_in_keys(void)
{
	json_t *v = json_object();
	struct sbuf sb;

	CHECK_OK(json_object_setn_new(v, "a\0b", 3, json_integer(1)));
	CHECK_OK(json_object_set_new(v, "a", json_integer(2)));
	CHECK_OK(json_object_setn_new(v, "a\0", 2, json_integer(3)));
	sbuf_init(&sb, 0);
	CHECK_OK(canonjson_encode(v, &sb));
	CHECK_STR(sb.buf, "{\"a\":2,\"a\\u0000\":3,\"a\\u0000b\":1}");
	sbuf_release(&sb);
	json_decref(v);
}

static void test_refuses_bad_values(void)
{
	struct sbuf sb;
	json_t *v, *deep;

	sbuf_init(&sb, 0);
	/* strings that bypassed jansson's UTF-8 check */
	v = json_stringn_nocheck("\xff\xfe", 2);
	CHECK_INT(canonjson_encode(v, &sb), SC_EINVAL);
	json_decref(v);
	v = json_stringn_nocheck("\xed\xa0\x80", 3); /* a UTF-16 surrogate */
	CHECK_INT(canonjson_encode(v, &sb), SC_EINVAL);
	json_decref(v);
	v = json_real(1.0);
	CHECK_INT(canonjson_encode(v, &sb), SC_EINVAL);
	json_decref(v);
	/* too deep */
	deep = json_array();
	for (int i = 0; i < 300; i++) {
		json_t *outer = json_array();
		json_array_append_new(outer, deep);
		deep = outer;
	}
	CHECK_INT(canonjson_encode(deep, &sb), SC_EINVAL);
	json_decref(deep);
	CHECK_INT(sb.len, 0);
	sbuf_release(&sb);
}

/* The escapes of the spec's grammar, one byte at a time. */
static void escape_slowly(struct sbuf *sb, const char *s, size_t n)
{
	sbuf_putc(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			sbuf_printf(sb, "\\%c", c);
		else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
			sbuf_printf(sb, "\\%c", c == '\b' ? 'b' : c == '\f' ? 'f' :
						c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
		else if (c < 0x20)
			sbuf_printf(sb, "\\u%04x", c);
		else
			sbuf_putc(sb, (char)c);
	}
	sbuf_putc(sb, '"');
}

/* Every byte that needs an escape, and UTF-8, at every place of
 * strings around the 8 bytes the encoder looks at at once. */
static void test_string_escapes_everywhere(void)
{
	static const char *const odd[] = { "\"", "\\", "\b", "\t", "\n", "\x01",
					   "\x1f", "\x7f", "é", "€", "😀", " " };
	struct sbuf got, want;

	sbuf_init(&got, 0);
	sbuf_init(&want, 0);
	for (size_t len = 0; len < 20; len++) {
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t k = 0; k < sizeof(odd) / sizeof(*odd); k++) {
				char in[40];
				size_t n = strlen(odd[k]);

				memset(in, 'a', len);
				memcpy(in + pos, odd[k], n);
				memset(in + pos + n, 'b', len - pos);
				sbuf_setlen(&got, 0);
				sbuf_setlen(&want, 0);
				CHECK_OK(canonjson_string(in, len + n, &got));
				escape_slowly(&want, in, len + n);
				CHECK_STR(got.buf, want.buf);
			}
		}
	}
	/* a NUL is escaped; invalid UTF-8 after a long plain start is refused */
	sbuf_setlen(&got, 0);
	CHECK_OK(canonjson_string("abcdefghij\0k", 12, &got));
	CHECK_STR(got.buf, "\"abcdefghij\\u0000k\"");
	sbuf_setlen(&got, 0);
	CHECK_INT(canonjson_string("abcdefghijklmnop\xc3", 17, &got), SC_EINVAL);
	CHECK_INT(canonjson_string("abcdefghijklmnop\xff\x80rest", 20, &got),
		  SC_EINVAL);
	sbuf_release(&got);
	sbuf_release(&want);
}

static void test_buffer_limit_rolls_back(void)
{
	struct sbuf sb;
	json_t *v = json_pack("{s:s}", "key", "a value longer than the limit");

	sbuf_init(&sb, 16);
	CHECK_OK(sbuf_puts(&sb, "abc"));
	CHECK_INT(canonjson_encode(v, &sb), SC_ETOOBIG);
	CHECK_STR(sb.buf, "abc");
	sbuf_release(&sb);
	json_decref(v);
}

/* A device_keys object signed by matrix-nio verifies over our bytes. */
static void test_fixture_signature_verifies(void)
{
	json_t *dev = load(FIXTURE);
	struct sbuf sb;
	const char *ed, *sig;

	ed = json_string_value(json_object_get(json_object_get(dev, "keys"),
					       "ed25519:OMEZEAYXNS"));
	sig = json_string_value(json_object_get(
		json_object_get(json_object_get(dev, "signatures"),
				"@bob:localhost"),
		"ed25519:OMEZEAYXNS"));
	CHECK(ed && sig);
	sbuf_init(&sb, 0);
	CHECK_OK(canonjson_signable(dev, &sb));
	CHECK(strstr(sb.buf, "unsigned") == NULL);
	CHECK(strstr(sb.buf, "signatures") == NULL);
	CHECK_OK(crypto_verify_ed25519(ed, sb.buf, sb.len, sig));
	CHECK_OK(crypto_verify_signed_json(dev, "@bob:localhost",
					   "ed25519:OMEZEAYXNS", ed));

	/* one changed byte and the signature no longer holds */
	sb.buf[sb.len - 3] ^= 1;
	CHECK_INT(crypto_verify_ed25519(ed, sb.buf, sb.len, sig), SC_ECRYPTO);
	sbuf_release(&sb);
	json_object_set_new(dev, "device_id", json_string("OMEZEAYXNT"));
	CHECK_INT(crypto_verify_signed_json(dev, "@bob:localhost",
					    "ed25519:OMEZEAYXNS", ed),
		  SC_ECRYPTO);
	/* ... while `unsigned` is not covered */
	json_object_set_new(dev, "device_id", json_string("OMEZEAYXNS"));
	json_object_set_new(dev, "unsigned", json_pack("{s:s}", "x", "y"));
	CHECK_OK(crypto_verify_signed_json(dev, "@bob:localhost",
					   "ed25519:OMEZEAYXNS", ed));
	json_decref(dev);
}

TESTS(TEST(test_golden_files), TEST(test_string_escapes_everywhere), TEST(test_signable_drops_only_top_level),
      TEST(test_nul_in_keys), TEST(test_refuses_bad_values),
      TEST(test_buffer_limit_rolls_back),
      TEST(test_fixture_signature_verifies))
