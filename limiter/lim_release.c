/* Completion of admitted requests: seats and watches given back, learned
 * LIST sizes fed. Everything needed is in the ticket (slot indices, never
 * policy pointers), so a request admitted under one policy completes
 * correctly after a reload. */
#include "lim.h"

#include <string.h>

#include "lim_int.h"

/* Gives back the seats (<seats>) and the open watch (<watch>) of <t>.
 * The entry's counts are lowered without its lock (lim_table.h): the
 * entry is pinned while either is above zero, so they are the last thing
 * touched, the open watch (which a started watch still holds) last, with
 * release order so that an eviction that sees them at zero (acquire)
 * comes after. */
static inline void
give_back(struct lim *l, struct lim_ticket *t, bool seats, bool watch)
{
    struct lim_slot *s = l->slots[t->class_slot];
    struct lim_entry *e = t->entry;
    int64_t n = t->seats; /* read once: for all the compiler knows, the atomics change *t */
    unsigned pool = t->pool;

    if (seats && n != 0) {
        atomic_fetch_sub_explicit(&l->pool[pool], n, memory_order_relaxed);
        atomic_fetch_sub_explicit(&s->inflight[pool], n, memory_order_relaxed);
        if (e != NULL) {
            atomic_fetch_sub_explicit(&e->inflight, 1, memory_order_release);
        }
    }
    if (watch) {
        atomic_fetch_sub_explicit(&l->watches, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&s->watches, 1, memory_order_relaxed);
        if (e != NULL) {
            atomic_fetch_sub_explicit(&e->watches, 1, memory_order_release);
        }
    }
}

void
lim_watch_started(struct lim *l, struct lim_ticket *t)
{
    if (l == NULL || t == NULL || t->state != LIM_TICKET_ACTIVE || t->kind != LIM_KIND_WATCH) {
        return;
    }
    /* APF's rule: a watch holds its seats until its initial events are
     * out, then runs without them (it stays counted as an open watch). */
    give_back(l, t, true, false);
    t->state = LIM_TICKET_STARTED;
    atomic_fetch_add_explicit(&l->slots[t->class_slot]->watches_started, 1, memory_order_relaxed);
}

void
lim_release(struct lim *l, struct lim_ticket *t, int status, uint64_t response_bytes,
            uint64_t duration_ns, uint64_t now_ns)
{
    (void)duration_ns;
    (void)now_ns;
    if (l == NULL || t == NULL || t->state == 0) {
        return;
    }
    give_back(l, t, t->state == LIM_TICKET_ACTIVE, t->kind == LIM_KIND_WATCH);
    if ((t->flags & LIM_TICKET_LEARN) && status >= 200 && status < 300) {
        lim_learned_observe(l->learned, t->resource_slot, response_bytes);
    }
    memset(t, 0, sizeof(*t));
}
