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
#include "people.h"
#include "sbuf.h"
#include "store.h"

/* Most bytes of a command line scribe will look at. */
#define CMD_LINE_MAX 16384

/*
 * The size budget of one reply. A homeserver refuses an event over
 * 65,536 bytes (Synapse: the whole PDU as canonical JSON, 413
 * M_TOO_LARGE), and the reply is then lost. In an encrypted room the
 * content is wrapped in {type, content, room_id}, Megolm-encrypted and
 * base64-encoded (x 4/3) before the PDU envelope (ids, hashes,
 * signatures: about 2 KB) is added, so the content's JSON must stay
 * under about 46,000 bytes; the Matrix layer cuts any content over
 * 40,000 as a last resort. Replies are built to stay well below that:
 *
 *   plain body       <= 12,000 bytes
 *   HTML body        <= 24,000 bytes (escaping and links make it about
 *                       twice the plain one)
 *   m.mentions ids   <=  2,000 bytes (about 80 people)
 *   the rest         <     900 bytes (msgtype, format, m.relates_to
 *                       with two event ids of at most 255 bytes)
 *
 * about 38,900 bytes of content JSON in all: 1,100 below the Matrix
 * layer's net, and about 52,000 bytes encrypted plus the envelope.
 * Sizes are counted as they will be sent: JSON-escaped (`"` and `\`
 * take 2 bytes, \n \t 2, other control characters 6: "\u0001"), and
 * the HTML body after HTML escaping (`<` is "&lt;", `"` "&quot;"),
 * non-ASCII as its UTF-8 bytes (jansson and canonical JSON write it
 * raw).
 */
#define REPLY_BODY_MAX 12000
#define REPLY_HTML_MAX 24000
#define REPLY_MENTIONS_MAX 2000
/* Both bodies together. */
#define REPLY_MAX (REPLY_BODY_MAX + REPLY_HTML_MAX)
/* Most characters of a record's text (or rationale, note, title) a list
 * line shows, and a reply about one record echoes; longer ones end in
 * "…". The record keeps all of it (scribe export shows it). */
#define REPLY_LINE_CHARS 200
#define REPLY_ECHO_CHARS 500
/* Room (in each body) a list keeps free while it adds lines, for its
 * closing "… and N more (how to see them)". */
#define REPLY_TRAILER_ROOM 320

/*
 * What a command answers: one message with a plain and an HTML body.
 * With mentions the message is an m.text that pings exactly those users
 * (its job is to ping); without, an m.notice that pings nobody.
 *
 * A reply always fits the budget above and its HTML is always well
 * formed: every append is whole or not at all, except text, which is
 * shortened to the room left and ends in "…". The first append that
 * does not fit makes the reply *full*: "…" marks the end (room for it
 * is always kept) and later appends are dropped. So appending never
 * fails for size: the reply_* functions return SC_OK or SC_ENOMEM.
 * Lists use reply_list (below) to stop at the last whole line instead.
 */
struct reply {
	struct sbuf body;
	struct sbuf html;
	char **mentions;   /* user ids, owned; nmentions entries */
	size_t nmentions;
	int64_t record;    /* record id the reply is about (votes), 0 */
	int failed;        /* the reply is an error or usage message */
	int full;          /* something did not fit; the reply ends in "…" */
	/* JSON-escaped bytes used, and kept free by reply_reserve */
	size_t body_cost, html_cost, mentions_cost;
	size_t body_keep, html_keep;
	/* how reply_user shows people (reply_names); no store: ids */
	struct person_names names;
};

void reply_init(struct reply *r);
void reply_clear(struct reply *r);
/* Empty both bodies (mentions and record stay); the reply is not full
 * any more. */
void reply_reset(struct reply *r);
/* Add a user to ping (no duplicates). Past REPLY_MENTIONS_MAX bytes of
 * ids nobody more is added (the body still names them). */
sc_err reply_mention(struct reply *r, const char *user_id);
/* Append text to both bodies (escaped in HTML), shortened with "…" to
 * the room left. */
sc_err reply_text(struct reply *r, const char *s);
sc_err reply_textf(struct reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* reply_text of s shortened to at most max characters (at a UTF-8
 * character boundary) and "…": how a record's text is shown. */
sc_err reply_snip(struct reply *r, const char *s, size_t max);
/* reply_snip (max 0 = no limit) with s between the raw HTML tags open
 * and close (NULL = none) in the HTML body, e.g. "<b>" and "</b>". */
sc_err reply_wrap(struct reply *r, const char *s, size_t max,
		  const char *open, const char *close);
/* Append plain to the plain body and raw HTML to the HTML body, both
 * whole or neither; reply_html / reply_plain append to one only. */
sc_err reply_raw(struct reply *r, const char *plain, const char *html);
sc_err reply_html(struct reply *r, const char *html);
sc_err reply_plain(struct reply *r, const char *s);
/* Append "<b>T12</b>" / "T12". */
sc_err reply_id(struct reply *r, const struct record *rec);
/*
 * Show people by name: after reply_names(r, st, room), reply_user writes
 * each user as their current display name in room (the localpart when
 * they have none; the full id when another member of the room would
 * look the same). Without it, or for a user the store cannot name,
 * the id. st is borrowed and must outlive the reply; room is copied.
 */
sc_err reply_names(struct reply *r, struct store *st, const char *room_id);
/* The label reply_user shows for user_id (borrowed from r's cache until
 * reply_clear; NULL when out of memory). Not a user id ("deploybot",
 * "CLI (build1)": the CLI credits a free name): itself. */
const char *reply_user_label(struct reply *r, const char *user_id);
/* Append a user as a matrix.to link (HTML) around its label, and the
 * label (plain): "Elon Musk", "elon", "@elon:example.org" (see
 * reply_names). A name that is no user id is plain text in both. */
sc_err reply_user(struct reply *r, const char *user_id);
/* Append text in bold (HTML) / as is (plain). */
sc_err reply_bold(struct reply *r, const char *s);
/* Append a line break to both bodies. */
sc_err reply_nl(struct reply *r);

/* A place in a reply to go back to (a line that did not fit). */
struct reply_mark {
	size_t body_len, html_len, body_cost, html_cost;
	int full;
};
void reply_mark(const struct reply *r, struct reply_mark *m);
/* Drop everything appended since m (mentions stay). */
void reply_rewind(struct reply *r, const struct reply_mark *m);
/* The room left in each body (reserved room and the mark's excluded). */
void reply_room(const struct reply *r, size_t *body, size_t *html);
/* Keep body/html bytes free for what the caller writes at the end
 * (closing tags, "… and N more"): appends stop short of them. */
void reply_reserve(struct reply *r, size_t body, size_t html);
/* Give reserved room back and take appends again (a full reply is
 * reopened: the caller writes its ending into the room it kept). */
void reply_release(struct reply *r, size_t body, size_t html);

/*
 * A list written into a reply a line at a time: a line goes in whole
 * or not at all, at most max lines, and the list keeps
 * REPLY_TRAILER_ROOM free so that its ending ("… and N more") always
 * fits. Per line:
 *
 *	if (!reply_list_begin(&l))
 *		stop (or go on counting what is left out);
 *	... append the line ...
 *	reply_list_end(&l);   (0: it did not fit and was taken back)
 *
 * then reply_list_close(&l) and write the ending when l.stopped.
 */
struct reply_list {
	struct reply *r;
	int max;           /* most lines; negative = as many as fit */
	int64_t shown;     /* lines kept */
	int stopped;       /* a line did not fit, or max lines are shown */
	int open;          /* the trailer room is reserved */
	struct reply_mark line;
};
void reply_list_open(struct reply_list *l, struct reply *r, int max);
/* 1 if a line may be appended now (marks its start), 0 when stopped. */
int reply_list_begin(struct reply_list *l);
/* Keep the line appended since reply_list_begin (1), or take it back
 * and stop the list when it made the reply full (0). */
int reply_list_end(struct reply_list *l);
/* Release the trailer room (idempotent). */
void reply_list_close(struct reply_list *l);

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
	const char *user_tz;     /* the sender's own zone (!tz me), or NULL */
};

/* The zone the times a sender types are read in: their own (!tz me),
 * else the room's. */
static inline const char *cmd_input_tz(const struct cmd_ctx *c)
{
	return c->user_tz ? c->user_tz : c->tz;
}

/* Arguments after tokenizing: argv[0] is the command name (without the
 * prefix); quoted[i] says argv[i] was quoted (so "due:fri" in quotes is
 * text, not an option): ARG_QUOTED for "…", ARG_NAME for @"Elon Musk"
 * (argv "@Elon Musk", a person's name with spaces). raw[i] is the word
 * exactly as typed, quotes included: what a record's text keeps (raw
 * may be NULL in an args built by hand: then argv is the text). */
enum { ARG_PLAIN = 0, ARG_QUOTED = 1, ARG_NAME = 2 };
struct args {
	int argc;
	char **argv;
	unsigned char *quoted;
	char **raw;
};
void args_clear(struct args *a);
/* The word i as typed (raw[i], or argv[i] without raw). */
static inline const char *arg_raw(const struct args *a, int i)
{
	return a->raw ? a->raw[i] : a->argv[i];
}

/*
 * Split a command line into words: whitespace separates; a word starting
 * with a double quote runs to the closing quote (a backslash escapes the
 * next character inside), and so does one starting with @" (a name with
 * spaces). Apostrophes are ordinary characters. Invalid UTF-8 or an
 * unterminated quote → SC_EINVAL. At most 256 words.
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
/* The command whose name is nearest to a mistyped one ("tood" → todo:
 * at most two letters added, dropped, changed or swapped, and fewer
 * than half the word), or NULL when none is that near. */
const struct command *cmd_nearest(const char *name);

/*
 * Chat lines without the prefix are no commands, but a command family
 * may read some of them in a syntax of its own (#tags). The commands
 * layer defines this one hook, as it defines the table; the dispatcher
 * asks wants() of every such line and runs fn() on those it wants the
 * way it runs a command: in a transaction of its own, rolled back when
 * fn fails or writes a failure reply.
 */
struct cmd_line_hook {
	/* 1 if line is the family's to handle in c; no store access */
	int (*wants)(const struct cmd_ctx *c, const char *line);
	/* handle it; *handled = 1 when c->out holds a reply */
	sc_err (*fn)(struct cmd_ctx *c, const char *line, int *handled);
};
extern const struct cmd_line_hook cmd_line_hook;

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
 * commands: those cmd_line_hook wants go to it (run as above, *handled
 * as it says); otherwise nothing happens and *handled = 0.
 * For a command: lookup → arity → permission → run in a transaction
 * (rolled back on failure) → reply in c->out, *handled = 1. Returns
 * SC_OK when the line was handled (even if the reply is an error
 * message the user should see); another value only when the store
 * itself failed and the caller should retry the whole batch.
 */
sc_err cmd_dispatch(struct cmd_ctx *c, const char *line, int *handled);

#endif
