/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cmd.c - libFuzzer target for the command engine: tokenizer,
 * dispatcher and every handler, on an in-memory store set up once;
 * each input runs inside a transaction that is rolled back afterwards,
 * so every input starts from the same store (a crash reproduces from
 * its input alone) without paying for the schema each time. Each input line is one
 * chat message through engine_message, as the bot would run it; a line
 * starting with '>' is said by bob (power 0) instead of alice (power
 * 100), and a line "+N" moves the clock N hours. The tokenizer also
 * runs on the whole input as one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct config cfg;
static struct store *st;
static const char room[] = "!ops:example.org";

static void setup(struct store *s, int64_t now);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	if (config_defaults(&cfg) != SC_OK || store_open(":memory:", &st) != SC_OK)
		abort();
	setup(st, 1795446000);
	return 0;
}

static void setup(struct store *s, int64_t now)
{
	static const struct {
		const char *id, *name;
		int power;
	} people[] = {
		{ "@alice:example.org", "Alice", 100 },
		{ "@bob:example.org", "Bob", 0 },
		{ "@elon:example.org", "Elon Musk", 0 },
		{ "@dc:example.org", NULL, 50 },
	};
	if (engine_room_ensure(s, room, now - 86400) != SC_OK)
		abort();
	for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++)
		if (store_member_put(s, room, people[i].id, people[i].name, "join",
				     people[i].power) != SC_OK)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct args a;
	int64_t now = 1795446000; /* Mon 2026-11-23 15:00 UTC */
	char *text, *line, *next;
	int evno = 0;

	if (size > 8192)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&a, 0, sizeof(a));
	if (cmd_tokenize(text, &a) == SC_OK)
		args_clear(&a);

	if (store_tx_begin(st) != SC_OK)
		abort();
	for (line = text; line && evno < 64; line = next) {
		struct message m;
		struct reply out;
		char ev[32];
		int handled = 0;
		sc_err err;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '+') {
			now += 3600 * (int64_t)(atoi(line + 1) % 1000);
			continue;
		}
		snprintf(ev, sizeof(ev), "$fuzz%d", ++evno);
		memset(&m, 0, sizeof(m));
		m.room_id = room;
		m.sender = line[0] == '>' ? "@bob:example.org" : "@alice:example.org";
		m.event_id = ev;
		m.body = line[0] == '>' ? line + 1 : line;
		m.ts = now;
		reply_init(&out);
		err = engine_message(st, &cfg, &m, now, &out, &handled);
		/* an in-memory store does not fail: any error is a bug */
		if (err)
			abort();
		if (handled && (!out.body.buf || !out.html.buf))
			abort();
		reply_clear(&out);
		now += 7;
	}
	if (store_tx_rollback(st) != SC_OK)
		abort();
	free(text);
	return 0;
}
