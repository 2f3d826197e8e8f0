/* The sharded client table: see lim_table.h.
 * Layout, for O(1) whatever the client count: entries live in one array
 * allocated up front (64 hot bytes, 64 cold), each shard owns a contiguous
 * range of it plus a linear-probing index of 32-bit cells (a 13-bit hash
 * tag, the entry's number in the shard + 1) at most 3/4 full, so a lookup
 * touches one index line and one entry line. Small cells keep the index
 * (4-8 bytes per client) resident in the last-level cache even when the
 * entries are not: at a million clients a decision then pays one DRAM miss
 * (the entry), not two. The LRU moves an entry at most once a second (as
 * memcached bumps items): a hit on a hot key writes nothing but its own
 * line, and the order is exact to a second, which is all eviction needs. */
#include "lim_table.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lim_err.h"
#include "lim_lock.h"

#define NIL        UINT32_MAX
#define SHARDS_MAX 64
#define SHARD_MIN  64 /* entries: below 2 * this the table is one shard */
#define BUMP_SHIFT LIM_TABLE_BUMP_SHIFT
#define IDX_MASK   LIM_TABLE_IDX_MASK
#define TAG_MASK   LIM_TABLE_TAG_MASK

static uint32_t entry_alloc(struct lim_table *t, struct lim_shard *s, uint64_t now_ns);
static void lru_unlink(struct lim_table *t, struct lim_shard *s, uint32_t i);
static void lru_push(struct lim_table *t, struct lim_shard *s, uint32_t i);
static void index_put(struct lim_shard *s, uint32_t home, uint32_t cell);
static void index_delete(struct lim_table *t, struct lim_shard *s, uint32_t i);

struct lim_table *
lim_table_new(uint32_t max_clients, char *err, size_t errlen)
{
    struct lim_table *t;
    uint32_t nshards = 1, i, base = 0;
    size_t cells = 0;

    if (max_clients == 0 || max_clients > LIM_TABLE_MAX_CLIENTS) {
        lim_errf(err, errlen, "max_clients must be 1..%u, got %u", LIM_TABLE_MAX_CLIENTS,
                 max_clients);
        return NULL;
    }
    while (nshards < SHARDS_MAX && max_clients / (nshards * 2) >= SHARD_MIN) {
        nshards *= 2;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        goto oom;
    }
    t->max_clients = max_clients;
    t->shard_mask = nshards - 1;
    t->shards = aligned_alloc(64, sizeof(struct lim_shard) * nshards);
    t->e = calloc(max_clients, sizeof(*t->e));
    t->cold = calloc(max_clients, sizeof(*t->cold));
    t->ovf = calloc(LIM_MAX_CLASSES, sizeof(*t->ovf));
    t->ovf_cold = calloc(LIM_MAX_CLASSES, sizeof(*t->ovf_cold));
    t->ovf_lock = calloc(LIM_MAX_CLASSES, sizeof(*t->ovf_lock));
    t->resv_evicted = calloc(LIM_MAX_CLASSES, sizeof(*t->resv_evicted));
    if (t->shards == NULL || t->e == NULL || t->cold == NULL || t->ovf == NULL ||
        t->ovf_cold == NULL || t->ovf_lock == NULL || t->resv_evicted == NULL) {
        goto oom_free;
    }
    memset(t->shards, 0, sizeof(struct lim_shard) * nshards);
    for (i = 0; i < nshards; i++) {
        struct lim_shard *s = &t->shards[i];
        uint32_t n = 8;

        s->cap = max_clients / nshards + (i < max_clients % nshards ? 1 : 0);
        s->base = base;
        base += s->cap;
        while (n < s->cap + s->cap / 3 + 1) {
            n *= 2;
        }
        s->mask = n - 1;
        s->head = s->tail = NIL;
        cells += n;
        if (lim_lock_init(&s->lock) != 0) {
            goto oom_free;
        }
    }
    t->index = calloc(cells, sizeof(*t->index));
    if (t->index == NULL) {
        goto oom_free;
    }
    for (i = 0, cells = 0; i < nshards; i++) {
        t->shards[i].index = t->index + cells;
        cells += t->shards[i].mask + 1u;
    }
    for (i = 0; i < LIM_MAX_CLASSES; i++) {
        t->ovf[i].slot = (uint16_t)i;
        t->ovf[i].flags = LIM_ENTRY_OVERFLOW;
        t->ovf[i].prev = t->ovf[i].next = NIL;
        memcpy(t->ovf_cold[i].key, "(overflow)", 11);
        if (lim_lock_init(&t->ovf_lock[i]) != 0) {
            goto oom_free;
        }
    }
    return t;

oom_free:
    lim_table_free(t);
oom:
    lim_errf(err, errlen, "client table of %u entries: out of memory", max_clients);
    return NULL;
}

void
lim_table_free(struct lim_table *t)
{
    if (t == NULL) {
        return;
    }
    /* lim_lock_fini is a no-op for the spinlock and the mutexes hold no
     * resources on Linux, so a half-built table frees the same way. */
    free(t->shards);
    free(t->e);
    free(t->cold);
    free(t->index);
    free(t->ovf);
    free(t->ovf_cold);
    free(t->ovf_lock);
    free(t->resv_evicted);
    free(t);
}

bool
lim_entry_is_idle(const struct lim_table *t, const struct lim_entry *e, uint64_t now_ns)
{
    /* Acquire: lim_release lowers these without the lock, last. */
    if (atomic_load_explicit(&e->inflight, memory_order_acquire) != 0 ||
        atomic_load_explicit(&e->watches, memory_order_acquire) != 0 || e->tat > now_ns ||
        e->watch_tat > now_ns) {
        return false;
    }
    /* A reserved turn pins its key until it expires (the overflow entry
     * never holds one). */
    return !(e->flags & LIM_ENTRY_RESERVED) || (e->flags & LIM_ENTRY_OVERFLOW) ||
           t->cold[e - t->e].resv.expires_ns <= now_ns;
}

uint64_t
lim_table_resv_evicted(const struct lim_table *t, uint32_t slot)
{
    return slot < LIM_MAX_CLASSES
               ? atomic_load_explicit(&t->resv_evicted[slot], memory_order_relaxed)
               : 0;
}

/* A cell's tag: hash bits the position does not use (the low bits of h0
 * pick the cell, the top bits of h1 the shard). */
static inline uint32_t
cell_tag(const uint64_t h[2])
{
    return (uint32_t)(h[1] >> 19) & TAG_MASK;
}

void
lim_table_bump(struct lim_table *t, struct lim_shard *s, uint32_t idx, uint16_t stamp)
{
    t->e[idx].bumped = stamp;
    if (s->head != idx) {
        lru_unlink(t, s, idx);
        lru_push(t, s, idx);
    }
}

struct lim_entry *
lim_table_miss(struct lim_table *t, struct lim_shard *s, const uint64_t h[2], uint32_t slot,
               uint8_t kind, const char *key, size_t keylen, uint64_t now_ns, enum lim_table_op op)
{
    uint32_t tag = cell_tag(h), home = (uint32_t)h[0] & s->mask, idx;
    uint16_t stamp = (uint16_t)(now_ns >> BUMP_SHIFT);
    struct lim_entry *e;
    struct lim_entry_cold *c;

    if (op == LIM_TABLE_FIND || (idx = entry_alloc(t, s, now_ns)) == NIL) {
        lim_lock_release(&s->lock);
        return NULL;
    }
    e = &t->e[idx];
    memset(e, 0, sizeof(*e));
    e->h0 = h[0];
    e->h1 = h[1];
    e->slot = (uint16_t)slot;
    e->shard = (uint8_t)(s - t->shards);
    e->flags = LIM_ENTRY_USED;
    e->kind = kind;
    e->bumped = stamp;
    c = &t->cold[idx];
    c->created_ns = now_ns;
    c->rejects = 0;
    memset(&c->resv, 0, sizeof(c->resv));
    if (keylen > LIM_KEY_DISPLAY - 1) {
        keylen = LIM_KEY_DISPLAY - 1;
    }
    memcpy(c->key, key, keylen);
    c->key[keylen] = '\0';
    /* entry_alloc may have evicted, which shifts cells: probe afresh. */
    index_put(s, home, tag | (idx - s->base + 1u));
    lru_push(t, s, idx);
    atomic_store_explicit(&s->count, atomic_load_explicit(&s->count, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return e;
}

struct lim_entry *
lim_table_overflow(struct lim_table *t, uint32_t slot)
{
    lim_lock_acquire(&t->ovf_lock[slot]);
    return &t->ovf[slot];
}

struct lim_entry_cold *
lim_table_cold(struct lim_table *t, struct lim_entry *e)
{
    if (e->flags & LIM_ENTRY_OVERFLOW) {
        return &t->ovf_cold[e->slot];
    }
    return &t->cold[e - t->e];
}

uint64_t
lim_table_clients(const struct lim_table *t)
{
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i <= t->shard_mask; i++) {
        n += atomic_load_explicit(&t->shards[i].count, memory_order_relaxed);
    }
    return n;
}

uint64_t
lim_table_evictions(const struct lim_table *t)
{
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i <= t->shard_mask; i++) {
        n += atomic_load_explicit(&t->shards[i].evictions, memory_order_relaxed);
    }
    return n;
}

uint32_t
lim_table_max_clients(const struct lim_table *t)
{
    return t->max_clients;
}

size_t
lim_table_shard_count(const struct lim_table *t)
{
    return (size_t)t->shard_mask + 1;
}

void
lim_table_walk(struct lim_table *t, size_t shard,
               void (*fn)(void *arg, const struct lim_entry *e, const struct lim_entry_cold *cold),
               void *arg)
{
    struct lim_shard *s = &t->shards[shard];
    uint32_t i;

    lim_lock_acquire(&s->lock);
    for (i = s->head; i != NIL; i = t->e[i].next) {
        fn(arg, &t->e[i], &t->cold[i]);
    }
    lim_lock_release(&s->lock);
}

void
lim_table_walk_overflow(struct lim_table *t, size_t nslots,
                        void (*fn)(void *arg, const struct lim_entry *e,
                                   const struct lim_entry_cold *cold),
                        void *arg)
{
    size_t i;

    for (i = 0; i < nslots && i < LIM_MAX_CLASSES; i++) {
        lim_lock_acquire(&t->ovf_lock[i]);
        if (t->ovf[i].requests != 0) {
            fn(arg, &t->ovf[i], &t->ovf_cold[i]);
        }
        lim_lock_release(&t->ovf_lock[i]);
    }
}

/* A free entry of shard <s>: never used yet, or evicted from the LRU
 * tail (at most LIM_TABLE_EVICT_SCAN looked at); NIL when all are live. */
static uint32_t
entry_alloc(struct lim_table *t, struct lim_shard *s, uint64_t now_ns)
{
    uint32_t i, k;

    if (s->used < s->cap) {
        return s->base + s->used++;
    }
    for (i = s->tail, k = 0; i != NIL && k < LIM_TABLE_EVICT_SCAN; i = t->e[i].prev, k++) {
        if (lim_entry_is_idle(t, &t->e[i], now_ns)) {
            if (t->e[i].flags & LIM_ENTRY_RESERVED) {
                /* Its turn expired unused: the booked tokens stay spent
                 * (only the class's own decisions can give them back). */
                atomic_fetch_add_explicit(&t->resv_evicted[t->e[i].slot], 1, memory_order_relaxed);
            }
            index_delete(t, s, i);
            lru_unlink(t, s, i);
            t->e[i].flags = 0;
            atomic_store_explicit(&s->count,
                                  atomic_load_explicit(&s->count, memory_order_relaxed) - 1,
                                  memory_order_relaxed);
            atomic_fetch_add_explicit(&s->evictions, 1, memory_order_relaxed);
            return i;
        }
    }
    return NIL;
}

static void
lru_unlink(struct lim_table *t, struct lim_shard *s, uint32_t i)
{
    struct lim_entry *e = &t->e[i];

    if (e->prev != NIL) {
        t->e[e->prev].next = e->next;
    } else {
        s->head = e->next;
    }
    if (e->next != NIL) {
        t->e[e->next].prev = e->prev;
    } else {
        s->tail = e->prev;
    }
    e->prev = e->next = NIL;
}

static void
lru_push(struct lim_table *t, struct lim_shard *s, uint32_t i)
{
    struct lim_entry *e = &t->e[i];

    e->prev = NIL;
    e->next = s->head;
    if (s->head != NIL) {
        t->e[s->head].prev = i;
    } else {
        s->tail = i;
    }
    s->head = i;
}

static void
index_put(struct lim_shard *s, uint32_t home, uint32_t cell)
{
    uint32_t at = home;

    while (s->index[at] != 0) {
        at = (at + 1) & s->mask;
    }
    s->index[at] = cell;
}

/* Removes entry <i>'s cell by backward shift (Knuth's algorithm R): no
 * tombstones, so probe lengths stay those of a 3/4-full table forever. A
 * cell's home comes from its entry's hash: a read per shifted cell, paid
 * on eviction only. */
static void
index_delete(struct lim_table *t, struct lim_shard *s, uint32_t i)
{
    uint32_t at = (uint32_t)t->e[i].h0 & s->mask, j, home;

    while ((s->index[at] & IDX_MASK) != i - s->base + 1u) {
        at = (at + 1) & s->mask;
    }
    for (j = at;;) {
        uint32_t v;

        j = (j + 1) & s->mask;
        v = s->index[j];
        if (v == 0) {
            break;
        }
        home = (uint32_t)t->e[s->base + (v & IDX_MASK) - 1].h0 & s->mask;
        /* Leave v where it is if its home lies cyclically in (at, j]. */
        if (at <= j ? (at < home && home <= j) : (at < home || home <= j)) {
            continue;
        }
        s->index[at] = v;
        at = j;
    }
    s->index[at] = 0;
}
