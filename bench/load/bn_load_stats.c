/* Counters: see bn_load_stats.h. */
#include "bn_load_stats.h"

#include <string.h>

void
bn_pop_stats_init(struct bn_pop_stats *s)
{
    memset(&s->total, 0, sizeof(s->total));
    memset(&s->sec, 0, sizeof(s->sec));
    bn_hist_init(&s->lat);
    bn_hist_init(&s->lat_sec);
    bn_hist_init(&s->establish);
    bn_hist_init(&s->lag);
    s->open_watches = 0;
}

void
bn_counts_add(struct bn_counts *d, const struct bn_counts *s)
{
    size_t i;

    d->requests += s->requests;
    for (i = 0; i < BN_CODES; i++) {
        d->codes[i] += s->codes[i];
    }
    for (i = 0; i < BN_CODES; i++) {
        d->watch_codes[i] += s->watch_codes[i];
    }
    for (i = 0; i < BN_FAIL_N; i++) {
        d->fails[i] += s->fails[i];
    }
    d->retries += s->retries;
    d->gave_up += s->gave_up;
    d->dropped += s->dropped;
    d->unsent += s->unsent;
    d->bytes_in += s->bytes_in;
    d->watch_ok += s->watch_ok;
    d->watch_failed += s->watch_failed;
    d->watch_ended += s->watch_ended;
    d->events += s->events;
    d->bookmarks += s->bookmarks;
    d->error_events += s->error_events;
    d->lists += s->lists;
    d->relists += s->relists;
}

uint64_t
bn_counts_errors(const struct bn_counts *c)
{
    uint64_t ok = 0;
    unsigned i;

    for (i = 200; i < 400; i++) {
        ok += c->codes[i];
    }
    return c->requests - ok;
}
