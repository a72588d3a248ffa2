/* SPDX-License-Identifier: MIT */
/*
 * config.h - bot.conf, an INI-style file (see bot.conf.example, which
 * documents every key).
 *
 * config_defaults() fills every field with its documented default, so a
 * struct config is always usable even without a file (console mode).
 * config_load() reads a file over the defaults; any unknown section or
 * key, a duplicate key, or a bad value is an error naming file:line.
 * Strings are owned by the struct and freed by config_free(). Secrets
 * are never held here: only the paths of the files that contain them.
 */
#ifndef SCRIBE_CONFIG_H
#define SCRIBE_CONFIG_H

#include <stdint.h>

#include "error.h"
#include "sbuf.h"

enum trust_policy { TRUST_SELF_SIGNED = 0, TRUST_CROSS_SIGNED };

/* A weekly window, e.g. "thu-sun" or "fri 17:00 - mon 08:00". Minutes
 * since Monday 00:00 local time, 0..10079; start > end wraps the week. */
struct weekly_window {
	int set;
	int start, end; /* inclusive start, exclusive end */
};

/* Ops hours: on the days of the mask, from start to end (minutes since
 * local midnight; end <= start runs past midnight), in the room's zone. */
struct daily_hours {
	int set;
	unsigned days; /* bit 0 = Monday .. bit 6 = Sunday */
	int start, end;
};

struct config {
	/* [matrix] */
	char *homeserver;        /* base URL, no trailing slash */
	char *user_id;           /* @scribe:example.org */
	char *password_file;     /* path; used by `scribe login` */
	char *access_token_file; /* path; written by `scribe login` */
	char *device_name;       /* initial_device_display_name */
	int sync_timeout_ms;     /* long-poll timeout, default 30000 */
	int timeline_limit;      /* sync filter timeline limit, default 50 */
	int retry_min_ms;        /* first back-off after a failure, default 250 */
	int64_t request_timeout; /* seconds a request may take beyond a long-poll, default 30 */
	int parallel_sends;      /* messages in flight at once (one per room), default 8 */
	char *ca_file;           /* PEM CA certificates for https; NULL = the system's */
	/* [store] */
	char *store_path;        /* default "scribe.db" */
	char *store_group;       /* group that may read the store, backups and
				    exports; NULL = nobody but scribe's user */
	int64_t store_gid;       /* its gid (config_load); -1 = none */
	/* [bot] */
	char *prefix;            /* command prefix, default "!" */
	char **allowed_inviters; /* NULL-terminated; "*:server" globs; NULL = nobody */
	char **allowed_rooms;    /* NULL-terminated room ids; NULL = any invite from an allowed inviter */
	char **admins;           /* NULL-terminated user ids; always privileged */
	int privileged_power;    /* power level needed for privileged commands, default 50 */
	char *timezone;          /* IANA zone for new rooms, default "UTC" */
	int log_level;           /* enum log_level */
	/* [digest] */
	int digest_minute;       /* minute of the day, default 9*60 */
	unsigned digest_days;    /* bit 0 = Monday .. bit 6 = Sunday; default mon-fri */
	int digest_post_empty;   /* default 0 */
	/* [sla] seconds */
	int64_t sla_critical, sla_major, sla_minor; /* 4h, 2d, 14d */
	/* [freeze] */
	struct weekly_window freeze; /* default unset */
	char **deploy_tags;      /* tags that mark a change as a deploy; default deploy,release */
	/* [meeting] seconds */
	int64_t meeting_max_duration; /* a meeting still running then is ended, default 4h */
	int64_t meeting_late_after;   /* a first line after this is "late", default 15m */
	/* [remind] */
	int64_t remind_before;   /* lead time of due reminders, seconds; -1 = off; default 1h */
	/* [escalation] */
	char **escalation_contacts; /* NULL-terminated user ids; default none */
	int escalation_levels;   /* escalations per item at most (0 = none), default 2 */
	/* [hours] */
	struct daily_hours hours;   /* ops hours; default unset = always */
	struct daily_hours on_call; /* on call for critical items; default unset */
	/* [crypto] */
	int crypto_enabled;      /* default 1 */
	char *pickle_key_file;   /* default "scribe.pickle-key" beside the store */
	int rotation_period_msgs;     /* default 100 */
	int64_t rotation_period_ms;   /* default one week */
	enum trust_policy trust;      /* default TRUST_SELF_SIGNED */
};

/* Fill cfg with defaults (allocates; free with config_free). */
sc_err config_defaults(struct config *cfg);
/* Read path over cfg. On error, a message "file:line: what is wrong" is
 * written to err (if not NULL) and cfg keeps the values read so far. */
sc_err config_load(struct config *cfg, const char *path, struct sbuf *err);
void config_free(struct config *cfg);

/*
 * Who may read the files this process creates from now on: the store
 * (and the -wal and -shm files SQLite makes beside it with the store's
 * mode and group), backups, exports and their folders. main() sets the
 * umask to 077, so without [store] group they are 0600 (folders 0700),
 * whatever umask scribe was started with. With a group, this sets the
 * umask to 027 and the effective group id to the group, so they are
 * created 0640 (folders 0750) and owned by it; secrets (access token,
 * pickle key) stay 0600. Call it after config_load, before the store
 * is opened or a thread is started. Without a group it does nothing.
 * SC_ECONFIG (err says why and what to do) when the process may not
 * take the group: it is not root, and the group is neither its real
 * nor its saved group id.
 */
sc_err config_apply_group(const struct config *cfg, struct sbuf *err);

/* 1 if user may invite scribe (exact id or "*:server" glob), else 0. */
int config_inviter_allowed(const struct config *cfg, const char *user_id);
/* 1 if room may be joined (any room when allowed_rooms is NULL). */
int config_room_allowed(const struct config *cfg, const char *room_id);
/* 1 if user is listed in admins. */
int config_is_admin(const struct config *cfg, const char *user_id);

#endif
