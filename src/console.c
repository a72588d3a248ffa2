/* SPDX-License-Identifier: MIT */
/*
 * console.c - `scribe console`: read chat lines from stdin, run them
 * through the same engine as the Matrix bot, print the replies. Lines
 * starting with '/' steer the console itself (/as, /room, /member,
 * /members, /help, /quit), so one terminal can play a whole team.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "console.h"
#include "engine.h"
#include "log.h"
#include "remind.h"
#include "store.h"
#include "when.h"
#include "banned.h"

#define CONSOLE_SERVER "example.org"

static const char console_usage[] =
	"usage: scribe console [-c bot.conf] [--store PATH] [--as USER] [--room ROOM]\n"
	"                      [--members USER,...] [--tz ZONE]\n"
	"\n"
	"Type chat lines (\"!todo @elon pick tracker\", \"!help\"); replies are printed.\n"
	"Console lines: /as USER  /room ROOM  /member USER [Display Name]  /members\n"
	"               /help  /quit\n"
	"Bare names become @name:" CONSOLE_SERVER "; bare rooms !name:" CONSOLE_SERVER ".\n";

struct console {
	struct store *st;
	struct config cfg;
	char *room;
	char *as;
	int tty;
	unsigned long seq;
	int reminders; /* show reminders that come due (not the bot's store) */
};

/* "elon" -> "@elon:example.org"; ids with a sigil and server kept. */
static char *qualify(char sigil, const char *name)
{
	struct sbuf sb;

	sbuf_init(&sb, 512);
	if (name[0] == sigil)
		name++;
	if (sbuf_printf(&sb, "%c%s%s", sigil, name,
			strchr(name, ':') ? "" : ":" CONSOLE_SERVER)) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, NULL);
}

/* Add user to the room as a joined member; the speaker of the console
 * session is given power 100 so privileged commands can be tried. */
static sc_err add_member(struct console *co, const char *user, const char *name,
			 int power)
{
	char *uid = qualify('@', user);
	sc_err err;

	if (!uid)
		return SC_ENOMEM;
	err = store_member_put(co->st, co->room, uid, name, "join", power);
	free(uid);
	return err;
}

static sc_err enter_room(struct console *co, const char *room)
{
	char *r = qualify('!', room);
	sc_err err;

	if (!r)
		return SC_ENOMEM;
	free(co->room);
	co->room = r;
	err = engine_room_ensure(co->st, co->room, (int64_t)time(NULL));
	if (!err)
		err = store_member_put(co->st, co->room, co->as, NULL, "join", 100);
	return err;
}

static int print_member(const struct member *m, void *ctx)
{
	(void)ctx;
	printf("  %s%s%s%s (power %d)\n", m->user_id, m->display_name ? " \"" : "",
	       m->display_name ? m->display_name : "", m->display_name ? "\"" : "",
	       m->power);
	return 0;
}

/* A console line: 0 = go on, 1 = quit. */
static int console_meta(struct console *co, char *line)
{
	char *arg = strchr(line, ' ');
	sc_err err = SC_OK;

	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	if (!strcmp(line, "/quit") || !strcmp(line, "/exit"))
		return 1;
	if (!strcmp(line, "/as") && arg && *arg) {
		char *uid = qualify('@', arg);
		struct member m;
		if (!uid) {
			err = SC_ENOMEM;
		} else {
			free(co->as);
			co->as = uid;
			err = store_member_get(co->st, co->room, uid, &m);
			if (err == SC_OK)
				member_clear(&m);
			else if (err == SC_ENOTFOUND)
				err = store_member_put(co->st, co->room, uid, NULL, "join", 0);
			printf("(speaking as %s)\n", co->as);
		}
	} else if (!strcmp(line, "/room") && arg && *arg) {
		err = enter_room(co, arg);
		printf("(in room %s)\n", co->room);
	} else if (!strcmp(line, "/member") && arg && *arg) {
		char *name = strchr(arg, ' ');
		if (name)
			*name++ = '\0';
		err = add_member(co, arg, name, 0);
	} else if (!strcmp(line, "/members")) {
		err = store_members(co->st, co->room, 0, print_member, NULL);
	} else {
		fputs(console_usage, stdout);
	}
	if (err)
		fprintf(stderr, "scribe: error: %s: %s\n", sc_strerror(err),
			store_errmsg(co->st));
	return 0;
}

static void console_say(struct console *co, const char *line)
{
	struct message m;
	struct reply out;
	char ev[96];
	int handled = 0;
	int64_t now = (int64_t)time(NULL);
	sc_err err;

	/* Unique across restarts: records keep their source event id. */
	snprintf(ev, sizeof(ev), "$console-%lld-%ld-%lu", (long long)now,
		 (long)getpid(), ++co->seq);
	memset(&m, 0, sizeof(m));
	m.room_id = co->room;
	m.sender = co->as;
	m.event_id = ev;
	m.body = line;
	m.ts = now;
	reply_init(&out);
	err = engine_message(co->st, &co->cfg, &m, now, &out, &handled);
	if (err) {
		fprintf(stderr, "scribe: error: %s: %s\n", sc_strerror(err),
			store_errmsg(co->st));
	} else if (handled) {
		printf("%s\n", out.body.buf);
		if (out.nmentions) {
			printf("(pings");
			for (size_t i = 0; i < out.nmentions; i++)
				printf(" %s", out.mentions[i]);
			printf(")\n");
		}
	}
	fflush(stdout);
	reply_clear(&out);
}

/* remind_post_fn: a reminder that came due, printed like a reply. */
static sc_err console_remind(const char *room, const char *txn,
			     const struct reply *r, const struct remind_post *how,
			     void *ctx)
{
	(void)txn;
	(void)how;
	(void)ctx;
	printf("[%s] %s\n", room, r->body.buf);
	if (r->nmentions) {
		printf("(pings");
		for (size_t i = 0; i < r->nmentions; i++)
			printf(" %s", r->mentions[i]);
		printf(")\n");
	}
	return SC_OK;
}

/* Reminders and escalations that came due: shown before the next line
 * is read (the console waits for input, not for the clock). */
static void console_reminders(struct console *co)
{
	int n = 0;
	sc_err err;

	if (!co->reminders)
		return;
	err = remind_run_due(co->st, &co->cfg, (int64_t)time(NULL),
			     console_remind, co, &n);
	if (err)
		fprintf(stderr, "scribe: error: %s: %s\n", sc_strerror(err),
			store_errmsg(co->st));
	fflush(stdout);
}

int console_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "as", required_argument, NULL, 'a' },
		{ "room", required_argument, NULL, 'r' },
		{ "members", required_argument, NULL, 'm' },
		{ "tz", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct console co;
	const char *conf = NULL, *store = NULL, *as = "alice", *room = "ops";
	const char *members = NULL, *tz = NULL;
	struct sbuf err_msg;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int opt, rc = 1;

	memset(&co, 0, sizeof(co));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 's': store = optarg; break;
		case 'a': as = optarg; break;
		case 'r': room = optarg; break;
		case 'm': members = optarg; break;
		case 'z': tz = optarg; break;
		case 'h': fputs(console_usage, stdout); return 0;
		default: fputs(console_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "scribe: error: unexpected argument '%s'\n%s",
			argv[optind], console_usage);
		return 2;
	}
	if (tz && !when_tz_valid(tz)) {
		fprintf(stderr, "scribe: error: unknown time zone '%s'\n", tz);
		return 2;
	}
	sbuf_init(&err_msg, 0);
	if (config_defaults(&co.cfg) != SC_OK)
		goto out;
	if (conf && (config_load(&co.cfg, conf, &err_msg) != SC_OK ||
		     config_apply_group(&co.cfg, &err_msg) != SC_OK)) {
		fprintf(stderr, "scribe: error: %s\n", err_msg.buf);
		rc = 2; /* configuration: exit 2, as every subcommand */
		goto out;
	}
	log_set_level((enum log_level)co.cfg.log_level);
	if (tz) {
		free(co.cfg.timezone);
		co.cfg.timezone = strdup(tz);
	}
	if (!store)
		store = co.cfg.store_path;
	if (store_open(store, &co.st) != SC_OK) {
		/* store_open said why (which folder is missing, ...) */
		rc = 3;
		goto out;
	}
	co.as = qualify('@', as);
	if (!co.as || enter_room(&co, room) != SC_OK)
		goto store_err;
	if (members) {
		char *list = strdup(members), *save = NULL;
		for (char *m = list ? strtok_r(list, ",", &save) : NULL; m;
		     m = strtok_r(NULL, ",", &save)) {
			if (add_member(&co, m, NULL, 0) != SC_OK) {
				free(list);
				goto store_err;
			}
		}
		free(list);
	}
	/* A store `scribe run` uses is its to remind from: the console
	 * firing there would take the bot's reminders to a terminal. */
	{
		char *ran = NULL;
		sc_err e = store_kv_get(co.st, "run.first", &ran);

		free(ran);
		if (e != SC_OK && e != SC_ENOTFOUND)
			goto store_err;
		co.reminders = e == SC_ENOTFOUND;
	}
	if (co.reminders && remind_setup(co.st, &co.cfg, (int64_t)time(NULL)) != SC_OK)
		goto store_err;
	co.tty = isatty(0);
	if (co.tty)
		printf("scribe console — store %s, room %s, speaking as %s.\n"
		       "Try: !todo @elon pick tracker   !help   /help   /quit\n",
		       store, co.room, co.as);
	for (;;) {
		console_reminders(&co);
		if (co.tty) {
			printf("%s> ", co.as);
			fflush(stdout);
		}
		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		console_reminders(&co); /* what came due while we waited */
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n)
			continue;
		if (line[0] == '/') {
			if (console_meta(&co, line))
				break;
			continue;
		}
		console_say(&co, line);
	}
	rc = 0;
	goto out;
store_err:
	fprintf(stderr, "scribe: error: %s\n", store_errmsg(co.st));
out:
	free(line);
	free(co.room);
	free(co.as);
	store_close(co.st);
	config_free(&co.cfg);
	sbuf_release(&err_msg);
	return rc;
}
