/* GCRA token buckets: see lim_bucket.h for the arithmetic and its bounds. */
#include "lim_bucket.h"

#include "lim_policy.h"

int
lim_rate_init(struct lim_rate *r, uint64_t rate_mtps, uint32_t burst)
{
    const uint64_t ns_mt_per_s = 1000000000000ull; /* 1e9 ns * 1000 mt per token */

    r->ns_per_token = r->burst_mt = r->window_ns = 0;
    r->pct = 100;
    if (rate_mtps == 0 || rate_mtps > LIM_RATE_MAX_MTPS || burst == 0) {
        return -1;
    }
    r->ns_per_token = (ns_mt_per_s + rate_mtps / 2) / rate_mtps;
    if (r->ns_per_token == 0) {
        r->ns_per_token = 1;
    }
    r->burst_mt = (uint64_t)burst * LIM_MT_PER_TOKEN; /* < 2^42 */
    /* window = burst_mt * ns_per_token / 1000 <= 2^53; 2^53 * 1000 < 2^63,
     * and dividing first keeps the check itself from overflowing. */
    if (r->ns_per_token > LIM_BUCKET_WINDOW_MAX_NS * 1000u / r->burst_mt) {
        r->ns_per_token = r->burst_mt = 0;
        return -1;
    }
    r->window_ns = r->burst_mt * r->ns_per_token / 1000u;
    return 0;
}

void
lim_rate_scale(const struct lim_rate *r, uint32_t pct, struct lim_rate *out)
{
    *out = *r;
    if (pct >= 100 || pct == 0 || r->ns_per_token == 0) {
        return;
    }
    out->pct = pct;
    out->window_ns = r->window_ns * 100u / pct; /* < 2^60 */
}

int64_t
lim_bucket_tokens_mt(uint64_t tat, const struct lim_rate *r, uint64_t now_ns)
{
    uint64_t ahead = tat > now_ns ? tat - now_ns : 0, span;
    /* ns per milli-token, scaled, as a fraction: ns_per_token*100 / (1000*pct) */
    unsigned __int128 den = (unsigned __int128)r->ns_per_token * 100u;
    unsigned __int128 num_per_ns = (unsigned __int128)1000u * r->pct;

    if (r->ns_per_token == 0) {
        return 0;
    }
    span = ahead <= r->window_ns ? r->window_ns - ahead : ahead - r->window_ns;
    span = (uint64_t)(span * num_per_ns / den);
    return ahead <= r->window_ns ? (int64_t)span : -(int64_t)span;
}

void
lim_abucket_give(_Atomic uint64_t *tat, const struct lim_rate *r, uint64_t cost_mt)
{
    uint64_t back = lim_rate_take_ns(r, cost_mt);
    uint64_t cur = atomic_load_explicit(tat, memory_order_relaxed);
    uint64_t next;

    do {
        next = cur > back ? cur - back : 0;
    } while (!atomic_compare_exchange_weak_explicit(tat, &cur, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void
lim_abucket_refund(_Atomic uint64_t *tat, const struct lim_rate *r, uint64_t cost_mt,
                   uint64_t now_ns)
{
    uint64_t back = lim_rate_take_ns(r, cost_mt), floor = now_ns + r->window_ns;
    uint64_t cur = atomic_load_explicit(tat, memory_order_relaxed);
    uint64_t next;

    do {
        if (cur <= floor) {
            return;
        }
        next = cur - floor > back ? cur - back : floor;
    } while (!atomic_compare_exchange_weak_explicit(tat, &cur, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}
