/* The admin plane's read-only views, as JSON documents: the heaviest
 * clients (/debug/clients), the effective policy with the operators'
 * overrides and the shed state (/debug/config). Each returns a new
 * reference, NULL when out of memory. (/debug/learned is px_learned_json.) */
#ifndef PX_DEBUG_H
#define PX_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lim.h"

struct px_state;

#define PX_TOP_MAX 1000 /* /debug/clients?top= is clamped to this */

/* {"by": "rate", "clients": [{"key", "class", "requests", "rejects",
 * "inflight_seats", "watches_open", "rate_per_second", "tokens"}...]},
 * heaviest first. */
json_t *px_debug_clients(struct px_state *st, enum lim_top_by by, size_t top, uint64_t now_ns);

/* {"path", "hash", "loaded_at", "shed", "global", "classes", "rules",
 * "overrides", "reloads"}: budgets in the configuration's units ("10/s")
 * and as numbers. */
json_t *px_debug_config(struct px_state *st, uint64_t now_ns);

/* "rate", "rejects", "watches" -> 0 and *<by>; anything else -1. */
int px_debug_top_by(const char *s, enum lim_top_by *by);

#endif /* PX_DEBUG_H */
