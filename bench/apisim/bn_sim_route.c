/* What a request does, in kube-apiserver's filter order: authentication
 * (401), RequestInfo (limiter/lim_request), authorization (anonymous gets
 * only health, version and discovery, as RBAC's system:public-info-viewer
 * and system:discovery give it), the capacity model (429 / queue / 504),
 * then the handler against the store. */
#include "bn_sim_srv.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "bn_sim_pb.h"
#include "px_clock.h"
#include "px_log.h"

static const char not_found_msg[] = "the server could not find the requested resource";

void
bn_sim_server_kick(struct bn_sim_server *s, uint64_t now_ns)
{
    uint64_t next = bn_sim_cap_next_ns(s->cap);
    struct timeval tv;
    uint64_t d;

    if (next == s->cap_timer_ns) {
        return;
    }
    s->cap_timer_ns = next;
    if (next == UINT64_MAX) {
        evtimer_del(s->cap_timer);
        return;
    }
    d = next > now_ns ? next - now_ns : 0;
    /* round up: firing early would find nothing due and spin */
    d = (d + 999) / 1000;
    tv.tv_sec = (time_t)(d / 1000000);
    tv.tv_usec = (suseconds_t)(d % 1000000);
    evtimer_add(s->cap_timer, &tv);
}

const char *
bn_sim_query_param(struct bn_sim_conn *c, const char *key, char *buf, size_t len)
{
    const char *q = memchr(c->rq->url, '?', c->rq->url_len), *end = c->rq->url + c->rq->url_len;
    size_t klen = strlen(key);

    if (q == NULL) {
        return NULL;
    }
    for (q++; q < end;) {
        const char *amp = memchr(q, '&', (size_t)(end - q)), *stop = amp != NULL ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));

        if ((size_t)((eq != NULL ? eq : stop) - q) == klen && strncmp(q, key, klen) == 0) {
            const char *v = eq != NULL ? eq + 1 : stop;
            size_t n = 0;

            while (v < stop && n + 1 < len) {
                if (*v == '%' && stop - v >= 3 && isxdigit((unsigned char)v[1]) &&
                    isxdigit((unsigned char)v[2])) {
                    char hex[3] = {v[1], v[2], '\0'};

                    buf[n++] = (char)strtol(hex, NULL, 16);
                    v += 3;
                } else {
                    buf[n++] = *v == '+' ? ' ' : *v;
                    v++;
                }
            }
            buf[n] = '\0';
            return buf;
        }
        q = stop + 1;
    }
    return NULL;
}

static const struct bn_sim_header *
header(const struct bn_sim_conn *c, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < c->rq->nheaders; i++) {
        if (c->rq->headers[i].name_len == n && strncasecmp(c->rq->headers[i].name, name, n) == 0) {
            return &c->rq->headers[i];
        }
    }
    return NULL;
}

static void
status(struct bn_sim_conn *c, int code, const char *reason, const char *msg)
{
    struct bn_sim_status st;

    bn_sim_status_set(&st, code, reason, "%s", msg);
    bn_sim_respond_status(c, &st);
}

static void
text(struct bn_sim_conn *c, int code, const char *t)
{
    bn_sim_respond(c, code, "text/plain; charset=utf-8", NULL, NULL, t, strlen(t));
}

/* --- non-resource endpoints --- */

static bool
is_probe(const char *path)
{
    static const char *const probes[] = {"/healthz", "/livez", "/readyz"};
    size_t i, n;

    for (i = 0; i < 3; i++) {
        n = strlen(probes[i]);
        if (strncmp(path, probes[i], n) == 0 && (path[n] == '\0' || path[n] == '/')) {
            return true;
        }
    }
    return false;
}

static void
json_user(const struct bn_sim_user *u, json_t *obj, const char *user_key)
{
    json_t *groups = json_array(), *extra = json_object();
    size_t i;

    for (i = 0; i < u->ngroups; i++) {
        json_array_append_new(groups, json_string(u->groups[i]));
    }
    for (i = 0; i < u->nextra; i++) {
        json_t *vals = json_object_get(extra, u->extra[i].key);

        if (vals == NULL) {
            vals = json_array();
            json_object_set_new(extra, u->extra[i].key, vals);
        }
        json_array_append_new(vals, json_string(u->extra[i].value));
    }
    json_object_set_new(obj, user_key, json_string(u->name));
    if (u->uid[0] != '\0') {
        json_object_set_new(obj, "uid", json_string(u->uid));
    }
    json_object_set_new(obj, "groups", groups);
    json_object_set_new(obj, "extra", extra);
}

static void
respond_json(struct bn_sim_conn *c, int code, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(j);
    if (s == NULL) {
        status(c, 500, "InternalError", "Internal error occurred: out of memory");
        return;
    }
    bn_sim_respond(c, code, "application/json", NULL, NULL, s, strlen(s));
    free(s);
}

static void
whoami(struct bn_sim_conn *c)
{
    json_t *j = json_object();

    json_user(&c->rq->user, j, "user");
    json_object_set_new(j, "authenticatedBy", json_string(bn_sim_authn_name(c->rq->user.method)));
    respond_json(c, 200, j);
}

static void
metrics(struct bn_sim_conn *c)
{
    struct bn_sim_server *s = c->srv;
    struct bn_sim_gauges g;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL) {
        status(c, 500, "InternalError", "Internal error occurred: out of memory");
        return;
    }
    memset(&g, 0, sizeof(g));
    bn_sim_cap_stats(s->cap, px_now_ns(), &g.cap);
    bn_sim_store_stats(s->store, &g.store);
    g.connections = s->nconns;
    g.watches_open = s->nwatches;
    g.watch_memory_bytes = s->nwatches * s->cfg->watch_memory_bytes;
    g.watch_buffered_bytes = bn_sim_watch_buffered(s);
    bn_sim_metrics_render(&s->metrics, &g, f);
    fclose(f);
    bn_sim_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, NULL, buf, len);
    free(buf);
}

static void
recent(struct bn_sim_conn *c)
{
    char last[32], *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    unsigned long n = 50;

    if (bn_sim_query_param(c, "last", last, sizeof(last)) != NULL) {
        n = strtoul(last, NULL, 10);
    }
    if (f == NULL) {
        status(c, 500, "InternalError", "Internal error occurred: out of memory");
        return;
    }
    bn_sim_reqlog_render(c->srv->reqlog, n, f);
    fclose(f);
    bn_sim_respond(c, 200, "application/json", NULL, NULL, buf, len);
    free(buf);
}

/* Served at once, outside the model: probes are exempt in APF, and
 * /metrics and /debug are the simulator's own plumbing. */
static bool
plumbing(struct bn_sim_conn *c)
{
    const char *p = c->rq->info.path;

    if (c->rq->info.is_resource ||
        (strcmp(c->rq->method, "GET") != 0 && strcmp(c->rq->method, "HEAD") != 0)) {
        return false;
    }
    if (is_probe(p)) {
        text(c, 200, "ok");
    } else if (strcmp(p, "/metrics") == 0) {
        metrics(c);
    } else if (strcmp(p, "/debug/whoami") == 0) {
        whoami(c);
    } else if (strcmp(p, "/debug/requests") == 0) {
        recent(c);
    } else {
        return false;
    }
    return true;
}

/* RBAC's defaults for system:unauthenticated: health, version, discovery. */
static bool
anonymous_may(const struct bn_sim_conn *c)
{
    const char *p = c->rq->info.path;

    if (c->rq->info.is_resource || c->rq->info.verb != LIM_VERB_GET) {
        return false;
    }
    return is_probe(p) || strcmp(p, "/version") == 0 || strcmp(p, "/api") == 0 ||
           strncmp(p, "/api/", 5) == 0 || strcmp(p, "/apis") == 0 || strncmp(p, "/apis/", 6) == 0;
}

static void
forbidden(struct bn_sim_conn *c)
{
    struct bn_sim_status st;
    const struct lim_request *r = &c->rq->info;
    const char *verb = lim_verb_name(r->verb);
    char res[128];

    if (!r->is_resource) {
        bn_sim_status_set(&st, 403, "Forbidden", "forbidden: User \"%s\" cannot %s path \"%.200s\"",
                          c->rq->user.name, verb, r->path);
        st.kind = NULL;
        bn_sim_respond_status(c, &st);
        return;
    }
    snprintf(res, sizeof(res), "%s%s%s", r->resource, r->subresource[0] != '\0' ? "/" : "",
             r->subresource);
    if (r->ns[0] != '\0') {
        bn_sim_status_set(&st, 403, "Forbidden",
                          "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group "
                          "\"%s\" in the namespace \"%s\"",
                          r->resource, c->rq->user.name, verb, res, r->api_group, r->ns);
    } else {
        bn_sim_status_set(&st, 403, "Forbidden",
                          "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group "
                          "\"%s\" at the cluster scope",
                          r->resource, c->rq->user.name, verb, res, r->api_group);
    }
    snprintf(st.name, sizeof(st.name), "%s", r->name);
    st.kind = r->resource;
    st.group = r->api_group;
    bn_sim_respond_status(c, &st);
}

/* --- resource requests --- */

static int
parse_rv(struct bn_sim_conn *c)
{
    const struct lim_request *r = &c->rq->info;
    char *end;

    c->rq->q.rv_mode = r->rv == LIM_RV_ZERO    ? BN_SIM_RV_ZERO
                       : r->rv == LIM_RV_VALUE ? BN_SIM_RV_VALUE
                                               : BN_SIM_RV_UNSET;
    c->rq->q.rv = 0;
    if (c->rq->q.rv_mode == BN_SIM_RV_VALUE) {
        c->rq->q.rv = strtoull(r->resource_version, &end, 10);
        if (*end != '\0' || !isdigit((unsigned char)r->resource_version[0])) {
            char msg[300];

            snprintf(msg, sizeof(msg), "invalid resource version \"%.200s\"", r->resource_version);
            status(c, 400, "BadRequest", msg);
            return -1;
        }
    }
    if (r->rv_match == LIM_RVM_OTHER) {
        status(c, 400, "BadRequest", "resourceVersionMatch: Unsupported value");
        return -1;
    }
    if (r->rv_match != LIM_RVM_NONE && c->rq->q.rv_mode == BN_SIM_RV_UNSET) {
        status(c, 400, "BadRequest",
               "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
               "resourceVersion is provided");
        return -1;
    }
    if (r->rv_match == LIM_RVM_EXACT && c->rq->q.rv_mode == BN_SIM_RV_ZERO) {
        status(c, 400, "BadRequest",
               "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for "
               "resourceVersion \"0\"");
        return -1;
    }
    c->rq->q.exact = r->rv_match == LIM_RVM_EXACT;
    return 0;
}

/* ListOptions of a list or watch: selectors, limit, continue. */
static int
parse_list(struct bn_sim_conn *c)
{
    const struct lim_request *r = &c->rq->info;
    struct bn_sim_status st;
    char err[256];

    if (r->bad_list_options) {
        status(c, 400, "BadRequest",
               "invalid list options: limit or timeoutSeconds is not an "
               "integer");
        return -1;
    }
    if (bn_sim_label_selector_parse(&c->rq->labels, r->label_selector, err, sizeof(err)) != 0 ||
        bn_sim_field_selector_parse(&c->rq->fields, r->field_selector, err, sizeof(err)) != 0) {
        status(c, 400, "BadRequest", err);
        return -1;
    }
    c->rq->q.labels = &c->rq->labels;
    c->rq->q.fields = &c->rq->fields;
    c->rq->q.limit = r->has_limit ? r->limit : 0;
    c->rq->q.cont = bn_sim_query_param(c, "continue", c->rq->cont, sizeof(c->rq->cont));
    if (bn_sim_store_check_query(c->rq->res, &c->rq->q, &st) != 0) {
        bn_sim_respond_status(c, &st);
        return -1;
    }
    return 0;
}

/* The capacity model's price of the request (bench/apisim/README.md). */
static uint64_t
cost(struct bn_sim_conn *c)
{
    const struct bn_sim_config *k = c->srv->cfg;
    struct bn_sim_store *st = c->srv->store;
    const char *node;
    bool selectors, cont;
    size_t scope;
    uint64_t n;

    c->rq->etcd = false;
    switch (c->rq->op) {
    case BN_SIM_OP_GET:
        c->rq->etcd = c->rq->q.rv_mode == BN_SIM_RV_UNSET; /* a quorum read of one key */
        return k->cost_get_ns;
    case BN_SIM_OP_LIST:
    case BN_SIM_OP_WATCH:
        /* only lists and watches have a resource scope and selectors */
        scope = bn_sim_store_count(st, c->rq->res, c->rq->q.ns);
        node = c->rq->res == BN_SIM_RES_PODS
                   ? bn_sim_selector_exact(&c->rq->fields, "spec.nodeName")
                   : NULL;
        selectors = c->rq->labels.nreqs > 0 || c->rq->fields.nreqs > 0;
        cont = c->rq->q.cont != NULL && c->rq->q.cont[0] != '\0';
        if (c->rq->op == BN_SIM_OP_WATCH && c->rq->q.rv_mode == BN_SIM_RV_VALUE &&
            !c->rq->info.send_initial_events) {
            return k->cost_watch_ns; /* from the cache's history: no list */
        }
        if (c->rq->q.rv_mode == BN_SIM_RV_UNSET || cont || c->rq->q.exact ||
            (c->rq->op == BN_SIM_OP_LIST && c->rq->q.rv_mode == BN_SIM_RV_VALUE &&
             c->rq->q.limit > 0)) {
            /* etcd reads the whole range; selectors filter afterwards */
            c->rq->etcd = true;
            n = c->rq->q.limit > 0 && !selectors && c->rq->q.limit < scope ? c->rq->q.limit : scope;
            return k->cost_list_ns + n * k->cost_list_etcd_per_object_ns +
                   (c->rq->op == BN_SIM_OP_WATCH ? k->cost_watch_ns : 0);
        }
        n = node != NULL ? bn_sim_store_count_on_node(st, node) : scope;
        return k->cost_list_ns + n * k->cost_list_cache_per_object_ns +
               (c->rq->op == BN_SIM_OP_WATCH ? k->cost_watch_ns : 0);
    case BN_SIM_OP_CREATE:
    case BN_SIM_OP_UPDATE:
    case BN_SIM_OP_PATCH:
    case BN_SIM_OP_DELETE:
        c->rq->etcd = true;
        return k->cost_write_ns;
    default:
        return k->cost_discovery_ns;
    }
}

static void on_job(struct bn_sim_job *j, enum bn_sim_cap_outcome o, uint64_t now_ns);

static void
submit(struct bn_sim_conn *c)
{
    struct bn_sim_server *s = c->srv;
    uint64_t now = px_now_ns();
    size_t i;

    c->job.cost_ns = cost(c);
    c->job.mutating = c->rq->info.is_mutating;
    c->job.exempt = false;
    for (i = 0; i < c->rq->user.ngroups; i++) {
        /* max-inflight's bypass for system:masters (not the storage's) */
        c->job.exempt |= strcmp(c->rq->user.groups[i], "system:masters") == 0;
    }
    c->job.done = on_job;
    c->job.arg = c;
    if (bn_sim_cap_submit(s->cap, &c->job, now) != BN_SIM_CAP_ADMITTED) {
        bn_sim_respond_429(c);
        return;
    }
    c->job_active = true;
    c->state = BN_SIM_CONN_WAITING;
    bn_sim_cap_advance(s->cap, now);
    bn_sim_server_kick(s, now);
}

static int
resource_route(struct bn_sim_conn *c)
{
    const struct lim_request *r = &c->rq->info;
    const struct bn_sim_resdef *d;
    bool status_sub = strcmp(r->subresource, "status") == 0;
    int res = bn_sim_res_find(r->api_group, r->api_version, r->resource);

    if (strcmp(r->api_group, "authentication.k8s.io") == 0 && strcmp(r->api_version, "v1") == 0 &&
        strcmp(r->resource, "selfsubjectreviews") == 0 && r->verb == LIM_VERB_CREATE &&
        r->ns[0] == '\0' && r->name[0] == '\0') {
        c->rq->op = BN_SIM_OP_SELFSUBJECTREVIEW;
        return 0;
    }
    if (res < 0 || (r->subresource[0] != '\0' && !status_sub)) {
        status(c, 404, "NotFound", not_found_msg);
        return -1;
    }
    c->rq->res = (enum bn_sim_res)res;
    d = bn_sim_resdef(c->rq->res);
    if (status_sub && c->rq->res != BN_SIM_RES_PODS && c->rq->res != BN_SIM_RES_NODES &&
        c->rq->res != BN_SIM_RES_NAMESPACES) {
        status(c, 404, "NotFound", not_found_msg);
        return -1;
    }
    /* a namespaced object lives under namespaces/NS; a cluster-scoped one never */
    if (!d->namespaced && r->ns[0] != '\0' && c->rq->res != BN_SIM_RES_NAMESPACES) {
        status(c, 404, "NotFound", not_found_msg);
        return -1;
    }
    memset(&c->rq->q, 0, sizeof(c->rq->q));
    c->rq->labels.nreqs = 0;
    c->rq->fields.nreqs = 0;
    c->rq->q.ns = d->namespaced ? r->ns : "";
    c->rq->q.name = r->name;
    switch (r->verb) {
    case LIM_VERB_GET:
        c->rq->op = BN_SIM_OP_GET;
        break;
    case LIM_VERB_LIST:
        c->rq->op = BN_SIM_OP_LIST;
        break;
    case LIM_VERB_WATCH:
        c->rq->op = BN_SIM_OP_WATCH;
        break;
    case LIM_VERB_CREATE:
        c->rq->op = BN_SIM_OP_CREATE;
        break;
    case LIM_VERB_UPDATE:
        c->rq->op = BN_SIM_OP_UPDATE;
        break;
    case LIM_VERB_PATCH:
        c->rq->op = BN_SIM_OP_PATCH;
        break;
    case LIM_VERB_DELETE:
        c->rq->op = BN_SIM_OP_DELETE;
        break;
    default:
        status(c, 405, "MethodNotAllowed",
               "the server does not allow this method on the requested resource");
        return -1;
    }
    if (status_sub && c->rq->op != BN_SIM_OP_GET && c->rq->op != BN_SIM_OP_UPDATE &&
        c->rq->op != BN_SIM_OP_PATCH) {
        status(c, 405, "MethodNotAllowed",
               "the server does not allow this method on the requested resource");
        return -1;
    }
    /* creating or naming a namespaced object needs its namespace in the path */
    if (d->namespaced && r->ns[0] == '\0' && c->rq->op != BN_SIM_OP_LIST &&
        c->rq->op != BN_SIM_OP_WATCH) {
        status(c, 405, "MethodNotAllowed",
               "the server does not allow this method on the requested resource");
        return -1;
    }
    if (parse_rv(c) != 0) {
        return -1;
    }
    if ((c->rq->op == BN_SIM_OP_LIST || c->rq->op == BN_SIM_OP_WATCH) && parse_list(c) != 0) {
        return -1;
    }
    return 0;
}

void
bn_sim_route(struct bn_sim_conn *c)
{
    struct bn_sim_server *s = c->srv;
    char err[256];
    size_t len;

    /* RequestInfo comes before authentication in kube's handler chain */
    if (lim_request_parse(&c->rq->info, c->rq->method, strlen(c->rq->method), c->rq->url,
                          c->rq->url_len, err, sizeof(err)) != 0) {
        c->rq->info.verb = LIM_VERB_UNKNOWN;
        c->rq->info.path = "";
        status(c, 400, "BadRequest", err);
        return;
    }
    if (bn_sim_auth_request(s->auth, &c->peer, c->rq->headers, c->rq->nheaders, px_wall_s(),
                            &c->rq->user) != 0) {
        s->metrics.auth_failures++;
        if (px_log_enabled(s->log, PX_LOG_DEBUG)) {
            px_logf(s->log, PX_LOG_DEBUG, "c=%" PRIu64 " peer=%s unauthorized: %s", c->id,
                    c->peer_addr, c->rq->user.err);
        }
        c->rq->user.name = "";
        status(c, 401, "Unauthorized", "Unauthorized");
        return;
    }
    if (plumbing(c)) {
        return;
    }
    if (c->rq->user.method == BN_SIM_AUTHN_ANONYMOUS && !anonymous_may(c)) {
        forbidden(c);
        return;
    }
    if (!c->rq->info.is_resource) {
        if ((c->rq->info.verb != LIM_VERB_GET && c->rq->info.verb != LIM_VERB_HEAD) ||
            bn_sim_discovery_get(s->disc, c->rq->info.path, &len) == NULL) {
            text(c, 404, "404 page not found\n"); /* Go's http.NotFound */
            return;
        }
        c->rq->op = BN_SIM_OP_NONRESOURCE;
        memset(&c->rq->q, 0, sizeof(c->rq->q));
        c->rq->labels.nreqs = c->rq->fields.nreqs = 0;
        submit(c);
        return;
    }
    if (resource_route(c) == 0) {
        submit(c);
    }
}

/* --- handlers, run when the model served the request --- */

struct list_ctx {
    struct evbuffer *items;
    size_t n;
};

static void
emit_item(void *arg, struct bn_sim_obj *o)
{
    struct list_ctx *lc = arg;

    if (lc->n++ > 0) {
        evbuffer_add(lc->items, ",", 1);
    }
    bn_sim_add_obj(lc->items, o);
}

static void
do_list(struct bn_sim_conn *c)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(c->rq->res);
    struct bn_sim_list_result res;
    struct bn_sim_status st;
    struct list_ctx lc = {evbuffer_new(), 0};
    struct evbuffer *body = evbuffer_new();

    if (lc.items == NULL || body == NULL) {
        evbuffer_free(lc.items);
        evbuffer_free(body);
        bn_sim_conn_abort(c, "out of memory");
        return;
    }
    if (bn_sim_store_list(c->srv->store, c->rq->res, &c->rq->q, emit_item, &lc, &res, &st) != 0) {
        bn_sim_respond_status(c, &st);
    } else {
        evbuffer_add_printf(body,
                            "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
                            "\"resourceVersion\":\"%" PRIu64 "\"",
                            d->list_kind, d->api_version, res.rv);
        if (res.cont[0] != '\0') {
            evbuffer_add_printf(body, ",\"continue\":\"%s\"", res.cont);
        }
        if (res.remaining >= 0) {
            evbuffer_add_printf(body, ",\"remainingItemCount\":%" PRId64, res.remaining);
        }
        evbuffer_add_printf(body, "},\"items\":[");
        evbuffer_add_buffer(body, lc.items);
        evbuffer_add(body, "]}\n", 3);
        bn_sim_respond(c, 200, "application/json", NULL, body, NULL, 0);
    }
    evbuffer_free(lc.items);
    evbuffer_free(body);
}

static void
respond_obj(struct bn_sim_conn *c, int code, struct bn_sim_obj *o)
{
    struct evbuffer *body = evbuffer_new();

    if (body == NULL) {
        bn_sim_conn_abort(c, "out of memory");
        return;
    }
    bn_sim_add_obj(body, o);
    evbuffer_add(body, "\n", 1);
    bn_sim_respond(c, code, "application/json", NULL, body, NULL, 0);
    evbuffer_free(body);
}

/* The request body as JSON: JSON as sent, or a protobuf body decoded (the
 * kinds typed clients write); an empty DELETE body is no options. */
static json_t *
body_json(struct bn_sim_conn *c, bool required)
{
    size_t len = evbuffer_get_length(c->body);
    const struct bn_sim_header *ct = header(c, "Content-Type");
    const uint8_t *data;
    json_error_t jerr;
    json_t *doc;
    char msg[400];
    int code;

    if (len == 0 && !required) {
        return json_object();
    }
    data = evbuffer_pullup(c->body, -1);
    if (ct != NULL && ct->value_len >= strlen(BN_SIM_PB_CTYPE) &&
        strncasecmp(ct->value, BN_SIM_PB_CTYPE, strlen(BN_SIM_PB_CTYPE)) == 0) {
        doc = c->rq->op == BN_SIM_OP_DELETE
                  ? bn_sim_pb_delete_options(data, len, &code, msg, sizeof(msg))
                  : bn_sim_pb_object(c->rq->res, data, len, &code, msg, sizeof(msg));
        if (doc == NULL) {
            status(c, code, code == 415 ? "UnsupportedMediaType" : "BadRequest", msg);
        }
        return doc;
    }
    doc = json_loadb((const char *)data, len, 0, &jerr);
    if (doc == NULL) {
        snprintf(msg, sizeof(msg), "the object provided is unrecognized: json parse error: %s",
                 jerr.text);
        status(c, 400, "BadRequest", msg);
    }
    return doc;
}

static void
do_write(struct bn_sim_conn *c)
{
    struct bn_sim_server *s = c->srv;
    const struct lim_request *r = &c->rq->info;
    struct bn_sim_obj *o = NULL;
    struct bn_sim_status st;
    const struct bn_sim_header *ct;
    json_t *doc;
    int rc = -1;

    if (c->rq->op == BN_SIM_OP_PATCH) {
        ct = header(c, "Content-Type");
        if (ct == NULL ||
            (strncasecmp(ct->value, "application/merge-patch+json", 28) != 0 &&
             strncasecmp(ct->value, "application/strategic-merge-patch+json", 38) != 0)) {
            status(c, 415, "UnsupportedMediaType",
                   "the body of the request was in an unknown format - accepted media types "
                   "include: application/merge-patch+json, "
                   "application/strategic-merge-patch+json");
            return;
        }
        rc = bn_sim_store_patch(s->store, c->rq->res, c->rq->q.ns, r->name,
                                (const char *)evbuffer_pullup(c->body, -1),
                                evbuffer_get_length(c->body), &o, &st);
    } else if ((doc = body_json(c, c->rq->op != BN_SIM_OP_DELETE)) == NULL) {
        return;
    } else if (c->rq->op == BN_SIM_OP_CREATE) {
        rc = bn_sim_store_create(s->store, c->rq->res, c->rq->q.ns, doc, px_wall_s(), &o, &st);
        json_decref(doc);
    } else if (c->rq->op == BN_SIM_OP_UPDATE) {
        rc = bn_sim_store_update(s->store, c->rq->res, c->rq->q.ns, r->name, doc, &o, &st);
        json_decref(doc);
    } else {
        json_t *pre = json_object_get(doc, "preconditions");

        rc = bn_sim_store_delete(s->store, c->rq->res, c->rq->q.ns, r->name,
                                 json_string_value(json_object_get(pre, "uid")),
                                 json_string_value(json_object_get(pre, "resourceVersion")), &o,
                                 &st);
        json_decref(doc);
        if (rc == 0) {
            /* registry.Store.Delete answers a Status for kinds it does not return */
            bn_sim_status_set(&st, 200, "", "%s", "");
            snprintf(st.name, sizeof(st.name), "%s", o->name);
            st.kind = bn_sim_resdef(c->rq->res)->name;
            st.group = bn_sim_resdef(c->rq->res)->group;
            bn_sim_respond_status(c, &st);
            return;
        }
    }
    if (rc != 0) {
        bn_sim_respond_status(c, &st);
        return;
    }
    respond_obj(c, c->rq->op == BN_SIM_OP_CREATE ? 201 : 200, o);
}

static void
do_selfsubjectreview(struct bn_sim_conn *c)
{
    json_t *info = json_object();

    json_user(&c->rq->user, info, "username");
    respond_json(c, 201,
                 json_pack("{s:s,s:s,s:{s:n},s:{s:o}}", "kind", "SelfSubjectReview", "apiVersion",
                           "authentication.k8s.io/v1", "metadata", "creationTimestamp", "status",
                           "userInfo", info));
}

static void
execute(struct bn_sim_conn *c)
{
    struct bn_sim_server *s = c->srv;
    struct bn_sim_obj *o;
    const char *doc;
    size_t len;

    switch (c->rq->op) {
    case BN_SIM_OP_NONRESOURCE:
        doc = bn_sim_discovery_get(s->disc, c->rq->info.path, &len);
        bn_sim_respond(c, 200, "application/json", NULL, NULL, doc, len);
        break;
    case BN_SIM_OP_GET:
        o = bn_sim_store_get(s->store, c->rq->res, c->rq->q.ns, c->rq->info.name);
        if (o == NULL) {
            struct bn_sim_status st;

            bn_sim_status_set(&st, 404, "NotFound", "%s \"%s\" not found",
                              bn_sim_res_qualified(c->rq->res), c->rq->info.name);
            snprintf(st.name, sizeof(st.name), "%s", c->rq->info.name);
            st.kind = bn_sim_resdef(c->rq->res)->name;
            st.group = bn_sim_resdef(c->rq->res)->group;
            bn_sim_respond_status(c, &st);
        } else {
            respond_obj(c, 200, o);
        }
        break;
    case BN_SIM_OP_LIST:
        do_list(c);
        break;
    case BN_SIM_OP_WATCH:
        bn_sim_watch_start(c);
        break;
    case BN_SIM_OP_SELFSUBJECTREVIEW:
        do_selfsubjectreview(c);
        break;
    default:
        do_write(c);
        break;
    }
}

static void
on_job(struct bn_sim_job *j, enum bn_sim_cap_outcome o, uint64_t now_ns)
{
    struct bn_sim_conn *c = j->arg;

    (void)now_ns;
    c->job_active = false;
    if (o == BN_SIM_CAP_TIMEOUT) {
        /* etcd's own deadline for storage work; the request filter's for the rest */
        if (c->rq->etcd) {
            status(c, 500, "", "etcdserver: request timed out");
        } else {
            status(c, 504, "Timeout",
                   "Timeout: request did not complete within requested timeout - context "
                   "deadline exceeded");
        }
        return;
    }
    execute(c);
}
