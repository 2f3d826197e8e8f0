/* Read-only admin views: see px_debug.h. */
#include "px_debug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf.h"
#include "px_state.h"

static const char *const top_names[] = {"rate", "rejects", "watches"};
static const char *const mode_names[LIM_MODE_COUNT] = {"enforce", "dry-run", "exempt"};
static const char *const dist_names[LIM_DIST_COUNT] = {"none", "user", "namespace", "node"};

int
px_debug_top_by(const char *s, enum lim_top_by *by)
{
    size_t i;

    for (i = 0; i < sizeof(top_names) / sizeof(top_names[0]); i++) {
        if (strcmp(s, top_names[i]) == 0) {
            *by = (enum lim_top_by)i;
            return 0;
        }
    }
    return -1;
}

/* Adds <v> to object <o> under <k>, consuming the reference. */
static void
set(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v != NULL ? v : json_null());
}

json_t *
px_debug_clients(struct px_state *st, enum lim_top_by by, size_t top, uint64_t now_ns)
{
    struct lim_client_info *info;
    json_t *root, *arr;
    size_t n, i;

    if (top > PX_TOP_MAX) {
        top = PX_TOP_MAX;
    }
    info = calloc(top > 0 ? top : 1, sizeof(*info));
    root = json_object();
    arr = json_array();
    if (info == NULL || root == NULL || arr == NULL) {
        free(info);
        json_decref(root);
        json_decref(arr);
        return NULL;
    }
    n = lim_top_clients(st->lim, by, now_ns, info, top);
    for (i = 0; i < n; i++) {
        json_t *c = json_object();

        set(c, "key", json_string(info[i].key));
        set(c, "class", json_string(info[i].class_name != NULL ? info[i].class_name : ""));
        set(c, "requests", json_integer((json_int_t)info[i].requests));
        set(c, "rejects", json_integer((json_int_t)info[i].rejects));
        set(c, "inflight_seats", json_integer((json_int_t)info[i].inflight));
        set(c, "watches_open", json_integer((json_int_t)info[i].watches_open));
        set(c, "rate_per_second", json_real((double)info[i].rate_mtps / 1000.0));
        set(c, "tokens", json_real((double)info[i].tokens_mt / 1000.0));
        json_array_append_new(arr, c);
    }
    free(info);
    set(root, "by", json_string(top_names[by]));
    set(root, "clients", arr);
    return root;
}

/* A rate as configured and as a number: {"text": "10/s", "per_second": 10}
 * or null when there is no such bucket. */
static json_t *
rate(uint64_t mtps)
{
    char buf[32];

    if (mtps == 0) {
        return json_null();
    }
    return json_pack("{s:s, s:f}", "text", cf_fmt_rate(mtps, buf, sizeof(buf)), "per_second",
                     (double)mtps / 1000.0);
}

static json_t *
duration(uint64_t ns)
{
    char buf[32];

    return json_pack("{s:s, s:f}", "text", cf_fmt_duration(ns, buf, sizeof(buf)), "seconds",
                     (double)ns / 1e9);
}

static json_t *
size(uint64_t bytes)
{
    char buf[32];

    return json_pack("{s:s, s:I}", "text", cf_fmt_size(bytes, buf, sizeof(buf)), "bytes",
                     (json_int_t)bytes);
}

static json_t *
cost(const struct lim_cost_params *c)
{
    json_t *o = json_object();

    set(o, "base_tokens", json_real((double)c->base_mt / 1000.0));
    set(o, "bytes_per_token", size(c->bytes_per_token));
    set(o, "etcd_extra_pct", json_integer(c->etcd_extra_pct));
    set(o, "max_tokens", json_integer(c->max_tokens));
    set(o, "seat_bytes", size(c->seat_bytes));
    set(o, "max_seats", json_integer(c->max_seats));
    set(o, "default_list_bytes", size(c->default_list_bytes));
    return o;
}

static json_t *
global(const struct lim_global_params *g)
{
    json_t *o = json_object();

    set(o, "max_inflight_readonly", json_integer(g->max_inflight_readonly));
    set(o, "max_inflight_mutating", json_integer(g->max_inflight_mutating));
    set(o, "reserved_seats", json_integer(g->reserved_seats));
    set(o, "max_watches", json_integer(g->max_watches));
    set(o, "watch_rate", rate(g->watch_rate_mtps));
    set(o, "watch_burst", json_integer(g->watch_burst));
    set(o, "retry_after_max_seconds", json_integer(g->retry_after_max_s));
    set(o, "retry_after_jitter_pct", json_integer(g->retry_jitter_pct));
    set(o, "cost", cost(&g->cost));
    return o;
}

static json_t *
class_obj(struct px_state *st, const struct lim_policy *p, size_t i)
{
    const struct lim_class_params *c = lim_policy_class(p, i);
    enum lim_mode eff = lim_class_mode(st->lim, p, i);
    json_t *o = json_object();

    set(o, "name", json_string(c->name));
    set(o, "mode", json_string(mode_names[eff]));
    set(o, "policy_mode", json_string(mode_names[c->mode]));
    set(o, "mode_overridden", json_boolean(eff != c->mode));
    set(o, "distinguisher", json_string(dist_names[c->dist]));
    set(o, "rate", rate(c->rate_mtps));
    set(o, "burst", json_integer(c->burst));
    set(o, "class_rate", rate(c->class_rate_mtps));
    set(o, "class_burst", json_integer(c->class_burst));
    set(o, "concurrency_share_pct", json_integer(c->concurrency_share_pct));
    set(o, "max_inflight_per_key", json_integer(c->max_inflight_per_key));
    set(o, "max_watches_per_key", json_integer(c->max_watches_per_key));
    set(o, "max_watches", json_integer(c->max_watches));
    set(o, "watch_rate", rate(c->watch_rate_mtps));
    set(o, "watch_burst", json_integer(c->watch_burst));
    set(o, "max_wait", duration(c->max_wait_ns));
    set(o, "cost", cost(&c->cost));
    return o;
}

static json_t *
strings(const char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++) {
        json_array_append_new(a, json_string(v[i]));
    }
    return a;
}

static void
set_list(json_t *o, const char *k, const char *const *v, size_t n)
{
    if (n > 0) {
        set(o, k, strings(v, n));
    }
}

static json_t *
rule_obj(const struct lim_rule_params *r)
{
    json_t *o = json_object();
    unsigned i;

    set(o, "class", json_string(r->class_name));
    set_list(o, "users", r->users, r->nusers);
    set_list(o, "groups", r->groups, r->ngroups);
    set_list(o, "service_accounts", r->service_accounts, r->nservice_accounts);
    if (r->cred_mask != 0) {
        json_t *a = json_array();

        for (i = 0; i < LIM_CRED_COUNT; i++) {
            if (r->cred_mask & (1u << i)) {
                json_array_append_new(a, json_string(lim_cred_name((enum lim_cred)i)));
            }
        }
        set(o, "credentials", a);
    }
    if (r->verb_mask != 0) {
        json_t *a = json_array();

        for (i = 1; i < LIM_VERB_COUNT; i++) {
            if (r->verb_mask & (1u << i)) {
                json_array_append_new(a, json_string(lim_verb_name((enum lim_verb)i)));
            }
        }
        set(o, "verbs", a);
    }
    set_list(o, "api_groups", r->api_groups, r->napi_groups);
    set_list(o, "resources", r->resources, r->nresources);
    set_list(o, "namespaces", r->namespaces, r->nnamespaces);
    if (r->cluster_scope) {
        set(o, "cluster_scope", json_true());
    }
    set_list(o, "non_resource_urls", r->non_resource, r->nnon_resource);
    return o;
}

static void
rfc3339(int64_t wall_s, char *buf, size_t len)
{
    time_t t = (time_t)wall_s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
overrides(struct px_state *st, uint64_t now_ns)
{
    struct px_override *ov = calloc(PX_OVERRIDES_MAX, sizeof(*ov));
    json_t *a = json_array();
    size_t n, i;

    if (ov == NULL) {
        return a;
    }
    n = px_state_overrides(st, now_ns, ov, PX_OVERRIDES_MAX);
    for (i = 0; i < n; i++) {
        char until[32];

        rfc3339(ov[i].until_wall_s, until, sizeof(until));
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:f}", "user", ov[i].user, "action",
                                           ov[i].allow ? "allow" : "block", "expires_at", until,
                                           "expires_in_seconds",
                                           (double)(ov[i].until_ns - now_ns) / 1e9));
    }
    free(ov);
    return a;
}

json_t *
px_debug_config(struct px_state *st, uint64_t now_ns)
{
    struct cf_config *cf = px_state_config(st);
    const struct lim_policy *p = cf->policy;
    json_t *root = json_object(), *classes = json_array(), *rules = json_array();
    uint32_t scale;
    bool lw;
    size_t i;
    char when[32];

    lim_get_shed(st->lim, &scale, &lw);
    set(root, "path", json_string(cf->path));
    set(root, "hash", json_string(cf->hash));
    pthread_mutex_lock(&st->lock);
    rfc3339(st->reload_wall_s, when, sizeof(when));
    set(root, "reloads",
        json_pack("{s:I, s:I, s:s}", "success",
                  (json_int_t)atomic_load(&st->reloads[PX_RELOAD_SUCCESS]), "failure",
                  (json_int_t)atomic_load(&st->reloads[PX_RELOAD_FAILURE]), "last_error",
                  st->reload_error));
    pthread_mutex_unlock(&st->lock);
    set(root, "loaded_at", json_string(when));
    set(root, "shed",
        json_pack("{s:i, s:b}", "scale_pct", (json_int_t)scale, "reject_list_watch", lw));
    set(root, "global", global(lim_policy_global(p)));
    for (i = 0; i < lim_policy_class_count(p); i++) {
        json_array_append_new(classes, class_obj(st, p, i));
    }
    set(root, "classes", classes);
    for (i = 0; i < lim_policy_rule_count(p); i++) {
        json_array_append_new(rules, rule_obj(lim_policy_rule(p, i)));
    }
    set(root, "rules", rules);
    set(root, "overrides", overrides(st, now_ns));
    cf_unref(cf);
    return root;
}
