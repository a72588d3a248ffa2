/* SPDX-License-Identifier: MIT */
/*
 * test_commands.c - table-driven command tests (jansson's test/suites
 * style): every tests/cmd/NAME.txt file is a conversation run through the
 * real engine (engine_message → dispatcher → handlers → store) on a
 * fresh in-memory store. Directives:
 *
 *   @now 2026-11-23T10:00:00Z    set the clock (UTC)
 *   @advance 3h                  move the clock forward
 *   @tz Europe/Toronto           the room's time zone
 *   @room !ops:example.org       the room (created on first use)
 *   @member @elon:example.org [power] [Display Name]
 *   @as @alice:example.org       who speaks next
 *   @conf key=value              a bot.conf value: prefix, freeze, sla.*
 *   @html <a href=…>Elon</a> x   the formatted_body of the next line (pills)
 *   @react D3 👍                 the speaker reacts to D3's message
 *   > line                       say line; a test per line
 *   >* N line                    say line N times ({i} in it becomes
 *                                1..N); one test, the last reply counts
 *   < text                       the reply's plain body (several < lines
 *                                join with newlines); `<` alone = no reply
 *   <~ text                      the reply's plain body contains text
 *   <!~ text                     the plain body does not contain text
 *   <html~ text                  the HTML body contains text
 *   <!html~ text                 the HTML body does not contain text
 *   <ping @user ...              the reply pings exactly these users
 *   = T1 field=value ...         the stored record has these values
 *                                (field="a \"b\"" for spaces and quotes)
 *                                (text textlen status severity detail
 *                                author assignees tags due withdrawn
 *                                meeting superseded_by)
 *   =count todo 3                number of records of a kind (all rooms)
 *   =history T1 N                number of history entries of a record
 *
 * Reminders (remind.h), at the suite's clock:
 *   @conf remind.before=30m      also escalation.contacts=@a:x,@b:x,
 *                                escalation.levels=2, hours.window=sun-thu
 *                                09:00-18:00, hours.on_call=…, sla.critical=4h
 *   >tick                        fire what is due now: a test whose reply
 *                                is the messages posted (bodies joined by
 *                                "\n--\n", mentions together); `<` alone =
 *                                nothing fired
 *   <msgtype m.text              what the message is sent as
 *   =fire T1 due 2026-11-23T14:00:00Z   when T1's due (sla, remind)
 *                                reminder fires next; "none" = nothing
 *
 * Expectations apply to the last `>` line; a failing expectation fails
 * that line's test. Every reply is also checked, without being asked,
 * the way the homeserver would see it: the plain and HTML bodies
 * within their budget (REPLY_BODY_MAX, REPLY_HTML_MAX, counted as the
 * JSON jansson writes), the whole message content under the Matrix
 * layer's 40,000-byte limit, and the HTML well formed (every tag
 * scribe writes closed, in order; user text never makes a tag).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>

#include <jansson.h>

#include "config.h"
#include "engine.h"
#include "log.h"
#include "remind.h"
#include "store.h"
#include "store_remind.h"
#include "when.h"
#include "banned.h"

static int passed, failed;

struct suite {
	const char *file;
	struct store *st;
	struct config cfg;
	char room[256];
	char tz[64];
	char as[256];
	int64_t now;
	int evno;
	char *html;      /* formatted_body for the next line (@html) */
	/* the current line's test */
	int line_no;
	char said[512];
	struct reply out;
	int handled;
	int bad;         /* the current test already failed */
	char why[2048];
	struct sbuf want; /* accumulated `<` lines */
	int want_set;
	int ping_room;    /* >tick: a message for the whole room */
};

static void fail(struct suite *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct suite *s, const char *fmt, ...)
{
	va_list ap;
	if (s->bad)
		return;
	s->bad = 1;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* Bytes s takes as a JSON string, quotes not counted. */
static size_t json_size(const char *s)
{
	json_t *j = json_string(s);
	char *d = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	size_t n = d ? strlen(d) - 2 : (size_t)-1;

	free(d);
	json_decref(j);
	return n;
}

/* Bytes of the message content the bot would send for r, as a reply
 * in a thread (the longest form). */
static size_t content_size(const struct reply *r)
{
	json_t *users = json_array(), *c;
	char *d;
	size_t n;
	char ev[256];

	memset(ev, 'e', sizeof(ev) - 1);
	ev[0] = '$';
	ev[sizeof(ev) - 1] = '\0';
	for (size_t i = 0; i < r->nmentions; i++)
		json_array_append_new(users, json_string(r->mentions[i]));
	c = json_pack("{s:s, s:s, s:s, s:s, s:{s:o}, s:{s:s, s:s, s:b, s:{s:s}}}",
		      "msgtype", r->nmentions ? "m.text" : "m.notice",
		      "body", r->body.buf, "format", "org.matrix.custom.html",
		      "formatted_body", r->html.buf, "m.mentions", "user_ids", users,
		      "m.relates_to", "rel_type", "m.thread", "event_id", ev,
		      "is_falling_back", 1, "m.in_reply_to", "event_id", ev);
	d = c ? json_dumps(c, JSON_COMPACT) : NULL;
	n = d ? strlen(d) : (size_t)-1;
	free(d);
	json_decref(c);
	return n;
}

/* NULL if html is well formed as scribe writes it: only the tags
 * below, each closed in order (<br> alone); else what is wrong. */
static const char *html_problem(const char *html, char *why, size_t len)
{
	static const char *const tags[] = { "a", "b", "i", "p", "ul", "li",
					    "code", "pre", "br", NULL };
	const char *stack[64];
	int depth = 0;

	for (const char *p = html; (p = strchr(p, '<')) != NULL; p++) {
		int closing = p[1] == '/';
		const char *name = p + 1 + closing;
		size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz");
		const char *const *t = tags;

		while (*t && (strlen(*t) != n || strncmp(*t, name, n)))
			t++;
		if (!*t || !strchr(name + n, '>')) {
			snprintf(why, len, "unknown or open tag at \"%.20s\"", p);
			return why;
		}
		if (!strcmp(*t, "br"))
			continue;
		if (!closing) {
			if (depth == 64)
				return "tags nested too deep";
			stack[depth++] = *t;
		} else if (!depth || strcmp(stack[depth - 1], *t)) {
			snprintf(why, len, "</%s> closes <%s>", *t,
				 depth ? stack[depth - 1] : "nothing");
			return why;
		} else {
			depth--;
		}
	}
	if (depth) {
		snprintf(why, len, "<%s> is never closed", stack[depth - 1]);
		return why;
	}
	return NULL;
}

/* What every reply must be, whatever the test asks. */
static void check_reply(struct suite *s)
{
	size_t body = json_size(s->out.body.buf), html = json_size(s->out.html.buf);
	size_t content = content_size(&s->out);
	char why[128];
	const char *bad;

	if (body > REPLY_BODY_MAX)
		fail(s, "plain body is %zu bytes as JSON, over %d", body, REPLY_BODY_MAX);
	if (html > REPLY_HTML_MAX)
		fail(s, "HTML body is %zu bytes as JSON, over %d", html, REPLY_HTML_MAX);
	if (content > 40000)
		fail(s, "message content is %zu bytes as JSON, over 40000", content);
	bad = html_problem(s->out.html.buf, why, sizeof(why));
	if (bad)
		fail(s, "HTML body is not well formed: %s", bad);
}

/* Finish the current line's test: check `<` lines, print the verdict. */
static void finish(struct suite *s)
{
	if (!s->line_no)
		return;
	if (s->handled)
		check_reply(s);
	if (s->want_set) {
		const char *got = s->handled ? s->out.body.buf : "";
		if (strcmp(got, s->want.buf) != 0)
			fail(s, "reply\n  got:  \"%s\"\n  want: \"%s\"", got, s->want.buf);
	}
	if (s->bad) {
		printf("not ok - %s:%d %s: %s\n", s->file, s->line_no, s->said, s->why);
		failed++;
	} else {
		printf("ok - %s:%d %s\n", s->file, s->line_no, s->said);
		passed++;
	}
	s->line_no = 0;
	s->bad = 0;
	s->want_set = 0;
	sbuf_setlen(&s->want, 0);
	reply_clear(&s->out);
}

static int parse_utc(const char *s, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* Run one line through the engine into s->out. */
static void run(struct suite *s, const char *line)
{
	struct message m;
	char ev[64];
	sc_err err;

	snprintf(ev, sizeof(ev), "$test%d", ++s->evno);
	memset(&m, 0, sizeof(m));
	m.room_id = s->room;
	m.sender = s->as;
	m.event_id = ev;
	m.body = line;
	m.html = s->html;
	m.ts = s->now;
	reply_clear(&s->out);
	reply_init(&s->out);
	s->handled = 0;
	if (engine_room_ensure(s->st, s->room, s->now) != SC_OK) {
		fail(s, "cannot create room: %s", store_errmsg(s->st));
		return;
	}
	err = engine_message(s->st, &s->cfg, &m, s->now, &s->out, &s->handled);
	if (err)
		fail(s, "engine_message failed: %s (%s)", sc_strerror(err), store_errmsg(s->st));
	free(s->html);
	s->html = NULL;
}

/* Start the test of line_no (said is what it prints). */
static void start(struct suite *s, const char *said, int line_no)
{
	finish(s);
	s->line_no = line_no;
	snprintf(s->said, sizeof(s->said), "%.100s%s", said, strlen(said) > 100 ? "…" : "");
	for (char *p = s->said; *p; p++)
		if ((unsigned char)*p < 32)
			*p = '?';
}

static void say(struct suite *s, const char *line, int line_no)
{
	start(s, line, line_no);
	run(s, line);
}

/* Expand the escapes \n and \\ and the token {LONG:n:c} (n copies of c). */
static char *expand(const char *in)
{
	struct sbuf sb;
	sbuf_init(&sb, 1 << 20);
	while (*in) {
		if (in[0] == '\\' && in[1] == 'n') {
			sbuf_putc(&sb, '\n');
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'x' && isxdigit((unsigned char)in[2]) &&
			   isxdigit((unsigned char)in[3])) {
			char hex[3] = { in[2], in[3], 0 };
			sbuf_putc(&sb, (char)strtol(hex, NULL, 16));
			in += 4;
		} else if (!strncmp(in, "{LONG:", 6)) {
			char *end;
			long n = strtol(in + 6, &end, 10);
			char c = end[1];
			for (long i = 0; i < n; i++)
				sbuf_putc(&sb, c);
			in = strchr(end, '}') ? strchr(end, '}') + 1 : end + strlen(end);
		} else {
			sbuf_putc(&sb, *in++);
		}
	}
	return sbuf_detach(&sb, NULL);
}

static void check_record(struct suite *s, char *spec)
{
	enum rec_kind kind;
	int64_t num;
	struct record r;
	char *id = spec, *p;

	p = strchr(spec, ' ');
	if (p)
		*p++ = '\0';
	if (rec_id_parse(id, &kind, &num) != SC_OK) {
		fail(s, "bad id '%s' in test", id);
		return;
	}
	if (store_record_get(s->st, kind, num, &r) != SC_OK) {
		fail(s, "record %s not found", id);
		return;
	}
	while (p && *p) {
		char key[64], val[1024], got[4096];
		size_t k = 0, v = 0;
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		while (*p && *p != '=' && k < sizeof(key) - 1)
			key[k++] = *p++;
		key[k] = '\0';
		if (*p == '=')
			p++;
		if (*p == '"') {
			p++;
			while (*p && *p != '"' && v < sizeof(val) - 1) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++; /* \" is a quote inside the value */
				val[v++] = *p++;
			}
			if (*p)
				p++;
		} else {
			while (*p && *p != ' ' && v < sizeof(val) - 1)
				val[v++] = *p++;
		}
		val[v] = '\0';
		got[0] = '\0';
		if (!strcmp(key, "text"))
			snprintf(got, sizeof(got), "%s", r.text);
		else if (!strcmp(key, "textlen"))
			snprintf(got, sizeof(got), "%zu", strlen(r.text));
		else if (!strcmp(key, "status"))
			snprintf(got, sizeof(got), "%s", r.status);
		else if (!strcmp(key, "severity"))
			snprintf(got, sizeof(got), "%s", r.severity ? r.severity : "");
		else if (!strcmp(key, "detail"))
			snprintf(got, sizeof(got), "%s", r.detail ? r.detail : "");
		else if (!strcmp(key, "author"))
			snprintf(got, sizeof(got), "%s", r.author);
		else if (!strcmp(key, "room"))
			snprintf(got, sizeof(got), "%s", r.room_id);
		else if (!strcmp(key, "withdrawn"))
			snprintf(got, sizeof(got), "%d", r.withdrawn);
		else if (!strcmp(key, "votes"))
			snprintf(got, sizeof(got), "%d/%d/%d", r.votes_up, r.votes_down, r.votes_meh);
		else if (!strcmp(key, "due")) {
			if (r.due) {
				struct sbuf d;
				sbuf_init(&d, 0);
				when_format(r.due, "UTC", "%Y-%m-%dT%H:%M:%SZ", &d);
				snprintf(got, sizeof(got), "%s", d.buf);
				sbuf_release(&d);
			}
		} else if (!strcmp(key, "closed"))
			snprintf(got, sizeof(got), "%s", r.closed ? "yes" : "no");
		else if (!strcmp(key, "superseded_by") || !strcmp(key, "meeting")) {
			int64_t id2 = !strcmp(key, "meeting") ? r.meeting : r.superseded_by;
			struct record o;
			if (id2 && store_record_get_id(s->st, id2, &o) == SC_OK) {
				record_short_id(&o, got, sizeof(got));
				record_clear(&o);
			}
		} else if (!strcmp(key, "assignees") || !strcmp(key, "tags")) {
			char **v2 = key[0] == 'a' ? r.assignees : r.tags;
			size_t n = key[0] == 'a' ? r.nassignees : r.ntags;
			size_t off = 0;
			for (size_t i = 0; i < n && off < sizeof(got); i++)
				off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s",
							i ? "," : "", v2[i]);
		} else {
			fail(s, "unknown field '%s' in test", key);
			break;
		}
		if (strcmp(got, val) != 0) {
			fail(s, "%s %s\n  got:  \"%s\"\n  want: \"%s\"", id, key, got, val);
			break;
		}
	}
	record_clear(&r);
}

static int hist_count(const struct history_entry *h, void *ctx)
{
	(void)h;
	(*(int *)ctx)++;
	return 0;
}

/* ---- reminders ---- */

static void set_hours(struct daily_hours *h, const char *v)
{
	memset(h, 0, sizeof(*h));
	h->set = *v && when_parse_hours(v, &h->days, &h->start, &h->end) == SC_OK;
}

/* @conf of the reminder keys; the store's defaults follow. */
static int conf_remind(struct suite *s, const char *kv, const char *v)
{
	int64_t d = 0;

	if (!strcmp(kv, "remind.before"))
		s->cfg.remind_before = !strcmp(v, "off") ? -1 :
			when_parse_duration(v, &d) == SC_OK ? d : 0;
	else if (!strcmp(kv, "escalation.levels"))
		s->cfg.escalation_levels = atoi(v);
	else if (!strcmp(kv, "hours.window"))
		set_hours(&s->cfg.hours, v);
	else if (!strcmp(kv, "hours.on_call"))
		set_hours(&s->cfg.on_call, v);
	else if (!strncmp(kv, "sla.", 4) && when_parse_duration(v, &d) == SC_OK)
		*(!strcmp(kv + 4, "critical") ? &s->cfg.sla_critical :
		  !strcmp(kv + 4, "major") ? &s->cfg.sla_major :
		  &s->cfg.sla_minor) = d;
	else if (!strcmp(kv, "escalation.contacts")) {
		char *list = strdup(v), *save = NULL;
		size_t n = 0;

		if (s->cfg.escalation_contacts) {
			for (char **c = s->cfg.escalation_contacts; *c; c++)
				free(*c);
			free(s->cfg.escalation_contacts);
		}
		s->cfg.escalation_contacts = calloc(16, sizeof(char *));
		for (char *c = strtok_r(list, ",", &save); c && n < 15;
		     c = strtok_r(NULL, ",", &save))
			s->cfg.escalation_contacts[n++] = strdup(c);
		free(list);
	} else {
		return 0;
	}
	if (remind_setup(s->st, &s->cfg, s->now) != SC_OK)
		fail(s, "remind_setup: %s", store_errmsg(s->st));
	return 1;
}

static sc_err tick_post(const char *room, const char *txn, const struct reply *r,
			const struct remind_post *how, void *ctx)
{
	struct suite *s = ctx;

	(void)room;
	(void)txn;
	if (s->out.body.len) {
		sbuf_puts(&s->out.body, "\n--\n");
		sbuf_puts(&s->out.html, "<br>--<br>");
	}
	sbuf_puts(&s->out.body, r->body.buf);
	sbuf_puts(&s->out.html, r->html.buf);
	for (size_t i = 0; i < r->nmentions; i++)
		reply_mention(&s->out, r->mentions[i]);
	s->ping_room |= how->ping_room;
	return SC_OK;
}

/* The reminder directives; 0 when line is none of them. */
static int remind_directive(struct suite *s, char *line, int line_no)
{
	if (!strncmp(line, "@conf ", 6)) {
		char kv[128];
		const char *eq = strchr(line + 6, '=');

		if (!eq || (size_t)(eq - line - 6) >= sizeof(kv))
			return 0;
		memcpy(kv, line + 6, (size_t)(eq - line - 6));
		kv[eq - line - 6] = '\0';
		if (strncmp(kv, "remind.", 7) && strncmp(kv, "escalation.", 11) &&
		    strncmp(kv, "hours.", 6) && strncmp(kv, "sla.", 4))
			return 0;
		finish(s);
		return conf_remind(s, kv, eq + 1);
	}
	if (!strcmp(line, ">tick")) {
		int n = 0;
		sc_err err;

		start(s, "tick", line_no);
		reply_clear(&s->out);
		reply_init(&s->out);
		s->ping_room = 0;
		err = remind_run_due(s->st, &s->cfg, s->now, tick_post, s, &n);
		if (err)
			fail(s, "remind_run_due failed: %s (%s)", sc_strerror(err),
			     store_errmsg(s->st));
		s->handled = n > 0;
		return 1;
	}
	if (!strncmp(line, "<msgtype ", 9)) {
		const char *got = s->out.nmentions || s->ping_room ? "m.text" : "m.notice";

		if (strcmp(got, line + 9))
			fail(s, "sent as %s, want %s", got, line + 9);
		return 1;
	}
	if (!strncmp(line, "=fire ", 6)) {
		char id[32], what[16], when[64];
		enum rec_kind k;
		int64_t num, at = 0, want = 0;
		struct record r;
		sc_err err;

		if (sscanf(line + 6, "%31s %15s %63s", id, what, when) != 3 ||
		    rec_id_parse(id, &k, &num) || store_record_get(s->st, k, num, &r)) {
			fail(s, "bad =fire line or no such record");
			return 1;
		}
		err = store_remind_fire_of(s->st, r.id, !strcmp(what, "due") ? RW_DUE :
					   !strcmp(what, "sla") ? RW_SLA : RW_REMIND, &at);
		record_clear(&r);
		if (strcmp(when, "none") && parse_utc(when, &want))
			fail(s, "bad time in =fire");
		else if (err)
			fail(s, "=fire: %s", store_errmsg(s->st));
		else if (at != want) {
			struct sbuf g;
			sbuf_init(&g, 0);
			if (at)
				when_format(at, "UTC", "%Y-%m-%dT%H:%M:%SZ", &g);
			fail(s, "%s %s fires at %s, want %s", id, what, at ? g.buf : "none", when);
			sbuf_release(&g);
		}
		return 1;
	}
	return 0;
}

static void directive(struct suite *s, char *line, int line_no)
{
	if (remind_directive(s, line, line_no))
		return;
	if (!strncmp(line, "@now ", 5)) {
		finish(s);
		if (parse_utc(line + 5, &s->now))
			fprintf(stderr, "%s:%d: bad @now\n", s->file, line_no);
	} else if (!strncmp(line, "@advance ", 9)) {
		int64_t d;
		finish(s);
		if (when_parse_duration(line + 9, &d) == SC_OK)
			s->now += d;
	} else if (!strncmp(line, "@tz ", 4)) {
		struct room r;
		finish(s);
		snprintf(s->tz, sizeof(s->tz), "%s", line + 4);
		engine_room_ensure(s->st, s->room, s->now);
		if (store_room_get(s->st, s->room, &r) == SC_OK) {
			free(r.tz);
			r.tz = strdup(s->tz);
			store_room_put(s->st, &r);
			room_clear(&r);
		}
	} else if (!strncmp(line, "@room ", 6)) {
		finish(s);
		snprintf(s->room, sizeof(s->room), "%s", line + 6);
		engine_room_ensure(s->st, s->room, s->now);
	} else if (!strncmp(line, "@as ", 4)) {
		finish(s);
		snprintf(s->as, sizeof(s->as), "%s", line + 4);
	} else if (!strncmp(line, "@member ", 8)) {
		char uid[256], name[256] = "";
		int power = 0, n = 0;
		finish(s);
		engine_room_ensure(s->st, s->room, s->now);
		if (sscanf(line + 8, "%255s %d %n", uid, &power, &n) >= 2 && n)
			snprintf(name, sizeof(name), "%s", line + 8 + n);
		else
			sscanf(line + 8, "%255s", uid);
		store_member_put(s->st, s->room, uid, name[0] ? name : NULL, "join", power);
	} else if (!strncmp(line, "@html ", 6)) {
		finish(s);
		free(s->html);
		s->html = strdup(line + 6);
	} else if (!strncmp(line, "@react ", 7)) {
		char id[32], key[64], ev[64];
		enum rec_kind k;
		int64_t num;
		struct record r;
		finish(s);
		snprintf(ev, sizeof(ev), "$react%d", ++s->evno);
		if (sscanf(line + 7, "%31s %63s", id, key) != 2 || rec_id_parse(id, &k, &num) ||
		    store_record_get(s->st, k, num, &r)) {
			fprintf(stderr, "%s:%d: bad @react\n", s->file, line_no);
			return;
		}
		engine_reaction(s->st, s->room, r.event_id, key, s->as, ev);
		record_clear(&r);
	} else if (!strncmp(line, "@conf ", 6)) {
		char *kv = line + 6, *eq = strchr(kv, '=');
		finish(s);
		if (!eq)
			return;
		*eq++ = '\0';
		if (!strcmp(kv, "prefix")) {
			free(s->cfg.prefix);
			s->cfg.prefix = strdup(eq);
		} else if (!strcmp(kv, "freeze")) {
			s->cfg.freeze.set = when_parse_window(eq, &s->cfg.freeze.start,
							      &s->cfg.freeze.end) == SC_OK;
		} else if (!strcmp(kv, "privileged_power")) {
			s->cfg.privileged_power = atoi(eq);
		}
	} else if (!strncmp(line, ">* ", 3)) {
		char *end;
		long n = strtol(line + 3, &end, 10);
		int bad = 0;
		start(s, line + 3, line_no);
		for (long i = 1; i <= n && !bad; i++) {
			struct sbuf one;
			char num[24];
			char *said;
			snprintf(num, sizeof(num), "%ld", i);
			sbuf_init(&one, 0);
			for (const char *p = end + 1; *p; p++) {
				if (!strncmp(p, "{i}", 3)) {
					sbuf_puts(&one, num);
					p += 2;
				} else {
					sbuf_putc(&one, *p);
				}
			}
			said = expand(one.buf);
			run(s, said);
			/* each one is checked as if it were its own line */
			if (s->handled && !s->bad)
				check_reply(s);
			if (s->handled && s->out.failed)
				fail(s, "run %ld failed: %s", i, s->out.body.buf);
			bad = s->bad;
			free(said);
			sbuf_release(&one);
		}
	} else if (!strncmp(line, "> ", 2) || !strcmp(line, ">")) {
		char *said = expand(line[1] ? line + 2 : "");
		say(s, said, line_no);
		free(said);
	} else if (!strcmp(line, "<")) {
		s->want_set = 1;
	} else if (!strncmp(line, "< ", 2)) {
		char *w = expand(line + 2);
		if (s->want_set)
			sbuf_putc(&s->want, '\n');
		sbuf_puts(&s->want, w);
		free(w);
		s->want_set = 1;
	} else if (!strncmp(line, "<~ ", 3)) {
		char *w = expand(line + 3);
		if (!s->handled || !strstr(s->out.body.buf, w))
			fail(s, "reply does not contain \"%s\"\n  got: \"%s\"", w,
			     s->handled ? s->out.body.buf : "(no reply)");
		free(w);
	} else if (!strncmp(line, "<!~ ", 4)) {
		char *w = expand(line + 4);
		if (s->handled && strstr(s->out.body.buf, w))
			fail(s, "reply contains \"%.60s\"\n  got: \"%.2000s\"", w,
			     s->out.body.buf);
		free(w);
	} else if (!strncmp(line, "<html~ ", 7)) {
		if (!strstr(s->out.html.buf, line + 7))
			fail(s, "html does not contain \"%s\"\n  got: \"%s\"", line + 7, s->out.html.buf);
	} else if (!strncmp(line, "<!html~ ", 8)) {
		if (strstr(s->out.html.buf, line + 8))
			fail(s, "html contains \"%s\"\n  got: \"%s\"", line + 8, s->out.html.buf);
	} else if (!strncmp(line, "<ping", 5)) {
		char got[1024] = "";
		size_t off = 0;
		for (size_t i = 0; i < s->out.nmentions; i++)
			off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s",
						i ? " " : "", s->out.mentions[i]);
		if (strcmp(got, line[5] ? line + 6 : "") != 0)
			fail(s, "pings \"%s\", want \"%s\"", got, line[5] ? line + 6 : "");
	} else if (!strncmp(line, "=count ", 7)) {
		char kind[32];
		long long want = 0;
		int64_t got = -1;
		enum rec_kind k;
		struct rec_query q;
		memset(&q, 0, sizeof(q));
		if (sscanf(line + 7, "%31s %lld", kind, &want) != 2 ||
		    rec_kind_parse(kind, &k) != SC_OK) {
			fail(s, "bad =count line");
			return;
		}
		q.kinds = REC_BIT(k);
		q.include_withdrawn = 1;
		store_count(s->st, &q, &got);
		if (got != want)
			fail(s, "%s records: got %lld, want %lld", kind, (long long)got, want);
	} else if (!strncmp(line, "=history ", 9)) {
		char id[32];
		int want = 0, got = 0;
		enum rec_kind k;
		int64_t num;
		struct record r;
		if (sscanf(line + 9, "%31s %d", id, &want) != 2 || rec_id_parse(id, &k, &num) ||
		    store_record_get(s->st, k, num, &r)) {
			fail(s, "bad =history line or no such record");
			return;
		}
		store_history(s->st, r.id, hist_count, &got);
		record_clear(&r);
		if (got != want)
			fail(s, "%s history entries: got %d, want %d", id, got, want);
	} else if (line[0] == '=') {
		check_record(s, line + 2);
	} else {
		fprintf(stderr, "%s:%d: unknown directive: %s\n", s->file, line_no, line);
		fail(s, "unknown directive at line %d", line_no);
	}
}

static void run_file(const char *dir, const char *name)
{
	char path[1024];
	struct suite s;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int line_no = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f) {
		printf("not ok - %s: cannot open\n", path);
		failed++;
		return;
	}
	memset(&s, 0, sizeof(s));
	s.file = name;
	if (store_open(":memory:", &s.st) != SC_OK || config_defaults(&s.cfg) != SC_OK) {
		printf("not ok - %s: cannot open store\n", name);
		failed++;
		fclose(f);
		return;
	}
	sbuf_init(&s.want, 0);
	reply_init(&s.out);
	snprintf(s.room, sizeof(s.room), "!ops:example.org");
	snprintf(s.as, sizeof(s.as), "@alice:example.org");
	parse_utc("2026-11-23T15:00:00Z", &s.now);
	while ((n = getline(&line, &cap, f)) > 0) {
		line_no++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		directive(&s, line, line_no);
	}
	finish(&s);
	free(s.html);
	free(line);
	fclose(f);
	reply_clear(&s.out);
	sbuf_release(&s.want);
	config_free(&s.cfg);
	store_close(s.st);
}

/* ---- the reply buffer itself (cmd.h): a few direct checks ---- */

static void check(int ok, const char *name, const char *why)
{
	if (ok) {
		printf("ok - reply: %s\n", name);
		passed++;
	} else {
		printf("not ok - reply: %s: %s\n", name, why);
		failed++;
	}
}

static int ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);
	return n >= m && !strcmp(s + n - m, end);
}

static void reply_units(void)
{
	struct reply r;
	struct reply_mark m;
	struct reply_list l;
	char *t = malloc(40001);
	char uid[64];
	int ok;

	/* text past the budget is cut to fit, whole characters, "…" last */
	memset(t, '<', 40000);
	t[40000] = '\0';
	reply_init(&r);
	reply_text(&r, "Recorded ");
	reply_text(&r, t);
	reply_text(&r, " more");
	check(r.full && json_size(r.html.buf) <= REPLY_HTML_MAX &&
	      json_size(r.body.buf) <= REPLY_BODY_MAX &&
	      ends_with(r.body.buf, "<\xE2\x80\xA6") && ends_with(r.html.buf, "&lt;\xE2\x80\xA6") &&
	      !strstr(r.body.buf, "more"), "text cut to the HTML budget", r.body.buf + r.body.len - 20);
	reply_clear(&r);

	/* control characters count 6 bytes each as JSON */
	memset(t, '\x01', 40000);
	reply_init(&r);
	reply_text(&r, t);
	check(r.full && json_size(r.body.buf) <= REPLY_BODY_MAX &&
	      json_size(r.html.buf) <= REPLY_HTML_MAX, "control characters", "");
	reply_clear(&r);

	/* a snip stops at a character boundary */
	reply_init(&r);
	reply_snip(&r, "h\xC3\xA9llo w\xC3\xB6rld", 7);
	reply_snip(&r, " short", 7);
	check(!r.full && !strcmp(r.body.buf, "h\xC3\xA9llo w\xE2\x80\xA6 short"),
	      "snip at 7 characters", r.body.buf);
	reply_clear(&r);

	/* a link that does not fit is left out whole, never half a tag */
	memset(t, 'a', 40000);
	t[REPLY_BODY_MAX - 30] = '\0';
	reply_init(&r);
	reply_text(&r, t);
	reply_user(&r, "@someone.with.a.long.name:example.org");
	check(r.full && !strstr(r.html.buf, "<a") && ends_with(r.body.buf, "a\xE2\x80\xA6"),
	      "a link is whole or absent", r.html.buf + r.html.len - 20);
	reply_clear(&r);

	/* mark and rewind, reserve and release */
	reply_init(&r);
	reply_text(&r, "one");
	reply_mark(&r, &m);
	reply_text(&r, t);
	reply_text(&r, t);
	reply_rewind(&r, &m);
	ok = !r.full && !strcmp(r.body.buf, "one") && !strcmp(r.html.buf, "one");
	reply_reserve(&r, REPLY_BODY_MAX, REPLY_HTML_MAX);
	reply_text(&r, "two");
	ok = ok && r.full && !strcmp(r.body.buf, "one\xE2\x80\xA6");
	reply_release(&r, REPLY_BODY_MAX, REPLY_HTML_MAX);
	reply_text(&r, " three");
	check(ok && !r.full && !strcmp(r.body.buf, "one\xE2\x80\xA6 three"),
	      "mark, rewind, reserve, release", r.body.buf);
	reply_clear(&r);

	/* a list keeps whole lines and room for its ending */
	t[300] = '\0';
	reply_init(&r);
	reply_list_open(&l, &r, -1);
	while (reply_list_begin(&l)) {
		reply_nl(&r);
		reply_text(&r, t);
		reply_list_end(&l);
	}
	reply_list_close(&l);
	reply_textf(&r, "\n\xE2\x80\xA6 and %d more", 1000);
	check(!r.full && l.shown > 30 && json_size(r.body.buf) <= REPLY_BODY_MAX &&
	      ends_with(r.body.buf, "a\n\xE2\x80\xA6 and 1000 more"),
	      "list of whole lines and its ending", r.body.buf + r.body.len - 30);
	reply_clear(&r);

	/* pings stop at their budget */
	reply_init(&r);
	for (int i = 0; i < 500; i++) {
		snprintf(uid, sizeof(uid), "@user%03d:example.org", i);
		reply_mention(&r, uid);
	}
	check(r.nmentions > 50 && r.nmentions < 500 &&
	      r.mentions_cost <= REPLY_MENTIONS_MAX, "mentions budget", "");
	reply_clear(&r);
	free(t);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/cmd";
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[256];
	size_t n = 0;

	log_set_level(LOG_ERROR);
	if (!d) {
		printf("not ok - cannot open %s\n", dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL && n < 256) {
		size_t l = strlen(e->d_name);
		if (l > 4 && !strcmp(e->d_name + l - 4, ".txt"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	if (argc <= 2)
		reply_units();
	for (size_t i = 0; i < n; i++) {
		if (argc <= 2 || !strcmp(names[i], argv[2]))
			run_file(dir, names[i]);
		free(names[i]);
	}
	return failed ? 1 : 0;
}
