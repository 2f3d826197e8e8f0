/* The heaviest clients for /debug/clients: a bounded min-heap of the best
 * <n> seen while the table is walked one shard (one lock) at a time, so the
 * admin plane never holds up more than a shard's worth of decisions. */
#include "lim.h"

#include <stdlib.h>
#include <string.h>

#include "lim_bucket.h"
#include "lim_int.h"

#define MIN_AGE_NS 1000000000ull /* rates over less than a second are noise */

struct topwalk {
    struct lim *l;
    enum lim_top_by by;
    uint64_t now;
    struct lim_client_info *out;
    uint64_t *metric;
    size_t n, cap;
};

static uint64_t
rate_mtps(const struct lim_entry *e, const struct lim_entry_cold *c, uint64_t now)
{
    uint64_t age = now > c->created_ns ? now - c->created_ns : 0;

    if (age < MIN_AGE_NS) {
        age = MIN_AGE_NS;
    }
    /* requests over the entry's life (an entry is forgotten once idle, so
     * its life is the client's current busy spell), in milli-requests/s. */
    return (uint64_t)((unsigned __int128)e->requests * 1000000000000ull / age);
}

static void
heap_swap(struct topwalk *w, size_t a, size_t b)
{
    struct lim_client_info ti = w->out[a];
    uint64_t tm = w->metric[a];

    w->out[a] = w->out[b];
    w->metric[a] = w->metric[b];
    w->out[b] = ti;
    w->metric[b] = tm;
}

static void
sift_down(struct topwalk *w, size_t i)
{
    for (;;) {
        size_t m = i, a = 2 * i + 1, b = 2 * i + 2;

        if (a < w->n && w->metric[a] < w->metric[m]) {
            m = a;
        }
        if (b < w->n && w->metric[b] < w->metric[m]) {
            m = b;
        }
        if (m == i) {
            return;
        }
        heap_swap(w, i, m);
        i = m;
    }
}

static void
sift_up(struct topwalk *w, size_t i)
{
    while (i > 0 && w->metric[(i - 1) / 2] > w->metric[i]) {
        heap_swap(w, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void
visit(void *arg, const struct lim_entry *e, const struct lim_entry_cold *c)
{
    struct topwalk *w = arg;
    struct lim_client_info info;
    struct lim_slot *s = w->l->slots[e->slot];
    uint64_t m, rate = rate_mtps(e, c, w->now);
    struct lim_rate r;

    uint32_t watches = atomic_load_explicit(&e->watches, memory_order_relaxed);

    m = w->by == LIM_TOP_REJECTS ? c->rejects : w->by == LIM_TOP_WATCHES ? watches : rate;
    if (w->n == w->cap && m <= w->metric[0]) {
        return;
    }
    memset(&info, 0, sizeof(info));
    memcpy(info.key, c->key, sizeof(info.key));
    info.class_name = s->name;
    info.requests = e->requests;
    info.rejects = c->rejects;
    info.inflight = atomic_load_explicit(&e->inflight, memory_order_relaxed);
    info.watches_open = watches;
    info.rate_mtps = rate;
    r.ns_per_token = atomic_load_explicit(&s->view_ns_per_token, memory_order_relaxed);
    r.burst_mt = atomic_load_explicit(&s->view_burst_mt, memory_order_relaxed);
    r.window_ns = r.burst_mt * r.ns_per_token / 1000u;
    r.pct = 100;
    info.tokens_mt = -1;
    if (r.ns_per_token != 0) {
        int64_t t = lim_bucket_tokens_mt(e->tat, &r, w->now);

        info.tokens_mt = t > 0 ? t : 0;
    }
    if (w->n < w->cap) {
        w->out[w->n] = info;
        w->metric[w->n] = m;
        sift_up(w, w->n++);
    } else {
        w->out[0] = info;
        w->metric[0] = m;
        sift_down(w, 0);
    }
}

size_t
lim_top_clients(struct lim *l, enum lim_top_by by, uint64_t now_ns, struct lim_client_info *out,
                size_t n)
{
    struct topwalk w = {l, by, now_ns, out, NULL, 0, n};
    size_t i, count;

    if (n == 0) {
        return 0;
    }
    w.metric = calloc(n, sizeof(*w.metric));
    if (w.metric == NULL) {
        return 0;
    }
    for (i = 0; i < lim_table_shard_count(l->table); i++) {
        lim_table_walk(l->table, i, visit, &w);
    }
    lim_table_walk_overflow(l->table, lim_class_slot_count(l), visit, &w);
    /* Heap to descending order: pop the minimum to the end, repeatedly. */
    count = w.n;
    while (w.n > 1) {
        heap_swap(&w, 0, w.n - 1);
        w.n--;
        sift_down(&w, 0);
    }
    free(w.metric);
    return count;
}
