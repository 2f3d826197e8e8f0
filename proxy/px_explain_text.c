/* Explain as text: the same facts as the JSON (px_explain.c), a labelled
 * line or two each, for a person at a terminal. */
#include "px_explain.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct out {
    char *buf;
    size_t len;
    size_t need; /* bytes the whole text needs, NUL excluded */
};

static void addf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
addf(struct out *o, const char *fmt, ...)
{
    size_t room = o->need < o->len ? o->len - o->need : 0;
    va_list ap;
    int w;

    va_start(ap, fmt);
    w = vsnprintf(room != 0 ? o->buf + o->need : NULL, room, fmt, ap);
    va_end(ap);
    if (w > 0) {
        o->need += (size_t)w;
    }
}

static const char *
rate(uint64_t mtps, char *buf, size_t len)
{
    return mtps != 0 ? cf_fmt_rate(mtps, buf, len) : "none";
}

static void
milli(struct out *o, uint64_t mt)
{
    if (mt % 1000 == 0) {
        addf(o, "%llu", (unsigned long long)(mt / 1000));
    } else {
        addf(o, "%llu.%03llu", (unsigned long long)(mt / 1000), (unsigned long long)(mt % 1000));
    }
}

static void
text_request(struct out *o, const struct px_explain *x)
{
    const struct lim_request *r = &x->req;
    const char *why, *from = px_explain_read_from(r, &why);

    addf(o, "request   %s %s\n", r->method, x->target);
    if (r->is_resource) {
        addf(o, "          %s %s%s%s%s%s",
             r->verb != LIM_VERB_UNKNOWN ? lim_verb_name(r->verb) : "(no verb)", r->resource,
             r->subresource[0] ? "/" : "", r->subresource, r->name[0] ? " " : "", r->name);
        if (r->ns[0] != '\0') {
            addf(o, " in namespace %s", r->ns);
        } else {
            addf(o, ", no namespace");
        }
        addf(o, " (%s/%s)\n", r->api_group[0] ? r->api_group : "core", r->api_version);
    } else {
        addf(o, "          %s non-resource path %s\n", lim_verb_name(r->verb), r->path);
    }
    addf(o, "          %s, %s\n", r->is_long_running ? "long-running" : "not long-running",
         r->is_mutating ? "mutating" : "read-only");
    if (strcmp(from, "none") != 0) {
        addf(o, "          %s read: %s\n", from, why);
    }
}

static void
text_identity(struct out *o, const struct lim_identity *id)
{
    unsigned i;

    addf(o, "identity  %s (%s)", id->user, lim_cred_name(id->cred));
    for (i = 0; i < id->ngroups; i++) {
        addf(o, "%s%s", i == 0 ? ", groups " : ", ", id->groups[i]);
    }
    addf(o, "\n");
    if (id->node[0] != '\0' || id->sa_namespace[0] != '\0') {
        addf(o, "         ");
        if (id->sa_namespace[0] != '\0') {
            addf(o, " service account %s/%s", id->sa_namespace, id->sa_name);
        }
        if (id->node[0] != '\0') {
            addf(o, "%s node %s", id->sa_namespace[0] != '\0' ? "," : "", id->node);
        }
        addf(o, "\n");
    }
}

static void
text_rule(struct out *o, const struct px_explain *x)
{
    size_t k;

    addf(o, "rule      rules[%zu] of %zu -> class %s\n", x->dec.rule,
         lim_policy_rule_count(x->cf->policy), x->cls->name);
    for (k = 0; k < x->tr.nmisses; k++) {
        addf(o, "          rules[%zu] did not match: %s\n", x->tr.miss_rule[k], x->tr.misses[k]);
    }
    if (x->dec.rule > x->tr.nmisses) {
        addf(o, "          (and %zu more rules before it)\n", x->dec.rule - x->tr.nmisses);
    }
}

static void
text_budget(struct out *o, const struct px_explain *x)
{
    const struct lim_class_params *c = x->cls;
    const struct lim_global_params *g = lim_policy_global(x->cf->policy);
    const char *pool = x->tr.pool == LIM_KIND_MUTATING ? "mutating" : "readonly";
    char a[48], b[48];

    addf(o, "budget    key: %s", rate(c->rate_mtps, a, sizeof(a)));
    if (c->rate_mtps != 0) {
        addf(o, " burst %u (", c->burst);
        milli(o, (uint64_t)(x->tr.key_tokens_mt > 0 ? x->tr.key_tokens_mt : 0));
        addf(o, " left)");
    }
    if (c->max_inflight_per_key != 0) {
        addf(o, ", %u seats", c->max_inflight_per_key);
    }
    if (c->max_watches_per_key != 0) {
        addf(o, ", %u open watches", c->max_watches_per_key);
    }
    if (c->watch_rate_mtps != 0) {
        addf(o, ", watches opened at %s burst %u", rate(c->watch_rate_mtps, a, sizeof(a)),
             c->watch_burst);
    }
    addf(o, "\n          class: %s", rate(c->class_rate_mtps, a, sizeof(a)));
    if (c->class_rate_mtps != 0) {
        addf(o, " burst %u (", c->class_burst);
        milli(o, (uint64_t)(x->tr.class_tokens_mt > 0 ? x->tr.class_tokens_mt : 0));
        addf(o, " left)");
    }
    if (x->tr.class_seat_cap != 0) {
        addf(o, ", %u of the %u %s seats", x->tr.class_seat_cap, x->tr.global_seat_cap, pool);
    }
    if (c->max_watches != 0) {
        addf(o, ", %u open watches", c->max_watches);
    }
    if (c->max_wait_ns != 0) {
        addf(o, ", waits up to %s", cf_fmt_duration(c->max_wait_ns, a, sizeof(a)));
    }
    addf(o, "\n          global: %u %s seats (%u reserved for exempt)", x->tr.global_seat_cap, pool,
         g->reserved_seats);
    if (g->max_watches != 0) {
        addf(o, ", %u open watches", g->max_watches);
    }
    if (g->watch_rate_mtps != 0) {
        addf(o, ", watches opened at %s burst %u", rate(g->watch_rate_mtps, b, sizeof(b)),
             g->watch_burst);
    }
    addf(o, "\n");
}

static void
text_decision(struct out *o, const struct px_explain *x)
{
    const struct lim_decision *d = &x->dec;

    if (x->live) {
        addf(o,
             "state     live: key %u seats, %u watches; class %lld seats, %lld watches; all "
             "%lld seats, %lld watches\n",
             x->tr.key_inflight, x->tr.key_watches, (long long)x->tr.class_inflight,
             (long long)x->tr.class_watches, (long long)x->tr.global_inflight,
             (long long)x->tr.global_watches);
    } else {
        addf(o, "state     fresh: full buckets, nothing in flight\n");
    }
    addf(o, "decision  %s", lim_verdict_name(d->verdict));
    if (d->exempt) {
        addf(o, " (exempt)");
    } else if (d->dry_run) {
        addf(o, " (dry-run: would reject for %s)", lim_reason_name(d->reason));
    } else if (d->verdict == LIM_REJECT) {
        addf(o, " (%s), Retry-After %u s", lim_reason_name(d->reason), d->retry_after_s);
    } else if (d->verdict == LIM_DELAY) {
        addf(o, " by ");
        milli(o, d->delay_ns / 1000000);
        addf(o, " s");
    }
    addf(o, "\n");
    if (x->tr.turn_why[0] != '\0') {
        addf(o, "turn      %s\n", x->tr.turn_why);
    }
}

size_t
px_explain_format(const struct px_explain *x, char *buf, size_t len)
{
    struct out o = {buf, len, 0};

    if (len != 0) {
        buf[0] = '\0';
    }
    text_request(&o, x);
    text_identity(&o, x->id);
    text_rule(&o, x);
    addf(&o, "class     %s, %s%s, key by %s: \"%s\"%s\n", x->cls->name, lim_mode_name(x->mode),
         x->mode_override ? " (operator override)" : "", lim_dist_name(x->cls->dist), x->tr.key,
         x->tr.key_len > strlen(x->tr.key) ? "..." : "");
    addf(&o, "cost      ");
    milli(&o, x->dec.cost_mt);
    addf(&o, " token%s, %u seat%s of the %s pool\n          %s\n",
         x->dec.cost_mt == 1000 ? "" : "s", x->dec.seats, x->dec.seats == 1 ? "" : "s",
         x->tr.pool == LIM_KIND_MUTATING ? "mutating" : "readonly", x->tr.cost_why);
    text_budget(&o, x);
    text_decision(&o, x);
    return o.need;
}
