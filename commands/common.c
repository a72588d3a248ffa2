/* SPDX-License-Identifier: MIT */
/*
 * common.c - parsing and rendering shared by the command families:
 * free-text items with mentions, due dates, severities and #tags; record
 * lookup by short id with the room check; one-line record rendering and
 * grouped lists. Nothing here does I/O: it reads the store and appends
 * to the reply.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "utf8.h"
#include "when.h"
#include "banned.h"

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Append a copy of s to *v unless present. */
static sc_err strv_add(char ***v, size_t *n, const char *s)
{
	char **nv;
	char *dup;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return SC_OK;
	dup = strdup(s);
	if (!dup)
		return SC_ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(dup);
		return SC_ENOMEM;
	}
	nv[(*n)++] = dup;
	*v = nv;
	return SC_OK;
}

void item_clear(struct item *it)
{
	strv_free(it->assignees, it->nassignees);
	strv_free(it->tags, it->ntags);
	free(it->text);
	free(it->severity);
	free(it->remark);
	memset(it, 0, sizeof(*it));
}

/* Join words from..to with single spaces; raw: as typed. */
static char *join(const struct args *a, int from, int to, int raw)
{
	struct sbuf sb;

	sbuf_init(&sb, CMD_LINE_MAX);
	for (int i = from; i < to && i < a->argc; i++) {
		if (i > from && sbuf_putc(&sb, ' ') != SC_OK)
			goto fail;
		if (sbuf_puts(&sb, raw ? arg_raw(a, i) : a->argv[i]) != SC_OK)
			goto fail;
	}
	return sbuf_detach(&sb, NULL);
fail:
	sbuf_release(&sb);
	return NULL;
}

char *args_join(const struct args *a, int from, int to)
{
	return join(a, from, to, 1);
}

char *args_join_words(const struct args *a, int from, int to)
{
	return join(a, from, to, 0);
}

int is_severity(const char *s)
{
	return !strcasecmp(s, "critical") || !strcasecmp(s, "major") ||
	       !strcasecmp(s, "minor");
}

int64_t severity_due(const struct cmd_ctx *c, const char *sev)
{
	if (!sev)
		return 0;
	if (!strcmp(sev, "critical"))
		return c->now + c->cfg->sla_critical;
	if (!strcmp(sev, "major"))
		return c->now + c->cfg->sla_major;
	return c->now + c->cfg->sla_minor;
}

int is_tag(const char *w)
{
	size_t n = strlen(w);

	if (w[0] != '#' || n < 2 || n > 65)
		return 0;
	for (const char *p = w + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-/", *p))
			return 0;
	return 1;
}

/* Words after which a #tag is the sentence's object, not a label. */
static int is_preposition(const char *w)
{
	static const char *const preps[] = { "on", "at", "in", "for", "to",
		"from", "of", "and", "with", "into", "onto", "via", NULL };
	for (const char *const *p = preps; *p; p++)
		if (!strcasecmp(w, *p))
			return 1;
	return 0;
}

/* "me" or "@me": the sender. */
static int is_me(const char *w)
{
	return !strcasecmp(w, "me") || !strcasecmp(w, "@me");
}

sc_err resolve_user(struct cmd_ctx *c, const char *name, char **out)
{
	char *n = strdup(name);
	char *cands = NULL;
	size_t len;
	sc_err err;

	if (!n)
		return SC_ENOMEM;
	/* "elon:" and "@elon," as typed before the text */
	len = strlen(n);
	while (len > 1 && strchr(":,;)", n[len - 1]))
		n[--len] = '\0';
	if (is_me(n[0] == '(' ? n + 1 : n)) {
		*out = strdup(c->sender);
		free(n);
		return *out ? SC_OK : SC_ENOMEM;
	}
	err = store_member_resolve(c->st, c->room_id,
				   n[0] == '(' ? n + 1 : n, out, &cands);
	if (err == SC_EAMBIGUOUS && cands && !strchr(cands, ',')) {
		/* the one member whose name starts with it: no guess */
		*out = cands;
		cands = NULL;
		err = SC_OK;
	}
	if (err == SC_ENOTFOUND)
		err = cmd_fail(c, SC_EINVAL, "nobody called '%s' in this room", n);
	else if (err == SC_EAMBIGUOUS)
		err = cmd_fail(c, SC_EINVAL,
			       "'%s' could be %s; use the full id", n,
			       cands ? cands : "several people");
	free(cands);
	free(n);
	return err;
}

/* Most words a display name typed after an @ may take ("@Elon Musk"). */
#define NAME_WORDS_MAX 4

/* The member called exactly name here (a whole match, no prefix), as a
 * new string in *out; SC_ENOTFOUND / SC_EAMBIGUOUS otherwise (nothing
 * is reported). */
static sc_err exact_member(struct cmd_ctx *c, const char *name, char **out)
{
	if (is_me(name)) {
		*out = strdup(c->sender);
		return *out ? SC_OK : SC_ENOMEM;
	}
	return store_member_resolve(c->st, c->room_id, name, out, NULL);
}

sc_err take_person(struct cmd_ctx *c, const struct args *a, int *i, int to,
		   char **out)
{
	const char *w = a->argv[*i];
	struct sbuf name;
	sc_err err = SC_OK;

	if (a->quoted[*i] == ARG_PLAIN && !(w[0] == '@' && strchr(w, ':'))) {
		/* "@Elon Musk": the longest run of words that is exactly
		 * someone's display name */
		int most = to - *i < NAME_WORDS_MAX ? to - *i : NAME_WORDS_MAX;
		int found = 0;

		sbuf_init(&name, CMD_LINE_MAX);
		for (int k = most; k >= 2 && !err && !found; k--) {
			size_t len;
			int plain = 1;

			sbuf_setlen(&name, 0);
			for (int j = 0; j < k && !err; j++) {
				plain &= a->quoted[*i + j] == ARG_PLAIN;
				err = sbuf_printf(&name, "%s%s", j ? " " : "",
						  a->argv[*i + j] + (!j && w[0] == '@'));
			}
			if (err || !plain)
				continue;
			len = name.len;
			while (len > 1 && strchr(":,;", name.buf[len - 1]))
				len--;
			sbuf_setlen(&name, len);
			err = store_member_resolve(c->st, c->room_id, name.buf, out,
						   NULL);
			if (!err) {
				*i += k;
				found = 1;
			}
			err = err == SC_ENOTFOUND || err == SC_EAMBIGUOUS ? SC_OK : err;
		}
		sbuf_release(&name);
		if (err || found)
			return err;
	}
	err = resolve_user(c, w, out);
	if (!err)
		(*i)++;
	return err;
}

/* Whether w could be a name typed before a colon: letters, digits and
 * ._=- (any non-ASCII letter), nothing else. */
static int name_word(const char *w, size_t n)
{
	if (!n || n > 255)
		return 0;
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)w[k];
		if (ch < 0x80 && !isalnum(ch) && !strchr("._=-", ch))
			return 0;
	}
	return 1;
}

/* Add the people of one name of a "a, b:" list to *v; *bad gets the
 * first name nobody here has (a new string). */
static sc_err lead_one(struct cmd_ctx *c, const char *s, size_t n, char ***v,
		       size_t *nv, char **bad)
{
	char *name, *uid = NULL;
	sc_err err;

	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n && *s == '@') {
		s++;
		n--;
	}
	if (!n)
		return SC_OK;
	name = strndup(s, n);
	if (!name)
		return SC_ENOMEM;
	err = exact_member(c, name, &uid);
	if (!err) {
		err = strv_add(v, nv, uid);
	} else if (err == SC_ENOTFOUND || err == SC_EAMBIGUOUS) {
		err = SC_OK;
		if (!*bad) {
			*bad = name;
			name = NULL;
		}
	}
	free(uid);
	free(name);
	return err;
}

sc_err lead_names(struct cmd_ctx *c, const struct args *a, int from, int to,
		  char ***people, size_t *npeople, int *used, char **remark)
{
	struct sbuf seg;
	char **v = NULL, *bad = NULL;
	size_t nv = 0;
	int end = -1, seps = 0;
	sc_err err = SC_OK;

	*used = 0;
	*remark = NULL;
	/* the first word ending in ':' among the first few, all plain */
	for (int k = from; k < to && k < from + 8; k++) {
		const char *w = a->argv[k];
		size_t n = strlen(w);
		if (a->quoted[k] != ARG_PLAIN || !strncasecmp(w, "due:", 4))
			break;
		if (n > 1 && w[n - 1] == ':') {
			end = k;
			break;
		}
	}
	if (end < 0)
		return SC_OK;
	sbuf_init(&seg, CMD_LINE_MAX);
	for (int k = from; k <= end && !err; k++)
		err = sbuf_printf(&seg, "%s%s", k > from ? " " : "", a->argv[k]);
	if (err)
		goto out;
	sbuf_setlen(&seg, seg.len - 1); /* the colon */
	/* split at , + & and the word "and" */
	for (const char *p = seg.buf; *p && !err;) {
		size_t n = 0;
		while (p[n] && !strchr(",+&", p[n]) &&
		       strncasecmp(p + n, " and ", 5))
			n++;
		err = lead_one(c, p, n, &v, &nv, &bad);
		p += n;
		if (*p && strchr(",+&", *p)) {
			p++;
			seps++;
		} else if (*p) {
			p += 5;
			seps++;
		}
	}
	if (err)
		goto out;
	if (!bad && nv) {
		*people = v;
		*npeople = nv;
		v = NULL;
		nv = 0;
		*used = end - from + 1;
	} else if (bad && !is_severity(bad) &&
		   (seps || (end == from && name_word(a->argv[from],
						      strlen(a->argv[from]) - 1)))) {
		struct sbuf why;
		sbuf_init(&why, 0);
		err = sbuf_printf(&why, "nobody here is called '%s', so it is unassigned", bad);
		if (!err)
			*remark = sbuf_detach(&why, NULL);
		sbuf_release(&why);
		if (!err && !*remark)
			err = SC_ENOMEM;
	}
out:
	strv_free(v, nv);
	free(bad);
	sbuf_release(&seg);
	return err;
}

/* A due:WHEN option at a->argv[*i] (its words may go on: "due:fri
 * 17:00", "due:in 3 days", "due: fri"): *due, *i past its words. A date
 * nobody can read, or one in the past, writes the failure reply. */
static sc_err take_due(struct cmd_ctx *c, const struct args *a, int *i,
		       int64_t *due)
{
	const char *first = a->argv[*i] + 4;
	int at = *i + 1, more = 0;
	struct sbuf when, shown;
	sc_err err = SC_EINVAL;

	if (!*first && at < a->argc && a->quoted[at] == ARG_PLAIN)
		first = a->argv[at++]; /* "due: fri" */
	while (at + more < a->argc && more < 3 && a->quoted[at + more] == ARG_PLAIN)
		more++;
	sbuf_init(&when, CMD_LINE_MAX);
	/* the longest reading wins: "due:fri 17:00" over "due:fri" */
	for (int k = more; k >= 0 && err == SC_EINVAL; k--) {
		sbuf_setlen(&when, 0);
		err = sbuf_puts(&when, first);
		for (int j = 0; j < k && !err; j++)
			err = sbuf_printf(&when, " %s", a->argv[at + j]);
		if (err)
			break;
		err = *first ? when_parse_due(when.buf, c->now, cmd_input_tz(c), due) : SC_EINVAL;
		if (!err)
			*i = at + k;
	}
	sbuf_release(&when);
	if (err == SC_EINVAL)
		return cmd_fail(c, SC_EINVAL,
				"cannot read the date '%s' (try due:fri, due:2026-12-01 or due:+3d; "
				"%shelp todo lists every form)", first, c->cfg->prefix);
	if (err)
		return err;
	if (*due < c->now) {
		sbuf_init(&shown, 64);
		err = when_format_short(*due, c->now, cmd_input_tz(c), &shown);
		if (!err)
			err = cmd_fail(c, SC_EINVAL,
				       "the due date %s is in the past; give one ahead, like due:fri or due:+3d",
				       shown.buf);
		sbuf_release(&shown);
		return err;
	}
	return SC_OK;
}

/* The first word of the text is exactly a member's name, as in
 * "!todo elon check pagers": say how to give it to them (a bare name
 * is never taken for an assignee: "test backups" is no person). */
static sc_err bare_name_hint(struct cmd_ctx *c, const struct args *a, int i,
			     char **remark)
{
	const char *w = a->argv[i];
	char *uid = NULL;
	struct sbuf sb;
	sc_err err;

	if (a->quoted[i] != ARG_PLAIN || !name_word(w, strlen(w)) || i + 1 >= a->argc)
		return SC_OK;
	err = store_member_resolve(c->st, c->room_id, w, &uid, NULL);
	if (err)
		return err == SC_ENOTFOUND || err == SC_EAMBIGUOUS ? SC_OK : err;
	sbuf_init(&sb, 0);
	err = sbuf_printf(&sb, "Unassigned; to give it to %s, start with '%s:' or '@%s'.",
			  reply_user_label(c->out, uid) ? reply_user_label(c->out, uid) : uid,
			  w, w);
	if (!err) {
		*remark = sbuf_detach(&sb, NULL);
		err = *remark ? SC_OK : SC_ENOMEM;
	}
	sbuf_release(&sb);
	free(uid);
	return err;
}

/* The word between names: "+", "&", ",", "and". */
static int is_separator(const struct args *a, int i)
{
	const char *w = a->argv[i];

	return a->quoted[i] == ARG_PLAIN &&
	       (!strcmp(w, "+") || !strcmp(w, "&") || !strcmp(w, ",") ||
		!strcasecmp(w, "and"));
}

/* Whether a word starts a person: "@elon", @"Elon Musk", "@me". */
static int person_word(const struct args *a, int i)
{
	const char *w = a->argv[i];

	return a->quoted[i] == ARG_NAME ||
	       (a->quoted[i] == ARG_PLAIN && w[0] == '@' && w[1] && w[1] != ':');
}

sc_err item_parse(struct cmd_ctx *c, const struct args *a, int start,
		  unsigned want, struct item *it)
{
	struct item r;
	int i = start, first, last, text_end, nwords = 0;
	const char **words = NULL;
	int *is_tagword = NULL;
	struct sbuf text;
	sc_err err = SC_OK;

	memset(&r, 0, sizeof(r));
	sbuf_init(&text, CMD_LINE_MAX);
	if (want & ITEM_MENTIONS) {
		/* "@elon @bob", "@Elon Musk", @"Elon Musk", "@me" ... */
		while (i < a->argc && person_word(a, i)) {
			char *uid = NULL;
			err = take_person(c, a, &i, a->argc, &uid);
			/* "@bob and @dc", "@bob + @dc" (pills read so) */
			if (!err && i + 1 < a->argc && is_separator(a, i) &&
			    person_word(a, i + 1))
				i++;
			if (!err)
				err = strv_add(&r.assignees, &r.nassignees, uid);
			free(uid);
			if (err)
				goto out;
		}
		/* ... or "elon: ...", "elon, bob: ...", "elon + bob: ..." */
		if (!r.nassignees && i < a->argc) {
			int used = 0;
			err = lead_names(c, a, i, a->argc, &r.assignees,
					 &r.nassignees, &used, &r.remark);
			i += used;
			if (!err && !used && !r.remark)
				err = bare_name_hint(c, a, i, &r.remark);
			if (err)
				goto out;
		}
	}
	words = calloc((size_t)(a->argc > 0 ? a->argc : 1), sizeof(*words));
	is_tagword = calloc((size_t)(a->argc > 0 ? a->argc : 1), sizeof(*is_tagword));
	if (!words || !is_tagword) {
		err = SC_ENOMEM;
		goto out;
	}
	/* Options first, anywhere in the text. */
	while (i < a->argc) {
		const char *w = a->argv[i];
		if (!a->quoted[i] && (want & ITEM_DUE) && !strncasecmp(w, "due:", 4)) {
			int64_t due = 0;
			if (r.due) {
				err = cmd_fail(c, SC_EINVAL, "give one due date, not several");
				goto out;
			}
			err = take_due(c, a, &i, &due);
			if (err)
				goto out;
			r.due = due;
			continue;
		}
		is_tagword[nwords] = !a->quoted[i] && (want & ITEM_TAGS) && is_tag(w);
		/* the text keeps what was typed, quotes and all */
		words[nwords++] = arg_raw(a, i);
		i++;
	}
	first = 0;
	last = nwords - 1;
	text_end = last;
	/* A trailing run of #tags labels the item and is cut from its text,
	 * unless it ends the sentence ("rotate keys on #web1"); a tag inside
	 * the sentence stays part of it. */
	{
		int end = last;
		while (end >= first && is_tagword[end])
			end--;
		if (end < last && !(end >= first && is_preposition(words[end])))
			text_end = end;
	}
	if ((want & ITEM_SEVERITY) && text_end >= first) {
		int at = -1;
		if (is_severity(words[text_end]))
			at = text_end--;
		else if (is_severity(words[first]))
			at = first++;
		if (at >= 0) {
			char *sev = strdup(words[at]);
			if (!sev) {
				err = SC_ENOMEM;
				goto out;
			}
			for (char *p = sev; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			r.severity = sev;
		}
	}
	for (int k = 0; k <= last; k++) {
		if (is_tagword[k]) {
			char tag[72];
			size_t n = 0;
			for (const char *p = words[k] + 1; *p && n < sizeof(tag) - 1; p++)
				tag[n++] = (char)tolower((unsigned char)*p);
			tag[n] = '\0';
			err = strv_add(&r.tags, &r.ntags, tag);
			if (err)
				goto out;
		}
	}
	for (int k = first; k <= text_end && !err; k++) {
		if (k > first)
			err = sbuf_putc(&text, ' ');
		if (!err)
			err = sbuf_puts(&text, words[k]);
	}
	if (err)
		goto out;
	if (!text.len) {
		err = r.severity ?
		      cmd_fail(c, SC_EINVAL, "what should I record? only the severity '%s' "
			       "was given, the text is missing", r.severity) :
		      cmd_fail(c, SC_EINVAL, "what should I record? the text is missing");
		goto out;
	}
	r.text = sbuf_detach(&text, NULL);
	if (!r.text) {
		err = SC_ENOMEM;
		goto out;
	}
	if ((want & ITEM_DUE) && !r.due)
		r.due = severity_due(c, r.severity);
	*it = r;
	memset(&r, 0, sizeof(r));
out:
	free(words);
	free(is_tagword);
	sbuf_release(&text);
	item_clear(&r);
	return err;
}

sc_err find_record(struct cmd_ctx *c, const char *id, enum rec_kind want,
		   struct record *out)
{
	enum rec_kind kind;
	int64_t num;
	sc_err err;

	if (rec_id_parse(id, &kind, &num) != SC_OK || kind != want)
		return cmd_fail(c, SC_EINVAL, "'%s' is not a %s id (like %c12)",
				id, rec_kind_name(want), rec_kind_prefix(want));
	err = store_record_get(c->st, kind, num, out);
	if (!err && strcmp(out->room_id, c->room_id) != 0) {
		/* another room's: say exactly what a missing one says */
		record_clear(out);
		err = SC_ENOTFOUND;
	}
	if (err == SC_ENOTFOUND)
		return cmd_fail(c, SC_ENOTFOUND, "no %c%lld here",
				rec_kind_prefix(kind), (long long)num);
	if (err)
		return err;
	if (out->withdrawn) {
		record_clear(out);
		return cmd_fail(c, SC_ESTATE,
				"%c%lld was withdrawn (its message was deleted)",
				rec_kind_prefix(kind), (long long)num);
	}
	return SC_OK;
}

sc_err add_record(struct cmd_ctx *c, struct record *r)
{
	sc_err err = record_set(&r->room_id, c->room_id);
	if (!err)
		err = record_set(&r->author, c->sender);
	if (!err && !r->event_id && c->event_id)
		err = record_set(&r->event_id, c->event_id);
	if (err)
		return err;
	r->created = r->updated = c->now;
	if (c->meeting && r->kind != REC_MEETING)
		r->meeting = c->meeting;
	err = store_record_add(c->st, r);
	if (err == SC_EEXISTS)
		return cmd_fail(c, SC_EEXISTS, "that message was already recorded");
	return err;
}

sc_err reply_when(struct cmd_ctx *c, struct reply *r, int64_t t)
{
	struct sbuf sb;
	sc_err err;

	sbuf_init(&sb, 128);
	err = when_format_short(t, c->now, c->tz, &sb);
	if (!err)
		err = reply_text(r, sb.buf);
	sbuf_release(&sb);
	return err;
}

sc_err render_due(struct cmd_ctx *c, const struct record *r)
{
	sc_err err;

	if (!r->due || r->kind != REC_TODO)
		return SC_OK;
	err = reply_text(c->out, " (due ");
	if (!err)
		err = reply_when(c, c->out, r->due);
	if (!err && !strcmp(r->status, "open") && r->due < c->now)
		err = reply_bold(c->out, ", overdue");
	if (!err)
		err = reply_text(c->out, ")");
	return err;
}

char *text_snip(const char *s, size_t max)
{
	size_t len = strlen(s), end = 0, chars = 0;
	char *out;

	while (end < len && chars < max) {
		end++;
		while (end < len && ((unsigned char)s[end] & 0xC0) == 0x80)
			end++;
		chars++;
	}
	if (end == len)
		return strdup(s);
	out = malloc(end + 4);
	if (!out)
		return NULL;
	memcpy(out, s, end);
	memcpy(out + end, "\xE2\x80\xA6", 4); /* "…" and its NUL */
	return out;
}

/* Append " — Elon Musk, Bob" for the assignees (at most
 * LINE_PEOPLE_MAX), or under the heading of one of them (head) only the
 * others: " — with Bob". */
static sc_err render_people(struct cmd_ctx *c, const struct record *r,
			    const char *head)
{
	size_t shown = 0, others = 0;
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->nassignees && !err; i++) {
		if (head && !strcmp(r->assignees[i], head))
			continue;
		others++;
		if (shown == LINE_PEOPLE_MAX)
			continue;
		err = reply_text(c->out, shown ? ", " : head ? " — with " : " — ");
		if (!err)
			err = reply_user(c->out, r->assignees[i]);
		shown++;
	}
	if (!err && others > shown)
		err = reply_textf(c->out, " +%zu", others - shown);
	return err;
}

static sc_err render_tags(struct cmd_ctx *c, const struct record *r)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->ntags && i < LINE_TAGS_MAX && !err; i++)
		err = reply_textf(c->out, " #%s", r->tags[i]);
	if (!err && r->ntags > LINE_TAGS_MAX)
		err = reply_textf(c->out, " +%zu", r->ntags - LINE_TAGS_MAX);
	return err;
}

/* Rooms up to this many members (the bot left out) hear who has not
 * checked in on a proposal yet. */
#define CHECKIN_ROOM_MAX 10

/* Who of the room has (not) voted on a proposal. */
struct checkin {
	struct cmd_ctx *c;
	char **voters;
	size_t nvoters;
	char **waiting;
	size_t nwaiting;
	size_t members;
	sc_err err;
};

static int checkin_voter(const char *user, void *ctx)
{
	struct checkin *k = ctx;

	k->err = strv_add(&k->voters, &k->nvoters, user);
	return k->err != SC_OK;
}

static int checkin_member(const struct member *m, void *ctx)
{
	struct checkin *k = ctx;
	const char *bot = k->c->cfg->user_id;

	if (bot && !strcmp(m->user_id, bot))
		return 0;
	if (++k->members > CHECKIN_ROOM_MAX)
		return 1;
	for (size_t i = 0; i < k->nvoters; i++)
		if (!strcmp(k->voters[i], m->user_id))
			return 0;
	k->err = strv_add(&k->waiting, &k->nwaiting, m->user_id);
	return k->err != SC_OK;
}

/* " (proposed: 1 👍 · 0 👎 · 1 🤷; waiting for Bob, dc)": a proposal's
 * live check-in, and in a small room who has not checked in. */
static sc_err render_checkin(struct cmd_ctx *c, const struct record *r)
{
	struct checkin k;
	sc_err err;

	memset(&k, 0, sizeof(k));
	k.c = c;
	err = reply_textf(c->out, " (proposed: %d 👍 · %d 👎 · %d 🤷",
			  r->votes_up, r->votes_down, r->votes_meh);
	if (!err)
		err = store_voters(c->st, r->id, checkin_voter, &k);
	if (!err)
		err = k.err;
	if (!err)
		err = store_members(c->st, r->room_id, 0, checkin_member, &k);
	if (!err)
		err = k.err;
	if (!err && k.members <= CHECKIN_ROOM_MAX && k.members) {
		if (!k.nwaiting)
			err = reply_text(c->out, "; everyone here checked in");
		for (size_t i = 0; i < k.nwaiting && !err; i++) {
			err = reply_text(c->out, i ? ", " : "; waiting for ");
			if (!err)
				err = reply_user(c->out, k.waiting[i]);
		}
	}
	if (!err)
		err = reply_text(c->out, ")");
	strv_free(k.voters, k.nvoters);
	strv_free(k.waiting, k.nwaiting);
	return err;
}

/* render_record, under the heading of person head (NULL: none). */
static sc_err render_line(struct cmd_ctx *c, const struct record *r,
			  size_t text_max, const char *head)
{
	sc_err err = reply_id(c->out, r);

	if (!err && r->severity && r->kind != REC_CHANGE)
		err = reply_textf(c->out, " [%s]", r->severity);
	if (!err)
		err = reply_text(c->out, " ");
	if (!err)
		err = reply_snip(c->out, r->text, text_max);
	if (!err && r->kind == REC_TODO && strcmp(r->status, "open"))
		err = reply_textf(c->out, " (%s)", r->status);
	if (!err && r->kind == REC_DECISION && !strcmp(r->status, "proposed"))
		err = render_checkin(c, r);
	else if (!err && (r->kind == REC_DECISION || r->kind == REC_INCIDENT))
		err = reply_textf(c->out, " (%s)", r->status);
	if (!err && r->kind == REC_TODO)
		err = render_people(c, r, head);
	if (!err)
		err = render_due(c, r);
	if (!err)
		err = render_tags(c, r);
	return err;
}

sc_err render_record(struct cmd_ctx *c, const struct record *r, size_t text_max)
{
	return render_line(c, r, text_max, NULL);
}

/* State for render_query's callback. */
struct rq {
	struct cmd_ctx *c;
	struct reply_list l;
	int group;
	const char *head;    /* heading of the group: a user id, or NULL */
	const char *title;   /* heading text when head is NULL */
	int head_due;        /* the heading goes before the next line */
	int closed_only;     /* skip open items (the "done or dropped" part) */
	int64_t shown;       /* lines shown */
	int64_t *ids;        /* records shown (grouped: once each) */
	size_t nids, cap;
	sc_err err;
};

/* Remember that record id is shown. */
static sc_err rq_seen(struct rq *q, int64_t id)
{
	int64_t *v;

	for (size_t i = 0; i < q->nids; i++)
		if (q->ids[i] == id)
			return SC_OK;
	if (q->nids == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		v = realloc(q->ids, cap * sizeof(*v));
		if (!v)
			return SC_ENOMEM;
		q->ids = v;
		q->cap = cap;
	}
	q->ids[q->nids++] = id;
	return SC_OK;
}

/* One line: a line break after what came before, the group's heading
 * before its first line, then the record; whole or not at all. */
static int rq_line(const struct record *r, void *ctx)
{
	struct rq *q = ctx;
	struct reply *out = q->c->out;

	if (q->closed_only && !strcmp(r->status, "open"))
		return 0;
	if (!reply_list_begin(&q->l))
		return 1;
	if (out->body.len)
		q->err = reply_nl(out);
	if (!q->err && q->head_due) {
		q->err = q->head ? reply_user(out, q->head) :
				   reply_bold(out, q->title);
		if (!q->err)
			q->err = reply_nl(out);
	}
	if (!q->err && q->group)
		q->err = reply_text(out, "  ");
	if (!q->err)
		q->err = render_line(q->c, r, REPLY_LINE_CHARS, q->head);
	if (!q->err && reply_list_end(&q->l)) {
		q->head_due = 0;
		q->shown++;
		q->err = rq_seen(q, r->id);
	}
	return q->err != SC_OK || q->l.stopped;
}

/* Collect distinct assignees (and whether unassigned items exist). */
struct who {
	char **users;
	size_t n;
	int unassigned;
	sc_err err;
};

static int who_add(const char *user, void *ctx)
{
	struct who *w = ctx;

	if (!user)
		w->unassigned = 1;
	else
		w->err = strv_add(&w->users, &w->n, user);
	return w->err != SC_OK;
}

/* Records of q without any assignee (for the "unassigned" group). */
static int rq_unassigned(const struct record *r, void *ctx)
{
	return r->nassignees ? 0 : rq_line(r, ctx);
}

/* Sort people by the name the reply shows them by. */
struct by_label {
	struct reply *r;
	char *user;
	const char *label;
};

static int cmp_label(const void *a, const void *b)
{
	const struct by_label *x = a, *y = b;
	int d = strcasecmp(x->label, y->label);

	return d ? d : strcmp(x->user, y->user);
}

/* The open items of q grouped under their people (by name, the
 * unassigned last); only is the one person asked for, or NULL. */
static sc_err render_groups(struct cmd_ctx *c, struct rq *st,
			    const struct rec_query *q, const char *only)
{
	struct who w = { NULL, 0, 0, SC_OK };
	struct by_label *people = NULL;
	sc_err err;

	if (only) {
		err = strv_add(&w.users, &w.n, only);
	} else {
		err = store_query_assignee_names(c->st, q, who_add, &w);
		if (!err)
			err = w.err;
	}
	if (!err && w.n) {
		people = calloc(w.n, sizeof(*people));
		if (!people)
			err = SC_ENOMEM;
	}
	for (size_t i = 0; i < w.n && !err; i++) {
		people[i].user = w.users[i];
		people[i].label = reply_user_label(c->out, w.users[i]);
		if (!people[i].label)
			err = SC_ENOMEM;
	}
	if (!err && w.n > 1)
		qsort(people, w.n, sizeof(*people), cmp_label);
	st->group = 1;
	for (size_t i = 0; i <= w.n && !err && !st->l.stopped; i++) {
		struct rec_query g = *q;
		if (i == w.n && !w.unassigned)
			break;
		g.assignee = i < w.n ? people[i].user : NULL;
		st->head = g.assignee;
		st->title = "unassigned";
		st->head_due = 1;
		err = store_query(c->st, &g, i < w.n ? rq_line : rq_unassigned, st);
		if (!err)
			err = st->err;
	}
	free(people);
	strv_free(w.users, w.n);
	return err;
}

/* "\n… and N more (how)" when total is more than was shown. */
static sc_err list_more(struct cmd_ctx *c, int64_t total, int64_t shown,
			const char *more)
{
	sc_err err = SC_OK;

	if (total <= shown)
		return SC_OK;
	if (c->out->body.len)
		err = reply_nl(c->out);
	if (!err)
		err = reply_textf(c->out, "… and %lld more%s%s",
				  (long long)(total - shown), more ? " " : "",
				  more ? more : "");
	return err;
}

sc_err render_query(struct cmd_ctx *c, const struct rec_query *q,
		    int group_by_assignee, const char *empty, int max,
		    const char *more)
{
	struct rq st;
	int64_t total = 0;
	sc_err err;

	memset(&st, 0, sizeof(st));
	st.c = c;
	reply_list_open(&st.l, c->out, max);
	if (group_by_assignee) {
		err = render_groups(c, &st, q, q->assignee);
	} else {
		err = store_query(c->st, q, rq_line, &st);
		if (!err)
			err = st.err;
	}
	reply_list_close(&st.l);
	if (!err && st.l.stopped)
		err = store_count(c->st, q, &total);
	if (!err && !st.shown && !st.l.stopped)
		err = reply_text(c->out, empty);
	if (!err)
		err = list_more(c, total, (int64_t)st.nids, more);
	free(st.ids);
	return err;
}

sc_err render_todos(struct cmd_ctx *c, const struct rec_query *q, int all,
		    const char *empty, int max, const char *more)
{
	struct rec_query open = *q, closed = *q;
	struct rq st;
	int64_t total = 0, n = 0;
	sc_err err;

	memset(&st, 0, sizeof(st));
	st.c = c;
	reply_list_open(&st.l, c->out, max);
	open.open_only = 1;
	open.order = ORDER_DUE;
	err = render_groups(c, &st, &open, q->assignee);
	if (!err && all && !st.l.stopped) {
		/* then what is closed, newest first, under its own heading */
		closed.open_only = 0;
		closed.order = ORDER_NEWEST;
		st.group = 1;
		st.head = NULL;
		st.title = "done or dropped";
		st.head_due = 1;
		st.closed_only = 1;
		err = store_query(c->st, &closed, rq_line, &st);
		if (!err)
			err = st.err;
	}
	reply_list_close(&st.l);
	if (!err && st.l.stopped) {
		err = store_count(c->st, &open, &total);
		if (!err && all) {
			closed.open_only = 0;
			err = store_count(c->st, &closed, &n);
			total = n; /* open ones included */
		}
	}
	if (!err && !st.shown && !st.l.stopped)
		err = reply_text(c->out, empty);
	if (!err)
		err = list_more(c, total, (int64_t)st.nids, more);
	free(st.ids);
	return err;
}
