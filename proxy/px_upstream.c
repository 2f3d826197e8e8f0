/* Upstream connection pool: see px_upstream.h. */
#include "px_upstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "px_clock.h"
#include "px_err.h"
#include "px_log.h"
#include "px_stats.h"
#include "px_tls.h"

struct px_pool {
    struct event_base *base;
    SSL_CTX *ctx;
    const struct px_addr *servers;
    size_t nservers;
    char server_name[256]; /* a copy: the configuration it came from may be freed by a reload */
    uint64_t connect_timeout_ns;
    uint32_t max_idle;
    struct px_stats *stats;
    struct px_log *log;
    struct px_up *idle; /* most recently used first */
    uint32_t nidle;
    SSL_SESSION *session; /* resumed by new connections */
    int64_t log_second;   /* connect failures logged at most once a second */
    uint64_t log_quiet;
};

static int start_connect(struct px_up *up, char *err, size_t errlen);

/* One line per second at most: with the apiserver down every request
 * fails to connect, and the log must not become the next outage. */
static void
log_failure(struct px_pool *p, const char *server, const char *why)
{
    int64_t now = px_wall_s();
    char quiet[24];

    if (now == p->log_second) {
        p->log_quiet++;
        return;
    }
    snprintf(quiet, sizeof(quiet), "%llu", (unsigned long long)p->log_quiet);
    p->log_second = now;
    p->log_quiet = 0;
    px_log_event(p->log, PX_LOG_WARN, "upstream connect failed",
                 (struct px_log_field[]){
                     {"server", server, 0}, {"error", why, 0}, {"not_logged_before", quiet, 0}},
                 3);
}

static struct timeval
tv_of(uint64_t ns)
{
    struct timeval tv = {(time_t)(ns / PX_NS_PER_S), (suseconds_t)(ns % PX_NS_PER_S / 1000)};

    return tv;
}

static void
gauge(struct px_pool *p, _Atomic int64_t *g, int64_t d)
{
    if (p->stats != NULL) {
        px_stats_gauge(g, d);
    }
}

static void
up_free(struct px_up *up)
{
    struct px_pool *p = up->pool;

    event_del(&up->ev);
    px_http_fini(&up->resp);
    if (up->bev != NULL) {
        bufferevent_free(up->bev); /* frees the SSL and closes the socket */
        gauge(p, p->stats != NULL ? &p->stats->upstream_open : NULL, -1);
    } else if (up->fd != -1) {
        close(up->fd);
    }
    free(up);
}

static void
idle_unlink(struct px_up *up)
{
    struct px_pool *p = up->pool;

    if (up->prev != NULL) {
        up->prev->next = up->next;
    } else {
        p->idle = up->next;
    }
    if (up->next != NULL) {
        up->next->prev = up->prev;
    }
    up->prev = up->next = NULL;
    p->nidle--;
    gauge(p, p->stats != NULL ? &p->stats->pool_idle : NULL, -1);
}

static void
fail_up(struct px_up *up, const char *err)
{
    px_up_ready_fn ready = up->ready;
    void *arg = up->arg;

    if (up->pool->stats != NULL) {
        px_stats_inc(&up->pool->stats->upstream_errors, 1);
    }
    up_free(up);
    ready(arg, NULL, err);
}

/* The current server failed with <why>: the next one, or give up. */
static void
next_server(struct px_up *up, const char *why)
{
    char err[PX_ERRLEN];

    log_failure(up->pool, up->pool->servers[up->server].text, why);
    if (up->bev != NULL) {
        bufferevent_free(up->bev);
        up->bev = NULL;
        gauge(up->pool, up->pool->stats != NULL ? &up->pool->stats->upstream_open : NULL, -1);
    } else if (up->fd != -1) {
        close(up->fd);
    }
    up->fd = -1;
    event_del(&up->ev);
    up->server++;
    if (px_now_ns() >= up->deadline_ns) {
        fail_up(up, "upstream connect timed out");
        return;
    }
    if (start_connect(up, err, sizeof(err)) != 0) {
        fail_up(up, why);
    }
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct px_up *up = arg;

    (void)fd;
    (void)what;
    /* The budget is for all servers together: no retry after it. */
    up->deadline_ns = 0;
    next_server(up,
                up->state == PX_UP_CONNECTING ? "connect timed out" : "TLS handshake timed out");
}

static void
on_handshake(struct bufferevent *bev, short events, void *arg)
{
    struct px_up *up = arg;
    struct px_pool *p = up->pool;
    char err[PX_ERRLEN];

    if (events & BEV_EVENT_CONNECTED) {
        event_del(&up->ev);
        up->state = PX_UP_ACTIVE;
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        if (p->stats != NULL) {
            px_stats_inc(&p->stats->upstream_connects, 1);
        }
        up->ready(up->arg, up, NULL);
        return;
    }
    {
        unsigned long e = bufferevent_get_openssl_error(bev);

        if (e != 0) {
            px_tls_error_string(e, err, sizeof(err), "TLS handshake");
        } else {
            snprintf(err, sizeof(err), "TLS handshake: %s",
                     (events & BEV_EVENT_EOF) ? "connection closed" : strerror(errno));
        }
    }
    px_tls_clear_errors();
    next_server(up, err);
}

static void
on_connected(evutil_socket_t fd, short what, void *arg)
{
    struct px_up *up = arg;
    struct px_pool *p = up->pool;
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    char err[PX_ERRLEN];
    SSL *ssl;
    struct timeval tv;
    uint64_t now = px_now_ns();

    if (what & EV_TIMEOUT) {
        on_deadline(fd, what, arg);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1) {
        soerr = errno;
    }
    if (soerr != 0) {
        next_server(up, strerror(soerr));
        return;
    }
    ssl = px_tls_client_ssl(p->ctx, p->server_name, err, sizeof(err));
    if (ssl == NULL) {
        next_server(up, err);
        return;
    }
    SSL_set_read_ahead(ssl, 1); /* px_read_rest reads what it buffers */
    if (p->session != NULL) {
        SSL_set_session(ssl, p->session);
    }
    up->bev = bufferevent_openssl_socket_new(p->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE);
    if (up->bev == NULL) {
        SSL_free(ssl);
        next_server(up, "out of memory");
        return;
    }
    up->fd = -1;
    gauge(p, p->stats != NULL ? &p->stats->upstream_open : NULL, 1);
    bufferevent_openssl_set_allow_dirty_shutdown(up->bev, 1);
    up->state = PX_UP_HANDSHAKE;
    bufferevent_setcb(up->bev, NULL, NULL, on_handshake, up);
    bufferevent_enable(up->bev, EV_READ | EV_WRITE);
    event_assign(&up->ev, p->base, -1, 0, on_deadline, up);
    tv = tv_of(up->deadline_ns > now ? up->deadline_ns - now : 0);
    event_add(&up->ev, &tv);
}

static int
start_connect(struct px_up *up, char *err, size_t errlen)
{
    struct px_pool *p = up->pool;

    for (; up->server < p->nservers; up->server++) {
        uint64_t now = px_now_ns();
        struct timeval tv;
        int fd = px_net_connect(&p->servers[up->server], err, errlen);

        if (fd == -1) {
            log_failure(p, p->servers[up->server].text, err);
            continue;
        }
        up->fd = fd;
        up->state = PX_UP_CONNECTING;
        event_assign(&up->ev, p->base, fd, EV_WRITE, on_connected, up);
        tv = tv_of(up->deadline_ns > now ? up->deadline_ns - now : 0);
        event_add(&up->ev, &tv);
        return 0;
    }
    if (p->nservers == 0) {
        px_errf(err, errlen, "no upstream servers");
    }
    return -1;
}

struct px_pool *
px_pool_new(const struct px_pool_opts *o)
{
    struct px_pool *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        return NULL;
    }
    p->base = o->base;
    p->ctx = o->ctx;
    p->servers = o->servers;
    p->nservers = o->nservers;
    snprintf(p->server_name, sizeof(p->server_name), "%s", o->server_name);
    p->connect_timeout_ns = o->connect_timeout_ns;
    p->max_idle = o->max_idle;
    p->stats = o->stats;
    p->log = o->log;
    return p;
}

void
px_pool_close_idle(struct px_pool *p)
{
    while (p->idle != NULL) {
        struct px_up *up = p->idle;

        idle_unlink(up);
        up_free(up);
    }
}

void
px_pool_free(struct px_pool *p)
{
    if (p == NULL) {
        return;
    }
    px_pool_close_idle(p);
    SSL_SESSION_free(p->session);
    free(p);
}

void
px_pool_set_ctx(struct px_pool *p, SSL_CTX *ctx)
{
    p->ctx = ctx;
    SSL_SESSION_free(p->session); /* a session of the old context is not offered to the new */
    p->session = NULL;
}

void
px_pool_configure(struct px_pool *p, uint64_t connect_timeout_ns, uint32_t max_idle)
{
    p->connect_timeout_ns = connect_timeout_ns;
    p->max_idle = max_idle;
}

int
px_pool_get(struct px_pool *p, px_up_ready_fn ready, void *arg, struct px_up **out, char *err,
            size_t errlen)
{
    struct px_up *up = p->idle;

    if (up != NULL) {
        idle_unlink(up);
        event_del(&up->ev);
        up->state = PX_UP_ACTIVE;
        up->reused = true;
        bufferevent_setcb(up->bev, NULL, NULL, NULL, NULL);
        if (p->stats != NULL) {
            px_stats_inc(&p->stats->upstream_reused, 1);
        }
        *out = up;
        return 1;
    }
    up = calloc(1, sizeof(*up));
    if (up == NULL) {
        px_errf(err, errlen, "out of memory");
        return -1;
    }
    up->pool = p;
    up->fd = -1;
    up->ready = ready;
    up->arg = arg;
    up->deadline_ns = px_now_ns() + p->connect_timeout_ns;
    event_assign(&up->ev, p->base, -1, 0, on_deadline, up);
    if (start_connect(up, err, errlen) != 0) {
        if (p->stats != NULL) {
            px_stats_inc(&p->stats->upstream_errors, 1);
        }
        up_free(up);
        return -1;
    }
    *out = up;
    return 0;
}

static void
on_idle_event(struct bufferevent *bev, short events, void *arg)
{
    struct px_up *up = arg;

    (void)bev;
    (void)events;
    idle_unlink(up);
    up_free(up);
}

static void
on_idle_read(struct bufferevent *bev, void *arg)
{
    /* An idle connection has nothing to say: bytes now mean the server is
     * out of step with us (or closing with a final response). */
    on_idle_event(bev, BEV_EVENT_ERROR, arg);
}

static void
on_idle_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    on_idle_event(NULL, 0, arg);
}

void
px_up_release(struct px_up *up, bool reusable)
{
    struct px_pool *p = up->pool;
    struct timeval tv = tv_of(PX_UP_IDLE_NS);

    px_http_fini(&up->resp);
    if (!reusable || up->state != PX_UP_ACTIVE || p->nidle >= p->max_idle ||
        evbuffer_get_length(bufferevent_get_input(up->bev)) != 0) {
        up_free(up);
        return;
    }
    {
        SSL *ssl = bufferevent_openssl_get_ssl(up->bev);
        SSL_SESSION *s = ssl != NULL ? SSL_get1_session(ssl) : NULL;

        if (s != NULL && SSL_SESSION_is_resumable(s) && s != p->session) {
            SSL_SESSION_free(p->session);
            p->session = s;
        } else {
            SSL_SESSION_free(s);
        }
    }
    up->state = PX_UP_IDLE;
    bufferevent_setcb(up->bev, on_idle_read, NULL, on_idle_event, up);
    bufferevent_setwatermark(up->bev, EV_READ, 0, 0);
    bufferevent_setwatermark(up->bev, EV_WRITE, 0, 0);
    bufferevent_enable(up->bev, EV_READ);
    event_assign(&up->ev, p->base, -1, 0, on_idle_timeout, up);
    event_add(&up->ev, &tv);
    up->next = p->idle;
    up->prev = NULL;
    if (p->idle != NULL) {
        p->idle->prev = up;
    }
    p->idle = up;
    p->nidle++;
    gauge(p, p->stats != NULL ? &p->stats->pool_idle : NULL, 1);
}
