/* SPDX-License-Identifier: MIT */
/*
 * bot_backfill.c - the events a sync left out. A limited timeline is
 * back-filled forward from the previous sync token with /messages, a
 * page at a time, each page committed on its own (bot_backfill); on a
 * store's first sync, a room whose join lies before its timeline is
 * searched back to that join (bot_first_sync_join). See docs/design.md,
 * "Back-fill".
 */
#include <stdlib.h>
#include <string.h>

#include "bot_int.h"
#include "log.h"
#include "banned.h"

/* Events asked of /messages per page. Each page is committed on its
 * own; 250 instead of 100 halves the commits (and the index pages they
 * rewrite) and the round trips of a long gap: 8-10% more commands per
 * second in a backlog of 10,000, plain or encrypted. */
#define PAGE_EVENTS 250
#define BACKFILL_PAGES 40000 /* x PAGE_EVENTS: a guard, not a limit */
#define JOIN_SEARCH_PAGES 40 /* x PAGE_EVENTS: bot_first_sync_join's guard */

/* One page of a room's /messages: PAGE_EVENTS from the token from in
 * direction dir ("f" or "b"), up to the token to (or NULL). */
static sc_err get_messages(struct bot *b, const char *room, const char *dir,
			   const char *from, const char *to, json_t **resp)
{
	struct sbuf path;
	sc_err err;

	sbuf_init(&path, 0);
	err = mx_path(&path, "/rooms/%s/messages", room);
	if (!err)
		err = sbuf_printf(&path, "?dir=%s&limit=%d&from=", dir,
				  PAGE_EVENTS);
	if (!err)
		err = sbuf_urlenc(&path, from);
	if (!err && to)
		err = sbuf_puts(&path, "&to=");
	if (!err && to)
		err = sbuf_urlenc(&path, to);
	if (!err)
		err = mx_call_retry(b->mx, "GET", path.buf, NULL, 0, resp);
	sbuf_release(&path);
	return err;
}

/* After a /messages page resp: move *token to its end and say whether
 * another page follows (not after an empty page, a missing end, or an end
 * that does not move on). */
static sc_err next_page(json_t *resp, char **token, int *more)
{
	const char *end = jstr(resp, "end");

	*more = json_array_size(json_object_get(resp, "chunk")) && end &&
		strcmp(end, *token);
	if (!*more)
		return SC_OK;
	free(*token);
	*token = strdup(end);
	return *token ? SC_OK : SC_ENOMEM;
}

/*
 * A limited timeline: the sync left out the events between our previous
 * sync token (since) and the timeline's prev_batch. Page forward through
 * them with /messages, oldest first, handling each page like a timeline
 * and committing after it, so a gap of any length is processed in flat
 * memory and a crash keeps the pages already done (their events are
 * marked seen, so the replay after a restart skips them). The page
 * count is bounded only as a guard against a server that never ends.
 */
sc_err bot_backfill(struct bot *b, struct room_batch *rb, const char *since,
		    const char *to, int64_t now, json_t *receipts)
{
	char *token = strdup(since);
	size_t total = 0;
	sc_err err = SC_OK;
	int more = 1, page;

	if (!token)
		return SC_ENOMEM;
	for (page = 0; page < BACKFILL_PAGES && more && !err; page++) {
		json_t *resp = NULL, *chunk, *ev;
		size_t i;

		err = get_messages(b, rb->room, "f", token, to, &resp);
		if (err)
			break;
		chunk = json_object_get(resp, "chunk");
		json_array_foreach(chunk, i, ev) {
			err = bot_take_event(b, rb, ev, now);
			if (err)
				break;
		}
		total += json_array_size(chunk);
		if (!err && rb->last_event &&
		    json_object_set_new(receipts, rb->room, json_string(rb->last_event)))
			err = SC_ENOMEM;
		rb->last_event = NULL; /* it lived in this page */
		if (!err) /* keep this page even if the next one crashes */
			err = bot_checkpoint(b);
		if (!err)
			err = next_page(resp, &token, &more);
		json_decref(resp);
	}
	free(token);
	if (!err && more)
		log_warn("gap in %s longer than %d events; older events "
			 "skipped", rb->room, BACKFILL_PAGES * PAGE_EVENTS);
	if (!err && total)
		log_info("back-filled %zu events in %s", total, rb->room);
	return err;
}

/*
 * The first sync of a store shows a room we are joined to, but not our
 * join: its timeline is limited and the join lies before it. If the join
 * is newer than the store's first run, scribe accepted the invite and
 * died before that batch was committed, and the commands after the join
 * are waiting in the gap. (A join older than the store is a new store for
 * an account already in rooms: what came before is history.) Page back
 * from the timeline's start, newest first, until our join or an event
 * older than horizon_ms; when the join is found, handle it and every
 * event after it, oldest first, before the timeline itself.
 */
sc_err bot_first_sync_join(struct bot *b, struct room_batch *rb,
			   const char *from, int64_t horizon_ms, int64_t now)
{
	json_t *seen = json_array(); /* newest first, the join last */
	char *at = strdup(from);
	sc_err err = seen && at ? SC_OK : SC_ENOMEM;
	int page, found = 0, done = 0, more = 1;

	for (page = 0; page < JOIN_SEARCH_PAGES && !err && !done && more; page++) {
		json_t *resp = NULL, *chunk, *ev;
		size_t i;

		err = get_messages(b, rb->room, "b", at, NULL, &resp);
		if (err)
			break;
		chunk = json_object_get(resp, "chunk");
		json_array_foreach(chunk, i, ev) {
			if (event_ts(ev) <
			    horizon_ms) {
				done = 1;
				break;
			}
			if (json_array_append(seen, ev)) {
				err = SC_ENOMEM;
				break;
			}
			if (bot_is_own_join(b, ev)) {
				found = done = 1;
				break;
			}
		}
		if (!err && !done)
			err = next_page(resp, &at, &more);
		json_decref(resp);
	}
	free(at);
	if (!err && !done && more)
		log_warn("%s: no join of ours in the last %d events; "
			 "counting from now",
			 rb->room, JOIN_SEARCH_PAGES * PAGE_EVENTS);
	for (size_t i = json_array_size(seen); found && !err && i-- > 0;)
		err = bot_take_event(b, rb, json_array_get(seen, i), now);
	if (!err && found && json_array_size(seen) > 1)
		log_info("%s: found our join before the first sync; handled %zu "
			 "events after it", rb->room, json_array_size(seen) - 1);
	json_decref(seen);
	return err;
}
