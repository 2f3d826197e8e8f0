/* The upstream health probe behind /readyz and floodgate_upstream_up:
 * every upstream.health_interval, GET upstream.health_path from the
 * apiservers in order over a fresh TLS connection made the way the
 * workers make theirs (upstream CA, server_name, front-proxy
 * certificate), on the admin plane's event base so that it never waits
 * behind client traffic. Up when one answers 200 within
 * upstream.connect_timeout. */
#ifndef PX_PROBE_H
#define PX_PROBE_H

#include <stddef.h>

struct event_base;
struct px_probe;
struct px_state;

/* Resolves the upstream servers of the running configuration of <st> now
 * (blocking, at start). NULL with <err>. */
struct px_probe *px_probe_new(struct event_base *base, struct px_state *st, char *err,
                              size_t errlen);
/* Probes at once, then every health_interval (read afresh each time). */
void px_probe_start(struct px_probe *p);
void px_probe_free(struct px_probe *p);

#endif /* PX_PROBE_H */
