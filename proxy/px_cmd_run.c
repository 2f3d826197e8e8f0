/* floodgate run: loads the configuration, builds the limiter and the TLS
 * contexts, opens the listener(s), starts the workers, writes the ready
 * file, then waits for signals: SIGTERM/SIGINT drain and exit. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/thread.h>
#include <netinet/in.h>

#include "cf.h"
#include "lim.h"
#include "px_clock.h"
#include "px_cmd.h"
#include "px_err.h"
#include "px_jwt.h"
#include "px_log.h"
#include "px_net.h"
#include "px_tls.h"
#include "px_worker.h"

#define PX_MAX_WORKERS   256
#define PX_DRAIN_DEFAULT (10ull * PX_NS_PER_S)

struct run_opts {
    const char *config;
    const char *listen;
    const char *ready_file;
    long workers; /* 0: from the config */
    enum px_accept_mode accept;
    uint64_t drain_ns;
};

struct run {
    struct run_opts o;
    struct cf_config *cf;
    struct px_log *log;
    struct lim *lim;
    SSL_CTX *server_tls;
    SSL_CTX *upstream_tls;
    struct px_jwt_keys *jwt;
    struct px_shared *sh;
    struct px_worker *workers[PX_MAX_WORKERS];
    unsigned nworkers;
    int fds[PX_MAX_WORKERS];
    char listen_addr[200];
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: floodgate [run] --config FILE [--listen ADDR] [--ready-file PATH]\n"
               "                 [--workers N] [--accept reuseport|handoff] [--drain-timeout D]\n");
}

static uint64_t
seed64(void)
{
    uint64_t s = 0;

    if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
        s = px_now_ns() ^ ((uint64_t)getpid() << 32);
    }
    return s;
}

static int
parse_args(int argc, char **argv, struct run_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"ready-file", required_argument, NULL, 'r'},
        {"workers", required_argument, NULL, 'w'},
        {"accept", required_argument, NULL, 'a'},
        {"drain-timeout", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    char *end;

    memset(o, 0, sizeof(*o));
    o->drain_ns = PX_DRAIN_DEFAULT;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:l:r:w:a:d:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'r':
            o->ready_file = optarg;
            break;
        case 'w':
            errno = 0;
            o->workers = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || o->workers < 1 || o->workers > PX_MAX_WORKERS) {
                fprintf(stderr, "floodgate: --workers: expected 1..%d, got \"%s\"\n",
                        PX_MAX_WORKERS, optarg);
                return -1;
            }
            break;
        case 'a':
            if (strcmp(optarg, "reuseport") == 0) {
                o->accept = PX_ACCEPT_REUSEPORT;
            } else if (strcmp(optarg, "handoff") == 0) {
                o->accept = PX_ACCEPT_HANDOFF;
            } else {
                fprintf(stderr, "floodgate: --accept: expected reuseport or handoff\n");
                return -1;
            }
            break;
        case 'd':
            if (cf_parse_duration(optarg, &o->drain_ns) != 0) {
                fprintf(stderr, "floodgate: --drain-timeout: expected a duration, got \"%s\"\n",
                        optarg);
                return -1;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || o->config == NULL) {
        fprintf(stderr, "floodgate: %s\n",
                o->config == NULL ? "--config is required" : "unexpected argument");
        return -1;
    }
    return 0;
}

static int
write_ready(const char *path, const char *listen, char *err, size_t errlen)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        px_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "listen=%s\n", listen);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        px_errf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The listening sockets: one per worker sharing a port (SO_REUSEPORT; the
 * first fixes the port when 0 was asked), or one for worker 0 to hand off. */
static int
open_listeners(struct run *r, char *err, size_t errlen)
{
    const char *addr = r->o.listen != NULL ? r->o.listen : r->cf->listen.address;
    struct px_addr a;
    bool reuse = r->o.accept == PX_ACCEPT_REUSEPORT;
    unsigned i;

    if (px_net_parse(addr, &a, err, errlen) != 0) {
        return -1;
    }
    for (i = 0; i < r->nworkers; i++) {
        r->fds[i] = -1;
    }
    r->fds[0] = px_net_listen(&a, reuse, 4096, err, errlen);
    if (r->fds[0] == -1 || px_net_local(r->fds[0], r->listen_addr, sizeof(r->listen_addr)) != 0) {
        return -1;
    }
    if (!reuse) {
        return 0;
    }
    {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (getsockname(r->fds[0], (struct sockaddr *)&ss, &len) == -1) {
            px_errf(err, errlen, "getsockname: %s", strerror(errno));
            return -1;
        }
        memcpy(&a.ss, &ss, len); /* the port the first socket got */
        a.len = len;
    }
    for (i = 1; i < r->nworkers; i++) {
        r->fds[i] = px_net_listen(&a, true, 4096, err, errlen);
        if (r->fds[i] == -1) {
            return -1;
        }
    }
    return 0;
}

static int
build(struct run *r, char *err, size_t errlen)
{
    struct cf_config *cf = r->cf;
    struct px_tls_server_opts so;
    static const enum px_tls_verify verify[] = {PX_TLS_VERIFY_OFF, PX_TLS_VERIFY_OPTIONAL,
                                                PX_TLS_VERIFY_REQUIRED};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned i;

    r->lim = lim_new(cf->max_clients, seed64(), err, errlen);
    if (r->lim == NULL || lim_bind(r->lim, cf->policy, err, errlen) != 0) {
        return -1;
    }
    memset(&so, 0, sizeof(so));
    so.cert = cf->listen.cert;
    so.key = cf->listen.key;
    so.client_ca = cf->listen.client_ca;
    so.verify = verify[cf->listen.client_auth];
    so.min_version = cf->listen.tls_min_version;
    r->server_tls = px_tls_server_ctx(&so, err, errlen);
    if (r->server_tls == NULL) {
        return -1;
    }
    r->upstream_tls = px_tls_client_ctx(cf->upstream.ca, cf->upstream.client_cert,
                                        cf->upstream.client_key, err, errlen);
    if (r->upstream_tls == NULL) {
        return -1;
    }
    if (cf->auth.nkeys > 0) {
        r->jwt = px_jwt_keys_new((const char *const *)cf->auth.keys, cf->auth.nkeys,
                                 (const char *const *)cf->auth.issuers, cf->auth.nissuers,
                                 (const char *const *)cf->auth.audiences, cf->auth.naudiences, err,
                                 errlen);
        if (r->jwt == NULL) {
            return -1;
        }
    }
    r->sh = px_shared_new(r->lim, r->log, r->server_tls, r->upstream_tls, r->jwt, cf, err, errlen);
    if (r->sh == NULL) {
        return -1;
    }
    r->nworkers = (unsigned)(r->o.workers > 0         ? r->o.workers
                             : cf->listen.workers > 0 ? cf->listen.workers
                             : ncpu > 0               ? ncpu
                                                      : 1);
    if (r->nworkers > PX_MAX_WORKERS) {
        r->nworkers = PX_MAX_WORKERS;
    }
    if (open_listeners(r, err, errlen) != 0) {
        return -1;
    }
    for (i = 0; i < r->nworkers; i++) {
        struct px_worker_opts wo;

        memset(&wo, 0, sizeof(wo));
        wo.id = i;
        wo.shared = r->sh;
        wo.cf = cf;
        wo.listen_fd = r->fds[i];
        wo.seed = seed64();
        if (i == 0 && r->o.accept == PX_ACCEPT_HANDOFF) {
            wo.peers = r->workers;
            wo.npeers = r->nworkers;
        }
        r->fds[i] = -1; /* the worker owns it now, even on failure */
        r->workers[i] = px_worker_new(&wo, err, errlen);
        if (r->workers[i] == NULL) {
            return -1;
        }
    }
    return 0;
}

static void
teardown(struct run *r)
{
    unsigned i;

    for (i = 0; i < r->nworkers; i++) {
        if (r->workers[i] != NULL) {
            px_worker_drain(r->workers[i], 0);
            px_worker_join(r->workers[i]);
        }
    }
    for (i = 0; i < r->nworkers; i++) {
        px_worker_free(r->workers[i]);
        if (r->fds[i] > 0) {
            close(r->fds[i]);
        }
    }
    px_shared_free(r->sh);
    px_jwt_keys_free(r->jwt);
    SSL_CTX_free(r->server_tls);
    SSL_CTX_free(r->upstream_tls);
    lim_free(r->lim);
    cf_unref(r->cf);
    px_log_free(r->log);
}

int
px_cmd_run(int argc, char **argv)
{
    struct run r;
    char err[CF_ERRLEN];
    sigset_t set;
    unsigned i;
    int sig = 0, status = 1;

    memset(&r, 0, sizeof(r));
    if (parse_args(argc, argv, &r.o) != 0) {
        usage(stderr);
        return 2;
    }
    if (cf_load(r.o.config, &r.cf, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate: %s\n", err);
        return 1;
    }
    r.log = px_log_new(STDERR_FILENO, (enum px_log_level)r.cf->log.level,
                       r.cf->log.format == CF_LOG_TEXT ? PX_LOG_TEXT : PX_LOG_JSON);
    if (r.log == NULL || evthread_use_pthreads() != 0) {
        fprintf(stderr, "floodgate: out of memory\n");
        teardown(&r);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Workers inherit this mask: only this thread takes the signals. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (build(&r, err, sizeof(err)) != 0) {
        px_logf(r.log, PX_LOG_ERROR, "cannot start: %s", err);
        teardown(&r);
        return 1;
    }
    for (i = 0; i < r.nworkers; i++) {
        if (px_worker_start(r.workers[i], err, sizeof(err)) != 0) {
            px_logf(r.log, PX_LOG_ERROR, "cannot start: %s", err);
            teardown(&r);
            return 1;
        }
    }
    if (r.o.ready_file != NULL &&
        write_ready(r.o.ready_file, r.listen_addr, err, sizeof(err)) != 0) {
        px_logf(r.log, PX_LOG_ERROR, "cannot write the ready file: %s", err);
        teardown(&r);
        return 1;
    }
    {
        char n[16];

        snprintf(n, sizeof(n), "%u", r.nworkers);
        px_log_event(r.log, PX_LOG_INFO, "listening",
                     (struct px_log_field[]){
                         {"listen", r.listen_addr, 0},
                         {"workers", n, 0},
                         {"accept", r.o.accept == PX_ACCEPT_HANDOFF ? "handoff" : "reuseport", 0},
                         {"config", r.cf->path, 0}},
                     4);
    }
    for (;;) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            px_logf(r.log, PX_LOG_WARN,
                    "SIGHUP: configuration reload is not supported yet; "
                    "restart to apply changes");
            continue;
        }
        break;
    }
    px_logf(r.log, PX_LOG_INFO, "%s: draining (%llu ms grace)",
            sig == SIGINT ? "SIGINT" : "SIGTERM",
            (unsigned long long)(r.o.drain_ns / PX_NS_PER_MS));
    for (i = 0; i < r.nworkers; i++) {
        px_worker_drain(r.workers[i], r.o.drain_ns);
    }
    for (i = 0; i < r.nworkers; i++) {
        px_worker_join(r.workers[i]);
    }
    px_logf(r.log, PX_LOG_INFO, "stopped");
    status = 0;
    teardown(&r);
    return status;
}
