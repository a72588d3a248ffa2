/* SPDX-License-Identifier: MIT */
/*
 * store_remind.h - the store's side of reminders, SLA escalation and ops
 * hours (src/store_remind.c): the schedule of what fires when, the
 * rooms' alert settings, people's own time zones, the threads records
 * were made in, and the SLA breach counts. src/remind.c decides what a
 * firing says and to whom; this file keeps the schedule exact.
 *
 * The schedule. One row per record and purpose ("what"):
 *   due     an open todo with a due date: fires `before` (the room's
 *           lead time) ahead of it, once
 *   sla     an open critical or major todo or incident: fires when its
 *           SLA ends (created + the severity's SLA) and again one SLA
 *           later per further level, until acknowledged
 *   remind  a pending R record (!remind): fires at its due time
 * Rows follow their record by themselves: store_record_add and
 * store_record_update call store_remind_sync inside their own
 * transaction, so closing, withdrawing or re-dating an item (by any
 * command, an edit, a redaction, an undo) cancels or moves what it
 * would fire, in the same commit. The next firing of all rows sits in
 * one partial index (fire_at), so "is anything due?" is one index
 * lookup however many records the store holds.
 *
 * Errors as in store.h. Strings handed to callbacks are borrowed for the
 * duration of the call.
 */
#ifndef SCRIBE_STORE_REMIND_H
#define SCRIBE_STORE_REMIND_H

#include <stdint.h>

#include "store.h"

/* What a row fires for. */
enum remind_what { RW_DUE = 0, RW_SLA, RW_REMIND };
/* "due", "sla", "remind". */
const char *remind_what_name(enum remind_what w);

/*
 * The store-wide defaults a row's firing time is computed from (the
 * bot.conf values): lead time before a due date (seconds; -1 = no due
 * reminders), the critical and major SLAs, and how many escalation
 * levels (0 = none). Rooms override the lead time (room_alerts).
 */
struct remind_params {
	int64_t before;
	int64_t sla_critical, sla_major;
	int levels;
};

/*
 * Make p the store's defaults (kept in the store, so the admin CLI and
 * a restart compute the same times) and bring the schedule in line with
 * the records at now: rows whose time depends on a changed default are
 * recomputed, and a live record that has no row yet (a store from
 * before reminders existed, an import) gets one. Levels of an SLA that
 * ended before now are counted as passed, never fired late. Idempotent;
 * call it once at start, in a transaction of its own.
 */
sc_err store_remind_setup(struct store *st, const struct remind_params *p,
			  int64_t now);

/* One row of the schedule. */
struct remind_row {
	int64_t record;
	enum remind_what what;
	const char *room_id;
	int64_t anchor;   /* due date (due), created (sla), time (remind) */
	int64_t fire_at;  /* when it fires next */
	int level;        /* firings so far (sla: levels escalated) */
	int deferred;     /* fire_at was moved to the opening of ops hours */
};
typedef int (*remind_row_cb)(const struct remind_row *r, void *ctx);

/* The earliest pending fire_at into *at (0 when nothing is pending). */
sc_err store_remind_next(struct store *st, int64_t *at);
/* Rows with fire_at <= now, ordered by room, then fire_at; at most
 * limit rows (0 = all). room_id non-NULL: that room's only. */
sc_err store_remind_due(struct store *st, const char *room_id, int64_t now,
			int limit, remind_row_cb cb, void *ctx);
/* Record a firing of (record, what) at `at`: level = the new count,
 * next = the row's next fire_at (0 = nothing more). */
sc_err store_remind_fired(struct store *st, int64_t record,
			  enum remind_what what, int level, int64_t at,
			  int64_t next);
/* Hold (record, what) until `until` (the opening of ops hours). */
sc_err store_remind_defer(struct store *st, int64_t record,
			  enum remind_what what, int64_t until);
/*
 * Stop the escalation of record: its sla row fires no more. Writes the
 * history entry ("ack", by actor at now, caused by event_id) whether
 * or not anything was pending; *stopped = 1 when an escalation was
 * pending (or had fired) and is now stopped, 0 when there was none.
 */
sc_err store_remind_ack(struct store *st, int64_t record, const char *actor,
			int64_t now, const char *event_id, int *stopped);
/* The sla row of record: levels escalated so far (*level) and whether
 * it was stopped (*stopped); SC_ENOTFOUND when it has none. */
sc_err store_remind_sla_state(struct store *st, int64_t record, int *level,
			      int *stopped);
/* The due row's next firing of record (0 when none is pending). */
sc_err store_remind_fire_of(struct store *st, int64_t record,
			    enum remind_what what, int64_t *at);

/*
 * A room's alert settings. Unset values follow bot.conf: before -2,
 * strings NULL. before -1 turns due reminders off; an empty hours,
 * on_call or contacts means "none here" (always in hours, nobody to
 * escalate to). contacts is a comma-separated list of user ids.
 */
#define ALERT_DEFAULT (-2)
#define ALERT_OFF (-1)
struct room_alerts {
	int64_t before;
	char *hours;
	char *on_call;
	char *contacts;
};
void room_alerts_clear(struct room_alerts *a);
/* The room's settings (all unset when it has none). */
sc_err store_alerts_get(struct store *st, const char *room_id,
			struct room_alerts *out);
/* Store them; a changed lead time moves the room's pending due
 * reminders (computed at now). */
sc_err store_alerts_put(struct store *st, const char *room_id,
			const struct room_alerts *a, int64_t now);

/* A person's own time zone (!tz me): *tz is a new string; SC_ENOTFOUND
 * when they have none. tz NULL removes it. */
sc_err store_user_tz_get(struct store *st, const char *user_id, char **tz);
sc_err store_user_tz_put(struct store *st, const char *user_id,
			 const char *tz);

/* The record made by event_id was said in the thread thread_root
 * (nothing happens when event_id made no record); its reminders go
 * into that thread. */
sc_err store_record_thread_put(struct store *st, const char *event_id,
			       const char *thread_root);
/* The thread record was made in: *root a new string; SC_ENOTFOUND. */
sc_err store_record_thread_get(struct store *st, int64_t record, char **root);

/*
 * SLA breaches of room: critical and major todos and incidents (not
 * withdrawn) whose SLA (created + sla) ended in [from, to) while they
 * were still open. *count gets their number; cb (may be NULL) is called
 * for each, oldest SLA end first, until it returns non-zero.
 */
sc_err store_remind_breaches(struct store *st, const char *room_id,
			     int64_t from, int64_t to, int64_t sla_critical,
			     int64_t sla_major, rec_cb cb, void *ctx,
			     int64_t *count);

#endif
