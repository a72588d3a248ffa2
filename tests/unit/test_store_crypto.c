/* SPDX-License-Identifier: MIT */
/*
 * test_store_crypto.c - the end-to-end encryption tables: every value
 * comes back as written, the replay log refuses a second event for one
 * message index, rotation drops exactly the rooms it must, the queue
 * hands back only events whose key arrived, a rolled-back transaction
 * leaves nothing behind, everything survives a reopen, and a query
 * re-entered from its own callback works (statements are cached).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "store.h"
#include "store_crypto.h"
#include "banned.h"

#define ROOM_A "!a:example.org"
#define ROOM_B "!b:example.org"
#define BOB "@bob:example.org"

static struct store *mem(void)
{
	struct store *st = NULL;

	CHECK_OK(store_open(":memory:", &st));
	return st;
}

static void test_named_values(void)
{
	struct store *st = mem();
	char *v = NULL;

	CHECK_INT(store_crypto_get(st, "account", &v), SC_ENOTFOUND);
	CHECK_OK(store_crypto_put(st, "account", "pickle-1"));
	CHECK_OK(store_crypto_put(st, "account", "pickle-2"));
	CHECK_OK(store_crypto_get(st, "account", &v));
	CHECK_STR(v, "pickle-2");
	free(v);
	CHECK_INT(store_crypto_put(st, "account", NULL), SC_EINVAL);
	CHECK(store_schema_version(st) >= 2 && store_schema_version(st) == store_schema_latest());
	store_close(st);
}

struct olm_seen {
	char ids[4][16];
	int n;
};

static int olm_cb(const struct olm_row *r, void *ctx)
{
	struct olm_seen *s = ctx;

	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", r->session_id);
	return s->n == 4;
}

static void test_olm_sessions_most_recent_first(void)
{
	struct store *st = mem();
	struct olm_seen seen;
	int64_t created = 0;

	CHECK_INT(store_olm_newest(st, "K", &created), SC_ENOTFOUND);
	CHECK_OK(store_olm_put(st, "s1", "K", "p1", 100));
	CHECK_OK(store_olm_put(st, "s2", "K", "p2", 200));
	CHECK_OK(store_olm_put(st, "s3", "OTHER", "p3", 300));
	CHECK_OK(store_olm_put(st, "s1", "K", "p1b", 400)); /* used again */
	memset(&seen, 0, sizeof(seen));
	CHECK_OK(store_olm_sessions(st, "K", olm_cb, &seen));
	CHECK_INT(seen.n, 2);
	CHECK_STR(seen.ids[0], "s1");
	CHECK_STR(seen.ids[1], "s2");
	/* created is kept from the first insert */
	CHECK_OK(store_olm_newest(st, "K", &created));
	CHECK_INT(created, 200);
	store_close(st);
}

static void test_inbound_sessions_and_replays(void)
{
	struct store *st = mem();
	struct gin_row r = { (char *)ROOM_A, (char *)"S", (char *)"curve",
			     (char *)BOB, NULL, (char *)"pk", 5 };
	struct gin_row got;

	CHECK_INT(store_gin_get(st, ROOM_A, "S", &got), SC_ENOTFOUND);
	CHECK_OK(store_gin_put(st, &r));
	CHECK_OK(store_gin_get(st, ROOM_A, "S", &got));
	CHECK_STR(got.sender_user, BOB);
	CHECK_STR(got.sender_key, "curve");
	CHECK(got.ed25519 == NULL);
	CHECK_INT(got.first_index, 5);
	gin_row_clear(&got);
	CHECK_INT(store_gin_get(st, ROOM_B, "S", &got), SC_ENOTFOUND);

	CHECK_OK(store_gin_seen(st, ROOM_A, "S", 7, "$e1"));
	CHECK_OK(
	    store_gin_seen(st, ROOM_A, "S", 7, "$e1")); /* same event again */
	CHECK_INT(store_gin_seen(st, ROOM_A, "S", 7, "$e2"), SC_EEXISTS);
	CHECK_CONTAINS(store_errmsg(st), "$e1");
	CHECK_OK(store_gin_seen(st, ROOM_A, "S", 8, "$e2"));
	CHECK_OK(store_gin_seen(st, ROOM_B, "S", 7, "$e3")); /* other room */
	store_close(st);
}

static void put_gout(struct store *st, const char *room, const char *sid)
{
	struct gout_row r = { (char *)room, (char *)sid, (char *)"pk", 1000,
			      100, 604800000 };

	CHECK_OK(store_gout_put(st, &r));
}

static void test_outbound_rotation(void)
{
	struct store *st = mem();
	struct gout_row got;
	int shared = -1;

	put_gout(st, ROOM_A, "SA");
	put_gout(st, ROOM_B, "SB");
	CHECK_OK(store_gout_get(st, ROOM_A, &got));
	CHECK_STR(got.session_id, "SA");
	CHECK_INT(got.max_msgs, 100);
	CHECK_INT(got.max_age_ms, 604800000);
	gout_row_clear(&got);

	CHECK_OK(store_gout_is_shared(st, ROOM_A, "SA", BOB, "D1", &shared));
	CHECK_INT(shared, 0);
	CHECK_OK(store_gout_shared(st, ROOM_A, "SA", BOB, "D1"));
	CHECK_OK(store_gout_shared(st, ROOM_A, "SA", BOB, "D1"));
	CHECK_OK(store_gout_is_shared(st, ROOM_A, "SA", BOB, "D1", &shared));
	CHECK_INT(shared, 1);
	CHECK_OK(store_gout_shared(st, ROOM_B, "SB", BOB, "D2"));

	/* device D1 changed: only room A (which shared with it) rotates */
	CHECK_OK(store_gout_del_device(st, BOB, "D1"));
	CHECK_INT(store_gout_get(st, ROOM_A, &got), SC_ENOTFOUND);
	CHECK_OK(store_gout_is_shared(st, ROOM_A, "SA", BOB, "D1", &shared));
	CHECK_INT(shared, 0);
	CHECK_OK(store_gout_get(st, ROOM_B, &got));
	gout_row_clear(&got);

	/* a leave in room B */
	CHECK_OK(store_gout_del(st, ROOM_B));
	CHECK_INT(store_gout_get(st, ROOM_B, &got), SC_ENOTFOUND);
	CHECK_OK(store_gout_del(st, ROOM_B)); /* nothing left: fine */
	store_close(st);
}

static int count_dev(const struct device_row *d, void *ctx)
{
	(void)d;
	(*(int *)ctx)++;
	return 0;
}

static int grab_dev(const struct device_row *d, void *ctx)
{
	snprintf(ctx, 64, "%s/%s/%s/%d", d->user_id, d->device_id, d->ed25519,
		 d->cross_signed);
	return 1;
}

static int add_user(const char *s, void *ctx)
{
	strncat(ctx, s, 200);
	strncat(ctx, ";", 2);
	return 0;
}

static void test_devices_and_tracking(void)
{
	struct store *st = mem();
	struct device_row d1 = { BOB, "D1", "c1", "e1", 0 };
	struct device_row d2 = { BOB, "D2", "c2", "e2", 1 };
	char buf[256] = "";
	int n = 0, outdated = -1;

	CHECK_OK(store_device_put(st, &d1));
	CHECK_OK(store_device_put(st, &d2));
	CHECK_OK(store_devices(st, BOB, count_dev, &n));
	CHECK_INT(n, 2);
	CHECK_OK(store_device_by_curve(st, "c2", grab_dev, buf));
	CHECK_STR(buf, BOB "/D2/e2/1");
	CHECK_INT(store_device_by_curve(st, "nope", grab_dev, buf),
		  SC_ENOTFOUND);
	CHECK_OK(store_device_del(st, BOB, "D2"));
	CHECK_INT(store_device_by_curve(st, "c2", grab_dev, buf), SC_ENOTFOUND);

	CHECK_INT(store_user_tracked(st, BOB, &outdated), SC_ENOTFOUND);
	CHECK_OK(store_user_outdate(st, BOB)); /* untracked stays untracked */
	CHECK_INT(store_user_tracked(st, BOB, &outdated), SC_ENOTFOUND);
	CHECK_OK(store_user_track(st, BOB, 0));
	CHECK_OK(store_user_track(st, "@carol:x", 1));
	CHECK_OK(store_user_tracked(st, BOB, &outdated));
	CHECK_INT(outdated, 0);
	CHECK_OK(store_user_outdate(st, BOB));
	CHECK_OK(store_user_tracked(st, BOB, &outdated));
	CHECK_INT(outdated, 1);
	buf[0] = 0;
	CHECK_OK(store_users_outdated(st, add_user, buf));
	CHECK_STR(buf, "@bob:example.org;@carol:x;");
	store_close(st);
}

struct nest {
	struct store *st;
	int outer, inner;
};

static int count_inner(const struct device_row *d, void *ctx)
{
	(void)d;
	((struct nest *)ctx)->inner++;
	return 0;
}

/* Runs the same statement again from inside its own callback. */
static int count_nested(const struct device_row *d, void *ctx)
{
	struct nest *n = ctx;

	n->outer++;
	return store_devices(n->st, d->user_id, count_inner, n) != SC_OK;
}

/* Statements stay prepared between calls: a callback that re-enters
 * the same query gets its own, and both run to the end. */
static void test_cached_statements_reenter(void)
{
	struct store *st = mem();
	struct device_row d1 = { BOB, "D1", "c1", "e1", 0 };
	struct device_row d2 = { BOB, "D2", "c2", "e2", 0 };
	struct nest n = { st, 0, 0 };

	CHECK_OK(store_device_put(st, &d1));
	CHECK_OK(store_device_put(st, &d2));
	CHECK_OK(store_devices(st, BOB, count_nested, &n));
	CHECK_INT(n.outer, 2);
	CHECK_INT(n.inner, 4);
	n.outer = n.inner = 0; /* and the cached one is reusable afterwards */
	CHECK_OK(store_devices(st, BOB, count_nested, &n));
	CHECK_INT(n.outer, 2);
	CHECK_INT(n.inner, 4);
	store_close(st);
}

static int grab_event(const char *room, const char *event, void *ctx)
{
	strncat(ctx, room, 100);
	strncat(ctx, "=", 2);
	strncat(ctx, event, 100);
	strncat(ctx, ";", 2);
	return 0;
}

static void test_undecrypted_queue(void)
{
	struct store *st = mem();
	struct gin_row r = { (char *)ROOM_A, (char *)"S1", (char *)"curve",
			     (char *)BOB, NULL, (char *)"pk", 0 };
	char buf[512] = "";
	int64_t n = -1;

	CHECK_OK(
	    store_undecrypted_add(st, "$1", ROOM_A, "S1", "{\"a\":1}", 10));
	CHECK_OK(
	    store_undecrypted_add(st, "$1", ROOM_A, "S1", "{\"a\":9}", 11));
	CHECK_OK(
	    store_undecrypted_add(st, "$2", ROOM_A, "S2", "{\"b\":2}", 12));
	CHECK_OK(store_undecrypted_count(st, &n));
	CHECK_INT(n, 2);
	CHECK_OK(store_undecrypted_ready(st, grab_event, buf));
	CHECK_STR(buf, ""); /* no key yet */
	CHECK_OK(store_gin_put(st, &r));
	CHECK_OK(store_undecrypted_ready(st, grab_event, buf));
	CHECK_STR(buf, ROOM_A "={\"a\":1};"); /* first add wins */
	CHECK_OK(store_undecrypted_del(st, "$1"));
	CHECK_OK(store_undecrypted_count(st, &n));
	CHECK_INT(n, 1);
	CHECK_OK(store_undecrypted_prune(st, 12)); /* $2 is from 12: kept */
	CHECK_OK(store_undecrypted_count(st, &n));
	CHECK_INT(n, 1);
	CHECK_OK(store_undecrypted_prune(st, 13));
	CHECK_OK(store_undecrypted_count(st, &n));
	CHECK_INT(n, 0);
	store_close(st);
}

static int grab_outbox(const struct outbox_msg *m, void *ctx)
{
	strncat(ctx, m->txn_id, 20);
	strncat(ctx, ";", 2);
	return 0;
}

static void test_outbox_to_encrypt(void)
{
	struct store *st = mem();
	struct room r;
	char buf[256] = "";

	memset(&r, 0, sizeof(r));
	r.digest_minute = -1;
	r.room_id = (char *)ROOM_A;
	r.encrypted = 1;
	CHECK_OK(store_room_put(st, &r));
	r.room_id = (char *)ROOM_B;
	r.encrypted = 0;
	CHECK_OK(store_room_put(st, &r));
	CHECK_OK(store_outbox_add(st, "t1", ROOM_A, "m.room.message", "{}", 0));
	CHECK_OK(store_outbox_add(st, "t2", ROOM_B, "m.room.message", "{}", 0));
	CHECK_OK(
	    store_outbox_add(st, "t3", ROOM_A, "m.room.encrypted", "{}", 0));
	CHECK_OK(store_outbox_add(st, "t4", "!unknown:x", "m.room.message",
				  "{}", 0));
	CHECK_OK(store_outbox_add(st, "t5", ROOM_A, "m.room.message", "{}", 0));
	CHECK_OK(store_outbox_to_encrypt(st, grab_outbox, buf));
	CHECK_STR(buf, "t1;t5;"); /* plaintext for the encrypted room only */
	store_close(st);
}

static void test_rollback_and_reopen(void)
{
	char path[1024];
	struct store *st = NULL;
	struct gout_row got;
	char *v = NULL;

	snprintf(path, sizeof(path), "%s/crypto.db", th_tmpdir());
	unlink(path);
	CHECK_OK(store_open(path, &st));
	CHECK_OK(store_tx_begin(st));
	CHECK_OK(store_crypto_put(st, "account", "lost"));
	put_gout(st, ROOM_A, "SA");
	CHECK_OK(store_tx_rollback(st));
	CHECK_INT(store_crypto_get(st, "account", &v), SC_ENOTFOUND);
	CHECK_INT(store_gout_get(st, ROOM_A, &got), SC_ENOTFOUND);
	CHECK_OK(store_tx_begin(st));
	CHECK_OK(store_crypto_put(st, "account", "kept"));
	put_gout(st, ROOM_A, "SA");
	CHECK_OK(store_tx_commit(st));
	store_close(st);

	st = NULL;
	CHECK_OK(store_open(path, &st));
	CHECK_OK(store_crypto_get(st, "account", &v));
	CHECK_STR(v, "kept");
	free(v);
	CHECK_OK(store_gout_get(st, ROOM_A, &got));
	CHECK_STR(got.session_id, "SA");
	gout_row_clear(&got);
	store_close(st);
}

TESTS(TEST(test_named_values), TEST(test_olm_sessions_most_recent_first),
      TEST(test_inbound_sessions_and_replays), TEST(test_outbound_rotation),
      TEST(test_devices_and_tracking), TEST(test_cached_statements_reenter),
      TEST(test_undecrypted_queue),
      TEST(test_outbox_to_encrypt), TEST(test_rollback_and_reopen))
