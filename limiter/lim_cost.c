/* The cost model and the learned LIST sizes: see lim_cost.h.
 * Seats follow APF's size-based estimate (pkg/util/flowcontrol/request/
 * list_work_estimator.go: a seat per 100 KB, clamped to [1, max]); a watch
 * costs a LIST only when it sends initial events (RV unset or "0", or
 * sendInitialEvents), and one object's worth when it names a single object
 * (metadata.name), as APF counts it. Tokens add what APF leaves out: the
 * size itself, whether the watch cache or etcd serves it. */
#include "lim_cost.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lim.h"

#define GROUP_MAX    96 /* longer names share the "other" slot */
#define RESOURCE_MAX 64
#define PROBES       32

enum { SLOT_EMPTY = 0, SLOT_CLAIMED, SLOT_READY };

struct learned_slot {
    _Atomic uint32_t state;
    bool filtered;
    uint64_t hash;
    _Atomic uint64_t avg_bytes; /* 0: nothing learned yet */
    char group[GROUP_MAX];
    char resource[RESOURCE_MAX];
};

struct lim_learned {
    struct lim_hash_key key;
    struct learned_slot slots[LIM_LEARNED_SLOTS];
};

static uint64_t name_hash(const struct lim_learned *t, const char *group, const char *resource,
                          bool filtered);
static const char *fmt_bytes(char *buf, size_t len, uint64_t n);

struct lim_learned *
lim_learned_new(uint64_t seed)
{
    struct lim_learned *t = calloc(1, sizeof(*t));

    if (t != NULL) {
        lim_hash_key_init(&t->key, seed ^ 0x6c6561726e6564ull);
    }
    return t;
}

void
lim_learned_free(struct lim_learned *t)
{
    free(t);
}

uint16_t
lim_learned_slot(struct lim_learned *t, const char *group, const char *resource, bool filtered,
                 bool insert)
{
    size_t glen = strlen(group), rlen = strlen(resource), i;
    uint64_t h;

    if (glen >= GROUP_MAX || rlen >= RESOURCE_MAX) {
        return LIM_LEARNED_OTHER;
    }
    h = name_hash(t, group, resource, filtered);
    for (i = 0; i < PROBES; i++) {
        uint16_t at = (uint16_t)((h + i) % LIM_LEARNED_OTHER);
        struct learned_slot *s = &t->slots[at];
        uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);

        if (st == SLOT_READY) {
            if (s->hash == h && s->filtered == filtered && strcmp(s->group, group) == 0 &&
                strcmp(s->resource, resource) == 0) {
                return at;
            }
            continue;
        }
        if (st == SLOT_CLAIMED) {
            /* Being written by another thread, perhaps for this very name:
             * do not wait for it, do not claim a duplicate. */
            return LIM_LEARNED_OTHER;
        }
        if (!insert) {
            return LIM_LEARNED_NONE;
        }
        if (!atomic_compare_exchange_strong_explicit(&s->state, &st, SLOT_CLAIMED,
                                                     memory_order_acquire, memory_order_relaxed)) {
            return LIM_LEARNED_OTHER;
        }
        s->hash = h;
        s->filtered = filtered;
        memcpy(s->group, group, glen + 1);
        memcpy(s->resource, resource, rlen + 1);
        atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
        return at;
    }
    return insert ? LIM_LEARNED_OTHER : LIM_LEARNED_NONE;
}

uint64_t
lim_learned_bytes(const struct lim_learned *t, uint16_t slot)
{
    if (t == NULL || slot >= LIM_LEARNED_SLOTS) {
        return 0;
    }
    return atomic_load_explicit(&t->slots[slot].avg_bytes, memory_order_relaxed);
}

void
lim_learned_observe(struct lim_learned *t, uint16_t slot, uint64_t bytes)
{
    _Atomic uint64_t *avg;
    uint64_t cur, next;

    if (slot >= LIM_LEARNED_SLOTS) {
        return;
    }
    if (bytes > LIM_LEARNED_MAX_BYTES) {
        bytes = LIM_LEARNED_MAX_BYTES;
    }
    if (bytes == 0) {
        bytes = 1; /* 0 means "nothing learned" */
    }
    avg = &t->slots[slot].avg_bytes;
    cur = atomic_load_explicit(avg, memory_order_relaxed);
    do {
        /* avg += (x - avg) / 8, in unsigned arithmetic; both < 2^41. */
        next = cur == 0 ? bytes : cur - cur / 8 + bytes / 8;
        if (next == 0) {
            next = 1;
        }
    } while (!atomic_compare_exchange_weak_explicit(avg, &cur, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

int
lim_learned_put(struct lim_learned *t, const char *group, const char *resource, bool filtered,
                uint64_t bytes)
{
    uint16_t slot = lim_learned_slot(t, group, resource, filtered, true);

    if (slot >= LIM_LEARNED_OTHER) {
        return -1;
    }
    if (bytes > LIM_LEARNED_MAX_BYTES) {
        bytes = LIM_LEARNED_MAX_BYTES;
    }
    atomic_store_explicit(&t->slots[slot].avg_bytes, bytes ? bytes : 1, memory_order_relaxed);
    return 0;
}

void
lim_learned_walk(const struct lim_learned *t,
                 void (*fn)(void *arg, const char *group, const char *resource, bool filtered,
                            uint64_t avg_bytes),
                 void *arg)
{
    size_t i;

    for (i = 0; i < LIM_LEARNED_OTHER; i++) {
        const struct learned_slot *s = &t->slots[i];
        uint64_t avg;

        if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY) {
            continue;
        }
        avg = atomic_load_explicit(&s->avg_bytes, memory_order_relaxed);
        if (avg != 0) {
            fn(arg, s->group, s->resource, s->filtered, avg);
        }
    }
}

/* Bytes for (resource, filtered): learned, or the class's default. */
static uint64_t
list_bytes(const struct lim_cost_params *cp, struct lim_learned *t, bool insert,
           const struct lim_request *r, bool filtered, uint16_t *slot)
{
    uint64_t b = 0;

    *slot = LIM_LEARNED_NONE;
    if (t != NULL) {
        *slot = lim_learned_slot(t, r->api_group, r->resource, filtered, insert);
        b = lim_learned_bytes(t, *slot);
    }
    return b != 0 ? b : cp->default_list_bytes;
}

enum cost_case { COST_BASE = 0, COST_LONG_RUNNING, COST_BAD_OPTIONS, COST_LIST };

/* The one-line explanation for lim_explain; kept out of lim_cost_compute
 * so that the decision's path carries no string buffers. */
static void __attribute__((noinline))
explain(char *why, size_t whylen, enum cost_case cc, const struct lim_request *r,
        const struct lim_cost *out, bool filtered, bool consistent, uint64_t ubytes, bool learned,
        bool capped)
{
    enum lim_verb v = r->verb;
    char b1[24], b2[24];

    switch (cc) {
    case COST_LONG_RUNNING:
        snprintf(why, whylen, "long-running %s: base cost, no seat", r->resource);
        break;
    case COST_BAD_OPTIONS:
        snprintf(why, whylen, "malformed list options: maximum cost, %u seats", out->seats);
        break;
    case COST_BASE:
        snprintf(why, whylen, "%s: base cost %llu.%03llu tokens, 1 seat",
                 r->name[0] != '\0' && (v == LIM_VERB_LIST || v == LIM_VERB_WATCH)
                     ? "one named object"
                 : v == LIM_VERB_WATCH ? "watch from a resourceVersion (no initial events)"
                                       : "not a list",
                 (unsigned long long)(out->tokens_mt / 1000),
                 (unsigned long long)(out->tokens_mt % 1000));
        break;
    case COST_LIST:
        snprintf(
            why, whylen, "%s %s%s from %s: %s%s%s%s -> %llu.%03llu tokens%s, %u seats",
            v == LIM_VERB_WATCH  ? "watch with initial events"
            : v == LIM_VERB_LIST ? "list"
                                 : "deletecollection",
            r->resource, filtered ? " (filtered)" : "", consistent ? "etcd" : "the watch cache",
            fmt_bytes(b1, sizeof(b1), out->learned_bytes), learned ? " learned" : " default",
            consistent ? " + etcd share of " : "",
            consistent ? fmt_bytes(b2, sizeof(b2), ubytes) : "",
            (unsigned long long)(out->tokens_mt / 1000),
            (unsigned long long)(out->tokens_mt % 1000), capped ? " (capped)" : "", out->seats);
        break;
    }
}

/* Whether storage (etcd) serves this read, as kube-apiserver's cacher
 * delegates it, taking APF's pessimistic view of continue and Exact
 * (reference: pkg/storage/cacher/delegator.go). A watch, whatever its
 * resourceVersion, is served by the watch cache: its initial events cost the
 * cache's CPU, not an etcd range read. A LIST without resourceVersion is a
 * consistent read; with a limit, a specific resourceVersion and no
 * resourceVersionMatch it means Exact (the API's pagination rule); continue
 * and Exact read etcd unless a cache snapshot happens to cover them. */
static bool
reads_etcd(const struct lim_request *r)
{
    if (r->verb == LIM_VERB_WATCH) {
        return false;
    }
    return r->rv == LIM_RV_UNSET || r->has_continue || r->rv_match == LIM_RVM_EXACT ||
           (r->rv == LIM_RV_VALUE && r->has_limit && r->limit > 0 && r->rv_match == LIM_RVM_NONE);
}

void
lim_cost_full(const struct lim_cost_params *cp, struct lim_learned *t, bool insert,
              const struct lim_request *r, struct lim_cost *out, char *why, size_t whylen)
{
    enum lim_verb v = r->verb;
    bool is_watch = v == LIM_VERB_WATCH, readonly, filtered, consistent;
    uint64_t bytes, ubytes = 0, tokens, cap = (uint64_t)cp->max_tokens * LIM_MT_PER_TOKEN;
    uint16_t slot, uslot;
    enum cost_case cc = COST_BASE;

    /* maxinflight.go's read-only verbs; a non-resource GET/HEAD reads too. */
    readonly = r->is_resource ? (v == LIM_VERB_GET || v == LIM_VERB_LIST || is_watch)
                              : (v == LIM_VERB_GET || v == LIM_VERB_HEAD);
    out->pool = readonly ? LIM_KIND_READONLY : LIM_KIND_MUTATING;
    out->kind = is_watch ? LIM_KIND_WATCH : out->pool;
    out->tokens_mt = cp->base_mt < cap ? cp->base_mt : cap;
    out->seats = 1;
    out->resource_slot = LIM_LEARNED_NONE;
    out->learned_bytes = 0;
    out->list_like = r->is_resource && r->name[0] == '\0' &&
                     (v == LIM_VERB_LIST || v == LIM_VERB_DELETECOLLECTION ||
                      (is_watch && (r->rv != LIM_RV_VALUE || r->send_initial_events)));
    if (r->is_long_running && !is_watch) {
        /* kube-apiserver's max-inflight and APF both let exec, attach,
         * port-forward, proxy and log?follow run without a seat: they live
         * for minutes and would pin the pool. They pay their tokens. */
        out->seats = 0;
        out->list_like = false;
        cc = COST_LONG_RUNNING;
    } else if (out->list_like && r->bad_list_options) {
        /* APF's list estimator charges maximum seats when ListOptions fail
         * to decode; we charge the maximum of both (the apiserver answers
         * 400, so only a broken or hostile client pays it). */
        out->tokens_mt = cap;
        out->seats = cp->max_seats;
        cc = COST_BAD_OPTIONS;
    } else if (out->list_like) {
        cc = COST_LIST;
    }
    if (cc != COST_LIST) {
        if (why != NULL) {
            explain(why, whylen, cc, r, out, false, false, 0, false, false);
        }
        return;
    }
    filtered = r->label_selector[0] != '\0' || r->field_selector[0] != '\0';
    consistent = reads_etcd(r);
    bytes = list_bytes(cp, t, insert, r, filtered, &slot);
    tokens = cp->base_mt + bytes * LIM_MT_PER_TOKEN / cp->bytes_per_token;
    if (consistent && cp->etcd_extra_pct != 0) {
        /* etcd reads the whole range and the apiserver filters after. */
        ubytes = filtered ? list_bytes(cp, t, insert, r, false, &uslot) : bytes;
        tokens += ubytes * cp->etcd_extra_pct / 100 * LIM_MT_PER_TOKEN / cp->bytes_per_token;
    }
    out->tokens_mt = tokens < cap ? tokens : cap;
    out->learned_bytes = bytes;
    if (v != LIM_VERB_DELETECOLLECTION) {
        uint64_t seats = 1 + bytes / cp->seat_bytes;

        out->seats = (uint32_t)(seats < cp->max_seats ? seats : cp->max_seats);
    }
    /* Only a LIST's response is its resource's size. */
    out->resource_slot = v == LIM_VERB_LIST ? slot : LIM_LEARNED_NONE;
    if (why != NULL) {
        explain(why, whylen, cc, r, out, filtered, consistent, ubytes,
                lim_learned_bytes(t, slot) != 0, tokens > cap);
    }
}

static uint64_t
name_hash(const struct lim_learned *t, const char *group, const char *resource, bool filtered)
{
    uint64_t h = lim_hash64(&t->key, filtered ? 1 : 2, group, strlen(group));

    return lim_hash64(&t->key, h, resource, strlen(resource));
}

/* Decimal units, as kubectl and the design notes write sizes. */
static const char *
fmt_bytes(char *buf, size_t len, uint64_t n)
{
    if (n >= 1000000) {
        snprintf(buf, len, "%llu.%llu MB", (unsigned long long)(n / 1000000),
                 (unsigned long long)(n % 1000000 / 100000));
    } else if (n >= 1000) {
        snprintf(buf, len, "%llu.%llu kB", (unsigned long long)(n / 1000),
                 (unsigned long long)(n % 1000 / 100));
    } else {
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    }
    return buf;
}
