/* SPDX-License-Identifier: MIT */
/*
 * harness.h - the unit-test harness.
 *
 * A test file defines functions `static void test_xxx(void)` and lists them
 * in `TESTS(...)`. Each test prints `ok - name` or `not ok - name: why`;
 * tests/run counts these lines over every test binary and prints the
 * final `N passed, N failed`. A check that fails ends its test (the
 * remaining checks of that test are not run) but not the binary.
 */
#ifndef SCRIBE_TEST_HARNESS_H
#define SCRIBE_TEST_HARNESS_H

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

extern jmp_buf th_jmp;
extern char th_why[1024];

void th_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
int th_run(const char *name, void (*fn)(void));
/* A fresh scratch directory for this test binary (under $TMPDIR). */
const char *th_tmpdir(void);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond))                                               \
			th_fail(__FILE__, __LINE__, "%s", #cond);          \
	} while (0)

#define CHECK_INT(got, want)                                               \
	do {                                                               \
		long long g_ = (long long)(got), w_ = (long long)(want);   \
		if (g_ != w_)                                              \
			th_fail(__FILE__, __LINE__, "%s = %lld, want %lld", \
				#got, g_, w_);                             \
	} while (0)

#define CHECK_STR(got, want)                                               \
	do {                                                               \
		const char *g_ = (got), *w_ = (want);                      \
		if (!g_ || !w_ || strcmp(g_, w_) != 0)                     \
			th_fail(__FILE__, __LINE__,                        \
				"%s\n  got:  \"%s\"\n  want: \"%s\"", #got, \
				g_ ? g_ : "(null)", w_ ? w_ : "(null)");   \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                        \
	do {                                                               \
		const char *h_ = (hay), *n_ = (needle);                    \
		if (!h_ || !strstr(h_, n_))                                \
			th_fail(__FILE__, __LINE__,                        \
				"%s does not contain \"%s\"\n  got: \"%s\"", \
				#hay, n_, h_ ? h_ : "(null)");             \
	} while (0)

#define CHECK_OK(expr)                                                     \
	do {                                                               \
		int e_ = (int)(expr);                                      \
		if (e_ != 0)                                               \
			th_fail(__FILE__, __LINE__, "%s failed: %d", #expr, \
				e_);                                       \
	} while (0)

struct th_case {
	const char *name;
	void (*fn)(void);
};

#define TEST(fn) { #fn, fn }
#define TESTS(...)                                                         \
	int main(void)                                                     \
	{                                                                  \
		static const struct th_case cases[] = { __VA_ARGS__ };     \
		int failed = 0;                                            \
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) \
			failed += th_run(cases[i].name, cases[i].fn);      \
		return failed ? 1 : 0;                                     \
	}

#endif
