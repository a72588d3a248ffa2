/* SPDX-License-Identifier: MIT */
/*
 * bot.c - `scribe run` and `scribe login` (see bot.h): the process.
 * Loading the configuration, the store and the credentials, the sync
 * filter, the loop (send what is queued, long-poll /sync, handle the
 * batch, run what is due) and how it stops, and logging in. A batch is
 * handled in bot_sync.c (its gaps in bot_backfill.c), messages leave
 * through bot_outbox.c, and what fires at a time is bot_schedule.c.
 * Matrix JSON is read in the bot's files and in matrix.c only; the
 * commands never see it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bot_int.h"
#include "e2ee.h"
#include "log.h"
#include "remind.h"
#include "banned.h"

#define CLOCK_SKEW_S 300  /* homeserver clock behind ours by up to this */
#define LOGIN_ATTEMPTS 5 /* scribe login: about 4 s of retries at most */
#define TRIM_MIN (1 << 20) /* free heap bytes worth handing back when idle */

static int64_t wall_clock(void)
{
	return (int64_t)time(NULL);
}

/*
 * Test hook: with SCRIBE_TEST_CLOCK naming a file, the clock is the wall
 * clock plus the seconds that file holds (read at every call; missing
 * or unreadable = 0), so a protocol test moves scribe's time forward
 * while it runs (tests/proto/test_remind.py). Start at 0: a store's
 * first run is taken from this clock, and messages before it are
 * history.
 */
static int64_t test_clock(void)
{
	const char *path = getenv("SCRIBE_TEST_CLOCK");
	long long off = 0;
	FILE *f = path ? fopen(path, "r") : NULL;

	if (f) {
		if (fscanf(f, "%lld", &off) != 1)
			off = 0;
		fclose(f);
	}
	return (int64_t)time(NULL) + (int64_t)off;
}

/* Read a secret from a file: first line, surrounding space removed.
 * Warns when others may read the file. *out must be wiped by the caller. */
static sc_err read_secret(const char *path, char **out)
{
	struct sbuf sb;
	struct stat stt;
	char buf[512];
	size_t n;
	FILE *f = fopen(path, "r");
	sc_err err = SC_OK;

	if (!f)
		return SC_EIO;
	if (fstat(fileno(f), &stt) == 0 && (stt.st_mode & 077))
		log_warn("'%s' can be read by other users; chmod 600 it", path);
	sbuf_init(&sb, 4096);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && !err)
		err = sbuf_add(&sb, buf, n);
	fclose(f);
	memset(buf, 0, sizeof(buf));
	if (!err) {
		size_t len = strcspn(sb.buf, "\r\n");
		size_t start = strspn(sb.buf, " \t");
		while (len > start && (sb.buf[len - 1] == ' ' || sb.buf[len - 1] == '\t'))
			len--;
		if (len <= start) {
			err = SC_EINVAL;
		} else {
			*out = strndup(sb.buf + start, len - start);
			if (!*out)
				err = SC_ENOMEM;
		}
	}
	sbuf_wipe(&sb);
	return err;
}

static void wipe_str(char *s)
{
	if (!s)
		return;
	for (volatile char *p = s; *p; p++)
		*p = 0;
	free(s);
}

/* Upload the sync filter once; its id is kept in the store. */
static sc_err ensure_filter(struct bot *b, int force)
{
	struct sbuf path;
	json_t *filter, *resp = NULL;
	char *id = NULL;
	sc_err err;

	if (!force && store_kv_get(b->st, "sync.filter", &id) == SC_OK) {
		free(b->filter_id);
		b->filter_id = id;
		return SC_OK;
	}
	filter = json_pack("{s:{s:[s]}, s:{s:[s]}, s:{s:{s:i}, s:{s:[s]}, s:{s:[s]}}}",
			   "presence", "not_types", "*",
			   "account_data", "not_types", "*",
			   "room", "timeline", "limit", b->cfg.timeline_limit,
			   "ephemeral", "not_types", "*",
			   "account_data", "not_types", "*");
	if (!filter)
		return SC_ENOMEM;
	sbuf_init(&path, 0);
	err = mx_path(&path, "/user/%s/filter", b->mx->user_id);
	if (!err)
		err = mx_call_retry(b->mx, "POST", path.buf, filter, 0, &resp);
	if (!err && !jstr(resp, "filter_id"))
		err = SC_ESERVER;
	if (!err)
		err = store_kv_put(b->st, "sync.filter", jstr(resp, "filter_id"));
	if (!err) {
		free(b->filter_id);
		b->filter_id = strdup(jstr(resp, "filter_id"));
		if (!b->filter_id)
			err = SC_ENOMEM;
	}
	json_decref(filter);
	json_decref(resp);
	sbuf_release(&path);
	return err;
}

/* mx wake callback during /sync: another process (scribe log, scribe
 * import) committed to the store, so there may be messages to send now
 * rather than when the long-poll ends. */
static int store_changed(void *ctx)
{
	struct bot *b = ctx;
	int64_t v;

	/* a reminder's minute came */
	if (b->next_fire && b->clock() >= b->next_fire)
		return 1;
	return store_data_version(b->st, &v) == SC_OK && v != b->data_version;
}

/* One /sync; SC_EAGAIN when it ended early because the store changed. */
static sc_err sync_once(struct bot *b, long timeout_ms, json_t **out)
{
	struct sbuf path;
	char *since = NULL;
	sc_err err;

	sbuf_init(&path, 0);
	err = mx_path(&path, "/sync");
	if (!err)
		err = sbuf_printf(&path, "?timeout=%ld&filter=", timeout_ms);
	if (!err)
		err = sbuf_urlenc(&path, b->filter_id);
	if (!err && store_kv_get(b->st, "sync.since", &since) == SC_OK) {
		err = sbuf_puts(&path, "&since=");
		if (!err)
			err = sbuf_urlenc(&path, since);
	}
	if (!err)
		err = store_data_version(b->st, &b->data_version);
	if (!err) {
		b->mx->wake = store_changed;
		b->mx->wake_ctx = b;
		b->mx->wake_armed = 1;
		err = mx_call_retry(b->mx, "GET", path.buf, NULL,
				    timeout_ms + b->mx->request_timeout_ms, out);
		b->mx->wake_armed = 0;
	}
	free(since);
	sbuf_release(&path);
	return err;
}

/* Before the long-poll: hand the heap's free pages back to the kernel.
 * A burst (a backlog of commands, joining 100 rooms) leaves megabytes
 * freed but kept by malloc, and idle RSS would carry them until the next
 * burst. glibc only (mallinfo2, malloc_trim); elsewhere malloc keeps
 * them. README "Performance" has what it saves. */
static void release_free_heap(void)
{
#if defined(__GLIBC__)
	if (mallinfo2().fordblks >= TRIM_MIN)
		malloc_trim(0);
#endif
}

static void on_signal(int sig)
{
	(void)sig;
	mx_stop();
}

static const char run_usage[] =
	"usage: scribe run [-c bot.conf] [--once]\n"
	"\n"
	"Run the bot: sync with the homeserver, answer commands, post digests.\n"
	"Needs an access token file (see scribe login). SIGTERM or SIGINT finish\n"
	"the current batch and exit 0.\n"
	"  -c, --config FILE  configuration (default bot.conf)\n"
	"  --once             handle one sync batch and exit (for scripts)\n";

/* Load config, store and credentials shared by run and login. */
static int bot_setup(struct bot *b, const char *conf, int need_token)
{
	struct sbuf msg;
	char *token = NULL, *owner = NULL;
	sc_err err;

	memset(b, 0, sizeof(*b));
	b->clock = getenv("SCRIBE_TEST_CLOCK") ? test_clock : wall_clock;
	sbuf_init(&msg, 0);
	if (config_defaults(&b->cfg) != SC_OK)
		return 1;
	if (config_load(&b->cfg, conf, &msg) != SC_OK ||
	    config_apply_group(&b->cfg, &msg) != SC_OK) {
		fprintf(stderr, "scribe: error: %s\n", msg.buf);
		sbuf_release(&msg);
		return 2;
	}
	sbuf_release(&msg);
	log_set_level((enum log_level)b->cfg.log_level);
	if (!b->cfg.homeserver || !b->cfg.user_id) {
		fprintf(stderr, "scribe: error: '%s' needs homeserver and user_id in [matrix]\n", conf);
		return 2;
	}
	err = store_open(b->cfg.store_path, &b->st);
	if (!err)
		err = store_temp_in_memory(b->st);
	if (err) {
		/* without a store, store_open has said why (once) */
		if (b->st)
			fprintf(stderr, "scribe: error: cannot open store '%s': %s\n",
				b->cfg.store_path, store_errmsg(b->st));
		return 3;
	}
	/* A store belongs to one account: never mix two bots' records
	 * and sync tokens (and, later, keys). */
	if (store_kv_get(b->st, "account.user_id", &owner) == SC_OK &&
	    strcmp(owner, b->cfg.user_id) != 0) {
		fprintf(stderr, "scribe: error: store '%s' belongs to %s, not %s\n",
			b->cfg.store_path, owner, b->cfg.user_id);
		free(owner);
		return 2;
	}
	free(owner);
	if (mx_open(b->cfg.homeserver, &b->mx) != SC_OK)
		return 1;
	b->mx->backoff_ms = b->cfg.retry_min_ms;
	b->mx->request_timeout_ms = (long)b->cfg.request_timeout * 1000;
	if (b->cfg.ca_file) {
		/* fail now, not with a TLS error on every retry */
		if (access(b->cfg.ca_file, R_OK) != 0) {
			fprintf(stderr, "scribe: error: cannot read ca_file '%s': %s\n",
				b->cfg.ca_file, strerror(errno));
			return 2;
		}
		if (mx_set_ca_file(b->mx, b->cfg.ca_file) != SC_OK)
			return 1;
	}
	if (!need_token)
		return 0;
	if (!b->cfg.access_token_file) {
		fprintf(stderr, "scribe: error: no access_token_file in [matrix]; run 'scribe login' first\n");
		return 2;
	}
	err = read_secret(b->cfg.access_token_file, &token);
	if (err) {
		fprintf(stderr, "scribe: error: cannot read access token file '%s': %s (run 'scribe login')\n",
			b->cfg.access_token_file, err == SC_EIO ? strerror(errno) : "empty file");
		return 2;
	}
	err = mx_set_token(b->mx, token);
	wipe_str(token);
	return err ? 1 : 0;
}

static void bot_teardown(struct bot *b)
{
	bot_batch_drop(b);
	e2ee_close(b->e2ee);
	mx_close(b->mx);
	store_close(b->st);
	config_free(&b->cfg);
	free(b->filter_id);
}

/* When this store first ran the bot (kept in the store from then on):
 * a join newer than that is one this store accepted (bot_first_sync_join).
 * The margin allows for the homeserver's clock being behind ours. */
static sc_err note_first_run(struct bot *b)
{
	char *v = NULL, now[32];
	int64_t first = b->clock(), first_ms;
	struct timespec ts;
	sc_err err = store_kv_get(b->st, "run.first", &v);

	/* milliseconds too: a command sent a moment before a new store's
	 * first run is history, even within the same second */
	clock_gettime(CLOCK_REALTIME, &ts);
	first_ms = first == (int64_t)ts.tv_sec ?
		   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 : first * 1000;
	if (err == SC_ENOTFOUND) {
		snprintf(now, sizeof(now), "%lld", (long long)first);
		err = store_kv_put(b->st, "run.first", now);
		snprintf(now, sizeof(now), "%lld", (long long)first_ms);
		if (!err)
			err = store_kv_put(b->st, "run.first_ms", now);
	} else if (!err) {
		first = strtoll(v, NULL, 10);
		free(v);
		v = NULL;
		/* a store from before run.first_ms: the end of that second */
		err = store_kv_get(b->st, "run.first_ms", &v);
		first_ms = err ? (first + 1) * 1000 : strtoll(v, NULL, 10);
		err = err == SC_ENOTFOUND ? SC_OK : err;
	}
	free(v);
	if (!err) {
		b->first_run_ms = (first - CLOCK_SKEW_S) * 1000;
		b->created_ms = first_ms;
	}
	return err;
}

int run_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = "bot.conf";
	int once = 0, opt, rc;
	struct bot b;
	struct sigaction sa;
	sc_err err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'o': once = 1; break;
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	rc = bot_setup(&b, conf, 1);
	if (rc) {
		bot_teardown(&b);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = mx_whoami(b.mx);
	if (!err && strcmp(b.mx->user_id, b.cfg.user_id) != 0) {
		fprintf(stderr, "scribe: error: the access token is for %s, not %s\n",
			b.mx->user_id, b.cfg.user_id);
		rc = 2;
		goto out;
	}
	if (!err)
		err = store_kv_put(b.st, "account.user_id", b.mx->user_id);
	if (!err)
		err = note_first_run(&b);
	/* bot.conf's lead time, SLAs and levels into the schedule */
	if (!err)
		err = remind_setup(b.st, &b.cfg, b.clock());
	if (!err)
		err = ensure_filter(&b, 0);
	if (!err && b.cfg.crypto_enabled && !b.mx->device_id)
		log_warn("the homeserver did not say which device the token is "
			 "for; encryption is off");
	else if (!err && b.cfg.crypto_enabled) {
		/* for the cross-signing upload, should the server ask */
		char *password = NULL;
		if (b.cfg.password_file && read_secret(b.cfg.password_file, &password))
			log_info("cannot read password file '%s': cross-signing "
				 "keys can be published only if the homeserver "
				 "does not ask for the password", b.cfg.password_file);
		err = e2ee_open(b.st, b.mx, &b.cfg, password, &b.e2ee);
		wipe_str(password);
		if (err && err != SC_EINTR && err != SC_EAUTH) {
			/* the reason was logged; SC_EAUTH (token) is below */
			fprintf(stderr, "scribe: error: cannot set up encryption: %s\n",
				sc_strerror(err));
			rc = err == SC_ECONFIG ? 2 :
			     err == SC_ESTORE || err == SC_EBUSY ? 3 : 1;
			goto out;
		}
	}
	log_info("running as %s (device %s) on %s", b.cfg.user_id,
		 b.mx->device_id ? b.mx->device_id : "?", b.cfg.homeserver);
	while (!err && !mx_stopping()) {
		json_t *sync = NULL;

		err = bot_flush_outbox(&b);
		if (err)
			break;
		release_free_heap();
		err = sync_once(&b, once ? 0 : b.cfg.sync_timeout_ms, &sync);
		if (err == SC_EAGAIN) {
			/* scribe log (or import) queued something, or a
			 * reminder's minute came: send it */
			err = bot_run_reminders(&b);
			continue;
		}
		if (err == SC_EMATRIX && !strcmp(b.mx->errcode, "M_INVALID_PARAM")) {
			/* the server forgot our filter (reset or new server) */
			log_warn("sync filter rejected; uploading it again");
			err = ensure_filter(&b, 1);
			continue;
		}
		if (err)
			break;
		err = bot_handle_sync(&b, sync);
		json_decref(sync);
		if (!err)
			err = bot_run_due(&b);
		if (!err)
			err = bot_flush_outbox(&b);
		if (once)
			break;
	}
	if (err == SC_EINTR || (!err && mx_stopping())) {
		log_info("stopping");
		err = SC_OK;
	}
	if (err == SC_EAUTH) {
		fprintf(stderr, "scribe: error: the homeserver refused the access token (%s); "
			"run 'scribe login' again\n", b.mx->errcode);
		rc = 5;
	} else if (err) {
		const char *why = store_errmsg(b.st);
		fprintf(stderr, "scribe: error: %s%s%s\n", sc_strerror(err),
			why && *why ? ": " : "", why && *why ? why : "");
		rc = err == SC_ESTORE || err == SC_EBUSY ? 3 : 1;
	}
out:
	bot_teardown(&b);
	return rc;
}

static const char login_usage[] =
	"usage: scribe login [-c bot.conf] [--force]\n"
	"\n"
	"Log in with the password in [matrix] password_file and write the access\n"
	"token to access_token_file (mode 0600). The device id is kept in the store\n"
	"so later logins reuse it (the bot's encryption keys belong to it).\n"
	"  --force  replace an existing access token file\n";

int login_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = "bot.conf";
	char *password = NULL, *device = NULL;
	int force = 0, opt, rc, fd;
	struct bot b;
	sc_err err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'f': force = 1; break;
		case 'h': fputs(login_usage, stdout); return 0;
		default: fputs(login_usage, stderr); return 2;
		}
	}
	rc = bot_setup(&b, conf, 0);
	if (rc)
		goto out;
	rc = 2;
	if (!b.cfg.password_file || !b.cfg.access_token_file) {
		fprintf(stderr, "scribe: error: login needs password_file and access_token_file in [matrix]\n");
		goto out;
	}
	if (!force && access(b.cfg.access_token_file, F_OK) == 0) {
		fprintf(stderr, "scribe: error: '%s' exists; use --force to log in again\n",
			b.cfg.access_token_file);
		goto out;
	}
	if (read_secret(b.cfg.password_file, &password) != SC_OK) {
		fprintf(stderr, "scribe: error: cannot read password file '%s'\n", b.cfg.password_file);
		goto out;
	}
	store_kv_get(b.st, "account.device_id", &device);
	/* someone is waiting at a terminal: a few seconds of retries, not
	 * `scribe run`'s patience (the reasons are logged as they happen) */
	b.mx->max_attempts = LOGIN_ATTEMPTS;
	err = mx_login(b.mx, b.cfg.user_id, password, device, b.cfg.device_name);
	if (err) {
		fprintf(stderr, "scribe: error: login failed: %s%s%s\n", sc_strerror(err),
			b.mx->error[0] ? ": " : "", b.mx->error);
		rc = err == SC_EAUTH ? 5 : 1;
		goto out;
	}
	unlink(b.cfg.access_token_file);
	fd = open(b.cfg.access_token_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, b.mx->token, strlen(b.mx->token)) < 0 ||
	    write(fd, "\n", 1) < 0 || close(fd) < 0) {
		fprintf(stderr, "scribe: error: cannot write '%s': %s\n",
			b.cfg.access_token_file, strerror(errno));
		rc = 1;
		goto out;
	}
	if (store_kv_put(b.st, "account.user_id", b.mx->user_id) ||
	    store_kv_put(b.st, "account.device_id", b.mx->device_id)) {
		fprintf(stderr, "scribe: error: %s\n", store_errmsg(b.st));
		rc = 3;
		goto out;
	}
	/* The password is at hand: publish the device's keys and its
	 * cross-signing now, which a homeserver may want the password for
	 * (Synapse does whenever the account has a master key already). */
	if (b.cfg.crypto_enabled) {
		struct e2ee *e = NULL;
		err = e2ee_open(b.st, b.mx, &b.cfg, password, &e);
		e2ee_close(e);
		if (err) {
			fprintf(stderr, "scribe: error: cannot set up encryption: %s\n",
				sc_strerror(err));
			rc = err == SC_ECONFIG ? 2 : err == SC_ESTORE ? 3 : 1;
			goto out;
		}
	}
	printf("logged in as %s, device %s; token in %s\n", b.mx->user_id,
	       b.mx->device_id, b.cfg.access_token_file);
	rc = 0;
out:
	wipe_str(password);
	free(device);
	bot_teardown(&b);
	return rc;
}
