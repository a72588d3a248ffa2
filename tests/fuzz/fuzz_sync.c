/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sync.c - libFuzzer target for /sync handling: the input is a
 * sync response body, parsed as the Matrix layer parses it (wirejson.h:
 * NUL escapes, lone surrogates, huge numbers, deep nesting and duplicate
 * keys are repaired, never refused as a whole; the corpus holds each
 * shape) and handed to
 * bot_handle_sync on an in-memory store that knows one joined room. Each
 * input runs inside an outer transaction that is rolled back afterwards,
 * so every input starts from the same store.
 * The network calls it makes (join, back-fill, receipts) go to a URL
 * scheme curl refuses at once, with one attempt each, so they fail fast
 * the way a dead homeserver would.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "matrix.h"
#include "store.h"
#include "wirejson.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct matrix *mx;
static struct config cfg;
static struct store *st;

static int64_t fixed_clock(void)
{
	return 1795446000; /* Mon 2026-11-23 15:00 UTC */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	if (mx_global_init() != SC_OK || config_defaults(&cfg) != SC_OK ||
	    record_set(&cfg.user_id, "@scribe-fixtures:localhost") != SC_OK)
		abort();
	if (mx_open("fuzz://127.0.0.1", &mx) != SC_OK)
		abort();
	mx->max_attempts = 1;
	mx->user_id = strdup("@scribe-fixtures:localhost");
	if (!mx->user_id || store_open(":memory:", &st) != SC_OK)
		abort();
	/* a room joined at the epoch, so the fixtures' events count as commands */
	if (engine_room_ensure(st, "!ops:localhost", 1) ||
	    store_member_put(st, "!ops:localhost", "@alice:localhost", "Alice", "join", 100) ||
	    store_member_put(st, "!ops:localhost", "@bob:localhost", NULL, "join", 0))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bot b;
	json_error_t jerr;
	json_t *sync;
	char *since = NULL;
	sc_err err;

	if (size > 256 * 1024)
		return 0;
	sync = wire_json_loadb((const char *)data, size, 0, &jerr);
	if (!sync)
		return 0;
	/* what the store keeps of it (json_dumps) must load back: queued
	 * encrypted events are read again after a restart */
	{
		char *text = json_dumps(sync, JSON_COMPACT);
		json_t *back = text ? json_loads(text, JSON_ALLOW_NUL, &jerr) : NULL;
		if (text && !back)
			abort();
		json_decref(back);
		free(text);
	}
	memset(&b, 0, sizeof(b));
	b.cfg = cfg;
	b.mx = mx;
	b.clock = fixed_clock;
	b.st = st;
	if (store_tx_begin(st) != SC_OK)
		abort();
	err = bot_handle_sync(&b, sync);
	/* handled: the sync token must have been stored with the batch */
	if (err == SC_OK && store_kv_get(b.st, "sync.since", &since) != SC_OK)
		abort();
	free(since);
	json_decref(sync);
	if (store_tx_rollback(st) != SC_OK)
		abort();
	return 0;
}
