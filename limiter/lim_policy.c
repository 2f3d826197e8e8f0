/* Policy builder: copies classes and rules in, checks them, and precomputes
 * what the decision needs (buckets, seat caps). Matching is in lim_match.c.
 * Defaults mirror kube-apiserver (--max-requests-inflight 400,
 * --max-mutating-requests-inflight 200) and APF's size-based LIST estimate
 * (a seat per 100 KB, at most 10 seats). */
#include "lim_policy.h"

#include <stdlib.h>
#include <string.h>

#include "lim.h"
#include "lim_cost.h"
#include "lim_err.h"
#include "lim_policy_int.h"

#define KIB 1024u

#define MAX_TOKENS_MAX  1000000u /* one request never weighs more than 1e6 tokens */
#define MAX_SEATS_MAX   1000u    /* ticket seats are 16 bits; APF caps at 10..100 */
#define ETCD_EXTRA_MAX  1000u    /* % */
#define RETRY_AFTER_MAX 3600u    /* s */
#define CLASS_NAME_MAX  253u

static void free_rule(struct lim_rule *ru);
static int check_cost(const struct lim_cost_params *c, const char *what, char *err, size_t errlen);
static int check_rate(uint64_t rate_mtps, uint32_t burst, struct lim_rate *out, const char *what,
                      const char *name, char *err, size_t errlen);
static const char *const *dup_list(const char *const *v, size_t n, int *failed);
static int check_list(const char *const *v, size_t n, const char *what, size_t rule, char *err,
                      size_t errlen);
static int check_rule_lists(const struct lim_rule_params *r, size_t i, char *err, size_t errlen);

void
lim_global_defaults(struct lim_global_params *g)
{
    memset(g, 0, sizeof(*g));
    g->max_inflight_readonly = 400;
    g->max_inflight_mutating = 200;
    g->reserved_seats = 10;
    g->max_watches = 0;
    g->watch_rate_mtps = 0;
    g->watch_burst = 0;
    g->retry_after_max_s = 30;
    g->retry_jitter_pct = 50;
    g->cost.base_mt = LIM_MT_PER_TOKEN;
    g->cost.bytes_per_token = 100 * KIB;
    g->cost.etcd_extra_pct = 100;
    g->cost.max_tokens = 100;
    g->cost.seat_bytes = 100 * KIB;
    g->cost.max_seats = 10;
    g->cost.default_list_bytes = 64 * KIB;
}

void
lim_class_defaults(struct lim_class_params *c, const char *name, const struct lim_global_params *g)
{
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->mode = LIM_MODE_ENFORCE;
    c->dist = LIM_DIST_USER;
    c->cost = g->cost;
}

struct lim_policy *
lim_policy_new(const struct lim_global_params *g, char *err, size_t errlen)
{
    struct lim_policy *p;

    if (g->max_inflight_readonly == 0 || g->max_inflight_mutating == 0) {
        lim_errf(err, errlen,
                 "global: max_inflight_readonly and max_inflight_mutating "
                 "must be >= 1");
        return NULL;
    }
    if (g->reserved_seats >= g->max_inflight_readonly ||
        g->reserved_seats >= g->max_inflight_mutating) {
        lim_errf(err, errlen, "global: reserved_seats %u must be below both pools (%u, %u)",
                 g->reserved_seats, g->max_inflight_readonly, g->max_inflight_mutating);
        return NULL;
    }
    if (g->retry_after_max_s == 0 || g->retry_after_max_s > RETRY_AFTER_MAX) {
        lim_errf(err, errlen, "global: retry_after_max_s must be 1..%u, got %u", RETRY_AFTER_MAX,
                 g->retry_after_max_s);
        return NULL;
    }
    if (g->retry_jitter_pct > 100) {
        lim_errf(err, errlen, "global: retry_jitter_pct must be 0..100, got %u",
                 g->retry_jitter_pct);
        return NULL;
    }
    if (check_cost(&g->cost, "global", err, errlen) != 0) {
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        lim_errf(err, errlen, "policy: out of memory");
        return NULL;
    }
    p->g = *g;
    if (g->watch_rate_mtps != 0 && check_rate(g->watch_rate_mtps, g->watch_burst, &p->gwatch_rate,
                                              "watch_rate", NULL, err, errlen) != 0) {
        goto fail;
    }
    p->pool_cap[LIM_KIND_READONLY] = g->max_inflight_readonly - g->reserved_seats;
    p->pool_cap[LIM_KIND_MUTATING] = g->max_inflight_mutating - g->reserved_seats;
    return p;

fail:
    lim_policy_free(p);
    return NULL;
}

void
lim_policy_free(struct lim_policy *p)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->nclasses; i++) {
        free((char *)p->classes[i].p.name);
    }
    for (i = 0; i < p->nrules; i++) {
        free_rule(&p->rules[i]);
    }
    free(p->classes);
    free(p->rules);
    free(p);
}

int
lim_policy_add_class(struct lim_policy *p, const struct lim_class_params *c, char *err,
                     size_t errlen)
{
    size_t i = p->nclasses;
    struct lim_class k;
    const char *name = c->name != NULL ? c->name : "";

    memset(&k, 0, sizeof(k));
    if (p->finished) {
        lim_errf(err, errlen, "class %zu (%s): the policy is already finished", i, name);
        return -1;
    }
    if (name[0] == '\0' || strlen(name) > CLASS_NAME_MAX) {
        lim_errf(err, errlen, "class %zu: name must be 1..%u bytes", i, CLASS_NAME_MAX);
        return -1;
    }
    if (lim_policy_class_index(p, name) >= 0) {
        lim_errf(err, errlen, "class %zu (%s): name already used", i, name);
        return -1;
    }
    if (i >= LIM_MAX_CLASSES) {
        lim_errf(err, errlen, "class %zu (%s): more than %d classes", i, name, LIM_MAX_CLASSES);
        return -1;
    }
    if ((unsigned)c->mode >= LIM_MODE_COUNT || (unsigned)c->dist >= LIM_DIST_COUNT) {
        lim_errf(err, errlen, "class %zu (%s): unknown mode %d or distinguisher %d", i, name,
                 (int)c->mode, (int)c->dist);
        return -1;
    }
    if (c->concurrency_share_pct > 100) {
        lim_errf(err, errlen, "class %zu (%s): concurrency_share_pct must be 0..100, got %u", i,
                 name, c->concurrency_share_pct);
        return -1;
    }
    if (c->max_wait_ns > LIM_BUCKET_WINDOW_MAX_NS) {
        lim_errf(err, errlen, "class %zu (%s): max_wait_ns above 2^53 ns (104 days)", i, name);
        return -1;
    }
    if ((c->rate_mtps != 0 &&
         check_rate(c->rate_mtps, c->burst, &k.rate, "rate", name, err, errlen) != 0) ||
        (c->class_rate_mtps != 0 && check_rate(c->class_rate_mtps, c->class_burst, &k.class_rate,
                                               "class_rate", name, err, errlen) != 0) ||
        (c->watch_rate_mtps != 0 && check_rate(c->watch_rate_mtps, c->watch_burst, &k.watch_rate,
                                               "watch_rate", name, err, errlen) != 0) ||
        check_cost(&c->cost, name, err, errlen) != 0) {
        return -1;
    }
    if (p->nclasses == p->classes_cap) {
        size_t cap = p->classes_cap ? p->classes_cap * 2 : 8;
        struct lim_class *v = realloc(p->classes, cap * sizeof(*v));

        if (v == NULL) {
            lim_errf(err, errlen, "class %zu (%s): out of memory", i, name);
            return -1;
        }
        p->classes = v;
        p->classes_cap = cap;
    }
    k.base_mt = lim_cost_base_mt(&c->cost);
    k.base_take_ns[LIM_TAKE_KEY] = k.rate.ns_per_token ? lim_rate_take_ns(&k.rate, k.base_mt) : 0;
    k.base_take_ns[LIM_TAKE_CLASS] =
        k.class_rate.ns_per_token ? lim_rate_take_ns(&k.class_rate, k.base_mt) : 0;
    k.p = *c;
    k.p.name = strdup(name);
    if (k.p.name == NULL) {
        lim_errf(err, errlen, "class %zu (%s): out of memory", i, name);
        return -1;
    }
    p->classes[p->nclasses++] = k;
    return 0;
}

int
lim_policy_add_rule(struct lim_policy *p, const struct lim_rule_params *r, char *err, size_t errlen)
{
    size_t i = p->nrules;
    struct lim_rule ru;
    int failed = 0;

    if (p->finished) {
        lim_errf(err, errlen, "rule %zu: the policy is already finished", i);
        return -1;
    }
    if (r->class_name == NULL || r->class_name[0] == '\0') {
        lim_errf(err, errlen, "rule %zu: no class", i);
        return -1;
    }
    if (r->verb_mask >= (1u << LIM_VERB_COUNT) || r->cred_mask >= (1u << LIM_CRED_COUNT)) {
        lim_errf(err, errlen, "rule %zu: verb_mask 0x%x or cred_mask 0x%x has unknown bits", i,
                 r->verb_mask, r->cred_mask);
        return -1;
    }
    if (check_rule_lists(r, i, err, errlen) != 0) {
        return -1;
    }
    if (p->nrules == p->rules_cap) {
        size_t cap = p->rules_cap ? p->rules_cap * 2 : 8;
        struct lim_rule *v = realloc(p->rules, cap * sizeof(*v));

        if (v == NULL) {
            lim_errf(err, errlen, "rule %zu: out of memory", i);
            return -1;
        }
        p->rules = v;
        p->rules_cap = cap;
    }
    memset(&ru, 0, sizeof(ru));
    ru.p = *r;
    ru.p.class_name = strdup(r->class_name);
    ru.p.users = dup_list(r->users, r->nusers, &failed);
    ru.p.groups = dup_list(r->groups, r->ngroups, &failed);
    ru.p.service_accounts = dup_list(r->service_accounts, r->nservice_accounts, &failed);
    ru.p.api_groups = dup_list(r->api_groups, r->napi_groups, &failed);
    ru.p.resources = dup_list(r->resources, r->nresources, &failed);
    ru.p.namespaces = dup_list(r->namespaces, r->nnamespaces, &failed);
    ru.p.non_resource = dup_list(r->non_resource, r->nnon_resource, &failed);
    if (failed || ru.p.class_name == NULL) {
        free_rule(&ru);
        lim_errf(err, errlen, "rule %zu: out of memory", i);
        return -1;
    }
    ru.subject_any =
        r->nusers == 0 && r->ngroups == 0 && r->nservice_accounts == 0 && r->cred_mask == 0;
    ru.request_any = r->nresources == 0 && r->nnon_resource == 0;
    ru.match_all = ru.request_any && r->verb_mask == 0;
    if (ru.match_all && p->nrules < 64) {
        p->all_mask |= 1ull << p->nrules;
    }
    p->rules[p->nrules++] = ru;
    return 0;
}

int
lim_policy_finish(struct lim_policy *p, char *err, size_t errlen)
{
    const struct lim_rule *last;
    size_t i, k;

    if (p->finished) {
        return 0;
    }
    if (p->nrules == 0) {
        lim_errf(err, errlen, "policy: no rules (the last rule must match every request)");
        return -1;
    }
    for (i = 0; i < p->nrules; i++) {
        int ci = lim_policy_class_index(p, p->rules[i].p.class_name);

        if (ci < 0) {
            lim_errf(err, errlen, "rule %zu: class \"%s\" is not defined", i,
                     p->rules[i].p.class_name);
            return -1;
        }
        p->rules[i].class_index = (size_t)ci;
        p->rules[i].cls = &p->classes[ci]; /* no class is added once finished */
    }
    last = &p->rules[p->nrules - 1];
    if (!last->subject_any || !last->request_any || last->p.verb_mask != 0) {
        lim_errf(err, errlen,
                 "rule %zu (the last): must match every request (no users, groups, "
                 "service_accounts, credential kinds, verbs, resources or non_resource)",
                 p->nrules - 1);
        return -1;
    }
    for (i = 0; i < p->nclasses; i++) {
        struct lim_class *c = &p->classes[i];
        uint32_t pool[2] = {p->g.max_inflight_readonly, p->g.max_inflight_mutating};

        for (k = 0; k < 2; k++) {
            uint64_t share = c->p.concurrency_share_pct;

            c->seat_cap[k] = share ? (uint32_t)(((uint64_t)pool[k] * share + 99) / 100) : 0;
            c->seat_max[k] = c->seat_cap[k] != 0 && c->seat_cap[k] < p->pool_cap[k]
                                 ? c->seat_cap[k]
                                 : p->pool_cap[k];
        }
    }
    p->finished = true;
    return 0;
}

static void
free_rule(struct lim_rule *ru)
{
    free((char *)ru->p.class_name);
    free((void *)ru->p.users);
    free((void *)ru->p.groups);
    free((void *)ru->p.service_accounts);
    free((void *)ru->p.api_groups);
    free((void *)ru->p.resources);
    free((void *)ru->p.namespaces);
    free((void *)ru->p.non_resource);
}

static int
check_cost(const struct lim_cost_params *c, const char *what, char *err, size_t errlen)
{
    if (c->bytes_per_token == 0 || c->seat_bytes == 0) {
        lim_errf(err, errlen, "%s: cost bytes_per_token and seat_bytes must be >= 1", what);
        return -1;
    }
    if (c->max_tokens == 0 || c->max_tokens > MAX_TOKENS_MAX) {
        lim_errf(err, errlen, "%s: cost max_tokens must be 1..%u, got %u", what, MAX_TOKENS_MAX,
                 c->max_tokens);
        return -1;
    }
    if (c->max_seats == 0 || c->max_seats > MAX_SEATS_MAX) {
        lim_errf(err, errlen, "%s: cost max_seats must be 1..%u, got %u", what, MAX_SEATS_MAX,
                 c->max_seats);
        return -1;
    }
    if (c->etcd_extra_pct > ETCD_EXTRA_MAX) {
        lim_errf(err, errlen, "%s: cost etcd_extra_pct must be 0..%u, got %u", what, ETCD_EXTRA_MAX,
                 c->etcd_extra_pct);
        return -1;
    }
    return 0;
}

static int
check_rate(uint64_t rate_mtps, uint32_t burst, struct lim_rate *out, const char *what,
           const char *name, char *err, size_t errlen)
{
    const char *who = name != NULL ? name : "global";

    if (rate_mtps > LIM_RATE_MAX_MTPS) {
        lim_errf(err, errlen, "%s: %s above 1e9 tokens/s", who, what);
        return -1;
    }
    if (burst == 0) {
        lim_errf(err, errlen, "%s: %s needs a burst >= 1", who, what);
        return -1;
    }
    if (lim_rate_init(out, rate_mtps, burst) != 0) {
        lim_errf(err, errlen,
                 "%s: %s burst %u at %llu milli-tokens/s takes more than 104 days to refill", who,
                 what, burst, (unsigned long long)rate_mtps);
        return -1;
    }
    return 0;
}

/* One allocation: the pointer array, then the strings. */
static const char *const *
dup_list(const char *const *v, size_t n, int *failed)
{
    size_t i, bytes = n * sizeof(char *);
    char **out;
    char *s;

    if (n == 0) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        bytes += strlen(v[i]) + 1;
    }
    out = malloc(bytes);
    if (out == NULL) {
        *failed = 1;
        return NULL;
    }
    s = (char *)(out + n);
    for (i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;

        memcpy(s, v[i], len);
        out[i] = s;
        s += len;
    }
    return (const char *const *)out;
}

static int
check_list(const char *const *v, size_t n, const char *what, size_t rule, char *err, size_t errlen)
{
    size_t i;

    if (n > 0 && v == NULL) {
        lim_errf(err, errlen, "rule %zu: %s: %zu entries but no list", rule, what, n);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (v[i] == NULL) {
            lim_errf(err, errlen, "rule %zu: %s[%zu] is NULL", rule, what, i);
            return -1;
        }
    }
    return 0;
}

static int
check_rule_lists(const struct lim_rule_params *r, size_t i, char *err, size_t errlen)
{
    size_t k;

    if (check_list(r->users, r->nusers, "users", i, err, errlen) != 0 ||
        check_list(r->groups, r->ngroups, "groups", i, err, errlen) != 0 ||
        check_list(r->service_accounts, r->nservice_accounts, "service_accounts", i, err, errlen) !=
            0 ||
        check_list(r->api_groups, r->napi_groups, "api_groups", i, err, errlen) != 0 ||
        check_list(r->resources, r->nresources, "resources", i, err, errlen) != 0 ||
        check_list(r->namespaces, r->nnamespaces, "namespaces", i, err, errlen) != 0 ||
        check_list(r->non_resource, r->nnon_resource, "non_resource", i, err, errlen) != 0) {
        return -1;
    }
    for (k = 0; k < r->nservice_accounts; k++) {
        const char *sa = r->service_accounts[k], *slash = strchr(sa, '/');

        if (slash == NULL || slash == sa || slash[1] == '\0' || strchr(slash + 1, '/')) {
            lim_errf(err, errlen, "rule %zu: service_accounts[%zu] \"%s\": expected NS/NAME", i, k,
                     sa);
            return -1;
        }
    }
    for (k = 0; k < r->nresources; k++) {
        if (r->resources[k][0] == '\0') {
            lim_errf(err, errlen, "rule %zu: resources[%zu] is empty", i, k);
            return -1;
        }
    }
    for (k = 0; k < r->nnon_resource; k++) {
        const char *u = r->non_resource[k], *star = strchr(u, '*');
        size_t len = strlen(u);

        /* APF's nonResourceURLs: "*", an exact path, or a prefix ending in a slash and a star. */
        if (strcmp(u, "*") != 0 &&
            (u[0] != '/' ||
             (star != NULL && (star != u + len - 1 || len < 2 || u[len - 2] != '/')))) {
            lim_errf(err, errlen,
                     "rule %zu: non_resource[%zu] \"%s\": expected \"*\", a path, or a "
                     "path ending in \"/*\"",
                     i, k, u);
            return -1;
        }
    }
    return 0;
}
