/* The layout of a policy, shared by the policy builder (lim_policy.c) and
 * the decision (lim_decide.c): classes carry their precomputed buckets and
 * the state slot lim_bind gave them. Private to limiter/. */
#ifndef LIM_POLICY_INT_H
#define LIM_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lim_bucket.h"
#include "lim_policy.h"

struct lim_class {
    struct lim_class_params p; /* p.name owned */
    uint32_t slot;             /* state slot in the bound limiter */
    struct lim_rate rate;      /* per key; ns_per_token 0 = none */
    struct lim_rate class_rate;
    struct lim_rate watch_rate;
    uint32_t seat_cap[2]; /* ceil(pool * share / 100) by pool; 0 = global cap only */
    uint32_t seat_max[2]; /* the widest a request may be unshed: pool_cap, or seat_cap below it */
    /* What most requests weigh (lim_cost_base_mt), and how far it moves
     * the key and the class bucket unshed (lim_rate_take_ns), precomputed. */
    uint64_t base_mt;
    uint64_t base_take_ns[2]; /* LIM_TAKE_KEY, LIM_TAKE_CLASS */
};

enum { LIM_TAKE_KEY = 0, LIM_TAKE_CLASS };

struct lim_rule {
    struct lim_rule_params p; /* every string and list owned */
    size_t class_index;
    const struct lim_class *cls; /* &classes[class_index], once finished */
    bool subject_any;            /* no users, groups, service accounts, cred_mask */
    bool request_any;            /* no resources, no non_resource */
    bool match_all;              /* request_any and no verb_mask: every request */
};

struct lim_policy {
    struct lim_global_params g;
    struct lim_rate gwatch_rate;
    uint32_t pool_cap[2]; /* seats of each pool that non-exempt requests may use */
    struct lim_class *classes;
    size_t nclasses, classes_cap;
    struct lim_rule *rules;
    size_t nrules, rules_cap;
    bool finished;
    const void *bound_to; /* the struct lim of lim_bind */
    uint64_t gen;         /* != 0 once bound: key of identities' match cache */
    uint64_t all_mask;    /* bit i: rule i (< 64) is match_all */
};

/* lim_policy_match_cached's general case (lim_match.c). */
size_t lim_policy_match_masked(const struct lim_policy *p, struct lim_identity *id,
                               const struct lim_request *r);

/* lim_policy_match, with the subject part of the first 64 rules cached in
 * <id> for this policy's generation (when bound). Same result. Inline for
 * the common case: the cache is fresh and the first rule whose subject
 * matches <id> matches every request, so <r> need not be looked at. */
static inline size_t
lim_policy_match_cached(const struct lim_policy *p, struct lim_identity *id,
                        const struct lim_request *r)
{
    /* An identity never cached for a bound policy has gen 0 and an empty
     * mask, so an unbound policy (gen 0) falls through too. */
    if (id->match_gen == p->gen) {
        uint64_t all = id->match_mask & p->all_mask;

        if (all != 0 && (id->match_mask & ((all & -all) - 1)) == 0) {
            return (size_t)__builtin_ctzll(all);
        }
    }
    return lim_policy_match_masked(p, id, r);
}

#endif /* LIM_POLICY_INT_H */
