/* One revision of a stored object: immutable, reference-counted, kept
 * pre-serialised (compact JSON with its resourceVersion) so that LIST and
 * watch responses are concatenations of references, plus the facts the
 * store indexes and selects on (key, labels, selectable fields). The parsed
 * document is not kept: a pod costs its JSON bytes, not a jansson tree. */
#ifndef BN_SIM_OBJ_H
#define BN_SIM_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bn_sim_resource.h"

struct bn_sim_obj {
    uint32_t refs; /* single-threaded: the simulator runs one event loop */
    enum bn_sim_res res;
    uint64_t rv;
    const char *key; /* "ns/name", or "name" when cluster-scoped */
    const char *ns;  /* "" when cluster-scoped */
    const char *name;
    const char *uid;
    const char *labels; /* packed "k\0v\0...\0" */
    const char *fields; /* packed selectable fields, metadata.name/namespace first */
    const char *json;   /* compact JSON, NUL-terminated (json_len excludes it) */
    size_t json_len;
    size_t bytes; /* allocation size, for memory accounting */
    char data[];  /* every pointer above points in here */
};

/* A revision of <doc> (a valid object of resource <r> with metadata.name
 * set): metadata.resourceVersion is set to <rv> in <doc>, which is then
 * serialised. <doc> stays the caller's. The new revision has one reference.
 * NULL with <err> when a field does not fit or memory runs out. */
struct bn_sim_obj *bn_sim_obj_new(enum bn_sim_res r, json_t *doc, uint64_t rv, char *err,
                                  size_t errlen);

/* The same object at another resourceVersion (what a watch event carries
 * when an object leaves a watcher's selection: kube sends the previous
 * state with the event's RV). */
struct bn_sim_obj *bn_sim_obj_at_rv(const struct bn_sim_obj *o, uint64_t rv, char *err,
                                    size_t errlen);

/* The document of <o>, new reference (NULL when out of memory). */
json_t *bn_sim_obj_doc(const struct bn_sim_obj *o);

struct bn_sim_obj *bn_sim_obj_ref(struct bn_sim_obj *o);
void bn_sim_obj_unref(struct bn_sim_obj *o);

/* A nested member of <doc> by dotted <path> ("spec.nodeName"), or NULL. */
json_t *bn_sim_json_path(json_t *doc, const char *path);

#endif /* BN_SIM_OBJ_H */
