/* The decision's working state, shared by lim_decide.c (the decision and
 * its checks), lim_trace.c (what explain reports) and lim_retry.c
 * (Retry-After). Private to limiter/. */
#ifndef LIM_DECIDE_H
#define LIM_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lim.h"
#include "lim_bucket.h"
#include "lim_int.h"
#include "lim_policy_int.h"

/* Shared state a decision has taken, for rollback. */
enum {
    LIM_GOT_CWATCH = 1,
    LIM_GOT_GWATCH = 2,
    LIM_GOT_GPOOL = 4,
    LIM_GOT_CPOOL = 8,
    LIM_GOT_GWBUCKET = 16,
    LIM_GOT_CBUCKET = 32,
};

struct dctx {
    struct lim *l; /* NULL: decide against a fresh limiter */
    const struct lim_policy *p;
    const struct lim_class *c;
    struct lim_slot *s; /* NULL with l */
    struct lim_trace *tr;
    uint64_t now;
    uint64_t cost_mt;
    uint64_t allow_ns; /* debt a LIM_DELAY may run up */
    /* The class's buckets, or scaled copies of them while shedding (kept
     * outside the context, which is copied: see lim_decide.c). */
    const struct lim_rate *krate, *wrate, *crate;
    uint64_t knext, wnext; /* the key buckets' tat after this request */
    /* Turns (lim_decide.c): */
    struct lim_resv *held;  /* the key's unexpired turn (enforce); NULL: none */
    struct lim_resv *resv;  /* <held> when it is this request's; NULL: none */
    uint32_t fp;            /* this request's shape (lim_d_turn_fp); 0: not yet */
    uint64_t book_cost_mt;  /* class tokens of the turn this request booked */
    uint64_t book_ns;       /* how far ahead a short shared bucket may book; 0: no booking */
    uint64_t booked_ns;     /* the turn this request booked, from now; 0: none */
    uint64_t class_mt;      /* class tokens this request took or booked (LIM_GOT_CBUCKET) */
    uint64_t resv_class_mt; /* class tokens it takes from the key's turn */
    uint8_t book_reason;    /* enum lim_reason of the first short shared bucket */
    uint8_t turn;           /* enum lim_turn */
    bool resv_gw_used;      /* it takes the turn's global watch token */
    bool reserve;           /* run_checks: short only of shared buckets, now booked */
    uint32_t scale;         /* shed %, enforce classes only */
    uint32_t seats;
    uint8_t pool;
    uint8_t got; /* LIM_GOT_* */
    bool watch;
    bool commit; /* lim_decide: change state (then l is not NULL) */
    bool live;   /* a limiter's state is there to look at (l != NULL) */
};

/* Counts one event in a counter of the class's slot; lim_decide only (an
 * explain without a limiter has no slot to name). */
#define LIM_STAT_INC(d, field)                                                                     \
    do {                                                                                           \
        if ((d)->commit) {                                                                         \
            atomic_fetch_add_explicit(&(d)->s->field, 1, memory_order_relaxed);                    \
        }                                                                                          \
    } while (0)

/* <cap> scaled to <pct> % (rounded up, at least 1); 0 stays "none". */
static inline uint32_t
lim_d_scaled(uint32_t cap, uint32_t pct)
{
    uint64_t v;

    if (cap == 0 || pct >= 100) {
        return cap;
    }
    v = ((uint64_t)cap * pct + 99) / 100;
    return v != 0 ? (uint32_t)v : 1;
}

/* Retry-After for <reason> and <deficit_ns>; with <turn>, the time until a
 * booked turn (never earlier). */
uint32_t lim_d_retry_after(const struct lim_policy *p, enum lim_reason reason, uint64_t deficit_ns,
                           uint64_t rnd, bool turn);
void lim_d_trace_key(struct lim_trace *tr, const char *key, size_t klen);
void lim_d_trace_state(const struct dctx *d, const struct lim_entry *e);
/* --- turns (lim_turn.c) --- */

/* A turn can be used this long before it. Retry-After is rounded up and
 * client-go sleeps at least that long, so an honest client is never early;
 * this only absorbs clocks read once per event at the edge. Kept well under
 * a second so that a client ignoring Retry-After gains next to nothing. */
#define LIM_RESV_EARLY_NS 250000000ull

/* The turn of key <e> (locked, flagged LIM_ENTRY_RESERVED): sets d->held,
 * and d->resv when it is <r>'s. Forfeits an expired one (lim_decide). */
void lim_d_turn_held(struct dctx *d, const struct lim_request *r, struct lim_entry *e,
                     enum lim_mode mode);
/* Books (or grows) <r>'s turn with what the shared buckets took:
 * <class_mt> class tokens, the global watch token when <gw>, the later of
 * them due in <deficit_ns>. Returns the time until the turn. */
uint64_t lim_d_turn_book(struct dctx *d, const struct lim_request *r, struct lim_entry *e,
                         enum lim_reason reason, uint64_t deficit_ns, uint64_t class_mt, bool gw);
/* Queues <r> behind the key's turn (d->held, not its own). Returns how long
 * until it should come back. */
uint64_t lim_d_turn_queue(struct dctx *d, const struct lim_request *r);
/* The key's turn (d->resv) was used by <class_mt> class tokens and the
 * global watch token when <gw>: gives back the rest, passes the turn on to
 * the first request queued behind it. */
void lim_d_turn_end(struct dctx *d, struct lim_entry *e, uint64_t class_mt, bool gw);
/* The key was told Retry-After <retry_after_s>: its turn (d->resv) waits. */
void lim_d_turn_extend(struct dctx *d, uint32_t retry_after_s);

/* The key's turn as the decision left it (<ready_ns>, <cost_mt>). */
void lim_d_trace_turn(const struct dctx *d, uint64_t ready_ns, uint64_t cost_mt);

#endif /* LIM_DECIDE_H */
