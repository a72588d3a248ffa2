/* SPDX-License-Identifier: MIT */
/*
 * when.c - the calendar and the clock of when.h: broken-down UTC and
 * local times, time zones, weekly windows, the next slot of a weekly
 * schedule, ops hours, and instants and durations written for people.
 * The words people type are read in when_parse.c.
 *
 * Wall-clock arithmetic is done on plain numbers (when_int.h). Only the
 * last step, from local seconds to an instant, needs the zone: it is
 * done by tz_resolve(), which asks localtime_r for the UTC offsets around
 * the wanted time instead of trusting mktime's tm_isdst guessing, so that
 * DST gaps and overlaps (including 30-minute DST shifts and whole skipped
 * days) are handled on purpose. The zone is switched with setenv("TZ") +
 * tzset() for the duration of one public call and the previous TZ is put
 * back.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "when_int.h"
#include "banned.h"

static const char *const wday_abbr[7] = { "Mon", "Tue", "Wed", "Thu",
					  "Fri", "Sat", "Sun" };
static const char *const mon_abbr[12] = { "Jan", "Feb", "Mar", "Apr",
					  "May", "Jun", "Jul", "Aug",
					  "Sep", "Oct", "Nov", "Dec" };

/* ---- UTC (the civil-day algorithms are in when_int.h) ---- */

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

sc_err when_utc(int64_t t, struct tm *out)
{
	int64_t day = floordiv(t, DAY_SECS), secs = t - day * DAY_SECS, y;
	int m, d;

	civil_from_days(day, &y, &m, &d);
	if (y - 1900 < INT_MIN || y - 1900 > INT_MAX)
		return SC_EINVAL;
	memset(out, 0, sizeof(*out));
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = (weekday_of(day) + 1) % 7;
	out->tm_yday = (int)(day - days_from_civil(y, 1, 1));
	out->tm_zone = "GMT";
	return SC_OK;
}

/* ---- time zones ---- */

int when_tz_valid(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], magic[4];
	struct stat st;
	size_t len;
	FILE *f;
	int n, ok;

	if (!tz || !*tz)
		return 0;
	if (!strcmp(tz, "UTC"))
		return 1;
	len = strlen(tz);
	if (len > 255 || tz[0] == '/')
		return 0;
	/* A plain relative name: no "..", no hidden files, nothing odd. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tz[i];
		int start = i == 0 || tz[i - 1] == '/';

		if (start && (c == '.' || c == '/'))
			return 0;
		if (!isalnum(c) && c != '/' && c != '_' && c != '-' &&
		    c != '+' && c != '.')
			return 0;
	}
	if (tz[len - 1] == '/')
		return 0;
	if (!dir || dir[0] != '/')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, tz);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return 0;
	ok = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
	     !memcmp(magic, "TZif", 4);
	fclose(f);
	return ok;
}

/* Switch the process to zone tz; undo with tz_leave(). */
sc_err tz_enter(const char *tz, struct tzsave *save)
{
	const char *old;
	char *copy = NULL;

	if (!when_tz_valid(tz))
		return SC_EINVAL;
	old = getenv("TZ");
	if (old) {
		copy = strdup(old);
		if (!copy)
			return SC_ENOMEM;
	}
	if (setenv("TZ", tz, 1) != 0) {
		free(copy);
		return SC_ENOMEM;
	}
	tzset();
	save->old = copy;
	return SC_OK;
}

void tz_leave(struct tzsave *save)
{
	if (save->old)
		setenv("TZ", save->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(save->old);
	save->old = NULL;
}

/* Broken-down local time of t in the current zone. */
static sc_err local_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	if ((int64_t)tt != t || !localtime_r(&tt, tm))
		return SC_EINVAL;
	return SC_OK;
}

/* UTC offset in seconds at instant t in the current zone. */
static sc_err offset_at(int64_t t, int64_t *off)
{
	struct tm tm;
	sc_err err = local_tm(t, &tm);

	if (err)
		return err;
	*off = tm.tm_gmtoff;
	return SC_OK;
}

/* The local day and second of the day of instant t in the current zone. */
sc_err tz_local_day(int64_t t, int64_t *day, int *sod)
{
	int64_t off, ls;
	sc_err err = offset_at(t, &off);

	if (err)
		return err;
	ls = t + off;
	*day = floordiv(ls, DAY_SECS);
	*sod = (int)(ls - *day * DAY_SECS);
	return SC_OK;
}

/*
 * The instant at local seconds ls in the current zone. Of two instants
 * (fall-back overlap) the earlier is taken. A wall-clock time inside a
 * gap is read with the offset from before the gap, which moves it forward
 * by the length of the gap (02:30 -> 03:30 on a one-hour spring-forward);
 * with after_gap set it gives instead the first instant after the gap
 * (03:00). The offsets in force a day before and a day after are the only
 * candidates: real zones never change offset twice within two days.
 */
sc_err tz_resolve(int64_t ls, int after_gap, int64_t *out)
{
	int64_t cand[2], off, t, best = 0, lo, hi;
	int found = 0;
	sc_err err;

	err = offset_at(ls - DAY_SECS, &cand[0]);
	if (!err)
		err = offset_at(ls + DAY_SECS, &cand[1]);
	if (err)
		return err;
	for (int i = 0; i < 2; i++) {
		t = ls - cand[i];
		err = offset_at(t, &off);
		if (err)
			return err;
		if (off == cand[i] && (!found || t < best)) {
			best = t;
			found = 1;
		}
	}
	if (found) {
		*out = best;
		return SC_OK;
	}
	if (cand[0] == cand[1])
		return SC_EINVAL; /* inconsistent zone data */
	hi = ls - cand[0]; /* already past the transition */
	lo = ls - cand[1]; /* still before it */
	if (!after_gap || lo >= hi) {
		*out = hi;
		return SC_OK;
	}
	/* The transition is the first second whose offset is not cand[0]. */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		err = offset_at(mid, &off);
		if (err)
			return err;
		if (off == cand[0])
			lo = mid;
		else
			hi = mid;
	}
	*out = hi;
	return SC_OK;
}

sc_err when_local(const char *tz, int64_t t, struct tm *out)
{
	struct tzsave save;
	struct tm tm;
	sc_err err;

	if (!out)
		return SC_EINVAL;
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = local_tm(t, &tm);
	tz_leave(&save);
	if (!err)
		*out = tm;
	return err;
}

sc_err when_from_local(const char *tz, const struct tm *tm, int64_t *out)
{
	struct tzsave save;
	int64_t y, day, ls, t = 0;
	int64_t mon;
	sc_err err;

	if (!tm || !out)
		return SC_EINVAL;
	/* Normalise like mktime: months roll into years, days into months. */
	y = (int64_t)tm->tm_year + 1900;
	mon = tm->tm_mon;
	y += floordiv(mon, 12);
	mon -= floordiv(mon, 12) * 12;
	day = days_from_civil(y, (int)mon + 1, 1) + ((int64_t)tm->tm_mday - 1);
	ls = day * DAY_SECS + (int64_t)tm->tm_hour * 3600 +
	     (int64_t)tm->tm_min * 60 + tm->tm_sec;
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = tz_resolve(ls, 0, &t);
	tz_leave(&save);
	if (!err)
		*out = t;
	return err;
}

/* ---- weekly windows ---- */

int when_in_window(int64_t t, const char *tz, int start, int end)
{
	struct tzsave save;
	int64_t day;
	int sod, m;
	sc_err err;

	if (start < 0 || start >= WEEK_MINUTES || end < 0 ||
	    end > WEEK_MINUTES)
		return 0;
	end %= WEEK_MINUTES;
	if (tz_enter(tz, &save))
		return 0;
	err = tz_local_day(t, &day, &sod);
	tz_leave(&save);
	if (err)
		return 0;
	m = weekday_of(day) * DAY_MINUTES + sod / 60;
	if (start == end)
		return 1; /* the whole week, e.g. "mon-sun" */
	if (start < end)
		return m >= start && m < end;
	return m >= start || m < end;
}

/* ---- schedules ---- */

sc_err when_next_slot(int64_t after, const char *tz, int minute, unsigned mask,
		      int64_t *out)
{
	struct tzsave save;
	int64_t today, t = 0;
	int sod, found = 0;
	sc_err err;

	if (!out || minute < 0 || minute >= DAY_MINUTES || mask == 0 ||
	    mask > 0x7f)
		return SC_EINVAL;
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = tz_local_day(after, &today, &sod);
	/* Eight days always reach the same weekday again after today; a
	 * few more cover a slot lost in a skipped day. */
	for (int k = 0; !err && !found && k < 15; k++) {
		int64_t day = today + k;

		if (!(mask & (1u << weekday_of(day))))
			continue;
		err = tz_resolve(day * DAY_SECS + (int64_t)minute * 60, 1, &t);
		found = !err && t > after;
	}
	tz_leave(&save);
	if (err)
		return err;
	if (!found)
		return SC_EINVAL;
	*out = t;
	return SC_OK;
}

/* ---- formatting ---- */

sc_err when_format(int64_t t, const char *tz, const char *fmt, struct sbuf *out)
{
	struct tzsave save;
	struct sbuf f;
	struct tm tm;
	char *buf = NULL;
	size_t size = 128, n = 0;
	sc_err err;

	if (!fmt || !out)
		return SC_EINVAL;
	sbuf_init(&f, 0);
	/* A trailing space makes a legitimately empty result distinguishable
	 * from a buffer that is too small (strftime returns 0 for both). */
	err = sbuf_puts(&f, fmt);
	if (!err)
		err = sbuf_putc(&f, ' ');
	if (err)
		goto out;
	err = tz_enter(tz, &save);
	if (err)
		goto out;
	err = local_tm(t, &tm);
	while (!err) {
		char *p = realloc(buf, size);

		if (!p) {
			err = SC_ENOMEM;
			break;
		}
		buf = p;
		n = strftime(buf, size, f.buf, &tm);
		if (n > 0)
			break;
		if (size >= ((size_t)64 << 10))
			err = SC_ETOOBIG;
		size *= 2;
	}
	tz_leave(&save);
	if (!err)
		err = sbuf_add(out, buf, n - 1);
out:
	free(buf);
	sbuf_release(&f);
	return err;
}

sc_err when_format_short(int64_t t, int64_t now, const char *tz, struct sbuf *out)
{
	struct tzsave save;
	struct tm tm;
	int64_t day, today, y, dist;
	int sod, m, d;
	const char *word = NULL;
	sc_err err;

	if (!out)
		return SC_EINVAL;
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = local_tm(t, &tm);
	if (!err)
		err = tz_local_day(t, &day, &sod);
	if (!err)
		err = tz_local_day(now, &today, &sod);
	tz_leave(&save);
	if (err)
		return err;
	if (day == today)
		word = "today";
	else if (day == today - 1)
		word = "yesterday";
	else if (day == today + 1)
		word = "tomorrow";
	if (word)
		return sbuf_printf(out, "%s %02d:%02d", word, tm.tm_hour,
				   tm.tm_min);
	civil_from_days(day, &y, &m, &d);
	/* "Within a year" as ls(1) reads it: less than half a year either
	 * way, so that a day and month without a year are never mistaken
	 * for the same date a year later or earlier. */
	dist = t > now ? t - now : now - t;
	if (dist < (int64_t)183 * DAY_SECS)
		return sbuf_printf(out, "%s %d %s %02d:%02d",
				   wday_abbr[weekday_of(day)], d,
				   mon_abbr[m - 1], tm.tm_hour, tm.tm_min);
	return sbuf_printf(out, "%04lld-%02d-%02d %02d:%02d", (long long)y, m,
			   d, tm.tm_hour, tm.tm_min);
}

sc_err when_format_date(int64_t t, const char *tz, struct sbuf *out)
{
	struct tzsave save;
	int64_t day, y;
	int sod, m, d;
	sc_err err;

	if (!out)
		return SC_EINVAL;
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = tz_local_day(t, &day, &sod);
	tz_leave(&save);
	if (err)
		return err;
	civil_from_days(day, &y, &m, &d);
	return sbuf_printf(out, "%04lld-%02d-%02d", (long long)y, m, d);
}

sc_err when_format_duration(int64_t secs, struct sbuf *out)
{
	static const struct {
		const char *unit;
		uint64_t secs;
	} units[] = { { "d", DAY_SECS }, { "h", 3600 }, { "m", 60 },
		      { "s", 1 } };
	/* The magnitude as unsigned, so INT64_MIN does not overflow. */
	uint64_t v = secs < 0 ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs;
	const char *sign = secs < 0 ? "-" : "";
	int u = 0;

	if (!out)
		return SC_EINVAL;
	if (v == 0)
		return sbuf_puts(out, "0s");
	while (v < units[u].secs)
		u++;
	/* The largest unit and, when not zero, the one just below it. */
	if (u < 3 && (v % units[u].secs) / units[u + 1].secs)
		return sbuf_printf(out, "%s%llu%s %llu%s", sign,
				   (unsigned long long)(v / units[u].secs),
				   units[u].unit,
				   (unsigned long long)((v % units[u].secs) /
							units[u + 1].secs),
				   units[u + 1].unit);
	return sbuf_printf(out, "%s%llu%s", sign,
			   (unsigned long long)(v / units[u].secs),
			   units[u].unit);
}

/* ---- ops hours ---- */

int when_in_hours(int64_t t, const char *tz, unsigned days, int start, int end)
{
	struct tzsave save;
	int64_t day;
	int sod, m, wd;
	sc_err err;

	if (!days || start < 0 || start >= DAY_MINUTES || end < 0 ||
	    end >= DAY_MINUTES)
		return 0;
	if (tz_enter(tz, &save))
		return 0;
	err = tz_local_day(t, &day, &sod);
	tz_leave(&save);
	if (err)
		return 0;
	m = sod / 60;
	wd = weekday_of(day);
	if (start < end)
		return (days & (1u << wd)) && m >= start && m < end;
	/* past midnight: the evening of a listed day, or the small hours
	 * after one */
	return ((days & (1u << wd)) && m >= start) ||
	       ((days & (1u << ((wd + 6) % 7))) && m < end);
}

sc_err when_hours_open(int64_t t, const char *tz, unsigned days, int start,
		       int end, int64_t *out)
{
	if (!out)
		return SC_EINVAL;
	if (when_in_hours(t, tz, days, start, end)) {
		*out = t;
		return SC_OK;
	}
	return when_next_slot(t, tz, start, days, out);
}
