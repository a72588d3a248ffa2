/* SPDX-License-Identifier: MIT */
/*
 * test_engine.c - what room members can do to the record through edits,
 * reactions, redactions and odd text, through the real engine (the bot
 * calls the same functions): nothing Element would not show may change a
 * record, and nothing from one room may touch another's.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "store.h"
#include "harness.h"

#define ROOM "!ops:example.org"
#define OTHER "!other:example.org"
#define ALICE "@alice:example.org"
#define MALLORY "@mallory:example.org"

static struct store *st;
static struct config cfg;
static struct reply out;
static int64_t now = 1795446000;

static void setup(void)
{
	CHECK_OK(config_defaults(&cfg));
	CHECK_OK(store_open(":memory:", &st));
	CHECK_OK(engine_room_ensure(st, ROOM, 1));
	CHECK_OK(engine_room_ensure(st, OTHER, 1));
	CHECK_OK(store_member_put(st, ROOM, ALICE, "Alice", "join", 100));
	CHECK_OK(store_member_put(st, ROOM, MALLORY, NULL, "join", 0));
	CHECK_OK(store_member_put(st, OTHER, MALLORY, NULL, "join", 100));
	reply_init(&out);
}

static void teardown(void)
{
	reply_clear(&out);
	store_close(st);
	config_free(&cfg);
}

/* A message as the bot hands it over: marked seen with its sender. */
static int say_in(const char *room, const char *who, const char *id,
		  const char *body)
{
	struct message m = { room, who, id, body, NULL, now, 0 };
	int handled = 0;

	reply_clear(&out);
	reply_init(&out);
	CHECK_OK(store_event_seen(st, id, who, now));
	CHECK_OK(engine_message(st, &cfg, &m, now, &out, &handled));
	return handled;
}

static int edit_in(const char *room, const char *who, const char *id,
		   const char *original, const char *body)
{
	struct message m = { room, who, id, body, NULL, now, 0 };
	int handled = 0;

	reply_clear(&out);
	reply_init(&out);
	CHECK_OK(store_event_seen(st, id, who, now));
	CHECK_OK(store_event_edit(st, id, original));
	CHECK_OK(engine_edit(st, &cfg, &m, original, now, &out, &handled));
	return handled;
}

static int redact_in(const char *room, const char *who, const char *target)
{
	int handled = 0;

	reply_clear(&out);
	reply_init(&out);
	CHECK_OK(engine_redaction(st, room, target, who, now, &out, &handled));
	return handled;
}

static int64_t count(unsigned kinds)
{
	struct rec_query q;
	int64_t n = 0;

	memset(&q, 0, sizeof(q));
	q.kinds = kinds;
	CHECK_OK(store_count(st, &q, &n));
	return n;
}

static void get(enum rec_kind kind, int64_t num, struct record *r)
{
	CHECK_OK(store_record_get(st, kind, num, r));
}

static void test_edit_of_an_edit_makes_nothing(void)
{
	struct record r;

	setup();
	CHECK(!say_in(ROOM, ALICE, "$orig", "hello all"));
	CHECK(edit_in(ROOM, ALICE, "$e1", "$orig", "!todo check pagers"));
	CHECK_INT(count(REC_BIT(REC_TODO)), 1);
	/* an edit of the edit: Element ignores it, so does scribe */
	CHECK(!edit_in(ROOM, ALICE, "$e2", "$e1", "!todo check pagers twice"));
	CHECK_INT(count(REC_BIT(REC_TODO)), 1);
	get(REC_TODO, 1, &r);
	CHECK_STR(r.text, "check pagers");
	/* the record is the original's: redacting it withdraws the record */
	CHECK_STR(r.event_id, "$orig");
	record_clear(&r);
	CHECK(redact_in(ROOM, ALICE, "$orig"));
	get(REC_TODO, 1, &r);
	CHECK(r.withdrawn);
	record_clear(&r);
	teardown();
}

static void test_editing_a_failed_command_twice_makes_one_record(void)
{
	struct record r;

	setup();
	CHECK(say_in(ROOM, ALICE, "$orig", "!tood check pagers"));
	CHECK(out.failed);
	CHECK(edit_in(ROOM, ALICE, "$e1", "$orig", "!todo check pagers"));
	CHECK(edit_in(ROOM, ALICE, "$e2", "$orig", "!todo check all pagers"));
	CHECK_INT(count(REC_BIT(REC_TODO)), 1);
	get(REC_TODO, 1, &r);
	CHECK_STR(r.text, "check all pagers");
	record_clear(&r);
	teardown();
}

static void test_edit_from_another_sender_is_ignored(void)
{
	setup();
	/* mallory edits alice's plain chat into a command */
	CHECK(!say_in(ROOM, ALICE, "$hi", "alice says hi"));
	CHECK(!edit_in(ROOM, MALLORY, "$e", "$hi", "!todo @alice pay mallory"));
	CHECK_INT(count(REC_BIT(REC_TODO)), 0);
	/* and a command of alice's */
	CHECK(say_in(ROOM, ALICE, "$c", "!todo check pagers"));
	CHECK(!edit_in(ROOM, MALLORY, "$e3", "$c", "!todo pay mallory"));
	teardown();
}

static void test_redacting_an_edit_reverts_it(void)
{
	struct record r;

	setup();
	CHECK(say_in(ROOM, ALICE, "$c", "!todo check pagers"));
	CHECK(edit_in(ROOM, ALICE, "$e", "$c", "!todo check pagers and phones"));
	get(REC_TODO, 1, &r);
	CHECK_STR(r.text, "check pagers and phones");
	record_clear(&r);
	CHECK(redact_in(ROOM, ALICE, "$e"));
	CHECK_CONTAINS(out.body.buf, "T1 is back to what it was");
	get(REC_TODO, 1, &r);
	CHECK_STR(r.text, "check pagers");
	CHECK(!r.withdrawn);
	record_clear(&r);
	teardown();
}

static void test_redacting_supersede_restores_the_decision(void)
{
	struct record r;

	setup();
	CHECK(say_in(ROOM, ALICE, "$d1", "!decide use Linear"));
	CHECK(say_in(ROOM, ALICE, "$d2", "!supersede D1 use Jira"));
	get(REC_DECISION, 1, &r);
	CHECK_STR(r.status, "superseded");
	record_clear(&r);
	CHECK(redact_in(ROOM, ALICE, "$d2"));
	get(REC_DECISION, 2, &r);
	CHECK(r.withdrawn);
	record_clear(&r);
	get(REC_DECISION, 1, &r);
	CHECK_STR(r.status, "accepted");
	CHECK_INT(r.superseded_by, 0);
	record_clear(&r);
	teardown();
}

static void test_redacting_done_leaves_it_done(void)
{
	struct record r;

	setup();
	CHECK(say_in(ROOM, ALICE, "$c", "!todo check pagers"));
	CHECK(say_in(ROOM, ALICE, "$d", "!done T1"));
	CHECK(!redact_in(ROOM, ALICE, "$d"));
	get(REC_TODO, 1, &r);
	CHECK_STR(r.status, "done");
	record_clear(&r);
	teardown();
}

static void test_reactions_count_only_in_their_room(void)
{
	struct record r;

	setup();
	CHECK(say_in(ROOM, ALICE, "$p", "!propose use Linear"));
	/* from another room (an encrypted relation the server cannot check) */
	CHECK_OK(engine_reaction(st, OTHER, "$p", "\xF0\x9F\x91\x8D", MALLORY, "$v1"));
	get(REC_DECISION, 1, &r);
	CHECK_INT(r.votes_up, 0);
	record_clear(&r);
	CHECK_OK(engine_reaction(st, ROOM, "$p", "\xF0\x9F\x91\x8D", MALLORY, "$v2"));
	get(REC_DECISION, 1, &r);
	CHECK_INT(r.votes_up, 1);
	record_clear(&r);
	teardown();
}

static void test_edits_and_redactions_stay_in_their_room(void)
{
	struct record r;

	setup();
	CHECK(say_in(ROOM, MALLORY, "$c", "!todo check pagers"));
	CHECK(!edit_in(OTHER, MALLORY, "$e", "$c", "!todo pay mallory"));
	CHECK(!redact_in(OTHER, MALLORY, "$c"));
	get(REC_TODO, 1, &r);
	CHECK_STR(r.text, "check pagers");
	CHECK(!r.withdrawn);
	record_clear(&r);
	teardown();
}

static void test_nul_in_a_command_gets_a_reply(void)
{
	struct message m = { ROOM, ALICE, "$n", "!todo hello ", NULL, now, 1 };
	int handled = 0;

	setup();
	CHECK_OK(engine_message(st, &cfg, &m, now, &out, &handled));
	CHECK(handled);
	CHECK(out.failed);
	CHECK_CONTAINS(out.body.buf, "NUL character");
	CHECK_INT(count(0), 0);
	/* chat with a NUL in it is left alone */
	m.body = "hello ";
	reply_clear(&out);
	reply_init(&out);
	CHECK_OK(engine_message(st, &cfg, &m, now, &out, &handled));
	CHECK(!handled);
	teardown();
}

static void test_pill_href_must_be_a_user_id(void)
{
	char *line = NULL;

	CHECK_OK(engine_pills("!todo judy check",
			      "!todo <a href=\"https://matrix.to/#/@judy:localhost "
			      "due:+1d critical\">judy</a> check", &line));
	CHECK_STR(line, "!todo judy check");
	free(line);
	CHECK_OK(engine_pills("!todo Judy check",
			      "!todo <a href=\"https://matrix.to/#/@judy:localhost\">Judy</a> check",
			      &line));
	CHECK_STR(line, "!todo @judy:localhost check");
	free(line);
}

TESTS(TEST(test_edit_of_an_edit_makes_nothing),
      TEST(test_editing_a_failed_command_twice_makes_one_record),
      TEST(test_edit_from_another_sender_is_ignored),
      TEST(test_redacting_an_edit_reverts_it),
      TEST(test_redacting_supersede_restores_the_decision),
      TEST(test_redacting_done_leaves_it_done),
      TEST(test_reactions_count_only_in_their_room),
      TEST(test_edits_and_redactions_stay_in_their_room),
      TEST(test_nul_in_a_command_gets_a_reply),
      TEST(test_pill_href_must_be_a_user_id))
