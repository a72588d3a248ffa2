/* SPDX-License-Identifier: MIT */
/*
 * map.h - two small hash maps: strings to numbers (the HTML export's
 * rooms, targets, owners and file names; people's labels per room) and
 * numbers to three counters (the charts' weeks and months, sets of
 * record numbers). Open addressing, linear probing, grown at half full;
 * nothing may rely on their iteration order.
 */
#ifndef SCRIBE_MAP_H
#define SCRIBE_MAP_H

#include <stddef.h>
#include <stdint.h>

/* string -> number, keys copied */
struct smap {
	struct sent {
		char *key;
		size_t val;
	} *v;
	size_t cap, n;
};
/* The value of key, added as 0 when new (*added set, if not NULL);
 * NULL when out of memory. Valid until the next smap_at. */
size_t *smap_at(struct smap *m, const char *key, int *added);
/* 1 and *val when present. */
int smap_get(const struct smap *m, const char *key, size_t *val);
void smap_free(struct smap *m);

/* int64 -> three counters (week or month buckets; sets of numbers) */
struct imap {
	struct ient {
		int64_t key, a, b, c;
		int used;
	} *v;
	size_t cap, n;
};
/* The entry of key, added zeroed when new; NULL when out of memory. */
struct ient *imap_at(struct imap *m, int64_t key);
const struct ient *imap_get(const struct imap *m, int64_t key);
void imap_free(struct imap *m);

#endif
