/* SPDX-License-Identifier: MIT */
/*
 * cmd.h - the command engine: one table of chat commands, a dispatcher
 * and the context handlers run in.
 *
 * How to add a command (git's builtin.h checklist):
 *   1. Write `sc_err cmd_xxx(struct cmd_ctx *c, const struct args *a)` in
 *      the commands/ file of its family (or a new commands/<family>.c).
 *      It reads its arguments, talks only to c->st (the store) and
 *      appends to c->out; it never does I/O itself.
 *   2. Declare it in include/commands.h.
 *   3. Add a row to the table in commands/table.c, keeping it sorted by
 *      name: arity (argv[0] counts), flags, a one-line summary and a
 *      usage line. !help and the README's command list come from it.
 *   4. Add cases to tests/cmd/<family>.txt (input line, expected reply,
 *      expected record) and run `make test`.
 *
 * Errors: a handler that refuses input calls cmd_fail() (which writes the
 * reply) and returns its result; the dispatcher then rolls back the
 * command's transaction, so a refused command never leaves a
 * half-written record.
 */
#ifndef SCRIBE_CMD_H
#define SCRIBE_CMD_H

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "sbuf.h"
#include "store.h"

/* Most bytes of a command line scribe will look at. */
#define CMD_LINE_MAX 16384
/* Most bytes of one reply (a long !todos is cut with a note). */
#define REPLY_MAX 32768

/* What a command answers: one message with a plain and an HTML body.
 * With mentions the message is an m.text that pings exactly those users
 * (its job is to ping); without, an m.notice that pings nobody. */
struct reply {
	struct sbuf body;
	struct sbuf html;
	char **mentions;   /* user ids, owned; nmentions entries */
	size_t nmentions;
	int64_t record;    /* record id the reply is about (votes), 0 */
	int failed;        /* the reply is an error or usage message */
};

void reply_init(struct reply *r);
void reply_clear(struct reply *r);
/* Add a user to ping (no duplicates). */
sc_err reply_mention(struct reply *r, const char *user_id);
/* Append text to both bodies (escaped in HTML). */
sc_err reply_text(struct reply *r, const char *s);
sc_err reply_textf(struct reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append raw HTML to the HTML body only / plain to the plain body only. */
sc_err reply_html(struct reply *r, const char *html);
sc_err reply_plain(struct reply *r, const char *s);
/* Append "<b>T12</b>" / "T12". */
sc_err reply_id(struct reply *r, const struct record *rec);
/* Append a user as a matrix.to link (HTML) and "@user:server" (plain). */
sc_err reply_user(struct reply *r, const char *user_id);
/* Append text in bold (HTML) / as is (plain). */
sc_err reply_bold(struct reply *r, const char *s);
/* Append a line break to both bodies. */
sc_err reply_nl(struct reply *r);

/* Everything a handler may know about the command it runs. */
struct cmd_ctx {
	struct store *st;
	const struct config *cfg;
	const char *room_id;
	const char *sender;      /* Matrix user id of who typed it */
	const char *event_id;    /* source event (console: a made-up one) */
	const char *html;        /* formatted_body of the command or NULL */
	int64_t now;             /* unix seconds */
	const char *tz;          /* the room's IANA time zone */
	int power;               /* sender's power level in the room */
	int64_t meeting;         /* running meeting record id in the room, 0 */
	int64_t last_spoke;      /* sender's previous message here, 0 = never */
	struct reply *out;
};

/* Arguments after tokenizing: argv[0] is the command name (without the
 * prefix); quoted[i] says argv[i] was quoted (so "due:fri" in quotes is
 * text, not an option). */
struct args {
	int argc;
	char **argv;
	unsigned char *quoted;
};
void args_clear(struct args *a);

/*
 * Split a command line into words: whitespace separates; a word starting
 * with a double quote runs to the closing quote (a backslash escapes the
 * next character inside). Apostrophes are ordinary characters.
 * Invalid UTF-8 or an unterminated quote → SC_EINVAL. At most 256 words.
 */
sc_err cmd_tokenize(const char *line, struct args *out);

enum cmd_flags {
	CMD_WRITE = 1 << 0,      /* changes the record (runs in a transaction) */
	CMD_PRIVILEGED = 1 << 1, /* needs cfg->privileged_power or an admin */
};

struct command {
	const char *name;
	sc_err (*fn)(struct cmd_ctx *c, const struct args *a);
	int min_args;  /* including argv[0] */
	int max_args;  /* including argv[0]; -1 = any */
	unsigned flags;
	const char *summary;
	const char *usage; /* without the prefix: "todo @user text [due:fri]" */
};

/* The table, sorted by name; n entries in *count. */
const struct command *cmd_table(size_t *count);
/* Binary search by exact name; NULL if none. */
const struct command *cmd_lookup(const char *name);

/* Write a failure reply (plain and escaped HTML) and return err. */
sc_err cmd_fail(struct cmd_ctx *c, sc_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* 1 if the sender is an admin or has the privileged power level here
 * (the dispatcher's rule for CMD_PRIVILEGED; handlers with a privileged
 * sub-form use it too). */
int cmd_privileged(const struct cmd_ctx *c);
/* Write "usage: !<usage>" for cmd and return SC_EINVAL. */
sc_err cmd_usage(struct cmd_ctx *c, const struct command *cmd);

/*
 * Run one chat line. Lines not starting with the prefix are not
 * commands: during a meeting they may carry #todo/#action/#decision/
 * #info tags (recorded); otherwise nothing happens and *handled = 0.
 * For a command: lookup → arity → permission → run in a transaction
 * (rolled back on failure) → reply in c->out, *handled = 1. Returns
 * SC_OK when the line was handled (even if the reply is an error
 * message the user should see); another value only when the store
 * itself failed and the caller should retry the whole batch.
 */
sc_err cmd_dispatch(struct cmd_ctx *c, const char *line, int *handled);

#endif
