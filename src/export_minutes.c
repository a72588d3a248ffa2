/* SPDX-License-Identifier: MIT */
/*
 * export_minutes.c - `scribe export --format minutes`: one Markdown
 * file per meeting (2026-11-23-m3-weekly-sync.md) in the shape of its
 * template: the team's own minutes (seed 000), Template A for a strategy
 * meeting, Template B for an operational review, then MeetBot's "People
 * present (lines said)". Golden files are in tests/data/minutes/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bgwrite.h"
#include "export.h"
#include "export_int.h"
#include "store.h"
#include "store_admin.h"
#include "when.h"
#include "banned.h"

/* ---- minutes: one file per meeting, in the shape of its template ----
 *
 * A meeting's file follows its template, a tag of its record: seed
 * 000's layout (time, attending with late arrivals, notetaker, agenda,
 * notes, decisions, changes, the follow-up action items per person),
 * seed 002's Template A for a strategy meeting or Template B for an
 * operational review. Then what the template has no place for, and
 * MeetBot's "People present (lines said)". What a meeting holds is
 * commands/meeting.c's to decide (chairs, notetaker, the items carried
 * over, the review's window: the previous review meeting's start, else
 * a week); it is read back here from the records and notes alone, so
 * the file is the same whenever it is written. The whole file is built
 * in x->file (meetings are small) and handed to bgf_put.
 */

/* ---- a meeting's notes and attendance, read once per file ----
 *
 * The shapes ask for the notes section by section and for the
 * attendance twice: read once for the meeting being written (x->mm),
 * a meeting costs 7 queries instead of 17. */

struct min_meeting {
	int64_t id;
	struct note *notes; /* strings owned */
	size_t nnotes, capn;
	struct attendee *att; /* user ids owned */
	size_t natt, capa;
	size_t *by_lines; /* att's indexes, most lines first, else in order */
	sc_err err;
};

/* v with room for one more of n elements of size (*cap grown), or NULL
 * with v as it was. */
static void *room_for(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 16;

	if (n < *cap)
		return v;
	if (!(v = realloc(v, c * size)))
		return NULL;
	*cap = c;
	return v;
}

static int keep_note(const struct note *n, void *ctx)
{
	struct min_meeting *mm = ctx;
	struct note *c;

	if (!(c = room_for(mm->notes, &mm->capn, mm->nnotes, sizeof(*c))))
		goto nomem;
	mm->notes = c;
	c += mm->nnotes;
	*c = *n;
	c->author = strdup(n->author);
	c->kind = strdup(n->kind);
	c->text = strdup(n->text);
	mm->nnotes++; /* (freed by mm_clear whatever failed) */
	if (c->author && c->kind && c->text)
		return 0;
nomem:
	mm->err = SC_ENOMEM;
	return 1;
}

static int keep_attendee(const struct attendee *a, void *ctx)
{
	struct min_meeting *mm = ctx;
	struct attendee *c;

	if (!(c = room_for(mm->att, &mm->capa, mm->natt, sizeof(*c))))
		goto nomem;
	mm->att = c;
	c += mm->natt;
	*c = *a;
	c->user_id = strdup(a->user_id);
	mm->natt++;
	if (c->user_id)
		return 0;
nomem:
	mm->err = SC_ENOMEM;
	return 1;
}

static void mm_clear(struct min_meeting *mm)
{
	for (size_t i = 0; i < mm->nnotes; i++) {
		free((char *)mm->notes[i].author);
		free((char *)mm->notes[i].kind);
		free((char *)mm->notes[i].text);
	}
	for (size_t i = 0; i < mm->natt; i++)
		free((char *)mm->att[i].user_id);
	free(mm->notes);
	free(mm->att);
	free(mm->by_lines);
	memset(mm, 0, sizeof(*mm));
}

static sc_err mm_load(struct ex *x, const struct record *m,
		      struct min_meeting *mm)
{
	sc_err err;

	memset(mm, 0, sizeof(*mm));
	mm->id = m->id;
	err = ex_store_err(x, store_notes(x->st, m->id, keep_note, mm));
	if (!err)
		err = mm->err;
	if (!err)
		err = ex_store_err(x, store_attendance(x->st, m->id, 0,
						       keep_attendee, mm));
	if (!err)
		err = mm->err;
	if (!err && mm->natt &&
	    !(mm->by_lines = malloc(mm->natt * sizeof(*mm->by_lines))))
		err = SC_ENOMEM;
	/* the store's "lines DESC, rowid": stable, by insertion */
	for (size_t i = 0; !err && i < mm->natt; i++) {
		size_t j = i;

		while (j && mm->att[mm->by_lines[j - 1]].lines < mm->att[i].lines) {
			mm->by_lines[j] = mm->by_lines[j - 1];
			j--;
		}
		mm->by_lines[j] = i;
	}
	return err;
}

/* m's notes, oldest first, withdrawn ones too, to cb until it returns
 * nonzero (store_notes from the meeting being written). */
static sc_err min_each_note(struct ex *x, const struct record *m, note_cb cb,
			    void *ctx)
{
	if (!x->mm || x->mm->id != m->id)
		return ex_store_err(x, store_notes(x->st, m->id, cb, ctx));
	for (size_t i = 0; i < x->mm->nnotes; i++)
		if (cb(&x->mm->notes[i], ctx))
			break;
	return SC_OK;
}

/* m's attendance as store_attendance gives it. */
static sc_err min_each_attendee(struct ex *x, const struct record *m,
				int by_lines, attendance_cb cb, void *ctx)
{
	if (!x->mm || x->mm->id != m->id)
		return ex_store_err(x, store_attendance(x->st, m->id, by_lines,
							cb, ctx));
	for (size_t i = 0; i < x->mm->natt; i++)
		if (cb(&x->mm->att[by_lines ? x->mm->by_lines[i] : i], ctx))
			break;
	return SC_OK;
}

enum mtype { MT_PLAIN = 0, MT_STRATEGY, MT_REVIEW };

static enum mtype minutes_type(const struct record *m)
{
	for (size_t i = 0; i < m->ntags; i++) {
		if (!strcmp(m->tags[i], "strategy"))
			return MT_STRATEGY;
		if (!strcmp(m->tags[i], "review"))
			return MT_REVIEW;
	}
	return MT_PLAIN;
}

/* How a note is written. */
enum nmode {
	NM_ITEM,     /* "- text" */
	NM_TIMED,    /* "- 15:02 yurko: text" */
	NM_LINK,     /* "- [text](url) (yurko)" */
	NM_STAR,     /* "*   text" */
	NM_REQ,      /* "*   [ ] Requirement 1: text" */
	NM_KEY,      /* "*   **Key:** value" */
	NM_BY,       /* "*   text (yurko)" */
};

struct min_notes {
	struct ex *x;
	const char *room; /* the meeting's */
	struct sbuf *f;
	const char *kind;
	const char *head;  /* written before the first one, or NULL */
	enum nmode mode;
	int n;
	sc_err err;
};

/* Append url for a Markdown link target: anything that could end the
 * target or start markup is percent-encoded. */
static sc_err md_url(struct sbuf *f, const char *url)
{
	sc_err err = SC_OK;

	for (const unsigned char *p = (const unsigned char *)url; *p && !err; p++) {
		if (*p > 0x20 && *p < 0x7f && !strchr("()<>[]\\\"`| ", *p))
			err = sbuf_putc(f, (char)*p);
		else
			err = sbuf_printf(f, "%%%02X", *p);
	}
	return err;
}

/* Whether a link note's address has a scheme a #link takes (and a
 * reader may click): what commands/meeting_tags.c accepts. */
static int safe_url(const char *s)
{
	static const char *const schemes[] = {
		"http://", "https://", "ftp://", "ftps://", "irc://", "ircs://",
		"ssh://",  "mailto:",  "matrix:", "sftp://",
	};

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (!strncasecmp(s, schemes[i], n) && s[n] && s[n] != ' ')
			return 1;
	}
	return 0;
}

/* "Key: value" → "**Key:** value" when the key is short; else text. */
static sc_err md_key_value(struct sbuf *f, const char *s)
{
	const char *colon = strstr(s, ": ");

	if (!colon || colon == s || colon - s > 60)
		return md_text(f, s, 0);
	{
		sc_err err = sbuf_puts(f, "**");
		if (!err)
			err = md_textn(f, s, (size_t)(colon - s), 0);
		if (!err)
			err = sbuf_puts(f, ":** ");
		if (!err)
			err = md_text(f, colon + 2, 0);
		return err;
	}
}

static int min_note_cb(const struct note *n, void *ctx)
{
	struct min_notes *s = ctx;
	struct sbuf *f = s->f;
	const char *sp;
	sc_err err = SC_OK;

	if (n->withdrawn || strcmp(n->kind, s->kind))
		return 0;
	if (!s->n++ && s->head)
		err = sbuf_puts(f, s->head);
	switch (s->mode) {
	case NM_ITEM:
		if (!err)
			err = sbuf_puts(f, "- ");
		if (!err)
			err = md_text(f, n->text, 0);
		break;
	case NM_TIMED:
		if (!err)
			err = sbuf_puts(f, "- ");
		if (!err)
			err = local_fmt(f, s->x->o->tz, n->ts, "%H:%M ");
		if (!err)
			err = ex_person(s->x, f, s->room, n->author);
		if (!err)
			err = sbuf_puts(f, ": ");
		if (!err)
			err = md_text(f, n->text, 0);
		break;
	case NM_LINK:
		/* "URL [text]": [text](URL), or <URL> alone; an address of
		 * another scheme (an import may bring any) stays text */
		sp = strchr(n->text, ' ');
		if (!safe_url(n->text)) {
			if (!err)
				err = sbuf_puts(f, "- ");
			if (!err)
				err = md_text(f, n->text, 0);
			if (!err)
				err = sbuf_puts(f, " (");
			if (!err)
				err = ex_person(s->x, f, s->room, n->author);
			if (!err)
				err = sbuf_putc(f, ')');
			break;
		}
		if (!err)
			err = sbuf_puts(f, sp ? "- [" : "- <");
		if (!err && sp)
			err = md_text(f, sp + 1, 0);
		if (!err && sp)
			err = sbuf_puts(f, "](");
		if (!err) {
			char *url = strndup(n->text, sp ? (size_t)(sp - n->text)
							: strlen(n->text));
			err = url ? md_url(f, url) : SC_ENOMEM;
			free(url);
		}
		if (!err)
			err = sbuf_puts(f, sp ? ") (" : "> (");
		if (!err)
			err = ex_person(s->x, f, s->room, n->author);
		if (!err)
			err = sbuf_putc(f, ')');
		break;
	case NM_STAR:
	case NM_BY:
		if (!err)
			err = sbuf_puts(f, "*   ");
		if (!err)
			err = md_text(f, n->text, 0);
		if (!err && s->mode == NM_BY) {
			err = sbuf_puts(f, " (");
			if (!err)
				err = ex_person(s->x, f, s->room, n->author);
			if (!err)
				err = sbuf_putc(f, ')');
		}
		break;
	case NM_REQ:
		if (!err)
			err = sbuf_printf(f, "*   [ ] Requirement %d: ", s->n);
		if (!err)
			err = md_text(f, n->text, 0);
		break;
	case NM_KEY:
		if (!err)
			err = sbuf_puts(f, "*   ");
		if (!err)
			err = md_key_value(f, n->text);
		break;
	}
	if (!err)
		err = sbuf_putc(f, '\n');
	s->err = err;
	return err != SC_OK;
}

/* Write m's notes of kind (head before the first); *n gets how many. */
static sc_err min_notes(struct ex *x, const struct record *m, const char *kind,
			const char *head, enum nmode mode, int *n)
{
	struct min_notes s = { x, m->room_id, &x->file, kind, head, mode, 0,
				SC_OK };
	sc_err err = min_each_note(x, m, min_note_cb, &s);

	if (!err)
		err = s.err;
	if (n)
		*n = s.n;
	return err;
}

/* A section of notes that is always there: "none" when empty. */
static sc_err min_notes_or(struct ex *x, const struct record *m, const char *kind,
			   const char *head, enum nmode mode, const char *none)
{
	int n = 0;
	sc_err err = sbuf_puts(&x->file, head);

	if (!err)
		err = min_notes(x, m, kind, NULL, mode, &n);
	if (!err && !n)
		err = sbuf_puts(&x->file, none);
	return err;
}

/* Records of a query, each written by fn into x->file, head before the
 * first. */
struct min_recs {
	struct ex *x;
	sc_err (*fn)(struct ex *x, struct sbuf *sb, const struct record *r);
	const char *head;
	int (*keep)(const struct record *r, const void *arg);
	const void *arg;
	int64_t n;
	sc_err err;
};

static int min_rec_cb(const struct record *r, void *ctx)
{
	struct min_recs *s = ctx;

	if (s->keep && !s->keep(r, s->arg))
		return 0;
	if (!s->n++ && s->head)
		s->err = sbuf_puts(&s->x->file, s->head);
	if (!s->err)
		s->err = s->fn(s->x, &s->x->file, r);
	return s->err != SC_OK;
}

static sc_err min_records(struct ex *x, const struct rec_query *q,
			  sc_err (*fn)(struct ex *x, struct sbuf *sb,
				       const struct record *r),
			  const char *head, int64_t *n)
{
	struct min_recs s = { x, fn, head, NULL, NULL, 0, SC_OK };
	sc_err err = ex_store_err(x, store_query(x->st, q, min_rec_cb, &s));

	if (!err)
		err = s.err;
	if (n)
		*n = s.n;
	return err;
}

/* The records of kinds made in m, oldest first. */
static void min_query(struct rec_query *q, const struct record *m, unsigned kinds)
{
	memset(q, 0, sizeof(*q));
	q->meeting = m->id;
	q->kinds = kinds;
	q->order = ORDER_OLDEST;
}

/* "Approved" for accepted, as Template A says it. */
static const char *min_status(const char *status)
{
	return !strcmp(status, "accepted") ? "Approved" :
	       !strcmp(status, "rejected") ? "Rejected" :
	       !strcmp(status, "proposed") ? "Proposed" :
	       !strcmp(status, "superseded") ? "Superseded" : status;
}

/* Template A's row: | Use Kubernetes | Need auto-scaling | **Approved** | */
static sc_err md_template_row(struct ex *x, struct sbuf *sb, const struct record *r)
{
	sc_err err = sbuf_puts(sb, "| ");

	(void)x;
	if (!err)
		err = md_text(sb, r->text, 1);
	if (!err)
		err = sbuf_puts(sb, " | ");
	if (!err && r->detail)
		err = md_text(sb, r->detail, 1);
	if (!err)
		err = sbuf_printf(sb, " | **%s** |\n", min_status(r->status));
	return err;
}

/* "- [ ] dc will draft the diagram by 2026-11-27 (T4)": an action item
 * as the templates say it, verb "will" (A) or "to" (B). */
static sc_err md_owned(struct ex *x, struct sbuf *sb, const struct record *r,
		       const char *verb)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_puts(sb, strcmp(r->status, "done") ? "- [ ] " : "- [x] ");
	for (size_t i = 0; i < r->nassignees && !err; i++) {
		if (i)
			err = sbuf_putc(sb, '/');
		if (!err)
			err = ex_person(x, sb, r->room_id, r->assignees[i]);
	}
	if (!err && r->nassignees)
		err = sbuf_printf(sb, " %s ", verb);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err && r->due) {
		err = sbuf_puts(sb, " by ");
		if (!err)
			err = local_fmt(sb, x->o->tz, r->due, "%Y-%m-%d");
	}
	if (!err)
		err = sbuf_printf(sb, " (%s", id);
	if (!err && r->severity)
		err = sbuf_printf(sb, ", %s", r->severity);
	if (!err && !r->nassignees)
		err = sbuf_puts(sb, ", unassigned");
	if (!err && strcmp(r->status, "open") && strcmp(r->status, "done"))
		err = sbuf_printf(sb, ", %s", r->status);
	if (!err)
		err = sbuf_puts(sb, ")\n");
	return err;
}

static sc_err md_will(struct ex *x, struct sbuf *sb, const struct record *r)
{
	return md_owned(x, sb, r, "will");
}

static sc_err md_to(struct ex *x, struct sbuf *sb, const struct record *r)
{
	return md_owned(x, sb, r, "to");
}

/* An incident: "I1: db down (critical, resolved after 2h 5m); root
 * cause: …" after prefix. */
static sc_err md_incident(struct sbuf *sb, const struct record *r,
			  const char *prefix)
{
	char id[24];
	sc_err err;

	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "%s%s: ", prefix, id);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_printf(sb, " (%s, ", r->severity ? r->severity : "no severity");
	if (!err && !strcmp(r->status, "resolved") && r->closed) {
		err = sbuf_puts(sb, "resolved after ");
		if (!err)
			err = when_format_duration(r->closed - r->created, sb);
	} else if (!err) {
		err = sbuf_puts(sb, "open");
	}
	if (!err)
		err = sbuf_putc(sb, ')');
	if (!err && r->detail) {
		err = sbuf_puts(sb, "; root cause: ");
		if (!err)
			err = md_text(sb, r->detail, 0);
	}
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

static sc_err md_incident_item(struct ex *x, struct sbuf *sb, const struct record *r)
{
	(void)x;
	return md_incident(sb, r, "- ");
}

static sc_err md_incident_sub(struct ex *x, struct sbuf *sb, const struct record *r)
{
	(void)x;
	return md_incident(sb, r, "    *   ");
}

/* Template B's discussion point for a decision: "Agreed: text (D2)". */
static sc_err md_point(struct ex *x, struct sbuf *sb, const struct record *r)
{
	char id[24];
	sc_err err;

	(void)x;
	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "*   %s: ", !strcmp(r->status, "rejected") ? "Rejected" :
			  !strcmp(r->status, "proposed") ? "Proposed" : "Agreed");
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err && r->detail) {
		err = sbuf_puts(sb, " because ");
		if (!err)
			err = md_text(sb, r->detail, 0);
	}
	if (!err)
		err = sbuf_printf(sb, " (%s)\n", id);
	return err;
}

/* A carried item: action items as seed 000 lists them, others briefly. */
static sc_err md_carried(struct ex *x, struct sbuf *sb, const struct record *r)
{
	char id[24];
	sc_err err;

	if (r->kind == REC_TODO)
		return md_action_item(x, sb, r);
	if (r->kind == REC_INCIDENT)
		return md_incident(sb, r, "- ");
	record_short_id(r, id, sizeof(id));
	err = sbuf_printf(sb, "- %s [%s] ", id, r->status);
	if (!err)
		err = md_text(sb, r->text, 0);
	if (!err)
		err = sbuf_putc(sb, '\n');
	return err;
}

/* ---- who was there ---- */

struct min_people {
	struct ex *x;
	const struct record *m;
	struct sbuf *f;
	const char *sep;    /* between names; NULL: one "- name" line each */
	int lines;          /* with "(N)" lines said */
	int n;
	sc_err err;
};

static int min_attendee_cb(const struct attendee *a, void *ctx)
{
	struct min_people *s = ctx;
	int64_t late = a->first - s->m->created;
	sc_err err;

	err = sbuf_puts(s->f, s->sep ? (s->n ? s->sep : "") : "- ");
	s->n++;
	if (!err)
		err = ex_person(s->x, s->f, s->m->room_id, a->user_id);
	if (!err && s->lines)
		err = sbuf_printf(s->f, " (%lld)", (long long)a->lines);
	else if (!err && a->first &&
		 late >= (s->x->o->late_after > 0 ? s->x->o->late_after : 15 * 60)) {
		err = sbuf_puts(s->f, " (");
		if (!err)
			err = when_format_duration(late - late % 60, s->f);
		if (!err)
			err = sbuf_puts(s->f, " late)");
	}
	if (!err && !s->sep)
		err = sbuf_putc(s->f, '\n');
	s->err = err;
	return err != SC_OK;
}

/* The attendees: "- name (15m late)" lines, or "a, b" after sep, or
 * with lines said most first. */
static sc_err min_attendees(struct ex *x, const struct record *m,
			    const char *sep, int lines, int *n)
{
	struct min_people s = { x, m, &x->file, sep, lines, 0, SC_OK };
	sc_err err = min_each_attendee(x, m, lines, min_attendee_cb, &s);

	if (!err)
		err = s.err;
	if (n)
		*n = s.n;
	return err;
}

/* Chairs (starter first) and notetaker, from the notes. */
struct min_roles {
	char **chairs;
	size_t n;
	const char *notetaker;  /* borrowed from the copy below */
	char *nt;
	sc_err err;
};

static void roles_clear(struct min_roles *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->chairs[i]);
	free(r->chairs);
	free(r->nt);
	memset(r, 0, sizeof(*r));
}

static int roles_has(const struct min_roles *r, const char *u)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->chairs[i], u))
			return 1;
	return 0;
}

static sc_err roles_add(struct min_roles *r, const char *u)
{
	char **v;

	if (roles_has(r, u))
		return SC_OK;
	v = realloc(r->chairs, (r->n + 1) * sizeof(*v));
	if (!v)
		return SC_ENOMEM;
	r->chairs = v;
	if (!(v[r->n] = strdup(u)))
		return SC_ENOMEM;
	r->n++;
	return SC_OK;
}

static int roles_cb(const struct note *n, void *ctx)
{
	struct min_roles *r = ctx;

	if (n->withdrawn)
		return 0;
	if (!strcmp(n->kind, "chair")) {
		r->err = roles_add(r, n->text);
	} else if (!strcmp(n->kind, "unchair")) {
		for (size_t i = 1; i < r->n; i++) {
			if (strcmp(r->chairs[i], n->text))
				continue;
			free(r->chairs[i]);
			memmove(r->chairs + i, r->chairs + i + 1,
				(r->n - i - 1) * sizeof(*r->chairs));
			r->n--;
			break;
		}
	} else if (!strcmp(n->kind, "notetaker")) {
		free(r->nt);
		r->nt = strdup(n->text);
		if (!r->nt)
			r->err = SC_ENOMEM;
	}
	return r->err != SC_OK;
}

static sc_err min_roles(struct ex *x, const struct record *m, struct min_roles *r)
{
	sc_err err;

	memset(r, 0, sizeof(*r));
	err = roles_add(r, m->author);
	if (!err)
		err = min_each_note(x, m, roles_cb, r);
	if (!err)
		err = r->err;
	r->notetaker = r->nt ? r->nt : m->author;
	return err;
}

static sc_err min_chairs(struct ex *x, const struct record *m,
			 struct sbuf *f, const struct min_roles *r)
{
	sc_err err = SC_OK;

	for (size_t i = 0; i < r->n && !err; i++) {
		if (i)
			err = sbuf_puts(f, ", ");
		if (!err)
			err = ex_person(x, f, m->room_id, r->chairs[i]);
	}
	return err;
}

/* ---- earlier meetings ---- */

struct min_prev {
	int64_t before;
	int review_only;
	int64_t id, created;
	char sid[24];
};

static int min_prev_cb(const struct record *r, void *ctx)
{
	struct min_prev *p = ctx;

	if (r->id >= p->before)
		return 0;
	if (p->review_only && minutes_type(r) != MT_REVIEW)
		return 0;
	p->id = r->id;
	p->created = r->created;
	record_short_id(r, p->sid, sizeof(p->sid));
	return 1;
}

/* The room's meeting before m (a review meeting when review_only);
 * p->id stays 0 when there is none. */
static sc_err min_previous(struct ex *x, const struct record *m, int review_only,
			   struct min_prev *p)
{
	struct rec_query q;

	memset(p, 0, sizeof(*p));
	p->before = m->id;
	p->review_only = review_only;
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_MEETING);
	q.room_id = m->room_id;
	/* newest first from m's own second down (the index's order), not
	 * from the room's newest meeting: a room's minutes would cost the
	 * square of its meetings (224 s for a million records) */
	q.until = m->created + 1;
	q.order = ORDER_NEWEST;
	q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
	return ex_store_err(x, store_query(x->st, &q, min_prev_cb, p));
}

/* "## Open from M3": the items carried over from the room's previous
 * meeting, with their state as the record has it. */
struct min_carry {
	struct ex *x;
	const char *head;
	int n;
	sc_err err;
};

static int min_carry_cb(const struct note *n, void *ctx)
{
	struct min_carry *s = ctx;
	enum rec_kind k;
	int64_t num;
	struct record r;
	sc_err err;

	if (n->withdrawn || strcmp(n->kind, "carry") || rec_id_parse(n->text, &k, &num))
		return 0;
	err = store_record_get(s->x->st, k, num, &r);
	if (err == SC_ENOTFOUND)
		return 0;
	if (!err && !s->n++)
		err = sbuf_puts(&s->x->file, s->head);
	if (!err)
		err = md_carried(s->x, &s->x->file, &r);
	record_clear(&r);
	s->err = err;
	return err != SC_OK;
}

static sc_err min_carried(struct ex *x, const struct record *m)
{
	struct min_prev p;
	struct min_carry s = { x, NULL, 0, SC_OK };
	struct sbuf head;
	sc_err err = min_previous(x, m, 0, &p);

	sbuf_init(&head, 0);
	if (!err)
		err = sbuf_printf(&head, "\n## Open from %s\n\n", p.id ? p.sid : "earlier meetings");
	s.head = head.buf;
	if (!err)
		err = min_each_note(x, m, min_carry_cb, &s);
	if (!err)
		err = s.err;
	sbuf_release(&head);
	return err;
}

/* ---- the parts every shape shares ---- */

/* "15:00-16:00 UTC", or "15:00 (still running) UTC". */
static sc_err min_time(struct ex *x, const struct record *m)
{
	struct sbuf *f = &x->file;
	sc_err err = local_fmt(f, x->o->tz, m->created, "%H:%M");

	if (!err && m->closed)
		err = local_fmt(f, x->o->tz, m->closed, "-%H:%M");
	else if (!err)
		err = sbuf_puts(f, " (still running)");
	if (!err)
		err = sbuf_printf(f, " %s", x->o->tz ? x->o->tz : "UTC");
	return err;
}

static int lines_cb(const struct attendee *a, void *ctx)
{
	*(int64_t *)ctx += a->lines;
	return 0;
}

/* MeetBot's list, last; none for a meeting recorded before scribe
 * counted lines (every meeting since has its starter's). */
static sc_err min_present(struct ex *x, const struct record *m)
{
	int64_t lines = 0;
	sc_err err = min_each_attendee(x, m, 0, lines_cb, &lines);

	if (!err && lines)
		err = sbuf_puts(&x->file, "\n## People present (lines said)\n\n");
	if (!err && lines)
		err = min_attendees(x, m, NULL, 1, NULL);
	return err;
}

/* What a template has no place for, when there is any. */
static sc_err min_extras(struct ex *x, const struct record *m, enum mtype t)
{
	struct rec_query q;
	sc_err err = SC_OK;

	if (t != MT_PLAIN) {
		if (t == MT_STRATEGY)
			err = min_notes(x, m, "topic", "\n## Agenda\n\n", NM_ITEM, NULL);
		if (!err && t == MT_STRATEGY)
			err = min_notes(x, m, "info", "\n## Notes\n\n", NM_TIMED, NULL);
	}
	if (!err)
		err = min_notes(x, m, "idea", "\n## Ideas\n\n", NM_TIMED, NULL);
	if (!err)
		err = min_notes(x, m, "link", "\n## Links\n\n", NM_LINK, NULL);
	if (!err)
		err = min_notes(x, m, "help", "\n## Calls for Help\n\n", NM_TIMED, NULL);
	if (!err && t == MT_PLAIN) {
		err = min_notes(x, m, "objective", "\n## Objectives\n\n", NM_ITEM, NULL);
		if (!err)
			err = min_notes(x, m, "requirement", "\n## Requirements\n\n",
					NM_REQ, NULL);
		if (!err)
			err = min_notes(x, m, "strategy", "\n## Strategy\n\n", NM_KEY, NULL);
	}
	if (!err && t != MT_PLAIN) {
		min_query(&q, m, REC_BIT(REC_CHANGE));
		q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
		err = min_records(x, &q, md_change_line, "\n## Changes\n\n", NULL);
	}
	if (!err && t == MT_STRATEGY) {
		min_query(&q, m, REC_BIT(REC_INCIDENT));
		q.skip = SKIP_ALL;
		err = min_records(x, &q, md_incident_item, "\n## Incidents\n\n", NULL);
	}
	return err;
}

/* ---- seed 000 ---- */

static sc_err min_plain(struct ex *x, const struct record *m, const struct min_roles *ro)
{
	struct sbuf *f = &x->file;
	struct rec_query q;
	char id[24];
	int n = 0;
	int64_t todos = 0;
	sc_err err;

	record_short_id(m, id, sizeof(id));
	err = sbuf_puts(f, "# ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d ");
	if (!err)
		err = md_text(f, m->text, 0);
	if (!err)
		err = sbuf_printf(f, "\n\nMeeting %s in ", id);
	if (!err)
		err = md_code(f, m->room_id);
	if (!err)
		err = sbuf_puts(f, ", recorded by scribe.\n\nTime: ");
	if (!err)
		err = min_time(x, m);
	if (!err)
		err = sbuf_puts(f, "  \nAttending:\n");
	if (!err)
		err = min_attendees(x, m, NULL, 0, NULL);
	if (!err)
		err = sbuf_puts(f, "\nNotetaker: ");
	if (!err)
		err = ex_person(x, f, m->room_id, ro->notetaker);
	if (!err && ro->n > 1) {
		err = sbuf_puts(f, "  \nChairs: ");
		if (!err)
			err = min_chairs(x, m, f, ro);
	}
	if (!err)
		err = sbuf_puts(f, "\n\n## Agenda\n\n");
	if (!err)
		err = min_notes(x, m, "topic", NULL, NM_ITEM, &n);
	if (!err && !n)
		err = sbuf_puts(f, "No topics were set.\n");
	if (!err)
		err = min_carried(x, m);
	if (!err)
		err = sbuf_puts(f, "\n## Notes\n\n");
	if (!err)
		err = min_notes(x, m, "info", NULL, NM_TIMED, &n);
	if (!err && !n)
		err = sbuf_puts(f, "No notes were taken.\n");
	if (!err)
		err = min_extras(x, m, MT_PLAIN);
	min_query(&q, m, REC_BIT(REC_DECISION));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_decision_row,
				  "\n## Decisions Made\n\n| ID | Date | Decision | "
				  "Rationale | Status |\n| :--- | :--- | :--- | "
				  ":--- | :--- |\n", NULL);
	min_query(&q, m, REC_BIT(REC_CHANGE));
	q.skip = SKIP_ASSIGNEES | SKIP_VOTES;
	if (!err)
		err = min_records(x, &q, md_change_line, "\n## Changes\n\n", NULL);
	min_query(&q, m, REC_BIT(REC_INCIDENT));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_incident_item, "\n## Incidents\n\n", NULL);
	min_query(&q, m, REC_BIT(REC_TODO));
	q.skip = SKIP_VOTES;
	if (!err)
		err = min_records(x, &q, md_action_item,
				  "\n## Follow Up\n\n### Actionable Items\n\n", &todos);
	if (!err && !todos)
		err = sbuf_puts(f, "\n## Follow Up\n\nNo action items.\n");
	if (!err)
		err = min_present(x, m);
	return err;
}

/* ---- Template A ---- */

/* "**Attendees:** a, b (15m late)  " and the other header lines. */
static sc_err min_header_people(struct ex *x, const struct record *m)
{
	sc_err err = sbuf_puts(&x->file, "**Attendees:** ");

	if (!err)
		err = min_attendees(x, m, ", ", 0, NULL);
	if (!err)
		err = sbuf_puts(&x->file, "  \n");
	return err;
}

/* The line under a template's sections: where the record comes from. */
static sc_err min_footer(struct ex *x, const struct record *m,
			 const struct min_roles *ro)
{
	struct sbuf *f = &x->file;
	char id[24];
	sc_err err;

	record_short_id(m, id, sizeof(id));
	err = sbuf_printf(f, "\n---\n\nMeeting %s in ", id);
	if (!err)
		err = md_code(f, m->room_id);
	if (!err)
		err = sbuf_puts(f, ", ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d ");
	if (!err)
		err = min_time(x, m);
	if (!err)
		err = sbuf_puts(f, ", recorded by scribe; notetaker ");
	if (!err)
		err = ex_person(x, f, m->room_id, ro->notetaker);
	if (!err)
		err = sbuf_puts(f, ".\n");
	return err;
}

/* How Templates A and B end: the action items under heading, each
 * written by line, then the items carried over, the extras of type t,
 * the people present and the footer. */
static sc_err min_template_end(struct ex *x, const struct record *m,
			       const struct min_roles *ro, const char *heading,
			       sc_err (*line)(struct ex *x, struct sbuf *sb,
					      const struct record *r),
			       enum mtype t)
{
	struct sbuf *f = &x->file;
	struct rec_query q;
	int64_t n = 0;
	sc_err err = sbuf_puts(f, heading);

	min_query(&q, m, REC_BIT(REC_TODO));
	q.skip = SKIP_VOTES;
	if (!err)
		err = min_records(x, &q, line, NULL, &n);
	if (!err && !n)
		err = sbuf_puts(f, "- None recorded.\n");
	if (!err)
		err = min_carried(x, m);
	if (!err)
		err = min_extras(x, m, t);
	if (!err)
		err = min_present(x, m);
	if (!err)
		err = min_footer(x, m, ro);
	return err;
}

static sc_err min_strategy(struct ex *x, const struct record *m,
			   const struct min_roles *ro)
{
	static const char none[] = "*   None recorded.\n";
	struct sbuf *f = &x->file;
	struct rec_query q;
	int64_t n = 0;
	sc_err err;

	err = sbuf_puts(f, "# Meeting Record: ");
	if (!err)
		err = md_text(f, m->text, 0);
	if (!err)
		err = sbuf_puts(f, "\n**Date:** ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_puts(f, "  \n");
	if (!err)
		err = min_header_people(x, m);
	if (!err)
		err = sbuf_puts(f, "**Facilitator:** ");
	if (!err)
		err = min_chairs(x, m, f, ro);
	if (!err)
		err = sbuf_puts(f, "  \n**Notetaker:** ");
	if (!err)
		err = ex_person(x, f, m->room_id, ro->notetaker);
	if (!err)
		err = sbuf_puts(f, "\n");
	if (!err)
		err = min_notes_or(x, m, "objective", "\n## 1. Objectives\n", NM_STAR, none);
	if (!err)
		err = min_notes_or(x, m, "requirement",
				   "\n## 2. Key Requirements (The \"What\")\n", NM_REQ, none);
	if (!err)
		err = min_notes_or(x, m, "strategy",
				   "\n## 3. Technical Strategy & Methods (The \"How\")\n",
				   NM_KEY, none);
	if (!err)
		err = sbuf_puts(f, "\n## 4. Decisions Made\n");
	min_query(&q, m, REC_BIT(REC_DECISION));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_template_row,
				  "| Decision | Rationale | Status |\n"
				  "| :--- | :--- | :--- |\n", &n);
	if (!err && !n)
		err = sbuf_puts(f, none);
	return err ? err : min_template_end(x, m, ro, "\n## 5. Action Items\n",
					    md_will, MT_STRATEGY);
}

/* ---- Template B ---- */

/* The incidents a review of [since, until] covers: open in it at some
 * time (until 0: no end). */
struct min_window {
	int64_t since, until;
};

static int min_in_window(const struct record *r, const void *arg)
{
	const struct min_window *w = arg;

	return (!w->until || r->created <= w->until) &&
	       (!r->closed || r->closed >= w->since);
}

static sc_err min_review(struct ex *x, const struct record *m,
			 const struct min_roles *ro)
{
	struct sbuf *f = &x->file;
	struct rec_query q;
	struct min_prev p;
	struct min_window w;
	struct min_recs rs;
	struct sbuf def;
	int topics = 0, infos = 0;
	int64_t n = 0;
	sc_err err;

	/* the title when it is more than the default "Operational Review
	 * 2026-11-23" */
	sbuf_init(&def, 64);
	err = sbuf_puts(&def, "Operational Review ");
	if (!err)
		err = local_fmt(&def, x->o->tz, m->created, "%Y-%m-%d");
	if (!err)
		err = sbuf_puts(f, "# Operational Review: ");
	if (!err)
		err = local_fmt(f, x->o->tz, m->created, "%Y-%m-%d");
	if (!err && strcmp(m->text, def.buf)) {
		err = sbuf_puts(f, ", ");
		if (!err)
			err = md_text(f, m->text, 0);
	}
	sbuf_release(&def);
	if (!err)
		err = sbuf_putc(f, '\n');
	if (!err)
		err = min_header_people(x, m);
	if (!err)
		err = min_notes_or(x, m, "metric", "\n## 1. Metrics Review\n", NM_KEY,
				   "*   Not recorded.\n");
	/* the window: since the room's previous review, else a week */
	if (!err)
		err = min_previous(x, m, 1, &p);
	w.since = p.id ? p.created : m->created - 7 * 86400;
	w.until = m->closed;
	if (!err)
		err = sbuf_puts(f, "\n## 2. Incident Summary\n*   *Were there any outages?* ");
	memset(&q, 0, sizeof(q));
	q.kinds = REC_BIT(REC_INCIDENT);
	q.room_id = m->room_id;
	q.order = ORDER_OLDEST;
	q.skip = SKIP_ALL;
	memset(&rs, 0, sizeof(rs));
	rs.x = x;
	rs.fn = md_incident_sub;
	rs.head = "Yes\n";
	rs.keep = min_in_window;
	rs.arg = &w;
	if (!err)
		err = ex_store_err(x, store_query(x->st, &q, min_rec_cb, &rs));
	if (!err)
		err = rs.err;
	if (!err && !rs.n)
		err = sbuf_puts(f, "No\n");
	if (!err)
		err = sbuf_puts(f, "\n## 3. Discussion Points\n");
	if (!err)
		err = min_notes(x, m, "topic", NULL, NM_STAR, &topics);
	min_query(&q, m, REC_BIT(REC_DECISION));
	q.skip = SKIP_ALL;
	if (!err)
		err = min_records(x, &q, md_point, NULL, &n);
	if (!err)
		err = min_notes(x, m, "info", NULL, NM_BY, &infos);
	if (!err && !topics && !n && !infos)
		err = sbuf_puts(f, "*   None recorded.\n");
	return err ? err : min_template_end(x, m, ro, "\n## 4. Action Items\n",
					    md_to, MT_REVIEW);
}

static sc_err minutes_write(struct ex *x, const struct record *m)
{
	struct min_meeting mm;
	struct min_roles ro;
	struct sbuf name;
	sc_err err;

	sbuf_init(&name, 0);
	err = local_fmt(&name, x->o->tz, m->created, "%Y-%m-%d-");
	if (!err)
		err = sbuf_printf(&name, "m%lld-", (long long)m->num);
	if (!err)
		err = export_slug(&name, m->text, SLUG_MAX);
	if (!err)
		err = sbuf_puts(&name, ".md");
	if (err)
		goto out;
	sbuf_setlen(&x->file, 0);
	err = mm_load(x, m, &mm);
	x->mm = &mm;
	memset(&ro, 0, sizeof(ro));
	if (!err)
		err = min_roles(x, m, &ro);
	if (!err) {
		switch (minutes_type(m)) {
		case MT_STRATEGY: err = min_strategy(x, m, &ro); break;
		case MT_REVIEW: err = min_review(x, m, &ro); break;
		default: err = min_plain(x, m, &ro); break;
		}
	}
	x->mm = NULL;
	mm_clear(&mm);
	roles_clear(&ro);
	if (!err)
		err = bgf_put(x->files, name.buf, x->file.buf, x->file.len);
out:
	sbuf_release(&name);
	return err;
}

static int minutes_cb(const struct record *r, void *ctx)
{
	struct ex *x = ctx;

	x->err = minutes_write(x, r);
	ex_progress_step(&x->prog);
	return x->err != SC_OK;
}

sc_err export_minutes(struct ex *x)
{
	struct rec_query q;
	sc_err err;

	if (!x->o->out) {
		ex_why(x->why, "minutes writes one file per meeting: give -o DIR");
		return SC_EINVAL;
	}
	if (x->o->kinds && !(x->o->kinds & REC_BIT(REC_MEETING)))
		return SC_OK;
	ex_base_query(x->o, &q);
	q.kinds = REC_BIT(REC_MEETING);
	ex_progress_start(&x->prog, x->st, &q, x->o->progress);
	err = ex_files_open(x);
	if (!err)
		err = ex_store_err(x, store_query(x->st, &q, minutes_cb, x));
	if (!err)
		err = x->err;
	err = ex_files_close(x, err);
	ex_progress_end(&x->prog);
	return err;
}
