/* Log-linear histogram: see bn_load_hist.h. */
#include "bn_load_hist.h"

#include <math.h>
#include <string.h>

void
bn_hist_init(struct bn_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min_ns = UINT64_MAX;
}

uint32_t
bn_hist_index(uint64_t v)
{
    unsigned msb, shift;

    if (v < 2 * BN_HIST_SUB) {
        return (uint32_t)v;
    }
    if (v > BN_HIST_MAX_NS) {
        v = BN_HIST_MAX_NS;
    }
    msb = 63u - (unsigned)__builtin_clzll(v);
    shift = msb - BN_HIST_SUB_BITS; /* >= 1: v >> shift lies in [SUB, 2*SUB) */
    return 2 * BN_HIST_SUB + (shift - 1) * BN_HIST_SUB + (uint32_t)((v >> shift) - BN_HIST_SUB);
}

uint64_t
bn_hist_bucket_low(uint32_t idx)
{
    uint32_t k, shift;

    if (idx < 2 * BN_HIST_SUB) {
        return idx;
    }
    k = idx - 2 * BN_HIST_SUB;
    shift = k / BN_HIST_SUB + 1;
    return (uint64_t)(k % BN_HIST_SUB + BN_HIST_SUB) << shift;
}

uint64_t
bn_hist_bucket_width(uint32_t idx)
{
    if (idx < 2 * BN_HIST_SUB) {
        return 1;
    }
    return 1ull << ((idx - 2 * BN_HIST_SUB) / BN_HIST_SUB + 1);
}

void
bn_hist_record(struct bn_hist *h, uint64_t v)
{
    if (v > BN_HIST_MAX_NS) {
        v = BN_HIST_MAX_NS;
        h->clamped++;
    }
    h->buckets[bn_hist_index(v)]++;
    h->count++;
    if (v < h->min_ns) {
        h->min_ns = v;
    }
    if (v > h->max_ns) {
        h->max_ns = v;
    }
    h->sum_ns = h->sum_ns + v < h->sum_ns ? UINT64_MAX : h->sum_ns + v;
}

void
bn_hist_merge(struct bn_hist *dst, const struct bn_hist *src)
{
    size_t i;

    if (src->count == 0) {
        return;
    }
    for (i = 0; i < BN_HIST_BUCKETS; i++) {
        dst->buckets[i] += src->buckets[i];
    }
    dst->count += src->count;
    dst->clamped += src->clamped;
    dst->sum_ns = dst->sum_ns + src->sum_ns < dst->sum_ns ? UINT64_MAX : dst->sum_ns + src->sum_ns;
    if (src->min_ns < dst->min_ns) {
        dst->min_ns = src->min_ns;
    }
    if (src->max_ns > dst->max_ns) {
        dst->max_ns = src->max_ns;
    }
}

uint64_t
bn_hist_percentile(const struct bn_hist *h, double pct)
{
    uint64_t rank, seen = 0, v;
    long long near;
    double x;
    uint32_t i;

    if (h->count == 0) {
        return 0;
    }
    if (!(pct > 0.0)) {
        return h->min_ns;
    }
    if (pct >= 100.0) {
        return h->max_ns;
    }
    x = pct * (double)h->count / 100.0;
    near = llround(x);
    /* 99.9% of 1000 is rank 999, not the 1000 that floating point dust
     * (999.0000000001) would round up to. */
    rank = fabs(x - (double)near) <= 1e-9 * x ? (uint64_t)near : (uint64_t)ceil(x);
    if (rank < 1) {
        rank = 1;
    }
    for (i = 0; i < BN_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            break;
        }
    }
    if (i == BN_HIST_BUCKETS) {
        return h->max_ns;
    }
    /* The midpoint halves the worst-case error of reporting either edge. */
    v = bn_hist_bucket_low(i) + (bn_hist_bucket_width(i) - 1) / 2;
    if (v < h->min_ns) {
        v = h->min_ns;
    }
    if (v > h->max_ns) {
        v = h->max_ns;
    }
    return v;
}

uint64_t
bn_hist_mean(const struct bn_hist *h)
{
    return h->count == 0 ? 0 : h->sum_ns / h->count;
}
