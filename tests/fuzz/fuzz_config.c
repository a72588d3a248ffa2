/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - libFuzzer target for the bot.conf parser (config.h):
 * the input is the file. config_load reads a path, so the bytes go
 * through a memfd named by /proc/self/fd/N (no file on disk).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	fd = memfd_create("bot.conf", 0);
	if (fd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct sbuf err;

	if (size > 65536)
		return 0;
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (config_defaults(&cfg) != SC_OK)
		abort();
	sbuf_init(&err, 0);
	if (config_load(&cfg, path, &err) == SC_OK) {
		/* a loaded config must be usable */
		config_inviter_allowed(&cfg, "@alice:example.org");
		config_room_allowed(&cfg, "!ops:example.org");
		config_is_admin(&cfg, "@alice:example.org");
		if (!cfg.prefix || !*cfg.prefix || !cfg.store_path || !cfg.timezone)
			abort();
	}
	sbuf_release(&err);
	config_free(&cfg);
	return 0;
}
