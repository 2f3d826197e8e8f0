/* LIST: the current state, or a snapshot at an older resourceVersion
 * rebuilt from the event history (what etcd's MVCC serves a continue token
 * or resourceVersionMatch=Exact), in key order, with kube's continue tokens
 * (apiserver pkg/storage/continue.go: base64url of
 * {"v":"meta.k8s.io/v1","rv":N,"start":"<key relative to the list>\0"}).
 * See bn_sim_store.h. */
#include "bn_sim_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTINUE_VERSION "meta.k8s.io/v1"

/* A key whose state at the snapshot differs from the current one. */
struct ovr {
    const char *key;
    struct bn_sim_obj *state; /* NULL: absent at the snapshot */
    uint64_t rv;
};

struct cursor {
    const struct res_state *rs;
    size_t i;
    const struct ovr *ov;
    size_t nov, j;
    const char *prefix;
    size_t plen;
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
b64_encode(const unsigned char *in, size_t len, char *out)
{
    unsigned long acc = 0;
    unsigned bits = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            *out++ = b64[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        *out++ = b64[(acc << (6 - bits)) & 63];
    }
    *out = '\0';
}

static int
b64_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
    unsigned long acc = 0;
    unsigned bits = 0;
    size_t n = 0;

    for (; *in != '\0'; in++) {
        const char *p = strchr(b64, *in);

        if (p == NULL) {
            return -1;
        }
        acc = (acc << 6) | (unsigned long)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) {
                return -1;
            }
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    *outlen = n;
    return 0;
}

/* <rv> -1 asks the next page to read the current state (the token kube
 * hands out with a 410 for clients that accept an inconsistent list). */
static int
encode_continue(int64_t rv, const char *start, char *out, size_t cap)
{
    char key[600];
    size_t n = strlen(start);
    json_t *j;
    char *s;
    int rc = -1;

    if (n + 1 > sizeof(key)) {
        return -1;
    }
    memcpy(key, start, n);
    key[n] = '\0'; /* "the next key after start": start + "\x00" */
    j = json_pack("{s:s,s:I,s:s%}", "v", CONTINUE_VERSION, "rv", (json_int_t)rv, "start", key,
                  n + 1);
    s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (s != NULL && (strlen(s) + 2) / 3 * 4 + 1 <= cap) {
        b64_encode((const unsigned char *)s, strlen(s), out);
        rc = 0;
    }
    free(s);
    json_decref(j);
    return rc;
}

static int
bad_continue(struct bn_sim_status *st, const char *why)
{
    bn_sim_status_set(st, 400, "BadRequest", "continue key is not valid: %s", why);
    return -1;
}

/* storage.DecodeContinue: the start key (relative) and whether it is
 * exclusive (it ends with "\0", as every key we hand out does). */
static int
decode_continue(const char *tok, int64_t *rv, char *start, size_t cap, bool *exclusive,
                struct bn_sim_status *st)
{
    unsigned char raw[BN_SIM_CONTINUE_MAX];
    const char *v, *k;
    size_t n, klen;
    json_t *j;
    json_int_t r;

    if (b64_decode(tok, raw, sizeof(raw), &n) != 0) {
        return bad_continue(st, "illegal base64 data");
    }
    j = json_loadb((const char *)raw, n, JSON_ALLOW_NUL, NULL);
    if (j == NULL || json_unpack(j, "{s:s,s:I,s:s%}", "v", &v, "rv", &r, "start", &k, &klen) != 0) {
        json_decref(j);
        return bad_continue(st, "not a continue token");
    }
    if (strcmp(v, CONTINUE_VERSION) != 0) {
        json_decref(j);
        return bad_continue(st, "server does not recognize this encoded key version");
    }
    if (r == 0 || r < -1) {
        json_decref(j);
        return bad_continue(st, "incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
    }
    *exclusive = klen > 0 && k[klen - 1] == '\0';
    if (*exclusive) {
        klen--;
    }
    if (klen == 0 || klen >= cap || memchr(k, '\0', klen) != NULL || strstr(k, "..") != NULL) {
        json_decref(j);
        return bad_continue(st, "encoded start key empty or not a key (version meta.k8s.io/v1)");
    }
    memcpy(start, k, klen);
    start[klen] = '\0';
    *rv = (int64_t)r;
    json_decref(j);
    return 0;
}

int
bn_sim_store_check_query(enum bn_sim_res r, const struct bn_sim_query *q, struct bn_sim_status *st)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(r);
    size_t i, k;

    for (i = 0; q->fields != NULL && i < q->fields->nreqs; i++) {
        const char *key = q->fields->reqs[i].key;
        bool ok = strcmp(key, "metadata.name") == 0 ||
                  (d->namespaced && strcmp(key, "metadata.namespace") == 0);

        for (k = 0; !ok && d->fields[k] != NULL; k++) {
            ok = strcmp(key, d->fields[k]) == 0;
        }
        if (!ok) {
            bn_sim_status_set(st, 400, "BadRequest", "field label not supported: %.200s", key);
            return -1;
        }
    }
    return 0;
}

static bool
selected(const struct bn_sim_query *q, const struct bn_sim_obj *o)
{
    return (q->name == NULL || q->name[0] == '\0' || strcmp(q->name, o->name) == 0) &&
           (q->labels == NULL || bn_sim_selector_matches(q->labels, o->labels)) &&
           (q->fields == NULL || bn_sim_selector_matches(q->fields, o->fields));
}

static int
ovr_cmp(const void *a, const void *b)
{
    const struct ovr *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : (x->rv < y->rv ? -1 : x->rv > y->rv);
}

/* The keys changed after <snap> with their state at <snap>: the previous
 * state of the first later event on each key. O(window log window). */
static int
overrides(const struct res_state *rs, uint64_t snap, struct ovr **out, size_t *n)
{
    struct ovr *ov = NULL;
    size_t i, m = 0, k = 0;

    *out = NULL;
    *n = 0;
    for (i = 0; i < rs->ring.count; i++) {
        if (rs->ring.ev[(rs->ring.head + i) % rs->ring.cap].rv > snap) {
            m++;
        }
    }
    if (m == 0) {
        return 0;
    }
    ov = malloc(m * sizeof(*ov));
    if (ov == NULL) {
        return -1;
    }
    for (i = 0; i < rs->ring.count; i++) {
        const struct event *e = &rs->ring.ev[(rs->ring.head + i) % rs->ring.cap];

        if (e->rv > snap) {
            ov[k].key = e->obj->key;
            ov[k].state = e->type == BN_SIM_EV_ADDED ? NULL : e->prev;
            ov[k].rv = e->rv;
            k++;
        }
    }
    qsort(ov, m, sizeof(*ov), ovr_cmp);
    for (i = 0, k = 0; i < m; i++) {
        if (k == 0 || strcmp(ov[k - 1].key, ov[i].key) != 0) {
            ov[k++] = ov[i];
        }
    }
    *out = ov;
    *n = k;
    return 0;
}

static size_t
ovr_lower(const struct ovr *ov, size_t n, const char *key, bool exclusive)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ov[mid].key, key);

        if (c < 0 || (exclusive && c == 0)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The next object that exists at the snapshot, or NULL at the end of the
 * list's key range. */
static struct bn_sim_obj *
cursor_next(struct cursor *c)
{
    for (;;) {
        const char *ki = c->i < c->rs->n ? c->rs->items[c->i]->key : NULL;
        const char *kj = c->j < c->nov ? c->ov[c->j].key : NULL;
        struct bn_sim_obj *o;
        const char *key;
        int cmp;

        if (ki == NULL && kj == NULL) {
            return NULL;
        }
        cmp = ki == NULL ? 1 : kj == NULL ? -1 : strcmp(ki, kj);
        if (cmp < 0) {
            o = c->rs->items[c->i++];
            key = ki;
        } else {
            o = c->ov[c->j++].state;
            key = kj;
            if (cmp == 0) {
                c->i++;
            }
        }
        if (c->plen > 0 && strncmp(key, c->prefix, c->plen) != 0) {
            return NULL;
        }
        if (o != NULL) {
            return o;
        }
    }
}

static int
obj_key_cmp(const void *a, const void *b)
{
    return strcmp((*(struct bn_sim_obj *const *)a)->key, (*(struct bn_sim_obj *const *)b)->key);
}

/* Pods by spec.nodeName from the index, as the watch cache serves them. */
static int
list_by_node(const struct bn_sim_store *s, const struct bn_sim_query *q, const char *node,
             bn_sim_emit_fn *emit, void *arg, struct bn_sim_list_result *res)
{
    size_t n, i;
    struct bn_sim_obj *const *pods = bn_sim_store_node_pods(s, node, &n);
    struct bn_sim_obj **sorted;

    if (n == 0) {
        return 0;
    }
    sorted = malloc(n * sizeof(*sorted));
    if (sorted == NULL) {
        return -1;
    }
    memcpy(sorted, pods, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), obj_key_cmp);
    for (i = 0; i < n; i++) {
        if ((q->ns == NULL || q->ns[0] == '\0' || strcmp(q->ns, sorted[i]->ns) == 0) &&
            selected(q, sorted[i])) {
            emit(arg, sorted[i]);
            res->count++;
        }
    }
    free(sorted);
    return 0;
}

static int
too_old(struct bn_sim_status *st, const char *msg)
{
    bn_sim_status_set(st, 410, "Expired", "%s", msg);
    return -1;
}

static const char inconsistent_continue[] =
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list.";

int
bn_sim_store_list(const struct bn_sim_store *s, enum bn_sim_res r, const struct bn_sim_query *q,
                  bn_sim_emit_fn *emit, void *arg, struct bn_sim_list_result *res,
                  struct bn_sim_status *st)
{
    const struct res_state *rs = &s->res[r];
    const bool namespaced = bn_sim_resdef(r)->namespaced && q->ns != NULL && q->ns[0] != '\0';
    char prefix[300] = "", rel[600] = "", start[900];
    bool exclusive = false, snapshot = false;
    uint64_t snap = s->rv, limit = q->limit;
    struct cursor c = {0};
    struct ovr *ov = NULL;
    struct bn_sim_obj *o;
    const char *node;
    int64_t crv = 0;
    size_t nov = 0;

    memset(res, 0, sizeof(*res));
    res->remaining = -1;
    if (bn_sim_store_check_query(r, q, st) != 0) {
        return -1;
    }
    if (q->cont != NULL && q->cont[0] != '\0') {
        if (q->rv_mode != BN_SIM_RV_UNSET) {
            bn_sim_status_set(st, 400, "BadRequest",
                              "specifying resource version is not allowed when using continue");
            return -1;
        }
        if (decode_continue(q->cont, &crv, rel, sizeof(rel), &exclusive, st) != 0) {
            return -1;
        }
        if (crv > 0 && (uint64_t)crv > s->rv) {
            return bad_continue(st, "resourceVersion in the future");
        }
        if (crv > 0 && (uint64_t)crv < rs->ring.floor) {
            too_old(st, inconsistent_continue);
            encode_continue(-1, rel, st->cont, sizeof(st->cont));
            return -1;
        }
        snapshot = crv > 0;
        snap = crv > 0 ? (uint64_t)crv : s->rv;
    } else if (q->rv_mode == BN_SIM_RV_VALUE) {
        if (q->rv > s->rv) {
            bn_sim_status_set(st, 504, "Timeout", "Too large resource version: %llu, current: %llu",
                              (unsigned long long)q->rv, (unsigned long long)s->rv);
            st->too_large_rv = true;
            return -1;
        }
        /* Exact, and the legacy "limit with a resourceVersion", read etcd at that revision */
        if (q->exact || q->limit > 0) {
            if (q->rv < rs->ring.floor) {
                return too_old(st, "The resourceVersion for the provided list is too old.");
            }
            snapshot = true;
            snap = q->rv;
        }
    } else if (q->rv_mode == BN_SIM_RV_ZERO) {
        limit = 0; /* the watch cache ignores limit for resourceVersion=0 */
    }
    res->rv = snap;
    node = r == BN_SIM_RES_PODS && q->fields != NULL
               ? bn_sim_selector_exact(q->fields, "spec.nodeName")
               : NULL;
    if (node != NULL && !snapshot && limit == 0 && (q->cont == NULL || q->cont[0] == '\0')) {
        if (list_by_node(s, q, node, emit, arg, res) != 0) {
            bn_sim_status_set(st, 500, "InternalError", "Internal error occurred: out of memory");
            return -1;
        }
        return 0;
    }
    if (snapshot && overrides(rs, snap, &ov, &nov) != 0) {
        bn_sim_status_set(st, 500, "InternalError", "Internal error occurred: out of memory");
        return -1;
    }
    if (namespaced) {
        snprintf(prefix, sizeof(prefix), "%s/", q->ns);
    }
    snprintf(start, sizeof(start), "%s%s", prefix, rel);
    c.rs = rs;
    c.i = bn_sim_store_lower(rs, start, exclusive);
    c.ov = ov;
    c.nov = nov;
    c.j = ovr_lower(ov, nov, start, exclusive);
    c.prefix = prefix;
    c.plen = strlen(prefix);
    while ((o = cursor_next(&c)) != NULL) {
        if (!selected(q, o)) {
            continue;
        }
        if (limit > 0 && res->count == limit) {
            break;
        }
        emit(arg, o);
        res->count++;
        snprintf(rel, sizeof(rel), "%s", o->key + c.plen);
    }
    if (o != NULL) {
        /* more keys in range: hand out where to go on, at the same revision */
        if (encode_continue((int64_t)snap, rel, res->cont, sizeof(res->cont)) != 0) {
            res->cont[0] = '\0';
        }
        if ((q->labels == NULL || q->labels->nreqs == 0) &&
            (q->fields == NULL || q->fields->nreqs == 0)) {
            res->remaining = 1;
            while (cursor_next(&c) != NULL) {
                res->remaining++;
            }
        }
    }
    free(ov);
    return 0;
}
