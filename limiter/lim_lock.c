/* The contended half of the table's spinlock (lim_lock.h): spin on a plain
 * load (no cache-line ping-pong while the holder works), pause, and yield
 * the CPU after LIM_LOCK_SPINS rounds so that a holder preempted on a busy
 * core gets to run. */
#include "lim_lock.h"

#ifndef LIM_LOCK_MUTEX

#include <sched.h>

void
lim_lock_wait(struct lim_lock *l)
{
    int spins = 0;

    do {
        while (atomic_load_explicit(&l->v, memory_order_relaxed) != 0) {
            if (++spins < LIM_LOCK_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            } else {
                sched_yield();
                spins = 0;
            }
        }
    } while (atomic_exchange_explicit(&l->v, 1, memory_order_acquire) != 0);
}

#endif /* LIM_LOCK_MUTEX */
