/* SPDX-License-Identifier: MIT */
/* test_bgwrite.c - the background-written file gets exactly the bytes
 * given, in order, whatever the sizes of the writes, and a failed write
 * is reported with its errno; whole files written by the pool get their
 * bytes, unchanged ones are not touched, and a failure names its file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "bgwrite.h"
#include "harness.h"
#include "banned.h"

#define MIB ((size_t)1 << 20)

/* Write total bytes of a known pattern through bgw, in pieces of the
 * sizes in step[] (cycled), and read the file back. */
static int roundtrip(size_t total, const size_t *step, int nstep)
{
	char path[] = "/tmp/scribe-bgw-XXXXXX";
	int fd = mkstemp(path), ok = 1;
	unsigned char *src = malloc(total ? total : 1), *back = malloc(total + 1);
	struct bgw *w = NULL;
	size_t at = 0;
	ssize_t got;
	FILE *f;

	CHECK(fd >= 0 && src && back);
	if (fd < 0 || !src || !back)
		return 0;
	for (size_t i = 0; i < total; i++)
		src[i] = (unsigned char)(i * 131 + i / 7);
	CHECK_OK(bgw_open(fd, &w));
	for (int k = 0; at < total; k = (k + 1) % nstep) {
		size_t n = step[k] < total - at ? step[k] : total - at;
		if (bgw_write(w, (const char *)src + at, n) != SC_OK)
			ok = 0;
		at += n;
	}
	CHECK_OK(bgw_close(w));
	f = fopen(path, "rb");
	got = f ? (ssize_t)fread(back, 1, total + 1, f) : -1;
	if (f)
		fclose(f);
	unlink(path);
	CHECK_INT(got, (ssize_t)total);
	if (got != (ssize_t)total || memcmp(src, back, total))
		ok = 0;
	free(src);
	free(back);
	return ok;
}

static void test_sizes_around_the_buffer(void)
{
	static const size_t one[] = { 1 }, big[] = { MIB }, odd[] = { 4093, 1, 70001, 0, 3 * MIB + 5 };

	CHECK(roundtrip(0, big, 1));
	CHECK(roundtrip(100, big, 1));        /* no thread: written at close */
	CHECK(roundtrip(MIB, big, 1));        /* exactly one buffer */
	CHECK(roundtrip(MIB + 1, one, 1));    /* byte by byte past the edge */
	CHECK(roundtrip(9 * MIB + 77, odd, 5)); /* many hand-offs, odd pieces */
}

static void test_write_error_keeps_errno(void)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct bgw *w = NULL;
	char *buf = calloc(1, 3 * MIB);
	sc_err err = SC_OK;

	CHECK(fd >= 0 && buf);
	if (fd < 0 || !buf) {
		free(buf);
		return;
	}
	CHECK_OK(bgw_open(fd, &w));
	/* the thread's first write fails; a later hand-off or the close says so */
	for (int i = 0; i < 3 && !err; i++)
		err = bgw_write(w, buf, 3 * MIB);
	if (!err)
		err = bgw_close(w);
	else
		bgw_close(w);
	CHECK_INT(err, SC_EIO);
	CHECK_INT(errno, ENOSPC);
	free(buf);
}

static void test_small_file_error_at_close(void)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct bgw *w = NULL;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_OK(bgw_open(fd, &w));
	CHECK_OK(bgw_write(w, "T1 pick tracker\n", 16));
	CHECK_INT(bgw_close(w), SC_EIO);
	CHECK_INT(errno, ENOSPC);
}

/* ---- whole files ---- */

#define NFILES 3000

static void file_name(char *buf, size_t size, int i)
{
	snprintf(buf, size, "%04d-decision-%d.md", i, i * 7);
}

/* Content of file i in round r (r changes every tenth file). */
static size_t file_content(char *buf, size_t size, int i, int r)
{
	int n = snprintf(buf, size, "# %d. decision\n\nround %d\n%*s\n", i,
			 i % 10 ? 0 : r, i % 3000, "");
	return (size_t)n;
}

static int put_all(const char *dir, int r)
{
	struct bgf *f = NULL;
	char name[64], body[4096];
	sc_err err;

	CHECK_OK(bgf_open(dir, &f));
	if (!f)
		return 0;
	for (int i = 0; i < NFILES; i++) {
		file_name(name, sizeof(name), i);
		size_t n = file_content(body, sizeof(body), i, r);
		CHECK_OK(bgf_put(f, name, body, n));
	}
	err = bgf_close(f, NULL);
	CHECK_OK(err);
	return err == SC_OK;
}

/* 1 when every file holds round r's content. */
static int all_match(const char *dir, int r)
{
	char path[256], name[64], body[4096], back[4097];

	for (int i = 0; i < NFILES; i++) {
		file_name(name, sizeof(name), i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		size_t n = file_content(body, sizeof(body), i, r);
		FILE *f = fopen(path, "rb");
		size_t got = f ? fread(back, 1, sizeof(back), f) : 0;
		if (f)
			fclose(f);
		if (got != n || memcmp(body, back, n))
			return 0;
	}
	return 1;
}

static void test_whole_files(void)
{
	char dir[] = "/tmp/scribe-bgf-XXXXXX", path[256], name[64];
	struct utimbuf past = { 1000000000, 1000000000 };
	struct stat st;
	int kept = 0, replaced = 0, other = 0;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(put_all(dir, 1));
	CHECK(all_match(dir, 1));
	for (int i = 0; i < NFILES; i++) {
		file_name(name, sizeof(name), i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		utime(path, &past);
	}
	/* round 2: every tenth file changes, the rest keep their time */
	CHECK(put_all(dir, 2));
	CHECK(all_match(dir, 2));
	for (int i = 0; i < NFILES; i++) {
		file_name(name, sizeof(name), i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (stat(path, &st))
			continue;
		if (st.st_mtime == past.modtime)
			kept += i % 10 != 0;
		else
			replaced += i % 10 == 0;
	}
	CHECK_INT(kept, NFILES - NFILES / 10);
	CHECK_INT(replaced, NFILES / 10);
	/* nothing else in the folder: no temporary file left */
	snprintf(path, sizeof(path), "ls -A %s | grep -vc '^[0-9]*-decision-[0-9]*\\.md$'", dir);
	FILE *p = popen(path, "r");
	CHECK(p && fscanf(p, "%d", &other) == 1);
	if (p)
		pclose(p);
	CHECK_INT(other, 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK_INT(system(path), 0);
}

static void test_whole_file_failure_names_the_file(void)
{
	char dir[] = "/tmp/scribe-bgf-XXXXXX", path[256], name[64];
	char *failed = NULL;
	struct bgf *f = NULL;
	sc_err err = SC_OK;

	CHECK(mkdtemp(dir) != NULL);
	/* a folder where file 0005 goes: not a regular file, never replaced */
	file_name(name, sizeof(name), 5);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK_INT(mkdir(path, 0777), 0);
	CHECK_OK(bgf_open(dir, &f));
	for (int i = 0; i < NFILES && !err; i++) {
		char body[4096], n[64];
		file_name(n, sizeof(n), i);
		err = bgf_put(f, n, body, file_content(body, sizeof(body), i, 1));
	}
	CHECK_INT(bgf_close(f, &failed), SC_EIO);
	CHECK_INT(errno, EEXIST);
	CHECK_STR(failed ? failed : "(none)", name);
	free(failed);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK_INT(system(path), 0);

	CHECK_INT(bgf_open("/nonexistent/scribe-bgf", &f), SC_EIO);
	CHECK_INT(errno, ENOENT);
}

TESTS(TEST(test_sizes_around_the_buffer), TEST(test_write_error_keeps_errno),
      TEST(test_small_file_error_at_close), TEST(test_whole_files),
      TEST(test_whole_file_failure_names_the_file))
