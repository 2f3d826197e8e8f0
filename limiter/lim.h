/* The limiter: decides admit / delay / reject for one request from one
 * identity at one instant, and keeps the per-client, per-class and global
 * state that the decision needs. Pure C11: no I/O, no clock (time is the
 * <now_ns> argument, monotonic nanoseconds), no hidden randomness (the
 * caller passes random bits). Safe for concurrent use by the proxy's worker
 * threads: per-client state is in a sharded, bounded table; class and
 * global counters are atomics. */
#ifndef LIM_H
#define LIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lim_identity.h"
#include "lim_policy.h"
#include "lim_request.h"

#define LIM_KEY_DISPLAY 48   /* bytes of a client key kept for display */
#define LIM_MAX_CLASSES 4096 /* class names one limiter can ever know */

enum lim_verdict {
    LIM_ADMIT = 0, /* forward now */
    LIM_DELAY,     /* forward after decision.delay_ns (tokens already taken) */
    LIM_REJECT,    /* answer 429 with decision.retry_after_s */
};

enum lim_reason {
    LIM_REASON_NONE = 0,
    LIM_REASON_RATE,        /* the key's bucket */
    LIM_REASON_CLASS_RATE,  /* the class's bucket */
    LIM_REASON_CONCURRENCY, /* per-key, class or global seats */
    LIM_REASON_WATCH_CAP,   /* open watches: per key, class or global */
    LIM_REASON_WATCH_RATE,  /* watch establishment: per key or global */
    LIM_REASON_UNVERIFIED,  /* an unverified credential over its budget */
    LIM_REASON_SHED,        /* the operator shed LIST/watch */
    LIM_REASON_BLOCKED,     /* the operator blocked this identity */
    LIM_REASON_COUNT
};

enum lim_kind { LIM_KIND_READONLY = 0, LIM_KIND_MUTATING, LIM_KIND_WATCH };

/* Carried by the caller from lim_decide to lim_release (by value, in the
 * connection). Its fields belong to the limiter. A zeroed ticket is a no-op
 * for lim_watch_started and lim_release. */
struct lim_ticket {
    void *entry;         /* per-key state, pinned while it holds anything */
    uint32_t class_slot; /* stable across policy reloads */
    uint16_t seats;
    uint16_t resource_slot; /* learned-cost slot */
    uint8_t kind;           /* enum lim_kind */
    uint8_t state;          /* limiter-private */
    uint8_t flags;          /* limiter-private */
    uint8_t pool;           /* limiter-private */
};

struct lim_decision {
    enum lim_verdict verdict;
    enum lim_reason reason; /* why rejected, or why it would be (dry-run) */
    bool dry_run;           /* admitted only because the class is in dry-run */
    bool exempt;
    uint32_t retry_after_s; /* >= 1 when rejected */
    uint64_t delay_ns;      /* LIM_DELAY only */
    size_t rule;            /* index of the matching rule */
    const char *class_name; /* borrowed from the policy */
    uint64_t cost_mt;       /* tokens charged, in milli-tokens */
    uint32_t seats;
    struct lim_ticket ticket;
};

struct lim;

/* A limiter tracking at most <max_clients> per-(class, key) entries (the
 * rest share one overflow bucket per class). <seed> keys the table's hash so
 * that clients cannot choose colliding keys. */
struct lim *lim_new(uint32_t max_clients, uint64_t seed, char *err, size_t errlen);
void lim_free(struct lim *l);

/* Makes <p> usable with <l>: each class gets the state slot of the class of
 * the same name the limiter already knows (client buckets, counters and
 * open watches survive a reload), or a new one. Call once per policy, before
 * publishing it to the threads that call lim_decide. */
int lim_bind(struct lim *l, struct lim_policy *p, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Decides for request <r> from <id> at <now_ns>, under bound policy <p>.
 * <rand> is 64 random bits (Retry-After jitter). Fills <out>; on LIM_ADMIT
 * and LIM_DELAY the caller must eventually pass out->ticket to lim_release
 * (and, for a watch, may call lim_watch_started first). Never blocks on
 * anything but a table shard's short critical section. <id> is non-const
 * only for its caches (rule match, keyed hashes of its names).
 *
 * Turns: a request of an enforced class rejected only because a shared
 * bucket (the class's, or the global watch-establishment bucket) is short
 * books its key's turn there: the tokens are taken ahead, and Retry-After
 * (never earlier than the turn) sends the client back when they are its.
 * The same request (same verb, resource, name, selectors) from then on
 * (250 ms early at most) is admitted on the turn without taking from those
 * buckets again; the per-key bucket and every cap still apply. Earlier, it
 * is rejected with the time left and keeps its place. One turn per (class,
 * key): the key's other requests that need one queue behind it (up to 4,
 * first rejected first) and each gets the next turn as the previous one is
 * used. At most retry_after_max_s ahead (beyond that: a plain rejection),
 * forfeited when unused a while after its Retry-After. Not for dry-run
 * classes, unverified credentials or the overflow entry. See lim_turn.c. */
void lim_decide(struct lim *l, const struct lim_policy *p, struct lim_identity *id,
                const struct lim_request *r, uint64_t now_ns, uint64_t rand,
                struct lim_decision *out);

/* A watch's initial events have been sent: it gives back its concurrency
 * seats (APF's rule) but stays counted as an open watch until release. */
void lim_watch_started(struct lim *l, struct lim_ticket *t);

/* The request is over: seats and watch counts are given back, and a
 * successful LIST's <response_bytes> teach the cost model. Idempotent on the
 * same ticket (the ticket is cleared). */
void lim_release(struct lim *l, struct lim_ticket *t, int status, uint64_t response_bytes,
                 uint64_t duration_ns, uint64_t now_ns);

/* --- Operator controls (the admin plane). All thread-safe. --- */

/* Scales every enforced class's rates and caps to <scale_pct> % (100 =
 * normal, 1..100); with <reject_list_watch>, every non-exempt LIST and watch
 * is rejected with LIM_REASON_SHED. Exempt classes keep their reserved seats. */
void lim_set_shed(struct lim *l, uint32_t scale_pct, bool reject_list_watch);
void lim_get_shed(const struct lim *l, uint32_t *scale_pct, bool *reject_list_watch);

/* Overrides the mode of class <name> until the next call; <mode> -1 goes
 * back to the policy's mode. Returns -1 when no such class is known. */
int lim_set_class_mode(struct lim *l, const char *name, int mode);
/* The effective mode of class slot of <name> in <p> (override or policy). */
enum lim_mode lim_class_mode(const struct lim *l, const struct lim_policy *p, size_t class_index);

/* Rejects (block) or exempts (allow) every request of user <user> until
 * <until_ns>. Returns -1 when the override table (1024 entries) is full. */
int lim_block(struct lim *l, const char *user, uint64_t until_ns);
int lim_allow(struct lim *l, const char *user, uint64_t until_ns);
/* Removes any block/allow for <user>; returns 0 if there was one, else -1. */
int lim_unblock(struct lim *l, const char *user);

/* --- Counters (lock-free reads) --- */

struct lim_class_stats {
    uint64_t admitted;
    uint64_t delayed;
    uint64_t rejected[LIM_REASON_COUNT];
    uint64_t would_reject[LIM_REASON_COUNT]; /* dry-run */
    uint64_t watches_started;
    int64_t inflight[2]; /* by enum lim_kind READONLY / MUTATING, in seats */
    int64_t watches_open;
    /* Turns (see lim_decide): booked by a rejection, used by an admission,
     * or forfeited unused. Each booking is also counted in rejected[]. */
    uint64_t reservations_made;
    uint64_t reservations_honoured;
    uint64_t reservations_forfeited;
};

struct lim_stats {
    uint64_t clients; /* entries in the table */
    uint64_t evictions;
    uint64_t overflow; /* decisions that used a class overflow bucket */
    int64_t inflight[2];
    int64_t watches_open;
    uint32_t max_clients;
};

void lim_stats(const struct lim *l, struct lim_stats *out);
/* Number of class slots ever bound; slot names are stable. */
size_t lim_class_slot_count(const struct lim *l);
const char *lim_class_slot_name(const struct lim *l, size_t slot);
void lim_class_slot_stats(const struct lim *l, size_t slot, struct lim_class_stats *out);

/* --- Heaviest clients, for /debug/clients --- */

enum lim_top_by { LIM_TOP_RATE = 0, LIM_TOP_REJECTS, LIM_TOP_WATCHES };

struct lim_client_info {
    char key[LIM_KEY_DISPLAY]; /* distinguisher value, truncated */
    const char *class_name;    /* slot name, borrowed from <l> */
    uint64_t requests;
    uint64_t rejects;
    uint32_t inflight;
    uint32_t watches_open;
    uint64_t rate_mtps; /* recent request rate */
    int64_t tokens_mt;  /* tokens left in its bucket now */
};

/* Fills up to <n> of the heaviest clients by <by> into <out>; returns how
 * many. Walks the table one shard at a time (admin use, not hot path). */
size_t lim_top_clients(struct lim *l, enum lim_top_by by, uint64_t now_ns,
                       struct lim_client_info *out, size_t n);

/* --- Explain: the same decision, committed to nothing --- */

#define LIM_TRACE_MISSES 8

/* The key's turn in the shared buckets, as the decision saw it. */
enum lim_turn {
    LIM_TURN_NONE = 0, /* none held, none booked */
    LIM_TURN_BOOKED,   /* rejected, and the turn is booked (in turn_in_ns) */
    LIM_TURN_EARLY,    /* the key holds a turn not yet due: rejected, keeps it */
    LIM_TURN_USED,     /* admitted on the key's turn */
    LIM_TURN_HELD,     /* the key holds a turn this request did not need */
    LIM_TURN_QUEUED,   /* rejected, queued behind the key's turn (another request's) */
};

struct lim_trace {
    size_t rule;
    size_t nmisses;
    char misses[LIM_TRACE_MISSES][128]; /* rules before the match, and why not */
    size_t miss_rule[LIM_TRACE_MISSES];
    char key[LIM_KEY_DISPLAY]; /* distinguisher value */
    char cost_why[160];        /* "list pods from etcd: 12.8 MB learned ..." */
    uint64_t learned_bytes;    /* size the cost used, 0 if none */
    /* The state the decision saw (fresh state when <l> was NULL). */
    int64_t key_tokens_mt;   /* -1: no per-key bucket */
    int64_t class_tokens_mt; /* -1: no class bucket */
    uint32_t key_inflight;
    uint32_t key_watches;
    int64_t class_inflight;
    int64_t class_watches;
    int64_t global_inflight;
    int64_t global_watches;
    uint32_t class_seat_cap; /* this request's pool share, 0 = none */
    uint32_t global_seat_cap;
    uint8_t pool;   /* the seat pool the caps are of: LIM_KIND_READONLY or _MUTATING */
    size_t key_len; /* length of the whole distinguisher value (key may be cut) */
    enum lim_turn turn;
    uint64_t turn_in_ns;   /* from now until the turn (0: due) */
    uint64_t turn_cost_mt; /* class tokens the turn holds */
    char turn_why[96];     /* "reserved turn in 4 s (1.700 tokens)", "" when none */
};

/* Runs the decision lim_decide would make now, through the same code, but
 * changes no state. With <l> NULL it decides against a fresh limiter (the
 * offline `floodgate explain`); <p> need not be bound then. */
void lim_explain(struct lim *l, const struct lim_policy *p, struct lim_identity *id,
                 const struct lim_request *r, uint64_t now_ns, struct lim_decision *out,
                 struct lim_trace *trace);

/* Learned LIST sizes, so that explain and restarts can reuse them. */
int lim_learned_set(struct lim *l, const char *api_group, const char *resource, bool filtered,
                    uint64_t avg_bytes);
/* Calls <fn> for each learned entry. */
void lim_learned_each(const struct lim *l,
                      void (*fn)(void *arg, const char *api_group, const char *resource,
                                 bool filtered, uint64_t avg_bytes),
                      void *arg);

const char *lim_reason_name(enum lim_reason r); /* "rate", "class_rate", ... */
const char *lim_verdict_name(enum lim_verdict v);

#endif /* LIM_H */
