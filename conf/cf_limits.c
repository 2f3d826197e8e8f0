/* "limits": the global budgets and the classes, fed to the limiter's policy
 * builder, with the checks a policy needs before it can run: unique class
 * names, buckets that have a burst, caps that can be met (shares of the
 * seat pools summing to at most 100%, per-key watch caps within the class
 * cap, class caps within the global one). A request costing more tokens or
 * seats than its class can ever hold is not refused here: the limiter
 * clamps it to a full bucket or the whole share, so it runs alone. */
#include "cf_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lim.h"

#define MS          1000000ull
#define S           1000000000ull
#define BIG         100000000u /* bound for counts that have no natural one */
#define MAX_CLIENTS 10000000u

static_assert(sizeof(enum lim_mode) == sizeof(int), "CF_T_ENUM writes an int");
static_assert(sizeof(enum lim_dist) == sizeof(int), "CF_T_ENUM writes an int");

#define GKEY(name, type, field, min, max)                                                          \
    {                                                                                              \
        name, type, offsetof(struct lim_global_params, field), min, max, NULL                      \
    }
#define CKEY(name, type, field, min, max, names)                                                   \
    {                                                                                              \
        name, type, offsetof(struct lim_class_params, field), min, max, names                      \
    }
#define COST(name, type, field, min, max)                                                          \
    {                                                                                              \
        name, type, offsetof(struct lim_cost_params, field), min, max, NULL                        \
    }
#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static const struct cf_enum mode_names[] = {{"enforce", LIM_MODE_ENFORCE},
                                            {"dry-run", LIM_MODE_DRY_RUN},
                                            {"exempt", LIM_MODE_EXEMPT},
                                            {NULL, 0}};
static const struct cf_enum dist_names[] = {{"user", LIM_DIST_USER},
                                            {"namespace", LIM_DIST_NAMESPACE},
                                            {"node", LIM_DIST_NODE},
                                            {"none", LIM_DIST_NONE},
                                            {NULL, 0}};

static const struct cf_key global_keys[] = {
    GKEY("max_inflight_readonly", CF_T_U32, max_inflight_readonly, 1, 1000000),
    GKEY("max_inflight_mutating", CF_T_U32, max_inflight_mutating, 1, 1000000),
    GKEY("reserved_seats", CF_T_U32, reserved_seats, 0, 1000000),
    GKEY("max_watches", CF_T_U32, max_watches, 0, BIG),
    GKEY("watch_rate", CF_T_RATE, watch_rate_mtps, 0, LIM_RATE_MAX_MTPS),
    GKEY("watch_burst", CF_T_U32, watch_burst, 1, UINT32_MAX),
    {"max_clients", CF_T_CUSTOM, 0, 0, 0, NULL},
    GKEY("retry_after_max", CF_T_DUR_S, retry_after_max_s, 1, 3600),
    GKEY("retry_after_jitter", CF_T_PCT, retry_jitter_pct, 0, 100),
    {"cost", CF_T_CUSTOM, 0, 0, 0, NULL},
    {"classes", CF_T_CUSTOM, 0, 0, 0, NULL},
    {"rules", CF_T_CUSTOM, 0, 0, 0, NULL},
};

static const struct cf_key max_clients_key = {
    "max_clients", CF_T_U32, offsetof(struct cf_config, max_clients), 1, MAX_CLIENTS, NULL};

static const struct cf_key cost_keys[] = {
    COST("base", CF_T_MT32, base_mt, 1, 1000000),
    COST("bytes_per_token", CF_T_SIZE32, bytes_per_token, 1, 1u << 30),
    COST("etcd_extra", CF_T_PCT, etcd_extra_pct, 0, 1000),
    COST("max_tokens", CF_T_U32, max_tokens, 1, 1000000),
    COST("seat_bytes", CF_T_SIZE32, seat_bytes, 1, 1u << 30),
    COST("max_seats", CF_T_U32, max_seats, 1, 1000),
    COST("default_list_bytes", CF_T_SIZE32, default_list_bytes, 0, 1u << 30),
};

static const struct cf_key class_keys[] = {
    {"name", CF_T_CUSTOM, 0, 0, 0, NULL},
    CKEY("mode", CF_T_ENUM, mode, 0, 0, mode_names),
    CKEY("distinguisher", CF_T_ENUM, dist, 0, 0, dist_names),
    CKEY("rate", CF_T_RATE, rate_mtps, 0, LIM_RATE_MAX_MTPS, NULL),
    CKEY("burst", CF_T_U32, burst, 1, UINT32_MAX, NULL),
    CKEY("class_rate", CF_T_RATE, class_rate_mtps, 0, LIM_RATE_MAX_MTPS, NULL),
    CKEY("class_burst", CF_T_U32, class_burst, 1, UINT32_MAX, NULL),
    CKEY("concurrency_share", CF_T_PCT, concurrency_share_pct, 0, 100, NULL),
    CKEY("max_inflight_per_key", CF_T_U32, max_inflight_per_key, 0, 1000000, NULL),
    CKEY("max_watches_per_key", CF_T_U32, max_watches_per_key, 0, BIG, NULL),
    CKEY("max_watches", CF_T_U32, max_watches, 0, BIG, NULL),
    CKEY("watch_rate", CF_T_RATE, watch_rate_mtps, 0, LIM_RATE_MAX_MTPS, NULL),
    CKEY("watch_burst", CF_T_U32, watch_burst, 1, UINT32_MAX, NULL),
    CKEY("max_wait", CF_T_DUR_NS, max_wait_ns, 0, 60 * S, NULL),
    {"cost", CF_T_CUSTOM, 0, 0, 0, NULL},
};

/* What reading the classes leaves for the rules. */
struct classes {
    char **names; /* owned */
    size_t n;
    struct cf_names *index;
    uint32_t share_sum;
};

__attribute__((format(printf, 3, 4))) static int
fail_at(struct cf_ctx *x, const char *key, const char *fmt, ...)
{
    char msg[CF_ERRLEN];
    size_t saved = cf_path_key(x, key);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cf_fail(x, "%s", msg);
    cf_path_restore(x, saved);
    return -1;
}

static int
read_cost(struct cf_ctx *x, const json_t *obj, struct lim_cost_params *cost)
{
    const json_t *v = json_object_get(obj, "cost");
    size_t saved;
    int rc;

    if (v == NULL) {
        return 0;
    }
    saved = cf_path_key(x, "cost");
    rc = cf_read_object(x, v, cost_keys, NKEYS(cost_keys), cost);
    cf_path_restore(x, saved);
    return rc;
}

/* A bucket needs a depth: <rate_key> set and <burst_key> left at 0. */
static int
check_burst(struct cf_ctx *x, uint64_t rate, uint32_t burst, const char *rate_key,
            const char *burst_key)
{
    if (rate == 0 || burst > 0) {
        return 0;
    }
    return fail_at(x, burst_key, "expected an integer >= 1 since %s is set, got nothing", rate_key);
}

static bool
name_valid(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '-' || c == '_' || c == '.')))) {
            return false;
        }
    }
    return i > 0 && i <= CF_NAME_MAX;
}

static int
read_name(struct cf_ctx *x, const json_t *obj, struct classes *cl, size_t i)
{
    char text[CF_STR_MAX];
    const json_t *v = json_object_get(obj, "name");
    size_t saved = cf_path_key(x, "name"), prev;
    int rc = 0;

    if (v == NULL) {
        rc = cf_fail(x, "expected a class name, got nothing");
    } else if (cf_read_string(x, v, text) != 0) {
        rc = -1;
    } else if (!name_valid(text)) {
        rc = cf_fail_str(x, text,
                         "a name of 1 to %d letters, digits, \"-\", \"_\" or \".\", starting "
                         "with a letter or digit",
                         CF_NAME_MAX);
    } else if ((cl->names[i] = strdup(text)) == NULL) {
        rc = cf_fail(x, "out of memory");
    } else if (cf_names_add(cl->index, cl->names[i], i, &prev) != 0) {
        rc = cf_fail_str(x, text, "a name no other class has (limits.classes[%zu] has it)", prev);
    }
    cf_path_restore(x, saved);
    return rc;
}

static int
check_class(struct cf_ctx *x, const struct lim_global_params *g, const struct lim_class_params *c,
            struct classes *cl)
{
    if (check_burst(x, c->rate_mtps, c->burst, "rate", "burst") != 0 ||
        check_burst(x, c->class_rate_mtps, c->class_burst, "class_rate", "class_burst") != 0 ||
        check_burst(x, c->watch_rate_mtps, c->watch_burst, "watch_rate", "watch_burst") != 0) {
        return -1;
    }
    if (c->concurrency_share_pct > 100 - cl->share_sum) {
        return fail_at(x, "concurrency_share",
                       "expected at most %u%% (the classes before it hold %u%% of the seats), "
                       "got %u%%",
                       100 - cl->share_sum, cl->share_sum, c->concurrency_share_pct);
    }
    cl->share_sum += c->concurrency_share_pct;
    if (c->max_watches > 0 && c->max_watches_per_key > c->max_watches) {
        return fail_at(x, "max_watches_per_key", "expected at most max_watches (%u), got %u",
                       c->max_watches, c->max_watches_per_key);
    }
    if (g->max_watches > 0 && c->max_watches > g->max_watches) {
        return fail_at(x, "max_watches", "expected at most limits.max_watches (%u), got %u",
                       g->max_watches, c->max_watches);
    }
    return 0;
}

static int
read_class(struct cf_ctx *x, const json_t *obj, const struct lim_global_params *g,
           struct lim_policy *p, struct classes *cl, size_t i)
{
    struct lim_class_params c;
    char err[CF_ERRLEN];

    if (!json_is_object(obj)) {
        return cf_fail_got(x, obj, "an object");
    }
    if (read_name(x, obj, cl, i) != 0) {
        return -1;
    }
    lim_class_defaults(&c, cl->names[i], g);
    c.cost = g->cost;
    if (cf_read_object(x, obj, class_keys, NKEYS(class_keys), &c) != 0 ||
        read_cost(x, obj, &c.cost) != 0 || check_class(x, g, &c, cl) != 0) {
        return -1;
    }
    if (lim_policy_add_class(p, &c, err, sizeof(err)) != 0) {
        return cf_fail(x, "%s", err);
    }
    return 0;
}

static int
read_classes(struct cf_ctx *x, const json_t *v, const struct lim_global_params *g,
             struct lim_policy *p, struct classes *cl)
{
    size_t i, n, saved = cf_path_key(x, "classes");
    int rc = 0;

    if (v == NULL || !json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > LIM_MAX_CLASSES) {
        if (v == NULL) {
            cf_fail(x, "expected an array of 1 to %d classes, got nothing", LIM_MAX_CLASSES);
        } else {
            cf_fail_got(x, v, "an array of 1 to %d classes", LIM_MAX_CLASSES);
        }
        cf_path_restore(x, saved);
        return -1;
    }
    n = json_array_size(v);
    cl->names = calloc(n, sizeof(*cl->names));
    cl->index = cf_names_new(n);
    if (cl->names == NULL || cl->index == NULL) {
        cf_path_restore(x, saved);
        return cf_fail(x, "out of memory");
    }
    cl->n = n;
    for (i = 0; i < n && rc == 0; i++) {
        size_t s2 = cf_path_index(x, i);

        rc = read_class(x, json_array_get(v, i), g, p, cl, i);
        cf_path_restore(x, s2);
    }
    cf_path_restore(x, saved);
    return rc;
}

static int
read_globals(struct cf_ctx *x, const json_t *limits, struct lim_global_params *g,
             struct cf_config *cf)
{
    const json_t *v;
    size_t saved;

    lim_global_defaults(g);
    cf->max_clients = 100000;
    if (cf_read_object(x, limits, global_keys, NKEYS(global_keys), g) != 0 ||
        read_cost(x, limits, &g->cost) != 0) {
        return -1;
    }
    if ((v = json_object_get(limits, "max_clients")) != NULL) {
        saved = cf_path_key(x, "max_clients");
        if (cf_read_value(x, v, &max_clients_key, cf) != 0) {
            cf_path_restore(x, saved);
            return -1;
        }
        cf_path_restore(x, saved);
    }
    if (check_burst(x, g->watch_rate_mtps, g->watch_burst, "watch_rate", "watch_burst") != 0) {
        return -1;
    }
    /* Exempt classes live on the reserved seats: they must leave some over. */
    if (g->reserved_seats >= g->max_inflight_readonly ||
        g->reserved_seats >= g->max_inflight_mutating) {
        return fail_at(x, "reserved_seats",
                       "expected fewer than each seat pool (max_inflight_readonly %u, "
                       "max_inflight_mutating %u), got %u",
                       g->max_inflight_readonly, g->max_inflight_mutating, g->reserved_seats);
    }
    return 0;
}

int
cf_limits_read(struct cf_ctx *x, const json_t *limits, struct cf_config *cf)
{
    struct lim_global_params g;
    struct classes cl = {NULL, 0, NULL, 0};
    struct lim_policy *p = NULL;
    char err[CF_ERRLEN];
    size_t saved = cf_path_key(x, "limits"), i;
    int rc = -1;

    if (limits == NULL) {
        cf_fail(x, "expected an object with classes and rules, got nothing");
        goto done;
    }
    if (!json_is_object(limits)) {
        cf_fail_got(x, limits, "an object with classes and rules");
        goto done;
    }
    if (read_globals(x, limits, &g, cf) != 0) {
        goto done;
    }
    p = lim_policy_new(&g, err, sizeof(err));
    if (p == NULL) {
        cf_fail(x, "%s", err);
        goto done;
    }
    if (read_classes(x, json_object_get(limits, "classes"), &g, p, &cl) != 0 ||
        cf_rules_read(x, json_object_get(limits, "rules"), p, cl.index,
                      (const char *const *)cl.names, cl.n) != 0) {
        goto done;
    }
    if (lim_policy_finish(p, err, sizeof(err)) != 0) {
        cf_fail(x, "%s", err);
        goto done;
    }
    cf->policy = p;
    p = NULL;
    rc = 0;

done:
    lim_policy_free(p);
    for (i = 0; i < cl.n; i++) {
        free(cl.names[i]);
    }
    free(cl.names);
    cf_names_free(cl.index);
    cf_path_restore(x, saved);
    return rc;
}
