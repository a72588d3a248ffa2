/* SPDX-License-Identifier: MIT */
/*
 * log.h - one-line diagnostics on stderr.
 *
 * Format: `scribe: <level>: <message>`; messages are lowercase, without a
 * trailing period, and name what failed. Never pass a secret (access
 * token, password, pickle key) to these functions.
 */
#ifndef SCRIBE_LOG_H
#define SCRIBE_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped; default LOG_INFO. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
