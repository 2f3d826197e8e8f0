/* The table's shard lock: a test-and-test-and-set spinlock that yields the
 * CPU after a short spin (a holder preempted on a busy core must not be
 * spun against for a whole time slice), or a pthread mutex when built with
 * LIM_LOCK_MUTEX. Critical sections are a few dozen instructions; see
 * bench/limiter for the measurement behind the default. Private. */
#ifndef LIM_LOCK_H
#define LIM_LOCK_H

#ifdef LIM_LOCK_MUTEX

#include <pthread.h>

struct lim_lock {
    pthread_mutex_t m;
};

static inline int
lim_lock_init(struct lim_lock *l)
{
    return pthread_mutex_init(&l->m, NULL) == 0 ? 0 : -1;
}

static inline void
lim_lock_fini(struct lim_lock *l)
{
    pthread_mutex_destroy(&l->m);
}

static inline void
lim_lock_acquire(struct lim_lock *l)
{
    pthread_mutex_lock(&l->m);
}

static inline void
lim_lock_release(struct lim_lock *l)
{
    pthread_mutex_unlock(&l->m);
}

#else /* spinlock */

#include <stdatomic.h>

#define LIM_LOCK_SPINS 64

struct lim_lock {
    _Atomic int v;
};

static inline int
lim_lock_init(struct lim_lock *l)
{
    atomic_init(&l->v, 0);
    return 0;
}

static inline void
lim_lock_fini(struct lim_lock *l)
{
    (void)l;
}

/* The contended case of lim_lock_acquire (lim_lock.c). */
void lim_lock_wait(struct lim_lock *l);

/* Uncontended, one exchange; the spin (and its call to sched_yield) is out
 * of line, so that a caller's fast path keeps its registers. */
static inline void
lim_lock_acquire(struct lim_lock *l)
{
    if (__builtin_expect(atomic_exchange_explicit(&l->v, 1, memory_order_acquire) != 0, 0)) {
        lim_lock_wait(l);
    }
}

static inline void
lim_lock_release(struct lim_lock *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

#endif /* LIM_LOCK_MUTEX */

#endif /* LIM_LOCK_H */
