/* How client-go reacts when the server pushes back, mirrored so that the
 * load looks like the real fleet's: a request answered 429 or 5xx with an
 * integer Retry-After is retried after sleeping that long, at most 10 times
 * (rest/with_retry.go IsNextRetry, checkWait, retryAfterSeconds); a GET whose
 * connection was reset is retried at once (rest/request.go); a reflector
 * whose watch fails backs off 800 ms doubling to 30 s with full jitter,
 * reset after 2 minutes of quiet (tools/cache/reflector.go with
 * apimachinery's wait.Backoff), and decides between re-watching and
 * re-listing by how the watch ended. Pure: time and randomness come in. */
#ifndef BN_LOAD_RETRY_H
#define BN_LOAD_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define BN_BACKOFF_INIT_NS  800000000ull    /* 800 ms */
#define BN_BACKOFF_CAP_NS   30000000000ull  /* 30 s */
#define BN_BACKOFF_RESET_NS 120000000000ull /* 2 min without backing off */

/* A Retry-After value read as Go's strconv.Atoi reads it (client-go's
 * retryAfterSeconds): an optional sign and decimal digits that fit an
 * int64. The HTTP-date form, spaces, fractions: -1 (no retry). */
int bn_retry_after_parse(const char *v, int64_t *secs);

struct bn_retry_policy {
    bool retry_after;     /* honour Retry-After (--no-retry-after: off) */
    uint32_t max_retries; /* client-go: 10 */
};

/* After <retries> retries of a request, its response <status> with
 * Retry-After <retry_after> (NULL when absent): true to retry after
 * *<wait_ns>, which is max(Retry-After, 0) seconds. Only 429 and >= 500
 * with an integer Retry-After are retried, as client-go's checkWait. */
bool bn_retry_on_response(const struct bn_retry_policy *p, uint32_t retries, int status,
                          const char *retry_after, uint64_t *wait_ns);
/* After <retries> retries, a transport failure: client-go retries a GET at
 * once when the connection was reset or ended early (IsConnectionReset,
 * IsProbableEOF), never other verbs (not idempotent) nor a refused or
 * timed-out connection. */
bool bn_retry_on_failure(const struct bn_retry_policy *p, uint32_t retries, bool is_get,
                         bool reset_or_eof);

/* wait.NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, 1.0): each
 * backoff is the current duration plus up to 100% jitter; the duration
 * doubles until it would pass 30 s, after which every backoff is 30-60 s;
 * more than 2 minutes since the previous backoff starts over at 800 ms. */
struct bn_backoff {
    uint64_t dur_ns;  /* the next un-jittered duration */
    bool capped;      /* steps used up: 30 s + jitter from now on */
    uint64_t last_ns; /* when the previous backoff was taken */
    uint64_t rng;
};

/* As created at <now_ns> (the manager's clock starts at creation). */
void bn_backoff_init(struct bn_backoff *b, uint64_t now_ns, uint64_t seed);
/* The next delay, taken at <now_ns>. */
uint64_t bn_backoff_next(struct bn_backoff *b, uint64_t now_ns);

/* How a reflector's watch ended, and what it does next (reflector.go
 * watch() and ListAndWatch under BackoffUntil). */
enum bn_watch_end {
    BN_WEND_CREATE_REFUSED = 0, /* connection refused before the watch existed */
    BN_WEND_CREATE_429,         /* watch request answered 429 (retries spent) */
    BN_WEND_CREATE_ERROR,       /* any other failure or status creating it */
    BN_WEND_CLOSED,             /* the stream ended: EOF, reset, server timeout */
    BN_WEND_EXPIRED,            /* a 410 Expired/Gone ERROR event or status */
    BN_WEND_EVENT_429,          /* an ERROR event with code 429 */
    BN_WEND_EVENT_ERROR,        /* any other ERROR event */
};

enum bn_reflect_next {
    BN_REFLECT_REWATCH = 0,     /* watch again from the last resourceVersion, now */
    BN_REFLECT_REWATCH_BACKOFF, /* the same, after a backoff */
    BN_REFLECT_RELIST_BACKOFF,  /* ListAndWatch returned: back off, then LIST again */
};

/* What follows <end>. A stream that closed within 1 s without an event is
 * an error ("very short watch"): relist after backoff; a longer or busier
 * one is simply re-watched. */
enum bn_reflect_next bn_reflect_after(enum bn_watch_end end, uint64_t lasted_ns, uint64_t events);

#endif /* BN_LOAD_RETRY_H */
