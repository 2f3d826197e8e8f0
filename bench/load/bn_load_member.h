/* One member of a population: its request streams on one keep-alive
 * connection, and its watches (each on a connection of its own). Open
 * loop: each stream's requests leave at their scheduled times, or as soon
 * as the connection is free when it is not, and latency runs from the
 * scheduled time. Closed loop (--closed): the next request leaves when the
 * previous completes and latency runs from the send, as wrk measures.
 * A 429 or 5xx with an integer Retry-After is retried the way client-go
 * does, the retry waiting aside while the stream goes on, and its latency
 * still runs from the first attempt's intended time. */
#ifndef BN_LOAD_MEMBER_H
#define BN_LOAD_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bn_load_conn.h"
#include "bn_load_retry.h"

struct bn_cred;
struct bn_member;
struct bn_pop_stats;
struct bn_scn;
struct bn_scn_pop;

#define BN_MEMBER_WAITING_MAX 64 /* retries waiting on one member */

/* What members and watches of one worker share. */
struct bn_wctx {
    struct bn_conn_env env;
    struct bn_pop_stats *stats; /* one per population */
    const struct bn_scn *scn;
    struct bn_retry_policy retry;
    const char *host_header; /* "Host: 127.0.0.1:6443\r\n" */
    bool stopping;           /* the run is ending: start nothing new */
};

/* Member <i> of population <pop_idx> of <w>'s scenario, presenting <cred>
 * (borrowed). It starts (watches, then requests) at its place in the
 * population's ramp once bn_member_arm is called. */
struct bn_member *bn_member_new(struct bn_wctx *w, size_t pop_idx, uint32_t i,
                                const struct bn_cred *cred, char *err, size_t errlen);
/* Schedules the member's start relative to the run's <origin_ns>. */
void bn_member_arm(struct bn_member *m, uint64_t origin_ns);
void bn_member_free(struct bn_member *m);
/* At the end of an open-loop run (<end_ns>): counts into the member's stats
 * the requests that were due but never sent, its retries still waiting
 * included. The schedules are used up by it. */
void bn_member_count_unsent(struct bn_member *m, uint64_t end_ns);

/* Renders "METHOD TARGET HTTP/1.1" with Host, User-Agent, Accept, the
 * credential's Authorization, <headers> and <body> into a new string. */
char *bn_render_request(const struct bn_wctx *w, const char *method, const char *target,
                        const struct bn_cred *cred, const char *const *headers, size_t nheaders,
                        const char *body, size_t *len);

#endif /* BN_LOAD_MEMBER_H */
