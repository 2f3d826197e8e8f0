/* The one clock floodgate reads: CLOCK_MONOTONIC in nanoseconds, read once
 * per event at the edge and passed down (the limiter never reads a clock). */
#ifndef PX_CLOCK_H
#define PX_CLOCK_H

#include <stdint.h>
#include <time.h>

#define PX_NS_PER_S  1000000000ull
#define PX_NS_PER_MS 1000000ull
#define PX_NS_PER_US 1000ull

static inline uint64_t
px_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * PX_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Wall-clock seconds, for log timestamps and JWT exp/nbf checks only. */
static inline int64_t
px_wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

#endif /* PX_CLOCK_H */
