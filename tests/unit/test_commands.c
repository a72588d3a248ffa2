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
 *   > line                       say line; a test per line
 *   < text                       the reply's plain body (several < lines
 *                                join with newlines); `<` alone = no reply
 *   <~ text                      the reply's plain body contains text
 *   <html~ text                  the HTML body contains text
 *   <!html~ text                 the HTML body does not contain text
 *   <ping @user ...              the reply pings exactly these users
 *   = T1 field=value ...         the stored record has these values
 *                                (text status severity detail author
 *                                assignees tags due withdrawn meeting
 *                                superseded_by)
 *   =count todo 3                number of records of a kind (all rooms)
 *   =history T1 N                number of history entries of a record
 *
 * Expectations apply to the last `>` line; a failing expectation fails
 * that line's test.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>

#include "config.h"
#include "engine.h"
#include "log.h"
#include "store.h"
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
	/* the current line's test */
	int line_no;
	char said[512];
	struct reply out;
	int handled;
	int bad;         /* the current test already failed */
	char why[2048];
	struct sbuf want; /* accumulated `<` lines */
	int want_set;
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

/* Finish the current line's test: check `<` lines, print the verdict. */
static void finish(struct suite *s)
{
	if (!s->line_no)
		return;
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

static void say(struct suite *s, const char *line, int line_no)
{
	struct message m;
	char ev[64];
	sc_err err;

	finish(s);
	s->line_no = line_no;
	snprintf(s->said, sizeof(s->said), "%.100s%s", line, strlen(line) > 100 ? "…" : "");
	for (char *p = s->said; *p; p++)
		if ((unsigned char)*p < 32)
			*p = '?';
	snprintf(ev, sizeof(ev), "$test%d", ++s->evno);
	memset(&m, 0, sizeof(m));
	m.room_id = s->room;
	m.sender = s->as;
	m.event_id = ev;
	m.body = line;
	m.ts = s->now;
	reply_init(&s->out);
	if (engine_room_ensure(s->st, s->room, s->now) != SC_OK) {
		fail(s, "cannot create room: %s", store_errmsg(s->st));
		return;
	}
	err = engine_message(s->st, &s->cfg, &m, s->now, &s->out, &s->handled);
	if (err)
		fail(s, "engine_message failed: %s (%s)", sc_strerror(err), store_errmsg(s->st));
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
			while (*p && *p != '"' && v < sizeof(val) - 1)
				val[v++] = *p++;
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

static void directive(struct suite *s, char *line, int line_no)
{
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
	free(line);
	fclose(f);
	reply_clear(&s.out);
	sbuf_release(&s.want);
	config_free(&s.cfg);
	store_close(s.st);
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
	for (size_t i = 0; i < n; i++) {
		if (argc <= 2 || !strcmp(names[i], argv[2]))
			run_file(dir, names[i]);
		free(names[i]);
	}
	return failed ? 1 : 0;
}
