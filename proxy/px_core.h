/* Internal to the data plane: the worker and downstream-connection structs
 * that px_worker.c, px_conn.c and px_relay.c share, and the calls between
 * them. Not a contract for other modules (px_worker.h is). */
#ifndef PX_CORE_H
#define PX_CORE_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "cf.h"
#include "px_err.h"
#include "lim.h"
#include "px_http.h"
#include "px_identity.h"
#include "px_log.h"
#include "px_reject.h"
#include "px_stats.h"
#include "px_upstream.h"
#include "px_worker.h"

/* Flow control, per direction: stop reading the sender once the
 * receiver's pending output reaches PX_HWM, resume when it drains to
 * PX_LWM. With a read cap of PX_READ_MAX, one stream buffers at most about
 * PX_HWM + PX_READ_MAX bytes whatever the peers do. */
#define PX_HWM      (64 * 1024)
#define PX_LWM      (16 * 1024)
#define PX_READ_MAX (64 * 1024)
/* A body of a request answered early (429, 401, 503) up to this size is
 * read and dropped to keep the connection; a larger one closes it. */
#define PX_DISCARD_MAX (64 * 1024)
/* How long a closing connection may take to flush its last response. */
#define PX_LINGER_NS (5ull * 1000000000ull)
/* Response heads from the apiserver are small; this bounds them. */
#define PX_MAX_RESPONSE_HEAD (64 * 1024)
#define PX_HANDOFF_QUEUE     1024
/* Out of file descriptors, a worker stops accepting for this long. */
#define PX_ACCEPT_BACKOFF_MS 100
/* ...after shedding at most this many connections of the backlog. */
#define PX_ACCEPT_SHED_MAX 256

enum px_conn_state {
    PX_CONN_HANDSHAKE = 0, /* TLS handshake (header_timeout) */
    PX_CONN_IDLE,          /* keep-alive, waiting for a request (idle_timeout) */
    PX_CONN_HEAD,          /* reading a request head (header_timeout -> 408) */
    PX_CONN_DELAYED,       /* admitted after a wait (the limiter's delay_ns) */
    PX_CONN_CONNECTING,    /* waiting for an upstream connection */
    PX_CONN_FORWARD,       /* request and response under way (request_timeout) */
    PX_CONN_TUNNEL,        /* after 101: bytes both ways */
    PX_CONN_DISCARD,       /* answered early; dropping the rest of the request body */
    PX_CONN_CLOSING,       /* flushing the last response before closing */
    PX_CONN_CLOSED,        /* torn down; freed when no callback holds it */
};

struct px_conn {
    struct px_worker *w;
    struct px_conn *prev, *next; /* the worker's connections */
    struct bufferevent *bev;     /* TLS to the client */
    struct px_up *up;            /* upstream of the current request */
    struct evbuffer *fwd;        /* upstream request head, kept for one resend */
    struct event timer;          /* the one deadline of the current state */
    struct px_http req;          /* request parser */
    struct lim_ticket ticket;
    uint64_t id;
    uint64_t start_ns;   /* request head complete */
    uint64_t resp_bytes; /* response body bytes */
    uint64_t body_left;  /* Content-Length of the request body */
    enum px_conn_state state;
    uint32_t depth; /* callbacks of this connection on the stack */
    uint32_t class_slot;
    int status; /* status of the response the client got, 0 none */
    uint8_t verb;
    uint8_t decision; /* enum px_decision */
    uint16_t port;
    bool dead;        /* closed while a callback held it */
    bool in_request;  /* a request is being served: its ticket is unreleased */
    bool in_pump;     /* px_conn_pump is on the stack */
    bool pump_again;  /* ...and should go round once more */
    bool req_done;    /* the request message has been read in full */
    bool resp_done;   /* the response message has been written in full */
    bool head_sent;   /* a response head has been written */
    bool close_after; /* close once this response is out */
    bool is_head;
    bool is_upgrade;
    bool is_watch;
    bool long_running;
    bool has_body;
    bool chunked_req;
    bool chunked_resp;
    bool expect_continue;
    bool retryable;   /* no body, safe method: may be resent on a fresh connection */
    bool up_paused;   /* upstream reads stopped: the client is slow */
    bool down_paused; /* client reads stopped: the apiserver is slow */
    bool reading;     /* client reads on (px_conn_gate) */
    char ip[INET6_ADDRSTRLEN];
};

/* Shared by all workers of one process; fixed after start but for the
 * atomics. */
struct px_shared {
    struct lim *lim;
    struct px_log *log;
    SSL_CTX *server_tls;
    SSL_CTX *upstream_tls;
    struct px_jwt_keys *jwt;
    struct px_rejlog *rejlog; /* rejection logging (px_rejlog_attach), NULL: per-worker sampling */
    struct px_addr upstreams[CF_MAX_UPSTREAM];
    size_t nupstreams;
    _Atomic uint32_t conns; /* downstream connections of all workers */
};

struct px_handoff {
    int fd;
    struct sockaddr_storage ss;
    socklen_t len;
};

struct px_worker {
    unsigned id;
    struct px_shared *sh;
    struct event_base *base;
    struct evconnlistener *listener;
    struct px_worker **peers; /* handoff targets, NULL with SO_REUSEPORT */
    unsigned npeers;
    unsigned next_peer;
    struct cf_config *cf;   /* the snapshot in use (a reference) */
    struct px_creds *creds; /* TLS and keys after a reload (a reference), NULL: sh's */
    _Atomic(struct px_creds *) next_creds; /* published by px_worker_set_creds */
    _Atomic(struct cf_config *) next_cf;   /* published by px_worker_set_config */
    _Atomic uint32_t cmd;                  /* PX_CMD_* bits */
    _Atomic uint64_t grace_ns;
    struct event ev_cmd;
    struct event ev_drain;
    struct event ev_accept;   /* handoff queue has fds */
    struct event ev_relisten; /* accepting again after running out of fds */
    int spare_fd;             /* kept to shed connections when out of fds */
    int64_t emfile_second;    /* out-of-fds logging, once a second */
    pthread_mutex_t hq_lock;
    struct px_handoff hq[PX_HANDOFF_QUEUE];
    unsigned hq_head, hq_len;
    bool draining;
    struct px_pool *pool;
    struct px_idcache *ids;
    struct px_http_pool heads;
    struct px_conn *conns;
    uint32_t nconns;
    uint64_t next_conn_id;
    uint64_t rng;
    char date[PX_DATE_LEN];
    int64_t date_s;
    int64_t rej_second; /* rejection log sampling */
    uint32_t rej_logged;
    uint64_t rej_quiet;
    pthread_t thread;
    bool started;
    _Atomic bool finished;  /* the thread left its loop */
    struct lim_request req; /* scratch of the request being decided */
    struct px_who who;      /* scratch identity of the request being decided */
    struct px_stats stats;
};

/* Turns reading on <bev> (a bufferevent_openssl) on or off. libevent 2.1
 * only re-arms the socket event when reading is turned back on: bytes
 * OpenSSL already decrypted would wait for the next packet, which may
 * never come (the end of a response). They are read now instead. The
 * same reason keeps floodgate from setting read high-watermarks on these
 * bufferevents: reading stops with decrypted bytes pending. */
static inline void
px_read_on(struct bufferevent *bev, bool on)
{
    SSL *ssl;

    if (!on) {
        bufferevent_disable(bev, EV_READ);
        return;
    }
    bufferevent_enable(bev, EV_READ);
    ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl != NULL && SSL_has_pending(ssl)) {
        event_active(&bev->ev_read, EV_READ, 1);
    }
}

/* With read-ahead, OpenSSL takes whole socket reads (one syscall instead
 * of two per record) and may hold records libevent 2.1 does not know
 * about: it loops on SSL_pending, the plaintext of the current record
 * only. Records still buffered are read now rather than after the next
 * packet, which may never come. */
static inline void
px_read_rest(struct bufferevent *bev)
{
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;

    if (ssl != NULL && SSL_has_pending(ssl) && (bufferevent_get_enabled(bev) & EV_READ)) {
        event_active(&bev->ev_read, EV_READ, 1);
    }
}

/* Writes what <bev> has queued now rather than on the next loop turn:
 * libevent 2.1's bufferevent_openssl only arms the write event when bytes
 * are added, costing two epoll_ctl calls and a loop turn per response. Run
 * from the active queue, the arm and disarm cancel out in the changelist. */
static inline void
px_flush(struct bufferevent *bev)
{
    if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        event_active(&bev->ev_write, EV_WRITE, 1);
    }
}

/* --- px_worker.c --- */
const char *px_worker_date(struct px_worker *w);
uint64_t px_worker_rand(struct px_worker *w);
void px_worker_conn_gone(struct px_worker *w, struct px_conn *c);
/* Whether a rejection may be logged now (reject_log_per_s per second,
 * then one summary line per second). */
bool px_worker_log_reject(struct px_worker *w);

/* --- px_conn.c --- */
void px_conn_accept(struct px_worker *w, int fd, const struct sockaddr *sa, socklen_t len);
void px_conn_close(struct px_conn *c, const char *reason);
void px_conn_drain(struct px_conn *c);
/* Parses what the client sent, as far as the state allows. */
void px_conn_pump(struct px_conn *c, uint64_t now);
/* Reads from the client unless it is paused (the apiserver is slow) or
 * PX_READ_MAX bytes wait unparsed (pipelined requests behind a response). */
void px_conn_gate(struct px_conn *c);
/* The request is over (response out, or given up): releases its ticket
 * and upstream, then keeps the connection or closes it. */
void px_conn_request_end(struct px_conn *c, uint64_t now, bool up_reusable);
/* Answers the current request with a Status error <code> before any
 * response head went out; keeps the connection when the rest of the
 * request can be dropped within PX_DISCARD_MAX, else closes it after. */
void px_conn_fail(struct px_conn *c, int code, const char *msg, uint64_t now);
/* Releases the ticket of the current request once: <status> is what the
 * limiter learns (the client's status, or 499/502 for a cut response). */
void px_conn_finish(struct px_conn *c, int status, uint64_t now);
void px_conn_arm(struct px_conn *c, uint64_t after_ns);
void px_conn_log(struct px_conn *c, enum px_log_level level, const char *msg, const char *detail);

static inline void
px_conn_enter(struct px_conn *c)
{
    c->depth++;
}

/* Frees a connection closed during the callback once nothing holds it. */
void px_conn_leave(struct px_conn *c);

/* --- px_relay.c --- */
extern const struct px_http_cbs px_relay_request_cbs;
/* The response glue: re-frames what the apiserver sends into the client's
 * output (also driven directly by tests/fuzz/fuzz_px_http_response.c). */
extern const struct px_http_cbs px_relay_response_cbs;
/* Admitted: get an upstream connection and send the request. */
void px_relay_forward(struct px_conn *c, uint64_t now);
/* upstream.request_timeout passed. */
void px_relay_timeout(struct px_conn *c, uint64_t now);
/* The request message ended (body forwarded in full). */
void px_relay_request_done(struct px_conn *c, uint64_t now);
/* The client's output drained to PX_LWM: resume what was paused. */
void px_relay_client_drained(struct px_conn *c, uint64_t now);
/* Client bytes in tunnel mode. */
void px_relay_tunnel_client(struct px_conn *c);
/* Draining: ends a watch stream now if it is at a chunk boundary (the
 * chunked terminator, then the connection closes) and returns true; false
 * when it cannot yet (no response head, or mid-chunk: the relay ends it at
 * the next boundary). <c> may be closed when it returns true. */
bool px_relay_end_watch(struct px_conn *c, uint64_t now);

#endif /* PX_CORE_H */
