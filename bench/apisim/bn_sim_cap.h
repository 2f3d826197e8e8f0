/* The capacity model, the point of the simulator: a fixed number of
 * "storage" slots (what etcd and the apiserver's CPU can do at once). Every
 * request that reaches storage needs a slot for its service time (its
 * cost); requests wait for a slot in one FIFO queue, so latency rises for
 * everyone — critical clients included — as the queue grows. A request
 * still queued after the queue timeout fails (504/500, as the apiserver's
 * deadline or etcd's request timeout would); with more than the in-flight
 * limit queued or running, new requests get 429 at once (kube-apiserver's
 * max-inflight filter; system:masters is exempt from that check only, as
 * there, and still waits for storage like everyone). Work without a
 * request — watch event fan-out, churn writes — is owed as background
 * debt that free slots pay first. Pure: time is an argument. */
#ifndef BN_SIM_CAP_H
#define BN_SIM_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BN_SIM_CAP_MAX_SLOTS 1024
#define BN_SIM_CAP_CHUNK_NS  (5 * 1000 * 1000ull) /* background debt paid per slot turn */

struct bn_sim_cap_params {
    uint32_t slots;                 /* 1..BN_SIM_CAP_MAX_SLOTS */
    uint32_t max_inflight;          /* read-only requests queued + running; 0 = no limit */
    uint32_t max_mutating_inflight; /* mutating requests queued + running; 0 = no limit */
    uint64_t queue_timeout_ns;      /* > 0 */
    uint64_t max_debt_ns;           /* background debt beyond this is dropped (counted) */
};

enum bn_sim_cap_outcome {
    BN_SIM_CAP_DONE = 0, /* served after its service time */
    BN_SIM_CAP_TIMEOUT,  /* waited longer than the queue timeout */
};

enum bn_sim_cap_admit {
    BN_SIM_CAP_ADMITTED = 0,
    BN_SIM_CAP_REJECTED, /* over the in-flight limit: answer 429 now */
};

struct bn_sim_job;
typedef void bn_sim_job_fn(struct bn_sim_job *j, enum bn_sim_cap_outcome o, uint64_t now_ns);

/* One request's claim on storage. The caller owns the memory and fills the
 * first block; the rest is the model's until the callback (or cancel). */
struct bn_sim_job {
    uint64_t cost_ns;
    bool mutating;
    bool exempt; /* system:masters: never 429 */
    bn_sim_job_fn *done;
    void *arg;
    /* model-private */
    uint64_t enqueued_ns, started_ns;
    struct bn_sim_job *prev, *next;
    int state;
    int outcome;
};

struct bn_sim_cap_stats {
    uint32_t slots;
    uint32_t busy_slots; /* running a request or paying debt */
    uint64_t queued;
    uint64_t running;
    uint64_t inflight_readonly; /* queued + running, exempt ones included */
    uint64_t inflight_mutating;
    uint64_t debt_ns;
    uint64_t busy_ns_total; /* slot time spent so far, requests and debt */
    uint64_t debt_dropped_ns_total;
    uint64_t rejected_total;
    uint64_t timeouts_total;
    uint64_t served_total;
    uint64_t queue_wait_ns_total; /* over served requests */
};

struct bn_sim_cap;

struct bn_sim_cap *bn_sim_cap_new(const struct bn_sim_cap_params *p, char *err, size_t errlen);
/* Jobs still held are dropped without callbacks. */
void bn_sim_cap_free(struct bn_sim_cap *c);

/* Queues <j> at <now_ns> (starting it at once when a slot is free), or
 * refuses it when over the in-flight limit. The callback never runs inside
 * this call: bn_sim_cap_advance runs it, so callers see one order of events. */
enum bn_sim_cap_admit bn_sim_cap_submit(struct bn_sim_cap *c, struct bn_sim_job *j,
                                        uint64_t now_ns);

/* Withdraws <j> (its client went away): no callback will run. A job already
 * on a slot keeps the slot until its service time ends, as the storage work
 * it started does. */
void bn_sim_cap_cancel(struct bn_sim_cap *c, struct bn_sim_job *j);

/* Owes <cost_ns> of background work (event fan-out, churn). */
void bn_sim_cap_background(struct bn_sim_cap *c, uint64_t cost_ns, uint64_t now_ns);

/* Brings the model to <now_ns>: finishes service, expires queued jobs, hands
 * free slots to debt and then to the queue head, and runs the callbacks of
 * finished and expired jobs in time order. Callbacks may submit and cancel. */
void bn_sim_cap_advance(struct bn_sim_cap *c, uint64_t now_ns);

/* When the model next changes by itself (UINT64_MAX: nothing pending). */
uint64_t bn_sim_cap_next_ns(const struct bn_sim_cap *c);

void bn_sim_cap_stats(const struct bn_sim_cap *c, uint64_t now_ns, struct bn_sim_cap_stats *out);

#endif /* BN_SIM_CAP_H */
