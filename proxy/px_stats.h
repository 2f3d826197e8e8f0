/* Per-worker counters: written by their worker thread only (relaxed atomic
 * stores, no locked instructions on the hot path), read by any thread with
 * relaxed loads (the admin plane sums the workers). Fixed size: classes
 * beyond PX_STATS_CLASSES - 1 share the last slot. */
#ifndef PX_STATS_H
#define PX_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "lim_request.h"

#define PX_STATS_CLASSES 32 /* class slots counted one by one; the last is "other" */
#define PX_STATS_BUCKETS 15 /* request duration buckets, the last is +Inf */

/* What happened to a request. */
enum px_decision {
    PX_DEC_ADMIT = 0, /* forwarded at once */
    PX_DEC_DELAY,     /* forwarded after a wait */
    PX_DEC_REJECT,    /* 429 */
    PX_DEC_DRY_RUN,   /* forwarded, would have been rejected */
    PX_DEC_NONE,      /* answered before a decision (400, 401, 408, 413, 431...) */
    PX_DEC_COUNT
};

/* Status of the response the client got, by class of code. */
enum px_code {
    PX_CODE_NONE = 0, /* no response (client gone, connection cut) */
    PX_CODE_1XX,      /* 101: a tunnel */
    PX_CODE_2XX,
    PX_CODE_3XX,
    PX_CODE_4XX, /* but 429 */
    PX_CODE_429,
    PX_CODE_5XX,
    PX_CODE_COUNT
};

struct px_stats {
    _Atomic uint64_t requests[PX_STATS_CLASSES][LIM_VERB_COUNT][PX_DEC_COUNT][PX_CODE_COUNT];
    _Atomic uint64_t duration[PX_STATS_CLASSES][PX_STATS_BUCKETS]; /* non-cumulative */
    _Atomic uint64_t duration_sum_us[PX_STATS_CLASSES];
    _Atomic uint64_t tls_handshakes;    /* downstream handshakes completed */
    _Atomic uint64_t tls_resumed;       /* of which resumed a session */
    _Atomic uint64_t tls_failures;      /* downstream handshakes failed */
    _Atomic uint64_t conns_accepted;    /* downstream connections accepted */
    _Atomic uint64_t conns_refused;     /* closed at once: max_connections */
    _Atomic int64_t conns_open;         /* downstream connections open now */
    _Atomic uint64_t upstream_connects; /* new upstream connections established */
    _Atomic uint64_t upstream_errors;   /* upstream connect or TLS failures */
    _Atomic uint64_t upstream_reused;   /* requests sent on a pooled connection */
    _Atomic int64_t pool_idle;          /* idle pooled upstream connections now */
    _Atomic int64_t upstream_open;      /* upstream connections open now */
    _Atomic uint64_t bytes_in;          /* response body bytes from upstream */
};

/* Upper bounds of the duration buckets, in microseconds (the last is
 * UINT64_MAX): 1 ms 5 ms 10 ms 25 ms 50 ms 100 ms 250 ms 500 ms 1 s 2.5 s
 * 5 s 10 s 30 s 60 s +Inf. */
extern const uint64_t px_stats_bucket_us[PX_STATS_BUCKETS];

/* Adds one to <c> (single writer: a relaxed load and store). */
static inline void
px_stats_inc(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void
px_stats_gauge(_Atomic int64_t *g, int64_t delta)
{
    atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

static inline uint64_t
px_stats_get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* Counts one finished request. <class_slot> is the limiter's class slot
 * (lim_class_slot_name names it); <status> 0 when the client got nothing. */
void px_stats_request(struct px_stats *s, uint32_t class_slot, enum lim_verb verb,
                      enum px_decision d, int status, uint64_t duration_ns);

enum px_code px_stats_code(int status);

#endif /* PX_STATS_H */
