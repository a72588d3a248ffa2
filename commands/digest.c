/* SPDX-License-Identifier: MIT */
/*
 * digest.c - !digest and !catchup. !digest posts the room's digest for
 * the time since the last scheduled one without moving the schedule;
 * "!digest at 09:00 America/Toronto mon-fri" and "!digest off" set the
 * schedule (privileged, checked here because plain !digest is not).
 * !catchup answers "what did I miss": what was recorded or changed here
 * since the sender's previous message, newest first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "when.h"
#include "banned.h"

/* What a room's digest_minute holds when its digest is off (below the
 * -1 that means "the config's time"; digest_next() knows it too). */
#define DIGEST_OFF (-2)
/* Most items !catchup lists. */
#define CATCHUP_MAX 15

static sc_err need_power(struct cmd_ctx *c, const char *what)
{
	if (cmd_privileged(c))
		return SC_OK;
	return cmd_fail(c, SC_EPERM,
			"%sdigest %s needs power level %d in this room (you have %d)",
			c->cfg->prefix, what, c->cfg->privileged_power, c->power);
}

/* !digest: the digest since the last scheduled one (or a day). */
static sc_err digest_now(struct cmd_ctx *c, const struct room *room)
{
	int64_t from = room->last_digest ? room->last_digest : c->now - 86400;
	int empty = 0;
	sc_err err;

	/* Asked for, the window ends after this second, so what was
	 * recorded just now is in it (the schedule does not move, so
	 * nothing is counted twice). */
	err = digest_build(c->st, c->cfg, c->room_id, from, c->now + 1, c->now,
			   c->out, &empty);
	if (err)
		return err;
	/* Asked for, it is a notice: the scheduled digest does the
	 * pinging, once a day, not whenever someone looks. */
	for (size_t i = 0; i < c->out->nmentions; i++)
		free(c->out->mentions[i]);
	free(c->out->mentions);
	c->out->mentions = NULL;
	c->out->nmentions = 0;
	c->out->mentions_cost = 0;
	if (empty) {
		reply_reset(c->out);
		err = reply_text(c->out, "Nothing new here since ");
		if (!err)
			err = reply_when(c, c->out, from);
		if (!err)
			err = reply_text(c->out, ", and nothing is open.");
	}
	return err;
}

/* Append the room's schedule: "09:00 America/Toronto, mon-fri". */
static sc_err reply_schedule(struct cmd_ctx *c, const struct room *room)
{
	struct sbuf days;
	int minute = room->digest_minute >= 0 ? room->digest_minute :
		     c->cfg->digest_minute;
	unsigned mask = room->digest_days ? room->digest_days : c->cfg->digest_days;
	sc_err err;

	sbuf_init(&days, 64);
	err = when_format_days(mask, &days);
	if (!err)
		err = reply_textf(c->out, "%02d:%02d %s, %s", minute / 60, minute % 60,
				  room->tz ? room->tz : c->cfg->timezone, days.buf);
	sbuf_release(&days);
	return err;
}

/* A word of "!digest at" that is neither a zone nor days; a zone
 * under the wrong region ("Europe/Toronto") gets the right one named. */
static sc_err bad_word(struct cmd_ctx *c, const char *w)
{
	static const char *const regions[] = { "America", "Europe", "Asia",
					       "Africa", "Australia", "Pacific",
					       "Atlantic", "Indian", NULL };
	const char *city = strrchr(w, '/');
	struct sbuf sb;
	sc_err err = SC_OK;

	if (!city)
		return cmd_fail(c, SC_EINVAL,
				"cannot read '%s' (give a time zone like America/Toronto and days like mon-fri)",
				w);
	sbuf_init(&sb, 0); /* city is what was typed: any length */
	for (const char *const *r = regions; *r && !err; r++) {
		sbuf_setlen(&sb, 0);
		err = sbuf_printf(&sb, "%s%s", *r, city);
		if (!err && when_tz_valid(sb.buf))
			break;
	}
	if (!err && sb.len && when_tz_valid(sb.buf))
		err = cmd_fail(c, SC_EINVAL, "there is no time zone '%s'; did you mean %s?",
			       w, sb.buf);
	else if (!err)
		err = cmd_fail(c, SC_EINVAL,
			       "there is no time zone '%s' (try America/Toronto or Europe/Berlin)",
			       w);
	sbuf_release(&sb);
	return err;
}

/* !digest at HH:MM [zone] [days] */
static sc_err digest_at(struct cmd_ctx *c, const struct args *a, struct room *room)
{
	int minute;
	unsigned days = 0;
	const char *tz = NULL;
	char zone[128], was[128];
	int64_t start, next;
	int tz_changed;
	sc_err err = need_power(c, "at");

	if (err)
		return err;
	if (a->argc < 3)
		return cmd_usage(c, cmd_lookup("digest"));
	if (when_parse_hhmm(a->argv[2], &minute) != SC_OK)
		return cmd_fail(c, SC_EINVAL, "cannot read the time '%s' (try 09:00)",
				a->argv[2]);
	for (int i = 3; i < a->argc; i++) {
		if (!tz && zone_word(a->argv[i], zone, sizeof(zone)) == SC_OK)
			tz = zone;
		else if (!days && when_parse_days(a->argv[i], &days) == SC_OK)
			continue;
		else
			return bad_word(c, a->argv[i]);
	}
	/* The digest runs in the room's zone, so a zone given here is the
	 * room's from now on; the reply says so, and only when it changes
	 * what the room reads (the same zone as before is no news). */
	snprintf(was, sizeof(was), "%s", room->tz ? room->tz : c->cfg->timezone);
	tz_changed = tz && strcmp(was, tz);
	if (tz)
		err = record_set(&room->tz, tz);
	if (err)
		return err;
	room->digest_minute = minute;
	if (days)
		room->digest_days = days;
	err = store_room_put(c->st, room);
	if (err)
		return err;
	start = room->last_digest ? room->last_digest : room->joined_at;
	err = digest_next(c->cfg, room, start, &next);
	if (err)
		return err;
	err = reply_text(c->out, "Daily digest at ");
	if (!err)
		err = reply_schedule(c, room);
	if (tz)
		c->tz = room->tz;
	if (!err && next <= c->now) {
		/* A slot of the new schedule already passed since the last
		 * digest: the next run posts one covering that time. */
		err = reply_text(c->out, ". The next one goes out now (since ");
		if (!err)
			err = reply_when(c, c->out, start);
		if (!err)
			err = digest_next(c->cfg, room, c->now, &next);
		if (!err)
			err = reply_text(c->out, "), then ");
	} else if (!err) {
		err = reply_text(c->out, ". Next: ");
	}
	if (!err)
		err = reply_when(c, c->out, next);
	if (!err)
		err = reply_text(c->out, ".");
	if (!err && tz_changed)
		err = reply_nl(c->out);
	if (!err && tz_changed)
		err = reply_textf(c->out,
				  "This also makes %s the time zone of this room "
				  "(it was %s): dates typed here, times shown and "
				  "ops hours follow it; %stz changes it.", tz, was,
				  c->cfg->prefix);
	return err;
}

sc_err cmd_digest(struct cmd_ctx *c, const struct args *a)
{
	struct room room;
	sc_err err = store_room_get(c->st, c->room_id, &room);

	if (err)
		return err;
	if (a->argc == 1) {
		err = digest_now(c, &room);
	} else if (!strcasecmp(a->argv[1], "at")) {
		err = digest_at(c, a, &room);
	} else if (!strcasecmp(a->argv[1], "off") && a->argc == 2) {
		err = need_power(c, "off");
		room.digest_minute = DIGEST_OFF;
		if (!err)
			err = store_room_put(c->st, &room);
		if (!err)
			err = reply_textf(c->out,
					  "No daily digest here any more. %sdigest still shows one; "
					  "%sdigest at 09:00 turns it back on.",
					  c->cfg->prefix, c->cfg->prefix);
	} else {
		err = cmd_usage(c, cmd_lookup("digest"));
	}
	room_clear(&room);
	return err;
}

/* ---- !catchup ---- */

struct catchup {
	int64_t since;
	int64_t made[REC_NKINDS];
	int64_t updated;
};

static int catchup_count(const struct record *r, void *ctx)
{
	struct catchup *s = ctx;

	if (r->created >= s->since)
		s->made[r->kind]++;
	else
		s->updated++;
	return 0;
}

sc_err cmd_catchup(struct cmd_ctx *c, const struct args *a)
{
	static const char *const names[REC_NKINDS][2] = {
		[REC_TODO] = { "action item", "action items" },
		[REC_DECISION] = { "decision", "decisions" },
		[REC_CHANGE] = { "change", "changes" },
		[REC_MEETING] = { "meeting", "meetings" },
		[REC_INCIDENT] = { "incident", "incidents" },
		[REC_REMINDER] = { "reminder", "reminders" },
	};
	static const enum rec_kind order[] = { REC_DECISION, REC_TODO, REC_CHANGE,
					       REC_INCIDENT, REC_MEETING,
					       REC_REMINDER };
	struct catchup s;
	struct rec_query q;
	struct report rp;
	struct sbuf sb, more;
	const char *what = "your last message";
	int64_t total = 0;
	sc_err err;

	memset(&s, 0, sizeof(s));
	if (a->argc > 1) {
		const char *w = a->argv[1];
		if (!strncasecmp(w, "since:", 6))
			w += 6;
		if (when_parse_since(w, c->now, c->tz, &s.since) != SC_OK)
			return cmd_fail(c, SC_EINVAL,
					"cannot read '%s' (try since:3d, since:yesterday or since:2026-11-01)",
					a->argv[1]);
		what = NULL;
	} else if (c->last_spoke) {
		/* what that message itself recorded is no news */
		s.since = c->last_spoke + 1;
	} else {
		s.since = c->now - 86400;
		what = NULL;
	}
	memset(&q, 0, sizeof(q));
	q.room_id = c->room_id;
	q.changed_since = s.since;
	q.order = ORDER_NEWEST;
	err = store_query(c->st, &q, catchup_count, &s);
	if (err)
		return err;
	sbuf_init(&sb, 1024);
	sbuf_init(&more, 128);
	err = sbuf_printf(&more, "(use %ssearch / scribe export)", c->cfg->prefix);
	report_init(&rp, c->out);
	rp.more = more.buf;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && !err; i++) {
		int64_t n = s.made[order[i]];
		if (n)
			err = sbuf_printf(&sb, "%s%lld %s", sb.len ? ", " : "",
					  (long long)n, names[order[i]][n != 1]);
		total += n;
	}
	if (!err && s.updated)
		err = sbuf_printf(&sb, "%s%lld updated", sb.len ? "; " : "",
				  (long long)s.updated);
	total += s.updated;
	if (!err)
		err = reply_text(c->out, total ? "Since " : "Nothing new here since ");
	if (!err && what)
		err = reply_textf(c->out, "%s (", what);
	if (!err)
		err = reply_when(c, c->out, s.since);
	if (!err && what)
		err = reply_text(c->out, ")");
	if (!err && total)
		err = reply_textf(c->out, ": %s", sb.buf);
	else if (!err)
		err = reply_text(c->out, ".");
	if (!err && total)
		err = report_done(&rp, report_records(&rp, c, NULL, &q, NULL, NULL,
						       NULL, CATCHUP_MAX, NULL));
	report_clear(&rp);
	sbuf_release(&sb);
	sbuf_release(&more);
	return err;
}
