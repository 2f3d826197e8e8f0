/* Threads and the reporter loop: see bn_load_runner.h. */
#include "bn_load_runner.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/event.h>

#include "bn_load_ident.h"
#include "bn_load_member.h"
#include "bn_load_report.h"
#include "bn_load_scenario.h"
#include "bn_load_stats.h"
#include "px_clock.h"
#include "px_err.h"
#include "px_tls.h"

#define SLOTS          4 /* seconds a worker may run ahead of the reporter */
#define RBUF_BYTES     (64 * 1024)
#define POLL_NS        (100 * PX_NS_PER_MS) /* how often workers look at the stop flag */
#define START_DELAY_NS (100 * PX_NS_PER_MS)
#define COLLECT_NS     (3 * PX_NS_PER_S) /* longest wait for a late worker's second */

struct slot {
    int64_t sec; /* -1: empty */
    struct bn_counts *counts;
    struct bn_hist *lat;
    int64_t *open;
};

struct worker {
    struct bn_run *run;
    pthread_t th;
    bool started;
    atomic_bool done;
    struct bn_wctx ctx;
    struct bn_member **members;
    size_t nmembers, cap;
    struct event *tick, *end, *poll;
    uint64_t next_sec; /* the next second to hand over */
    pthread_mutex_t mu;
    struct slot slots[SLOTS];
};

struct bn_run {
    struct bn_run_cfg cfg;
    const struct bn_scn *scn;
    size_t npops;
    SSL_CTX *ctx;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host_header[600];
    struct worker *w;
    size_t nw;
    uint64_t origin_ns, nsecs;
    atomic_int stop;
};

/* --- worker thread ----------------------------------------------------- */

static void
arm_abs(struct event *ev, uint64_t at, uint64_t now)
{
    uint64_t d = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(d / PX_NS_PER_S), (suseconds_t)(d % PX_NS_PER_S / 1000)};

    event_add(ev, &tv);
}

/* Hands the current second's counters to the reporter and starts afresh. */
static void
publish(struct worker *w)
{
    struct slot *s = &w->slots[w->next_sec % SLOTS];
    size_t p;

    pthread_mutex_lock(&w->mu);
    s->sec = (int64_t)w->next_sec;
    for (p = 0; p < w->run->npops; p++) {
        struct bn_pop_stats *st = &w->ctx.stats[p];

        s->counts[p] = st->sec;
        s->lat[p] = st->lat_sec;
        s->open[p] = st->open_watches;
        memset(&st->sec, 0, sizeof(st->sec));
        bn_hist_init(&st->lat_sec);
    }
    pthread_mutex_unlock(&w->mu);
    w->next_sec++;
}

static void
finish(struct worker *w)
{
    uint64_t end = w->run->origin_ns + w->run->scn->duration_ns, now = px_now_ns();
    size_t i;

    if (!w->ctx.stopping) {
        w->ctx.stopping = true;
        /* Due by the end of the run, not by when this timer ran. */
        for (i = 0; i < w->nmembers; i++) {
            bn_member_count_unsent(w->members[i], now < end ? now : end);
        }
        publish(w);
        event_base_loopbreak(w->ctx.env.base);
    }
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd;
    (void)what;
    publish(w);
    /* The last second is handed over by on_end, partial or not. */
    if (w->next_sec + 1 < w->run->nsecs) {
        arm_abs(w->tick, w->run->origin_ns + (w->next_sec + 1) * PX_NS_PER_S, px_now_ns());
    }
}

static void
on_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tv = {0, (suseconds_t)(POLL_NS / 1000)};

    (void)fd;
    (void)what;
    if (atomic_load(&w->run->stop)) {
        finish(w);
        return;
    }
    event_add(w->poll, &tv);
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct bn_run *r = w->run;
    uint64_t now = px_now_ns();
    struct timeval tv = {0, (suseconds_t)(POLL_NS / 1000)};
    size_t i;

    for (i = 0; i < w->nmembers; i++) {
        bn_member_arm(w->members[i], r->origin_ns);
    }
    if (r->nsecs > 1) {
        arm_abs(w->tick, r->origin_ns + PX_NS_PER_S, now);
    }
    arm_abs(w->end, r->origin_ns + r->scn->duration_ns, now);
    event_add(w->poll, &tv);
    event_base_dispatch(w->ctx.env.base);
    atomic_store(&w->done, true);
    return NULL;
}

/* --- set-up ------------------------------------------------------------ */

uint64_t
bn_run_fds_needed(const struct bn_scn *s)
{
    uint64_t n = 64;
    size_t p;

    for (p = 0; p < s->npops; p++) {
        n += (uint64_t)s->pops[p].count * (s->pops[p].nwatches + (s->pops[p].nrequests > 0));
    }
    return n;
}

static int
raise_nofile(const struct bn_scn *s, char *err, size_t errlen)
{
    uint64_t need = bn_run_fds_needed(s);
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        px_errf(err, errlen, "getrlimit: %s", strerror(errno));
        return -1;
    }
    if (rl.rlim_cur >= need) {
        return 0;
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        px_errf(err, errlen,
                "the scenario holds %llu connections open; the open-files hard limit is %llu "
                "(ulimit -Hn)",
                (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        px_errf(err, errlen, "setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)need,
                strerror(errno));
        return -1;
    }
    return 0;
}

static int
resolve(struct bn_run *r, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int e = getaddrinfo(r->scn->host, r->scn->port, &hints, &res);

    if (e != 0) {
        px_errf(err, errlen, "%s: %s", r->scn->target, gai_strerror(e));
        return -1;
    }
    memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
    r->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int
worker_init(struct bn_run *r, struct worker *w, char *err, size_t errlen)
{
    struct event_config *ec = event_config_new();
    size_t s;

    w->run = r;
    pthread_mutex_init(&w->mu, NULL);
    if (ec == NULL) {
        goto oom;
    }
    /* One thread per base: no libevent locking. Open loop measures from
     * scheduled times, so its timers must fire on time (timerfd). */
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    if (!r->scn->closed) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    }
    w->ctx.env.base = event_base_new_with_config(ec);
    event_config_free(ec);
    w->ctx.stats = calloc(r->npops, sizeof(*w->ctx.stats));
    w->ctx.env.rbuf = malloc(RBUF_BYTES);
    if (w->ctx.env.base == NULL || w->ctx.stats == NULL || w->ctx.env.rbuf == NULL) {
        goto oom;
    }
    for (s = 0; s < r->npops; s++) {
        bn_pop_stats_init(&w->ctx.stats[s]);
    }
    w->ctx.env.rbuflen = RBUF_BYTES;
    w->ctx.env.ctx = r->ctx;
    w->ctx.env.addr = r->addr;
    w->ctx.env.addrlen = r->addrlen;
    w->ctx.env.host = r->scn->host;
    w->ctx.env.connect_timeout_ns = 10 * PX_NS_PER_S;
    w->ctx.scn = r->scn;
    w->ctx.retry.retry_after = r->scn->retry_after;
    w->ctx.retry.max_retries = r->scn->max_retries;
    w->ctx.host_header = r->host_header;
    for (s = 0; s < SLOTS; s++) {
        w->slots[s].sec = -1;
        w->slots[s].counts = calloc(r->npops, sizeof(struct bn_counts));
        w->slots[s].lat = calloc(r->npops, sizeof(struct bn_hist));
        w->slots[s].open = calloc(r->npops, sizeof(int64_t));
        if (w->slots[s].counts == NULL || w->slots[s].lat == NULL || w->slots[s].open == NULL) {
            goto oom;
        }
    }
    w->tick = evtimer_new(w->ctx.env.base, on_tick, w);
    w->end = evtimer_new(w->ctx.env.base, on_end, w);
    w->poll = evtimer_new(w->ctx.env.base, on_poll, w);
    if (w->tick == NULL || w->end == NULL || w->poll == NULL) {
        goto oom;
    }
    return 0;
oom:
    px_errf(err, errlen, "out of memory setting up a worker");
    return -1;
}

static int
add_member(struct worker *w, struct bn_member *m)
{
    if (w->nmembers == w->cap) {
        size_t cap = w->cap == 0 ? 64 : w->cap * 2;
        struct bn_member **v = realloc(w->members, cap * sizeof(*v));

        if (v == NULL) {
            return -1;
        }
        w->members = v;
        w->cap = cap;
    }
    w->members[w->nmembers++] = m;
    return 0;
}

struct bn_run *
bn_run_new(const struct bn_run_cfg *cfg, char *err, size_t errlen)
{
    struct bn_run *r = calloc(1, sizeof(*r));
    char why[PX_ERRLEN];
    size_t p, k, g = 0;
    uint32_t i;

    if (r == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    r->scn = cfg->scn;
    r->npops = cfg->scn->npops;
    r->nsecs = (cfg->scn->duration_ns + PX_NS_PER_S - 1) / PX_NS_PER_S;
    snprintf(r->host_header, sizeof(r->host_header), "Host: %.500s\r\n", r->scn->target + 8);
    if (raise_nofile(r->scn, err, errlen) != 0 || resolve(r, err, errlen) != 0) {
        goto fail;
    }
    r->ctx = px_tls_client_ctx(r->scn->insecure ? NULL : r->scn->ca, NULL, NULL, why, sizeof(why));
    if (r->ctx == NULL) {
        px_errf(err, errlen, "TLS: %s", why);
        goto fail;
    }
    r->nw = cfg->threads;
    if ((r->w = calloc(r->nw, sizeof(*r->w))) == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    for (k = 0; k < r->nw; k++) {
        if (worker_init(r, &r->w[k], err, errlen) != 0) {
            goto fail;
        }
    }
    for (p = 0; p < r->npops; p++) {
        for (i = 0; i < r->scn->pops[p].count; i++, g++) {
            struct worker *w = &r->w[g % r->nw];
            struct bn_member *m =
                bn_member_new(&w->ctx, p, i, bn_creds_get(&cfg->creds[p], i), why, sizeof(why));

            if (m == NULL || add_member(w, m) != 0) {
                bn_member_free(m);
                px_errf(err, errlen, "population %s member %u: %s", r->scn->pops[p].name, i,
                        m == NULL ? why : "out of memory");
                goto fail;
            }
        }
    }
    return r;

fail:
    bn_run_free(r);
    return NULL;
}

/* --- the reporter ------------------------------------------------------ */

static double
cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
sleep_until(uint64_t at, volatile sig_atomic_t *stop)
{
    for (;;) {
        uint64_t now = px_now_ns(), d;
        struct timespec ts;

        if (now >= at || (stop != NULL && *stop)) {
            return;
        }
        /* Short naps: a signal must end the run promptly. */
        d = at - now < 50 * PX_NS_PER_MS ? at - now : 50 * PX_NS_PER_MS;
        ts.tv_sec = (time_t)(d / PX_NS_PER_S);
        ts.tv_nsec = (long)(d % PX_NS_PER_S);
        nanosleep(&ts, NULL);
    }
}

/* Merges second <sec> from every worker into the arrays. Returns the
 * number of workers that had it. */
static size_t
collect(struct bn_run *r, uint64_t sec, struct bn_counts *c, struct bn_hist *h, int64_t *open)
{
    uint64_t give_up = px_now_ns() + COLLECT_NS;
    size_t k, p, have = 0;
    bool *got = calloc(r->nw, sizeof(bool));

    for (p = 0; p < r->npops; p++) {
        memset(&c[p], 0, sizeof(c[p]));
        bn_hist_init(&h[p]);
        open[p] = 0;
    }
    while (got != NULL && have < r->nw && px_now_ns() < give_up) {
        for (k = 0; k < r->nw; k++) {
            struct worker *w = &r->w[k];
            struct slot *s = &w->slots[sec % SLOTS];

            if (got[k]) {
                continue;
            }
            pthread_mutex_lock(&w->mu);
            if (s->sec == (int64_t)sec) {
                for (p = 0; p < r->npops; p++) {
                    bn_counts_add(&c[p], &s->counts[p]);
                    bn_hist_merge(&h[p], &s->lat[p]);
                    open[p] += s->open[p];
                }
                got[k] = true;
                have++;
            } else if (atomic_load(&w->done) && s->sec < (int64_t)sec) {
                got[k] = true; /* stopped early: it will not come */
                have++;
            }
            pthread_mutex_unlock(&w->mu);
        }
        if (have < r->nw) {
            struct timespec ts = {0, 2000000};

            nanosleep(&ts, NULL);
        }
    }
    free(got);
    return have;
}

static bool
all_done(struct bn_run *r)
{
    size_t k;

    for (k = 0; k < r->nw; k++) {
        if (!atomic_load(&r->w[k].done)) {
            return false;
        }
    }
    return true;
}

static void
totals(struct bn_run *r, struct bn_pop_stats *t, uint64_t *handshakes, const char **first_error)
{
    size_t k, p;

    *handshakes = 0;
    *first_error = "";
    for (p = 0; p < r->npops; p++) {
        bn_pop_stats_init(&t[p]);
    }
    for (k = 0; k < r->nw; k++) {
        struct worker *w = &r->w[k];

        *handshakes += w->ctx.env.handshakes;
        if ((*first_error)[0] == '\0') {
            *first_error = w->ctx.env.first_error;
        }
        for (p = 0; p < r->npops; p++) {
            bn_counts_add(&t[p].total, &w->ctx.stats[p].total);
            bn_hist_merge(&t[p].lat, &w->ctx.stats[p].lat);
            bn_hist_merge(&t[p].establish, &w->ctx.stats[p].establish);
            bn_hist_merge(&t[p].lag, &w->ctx.stats[p].lag);
            t[p].open_watches += w->ctx.stats[p].open_watches;
        }
    }
}

int
bn_run_go(struct bn_run *r, char *err, size_t errlen)
{
    struct bn_counts *c = calloc(r->npops, sizeof(*c));
    struct bn_hist *h = calloc(r->npops, sizeof(*h));
    struct bn_pop_stats *t = calloc(r->npops, sizeof(*t));
    int64_t *open = calloc(r->npops, sizeof(*open));
    struct bn_run_totals rt = {0};
    double cpu_prev, cpu_now;
    struct rusage ru0, ru1;
    uint64_t sec, start;
    bool stopped = false;
    size_t k;
    int rc = -1;

    if (c == NULL || h == NULL || t == NULL || open == NULL) {
        px_errf(err, errlen, "out of memory");
        goto out;
    }
    rt.setup_ns = px_now_ns() - r->cfg.setup_started_ns;
    r->origin_ns = px_now_ns() + START_DELAY_NS;
    getrusage(RUSAGE_SELF, &ru0);
    cpu_prev = cpu_s();
    for (k = 0; k < r->nw; k++) {
        if (pthread_create(&r->w[k].th, NULL, worker_main, &r->w[k]) != 0) {
            px_errf(err, errlen, "pthread_create: %s", strerror(errno));
            atomic_store(&r->stop, 1);
            goto join;
        }
        r->w[k].started = true;
    }
    start = r->origin_ns;
    for (sec = 0; sec < r->nsecs; sec++) {
        uint64_t at = sec + 1 == r->nsecs ? r->origin_ns + r->scn->duration_ns
                                          : r->origin_ns + (sec + 1) * PX_NS_PER_S;

        sleep_until(at + 20 * PX_NS_PER_MS, r->cfg.stop);
        if (r->cfg.stop != NULL && *r->cfg.stop && !stopped) {
            stopped = true;
            atomic_store(&r->stop, 1);
        }
        collect(r, sec, c, h, open);
        cpu_now = cpu_s();
        bn_report_second(r->cfg.report, sec, c, h, open, (cpu_now - cpu_prev) * 100.0);
        cpu_prev = cpu_now;
        if (stopped && all_done(r)) {
            break;
        }
    }
    rc = 0;
join:
    for (k = 0; k < r->nw; k++) {
        if (r->w[k].started) {
            pthread_join(r->w[k].th, NULL);
        }
    }
    if (rc == 0) {
        getrusage(RUSAGE_SELF, &ru1);
        totals(r, t, &rt.handshakes, &rt.first_error);
        rt.pops = t;
        rt.elapsed_ns = px_now_ns() - start;
        if (!stopped) {
            rt.elapsed_ns = r->scn->duration_ns;
        }
        rt.cpu_user_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                        (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
        rt.cpu_sys_s = (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                       (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
        rt.interrupted = stopped;
        bn_report_final(r->cfg.report, &rt);
    }
out:
    free(c);
    free(h);
    free(t);
    free(open);
    return rc;
}

void
bn_run_free(struct bn_run *r)
{
    size_t k, i, s;

    if (r == NULL) {
        return;
    }
    for (k = 0; k < r->nw; k++) {
        struct worker *w = &r->w[k];

        w->ctx.stopping = true;
        for (i = 0; i < w->nmembers; i++) {
            bn_member_free(w->members[i]);
        }
        free(w->members);
        if (w->tick != NULL) {
            event_free(w->tick);
        }
        if (w->end != NULL) {
            event_free(w->end);
        }
        if (w->poll != NULL) {
            event_free(w->poll);
        }
        for (s = 0; s < SLOTS; s++) {
            free(w->slots[s].counts);
            free(w->slots[s].lat);
            free(w->slots[s].open);
        }
        if (w->ctx.env.base != NULL) {
            event_base_free(w->ctx.env.base);
        }
        free(w->ctx.stats);
        free(w->ctx.env.rbuf);
        pthread_mutex_destroy(&w->mu);
    }
    free(r->w);
    SSL_CTX_free(r->ctx);
    free(r);
}
