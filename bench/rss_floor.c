/* SPDX-License-Identifier: MIT */
/*
 * rss_floor - the resident memory that scribe's four libraries cost
 * before scribe does anything of its own: the floor under the
 * memory-idle figure of bench/matrix_bench.py.
 *
 *   build-bench/bench/rss_floor URL STORE [CAFILE]
 *
 * Initialises libcurl and makes one GET to URL over a kept easy handle,
 * opens the SQLite database STORE in WAL mode and runs a query, parses
 * the answer with jansson and creates an Olm account, which is what an
 * idle scribe has touched of each library, then prints
 * "bench memory-floor rss_kb=N anon_rss_kb=N" from /proc/self/status.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <olm/olm.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static size_t keep(char *data, size_t size, size_t n, void *ctx)
{
	json_error_t err;
	json_t *j = json_loadb(data, size * n, 0, &err);

	(void)ctx;
	json_decref(j);
	return size * n;
}

static long status_kb(const char *key)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			kb = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	CURL *h;
	void *buf, *rnd;
	OlmAccount *acct;
	size_t n;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: rss_floor URL STORE [CAFILE]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	if (!h)
		return 1;
	curl_easy_setopt(h, CURLOPT_URL, argv[1]);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
	if (argc == 4) /* an https URL: trust CAFILE, as scribe's ca_file */
		curl_easy_setopt(h, CURLOPT_CAINFO, argv[3]);
	if (curl_easy_perform(h) != CURLE_OK) {
		fprintf(stderr, "rss_floor: GET %s failed\n", argv[1]);
		return 1;
	}
	if (sqlite3_open(argv[2], &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
			 "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v);"
			 "INSERT OR REPLACE INTO t VALUES ('a', 1);"
			 "SELECT count(*) FROM t;", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "rss_floor: %s\n", db ? sqlite3_errmsg(db) : "no memory");
		return 1;
	}
	buf = malloc(olm_account_size());
	acct = buf ? olm_account(buf) : NULL;
	n = acct ? olm_create_account_random_length(acct) : 0;
	rnd = malloc(n ? n : 1);
	if (!acct || !rnd || getrandom(rnd, n, 0) != (ssize_t)n ||
	    olm_create_account(acct, rnd, n) == olm_error())
		return 1;
	printf("bench memory-floor rss_kb=%ld anon_rss_kb=%ld\n",
	       status_kb("VmRSS:"), status_kb("RssAnon:"));
	olm_clear_account(acct);
	free(buf);
	free(rnd);
	sqlite3_close(db);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return 0;
}
