/* SPDX-License-Identifier: MIT */
/*
 * tz.c - !tz: the room's time zone (privileged: every date typed and
 * every time shown here is read in it) and a person's own (!tz me
 * ZONE: the times they type, and reminders for them alone). Also the
 * zone-word helpers every command that takes a zone uses: any case
 * ("europe/berlin"), and a zone under the wrong region named right
 * ("Europe/Toronto" -> America/Toronto).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "remind.h"
#include "store_remind.h"
#include "when.h"
#include "banned.h"

/* Longest zone name a word may be (the tz database's are under 40). */
#define ZONE_MAX 64

sc_err zone_word(const char *w, char *buf, size_t size)
{
	size_t n = strlen(w);
	int start = 1;

	if (when_tz_valid(w)) {
		if (n >= size)
			return SC_EINVAL;
		memcpy(buf, w, n + 1);
		return SC_OK;
	}
	if (!strcasecmp(w, "utc") || !strcasecmp(w, "gmt")) {
		if (size < 4)
			return SC_EINVAL;
		memcpy(buf, "UTC", 4);
		return SC_OK;
	}
	if (n >= size || n > ZONE_MAX)
		return SC_EINVAL;
	/* the database's own capitals: Europe/Berlin, America/New_York,
	 * America/Port-au-Prince (its few exceptions must be typed as they
	 * are) */
	for (size_t i = 0; i <= n; i++) {
		unsigned char ch = (unsigned char)w[i];

		buf[i] = (char)(start ? toupper(ch) : tolower(ch));
		start = ch == '/' || ch == '_' || ch == '-';
	}
	if (!strchr(buf, '/') || !when_tz_valid(buf))
		return SC_EINVAL;
	return SC_OK;
}

sc_err zone_refuse(struct cmd_ctx *c, const char *w)
{
	static const char *const regions[] = { "America", "Europe", "Asia",
					       "Africa", "Australia", "Pacific",
					       "Atlantic", "Indian", NULL };
	const char *city = strrchr(w, '/');
	char fixed[ZONE_MAX + 1];
	struct sbuf sb;
	sc_err err = SC_OK;
	int found = 0;

	if (!city)
		return cmd_fail(c, SC_EINVAL,
				"there is no time zone '%s' (try a name like "
				"Europe/Berlin, America/Toronto or UTC)", w);
	sbuf_init(&sb, 0); /* city is what was typed: any length */
	for (const char *const *r = regions; *r && !err && !found; r++) {
		sbuf_setlen(&sb, 0);
		err = sbuf_printf(&sb, "%s%s", *r, city);
		found = !err && zone_word(sb.buf, fixed, sizeof(fixed)) == SC_OK;
	}
	if (!err && found)
		err = cmd_fail(c, SC_EINVAL,
			       "there is no time zone '%s'; did you mean %s?", w,
			       fixed);
	else if (!err)
		err = cmd_fail(c, SC_EINVAL,
			       "there is no time zone '%s' (try a name like "
			       "Europe/Berlin, America/Toronto or UTC)", w);
	sbuf_release(&sb);
	return err;
}

static int is_off(const char *w)
{
	return !strcasecmp(w, "off") || !strcasecmp(w, "none") ||
	       !strcasecmp(w, "room") || !strcasecmp(w, "default");
}

/* !tz me [ZONE|off] */
static sc_err tz_me(struct cmd_ctx *c, const struct args *a)
{
	char zone[ZONE_MAX + 1];
	char *old = NULL;
	sc_err err = remind_user_tz(c->st, c->sender, &old);

	if (err)
		return err;
	if (a->argc == 2) {
		if (old)
			err = reply_textf(c->out,
					  "Your time zone is %s: the times you type are "
					  "read in it. This room's is %s. %stz me off "
					  "goes back to the room's.", old, c->tz,
					  c->cfg->prefix);
		else
			err = reply_textf(c->out,
					  "You have no time zone of your own: the times "
					  "you type are read in this room's, %s. %stz me "
					  "Europe/Berlin sets one.", c->tz, c->cfg->prefix);
	} else if (a->argc > 3) {
		err = cmd_usage(c, cmd_lookup("tz"));
	} else if (is_off(a->argv[2])) {
		if (old)
			err = store_user_tz_put(c->st, c->sender, NULL);
		if (!err)
			err = reply_textf(c->out,
					  old ? "You have no time zone of your own any "
						"more (it was %s): the times you type are "
						"read in each room's, here %s." :
						"You had no time zone of your own%s; the "
						"times you type are read in each room's, "
						"here %s.",
					  old ? old : "", c->tz);
	} else if (zone_word(a->argv[2], zone, sizeof(zone)) != SC_OK) {
		err = zone_refuse(c, a->argv[2]);
	} else if (old && !strcmp(old, zone)) {
		err = reply_textf(c->out, "Your time zone is %s already.", zone);
	} else {
		err = store_user_tz_put(c->st, c->sender, zone);
		if (!err)
			err = reply_textf(c->out,
					  "Your time zone is now %s%s%s%s: the times "
					  "you type are read in it, and reminders for "
					  "you alone show it.", zone,
					  old ? " (it was " : "", old ? old : "",
					  old ? ")" : "");
		if (!err && strcmp(zone, c->tz))
			err = reply_textf(c->out,
					  " This room's stays %s: what scribe posts "
					  "for everyone here is in it.", c->tz);
	}
	free(old);
	return err;
}

/* !tz ZONE|default (privileged) */
static sc_err tz_room(struct cmd_ctx *c, const char *w)
{
	char zone[ZONE_MAX + 1];
	struct room room;
	const char *was;
	sc_err err;
	int dflt = !strcasecmp(w, "default");

	if (!cmd_privileged(c))
		return cmd_fail(c, SC_EPERM,
				"%stz %s needs power level %d in this room (you "
				"have %d); %stz me %s sets your own",
				c->cfg->prefix, w, c->cfg->privileged_power,
				c->power, c->cfg->prefix, w);
	if (!dflt && zone_word(w, zone, sizeof(zone)) != SC_OK)
		return zone_refuse(c, w);
	if (dflt)
		snprintf(zone, sizeof(zone), "%s", c->cfg->timezone);
	err = store_room_get(c->st, c->room_id, &room);
	if (err)
		return err;
	was = room.tz ? room.tz : c->cfg->timezone;
	if (!strcmp(was, zone) && (dflt ? !room.tz : room.tz != NULL)) {
		err = reply_textf(c->out, "This room's time zone is %s already.",
				  zone);
		goto out;
	}
	if (!strcmp(was, zone)) {
		/* the same zone, now set here (or back to following
		 * bot.conf): nothing a reader notices changes */
		err = record_set(&room.tz, dflt ? NULL : zone);
		if (!err)
			err = store_room_put(c->st, &room);
		if (!err)
			err = reply_textf(c->out,
					  dflt ? "This room's time zone stays %s, now "
						 "as bot.conf's default." :
						 "This room's time zone stays %s, now "
						 "set for this room.", zone);
		goto out;
	}
	err = reply_textf(c->out,
			  "This room's time zone is now %s (it was %s): dates "
			  "typed here, times shown, the digest and ops hours "
			  "follow it.", zone, was);
	if (!err)
		err = record_set(&room.tz, dflt ? NULL : zone);
	if (!err)
		err = store_room_put(c->st, &room);
out:
	room_clear(&room);
	return err;
}

sc_err cmd_tz(struct cmd_ctx *c, const struct args *a)
{
	struct room room;
	sc_err err;

	if (a->argc >= 2 && !strcasecmp(a->argv[1], "me"))
		return tz_me(c, a);
	if (a->argc == 2)
		return tz_room(c, a->argv[1]);
	if (a->argc > 2)
		return cmd_usage(c, cmd_lookup("tz"));
	err = store_room_get(c->st, c->room_id, &room);
	if (err)
		return err;
	err = reply_textf(c->out, "This room's time zone is %s%s.", c->tz,
			  room.tz ? "" : " (bot.conf's default)");
	room_clear(&room);
	if (!err && c->user_tz && strcmp(c->user_tz, c->tz))
		err = reply_textf(c->out, " Yours is %s: the times you type are "
				  "read in it.", c->user_tz);
	if (!err)
		err = reply_textf(c->out, " %stz ZONE changes the room's (power "
				  "level %d), %stz me ZONE sets your own.",
				  c->cfg->prefix, c->cfg->privileged_power,
				  c->cfg->prefix);
	return err;
}
