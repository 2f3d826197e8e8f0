/* The simulator's Prometheus metrics: request counters by verb and code,
 * a latency histogram per verb, and a gauge snapshot (in-flight, queue,
 * storage slots and utilisation, open watches, store size) rendered in the
 * text exposition format (valid under promtool check metrics). Pure:
 * counters are plain integers updated by the one event loop. */
#ifndef BN_SIM_METRICS_H
#define BN_SIM_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "bn_sim_cap.h"
#include "bn_sim_store.h"

#define BN_SIM_VERBS   20 /* lim_verb values, with room */
#define BN_SIM_BUCKETS 16

enum bn_sim_term {
    BN_SIM_TERM_SLOW = 0, /* fell behind by more than the watch buffer */
    BN_SIM_TERM_TIMEOUT,  /* its timeoutSeconds (or the server's) ran out */
    BN_SIM_TERM_CLIENT,   /* the client went away */
    BN_SIM_TERM_COUNT
};

/* Gauges read at scrape time from the model, the store and the server. */
struct bn_sim_gauges {
    struct bn_sim_cap_stats cap;
    struct bn_sim_store_stats store;
    uint64_t connections;
    uint64_t watches_open;
    uint64_t watch_memory_bytes;   /* simulated: open watches x --watch-memory */
    uint64_t watch_buffered_bytes; /* real: bytes queued to watchers */
};

struct bn_sim_metrics {
    uint64_t requests[BN_SIM_VERBS][600]; /* [verb][HTTP code] */
    uint64_t hist[BN_SIM_VERBS][BN_SIM_BUCKETS + 1];
    uint64_t hist_sum_us[BN_SIM_VERBS];
    uint64_t hist_count[BN_SIM_VERBS];
    uint64_t watch_events;
    uint64_t watches_total;
    uint64_t watch_terminated[BN_SIM_TERM_COUNT];
    uint64_t churn_writes;
    uint64_t auth_failures;
};

/* Upper bounds of the latency buckets, in microseconds. */
extern const uint64_t bn_sim_buckets_us[BN_SIM_BUCKETS];

/* Counts one finished request (<verb> a lim_verb, <code> its status). */
void bn_sim_metrics_request(struct bn_sim_metrics *m, int verb, int code, uint64_t latency_ns);

/* The exposition: counters of <m>, gauges of <g>. */
void bn_sim_metrics_render(const struct bn_sim_metrics *m, const struct bn_sim_gauges *g,
                           FILE *out);

#endif /* BN_SIM_METRICS_H */
