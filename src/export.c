/* SPDX-License-Identifier: MIT */
/*
 * export.c - `scribe export` in its five formats and `scribe import` of
 * the JSON lines (export.h is the contract). Records stream from the
 * store; each format writes as it goes, so a million records need no
 * more memory than one. Output never depends on the current time: the
 * same records give the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bgwrite.h"
#include "canonjson.h"
#include "export.h"
#include "people.h"
#include "export_html.h"
#include "store.h"
#include "store_admin.h"
#include "when.h"
#include "banned.h"

/* Exports smaller than this draw no progress bar. */
#define PROGRESS_MIN 20000
/* Longest slug in a file name (adr-tools keeps them short too). */
#define SLUG_MAX 50

/* ---- small pieces ---- */

sc_err export_format_parse(const char *s, enum export_format *out)
{
	static const struct {
		const char *name;
		enum export_format f;
	} names[] = {
		{ "json", FMT_JSON }, { "jsonl", FMT_JSON }, { "csv", FMT_CSV },
		{ "md", FMT_MD }, { "markdown", FMT_MD }, { "adr", FMT_ADR },
		{ "minutes", FMT_MINUTES }, { "html", FMT_HTML },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*out = names[i].f;
			return SC_OK;
		}
	}
	return SC_EINVAL;
}

sc_err iso_utc(struct sbuf *out, int64_t t)
{
	struct tm tm;
	char b[20];
	int y;

	if (when_utc(t, &tm) || tm.tm_year < -1900 || tm.tm_year > 8099)
		return SC_EINVAL;
	/* by hand: strftime was a visible share of a large export */
	y = tm.tm_year + 1900;
	b[0] = (char)('0' + y / 1000);
	b[1] = (char)('0' + y / 100 % 10);
	b[2] = (char)('0' + y / 10 % 10);
	b[3] = (char)('0' + y % 10);
	b[4] = '-';
	b[5] = (char)('0' + (tm.tm_mon + 1) / 10);
	b[6] = (char)('0' + (tm.tm_mon + 1) % 10);
	b[7] = '-';
	b[8] = (char)('0' + tm.tm_mday / 10);
	b[9] = (char)('0' + tm.tm_mday % 10);
	b[10] = 'T';
	b[11] = (char)('0' + tm.tm_hour / 10);
	b[12] = (char)('0' + tm.tm_hour % 10);
	b[13] = ':';
	b[14] = (char)('0' + tm.tm_min / 10);
	b[15] = (char)('0' + tm.tm_min % 10);
	b[16] = ':';
	b[17] = (char)('0' + tm.tm_sec / 10);
	b[18] = (char)('0' + tm.tm_sec % 10);
	b[19] = 'Z';
	return sbuf_add(out, b, sizeof(b));
}

sc_err iso_utc_parse(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, se, n = 0;
	time_t t;

	if (strlen(s) != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se,
		   &n) != 6 || n != 20)
		return SC_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	/* timegm normalises 2026-02-30; a real date comes back unchanged */
	if (tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 || tm.tm_mday != d ||
	    tm.tm_hour != h || tm.tm_min != mi || tm.tm_sec != se)
		return SC_EINVAL;
	*out = (int64_t)t;
	return SC_OK;
}

/* 1 when s[0..n) is a Matrix user id of the current grammar: '@', a
 * localpart of a-z 0-9 . _ = - / +, ':' and a server name (letters,
 * digits, . - and a port or an IPv6 literal). Such an id holds no '(',
 * '|', '!' or quote, so a spreadsheet cannot make a call, a DDE link or
 * an external reference of it: it is not a formula to fear. */
static int plain_user_id(const char *s, size_t n)
{
	size_t i = 1, local;

	if (n < 4 || s[0] != '@')
		return 0;
	while (i < n &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		strchr("._=-/+", s[i])))
		i++;
	local = i - 1;
	if (!local || i >= n - 1 || s[i] != ':')
		return 0;
	for (i++; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(".-:[]", s[i])))
			return 0;
	return 1;
}

/* 1 when a spreadsheet opening the cell s (n bytes) would take it for a
 * formula: it starts, after any spaces, with one of OWASP's = + - @,
 * tab or CR. Cells that are only plain user ids separated by spaces
 * (an author, the assignees) are left as they are. */
static int csv_formula(const char *s, size_t n)
{
	size_t i = strspn(s, " "), start;

	if (i == n || !strchr("=+-@\t\r", s[i]))
		return 0;
	for (start = i = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (i > start && !plain_user_id(s + start, i - start))
			return 1;
		start = i + 1;
	}
	return 0;
}

sc_err csv_field(struct sbuf *out, const char *s)
{
	size_t n;
	int formula;
	sc_err err = SC_OK;

	if (!s || !*s)
		return SC_OK;
	n = strlen(s);
	formula = csv_formula(s, n);
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && s[n - 1] != ' ') {
		err = formula ? sbuf_putc(out, '\'') : SC_OK;
		return err ? err : sbuf_add(out, s, n);
	}
	err = sbuf_putc(out, '"');
	if (!err && formula)
		err = sbuf_putc(out, '\'');
	for (const char *p = s; *p && !err; p++)
		err = *p == '"' ? sbuf_add(out, "\"\"", 2) : sbuf_putc(out, *p);
	if (!err)
		err = sbuf_putc(out, '"');
	return err;
}

sc_err export_slug(struct sbuf *out, const char *s, size_t max)
{
	size_t start = out->len, last_word_end = 0;
	int dash = 0;
	sc_err err = SC_OK;

	for (const unsigned char *p = (const unsigned char *)s; *p && !err; p++) {
		int c = *p;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && out->len > start) {
				last_word_end = out->len;
				if (out->len - start + 1 >= max)
					break;
				err = sbuf_putc(out, '-');
			}
			dash = 0;
			if (!err && out->len - start >= max) {
				sbuf_setlen(out, last_word_end ? last_word_end
							       : start + max);
				break;
			}
			if (!err)
				err = sbuf_putc(out, (char)c);
		} else {
			dash = 1;
		}
	}
	if (!err && out->len == start)
		err = sbuf_puts(out, "untitled");
	return err;
}

/* Append t in tz with strftime format fmt. UTC (the common case, and
 * the bench's) skips the zone switch of when_format. */
static sc_err local_fmt(struct sbuf *out, const char *tz, int64_t t,
			const char *fmt)
{
	struct tm tm;
	char buf[64];

	if (tz && strcmp(tz, "UTC"))
		return when_format(t, tz, fmt, out);
	if (when_utc(t, &tm) || !strftime(buf, sizeof(buf), fmt, &tm))
		return SC_EINVAL;
	return sbuf_puts(out, buf);
}

/*
 * Append s[0..n) as text on one Markdown line. Whatever the record says
 * (it may come from anyone in a room, or from an import), it stays text
 * on its line: line breaks become spaces, and what would start markup
 * is backslash-escaped: '<' (raw HTML: <script>, <img onerror=...>,
 * autolinks), '[' and ']' (links and images: [x](javascript:...), and
 * the end of a link scribe writes around a title), '\\' itself, and '|'
 * in a table cell, which would start the next cell.
 */
static sc_err md_textn(struct sbuf *out, const char *s, size_t n, int table)
{
	const char *run = s, *end = s + n;
	sc_err err = SC_OK;

	for (const char *p = s; p < end && !err; p++) {
		if (*p != '\n' && *p != '\r' && *p != '<' && *p != '\\' &&
		    *p != '[' && *p != ']' && (*p != '|' || !table))
			continue;
		err = sbuf_add(out, run, (size_t)(p - run));
		run = p + 1;
		if (!err && (*p == '\n' || *p == '\r'))
			err = sbuf_putc(out, ' ');
		else if (!err)
			err = sbuf_add(out, (const char[]){ '\\', *p }, 2);
	}
	return err ? err : sbuf_add(out, run, (size_t)(end - run));
}

static sc_err md_text(struct sbuf *out, const char *s, int table)
{
	return md_textn(out, s, strlen(s), table);
}

/* Append the user's localpart, as Markdown text: "elon" for
 * "@elon:example.org" (a user id may hold '<' or '[' too). */
static sc_err localpart(struct sbuf *out, const char *user_id)
{
	const char *p = user_id[0] == '@' ? user_id + 1 : user_id;
	const char *colon = strchr(p, ':');

	return md_textn(out, p, colon ? (size_t)(colon - p) : strlen(p), 0);
}

/*
 * Append s as a Markdown code span (`!ops:example.org`), whatever it
 * holds: the fence is one backtick longer than the longest run of
 * backticks in s, with a space inside it when s starts or ends with a
 * backtick (CommonMark's rule), and line breaks become spaces, so no
 * room id can end the span early and write HTML or a heading.
 */
static sc_err md_code(struct sbuf *out, const char *s)
{
	size_t run = 0, longest = 0, n = strlen(s);
	int pad = n && (s[0] == '`' || s[n - 1] == '`');
	sc_err err = SC_OK;

	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	for (size_t i = 0; i <= longest && !err; i++)
		err = sbuf_putc(out, '`');
	if (!err && pad)
		err = sbuf_putc(out, ' ');
	for (const char *p = s; *p && !err; p++)
		err = sbuf_putc(out, *p == '\n' || *p == '\r' ? ' ' : *p);
	if (!err && pad)
		err = sbuf_putc(out, ' ');
	for (size_t i = 0; i <= longest && !err; i++)
		err = sbuf_putc(out, '`');
	return err;
}

/* ---- output files ---- */

/*
 * A file being written: in 1 MiB writes by a background thread
 * (bgwrite.h), so the JSON of a million records (700 MB) is written
 * while the next records are read and formatted. Standard output goes
 * through stdio.
 *
 * A new file's bytes go to a file with no name (O_TMPFILE) in the
 * target's folder, which gets its name only when it is complete: an
 * export that fails, is interrupted or crashes (kill -9, an abort())
 * leaves the folder as it was, with neither a temporary file nor half
 * an export in it. The name is given with linkat, or, over an older
 * file, with linkat to a temporary name and rename over the old one, a
 * step no catchable signal can interrupt. A file system without
 * O_TMPFILE (or no /proc to name the file through) gets the temporary
 * file by name instead, removed when the export fails.
 */
struct outf {
	FILE *f;        /* stdout */
	struct bgw *w;  /* a file */
	struct sbuf *mem; /* or collected here: a whole file for bgf_put */
	struct sbuf path, tmp;
	int fd;         /* the unnamed file (a second descriptor: bgw
			 * closes its own), -1 when tmp is its name */
	int is_stdout;
	int direct; /* written in place: a device, FIFO or socket */
};

static sc_err why_set(char **why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static sc_err why_set(char **why, const char *fmt, ...)
{
	struct sbuf sb;
	va_list ap;

	sbuf_init(&sb, 4096);
	va_start(ap, fmt);
	sbuf_vprintf(&sb, fmt, ap);
	va_end(ap);
	free(*why);
	*why = sbuf_detach(&sb, NULL);
	return SC_OK;
}

/* An unnamed file in the folder of path (O_TMPFILE), or -1 with errno;
 * EOPNOTSUPP when this system cannot make or later name one. */
static int open_unnamed(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct sbuf dir;
	int fd = -1;

	/* it is named through /proc/self/fd (linkat's AT_EMPTY_PATH
	 * would need CAP_DAC_READ_SEARCH) */
	if (access("/proc/self/fd", X_OK)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	sbuf_init(&dir, 0);
	if (!slash)
		sbuf_putc(&dir, '.');
	else if (slash == path)
		sbuf_putc(&dir, '/');
	else
		sbuf_add(&dir, path, (size_t)(slash - path));
	if (dir.len) /* else out of memory: ENOMEM from the open below */
		fd = open(dir.buf, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	else
		errno = ENOMEM;
	/* EISDIR: a kernel without O_TMPFILE; EOPNOTSUPP: the file system */
	if (fd < 0 && (errno == EISDIR || errno == EINVAL))
		errno = EOPNOTSUPP;
	sbuf_release(&dir);
	return fd;
}

/* Give the unnamed file fd the name path, replacing a file there
 * through the name tmp; 0, or -1 with errno. */
static int name_unnamed(int fd, const char *path, const char *tmp)
{
	char proc[40];
	sigset_t all, old;
	int rc, e = 0;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW))
		return 0;
	if (errno != EEXIST)
		return -1;
	/* Nothing but kill -9 may end scribe between the link and the
	 * rename: that would leave the temporary name behind. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
	if (rc && errno == EEXIST) { /* left by a process of our pid */
		unlink(tmp);
		rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
	}
	if (!rc && rename(tmp, path)) {
		e = errno;
		unlink(tmp);
		rc = -1;
	} else if (rc) {
		e = errno;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return rc;
}

/* Open dir/name (dir NULL and name NULL = stdout). Only a regular file
 * (or a new one) is written by rename: anything else that exists there
 * (/dev/null, a FIFO, /dev/stdout) is written in place, never replaced. */
static sc_err outf_open(struct outf *o, const char *dir, const char *name,
			char **why)
{
	struct stat sb;
	sc_err err = SC_OK;
	int fd = -1;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	sbuf_init(&o->path, 0);
	sbuf_init(&o->tmp, 0);
	if (!dir && !name) {
		o->f = stdout;
		o->is_stdout = 1;
		return SC_OK;
	}
	if (dir)
		err = sbuf_printf(&o->path, "%s/", dir);
	if (!err)
		err = sbuf_puts(&o->path, name);
	if (!err)
		err = sbuf_printf(&o->tmp, "%s.tmp%ld", o->path.buf,
				  (long)getpid());
	if (err)
		return err;
	if (stat(o->path.buf, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		o->direct = 1;
		fd = open(o->path.buf, O_WRONLY | O_TRUNC | O_CLOEXEC);
	} else {
		fd = open_unnamed(o->path.buf);
		if (fd >= 0) {
			o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
			if (o->fd < 0) {
				close(fd);
				fd = -1;
			}
		} else if (errno == EOPNOTSUPP) {
			fd = open(o->tmp.buf,
				  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				  0666);
		}
	}
	if (fd < 0) {
		why_set(why, "cannot create '%s': %m", o->path.buf);
		return SC_EIO;
	}
	err = bgw_open(fd, &o->w);
	if (err && o->fd < 0 && !o->direct)
		unlink(o->tmp.buf);
	if (err && o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
	}
	return err;
}

/* Finish o: flush and give the file its name (commit), or drop it. A
 * file written in place is only closed; one never opened (or whose
 * open failed) is left alone. */
static sc_err outf_close(struct outf *o, int commit, char **why)
{
	sc_err err = SC_OK;

	if (!o->f && !o->w) {
		sbuf_release(&o->path);
		sbuf_release(&o->tmp);
		return SC_OK;
	}
	if (o->is_stdout) {
		if (fflush(stdout) || ferror(stdout)) {
			why_set(why, "cannot write to standard output: %m");
			err = SC_EIO;
		}
		goto out;
	}
	err = bgw_close(o->w);
	o->w = NULL;
	if (err && commit)
		why_set(why, "cannot write '%s': %m", o->path.buf);
	if (o->direct) /* nothing to rename, and never to remove */
		goto out;
	if (o->fd >= 0) {
		if (!err && commit &&
		    name_unnamed(o->fd, o->path.buf, o->tmp.buf)) {
			why_set(why, "cannot create '%s': %m", o->path.buf);
			err = SC_EIO;
		}
		goto out; /* closed below: an unnamed file is gone with it */
	}
	if (!err && commit && rename(o->tmp.buf, o->path.buf)) {
		why_set(why, "cannot rename '%s' to '%s': %m", o->tmp.buf,
			o->path.buf);
		err = SC_EIO;
	}
	if (err || !commit)
		unlink(o->tmp.buf);
out:
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->f = NULL;
	sbuf_release(&o->path);
	sbuf_release(&o->tmp);
	return commit ? err : SC_OK;
}

static sc_err outf_write(struct outf *o, const struct sbuf *sb, char **why)
{
	sc_err err = SC_OK;

	if (!sb->len)
		return SC_OK;
	if (o->mem)
		return sbuf_add(o->mem, sb->buf, sb->len);
	if (o->is_stdout) {
		if (fwrite(sb->buf, 1, sb->len, o->f) != sb->len)
			err = SC_EIO;
	} else {
		err = bgw_write(o->w, sb->buf, sb->len);
	}
	if (err == SC_EIO)
		why_set(why, "cannot write '%s': %m",
			o->is_stdout ? "standard output" : o->tmp.buf);
	return err;
}

/* ---- progress ---- */

struct progress {
	int on;
	int64_t total, done;
	int shown; /* last percentage drawn */
};

static void progress_start(struct progress *p, struct store *st,
			   const struct rec_query *q, int want)
{
	memset(p, 0, sizeof(*p));
	p->shown = -1;
	if (want && store_count(st, q, &p->total) == SC_OK &&
	    p->total >= PROGRESS_MIN)
		p->on = 1;
}

static void progress_step(struct progress *p)
{
	int pct, width = 40;

	p->done++;
	if (!p->on)
		return;
	pct = (int)(p->done * 100 / (p->total ? p->total : 1));
	if (pct > 100)
		pct = 100;
	if (pct == p->shown)
		return;
	p->shown = pct;
	fprintf(stderr, "\rexport [%-*.*s] %3d%% %lld/%lld", width,
		pct * width / 100,
		"########################################", pct,
		(long long)p->done, (long long)p->total);
}

static void progress_end(struct progress *p)
{
	if (p->on && p->shown >= 0)
		fputc('\n', stderr);
}

/* ---- JSON lines ----
 *
 * Written by a streaming writer, not by building jansson values: an
 * export of a million records spent two thirds of its time creating and
 * freeing jansson objects. Strings are written as canonical JSON writes
 * them (canonjson_string: mandatory escapes only, raw UTF-8). Import
 * parses with jansson; tests/unit/test_export.c checks that jansson
 * reads back exactly what was written.
 *
 * The members of the objects inside a record (history entries, votes,
 * notes) are described once, by the tables below, for the writer and
 * the parser alike, so the two cannot drift apart.
 */

/* J_STR required string, J_OPTSTR string or null, J_TIME required
 * time, J_OPTTIME time or null (0 in the struct). */
enum jtype { J_STR, J_OPTSTR, J_TIME, J_OPTTIME };

struct jfield {
	const char *key;
	const char *lit;  /* "\"key\":", written as one piece */
	size_t litlen;
	enum jtype type;
	size_t off;       /* of a (const) char * or an int64_t */
};

#define JFK(key, t, off) { key, "\"" key "\":", sizeof(key) + 2, t, off }
#define JF(type, member, t) JFK(#member, t, offsetof(type, member))

/* The plain members of a record, in file order after id, kind, num. */
static const struct jfield rec_fields[] = {
	JF(struct record, room_id, J_STR),
	JF(struct record, author, J_STR),
	JF(struct record, event_id, J_OPTSTR),
	JF(struct record, text, J_STR),
	JF(struct record, detail, J_OPTSTR),
	JF(struct record, status, J_OPTSTR),   /* default: the kind's first */
	JF(struct record, severity, J_OPTSTR),
	JF(struct record, due, J_OPTTIME),
	JF(struct record, created, J_TIME),
	JF(struct record, updated, J_OPTTIME), /* default: created */
	JF(struct record, closed, J_OPTTIME),
};
static const struct jfield hist_fields[] = {
	JF(struct history_entry, ts, J_TIME),
	JF(struct history_entry, actor, J_STR),
	JF(struct history_entry, field, J_STR),
	JFK("old", J_OPTSTR, offsetof(struct history_entry, old_value)),
	JFK("new", J_OPTSTR, offsetof(struct history_entry, new_value)),
	JF(struct history_entry, event_id, J_OPTSTR),
};
static const struct jfield vote_fields[] = {
	JF(struct vote_row, user_id, J_STR),
	JFK("vote", J_STR, offsetof(struct vote_row, key)),
	JF(struct vote_row, event_id, J_OPTSTR),
};
static const struct jfield note_fields[] = {
	JF(struct note, ts, J_TIME),
	JF(struct note, author, J_STR),
	JF(struct note, kind, J_STR),
	JF(struct note, text, J_STR),
	JF(struct note, withdrawn, J_OPTTIME), /* #undo took it back */
};
#define NFIELDS(t) (sizeof(t) / sizeof(t[0]))

static const char **field_str(const void *base, const struct jfield *f)
{
	return (const char **)((uintptr_t)base + f->off);
}

static int64_t *field_time(const void *base, const struct jfield *f)
{
	return (int64_t *)((uintptr_t)base + f->off);
}

static sc_err js_str(struct sbuf *sb, const char *s)
{
	return s ? canonjson_string(s, strlen(s), sb)
		 : sbuf_add(sb, "null", 4);
}

/* Append ,"key": (a string literal) in one piece. */
#define js_key(sb, key) sbuf_add(sb, "," "\"" key "\":", sizeof(key) + 3)

/* A time as an ISO-8601 UTC string; 0 is null when zero_null. */
static sc_err js_time(struct sbuf *sb, int64_t t, int zero_null)
{
	sc_err err;

	if (!t && zero_null)
		return sbuf_add(sb, "null", 4);
	err = sbuf_putc(sb, '"');
	if (!err)
		err = iso_utc(sb, t);
	if (!err)
		err = sbuf_putc(sb, '"');
	return err;
}

static sc_err js_strs(struct sbuf *sb, const char *const *v, size_t n)
{
	sc_err err = sbuf_putc(sb, '[');

	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			err = sbuf_putc(sb, ',');
		if (!err)
			err = js_str(sb, v[i]);
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

/* The members fl of the struct at base, each after a comma unless it is
 * the first of an object. */
static sc_err js_fields(struct sbuf *sb, const struct jfield *fl, size_t nf,
			const void *base, int first)
{
	sc_err err = SC_OK;

	for (size_t j = 0; j < nf && !err; j++) {
		err = j || !first ? sbuf_putc(sb, ',') : SC_OK;
		if (!err)
			err = sbuf_add(sb, fl[j].lit, fl[j].litlen);
		if (!err && (fl[j].type == J_TIME || fl[j].type == J_OPTTIME))
			err = js_time(sb, *field_time(base, &fl[j]),
				      fl[j].type == J_OPTTIME);
		else if (!err)
			err = js_str(sb, *field_str(base, &fl[j]));
	}
	return err;
}

/* An array of n objects of size bytes at v, members from fl. */
static sc_err js_objects(struct sbuf *sb, const struct jfield *fl, size_t nf,
			 const void *v, size_t n, size_t size)
{
	sc_err err = sbuf_putc(sb, '[');

	for (size_t i = 0; i < n && !err; i++) {
		err = sbuf_puts(sb, i ? ",{" : "{");
		if (!err)
			err = js_fields(sb, fl, nf, (const char *)v + i * size, 1);
		if (!err)
			err = sbuf_putc(sb, '}');
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

/* ,"attendance":[{"user_id":…,"lines":N,"first":time|null},…] */
static sc_err js_attendance(struct sbuf *sb, const struct attendee *v, size_t n)
{
	sc_err err = js_key(sb, "attendance");

	if (!err)
		err = sbuf_putc(sb, '[');
	for (size_t i = 0; i < n && !err; i++) {
		err = sbuf_puts(sb, i ? ",{\"user_id\":" : "{\"user_id\":");
		if (!err)
			err = js_str(sb, v[i].user_id);
		if (!err)
			err = sbuf_puts(sb, ",\"lines\":");
		if (!err)
			err = sbuf_addint(sb, v[i].lines);
		if (!err)
			err = sbuf_puts(sb, ",\"first\":");
		if (!err)
			err = js_time(sb, v[i].first, 1);
		if (!err)
			err = sbuf_putc(sb, '}');
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

/* A history entry's field whose values are times ("due", "closed"):
 * written as the record's own times are, ISO 8601 UTC. */
static int hist_time_field(const char *field)
{
	return field && (!strcmp(field, "due") || !strcmp(field, "closed"));
}

static int all_digits(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* One old/new value of a history entry. */
static sc_err js_hist_value(struct sbuf *sb, const char *field, const char *v)
{
	if (hist_time_field(field) && all_digits(v) && strlen(v) < 12)
		return js_time(sb, strtoll(v, NULL, 10), 0);
	return js_str(sb, v);
}

/* The history array: the members of hist_fields, in their order, with
 * time values as times (a reference, superseded_by, comes as a short
 * id: see json_cb). */
static sc_err js_history(struct sbuf *sb, const struct history_entry *v, size_t n)
{
	sc_err err = sbuf_putc(sb, '[');

	for (size_t i = 0; i < n && !err; i++) {
		const struct history_entry *h = &v[i];
		err = sbuf_puts(sb, i ? ",{\"ts\":" : "{\"ts\":");
		if (!err)
			err = js_time(sb, h->ts, 0);
		if (!err)
			err = sbuf_puts(sb, ",\"actor\":");
		if (!err)
			err = js_str(sb, h->actor);
		if (!err)
			err = sbuf_puts(sb, ",\"field\":");
		if (!err)
			err = js_str(sb, h->field);
		if (!err)
			err = sbuf_puts(sb, ",\"old\":");
		if (!err)
			err = js_hist_value(sb, h->field, h->old_value);
		if (!err)
			err = sbuf_puts(sb, ",\"new\":");
		if (!err)
			err = js_hist_value(sb, h->field, h->new_value);
		if (!err)
			err = sbuf_puts(sb, ",\"event_id\":");
		if (!err)
			err = js_str(sb, h->event_id);
		if (!err)
			err = sbuf_putc(sb, '}');
	}
	if (!err)
		err = sbuf_putc(sb, ']');
	return err;
}

sc_err export_json_line(const struct rec_full *f, struct sbuf *out)
{
	const struct record *r = &f->r;
	size_t start = out->len;
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	/* The order here is the order in the file; it is part of the
	 * format (README "JSON lines"). */
	err = sbuf_add(out, "{\"id\":", 6);
	if (!err)
		err = js_str(out, id);
	if (!err)
		err = js_key(out, "kind");
	if (!err)
		err = js_str(out, rec_kind_name(r->kind));
	if (!err)
		err = js_key(out, "num");
	if (!err)
		err = sbuf_addint(out, r->num);
	if (!err)
		err = js_fields(out, rec_fields, NFIELDS(rec_fields), r, 0);
	if (!err)
		err = js_key(out, "meeting");
	if (!err)
		err = js_str(out, f->meeting_ref);
	if (!err)
		err = js_key(out, "superseded_by");
	if (!err)
		err = js_str(out, f->superseded_ref);
	if (!err)
		err = js_key(out, "withdrawn");
	if (!err)
		err = sbuf_puts(out, r->withdrawn ? "true" : "false");
	if (!err)
		err = js_key(out, "assignees");
	if (!err)
		err = js_strs(out, (const char *const *)r->assignees, r->nassignees);
	if (!err)
		err = js_key(out, "tags");
	if (!err)
		err = js_strs(out, (const char *const *)r->tags, r->ntags);
	if (!err)
		err = js_key(out, "votes");
	if (!err)
		err = js_objects(out, vote_fields, NFIELDS(vote_fields), f->votes,
				 f->nvotes, sizeof(*f->votes));
	if (!err)
		err = js_key(out, "history");
	if (!err)
		err = js_history(out, f->history, f->nhistory);
	if (!err)
		err = js_key(out, "notes");
	if (!err)
		err = js_objects(out, note_fields, NFIELDS(note_fields), f->notes,
				 f->nnotes, sizeof(*f->notes));
	if (!err)
		err = js_key(out, "attendees");
	if (!err)
		err = js_strs(out, f->attendees, f->nattendees);
	/* meetings only: lines said and first line of each attendee */
	if (!err && r->kind == REC_MEETING)
		err = js_attendance(out, f->attendance, f->nattendance);
	if (!err)
		err = sbuf_add(out, "}\n", 2);
	if (err)
		sbuf_setlen(out, start);
	return err;
}

/* ---- JSON import ---- */

void rec_parsed_clear(struct rec_parsed *p)
{
	record_clear(&p->f.r);
	free(p->f.history);
	free(p->f.votes);
	free(p->f.notes);
	free(p->f.attendees);
	free(p->f.attendance);
	json_decref(p->root);
	memset(p, 0, sizeof(*p));
}

/* A string member (NULL when missing or null; SC_EINVAL for another
 * type, or when missing and required). */
static sc_err get_str(json_t *o, const char *key, int required,
		      const char **out, struct sbuf *why)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return SC_OK;
		sbuf_printf(why, "'%s' is missing", key);
		return SC_EINVAL;
	}
	if (!json_is_string(v)) {
		sbuf_printf(why, "'%s' must be a string", key);
		return SC_EINVAL;
	}
	*out = json_string_value(v);
	return SC_OK;
}

/* A time member: ISO-8601 UTC string, unix seconds, or null/missing
 * (0, unless required). */
static sc_err get_time(json_t *o, const char *key, int required,
		       int64_t *out, struct sbuf *why)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v || json_is_null(v)) {
		if (!required)
			return SC_OK;
		sbuf_printf(why, "'%s' is missing", key);
		return SC_EINVAL;
	}
	/* up to 9999-12-31T23:59:59Z, what the ISO form can write back */
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < 253402300800LL) {
		*out = json_integer_value(v);
		return SC_OK;
	}
	if (json_is_string(v) && !iso_utc_parse(json_string_value(v), out))
		return SC_OK;
	sbuf_printf(why, "'%s' must be a time like \"2026-11-23T10:30:00Z\"",
		    key);
	return SC_EINVAL;
}

/* An array member (NULL when missing). */
static sc_err get_array(json_t *o, const char *key, json_t **out,
			struct sbuf *why)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return SC_OK;
	if (!json_is_array(v)) {
		sbuf_printf(why, "'%s' must be an array", key);
		return SC_EINVAL;
	}
	*out = v;
	return SC_OK;
}

/* Read the members fl of o into the struct at base. Strings are
 * borrowed from o, or copies (record_set) when copy. */
static sc_err parse_fields(json_t *o, const struct jfield *fl, size_t nf,
			   void *base, int copy, struct sbuf *why)
{
	sc_err err = SC_OK;

	for (size_t j = 0; j < nf && !err; j++) {
		const char *s = NULL;

		switch (fl[j].type) {
		case J_TIME:
		case J_OPTTIME:
			err = get_time(o, fl[j].key, fl[j].type == J_TIME,
				       field_time(base, &fl[j]), why);
			break;
		default:
			err = get_str(o, fl[j].key, fl[j].type == J_STR, &s, why);
			if (!err && copy)
				err = record_set((char **)field_str(base, &fl[j]), s);
			else if (!err)
				*field_str(base, &fl[j]) = s;
		}
	}
	return err;
}

/* The default status of a new record of kind k. */
static const char *default_status(enum rec_kind k)
{
	static const char *const st[REC_NKINDS] = {
		[REC_TODO] = "open", [REC_DECISION] = "accepted",
		[REC_CHANGE] = "logged", [REC_MEETING] = "ended",
		[REC_INCIDENT] = "open", [REC_REMINDER] = "pending",
	};
	return st[k];
}

static sc_err parse_record(json_t *o, struct record *r, struct sbuf *why)
{
	const char *id, *kind, *s;
	json_t *v, *a;
	enum rec_kind k;
	int64_t num;
	sc_err err;

	err = get_str(o, "id", 1, &id, why);
	if (err)
		return err;
	if (rec_id_parse(id, &k, &num)) {
		sbuf_printf(why, "'id' %s is not a record id like T12", id);
		return SC_EINVAL;
	}
	r->kind = k;
	r->num = num;
	err = get_str(o, "kind", 0, &kind, why);
	if (!err && kind && strcmp(kind, rec_kind_name(k))) {
		sbuf_printf(why, "'id' %s does not match kind %s", id, kind);
		return SC_EINVAL;
	}
	v = json_object_get(o, "num");
	if (!err && v && (!json_is_integer(v) || json_integer_value(v) != num)) {
		sbuf_printf(why, "'num' does not match 'id' %s", id);
		return SC_EINVAL;
	}
	if (!err)
		err = parse_fields(o, rec_fields, NFIELDS(rec_fields), r, 1, why);
	if (!err && !r->status)
		err = record_set(&r->status, default_status(k));
	if (!err && !r->updated)
		r->updated = r->created;
	v = json_object_get(o, "withdrawn");
	if (!err && v && !json_is_boolean(v)) {
		sbuf_printf(why, "'withdrawn' must be true or false");
		return SC_EINVAL;
	}
	r->withdrawn = json_is_true(v);
	if (!err)
		err = get_array(o, "assignees", &a, why);
	for (size_t i = 0; !err && a && i < json_array_size(a); i++) {
		s = json_string_value(json_array_get(a, i));
		if (!s) {
			sbuf_printf(why, "'assignees' must hold strings");
			return SC_EINVAL;
		}
		err = record_add_assignee(r, s);
	}
	if (!err)
		err = get_array(o, "tags", &a, why);
	for (size_t i = 0; !err && a && i < json_array_size(a); i++) {
		s = json_string_value(json_array_get(a, i));
		if (!s) {
			sbuf_printf(why, "'tags' must hold strings");
			return SC_EINVAL;
		}
		err = record_add_tag(r, s);
	}
	return err;
}

/* Allocate an array of n elements of size (at least 1, so n = 0 still
 * gives a pointer to free). */
static void *alloc_n(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* Parse the array member key of o into a new array of objects of size
 * bytes (members from fl) at *out, *n of them. Strings are borrowed
 * from o. */
static sc_err parse_objects(json_t *o, const char *key, const struct jfield *fl,
			    size_t nf, void *out, size_t *n, size_t size,
			    struct sbuf *why)
{
	void **arr = out;
	json_t *a, *e;
	size_t i;
	sc_err err = get_array(o, key, &a, why);

	if (err)
		return err;
	*arr = alloc_n(json_array_size(a), size);
	if (!*arr)
		return SC_ENOMEM;
	json_array_foreach(a, i, e) {
		void *base = (char *)*arr + i * size;
		if (!json_is_object(e)) {
			sbuf_printf(why, "'%s' must hold objects", key);
			return SC_EINVAL;
		}
		err = parse_fields(e, fl, nf, base, 0, why);
		if (err)
			return err;
		(*n)++;
	}
	return SC_OK;
}

/* "attendance" (optional, meetings): [{user_id, lines, first}]. */
static sc_err parse_attendance(json_t *o, struct rec_full *f, struct sbuf *why)
{
	json_t *a, *e;
	size_t i;
	sc_err err = get_array(o, "attendance", &a, why);

	if (err || !a)
		return err;
	f->attendance = alloc_n(json_array_size(a), sizeof(*f->attendance));
	if (!f->attendance)
		return SC_ENOMEM;
	json_array_foreach(a, i, e) {
		struct attendee *at = &f->attendance[i];
		json_t *lines = json_object_get(e, "lines");

		if (!json_is_object(e)) {
			sbuf_printf(why, "'attendance' must hold objects");
			return SC_EINVAL;
		}
		err = get_str(e, "user_id", 1, &at->user_id, why);
		if (!err)
			err = get_time(e, "first", 0, &at->first, why);
		if (err)
			return err;
		if (lines && (!json_is_integer(lines) ||
			      json_integer_value(lines) < 0)) {
			sbuf_printf(why, "'lines' must be a whole number");
			return SC_EINVAL;
		}
		at->lines = lines ? json_integer_value(lines) : 0;
		f->nattendance++;
	}
	return SC_OK;
}

/* History values of time fields come as ISO 8601 (what export writes)
 * or unix seconds (older exports): the store keeps seconds. */
static sc_err hist_times_back(json_t *o, struct sbuf *why)
{
	static const char *const keys[] = { "old", "new" };
	json_t *a = json_object_get(o, "history"), *e;
	size_t i;

	if (!json_is_array(a))
		return SC_OK;
	json_array_foreach(a, i, e) {
		const char *field = json_string_value(json_object_get(e, "field"));
		if (!json_is_object(e) || !hist_time_field(field))
			continue;
		for (size_t k = 0; k < 2; k++) {
			json_t *v = json_object_get(e, keys[k]);
			const char *s = json_string_value(v);
			int64_t t;
			char num[24];

			if (json_is_integer(v) && json_integer_value(v) >= 0) {
				t = json_integer_value(v);
			} else if (!s || all_digits(s)) {
				continue;
			} else if (iso_utc_parse(s, &t) != SC_OK) {
				sbuf_printf(why, "history '%s' of '%s' must be a time like "
					    "\"2026-11-23T10:30:00Z\"", keys[k], field);
				return SC_EINVAL;
			}
			snprintf(num, sizeof(num), "%lld", (long long)t);
			if (json_object_set_new(e, keys[k], json_string(num)))
				return SC_ENOMEM;
		}
	}
	return SC_OK;
}

static sc_err parse_attached(json_t *o, struct rec_full *f, struct sbuf *why)
{
	json_t *a, *e;
	size_t i;
	sc_err err;

	err = hist_times_back(o, why);
	if (!err)
		err = parse_objects(o, "history", hist_fields, NFIELDS(hist_fields),
				    &f->history, &f->nhistory, sizeof(*f->history), why);
	if (!err)
		err = parse_objects(o, "votes", vote_fields, NFIELDS(vote_fields),
				    &f->votes, &f->nvotes, sizeof(*f->votes), why);
	if (!err)
		err = parse_objects(o, "notes", note_fields, NFIELDS(note_fields),
				    &f->notes, &f->nnotes, sizeof(*f->notes), why);
	if (!err)
		err = get_array(o, "attendees", &a, why);
	if (err)
		return err;
	f->attendees = alloc_n(json_array_size(a), sizeof(*f->attendees));
	if (!f->attendees)
		return SC_ENOMEM;
	json_array_foreach(a, i, e) {
		f->attendees[i] = json_string_value(e);
		if (!f->attendees[i]) {
			sbuf_printf(why, "'attendees' must hold strings");
			return SC_EINVAL;
		}
		f->nattendees++;
	}
	return parse_attendance(o, f, why);
}

sc_err import_json_line(const char *line, struct rec_parsed *out,
			struct sbuf *why)
{
	struct rec_parsed p;
	json_error_t jerr;
	sc_err err;

	memset(&p, 0, sizeof(p));
	p.root = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!p.root) {
		sbuf_printf(why, "not JSON: %s", jerr.text);
		return SC_EINVAL;
	}
	if (!json_is_object(p.root)) {
		sbuf_puts(why, "not a JSON object");
		err = SC_EINVAL;
		goto out;
	}
	err = parse_record(p.root, &p.f.r, why);
	if (!err)
		err = get_str(p.root, "meeting", 0, &p.f.meeting_ref, why);
	if (!err)
		err = get_str(p.root, "superseded_by", 0, &p.f.superseded_ref,
			      why);
	if (!err)
		err = parse_attached(p.root, &p.f, why);
out:
	if (err) {
		rec_parsed_clear(&p);
		return err;
	}
	*out = p;
	return SC_OK;
}

sc_err import_run(struct store *st, FILE *in, const char *name,
		  int64_t *count, char **why)
{
	struct sbuf msg;
	char *line = NULL;
	size_t cap = 0;
	int64_t lineno = 0, n = 0;
	ssize_t len;
	sc_err err;

	sbuf_init(&msg, 4096);
	err = store_import_begin(st);
	if (err) {
		why_set(why, "%s", store_errmsg(st));
		goto out;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		struct rec_parsed p;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		sbuf_setlen(&msg, 0);
		err = import_json_line(line, &p, &msg);
		if (err) {
			why_set(why, "%s:%lld: %s", name, (long long)lineno,
				msg.len ? msg.buf : sc_strerror(err));
			break;
		}
		err = store_import_record(st, &p.f);
		rec_parsed_clear(&p);
		if (err) {
			why_set(why, "%s:%lld: %s", name, (long long)lineno,
				store_errmsg(st));
			break;
		}
		n++;
	}
	if (!err && ferror(in)) {
		why_set(why, "cannot read '%s': %m", name);
		err = SC_EIO;
	}
	if (err) {
		store_import_end(st, 0);
	} else {
		err = store_import_end(st, 1);
		if (err)
			why_set(why, "%s: %s", name, store_errmsg(st));
	}
out:
	free(line);
	sbuf_release(&msg);
	if (!err)
		*count = n;
	return err;
}

/* ---- the export driver ---- */

struct ex {
	struct store *st;
	const struct export_opts *o;
	char **why;
	sc_err err;
	struct sbuf line;
	struct progress prog;
	struct outf out;            /* json, md, one minutes file */
	struct bgf *files;          /* adr and minutes files */
	struct sbuf file;           /* one minutes file */
	struct outf csv[REC_NKINDS];
	struct person_names people; /* who people are, room by room */
};

/* A person as the room of what is written knows them (people.h): their
 * display name there, else the localpart, the id when two would look
 * the same; a free name (the CLI's) as it is. Markdown-escaped. */
static sc_err person(struct ex *x, struct sbuf *out, const char *room,
		     const char *user_id)
{
	const char *label;
	sc_err err = person_names_room(&x->people, x->st, room);

	if (err)
		return err;
	label = person_label(&x->people, user_id);
	return label ? md_text(out, label, 0) : SC_ENOMEM;
}

/* The query of o's filters. */
static void base_query(const struct export_opts *o, struct rec_query *q)
{
	memset(q, 0, sizeof(*q));
	q->kinds = o->kinds;
	q->room_id = o->room_id;
	q->since = o->since;
	q->until = o->until;
	q->order = ORDER_OLDEST;
}

/* Store failure: say so. */
static sc_err ex_store_err(struct ex *x, sc_err err)
{
	if (err && !*x->why)
		why_set(x->why, "%s", store_errmsg(x->st));
	return err;
}

/* The short id ("D5") of the record a history value names by store id
 * ("18", as the store writes superseded_by), into buf; a value that is
 * no store id (an import's "D5") as it is. */
static const char *hist_ref(struct store *st, const char *v, char *buf,
			    size_t size)
{
	struct record r;

	if (!all_digits(v) || strlen(v) > 18 ||
	    store_record_get_id(st, strtoll(v, NULL, 10), &r) != SC_OK)
		return v;
	record_short_id(&r, buf, size);
	record_clear(&r);
	return buf;
}

static int json_cb(const struct rec_full *f, void *ctx)
{
	struct ex *x = ctx;
	struct rec_full copy;
	struct history_entry *h = NULL;
	char (*refs)[2][24] = NULL;

	/* history names a successor by store id, which an import into
	 * another store changes: the file says the short id */
	for (size_t i = 0; i < f->nhistory && !h; i++) {
		if (strcmp(f->history[i].field, "superseded_by"))
			continue;
		h = malloc(f->nhistory * sizeof(*h));
		refs = calloc(f->nhistory, sizeof(*refs));
		if (!h || !refs) {
			free(h);
			free(refs);
			x->err = SC_ENOMEM;
			return 1;
		}
		memcpy(h, f->history, f->nhistory * sizeof(*h));
		for (size_t k = 0; k < f->nhistory; k++) {
			if (strcmp(h[k].field, "superseded_by"))
				continue;
			h[k].old_value = hist_ref(x->st, h[k].old_value, refs[k][0],
						  sizeof(refs[k][0]));
			h[k].new_value = hist_ref(x->st, h[k].new_value, refs[k][1],
						  sizeof(refs[k][1]));
		}
		copy = *f;
		copy.history = h;
		f = &copy;
	}
	sbuf_setlen(&x->line, 0);
	x->err = export_json_line(f, &x->line);
	free(h);
	free(refs);
	if (!x->err)
		x->err = outf_write(&x->out, &x->line, x->why);
	progress_step(&x->prog);
	return x->err != SC_OK;
}

static sc_err export_json(struct ex *x)
{
	struct rec_query q;
	sc_err err;

	base_query(x->o, &q);
	q.include_withdrawn = 1;
	progress_start(&x->prog, x->st, &q, x->o->progress);
	err = outf_open(&x->out, NULL, x->o->out, x->why);
	if (!err)
		err = ex_store_err(x, store_export(x->st, &q, 1, json_cb, x));
	if (!err)
		err = x->err;
	progress_end(&x->prog);
	{
		sc_err e = outf_close(&x->out, !err, x->why);
		if (!err)
			err = e;
	}
	return err;
}

/* ---- CSV ---- */

static const char csv_header[] =
	"id,kind,room_id,created,updated,author,status,text,detail,"
	"assignees,tags,severity,due,closed,meeting,superseded_by,"
	"votes_up,votes_down,votes_meh,event_id,withdrawn,author_name,"
	"assignee_names\r\n";

/* Append a list joined by spaces as one field. */
static sc_err csv_list(struct sbuf *sb, char *const *v, size_t n)
{
	struct sbuf tmp;
	sc_err err = SC_OK;

	sbuf_init(&tmp, 0);
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			err = sbuf_putc(&tmp, ' ');
		if (!err)
			err = sbuf_puts(&tmp, v[i]);
	}
	if (!err)
		err = csv_field(sb, tmp.buf);
	sbuf_release(&tmp);
	return err;
}

static sc_err csv_time(struct sbuf *sb, int64_t t)
{
	return t ? iso_utc(sb, t) : SC_OK;
}

/* The names beside the ids (people.h): the author's, and the
 * assignees' joined by ", ", each one field. */
static sc_err csv_names(struct ex *x, struct sbuf *sb, const struct record *r)
{
	struct sbuf names;
	const char *label;
	sc_err err = person_names_room(&x->people, x->st, r->room_id);

	sbuf_init(&names, 0);
	label = err ? NULL : person_label(&x->people, r->author);
	if (!err && !label)
		err = SC_ENOMEM;
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, label);
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		label = person_label(&x->people, r->assignees[i]);
		err = !label ? SC_ENOMEM : sbuf_printf(&names, "%s%s", i ? ", " : "", label);
	}
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, names.len ? names.buf : NULL);
	sbuf_release(&names);
	return err;
}

static sc_err csv_row(struct ex *x, struct sbuf *sb, const struct rec_full *f)
{
	const struct record *r = &f->r;
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "%s,%s,", id, rec_kind_name(r->kind));
	if (!err)
		err = csv_field(sb, r->room_id);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_time(sb, r->created);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_time(sb, r->updated);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, r->author);
	if (!err)
		err = sbuf_printf(sb, ",%s,", r->status);
	if (!err)
		err = csv_field(sb, r->text);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, r->detail);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_list(sb, r->assignees, r->nassignees);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_list(sb, r->tags, r->ntags);
	if (!err)
		err = sbuf_printf(sb, ",%s,", r->severity ? r->severity : "");
	if (!err)
		err = csv_time(sb, r->due);
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_time(sb, r->closed);
	if (!err)
		err = sbuf_printf(sb, ",%s,%s,", f->meeting_ref ? f->meeting_ref : "",
				  f->superseded_ref ? f->superseded_ref : "");
	if (!err && r->kind == REC_DECISION)
		err = sbuf_printf(sb, "%d,%d,%d", r->votes_up, r->votes_down,
				  r->votes_meh);
	else if (!err)
		err = sbuf_puts(sb, ",,");
	if (!err)
		err = sbuf_putc(sb, ',');
	if (!err)
		err = csv_field(sb, r->event_id);
	if (!err)
		err = sbuf_printf(sb, ",%d", r->withdrawn ? 1 : 0);
	if (!err)
		err = csv_names(x, sb, r);
	if (!err)
		err = sbuf_puts(sb, "\r\n");
	return err;
}

static int csv_cb(const struct rec_full *f, void *ctx)
{
	struct ex *x = ctx;
	struct outf *o = x->o->out ? &x->csv[f->r.kind] : &x->out;

	sbuf_setlen(&x->line, 0);
	x->err = csv_row(x, &x->line, f);
	if (!x->err)
		x->err = outf_write(o, &x->line, x->why);
	progress_step(&x->prog);
	return x->err != SC_OK;
}

/* A CSV row holds no history: records stream from store_export without
 * it, for the meeting/successor short ids. */
static sc_err export_csv(struct ex *x)
{
	static const char *const file[REC_NKINDS] = {
		[REC_TODO] = "todos.csv", [REC_DECISION] = "decisions.csv",
		[REC_CHANGE] = "changes.csv", [REC_MEETING] = "meetings.csv",
		[REC_INCIDENT] = "incidents.csv", [REC_REMINDER] = "reminders.csv",
	};
	struct sbuf head;
	struct rec_query q;
	sc_err err = SC_OK;

	base_query(x->o, &q);
	q.include_withdrawn = 1;
	sbuf_init(&head, 0);
	sbuf_puts(&head, csv_header);
	if (!x->o->out) {
		unsigned k = x->o->kinds;
		if (!k || (k & (k - 1))) {
			why_set(x->why, "csv writes one file per kind: give -o DIR, "
					"or --kind with one kind for standard output");
			sbuf_release(&head);
			return SC_EINVAL;
		}
		err = outf_open(&x->out, NULL, NULL, x->why);
		if (!err)
			err = outf_write(&x->out, &head, x->why);
	}
	for (int k = 0; k < REC_NKINDS && !err && x->o->out; k++) {
		if (x->o->kinds && !(x->o->kinds & REC_BIT(k)))
			continue;
		err = outf_open(&x->csv[k], x->o->out, file[k], x->why);
		if (!err)
			err = outf_write(&x->csv[k], &head, x->why);
	}
	progress_start(&x->prog, x->st, &q, x->o->progress);
	if (!err)
		err = ex_store_err(x, store_export(x->st, &q, 0, csv_cb, x));
	if (!err)
		err = x->err;
	progress_end(&x->prog);
	for (int k = 0; k < REC_NKINDS; k++) {
		sc_err e = outf_close(&x->csv[k], !err, x->why);
		if (!err)
			err = e;
	}
	if (!x->o->out) {
		sc_err e = outf_close(&x->out, !err, x->why);
		if (!err)
			err = e;
	}
	sbuf_release(&head);
	return err;
}

/* ---- Markdown: shared pieces ---- */

/* "[ ] elon/dc: text (T7, critical, due 2026-11-27)" as the minutes of
 * seed 000 list follow-ups (render_action_item's layout, with absolute
 * dates so the file does not change with the day it is written). */
static sc_err md_action_item(struct ex *x, struct sbuf *sb,
			     const struct record *r)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_puts(sb, strcmp(r->status, "done") ? "- [ ] " : "- [x] ");
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		if (i)
			err = sbuf_putc(sb, '/');
		if (!err)
			err = person(x, sb, r->room_id, r->assignees[i]);
	}
	if (!err && r->nassignees)
		err = sbuf_puts(sb, ": ");
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_printf(sb, " (%s", id);
	if (!err && r->severity)
		err = sbuf_printf(sb, ", %s", r->severity);
	if (!err && r->due) {
		err = sbuf_puts(sb, ", due ");
		if (!err)
			err = local_fmt(sb, x->o->tz, r->due, "%Y-%m-%d");
	}
	if (!err && !r->nassignees)
		err = sbuf_puts(sb, ", unassigned");
	if (!err && strcmp(r->status, "open") && strcmp(r->status, "done"))
		err = sbuf_printf(sb, ", %s", r->status);
	for (size_t i = 0; i < r->ntags && !err; i++) {
		err = sbuf_puts(sb, i ? " #" : ") #");
		if (!err)
			err = md_text(sb, r->tags[i], 0);
	}
	if (!err && !r->ntags)
		err = sbuf_putc(sb, ')');
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

/* One row of a decision table: | D4 | date | text | rationale | status | */
static sc_err md_decision_row(struct ex *x, struct sbuf *sb,
			      const struct record *r)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "| %s | ", id);
	if (!err)
		err = local_fmt(sb, x->o->tz, r->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_puts(sb, " | ");
	if (!err)
		err = md_text(sb, r->text, 1);
	if (!err)
		err = sbuf_puts(sb, " | ");
	if (!err && r->detail)
		err = md_text(sb, r->detail, 1);
	if (!err)
		err = sbuf_printf(sb, " | **%c%s** |\n", r->status[0] - 32,
				  r->status + 1);
	return err;
}

static sc_err md_change_line(struct ex *x, struct sbuf *sb,
			     const struct record *r)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_puts(sb, "- ");
	if (!err)
		err = local_fmt(sb, x->o->tz, r->created, "%Y-%m-%d %H:%M");
	if (!err)
		err = sbuf_printf(sb, " %s ", id);
	if (!err)
		err = person(x, sb, r->room_id, r->author);
	if (!err)
		err = sbuf_puts(sb, ": ");
	if (!err)
		err = md_text(sb, r->text, 0);
	for (size_t i = 0; i < r->ntags && !err; i++) {
		if (strstr(r->text, r->tags[i]))
			continue;
		err = sbuf_puts(sb, " #");
		if (!err)
			err = md_text(sb, r->tags[i], 0);
	}
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

/* A way to write a record as a Markdown line, and the lists of the
 * record it does not read: the store leaves them out. */
struct md_line {
	sc_err (*fn)(struct ex *x, struct sbuf *sb, const struct record *r);
	unsigned skip;
};

static const struct md_line action_item = { md_action_item, SKIP_VOTES };
static const struct md_line decision_row = { md_decision_row, SKIP_ALL };
static const struct md_line change_line = { md_change_line,
					    SKIP_ASSIGNEES | SKIP_VOTES };

/* A store_query callback that appends a line per record to x->line and
 * flushes it to x->out. */
struct md_list {
	struct ex *x;
	const struct md_line *line;
	int64_t n;
};

static int md_list_cb(const struct record *r, void *ctx)
{
	struct md_list *l = ctx;
	struct ex *x = l->x;

	sbuf_setlen(&x->line, 0);
	x->err = l->line->fn(x, &x->line, r);
	if (!x->err)
		x->err = outf_write(&x->out, &x->line, x->why);
	progress_step(&x->prog);
	l->n++;
	return x->err != SC_OK;
}

/* Write the records of q, one line each; *n gets how many. */
static sc_err md_list(struct ex *x, const struct rec_query *q,
		      const struct md_line *line, int64_t *n)
{
	struct md_list l = { x, line, 0 };
	struct rec_query lq = *q;
	sc_err err;

	lq.skip = line->skip;
	err = ex_store_err(x, store_query(x->st, &lq, md_list_cb, &l));
	if (!err)
		err = x->err;
	if (n)
		*n = l.n;
	return err;
}

static sc_err md_puts(struct ex *x, const char *s)
{
	sbuf_setlen(&x->line, 0);
	x->err = sbuf_puts(&x->line, s);
	return x->err ? x->err : outf_write(&x->out, &x->line, x->why);
}

/* ---- Markdown handbook page per room ---- */

/*
 * The open action items of a room grouped by owner, from one pass over
 * them in due order: each line is rendered once into the section of
 * every assignee (or of nobody). Holds that part of the page, the open
 * items of one room, until it is written; a query per owner read the
 * whole assignee index once per person (two thirds of a large export).
 */
struct owner {
	char *user;
	struct sbuf lines;
};

struct owners {
	struct ex *x;
	struct owner *v;
	size_t n, cap;
	struct sbuf nobody; /* unassigned items */
	sc_err err;
};

/* The section of user, made on first use. */
static struct sbuf *owner_lines(struct owners *ow, const char *user)
{
	struct owner *o;

	for (size_t i = 0; i < ow->n; i++)
		if (!strcmp(ow->v[i].user, user))
			return &ow->v[i].lines;
	if (ow->n == ow->cap) {
		size_t c = ow->cap ? ow->cap * 2 : 16;
		struct owner *nv = realloc(ow->v, c * sizeof(*nv));
		if (!nv)
			return NULL;
		ow->v = nv;
		ow->cap = c;
	}
	o = &ow->v[ow->n];
	o->user = strdup(user);
	if (!o->user)
		return NULL;
	sbuf_init(&o->lines, 0);
	ow->n++;
	return &o->lines;
}

static int owners_cb(const struct record *r, void *ctx)
{
	struct owners *ow = ctx;
	struct ex *x = ow->x;
	struct sbuf *sb;

	sbuf_setlen(&x->line, 0);
	ow->err = md_action_item(x, &x->line, r);
	if (!ow->err && !r->nassignees)
		ow->err = sbuf_add(&ow->nobody, x->line.buf, x->line.len);
	for (size_t i = 0; i < r->nassignees && !ow->err; i++) {
		sb = owner_lines(ow, r->assignees[i]);
		ow->err = sb ? sbuf_add(sb, x->line.buf, x->line.len)
			     : SC_ENOMEM;
	}
	progress_step(&x->prog);
	return ow->err != SC_OK;
}

static int owner_cmp(const void *a, const void *b)
{
	return strcmp(((const struct owner *)a)->user,
		      ((const struct owner *)b)->user);
}

static void owners_clear(struct owners *ow)
{
	for (size_t i = 0; i < ow->n; i++) {
		free(ow->v[i].user);
		sbuf_release(&ow->v[i].lines);
	}
	free(ow->v);
	sbuf_release(&ow->nobody);
}

/* "## Open action items" of the room of q: one "### elon (@elon:x)"
 * section per owner in user id order, then "### Unassigned". */
static sc_err md_open_items(struct ex *x, struct rec_query *q)
{
	struct owners ow;
	sc_err err;

	memset(&ow, 0, sizeof(ow));
	ow.x = x;
	sbuf_init(&ow.nobody, 0);
	q->kinds = REC_BIT(REC_TODO);
	q->open_only = 1;
	q->order = ORDER_DUE;
	q->skip = action_item.skip;
	err = md_puts(x, "\n## Open action items\n");
	if (!err)
		err = ex_store_err(x, store_query(x->st, q, owners_cb, &ow));
	if (!err)
		err = ow.err;
	if (ow.n) /* qsort(NULL, 0) is undefined: a room with no owner */
		qsort(ow.v, ow.n, sizeof(*ow.v), owner_cmp);
	for (size_t i = 0; i < ow.n && !err; i++) {
		sbuf_setlen(&x->line, 0);
		err = sbuf_puts(&x->line, "\n### ");
		if (!err)
			err = person(x, &x->line, q->room_id, ow.v[i].user);
		if (!err)
			err = sbuf_puts(&x->line, " (");
		if (!err)
			err = md_text(&x->line, ow.v[i].user, 0);
		if (!err)
			err = sbuf_puts(&x->line, ")\n\n");
		if (!err)
			err = outf_write(&x->out, &x->line, x->why);
		if (!err)
			err = outf_write(&x->out, &ow.v[i].lines, x->why);
	}
	if (!err && ow.nobody.len) {
		err = md_puts(x, "\n### Unassigned\n\n");
		if (!err)
			err = outf_write(&x->out, &ow.nobody, x->why);
	}
	if (!err && !ow.n && !ow.nobody.len)
		err = md_puts(x, "\nNo open action items.\n");
	q->open_only = 0;
	q->order = ORDER_OLDEST;
	q->skip = 0;
	owners_clear(&ow);
	return err;
}

/* The page of room in file name of the output folder (NULL: stdout). */
static sc_err md_room(struct ex *x, const char *room, const char *name)
{
	struct rec_query q;
	unsigned kinds = x->o->kinds ? x->o->kinds : REC_ALL;
	char *label = NULL;
	int64_t n;
	sc_err err;

	err = outf_open(&x->out, name ? x->o->out : NULL, name, x->why);
	if (err)
		goto out;
	sbuf_setlen(&x->line, 0);
	err = export_room_label(x->st, room, &label);
	if (!err)
		err = sbuf_puts(&x->line, "# Handbook: ");
	if (!err)
		err = md_text(&x->line, label, 0);
	if (!err)
		err = sbuf_puts(&x->line, "\n\nThe record of room ");
	if (!err)
		err = md_code(&x->line, room);
	if (!err)
		err = sbuf_printf(&x->line, " kept by scribe. Times are %s.\n",
				  x->o->tz ? x->o->tz : "UTC");
	if (!err)
		err = outf_write(&x->out, &x->line, x->why);

	base_query(x->o, &q);
	q.room_id = room;
	if (!err && (kinds & REC_BIT(REC_TODO)))
		err = md_open_items(x, &q);
	if (!err && (kinds & REC_BIT(REC_DECISION))) {
		err = md_puts(x, "\n## Decision log\n\n"
				 "| ID | Date | Decision | Rationale | Status |\n"
				 "| :--- | :--- | :--- | :--- | :--- |\n");
		q.kinds = REC_BIT(REC_DECISION);
		if (!err)
			err = md_list(x, &q, &decision_row, NULL);
	}
	if (!err && (kinds & REC_BIT(REC_CHANGE))) {
		err = md_puts(x, "\n## Change log\n\n");
		q.kinds = REC_BIT(REC_CHANGE);
		q.order = ORDER_NEWEST;
		if (!err)
			err = md_list(x, &q, &change_line, &n);
		if (!err && !n)
			err = md_puts(x, "No changes logged.\n");
	}
out:
	outf_close(&x->out, !err, x->why);
	free(label);
	return err;
}

static int first_cb(const struct rec_full *f, void *ctx)
{
	*(int64_t *)ctx = f->r.id;
	return 1;
}

/* Whether name is among names[0..n) (NULL entries: not yet named). */
static int name_taken(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], name))
			return 1;
	return 0;
}

sc_err export_room_label(struct store *st, const char *room_id, char **out)
{
	struct sbuf key;
	struct room r;
	char *v = NULL;
	sc_err err;

	sbuf_init(&key, 0);
	err = sbuf_printf(&key, "room.alias.%s", room_id);
	if (!err)
		err = store_kv_get(st, key.buf, &v);
	sbuf_release(&key);
	if (err != SC_ENOTFOUND) {
		if (!err)
			*out = v;
		return err;
	}
	memset(&r, 0, sizeof(r));
	err = store_room_get(st, room_id, &r);
	if (!err && r.name && *r.name) {
		*out = r.name;
		r.name = NULL;
	} else if (!err || err == SC_ENOTFOUND) {
		err = (*out = strdup(room_id)) ? SC_OK : SC_ENOMEM;
	}
	room_clear(&r);
	return err;
}

/* The slug a room's page is first named by: its alias without the
 * server (#ops:example.org → "ops"), else its name, else its id. */
static sc_err room_slug(struct store *st, const char *room_id, struct sbuf *out)
{
	char *label = NULL;
	sc_err err = export_room_label(st, room_id, &label);

	if (!err && label[0] == '#' && strchr(label, ':')) {
		*strchr(label, ':') = '\0';
		err = export_slug(out, label + 1, 200);
	} else if (!err) {
		err = export_slug(out, label, 200);
	}
	free(label);
	return err;
}

/* The kv key keeping the file name of a room's page. */
static sc_err page_key(struct sbuf *key, const char *room_id)
{
	sbuf_setlen(key, 0);
	return sbuf_printf(key, "export.md.%s", room_id);
}

/*
 * The file names of the pages of rooms[0..n) into names[0..n) (new
 * strings). A room's page is named once, the first time it is
 * exported, and the name is kept in the store (export.md.ROOM), so a
 * renamed room keeps its page: "ops.md" from its alias #ops:example.org,
 * else the slug of its name, else of its id. Rooms that would share a
 * name get "-2", "-3" in the order their first records were stored:
 * the room whose first record was stored first keeps the plain name. A
 * room's alias and name are chosen by whoever made the room, and a
 * record's time by the sender's server: neither lets a stranger's room
 * take the name of the team's handbook page, or overwrite it. With
 * keep, new names are written to the store (before the export's read
 * snapshot: export_run).
 */
static sc_err md_page_names(struct ex *x, char *const *rooms, size_t n,
			    char **names, int keep)
{
	struct sbuf name, key;
	char **slugs = calloc(n, sizeof(*slugs));
	int64_t *first = calloc(n, sizeof(*first));
	sc_err err = slugs && first ? SC_OK : SC_ENOMEM;

	sbuf_init(&name, 0);
	sbuf_init(&key, 0);
	/* the names kept in the store stand */
	for (size_t i = 0; i < n && !err; i++) {
		char *v = NULL;
		err = page_key(&key, rooms[i]);
		if (!err)
			err = store_kv_get(x->st, key.buf, &v);
		if (!err && !name_taken(names, n, v))
			names[i] = v;
		else
			free(v);
		err = err == SC_ENOTFOUND ? SC_OK : ex_store_err(x, err);
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct rec_query q;

		if (names[i])
			continue;
		sbuf_setlen(&name, 0);
		err = ex_store_err(x, room_slug(x->st, rooms[i], &name));
		if (!err && !(slugs[i] = strdup(name.buf)))
			err = SC_ENOMEM;
		memset(&q, 0, sizeof(q));
		q.room_id = rooms[i];
		q.include_withdrawn = 1;
		first[i] = INT64_MAX;
		if (!err)
			err = ex_store_err(x, store_export(x->st, &q, 0, first_cb,
							   &first[i]));
	}
	/* the new ones, the first stored first */
	for (;;) {
		size_t next = n;

		for (size_t i = 0; i < n && !err; i++)
			if (!names[i] && (next == n || first[i] < first[next]))
				next = i;
		if (err || next == n)
			break;
		for (int k = 1;; k++) {
			sbuf_setlen(&name, 0);
			err = k > 1 ? sbuf_printf(&name, "%s-%d.md",
						  slugs[next], k)
				    : sbuf_printf(&name, "%s.md", slugs[next]);
			if (err || !name_taken(names, n, name.buf))
				break;
		}
		if (!err && !(names[next] = strdup(name.buf)))
			err = SC_ENOMEM;
		if (!err && keep)
			err = page_key(&key, rooms[next]);
		if (!err && keep)
			err = ex_store_err(x, store_kv_put(x->st, key.buf, names[next]));
	}
	for (size_t i = 0; slugs && i < n; i++)
		free(slugs[i]);
	free(slugs);
	free(first);
	sbuf_release(&name);
	sbuf_release(&key);
	return err;
}

int export_rooms_cb(const char *room_id, enum rec_kind kind, int64_t n,
		    void *ctx)
{
	struct export_rooms *rs = ctx;

	(void)kind;
	(void)n;
	if (rs->n && !strcmp(rs->v[rs->n - 1], room_id))
		return 0;
	if (rs->n == rs->cap) {
		size_t c = rs->cap ? rs->cap * 2 : 16;
		char **nv = realloc(rs->v, c * sizeof(*nv));
		if (!nv) {
			rs->err = SC_ENOMEM;
			return 1;
		}
		rs->v = nv;
		rs->cap = c;
	}
	rs->v[rs->n] = strdup(room_id);
	if (!rs->v[rs->n]) {
		rs->err = SC_ENOMEM;
		return 1;
	}
	rs->n++;
	return 0;
}

/* Name the pages of rooms exported for the first time and keep the
 * names (one write transaction, before the read snapshot). */
static sc_err md_keep_names(struct ex *x)
{
	struct export_rooms rs = { NULL, 0, 0, SC_OK };
	char **names = NULL;
	sc_err err = ex_store_err(x, store_stats(x->st, export_rooms_cb, &rs));

	if (!err)
		err = rs.err;
	if (!err && rs.n) {
		names = calloc(rs.n, sizeof(*names));
		err = names ? ex_store_err(x, store_tx_begin(x->st)) : SC_ENOMEM;
		if (!err) {
			err = md_page_names(x, rs.v, rs.n, names, 1);
			if (err)
				store_tx_rollback(x->st);
			else
				err = ex_store_err(x, store_tx_commit(x->st));
		}
	}
	for (size_t i = 0; i < rs.n; i++) {
		free(rs.v[i]);
		if (names)
			free(names[i]);
	}
	free(rs.v);
	free(names);
	return err;
}

static sc_err export_md(struct ex *x)
{
	/* every room, for page names that do not depend on --room */
	struct export_rooms rs = { NULL, 0, 0, SC_OK };
	const char *only = x->o->room_id;
	struct rec_query q;
	char **names = NULL;
	int found = 0;
	sc_err err;

	if (!x->o->out && !x->o->room_id) {
		why_set(x->why, "md writes a page per room: give -o DIR, or "
				"--room for standard output");
		return SC_EINVAL;
	}
	base_query(x->o, &q);
	progress_start(&x->prog, x->st, &q, x->o->progress);
	err = ex_store_err(x, store_stats(x->st, export_rooms_cb, &rs));
	if (!err)
		err = rs.err;
	if (!err && rs.n && x->o->out) {
		names = calloc(rs.n, sizeof(*names));
		err = names ? md_page_names(x, rs.v, rs.n, names, 0) : SC_ENOMEM;
	}
	for (size_t i = 0; i < rs.n && !err; i++) {
		if (only && strcmp(only, rs.v[i]))
			continue;
		found = 1;
		err = md_room(x, rs.v[i], x->o->out ? names[i] : NULL);
	}
	if (!err && !found && !x->o->out)
		err = md_room(x, only, NULL);
	progress_end(&x->prog);
	for (size_t i = 0; i < rs.n; i++) {
		free(rs.v[i]);
		if (names)
			free(names[i]);
	}
	free(rs.v);
	free(names);
	return err;
}

/* ---- folders of small files: adr and minutes ---- */

static sc_err files_open(struct ex *x)
{
	if (bgf_open(x->o->out, &x->files)) {
		why_set(x->why, "cannot open '%s': %m", x->o->out);
		return SC_EIO;
	}
	return SC_OK;
}

/* Wait for the files queued; err, or the first file's failure. */
static sc_err files_close(struct ex *x, sc_err err)
{
	char *failed = NULL;

	if (!x->files)
		return err;
	if (bgf_close(x->files, &failed)) {
		const char *f = failed ? failed : "a file";

		if (errno == EEXIST)
			why_set(x->why, "cannot write '%s/%s': it is not a "
					"regular file", x->o->out, f);
		else
			why_set(x->why, "cannot write '%s/%s': %m", x->o->out, f);
		err = SC_EIO;
	}
	x->files = NULL;
	free(failed);
	return err;
}

/* ---- ADR: one file per decision ---- */

/* "0004-use-linear.md" for decision D4 with that text. */
static sc_err adr_name(struct sbuf *sb, const struct record *r)
{
	sc_err err = sbuf_printf(sb, "%04lld-", (long long)r->num);

	if (!err)
		err = export_slug(sb, r->text, SLUG_MAX);
	if (!err)
		err = sbuf_puts(sb, ".md");
	return err;
}

/* "[5. Use Jira](0005-use-jira.md)" for decision num. */
static sc_err adr_link(struct ex *x, struct sbuf *sb, const char *ref)
{
	struct record d;
	enum rec_kind k;
	int64_t num;
	sc_err err;

	memset(&d, 0, sizeof(d));
	if (rec_id_parse(ref, &k, &num))
		return SC_EINVAL;
	err = store_record_get(x->st, k, num, &d);
	if (err == SC_ENOTFOUND)
		return sbuf_puts(sb, ref);
	if (err)
		return ex_store_err(x, err);
	err = sbuf_printf(sb, "[%lld. ", (long long)d.num);
	if (!err)
		err = md_text(sb, d.text, 0);
	if (!err)
		err = sbuf_puts(sb, "](");
	if (!err)
		err = adr_name(sb, &d);
	if (!err)
		err = sbuf_putc(sb, ')');
	record_clear(&d);
	return err;
}

/* Predecessors: which decisions each superseding decision replaced,
 * collected in a first pass over superseded decisions (a small set). */
struct preds {
	struct pred {
		char succ[24], pred[24];
	} *v;
	size_t n, cap;
	sc_err err;
};

static int preds_cb(const struct rec_full *f, void *ctx)
{
	struct preds *p = ctx;

	if (!f->superseded_ref)
		return 0;
	if (p->n == p->cap) {
		size_t c = p->cap ? p->cap * 2 : 16;
		struct pred *nv = realloc(p->v, c * sizeof(*nv));
		if (!nv) {
			p->err = SC_ENOMEM;
			return 1;
		}
		p->v = nv;
		p->cap = c;
	}
	snprintf(p->v[p->n].succ, sizeof(p->v[0].succ), "%s", f->superseded_ref);
	record_short_id(&f->r, p->v[p->n].pred, sizeof(p->v[0].pred));
	p->n++;
	return 0;
}

struct adr_ctx {
	struct ex *x;
	struct preds *preds;
};

static sc_err adr_write(struct ex *x, const struct rec_full *f,
			const struct preds *preds)
{
	const struct record *r = &f->r;
	struct sbuf *sb = &x->line, name;
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	sbuf_init(&name, 0);
	sbuf_setlen(sb, 0);
	err = adr_name(&name, r);
	if (!err)
		err = sbuf_printf(sb, "# %lld. ", (long long)r->num);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_puts(sb, "\n\nDate: ");
	if (!err)
		err = local_fmt(sb, x->o->tz, r->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_printf(sb, "\n\n## Status\n\n%c%s\n", r->status[0] - 32,
				  r->status + 1);
	for (size_t i = 0; preds && i < preds->n && !err; i++) {
		if (strcmp(preds->v[i].succ, id))
			continue;
		err = sbuf_puts(sb, "\nSupersedes ");
		if (!err)
			err = adr_link(x, sb, preds->v[i].pred);
		if (!err)
			err = sbuf_putc(sb, '\n');
	}
	if (!err && f->superseded_ref) {
		err = sbuf_puts(sb, "\nSuperseded by ");
		if (!err)
			err = adr_link(x, sb, f->superseded_ref);
		if (!err)
			err = sbuf_putc(sb, '\n');
	}
	if (!err)
		err = sbuf_puts(sb, "\n## Context\n\n");
	if (!err && r->detail) {
		err = sbuf_puts(sb, "Because ");
		if (!err)
			err = md_text(sb, r->detail, 0);
		if (!err)
			err = sbuf_puts(sb, "\n\n");
	}
	if (!err)
		err = sbuf_printf(sb, "Recorded by scribe as %s in room ", id);
	if (!err)
		err = md_code(sb, r->room_id);
	if (!err && f->meeting_ref)
		err = sbuf_printf(sb, " during meeting %s", f->meeting_ref);
	if (!err)
		err = sbuf_puts(sb, ".\n\n## Decision\n\n");
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_puts(sb, "\n\nDecided by ");
	if (!err)
		err = person(x, sb, r->room_id, r->author);
	if (!err)
		err = sbuf_puts(sb, " (");
	if (!err)
		err = md_text(sb, r->author, 0);
	if (!err)
		err = sbuf_puts(sb, ").\n\n## Consequences\n\n");
	if (!err && r->votes_up + r->votes_down + r->votes_meh)
		err = sbuf_printf(sb, "Check-in: %d 👍, %d 👎, %d 🤷.\n\n",
				  r->votes_up, r->votes_down, r->votes_meh);
	if (!err && f->superseded_ref)
		err = sbuf_printf(sb, "This decision no longer holds: %s "
				      "replaced it.\n",
				  f->superseded_ref);
	else if (!err && !strcmp(r->status, "rejected"))
		err = sbuf_puts(sb, "The proposal was rejected; nothing "
				    "changes.\n");
	else if (!err && !strcmp(r->status, "proposed"))
		err = sbuf_puts(sb, "Pending: the proposal is not accepted "
				    "yet.\n");
	else if (!err)
		err = sbuf_puts(sb, "To be filled in as they become known.\n");
	if (!err)
		err = bgf_put(x->files, name.buf, sb->buf, sb->len);
	sbuf_release(&name);
	return err;
}

static int adr_cb(const struct rec_full *f, void *ctx)
{
	struct adr_ctx *a = ctx;

	a->x->err = adr_write(a->x, f, a->preds);
	progress_step(&a->x->prog);
	return a->x->err != SC_OK;
}

static sc_err export_adr(struct ex *x)
{
	struct preds preds = { NULL, 0, 0, SC_OK };
	struct adr_ctx a = { x, &preds };
	struct rec_query q;
	sc_err err;

	if (!x->o->out) {
		why_set(x->why, "adr writes one file per decision: give -o DIR");
		return SC_EINVAL;
	}
	if (x->o->kinds && !(x->o->kinds & REC_BIT(REC_DECISION)))
		return SC_OK;
	base_query(x->o, &q);
	q.kinds = REC_BIT(REC_DECISION);
	q.status = "superseded";
	err = ex_store_err(x, store_export(x->st, &q, 0, preds_cb, &preds));
	if (!err)
		err = preds.err;
	q.status = NULL;
	progress_start(&x->prog, x->st, &q, x->o->progress);
	if (!err)
		err = files_open(x);
	if (!err)
		err = ex_store_err(x, store_export(x->st, &q, 0, adr_cb, &a));
	if (!err)
		err = x->err;
	err = files_close(x, err);
	progress_end(&x->prog);
	free(preds.v);
	return err;
}

/* ---- minutes: one file per meeting, in the shape of its template ----
 *
 * A meeting's file follows its template, a tag of its record: seed
 * 000's layout (time, attending with late arrivals, notetaker, agenda,
 * notes, decisions, changes, the follow-up action items per person),
 * seed 002's Template A for a strategy meeting or Template B for an
 * operational review. Then what the template has no place for, and
 * MeetBot's "People present (lines said)". What a meeting holds is
 * commands/meeting.c's to decide (chairs, notetaker, the items carried
 * over, the review's window: the previous review meeting's start, else
 * a week); it is read back here from the records and notes alone, so
 * the file is the same whenever it is written. The whole file is built
 * in x->file (meetings are small) and handed to bgf_put.
 */

enum mtype { MT_PLAIN = 0, MT_STRATEGY, MT_REVIEW };

static enum mtype minutes_type(const struct record *m)
{
	for (size_t i = 0; i < m->ntags; i++) {
		if (!strcmp(m->tags[i], "strategy"))
			return MT_STRATEGY;
		if (!strcmp(m->tags[i], "review"))
			return MT_REVIEW;
	}
	return MT_PLAIN;
}

/* How a note is written. */
enum nmode {
	NM_ITEM,     /* "- text" */
	NM_TIMED,    /* "- 15:02 yurko: text" */
	NM_LINK,     /* "- [text](url) (yurko)" */
	NM_STAR,     /* "*   text" */
	NM_REQ,      /* "*   [ ] Requirement 1: text" */
	NM_KEY,      /* "*   **Key:** value" */
	NM_BY,       /* "*   text (yurko)" */
};

struct min_notes {
	struct ex *x;
	struct sbuf *f;
	const char *kind;
	const char *head;  /* written before the first one, or NULL */
	enum nmode mode;
	int n;
	sc_err err;
};

/* Append url for a Markdown link target: anything that could end the
 * target or start markup is percent-encoded. */
static sc_err md_url(struct sbuf *f, const char *url)
{
	sc_err err = SC_OK;

	for (const unsigned char *p = (const unsigned char *)url; *p && !err; p++) {
		if (*p > 0x20 && *p < 0x7f && !strchr("()<>[]\\\"`| ", *p))
			err = sbuf_putc(f, (char)*p);
		else
			err = sbuf_printf(f, "%%%02X", *p);
	}
	return err;
}

/* Whether a link note's address has a scheme a #link takes (and a
 * reader may click): what commands/meeting_tags.c accepts. */
static int safe_url(const char *s)
{
	static const char *const schemes[] = {
		"http://", "https://", "ftp://", "ftps://", "irc://", "ircs://",
		"ssh://",  "mailto:",  "matrix:", "sftp://",
	};

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (!strncasecmp(s, schemes[i], n) && s[n] && s[n] != ' ')
			return 1;
	}
	return 0;
}

/* "Key: value" → "**Key:** value" when the key is short; else text. */
static sc_err md_key_value(struct sbuf *f, const char *s)
{
	const char *colon = strstr(s, ": ");

	if (!colon || colon == s || colon - s > 60)
		return md_text(f, s, 0);
	{
		sc_err err = sbuf_puts(f, "**");
		if (!err)
			err = md_textn(f, s, (size_t)(colon - s), 0);
		if (!err)
			err = sbuf_puts(f, ":** ");
		if (!err)
			err = md_text(f, colon + 2, 0);
		return err;
	}
}

static int min_note_cb(const struct note *n, void *ctx)
{
	struct min_notes *s = ctx;
	struct sbuf *f = s->f;
	const char *sp;
	sc_err err = SC_OK;

	if (n->withdrawn || strcmp(n->kind, s->kind))
		return 0;
	if (!s->n++ && s->head)
		err = sbuf_puts(f, s->head);
	switch (s->mode) {
	case NM_ITEM:
		if (!err)
			err = sbuf_puts(f, "- ");
		if (!err)
			err = md_text(f, n->text, 0);
		break;
	case NM_TIMED:
		if (!err)
			err = sbuf_puts(f, "- ");
		if (!err)
			err = local_fmt(f, s->x->o->tz, n->ts, "%H:%M ");
		if (!err)
			err = localpart(f, n->author);
		if (!err)
			err = sbuf_puts(f, ": ");
		if (!err)
			err = md_text(f, n->text, 0);
		break;
	case NM_LINK:
		/* "URL [text]": [text](URL), or <URL> alone; an address of
		 * another scheme (an import may bring any) stays text */
		sp = strchr(n->text, ' ');
		if (!safe_url(n->text)) {
			if (!err)
				err = sbuf_puts(f, "- ");
			if (!err)
				err = md_text(f, n->text, 0);
			if (!err)
				err = sbuf_puts(f, " (");
			if (!err)
				err = localpart(f, n->author);
			if (!err)
				err = sbuf_putc(f, ')');
			break;
		}
		if (!err)
			err = sbuf_puts(f, sp ? "- [" : "- <");
		if (!err && sp)
			err = md_text(f, sp + 1, 0);
		if (!err && sp)
			err = sbuf_puts(f, "](");
		if (!err) {
			char *url = strndup(n->text, sp ? (size_t)(sp - n->text)
							: strlen(n->text));
			err = url ? md_url(f, url) : SC_ENOMEM;
			free(url);
		}
		if (!err)
			err = sbuf_puts(f, sp ? ") (" : "> (");
		if (!err)
			err = localpart(f, n->author);
		if (!err)
			err = sbuf_putc(f, ')');
		break;
	case NM_STAR:
	case NM_BY:
		if (!err)
			err = sbuf_puts(f, "*   ");
		if (!err)
			err = md_text(f, n->text, 0);
		if (!err && s->mode == NM_BY) {
			err = sbuf_puts(f, " (");
			if (!err)
				err = localpart(f, n->author);
			if (!err)
				err = sbuf_putc(f, ')');
		}
		break;
	case NM_REQ:
		if (!err)
			err = sbuf_printf(f, "*   [ ] Requirement %d: ", s->n);
		if (!err)
			err = md_text(f, n->text, 0);
		break;
	case NM_KEY:
		if (!err)
			err = sbuf_puts(f, "*   ");
		if (!err)
			err = md_key_value(f, n->text);
		break;
	}
	if (!err)
		err = sbuf_putc(f, '\n');
	s->err = err;
	return err != SC_OK;
}

/* Write m's notes of kind (head before the first); *n gets how many. */
static sc_err min_notes(struct ex *x, const struct record *m, const char *kind,
			const char *head, enum nmode mode, int *n)
{
	struct min_notes s = { x, &x->file, kind, head, mode, 0, SC_OK };
	sc_err err = ex_store_err(x, store_notes(x->st, m->id, min_note_cb, &s));

	if (!err)
		err = s.err;
	if (n)
		*n = s.n;
	return err;
}

/* A section of notes that is always there: "none" when empty. */
static sc_err min_notes_or(struct ex *x, const struct record *m, const char *kind,
			   const char *head, enum nmode mode, const char *none)
{
	int n = 0;
	sc_err err = sbuf_puts(&x->file, head);

	if (!err)
		err = min_notes(x, m, kind, NULL, mode, &n);
	if (!err && !n)
		err = sbuf_puts(&x->file, none);
	return err;
}

/* Records of a query, each written by fn into x->file, head before the
 * first. */
struct min_recs {
	struct ex *x;
	sc_err (*fn)(struct ex *x, struct sbuf *sb, const struct record *r);
	const char *head;
	int (*keep)(const struct record *r, const void *arg);
	const void *arg;
	int64_t n;
	sc_err err;
};

static int min_rec_cb(const struct record *r, void *ctx)
{
	struct min_recs *s = ctx;

	if (s->keep && !s->keep(r, s->arg))
		return 0;
	if (!s->n++ && s->head)
		s->err = sbuf_puts(&s->x->file, s->head);
	if (!s->err)
		s->err = s->fn(s->x, &s->x->file, r);
	return s->err != SC_OK;
}

static sc_err min_records(struct ex *x, const struct rec_query *q,
			  sc_err (*fn)(struct ex *x, struct sbuf *sb,
				       const struct record *r),
			  const char *head, int64_t *n)
{
	struct min_recs s = { x, fn, head, NULL, NULL, 0, SC_OK };
	sc_err err = ex_store_err(x, store_query(x->st, q, min_rec_cb, &s));

	if (!err)
		err = s.err;
	if (n)
		*n = s.n;
	return err;
}

/* The records of kinds made in m, oldest first. */
static void min_query(struct rec_query *q, const struct record *m, unsigned kinds)
{
	memset(q, 0, sizeof(*q));
	q->meeting = m->id;
	q->kinds = kinds;
	q->order = ORDER_OLDEST;
}

/* "Approved" for accepted, as Template A says it. */
static const char *min_status(const char *status)
{
	return !strcmp(status, "accepted") ? "Approved" :
	       !strcmp(status, "rejected") ? "Rejected" :
	       !strcmp(status, "proposed") ? "Proposed" :
	       !strcmp(status, "superseded") ? "Superseded" : status;
}

/* Template A's row: | Use Kubernetes | Need auto-scaling | **Approved** | */
static sc_err md_template_row(struct ex *x, struct sbuf *sb, const struct record *r)
{
	sc_err err = sbuf_puts(sb, "| ");

	(void)x;
	if (!err)
		err = md_text(sb, r->text, 1);
	if (!err)
		err = sbuf_puts(sb, " | ");
	if (!err && r->detail)
		err = md_text(sb, r->detail, 1);
	if (!err)
		err = sbuf_printf(sb, " | **%s** |\n", min_status(r->status));
	return err;
}

/* "- [ ] dc will draft the diagram by 2026-11-27 (T4)": an action item
 * as the templates say it, verb "will" (A) or "to" (B). */
static sc_err md_owned(struct ex *x, struct sbuf *sb, const struct record *r,
		       const char *verb)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_puts(sb, strcmp(r->status, "done") ? "- [ ] " : "- [x] ");
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		if (i)
			err = sbuf_putc(sb, '/');
		if (!err)
			err = localpart(sb, r->assignees[i]);
	}
	if (!err && r->nassignees)
		err = sbuf_printf(sb, " %s ", verb);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err && r->due) {
		err = sbuf_puts(sb, " by ");
		if (!err)
			err = local_fmt(sb, x->o->tz, r->due, "%Y-%m-%d");
	}
	if (!err)
		err = sbuf_printf(sb, " (%s", id);
	if (!err && r->severity)
		err = sbuf_printf(sb, ", %s", r->severity);
	if (!err && !r->nassignees)
		err = sbuf_puts(sb, ", unassigned");
	if (!err && strcmp(r->status, "open") && strcmp(r->status, "done"))
		err = sbuf_printf(sb, ", %s", r->status);
	if (!err)
		err = sbuf_puts(sb, ")\n");
	return err;
}

static sc_err md_will(struct ex *x, struct sbuf *sb, const struct record *r)
{
	return md_owned(x, sb, r, "will");
}

static sc_err md_to(struct ex *x, struct sbuf *sb, const struct record *r)
{
	return md_owned(x, sb, r, "to");
}

/* An incident: "I1: db down (critical, resolved after 2h 5m); root
 * cause: …" after prefix. */
static sc_err md_incident(struct sbuf *sb, const struct record *r,
			  const char *prefix)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "%s%s: ", prefix, id);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_printf(sb, " (%s, ", r->severity ? r->severity : "no severity");
	if (!err && !strcmp(r->status, "resolved") && r->closed) {
		err = sbuf_puts(sb, "resolved after ");
		if (!err)
			err = when_format_duration(r->closed - r->created, sb);
	} else if (!err) {
		err = sbuf_puts(sb, "open");
	}
	if (!err)
		err = sbuf_putc(sb, ')');
	if (!err && r->detail) {
		err = sbuf_puts(sb, "; root cause: ");
		if (!err)
			err = md_text(sb, r->detail, 0);
	}
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

static sc_err md_incident_item(struct ex *x, struct sbuf *sb, const struct record *r)
{
	(void)x;
	return md_incident(sb, r, "- ");
}

static sc_err md_incident_sub(struct ex *x, struct sbuf *sb, const struct record *r)
{
	(void)x;
	return md_incident(sb, r, "    *   ");
}

/* Template B's discussion point for a decision: "Agreed: text (D2)". */
static sc_err md_point(struct ex *x, struct sbuf *sb, const struct record *r)
{
	char id[24];
	sc_err err;

	(void)x;
	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "*   %s: ", !strcmp(r->status, "rejected") ? "Rejected" :
			  !strcmp(r->status, "proposed") ? "Proposed" : "Agreed");
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err && r->detail) {
		err = sbuf_puts(sb, " because ");
		if (!err)
			err = md_text(sb, r->detail, 0);
	}
	if (!err)
		err = sbuf_printf(sb, " (%s)\n", id);
	return err;
}

/* A carried item: action items as seed 000 lists them, others briefly. */
static sc_err md_carried(struct ex *x, struct sbuf *sb, const struct record *r)
{
	char id[24];
	sc_err err;

	if (r->kind == REC_TODO)
		return md_action_item(x, sb, r);
	if (r->kind == REC_INCIDENT)
		return md_incident(sb, r, "- ");
	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "- %s [%s] ", id, r->status);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

/* ---- who was there ---- */

struct min_people {
	struct ex *x;
	const struct record *m;
	struct sbuf *f;
	const char *sep;    /* between names; NULL: one "- name" line each */
	int lines;          /* with "(N)" lines said */
	int n;
	sc_err err;
};

static int min_attendee_cb(const struct attendee *a, void *ctx)
{
	struct min_people *s = ctx;
	int64_t late = a->first - s->m->created;
	sc_err err;

	err = sbuf_puts(s->f, s->sep ? (s->n ? s->sep : "") : "- ");
	s->n++;
	if (!err)
		err = localpart(s->f, a->user_id);
	if (!err && s->lines)
		err = sbuf_printf(s->f, " (%lld)", (long long)a->lines);
	else if (!err && a->first &&
		 late >= (s->x->o->late_after > 0 ? s->x->o->late_after : 15 * 60)) {
		err = sbuf_puts(s->f, " (");
		if (!err)
			err = when_format_duration(late - late % 60, s->f);
		if (!err)
			err = sbuf_puts(s->f, " late)");
	}
	if (!err && !s->sep)
		err = sbuf_putc(s->f, '\n');
	s->err = err;
	return err != SC_OK;
}

/* The attendees: "- name (15m late)" lines, or "a, b" after sep, or
 * with lines said most first. */
static sc_err min_attendees(struct ex *x, const struct record *m,
			    const char *sep, int lines, int *n)
{
	struct min_people s = { x, m, &x->file, sep, lines, 0, SC_OK };
	sc_err err = ex_store_err(x, store_attendance(x->st, m->id, lines,
						       min_attendee_cb, &s));

	if (!err)
		err = s.err;
	if (n)
		*n = s.n;
	return err;
}

/* Chairs (starter first) and notetaker, from the notes. */
struct min_roles {
	char **chairs;
	size_t n;
	const char *notetaker;  /* borrowed from the copy below */
	char *nt;
	sc_err err;
};

static void roles_clear(struct min_roles *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->chairs[i]);
	free(r->chairs);
	free(r->nt);
	memset(r, 0, sizeof(*r));
}

static int roles_has(const struct min_roles *r, const char *u)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->chairs[i], u))
			return 1;
	return 0;
}

static sc_err roles_add(struct min_roles *r, const char *u)
{
	char **v;

	if (roles_has(r, u))
		return SC_OK;
	v = realloc(r->chairs, (r->n + 1) * sizeof(*v));
	if (!v)
		return SC_ENOMEM;
	r->chairs = v;
	if (!(v[r->n] = strdup(u)))
		return SC_ENOMEM;
	r->n++;
	return SC_OK;
}

static int roles_cb(const struct note *n, void *ctx)
{
	struct min_roles *r = ctx;

	if (n->withdrawn)
		return 0;
	if (!strcmp(n->kind, "chair")) {
		r->err = roles_add(r, n->text);
	} else if (!strcmp(n->kind, "unchair")) {
		for (size_t i = 1; i < r->n; i++) {
			if (strcmp(r->chairs[i], n->text))
				continue;
			free(r->chairs[i]);
			memmove(r->chairs + i, r->chairs + i + 1,
				(r->n - i - 1) * sizeof(*r->chairs));
			r->n--;
			break;
		}
	} else if (!strcmp(n->kind, "notetaker")) {
		free(r->nt);
		r->nt = strdup(n->text);
		if (!r->nt)
			r->err = SC_ENOMEM;
	}
	return r->err != SC_OK;
}

static sc_err min_roles(struct ex *x, const struct record *m, struct min_roles *r)
{
	sc_err err;

	memset(r, 0, sizeof(*r));
	err = roles_add(r, m->author);
	if (!err)
		err = ex_store_err(x, store_notes(x->st, m->id, roles_cb, r));
	if (!err)
		err = r->err;
	r->notetaker = r->nt ? r->nt : m->author;
	return err;
}

static sc_err min_chairs(struct sbuf *f, const struct min_roles *r)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->n && !err; i++) {
		if (i)
			err = sbuf_puts(f, ", ");
		if (!err)
			err = localpart(f, r->chairs[i]);
	}
	return err;
}

/* ---- earlier meetings ---- */

struct min_prev {
	int64_t before;
	int review_only;
	int64_t id, created;
	char sid[24];
};

static int min_prev_cb(const struct record *r, void *ctx)
{
	struct min_prev *p = ctx;

	if (r->id >= p->before)
		return 0;
	if (p->review_only && minutes_type(r) != MT_REVIEW)
		return 0;
	p->id = r->id;
	p->created = r->created;
	record_short_id(r, p->sid, sizeof(p->sid));
	return 1;
}

/* The room's meeting before m (a review meeting when review_only);
 * p->id stays 0 when there is none. */
static sc_err min_previous(struct ex *x, const struct record *m, int review_only,
			   struct min_prev *p)
{
	struct rec_query q;

	memset(p, 0, sizeof(*p));
	p->before = m->id;
	p->review_only = review_only;
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_MEETING);
	q.room_id = m->room_id;
	/* newest first from m's own second down (the index's order), not
	 * from the room's newest meeting: a room's minutes would cost the
	 * square of its meetings (224 s for a million records) */
	q.until = m->created + 1;
	q.order = ORDER_NEWEST;
	q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
	return ex_store_err(x, store_query(x->st, &q, min_prev_cb, p));
}

/* "## Open from M3": the items carried over from the room's previous
 * meeting, with their state as the record has it. */
struct min_carry {
	struct ex *x;
	const char *head;
	int n;
	sc_err err;
};

static int min_carry_cb(const struct note *n, void *ctx)
{
	struct min_carry *s = ctx;
	enum rec_kind k;
	int64_t num;
	struct record r;
	sc_err err;

	if (n->withdrawn || strcmp(n->kind, "carry") || rec_id_parse(n->text, &k, &num))
		return 0;
	err = store_record_get(s->x->st, k, num, &r);
	if (err == SC_ENOTFOUND)
		return 0;
	if (!err && !s->n++)
		err = sbuf_puts(&s->x->file, s->head);
	if (!err)
		err = md_carried(s->x, &s->x->file, &r);
	record_clear(&r);
	s->err = err;
	return err != SC_OK;
}

static sc_err min_carried(struct ex *x, const struct record *m)
{
	struct min_prev p;
	struct min_carry s = { x, NULL, 0, SC_OK };
	struct sbuf head;
	sc_err err = min_previous(x, m, 0, &p);

	sbuf_init(&head, 0);
	if (!err)
		err = sbuf_printf(&head, "\n## Open from %s\n\n", p.id ? p.sid : "earlier meetings");
	s.head = head.buf;
	if (!err)
		err = ex_store_err(x, store_notes(x->st, m->id, min_carry_cb, &s));
	if (!err)
		err = s.err;
	sbuf_release(&head);
	return err;
}

/* ---- the parts every shape shares ---- */

/* "15:00-16:00 UTC", or "15:00 (still running) UTC". */
static sc_err min_time(struct ex *x, const struct record *m)
{
	struct sbuf *f = &x->file;
	sc_err err = local_fmt(f, x->o->tz, m->created, "%H:%M");

	if (!err && m->closed)
		err = local_fmt(f, x->o->tz, m->closed, "-%H:%M");
	else if (!err)
		err = sbuf_puts(f, " (still running)");
	if (!err)
		err = sbuf_printf(f, " %s", x->o->tz ? x->o->tz : "UTC");
	return err;
}

static int lines_cb(const struct attendee *a, void *ctx)
{
	*(int64_t *)ctx += a->lines;
	return 0;
}

/* MeetBot's list, last; none for a meeting recorded before scribe
 * counted lines (every meeting since has its starter's). */
static sc_err min_present(struct ex *x, const struct record *m)
{
	int64_t lines = 0;
	sc_err err = ex_store_err(x, store_attendance(x->st, m->id, 0, lines_cb,
						       &lines));

	if (!err && lines)
		err = sbuf_puts(&x->file, "\n## People present (lines said)\n\n");
	if (!err && lines)
		err = min_attendees(x, m, NULL, 1, NULL);
	return err;
}

/* What a template has no place for, when there is any. */
static sc_err min_extras(struct ex *x, const struct record *m, enum mtype t)
{
	struct rec_query q;
	sc_err err = SC_OK;

	if (t != MT_PLAIN) {
		if (t == MT_STRATEGY)
			err = min_notes(x, m, "topic", "\n## Agenda\n\n", NM_ITEM, NULL);
		if (!err && t == MT_STRATEGY)
			err = min_notes(x, m, "info", "\n## Notes\n\n", NM_TIMED, NULL);
	}
	if (!err)
		err = min_notes(x, m, "idea", "\n## Ideas\n\n", NM_TIMED, NULL);
	if (!err)
		err = min_notes(x, m, "link", "\n## Links\n\n", NM_LINK, NULL);
	if (!err)
		err = min_notes(x, m, "help", "\n## Calls for Help\n\n", NM_TIMED, NULL);
	if (!err && t == MT_PLAIN) {
		err = min_notes(x, m, "objective", "\n## Objectives\n\n", NM_ITEM, NULL);
		if (!err)
			err = min_notes(x, m, "requirement", "\n## Requirements\n\n",
					NM_REQ, NULL);
		if (!err)
			err = min_notes(x, m, "strategy", "\n## Strategy\n\n", NM_KEY, NULL);
	}
	if (!err && t != MT_PLAIN) {
		min_query(&q, m, REC_BIT(REC_CHANGE));
		q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
		err = min_records(x, &q, md_change_line, "\n## Changes\n\n", NULL);
	}
	if (!err && t == MT_STRATEGY) {
		min_query(&q, m, REC_BIT(REC_INCIDENT));
		q.skip = SKIP_ALL;
		err = min_records(x, &q, md_incident_item, "\n## Incidents\n\n", NULL);
	}
	return err;
}

/* ---- seed 000 ---- */

static sc_err min_plain(struct ex *x, const struct record *m, const struct min_roles *ro)
{
	struct sbuf *f = &x->file;
	struct rec_query q;
	char id[24];
	int n = 0;
	int64_t todos = 0;
	sc_err err;

	record_short_id(m, id, sizeof(id));
	err = sbuf_puts(f, "# ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d ");
	if (!err)
		err = md_text(f, m->text, 0);
	if (!err)
		err = sbuf_printf(f, "\n\nMeeting %s in ", id);
	if (!err)
		err = md_code(f, m->room_id);
	if (!err)
		err = sbuf_puts(f, ", recorded by scribe.\n\nTime: ");
	if (!err)
		err = min_time(x, m);
	if (!err)
		err = sbuf_puts(f, "  \nAttending:\n");
	if (!err)
		err = min_attendees(x, m, NULL, 0, NULL);
	if (!err)
		err = sbuf_puts(f, "\nNotetaker: ");
	if (!err)
		err = localpart(f, ro->notetaker);
	if (!err && ro->n > 1) {
		err = sbuf_puts(f, "  \nChairs: ");
		if (!err)
			err = min_chairs(f, ro);
	}
	if (!err)
		err = sbuf_puts(f, "\n\n## Agenda\n\n");
	if (!err)
		err = min_notes(x, m, "topic", NULL, NM_ITEM, &n);
	if (!err && !n)
		err = sbuf_puts(f, "No topics were set.\n");
	if (!err)
		err = min_carried(x, m);
	if (!err)
		err = sbuf_puts(f, "\n## Notes\n\n");
	if (!err)
		err = min_notes(x, m, "info", NULL, NM_TIMED, &n);
	if (!err && !n)
		err = sbuf_puts(f, "No notes were taken.\n");
	if (!err)
		err = min_extras(x, m, MT_PLAIN);
	min_query(&q, m, REC_BIT(REC_DECISION));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_decision_row,
				  "\n## Decisions Made\n\n| ID | Date | Decision | "
				  "Rationale | Status |\n| :--- | :--- | :--- | "
				  ":--- | :--- |\n", NULL);
	min_query(&q, m, REC_BIT(REC_CHANGE));
	q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
	if (!err)
		err = min_records(x, &q, md_change_line, "\n## Changes\n\n", NULL);
	min_query(&q, m, REC_BIT(REC_INCIDENT));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_incident_item, "\n## Incidents\n\n", NULL);
	min_query(&q, m, REC_BIT(REC_TODO));
	q.skip = SKIP_VOTES;
	if (!err)
		err = min_records(x, &q, md_action_item,
				  "\n## Follow Up\n\n### Actionable Items\n\n", &todos);
	if (!err && !todos)
		err = sbuf_puts(f, "\n## Follow Up\n\nNo action items.\n");
	if (!err)
		err = min_present(x, m);
	return err;
}

/* ---- Template A ---- */

/* "**Attendees:** a, b (15m late)  " and the other header lines. */
static sc_err min_header_people(struct ex *x, const struct record *m)
{
	sc_err err = sbuf_puts(&x->file, "**Attendees:** ");

	if (!err)
		err = min_attendees(x, m, ", ", 0, NULL);
	if (!err)
		err = sbuf_puts(&x->file, "  \n");
	return err;
}

/* The line under a template's sections: where the record comes from. */
static sc_err min_footer(struct ex *x, const struct record *m,
			 const struct min_roles *ro)
{
	struct sbuf *f = &x->file;
	char id[24];
	sc_err err;

	record_short_id(m, id, sizeof(id));
	err = sbuf_printf(f, "\n---\n\nMeeting %s in ", id);
	if (!err)
		err = md_code(f, m->room_id);
	if (!err)
		err = sbuf_puts(f, ", ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d ");
	if (!err)
		err = min_time(x, m);
	if (!err)
		err = sbuf_puts(f, ", recorded by scribe; notetaker ");
	if (!err)
		err = localpart(f, ro->notetaker);
	if (!err)
		err = sbuf_puts(f, ".\n");
	return err;
}

/* How Templates A and B end: the action items under heading, each
 * written by line, then the items carried over, the extras of type t,
 * the people present and the footer. */
static sc_err min_template_end(struct ex *x, const struct record *m,
			       const struct min_roles *ro, const char *heading,
			       sc_err (*line)(struct ex *x, struct sbuf *sb,
					      const struct record *r),
			       enum mtype t)
{
	struct sbuf *f = &x->file;
	struct rec_query q;
	int64_t n = 0;
	sc_err err = sbuf_puts(f, heading);

	min_query(&q, m, REC_BIT(REC_TODO));
	q.skip = SKIP_VOTES;
	if (!err)
		err = min_records(x, &q, line, NULL, &n);
	if (!err && !n)
		err = sbuf_puts(f, "- None recorded.\n");
	if (!err)
		err = min_carried(x, m);
	if (!err)
		err = min_extras(x, m, t);
	if (!err)
		err = min_present(x, m);
	if (!err)
		err = min_footer(x, m, ro);
	return err;
}

static sc_err min_strategy(struct ex *x, const struct record *m,
			   const struct min_roles *ro)
{
	static const char none[] = "*   None recorded.\n";
	struct sbuf *f = &x->file;
	struct rec_query q;
	int64_t n = 0;
	sc_err err;

	err = sbuf_puts(f, "# Meeting Record: ");
	if (!err)
		err = md_text(f, m->text, 0);
	if (!err)
		err = sbuf_puts(f, "\n**Date:** ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_puts(f, "  \n");
	if (!err)
		err = min_header_people(x, m);
	if (!err)
		err = sbuf_puts(f, "**Facilitator:** ");
	if (!err)
		err = min_chairs(f, ro);
	if (!err)
		err = sbuf_puts(f, "  \n**Notetaker:** ");
	if (!err)
		err = localpart(f, ro->notetaker);
	if (!err)
		err = sbuf_puts(f, "\n");
	if (!err)
		err = min_notes_or(x, m, "objective", "\n## 1. Objectives\n", NM_STAR, none);
	if (!err)
		err = min_notes_or(x, m, "requirement",
				   "\n## 2. Key Requirements (The \"What\")\n", NM_REQ, none);
	if (!err)
		err = min_notes_or(x, m, "strategy",
				   "\n## 3. Technical Strategy & Methods (The \"How\")\n",
				   NM_KEY, none);
	if (!err)
		err = sbuf_puts(f, "\n## 4. Decisions Made\n");
	min_query(&q, m, REC_BIT(REC_DECISION));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_template_row,
				  "| Decision | Rationale | Status |\n"
				  "| :--- | :--- | :--- |\n", &n);
	if (!err && !n)
		err = sbuf_puts(f, none);
	return err ? err : min_template_end(x, m, ro, "\n## 5. Action Items\n",
					    md_will, MT_STRATEGY);
}

/* ---- Template B ---- */

/* The incidents a review of [since, until] covers: open in it at some
 * time (until 0: no end). */
struct min_window {
	int64_t since, until;
};

static int min_in_window(const struct record *r, const void *arg)
{
	const struct min_window *w = arg;

	return (!w->until || r->created <= w->until) &&
	       (!r->closed || r->closed >= w->since);
}

static sc_err min_review(struct ex *x, const struct record *m,
			 const struct min_roles *ro)
{
	struct sbuf *f = &x->file;
	struct rec_query q;
	struct min_prev p;
	struct min_window w;
	struct min_recs rs;
	struct sbuf def;
	int topics = 0, infos = 0;
	int64_t n = 0;
	sc_err err;

	/* the title when it is more than the default "Operational Review
	 * 2026-11-23" */
	sbuf_init(&def, 64);
	err = sbuf_puts(&def, "Operational Review ");
	if (!err)
		err = local_fmt(&def, x->o->tz, m->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_puts(f, "# Operational Review: ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d");
	if (!err && strcmp(m->text, def.buf)) {
		err = sbuf_puts(f, ", ");
		if (!err)
			err = md_text(f, m->text, 0);
	}
	sbuf_release(&def);
	if (!err)
		err = sbuf_putc(f, '\n');
	if (!err)
		err = min_header_people(x, m);
	if (!err)
		err = min_notes_or(x, m, "metric", "\n## 1. Metrics Review\n", NM_KEY,
				   "*   Not recorded.\n");
	/* the window: since the room's previous review, else a week */
	if (!err)
		err = min_previous(x, m, 1, &p);
	w.since = p.id ? p.created : m->created - 7 * 86400;
	w.until = m->closed;
	if (!err)
		err = sbuf_puts(f, "\n## 2. Incident Summary\n*   *Were there any outages?* ");
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_INCIDENT);
	q.room_id = m->room_id;
	q.order = ORDER_OLDEST;
	q.skip = SKIP_ALL;
	memset(&rs, 0, sizeof(rs));
	rs.x = x;
	rs.fn = md_incident_sub;
	rs.head = "Yes\n";
	rs.keep = min_in_window;
	rs.arg = &w;
	if (!err)
		err = ex_store_err(x, store_query(x->st, &q, min_rec_cb, &rs));
	if (!err)
		err = rs.err;
	if (!err && !rs.n)
		err = sbuf_puts(f, "No\n");
	if (!err)
		err = sbuf_puts(f, "\n## 3. Discussion Points\n");
	if (!err)
		err = min_notes(x, m, "topic", NULL, NM_STAR, &topics);
	min_query(&q, m, REC_BIT(REC_DECISION));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_point, NULL, &n);
	if (!err)
		err = min_notes(x, m, "info", NULL, NM_BY, &infos);
	if (!err && !topics && !n && !infos)
		err = sbuf_puts(f, "*   None recorded.\n");
	return err ? err : min_template_end(x, m, ro, "\n## 4. Action Items\n",
					    md_to, MT_REVIEW);
}

static sc_err minutes_write(struct ex *x, const struct record *m)
{
	struct min_roles ro;
	struct sbuf name;
	sc_err err;

	sbuf_init(&name, 0);
	err = local_fmt(&name, x->o->tz, m->created, "%Y-%m-%d-");
	if (!err)
		err = sbuf_printf(&name, "m%lld-", (long long)m->num);
	if (!err)
		err = export_slug(&name, m->text, SLUG_MAX);
	if (!err)
		err = sbuf_puts(&name, ".md");
	if (err)
		goto out;
	sbuf_setlen(&x->file, 0);
	err = min_roles(x, m, &ro);
	if (!err) {
		switch (minutes_type(m)) {
		case MT_STRATEGY: err = min_strategy(x, m, &ro); break;
		case MT_REVIEW: err = min_review(x, m, &ro); break;
		default: err = min_plain(x, m, &ro); break;
		}
	}
	roles_clear(&ro);
	if (!err)
		err = bgf_put(x->files, name.buf, x->file.buf, x->file.len);
out:
	sbuf_release(&name);
	return err;
}

static int minutes_cb(const struct record *r, void *ctx)
{
	struct ex *x = ctx;

	x->err = minutes_write(x, r);
	progress_step(&x->prog);
	return x->err != SC_OK;
}

static sc_err export_minutes(struct ex *x)
{
	struct rec_query q;
	sc_err err;

	if (!x->o->out) {
		why_set(x->why, "minutes writes one file per meeting: give -o DIR");
		return SC_EINVAL;
	}
	if (x->o->kinds && !(x->o->kinds & REC_BIT(REC_MEETING)))
		return SC_OK;
	base_query(x->o, &q);
	q.kinds = REC_BIT(REC_MEETING);
	progress_start(&x->prog, x->st, &q, x->o->progress);
	err = files_open(x);
	if (!err)
		err = ex_store_err(x, store_query(x->st, &q, minutes_cb, x));
	if (!err)
		err = x->err;
	err = files_close(x, err);
	progress_end(&x->prog);
	return err;
}

/* mkdir of one level: 0 when p is (now) a directory, else -1 with
 * mkdir's errno (ENOSPC, EACCES, EEXIST for a file), not stat's; *made
 * is set when this call created it. */
static int mkdir_one(const char *p, int *made)
{
	struct stat sb;
	int e;

	if (!mkdir(p, 0777)) {
		*made = 1;
		return 0;
	}
	e = errno;
	if (!stat(p, &sb) && S_ISDIR(sb.st_mode))
		return 0;
	errno = e;
	return -1;
}

/* mkdir -p: 0 when path is (now) a directory, else -1 with errno.
 * *made gets the length of the shortest prefix of path it created
 * (the top folder of what an export that fails removes again), 0 when
 * it created none. */
static int mkdir_p(const char *path, size_t *made)
{
	char *p = strdup(path);
	int rc = 0, m = 0;

	*made = 0;
	if (!p)
		return -1;
	for (char *s = p + 1; *s && !rc; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		rc = mkdir_one(p, &m);
		if (m && !*made)
			*made = (size_t)(s - p);
		*s = '/';
	}
	if (!rc)
		rc = mkdir_one(p, &m);
	if (!rc && m && !*made)
		*made = strlen(p);
	free(p);
	return rc;
}

/* Remove the folders mkdir_p made for path (made as it set it), from
 * the deepest up, as far as they are empty. */
static void rmdir_made(const char *path, size_t made)
{
	char *p = made ? strdup(path) : NULL;
	size_t n = p ? strlen(p) : 0;

	while (p && n >= made) {
		while (n > made && p[n - 1] == '/') /* "out/" */
			n--;
		p[n] = '\0';
		/* the deepest may not have been made (mkdir_p failed) */
		if (rmdir(p) && (errno == ENOTEMPTY || errno == EEXIST))
			break;
		while (n > made && p[n - 1] != '/')
			n--;
		if (n == made)
			break;
	}
	free(p);
}

sc_err export_run(struct store *st, const struct export_opts *o, char **why)
{
	struct ex x;
	size_t made = 0;
	sc_err err;

	memset(&x, 0, sizeof(x));
	x.st = st;
	x.o = o;
	x.why = why;
	*why = NULL;
	sbuf_init(&x.line, 0);
	sbuf_init(&x.file, 0);
	if (o->out && o->format != FMT_JSON && mkdir_p(o->out, &made)) {
		why_set(why, "cannot create directory '%s': %m", o->out);
		rmdir_made(o->out, made);
		sbuf_release(&x.line);
		return SC_EIO;
	}
	/* a room's page is named once, and the name kept */
	err = o->format == FMT_MD && o->out ? md_keep_names(&x) : SC_OK;
	/* one snapshot: the bot may write while we read */
	if (!err)
		err = ex_store_err(&x, store_snapshot_begin(st));
	switch (err ? -1 : (int)o->format) {
	case FMT_JSON: err = export_json(&x); break;
	case FMT_CSV: err = export_csv(&x); break;
	case FMT_MD: err = export_md(&x); break;
	case FMT_ADR: err = export_adr(&x); break;
	case FMT_MINUTES: err = export_minutes(&x); break;
	case FMT_HTML: err = export_html(st, o, why); break;
	default: break;
	}
	store_snapshot_end(st);
	if (err) /* a failed export leaves no empty folder behind either */
		rmdir_made(o->out, made);
	if (err && !*why)
		why_set(why, "%s", sc_strerror(err));
	sbuf_release(&x.line);
	sbuf_release(&x.file);
	person_names_clear(&x.people);
	return err;
}
