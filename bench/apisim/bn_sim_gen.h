/* The generated cluster: namespaces, --nodes nodes with their leases,
 * --pods-per-node pods per node (a DaemonSet pod on every node, the rest
 * Deployment pods spread over team namespaces), services, endpoints and
 * configmaps, all realistically sized (a pod is about 4 KiB of JSON, with
 * managedFields, probes, volumes and container statuses, as kubelets make
 * them); and churn: pod status updates at a given rate so that watches
 * carry events. Objects go through the store's create path. */
#ifndef BN_SIM_GEN_H
#define BN_SIM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "bn_sim_store.h"

struct bn_sim_gen_opts {
    uint64_t nodes;
    uint64_t pods_per_node;
    int64_t now_s; /* creationTimestamp and status times */
};

/* Populates <s>. 0, or -1 with <err>. */
int bn_sim_gen_cluster(struct bn_sim_store *s, const struct bn_sim_gen_opts *o, char *err,
                       size_t errlen) __attribute__((warn_unused_result));

/* Updates <n> pods chosen with <rng> (a kubelet's status heartbeat: a new
 * condition probe time and an annotation). Returns the number written. */
size_t bn_sim_gen_churn(struct bn_sim_store *s, uint64_t *rng, size_t n, int64_t now_s);

/* "node-00042": the name of generated node <i>. */
void bn_sim_gen_node_name(uint64_t i, char *out, size_t len);

#endif /* BN_SIM_GEN_H */
