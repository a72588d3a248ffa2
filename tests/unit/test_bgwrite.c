/* SPDX-License-Identifier: MIT */
/* test_bgwrite.c - the background-written file gets exactly the bytes
 * given, in order, whatever the sizes of the writes, and a failed write
 * is reported with its errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

TESTS(TEST(test_sizes_around_the_buffer), TEST(test_write_error_keeps_errno),
      TEST(test_small_file_error_at_close))
