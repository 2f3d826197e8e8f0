/* What a request weighs: tokens for the buckets, seats for the concurrency
 * pools, and which pool. A LIST's weight grows with the response size
 * learned for its resource in this cluster (bytes are the honest unit of
 * the apiserver's CPU and memory), plus etcd's share for a consistent read.
 * Learned sizes live in a fixed table read without locks. Private to
 * limiter/. */
#ifndef LIM_COST_H
#define LIM_COST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lim.h"
#include "lim_hash.h"
#include "lim_policy.h"
#include "lim_request.h"

#define LIM_LEARNED_SLOTS     1024u                    /* the last one is "other" */
#define LIM_LEARNED_OTHER     (LIM_LEARNED_SLOTS - 1u) /* shared once the table is full */
#define LIM_LEARNED_NONE      0xffffu                  /* ticket: nothing to learn */
#define LIM_LEARNED_MAX_BYTES (1ull << 40)             /* samples are clamped to 1 TiB */

struct lim_learned;

struct lim_learned *lim_learned_new(uint64_t seed);
void lim_learned_free(struct lim_learned *t);

/* The slot of (<group>, <resource>, <filtered>): found, or claimed when
 * <insert>; LIM_LEARNED_OTHER when the table is full, the names too long,
 * or another thread is claiming the slot right now; LIM_LEARNED_NONE when
 * absent and not <insert>. Lock-free. */
uint16_t lim_learned_slot(struct lim_learned *t, const char *group, const char *resource,
                          bool filtered, bool insert);
/* Average bytes learned in <slot>, 0 when nothing yet. */
uint64_t lim_learned_bytes(const struct lim_learned *t, uint16_t slot);
/* Feeds one response size into <slot>'s average (EWMA, weight 1/8). */
void lim_learned_observe(struct lim_learned *t, uint16_t slot, uint64_t bytes);
/* Sets the average; -1 when no slot is free. */
int lim_learned_put(struct lim_learned *t, const char *group, const char *resource, bool filtered,
                    uint64_t bytes);
void lim_learned_walk(const struct lim_learned *t,
                      void (*fn)(void *arg, const char *group, const char *resource, bool filtered,
                                 uint64_t avg_bytes),
                      void *arg);

struct lim_cost {
    uint64_t tokens_mt;
    uint32_t seats;         /* 0: holds no seat (long-running, not a watch) */
    uint8_t pool;           /* LIM_KIND_READONLY or LIM_KIND_MUTATING */
    uint8_t kind;           /* enum lim_kind */
    bool list_like;         /* LIST, deletecollection, or a watch with initial events */
    uint16_t resource_slot; /* learned slot a 2xx response teaches, or NONE */
    uint64_t learned_bytes; /* the size the tokens used (0 for base cost) */
};

/* The tokens of a request that weighs the base cost (a GET, a mutation,
 * a non-resource request): base_mt, capped. */
static inline uint64_t
lim_cost_base_mt(const struct lim_cost_params *cp)
{
    uint64_t cap = (uint64_t)cp->max_tokens * LIM_MT_PER_TOKEN;

    return cp->base_mt < cap ? cp->base_mt : cap;
}

/* lim_cost_compute's general case. */
void lim_cost_full(const struct lim_cost_params *cp, struct lim_learned *t, bool insert,
                   const struct lim_request *r, struct lim_cost *out, char *why, size_t whylen);

/* Weighs <r> under <cp>. <t> may be NULL (nothing learned: defaults). With
 * <insert>, a resource seen for the first time claims a learned slot. When
 * <why> is not NULL it receives a one-line explanation. The common case, a
 * resource request that is neither a list nor long-running, is inline. */
static inline void
lim_cost_compute(const struct lim_cost_params *cp, struct lim_learned *t, bool insert,
                 const struct lim_request *r, struct lim_cost *out, char *why, size_t whylen)
{
    enum lim_verb v = r->verb;

    if (why != NULL || !r->is_resource || r->is_long_running || v == LIM_VERB_LIST ||
        v == LIM_VERB_WATCH || v == LIM_VERB_DELETECOLLECTION) {
        struct lim_cost full; /* so that the caller's <out> need not live in memory */

        lim_cost_full(cp, t, insert, r, &full, why, whylen);
        *out = full;
        return;
    }
    out->pool = v == LIM_VERB_GET ? LIM_KIND_READONLY : LIM_KIND_MUTATING;
    out->kind = out->pool;
    out->tokens_mt = lim_cost_base_mt(cp);
    out->seats = 1;
    out->list_like = false;
    out->resource_slot = LIM_LEARNED_NONE;
    out->learned_bytes = 0;
}

#endif /* LIM_COST_H */
