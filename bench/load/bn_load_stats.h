/* What a worker counts for each population: additive counters and
 * histograms, kept twice (the whole run, and the current second that the
 * worker hands to the reporter), and merged across workers by addition. */
#ifndef BN_LOAD_STATS_H
#define BN_LOAD_STATS_H

#include <stdint.h>

#include "bn_load_conn.h"
#include "bn_load_hist.h"

#define BN_CODES 600 /* HTTP status 100..599 by value; other values count as 0 */

struct bn_counts {
    uint64_t requests; /* final outcomes: a response, or a failure */
    uint64_t codes[BN_CODES];
    uint64_t fails[BN_FAIL_N];
    uint64_t retries;  /* client-go retries made (Retry-After, reset GET) */
    uint64_t gave_up;  /* retries exhausted: the last answer was final */
    uint64_t dropped;  /* retries abandoned: too many waiting on one member */
    uint64_t unsent;   /* open loop: due before the end but never sent (behind) */
    uint64_t bytes_in; /* response bodies */
    /* watches: their LIST and watch requests count here, not above */
    uint64_t watch_codes[BN_CODES]; /* LIST and watch responses by status */
    uint64_t watch_ok;              /* established: 200 response head */
    uint64_t watch_failed;          /* attempts that did not establish */
    uint64_t watch_ended;           /* established streams that ended */
    uint64_t events;                /* ADDED, MODIFIED, DELETED */
    uint64_t bookmarks;
    uint64_t error_events; /* ERROR events (410 Expired, ...) */
    uint64_t lists;        /* LIST requests a reflector made */
    uint64_t relists;      /* of which after the first */
};

struct bn_pop_stats {
    struct bn_counts total, sec;
    struct bn_hist lat, lat_sec; /* response latency, ns */
    struct bn_hist establish;    /* watch time to establish, ns */
    struct bn_hist lag;          /* open loop: send time minus intended time on a free connection */
    int64_t open_watches;        /* gauge */
};

void bn_pop_stats_init(struct bn_pop_stats *s);
void bn_counts_add(struct bn_counts *dst, const struct bn_counts *src);
/* Requests whose outcome was not 2xx or 3xx, failures included. */
uint64_t bn_counts_errors(const struct bn_counts *c);
/* The status code's slot (0 for a failure or a nonsense code). */
static inline unsigned
bn_code_slot(int status)
{
    return status >= 100 && status < BN_CODES ? (unsigned)status : 0;
}

#endif /* BN_LOAD_STATS_H */
