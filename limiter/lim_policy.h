/* Policy: ordered rules that send a request to a class, like APF's
 * FlowSchemas -> PriorityLevels, and the budgets of each class. Built once
 * (by conf/ from JSON, or by tests) through the functions below, then
 * immutable and shared by every worker thread. */
#ifndef LIM_POLICY_H
#define LIM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lim_identity.h"
#include "lim_request.h"

/* Rates are integers in milli-tokens per second: "10/s" = 10000,
 * "600/m" = 10000, "1/m" = 17 (rounded). 0 means "no such bucket". */
#define LIM_MT_PER_TOKEN  1000u
#define LIM_RATE_MAX_MTPS (1000000000ull * LIM_MT_PER_TOKEN) /* 1e9 tokens/s */

enum lim_mode {
    LIM_MODE_ENFORCE = 0, /* reject (or delay) what is over budget */
    LIM_MODE_DRY_RUN,     /* admit everything, count what would be rejected */
    LIM_MODE_EXEMPT,      /* never limited, always counted (break-glass) */
    LIM_MODE_COUNT
};

/* Which requests of a class share a per-key bucket and per-key caps. */
enum lim_dist {
    LIM_DIST_NONE = 0,  /* the whole class is one key */
    LIM_DIST_USER,      /* the authenticated user name */
    LIM_DIST_NAMESPACE, /* the request's namespace ("" for cluster scope) */
    LIM_DIST_NODE,      /* the identity's node; the user when it has none */
    LIM_DIST_COUNT
};

/* What a request weighs. Tokens are charged to buckets, seats are held in
 * the concurrency caps while the request is in flight. Bytes are the honest
 * unit of a LIST's cost (it is CPU and memory to serialise them whether the
 * watch cache or etcd serves it), so a LIST's tokens and seats grow with the
 * response size learned for that resource; a consistent read (RV unset,
 * continue, Exact) adds etcd's share on top. */
struct lim_cost_params {
    uint32_t base_mt;            /* get, mutations, non-resource: 1000 */
    uint32_t bytes_per_token;    /* LIST bytes that weigh one more token */
    uint32_t etcd_extra_pct;     /* extra % of the unfiltered size for etcd reads */
    uint32_t max_tokens;         /* cap on one request's tokens */
    uint32_t seat_bytes;         /* LIST bytes that hold one more seat */
    uint32_t max_seats;          /* cap on one request's seats (APF: 10) */
    uint32_t default_list_bytes; /* assumed size before anything is learned */
};

struct lim_class_params {
    const char *name; /* unique; copied */
    enum lim_mode mode;
    enum lim_dist dist;
    uint64_t rate_mtps;             /* per key; 0 = no per-key bucket */
    uint32_t burst;                 /* tokens, >= 1 when rate_mtps > 0 */
    uint64_t class_rate_mtps;       /* whole class; 0 = none */
    uint32_t class_burst;           /* tokens */
    uint32_t concurrency_share_pct; /* of each global pool; 0 = global cap only */
    uint32_t max_inflight_per_key;  /* 0 = unlimited */
    uint32_t max_watches_per_key;   /* open watches; 0 = unlimited */
    uint32_t max_watches;           /* open watches of the whole class; 0 = unlimited */
    uint64_t watch_rate_mtps;       /* watch establishment per key; 0 = none */
    uint32_t watch_burst;
    uint64_t max_wait_ns; /* delay instead of reject below this deficit; 0 = never */
    struct lim_cost_params cost;
};

/* A rule matches when its subject matches AND its request part matches.
 * Subject: any of users / groups / service_accounts matches (all empty: any
 * subject), and the credential kind is in cred_mask (0: any).
 * Request part, with verb_mask (bit 1u << LIM_VERB_*; 0: any verb):
 *  - resources and non_resource both empty: every request;
 *  - a resource request needs a resources entry ("pods", "pods/log", "*",
 *    or a star, a slash and a subresource for that subresource of anything), an api_groups entry if
 * any are given ("" = core, "*"), and a namespace: a namespaced request needs a namespaces entry
 * (or "*") when namespaces are given; a cluster-scoped one needs cluster_scope when namespaces are
 * given;
 *  - a non-resource request needs a non_resource entry: exact, "*", or a
 *    prefix ending in a slash and a star.
 * Strings "*" match anything. All lists are copied. */
struct lim_rule_params {
    const char *class_name;
    const char *const *users;
    size_t nusers;
    const char *const *groups;
    size_t ngroups;
    const char *const *service_accounts; /* "NS/NAME"; NAME "*" = any in NS */
    size_t nservice_accounts;
    unsigned cred_mask; /* bit 1u << LIM_CRED_* */
    uint32_t verb_mask;
    const char *const *api_groups;
    size_t napi_groups;
    const char *const *resources;
    size_t nresources;
    const char *const *namespaces;
    size_t nnamespaces;
    bool cluster_scope;
    const char *const *non_resource;
    size_t nnon_resource;
};

/* Budgets shared by all classes. */
struct lim_global_params {
    uint32_t max_inflight_readonly; /* kube-apiserver --max-requests-inflight: 400 */
    uint32_t max_inflight_mutating; /* --max-mutating-requests-inflight: 200 */
    uint32_t reserved_seats;        /* of each pool, kept for exempt classes */
    uint32_t max_watches;           /* open watches, all classes; 0 = unlimited */
    uint64_t watch_rate_mtps;       /* watch establishment, all classes; 0 = none */
    uint32_t watch_burst;
    uint32_t retry_after_max_s;  /* Retry-After is clamped to [1, this] */
    uint32_t retry_jitter_pct;   /* Retry-After += up to this % (at least +1 s) */
    struct lim_cost_params cost; /* defaults for classes */
};

struct lim_policy;

/* Fills <g> with floodgate's defaults (400/200 seats as kube-apiserver, ...). */
void lim_global_defaults(struct lim_global_params *g);
/* Fills <c> with the defaults for a class named <name> (borrowed). */
void lim_class_defaults(struct lim_class_params *c, const char *name,
                        const struct lim_global_params *g);

/* Builder. lim_policy_new copies <g>. Add classes, then rules (in match
 * order), then lim_policy_finish, which checks that every rule names a
 * defined class and that the last rule matches every request (a catch-all).
 * Each returns 0, or -1 with <err> naming the class or rule by index. */
struct lim_policy *lim_policy_new(const struct lim_global_params *g, char *err, size_t errlen);
int lim_policy_add_class(struct lim_policy *p, const struct lim_class_params *c, char *err,
                         size_t errlen) __attribute__((warn_unused_result));
int lim_policy_add_rule(struct lim_policy *p, const struct lim_rule_params *r, char *err,
                        size_t errlen) __attribute__((warn_unused_result));
int lim_policy_finish(struct lim_policy *p, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void lim_policy_free(struct lim_policy *p);

/* Read access, for summaries, explain and the admin plane. Pointers are
 * borrowed from <p>. */
const struct lim_global_params *lim_policy_global(const struct lim_policy *p);
size_t lim_policy_class_count(const struct lim_policy *p);
const struct lim_class_params *lim_policy_class(const struct lim_policy *p, size_t i);
int lim_policy_class_index(const struct lim_policy *p, const char *name); /* -1: none */
size_t lim_policy_rule_count(const struct lim_policy *p);
const struct lim_rule_params *lim_policy_rule(const struct lim_policy *p, size_t i);

/* Index of the first rule matching <id> and <r> (there always is one in a
 * finished policy). When <why> is not NULL, for each of the first <nwhy>
 * rules that did not match, why[k] receives a short reason ("user
 * system:node:n1 not in users/groups/service_accounts", "verb list not in
 * [get]") and *<nmiss> their count. */
size_t lim_policy_match(const struct lim_policy *p, const struct lim_identity *id,
                        const struct lim_request *r, char (*why)[128], size_t nwhy, size_t *nmiss);

const char *lim_mode_name(enum lim_mode m); /* "enforce", "dry-run", "exempt" */
int lim_mode_from_name(const char *name);   /* -1: unknown */
const char *lim_dist_name(enum lim_dist d); /* "none", "user", "namespace", "node" */
int lim_dist_from_name(const char *name);   /* -1: unknown */

#endif /* LIM_POLICY_H */
