/* The store's core: the key-ordered index, the pods-by-node index, the
 * event history and the watchers. See bn_sim_store.h. */
#include "bn_sim_store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_err.h"

/* --- status helpers --- */

void
bn_sim_status_set(struct bn_sim_status *st, int code, const char *reason, const char *fmt, ...)
{
    va_list ap;

    memset(st, 0, sizeof(*st));
    st->code = code;
    st->reason = reason != NULL ? reason : "";
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof(st->message), fmt, ap);
    va_end(ap);
}

const char *
bn_sim_res_qualified(enum bn_sim_res r)
{
    static const char *const names[BN_SIM_RES_COUNT] = {
        [BN_SIM_RES_NAMESPACES] = "namespaces",
        [BN_SIM_RES_NODES] = "nodes",
        [BN_SIM_RES_PODS] = "pods",
        [BN_SIM_RES_SERVICES] = "services",
        [BN_SIM_RES_ENDPOINTS] = "endpoints",
        [BN_SIM_RES_CONFIGMAPS] = "configmaps",
        [BN_SIM_RES_LEASES] = "leases.coordination.k8s.io",
        [BN_SIM_RES_DEPLOYMENTS] = "deployments.apps",
        [BN_SIM_RES_PODDISRUPTIONBUDGETS] = "poddisruptionbudgets.policy",
    };

    return names[r];
}

/* --- lifecycle --- */

struct bn_sim_store *
bn_sim_store_new(size_t window, uint64_t seed, char *err, size_t errlen)
{
    struct bn_sim_store *s = calloc(1, sizeof(*s));
    int r;

    if (s == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (window == 0) {
        px_errf(err, errlen, "the event window must hold at least one event");
        goto fail;
    }
    s->rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
    for (r = 0; r < BN_SIM_RES_COUNT; r++) {
        s->res[r].ring.cap = window;
        s->res[r].ring.ev = calloc(window, sizeof(struct event));
        if (s->res[r].ring.ev == NULL) {
            px_errf(err, errlen, "out of memory for an event window of %zu", window);
            goto fail;
        }
    }
    return s;

fail:
    bn_sim_store_free(s);
    return NULL;
}

static void
event_clear(struct event *e)
{
    bn_sim_obj_unref(e->obj);
    bn_sim_obj_unref(e->prev);
    bn_sim_obj_unref(e->left);
    memset(e, 0, sizeof(*e));
}

void
bn_sim_store_free(struct bn_sim_store *s)
{
    size_t i;
    int r;

    if (s == NULL) {
        return;
    }
    for (r = 0; r < BN_SIM_RES_COUNT; r++) {
        struct res_state *rs = &s->res[r];

        for (i = 0; i < rs->n; i++) {
            bn_sim_obj_unref(rs->items[i]);
        }
        free(rs->items);
        for (i = 0; rs->ring.ev != NULL && i < rs->ring.cap; i++) {
            event_clear(&rs->ring.ev[i]);
        }
        free(rs->ring.ev);
        while (rs->watchers != NULL) {
            struct bn_sim_watcher *w = rs->watchers;

            rs->watchers = w->next;
            free(w);
        }
    }
    for (i = 0; i < s->nodes.cap; i++) {
        free(s->nodes.slots[i].node);
        free(s->nodes.slots[i].pods);
    }
    free(s->nodes.slots);
    free(s);
}

uint64_t
bn_sim_store_rv(const struct bn_sim_store *s)
{
    return s->rv;
}

uint64_t
bn_sim_store_random(struct bn_sim_store *s)
{
    /* splitmix64: reproducible from the seed, good enough for UIDs */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* O(objects + window): called per metrics scrape, not per request. Each
 * revision is counted once: current objects, then what only the history
 * holds (superseded and deleted revisions). */
void
bn_sim_store_stats(const struct bn_sim_store *s, struct bn_sim_store_stats *out)
{
    size_t i;
    int r;

    memset(out, 0, sizeof(*out));
    out->rv = s->rv;
    for (r = 0; r < BN_SIM_RES_COUNT; r++) {
        const struct res_state *rs = &s->res[r];

        for (i = 0; i < rs->n; i++) {
            out->bytes += rs->items[i]->bytes;
        }
        for (i = 0; i < rs->ring.count; i++) {
            const struct event *e = &rs->ring.ev[(rs->ring.head + i) % rs->ring.cap];

            out->bytes += (e->prev != NULL ? e->prev->bytes : 0) +
                          (e->left != NULL ? e->left->bytes : 0) +
                          (e->type == BN_SIM_EV_DELETED ? e->obj->bytes : 0);
        }
        out->objects[r] = s->res[r].n;
        out->watchers[r] = s->res[r].nwatchers;
        out->events[r] = s->res[r].events;
    }
}

/* --- key index --- */

size_t
bn_sim_store_lower(const struct res_state *rs, const char *key, bool exclusive)
{
    size_t lo = 0, hi = rs->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rs->items[mid]->key, key);

        if (c < 0 || (exclusive && c == 0)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void
make_key(char *buf, size_t len, enum bn_sim_res r, const char *ns, const char *name)
{
    if (bn_sim_resdef(r)->namespaced) {
        snprintf(buf, len, "%s/%s", ns, name);
    } else {
        snprintf(buf, len, "%s", name);
    }
}

struct bn_sim_obj *
bn_sim_store_get(const struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *name)
{
    const struct res_state *rs = &s->res[r];
    char key[512];
    size_t i;

    make_key(key, sizeof(key), r, ns, name);
    i = bn_sim_store_lower(rs, key, false);
    return i < rs->n && strcmp(rs->items[i]->key, key) == 0 ? rs->items[i] : NULL;
}

struct bn_sim_obj *
bn_sim_store_nth(const struct bn_sim_store *s, enum bn_sim_res r, size_t i)
{
    return i < s->res[r].n ? s->res[r].items[i] : NULL;
}

size_t
bn_sim_store_count(const struct bn_sim_store *s, enum bn_sim_res r, const char *ns)
{
    const struct res_state *rs = &s->res[r];
    char lo[300], hi[300];

    if (ns == NULL || ns[0] == '\0' || !bn_sim_resdef(r)->namespaced) {
        return rs->n;
    }
    /* keys "ns/..." sit between "ns/" and "ns0" ('0' follows '/') */
    snprintf(lo, sizeof(lo), "%s/", ns);
    snprintf(hi, sizeof(hi), "%s0", ns);
    return bn_sim_store_lower(rs, hi, false) - bn_sim_store_lower(rs, lo, false);
}

static int
items_insert(struct res_state *rs, size_t at, struct bn_sim_obj *o)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap != 0 ? rs->cap * 2 : 64;
        struct bn_sim_obj **items = realloc(rs->items, cap * sizeof(*items));

        if (items == NULL) {
            return -1;
        }
        rs->items = items;
        rs->cap = cap;
    }
    memmove(&rs->items[at + 1], &rs->items[at], (rs->n - at) * sizeof(*rs->items));
    rs->items[at] = o;
    rs->n++;
    return 0;
}

/* --- pods by spec.nodeName (open addressing, backward-shift deletion) --- */

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    while (*s != '\0') {
        h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
    }
    return h;
}

static struct node_pods *
node_find(const struct node_index *ix, const char *node)
{
    size_t i;

    if (ix->cap == 0) {
        return NULL;
    }
    for (i = hash_str(node) & (ix->cap - 1); ix->slots[i].node != NULL;
         i = (i + 1) & (ix->cap - 1)) {
        if (strcmp(ix->slots[i].node, node) == 0) {
            return &ix->slots[i];
        }
    }
    return NULL;
}

static int
node_grow(struct node_index *ix)
{
    size_t cap = ix->cap != 0 ? ix->cap * 2 : 256, i;
    struct node_pods *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return -1;
    }
    for (i = 0; i < ix->cap; i++) {
        if (ix->slots[i].node != NULL) {
            size_t j = hash_str(ix->slots[i].node) & (cap - 1);

            while (slots[j].node != NULL) {
                j = (j + 1) & (cap - 1);
            }
            slots[j] = ix->slots[i];
        }
    }
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

static int
node_add(struct node_index *ix, struct bn_sim_obj *pod, const char *node)
{
    struct node_pods *np = node_find(ix, node);

    if (np == NULL) {
        size_t i;

        if ((ix->used + 1) * 10 > ix->cap * 7 && node_grow(ix) != 0) {
            return -1;
        }
        for (i = hash_str(node) & (ix->cap - 1); ix->slots[i].node != NULL;
             i = (i + 1) & (ix->cap - 1)) {
        }
        np = &ix->slots[i];
        if ((np->node = strdup(node)) == NULL) {
            return -1;
        }
        ix->used++;
    }
    if (np->n == np->cap) {
        size_t cap = np->cap != 0 ? np->cap * 2 : 8;
        struct bn_sim_obj **pods = realloc(np->pods, cap * sizeof(*pods));

        if (pods == NULL) {
            return -1;
        }
        np->pods = pods;
        np->cap = cap;
    }
    np->pods[np->n++] = pod;
    return 0;
}

static void
node_remove(struct node_index *ix, struct bn_sim_obj *pod, const char *node)
{
    struct node_pods *np = node_find(ix, node);
    size_t i, j, k;

    if (np == NULL) {
        return;
    }
    for (i = 0; i < np->n && np->pods[i] != pod; i++) {
    }
    if (i == np->n) {
        return;
    }
    np->pods[i] = np->pods[--np->n];
    if (np->n > 0) {
        return;
    }
    /* the node has no pods left: drop its slot, shifting the cluster back */
    free(np->node);
    free(np->pods);
    memset(np, 0, sizeof(*np));
    ix->used--;
    i = (size_t)(np - ix->slots);
    for (j = (i + 1) & (ix->cap - 1); ix->slots[j].node != NULL; j = (j + 1) & (ix->cap - 1)) {
        k = hash_str(ix->slots[j].node) & (ix->cap - 1);
        /* move j back to the hole i unless its home k lies cyclically in (i, j] */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        ix->slots[i] = ix->slots[j];
        memset(&ix->slots[j], 0, sizeof(ix->slots[j]));
        i = j;
    }
}

size_t
bn_sim_store_count_on_node(const struct bn_sim_store *s, const char *node)
{
    const struct node_pods *np = node_find(&s->nodes, node);

    return np != NULL ? np->n : 0;
}

struct bn_sim_obj *const *
bn_sim_store_node_pods(const struct bn_sim_store *s, const char *node, size_t *n)
{
    const struct node_pods *np = node_find(&s->nodes, node);

    *n = np != NULL ? np->n : 0;
    return np != NULL ? np->pods : NULL;
}

static const char *
pod_node(const struct bn_sim_obj *o)
{
    const char *n = bn_sim_packed_get(o->fields, "spec.nodeName");

    return n != NULL && n[0] != '\0' ? n : NULL;
}

/* --- watchers --- */

bool
bn_sim_watcher_selects(const struct bn_sim_watcher *w, const struct bn_sim_obj *o)
{
    if (w->ns[0] != '\0' && strcmp(w->ns, o->ns) != 0) {
        return false;
    }
    if (w->name[0] != '\0' && strcmp(w->name, o->name) != 0) {
        return false;
    }
    return (!w->has_labels || bn_sim_selector_matches(&w->labels, o->labels)) &&
           (!w->has_fields || bn_sim_selector_matches(&w->fields, o->fields));
}

/* cacheWatcher.convertToWatchEvent: what <e> means to <w>. */
static void
deliver(struct event *e, struct bn_sim_watcher *w)
{
    bool cur = e->type != BN_SIM_EV_DELETED && bn_sim_watcher_selects(w, e->obj);
    bool old = e->type == BN_SIM_EV_DELETED ? bn_sim_watcher_selects(w, e->obj)
               : e->prev != NULL            ? bn_sim_watcher_selects(w, e->prev)
                                            : false;

    if (cur && old) {
        w->fn(w->arg, BN_SIM_EV_MODIFIED, e->obj);
    } else if (cur) {
        w->fn(w->arg, BN_SIM_EV_ADDED, e->obj);
    } else if (old && e->type == BN_SIM_EV_DELETED) {
        w->fn(w->arg, BN_SIM_EV_DELETED, e->obj);
    } else if (old) {
        /* left the selection: the previous state at the event's RV */
        if (e->left == NULL) {
            e->left = bn_sim_obj_at_rv(e->prev, e->rv, NULL, 0);
        }
        w->fn(w->arg, BN_SIM_EV_DELETED, e->left != NULL ? e->left : e->prev);
    }
}

static void
ring_push(struct ring *rg, const struct event *e)
{
    struct event *slot;

    if (rg->count == rg->cap) {
        slot = &rg->ev[rg->head];
        rg->floor = slot->rv;
        event_clear(slot);
        rg->head = (rg->head + 1) % rg->cap;
        rg->count--;
    }
    slot = &rg->ev[(rg->head + rg->count) % rg->cap];
    *slot = *e;
    rg->count++;
}

/* References: <obj> arrives with one, which the index keeps (ADDED,
 * MODIFIED) or the event keeps (DELETED); the index's reference to <prev>
 * passes to the event. */
int
bn_sim_store_commit(struct bn_sim_store *s, enum bn_sim_ev type, struct bn_sim_obj *obj,
                    struct bn_sim_obj *prev)
{
    struct res_state *rs = &s->res[obj->res];
    size_t at = bn_sim_store_lower(rs, obj->key, false);
    const char *node =
        obj->res == BN_SIM_RES_PODS && type != BN_SIM_EV_DELETED ? pod_node(obj) : NULL;
    const char *prev_node = prev != NULL && prev->res == BN_SIM_RES_PODS ? pod_node(prev) : NULL;
    struct bn_sim_watcher *w, *next;
    struct event e = {0};

    /* fallible steps first, so that a failure leaves nothing half-done */
    if (node != NULL && node_add(&s->nodes, obj, node) != 0) {
        bn_sim_obj_unref(obj);
        return -1;
    }
    if (type == BN_SIM_EV_ADDED && items_insert(rs, at, obj) != 0) {
        if (node != NULL) {
            node_remove(&s->nodes, obj, node);
        }
        bn_sim_obj_unref(obj);
        return -1;
    }
    if (prev_node != NULL) {
        node_remove(&s->nodes, prev, prev_node);
    }
    if (type == BN_SIM_EV_MODIFIED) {
        rs->items[at] = obj;
    } else if (type == BN_SIM_EV_DELETED) {
        memmove(&rs->items[at], &rs->items[at + 1], (rs->n - at - 1) * sizeof(*rs->items));
        rs->n--;
    }
    e.rv = obj->rv;
    e.type = type;
    e.obj = type == BN_SIM_EV_DELETED ? obj : bn_sim_obj_ref(obj);
    e.prev = prev;
    ring_push(&rs->ring, &e);
    rs->events++;
    for (w = rs->watchers; w != NULL; w = next) {
        next = w->next; /* the callback may unwatch its own watcher */
        deliver(&rs->ring.ev[(rs->ring.head + rs->ring.count - 1) % rs->ring.cap], w);
    }
    return 0;
}

struct bn_sim_watcher *
bn_sim_store_watch(struct bn_sim_store *s, enum bn_sim_res r, const struct bn_sim_query *q,
                   bool initial, bn_sim_event_fn *fn, void *arg, struct bn_sim_status *st)
{
    struct res_state *rs = &s->res[r];
    struct bn_sim_watcher *w;
    size_t i;

    if (bn_sim_store_check_query(r, q, st) != 0) {
        return NULL;
    }
    if (q->rv_mode == BN_SIM_RV_VALUE && q->rv > s->rv) {
        bn_sim_status_set(st, 504, "Timeout", "Too large resource version: %llu, current: %llu",
                          (unsigned long long)q->rv, (unsigned long long)s->rv);
        st->too_large_rv = true;
        return NULL;
    }
    if (q->rv_mode == BN_SIM_RV_VALUE && !initial && q->rv < rs->ring.floor) {
        /* watch_cache.go: "too old resource version: %d (%d)" */
        bn_sim_status_set(st, 410, "Expired", "too old resource version: %llu (%llu)",
                          (unsigned long long)q->rv, (unsigned long long)rs->ring.floor);
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        bn_sim_status_set(st, 500, "InternalError", "Internal error occurred: out of memory");
        return NULL;
    }
    w->res = r;
    snprintf(w->ns, sizeof(w->ns), "%s", q->ns != NULL ? q->ns : "");
    snprintf(w->name, sizeof(w->name), "%s", q->name != NULL ? q->name : "");
    if (q->labels != NULL && q->labels->nreqs > 0) {
        w->has_labels = true;
        bn_sim_selector_copy(&w->labels, q->labels);
    }
    if (q->fields != NULL && q->fields->nreqs > 0) {
        w->has_fields = true;
        bn_sim_selector_copy(&w->fields, q->fields);
    }
    w->fn = fn;
    w->arg = arg;
    if (initial) {
        for (i = 0; i < rs->n; i++) {
            if (bn_sim_watcher_selects(w, rs->items[i])) {
                fn(arg, BN_SIM_EV_ADDED, rs->items[i]);
            }
        }
    } else if (q->rv_mode == BN_SIM_RV_VALUE) {
        for (i = 0; i < rs->ring.count; i++) {
            struct event *e = &rs->ring.ev[(rs->ring.head + i) % rs->ring.cap];

            if (e->rv > q->rv) {
                deliver(e, w);
            }
        }
    }
    w->next = rs->watchers;
    if (rs->watchers != NULL) {
        rs->watchers->prev = w;
    }
    rs->watchers = w;
    rs->nwatchers++;
    return w;
}

void
bn_sim_store_unwatch(struct bn_sim_store *s, struct bn_sim_watcher *w)
{
    struct res_state *rs;

    if (w == NULL) {
        return;
    }
    rs = &s->res[w->res];
    if (w->prev != NULL) {
        w->prev->next = w->next;
    } else {
        rs->watchers = w->next;
    }
    if (w->next != NULL) {
        w->next->prev = w->prev;
    }
    rs->nwatchers--;
    free(w);
}
