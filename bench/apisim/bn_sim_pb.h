/* Kubernetes protobuf request bodies (Content-Type
 * application/vnd.kubernetes.protobuf: "k8s\0" + runtime.Unknown), which
 * typed client-go clients send — kubectl create configmap does, leader
 * election updates leases so. Decodes the kinds those clients write
 * (ConfigMap, Namespace, Lease, DeleteOptions' preconditions) into the JSON
 * the store takes; fields the simulator does not model are skipped. Pure,
 * bounded by the body. */
#ifndef BN_SIM_PB_H
#define BN_SIM_PB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bn_sim_resource.h"

#define BN_SIM_PB_CTYPE "application/vnd.kubernetes.protobuf"

/* The JSON document of the protobuf object of resource <r> in <buf>. NULL
 * with <err> and *<code> 400 (malformed) or 415 (a kind not decoded here:
 * the client should send JSON). */
json_t *bn_sim_pb_object(enum bn_sim_res r, const uint8_t *buf, size_t len, int *code, char *err,
                         size_t errlen);

/* DeleteOptions: {"preconditions":{"uid":..,"resourceVersion":..}}. */
json_t *bn_sim_pb_delete_options(const uint8_t *buf, size_t len, int *code, char *err,
                                 size_t errlen);

#endif /* BN_SIM_PB_H */
