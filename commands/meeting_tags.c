/* SPDX-License-Identifier: MIT */
/*
 * meeting_tags.c - MeetBot's tags on the chat lines of a meeting. Lines
 * tagged #todo or #action, #decision, #agreed, #accepted or #rejected,
 * #info or #topic are recorded as if they were commands, the tag
 * anywhere in the line, the way seed 000's notes tag them ("#todo: elon:
 * shepard task tracker selection", "#todo land the PR (@patcon)",
 * "Proposal: Shortlinks #decision"). The rest of MeetBot's vocabulary
 * counts as the first word of a line, as MeetBot reads it: #idea,
 * #link URL [text] (a line that starts with a URL is a link too),
 * #help (a call for help), #undo, #chair / #unchair, #nick,
 * #notetaker, #meetingname, #commands, #startmeeting / #endmeeting, and
 * Template A's #objective, #requirement and #strategy. Changing the
 * topic, the chairs or the name, and ending, is for chairs (and
 * privileged users); anyone may take back their own last item with
 * #undo, a chair anyone's.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meeting.h"
#include "utf8.h"
#include "when.h"
#include "banned.h"

/* Most words of a meeting line scribe looks at for tags. */
#define LINE_WORDS_MAX 1024

enum {
	TAG_NONE = 0, TAG_TODO, TAG_DECISION, TAG_REJECTED, TAG_INFO, TAG_TOPIC,
	/* only as the first word */
	TAG_IDEA, TAG_LINK, TAG_HELP, TAG_UNDO, TAG_CHAIR, TAG_UNCHAIR,
	TAG_NICK, TAG_NOTETAKER, TAG_NAME, TAG_COMMANDS, TAG_START, TAG_END,
	TAG_OBJECTIVE, TAG_REQUIREMENT, TAG_STRATEGY
};

#define W_NAME 1u /* part of an assignee form: "elon:", "@elon", "(@a + b)" */
#define W_OPT 2u  /* an option taken out of the text: due:, severity, labels */

/* A chat line in words, without its (first) meeting tag. */
struct mline {
	char **w;
	unsigned *f;   /* W_* per word */
	int n;
	int npre;      /* words before the tag */
	int tag;       /* TAG_* */
	char **names;  /* names typed for assignees, in order */
	size_t nnames;
};

static void mline_clear(struct mline *ml)
{
	for (int i = 0; i < ml->n; i++)
		free(ml->w[i]);
	for (size_t i = 0; i < ml->nnames; i++)
		free(ml->names[i]);
	free(ml->w);
	free(ml->f);
	free(ml->names);
	memset(ml, 0, sizeof(*ml));
}

/* The meeting tags: those scribe reads anywhere in a line, and MeetBot's
 * commands, which count only as its first word. */
static const struct {
	const char *name;
	int tag;
	int first; /* only as the first word of the line */
} tags[] = {
	{ "todo", TAG_TODO, 0 },	  { "action", TAG_TODO, 0 },
	{ "decision", TAG_DECISION, 0 },  { "agreed", TAG_DECISION, 0 },
	{ "agree", TAG_DECISION, 0 },	  { "accepted", TAG_DECISION, 0 },
	{ "accept", TAG_DECISION, 0 },	  { "rejected", TAG_REJECTED, 0 },
	{ "info", TAG_INFO, 0 },	  { "topic", TAG_TOPIC, 0 },
	{ "idea", TAG_IDEA, 1 },	  { "link", TAG_LINK, 1 },
	{ "help", TAG_HELP, 1 },	  { "halp", TAG_HELP, 1 },
	{ "undo", TAG_UNDO, 1 },	  { "chair", TAG_CHAIR, 1 },
	{ "unchair", TAG_UNCHAIR, 1 },	  { "nick", TAG_NICK, 1 },
	{ "notetaker", TAG_NOTETAKER, 1 }, { "meetingname", TAG_NAME, 1 },
	{ "commands", TAG_COMMANDS, 1 },  { "startmeeting", TAG_START, 1 },
	{ "endmeeting", TAG_END, 1 },	  { "objective", TAG_OBJECTIVE, 1 },
	{ "requirement", TAG_REQUIREMENT, 1 }, { "strategy", TAG_STRATEGY, 1 },
};

/* The meeting tag a word is: "#todo", "#todo:", "#Decision," (a word
 * like "#todos" or "#infra" is none); first: the word starts the line
 * (MeetBot's commands count only there). */
static int line_tag(const char *w, int first)
{
	size_t n = 0;

	if (w[0] != '#')
		return TAG_NONE;
	w++;
	while (isalpha((unsigned char)w[n]))
		n++;
	for (const char *p = w + n; *p; p++)
		if (!ispunct((unsigned char)*p))
			return TAG_NONE;
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strlen(tags[i].name) == n && !strncasecmp(w, tags[i].name, n))
			return tags[i].first && !first ? TAG_NONE : tags[i].tag;
	return TAG_NONE;
}

/* Split line into words and take out its first meeting tag. A line
 * without one gets tag TAG_NONE. */
static sc_err mline_parse(const char *line, struct mline *out)
{
	struct mline ml;
	const char *p = line;
	sc_err err = SC_OK;

	memset(&ml, 0, sizeof(ml));
	ml.w = calloc(LINE_WORDS_MAX, sizeof(*ml.w));
	ml.f = calloc(LINE_WORDS_MAX, sizeof(*ml.f));
	if (!ml.w || !ml.f) {
		err = SC_ENOMEM;
		goto out;
	}
	for (;;) {
		const char *start;
		char *w;
		int tag;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (ml.n == LINE_WORDS_MAX) {
			err = SC_ETOOBIG;
			goto out;
		}
		w = strndup(start, (size_t)(p - start));
		if (!w) {
			err = SC_ENOMEM;
			goto out;
		}
		tag = ml.tag ? TAG_NONE : line_tag(w, ml.n == 0);
		if (tag) {
			ml.tag = tag;
			ml.npre = ml.n;
			free(w);
			continue;
		}
		ml.w[ml.n++] = w;
	}
	*out = ml;
	memset(&ml, 0, sizeof(ml));
out:
	mline_clear(&ml);
	return err;
}

/* Could w be a name typed for someone: "elon", "elon:", "@elon",
 * "@elon:example.org", "Zoë,"? */
static int name_like(const char *w)
{
	size_t n = strlen(w);

	while (n && strchr(":,;", w[n - 1]))
		n--;
	if (n && w[0] == '@') {
		w++;
		n--;
	}
	if (!n || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (!isalnum(ch) && !strchr("._=-:", ch) && ch < 0x80)
			return 0;
	}
	return 1;
}

static int ends_colon(const char *w)
{
	size_t n = strlen(w);
	return n > 1 && w[n - 1] == ':';
}

static sc_err add_name(struct mline *ml, const char *s, size_t len)
{
	char **v;
	char *dup;

	/* "(@patcon", "dc)", "elon:", "@elon," → the name itself */
	while (len && (*s == '(' || isspace((unsigned char)*s))) {
		s++;
		len--;
	}
	while (len && strchr(":,;)", s[len - 1]))
		len--;
	if (!len)
		return SC_OK;
	dup = strndup(s, len);
	if (!dup)
		return SC_ENOMEM;
	v = realloc(ml->names, (ml->nnames + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return SC_ENOMEM;
	}
	v[ml->nnames++] = dup;
	ml->names = v;
	return SC_OK;
}

/* The names of a "(@patcon + dc)" group: split at + , / & and "and". */
static sc_err group_names(const char *group, struct mline *into)
{
	const char *p = group;
	sc_err err = SC_OK;

	while (*p && !err) {
		size_t n;
		while (*p && (strchr("()+,/&", *p) || isspace((unsigned char)*p)))
			p++;
		n = 0;
		while (p[n] && !strchr("()+,/&", p[n]) && !isspace((unsigned char)p[n]))
			n++;
		if (n && !(n == 3 && !strncasecmp(p, "and", 3)))
			err = add_name(into, p, n);
		p += n;
	}
	return err;
}

/* 1 if name is exactly one member here (nothing is reported). */
static int is_member(struct cmd_ctx *c, const char *name)
{
	char *uid = NULL;
	sc_err err = store_member_resolve(c->st, c->room_id, name, &uid, NULL);

	free(uid);
	return err == SC_OK;
}

/*
 * Find who a todo line is for, marking those words W_NAME and listing
 * the names: "Dawn: #todo …" or "@dawn #todo …" before the tag;
 * "#todo @elon @bob …" or "#todo: elon: …" right after it; a closing
 * "(@patcon)" or "(@patcon + dc)" group. In a group the @names are
 * names; a word without '@' is one only when it is a member here, so
 * "(45 mins)" stays text, and a group with other words ("(@patcon will
 * do it)") assigns its @names but stays in the text.
 */
static sc_err find_names(struct cmd_ctx *c, struct mline *ml)
{
	struct mline grp;
	struct sbuf g;
	int i = 0, lead = 1, ats = 0, other = 0, s, e;
	sc_err err = SC_OK;

	memset(&grp, 0, sizeof(grp));
	sbuf_init(&g, CMD_LINE_MAX);
	if (ml->npre == 1 && ends_colon(ml->w[0]) && name_like(ml->w[0])) {
		ml->f[0] |= W_NAME;
		err = add_name(ml, ml->w[0], strlen(ml->w[0]));
		i = 1;
	} else if (ml->npre > 0) {
		for (int k = 0; k < ml->npre; k++)
			lead &= ml->w[k][0] == '@' && name_like(ml->w[k]);
		for (int k = 0; lead && k < ml->npre && !err; k++) {
			ml->f[k] |= W_NAME;
			err = add_name(ml, ml->w[k], strlen(ml->w[k]));
		}
		i = ml->npre;
	}
	if (lead) {
		int at = 0;
		for (; i < ml->n - 1 && !err && ml->w[i][0] == '@' &&
		       name_like(ml->w[i]); i++, at++) {
			ml->f[i] |= W_NAME;
			err = add_name(ml, ml->w[i], strlen(ml->w[i]));
		}
		if (!err && !at && i < ml->n - 1 && ends_colon(ml->w[i]) &&
		    name_like(ml->w[i])) {
			ml->f[i] |= W_NAME;
			err = add_name(ml, ml->w[i], strlen(ml->w[i]));
		}
	}
	/* the closing group, at most 8 words back, before any due:,
	 * severity or #labels that end the line */
	e = ml->n - 1;
	while (e > 0 && (!strncasecmp(ml->w[e], "due:", 4) || is_severity(ml->w[e]) ||
			 is_tag(ml->w[e])))
		e--;
	if (err || e < 1 || (ml->f[e] & W_NAME))
		goto out;
	if (ml->w[e][strlen(ml->w[e]) - 1] != ')')
		goto out;
	for (s = e; s > 0 && e - s < 8 && ml->w[s][0] != '('; s--)
		;
	if (ml->w[s][0] != '(' || s == 0)
		goto out;
	for (int k = s; k <= e && !err; k++)
		err = sbuf_printf(&g, "%s%s", k > s ? " " : "", ml->w[k]);
	if (!err)
		err = group_names(g.buf, &grp);
	if (err || !grp.nnames)
		goto out;
	for (size_t k = 0; k < grp.nnames; k++) {
		if (grp.names[k][0] == '@')
			ats++;
		else if (!is_member(c, grp.names[k]))
			other = 1;
	}
	if (!ats && other)
		goto out;
	for (int k = s; k <= e && !other; k++)
		ml->f[k] |= W_NAME;
	for (size_t k = 0; k < grp.nnames && !err; k++)
		if (!other || grp.names[k][0] == '@')
			err = add_name(ml, grp.names[k], strlen(grp.names[k]));
out:
	mline_clear(&grp);
	sbuf_release(&g);
	return err;
}

/* Join the words without any flag of skip. */
static char *mline_join(const struct mline *ml, int from, int to, unsigned skip)
{
	struct sbuf sb;

	sbuf_init(&sb, CMD_LINE_MAX);
	for (int i = from; i < to; i++) {
		if (ml->f[i] & skip)
			continue;
		if ((sb.len && sbuf_putc(&sb, ' ')) || sbuf_puts(&sb, ml->w[i])) {
			sbuf_release(&sb);
			return NULL;
		}
	}
	return sbuf_detach(&sb, NULL);
}

/* Ping the assignees of r other than the sender (as !todo does). */
static sc_err ping_new(struct cmd_ctx *c, const struct record *r)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->nassignees && !err; i++)
		if (strcmp(r->assignees[i], c->sender) != 0)
			err = reply_mention(c->out, r->assignees[i]);
	return err;
}

/* Say that the line held no text to record (not an error: the
 * attendance it marked stays). */
static sc_err nothing_to_record(struct cmd_ctx *c, const char *example)
{
	return reply_textf(c->out, "Nothing to record after the tag; say it like \"%s\".",
			   example);
}

/* "… by fri" closing an action item (Template A's "[Who] will … by
 * [Date]"), before any #labels: the due date, the two words marked
 * W_OPT. Words that are no date ("by email") stay text. */
static sc_err by_date(struct cmd_ctx *c, struct mline *ml, int64_t *due)
{
	int last = ml->n - 1, by;
	char *d;
	size_t n;

	while (last >= 0 && ((ml->f[last] & (W_NAME | W_OPT)) || is_tag(ml->w[last])))
		last--;
	for (by = last - 1; by >= 0 && (ml->f[by] & (W_NAME | W_OPT)); by--)
		;
	/* something must be left to do */
	if (by < 1 || strcasecmp(ml->w[by], "by"))
		return SC_OK;
	d = strdup(ml->w[last]);
	if (!d)
		return SC_ENOMEM;
	n = strlen(d);
	while (n && strchr(".,;!", d[n - 1]))
		d[--n] = '\0';
	if (n && when_parse_due(d, c->now, cmd_input_tz(c), due) == SC_OK) {
		ml->f[by] |= W_OPT;
		ml->f[last] |= W_OPT;
	}
	free(d);
	return SC_OK;
}

/* "#todo …" / "#action …": an action item; names nobody here answers
 * to leave it unassigned (the line is kept whole) and the reply says so. */
static sc_err line_todo(struct cmd_ctx *c, struct mline *ml)
{
	struct record r;
	struct sbuf why, note;
	char id[24];
	char *text = NULL;
	int first = -1, last = -1, nwords = 0;
	sc_err err;

	memset(&r, 0, sizeof(r));
	sbuf_init(&why, CMD_LINE_MAX);
	sbuf_init(&note, CMD_LINE_MAX);
	err = find_names(c, ml);
	if (!err)
		err = by_date(c, ml, &r.due);
	for (int i = 0; i < ml->n && !err; i++) {
		const char *w = ml->w[i];
		int64_t due;

		if (ml->f[i] & (W_NAME | W_OPT))
			continue;
		if (!strncasecmp(w, "due:", 4) && w[4] && !r.due) {
			if (when_parse_due(w + 4, c->now, cmd_input_tz(c), &due) == SC_OK) {
				r.due = due;
				ml->f[i] |= W_OPT;
			} else if (!note.len) {
				err = sbuf_printf(&note, "I could not read the date '%s'; set it with %sdue",
						  w + 4, c->cfg->prefix);
			}
			continue;
		}
		if (first < 0)
			first = i;
		last = i;
		nwords++;
	}
	/* A severity first or last, as !todo takes it. */
	if (!err && nwords > 1) {
		int at = is_severity(ml->w[last]) ? last :
			 is_severity(ml->w[first]) ? first : -1;
		if (at >= 0) {
			ml->f[at] |= W_OPT;
			err = record_set(&r.severity, ml->w[at]);
			for (char *p = r.severity; !err && *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	}
	/* Labels: every #word; a closing run of them is cut from the text. */
	for (int i = 0; i < ml->n && !err; i++) {
		char *tag;

		if ((ml->f[i] & (W_NAME | W_OPT)) || !is_tag(ml->w[i]))
			continue;
		tag = strdup(ml->w[i] + 1);
		if (!tag) {
			err = SC_ENOMEM;
			break;
		}
		for (char *p = tag; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		err = record_add_tag(&r, tag);
		free(tag);
	}
	for (int i = ml->n - 1; i >= 0 && !err; i--) {
		if (ml->f[i] & (W_NAME | W_OPT))
			continue;
		if (!is_tag(ml->w[i]))
			break;
		ml->f[i] |= W_OPT;
	}
	/* Who: every name must be a member, or nobody is assigned. */
	for (size_t i = 0; i < ml->nnames && !err; i++) {
		char *uid = NULL, *cands = NULL;
		sc_err e = store_member_resolve(c->st, c->room_id, ml->names[i],
						&uid, &cands);
		if (e == SC_OK)
			err = record_add_assignee(&r, uid);
		else if (e == SC_ENOTFOUND)
			err = sbuf_printf(&why, "%snobody called '%s' in this room",
					  why.len ? "; " : "", ml->names[i]);
		else if (e == SC_EAMBIGUOUS)
			err = sbuf_printf(&why, "%s'%s' could be %s", why.len ? "; " : "",
					  ml->names[i], cands ? cands : "several people");
		else
			err = e;
		free(uid);
		free(cands);
	}
	if (err)
		goto out;
	if (why.len) {
		for (size_t i = 0; i < r.nassignees; i++)
			free(r.assignees[i]);
		r.nassignees = 0;
	}
	text = mline_join(ml, 0, ml->n, why.len ? W_OPT : W_NAME | W_OPT);
	if (!text) {
		err = SC_ENOMEM;
		goto out;
	}
	if (!*text) {
		err = nothing_to_record(c, "#todo elon: pick a tracker");
		goto out;
	}
	r.kind = REC_TODO;
	r.text = text;
	text = NULL;
	if (!r.due)
		r.due = severity_due(c, r.severity);
	err = record_set(&r.status, "open");
	if (!err)
		err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, "Noted ");
	if (!err)
		err = render_record(c, &r, REPLY_ECHO_CHARS);
	record_short_id(&r, id, sizeof(id));
	if (!err && why.len) {
		err = reply_nl(c->out);
		if (!err)
			err = reply_textf(c->out, "Not assigned: %s. Use %sassign %s @user.",
					  why.buf, c->cfg->prefix, id);
	}
	if (!err && note.len) {
		err = reply_nl(c->out);
		if (!err)
			err = reply_textf(c->out, "%s %s fri.", note.buf, id);
	}
	if (!err)
		err = ping_new(c, &r);
out:
	free(text);
	sbuf_release(&why);
	sbuf_release(&note);
	record_clear(&r);
	return err;
}

/* "#decision …", "#agreed …", "#accepted …" (accepted) and
 * "#rejected …" (a proposal turned down): a decision, "because" starts
 * its rationale (Template A's Decision | Rationale | Status). */
static sc_err line_decision(struct cmd_ctx *c, struct mline *ml,
			    const char *status)
{
	struct record r;
	int at = ml->n;
	sc_err err = SC_OK;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < ml->n; i++) {
		if (!strcasecmp(ml->w[i], "because")) {
			at = i;
			break;
		}
	}
	r.text = mline_join(ml, 0, at, 0);
	if (at + 1 < ml->n)
		r.detail = mline_join(ml, at + 1, ml->n, 0);
	if (!r.text || (at + 1 < ml->n && !r.detail)) {
		err = SC_ENOMEM;
		goto out;
	}
	if (!*r.text) {
		err = nothing_to_record(c, strcmp(status, "rejected") ?
					"#agreed use Linear because it is fast" :
					"#rejected use Jira because nobody likes it");
		goto out;
	}
	r.kind = REC_DECISION;
	err = record_set(&r.status, status);
	if (!err)
		err = add_record(c, &r);
	if (err)
		goto out;
	c->out->record = r.id;
	err = reply_text(c->out, strcmp(status, "rejected") ? "Noted decision " :
			 "Noted rejected proposal ");
	if (!err)
		err = reply_id(c->out, &r);
	if (!err)
		err = reply_text(c->out, ": ");
	if (!err)
		err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
	if (!err && r.detail)
		err = reply_text(c->out, " (because ");
	if (!err && r.detail)
		err = reply_snip(c->out, r.detail, REPLY_ECHO_CHARS);
	if (!err && r.detail)
		err = reply_text(c->out, ")");
out:
	record_clear(&r);
	return err;
}

/* "#info …", "#topic …", "#idea …", "#help …", "#objective …",
 * "#requirement …", "#strategy Key: value": a note of the minutes. */
static sc_err line_note(struct cmd_ctx *c, struct mline *ml, const char *kind)
{
	static const struct {
		const char *kind, *example;
	} examples[] = {
		{ "info", "#info the inventory sheet is current" },
		{ "topic", "#topic task tracker" },
		{ "idea", "#idea host our own link shortener" },
		{ "help", "#help who can review the DNS zone?" },
		{ "objective", "#objective reduce deployment time by 50%" },
		{ "requirement", "#requirement must support 10k concurrent users" },
		{ "strategy", "#strategy Infrastructure: AWS ECS Fargate" },
	};
	const char *example = "#info text";
	char *text = mline_join(ml, 0, ml->n, 0);
	sc_err err;

	if (!text)
		return SC_ENOMEM;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		if (!strcmp(examples[i].kind, kind))
			example = examples[i].example;
	if (*text)
		err = meeting_note(c, kind, text);
	else
		err = nothing_to_record(c, example);
	free(text);
	return err;
}

/* Whether w starts with a URL scheme MeetBot links (and more after it). */
static int is_url(const char *w)
{
	static const char *const schemes[] = {
		"http://", "https://", "ftp://", "ftps://", "irc://", "ircs://",
		"ssh://",  "mailto:",  "matrix:", "sftp://",
	};

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (!strncasecmp(w, schemes[i], n) && w[n])
			return 1;
	}
	return 0;
}

/* "#link URL [text]" (the URL may be anywhere): stored as "URL text". */
static sc_err line_link(struct cmd_ctx *c, struct mline *ml)
{
	struct sbuf sb;
	int at = -1;
	sc_err err;

	for (int i = 0; i < ml->n && at < 0; i++)
		if (is_url(ml->w[i]))
			at = i;
	if (at < 0)
		return reply_text(c->out, "A link needs its URL; say it like "
				  "\"#link https://wiki.example.org/runbook the runbook\".");
	sbuf_init(&sb, CMD_LINE_MAX);
	err = sbuf_puts(&sb, ml->w[at]);
	for (int i = 0; i < ml->n && !err; i++)
		if (i != at)
			err = sbuf_printf(&sb, " %s", ml->w[i]);
	if (!err)
		err = meeting_note(c, "link", sb.buf);
	sbuf_release(&sb);
	return err;
}

/* Append the meeting's chairs, "dc, patcon". */
static sc_err reply_chairs(struct cmd_ctx *c, const struct record *m)
{
	struct userlist ch;
	sc_err err = meeting_chairs(c->st, m, &ch);

	for (size_t i = 0; i < ch.n && i < LINE_PEOPLE_MAX && !err; i++) {
		if (i)
			err = reply_text(c->out, ", ");
		if (!err)
			err = reply_short_user(c->out, ch.ids[i]);
	}
	if (!err && ch.n > LINE_PEOPLE_MAX)
		err = reply_textf(c->out, " +%zu", ch.n - LINE_PEOPLE_MAX);
	userlist_clear(&ch);
	return err;
}

/* Resolve every word of ml as a member (writes the refusal) into out. */
static sc_err line_users(struct cmd_ctx *c, struct mline *ml,
			  const char *example, struct userlist *out)
{
	sc_err err = SC_OK;

	memset(out, 0, sizeof(*out));
	if (!ml->n)
		return cmd_fail(c, SC_EINVAL, "say who: %s", example);
	for (int i = 0; i < ml->n && !err; i++) {
		char *uid = NULL;
		size_t n = strlen(ml->w[i]);

		while (n && strchr(",;", ml->w[i][n - 1]))
			ml->w[i][--n] = '\0';
		if (!n)
			continue;
		err = resolve_user(c, ml->w[i], &uid);
		if (!err && !userlist_has(out, uid)) {
			char **v = realloc(out->ids, (out->n + 1) * sizeof(*v));
			if (!v) {
				err = SC_ENOMEM;
			} else {
				out->ids = v;
				out->ids[out->n++] = uid;
				uid = NULL;
			}
		}
		free(uid);
	}
	if (err)
		userlist_clear(out);
	return err;
}

/* "#chair @a [@b]" / "#unchair @a": chairs only; the starter stays. */
static sc_err line_chair(struct cmd_ctx *c, struct mline *ml, int add)
{
	struct record m;
	struct userlist who, ch;
	char id[24];
	sc_err err = meeting_need_chair(c, add ? "add chairs" : "remove chairs");

	if (err)
		return err;
	err = line_users(c, ml, add ? "#chair @patcon [@dc]" : "#unchair @patcon", &who);
	if (err)
		return err;
	err = store_record_get_id(c->st, c->meeting, &m);
	if (err) {
		userlist_clear(&who);
		return err;
	}
	record_short_id(&m, id, sizeof(id));
	err = meeting_chairs(c->st, &m, &ch);
	for (size_t i = 0; i < who.n && !err; i++) {
		if (!add && !strcmp(who.ids[i], m.author)) {
			const char *u = m.author[0] == '@' ? m.author + 1 : m.author;

			err = cmd_fail(c, SC_EPERM, "%.*s started %s and stays its chair",
				       (int)strcspn(u, ":"), u, id);
		} else if (add != userlist_has(&ch, who.ids[i])) {
			err = store_note_add(c->st, m.id, c->now, c->sender,
					     add ? "chair" : "unchair", who.ids[i]);
		}
	}
	if (!err)
		err = reply_textf(c->out, "Chairs of %s: ", id);
	if (!err)
		err = reply_chairs(c, &m);
	userlist_clear(&ch);
	userlist_clear(&who);
	record_clear(&m);
	return err;
}

/* "#notetaker @who": who takes the notes (chairs, or anyone for
 * themselves); alone, who does. */
static sc_err line_notetaker(struct cmd_ctx *c, struct mline *ml)
{
	struct record m;
	struct userlist who;
	char *nt = NULL;
	char id[24];
	sc_err err;

	memset(&who, 0, sizeof(who));
	if (ml->n) {
		err = line_users(c, ml, "#notetaker @dc", &who);
		if (err)
			return err;
		if (who.n != 1 || strcmp(who.ids[0], c->sender))
			err = who.n != 1 ? cmd_fail(c, SC_EINVAL, "one notetaker: #notetaker @dc")
					 : meeting_need_chair(c, "name someone else notetaker");
		if (!err)
			err = store_note_add(c->st, c->meeting, c->now, c->sender,
					     "notetaker", who.ids[0]);
		userlist_clear(&who);
		if (err)
			return err;
	}
	err = store_record_get_id(c->st, c->meeting, &m);
	if (err)
		return err;
	record_short_id(&m, id, sizeof(id));
	err = meeting_notetaker(c->st, &m, &nt);
	if (!err)
		err = reply_textf(c->out, "Notetaker of %s: ", id);
	if (!err)
		err = reply_short_user(c->out, nt);
	free(nt);
	record_clear(&m);
	return err;
}

/* "#nick @ben": ben attends without having said a word (on the phone). */
static sc_err line_nick(struct cmd_ctx *c, struct mline *ml)
{
	struct userlist who;
	sc_err err = line_users(c, ml, "#nick @ben", &who);

	if (!err)
		err = reply_text(c->out, "Present: ");
	for (size_t i = 0; i < who.n && !err; i++) {
		err = store_attendee_add(c->st, c->meeting, who.ids[i]);
		if (!err && i)
			err = reply_text(c->out, ", ");
		if (!err)
			err = reply_short_user(c->out, who.ids[i]);
	}
	userlist_clear(&who);
	return err;
}

/* "#meetingname title": chairs rename the meeting (history keeps the
 * old name). */
static sc_err line_name(struct cmd_ctx *c, struct mline *ml)
{
	struct record m;
	char *text;
	sc_err err = meeting_need_chair(c, "rename the meeting");

	if (err)
		return err;
	text = mline_join(ml, 0, ml->n, 0);
	if (!text)
		return SC_ENOMEM;
	if (!*text) {
		free(text);
		return nothing_to_record(c, "#meetingname Infrastructure and Operations");
	}
	err = store_record_get_id(c->st, c->meeting, &m);
	if (!err) {
		free(m.text);
		m.text = text;
		text = NULL;
		err = store_record_update(c->st, &m, c->sender, c->now, c->event_id);
	}
	if (!err)
		err = reply_text(c->out, "Meeting ");
	if (!err)
		err = reply_id(c->out, &m);
	if (!err)
		err = reply_text(c->out, " is now called: ");
	if (!err)
		err = reply_snip(c->out, m.text, REPLY_ECHO_CHARS);
	free(text);
	record_clear(&m);
	return err;
}

/* ---- #undo ---- */

/* The kinds of notes #undo takes back: the minutes' items. */
static int undoable(const char *kind)
{
	static const char *const kinds[] = {
		"topic", "info", "idea", "link", "help", "objective",
		"requirement", "strategy",
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i], kind))
			return 1;
	return 0;
}

/* The meeting's last note still in the minutes (a copy). */
struct last_note {
	int64_t id, after;
	char *author, *kind, *text;
	sc_err err;
};

static int last_note_cb(const struct note *n, void *ctx)
{
	struct last_note *l = ctx;

	if (n->withdrawn || !undoable(n->kind) || n->id < l->id)
		return 0;
	free(l->author);
	free(l->kind);
	free(l->text);
	l->id = n->id;
	l->after = n->after;
	l->author = strdup(n->author);
	l->kind = strdup(n->kind);
	l->text = strdup(n->text);
	if (!l->author || !l->kind || !l->text)
		l->err = SC_ENOMEM;
	return l->err != SC_OK;
}

static int last_record_cb(const struct record *r, void *ctx)
{
	*(int64_t *)ctx = r->id;
	return 1;
}

/* "#undo": take the meeting's last item out of the minutes, a record
 * (withdrawn, with history) or a note; one's own, or anyone's for a
 * chair. */
static sc_err line_undo(struct cmd_ctx *c)
{
	struct last_note ln;
	struct rec_query q;
	struct record r;
	int64_t rec = 0;
	char mid[24];
	sc_err err;

	memset(&ln, 0, sizeof(ln));
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	q.meeting = c->meeting;
	q.order = ORDER_NEWEST;
	q.limit = 1;
	q.skip = SKIP_ALL;
	err = store_query(c->st, &q, last_record_cb, &rec);
	if (!err)
		err = store_notes(c->st, c->meeting, last_note_cb, &ln);
	if (!err)
		err = ln.err;
	if (!err)
		err = store_record_get_id(c->st, c->meeting, &r);
	if (err)
		goto out;
	record_short_id(&r, mid, sizeof(mid));
	record_clear(&r);
	if (!rec && !ln.id) {
		err = reply_textf(c->out, "Nothing to undo in %s.", mid);
		goto out;
	}
	/* a note came after the records up to its `after` */
	if (rec && (!ln.id || rec > ln.after)) {
		err = store_record_get_id(c->st, rec, &r);
		if (!err && strcmp(r.author, c->sender))
			err = meeting_need_chair(c, "undo someone else's item");
		if (err)
			goto out;
		r.withdrawn = 1;
		err = store_record_update(c->st, &r, c->sender, c->now, c->event_id);
		if (!err)
			err = reply_textf(c->out, "Removed from the minutes of %s: ", mid);
		if (!err)
			err = reply_id(c->out, &r);
		if (!err)
			err = reply_text(c->out, " ");
		if (!err)
			err = reply_snip(c->out, r.text, REPLY_ECHO_CHARS);
		if (!err)
			err = reply_text(c->out, " (its history keeps it)");
	} else {
		if (strcmp(ln.author, c->sender))
			err = meeting_need_chair(c, "undo someone else's item");
		if (!err)
			err = store_note_withdraw(c->st, ln.id, c->now);
		if (!err)
			err = reply_textf(c->out, "Removed from the minutes of %s: %s ",
					  mid, ln.kind);
		if (!err)
			err = reply_snip(c->out, ln.text, REPLY_ECHO_CHARS);
	}
out:
	free(ln.author);
	free(ln.kind);
	free(ln.text);
	record_clear(&r);
	return err;
}

static sc_err line_commands(struct cmd_ctx *c)
{
	return reply_textf(c->out,
			   "Meeting tags: #topic #info #action #agreed #accepted "
			   "#rejected #idea #link #help #undo #chair #unchair #nick "
			   "#notetaker #meetingname #endmeeting; in strategy meetings "
			   "#objective #requirement #strategy (Template A). "
			   "#todo and #decision work anywhere in a line.");
}

int meeting_tag_line(const char *line)
{
	char w[16];
	size_t n = 0;

	while (isspace((unsigned char)*line))
		line++;
	while (line[n] && !isspace((unsigned char)line[n]) && n < sizeof(w) - 1) {
		w[n] = line[n];
		n++;
	}
	w[n] = '\0';
	n = (size_t)line_tag(w, 1);
	return n == TAG_START || n == TAG_END;
}

sc_err meeting_line(struct cmd_ctx *c, const char *line, int *handled)
{
	struct mline ml;
	sc_err err;

	*handled = 0;
	memset(&ml, 0, sizeof(ml));
	if (strlen(line) > CMD_LINE_MAX || !utf8_valid(line, strlen(line)))
		return SC_OK;
	/* MeetBot: a line that starts with a URL is a link */
	if (!strchr(line, '#') && !(c->meeting && is_url(line)))
		return SC_OK;
	err = mline_parse(line, &ml);
	if (err == SC_ETOOBIG)
		return SC_OK; /* not minutes material; attendance is noted */
	if (err)
		return err;
	if (!ml.tag && c->meeting && ml.n && is_url(ml.w[0]))
		ml.tag = TAG_LINK;
	/* no meeting runs: only #startmeeting (and a clear word for
	 * #endmeeting) */
	if (!c->meeting && ml.tag != TAG_START && ml.tag != TAG_END)
		goto out;
	switch (ml.tag) {
	case TAG_TODO:
		err = line_todo(c, &ml);
		break;
	case TAG_DECISION:
		err = line_decision(c, &ml, "accepted");
		break;
	case TAG_REJECTED:
		err = line_decision(c, &ml, "rejected");
		break;
	case TAG_INFO:
		err = line_note(c, &ml, "info");
		break;
	case TAG_TOPIC:
		err = meeting_need_chair(c, "change the topic");
		if (!err)
			err = line_note(c, &ml, "topic");
		break;
	case TAG_IDEA:
		err = line_note(c, &ml, "idea");
		break;
	case TAG_HELP:
		err = line_note(c, &ml, "help");
		break;
	case TAG_OBJECTIVE:
		err = line_note(c, &ml, "objective");
		break;
	case TAG_REQUIREMENT:
		err = line_note(c, &ml, "requirement");
		break;
	case TAG_STRATEGY:
		err = line_note(c, &ml, "strategy");
		break;
	case TAG_LINK:
		err = line_link(c, &ml);
		break;
	case TAG_UNDO:
		err = line_undo(c);
		break;
	case TAG_CHAIR:
	case TAG_UNCHAIR:
		err = line_chair(c, &ml, ml.tag == TAG_CHAIR);
		break;
	case TAG_NOTETAKER:
		err = line_notetaker(c, &ml);
		break;
	case TAG_NICK:
		err = line_nick(c, &ml);
		break;
	case TAG_NAME:
		err = line_name(c, &ml);
		break;
	case TAG_COMMANDS:
		err = line_commands(c);
		break;
	case TAG_START:
		err = meeting_start(c, (const char *const *)ml.w, ml.n);
		break;
	case TAG_END:
		err = meeting_end(c);
		break;
	default:
		goto out;
	}
	if (!err)
		*handled = 1;
out:
	mline_clear(&ml);
	return err;
}
