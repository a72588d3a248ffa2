/* SPDX-License-Identifier: MIT */
/*
 * people.h - people as a room knows them: the label shown for a Matrix
 * user id in replies and exports is the user's current display name in
 * the room, else the localpart; the full id when another member of the
 * room would look the same (so nobody can pass for someone else by
 * taking their name). A person_names holds the room and a cache of
 * the labels of every room it was asked about.
 */
#ifndef SCRIBE_PEOPLE_H
#define SCRIBE_PEOPLE_H

#include <stddef.h>

#include "map.h"
#include "store.h"

struct person_names {
	struct store *st;          /* borrowed; NULL: labels are the ids */
	char *room;                /* owned */
	struct smap ix;            /* "user id\troom id" -> label + 1 */
	char **labels;             /* owned */
	size_t n;
};

/* Zero n (no store: every label is the id itself). */
void person_names_init(struct person_names *n);
void person_names_clear(struct person_names *n);
/* Label people of room_id from st (borrowed; must outlive n) from now
 * on. room_id is copied. A label, once found, stays the same until
 * person_names_clear, whatever room comes in between (an export that
 * goes from room to room record by record asks the store once per
 * person and room). */
sc_err person_names_room(struct person_names *n, struct store *st,
			 const char *room_id);
/* The label of user_id: "Elon Musk", "elon" or "@elon:example.org".
 * A name that is no user id ("deploybot", "CLI (build1)": what the CLI
 * credits) is its own label. Borrowed from n until person_names_clear;
 * NULL when out of memory. */
const char *person_label(struct person_names *n, const char *user_id);
/* 1 if s is a Matrix user id ("@local:server"). */
int person_is_user_id(const char *s);

#endif
