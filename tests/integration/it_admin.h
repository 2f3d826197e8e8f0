/* Helpers for the admin-plane integration tests (it_admin_*.c): a
 * floodgate with its admin listener in front of floodgate-apisim, plain
 * HTTP/1.1 to the admin endpoint over TCP or a unix socket, and reading
 * values out of a Prometheus exposition. Header-only (static inline) so
 * each test program takes what it uses. */
#ifndef IT_ADMIN_H
#define IT_ADMIN_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "itlib.h"

struct it_fg {
    char dir[512];
    char pki[600];
    char cfg[700];
    char log[700];
    char addr[128];  /* floodgate's public listener */
    char admin[128]; /* its admin listener, "" when none */
    char ca[700];
    char upstream[128]; /* the apiserver address in the config */
    pid_t pid;
    pid_t sim;
};

static inline uint64_t
it_fg_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void
it_fg_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* "<pki>/<name>.<ext>" in rotating static buffers. */
static inline const char *
it_fg_file(const struct it_fg *f, const char *name, const char *ext)
{
    static char bufs[8][800];
    static unsigned next;
    char *out = bufs[next++ % 8];

    snprintf(out, sizeof(bufs[0]), "%s/%s.%s", f->pki, name, ext);
    return out;
}

/* A fresh directory with a test PKI. */
static inline int
it_fg_init(struct it_fg *f, const char *tag)
{
    const char *d = it_tmpdir(tag);

    memset(f, 0, sizeof(*f));
    if (d == NULL) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "%s", d);
    snprintf(f->pki, sizeof(f->pki), "%s/pki", d);
    snprintf(f->cfg, sizeof(f->cfg), "%s/floodgate.json", d);
    snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", f->pki);
    return it_pki(f->pki);
}

/* A loopback address where nothing listens yet (a port bound, then
 * closed): give it to floodgate as its upstream, start the simulator on it
 * later. */
static inline void
it_fg_free_addr(char *out, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    snprintf(out, len, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    close(fd);
}

/* Starts floodgate-apisim on <listen> ("127.0.0.1:0" for any port) with
 * the PKI of <f> and the extra arguments <extra> (NULL-terminated, may be
 * NULL); f->upstream gets its address. */
static inline int
it_fg_sim(struct it_fg *f, const char *listen, const char *const *extra)
{
    char ready[700], log[700], cert[700], key[700], ca[700], fp[700], sa[700];
    char *argv[48];
    int n = 0;

    snprintf(ready, sizeof(ready), "%s/apisim.ready", f->dir);
    snprintf(log, sizeof(log), "%s/apisim.log", f->dir);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", f->pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", f->pki);
    snprintf(ca, sizeof(ca), "%s/ca.crt", f->pki);
    snprintf(fp, sizeof(fp), "%s/front-proxy-ca.crt", f->pki);
    snprintf(sa, sizeof(sa), "%s/sa.pub", f->pki);
    unlink(ready);
    argv[n++] = (char *)it_bin("floodgate-apisim");
    argv[n++] = (char *)"--listen";
    argv[n++] = (char *)listen;
    argv[n++] = (char *)"--ready-file";
    argv[n++] = ready;
    argv[n++] = (char *)"--cert";
    argv[n++] = cert;
    argv[n++] = (char *)"--key";
    argv[n++] = key;
    argv[n++] = (char *)"--client-ca";
    argv[n++] = ca;
    argv[n++] = (char *)"--requestheader-client-ca";
    argv[n++] = fp;
    argv[n++] = (char *)"--service-account-key-file";
    argv[n++] = sa;
    argv[n++] = (char *)"--nodes";
    argv[n++] = (char *)"10";
    argv[n++] = (char *)"--pods-per-node";
    argv[n++] = (char *)"2";
    argv[n++] = (char *)"--churn-per-s";
    argv[n++] = (char *)"2";
    while (extra != NULL && *extra != NULL && n < 46) {
        argv[n++] = (char *)*extra++;
    }
    argv[n] = NULL;
    f->sim = it_spawn(argv, NULL, log);
    if (f->sim <= 0 ||
        it_wait_ready(ready, "listen", f->upstream, sizeof(f->upstream), 10000) != 0) {
        return -1;
    }
    return 0;
}

/* Writes f->cfg: the listener with this PKI (one worker), upstream
 * f->upstream verified as "localhost" with the front-proxy certificate,
 * "admin": {<admin>}, "log": {<log>} and "limits": {<limits>} (object
 * bodies without braces). */
static inline int
it_fg_config(struct it_fg *f, const char *admin, const char *log, const char *limits)
{
    FILE *out = fopen(f->cfg, "w");

    if (out == NULL) {
        return -1;
    }
    fprintf(out,
            "{\n"
            " \"listen\": {\"address\": \"127.0.0.1:0\", \"cert\": \"%s/floodgate.crt\",\n"
            "   \"key\": \"%s/floodgate.key\", \"client_ca\": \"%s/ca.crt\", \"workers\": 1},\n"
            " \"upstream\": {\"servers\": [\"%s\"], \"ca\": \"%s/ca.crt\",\n"
            "   \"server_name\": \"localhost\", \"health_interval\": \"200ms\",\n"
            "   \"connect_timeout\": \"1s\",\n"
            "   \"client_cert\": \"%s/front-proxy-client.crt\",\n"
            "   \"client_key\": \"%s/front-proxy-client.key\"},\n"
            " \"auth\": {\"issuers\": [\"https://kubernetes.default.svc.cluster.local\"],\n"
            "   \"keys\": [\"%s/sa.pub\"]},\n"
            " \"admin\": {%s},\n"
            " \"log\": {%s},\n"
            " \"limits\": {%s}\n"
            "}\n",
            f->pki, f->pki, f->pki, f->upstream, f->pki, f->pki, f->pki, f->pki, admin, log,
            limits);
    return fclose(out);
}

/* Starts floodgate on f->cfg with <extra> arguments (NULL-terminated, may
 * be NULL; "--admin-listen 127.0.0.1:0" is added unless <no_admin_flag>)
 * and waits for its ready file. */
static inline int
it_fg_start(struct it_fg *f, const char *tag, const char *const *extra, int no_admin_flag)
{
    char ready[700];
    char *argv[24];
    int n = 0;

    snprintf(ready, sizeof(ready), "%s/floodgate-%s.ready", f->dir, tag);
    snprintf(f->log, sizeof(f->log), "%s/floodgate-%s.log", f->dir, tag);
    unlink(ready);
    argv[n++] = (char *)it_bin("floodgate");
    argv[n++] = (char *)"run";
    argv[n++] = (char *)"--config";
    argv[n++] = f->cfg;
    argv[n++] = (char *)"--ready-file";
    argv[n++] = ready;
    if (!no_admin_flag) {
        argv[n++] = (char *)"--admin-listen";
        argv[n++] = (char *)"127.0.0.1:0";
    }
    while (extra != NULL && *extra != NULL && n < 22) {
        argv[n++] = (char *)*extra++;
    }
    argv[n] = NULL;
    f->admin[0] = '\0';
    f->pid = it_spawn(argv, NULL, f->log);
    if (f->pid <= 0 || it_wait_ready(ready, "listen", f->addr, sizeof(f->addr), 10000) != 0) {
        return -1;
    }
    if (!no_admin_flag && it_wait_ready(ready, "admin", f->admin, sizeof(f->admin), 1000) != 0) {
        return -1;
    }
    return 0;
}

/* --- plain HTTP to the admin endpoint --- */

static inline int
it_fg_dial(const char *addr)
{
    int fd;

    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un un;

        memset(&un, 0, sizeof(un));
        un.sun_family = AF_UNIX;
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", addr + 5);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0) {
            close(fd);
            fd = -1;
        }
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        char host[64];
        const char *colon = strrchr(addr, ':');

        if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        inet_pton(AF_INET, host, &sa.sin_addr);
        sa.sin_port = htons((uint16_t)atoi(colon + 1));
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            close(fd);
            fd = -1;
        }
    }
    return fd;
}

/* One request on a fresh connection to <addr> ("HOST:PORT" or
 * "unix:/path"), "Connection: close", with raw header lines <headers> (or
 * NULL) and <body> (or NULL). Returns the status (the body, NUL-terminated
 * and truncated to <outlen>, in <out>), or -1. */
static inline int
it_fg_http(const char *addr, const char *method, const char *path, const char *headers,
           const char *body, char *out, size_t outlen)
{
    static char buf[1 << 20];
    char req[4096];
    size_t n = 0, blen = body != NULL ? strlen(body) : 0;
    int fd = it_fg_dial(addr), status = -1, len;
    uint64_t end = it_fg_now_ms() + 10000;
    const char *sep;

    if (fd < 0) {
        return -1;
    }
    len = snprintf(req, sizeof(req),
                   "%s %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n%sContent-Length: "
                   "%zu\r\n\r\n",
                   method, path, headers != NULL ? headers : "", blen);
    if (write(fd, req, (size_t)len) != len ||
        (blen > 0 && write(fd, body, blen) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    while (n + 1 < sizeof(buf)) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = it_fg_now_ms();
        ssize_t k;

        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0) {
            break;
        }
        k = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (k <= 0) {
            break;
        }
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        return -1;
    }
    sep = strstr(buf, "\r\n\r\n");
    if (out != NULL && outlen > 0) {
        snprintf(out, outlen, "%s", sep != NULL ? sep + 4 : "");
    }
    return status;
}

/* The value of the sample whose name and labels are exactly <series>
 * (`floodgate_x{a="b"}`) in exposition <text>; -1 when absent. */
static inline double
it_fg_metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p += n;
    }
    return -1;
}

/* Scrapes the admin endpoint of <f> and returns the value of <series>. */
static inline double
it_fg_scrape(const struct it_fg *f, const char *series)
{
    static char text[1 << 20];

    if (it_fg_http(f->admin, "GET", "/metrics", NULL, NULL, text, sizeof(text)) != 200) {
        return -2;
    }
    return it_fg_metric(text, series);
}

/* Lines of file <path> containing <needle>. */
static inline long
it_fg_count_lines(const char *path, const char *needle)
{
    FILE *in = fopen(path, "r");
    char line[8192];
    long n = 0;

    if (in == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), in) != NULL) {
        if (strstr(line, needle) != NULL) {
            n++;
        }
    }
    fclose(in);
    return n;
}

/* Polls until <series> reaches at least <want> (or <timeout_ms>). */
static inline double
it_fg_wait_metric(const struct it_fg *f, const char *series, double want, int timeout_ms)
{
    uint64_t end = it_fg_now_ms() + (uint64_t)timeout_ms;
    double v;

    do {
        v = it_fg_scrape(f, series);
        if (v >= want) {
            return v;
        }
        it_fg_sleep_ms(50);
    } while (it_fg_now_ms() < end);
    return v;
}

#endif /* IT_ADMIN_H */
