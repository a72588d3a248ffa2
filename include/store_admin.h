/* SPDX-License-Identifier: MIT */
/*
 * store_admin.h - what the admin CLI (`scribe export|import|db|stats`)
 * needs from the store beyond store.h: a record with everything attached
 * to it (history, votes, meeting notes and attendees) streamed in export
 * order, the raw import of such a record, an online backup, an integrity
 * check and the file's size. Implemented in src/store_admin.c, the only
 * other file besides src/store*.c that talks to SQLite.
 *
 * Ownership: every string inside a struct rec_full handed to a callback
 * is borrowed for the duration of the call. A rec_full filled by the
 * caller (import) is only read.
 */
#ifndef SCRIBE_STORE_ADMIN_H
#define SCRIBE_STORE_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One vote (reaction) on a decision. key is "up", "down" or "meh". */
struct vote_row {
	const char *user_id;
	const char *key;
	const char *event_id; /* the reaction event; may be NULL */
};

/*
 * A record and everything attached to it. References to other records
 * (r.meeting, r.superseded_by) are carried as short ids ("M3", "D5") in
 * meeting_ref / superseded_ref, because store ids are internal and are
 * not kept by an import; r.meeting and r.superseded_by are ignored by
 * store_import_record.
 */
struct rec_full {
	struct record r;
	const char *meeting_ref;     /* "M3" or NULL */
	const char *superseded_ref;  /* "D5" or NULL */
	struct history_entry *history; /* oldest first */
	size_t nhistory;
	struct vote_row *votes;        /* by user id */
	size_t nvotes;
	struct note *notes;            /* meetings: notes (withdrawn ones
	                                  too), in order; only ts, author,
	                                  kind, text and withdrawn are
	                                  exported and imported */
	size_t nnotes;
	const char **attendees;        /* meetings: in order of first word */
	size_t nattendees;
	struct attendee *attendance;   /* meetings: lines said and first
	                                  line of attendees (an export: the
	                                  same people in the same order; an
	                                  import: any of them, or none) */
	size_t nattendance;
	struct record *items;          /* meetings, with EXPORT_MINUTES: the
	                                  records made during it that the
	                                  query selects, oldest first, with
	                                  assignees and tags (no votes) */
	size_t nitems;
	int minutes;                   /* 1: notes, attendees and items are
	                                  attached (EXPORT_MINUTES) */
};

/*
 * Stream every record matching q with its references and, when
 * attached (EXPORT_ATTACHED), its history, votes, notes and attendees
 * (else history, notes and attendees are empty; votes are always there,
 * with their counts in r.votes_*). Instead of EXPORT_ATTACHED, one or
 * both of: EXPORT_DECISION_HISTORY attaches only the history of
 * decisions; EXPORT_MINUTES attaches to each meeting its notes,
 * attendees and items (f->minutes). Everything attached is read along
 * in the same pass, by one cursor per table in record order, not by a
 * query per record. Only q's kinds, room_id, status, since, until and
 * include_withdrawn apply (also to a meeting's items); the order is store id order, the order
 * records were stored in (an import into an empty store keeps it, so it
 * re-exports the same). cb returns non-zero to stop. Memory stays flat:
 * one record is held at a time; f and its strings are borrowed for the
 * duration of the call.
 */
typedef int (*full_cb)(const struct rec_full *f, void *ctx);
enum {
	EXPORT_BARE = 0,
	EXPORT_ATTACHED = 1,
	EXPORT_DECISION_HISTORY = 2,
	EXPORT_MINUTES = 4
};
sc_err store_export(struct store *st, const struct rec_query *q, int attached,
		    full_cb cb, void *ctx);

/*
 * Import: store_import_begin() opens a transaction; each
 * store_import_record() inserts f exactly as given (kind, number, times,
 * status, history, votes, notes, attendees; no "created" history entry
 * is added) and indexes it for search; store_import_end(st, 1) resolves
 * the meeting/superseded_by references and commits, (st, 0) rolls all
 * back. Errors: SC_EEXISTS when a record with that id (T12) or event id
 * is already stored, SC_EINVAL for a record store_record_add would
 * refuse or a reference to a record that is neither in the store nor
 * imported (store_errmsg says which).
 */
sc_err store_import_begin(struct store *st);
sc_err store_import_record(struct store *st, const struct rec_full *f);
sc_err store_import_end(struct store *st, int commit);

/*
 * A read snapshot for an export made of several queries: between begin
 * and end every query sees the store as it was at the first read, while
 * the bot keeps writing (WAL). Does nothing inside an open transaction.
 * end(st) ends what begin started.
 */
sc_err store_snapshot_begin(struct store *st);
void store_snapshot_end(struct store *st);

/*
 * Copy the open store into a new file at path with SQLite's online
 * backup API, a few hundred pages at a time, so the bot keeps writing
 * meanwhile (a writer that commits during the copy makes the copy
 * restart from a fresh snapshot). path must not exist (SC_EEXISTS, a
 * symbolic link too); it is created with the process's file mode
 * (main.c: 0600, or 0640 with [store] group) and removed when the copy
 * fails. progress, if not NULL, is called with (pages copied, total
 * pages).
 */
sc_err store_backup(struct store *st, const char *path,
		    void (*progress)(int done, int total, void *ctx), void *ctx);

/*
 * PRAGMA integrity_check and foreign_key_check: cb gets one line per
 * problem found ("row 12 of history refers to a missing records row");
 * *problems their number (0 = healthy).
 */
sc_err store_check(struct store *st, str_cb cb, void *ctx, int64_t *problems);

/* Size of the database in bytes (page count times page size; the WAL
 * file is not counted) and the number of history entries. */
sc_err store_size(struct store *st, int64_t *bytes, int64_t *history_rows);

#endif
