/* SPDX-License-Identifier: MIT */
/*
 * store_int.h - what the store's other source files (store_crypto.c,
 * store_admin.c) share with store.c. Private to src/store*: it includes
 * <sqlite3.h>, which nothing outside the store may see (make lint).
 */
#ifndef SCRIBE_STORE_INT_H
#define SCRIBE_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* Migration 2: the end-to-end encryption tables (store_crypto.c). */
extern const char store_schema_v2[];
/* The reminders migration (store_remind.c). */
extern const char store_schema_remind[];
/* Keep record r's reminders in line with it (store_remind.c): called by
 * store_record_add (old NULL, now = r->created) and store_record_update
 * (old = the stored row before the change) inside their transaction. */
sc_err store_remind_sync(struct store *st, const struct record *old,
			 const struct record *r, int64_t now);
/* Room old_room's records moved to new_room (store_room_upgrade): so do
 * their reminders, and its alert settings where new_room has none. */
sc_err store_remind_room_move(struct store *st, const char *old_room,
			      const char *new_room);

/* The connection, for statements of the store's other files. */
sqlite3 *store_sqlite(struct store *st);
/* Set the store's message (store_errmsg) and return err. */
sc_err store_fail(struct store *st, sc_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "what: <sqlite's message>" for rc, mapped to an sc_err (SC_EBUSY,
 * SC_EEXISTS for a UNIQUE conflict, SC_EINVAL for a CHECK, ...). Call it
 * right after the failing call. */
sc_err store_dberr(struct store *st, int rc, const char *what);
/* A prepared statement for sql, cached by the string's address (pass a
 * string literal), or a private one when the cached statement is being
 * stepped further up the stack (or the cache is full). Give it back with
 * store_stmt_put, which resets it and clears its bindings (or finalizes
 * a private one). */
sc_err store_stmt_get(struct store *st, const char *sql, sqlite3_stmt **out);
void store_stmt_put(struct store *st, sqlite3_stmt *s);
/* Run SQL without parameters. */
sc_err store_exec(struct store *st, const char *sql);
/* The validation store_record_add applies (UTF-8, kind, status, ...). */
sc_err store_record_check(struct store *st, const struct record *r);

#endif
