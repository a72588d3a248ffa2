/* SPDX-License-Identifier: MIT */
/*
 * html_page.c - what every page of the HTML export is made of
 * (html_int.h): escaping, times, the links between pages, the frame of a
 * page (head with its Content-Security-Policy, breadcrumbs, search box,
 * foot) and the row of each kind of record in a log. Every string that
 * comes from a record, a room or a user goes through html_esc; every
 * link is made here from slugs, ids and fixed words. The pages
 * themselves are html_record.c's and html_site.c's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "canonjson.h"
#include "html_chart.h"
#include "html_int.h"
#include "when.h"
#include "banned.h"

#define WEEK_SECS 604800
/* 1970-01-05T00:00:00Z, a Monday: weeks are counted from there */
#define MONDAY0 345600

/* Nothing may load but the site's own style sheet, script and icon;
 * no inline style or script, no <base>, forms only to the site. */
static const char csp[] = "default-src 'none'; style-src 'self'; "
			  "script-src 'self'; img-src 'self'; "
			  "base-uri 'none'; form-action 'self'";

const char *const html_kind_plural[HTML_NKINDS] = {
	[REC_TODO] = "todos", [REC_DECISION] = "decisions",
	[REC_CHANGE] = "changes", [REC_MEETING] = "meetings",
	[REC_INCIDENT] = "incidents",
};
const char *const html_kind_log[HTML_NKINDS] = {
	[REC_TODO] = "Action items", [REC_DECISION] = "Decision log",
	[REC_CHANGE] = "Change log", [REC_MEETING] = "Meetings",
	[REC_INCIDENT] = "Incidents",
};
const char *const html_kind_one[HTML_NKINDS] = {
	[REC_TODO] = "action item", [REC_DECISION] = "decision",
	[REC_CHANGE] = "change", [REC_MEETING] = "meeting",
	[REC_INCIDENT] = "incident",
};
const char *const html_kind_many[HTML_NKINDS] = {
	[REC_TODO] = "action items", [REC_DECISION] = "decisions",
	[REC_CHANGE] = "changes", [REC_MEETING] = "meetings",
	[REC_INCIDENT] = "incidents",
};

/* ---- escaping and URLs ---- */

/* The entity of each byte that needs one (1 .. 5), else 0. */
static const unsigned char esc_of[256] = {
	['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5,
};

/* Non-zero when one of the 8 bytes of v is zero. */
#define ONES8 0x0101010101010101ULL
#define ZERO_BYTE(v) (((v) - ONES8) & ~(v) & (ONES8 << 7))

/* The length of the start of s[0..n) that needs no entity, 8 bytes at a
 * time: '&' (0x26) and '\'' (0x27) differ in bit 0, '<' (0x3c) and '>'
 * (0x3e) in bit 1, so three compares find all five. */
static size_t plain_len(const char *s, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, s + i, 8);
		if (ZERO_BYTE((v | ONES8) ^ (ONES8 * 0x27)) |
		    ZERO_BYTE((v | (ONES8 * 2)) ^ (ONES8 * 0x3e)) |
		    ZERO_BYTE(v ^ (ONES8 * '"')))
			break;
	}
	while (i < n && !esc_of[(unsigned char)s[i]])
		i++;
	return i;
}

sc_err html_escn(struct sbuf *out, const char *s, size_t n)
{
	static const char *const ent[6] = { "", "&amp;", "&lt;", "&gt;",
					     "&quot;", "&#39;" };
	static const unsigned char len[6] = { 0, 5, 4, 4, 6, 5 };
	const char *run = s, *end = s + n;
	size_t start = out->len;
	sc_err err = SC_OK;

	for (const char *p = s + plain_len(s, n); p < end && !err; p++) {
		unsigned e = esc_of[(unsigned char)*p];

		if (!e)
			continue;
		err = sbuf_add(out, run, (size_t)(p - run));
		if (!err)
			err = sbuf_add(out, ent[e], len[e]);
		run = p + 1;
	}
	if (!err)
		err = sbuf_add(out, run, (size_t)(end - run));
	if (err)
		sbuf_setlen(out, start);
	return err;
}

sc_err html_esc(struct sbuf *out, const char *s)
{
	return html_escn(out, s, strlen(s));
}

/* 1 for the bytes RFC 3986 calls unreserved. */
static int unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static sc_err urlenc(struct sbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = s;
	sc_err err = SC_OK;

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (unreserved(c))
			continue;
		err = sbuf_add(out, run, (size_t)(s - run));
		if (!err)
			err = sbuf_add(out, e, 3);
		run = s + 1;
	}
	return err ? err : sbuf_add(out, run, (size_t)(s - run));
}

sc_err html_matrix_to(struct sbuf *out, const char *room_id,
		      const char *event_id)
{
	size_t start = out->len;
	sc_err err = sbuf_puts(out, "https://matrix.to/#/");

	if (!err)
		err = urlenc(out, room_id);
	if (!err)
		err = sbuf_putc(out, '/');
	if (!err)
		err = urlenc(out, event_id);
	if (err)
		sbuf_setlen(out, start);
	return err;
}

sc_err html_target_slug(struct sbuf *out, const char *tag)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = out->len;
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	sc_err err = SC_OK;

	for (const unsigned char *p = (const unsigned char *)tag; *p && !err;
	     p++) {
		h = (h ^ *p) * 1099511628211ull;
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-')
			err = sbuf_putc(out, (char)*p);
		else
			err = sbuf_add(out, (char[]){ '_', hex[*p >> 4],
						      hex[*p & 15] }, 3);
	}
	if (!err && out->len == start)
		err = sbuf_putc(out, '_');
	/* a file name has 255 bytes at most: a long tag keeps its start
	 * and gets its hash, still one name per tag */
	if (!err && out->len - start > 80) {
		sbuf_setlen(out, start + 60);
		err = sbuf_printf(out, "_%016llx", (unsigned long long)h);
	}
	if (err)
		sbuf_setlen(out, start);
	return err;
}

/* ---- the sticky writer ---- */

/* The decimal digits of v at b; their count. */
static size_t digits(char *b, unsigned long long v)
{
	char d[24];
	size_t n = 0, len;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (len = n; n; )
		*b++ = d[--n];
	return len;
}

void html_short_id(const struct record *r, char *b)
{
	unsigned long long v = r->num > 0 ? (unsigned long long)r->num : 0;

	*b++ = rec_kind_prefix(r->kind);
	b[digits(b, v)] = '\0';
}

void hw_esc(struct hw *w, const char *s)
{
	if (!w->err)
		w->err = html_esc(w->sb, s);
}

void hw_int(struct hw *w, long long v)
{
	if (!w->err)
		w->err = sbuf_addint(w->sb, v);
}

/* ---- times ---- */

/* A record's time is converted for its date, its month, its row...:
 * the last conversion is kept (a zone switch each, outside UTC). */
static int tm_at(struct site *x, int64_t t, struct tm *tm)
{
	if (x->tm_ok && x->tm_t == t) {
		*tm = x->tm_last;
		return 1;
	}
	if ((x->utc ? when_utc(t, tm) : when_local(x->tz, t, tm)) != SC_OK)
		return 0;
	x->tm_t = t;
	x->tm_last = *tm;
	x->tm_ok = 1;
	return 1;
}

/* "2026-11-02" into b (11 bytes) */
static void ymd(char *b, const struct tm *tm)
{
	int y = tm->tm_year + 1900, m = tm->tm_mon + 1, d = tm->tm_mday;

	b[0] = (char)('0' + y / 1000 % 10);
	b[1] = (char)('0' + y / 100 % 10);
	b[2] = (char)('0' + y / 10 % 10);
	b[3] = (char)('0' + y % 10);
	b[4] = '-';
	b[5] = (char)('0' + m / 10);
	b[6] = (char)('0' + m % 10);
	b[7] = '-';
	b[8] = (char)('0' + d / 10);
	b[9] = (char)('0' + d % 10);
	b[10] = '\0';
}

static void hm(char *b, const struct tm *tm)
{
	b[0] = (char)('0' + tm->tm_hour / 10);
	b[1] = (char)('0' + tm->tm_hour % 10);
	b[2] = ':';
	b[3] = (char)('0' + tm->tm_min / 10);
	b[4] = (char)('0' + tm->tm_min % 10);
	b[5] = '\0';
}

void hw_date(struct hw *w, struct site *x, int64_t t)
{
	struct tm tm;
	char b[11];

	if (!tm_at(x, t, &tm))
		return hw_puts(w, "?");
	ymd(b, &tm);
	hw_add(w, b, 10);
}

void hw_datetime(struct hw *w, struct site *x, int64_t t)
{
	struct tm tm;
	char b[17];

	if (!tm_at(x, t, &tm))
		return hw_puts(w, "?");
	ymd(b, &tm);
	b[10] = ' ';
	hm(b + 11, &tm);
	hw_add(w, b, 16);
}

void hw_hm(struct hw *w, struct site *x, int64_t t)
{
	struct tm tm;
	char b[6];

	if (!tm_at(x, t, &tm))
		return hw_puts(w, "?");
	hm(b, &tm);
	hw_add(w, b, 5);
}

int64_t html_ym_of(struct site *x, int64_t t, char ym[8])
{
	struct tm tm;
	char b[11];

	if (!tm_at(x, t, &tm)) { /* cannot happen for a stored time */
		memcpy(ym, "1970-01", 8);
		return 1970 * 12;
	}
	ymd(b, &tm);
	memcpy(ym, b, 7);
	ym[7] = '\0';
	return (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

void hw_month_name(struct hw *w, const char *ym)
{
	static const char *const names[12] = {
		"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"
	};
	int m = (ym[5] - '0') * 10 + (ym[6] - '0');

	if (m < 1 || m > 12)
		return hw_esc(w, ym);
	hw_puts(w, names[m - 1]);
	hw_puts(w, " ");
	hw_add(w, ym, 4);
}

/* "2026-11-02" of the Monday starting week w (UTC). */
void html_week_label(char *b, int64_t w)
{
	struct tm tm;

	if (when_utc(MONDAY0 + w * WEEK_SECS, &tm)) {
		memcpy(b, "?", 2);
		return;
	}
	ymd(b, &tm);
}

int64_t html_week_of(int64_t t)
{
	return t < MONDAY0 ? 0 : (t - MONDAY0) / WEEK_SECS;
}

/* ---- names and links ---- */

const char *html_room_label(const struct hroom *rm)
{
	return rm->name && *rm->name ? rm->name : rm->id;
}

const struct hroom *html_room_by_id(struct site *x, const char *room_id)
{
	size_t i;

	return smap_get(&x->room_ix, room_id, &i) ? &x->rooms[i] : NULL;
}

void hw_room_href(struct hw *w, const char *up, const struct hroom *rm)
{
	hw_puts(w, up);
	hw_puts(w, "rooms/");
	hw_puts(w, rm->slug);
	hw_puts(w, "/index.html");
}

void hw_month_href(struct hw *w, const char *up, const struct hroom *rm,
			  enum rec_kind k, const char *ym)
{
	hw_puts(w, up);
	hw_puts(w, "rooms/");
	hw_puts(w, rm->slug);
	hw_puts(w, "/");
	hw_puts(w, html_kind_plural[k]);
	hw_puts(w, "-");
	hw_puts(w, ym);
	hw_puts(w, ".html");
}

/*
 * A decision's or meeting's own page, in folders of HTML_PER_FOLDER by
 * number (decisions/123/D12345.html): ext4 creates a file in a folder
 * of a hundred, one directory block searched from end to end, in two
 * thirds of the time it takes in a folder of a thousand with its hash
 * tree (docs/performance.md), and the number alone says where the page
 * is. (Written by hand: snprintf was a twentieth of the html export's
 * instructions, at three paths per decision.)
 */
static size_t numbered_path(char b[HTML_NUMBERED_PATH], enum rec_kind k,
			    int64_t num)
{
	unsigned long long v = num > 0 ? (unsigned long long)num : 0;
	const char *dir = k == REC_DECISION ? "decisions/" : "meetings/";
	size_t n = strlen(dir);

	memcpy(b, dir, n);
	n += digits(b + n, v / HTML_PER_FOLDER);
	b[n++] = '/';
	b[n++] = rec_kind_prefix(k);
	n += digits(b + n, v);
	memcpy(b + n, ".html", 6);
	return n + 5;
}

void html_numbered_path(char b[HTML_NUMBERED_PATH], const struct record *r)
{
	numbered_path(b, r->kind, r->num);
}

void hw_numbered_href(struct hw *w, const char *up, enum rec_kind k,
		      int64_t num)
{
	char path[HTML_NUMBERED_PATH];
	size_t n = numbered_path(path, k, num);

	hw_puts(w, up);
	hw_add(w, path, n);
}

/* The canonical place of record r (of room rm, month ym). */
void hw_record_href(struct hw *w, const char *up, const struct hroom *rm,
			   const char *ym, const struct record *r)
{
	char id[24];

	if (r->kind == REC_DECISION || r->kind == REC_MEETING) {
		hw_numbered_href(w, up, r->kind, r->num);
		return;
	}
	html_short_id(r, id);
	hw_month_href(w, up, rm, r->kind, ym);
	hw_puts(w, "#");
	hw_puts(w, id);
}

void hw_target_href(struct hw *w, const char *up, const char *tag)
{
	hw_puts(w, up);
	hw_puts(w, "targets/");
	if (!w->err)
		w->err = html_target_slug(w->sb, tag);
	hw_puts(w, "/index.html");
}

/* open, then the full id as a tooltip, the label, close */
static void who_in(struct hw *w, struct site *x, const char *room,
		   const char *user, const char *open, const char *close)
{
	const char *label = NULL;
	sc_err err = person_names_room(&x->people, x->st, room);

	if (!err && !(label = person_label(&x->people, user)))
		err = SC_ENOMEM;
	if (err && !w->err)
		w->err = err;
	hw_puts(w, open);
	hw_esc(w, user);
	hw_puts(w, "\">");
	if (label)
		hw_esc(w, label);
	hw_puts(w, close);
}

void hw_who(struct hw *w, struct site *x, const char *room, const char *user)
{
	who_in(w, x, room, user, "<span class=\"who\" title=\"", "</span>");
}

/* A table cell of a user, the full id in the cell's tooltip. */
static void hw_who_cell(struct hw *w, struct site *x, const char *room,
			const char *user)
{
	who_in(w, x, room, user, "<td title=\"", "</td>");
}

void hw_src(struct hw *w, const struct record *r)
{
	if (!r->event_id)
		return;
	hw_puts(w, "<a class=\"src\" href=\"");
	if (!w->err)
		w->err = html_matrix_to(w->sb, r->room_id, r->event_id);
	hw_puts(w, "\" rel=\"noreferrer\" title=\"the message in Matrix\">"
		   "source</a>");
}

void hw_badge(struct hw *w, const char *prefix, const char *v)
{
	hw_puts(w, "<span class=\"badge ");
	hw_puts(w, prefix);
	hw_esc(w, v);
	hw_puts(w, "\">");
	hw_esc(w, v);
	hw_puts(w, "</span>");
}

void hw_tags(struct hw *w, const char *up, const struct record *r,
		    int link)
{
	for (size_t i = 0; i < r->ntags; i++) {
		hw_puts(w, link ? " <a class=\"tag\" href=\"" : " <span class=\"tag\">");
		if (link) {
			hw_target_href(w, up, r->tags[i]);
			hw_puts(w, "\">");
		}
		hw_puts(w, "#");
		hw_esc(w, r->tags[i]);
		hw_puts(w, link ? "</a>" : "</span>");
	}
}

int html_exported(struct site *x, const struct record *r)
{
	const struct export_opts *o = x->o;

	if (r->withdrawn)
		return 0;
	if (!(x->kinds & REC_BIT(r->kind)))
		return 0;
	if (o->room_id && strcmp(o->room_id, r->room_id))
		return 0;
	if ((o->since && r->created < o->since) ||
	    (o->until && r->created >= o->until))
		return 0;
	return html_room_by_id(x, r->room_id) != NULL;
}

sc_err html_ref_link(struct site *x, struct hw *w, const char *up,
		     const char *ref, int with_title)
{
	const struct hroom *rm;
	struct record d;
	enum rec_kind k;
	int64_t num;
	char ym[8];
	sc_err err;

	memset(&d, 0, sizeof(d));
	if (rec_id_parse(ref, &k, &num)) {
		hw_esc(w, ref);
		return w->err;
	}
	err = store_record_get(x->st, k, num, &d);
	if (err && err != SC_ENOTFOUND)
		return err;
	rm = err ? NULL : html_room_by_id(x, d.room_id);
	if (err || !rm || !html_exported(x, &d)) {
		hw_esc(w, ref);
		record_clear(&d);
		return w->err;
	}
	html_ym_of(x, d.created, ym);
	hw_puts(w, "<a href=\"");
	hw_record_href(w, up, rm, ym, &d);
	hw_puts(w, "\">");
	hw_esc(w, ref);
	if (with_title) {
		hw_puts(w, ". ");
		hw_esc(w, d.text);
	}
	hw_puts(w, "</a>");
	record_clear(&d);
	return w->err;
}

/* A link to meeting ref ("M3") made while its items stream: a meeting
 * written this pass is linked without a look-up. */
sc_err html_meeting_link(struct site *x, struct hw *w, const char *up,
			   const char *ref)
{
	enum rec_kind k;
	int64_t num;

	if (!rec_id_parse(ref, &k, &num) && k == REC_MEETING &&
	    imap_get(&x->mtg_written, num)) {
		hw_puts(w, "<a href=\"");
		hw_numbered_href(w, up, REC_MEETING, num);
		hw_puts(w, "\">");
		hw_esc(w, ref);
		hw_puts(w, "</a>");
		return w->err;
	}
	return html_ref_link(x, w, up, ref, 0);
}

static int int64_cmp(const void *a, const void *b)
{
	int64_t p = *(const int64_t *)a, q = *(const int64_t *)b;

	return (p > q) - (p < q);
}

size_t html_preds(struct site *x, int64_t num, int64_t *out, size_t max)
{
	const struct ient *e = imap_get(&x->pred_head, num);
	size_t n = 0;

	for (size_t i = e ? (size_t)e->a : 0; i && n < max; i = x->preds[i - 1].next)
		out[n++] = x->preds[i - 1].pred;
	if (n > 1)
		qsort(out, n, sizeof(*out), int64_cmp);
	return n;
}

sc_err html_index_decision(struct site *x, struct sbuf *sb,
			   const struct record *r)
{
	struct hw w = { sb, SC_OK };
	size_t start = sb->len;
	char id[24];

	(void)x;
	html_short_id(r, id);
	hw_puts(&w, "<a href=\"");
	hw_numbered_href(&w, "", REC_DECISION, r->num);
	hw_puts(&w, "\">");
	hw_puts(&w, id);
	hw_puts(&w, "</a> ");
	hw_esc(&w, r->text);
	hw_puts(&w, " ");
	hw_badge(&w, "s-", r->status);
	if (w.err)
		sbuf_setlen(sb, start);
	return w.err;
}

/* ---- the frame of a page ---- */

void html_page_head(struct hw *w, struct site *x, const char *up,
		    const char *title_html, const char *crumbs_html,
		    int search_box)
{
	(void)x;
	hw_puts(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		   "<meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, "
		   "initial-scale=1\">\n"
		   "<meta http-equiv=\"Content-Security-Policy\" content=\"");
	hw_puts(w, csp);
	hw_puts(w, "\">\n<meta name=\"referrer\" content=\"no-referrer\">\n"
		   "<meta name=\"generator\" content=\"scribe\">\n<title>");
	hw_puts(w, title_html);
	hw_puts(w, " · scribe</title>\n<link rel=\"stylesheet\" href=\"");
	hw_puts(w, up);
	hw_puts(w, "style.css\">\n<link rel=\"icon\" href=\"");
	hw_puts(w, up);
	hw_puts(w, "favicon.svg\" type=\"image/svg+xml\">\n<script src=\"");
	hw_puts(w, up);
	hw_puts(w, "site.js\" defer></script>\n</head>\n<body>\n"
		   "<header class=\"top\"><nav aria-label=\"breadcrumbs\">"
		   "<a href=\"");
	hw_puts(w, up);
	hw_puts(w, "index.html\">Handbook</a>");
	hw_puts(w, crumbs_html);
	hw_puts(w, "</nav>");
	if (search_box) {
		hw_puts(w, "\n<form class=\"find\" action=\"");
		hw_puts(w, up);
		hw_puts(w, "search.html\" method=\"get\" role=\"search\">"
			   "<input type=\"search\" name=\"q\" placeholder=\""
			   "Search the record\" aria-label=\"Search the "
			   "record\"><button type=\"submit\">Search</button>"
			   "</form>");
	}
	hw_puts(w, "</header>\n<main>\n");
}

void html_page_foot(struct hw *w, struct site *x)
{
	hw_puts(w, "</main>\n<footer>Recorded by scribe. Times are ");
	hw_esc(w, x->tz);
	hw_puts(w, ".");
	if (x->o->stamp) {
		hw_puts(w, " Generated ");
		hw_datetime(w, x, x->o->stamp);
		hw_puts(w, ".");
	}
	hw_puts(w, "</footer>\n</body>\n</html>\n");
}

/* " › " then s as given (HTML). */
void hw_crumb(struct hw *w, const char *html)
{
	hw_puts(w, "<span class=\"sep\">›</span>");
	hw_puts(w, html);
}

/* ---- rows ---- */

void html_log_thead(struct hw *w, enum rec_kind k, int target)
{
	static const char *const heads[HTML_NKINDS] = {
		[REC_TODO] = "<th>ID</th><th>Created</th><th>Action item</th>"
			     "<th>Owners</th><th>Status</th><th>Due</th>",
		[REC_DECISION] = "<th>ID</th><th>Date</th><th>Decision</th>"
				 "<th>Status</th><th>Check-in</th>",
		[REC_CHANGE] = "<th>ID</th><th>When</th><th>Change</th>"
			       "<th>Who</th>",
		[REC_MEETING] = "<th>ID</th><th>Date</th><th>Meeting</th>"
				"<th>Time</th><th>Made in it</th>",
		[REC_INCIDENT] = "<th>ID</th><th>Opened</th><th>Incident</th>"
				 "<th>Severity</th><th>Status</th>"
				 "<th>Resolved</th><th>Time to resolve</th>",
	};

	hw_puts(w, "<thead><tr>");
	hw_puts(w, target ? "<th>ID</th><th>When</th><th>Room</th>"
			    "<th>Change</th><th>Who</th>"
			  : heads[k]);
	hw_puts(w, "<th>Source</th></tr></thead>\n");
}

static void todo_cells(struct site *x, struct hw *w, const struct rec_full *f,
		       const char *up)
{
	const struct record *r = &f->r;

	hw_puts(w, "<td class=\"when\">");
	hw_date(w, x, r->created);
	hw_puts(w, "</td><td>");
	hw_esc(w, r->text);
	hw_tags(w, up, r, 0);
	if (r->detail) {
		hw_puts(w, "<div class=\"note\">");
		hw_esc(w, r->detail);
		hw_puts(w, "</div>");
	}
	if (f->meeting_ref) {
		hw_puts(w, "<div class=\"note\">from meeting ");
		if (!w->err)
			w->err = html_meeting_link(x, w, up, f->meeting_ref);
		hw_puts(w, "</div>");
	}
	hw_puts(w, "</td><td>");
	for (size_t i = 0; i < r->nassignees; i++) {
		if (i)
			hw_puts(w, ", ");
		hw_who(w, x, r->room_id, r->assignees[i]);
	}
	if (!r->nassignees)
		hw_puts(w, "<span class=\"muted\">unassigned</span>");
	hw_puts(w, "</td><td>");
	hw_badge(w, "s-", r->status);
	if (r->severity) {
		hw_puts(w, " ");
		hw_badge(w, "v-", r->severity);
	}
	hw_puts(w, "</td><td class=\"when\">");
	if (r->due) {
		hw_puts(w, "due ");
		hw_date(w, x, r->due);
	}
	if (r->closed) {
		hw_puts(w, r->due ? "<br>closed " : "closed ");
		hw_date(w, x, r->closed);
	}
	hw_puts(w, "</td>");
}

static void decision_cells(struct site *x, struct hw *w, const struct rec_full *f,
			   const char *up)
{
	const struct record *r = &f->r;
	int64_t preds[16];
	size_t n;

	hw_puts(w, "<td class=\"when\">");
	hw_date(w, x, r->created);
	hw_puts(w, "</td><td><a href=\"");
	hw_record_href(w, up, NULL, NULL, r);
	hw_puts(w, "\">");
	hw_esc(w, r->text);
	hw_puts(w, "</a>");
	if (r->detail) {
		hw_puts(w, "<div class=\"note\">because ");
		hw_esc(w, r->detail);
		hw_puts(w, "</div>");
	}
	if (f->meeting_ref) {
		hw_puts(w, "<div class=\"note\">in meeting ");
		if (!w->err)
			w->err = html_meeting_link(x, w, up, f->meeting_ref);
		hw_puts(w, "</div>");
	}
	hw_puts(w, "</td><td>");
	hw_badge(w, "s-", r->status);
	if (f->superseded_ref) {
		hw_puts(w, "<div class=\"note\">superseded by ");
		if (!w->err)
			w->err = html_ref_link(x, w, up, f->superseded_ref, 0);
		hw_puts(w, "</div>");
	}
	n = html_preds(x, r->num, preds, 16);
	for (size_t i = 0; i < n; i++) {
		char ref[24];

		snprintf(ref, sizeof(ref), "D%lld", (long long)preds[i]);
		hw_puts(w, i ? ", " : "<div class=\"note\">supersedes ");
		if (!w->err)
			w->err = html_ref_link(x, w, up, ref, 0);
		if (i == n - 1)
			hw_puts(w, "</div>");
	}
	hw_puts(w, "</td><td class=\"num\">");
	if (r->votes_up + r->votes_down + r->votes_meh) {
		if (!w->err)
			w->err = chart_tally(w->sb, r->votes_up, r->votes_down,
					     r->votes_meh, 0);
		hw_int(w, r->votes_up);
		hw_puts(w, " · ");
		hw_int(w, r->votes_down);
		hw_puts(w, " · ");
		hw_int(w, r->votes_meh);
	}
	hw_puts(w, "</td>");
}

static void change_cells(struct site *x, struct hw *w, const struct rec_full *f,
			 const char *up, size_t start, size_t *mid)
{
	const struct record *r = &f->r;

	hw_puts(w, "<td class=\"when\">");
	hw_datetime(w, x, r->created);
	hw_puts(w, "</td>");
	*mid = w->sb->len - start;
	hw_puts(w, "<td>");
	hw_esc(w, r->text);
	hw_tags(w, up, r, 1);
	if (r->detail) {
		hw_puts(w, "<div class=\"note\">");
		hw_esc(w, r->detail);
		hw_puts(w, "</div>");
	}
	hw_puts(w, "</td>");
	hw_who_cell(w, x, r->room_id, r->author);
}

static void incident_cells(struct site *x, struct hw *w, const struct rec_full *f)
{
	const struct record *r = &f->r;

	hw_puts(w, "<td class=\"when\">");
	hw_datetime(w, x, r->created);
	hw_puts(w, "</td><td>");
	hw_esc(w, r->text);
	if (r->detail) {
		hw_puts(w, "<div class=\"note\">");
		hw_esc(w, r->detail);
		hw_puts(w, "</div>");
	}
	hw_puts(w, "</td><td>");
	if (r->severity)
		hw_badge(w, "v-", r->severity);
	hw_puts(w, "</td><td>");
	hw_badge(w, "s-", r->status);
	hw_puts(w, "</td><td class=\"when\">");
	if (r->closed)
		hw_datetime(w, x, r->closed);
	hw_puts(w, "</td><td class=\"num\">");
	if (r->closed && !strcmp(r->status, "resolved") && !w->err)
		w->err = when_format_duration(r->closed - r->created, w->sb);
	hw_puts(w, "</td>");
}

static void meeting_cells(struct site *x, struct hw *w, const struct rec_full *f,
			  const char *up, const char *summary)
{
	const struct record *r = &f->r;

	hw_puts(w, "<td class=\"when\">");
	hw_date(w, x, r->created);
	hw_puts(w, "</td><td><a href=\"");
	hw_record_href(w, up, NULL, NULL, r);
	hw_puts(w, "\">");
	hw_esc(w, r->text);
	hw_puts(w, "</a></td><td class=\"when\">");
	hw_hm(w, x, r->created);
	if (r->closed) {
		hw_puts(w, "–");
		hw_hm(w, x, r->closed);
	} else {
		hw_puts(w, " (running)");
	}
	hw_puts(w, "</td><td>");
	hw_puts(w, summary ? summary : "");
	hw_puts(w, "</td>");
}

sc_err html_log_row(struct site *x, struct sbuf *sb, const struct rec_full *f,
		    const struct hroom *rm, const char *ym, const char *summary,
		    struct row_marks *mk)
{
	struct hw w = { sb, SC_OK };
	const struct record *r = &f->r;
	const char *up = "../../";
	size_t start = sb->len;
	char id[24];

	html_short_id(r, id);
	hw_puts(&w, "<tr id=\"");
	hw_puts(&w, id);
	hw_puts(&w, "\"><td class=\"id\"><a href=\"");
	mk->href = sb->len - start;
	mk->mid = 0;
	if (r->kind == REC_DECISION || r->kind == REC_MEETING) {
		hw_record_href(&w, up, rm, ym, r);
	} else {
		/* the page's own folder: rooms/ROOM/, where the month page
		 * and the room's page both are (a target's row adds the
		 * way there) */
		hw_puts(&w, html_kind_plural[r->kind]);
		hw_puts(&w, "-");
		hw_puts(&w, ym);
		hw_puts(&w, ".html#");
		hw_puts(&w, id);
	}
	hw_puts(&w, "\">");
	hw_puts(&w, id);
	hw_puts(&w, "</a></td>");
	switch (r->kind) {
	case REC_TODO: todo_cells(x, &w, f, up); break;
	case REC_DECISION: decision_cells(x, &w, f, up); break;
	case REC_CHANGE: change_cells(x, &w, f, up, start, &mk->mid); break;
	case REC_MEETING: meeting_cells(x, &w, f, up, summary); break;
	default: incident_cells(x, &w, f); break;
	}
	hw_puts(&w, "<td>");
	hw_src(&w, r);
	hw_puts(&w, "</td></tr>\n");
	if (w.err)
		sbuf_setlen(sb, start);
	return w.err;
}

size_t html_row_anchor(const char *row, size_t len)
{
	const char *q;

	if (len < 9 || memcmp(row, "<tr id=\"", 8))
		return 0;
	q = memchr(row + 8, '"', len - 8);
	return q ? (size_t)(q + 1 - row) - 3 : 0;
}

sc_err html_target_row(struct sbuf *sb, const struct hroom *rm,
		       const char *row, size_t len, const struct row_marks *mk)
{
	size_t skip = html_row_anchor(row, len), start = sb->len;
	size_t mid = mk->mid;
	sc_err err;

	if (mid < mk->href || mk->href < 3 + skip || mid > len)
		return SC_EINVAL;
	err = sbuf_add(sb, row, 3);
	if (!err)
		err = sbuf_add(sb, row + 3 + skip, mk->href - 3 - skip);
	if (!err)
		err = sbuf_puts(sb, "../../rooms/");
	if (!err)
		err = sbuf_puts(sb, rm->slug);
	if (!err)
		err = sbuf_putc(sb, '/');
	if (!err)
		err = sbuf_add(sb, row + mk->href, mid - mk->href);
	if (!err)
		err = sbuf_add(sb, rm->cell.buf, rm->cell.len);
	if (!err)
		err = sbuf_add(sb, row + mid, len - mid);
	if (err)
		sbuf_setlen(sb, start);
	return err;
}

static sc_err json_str(struct sbuf *sb, const char *s)
{
	return canonjson_string(s, strlen(s), sb);
}

sc_err html_index_entry(struct sbuf *sb, const struct rec_full *f)
{
	const struct record *r = &f->r;
	size_t start = sb->len;
	char id[24];
	sc_err err;

	html_short_id(r, id);
	err = sbuf_putc(sb, '[');
	if (!err)
		err = json_str(sb, id);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = json_str(sb, r->text);
	if (!err && (r->detail || r->ntags)) {
		err = sbuf_putc(sb, ',');
		if (!err)
			err = json_str(sb, r->detail ? r->detail : "");
	}
	if (!err && r->ntags) {
		struct sbuf tags;

		sbuf_init(&tags, 0);
		for (size_t i = 0; i < r->ntags && !err; i++) {
			err = i ? sbuf_putc(&tags, ' ') : SC_OK;
			if (!err)
				err = sbuf_puts(&tags, r->tags[i]);
		}
		if (!err)
			err = sbuf_putc(sb, ',');
		if (!err)
			err = json_str(sb, tags.buf);
		sbuf_release(&tags);
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	if (err)
		sbuf_setlen(sb, start);
	return err;
}

sc_err html_open_item(struct site *x, struct sbuf *sb, const struct record *r,
		      const struct hroom *rm, const char *ym)
{
	struct hw w = { sb, SC_OK };
	size_t start = sb->len;
	char id[24];

	html_short_id(r, id);
	hw_puts(&w, "<a class=\"id\" href=\"");
	hw_record_href(&w, "../../", rm, ym, r);
	hw_puts(&w, "\">");
	hw_puts(&w, id);
	hw_puts(&w, "</a> ");
	hw_esc(&w, r->text);
	hw_tags(&w, "../../", r, 0);
	if (r->severity) {
		hw_puts(&w, " ");
		hw_badge(&w, "v-", r->severity);
	}
	if (r->due) {
		hw_puts(&w, " <span class=\"due\">due ");
		hw_date(&w, x, r->due);
		hw_puts(&w, "</span>");
	}
	if (r->nassignees > 1) {
		hw_puts(&w, " <span class=\"muted\">(");
		for (size_t i = 0; i < r->nassignees; i++) {
			if (i)
				hw_puts(&w, ", ");
			hw_who(&w, x, r->room_id, r->assignees[i]);
		}
		hw_puts(&w, ")</span>");
	}
	if (w.err)
		sbuf_setlen(sb, start);
	return w.err;
}
