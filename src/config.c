/* SPDX-License-Identifier: MIT */
/*
 * config.c - the bot.conf reader (see config.h and bot.conf.example).
 *
 * The file is read whole and split into lines; every `key = value` is
 * looked up in one table of known keys that says which section it belongs
 * to, what kind of value it takes and which field of struct config it
 * fills. Values are applied as they are read, so a failed load leaves the
 * keys before the bad line in place, as config.h promises. Secrets never
 * pass through here: keys that would hold one are refused with a pointer
 * to the *_file key, and the file's bytes are wiped before they are freed
 * in case someone pasted a token anyway.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "utf8.h"
#include "when.h"
#include "banned.h"

#define CONFIG_MAX_BYTES ((size_t)1 << 20)
#define ID_MAX 255

enum key_type {
	K_URL,          /* http(s)://host, trailing slashes dropped */
	K_USER,         /* @local:server */
	K_PATH,         /* a file name */
	K_TEXT,         /* free text on one line */
	K_SYNC_TIMEOUT, /* duration -> int milliseconds, at most 1h */
	K_INT,          /* int in [min, max] */
	K_PREFIX,       /* 1..8 characters, no white space */
	K_INVITERS,     /* list of user ids or "*:server" */
	K_ROOMS,        /* list of room ids */
	K_USERS,        /* list of user ids */
	K_TZ,           /* IANA zone */
	K_LOG_LEVEL,    /* error|warn|info|debug */
	K_HHMM,         /* int minute of the day */
	K_DAYS,         /* unsigned day mask */
	K_BOOL,         /* int 0/1 */
	K_DURATION,     /* int64 seconds */
	K_DURATION_MS,  /* int64 milliseconds */
	K_WINDOW,       /* struct weekly_window */
	K_TAGS,         /* list of lowercase tags without '#' */
	K_TRUST,        /* enum trust_policy */
	K_GROUP,        /* an existing group's name; its gid in store_gid */
	K_LEAD,         /* int64 seconds >= 0, or off = -1 */
	K_HOURS,        /* struct daily_hours */
};

struct key_def {
	const char *section;
	const char *key;
	enum key_type type;
	size_t off; /* offsetof(struct config, field) */
	int min, max;
};

#define F(field) offsetof(struct config, field)

static const struct key_def keys[] = {
	{ "matrix", "homeserver", K_URL, F(homeserver), 0, 0 },
	{ "matrix", "user_id", K_USER, F(user_id), 0, 0 },
	{ "matrix", "password_file", K_PATH, F(password_file), 0, 0 },
	{ "matrix", "access_token_file", K_PATH, F(access_token_file), 0, 0 },
	{ "matrix", "device_name", K_TEXT, F(device_name), 0, 0 },
	{ "matrix", "sync_timeout", K_SYNC_TIMEOUT, F(sync_timeout_ms), 0, 0 },
	{ "matrix", "timeline_limit", K_INT, F(timeline_limit), 1, 1000 },
	{ "matrix", "retry_min_ms", K_INT, F(retry_min_ms), 1, 60000 },
	{ "matrix", "request_timeout", K_DURATION, F(request_timeout), 0, 0 },
	{ "matrix", "parallel_sends", K_INT, F(parallel_sends), 1, 16 }, /* MX_PARALLEL_MAX */
	{ "matrix", "ca_file", K_PATH, F(ca_file), 0, 0 },
	{ "store", "path", K_PATH, F(store_path), 0, 0 },
	{ "store", "group", K_GROUP, F(store_group), 0, 0 },
	{ "bot", "prefix", K_PREFIX, F(prefix), 0, 0 },
	{ "bot", "allowed_inviters", K_INVITERS, F(allowed_inviters), 0, 0 },
	{ "bot", "allowed_rooms", K_ROOMS, F(allowed_rooms), 0, 0 },
	{ "bot", "admins", K_USERS, F(admins), 0, 0 },
	{ "bot", "privileged_power", K_INT, F(privileged_power), 0, 100 },
	{ "bot", "timezone", K_TZ, F(timezone), 0, 0 },
	{ "bot", "log_level", K_LOG_LEVEL, F(log_level), 0, 0 },
	{ "digest", "time", K_HHMM, F(digest_minute), 0, 0 },
	{ "digest", "days", K_DAYS, F(digest_days), 0, 0 },
	{ "digest", "post_empty", K_BOOL, F(digest_post_empty), 0, 0 },
	{ "sla", "critical", K_DURATION, F(sla_critical), 0, 0 },
	{ "sla", "major", K_DURATION, F(sla_major), 0, 0 },
	{ "sla", "minor", K_DURATION, F(sla_minor), 0, 0 },
	{ "freeze", "window", K_WINDOW, F(freeze), 0, 0 },
	{ "freeze", "deploy_tags", K_TAGS, F(deploy_tags), 0, 0 },
	{ "meeting", "max_duration", K_DURATION, F(meeting_max_duration), 0, 0 },
	{ "meeting", "late_after", K_DURATION, F(meeting_late_after), 0, 0 },
	{ "remind", "before", K_LEAD, F(remind_before), 0, 0 },
	{ "escalation", "contacts", K_USERS, F(escalation_contacts), 0, 0 },
	{ "escalation", "levels", K_INT, F(escalation_levels), 0, 5 },
	{ "hours", "window", K_HOURS, F(hours), 0, 0 },
	{ "hours", "on_call", K_HOURS, F(on_call), 0, 0 },
	{ "crypto", "enabled", K_BOOL, F(crypto_enabled), 0, 0 },
	{ "crypto", "pickle_key_file", K_PATH, F(pickle_key_file), 0, 0 },
	{ "crypto", "rotation_period_msgs", K_INT, F(rotation_period_msgs), 1,
	  10000 },
	{ "crypto", "rotation_period", K_DURATION_MS, F(rotation_period_ms), 0,
	  0 },
	{ "crypto", "trust", K_TRUST, F(trust), 0, 0 },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = { "matrix", "store",  "bot",   "digest",
					"sla",    "freeze", "crypto", "meeting",
					"remind", "escalation", "hours" };

/* Keys people reach for that would put a secret in the file. */
static const struct {
	const char *key, *instead;
} secret_keys[] = {
	{ "password", "password_file" },
	{ "access_token", "access_token_file" },
	{ "token", "access_token_file" },
	{ "pickle_key", "pickle_key_file" },
};

#define DEFAULT_PICKLE_KEY "scribe.pickle-key"

/* ---- small helpers ---- */

static void free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

static char **dup_list(const char *const *items)
{
	size_t n = 0;
	char **list = NULL;

	while (items[n])
		n++;
	list = calloc(n + 1, sizeof(*list));
	if (!list)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		list[i] = strdup(items[i]);
		if (!list[i]) {
			free_list(list);
			return NULL;
		}
	}
	return list;
}

static int has_space_or_ctl(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

static int has_ctl(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

/* "@local:server": both parts non-empty, no white space. */
static int valid_user_id(const char *s)
{
	const char *colon;

	if (!s || s[0] != '@' || strlen(s) > ID_MAX || has_space_or_ctl(s))
		return 0;
	colon = strchr(s + 1, ':');
	return colon && colon > s + 1 && colon[1] != '\0';
}

/* "!opaque:server", or "!opaque" (room versions whose ids carry no
 * server name). */
static int valid_room_id(const char *s)
{
	return s && s[0] == '!' && s[1] != '\0' && s[1] != ':' &&
	       strlen(s) <= ID_MAX && !has_space_or_ctl(s);
}

static int valid_inviter(const char *s)
{
	if (s && s[0] == '*')
		return s[1] == ':' && s[2] != '\0' && strlen(s) <= ID_MAX &&
		       !has_space_or_ctl(s) && !strchr(s + 2, '*');
	return valid_user_id(s);
}

/* The server part of a valid user id. */
static const char *server_of(const char *user_id)
{
	return strchr(user_id + 1, ':') + 1;
}

/* A value as it may appear in a message: at most 60 bytes (not cutting a
 * character), control characters shown as '?'. */
static void shown(const char *v, char *buf, size_t size)
{
	size_t len = strlen(v), n = utf8_cut(v, len, 60);

	if (n >= size - 4)
		n = size - 4;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

struct parser {
	struct config *cfg;
	const char *path;
	struct sbuf *err;
	int line;
};

static sc_err fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write "path:line: message" to the error buffer; always SC_ECONFIG. */
static sc_err fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->err)
		return SC_ECONFIG;
	if (sbuf_printf(p->err, "%s:%d: ", p->path, p->line) == SC_OK) {
		va_start(ap, fmt);
		sbuf_vprintf(p->err, fmt, ap);
		va_end(ap);
	}
	return SC_ECONFIG;
}

static sc_err bad_value(struct parser *p, const char *what, const char *key,
			const char *value, const char *hint)
{
	char v[80];

	shown(value, v, sizeof(v));
	return fail(p, "invalid %s '%s' for '%s'%s%s%s", what, v, key,
		    hint ? " (expected " : "", hint ? hint : "",
		    hint ? ")" : "");
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = 1;
			return 1;
		}
		if (!strcasecmp(v, no[i])) {
			*out = 0;
			return 1;
		}
	}
	return 0;
}

/* A decimal number without sign in [min, max]. */
static int parse_int(const char *v, int min, int max, int *out)
{
	long long n = 0;

	if (!*v)
		return 0;
	for (const char *s = v; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		n = n * 10 + (*s - '0');
		if (n > max)
			return 0;
	}
	if (n < min)
		return 0;
	*out = (int)n;
	return 1;
}

/* Number of UTF-8 characters in s (s valid). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * Split a comma list into a new NULL-terminated array (NULL for an empty
 * value). Items are trimmed; tags lose a leading '#' and are lowercased.
 * check() vets each item; a bad or empty item is reported.
 */
static sc_err parse_list(struct parser *p, const struct key_def *def,
			 const char *value, char ***out)
{
	char **list = NULL;
	size_t n = 0;
	const char *s = value;
	sc_err err = SC_OK;

	if (!*value) {
		*out = NULL;
		return SC_OK;
	}
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char *item, **grown;
		int ok;

		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (def->type == K_TAGS && len && *s == '#') {
			s++;
			len--;
		}
		if (!len) {
			err = fail(p, "empty item in the list for '%s'",
				   def->key);
			goto out;
		}
		item = strndup(s, len);
		if (!item) {
			err = SC_ENOMEM;
			goto out;
		}
		switch (def->type) {
		case K_INVITERS:
			ok = valid_inviter(item);
			break;
		case K_ROOMS:
			ok = valid_room_id(item);
			break;
		case K_TAGS:
			for (char *c = item; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			ok = !has_space_or_ctl(item) && !strchr(item, '#');
			break;
		default:
			ok = valid_user_id(item);
			break;
		}
		if (!ok) {
			err = bad_value(p,
					def->type == K_ROOMS  ? "room id"
					: def->type == K_TAGS ? "tag"
							      : "user id",
					def->key, item,
					def->type == K_ROOMS ? "!room:server"
					: def->type == K_TAGS
						? "a word such as deploy"
					: def->type == K_INVITERS
						? "@local:server or *:server"
						: "@local:server");
			free(item);
			goto out;
		}
		grown = realloc(list, (n + 2) * sizeof(*list));
		if (!grown) {
			free(item);
			err = SC_ENOMEM;
			goto out;
		}
		list = grown;
		list[n++] = item;
		list[n] = NULL;
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = list;
	list = NULL;
out:
	free_list(list);
	return err;
}

/* The gid of group name into *gid: 0, ENOENT when there is no such
 * group, ENOMEM, or the errno of the lookup. */
static int group_id(const char *name, int64_t *gid)
{
	struct group gr, *found = NULL;
	size_t size = 1024;
	char *buf = NULL;
	int rc;

	do {
		char *nb = realloc(buf, size *= 4);

		if (!nb) {
			free(buf);
			return ENOMEM;
		}
		buf = nb;
		rc = getgrnam_r(name, &gr, buf, size, &found);
	} while (rc == ERANGE && size < ((size_t)1 << 24));
	if (!rc && found)
		*gid = (int64_t)found->gr_gid;
	free(buf);
	/* glibc's manual: these too mean "not found" */
	if (!rc && !found)
		rc = ENOENT;
	return rc == ESRCH || rc == EBADF || rc == EPERM ? ENOENT : rc;
}

static sc_err set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return SC_ENOMEM;
	free(*slot);
	*slot = copy;
	return SC_OK;
}

/* Check value for key def and store it in the config. */
static sc_err apply(struct parser *p, const struct key_def *def,
		    const char *value)
{
	void *field = (char *)p->cfg + def->off;
	int64_t secs;
	int i;
	unsigned mask;
	char **list = NULL;
	sc_err err;

	if (!*value && def->type != K_INVITERS && def->type != K_ROOMS &&
	    def->type != K_USERS && def->type != K_TAGS &&
	    def->type != K_WINDOW && def->type != K_GROUP &&
	    def->type != K_HOURS)
		return fail(p, "missing value for '%s'", def->key);
	switch (def->type) {
	case K_URL: {
		size_t len = strlen(value), scheme;

		if (!strncasecmp(value, "https://", 8))
			scheme = 8;
		else if (!strncasecmp(value, "http://", 7))
			scheme = 7;
		else
			scheme = 0;
		while (len > scheme && value[len - 1] == '/')
			len--;
		if (!scheme || len == scheme || has_space_or_ctl(value) ||
		    value[scheme] == '/')
			return bad_value(p, "url", def->key, value,
					 "https://host");
		{
			char *copy = strndup(value, len);

			if (!copy)
				return SC_ENOMEM;
			free(*(char **)field);
			*(char **)field = copy;
		}
		return SC_OK;
	}
	case K_USER:
		if (!valid_user_id(value))
			return bad_value(p, "user id", def->key, value,
					 "@local:server");
		return set_string(field, value);
	case K_PATH:
	case K_TEXT:
		if (has_ctl(value))
			return bad_value(p, def->type == K_PATH ? "path" : "text",
					 def->key, value, NULL);
		return set_string(field, value);
	case K_SYNC_TIMEOUT:
		if (when_parse_duration(value, &secs) != SC_OK)
			return bad_value(p, "duration", def->key, value,
					 "e.g. 30s");
		if (secs > 3600)
			return bad_value(p, "duration", def->key, value,
					 "at most 1h");
		*(int *)field = (int)(secs * 1000);
		return SC_OK;
	case K_INT: {
		char hint[32];

		if (!parse_int(value, def->min, def->max, &i)) {
			snprintf(hint, sizeof(hint), "%d..%d", def->min,
				 def->max);
			return bad_value(p, "number", def->key, value, hint);
		}
		*(int *)field = i;
		return SC_OK;
	}
	case K_PREFIX:
		if (!utf8_valid(value, strlen(value)) ||
		    has_space_or_ctl(value) || utf8_chars(value) > 8)
			return bad_value(p, "prefix", def->key, value,
					 "1 to 8 characters without spaces");
		return set_string(field, value);
	case K_INVITERS:
	case K_ROOMS:
	case K_USERS:
	case K_TAGS:
		err = parse_list(p, def, value, &list);
		if (err)
			return err;
		free_list(*(char ***)field);
		*(char ***)field = list;
		return SC_OK;
	case K_TZ:
		if (!when_tz_valid(value))
			return bad_value(p, "time zone", def->key, value,
					 "a name such as Europe/Berlin or UTC");
		return set_string(field, value);
	case K_LOG_LEVEL: {
		static const char *const names[] = { "error", "warn", "info",
						     "debug" };
		static const int levels[] = { LOG_ERROR, LOG_WARN, LOG_INFO,
					      LOG_DEBUG };

		for (size_t k = 0; k < 4; k++) {
			if (!strcasecmp(value, names[k])) {
				*(int *)field = levels[k];
				return SC_OK;
			}
		}
		return bad_value(p, "log level", def->key, value,
				 "error, warn, info or debug");
	}
	case K_HHMM:
		if (when_parse_hhmm(value, &i) != SC_OK)
			return bad_value(p, "time", def->key, value, "HH:MM");
		*(int *)field = i;
		return SC_OK;
	case K_DAYS:
		if (when_parse_days(value, &mask) != SC_OK)
			return bad_value(p, "days", def->key, value,
					 "e.g. mon-fri or mon,wed,fri");
		*(unsigned *)field = mask;
		return SC_OK;
	case K_BOOL:
		if (!parse_bool(value, &i))
			return bad_value(p, "value", def->key, value,
					 "yes or no");
		*(int *)field = i;
		return SC_OK;
	case K_DURATION:
	case K_DURATION_MS:
		if (when_parse_duration(value, &secs) != SC_OK)
			return bad_value(p, "duration", def->key, value,
					 "e.g. 30m, 4h, 2d or 1d12h");
		*(int64_t *)field =
			def->type == K_DURATION_MS ? secs * 1000 : secs;
		return SC_OK;
	case K_WINDOW: {
		struct weekly_window *w = field;
		int start, end;

		if (!*value) {
			w->set = 0;
			return SC_OK;
		}
		if (when_parse_window(value, &start, &end) != SC_OK)
			return bad_value(p, "window", def->key, value,
					 "e.g. thu-sun or fri 17:00 - mon 08:00");
		w->set = 1;
		w->start = start;
		w->end = end;
		return SC_OK;
	}
	case K_GROUP: {
		int64_t gid = -1;
		int rc;
		char v[80];

		if (!*value) { /* empty: no group */
			free(*(char **)field);
			*(char **)field = NULL;
			p->cfg->store_gid = -1;
			return SC_OK;
		}
		rc = group_id(value, &gid);
		if (rc == ENOMEM)
			return SC_ENOMEM;
		if (!rc) {
			err = set_string(field, value);
			if (!err)
				p->cfg->store_gid = gid;
			return err;
		}
		shown(value, v, sizeof(v));
		if (rc == ENOENT)
			return fail(p, "unknown group '%s' for '%s' (expected "
				       "the name of a group of this system)",
				    v, def->key);
		return fail(p, "cannot look up group '%s' for '%s': %s", v,
			    def->key, strerror(rc));
	}
	case K_LEAD:
		if (!strcasecmp(value, "off") || !strcasecmp(value, "no")) {
			*(int64_t *)field = -1;
			return SC_OK;
		}
		if (!strcmp(value, "0")) {
			*(int64_t *)field = 0;
			return SC_OK;
		}
		if (when_parse_duration(value, &secs) != SC_OK ||
		    secs > 30 * 86400)
			return bad_value(p, "lead time", def->key, value,
					 "e.g. 1h or 30m, 0 for the due time, "
					 "or off");
		*(int64_t *)field = secs;
		return SC_OK;
	case K_HOURS: {
		struct daily_hours *h = field;
		unsigned days;
		int start, end;

		if (!*value || !strcasecmp(value, "always")) {
			h->set = 0;
			return SC_OK;
		}
		if (when_parse_hours(value, &days, &start, &end) != SC_OK)
			return bad_value(p, "hours", def->key, value,
					 "e.g. sun-thu 09:00-18:00");
		h->set = 1;
		h->days = days;
		h->start = start;
		h->end = end;
		return SC_OK;
	}
	case K_TRUST:
		if (!strcasecmp(value, "self-signed"))
			*(enum trust_policy *)field = TRUST_SELF_SIGNED;
		else if (!strcasecmp(value, "cross-signed"))
			*(enum trust_policy *)field = TRUST_CROSS_SIGNED;
		else
			return bad_value(p, "trust policy", def->key, value,
					 "self-signed or cross-signed");
		return SC_OK;
	}
	return SC_EINVAL;
}

/* ---- lines ---- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*e = '\0';
	return s;
}

/* Remove the quotes from a "..." value in place; \" and \\ are the only
 * escapes. Unquoted values are left alone. */
static sc_err unquote(struct parser *p, const char *key, char *v)
{
	char *r = v + 1, *w = v;

	if (v[0] != '"')
		return SC_OK;
	for (;;) {
		if (*r == '\0')
			return fail(p, "unterminated quote in the value for '%s'",
				    key);
		if (*r == '"')
			break;
		if (*r == '\\') {
			if (r[1] != '"' && r[1] != '\\')
				return fail(p,
					    "invalid escape in the value for "
					    "'%s' (only \\\" and \\\\)",
					    key);
			r++;
		}
		*w++ = *r++;
	}
	if (r[1] != '\0')
		return fail(p, "text after the closing quote for '%s'", key);
	*w = '\0';
	return SC_OK;
}

static const struct key_def *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if ((!section || !strcmp(keys[i].section, section)) &&
		    !strcmp(keys[i].key, key))
			return &keys[i];
	return NULL;
}

static int known_section(const char *name)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!strcmp(sections[i], name))
			return 1;
	return 0;
}

/* "dir/scribe.pickle-key" for a store at "dir/x.db". */
static sc_err pickle_beside_store(struct config *cfg)
{
	const char *slash = strrchr(cfg->store_path, '/');
	struct sbuf sb;
	sc_err err;

	sbuf_init(&sb, 0);
	if (slash)
		err = sbuf_add(&sb, cfg->store_path,
			       (size_t)(slash - cfg->store_path) + 1);
	else
		err = SC_OK;
	if (!err)
		err = sbuf_puts(&sb, DEFAULT_PICKLE_KEY);
	if (!err) {
		free(cfg->pickle_key_file);
		cfg->pickle_key_file = sbuf_detach(&sb, NULL);
		if (!cfg->pickle_key_file)
			err = SC_ENOMEM;
	}
	sbuf_release(&sb);
	return err;
}

static sc_err read_file(const char *path, struct sbuf *out, struct sbuf *errb)
{
	char chunk[4096];
	FILE *f = fopen(path, "rb");
	sc_err err = SC_OK;
	size_t n;

	if (!f) {
		if (errb)
			sbuf_printf(errb, "cannot open config '%s': %s", path,
				    strerror(errno));
		return SC_EIO;
	}
	for (;;) {
		n = fread(chunk, 1, sizeof(chunk), f);
		if (n == 0)
			break;
		err = sbuf_add(out, chunk, n);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = SC_EIO;
	fclose(f);
	if (err && errb)
		sbuf_printf(errb, "cannot read config '%s': %s", path,
			    err == SC_ETOOBIG ? "larger than 1 MiB"
			    : err == SC_EIO   ? strerror(errno)
					      : sc_strerror(err));
	explicit_bzero(chunk, sizeof(chunk));
	return err == SC_ETOOBIG ? SC_ECONFIG : err;
}

/* One line (NUL-terminated, modifiable). */
static sc_err parse_line(struct parser *p, char *raw, char *section,
			 size_t section_size, int *seen, int *set_store,
			 int *set_pickle)
{
	const struct key_def *def;
	char *line = trim(raw), *eq, *key, *value, *end;
	size_t idx;
	sc_err err;

	if (!utf8_valid(line, strlen(line)))
		return fail(p, "invalid utf-8");
	if (!*line || *line == '#' || *line == ';')
		return SC_OK;
	if (*line == '[') {
		end = line + strlen(line) - 1;
		if (*end != ']')
			return fail(p, "invalid section header (expected "
				       "'[section]')");
		*end = '\0';
		line = trim(line + 1);
		if (!known_section(line)) {
			char v[80];

			shown(line, v, sizeof(v));
			return fail(p, "unknown section '[%s]'", v);
		}
		snprintf(section, section_size, "%s", line);
		return SC_OK;
	}
	eq = strchr(line, '=');
	if (!eq)
		/* The line is not echoed: it may be a pasted secret. */
		return fail(p, "missing '=' (expected 'key = value' or "
			       "'[section]')");
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key)
		return fail(p, "missing key before '='");
	for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]);
	     i++)
		if (!strcmp(key, secret_keys[i].key))
			return fail(p,
				    "secrets do not belong in the config: "
				    "put the secret in a file (mode 0600) "
				    "and set '%s' instead of '%s'",
				    secret_keys[i].instead, key);
	if (!section[0]) {
		char v[80];

		shown(key, v, sizeof(v));
		return fail(p, "key '%s' outside a section", v);
	}
	def = find_key(section, key);
	if (!def) {
		const struct key_def *elsewhere = find_key(NULL, key);
		char v[80];

		shown(key, v, sizeof(v));
		if (elsewhere)
			return fail(p, "unknown key '%s' in [%s] (it belongs in "
				       "[%s])", v, section, elsewhere->section);
		return fail(p, "unknown key '%s' in [%s]", v, section);
	}
	idx = (size_t)(def - keys);
	if (seen[idx])
		return fail(p, "duplicate key '%s' in [%s] (first set on line %d)",
			    key, section, seen[idx]);
	seen[idx] = p->line;
	err = unquote(p, key, value);
	if (err)
		return err;
	err = apply(p, def, value);
	if (err)
		return err;
	if (def->off == F(store_path))
		*set_store = 1;
	if (def->off == F(pickle_key_file))
		*set_pickle = 1;
	return SC_OK;
}

/* ---- public ---- */

sc_err config_defaults(struct config *cfg)
{
	static const char *const tags[] = { "deploy", "release", NULL };
	struct config c;

	if (!cfg)
		return SC_EINVAL;
	memset(&c, 0, sizeof(c));
	c.device_name = strdup("scribe");
	c.sync_timeout_ms = 30000;
	c.timeline_limit = 50;
	c.retry_min_ms = 250;
	c.request_timeout = 30;
	c.parallel_sends = 8;
	c.store_path = strdup("scribe.db");
	c.prefix = strdup("!");
	c.privileged_power = 50;
	c.timezone = strdup("UTC");
	c.log_level = LOG_INFO;
	c.digest_minute = 9 * 60;
	c.digest_days = 0x1f;
	c.digest_post_empty = 0;
	c.sla_critical = 4 * 3600;
	c.sla_major = 2 * 86400;
	c.sla_minor = 14 * 86400;
	c.deploy_tags = dup_list(tags);
	c.meeting_max_duration = 4 * 3600;
	c.meeting_late_after = 15 * 60;
	c.remind_before = 3600;
	c.escalation_levels = 2;
	c.crypto_enabled = 1;
	c.pickle_key_file = strdup(DEFAULT_PICKLE_KEY);
	c.rotation_period_msgs = 100;
	c.rotation_period_ms = (int64_t)7 * 86400 * 1000;
	c.trust = TRUST_SELF_SIGNED;
	c.store_gid = -1;
	if (!c.device_name || !c.store_path || !c.prefix || !c.timezone ||
	    !c.deploy_tags || !c.pickle_key_file) {
		config_free(&c);
		return SC_ENOMEM;
	}
	*cfg = c;
	return SC_OK;
}

sc_err config_load(struct config *cfg, const char *path, struct sbuf *err)
{
	struct parser p = { cfg, path, err, 0 };
	struct sbuf file;
	int seen[NKEYS] = { 0 };
	char section[16] = "";
	int set_store = 0, set_pickle = 0;
	char *s, *end;
	sc_err rc;

	if (!cfg || !path)
		return SC_EINVAL;
	sbuf_init(&file, CONFIG_MAX_BYTES);
	rc = read_file(path, &file, err);
	if (rc)
		goto out;
	s = file.buf;
	end = file.buf + file.len;
	if (file.len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		s += 3; /* a byte-order mark from a Windows editor */
	while (s <= end && !rc) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *stop = nl ? nl : end;
		size_t len = (size_t)(stop - s);

		p.line++;
		*stop = '\0';
		if (memchr(s, '\0', len))
			rc = fail(&p, "nul byte in the line");
		else
			rc = parse_line(&p, s, section, sizeof(section), seen,
					&set_store, &set_pickle);
		if (!nl)
			break;
		s = nl + 1;
	}
	if (!rc && set_store && !set_pickle)
		rc = pickle_beside_store(cfg);
out:
	sbuf_wipe(&file);
	return rc;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->homeserver);
	free(cfg->user_id);
	free(cfg->password_file);
	free(cfg->access_token_file);
	free(cfg->ca_file);
	free(cfg->device_name);
	free(cfg->store_path);
	free(cfg->store_group);
	free(cfg->prefix);
	free_list(cfg->allowed_inviters);
	free_list(cfg->allowed_rooms);
	free_list(cfg->admins);
	free(cfg->timezone);
	free_list(cfg->deploy_tags);
	free_list(cfg->escalation_contacts);
	free(cfg->pickle_key_file);
	memset(cfg, 0, sizeof(*cfg));
}

int config_inviter_allowed(const struct config *cfg, const char *user_id)
{
	if (!cfg || !cfg->allowed_inviters || !valid_user_id(user_id))
		return 0;
	for (char **p = cfg->allowed_inviters; *p; p++) {
		if ((*p)[0] == '*') {
			/* Server names are DNS names: case does not matter. */
			if (!strcasecmp(*p + 2, server_of(user_id)))
				return 1;
		} else if (!strcmp(*p, user_id)) {
			return 1;
		}
	}
	return 0;
}

int config_room_allowed(const struct config *cfg, const char *room_id)
{
	if (!cfg || !room_id)
		return 0;
	if (!cfg->allowed_rooms)
		return 1;
	for (char **p = cfg->allowed_rooms; *p; p++)
		if (!strcmp(*p, room_id))
			return 1;
	return 0;
}

int config_is_admin(const struct config *cfg, const char *user_id)
{
	if (!cfg || !cfg->admins || !user_id)
		return 0;
	for (char **p = cfg->admins; *p; p++)
		if (!strcmp(*p, user_id))
			return 1;
	return 0;
}

sc_err config_apply_group(const struct config *cfg, struct sbuf *err)
{
	gid_t gid;

	if (!cfg || cfg->store_gid < 0)
		return SC_OK;
	gid = (gid_t)cfg->store_gid;
	/* as root, or with the group as the real or saved group id (sg,
	 * sudo -g, systemd's Group=): the kernel gives new files the
	 * effective group, SQLite's -wal and -shm included */
	if (getegid() != gid && setegid(gid)) {
		if (err)
			sbuf_printf(err,
				    "cannot create files owned by group "
				    "'%s' ([store] group): %s; run scribe "
				    "as root, or with that group (systemd's "
				    "Group=, sudo -g, sg)",
				    cfg->store_group, strerror(errno));
		return SC_ECONFIG;
	}
	umask(027);
	return SC_OK;
}
