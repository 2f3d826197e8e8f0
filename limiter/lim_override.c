/* Operator block/allow by user name, for the admin plane mid-incident: a
 * blocked user is rejected, an allowed one is treated as exempt, until a
 * deadline. Up to LIM_OVERRIDES of them; decisions pay one relaxed load
 * while there are none. Names are kept as keyed 128-bit hashes. */
#include "lim_int.h"

#include <string.h>

static int find(const struct lim_overrides *o, const uint64_t h[2]);
static void drop(struct lim_overrides *o, int i);
static void purge_expired(struct lim_overrides *o);

int
lim_overrides_init(struct lim_overrides *o)
{
    atomic_init(&o->n, 0);
    o->last_now_ns = 0;
    return pthread_mutex_init(&o->lock, NULL) == 0 ? 0 : -1;
}

void
lim_overrides_fini(struct lim_overrides *o)
{
    pthread_mutex_destroy(&o->lock);
}

int
lim_overrides_set(struct lim_overrides *o, const struct lim_hash_key *k, const char *user,
                  enum lim_ov kind, uint64_t until_ns)
{
    uint64_t h[2];
    uint32_t n;
    int i, rc = 0;

    lim_hash128(k, user, strlen(user), h);
    pthread_mutex_lock(&o->lock);
    n = atomic_load_explicit(&o->n, memory_order_relaxed);
    i = find(o, h);
    if (i < 0 && n == LIM_OVERRIDES) {
        purge_expired(o);
        n = atomic_load_explicit(&o->n, memory_order_relaxed);
    }
    if (i >= 0) {
        o->v[i].kind = kind;
        o->v[i].until_ns = until_ns;
    } else if (n < LIM_OVERRIDES) {
        o->v[n].h[0] = h[0];
        o->v[n].h[1] = h[1];
        o->v[n].kind = kind;
        o->v[n].until_ns = until_ns;
        atomic_store_explicit(&o->n, n + 1, memory_order_relaxed);
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

int
lim_overrides_remove(struct lim_overrides *o, const struct lim_hash_key *k, const char *user)
{
    uint64_t h[2];
    int i;

    lim_hash128(k, user, strlen(user), h);
    pthread_mutex_lock(&o->lock);
    i = find(o, h);
    if (i >= 0) {
        drop(o, i);
    }
    pthread_mutex_unlock(&o->lock);
    return i >= 0 ? 0 : -1;
}

enum lim_ov
lim_overrides_check(struct lim_overrides *o, const struct lim_hash_key *k, const char *user,
                    uint64_t now_ns, bool purge, uint64_t *until_ns)
{
    enum lim_ov kind = LIM_OV_NONE;
    uint64_t h[2];
    int i;

    if (atomic_load_explicit(&o->n, memory_order_relaxed) == 0) {
        return LIM_OV_NONE;
    }
    lim_hash128(k, user, strlen(user), h);
    pthread_mutex_lock(&o->lock);
    if (purge && now_ns > o->last_now_ns) {
        o->last_now_ns = now_ns;
    }
    i = find(o, h);
    if (i >= 0) {
        if (o->v[i].until_ns > now_ns) {
            kind = o->v[i].kind;
            *until_ns = o->v[i].until_ns;
        } else if (purge) {
            drop(o, i);
        }
    }
    pthread_mutex_unlock(&o->lock);
    return kind;
}

static int
find(const struct lim_overrides *o, const uint64_t h[2])
{
    uint32_t i, n = atomic_load_explicit(&o->n, memory_order_relaxed);

    for (i = 0; i < n; i++) {
        if (o->v[i].h[0] == h[0] && o->v[i].h[1] == h[1]) {
            return (int)i;
        }
    }
    return -1;
}

static void
drop(struct lim_overrides *o, int i)
{
    uint32_t n = atomic_load_explicit(&o->n, memory_order_relaxed) - 1;

    o->v[i] = o->v[n];
    atomic_store_explicit(&o->n, n, memory_order_relaxed);
}

/* Only what the latest decision time proves expired: the admin plane has
 * no clock of its own here. */
static void
purge_expired(struct lim_overrides *o)
{
    uint32_t i = 0;

    while (i < atomic_load_explicit(&o->n, memory_order_relaxed)) {
        if (o->v[i].until_ns <= o->last_now_ns) {
            drop(o, (int)i);
        } else {
            i++;
        }
    }
}
