/* SPDX-License-Identifier: MIT */
/*
 * when_parse.c - the words of when.h: durations ("1d12h"), times of day
 * ("17:00", "5pm"), lists of days ("sun-thu") and weekly windows, due
 * dates ("fri 17:00", "dec 24", "+3d"), "since:" windows, reminder times
 * ("in 2 hours", "tomorrow at 9"), recurrences ("every weekday 17:30")
 * and ops hours ("sun-thu 09:00-18:00"); and day lists and ops hours
 * written back in the same words. Parsing is strict: anything not
 * understood is SC_EINVAL. Turning a local day and time into an instant
 * is when.c's (tz_resolve).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "when_int.h"
#include "banned.h"

/* The longest duration accepted anywhere (100 years): keeps every sum far
 * from overflow and turns typos such as "+99999999999d" into errors. */
#define DURATION_MAX ((int64_t)36525 * DAY_SECS)
/* Years a typed date may name. */
#define YEAR_MIN 1970
#define YEAR_MAX 9999
/* No valid input to the parsers is longer than this. */
#define WORD_MAX 128

/* Accepted spellings, lowercase; the first of each row is the short form. */
static const char *const day_names[7][4] = {
	{ "mon", "monday", NULL, NULL },
	{ "tue", "tues", "tuesday", NULL },
	{ "wed", "wednesday", NULL, NULL },
	{ "thu", "thur", "thurs", "thursday" },
	{ "fri", "friday", NULL, NULL },
	{ "sat", "saturday", NULL, NULL },
	{ "sun", "sunday", NULL, NULL },
};
static const char *const month_names[12][3] = {
	{ "jan", "january", NULL },   { "feb", "february", NULL },
	{ "mar", "march", NULL },     { "apr", "april", NULL },
	{ "may", NULL, NULL },        { "jun", "june", NULL },
	{ "jul", "july", NULL },      { "aug", "august", NULL },
	{ "sep", "sept", "september" }, { "oct", "october", NULL },
	{ "nov", "november", NULL },  { "dec", "december", NULL },
};

/* ---- dates ---- */

static int days_in_month(int64_t y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : len[m - 1];
}

static int valid_date(int64_t y, int m, int d)
{
	return y >= YEAR_MIN && y <= YEAR_MAX && m >= 1 && m <= 12 && d >= 1 &&
	       d <= days_in_month(y, m);
}

/* ---- words ---- */

/* Copy s lowercased into buf; 0 if s is NULL, empty, too long or holds a
 * control character. */
static int copy_lower(const char *s, char *buf, size_t size)
{
	size_t n;

	if (!s || !*s)
		return 0;
	n = strlen(s);
	if (n >= size)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
		buf[i] = (char)tolower(c);
	}
	buf[n] = '\0';
	return 1;
}

/* Weekday 0..6 named by the n lowercase letters at w, or -1. */
static int match_day(const char *w, size_t n)
{
	for (int d = 0; d < 7; d++)
		for (int k = 0; k < 4 && day_names[d][k]; k++)
			if (strlen(day_names[d][k]) == n &&
			    !memcmp(day_names[d][k], w, n))
				return d;
	return -1;
}

/* Month 1..12 named by the n lowercase letters at w, or -1. */
static int match_month(const char *w, size_t n)
{
	for (int m = 0; m < 12; m++)
		for (int k = 0; k < 3 && month_names[m][k]; k++)
			if (strlen(month_names[m][k]) == n &&
			    !memcmp(month_names[m][k], w, n))
				return m + 1;
	return -1;
}

static size_t count_alpha(const char *s)
{
	size_t n = 0;

	while (s[n] >= 'a' && s[n] <= 'z')
		n++;
	return n;
}

static size_t count_digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

static int digits_value(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* ---- durations and times of day ---- */

/* s is lowercase. */
static sc_err parse_duration_lc(const char *s, int64_t *secs)
{
	static const struct {
		char c;
		int64_t secs;
	} units[] = { { 'w', 7 * DAY_SECS }, { 'd', DAY_SECS },
		      { 'h', 3600 },          { 'm', 60 },
		      { 's', 1 } };
	int64_t total = 0;
	int last = -1;

	if (!*s)
		return SC_EINVAL;
	while (*s) {
		int64_t v = 0;
		size_t nd = count_digits(s);
		int u;

		if (nd == 0)
			return SC_EINVAL;
		for (size_t i = 0; i < nd; i++) {
			v = v * 10 + (s[i] - '0');
			if (v > DURATION_MAX)
				return SC_EINVAL;
		}
		s += nd;
		for (u = 0; u < 5 && units[u].c != *s; u++)
			;
		/* Units in decreasing order, each at most once: "1d12h". */
		if (!*s || u == 5 || u <= last)
			return SC_EINVAL;
		s++;
		last = u;
		if (v > DURATION_MAX / units[u].secs)
			return SC_EINVAL;
		total += v * units[u].secs;
		if (total > DURATION_MAX)
			return SC_EINVAL;
	}
	if (total <= 0)
		return SC_EINVAL;
	*secs = total;
	return SC_OK;
}

sc_err when_parse_duration(const char *s, int64_t *secs)
{
	char buf[WORD_MAX];

	if (!secs || !copy_lower(s, buf, sizeof(buf)))
		return SC_EINVAL;
	return parse_duration_lc(buf, secs);
}

sc_err when_parse_hhmm(const char *s, int *minute)
{
	size_t nh, nm;
	int h, m;

	if (!s || !minute)
		return SC_EINVAL;
	nh = count_digits(s);
	if (nh < 1 || nh > 2 || s[nh] != ':')
		return SC_EINVAL;
	nm = count_digits(s + nh + 1);
	if (nm != 2 || s[nh + 1 + nm] != '\0')
		return SC_EINVAL;
	h = digits_value(s, nh);
	m = digits_value(s + nh + 1, 2);
	if (h > 23 || m > 59)
		return SC_EINVAL;
	*minute = h * 60 + m;
	return SC_OK;
}

/* ---- day masks ---- */

static void trim_span(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* One item of a day list: a day, a range of days or a keyword. */
static sc_err parse_day_item(const char *s, size_t n, unsigned *mask)
{
	const char *dash;
	int a, b;

	trim_span(&s, &n);
	if (n == 0)
		return SC_EINVAL;
	if (n == 5 && !memcmp(s, "daily", 5)) {
		*mask |= 0x7f;
		return SC_OK;
	}
	if (n == 8 && !memcmp(s, "weekdays", 8)) {
		*mask |= 0x1f;
		return SC_OK;
	}
	if (n == 8 && !memcmp(s, "weekends", 8)) {
		*mask |= 0x60;
		return SC_OK;
	}
	dash = memchr(s, '-', n);
	if (!dash) {
		a = match_day(s, n);
		if (a < 0)
			return SC_EINVAL;
		*mask |= 1u << a;
		return SC_OK;
	}
	{
		const char *s2 = dash + 1;
		size_t n1 = (size_t)(dash - s), n2 = n - n1 - 1;

		trim_span(&s, &n1);
		trim_span(&s2, &n2);
		a = match_day(s, n1);
		b = match_day(s2, n2);
	}
	if (a < 0 || b < 0)
		return SC_EINVAL;
	/* Ranges may wrap the week: "sun-thu", "fri-mon". */
	for (int d = a;; d = (d + 1) % 7) {
		*mask |= 1u << d;
		if (d == b)
			break;
	}
	return SC_OK;
}

sc_err when_parse_days(const char *s, unsigned *mask)
{
	char buf[WORD_MAX];
	const char *p;
	unsigned m = 0;

	if (!mask || !copy_lower(s, buf, sizeof(buf)))
		return SC_EINVAL;
	p = buf;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		sc_err err = parse_day_item(p, n, &m);

		if (err)
			return err;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!m)
		return SC_EINVAL;
	*mask = m;
	return SC_OK;
}

sc_err when_format_days(unsigned mask, struct sbuf *out)
{
	char buf[64];
	size_t len = 0;
	int first = 0;

	if (!out || mask == 0 || mask > 0x7f)
		return SC_EINVAL;
	if (mask == 0x7f)
		return sbuf_puts(out, "daily");
	/* Start at Monday unless a run wraps from Sunday into Monday, in
	 * which case start where that run starts ("sun-thu", "fri-mon"). */
	if ((mask & 1u) && (mask & 0x40u))
		for (first = 6; mask & (1u << (first - 1)); first--)
			;
	for (int i = 0; i < 7;) {
		int d = (first + i) % 7, run = 0;

		if (!(mask & (1u << d))) {
			i++;
			continue;
		}
		while (i + run < 7 && (mask & (1u << ((d + run) % 7))))
			run++;
		/* Runs of three or more as ranges; shorter ones as lists,
		 * which are no longer and read better ("sat,sun"). */
		for (int k = 0; k < (run >= 3 ? 1 : run); k++) {
			const char *name = day_names[(d + k) % 7][0];
			int n = snprintf(buf + len, sizeof(buf) - len, "%s%s",
					 len ? "," : "", name);

			len += (size_t)n;
		}
		if (run >= 3) {
			int n = snprintf(buf + len, sizeof(buf) - len, "-%s",
					 day_names[(d + run - 1) % 7][0]);

			len += (size_t)n;
		}
		i += run;
	}
	return sbuf_puts(out, buf);
}

/* ---- weekly windows ---- */

/* One end of a window at *p: a day and an optional HH:MM. */
static sc_err parse_window_end(const char **p, int *day, int *minute)
{
	const char *s = *p;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = count_alpha(s);
	*day = match_day(s, n);
	if (*day < 0)
		return SC_EINVAL;
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	*minute = -1;
	if (*s >= '0' && *s <= '9') {
		char hm[8];
		size_t k = 0;

		while ((s[k] >= '0' && s[k] <= '9') || s[k] == ':')
			k++;
		if (k >= sizeof(hm))
			return SC_EINVAL;
		memcpy(hm, s, k);
		hm[k] = '\0';
		if (when_parse_hhmm(hm, minute))
			return SC_EINVAL;
		s += k;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	*p = s;
	return SC_OK;
}

sc_err when_parse_window(const char *s, int *start, int *end)
{
	char buf[WORD_MAX];
	const char *p;
	int d1, m1, d2, m2, a, b;

	if (!start || !end || !copy_lower(s, buf, sizeof(buf)))
		return SC_EINVAL;
	p = buf;
	if (parse_window_end(&p, &d1, &m1))
		return SC_EINVAL;
	if (*p == '\0') {
		/* A single day: the whole of it. */
		if (m1 >= 0)
			return SC_EINVAL;
		d2 = d1;
		m2 = -1;
	} else {
		if (*p != '-')
			return SC_EINVAL;
		p++;
		if (parse_window_end(&p, &d2, &m2) || *p != '\0')
			return SC_EINVAL;
	}
	/* A start without a time is the start of that day, an end without
	 * one the end of that day. */
	a = d1 * DAY_MINUTES + (m1 >= 0 ? m1 : 0);
	b = m2 >= 0 ? d2 * DAY_MINUTES + m2 : (d2 + 1) * DAY_MINUTES;
	*start = a;
	*end = b % WEEK_MINUTES;
	return SC_OK;
}

/* ---- due dates and since ---- */

/*
 * The local day named by the lowercase word w, relative to today. For a
 * due date (dir > 0) weekdays and dates without a year are the next such
 * day; for a since (dir < 0) the most recent one.
 */
static sc_err parse_day_word(const char *w, int dir, int64_t today,
			     int64_t *out)
{
	int64_t ty;
	int tm_, td, wd = weekday_of(today), y, m, d;
	size_t na = count_alpha(w), nd = count_digits(w);

	civil_from_days(today, &ty, &tm_, &td);
	if (na == strlen(w)) {
		int day = match_day(w, na);

		if (dir > 0 && (!strcmp(w, "today") || !strcmp(w, "tonight") ||
				!strcmp(w, "eod")))
			*out = today;
		else if (dir > 0 && !strcmp(w, "tomorrow"))
			*out = today + 1;
		else if (dir > 0 && !strcmp(w, "eow"))
			*out = today + (4 - wd + 7) % 7; /* Friday, maybe today */
		else if (dir < 0 && !strcmp(w, "today"))
			*out = today;
		else if (dir < 0 && !strcmp(w, "yesterday"))
			*out = today - 1;
		else if (day >= 0 && dir > 0)
			*out = today + (day - wd + 6) % 7 + 1;
		else if (day >= 0)
			*out = today - ((wd - day + 6) % 7 + 1);
		else
			return SC_EINVAL;
		return SC_OK;
	}
	/* YYYY-MM-DD */
	if (nd == 4 && w[4] == '-' && count_digits(w + 5) == 2 &&
	    w[7] == '-' && count_digits(w + 8) == 2 && w[10] == '\0') {
		y = digits_value(w, 4);
		m = digits_value(w + 5, 2);
		d = digits_value(w + 8, 2);
		if (!valid_date(y, m, d))
			return SC_EINVAL;
		*out = days_from_civil(y, m, d);
		return SC_OK;
	}
	/* MM-DD, dec1, december1, 1dec */
	if (nd == 2 && w[2] == '-' && count_digits(w + 3) == 2 &&
	    w[5] == '\0') {
		m = digits_value(w, 2);
		d = digits_value(w + 3, 2);
	} else if (na > 0 && count_digits(w + na) >= 1 &&
		   count_digits(w + na) <= 2 &&
		   w[na + count_digits(w + na)] == '\0') {
		m = match_month(w, na);
		d = digits_value(w + na, count_digits(w + na));
	} else if (nd >= 1 && nd <= 2 && count_alpha(w + nd) > 0 &&
		   w[nd + count_alpha(w + nd)] == '\0') {
		m = match_month(w + nd, count_alpha(w + nd));
		d = digits_value(w, nd);
	} else {
		return SC_EINVAL;
	}
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return SC_EINVAL;
	/* The next (or last) year in which the date exists: feb29 may be
	 * up to eight years away, feb30 never. */
	for (int k = 0; k <= 8; k++) {
		int64_t yy = ty + dir * k;
		int64_t day;

		if (!valid_date(yy, m, d))
			continue;
		day = days_from_civil(yy, m, d);
		if ((dir > 0 && day >= today) || (dir < 0 && day <= today)) {
			*out = day;
			return SC_OK;
		}
	}
	return SC_EINVAL;
}

/*
 * Split "word@HH:MM" or "YYYY-MM-DDtHH:MM" (w lowercase, modified in
 * place): *minute is the time of day, or -1 when there is none.
 */
static sc_err split_time(char *w, int *minute)
{
	char *at = strchr(w, '@');

	*minute = -1;
	if (!at && count_digits(w) == 4 && strlen(w) > 10 && w[10] == 't')
		at = w + 10;
	if (!at)
		return SC_OK;
	*at = '\0';
	if (!*w)
		return SC_EINVAL;
	return when_parse_hhmm(at + 1, minute);
}

/* Minutes of the day of a due time: "17:00", "9:30", "5pm", "9:30am"
 * (w lowercase); -1 when w is no time. */
static int due_minute(const char *w)
{
	char buf[16];
	size_t n = strlen(w);
	int minute, h;

	if (when_parse_hhmm(w, &minute) == SC_OK)
		return minute;
	if (n < 3 || n >= sizeof(buf) || w[n - 1] != 'm' ||
	    (w[n - 2] != 'a' && w[n - 2] != 'p'))
		return -1;
	memcpy(buf, w, n - 2);
	buf[n - 2] = '\0';
	if (!strchr(buf, ':') && count_digits(buf) == strlen(buf) &&
	    strlen(buf) >= 1 && strlen(buf) <= 2)
		minute = digits_value(buf, strlen(buf)) * 60;
	else if (when_parse_hhmm(buf, &minute) != SC_OK)
		return -1;
	h = minute / 60;
	if (h < 1 || h > 12)
		return -1;
	minute = (h % 12) * 60 + minute % 60 + (w[n - 2] == 'p' ? 720 : 0);
	return minute;
}

/* "in 3 days", "in 2h", "in 1 week": the duration after "in " (s
 * lowercase); *days when it counts whole days or weeks only. */
static sc_err due_in(const char *s, int64_t *secs, int *days)
{
	static const struct {
		const char *name;
		char unit;
	} units[] = {
		{ "s", 's' }, { "sec", 's' }, { "secs", 's' }, { "second", 's' },
		{ "seconds", 's' }, { "m", 'm' }, { "min", 'm' }, { "mins", 'm' },
		{ "minute", 'm' }, { "minutes", 'm' }, { "h", 'h' }, { "hr", 'h' },
		{ "hrs", 'h' }, { "hour", 'h' }, { "hours", 'h' }, { "d", 'd' },
		{ "day", 'd' }, { "days", 'd' }, { "w", 'w' }, { "wk", 'w' },
		{ "week", 'w' }, { "weeks", 'w' },
	};
	char one[WORD_MAX];
	size_t nd = count_digits(s);
	const char *u;

	if (nd == 0 || nd > 6)
		return SC_EINVAL;
	u = s + nd;
	if (*u == ' ')
		u++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(u, units[i].name))
			continue;
		snprintf(one, sizeof(one), "%.*s%c", (int)nd, s, units[i].unit);
		*days = units[i].unit == 'd' || units[i].unit == 'w';
		return parse_duration_lc(one, secs);
	}
	/* "in 1d12h" */
	if (u == s + nd && parse_duration_lc(s, secs) == SC_OK) {
		*days = !strpbrk(s, "hms");
		return SC_OK;
	}
	return SC_EINVAL;
}

/*
 * The local day of a due date's day part (lowercase, words separated by
 * one space), relative to today: "next week" (Friday of next week),
 * "next fri" (that day of next week), "dec 24" / "24 dec", or one word
 * of parse_day_word.
 */
static sc_err due_day(const char *w, int64_t today, int64_t *out)
{
	char joined[WORD_MAX];
	const char *sp = strchr(w, ' ');
	int wd = weekday_of(today);
	int64_t monday_next = today - wd + 7;

	if (!sp)
		return parse_day_word(w, 1, today, out);
	if (strchr(sp + 1, ' '))
		return SC_EINVAL;
	if (!strncmp(w, "next ", 5)) {
		int day = match_day(w + 5, strlen(w + 5));
		if (!strcmp(w + 5, "week"))
			*out = monday_next + 4;
		else if (day >= 0)
			*out = monday_next + day;
		else
			return SC_EINVAL;
		return SC_OK;
	}
	/* "dec 24", "24 dec", "december 24": a month and a day */
	if ((count_alpha(w) == (size_t)(sp - w) && count_digits(sp + 1) == strlen(sp + 1)) ||
	    (count_digits(w) == (size_t)(sp - w) && count_alpha(sp + 1) == strlen(sp + 1))) {
		snprintf(joined, sizeof(joined), "%.*s%s", (int)(sp - w), w, sp + 1);
		return parse_day_word(joined, 1, today, out);
	}
	return SC_EINVAL;
}

sc_err when_parse_due(const char *s, int64_t now, const char *tz, int64_t *out)
{
	char buf[WORD_MAX];
	struct tzsave save;
	int64_t secs, today, t = 0;
	int minute = -1, sod, days = 0, rel, alone = 0;
	char *last;
	size_t n;
	sc_err err;

	if (!out || !copy_lower(s, buf, sizeof(buf)))
		return SC_EINVAL;
	/* words are separated by one space, no space around them */
	n = strlen(buf);
	if (buf[0] == ' ' || buf[n - 1] == ' ' || strstr(buf, "  "))
		return SC_EINVAL;
	rel = buf[0] == '+' || !strncmp(buf, "in ", 3);
	if (rel) {
		/* Relative: whole days and weeks end with the end of that
		 * day (like a weekday); hours and minutes are exact. */
		if (buf[0] == '+') {
			err = parse_duration_lc(buf + 1, &secs);
			days = !strpbrk(buf + 1, "hms");
		} else {
			err = due_in(buf + 3, &secs, &days);
		}
		if (err)
			return err;
		if (now > INT64_MAX - secs)
			return SC_EINVAL;
		if (!days) {
			*out = now + secs;
			return SC_OK;
		}
	} else {
		/* a time after the day: "fri 17:00", "2026-12-24 17:00",
		 * or alone: "17:00" (today, or tomorrow once it is past) */
		last = strrchr(buf, ' ');
		minute = due_minute(last ? last + 1 : buf);
		alone = minute >= 0 && !last;
		if (minute >= 0 && last) {
			*last = '\0';
		} else if (minute < 0) {
			err = split_time(buf, &minute);
			if (err)
				return err;
		}
	}
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = tz_local_day(rel ? now + secs : now, &today, &sod);
	if (!err && rel)
		; /* the day it falls on */
	else if (!err && alone)
		today += minute * 60 <= sod; /* a time alone */
	else if (!err)
		err = due_day(buf, today, &today);
	/* A date alone means the end of that day. */
	if (!err)
		err = tz_resolve(today * DAY_SECS +
					 (minute >= 0 ? (int64_t)minute * 60
						      : DAY_SECS - 1),
				 0, &t);
	tz_leave(&save);
	if (!err)
		*out = t;
	return err;
}

sc_err when_parse_since(const char *s, int64_t now, const char *tz, int64_t *out)
{
	char buf[WORD_MAX];
	struct tzsave save;
	int64_t secs, today, t = 0;
	int minute, sod;
	sc_err err;

	if (!out || !copy_lower(s, buf, sizeof(buf)))
		return SC_EINVAL;
	if (parse_duration_lc(buf, &secs) == SC_OK) {
		if (now < INT64_MIN + secs)
			return SC_EINVAL;
		*out = now - secs;
		return SC_OK;
	}
	err = split_time(buf, &minute);
	if (err)
		return err;
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = tz_local_day(now, &today, &sod);
	if (!err)
		err = parse_day_word(buf, -1, today, &today);
	/* A date alone means the start of that day. */
	if (!err)
		err = tz_resolve(today * DAY_SECS +
					 (minute >= 0 ? (int64_t)minute * 60
						      : 0),
				 0, &t);
	tz_leave(&save);
	if (!err)
		*out = t;
	return err;
}

/* ---- reminder times, recurrences and ops hours ----
 *
 * Reminders take a time as one to four words ("in 2 hours", "tomorrow
 * 9:00", "fri at 5pm", "2026-12-24 09:00"), recurrences as "every
 * weekday 17:30", and ops hours as "sun-thu 09:00-18:00". Kept apart
 * from the due-date forms above: a reminder's weekday is the next such
 * moment (today when it is still ahead), a due date's the next such day.
 */

/* Minutes of the day for a time word: "17:00", "9:30", "5pm", "9:30am",
 * "12am" (midnight); -1 when w is none. */
static int word_minute(const char *w)
{
	char buf[16];
	size_t n;
	int minute, pm;

	if (when_parse_hhmm(w, &minute) == SC_OK)
		return minute;
	if (!copy_lower(w, buf, sizeof(buf)))
		return -1;
	n = strlen(buf);
	if (n < 3 || buf[n - 1] != 'm' || (buf[n - 2] != 'a' && buf[n - 2] != 'p'))
		return -1;
	pm = buf[n - 2] == 'p';
	buf[n - 2] = '\0';
	if (when_parse_hhmm(buf, &minute) != SC_OK) {
		size_t nd = count_digits(buf);

		if (nd < 1 || nd > 2 || buf[nd])
			return -1;
		minute = digits_value(buf, nd) * 60;
	}
	if (minute < 60 || minute >= 13 * 60)
		return -1; /* 1:00am .. 12:59pm */
	if (minute >= 12 * 60)
		minute -= 12 * 60; /* 12am is midnight, 12pm noon */
	return minute + (pm ? 12 * 60 : 0);
}

/* Seconds of one unit word ("hours", "min", "d"), 0 when none. */
static int64_t unit_secs(const char *w)
{
	static const struct {
		const char *name;
		int64_t secs;
	} units[] = {
		{ "s", 1 },          { "sec", 1 },         { "secs", 1 },
		{ "second", 1 },     { "seconds", 1 },     { "m", 60 },
		{ "min", 60 },       { "mins", 60 },       { "minute", 60 },
		{ "minutes", 60 },   { "h", 3600 },        { "hr", 3600 },
		{ "hrs", 3600 },     { "hour", 3600 },     { "hours", 3600 },
		{ "d", DAY_SECS },   { "day", DAY_SECS },  { "days", DAY_SECS },
		{ "w", 7 * DAY_SECS }, { "week", 7 * DAY_SECS },
		{ "weeks", 7 * DAY_SECS },
	};
	char buf[16];

	if (!copy_lower(w, buf, sizeof(buf)))
		return 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(buf, units[i].name))
			return units[i].secs;
	return 0;
}

/* "in 2h", "in 1h30m", "in 2 hours", "in an hour", "+2h". */
static sc_err parse_in(char *const *w, int n, int64_t now, int64_t *out,
		       int *used)
{
	char buf[WORD_MAX];
	int64_t secs = 0, v, unit;

	if (w[0][0] == '+') {
		if (!copy_lower(w[0] + 1, buf, sizeof(buf)) ||
		    parse_duration_lc(buf, &secs))
			return SC_EINVAL;
		*used = 1;
	} else {
		if (n < 2)
			return SC_EINVAL;
		if (copy_lower(w[1], buf, sizeof(buf)) &&
		    parse_duration_lc(buf, &secs) == SC_OK) {
			*used = 2;
		} else {
			if (n < 3 || !(unit = unit_secs(w[2])))
				return SC_EINVAL;
			if (!strcasecmp(w[1], "a") || !strcasecmp(w[1], "an")) {
				v = 1;
			} else {
				size_t nd = count_digits(w[1]);

				if (nd < 1 || nd > 6 || w[1][nd])
					return SC_EINVAL;
				v = digits_value(w[1], nd);
			}
			if (v <= 0 || v > DURATION_MAX / unit)
				return SC_EINVAL;
			secs = v * unit;
			*used = 3;
		}
	}
	if (secs <= 0 || secs > DURATION_MAX || now > INT64_MAX - secs)
		return SC_EINVAL;
	*out = now + secs;
	return SC_OK;
}

sc_err when_parse_at(char *const *words, int n, int64_t now, const char *tz,
		     int64_t *out, int *used)
{
	char buf[WORD_MAX];
	struct tzsave save;
	int64_t today, day, t = 0;
	int i = 0, minute = -1, sod, wd = -1;
	sc_err err;

	if (!words || n < 1 || !out || !used)
		return SC_EINVAL;
	if (!strcasecmp(words[0], "in") || words[0][0] == '+') {
		err = parse_in(words, n, now, &t, &i);
		if (!err) {
			*out = t;
			*used = i;
		}
		return err;
	}
	if (!strcasecmp(words[i], "on") || !strcasecmp(words[i], "at"))
		i++;
	if (i >= n)
		return SC_EINVAL;
	/* a time alone: the next such moment */
	minute = word_minute(words[i]);
	if (minute >= 0) {
		err = when_next_slot(now, tz, minute, 0x7f, &t);
		if (!err) {
			*out = t;
			*used = i + 1;
		}
		return err;
	}
	if (!copy_lower(words[i], buf, sizeof(buf)))
		return SC_EINVAL;
	if (count_alpha(buf) == strlen(buf))
		wd = match_day(buf, strlen(buf));
	i++;
	if (i < n && !strcasecmp(words[i], "at") && i + 1 < n &&
	    word_minute(words[i + 1]) >= 0)
		i++;
	if (i < n)
		minute = word_minute(words[i]);
	if (minute >= 0)
		i++;
	else
		minute = 9 * 60; /* a day alone: the start of a working day */
	if (wd >= 0) {
		err = when_next_slot(now, tz, minute, 1u << wd, &t);
		if (!err) {
			*out = t;
			*used = i;
		}
		return err;
	}
	if (!strcmp(buf, "today") || !strcmp(buf, "tomorrow") ||
	    !strcmp(buf, "tonight")) {
		if (!strcmp(buf, "tonight") && minute == 9 * 60)
			minute = 20 * 60;
	} else if (!strcmp(buf, "eod") || !strcmp(buf, "eow") ||
		   count_alpha(buf) == strlen(buf)) {
		return SC_EINVAL; /* words no reminder means */
	}
	err = tz_enter(tz, &save);
	if (err)
		return err;
	err = tz_local_day(now, &today, &sod);
	if (!err)
		err = parse_day_word(!strcmp(buf, "tonight") ? "today" : buf, 1,
				     today, &day);
	if (!err)
		err = tz_resolve(day * DAY_SECS + (int64_t)minute * 60, 1, &t);
	tz_leave(&save);
	if (err)
		return err;
	*out = t;
	*used = i;
	return SC_OK;
}

sc_err when_parse_every(char *const *words, int n, unsigned *days, int *minute,
			int *used)
{
	static const struct {
		const char *word;
		unsigned mask;
	} names[] = {
		{ "day", 0x7f },      { "daily", 0x7f },    { "weekday", 0x1f },
		{ "weekdays", 0x1f }, { "weekend", 0x60 },  { "weekends", 0x60 },
	};
	unsigned mask = 0;
	int i = 1, m = 9 * 60;

	if (!words || n < 2 || !days || !minute || !used ||
	    strcasecmp(words[0], "every"))
		return SC_EINVAL;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (!strcasecmp(words[1], names[k].word))
			mask = names[k].mask;
	if (!mask && when_parse_days(words[1], &mask) != SC_OK)
		return SC_EINVAL;
	i = 2;
	if (i + 1 < n && !strcasecmp(words[i], "at") && word_minute(words[i + 1]) >= 0)
		i++;
	if (i < n && word_minute(words[i]) >= 0)
		m = word_minute(words[i++]);
	*days = mask;
	*minute = m;
	*used = i;
	return SC_OK;
}

/* One "HH:MM" of an hours range, or "5pm": minutes, or -1. */
static int range_minute(const char *s, size_t n)
{
	char buf[16];

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!strcmp(buf, "24:00"))
		return DAY_MINUTES;
	return word_minute(buf);
}

sc_err when_parse_hours(const char *s, unsigned *days, int *start, int *end)
{
	char buf[WORD_MAX];
	const char *sp, *times, *dash;
	unsigned mask;
	int a, b;

	if (!days || !start || !end || !copy_lower(s, buf, sizeof(buf)))
		return SC_EINVAL;
	/* the days, then the times: "sun-thu 09:00-18:00" */
	sp = buf;
	while (*sp == ' ' || *sp == '\t')
		sp++;
	times = sp + strcspn(sp, " \t");
	if (!*times)
		return SC_EINVAL;
	{
		char d[WORD_MAX];
		size_t dn = (size_t)(times - sp);

		memcpy(d, sp, dn);
		d[dn] = '\0';
		if (!strcmp(d, "weekday"))
			mask = 0x1f;
		else if (!strcmp(d, "weekend"))
			mask = 0x60;
		else if (when_parse_days(d, &mask) != SC_OK)
			return SC_EINVAL;
	}
	dash = strchr(times, '-');
	if (!dash)
		return SC_EINVAL;
	a = range_minute(times, (size_t)(dash - times));
	b = range_minute(dash + 1, strlen(dash + 1));
	if (a < 0 || a >= DAY_MINUTES || b < 0 || a == b)
		return SC_EINVAL;
	*days = mask;
	*start = a;
	*end = b % DAY_MINUTES;
	return SC_OK;
}

sc_err when_format_hours(unsigned days, int start, int end, struct sbuf *out)
{
	sc_err err = when_format_days(days, out);

	if (!err)
		err = sbuf_printf(out, " %02d:%02d-%02d:%02d", start / 60,
				  start % 60, end / 60, end % 60);
	return err;
}
