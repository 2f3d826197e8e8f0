/* Request classification as kube-apiserver derives it: RequestInfoFactory.
 * NewRequestInfo (k8s.io/apiserver pkg/endpoints/request/requestinfo.go)
 * with kube-apiserver's prefixes {api, apis} / groupless {api}, the
 * BasicLongRunningRequestCheck of pkg/server/filters/longrunning.go with
 * kube-apiserver's sets, and maxinflight.go's non-mutating verbs. See
 * lim_request.h; Go's URL handling is in lim_url.c and lim_query.c. */
#include "lim_request.h"

#include <stdio.h>
#include <string.h>

#include "lim_query.h"
#include "lim_selector.h"
#include "lim_url.h"

/* NewRequestInfo consumes at most prefix, group, version, a legacy verb and
 * namespaces/NAME before resource/name/subresource: 9 segments. */
#define SEG_MAX 9
/* Segment counts are compared with small numbers only. */
#define SEG_COUNT_CAP 64
/* Longest verb name ("deletecollection"). */
#define VERB_NAME_MAX 16

struct seg {
    const char *s;
    size_t n;
};

/* Bump allocation in lim_request.buf; running out is remembered once. */
struct rbuf {
    char *base;
    size_t used, cap;
    bool full;
};

static const char *const verb_names[LIM_VERB_COUNT] = {
    [LIM_VERB_UNKNOWN] = "",
    [LIM_VERB_GET] = "get",
    [LIM_VERB_LIST] = "list",
    [LIM_VERB_WATCH] = "watch",
    [LIM_VERB_CREATE] = "create",
    [LIM_VERB_UPDATE] = "update",
    [LIM_VERB_PATCH] = "patch",
    [LIM_VERB_DELETE] = "delete",
    [LIM_VERB_DELETECOLLECTION] = "deletecollection",
    [LIM_VERB_PROXY] = "proxy",
    [LIM_VERB_POST] = "post",
    [LIM_VERB_PUT] = "put",
    [LIM_VERB_HEAD] = "head",
    [LIM_VERB_OPTIONS] = "options",
};

static void reset(struct lim_request *r);
static bool method_ok(const char *m, size_t n);
static char *rb_alloc(struct rbuf *b, size_t n);
static const char *rb_keep(struct rbuf *b, const char *s, size_t n);
static const char *rb_decode(struct rbuf *b, const struct lim_qval *v, size_t *len);
static int query_facts(struct lim_request *r, struct rbuf *b, const struct lim_qval *q, char *err,
                       size_t errlen);
static int resource_info(struct lim_request *r, struct rbuf *b, const char *method,
                         size_t method_len, const struct lim_qval *q, char *err, size_t errlen);
static bool seg_is(struct seg s, const char *lit);

int
lim_request_parse(struct lim_request *r, const char *method, size_t method_len, const char *target,
                  size_t target_len, char *err, size_t errlen)
{
    struct rbuf b = {r->buf, 0, sizeof(r->buf), false};
    struct lim_qval q[LIM_Q_COUNT];
    struct lim_url u;
    char *path, lower[VERB_NAME_MAX + 1];
    size_t n, i;
    int v;

    reset(r);
    if (!method_ok(method, method_len)) {
        snprintf(err, errlen, "request method: not an HTTP token");
        return -1;
    }
    if (lim_url_split(target, target_len, method_len == 7 && memcmp(method, "CONNECT", 7) == 0, &u,
                      err, errlen) == -1) {
        return -1;
    }
    r->method = rb_keep(&b, method, method_len);
    path = rb_alloc(&b, u.path_len + 1);
    if (path != NULL) {
        n = lim_url_unescape(u.path, u.path_len, false, path);
        path[n] = '\0';
        b.used -= u.path_len - n;
        /* Go keeps a decoded %00; a C string cannot. */
        if (memchr(path, '\0', n) != NULL) {
            snprintf(err, errlen, "request target: NUL byte (%%00) in path");
            goto fail;
        }
        r->path = path;
    }
    lim_query_scan(u.query, u.query_len, q);
    if (query_facts(r, &b, q, err, errlen) == -1) {
        goto fail;
    }
    if (b.full) {
        goto too_long;
    }

    /* Until proven a resource request, the verb is the lowercased method. */
    r->verb = LIM_VERB_UNKNOWN;
    if (method_len <= VERB_NAME_MAX) {
        for (i = 0; i < method_len; i++) {
            char c = method[i];

            lower[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        lower[method_len] = '\0';
        v = lim_verb_from_name(lower);
        r->verb = v < 0 ? LIM_VERB_UNKNOWN : (enum lim_verb)v;
    }
    if (resource_info(r, &b, method, method_len, q, err, errlen) == -1) {
        goto fail;
    }
    if (b.full) {
        goto too_long;
    }

    /* longrunning.go, kube-apiserver's sets. */
    r->is_long_running =
        r->verb == LIM_VERB_WATCH || r->verb == LIM_VERB_PROXY ||
        (r->is_resource &&
         (strcmp(r->subresource, "attach") == 0 || strcmp(r->subresource, "exec") == 0 ||
          strcmp(r->subresource, "proxy") == 0 || strcmp(r->subresource, "log") == 0 ||
          strcmp(r->subresource, "portforward") == 0)) ||
        (!r->is_resource && strncmp(r->path, "/debug/pprof/", 13) == 0);
    /* maxinflight.go: nonMutatingRequestVerbs = {get, list, watch}. */
    r->is_mutating =
        r->verb != LIM_VERB_GET && r->verb != LIM_VERB_LIST && r->verb != LIM_VERB_WATCH;
    return 0;

too_long:
    snprintf(err, errlen, "request target: too long for the %d-byte parse buffer", LIM_REQUEST_BUF);
fail:
    reset(r);
    return -1;
}

const char *
lim_verb_name(enum lim_verb v)
{
    return (unsigned)v < LIM_VERB_COUNT ? verb_names[v] : "";
}

int
lim_verb_from_name(const char *name)
{
    int v;

    if (name == NULL) {
        return -1;
    }
    for (v = 0; v < LIM_VERB_COUNT; v++) {
        if (strcmp(verb_names[v], name) == 0) {
            return v;
        }
    }
    return -1;
}

static void
reset(struct lim_request *r)
{
    r->verb = LIM_VERB_UNKNOWN;
    r->is_resource = false;
    r->is_long_running = false;
    r->is_mutating = false;
    r->verb_from_path = false;
    r->rv = LIM_RV_UNSET;
    r->rv_match = LIM_RVM_NONE;
    r->has_limit = false;
    r->limit = 0;
    r->has_continue = false;
    r->send_initial_events = false;
    r->follow = false;
    r->bad_list_options = false;
    r->method = "";
    r->path = "";
    r->api_prefix = "";
    r->api_group = "";
    r->api_version = "";
    r->ns = "";
    r->ns_len = 0;
    r->resource = "";
    r->subresource = "";
    r->name = "";
    r->resource_version = "";
    r->label_selector = "";
    r->field_selector = "";
}

/* Go's http server refuses a method that is not a non-empty token. */
static bool
method_ok(const char *m, size_t n)
{
    size_t i;

    if (n == 0) {
        return false;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL))) {
            return false;
        }
    }
    return true;
}

static char *
rb_alloc(struct rbuf *b, size_t n)
{
    char *p;

    if (b->full || n > b->cap - b->used) {
        b->full = true;
        return NULL;
    }
    p = b->base + b->used;
    b->used += n;
    return p;
}

static const char *
rb_keep(struct rbuf *b, const char *s, size_t n)
{
    char *p = rb_alloc(b, n + 1);

    if (p == NULL) {
        return "";
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* The decoded first value of <v> in the buffer (not NUL-checked). */
static const char *
rb_decode(struct rbuf *b, const struct lim_qval *v, size_t *len)
{
    char *p = rb_alloc(b, v->len + 1);

    *len = 0;
    if (p == NULL) {
        return "";
    }
    *len = lim_query_decode(v, p);
    p[*len] = '\0';
    b->used -= v->len - *len;
    return p;
}

/* The query facts that set a request's cost, read like metav1.ListOptions
 * (or GetOptions, PodLogOptions) read them: first value of each key. */
static int
query_facts(struct lim_request *r, struct rbuf *b, const struct lim_qval *q, char *err,
            size_t errlen)
{
    const struct lim_qval *v;
    int64_t limit, timeout;
    size_t n;
    char m[40];

    v = &q[LIM_Q_RESOURCE_VERSION];
    if (v->set) {
        r->resource_version = rb_decode(b, v, &n);
        if (memchr(r->resource_version, '\0', n) != NULL) {
            snprintf(err, errlen, "request target: NUL byte (%%00) in resourceVersion");
            return -1;
        }
        r->rv = n == 0                                    ? LIM_RV_UNSET
                : n == 1 && r->resource_version[0] == '0' ? LIM_RV_ZERO
                                                          : LIM_RV_VALUE;
    }
    /* An empty value is ResourceVersionMatch(""), i.e. unset. */
    v = &q[LIM_Q_RESOURCE_VERSION_MATCH];
    if (v->set && v->len > 0) {
        r->rv_match = LIM_RVM_OTHER;
        if (v->len <= sizeof(m)) {
            n = lim_query_decode(v, m);
            if (n == 12 && memcmp(m, "NotOlderThan", 12) == 0) {
                r->rv_match = LIM_RVM_NOT_OLDER_THAN;
            } else if (n == 5 && memcmp(m, "Exact", 5) == 0) {
                r->rv_match = LIM_RVM_EXACT;
            }
        }
    }
    /* metav1 ListOptions conversion fails when limit or timeoutSeconds is
     * not an int64 ("limit=" included): kube's list work estimator then
     * charges maximum seats and the handler answers 400. */
    if (q[LIM_Q_LIMIT].set) {
        if (lim_query_int64(&q[LIM_Q_LIMIT], &limit)) {
            r->has_limit = limit > 0; /* the storage layer pages only when > 0 */
            r->limit = limit > 0 ? (uint64_t)limit : 0;
        } else {
            r->bad_list_options = true;
        }
    }
    if (q[LIM_Q_TIMEOUT_SECONDS].set && !lim_query_int64(&q[LIM_Q_TIMEOUT_SECONDS], &timeout)) {
        r->bad_list_options = true;
    }
    r->has_continue = q[LIM_Q_CONTINUE].set && q[LIM_Q_CONTINUE].len > 0;
    r->send_initial_events = lim_query_bool(&q[LIM_Q_SEND_INITIAL_EVENTS], false);
    r->follow = lim_query_bool(&q[LIM_Q_FOLLOW], false);
    return 0;
}

/* Splits <path> like splitPath (trim every leading and trailing '/', split
 * on '/'), keeping the first SEG_MAX segments; returns the count, capped. */
static size_t
split_path(const char *path, struct seg *segs)
{
    size_t n = strlen(path), cnt = 0, start;

    while (n > 0 && path[n - 1] == '/') {
        n--;
    }
    start = 0;
    while (start < n && path[start] == '/') {
        start++;
    }
    if (start == n) {
        return 0;
    }
    for (;;) {
        const char *slash = memchr(path + start, '/', n - start);
        size_t end = slash != NULL ? (size_t)(slash - path) : n;

        if (cnt < SEG_MAX) {
            segs[cnt].s = path + start;
            segs[cnt].n = end - start;
        }
        if (++cnt == SEG_COUNT_CAP || slash == NULL) {
            return cnt;
        }
        start = end + 1;
    }
}

static enum lim_verb
method_verb(const char *m, size_t n)
{
    /* The switch on req.Method is case-sensitive: "get" maps to "". */
    static const struct {
        const char *method;
        enum lim_verb verb;
    } map[] = {{"POST", LIM_VERB_CREATE}, {"GET", LIM_VERB_GET},     {"HEAD", LIM_VERB_GET},
               {"PUT", LIM_VERB_UPDATE},  {"PATCH", LIM_VERB_PATCH}, {"DELETE", LIM_VERB_DELETE}};
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].method) == n && memcmp(map[i].method, m, n) == 0) {
            return map[i].verb;
        }
    }
    return LIM_VERB_UNKNOWN;
}

/* get-without-name becomes list or watch; metadata.name in a field selector
 * names the object. Mirrors the ListOptions decode in NewRequestInfo. */
static void
list_or_watch(struct lim_request *r, struct rbuf *b, const struct lim_qval *q, const char *label,
              size_t label_len, const char *field, size_t field_len)
{
    const char *rhs = NULL;
    size_t rhs_len = 0, n;
    int named = 0;
    bool decoded = !r->bad_list_options && lim_label_selector_valid(label, label_len) &&
                   (named = lim_field_selector_name(field, field_len, &rhs, &rhs_len)) >= 0;

    /* On a decode error kube resets the options and reads watch again with
     * strings.ToLower, which unlike EqualFold does not fold U+017F. */
    r->verb = lim_query_bool(&q[LIM_Q_WATCH], !decoded) ? LIM_VERB_WATCH : LIM_VERB_LIST;
    if (!decoded || named != 1) {
        return;
    }
    n = lim_field_unescape(rhs, rhs_len, NULL);
    {
        char *name = rb_alloc(b, n + 1);

        if (name == NULL) {
            return;
        }
        lim_field_unescape(rhs, rhs_len, name);
        name[n] = '\0';
        /* path.IsValidPathSegmentName; a NUL we cannot carry either. */
        if ((n == 1 && name[0] == '.') || (n == 2 && memcmp(name, "..", 2) == 0) ||
            memchr(name, '/', n) != NULL || memchr(name, '%', n) != NULL ||
            memchr(name, '\0', n) != NULL) {
            b->used -= n + 1;
            return;
        }
        r->name = name;
    }
}

static int
resource_info(struct lim_request *r, struct rbuf *b, const char *method, size_t method_len,
              const struct lim_qval *q, char *err, size_t errlen)
{
    struct seg s[SEG_MAX];
    size_t cnt = split_path(r->path, s), i = 0;
    const char *label = "", *field = "";
    size_t label_len = 0, field_len = 0;

    if (cnt < 3 || (!seg_is(s[0], "api") && !seg_is(s[0], "apis"))) {
        return 0;
    }
    /* As in Go, a non-resource /apis/<group>/<version> keeps APIPrefix. */
    r->api_prefix = seg_is(s[0], "api") ? "api" : "apis";
    i = 1;
    if (seg_is(s[0], "apis")) {
        if (cnt - i < 3) {
            return 0;
        }
        r->api_group = rb_keep(b, s[i].s, s[i].n);
        i++;
    }
    r->is_resource = true;
    r->api_version = rb_keep(b, s[i].s, s[i].n);
    i++;
    if (seg_is(s[i], "watch") || seg_is(s[i], "proxy")) {
        if (cnt - i < 2) {
            snprintf(err, errlen, "unable to determine kind and namespace from url %.*s",
                     (int)strlen(r->path), r->path);
            return -1;
        }
        r->verb = seg_is(s[i], "watch") ? LIM_VERB_WATCH : LIM_VERB_PROXY;
        r->verb_from_path = true;
        i++;
    } else {
        r->verb = method_verb(method, method_len);
    }
    if (seg_is(s[i], "namespaces") && cnt - i > 1) {
        r->ns = rb_keep(b, s[i + 1].s, s[i + 1].n);
        r->ns_len = r->ns[0] != '\0' ? s[i + 1].n : 0; /* "" when the buffer is full */
        /* namespaces/NAME/{status,finalize} are the namespace's own
         * subresources, not a namespaced resource. */
        if (cnt - i > 2 && !seg_is(s[i + 2], "status") && !seg_is(s[i + 2], "finalize")) {
            i += 2;
        }
    }
    r->resource = rb_keep(b, s[i].s, s[i].n);
    if (cnt - i >= 2) {
        r->name = rb_keep(b, s[i + 1].s, s[i + 1].n);
    }
    if (cnt - i >= 3 && r->verb != LIM_VERB_PROXY) {
        r->subresource = rb_keep(b, s[i + 2].s, s[i + 2].n);
    }

    if (q[LIM_Q_LABEL_SELECTOR].set) {
        label = rb_decode(b, &q[LIM_Q_LABEL_SELECTOR], &label_len);
    }
    if (q[LIM_Q_FIELD_SELECTOR].set) {
        field = rb_decode(b, &q[LIM_Q_FIELD_SELECTOR], &field_len);
    }
    if (r->name[0] == '\0' && r->verb == LIM_VERB_GET) {
        list_or_watch(r, b, q, label, label_len, field, field_len);
    }
    if (r->name[0] == '\0' && r->verb == LIM_VERB_DELETE) {
        r->verb = LIM_VERB_DELETECOLLECTION;
    }
    /* AuthorizeWithSelectors: raw first values, not for legacy path verbs. */
    if (!r->verb_from_path && (r->verb == LIM_VERB_LIST || r->verb == LIM_VERB_WATCH ||
                               r->verb == LIM_VERB_DELETECOLLECTION)) {
        if (memchr(label, '\0', label_len) != NULL || memchr(field, '\0', field_len) != NULL) {
            snprintf(err, errlen, "request target: NUL byte (%%00) in a selector");
            return -1;
        }
        r->label_selector = label;
        r->field_selector = field;
    }
    return 0;
}

static bool
seg_is(struct seg s, const char *lit)
{
    return strlen(lit) == s.n && memcmp(s.s, lit, s.n) == 0;
}
