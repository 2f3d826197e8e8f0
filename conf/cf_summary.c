/* The one-screen summary --check-config prints: what floodgate will listen
 * on and talk to, then each class in the order requests meet it (at its
 * first rule), its budget in human units, and the rules that send to it. */
#include "cf_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LINE_MAX_COLS 100 /* longer lines wrap */
#define WRAP_INDENT   10  /* under the text of "listen    ..." */
#define LINE_BUF      1024

struct out {
    char *buf;
    size_t len;
    size_t need; /* what the whole summary takes, as snprintf counts */
};

struct line {
    char s[LINE_BUF];
    size_t n;
};

__attribute__((format(printf, 2, 3))) static void
addf(struct line *l, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (l->n >= sizeof(l->s) - 1) {
        return;
    }
    va_start(ap, fmt);
    w = vsnprintf(l->s + l->n, sizeof(l->s) - l->n, fmt, ap);
    va_end(ap);
    if (w > 0) {
        l->n = l->n + (size_t)w < sizeof(l->s) ? l->n + (size_t)w : sizeof(l->s) - 1;
    }
}

static void
put(struct out *o, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '\n';

        if (o->need + 1 < o->len) {
            o->buf[o->need] = c;
            o->buf[o->need + 1] = '\0';
        }
        o->need++;
    }
}

/* Where to wrap <s> at or before <max>: after a "; " or ", " in the last
 * third of the line if there is one (a budget stays in one piece), else at
 * a space, else at <max>. */
static size_t
break_at(const char *s, size_t max)
{
    static const char seps[] = ";, ";
    size_t i, b;

    for (i = 0; i < sizeof(seps) - 1; i++) {
        for (b = max; b > (i < 2 ? max * 2 / 3 : WRAP_INDENT); b--) {
            if (s[b] == ' ' && (i == 2 || s[b - 1] == seps[i])) {
                return b;
            }
        }
    }
    return max;
}

/* Writes <l>, wrapped at word boundaries to LINE_MAX_COLS columns with
 * continuation lines indented by WRAP_INDENT. */
static void
emit(struct out *o, struct line *l)
{
    static const char pad[WRAP_INDENT + 1] = "          ";
    const char *s = l->s;
    size_t n = l->n, first = 1;

    while (n > LINE_MAX_COLS - (first ? 0 : WRAP_INDENT)) {
        size_t max = LINE_MAX_COLS - (first ? 0 : WRAP_INDENT), b = break_at(s, max);
        char cont[LINE_BUF];

        if (first) {
            put(o, s, b);
        } else {
            memcpy(cont, pad, WRAP_INDENT);
            memcpy(cont + WRAP_INDENT, s, b);
            put(o, cont, WRAP_INDENT + b);
        }
        while (b < n && s[b] == ' ') {
            b++;
        }
        s += b;
        n -= b;
        first = 0;
    }
    if (first) {
        put(o, s, n);
    } else if (n > 0) {
        char cont[LINE_BUF];

        memcpy(cont, pad, WRAP_INDENT);
        memcpy(cont + WRAP_INDENT, s, n);
        put(o, cont, WRAP_INDENT + n);
    }
    l->n = 0;
    l->s[0] = '\0';
}

static const char *
per_key(enum lim_dist d)
{
    switch (d) {
    case LIM_DIST_USER:
        return "per user";
    case LIM_DIST_NAMESPACE:
        return "per namespace";
    case LIM_DIST_NODE:
        return "per node";
    case LIM_DIST_NONE:
    default:
        return "for the class";
    }
}

static void
header(struct out *o, const struct cf_config *cf)
{
    static const char *const auth_mode[] = {"off", "optional", "required"};
    const struct lim_global_params *g = lim_policy_global(cf->policy);
    struct line l = {{0}, 0};
    char a[32], b[32];
    size_t i;

    addf(&l, "%s: valid (sha256 %s), %zu classes, %zu rules%s",
         cf->path[0] ? cf->path : "(built-in)", cf->hash, lim_policy_class_count(cf->policy),
         lim_policy_rule_count(cf->policy),
         cf->policy_builtin ? " (no \"limits\": the built-in policy, as in sidecar.json)" : "");
    /* Never wrapped: the file's path is one token, however long, and scripts
     * grep this line. */
    put(o, l.s, l.n);
    l.n = 0;
    addf(&l, "listen    %s, TLS >= 1.%d, client certificates %s, %u workers, %u connections",
         cf->listen.address, cf->listen.tls_min_version == 0x0304 ? 3 : 2,
         auth_mode[cf->listen.client_auth], cf->listen.workers, cf->listen.max_connections);
    emit(o, &l);
    addf(&l, "upstream");
    for (i = 0; i < cf->upstream.nservers; i++) {
        addf(&l, "%s%s", i == 0 ? "  " : ", ", cf->upstream.servers[i]);
    }
    addf(&l, " (verified as %s), %s", cf->upstream.server_name,
         cf->upstream.client_cert[0] ? "identities asserted with a front-proxy certificate"
                                     : "no front-proxy certificate: credentials passed through");
    emit(o, &l);
    addf(&l, "auth      %zu issuer%s, %zu key%s; unverifiable tokens %s", cf->auth.nissuers,
         cf->auth.nissuers == 1 ? "" : "s", cf->auth.nkeys, cf->auth.nkeys == 1 ? "" : "s",
         cf->auth.unverified == CF_UNVERIFIED_HASH ? "go to the unverified budget, keyed by hash"
                                                   : "are rejected");
    emit(o, &l);
    addf(&l, "admin     %s%s%s%s", cf->admin.address[0] ? cf->admin.address : "",
         cf->admin.address[0] && cf->admin.socket[0] ? ", " : "", cf->admin.socket,
         !cf->admin.address[0] && !cf->admin.socket[0] ? "disabled"
         : cf->admin.token_file[0]                     ? " (bearer token required)"
                                                       : "");
    emit(o, &l);
    addf(&l, "seats     %u read-only + %u mutating, %u of each reserved for exempt classes",
         g->max_inflight_readonly, g->max_inflight_mutating, g->reserved_seats);
    emit(o, &l);
    addf(&l, "watches   ");
    if (g->max_watches > 0) {
        addf(&l, "<= %u open", g->max_watches);
    } else {
        addf(&l, "no cap on open watches");
    }
    if (g->watch_rate_mtps > 0) {
        addf(&l, ", opened at %s burst %u", cf_fmt_rate(g->watch_rate_mtps, a, sizeof(a)),
             g->watch_burst);
    }
    addf(&l, "; Retry-After <= %us +%u%%; %u clients", g->retry_after_max_s, g->retry_jitter_pct,
         cf->max_clients);
    emit(o, &l);
    cf_fmt_milli(g->cost.base_mt, g->cost.base_mt == 1000 ? " token" : " tokens", a, sizeof(a));
    addf(&l, "cost      request %s, LIST +1 per %s (+%u%% from etcd) <= %u", a,
         cf_fmt_size(g->cost.bytes_per_token, b, sizeof(b)), g->cost.etcd_extra_pct,
         g->cost.max_tokens);
    addf(&l, "; 1 seat per %s <= %u seats", cf_fmt_size(g->cost.seat_bytes, b, sizeof(b)),
         g->cost.max_seats);
    emit(o, &l);
}

static void
budget(struct line *l, const struct lim_class_params *c)
{
    char a[32];
    size_t start = l->n;

    if (c->mode == LIM_MODE_EXEMPT) {
        addf(l, "never limited, on the reserved seats");
        return;
    }
    if (c->rate_mtps > 0) {
        addf(l, "%s burst %u %s", cf_fmt_rate(c->rate_mtps, a, sizeof(a)), c->burst,
             per_key(c->dist));
    }
    if (c->class_rate_mtps > 0 && (c->dist != LIM_DIST_NONE || c->rate_mtps == 0)) {
        addf(l, "%sclass %s burst %u", l->n > start ? "; " : "",
             cf_fmt_rate(c->class_rate_mtps, a, sizeof(a)), c->class_burst);
    }
    if (c->concurrency_share_pct > 0) {
        addf(l, "%s%u%% seats", l->n > start ? "; " : "", c->concurrency_share_pct);
    }
    if (c->max_inflight_per_key > 0) {
        addf(l, "%s%u in flight %s", l->n > start ? "; " : "", c->max_inflight_per_key,
             per_key(c->dist));
    }
    if (c->max_wait_ns > 0) {
        addf(l, "%swait <= %s", l->n > start ? "; " : "",
             cf_fmt_duration(c->max_wait_ns, a, sizeof(a)));
    }
    if (l->n == start) {
        addf(l, "no budget of its own: global caps only");
    }
}

static void
watches(struct out *o, const struct lim_class_params *c)
{
    struct line l = {{0}, 0};
    char a[32];

    if (c->mode == LIM_MODE_EXEMPT ||
        (c->max_watches_per_key == 0 && c->max_watches == 0 && c->watch_rate_mtps == 0)) {
        return;
    }
    addf(&l, "      watches:");
    if (c->max_watches_per_key > 0) {
        addf(&l, " %u open %s", c->max_watches_per_key, per_key(c->dist));
    }
    if (c->max_watches > 0) {
        addf(&l, "%s %u open in the class", c->max_watches_per_key > 0 ? "," : "", c->max_watches);
    }
    if (c->watch_rate_mtps > 0) {
        addf(&l, "%s opened at %s burst %u %s",
             c->max_watches_per_key > 0 || c->max_watches > 0 ? "," : "",
             cf_fmt_rate(c->watch_rate_mtps, a, sizeof(a)), c->watch_burst, per_key(c->dist));
    }
    emit(o, &l);
}

static void
list(struct line *l, const char *what, const char *const *v, size_t n, bool *first)
{
    size_t i;

    if (n == 0) {
        return;
    }
    addf(l, "%s%s", *first ? "" : "; ", what);
    for (i = 0; i < n; i++) {
        addf(l, "%s%s", i == 0 ? " " : ",", v[i][0] ? v[i] : "\"\"");
    }
    *first = false;
}

static void
rule_line(struct out *o, const struct lim_rule_params *r, size_t i)
{
    struct line l = {{0}, 0};
    bool first = true;
    unsigned b;

    addf(&l, "      <- rules[%zu] ", i);
    if (cf_rule_is_catch_all(r)) {
        addf(&l, "everything else");
        emit(o, &l);
        return;
    }
    list(&l, "users", r->users, r->nusers, &first);
    list(&l, "groups", r->groups, r->ngroups, &first);
    list(&l, "sa", r->service_accounts, r->nservice_accounts, &first);
    if (r->cred_mask != 0) {
        addf(&l, "%scredentials", first ? "" : "; ");
        for (b = 0, first = false; b < LIM_CRED_COUNT; b++) {
            if (r->cred_mask & (1u << b)) {
                addf(&l, " %s", lim_cred_name((enum lim_cred)b));
            }
        }
    }
    if (r->verb_mask != 0) {
        addf(&l, "%sverbs", first ? "" : "; ");
        for (b = 0, first = false; b < LIM_VERB_COUNT; b++) {
            if (r->verb_mask & (1u << b)) {
                addf(&l, " %s", lim_verb_name((enum lim_verb)b));
            }
        }
    }
    list(&l, "resources", r->resources, r->nresources, &first);
    list(&l, "in groups", r->api_groups, r->napi_groups, &first);
    list(&l, "namespaces", r->namespaces, r->nnamespaces, &first);
    if (r->cluster_scope) {
        addf(&l, "%scluster-scoped", first ? "" : "; ");
        first = false;
    }
    list(&l, "paths", r->non_resource, r->nnon_resource, &first);
    emit(o, &l);
}

static void
class_block(struct out *o, const struct lim_policy *p, size_t ci, size_t shown)
{
    const struct lim_class_params *c = lim_policy_class(p, ci);
    struct line l = {{0}, 0};
    size_t ri;

    addf(&l, "%3zu %-16s %-7s ", shown, c->name, lim_mode_name(c->mode));
    budget(&l, c);
    emit(o, &l);
    watches(o, c);
    for (ri = 0; ri < lim_policy_rule_count(p); ri++) {
        const struct lim_rule_params *r = lim_policy_rule(p, ri);

        if (strcmp(r->class_name, c->name) == 0) {
            rule_line(o, r, ri);
        }
    }
}

size_t
cf_summary(const struct cf_config *cf, char *buf, size_t len)
{
    const struct lim_policy *p = cf->policy;
    struct out o = {buf, len, 0};
    struct line l = {{0}, 0};
    size_t nclasses = lim_policy_class_count(p), ri, ci, shown = 0;

    if (len > 0) {
        buf[0] = '\0';
    }
    header(&o, cf);
    addf(&l, "classes in match order (mode, budget, the rules that send to them):");
    emit(&o, &l);
    /* A class is shown at its first rule; a class no rule sends to last. */
    for (ri = 0; ri < lim_policy_rule_count(p); ri++) {
        const char *name = lim_policy_rule(p, ri)->class_name;
        size_t k;

        for (k = 0; k < ri && strcmp(lim_policy_rule(p, k)->class_name, name) != 0; k++) {
        }
        if (k == ri) {
            class_block(&o, p, (size_t)lim_policy_class_index(p, name), ++shown);
        }
    }
    for (ci = 0; ci < nclasses; ci++) {
        const char *name = lim_policy_class(p, ci)->name;

        for (ri = 0; ri < lim_policy_rule_count(p); ri++) {
            if (strcmp(lim_policy_rule(p, ri)->class_name, name) == 0) {
                break;
            }
        }
        if (ri == lim_policy_rule_count(p)) {
            class_block(&o, p, ci, ++shown);
            addf(&l, "      (no rule sends requests to it)");
            emit(&o, &l);
        }
    }
    return o.need;
}
