/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - bot.conf: defaults, every key, every kind of mistake
 * with the file:line message an admin would see, and bot.conf.example
 * itself (as shipped, and with every commented-out key switched on).
 */
#include <grp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "log.h"
#include "banned.h"

/* The repository root, from this file's path as the Makefile compiles it
 * ("tests/unit/test_config.c" from the root). */
static const char *example_path(void)
{
	static char path[1024];
	const char *me = __FILE__, *cut = strstr(me, "tests/unit/");
	int n = cut ? (int)(cut - me) : 0;

	snprintf(path, sizeof(path), "%.*sbot.conf.example", n, me);
	return path;
}

static const char *conf_path(void)
{
	static char path[600];

	snprintf(path, sizeof(path), "%s/bot.conf", th_tmpdir());
	return path;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		th_fail(__FILE__, __LINE__, "cannot write %s", path);
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		th_fail(__FILE__, __LINE__, "short write to %s", path);
	}
	fclose(f);
}

/* Defaults, then text as bot.conf. */
static sc_err load(const char *text, struct config *cfg, struct sbuf *err)
{
	write_file(conf_path(), text, strlen(text));
	if (config_defaults(cfg) != SC_OK)
		th_fail(__FILE__, __LINE__, "config_defaults failed");
	sbuf_setlen(err, 0);
	return config_load(cfg, conf_path(), err);
}

static size_t list_len(char **list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	return n;
}

static void test_defaults(void)
{
	struct config c;

	CHECK_OK(config_defaults(&c));
	CHECK(c.homeserver == NULL);
	CHECK(c.user_id == NULL);
	CHECK(c.password_file == NULL);
	CHECK(c.access_token_file == NULL);
	CHECK_STR(c.device_name, "scribe");
	CHECK_INT(c.sync_timeout_ms, 30000);
	CHECK_INT(c.timeline_limit, 50);
	CHECK_INT(c.retry_min_ms, 250);
	CHECK_INT(c.request_timeout, 30);
	CHECK_INT(c.parallel_sends, 8);
	CHECK_STR(c.store_path, "scribe.db");
	CHECK(c.store_group == NULL);
	CHECK_INT(c.store_gid, -1);
	CHECK_STR(c.prefix, "!");
	CHECK(c.allowed_inviters == NULL);
	CHECK(c.allowed_rooms == NULL);
	CHECK(c.admins == NULL);
	CHECK_INT(c.privileged_power, 50);
	CHECK_STR(c.timezone, "UTC");
	CHECK_INT(c.log_level, LOG_INFO);
	CHECK_INT(c.digest_minute, 9 * 60);
	CHECK_INT(c.digest_days, 0x1f);
	CHECK_INT(c.digest_post_empty, 0);
	CHECK_INT(c.sla_critical, 4 * 3600);
	CHECK_INT(c.sla_major, 2 * 86400);
	CHECK_INT(c.sla_minor, 14 * 86400);
	CHECK_INT(c.meeting_max_duration, 4 * 3600);
	CHECK_INT(c.meeting_late_after, 15 * 60);
	CHECK_INT(c.freeze.set, 0);
	CHECK_INT(list_len(c.deploy_tags), 2);
	CHECK_STR(c.deploy_tags[0], "deploy");
	CHECK_STR(c.deploy_tags[1], "release");
	CHECK_INT(c.crypto_enabled, 1);
	CHECK_STR(c.pickle_key_file, "scribe.pickle-key");
	CHECK_INT(c.rotation_period_msgs, 100);
	CHECK_INT(c.rotation_period_ms, (int64_t)7 * 86400 * 1000);
	CHECK_INT(c.trust, TRUST_SELF_SIGNED);
	/* nobody may invite, any room may be joined, nobody is admin */
	CHECK_INT(config_inviter_allowed(&c, "@alice:example.org"), 0);
	CHECK_INT(config_room_allowed(&c, "!ops:example.org"), 1);
	CHECK_INT(config_is_admin(&c, "@alice:example.org"), 0);
	config_free(&c);
	config_free(&c); /* safe twice */
}

static void test_every_key(void)
{
	static const char text[] =
		"\xEF\xBB\xBF# written by an editor that adds a BOM\n"
		"; semicolon comments too\n"
		"\n"
		"[matrix]\n"
		"homeserver = https://matrix.example.org/\n"
		"user_id=@scribe:example.org\n"
		"password_file = /etc/scribe/password\r\n"
		"access_token_file = /var/lib/scribe/token\n"
		"device_name = \"  scribe (ops) \\\"prod\\\" \\\\ \"\n"
		"sync_timeout = 1m\n"
		"timeline_limit = 200\n"
		"retry_min_ms = 5\n"
		"request_timeout = 2m\n"
		"parallel_sends = 1\n"
		"\t[store]\n"
		"\tpath = /var/lib/scribe/scribe.db\n"
		"\tgroup = root\n"
		"[bot]\n"
		"prefix = \"?!\"\n"
		"allowed_inviters = *:example.org, @carol:partner.org\n"
		"allowed_rooms = !ops:example.org,!infra:example.org , !v12room\n"
		"admins = @alice:example.org\n"
		"privileged_power = 100\n"
		"timezone = America/Toronto\n"
		"log_level = DEBUG\n"
		"[digest]\n"
		"time = 8:30\n"
		"days = sun-thu\n"
		"post_empty = on\n"
		"[sla]\n"
		"critical = 1h\n"
		"major = 1d12h\n"
		"minor = 3w\n"
		"[freeze]\n"
		"window = fri 17:00 - mon 08:00\n"
		"deploy_tags = #Deploy, RELEASE , rollout\n"
		"[meeting]\n"
		"max_duration = 90m\n"
		"late_after = 5m\n"
		"[crypto]\n"
		"enabled = false\n"
		"pickle_key_file = /etc/scribe/pickle\n"
		"rotation_period_msgs = 10000\n"
		"rotation_period = 2d\n"
		"trust = cross-signed\n";
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	if (load(text, &c, &err) != SC_OK)
		th_fail(__FILE__, __LINE__, "load: %s", err.buf);
	CHECK_STR(err.buf, "");
	CHECK_STR(c.homeserver, "https://matrix.example.org");
	CHECK_STR(c.user_id, "@scribe:example.org");
	CHECK_STR(c.password_file, "/etc/scribe/password");
	CHECK_STR(c.access_token_file, "/var/lib/scribe/token");
	CHECK_STR(c.device_name, "  scribe (ops) \"prod\" \\ ");
	CHECK_INT(c.sync_timeout_ms, 60000);
	CHECK_INT(c.timeline_limit, 200);
	CHECK_INT(c.retry_min_ms, 5);
	CHECK_INT(c.request_timeout, 120);
	CHECK_INT(c.parallel_sends, 1);
	CHECK_STR(c.store_path, "/var/lib/scribe/scribe.db");
	CHECK_STR(c.store_group, "root");
	CHECK_INT(c.store_gid, 0);
	CHECK_STR(c.prefix, "?!");
	CHECK_INT(list_len(c.allowed_inviters), 2);
	CHECK_STR(c.allowed_inviters[0], "*:example.org");
	CHECK_STR(c.allowed_inviters[1], "@carol:partner.org");
	CHECK_INT(list_len(c.allowed_rooms), 3);
	CHECK_STR(c.allowed_rooms[1], "!infra:example.org");
	CHECK_STR(c.allowed_rooms[2], "!v12room");
	CHECK_INT(list_len(c.admins), 1);
	CHECK_STR(c.admins[0], "@alice:example.org");
	CHECK_INT(c.privileged_power, 100);
	CHECK_STR(c.timezone, "America/Toronto");
	CHECK_INT(c.log_level, LOG_DEBUG);
	CHECK_INT(c.digest_minute, 8 * 60 + 30);
	CHECK_INT(c.digest_days, 0x4f);
	CHECK_INT(c.digest_post_empty, 1);
	CHECK_INT(c.sla_critical, 3600);
	CHECK_INT(c.sla_major, 36 * 3600);
	CHECK_INT(c.sla_minor, 21 * 86400);
	CHECK_INT(c.meeting_max_duration, 90 * 60);
	CHECK_INT(c.meeting_late_after, 5 * 60);
	CHECK_INT(c.freeze.set, 1);
	CHECK_INT(c.freeze.start, 4 * 1440 + 17 * 60);
	CHECK_INT(c.freeze.end, 8 * 60);
	CHECK_INT(list_len(c.deploy_tags), 3);
	CHECK_STR(c.deploy_tags[0], "deploy");
	CHECK_STR(c.deploy_tags[1], "release");
	CHECK_STR(c.deploy_tags[2], "rollout");
	CHECK_INT(c.crypto_enabled, 0);
	CHECK_STR(c.pickle_key_file, "/etc/scribe/pickle");
	CHECK_INT(c.rotation_period_msgs, 10000);
	CHECK_INT(c.rotation_period_ms, (int64_t)2 * 86400 * 1000);
	CHECK_INT(c.trust, TRUST_CROSS_SIGNED);
	config_free(&c);
	sbuf_release(&err);
}

static void test_empty_file_keeps_defaults(void)
{
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	CHECK_OK(load("", &c, &err));
	CHECK_STR(c.prefix, "!");
	config_free(&c);
	CHECK_OK(load("# nothing but comments\n\n   \n;\n", &c, &err));
	CHECK_STR(c.timezone, "UTC");
	config_free(&c);
	sbuf_release(&err);
}

static void test_values(void)
{
	static const struct {
		const char *text;
		const char *key; /* what to check */
		long long want;
	} cases[] = {
		{ "[digest]\npost_empty = yes", "post_empty", 1 },
		{ "[digest]\npost_empty = TRUE", "post_empty", 1 },
		{ "[digest]\npost_empty = on", "post_empty", 1 },
		{ "[digest]\npost_empty = 1", "post_empty", 1 },
		{ "[digest]\npost_empty = no", "post_empty", 0 },
		{ "[digest]\npost_empty = False", "post_empty", 0 },
		{ "[digest]\npost_empty = off", "post_empty", 0 },
		{ "[digest]\npost_empty = 0", "post_empty", 0 },
		{ "[bot]\nlog_level = error", "log_level", LOG_ERROR },
		{ "[bot]\nlog_level = warn", "log_level", LOG_WARN },
		{ "[bot]\nlog_level = info", "log_level", LOG_INFO },
		{ "[bot]\nlog_level = debug", "log_level", LOG_DEBUG },
		{ "[bot]\nprivileged_power = 0", "privileged_power", 0 },
		{ "[bot]\nprivileged_power = 100", "privileged_power", 100 },
		{ "[matrix]\nsync_timeout = 1h", "sync_timeout_ms", 3600000 },
		{ "[matrix]\nsync_timeout = 500s", "sync_timeout_ms", 500000 },
		{ "[matrix]\ntimeline_limit = 1", "timeline_limit", 1 },
		{ "[crypto]\nrotation_period_msgs = 1", "rotation_period_msgs", 1 },
		{ "[crypto]\nrotation_period = 90m", "rotation_period_ms",
		  5400000 },
		{ "[crypto]\ntrust = self-signed", "trust", TRUST_SELF_SIGNED },
		{ "[digest]\ntime = 00:00", "digest_minute", 0 },
		{ "[digest]\ntime = 23:59", "digest_minute", 1439 },
		{ "[digest]\ndays = daily", "digest_days", 0x7f },
		{ "[digest]\ndays = \"mon, wed, fri\"", "digest_days", 0x15 },
		{ "[freeze]\nwindow = thu-sun", "freeze.start", 3 * 1440 },
		{ "[freeze]\nwindow = thu-sun", "freeze.end", 0 },
		{ "[freeze]\nwindow =", "freeze.set", 0 },
		{ "[bot]\nallowed_rooms =", "allowed_rooms", 0 },
		{ "[freeze]\ndeploy_tags = ", "deploy_tags", 0 },
		{ "[freeze]\ndeploy_tags = ship", "deploy_tags", 1 },
		{ "[sla]\ncritical = 30m", "sla_critical", 1800 },
	};
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *k = cases[i].key;
		long long got;

		if (load(cases[i].text, &c, &err) != SC_OK)
			th_fail(__FILE__, __LINE__, "\"%s\": %s", cases[i].text,
				err.buf);
		if (!strcmp(k, "post_empty"))
			got = c.digest_post_empty;
		else if (!strcmp(k, "log_level"))
			got = c.log_level;
		else if (!strcmp(k, "privileged_power"))
			got = c.privileged_power;
		else if (!strcmp(k, "sync_timeout_ms"))
			got = c.sync_timeout_ms;
		else if (!strcmp(k, "timeline_limit"))
			got = c.timeline_limit;
		else if (!strcmp(k, "rotation_period_msgs"))
			got = c.rotation_period_msgs;
		else if (!strcmp(k, "rotation_period_ms"))
			got = c.rotation_period_ms;
		else if (!strcmp(k, "trust"))
			got = c.trust;
		else if (!strcmp(k, "digest_minute"))
			got = c.digest_minute;
		else if (!strcmp(k, "digest_days"))
			got = c.digest_days;
		else if (!strcmp(k, "freeze.start"))
			got = c.freeze.start;
		else if (!strcmp(k, "freeze.end"))
			got = c.freeze.end;
		else if (!strcmp(k, "freeze.set"))
			got = c.freeze.set;
		else if (!strcmp(k, "allowed_rooms"))
			got = (long long)list_len(c.allowed_rooms);
		else if (!strcmp(k, "deploy_tags"))
			got = (long long)list_len(c.deploy_tags);
		else
			got = c.sla_critical;
		config_free(&c);
		if (got != cases[i].want)
			th_fail(__FILE__, __LINE__, "\"%s\": %s = %lld, want %lld",
				cases[i].text, k, got, cases[i].want);
	}
	sbuf_release(&err);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		int line;
		const char *msg; /* the message starts with this */
	} cases[] = {
		/* structure */
		{ "[bot]\nprefx = !\n", 2, "unknown key 'prefx' in [bot]" },
		{ "[nope]\n", 1, "unknown section '[nope]'" },
		{ "[Bot]\n", 1, "unknown section '[Bot]'" },
		{ "[]\n", 1, "unknown section '[]'" },
		{ "[bot\n", 1, "invalid section header" },
		{ "[bot] # comment\n", 1, "invalid section header" },
		{ "prefix = !\n", 1, "key 'prefix' outside a section" },
		{ "# c\n\n[bot]\nprefix = !\nprefix = ?\n", 5,
		  "duplicate key 'prefix' in [bot] (first set on line 4)" },
		{ "[bot]\nprefix = !\n[digest]\n[bot]\nprefix = ?\n", 5,
		  "duplicate key 'prefix' in [bot]" },
		{ "[bot]\nprefix\n", 2, "missing '='" },
		{ "[bot]\n= !\n", 2, "missing key before '='" },
		{ "[bot]\nhomeserver = https://x.org\n", 2,
		  "unknown key 'homeserver' in [bot] (it belongs in [matrix])" },
		{ "[bot]\nprefix = \"!\n", 2, "unterminated quote in the value for 'prefix'" },
		{ "[bot]\nprefix = \"!\" x\n", 2, "text after the closing quote for 'prefix'" },
		{ "[bot]\nprefix = \"\\n\"\n", 2, "invalid escape in the value for 'prefix'" },
		{ "[bot]\n\xff\xfe = 1\n", 2, "invalid utf-8" },
		/* secrets */
		{ "[matrix]\npassword = hunter2\n", 2,
		  "secrets do not belong in the config: put the secret in a "
		  "file (mode 0600) and set 'password_file' instead of 'password'" },
		{ "[matrix]\naccess_token = syt_c2VjcmV0\n", 2,
		  "secrets do not belong in the config: put the secret in a "
		  "file (mode 0600) and set 'access_token_file' instead of "
		  "'access_token'" },
		{ "access_token = syt_c2VjcmV0\n", 1, "secrets do not belong" },
		{ "[crypto]\npickle_key = abc\n", 2, "secrets do not belong" },
		/* values */
		{ "[matrix]\nhomeserver = matrix.example.org\n", 2,
		  "invalid url 'matrix.example.org' for 'homeserver' (expected https://host)" },
		{ "[matrix]\nhomeserver = ftp://x.org\n", 2, "invalid url" },
		{ "[matrix]\nhomeserver = https://\n", 2, "invalid url" },
		{ "[matrix]\nhomeserver = https://a b\n", 2, "invalid url" },
		{ "[matrix]\nhomeserver =\n", 2, "missing value for 'homeserver'" },
		{ "[matrix]\nuser_id = scribe\n", 2,
		  "invalid user id 'scribe' for 'user_id' (expected @local:server)" },
		{ "[matrix]\nuser_id = @scribe\n", 2, "invalid user id '@scribe'" },
		{ "[matrix]\nuser_id = @:example.org\n", 2, "invalid user id" },
		{ "[matrix]\nuser_id = @scribe:\n", 2, "invalid user id" },
		{ "[matrix]\nuser_id = \"@scr ibe:x.org\"\n", 2, "invalid user id" },
		{ "[matrix]\nsync_timeout = 2h\n", 2,
		  "invalid duration '2h' for 'sync_timeout' (expected at most 1h)" },
		{ "[matrix]\nsync_timeout = 0s\n", 2, "invalid duration '0s'" },
		{ "[matrix]\nsync_timeout = 30\n", 2, "invalid duration '30'" },
		{ "[matrix]\ntimeline_limit = 0\n", 2,
		  "invalid number '0' for 'timeline_limit' (expected 1..1000)" },
		{ "[matrix]\ntimeline_limit = 1001\n", 2, "invalid number '1001'" },
		{ "[matrix]\nparallel_sends = 17\n", 2,
		  "invalid number '17' for 'parallel_sends' (expected 1..16)" },
		{ "[matrix]\ntimeline_limit = 99999999999999999999\n", 2,
		  "invalid number" },
		{ "[matrix]\ntimeline_limit = -5\n", 2, "invalid number '-5'" },
		{ "[matrix]\ntimeline_limit = 5x\n", 2, "invalid number '5x'" },
		{ "[matrix]\nretry_min_ms = 0\n", 2,
		  "invalid number '0' for 'retry_min_ms' (expected 1..60000)" },
		{ "[matrix]\nrequest_timeout = 0s\n", 2,
		  "invalid duration '0s' for 'request_timeout'" },
		{ "[matrix]\npassword_file =\n", 2, "missing value for 'password_file'" },
		{ "[store]\npath = \"\"\n", 2, "missing value for 'path'" },
		{ "[store]\n\ngroup = no-such-group-of-scribe\n", 3,
		  "unknown group 'no-such-group-of-scribe' for 'group' "
		  "(expected the name of a group of this system)" },
		{ "[store]\ngroup = 0\n", 2, "unknown group '0' for 'group'" },
		{ "[bot]\nprefix =\n", 2, "missing value for 'prefix'" },
		{ "[bot]\nprefix = 123456789\n", 2,
		  "invalid prefix '123456789' for 'prefix' (expected 1 to 8 "
		  "characters without spaces)" },
		{ "[bot]\nprefix = \"! \"\n", 2, "invalid prefix '! '" },
		{ "[bot]\nprefix = \"a\tb\"\n", 2, "invalid prefix 'a?b'" },
		{ "[bot]\nallowed_inviters = bob\n", 2,
		  "invalid user id 'bob' for 'allowed_inviters' (expected "
		  "@local:server or *:server)" },
		{ "[bot]\nallowed_inviters = *\n", 2, "invalid user id '*'" },
		{ "[bot]\nallowed_inviters = *:\n", 2, "invalid user id '*:'" },
		{ "[bot]\nallowed_inviters = *:*.org\n", 2, "invalid user id" },
		{ "[bot]\nallowed_inviters = @a:b.org,,@c:d.org\n", 2,
		  "empty item in the list for 'allowed_inviters'" },
		{ "[bot]\nallowed_inviters = @a:b.org,\n", 2, "empty item" },
		{ "[bot]\nallowed_rooms = #ops:example.org\n", 2,
		  "invalid room id '#ops:example.org' for 'allowed_rooms' "
		  "(expected !room:server)" },
		{ "[bot]\nadmins = *:example.org\n", 2,
		  "invalid user id '*:example.org' for 'admins' (expected "
		  "@local:server)" },
		{ "[bot]\nprivileged_power = 101\n", 2, "invalid number '101'" },
		{ "[bot]\nprivileged_power = -1\n", 2, "invalid number '-1'" },
		{ "[bot]\ntimezone = Mars/Olympus_Mons\n", 2,
		  "invalid time zone 'Mars/Olympus_Mons' for 'timezone'" },
		{ "[bot]\ntimezone = ../etc/passwd\n", 2,
		  "invalid time zone '../etc/passwd'" },
		{ "[bot]\ntimezone = UTC # the default\n", 2,
		  "invalid time zone 'UTC # the default'" },
		{ "[bot]\nlog_level = verbose\n", 2,
		  "invalid log level 'verbose' for 'log_level' (expected error, "
		  "warn, info or debug)" },
		{ "[digest]\ntime = 13:75\n", 2,
		  "invalid time '13:75' for 'time' (expected HH:MM)" },
		{ "[digest]\ntime = 9am\n", 2, "invalid time '9am'" },
		{ "[digest]\ndays = funday\n", 2, "invalid days 'funday' for 'days'" },
		{ "[digest]\ndays =\n", 2, "missing value for 'days'" },
		{ "[digest]\npost_empty = maybe\n", 2,
		  "invalid value 'maybe' for 'post_empty' (expected yes or no)" },
		{ "[sla]\n\ncritical = fast\n", 3,
		  "invalid duration 'fast' for 'critical'" },
		{ "[sla]\nmajor = 0d\n", 2, "invalid duration '0d' for 'major'" },
		{ "[sla]\nminor = 99999999999d\n", 2, "invalid duration" },
		{ "[freeze]\nwindow = someday\n", 2,
		  "invalid window 'someday' for 'window'" },
		{ "[freeze]\ndeploy_tags = deploy,,x\n", 2, "empty item" },
		{ "[freeze]\ndeploy_tags = #\n", 2, "empty item" },
		{ "[freeze]\ndeploy_tags = two words\n", 2,
		  "invalid tag 'two words' for 'deploy_tags'" },
		{ "[crypto]\nenabled = 2\n", 2, "invalid value '2' for 'enabled'" },
		{ "[crypto]\nrotation_period_msgs = 0\n", 2,
		  "invalid number '0' for 'rotation_period_msgs' (expected 1..10000)" },
		{ "[crypto]\nrotation_period_msgs = 10001\n", 2, "invalid number" },
		{ "[crypto]\nrotation_period = forever\n", 2,
		  "invalid duration 'forever' for 'rotation_period'" },
		{ "[crypto]\ntrust = everyone\n", 2,
		  "invalid trust policy 'everyone' for 'trust' (expected "
		  "self-signed or cross-signed)" },
		/* long values are cut in the message */
		{ "[bot]\ntimezone = "
		  "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  2,
		  "invalid time zone "
		  "'Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'" },
	};
	struct config c;
	struct sbuf err, want;

	sbuf_init(&err, 0);
	sbuf_init(&want, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sc_err rc = load(cases[i].text, &c, &err);

		sbuf_setlen(&want, 0);
		CHECK_OK(sbuf_printf(&want, "%s:%d: %s", conf_path(),
				     cases[i].line, cases[i].msg));
		config_free(&c);
		if (rc != SC_ECONFIG)
			th_fail(__FILE__, __LINE__, "\"%s\": rc %d, err \"%s\"",
				cases[i].text, rc, err.buf);
		if (strncmp(err.buf, want.buf, want.len) != 0)
			th_fail(__FILE__, __LINE__,
				"\"%s\"\n  got:  %s\n  want: %s...",
				cases[i].text, err.buf, want.buf);
		/* one line, no trailing period, no secrets */
		CHECK(!strchr(err.buf, '\n'));
		CHECK(err.buf[err.len - 1] != '.');
		CHECK(!strstr(err.buf, "hunter2"));
		CHECK(!strstr(err.buf, "syt_"));
	}
	sbuf_release(&want);
	sbuf_release(&err);
}

static void test_nul_byte(void)
{
	static const char text[] = "[bot]\nprefix = !\0x\n";
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	write_file(conf_path(), text, sizeof(text) - 1);
	CHECK_OK(config_defaults(&c));
	CHECK_INT(config_load(&c, conf_path(), &err), SC_ECONFIG);
	CHECK_CONTAINS(err.buf, ":2: nul byte");
	config_free(&c);
	sbuf_release(&err);
}

static void test_error_keeps_values_read(void)
{
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	CHECK_INT(load("[bot]\nprefix = ?\nprivileged_power = lots\n"
		       "timezone = Europe/Berlin\n",
		       &c, &err),
		  SC_ECONFIG);
	CHECK_STR(c.prefix, "?");
	CHECK_INT(c.privileged_power, 50);
	CHECK_STR(c.timezone, "UTC");
	config_free(&c);
	/* a NULL error buffer is allowed */
	CHECK_OK(config_defaults(&c));
	CHECK_INT(config_load(&c, conf_path(), NULL), SC_ECONFIG);
	config_free(&c);
	sbuf_release(&err);
}

static void test_missing_file(void)
{
	struct config c;
	struct sbuf err;
	char path[600];

	sbuf_init(&err, 0);
	snprintf(path, sizeof(path), "%s/no-such.conf", th_tmpdir());
	CHECK_OK(config_defaults(&c));
	CHECK_INT(config_load(&c, path, &err), SC_EIO);
	CHECK_CONTAINS(err.buf, "cannot open config '");
	CHECK_CONTAINS(err.buf, "no-such.conf': No such file or directory");
	CHECK_STR(c.prefix, "!");
	sbuf_setlen(&err, 0);
	CHECK_INT(config_load(&c, th_tmpdir(), &err), SC_EIO);
	CHECK_CONTAINS(err.buf, "cannot read config");
	config_free(&c);
	sbuf_release(&err);
}

static void test_too_big(void)
{
	size_t n = ((size_t)1 << 20) + 10;
	char *text = malloc(n);
	struct config c;
	struct sbuf err;

	CHECK(text != NULL);
	memset(text, '#', n);
	write_file(conf_path(), text, n);
	free(text);
	sbuf_init(&err, 0);
	CHECK_OK(config_defaults(&c));
	CHECK_INT(config_load(&c, conf_path(), &err), SC_ECONFIG);
	CHECK_CONTAINS(err.buf, "larger than 1 MiB");
	config_free(&c);
	sbuf_release(&err);
}

static void test_pickle_key_beside_store(void)
{
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	CHECK_OK(load("[store]\npath = /var/lib/scribe/scribe.db\n", &c, &err));
	CHECK_STR(c.pickle_key_file, "/var/lib/scribe/scribe.pickle-key");
	config_free(&c);
	CHECK_OK(load("[store]\npath = data.db\n", &c, &err));
	CHECK_STR(c.pickle_key_file, "scribe.pickle-key");
	config_free(&c);
	CHECK_OK(load("[crypto]\npickle_key_file = /k\n[store]\npath = /x/s.db\n",
		      &c, &err));
	CHECK_STR(c.pickle_key_file, "/k");
	config_free(&c);
	CHECK_OK(load("[bot]\nprefix = !\n", &c, &err));
	CHECK_STR(c.pickle_key_file, "scribe.pickle-key");
	config_free(&c);
	sbuf_release(&err);
}

/* [store] group: empty is none; config_apply_group with none leaves the
 * umask, with the process's own group sets 027. */
static void test_store_group(void)
{
	struct group *g = getgrgid(getegid());
	struct config c;
	struct sbuf err, text;
	mode_t old;

	sbuf_init(&err, 0);
	sbuf_init(&text, 0);
	CHECK_OK(load("[store]\ngroup =\n", &c, &err));
	CHECK(c.store_group == NULL);
	CHECK_INT(c.store_gid, -1);
	old = umask(077);
	CHECK_OK(config_apply_group(&c, &err));
	CHECK_INT(umask(077), 077);
	config_free(&c);
	CHECK(g != NULL);
	CHECK_OK(sbuf_printf(&text, "[store]\ngroup = %s\n", g->gr_name));
	CHECK_OK(load(text.buf, &c, &err));
	CHECK_INT(c.store_gid, getegid());
	CHECK_OK(config_apply_group(&c, &err));
	CHECK_INT(umask(old), 027);
	config_free(&c);
	sbuf_release(&err);
	sbuf_release(&text);
}

static void test_permissions(void)
{
	static const struct {
		const char *who;
		int invite, admin;
	} cases[] = {
		{ "@alice:example.org", 1, 1 },
		{ "@bob:example.org", 1, 0 },
		{ "@bob:EXAMPLE.org", 1, 0 },      /* server names ignore case */
		{ "@carol:partner.org", 1, 0 },
		{ "@dave:partner.org", 0, 0 },
		{ "@eve:evil.example.org", 0, 0 }, /* not a suffix match */
		{ "@eve:example.org.evil", 0, 0 },
		{ "@ALICE:example.org", 1, 0 },    /* ids are exact */
		{ "alice:example.org", 0, 0 },
		{ "@alice", 0, 0 },
		{ "", 0, 0 },
	};
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	CHECK_OK(load("[bot]\n"
		      "allowed_inviters = *:example.org, @carol:partner.org\n"
		      "allowed_rooms = !ops:example.org\n"
		      "admins = @alice:example.org\n",
		      &c, &err));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (config_inviter_allowed(&c, cases[i].who) != cases[i].invite ||
		    config_is_admin(&c, cases[i].who) != cases[i].admin)
			th_fail(__FILE__, __LINE__, "%s: invite %d admin %d",
				cases[i].who, config_inviter_allowed(&c, cases[i].who),
				config_is_admin(&c, cases[i].who));
	}
	CHECK_INT(config_inviter_allowed(&c, NULL), 0);
	CHECK_INT(config_is_admin(&c, NULL), 0);
	CHECK_INT(config_room_allowed(&c, "!ops:example.org"), 1);
	CHECK_INT(config_room_allowed(&c, "!other:example.org"), 0);
	CHECK_INT(config_room_allowed(&c, NULL), 0);
	config_free(&c);
	sbuf_release(&err);
}

static void test_example_parses(void)
{
	struct config c;
	struct sbuf err;

	sbuf_init(&err, 0);
	CHECK_OK(config_defaults(&c));
	if (config_load(&c, example_path(), &err) != SC_OK)
		th_fail(__FILE__, __LINE__, "%s", err.buf);
	CHECK_STR(c.homeserver, "https://matrix.example.org");
	CHECK_STR(c.user_id, "@scribe:example.org");
	CHECK(c.password_file != NULL);
	CHECK(c.access_token_file != NULL);
	CHECK(c.allowed_inviters != NULL);
	config_free(&c);
	sbuf_release(&err);
}

/* Every key appears in the example, commented or not, and every example
 * value is valid: switch all commented "#key = value" lines on. */
static void test_example_documents_every_key(void)
{
	static const char *const keys[] = {
		"homeserver", "user_id", "password_file", "access_token_file",
		"device_name", "sync_timeout", "timeline_limit",
		"retry_min_ms", "request_timeout", "parallel_sends", "path",
		"group",
		"prefix", "allowed_inviters", "allowed_rooms", "admins",
		"privileged_power", "timezone", "log_level", "time", "days",
		"post_empty", "critical", "major", "minor", "window",
		"deploy_tags", "enabled", "pickle_key_file",
		"rotation_period_msgs", "rotation_period", "trust",
		"max_duration", "late_after",
		"before", "contacts", "levels", "on_call",
	};
	struct sbuf text, out, err;
	struct config c;
	char line[1024];
	FILE *f = fopen(example_path(), "r");

	CHECK(f != NULL);
	sbuf_init(&text, 0);
	sbuf_init(&out, 0);
	sbuf_init(&err, 0);
	while (fgets(line, sizeof(line), f)) {
		const char *l = line;
		size_t k = 0;

		/* "#key = value": a letter right after the '#' */
		if (l[0] == '#' && l[1] >= 'a' && l[1] <= 'z') {
			while ((l[1 + k] >= 'a' && l[1 + k] <= 'z') ||
			       l[1 + k] == '_')
				k++;
			if (!strncmp(l + 1 + k, " = ", 3))
				l++;
		}
		sbuf_puts(&text, line);
		sbuf_puts(&out, l);
	}
	fclose(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "\n%s = ", keys[i]);
		if (!strstr(out.buf, needle))
			th_fail(__FILE__, __LINE__,
				"bot.conf.example has no line for '%s'", keys[i]);
	}
	CHECK_CONTAINS(text.buf, "Default:");
	{
		/* the example's group need not exist here; root does */
		char *g = strstr(out.buf, "\ngroup = scribe-ops\n");

		CHECK(g != NULL);
		memcpy(g + 9, "root      ", 10);
	}
	write_file(conf_path(), out.buf, out.len);
	CHECK_OK(config_defaults(&c));
	if (config_load(&c, conf_path(), &err) != SC_OK)
		th_fail(__FILE__, __LINE__, "uncommented example: %s", err.buf);
	CHECK_INT(c.freeze.set, 1);
	CHECK(c.admins != NULL);
	CHECK(c.allowed_rooms != NULL);
	config_free(&c);
	sbuf_release(&text);
	sbuf_release(&out);
	sbuf_release(&err);
}

/* Every key's documentation in the example names its default. */
static void test_example_states_defaults(void)
{
	FILE *f = fopen(example_path(), "r");
	char line[1024];
	int in_comment = 0, has_default = 0, n = 0, missing = 0;
	char last_missing[128] = "";

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		const char *l = line[0] == '#' ? line + 1 : line;
		size_t k = 0;

		while ((l[k] >= 'a' && l[k] <= 'z') || l[k] == '_')
			k++;
		if (k && !strncmp(l + k, " = ", 3)) {
			/* a key line: the comment block above must say the
			 * default (a block may cover several keys) */
			n++;
			if (!has_default) {
				missing++;
				snprintf(last_missing, sizeof(last_missing),
					 "%.*s", (int)k, l);
			}
			in_comment = 0;
			continue;
		}
		if (line[0] == '#') {
			if (!in_comment)
				has_default = 0;
			in_comment = 1;
			if (strstr(line, "Default") || strstr(line, "No default"))
				has_default = 1;
		} else {
			in_comment = 0;
		}
	}
	fclose(f);
	CHECK_INT(n, 40);
	if (missing)
		th_fail(__FILE__, __LINE__, "%d keys without a default, e.g. '%s'",
			missing, last_missing);
}

/* [remind], [escalation] and [hours]: reminders, SLA escalation and
 * ops hours (remind.h). */
static void test_remind_keys(void)
{
	struct sbuf err;
	struct config c;

	sbuf_init(&err, 0);
	CHECK_OK(config_defaults(&c));
	CHECK_INT(c.remind_before, 3600);
	CHECK_INT(c.escalation_levels, 2);
	CHECK(!c.hours.set && !c.on_call.set && !c.escalation_contacts);
	config_free(&c);
	CHECK_OK(load("[remind]\nbefore = 30m\n[escalation]\ncontacts = "
		      "@oncall:example.org, @lead:example.org\nlevels = 1\n"
		      "[hours]\nwindow = sun-thu 09:00-18:00\non_call = "
		      "fri-sat 9:00-17:00\n", &c, &err));
	CHECK_INT(c.remind_before, 1800);
	CHECK_INT(list_len(c.escalation_contacts), 2);
	CHECK_STR(c.escalation_contacts[1], "@lead:example.org");
	CHECK_INT(c.escalation_levels, 1);
	CHECK(c.hours.set && c.hours.days == 0x4f && c.hours.start == 540 &&
	      c.hours.end == 1080);
	CHECK(c.on_call.set && c.on_call.days == 0x30 && c.on_call.end == 1020);
	config_free(&c);
	CHECK_OK(load("[remind]\nbefore = off\n[hours]\nwindow =\n", &c, &err));
	CHECK_INT(c.remind_before, -1);
	CHECK(!c.hours.set);
	config_free(&c);
	CHECK_OK(load("[remind]\nbefore = 0\n", &c, &err));
	CHECK_INT(c.remind_before, 0);
	config_free(&c);
	CHECK(load("[remind]\nbefore = soon\n", &c, &err) == SC_ECONFIG);
	CHECK_CONTAINS(err.buf, ":2: invalid lead time 'soon' for 'before'");
	config_free(&c);
	CHECK(load("[hours]\nwindow = weekdays\n", &c, &err) == SC_ECONFIG);
	CHECK_CONTAINS(err.buf, "invalid hours 'weekdays' for 'window' (expected e.g. "
		       "sun-thu 09:00-18:00)");
	config_free(&c);
	CHECK(load("[escalation]\ncontacts = oncall\n", &c, &err) == SC_ECONFIG);
	CHECK_CONTAINS(err.buf, "invalid user id 'oncall' for 'contacts'");
	config_free(&c);
	CHECK(load("[escalation]\nlevels = 9\n", &c, &err) == SC_ECONFIG);
	config_free(&c);
	sbuf_release(&err);
}

TESTS(TEST(test_defaults), TEST(test_every_key),
      TEST(test_empty_file_keeps_defaults), TEST(test_values),
      TEST(test_errors), TEST(test_nul_byte),
      TEST(test_error_keeps_values_read), TEST(test_missing_file),
      TEST(test_too_big), TEST(test_pickle_key_beside_store),
      TEST(test_store_group),
      TEST(test_permissions), TEST(test_example_parses),
      TEST(test_example_documents_every_key),
      TEST(test_example_states_defaults), TEST(test_remind_keys))
