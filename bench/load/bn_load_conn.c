/* One client connection: see bn_load_conn.h. States move one way per
 * exchange: CLOSED -> CONNECTING -> HANDSHAKE -> WRITING -> READING -> IDLE
 * (keep-alive) or CLOSED; failures close. */
#include "bn_load_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <llhttp.h>
#include <openssl/err.h>

#include "bn_load_ident.h"
#include "px_clock.h"
#include "px_tls.h"

#define READS_PER_EVENT 16 /* then yield to other connections */

enum conn_state {
    ST_CLOSED = 0,
    ST_CONNECTING,
    ST_HANDSHAKE,
    ST_WRITING,
    ST_READING,
    ST_IDLE,
};

struct bn_conn {
    struct bn_conn_env *env;
    const struct bn_cred *cred;
    const struct bn_conn_ops *ops;
    void *arg;
    enum conn_state state;
    int fd;
    SSL *ssl;
    struct event *rev, *wev; /* per socket */
    struct event *tev;       /* timeouts and deferred failures */
    /* the exchange */
    bool inflight, head, stream, done;
    const char *req;
    size_t len;
    uint64_t timeout_ns, sent_ns;
    uint32_t served; /* responses completed on this socket */
    bool fail_pending;
    enum bn_fail pending;
    /* the response */
    llhttp_t parser;
    struct bn_resp resp;
    char hname[16];
    size_t hname_len;
    bool in_retry_after;
};

static const char *const fail_names[BN_FAIL_N] = {"connect", "tls", "io", "timeout", "protocol"};

static void conn_io(evutil_socket_t fd, short what, void *arg);
static void conn_timer(evutil_socket_t fd, short what, void *arg);
static void progress(struct bn_conn *c, uint64_t now);

/* --- llhttp callbacks: facts only -------------------------------------- */

static int
on_message_begin(llhttp_t *p)
{
    struct bn_conn *c = p->data;

    memset(&c->resp, 0, sizeof(c->resp));
    c->hname_len = 0;
    c->in_retry_after = false;
    return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct bn_conn *c = p->data;
    size_t i;

    for (i = 0; i < n; i++, c->hname_len++) {
        if (c->hname_len < sizeof(c->hname) - 1) {
            c->hname[c->hname_len] = at[i];
        }
    }
    return 0;
}

static int
on_header_field_complete(llhttp_t *p)
{
    struct bn_conn *c = p->data;

    c->in_retry_after = c->hname_len == 11 && strncasecmp(c->hname, "retry-after", 11) == 0;
    c->hname_len = 0;
    if (c->in_retry_after) {
        /* Go's Header.Get: the first value wins. */
        c->in_retry_after = !c->resp.has_retry_after;
        c->resp.has_retry_after = true;
    }
    return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct bn_conn *c = p->data;
    size_t have = strlen(c->resp.retry_after);

    if (c->in_retry_after) {
        /* Longer than any integer Retry-After: keep a prefix, which then
         * fails to parse, as it would in client-go. */
        if (n > sizeof(c->resp.retry_after) - 1 - have) {
            n = sizeof(c->resp.retry_after) - 1 - have;
        }
        memcpy(c->resp.retry_after + have, at, n);
        c->resp.retry_after[have + n] = '\0';
    }
    return 0;
}

static int
on_header_value_complete(llhttp_t *p)
{
    ((struct bn_conn *)p->data)->in_retry_after = false;
    return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
    struct bn_conn *c = p->data;
    uint64_t now = px_now_ns();

    c->resp.status = p->status_code;
    if (c->stream) {
        event_del(c->tev); /* a watch lives past the request timeout */
    }
    if (c->ops->on_head != NULL) {
        c->ops->on_head(c->arg, &c->resp, now);
    }
    return c->head ? 1 : 0; /* a HEAD response has no body */
}

static int
on_body(llhttp_t *p, const char *at, size_t n)
{
    struct bn_conn *c = p->data;

    if (c->ops->on_body != NULL) {
        c->ops->on_body(c->arg, at, n);
    }
    return 0;
}

static int
on_message_complete(llhttp_t *p)
{
    ((struct bn_conn *)p->data)->done = true;
    return HPE_PAUSED; /* hand back before anything else is parsed */
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- lifecycle --------------------------------------------------------- */

struct bn_conn *
bn_conn_new(struct bn_conn_env *env, const struct bn_cred *cred, const struct bn_conn_ops *ops,
            void *arg)
{
    struct bn_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->env = env;
    c->cred = cred;
    c->ops = ops;
    c->arg = arg;
    c->fd = -1;
    c->tev = evtimer_new(env->base, conn_timer, c);
    if (c->tev == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void
bn_conn_close(struct bn_conn *c)
{
    if (c->rev != NULL) {
        event_free(c->rev);
        c->rev = NULL;
    }
    if (c->wev != NULL) {
        event_free(c->wev);
        c->wev = NULL;
    }
    if (c->ssl != NULL) {
        px_tls_clear_errors();
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    event_del(c->tev);
    c->state = ST_CLOSED;
    c->inflight = false;
    c->fail_pending = false;
    c->served = 0;
}

void
bn_conn_free(struct bn_conn *c)
{
    if (c == NULL) {
        return;
    }
    bn_conn_close(c);
    event_free(c->tev);
    free(c);
}

bool
bn_conn_busy(const struct bn_conn *c)
{
    return c->inflight;
}

uint64_t
bn_conn_sent_ns(const struct bn_conn *c)
{
    return c->sent_ns;
}

const char *
bn_fail_name(enum bn_fail f)
{
    return f < BN_FAIL_N ? fail_names[f] : "unknown";
}

/* --- outcomes: the owner is called last -------------------------------- */

static void
note_error(struct bn_conn *c, const char *what, const char *detail)
{
    if (c->env->first_error[0] == '\0') {
        snprintf(c->env->first_error, sizeof(c->env->first_error), "%s: %.140s", what, detail);
    }
}

static void
fail(struct bn_conn *c, enum bn_fail why, uint64_t now)
{
    bool reused = c->served > 0;

    bn_conn_close(c);
    c->ops->on_fail(c->arg, why, reused, now);
}

/* Reports <why> from the event loop rather than from inside the caller. */
static void
fail_later(struct bn_conn *c, enum bn_fail why)
{
    struct timeval now = {0, 0};

    bn_conn_close(c);
    c->inflight = true;
    c->fail_pending = true;
    c->pending = why;
    event_add(c->tev, &now);
}

static void
finish(struct bn_conn *c, uint64_t now)
{
    struct bn_resp r = c->resp;

    c->inflight = false;
    c->served++;
    event_del(c->tev);
    if (llhttp_should_keep_alive(&c->parser)) {
        llhttp_resume(&c->parser);
        c->state = ST_IDLE;
    } else {
        bn_conn_close(c);
    }
    c->ops->on_done(c->arg, &r, now);
}

static void
arm_timer(struct bn_conn *c, uint64_t ns)
{
    struct timeval tv;

    if (ns == 0) {
        event_del(c->tev);
        return;
    }
    tv.tv_sec = (time_t)(ns / 1000000000u);
    tv.tv_usec = (suseconds_t)(ns % 1000000000u / 1000u);
    event_add(c->tev, &tv);
}

/* --- the exchange ------------------------------------------------------ */

int
bn_conn_send(struct bn_conn *c, const char *req, size_t len, bool head, bool stream,
             uint64_t timeout_ns, uint64_t now)
{
    if (c->inflight) {
        return -1;
    }
    c->req = req;
    c->len = len;
    c->head = head;
    c->stream = stream;
    c->timeout_ns = timeout_ns;
    c->done = false;
    c->inflight = true;
    if (c->state == ST_IDLE) {
        c->state = ST_WRITING;
        c->sent_ns = now;
        arm_timer(c, timeout_ns);
        progress(c, now);
        return 0;
    }
    c->fd = socket(c->env->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        note_error(c, "socket", strerror(errno));
        fail_later(c, BN_FAIL_CONNECT);
        return -1;
    }
    {
        int one = 1;

        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(c->fd, (const struct sockaddr *)&c->env->addr, c->env->addrlen) != 0 &&
        errno != EINPROGRESS) {
        note_error(c, "connect", strerror(errno));
        fail_later(c, BN_FAIL_CONNECT);
        return -1;
    }
    c->rev = event_new(c->env->base, c->fd, EV_READ | EV_PERSIST, conn_io, c);
    c->wev = event_new(c->env->base, c->fd, EV_WRITE, conn_io, c);
    if (c->rev == NULL || c->wev == NULL) {
        fail_later(c, BN_FAIL_CONNECT);
        return -1;
    }
    c->state = ST_CONNECTING;
    llhttp_init(&c->parser, HTTP_RESPONSE, &settings);
    c->parser.data = c;
    event_add(c->wev, NULL);
    arm_timer(c, c->env->connect_timeout_ns);
    return 0;
}

static int
start_tls(struct bn_conn *c)
{
    char err[160];
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
        note_error(c, "connect", strerror(soerr != 0 ? soerr : errno));
        return -1;
    }
    c->ssl = px_tls_client_ssl(c->env->ctx, c->env->host, err, sizeof(err));
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        note_error(c, "tls", c->ssl == NULL ? err : "SSL_set_fd");
        return -2;
    }
    /* Thousands of idle watches: give the record buffers back between
     * reads. A write retried after WANT_WRITE may come from a new address. */
    SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* One read(2) per response instead of one per record header and body. */
    SSL_set_read_ahead(c->ssl, 1);
    if (c->cred != NULL && c->cred->cert != NULL &&
        SSL_use_cert_and_key(c->ssl, c->cred->cert, c->cred->key, c->cred->chain, 1) != 1) {
        px_tls_errf(err, sizeof(err), "client certificate");
        note_error(c, "tls", err);
        return -2;
    }
    event_add(c->rev, NULL);
    return 0;
}

/* SSL_get_error for <r>: 1 = wait (events set up), 0 = closed cleanly,
 * -1 = failed. */
static int
ssl_wait(struct bn_conn *c, int r, const char *what)
{
    char err[160];

    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        return 1; /* the persistent read event is armed */
    case SSL_ERROR_WANT_WRITE:
        event_add(c->wev, NULL);
        return 1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            px_tls_clear_errors();
            return 0; /* EOF or reset: the caller decides */
        }
        /* fall through */
    default:
        px_tls_errf(err, sizeof(err), what);
        note_error(c, "tls", err);
        return -1;
    }
}

static void
read_response(struct bn_conn *c, uint64_t now)
{
    int i, n, w;

    for (i = 0; i < READS_PER_EVENT; i++) {
        llhttp_errno_t e;

        n = SSL_read(c->ssl, c->env->rbuf, (int)c->env->rbuflen);
        if (n <= 0) {
            w = ssl_wait(c, n, "read");
            if (w == 1) {
                return;
            }
            /* The peer closed: a response framed by the close ends here. */
            if (w == 0) {
                llhttp_errno_t f = llhttp_finish(&c->parser);

                if ((f == HPE_OK || f == HPE_PAUSED) && c->done) {
                    finish(c, now);
                    return;
                }
            }
            fail(c, c->done ? BN_FAIL_PROTOCOL : BN_FAIL_IO, now);
            return;
        }
        e = llhttp_execute(&c->parser, c->env->rbuf, (size_t)n);
        if (e == HPE_PAUSED) {
            /* We never pipeline: bytes after the response are a broken peer. */
            if (llhttp_get_error_pos(&c->parser) != c->env->rbuf + n) {
                fail(c, BN_FAIL_PROTOCOL, now);
            } else {
                finish(c, now);
            }
            return;
        }
        if (e != HPE_OK) {
            note_error(c, "http", llhttp_errno_name(e));
            fail(c, BN_FAIL_PROTOCOL, now);
            return;
        }
        /* Nothing buffered and the buffer not filled: the socket is most
         * likely drained, and the level-triggered read event says when it
         * is not. Reading on to EAGAIN would cost a syscall per response. */
        if ((size_t)n < c->env->rbuflen && !SSL_has_pending(c->ssl)) {
            return;
        }
    }
    /* Bytes wait inside OpenSSL, where epoll cannot see them. */
    if (SSL_has_pending(c->ssl)) {
        event_active(c->rev, EV_READ, 1);
    }
}

/* An idle keep-alive connection became readable: the server closed it or
 * sent what we did not ask for. Either way it is done. */
static void
read_idle(struct bn_conn *c)
{
    char b[256];
    int n = SSL_read(c->ssl, b, sizeof(b));

    if (n <= 0 && ssl_wait(c, n, "read") == 1) {
        return; /* a TLS 1.3 session ticket, nothing for us */
    }
    bn_conn_close(c);
}

static void
progress(struct bn_conn *c, uint64_t now)
{
    int r, w;

    switch (c->state) {
    case ST_CONNECTING:
        if ((r = start_tls(c)) != 0) {
            fail(c, r == -1 ? BN_FAIL_CONNECT : BN_FAIL_TLS, now);
            return;
        }
        c->state = ST_HANDSHAKE;
        /* fall through */
    case ST_HANDSHAKE:
        r = SSL_connect(c->ssl);
        if (r != 1) {
            w = ssl_wait(c, r, "handshake");
            if (w != 1) {
                if (w == 0) {
                    note_error(c, "tls", "connection closed during the handshake");
                }
                fail(c, BN_FAIL_TLS, now);
            }
            return;
        }
        c->env->handshakes++;
        c->state = ST_WRITING;
        c->sent_ns = now;
        arm_timer(c, c->timeout_ns);
        /* fall through */
    case ST_WRITING:
        r = SSL_write(c->ssl, c->req, (int)c->len);
        if (r <= 0) {
            if (ssl_wait(c, r, "write") != 1) {
                fail(c, BN_FAIL_IO, now);
            }
            return;
        }
        c->state = ST_READING;
        return;
    case ST_READING:
        read_response(c, now);
        return;
    case ST_IDLE:
        read_idle(c);
        return;
    case ST_CLOSED:
    default:
        return;
    }
}

static void
conn_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    progress(arg, px_now_ns());
}

static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
    struct bn_conn *c = arg;
    uint64_t now = px_now_ns();

    (void)fd;
    (void)what;
    if (c->fail_pending) {
        enum bn_fail why = c->pending;

        c->fail_pending = false;
        c->inflight = false;
        c->ops->on_fail(c->arg, why, false, now);
        return;
    }
    if (c->inflight) {
        if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE) {
            note_error(c, c->state == ST_CONNECTING ? "connect" : "tls", "timed out");
        }
        fail(c, BN_FAIL_TIMEOUT, now);
    }
}
