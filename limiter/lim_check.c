/* The checks of a decision (see lim_decide.c for their order): counters
 * taken with fetch_add then checked and undone, shared buckets by CAS,
 * rollback, and Retry-After. Every primitive has three behaviours: live
 * and committed (lim_decide), live and only looked at (lim_explain), and
 * fresh (lim_explain without a limiter). */
#include "lim_decide.h"

#include <string.h>

/* Retry-After for caps that free only when a request or watch ends: a
 * watch lives for minutes, so asking back within the second only adds
 * load; 5 s spreads a fleet's retries over the jitter window. */
#define RETRY_WATCH_CAP_S 5u
/* Shedding lasts until the operator lifts it. */
#define RETRY_SHED_S 10u

/* --- primitives: live and committed, live and looked at, or fresh --- */

/* Adds <n> to <ctr> (NULL: a fresh zero) and checks the sum against <cap>
 * (0: none); undone when over. Without commit it only looks. */
static bool
counter_take(const struct dctx *d, _Atomic int64_t *ctr, int64_t n, uint32_t cap)
{
    int64_t v;

    if (ctr == NULL) {
        v = n;
    } else if (d->commit) {
        v = atomic_fetch_add_explicit(ctr, n, memory_order_relaxed) + n;
    } else {
        v = atomic_load_explicit(ctr, memory_order_relaxed) + n;
    }
    if (cap != 0 && v > (int64_t)cap) {
        if (ctr != NULL && d->commit) {
            atomic_fetch_sub_explicit(ctr, n, memory_order_relaxed);
        }
        return false;
    }
    return true;
}

static bool
abucket_take(const struct dctx *d, _Atomic uint64_t *tat, const struct lim_rate *r,
             uint64_t cost_mt, uint64_t *deficit)
{
    uint64_t cur;

    if (tat != NULL && d->commit) {
        return lim_abucket_take(tat, r, cost_mt, d->now, d->allow_ns, deficit);
    }
    cur = tat != NULL ? atomic_load_explicit(tat, memory_order_relaxed) : 0;
    *deficit = lim_bucket_deficit(lim_bucket_next(cur, r, cost_mt, d->now), r, d->now);
    return *deficit <= d->allow_ns;
}

void
lim_d_rollback(struct dctx *d)
{
    struct lim *l = d->l;

    if (d->commit && l != NULL) {
        if (d->got_cbucket) {
            lim_abucket_give(&d->s->class_tat, &d->crate, d->cost_mt);
        }
        if (d->got_gwbucket) {
            lim_abucket_give(&l->gwatch_tat, &d->p->gwatch_rate, LIM_MT_PER_TOKEN);
        }
        if (d->got_cpool) {
            atomic_fetch_sub_explicit(&d->s->inflight[d->pool], d->seats, memory_order_relaxed);
        }
        if (d->got_gpool) {
            atomic_fetch_sub_explicit(&l->pool[d->pool], d->seats, memory_order_relaxed);
        }
        if (d->got_gwatch) {
            atomic_fetch_sub_explicit(&l->watches, 1, memory_order_relaxed);
        }
        if (d->got_cwatch) {
            atomic_fetch_sub_explicit(&d->s->watches, 1, memory_order_relaxed);
        }
    }
    d->got_cwatch = d->got_gwatch = d->got_gpool = d->got_cpool = false;
    d->got_gwbucket = d->got_cbucket = false;
}

/* Counts seats and the watch without checking (exempt, dry-run). */
void
lim_d_hold(const struct dctx *d, struct lim_entry *e)
{
    struct lim *l = d->l;

    if (!d->commit || l == NULL) {
        return;
    }
    if (d->seats != 0) {
        atomic_fetch_add_explicit(&l->pool[d->pool], d->seats, memory_order_relaxed);
        atomic_fetch_add_explicit(&d->s->inflight[d->pool], d->seats, memory_order_relaxed);
        if (e != NULL) {
            e->inflight++;
        }
    }
    if (d->watch) {
        atomic_fetch_add_explicit(&l->watches, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&d->s->watches, 1, memory_order_relaxed);
        if (e != NULL) {
            e->watches++;
        }
    }
}

/* --- the checks --- */

/* Runs every check in order against entry <e> (locked, or fresh); returns
 * the first failing reason with its bucket deficit, or NONE with *<delay>
 * the largest debt taken within max_wait_ns. */
enum lim_reason
lim_d_run_checks(struct dctx *d, struct lim_entry *e, uint64_t *deficit, uint64_t *delay)
{
    const struct lim_class *c = d->c;
    struct lim *l = d->l;
    struct lim_slot *s = d->s;
    uint64_t def;

    *deficit = *delay = 0;
    if (d->seats != 0 && c->p.max_inflight_per_key != 0 &&
        e->inflight + 1 > lim_d_scaled(c->p.max_inflight_per_key, d->scale)) {
        return LIM_REASON_CONCURRENCY;
    }
    if (d->watch) {
        if (c->p.max_watches_per_key != 0 &&
            e->watches + 1 > lim_d_scaled(c->p.max_watches_per_key, d->scale)) {
            return LIM_REASON_WATCH_CAP;
        }
        if (!counter_take(d, s ? &s->watches : NULL, 1, lim_d_scaled(c->p.max_watches, d->scale))) {
            return LIM_REASON_WATCH_CAP;
        }
        d->got_cwatch = true;
        if (!counter_take(d, l ? &l->watches : NULL, 1, d->p->g.max_watches)) {
            return LIM_REASON_WATCH_CAP;
        }
        d->got_gwatch = true;
    }
    if (d->seats != 0) {
        if (!counter_take(d, l ? &l->pool[d->pool] : NULL, d->seats, d->p->pool_cap[d->pool])) {
            return LIM_REASON_CONCURRENCY;
        }
        d->got_gpool = true;
        if (!counter_take(d, s ? &s->inflight[d->pool] : NULL, d->seats,
                          lim_d_scaled(c->seat_cap[d->pool], d->scale))) {
            return LIM_REASON_CONCURRENCY;
        }
        d->got_cpool = true;
    }
    if (d->watch && c->watch_rate.ns_per_token != 0) {
        def = lim_bucket_deficit(lim_bucket_next(e->watch_tat, &d->wrate, LIM_MT_PER_TOKEN, d->now),
                                 &d->wrate, d->now);
        if (def > d->allow_ns) {
            *deficit = def;
            return LIM_REASON_WATCH_RATE;
        }
        *delay = def > *delay ? def : *delay;
    }
    if (d->watch && d->p->gwatch_rate.ns_per_token != 0) {
        if (!abucket_take(d, l ? &l->gwatch_tat : NULL, &d->p->gwatch_rate, LIM_MT_PER_TOKEN,
                          &def)) {
            *deficit = def;
            return LIM_REASON_WATCH_RATE;
        }
        d->got_gwbucket = true;
        *delay = def > *delay ? def : *delay;
    }
    if (c->rate.ns_per_token != 0) {
        def = lim_bucket_deficit(lim_bucket_next(e->tat, &d->krate, d->cost_mt, d->now), &d->krate,
                                 d->now);
        if (def > d->allow_ns) {
            *deficit = def;
            return LIM_REASON_RATE;
        }
        *delay = def > *delay ? def : *delay;
    }
    if (c->class_rate.ns_per_token != 0) {
        if (!abucket_take(d, s ? &s->class_tat : NULL, &d->crate, d->cost_mt, &def)) {
            *deficit = def;
            return LIM_REASON_CLASS_RATE;
        }
        d->got_cbucket = true;
        *delay = def > *delay ? def : *delay;
    }
    return LIM_REASON_NONE;
}

/* Per-key state once every check passed (under the entry's lock). */
void
lim_d_commit_key(const struct dctx *d, struct lim_entry *e)
{
    if (!d->commit || d->l == NULL) {
        return;
    }
    if (d->watch && d->c->watch_rate.ns_per_token != 0) {
        e->watch_tat = lim_bucket_next(e->watch_tat, &d->wrate, LIM_MT_PER_TOKEN, d->now);
    }
    if (d->c->rate.ns_per_token != 0) {
        e->tat = lim_bucket_next(e->tat, &d->krate, d->cost_mt, d->now);
    }
    if (d->seats != 0) {
        e->inflight++;
    }
    if (d->watch) {
        e->watches++;
    }
}

uint32_t
lim_d_retry_after(const struct lim_policy *p, enum lim_reason reason, uint64_t deficit_ns,
                  uint64_t rnd)
{
    uint64_t s;

    switch (reason) {
    case LIM_REASON_RATE:
    case LIM_REASON_CLASS_RATE:
    case LIM_REASON_WATCH_RATE:
    case LIM_REASON_UNVERIFIED:
    case LIM_REASON_BLOCKED:
        s = (deficit_ns + LIM_NS_PER_S - 1) / LIM_NS_PER_S; /* deficit < 2^63 */
        break;
    case LIM_REASON_WATCH_CAP:
        s = RETRY_WATCH_CAP_S;
        break;
    case LIM_REASON_SHED:
        s = RETRY_SHED_S;
        break;
    default: /* concurrency: a seat frees as soon as a request ends */
        s = 1;
        break;
    }
    if (s == 0) {
        s = 1;
    }
    if (s > p->g.retry_after_max_s) {
        s = p->g.retry_after_max_s;
    }
    /* client-go sleeps exactly Retry-After: without jitter a rejected
     * fleet comes back in the same second. Uniform in [s, s + span] with
     * span = pct % of s (at least 1 s); where that window passes the
     * ceiling it slides down below it, so that clients at the ceiling are
     * spread as well. */
    if (p->g.retry_jitter_pct != 0) {
        uint64_t span = s * p->g.retry_jitter_pct / 100, max = p->g.retry_after_max_s;

        span = span != 0 ? span : 1;
        if (s + span > max) {
            s = max > span ? max - span : 1;
            span = max - s;
        }
        s += (rnd >> 32) % (span + 1);
    }
    return (uint32_t)s;
}
