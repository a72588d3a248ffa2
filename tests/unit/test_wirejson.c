/* SPDX-License-Identifier: MIT */
/*
 * test_wirejson.c - network JSON that jansson refuses by default (seen
 * from real Synapse: one such event stopped every later /sync) is
 * repaired, never refused as a whole.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sbuf.h"
#include "wirejson.h"

/* Parse text; the body of the first event in a sync-like wrapper. */
static json_t *load(const char *text)
{
	json_error_t e;
	json_t *v = wire_json_loadb(text, strlen(text), 0, &e);

	if (!v)
		th_fail(__FILE__, __LINE__, "refused: %s (%s)", e.text, text);
	return v;
}

static json_t *get(const json_t *v, const char *key)
{
	return json_object_get(v, key);
}

static void test_nul_escape_is_kept_and_flagged(void)
{
	json_t *v = load("{\"body\":\"hello \\u0000 world\",\"n\":1}");

	CHECK_INT(json_string_length(get(v, "body")), 13);
	CHECK(wire_json_clean_str(get(v, "body")) == NULL);
	CHECK_INT(json_integer_value(get(v, "n")), 1);
	json_decref(v);
}

static void test_lone_surrogates_become_nul(void)
{
	json_t *v = load("{\"a\":\"x\\udc00y\",\"b\":\"\\ud800\",\"c\":\"\\udc00\\ud800z\","
			 "\"ok\":\"\\ud83d\\ude00\"}");

	CHECK(wire_json_clean_str(get(v, "a")) == NULL);
	CHECK_INT(json_string_length(get(v, "a")), 3);
	CHECK(wire_json_clean_str(get(v, "b")) == NULL);
	CHECK(wire_json_clean_str(get(v, "c")) == NULL);
	/* a proper pair is the character it stands for */
	CHECK_STR(wire_json_clean_str(get(v, "ok")), "\xF0\x9F\x98\x80");
	json_decref(v);
}

static void test_big_numbers_are_clamped(void)
{
	json_t *v = load("{\"ts\":123456789012345678901234567890,"
			 "\"neg\":-123456789012345678901234567890,\"r\":1e999,"
			 "\"small\":1e-999,\"max\":9223372036854775807}");

	CHECK(json_integer_value(get(v, "ts")) == INT64_MAX);
	CHECK(json_integer_value(get(v, "neg")) == INT64_MIN);
	CHECK(json_real_value(get(v, "r")) > 1e308);
	CHECK(json_is_real(get(v, "small")));
	CHECK(json_integer_value(get(v, "max")) == INT64_MAX);
	json_decref(v);
}

static void test_bad_bytes_and_escapes(void)
{
	/* a stray continuation byte, a raw tab, an unknown escape */
	json_t *v = load("{\"a\":\"x\x80y\",\"b\":\"t\tb\",\"c\":\"q\\qz\","
			 "\"d\":\"\\u12\"}");

	CHECK(wire_json_clean_str(get(v, "a")) == NULL);
	CHECK_STR(wire_json_clean_str(get(v, "b")), "t\tb");
	CHECK(wire_json_clean_str(get(v, "c")) == NULL);
	CHECK(wire_json_clean_str(get(v, "d")) == NULL);
	json_decref(v);
}

static void test_keys_never_hold_nul(void)
{
	json_t *v = load("{\"a\\u0000b\":1, \"c\\udc00\" :2,\"e\":{\"f\\u0000\":3}}");

	CHECK_INT(json_integer_value(get(v, "a\xEF\xBF\xBD" "b")), 1);
	CHECK_INT(json_integer_value(get(v, "c\xEF\xBF\xBD")), 2);
	CHECK_INT(json_integer_value(get(get(v, "e"), "f\xEF\xBF\xBD")), 3);
	json_decref(v);
}

static void test_deep_nesting_becomes_null(void)
{
	size_t depth = 5000;
	struct sbuf text;
	json_t *v, *deep;

	sbuf_init(&text, 0);
	CHECK_OK(sbuf_puts(&text, "{\"ok\":1,\"deep\":"));
	for (size_t i = 0; i < depth; i++)
		CHECK_OK(sbuf_putc(&text, '['));
	CHECK_OK(sbuf_puts(&text, "\"]\""));
	for (size_t i = 0; i < depth; i++)
		CHECK_OK(sbuf_putc(&text, ']'));
	CHECK_OK(sbuf_puts(&text, ",\"after\":2}"));
	v = load(text.buf);
	sbuf_release(&text);
	CHECK_INT(json_integer_value(get(v, "ok")), 1);
	CHECK_INT(json_integer_value(get(v, "after")), 2);
	/* kept down to the limit, null below it */
	deep = get(v, "deep");
	for (int i = 1; i < WIRE_JSON_MAX_DEPTH - 1; i++)
		deep = json_array_get(deep, 0);
	CHECK(json_is_array(deep));
	CHECK(json_is_null(json_array_get(deep, 0)));
	json_decref(v);
}

static void test_duplicate_keys_last_wins(void)
{
	json_t *v = load("{\"body\":\"a\",\"body\":\"!todo b\"}");

	CHECK_STR(json_string_value(get(v, "body")), "!todo b");
	json_decref(v);
}

static void test_not_json_is_refused(void)
{
	json_error_t e;
	static const char *bad[] = { "{\"a\":", "", "nope", "{\"a\":1}}", "[1,]" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(wire_json_loadb(bad[i], strlen(bad[i]), 0, &e) == NULL);
}

static void test_repaired_text_dumps_and_loads_again(void)
{
	/* what the store keeps (json_dumps) must load back */
	json_t *v = load("{\"a\":\"x\\udc00\\u0000\",\"k\\u0000\":123456789012345678901234567890}");
	char *text = json_dumps(v, JSON_COMPACT);
	json_error_t e;
	json_t *back;

	CHECK(text);
	back = wire_json_loadb(text, strlen(text), 0, &e);
	CHECK(back);
	CHECK(json_equal(v, back));
	json_decref(back);
	free(text);
	json_decref(v);
}

TESTS(TEST(test_nul_escape_is_kept_and_flagged), TEST(test_lone_surrogates_become_nul),
      TEST(test_big_numbers_are_clamped), TEST(test_bad_bytes_and_escapes),
      TEST(test_keys_never_hold_nul), TEST(test_deep_nesting_becomes_null),
      TEST(test_duplicate_keys_last_wins), TEST(test_not_json_is_refused),
      TEST(test_repaired_text_dumps_and_loads_again))
