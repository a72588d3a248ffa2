/* SPDX-License-Identifier: MIT */
/*
 * html_chart.c - line, bar and tally charts as inline SVG (html_chart.h).
 * Integer geometry on a fixed viewBox; the page's CSS gives the colours.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "export_html.h"
#include "html_chart.h"
#include "html_int.h"
#include "banned.h"

/* The drawing area of line and bar charts, in viewBox units. */
#define VB_W 600
#define VB_H 176
#define PLOT_L 44
#define PLOT_T 24
#define PLOT_B 144
#define LABEL_Y 164
/* Dots and per-bar tooltips are drawn up to this many points. */
#define DOTS_MAX 120

/* a * b / c rounded to nearest, for non-negative a, b and c > 0,
 * without overflow for any value an export counts. */
static int64_t scale(int64_t a, int64_t b, int64_t c)
{
	if (a <= 0 || b <= 0)
		return 0;
	if (a > INT64_MAX / b) /* absurdly large counts: coarse is fine */
		return a / c * b;
	return (a * b + c / 2) / c;
}

static int64_t max_of(const struct chart_point *p, size_t n)
{
	int64_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i].v > m)
			m = p[i].v;
	return m;
}

static sc_err head(struct sbuf *out, const char *cls, const char *title,
		   int w, int h)
{
	struct hw o = { out, SC_OK };

	hw_puts(&o, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"");
	hw_puts(&o, cls);
	hw_puts(&o, "\" viewBox=\"0 0 ");
	hw_int(&o, w);
	hw_puts(&o, " ");
	hw_int(&o, h);
	hw_puts(&o, "\" role=\"img\" aria-label=\"");
	hw_esc(&o, title);
	hw_puts(&o, "\"><title>");
	hw_esc(&o, title);
	hw_puts(&o, "</title>");
	return o.err;
}

/* A text element at (x, y) with anchor "start", "middle" or "end". */
static sc_err text(struct sbuf *out, const char *cls, int64_t x, int64_t y,
		   const char *anchor, const char *s)
{
	sc_err err = sbuf_printf(out,
				 "<text class=\"%s\" x=\"%lld\" y=\"%lld\" "
				 "text-anchor=\"%s\">",
				 cls, (long long)x, (long long)y, anchor);

	if (!err)
		err = html_esc(out, s);
	if (!err)
		err = sbuf_puts(out, "</text>");
	return err;
}

static sc_err text_int(struct sbuf *out, const char *cls, int64_t x, int64_t y,
		       const char *anchor, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	return text(out, cls, x, y, anchor, b);
}

/* "<title>label: v</title>" inside a mark. */
static sc_err tooltip(struct sbuf *out, const struct chart_point *p,
		      const char *unit)
{
	sc_err err = sbuf_puts(out, "<title>");

	if (!err && p->label) {
		err = html_esc(out, p->label);
		if (!err)
			err = sbuf_puts(out, ": ");
	}
	if (!err)
		err = sbuf_addint(out, p->v);
	if (!err && unit)
		err = sbuf_puts(out, unit);
	if (!err)
		err = sbuf_puts(out, "</title>");
	return err;
}

/* The axes, the top value and the two ends of the x axis. */
static sc_err frame(struct sbuf *out, int right, int64_t max, const char *first,
		    const char *last)
{
	sc_err err = sbuf_printf(out,
				 "<line class=\"c-grid\" x1=\"%d\" y1=\"%d\" "
				 "x2=\"%d\" y2=\"%d\"/>"
				 "<line class=\"c-axis\" x1=\"%d\" y1=\"%d\" "
				 "x2=\"%d\" y2=\"%d\"/>",
				 PLOT_L, PLOT_T, right, PLOT_T, PLOT_L, PLOT_B,
				 right, PLOT_B);

	if (!err)
		err = text_int(out, "c-label", PLOT_L - 6, PLOT_T + 4, "end", max);
	if (!err)
		err = text(out, "c-label", PLOT_L - 6, PLOT_B + 4, "end", "0");
	if (!err && first)
		err = text(out, "c-label", PLOT_L, LABEL_Y, "start", first);
	if (!err && last)
		err = text(out, "c-label", right, LABEL_Y, "end", last);
	return err;
}

/* y of value v on a scale of 0..max. */
static int64_t y_of(int64_t v, int64_t max)
{
	return PLOT_B - scale(v, PLOT_B - PLOT_T, max);
}

/* x of point i of n spread over [PLOT_L, right]. */
static int64_t x_of(size_t i, size_t n, int right)
{
	if (n < 2)
		return (PLOT_L + right) / 2;
	return PLOT_L + scale((int64_t)i, right - PLOT_L, (int64_t)n - 1);
}

sc_err chart_line(struct sbuf *out, const char *title,
		  const struct chart_point *p, size_t n, const char *first,
		  const char *last)
{
	int64_t max = max_of(p, n);
	size_t start = out->len;
	sc_err err;

	if (max < 1)
		max = 1;
	err = head(out, "chart", title, VB_W, VB_H);
	if (!err)
		err = frame(out, VB_W - 8, max, first, last);
	if (!err)
		err = sbuf_printf(out, "<polygon class=\"c-area\" points=\"%lld,%d",
				  (long long)x_of(0, n, VB_W - 8), PLOT_B);
	for (size_t i = 0; i < n && !err; i++)
		err = sbuf_printf(out, " %lld,%lld",
				  (long long)x_of(i, n, VB_W - 8),
				  (long long)y_of(p[i].v, max));
	if (!err)
		err = sbuf_printf(out, " %lld,%d\"/><polyline class=\"c-line\" "
				       "points=\"",
				  (long long)x_of(n ? n - 1 : 0, n, VB_W - 8),
				  PLOT_B);
	for (size_t i = 0; i < n && !err; i++)
		err = sbuf_printf(out, "%s%lld,%lld", i ? " " : "",
				  (long long)x_of(i, n, VB_W - 8),
				  (long long)y_of(p[i].v, max));
	if (!err)
		err = sbuf_puts(out, "\"/>");
	for (size_t i = 0; i < n && n <= DOTS_MAX && !err; i++) {
		err = sbuf_printf(out,
				  "<circle class=\"c-dot\" cx=\"%lld\" "
				  "cy=\"%lld\" r=\"3\">",
				  (long long)x_of(i, n, VB_W - 8),
				  (long long)y_of(p[i].v, max));
		if (!err)
			err = tooltip(out, &p[i], NULL);
		if (!err)
			err = sbuf_puts(out, "</circle>");
	}
	if (!err)
		err = sbuf_puts(out, "</svg>");
	if (err)
		sbuf_setlen(out, start);
	return err;
}

sc_err chart_bars(struct sbuf *out, const char *title,
		  const struct chart_point *bars, const struct chart_point *line,
		  const char *line_name, size_t n, const char *first,
		  const char *last)
{
	int right = line ? VB_W - 44 : VB_W - 8;
	int64_t max = max_of(bars, n), lmax = line ? max_of(line, n) : 0;
	int64_t slot = n ? (right - PLOT_L) / (int64_t)n : 0, w;
	size_t start = out->len;
	int in_line = 0;
	sc_err err;

	if (max < 1)
		max = 1;
	if (lmax < 1)
		lmax = 1;
	w = slot > 3 ? slot - slot / 4 : (slot > 1 ? slot - 1 : 1);
	err = head(out, "chart", title, VB_W, VB_H);
	if (!err)
		err = frame(out, right, max, first, last);
	for (size_t i = 0; i < n && !err; i++) {
		int64_t y = y_of(bars[i].v, max);

		err = sbuf_printf(out,
				  "<rect class=\"c-bar\" x=\"%lld\" y=\"%lld\" "
				  "width=\"%lld\" height=\"%lld\">",
				  (long long)(PLOT_L + (int64_t)i * slot +
					      (slot - w) / 2),
				  (long long)y, (long long)w,
				  (long long)(PLOT_B - y));
		if (!err)
			err = tooltip(out, &bars[i], NULL);
		if (!err)
			err = sbuf_puts(out, "</rect>");
	}
	if (!line || err)
		goto done;
	/* the second series: its scale on the right, a line through the
	 * months that have a value, a dot on each */
	err = text_int(out, "c-label c-label2", right + 6, PLOT_T + 4, "start",
		       lmax);
	if (!err)
		err = text(out, "c-label c-label2", right + 6, PLOT_B + 4,
			   "start", "0");
	for (size_t i = 0; i < n && !err; i++) {
		if (line[i].v < 0)
			continue;
		err = sbuf_printf(out, "%s%lld,%lld",
				  in_line ? " " : "<polyline class=\"c-line2\" "
						  "points=\"",
				  (long long)(PLOT_L + (int64_t)i * slot + slot / 2),
				  (long long)y_of(line[i].v, lmax));
		in_line = 1;
	}
	if (!err && in_line)
		err = sbuf_puts(out, "\"/>");
	for (size_t i = 0; i < n && n <= DOTS_MAX && !err; i++) {
		if (line[i].v < 0)
			continue;
		err = sbuf_printf(out,
				  "<circle class=\"c-dot2\" cx=\"%lld\" "
				  "cy=\"%lld\" r=\"3\">",
				  (long long)(PLOT_L + (int64_t)i * slot + slot / 2),
				  (long long)y_of(line[i].v, lmax));
		if (!err)
			err = tooltip(out, &line[i], NULL);
		if (!err)
			err = sbuf_puts(out, "</circle>");
	}
	/* the legend, top right */
	if (!err)
		err = sbuf_printf(out,
				  "<rect class=\"c-bar\" x=\"%d\" y=\"4\" "
				  "width=\"10\" height=\"10\"/>",
				  right - 200);
	if (!err)
		err = text(out, "c-label", right - 186, 13, "start", title);
	if (!err)
		err = sbuf_printf(out,
				  "<circle class=\"c-dot2\" cx=\"%d\" cy=\"9\" "
				  "r=\"4\"/>",
				  right - 60);
	if (!err)
		err = text(out, "c-label", right - 52, 13, "start",
			   line_name ? line_name : "");
done:
	if (!err)
		err = sbuf_puts(out, "</svg>");
	if (err)
		sbuf_setlen(out, start);
	return err;
}

/* "Check-in: 3 👍, 1 👎, 0 🤷" (without printf: a tally is drawn on each
 * of a hundred thousand pages) */
static sc_err tally_title(struct sbuf *t, const int64_t v[3])
{
	static const char *const part[3] = { "Check-in: ", " 👍, ", " 👎, " };
	sc_err err = SC_OK;

	for (int i = 0; i < 3 && !err; i++) {
		err = sbuf_puts(t, part[i]);
		if (!err)
			err = sbuf_addint(t, (long long)v[i]);
	}
	return err ? err : sbuf_puts(t, " 🤷");
}

sc_err chart_tally(struct sbuf *out, int up, int down, int meh, int titled)
{
	static const char *const cls[3] = { "c-up", "c-down", "c-meh" };
	int64_t v[3] = { up > 0 ? up : 0, down > 0 ? down : 0, meh > 0 ? meh : 0 };
	int64_t total = v[0] + v[1] + v[2], x = 0;
	size_t start = out->len;
	struct sbuf title;
	sc_err err = SC_OK;

	sbuf_init(&title, 0);
	if (titled)
		err = tally_title(&title, v);
	if (!err && titled)
		err = head(out, "tally", title.buf, 120, 12);
	else if (!err) /* in a row of thousands, which says the counts in words */
		err = sbuf_puts(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
				     "class=\"tally\" viewBox=\"0 0 120 12\" "
				     "aria-hidden=\"true\">");
	if (!err && !total)
		err = sbuf_puts(out, "<rect class=\"c-none\" x=\"0\" y=\"0\" "
				     "width=\"120\" height=\"12\"/>");
	for (int i = 0; i < 3 && !err && total; i++) {
		/* the last part ends exactly at the right edge */
		int64_t end = scale(v[0] + (i > 0 ? v[1] : 0) + (i > 1 ? v[2] : 0),
				    120, total);
		if (end > x) {
			struct hw o = { out, SC_OK };

			hw_puts(&o, "<rect class=\"");
			hw_puts(&o, cls[i]);
			hw_puts(&o, "\" x=\"");
			hw_int(&o, (long long)x);
			hw_puts(&o, "\" y=\"0\" width=\"");
			hw_int(&o, (long long)(end - x));
			hw_puts(&o, "\" height=\"12\"/>");
			err = o.err;
		}
		x = end;
	}
	if (!err)
		err = sbuf_puts(out, "</svg>");
	if (err)
		sbuf_setlen(out, start);
	sbuf_release(&title);
	return err;
}
