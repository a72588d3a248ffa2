/* SPDX-License-Identifier: MIT */
/*
 * when.h - dates, durations, time zones and weekly schedules.
 *
 * All instants are int64_t seconds since the Unix epoch (UTC). Local
 * times are computed in an IANA zone name ("Europe/Toronto", "UTC");
 * the functions switch TZ internally and restore it, so they are not
 * thread-safe (scribe is single-threaded). Parsing is strict: anything
 * not understood, and impossible dates such as "feb30" or "2026-02-30",
 * give SC_EINVAL and leave the out-parameter untouched.
 *
 * Weekdays: 0 = Monday .. 6 = Sunday. Day masks: bit d set = weekday d.
 */
#ifndef SCRIBE_WHEN_H
#define SCRIBE_WHEN_H

#include <stdint.h>
#include <time.h>

#include "error.h"
#include "sbuf.h"

/* 1 if tz names a zone in the system's tz database (or is "UTC"). */
int when_tz_valid(const char *tz);

/* Broken-down UTC time of t, as gmtime_r gives it but computed here:
 * no lock, no zone lookup (an export converts millions of times).
 * SC_EINVAL when the year does not fit tm_year. */
sc_err when_utc(int64_t t, struct tm *out);
/* Broken-down local time of t in tz (tm_isdst etc. filled). */
sc_err when_local(const char *tz, int64_t t, struct tm *out);
/* Instant of the local wall-clock time tm in tz. A time that does not
 * exist (spring-forward gap) moves forward by the gap; an ambiguous one
 * (fall-back) resolves to the earlier instant. Fields may be out of
 * range (mday 32) and are normalised as by mktime. */
sc_err when_from_local(const char *tz, const struct tm *tm, int64_t *out);

/* Duration "30m", "4h", "2d", "3w", "90s", or combined "1d12h".
 * Case-insensitive. Result in seconds, > 0. */
sc_err when_parse_duration(const char *s, int64_t *secs);

/*
 * A due date typed by a user, relative to now in tz; one word or a few
 * separated by single spaces:
 *   today, tonight, tomorrow, eod, eow (Friday), mon..sun / monday..sunday
 *   (the next such day, never today), next fri (that day of next week),
 *   next week (Friday of next week), YYYY-MM-DD, MM-DD, dec1 / 1dec /
 *   december1 / dec 24 / 24 dec (the next such date, this year or next);
 *   any of them with a time after it: "fri 17:00", "2026-12-24 17:00",
 *   "tomorrow 9am", "fri@14:00", "2026-12-01T14:00"; a time alone,
 *   "17:00" (today, or tomorrow once it has passed);
 *   +3d / +2w / "in 3 days" / "in 2 weeks" (the end of that day, like a
 *   weekday), +4h / +30m / +1d12h / "in 2 hours" (exact, from now).
 * A date without a time means the end of that day (23:59:59 local). A
 * date in the past is returned as it is: the caller refuses it.
 */
sc_err when_parse_due(const char *s, int64_t now, const char *tz, int64_t *out);

/*
 * The start of a "since:" window: a duration back from now ("7d", "24h"),
 * a date (start of that day local), "today", "yesterday", or a weekday
 * (the start of the most recent such day before today).
 */
sc_err when_parse_since(const char *s, int64_t now, const char *tz, int64_t *out);

/* "09:00" or "9:30" -> minutes since midnight (0..1439). */
sc_err when_parse_hhmm(const char *s, int *minute);
/* "mon-fri", "mon,wed,fri", "sat-sun", "daily", "weekdays", "weekends",
 * "sun-thu" (wrapping ranges allowed) -> day mask, never 0. */
sc_err when_parse_days(const char *s, unsigned *mask);
/* Write a mask back in the shortest form ("mon-fri", "daily", "mon,wed"). */
sc_err when_format_days(unsigned mask, struct sbuf *out);

/*
 * The first instant strictly after `after` at local time `minute` on a
 * day in `mask`, in tz. On a spring-forward day where that local time
 * does not exist the slot is the first instant after the gap; on a
 * fall-back day the slot happens once (the earlier instant).
 */
sc_err when_next_slot(int64_t after, const char *tz, int minute, unsigned mask,
		      int64_t *out);

/* Parse a weekly window: "thu-sun" (whole days), "fri 17:00 - mon 08:00",
 * "wed 18:00 - sun". start/end in minutes since Monday 00:00. */
sc_err when_parse_window(const char *s, int *start, int *end);
/* 1 if t falls inside the weekly window [start, end) in tz. */
int when_in_window(int64_t t, const char *tz, int start, int end);

/* Append t rendered in tz with strftime format fmt. */
sc_err when_format(int64_t t, const char *tz, const char *fmt, struct sbuf *out);
/* Append a short human form relative to now: "today 14:05",
 * "yesterday 09:12", "Fri 27 Nov 14:05" (within a year), else
 * "2025-11-27 14:05". Times in tz. */
sc_err when_format_short(int64_t t, int64_t now, const char *tz, struct sbuf *out);
/* Append an ISO-8601 date "2026-11-27" of t in tz. */
sc_err when_format_date(int64_t t, const char *tz, struct sbuf *out);
/* Append a duration as "2h 5m", "3d 4h", "45s". */
sc_err when_format_duration(int64_t secs, struct sbuf *out);

/* ---- reminders: times, recurrences, ops hours ---- */

/*
 * A reminder's time from the first of n words (as typed), in tz,
 * relative to now; *used = how many words it took:
 *   in 2h, in 1h30m, in 2 hours, in 90 minutes, in an hour, +2h
 *   [at] 17:00, 5pm, 9:30am        the next such time (today or tomorrow)
 *   [on] fri [[at] 17:00]          the next such moment, today included
 *                                  while it is ahead
 *   today|tonight|tomorrow|2026-12-24|12-24|dec24|24dec [[at] 17:00]
 * A day without a time means 09:00 (tonight: 20:00). A time that does
 * not exist (spring forward) is the first instant after the gap. An
 * explicit date and time may lie in the past: the caller refuses it.
 */
sc_err when_parse_at(char *const *words, int n, int64_t now, const char *tz,
		     int64_t *out, int *used);

/*
 * "every DAYS [[at] TIME]" from words[0] ("every"): DAYS is a day, a
 * list or range (mon,thu / mon-fri / sun-thu), day or daily, weekday(s)
 * or weekend(s); TIME defaults to 09:00. *used = words taken.
 */
sc_err when_parse_every(char *const *words, int n, unsigned *days, int *minute,
			int *used);

/*
 * Ops hours: "sun-thu 09:00-18:00" (days, then a daily time range; an
 * end at or before the start runs past midnight into the next day).
 * Minutes since local midnight in *start and *end (0..1439).
 */
sc_err when_parse_hours(const char *s, unsigned *days, int *start, int *end);
/* 1 if t falls inside the hours in tz. */
int when_in_hours(int64_t t, const char *tz, unsigned days, int start, int end);
/* The first instant >= t at which the hours are open in tz. */
sc_err when_hours_open(int64_t t, const char *tz, unsigned days, int start,
		       int end, int64_t *out);
/* Append the hours back as "sun-thu 09:00-18:00". */
sc_err when_format_hours(unsigned days, int start, int end, struct sbuf *out);

#endif
