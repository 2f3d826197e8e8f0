/* The server's insides, shared by bn_sim_server.c (loop, listener,
 * timers), bn_sim_conn.c (TLS + HTTP framing), bn_sim_respond.c
 * (responses), bn_sim_route.c (what a request does) and bn_sim_watch.c
 * (watch streams). Not a contract. */
#ifndef BN_SIM_SRV_H
#define BN_SIM_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <llhttp.h>
#include <openssl/ssl.h>

#include "bn_sim_auth.h"
#include "bn_sim_cap.h"
#include "bn_sim_config.h"
#include "bn_sim_discovery.h"
#include "bn_sim_metrics.h"
#include "bn_sim_reqlog.h"
#include "bn_sim_resource.h"
#include "bn_sim_server.h"
#include "bn_sim_store.h"
#include "lim_request.h"

#define BN_SIM_URL_MAX     8192  /* longer request-targets: 414 */
#define BN_SIM_HDR_BYTES   32768 /* header names and values: more is 431 */
#define BN_SIM_MAX_HEADERS 100
#define BN_SIM_RESUME_WM   (64 * 1024) /* read the next request below this much output */
#define BN_SIM_IDLE_S      120         /* idle keep-alive and slow request heads */

struct px_log;
struct px_jwt_keys;
struct bn_sim_conn;
struct bn_sim_watch;

struct bn_sim_server {
    const struct bn_sim_config *cfg;
    struct px_log *log;
    struct event_base *base;
    struct evconnlistener *listener;
    SSL_CTX *ssl_ctx;
    struct px_jwt_keys *jwt;
    struct bn_sim_auth *auth;
    struct bn_sim_store *store;
    struct bn_sim_cap *cap;
    struct bn_sim_discovery *disc;
    struct bn_sim_reqlog *reqlog;
    struct bn_sim_metrics metrics;
    struct event *cap_timer;
    uint64_t cap_timer_ns; /* when cap_timer fires, UINT64_MAX when not armed */
    struct event *churn_timer;
    struct event *sig_term, *sig_int;
    uint64_t churn_rng;
    uint64_t churn_due_nw; /* churn owed, in nano-writes */
    uint64_t churn_last_ns;
    struct bn_sim_conn *conns;
    size_t nconns;
    size_t nwatches;
    uint64_t next_conn_id;
    uint64_t rng;
    char addr[64];
};

enum bn_sim_conn_state {
    BN_SIM_CONN_HANDSHAKE = 0,
    BN_SIM_CONN_READING,    /* reading a request */
    BN_SIM_CONN_WAITING,    /* its job waits for or holds a storage slot */
    BN_SIM_CONN_RESPONDING, /* response queued, waiting for output to drain */
    BN_SIM_CONN_WATCHING,   /* streaming a watch */
};

/* What a request is about to do once its job is done. */
enum bn_sim_op {
    BN_SIM_OP_NONE = 0,
    BN_SIM_OP_NONRESOURCE, /* discovery */
    BN_SIM_OP_GET,
    BN_SIM_OP_LIST,
    BN_SIM_OP_WATCH,
    BN_SIM_OP_CREATE,
    BN_SIM_OP_UPDATE,
    BN_SIM_OP_PATCH,
    BN_SIM_OP_DELETE,
    BN_SIM_OP_SELFSUBJECTREVIEW,
};

/* One request, from its first byte to its response: allocated per request
 * (about 60 KiB) so that idle and watching connections hold only their
 * connection state (a storm holds thousands of them). */
struct bn_sim_req {
    /* as read */
    char method[24];
    char url[BN_SIM_URL_MAX];
    size_t url_len;
    char hbuf[BN_SIM_HDR_BYTES];
    size_t hlen;
    struct bn_sim_header headers[BN_SIM_MAX_HEADERS];
    size_t nheaders;
    bool in_value;
    int reject; /* 413/414/431 decided while reading */
    /* as served */
    uint64_t start_ns;
    struct lim_request info;
    struct bn_sim_user user;
    enum bn_sim_op op;
    enum bn_sim_res res;
    struct bn_sim_selector labels, fields;
    struct bn_sim_query q;
    char cont[BN_SIM_CONTINUE_MAX];
    bool etcd; /* its storage work is etcd's (timeouts answer etcdserver's 500) */
};

struct bn_sim_conn {
    struct bn_sim_server *srv;
    struct bn_sim_conn *prev, *next;
    uint64_t id;
    struct bufferevent *bev;
    enum bn_sim_conn_state state;
    char peer_addr[64];
    struct bn_sim_peer peer;
    llhttp_t parser;
    bool keep_alive;
    bool closing; /* close once the output drained */
    struct evbuffer *body;
    struct bn_sim_req *rq; /* the request being read or served, NULL between */
    struct bn_sim_job job;
    bool job_active;
    struct bn_sim_watch *watch;
};

/* --- bn_sim_conn.c --- */
void bn_sim_conn_accept(struct bn_sim_server *s, evutil_socket_t fd, const char *peer);
/* Releases everything the connection holds (the one place that does). */
void bn_sim_conn_close(struct bn_sim_conn *c, const char *why);
/* Closes <c> soon, from the loop, not from the caller's stack (safe in
 * any callback, also one the connection's own request is running in). */
void bn_sim_conn_abort(struct bn_sim_conn *c, const char *why);
/* Frees the current request (its response is queued, or its watch runs). */
void bn_sim_conn_request_done(struct bn_sim_conn *c);
/* The response is queued: read the next request once the output drains. */
void bn_sim_conn_responded(struct bn_sim_conn *c);

/* --- bn_sim_respond.c --- */
/* A complete response: status line, kube's headers, <ctype>, <body> (moved
 * out of the evbuffer, references kept), or <text> when <body> is NULL. */
void bn_sim_respond(struct bn_sim_conn *c, int code, const char *ctype, const char *extra_headers,
                    struct evbuffer *body, const char *text, size_t text_len);
/* A metav1.Status error (or success) response. */
void bn_sim_respond_status(struct bn_sim_conn *c, const struct bn_sim_status *st);
/* Appends the JSON of <st> to <out>. */
void bn_sim_status_json(const struct bn_sim_status *st, struct evbuffer *out);
/* kube's 429 (max-inflight filter): text/plain, Retry-After: 1. */
void bn_sim_respond_429(struct bn_sim_conn *c);
/* Appends <o>'s JSON by reference (the buffer holds a reference). */
void bn_sim_add_obj(struct evbuffer *out, struct bn_sim_obj *o);
/* Records the finished request in metrics and the recent-requests log. */
void bn_sim_account(struct bn_sim_conn *c, int code);

/* --- bn_sim_route.c --- */
/* Serves the request just read (authentication, routing, capacity). */
void bn_sim_route(struct bn_sim_conn *c);
/* Re-arms the model's timer after anything changed the model. */
void bn_sim_server_kick(struct bn_sim_server *s, uint64_t now_ns);
/* The first value of query parameter <key> of the current request,
 * decoded, or NULL. */
const char *bn_sim_query_param(struct bn_sim_conn *c, const char *key, char *buf, size_t len);

/* --- bn_sim_watch.c --- */
/* Starts the watch the request asks for (its job is done). */
void bn_sim_watch_start(struct bn_sim_conn *c);
/* Ends the watch stream of <c> (terminating chunk unless <abort>). */
void bn_sim_watch_stop(struct bn_sim_conn *c, bool abort, enum bn_sim_term why);
/* Bytes queued to watchers not yet written. */
uint64_t bn_sim_watch_buffered(const struct bn_sim_server *s);

#endif /* BN_SIM_SRV_H */
