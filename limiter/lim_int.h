/* The limiter's own state, shared by lim.c (lifecycle, binding, controls,
 * counters), lim_decide.c (decide, release), lim_override.c (block/allow)
 * and lim_top.c (heaviest clients). Private to limiter/. */
#ifndef LIM_INT_H
#define LIM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lim.h"
#include "lim_cost.h"
#include "lim_hash.h"
#include "lim_table.h"

#define LIM_OVERRIDES 1024

enum { LIM_TICKET_ACTIVE = 1, LIM_TICKET_STARTED = 2 }; /* lim_ticket.state */
enum { LIM_TICKET_LEARN = 1, LIM_TICKET_EXEMPT = 2 };   /* lim_ticket.flags */

/* A class's state, kept across reloads under its name. Written by every
 * decision of the class, so it has its own cache lines. */
struct lim_slot {
    _Alignas(64) _Atomic uint64_t class_tat;
    _Atomic int64_t inflight[2]; /* seats, by pool */
    _Atomic int64_t watches;
    _Atomic uint64_t admitted;
    _Atomic uint64_t delayed;
    _Atomic uint64_t watches_started;
    _Atomic uint64_t rejected[LIM_REASON_COUNT];
    _Atomic uint64_t would_reject[LIM_REASON_COUNT];
    _Atomic uint64_t resv_made;
    _Atomic uint64_t resv_honoured;
    _Atomic uint64_t resv_forfeited;
    _Alignas(64) _Atomic int mode; /* operator override; -1: the policy's */
    /* The key bucket of the last bound policy, for lim_top_clients. */
    _Atomic uint64_t view_ns_per_token;
    _Atomic uint64_t view_burst_mt;
    char *name;
};

enum lim_ov { LIM_OV_NONE = 0, LIM_OV_BLOCK, LIM_OV_ALLOW };

struct lim_override {
    uint64_t h[2]; /* keyed hash of the user name */
    uint64_t until_ns;
    enum lim_ov kind;
};

struct lim_overrides {
    _Atomic uint32_t n; /* the gate: one relaxed load when there are none */
    pthread_mutex_t lock;
    uint64_t last_now_ns; /* latest decision time seen, to purge expired ones */
    struct lim_override v[LIM_OVERRIDES];
};

struct lim {
    /* Read by every decision, written rarely. */
    struct lim_hash_key hkey;
    struct lim_table *table;
    struct lim_learned *learned;
    _Atomic uint32_t shed_scale; /* % */
    _Atomic bool shed_list_watch;
    _Atomic size_t nslots;
    struct lim_slot *slots[LIM_MAX_CLASSES];
    /* Written by every decision. */
    _Alignas(64) _Atomic int64_t pool[2]; /* seats in flight, by pool */
    _Alignas(64) _Atomic int64_t watches;
    _Atomic uint64_t gwatch_tat;
    _Alignas(64) _Atomic uint64_t overflow;
    /* Admin plane. */
    _Alignas(64) pthread_mutex_t bind_lock;
    uint64_t gen_base, binds;
    struct lim_overrides ov;
};

int lim_overrides_init(struct lim_overrides *o);
void lim_overrides_fini(struct lim_overrides *o);
int lim_overrides_set(struct lim_overrides *o, const struct lim_hash_key *k, const char *user,
                      enum lim_ov kind, uint64_t until_ns);
int lim_overrides_remove(struct lim_overrides *o, const struct lim_hash_key *k, const char *user);
/* The override of <user> at <now_ns> and its end in *<until_ns>. With
 * <purge>, expired entries met are dropped (lim_explain passes false). */
enum lim_ov lim_overrides_check(struct lim_overrides *o, const struct lim_hash_key *k,
                                const char *user, uint64_t now_ns, bool purge, uint64_t *until_ns);

#endif /* LIM_INT_H */
