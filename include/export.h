/* SPDX-License-Identifier: MIT */
/*
 * export.h - `scribe export` and `scribe import`: the record leaves the
 * store as JSON lines (full fidelity, read back by import), CSV (RFC
 * 4180, one file per kind), a Markdown handbook page per room, one ADR
 * per decision (Nygard layout, adr-tools numbering) and meeting minutes
 * (the layout of the team's own meeting minutes: attendees, notes,
 * decisions, follow-up action items per person), and a static web site
 * of all of it (export_html.h).
 *
 * Every format is a pure function of the records selected: no "now"
 * appears in the output, dates are rendered in the zone given (default
 * the config's), so re-running an export into the same folder gives the
 * same bytes and the folder can be committed to git. Records stream from
 * the store one at a time (store_export), so memory stays flat.
 *
 * The JSON field reference is in the README ("JSON lines") and in
 * scribe(1); field names are stable: new fields may be added, none is
 * renamed or removed.
 *
 * Records hold what anyone in a room typed (or an import said), so no
 * text may change an export's shape: in Markdown (md, adr, minutes) it
 * stays text on its line ('<', '[', ']', '\\' and, in tables, '|'
 * escaped, line breaks as spaces, room ids in code spans); CSV cells are
 * RFC 4180 and never a spreadsheet formula (csv_field); file names are
 * slugs, so no title reaches outside the output folder, and rooms whose
 * ids share a slug get a page each.
 */
#ifndef SCRIBE_EXPORT_H
#define SCRIBE_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "sbuf.h"
#include "store.h"
#include "store_admin.h"

enum export_format { FMT_JSON = 0, FMT_CSV, FMT_MD, FMT_ADR, FMT_MINUTES,
		     FMT_HTML };

/* "json", "csv", "md" (or "markdown"), "adr", "minutes", "html". */
sc_err export_format_parse(const char *s, enum export_format *out);

struct export_opts {
	enum export_format format;
	unsigned kinds;       /* REC_BIT mask, 0 = all */
	const char *room_id;  /* NULL = every room */
	int64_t since, until; /* created in [since, until); 0 = unbounded */
	const char *out;      /* file (json) or directory; NULL = stdout */
	const char *tz;       /* zone of the dates in md, adr, minutes */
	int64_t late_after;   /* minutes: a first line this long after the
	                         start is a late arrival ([meeting]
	                         late_after); 0 = 15 minutes */
	int progress;         /* draw a progress bar on stderr */
	int64_t stamp;        /* html: the time to print as "generated" and
	                         to judge overdue by; 0 = none (same store,
	                         same bytes) */
	const char *deploy_tag; /* html: the tag of a deploy (the config's
	                           first deploy_tags); NULL = "deploy" */
};

/*
 * Run the export o describes. A json, csv or md file is written whole
 * to a file without a name (O_TMPFILE) and named when complete, so a
 * reader never sees half a file, and an export that fails, is killed or
 * crashes leaves no temporary file (where the file system cannot, to a
 * temporary name, removed on failure); folders it created are removed
 * again when it fails. adr and minutes files are left alone when they
 * hold the right bytes and created in place when new (bgwrite.h). Files
 * and folders get the process's mode (main.c: 0600 and 0700, or 0640
 * and 0750 with [store] group). On failure *why (a
 * new string, caller frees) says what failed, e.g. "cannot write
 * 'out/T.csv': No space left on device"; the error is
 * SC_EINVAL for options that do not fit the format (usage), SC_EIO for a
 * file, and the store's error otherwise.
 */
sc_err export_run(struct store *st, const struct export_opts *o, char **why);

/*
 * Import JSON lines from in (named name in messages) into st in one
 * transaction: all or nothing. *count gets the number of records. On
 * failure *why (new string) names the line: "records.jsonl:12: 'id'
 * T3 does not match kind decision".
 */
sc_err import_run(struct store *st, FILE *in, const char *name,
		  int64_t *count, char **why);

/* ---- the pieces, for the tests ---- */

/* Append the JSON line (with '\n') of f. */
sc_err export_json_line(const struct rec_full *f, struct sbuf *out);

/* A record parsed back from a JSON line. f's strings are owned by
 * f.r (record fields) or by root (everything else). */
struct rec_parsed {
	struct rec_full f;
	json_t *root;
};
/* Parse one JSON line; on SC_EINVAL *why (static or in err) says why. */
sc_err import_json_line(const char *line, struct rec_parsed *out,
			struct sbuf *why);
void rec_parsed_clear(struct rec_parsed *p);

/* Append s as one RFC 4180 field: quoted (with "" for ") when it holds
 * a comma, quote, CR or LF, or starts/ends with a space; NULL is empty.
 * A field a spreadsheet would run as a formula, one starting (after any
 * spaces) with '=', '+', '-', '@', a tab or a CR, gets a leading "'"
 * (OWASP's CSV injection advice), unless it is only Matrix user ids of
 * the current grammar ("@bob:example.org"), which hold no formula. */
sc_err csv_field(struct sbuf *out, const char *s);

/* Append a file-name slug of s: lowercase ASCII letters and digits, runs
 * of anything else as one '-', no leading/trailing '-', cut at a word
 * boundary to at most max bytes; "untitled" when nothing is left. */
sc_err export_slug(struct sbuf *out, const char *s, size_t max);

/* The ids of the rooms that have records, in order: store_record_rooms'
 * callback with a zeroed struct export_rooms as ctx (the caller frees
 * v and its strings; err is set when memory ran out). */
struct export_rooms {
	char **v;
	size_t n, cap;
	sc_err err;
};
int export_rooms_cb(const char *room_id, void *ctx);

/* A room as people know it (new string in *out): its canonical alias
 * (kept by the bot: engine_room_alias), else its name, else its id. */
sc_err export_room_label(struct store *st, const char *room_id, char **out);

/* Append t as "2026-11-23T10:30:00Z"; parse it back (strict). */
sc_err iso_utc(struct sbuf *out, int64_t t);
sc_err iso_utc_parse(const char *s, int64_t *out);

#endif
