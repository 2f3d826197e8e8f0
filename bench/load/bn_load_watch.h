/* A watch held open the way a client-go reflector holds it: LIST first
 * (resourceVersion=0, served from the watch cache) when asked to relist,
 * then watch from the list's resourceVersion with allowWatchBookmarks and a
 * random timeoutSeconds in [300, 600); count the events; when the watch
 * breaks, re-watch from the last resourceVersion, back off, or relist, as
 * reflector.go decides (see bn_load_retry.h); a LIST answered 410 relists
 * at once with resourceVersion="" (a consistent read). Each watch has its
 * own connection. The event stream is parsed minimally: each line's type
 * and metadata.resourceVersion, and an ERROR event's code. */
#ifndef BN_LOAD_WATCH_H
#define BN_LOAD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bn_cred;
struct bn_pop_stats;
struct bn_watch;
struct bn_wctx;

#define BN_RV_MAX           64   /* bytes of a resourceVersion kept */
#define BN_WATCH_LINE_KEEP  1024 /* bytes of each event line looked at */
#define BN_WATCH_TARGET_MAX 8192

/* A watch of <path> (an expanded template, with or without ?watch=true)
 * for <st>, presenting <cred> (borrowed). NULL when out of memory. */
struct bn_watch *bn_watch_new(struct bn_wctx *w, struct bn_pop_stats *st,
                              const struct bn_cred *cred, const char *path, bool relist,
                              uint64_t seed);
/* Starts it; time to establish is measured from <wanted_ns>. */
void bn_watch_start(struct bn_watch *wa, uint64_t wanted_ns, uint64_t now_ns);
void bn_watch_free(struct bn_watch *wa);

/* --- pure parts, exported for the tests -------------------------------- */

enum bn_wev_type {
    BN_WEV_UNKNOWN = 0,
    BN_WEV_ADDED,
    BN_WEV_MODIFIED,
    BN_WEV_DELETED,
    BN_WEV_BOOKMARK,
    BN_WEV_ERROR,
};

struct bn_wev {
    enum bn_wev_type type;
    char rv[BN_RV_MAX]; /* "" when not found */
    int code;           /* ERROR: the Status code, 0 when absent */
};

/* Reads one watch event line (a JSON object, possibly cut short). */
void bn_wev_parse(const char *line, size_t len, struct bn_wev *ev);
/* The list's own resourceVersion from the start of a LIST body: its
 * metadata comes before its items. 0, or -1 when not found. */
int bn_list_rv(const char *body, size_t len, char *rv, size_t rvlen);

/* The LIST for watch <path>: the watch itself (?watch=, /watch/ in the
 * path) and the parameters the reflector owns removed, resourceVersion=<rv>
 * added unless <rv> is NULL or "" (a consistent read); parameters sorted by
 * name, as client-go's url.Values encodes them. -1 when it does not fit. */
int bn_watch_list_target(const char *path, const char *rv, char *out, size_t outlen);
/* The watch request: watch=true, resourceVersion=<rv> unless NULL or "",
 * allowWatchBookmarks=true, timeoutSeconds=<timeout_s>. */
int bn_watch_watch_target(const char *path, const char *rv, unsigned timeout_s, char *out,
                          size_t outlen);

#endif /* BN_LOAD_WATCH_H */
