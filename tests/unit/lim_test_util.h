/* Helpers for the limiter's unit tests: requests and identities filled by
 * hand (as lim_request_parse and the proxy's identity code would), and a
 * small policy builder. Header-only, included by tests/unit/test_lim_*.c. */
#ifndef LIM_TEST_UTIL_H
#define LIM_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lim.h"

#define T_NS_PER_S  1000000000ull
#define T_NS_PER_MS 1000000ull

/* A resource request as kube's RequestInfo would give it. */
static inline void
t_req(struct lim_request *r, enum lim_verb v, const char *group, const char *resource,
      const char *ns)
{
    memset(r, 0, offsetof(struct lim_request, buf));
    r->verb = v;
    r->is_resource = true;
    r->is_mutating = !(v == LIM_VERB_GET || v == LIM_VERB_LIST || v == LIM_VERB_WATCH);
    r->is_long_running = v == LIM_VERB_WATCH;
    r->method = r->is_mutating ? "POST" : "GET";
    r->path = "";
    r->api_prefix = group[0] != '\0' ? "apis" : "api";
    r->api_group = group;
    r->api_version = "v1";
    r->ns = ns;
    r->resource = resource;
    r->subresource = "";
    r->name = "";
    r->resource_version = "";
    r->label_selector = "";
    r->field_selector = "";
    r->rv = LIM_RV_UNSET;
}

static inline void
t_nonres(struct lim_request *r, enum lim_verb v, const char *path)
{
    t_req(r, v, "", "", "");
    r->is_resource = false;
    r->is_mutating = !(v == LIM_VERB_GET || v == LIM_VERB_HEAD);
    r->api_prefix = "";
    r->api_version = "";
    r->path = path;
}

/* An authenticated identity; asserts in the caller on failure. */
static inline int
t_id(struct lim_identity *id, enum lim_cred cred, const char *user, const char *g0, const char *g1)
{
    const char *groups[2];
    size_t n = 0;
    char err[256];

    if (g0 != NULL) {
        groups[n++] = g0;
    }
    if (g1 != NULL) {
        groups[n++] = g1;
    }
    return lim_identity_set(id, cred, user, groups, n, NULL, err, sizeof(err));
}

/* A rule sending everything to <cls>. */
static inline struct lim_rule_params
t_rule(const char *cls)
{
    struct lim_rule_params r;

    memset(&r, 0, sizeof(r));
    r.class_name = cls;
    return r;
}

#endif /* LIM_TEST_UTIL_H */
