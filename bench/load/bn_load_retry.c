/* client-go's reactions: see bn_load_retry.h. */
#include "bn_load_retry.h"

#include <limits.h>

#include "bn_load_sched.h"

#define NS_PER_S 1000000000ull

int
bn_retry_after_parse(const char *v, int64_t *secs)
{
    const char *p = v;
    bool neg = false;
    uint64_t n = 0, limit;

    if (v == NULL || *p == '\0') {
        return -1;
    }
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    if (*p == '\0') {
        return -1;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || n > (limit - (uint64_t)(*p - '0')) / 10) {
            return -1;
        }
        n = n * 10 + (uint64_t)(*p - '0');
    }
    *secs = neg ? (n == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)n) : (int64_t)n;
    return 0;
}

bool
bn_retry_on_response(const struct bn_retry_policy *p, uint32_t retries, int status,
                     const char *retry_after, uint64_t *wait_ns)
{
    int64_t secs;

    if (!p->retry_after || retries >= p->max_retries) {
        return false;
    }
    if (status != 429 && status < 500) {
        return false;
    }
    if (bn_retry_after_parse(retry_after, &secs) != 0) {
        return false;
    }
    /* time.Duration(secs) * time.Second, slept only when positive; a
     * Retry-After beyond any run is capped rather than overflowed. */
    *wait_ns = secs <= 0              ? 0
               : secs > 7 * 24 * 3600 ? 7ull * 24 * 3600 * NS_PER_S
                                      : (uint64_t)secs * NS_PER_S;
    return true;
}

bool
bn_retry_on_failure(const struct bn_retry_policy *p, uint32_t retries, bool is_get,
                    bool reset_or_eof)
{
    return retries < p->max_retries && is_get && reset_or_eof;
}

void
bn_backoff_init(struct bn_backoff *b, uint64_t now_ns, uint64_t seed)
{
    b->dur_ns = BN_BACKOFF_INIT_NS;
    b->capped = false;
    b->last_ns = now_ns;
    b->rng = seed;
}

uint64_t
bn_backoff_next(struct bn_backoff *b, uint64_t now_ns)
{
    uint64_t d;

    if (now_ns > b->last_ns && now_ns - b->last_ns > BN_BACKOFF_RESET_NS) {
        b->dur_ns = BN_BACKOFF_INIT_NS;
        b->capped = false;
    }
    b->last_ns = now_ns;
    d = b->dur_ns;
    /* wait.Backoff.Step: double; past the cap, pin the duration at the cap
     * and use up the steps, after which every step is the cap, jittered. */
    if (!b->capped) {
        b->dur_ns *= 2;
        if (b->dur_ns > BN_BACKOFF_CAP_NS) {
            b->dur_ns = BN_BACKOFF_CAP_NS;
            b->capped = true;
        }
    } else {
        d = BN_BACKOFF_CAP_NS;
    }
    /* wait.Jitter(d, 1.0) = d + rand.Float64() * d */
    return d + (uint64_t)(bn_rng_unit(&b->rng) * (double)d);
}

enum bn_reflect_next
bn_reflect_after(enum bn_watch_end end, uint64_t lasted_ns, uint64_t events)
{
    switch (end) {
    case BN_WEND_CREATE_REFUSED:
    case BN_WEND_CREATE_429:
    case BN_WEND_EVENT_429:
        /* isWatchErrorRetriable / IsTooManyRequests: the apiserver is
         * overloaded, a relist would only add to it. */
        return BN_REFLECT_REWATCH_BACKOFF;
    case BN_WEND_CLOSED:
        if (lasted_ns < NS_PER_S && events == 0) {
            return BN_REFLECT_RELIST_BACKOFF; /* "very short watch" */
        }
        return BN_REFLECT_REWATCH;
    case BN_WEND_EXPIRED:
    case BN_WEND_CREATE_ERROR:
    case BN_WEND_EVENT_ERROR:
    default:
        return BN_REFLECT_RELIST_BACKOFF;
    }
}
