/* The forwarding half of a request: the request body streamed to the
 * apiserver as it arrives (chunked bodies re-framed, so nothing ambiguous
 * crosses), the response parsed with llhttp only for framing and byte
 * counts and streamed back, each direction stopped at PX_HWM and resumed
 * at PX_LWM so a slow reader costs a bounded buffer, and 101 Switching
 * Protocols turned into a byte tunnel. */
#include "px_core.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "px_clock.h"
#include "px_err.h"
#include "px_headers.h"
#include "px_log.h"

static void up_read(struct bufferevent *bev, void *arg);
static void up_write(struct bufferevent *bev, void *arg);
static void up_event(struct bufferevent *bev, short events, void *arg);
static void start(struct px_conn *c, uint64_t now);

/* --- request body: client -> apiserver --- */

static struct evbuffer *
up_out(struct px_conn *c)
{
    return c->state == PX_CONN_FORWARD && c->up != NULL ? bufferevent_get_output(c->up->bev) : NULL;
}

/* The apiserver reads slower than the client sends: stop reading the
 * client until the upstream output drains to PX_LWM (up_write). */
static void
check_upstream_room(struct px_conn *c, struct evbuffer *out)
{
    if (evbuffer_get_length(out) >= PX_HWM && !c->down_paused) {
        c->down_paused = true;
        px_conn_gate(c);
        bufferevent_setwatermark(c->up->bev, EV_WRITE, PX_LWM, 0);
    }
}

static enum px_http_act
req_head(void *arg, struct px_http_head *h)
{
    (void)arg;
    (void)h;
    return PX_HTTP_PAUSE; /* decided by px_conn, asynchronously */
}

static int
req_body(void *arg, const char *at, size_t len)
{
    struct px_conn *c = arg;
    struct evbuffer *out = up_out(c);

    if (out == NULL) {
        return 0; /* discarding */
    }
    if (evbuffer_add(out, at, len) != 0) {
        return -1;
    }
    check_upstream_room(c, out);
    return 0;
}

static int
req_chunk(void *arg, uint64_t size)
{
    struct px_conn *c = arg;
    struct evbuffer *out = up_out(c);

    return out == NULL ? 0 : evbuffer_add_printf(out, "%" PRIx64 "\r\n", size) < 0 ? -1 : 0;
}

static int
req_chunk_end(void *arg)
{
    struct px_conn *c = arg;
    struct evbuffer *out = up_out(c);

    return out == NULL ? 0 : evbuffer_add(out, "\r\n", 2);
}

const struct px_http_cbs px_relay_request_cbs = {req_head, req_body, req_chunk, req_chunk_end};

void
px_relay_request_done(struct px_conn *c, uint64_t now)
{
    struct evbuffer *out = up_out(c);

    if (out != NULL && c->chunked_req) {
        evbuffer_add(out, "0\r\n\r\n", 5);
    }
    if (c->resp_done) {
        px_conn_request_end(c, now, c->up != NULL && px_http_keep_alive(&c->up->resp));
    }
}

/* --- response: apiserver -> client --- */

static struct evbuffer *
client_out(struct px_conn *c)
{
    return bufferevent_get_output(c->bev);
}

static enum px_http_act
resp_head(void *arg, struct px_http_head *h)
{
    struct px_conn *c = arg;
    bool bodiless;

    if (h->status >= 100 && h->status < 200 && h->status != 101) {
        /* Interim: 100 Continue was answered by us. A 1xx ends with its
         * head (RFC 9110 15.2); llhttp 8.1 would read a body announced
         * on one, and that body would reach the client ahead of the final
         * response's head. */
        return PX_HTTP_SKIP_BODY;
    }
    if (h->status == 101 && !c->is_upgrade) {
        px_conn_log(c, PX_LOG_WARN, "upstream switched protocols unasked", NULL);
        return PX_HTTP_ABORT;
    }
    c->status = h->status;
    c->chunked_resp = h->chunked;
    if (c->long_running) {
        evtimer_del(&c->timer); /* streams for as long as it lasts */
    }
    bodiless = c->is_head || h->status == 204 || h->status == 304 || h->status == 101;
    /* A body delimited by the close of the connection can only reach the
     * client the same way. */
    if (!bodiless && !h->chunked && !h->has_length) {
        c->close_after = true;
    }
    if (px_headers_response(client_out(c), h, c->close_after) != 0) {
        return PX_HTTP_ABORT;
    }
    c->head_sent = true;
    if (c->fwd != NULL) { /* answered: no resend any more */
        evbuffer_free(c->fwd);
        c->fwd = NULL;
    }
    if (c->is_watch && h->status / 100 == 2) {
        /* The watch is established: its seats go back (APF's rule), it
         * stays counted as open until it ends. */
        lim_watch_started(c->w->sh->lim, &c->ticket);
    }
    /* Written: a watch may stay open for an hour, its head need not. */
    px_http_head_done(&c->up->resp);
    return c->is_head ? PX_HTTP_SKIP_BODY : PX_HTTP_GO;
}

static int
resp_body(void *arg, const char *at, size_t len)
{
    struct px_conn *c = arg;

    c->resp_bytes += len;
    return evbuffer_add(client_out(c), at, len);
}

static int
resp_chunk(void *arg, uint64_t size)
{
    struct px_conn *c = arg;

    return evbuffer_add_printf(client_out(c), "%" PRIx64 "\r\n", size) < 0 ? -1 : 0;
}

static int
resp_chunk_end(void *arg)
{
    struct px_conn *c = arg;

    return evbuffer_add(client_out(c), "\r\n", 2);
}

const struct px_http_cbs px_relay_response_cbs = {resp_head, resp_body, resp_chunk, resp_chunk_end};

/* The client reads slower than the apiserver sends: stop reading the
 * apiserver until the client's output drains to PX_LWM (on_write). */
static void
check_client_room(struct px_conn *c)
{
    if (c->up != NULL && !c->up_paused && evbuffer_get_length(client_out(c)) >= PX_HWM) {
        c->up_paused = true;
        px_read_on(c->up->bev, false);
        bufferevent_setwatermark(c->bev, EV_WRITE, PX_LWM, 0);
    }
}

void
px_relay_client_drained(struct px_conn *c, uint64_t now)
{
    c->up_paused = false;
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    if (c->up != NULL) {
        px_read_on(c->up->bev, true);
        if (c->state == PX_CONN_FORWARD || c->state == PX_CONN_TUNNEL) {
            up_read(c->up->bev, c); /* bytes may be waiting in its input */
        }
    }
    (void)now;
}

/* --- tunnel after 101 --- */

static void
tunnel_move(struct px_conn *c, struct bufferevent *from, struct bufferevent *to, bool to_client)
{
    struct evbuffer *out = bufferevent_get_output(to);

    evbuffer_add_buffer(out, bufferevent_get_input(from));
    if (evbuffer_get_length(out) >= PX_HWM) {
        bufferevent_setwatermark(to, EV_WRITE, PX_LWM, 0);
        if (to_client) {
            c->up_paused = true;
            px_read_on(from, false);
        } else {
            c->down_paused = true;
            px_conn_gate(c);
        }
    }
}

void
px_relay_tunnel_client(struct px_conn *c)
{
    if (c->up != NULL) {
        tunnel_move(c, c->bev, c->up->bev, false);
    }
}

static void
tunnel_start(struct px_conn *c)
{
    c->state = PX_CONN_TUNNEL;
    evtimer_del(&c->timer);
    c->resp_done = true;
    /* What followed the 101 head, and what the client sent after its
     * upgrade request, are already tunnel bytes. */
    tunnel_move(c, c->up->bev, c->bev, true);
    tunnel_move(c, c->bev, c->up->bev, false);
    px_conn_gate(c);
}

/* --- response events --- */

static void
response_done(struct px_conn *c, uint64_t now)
{
    if (c->chunked_resp) {
        evbuffer_add(client_out(c), "0\r\n\r\n", 5);
    }
    c->resp_done = true;
    if (c->req_done) {
        px_conn_request_end(c, now, px_http_keep_alive(&c->up->resp));
        return;
    }
    /* Answered before the request body was all read (an early 413 or
     * 401 from the apiserver): neither connection can carry another
     * request. */
    c->close_after = true;
    px_conn_request_end(c, now, false);
}

/* The apiserver connection failed or closed before a complete response. */
static void
upstream_cut(struct px_conn *c, const char *why, uint64_t now)
{
    px_conn_log(c, PX_LOG_INFO, "upstream connection lost", why);
    if (!c->head_sent) {
        if (c->up != NULL) {
            px_up_release(c->up, false);
            c->up = NULL;
        }
        c->close_after = c->close_after || !c->req_done;
        px_conn_fail(c, 502, "the apiserver closed the connection before answering", now);
        return;
    }
    if (c->chunked_resp && px_http_at_chunk_boundary(&c->up->resp)) {
        /* A watch the apiserver ended: the client sees a clean end of
         * stream and its informer re-watches, as after a server timeout. */
        evbuffer_add(client_out(c), "0\r\n\r\n", 5);
        c->resp_done = true;
        if (!c->req_done) {
            c->close_after = true;
        }
        px_conn_finish(c, c->is_watch ? c->status : 502, now);
        px_conn_request_end(c, now, false);
        return;
    }
    /* Mid-chunk or a length-delimited body: only the close can tell. */
    c->close_after = true;
    c->resp_done = false;
    px_conn_finish(c, 502, now);
    px_conn_request_end(c, now, false);
}

bool
px_relay_end_watch(struct px_conn *c, uint64_t now)
{
    if (!c->is_watch || c->state != PX_CONN_FORWARD || c->up == NULL || !c->head_sent ||
        !c->chunked_resp || !px_http_at_chunk_boundary(&c->up->resp)) {
        return false;
    }
    /* As when the apiserver ends a watch at its timeout: a clean end of
     * stream, and client-go's reflector watches again from its last
     * resourceVersion, on another apiserver once this one is gone. */
    evbuffer_add(client_out(c), "0\r\n\r\n", 5);
    c->resp_done = true;
    c->close_after = true;
    px_conn_finish(c, c->status, now);
    px_conn_request_end(c, now, false);
    return true;
}

/* Parses what the apiserver sent, as far as the client has room (or all
 * of it when <drain>: the connection is ending). */
static void
parse_upstream(struct px_conn *c, uint64_t now, bool drain)
{
    while (c->state == PX_CONN_FORWARD && c->up != NULL && (drain || !c->up_paused)) {
        struct evbuffer *in = bufferevent_get_input(c->up->bev);
        struct evbuffer_iovec v;
        size_t used = 0;
        enum px_http_result r;

        if (evbuffer_get_length(in) == 0) {
            break;
        }
        evbuffer_peek(in, -1, NULL, &v, 1);
        r = px_http_feed(&c->up->resp, v.iov_base, v.iov_len, &used);
        if (used > 0) {
            evbuffer_drain(in, used);
        }
        if (r == PX_HTTP_ERROR) {
            upstream_cut(c, c->up->resp.err_msg, now);
            break;
        }
        if (r != PX_HTTP_DONE && c->w->draining && px_relay_end_watch(c, now)) {
            break;
        }
        if (r == PX_HTTP_DONE) {
            int st = c->up->resp.parser.status_code;

            if (st >= 100 && st < 200 && st != 101) {
                px_http_next(&c->up->resp);
                continue;
            }
            if (st == 101) {
                tunnel_start(c);
            } else {
                response_done(c, now);
            }
            break;
        }
        check_client_room(c);
    }
}

static void
up_read(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;

    px_conn_enter(c);
    if (c->state == PX_CONN_TUNNEL) {
        tunnel_move(c, bev, c->bev, true);
    } else {
        parse_upstream(c, px_now_ns(), false);
    }
    px_conn_leave(c);
}

static void
up_write(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;

    px_conn_enter(c);
    if (c->down_paused && evbuffer_get_length(bufferevent_get_output(bev)) <= PX_LWM) {
        c->down_paused = false;
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        if (c->state != PX_CONN_CLOSED) {
            px_conn_gate(c);
            if (c->state == PX_CONN_TUNNEL) {
                tunnel_move(c, c->bev, bev, false);
            } else {
                px_conn_pump(c, px_now_ns());
            }
        }
    }
    px_conn_leave(c);
}

static void
up_event(struct bufferevent *bev, short events, void *arg)
{
    struct px_conn *c = arg;
    uint64_t now = px_now_ns();

    (void)bev;
    if (!(events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        return;
    }
    px_conn_enter(c);
    if (c->state == PX_CONN_TUNNEL) {
        tunnel_move(c, c->up->bev, c->bev, true);
        px_conn_finish(c, 101, now);
        c->close_after = true;
        px_conn_request_end(c, now, false);
    } else if (c->state == PX_CONN_FORWARD && c->up != NULL) {
        /* What arrived before the close is part of the response. */
        parse_upstream(c, now, true);
    }
    if (c->state == PX_CONN_FORWARD && c->up != NULL) {
        struct px_up *up = c->up;

        if (!c->head_sent && up->reused && c->retryable && c->fwd != NULL &&
            up->resp.phase == PX_HTTP_IDLE) {
            /* A pooled connection the apiserver had closed while idle:
             * nothing was answered, the request is safe to send again. */
            px_up_release(up, false);
            c->up = NULL;
            px_relay_forward(c, now);
        } else if (c->head_sent && px_http_eof(&up->resp) == PX_HTTP_DONE) {
            response_done(c, now); /* a body delimited by the close */
        } else {
            upstream_cut(c, (events & BEV_EVENT_EOF) ? "closed" : "error", now);
        }
    }
    px_conn_leave(c);
}

/* --- starting and stopping --- */

static void
on_ready(void *arg, struct px_up *up, const char *err)
{
    struct px_conn *c = arg;
    uint64_t now = px_now_ns();

    px_conn_enter(c);
    if (up == NULL) {
        char msg[PX_ERRLEN + 64];

        c->up = NULL;
        snprintf(msg, sizeof(msg), "the apiserver is not reachable: %s", err);
        px_conn_fail(c, 503, msg, now);
    } else {
        c->up = up;
        start(c, now);
    }
    px_conn_leave(c);
}

void
px_relay_forward(struct px_conn *c, uint64_t now)
{
    char err[PX_ERRLEN];
    struct px_up *up = NULL;
    int rc;

    c->state = PX_CONN_CONNECTING;
    rc = px_pool_get(c->w->pool, on_ready, c, &up, err, sizeof(err));
    if (rc < 0) {
        char msg[PX_ERRLEN + 64];

        snprintf(msg, sizeof(msg), "the apiserver is not reachable: %s", err);
        px_conn_fail(c, 503, msg, now);
        return;
    }
    c->up = up;
    if (rc == 1) {
        start(c, now);
    }
}

static void
start(struct px_conn *c, uint64_t now)
{
    struct px_worker *w = c->w;
    struct px_up *up = c->up;
    struct px_http_limits rl = {PX_MAX_RESPONSE_HEAD, 0};
    struct evbuffer *out = bufferevent_get_output(up->bev);
    int rc;

    px_http_init(&up->resp, false, &px_relay_response_cbs, c, &w->heads, &rl);
    bufferevent_setcb(up->bev, up_read, up_write, up_event, c);
    bufferevent_setwatermark(up->bev, EV_WRITE, 0, 0);
    bufferevent_enable(up->bev, EV_WRITE);
    px_read_on(up->bev, true);
    /* A bodiless GET keeps its head until answered, to resend it once if
     * a pooled connection turns out to be closed. */
    rc = c->retryable ? evbuffer_add(out, evbuffer_pullup(c->fwd, -1), evbuffer_get_length(c->fwd))
                      : evbuffer_add_buffer(out, c->fwd);
    if (rc != 0) {
        px_conn_fail(c, 500, "out of memory", now);
        return;
    }
    if (!c->retryable) {
        evbuffer_free(c->fwd);
        c->fwd = NULL;
    }
    c->state = PX_CONN_FORWARD;
    /* request_timeout bounds a long-running request (watch, exec) until
     * its response head, then resp_head lifts it: kube-apiserver answers
     * a watch's head at once, and a silent one must not hold a seat and
     * an open watch for as long as it stays silent. */
    {
        uint64_t t = w->cf->upstream.request_timeout_ns, spent = now - c->start_ns;

        px_conn_arm(c, t > spent ? t - spent : 0);
    }
    if (c->expect_continue) {
        /* Expect was not forwarded: the client may send its body now. */
        evbuffer_add(client_out(c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->expect_continue = false;
    }
    px_http_resume(&c->req);
    px_conn_pump(c, now);
    px_conn_gate(c);
}

void
px_relay_timeout(struct px_conn *c, uint64_t now)
{
    char msg[128];

    if (c->head_sent) {
        /* kube-apiserver's timeout filter breaks the stream the same way. */
        c->close_after = true;
        px_conn_finish(c, 504, now);
        px_conn_close(c, "request timeout");
        return;
    }
    if (c->up != NULL) {
        px_up_release(c->up, false);
        c->up = NULL;
    }
    snprintf(msg, sizeof(msg),
             "the server was unable to return a response in the time allotted (%llus)",
             (unsigned long long)(c->w->cf->upstream.request_timeout_ns / PX_NS_PER_S));
    px_conn_fail(c, 504, msg, now);
}
