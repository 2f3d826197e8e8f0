/* The worker's connections to kube-apiserver: a keep-alive pool of TLS
 * connections verified against the upstream CA (SNI and name check with
 * upstream.server_name), presenting the front-proxy client certificate.
 * Servers are tried in order within one connect budget
 * (upstream.connect_timeout); idle connections are reused most recently
 * used first, and closed when the server closes them or after an idle
 * period shorter than the apiserver's own. One pool per worker thread. */
#ifndef PX_UPSTREAM_H
#define PX_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include "px_http.h"
#include "px_net.h"

struct bufferevent;
struct event_base;
struct px_log;
struct px_stats;
struct px_pool;
struct px_up;

#define PX_UP_IDLE_NS (30ull * 1000000000ull) /* kube-apiserver closes idle at 90 s */

enum px_up_state {
    PX_UP_CONNECTING = 0, /* TCP connect in progress */
    PX_UP_HANDSHAKE,      /* TLS handshake in progress */
    PX_UP_IDLE,           /* in the pool */
    PX_UP_ACTIVE,         /* lent to a request */
};

/* Called once when a connect started by px_pool_get ends: with <up>
 * ready (PX_UP_ACTIVE), or with <up> NULL and <err> after every server
 * failed or the budget ran out. */
typedef void (*px_up_ready_fn)(void *arg, struct px_up *up, const char *err);

struct px_up {
    struct px_pool *pool;
    struct bufferevent *bev; /* NULL while the TCP connect is in progress */
    int fd;                  /* the connecting socket, -1 once bev owns it */
    struct event ev;         /* connect/handshake deadline, or idle expiry */
    struct px_http resp;     /* the response parser of the current request */
    struct px_up *prev, *next;
    enum px_up_state state;
    unsigned server; /* index of the server tried or connected to */
    uint64_t deadline_ns;
    bool reused; /* has served a request before this one */
    px_up_ready_fn ready;
    void *arg;
};

struct px_pool_opts {
    struct event_base *base;
    SSL_CTX *ctx;
    const struct px_addr *servers; /* tried in order; borrowed */
    size_t nservers;
    const char *server_name; /* copied */
    uint64_t connect_timeout_ns;
    uint32_t max_idle;
    struct px_stats *stats; /* borrowed, may be NULL */
    struct px_log *log;     /* borrowed, may be NULL */
};

/* NULL when out of memory. */
struct px_pool *px_pool_new(const struct px_pool_opts *o);
/* Frees the idle connections and the pool; lent ones must have been
 * released first. */
void px_pool_free(struct px_pool *p);
/* Takes new connect timeout and pool size (config reload). */
void px_pool_configure(struct px_pool *p, uint64_t connect_timeout_ns, uint32_t max_idle);
/* Connects with <ctx> from now on (a reload re-read the CA or the
 * front-proxy certificate); connections made before keep theirs. The
 * caller keeps <ctx> alive while the pool uses it. */
void px_pool_set_ctx(struct px_pool *p, SSL_CTX *ctx);
/* Closes every idle connection (drain). */
void px_pool_close_idle(struct px_pool *p);

/* A connection for <arg>. Returns 1 with *<out> an idle connection, ready
 * now; 0 with *<out> a connection being made, <ready> to be called once
 * (px_up_release before then cancels it); -1 with <err> when every server
 * failed at once. */
int px_pool_get(struct px_pool *p, px_up_ready_fn ready, void *arg, struct px_up **out, char *err,
                size_t errlen);

/* Gives <up> back: to the pool when <reusable> (a complete response on a
 * connection that stays open) and there is room, else closes it. Cancels a
 * connect in progress. <up> must not be used afterwards. */
void px_up_release(struct px_up *up, bool reusable);

#endif /* PX_UPSTREAM_H */
