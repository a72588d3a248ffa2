/* SPDX-License-Identifier: MIT */
/*
 * admin.c - the admin subcommands of `scribe` (admin.h): export, import,
 * log, db check|backup, stats. Option parsing, the store and config
 * they share, and exit codes live here; the formats are in export.c
 * and the export_*.c beside it (one file per format), the SQLite side
 * in store_admin.c. `scribe log` runs the real !log handler, so a
 * change logged from a script is recorded and worded exactly as one
 * typed in chat, and queues the room's announcement in the store's
 * outbox in the same transaction: the running bot notices the commit
 * (store_data_version, even during a long-poll) and sends it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "admin.h"
#include "commands.h"
#include "config.h"
#include "export.h"
#include "log.h"
#include "matrix.h"
#include "sbuf.h"
#include "store.h"
#include "store_admin.h"
#include "utf8.h"
#include "when.h"
#include "banned.h"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_STORE = 3,
	EXIT_ROOM = 4,
};

/* Long options every admin subcommand takes. */
#define COMMON_OPTS                                                        \
	{ "config", required_argument, NULL, 'c' },                        \
	{ "store", required_argument, NULL, 'S' },                         \
	{ "help", no_argument, NULL, 'h' }

/* What the subcommands share: config, store path, the open store. */
struct admin {
	const char *conf;
	const char *store_path;
	struct config cfg;
	int have_cfg;
	struct store *st;
	int created;      /* admin_open made a new store file */
};

static void admin_free(struct admin *ad)
{
	store_close(ad->st);
	if (ad->have_cfg)
		config_free(&ad->cfg);
}

/* Handle -c / --store / --help for every subcommand: 1 if opt was one
 * of them (and *rc set when the subcommand must return). */
static int common_opt(struct admin *ad, int opt, const char *usage, int *rc)
{
	switch (opt) {
	case 'c': ad->conf = optarg; return 1;
	case 'S': ad->store_path = optarg; return 1;
	case 'h': fputs(usage, stdout); *rc = EXIT_OK; return 1;
	default: return 0;
	}
}

static int store_err_code(sc_err err)
{
	return err == SC_EBUSY || err == SC_ESTORE ? EXIT_STORE : EXIT_FAIL;
}

/* Say so when an existing store (made by an older scribe, or copied
 * around) can be read by more than config_apply_group would allow: its
 * -wal and -shm get the same mode. */
static void store_mode_warn(const struct config *cfg, const char *path)
{
	struct stat sb;
	mode_t extra = 077;

	if (stat(path, &sb) || !S_ISREG(sb.st_mode))
		return;
	if (cfg->store_gid >= 0 && sb.st_gid == (gid_t)cfg->store_gid)
		extra = 037; /* its group may read it */
	if (!(sb.st_mode & extra))
		return;
	if (cfg->store_gid < 0)
		log_warn("store '%s' is mode %04o: other users can read the "
			 "record; chmod 600 it", path,
			 (unsigned)(sb.st_mode & 07777));
	else
		log_warn("store '%s' is mode %04o: other users than group '%s' "
			 "can read the record; chgrp %s and chmod 640 it", path,
			 (unsigned)(sb.st_mode & 07777), cfg->store_group,
			 cfg->store_group);
}

/*
 * Load the config (defaults without -c) and open the store. must_exist:
 * a missing store file is an error (exit 3) instead of being created.
 * Returns an exit code; EXIT_OK when ad->st is open.
 */
static int admin_open(struct admin *ad, int must_exist)
{
	struct sbuf why;
	struct stat sb;
	const char *path;
	sc_err err;

	if (config_defaults(&ad->cfg) != SC_OK) {
		fprintf(stderr, "scribe: error: out of memory\n");
		return EXIT_FAIL;
	}
	ad->have_cfg = 1;
	sbuf_init(&why, 0);
	if (ad->conf && config_load(&ad->cfg, ad->conf, &why) != SC_OK) {
		fprintf(stderr, "scribe: error: %s\n", why.buf);
		sbuf_release(&why);
		return EXIT_USAGE;
	}
	/* before the store is opened: new files get the group's mode */
	sbuf_setlen(&why, 0);
	if (config_apply_group(&ad->cfg, &why) != SC_OK) {
		fprintf(stderr, "scribe: error: %s: %s\n", ad->conf, why.buf);
		sbuf_release(&why);
		return EXIT_USAGE;
	}
	sbuf_release(&why);
	log_set_level((enum log_level)ad->cfg.log_level);
	path = ad->store_path ? ad->store_path : ad->cfg.store_path;
	/* only a store known missing is said so: any other reason stat()
	 * had (a folder scribe may not enter) is store_open's to explain */
	if (must_exist && strcmp(path, ":memory:") && stat(path, &sb) &&
	    errno == ENOENT) {
		fprintf(stderr, "scribe: error: store '%s' does not exist\n", path);
		return EXIT_STORE;
	}
	store_mode_warn(&ad->cfg, path);
	ad->created = strcmp(path, ":memory:") && stat(path, &sb) != 0;
	err = store_open(path, &ad->st);
	if (err) /* store_open said why */
		return EXIT_STORE;
	ad->store_path = path;
	return EXIT_OK;
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	fputs("scribe: error: ", stderr);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

/* ---- rooms by id or name ---- */

struct room_find {
	const char *want;
	char *found;
	int n;
};

static int room_by_name(const struct room *r, void *ctx)
{
	struct room_find *rf = ctx;

	if (r->name && !strcasecmp(r->name, rf->want)) {
		rf->n++;
		if (!rf->found)
			rf->found = strdup(r->room_id);
	}
	return 0;
}

/* Load the room named by id or by name into *out. */
static sc_err find_room(struct store *st, const char *want, struct room *out)
{
	struct room_find rf = { want, NULL, 0 };
	sc_err err = store_room_get(st, want, out);

	if (err != SC_ENOTFOUND)
		return err;
	err = store_rooms(st, room_by_name, &rf);
	if (!err && rf.n > 1)
		err = SC_EAMBIGUOUS;
	else if (!err && !rf.found)
		err = SC_ENOTFOUND;
	if (!err)
		err = store_room_get(st, rf.found, out);
	free(rf.found);
	return err;
}

/* Say why find_room failed; the exit code. */
static int room_error(struct admin *ad, sc_err err, const char *want)
{
	if (err != SC_ENOTFOUND && err != SC_EAMBIGUOUS) {
		fprintf(stderr, "scribe: error: %s\n", store_errmsg(ad->st));
		return store_err_code(err);
	}
	fprintf(stderr, "scribe: error: %s room '%s': scribe has not joined "
			"a room of that id or name\n",
		err == SC_EAMBIGUOUS ? "ambiguous" : "unknown", want);
	return EXIT_ROOM;
}

/* ---- export ---- */

static const char export_usage[] =
	"usage: scribe export [--format json|csv|md|adr|minutes|html]\n"
	"                     [--room ROOM] [--kind KIND,...] [--since DATE]\n"
	"                     [--until DATE] [-o PATH] [--tz ZONE] [--stamp]\n"
	"                     [--no-progress]\n"
	"                     [-c bot.conf] [--store PATH]\n"
	"\n"
	"Write the record out of the store. Formats:\n"
	"  json     JSON lines, one record per line with its history (default;\n"
	"           -o FILE or standard output); `scribe import` reads it back\n"
	"  csv      RFC 4180, one file per kind in -o DIR (todos.csv, ...), or\n"
	"           one --kind to standard output\n"
	"  md       a handbook page per room in -o DIR (or --room to stdout)\n"
	"  adr      one NNNN-slug.md per decision (Nygard, adr-tools numbering)\n"
	"  minutes  one Markdown file per meeting\n"
	"  html     a static web site in -o DIR: index.html, a page per room,\n"
	"           log pages by month, one per decision and per meeting,\n"
	"           charts and search; works from file:// or any web server.\n"
	"           Pages of the site's folders it no longer has are removed;\n"
	"           --stamp prints the time of the export and judges overdue\n"
	"           by it (else by the latest activity: same store, same bytes)\n"
	"ROOM is a room id, or the name of a room scribe has joined (exit 4\n"
	"when none has it). DATE is 2026-11-01 (start of that day) or a\n"
	"duration back (30d); --until is exclusive. Dates in md, adr and\n"
	"minutes are in --tz (default: the config's timezone). Same records,\n"
	"same bytes: "	"re-exporting into the same folder changes nothing.\n";

static int parse_kinds(const char *s, unsigned *mask)
{
	char *copy = strdup(s), *save = NULL;
	int ok = copy != NULL;

	*mask = 0;
	for (char *k = copy ? strtok_r(copy, ",", &save) : NULL; k && ok;
	     k = strtok_r(NULL, ",", &save)) {
		enum rec_kind kind;
		ok = rec_kind_parse(k, &kind) == SC_OK;
		if (ok)
			*mask |= REC_BIT(kind);
	}
	free(copy);
	return ok && *mask;
}

int export_main(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "room", required_argument, NULL, 'r' },
		{ "kind", required_argument, NULL, 'k' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "output", required_argument, NULL, 'o' },
		{ "tz", required_argument, NULL, 'z' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "stamp", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	struct admin ad;
	struct export_opts o;
	struct room room;
	const char *since = NULL, *until = NULL;
	int64_t now = (int64_t)time(NULL);
	char *why = NULL;
	int opt, rc = -1, no_progress = 0;
	sc_err err;

	memset(&ad, 0, sizeof(ad));
	memset(&o, 0, sizeof(o));
	memset(&room, 0, sizeof(room));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:f:o:h", opts, NULL)) != -1) {
		if (common_opt(&ad, opt, export_usage, &rc)) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (opt) {
		case 'f':
			if (export_format_parse(optarg, &o.format))
				return usage_error(export_usage,
						   "unknown format '%s'", optarg);
			break;
		case 'r': o.room_id = optarg; break;
		case 'k':
			if (!parse_kinds(optarg, &o.kinds))
				return usage_error(export_usage,
						   "unknown kind in '%s'", optarg);
			break;
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		case 'o': o.out = optarg; break;
		case 'z': o.tz = optarg; break;
		case 'P': no_progress = 1; break;
		case 'g': o.stamp = now; break;
		default: fputs(export_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(export_usage, "unexpected argument '%s'",
				   argv[optind]);
	if (o.out && !strcmp(o.out, "-"))
		o.out = NULL;
	if (o.tz && !when_tz_valid(o.tz))
		return usage_error(export_usage, "unknown time zone '%s'", o.tz);
	rc = admin_open(&ad, 1);
	if (rc)
		goto out;
	/* a name is looked up; an id is taken as is (an imported store
	 * has records of rooms it never joined) */
	if (o.room_id && o.room_id[0] != '!') {
		err = find_room(ad.st, o.room_id, &room);
		if (err) {
			rc = room_error(&ad, err, o.room_id);
			goto out;
		}
		o.room_id = room.room_id;
	}
	if (!o.tz)
		o.tz = ad.cfg.timezone;
	o.late_after = ad.cfg.meeting_late_after;
	o.deploy_tag = ad.cfg.deploy_tags ? ad.cfg.deploy_tags[0] : NULL;
	if ((since && when_parse_since(since, now, o.tz, &o.since)) ||
	    (until && when_parse_since(until, now, o.tz, &o.until))) {
		rc = usage_error(export_usage, "bad date '%s'",
				 since && !o.since ? since : until);
		goto out;
	}
	o.progress = !no_progress && isatty(2);
	err = export_run(ad.st, &o, &why);
	if (err) {
		fprintf(stderr, "scribe: error: %s\n", why ? why : sc_strerror(err));
		rc = err == SC_EINVAL ? EXIT_USAGE : store_err_code(err);
	}
out:
	free(why);
	room_clear(&room);
	admin_free(&ad);
	return rc;
}

/* ---- import ---- */

static const char import_usage[] =
	"usage: scribe import [-c bot.conf] [--store PATH] [FILE]\n"
	"\n"
	"Read JSON lines written by `scribe export --format json` (FILE or\n"
	"standard input) into the store, all or nothing: records keep their\n"
	"ids (T12), times, history, votes and meeting notes. A record whose id\n"
	"is already in the store is an error. The store is created when missing\n"
	"(and removed again when the import fails: nothing is left behind).\n";

int import_main(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct admin ad;
	const char *name = "-";
	FILE *in = stdin;
	char *why = NULL;
	int64_t n = 0;
	int opt, rc = -1;
	sc_err err;

	memset(&ad, 0, sizeof(ad));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (!common_opt(&ad, opt, import_usage, &rc)) {
			fputs(import_usage, stderr);
			return EXIT_USAGE;
		}
		if (rc >= 0)
			return rc;
	}
	if (argc - optind > 1)
		return usage_error(import_usage, "unexpected argument '%s'",
				   argv[optind + 1]);
	if (optind < argc && strcmp(argv[optind], "-")) {
		name = argv[optind];
		in = fopen(name, "r");
		if (!in) {
			fprintf(stderr, "scribe: error: cannot open '%s': %m\n", name);
			return EXIT_FAIL;
		}
	}
	rc = admin_open(&ad, 0);
	if (rc)
		goto out;
	err = import_run(ad.st, in, name, &n, &why);
	if (err) {
		fprintf(stderr, "scribe: error: %s\n", why ? why : sc_strerror(err));
		rc = err == SC_EBUSY ? EXIT_STORE : EXIT_FAIL;
		/* nothing was imported: a store made for it goes again */
		if (ad.created) {
			static const char *const ext[] = { "", "-wal", "-shm", "-journal" };
			char *path = strdup(ad.store_path);
			store_close(ad.st);
			ad.st = NULL;
			for (size_t i = 0; path && i < sizeof(ext) / sizeof(ext[0]); i++) {
				struct sbuf f;
				sbuf_init(&f, 0);
				if (!sbuf_printf(&f, "%s%s", path, ext[i]))
					unlink(f.buf);
				sbuf_release(&f);
			}
			free(path);
		}
	} else {
		printf("imported %lld records into '%s'\n", (long long)n,
		       ad.store_path);
	}
out:
	if (in != stdin)
		fclose(in);
	free(why);
	admin_free(&ad);
	return rc;
}

/* ---- log ---- */

static const char log_usage[] =
	"usage: scribe log --room ROOM [--tag TAG]... [--deploy] [--as USER]\n"
	"                  [-c bot.conf] [--store PATH] TEXT...\n"
	"\n"
	"Record a change from a script, CI job or pyinfra/ansible run, exactly\n"
	"as `!log TEXT #TAG` in the room would; the running bot announces it in\n"
	"the room. ROOM is a room id (!abc:example.org) or the room's name.\n"
	"--deploy marks it as a deploy (the first of the config's deploy_tags);\n"
	"otherwise a change is a deploy only when a --tag is one of them.\n"
	"--as credits it to who ran it: a Matrix user id (@ci:example.org,\n"
	"shown by name in the room) or any name (deploybot), shown as given.\n"
	"Default: \"CLI (HOSTNAME)\". Exit 4 when scribe does not know the room.\n";

/* Words of the !log command line: "log", the text split at blanks, one
 * "#tag" per --tag, "#deploy" for --deploy. */
struct words {
	char **v;
	int n;
};

static sc_err words_add(struct words *w, const char *prefix, const char *s,
			size_t len)
{
	char **nv = realloc(w->v, (size_t)(w->n + 2) * sizeof(*nv));
	struct sbuf sb;

	if (!nv)
		return SC_ENOMEM;
	w->v = nv;
	sbuf_init(&sb, 0);
	if (sbuf_puts(&sb, prefix) || sbuf_add(&sb, s, len)) {
		sbuf_release(&sb);
		return SC_ENOMEM;
	}
	w->v[w->n++] = sbuf_detach(&sb, NULL);
	w->v[w->n] = NULL;
	return SC_OK;
}

static sc_err words_split(struct words *w, const char *text)
{
	sc_err err = SC_OK;

	while (*text && !err) {
		size_t n;
		text += strspn(text, " \t\r\n");
		n = strcspn(text, " \t\r\n");
		if (n)
			err = words_add(w, "", text, n);
		text += n;
	}
	return err;
}

/* Queue r (the !log reply about rec) as the room's announcement. The
 * transaction id "scribe.log.C32.<created>" is derived from the record,
 * so a retry never posts it twice, and it stays unique when the store
 * is rebuilt by an import (store ids change, short ids do not). */
static sc_err queue_announcement(struct store *st, const char *room,
				 const struct reply *r)
{
	json_t *content = mx_reply_content(r, NULL, NULL);
	struct record rec;
	char txn[96], id[24], *text;
	sc_err err;

	if (!content)
		return SC_ENOMEM;
	memset(&rec, 0, sizeof(rec));
	err = store_record_get_id(st, r->record, &rec);
	text = err ? NULL : json_dumps(content, JSON_COMPACT);
	json_decref(content);
	if (!err && !text)
		err = SC_ENOMEM;
	if (!err) {
		record_short_id(&rec, id, sizeof(id));
		snprintf(txn, sizeof(txn), "scribe.log.%s.%lld", id,
			 (long long)rec.created);
		err = store_outbox_add(st, txn, room, "m.room.message", text,
				       r->record);
	}
	free(text);
	record_clear(&rec);
	return err;
}

int log_main(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "room", required_argument, NULL, 'r' },
		{ "tag", required_argument, NULL, 't' },
		{ "deploy", no_argument, NULL, 'd' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct words w = { NULL, 0 }, tags = { NULL, 0 };
	const char *room_arg = NULL, *as = NULL;
	char *author = NULL;
	unsigned char quoted[260];
	struct admin ad;
	struct cmd_ctx c;
	struct reply out;
	struct room room;
	struct args a;
	int opt, rc = -1, deploy = 0, in_tx = 0;
	sc_err err = SC_OK;

	memset(&ad, 0, sizeof(ad));
	memset(&room, 0, sizeof(room));
	reply_init(&out);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:r:t:h", opts, NULL)) != -1) {
		if (common_opt(&ad, opt, log_usage, &rc)) {
			if (rc >= 0)
				goto out;
			continue;
		}
		switch (opt) {
		case 'r': room_arg = optarg; break;
		case 't':
			err = words_add(&tags, "#", optarg + (optarg[0] == '#'),
					strlen(optarg + (optarg[0] == '#')));
			break;
		case 'd': deploy = 1; break;
		case 'a': as = optarg; break;
		default: fputs(log_usage, stderr); rc = EXIT_USAGE; goto out;
		}
		if (err)
			goto fail;
	}
	if (!room_arg) {
		rc = usage_error(log_usage, "%s", "--room is required");
		goto out;
	}
	err = words_add(&w, "", "log", 3);
	for (int i = optind; i < argc && !err; i++)
		err = words_split(&w, argv[i]);
	if (!err && w.n < 2) {
		rc = usage_error(log_usage, "%s", "what changed? give the text");
		goto out;
	}
	for (int i = 0; i < tags.n && !err; i++)
		err = words_add(&w, "", tags.v[i], strlen(tags.v[i]));
	rc = admin_open(&ad, 1);
	if (rc)
		goto out;
	if (!err && deploy)
		err = words_add(&w, "#", ad.cfg.deploy_tags && ad.cfg.deploy_tags[0]
					     ? ad.cfg.deploy_tags[0] : "deploy",
				strlen(ad.cfg.deploy_tags && ad.cfg.deploy_tags[0]
					       ? ad.cfg.deploy_tags[0] : "deploy"));
	if (err)
		goto fail;
	if (w.n > (int)sizeof(quoted)) {
		rc = usage_error(log_usage, "%s", "the text has too many words");
		goto out;
	}
	err = find_room(ad.st, room_arg, &room);
	if (err) {
		rc = room_error(&ad, err, room_arg);
		goto out;
	}
	/* who ran it, never the bot: --as as given, else the host */
	if (as) {
		author = strdup(as);
	} else {
		char host[256];
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "unknown host");
		host[sizeof(host) - 1] = '\0';
		author = malloc(strlen(host) + 8);
		if (author)
			snprintf(author, strlen(host) + 8, "CLI (%s)", host);
	}
	if (!author) {
		err = SC_ENOMEM;
		goto fail;
	}
	if (!*author || !utf8_valid(author, strlen(author)) ||
	    strpbrk(author, "\n\r\t")) {
		rc = usage_error(log_usage, "%s", "--as needs a name on one line");
		goto out;
	}

	memset(quoted, 0, sizeof(quoted));
	a.argc = w.n;
	a.argv = w.v;
	a.quoted = quoted;
	a.raw = NULL; /* the words are the text as given */
	err = reply_names(&out, ad.st, room.room_id);
	if (err)
		goto fail;
	memset(&c, 0, sizeof(c));
	c.st = ad.st;
	c.cfg = &ad.cfg;
	c.room_id = room.room_id;
	c.sender = author;
	c.event_id = NULL; /* CLI records have no source event */
	c.now = (int64_t)time(NULL);
	c.tz = room.tz ? room.tz : ad.cfg.timezone;
	c.power = 100;
	c.meeting = room.meeting;
	c.out = &out;
	err = store_tx_begin(ad.st);
	if (err)
		goto store_fail;
	in_tx = 1;
	err = cmd_log(&c, &a);
	if (err == SC_OK && out.failed)
		err = SC_EINVAL;
	if (err && out.failed) {
		fprintf(stderr, "scribe: error: %s\n", out.body.buf);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!err)
		err = queue_announcement(ad.st, room.room_id, &out);
	if (!err)
		err = store_tx_commit(ad.st);
	if (err)
		goto store_fail;
	in_tx = 0;
	printf("%s\n", out.body.buf);
	rc = EXIT_OK;
	goto out;
store_fail:
	fprintf(stderr, "scribe: error: %s\n", store_errmsg(ad.st));
	rc = store_err_code(err);
	goto out;
fail:
	fprintf(stderr, "scribe: error: %s\n", sc_strerror(err));
	rc = EXIT_FAIL;
out:
	if (in_tx)
		store_tx_rollback(ad.st);
	for (int i = 0; i < w.n; i++)
		free(w.v[i]);
	free(w.v);
	for (int i = 0; i < tags.n; i++)
		free(tags.v[i]);
	free(tags.v);
	room_clear(&room);
	reply_clear(&out);
	free(author);
	admin_free(&ad);
	return rc;
}

/* ---- db ---- */

static const char db_usage[] =
	"usage: scribe db check [-c bot.conf] [--store PATH]\n"
	"       scribe db backup [-c bot.conf] [--store PATH] PATH\n"
	"\n"
	"check   integrity and foreign keys of the store, and its schema\n"
	"        version; exit 3 when damaged\n"
	"backup  copy the store to PATH (a new file) with SQLite's online\n"
	"        backup; safe while the bot runs\n";

static int print_problem(const char *s, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "scribe: problem: %s\n", s);
	return 0;
}

static void backup_progress(int done, int total, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "\rbackup %d/%d pages", done, total);
}

int db_main(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct admin ad;
	const char *what;
	int opt, rc = -1;
	sc_err err;

	memset(&ad, 0, sizeof(ad));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (!common_opt(&ad, opt, db_usage, &rc)) {
			fputs(db_usage, stderr);
			return EXIT_USAGE;
		}
		if (rc >= 0)
			return rc;
	}
	if (optind >= argc)
		return usage_error(db_usage, "%s", "check or backup?");
	what = argv[optind++];
	if (!strcmp(what, "check")) {
		int64_t problems = 0;
		if (optind < argc)
			return usage_error(db_usage, "unexpected argument '%s'",
					   argv[optind]);
		rc = admin_open(&ad, 1);
		if (rc)
			goto out;
		printf("store '%s': schema version %d (this scribe: %d)\n",
		       ad.store_path, store_schema_version(ad.st),
		       store_schema_latest());
		err = store_check(ad.st, print_problem, NULL, &problems);
		if (err) {
			fprintf(stderr, "scribe: error: %s\n", store_errmsg(ad.st));
			rc = EXIT_STORE;
		} else if (problems) {
			printf("integrity: %lld problems\n", (long long)problems);
			rc = EXIT_STORE;
		} else {
			printf("integrity: ok\n");
		}
	} else if (!strcmp(what, "backup")) {
		if (optind != argc - 1)
			return usage_error(db_usage, "%s",
					   "backup needs one PATH");
		rc = admin_open(&ad, 1);
		if (rc)
			goto out;
		err = store_backup(ad.st, argv[optind],
				   isatty(2) ? backup_progress : NULL, NULL);
		if (isatty(2))
			fputc('\n', stderr);
		if (err) {
			fprintf(stderr, "scribe: error: %s\n", store_errmsg(ad.st));
			rc = err == SC_EBUSY ? EXIT_STORE : EXIT_FAIL;
		} else {
			printf("backed up '%s' to '%s'\n", ad.store_path,
			       argv[optind]);
		}
	} else {
		return usage_error(db_usage, "unknown db command '%s'", what);
	}
out:
	admin_free(&ad);
	return rc;
}

/* ---- stats ---- */

static const char stats_usage[] =
	"usage: scribe stats [-c bot.conf] [--store PATH]\n"
	"\n"
	"Records per room and kind, history entries and the store's size.\n";

struct stats {
	char *room;
	int64_t row[REC_NKINDS], total[REC_NKINDS];
};

static void stats_row(const char *room, const int64_t *n)
{
	int64_t sum = 0;

	printf("%-40s", room);
	for (int k = 0; k < REC_NKINDS; k++) {
		printf(" %9lld", (long long)n[k]);
		sum += n[k];
	}
	printf(" %9lld\n", (long long)sum);
}

static int stats_cb(const char *room_id, enum rec_kind kind, int64_t n,
		    void *ctx)
{
	struct stats *s = ctx;

	if (s->room && strcmp(s->room, room_id)) {
		stats_row(s->room, s->row);
		memset(s->row, 0, sizeof(s->row));
		free(s->room);
		s->room = NULL;
	}
	if (!s->room)
		s->room = strdup(room_id);
	s->row[kind] += n;
	s->total[kind] += n;
	return s->room == NULL;
}

int stats_main(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct stats s;
	struct admin ad;
	int64_t bytes = 0, hist = 0;
	int opt, rc = -1;
	sc_err err;

	memset(&ad, 0, sizeof(ad));
	memset(&s, 0, sizeof(s));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (!common_opt(&ad, opt, stats_usage, &rc)) {
			fputs(stats_usage, stderr);
			return EXIT_USAGE;
		}
		if (rc >= 0)
			return rc;
	}
	if (optind < argc)
		return usage_error(stats_usage, "unexpected argument '%s'",
				   argv[optind]);
	rc = admin_open(&ad, 1);
	if (rc)
		goto out;
	printf("%-40s", "room");
	for (int k = 0; k < REC_NKINDS; k++)
		printf(" %9s", rec_kind_name((enum rec_kind)k));
	printf(" %9s\n", "total");
	err = store_stats(ad.st, stats_cb, &s);
	if (!err && s.room)
		stats_row(s.room, s.row);
	if (!err)
		stats_row("all rooms", s.total);
	if (!err)
		err = store_size(ad.st, &bytes, &hist);
	if (err) {
		fprintf(stderr, "scribe: error: %s\n", store_errmsg(ad.st));
		rc = store_err_code(err);
		goto out;
	}
	printf("\nhistory entries: %lld\nstore: %s, %.1f MiB, schema version %d\n",
	       (long long)hist, ad.store_path, (double)bytes / (1024.0 * 1024.0),
	       store_schema_version(ad.st));
out:
	free(s.room);
	admin_free(&ad);
	return rc;
}
