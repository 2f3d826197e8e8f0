/* The per-(class, key) state: a bounded table of entries, sharded by key
 * hash, each shard with its lock, an open-addressing index and an intrusive
 * LRU. Entries never move while they hold anything, so a ticket can point at
 * one. Only idle, full entries are evicted (bucket and watch bucket full, no
 * request in flight, no open watch, no reserved turn before its expiry):
 * eviction never hands a client a fresh bucket it had not earned, nor drops
 * a turn it was promised. When a shard is full of live entries, the caller
 * charges its class's overflow entry instead. Private to limiter/. */
#ifndef LIM_TABLE_H
#define LIM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "lim.h"
#include "lim_lock.h"

#define LIM_TABLE_MAX_CLIENTS (1u << 24)
#define LIM_TABLE_EVICT_SCAN  8 /* LRU-tail entries looked at per insert */

/* An index cell (lim_table.c): a hash tag in the high bits, the entry's
 * number in its shard + 1 in the low LIM_TABLE_IDX_BITS; 0 is empty. */
#define LIM_TABLE_IDX_BITS   19 /* shards hold < 2^19 entries */
#define LIM_TABLE_IDX_MASK   ((1u << LIM_TABLE_IDX_BITS) - 1)
#define LIM_TABLE_TAG_MASK   (0xffffffffu & ~LIM_TABLE_IDX_MASK)
#define LIM_TABLE_BUMP_SHIFT 30 /* LRU resolution: 2^30 ns, about a second */

enum lim_entry_flag {
    LIM_ENTRY_USED = 1,
    LIM_ENTRY_OVERFLOW = 2, /* a class's shared overflow entry */
    LIM_ENTRY_RESERVED = 4, /* holds a turn: lim_entry_cold.resv */
};

/* The part of an entry the decision touches: one cache line. */
struct lim_entry {
    uint64_t h0, h1;     /* 128-bit keyed hash of the key */
    uint64_t tat;        /* key bucket (lim_bucket.h) */
    uint64_t watch_tat;  /* key watch-establishment bucket */
    uint32_t prev, next; /* LRU neighbours */
    uint16_t bumped;     /* now_ns >> 30 at the last LRU move (wraps harmlessly) */
    uint8_t kind;        /* what the name is (user, node, ...): part of the key */
    uint8_t flags;
    uint16_t slot; /* class slot: part of the key */
    uint8_t shard;
    uint8_t unused;
    /* Raised under the entry's lock (after the caps are checked against
     * them), lowered without it by lim_release: a concurrent release only
     * makes a check more conservative. */
    _Atomic uint32_t inflight; /* requests holding seats */
    _Atomic uint32_t watches;  /* open watches */
    uint64_t requests;         /* decisions for this key */
};

#define LIM_RESV_WAITERS 4 /* a key's requests queued behind its turn */

/* A key's turn in its class's shared buckets (lim_turn.c): tokens booked
 * ahead in the class bucket and/or the global watch-establishment bucket,
 * usable from ready_ns on by the request that booked it (its shape), and
 * the key's other requests queued behind it. Kept in the cold part: only a
 * rejection, a booking or a key flagged LIM_ENTRY_RESERVED reads it. */
struct lim_resv {
    uint64_t ready_ns;                  /* the booked tokens are there from then on */
    uint64_t expires_ns;                /* forfeited when not used by then */
    uint64_t cost_mt;                   /* class tokens booked; 0: none */
    uint32_t owner;                     /* shape of the request it is for */
    uint32_t wait[LIM_RESV_WAITERS];    /* shapes queued, first rejected first */
    uint32_t wait_mt[LIM_RESV_WAITERS]; /* their class tokens (clamped) */
    uint8_t nwait;
    uint8_t wait_watch; /* bit i: wait[i] is a watch */
    uint8_t gwatch;     /* a global watch-establishment token is booked */
    uint8_t reason;     /* enum lim_reason of the booking: CLASS_RATE or WATCH_RATE */
};

/* What only the admin plane and rejections read. */
struct lim_entry_cold {
    uint64_t created_ns;
    uint64_t rejects;
    struct lim_resv resv;
    char key[LIM_KEY_DISPLAY];
};

enum lim_table_op {
    LIM_TABLE_FIND = 0, /* look only: no insert, no LRU move */
    LIM_TABLE_GET,      /* insert when absent, move to the LRU head */
};

/* The layout is here only so that lock, unlock and a lookup's hit can be
 * inline. */
struct lim_shard {
    _Alignas(64) struct lim_lock lock;
    uint32_t mask;       /* index cells - 1 */
    uint32_t base, cap;  /* entries [base, base + cap) */
    uint32_t used;       /* entries handed out from the range so far */
    uint32_t head, tail; /* LRU: head is the most recently used */
    _Atomic uint32_t count;
    _Atomic uint64_t evictions;
    uint32_t *index;
};

struct lim_table {
    struct lim_shard *shards;
    uint32_t shard_mask;
    uint32_t max_clients;
    struct lim_entry *e;
    struct lim_entry_cold *cold;
    uint32_t *index;
    struct lim_entry *ovf; /* LIM_MAX_CLASSES overflow entries */
    struct lim_entry_cold *ovf_cold;
    struct lim_lock *ovf_lock;
    _Atomic uint64_t *resv_evicted; /* by class slot: expired turns evicted unused */
};

/* A table for at most <max_clients> (1..LIM_TABLE_MAX_CLIENTS) entries,
 * allocated up front, plus one overflow entry per class slot. */
struct lim_table *lim_table_new(uint32_t max_clients, char *err, size_t errlen);
void lim_table_free(struct lim_table *t);

/* The halves of lim_table_get that are out of line (lim_table.c), both
 * called with shard <s> locked: a miss, and an LRU move of a hit. */
struct lim_entry *lim_table_miss(struct lim_table *t, struct lim_shard *s, const uint64_t h[2],
                                 uint32_t slot, uint8_t kind, const char *key, size_t keylen,
                                 uint64_t now_ns, enum lim_table_op op);
void lim_table_bump(struct lim_table *t, struct lim_shard *s, uint32_t idx, uint16_t stamp);

/* The entry of (<h>, <slot>, <kind>), returned with its lock held. LIM_TABLE_GET
 * inserts a new entry (full buckets, <key> kept for display) when absent,
 * evicting an idle full one from the shard's LRU tail when the shard is
 * full. NULL, with nothing locked, when absent (FIND) or when the shard is
 * full of live entries (GET). A hit, the decision's common case, is inline:
 * the shard (the top bits of h[1]), its lock, and a probe of the index from
 * the cell the low bits of h[0] pick, comparing tags (bits of h[1] neither
 * position uses) before the entry. */
static inline struct lim_entry *
lim_table_get(struct lim_table *t, const uint64_t h[2], uint32_t slot, uint8_t kind,
              const char *key, size_t keylen, uint64_t now_ns, enum lim_table_op op)
{
    struct lim_shard *s = &t->shards[(uint32_t)(h[1] >> 58) & t->shard_mask];
    uint32_t tag = (uint32_t)(h[1] >> 19) & LIM_TABLE_TAG_MASK, i = (uint32_t)h[0] & s->mask, v;

    lim_lock_acquire(&s->lock);
    while ((v = s->index[i]) != 0) {
        if ((v & LIM_TABLE_TAG_MASK) == tag) {
            uint32_t idx = s->base + (v & LIM_TABLE_IDX_MASK) - 1;
            struct lim_entry *e = &t->e[idx];

            if (e->h0 == h[0] && e->h1 == h[1] && e->slot == slot && e->kind == kind) {
                uint16_t stamp = (uint16_t)(now_ns >> LIM_TABLE_BUMP_SHIFT);

                if (op == LIM_TABLE_GET && e->bumped != stamp) {
                    lim_table_bump(t, s, idx, stamp);
                }
                return e;
            }
        }
        i = (i + 1) & s->mask;
    }
    return lim_table_miss(t, s, h, slot, kind, key, keylen, now_ns, op);
}

/* Class <slot>'s overflow entry, returned with its lock held. */
struct lim_entry *lim_table_overflow(struct lim_table *t, uint32_t slot);

static inline struct lim_lock *
lim_table_lock_of(struct lim_table *t, const struct lim_entry *e)
{
    if (e->flags & LIM_ENTRY_OVERFLOW) {
        return &t->ovf_lock[e->slot];
    }
    return &t->shards[e->shard].lock;
}

static inline void
lim_table_lock(struct lim_table *t, struct lim_entry *e)
{
    lim_lock_acquire(lim_table_lock_of(t, e));
}

static inline void
lim_table_unlock(struct lim_table *t, struct lim_entry *e)
{
    lim_lock_release(lim_table_lock_of(t, e));
}

struct lim_entry_cold *lim_table_cold(struct lim_table *t, struct lim_entry *e);

/* Whether <e> holds nothing at <now_ns> and may be forgotten. */
bool lim_entry_is_idle(const struct lim_table *t, const struct lim_entry *e, uint64_t now_ns);

/* Turns of class <slot> that expired unused and were dropped by eviction
 * (lim_decide counts those it finds itself). */
uint64_t lim_table_resv_evicted(const struct lim_table *t, uint32_t slot);

uint64_t lim_table_clients(const struct lim_table *t);
uint64_t lim_table_evictions(const struct lim_table *t);
uint32_t lim_table_max_clients(const struct lim_table *t);
size_t lim_table_shard_count(const struct lim_table *t);

/* Calls <fn> on each entry of shard <shard>, with that shard locked. */
void lim_table_walk(struct lim_table *t, size_t shard,
                    void (*fn)(void *arg, const struct lim_entry *e,
                               const struct lim_entry_cold *cold),
                    void *arg);

/* Calls <fn> on the overflow entries of slots 0..<nslots>-1 that were
 * ever used, each with its lock held. */
void lim_table_walk_overflow(struct lim_table *t, size_t nslots,
                             void (*fn)(void *arg, const struct lim_entry *e,
                                        const struct lim_entry_cold *cold),
                             void *arg);

#endif /* LIM_TABLE_H */
