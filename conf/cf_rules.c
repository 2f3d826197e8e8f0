/* "limits.rules": who and what goes to which class, in match order, like
 * APF's FlowSchemas (pkg/util/flowcontrol/rule.go). Every list entry is
 * checked against the shape kube gives that name, so that a typo ("gets",
 * "kube-system") fails at load instead of never matching. */
#include "cf_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum list {
    L_USERS = 0,
    L_GROUPS,
    L_SAS,
    L_CREDS,
    L_VERBS,
    L_API_GROUPS,
    L_RESOURCES,
    L_NAMESPACES,
    L_NON_RESOURCE,
    L_COUNT
};

static const char *const list_keys[L_COUNT] = {"users",       "groups",     "service_accounts",
                                               "credentials", "verbs",      "api_groups",
                                               "resources",   "namespaces", "non_resource_urls"};

static const char *const rule_keys[] = {
    "class",      "users",     "groups",     "service_accounts", "credentials",      "verbs",
    "api_groups", "resources", "namespaces", "cluster_scope",    "non_resource_urls"};

struct rule {
    char **l[L_COUNT];
    size_t n[L_COUNT];
    bool cluster_scope;
    const char *class_name;
};

static bool
in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

/* <s> made of [a-z0-9] and <extra>, 1..<max> bytes, alphanumeric at both ends. */
static bool
dns_like(const char *s, size_t n, size_t max, const char *extra)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t i;

    if (n == 0 || n > max || !in_set(s[0], alnum) || !in_set(s[n - 1], alnum)) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!in_set(s[i], alnum) && !in_set(s[i], extra)) {
            return false;
        }
    }
    return true;
}

static bool
label(const char *s, size_t n)
{
    return dns_like(s, n, 63, "-");
}

static bool
subdomain(const char *s, size_t n)
{
    return dns_like(s, n, 253, "-.");
}

/* "NS/NAME", or "NS/" and a star for any in NS (APF's ServiceAccountSubject). */
static bool
sa_valid(const char *s)
{
    const char *slash = strchr(s, '/');

    return slash != NULL && label(s, (size_t)(slash - s)) &&
           (strcmp(slash + 1, "*") == 0 || subdomain(slash + 1, strlen(slash + 1)));
}

/* A resource or resource/subresource (APF's ResourcePolicyRule), either part
 * possibly a star; or a star alone. */
static bool
resource_valid(const char *s)
{
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

    if (strcmp(s, "*") == 0) {
        return true;
    }
    if (!(n == 1 && s[0] == '*') && !subdomain(s, n)) {
        return false;
    }
    return slash == NULL || subdomain(slash + 1, strlen(slash + 1));
}

/* A path; a star only alone or as a whole last segment (APF's
 * NonResourcePolicyRule: exact, star, or a prefix then slash-star). */
static bool
non_resource_valid(const char *s)
{
    const char *star = strchr(s, '*');
    size_t n = strlen(s);

    if (strcmp(s, "*") == 0) {
        return true;
    }
    return s[0] == '/' && (star == NULL || (star == s + n - 1 && s[n - 2] == '/'));
}

static int
cred_bit(const char *s)
{
    int c;

    for (c = 0; c < LIM_CRED_COUNT; c++) {
        if (strcmp(lim_cred_name((enum lim_cred)c), s) == 0) {
            return c;
        }
    }
    return -1;
}

static const char *
entry_expected(enum list which)
{
    switch (which) {
    case L_SAS:
        return "\"NAMESPACE/NAME\" or \"NAMESPACE/*\"";
    case L_CREDS:
        return "one of \"certificate\", \"token\", \"unverified\", \"anonymous\"";
    case L_VERBS:
        return "a kube verb (get, list, watch, create, update, patch, delete, deletecollection, "
               "proxy, post, put, head, options) or \"*\"";
    case L_API_GROUPS:
        return "an API group (\"\" for the core group, \"apps\", \"*\")";
    case L_RESOURCES:
        return "a resource like \"pods\", \"pods/log\", \"*/status\" or \"*\"";
    case L_NAMESPACES:
        return "a namespace name or \"*\"";
    case L_NON_RESOURCE:
        return "a path like \"/healthz\", \"/apis/*\" or \"*\"";
    default:
        return "a non-empty string";
    }
}

static bool
entry_valid(enum list which, const char *s)
{
    size_t n = strlen(s);

    switch (which) {
    case L_SAS:
        return sa_valid(s);
    case L_CREDS:
        return cred_bit(s) >= 0;
    case L_VERBS:
        return strcmp(s, "*") == 0 || lim_verb_from_name(s) > 0;
    case L_API_GROUPS:
        return n == 0 || strcmp(s, "*") == 0 || subdomain(s, n);
    case L_RESOURCES:
        return resource_valid(s);
    case L_NAMESPACES:
        return strcmp(s, "*") == 0 || label(s, n);
    case L_NON_RESOURCE:
        return non_resource_valid(s);
    default:
        return n > 0;
    }
}

static int
read_lists(struct cf_ctx *x, const json_t *obj, struct rule *r)
{
    int w;

    for (w = 0; w < L_COUNT; w++) {
        size_t saved = cf_path_key(x, list_keys[w]), i;
        int rc = cf_read_strings(x, json_object_get(obj, list_keys[w]), CF_LIST_MAX, false,
                                 &r->l[w], &r->n[w]);

        for (i = 0; rc == 0 && i < r->n[w]; i++) {
            if (!entry_valid((enum list)w, r->l[w][i])) {
                size_t s2 = cf_path_index(x, i);

                rc = cf_fail_str(x, r->l[w][i], "%s", entry_expected((enum list)w));
                cf_path_restore(x, s2);
            }
        }
        cf_path_restore(x, saved);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static bool
has_star(char **l, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(l[i], "*") == 0) {
            return true;
        }
    }
    return false;
}

static unsigned
to_mask(char **l, size_t n, bool verbs)
{
    unsigned m = 0;
    size_t i;

    if (has_star(l, n)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        m |= 1u << (verbs ? lim_verb_from_name(l[i]) : cred_bit(l[i]));
    }
    return m;
}

/* Narrowing keys without resources would be ignored (a rule without
 * resources and non_resource_urls matches every request): refuse them. */
static int
check_narrowing(struct cf_ctx *x, const json_t *obj, const struct rule *r)
{
    static const char *const keys[] = {"api_groups", "namespaces", "cluster_scope"};
    size_t i;

    if (r->n[L_RESOURCES] > 0) {
        return 0;
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const json_t *v = json_object_get(obj, keys[i]);

        if (v != NULL && !json_is_false(v) && !(json_is_array(v) && json_array_size(v) == 0)) {
            size_t saved = cf_path_key(x, keys[i]);

            cf_fail_got(x, v, "resources next to it (%s narrows resource requests)", keys[i]);
            cf_path_restore(x, saved);
            return -1;
        }
    }
    return 0;
}

static int
read_class_ref(struct cf_ctx *x, const json_t *obj, const struct cf_names *names,
               const char *const *class_names, size_t nclasses, struct rule *r)
{
    char text[CF_STR_MAX];
    const json_t *v = json_object_get(obj, "class");
    size_t saved = cf_path_key(x, "class");
    int idx, rc = 0;

    if (v == NULL) {
        rc = cf_fail(x, "expected the name of a class in limits.classes, got nothing");
    } else if (cf_read_string(x, v, text) != 0) {
        rc = -1;
    } else if ((idx = cf_names_find(names, text)) < 0) {
        const char *hint = cf_suggest(text, class_names, nclasses);
        char got[CF_GOT_MAX + 16];

        cf_got_str(text, got, sizeof(got));
        if (hint != NULL) {
            rc = cf_fail(x,
                         "expected the name of a class in limits.classes, got %s (did you mean "
                         "\"%s\"?)",
                         got, hint);
        } else {
            rc = cf_fail(x, "expected the name of a class in limits.classes, got %s", got);
        }
    } else {
        r->class_name = class_names[idx];
    }
    cf_path_restore(x, saved);
    return rc;
}

static void
rule_params(const struct rule *r, struct lim_rule_params *p)
{
#define LIST(field, w)                                                                             \
    p->field = (const char *const *)r->l[w];                                                       \
    p->n##field = r->n[w]
    memset(p, 0, sizeof(*p));
    p->class_name = r->class_name;
    LIST(users, L_USERS);
    LIST(groups, L_GROUPS);
    LIST(service_accounts, L_SAS);
    LIST(api_groups, L_API_GROUPS);
    LIST(resources, L_RESOURCES);
    LIST(namespaces, L_NAMESPACES);
    LIST(non_resource, L_NON_RESOURCE);
#undef LIST
    p->cred_mask = to_mask(r->l[L_CREDS], r->n[L_CREDS], false);
    p->verb_mask = to_mask(r->l[L_VERBS], r->n[L_VERBS], true);
    p->cluster_scope = r->cluster_scope;
}

/* The first key of <r> that narrows what it matches, or NULL for a catch-all. */
static const char *
first_condition(const struct rule *r, const struct lim_rule_params *rp)
{
    int w;

    for (w = 0; w < L_COUNT; w++) {
        if (r->n[w] > 0 && !(w == L_CREDS && rp->cred_mask == 0) &&
            !(w == L_VERBS && rp->verb_mask == 0) && w != L_API_GROUPS && w != L_NAMESPACES) {
            return list_keys[w];
        }
    }
    return NULL;
}

/* Reads rule <obj> into <p>; *<cond> is set to its first condition (NULL:
 * it matches every request). */
static int
read_rule(struct cf_ctx *x, const json_t *obj, struct lim_policy *p, const struct cf_names *names,
          const char *const *class_names, size_t nclasses, const char **cond)
{
    static const struct cf_key scope_key = {
        "cluster_scope", CF_T_BOOL, offsetof(struct rule, cluster_scope), 0, 0, NULL};
    struct rule r;
    struct lim_rule_params out;
    char err[CF_ERRLEN];
    const json_t *v;
    int rc = -1, w;

    memset(&r, 0, sizeof(r));
    if (!json_is_object(obj)) {
        return cf_fail_got(x, obj, "an object");
    }
    if (cf_check_keys(x, obj, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0])) != 0 ||
        read_class_ref(x, obj, names, class_names, nclasses, &r) != 0 ||
        read_lists(x, obj, &r) != 0) {
        goto done;
    }
    if ((v = json_object_get(obj, "cluster_scope")) != NULL) {
        size_t saved = cf_path_key(x, "cluster_scope");

        rc = cf_read_value(x, v, &scope_key, &r);
        cf_path_restore(x, saved);
        if (rc != 0) {
            goto done;
        }
        rc = -1;
    }
    if (check_narrowing(x, obj, &r) != 0) {
        goto done;
    }
    rule_params(&r, &out);
    *cond = first_condition(&r, &out);
    if (*cond == NULL && !cf_rule_is_catch_all(&out)) {
        *cond = "conditions";
    }
    if (lim_policy_add_rule(p, &out, err, sizeof(err)) != 0) {
        cf_fail(x, "%s", err);
        goto done;
    }
    rc = 0;

done:
    for (w = 0; w < L_COUNT; w++) {
        cf_strings_free(r.l[w], r.n[w]);
    }
    return rc;
}

bool
cf_rule_is_catch_all(const struct lim_rule_params *r)
{
    return r->nusers == 0 && r->ngroups == 0 && r->nservice_accounts == 0 && r->cred_mask == 0 &&
           r->verb_mask == 0 && r->nresources == 0 && r->nnon_resource == 0;
}

int
cf_rules_read(struct cf_ctx *x, const json_t *rules, struct lim_policy *p,
              const struct cf_names *names, const char *const *class_names, size_t nclasses)
{
    size_t i, n, saved = cf_path_key(x, "rules");
    int rc = 0;

    if (rules == NULL || !json_is_array(rules) || json_array_size(rules) == 0 ||
        json_array_size(rules) > CF_MAX_RULES) {
        if (rules == NULL) {
            cf_fail(x, "expected an array of rules ending with a catch-all, got nothing");
        } else {
            cf_fail_got(x, rules, "an array of 1 to %d rules ending with a catch-all",
                        CF_MAX_RULES);
        }
        cf_path_restore(x, saved);
        return -1;
    }
    n = json_array_size(rules);
    for (i = 0; i < n && rc == 0; i++) {
        const char *cond = NULL;
        size_t s2 = cf_path_index(x, i);

        rc = read_rule(x, json_array_get(rules, i), p, names, class_names, nclasses, &cond);
        /* A catch-all before the end hides every rule after it. */
        if (rc == 0 && cond == NULL && i + 1 < n) {
            rc = cf_fail(x, "expected only the last rule to match every request, got a catch-all "
                            "(the rules after it could never match)");
        } else if (rc == 0 && cond != NULL && i + 1 == n) {
            rc = cf_fail(x,
                         "expected the last rule to be a catch-all (only \"class\", matching "
                         "every request), got a rule with %s",
                         cond);
        }
        cf_path_restore(x, s2);
    }
    cf_path_restore(x, saved);
    return rc;
}
