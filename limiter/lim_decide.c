/* The decision and explain: one internal function,
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

#include "lim_decide.h"
#include "lim_int.h"
#include "lim_policy_int.h"

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
    tr->class_seat_cap = lim_d_scaled(d->c->seat_cap[d->pool], d->scale);
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
    out->retry_after_s = lim_d_retry_after(d->p, reason, deficit, rnd);
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
    if (c->seat_cap[d->pool] != 0 && d->seats > lim_d_scaled(c->seat_cap[d->pool], d->scale)) {
        d->seats = lim_d_scaled(c->seat_cap[d->pool], d->scale);
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
        reason = lim_d_run_checks(d, e, &deficit, &delay);
    }
    if (reason != LIM_REASON_NONE) {
        lim_d_rollback(d);
        if (id->cred == LIM_CRED_UNVERIFIED &&
            (reason == LIM_REASON_RATE || reason == LIM_REASON_CLASS_RATE)) {
            reason = LIM_REASON_UNVERIFIED;
        }
        if (mode == LIM_MODE_DRY_RUN) {
            lim_d_hold(d, e);
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
        lim_d_commit_key(d, e);
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
        lim_d_hold(&d, NULL);
        if (d.s != NULL) {
            stat_inc(&d, &d.s->admitted);
        }
        fill_ticket(&d, NULL, &cost, true, out);
        return;
    }
    decide_limited(&d, id, r, &cost, mode, rnd, out);
}
