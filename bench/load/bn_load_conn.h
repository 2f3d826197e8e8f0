/* One client connection: non-blocking TCP, TLS (px_tls client contexts, the
 * member's own certificate per SSL), one HTTP/1.1 request at a time on a
 * keep-alive connection, the response framed by llhttp. Driven by plain
 * libevent read/write events on the worker's base, the way wrk drives its
 * sockets, so that the generator costs little next to what it measures.
 * The connection (re)connects on demand: a request sent while it is closed
 * opens it first. */
#ifndef BN_LOAD_CONN_H
#define BN_LOAD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <openssl/ssl.h>

struct event_base;
struct bn_cred;
struct bn_conn;

#define BN_RA_MAX 32 /* bytes of a Retry-After value kept */

enum bn_fail {
    BN_FAIL_CONNECT = 0, /* TCP connect failed (refused, unreachable) */
    BN_FAIL_TLS,         /* handshake failed */
    BN_FAIL_IO,          /* reset or closed before the response ended */
    BN_FAIL_TIMEOUT,     /* no complete response in time */
    BN_FAIL_PROTOCOL,    /* not an HTTP/1.1 response we can frame */
    BN_FAIL_N,
};

/* What every connection of one worker shares. */
struct bn_conn_env {
    struct event_base *base;
    SSL_CTX *ctx; /* verifies the target; no client certificate of its own */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *host; /* SNI and the name (or IP) checked */
    char *rbuf;       /* the worker's read buffer: one callback at a time */
    size_t rbuflen;
    uint64_t connect_timeout_ns; /* TCP + TLS */
    uint64_t handshakes;         /* completed, written by the worker only */
    char first_error[160];       /* the first connect or TLS failure, for the summary */
};

/* Response head facts. */
struct bn_resp {
    int status;
    char retry_after[BN_RA_MAX]; /* "" when absent */
    bool has_retry_after;
};

/* Callbacks of the owner (a member's request stream or a watch). on_head
 * and on_body run inside the parser and must not send, close or free the
 * connection; on_done and on_fail run last and may do anything, including
 * sending the next request. */
struct bn_conn_ops {
    void (*on_head)(void *arg, const struct bn_resp *r, uint64_t now_ns);
    void (*on_body)(void *arg, const char *p, size_t n);
    void (*on_done)(void *arg, const struct bn_resp *r, uint64_t now_ns);
    /* <reused>: the request went out on a connection that had already
     * served one (a stale keep-alive connection the server closed). */
    void (*on_fail)(void *arg, enum bn_fail why, bool reused, uint64_t now_ns);
};

/* A closed connection for <env> (borrowed; outlives it) presenting <cred>
 * (borrowed; NULL or without certificate: none). NULL when out of memory. */
struct bn_conn *bn_conn_new(struct bn_conn_env *env, const struct bn_cred *cred,
                            const struct bn_conn_ops *ops, void *arg);
/* Closes and frees <c> without calling back. */
void bn_conn_free(struct bn_conn *c);

/* Sends the request <req> (<len> bytes, borrowed until on_done or on_fail)
 * connecting first if needed; <head>: a HEAD request (no body follows).
 * The response must be complete within <timeout_ns> (0: none) unless
 * <stream>, where the limit ends at the response head (a watch). Returns
 * -1 when a request is already in flight or the socket cannot be made (then
 * on_fail has been scheduled, never called from inside this call). */
int bn_conn_send(struct bn_conn *c, const char *req, size_t len, bool head, bool stream,
                 uint64_t timeout_ns, uint64_t now_ns);
/* Drops the socket, abandoning any exchange without calling back. */
void bn_conn_close(struct bn_conn *c);

bool bn_conn_busy(const struct bn_conn *c);
/* When the request last sent started writing (after connect and TLS). */
uint64_t bn_conn_sent_ns(const struct bn_conn *c);

const char *bn_fail_name(enum bn_fail f);

#endif /* BN_LOAD_CONN_H */
