/* SPDX-License-Identifier: MIT */
/*
 * test_when.c - dates, durations, zones and schedules. The clock is fixed
 * at Monday 2026-11-23 10:00 UTC; expected instants are written as local
 * time with their UTC offset ("2026-11-27 23:59:59 +0100") so that a
 * wrong zone or a wrong DST side shows up in the diff.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "when.h"
#include "banned.h"

#define SENTINEL ((int64_t)0x5ca1ab1e)

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

/* Monday 2026-11-23 10:00:00 UTC */
#define NOW utc(2026, 11, 23, 10, 0, 0)

/* t in tz as "YYYY-MM-DD HH:MM:SS +hhmm" (static buffer). */
static const char *show(int64_t t, const char *tz)
{
	static char buf[64];
	struct sbuf sb;

	sbuf_init(&sb, 0);
	if (when_format(t, tz, "%Y-%m-%d %H:%M:%S %z", &sb) != SC_OK)
		snprintf(buf, sizeof(buf), "(format failed)");
	else
		snprintf(buf, sizeof(buf), "%s", sb.buf);
	sbuf_release(&sb);
	return buf;
}

static void test_tz_valid(void)
{
	static const struct {
		const char *tz;
		int ok;
	} cases[] = {
		{ "UTC", 1 },
		{ "Europe/Berlin", 1 },
		{ "America/Toronto", 1 },
		{ "Asia/Kolkata", 1 },
		{ "Asia/Kathmandu", 1 },
		{ "Australia/Lord_Howe", 1 },
		{ "America/Argentina/Buenos_Aires", 1 },
		{ "Etc/GMT+5", 1 },
		{ "", 0 },
		{ "Not/AZone", 0 },
		{ "../etc/passwd", 0 },
		{ "Europe/../../../etc/passwd", 0 },
		{ "Europe/./Berlin", 0 },
		{ "/usr/share/zoneinfo/Europe/Berlin", 0 },
		{ "/etc/passwd", 0 },
		{ "Europe", 0 },         /* a directory */
		{ "Europe/", 0 },
		{ "Europe//Berlin", 0 },
		{ "zone.tab", 0 },       /* a file, but not a zone */
		{ "Europe/Berlin ", 0 },
		{ " Europe/Berlin", 0 },
		{ "Europe/Berlin\n", 0 },
		{ "europe/berlin", 0 },  /* zone names are case-sensitive */
		{ "CET-1CEST", 0 },      /* POSIX TZ strings are not zone names */
		{ ".hidden", 0 },
	};

	CHECK_INT(when_tz_valid(NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (when_tz_valid(cases[i].tz) != cases[i].ok)
			th_fail(__FILE__, __LINE__, "when_tz_valid(\"%s\") != %d",
				cases[i].tz, cases[i].ok);
	}
}

static void test_tz_restored(void)
{
	struct sbuf sb;
	struct tm tm;
	int64_t t;

	sbuf_init(&sb, 0);
	CHECK_OK(setenv("TZ", "America/Toronto", 1));
	tzset();
	CHECK_OK(when_format(NOW, "Asia/Kolkata", "%H:%M", &sb));
	CHECK_STR(sb.buf, "15:30");
	CHECK_STR(getenv("TZ"), "America/Toronto");
	/* the process's own local time is Toronto's again */
	{
		time_t now = (time_t)NOW;
		CHECK(localtime_r(&now, &tm) != NULL);
		CHECK_INT(tm.tm_hour, 5);
	}
	CHECK_INT(when_parse_due("fri", NOW, "Not/AZone", &t), SC_EINVAL);
	CHECK_STR(getenv("TZ"), "America/Toronto");

	CHECK_OK(unsetenv("TZ"));
	tzset();
	CHECK_OK(when_local("Europe/Berlin", NOW, &tm));
	CHECK(getenv("TZ") == NULL);
	sbuf_release(&sb);
}

static void test_local(void)
{
	struct tm tm;

	memset(&tm, 0x55, sizeof(tm));
	CHECK_OK(when_local("Europe/Berlin", utc(2026, 7, 1, 12, 0, 0), &tm));
	CHECK_INT(tm.tm_year, 126);
	CHECK_INT(tm.tm_mon, 6);
	CHECK_INT(tm.tm_mday, 1);
	CHECK_INT(tm.tm_hour, 14);
	CHECK_INT(tm.tm_isdst, 1);
	CHECK_INT(tm.tm_gmtoff, 7200);
	CHECK_OK(when_local("Asia/Kathmandu", NOW, &tm));
	CHECK_INT(tm.tm_hour, 15);
	CHECK_INT(tm.tm_min, 45);
	CHECK_INT(tm.tm_wday, 1);
	CHECK_OK(when_local("UTC", NOW, &tm));
	CHECK_INT(tm.tm_hour, 10);

	memset(&tm, 0x55, sizeof(tm));
	CHECK_INT(when_local("Not/AZone", NOW, &tm), SC_EINVAL);
	CHECK_INT(tm.tm_hour, 0x55555555);
}

static void test_from_local(void)
{
	static const struct {
		const char *tz;
		int y, mo, d, h, mi;
		const char *want;
	} cases[] = {
		/* ordinary times, 30- and 45-minute zones */
		{ "UTC", 2026, 11, 23, 10, 0, "2026-11-23 10:00:00 +0000" },
		{ "Asia/Kolkata", 2026, 11, 23, 15, 30, "2026-11-23 15:30:00 +0530" },
		{ "Asia/Kathmandu", 2026, 11, 23, 15, 45, "2026-11-23 15:45:00 +0545" },
		/* Europe/Berlin: 02:00-03:00 does not exist on 2026-03-29 ... */
		{ "Europe/Berlin", 2026, 3, 29, 1, 59, "2026-03-29 01:59:00 +0100" },
		{ "Europe/Berlin", 2026, 3, 29, 2, 30, "2026-03-29 03:30:00 +0200" },
		{ "Europe/Berlin", 2026, 3, 29, 3, 0, "2026-03-29 03:00:00 +0200" },
		/* ... and 02:00-03:00 happens twice on 2026-10-25: the first */
		{ "Europe/Berlin", 2026, 10, 25, 2, 30, "2026-10-25 02:30:00 +0200" },
		{ "Europe/Berlin", 2026, 10, 25, 3, 0, "2026-10-25 03:00:00 +0100" },
		/* America/Toronto */
		{ "America/Toronto", 2026, 3, 8, 2, 30, "2026-03-08 03:30:00 -0400" },
		{ "America/Toronto", 2026, 11, 1, 1, 30, "2026-11-01 01:30:00 -0400" },
		{ "America/Toronto", 2026, 11, 1, 2, 0, "2026-11-01 02:00:00 -0500" },
		/* Australia/Lord_Howe: half-hour DST */
		{ "Australia/Lord_Howe", 2026, 10, 4, 2, 15, "2026-10-04 02:45:00 +1100" },
		{ "Australia/Lord_Howe", 2026, 10, 4, 2, 30, "2026-10-04 02:30:00 +1100" },
		{ "Australia/Lord_Howe", 2026, 4, 5, 1, 45, "2026-04-05 01:45:00 +1100" },
		{ "Australia/Lord_Howe", 2026, 4, 5, 2, 0, "2026-04-05 02:00:00 +1030" },
		/* out-of-range fields are normalised */
		{ "UTC", 2026, 1, 32, 0, 0, "2026-02-01 00:00:00 +0000" },
		{ "UTC", 2026, 13, 1, 0, 0, "2027-01-01 00:00:00 +0000" },
		{ "UTC", 2026, 3, 0, 24, 0, "2026-03-01 00:00:00 +0000" },
		{ "Europe/Berlin", 2026, 12, 31, 24, 90, "2027-01-01 01:30:00 +0100" },
	};
	struct tm tm;
	int64_t t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = cases[i].y - 1900;
		tm.tm_mon = cases[i].mo - 1;
		tm.tm_mday = cases[i].d;
		tm.tm_hour = cases[i].h;
		tm.tm_min = cases[i].mi;
		tm.tm_isdst = -1;
		CHECK_OK(when_from_local(cases[i].tz, &tm, &t));
		CHECK_STR(show(t, cases[i].tz), cases[i].want);
	}
	/* the earlier of the two 01:30s in Toronto is 05:30 UTC */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 126;
	tm.tm_mon = 10;
	tm.tm_mday = 1;
	tm.tm_hour = 1;
	tm.tm_min = 30;
	CHECK_OK(when_from_local("America/Toronto", &tm, &t));
	CHECK_INT(t, utc(2026, 11, 1, 5, 30, 0));

	t = SENTINEL;
	CHECK_INT(when_from_local("Not/AZone", &tm, &t), SC_EINVAL);
	CHECK_INT(t, SENTINEL);
	/* a year past what struct tm can hold */
	tm.tm_year = INT_MAX;
	tm.tm_mon = 24;
	CHECK(when_from_local("UTC", &tm, &t) != SC_OK);
	CHECK_INT(t, SENTINEL);
}

static void test_duration(void)
{
	static const struct {
		const char *s;
		int64_t secs; /* 0 = rejected */
	} cases[] = {
		{ "90s", 90 },
		{ "30m", 1800 },
		{ "4h", 14400 },
		{ "2d", 172800 },
		{ "3w", 1814400 },
		{ "1d12h", 129600 },
		{ "1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5 },
		{ "4H", 14400 },
		{ "1D12H", 129600 },
		{ "0d12h", 43200 },
		{ "007m", 420 },
		{ "36525d", (int64_t)36525 * 86400 }, /* the 100-year limit */
		{ "", 0 },
		{ "0s", 0 },
		{ "0d0h", 0 },
		{ "30", 0 },
		{ "m", 0 },
		{ "30x", 0 },
		{ "30mm", 0 },
		{ "12h1d", 0 },  /* largest unit first */
		{ "1d1d", 0 },
		{ "1d 12h", 0 },
		{ " 30m", 0 },
		{ "30m ", 0 },
		{ "-5m", 0 },
		{ "+5m", 0 },
		{ "1.5h", 0 },
		{ "36526d", 0 },
		{ "99999999999d", 0 },
		{ "99999999999999999999999s", 0 },
		{ "9223372036854775807s", 0 },
		{ "5246w", 0 },
		{ "fast", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = SENTINEL;
		sc_err err = when_parse_duration(cases[i].s, &got);

		if (cases[i].secs) {
			if (err != SC_OK || got != cases[i].secs)
				th_fail(__FILE__, __LINE__,
					"duration \"%s\": err %d, got %lld, want %lld",
					cases[i].s, err, (long long)got,
					(long long)cases[i].secs);
		} else if (err != SC_EINVAL || got != SENTINEL) {
			th_fail(__FILE__, __LINE__,
				"duration \"%s\" accepted (err %d, got %lld)",
				cases[i].s, err, (long long)got);
		}
	}
	CHECK_INT(when_parse_duration(NULL, NULL), SC_EINVAL);
}

static void test_hhmm(void)
{
	static const struct {
		const char *s;
		int minute; /* -1 = rejected */
	} cases[] = {
		{ "09:00", 540 }, { "9:30", 570 },  { "00:00", 0 },
		{ "23:59", 1439 }, { "0:05", 5 },   { "13:75", -1 },
		{ "24:00", -1 },  { "9", -1 },      { "9:5", -1 },
		{ "09:000", -1 }, { "009:00", -1 }, { "", -1 },
		{ " 9:00", -1 },  { "9:00 ", -1 },  { "9:00am", -1 },
		{ "-1:00", -1 },  { "9h30", -1 },   { ":30", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = -42;
		sc_err err = when_parse_hhmm(cases[i].s, &got);

		if (cases[i].minute >= 0 ?
			    err != SC_OK || got != cases[i].minute :
			    err != SC_EINVAL || got != -42)
			th_fail(__FILE__, __LINE__, "hhmm \"%s\": err %d got %d",
				cases[i].s, err, got);
	}
}

static void test_days_parse(void)
{
	static const struct {
		const char *s;
		unsigned mask; /* 0 = rejected */
	} cases[] = {
		{ "mon-fri", 0x1f },
		{ "mon,wed,fri", 0x15 },
		{ "sat-sun", 0x60 },
		{ "daily", 0x7f },
		{ "weekdays", 0x1f },
		{ "weekends", 0x60 },
		{ "sun-thu", 0x4f },      /* wraps the week */
		{ "fri-mon", 0x71 },
		{ "Mon-Fri", 0x1f },
		{ "MONDAY,Tuesday", 0x03 },
		{ "tues,thurs", 0x0a },
		{ "mon, wed , fri", 0x15 },
		{ "mon - fri", 0x1f },
		{ "wed-wed", 0x04 },
		{ "weekends,mon", 0x61 },
		{ "mon,mon", 0x01 },
		{ "", 0 },
		{ "mon,", 0 },
		{ ",mon", 0 },
		{ "mon,,fri", 0 },
		{ "mon-", 0 },
		{ "-fri", 0 },
		{ "mon-tue-wed", 0 },
		{ "funday", 0 },
		{ "mo-fr", 0 },
		{ "monday2", 0 },
		{ "mon;fri", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = 0xdead;
		sc_err err = when_parse_days(cases[i].s, &got);

		if (cases[i].mask ? err != SC_OK || got != cases[i].mask :
				    err != SC_EINVAL || got != 0xdead)
			th_fail(__FILE__, __LINE__, "days \"%s\": err %d got %#x",
				cases[i].s, err, got);
	}
}

static void test_days_format(void)
{
	static const struct {
		unsigned mask;
		const char *want;
	} cases[] = {
		{ 0x7f, "daily" },       { 0x1f, "mon-fri" },
		{ 0x15, "mon,wed,fri" }, { 0x60, "sat,sun" },
		{ 0x4f, "sun-thu" },     { 0x71, "fri-mon" },
		{ 0x41, "sun,mon" },     { 0x01, "mon" },
		{ 0x40, "sun" },         { 0x07, "mon-wed" },
		{ 0x03, "mon,tue" },     { 0x3d, "mon,wed-sat" },
		{ 0x7d, "wed-mon" },     { 0x5b, "sun-tue,thu,fri" },
		{ 0x7b, "thu-tue" },
	};
	struct sbuf sb;

	sbuf_init(&sb, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_setlen(&sb, 0);
		CHECK_OK(when_format_days(cases[i].mask, &sb));
		CHECK_STR(sb.buf, cases[i].want);
	}
	/* every mask survives a round trip and is never longer than a list */
	for (unsigned m = 1; m <= 0x7f; m++) {
		unsigned back = 0;

		sbuf_setlen(&sb, 0);
		CHECK_OK(when_format_days(m, &sb));
		CHECK_OK(when_parse_days(sb.buf, &back));
		if (back != m)
			th_fail(__FILE__, __LINE__, "%#x -> \"%s\" -> %#x", m,
				sb.buf, back);
	}
	sbuf_setlen(&sb, 0);
	CHECK_OK(sbuf_puts(&sb, "kept"));
	CHECK_INT(when_format_days(0, &sb), SC_EINVAL);
	CHECK_INT(when_format_days(0x80, &sb), SC_EINVAL);
	CHECK_STR(sb.buf, "kept");
	sbuf_release(&sb);
}

struct when_case {
	const char *tz;
	const char *s;
	const char *want; /* NULL = rejected */
};

static void run_when_cases(const struct when_case *cases, size_t n,
			   sc_err (*fn)(const char *, int64_t, const char *,
					int64_t *),
			   const char *what)
{
	for (size_t i = 0; i < n; i++) {
		int64_t got = SENTINEL;
		sc_err err = fn(cases[i].s, NOW, cases[i].tz, &got);

		if (!cases[i].want) {
			if (err != SC_EINVAL || got != SENTINEL)
				th_fail(__FILE__, __LINE__,
					"%s \"%s\" in %s accepted: %s", what,
					cases[i].s, cases[i].tz,
					show(got, cases[i].tz));
			continue;
		}
		if (err != SC_OK)
			th_fail(__FILE__, __LINE__, "%s \"%s\" in %s: error %d",
				what, cases[i].s, cases[i].tz, err);
		if (strcmp(show(got, cases[i].tz), cases[i].want) != 0)
			th_fail(__FILE__, __LINE__,
				"%s \"%s\" in %s\n  got:  %s\n  want: %s", what,
				cases[i].s, cases[i].tz, show(got, cases[i].tz),
				cases[i].want);
	}
}

static void test_due(void)
{
	static const struct when_case cases[] = {
		/* now is Monday 2026-11-23 10:00 UTC */
		{ "UTC", "today", "2026-11-23 23:59:59 +0000" },
		{ "UTC", "tonight", "2026-11-23 23:59:59 +0000" },
		{ "UTC", "eod", "2026-11-23 23:59:59 +0000" },
		{ "UTC", "tomorrow", "2026-11-24 23:59:59 +0000" },
		{ "UTC", "eow", "2026-11-27 23:59:59 +0000" },
		{ "UTC", "TODAY", "2026-11-23 23:59:59 +0000" },
		/* weekdays: the next one, never today */
		{ "UTC", "tue", "2026-11-24 23:59:59 +0000" },
		{ "UTC", "fri", "2026-11-27 23:59:59 +0000" },
		{ "UTC", "Friday", "2026-11-27 23:59:59 +0000" },
		{ "UTC", "FRI", "2026-11-27 23:59:59 +0000" },
		{ "UTC", "sun", "2026-11-29 23:59:59 +0000" },
		{ "UTC", "mon", "2026-11-30 23:59:59 +0000" },
		{ "UTC", "monday", "2026-11-30 23:59:59 +0000" },
		{ "UTC", "thurs", "2026-11-26 23:59:59 +0000" },
		/* dates */
		{ "UTC", "2026-12-01", "2026-12-01 23:59:59 +0000" },
		{ "UTC", "2028-02-29", "2028-02-29 23:59:59 +0000" },
		{ "UTC", "2026-11-01", "2026-11-01 23:59:59 +0000" },
		{ "UTC", "12-01", "2026-12-01 23:59:59 +0000" },
		{ "UTC", "11-23", "2026-11-23 23:59:59 +0000" }, /* today */
		{ "UTC", "11-22", "2027-11-22 23:59:59 +0000" },
		{ "UTC", "dec1", "2026-12-01 23:59:59 +0000" },
		{ "UTC", "1dec", "2026-12-01 23:59:59 +0000" },
		{ "UTC", "december1", "2026-12-01 23:59:59 +0000" },
		{ "UTC", "Dec01", "2026-12-01 23:59:59 +0000" },
		{ "UTC", "DEC31", "2026-12-31 23:59:59 +0000" },
		{ "UTC", "jan5", "2027-01-05 23:59:59 +0000" },
		{ "UTC", "sept3", "2027-09-03 23:59:59 +0000" },
		{ "UTC", "feb28", "2027-02-28 23:59:59 +0000" },
		{ "UTC", "feb29", "2028-02-29 23:59:59 +0000" },
		/* relative: whole days end with that day (like a weekday),
		 * hours and minutes are exact (issue 20: +3d used to keep
		 * the command's clock time) */
		{ "UTC", "+3d", "2026-11-26 23:59:59 +0000" },
		{ "UTC", "+4h", "2026-11-23 14:00:00 +0000" },
		{ "UTC", "+2w", "2026-12-07 23:59:59 +0000" },
		{ "Europe/Berlin", "+3d", "2026-11-26 23:59:59 +0100" },
		{ "UTC", "in 3 days", "2026-11-26 23:59:59 +0000" },
		{ "UTC", "in 1 day", "2026-11-24 23:59:59 +0000" },
		{ "UTC", "in 2 weeks", "2026-12-07 23:59:59 +0000" },
		{ "UTC", "in 2 hours", "2026-11-23 12:00:00 +0000" },
		{ "UTC", "in 90 minutes", "2026-11-23 11:30:00 +0000" },
		{ "UTC", "in 3d", "2026-11-26 23:59:59 +0000" },
		/* issue 20's forms: a time after the day, a time alone, a
		 * month and a day as two words, next week / next fri */
		{ "UTC", "2026-12-24 17:00", "2026-12-24 17:00:00 +0000" },
		{ "UTC", "fri 17:00", "2026-11-27 17:00:00 +0000" },
		{ "UTC", "17:00", "2026-11-23 17:00:00 +0000" },
		{ "UTC", "09:00", "2026-11-24 09:00:00 +0000" },
		{ "UTC", "10:00", "2026-11-24 10:00:00 +0000" },
		{ "Europe/Berlin", "12:00", "2026-11-23 12:00:00 +0100" },
		{ "UTC", "dec 24", "2026-12-24 23:59:59 +0000" },
		{ "UTC", "24 dec", "2026-12-24 23:59:59 +0000" },
		{ "UTC", "december 24", "2026-12-24 23:59:59 +0000" },
		{ "UTC", "dec 24 17:00", "2026-12-24 17:00:00 +0000" },
		{ "UTC", "next week", "2026-12-04 23:59:59 +0000" },
		{ "UTC", "next fri", "2026-12-04 23:59:59 +0000" },
		{ "UTC", "next mon", "2026-11-30 23:59:59 +0000" },
		{ "UTC", "next friday 9:30", "2026-12-04 09:30:00 +0000" },
		{ "UTC", "tomorrow 9am", "2026-11-24 09:00:00 +0000" },
		{ "UTC", "2026-12-24 5:30pm", "2026-12-24 17:30:00 +0000" },
		{ "UTC", "today 12am", "2026-11-23 00:00:00 +0000" },
		{ "UTC", "+1d12h", "2026-11-24 22:00:00 +0000" },
		{ "UTC", "+30M", "2026-11-23 10:30:00 +0000" },
		/* with a time of day */
		{ "UTC", "2026-12-01T14:00", "2026-12-01 14:00:00 +0000" },
		{ "UTC", "2026-12-01t9:05", "2026-12-01 09:05:00 +0000" },
		{ "UTC", "2026-12-01@14:00", "2026-12-01 14:00:00 +0000" },
		{ "UTC", "fri@14:00", "2026-11-27 14:00:00 +0000" },
		{ "UTC", "tomorrow@9:30", "2026-11-24 09:30:00 +0000" },
		{ "UTC", "today@08:00", "2026-11-23 08:00:00 +0000" },
		{ "UTC", "dec24@18:00", "2026-12-24 18:00:00 +0000" },
		/* other zones: "today" is the local day */
		{ "Europe/Berlin", "today", "2026-11-23 23:59:59 +0100" },
		{ "Europe/Berlin", "fri@14:00", "2026-11-27 14:00:00 +0100" },
		{ "Asia/Kathmandu", "tomorrow", "2026-11-24 23:59:59 +0545" },
		{ "Asia/Kolkata", "eow", "2026-11-27 23:59:59 +0530" },
		{ "Pacific/Kiritimati", "today", "2026-11-24 23:59:59 +1400" },
		{ "Pacific/Pago_Pago", "today", "2026-11-22 23:59:59 -1100" },
		{ "Pacific/Pago_Pago", "mon", "2026-11-23 23:59:59 -1100" },
		/* a time in next spring's Berlin gap moves forward by the gap */
		{ "Europe/Berlin", "2027-03-28@02:30", "2027-03-28 03:30:00 +0200" },
		{ "America/Toronto", "2026-11-01@01:30", "2026-11-01 01:30:00 -0400" },
		/* rejected */
		{ "UTC", "", NULL },
		{ "UTC", "feb30", NULL },
		{ "UTC", "30feb", NULL },
		{ "UTC", "apr31", NULL },
		{ "UTC", "dec32", NULL },
		{ "UTC", "dec0", NULL },
		{ "UTC", "dec", NULL },
		{ "UTC", "dec123", NULL },
		{ "UTC", "1dec1", NULL },
		{ "UTC", "smarch1", NULL },
		{ "UTC", "2026-02-30", NULL },
		{ "UTC", "2027-02-29", NULL },
		{ "UTC", "2026-13-01", NULL },
		{ "UTC", "2026-00-10", NULL },
		{ "UTC", "2026-1-5", NULL },
		{ "UTC", "20261201", NULL },
		{ "UTC", "1969-12-31", NULL },
		{ "UTC", "10000-01-01", NULL },
		{ "UTC", "13-01", NULL },
		{ "UTC", "02-30", NULL },
		{ "UTC", "13:75", NULL },
		{ "UTC", "fri@13:75", NULL },
		{ "UTC", "fri@", NULL },
		{ "UTC", "@14:00", NULL },
		{ "UTC", "fri@14:00@15:00", NULL },
		{ "UTC", "2026-12-01T", NULL },
		{ "UTC", "2026-12-01T14:00x", NULL },
		{ "UTC", "2026-12-01T14:00:00", NULL },
		{ "UTC", "+0d", NULL },
		{ "UTC", "+0h0m", NULL },
		{ "UTC", "+99999999999d", NULL },
		{ "UTC", "+999999999999999999999999d", NULL },
		{ "UTC", "+3", NULL },
		{ "UTC", "+", NULL },
		{ "UTC", "+-3d", NULL },
		{ "UTC", "+3d@14:00", NULL },
		{ "UTC", "3d", NULL },
		{ "UTC", "yesterday", NULL },
		{ "UTC", "fri ", NULL },
		{ "UTC", " fri", NULL },
		{ "UTC", "fri!", NULL },
		{ "UTC", "friday2", NULL },
		{ "UTC", "fr", NULL },
		{ "UTC", "next", NULL },
		{ "UTC", "next month", NULL },
		{ "UTC", "next 3", NULL },
		{ "UTC", "in", NULL },
		{ "UTC", "in 3", NULL },
		{ "UTC", "in 3 fortnights", NULL },
		{ "UTC", "in three days", NULL },
		{ "UTC", "fri 17:00 18:00", NULL },
		{ "UTC", "17:00 17:00", NULL },
		{ "UTC", "fri  17:00", NULL },
		{ "UTC", "dec 24 25", NULL },
		{ "UTC", "dec 32", NULL },
		{ "UTC", "fri 13pm", NULL },
		{ "UTC", "fri@14:00 15:00", NULL },
		{ "UTC", "+3d 17:00", NULL },
		{ "Not/AZone", "fri", NULL },
		{ "", "fri", NULL },
	};

	run_when_cases(cases, sizeof(cases) / sizeof(cases[0]), when_parse_due,
		       "due");
	{
		int64_t got = SENTINEL;
		char longer[300];

		memset(longer, 'a', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		CHECK_INT(when_parse_due(NULL, NOW, "UTC", &got), SC_EINVAL);
		CHECK_INT(when_parse_due(longer, NOW, "UTC", &got), SC_EINVAL);
		CHECK_INT(when_parse_due("+3d", INT64_MAX - 10, "UTC", &got),
			  SC_EINVAL);
		CHECK_INT(got, SENTINEL);
	}
}

static void test_due_on_friday(void)
{
	/* eow on a Friday is today; fri is a week later */
	int64_t fri = utc(2026, 11, 27, 10, 0, 0), t;

	CHECK_OK(when_parse_due("eow", fri, "UTC", &t));
	CHECK_STR(show(t, "UTC"), "2026-11-27 23:59:59 +0000");
	CHECK_OK(when_parse_due("fri", fri, "UTC", &t));
	CHECK_STR(show(t, "UTC"), "2026-12-04 23:59:59 +0000");
	/* Saturday: the end of the week is next Friday */
	CHECK_OK(when_parse_due("eow", fri + 86400, "UTC", &t));
	CHECK_STR(show(t, "UTC"), "2026-12-04 23:59:59 +0000");
	/* across the year end */
	CHECK_OK(when_parse_due("jan2", utc(2026, 12, 31, 12, 0, 0), "UTC", &t));
	CHECK_STR(show(t, "UTC"), "2027-01-02 23:59:59 +0000");
	CHECK_OK(when_parse_due("mon", utc(2026, 12, 31, 12, 0, 0), "UTC", &t));
	CHECK_STR(show(t, "UTC"), "2027-01-04 23:59:59 +0000");
}

static void test_since(void)
{
	static const struct when_case cases[] = {
		{ "UTC", "7d", "2026-11-16 10:00:00 +0000" },
		{ "UTC", "24h", "2026-11-22 10:00:00 +0000" },
		{ "UTC", "30m", "2026-11-23 09:30:00 +0000" },
		{ "UTC", "1w2d", "2026-11-14 10:00:00 +0000" },
		{ "UTC", "today", "2026-11-23 00:00:00 +0000" },
		{ "UTC", "yesterday", "2026-11-22 00:00:00 +0000" },
		/* weekdays: the most recent one before today */
		{ "UTC", "sun", "2026-11-22 00:00:00 +0000" },
		{ "UTC", "fri", "2026-11-20 00:00:00 +0000" },
		{ "UTC", "mon", "2026-11-16 00:00:00 +0000" },
		{ "UTC", "Tuesday", "2026-11-17 00:00:00 +0000" },
		/* dates: start of the day; without a year the last one */
		{ "UTC", "2026-11-01", "2026-11-01 00:00:00 +0000" },
		{ "UTC", "2026-11-01T08:00", "2026-11-01 08:00:00 +0000" },
		{ "UTC", "11-23", "2026-11-23 00:00:00 +0000" },
		{ "UTC", "11-24", "2025-11-24 00:00:00 +0000" },
		{ "UTC", "dec1", "2025-12-01 00:00:00 +0000" },
		{ "UTC", "1nov", "2026-11-01 00:00:00 +0000" },
		{ "UTC", "feb29", "2024-02-29 00:00:00 +0000" },
		{ "Europe/Berlin", "today", "2026-11-23 00:00:00 +0100" },
		{ "Asia/Kathmandu", "yesterday", "2026-11-22 00:00:00 +0545" },
		{ "America/Toronto", "2026-11-01", "2026-11-01 00:00:00 -0400" },
		/* rejected */
		{ "UTC", "", NULL },
		{ "UTC", "nonsense", NULL },
		{ "UTC", "tomorrow", NULL },
		{ "UTC", "+7d", NULL },
		{ "UTC", "0d", NULL },
		{ "UTC", "7", NULL },
		{ "UTC", "99999999999d", NULL },
		{ "UTC", "2026-02-30", NULL },
		{ "UTC", "feb30", NULL },
		{ "UTC", "7d ", NULL },
		{ "Not/AZone", "today", NULL },
	};

	run_when_cases(cases, sizeof(cases) / sizeof(cases[0]),
		       when_parse_since, "since");
}

struct slot_case {
	const char *tz;
	int64_t after;
	const char *hhmm;
	const char *days;
	const char *want;
};

static void test_next_slot(void)
{
	const struct slot_case cases[] = {
		/* Monday 10:00 UTC */
		{ "UTC", NOW, "09:00", "mon-fri", "2026-11-24 09:00:00 +0000" },
		{ "UTC", NOW, "10:00", "mon-fri", "2026-11-24 10:00:00 +0000" },
		{ "UTC", NOW, "10:01", "mon-fri", "2026-11-23 10:01:00 +0000" },
		{ "UTC", NOW, "09:00", "mon", "2026-11-30 09:00:00 +0000" },
		{ "UTC", NOW, "09:00", "sun-thu", "2026-11-24 09:00:00 +0000" },
		{ "UTC", utc(2026, 11, 27, 10, 0, 0), "09:00", "sun-thu",
		  "2026-11-29 09:00:00 +0000" },
		{ "Europe/Berlin", NOW, "09:00", "mon-fri",
		  "2026-11-24 09:00:00 +0100" },
		{ "Asia/Kathmandu", NOW, "09:00", "mon-fri",
		  "2026-11-24 09:00:00 +0545" },
		{ "Asia/Kolkata", NOW, "16:00", "mon-fri",
		  "2026-11-23 16:00:00 +0530" },
		/* across the year end */
		{ "UTC", utc(2026, 12, 31, 10, 0, 0), "09:00", "mon-fri",
		  "2027-01-01 09:00:00 +0000" },
		{ "UTC", utc(2026, 12, 31, 10, 0, 0), "09:00", "mon",
		  "2027-01-04 09:00:00 +0000" },
		{ "Europe/Berlin", utc(2026, 12, 31, 23, 30, 0), "00:15", "daily",
		  "2027-01-02 00:15:00 +0100" },
		{ "America/Toronto", utc(2027, 1, 1, 5, 0, 0), "23:30", "thu",
		  "2027-01-07 23:30:00 -0500" },
		/* Berlin spring forward: 02:30 does not exist, the slot is
		 * the first instant after the gap; the next day is normal */
		{ "Europe/Berlin", utc(2026, 3, 28, 12, 0, 0), "02:30", "daily",
		  "2026-03-29 03:00:00 +0200" },
		{ "Europe/Berlin", utc(2026, 3, 29, 1, 0, 0), "02:30", "daily",
		  "2026-03-30 02:30:00 +0200" },
		{ "Europe/Berlin", utc(2026, 3, 28, 12, 0, 0), "09:00", "sun",
		  "2026-03-29 09:00:00 +0200" },
		/* Berlin fall back: 02:30 happens once, the first time */
		{ "Europe/Berlin", utc(2026, 10, 24, 12, 0, 0), "02:30", "daily",
		  "2026-10-25 02:30:00 +0200" },
		{ "Europe/Berlin", utc(2026, 10, 25, 0, 30, 0), "02:30", "daily",
		  "2026-10-26 02:30:00 +0100" },
		/* Toronto */
		{ "America/Toronto", utc(2026, 3, 7, 12, 0, 0), "02:30", "sun",
		  "2026-03-08 03:00:00 -0400" },
		{ "America/Toronto", utc(2026, 10, 31, 12, 0, 0), "01:30", "daily",
		  "2026-11-01 01:30:00 -0400" },
		{ "America/Toronto", utc(2026, 11, 1, 5, 30, 0), "01:30", "daily",
		  "2026-11-02 01:30:00 -0500" },
		{ "America/Toronto", utc(2026, 10, 31, 12, 0, 0), "09:00", "sun",
		  "2026-11-01 09:00:00 -0500" },
		/* Lord Howe: 30-minute shifts */
		{ "Australia/Lord_Howe", utc(2026, 10, 3, 0, 0, 0), "02:15",
		  "daily", "2026-10-04 02:30:00 +1100" },
		{ "Australia/Lord_Howe", utc(2026, 4, 4, 0, 0, 0), "01:45",
		  "daily", "2026-04-05 01:45:00 +1100" },
		{ "Australia/Lord_Howe", utc(2026, 4, 4, 14, 45, 0), "01:45",
		  "daily", "2026-04-06 01:45:00 +1030" },
		/* Kathmandu has no DST: every day the same offset */
		{ "Asia/Kathmandu", utc(2026, 12, 31, 20, 0, 0), "00:00", "daily",
		  "2027-01-02 00:00:00 +0545" },
	};
	int64_t t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int minute;
		unsigned mask;

		CHECK_OK(when_parse_hhmm(cases[i].hhmm, &minute));
		CHECK_OK(when_parse_days(cases[i].days, &mask));
		t = SENTINEL;
		if (when_next_slot(cases[i].after, cases[i].tz, minute, mask,
				   &t) != SC_OK)
			th_fail(__FILE__, __LINE__, "case %zu failed", i);
		if (strcmp(show(t, cases[i].tz), cases[i].want) != 0)
			th_fail(__FILE__, __LINE__,
				"case %zu: %s %s in %s\n  got:  %s\n  want: %s",
				i, cases[i].days, cases[i].hhmm, cases[i].tz,
				show(t, cases[i].tz), cases[i].want);
		if (t <= cases[i].after)
			th_fail(__FILE__, __LINE__, "case %zu not after", i);
	}
	/* a daily 09:00 through a whole year fires 365 times, DST or not */
	{
		int64_t at = utc(2026, 1, 1, 0, 0, 0);
		int n = 0;

		while (at < utc(2027, 1, 1, 0, 0, 0)) {
			CHECK_OK(when_next_slot(at, "Europe/Berlin", 2 * 60 + 30,
						0x7f, &t));
			at = t;
			n++;
		}
		CHECK_INT(n, 365 + 1); /* the last one is in 2027 */
	}
	t = SENTINEL;
	CHECK_INT(when_next_slot(NOW, "UTC", -1, 0x1f, &t), SC_EINVAL);
	CHECK_INT(when_next_slot(NOW, "UTC", 1440, 0x1f, &t), SC_EINVAL);
	CHECK_INT(when_next_slot(NOW, "UTC", 540, 0, &t), SC_EINVAL);
	CHECK_INT(when_next_slot(NOW, "UTC", 540, 0x80, &t), SC_EINVAL);
	CHECK_INT(when_next_slot(NOW, "Not/AZone", 540, 0x1f, &t), SC_EINVAL);
	CHECK_INT(t, SENTINEL);
}

static void test_window_parse(void)
{
	static const struct {
		const char *s;
		int start, end; /* start -1 = rejected */
	} cases[] = {
		{ "thu-sun", 3 * 1440, 0 },
		{ "fri 17:00 - mon 08:00", 4 * 1440 + 1020, 480 },
		{ "wed 18:00 - sun", 2 * 1440 + 1080, 0 },
		{ "FRI 17:00-MON 08:00", 4 * 1440 + 1020, 480 },
		{ "friday 17:00 - monday 8:00", 4 * 1440 + 1020, 480 },
		{ "mon-fri", 0, 5 * 1440 },
		{ "mon - fri 12:00", 0, 4 * 1440 + 720 },
		{ "sat", 5 * 1440, 6 * 1440 },
		{ "sun", 6 * 1440, 0 },
		{ "mon-sun", 0, 0 },
		{ "sat-tue", 5 * 1440, 2 * 1440 },
		{ "", -1, 0 },
		{ "thu-", -1, 0 },
		{ "-sun", -1, 0 },
		{ "fri 17:00", -1, 0 },
		{ "fri 25:00 - mon", -1, 0 },
		{ "fri 17:60 - mon", -1, 0 },
		{ "funday-sun", -1, 0 },
		{ "thu-sun extra", -1, 0 },
		{ "thu - sun - mon", -1, 0 },
		{ "17:00 - 18:00", -1, 0 },
		{ "thu,sun", -1, 0 },
		{ "daily", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int s = -7, e = -7;
		sc_err err = when_parse_window(cases[i].s, &s, &e);

		if (cases[i].start >= 0 ?
			    err != SC_OK || s != cases[i].start ||
				    e != cases[i].end :
			    err != SC_EINVAL || s != -7 || e != -7)
			th_fail(__FILE__, __LINE__,
				"window \"%s\": err %d, %d-%d", cases[i].s, err,
				s, e);
	}
}

static void test_in_window(void)
{
	static const struct {
		const char *window, *tz;
		int y, mo, d, h, mi; /* UTC */
		int in;
	} cases[] = {
		/* 2026-11-25 is a Wednesday; Berlin is UTC+1 */
		{ "wed 18:00 - sun", "Europe/Berlin", 2026, 11, 25, 16, 59, 0 },
		{ "wed 18:00 - sun", "Europe/Berlin", 2026, 11, 25, 17, 0, 1 },
		{ "wed 18:00 - sun", "Europe/Berlin", 2026, 11, 29, 22, 59, 1 },
		{ "wed 18:00 - sun", "Europe/Berlin", 2026, 11, 29, 23, 0, 0 },
		{ "wed 18:00 - sun", "UTC", 2026, 11, 29, 23, 0, 1 },
		/* wraps the week */
		{ "fri 17:00 - mon 08:00", "UTC", 2026, 11, 27, 16, 59, 0 },
		{ "fri 17:00 - mon 08:00", "UTC", 2026, 11, 28, 12, 0, 1 },
		{ "fri 17:00 - mon 08:00", "UTC", 2026, 11, 30, 7, 59, 1 },
		{ "fri 17:00 - mon 08:00", "UTC", 2026, 11, 30, 8, 0, 0 },
		{ "fri 17:00 - mon 08:00", "UTC", 2026, 12, 1, 12, 0, 0 },
		{ "thu-sun", "UTC", 2026, 11, 26, 0, 0, 1 },
		{ "thu-sun", "UTC", 2026, 11, 25, 23, 59, 0 },
		{ "thu-sun", "UTC", 2026, 11, 30, 0, 0, 0 },
		{ "sat-tue", "UTC", 2026, 11, 23, 12, 0, 1 },
		{ "sat-tue", "UTC", 2026, 11, 25, 0, 0, 0 },
		{ "mon-fri", "UTC", 2026, 11, 28, 12, 0, 0 },
		{ "mon-fri", "UTC", 2026, 11, 27, 23, 59, 1 },
		/* the whole week */
		{ "mon-sun", "UTC", 2026, 11, 29, 23, 59, 1 },
		/* the local weekday counts: Monday 04:00 in Kathmandu is
		 * still Sunday in UTC */
		{ "mon", "Asia/Kathmandu", 2026, 11, 22, 22, 15, 1 },
		{ "mon", "UTC", 2026, 11, 22, 22, 15, 0 },
		/* a weekend in Lord Howe during its DST */
		{ "sat-sun", "Australia/Lord_Howe", 2026, 11, 27, 13, 0, 1 },
		{ "sat-sun", "Australia/Lord_Howe", 2026, 11, 27, 12, 59, 0 },
		{ "sat-sun", "Not/AZone", 2026, 11, 28, 12, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int s, e;
		int64_t t = utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h,
				cases[i].mi, 0);

		CHECK_OK(when_parse_window(cases[i].window, &s, &e));
		if (when_in_window(t, cases[i].tz, s, e) != cases[i].in)
			th_fail(__FILE__, __LINE__, "%s in %s at %s: want %d",
				cases[i].window, cases[i].tz,
				show(t, cases[i].tz), cases[i].in);
	}
	CHECK_INT(when_in_window(NOW, "UTC", -1, 10), 0);
	CHECK_INT(when_in_window(NOW, "UTC", 0, 20000), 0);
}

static void test_format(void)
{
	struct sbuf sb;

	sbuf_init(&sb, 0);
	CHECK_OK(when_format(NOW, "Europe/Berlin", "%Y-%m-%d %H:%M %Z", &sb));
	CHECK_STR(sb.buf, "2026-11-23 11:00 CET");
	sbuf_setlen(&sb, 0);
	CHECK_OK(when_format(utc(2026, 7, 1, 12, 0, 0), "Europe/Berlin",
			     "%H:%M %Z %z", &sb));
	CHECK_STR(sb.buf, "14:00 CEST +0200");
	sbuf_setlen(&sb, 0);
	CHECK_OK(when_format(NOW, "Asia/Kathmandu", "%a %H:%M %z", &sb));
	CHECK_STR(sb.buf, "Mon 15:45 +0545");
	/* appends; an empty format appends nothing */
	CHECK_OK(when_format(NOW, "UTC", "", &sb));
	CHECK_OK(when_format(NOW, "UTC", " | %Y", &sb));
	CHECK_STR(sb.buf, "Mon 15:45 +0545 | 2026");
	/* a result longer than the first guess */
	sbuf_setlen(&sb, 0);
	CHECK_OK(when_format(NOW, "UTC",
			     "%Y-%m-%d %Y-%m-%d %Y-%m-%d %Y-%m-%d %Y-%m-%d "
			     "%Y-%m-%d %Y-%m-%d %Y-%m-%d %Y-%m-%d %Y-%m-%d "
			     "%Y-%m-%d %Y-%m-%d",
			     &sb));
	CHECK_INT(sb.len, 12 * 11 - 1);
	/* failures leave the buffer alone */
	sbuf_setlen(&sb, 0);
	CHECK_OK(sbuf_puts(&sb, "kept"));
	CHECK_INT(when_format(NOW, "Not/AZone", "%Y", &sb), SC_EINVAL);
	CHECK_STR(sb.buf, "kept");
	sbuf_release(&sb);
}

static void test_format_short(void)
{
	const struct {
		const char *tz;
		int64_t t;
		const char *want;
	} cases[] = {
		{ "UTC", utc(2026, 11, 23, 14, 5, 0), "today 14:05" },
		{ "UTC", utc(2026, 11, 23, 0, 0, 0), "today 00:00" },
		{ "UTC", utc(2026, 11, 22, 9, 12, 0), "yesterday 09:12" },
		{ "UTC", utc(2026, 11, 24, 23, 59, 59), "tomorrow 23:59" },
		{ "UTC", utc(2026, 11, 27, 14, 5, 0), "Fri 27 Nov 14:05" },
		{ "UTC", utc(2026, 11, 5, 8, 0, 0), "Thu 5 Nov 08:00" },
		{ "UTC", utc(2027, 3, 1, 8, 0, 0), "Mon 1 Mar 08:00" },
		{ "UTC", utc(2025, 11, 27, 14, 5, 0), "2025-11-27 14:05" },
		{ "UTC", utc(2027, 11, 27, 14, 5, 0), "2027-11-27 14:05" },
		/* local days, not UTC days */
		{ "UTC", utc(2026, 11, 23, 23, 30, 0), "today 23:30" },
		{ "Europe/Berlin", utc(2026, 11, 23, 23, 30, 0), "tomorrow 00:30" },
		{ "Asia/Kathmandu", utc(2026, 11, 22, 20, 0, 0), "today 01:45" },
		{ "America/Toronto", utc(2026, 11, 23, 4, 0, 0), "yesterday 23:00" },
	};
	struct sbuf sb;

	sbuf_init(&sb, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_setlen(&sb, 0);
		CHECK_OK(when_format_short(cases[i].t, NOW, cases[i].tz, &sb));
		CHECK_STR(sb.buf, cases[i].want);
	}
	sbuf_setlen(&sb, 0);
	CHECK_INT(when_format_short(NOW, NOW, "", &sb), SC_EINVAL);
	CHECK_STR(sb.buf, "");
	sbuf_release(&sb);
}

static void test_format_date(void)
{
	struct sbuf sb;

	sbuf_init(&sb, 0);
	CHECK_OK(when_format_date(utc(2026, 11, 27, 12, 0, 0), "UTC", &sb));
	CHECK_STR(sb.buf, "2026-11-27");
	sbuf_setlen(&sb, 0);
	CHECK_OK(when_format_date(utc(2026, 11, 23, 20, 0, 0), "Asia/Kolkata",
				  &sb));
	CHECK_STR(sb.buf, "2026-11-24");
	sbuf_setlen(&sb, 0);
	CHECK_OK(when_format_date(utc(2027, 1, 1, 2, 0, 0), "America/Toronto",
				  &sb));
	CHECK_STR(sb.buf, "2026-12-31");
	sbuf_setlen(&sb, 0);
	CHECK_INT(when_format_date(NOW, "../etc/passwd", &sb), SC_EINVAL);
	CHECK_STR(sb.buf, "");
	sbuf_release(&sb);
}

/* when_utc is gmtime_r without the lock: field for field the same,
 * across leap years, century rules, the epoch and negative times. */
static void test_utc_matches_gmtime(void)
{
	static const int64_t fixed[] = {
		0, -1, 59, 86399, 86400, 951782400 /* 2000-02-29 */,
		4107542399 /* 2100-02-28 23:59:59 */, 4107542400,
		-2208988800 /* 1900-01-01 */, 1700000000, 253402300799,
	};
	int64_t t = -2208988800;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 20000; i++) {
		int64_t v = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i] : t;
		time_t tt = (time_t)v;
		struct tm want, got;

		CHECK(gmtime_r(&tt, &want) != NULL);
		CHECK_OK(when_utc(v, &got));
		if (got.tm_year != want.tm_year || got.tm_mon != want.tm_mon ||
		    got.tm_mday != want.tm_mday || got.tm_hour != want.tm_hour ||
		    got.tm_min != want.tm_min || got.tm_sec != want.tm_sec ||
		    got.tm_wday != want.tm_wday || got.tm_yday != want.tm_yday)
			th_fail(__FILE__, __LINE__, "when_utc(%lld) differs from gmtime_r",
				(long long)v);
		if (i >= sizeof(fixed) / sizeof(fixed[0]))
			t += 86400 * 3 + 3607; /* 1900 to 2066, drifting hours */
	}
}

static void test_format_duration(void)
{
	static const struct {
		int64_t secs;
		const char *want;
	} cases[] = {
		{ 0, "0s" },
		{ 45, "45s" },
		{ 60, "1m" },
		{ 90, "1m 30s" },
		{ 3600, "1h" },
		{ 3630, "1h" },        /* only the unit next to the largest */
		{ 7500, "2h 5m" },
		{ 7530, "2h 5m" },
		{ 86400, "1d" },
		{ 3 * 86400 + 4 * 3600, "3d 4h" },
		{ 3 * 86400 + 300, "3d" },
		{ 14 * 86400, "14d" },
		{ -7500, "-2h 5m" },
		{ -45, "-45s" },
		{ INT64_MIN, "-106751991167300d 15h" },
		{ INT64_MAX, "106751991167300d 15h" },
	};
	struct sbuf sb;

	sbuf_init(&sb, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_setlen(&sb, 0);
		CHECK_OK(when_format_duration(cases[i].secs, &sb));
		CHECK_STR(sb.buf, cases[i].want);
	}
	/* parse and format agree on what they share */
	{
		int64_t d;

		CHECK_OK(when_parse_duration("1d12h", &d));
		sbuf_setlen(&sb, 0);
		CHECK_OK(when_format_duration(d, &sb));
		CHECK_STR(sb.buf, "1d 12h");
	}
	sbuf_release(&sb);
}

TESTS(TEST(test_tz_valid), TEST(test_tz_restored), TEST(test_local),
      TEST(test_from_local), TEST(test_duration), TEST(test_hhmm),
      TEST(test_days_parse), TEST(test_days_format), TEST(test_due),
      TEST(test_due_on_friday), TEST(test_since), TEST(test_next_slot),
      TEST(test_window_parse), TEST(test_in_window), TEST(test_format),
      TEST(test_format_short), TEST(test_format_date),
      TEST(test_format_duration), TEST(test_utc_matches_gmtime))
