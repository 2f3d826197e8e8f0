/* Discovery as kubectl and client-go read it: /version, /api, /api/v1,
 * /apis and the groups served (coordination.k8s.io/v1,
 * authentication.k8s.io/v1), in the legacy (unaggregated) shape with
 * Content-Type application/json, which clients asking for aggregated
 * discovery (apidiscovery.k8s.io/v2) accept and fall back from. Built once
 * from the resource table. */
#ifndef BN_SIM_DISCOVERY_H
#define BN_SIM_DISCOVERY_H

#include <stddef.h>

struct bn_sim_discovery;

/* <server_address> is what /api advertises for serverAddressByClientCIDRs. */
struct bn_sim_discovery *bn_sim_discovery_new(const char *server_address);
void bn_sim_discovery_free(struct bn_sim_discovery *d);

/* The JSON document served at <path> (a GET), or NULL when none is. */
const char *bn_sim_discovery_get(const struct bn_sim_discovery *d, const char *path, size_t *len);

#endif /* BN_SIM_DISCOVERY_H */
