/* SPDX-License-Identifier: MIT */
/*
 * export_html.h - `scribe export --format html -o DIR`: the whole record
 * as a static web site that any web server, or a browser from file://,
 * shows. Pages:
 *
 *   index.html                      every room: open items, overdue,
 *                                   last activity, latest decisions;
 *                                   every target
 *   rooms/ROOM/index.html           a room: charts, open action items
 *                                   by owner (critical and overdue
 *                                   first; the first
 *                                   HTML_OPEN_PER_OWNER of each, then
 *                                   how many more), the latest decisions,
 *                                   changes, incidents (MTTR) and
 *                                   meetings, and the months of each log
 *   rooms/ROOM/KIND-YYYY-MM.html    a log by month (todos, decisions,
 *                                   changes, incidents, meetings): the
 *                                   record's stable anchor (#C31)
 *   decisions/D4.html               one ADR per decision (Status,
 *                                   Context, Decision, Consequences,
 *                                   History), supersede links both ways
 *   meetings/M3.html                the minutes of one meeting
 *   targets/TARGET/index.html, targets/TARGET/YYYY-MM.html
 *                                   the changes of one target (#web1)
 *                                   across rooms
 *   search.html, search/ROOM/KIND-YYYY-MM.js
 *                                   client-side search: the JSON index
 *                                   of each log month, wrapped in a
 *                                   call (browsers refuse fetch() of
 *                                   file:// URLs but run scripts)
 *   style.css, site.js, favicon.svg
 *
 * Pictures are SVG drawn by scribe into the page (html_chart.h): no
 * script is needed to see them. The site is safe to publish whatever the
 * records say: every string from a record, room or user is escaped for
 * HTML (in text and attribute values alike), URLs are only ever made by
 * scribe (relative paths of slugs and ids, and matrix.to links with
 * every id percent-encoded), and each page carries a Content-Security-
 * Policy that allows nothing but the site's own style sheet and script.
 *
 * Same store, same bytes: no "now" appears unless opts->stamp is set;
 * overdue is judged at the latest activity in the record (or at the
 * stamp). A page that already holds its bytes is not written again
 * (bgwrite.h), so a re-export touches nothing when nothing changed, and
 * a new record rewrites only the pages that show it. Pages in the
 * site's own folders (rooms/, decisions/, meetings/, targets/,
 * search/) that the export did not write (a withdrawn record, a room
 * upgraded into another) are removed; nothing else in DIR is touched.
 *
 * Memory stays flat: records stream once from the store (store_export)
 * and each log month is written when the next month of that log
 * begins; what is held is one month of each log and the open items.
 */

/* A room page lists this many of an owner's open items, the most
 * urgent first, then "... and N more" (every one is in the room's log
 * of action items). */
#define HTML_OPEN_PER_OWNER 100
#ifndef SCRIBE_EXPORT_HTML_H
#define SCRIBE_EXPORT_HTML_H

#include "export.h"
#include "sbuf.h"
#include "store.h"

/* Write the site o describes into o->out (made by export_run). On
 * failure *why (a new string) says what failed; SC_EINVAL without
 * -o, SC_EIO for a file, else the store's error. */
sc_err export_html(struct store *st, const struct export_opts *o, char **why);

/* ---- the pieces, for the tests ---- */

/* Append s[0..n) escaped for HTML text and attribute values alike:
 * & < > " ' become entities, everything else is copied. */
sc_err html_escn(struct sbuf *out, const char *s, size_t n);
sc_err html_esc(struct sbuf *out, const char *s);

/* Append the href of the source message of a record, escaped for an
 * attribute: "https://matrix.to/#/%21ops%3Ax.org/%24ev" (every byte of
 * the ids outside A-Z a-z 0-9 - . _ ~ percent-encoded, so no id can
 * leave the URL). */
sc_err html_matrix_to(struct sbuf *out, const char *room_id,
		      const char *event_id);

/* Append a file name for a target (a tag): a-z 0-9 and '-' kept, any
 * other byte as "_hh", so two tags never share a name; a long one is
 * cut and ends in a hash of the whole tag. */
sc_err html_target_slug(struct sbuf *out, const char *tag);

#endif
