/* SPDX-License-Identifier: MIT */
/*
 * bot_outbox.c - every message `scribe run` sends goes through the
 * outbox: queueing it (as a reply, with the names it must not ping
 * broken), and sending what was committed, exactly once. Batches of up
 * to OUTBOX_BATCH messages travel over kept-alive connections (on a
 * thread of their own from DETACH_MIN messages) while the sync goes on;
 * a finished batch leaves the queue in one transaction while the next
 * one travels; a message refused as too large is queued again shorter.
 * Retries and backoff are matrix.c's. See docs/design.md, "The outbox".
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot_int.h"
#include "cmd.h"
#include "e2ee.h"
#include "log.h"
#include "banned.h"

#define OUTBOX_BATCH 1024 /* messages read from the outbox at a time */
#define OUTBOX_SKIP_MAX 1024 /* rows of full rooms the first pass reads */
#define PUMP_US 200     /* how often bot_pump looks at the batch in flight */
#define DETACH_MIN 32   /* smaller batches are stepped here, not on a thread */

/* Queue c (a borrowed message content) in the outbox as txn. */
sc_err bot_queue_message(struct bot *b, const char *room, const char *txn,
			 json_t *content, int64_t record)
{
	char *text;
	sc_err err;

	/* the homeserver refuses a bigger event, and then the reply is
	 * lost: the command layer keeps its replies well inside, this
	 * catches what it did not */
	if (mx_fit_content(content, MX_CONTENT_MAX) < 0)
		return SC_ENOMEM;
	text = json_dumps(content, JSON_COMPACT);
	if (!text)
		return SC_ENOMEM;
	err = store_outbox_add(b->st, txn, room, "m.room.message", text, record);
	free(text);
	return err;
}

/* The names of a room's members a pinging reply must not ping. */
struct names {
	const struct reply *r;
	char **v;
	size_t n, cap;
	int oom;
};

static int names_add(struct names *nm, const char *s, size_t len)
{
	char **v;

	if (len < 2)
		return 0; /* a letter is no name a push rule matches usefully */
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 16;
		v = realloc(nm->v, nm->cap * sizeof(*v));
		if (!v)
			return nm->oom = 1;
		nm->v = v;
	}
	if (!(nm->v[nm->n] = strndup(s, len)))
		return nm->oom = 1;
	nm->n++;
	return 0;
}

static int collect_name(const struct member *m, void *ctx)
{
	struct names *nm = ctx;
	const char *colon = strchr(m->user_id, ':');

	for (size_t i = 0; i < nm->r->nmentions; i++)
		if (!strcmp(nm->r->mentions[i], m->user_id))
			return 0;
	if (colon && names_add(nm, m->user_id + 1, (size_t)(colon - m->user_id - 1)))
		return 1;
	return m->display_name && names_add(nm, m->display_name, strlen(m->display_name));
}

/*
 * A reply that pings echoes what a member typed; on servers without
 * m.mentions, push rules would highlight every member named in it: the
 * room's other members' names are broken in its body (the HTML body,
 * which clients show, keeps them).
 */
sc_err bot_defuse_names(struct bot *b, const char *room, const struct reply *r,
			json_t *content)
{
	struct names nm = { r, NULL, 0, 0, 0 };
	sc_err err = r->nmentions ? store_members(b->st, room, 0, collect_name, &nm) : SC_OK;

	if (!err && nm.oom)
		err = SC_ENOMEM;
	if (!err && mx_defuse_words(content, (const char *const *)nm.v, nm.n) < 0)
		err = SC_ENOMEM;
	for (size_t i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	return err;
}

/* Queue a reply to event_id (in its thread, if any). */
sc_err bot_queue_reply(struct bot *b, const char *room, const char *kind,
		       const char *event_id, const char *thread_root,
		       const struct reply *r, int in_reply)
{
	struct sbuf txn;
	json_t *content = mx_reply_content(r, in_reply ? event_id : NULL,
					   in_reply ? thread_root : NULL);
	sc_err err;

	if (!content)
		return SC_ENOMEM;
	err = bot_defuse_names(b, room, r, content);
	if (err) {
		json_decref(content);
		return err;
	}
	sbuf_init(&txn, 0);
	err = mx_txn_id(&txn, kind, event_id);
	if (!err)
		err = bot_queue_message(b, room, txn.buf, content, r->record);
	json_decref(content);
	sbuf_release(&txn);
	return err;
}

/* One queued message copied out of the store (the statement is done
 * before any network call). */
struct pending {
	int64_t seq;
	char *txn, *room, *type, *content;
	int must_encrypt; /* plaintext for an encrypted room: never sent */
};

/* A batch of queued messages on its way: read from the outbox once they
 * were committed, sent by mx_many while the bot goes on (see bot_pump). The
 * arrays grow with the batch: a reply on its own does not pay for the
 * 1,024 of a backlog (their half a megabyte, zeroed, cost it 0.2 ms). */
struct outgoing {
	struct pending *items;    /* cap of them, n used */
	struct mx_req *reqs;      /* n, once the batch is read */
	struct sbuf *paths;       /* n, likewise */
	int n, cap;
	int64_t upto;    /* only messages up to this seq (committed ones) */
	const int64_t *skip; /* batch_start: seqs of the batch just finished,
	                        not recorded yet (sorted), to leave out */
	int nskip;
	sc_err err;
	struct mx_many *mm;
	int pass;        /* of collect_pending: 1, then 2 to fill up */
	int room_cap;    /* a room's messages taken in the first pass */
	int skipped;     /* rows the first pass left: their room was full */
	struct room_count {
		const char *room; /* an items[].room */
		int n;            /* its messages in the batch */
		int first;        /* of which the first pass took */
		int again;        /* rows of it the second pass passed */
	} *rooms;             /* cap of them (at most one a message) */
	int nrooms;
};

/* Room for cap messages (and rooms) instead of o->cap. */
static int outgoing_grow(struct outgoing *o, int cap)
{
	struct pending *items = realloc(o->items, (size_t)cap * sizeof(*items));
	struct room_count *rooms;

	if (!items)
		return -1;
	o->items = items;
	rooms = realloc(o->rooms, (size_t)cap * sizeof(*rooms));
	if (!rooms)
		return -1;
	memset(rooms + o->cap, 0, (size_t)(cap - o->cap) * sizeof(*rooms));
	o->rooms = rooms;
	o->cap = cap;
	return 0;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int seq_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* outbox_cb of batch_start, over the queue oldest first: the first
 * pass takes up to room_cap messages of each room, the second (when the
 * first left some and the batch is not full) what follows them. */
static int collect_pending(const struct outbox_msg *m, void *ctx)
{
	struct outgoing *o = ctx;
	struct room_count *rc = NULL;
	struct pending *p;

	if (m->seq > o->upto)
		return 1; /* queued by the transaction still open */
	if (o->nskip && bsearch(&m->seq, o->skip, (size_t)o->nskip,
				sizeof(*o->skip), seq_cmp))
		return 0; /* in the batch before, which is being recorded */
	if (o->n == o->cap && /* before rc points into o->rooms */
	    outgoing_grow(o, o->cap ? 2 * o->cap : 16)) {
		o->err = SC_ENOMEM;
		return 1;
	}
	for (int i = 0; i < o->nrooms && !rc; i++)
		if (!strcmp(o->rooms[i].room, m->room_id))
			rc = &o->rooms[i];
	if (o->pass == 1 && rc && rc->n >= o->room_cap)
		return ++o->skipped >= OUTBOX_SKIP_MAX;
	if (o->pass == 2 && rc && rc->again < rc->first) {
		rc->again++;
		return 0; /* the first pass took it */
	}
	p = &o->items[o->n];
	p->seq = m->seq;
	p->txn = strdup(m->txn_id);
	p->room = strdup(m->room_id);
	p->type = strdup(m->type);
	p->content = strdup(m->content);
	p->must_encrypt = m->encrypted && strcmp(m->type, "m.room.encrypted");
	o->n++;
	if (!p->txn || !p->room || !p->type || !p->content) {
		o->err = SC_ENOMEM;
		return 1;
	}
	if (!rc) {
		rc = &o->rooms[o->nrooms++]; /* zeroed by outgoing_grow */
		rc->room = p->room;
	}
	rc->n++;
	return o->n == OUTBOX_BATCH;
}

static void outgoing_free(struct outgoing *o)
{
	for (int i = 0; i < o->n; i++) {
		free(o->items[i].txn);
		free(o->items[i].room);
		free(o->items[i].type);
		free(o->items[i].content);
		if (o->reqs)
			json_decref(o->reqs[i].resp);
		if (o->paths)
			sbuf_release(&o->paths[i]);
	}
	free(o->items);
	free(o->reqs);
	free(o->paths);
	free(o->rooms);
	free(o);
}

/* Whether message i of a finished batch left the queue: sent, or
 * refused for good. Not one still to be encrypted, or cut off by an
 * error (SC_EAGAIN): it stays queued. */
static int left_queue(const struct outgoing *o, int i)
{
	return o->reqs[i].err != SC_EAGAIN;
}

/*
 * The homeserver refused p as too large (413 M_TOO_LARGE): queue it again
 * at half the size, cut with a note (mx_fit_content), under a new
 * transaction id. An encrypted message cannot be cut: a short notice
 * takes its place. Below a kilobyte it is dropped: no server limit is
 * that small, and the halving must end.
 */
static sc_err queue_smaller(struct bot *b, const struct pending *p)
{
	json_t *c = strcmp(p->type, "m.room.encrypted") ?
		    json_loads(p->content, 0, NULL) :
		    json_pack("{s:s, s:s, s:{}}", "msgtype", "m.notice", "body",
			      "(A reply was too large for the homeserver and is "
			      "lost; try a narrower command, or scribe export.)",
			      "m.mentions");
	size_t size = strlen(p->content);
	struct sbuf txn;
	sc_err err = SC_OK;

	log_warn("%s refused a message of %zu bytes to %s as too large; %s",
		 b->cfg.homeserver, size, p->room,
		 size < 1024 ? "dropped" : "sending a shorter one");
	if (size < 1024 || !c) {
		json_decref(c);
		return SC_OK;
	}
	sbuf_init(&txn, 0);
	if (mx_fit_content(c, size / 2) < 0 || sbuf_printf(&txn, "%s.cut", p->txn))
		err = SC_ENOMEM;
	if (!err)
		err = bot_queue_message(b, p->room, txn.buf, c, 0);
	sbuf_release(&txn);
	json_decref(c);
	return err;
}

/* Record the outcome of a sent batch in one transaction: each finished
 * message leaves the outbox (linked to its event when sent). A crash
 * before the commit sends them again with the same transaction ids,
 * which the homeserver answers without posting twice. Inside a
 * transaction still open (a batch that finished while a sync is
 * handled), that is a savepoint committed with it. */
static sc_err mark_sent(struct bot *b, struct outgoing *o)
{
	sc_err err = store_tx_begin(b->st);

	for (int i = 0; i < o->n && !err; i++) {
		struct pending *p = &o->items[i];
		struct mx_req *r = &o->reqs[i];

		if (!left_queue(o, i))
			continue;
		if (r->err == SC_EMATRIX && r->method && !strcmp(r->errcode, "M_TOO_LARGE"))
			/* a server with a smaller limit than Synapse's */
			err = queue_smaller(b, p);
		else if (r->err == SC_EMATRIX && r->method)
			/* 403 not in the room, 400 bad content: retrying cannot help */
			log_error("cannot send to %s: %s %s; message dropped",
				  p->room, r->errcode, r->error);
		if (!err)
			err = store_outbox_done(b->st, p->seq,
					r->err ? NULL : jstr(r->resp, "event_id"));
	}
	return err ? (store_tx_rollback(b->st), err) : store_tx_commit(b->st);
}

/*
 * Read the next batch (committed messages up to seq upto) and start
 * sending it: every message the store says can go, with up to
 * cfg.parallel_sends in flight, one at a time per room so replies keep
 * their order. b->out stays NULL when nothing is queued.
 *
 * A backlog queues its replies room after room, so the oldest 1,024 were
 * the replies of a few rooms, and only those few were in flight: the
 * batch takes at most OUTBOX_BATCH / parallel_sends of a room first,
 * so parallel_sends rooms go at once, and fills up with the later
 * messages of the rooms it has when there are not that many. After a
 * batch of one room the next one reads the queue as before, without a
 * first pass (its extra reads cost a one-room backlog 7%).
 *
 * prev (or NULL) is the batch that just finished: the messages it sent
 * or dropped are still queued until batch_record, which runs while this
 * one travels, so they are left out. They were all answered, so what
 * this batch sends to their rooms still comes after them.
 */
static sc_err batch_start(struct bot *b, int64_t upto,
			  const struct outgoing *prev)
{
	struct outgoing *o = calloc(1, sizeof(*o));
	int64_t *skip = prev && prev->n ? malloc((size_t)prev->n * sizeof(*skip)) : NULL;
	sc_err err;

	if (!o || (prev && prev->n && !skip)) {
		free(o);
		free(skip);
		return SC_ENOMEM;
	}
	for (int i = 0; skip && i < prev->n; i++)
		if (left_queue(prev, i))
			skip[o->nskip++] = prev->items[i].seq;
	if (o->nskip)
		qsort(skip, (size_t)o->nskip, sizeof(*skip), seq_cmp);
	o->skip = skip;
	o->upto = upto;
	o->pass = 1;
	o->room_cap = b->out_rooms == 1 ? OUTBOX_BATCH
					: OUTBOX_BATCH / b->cfg.parallel_sends;
	err = store_outbox_pending(b->st, 0, collect_pending, o);
	if (!err && !o->err && o->skipped && o->n < OUTBOX_BATCH) {
		o->pass = 2;
		for (int i = 0; i < o->nrooms; i++)
			o->rooms[i].first = o->rooms[i].n;
		err = store_outbox_pending(b->st, 0, collect_pending, o);
	}
	if (!err)
		err = o->err;
	free(skip);
	o->skip = NULL;
	o->nskip = 0;
	if (!err && o->n) {
		o->reqs = calloc((size_t)o->n, sizeof(*o->reqs));
		o->paths = calloc((size_t)o->n, sizeof(*o->paths));
	}
	if (!o->reqs || !o->paths) { /* nothing queued, an error, no memory */
		int n = o->n;

		outgoing_free(o);
		return err ? err : n ? SC_ENOMEM : SC_OK;
	}
	b->out_rooms = o->nrooms;
	for (int i = 0; i < o->n; i++) {
		struct pending *p = &o->items[i];

		sbuf_init(&o->paths[i], 0);
		o->reqs[i].err = SC_EAGAIN;
		if (p->must_encrypt && b->e2ee)
			continue; /* not encrypted yet: it waits */
		if (p->must_encrypt) {
			log_error("encryption is off: cannot send to encrypted "
				  "room %s; message dropped", p->room);
			o->reqs[i].err = SC_EMATRIX;
			continue;
		}
		if (!err)
			err = mx_path(&o->paths[i], "/rooms/%s/send/%s/%s", p->room,
				      p->type, p->txn);
		o->reqs[i].method = "PUT";
		o->reqs[i].path = o->paths[i].buf;
		o->reqs[i].body = p->content;
		o->reqs[i].key = p->room;
	}
	if (!err)
		err = mx_many_start(b->mx, o->reqs, o->n, b->cfg.parallel_sends,
				    &o->mm);
	if (err) {
		outgoing_free(o);
		return err;
	}
	o->upto = 0; /* where the next batch starts */
	for (int i = 0; i < o->n; i++)
		if (o->items[i].seq > o->upto)
			o->upto = o->items[i].seq;
	b->out = o;
	b->pumped = mono_us();
	if (o->n < DETACH_MIN) {
		mx_many_step(b->mx, o->mm, 0); /* the first requests leave now */
		return SC_OK;
	}
	return mx_many_detach(b->mx, o->mm);
}

/* The batch in flight is over (or stopped): take it off b->out into
 * *done, for batch_record, whatever mx_many_end returns. */
static sc_err batch_take(struct bot *b, struct outgoing **done)
{
	struct outgoing *o = b->out;
	sc_err err = mx_many_end(b->mx, o->mm);

	o->mm = NULL;
	b->out = NULL;
	*done = o;
	return err;
}

/* Whether messages of the finished batch o left the queue. */
static int batch_sent_any(const struct outgoing *o)
{
	for (int i = 0; i < o->n; i++)
		if (left_queue(o, i))
			return 1;
	return 0;
}

/* Record a finished batch in the store and free it. */
static sc_err batch_record(struct bot *b, struct outgoing *o)
{
	sc_err err = mark_sent(b, o);

	outgoing_free(o);
	return err;
}

/*
 * While a sync is handled, the batch in flight travels on its own
 * thread (mx_many_detach), so the server stores replies while scribe
 * works on later commands or waits for a page. Called between events
 * (at most every PUMP_US), bot_pump sees whether it is over: then the next
 * batch is taken from what was committed and sent while the finished
 * one is recorded.
 */
sc_err bot_pump(struct bot *b)
{
	struct outgoing *done;
	int64_t now;
	sc_err err, rerr;

	if (!b->out)
		return SC_OK;
	now = mono_us();
	if (now - b->pumped < PUMP_US)
		return SC_OK;
	b->pumped = now;
	if (mx_many_step(b->mx, b->out->mm, 0))
		return SC_OK;
	err = batch_take(b, &done);
	if (!err && batch_sent_any(done) && done->upto < b->committed)
		err = batch_start(b, b->committed, done);
	rerr = batch_record(b, done);
	return err ? err : rerr;
}

/*
 * A commit point while a sync is handled (after each room and each
 * back-fill page): what was queued is durable now, so it may be sent.
 * Encrypted rooms' replies go to the encryption worker first and are
 * sent once it is done and their ciphertexts are stored (in their own
 * transactions), while later commands are handled. Inside an outer
 * transaction nothing is durable yet and nothing starts.
 */
sc_err bot_committed(struct bot *b)
{
	sc_err err;

	if (store_in_tx(b->st))
		return SC_OK;
	if (b->e2ee && !b->out) {
		err = e2ee_prepare_outbox(b->e2ee);
		if (err)
			return err;
	}
	err = store_outbox_last(b->st, &b->committed);
	if (!err && !b->out)
		err = batch_start(b, b->committed, NULL);
	return err ? err : bot_pump(b);
}

/* Commit the level open while a sync is handled, let what it queued go,
 * and open the next level; whenever the commit worked a level is open
 * again, for the caller to commit or roll back. */
sc_err bot_checkpoint(struct bot *b)
{
	sc_err err = store_tx_commit(b->st), again;

	if (err)
		return err;
	err = bot_committed(b);
	again = store_tx_begin(b->st);
	return err ? err : again;
}

/* Send every queued message, batch after batch; each batch is recorded
 * while the next one travels. */
sc_err bot_flush_outbox(struct bot *b)
{
	struct outgoing *done = NULL;
	sc_err err = SC_OK, rerr;
	int more = 1; /* a first batch always */

	/* the batch started while the sync was handled holds the oldest
	 * messages: it finishes first */
	if (b->out) {
		while (mx_many_step(b->mx, b->out->mm, 1))
			;
		err = batch_take(b, &done);
	}
	if (!err && b->e2ee)
		err = e2ee_finish_outbox(b->e2ee);
	for (;;) {
		if (!err && more)
			err = batch_start(b, INT64_MAX, done);
		if (done) {
			rerr = batch_record(b, done);
			done = NULL;
			err = err ? err : rerr;
		}
		if (err || !b->out)
			return err;
		while (mx_many_step(b->mx, b->out->mm, 1))
			;
		err = batch_take(b, &done);
		/* a full batch that sent something: more may be queued */
		more = done->n == OUTBOX_BATCH && batch_sent_any(done);
	}
}

/* Drop a batch still in flight at exit: its messages stay queued. */
void bot_batch_drop(struct bot *b)
{
	if (!b->out)
		return;
	mx_many_end(b->mx, b->out->mm);
	outgoing_free(b->out);
	b->out = NULL;
}
