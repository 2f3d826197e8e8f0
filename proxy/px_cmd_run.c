/* floodgate run: loads the configuration, builds the limiter and the TLS
 * contexts, opens the listener(s), starts the workers and the admin plane,
 * writes the ready file, then waits for signals: SIGHUP reloads;
 * SIGTERM/SIGINT drain and exit 0, and a second one exits at once. */
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
#include "px_admin.h"
#include "px_clock.h"
#include "px_cmd.h"
#include "px_creds.h"
#include "px_err.h"
#include "px_log.h"
#include "px_net.h"
#include "px_rejlog.h"
#include "px_reload.h"
#include "px_state.h"
#include "px_worker.h"

#define PX_MAX_WORKERS   256
#define PX_DRAIN_DEFAULT (10ull * PX_NS_PER_S)

struct run_opts {
    const char *config;
    const char *listen;
    const char *ready_file;
    const char *admin_listen; /* NULL: admin.address of the config */
    long workers;             /* 0: from the config */
    enum px_accept_mode accept;
    uint64_t drain_ns;
};

struct run {
    struct run_opts o;
    struct cf_config *cf;
    struct px_log *log;
    struct lim *lim;
    struct px_creds *creds; /* as at start: the workers' px_shared borrows its contexts */
    struct px_rejlog *rejlog;
    struct px_state *st;
    struct px_admin *admin;
    struct px_shared *sh;
    struct px_worker *workers[PX_MAX_WORKERS];
    unsigned nworkers;
    int fds[PX_MAX_WORKERS];
    char listen_addr[200];
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: floodgate [run] --config FILE [--listen ADDR] [--admin-listen ADDR]\n"
               "                 [--ready-file PATH] [--workers N] [--accept reuseport|handoff]\n"
               "                 [--drain-timeout D]\n");
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
        {"admin-listen", required_argument, NULL, 'A'},
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
    while ((ch = getopt_long(argc, argv, "c:l:r:A:w:a:d:h", opts, NULL)) != -1) {
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
        case 'A':
            o->admin_listen = optarg;
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
write_ready(const char *path, const char *listen, const char *admin, char *err, size_t errlen)
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
    if (admin[0] != '\0') {
        fprintf(f, "admin=%s\n", admin);
    }
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

/* The admin plane: its listeners (--admin-listen replaces admin.address),
 * probe and timers, over the process state. */
static int
build_admin(struct run *r, char *err, size_t errlen)
{
    struct px_admin_opts ao;

    r->rejlog = px_rejlog_new(r->cf->log.reject_log_per_s);
    r->st = px_state_new(r->lim, r->log, r->cf, r->creds);
    if (r->rejlog == NULL || r->st == NULL) {
        px_errf(err, errlen, "out of memory");
        return -1;
    }
    r->st->rejlog = r->rejlog;
    if (px_state_load_token(r->st, r->cf->admin.token_file, err, errlen) != 0) {
        return -1;
    }
    ao.address = r->o.admin_listen != NULL ? r->o.admin_listen : r->cf->admin.address;
    ao.socket = r->cf->admin.socket;
    r->admin = px_admin_new(r->st, &ao, err, errlen);
    return r->admin != NULL ? 0 : -1;
}

static int
build(struct run *r, char *err, size_t errlen)
{
    struct cf_config *cf = r->cf;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned i;

    r->lim = lim_new(cf->max_clients, seed64(), err, errlen);
    if (r->lim == NULL || lim_bind(r->lim, cf->policy, err, errlen) != 0) {
        return -1;
    }
    r->creds = px_creds_new(cf, err, errlen);
    if (r->creds == NULL || build_admin(r, err, errlen) != 0) {
        return -1;
    }
    r->sh = px_shared_new(r->lim, r->log, r->creds->server_tls, r->creds->upstream_tls,
                          r->creds->jwt, cf, err, errlen);
    if (r->sh == NULL) {
        return -1;
    }
    px_rejlog_attach(r->sh, r->rejlog);
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
    r->st->workers = r->workers;
    r->st->nworkers = r->nworkers;
    return 0;
}

static void
teardown(struct run *r)
{
    unsigned i;

    /* The admin plane reads the workers' counters: it stops first. */
    px_admin_free(r->admin);
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
    px_state_free(r->st);
    px_rejlog_free(r->rejlog);
    px_creds_unref(r->creds);
    lim_free(r->lim);
    cf_unref(r->cf);
    px_log_free(r->log);
}

/* Waits for the workers to finish draining while still taking signals:
 * a second SIGTERM or SIGINT means "now", and the process exits at once
 * (status 1: requests may have been cut). A SIGHUP is too late to apply. */
static void
wait_drained(struct run *r, const sigset_t *set)
{
    const struct timespec tick = {0, 50 * 1000 * 1000};

    for (;;) {
        unsigned i;
        int sig;

        for (i = 0; i < r->nworkers && px_worker_finished(r->workers[i]); i++) {
        }
        if (i == r->nworkers) {
            return;
        }
        sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            px_logf(r->log, PX_LOG_WARN, "%s during the drain: exiting now",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            _exit(1);
        }
        if (sig == SIGHUP) {
            px_logf(r->log, PX_LOG_WARN, "SIGHUP during the drain: not reloading");
        }
    }
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
    if (px_admin_start(r.admin, err, sizeof(err)) != 0) {
        px_logf(r.log, PX_LOG_ERROR, "cannot start the admin plane: %s", err);
        teardown(&r);
        return 1;
    }
    if (r.o.ready_file != NULL && write_ready(r.o.ready_file, r.listen_addr,
                                              px_admin_address(r.admin), err, sizeof(err)) != 0) {
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
                         {"config", r.cf->path, 0},
                         {"admin", px_admin_address(r.admin), 0},
                         {"admin_socket", r.cf->admin.socket, 0}},
                     6);
    }
    for (;;) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            (void)px_reload_run(r.st, "SIGHUP", err, sizeof(err)); /* it logs either way */
            continue;
        }
        break;
    }
    atomic_store(&r.st->draining, true);
    px_logf(r.log, PX_LOG_INFO, "%s: draining (%llu ms grace)",
            sig == SIGINT ? "SIGINT" : "SIGTERM",
            (unsigned long long)(r.o.drain_ns / PX_NS_PER_MS));
    for (i = 0; i < r.nworkers; i++) {
        px_worker_drain(r.workers[i], r.o.drain_ns);
    }
    wait_drained(&r, &set);
    for (i = 0; i < r.nworkers; i++) {
        px_worker_join(r.workers[i]);
    }
    px_logf(r.log, PX_LOG_INFO, "stopped");
    status = 0;
    teardown(&r);
    return status;
}
