/* SPDX-License-Identifier: MIT */
/*
 * main.c - the `scribe` binary: one table of subcommands (git's
 * commands[]), each with its own --help. Only main() calls exit.
 *
 * Exit codes (documented in the README): 0 success, 1 failure at run
 * time, 2 bad usage or configuration, 3 the store is missing, locked or
 * damaged, 4 unknown room (scribe log), 5 the homeserver refused the
 * credentials.
 *
 * Files are created private to scribe's user (umask 077, set here
 * before any subcommand runs), or readable by [store] group.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "admin.h"
#include "bot.h"
#include "console.h"
#include "crypto.h"
#include "matrix.h"
#include "store.h"
#include "banned.h"

#define SCRIBE_VERSION "0.1.0"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static int version_main(int argc, char **argv);
static int help_main(int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "console", console_main, "try the commands on stdin/stdout, no homeserver needed" },
	{ "db", db_main, "check the store's integrity or back it up while the bot runs" },
	{ "export", export_main, "export records as JSON lines, CSV, Markdown, ADRs or minutes" },
	{ "help", help_main, "show this list" },
	{ "import", import_main, "read a JSON lines export back into a store" },
	{ "log", log_main, "record a change from a script; the bot announces it" },
	{ "login", login_main, "log in with a password and store the access token" },
	{ "run", run_main, "run the Matrix bot" },
	{ "stats", stats_main, "records per room and kind, store size" },
	{ "version", version_main, "print the version" },
};

static int version_main(int argc, char **argv)
{
	char olm[32];

	(void)argc;
	(void)argv;
	crypto_library_version(olm, sizeof(olm));
	/* which libraries, and which build (CURL=lean shows mbedTLS) */
	printf("scribe %s\n%s\nSQLite %s, jansson %s, libolm %s\n", SCRIBE_VERSION,
	       mx_library_version(), store_library_version(), jansson_version_str(), olm);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: scribe <command> [options]   (scribe <command> --help for more)\n\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
}

static int help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	/*
	 * The store, its -wal and -shm (SQLite gives them the store's
	 * mode), backups and exports hold the whole record: whatever umask
	 * scribe was started with, what it creates is its user's alone
	 * (0600, folders 0700). [store] group opens them to one group
	 * (config_apply_group, once the config is read).
	 */
	umask(077);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_main(argc, argv);
	if (!strcmp(argv[1], "--version"))
		return version_main(argc, argv);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (!strcmp(argv[1], subcommands[i].name)) {
			int rc;
			if (mx_global_init() != SC_OK) {
				fprintf(stderr, "scribe: error: cannot initialise libcurl\n");
				return 1;
			}
			rc = subcommands[i].fn(argc - 1, argv + 1);
			mx_global_cleanup();
			return rc;
		}
	}
	fprintf(stderr, "scribe: error: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
