/* SPDX-License-Identifier: MIT */
/*
 * test_html.c - the pieces of the HTML export (export_html.h,
 * html_chart.h, html_files.h): escaping for text and attributes alike,
 * matrix.to links whose ids cannot leave the URL, target file names
 * that never collide, charts that are the same bytes for the same
 * numbers, and export_run into a folder for a small store (the pages,
 * their bytes again, a page left alone, a file where a folder goes) and
 * stores with nothing open or nothing at all, under the sanitizers of
 * make check. tests/admin/test_html.py checks the site as a reader.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export.h"
#include "export_html.h"
#include "harness.h"
#include "html_chart.h"
#include "html_files.h"
#include "sbuf.h"
#include "store.h"
#include "store_admin.h"
#include "banned.h"

static const char *esc(const char *s)
{
	static struct sbuf sb;

	sbuf_release(&sb);
	sbuf_init(&sb, 0);
	CHECK_OK(html_esc(&sb, s));
	return sb.buf;
}

static void test_escape(void)
{
	CHECK_STR(esc("plain text ✓"), "plain text ✓");
	CHECK_STR(esc("<script>alert(1)</script>"),
		  "&lt;script&gt;alert(1)&lt;/script&gt;");
	CHECK_STR(esc("\"><img src=x onerror=alert(1)>"),
		  "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
	CHECK_STR(esc("a & b 'q'"), "a &amp; b &#39;q&#39;");
	CHECK_STR(esc(""), "");
	/* each special byte at each place of a long string (the escaper
	 * looks at 8 bytes at a time), and its neighbours left alone */
	for (int pos = 0; pos < 20; pos++) {
		static const char special[] = "&<>\"'%=;?@[]^`|~{}!#$()*+,-./:";
		static const char *const ent[] = { "&amp;", "&lt;", "&gt;",
						   "&quot;", "&#39;" };

		for (size_t c = 0; c < sizeof(special) - 1; c++) {
			char in[24], want[40];

			memset(in, 'x', 19);
			in[19] = '\0';
			in[pos % 19] = special[c];
			snprintf(want, sizeof(want), "%.*s%s%s", pos % 19, in,
				 c < 5 ? ent[c] : (char[]){ special[c], 0 },
				 in + pos % 19 + 1);
			CHECK_STR(esc(in), want);
		}
	}
}

static const char *mto(const char *room, const char *ev)
{
	static struct sbuf sb;

	sbuf_release(&sb);
	sbuf_init(&sb, 0);
	CHECK_OK(html_matrix_to(&sb, room, ev));
	return sb.buf;
}

static void test_matrix_to(void)
{
	CHECK_STR(mto("!ops:example.org", "$abc-123_x.y~z"),
		  "https://matrix.to/#/%21ops%3Aexample.org/%24abc-123_x.y~z");
	/* nothing an id holds can end the attribute or add a scheme */
	CHECK_STR(mto("!a\"><b:x", "$e\" onclick=\"x"),
		  "https://matrix.to/#/%21a%22%3E%3Cb%3Ax/"
		  "%24e%22%20onclick%3D%22x");
	CHECK_STR(mto("!x/../y?z#w:s", "$ü"),
		  "https://matrix.to/#/%21x%2F..%2Fy%3Fz%23w%3As/%24%C3%BC");
}

static const char *tslug(const char *tag)
{
	static struct sbuf sb;

	sbuf_release(&sb);
	sbuf_init(&sb, 0);
	CHECK_OK(html_target_slug(&sb, tag));
	return sb.buf;
}

static void test_target_slug(void)
{
	char longtag[300];

	CHECK_STR(tslug("web1"), "web1");
	CHECK_STR(tslug("db-2"), "db-2");
	/* one name per tag: web.1, web_1 and web-1 differ */
	CHECK_STR(tslug("web.1"), "web_2e1");
	CHECK_STR(tslug("web_1"), "web_5f1");
	CHECK_STR(tslug("../../etc"), "_2e_2e_2f_2e_2e_2fetc");
	CHECK_STR(tslug("ü"), "_c3_bc");
	memset(longtag, 'a', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	CHECK_INT(strlen(tslug(longtag)), 60 + 17);
	CHECK(strncmp(tslug(longtag), longtag, 60) == 0);
	longtag[10] = 'b'; /* another long tag: another name */
	{
		char first[128];
		snprintf(first, sizeof(first), "%s", tslug(longtag));
		longtag[10] = 'a';
		CHECK(strcmp(first, tslug(longtag)) != 0);
	}
}

static void test_charts(void)
{
	struct chart_point p[3] = { { 0, "w1" }, { 5, "w2<" }, { 2, "w3" } };
	struct chart_point l[3] = { { -1, "m1" }, { 3, "m2" }, { 1, "m3" } };
	struct sbuf a, b;

	sbuf_init(&a, 0);
	sbuf_init(&b, 0);
	CHECK_OK(chart_line(&a, "Open <items>", p, 3, "2026-11-02", "2026-11-16"));
	CHECK_OK(chart_line(&b, "Open <items>", p, 3, "2026-11-02", "2026-11-16"));
	CHECK_STR(a.buf, b.buf); /* same numbers, same bytes */
	CHECK(!strncmp(a.buf, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
	CHECK_CONTAINS(a.buf, "<title>Open &lt;items&gt;</title>");
	CHECK_CONTAINS(a.buf, "<title>w2&lt;: 5</title>");
	CHECK_CONTAINS(a.buf, "points=\"44,144 318,24 592,96\"");
	CHECK(strstr(a.buf, "style=") == NULL);
	CHECK(!strcmp(a.buf + a.len - 6, "</svg>"));
	sbuf_setlen(&a, 0);
	CHECK_OK(chart_bars(&a, "Incidents", p, l, "MTTR, h", 3, "a", "b"));
	CHECK_CONTAINS(a.buf, "class=\"c-bar\"");
	/* no dot for a month without a value */
	CHECK_CONTAINS(a.buf, "<title>m2: 3</title>");
	CHECK(strstr(a.buf, "<title>m1") == NULL);
	sbuf_setlen(&a, 0);
	CHECK_OK(chart_tally(&a, 2, 1, 1, 1));
	CHECK_CONTAINS(a.buf, "<title>Check-in: 2 👍, 1 👎, 1 🤷</title>");
	CHECK_CONTAINS(a.buf, "class=\"c-up\" x=\"0\" y=\"0\" width=\"60\"");
	CHECK_CONTAINS(a.buf, "class=\"c-meh\" x=\"90\" y=\"0\" width=\"30\"");
	sbuf_setlen(&a, 0);
	CHECK_OK(chart_tally(&a, 0, 0, 0, 0)); /* no vote: an empty bar */
	CHECK_CONTAINS(a.buf, "aria-hidden=\"true\"><rect class=\"c-none\"");
	sbuf_release(&a);
	sbuf_release(&b);
}

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

static void test_files_left_alone_when_same(void)
{
	char dir[512], path[600], *got;
	struct hfiles *f;
	struct stat a, b;
	struct sbuf *sb;

	snprintf(dir, sizeof(dir), "%s/files", th_tmpdir());
	CHECK_OK(mkdir(dir, 0700));
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK_OK(mkdir(path, 0700));
	CHECK_OK(hfiles_open(dir, &f));
	CHECK_OK(hfiles_put(f, "sub/a.html", "one", 3));
	CHECK_OK(hfiles_begin(f, "b.html", &sb));
	CHECK_OK(sbuf_puts(sb, "dropped"));
	CHECK_INT(hfiles_end(f, SC_EINVAL), SC_EINVAL);
	CHECK_OK(hfiles_begin(f, "b.html", &sb));
	CHECK_OK(sbuf_puts(sb, "two"));
	CHECK_OK(hfiles_end(f, SC_OK));
	CHECK_OK(hfiles_close(f, NULL));
	snprintf(path, sizeof(path), "%s/b.html", dir);
	got = slurp(path);
	CHECK_STR(got, "two");
	free(got);
	CHECK_OK(stat(path, &a));
	/* the same bytes: not written again; other bytes: replaced */
	CHECK_OK(hfiles_open(dir, &f));
	CHECK_OK(hfiles_put(f, "b.html", "two", 3));
	CHECK_OK(hfiles_put(f, "sub/a.html", "uno", 3));
	CHECK_OK(hfiles_close(f, NULL));
	CHECK_OK(stat(path, &b));
	CHECK_INT(b.st_ino, a.st_ino);
	CHECK_INT(b.st_mtim.tv_nsec, a.st_mtim.tv_nsec);
	snprintf(path, sizeof(path), "%s/sub/a.html", dir);
	got = slurp(path);
	CHECK_STR(got, "uno");
	free(got);
	/* a folder where a file goes: the error names it */
	snprintf(path, sizeof(path), "%s/c.html", dir);
	CHECK_OK(mkdir(path, 0700));
	CHECK_OK(hfiles_open(dir, &f));
	CHECK_OK(hfiles_put(f, "c.html", "x", 1));
	{
		char *failed = NULL;
		CHECK_INT(hfiles_close(f, &failed), SC_EIO);
		CHECK_INT(errno, EEXIST);
		CHECK_STR(failed, "c.html");
		free(failed);
	}
}

/* Pages bigger than a batch (a room's month, its open items) go alone
 * and the queue holds a few megabytes, not a few batches of any size:
 * many of them, between small ones, all arrive whole. */
static void test_big_pages_all_written(void)
{
	const size_t big = 3 * HFILES_BATCH_BYTES + 17;
	char dir[512], name[64], path[700], *page = malloc(big), *got;
	struct hfiles *f;
	struct stat st;

	CHECK(page != NULL);
	snprintf(dir, sizeof(dir), "%s/big", th_tmpdir());
	CHECK_OK(mkdir(dir, 0700));
	CHECK_OK(hfiles_open(dir, &f));
	for (int i = 0; i < 24; i++) {
		memset(page, 'a' + i, big);
		snprintf(name, sizeof(name), "big%d.html", i);
		CHECK_OK(hfiles_put(f, name, page, big - (size_t)i));
		snprintf(name, sizeof(name), "small%d.html", i);
		CHECK_OK(hfiles_put(f, name, name, strlen(name)));
	}
	CHECK_OK(hfiles_close(f, NULL));
	for (int i = 0; i < 24; i++) {
		snprintf(path, sizeof(path), "%s/big%d.html", dir, i);
		CHECK_OK(stat(path, &st));
		CHECK_INT(st.st_size, (long long)(big - (size_t)i));
		got = slurp(path);
		CHECK(got[0] == 'a' + i && got[big - (size_t)i - 1] == 'a' + i);
		free(got);
		snprintf(path, sizeof(path), "%s/small%d.html", dir, i);
		got = slurp(path);
		snprintf(name, sizeof(name), "small%d.html", i);
		CHECK_STR(got, name);
		free(got);
	}
	free(page);
}

#define R(id, extra)                                                       \
	"{\"id\":\"" id "\",\"room_id\":\"!ops:example.org\",\"author\":"   \
	"\"@alice:example.org\",\"created\":\"2026-11-02T09:00:00Z\"," extra "}"

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

static sc_err site(struct store *st, const char *out, char **why)
{
	struct export_opts o;

	memset(&o, 0, sizeof(o));
	o.format = FMT_HTML;
	o.out = out;
	o.tz = "UTC";
	return export_run(st, &o, why);
}

static void test_site_of_a_small_store(void)
{
	static const char *const lines[] = {
		R("T1", "\"text\":\"fix <it>\",\"assignees\":[\"@bob:example.org\"],"
			"\"due\":\"2026-11-01T00:00:00Z\",\"event_id\":\"$t1\""),
		R("D1", "\"text\":\"use linear\",\"status\":\"superseded\","
			"\"superseded_by\":\"D2\""),
		R("D2", "\"text\":\"use jira\""),
		R("C1", "\"text\":\"nginx\",\"tags\":[\"web1\"]"),
		R("I1", "\"text\":\"down\",\"status\":\"resolved\","
			"\"closed\":\"2026-11-02T10:00:00Z\""),
		NULL
	};
	struct store *st = store_of(lines);
	char out[512], path[700], *why = NULL, *page, *again;
	struct stat a, b;

	snprintf(out, sizeof(out), "%s/site", th_tmpdir());
	CHECK_OK(site(st, out, &why));
	CHECK(why == NULL);
	snprintf(path, sizeof(path), "%s/rooms/ops-example-org/index.html", out);
	page = slurp(path);
	CHECK(page != NULL);
	CHECK_CONTAINS(page, "fix &lt;it&gt;");
	CHECK_CONTAINS(page, "<li class=\"overdue\">");
	CHECK_CONTAINS(page, "Content-Security-Policy\" content=\"default-src "
			     "'none';");
	CHECK_CONTAINS(page, "MTTR <strong>1h</strong>");
	free(page);
	snprintf(path, sizeof(path), "%s/decisions/0/D2.html", out);
	page = slurp(path);
	CHECK_CONTAINS(page, "Supersedes <a href=\"../../decisions/0/D1.html\">D1. "
			     "use linear</a>");
	CHECK_OK(stat(path, &a));
	CHECK_OK(site(st, out, &why)); /* again: nothing written */
	CHECK_OK(stat(path, &b));
	CHECK_INT(b.st_mtim.tv_nsec, a.st_mtim.tv_nsec);
	CHECK_INT(b.st_ino, a.st_ino);
	again = slurp(path);
	CHECK_STR(again, page);
	free(again);
	free(page);
	snprintf(path, sizeof(path), "%s/targets/web1/index.html", out);
	CHECK_OK(stat(path, &a));
	store_close(st);
}

/* People are shown as their room knows them (people.h), like the md
 * export: the display name, the localpart without one, and the full id
 * when another member looks the same, so that nobody passes for someone
 * else on the site; the full id is always in the tooltip. */
static void test_site_shows_people_as_the_room_knows_them(void)
{
	static const char *const lines[] = {
		R("T1", "\"text\":\"rotate keys\","
			"\"assignees\":[\"@alice:evil.org\"]"),
		"{\"id\":\"D1\",\"room_id\":\"!ops:example.org\",\"author\":"
		"\"@bob:example.org\",\"created\":\"2026-11-02T09:00:00Z\","
		"\"text\":\"use jira\"}",
		"{\"id\":\"C1\",\"room_id\":\"!ops:example.org\",\"author\":"
		"\"@carol:example.org\",\"created\":\"2026-11-02T09:00:00Z\","
		"\"text\":\"nginx\"}",
		NULL
	};
	struct store *st = store_of(lines);
	char out[512], path[700], *why = NULL, *page;

	CHECK_OK(store_member_put(st, "!ops:example.org", "@alice:example.org",
				  "Alice Smith", "join", 0));
	CHECK_OK(store_member_put(st, "!ops:example.org", "@alice:evil.org",
				  "Alice  Smith", "join", 0));
	CHECK_OK(store_member_put(st, "!ops:example.org", "@bob:example.org",
				  "Bob <B>", "join", 0));
	CHECK_OK(store_member_put(st, "!ops:example.org", "@carol:example.org",
				  NULL, "join", 0));
	snprintf(out, sizeof(out), "%s/people", th_tmpdir());
	CHECK_OK(site(st, out, &why));
	CHECK(why == NULL);
	snprintf(path, sizeof(path), "%s/rooms/ops-example-org/index.html", out);
	page = slurp(path);
	CHECK_CONTAINS(page, "<span class=\"who\" title=\"@alice:evil.org\">"
			     "@alice:evil.org</span>");
	CHECK(!strstr(page, ">Alice Smith<"));
	CHECK(!strstr(page, ">alice<"));
	free(page);
	snprintf(path, sizeof(path), "%s/decisions/0/D1.html", out);
	page = slurp(path);
	CHECK_CONTAINS(page, "Decided by <span class=\"who\" title=\""
			     "@bob:example.org\">Bob &lt;B&gt;</span>");
	free(page);
	snprintf(path, sizeof(path), "%s/rooms/ops-example-org/changes-2026-11.html",
		 out);
	page = slurp(path);
	CHECK_CONTAINS(page, "<td title=\"@carol:example.org\">carol</td>");
	free(page);
	store_close(st);
}

/* A page over the 64 MiB an sbuf holds by default (a room's month of
 * a quarter million changes; here 1,100 changes of 64 KB) is written
 * whole, like any other. */
static void test_site_with_a_page_over_64_mib(void)
{
	const size_t n = 1100, text = 64 * 1024;
	struct store *st = NULL;
	struct sbuf line, why;
	char out[512], path[700], *big = malloc(text + 1);
	char *err_why = NULL;
	struct stat sta;

	CHECK(big != NULL);
	for (size_t k = 0; k < text; k++)
		big[k] = (char)('a' + k % 26);
	big[text] = '\0';
	sbuf_init(&line, 0);
	sbuf_init(&why, 0);
	CHECK_OK(store_open(":memory:", &st));
	CHECK_OK(store_import_begin(st));
	for (size_t i = 1; i <= n; i++) {
		struct rec_parsed p;

		sbuf_setlen(&line, 0);
		CHECK_OK(sbuf_printf(&line, "{\"id\":\"C%zu\",\"room_id\":"
				     "\"!ops:example.org\",\"author\":"
				     "\"@alice:example.org\",\"created\":"
				     "\"2026-11-02T09:%02zu:00Z\",\"text\":\"x\"}",
				     i, i % 60));
		CHECK_OK(import_json_line(line.buf, &p, &why));
		{ /* the text not parsed: a slow run stays bearable */
			struct rec_full f = p.f;

			f.r.text = big;
			if (store_import_record(st, &f))
				th_fail(__FILE__, __LINE__, "%s", store_errmsg(st));
		}
		rec_parsed_clear(&p);
	}
	CHECK_OK(store_import_end(st, 1));
	snprintf(out, sizeof(out), "%s/big-month", th_tmpdir());
	CHECK_OK(site(st, out, &err_why));
	CHECK(err_why == NULL);
	snprintf(path, sizeof(path), "%s/rooms/ops-example-org/changes-2026-11.html",
		 out);
	CHECK_OK(stat(path, &sta));
	CHECK(sta.st_size > (long long)(n * text)); /* over 64 MiB */
	sbuf_release(&line);
	sbuf_release(&why);
	store_close(st);
	free(big);
}

/* A room page lists an owner's first HTML_OPEN_PER_OWNER open items,
 * the most urgent first, then how many more and where they are. */
static void test_room_page_lists_the_first_open_items(void)
{
	enum { n = HTML_OPEN_PER_OWNER + 5 };
	static char text[n][200];
	const char *lines[n + 1];
	struct store *st;
	char out[512], path[700], *err_why = NULL, *page, *p;
	int items = 0;

	for (int i = 1; i <= n; i++) { /* the last one is critical: first */
		snprintf(text[i - 1], sizeof(text[0]),
			 R("T%d", "\"text\":\"item %d\",\"assignees\":"
				  "[\"@bob:example.org\"]%s"),
			 i, i, i == n ? ",\"severity\":\"critical\"" : "");
		lines[i - 1] = text[i - 1];
	}
	lines[n] = NULL;
	st = store_of(lines);
	snprintf(out, sizeof(out), "%s/many-open", th_tmpdir());
	CHECK_OK(site(st, out, &err_why));
	snprintf(path, sizeof(path), "%s/rooms/ops-example-org/index.html", out);
	page = slurp(path);
	CHECK(page != NULL);
	p = strstr(page, "<h2 id=\"open\">");
	CHECK(p != NULL);
	CHECK_CONTAINS(p, "(@bob:example.org)</span> <span class=\"muted\">105"
			  "</span></h3>");
	p = strstr(p, "<ul class=\"items\">");
	CHECK(p != NULL);
	*strstr(p, "</ul>") = '\0';
	for (char *q = p; (q = strstr(q, "<li")); q++)
		items++;
	CHECK_INT(items, HTML_OPEN_PER_OWNER + 1);
	CHECK(strstr(p, ">T105</a>") < strstr(p, ">T1</a>"));
	CHECK(strstr(p, ">T100</a>") == NULL); /* past the first 100 */
	CHECK_CONTAINS(p, "<li class=\"muted\">… and 5 more: <a href=\"#todos\">"
			  "every action item</a>, by month</li>\n");
	free(page);
	store_close(st);
}

static void test_site_of_stores_with_nothing_open(void)
{
	static const char *const closed[] = {
		R("T1", "\"text\":\"fix it\",\"status\":\"done\","
			"\"assignees\":[\"@bob:example.org\"]"),
		R("M1", "\"text\":\"sync\",\"status\":\"running\""), NULL
	};
	static const char *const empty[] = { NULL };
	static const char *const *stores[] = { closed, empty };
	char out[512], path[700], *why = NULL, *page;

	for (size_t s = 0; s < 2; s++) {
		struct store *st = store_of(stores[s]);

		snprintf(out, sizeof(out), "%s/nothing-%zu", th_tmpdir(), s);
		CHECK_OK(site(st, out, &why));
		CHECK(why == NULL);
		snprintf(path, sizeof(path), "%s/index.html", out);
		page = slurp(path);
		CHECK_CONTAINS(page, s ? "Nothing recorded yet." : "1 room");
		free(page);
		store_close(st);
	}
}

static void test_site_needs_a_folder(void)
{
	static const char *const one[] = { R("D1", "\"text\":\"x\""), NULL };
	struct store *st = store_of(one);
	char out[512], *why = NULL;
	FILE *f;

	CHECK_INT(site(st, NULL, &why), SC_EINVAL);
	CHECK_STR(why, "html writes a site into a folder: give -o DIR");
	free(why);
	why = NULL;
	snprintf(out, sizeof(out), "%s/taken", th_tmpdir());
	CHECK_OK(mkdir(out, 0700));
	snprintf(out, sizeof(out), "%s/taken/decisions", th_tmpdir());
	f = fopen(out, "w");
	CHECK(f != NULL);
	fclose(f);
	snprintf(out, sizeof(out), "%s/taken", th_tmpdir());
	CHECK_INT(site(st, out, &why), SC_EIO);
	CHECK_CONTAINS(why, "cannot create directory");
	CHECK_CONTAINS(why, "taken/decisions': Not a directory");
	free(why);
	store_close(st);
}

TESTS(TEST(test_escape), TEST(test_matrix_to), TEST(test_target_slug),
      TEST(test_charts), TEST(test_files_left_alone_when_same),
      TEST(test_big_pages_all_written),
      TEST(test_site_of_a_small_store),
      TEST(test_site_shows_people_as_the_room_knows_them),
      TEST(test_site_with_a_page_over_64_mib),
      TEST(test_room_page_lists_the_first_open_items),
      TEST(test_site_of_stores_with_nothing_open),
      TEST(test_site_needs_a_folder))
