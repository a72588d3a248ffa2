/* SPDX-License-Identifier: MIT */
/*
 * fuzz_when.c - libFuzzer target for the date and schedule parsers
 * (when.h): every parser gets the input as a string, in a zone chosen by
 * the first byte. Parsers must not crash, and what they accept must
 * round-trip where the header promises a canonical form (day masks).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "when.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zones[] = {
	"UTC", "Europe/Berlin", "America/Toronto", "Australia/Lord_Howe",
	"Pacific/Chatham", "Asia/Kolkata", "America/St_Johns", "Nope/Nowhere",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a fixed clock (Mon 2026-11-23 15:00 UTC) plus a fuzzed offset */
	int64_t now = 1795446000, out = 0, secs = 0;
	const char *tz;
	unsigned mask = 0, mask2 = 0;
	int minute = 0, start = 0, end = 0;
	struct sbuf sb;
	char *s;

	if (size < 2 || size > 256)
		return 0;
	tz = zones[data[0] % (sizeof(zones) / sizeof(zones[0]))];
	now += (int64_t)(data[1] - 128) * 86400 * 3 + data[1] * 3607;
	s = malloc(size - 1);
	if (!s)
		return 0;
	memcpy(s, data + 2, size - 2);
	s[size - 2] = '\0';

	when_tz_valid(s);
	if (when_parse_duration(s, &secs) == SC_OK && secs <= 0)
		abort(); /* the header promises > 0 */
	when_parse_due(s, now, tz, &out);
	when_parse_since(s, now, tz, &out);
	if (when_parse_hhmm(s, &minute) == SC_OK && (minute < 0 || minute > 1439))
		abort();
	if (when_parse_days(s, &mask) == SC_OK) {
		if (!mask || mask > 0x7f)
			abort();
		sbuf_init(&sb, 0);
		if (when_format_days(mask, &sb) == SC_OK &&
		    (when_parse_days(sb.buf, &mask2) != SC_OK || mask2 != mask))
			abort(); /* the short form must read back the same */
		sbuf_release(&sb);
	}
	if (when_parse_window(s, &start, &end) == SC_OK) {
		if (start < 0 || start > 10079 || end < 0 || end > 10080)
			abort();
		when_in_window(now, tz, start, end);
	}
	if (when_parse_hhmm(s, &minute) == SC_OK && when_parse_days("mon-fri", &mask) == SC_OK)
		when_next_slot(now, tz, minute, mask, &out);
	/* reminders: the input's words as a time, a recurrence and hours;
	 * a relative time is after now, hours read back the same */
	{
		char *w[16], *save = NULL, *copy = strdup(s);
		int n = 0, used = 0;

		for (char *p = copy ? strtok_r(copy, " ", &save) : NULL; p && n < 16;
		     p = strtok_r(NULL, " ", &save))
			w[n++] = p;
		if (n && when_parse_at(w, n, now, tz, &out, &used) == SC_OK &&
		    (used < 1 || used > n || (w[0][0] == '+' && out <= now)))
			abort();
		if (n && when_parse_every(w, n, &mask, &minute, &used) == SC_OK &&
		    (!mask || mask > 0x7f || minute < 0 || minute > 1439 || used > n))
			abort();
		free(copy);
	}
	if (when_parse_hours(s, &mask, &start, &end) == SC_OK) {
		unsigned m2 = 0;
		int s2 = 0, e2 = 0;

		if (!mask || mask > 0x7f || start < 0 || start > 1439 || end < 0 ||
		    end > 1439)
			abort();
		sbuf_init(&sb, 0);
		if (when_format_hours(mask, start, end, &sb) == SC_OK &&
		    (when_parse_hours(sb.buf, &m2, &s2, &e2) != SC_OK || m2 != mask ||
		     s2 != start || e2 != end))
			abort();
		sbuf_release(&sb);
		when_hours_open(now, tz, mask, start, end, &out);
	}
	sbuf_init(&sb, 0);
	when_format_short(now + secs, now, tz, &sb);
	when_format_duration(secs, &sb);
	sbuf_release(&sb);
	free(s);
	return 0;
}
