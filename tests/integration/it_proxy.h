/* Helpers for the floodgate integration tests (it_proxy_*.c): write a
 * configuration, start floodgate and floodgate-apisim on port 0, and talk
 * raw TLS when a test needs the exact bytes on the wire. Header-only
 * (static inline) so each test program takes what it uses. */
#ifndef IT_PROXY_H
#define IT_PROXY_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "itlib.h"
#include "px_tls.h"

struct it_px {
    char dir[512]; /* temporary directory: config, logs, ready files */
    char pki[600];
    char addr[128]; /* floodgate's listen address */
    char ca[700];
    pid_t pid;
    const char *args[6]; /* more floodgate arguments, NULL-terminated */
};

static inline uint64_t
it_px_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void
it_px_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* "<pki>/<name>.crt" and ".key" of a client certificate, in rotating
 * static buffers. */
static inline const char *
it_px_file(const struct it_px *p, const char *name, const char *ext)
{
    static char bufs[8][800];
    static unsigned next;
    char *out = bufs[next++ % 8];

    snprintf(out, sizeof(bufs[0]), "%s/%s.%s", p->pki, name, ext);
    return out;
}

/* Writes <dir>/floodgate.json: the listener with this PKI, upstream
 * <upstream> verified as "localhost" with the front-proxy certificate,
 * and <limits> (a JSON object body, without braces) and <listen_extra> /
 * <upstream_extra> (extra "key": value pairs, each starting with a
 * comma, or ""). */
static inline int
it_px_config(struct it_px *p, const char *upstream, const char *listen_extra,
             const char *upstream_extra, const char *limits)
{
    char path[700];
    FILE *f;

    snprintf(path, sizeof(path), "%s/floodgate.json", p->dir);
    f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f,
            "{\n"
            " \"listen\": {\"address\": \"127.0.0.1:0\", \"cert\": \"%s/floodgate.crt\",\n"
            "   \"key\": \"%s/floodgate.key\", \"client_ca\": \"%s/ca.crt\",\n"
            "   \"client_auth\": \"optional\", \"workers\": 1%s},\n"
            " \"upstream\": {\"servers\": [\"%s\"], \"ca\": \"%s/ca.crt\",\n"
            "   \"server_name\": \"localhost\",\n"
            "   \"client_cert\": \"%s/front-proxy-client.crt\",\n"
            "   \"client_key\": \"%s/front-proxy-client.key\"%s},\n"
            " \"auth\": {\"issuers\": [\"https://kubernetes.default.svc\"],\n"
            "   \"keys\": [\"%s/sa.pub\", \"%s/sa-ec.pub\"]},\n"
            " \"admin\": {\"address\": \"\"},\n"
            " \"log\": {\"level\": \"debug\", \"format\": \"text\"},\n"
            " \"limits\": {%s}\n"
            "}\n",
            p->pki, p->pki, p->pki, listen_extra, upstream, p->pki, p->pki, p->pki, upstream_extra,
            p->pki, p->pki, limits);
    return fclose(f);
}

/* Starts floodgate on the config written by it_px_config and waits for
 * its ready file; <env> (NULL-terminated "K=V" list, may be NULL) is added
 * to its environment. */
static inline int
it_px_start_env(struct it_px *p, const char *tag, char *const env[])
{
    char cfg[700], ready[700], log[700];
    char *argv[16];
    size_t i;

    snprintf(cfg, sizeof(cfg), "%s/floodgate.json", p->dir);
    snprintf(ready, sizeof(ready), "%s/floodgate-%s.ready", p->dir, tag);
    snprintf(log, sizeof(log), "%s/floodgate-%s.log", p->dir, tag);
    argv[0] = (char *)it_bin("floodgate");
    argv[1] = (char *)"run";
    argv[2] = (char *)"--config";
    argv[3] = cfg;
    argv[4] = (char *)"--ready-file";
    argv[5] = ready;
    argv[6] = (char *)"--drain-timeout"; /* bounds a stop that waits for requests */
    argv[7] = (char *)"3s";
    for (i = 0; i < 6 && p->args[i] != NULL; i++) {
        argv[8 + i] = (char *)p->args[i];
    }
    argv[8 + i] = NULL;
    p->pid = it_spawn(argv, env, log);
    if (p->pid <= 0 || it_wait_ready(ready, "listen", p->addr, sizeof(p->addr), 10000) != 0) {
        return -1;
    }
    snprintf(p->ca, sizeof(p->ca), "%s/ca.crt", p->pki);
    return 0;
}

static inline int
it_px_start(struct it_px *p, const char *tag)
{
    return it_px_start_env(p, tag, NULL);
}

static inline int
it_px_stop(struct it_px *p)
{
    int st = it_stop(p->pid, SIGTERM, 10000);

    p->pid = 0;
    return st;
}

/* Sets up <p> with a fresh directory and PKI. */
static inline int
it_px_init(struct it_px *p, const char *tag)
{
    const char *d = it_tmpdir(tag);

    memset(p, 0, sizeof(*p));
    if (d == NULL) {
        return -1;
    }
    snprintf(p->dir, sizeof(p->dir), "%s", d);
    snprintf(p->pki, sizeof(p->pki), "%s/pki", d);
    return it_pki(p->pki);
}

/* A loopback address where nothing listens (a port bound, then closed). */
static inline void
it_px_dead_addr(char *out, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    snprintf(out, len, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    close(fd);
}

/* --- raw TLS: exact bytes --- */

struct it_raw {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static inline int
it_raw_open(struct it_raw *r, const struct it_px *p, const char *user)
{
    struct it_conn *tcp;
    char err[256];

    memset(r, 0, sizeof(*r));
    r->fd = -1;
    tcp = it_connect_tcp(p->addr, 5000);
    if (tcp == NULL) {
        return -1;
    }
    r->fd = dup(it_fd(tcp));
    it_close(tcp);
    r->ctx = px_tls_client_ctx(p->ca, user != NULL ? it_px_file(p, user, "crt") : NULL,
                               user != NULL ? it_px_file(p, user, "key") : NULL, err, sizeof(err));
    r->ssl = r->ctx != NULL ? px_tls_client_ssl(r->ctx, "127.0.0.1", err, sizeof(err)) : NULL;
    if (r->ssl == NULL) {
        return -1;
    }
    SSL_set_fd(r->ssl, r->fd);
    if (SSL_connect(r->ssl) != 1) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

static inline int
it_raw_send(struct it_raw *r, const char *s, size_t n)
{
    return SSL_write(r->ssl, s, (int)n) == (int)n ? 0 : -1;
}

/* Reads until <want> bytes, the peer closes, or <timeout_ms>. Returns the
 * bytes read (NUL-terminated in <buf>). *<closed> says whether the peer
 * closed. */
static inline size_t
it_raw_read(struct it_raw *r, char *buf, size_t cap, size_t want, int timeout_ms, int *closed)
{
    uint64_t end = it_px_now_ms() + (uint64_t)timeout_ms;
    size_t n = 0;

    *closed = 0;
    while (n < want && n + 1 < cap) {
        struct pollfd pfd = {r->fd, POLLIN, 0};
        uint64_t t = it_px_now_ms();
        int k;

        if (SSL_pending(r->ssl) == 0) {
            if (t >= end || poll(&pfd, 1, (int)(end - t)) <= 0) {
                break;
            }
        }
        k = SSL_read(r->ssl, buf + n, (int)(cap - 1 - n));
        if (k <= 0) {
            int e = SSL_get_error(r->ssl, k);

            ERR_clear_error();
            if (e == SSL_ERROR_WANT_READ) {
                continue;
            }
            *closed = 1;
            break;
        }
        n += (size_t)k;
    }
    buf[n] = '\0';
    return n;
}

static inline void
it_raw_close(struct it_raw *r)
{
    SSL_free(r->ssl);
    SSL_CTX_free(r->ctx);
    ERR_clear_error();
    if (r->fd >= 0) {
        close(r->fd);
    }
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

#endif /* IT_PROXY_H */
