/* SPDX-License-Identifier: MIT */
/*
 * matrix.c - the Matrix client-server API over one reused libcurl easy
 * handle (see matrix.h). This is the only file that includes curl, and
 * the one place where HTTP statuses and Matrix errcodes become sc_err.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "matrix.h"
#include "utf8.h"
#include "wirejson.h"
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

const char *mx_library_version(void)
{
	return curl_version();
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
	if (m->multi)
		curl_multi_cleanup(m->multi);
	for (int k = 0; k < MX_PARALLEL_MAX; k++)
		if (m->pool[k])
			curl_easy_cleanup(m->pool[k]);
	wipe_free(m->token);
	free(m->ca_file);
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

sc_err mx_set_ca_file(struct matrix *m, const char *path)
{
	char *p = NULL;

	if (path && !(p = strdup(path)))
		return SC_ENOMEM;
	free(m->ca_file);
	m->ca_file = p;
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

/*
 * A 401 that asks for user-interactive auth ({"session", "flows", ...},
 * perhaps with M_FORBIDDEN after a wrong password): keep the session and
 * say in error what it wants. 0 when body is no such challenge.
 */
static int uia_challenge(struct matrix *m, json_t *body)
{
	json_t *flows = json_object_get(body, "flows"), *flow;
	const char *session = json_string_value(json_object_get(body, "session"));
	const char *code = json_string_value(json_object_get(body, "errcode"));
	const char *msg = json_string_value(json_object_get(body, "error"));
	struct sbuf what;
	size_t i;

	if (!json_is_array(flows) || !session)
		return 0;
	snprintf(m->uia_session, sizeof(m->uia_session), "%s", session);
	snprintf(m->errcode, sizeof(m->errcode), "%s", code ? code : "");
	sbuf_init(&what, sizeof(m->error) - 1);
	sbuf_puts(&what, msg ? msg : "user-interactive auth required");
	sbuf_puts(&what, " (flows:");
	json_array_foreach(flows, i, flow) {
		json_t *stages = json_object_get(flow, "stages"), *st;
		size_t k;

		sbuf_puts(&what, i ? "; " : " ");
		json_array_foreach(stages, k, st)
			sbuf_printf(&what, "%s%s", k ? " + " : "",
				    json_string_value(st) ? json_string_value(st) : "?");
		if (json_array_size(stages) == 1 && json_string_value(json_array_get(stages, 0)) &&
		    !strcmp(json_string_value(json_array_get(stages, 0)), "m.login.password"))
			m->uia_password = 1;
	}
	sbuf_puts(&what, ")");
	snprintf(m->error, sizeof(m->error), "%s", what.buf);
	sbuf_release(&what);
	return 1;
}

/* Map a finished response to an sc_err; keeps errcode/error. */
static sc_err map_status(struct matrix *m, long status, json_t *body)
{
	const char *code = NULL, *msg = NULL;
	json_int_t retry = -1;

	m->errcode[0] = m->error[0] = '\0';
	m->uia_session[0] = '\0';
	m->uia_password = 0;
	if (status >= 200 && status < 300)
		return SC_OK;
	if (status == 401 && uia_challenge(m, body))
		return SC_EMATRIX;
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
		/* a server asking for hours (or 10^20 ms) gets minutes */
		m->retry_after_ms = retry < 0 ? 1000 :
				    retry > MX_RETRY_AFTER_MAX_MS ? MX_RETRY_AFTER_MAX_MS :
				    (long)retry;
		return SC_ERATELIMIT;
	}
	if (status >= 500)
		return SC_ESERVER;
	if (code && (!strcmp(code, "M_UNKNOWN_TOKEN") ||
		     !strcmp(code, "M_MISSING_TOKEN")))
		return SC_EAUTH;
	return SC_EMATRIX;
}

/* One transfer's buffers; they live until the response is read. */
struct xfer {
	struct curl_slist *hdrs;
	struct sbuf url, resp, auth;
	char *owned; /* the JSON body when mx_call made it */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail of a failure */
};

static void xfer_init(struct xfer *x)
{
	x->hdrs = NULL;
	x->owned = NULL;
	x->errbuf[0] = '\0';
	sbuf_init(&x->url, 0);
	sbuf_init(&x->resp, BODY_MAX);
	sbuf_init(&x->auth, 0);
}

/* h (the handle x was set up on) must stop pointing at x's buffers. */
static void xfer_release(void *h, struct xfer *x)
{
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	free(x->owned);
	x->owned = NULL;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	sbuf_release(&x->url);
	sbuf_release(&x->resp);
	sbuf_wipe(&x->auth);
}

/* Set the easy handle h up for one request; payload (JSON text or NULL)
 * must outlive the transfer. */
static sc_err xfer_setup(struct matrix *m, void *h, struct xfer *x,
			 const char *method, const char *path,
			 const char *payload, long timeout_ms)
{
	if (timeout_ms <= 0)
		timeout_ms = m->request_timeout_ms;
	if (sbuf_puts(&x->url, m->base) || sbuf_puts(&x->url, path))
		return SC_ENOMEM;
	if (m->token) {
		if (sbuf_puts(&x->auth, "Authorization: Bearer ") ||
		    sbuf_puts(&x->auth, m->token))
			return SC_ENOMEM;
		x->hdrs = curl_slist_append(x->hdrs, x->auth.buf);
		if (!x->hdrs)
			return SC_ENOMEM;
	}
	if (payload) {
		struct curl_slist *h2 = curl_slist_append(x->hdrs,
			"Content-Type: application/json");
		if (!h2)
			return SC_ENOMEM;
		x->hdrs = h2;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, x->url.buf);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->resp);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, m);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "scribe/0.1");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	if (m->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, m->ca_file);
	if (payload) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	} else if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
	}
	return SC_OK;
}

/* The outcome of a finished transfer: rc from curl, then the status
 * and body; on success *out (if out) is the response object. */
static sc_err xfer_result(struct matrix *m, void *h, struct xfer *x, int rc,
			  const char *method, const char *path, json_t **out)
{
	json_t *parsed;
	json_error_t jerr;
	long status = 0;
	sc_err err;

	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return m->woken ? SC_EAGAIN : SC_EINTR;
	if (rc != CURLE_OK) {
		/* the error buffer says which host, which certificate... */
		log_warn("%s %s: %s%s%s%s", method, path,
			 curl_easy_strerror((CURLcode)rc), x->errbuf[0] ? " (" : "",
			 x->errbuf, x->errbuf[0] ? ")" : "");
		return SC_EHTTP;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	m->status = status;
	/* one hostile event must not make the whole body unreadable */
	parsed = wire_json_loadb(x->resp.buf, x->resp.len, 0, &jerr);
	err = map_status(m, status, parsed);
	if (err) {
		if (err != SC_ERATELIMIT)
			log_warn("%s %s: %ld %s%s%s", method, path, status,
				 m->errcode[0] ? m->errcode : parsed ? "" : "(no json)",
				 m->errcode[0] || !parsed ? " " : "", m->error);
	} else if (!json_is_object(parsed)) {
		log_warn("%s %s: response is not a json object: %s", method, path,
			 parsed ? "wrong type" : jerr.text);
		err = SC_ESERVER;
	} else if (out) {
		*out = parsed;
		parsed = NULL;
	}
	json_decref(parsed);
	return err;
}

sc_err mx_call(struct matrix *m, const char *method, const char *path,
	       json_t *body, long timeout_ms, json_t **out)
{
	struct xfer x;
	sc_err err = SC_ENOMEM;

	m->status = 0;
	if (stop_flag)
		return SC_EINTR;
	xfer_init(&x);
	if (body && !(x.owned = json_dumps(body, JSON_COMPACT)))
		goto out;
	err = xfer_setup(m, m->curl, &x, method, path, x.owned, timeout_ms);
	if (err)
		goto out;
	m->woken = 0;
	m->wake_checked = mono_ms();
	err = xfer_result(m, m->curl, &x, curl_easy_perform(m->curl), method,
			  path, out);
out:
	xfer_release(m->curl, &x);
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

static int transient(sc_err err)
{
	return err == SC_EHTTP || err == SC_ESERVER || err == SC_ERATELIMIT;
}

/* How long to wait before retrying after the transient err: the
 * server's retry_after_ms for a 429, else full jitter up to *backoff,
 * which doubles (up to a minute). */
static long retry_wait(struct matrix *m, sc_err err, long *backoff)
{
	long wait;

	if (err == SC_ERATELIMIT) {
		wait = m->retry_after_ms;
		log_info("rate limited; retrying in %ld ms", wait);
	} else {
		wait = *backoff / 2 + jitter(*backoff / 2 + 1);
		*backoff = *backoff >= 30000 ? 60000 : *backoff * 2;
		log_info("%s; retrying in %ld ms", sc_strerror(err), wait);
	}
	return wait;
}

sc_err mx_call_retry(struct matrix *m, const char *method, const char *path,
		     json_t *body, long timeout_ms, json_t **out)
{
	long backoff = m->backoff_ms > 0 ? m->backoff_ms : 250;
	int attempt = 0;

	for (;;) {
		sc_err err = mx_call(m, method, path, body, timeout_ms, out);

		attempt++;
		if (!transient(err))
			return err;
		if (m->max_attempts && attempt >= m->max_attempts)
			return err;
		nap(retry_wait(m, err, &backoff));
		if (stop_flag)
			return SC_EINTR;
	}
}

/* A request of mx_call_many while it runs or waits for a retry. */
struct slot {
	void *h;          /* easy handle, from m->pool */
	struct xfer x;
	int req;          /* index into reqs, -1 = free */
};

/* The request each one waits for: the previous one with the same key,
 * or -1. */
static int *order_by_key(struct mx_req *reqs, int n)
{
	int *prev = malloc((size_t)(n ? n : 1) * sizeof(*prev));

	if (!prev)
		return NULL;
	for (int i = 0; i < n; i++) {
		prev[i] = -1;
		for (int j = i - 1; j >= 0 && reqs[i].method; j--)
			if (reqs[j].method && !strcmp(reqs[j].key, reqs[i].key)) {
				prev[i] = j;
				break;
			}
	}
	return prev;
}

static sc_err slot_start(struct matrix *m, struct slot *sl, struct mx_req *r,
			 int i)
{
	sc_err err;

	xfer_init(&sl->x);
	err = xfer_setup(m, sl->h, &sl->x, r->method, r->path, r->body, 0);
	if (!err && curl_multi_add_handle(m->multi, sl->h) != CURLM_OK)
		err = SC_ENOMEM;
	if (err) {
		xfer_release(sl->h, &sl->x);
		return err;
	}
	sl->req = i;
	return SC_OK;
}

static void slot_stop(struct matrix *m, struct slot *sl)
{
	curl_multi_remove_handle(m->multi, sl->h);
	xfer_release(sl->h, &sl->x);
	sl->req = -1;
}

/* A batch of mx_call_many in flight (see mx_many_start). */
struct mx_many {
	struct mx_req *reqs;
	int n, parallel;
	struct slot slots[MX_PARALLEL_MAX];
	int64_t *at;      /* per request: when it may (re)start; -1 running */
	long *backoff;
	int *attempts;
	int *prev;        /* order_by_key */
	int left, running;
	sc_err fatal;
	/* mx_many_detach: the thread that steps the batch, and the view of
	 * the struct matrix it works with (its own errcode, status, ...) */
	int detached;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int busy;   /* the thread still steps the batch (under lock) */
	int cancel; /* mx_many_end asks it to stop (under lock) */
	struct matrix view;
};

sc_err mx_many_start(struct matrix *m, struct mx_req *reqs, int n,
		     int parallel, struct mx_many **out)
{
	struct mx_many *mm = calloc(1, sizeof(*mm));
	size_t cnt = (size_t)(n ? n : 1);

	*out = NULL;
	if (!mm)
		return SC_ENOMEM;
	if (parallel < 1)
		parallel = 1;
	if (parallel > MX_PARALLEL_MAX)
		parallel = MX_PARALLEL_MAX;
	mm->reqs = reqs;
	mm->n = n;
	mm->parallel = parallel;
	mm->left = n;
	for (int i = 0; i < n; i++) {
		reqs[i].resp = NULL;
		if (reqs[i].method)
			reqs[i].err = SC_EAGAIN;
		else
			mm->left--; /* not to be sent: err stays as given */
	}
	for (int k = 0; k < MX_PARALLEL_MAX; k++)
		mm->slots[k].req = -1;
	mm->at = calloc(cnt, sizeof(*mm->at));
	mm->backoff = calloc(cnt, sizeof(*mm->backoff));
	mm->attempts = calloc(cnt, sizeof(*mm->attempts));
	mm->prev = order_by_key(reqs, n);
	if (!mm->at || !mm->backoff || !mm->attempts || !mm->prev)
		mm->fatal = SC_ENOMEM;
	if (!mm->fatal && !m->multi && !(m->multi = curl_multi_init()))
		mm->fatal = SC_ENOMEM;
	for (int k = 0; k < parallel && !mm->fatal; k++) {
		if (!m->pool[k])
			m->pool[k] = curl_easy_init();
		mm->slots[k].h = m->pool[k];
		if (!mm->slots[k].h)
			mm->fatal = SC_ENOMEM;
	}
	m->woken = 0;
	*out = mm;
	return SC_OK;
}

/* Start every request whose turn it is, while slots are free; *next is
 * lowered to the earliest retry time still ahead. */
static void many_refill(struct matrix *m, struct mx_many *mm, int64_t now,
			int64_t *next)
{
	for (int i = 0, k = 0; i < mm->n && mm->running < mm->parallel &&
	     !mm->fatal; i++) {
		struct mx_req *r = &mm->reqs[i];

		if (!r->method || r->err != SC_EAGAIN || mm->at[i] < 0 ||
		    (mm->prev[i] >= 0 && mm->reqs[mm->prev[i]].err == SC_EAGAIN))
			continue;
		if (mm->at[i] > now) {
			*next = mm->at[i] < *next ? mm->at[i] : *next;
			continue;
		}
		while (mm->slots[k].req >= 0)
			k++;
		mm->fatal = slot_start(m, &mm->slots[k], r, i);
		if (!mm->fatal) {
			mm->at[i] = -1; /* running */
			mm->running++;
		}
	}
}

/* Collect the transfers curl finished; returns whether any did. */
static int many_reap(struct matrix *m, struct mx_many *mm)
{
	struct CURLMsg *msg;
	int queued, done_any = 0;

	while ((msg = curl_multi_info_read(m->multi, &queued)) && !mm->fatal) {
		struct slot *sl = NULL;
		struct mx_req *r;
		sc_err err;
		int i;

		if (msg->msg != CURLMSG_DONE)
			continue;
		for (int k = 0; k < mm->parallel; k++)
			if (mm->slots[k].req >= 0 && mm->slots[k].h == msg->easy_handle)
				sl = &mm->slots[k];
		if (!sl)
			continue;
		i = sl->req;
		r = &mm->reqs[i];
		err = xfer_result(m, sl->h, &sl->x, msg->data.result,
				  r->method, r->path, &r->resp);
		slot_stop(m, sl);
		mm->running--;
		done_any = 1;
		mm->at[i] = 0;
		if (!err || err == SC_EMATRIX) {
			/* done: sent, or refused for good (4xx) */
			r->err = err;
			snprintf(r->errcode, sizeof(r->errcode), "%s", m->errcode);
			snprintf(r->error, sizeof(r->error), "%s", m->error);
			mm->left--;
		} else if (!transient(err) ||
			   (m->max_attempts && ++mm->attempts[i] >= m->max_attempts)) {
			mm->fatal = err;
		} else {
			if (!mm->backoff[i])
				mm->backoff[i] = m->backoff_ms > 0 ? m->backoff_ms : 250;
			mm->at[i] = mono_ms() + retry_wait(m, err, &mm->backoff[i]);
		}
	}
	return done_any;
}

static int many_step(struct matrix *m, struct mx_many *mm, int block)
{
	int64_t now, next;
	int still;

	if (mm->fatal || mm->left <= 0)
		return 0;
	if (stop_flag) {
		mm->fatal = SC_EINTR;
		return 0;
	}
	now = mono_ms();
	next = now + 100;
	many_refill(m, mm, now, &next);
	if (!mm->fatal && curl_multi_perform(m->multi, &still) != CURLM_OK)
		mm->fatal = SC_ENOMEM;
	/* wait for progress unless a slot came free to refill */
	if (!mm->fatal && !many_reap(m, mm) && block &&
	    curl_multi_poll(m->multi, NULL, 0,
			    (int)(next > now ? next - now : 0), NULL) != CURLM_OK)
		mm->fatal = SC_ENOMEM;
	return !mm->fatal && mm->left > 0;
}

/* The thread of a detached batch: step it until it is over or
 * mx_many_end cancels it. */
static void *many_thread(void *arg)
{
	struct mx_many *mm = arg;
	int more = 1;

	while (more) {
		pthread_mutex_lock(&mm->lock);
		more = !mm->cancel;
		pthread_mutex_unlock(&mm->lock);
		if (more)
			more = many_step(&mm->view, mm, 1);
	}
	pthread_mutex_lock(&mm->lock);
	mm->busy = 0;
	pthread_cond_broadcast(&mm->cond);
	pthread_mutex_unlock(&mm->lock);
	return NULL;
}

sc_err mx_many_detach(struct matrix *m, struct mx_many *mm)
{
	if (mm->fatal || mm->left <= 0)
		return SC_OK; /* nothing to do: mx_many_step says so */
	mm->view = *m;
	mm->view.wake = NULL;
	mm->view.wake_armed = 0;
	if (pthread_mutex_init(&mm->lock, NULL))
		return SC_ENOMEM;
	if (pthread_cond_init(&mm->cond, NULL)) {
		pthread_mutex_destroy(&mm->lock);
		return SC_ENOMEM;
	}
	mm->busy = 1;
	if (pthread_create(&mm->thread, NULL, many_thread, mm)) {
		pthread_cond_destroy(&mm->cond);
		pthread_mutex_destroy(&mm->lock);
		return SC_ENOMEM;
	}
	mm->detached = 1;
	return SC_OK;
}

/* mx_many_step of a detached batch: whether its thread still works;
 * with block, once it has finished (a stop ends it within 100 ms). */
static int detached_step(struct mx_many *mm, int block)
{
	int busy;

	pthread_mutex_lock(&mm->lock);
	while (mm->busy && block)
		pthread_cond_wait(&mm->cond, &mm->lock);
	busy = mm->busy;
	pthread_mutex_unlock(&mm->lock);
	return busy;
}

int mx_many_step(struct matrix *m, struct mx_many *mm, int block)
{
	return mm->detached ? detached_step(mm, block) : many_step(m, mm, block);
}

sc_err mx_many_end(struct matrix *m, struct mx_many *mm)
{
	sc_err err;

	if (!mm)
		return SC_OK;
	if (mm->detached) {
		pthread_mutex_lock(&mm->lock);
		mm->cancel = 1;
		pthread_mutex_unlock(&mm->lock);
		curl_multi_wakeup(m->multi);
		pthread_join(mm->thread, NULL);
		pthread_cond_destroy(&mm->cond);
		pthread_mutex_destroy(&mm->lock);
		/* what the batch's last response said, as when stepped here:
		 * a caller explains a failure from m (errcode, error) */
		memcpy(m->errcode, mm->view.errcode, sizeof(m->errcode));
		memcpy(m->error, mm->view.error, sizeof(m->error));
		m->status = mm->view.status;
		m->retry_after_ms = mm->view.retry_after_ms;
	}
	for (int k = 0; k < mm->parallel; k++)
		if (mm->slots[k].req >= 0)
			slot_stop(m, &mm->slots[k]);
	err = mm->fatal;
	free(mm->at);
	free(mm->backoff);
	free(mm->attempts);
	free(mm->prev);
	free(mm);
	return err;
}

sc_err mx_call_many(struct matrix *m, struct mx_req *reqs, int n, int parallel)
{
	struct mx_many *mm;
	sc_err err = mx_many_start(m, reqs, n, parallel, &mm);

	if (err)
		return err;
	while (mx_many_step(m, mm, 1))
		;
	return mx_many_end(m, mm);
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

static size_t json_size(json_t *v)
{
	return json_dumpb(v, NULL, 0, JSON_COMPACT);
}

int mx_fit_content(json_t *content, size_t max)
{
	static const char note[] = "\xE2\x80\xA6 (cut: too long for one Matrix message)";
	size_t size = json_size(content);

	if (size <= max)
		return 0;
	json_object_del(content, "formatted_body");
	json_object_del(content, "format");
	/* JSON escapes make bytes and characters differ: cut by the
	 * excess until it fits, a few rounds at most */
	for (int round = 0; (size = json_size(content)) > max && round < 8; round++) {
		const char *body = json_string_value(json_object_get(content, "body"));
		size_t len = body ? strlen(body) : 0, drop = size - max + sizeof(note);
		size_t keep = utf8_cut(body ? body : "", len, len > drop ? len - drop : 0);
		char *text = malloc(keep + sizeof(note));
		json_t *cut;

		if (!text)
			return -1;
		memcpy(text, body ? body : "", keep);
		memcpy(text + keep, note, sizeof(note));
		cut = json_string(text);
		free(text);
		if (!cut || json_object_set_new(content, "body", cut))
			return -1;
	}
	return 1;
}

/*
 * The plain body of a reply that pings (m.text): it echoes what a member
 * typed, and push rules match words of the body: "@room" pings everyone
 * when the bot has the power to, which the member may lack, and older
 * servers highlight any user id found there. A word joiner (U+2060,
 * invisible) after every "@" keeps those from matching, except in the
 * ids of the users the reply means to ping, which stay whole (a server
 * without m.mentions finds them in the body). The HTML body, which
 * clients show, is left as it is.
 */
#define WORD_JOINER "\xE2\x81\xA0" /* U+2060 */

static char *defuse_body(const struct reply *r)
{
	const char *p = r->body.buf;
	struct sbuf out;

	sbuf_init(&out, 0);
	while (*p) {
		size_t keep = 1;

		for (size_t i = 0; i < r->nmentions && *p == '@'; i++)
			if (!strncmp(p, r->mentions[i], strlen(r->mentions[i])))
				keep = strlen(r->mentions[i]);
		if (sbuf_add(&out, p, keep) ||
		    (keep == 1 && *p == '@' && sbuf_puts(&out, WORD_JOINER))) {
			sbuf_release(&out);
			return NULL;
		}
		p += keep;
	}
	return sbuf_detach(&out, NULL);
}

/* Whether s[0] continues a word (non-ASCII counts, but for the word
 * joiner, which is no letter to a push rule either). */
static int word_at(const char *s)
{
	unsigned char c = (unsigned char)*s;

	if (!strncmp(s, WORD_JOINER, 3))
		return 0;
	return c >= 0x80 || isalnum(c) || c == '_';
}

int mx_defuse_words(json_t *content, const char *const *words, size_t n)
{
	const char *body = json_string_value(json_object_get(content, "body"));
	struct sbuf out;
	const char *p;
	int changed = 0;

	if (!body || !n)
		return 0;
	sbuf_init(&out, 0);
	for (p = body; *p;) {
		size_t len = 0;

		if (p == body || !word_at(p - 1) ||
		    (p - body >= 3 && !strncmp(p - 3, WORD_JOINER, 3)))
			for (size_t i = 0; i < n && !len; i++) {
				size_t wl = strlen(words[i]);
				if (wl && !strncasecmp(p, words[i], wl) && !word_at(p + wl))
					len = wl;
			}
		if (len) {
			/* the word joiner after its first character */
			size_t first = utf8_char_len(p, len);
			if (sbuf_add(&out, p, first ? first : 1) ||
			    sbuf_puts(&out, WORD_JOINER) ||
			    sbuf_add(&out, p + (first ? first : 1), len - (first ? first : 1)))
				goto fail;
			p += len;
			changed = 1;
		} else if (sbuf_putc(&out, *p++)) {
			goto fail;
		}
	}
	if (changed && json_object_set_new(content, "body", json_string(out.buf)))
		goto fail;
	sbuf_release(&out);
	return changed;
fail:
	sbuf_release(&out);
	return -1;
}

json_t *mx_reply_content(const struct reply *r, const char *in_reply_to,
			 const char *thread_root)
{
	json_t *c, *rel = NULL, *mentions, *users;
	char *body = r->nmentions ? defuse_body(r) : NULL;

	if (r->nmentions && !body)
		return NULL;
	c = json_pack("{s:s, s:s, s:s, s:s}",
		      "msgtype", r->nmentions ? "m.text" : "m.notice",
		      "body", body ? body : r->body.buf,
		      "format", "org.matrix.custom.html",
		      "formatted_body", r->html.buf);
	free(body);
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
