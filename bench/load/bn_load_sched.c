/* Arrival schedules: see bn_load_sched.h. */
#include "bn_load_sched.h"

#include <math.h>

/* 10^12: nanoseconds per second times milli-requests per request. */
#define NS_MRPS 1000000000000ull

__extension__ typedef unsigned __int128 bn_u128;

uint64_t
bn_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double
bn_rng_unit(uint64_t *state)
{
    return (double)(bn_rng_next(state) >> 11) * 0x1.0p-53;
}

static uint64_t
constant_at(const struct bn_sched *s, uint64_t k)
{
    /* k * 10^12 needs more than 64 bits after a few hours at high rates. */
    return s->origin_ns + (uint64_t)(((bn_u128)k * NS_MRPS * s->div) / s->rate_mrps);
}

static uint64_t
poisson_gap(struct bn_sched *s)
{
    double u = bn_rng_unit(&s->rng);

    /* Inverse transform of the exponential: -ln(1 - u) with u in [0, 1)
     * never takes the log of 0. */
    return (uint64_t)llround(-log1p(-u) * ((double)NS_MRPS * s->div / (double)s->rate_mrps));
}

void
bn_sched_init(struct bn_sched *s, enum bn_arrival arrival, uint64_t rate_mrps, uint32_t div,
              uint64_t origin_ns, uint64_t seed)
{
    s->arrival = arrival;
    s->rate_mrps = rate_mrps == 0 ? 1 : rate_mrps > BN_RATE_MAX ? BN_RATE_MAX : rate_mrps;
    s->div = div == 0 ? 1 : div;
    s->origin_ns = origin_ns;
    s->k = 0;
    s->rng = seed;
    /* A Poisson process observed from an arbitrary instant waits an
     * exponential time for its first arrival too (memorylessness). */
    s->next_ns = arrival == BN_ARRIVAL_POISSON ? origin_ns + poisson_gap(s) : origin_ns;
}

void
bn_sched_advance(struct bn_sched *s)
{
    s->k++;
    if (s->arrival == BN_ARRIVAL_POISSON) {
        s->next_ns += poisson_gap(s);
    } else {
        s->next_ns = constant_at(s, s->k);
    }
}

int
bn_sched_pick(struct bn_sched *s, size_t n, uint64_t now_ns, uint64_t *intended_ns,
              uint64_t *wake_ns)
{
    size_t i, best = 0;

    if (n == 0) {
        *wake_ns = UINT64_MAX;
        return -1;
    }
    for (i = 1; i < n; i++) {
        if (s[i].next_ns < s[best].next_ns) {
            best = i;
        }
    }
    if (s[best].next_ns > now_ns) {
        *wake_ns = s[best].next_ns;
        return -1;
    }
    *intended_ns = s[best].next_ns;
    bn_sched_advance(&s[best]);
    return (int)best;
}

uint64_t
bn_sched_member_start(uint64_t start_ns, uint64_t ramp_ns, uint32_t i, uint32_t count)
{
    if (count == 0) {
        return start_ns;
    }
    return start_ns + (uint64_t)(((bn_u128)ramp_ns * i) / count);
}

uint64_t
bn_sched_phase(uint64_t rate_mrps, uint32_t div, uint32_t i, uint32_t count)
{
    if (rate_mrps == 0 || count == 0) {
        return 0;
    }
    return (uint64_t)(((bn_u128)NS_MRPS * (div == 0 ? 1 : div) * i) / rate_mrps / count);
}
