/* The decision and explain: one internal function, decide(), serves
 * lim_decide (commit) and lim_explain (look only, with a trace, against
 * live or fresh state), so the explanation is the decision.
 *
 * Order: operator block/allow, rule match, class mode, exempt (count and
 * admit), shed, cost, then the checks: first those that commit nothing
 * (per-key caps, read under the entry's lock), then shared counters
 * (fetch_add then check, undone on failure), then buckets, the shared class
 * bucket last. A rejected request leaves every counter and bucket as it
 * found them. Dry-run runs the same checks and admits anyway, holding its
 * seats and watches (it really is in flight) but not taking the tokens of a
 * would-be rejection, so buckets evolve as they would under enforce.
 *
 * Turns (lim_turn.c): a request short only of shared buckets books its
 * key's turn there rather than being merely rejected; the key's turn, if
 * it holds one, stands in for those buckets.
 *
 * Every primitive below has three behaviours: live and committed
 * (lim_decide), live and only looked at (lim_explain), and fresh
 * (lim_explain without a limiter). They live in this one file so that the
 * hot path compiles to straight-line code (bench/limiter counts its
 * instructions).
 *
 * The decision's context (struct dctx) never has its address taken: what
 * runs out of line (rejections, turns, explain's trace) gets a copy, by
 * value or through the wrappers below. The compiler then keeps the context
 * in registers and folds lim_decide's constants (commit, no trace) through
 * it, rather than reloading every field after every call and atomic. */
#include "lim.h"

#include <string.h>

#include "lim_decide.h"
#include "lim_hash.h"
#include "lim_int.h"
#include "lim_policy_int.h"

static inline __attribute__((always_inline)) void
decide(struct lim *l, const struct lim_policy *p, struct lim_identity *id,
       const struct lim_request *r, uint64_t now_ns, uint64_t rnd, bool commit,
       struct lim_decision *out, struct lim_trace *tr);

/* Two instances of the same decision: decide() is inlined with constant
 * commit and trace, so lim_decide's copy carries none of explain's
 * branches. Within lim_decide's, decide_limited() is inlined twice more:
 * for the common case (enforced, not shed, not a watch), where those
 * facts are constants, and for everything else. */
void
lim_decide(struct lim *l, const struct lim_policy *p, struct lim_identity *id,
           const struct lim_request *r, uint64_t now_ns, uint64_t rnd, struct lim_decision *out)
{
    decide(l, p, id, r, now_ns, rnd, true, out, NULL);
}

void
lim_explain(struct lim *l, const struct lim_policy *p, struct lim_identity *id,
            const struct lim_request *r, uint64_t now_ns, struct lim_decision *out,
            struct lim_trace *trace)
{
    memset(trace, 0, sizeof(*trace));
    /* A policy bound to another limiter has no slots in this one. */
    if (l != NULL && p->bound_to != l) {
        l = NULL;
    }
    decide(l, p, id, r, now_ns, 0, false, out, trace);
}

/* --- primitives --- */

/* Adds <n> to <ctr> (a fresh zero without a limiter) and checks the sum against <cap>
 * (0: none); undone when over. Without commit it only looks. */
static inline __attribute__((always_inline)) bool
counter_take(const struct dctx *d, _Atomic int64_t *ctr, int64_t n, uint32_t cap)
{
    int64_t v;

    if (!d->live) {
        v = n;
    } else if (d->commit) {
        v = atomic_fetch_add_explicit(ctr, n, memory_order_relaxed) + n;
    } else {
        v = atomic_load_explicit(ctr, memory_order_relaxed) + n;
    }
    if (cap != 0 && v > (int64_t)cap) {
        if (d->commit) {
            atomic_fetch_sub_explicit(ctr, n, memory_order_relaxed);
        }
        return false;
    }
    return true;
}

/* Takes from a shared bucket when its deficit is at most <allow> (a delay,
 * or a booked turn). Without commit it only looks. */
static inline __attribute__((always_inline)) bool
abucket_take(const struct dctx *d, _Atomic uint64_t *tat, const struct lim_rate *r,
             uint64_t take_ns, uint64_t allow, uint64_t *deficit)
{
    uint64_t cur;

    if (d->commit) {
        return lim_abucket_take_ns(tat, r, take_ns, d->now, allow, deficit);
    }
    cur = d->live ? atomic_load_explicit(tat, memory_order_relaxed) : 0;
    *deficit = lim_bucket_deficit(lim_bucket_next_ns(cur, take_ns, d->now), r, d->now);
    return *deficit <= allow;
}

/* How far a take of <cost_mt> moves bucket <r> (the class's <which>, or
 * its shed copy): precomputed for the class's base cost unshed, which is
 * what most requests take. */
static inline __attribute__((always_inline)) uint64_t
take_ns(const struct dctx *d, const struct lim_rate *r, unsigned which, uint64_t cost_mt)
{
    if (d->scale == 100 && cost_mt == d->c->base_mt) {
        return d->c->base_take_ns[which];
    }
    return lim_rate_take_ns(r, cost_mt);
}

/* A shared bucket gave <def>: a delay within max_wait, or a booking. */
static inline __attribute__((always_inline)) void
shared_taken(struct dctx *d, uint64_t def, enum lim_reason reason, uint64_t *delay)
{
    if (def > d->allow_ns) {
        if (d->booked_ns == 0) {
            d->book_reason = (uint8_t)reason;
        }
        d->booked_ns = def > d->booked_ns ? def : d->booked_ns;
    } else {
        *delay = def > *delay ? def : *delay;
    }
}

static inline __attribute__((always_inline)) bool
resv_due(const struct dctx *d)
{
    return d->now + LIM_RESV_EARLY_NS >= d->resv->ready_ns;
}

/* The key's turn is not due: rejected with the time left, keeping it. */
static inline __attribute__((always_inline)) enum lim_reason
resv_early(struct dctx *d, uint64_t *deficit)
{
    *deficit = d->resv->ready_ns - d->now; /* > LIM_RESV_EARLY_NS */
    d->turn = LIM_TURN_EARLY;
    return (enum lim_reason)d->resv->reason;
}

/* Undoes the shared counters and buckets run_checks took. */
static void __attribute__((noinline)) rollback(struct dctx *d)
{
    struct lim *l = d->l;

    if (d->commit) {
        if (d->got & LIM_GOT_CBUCKET) {
            lim_abucket_give(&d->s->class_tat, d->crate, d->class_mt);
        }
        if (d->got & LIM_GOT_GWBUCKET) {
            lim_abucket_give(&l->gwatch_tat, &d->p->gwatch_rate, LIM_MT_PER_TOKEN);
        }
        if (d->got & LIM_GOT_CPOOL) {
            atomic_fetch_sub_explicit(&d->s->inflight[d->pool], d->seats, memory_order_relaxed);
        }
        if (d->got & LIM_GOT_GPOOL) {
            atomic_fetch_sub_explicit(&l->pool[d->pool], d->seats, memory_order_relaxed);
        }
        if (d->got & LIM_GOT_GWATCH) {
            atomic_fetch_sub_explicit(&l->watches, 1, memory_order_relaxed);
        }
        if (d->got & LIM_GOT_CWATCH) {
            atomic_fetch_sub_explicit(&d->s->watches, 1, memory_order_relaxed);
        }
    }
    d->got = 0;
}

/* Counts seats and the watch without checking (exempt, dry-run). */
static inline __attribute__((always_inline)) void
hold(const struct dctx *d, struct lim_entry *e)
{
    struct lim *l = d->l;

    if (!d->commit) {
        return;
    }
    if (d->seats != 0) {
        atomic_fetch_add_explicit(&l->pool[d->pool], d->seats, memory_order_relaxed);
        atomic_fetch_add_explicit(&d->s->inflight[d->pool], d->seats, memory_order_relaxed);
        if (e != NULL) {
            atomic_fetch_add_explicit(&e->inflight, 1, memory_order_relaxed);
        }
    }
    if (d->watch) {
        atomic_fetch_add_explicit(&l->watches, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&d->s->watches, 1, memory_order_relaxed);
        if (e != NULL) {
            atomic_fetch_add_explicit(&e->watches, 1, memory_order_relaxed);
        }
    }
}

/* The out-of-line turn and trace functions, on a copy of the context (see
 * the top of this file); lim_d_turn_held's findings are copied back. */
static inline __attribute__((always_inline)) void
turn_held(struct dctx *d, const struct lim_request *r, struct lim_entry *e, enum lim_mode mode)
{
    struct dctx cd = *d;

    lim_d_turn_held(&cd, r, e, mode);
    d->held = cd.held;
    d->resv = cd.resv;
    d->fp = cd.fp;
    if (cd.resv != NULL) { /* set only then */
        d->resv_class_mt = cd.resv_class_mt;
        d->resv_gw_used = cd.resv_gw_used;
    }
}

static inline __attribute__((always_inline)) void
turn_end(const struct dctx *d, struct lim_entry *e)
{
    struct dctx cd = *d;

    lim_d_turn_end(&cd, e, d->resv_class_mt, d->resv_gw_used);
}

static inline __attribute__((always_inline)) void
trace_state(const struct dctx *d, const struct lim_entry *e)
{
    struct dctx cd = *d;

    lim_d_trace_state(&cd, e);
}

static inline __attribute__((always_inline)) void
trace_turn(const struct dctx *d, uint64_t ready_ns, uint64_t cost_mt)
{
    struct dctx cd = *d;

    lim_d_trace_turn(&cd, ready_ns, cost_mt);
}

/* --- the checks --- */

/* Runs every check in order against entry <e> (locked, or fresh); returns
 * the first failing reason with its bucket deficit, or NONE with *<delay>
 * the largest debt taken within max_wait_ns. */
static inline __attribute__((always_inline)) enum lim_reason
run_checks(struct dctx *d, struct lim_entry *e, uint64_t *deficit, uint64_t *delay)
{
    const struct lim_class *c = d->c;
    struct lim *l = d->l;
    struct lim_slot *s = d->s;
    uint64_t def;

    if (d->seats != 0 && c->p.max_inflight_per_key != 0 &&
        atomic_load_explicit(&e->inflight, memory_order_relaxed) + 1 >
            lim_d_scaled(c->p.max_inflight_per_key, d->scale)) {
        return LIM_REASON_CONCURRENCY;
    }
    if (d->watch) {
        if (c->p.max_watches_per_key != 0 &&
            atomic_load_explicit(&e->watches, memory_order_relaxed) + 1 >
                lim_d_scaled(c->p.max_watches_per_key, d->scale)) {
            return LIM_REASON_WATCH_CAP;
        }
        if (!counter_take(d, d->live ? &s->watches : NULL, 1,
                          lim_d_scaled(c->p.max_watches, d->scale))) {
            return LIM_REASON_WATCH_CAP;
        }
        d->got |= LIM_GOT_CWATCH;
        if (!counter_take(d, d->live ? &l->watches : NULL, 1, d->p->g.max_watches)) {
            return LIM_REASON_WATCH_CAP;
        }
        d->got |= LIM_GOT_GWATCH;
    }
    if (d->seats != 0) {
        if (!counter_take(d, d->live ? &l->pool[d->pool] : NULL, d->seats,
                          d->p->pool_cap[d->pool])) {
            return LIM_REASON_CONCURRENCY;
        }
        d->got |= LIM_GOT_GPOOL;
        if (!counter_take(d, d->live ? &s->inflight[d->pool] : NULL, d->seats,
                          lim_d_scaled(c->seat_cap[d->pool], d->scale))) {
            return LIM_REASON_CONCURRENCY;
        }
        d->got |= LIM_GOT_CPOOL;
    }
    if (d->watch && c->watch_rate.ns_per_token != 0) {
        d->wnext = lim_bucket_next(e->watch_tat, d->wrate, LIM_MT_PER_TOKEN, d->now);
        def = lim_bucket_deficit(d->wnext, d->wrate, d->now);
        if (def > d->allow_ns) {
            *deficit = def;
            return LIM_REASON_WATCH_RATE;
        }
        *delay = def > *delay ? def : *delay;
    }
    if (d->watch && d->p->gwatch_rate.ns_per_token != 0) {
        if (d->resv != NULL && d->resv->gwatch) {
            if (!resv_due(d)) {
                return resv_early(d, deficit);
            }
            d->resv_gw_used = true;
        } else {
            if (!abucket_take(d, d->live ? &l->gwatch_tat : NULL, &d->p->gwatch_rate,
                              lim_rate_take_ns(&d->p->gwatch_rate, LIM_MT_PER_TOKEN), d->book_ns,
                              &def)) {
                *deficit = def;
                return LIM_REASON_WATCH_RATE;
            }
            d->got |= LIM_GOT_GWBUCKET;
            shared_taken(d, def, LIM_REASON_WATCH_RATE, delay);
        }
    }
    if (c->rate.ns_per_token != 0) {
        d->knext =
            lim_bucket_next_ns(e->tat, take_ns(d, d->krate, LIM_TAKE_KEY, d->cost_mt), d->now);
        def = lim_bucket_deficit(d->knext, d->krate, d->now);
        if (def > d->allow_ns) {
            *deficit = def;
            return LIM_REASON_RATE;
        }
        *delay = def > *delay ? def : *delay;
    }
    if (c->class_rate.ns_per_token != 0) {
        uint64_t need = d->cost_mt;

        if (d->resv != NULL && d->resv->cost_mt != 0) {
            if (!resv_due(d)) {
                return resv_early(d, deficit);
            }
            d->resv_class_mt = need < d->resv->cost_mt ? need : d->resv->cost_mt;
            need -= d->resv_class_mt;
        }
        if (need != 0) {
            if (!abucket_take(d, d->live ? &s->class_tat : NULL, d->crate,
                              take_ns(d, d->crate, LIM_TAKE_CLASS, need), d->book_ns, &def)) {
                *deficit = def;
                return LIM_REASON_CLASS_RATE;
            }
            d->got |= LIM_GOT_CBUCKET;
            d->class_mt = need;
            shared_taken(d, def, LIM_REASON_CLASS_RATE, delay);
        }
    }
    if (d->booked_ns != 0) {
        /* Every check passed but a shared bucket had only a turn to give. */
        *deficit = d->booked_ns > *delay ? d->booked_ns : *delay;
        d->reserve = true;
        return (enum lim_reason)d->book_reason;
    }
    return LIM_REASON_NONE;
}

/* Per-key state once every check passed (under the entry's lock). */
static inline __attribute__((always_inline)) void
commit_key(const struct dctx *d, struct lim_entry *e)
{
    if (!d->commit) {
        return;
    }
    if (d->watch && d->c->watch_rate.ns_per_token != 0) {
        e->watch_tat = d->wnext;
    }
    if (d->c->rate.ns_per_token != 0) {
        e->tat = d->knext;
    }
    if (d->seats != 0) {
        atomic_fetch_add_explicit(&e->inflight, 1, memory_order_relaxed);
    }
    if (d->watch) {
        atomic_fetch_add_explicit(&e->watches, 1, memory_order_relaxed);
    }
}

/* --- the decision --- */

/* A request's key: the distinguisher value, its length, and its kind,
 * part of the key so that a node name and a user name of the same spelling
 * stay apart. */
struct dkey {
    const char *s;
    size_t len;
    uint8_t kind;
};

enum { KEY_NONE = 0, KEY_USER, KEY_NAMESPACE, KEY_NODE }; /* dkey.kind */

/* A length its producer carried, or 0 when it was not filled in. */
static inline __attribute__((always_inline)) size_t
carried_len(const char *s, size_t len)
{
    return len != 0 ? len : strlen(s);
}

/* The key of <id>/<r> under <dist>. */
static inline __attribute__((always_inline)) struct dkey
dist_key(enum lim_dist dist, const struct lim_identity *id, const struct lim_request *r)
{
    switch (dist) {
    case LIM_DIST_USER:
        return (struct dkey){id->user, carried_len(id->user, id->user_len), KEY_USER};
    case LIM_DIST_NAMESPACE:
        return (struct dkey){r->ns, carried_len(r->ns, r->ns_len), KEY_NAMESPACE};
    case LIM_DIST_NODE:
        if (id->node[0] != '\0') {
            return (struct dkey){id->node, carried_len(id->node, id->node_len), KEY_NODE};
        }
        return (struct dkey){id->user, carried_len(id->user, id->user_len), KEY_USER};
    default:
        return (struct dkey){"", 0, KEY_NONE};
    }
}

/* Hashes the identity's user and node under <hk> into its cache. */
static void __attribute__((noinline))
id_hash_fill(struct lim_identity *id, const struct lim_hash_key *hk)
{
    lim_hash128(hk, id->user, carried_len(id->user, id->user_len), id->key_hash[0]);
    lim_hash128(hk, id->node, carried_len(id->node, id->node_len), id->key_hash[1]);
    id->key_tag = hk->tag;
}

/* The keyed hash of <k> under <hk>: a name of the identity's is hashed
 * once per identity (and hash key), a namespace per request. */
static inline __attribute__((always_inline)) void
key_hash(struct lim_identity *id, struct dkey k, const struct lim_hash_key *hk, uint64_t h[2])
{
    const uint64_t *c;

    if (k.kind != KEY_USER && k.kind != KEY_NODE) {
        lim_hash128(hk, k.s, k.len, h);
        return;
    }
    if (id->key_tag != hk->tag) {
        id_hash_fill(id, hk);
    }
    c = id->key_hash[k.kind == KEY_NODE];
    h[0] = c[0];
    h[1] = c[1];
}

/* The entry of key <k>, locked; the class's overflow entry when the table
 * has no room; <fresh> (zeroed, unlocked) for a fresh limiter or a key
 * explain does not find. */
static inline __attribute__((always_inline)) struct lim_entry *
entry_get(struct dctx *d, struct lim_identity *id, struct dkey k, struct lim_entry *fresh)
{
    struct lim *l = d->l;
    struct lim_entry *e;
    uint64_t h[2];

    if (d->tr != NULL) {
        lim_d_trace_key(d->tr, k.s, k.len);
    }
    if (d->live) {
        key_hash(id, k, &l->hkey, h);
        e = lim_table_get(l->table, h, d->c->slot, k.kind, k.s, k.len, d->now,
                          d->commit ? LIM_TABLE_GET : LIM_TABLE_FIND);
        if (e != NULL) {
            return e;
        }
        if (d->commit) {
            /* Full of live entries: charge the class's shared overflow
             * entry, never a fresh bucket. */
            atomic_fetch_add_explicit(&l->overflow, 1, memory_order_relaxed);
            d->book_ns = 0; /* its key is everyone: no turns */
            return lim_table_overflow(l->table, d->c->slot);
        }
    }
    memset(fresh, 0, sizeof(*fresh));
    return fresh;
}

static inline __attribute__((always_inline)) void
fill_ticket(const struct dctx *d, struct lim_entry *e, const struct lim_cost *cost, bool exempt,
            struct lim_decision *out)
{
    struct lim_ticket *t = &out->ticket;

    if (!d->commit) {
        return; /* explain: nothing to release */
    }
    t->entry = (d->seats != 0 || d->watch) ? e : NULL;
    t->class_slot = d->c->slot;
    t->seats = (uint16_t)d->seats;
    t->resource_slot = cost->resource_slot;
    t->kind = cost->kind;
    t->state = LIM_TICKET_ACTIVE;
    t->flags = (uint8_t)((cost->resource_slot != LIM_LEARNED_NONE ? LIM_TICKET_LEARN : 0) |
                         (exempt ? LIM_TICKET_EXEMPT : 0));
    t->pool = d->pool;
}

static void __attribute__((noinline))
reject(struct dctx dv, struct lim_entry *e, enum lim_reason reason, uint64_t deficit, uint64_t rnd,
       struct lim_decision *out)
{
    struct dctx *d = &dv;

    out->verdict = LIM_REJECT;
    out->reason = reason;
    out->retry_after_s = lim_d_retry_after(d->p, reason, deficit, rnd, d->turn != LIM_TURN_NONE);
    if (d->commit) {
        LIM_STAT_INC(d, rejected[reason]);
        if (e != NULL) {
            lim_table_cold(d->l->table, e)->rejects++;
        }
        if (d->resv != NULL) {
            lim_d_turn_extend(d, out->retry_after_s);
        }
    }
}

/* Rejected, short only of shared buckets: the key's turn is booked (or
 * grown), or the request queues behind the key's turn for another one. */
static void __attribute__((noinline))
book(struct dctx dv, const struct lim_request *r, struct lim_entry *e, enum lim_reason reason,
     uint64_t deficit, uint64_t rnd, struct lim_decision *out)
{
    struct dctx *d = &dv;
    uint64_t class_mt = (d->got & LIM_GOT_CBUCKET) ? d->class_mt : 0;
    bool gw = (d->got & LIM_GOT_GWBUCKET) != 0;

    if (d->held != NULL && d->resv == NULL) {
        rollback(d);
        deficit = lim_d_turn_queue(d, r);
    } else {
        /* The shared buckets keep what was taken: it is the turn. */
        d->got = (uint8_t)(d->got & ~(LIM_GOT_CBUCKET | LIM_GOT_GWBUCKET));
        rollback(d);
        deficit = lim_d_turn_book(d, r, e, reason, deficit, class_mt, gw);
    }
    reject(*d, e, reason, deficit, rnd, out);
    if (d->tr != NULL) {
        lim_d_trace_turn(d, d->now + deficit, d->turn == LIM_TURN_QUEUED ? 0 : d->book_cost_mt);
    }
}

static void __attribute__((noinline))
failed(struct dctx dv, const struct lim_identity *id, struct lim_entry *e, bool locked,
       enum lim_reason reason, uint64_t deficit, struct lim_cost costv, enum lim_mode mode,
       uint64_t rnd, struct lim_decision *out)
{
    struct dctx *d = &dv;
    const struct lim_cost *cost = &costv;

    rollback(d);
    if (id->cred == LIM_CRED_UNVERIFIED &&
        (reason == LIM_REASON_RATE || reason == LIM_REASON_CLASS_RATE)) {
        reason = LIM_REASON_UNVERIFIED;
    }
    if (mode != LIM_MODE_DRY_RUN) {
        reject(*d, locked ? e : NULL, reason, deficit, rnd, out);
        if (d->tr != NULL && d->held != NULL) {
            d->turn = d->turn != LIM_TURN_NONE ? d->turn : LIM_TURN_HELD;
            lim_d_trace_turn(d, d->held->ready_ns, d->held->cost_mt);
        }
        return;
    }
    hold(d, e);
    out->verdict = LIM_ADMIT;
    out->reason = reason;
    out->dry_run = true;
    if (d->commit) {
        LIM_STAT_INC(d, would_reject[reason]);
        LIM_STAT_INC(d, admitted);
    }
    fill_ticket(d, e, cost, false, out);
}

static inline __attribute__((always_inline)) void
decide_limited(struct dctx *d, struct lim_identity *id, const struct lim_request *r,
               const struct lim_cost *cost, enum lim_mode mode, uint64_t rnd,
               struct lim_decision *out)
{
    const struct lim_class *c = d->c;
    struct lim *l = d->l;
    struct lim_entry fresh, *e;
    struct lim_rate scaled[3];
    enum lim_reason reason;
    uint64_t deficit = 0, delay = 0;
    uint32_t cap;
    bool locked;

    d->krate = &c->rate;
    d->wrate = &c->watch_rate;
    d->crate = &c->class_rate;
    if (d->live && mode == LIM_MODE_ENFORCE) {
        /* May book a turn (lim_turn.c); a fresh limiter's buckets are
         * full, so explain without one never would. */
        if (id->cred != LIM_CRED_UNVERIFIED) {
            d->book_ns = (uint64_t)d->p->g.retry_after_max_s * LIM_NS_PER_S;
        }
        if (d->scale < 100) {
            lim_rate_scale(&c->rate, d->scale, &scaled[0]);
            lim_rate_scale(&c->watch_rate, d->scale, &scaled[1]);
            lim_rate_scale(&c->class_rate, d->scale, &scaled[2]);
            d->krate = &scaled[0];
            d->wrate = &scaled[1];
            d->crate = &scaled[2];
        }
    }
    d->allow_ns = c->p.max_wait_ns;
    /* Wider than the pool or the share: it may run alone, never not at all. */
    if (d->scale == 100) {
        cap = c->seat_max[d->pool]; /* the two caps below, precomputed */
        d->seats = d->seats > cap ? cap : d->seats;
    } else {
        if (d->seats > d->p->pool_cap[d->pool]) {
            d->seats = d->p->pool_cap[d->pool];
        }
        cap = lim_d_scaled(c->seat_cap[d->pool], d->scale);
        if (cap != 0 && d->seats > cap) {
            d->seats = cap;
        }
    }
    out->seats = d->seats;
    e = entry_get(d, id, dist_key(c->p.dist, id, r), &fresh);
    locked = e != &fresh;
    if (d->tr != NULL) {
        trace_state(d, e);
    }
    e->requests += d->commit;
    if (e->flags & LIM_ENTRY_RESERVED) {
        turn_held(d, r, e, mode); /* only table entries: never fresh */
    }
    if ((r->verb == LIM_VERB_LIST || r->verb == LIM_VERB_WATCH) && d->live &&
        atomic_load_explicit(&l->shed_list_watch, memory_order_relaxed)) {
        reason = LIM_REASON_SHED;
    } else {
        reason = run_checks(d, e, &deficit, &delay);
    }
    if (d->reserve) {
        book(*d, r, e, reason, deficit, rnd, out);
    } else if (reason != LIM_REASON_NONE) {
        failed(*d, id, e, locked, reason, deficit, *cost, mode, rnd, out);
    } else {
        commit_key(d, e);
        if (d->resv != NULL && (d->resv_class_mt != 0 || d->resv_gw_used)) {
            d->turn = LIM_TURN_USED;
            if (d->tr != NULL) {
                trace_turn(d, d->resv->ready_ns, d->resv->cost_mt);
            }
            if (d->commit) {
                turn_end(d, e);
                LIM_STAT_INC(d, resv_honoured);
            }
        } else if (d->tr != NULL && d->held != NULL) {
            d->turn = LIM_TURN_HELD;
            trace_turn(d, d->held->ready_ns, d->held->cost_mt);
        }
        /* Dry-run takes the tokens (so buckets evolve as under enforce)
         * but never makes a request wait. */
        if (delay != 0 && mode == LIM_MODE_ENFORCE) {
            out->verdict = LIM_DELAY;
            out->delay_ns = delay;
            LIM_STAT_INC(d, delayed);
        } else {
            out->verdict = LIM_ADMIT;
            LIM_STAT_INC(d, admitted);
        }
        fill_ticket(d, e, cost, false, out);
    }
    if (locked) {
        lim_table_unlock(l->table, e);
    }
}

static inline __attribute__((always_inline)) void
decide_exempt(struct dctx *d, const struct lim_identity *id, const struct lim_request *r,
              const struct lim_cost *cost, struct lim_decision *out)
{
    /* Break-glass: never limited, always counted. */
    out->verdict = LIM_ADMIT;
    out->exempt = true;
    if (d->tr != NULL) {
        struct lim_entry fresh;
        struct dkey k = dist_key(d->c->p.dist, id, r);

        memset(&fresh, 0, sizeof(fresh));
        d->krate = &d->c->rate;
        d->wrate = &d->c->watch_rate;
        d->crate = &d->c->class_rate;
        lim_d_trace_key(d->tr, k.s, k.len);
        trace_state(d, &fresh);
    }
    hold(d, NULL);
    LIM_STAT_INC(d, admitted);
    fill_ticket(d, NULL, cost, true, out);
}

static inline __attribute__((always_inline)) void
decide(struct lim *l, const struct lim_policy *p, struct lim_identity *id,
       const struct lim_request *r, uint64_t now_ns, uint64_t rnd, bool commit,
       struct lim_decision *out, struct lim_trace *tr)
{
    struct dctx d;
    struct lim_cost cost;
    enum lim_ov ov = LIM_OV_NONE;
    enum lim_mode mode;
    uint64_t until = 0;
    size_t rule, k;
    int m;

    memset(out, 0, sizeof(*out));
    d.l = l;
    d.p = p;
    d.tr = tr;
    d.commit = commit; /* lim_decide: l != NULL */
    d.live = commit || l != NULL;
    d.now = now_ns;
    d.scale = 100;
    d.got = 0;
    /* The turn fields the hot path reads; the others are set before use. */
    d.resv = d.held = NULL;
    d.fp = 0;
    d.book_ns = d.booked_ns = 0;
    d.turn = 0;
    d.reserve = false;
    if (d.live && atomic_load_explicit(&l->ov.n, memory_order_relaxed) != 0) {
        ov = lim_overrides_check(&l->ov, &l->hkey, id->user, now_ns, d.commit, &until);
    }
    if (tr != NULL) {
        rule = lim_policy_match(p, id, r, tr->misses, LIM_TRACE_MISSES, &tr->nmisses);
        for (k = 0; k < tr->nmisses; k++) {
            tr->miss_rule[k] = k; /* first match wins: every earlier rule missed */
        }
        tr->rule = rule;
    } else {
        rule = lim_policy_match_cached(p, id, r);
    }
    d.c = p->rules[rule].cls;
    d.s = d.live ? l->slots[d.c->slot] : NULL;
    out->rule = rule;
    out->class_name = d.c->p.name;
    mode = d.c->p.mode;
    if (d.live && (m = atomic_load_explicit(&d.s->mode, memory_order_relaxed)) >= 0) {
        mode = (enum lim_mode)m;
    }
    lim_cost_compute(&d.c->p.cost, d.live ? l->learned : NULL, d.commit, r, &cost,
                     tr != NULL ? tr->cost_why : NULL, tr != NULL ? sizeof(tr->cost_why) : 0);
    if (tr != NULL) {
        tr->learned_bytes = cost.learned_bytes;
        tr->pool = cost.pool;
    }
    d.cost_mt = cost.tokens_mt;
    d.seats = cost.seats;
    d.pool = cost.pool;
    d.watch = cost.kind == LIM_KIND_WATCH;
    out->cost_mt = cost.tokens_mt;
    out->seats = cost.seats;
    if (ov == LIM_OV_BLOCK) {
        reject(d, NULL, LIM_REASON_BLOCKED, until - now_ns, rnd, out);
        return;
    }
    if (ov == LIM_OV_ALLOW || mode == LIM_MODE_EXEMPT) {
        decide_exempt(&d, id, r, &cost, out);
        return;
    }
    if (d.live && mode == LIM_MODE_ENFORCE) {
        d.scale = atomic_load_explicit(&l->shed_scale, memory_order_relaxed);
    }
    if (commit && mode == LIM_MODE_ENFORCE && !d.watch && d.scale == 100) {
        /* The common case, compiled on its own: the same code, told what
         * the request is not (a watch, shed, dry-run), so that what it
         * cannot need folds away. */
        d.watch = false;
        d.scale = 100;
        decide_limited(&d, id, r, &cost, LIM_MODE_ENFORCE, rnd, out);
    } else {
        decide_limited(&d, id, r, &cost, mode, rnd, out);
    }
}
