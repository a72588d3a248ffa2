/* SPDX-License-Identifier: MIT */
/* test_sbuf.c - the growable buffer keeps its limit and escapes right. */
#include <limits.h>
#include <stdlib.h>

#include "harness.h"
#include "sbuf.h"
#include "banned.h"

static void test_append_and_printf(void)
{
	struct sbuf sb;
	sbuf_init(&sb, 0);
	CHECK_STR(sb.buf, "");
	CHECK_OK(sbuf_puts(&sb, "T"));
	CHECK_OK(sbuf_printf(&sb, "%d: %s", 12, "pick tracker"));
	CHECK_STR(sb.buf, "T12: pick tracker");
	CHECK_INT(sb.len, 17);
	sbuf_release(&sb);
	CHECK_STR(sb.buf, "");
}

static void test_max_is_hard(void)
{
	struct sbuf sb;
	sbuf_init(&sb, 8);
	CHECK_OK(sbuf_puts(&sb, "12345678"));
	CHECK_INT(sbuf_putc(&sb, 'x'), SC_ETOOBIG);
	CHECK_INT(sbuf_printf(&sb, "%s", "more"), SC_ETOOBIG);
	CHECK_STR(sb.buf, "12345678");
	sbuf_release(&sb);
}

static void test_html_escape(void)
{
	struct sbuf sb;
	sbuf_init(&sb, 0);
	CHECK_OK(sbuf_html(&sb, "<b>\"x\" & 'y'</b>"));
	CHECK_STR(sb.buf, "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
	sbuf_release(&sb);
}

static void test_html_escape_rolls_back_on_limit(void)
{
	struct sbuf sb;
	sbuf_init(&sb, 6);
	CHECK_OK(sbuf_puts(&sb, "ab"));
	CHECK_INT(sbuf_html(&sb, "<<"), SC_ETOOBIG);
	CHECK_STR(sb.buf, "ab");
	sbuf_release(&sb);
}

static void test_urlenc(void)
{
	struct sbuf sb;
	sbuf_init(&sb, 0);
	CHECK_OK(sbuf_urlenc(&sb, "!abc:example.org"));
	CHECK_STR(sb.buf, "%21abc%3Aexample.org");
	sbuf_release(&sb);
}

static void test_detach(void)
{
	struct sbuf sb;
	char *s;
	size_t n;
	sbuf_init(&sb, 0);
	s = sbuf_detach(&sb, &n);
	CHECK_STR(s, "");
	CHECK_INT(n, 0);
	free(s);
	CHECK_OK(sbuf_puts(&sb, "kept"));
	s = sbuf_detach(&sb, &n);
	CHECK_STR(s, "kept");
	CHECK_STR(sb.buf, "");
	free(s);
}

/* printf formats in place when it fits, grows when it does not, and
 * fails at the limit without changing the buffer. */
static void test_printf_grows_and_fails_cleanly(void)
{
	struct sbuf sb;
	sbuf_init(&sb, 100);
	CHECK_OK(sbuf_puts(&sb, "x"));
	CHECK_OK(sbuf_printf(&sb, "%s", "a string longer than the first 64 bytes"
				      " of the buffer, so that it must grow"));
	CHECK_INT(sb.len, 76);
	CHECK_INT(sbuf_printf(&sb, "%30s", "over the limit"), SC_ETOOBIG);
	CHECK_INT(sb.len, 76);
	CHECK_INT(sb.buf[76], '\0');
	CHECK_OK(sbuf_printf(&sb, "%d", 42));
	CHECK_INT(sb.len, 78);
	sbuf_release(&sb);
}

static void test_addint(void)
{
	struct sbuf sb;
	sbuf_init(&sb, 0);
	CHECK_OK(sbuf_addint(&sb, 0));
	CHECK_OK(sbuf_putc(&sb, ' '));
	CHECK_OK(sbuf_addint(&sb, -12));
	CHECK_OK(sbuf_putc(&sb, ' '));
	CHECK_OK(sbuf_addint(&sb, LLONG_MAX));
	CHECK_OK(sbuf_putc(&sb, ' '));
	CHECK_OK(sbuf_addint(&sb, LLONG_MIN));
	CHECK_STR(sb.buf, "0 -12 9223372036854775807 -9223372036854775808");
	sbuf_release(&sb);
}

TESTS(TEST(test_append_and_printf), TEST(test_max_is_hard),
      TEST(test_printf_grows_and_fails_cleanly), TEST(test_addint),
      TEST(test_html_escape), TEST(test_html_escape_rolls_back_on_limit),
      TEST(test_urlenc), TEST(test_detach))
