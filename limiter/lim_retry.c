/* Retry-After of a rejection: client-go retries a 429 only when
 * Retry-After is an integer number of seconds, sleeping exactly that long,
 * so the value is whole seconds >= 1 and jittered. */
#include "lim_decide.h"

/* Caps that free only when a request or watch ends: a watch lives for
 * minutes, so asking back within the second only adds load; 5 s spreads a
 * fleet's retries over the jitter window. */
#define RETRY_WATCH_CAP_S 5u
/* Shedding lasts until the operator lifts it. */
#define RETRY_SHED_S 10u

/* A booked turn: never before it (the client would only be rejected again
 * and spend one of client-go's 10 retries), and at most a second after:
 * turns are already spread at the class rate, one per key, so the jitter
 * only has to split clients rejected in the same instant whose turns round
 * up to the same second; a wider one would only add to every client's
 * wait. The ceiling is never passed (bookings stop there). */
static uint32_t
turn_retry_after(const struct lim_policy *p, uint64_t deficit_ns, uint64_t rnd)
{
    uint64_t s = (deficit_ns + LIM_NS_PER_S - 1) / LIM_NS_PER_S, max = p->g.retry_after_max_s;

    s = s != 0 ? s : 1;
    s = s < max ? s : max;
    if (p->g.retry_jitter_pct != 0 && s < max) {
        s += (rnd >> 32) & 1u;
    }
    return (uint32_t)s;
}

uint32_t
lim_d_retry_after(const struct lim_policy *p, enum lim_reason reason, uint64_t deficit_ns,
                  uint64_t rnd, bool turn)
{
    uint64_t s;

    if (turn) {
        return turn_retry_after(p, deficit_ns, rnd);
    }

    switch (reason) {
    case LIM_REASON_RATE:
    case LIM_REASON_CLASS_RATE:
    case LIM_REASON_WATCH_RATE:
    case LIM_REASON_UNVERIFIED:
    case LIM_REASON_BLOCKED:
        s = (deficit_ns + LIM_NS_PER_S - 1) / LIM_NS_PER_S; /* deficit < 2^63 */
        break;
    case LIM_REASON_WATCH_CAP:
        s = RETRY_WATCH_CAP_S;
        break;
    case LIM_REASON_SHED:
        s = RETRY_SHED_S;
        break;
    default: /* concurrency: a seat frees as soon as a request ends */
        s = 1;
        break;
    }
    if (s == 0) {
        s = 1;
    }
    if (s > p->g.retry_after_max_s) {
        s = p->g.retry_after_max_s;
    }
    /* client-go sleeps exactly Retry-After: without jitter a rejected
     * fleet comes back in the same second. Uniform in [s, s + span] with
     * span = pct % of s (at least 1 s); where that window passes the
     * ceiling it slides down below it, so that clients at the ceiling are
     * spread as well. */
    if (p->g.retry_jitter_pct != 0) {
        uint64_t span = s * p->g.retry_jitter_pct / 100, max = p->g.retry_after_max_s;

        span = span != 0 ? span : 1;
        if (s + span > max) {
            s = max > span ? max - span : 1;
            span = max - s;
        }
        s += (rnd >> 32) % (span + 1);
    }
    return (uint32_t)s;
}
