/* The decision, its completion, and explain: one internal function,
 * decide(), serves lim_decide (commit) and lim_explain (look only, with a
 * trace, against live or fresh state), so the explanation is the decision.
 *
 * Order: operator block/allow, rule match, class mode, exempt (count and
 * admit), shed, cost, then the checks: first those that commit nothing
 * (per-key caps, read under the entry's lock), then shared counters
 * (fetch_add then check, undone on failure), then buckets, the shared class
 * bucket last. A rejected request leaves every counter and bucket as it
 * found them. Dry-run runs the same checks and admits anyway, holding its
 * seats and watches (it really is in flight) but not taking the tokens of a
 * would-be rejection, so buckets evolve as they would under enforce. */
#include "lim.h"

#include <string.h>

#include "lim_int.h"
#include "lim_policy_int.h"

/* Retry-After for caps that free only when a request or watch ends: a
 * watch lives for minutes, so asking back within the second only adds
 * load; 5 s spreads a fleet's retries over the jitter window. */
#define RETRY_WATCH_CAP_S 5u
/* Shedding lasts until the operator lifts it. */
#define RETRY_SHED_S 10u

struct dctx {
    struct lim *l; /* NULL: decide against a fresh limiter */
    const struct lim_policy *p;
    const struct lim_class *c;
    struct lim_slot *s; /* NULL with l */
    struct lim_trace *tr;
    bool commit;
    uint64_t now;
    uint32_t scale; /* shed %, enforce classes only */
    uint32_t seats;
    uint8_t pool;
    bool watch;
    uint64_t cost_mt;
    uint64_t allow_ns;                   /* debt a LIM_DELAY may run up */
    struct lim_rate krate, wrate, crate; /* scaled */
    /* Shared state taken so far, for rollback. */
    bool got_cwatch, got_gwatch, got_gpool, got_cpool, got_gwbucket, got_cbucket;
};

static void decide(struct lim *l, const struct lim_policy *p, struct lim_identity *id,
                   const struct lim_request *r, uint64_t now_ns, uint64_t rnd, bool commit,
                   struct lim_decision *out, struct lim_trace *tr);

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

/* --- primitives: live and committed, live and looked at, or fresh --- */

static inline void
stat_inc(const struct dctx *d, _Atomic uint64_t *c)
{
    if (d->commit) {
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
    }
}

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

static void
rollback(struct dctx *d)
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
static void
hold(const struct dctx *d, struct lim_entry *e)
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

static inline uint32_t
scaled(uint32_t cap, uint32_t pct)
{
    uint64_t v;

    if (cap == 0 || pct >= 100) {
        return cap;
    }
    v = ((uint64_t)cap * pct + 99) / 100;
    return v != 0 ? (uint32_t)v : 1;
}

/* --- the checks --- */

/* Runs every check in order against entry <e> (locked, or fresh); returns
 * the first failing reason with its bucket deficit, or NONE with *<delay>
 * the largest debt taken within max_wait_ns. */
static enum lim_reason
run_checks(struct dctx *d, struct lim_entry *e, uint64_t *deficit, uint64_t *delay)
{
    const struct lim_class *c = d->c;
    struct lim *l = d->l;
    struct lim_slot *s = d->s;
    uint64_t def;

    *deficit = *delay = 0;
    if (d->seats != 0 && c->p.max_inflight_per_key != 0 &&
        e->inflight + 1 > scaled(c->p.max_inflight_per_key, d->scale)) {
        return LIM_REASON_CONCURRENCY;
    }
    if (d->watch) {
        if (c->p.max_watches_per_key != 0 &&
            e->watches + 1 > scaled(c->p.max_watches_per_key, d->scale)) {
            return LIM_REASON_WATCH_CAP;
        }
        if (!counter_take(d, s ? &s->watches : NULL, 1, scaled(c->p.max_watches, d->scale))) {
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
                          scaled(c->seat_cap[d->pool], d->scale))) {
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
static void
commit_key(const struct dctx *d, struct lim_entry *e)
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

static uint32_t
retry_after(const struct lim_policy *p, enum lim_reason reason, uint64_t deficit_ns, uint64_t rnd)
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

/* --- the decision --- */

/* The distinguisher value of <id>/<r> under <dist>, and a tweak that keeps
 * a node name and a user name of the same spelling apart. */
static const char *
dist_value(enum lim_dist dist, const struct lim_identity *id, const struct lim_request *r,
           uint64_t *kind)
{
    switch (dist) {
    case LIM_DIST_USER:
        *kind = 1;
        return id->user;
    case LIM_DIST_NAMESPACE:
        *kind = 2;
        return r->ns;
    case LIM_DIST_NODE:
        if (id->node[0] != '\0') {
            *kind = 3;
            return id->node;
        }
        *kind = 1;
        return id->user;
    default:
        *kind = 0;
        return "";
    }
}

static void
trace_key(struct lim_trace *tr, const char *key, size_t klen)
{
    size_t n = klen < LIM_KEY_DISPLAY - 1 ? klen : LIM_KEY_DISPLAY - 1;

    memcpy(tr->key, key, n);
    tr->key[n] = '\0';
}

/* The entry of this request's key, locked; the class's overflow entry when
 * the table has no room; <fresh> (zeroed, unlocked) for a fresh limiter or
 * a key explain does not find. */
static struct lim_entry *
entry_get(struct dctx *d, const char *key, uint64_t kind, struct lim_entry *fresh)
{
    struct lim *l = d->l;
    size_t klen = strlen(key);
    struct lim_entry *e;
    uint64_t h[2];

    if (d->tr != NULL) {
        trace_key(d->tr, key, klen);
    }
    if (l == NULL) {
        return fresh;
    }
    lim_hash128(&l->hkey, ((uint64_t)d->c->slot << 8) | kind, key, klen, h);
    e = lim_table_get(l->table, h, d->c->slot, key, klen, d->now,
                      d->commit ? LIM_TABLE_GET : LIM_TABLE_FIND);
    if (e != NULL) {
        return e;
    }
    if (!d->commit) {
        return fresh;
    }
    /* Full of live entries: charge the class's shared overflow entry, never
     * a fresh bucket. */
    atomic_fetch_add_explicit(&l->overflow, 1, memory_order_relaxed);
    return lim_table_overflow(l->table, d->c->slot);
}

static void
trace_state(const struct dctx *d, const struct lim_entry *e)
{
    struct lim_trace *tr = d->tr;
    struct lim_slot *s = d->s;
    struct lim *l = d->l;
    int64_t t;

    tr->key_tokens_mt = -1;
    tr->class_tokens_mt = -1;
    if (d->c->rate.ns_per_token != 0) {
        t = lim_bucket_tokens_mt(e->tat, &d->krate, d->now);
        tr->key_tokens_mt = t > 0 ? t : 0;
    }
    if (d->c->class_rate.ns_per_token != 0) {
        t = lim_bucket_tokens_mt(s ? atomic_load_explicit(&s->class_tat, memory_order_relaxed) : 0,
                                 &d->crate, d->now);
        tr->class_tokens_mt = t > 0 ? t : 0;
    }
    tr->key_inflight = e->inflight;
    tr->key_watches = e->watches;
    if (s != NULL) {
        tr->class_inflight = atomic_load_explicit(&s->inflight[d->pool], memory_order_relaxed);
        tr->class_watches = atomic_load_explicit(&s->watches, memory_order_relaxed);
    }
    if (l != NULL) {
        tr->global_inflight = atomic_load_explicit(&l->pool[d->pool], memory_order_relaxed);
        tr->global_watches = atomic_load_explicit(&l->watches, memory_order_relaxed);
    }
    tr->class_seat_cap = scaled(d->c->seat_cap[d->pool], d->scale);
    tr->global_seat_cap = d->p->pool_cap[d->pool];
}

static void
fill_ticket(const struct dctx *d, struct lim_entry *e, const struct lim_cost *cost, bool exempt,
            struct lim_decision *out)
{
    struct lim_ticket *t = &out->ticket;

    if (!d->commit || d->l == NULL) {
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

static void
reject(struct dctx *d, struct lim_entry *e, enum lim_reason reason, uint64_t deficit, uint64_t rnd,
       struct lim_decision *out)
{
    out->verdict = LIM_REJECT;
    out->reason = reason;
    out->retry_after_s = retry_after(d->p, reason, deficit, rnd);
    if (d->commit && d->s != NULL) {
        stat_inc(d, &d->s->rejected[reason]);
        if (e != NULL) {
            lim_table_cold(d->l->table, e)->rejects++;
        }
    }
}

static void
decide_limited(struct dctx *d, const struct lim_identity *id, const struct lim_request *r,
               const struct lim_cost *cost, enum lim_mode mode, uint64_t rnd,
               struct lim_decision *out)
{
    const struct lim_class *c = d->c;
    struct lim *l = d->l;
    struct lim_entry fresh, *e;
    enum lim_reason reason = LIM_REASON_NONE;
    uint64_t kind, deficit = 0, delay = 0;
    const char *key = dist_value(c->p.dist, id, r, &kind);
    bool locked,
        shed_lw = l != NULL && atomic_load_explicit(&l->shed_list_watch, memory_order_relaxed);

    d->scale = 100;
    if (l != NULL && mode == LIM_MODE_ENFORCE) {
        d->scale = atomic_load_explicit(&l->shed_scale, memory_order_relaxed);
    }
    d->allow_ns = c->p.max_wait_ns;
    if (d->seats > d->p->pool_cap[d->pool]) {
        d->seats = d->p->pool_cap[d->pool]; /* wider than the pool: it may run alone */
    }
    if (c->seat_cap[d->pool] != 0 && d->seats > scaled(c->seat_cap[d->pool], d->scale)) {
        d->seats = scaled(c->seat_cap[d->pool], d->scale);
    }
    out->seats = d->seats;
    lim_rate_scale(&c->rate, d->scale, &d->krate);
    lim_rate_scale(&c->watch_rate, d->scale, &d->wrate);
    lim_rate_scale(&c->class_rate, d->scale, &d->crate);
    memset(&fresh, 0, sizeof(fresh));
    e = entry_get(d, key, kind, &fresh);
    locked = e != &fresh;
    if (d->tr != NULL) {
        trace_state(d, e);
    }
    if (d->commit) {
        e->requests++;
    }
    if (shed_lw && (r->verb == LIM_VERB_LIST || r->verb == LIM_VERB_WATCH)) {
        reason = LIM_REASON_SHED;
    } else {
        reason = run_checks(d, e, &deficit, &delay);
    }
    if (reason != LIM_REASON_NONE) {
        rollback(d);
        if (id->cred == LIM_CRED_UNVERIFIED &&
            (reason == LIM_REASON_RATE || reason == LIM_REASON_CLASS_RATE)) {
            reason = LIM_REASON_UNVERIFIED;
        }
        if (mode == LIM_MODE_DRY_RUN) {
            hold(d, e);
            out->verdict = LIM_ADMIT;
            out->reason = reason;
            out->dry_run = true;
            if (d->s != NULL) {
                stat_inc(d, &d->s->would_reject[reason]);
                stat_inc(d, &d->s->admitted);
            }
            fill_ticket(d, e, cost, false, out);
        } else {
            reject(d, locked ? e : NULL, reason, deficit, rnd, out);
        }
    } else {
        commit_key(d, e);
        /* Dry-run takes the tokens (so buckets evolve as under enforce)
         * but never makes a request wait. */
        if (delay != 0 && mode == LIM_MODE_ENFORCE) {
            out->verdict = LIM_DELAY;
            out->delay_ns = delay;
            if (d->s != NULL) {
                stat_inc(d, &d->s->delayed);
            }
        } else {
            out->verdict = LIM_ADMIT;
            if (d->s != NULL) {
                stat_inc(d, &d->s->admitted);
            }
        }
        fill_ticket(d, e, cost, false, out);
    }
    if (locked) {
        lim_table_unlock(l->table, e);
    }
}

static void
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
    memset(&d, 0, sizeof(d));
    d.l = l;
    d.p = p;
    d.tr = tr;
    d.commit = commit && l != NULL;
    d.now = now_ns;
    if (l != NULL) {
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
    d.c = &p->classes[p->rules[rule].class_index];
    d.s = l != NULL ? l->slots[d.c->slot] : NULL;
    out->rule = rule;
    out->class_name = d.c->p.name;
    mode = d.c->p.mode;
    if (d.s != NULL && (m = atomic_load_explicit(&d.s->mode, memory_order_relaxed)) >= 0) {
        mode = (enum lim_mode)m;
    }
    lim_cost_compute(&d.c->p.cost, l != NULL ? l->learned : NULL, d.commit, r, &cost,
                     tr != NULL ? tr->cost_why : NULL, tr != NULL ? sizeof(tr->cost_why) : 0);
    if (tr != NULL) {
        tr->learned_bytes = cost.learned_bytes;
    }
    d.cost_mt = cost.tokens_mt;
    d.seats = cost.seats;
    d.pool = cost.pool;
    d.watch = cost.kind == LIM_KIND_WATCH;
    out->cost_mt = cost.tokens_mt;
    out->seats = cost.seats;
    if (ov == LIM_OV_BLOCK) {
        reject(&d, NULL, LIM_REASON_BLOCKED, until - now_ns, rnd, out);
        return;
    }
    if (ov == LIM_OV_ALLOW || mode == LIM_MODE_EXEMPT) {
        /* Break-glass: never limited, always counted. */
        out->verdict = LIM_ADMIT;
        out->exempt = true;
        if (tr != NULL) {
            struct lim_entry fresh;
            uint64_t kind;
            const char *key = dist_value(d.c->p.dist, id, r, &kind);

            memset(&fresh, 0, sizeof(fresh));
            d.scale = 100;
            trace_key(tr, key, strlen(key));
            trace_state(&d, &fresh);
        }
        hold(&d, NULL);
        if (d.s != NULL) {
            stat_inc(&d, &d.s->admitted);
        }
        fill_ticket(&d, NULL, &cost, true, out);
        return;
    }
    decide_limited(&d, id, r, &cost, mode, rnd, out);
}
