/* Worker threads: see px_worker.h. */
#include "px_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "px_clock.h"
#include "px_creds.h"
#include "px_err.h"
#include "px_log.h"

#define PX_CMD_CONFIG 1u
#define PX_CMD_DRAIN  2u
#define PX_CMD_CREDS  4u
#define PX_IDCACHE    1024 /* verified tokens remembered per worker */
#define PX_HEADS_KEPT 64   /* pooled request/response heads per worker */

struct px_shared *
px_shared_new(struct lim *lim, struct px_log *log, SSL_CTX *server_tls, SSL_CTX *upstream_tls,
              struct px_jwt_keys *jwt, const struct cf_config *cf, char *err, size_t errlen)
{
    struct px_shared *sh = calloc(1, sizeof(*sh));
    size_t i;

    if (sh == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    sh->lim = lim;
    sh->log = log;
    sh->server_tls = server_tls;
    sh->upstream_tls = upstream_tls;
    sh->jwt = jwt;
    for (i = 0; i < cf->upstream.nservers && i < CF_MAX_UPSTREAM; i++) {
        if (px_net_parse(cf->upstream.servers[i], &sh->upstreams[i], err, errlen) != 0) {
            free(sh);
            return NULL;
        }
    }
    sh->nupstreams = i;
    atomic_init(&sh->conns, 0);
    return sh;
}

void
px_shared_free(struct px_shared *sh)
{
    free(sh);
}

uint32_t
px_shared_conns(const struct px_shared *sh)
{
    return atomic_load(&((struct px_shared *)sh)->conns);
}

const char *
px_worker_date(struct px_worker *w)
{
    int64_t now = px_wall_s();

    if (now != w->date_s) {
        px_http_date(now, w->date);
        w->date_s = now;
    }
    return w->date;
}

uint64_t
px_worker_rand(struct px_worker *w)
{
    /* splitmix64: the limiter only needs jitter, not secrecy. */
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

bool
px_worker_log_reject(struct px_worker *w)
{
    int64_t now = px_wall_s();

    if (now != w->rej_second) {
        if (w->rej_quiet > 0) {
            char n[32];

            snprintf(n, sizeof(n), "%llu", (unsigned long long)w->rej_quiet);
            px_log_event(w->sh->log, PX_LOG_INFO, "rejections not logged",
                         (struct px_log_field[]){{"count", n, 0}}, 1);
        }
        w->rej_second = now;
        w->rej_logged = 0;
        w->rej_quiet = 0;
    }
    if (w->rej_logged < w->cf->log.reject_log_per_s) {
        w->rej_logged++;
        return true;
    }
    w->rej_quiet++;
    return false;
}

static void
maybe_done(struct px_worker *w)
{
    if (w->draining && w->nconns == 0) {
        event_base_loopbreak(w->base);
    }
}

void
px_worker_conn_gone(struct px_worker *w, struct px_conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    w->nconns--;
    atomic_fetch_sub(&w->sh->conns, 1);
    px_stats_gauge(&w->stats.conns_open, -1);
    maybe_done(w);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    struct px_worker *w = arg;
    struct px_worker *to = w;

    (void)l;
    if (w->npeers > 1) {
        to = w->peers[w->next_peer++ % w->npeers];
    }
    if (to != w) {
        struct px_handoff *h;
        bool full;

        pthread_mutex_lock(&to->hq_lock);
        full = to->hq_len == PX_HANDOFF_QUEUE;
        if (!full) {
            h = &to->hq[(to->hq_head + to->hq_len++) % PX_HANDOFF_QUEUE];
            h->fd = fd;
            memcpy(&h->ss, sa, (size_t)len);
            h->len = (socklen_t)len;
        }
        pthread_mutex_unlock(&to->hq_lock);
        if (full) {
            close(fd);
            px_stats_inc(&w->stats.conns_refused, 1);
            return;
        }
        event_active(&to->ev_accept, EV_READ, 0);
        return;
    }
    px_conn_accept(w, fd, sa, (socklen_t)len);
}

/* accept(2) failed with something other than a retriable error. Out of
 * descriptors (EMFILE, ENFILE) the pending connections stay in the
 * backlog and the listening socket stays readable: libevent would call
 * accept again at once, forever, logging every failure. Instead the
 * connections waiting are refused now (accepted with the spare
 * descriptor and closed, so their clients learn at once), and accepting
 * pauses for PX_ACCEPT_BACKOFF_MS: the connections already open keep
 * being served, and new ones are accepted again once descriptors free. */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
    struct px_worker *w = arg;
    int e = EVUTIL_SOCKET_ERROR(), n = 0;
    struct timeval tv = {0, PX_ACCEPT_BACKOFF_MS * 1000};
    int64_t now = px_wall_s();

    if (e == EMFILE || e == ENFILE) {
        if (w->spare_fd >= 0) {
            close(w->spare_fd);
            w->spare_fd = -1;
        }
        while (n < PX_ACCEPT_SHED_MAX) {
            int fd = accept(evconnlistener_get_fd(l), NULL, NULL);

            if (fd < 0) {
                break;
            }
            close(fd);
            n++;
        }
        px_stats_inc(&w->stats.conns_refused, (uint64_t)n);
        w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (now != w->emfile_second) {
        w->emfile_second = now;
        px_logf(w->sh->log, PX_LOG_WARN,
                "worker %u: accept: %s; %d connections refused, not accepting for %d ms", w->id,
                strerror(e), n, PX_ACCEPT_BACKOFF_MS);
    }
    evconnlistener_disable(l);
    evtimer_add(&w->ev_relisten, &tv);
}

static void
on_relisten(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;

    (void)fd;
    (void)what;
    if (w->listener != NULL) {
        evconnlistener_enable(w->listener);
    }
}

static void
on_handoff(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    struct px_handoff batch[64];
    unsigned n = 0, i;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&w->hq_lock);
    while (w->hq_len > 0 && n < 64) {
        batch[n++] = w->hq[w->hq_head];
        w->hq_head = (w->hq_head + 1) % PX_HANDOFF_QUEUE;
        w->hq_len--;
    }
    if (w->hq_len > 0) {
        event_active(&w->ev_accept, EV_READ, 0);
    }
    pthread_mutex_unlock(&w->hq_lock);
    for (i = 0; i < n; i++) {
        if (w->draining) {
            close(batch[i].fd);
            continue;
        }
        px_conn_accept(w, batch[i].fd, (struct sockaddr *)&batch[i].ss, batch[i].len);
    }
}

static void
on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;

    (void)fd;
    (void)what;
    px_logf(w->sh->log, PX_LOG_WARN, "worker %u: grace period over, closing %u connections", w->id,
            w->nconns);
    while (w->conns != NULL) {
        px_conn_close(w->conns, "shutting down");
    }
    event_base_loopbreak(w->base);
}

static void
start_drain(struct px_worker *w)
{
    uint64_t grace = atomic_load(&w->grace_ns);
    struct timeval tv = {(time_t)(grace / PX_NS_PER_S), (suseconds_t)(grace % PX_NS_PER_S / 1000)};
    struct px_conn *c, *next;

    if (w->draining) {
        return;
    }
    w->draining = true;
    if (w->listener != NULL) {
        evconnlistener_free(w->listener);
        w->listener = NULL;
    }
    evtimer_del(&w->ev_relisten);
    px_pool_close_idle(w->pool);
    for (c = w->conns; c != NULL; c = next) {
        next = c->next;
        px_conn_drain(c);
    }
    evtimer_add(&w->ev_drain, &tv);
    maybe_done(w);
}

static void
on_cmd(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    uint32_t cmd = atomic_exchange(&w->cmd, 0);

    (void)fd;
    (void)what;
    if (cmd & PX_CMD_CONFIG) {
        struct cf_config *cf = atomic_exchange(&w->next_cf, NULL);

        if (cf != NULL) {
            struct cf_config *old = w->cf;

            w->cf = cf;
            px_pool_configure(w->pool, cf->upstream.connect_timeout_ns, cf->upstream.pool_size);
            cf_unref(old);
        }
    }
    if (cmd & PX_CMD_CREDS) {
        struct px_creds *cr = atomic_exchange(&w->next_creds, NULL);

        if (cr != NULL) {
            struct px_creds *old = w->creds;

            w->creds = cr;
            px_pool_set_ctx(w->pool, cr->upstream_tls);
            px_idcache_set_verifier(w->ids, cr->jwt != NULL ? px_identity_jwt_verify : NULL,
                                    cr->jwt);
            px_creds_unref(old);
        }
    }
    if (cmd & PX_CMD_DRAIN) {
        start_drain(w);
    }
}

struct px_worker *
px_worker_new(const struct px_worker_opts *o, char *err, size_t errlen)
{
    struct px_worker *w = calloc(1, sizeof(*w));
    struct px_pool_opts po;

    if (w == NULL) {
        px_errf(err, errlen, "out of memory");
        if (o->listen_fd != -1) {
            close(o->listen_fd);
        }
        return NULL;
    }
    w->id = o->id;
    w->sh = o->shared;
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    w->cf = cf_ref(o->cf);
    w->rng = o->seed;
    w->peers = o->peers;
    w->npeers = o->npeers;
    pthread_mutex_init(&w->hq_lock, NULL);
    px_http_pool_init(&w->heads, PX_HEADS_KEPT);
    {
        struct event_config *ec = event_config_new();

        /* Coalesce the epoll_ctl calls a loop iteration makes: every
         * response arms and disarms write events on two sockets. */
        if (ec != NULL) {
            event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
            w->base = event_base_new_with_config(ec);
            event_config_free(ec);
        }
    }
    if (w->base == NULL) {
        px_errf(err, errlen, "event_base_new failed");
        goto fail;
    }
    if (o->listen_fd != -1) {
        w->listener =
            evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, -1, o->listen_fd);
        if (w->listener == NULL) {
            px_errf(err, errlen, "evconnlistener_new failed");
            close(o->listen_fd);
            goto fail;
        }
        evconnlistener_set_error_cb(w->listener, on_accept_error);
    }
    evtimer_assign(&w->ev_relisten, w->base, on_relisten, w);
    event_assign(&w->ev_cmd, w->base, -1, EV_PERSIST, on_cmd, w);
    event_add(&w->ev_cmd, NULL);
    event_assign(&w->ev_accept, w->base, -1, EV_PERSIST, on_handoff, w);
    event_add(&w->ev_accept, NULL);
    evtimer_assign(&w->ev_drain, w->base, on_drain_deadline, w);
    memset(&po, 0, sizeof(po));
    po.base = w->base;
    po.ctx = w->sh->upstream_tls;
    po.servers = w->sh->upstreams;
    po.nservers = w->sh->nupstreams;
    po.server_name = w->cf->upstream.server_name;
    po.connect_timeout_ns = w->cf->upstream.connect_timeout_ns;
    po.max_idle = w->cf->upstream.pool_size;
    po.stats = &w->stats;
    po.log = w->sh->log;
    w->pool = px_pool_new(&po);
    w->ids = px_idcache_new(PX_IDCACHE, w->sh->jwt != NULL ? px_identity_jwt_verify : NULL,
                            w->sh->jwt, o->seed ^ 0x5bd1e995u);
    if (w->pool == NULL || w->ids == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    return w;

fail:
    px_worker_free(w);
    return NULL;
}

static void *
worker_main(void *arg)
{
    struct px_worker *w = arg;

    /* A worker fed by handoffs has no socket of its own to wait on: its
     * loop runs until px_worker_drain breaks it, not until it is empty. */
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    atomic_store(&w->finished, true);
    return NULL;
}

int
px_worker_start(struct px_worker *w, char *err, size_t errlen)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);

    if (rc != 0) {
        px_errf(err, errlen, "pthread_create: %s", strerror(rc));
        return -1;
    }
    w->started = true;
    return 0;
}

void
px_worker_set_config(struct px_worker *w, struct cf_config *cf)
{
    struct cf_config *old = atomic_exchange(&w->next_cf, cf_ref(cf));

    cf_unref(old); /* published but never picked up */
    atomic_fetch_or(&w->cmd, PX_CMD_CONFIG);
    event_active(&w->ev_cmd, EV_READ, 0);
}

void
px_worker_set_creds(struct px_worker *w, struct px_creds *creds)
{
    px_creds_unref(atomic_exchange(&w->next_creds, px_creds_ref(creds)));
    atomic_fetch_or(&w->cmd, PX_CMD_CREDS);
    event_active(&w->ev_cmd, EV_READ, 0);
}

bool
px_worker_finished(struct px_worker *w)
{
    return atomic_load(&w->finished);
}

void
px_worker_drain(struct px_worker *w, uint64_t grace_ns)
{
    atomic_store(&w->grace_ns, grace_ns);
    atomic_fetch_or(&w->cmd, PX_CMD_DRAIN);
    event_active(&w->ev_cmd, EV_READ, 0);
}

void
px_worker_join(struct px_worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void
px_worker_free(struct px_worker *w)
{
    if (w == NULL) {
        return;
    }
    while (w->conns != NULL) {
        px_conn_close(w->conns, "worker freed");
    }
    if (w->listener != NULL) {
        evconnlistener_free(w->listener);
    }
    pthread_mutex_lock(&w->hq_lock);
    while (w->hq_len > 0) {
        close(w->hq[w->hq_head].fd);
        w->hq_head = (w->hq_head + 1) % PX_HANDOFF_QUEUE;
        w->hq_len--;
    }
    pthread_mutex_unlock(&w->hq_lock);
    px_pool_free(w->pool);
    px_idcache_free(w->ids);
    if (w->base != NULL) {
        event_del(&w->ev_cmd);
        event_del(&w->ev_accept);
        event_del(&w->ev_drain);
        event_del(&w->ev_relisten);
        event_base_free(w->base);
    }
    if (w->spare_fd >= 0) {
        close(w->spare_fd);
    }
    px_http_pool_fini(&w->heads);
    cf_unref(atomic_exchange(&w->next_cf, NULL));
    cf_unref(w->cf);
    px_creds_unref(atomic_exchange(&w->next_creds, NULL));
    px_creds_unref(w->creds);
    pthread_mutex_destroy(&w->hq_lock);
    free(w);
}

const struct px_stats *
px_worker_stats(const struct px_worker *w)
{
    return &w->stats;
}
