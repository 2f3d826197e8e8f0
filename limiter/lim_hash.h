/* Keyed hashing of client keys (user, namespace and node names) and of
 * learned-cost resource names. The key is derived from lim_new's seed, so a
 * client cannot pick names that collide in the table (hash flooding) or that
 * share another client's bucket. Private to limiter/. */
#ifndef LIM_HASH_H
#define LIM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct lim_hash_key {
    uint64_t s[4];   /* per-lane secrets, derived from the seed */
    uint64_t pre[2]; /* each lane's starting state, mixed once */
    uint64_t tag;    /* != 0: names the key in caches of its hashes */
};

void lim_hash_key_init(struct lim_hash_key *k, uint64_t seed);

/* lim_hash128 for keys longer than 16 bytes. */
void lim_hash128_long(const struct lim_hash_key *k, const void *p, size_t n, uint64_t out[2]);

static inline uint64_t
lim_hash_fold(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;

    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
lim_hash_r4(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* One lane's finish over the (up to) 16 bytes folded into <a>, <b>;
 * <seed> is the lane's premixed state. */
static inline uint64_t
lim_hash_finish(uint64_t a, uint64_t b, size_t n, uint64_t seed, uint64_t s0, uint64_t s1)
{
    unsigned __int128 r;

    r = (unsigned __int128)(a ^ s1) * (b ^ seed);
    return lim_hash_fold((uint64_t)r ^ s0 ^ (uint64_t)n, (uint64_t)(r >> 64) ^ s1);
}

/* 128 bits of <n> bytes at <p>, as two independently keyed 64-bit lanes.
 * Equal outputs are treated as equal names by the table (which compares
 * the class and the kind of name itself). Names up to 16 bytes (most
 * namespaces and node names) share their loads between the lanes, inline. */
static inline void
lim_hash128(const struct lim_hash_key *k, const void *p, size_t n, uint64_t out[2])
{
    const uint8_t *s = p;
    uint64_t a, b;

    if (n > 16) {
        lim_hash128_long(k, p, n, out);
        return;
    }
    if (n >= 4) {
        a = (lim_hash_r4(s) << 32) | lim_hash_r4(s + ((n >> 3) << 2));
        b = (lim_hash_r4(s + n - 4) << 32) | lim_hash_r4(s + n - 4 - ((n >> 3) << 2));
    } else if (n > 0) {
        a = ((uint64_t)s[0] << 16) | ((uint64_t)s[n >> 1] << 8) | s[n - 1];
        b = 0;
    } else {
        a = b = 0;
    }
    out[0] = lim_hash_finish(a, b, n, k->pre[0], k->s[0], k->s[1]);
    out[1] = lim_hash_finish(a, b, n, k->pre[1], k->s[3], k->s[2]);
}

/* One lane, with a <tweak> folded into its starting state: 64 bits, for
 * tables that compare the full key afterwards. */
uint64_t lim_hash64(const struct lim_hash_key *k, uint64_t tweak, const void *p, size_t n);

/* A 64-bit finaliser (splitmix64), for deriving keys and generations. */
uint64_t lim_hash_mix64(uint64_t x);

#endif /* LIM_HASH_H */
