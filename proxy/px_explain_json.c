/* Explain as JSON: see px_explain.h for the object, conf/README.md for its
 * keys. Every string goes through jstr, so the object is valid JSON
 * whatever bytes a request or a name carried. */
#include "px_explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_err.h"

/* Length of the UTF-8 sequence at <s> (at most <n> bytes), 0 if invalid
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xbf;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        lo = s[0] == 0xe0 ? 0xa0 : 0x80;
        hi = s[0] == 0xed ? 0x9f : 0xbf;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (len > n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return len;
}

/* A JSON string of <s>. Bytes that are not UTF-8 (a percent-decoded path,
 * a reason cut mid-character) become U+FFFD, as Go's encoding/json writes
 * them: the object is always valid JSON. */
static json_t *
jstr(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n, i = 0, o = 0;
    json_t *j = json_string(s);
    char *buf;

    if (j != NULL) {
        return j;
    }
    n = strlen(s);
    buf = malloc(3 * n + 1);
    if (buf == NULL) {
        return NULL;
    }
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);

        if (k == 0) {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, s + i, k);
            o += k;
            i += k;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

struct jb {
    json_t *o;
    bool failed;
};

static void
put(struct jb *b, const char *key, json_t *v)
{
    if (json_object_set_new(b->o, key, v) != 0) {
        b->failed = true;
    }
}

static void
put_str(struct jb *b, const char *key, const char *s)
{
    put(b, key, jstr(s));
}

static void
put_int(struct jb *b, const char *key, int64_t v)
{
    put(b, key, json_integer((json_int_t)v));
}

static void
put_bool(struct jb *b, const char *key, bool v)
{
    put(b, key, json_boolean(v));
}

/* Milli-units as a JSON number: 2280 -> 2.28. */
static void
put_milli(struct jb *b, const char *key, uint64_t milli)
{
    put(b, key, json_real((double)milli / 1000.0));
}

/* A rate as a number of tokens per second and as the human unit. */
static void
put_rate(struct jb *b, const char *key, const char *human_key, uint64_t mtps)
{
    char buf[48];

    put_milli(b, key, mtps);
    put_str(b, human_key, mtps != 0 ? cf_fmt_rate(mtps, buf, sizeof(buf)) : "none");
}

/* Milli-tokens left in a bucket, null when there is no bucket. */
static void
put_tokens(struct jb *b, const char *key, int64_t mt)
{
    put(b, key, mt < 0 ? json_null() : json_real((double)mt / 1000.0));
}

/* Attaches <child> under <key> of <b>, carrying its failure. */
static void
put_obj(struct jb *b, const char *key, struct jb *child)
{
    if (child->failed) {
        b->failed = true;
    }
    put(b, key, child->o);
}

static struct jb
obj(void)
{
    struct jb b = {json_object(), false};

    b.failed = b.o == NULL;
    return b;
}

static const char *
rv_match_name(enum lim_rv_match m)
{
    switch (m) {
    case LIM_RVM_NOT_OLDER_THAN:
        return "NotOlderThan";
    case LIM_RVM_EXACT:
        return "Exact";
    case LIM_RVM_OTHER:
        return "other";
    default:
        return "";
    }
}

static struct jb
j_request(const struct px_explain *x)
{
    const struct lim_request *r = &x->req;
    struct jb b = obj();
    const char *why, *from = px_explain_read_from(r, &why);

    put_str(&b, "method", r->method);
    put_str(&b, "target", x->target);
    put_str(&b, "path", r->path);
    put_bool(&b, "resource_request", r->is_resource);
    put_str(&b, "verb", lim_verb_name(r->verb));
    put_str(&b, "api_prefix", r->api_prefix);
    put_str(&b, "api_group", r->api_group);
    put_str(&b, "api_version", r->api_version);
    put_str(&b, "namespace", r->ns);
    put_str(&b, "resource", r->resource);
    put_str(&b, "subresource", r->subresource);
    put_str(&b, "name", r->name);
    put_bool(&b, "long_running", r->is_long_running);
    put_bool(&b, "mutating", r->is_mutating);
    put_str(&b, "resource_version", r->resource_version);
    put_str(&b, "resource_version_match", rv_match_name(r->rv_match));
    put_str(&b, "read_from", from);
    put_str(&b, "read_why", why);
    put(&b, "limit", r->has_limit ? json_integer((json_int_t)r->limit) : json_null());
    put_bool(&b, "continue", r->has_continue);
    put_str(&b, "label_selector", r->label_selector);
    put_str(&b, "field_selector", r->field_selector);
    put_bool(&b, "send_initial_events", r->send_initial_events);
    return b;
}

static struct jb
j_identity(const struct lim_identity *id)
{
    struct jb b = obj();
    json_t *groups = json_array();
    char sa[2 * LIM_ID_BUF];
    unsigned i;

    put_str(&b, "user", id->user);
    if (groups == NULL) {
        b.failed = true;
    }
    for (i = 0; groups != NULL && i < id->ngroups; i++) {
        if (json_array_append_new(groups, jstr(id->groups[i])) != 0) {
            b.failed = true;
        }
    }
    put(&b, "groups", groups);
    put_str(&b, "credential", lim_cred_name(id->cred));
    put_str(&b, "node", id->node);
    sa[0] = '\0';
    if (id->sa_namespace[0] != '\0') {
        snprintf(sa, sizeof(sa), "%s/%s", id->sa_namespace, id->sa_name);
    }
    put_str(&b, "service_account", sa);
    return b;
}

static struct jb
j_rule(const struct px_explain *x)
{
    struct jb b = obj();
    json_t *misses = json_array();
    size_t k;

    put_int(&b, "index", (int64_t)x->dec.rule);
    put_int(&b, "count", (int64_t)lim_policy_rule_count(x->cf->policy));
    if (misses == NULL) {
        b.failed = true;
    }
    for (k = 0; misses != NULL && k < x->tr.nmisses; k++) {
        struct jb m = obj();

        put_int(&m, "index", (int64_t)x->tr.miss_rule[k]);
        put_str(&m, "why", x->tr.misses[k]);
        if (m.failed || json_array_append_new(misses, m.o) != 0) {
            b.failed = true;
        }
    }
    put(&b, "misses", misses);
    /* First match wins: every earlier rule missed; the trace keeps the
     * first LIM_TRACE_MISSES of them. */
    put_int(&b, "misses_omitted", (int64_t)(x->dec.rule - x->tr.nmisses));
    return b;
}

static struct jb
j_class(const struct px_explain *x)
{
    struct jb b = obj();

    put_str(&b, "name", x->cls->name);
    put_str(&b, "mode", lim_mode_name(x->mode));
    put_bool(&b, "mode_override", x->mode_override);
    put_str(&b, "distinguisher", lim_dist_name(x->cls->dist));
    put_str(&b, "key", x->tr.key);
    /* The limiter keeps LIM_KEY_DISPLAY - 1 bytes of a key for display;
     * the whole value is in "identity" or "request". */
    put_bool(&b, "key_truncated", x->tr.key_len > strlen(x->tr.key));
    return b;
}

static struct jb
j_cost(const struct px_explain *x)
{
    struct jb b = obj();

    put_milli(&b, "tokens", x->dec.cost_mt);
    put_int(&b, "seats", x->dec.seats);
    put_str(&b, "pool", x->tr.pool == LIM_KIND_MUTATING ? "mutating" : "readonly");
    put_str(&b, "why", x->tr.cost_why);
    put_int(&b, "learned_bytes", (int64_t)x->tr.learned_bytes);
    return b;
}

static struct jb
j_budget(const struct px_explain *x)
{
    const struct lim_class_params *c = x->cls;
    const struct lim_global_params *g = lim_policy_global(x->cf->policy);
    struct jb b = obj(), k = obj(), cl = obj(), gl = obj();
    char buf[48];

    put_rate(&k, "rate", "rate_human", c->rate_mtps);
    put_int(&k, "burst", c->burst);
    put_tokens(&k, "tokens_left", x->tr.key_tokens_mt);
    put_int(&k, "max_inflight", c->max_inflight_per_key);
    put_int(&k, "max_watches", c->max_watches_per_key);
    put_rate(&k, "watch_rate", "watch_rate_human", c->watch_rate_mtps);
    put_int(&k, "watch_burst", c->watch_burst);

    put_rate(&cl, "rate", "rate_human", c->class_rate_mtps);
    put_int(&cl, "burst", c->class_burst);
    put_tokens(&cl, "tokens_left", x->tr.class_tokens_mt);
    put_int(&cl, "concurrency_share_pct", c->concurrency_share_pct);
    put_int(&cl, "seat_cap", x->tr.class_seat_cap);
    put_int(&cl, "max_watches", c->max_watches);
    put(&cl, "max_wait_s", json_real((double)c->max_wait_ns / 1e9));
    put_str(&cl, "max_wait_human", cf_fmt_duration(c->max_wait_ns, buf, sizeof(buf)));

    put_str(&gl, "pool", x->tr.pool == LIM_KIND_MUTATING ? "mutating" : "readonly");
    put_int(&gl, "seat_cap", x->tr.global_seat_cap);
    put_int(&gl, "reserved_seats", g->reserved_seats);
    put_int(&gl, "max_watches", g->max_watches);
    put_rate(&gl, "watch_rate", "watch_rate_human", g->watch_rate_mtps);
    put_int(&gl, "watch_burst", g->watch_burst);

    put_obj(&b, "key", &k);
    put_obj(&b, "class", &cl);
    put_obj(&b, "global", &gl);
    return b;
}

static struct jb
j_usage(int64_t inflight, int64_t watches)
{
    struct jb b = obj();

    put_int(&b, "inflight", inflight);
    put_int(&b, "watches", watches);
    return b;
}

static struct jb
j_state(const struct px_explain *x)
{
    struct jb b = obj(), k = j_usage(x->tr.key_inflight, x->tr.key_watches),
              c = j_usage(x->tr.class_inflight, x->tr.class_watches),
              g = j_usage(x->tr.global_inflight, x->tr.global_watches);

    put_bool(&b, "live", x->live);
    put_obj(&b, "key", &k);
    put_obj(&b, "class", &c);
    put_obj(&b, "global", &g);
    return b;
}

static struct jb
j_decision(const struct px_explain *x)
{
    const struct lim_decision *d = &x->dec;
    struct jb b = obj();

    put_str(&b, "verdict", lim_verdict_name(d->verdict));
    put_str(&b, "reason", lim_reason_name(d->reason));
    put_int(&b, "retry_after_s", d->retry_after_s);
    put(&b, "delay_s", json_real((double)d->delay_ns / 1e9));
    put_bool(&b, "dry_run", d->dry_run);
    put_bool(&b, "exempt", d->exempt);
    if (x->tr.turn_why[0] != '\0') {
        put_str(&b, "turn", x->tr.turn_why); /* the key's turn (limiter/lim_turn.c) */
    }
    return b;
}

json_t *
px_explain_to_json(const struct px_explain *x)
{
    struct jb b = obj(), cf = obj(), parts[8];
    static const char *const keys[8] = {"request", "identity", "rule",  "class",
                                        "cost",    "budget",   "state", "decision"};
    size_t i;

    put_str(&cf, "path", x->cf->path);
    put_str(&cf, "sha256", x->cf->hash);
    parts[0] = j_request(x);
    parts[1] = j_identity(x->id);
    parts[2] = j_rule(x);
    parts[3] = j_class(x);
    parts[4] = j_cost(x);
    parts[5] = j_budget(x);
    parts[6] = j_state(x);
    parts[7] = j_decision(x);
    put_obj(&b, "config", &cf);
    for (i = 0; i < 8; i++) {
        put_obj(&b, keys[i], &parts[i]);
    }
    if (b.failed) {
        json_decref(b.o);
        return NULL;
    }
    return b.o;
}

json_t *
px_explain_json(struct lim *l, bool live, const struct cf_config *cf, struct lim_identity *id,
                const char *method, const char *target, uint64_t now_ns, char *err, size_t errlen)
{
    struct px_explain *x = malloc(sizeof(*x)); /* 10 KB: not on a small stack */
    json_t *j = NULL;

    if (x == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (px_explain_run(x, l, live, cf, id, method, target, now_ns, err, errlen) == 0) {
        j = px_explain_to_json(x);
        if (j == NULL) {
            px_errf(err, errlen, "out of memory");
        }
    }
    free(x);
    return j;
}
