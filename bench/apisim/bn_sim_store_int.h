/* The store's insides, shared by bn_sim_store.c (index, history,
 * watchers), bn_sim_write.c (writes) and bn_sim_list.c (LIST). Not a
 * contract: nothing outside the store includes it. */
#ifndef BN_SIM_STORE_INT_H
#define BN_SIM_STORE_INT_H

#include "bn_sim_store.h"

struct event {
    uint64_t rv;
    enum bn_sim_ev type;
    struct bn_sim_obj *obj;  /* state after; for DELETED the last state at the delete's RV */
    struct bn_sim_obj *prev; /* state before; NULL for ADDED */
    struct bn_sim_obj *left; /* prev at this event's RV, made when an object leaves a selection */
};

struct ring {
    struct event *ev;
    size_t cap, head, count; /* head = index of the oldest */
    uint64_t floor;          /* RV of the newest event evicted: RVs below are 410 Gone */
};

struct node_pods {
    char *node; /* NULL = free slot */
    struct bn_sim_obj **pods;
    size_t n, cap;
};

struct node_index {
    struct node_pods *slots;
    size_t cap, used;
};

struct bn_sim_watcher {
    struct bn_sim_watcher *prev, *next;
    enum bn_sim_res res;
    char ns[254];
    char name[254];
    bool has_labels, has_fields;
    struct bn_sim_selector labels, fields;
    bn_sim_event_fn *fn;
    void *arg;
};

struct res_state {
    struct bn_sim_obj **items; /* current objects, sorted by key */
    size_t n, cap;
    struct ring ring;
    struct bn_sim_watcher *watchers;
    size_t nwatchers;
    uint64_t events;
};

struct bn_sim_store {
    uint64_t rv;
    uint64_t rng;
    struct res_state res[BN_SIM_RES_COUNT];
    struct node_index nodes;
};

/* Index of the first item whose key is >= <key> (> when <exclusive>). */
size_t bn_sim_store_lower(const struct res_state *rs, const char *key, bool exclusive);

/* Records a write: <obj> (new reference taken over) becomes current (or, for
 * DELETED, leaves the index), <prev> (borrowed) was current; the event goes
 * to the history and to every watcher. 0, or -1 when out of memory. */
int bn_sim_store_commit(struct bn_sim_store *s, enum bn_sim_ev type, struct bn_sim_obj *obj,
                        struct bn_sim_obj *prev);

/* Whether <o> is selected by <w>'s namespace, name and selectors. */
bool bn_sim_watcher_selects(const struct bn_sim_watcher *w, const struct bn_sim_obj *o);

/* The pods bound to <node> (borrowed, unordered). */
struct bn_sim_obj *const *bn_sim_store_node_pods(const struct bn_sim_store *s, const char *node,
                                                 size_t *n);

/* Splittable pseudo-random numbers for UIDs and generated names. */
uint64_t bn_sim_store_random(struct bn_sim_store *s);

#endif /* BN_SIM_STORE_INT_H */
