/* Upstream health probe: see px_probe.h. One probe at a time, one
 * connection per attempt, closed after the status line: the apiserver's
 * /readyz answers in one short response. */
#include "px_probe.h"

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

#include "cf.h"
#include "px_clock.h"
#include "px_creds.h"
#include "px_err.h"
#include "px_log.h"
#include "px_net.h"
#include "px_state.h"
#include "px_tls.h"

#define PROBE_LINE_MAX 1024 /* a status line longer than this is not an apiserver's */

struct px_probe {
    struct event_base *base;
    struct px_state *st;
    struct px_addr servers[CF_MAX_UPSTREAM];
    size_t nservers;
    char server_name[256];
    struct event *timer;    /* next round */
    struct event *deadline; /* of the attempt in progress */
    struct event *conn_ev;  /* TCP connect in progress */
    struct bufferevent *bev;
    struct px_creds *creds; /* held by the attempt in progress */
    int fd;
    size_t server; /* attempted now */
    uint64_t started_ns;
    char error[256];
    bool logged_down; /* "down" was logged; log the next "up" */
};

static void attempt(struct px_probe *p);

static struct timeval
tv_of(uint64_t ns)
{
    struct timeval tv = {(time_t)(ns / PX_NS_PER_S), (suseconds_t)(ns % PX_NS_PER_S / 1000)};

    return tv;
}

static void
close_attempt(struct px_probe *p)
{
    if (p->bev != NULL) {
        bufferevent_free(p->bev); /* closes the socket, frees the SSL */
        p->bev = NULL;
    } else if (p->fd != -1) {
        close(p->fd);
    }
    p->fd = -1;
    if (p->conn_ev != NULL) {
        event_free(p->conn_ev);
        p->conn_ev = NULL;
    }
    if (p->deadline != NULL) {
        event_del(p->deadline);
    }
    px_tls_clear_errors();
}

/* The round is over: record the verdict and schedule the next one. */
static void
finish(struct px_probe *p, bool up)
{
    struct px_state *st = p->st;
    struct cf_config *cf = px_state_config(st);
    uint64_t took = px_now_ns() - p->started_ns;
    struct timeval tv = tv_of(cf->upstream.health_interval_ns);
    int was = atomic_load(&st->upstream_up);

    close_attempt(p);
    px_creds_unref(p->creds);
    p->creds = NULL;
    atomic_store(&st->probe_ns, took);
    atomic_fetch_add(&st->probes[up ? 0 : 1], 1);
    pthread_mutex_lock(&st->lock);
    snprintf(st->probe_error, sizeof(st->probe_error), "%s", up ? "" : p->error);
    pthread_mutex_unlock(&st->lock);
    atomic_store(&st->upstream_up, up ? 1 : 0);
    if (!up && (was != 0 || !p->logged_down)) {
        px_log_event(
            st->log, PX_LOG_WARN, "upstream health probe failed",
            (struct px_log_field[]){{"path", cf->upstream.health_path, 0}, {"error", p->error, 0}},
            2);
        p->logged_down = true;
    } else if (up && was != 1) {
        px_log_event(st->log, PX_LOG_INFO, "upstream healthy",
                     (struct px_log_field[]){{"server", p->servers[p->server].text, 0},
                                             {"latency_us", NULL, (int64_t)(took / 1000)}},
                     2);
        p->logged_down = false;
    }
    cf_unref(cf);
    evtimer_add(p->timer, &tv);
}

/* This server failed with p->error: the next, or the round is lost. */
static void
fail(struct px_probe *p)
{
    close_attempt(p);
    p->server++;
    if (p->server >= p->nservers) {
        finish(p, false);
        return;
    }
    attempt(p);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct px_probe *p = arg;

    (void)fd;
    (void)what;
    px_errf(p->error, sizeof(p->error), "%s: no answer within upstream.connect_timeout",
            p->servers[p->server].text);
    fail(p);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct px_probe *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_CRLF);
    char line[PROBE_LINE_MAX];
    int status = 0;
    size_t n;

    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > PROBE_LINE_MAX) {
            px_errf(p->error, sizeof(p->error), "%s: malformed status line",
                    p->servers[p->server].text);
            fail(p);
        }
        return;
    }
    n = (size_t)eol.pos < sizeof(line) - 1 ? (size_t)eol.pos : sizeof(line) - 1;
    evbuffer_copyout(in, line, n);
    line[n] = '\0';
    if (sscanf(line, "HTTP/1.%*1[01] %3d", &status) != 1) {
        px_errf(p->error, sizeof(p->error), "%s: malformed status line",
                p->servers[p->server].text);
        fail(p);
        return;
    }
    if (status != 200) {
        px_errf(p->error, sizeof(p->error), "%s: answered %d", p->servers[p->server].text, status);
        fail(p);
        return;
    }
    finish(p, true);
}

static void
on_event(struct bufferevent *bev, short events, void *arg)
{
    struct px_probe *p = arg;

    if (events & BEV_EVENT_CONNECTED) {
        struct cf_config *cf = px_state_config(p->st);

        /* With the front-proxy certificate and no X-Remote-User, the
         * apiserver's union goes on to x509, which refuses a certificate
         * of the front-proxy CA: 401. The probe is asserted as the
         * anonymous user, as floodgate asserts anonymous clients (and as
         * kube-aggregator does); RBAC's defaults let it read /readyz. */
        evbuffer_add_printf(bufferevent_get_output(bev),
                            "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: floodgate-probe\r\n"
                            "Accept: text/plain\r\n%sConnection: close\r\n\r\n",
                            cf->upstream.health_path, p->server_name,
                            cf->upstream.client_cert[0] != '\0'
                                ? "X-Remote-User: system:anonymous\r\n"
                                  "X-Remote-Group: system:unauthenticated\r\n"
                                : "");
        cf_unref(cf);
        return;
    }
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char why[PX_ERRLEN];

        if (e != 0) {
            px_tls_error_string(e, why, sizeof(why), "TLS");
        } else {
            snprintf(why, sizeof(why), "%s",
                     (events & BEV_EVENT_EOF) ? "connection closed before a status line"
                                              : strerror(errno != 0 ? errno : ECONNRESET));
        }
        px_errf(p->error, sizeof(p->error), "%s: %s", p->servers[p->server].text, why);
        fail(p);
    }
}

static void
on_connected(evutil_socket_t fd, short what, void *arg)
{
    struct px_probe *p = arg;
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    char err[PX_ERRLEN];
    SSL *ssl;

    (void)what;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1) {
        soerr = errno;
    }
    if (soerr != 0) {
        px_errf(p->error, sizeof(p->error), "%s: %s", p->servers[p->server].text, strerror(soerr));
        fail(p);
        return;
    }
    event_free(p->conn_ev);
    p->conn_ev = NULL;
    ssl = px_tls_client_ssl(p->creds->upstream_tls, p->server_name, err, sizeof(err));
    if (ssl == NULL) {
        px_errf(p->error, sizeof(p->error), "%s: %s", p->servers[p->server].text, err);
        fail(p);
        return;
    }
    p->bev = bufferevent_openssl_socket_new(p->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (p->bev == NULL) {
        SSL_free(ssl);
        px_errf(p->error, sizeof(p->error), "out of memory");
        fail(p);
        return;
    }
    p->fd = -1;
    bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
    bufferevent_setcb(p->bev, on_read, NULL, on_event, p);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

static void
attempt(struct px_probe *p)
{
    struct cf_config *cf = px_state_config(p->st);
    struct timeval tv = tv_of(cf->upstream.connect_timeout_ns);
    char err[PX_ERRLEN];

    cf_unref(cf);
    errno = 0;
    p->fd = px_net_connect(&p->servers[p->server], err, sizeof(err));
    if (p->fd == -1) {
        px_errf(p->error, sizeof(p->error), "%s", err);
        fail(p);
        return;
    }
    p->conn_ev = event_new(p->base, p->fd, EV_WRITE, on_connected, p);
    if (p->conn_ev == NULL) {
        px_errf(p->error, sizeof(p->error), "out of memory");
        fail(p);
        return;
    }
    event_add(p->conn_ev, NULL);
    evtimer_add(p->deadline, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct px_probe *p = arg;

    (void)fd;
    (void)what;
    p->creds = px_state_creds(p->st);
    p->server = 0;
    p->started_ns = px_now_ns();
    p->error[0] = '\0';
    if (p->nservers == 0) {
        px_errf(p->error, sizeof(p->error), "no upstream servers");
        finish(p, false);
        return;
    }
    attempt(p);
}

struct px_probe *
px_probe_new(struct event_base *base, struct px_state *st, char *err, size_t errlen)
{
    struct px_probe *p = calloc(1, sizeof(*p));
    struct cf_config *cf = px_state_config(st);
    size_t i;

    if (p == NULL) {
        px_errf(err, errlen, "out of memory");
        cf_unref(cf);
        return NULL;
    }
    p->base = base;
    p->st = st;
    p->fd = -1;
    snprintf(p->server_name, sizeof(p->server_name), "%s", cf->upstream.server_name);
    for (i = 0; i < cf->upstream.nservers && i < CF_MAX_UPSTREAM; i++) {
        if (px_net_parse(cf->upstream.servers[i], &p->servers[i], err, errlen) != 0) {
            goto fail;
        }
    }
    p->nservers = i;
    p->timer = evtimer_new(base, on_timer, p);
    p->deadline = evtimer_new(base, on_deadline, p);
    if (p->timer == NULL || p->deadline == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    cf_unref(cf);
    return p;

fail:
    cf_unref(cf);
    px_probe_free(p);
    return NULL;
}

void
px_probe_start(struct px_probe *p)
{
    struct timeval now = {0, 0};

    evtimer_add(p->timer, &now);
}

void
px_probe_free(struct px_probe *p)
{
    if (p == NULL) {
        return;
    }
    close_attempt(p);
    px_creds_unref(p->creds);
    if (p->timer != NULL) {
        event_free(p->timer);
    }
    if (p->deadline != NULL) {
        event_free(p->deadline);
    }
    free(p);
}
