/* The resources the simulator serves, described once: names, kinds, group,
 * scope, short names, and the field labels kube-apiserver accepts in a
 * fieldSelector for each (pkg/registry/.../strategy.go *ToSelectableFields).
 * Discovery, routing, the store and the generator all read this table. */
#ifndef BN_SIM_RESOURCE_H
#define BN_SIM_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>

enum bn_sim_res {
    BN_SIM_RES_NAMESPACES = 0,
    BN_SIM_RES_NODES,
    BN_SIM_RES_PODS,
    BN_SIM_RES_SERVICES,
    BN_SIM_RES_ENDPOINTS,
    BN_SIM_RES_CONFIGMAPS,
    BN_SIM_RES_LEASES,
    BN_SIM_RES_DEPLOYMENTS,
    BN_SIM_RES_PODDISRUPTIONBUDGETS,
    BN_SIM_RES_COUNT
};

#define BN_SIM_MAX_FIELDS 8 /* selectable fields per resource, metadata.* included */

struct bn_sim_resdef {
    const char *name;        /* plural, as in URLs: "pods" */
    const char *singular;    /* "pod" */
    const char *kind;        /* "Pod" */
    const char *list_kind;   /* "PodList" */
    const char *group;       /* "" for the core group */
    const char *version;     /* "v1" */
    const char *api_version; /* "v1" or "coordination.k8s.io/v1" */
    bool namespaced;
    const char *short_names[3]; /* NULL-terminated */
    /* JSON paths (dotted) of the selectable fields besides metadata.name and
     * metadata.namespace; NULL-terminated. */
    const char *fields[BN_SIM_MAX_FIELDS - 2 + 1];
};

const struct bn_sim_resdef *bn_sim_resdef(enum bn_sim_res r);

/* The resource served at <group>/<version>/<name>, or -1. */
int bn_sim_res_find(const char *group, const char *version, const char *name);

#endif /* BN_SIM_RESOURCE_H */
