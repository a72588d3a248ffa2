/* SPDX-License-Identifier: MIT */
/*
 * html_chart.h - the pictures of the HTML export, drawn as inline SVG
 * from numbers: no library, no script. Each function appends one <svg>
 * element that is well-formed XML (xmlns set, every attribute quoted,
 * every string escaped), scales to the width of its container through
 * its viewBox, and is coloured only through CSS classes (c-*) that the
 * site's style sheet defines for light, dark and print, because the
 * site's Content-Security-Policy allows no inline style. Coordinates are
 * whole numbers, so the same numbers always give the same bytes.
 *
 * Labels are copied escaped; they are scribe's own words and dates.
 */
#ifndef SCRIBE_HTML_CHART_H
#define SCRIBE_HTML_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

/* One point of a chart: its value and the label of its bar or point
 * (e.g. "week of 2026-11-02"), shown as a tooltip. */
struct chart_point {
	int64_t v;
	const char *label;
};

/*
 * A line over the points (an area under it), e.g. open items per week.
 * title names the chart (its <title>, for screen readers and tooltips);
 * first and last label the two ends of the x axis. n >= 1.
 */
sc_err chart_line(struct sbuf *out, const char *title,
		  const struct chart_point *p, size_t n, const char *first,
		  const char *last);

/*
 * Bars, e.g. deploys per week; with line (not NULL) a second series on
 * its own scale drawn as a line with dots over the bars, e.g. MTTR in
 * hours per month, where a value < 0 means "none that month" (no dot).
 * line_name names the second series in the legend ("MTTR, hours").
 */
sc_err chart_bars(struct sbuf *out, const char *title,
		  const struct chart_point *bars, const struct chart_point *line,
		  const char *line_name, size_t n, const char *first,
		  const char *last);

/* The check-in tally of a proposal: one bar split into 👍 👎 🤷 in
 * proportion. titled: with its <title> and role (alone on a page);
 * else hidden from screen readers, for a row that says the counts. */
sc_err chart_tally(struct sbuf *out, int up, int down, int meh, int titled);

#endif
