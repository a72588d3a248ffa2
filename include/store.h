/* SPDX-License-Identifier: MIT */
/*
 * store.h - the durable record: every todo, decision, change, meeting and
 * incident, their history, rooms, members, and the bot's sync state.
 *
 * Only the store's own files (src/store*.c) include the SQLite header;
 * each section below names the file that implements it. The store is
 * one SQLite file in WAL mode with foreign keys on and a busy timeout,
 * so `scribe run` and the admin CLI can share it. Schema changes are
 * forward-only migrations numbered by PRAGMA user_version.
 *
 * Transactions nest: store_tx_begin() opens a SAVEPOINT (which starts a
 * transaction when none is open), store_tx_commit() releases it and
 * store_tx_rollback() undoes everything since the matching begin. The
 * bot wraps a whole sync batch in one and each command in a nested one,
 * so a failing command leaves no half-written record and the batch's
 * records, replies (outbox) and sync token commit together.
 *
 * Ownership: strings inside a struct returned by the store belong to that
 * struct and are freed by its *_free() function. `const char *`
 * arguments are only borrowed for the duration of the call.
 *
 * Errors: SC_ESTORE (message in store_errmsg()), SC_EBUSY when locked
 * past the busy timeout, SC_ENOTFOUND for a missing row, SC_ENOMEM.
 */
#ifndef SCRIBE_STORE_H
#define SCRIBE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct store;

/* Called for each string of a listing (a user id, ...); return non-zero
 * to stop. s is borrowed for the duration of the call. */
typedef int (*str_cb)(const char *s, void *ctx);

/* ---- records: kinds, ids, the struct (store_record.c) ---- */

enum rec_kind {
	REC_TODO = 0,
	REC_DECISION,
	REC_CHANGE,
	REC_MEETING,
	REC_INCIDENT,
	REC_REMINDER,     /* !remind: an R record */
	REC_NKINDS
};

/* Bit for a kind in a kind mask. */
#define REC_BIT(k) (1u << (k))
#define REC_ALL ((1u << REC_NKINDS) - 1)

/* 'T', 'D', 'C', 'M', 'I', 'R'. */
char rec_kind_prefix(enum rec_kind k);
/* "todo", "decision", "change", "meeting", "incident", "reminder". */
const char *rec_kind_name(enum rec_kind k);
/* Parse a kind name (singular or plural, case-insensitive). */
sc_err rec_kind_parse(const char *s, enum rec_kind *out);
/* Parse a short id "T12" / "t12" into kind and number (> 0). */
sc_err rec_id_parse(const char *s, enum rec_kind *kind, int64_t *num);

/*
 * Status values (stored as text):
 *   todo:     open, done, dropped
 *   decision: proposed, accepted, rejected, superseded
 *   change:   logged
 *   meeting:  running, ended
 *   incident: open, resolved
 *   reminder: pending, done, cancelled (text: what to say; assignees:
 *             whom to ping, none = the room; due: when it fires next;
 *             detail: "every mon 09:00 Europe/Berlin" when it recurs)
 * `withdrawn` is separate: set when the source message was redacted.
 */
struct record {
	int64_t id;            /* store-wide rowid; 0 before insert */
	enum rec_kind kind;
	int64_t num;           /* the 12 of T12; unique per kind store-wide */
	char *room_id;
	char *author;          /* Matrix user id */
	char *event_id;        /* source event, may be NULL (CLI, import) */
	char *text;            /* the item itself */
	char *detail;          /* rationale / done note / resolution; may be NULL */
	char *status;
	char *severity;        /* "critical" | "major" | "minor" | NULL */
	int64_t due;           /* 0 = none */
	int64_t created;       /* unix seconds, UTC */
	int64_t updated;
	int64_t closed;        /* done/dropped/resolved/ended time, 0 = open */
	int64_t meeting;       /* record id of the meeting it was made in, 0 */
	int64_t superseded_by; /* record id of the successor decision, 0 */
	int withdrawn;         /* source message redacted */
	char **assignees;      /* todos: user ids; nassignees entries */
	size_t nassignees;
	char **tags;           /* labels / targets, lowercase, without '#' */
	size_t ntags;
	int votes_up, votes_down, votes_meh; /* decisions: 👍 👎 🤷 */
};

/* Free the strings of r and zero it (r itself is not freed). */
void record_clear(struct record *r);
/* Append "T12" for r to a buffer of at least 24 bytes. */
void record_short_id(const struct record *r, char *buf, size_t size);
/* Set a string field: frees the old value, copies s (NULL allowed). */
sc_err record_set(char **field, const char *s);
/* Append a copy of s to r's assignees / tags (no duplicates). A tag is
 * stored lowercase (ASCII) without a leading '#': "#Web1" is "web1". */
sc_err record_add_assignee(struct record *r, const char *user_id);
sc_err record_add_tag(struct record *r, const char *tag);

/* ---- open, close, transactions (store.c) ---- */

/* Open (creating and migrating as needed) the store at path; ":memory:"
 * gives a private in-memory store for tests. On failure *out is left
 * alone and, as there is no store to ask, the reason is logged once
 * with log_error(): "cannot open store 'x.db': database is locked". A
 * folder (or store file) this process may not write is named as such,
 * "permission denied on '/var/lib/scribe'", a missing folder with how to
 * make it. A store whose schema version is newer than
 * store_schema_latest() is refused (SC_ESTORE) and left untouched. */
sc_err store_open(const char *path, struct store **out);
/* For the bot's connection: keep SQLite's temporary data in memory. A
 * sync batch adds each record inside a savepoint, and past 64 KiB the
 * savepoints' undo pages (the sub-journal) go to a temporary file, one
 * write() per page for the rest of the batch. Exports keep the default:
 * their sorts of a million rows belong in temporary files. */
sc_err store_temp_in_memory(struct store *st);
void store_close(struct store *st);
/* Last error message of the store, borrowed until the next call. */
const char *store_errmsg(const struct store *st);
/* The SQLite library's version, e.g. "3.40.1". */
const char *store_library_version(void);
/* Schema version (PRAGMA user_version) of an open store. */
int store_schema_version(struct store *st);
/* The schema version this binary creates and understands. */
int store_schema_latest(void);

/* A number that changes whenever another connection (the admin CLI:
 * `scribe log`, `scribe import`) commits to the store; never for this
 * connection's own commits (PRAGMA data_version). */
sc_err store_data_version(struct store *st, int64_t *out);

sc_err store_tx_begin(struct store *st);
sc_err store_tx_commit(struct store *st);
sc_err store_tx_rollback(struct store *st);
/* Whether a transaction is open (what is written now is not yet durable). */
int store_in_tx(const struct store *st);

/* ---- records: add, update, load, history (store_record.c) ---- */

/*
 * Insert r: assigns r->id and r->num (next number of its kind), stores
 * assignees and tags, indexes the text for search and appends a
 * "created" history entry by r->author. r->created/updated must be set.
 * A record whose event_id already exists gives SC_EEXISTS (a command is
 * never recorded twice).
 *
 * Text is stored byte for byte but must be valid UTF-8: a string field
 * that is not (or a status, severity or kind the record cannot have, or
 * an assignee/tag that is empty or holds a control character) gives
 * SC_EINVAL and writes nothing, so every stored string can be exported
 * as JSON. r->id and r->num are only written on success.
 */
sc_err store_record_add(struct store *st, struct record *r);

/*
 * Write r's changed fields (compared with the stored row of r->id):
 * status, text, detail, severity, due, closed, superseded_by, withdrawn,
 * assignees, tags. One history entry per changed field, by actor at now,
 * caused by event_id (may be NULL). Sets updated = now. Nothing changed
 * = SC_OK and no history.
 */
sc_err store_record_update(struct store *st, const struct record *r,
			   const char *actor, int64_t now, const char *event_id);

/* Load a record (with assignees, tags and vote counts) into out. */
sc_err store_record_get(struct store *st, enum rec_kind kind, int64_t num,
			struct record *out);
sc_err store_record_get_id(struct store *st, int64_t id, struct record *out);
/* The record created by event_id (the command's source event). */
sc_err store_record_by_event(struct store *st, const char *event_id,
			     struct record *out);

struct history_entry {
	int64_t record;
	int64_t ts;
	const char *actor;
	const char *field;     /* "created", "status", "text", "due", ... */
	const char *old_value; /* NULL when none */
	const char *new_value;
	const char *event_id;  /* NULL when none */
};
typedef int (*hist_cb)(const struct history_entry *h, void *ctx);
/* History of one record, oldest first. */
sc_err store_history(struct store *st, int64_t record, hist_cb cb, void *ctx);
/* Every history entry caused by event_id, over all records, oldest first. */
sc_err store_history_by_event(struct store *st, const char *event_id,
			      hist_cb cb, void *ctx);
/* Append a history entry that changes no field: what someone said with
 * a change ("note": "!accept D4 looks good"), new_value = value, by
 * actor at ts, caused by event_id (may be NULL). */
sc_err store_history_note(struct store *st, int64_t record, int64_t ts,
			  const char *actor, const char *field,
			  const char *value, const char *event_id);
/* The history entries actor caused (with an event id) at or after since
 * on records of room_id, newest first: what !undo may take back. */
sc_err store_history_recent(struct store *st, const char *room_id,
			    const char *actor, int64_t since, hist_cb cb,
			    void *ctx);

/* ---- record queries and stats (store_query.c) ---- */

/* A query over records; zero-initialise and set what you need. */
struct rec_query {
	unsigned kinds;         /* REC_BIT mask; 0 = all */
	const char *room_id;    /* NULL = every room */
	const char *status;     /* exact status, NULL = any */
	int open_only;          /* todo open, decision proposed|accepted,
	                           incident open, meeting running,
	                           reminder pending */
	const char *assignee;   /* todos assigned to this user */
	const char *author;     /* created by this user */
	const char *tag;        /* has this tag (lowercase, no '#') */
	const char *terms;      /* full-text: every word must match (any
	                           text typed by a user is safe here) */
	int64_t since, until;   /* created in [since, until); 0 = unbounded */
	int64_t changed_since;  /* updated or created >= this; 0 = ignore */
	int64_t overdue_at;     /* open todos with due < this; 0 = ignore */
	int64_t meeting;        /* made during this meeting record id */
	int include_withdrawn;  /* default: withdrawn records are skipped */
	enum { ORDER_NEWEST = 0, ORDER_OLDEST, ORDER_DUE } order;
	/* ORDER_DUE: critical first, then by due (none last), then oldest */
	int limit;              /* 0 = no limit */
	unsigned skip;          /* SKIP_* bits: lists store_query leaves
	                           empty because the caller does not read
	                           them (each costs a lookup per record) */
};
enum {
	SKIP_ASSIGNEES = 1 << 0,
	SKIP_TAGS = 1 << 1,
	SKIP_VOTES = 1 << 2, /* the counts stay 0 */
	SKIP_ALL = (1 << 3) - 1
};

/* Called for each match; return non-zero to stop (store_query then
 * returns SC_OK). r is borrowed for the duration of the call. */
typedef int (*rec_cb)(const struct record *r, void *ctx);
/* Stream the matches of q to cb; memory stays flat for any size. */
sc_err store_query(struct store *st, const struct rec_query *q, rec_cb cb,
		   void *ctx);
/* Number of matches of q (ignores limit). */
sc_err store_count(struct store *st, const struct rec_query *q, int64_t *out);

/*
 * The distinct assignees of q's matches, each once, in the order q would
 * list the records (the person with the first record first); the records
 * without any assignee give one NULL in their place. A grouped listing
 * (!todos, the digest) gets its groups from this without loading every
 * record. q->limit limits the people.
 */
sc_err store_query_assignees(struct store *st, const struct rec_query *q,
			     str_cb cb, void *ctx);
/* The same people ordered by user id (the NULL first), without ranking
 * the records: for when the order of the records does not matter. */
sc_err store_query_assignee_names(struct store *st, const struct rec_query *q,
				  str_cb cb, void *ctx);

/* Counts for `scribe stats`: one (room_id, kind, count) row per call of cb. */
typedef int (*stat_cb)(const char *room_id, enum rec_kind kind, int64_t n,
		       void *ctx);
sc_err store_stats(struct store *st, stat_cb cb, void *ctx);
/* The ids of the rooms that have records, in byte order. */
sc_err store_record_rooms(struct store *st, str_cb cb, void *ctx);

/* ---- votes and reply links (store_vote.c) ---- */

/* Votes (reactions on a proposal): one counted per (record, user), the
 * user's latest reaction; every reaction event is kept (event_id given),
 * so when the latest is redacted the one before counts again, as
 * clients still show it. key is "up", "down" or "meh". */
sc_err store_vote_add(struct store *st, int64_t record, const char *user_id,
		      const char *key, const char *event_id);
/* Take back the vote of a (now redacted) reaction event: the voter's
 * earlier reaction, if any, counts again. SC_ENOTFOUND if that event was
 * no vote. */
sc_err store_vote_remove_event(struct store *st, const char *event_id);

/* The users whose vote on record counts (one each), by user id. */
sc_err store_voters(struct store *st, int64_t record, str_cb cb, void *ctx);

/* Remember that the bot's event reply_event_id is about record id (so a
 * reaction to the reply finds the record). */
sc_err store_reply_link(struct store *st, const char *reply_event_id,
			int64_t record);
/* The record a reply event (or the command event itself) is about. */
sc_err store_record_for_event(struct store *st, const char *event_id,
			      int64_t *record);

/* ---- rooms, members, kv, seen events (store_room.c) ---- */

/* Per-room settings and state. Unset strings are NULL. */
struct room {
	char *room_id;
	char *tz;              /* NULL = the config's default */
	int digest_minute;     /* -1 = config default, -2 = digest off */
	unsigned digest_days;  /* 0 = config default */
	int64_t last_digest;   /* end of the last digested window, 0 = never */
	int64_t joined_at;     /* unix seconds; 0 = not joined */
	int64_t meeting;       /* running meeting record id, 0 = none */
	int encrypted;         /* m.room.encryption seen */
	char *name;            /* m.room.name, may be NULL */
};
void room_clear(struct room *r);
/* Load a room; SC_ENOTFOUND if scribe never saw it. */
sc_err store_room_get(struct store *st, const char *room_id, struct room *out);
/*
 * old_room was upgraded to new_room (m.room.tombstone): its records move
 * to new_room (numbers are global, so none clash), with its time zone,
 * digest schedule and running meeting where new_room has none; old_room
 * keeps no digest, no meeting and counts as left. The kv keys
 * room.upgraded.OLD = NEW and room.upgrade_of.NEW = OLD remember it.
 */
sc_err store_room_upgrade(struct store *st, const char *old_room,
			  const char *new_room);
/* Insert or replace every field of r. */
sc_err store_room_put(struct store *st, const struct room *r);
/* Call cb for every room with joined_at != 0. */
typedef int (*room_cb)(const struct room *r, void *ctx);
sc_err store_rooms(struct store *st, room_cb cb, void *ctx);

/* Room members as the bot last saw them. */
struct member {
	const char *user_id;
	const char *display_name; /* may be NULL */
	const char *membership;   /* "join", "invite", "leave", "ban" */
	int power;                /* power level */
	int64_t last_spoke;       /* last message time, 0 = never */
};
/* Insert or update the member (keeps last_spoke). */
sc_err store_member_put(struct store *st, const char *room_id,
			const char *user_id, const char *display_name,
			const char *membership, int power);
/* Update only the power level of every listed user; others in the room
 * get default_power. users/levels have n entries. */
sc_err store_member_powers(struct store *st, const char *room_id,
			   const char *const *users, const int *levels,
			   size_t n, int default_power);
/* Record that user spoke at ts (for !catchup and meeting attendance). */
sc_err store_member_spoke(struct store *st, const char *room_id,
			  const char *user_id, int64_t ts);
/* Get one member; SC_ENOTFOUND if unknown. Strings in out are copies the
 * caller frees with member_clear. */
sc_err store_member_get(struct store *st, const char *room_id,
			const char *user_id, struct member *out);
void member_clear(struct member *m);
typedef int (*member_cb)(const struct member *m, void *ctx);
/* Every member of the room with membership "join" (and "invite" when
 * with_invited), ordered by user id. */
sc_err store_members(struct store *st, const char *room_id, int with_invited,
		     member_cb cb, void *ctx);
/*
 * Resolve a name typed in chat to a joined member's user id: "@elon"
 * or "elon" matches the localpart or display name (case-insensitive),
 * "@elon:example.org" must be a member. *out is a new string (caller
 * frees). SC_ENOTFOUND: nobody; SC_EAMBIGUOUS: more than one (and
 * *candidates, if not NULL, gets a new ", "-separated list of them).
 * Whole names win; when none matches, members whose localpart or
 * display name merely starts with name are no guess but candidates of
 * an SC_EAMBIGUOUS ("el" -> "@eli:x, @elon:x"). Case is ASCII-folded.
 */
sc_err store_member_resolve(struct store *st, const char *room_id,
			    const char *name, char **out, char **candidates);

/* Small persistent values (sync token, filter id, device id, ...).
 * store_kv_get: *out is a new string; SC_ENOTFOUND when unset. */
sc_err store_kv_get(struct store *st, const char *key, char **out);
sc_err store_kv_put(struct store *st, const char *key, const char *value);
sc_err store_kv_del(struct store *st, const char *key);

/* Mark a Matrix event as processed (with its sender, which edits are
 * checked against). SC_EEXISTS if it already was (a back-filled or
 * re-delivered event is then skipped). store_events_prune() drops rows
 * older than a time; nothing calls it yet, so the rows stay. */
sc_err store_event_seen(struct store *st, const char *event_id,
			const char *sender, int64_t ts);
/* Note that the seen event event_id is an edit (m.replace) of original. */
sc_err store_event_edit(struct store *st, const char *event_id,
			const char *original);
/* Who sent a seen event and what it edits (*edit_of NULL: no edit);
 * both new strings or NULL. SC_ENOTFOUND when not seen (or pruned). */
sc_err store_event_get(struct store *st, const char *event_id, char **sender,
		       char **edit_of);
sc_err store_events_prune(struct store *st, int64_t before);

/* ---- meeting notes and attendees (store_meeting.c) ---- */

/*
 * Meeting notes: what a meeting's minutes hold besides records, in the
 * order said. kind is one of
 *   topic, info, idea, link ("URL [text]"), help   MeetBot's items
 *   objective, requirement, strategy               Template A's lines
 *   metric                                         Template B's numbers
 *   chair, unchair, notetaker                      text: a user id
 *   carry                                          text: a short id
 *                                                  ("T5") carried over
 * (anything else: SC_EINVAL, the schema's check). A note remembers the
 * newest record id of the store when it was added (after), which
 * orders it among the records of its meeting.
 */
sc_err store_note_add(struct store *st, int64_t meeting, int64_t ts,
		      const char *author, const char *kind, const char *text);
struct note {
	int64_t ts;
	const char *author;
	const char *kind;
	const char *text;
	int64_t id;          /* row id, for store_note_withdraw */
	int64_t withdrawn;   /* when #undo took it back, 0 = it stands */
	int64_t after;       /* newest record id when it was written */
};
typedef int (*note_cb)(const struct note *n, void *ctx);
/* Every note of a meeting, withdrawn ones included, oldest first. */
sc_err store_notes(struct store *st, int64_t meeting, note_cb cb, void *ctx);
/* Take a note out of the minutes at ts (#undo); the row stays.
 * SC_ENOTFOUND when there is no such note or it is withdrawn already. */
sc_err store_note_withdraw(struct store *st, int64_t note, int64_t ts);
/* Attendees: everyone who spoke during the meeting, in order of first
 * word. Adding twice is harmless; this adds no line (#nick: present
 * without a word). */
sc_err store_attendee_add(struct store *st, int64_t meeting,
			  const char *user_id);
/* user_id said a line in the meeting at ts: an attendee from then on,
 * with one line more (MeetBot's "lines said"). */
sc_err store_attendee_line(struct store *st, int64_t meeting,
			   const char *user_id, int64_t ts);
sc_err store_attendees(struct store *st, int64_t meeting, str_cb cb,
		       void *ctx);
/* One attendee: lines said, time of the first (0 = not known: added
 * without a line, or by an import of an older export). */
struct attendee {
	const char *user_id;
	int64_t lines;
	int64_t first;
};
typedef int (*attendance_cb)(const struct attendee *a, void *ctx);
/* The attendees in order of first word, or with by_lines most lines
 * first (then in that order). */
sc_err store_attendance(struct store *st, int64_t meeting, int by_lines,
			attendance_cb cb, void *ctx);

/* ---- the outbox (store_outbox.c) ---- */

/*
 * The outbox: messages decided inside a transaction and sent after it
 * commits. txn_id is derived from the source event, so a resend after a
 * crash reuses it and the homeserver deduplicates. Adding an existing
 * txn_id is a no-op (SC_OK). content is a JSON text; record is the
 * record the message is about (0 = none) for store_reply_link.
 */
struct outbox_msg {
	int64_t seq;
	const char *txn_id;
	const char *room_id;
	const char *type;     /* event type, e.g. "m.room.message" */
	const char *content;  /* JSON text */
	int64_t record;
	int encrypted;        /* its room is encrypted (m.room.encryption) */
};
sc_err store_outbox_add(struct store *st, const char *txn_id,
			const char *room_id, const char *type,
			const char *content, int64_t record);
/* Replace the type and content of a queued message (encryption turns a
 * plaintext message into its m.room.encrypted form before sending). */
sc_err store_outbox_replace(struct store *st, int64_t seq, const char *type,
			    const char *content);
typedef int (*outbox_cb)(const struct outbox_msg *m, void *ctx);
/* Queued messages, oldest first (at most limit, 0 = all). */
sc_err store_outbox_pending(struct store *st, int limit, outbox_cb cb,
			    void *ctx);
/* The message was accepted by the homeserver as event_id: remove it and
 * link the reply to its record. */
sc_err store_outbox_done(struct store *st, int64_t seq, const char *event_id);
/* The newest queued message's seq (0 when the outbox is empty). */
sc_err store_outbox_last(struct store *st, int64_t *seq);

#endif
