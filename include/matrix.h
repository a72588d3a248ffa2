/* SPDX-License-Identifier: MIT */
/*
 * matrix.h - the Matrix client-server API (v3) over libcurl.
 *
 * Only src/matrix.c includes the curl header. One easy handle is reused
 * for every single request, so the connection to the homeserver stays
 * open; mx_call_many runs a batch of requests over up to
 * MX_PARALLEL_MAX more kept-alive connections (one curl multi handle).
 * curl_global_init runs once per process (mx_global_init from main).
 *
 * HTTP status and Matrix errcode are mapped to sc_err in exactly one
 * place (mx_call): 2xx SC_OK; transport failures (refused, reset,
 * timeout) SC_EHTTP; 5xx and non-JSON 502/504 pages SC_ESERVER; 429
 * SC_ERATELIMIT with m->retry_after_ms; M_UNKNOWN_TOKEN,
 * M_MISSING_TOKEN and a refused login SC_EAUTH; other 4xx SC_EMATRIX
 * with m->errcode / m->error set. mx_call_retry retries the transient
 * ones with exponential backoff and jitter (honouring retry_after_ms)
 * until it succeeds, hits a permanent error, or mx_stop() is called.
 *
 * The access token is held here only; it is never logged and is wiped
 * in mx_close.
 */
#ifndef SCRIBE_MATRIX_H
#define SCRIBE_MATRIX_H

#include <jansson.h>
#include <stdint.h>

#include "cmd.h"
#include "error.h"

#define MX_PARALLEL_MAX 16 /* requests in flight in mx_call_many */
/* A 429's retry_after_ms is honoured up to this (5 minutes). */
#define MX_RETRY_AFTER_MAX_MS 300000L

struct matrix {
	char *base;           /* homeserver base URL, no trailing slash */
	char *token;          /* access token, secret; NULL before login */
	char *user_id;
	char *device_id;
	char *ca_file;        /* CA certificates for https; NULL = libcurl's */
	long retry_after_ms;  /* from the last 429 */
	char errcode[64];     /* Matrix errcode of the last failure or "" */
	char error[256];      /* its human text */
	long status;          /* HTTP status of the last response, 0 = none */
	/* The last 401 was a user-interactive auth challenge: its session
	 * ("" when it was none) and whether m.login.password alone is a
	 * flow (the one scribe can answer). */
	char uia_session[128];
	int uia_password;
	int max_attempts;     /* mx_call_retry: 0 = until stopped */
	long request_timeout_ms; /* for calls given timeout 0 (default 30 s) */
	long backoff_ms;      /* mx_call_retry: first back-off, doubled per
	                         failure up to a minute (default 250) */
	/* While wake_armed, wake(wake_ctx) is asked about twice a second
	 * during the request; non-zero ends it early and mx_call returns
	 * SC_EAGAIN (the bot arms it around /sync to notice work queued by
	 * another process, e.g. `scribe log`). */
	int (*wake)(void *ctx);
	void *wake_ctx;
	int wake_armed;
	int woken;            /* set when wake ended the last call */
	int64_t wake_checked; /* monotonic ms of the last wake() call */
	void *curl;           /* the CURL easy handle */
	void *multi;          /* CURLM of mx_call_many, made on first use */
	void *pool[MX_PARALLEL_MAX]; /* its easy handles */
};

/* libcurl's version and features, e.g. "libcurl/8.14.1 mbedTLS/3.6.6". */
const char *mx_library_version(void);

/* Once per process, before any other call. */
sc_err mx_global_init(void);
void mx_global_cleanup(void);

sc_err mx_open(const char *base_url, struct matrix **out);
void mx_close(struct matrix *m);
/* Set the access token (copied; wiped on close). */
sc_err mx_set_token(struct matrix *m, const char *token);

/* Trust the CA certificates in the PEM file path (copied) instead of
 * libcurl's default bundle; NULL goes back to the default. */
sc_err mx_set_ca_file(struct matrix *m, const char *path);

/* Ask every request in flight to stop and mx_call_retry to give up with
 * SC_EINTR. Async-signal-safe. */
void mx_stop(void);
int mx_stopping(void);

/*
 * One request. path is below the base URL, already percent-encoded
 * (build it with mx_path). body is sent as JSON when not NULL (borrowed).
 * On success *out (if out is not NULL) is the parsed response object (a
 * new reference). timeout_ms bounds the whole request; 0 means the
 * handle's request_timeout_ms.
 */
sc_err mx_call(struct matrix *m, const char *method, const char *path,
	       json_t *body, long timeout_ms, json_t **out);
/* mx_call with retries of transient failures (see above). */
sc_err mx_call_retry(struct matrix *m, const char *method, const char *path,
		     json_t *body, long timeout_ms, json_t **out);

/* One request of a batch for mx_call_many. */
struct mx_req {
	const char *method; /* NULL: skipped, err left as it is */
	const char *path;   /* as for mx_call */
	const char *body;   /* JSON text or NULL; borrowed */
	const char *key;    /* requests with equal keys run one at a time, in
	                       the order given (the room: replies stay in order) */
	sc_err err;         /* SC_OK sent; SC_EMATRIX refused for good (4xx,
	                       errcode/error say why); SC_EAGAIN not finished */
	json_t *resp;       /* the response object when err is SC_OK (a new
	                       reference for the caller to release) */
	char errcode[64];
	char error[256];
};

/*
 * Run the requests with up to parallel (1..MX_PARALLEL_MAX) of them in
 * flight at once, each retried like mx_call_retry until it is sent or
 * refused for good; equal keys keep their order. Returns SC_OK when
 * every request finished (see each err), or the error that stopped the
 * batch (SC_EAUTH, SC_EINTR on mx_stop, SC_ENOMEM, or a transient one
 * after max_attempts): requests still at SC_EAGAIN were not finished
 * and may or may not have reached the server.
 */
sc_err mx_call_many(struct matrix *m, struct mx_req *reqs, int n, int parallel);

/*
 * mx_call_many in steps, so a batch travels while the caller works:
 * mx_many_start sets it up (reqs must live until mx_many_end); each
 * mx_many_step starts what it may, lets curl move the transfers on and
 * collects finished ones, waiting up to 100 ms for progress only when
 * block is set; it returns non-zero while requests are left and no
 * error stopped the batch. mx_many_end releases it and returns what
 * mx_call_many would have. One batch at a time per struct matrix; the
 * single-request calls (mx_call) may run between steps.
 */
struct mx_many;
sc_err mx_many_start(struct matrix *m, struct mx_req *reqs, int n,
		     int parallel, struct mx_many **out);
int mx_many_step(struct matrix *m, struct mx_many *mm, int block);
sc_err mx_many_end(struct matrix *m, struct mx_many *mm);
/*
 * Hand a started batch to a thread of its own, which steps it until it
 * is over: replies travel while the caller works or waits on another
 * request. mx_many_step then only says whether the thread still works
 * (with block, it waits until the thread is done: 0), and
 * mx_many_end stops and joins it. The thread uses m's multi handle and
 * pool, and a copy of m's settings for its errcode and status, so m's
 * single-request calls may run meanwhile; mx_many_end copies the
 * batch's errcode, error and status back into m. m's token, base and
 * CA file must not change until mx_many_end.
 */
sc_err mx_many_detach(struct matrix *m, struct mx_many *mm);

/*
 * Build "/_matrix/client/v3" + fmt into sb, where each %s in fmt is
 * replaced by the next argument percent-encoded as one path segment
 * (only %s is supported).
 */
sc_err mx_path(struct sbuf *sb, const char *fmt, ...);

/* POST /login with m.login.password; on success the token, user id and
 * device id are set on m. device_id may be NULL for a new device. */
sc_err mx_login(struct matrix *m, const char *user, const char *password,
		const char *device_id, const char *device_name);
/* GET /account/whoami: sets m->user_id and m->device_id. */
sc_err mx_whoami(struct matrix *m);

/*
 * Most bytes of a message content scribe sends, as JSON. Synapse refuses
 * an event over 65,536 bytes (the whole PDU, after encryption in an
 * encrypted room: Megolm and base64 make the content about 4/3 larger,
 * and the envelope adds a kilobyte), so this leaves room for both.
 */
#define MX_CONTENT_MAX 40000

/*
 * Make the JSON of a message content at most max bytes: the HTML body
 * goes first, then the plain body is cut at a character boundary with a
 * note saying so. Returns 1 when it changed content, 0 when it already
 * fitted, -1 when out of memory.
 */
int mx_fit_content(json_t *content, size_t max);

/*
 * Older servers' push rules highlight anyone whose name or localpart is a
 * word of a message's body. In content's body, break each whole-word,
 * case-insensitive occurrence of the n words with a word joiner (U+2060,
 * invisible) after its first character. Returns 1 when it changed the
 * body, 0 when not, -1 when out of memory.
 */
int mx_defuse_words(json_t *content, const char *const *words, size_t n);

/*
 * The content of a reply: m.notice (or m.text with m.mentions naming
 * exactly r->mentions when it pings), plain body, HTML formatted_body,
 * m.relates_to.m.in_reply_to = in_reply_to (may be NULL) and, when
 * thread_root is set, rel_type m.thread with is_falling_back. A new
 * reference.
 */
json_t *mx_reply_content(const struct reply *r, const char *in_reply_to,
			 const char *thread_root);

/* Deterministic transaction id for a message caused by event_id. kind
 * separates several messages caused by one event ("r" reply, "e" edit
 * reply). Written into sb. */
sc_err mx_txn_id(struct sbuf *sb, const char *kind, const char *event_id);

#endif
