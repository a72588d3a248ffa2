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
	memset(it, 0, sizeof(*it));
}

char *args_join(const struct args *a, int from, int to)
{
	struct sbuf sb;

	sbuf_init(&sb, CMD_LINE_MAX);
	for (int i = from; i < to && i < a->argc; i++) {
		if (i > from && sbuf_putc(&sb, ' ') != SC_OK)
			goto fail;
		if (sbuf_puts(&sb, a->argv[i]) != SC_OK)
			goto fail;
	}
	return sbuf_detach(&sb, NULL);
fail:
	sbuf_release(&sb);
	return NULL;
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
	err = store_member_resolve(c->st, c->room_id,
				   n[0] == '(' ? n + 1 : n, out, &cands);
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

sc_err item_parse(struct cmd_ctx *c, const struct args *a, int start,
		  unsigned want, struct item *it)
{
	struct item r;
	int i = start, first, last, text_end, nwords = 0;
	char **words = NULL;
	int *is_tagword = NULL;
	struct sbuf text;
	sc_err err = SC_OK;

	memset(&r, 0, sizeof(r));
	sbuf_init(&text, CMD_LINE_MAX);
	if (want & ITEM_MENTIONS) {
		for (; i < a->argc && !a->quoted[i] && a->argv[i][0] == '@'; i++) {
			char *uid = NULL;
			err = resolve_user(c, a->argv[i], &uid);
			if (err)
				goto out;
			err = strv_add(&r.assignees, &r.nassignees, uid);
			free(uid);
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
	for (; i < a->argc; i++) {
		const char *w = a->argv[i];
		if (!a->quoted[i] && (want & ITEM_DUE) && !strncasecmp(w, "due:", 4)) {
			int64_t due;
			if (r.due) {
				err = cmd_fail(c, SC_EINVAL, "give one due date, not several");
				goto out;
			}
			if (when_parse_due(w + 4, c->now, c->tz, &due) != SC_OK) {
				err = cmd_fail(c, SC_EINVAL,
					       "cannot read the date '%s' (try due:fri, due:2026-12-01 or due:+3d)",
					       w + 4);
				goto out;
			}
			r.due = due;
			continue;
		}
		is_tagword[nwords] = !a->quoted[i] && (want & ITEM_TAGS) && is_tag(w);
		words[nwords++] = a->argv[i];
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
	if ((want & ITEM_SEVERITY) && text_end > first) {
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
	for (int k = first; k <= last; k++) {
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
		err = cmd_fail(c, SC_EINVAL, "what should I record? the text is missing");
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

/* Append " — @a, @b" for assignees (at most LINE_PEOPLE_MAX). */
static sc_err render_people(struct cmd_ctx *c, const struct record *r)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->nassignees && i < LINE_PEOPLE_MAX && !err; i++) {
		err = reply_text(c->out, i ? ", " : " — ");
		if (!err)
			err = reply_user(c->out, r->assignees[i]);
	}
	if (!err && r->nassignees > LINE_PEOPLE_MAX)
		err = reply_textf(c->out, " +%zu", r->nassignees - LINE_PEOPLE_MAX);
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

sc_err render_record(struct cmd_ctx *c, const struct record *r, size_t text_max)
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
	if (!err && (r->kind == REC_DECISION || r->kind == REC_INCIDENT))
		err = reply_textf(c->out, " (%s)", r->status);
	if (!err && r->kind == REC_TODO)
		err = render_people(c, r);
	if (!err)
		err = render_due(c, r);
	if (!err)
		err = render_tags(c, r);
	return err;
}

/* State for render_query's callback. */
struct rq {
	struct cmd_ctx *c;
	struct reply_list l;
	int group;
	const char *head;    /* heading of the group: a user id, or NULL */
	int head_due;        /* the heading goes before the next line */
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

	if (!reply_list_begin(&q->l))
		return 1;
	if (out->body.len)
		q->err = reply_nl(out);
	if (!q->err && q->head_due) {
		q->err = q->head ? reply_user(out, q->head) :
				   reply_bold(out, "unassigned");
		if (!q->err)
			q->err = reply_nl(out);
	}
	if (!q->err && q->group)
		q->err = reply_text(out, "  ");
	if (!q->err)
		q->err = render_record(q->c, r, REPLY_LINE_CHARS);
	if (!q->err && reply_list_end(&q->l)) {
		q->head_due = 0;
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Records of q without any assignee (for the "unassigned" group). */
static int rq_unassigned(const struct record *r, void *ctx)
{
	return r->nassignees ? 0 : rq_line(r, ctx);
}

sc_err render_query(struct cmd_ctx *c, const struct rec_query *q,
		    int group_by_assignee, const char *empty, int max,
		    const char *more)
{
	struct rq st;
	struct who w = { NULL, 0, 0, SC_OK };
	int64_t total = 0;
	sc_err err;

	memset(&st, 0, sizeof(st));
	st.c = c;
	reply_list_open(&st.l, c->out, max);
	if (!group_by_assignee) {
		err = store_query(c->st, q, rq_line, &st);
		if (!err)
			err = st.err;
		goto tail;
	}
	err = store_query_assignee_names(c->st, q, who_add, &w);
	if (!err)
		err = w.err;
	if (err)
		goto out;
	if (w.n)
		qsort(w.users, w.n, sizeof(*w.users), cmp_str);
	st.group = 1;
	for (size_t i = 0; i <= w.n && !err && !st.l.stopped; i++) {
		struct rec_query g = *q;
		if (i == w.n && !w.unassigned)
			break;
		g.assignee = i < w.n ? w.users[i] : NULL;
		st.head = g.assignee;
		st.head_due = 1;
		err = store_query(c->st, &g, i < w.n ? rq_line : rq_unassigned, &st);
		if (!err)
			err = st.err;
	}
tail:
	reply_list_close(&st.l);
	if (!err && st.l.stopped)
		err = store_count(c->st, q, &total);
	if (!err && !st.nids && !st.l.stopped)
		err = reply_text(c->out, empty);
	if (!err && total > (int64_t)st.nids) {
		if (c->out->body.len)
			err = reply_nl(c->out);
		if (!err)
			err = reply_textf(c->out, "… and %lld more%s%s",
					  (long long)(total - (int64_t)st.nids),
					  more ? " " : "", more ? more : "");
	}
out:
	reply_list_close(&st.l);
	free(st.ids);
	strv_free(w.users, w.n);
	return err;
}
