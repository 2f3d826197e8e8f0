/* Worker threads: each runs its own event base with its own listener
 * (SO_REUSEPORT) or takes connections handed off by worker 0, its own
 * upstream pool, token cache and counters; the hot path takes no lock.
 * Other threads talk to a worker only through px_worker_set_config and
 * px_worker_drain (an event made active on its base) and read its counters
 * with relaxed loads. */
#ifndef PX_WORKER_H
#define PX_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct cf_config;
struct lim;
struct px_creds;
struct px_jwt_keys;
struct px_log;
struct px_shared;
struct px_stats;
struct px_worker;

enum px_accept_mode {
    PX_ACCEPT_REUSEPORT = 0, /* a listening socket per worker, the kernel spreads connections */
    PX_ACCEPT_HANDOFF,       /* worker 0 accepts and deals connections round robin */
};

struct px_worker_opts {
    unsigned id;
    struct px_shared *shared; /* borrowed, outlives the worker */
    struct cf_config *cf;     /* a reference is taken */
    int listen_fd;            /* taken over; -1 for a worker that only receives handoffs */
    struct px_worker **peers; /* with PX_ACCEPT_HANDOFF on worker 0: all workers */
    unsigned npeers;
    uint64_t seed; /* random bits for its PRNG and hash keys */
};

struct px_worker *px_worker_new(const struct px_worker_opts *o, char *err, size_t errlen);
/* Starts the worker's thread. 0, or -1 with <err>. */
int px_worker_start(struct px_worker *w, char *err, size_t errlen);
/* From any thread: the worker uses <cf> (a reference is taken) from its
 * next event on; requests in flight finish under the snapshot they
 * started with where it matters (limits of a head being read). The
 * policy must already be bound to the limiter (lim_bind). */
void px_worker_set_config(struct px_worker *w, struct cf_config *cf);
/* From any thread: the worker serves and connects with <creds> (a
 * reference is taken) from its next event on: new client handshakes, new
 * upstream connections and token verifications; connections already made
 * keep what they were made with. */
void px_worker_set_creds(struct px_worker *w, struct px_creds *creds);
/* Whether the thread has left its loop (after px_worker_drain). */
bool px_worker_finished(struct px_worker *w);
/* From any thread: stop accepting, close idle connections, let requests
 * in flight finish (closing their connections after), and after
 * <grace_ns> close whatever is left; the thread then exits. */
void px_worker_drain(struct px_worker *w, uint64_t grace_ns);
/* Waits for the thread to exit (after px_worker_drain). */
void px_worker_join(struct px_worker *w);
void px_worker_free(struct px_worker *w);

const struct px_stats *px_worker_stats(const struct px_worker *w);

/* Process-wide state the workers share: the limiter, the logger, the TLS
 * contexts, the service-account keys (NULL: none; all borrowed, owned by
 * the caller), and the upstream servers of <cf>, resolved now. NULL with
 * <err>. */
struct px_shared *px_shared_new(struct lim *lim, struct px_log *log, SSL_CTX *server_tls,
                                SSL_CTX *upstream_tls, struct px_jwt_keys *jwt,
                                const struct cf_config *cf, char *err, size_t errlen);
void px_shared_free(struct px_shared *sh);
/* Downstream connections open in all workers. */
uint32_t px_shared_conns(const struct px_shared *sh);

#endif /* PX_WORKER_H */
