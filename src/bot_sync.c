/* SPDX-License-Identifier: MIT */
/*
 * bot_sync.c - one /sync batch of `scribe run` (bot_handle_sync, see
 * bot.h): invites, joined rooms room by room (state first, then a
 * back-fill when the timeline is limited, then each timeline event),
 * rooms left, and the read receipts. Room state kept from it: members,
 * power levels, encryption, names, aliases, upgrades. Timeline events:
 * commands and their edits, redactions, reactions, decryption. Each
 * room is committed on its own (bot_checkpoint) with its events marked
 * seen and its replies queued; the last commit stores the next sync
 * token.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bot_int.h"
#include "e2ee.h"
#include "engine.h"
#include "log.h"
#include "store_remind.h"
#include "wirejson.h"
#include "banned.h"

/* Whether o's string key holds a NUL (or what the wire parser replaced
 * by one, wirejson.h). */
static int has_nul(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) && !wire_json_clean_str(v);
}

/* ---- state: members, power levels, encryption ---- */

/* A power level from a power_levels content: integers only, clamped to
 * what an int holds (a hostile server may send 10^30). */
static int power_value(json_t *v)
{
	json_int_t p = json_integer_value(v);

	return !json_is_integer(v) ? 0 : p > INT_MAX ? INT_MAX :
	       p < INT_MIN ? INT_MIN : (int)p;
}

/* The room's power_levels content as last seen is kept in the store, so a
 * member who joins later gets the level it gives them. */
static sc_err power_of(struct bot *b, const char *room, const char *who,
		       int *power)
{
	struct sbuf key;
	char *text = NULL;
	json_t *c;
	sc_err err;

	*power = 0;
	sbuf_init(&key, 0);
	err = sbuf_printf(&key, "power_levels.%s", room);
	if (!err)
		err = store_kv_get(b->st, key.buf, &text);
	sbuf_release(&key);
	if (err)
		return err == SC_ENOTFOUND ? SC_OK : err;
	c = json_loads(text, 0, NULL);
	free(text);
	if (json_is_integer(json_object_get(json_object_get(c, "users"), who)))
		*power = power_value(json_object_get(json_object_get(c, "users"), who));
	else
		*power = power_value(json_object_get(c, "users_default"));
	json_decref(c);
	return SC_OK;
}

static sc_err on_member(struct bot *b, const char *room, json_t *ev)
{
	json_t *c = json_object_get(ev, "content");
	const char *who = jstr(ev, "state_key");
	const char *ms = jstr(c, "membership");
	struct member old;
	int power = 0;
	sc_err err;

	if (!who || !ms)
		return SC_OK;
	err = store_member_get(b->st, room, who, &old);
	if (err == SC_OK) {
		power = old.power;
		member_clear(&old);
	} else if (err == SC_ENOTFOUND) {
		/* power given before they joined counts from their join */
		err = power_of(b, room, who, &power);
	}
	if (err)
		return err;
	err = store_member_put(b->st, room, who, jstr(c, "displayname"), ms, power);
	if (!err && b->e2ee)
		err = e2ee_on_member(b->e2ee, room, who, ms);
	return err;
}

static sc_err keep_power_levels(struct bot *b, const char *room, json_t *c)
{
	json_t *keep = json_pack("{s:O?, s:O?}", "users",
				 json_object_get(c, "users"), "users_default",
				 json_object_get(c, "users_default"));
	char *text = keep ? json_dumps(keep, JSON_COMPACT) : NULL;
	struct sbuf key;
	sc_err err;

	json_decref(keep);
	if (!text)
		return SC_ENOMEM;
	sbuf_init(&key, 0);
	err = sbuf_printf(&key, "power_levels.%s", room);
	if (!err)
		err = store_kv_put(b->st, key.buf, text);
	sbuf_release(&key);
	free(text);
	return err;
}

static sc_err on_power_levels(struct bot *b, const char *room, json_t *ev)
{
	json_t *c = json_object_get(ev, "content");
	json_t *users = json_object_get(c, "users");
	json_t *def = json_object_get(c, "users_default");
	const char **ids = NULL;
	int *levels = NULL;
	size_t n = json_object_size(users), i = 0;
	const char *k;
	json_t *v;
	sc_err err;

	ids = calloc(n + 1, sizeof(*ids));
	levels = calloc(n + 1, sizeof(*levels));
	if (!ids || !levels) {
		free(ids);
		free(levels);
		return SC_ENOMEM;
	}
	json_object_foreach(users, k, v) {
		ids[i] = k;
		levels[i++] = power_value(v);
	}
	err = store_member_powers(b->st, room, ids, levels, i, power_value(def));
	free(ids);
	free(levels);
	if (!err)
		err = keep_power_levels(b, room, c);
	return err;
}

static sc_err on_room_flag(struct bot *b, const char *room, json_t *ev)
{
	const char *type = jstr(ev, "type");
	struct room r;
	sc_err err = store_room_get(b->st, room, &r);

	if (err)
		return err == SC_ENOTFOUND ? SC_OK : err;
	if (!strcmp(type, "m.room.encryption")) {
		r.encrypted = 1;
	} else {
		const char *name = jstr(json_object_get(ev, "content"), "name");
		err = record_set(&r.name, name);
	}
	if (!err)
		err = store_room_put(b->st, &r);
	room_clear(&r);
	return err;
}

/* The kv value of key prefix + room, or NULL (a new string). */
static sc_err room_kv(struct bot *b, const char *prefix, const char *room,
		      char **out)
{
	struct sbuf key;
	sc_err err;

	*out = NULL;
	sbuf_init(&key, 0);
	err = sbuf_printf(&key, "%s%s", prefix, room);
	if (!err)
		err = store_kv_get(b->st, key.buf, out);
	sbuf_release(&key);
	return err == SC_ENOTFOUND ? SC_OK : err;
}

/* POST /join/room; a refusal is logged and not an error. */
static sc_err join_room(struct bot *b, const char *room, const char *why)
{
	struct sbuf path;
	json_t *body = json_object();
	sc_err err;

	sbuf_init(&path, 0);
	err = body ? mx_path(&path, "/join/%s", room) : SC_ENOMEM;
	if (!err)
		err = mx_call_retry(b->mx, "POST", path.buf, body, 0, NULL);
	json_decref(body);
	sbuf_release(&path);
	if (err == SC_EMATRIX) {
		log_info("cannot join %s (%s) yet: %s %s; an invite will do",
			 room, why, b->mx->errcode, b->mx->error);
		return SC_OK;
	}
	return err;
}

/*
 * The room was upgraded: its records, settings and running meeting move
 * to the replacement room, which scribe joins (or will, once invited);
 * the old room gets nothing from scribe any more (its digest and
 * replies would be refused there for good).
 */
static sc_err on_tombstone(struct bot *b, const char *room, json_t *ev)
{
	const char *to = wire_json_clean_str(
	    json_object_get(json_object_get(ev, "content"), "replacement_room"));
	char *done = NULL;
	sc_err err;

	if (!to || to[0] != '!' || !strchr(to, ':') || !strcmp(to, room))
		return SC_OK;
	err = room_kv(b, "room.upgraded.", room, &done);
	if (err || done) {
		free(done);
		return err; /* seen already (history, a back-fill) */
	}
	err = store_room_upgrade(b->st, room, to);
	if (err)
		return err;
	log_info("%s was upgraded to %s: its records are there now, and scribe "
		 "posts no more in the old room", room, to);
	return join_room(b, to, "the upgraded room");
}

static sc_err on_state(struct bot *b, const char *room, json_t *ev)
{
	const char *type = jstr(ev, "type"), *key = jstr(ev, "state_key");

	if (!type || !key)
		return SC_OK;
	if (!strcmp(type, "m.room.member"))
		return on_member(b, room, ev);
	/* the room's own state has the empty key; any member may send an
	 * event of the same type with another key, and it means nothing */
	if (*key)
		return SC_OK;
	if (!strcmp(type, "m.room.power_levels"))
		return on_power_levels(b, room, ev);
	if (!strcmp(type, "m.room.encryption") || !strcmp(type, "m.room.name"))
		return on_room_flag(b, room, ev);
	if (!strcmp(type, "m.room.canonical_alias")) /* exports name rooms by it */
		return engine_room_alias(b->st, room,
					 jstr(json_object_get(ev, "content"), "alias"));
	if (!strcmp(type, "m.room.tombstone"))
		return on_tombstone(b, room, ev);
	return SC_OK;
}

/* ---- timeline events ---- */

static sc_err on_message(struct bot *b, struct room_batch *rb, json_t *ev,
			 int64_t now)
{
	json_t *c = json_object_get(ev, "content");
	json_t *rel = json_object_get(c, "m.relates_to");
	const char *msgtype = jstr(c, "msgtype");
	const char *rel_type = jstr(rel, "rel_type");
	const char *thread = NULL, *event_id = jstr(ev, "event_id");
	struct message m;
	struct reply out;
	int handled = 0;
	sc_err err;

	if (!msgtype || strcmp(msgtype, "m.text") != 0)
		return SC_OK; /* notices, emotes, files: never commands */
	memset(&m, 0, sizeof(m));
	m.room_id = rb->room;
	m.sender = jstr(ev, "sender");
	m.event_id = event_id;
	m.ts = event_ts(ev) / 1000;
	if (rel_type && !strcmp(rel_type, "m.thread"))
		thread = wire_json_clean_str(json_object_get(rel, "event_id"));
	reply_init(&out);
	if (rel_type && !strcmp(rel_type, "m.replace")) {
		json_t *nc = json_object_get(c, "m.new_content");
		const char *orig = wire_json_clean_str(json_object_get(rel, "event_id"));
		m.body = jstr(nc, "body");
		m.html = jstr(nc, "formatted_body");
		m.bad_text = has_nul(nc, "body") || has_nul(nc, "formatted_body");
		if (!m.body || !orig)
			goto out;
		err = store_event_edit(b->st, event_id, orig);
		if (!err)
			err = engine_edit(b->st, &b->cfg, &m, orig, now, &out, &handled);
	} else {
		m.body = jstr(c, "body");
		if (!m.body)
			goto out;
		if (!strcmp(jstr(c, "format") ? jstr(c, "format") : "", "org.matrix.custom.html"))
			m.html = jstr(c, "formatted_body");
		m.bad_text = has_nul(c, "body") || (m.html && has_nul(c, "formatted_body"));
		err = engine_message(b->st, &b->cfg, &m, now, &out, &handled);
	}
	if (m.bad_text)
		log_warn("%s: %s from %s holds a NUL or invalid text; %s", rb->room,
			 event_id, m.sender, handled ? "refused with a reply" : "ignored");
	/* a record made in a thread: its reminders go there */
	if (!err && handled && thread && out.record && !m.bad_text)
		err = store_record_thread_put(b->st, event_id, thread);
	if (!err && handled)
		err = bot_queue_reply(b, rb->room, "r", event_id, thread, &out, 1);
	reply_clear(&out);
	return err;
out:
	reply_clear(&out);
	return SC_OK;
}

static sc_err on_redaction(struct bot *b, struct room_batch *rb, json_t *ev,
			   int64_t now)
{
	const char *target = jstr(ev, "redacts");
	struct reply out;
	int handled = 0;
	sc_err err;

	if (!target)
		target = jstr(json_object_get(ev, "content"), "redacts");
	if (!target)
		return SC_OK;
	reply_init(&out);
	err = engine_redaction(b->st, rb->room, target, jstr(ev, "sender"), now,
			       &out, &handled);
	if (!err && handled)
		err = bot_queue_reply(b, rb->room, "w", jstr(ev, "event_id"), NULL, &out, 0);
	reply_clear(&out);
	return err;
}

static sc_err on_reaction(struct bot *b, struct room_batch *rb, json_t *ev)
{
	json_t *rel = json_object_get(json_object_get(ev, "content"), "m.relates_to");
	const char *type = jstr(rel, "rel_type");

	if (!type || strcmp(type, "m.annotation") || !jstr(rel, "event_id") ||
	    !jstr(rel, "key"))
		return SC_OK;
	return engine_reaction(b->st, rb->room, jstr(rel, "event_id"), jstr(rel, "key"),
			       jstr(ev, "sender"), jstr(ev, "event_id"));
}

/* A decrypted event, as if it had arrived in the clear. Redactions are
 * never encrypted. */
static sc_err on_decrypted(struct bot *b, struct room_batch *rb, json_t *plain,
			   int64_t now)
{
	const char *type = jstr(plain, "type");

	if (type && !strcmp(type, "m.room.message"))
		return on_message(b, rb, plain, now);
	if (type && !strcmp(type, "m.reaction"))
		return on_reaction(b, rb, plain);
	return SC_OK;
}

/* An m.room.encrypted room event: decrypted and handled, queued until
 * its key arrives (then e2ee_after_batch brings it back), or refused. */
static sc_err on_encrypted(struct bot *b, struct room_batch *rb, json_t *ev,
			   int64_t now)
{
	json_t *plain = NULL;
	sc_err err;

	if (!b->e2ee) {
		log_warn("cannot read encrypted event %s: encryption is off",
			 jstr(ev, "event_id"));
		return SC_OK;
	}
	err = e2ee_decrypt(b->e2ee, rb->room, ev, &plain);
	if (err == SC_OK)
		err = on_decrypted(b, rb, plain, now);
	json_decref(plain);
	if (err == SC_ENOTFOUND || err == SC_EINVAL || err == SC_ECRYPTO)
		return SC_OK; /* queued or refused (logged) */
	return err;
}

/* e2ee_retry_fn: a queued event whose key arrived. It was from after
 * our join when it was queued. */
static sc_err on_late_decrypted(const char *room, json_t *plain, void *ctx)
{
	struct bot *b = ctx;
	struct room_batch rb = { .room = room, .joined_at = 1, .encrypted = 1 };

	return on_decrypted(b, &rb, plain, b->clock());
}

/* Whether ev is our own join. */
int bot_is_own_join(struct bot *b, json_t *ev)
{
	const char *type = jstr(ev, "type"), *key = jstr(ev, "state_key");
	const char *ms = jstr(json_object_get(ev, "content"), "membership");

	return type && key && ms && !strcmp(type, "m.room.member") &&
	       !strcmp(key, b->mx->user_id) && !strcmp(ms, "join");
}

/* Whether rb's room is encrypted, and whether it was upgraded (looked up
 * once per batch). */
static sc_err batch_room(struct bot *b, struct room_batch *rb, int *enc,
			 int *replaced)
{
	struct room r;
	char *to = NULL;
	sc_err err;

	if (rb->encrypted < 0) {
		err = store_room_get(b->st, rb->room, &r);
		if (err && err != SC_ENOTFOUND)
			return err;
		rb->encrypted = !err && r.encrypted;
		if (!err)
			room_clear(&r);
		err = room_kv(b, "room.upgraded.", rb->room, &to);
		if (err)
			return err;
		rb->replaced = to != NULL;
		free(to);
	}
	*enc = rb->encrypted;
	*replaced = rb->replaced;
	return SC_OK;
}

static sc_err on_event(struct bot *b, struct room_batch *rb, json_t *ev,
		       int64_t now)
{
	json_t *state_key = json_object_get(ev, "state_key");
	const char *type = wire_json_clean_str(json_object_get(ev, "type"));
	const char *sender = wire_json_clean_str(json_object_get(ev, "sender"));
	const char *event_id = wire_json_clean_str(json_object_get(ev, "event_id"));
	int64_t ts = event_ts(ev);
	int enc, replaced;
	sc_err err;

	if (!type || !sender || !event_id) {
		/* nothing to mark seen by: it is never handled */
		log_warn("%s: skipped an event without a usable type, sender "
			 "or id (%s)", rb->room, jstr(ev, "event_id") ?
			 jstr(ev, "event_id") : "no id");
		return SC_OK;
	}
	if (!state_key && !strcmp(sender, b->mx->user_id)) {
		/* our own message coming back: never answered, so nothing to
		 * remember (a reply each command: half the writes of a busy
		 * room) */
		rb->last_event = event_id;
		return SC_OK;
	}
	if (!state_key &&
	    (!rb->joined_at || ts < rb->joined_at || ts < rb->not_before)) {
		/* from before we joined, as far as this batch has seen: not
		 * marked seen, for Synapse may show it again after our join
		 * (a newly joined room's timeline gets the latest events
		 * prepended, Synapse #9768), and there it counts */
		rb->last_event = event_id;
		return SC_OK;
	}
	err = store_event_seen(b->st, event_id, sender, now);
	if (err == SC_EEXISTS)
		return SC_OK; /* back-filled or delivered twice */
	if (err)
		return err;
	rb->last_event = event_id;
	if (state_key) {
		if (!wire_json_clean_str(state_key))
			return SC_OK; /* not a key any state of ours has */
		err = on_state(b, rb->room, ev);
		if (!strcmp(type, "m.room.encryption") && !*json_string_value(state_key))
			rb->encrypted = 1;
		if (!strcmp(type, "m.room.tombstone"))
			rb->encrypted = -1; /* look again: it may be replaced now */
		/* our own join: everything before it is history */
		if (!err && !rb->joined_at && bot_is_own_join(b, ev)) {
			rb->joined_at = ts;
			err = engine_room_ensure(b->st, rb->room, ts / 1000);
		}
		return err;
	}
	err = batch_room(b, rb, &enc, &replaced);
	if (err || replaced)
		return err; /* upgraded: its record lives in the new room */
	if (!strcmp(type, "m.room.message")) {
		if (!enc)
			return on_message(b, rb, ev, now);
		/* Element marks it "not encrypted", and a homeserver could
		 * have made it up: never a command here */
		log_info("%s: ignored %s from %s, sent in the clear in an "
			 "encrypted room", rb->room, event_id, sender);
		return SC_OK;
	}
	if (!strcmp(type, "m.room.encrypted"))
		return on_encrypted(b, rb, ev, now);
	if (!strcmp(type, "m.room.redaction"))
		return on_redaction(b, rb, ev, now);
	if (!strcmp(type, "m.reaction"))
		return enc ? SC_OK : on_reaction(b, rb, ev);
	return SC_OK;
}

/* Handle one timeline event, then see to the replies in flight. */
sc_err bot_take_event(struct bot *b, struct room_batch *rb, json_t *ev,
		      int64_t now)
{
	sc_err err = on_event(b, rb, ev, now);

	return err ? err : bot_pump(b);
}

/* Whether events holds our own join. */
static int own_join_in(struct bot *b, json_t *events)
{
	json_t *ev;
	size_t i;

	json_array_foreach(events, i, ev)
		if (bot_is_own_join(b, ev))
			return 1;
	return 0;
}

static sc_err on_joined_room(struct bot *b, const char *room, json_t *jr,
			     const char *since, int64_t now, json_t *receipts)
{
	json_t *tl = json_object_get(jr, "timeline");
	json_t *events = json_object_get(tl, "events");
	json_t *state = json_object_get(json_object_get(jr, "state"), "events");
	struct room_batch rb = { .room = room, .encrypted = -1 };
	struct room r;
	json_t *ev;
	size_t i;
	const char *gap; /* prev_batch of a limited timeline */
	int find_join;
	sc_err err = store_room_get(b->st, room, &r);

	if (err == SC_OK) {
		rb.joined_at = r.joined_at * 1000;
		room_clear(&r);
	} else if (err == SC_ENOTFOUND) {
		/* Known from now on, but not joined until our join event:
		 * members and power levels need the room row first. */
		memset(&r, 0, sizeof(r));
		r.room_id = (char *)room;
		r.digest_minute = -1;
		err = store_room_put(b->st, &r);
		if (err)
			return err;
	} else {
		return err;
	}
	json_array_foreach(state, i, ev) {
		err = on_state(b, room, ev);
		if (err)
			return err;
	}
	/* The store's first sync: what was said before the store existed is
	 * history, even after a join found within the clock-skew margin
	 * (a reinstall soon after the last run must not answer old
	 * commands again). */
	if (!since)
		rb.not_before = b->created_ms;
	/* Not joined as far as the store knows (a new room, or scribe died
	 * between joining and the batch that showed it the join): unless
	 * our join is in this timeline, it is in the gap, with the commands
	 * after it, and back-filling finds it. When it is in the timeline
	 * there is nothing worth filling: whatever came before is history
	 * (and a homeserver may have prepended old events, Synapse #9768). */
	find_join = !rb.joined_at && !own_join_in(b, events);
	gap = json_is_true(json_object_get(tl, "limited")) ? jstr(tl, "prev_batch") : NULL;
	if (gap && since && (rb.joined_at || find_join))
		err = bot_backfill(b, &rb, since, gap, now, receipts);
	else if (gap && !since && find_join && b->first_run_ms)
		err = bot_first_sync_join(b, &rb, gap, b->first_run_ms, now);
	if (err)
		return err;
	json_array_foreach(events, i, ev) {
		err = bot_take_event(b, &rb, ev, now);
		if (err)
			return err;
	}
	/* A joined room we never saw our join in (a new store, or a join
	 * older than the timeline): commands count from now on. */
	if (!rb.joined_at) {
		err = engine_room_ensure(b->st, room, now);
		if (err)
			return err;
	}
	if (rb.last_event && json_object_set_new(receipts, room, json_string(rb.last_event)))
		return SC_ENOMEM;
	return SC_OK;
}

/* An invite: join when the inviter or the room is allowed, else decline.
 * The room counts as joined from our join event on (on_joined_room). */
static sc_err on_invite(struct bot *b, const char *room, json_t *inv)
{
	json_t *events = json_object_get(json_object_get(inv, "invite_state"), "events");
	const char *inviter = NULL;
	struct sbuf path;
	json_t *ev, *body;
	size_t i;
	int allowed;
	sc_err err;

	json_array_foreach(events, i, ev) {
		const char *t = jstr(ev, "type"), *sk = jstr(ev, "state_key");
		if (t && sk && !strcmp(t, "m.room.member") && !strcmp(sk, b->mx->user_id))
			inviter = jstr(ev, "sender");
	}
	allowed = inviter && config_inviter_allowed(&b->cfg, inviter) &&
		  config_room_allowed(&b->cfg, room);
	if (!allowed) {
		/* a room scribe was in was upgraded to this one */
		char *from = NULL;
		err = room_kv(b, "room.upgrade_of.", room, &from);
		if (err)
			return err;
		allowed = from != NULL;
		free(from);
	}
	sbuf_init(&path, 0);
	err = allowed ? mx_path(&path, "/join/%s", room) :
			mx_path(&path, "/rooms/%s/leave", room);
	body = json_object();
	if (!err && !body)
		err = SC_ENOMEM;
	if (!err)
		err = mx_call_retry(b->mx, "POST", path.buf, body, 0, NULL);
	json_decref(body);
	sbuf_release(&path);
	if (err == SC_EMATRIX) {
		log_warn("cannot %s %s: %s %s", allowed ? "join" : "decline", room,
			 b->mx->errcode, b->mx->error);
		return SC_OK; /* permanent: the invite is gone or forbidden */
	}
	if (!err)
		log_info("%s invite to %s from %s", allowed ? "accepted" : "declined",
			 room, inviter ? inviter : "(unknown)");
	return err;
}

static sc_err on_left_room(struct bot *b, const char *room)
{
	struct room r;
	sc_err err = store_room_get(b->st, room, &r);

	if (err)
		return err == SC_ENOTFOUND ? SC_OK : err;
	r.joined_at = 0;
	err = store_room_put(b->st, &r);
	room_clear(&r);
	return err;
}

static void send_receipts(struct bot *b, json_t *receipts)
{
	const char *room;
	json_t *ev;

	json_object_foreach(receipts, room, ev) {
		struct sbuf path;
		json_t *body = json_object();
		sbuf_init(&path, 0);
		if (body && !mx_path(&path, "/rooms/%s/receipt/m.read/%s", room,
				     json_string_value(ev)))
			mx_call(b->mx, "POST", path.buf, body, 10000, NULL);
		json_decref(body);
		sbuf_release(&path);
	}
}

sc_err bot_handle_sync(struct bot *b, json_t *sync)
{
	json_t *rooms = json_object_get(sync, "rooms");
	json_t *receipts = json_object();
	const char *next = jstr(sync, "next_batch");
	const char *room;
	json_t *v;
	int64_t now = b->clock();
	char *since = NULL; /* the token this batch was asked with */
	sc_err err;

	if (!receipts)
		return SC_ENOMEM;
	if (!next) {
		json_decref(receipts);
		return SC_ESERVER;
	}
	err = store_tx_begin(b->st);
	if (!err) {
		err = store_kv_get(b->st, "sync.since", &since);
		if (err == SC_ENOTFOUND)
			err = SC_OK; /* the first sync: no gap to fill */
	}
	if (err) {
		store_tx_rollback(b->st);
		json_decref(receipts);
		return err;
	}
	/* to-device first: room keys usually come with their messages */
	if (b->e2ee) {
		err = e2ee_sync_begin(b->e2ee, sync);
		if (err)
			goto fail;
	}
	json_object_foreach(json_object_get(rooms, "invite"), room, v) {
		err = on_invite(b, room, v);
		if (err)
			goto fail;
	}
	json_object_foreach(json_object_get(rooms, "join"), room, v) {
		err = on_joined_room(b, room, v, since, now, receipts);
		/* keep this room's commands and let their replies go while
		 * the next room is handled; a crash replays the batch, and
		 * the events marked seen are skipped */
		if (!err)
			err = bot_checkpoint(b);
		if (err)
			goto fail;
	}
	json_object_foreach(json_object_get(rooms, "leave"), room, v) {
		err = on_left_room(b, room);
		if (err)
			goto fail;
	}
	err = store_kv_put(b->st, "sync.since", next);
	if (err)
		goto fail;
	err = store_tx_commit(b->st);
	if (err)
		goto fail;
	free(since);
	err = bot_committed(b);
	send_receipts(b, receipts);
	json_decref(receipts);
	if (err)
		return err;
	if (b->e2ee)
		return e2ee_after_batch(b->e2ee, on_late_decrypted, b);
	return SC_OK;
fail:
	store_tx_rollback(b->st);
	free(since);
	json_decref(receipts);
	return err;
}
