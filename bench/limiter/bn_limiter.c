/* limiter_bench: how fast the limiter decides, whatever the number of
 * clients. Each decision is lim_decide + lim_release, of a GET (mix "get")
 * or of a mix of 80% GETs and 20% LISTs of a learned resource ("list"),
 * from clients picked uniformly at random among N distinct keys (the
 * namespace distinguisher: one identity, N namespaces), so that at 1M
 * clients nearly every decision misses the CPU caches. The clock given to
 * the limiter is synthetic (a counter), the stopwatch is CLOCK_MONOTONIC.
 *
 *   limiter_bench [--json FILE] [--ops N] [--reps R]
 *                                              the table: 1k/100k/1M clients,
 *                                              1 and 2 threads, get and list;
 *                                              each the best of R runs (the
 *                                              machine is shared: the best
 *                                              run is the least disturbed)
 *   limiter_bench --clients C [--threads T] [--mix get|list] [--ops N]
 *                                              one configuration of the table
 *   limiter_bench --fixed N --clients C [--mix get|list]
 *                                              exactly N decisions after the
 *                                              setup (for callgrind: run two
 *                                              N and take the difference) */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lim.h"

#define KEY_LEN      20
#define KEY_NAME_LEN 13 /* key_name's: "tenant-" and 6 digits */

struct bench {
    struct lim *l;
    struct lim_policy *p;
    uint32_t clients;
    int list_mix;
};

struct worker {
    struct bench *b;
    uint64_t ops;
    uint64_t seed;
    uint64_t start_ns; /* synthetic clock */
    uint64_t admitted;
    pthread_t th;
};

static uint64_t
mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct lim_policy *
bench_policy(void)
{
    static const char *const masters[] = {"system:masters"};
    struct lim_global_params g;
    struct lim_class_params ex, c;
    struct lim_rule_params r;
    struct lim_policy *p;
    char err[256];

    lim_global_defaults(&g);
    p = lim_policy_new(&g, err, sizeof(err));
    if (p == NULL) {
        fprintf(stderr, "limiter_bench: %s\n", err);
        exit(1);
    }
    lim_class_defaults(&ex, "exempt", &g);
    ex.mode = LIM_MODE_EXEMPT;
    /* Every check on the path, none rejecting: a per-namespace bucket and
     * in-flight cap, a class bucket and a share of the pools. The buckets'
     * windows (4 s) are wider than the drift between the threads'
     * synthetic clocks, which would otherwise look like debt. */
    lim_class_defaults(&c, "tenants", &g);
    c.dist = LIM_DIST_NAMESPACE;
    c.rate_mtps = LIM_RATE_MAX_MTPS;
    c.burst = 4000000000u;
    c.class_rate_mtps = LIM_RATE_MAX_MTPS;
    c.class_burst = 4000000000u;
    c.concurrency_share_pct = 100;
    c.max_inflight_per_key = 16;
    memset(&r, 0, sizeof(r));
    if (lim_policy_add_class(p, &ex, err, sizeof(err)) != 0 ||
        lim_policy_add_class(p, &c, err, sizeof(err)) != 0) {
        goto fail;
    }
    r.class_name = "exempt";
    r.groups = masters;
    r.ngroups = 1;
    if (lim_policy_add_rule(p, &r, err, sizeof(err)) != 0) {
        goto fail;
    }
    memset(&r, 0, sizeof(r));
    r.class_name = "tenants";
    if (lim_policy_add_rule(p, &r, err, sizeof(err)) != 0 ||
        lim_policy_finish(p, err, sizeof(err)) != 0) {
        goto fail;
    }
    return p;

fail:
    fprintf(stderr, "limiter_bench: %s\n", err);
    exit(1);
}

static void
request(struct lim_request *r, enum lim_verb v)
{
    memset(r, 0, offsetof(struct lim_request, buf));
    r->verb = v;
    r->is_resource = true;
    r->method = "GET";
    r->path = "";
    r->api_prefix = "api";
    r->api_group = "";
    r->api_version = "v1";
    r->ns = "";
    r->resource = v == LIM_VERB_LIST ? "configmaps" : "pods";
    r->subresource = "";
    r->name = v == LIM_VERB_LIST ? "" : "p1";
    r->resource_version = "";
    r->label_selector = "";
    r->field_selector = "";
    r->rv = v == LIM_VERB_LIST ? LIM_RV_ZERO : LIM_RV_UNSET;
}

static void
bench_setup(struct bench *b, uint32_t clients, int list_mix)
{
    char err[256];

    memset(b, 0, sizeof(*b));
    b->clients = clients;
    b->list_mix = list_mix;
    /* Room for every client: shards are filled unevenly by the hash. */
    b->l = lim_new(clients + clients / 8 + 64, 0x5eed, err, sizeof(err));
    if (b->l == NULL) {
        fprintf(stderr, "limiter_bench: %s\n", err);
        exit(1);
    }
    b->p = bench_policy();
    if (lim_bind(b->l, b->p, err, sizeof(err)) != 0) {
        fprintf(stderr, "limiter_bench: %s\n", err);
        exit(1);
    }
    if (lim_learned_set(b->l, "", "configmaps", false, 300000) != 0) {
        exit(1);
    }
}

/* "tenant-" and 6 base-64 digits of <k> into <buf>: written per decision,
 * as a proxy has the namespace in the request it just parsed (a table of a
 * million names would add a cache miss of the benchmark's own), and cheap,
 * so that the instruction count is the limiter's. */
static void
key_name(char *buf, uint32_t k)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
    int i;

    memcpy(buf, "tenant-", 7);
    for (i = 0; i < 6; i++) {
        buf[7 + i] = digits[(k >> (6 * i)) & 63];
    }
    buf[13] = '\0';
}

static void
bench_free(struct bench *b)
{
    lim_free(b->l);
    lim_policy_free(b->p);
}

/* <ops> decisions; the caller's identity and requests are reused, as a
 * proxy reuses a connection's identity. */
static uint64_t
run(struct bench *b, uint64_t ops, uint64_t seed, uint64_t now, int sequential)
{
    struct lim_identity id;
    struct lim_request get, list;
    struct lim_decision d;
    const char *groups[1] = {"tenants"};
    uint64_t i, x = seed | 1, admitted = 0;
    char err[256], key[KEY_LEN];

    if (lim_identity_set(&id, LIM_CRED_CERT, "bench", groups, 1, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "limiter_bench: %s\n", err);
        exit(1);
    }
    request(&get, LIM_VERB_GET);
    request(&list, LIM_VERB_LIST);
    for (i = 0; i < ops; i++) {
        struct lim_request *r;
        uint32_t k;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        k = sequential ? (uint32_t)(i % b->clients) : (uint32_t)((x >> 11) % b->clients);
        r = b->list_mix && (x & 0xff) < 51 ? &list : &get; /* 20% LISTs */
        key_name(key, k);
        r->ns = key;
        r->ns_len = KEY_NAME_LEN; /* as lim_request_parse fills it */
        now += 100;               /* 10M decisions per synthetic second */
        lim_decide(b->l, b->p, &id, r, now, x, &d);
        if (d.verdict == LIM_ADMIT) {
            admitted++;
            lim_release(b->l, &d.ticket, 200, 300000, 1000, now);
        }
    }
    return admitted;
}

static void *
work(void *arg)
{
    struct worker *w = arg;

    w->admitted = run(w->b, w->ops, w->seed, w->start_ns, 0);
    return NULL;
}

struct result {
    uint32_t clients;
    int threads;
    int list_mix;
    uint64_t ops;
    double ns_per_decision; /* per thread: elapsed * threads / ops */
    double decisions_per_s; /* all threads */
    uint64_t rejected;
};

static struct result
measure(uint32_t clients, int threads, int list_mix, uint64_t ops, int reps)
{
    struct bench b;
    struct worker w[2];
    struct result res, best;
    uint64_t t0, t1, admitted;
    int i, rep;

    bench_setup(&b, clients, list_mix);
    /* Warm-up: every client decided once, so that the measured decisions
     * find their entry (the steady state of a long-running proxy). */
    run(&b, clients, 1, 1000000000ull, 1);
    memset(&best, 0, sizeof(best));
    for (rep = 0; rep < reps; rep++) {
        admitted = 0;
        t0 = mono_ns();
        for (i = 0; i < threads; i++) {
            w[i] = (struct worker){&b,
                                   ops / (uint64_t)threads,
                                   0x9e3779b97f4a7c15ull * (uint64_t)(i + 1),
                                   2000000000ull,
                                   0,
                                   0};
            if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0) {
                fprintf(stderr, "limiter_bench: pthread_create failed\n");
                exit(1);
            }
        }
        for (i = 0; i < threads; i++) {
            pthread_join(w[i].th, NULL);
            admitted += w[i].admitted;
        }
        t1 = mono_ns();
        res.clients = clients;
        res.threads = threads;
        res.list_mix = list_mix;
        res.ops = ops / (uint64_t)threads * (uint64_t)threads;
        res.ns_per_decision = (double)(t1 - t0) * threads / (double)res.ops;
        res.decisions_per_s = (double)res.ops * 1e9 / (double)(t1 - t0);
        res.rejected = res.ops - admitted;
        if (rep == 0 || res.ns_per_decision < best.ns_per_decision) {
            best = res;
        }
    }
    bench_free(&b);
    return best;
}

static void
usage(void)
{
    fprintf(stderr, "usage: limiter_bench [--json FILE] [--ops N] [--reps R]\n"
                    "       limiter_bench --clients C [--threads 1|2] [--mix get|list]\n"
                    "       limiter_bench --fixed N --clients C [--mix get|list]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    static const uint32_t clients[] = {1000, 100000, 1000000};
    const char *json = NULL;
    uint64_t ops = 2000000, fixed = 0;
    int reps = 5;
    uint32_t fixed_clients = 0;
    int list_mix = 0, threads = 1, i, c, t, m, n = 0;
    struct result res[12];
    FILE *f;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
            ops = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
            reps = reps > 0 ? reps : 1;
        } else if (strcmp(argv[i], "--fixed") == 0 && i + 1 < argc) {
            fixed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
            fixed_clients = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]) == 2 ? 2 : 1;
        } else if (strcmp(argv[i], "--mix") == 0 && i + 1 < argc) {
            list_mix = strcmp(argv[++i], "list") == 0;
        } else {
            usage();
        }
    }
    if (fixed != 0) {
        struct bench b;

        bench_setup(&b, fixed_clients != 0 ? fixed_clients : 1000, list_mix);
        run(&b, b.clients, 1, 1000000000ull, 1);
        run(&b, fixed, 0x9e3779b97f4a7c15ull, 2000000000ull, 0);
        bench_free(&b);
        return 0;
    }
    if (fixed_clients != 0) { /* one configuration */
        struct result r1 = measure(fixed_clients, threads, list_mix, ops, reps);

        printf("%u clients, %d thread(s), %s: %.1f ns/decision, %.0f decisions/s\n", r1.clients,
               r1.threads, list_mix ? "list" : "get", r1.ns_per_decision, r1.decisions_per_s);
        return 0;
    }
    printf("%-8s %-7s %-5s %12s %14s %9s\n", "clients", "threads", "mix", "ns/decision",
           "decisions/s", "rejected");
    for (m = 0; m < 2; m++) {
        for (c = 0; c < 3; c++) {
            for (t = 1; t <= 2; t++) {
                res[n] = measure(clients[c], t, m, ops, reps);
                printf("%-8u %-7d %-5s %12.1f %14.0f %9" PRIu64 "\n", res[n].clients,
                       res[n].threads, m ? "list" : "get", res[n].ns_per_decision,
                       res[n].decisions_per_s, res[n].rejected);
                fflush(stdout);
                n++;
            }
        }
    }
    if (json == NULL) {
        return 0;
    }
    f = fopen(json, "w");
    if (f == NULL) {
        perror(json);
        return 1;
    }
    fprintf(f,
            "{\n  \"what\": \"lim_decide + lim_release per decision, uniform random clients\",\n");
    fprintf(f, "  \"ops_per_run\": %" PRIu64 ",\n  \"best_of_runs\": %d,\n", ops, reps);
    fprintf(f, "  \"results\": [\n");
    for (i = 0; i < n; i++) {
        fprintf(f,
                "    {\"clients\": %u, \"threads\": %d, \"mix\": \"%s\", \"ns_per_decision\": "
                "%.1f, \"decisions_per_s\": %.0f, \"rejected\": %" PRIu64 "}%s\n",
                res[i].clients, res[i].threads, res[i].list_mix ? "list" : "get",
                res[i].ns_per_decision, res[i].decisions_per_s, res[i].rejected,
                i + 1 < n ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : 1;
}
