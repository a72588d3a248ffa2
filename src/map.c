/* SPDX-License-Identifier: MIT */
/*
 * map.c - two small hash maps (map.h): strings to numbers and numbers
 * to counters. Open addressing, linear probing, grown at half full.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "banned.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint64_t hash_int(int64_t k)
{
	uint64_t z = (uint64_t)k + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct sent *smap_slot(const struct smap *m, const char *key)
{
	size_t i = hash_str(key) & (m->cap - 1);

	while (m->v[i].key && strcmp(m->v[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

size_t *smap_at(struct smap *m, const char *key, int *added)
{
	struct sent *e;

	if (added)
		*added = 0;
	if ((m->n + 1) * 2 > m->cap) {
		struct smap g = { NULL, m->cap ? m->cap * 2 : 64, 0 };

		g.v = calloc(g.cap, sizeof(*g.v));
		if (!g.v)
			return NULL;
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].key)
				*smap_slot(&g, m->v[i].key) = m->v[i];
		free(m->v);
		m->v = g.v;
		m->cap = g.cap;
	}
	e = smap_slot(m, key);
	if (!e->key) {
		e->key = strdup(key);
		if (!e->key)
			return NULL;
		e->val = 0;
		m->n++;
		if (added)
			*added = 1;
	}
	return &e->val;
}

int smap_get(const struct smap *m, const char *key, size_t *val)
{
	const struct sent *e;

	if (!m->n)
		return 0;
	e = smap_slot(m, key);
	if (!e->key)
		return 0;
	if (val)
		*val = e->val;
	return 1;
}

void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static struct ient *imap_slot(const struct imap *m, int64_t key)
{
	size_t i = hash_int(key) & (m->cap - 1);

	while (m->v[i].used && m->v[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

struct ient *imap_at(struct imap *m, int64_t key)
{
	struct ient *e;

	if ((m->n + 1) * 2 > m->cap) {
		struct imap g = { NULL, m->cap ? m->cap * 2 : 64, 0 };

		g.v = calloc(g.cap, sizeof(*g.v));
		if (!g.v)
			return NULL;
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].used)
				*imap_slot(&g, m->v[i].key) = m->v[i];
		free(m->v);
		m->v = g.v;
		m->cap = g.cap;
	}
	e = imap_slot(m, key);
	if (!e->used) {
		memset(e, 0, sizeof(*e));
		e->used = 1;
		e->key = key;
		m->n++;
	}
	return e;
}

const struct ient *imap_get(const struct imap *m, int64_t key)
{
	const struct ient *e;

	if (!m->n)
		return NULL;
	e = imap_slot(m, key);
	return e->used ? e : NULL;
}

void imap_free(struct imap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}
