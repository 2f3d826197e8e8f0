/* The watch wire as a reflector reads and writes it: one event line's type
 * and metadata.resourceVersion (and an ERROR event's code), the list's own
 * resourceVersion at the head of a LIST body, and the LIST and watch
 * request targets with the parameters a reflector owns. A minimal parse on
 * purpose: the load generator counts events, it does not decode objects. */
#ifndef BN_LOAD_EVENT_H
#define BN_LOAD_EVENT_H

#include <stddef.h>

#define BN_RV_MAX           64 /* bytes of a resourceVersion kept */
#define BN_WATCH_TARGET_MAX 8192

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

#endif /* BN_LOAD_EVENT_H */
