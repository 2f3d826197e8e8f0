/* What lim_explain reports besides the decision: the key and the state the
 * decision saw. Written by the decision's own code path (lim_decide.c)
 * when it runs with a trace. */
#include "lim_decide.h"

#include <stdio.h>
#include <string.h>

void
lim_d_trace_key(struct lim_trace *tr, const char *key, size_t klen)
{
    size_t n = klen < LIM_KEY_DISPLAY - 1 ? klen : LIM_KEY_DISPLAY - 1;

    memcpy(tr->key, key, n);
    tr->key[n] = '\0';
    tr->key_len = klen;
}

void
lim_d_trace_state(const struct dctx *d, const struct lim_entry *e)
{
    struct lim_trace *tr = d->tr;
    struct lim_slot *s = d->s;
    struct lim *l = d->l;
    int64_t t;

    tr->key_tokens_mt = -1;
    tr->class_tokens_mt = -1;
    if (d->c->rate.ns_per_token != 0) {
        t = lim_bucket_tokens_mt(e->tat, d->krate, d->now);
        tr->key_tokens_mt = t > 0 ? t : 0;
    }
    if (d->c->class_rate.ns_per_token != 0) {
        t = lim_bucket_tokens_mt(s ? atomic_load_explicit(&s->class_tat, memory_order_relaxed) : 0,
                                 d->crate, d->now);
        tr->class_tokens_mt = t > 0 ? t : 0;
    }
    tr->key_inflight = atomic_load_explicit(&e->inflight, memory_order_relaxed);
    tr->key_watches = atomic_load_explicit(&e->watches, memory_order_relaxed);
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

void
lim_d_trace_turn(const struct dctx *d, uint64_t ready_ns, uint64_t cost_mt)
{
    struct lim_trace *tr = d->tr;
    uint64_t in = ready_ns > d->now ? ready_ns - d->now : 0;
    uint64_t in_s = (in + LIM_NS_PER_S - 1) / LIM_NS_PER_S;
    unsigned long long whole = cost_mt / 1000, frac = cost_mt % 1000;

    tr->turn = (enum lim_turn)d->turn;
    tr->turn_in_ns = in;
    tr->turn_cost_mt = cost_mt;
    switch (tr->turn) {
    case LIM_TURN_BOOKED:
        snprintf(tr->turn_why, sizeof(tr->turn_why), "reserved turn in %llu s (%llu.%03llu tokens)",
                 (unsigned long long)in_s, whole, frac);
        break;
    case LIM_TURN_EARLY:
        snprintf(tr->turn_why, sizeof(tr->turn_why),
                 "holds a turn in %llu s: rejected again, keeps its place",
                 (unsigned long long)in_s);
        break;
    case LIM_TURN_USED:
        snprintf(tr->turn_why, sizeof(tr->turn_why),
                 "admitted on its reserved turn (%llu.%03llu tokens)", whole, frac);
        break;
    case LIM_TURN_HELD:
        snprintf(tr->turn_why, sizeof(tr->turn_why), "holds a turn in %llu s, not needed here",
                 (unsigned long long)in_s);
        break;
    default:
        tr->turn_why[0] = '\0';
        break;
    }
}
