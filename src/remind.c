/* SPDX-License-Identifier: MIT */
/*
 * remind.c - firing reminders and escalations (see remind.h): per room,
 * what the schedule says is due now is held for ops hours or written
 * into one message, queued in the outbox and marked fired in the same
 * transaction, the way the digest is posted. Also the rooms' settings
 * in force and recurring reminders' rules.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "remind.h"
#include "store_remind.h"
#include "when.h"
#include "banned.h"

/* A firing this long past its time was missed (scribe was down). */
#define LATE_S 300
/* Firings of a room one message takes at most; more go in the next. */
#define ROOM_BATCH 200
/* Lines a grouped message lists (fewer when long); the rest are
 * counted. */
#define LINES_MAX 30
/* People a line names before "+3". */
#define PEOPLE_SHOWN 8

/*
 * Test hook, as e2ee.c's: die by SIGKILL here when SCRIBE_TEST_CRASH
 * names this point: "remind-queued" (the message is queued, nothing
 * committed) or "remind-committed" (committed, not sent).
 */
static void crash_point(const char *name)
{
	const char *want = getenv("SCRIBE_TEST_CRASH");

	if (want && !strcmp(want, name))
		raise(SIGKILL);
}

/* ---- settings ---- */

static sc_err parse_hours(const char *text, const struct daily_hours *dflt,
			  struct daily_hours *out, int *own)
{
	memset(out, 0, sizeof(*out));
	*own = text != NULL;
	if (!text) {
		*out = *dflt;
		return SC_OK;
	}
	if (!*text)
		return SC_OK;
	if (when_parse_hours(text, &out->days, &out->start, &out->end))
		return SC_EINVAL;
	out->set = 1;
	return SC_OK;
}

static sc_err add_contact(struct alert_settings *s, const char *id, size_t n)
{
	char **v = realloc(s->contacts, (s->ncontacts + 1) * sizeof(*v));

	if (!v)
		return SC_ENOMEM;
	s->contacts = v;
	v[s->ncontacts] = strndup(id, n);
	if (!v[s->ncontacts])
		return SC_ENOMEM;
	s->ncontacts++;
	return SC_OK;
}

void alert_settings_clear(struct alert_settings *s)
{
	for (size_t i = 0; i < s->ncontacts; i++)
		free(s->contacts[i]);
	free(s->contacts);
	free(s->tz);
	memset(s, 0, sizeof(*s));
}

sc_err remind_settings(struct store *st, const struct config *cfg,
		       const char *room_id, struct alert_settings *out)
{
	struct alert_settings s;
	struct room_alerts a;
	struct room room;
	sc_err err;

	memset(&s, 0, sizeof(s));
	err = store_room_get(st, room_id, &room);
	if (err == SC_OK) {
		s.tz = strdup(room.tz ? room.tz : cfg->timezone);
		room_clear(&room);
	} else if (err == SC_ENOTFOUND) {
		s.tz = strdup(cfg->timezone);
	} else {
		return err;
	}
	if (!s.tz)
		return SC_ENOMEM;
	err = store_alerts_get(st, room_id, &a);
	if (err) {
		alert_settings_clear(&s);
		return err;
	}
	s.own_before = a.before != ALERT_DEFAULT;
	s.before = s.own_before ? a.before : cfg->remind_before;
	/* a value that no longer reads (it was checked when set) counts
	 * as unset rather than stopping every reminder of the room */
	if (parse_hours(a.hours, &cfg->hours, &s.hours, &s.own_hours))
		parse_hours(NULL, &cfg->hours, &s.hours, &s.own_hours);
	if (parse_hours(a.on_call, &cfg->on_call, &s.on_call, &s.own_on_call))
		parse_hours(NULL, &cfg->on_call, &s.on_call, &s.own_on_call);
	s.own_contacts = a.contacts != NULL;
	if (a.contacts) {
		for (const char *p = a.contacts; *p && !err;) {
			size_t n = strcspn(p, ",");

			if (n)
				err = add_contact(&s, p, n);
			p += n + (p[n] == ',');
		}
	} else {
		for (char **c = cfg->escalation_contacts; c && *c && !err; c++)
			err = add_contact(&s, *c, strlen(*c));
	}
	room_alerts_clear(&a);
	if (err) {
		alert_settings_clear(&s);
		return err;
	}
	*out = s;
	return SC_OK;
}

sc_err remind_setup(struct store *st, const struct config *cfg, int64_t now)
{
	struct remind_params p;
	sc_err err;

	p.before = cfg->remind_before;
	p.sla_critical = cfg->sla_critical;
	p.sla_major = cfg->sla_major;
	p.levels = cfg->escalation_levels;
	err = store_tx_begin(st);
	if (err)
		return err;
	err = store_remind_setup(st, &p, now);
	if (!err)
		return store_tx_commit(st);
	store_tx_rollback(st);
	return err;
}

sc_err remind_next(struct store *st, int64_t *at)
{
	return store_remind_next(st, at);
}

sc_err remind_user_tz(struct store *st, const char *user_id, char **out)
{
	sc_err err = store_user_tz_get(st, user_id, out);

	if (err == SC_ENOTFOUND) {
		*out = NULL;
		return SC_OK;
	}
	return err;
}

/* ---- rules of recurring reminders ---- */

sc_err remind_rule_format(unsigned days, int minute, const char *tz,
			  struct sbuf *out)
{
	sc_err err = sbuf_puts(out, "every ");

	if (!err)
		err = when_format_days(days, out);
	if (!err)
		err = sbuf_printf(out, " %02d:%02d %s", minute / 60, minute % 60,
				  tz);
	return err;
}

sc_err remind_rule_parse(const char *detail, unsigned *days, int *minute,
			 char **tz)
{
	char buf[256], *w[4], *save = NULL;
	int n = 0, used = 0;
	unsigned d;
	int m;

	if (!detail || strlen(detail) >= sizeof(buf))
		return SC_EINVAL;
	memcpy(buf, detail, strlen(detail) + 1);
	for (char *p = strtok_r(buf, " ", &save); p && n < 4;
	     p = strtok_r(NULL, " ", &save))
		w[n++] = p;
	if (n != 4 || when_parse_every(w, 3, &d, &m, &used) || used != 3 ||
	    !when_tz_valid(w[3]))
		return SC_EINVAL;
	*tz = strdup(w[3]);
	if (!*tz)
		return SC_ENOMEM;
	*days = d;
	*minute = m;
	return SC_OK;
}

sc_err remind_rule_next(const char *detail, int64_t after, int64_t *out)
{
	unsigned days;
	int minute;
	char *tz = NULL;
	sc_err err = remind_rule_parse(detail, &days, &minute, &tz);

	if (!err)
		err = when_next_slot(after, tz, minute, days, out);
	free(tz);
	return err;
}

sc_err remind_breaches(struct store *st, const struct config *cfg,
		       const char *room_id, int64_t from, int64_t to,
		       rec_cb cb, void *ctx, int64_t *count)
{
	return store_remind_breaches(st, room_id, from, to, cfg->sla_critical,
				     cfg->sla_major, cb, ctx, count);
}

/* ---- one room's firings ---- */

struct firing {
	int64_t record;
	enum remind_what what;
	int64_t anchor, fire_at;
	int level, deferred;
	struct record rec;
	int contacts_only; /* outside every window: contacts only */
	int late;          /* missed while scribe was down */
	int new_level;     /* sla: the level this firing is */
};

struct batch {
	struct firing *v;
	size_t n;
	sc_err err;
};

static int take_row(const struct remind_row *r, void *ctx)
{
	struct batch *b = ctx;
	struct firing *v = realloc(b->v, (b->n + 1) * sizeof(*v));

	if (!v) {
		b->err = SC_ENOMEM;
		return 1;
	}
	b->v = v;
	memset(&v[b->n], 0, sizeof(v[b->n]));
	v[b->n].record = r->record;
	v[b->n].what = r->what;
	v[b->n].anchor = r->anchor;
	v[b->n].fire_at = r->fire_at;
	v[b->n].level = r->level;
	v[b->n].deferred = r->deferred;
	b->n++;
	return 0;
}

/* Append f to b; f's record now belongs to b. */
static sc_err batch_move(struct batch *b, struct firing *f)
{
	struct firing *v = realloc(b->v, (b->n + 1) * sizeof(*v));

	if (!v)
		return SC_ENOMEM;
	b->v = v;
	v[b->n++] = *f;
	memset(&f->rec, 0, sizeof(f->rec));
	return SC_OK;
}

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		record_clear(&b->v[i].rec);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static int is_live(const struct record *r)
{
	if (r->withdrawn)
		return 0;
	if (r->kind == REC_REMINDER)
		return !strcmp(r->status, "pending");
	return !strcmp(r->status, "open");
}

static int is_critical(const struct record *r)
{
	return r->severity && !strcmp(r->severity, "critical");
}

static int64_t sla_of(const struct config *cfg, const struct record *r)
{
	if (!r->severity)
		return 0;
	if (!strcmp(r->severity, "critical"))
		return cfg->sla_critical;
	if (!strcmp(r->severity, "major"))
		return cfg->sla_major;
	return 0;
}

/* What one message says. */
struct msg {
	struct store *st;
	const struct config *cfg;
	const struct alert_settings *set;
	const char *room_id;
	const char *tz;     /* times are shown in */
	int64_t now;
	struct reply *out;
};

static sc_err say_when(struct msg *m, int64_t t)
{
	struct sbuf sb;
	sc_err err;

	sbuf_init(&sb, 128);
	err = when_format_short(t, m->now, m->tz, &sb);
	if (!err)
		err = reply_text(m->out, sb.buf);
	sbuf_release(&sb);
	return err;
}

/* A duration rounded to the minute ("1h", "2d 4h", "45m"). */
static sc_err say_duration(struct msg *m, int64_t secs)
{
	struct sbuf sb;
	sc_err err;

	if (secs >= 60)
		secs = (secs + 30) / 60 * 60;
	sbuf_init(&sb, 64);
	err = when_format_duration(secs, &sb);
	if (!err)
		err = reply_text(m->out, sb.buf);
	sbuf_release(&sb);
	return err;
}

/* " — @a, @b" (the people an item is for). */
static sc_err say_people(struct msg *m, const struct record *r)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->nassignees && i < PEOPLE_SHOWN && !err; i++) {
		err = reply_text(m->out, i ? ", " : " — ");
		if (!err)
			err = reply_user(m->out, r->assignees[i]);
	}
	if (!err && r->nassignees > PEOPLE_SHOWN)
		err = reply_textf(m->out, " +%zu", r->nassignees - PEOPLE_SHOWN);
	return err;
}

/* "; escalated to @oncall" (or why nobody). */
static sc_err say_contacts(struct msg *m)
{
	sc_err err = SC_OK;

	if (!m->set->ncontacts)
		return reply_textf(m->out, "; no escalation contacts here (%sescalate to @someone)",
				   m->cfg->prefix);
	for (size_t i = 0; i < m->set->ncontacts && !err; i++) {
		err = reply_text(m->out, i ? ", " : "; escalated to ");
		if (!err)
			err = reply_user(m->out, m->set->contacts[i]);
	}
	return err;
}

/* The text of a record, shortened for a line. */
static sc_err say_text(struct msg *m, const struct record *r)
{
	return reply_snip(m->out, r->text, REPLY_LINE_CHARS);
}

/* " Every mon 09:00; !remind cancel R2 stops it." */
static sc_err say_repeat(struct msg *m, const struct record *r)
{
	struct sbuf d;
	unsigned days;
	int minute;
	char *tz = NULL;
	sc_err err = remind_rule_parse(r->detail, &days, &minute, &tz);

	if (err)
		return err == SC_ENOMEM ? err : SC_OK;
	sbuf_init(&d, 64);
	err = when_format_days(days, &d);
	if (!err)
		err = reply_textf(m->out, ". Every %s %02d:%02d%s%s; %sremind cancel ",
				  d.buf, minute / 60, minute % 60,
				  strcmp(tz, m->tz) ? " " : "",
				  strcmp(tz, m->tz) ? tz : "", m->cfg->prefix);
	if (!err)
		err = reply_id(m->out, r);
	if (!err)
		err = reply_text(m->out, " stops it.");
	sbuf_release(&d);
	free(tz);
	return err;
}

/* One firing: a whole message (single) or a list line. */
static sc_err say_firing(struct msg *m, const struct firing *f, int single)
{
	const struct record *r = &f->rec;
	struct reply_mark start;
	sc_err err;

	reply_mark(m->out, &start);
	err = reply_id(m->out, r);
	switch (f->what) {
	case RW_DUE:
		if (r->due <= m->now) {
			/* on time, or held for ops hours or missed */
			int now = m->now - r->due < 120;

			if (!err)
				err = reply_text(m->out, now ? " is due now" :
						 " became due (");
			if (!err && !now)
				err = say_when(m, r->due);
			if (!err && !now)
				err = reply_text(m->out, ")");
		} else {
			if (!err)
				err = reply_text(m->out, " is due in ");
			if (!err)
				err = say_duration(m, r->due - m->now);
			if (!err)
				err = reply_text(m->out, " (");
			if (!err)
				err = say_when(m, r->due);
			if (!err)
				err = reply_text(m->out, ")");
		}
		if (!err)
			err = reply_text(m->out, ": ");
		if (!err)
			err = say_text(m, r);
		if (!err)
			err = reply_text(m->out, " (");
		if (!err && r->severity)
			err = reply_textf(m->out, "%s, ", r->severity);
		if (!err)
			err = reply_text(m->out, "opened ");
		if (!err)
			err = say_duration(m, m->now - r->created);
		if (!err)
			err = reply_text(m->out, " ago)");
		if (!err)
			err = say_people(m, r);
		for (size_t i = 0; f->contacts_only && i < m->set->ncontacts && !err; i++) {
			err = reply_text(m->out, i ? ", " : "; outside ops and on-call "
					 "hours: to ");
			if (!err)
				err = reply_user(m->out, m->set->contacts[i]);
		}
		break;
	case RW_SLA:
		if (!err)
			err = reply_text(m->out, f->new_level > 1 ?
					 " is still open, past its SLA again: " :
					 " missed its SLA: ");
		if (!err)
			err = say_text(m, r);
		if (!err)
			err = reply_textf(m->out, " (%s, SLA ", r->severity);
		if (!err)
			err = say_duration(m, sla_of(m->cfg, r));
		if (!err)
			err = reply_text(m->out, ", open ");
		if (!err)
			err = say_duration(m, m->now - r->created);
		if (!err && f->new_level > 1)
			err = reply_textf(m->out, ", level %d", f->new_level);
		if (!err)
			err = reply_text(m->out, ")");
		if (!err && !f->contacts_only)
			err = say_people(m, r);
		if (!err)
			err = say_contacts(m);
		if (!err && f->contacts_only)
			err = reply_text(m->out, " (outside ops and on-call hours)");
		if (!err && single)
			err = reply_textf(m->out, ". %sack ", m->cfg->prefix);
		if (!err && single)
			err = reply_id(m->out, r);
		if (!err && single)
			err = reply_text(m->out, " stops the escalation.");
		break;
	case RW_REMIND:
		/* "Reminder for bob: call the vendor (R3, set by alice)" */
		reply_rewind(m->out, &start);
		err = reply_text(m->out, r->nassignees ? "Reminder for " : "Reminder");
		for (size_t i = 0; i < r->nassignees && !err; i++) {
			if (i)
				err = reply_text(m->out, ", ");
			if (!err)
				err = reply_user(m->out, r->assignees[i]);
		}
		if (!err)
			err = reply_text(m->out, ": ");
		if (!err)
			err = reply_snip(m->out, r->text, single ? REPLY_ECHO_CHARS :
					 REPLY_LINE_CHARS);
		if (!err)
			err = reply_text(m->out, " (");
		if (!err)
			err = reply_id(m->out, r);
		if (!err && f->late) {
			err = reply_text(m->out, ", was for ");
			if (!err)
				err = say_when(m, f->fire_at);
		}
		if (!err && (r->nassignees != 1 ||
			     strcmp(r->assignees[0], r->author))) {
			err = reply_text(m->out, ", set by ");
			if (!err)
				err = reply_user(m->out, r->author);
		}
		if (!err)
			err = reply_text(m->out, ")");
		if (!err && r->detail && single)
			err = say_repeat(m, r);
		break;
	}
	return err;
}

/* Who a firing pings. */
static sc_err mention_firing(struct msg *m, const struct firing *f, int *room)
{
	const struct record *r = &f->rec;
	sc_err err = SC_OK;

	if (f->what == RW_REMIND && !r->nassignees)
		*room = 1;
	if (!f->contacts_only || !m->set->ncontacts)
		for (size_t i = 0; i < r->nassignees && !err; i++)
			err = reply_mention(m->out, r->assignees[i]);
	if (f->what == RW_SLA || f->contacts_only)
		for (size_t i = 0; i < m->set->ncontacts && !err; i++)
			err = reply_mention(m->out, m->set->contacts[i]);
	return err;
}

/* The heading of a message with several firings. */
static const char *heading(const struct batch *b)
{
	int late = 0, held = 0, due = 0;

	for (size_t i = 0; i < b->n; i++) {
		late |= b->v[i].late;
		held += b->v[i].deferred != 0;
		due += b->v[i].what == RW_DUE;
	}
	if (late)
		return "While I was offline:";
	if ((size_t)held == b->n)
		return "Held until ops hours:";
	if ((size_t)due == b->n)
		return "Due now:";
	return "Reminders:";
}

/* The message of b (its mentions are made already). */
static sc_err build(struct msg *m, const struct batch *b)
{
	struct reply_list l;
	size_t shown = 0;
	sc_err err = SC_OK;

	if (b->n == 1)
		return say_firing(m, &b->v[0], 1);
	err = reply_text(m->out, heading(b));
	if (!err)
		err = reply_html(m->out, "<ul>");
	reply_list_open(&l, m->out, LINES_MAX);
	for (size_t i = 0; i < b->n && !err; i++) {
		if (!reply_list_begin(&l))
			break;
		err = reply_raw(m->out, "\n- ", "<li>");
		if (!err)
			err = say_firing(m, &b->v[i], 0);
		if (!err)
			err = reply_html(m->out, "</li>");
		if (!err && reply_list_end(&l))
			shown++;
	}
	reply_list_close(&l);
	if (!err)
		err = reply_html(m->out, "</ul>");
	if (!err && shown < b->n)
		err = reply_textf(m->out, "\n… and %zu more (%stodos overdue, %sreminders)",
				  b->n - shown, m->cfg->prefix, m->cfg->prefix);
	return err;
}

/* The actor of what scribe changes by itself. */
static const char *bot_actor(const struct config *cfg)
{
	return cfg->user_id ? cfg->user_id : "scribe";
}

/* "@a, @b": whom f pinged (as mention_firing picks them), for its
 * record's history. */
static sc_err pinged(const struct alert_settings *set, const struct firing *f,
		     struct sbuf *sb)
{
	const struct record *r = &f->rec;
	size_t n0 = sb->len;
	sc_err err = SC_OK;

	if (!f->contacts_only || !set->ncontacts)
		for (size_t i = 0; i < r->nassignees && !err; i++)
			err = sbuf_printf(sb, "%s%s", sb->len > n0 ? ", " : "",
					  r->assignees[i]);
	if (f->what == RW_SLA || f->contacts_only)
		for (size_t i = 0; i < set->ncontacts && !err; i++)
			if (!strstr(sb->buf + n0, set->contacts[i]))
				err = sbuf_printf(sb, "%s%s", sb->len > n0 ? ", " : "",
						  set->contacts[i]);
	if (!err && sb->len == n0)
		err = sbuf_puts(sb, "nobody (a notice to the room)");
	return err;
}

/* Move the schedule on after f went out. */
static sc_err mark(struct store *st, const struct config *cfg,
		   const struct alert_settings *set, const struct firing *f,
		   int64_t now)
{
	struct record up;
	struct sbuf sb;
	int64_t next = 0, sla;
	sc_err err;

	sbuf_init(&sb, 4096);
	switch (f->what) {
	case RW_DUE:
		err = store_remind_fired(st, f->record, f->what, f->level + 1,
					 now, 0);
		if (!err)
			err = pinged(set, f, &sb);
		if (!err)
			err = store_history_note(st, f->record, now, bot_actor(cfg),
						 "reminded", sb.buf, NULL);
		break;
	case RW_SLA:
		sla = sla_of(cfg, &f->rec);
		if (sla && f->new_level < cfg->escalation_levels)
			next = f->anchor + (int64_t)(f->new_level + 1) * sla;
		err = store_remind_fired(st, f->record, f->what, f->new_level,
					 now, next);
		if (!err)
			err = sbuf_printf(&sb, "level %d: ", f->new_level);
		if (!err)
			err = pinged(set, f, &sb);
		if (!err)
			err = store_history_note(st, f->record, now, bot_actor(cfg),
						 "escalated", sb.buf, NULL);
		break;
	default:
		memset(&up, 0, sizeof(up));
		err = store_record_get_id(st, f->record, &up);
		if (err)
			break;
		if (up.detail && remind_rule_next(up.detail, now, &next) == SC_OK) {
			up.due = next;
		} else {
			next = 0;
			err = record_set(&up.status, "done");
			up.closed = now;
		}
		if (!err)
			err = store_remind_fired(st, f->record, f->what,
						 f->level + 1, now, next);
		if (!err)
			err = store_record_update(st, &up, bot_actor(cfg), now, NULL);
		record_clear(&up);
		break;
	}
	sbuf_release(&sb);
	return err;
}

/* What to do with one due row: fire it (*fire = 1), hold it for ops
 * hours, or drop it (its record is gone or closed). */
static sc_err triage(struct store *st, const struct config *cfg,
		     const struct alert_settings *set, struct firing *f,
		     int64_t now, int *fire)
{
	int64_t open, sla;
	sc_err err = store_record_get_id(st, f->record, &f->rec);

	*fire = 0;
	if (err == SC_ENOTFOUND || (!err && !is_live(&f->rec)))
		return store_remind_fired(st, f->record, f->what, f->level, now, 0);
	if (err)
		return err;
	f->late = f->fire_at < now - LATE_S;
	if (f->what == RW_SLA) {
		sla = sla_of(cfg, &f->rec);
		if (!sla)
			return store_remind_fired(st, f->record, f->what,
						  f->level, now, 0);
		/* downtime over several levels: the latest, once */
		f->new_level = (int)((now - f->anchor) / sla);
		if (f->new_level <= f->level)
			f->new_level = f->level + 1;
		if (f->new_level > cfg->escalation_levels)
			f->new_level = cfg->escalation_levels;
		if (f->new_level <= f->level)
			return store_remind_fired(st, f->record, f->what,
						  f->level, now, 0);
	}
	if (f->what != RW_REMIND && set->hours.set &&
	    !when_in_hours(now, set->tz, set->hours.days, set->hours.start,
			   set->hours.end)) {
		if (!is_critical(&f->rec)) {
			err = when_hours_open(now, set->tz, set->hours.days,
					      set->hours.start, set->hours.end,
					      &open);
			return err ? err : store_remind_defer(st, f->record, f->what,
							      open);
		}
		f->contacts_only = set->ncontacts &&
			!(set->on_call.set &&
			  when_in_hours(now, set->tz, set->on_call.days,
					set->on_call.start, set->on_call.end));
	}
	*fire = 1;
	return SC_OK;
}

/* The zone the message's times are in: the one person's own zone when
 * it pings exactly one person who has one, else the room's. */
static sc_err message_tz(struct store *st, const struct reply *r,
			 const char *room_tz, char **out)
{
	*out = NULL;
	if (r->nmentions == 1) {
		sc_err err = remind_user_tz(st, r->mentions[0], out);
		if (err)
			return err;
	}
	if (!*out)
		*out = strdup(room_tz);
	return *out ? SC_OK : SC_ENOMEM;
}

static sc_err fire_room(struct store *st, const struct config *cfg,
			const char *room_id, int64_t now, remind_post_fn post,
			void *ctx, int *posted)
{
	struct alert_settings set;
	struct batch b = { NULL, 0, SC_OK };
	struct batch fire = { NULL, 0, SC_OK };
	struct remind_post how = { NULL, NULL, 0 };
	struct reply out;
	struct room room;
	struct sbuf txn;
	char *thread = NULL, *tz = NULL;
	int in_tx = 0, joined = 0;
	sc_err err;

	memset(&set, 0, sizeof(set));
	reply_init(&out);
	sbuf_init(&txn, 1024);
	err = store_tx_begin(st);
	if (err)
		goto out;
	in_tx = 1;
	err = store_room_get(st, room_id, &room);
	if (err == SC_OK) {
		joined = room.joined_at != 0;
		room_clear(&room);
	} else if (err == SC_ENOTFOUND) {
		err = SC_OK;
	}
	if (!err)
		err = remind_settings(st, cfg, room_id, &set);
	if (!err)
		err = store_remind_due(st, room_id, now, ROOM_BATCH, take_row, &b);
	if (!err)
		err = b.err;
	for (size_t i = 0; i < b.n && !err; i++) {
		int go = 0;

		if (!joined) {
			/* scribe left the room: nobody to tell */
			err = store_remind_fired(st, b.v[i].record, b.v[i].what,
						 b.v[i].level, now, 0);
			continue;
		}
		err = triage(st, cfg, &set, &b.v[i], now, &go);
		if (err || !go)
			continue;
		err = batch_move(&fire, &b.v[i]);
	}
	if (err || !fire.n)
		goto commit;
	{
		struct msg m = { st, cfg, &set, room_id, set.tz, now, &out };
		int ping_room = 0;

		err = reply_names(&out, st, room_id);
		/* the mentions first: they decide the zone of the times */
		for (size_t i = 0; i < fire.n && !err; i++)
			err = mention_firing(&m, &fire.v[i], &ping_room);
		if (!err)
			err = message_tz(st, &out, set.tz, &tz);
		m.tz = tz;
		if (!err)
			err = build(&m, &fire);
		how.ping_room = ping_room;
	}
	if (!err && fire.n == 1) {
		err = store_record_thread_get(st, fire.v[0].record, &thread);
		if (err == SC_ENOTFOUND)
			err = SC_OK;
		how.thread_root = thread;
		how.in_reply_to = thread ? fire.v[0].rec.event_id : NULL;
		if (thread && !how.in_reply_to)
			how.in_reply_to = thread;
	}
	if (!err)
		err = sbuf_printf(&txn, "remind.%lld.%s.%lld",
				  (long long)fire.v[0].record,
				  remind_what_name(fire.v[0].what),
				  (long long)fire.v[0].fire_at);
	if (!err)
		err = post(room_id, txn.buf, &out, &how, ctx);
	if (!err)
		crash_point("remind-queued");
	for (size_t i = 0; i < fire.n && !err; i++)
		err = mark(st, cfg, &set, &fire.v[i], now);
	if (!err)
		(*posted)++;
commit:
	if (!err)
		err = store_tx_commit(st);
	if (!err) {
		in_tx = 0;
		if (fire.n)
			crash_point("remind-committed");
	}
out:
	if (in_tx) {
		sc_err rb = store_tx_rollback(st);
		if (!err)
			err = rb;
	}
	free(thread);
	free(tz);
	batch_clear(&b);
	batch_clear(&fire);
	alert_settings_clear(&set);
	reply_clear(&out);
	sbuf_release(&txn);
	return err;
}

/* Rooms with something due, each once (rows come ordered by room). */
struct due_rooms {
	char **ids;
	size_t n;
	sc_err err;
};

static int room_of(const struct remind_row *r, void *ctx)
{
	struct due_rooms *d = ctx;
	char **v;

	if (d->n && !strcmp(d->ids[d->n - 1], r->room_id))
		return 0;
	v = realloc(d->ids, (d->n + 1) * sizeof(*v));
	if (!v) {
		d->err = SC_ENOMEM;
		return 1;
	}
	d->ids = v;
	v[d->n] = strdup(r->room_id);
	if (!v[d->n]) {
		d->err = SC_ENOMEM;
		return 1;
	}
	d->n++;
	return 0;
}

sc_err remind_run_due(struct store *st, const struct config *cfg, int64_t now,
		      remind_post_fn post, void *ctx, int *posted)
{
	struct due_rooms d = { NULL, 0, SC_OK };
	int64_t next = 0;
	int n = 0;
	sc_err err = store_remind_next(st, &next);

	/* the check every loop makes: one index lookup */
	if (err || !next || next > now) {
		if (!err)
			*posted = 0;
		return err;
	}
	err = store_remind_due(st, NULL, now, 10000, room_of, &d);
	if (!err)
		err = d.err;
	for (size_t i = 0; i < d.n && !err; i++) {
		sc_err e = fire_room(st, cfg, d.ids[i], now, post, ctx, &n);

		if (e == SC_ESTORE || e == SC_EBUSY || e == SC_ENOMEM ||
		    e == SC_EINTR)
			err = e;
		else if (e)
			log_warn("reminders of room '%s' failed: %s", d.ids[i],
				 sc_strerror(e));
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.ids[i]);
	free(d.ids);
	if (err)
		return err;
	*posted = n;
	return SC_OK;
}
