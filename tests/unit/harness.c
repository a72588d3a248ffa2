/* SPDX-License-Identifier: MIT */
/* harness.c - the unit-test harness (see harness.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "banned.h"

jmp_buf th_jmp;
char th_why[1024];

void th_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(th_why, sizeof(th_why), "%s:%d: ", file, line);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(th_why))
		vsnprintf(th_why + n, sizeof(th_why) - (size_t)n, fmt, ap);
	va_end(ap);
	longjmp(th_jmp, 1);
}

int th_run(const char *name, void (*fn)(void))
{
	if (setjmp(th_jmp) == 0) {
		fn();
		printf("ok - %s\n", name);
		fflush(stdout);
		return 0;
	}
	printf("not ok - %s: %s\n", name, th_why);
	fflush(stdout);
	return 1;
}

const char *th_tmpdir(void)
{
	static char dir[512];
	const char *base;

	if (dir[0])
		return dir;
	base = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/scribe-test-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	return dir;
}
