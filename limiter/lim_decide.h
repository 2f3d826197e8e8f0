/* The decision's working state and its checks, shared by lim_decide.c
 * (the decision, explain) and lim_check.c (counters, buckets, rollback,
 * Retry-After). Private to limiter/. */
#ifndef LIM_DECIDE_H
#define LIM_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "lim.h"
#include "lim_bucket.h"
#include "lim_int.h"
#include "lim_policy_int.h"

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

/* Counts one event in a slot counter (lim_decide only, not explain). */
static inline void
stat_inc(const struct dctx *d, _Atomic uint64_t *c)
{
    if (d->commit) {
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
    }
}

/* <cap> scaled to <pct> % (rounded up, at least 1); 0 stays "none". */
static inline uint32_t
lim_d_scaled(uint32_t cap, uint32_t pct)
{
    uint64_t v;

    if (cap == 0 || pct >= 100) {
        return cap;
    }
    v = ((uint64_t)cap * pct + 99) / 100;
    return v != 0 ? (uint32_t)v : 1;
}

/* Runs every check in order against entry <e> (locked, or fresh); returns
 * the first failing reason with its bucket deficit, or NONE with *<delay>
 * the largest debt taken within max_wait_ns. */
enum lim_reason lim_d_run_checks(struct dctx *d, struct lim_entry *e, uint64_t *deficit,
                                 uint64_t *delay);
/* Undoes the shared counters and buckets run_checks took. */
void lim_d_rollback(struct dctx *d);
/* Counts seats and the watch without checking (exempt, dry-run). */
void lim_d_hold(const struct dctx *d, struct lim_entry *e);
/* Per-key state once every check passed (under the entry's lock). */
void lim_d_commit_key(const struct dctx *d, struct lim_entry *e);
uint32_t lim_d_retry_after(const struct lim_policy *p, enum lim_reason reason, uint64_t deficit_ns,
                           uint64_t rnd);

#endif /* LIM_DECIDE_H */
