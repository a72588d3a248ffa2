/* SPDX-License-Identifier: MIT */
/* error.c - names for the sc_err values (see error.h). */
#include "error.h"
#include "banned.h"

const char *sc_strerror(sc_err err)
{
	switch (err) {
	case SC_OK: return "success";
	case SC_ENOMEM: return "out of memory";
	case SC_EINVAL: return "invalid input";
	case SC_ETOOBIG: return "too large";
	case SC_ENOTFOUND: return "not found";
	case SC_EAMBIGUOUS: return "ambiguous";
	case SC_EPERM: return "permission denied";
	case SC_ESTORE: return "store error";
	case SC_EBUSY: return "store is locked";
	case SC_EIO: return "i/o error";
	case SC_ECONFIG: return "invalid configuration";
	case SC_EHTTP: return "connection failed";
	case SC_ESERVER: return "homeserver error";
	case SC_ERATELIMIT: return "rate limited";
	case SC_EAUTH: return "authentication failed";
	case SC_EMATRIX: return "request refused by homeserver";
	case SC_ECRYPTO: return "encryption error";
	case SC_EEXISTS: return "already exists";
	case SC_ESTATE: return "not allowed in this state";
	case SC_EINTR: return "interrupted";
	case SC_EAGAIN: return "woken up";
	}
	return "unknown error";
}
