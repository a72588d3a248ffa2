/* SPDX-License-Identifier: MIT */
/*
 * when_int.h - what the two halves of when.h share: when.c (the
 * calendar, time zones, weekly windows and slots, formatting) and
 * when_parse.c (the words people type for dates, times, durations and
 * schedules). Not a public interface: when.h is.
 *
 * A local day is the count of days since 1970-01-01 in the proleptic
 * Gregorian calendar; "local seconds" are day * 86400 + seconds of the
 * day on the wall clock. Only tz_resolve needs the zone.
 */
#ifndef SCRIBE_WHEN_INT_H
#define SCRIBE_WHEN_INT_H

#include <stdint.h>

#include "when.h"

#define DAY_SECS 86400
#define DAY_MINUTES 1440
#define WEEK_MINUTES (7 * DAY_MINUTES)

/* ---- calendar arithmetic (Howard Hinnant's civil-day algorithms) ----
 * Inline: an export converts millions of times (when_utc). */

static inline int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 +
	      (unsigned)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static inline void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 0 = Monday .. 6 = Sunday; day 0 (1970-01-01) was a Thursday. */
static inline int weekday_of(int64_t day)
{
	return (int)((day % 7 + 7 + 3) % 7);
}

/* ---- the zone of one public call (when.c) ---- */

struct tzsave {
	char *old; /* copy of the previous TZ; NULL when it was unset */
};

/* Switch the process to zone tz (SC_EINVAL when when_tz_valid refuses
 * it); every SC_OK must be undone with tz_leave. */
sc_err tz_enter(const char *tz, struct tzsave *save);
void tz_leave(struct tzsave *save);
/* The local day and second of the day of instant t in the current zone. */
sc_err tz_local_day(int64_t t, int64_t *day, int *sod);
/* The instant at local seconds ls in the current zone: of two (fall-back)
 * the earlier; inside a gap moved forward by the gap, or with after_gap
 * the first instant after it. */
sc_err tz_resolve(int64_t ls, int after_gap, int64_t *out);

#endif
