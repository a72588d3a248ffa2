/* SPDX-License-Identifier: MIT */
/*
 * console.h - `scribe console`: the command engine on stdin/stdout
 * against the local store, no homeserver needed (hubot's shell adapter,
 * errbot's text backend). The embedded default for trying scribe.
 */
#ifndef SCRIBE_CONSOLE_H
#define SCRIBE_CONSOLE_H

/* Entry point of the subcommand; returns the process exit code. */
int console_main(int argc, char **argv);

#endif
