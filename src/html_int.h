/* SPDX-License-Identifier: MIT */
/*
 * html_int.h - what the two halves of the HTML export share: the site's
 * state (export_html.c streams the records and writes the files) and the
 * page writers (html_page.c turns records and sums into HTML). Not a
 * public interface: export_html.h is.
 *
 * Links: every page knows how deep it sits (up = "", "../" or "../../")
 * and every link is that prefix plus a path from the site's top, made
 * only of slugs, record ids and fixed words, so no link can leave the
 * site except the matrix.to link to a record's source message.
 */
#ifndef SCRIBE_HTML_INT_H
#define SCRIBE_HTML_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "export_html.h"
#include "map.h"
#include "people.h"
#include "sbuf.h"
#include "store.h"
#include "store_admin.h"

/* The kinds a site shows, todo .. incident (reminders are pings, not
 * part of the record people read), and how many. */
#define HTML_NKINDS (REC_INCIDENT + 1)
#define HTML_KINDS ((1u << HTML_NKINDS) - 1)

/* Rows of each log shown on a room's page and on a target's page. */
#define HTML_LATEST 10
/* Latest decisions per room on the index. */
#define HTML_INDEX_DECISIONS 3

/* A writer whose first error sticks: after a failed append the others
 * do nothing, and the caller looks at err once, at the end. */
struct hw {
	struct sbuf *sb;
	sc_err err;
};

/* Inline, so the length of a literal is known when compiled: a page
 * is thousands of small appends. */
static inline void hw_add(struct hw *w, const char *s, size_t n)
{
	if (!w->err)
		w->err = sbuf_add(w->sb, s, n);
}

static inline void hw_puts(struct hw *w, const char *s)
{
	hw_add(w, s, strlen(s));
}

void hw_esc(struct hw *w, const char *s);
void hw_int(struct hw *w, long long v);


/* The last HTML_LATEST rows of a log, for a room's or target's page
 * (shown without their anchor: it lives on the month page). */
struct ring {
	struct sbuf row[HTML_LATEST];
	int n, next;
};

struct month {
	char ym[8]; /* "2026-11" */
	int64_t n;
};

/* One log: a room's records of one kind, or a target's changes. Its
 * rows are collected for the month at hand and written as that
 * month's page when the next month begins (records come in store
 * order, which is time order unless an import or a clock said
 * otherwise: a record of a month already written makes that month
 * "late", written again from the store after the pass). */
struct stream {
	char cur[8];        /* month being collected, "" before the first */
	struct sbuf rows;   /* its rows, oldest first */
	size_t *off;        /* where each row starts */
	size_t noff, capoff;
	struct sbuf index;  /* its search entries (room logs) */
	struct month *months; /* every month of the log, in order */
	size_t nmonths, capmonths;
	char (*late)[8];
	size_t nlate, caplate;
	struct ring latest;
	int64_t n;
};

struct open_item {
	int64_t due, created, num;
	size_t off, len; /* body in hroom.open_rows */
	size_t owner;    /* index in hroom.owners; SIZE_MAX = nobody */
	int critical;
	int first;       /* the first entry of its item (one per owner) */
};

struct hroom {
	char *id, *name; /* name: m.room.name or NULL */
	char *slug;      /* folder under rooms/ and search/ */
	struct sbuf cell; /* its cell in a target's rows */
	struct stream s[HTML_NKINDS];
	int64_t first, last; /* first record, last activity (0 = none) */
	struct open_item *open;
	size_t nopen, capopen;
	struct sbuf open_rows;
	char **owners;
	size_t nowners, capowners;
	struct smap owner_ix;
	struct imap weeks;  /* week -> a: open items delta, b: deploys */
	struct imap months; /* month -> a: incidents, b: resolved, c: seconds */
	int64_t resolved, ttr;  /* every resolved incident, for MTTR */
	struct ring decisions;  /* for the index */
};

struct target {
	char *tag, *slug;
	struct stream s;
	int64_t deploys, last;
	struct smap rooms; /* room index -> changes (key: the room's slug) */
};

struct pred { /* decision pred was superseded by decision succ */
	int64_t pred, succ;
	size_t next; /* the next pred of succ + 1, 0 = none */
};

struct site {
	struct store *st;
	const struct export_opts *o;
	char **why;
	const char *tz;
	int utc;
	unsigned kinds;    /* HTML_KINDS asked for */
	int dfd;           /* the output folder */
	struct hfiles *files;
	struct sbuf page, row, trow, tmp, tmp2;
	struct hroom *rooms;
	size_t nrooms;
	struct person_names people; /* labels, room by room (people.h) */
	struct smap room_ix;
	struct target **targets;
	size_t ntargets, captargets;
	struct smap target_ix;
	struct pred *preds;
	size_t npreds, cappreds;
	struct imap pred_head;   /* succ -> its first pred + 1 (a) */
	struct imap late_dec;    /* decisions whose page is written again */
	struct imap dec_written, mtg_written; /* pages written, by number */
	struct smap written; /* other files written, by path */
	struct smap dirs;    /* folders made */
	int64_t asof;        /* overdue is judged here: stamp or latest */
	int64_t tm_t;        /* the last time converted (tm_last) */
	struct tm tm_last;
	int tm_ok;
	int any_late;
	sc_err err;          /* of a callback */
	struct {
		int on;
		int64_t total, done;
		int shown;
	} prog;
};

/* ---- html_page.c: names, times, links, frames and rows ---- */

extern const char *const html_kind_plural[HTML_NKINDS]; /* "todos" ... */
extern const char *const html_kind_log[HTML_NKINDS];    /* "Change log" */
extern const char *const html_kind_one[HTML_NKINDS];    /* "change" */
extern const char *const html_kind_many[HTML_NKINDS];   /* "changes" */

/* The room of room_id in this export, or NULL. */
const struct hroom *html_room_by_id(struct site *x, const char *room_id);
/* Links from a page at up ("../../") to: a room's page, a month of its
 * log of kind k, the canonical place of record r (a decision's or
 * meeting's page; else its anchor in its month, ym), a target's page. */
void hw_room_href(struct hw *w, const char *up, const struct hroom *rm);
void hw_month_href(struct hw *w, const char *up, const struct hroom *rm,
		   enum rec_kind k, const char *ym);
/* Decisions and meetings: a page each, in folders of a hundred by
 * number, decisions/123/D12345.html (html_page.c). */
#define HTML_PER_FOLDER 100
/* Room for any such path: "decisions/" and two numbers of up to 20
 * digits. */
#define HTML_NUMBERED_PATH 64
void html_numbered_path(char b[HTML_NUMBERED_PATH], const struct record *r);
void hw_numbered_href(struct hw *w, const char *up, enum rec_kind k,
		      int64_t num);
void hw_record_href(struct hw *w, const char *up, const struct hroom *rm,
		    const char *ym, const struct record *r);
void hw_target_href(struct hw *w, const char *up, const char *tag);
/* A person as room knows them (people.h: the display name, else the
 * localpart, the full id when another member looks the same), the full
 * id in a tooltip; a status or severity badge (prefix "s-" or "v-"); r's
 * tags (as links to their targets when link); r's matrix.to link
 * (nothing without an event id); " › html". */
void hw_who(struct hw *w, struct site *x, const char *room,
	    const char *user);
void hw_badge(struct hw *w, const char *prefix, const char *v);
void hw_tags(struct hw *w, const char *up, const struct record *r, int link);
void hw_src(struct hw *w, const struct record *r);
void hw_crumb(struct hw *w, const char *html);
/* A link to meeting ref made while the records stream (no look-up for
 * a meeting already written). */
sc_err html_meeting_link(struct site *x, struct hw *w, const char *up,
			 const char *ref);
/* "2026-11-02" of the Monday of week w (UTC) into b (11 bytes). */
void html_week_label(char *b, int64_t w);

/* Record time t as "2026-11-02", "2026-11-02 09:00", "09:00" in the
 * export's zone; ym_of gives "2026-11" and returns year * 12 + month. */
void hw_date(struct hw *w, struct site *x, int64_t t);
void hw_datetime(struct hw *w, struct site *x, int64_t t);
void hw_hm(struct hw *w, struct site *x, int64_t t);
int64_t html_ym_of(struct site *x, int64_t t, char ym[8]);
/* The week of t (weeks from Monday 1970-01-05, UTC). */
int64_t html_week_of(int64_t t);
/* "November 2026" for "2026-11". */
void hw_month_name(struct hw *w, const char *ym);

/* The room's name if it has one, else its id. */
const char *html_room_label(const struct hroom *rm);

/* The page's frame: head with CSP, header with breadcrumbs (crumbs is
 * HTML, written after the link to the index) and search box; foot. */
void html_page_head(struct hw *w, struct site *x, const char *up,
		    const char *title_html, const char *crumbs_html,
		    int search_box);
void html_page_foot(struct hw *w, struct site *x);

/* Where a row's parts are, from its start: the link of its id (a
 * path from the room's folder), and the cells after its time (changes
 * only). */
struct row_marks {
	size_t href, mid;
};
/* One row of a room's log for record f of kind f->r.kind, with its id
 * as the anchor (' id="C31"', after "<tr"); its links work from any
 * page of a room's folder. ym is the record's month. summary: meetings
 * only ("2 decisions"). */
sc_err html_log_row(struct site *x, struct sbuf *sb, const struct rec_full *f,
		    const struct hroom *rm, const char *ym, const char *summary,
		    struct row_marks *mk);
/* The row of a change on a target's page, made of its room row (as
 * html_log_row wrote it, with its marks): without the anchor, its id
 * linking back to the room's month, the room's cell (rm->cell) after
 * the time. */
sc_err html_target_row(struct sbuf *sb, const struct hroom *rm,
		       const char *row, size_t len, const struct row_marks *mk);
/* The length of the anchor attribute of a row (' id="C31"'), 0 when
 * it has none. */
size_t html_row_anchor(const char *row, size_t len);
/* Append "C31" for r (24 bytes hold any). */
void html_short_id(const struct record *r, char *b);
/* The header row of a room's log of kind k (and of a target's log). */
void html_log_thead(struct hw *w, enum rec_kind k, int target);
/* The search entry of f: ["C31","text","detail","tags"]. */
sc_err html_index_entry(struct sbuf *sb, const struct rec_full *f);
/* The body of an open item on the room's page (without <li>). */
sc_err html_open_item(struct site *x, struct sbuf *sb, const struct record *r,
		      const struct hroom *rm, const char *ym);
/* The entry of decision r on the index ("D4 use linear accepted"). */
sc_err html_index_decision(struct site *x, struct sbuf *sb,
			   const struct record *r);
/* Whether r is part of this export (filters, not withdrawn). */
int html_exported(struct site *x, const struct record *r);
/* The decisions that decision num superseded, at most max of them, in
 * order; their number. */
size_t html_preds(struct site *x, int64_t num, int64_t *out, size_t max);
/* Append an <a> to the page of record ref ("D5") from a page at up,
 * when it is exported, with its title when with_title; plain ref
 * otherwise. */
sc_err html_ref_link(struct site *x, struct hw *w, const char *up,
		     const char *ref, int with_title);

/* ---- html_record.c ---- */

/* The ADR page of decision f (its history from f when has_history,
 * as the pass reads it along, else from the store); the minutes of
 * meeting f (summary gets "2 decisions · 3 action items" for its row). */
sc_err html_decision_page(struct site *x, const struct rec_full *f,
			  int has_history, const struct hroom *rm,
			  const char *ym);
sc_err html_meeting_page(struct site *x, const struct rec_full *f,
			 const struct hroom *rm, const char *ym,
			 struct sbuf *summary);

/* ---- html_site.c ---- */

/* A month page of a log is its stream's rows buffer: the head (room's
 * log, or the target's when tg) when the month begins, the rows as
 * they come, oldest first, the foot when it ends. */
sc_err html_month_head(struct site *x, struct sbuf *sb, const struct stream *s,
		       const struct hroom *rm, const struct target *tg,
		       enum rec_kind k, const char *ym);
sc_err html_month_foot(struct site *x, struct sbuf *sb, enum rec_kind k,
		       const char *ym, int64_t n);

/* The pages written after the pass. */
sc_err html_room_page(struct site *x, struct hroom *rm);
sc_err html_target_page(struct site *x, const struct target *tg);
sc_err html_index_page(struct site *x);
sc_err html_search_page(struct site *x);

/* ---- export_html.c: files ---- */

/* Queue file path (relative to the output folder, folders made as
 * needed) with content sb. */
sc_err html_put(struct site *x, const char *path, const struct sbuf *sb);
/* A small page (a decision, a meeting) made straight in the batch of
 * files (html_files.h): begin gives the buffer to append the page to,
 * end queues it, or drops it when err (and returns err). */
sc_err html_small_begin(struct site *x, const char *path, struct sbuf **pg);
sc_err html_small_end(struct site *x, sc_err err);

/* ---- html_sweep.c ---- */

/* Remove the pages in the site's own folders (rooms, decisions,
 * meetings, targets, search) that this export did not write. */
void html_sweep(struct site *x);

#endif
