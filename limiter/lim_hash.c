/* A keyed multiply-xor hash in the style of wyhash (final version 4): each
 * 16 bytes are folded into the state by one 64x64->128 multiplication. Two
 * lanes with independent secrets give the 128 bits that identify a client
 * key. Names up to 16 bytes are hashed inline (lim_hash.h), both lanes
 * from the same loads, in about 30 instructions; SipHash-1-3 would cost
 * several times that on the decision's hot path. The inline and the out of
 * line code compute the same function (tests/unit/test_lim_hash.c). It is
 * not a MAC: its outputs never leave the process, and the secrets come from
 * the caller's seed. */
#include "lim_hash.h"

#include <string.h>

static inline uint64_t
mix(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;

    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline void
mum(uint64_t *a, uint64_t *b)
{
    unsigned __int128 r = (unsigned __int128)*a * *b;

    *a = (uint64_t)r;
    *b = (uint64_t)(r >> 64);
}

static inline uint64_t
r8(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t
r4(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* 1..3 bytes: first, middle and last byte, as wyhash does. */
static inline uint64_t
r3(const uint8_t *p, size_t n)
{
    return ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
}

/* <seed> is the lane's premixed starting state (lim_hash_key.pre). */
static uint64_t
lane(const uint8_t *p, size_t n, uint64_t seed, uint64_t s0, uint64_t s1)
{
    uint64_t a, b;

    if (n <= 16) {
        if (n >= 4) {
            a = (r4(p) << 32) | r4(p + ((n >> 3) << 2));
            b = (r4(p + n - 4) << 32) | r4(p + n - 4 - ((n >> 3) << 2));
        } else if (n > 0) {
            a = r3(p, n);
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = n;

        while (i > 16) {
            seed = mix(r8(p) ^ s1, r8(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = r8(p + i - 16);
        b = r8(p + i - 8);
    }
    a ^= s1;
    b ^= seed;
    mum(&a, &b);
    return mix(a ^ s0 ^ (uint64_t)n, b ^ s1);
}

uint64_t
lim_hash_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void
lim_hash_key_init(struct lim_hash_key *k, uint64_t seed)
{
    uint64_t x = seed;
    size_t i;

    /* Odd secrets: a multiplication by an even constant would drop bits. */
    for (i = 0; i < 4; i++) {
        x = lim_hash_mix64(x + i);
        k->s[i] = x | 1u;
    }
    k->pre[0] = k->s[2] ^ mix(k->s[2] ^ k->s[0], k->s[1]);
    k->pre[1] = k->s[0] ^ mix(k->s[0] ^ k->s[3], k->s[2]);
    /* Derived from the secrets, so that two limiters seeded alike share
     * cached hashes (they are the same) and two seeded differently share
     * a tag with odds of 2^-63. Like the secrets, it stays in the process. */
    k->tag = lim_hash_mix64(k->pre[0] ^ k->s[3]) | 1u;
}

void
lim_hash128_long(const struct lim_hash_key *k, const void *p, size_t n, uint64_t out[2])
{
    out[0] = lane(p, n, k->pre[0], k->s[0], k->s[1]);
    out[1] = lane(p, n, k->pre[1], k->s[3], k->s[2]);
}

uint64_t
lim_hash64(const struct lim_hash_key *k, uint64_t tweak, const void *p, size_t n)
{
    uint64_t seed = tweak ^ k->s[2];

    return lane(p, n, seed ^ mix(seed ^ k->s[0], k->s[1]), k->s[0], k->s[1]);
}
