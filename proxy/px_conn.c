/* Downstream connections: one explicit state machine per client (see enum
 * px_conn_state), requests read and decided one at a time (pipelined ones
 * wait in the input buffer), and px_conn_close the only place a
 * connection is torn down. Every request that got a decision ends in
 * px_conn_finish, which releases its ticket once whatever path it took. */
#include "px_core.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "px_clock.h"
#include "px_creds.h"
#include "px_err.h"
#include "px_headers.h"
#include "px_log.h"
#include "px_rejlog.h"
#include "px_tls.h"

static const char *const state_names[] = {"handshake", "idle",   "head",    "delayed", "connecting",
                                          "forward",   "tunnel", "discard", "closing", "closed"};

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short events, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

void
px_conn_log(struct px_conn *c, enum px_log_level level, const char *msg, const char *detail)
{
    char id[24], port[8];

    if (!px_log_enabled(c->w->sh->log, level)) {
        return;
    }
    snprintf(id, sizeof(id), "%u.%llu", c->w->id, (unsigned long long)c->id);
    snprintf(port, sizeof(port), "%u", (unsigned)c->port);
    px_log_event(c->w->sh->log, level, msg,
                 (struct px_log_field[]){{"c", id, 0},
                                         {"peer", c->ip, 0},
                                         {"port", port, 0},
                                         {"state", state_names[c->state], 0},
                                         {"detail", detail != NULL ? detail : "", 0}},
                 5);
}

void
px_conn_arm(struct px_conn *c, uint64_t after_ns)
{
    struct timeval tv = {(time_t)(after_ns / PX_NS_PER_S),
                         (suseconds_t)(after_ns % PX_NS_PER_S / 1000)};

    evtimer_del(&c->timer);
    evtimer_add(&c->timer, &tv);
}

static struct px_http_limits
request_limits(const struct px_worker *w)
{
    struct px_http_limits l = {w->cf->listen.max_header_bytes, w->cf->listen.max_body_bytes};

    return l;
}

void
px_conn_accept(struct px_worker *w, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct px_conn *c = NULL;
    struct px_http_limits lim = request_limits(w);
    SSL *ssl = NULL;
    int one = 1;

    (void)len;
    /* max_connections: beyond it a connection is closed at once, before
     * any TLS work, so a flood costs an accept and a close. */
    if (w->draining || atomic_fetch_add(&w->sh->conns, 1) >= w->cf->listen.max_connections) {
        if (!w->draining) {
            atomic_fetch_sub(&w->sh->conns, 1);
        }
        close(fd);
        px_stats_inc(&w->stats.conns_refused, 1);
        return;
    }
    c = calloc(1, sizeof(*c));
    ssl = c != NULL ? SSL_new(w->creds != NULL ? w->creds->server_tls : w->sh->server_tls) : NULL;
    if (ssl == NULL) {
        goto fail;
    }
    SSL_set_read_ahead(ssl, 1);
    c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        goto fail;
    }
    c->w = w;
    c->id = ++w->next_conn_id;
    px_net_ip(sa, c->ip, sizeof(c->ip));
    if (sa->sa_family == AF_INET) {
        c->port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        c->port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->reading = true;
    px_http_init(&c->req, true, &px_relay_request_cbs, c, &w->heads, &lim);
    evtimer_assign(&c->timer, w->base, on_timer, c);
    c->state = PX_CONN_HANDSHAKE;
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
    w->nconns++;
    px_stats_inc(&w->stats.conns_accepted, 1);
    px_stats_gauge(&w->stats.conns_open, 1);
    /* The handshake counts against the header timeout: a client that
     * connects and says nothing is a slowloris too. */
    px_conn_arm(c, w->cf->listen.header_timeout_ns);
    return;

fail:
    if (c != NULL && c->bev != NULL) {
        bufferevent_free(c->bev); /* frees ssl, closes fd */
    } else {
        SSL_free(ssl);
        close(fd);
    }
    free(c);
    atomic_fetch_sub(&w->sh->conns, 1);
    px_stats_inc(&w->stats.conns_refused, 1);
}

void
px_conn_leave(struct px_conn *c)
{
    if (--c->depth != 0) {
        return;
    }
    if (c->dead) {
        free(c);
        return;
    }
    px_flush(c->bev);
    px_read_rest(c->bev);
    /* SSL_MODE_RELEASE_BUFFERS misses a record buffer OpenSSL 3 keeps
     * after TLS 1.3 post-handshake messages: give back whatever is empty
     * (4 KiB less per idle watch). A no-op while bytes are pending. */
    SSL_free_buffers(bufferevent_openssl_get_ssl(c->bev));
    if (c->up != NULL && c->up->state == PX_UP_ACTIVE) {
        px_flush(c->up->bev);
        px_read_rest(c->up->bev);
        SSL_free_buffers(bufferevent_openssl_get_ssl(c->up->bev));
    }
}

void
px_conn_finish(struct px_conn *c, int status, uint64_t now)
{
    struct px_worker *w = c->w;
    uint64_t took = now > c->start_ns ? now - c->start_ns : 0;

    if (!c->in_request) {
        return;
    }
    c->in_request = false;
    /* The one release of this request's ticket (a zeroed ticket, as for a
     * rejection, is a no-op in the limiter). */
    lim_release(w->sh->lim, &c->ticket, status, c->resp_bytes, took, now);
    px_stats_request(&w->stats, c->class_slot, (enum lim_verb)c->verb,
                     (enum px_decision)c->decision, c->status, took);
    px_stats_inc(&w->stats.bytes_in, c->resp_bytes);
}

void
px_conn_close(struct px_conn *c, const char *reason)
{
    struct px_worker *w = c->w;

    if (c->state == PX_CONN_CLOSED) {
        return;
    }
    if (c->in_request) {
        /* 499: the client's request ended without a complete answer
         * (nginx's code for it); the limiter learns nothing from it. */
        px_conn_finish(c, c->resp_done ? c->status : 499, px_now_ns());
    }
    px_conn_log(c, PX_LOG_DEBUG, "connection closed", reason);
    if (c->up != NULL) {
        px_up_release(c->up, false);
        c->up = NULL;
    }
    if (c->fwd != NULL) {
        evbuffer_free(c->fwd);
        c->fwd = NULL;
    }
    px_http_fini(&c->req);
    evtimer_del(&c->timer);
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    c->state = PX_CONN_CLOSED;
    px_worker_conn_gone(w, c);
    if (c->depth == 0) {
        free(c);
    } else {
        c->dead = true;
    }
}

static void
begin_closing(struct px_conn *c)
{
    c->state = PX_CONN_CLOSING;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        px_conn_close(c, "response sent");
        return;
    }
    /* Keep reading (and dropping) what the client still sends while the
     * last response drains, so that closing does not reset it away. */
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    c->down_paused = false;
    px_conn_gate(c);
    px_conn_arm(c, PX_LINGER_NS);
}

void
px_conn_drain(struct px_conn *c)
{
    if (c->state == PX_CONN_IDLE || c->state == PX_CONN_HANDSHAKE) {
        px_conn_close(c, "shutting down");
        return;
    }
    c->close_after = true;
    if (c->is_watch) {
        px_conn_enter(c);
        (void)px_relay_end_watch(c, px_now_ns());
        px_conn_leave(c);
    }
}

void
px_conn_request_end(struct px_conn *c, uint64_t now, bool up_reusable)
{
    px_conn_finish(c, c->status, now);
    if (c->up != NULL) {
        px_up_release(c->up, up_reusable);
        c->up = NULL;
    }
    if (c->fwd != NULL) {
        evbuffer_free(c->fwd);
        c->fwd = NULL;
    }
    px_http_head_done(&c->req);
    evtimer_del(&c->timer);
    c->up_paused = c->down_paused = false;
    if (c->close_after || !c->req_done || c->w->draining || px_http_upgraded(&c->req)) {
        begin_closing(c);
        return;
    }
    px_http_next(&c->req);
    px_http_set_limits(&c->req, &(struct px_http_limits){c->w->cf->listen.max_header_bytes,
                                                         c->w->cf->listen.max_body_bytes});
    c->state = PX_CONN_IDLE;
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    px_conn_arm(c, c->w->cf->listen.idle_timeout_ns);
    px_conn_pump(c, now); /* a pipelined request may be waiting */
    px_conn_gate(c);
}

void
px_conn_gate(struct px_conn *c)
{
    bool want;

    if (c->state == PX_CONN_CLOSED) {
        return;
    }
    want = !c->down_paused && evbuffer_get_length(bufferevent_get_input(c->bev)) < PX_READ_MAX;
    if (want != c->reading) {
        c->reading = want;
        px_read_on(c->bev, want);
    }
}

/* Whether the connection can stay open after an early answer: the rest of
 * the request must be droppable within PX_DISCARD_MAX. */
static bool
can_keep(const struct px_conn *c)
{
    if (c->close_after || c->w->draining || c->req.phase == PX_HTTP_FAILED ||
        c->req.phase == PX_HTTP_IN_HEAD || c->req.phase == PX_HTTP_IDLE) {
        return false;
    }
    if (c->req_done) {
        return true;
    }
    if (c->state == PX_CONN_FORWARD || c->is_upgrade) {
        return false; /* part of the body may already be upstream */
    }
    if (!c->has_body) {
        return true;
    }
    /* A client waiting for 100 Continue will not send the body. */
    return !c->expect_continue && !c->chunked_req && c->body_left <= PX_DISCARD_MAX;
}

/* After an early answer: drop the rest of the request, or close. */
static void
after_early_answer(struct px_conn *c, bool keep, uint64_t now)
{
    c->head_sent = true;
    c->resp_done = true;
    if (!keep) {
        c->close_after = true;
    }
    if (keep && !c->req_done) {
        if (c->up != NULL) {
            px_up_release(c->up, false);
            c->up = NULL;
        }
        c->state = PX_CONN_DISCARD;
        px_http_resume(&c->req);
        px_conn_arm(c, c->w->cf->listen.header_timeout_ns);
        px_conn_pump(c, now);
        return;
    }
    px_conn_request_end(c, now, false);
}

static void
start_request(struct px_conn *c, uint64_t now)
{
    c->in_request = true;
    c->start_ns = now;
    c->status = 0;
    c->resp_bytes = 0;
    c->decision = PX_DEC_NONE;
    c->class_slot = PX_STATS_CLASSES - 1;
    c->verb = LIM_VERB_UNKNOWN;
    memset(&c->ticket, 0, sizeof(c->ticket));
}

void
px_conn_fail(struct px_conn *c, int code, const char *msg, uint64_t now)
{
    bool keep = can_keep(c);

    if (!c->in_request) {
        start_request(c, now); /* counted, with no decision */
    }
    px_conn_log(c, PX_LOG_DEBUG, "request failed", msg);
    if (px_reject_status(bufferevent_get_output(c->bev), code, msg, px_worker_date(c->w), !keep,
                         0) != 0) {
        px_conn_close(c, "out of memory");
        return;
    }
    c->status = code;
    after_early_answer(c, keep, now);
}

static void
reject(struct px_conn *c, const struct lim_decision *d, uint64_t now)
{
    struct px_worker *w = c->w;
    bool keep = can_keep(c);
    const char *reason = lim_reason_name(d->reason);

    if (px_log_enabled(w->sh->log, PX_LOG_INFO) &&
        (w->sh->rejlog != NULL ? px_rejlog_take(w->sh->rejlog, c->class_slot, px_wall_s())
                               : px_worker_log_reject(w))) {
        char retry[16];

        snprintf(retry, sizeof(retry), "%u", (unsigned)d->retry_after_s);
        px_log_event(w->sh->log, PX_LOG_INFO, "rejected",
                     (struct px_log_field[]){{"user", w->who.id.user, 0},
                                             {"class", d->class_name, 0},
                                             {"reason", reason, 0},
                                             {"verb", lim_verb_name(w->req.verb), 0},
                                             {"path", w->req.path, 0},
                                             {"retry_after", retry, 0}},
                     6);
    }
    if (px_reject_429(bufferevent_get_output(c->bev), d->retry_after_s, d->class_name, reason,
                      px_worker_date(w), !keep) != 0) {
        px_conn_close(c, "out of memory");
        return;
    }
    c->status = 429;
    after_early_answer(c, keep, now);
}

/* The limiter's class slot named <name>: a rejection carries no ticket to
 * read it from. Linear in the classes, on the rejection path only. */
static uint32_t
class_slot_of(const struct px_worker *w, const char *name)
{
    size_t i, n = lim_class_slot_count(w->sh->lim);

    for (i = 0; name != NULL && i < n; i++) {
        if (strcmp(lim_class_slot_name(w->sh->lim, i), name) == 0) {
            return (uint32_t)i;
        }
    }
    return PX_STATS_CLASSES - 1;
}

/* A request head is complete: classify, identify, decide. */
static void
on_head(struct px_conn *c, uint64_t now)
{
    struct px_worker *w = c->w;
    struct cf_config *cf = w->cf;
    struct px_http_head *h = c->req.head;
    const char *method = h->buf + h->method_off, *authz = NULL;
    size_t alen = 0;
    struct lim_decision d;
    char err[256];

    start_request(c, now);
    evtimer_del(&c->timer);
    c->req_done = c->resp_done = c->head_sent = false;
    c->is_watch = false;
    c->is_head = llhttp_get_method(&c->req.parser) == HTTP_HEAD;
    c->has_body = h->chunked || h->content_length > 0;
    c->chunked_req = h->chunked;
    c->body_left = h->content_length;
    c->expect_continue = h->expect_continue && c->has_body && h->http_minor == 1;
    c->is_upgrade = h->is_upgrade;
    c->close_after = h->conn_close || w->draining;
    c->retryable = !c->has_body && !c->is_upgrade &&
                   (c->is_head || llhttp_get_method(&c->req.parser) == HTTP_GET);
    if (lim_request_parse(&w->req, method, h->method_len, h->buf + h->target_off, h->target_len,
                          err, sizeof(err)) != 0) {
        px_conn_fail(c, 400, err, now);
        return;
    }
    c->verb = (uint8_t)w->req.verb;
    c->is_watch = w->req.verb == LIM_VERB_WATCH;
    c->long_running = w->req.is_long_running;
    if (h->authorization >= 0) {
        const struct px_http_field *f = &h->fields[h->authorization];

        authz = h->buf + f->value_off;
        alen = f->value_len;
    }
    if (px_identity_resolve(w->ids, bufferevent_openssl_get_ssl(c->bev), authz, alen,
                            px_identity_flags(&cf->auth), px_wall_s(), &w->who) != PX_AUTH_OK) {
        px_conn_fail(c, 401, w->who.why != NULL ? w->who.why : "Unauthorized", now);
        return;
    }
    lim_decide(w->sh->lim, cf->policy, &w->who.id, &w->req, now, px_worker_rand(w), &d);
    c->ticket = d.ticket;
    c->class_slot = d.ticket.class_slot;
    if (d.verdict == LIM_REJECT) {
        c->decision = PX_DEC_REJECT;
        c->class_slot = class_slot_of(w, d.class_name);
        reject(c, &d, now);
        return;
    }
    c->decision = d.verdict == LIM_DELAY ? PX_DEC_DELAY : d.dry_run ? PX_DEC_DRY_RUN : PX_DEC_ADMIT;
    /* The identity scratch belongs to the next decision: the upstream head
     * is built now, even when the request waits. */
    c->fwd = evbuffer_new();
    /* Without a front-proxy certificate nothing can be asserted: the
     * client's own credentials go through as they are. */
    if (c->fwd == NULL ||
        px_headers_request(c->fwd, h, cf->upstream.client_cert[0] != '\0' ? &w->who.assert : NULL,
                           c->ip) != 0) {
        px_conn_fail(c, 500, "out of memory", now);
        return;
    }
    px_http_head_done(&c->req);
    if (d.verdict == LIM_DELAY) {
        c->state = PX_CONN_DELAYED;
        px_conn_arm(c, d.delay_ns);
        return;
    }
    px_relay_forward(c, now);
}

static void
on_request_read(struct px_conn *c, uint64_t now)
{
    c->req_done = true;
    if (c->state == PX_CONN_FORWARD) {
        px_relay_request_done(c, now);
    } else if (c->state == PX_CONN_DISCARD) {
        px_conn_request_end(c, now, false);
    }
}

static void
on_parse_error(struct px_conn *c, uint64_t now)
{
    int code = c->req.err_status;

    if (code == 0 || c->head_sent) {
        px_conn_close(c, c->req.err_msg);
        return;
    }
    /* Framing in doubt: answer and close, never forward. */
    c->close_after = true;
    if (c->up != NULL) {
        px_up_release(c->up, false);
        c->up = NULL;
    }
    px_conn_fail(c, code, c->req.err_msg, now);
}

static void
pump_once(struct px_conn *c, uint64_t now)
{
    for (;;) {
        struct evbuffer *in;
        struct evbuffer_iovec v;
        size_t len, used = 0;
        enum px_http_result r;
        bool body;

        switch (c->state) {
        case PX_CONN_IDLE:
        case PX_CONN_HEAD:
            body = false;
            break;
        case PX_CONN_FORWARD:
            if (c->req_done || c->down_paused) {
                return;
            }
            body = true;
            break;
        case PX_CONN_DISCARD:
            if (c->req_done) {
                return;
            }
            body = true;
            break;
        default:
            return;
        }
        in = bufferevent_get_input(c->bev);
        len = evbuffer_get_length(in);
        if (len == 0 && !body) {
            return;
        }
        if (c->state == PX_CONN_IDLE) {
            c->state = PX_CONN_HEAD;
            px_conn_arm(c, c->w->cf->listen.header_timeout_ns);
        }
        if (len > 0) {
            evbuffer_peek(in, -1, NULL, &v, 1);
        } else {
            /* A request without a body ends on no more bytes once the
             * parser resumes after its head. */
            v.iov_base = (void *)"";
            v.iov_len = 0;
        }
        r = px_http_feed(&c->req, v.iov_base, v.iov_len, &used);
        if (used > 0) {
            evbuffer_drain(in, used);
        }
        switch (r) {
        case PX_HTTP_MORE:
            if (len == 0) {
                return;
            }
            break;
        case PX_HTTP_HEAD:
            on_head(c, now);
            break;
        case PX_HTTP_DONE:
            on_request_read(c, now);
            break;
        case PX_HTTP_ERROR:
            on_parse_error(c, now);
            return;
        }
    }
}

void
px_conn_pump(struct px_conn *c, uint64_t now)
{
    if (c->in_pump) {
        c->pump_again = true;
        return;
    }
    c->in_pump = true;
    do {
        c->pump_again = false;
        pump_once(c, now);
    } while (c->pump_again && c->state != PX_CONN_CLOSED);
    c->in_pump = false;
    px_conn_gate(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;

    px_conn_enter(c);
    switch (c->state) {
    case PX_CONN_TUNNEL:
        px_relay_tunnel_client(c);
        break;
    case PX_CONN_CLOSING:
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        break;
    case PX_CONN_CLOSED:
        break;
    default:
        px_conn_pump(c, px_now_ns());
        break;
    }
    px_conn_gate(c);
    px_conn_leave(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;
    size_t pending = evbuffer_get_length(bufferevent_get_output(bev));

    px_conn_enter(c);
    if (c->state == PX_CONN_CLOSING && pending == 0) {
        px_conn_close(c, "response sent");
    } else if (c->up_paused && pending <= PX_LWM) {
        px_relay_client_drained(c, px_now_ns());
    }
    px_conn_leave(c);
}

static void
on_event(struct bufferevent *bev, short events, void *arg)
{
    struct px_conn *c = arg;

    px_conn_enter(c);
    if (events & BEV_EVENT_CONNECTED) {
        if (c->state == PX_CONN_HANDSHAKE) {
            SSL *ssl = bufferevent_openssl_get_ssl(bev);

            px_stats_inc(&c->w->stats.tls_handshakes, 1);
            if (ssl != NULL && SSL_session_reused(ssl)) {
                px_stats_inc(&c->w->stats.tls_resumed, 1);
            }
            c->state = PX_CONN_IDLE;
            px_conn_arm(c, c->w->cf->listen.idle_timeout_ns);
            px_conn_pump(c, px_now_ns());
        }
    } else if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (c->state == PX_CONN_HANDSHAKE) {
            unsigned long e = bufferevent_get_openssl_error(bev);
            char err[PX_ERRLEN] = "connection closed";

            if (e != 0) {
                px_tls_error_string(e, err, sizeof(err), "TLS handshake");
            }
            px_tls_clear_errors();
            px_stats_inc(&c->w->stats.tls_failures, 1);
            px_conn_close(c, err);
        } else {
            px_tls_clear_errors();
            px_conn_close(c,
                          (events & BEV_EVENT_EOF) ? "client closed" : "client connection error");
        }
    }
    px_conn_leave(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct px_conn *c = arg;
    uint64_t now = px_now_ns();

    (void)fd;
    (void)what;
    px_conn_enter(c);
    switch (c->state) {
    case PX_CONN_HANDSHAKE:
        px_stats_inc(&c->w->stats.tls_failures, 1);
        px_conn_close(c, "TLS handshake timed out");
        break;
    case PX_CONN_IDLE:
        px_conn_close(c, "idle timeout");
        break;
    case PX_CONN_HEAD:
        /* Slowloris: the head did not arrive within header_timeout. */
        c->close_after = true;
        px_conn_fail(c, 408, "request header not received in time", now);
        break;
    case PX_CONN_DELAYED:
        px_relay_forward(c, now);
        break;
    case PX_CONN_FORWARD:
        px_relay_timeout(c, now);
        break;
    case PX_CONN_DISCARD:
        px_conn_close(c, "request body not received in time");
        break;
    case PX_CONN_CLOSING:
        px_conn_close(c, "client did not read the last response");
        break;
    default:
        break;
    }
    px_conn_leave(c);
}
