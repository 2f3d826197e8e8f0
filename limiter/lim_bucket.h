/* Token buckets as GCRA in integer nanoseconds: a bucket's whole state is its
 * theoretical arrival time <tat>. A full bucket has tat <= now; taking
 * <cost_mt> milli-tokens moves tat to max(tat, now) + cost_mt *
 * ns_per_token / 1000, which is allowed while tat stays within the burst
 * window of now. Lazy refill comes for free, and a clock that goes
 * backwards (or a thread with a slightly stale now) only makes the bucket
 * look emptier: max() never creates credit beyond the burst. Private to
 * limiter/.
 *
 * Scale: ns_per_token = 1e12 / rate_mtps, rounded (1 ns at the maximum rate
 * of 1e9 tokens/s, so within 0.05% of the configured rate up to 1e6
 * tokens/s, and within 1e-5 below 1e4 tokens/s). Bounds that rule out
 * overflow, all values uint64_t:
 *  - burst < 2^32 tokens, so burst_mt < 2^42;
 *  - lim_rate_init refuses a window (the time to refill the burst) above
 *    LIM_BUCKET_WINDOW_MAX_NS = 2^53 ns (104 days);
 *  - a take is clamped to the burst, so cost_mt * ns_per_token <=
 *    window * 1000 < 2^63, and the take is at most the window;
 *  - shedding stretches takes and window at most 100 times: < 2^60;
 *  - debt beyond the window (LIM_DELAY) is at most max_wait_ns <= 2^53, and
 *    a booked turn (lim_decide.c) at most retry_after_max_s <= 3600 s < 2^42;
 *  - now_ns < 2^62 (a monotonic clock counts from boot: 146 years).
 * So tat < 2^62 + 2^60 + 2^53 + 2^60 and no sum below reaches 2^64. */
#ifndef LIM_BUCKET_H
#define LIM_BUCKET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LIM_BUCKET_WINDOW_MAX_NS (1ull << 53)
#define LIM_NS_PER_S             1000000000ull

struct lim_rate {
    uint64_t ns_per_token; /* 0: no bucket */
    uint64_t burst_mt;     /* burst, in milli-tokens */
    uint64_t window_ns;    /* time to refill the burst (scaled) */
    uint32_t pct;          /* 100, or the shed scale 1..99 */
};

/* Fills <r> for <rate_mtps> milli-tokens/s and <burst> tokens. Returns 0, or
 * -1 when the rate is outside 1..LIM_RATE_MAX_MTPS, the burst is 0, or the
 * window is above LIM_BUCKET_WINDOW_MAX_NS. */
int lim_rate_init(struct lim_rate *r, uint64_t rate_mtps, uint32_t burst);

/* <r> with its rate scaled to <pct> % (1..100): longer intervals, the same
 * burst in tokens. */
void lim_rate_scale(const struct lim_rate *r, uint32_t pct, struct lim_rate *out);

/* Nanoseconds a take of <cost_mt> moves tat, clamped to the burst: a
 * request dearer than a full bucket can still pass once the bucket is
 * full (then it waits a whole window), rather than never. */
static inline uint64_t
lim_rate_take_ns(const struct lim_rate *r, uint64_t cost_mt)
{
    uint64_t c = cost_mt < r->burst_mt ? cost_mt : r->burst_mt;
    uint64_t ns = c * r->ns_per_token / 1000u;

    return r->pct >= 100 ? ns : ns * 100u / r->pct;
}

/* The tat after a take that moves it <take_ns> (lim_rate_take_ns) at
 * <now_ns>. */
static inline uint64_t
lim_bucket_next_ns(uint64_t tat, uint64_t take_ns, uint64_t now_ns)
{
    return (tat > now_ns ? tat : now_ns) + take_ns;
}

/* The tat after taking <cost_mt> at <now_ns>. */
static inline uint64_t
lim_bucket_next(uint64_t tat, const struct lim_rate *r, uint64_t cost_mt, uint64_t now_ns)
{
    return lim_bucket_next_ns(tat, lim_rate_take_ns(r, cost_mt), now_ns);
}

/* How far <next> (from lim_bucket_next) is beyond the burst window: 0 when
 * the take is allowed, else the wait after which it would be. */
static inline uint64_t
lim_bucket_deficit(uint64_t next, const struct lim_rate *r, uint64_t now_ns)
{
    uint64_t ahead = next - now_ns; /* next >= now by construction */

    return ahead > r->window_ns ? ahead - r->window_ns : 0;
}

/* Milli-tokens left at <now_ns>; negative while a delayed take is in debt. */
int64_t lim_bucket_tokens_mt(uint64_t tat, const struct lim_rate *r, uint64_t now_ns);

/* lim_abucket_take for a take that moves tat <take_ns> (lim_rate_take_ns
 * of <r>). */
static inline bool
lim_abucket_take_ns(_Atomic uint64_t *tat, const struct lim_rate *r, uint64_t take_ns,
                    uint64_t now_ns, uint64_t allow_ns, uint64_t *deficit_ns)
{
    uint64_t cur = atomic_load_explicit(tat, memory_order_relaxed);
    uint64_t next;

    do {
        next = lim_bucket_next_ns(cur, take_ns, now_ns);
        *deficit_ns = lim_bucket_deficit(next, r, now_ns);
        if (*deficit_ns > allow_ns) {
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(tat, &cur, next, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* A bucket shared by threads (class and global buckets): takes <cost_mt>
 * when the deficit is at most <allow_ns> (the debt LIM_DELAY may run up).
 * Returns true when taken; *<deficit_ns> is the deficit either way. */
static inline bool
lim_abucket_take(_Atomic uint64_t *tat, const struct lim_rate *r, uint64_t cost_mt, uint64_t now_ns,
                 uint64_t allow_ns, uint64_t *deficit_ns)
{
    return lim_abucket_take_ns(tat, r, lim_rate_take_ns(r, cost_mt), now_ns, allow_ns, deficit_ns);
}

/* Gives back what lim_abucket_take took (rollback of a rejected request).
 * Exact in tokens: the bucket ends where it would have without the take,
 * or full if it refilled meanwhile. */
void lim_abucket_give(_Atomic uint64_t *tat, const struct lim_rate *r, uint64_t cost_mt);

/* Gives back <cost_mt> taken earlier and left unused (a booked turn
 * forfeited, or used by a cheaper request), but only from what is booked
 * beyond the burst window at <now_ns>: the next booking comes sooner, but
 * the bucket never looks fuller now than it is. Tokens whose time has
 * passed are not handed out again as a burst. */
void lim_abucket_refund(_Atomic uint64_t *tat, const struct lim_rate *r, uint64_t cost_mt,
                        uint64_t now_ns);

#endif /* LIM_BUCKET_H */
