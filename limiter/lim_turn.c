/* Turns: fair admission above a class's fair share.
 *
 * When the per-key rates of a class add up to more than its class rate,
 * the class bucket stays saturated, and admission becomes a lottery among
 * retrying clients that some lose for minutes (the storm replay in
 * tests/unit/test_lim_storm.c measured one node in twenty still without
 * its watches after 60 s). So a request short only of shared buckets (the
 * class's, and for a watch the global watch-establishment one; the key's
 * own bucket and every cap were fine) books its key's turn instead of
 * being merely rejected: the shared buckets take its tokens now, beyond
 * their burst window, and the turn is when GCRA would have admitted them
 * (ready = now + deficit). Retry-After counts to the turn, rounded up,
 * jitter only after it, by a second at most (lim_retry.c).
 *
 * The turn is for the request that booked it, known by its shape (verb,
 * group, resource, subresource, namespace, name, selectors; client-go
 * retries the same request, and a reflector re-watches from the same
 * resourceVersion). From LIM_RESV_EARLY_NS before the turn on, that request
 * is admitted on it without taking from the shared buckets again; the
 * key's own bucket, caps and seats still apply, and a rejection by them
 * keeps the turn. Before, it is rejected with the time left and keeps its
 * place. A cheaper one refunds the difference; a dearer one takes the rest
 * from the bucket, or books it (the turn then moves to the end of the
 * queue for the rest: only a learned LIST size that grew meanwhile does
 * that).
 *
 * One turn per (class, key), so turns are FIFO by first rejection among
 * the keys of a class, and a key waits at most for the turns booked before
 * its own: (keys * their cost) / class rate. The key's other requests that
 * would book queue behind its turn (LIM_RESV_WAITERS of them, first
 * rejected first; beyond that they are only rejected) and are told to come
 * back after it; as a turn ends (used or forfeited) the next one is booked
 * for the first in the queue, so a node's watches are not outrun by its own
 * LIST loop. A booking further ahead than retry_after_max_s is refused (a
 * plain rejection, or the end of the key's queue), which bounds the queue.
 *
 * A turn expires unused max(5 s, Retry-After) after the last Retry-After
 * its request was given (a turn booked for a queued request: 5 s or
 * retry_after_max_s after it is due). Whoever finds it expired (the key's
 * next decision) forfeits it and refunds its tokens from what the bucket
 * has booked beyond its burst window, if anything (lim_abucket_refund):
 * the next booking then comes sooner, but tokens whose time has passed are
 * not handed out again as a burst. Eviction, which cannot reach the class
 * state, only counts it. An entry holding a turn is not evicted before it
 * expires.
 *
 * Bounds: a turn's tokens count against the class as of its ready time,
 * so the class admits at most rate * (T + 250 ms) + burst over any T from
 * the start (rate * T + burst when no client is early); a refund can let
 * a later window hold one turn's tokens more. No turns for dry-run classes (a
 * would-book is counted as a would-reject), unverified credentials (anyone
 * can mint keys) or the overflow entry (its key is everyone the table had
 * no room for). */
#include <string.h>

#include "lim_decide.h"
#include "lim_hash.h"

#define GRACE_NS (5000000000ull) /* a turn waits at least this after its Retry-After */

static uint32_t
turn_fp(struct dctx *d, const struct lim_request *r)
{
    const char *parts[8] = {
        r->api_group, r->resource,       r->subresource,    r->ns,
        r->name,      r->label_selector, r->field_selector, r->is_resource ? "" : r->path};
    uint64_t h = (uint64_t)r->verb + 1;
    size_t i;

    if (d->fp != 0) {
        return d->fp;
    }
    for (i = 0; i < 8; i++) {
        h = lim_hash64(&d->l->hkey, h, parts[i], strlen(parts[i]));
    }
    d->fp = (uint32_t)(h ^ (h >> 32)) | 1u; /* never 0: "not computed" */
    return d->fp;
}

/* Gives back what turn <t> holds beyond <class_mt> class tokens and the
 * global watch token unless <gw>. */
static void
refund(struct dctx *d, const struct lim_resv *t, uint64_t class_mt, bool gw)
{
    if (t->cost_mt > class_mt && d->c->class_rate.ns_per_token != 0) {
        lim_abucket_refund(&d->s->class_tat, d->crate, t->cost_mt - class_mt, d->now);
    }
    if (t->gwatch && !gw && d->p->gwatch_rate.ns_per_token != 0) {
        lim_abucket_refund(&d->l->gwatch_tat, &d->p->gwatch_rate, LIM_MT_PER_TOKEN, d->now);
    }
}

/* The turn of key <e> has ended: books the next one for the first request
 * queued behind it, or drops the turn. */
static void
next_turn(struct dctx *d, struct lim_entry *e)
{
    struct lim_resv *t = d->held;
    uint64_t dc = 0, dg = 0, cost;
    uint32_t fp;
    bool gw;

    while (t->nwait != 0 && d->book_ns != 0) {
        fp = t->wait[0];
        cost = d->c->class_rate.ns_per_token != 0 ? t->wait_mt[0] : 0;
        gw = (t->wait_watch & 1u) && d->p->gwatch_rate.ns_per_token != 0;
        t->nwait--;
        memmove(t->wait, t->wait + 1, t->nwait * sizeof(t->wait[0]));
        memmove(t->wait_mt, t->wait_mt + 1, t->nwait * sizeof(t->wait_mt[0]));
        t->wait_watch = (uint8_t)(t->wait_watch >> 1);
        if (cost != 0 &&
            !lim_abucket_take(&d->s->class_tat, d->crate, cost, d->now, d->book_ns, &dc)) {
            break;
        }
        if (gw && !lim_abucket_take(&d->l->gwatch_tat, &d->p->gwatch_rate, LIM_MT_PER_TOKEN, d->now,
                                    d->book_ns, &dg)) {
            if (cost != 0) {
                lim_abucket_give(&d->s->class_tat, d->crate, cost);
            }
            break;
        }
        t->owner = fp;
        t->cost_mt = cost;
        t->gwatch = gw;
        t->reason = (uint8_t)(dg > dc ? LIM_REASON_WATCH_RATE : LIM_REASON_CLASS_RATE);
        t->ready_ns = d->now + (dg > dc ? dg : dc);
        /* Its request was told to come back after the previous turn, when
         * it could not know this one: give it the longest wait it may
         * have been told. */
        t->expires_ns = t->ready_ns + GRACE_NS + (uint64_t)d->p->g.retry_after_max_s * LIM_NS_PER_S;
        LIM_STAT_INC(d, resv_made);
        return;
    }
    /* Nothing queued, or the queue is beyond the horizon: those queued
     * compete again as they come back. */
    t->nwait = 0;
    e->flags = (uint8_t)(e->flags & ~LIM_ENTRY_RESERVED);
}

void
lim_d_turn_held(struct dctx *d, const struct lim_request *r, struct lim_entry *e,
                enum lim_mode mode)
{
    struct lim_resv *t = &lim_table_cold(d->l->table, e)->resv;

    if (t->expires_ns <= d->now) {
        if (d->commit) {
            d->held = t;
            refund(d, t, 0, false);
            LIM_STAT_INC(d, resv_forfeited);
            next_turn(d, e);
            d->held = NULL;
            if (!(e->flags & LIM_ENTRY_RESERVED)) {
                return;
            }
        } else {
            return; /* explain: as good as gone */
        }
    }
    if (mode != LIM_MODE_ENFORCE) {
        return; /* kept for when the class enforces again */
    }
    d->held = t;
    if (t->owner == turn_fp(d, r)) {
        d->resv = t;
        d->resv_class_mt = 0;
        d->resv_gw_used = false;
    }
}

uint64_t
lim_d_turn_book(struct dctx *d, const struct lim_request *r, struct lim_entry *e,
                enum lim_reason reason, uint64_t deficit_ns, uint64_t class_mt, bool gw)
{
    uint64_t ready = d->now + deficit_ns;

    d->turn = LIM_TURN_BOOKED;
    d->book_cost_mt = class_mt;
    if (d->resv != NULL) {
        /* Its own turn, grown by what this request needs beyond it: it
         * moves to the later of the two. */
        d->book_cost_mt += d->resv->cost_mt;
        ready = ready > d->resv->ready_ns ? ready : d->resv->ready_ns;
    }
    if (!d->commit) {
        return ready - d->now;
    }
    if (d->resv == NULL) {
        struct lim_resv *t = &lim_table_cold(d->l->table, e)->resv;

        memset(t, 0, sizeof(*t));
        t->owner = turn_fp(d, r);
        e->flags |= LIM_ENTRY_RESERVED;
        d->held = d->resv = t;
        LIM_STAT_INC(d, resv_made);
    }
    d->resv->cost_mt = d->book_cost_mt;
    d->resv->gwatch = (uint8_t)(d->resv->gwatch | gw);
    d->resv->ready_ns = ready;
    d->resv->reason = (uint8_t)reason;
    return ready - d->now;
}

uint64_t
lim_d_turn_queue(struct dctx *d, const struct lim_request *r)
{
    struct lim_resv *t = d->held;
    uint32_t fp = turn_fp(d, r), i;

    d->turn = LIM_TURN_QUEUED;
    if (d->commit) {
        for (i = 0; i < t->nwait && t->wait[i] != fp; i++) {
        }
        if (i == t->nwait && i < LIM_RESV_WAITERS) {
            t->wait[i] = fp;
            t->wait_mt[i] = d->cost_mt < UINT32_MAX ? (uint32_t)d->cost_mt : UINT32_MAX;
            t->wait_watch = (uint8_t)(t->wait_watch | (d->watch ? 1u << i : 0));
            t->nwait++;
        }
    }
    /* Back a second after the turn: by then it is used and the next one
     * booked, for this request if it is first in the queue. */
    return (t->ready_ns > d->now ? t->ready_ns - d->now : 0) + LIM_NS_PER_S;
}

void
lim_d_turn_end(struct dctx *d, struct lim_entry *e, uint64_t class_mt, bool gw)
{
    refund(d, d->resv, class_mt, gw);
    next_turn(d, e);
}

void
lim_d_turn_extend(struct dctx *d, uint32_t retry_after_s)
{
    uint64_t ra = (uint64_t)retry_after_s * LIM_NS_PER_S;
    uint64_t until = d->now + ra + (ra > GRACE_NS ? ra : GRACE_NS);

    if (until > d->resv->expires_ns) {
        d->resv->expires_ns = until;
    }
}
