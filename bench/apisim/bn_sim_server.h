/* The simulator's server: one libevent loop serving TLS HTTP/1.1 on one
 * listener, with the store, the capacity model, authentication, metrics
 * and churn. Single-threaded on purpose: the model's order of events is
 * deterministic, and the simulated costs, not the box, set the latency
 * (see bench/apisim/README.md for the measured headroom). */
#ifndef BN_SIM_SERVER_H
#define BN_SIM_SERVER_H

#include <stddef.h>

#include "bn_sim_config.h"

struct bn_sim_server;
struct px_log;

/* Builds everything <cfg> describes (borrowed; must outlive the server):
 * TLS, keys, the generated cluster, the listener (bound, listening). NULL
 * with <err> on failure. */
struct bn_sim_server *bn_sim_server_new(const struct bn_sim_config *cfg, struct px_log *log,
                                        char *err, size_t errlen);
void bn_sim_server_free(struct bn_sim_server *s);

/* "127.0.0.1:40123": where it listens. */
const char *bn_sim_server_addr(const struct bn_sim_server *s);

/* Runs until bn_sim_server_stop (or SIGTERM/SIGINT when <signals>).
 * Returns 0 after a clean stop. */
int bn_sim_server_run(struct bn_sim_server *s, int signals);
void bn_sim_server_stop(struct bn_sim_server *s);

#endif /* BN_SIM_SERVER_H */
