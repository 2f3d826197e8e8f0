/* The limiter's lifecycle, policy binding, operator controls, counters and
 * learned sizes. The decision itself is in lim_decide.c. */
#include "lim.h"

#include <stdlib.h>
#include <string.h>

#include "lim_err.h"
#include "lim_int.h"
#include "lim_policy_int.h"

static struct lim_slot *slot_new(const char *name);
static void slot_free(struct lim_slot *s);
static int slot_find(const struct lim *l, const char *name);

struct lim *
lim_new(uint32_t max_clients, uint64_t seed, char *err, size_t errlen)
{
    struct lim *l = aligned_alloc(64, sizeof(*l));

    if (l == NULL) {
        lim_errf(err, errlen, "limiter: out of memory");
        return NULL;
    }
    memset(l, 0, sizeof(*l));
    if (pthread_mutex_init(&l->bind_lock, NULL) != 0 || lim_overrides_init(&l->ov) != 0) {
        lim_errf(err, errlen, "limiter: cannot create its locks");
        free(l);
        return NULL;
    }
    lim_hash_key_init(&l->hkey, seed);
    atomic_init(&l->shed_scale, 100);
    l->gen_base = lim_hash_mix64(seed ^ (uint64_t)(uintptr_t)l);
    l->table = lim_table_new(max_clients, err, errlen);
    if (l->table == NULL) {
        goto fail;
    }
    l->learned = lim_learned_new(seed);
    if (l->learned == NULL) {
        lim_errf(err, errlen, "limiter: out of memory");
        goto fail;
    }
    return l;

fail:
    lim_free(l);
    return NULL;
}

void
lim_free(struct lim *l)
{
    size_t i;

    if (l == NULL) {
        return;
    }
    for (i = 0; i < atomic_load(&l->nslots); i++) {
        slot_free(l->slots[i]);
    }
    lim_table_free(l->table);
    lim_learned_free(l->learned);
    lim_overrides_fini(&l->ov);
    pthread_mutex_destroy(&l->bind_lock);
    free(l);
}

int
lim_bind(struct lim *l, struct lim_policy *p, char *err, size_t errlen)
{
    size_t i, n;
    int rc = 0;

    if (!p->finished) {
        lim_errf(err, errlen, "bind: the policy is not finished");
        return -1;
    }
    if (p->bound_to == l) {
        return 0;
    }
    if (p->bound_to != NULL) {
        lim_errf(err, errlen, "bind: the policy is bound to another limiter");
        return -1;
    }
    pthread_mutex_lock(&l->bind_lock);
    n = atomic_load_explicit(&l->nslots, memory_order_relaxed);
    for (i = 0; i < p->nclasses; i++) {
        struct lim_class *c = &p->classes[i];
        int at = slot_find(l, c->p.name);

        if (at < 0) {
            if (n == LIM_MAX_CLASSES) {
                lim_errf(err, errlen,
                         "bind: class %zu (%s): the limiter already knows %d "
                         "class names",
                         i, c->p.name, LIM_MAX_CLASSES);
                rc = -1;
                break;
            }
            l->slots[n] = slot_new(c->p.name);
            if (l->slots[n] == NULL) {
                lim_errf(err, errlen, "bind: class %zu (%s): out of memory", i, c->p.name);
                rc = -1;
                break;
            }
            at = (int)n++;
            /* Publish the slot before its index can be seen. */
            atomic_store_explicit(&l->nslots, n, memory_order_release);
        }
        c->slot = (uint32_t)at;
        atomic_store_explicit(&l->slots[at]->view_ns_per_token, c->rate.ns_per_token,
                              memory_order_relaxed);
        atomic_store_explicit(&l->slots[at]->view_burst_mt, c->rate.burst_mt, memory_order_relaxed);
    }
    if (rc == 0) {
        /* A generation no other policy of this process shares, so that an
         * identity's cached subject mask is never read for the wrong one. */
        p->gen = lim_hash_mix64(l->gen_base + ++l->binds) | 1u;
        p->bound_to = l;
    }
    pthread_mutex_unlock(&l->bind_lock);
    return rc;
}

void
lim_set_shed(struct lim *l, uint32_t scale_pct, bool reject_list_watch)
{
    if (scale_pct == 0) {
        scale_pct = 1;
    }
    if (scale_pct > 100) {
        scale_pct = 100;
    }
    atomic_store_explicit(&l->shed_scale, scale_pct, memory_order_relaxed);
    atomic_store_explicit(&l->shed_list_watch, reject_list_watch, memory_order_relaxed);
}

void
lim_get_shed(const struct lim *l, uint32_t *scale_pct, bool *reject_list_watch)
{
    *scale_pct = atomic_load_explicit(&l->shed_scale, memory_order_relaxed);
    *reject_list_watch = atomic_load_explicit(&l->shed_list_watch, memory_order_relaxed);
}

int
lim_set_class_mode(struct lim *l, const char *name, int mode)
{
    int at;

    if (mode < -1 || mode >= LIM_MODE_COUNT) {
        return -1;
    }
    pthread_mutex_lock(&l->bind_lock);
    at = slot_find(l, name);
    if (at >= 0) {
        atomic_store_explicit(&l->slots[at]->mode, mode, memory_order_relaxed);
    }
    pthread_mutex_unlock(&l->bind_lock);
    return at >= 0 ? 0 : -1;
}

enum lim_mode
lim_class_mode(const struct lim *l, const struct lim_policy *p, size_t class_index)
{
    const struct lim_class *c = &p->classes[class_index];
    int m;

    if (l != NULL && p->bound_to == l) {
        m = atomic_load_explicit(&l->slots[c->slot]->mode, memory_order_relaxed);
        if (m >= 0) {
            return (enum lim_mode)m;
        }
    }
    return c->p.mode;
}

int
lim_block(struct lim *l, const char *user, uint64_t until_ns)
{
    return lim_overrides_set(&l->ov, &l->hkey, user, LIM_OV_BLOCK, until_ns);
}

int
lim_allow(struct lim *l, const char *user, uint64_t until_ns)
{
    return lim_overrides_set(&l->ov, &l->hkey, user, LIM_OV_ALLOW, until_ns);
}

int
lim_unblock(struct lim *l, const char *user)
{
    return lim_overrides_remove(&l->ov, &l->hkey, user);
}

void
lim_stats(const struct lim *l, struct lim_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->clients = lim_table_clients(l->table);
    out->evictions = lim_table_evictions(l->table);
    out->overflow = atomic_load_explicit(&l->overflow, memory_order_relaxed);
    out->inflight[0] = atomic_load_explicit(&l->pool[0], memory_order_relaxed);
    out->inflight[1] = atomic_load_explicit(&l->pool[1], memory_order_relaxed);
    out->watches_open = atomic_load_explicit(&l->watches, memory_order_relaxed);
    out->max_clients = lim_table_max_clients(l->table);
}

size_t
lim_class_slot_count(const struct lim *l)
{
    return atomic_load_explicit(&l->nslots, memory_order_acquire);
}

const char *
lim_class_slot_name(const struct lim *l, size_t slot)
{
    return slot < lim_class_slot_count(l) ? l->slots[slot]->name : NULL;
}

void
lim_class_slot_stats(const struct lim *l, size_t slot, struct lim_class_stats *out)
{
    const struct lim_slot *s;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (slot >= lim_class_slot_count(l)) {
        return;
    }
    s = l->slots[slot];
    out->admitted = atomic_load_explicit(&s->admitted, memory_order_relaxed);
    out->delayed = atomic_load_explicit(&s->delayed, memory_order_relaxed);
    for (i = 0; i < LIM_REASON_COUNT; i++) {
        out->rejected[i] = atomic_load_explicit(&s->rejected[i], memory_order_relaxed);
        out->would_reject[i] = atomic_load_explicit(&s->would_reject[i], memory_order_relaxed);
    }
    out->watches_started = atomic_load_explicit(&s->watches_started, memory_order_relaxed);
    out->inflight[0] = atomic_load_explicit(&s->inflight[0], memory_order_relaxed);
    out->inflight[1] = atomic_load_explicit(&s->inflight[1], memory_order_relaxed);
    out->watches_open = atomic_load_explicit(&s->watches, memory_order_relaxed);
    out->reservations_made = atomic_load_explicit(&s->resv_made, memory_order_relaxed);
    out->reservations_honoured = atomic_load_explicit(&s->resv_honoured, memory_order_relaxed);
    out->reservations_forfeited = atomic_load_explicit(&s->resv_forfeited, memory_order_relaxed) +
                                  lim_table_resv_evicted(l->table, (uint32_t)slot);
}

int
lim_learned_set(struct lim *l, const char *api_group, const char *resource, bool filtered,
                uint64_t avg_bytes)
{
    return lim_learned_put(l->learned, api_group, resource, filtered, avg_bytes);
}

void
lim_learned_each(const struct lim *l,
                 void (*fn)(void *arg, const char *api_group, const char *resource, bool filtered,
                            uint64_t avg_bytes),
                 void *arg)
{
    lim_learned_walk(l->learned, fn, arg);
}

const char *
lim_reason_name(enum lim_reason r)
{
    static const char *const names[LIM_REASON_COUNT] = {"none",        "rate",      "class_rate",
                                                        "concurrency", "watch_cap", "watch_rate",
                                                        "unverified",  "shed",      "blocked"};

    return (unsigned)r < LIM_REASON_COUNT ? names[r] : "unknown";
}

const char *
lim_verdict_name(enum lim_verdict v)
{
    static const char *const names[] = {"admit", "delay", "reject"};

    return (unsigned)v <= LIM_REJECT ? names[v] : "unknown";
}

static struct lim_slot *
slot_new(const char *name)
{
    struct lim_slot *s = aligned_alloc(64, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    atomic_init(&s->mode, -1);
    s->name = strdup(name);
    if (s->name == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

static void
slot_free(struct lim_slot *s)
{
    if (s != NULL) {
        free(s->name);
        free(s);
    }
}

static int
slot_find(const struct lim *l, const char *name)
{
    size_t i, n = atomic_load_explicit(&l->nslots, memory_order_relaxed);

    for (i = 0; i < n; i++) {
        if (strcmp(l->slots[i]->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}
