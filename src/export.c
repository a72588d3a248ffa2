/* SPDX-License-Identifier: MIT */
/*
 * export.c - `scribe export` and `scribe import` (export.h is the
 * contract): what every format shares, and the dispatcher over them.
 * Here are the options (format names, ISO times, slugs), the output
 * files, written unnamed and named when complete, the progress bar, the
 * folders an export makes (and removes again when it fails), and
 * export_run, which takes the store's read snapshot and hands the export
 * to its format: export_json.c (json, and import), export_csv.c,
 * export_md.c, export_adr.c, export_minutes.c and export_html.c. Records
 * stream from the store; each format writes as it goes, so a million
 * records need no more memory than one. Output never depends on the
 * current time: the same records give the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bgwrite.h"
#include "export.h"
#include "export_html.h"
#include "export_int.h"
#include "people.h"
#include "store.h"
#include "store_admin.h"
#include "when.h"
#include "banned.h"

/* Exports smaller than this draw no progress bar. */
#define PROGRESS_MIN 20000

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

/* ---- output files: struct outf (export_int.h) ---- */

sc_err ex_why(char **why, const char *fmt, ...)
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
sc_err outf_open(struct outf *o, const char *dir, const char *name,
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
		ex_why(why, "cannot create '%s': %m", o->path.buf);
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
sc_err outf_close(struct outf *o, int commit, char **why)
{
	sc_err err = SC_OK;

	if (!o->f && !o->w) {
		sbuf_release(&o->path);
		sbuf_release(&o->tmp);
		return SC_OK;
	}
	if (o->is_stdout) {
		if (fflush(stdout) || ferror(stdout)) {
			ex_why(why, "cannot write to standard output: %m");
			err = SC_EIO;
		}
		goto out;
	}
	err = bgw_close(o->w);
	o->w = NULL;
	if (err && commit)
		ex_why(why, "cannot write '%s': %m", o->path.buf);
	if (o->direct) /* nothing to rename, and never to remove */
		goto out;
	if (o->fd >= 0) {
		if (!err && commit &&
		    name_unnamed(o->fd, o->path.buf, o->tmp.buf)) {
			ex_why(why, "cannot create '%s': %m", o->path.buf);
			err = SC_EIO;
		}
		goto out; /* closed below: an unnamed file is gone with it */
	}
	if (!err && commit && rename(o->tmp.buf, o->path.buf)) {
		ex_why(why, "cannot rename '%s' to '%s': %m", o->tmp.buf,
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

sc_err outf_write(struct outf *o, const struct sbuf *sb, char **why)
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
		ex_why(why, "cannot write '%s': %m",
			o->is_stdout ? "standard output" : o->tmp.buf);
	return err;
}

/* ---- progress ---- */

void ex_progress_start(struct progress *p, struct store *st,
		    const struct rec_query *q, int want)
{
	memset(p, 0, sizeof(*p));
	p->shown = -1;
	if (want && store_count(st, q, &p->total) == SC_OK &&
	    p->total >= PROGRESS_MIN)
		p->on = 1;
}

void ex_progress_step(struct progress *p)
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

void ex_progress_end(struct progress *p)
{
	if (p->on && p->shown >= 0)
		fputc('\n', stderr);
}

/* ---- one export ---- */

/* The query of o's filters. */
void ex_base_query(const struct export_opts *o, struct rec_query *q)
{
	memset(q, 0, sizeof(*q));
	q->kinds = o->kinds;
	q->room_id = o->room_id;
	q->since = o->since;
	q->until = o->until;
	q->order = ORDER_OLDEST;
}

/* Store failure: say so. */
sc_err ex_store_err(struct ex *x, sc_err err)
{
	if (err && !*x->why)
		ex_why(x->why, "%s", store_errmsg(x->st));
	return err;
}

/* The rooms with records, for md and html (export.h). */
int export_rooms_cb(const char *room_id, void *ctx)
{
	struct export_rooms *rs = ctx;

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

/* ---- folders of small files: adr and minutes ---- */

sc_err ex_files_open(struct ex *x)
{
	if (bgf_open(x->o->out, &x->files)) {
		ex_why(x->why, "cannot open '%s': %m", x->o->out);
		return SC_EIO;
	}
	return SC_OK;
}

/* Wait for the files queued; err, or the first file's failure. */
sc_err ex_files_close(struct ex *x, sc_err err)
{
	char *failed = NULL;

	if (!x->files)
		return err;
	if (bgf_close(x->files, &failed)) {
		const char *f = failed ? failed : "a file";

		if (errno == EEXIST)
			ex_why(x->why, "cannot write '%s/%s': it is not a "
					"regular file", x->o->out, f);
		else
			ex_why(x->why, "cannot write '%s/%s': %m", x->o->out, f);
		err = SC_EIO;
	}
	x->files = NULL;
	free(failed);
	return err;
}

/* ---- folders, and the dispatcher ---- */

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
		ex_why(why, "cannot create directory '%s': %m", o->out);
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
		ex_why(why, "%s", sc_strerror(err));
	sbuf_release(&x.line);
	sbuf_release(&x.file);
	person_names_clear(&x.people);
	return err;
}
