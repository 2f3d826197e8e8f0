/* Open-loop arrival schedules: when each request of a stream is intended to
 * leave, decided in advance and never moved by how long earlier requests
 * took (wrk2's model). Latency is measured from the intended time, so a
 * server that stalls is charged for every request it made wait, not only
 * for the few that were in flight (coordinated omission). Pure: time is a
 * parameter, randomness a caller-held state. */
#ifndef BN_LOAD_SCHED_H
#define BN_LOAD_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define BN_MRPS_PER_RPS 1000u                /* rates are milli-requests per second */
#define BN_RATE_MAX     (1000000ull * 1000u) /* 1,000,000 requests/s in mrps */

enum bn_arrival {
    BN_ARRIVAL_CONSTANT = 0, /* evenly spaced: t_k = origin + k / rate */
    BN_ARRIVAL_POISSON,      /* exponential gaps of mean 1 / rate */
};

struct bn_sched {
    enum bn_arrival arrival;
    uint64_t rate_mrps; /* 1 .. BN_RATE_MAX, shared by <div> members */
    uint32_t div;       /* >= 1: this stream's rate is rate_mrps / div */
    uint64_t origin_ns; /* intended time of request 0 */
    uint64_t k;         /* index of the next request */
    uint64_t next_ns;   /* its intended time */
    uint64_t rng;       /* Poisson: generator state */
};

/* A schedule of <rate_mrps> / <div> starting at <origin_ns>. A total rate
 * split over <div> members is kept as a fraction, so that 1/s over 5,000
 * members is one request per 5,000 s each, not 0. <seed> makes Poisson gaps
 * reproducible (any value, 0 included). */
void bn_sched_init(struct bn_sched *s, enum bn_arrival arrival, uint64_t rate_mrps, uint32_t div,
                   uint64_t origin_ns, uint64_t seed);
/* Consumes the next request: the one after it becomes next. Constant
 * schedules compute t_k from k, so rounding never accumulates into drift. */
void bn_sched_advance(struct bn_sched *s);

/* Among the <n> schedules <s>, the one whose next request is earliest. If
 * that request is due (intended at or before <now_ns>) it is consumed: its
 * index is returned and *<intended_ns> set. Otherwise -1, and *<wake_ns>
 * says when to look again (UINT64_MAX when <n> is 0). */
int bn_sched_pick(struct bn_sched *s, size_t n, uint64_t now_ns, uint64_t *intended_ns,
                  uint64_t *wake_ns);

/* When member <i> of <count> starts: spread evenly over <ramp_ns> after
 * <start_ns>, like a DaemonSet rollout reaching node after node. */
uint64_t bn_sched_member_start(uint64_t start_ns, uint64_t ramp_ns, uint32_t i, uint32_t count);
/* Offset of member <i> of <count> within one interval of <rate_mrps> /
 * <div>, so that members started together do not all fire on the same
 * tick: together their constant schedules are one even stream. */
uint64_t bn_sched_phase(uint64_t rate_mrps, uint32_t div, uint32_t i, uint32_t count);

/* splitmix64: a fast, well-mixed generator for gaps, jitter and seeds. */
uint64_t bn_rng_next(uint64_t *state);
/* Uniform in [0, 1) with 53 bits. */
double bn_rng_unit(uint64_t *state);

#endif /* BN_LOAD_SCHED_H */
