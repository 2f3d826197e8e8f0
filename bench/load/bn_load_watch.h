/* A watch held open the way a client-go reflector holds it: LIST first
 * (resourceVersion=0, served from the watch cache) when asked to relist,
 * then watch from the list's resourceVersion with allowWatchBookmarks and a
 * random timeoutSeconds in [300, 600); count the events; when the watch
 * breaks, re-watch from the last resourceVersion, back off, or relist, as
 * reflector.go decides (see bn_load_retry.h); a LIST answered 410 relists
 * at once with resourceVersion="" (a consistent read). Each watch has its
 * own connection. The event stream is parsed minimally (bn_load_event.h). */
#ifndef BN_LOAD_WATCH_H
#define BN_LOAD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bn_cred;
struct bn_pop_stats;
struct bn_watch;
struct bn_wctx;

#define BN_WATCH_LINE_KEEP 1024 /* bytes of each event line looked at */

/* A watch of <path> (an expanded template, with or without ?watch=true)
 * for <st>, presenting <cred> (borrowed). NULL when out of memory. */
struct bn_watch *bn_watch_new(struct bn_wctx *w, struct bn_pop_stats *st,
                              const struct bn_cred *cred, const char *path, bool relist,
                              uint64_t seed);
/* Starts it; time to establish is measured from <wanted_ns>. */
void bn_watch_start(struct bn_watch *wa, uint64_t wanted_ns, uint64_t now_ns);
void bn_watch_free(struct bn_watch *wa);

#endif /* BN_LOAD_WATCH_H */
