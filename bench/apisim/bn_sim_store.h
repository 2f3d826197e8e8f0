/* The simulator's in-memory "etcd + watch cache": objects per resource in
 * key order ("ns/name"), one global resourceVersion counter (etcd's
 * revision), a bounded event history per resource (the watch cache window;
 * older RVs are 410 Gone), LIST with selectors, limit and consistent
 * continue tokens (snapshots rebuilt from the history, as etcd's MVCC would
 * serve them), create/update/merge-patch/delete with kube's Status errors,
 * and watchers fed synchronously on every write. Pure: no I/O, no clock
 * (wall-clock seconds come in for creationTimestamp). Single-threaded. */
#ifndef BN_SIM_STORE_H
#define BN_SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bn_sim_obj.h"
#include "bn_sim_resource.h"
#include "bn_sim_select.h"

#define BN_SIM_CONTINUE_MAX 1024 /* bytes of an encoded continue token */

/* A kube metav1.Status to answer with (rendered by the HTTP layer). */
struct bn_sim_status {
    int code;           /* HTTP status */
    const char *reason; /* "NotFound", "AlreadyExists", "Conflict", "Expired", ... or "" */
    char message[512];
    char name[256];                 /* details.name, "" for none */
    const char *kind;               /* details.kind (resource plural), NULL for none */
    const char *group;              /* details.group, NULL or "" for none */
    char cont[BN_SIM_CONTINUE_MAX]; /* metadata.continue (410 on an old continue) */
    bool too_large_rv; /* details.causes ResourceVersionTooLarge, retryAfterSeconds 1 */
};

enum bn_sim_rv_mode {
    BN_SIM_RV_UNSET = 0, /* consistent read: the current state */
    BN_SIM_RV_ZERO,      /* any: the current state, from "the cache" */
    BN_SIM_RV_VALUE,     /* not older than rv (or exactly rv, see exact) */
};

struct bn_sim_query {
    const char *ns;   /* "" = all namespaces */
    const char *name; /* "" or one name (metadata.name field selector, single-object watch) */
    const struct bn_sim_selector *labels; /* NULL = everything */
    const struct bn_sim_selector *fields; /* NULL = everything; keys checked per resource */
    enum bn_sim_rv_mode rv_mode;
    uint64_t rv;
    bool exact;       /* resourceVersionMatch=Exact */
    uint64_t limit;   /* 0 = no limit */
    const char *cont; /* continue token, NULL or "" */
};

struct bn_sim_list_result {
    uint64_t rv;                    /* the list's resourceVersion */
    char cont[BN_SIM_CONTINUE_MAX]; /* "" when complete */
    int64_t remaining;              /* remainingItemCount, -1 when not known */
    size_t count;
};

enum bn_sim_ev { BN_SIM_EV_ADDED = 0, BN_SIM_EV_MODIFIED, BN_SIM_EV_DELETED };

/* Receives an object (borrowed for the call: take a reference to keep it). */
typedef void bn_sim_emit_fn(void *arg, struct bn_sim_obj *o);
typedef void bn_sim_event_fn(void *arg, enum bn_sim_ev type, struct bn_sim_obj *o);

struct bn_sim_store;
struct bn_sim_watcher;

struct bn_sim_store_stats {
    uint64_t rv;
    size_t objects[BN_SIM_RES_COUNT];
    size_t bytes; /* current objects plus revisions held by the histories */
    size_t watchers[BN_SIM_RES_COUNT];
    uint64_t events[BN_SIM_RES_COUNT];
};

/* A store keeping the last <window> events of each resource (>= 1). <seed>
 * makes UIDs and generated names reproducible. */
struct bn_sim_store *bn_sim_store_new(size_t window, uint64_t seed, char *err, size_t errlen);
/* Frees the store; watchers still registered are freed with it. */
void bn_sim_store_free(struct bn_sim_store *s);

uint64_t bn_sim_store_rv(const struct bn_sim_store *s);
void bn_sim_store_stats(const struct bn_sim_store *s, struct bn_sim_store_stats *out);

/* The current object, borrowed until the next write; NULL when absent. */
struct bn_sim_obj *bn_sim_store_get(const struct bn_sim_store *s, enum bn_sim_res r, const char *ns,
                                    const char *name);

/* The <i>th current object of <r> in key order (borrowed), or NULL. */
struct bn_sim_obj *bn_sim_store_nth(const struct bn_sim_store *s, enum bn_sim_res r, size_t i);

/* Objects a range read of <ns> ("" = all) would touch, and pods bound to
 * <node> (the watch cache's spec.nodeName index). */
size_t bn_sim_store_count(const struct bn_sim_store *s, enum bn_sim_res r, const char *ns);
size_t bn_sim_store_count_on_node(const struct bn_sim_store *s, const char *node);

/* Writes. <doc> is the request body, borrowed and modified (metadata
 * filled in). On success *<out> is the new revision (borrowed, as for get)
 * and 0 is returned; otherwise -1 with <st> set (400, 404, 409, 422, 500).
 * <now_s> stamps creationTimestamp. */
int bn_sim_store_create(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, json_t *doc,
                        int64_t now_s, struct bn_sim_obj **out, struct bn_sim_status *st)
    __attribute__((warn_unused_result));
int bn_sim_store_update(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *name,
                        json_t *doc, struct bn_sim_obj **out, struct bn_sim_status *st)
    __attribute__((warn_unused_result));
/* RFC 7386 JSON merge patch (strategic merge patches are applied the same
 * way: the simulated kinds have no list merge keys that matter here). */
int bn_sim_store_patch(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *name,
                       const char *patch, size_t len, struct bn_sim_obj **out,
                       struct bn_sim_status *st) __attribute__((warn_unused_result));
/* <uid>/<rv> are DeleteOptions preconditions (NULL or "" = none). Deleting a
 * namespace deletes what it contains first. *<out> is the final revision
 * (the DELETED event's object). */
int bn_sim_store_delete(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *name,
                        const char *uid, const char *rv, struct bn_sim_obj **out,
                        struct bn_sim_status *st) __attribute__((warn_unused_result));

/* LIST: calls <emit> for each selected object in key order. 0, or -1 with
 * <st> (400 bad continue/selector, 410 Expired, 504 too large RV). */
int bn_sim_store_list(const struct bn_sim_store *s, enum bn_sim_res r, const struct bn_sim_query *q,
                      bn_sim_emit_fn *emit, void *arg, struct bn_sim_list_result *res,
                      struct bn_sim_status *st) __attribute__((warn_unused_result));

/* Checks <q>'s selectors against <r>'s field labels ("field label not
 * supported: X", 400). */
int bn_sim_store_check_query(enum bn_sim_res r, const struct bn_sim_query *q,
                             struct bn_sim_status *st) __attribute__((warn_unused_result));

/* WATCH: when <initial>, <fn> first receives an ADDED event for every
 * selected current object; then the history after q->rv (BN_SIM_RV_VALUE;
 * otherwise the watch starts now); then every later write, until
 * bn_sim_store_unwatch. Objects entering or leaving the selection arrive as
 * ADDED or DELETED, as kube's cacheWatcher converts them. NULL with <st>:
 * 410 Expired (q->rv older than the window), 504 (q->rv in the future),
 * 400 (selectors). */
struct bn_sim_watcher *bn_sim_store_watch(struct bn_sim_store *s, enum bn_sim_res r,
                                          const struct bn_sim_query *q, bool initial,
                                          bn_sim_event_fn *fn, void *arg, struct bn_sim_status *st);
void bn_sim_store_unwatch(struct bn_sim_store *s, struct bn_sim_watcher *w);

/* Status helpers shared with the HTTP layer. */
void bn_sim_status_set(struct bn_sim_status *st, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "pods" or "leases.coordination.k8s.io": how kube names a resource in messages. */
const char *bn_sim_res_qualified(enum bn_sim_res r);

#endif /* BN_SIM_STORE_H */
