/* GET /metrics: everything floodgate counts, in the Prometheus text
 * exposition format (version 0.0.4), valid under `promtool check
 * metrics`. Reads the workers' counters and the limiter's atomics; takes
 * no lock on the data plane. Names start with floodgate_, counters end in
 * _total, labels are class, verb, decision, code, reason, kind, mode,
 * action and result. */
#ifndef PX_METRICS_H
#define PX_METRICS_H

struct evbuffer;
struct px_state;

#define PX_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends the whole exposition to <out>. 0, or -1 when out of memory. */
int px_metrics_render(struct px_state *st, struct evbuffer *out);

#endif /* PX_METRICS_H */
