/* Configuration reload (SIGHUP, POST /reload): the file is loaded again
 * and the certificates and keys it names are read again; a valid result
 * that may replace the running one (cf_check_reloadable, and the same
 * apiservers) is bound to the limiter (classes that keep their names keep
 * their clients' buckets, counters and open watches) and published
 * atomically to every worker, which takes it at its next event (requests
 * in flight keep their tickets). Anything wrong refuses the whole reload:
 * the running configuration stays, the path-precise error is logged and
 * kept for /debug/config, and floodgate_config_reloads_total{result=
 * "failure"} counts it. */
#ifndef PX_RELOAD_H
#define PX_RELOAD_H

#include <stddef.h>

struct px_state;

/* Reloads for <who> ("SIGHUP", or the admin peer). 0 when applied, -1
 * with <err> when refused. One at a time. */
int px_reload_run(struct px_state *st, const char *who, char *err, size_t errlen);

#endif /* PX_RELOAD_H */
