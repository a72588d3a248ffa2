/* SPDX-License-Identifier: MIT */
/*
 * people.c - the label of a person in a room (see people.h), shared by
 * replies (cmd.c's reply_user) and exports.
 */
#include <stdlib.h>
#include <string.h>

#include "people.h"
#include "sbuf.h"
#include "banned.h"

/* Most characters of a display name a label shows ("…" after). */
#define LABEL_CHARS 64

void person_names_init(struct person_names *n)
{
	memset(n, 0, sizeof(*n));
}

void person_names_clear(struct person_names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->labels[i]);
	free(n->labels);
	smap_free(&n->ix);
	free(n->room);
	person_names_init(n);
}

sc_err person_names_room(struct person_names *n, struct store *st, const char *room_id)
{
	char *room;

	if (n->st == st && n->room && !strcmp(n->room, room_id))
		return SC_OK;
	room = strdup(room_id);
	if (!room)
		return SC_ENOMEM;
	if (n->st != st) /* another store's labels are not this one's */
		person_names_clear(n);
	free(n->room);
	n->room = room;
	n->st = st;
	return SC_OK;
}

int person_is_user_id(const char *s)
{
	const char *colon = strchr(s, ':');

	return s[0] == '@' && colon && colon > s + 1 && colon[1] &&
	       !strpbrk(s, "\t\n\r");
}

/* A display name as a label: control characters become spaces, runs of
 * blanks one, at most LABEL_CHARS characters ("…" after). NULL when
 * nothing is left or out of memory. */
static char *clean_name(const char *s)
{
	struct sbuf sb;
	size_t chars = 0;
	int space = 1;

	sbuf_init(&sb, 0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == ' ') {
			if (!space && sbuf_putc(&sb, ' '))
				goto fail;
			space = 1;
			continue;
		}
		if ((*p & 0xC0) != 0x80 && ++chars > LABEL_CHARS) {
			if (sbuf_puts(&sb, "\xE2\x80\xA6"))
				goto fail;
			break;
		}
		space = 0;
		if (sbuf_putc(&sb, (char)*p))
			goto fail;
	}
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sbuf_setlen(&sb, sb.len - 1);
	if (!sb.len)
		goto fail;
	return sbuf_detach(&sb, NULL);
fail:
	sbuf_release(&sb);
	return NULL;
}

/* The label of a user id (a new string, NULL when out of memory). */
static char *label_of(struct person_names *n, const char *user_id)
{
	struct member m;
	char *label = NULL, *who = NULL;
	sc_err err;

	err = store_member_get(n->st, n->room, user_id, &m);
	if (!err) {
		if (m.display_name)
			label = clean_name(m.display_name);
		member_clear(&m);
	}
	if (!label) {
		const char *colon = strchr(user_id, ':');
		label = strndup(user_id + 1, (size_t)(colon - user_id - 1));
	}
	if (!label)
		return NULL;
	/* the label must lead back to this user and nobody else */
	err = store_member_resolve(n->st, n->room, label, &who, NULL);
	if ((err && err != SC_ENOTFOUND) || (!err && strcmp(who, user_id))) {
		free(label);
		label = strdup(user_id);
	}
	free(who);
	return label;
}

const char *person_label(struct person_names *n, const char *user_id)
{
	char kb[256], *key = kb, *label, **v;
	size_t ul, rl, *slot;

	if (!n->st || !n->room || !person_is_user_id(user_id))
		return user_id;
	/* "user id<TAB>room id": a user id holds no tab (person_is_user_id).
	 * Asked for every person shown: on the stack when it fits. */
	ul = strlen(user_id);
	rl = strlen(n->room);
	if (ul + rl + 2 > sizeof(kb) && !(key = malloc(ul + rl + 2)))
		return NULL;
	memcpy(key, user_id, ul);
	key[ul] = '\t';
	memcpy(key + ul + 1, n->room, rl + 1);
	slot = smap_at(&n->ix, key, NULL);
	if (key != kb)
		free(key);
	if (!slot)
		return NULL;
	if (*slot) /* 0: new, or its label ran out of memory last time */
		return n->labels[*slot - 1];
	label = label_of(n, user_id);
	v = label ? realloc(n->labels, (n->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(label);
		return NULL;
	}
	n->labels = v;
	v[n->n++] = label;
	*slot = n->n;
	return label;
}
