/* SPDX-License-Identifier: MIT */
/*
 * test_people.c - people's labels (people.h): a room's display name,
 * else the localpart, the full id when another member looks the same,
 * and one cache across rooms.
 */
#include <string.h>

#include "harness.h"
#include "people.h"
#include "store.h"
#include "banned.h"

static struct store *two_rooms(void)
{
	struct store *st;

	CHECK_OK(store_open(":memory:", &st));
	CHECK_OK(store_member_put(st, "!a:x", "@alice:x", "Alice in A", "join", 0));
	CHECK_OK(store_member_put(st, "!b:x", "@alice:x", "Alice in B", "join", 0));
	CHECK_OK(store_member_put(st, "!b:x", "@bob:x", NULL, "join", 0));
	/* in room a, eve calls herself bob: bob there is shown by his id */
	CHECK_OK(store_member_put(st, "!a:x", "@bob:x", NULL, "join", 0));
	CHECK_OK(store_member_put(st, "!a:x", "@eve:x", "bob", "join", 0));
	return st;
}

static void test_labels_per_room(void)
{
	struct store *st = two_rooms();
	struct person_names n;

	person_names_init(&n);
	CHECK_STR(person_label(&n, "@alice:x"), "@alice:x"); /* no store yet */
	CHECK_OK(person_names_room(&n, st, "!a:x"));
	CHECK_STR(person_label(&n, "@alice:x"), "Alice in A");
	CHECK_STR(person_label(&n, "@bob:x"), "@bob:x");
	CHECK_STR(person_label(&n, "@carol:x"), "carol"); /* not a member */
	CHECK_STR(person_label(&n, "CLI (build1)"), "CLI (build1)");
	CHECK_OK(person_names_room(&n, st, "!b:x"));
	CHECK_STR(person_label(&n, "@alice:x"), "Alice in B");
	CHECK_STR(person_label(&n, "@bob:x"), "bob");
	{ /* ids longer than the key buffer on the stack */
		char room[400], user[300];

		memset(room, 'r', sizeof(room));
		memcpy(room, "!", 1);
		memcpy(room + sizeof(room) - 3, ":x", 3);
		memset(user, 'u', sizeof(user));
		memcpy(user, "@", 1);
		memcpy(user + sizeof(user) - 3, ":x", 3);
		CHECK_OK(store_member_put(st, room, user, "Long", "join", 0));
		CHECK_OK(person_names_room(&n, st, room));
		CHECK_STR(person_label(&n, user), "Long");
		CHECK_STR(person_label(&n, user), "Long");
	}
	person_names_clear(&n);
	store_close(st);
}

/* An export goes from room to room record by record: a label found once
 * is kept for the whole run (asked of the store once per person and
 * room), so one person reads the same all through one file. */
static void test_labels_kept_across_rooms(void)
{
	struct store *st = two_rooms(), *other;
	struct person_names n;
	const char *a;

	person_names_init(&n);
	CHECK_OK(person_names_room(&n, st, "!a:x"));
	a = person_label(&n, "@alice:x");
	CHECK_STR(a, "Alice in A");
	CHECK_OK(person_names_room(&n, st, "!b:x"));
	CHECK_STR(person_label(&n, "@alice:x"), "Alice in B");
	CHECK_OK(store_member_put(st, "!a:x", "@alice:x", "Renamed", "join", 0));
	CHECK_OK(person_names_room(&n, st, "!a:x"));
	CHECK(person_label(&n, "@alice:x") == a); /* the same string */
	CHECK_STR(a, "Alice in A");
	/* another store: its own labels */
	CHECK_OK(store_open(":memory:", &other));
	CHECK_OK(store_member_put(other, "!a:x", "@alice:x", "Other", "join", 0));
	CHECK_OK(person_names_room(&n, other, "!a:x"));
	CHECK_STR(person_label(&n, "@alice:x"), "Other");
	person_names_clear(&n);
	person_names_clear(&n); /* twice is harmless */
	store_close(other);
	store_close(st);
}

TESTS(TEST(test_labels_per_room), TEST(test_labels_kept_across_rooms))
