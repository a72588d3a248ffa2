/* SPDX-License-Identifier: MIT */
/* log.c - one-line diagnostics on stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "banned.h"

static enum log_level log_level = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	va_list ap;

	if (lvl > log_level)
		return;
	flockfile(stderr); /* one line, even when two threads log */
	fprintf(stderr, "scribe: %s: ", names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
