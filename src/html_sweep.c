/* SPDX-License-Identifier: MIT */
/*
 * html_sweep.c - after an html export, the pages in the site's own
 * folders that this export did not write: a withdrawn record's page, a
 * room upgraded into another, a month no longer in --since. Everything
 * else in the output folder is the user's and stays.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "html_int.h"
#include "banned.h"

/* Folder name under dfd, for reading; NULL when it is none (a link to
 * one included: nothing outside the site is swept). */
static DIR *open_dir(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				     O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* The number of NAME when it is P<digits>SUFFIX (no P when p is 0),
 * else -1. */
static long long numbered_name(const char *name, char p, const char *suffix)
{
	char *end;
	long long num;

	if (p && *name++ != p)
		return -1;
	if (*name < '0' || *name > '9')
		return -1;
	errno = 0;
	num = strtoll(name, &end, 10);
	return errno || strcmp(end, suffix) ? -1 : num;
}

/* Remove dir/N/D12.html pages whose number is not in written (or not in
 * folder N), the folders left empty, and the pages of the flat layout
 * of earlier versions (dir/D12.html). */
static void sweep_numbered(struct site *x, const char *dir, char prefix,
			   const struct imap *written)
{
	DIR *d = open_dir(x->dfd, dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		long long folder = numbered_name(e->d_name, 0, "");
		DIR *sub;
		struct dirent *f;

		if (numbered_name(e->d_name, prefix, ".html") >= 0) {
			unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (folder < 0)
			continue;
		if (!(sub = open_dir(dirfd(d), e->d_name)))
			continue;
		while ((f = readdir(sub))) {
			long long num = numbered_name(f->d_name, prefix, ".html");

			if (num >= 0 && (num / HTML_PER_FOLDER != folder ||
					 !imap_get(written, num)))
				unlinkat(dirfd(sub), f->d_name, 0);
		}
		closedir(sub);
		/* (fails, as it should, while pages are left in it) */
		unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static int ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);

	return n > m && !strcmp(s + n - m, end);
}

/* Remove top/SUB/FILE.ext that this export did not write, and the
 * folders left empty that it did not use. */
static void sweep_tree(struct site *x, const char *top, const char *ext)
{
	DIR *d = open_dir(x->dfd, top);
	struct dirent *e;
	char path[1024];

	if (!d)
		return;
	while ((e = readdir(d))) {
		DIR *sub;
		struct dirent *f;

		if (e->d_name[0] == '.')
			continue;
		if (!(sub = open_dir(dirfd(d), e->d_name)))
			continue;
		while ((f = readdir(sub))) {
			if (!ends_with(f->d_name, ext))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", top, e->d_name,
				 f->d_name);
			if (!smap_get(&x->written, path, NULL))
				unlinkat(dirfd(sub), f->d_name, 0);
		}
		closedir(sub);
		snprintf(path, sizeof(path), "%s/%s", top, e->d_name);
		if (!smap_get(&x->dirs, path, NULL))
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/*
 * A record withdrawn since the last export (its message was redacted),
 * a room upgraded into another, a month no longer in --since: their
 * pages go, in the site's own folders only, so what was redacted in
 * Matrix does not stay published. Failures are ignored: the pages that
 * are in the site are all written by then.
 */
void html_sweep(struct site *x)
{
	sweep_numbered(x, "decisions", 'D', &x->dec_written);
	sweep_numbered(x, "meetings", 'M', &x->mtg_written);
	sweep_tree(x, "rooms", ".html");
	sweep_tree(x, "targets", ".html");
	sweep_tree(x, "search", ".js");
}
