/* Resource table: see bn_sim_resource.h. */
#include "bn_sim_resource.h"

#include <string.h>

/* Field labels from kube's registry strategies: pods (pod/strategy.go
 * ToSelectableFields), nodes (spec.unschedulable), namespaces
 * (status.phase); every other resource has only the metadata fields. */
static const struct bn_sim_resdef defs[BN_SIM_RES_COUNT] = {
    [BN_SIM_RES_NAMESPACES] = {"namespaces",
                               "namespace",
                               "Namespace",
                               "NamespaceList",
                               "",
                               "v1",
                               "v1",
                               false,
                               {"ns", NULL},
                               {"status.phase", NULL}},
    [BN_SIM_RES_NODES] = {"nodes",
                          "node",
                          "Node",
                          "NodeList",
                          "",
                          "v1",
                          "v1",
                          false,
                          {"no", NULL},
                          {"spec.unschedulable", NULL}},
    [BN_SIM_RES_PODS] = {"pods",
                         "pod",
                         "Pod",
                         "PodList",
                         "",
                         "v1",
                         "v1",
                         true,
                         {"po", NULL},
                         {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                          "spec.serviceAccountName", "status.phase", "status.podIP", NULL}},
    [BN_SIM_RES_SERVICES] = {"services",
                             "service",
                             "Service",
                             "ServiceList",
                             "",
                             "v1",
                             "v1",
                             true,
                             {"svc", NULL},
                             {NULL}},
    [BN_SIM_RES_ENDPOINTS] = {"endpoints",
                              "endpoints",
                              "Endpoints",
                              "EndpointsList",
                              "",
                              "v1",
                              "v1",
                              true,
                              {"ep", NULL},
                              {NULL}},
    [BN_SIM_RES_CONFIGMAPS] = {"configmaps",
                               "configmap",
                               "ConfigMap",
                               "ConfigMapList",
                               "",
                               "v1",
                               "v1",
                               true,
                               {"cm", NULL},
                               {NULL}},
    [BN_SIM_RES_LEASES] = {"leases",
                           "lease",
                           "Lease",
                           "LeaseList",
                           "coordination.k8s.io",
                           "v1",
                           "coordination.k8s.io/v1",
                           true,
                           {NULL},
                           {NULL}},
    /* Stored as they come, so that workloads and manifests can be created
     * and client-side tools can map their kinds; nothing reconciles them. */
    [BN_SIM_RES_DEPLOYMENTS] = {"deployments",
                                "deployment",
                                "Deployment",
                                "DeploymentList",
                                "apps",
                                "v1",
                                "apps/v1",
                                true,
                                {"deploy", NULL},
                                {NULL}},
    [BN_SIM_RES_PODDISRUPTIONBUDGETS] = {"poddisruptionbudgets",
                                         "poddisruptionbudget",
                                         "PodDisruptionBudget",
                                         "PodDisruptionBudgetList",
                                         "policy",
                                         "v1",
                                         "policy/v1",
                                         true,
                                         {"pdb", NULL},
                                         {NULL}},
};

const struct bn_sim_resdef *
bn_sim_resdef(enum bn_sim_res r)
{
    return &defs[r];
}

int
bn_sim_res_find(const char *group, const char *version, const char *name)
{
    int i;

    for (i = 0; i < BN_SIM_RES_COUNT; i++) {
        if (strcmp(defs[i].group, group) == 0 && strcmp(defs[i].version, version) == 0 &&
            strcmp(defs[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}
