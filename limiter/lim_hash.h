/* Keyed hashing of client keys (user, namespace and node names) and of
 * learned-cost resource names. The key is derived from lim_new's seed, so a
 * client cannot pick names that collide in the table (hash flooding) or that
 * share another client's bucket. Private to limiter/. */
#ifndef LIM_HASH_H
#define LIM_HASH_H

#include <stddef.h>
#include <stdint.h>

struct lim_hash_key {
    uint64_t s[4]; /* per-lane secrets, derived from the seed */
};

void lim_hash_key_init(struct lim_hash_key *k, uint64_t seed);

/* 128 bits of <n> bytes at <p>, as two independently keyed 64-bit lanes.
 * <tweak> separates name spaces (class slot, kind of value) without copying
 * the bytes. Equal outputs are treated as equal keys by the table. */
void lim_hash128(const struct lim_hash_key *k, uint64_t tweak, const void *p, size_t n,
                 uint64_t out[2]);

/* One lane: 64 bits, for tables that compare the full key afterwards. */
uint64_t lim_hash64(const struct lim_hash_key *k, uint64_t tweak, const void *p, size_t n);

/* A 64-bit finaliser (splitmix64), for deriving keys and generations. */
uint64_t lim_hash_mix64(uint64_t x);

#endif /* LIM_HASH_H */
