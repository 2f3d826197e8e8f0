/* A log-linear latency histogram in the manner of HdrHistogram: every power
 * of two is cut into BN_HIST_SUB linear sub-buckets, so a recorded value is
 * known to within 1/BN_HIST_SUB (0.78%) of itself, and a percentile is
 * reported as its bucket's midpoint (within 0.4%). Values are nanoseconds,
 * exact below 256 ns, bounded at BN_HIST_MAX_NS (18 minutes). Fixed size,
 * no allocation: a worker records into its own and the reporter merges. */
#ifndef BN_LOAD_HIST_H
#define BN_LOAD_HIST_H

#include <stdint.h>

#define BN_HIST_SUB_BITS 7
#define BN_HIST_SUB      (1u << BN_HIST_SUB_BITS) /* sub-buckets per power of two */
#define BN_HIST_MAX_BITS 40
#define BN_HIST_MAX_NS   ((1ull << BN_HIST_MAX_BITS) - 1)
/* [0, 2*SUB) with width 1, then SUB buckets per power of two up to 2^40. */
#define BN_HIST_BUCKETS (2 * BN_HIST_SUB + (BN_HIST_MAX_BITS - BN_HIST_SUB_BITS - 1) * BN_HIST_SUB)

struct bn_hist {
    uint64_t count;   /* values recorded */
    uint64_t min_ns;  /* exact; UINT64_MAX when empty */
    uint64_t max_ns;  /* exact (after clamping to BN_HIST_MAX_NS) */
    uint64_t sum_ns;  /* for the mean; saturates */
    uint64_t clamped; /* values above BN_HIST_MAX_NS, counted as the maximum */
    uint64_t buckets[BN_HIST_BUCKETS];
};

/* Empties <h>. A zeroed struct must be initialised before use (min_ns). */
void bn_hist_init(struct bn_hist *h);
void bn_hist_record(struct bn_hist *h, uint64_t v_ns);
/* Adds every count of <src> to <dst>. */
void bn_hist_merge(struct bn_hist *dst, const struct bn_hist *src);
/* The value at or below which <pct> percent of the recorded values lie
 * (nearest rank: rank = ceil(pct/100 * count), at least 1), as its bucket's
 * midpoint clamped to [min, max]: pct 100 is the exact maximum, pct 0 the
 * exact minimum. 0 when <h> is empty. <pct> is clamped to [0, 100]. */
uint64_t bn_hist_percentile(const struct bn_hist *h, double pct);
uint64_t bn_hist_mean(const struct bn_hist *h);

/* Bucket arithmetic, exported for the tests: the index of <v_ns> and the
 * lowest value and width of bucket <idx>. */
uint32_t bn_hist_index(uint64_t v_ns);
uint64_t bn_hist_bucket_low(uint32_t idx);
uint64_t bn_hist_bucket_width(uint32_t idx);

#endif /* BN_LOAD_HIST_H */
