/* SPDX-License-Identifier: MIT */
/*
 * admin.h - the admin subcommands of the `scribe` binary (src/admin.c):
 * export, import, log, db, stats. Each takes the subcommand's argv
 * (argv[0] is its name), prints errors on stderr as "scribe: error: ..."
 * and returns the process exit code documented in main.c and scribe(1):
 * 0 ok, 1 failure at run time, 2 usage or configuration, 3 store
 * missing, locked or damaged, 4 unknown room (log).
 *
 * Options common to all: -c CONF (bot.conf, for the store path, time
 * zone and deploy tags) and --store PATH (wins over the config).
 */
#ifndef SCRIBE_ADMIN_H
#define SCRIBE_ADMIN_H

int export_main(int argc, char **argv);
int import_main(int argc, char **argv);
int log_main(int argc, char **argv);
int db_main(int argc, char **argv);
int stats_main(int argc, char **argv);

#endif
