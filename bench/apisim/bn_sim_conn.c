/* One client connection: the TLS bufferevent, llhttp framing of requests
 * (bounded: 414/431/413 as Go's server and kube's body limit answer),
 * keep-alive and pipelining one request at a time, and the one function
 * that frees a connection. */
#include "bn_sim_srv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/bufferevent_ssl.h>

#include "px_clock.h"
#include "px_log.h"
#include "px_tls.h"

static void conn_process(struct bn_sim_conn *c);

static struct bn_sim_conn *
of(llhttp_t *p)
{
    return p->data;
}

static int
on_message_begin(llhttp_t *p)
{
    struct bn_sim_conn *c = of(p);

    if (c->rq == NULL && (c->rq = malloc(sizeof(*c->rq))) == NULL) {
        return HPE_USER; /* out of memory: the connection answers 400 and closes */
    }
    c->rq->method[0] = '\0';
    c->rq->url_len = 0;
    c->rq->url[0] = '\0';
    c->rq->hlen = 0;
    c->rq->nheaders = 0;
    c->rq->in_value = false;
    c->rq->reject = 0;
    c->rq->info.verb = LIM_VERB_UNKNOWN;
    c->rq->info.path = "";
    c->rq->user.name = "";
    c->rq->user.ngroups = 0;
    c->rq->user.nextra = 0;
    c->rq->user.method = BN_SIM_AUTHN_NONE;
    c->rq->op = BN_SIM_OP_NONE;
    c->rq->res = BN_SIM_RES_NAMESPACES; /* set by routing; never left undefined */
    c->rq->etcd = false;
    evbuffer_drain(c->body, evbuffer_get_length(c->body));
    return 0;
}

static int
on_method(llhttp_t *p, const char *at, size_t len)
{
    struct bn_sim_conn *c = of(p);
    size_t have = strlen(c->rq->method);

    if (have + len >= sizeof(c->rq->method)) {
        c->rq->reject = 400;
        return 0;
    }
    memcpy(c->rq->method + have, at, len);
    c->rq->method[have + len] = '\0';
    return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
    struct bn_sim_conn *c = of(p);

    if (c->rq->url_len + len >= sizeof(c->rq->url)) {
        c->rq->reject = 414;
        return 0;
    }
    memcpy(c->rq->url + c->rq->url_len, at, len);
    c->rq->url_len += len;
    c->rq->url[c->rq->url_len] = '\0';
    return 0;
}

static int
hbuf_add(struct bn_sim_conn *c, const char *at, size_t len)
{
    if (c->rq->hlen + len > sizeof(c->rq->hbuf)) {
        c->rq->reject = 431;
        return -1;
    }
    memcpy(c->rq->hbuf + c->rq->hlen, at, len);
    c->rq->hlen += len;
    return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct bn_sim_conn *c = of(p);
    struct bn_sim_header *h;

    if (c->rq->reject != 0) {
        return 0;
    }
    if (!c->rq->in_value &&
        (c->rq->nheaders == 0 || c->rq->headers[c->rq->nheaders - 1].value != NULL)) {
        if (c->rq->nheaders == BN_SIM_MAX_HEADERS) {
            c->rq->reject = 431;
            return 0;
        }
        h = &c->rq->headers[c->rq->nheaders++];
        h->name = c->rq->hbuf + c->rq->hlen;
        h->name_len = 0;
        h->value = NULL;
        h->value_len = 0;
    }
    h = &c->rq->headers[c->rq->nheaders - 1];
    if (hbuf_add(c, at, len) == 0) {
        h->name_len += len;
    }
    return 0;
}

static int
on_header_field_complete(llhttp_t *p)
{
    struct bn_sim_conn *c = of(p);

    if (c->rq->reject == 0 && c->rq->nheaders > 0) {
        c->rq->headers[c->rq->nheaders - 1].value = c->rq->hbuf + c->rq->hlen;
        c->rq->in_value = true;
    }
    return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct bn_sim_conn *c = of(p);

    if (c->rq->reject == 0 && c->rq->nheaders > 0 && hbuf_add(c, at, len) == 0) {
        c->rq->headers[c->rq->nheaders - 1].value_len += len;
    }
    return 0;
}

static int
on_header_value_complete(llhttp_t *p)
{
    of(p)->rq->in_value = false;
    return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
    struct bn_sim_conn *c = of(p);

    c->keep_alive = llhttp_should_keep_alive(p) != 0;
    if (c->rq->reject == 0 && (p->flags & F_CONTENT_LENGTH) != 0 &&
        p->content_length > c->srv->cfg->max_body_bytes) {
        c->rq->reject = 413;
    }
    return c->rq->reject != 0 ? HPE_PAUSED : 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
    struct bn_sim_conn *c = of(p);

    if (evbuffer_get_length(c->body) + len > c->srv->cfg->max_body_bytes) {
        c->rq->reject = 413;
        return HPE_USER;
    }
    evbuffer_add(c->body, at, len);
    return 0;
}

static int
on_message_complete(llhttp_t *p)
{
    (void)p;
    return HPE_PAUSED; /* one request at a time: the next waits for this response */
}

static const llhttp_settings_t *
settings(void)
{
    static llhttp_settings_t st;
    static bool ready;

    if (!ready) {
        llhttp_settings_init(&st);
        st.on_message_begin = on_message_begin;
        st.on_method = on_method;
        st.on_url = on_url;
        st.on_header_field = on_header_field;
        st.on_header_field_complete = on_header_field_complete;
        st.on_header_value = on_header_value;
        st.on_header_value_complete = on_header_value_complete;
        st.on_headers_complete = on_headers_complete;
        st.on_body = on_body;
        st.on_message_complete = on_message_complete;
        ready = true;
    }
    return &st;
}

/* Framing errors answer as Go's net/http does (plain text) and close. */
static void
fail_framing(struct bn_sim_conn *c, int code)
{
    static const char *const texts[] = {"400 Bad Request", "413 Request Entity Too Large",
                                        "414 Request URI Too Long",
                                        "431 Request Header Fields Too Large"};
    const char *t = code == 413   ? texts[1]
                    : code == 414 ? texts[2]
                    : code == 431 ? texts[3]
                                  : texts[0];

    c->keep_alive = false;
    if (c->rq == NULL) {
        /* an error before the request began: an empty one to account it to */
        if ((c->rq = calloc(1, sizeof(*c->rq))) == NULL) {
            bn_sim_conn_abort(c, "out of memory");
            return;
        }
        c->rq->info.path = "";
        c->rq->user.name = "";
    }
    c->rq->start_ns = px_now_ns();
    bn_sim_respond(c, code, "text/plain; charset=utf-8", NULL, NULL, t, strlen(t));
}

static void
conn_process(struct bn_sim_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    while (c->state == BN_SIM_CONN_READING && !c->closing && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        llhttp_errno_t e;
        size_t used;

        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
            break;
        }
        e = llhttp_execute(&c->parser, v.iov_base, v.iov_len);
        if (e == HPE_OK) {
            evbuffer_drain(in, v.iov_len);
            continue;
        }
        if (e != HPE_PAUSED) {
            fail_framing(c, c->rq != NULL && c->rq->reject != 0 ? c->rq->reject : 400);
            return;
        }
        used = (size_t)(llhttp_get_error_pos(&c->parser) - (const char *)v.iov_base);
        evbuffer_drain(in, used);
        llhttp_resume(&c->parser);
        if (c->rq->reject != 0) {
            fail_framing(c, c->rq->reject);
            return;
        }
        c->rq->start_ns = px_now_ns();
        bufferevent_set_timeouts(c->bev, NULL, NULL); /* served requests have no read deadline */
        bn_sim_route(c);
    }
}

void
bn_sim_conn_abort(struct bn_sim_conn *c, const char *why)
{
    px_logf(c->srv->log, PX_LOG_WARN, "c=%" PRIu64 " peer=%s aborted: %s", c->id, c->peer_addr,
            why);
    c->closing = true;
    c->keep_alive = false;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    /* the write callback, deferred, closes it: never under a caller's feet */
    bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
}

void
bn_sim_conn_request_done(struct bn_sim_conn *c)
{
    free(c->rq);
    c->rq = NULL;
}

void
bn_sim_conn_responded(struct bn_sim_conn *c)
{
    c->state = BN_SIM_CONN_RESPONDING;
    if (!c->keep_alive) {
        c->closing = true;
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    }
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
    struct bn_sim_conn *c = arg;
    struct timeval idle = {BN_SIM_IDLE_S, 0};

    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
            bn_sim_conn_close(c, "response sent");
        }
        return;
    }
    if (c->state == BN_SIM_CONN_RESPONDING) {
        c->state = BN_SIM_CONN_READING;
        bufferevent_set_timeouts(c->bev, &idle, NULL);
        conn_process(c);
    }
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct bn_sim_conn *c = arg;
    struct timeval idle = {BN_SIM_IDLE_S, 0};

    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);

        bn_sim_auth_peer(c->srv->auth, SSL_get0_peer_certificate(ssl), SSL_get_peer_cert_chain(ssl),
                         &c->peer);
        c->state = BN_SIM_CONN_READING;
        bufferevent_set_timeouts(bev, &idle, NULL);
        conn_process(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        bn_sim_conn_close(c, "idle timeout");
    } else if (what & BEV_EVENT_ERROR) {
        bn_sim_conn_close(c, c->state == BN_SIM_CONN_HANDSHAKE ? "TLS handshake failed"
                                                               : "connection error");
    } else if (what & BEV_EVENT_EOF) {
        bn_sim_conn_close(c, "client closed");
    }
}

void
bn_sim_conn_accept(struct bn_sim_server *s, evutil_socket_t fd, const char *peer)
{
    struct bn_sim_conn *c;
    struct timeval handshake = {10, 0};
    SSL *ssl;

    if (s->nconns >= s->cfg->max_connections) {
        evutil_closesocket(fd); /* the bound: refuse rather than grow */
        return;
    }
    c = calloc(1, sizeof(*c));
    ssl = c != NULL ? SSL_new(s->ssl_ctx) : NULL;
    if (c == NULL || ssl == NULL || (c->body = evbuffer_new()) == NULL) {
        px_tls_clear_errors();
        if (ssl != NULL) {
            SSL_free(ssl);
        }
        if (c != NULL) {
            evbuffer_free(c->body);
        }
        free(c);
        evutil_closesocket(fd);
        return;
    }
    /* From here libevent owns ssl and fd (BEV_OPT_CLOSE_ON_FREE), also
     * when it fails to build the bufferevent. */
    c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (c->bev == NULL) {
        evbuffer_free(c->body);
        free(c);
        return;
    }
    c->srv = s;
    c->id = ++s->next_conn_id;
    snprintf(c->peer_addr, sizeof(c->peer_addr), "%s", peer);
    c->job.arg = c;
    llhttp_init(&c->parser, HTTP_REQUEST, settings());
    c->parser.data = c;
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->nconns++;
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, BN_SIM_RESUME_WM, 0);
    /* bytes a client sends while its request is served wait in at most this
     * much input: reading stops above it (a pipelining or hostile client) */
    bufferevent_setwatermark(c->bev, EV_READ, 0, BN_SIM_RESUME_WM * 4);
    bufferevent_set_timeouts(c->bev, &handshake, &handshake);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
bn_sim_conn_close(struct bn_sim_conn *c, const char *why)
{
    struct bn_sim_server *s = c->srv;

    if (px_log_enabled(s->log, PX_LOG_DEBUG)) {
        px_logf(s->log, PX_LOG_DEBUG, "c=%" PRIu64 " peer=%s closed: %s", c->id, c->peer_addr, why);
    }
    if (c->watch != NULL) {
        bn_sim_watch_stop(c, true, BN_SIM_TERM_CLIENT);
    }
    if (c->job_active) {
        bn_sim_cap_cancel(s->cap, &c->job);
        c->job_active = false;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    s->nconns--;
    bufferevent_free(c->bev);
    px_tls_clear_errors();
    evbuffer_free(c->body);
    free(c->rq);
    free(c);
}
