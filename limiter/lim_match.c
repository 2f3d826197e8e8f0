/* Rule matching, as APF matches FlowSchemas (k8s.io/apiserver
 * pkg/util/flowcontrol/rule.go): the first rule whose subject and request
 * parts both match wins. The subject part depends only on the identity, so
 * lim_decide caches it in the identity as a bit mask for the first 64 rules
 * of a bound policy; the request part is evaluated for every request. */
#include "lim_policy.h"

#include <stdio.h>
#include <string.h>

#include "lim_policy_int.h"

#define WHY_LEN 128

static bool subject_matches(const struct lim_rule *ru, const struct lim_identity *id, char *why);
static bool request_matches(const struct lim_rule *ru, const struct lim_request *r, char *why);
static uint64_t subject_mask(const struct lim_policy *p, const struct lim_identity *id);

size_t
lim_policy_match(const struct lim_policy *p, const struct lim_identity *id,
                 const struct lim_request *r, char (*why)[128], size_t nwhy, size_t *nmiss)
{
    size_t i, misses = 0;

    for (i = 0; i < p->nrules; i++) {
        const struct lim_rule *ru = &p->rules[i];
        char *w = why != NULL && misses < nwhy ? why[misses] : NULL;

        if (subject_matches(ru, id, w) && request_matches(ru, r, w)) {
            break;
        }
        misses++;
    }
    if (nmiss != NULL) {
        *nmiss = misses < nwhy ? misses : nwhy;
    }
    /* A finished policy ends with a catch-all; an unfinished one has none. */
    return i < p->nrules ? i : p->nrules - 1;
}

size_t
lim_policy_match_masked(const struct lim_policy *p, struct lim_identity *id,
                        const struct lim_request *r)
{
    uint64_t mask;
    size_t i;

    if (p->gen != 0 && id->match_gen == p->gen) {
        mask = id->match_mask;
    } else {
        mask = subject_mask(p, id);
        if (p->gen != 0) {
            id->match_gen = p->gen;
            id->match_mask = mask;
        }
    }
    while (mask != 0) {
        i = (size_t)__builtin_ctzll(mask);
        if (p->rules[i].match_all || request_matches(&p->rules[i], r, NULL)) {
            return i;
        }
        mask &= mask - 1;
    }
    for (i = 64; i < p->nrules; i++) {
        if (subject_matches(&p->rules[i], id, NULL) && request_matches(&p->rules[i], r, NULL)) {
            return i;
        }
    }
    return p->nrules - 1;
}

static uint64_t
subject_mask(const struct lim_policy *p, const struct lim_identity *id)
{
    uint64_t mask = 0;
    size_t i, n = p->nrules < 64 ? p->nrules : 64;

    for (i = 0; i < n; i++) {
        if (subject_matches(&p->rules[i], id, NULL)) {
            mask |= 1ull << i;
        }
    }
    return mask;
}

static bool
in_list(const char *s, const char *const *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(v[i], "*") == 0 || strcmp(v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* "[a,b,c]", truncated to fit <len>. */
static const char *
fmt_list(char *buf, size_t len, const char *const *v, size_t n)
{
    size_t i, used = 1;

    snprintf(buf, len, "[");
    for (i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s\"%s\"", i ? "," : "", v[i]);

        used += w > 0 ? (size_t)w : 0;
    }
    if (used < len) {
        snprintf(buf + used, len - used, "]");
    }
    return buf;
}

static bool
subject_matches(const struct lim_rule *ru, const struct lim_identity *id, char *why)
{
    const struct lim_rule_params *rp = &ru->p;
    size_t i, k;

    if (rp->cred_mask != 0 && !(rp->cred_mask & (1u << id->cred))) {
        if (why != NULL) {
            snprintf(why, WHY_LEN, "credential kind %s not in the rule's cred_mask",
                     lim_cred_name(id->cred));
        }
        return false;
    }
    if (rp->nusers == 0 && rp->ngroups == 0 && rp->nservice_accounts == 0) {
        return true;
    }
    if (in_list(id->user, rp->users, rp->nusers)) {
        return true;
    }
    for (i = 0; i < rp->ngroups; i++) {
        if (strcmp(rp->groups[i], "*") == 0) {
            return true;
        }
        for (k = 0; k < id->ngroups; k++) {
            if (strcmp(rp->groups[i], id->groups[k]) == 0) {
                return true;
            }
        }
    }
    for (i = 0; i < rp->nservice_accounts && id->sa_namespace[0] != '\0'; i++) {
        const char *sa = rp->service_accounts[i], *slash = strchr(sa, '/');
        size_t nslen = (size_t)(slash - sa);

        if (strlen(id->sa_namespace) == nslen && memcmp(sa, id->sa_namespace, nslen) == 0 &&
            (strcmp(slash + 1, "*") == 0 || strcmp(slash + 1, id->sa_name) == 0)) {
            return true;
        }
    }
    if (why != NULL) {
        snprintf(why, WHY_LEN, "user %.60s not in users/groups/service_accounts", id->user);
    }
    return false;
}

/* "pods" matches pods itself, "pods/log" its subresource, "*" anything and
 * "*\/status" the status subresource of anything. */
static bool
resource_matches(const struct lim_rule_params *rp, const struct lim_request *r)
{
    size_t i, rlen = strlen(r->resource);

    for (i = 0; i < rp->nresources; i++) {
        const char *e = rp->resources[i];

        if (strcmp(e, "*") == 0) {
            return true;
        }
        if (r->subresource[0] == '\0') {
            if (strcmp(e, r->resource) == 0) {
                return true;
            }
            continue;
        }
        if (e[0] == '*' && e[1] == '/') {
            if (strcmp(e + 2, r->subresource) == 0) {
                return true;
            }
        } else if (strncmp(e, r->resource, rlen) == 0 && e[rlen] == '/' &&
                   strcmp(e + rlen + 1, r->subresource) == 0) {
            return true;
        }
    }
    return false;
}

static bool
non_resource_matches(const struct lim_rule_params *rp, const char *path)
{
    size_t i;

    for (i = 0; i < rp->nnon_resource; i++) {
        const char *e = rp->non_resource[i];
        size_t len = strlen(e);

        if (strcmp(e, "*") == 0 || strcmp(e, path) == 0) {
            return true;
        }
        if (len >= 2 && e[len - 1] == '*' && strncmp(e, path, len - 1) == 0) {
            return true;
        }
    }
    return false;
}

static bool
resource_request_matches(const struct lim_rule_params *rp, const struct lim_request *r, char *why)
{
    char list[96];

    if (rp->nresources == 0) {
        if (why != NULL) {
            snprintf(why, WHY_LEN, "resource request; the rule has non_resource paths only");
        }
        return false;
    }
    if (!resource_matches(rp, r)) {
        if (why != NULL) {
            snprintf(why, WHY_LEN, "resource %.24s%s%.24s not in %s", r->resource,
                     r->subresource[0] ? "/" : "", r->subresource,
                     fmt_list(list, sizeof(list), rp->resources, rp->nresources));
        }
        return false;
    }
    if (rp->napi_groups != 0 && !in_list(r->api_group, rp->api_groups, rp->napi_groups)) {
        if (why != NULL) {
            snprintf(why, WHY_LEN, "api group \"%.32s\" not in %s", r->api_group,
                     fmt_list(list, sizeof(list), rp->api_groups, rp->napi_groups));
        }
        return false;
    }
    if (rp->nnamespaces == 0) {
        return true;
    }
    if (r->ns[0] == '\0') {
        if (!rp->cluster_scope && why != NULL) {
            snprintf(why, WHY_LEN, "cluster-scoped request; the rule has no cluster_scope");
        }
        return rp->cluster_scope;
    }
    if (!in_list(r->ns, rp->namespaces, rp->nnamespaces)) {
        if (why != NULL) {
            snprintf(why, WHY_LEN, "namespace %.32s not in %s", r->ns,
                     fmt_list(list, sizeof(list), rp->namespaces, rp->nnamespaces));
        }
        return false;
    }
    return true;
}

static bool
request_matches(const struct lim_rule *ru, const struct lim_request *r, char *why)
{
    const struct lim_rule_params *rp = &ru->p;
    char list[96];

    if (rp->verb_mask != 0 && !(rp->verb_mask & (1u << r->verb))) {
        if (why != NULL) {
            size_t v, used = 0;

            for (v = 0; v < LIM_VERB_COUNT && used < sizeof(list); v++) {
                if (rp->verb_mask & (1u << v)) {
                    int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "",
                                     lim_verb_name((enum lim_verb)v));

                    used += w > 0 ? (size_t)w : 0;
                }
            }
            snprintf(why, WHY_LEN, "verb %s not in [%s]", lim_verb_name(r->verb), list);
        }
        return false;
    }
    if (ru->request_any) {
        return true;
    }
    if (r->is_resource) {
        return resource_request_matches(rp, r, why);
    }
    if (!non_resource_matches(rp, r->path)) {
        if (why != NULL) {
            if (rp->nnon_resource == 0) {
                snprintf(why, WHY_LEN, "non-resource path %.64s; the rule has resources only",
                         r->path);
            } else {
                snprintf(why, WHY_LEN, "path %.48s not in %s", r->path,
                         fmt_list(list, sizeof(list), rp->non_resource, rp->nnon_resource));
            }
        }
        return false;
    }
    return true;
}
