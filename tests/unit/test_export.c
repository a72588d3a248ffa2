/* SPDX-License-Identifier: MIT */
/*
 * test_export.c - the pieces of `scribe export|import` (export.h,
 * store_admin.h): RFC 4180 fields and no spreadsheet formula in them,
 * file-name slugs, ISO-8601 times, the JSON line writer (read back by
 * jansson, byte for byte what it wrote), the import parser's refusals,
 * a store-to-store round trip with history, votes, notes, attendees and
 * references through store_export/store_import_record, and export_run
 * in every format on stores with no open item (under the sanitizers of
 * make check).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "export.h"
#include "harness.h"
#include "sbuf.h"
#include "store.h"
#include "store_admin.h"
#include "banned.h"

static const char *csv(const char *s)
{
	static struct sbuf sb;

	sbuf_release(&sb);
	sbuf_init(&sb, 0);
	CHECK_OK(csv_field(&sb, s));
	return sb.buf;
}

static void test_csv_quoting(void)
{
	CHECK_STR(csv("plain"), "plain");
	CHECK_STR(csv(NULL), "");
	CHECK_STR(csv("a,b"), "\"a,b\"");
	CHECK_STR(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
	CHECK_STR(csv("two\nlines"), "\"two\nlines\"");
	CHECK_STR(csv("cr\r\nlf"), "\"cr\r\nlf\"");
	CHECK_STR(csv(" padded"), "\" padded\"");
	CHECK_STR(csv("ünïcode ✓"), "ünïcode ✓");
}

/* OWASP's CSV injection advice: a cell a spreadsheet would run as a
 * formula starts with a "'"; user ids are left alone. */
static void test_csv_formulas_neutralised(void)
{
	CHECK_STR(csv("=1+1"), "'=1+1");
	CHECK_STR(csv("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
	CHECK_STR(csv("+1"), "'+1");
	CHECK_STR(csv("-1"), "'-1");
	CHECK_STR(csv("@SUM(1+1)"), "'@SUM(1+1)");
	CHECK_STR(csv("\t=1"), "'\t=1");
	CHECK_STR(csv("\r=1"), "\"'\r=1\"");
	CHECK_STR(csv("=HYPERLINK(\"http://x\",\"y\")"),
		  "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
	CHECK_STR(csv("  =1"), "\"'  =1\"");
	CHECK_STR(csv("a=1"), "a=1");
	CHECK_STR(csv("@bob:example.org"), "@bob:example.org");
	CHECK_STR(csv("@alice:example.org @bob:example.org:8448"),
		  "@alice:example.org @bob:example.org:8448");
	/* a historical user id may hold a formula */
	CHECK_STR(csv("@=cmd|'/C calc'!A0:evil.org"),
		  "'@=cmd|'/C calc'!A0:evil.org");
	CHECK_STR(csv("@bob:example.org @SUM(1):x"),
		  "'@bob:example.org @SUM(1):x");
	CHECK_STR(csv("@bob"), "'@bob");
}

static const char *slug(const char *s, size_t max)
{
	static struct sbuf sb;

	sbuf_release(&sb);
	sbuf_init(&sb, 0);
	CHECK_OK(export_slug(&sb, s, max));
	return sb.buf;
}

static void test_slug(void)
{
	CHECK_STR(slug("Use Linear for tracking", 50), "use-linear-for-tracking");
	CHECK_STR(slug("  --Hello,   World!! ", 50), "hello-world");
	CHECK_STR(slug("!ops:example.org", 50), "ops-example-org");
	CHECK_STR(slug("✓✓✓", 50), "untitled");
	CHECK_STR(slug("nginx 1.25 upgrade", 50), "nginx-1-25-upgrade");
	/* cut at a word boundary */
	CHECK_STR(slug("alpha beta gamma delta", 12), "alpha-beta");
	CHECK_STR(slug("abcdefghijklmnop", 8), "abcdefgh");
}

static void test_iso_times(void)
{
	struct sbuf sb;
	int64_t t = 0;

	sbuf_init(&sb, 0);
	CHECK_OK(iso_utc(&sb, 1795446000));
	CHECK_STR(sb.buf, "2026-11-23T15:00:00Z");
	CHECK_OK(iso_utc_parse(sb.buf, &t));
	CHECK_INT(t, 1795446000);
	CHECK_INT(iso_utc_parse("2026-02-30T00:00:00Z", &t), SC_EINVAL);
	CHECK_INT(iso_utc_parse("2026-11-23 15:00:00", &t), SC_EINVAL);
	CHECK_INT(iso_utc_parse("2026-11-23T15:00:00+01:00", &t), SC_EINVAL);
	sbuf_release(&sb);
}

static void mk(struct record *r, enum rec_kind kind, const char *text,
	       const char *status, int64_t created, const char *event)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	CHECK_OK(record_set(&r->room_id, "!ops:example.org"));
	CHECK_OK(record_set(&r->author, "@alice:example.org"));
	CHECK_OK(record_set(&r->event_id, event));
	CHECK_OK(record_set(&r->text, text));
	CHECK_OK(record_set(&r->status, status));
	r->created = r->updated = created;
}

/* A store with a bit of everything; the text of T1 is nasty. */
static struct store *filled(void)
{
	struct store *st = NULL;
	struct record m, t, d1, d2;

	CHECK_OK(store_open(":memory:", &st));
	mk(&m, REC_MEETING, "weekly sync", "running", 1000, "$m");
	CHECK_OK(store_record_add(st, &m));
	CHECK_OK(store_note_add(st, m.id, 1010, "@alice:example.org", "topic",
				"tracker"));
	CHECK_OK(store_note_add(st, m.id, 1020, "@bob:example.org", "info",
				"tab\there"));
	CHECK_OK(store_attendee_add(st, m.id, "@alice:example.org"));
	CHECK_OK(store_attendee_add(st, m.id, "@bob:example.org"));
	mk(&t, REC_TODO, "quote \" backslash \\ nl\n ctl\x01 ünï ✓", "open",
	   1030, "$t");
	t.meeting = m.id;
	t.due = 99999;
	CHECK_OK(record_set(&t.severity, "critical"));
	CHECK_OK(record_add_assignee(&t, "@bob:example.org"));
	CHECK_OK(record_add_tag(&t, "infra"));
	CHECK_OK(store_record_add(st, &t));
	CHECK_OK(record_set(&t.status, "done"));
	t.closed = 2000;
	CHECK_OK(store_record_update(st, &t, "@bob:example.org", 2000, "$done"));
	mk(&d1, REC_DECISION, "use linear", "proposed", 1040, NULL);
	CHECK_OK(record_set(&d1.detail, "it is fast"));
	CHECK_OK(store_record_add(st, &d1));
	CHECK_OK(store_vote_add(st, d1.id, "@bob:example.org", "up", "$v1"));
	CHECK_OK(store_vote_add(st, d1.id, "@carol:example.org", "meh", NULL));
	mk(&d2, REC_DECISION, "use jira", "accepted", 1050, "$d2");
	CHECK_OK(store_record_add(st, &d2));
	CHECK_OK(record_set(&d1.status, "superseded"));
	d1.superseded_by = d2.id;
	CHECK_OK(store_record_update(st, &d1, "@alice:example.org", 1060, NULL));
	m.closed = 3000;
	CHECK_OK(record_set(&m.status, "ended"));
	CHECK_OK(store_record_update(st, &m, "@alice:example.org", 3000, NULL));
	record_clear(&m);
	record_clear(&t);
	record_clear(&d1);
	record_clear(&d2);
	return st;
}

static int to_lines(const struct rec_full *f, void *ctx)
{
	return export_json_line(f, ctx) != SC_OK;
}

static char *export_all(struct store *st)
{
	struct rec_query q;
	struct sbuf sb;

	memset(&q, 0, sizeof(q));
	q.include_withdrawn = 1;
	sbuf_init(&sb, 0);
	CHECK_OK(store_export(st, &q, 1, to_lines, &sb));
	return sbuf_detach(&sb, NULL);
}

static void test_json_line_reads_back(void)
{
	struct store *st = filled();
	char *all = export_all(st), *nl;
	json_error_t jerr;
	json_t *o;
	char *again;

	/* T1 is the second line */
	nl = strchr(all, '\n');
	CHECK(nl != NULL);
	o = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &jerr);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "id")), "T1");
	CHECK_STR(json_string_value(json_object_get(o, "text")),
		  "quote \" backslash \\ nl\n ctl\x01 ünï ✓");
	CHECK_STR(json_string_value(json_object_get(o, "meeting")), "M1");
	CHECK_STR(json_string_value(json_object_get(o, "closed")),
		  "1970-01-01T00:33:20Z");
	CHECK_INT(json_array_size(json_object_get(o, "history")), 3);
	/* jansson writes the same bytes for what it read */
	again = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK(again != NULL);
	CHECK(!strncmp(again, nl + 1, strlen(again)));
	CHECK_CONTAINS(nl + 1, "ctl\\u0001");
	free(again);
	json_decref(o);
	free(all);
	store_close(st);
}

static void test_round_trip_through_import(void)
{
	struct store *a = filled(), *b = NULL;
	char *one = export_all(a), *two, *line, *save = NULL;
	struct sbuf why;
	int n = 0;

	sbuf_init(&why, 0);
	CHECK_OK(store_open(":memory:", &b));
	CHECK_OK(store_import_begin(b));
	for (line = strtok_r(one, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct rec_parsed p;
		CHECK_OK(import_json_line(line, &p, &why));
		CHECK_OK(store_import_record(b, &p.f));
		rec_parsed_clear(&p);
		n++;
	}
	CHECK_OK(store_import_end(b, 1));
	CHECK_INT(n, 4);
	free(one);
	one = export_all(a);
	two = export_all(b);
	CHECK_STR(two, one);
	free(one);
	free(two);
	sbuf_release(&why);
	store_close(a);
	store_close(b);
}

/* A store of records given as JSON lines. */
static struct store *store_of(const char *const *lines)
{
	struct store *st = NULL;
	struct sbuf why;

	sbuf_init(&why, 0);
	CHECK_OK(store_open(":memory:", &st));
	CHECK_OK(store_import_begin(st));
	for (; *lines; lines++) {
		struct rec_parsed p;
		CHECK_OK(import_json_line(*lines, &p, &why));
		CHECK_OK(store_import_record(st, &p.f));
		rec_parsed_clear(&p);
	}
	CHECK_OK(store_import_end(st, 1));
	sbuf_release(&why);
	return st;
}

/* The whole of file path (caller frees), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct sbuf sb;
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	sbuf_init(&sb, 0);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		CHECK_OK(sbuf_add(&sb, buf, n));
	fclose(f);
	return sbuf_detach(&sb, NULL);
}

/* Number of files in dir whose name holds ".tmp". */
static int temporaries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".tmp") != NULL;
	closedir(d);
	return n;
}

#define R(id, extra)                                                       \
	"{\"id\":\"" id "\",\"room_id\":\"!ops:example.org\",\"author\":"   \
	"\"@alice:example.org\",\"created\":\"2026-11-02T09:00:00Z\"," extra "}"

/*
 * Every format on stores where no room has an assigned open todo: a
 * room with a decision and a change, one with only done and dropped
 * todos, and an empty store. Under UBSan (make check) the md page of
 * such a room passed qsort a null pointer.
 */
static void test_every_format_without_open_items(void)
{
	static const char *const no_todos[] = {
		R("D1", "\"text\":\"use linear\""),
		R("C1", "\"text\":\"nginx upgraded\""), NULL
	};
	static const char *const closed[] = {
		R("T1", "\"text\":\"fix it\",\"status\":\"done\","
			"\"assignees\":[\"@bob:example.org\"]"),
		R("T2", "\"text\":\"doc\",\"status\":\"dropped\","
			"\"assignees\":[\"@bob:example.org\"]"), NULL
	};
	static const char *const empty[] = { NULL };
	static const char *const *stores[] = { no_todos, closed, empty };
	static const enum export_format fmts[] = { FMT_JSON, FMT_CSV, FMT_MD,
						   FMT_ADR, FMT_MINUTES };
	char out[1024], dir[512];

	for (size_t s = 0; s < 3; s++) {
		struct store *st = store_of(stores[s]);

		for (size_t f = 0; f < 5; f++) {
			struct export_opts o;
			char *why = NULL, *page;

			snprintf(dir, sizeof(dir), "%s/open-%zu-%zu",
				 th_tmpdir(), s, f);
			CHECK_OK(mkdir(dir, 0700));
			snprintf(out, sizeof(out), "%s%s", dir,
				 fmts[f] == FMT_JSON ? "/all.jsonl" : "/out");
			memset(&o, 0, sizeof(o));
			o.format = fmts[f];
			o.out = out;
			o.tz = "UTC";
			CHECK_OK(export_run(st, &o, &why));
			CHECK(why == NULL);
			snprintf(out, sizeof(out), "%s/out", dir);
			CHECK_INT(temporaries(dir) + temporaries(out), 0);
			if (fmts[f] != FMT_MD)
				continue;
			snprintf(out, sizeof(out), "%s/out/ops-example-org.md",
				 dir);
			page = slurp(out);
			CHECK(s == 2 ? page == NULL : page != NULL);
			if (page)
				CHECK_CONTAINS(page, "## Open action items\n\n"
						     "No open action items.\n");
			free(page);
		}
		store_close(st);
	}
}

static void test_import_refuses(void)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "[1]", "not a JSON object" },
		{ "{\"id\":\"T1\"}", "'room_id' is missing" },
		{ "{\"id\":\"Q1\",\"room_id\":\"!r\",\"author\":\"@a\",\"text\":\"x\","
		  "\"created\":1}", "'id' Q1 is not a record id" },
		{ "{\"id\":\"T1\",\"kind\":\"decision\",\"room_id\":\"!r\","
		  "\"author\":\"@a\",\"text\":\"x\",\"created\":1}",
		  "does not match kind decision" },
		{ "{\"id\":\"T1\",\"room_id\":\"!r\",\"author\":\"@a\",\"text\":\"x\","
		  "\"created\":\"yesterday\"}", "'created' must be a time" },
		{ "{\"id\":\"T1\",\"room_id\":\"!r\",\"author\":\"@a\",\"text\":\"x\","
		  "\"created\":1,\"due\":99999999999999}", "'due' must be a time" },
		{ "{\"id\":\"T1\",\"id\":\"T2\"}", "not JSON" },
	};
	struct sbuf why;

	sbuf_init(&why, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec_parsed p;
		sbuf_setlen(&why, 0);
		CHECK_INT(import_json_line(bad[i].line, &p, &why), SC_EINVAL);
		CHECK_CONTAINS(why.buf, bad[i].why);
	}
	sbuf_release(&why);
}

static void test_import_conflicts_roll_back(void)
{
	struct store *a = filled();
	char *all = export_all(a), *save = NULL;
	char *first = strtok_r(all, "\n", &save);
	struct rec_parsed p;
	struct sbuf why;
	int64_t n = 0;
	struct rec_query q;

	sbuf_init(&why, 0);
	CHECK_OK(import_json_line(first, &p, &why));
	CHECK_OK(store_import_begin(a));
	CHECK_INT(store_import_record(a, &p.f), SC_EEXISTS);
	CHECK_CONTAINS(store_errmsg(a), "record M1 already exists");
	CHECK_OK(store_import_end(a, 0));
	memset(&q, 0, sizeof(q));
	CHECK_OK(store_count(a, &q, &n));
	CHECK_INT(n, 4);
	rec_parsed_clear(&p);
	/* a reference to a record that is nowhere */
	CHECK_OK(store_import_begin(a));
	CHECK_OK(import_json_line("{\"id\":\"T9\",\"room_id\":\"!r\",\"author\":"
				  "\"@a\",\"text\":\"x\",\"created\":1,"
				  "\"meeting\":\"M7\"}", &p, &why));
	CHECK_OK(store_import_record(a, &p.f));
	rec_parsed_clear(&p);
	CHECK_INT(store_import_end(a, 1), SC_EINVAL);
	CHECK_CONTAINS(store_errmsg(a), "meeting 'M7' is neither");
	CHECK_OK(store_count(a, &q, &n));
	CHECK_INT(n, 4);
	free(all);
	sbuf_release(&why);
	store_close(a);
}

TESTS(TEST(test_csv_quoting), TEST(test_csv_formulas_neutralised),
      TEST(test_slug), TEST(test_every_format_without_open_items),
      TEST(test_iso_times),
      TEST(test_json_line_reads_back), TEST(test_round_trip_through_import),
      TEST(test_import_refuses), TEST(test_import_conflicts_roll_back))
