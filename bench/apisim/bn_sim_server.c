/* The server: builds the pieces from the configuration, listens, runs the
 * one event loop (the model's timer, churn, signals). See bn_sim_server.h. */
#include "bn_sim_srv.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/pem.h>

#include "bn_sim_gen.h"
#include "px_clock.h"
#include "px_err.h"
#include "px_jwt.h"
#include "px_log.h"
#include "px_tls.h"

#define CHURN_TICK_MS  10   /* small bursts: watch streams flow, not lurch */
#define CHURN_MAX_TICK 1000 /* writes per tick at most: a bound, not a rate */

static void
on_cap_timer(evutil_socket_t fd, short what, void *arg)
{
    struct bn_sim_server *s = arg;
    uint64_t now = px_now_ns();

    (void)fd;
    (void)what;
    s->cap_timer_ns = UINT64_MAX;
    bn_sim_cap_advance(s->cap, now);
    bn_sim_server_kick(s, now);
}

static void
on_churn(evutil_socket_t fd, short what, void *arg)
{
    struct bn_sim_server *s = arg;
    uint64_t now = px_now_ns(), elapsed_ns = now - s->churn_last_ns;
    size_t n, done;

    (void)fd;
    (void)what;
    s->churn_last_ns = now;
    /* owed writes in nano-writes: exact at any rate, no drift; a loop stalled
     * for more than 10 s owes nothing more (rate <= 1e5 keeps this < 2^63) */
    if (elapsed_ns > 10 * PX_NS_PER_S) {
        elapsed_ns = 10 * PX_NS_PER_S;
    }
    s->churn_due_nw += s->cfg->churn_per_s * elapsed_ns;
    n = (size_t)(s->churn_due_nw / PX_NS_PER_S);
    if (n > CHURN_MAX_TICK) {
        n = CHURN_MAX_TICK;
        s->churn_due_nw = 0;
    } else {
        s->churn_due_nw -= (uint64_t)n * PX_NS_PER_S;
    }
    if (n == 0) {
        return;
    }
    done = bn_sim_gen_churn(s->store, &s->churn_rng, n, px_wall_s());
    s->metrics.churn_writes += done;
    /* kubelets' status writes load storage like any write */
    bn_sim_cap_background(s->cap, done * s->cfg->cost_write_ns, now);
    bn_sim_cap_advance(s->cap, now);
    bn_sim_server_kick(s, now);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct bn_sim_server *s = arg;

    (void)what;
    px_logf(s->log, PX_LOG_INFO, "signal %d: stopping", (int)sig);
    event_base_loopbreak(s->base);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    char host[INET6_ADDRSTRLEN] = "?", peer[64];
    int port = 0, one = 1, sndbuf = 256 * 1024;

    (void)l;
    (void)salen;
    /* a response is a head and a body written separately: without this,
     * Nagle and delayed ACKs add 40 ms to every one */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* what the kernel holds per connection is bounded too (no autotuning to
     * megabytes): a watcher that does not read shows up in our buffer soon */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
        port = ntohs(((struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
        port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
    }
    snprintf(peer, sizeof(peer), "%s:%d", host, port);
    bn_sim_conn_accept(arg, fd, peer);
}

/* Trusts and advertises the certificates of <path> as well. */
static int
add_ca(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    X509 *x;
    int n = 0;

    if (f == NULL || SSL_CTX_load_verify_locations(ctx, path, NULL) != 1) {
        if (f != NULL) {
            fclose(f);
        }
        px_tls_errf(err, errlen, path);
        return -1;
    }
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        n += SSL_CTX_add_client_CA(ctx, x) == 1;
        X509_free(x);
    }
    fclose(f);
    px_tls_clear_errors();
    if (n == 0) {
        px_errf(err, errlen, "%s: no CA certificate", path);
        return -1;
    }
    return 0;
}

static SSL_CTX *
tls_ctx(const struct bn_sim_config *cfg, char *err, size_t errlen)
{
    struct px_tls_server_opts o = {0};
    const char *extra = NULL;
    SSL_CTX *ctx;

    o.cert = cfg->cert;
    o.key = cfg->key;
    /* ask for a certificate, accept any: authentication verifies it against
     * each CA on its own, after the handshake, as kube-apiserver does */
    if (cfg->client_ca[0] != '\0' || cfg->requestheader_ca[0] != '\0') {
        o.verify = PX_TLS_VERIFY_OPTIONAL;
        o.client_ca = cfg->client_ca[0] != '\0' ? cfg->client_ca : cfg->requestheader_ca;
        extra = cfg->client_ca[0] != '\0' && cfg->requestheader_ca[0] != '\0'
                    ? cfg->requestheader_ca
                    : NULL;
    }
    ctx = px_tls_server_ctx(&o, err, errlen);
    if (ctx != NULL && extra != NULL && add_ca(ctx, extra, err, errlen) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int
jwt_keys(struct bn_sim_server *s, char *err, size_t errlen)
{
    const struct bn_sim_config *cfg = s->cfg;
    const char *paths[BN_SIM_CFG_LIST], *iss[BN_SIM_CFG_LIST], *aud[BN_SIM_CFG_LIST];
    size_t i, niss = cfg->nsa_issuers, naud = cfg->napi_audiences;

    if (cfg->nsa_key_files == 0) {
        return 0;
    }
    for (i = 0; i < cfg->nsa_key_files; i++) {
        paths[i] = cfg->sa_key_files[i];
    }
    for (i = 0; i < niss; i++) {
        iss[i] = cfg->sa_issuers[i];
    }
    if (niss == 0) {
        iss[niss++] = "https://kubernetes.default.svc.cluster.local";
    }
    for (i = 0; i < naud; i++) {
        aud[i] = cfg->api_audiences[i];
    }
    if (naud == 0) {
        /* kube-apiserver: --api-audiences defaults to the issuers */
        for (i = 0; i < niss; i++) {
            aud[naud++] = iss[i];
        }
    }
    s->jwt = px_jwt_keys_new(paths, cfg->nsa_key_files, iss, niss, aud, naud, err, errlen);
    return s->jwt != NULL ? 0 : -1;
}

static int
auth(struct bn_sim_server *s, char *err, size_t errlen)
{
    const struct bn_sim_config *cfg = s->cfg;
    const char *names[BN_SIM_CFG_LIST];
    struct bn_sim_auth_opts o = {0};
    size_t i;

    for (i = 0; i < cfg->nallowed_names; i++) {
        names[i] = cfg->allowed_names[i];
    }
    o.client_ca = cfg->client_ca;
    o.requestheader_ca = cfg->requestheader_ca;
    o.allowed_names = names;
    o.nallowed = cfg->nallowed_names;
    o.jwt = s->jwt;
    o.anonymous = cfg->anonymous_auth;
    s->auth = bn_sim_auth_new(&o, err, errlen);
    return s->auth != NULL ? 0 : -1;
}

/* HOST:PORT or [V6]:PORT; port 0 picks a free port (libevent's own parser
 * refuses 0). */
static int
parse_listen(const char *spec, struct sockaddr_storage *ss, int *slen)
{
    char host[256];
    const char *colon, *port;
    struct addrinfo hints, *ai = NULL;

    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');

        if (rb == NULL || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = '\0';
        port = rb + 2;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &ai) != 0) {
        return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *slen = (int)ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int
listen_on(struct bn_sim_server *s, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int slen = (int)sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    memset(&ss, 0, sizeof(ss));
    if (parse_listen(s->cfg->listen, &ss, &slen) != 0) {
        px_errf(err, errlen, "listen: cannot parse \"%s\" (HOST:PORT or [V6]:PORT)",
                s->cfg->listen);
        return -1;
    }
    s->listener =
        evconnlistener_new_bind(s->base, on_accept, s, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE,
                                1024, (struct sockaddr *)&ss, slen);
    if (s->listener == NULL) {
        px_errf(err, errlen, "listen %s: %s", s->cfg->listen,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return -1;
    }
    getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
        snprintf(s->addr, sizeof(s->addr), "[%s]:%d", host,
                 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
        snprintf(s->addr, sizeof(s->addr), "%s:%d", host,
                 ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    return 0;
}

static int
model(struct bn_sim_server *s, char *err, size_t errlen)
{
    const struct bn_sim_config *cfg = s->cfg;
    struct bn_sim_cap_params p = {
        .slots = (uint32_t)cfg->slots,
        .max_inflight = (uint32_t)cfg->max_inflight,
        .max_mutating_inflight = (uint32_t)cfg->max_mutating_inflight,
        .queue_timeout_ns = cfg->queue_timeout_ns,
        .max_debt_ns = cfg->max_debt_ns,
    };

    s->cap = bn_sim_cap_new(&p, err, errlen);
    return s->cap != NULL ? 0 : -1;
}

struct bn_sim_server *
bn_sim_server_new(const struct bn_sim_config *cfg, struct px_log *log, char *err, size_t errlen)
{
    struct bn_sim_server *s = calloc(1, sizeof(*s));
    struct bn_sim_gen_opts gen = {cfg->nodes, cfg->pods_per_node, px_wall_s()};
    struct timeval tick = {0, CHURN_TICK_MS * 1000};
    uint64_t t0 = px_now_ns();

    if (s == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->log = log;
    s->cap_timer_ns = UINT64_MAX;
    s->rng = cfg->seed ^ 0x5bd1e995ull;
    s->churn_rng = cfg->seed;
    if (cfg->cert[0] == '\0' || cfg->key[0] == '\0') {
        px_errf(err, errlen,
                "--cert and --key are required (deploy/pki.sh --test DIR makes "
                "apiserver.crt/key)");
        goto fail;
    }
    if ((s->base = event_base_new()) == NULL) {
        px_errf(err, errlen, "event_base_new failed");
        goto fail;
    }
    if ((s->ssl_ctx = tls_ctx(cfg, err, errlen)) == NULL || jwt_keys(s, err, errlen) != 0 ||
        auth(s, err, errlen) != 0 || model(s, err, errlen) != 0) {
        goto fail;
    }
    if ((s->store = bn_sim_store_new(cfg->event_window, cfg->seed, err, errlen)) == NULL ||
        bn_sim_gen_cluster(s->store, &gen, err, errlen) != 0) {
        goto fail;
    }
    px_logf(log, PX_LOG_INFO, "generated %" PRIu64 " nodes, %" PRIu64 " pods in %" PRIu64 " ms",
            cfg->nodes, cfg->nodes * cfg->pods_per_node,
            (uint64_t)((px_now_ns() - t0) / PX_NS_PER_MS));
    if ((s->reqlog = bn_sim_reqlog_new(cfg->request_log)) == NULL ||
        (s->cap_timer = evtimer_new(s->base, on_cap_timer, s)) == NULL ||
        (s->churn_timer = event_new(s->base, -1, EV_PERSIST, on_churn, s)) == NULL ||
        (s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s)) == NULL ||
        (s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s)) == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (listen_on(s, err, errlen) != 0 || (s->disc = bn_sim_discovery_new(s->addr)) == NULL) {
        if (err[0] == '\0') {
            px_errf(err, errlen, "out of memory");
        }
        goto fail;
    }
    s->churn_last_ns = px_now_ns();
    if (cfg->churn_per_s > 0) {
        event_add(s->churn_timer, &tick);
    }
    return s;

fail:
    bn_sim_server_free(s);
    return NULL;
}

const char *
bn_sim_server_addr(const struct bn_sim_server *s)
{
    return s->addr;
}

int
bn_sim_server_run(struct bn_sim_server *s, int signals)
{
    if (signals) {
        event_add(s->sig_term, NULL);
        event_add(s->sig_int, NULL);
    }
    return event_base_dispatch(s->base) < 0 ? -1 : 0;
}

void
bn_sim_server_stop(struct bn_sim_server *s)
{
    event_base_loopbreak(s->base);
}

void
bn_sim_server_free(struct bn_sim_server *s)
{
    if (s == NULL) {
        return;
    }
    while (s->conns != NULL) {
        bn_sim_conn_close(s->conns, "server stopping");
    }
    if (s->listener != NULL) {
        evconnlistener_free(s->listener);
    }
    if (s->cap_timer != NULL) {
        event_free(s->cap_timer);
    }
    if (s->churn_timer != NULL) {
        event_free(s->churn_timer);
    }
    if (s->sig_term != NULL) {
        event_free(s->sig_term);
    }
    if (s->sig_int != NULL) {
        event_free(s->sig_int);
    }
    bn_sim_discovery_free(s->disc);
    bn_sim_reqlog_free(s->reqlog);
    bn_sim_store_free(s->store);
    bn_sim_cap_free(s->cap);
    bn_sim_auth_free(s->auth);
    px_jwt_keys_free(s->jwt);
    SSL_CTX_free(s->ssl_ctx);
    if (s->base != NULL) {
        event_base_free(s->base);
    }
    free(s);
}
