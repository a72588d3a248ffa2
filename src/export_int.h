/* SPDX-License-Identifier: MIT */
/*
 * export_int.h - what the files of `scribe export` share: the state of
 * one export (struct ex), the output files, the progress bar, the
 * Markdown text that md, adr and minutes write alike, and each format's
 * entry point for export_run. Not a public interface: export.h is. The
 * html export (export_html.c, html_*.c) has its own (html_int.h).
 *
 *   export.c          options, the dispatcher over formats, output
 *                     files, progress, folders
 *   export_json.c     JSON lines and import
 *   export_csv.c      CSV
 *   export_md.c       Markdown text and lines, the handbook page per room
 *   export_adr.c      one ADR file per decision
 *   export_minutes.c  one minutes file per meeting
 */
#ifndef SCRIBE_EXPORT_INT_H
#define SCRIBE_EXPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "bgwrite.h"
#include "export.h"
#include "people.h"
#include "sbuf.h"
#include "store.h"
#include "store_admin.h"

/* Longest slug in a file name (adr-tools keeps them short too). */
#define SLUG_MAX 50

/* ---- output files (export.c) ---- */

/*
 * A file being written: in 1 MiB writes by a background thread
 * (bgwrite.h), so the JSON of a million records (700 MB) is written
 * while the next records are read and formatted. Standard output goes
 * through stdio.
 *
 * A new file's bytes go to a file with no name (O_TMPFILE) in the
 * target's folder, which gets its name only when it is complete: an
 * export that fails, is interrupted or crashes (kill -9, an abort())
 * leaves the folder as it was, with neither a temporary file nor half
 * an export in it. The name is given with linkat, or, over an older
 * file, with linkat to a temporary name and rename over the old one, a
 * step no catchable signal can interrupt. A file system without
 * O_TMPFILE (or no /proc to name the file through) gets the temporary
 * file by name instead, removed when the export fails.
 */
struct outf {
	FILE *f;        /* stdout */
	struct bgw *w;  /* a file */
	struct sbuf *mem; /* or collected here: a whole file for bgf_put */
	struct sbuf path, tmp;
	int fd;         /* the unnamed file (a second descriptor: bgw
			 * closes its own), -1 when tmp is its name */
	int is_stdout;
	int direct; /* written in place: a device, FIFO or socket */
};

/* Replace *why with a new string made from fmt; returns SC_OK. */
sc_err ex_why(char **why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Open dir/name (dir NULL and name NULL = stdout); on failure *why says
 * what failed. */
sc_err outf_open(struct outf *o, const char *dir, const char *name,
		 char **why);
/* Finish o: give the file its name (commit), or drop it. */
sc_err outf_close(struct outf *o, int commit, char **why);
sc_err outf_write(struct outf *o, const struct sbuf *sb, char **why);

/* ---- progress (export.c) ---- */

struct progress {
	int on;
	int64_t total, done;
	int shown; /* last percentage drawn */
};

/* A bar on stderr when want and q counts enough records. */
void ex_progress_start(struct progress *p, struct store *st,
		    const struct rec_query *q, int want);
void ex_progress_step(struct progress *p);
void ex_progress_end(struct progress *p);

/* ---- one export (export.c) ---- */

struct min_meeting;

struct ex {
	struct store *st;
	const struct export_opts *o;
	char **why;
	sc_err err;
	struct sbuf line;
	struct progress prog;
	struct outf out;            /* json, md, one minutes file */
	struct bgf *files;          /* adr and minutes files */
	struct sbuf file;           /* one minutes file */
	struct outf csv[REC_NKINDS];
	struct person_names people; /* who people are, room by room */
	struct min_meeting *mm;     /* minutes: the meeting being written */
};

/* The query of o's filters. */
void ex_base_query(const struct export_opts *o, struct rec_query *q);
/* Store failure: set *x->why to the store's message (unless set). */
sc_err ex_store_err(struct ex *x, sc_err err);

/* The folder of small files of adr and minutes (x->files), and waiting
 * for it: err, or the first file's failure. */
sc_err ex_files_open(struct ex *x);
sc_err ex_files_close(struct ex *x, sc_err err);

/* ---- Markdown (export_md.c) ---- */

/* Append t in tz with strftime format fmt. */
sc_err local_fmt(struct sbuf *out, const char *tz, int64_t t,
		 const char *fmt);
/* Append s[0..n) (or s) as text on one Markdown line; table: in a
 * table cell. */
sc_err md_textn(struct sbuf *out, const char *s, size_t n, int table);
sc_err md_text(struct sbuf *out, const char *s, int table);
/* Append s as a Markdown code span, whatever it holds. */
sc_err md_code(struct sbuf *out, const char *s);
/* Append a person as the room knows them, Markdown-escaped. */
sc_err ex_person(struct ex *x, struct sbuf *out, const char *room,
	      const char *user_id);

/* A record as a line of the handbook page, also used by the minutes:
 * an action item, a decision table row, a change. */
sc_err md_action_item(struct ex *x, struct sbuf *sb, const struct record *r);
sc_err md_decision_row(struct ex *x, struct sbuf *sb, const struct record *r);
sc_err md_change_line(struct ex *x, struct sbuf *sb, const struct record *r);

/* ---- the formats, for export_run ---- */

/* Name the pages of rooms exported for the first time (export_md.c). */
sc_err md_keep_names(struct ex *x);

sc_err export_json(struct ex *x);
sc_err export_csv(struct ex *x);
sc_err export_md(struct ex *x);
sc_err export_adr(struct ex *x);
sc_err export_minutes(struct ex *x);

#endif
