/* SPDX-License-Identifier: MIT */
/*
 * matrix.c - the Matrix client-server API over one reused libcurl easy
 * handle (see matrix.h). This is the only file that includes curl, and
 * the one place where HTTP statuses and Matrix errcodes become sc_err.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "matrix.h"
#include "banned.h"

#define BODY_MAX ((size_t)256 << 20) /* a /sync can be large, not unbounded */

static volatile sig_atomic_t stop_flag;

void mx_stop(void)
{
	stop_flag = 1;
}

int mx_stopping(void)
{
	return stop_flag != 0;
}

sc_err mx_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SC_OK : SC_ENOMEM;
}

void mx_global_cleanup(void)
{
	curl_global_cleanup();
}

sc_err mx_open(const char *base_url, struct matrix **out)
{
	struct matrix *m = calloc(1, sizeof(*m));
	size_t n;

	if (!m)
		return SC_ENOMEM;
	m->base = strdup(base_url);
	m->curl = curl_easy_init();
	if (!m->base || !m->curl) {
		mx_close(m);
		return SC_ENOMEM;
	}
	m->backoff_ms = 250;
	m->request_timeout_ms = 30000;
	n = strlen(m->base);
	while (n && m->base[n - 1] == '/')
		m->base[--n] = '\0';
	*out = m;
	return SC_OK;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	for (volatile char *p = s; *p; p++)
		*p = 0;
	free(s);
}

void mx_close(struct matrix *m)
{
	if (!m)
		return;
	if (m->curl)
		curl_easy_cleanup(m->curl);
	wipe_free(m->token);
	free(m->base);
	free(m->user_id);
	free(m->device_id);
	free(m);
}

sc_err mx_set_token(struct matrix *m, const char *token)
{
	char *t = strdup(token);
	if (!t)
		return SC_ENOMEM;
	wipe_free(m->token);
	m->token = t;
	return SC_OK;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct sbuf *sb = ctx;
	size_t n = size * nmemb;
	return sbuf_add(sb, data, n) == SC_OK ? n : 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libcurl calls this often while a request runs (at least once a
 * second when idle): stop on a signal, end early when woken. */
static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	struct matrix *m = ctx;
	int64_t now;

	(void)a; (void)b; (void)c; (void)d;
	if (stop_flag)
		return 1;
	if (!m->wake || !m->wake_armed)
		return 0;
	now = mono_ms();
	if (now - m->wake_checked < 500)
		return 0;
	m->wake_checked = now;
	if (!m->wake(m->wake_ctx))
		return 0;
	m->woken = 1;
	return 1;
}

sc_err mx_path(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	sc_err err = sbuf_puts(sb, "/_matrix/client/v3");

	va_start(ap, fmt);
	for (const char *p = fmt; *p && !err; p++) {
		if (p[0] == '%' && p[1] == 's') {
			err = sbuf_urlenc(sb, va_arg(ap, const char *));
			p++;
		} else {
			err = sbuf_putc(sb, *p);
		}
	}
	va_end(ap);
	return err;
}

/* Map a finished response to an sc_err; keeps errcode/error. */
static sc_err map_status(struct matrix *m, long status, json_t *body)
{
	const char *code = NULL, *msg = NULL;
	json_int_t retry = -1;

	m->errcode[0] = m->error[0] = '\0';
	if (status >= 200 && status < 300)
		return SC_OK;
	if (json_is_object(body)) {
		json_t *ra;
		code = json_string_value(json_object_get(body, "errcode"));
		msg = json_string_value(json_object_get(body, "error"));
		ra = json_object_get(body, "retry_after_ms");
		if (json_is_integer(ra))
			retry = json_integer_value(ra);
	}
	snprintf(m->errcode, sizeof(m->errcode), "%s", code ? code : "");
	snprintf(m->error, sizeof(m->error), "%s", msg ? msg : "");
	if (status == 429 || (code && !strcmp(code, "M_LIMIT_EXCEEDED"))) {
		m->retry_after_ms = retry >= 0 ? (long)retry : 1000;
		return SC_ERATELIMIT;
	}
	if (status >= 500)
		return SC_ESERVER;
	if (code && (!strcmp(code, "M_UNKNOWN_TOKEN") ||
		     !strcmp(code, "M_MISSING_TOKEN")))
		return SC_EAUTH;
	return SC_EMATRIX;
}

sc_err mx_call(struct matrix *m, const char *method, const char *path,
	       json_t *body, long timeout_ms, json_t **out)
{
	struct curl_slist *hdrs = NULL;
	struct sbuf url, resp, auth;
	char *payload = NULL;
	json_t *parsed = NULL;
	json_error_t jerr;
	CURLcode rc;
	long status = 0;
	sc_err err = SC_ENOMEM;

	sbuf_init(&url, 0);
	sbuf_init(&resp, BODY_MAX);
	sbuf_init(&auth, 0);
	m->status = 0;
	if (stop_flag)
		return SC_EINTR;
	if (timeout_ms <= 0)
		timeout_ms = m->request_timeout_ms;
	if (sbuf_puts(&url, m->base) || sbuf_puts(&url, path))
		goto out;
	if (m->token) {
		if (sbuf_puts(&auth, "Authorization: Bearer ") || sbuf_puts(&auth, m->token))
			goto out;
		hdrs = curl_slist_append(hdrs, auth.buf);
		if (!hdrs)
			goto out;
	}
	if (body) {
		struct curl_slist *h2;
		payload = json_dumps(body, JSON_COMPACT);
		h2 = curl_slist_append(hdrs, "Content-Type: application/json");
		if (!payload || !h2)
			goto out;
		hdrs = h2;
	}
	curl_easy_reset(m->curl);
	curl_easy_setopt(m->curl, CURLOPT_URL, url.buf);
	curl_easy_setopt(m->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(m->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(m->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(m->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(m->curl, CURLOPT_XFERINFODATA, m);
	curl_easy_setopt(m->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->curl, CURLOPT_USERAGENT, "scribe/0.1");
	curl_easy_setopt(m->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (payload) {
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	} else if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDS, "{}");
	}
	m->woken = 0;
	m->wake_checked = mono_ms();
	rc = curl_easy_perform(m->curl);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		err = m->woken ? SC_EAGAIN : SC_EINTR;
		goto out;
	}
	if (rc != CURLE_OK) {
		log_warn("%s %s: %s", method, path, curl_easy_strerror(rc));
		err = SC_EHTTP;
		goto out;
	}
	curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &status);
	m->status = status;
	parsed = json_loadb(resp.buf, resp.len, JSON_REJECT_DUPLICATES, &jerr);
	err = map_status(m, status, parsed);
	if (err) {
		if (err != SC_ERATELIMIT)
			log_warn("%s %s: %ld %s %s", method, path, status,
				 m->errcode[0] ? m->errcode : "(no json)", m->error);
		goto out;
	}
	if (!json_is_object(parsed)) {
		log_warn("%s %s: response is not a json object: %s", method, path,
			 parsed ? "wrong type" : jerr.text);
		err = SC_ESERVER;
		goto out;
	}
	if (out) {
		*out = parsed;
		parsed = NULL;
	}
out:
	json_decref(parsed);
	free(payload);
	curl_slist_free_all(hdrs);
	sbuf_release(&url);
	sbuf_release(&resp);
	sbuf_wipe(&auth);
	return err;
}

/* Sleep ms milliseconds in short slices so a stop is noticed quickly. */
static void nap(long ms)
{
	while (ms > 0 && !stop_flag) {
		long slice = ms > 100 ? 100 : ms;
		struct timespec ts = { 0, slice * 1000000L };
		nanosleep(&ts, NULL);
		ms -= slice;
	}
}

/* Uniform in [0, n) from the kernel; jitter only, no secrecy needed. */
static long jitter(long n)
{
	unsigned long r = 0;
	if (n <= 0)
		return 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned long)time(NULL);
	return (long)(r % (unsigned long)n);
}

sc_err mx_call_retry(struct matrix *m, const char *method, const char *path,
		     json_t *body, long timeout_ms, json_t **out)
{
	long backoff = m->backoff_ms > 0 ? m->backoff_ms : 250;
	int attempt = 0;

	for (;;) {
		sc_err err = mx_call(m, method, path, body, timeout_ms, out);
		long wait;

		attempt++;
		if (err != SC_EHTTP && err != SC_ESERVER && err != SC_ERATELIMIT)
			return err;
		if (m->max_attempts && attempt >= m->max_attempts)
			return err;
		if (err == SC_ERATELIMIT) {
			wait = m->retry_after_ms;
			log_info("rate limited; retrying in %ld ms", wait);
		} else {
			/* full jitter: anywhere up to the current backoff */
			wait = backoff / 2 + jitter(backoff / 2 + 1);
			backoff = backoff >= 30000 ? 60000 : backoff * 2;
			log_info("%s; retrying in %ld ms", sc_strerror(err), wait);
		}
		nap(wait);
		if (stop_flag)
			return SC_EINTR;
	}
}

/* Copy a string member of obj into *dst (freeing the old value). */
static sc_err take_str(json_t *obj, const char *key, char **dst)
{
	const char *v = json_string_value(json_object_get(obj, key));
	char *s;

	if (!v)
		return SC_EINVAL;
	s = strdup(v);
	if (!s)
		return SC_ENOMEM;
	free(*dst);
	*dst = s;
	return SC_OK;
}

sc_err mx_login(struct matrix *m, const char *user, const char *password,
		const char *device_id, const char *device_name)
{
	json_t *req, *resp = NULL;
	struct sbuf path;
	sc_err err;

	req = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s?, s:s?}",
			"type", "m.login.password",
			"identifier", "type", "m.id.user", "user", user,
			"password", password,
			"device_id", device_id,
			"initial_device_display_name", device_name);
	if (!req)
		return SC_ENOMEM;
	sbuf_init(&path, 0);
	err = mx_path(&path, "/login");
	if (!err)
		err = mx_call_retry(m, "POST", path.buf, req, 30000, &resp);
	if (err == SC_EMATRIX && !strcmp(m->errcode, "M_FORBIDDEN"))
		err = SC_EAUTH;
	if (!err) {
		const char *tok = json_string_value(json_object_get(resp, "access_token"));
		err = tok ? mx_set_token(m, tok) : SC_EINVAL;
		if (!err)
			err = take_str(resp, "user_id", &m->user_id);
		if (!err)
			err = take_str(resp, "device_id", &m->device_id);
	}
	/* the request held the password: wipe it before freeing */
	{
		json_t *pw = json_object_get(req, "password");
		const char *p = json_string_value(pw);
		if (p)
			for (volatile char *c = (volatile char *)(uintptr_t)p; *c; c++)
				*c = 0;
	}
	json_decref(req);
	json_decref(resp);
	sbuf_release(&path);
	return err;
}

sc_err mx_whoami(struct matrix *m)
{
	json_t *resp = NULL;
	struct sbuf path;
	sc_err err;

	sbuf_init(&path, 0);
	err = mx_path(&path, "/account/whoami");
	if (!err)
		err = mx_call_retry(m, "GET", path.buf, NULL, 30000, &resp);
	if (!err)
		err = take_str(resp, "user_id", &m->user_id);
	if (!err && json_object_get(resp, "device_id"))
		err = take_str(resp, "device_id", &m->device_id);
	json_decref(resp);
	sbuf_release(&path);
	return err;
}

json_t *mx_reply_content(const struct reply *r, const char *in_reply_to,
			 const char *thread_root)
{
	json_t *c, *rel = NULL, *mentions, *users;

	c = json_pack("{s:s, s:s, s:s, s:s}",
		      "msgtype", r->nmentions ? "m.text" : "m.notice",
		      "body", r->body.buf,
		      "format", "org.matrix.custom.html",
		      "formatted_body", r->html.buf);
	users = json_array();
	mentions = json_object();
	if (!c || !users || !mentions)
		goto fail;
	for (size_t i = 0; i < r->nmentions; i++)
		if (json_array_append_new(users, json_string(r->mentions[i])))
			goto fail;
	/* m.mentions is always present: an empty one pings nobody, not
	 * even the author of the message replied to. */
	if (r->nmentions && json_object_set(mentions, "user_ids", users))
		goto fail;
	if (json_object_set_new(c, "m.mentions", mentions)) {
		mentions = NULL;
		goto fail;
	}
	mentions = NULL;
	if (in_reply_to) {
		if (thread_root)
			rel = json_pack("{s:s, s:s, s:b, s:{s:s}}", "rel_type", "m.thread",
					"event_id", thread_root, "is_falling_back", 1,
					"m.in_reply_to", "event_id", in_reply_to);
		else
			rel = json_pack("{s:{s:s}}", "m.in_reply_to", "event_id", in_reply_to);
		if (!rel || json_object_set_new(c, "m.relates_to", rel))
			goto fail;
	}
	json_decref(users);
	return c;
fail:
	json_decref(c);
	json_decref(users);
	json_decref(mentions);
	return NULL;
}

sc_err mx_txn_id(struct sbuf *sb, const char *kind, const char *event_id)
{
	/* scribe.<kind>.<event id without its sigil>: the same source
	 * event always gives the same id, so a resend after a crash is
	 * deduplicated by the homeserver. */
	sc_err err = sbuf_printf(sb, "scribe.%s.", kind);
	if (!err)
		err = sbuf_puts(sb, event_id[0] == '$' ? event_id + 1 : event_id);
	return err;
}
