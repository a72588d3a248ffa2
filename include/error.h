/* SPDX-License-Identifier: MIT */
/*
 * error.h - the one error enum of scribe.
 *
 * Every fallible function returns an sc_err. SC_OK is zero so that
 * `if (err)` reads naturally. Values are only ever appended, never
 * renumbered: they appear in logs and in exit codes of the admin CLI.
 */
#ifndef SCRIBE_ERROR_H
#define SCRIBE_ERROR_H

typedef enum sc_err {
	SC_OK = 0,
	SC_ENOMEM,        /* allocation failed */
	SC_EINVAL,        /* bad input from a user, a file or the network */
	SC_ETOOBIG,       /* a buffer would grow past its hard maximum */
	SC_ENOTFOUND,     /* the thing asked for does not exist */
	SC_EAMBIGUOUS,    /* a name matches more than one thing */
	SC_EPERM,         /* the sender lacks the power level for this */
	SC_ESTORE,        /* sqlite failed (see the store's last message) */
	SC_EBUSY,         /* the store is locked by another process */
	SC_EIO,           /* a file could not be read or written */
	SC_ECONFIG,       /* bot.conf is invalid */
	SC_EHTTP,         /* transport failure: refused, reset, timeout */
	SC_ESERVER,       /* the homeserver answered 5xx */
	SC_ERATELIMIT,    /* 429 M_LIMIT_EXCEEDED; retry_after_ms says when */
	SC_EAUTH,         /* M_UNKNOWN_TOKEN / M_MISSING_TOKEN / M_FORBIDDEN login */
	SC_EMATRIX,       /* any other Matrix error answer (4xx) */
	SC_ECRYPTO,       /* an olm/megolm operation failed */
	SC_EEXISTS,       /* already exists (duplicate event, key, id) */
	SC_ESTATE,        /* the record is not in a state that allows this */
	SC_EINTR,         /* interrupted by a signal; finish and exit */
	SC_EAGAIN,        /* a long-poll ended early on purpose; ask again */
} sc_err;

/* Short lowercase name of err for messages; never NULL, static storage. */
const char *sc_strerror(sc_err err);

#endif
