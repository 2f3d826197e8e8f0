/* Per-worker counters: see px_stats.h. */
#include "px_stats.h"

const uint64_t px_stats_bucket_us[PX_STATS_BUCKETS] = {
    1000,    5000,    10000,   25000,    50000,    100000,   250000,     500000,
    1000000, 2500000, 5000000, 10000000, 30000000, 60000000, UINT64_MAX,
};

enum px_code
px_stats_code(int status)
{
    if (status == 429) {
        return PX_CODE_429;
    }
    switch (status / 100) {
    case 1:
        return PX_CODE_1XX;
    case 2:
        return PX_CODE_2XX;
    case 3:
        return PX_CODE_3XX;
    case 4:
        return PX_CODE_4XX;
    case 5:
        return PX_CODE_5XX;
    default:
        return PX_CODE_NONE;
    }
}

void
px_stats_request(struct px_stats *s, uint32_t class_slot, enum lim_verb verb, enum px_decision d,
                 int status, uint64_t duration_ns)
{
    uint32_t c = class_slot < PX_STATS_CLASSES ? class_slot : PX_STATS_CLASSES - 1;
    uint64_t us = duration_ns / 1000;
    unsigned b = 0;

    if ((unsigned)verb >= LIM_VERB_COUNT) {
        verb = LIM_VERB_UNKNOWN;
    }
    px_stats_inc(&s->requests[c][verb][d][px_stats_code(status)], 1);
    while (us > px_stats_bucket_us[b]) {
        b++; /* the last bound is UINT64_MAX: stops there */
    }
    px_stats_inc(&s->duration[c][b], 1);
    px_stats_inc(&s->duration_sum_us[c], us);
}
