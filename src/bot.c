/* SPDX-License-Identifier: MIT */
/*
 * bot.c - `scribe run` and `scribe login` (see bot.h): the sync loop,
 * the handling of each sync batch (committed room by room), the outbox, and
 * the scheduled digests. Matrix JSON is read here and in matrix.c only;
 * the commands never see it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "autoend.h"
#include "bot.h"
#include "digest.h"
#include "e2ee.h"
#include "engine.h"
#include "log.h"
#include "remind.h"
#include "store_remind.h"
#include "wirejson.h"
#include "banned.h"

/* Events asked of /messages per page. Each page is committed on its
 * own; 250 instead of 100 halves the commits (and the index pages they
 * rewrite) and the round trips of a long gap: 8-10% more commands per
 * second in a backlog of 10,000, plain or encrypted. */
#define PAGE_EVENTS 250
#define BACKFILL_PAGES 40000 /* x PAGE_EVENTS: a guard, not a limit */
#define OUTBOX_BATCH 1024 /* messages read from the outbox at a time */
#define OUTBOX_SKIP_MAX 1024 /* rows of full rooms the first pass reads */
#define PUMP_US 200     /* how often pump looks at the batch in flight */
#define DETACH_MIN 32   /* smaller batches are stepped here, not on a thread */
#define JOIN_SEARCH_PAGES 40 /* x PAGE_EVENTS: first_sync_join's guard */
#define CLOCK_SKEW_S 300  /* homeserver clock behind ours by up to this */
/* origin_server_ts beyond the year 9999 is clamped to it */
#define EVENT_TS_MAX_MS 253402300799999LL
#define LOGIN_ATTEMPTS 5 /* scribe login: about 4 s of retries at most */
#define TRIM_MIN (1 << 20) /* free heap bytes worth handing back when idle */

static sc_err pump(struct bot *b);
static sc_err committed(struct bot *b);
static sc_err checkpoint(struct bot *b);

static int64_t wall_clock(void)
{
	return (int64_t)time(NULL);
}

/*
 * Test hook: with SCRIBE_TEST_CLOCK naming a file, the clock is the wall
 * clock plus the seconds that file holds (read at every call; missing
 * or unreadable = 0), so a protocol test moves scribe's time forward
 * while it runs (tests/proto/test_remind.py). Start at 0: a store's
 * first run is taken from this clock, and messages before it are
 * history.
 */
static int64_t test_clock(void)
{
	const char *path = getenv("SCRIBE_TEST_CLOCK");
	long long off = 0;
	FILE *f = path ? fopen(path, "r") : NULL;

	if (f) {
		if (fscanf(f, "%lld", &off) != 1)
			off = 0;
		fclose(f);
	}
	return (int64_t)time(NULL) + (int64_t)off;
}

/* Read a secret from a file: first line, surrounding space removed.
 * Warns when others may read the file. *out must be wiped by the caller. */
static sc_err read_secret(const char *path, char **out)
{
	struct sbuf sb;
	struct stat stt;
	char buf[512];
	size_t n;
	FILE *f = fopen(path, "r");
	sc_err err = SC_OK;

	if (!f)
		return SC_EIO;
	if (fstat(fileno(f), &stt) == 0 && (stt.st_mode & 077))
		log_warn("'%s' can be read by other users; chmod 600 it", path);
	sbuf_init(&sb, 4096);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && !err)
		err = sbuf_add(&sb, buf, n);
	fclose(f);
	memset(buf, 0, sizeof(buf));
	if (!err) {
		size_t len = strcspn(sb.buf, "\r\n");
		size_t start = strspn(sb.buf, " \t");
		while (len > start && (sb.buf[len - 1] == ' ' || sb.buf[len - 1] == '\t'))
			len--;
		if (len <= start) {
			err = SC_EINVAL;
		} else {
			*out = strndup(sb.buf + start, len - start);
			if (!*out)
				err = SC_ENOMEM;
		}
	}
	sbuf_wipe(&sb);
	return err;
}

static void wipe_str(char *s)
{
	if (!s)
		return;
	for (volatile char *p = s; *p; p++)
		*p = 0;
	free(s);
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Whether o's string key holds a NUL (or what the wire parser replaced
 * by one, wirejson.h). */
static int has_nul(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) && !wire_json_clean_str(v);
}

/* An event's origin_server_ts in ms, 0 when missing; a hostile server's
 * far past or future (the wire parser clamps past int64) is kept within
 * what seconds and milliseconds arithmetic holds. */
static int64_t event_ts(json_t *ev)
{
	json_int_t ts = json_integer_value(json_object_get(ev, "origin_server_ts"));

	return ts < 0 ? 0 : ts > EVENT_TS_MAX_MS ? EVENT_TS_MAX_MS : (int64_t)ts;
}

/* Queue c (a borrowed message content) in the outbox as txn. */
static sc_err queue_message(struct bot *b, const char *room, const char *txn,
			    json_t *content, int64_t record)
{
	char *text;
	sc_err err;

	/* the homeserver refuses a bigger event, and then the reply is
	 * lost: the command layer keeps its replies well inside, this
	 * catches what it did not */
	if (mx_fit_content(content, MX_CONTENT_MAX) < 0)
		return SC_ENOMEM;
	text = json_dumps(content, JSON_COMPACT);
	if (!text)
		return SC_ENOMEM;
	err = store_outbox_add(b->st, txn, room, "m.room.message", text, record);
	free(text);
	return err;
}

/* The names of a room's members a pinging reply must not ping. */
struct names {
	const struct reply *r;
	char **v;
	size_t n, cap;
	int oom;
};

static int names_add(struct names *nm, const char *s, size_t len)
{
	char **v;

	if (len < 2)
		return 0; /* a letter is no name a push rule matches usefully */
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 16;
		v = realloc(nm->v, nm->cap * sizeof(*v));
		if (!v)
			return nm->oom = 1;
		nm->v = v;
	}
	if (!(nm->v[nm->n] = strndup(s, len)))
		return nm->oom = 1;
	nm->n++;
	return 0;
}

static int collect_name(const struct member *m, void *ctx)
{
	struct names *nm = ctx;
	const char *colon = strchr(m->user_id, ':');

	for (size_t i = 0; i < nm->r->nmentions; i++)
		if (!strcmp(nm->r->mentions[i], m->user_id))
			return 0;
	if (colon && names_add(nm, m->user_id + 1, (size_t)(colon - m->user_id - 1)))
		return 1;
	return m->display_name && names_add(nm, m->display_name, strlen(m->display_name));
}

/*
 * A reply that pings echoes what a member typed; on servers without
 * m.mentions, push rules would highlight every member named in it: the
 * room's other members' names are broken in its body (the HTML body,
 * which clients show, keeps them).
 */
static sc_err defuse_names(struct bot *b, const char *room, const struct reply *r,
			   json_t *content)
{
	struct names nm = { r, NULL, 0, 0, 0 };
	sc_err err = r->nmentions ? store_members(b->st, room, 0, collect_name, &nm) : SC_OK;

	if (!err && nm.oom)
		err = SC_ENOMEM;
	if (!err && mx_defuse_words(content, (const char *const *)nm.v, nm.n) < 0)
		err = SC_ENOMEM;
	for (size_t i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	return err;
}

/* Queue a reply to event_id (in its thread, if any). */
static sc_err queue_reply(struct bot *b, const char *room, const char *kind,
			  const char *event_id, const char *thread_root,
			  const struct reply *r, int in_reply)
{
	struct sbuf txn;
	json_t *content = mx_reply_content(r, in_reply ? event_id : NULL,
					   in_reply ? thread_root : NULL);
	sc_err err;

	if (!content)
		return SC_ENOMEM;
	err = defuse_names(b, room, r, content);
	if (err) {
		json_decref(content);
		return err;
	}
	sbuf_init(&txn, 0);
	err = mx_txn_id(&txn, kind, event_id);
	if (!err)
		err = queue_message(b, room, txn.buf, content, r->record);
	json_decref(content);
	sbuf_release(&txn);
	return err;
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

struct room_batch {
	const char *room;
	int64_t joined_at;      /* ms; events before it are history */
	const char *last_event; /* for the read receipt */
	int64_t not_before;     /* ms; messages before it are history too */
	int encrypted;          /* the room is encrypted; -1 not looked up */
	int replaced;           /* upgraded to another room (batch_room) */
};

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
		err = queue_reply(b, rb->room, "r", event_id, thread, &out, 1);
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
		err = queue_reply(b, rb->room, "w", jstr(ev, "event_id"), NULL, &out, 0);
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
static int is_own_join(struct bot *b, json_t *ev)
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
		if (!err && !rb->joined_at && is_own_join(b, ev)) {
			rb->joined_at = ts;
			err = engine_room_ensure(b->st, rb->room, ts / 1000);
		}
		return err;
	}
	if (!rb->joined_at || ts < rb->joined_at || ts < rb->not_before)
		return SC_OK; /* from before we joined */
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

/* Handle one timeline event, then see to the replies in flight. */
static sc_err take_event(struct bot *b, struct room_batch *rb, json_t *ev,
			 int64_t now)
{
	sc_err err = on_event(b, rb, ev, now);

	return err ? err : pump(b);
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
static sc_err backfill(struct bot *b, struct room_batch *rb, const char *since,
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
			err = take_event(b, rb, ev, now);
			if (err)
				break;
		}
		total += json_array_size(chunk);
		if (!err && rb->last_event &&
		    json_object_set_new(receipts, rb->room, json_string(rb->last_event)))
			err = SC_ENOMEM;
		rb->last_event = NULL; /* it lived in this page */
		if (!err) /* keep this page even if the next one crashes */
			err = checkpoint(b);
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

/* Whether events holds our own join. */
static int own_join_in(struct bot *b, json_t *events)
{
	json_t *ev;
	size_t i;

	json_array_foreach(events, i, ev)
		if (is_own_join(b, ev))
			return 1;
	return 0;
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
static sc_err first_sync_join(struct bot *b, struct room_batch *rb,
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
			if (is_own_join(b, ev)) {
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
		err = take_event(b, rb, json_array_get(seen, i), now);
	if (!err && found && json_array_size(seen) > 1)
		log_info("%s: found our join before the first sync; handled %zu "
			 "events after it", rb->room, json_array_size(seen) - 1);
	json_decref(seen);
	return err;
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
		err = backfill(b, &rb, since, gap, now, receipts);
	else if (gap && !since && find_join && b->first_run_ms)
		err = first_sync_join(b, &rb, gap, b->first_run_ms, now);
	if (err)
		return err;
	json_array_foreach(events, i, ev) {
		err = take_event(b, &rb, ev, now);
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
			err = checkpoint(b);
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
	err = committed(b);
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

/* One queued message copied out of the store (the statement is done
 * before any network call). */
struct pending {
	int64_t seq;
	char *txn, *room, *type, *content;
	int must_encrypt; /* plaintext for an encrypted room: never sent */
};

/* A batch of queued messages on its way: read from the outbox once they
 * were committed, sent by mx_many while the bot goes on (see pump). The
 * arrays grow with the batch: a reply on its own does not pay for the
 * 1,024 of a backlog (their half a megabyte, zeroed, cost it 0.2 ms). */
struct outgoing {
	struct pending *items;    /* cap of them, n used */
	struct mx_req *reqs;      /* n, once the batch is read */
	struct sbuf *paths;       /* n, likewise */
	int n, cap;
	int64_t upto;    /* only messages up to this seq (committed ones) */
	const int64_t *skip; /* batch_start: seqs of the batch just finished,
	                        not recorded yet (sorted), to leave out */
	int nskip;
	sc_err err;
	struct mx_many *mm;
	int pass;        /* of collect_pending: 1, then 2 to fill up */
	int room_cap;    /* a room's messages taken in the first pass */
	int skipped;     /* rows the first pass left: their room was full */
	struct room_count {
		const char *room; /* an items[].room */
		int n;            /* its messages in the batch */
		int first;        /* of which the first pass took */
		int again;        /* rows of it the second pass passed */
	} *rooms;             /* cap of them (at most one a message) */
	int nrooms;
};

/* Room for cap messages (and rooms) instead of o->cap. */
static int outgoing_grow(struct outgoing *o, int cap)
{
	struct pending *items = realloc(o->items, (size_t)cap * sizeof(*items));
	struct room_count *rooms;

	if (!items)
		return -1;
	o->items = items;
	rooms = realloc(o->rooms, (size_t)cap * sizeof(*rooms));
	if (!rooms)
		return -1;
	memset(rooms + o->cap, 0, (size_t)(cap - o->cap) * sizeof(*rooms));
	o->rooms = rooms;
	o->cap = cap;
	return 0;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int seq_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* outbox_cb of batch_start, over the queue oldest first: the first
 * pass takes up to room_cap messages of each room, the second (when the
 * first left some and the batch is not full) what follows them. */
static int collect_pending(const struct outbox_msg *m, void *ctx)
{
	struct outgoing *o = ctx;
	struct room_count *rc = NULL;
	struct pending *p;

	if (m->seq > o->upto)
		return 1; /* queued by the transaction still open */
	if (o->nskip && bsearch(&m->seq, o->skip, (size_t)o->nskip,
				sizeof(*o->skip), seq_cmp))
		return 0; /* in the batch before, which is being recorded */
	if (o->n == o->cap && /* before rc points into o->rooms */
	    outgoing_grow(o, o->cap ? 2 * o->cap : 16)) {
		o->err = SC_ENOMEM;
		return 1;
	}
	for (int i = 0; i < o->nrooms && !rc; i++)
		if (!strcmp(o->rooms[i].room, m->room_id))
			rc = &o->rooms[i];
	if (o->pass == 1 && rc && rc->n >= o->room_cap)
		return ++o->skipped >= OUTBOX_SKIP_MAX;
	if (o->pass == 2 && rc && rc->again < rc->first) {
		rc->again++;
		return 0; /* the first pass took it */
	}
	p = &o->items[o->n];
	p->seq = m->seq;
	p->txn = strdup(m->txn_id);
	p->room = strdup(m->room_id);
	p->type = strdup(m->type);
	p->content = strdup(m->content);
	p->must_encrypt = m->encrypted && strcmp(m->type, "m.room.encrypted");
	o->n++;
	if (!p->txn || !p->room || !p->type || !p->content) {
		o->err = SC_ENOMEM;
		return 1;
	}
	if (!rc) {
		rc = &o->rooms[o->nrooms++]; /* zeroed by outgoing_grow */
		rc->room = p->room;
	}
	rc->n++;
	return o->n == OUTBOX_BATCH;
}

static void outgoing_free(struct outgoing *o)
{
	for (int i = 0; i < o->n; i++) {
		free(o->items[i].txn);
		free(o->items[i].room);
		free(o->items[i].type);
		free(o->items[i].content);
		if (o->reqs)
			json_decref(o->reqs[i].resp);
		if (o->paths)
			sbuf_release(&o->paths[i]);
	}
	free(o->items);
	free(o->reqs);
	free(o->paths);
	free(o->rooms);
	free(o);
}

/* Whether message i of a finished batch left the queue: sent, or
 * refused for good. Not one still to be encrypted, or cut off by an
 * error (SC_EAGAIN): it stays queued. */
static int left_queue(const struct outgoing *o, int i)
{
	return o->reqs[i].err != SC_EAGAIN;
}

/* Record the outcome of a sent batch in one transaction: each finished
 * message leaves the outbox (linked to its event when sent). A crash
 * before the commit sends them again with the same transaction ids,
 * which the homeserver answers without posting twice. Inside a
 * transaction still open (a batch that finished while a sync is
 * handled), that is a savepoint committed with it. */
/*
 * The homeserver refused p as too large (413 M_TOO_LARGE): queue it again
 * at half the size, cut with a note (mx_fit_content), under a new
 * transaction id. An encrypted message cannot be cut: a short notice
 * takes its place. Below a kilobyte it is dropped: no server limit is
 * that small, and the halving must end.
 */
static sc_err queue_smaller(struct bot *b, const struct pending *p)
{
	json_t *c = strcmp(p->type, "m.room.encrypted") ?
		    json_loads(p->content, 0, NULL) :
		    json_pack("{s:s, s:s, s:{}}", "msgtype", "m.notice", "body",
			      "(A reply was too large for the homeserver and is "
			      "lost; try a narrower command, or scribe export.)",
			      "m.mentions");
	size_t size = strlen(p->content);
	struct sbuf txn;
	sc_err err = SC_OK;

	log_warn("%s refused a message of %zu bytes to %s as too large; %s",
		 b->cfg.homeserver, size, p->room,
		 size < 1024 ? "dropped" : "sending a shorter one");
	if (size < 1024 || !c) {
		json_decref(c);
		return SC_OK;
	}
	sbuf_init(&txn, 0);
	if (mx_fit_content(c, size / 2) < 0 || sbuf_printf(&txn, "%s.cut", p->txn))
		err = SC_ENOMEM;
	if (!err)
		err = queue_message(b, p->room, txn.buf, c, 0);
	sbuf_release(&txn);
	json_decref(c);
	return err;
}

static sc_err mark_sent(struct bot *b, struct outgoing *o)
{
	sc_err err = store_tx_begin(b->st);

	for (int i = 0; i < o->n && !err; i++) {
		struct pending *p = &o->items[i];
		struct mx_req *r = &o->reqs[i];

		if (!left_queue(o, i))
			continue;
		if (r->err == SC_EMATRIX && r->method && !strcmp(r->errcode, "M_TOO_LARGE"))
			/* a server with a smaller limit than Synapse's */
			err = queue_smaller(b, p);
		else if (r->err == SC_EMATRIX && r->method)
			/* 403 not in the room, 400 bad content: retrying cannot help */
			log_error("cannot send to %s: %s %s; message dropped",
				  p->room, r->errcode, r->error);
		if (!err)
			err = store_outbox_done(b->st, p->seq,
					r->err ? NULL : jstr(r->resp, "event_id"));
	}
	return err ? (store_tx_rollback(b->st), err) : store_tx_commit(b->st);
}

/*
 * Read the next batch (committed messages up to seq upto) and start
 * sending it: every message the store says can go, with up to
 * cfg.parallel_sends in flight, one at a time per room so replies keep
 * their order. b->out stays NULL when nothing is queued.
 *
 * A backlog queues its replies room after room, so the oldest 1,024 were
 * the replies of a few rooms, and only those few were in flight: the
 * batch takes at most OUTBOX_BATCH / parallel_sends of a room first,
 * so parallel_sends rooms go at once, and fills up with the later
 * messages of the rooms it has when there are not that many. After a
 * batch of one room the next one reads the queue as before, without a
 * first pass (its extra reads cost a one-room backlog 7%).
 *
 * prev (or NULL) is the batch that just finished: the messages it sent
 * or dropped are still queued until batch_record, which runs while this
 * one travels, so they are left out. They were all answered, so what
 * this batch sends to their rooms still comes after them.
 */
static sc_err batch_start(struct bot *b, int64_t upto,
			  const struct outgoing *prev)
{
	struct outgoing *o = calloc(1, sizeof(*o));
	int64_t *skip = prev && prev->n ? malloc((size_t)prev->n * sizeof(*skip)) : NULL;
	sc_err err;

	if (!o || (prev && prev->n && !skip)) {
		free(o);
		free(skip);
		return SC_ENOMEM;
	}
	for (int i = 0; skip && i < prev->n; i++)
		if (left_queue(prev, i))
			skip[o->nskip++] = prev->items[i].seq;
	if (o->nskip)
		qsort(skip, (size_t)o->nskip, sizeof(*skip), seq_cmp);
	o->skip = skip;
	o->upto = upto;
	o->pass = 1;
	o->room_cap = b->out_rooms == 1 ? OUTBOX_BATCH
					: OUTBOX_BATCH / b->cfg.parallel_sends;
	err = store_outbox_pending(b->st, 0, collect_pending, o);
	if (!err && !o->err && o->skipped && o->n < OUTBOX_BATCH) {
		o->pass = 2;
		for (int i = 0; i < o->nrooms; i++)
			o->rooms[i].first = o->rooms[i].n;
		err = store_outbox_pending(b->st, 0, collect_pending, o);
	}
	if (!err)
		err = o->err;
	free(skip);
	o->skip = NULL;
	o->nskip = 0;
	if (!err && o->n) {
		o->reqs = calloc((size_t)o->n, sizeof(*o->reqs));
		o->paths = calloc((size_t)o->n, sizeof(*o->paths));
	}
	if (!o->reqs || !o->paths) { /* nothing queued, an error, no memory */
		int n = o->n;

		outgoing_free(o);
		return err ? err : n ? SC_ENOMEM : SC_OK;
	}
	b->out_rooms = o->nrooms;
	for (int i = 0; i < o->n; i++) {
		struct pending *p = &o->items[i];

		sbuf_init(&o->paths[i], 0);
		o->reqs[i].err = SC_EAGAIN;
		if (p->must_encrypt && b->e2ee)
			continue; /* not encrypted yet: it waits */
		if (p->must_encrypt) {
			log_error("encryption is off: cannot send to encrypted "
				  "room %s; message dropped", p->room);
			o->reqs[i].err = SC_EMATRIX;
			continue;
		}
		if (!err)
			err = mx_path(&o->paths[i], "/rooms/%s/send/%s/%s", p->room,
				      p->type, p->txn);
		o->reqs[i].method = "PUT";
		o->reqs[i].path = o->paths[i].buf;
		o->reqs[i].body = p->content;
		o->reqs[i].key = p->room;
	}
	if (!err)
		err = mx_many_start(b->mx, o->reqs, o->n, b->cfg.parallel_sends,
				    &o->mm);
	if (err) {
		outgoing_free(o);
		return err;
	}
	o->upto = 0; /* where the next batch starts */
	for (int i = 0; i < o->n; i++)
		if (o->items[i].seq > o->upto)
			o->upto = o->items[i].seq;
	b->out = o;
	b->pumped = mono_us();
	if (o->n < DETACH_MIN) {
		mx_many_step(b->mx, o->mm, 0); /* the first requests leave now */
		return SC_OK;
	}
	return mx_many_detach(b->mx, o->mm);
}

/* The batch in flight is over (or stopped): take it off b->out into
 * *done, for batch_record, whatever mx_many_end returns. */
static sc_err batch_take(struct bot *b, struct outgoing **done)
{
	struct outgoing *o = b->out;
	sc_err err = mx_many_end(b->mx, o->mm);

	o->mm = NULL;
	b->out = NULL;
	*done = o;
	return err;
}

/* Whether messages of the finished batch o left the queue. */
static int batch_sent_any(const struct outgoing *o)
{
	for (int i = 0; i < o->n; i++)
		if (left_queue(o, i))
			return 1;
	return 0;
}

/* Record a finished batch in the store and free it. */
static sc_err batch_record(struct bot *b, struct outgoing *o)
{
	sc_err err = mark_sent(b, o);

	outgoing_free(o);
	return err;
}

/*
 * While a sync is handled, the batch in flight travels on its own
 * thread (mx_many_detach), so the server stores replies while scribe
 * works on later commands or waits for a page. Called between events
 * (at most every PUMP_US), pump sees whether it is over: then the next
 * batch is taken from what was committed and sent while the finished
 * one is recorded.
 */
static sc_err pump(struct bot *b)
{
	struct outgoing *done;
	int64_t now;
	sc_err err, rerr;

	if (!b->out)
		return SC_OK;
	now = mono_us();
	if (now - b->pumped < PUMP_US)
		return SC_OK;
	b->pumped = now;
	if (mx_many_step(b->mx, b->out->mm, 0))
		return SC_OK;
	err = batch_take(b, &done);
	if (!err && batch_sent_any(done) && done->upto < b->committed)
		err = batch_start(b, b->committed, done);
	rerr = batch_record(b, done);
	return err ? err : rerr;
}

/*
 * A commit point while a sync is handled (after each room and each
 * back-fill page): what was queued is durable now, so it may be sent.
 * Encrypted rooms' replies go to the encryption worker first and are
 * sent once it is done and their ciphertexts are stored (in their own
 * transactions), while later commands are handled. Inside an outer
 * transaction nothing is durable yet and nothing starts.
 */
static sc_err committed(struct bot *b)
{
	sc_err err;

	if (store_in_tx(b->st))
		return SC_OK;
	if (b->e2ee && !b->out) {
		err = e2ee_prepare_outbox(b->e2ee);
		if (err)
			return err;
	}
	err = store_outbox_last(b->st, &b->committed);
	if (!err && !b->out)
		err = batch_start(b, b->committed, NULL);
	return err ? err : pump(b);
}

/* Commit the level open while a sync is handled, let what it queued go,
 * and open the next level; whenever the commit worked a level is open
 * again, for the caller to commit or roll back. */
static sc_err checkpoint(struct bot *b)
{
	sc_err err = store_tx_commit(b->st), again;

	if (err)
		return err;
	err = committed(b);
	again = store_tx_begin(b->st);
	return err ? err : again;
}

/* Send every queued message, batch after batch; each batch is recorded
 * while the next one travels. */
sc_err bot_flush_outbox(struct bot *b)
{
	struct outgoing *done = NULL;
	sc_err err = SC_OK, rerr;
	int more = 1; /* a first batch always */

	/* the batch started while the sync was handled holds the oldest
	 * messages: it finishes first */
	if (b->out) {
		while (mx_many_step(b->mx, b->out->mm, 1))
			;
		err = batch_take(b, &done);
	}
	if (!err && b->e2ee)
		err = e2ee_finish_outbox(b->e2ee);
	for (;;) {
		if (!err && more)
			err = batch_start(b, INT64_MAX, done);
		if (done) {
			rerr = batch_record(b, done);
			done = NULL;
			err = err ? err : rerr;
		}
		if (err || !b->out)
			return err;
		while (mx_many_step(b->mx, b->out->mm, 1))
			;
		err = batch_take(b, &done);
		/* a full batch that sent something: more may be queued */
		more = done->n == OUTBOX_BATCH && batch_sent_any(done);
	}
}

/* Drop a batch still in flight at exit: its messages stay queued. */
static void batch_drop(struct bot *b)
{
	if (!b->out)
		return;
	mx_many_end(b->mx, b->out->mm);
	outgoing_free(b->out);
	b->out = NULL;
}

static sc_err post_digest(const char *room, const char *txn,
			  const struct reply *r, void *ctx)
{
	struct bot *b = ctx;
	json_t *content = mx_reply_content(r, NULL, NULL);
	sc_err err;

	if (!content)
		return SC_ENOMEM;
	err = defuse_names(b, room, r, content);
	if (!err)
		err = queue_message(b, room, txn, content, 0);
	json_decref(content);
	return err;
}

/* remind_post_fn: a reminder or escalation (remind.h). One for the
 * whole room is an m.text without mentions, so people who follow every
 * message of the room hear it; its echoed text then cannot ping anyone
 * either (a word joiner after every "@" of the plain body). */
static sc_err post_remind(const char *room, const char *txn,
			  const struct reply *r, const struct remind_post *how,
			  void *ctx)
{
	struct bot *b = ctx;
	json_t *content = mx_reply_content(r, how->in_reply_to, how->thread_root);
	const char *body;
	struct sbuf sb;
	sc_err err = SC_OK;

	if (!content)
		return SC_ENOMEM;
	body = json_string_value(json_object_get(content, "body"));
	if (how->ping_room && !r->nmentions && body) {
		sbuf_init(&sb, 0);
		for (const char *p = body; *p && !err; p++)
			err = *p == '@' ? sbuf_puts(&sb, "@\xE2\x81\xA0") :
					  sbuf_putc(&sb, *p);
		if (!err && (json_object_set_new(content, "body", json_string(sb.buf)) ||
			     json_object_set_new(content, "msgtype",
						 json_string("m.text"))))
			err = SC_ENOMEM;
		sbuf_release(&sb);
	}
	if (!err)
		err = defuse_names(b, room, r, content);
	if (!err)
		err = queue_message(b, room, txn, content, 0);
	json_decref(content);
	return err;
}

/* Reminders and escalations due at the bot's clock; then when the
 * next one is due, for the long-poll to wake for it (store_changed).
 * A room with more due than one message takes goes again at once; one
 * whose message cannot be made (logged) is tried again a minute later,
 * not at every wake-up. */
static sc_err run_reminders(struct bot *b)
{
	int64_t now = b->clock();
	sc_err err = SC_OK;

	for (int i = 0; i < 16 && !err; i++) {
		int posted = 0;

		err = remind_run_due(b->st, &b->cfg, now, post_remind, b, &posted);
		if (!err)
			err = remind_next(b->st, &b->next_fire);
		if (err || !posted || !b->next_fire || b->next_fire > now)
			break;
	}
	if (!err && b->next_fire && b->next_fire <= now)
		b->next_fire = now + 60;
	return err;
}

/* Upload the sync filter once; its id is kept in the store. */
static sc_err ensure_filter(struct bot *b, int force)
{
	struct sbuf path;
	json_t *filter, *resp = NULL;
	char *id = NULL;
	sc_err err;

	if (!force && store_kv_get(b->st, "sync.filter", &id) == SC_OK) {
		free(b->filter_id);
		b->filter_id = id;
		return SC_OK;
	}
	filter = json_pack("{s:{s:[s]}, s:{s:[s]}, s:{s:{s:i}, s:{s:[s]}, s:{s:[s]}}}",
			   "presence", "not_types", "*",
			   "account_data", "not_types", "*",
			   "room", "timeline", "limit", b->cfg.timeline_limit,
			   "ephemeral", "not_types", "*",
			   "account_data", "not_types", "*");
	if (!filter)
		return SC_ENOMEM;
	sbuf_init(&path, 0);
	err = mx_path(&path, "/user/%s/filter", b->mx->user_id);
	if (!err)
		err = mx_call_retry(b->mx, "POST", path.buf, filter, 0, &resp);
	if (!err && !jstr(resp, "filter_id"))
		err = SC_ESERVER;
	if (!err)
		err = store_kv_put(b->st, "sync.filter", jstr(resp, "filter_id"));
	if (!err) {
		free(b->filter_id);
		b->filter_id = strdup(jstr(resp, "filter_id"));
		if (!b->filter_id)
			err = SC_ENOMEM;
	}
	json_decref(filter);
	json_decref(resp);
	sbuf_release(&path);
	return err;
}

/* mx wake callback during /sync: another process (scribe log, scribe
 * import) committed to the store, so there may be messages to send now
 * rather than when the long-poll ends. */
static int store_changed(void *ctx)
{
	struct bot *b = ctx;
	int64_t v;

	/* a reminder's minute came */
	if (b->next_fire && b->clock() >= b->next_fire)
		return 1;
	return store_data_version(b->st, &v) == SC_OK && v != b->data_version;
}

/* One /sync; SC_EAGAIN when it ended early because the store changed. */
static sc_err sync_once(struct bot *b, long timeout_ms, json_t **out)
{
	struct sbuf path;
	char *since = NULL;
	sc_err err;

	sbuf_init(&path, 0);
	err = mx_path(&path, "/sync");
	if (!err)
		err = sbuf_printf(&path, "?timeout=%ld&filter=", timeout_ms);
	if (!err)
		err = sbuf_urlenc(&path, b->filter_id);
	if (!err && store_kv_get(b->st, "sync.since", &since) == SC_OK) {
		err = sbuf_puts(&path, "&since=");
		if (!err)
			err = sbuf_urlenc(&path, since);
	}
	if (!err)
		err = store_data_version(b->st, &b->data_version);
	if (!err) {
		b->mx->wake = store_changed;
		b->mx->wake_ctx = b;
		b->mx->wake_armed = 1;
		err = mx_call_retry(b->mx, "GET", path.buf, NULL,
				    timeout_ms + b->mx->request_timeout_ms, out);
		b->mx->wake_armed = 0;
	}
	free(since);
	sbuf_release(&path);
	return err;
}

/* Before the long-poll: hand the heap's free pages back to the kernel.
 * A burst (a backlog of commands, joining 100 rooms) leaves megabytes
 * freed but kept by malloc, and idle RSS would carry them until the next
 * burst. glibc only (mallinfo2, malloc_trim); elsewhere malloc keeps
 * them. README "Performance" has what it saves. */
static void release_free_heap(void)
{
#if defined(__GLIBC__)
	if (mallinfo2().fordblks >= TRIM_MIN)
		malloc_trim(0);
#endif
}

static void on_signal(int sig)
{
	(void)sig;
	mx_stop();
}

static const char run_usage[] =
	"usage: scribe run [-c bot.conf] [--once]\n"
	"\n"
	"Run the bot: sync with the homeserver, answer commands, post digests.\n"
	"Needs an access token file (see scribe login). SIGTERM or SIGINT finish\n"
	"the current batch and exit 0.\n"
	"  -c, --config FILE  configuration (default bot.conf)\n"
	"  --once             handle one sync batch and exit (for scripts)\n";

/* Load config, store and credentials shared by run and login. */
static int bot_setup(struct bot *b, const char *conf, int need_token)
{
	struct sbuf msg;
	char *token = NULL, *owner = NULL;
	sc_err err;

	memset(b, 0, sizeof(*b));
	b->clock = getenv("SCRIBE_TEST_CLOCK") ? test_clock : wall_clock;
	sbuf_init(&msg, 0);
	if (config_defaults(&b->cfg) != SC_OK)
		return 1;
	if (config_load(&b->cfg, conf, &msg) != SC_OK ||
	    config_apply_group(&b->cfg, &msg) != SC_OK) {
		fprintf(stderr, "scribe: error: %s\n", msg.buf);
		sbuf_release(&msg);
		return 2;
	}
	sbuf_release(&msg);
	log_set_level((enum log_level)b->cfg.log_level);
	if (!b->cfg.homeserver || !b->cfg.user_id) {
		fprintf(stderr, "scribe: error: '%s' needs homeserver and user_id in [matrix]\n", conf);
		return 2;
	}
	err = store_open(b->cfg.store_path, &b->st);
	if (!err)
		err = store_temp_in_memory(b->st);
	if (err) {
		/* without a store, store_open has said why (once) */
		if (b->st)
			fprintf(stderr, "scribe: error: cannot open store '%s': %s\n",
				b->cfg.store_path, store_errmsg(b->st));
		return 3;
	}
	/* A store belongs to one account: never mix two bots' records
	 * and sync tokens (and, later, keys). */
	if (store_kv_get(b->st, "account.user_id", &owner) == SC_OK &&
	    strcmp(owner, b->cfg.user_id) != 0) {
		fprintf(stderr, "scribe: error: store '%s' belongs to %s, not %s\n",
			b->cfg.store_path, owner, b->cfg.user_id);
		free(owner);
		return 2;
	}
	free(owner);
	if (mx_open(b->cfg.homeserver, &b->mx) != SC_OK)
		return 1;
	b->mx->backoff_ms = b->cfg.retry_min_ms;
	b->mx->request_timeout_ms = (long)b->cfg.request_timeout * 1000;
	if (b->cfg.ca_file) {
		/* fail now, not with a TLS error on every retry */
		if (access(b->cfg.ca_file, R_OK) != 0) {
			fprintf(stderr, "scribe: error: cannot read ca_file '%s': %s\n",
				b->cfg.ca_file, strerror(errno));
			return 2;
		}
		if (mx_set_ca_file(b->mx, b->cfg.ca_file) != SC_OK)
			return 1;
	}
	if (!need_token)
		return 0;
	if (!b->cfg.access_token_file) {
		fprintf(stderr, "scribe: error: no access_token_file in [matrix]; run 'scribe login' first\n");
		return 2;
	}
	err = read_secret(b->cfg.access_token_file, &token);
	if (err) {
		fprintf(stderr, "scribe: error: cannot read access token file '%s': %s (run 'scribe login')\n",
			b->cfg.access_token_file, err == SC_EIO ? strerror(errno) : "empty file");
		return 2;
	}
	err = mx_set_token(b->mx, token);
	wipe_str(token);
	return err ? 1 : 0;
}

static void bot_teardown(struct bot *b)
{
	batch_drop(b);
	e2ee_close(b->e2ee);
	mx_close(b->mx);
	store_close(b->st);
	config_free(&b->cfg);
	free(b->filter_id);
}

/* When this store first ran the bot (kept in the store from then on):
 * a join newer than that is one this store accepted (first_sync_join).
 * The margin allows for the homeserver's clock being behind ours. */
static sc_err note_first_run(struct bot *b)
{
	char *v = NULL, now[32];
	int64_t first = b->clock(), first_ms;
	struct timespec ts;
	sc_err err = store_kv_get(b->st, "run.first", &v);

	/* milliseconds too: a command sent a moment before a new store's
	 * first run is history, even within the same second */
	clock_gettime(CLOCK_REALTIME, &ts);
	first_ms = first == (int64_t)ts.tv_sec ?
		   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 : first * 1000;
	if (err == SC_ENOTFOUND) {
		snprintf(now, sizeof(now), "%lld", (long long)first);
		err = store_kv_put(b->st, "run.first", now);
		snprintf(now, sizeof(now), "%lld", (long long)first_ms);
		if (!err)
			err = store_kv_put(b->st, "run.first_ms", now);
	} else if (!err) {
		first = strtoll(v, NULL, 10);
		free(v);
		v = NULL;
		/* a store from before run.first_ms: the end of that second */
		err = store_kv_get(b->st, "run.first_ms", &v);
		first_ms = err ? (first + 1) * 1000 : strtoll(v, NULL, 10);
		err = err == SC_ENOTFOUND ? SC_OK : err;
	}
	free(v);
	if (!err) {
		b->first_run_ms = (first - CLOCK_SKEW_S) * 1000;
		b->created_ms = first_ms;
	}
	return err;
}

int run_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = "bot.conf";
	int once = 0, opt, rc;
	struct bot b;
	struct sigaction sa;
	sc_err err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'o': once = 1; break;
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	rc = bot_setup(&b, conf, 1);
	if (rc) {
		bot_teardown(&b);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = mx_whoami(b.mx);
	if (!err && strcmp(b.mx->user_id, b.cfg.user_id) != 0) {
		fprintf(stderr, "scribe: error: the access token is for %s, not %s\n",
			b.mx->user_id, b.cfg.user_id);
		rc = 2;
		goto out;
	}
	if (!err)
		err = store_kv_put(b.st, "account.user_id", b.mx->user_id);
	if (!err)
		err = note_first_run(&b);
	/* bot.conf's lead time, SLAs and levels into the schedule */
	if (!err)
		err = remind_setup(b.st, &b.cfg, b.clock());
	if (!err)
		err = ensure_filter(&b, 0);
	if (!err && b.cfg.crypto_enabled && !b.mx->device_id)
		log_warn("the homeserver did not say which device the token is "
			 "for; encryption is off");
	else if (!err && b.cfg.crypto_enabled) {
		/* for the cross-signing upload, should the server ask */
		char *password = NULL;
		if (b.cfg.password_file && read_secret(b.cfg.password_file, &password))
			log_info("cannot read password file '%s': cross-signing "
				 "keys can be published only if the homeserver "
				 "does not ask for the password", b.cfg.password_file);
		err = e2ee_open(b.st, b.mx, &b.cfg, password, &b.e2ee);
		wipe_str(password);
		if (err && err != SC_EINTR && err != SC_EAUTH) {
			/* the reason was logged; SC_EAUTH (token) is below */
			fprintf(stderr, "scribe: error: cannot set up encryption: %s\n",
				sc_strerror(err));
			rc = err == SC_ECONFIG ? 2 :
			     err == SC_ESTORE || err == SC_EBUSY ? 3 : 1;
			goto out;
		}
	}
	log_info("running as %s (device %s) on %s", b.cfg.user_id,
		 b.mx->device_id ? b.mx->device_id : "?", b.cfg.homeserver);
	while (!err && !mx_stopping()) {
		json_t *sync = NULL;
		int posted = 0;

		err = bot_flush_outbox(&b);
		if (err)
			break;
		release_free_heap();
		err = sync_once(&b, once ? 0 : b.cfg.sync_timeout_ms, &sync);
		if (err == SC_EAGAIN) {
			/* scribe log (or import) queued something, or a
			 * reminder's minute came: send it */
			err = run_reminders(&b);
			continue;
		}
		if (err == SC_EMATRIX && !strcmp(b.mx->errcode, "M_INVALID_PARAM")) {
			/* the server forgot our filter (reset or new server) */
			log_warn("sync filter rejected; uploading it again");
			err = ensure_filter(&b, 1);
			continue;
		}
		if (err)
			break;
		err = bot_handle_sync(&b, sync);
		json_decref(sync);
		if (!err)
			err = digest_run_due(b.st, &b.cfg, b.clock(), post_digest, &b, &posted);
		if (!err)
			err = autoend_run_due(b.st, &b.cfg, b.clock(), post_digest, &b, &posted);
		if (!err)
			err = run_reminders(&b);
		if (!err)
			err = bot_flush_outbox(&b);
		if (once)
			break;
	}
	if (err == SC_EINTR || (!err && mx_stopping())) {
		log_info("stopping");
		err = SC_OK;
	}
	if (err == SC_EAUTH) {
		fprintf(stderr, "scribe: error: the homeserver refused the access token (%s); "
			"run 'scribe login' again\n", b.mx->errcode);
		rc = 5;
	} else if (err) {
		const char *why = store_errmsg(b.st);
		fprintf(stderr, "scribe: error: %s%s%s\n", sc_strerror(err),
			why && *why ? ": " : "", why && *why ? why : "");
		rc = err == SC_ESTORE || err == SC_EBUSY ? 3 : 1;
	}
out:
	bot_teardown(&b);
	return rc;
}

static const char login_usage[] =
	"usage: scribe login [-c bot.conf] [--force]\n"
	"\n"
	"Log in with the password in [matrix] password_file and write the access\n"
	"token to access_token_file (mode 0600). The device id is kept in the store\n"
	"so later logins reuse it (the bot's encryption keys belong to it).\n"
	"  --force  replace an existing access token file\n";

int login_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = "bot.conf";
	char *password = NULL, *device = NULL;
	int force = 0, opt, rc, fd;
	struct bot b;
	sc_err err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'f': force = 1; break;
		case 'h': fputs(login_usage, stdout); return 0;
		default: fputs(login_usage, stderr); return 2;
		}
	}
	rc = bot_setup(&b, conf, 0);
	if (rc)
		goto out;
	rc = 2;
	if (!b.cfg.password_file || !b.cfg.access_token_file) {
		fprintf(stderr, "scribe: error: login needs password_file and access_token_file in [matrix]\n");
		goto out;
	}
	if (!force && access(b.cfg.access_token_file, F_OK) == 0) {
		fprintf(stderr, "scribe: error: '%s' exists; use --force to log in again\n",
			b.cfg.access_token_file);
		goto out;
	}
	if (read_secret(b.cfg.password_file, &password) != SC_OK) {
		fprintf(stderr, "scribe: error: cannot read password file '%s'\n", b.cfg.password_file);
		goto out;
	}
	store_kv_get(b.st, "account.device_id", &device);
	/* someone is waiting at a terminal: a few seconds of retries, not
	 * `scribe run`'s patience (the reasons are logged as they happen) */
	b.mx->max_attempts = LOGIN_ATTEMPTS;
	err = mx_login(b.mx, b.cfg.user_id, password, device, b.cfg.device_name);
	if (err) {
		fprintf(stderr, "scribe: error: login failed: %s%s%s\n", sc_strerror(err),
			b.mx->error[0] ? ": " : "", b.mx->error);
		rc = err == SC_EAUTH ? 5 : 1;
		goto out;
	}
	unlink(b.cfg.access_token_file);
	fd = open(b.cfg.access_token_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, b.mx->token, strlen(b.mx->token)) < 0 ||
	    write(fd, "\n", 1) < 0 || close(fd) < 0) {
		fprintf(stderr, "scribe: error: cannot write '%s': %s\n",
			b.cfg.access_token_file, strerror(errno));
		rc = 1;
		goto out;
	}
	if (store_kv_put(b.st, "account.user_id", b.mx->user_id) ||
	    store_kv_put(b.st, "account.device_id", b.mx->device_id)) {
		fprintf(stderr, "scribe: error: %s\n", store_errmsg(b.st));
		rc = 3;
		goto out;
	}
	/* The password is at hand: publish the device's keys and its
	 * cross-signing now, which a homeserver may want the password for
	 * (Synapse does whenever the account has a master key already). */
	if (b.cfg.crypto_enabled) {
		struct e2ee *e = NULL;
		err = e2ee_open(b.st, b.mx, &b.cfg, password, &e);
		e2ee_close(e);
		if (err) {
			fprintf(stderr, "scribe: error: cannot set up encryption: %s\n",
				sc_strerror(err));
			rc = err == SC_ECONFIG ? 2 : err == SC_ESTORE ? 3 : 1;
			goto out;
		}
	}
	printf("logged in as %s, device %s; token in %s\n", b.mx->user_id,
	       b.mx->device_id, b.cfg.access_token_file);
	rc = 0;
out:
	wipe_str(password);
	free(device);
	bot_teardown(&b);
	return rc;
}
