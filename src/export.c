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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bgwrite.h"
#include "canonjson.h"
#include "export.h"
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
		{ "minutes", FMT_MINUTES },
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
		err = js_objects(out, hist_fields, NFIELDS(hist_fields),
				 f->history, f->nhistory, sizeof(*f->history));
	if (!err)
		err = js_key(out, "notes");
	if (!err)
		err = js_objects(out, note_fields, NFIELDS(note_fields), f->notes,
				 f->nnotes, sizeof(*f->notes));
	if (!err)
		err = js_key(out, "attendees");
	if (!err)
		err = js_strs(out, f->attendees, f->nattendees);
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
		[REC_INCIDENT] = "open",
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

static sc_err parse_attached(json_t *o, struct rec_full *f, struct sbuf *why)
{
	json_t *a, *e;
	size_t i;
	sc_err err;

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
	return SC_OK;
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
};

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

static int json_cb(const struct rec_full *f, void *ctx)
{
	struct ex *x = ctx;

	sbuf_setlen(&x->line, 0);
	x->err = export_json_line(f, &x->line);
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
	"votes_up,votes_down,votes_meh,event_id,withdrawn\r\n";

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

static sc_err csv_row(struct sbuf *sb, const struct rec_full *f)
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
		err = sbuf_printf(sb, ",%d\r\n", r->withdrawn ? 1 : 0);
	return err;
}

static int csv_cb(const struct rec_full *f, void *ctx)
{
	struct ex *x = ctx;
	struct outf *o = x->o->out ? &x->csv[f->r.kind] : &x->out;

	sbuf_setlen(&x->line, 0);
	x->err = csv_row(&x->line, f);
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
		[REC_INCIDENT] = "incidents.csv",
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
			err = localpart(sb, r->assignees[i]);
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
		err = localpart(sb, r->author);
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
			err = localpart(&x->line, ow.v[i].user);
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
	int64_t n;
	sc_err err;

	err = outf_open(&x->out, name ? x->o->out : NULL, name, x->why);
	if (err)
		goto out;
	sbuf_setlen(&x->line, 0);
	err = sbuf_puts(&x->line, "# Handbook: ");
	if (!err)
		err = md_text(&x->line, room, 0);
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

/*
 * The file names of the pages of rooms[0..n) into names[0..n) (new
 * strings): "ops-example-org.md", the room's slug. Room ids that differ
 * only in case or punctuation (!ops:example.org, !OPS:example.org,
 * !ops-example:org) share a slug, and each room needs a page of its
 * own: the room whose first record was stored first keeps the plain
 * name, the others get "-2", "-3" in the order their first records were
 * stored. A room id is chosen by whoever made the room, and a record's
 * time by the sender's server: neither lets a stranger's room take the
 * name of the team's handbook page, or overwrite it.
 */
static sc_err md_page_names(struct ex *x, char *const *rooms, size_t n,
			    char **names)
{
	struct sbuf name;
	char **slugs = calloc(n, sizeof(*slugs));
	int64_t *first = calloc(n, sizeof(*first));
	sc_err err = slugs && first ? SC_OK : SC_ENOMEM;

	sbuf_init(&name, 0);
	for (size_t i = 0; i < n && !err; i++) {
		sbuf_setlen(&name, 0);
		err = export_slug(&name, rooms[i], 200);
		if (!err && !(slugs[i] = strdup(name.buf)))
			err = SC_ENOMEM;
	}
	/* a slug of one room only is its name; the others wait */
	for (size_t i = 0; i < n && !err; i++) {
		int shared = 0;

		for (size_t j = 0; j < n && !shared; j++)
			shared = j != i && !strcmp(slugs[i], slugs[j]);
		if (shared) {
			struct rec_query q;

			memset(&q, 0, sizeof(q));
			q.room_id = rooms[i];
			q.include_withdrawn = 1;
			first[i] = INT64_MAX;
			err = store_export(x->st, &q, 0, first_cb, &first[i]);
			err = ex_store_err(x, err);
			continue;
		}
		sbuf_setlen(&name, 0);
		err = sbuf_printf(&name, "%s.md", slugs[i]);
		if (!err && !(names[i] = strdup(name.buf)))
			err = SC_ENOMEM;
	}
	/* the rooms that share a slug, the first stored first */
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
	}
	for (size_t i = 0; slugs && i < n; i++)
		free(slugs[i]);
	free(slugs);
	free(first);
	sbuf_release(&name);
	return err;
}

/* Rooms with records, in order (few; collected from the stats). */
struct rooms {
	char **v;
	size_t n, cap;
	sc_err err;
};

static int rooms_cb(const char *room_id, enum rec_kind kind, int64_t n,
		    void *ctx)
{
	struct rooms *rs = ctx;

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

static sc_err export_md(struct ex *x)
{
	/* every room, for page names that do not depend on --room */
	struct rooms rs = { NULL, 0, 0, SC_OK };
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
	err = ex_store_err(x, store_stats(x->st, rooms_cb, &rs));
	if (!err)
		err = rs.err;
	if (!err && rs.n && x->o->out) {
		names = calloc(rs.n, sizeof(*names));
		err = names ? md_page_names(x, rs.v, rs.n, names) : SC_ENOMEM;
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
		err = localpart(sb, r->author);
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

/* ---- minutes: one file per meeting, layout of seeds/000 ---- */

struct notes_ctx {
	struct ex *x;
	const char *kind;
	int n;
	sc_err err;
};

static int minutes_note(const struct note *n, void *ctx)
{
	struct notes_ctx *c = ctx;
	struct sbuf *sb = &c->x->line;

	if (strcmp(n->kind, c->kind))
		return 0;
	c->n++;
	c->err = sbuf_puts(sb, "- ");
	if (!c->err && !strcmp(c->kind, "info")) {
		c->err = local_fmt(sb, c->x->o->tz, n->ts, "%H:%M ");
		if (!c->err)
			c->err = localpart(sb, n->author);
		if (!c->err)
			c->err = sbuf_puts(sb, ": ");
	}
	if (!c->err)
		c->err = md_text(sb, n->text, 0);
	if (!c->err)
		c->err = sbuf_putc(sb, '\n');
	return c->err != SC_OK;
}

static int minutes_attendee(const char *user, void *ctx)
{
	struct notes_ctx *c = ctx;

	c->n++;
	c->err = sbuf_puts(&c->x->line, "- ");
	if (!c->err)
		c->err = localpart(&c->x->line, user);
	if (!c->err)
		c->err = sbuf_putc(&c->x->line, '\n');
	return c->err != SC_OK;
}

static sc_err minutes_section(struct ex *x, const char *title,
			      const struct rec_query *q,
			      const struct md_line *line, const char *head,
			      const char *none)
{
	int64_t n = 0;
	sc_err err = store_count(x->st, q, &n);

	if (err)
		return ex_store_err(x, err);
	if (!n && !none)
		return SC_OK;
	sbuf_setlen(&x->line, 0);
	err = sbuf_printf(&x->line, "\n## %s\n\n%s", title, n ? head : none);
	if (!err)
		err = outf_write(&x->out, &x->line, x->why);
	if (!err && n)
		err = md_list(x, q, line, NULL);
	return err;
}

static sc_err minutes_write(struct ex *x, const struct record *m)
{
	struct notes_ctx nc = { x, "topic", 0, SC_OK };
	struct sbuf *sb = &x->line, name;
	struct rec_query q;
	char id[24];
	sc_err err;

	record_short_id(m, id, sizeof(id));
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
	memset(&x->out, 0, sizeof(x->out));
	x->out.mem = &x->file;
	sbuf_setlen(&x->file, 0);
	sbuf_setlen(sb, 0);
	err = sbuf_puts(sb, "# ");
	if (!err)
		err = local_fmt(sb, x->o->tz, m->created, "%Y-%m-%d ");
	if (!err)
		err = md_text(sb, m->text, 0);
	if (!err)
		err = sbuf_printf(sb, "\n\nMeeting %s in ", id);
	if (!err)
		err = md_code(sb, m->room_id);
	if (!err)
		err = sbuf_puts(sb, ", recorded by scribe.\n\nTime: ");
	if (!err)
		err = local_fmt(sb, x->o->tz, m->created, "%H:%M");
	if (!err && m->closed)
		err = local_fmt(sb, x->o->tz, m->closed, "-%H:%M");
	else if (!err)
		err = sbuf_puts(sb, " (still running)");
	if (!err)
		err = sbuf_printf(sb, " %s  \nAttending:\n",
				  x->o->tz ? x->o->tz : "UTC");
	if (!err)
		err = ex_store_err(x, store_attendees(x->st, m->id,
						      minutes_attendee, &nc));
	if (!err)
		err = nc.err;
	if (!err)
		err = sbuf_printf(sb, "\nNotetaker: scribe (started by ");
	if (!err)
		err = localpart(sb, m->author);
	if (!err)
		err = sbuf_puts(sb, ")\n\n## Agenda\n\n");
	nc.n = 0;
	if (!err)
		err = ex_store_err(x, store_notes(x->st, m->id, minutes_note, &nc));
	if (!err)
		err = nc.err;
	if (!err && !nc.n)
		err = sbuf_puts(sb, "No topics were set.\n");
	if (!err)
		err = sbuf_puts(sb, "\n## Notes\n\n");
	nc.kind = "info";
	nc.n = 0;
	if (!err)
		err = ex_store_err(x, store_notes(x->st, m->id, minutes_note, &nc));
	if (!err)
		err = nc.err;
	if (!err && !nc.n)
		err = sbuf_puts(sb, "No notes were taken.\n");
	if (!err)
		err = outf_write(&x->out, sb, x->why);

	memset(&q, 0, sizeof(q));
	q.meeting = m->id;
	q.order = ORDER_OLDEST;
	q.kinds = REC_BIT(REC_DECISION);
	if (!err)
		err = minutes_section(x, "Decisions Made", &q, &decision_row,
				      "| ID | Date | Decision | Rationale | "
				      "Status |\n| :--- | :--- | :--- | :--- | "
				      ":--- |\n",
				      NULL);
	q.kinds = REC_BIT(REC_CHANGE);
	if (!err)
		err = minutes_section(x, "Changes", &q, &change_line, "", NULL);
	q.kinds = REC_BIT(REC_TODO);
	if (!err)
		err = minutes_section(x, "Follow Up", &q, &action_item,
				      "### Actionable Items\n\n",
				      "No action items.\n");
	if (!err)
		err = bgf_put(x->files, name.buf, x->file.buf, x->file.len);
out:
	sbuf_release(&name);
	x->out.mem = NULL;
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
	/* one snapshot: the bot may write while we read */
	err = ex_store_err(&x, store_snapshot_begin(st));
	switch (err ? -1 : (int)o->format) {
	case FMT_JSON: err = export_json(&x); break;
	case FMT_CSV: err = export_csv(&x); break;
	case FMT_MD: err = export_md(&x); break;
	case FMT_ADR: err = export_adr(&x); break;
	case FMT_MINUTES: err = export_minutes(&x); break;
	default: break;
	}
	store_snapshot_end(st);
	if (err) /* a failed export leaves no empty folder behind either */
		rmdir_made(o->out, made);
	if (err && !*why)
		why_set(why, "%s", sc_strerror(err));
	sbuf_release(&x.line);
	sbuf_release(&x.file);
	return err;
}
