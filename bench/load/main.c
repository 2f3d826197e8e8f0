/* floodgate-load: the command line. Either wrk2-style flags for one
 * request stream ("floodgate-load -c 50 -r 2000 -d 30s https://host/path")
 * or a scenario file of populations; both become a scenario, get their
 * identities minted, run, and report. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bn_load_ident.h"
#include "bn_load_report.h"
#include "bn_load_runner.h"
#include "bn_load_scenario.h"
#include "bn_load_units.h"
#include "px_clock.h"
#include "px_err.h"

#define MAX_HEADERS BN_SCN_MAX_HEADERS

static volatile sig_atomic_t stop_flag;

struct opts {
    const char *url, *scenario, *target, *json, *ca, *cert, *key, *method, *body, *arrival;
    const char *rate, *duration, *timeout;
    const char *headers[MAX_HEADERS];
    size_t nheaders;
    long threads, connections, max_retries;
    bool closed, insecure, no_retry_after, check, quiet;
};

static void
on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
usage(FILE *out)
{
    fputs("usage: floodgate-load [options] https://HOST[:PORT]/PATH\n"
          "       floodgate-load --scenario FILE [--target URL] [options]\n"
          "\n"
          "Load an apiserver (or floodgate) over HTTPS, open loop by default: requests leave\n"
          "at their scheduled times and latency counts from then, so a stall cannot hide.\n"
          "\n"
          "  -t, --threads N        worker threads (default: one per core)\n"
          "  -c, --connections N    connections, each its own member (default 10)\n"
          "  -r, --rate R           requests per second in total: 2000, 2000/s, 600/m\n"
          "  -d, --duration D       how long: 30s, 2m (default 10s)\n"
          "      --closed           closed loop, like wrk: back-to-back, no rate\n"
          "      --arrival A        constant (default) or poisson\n"
          "  -m, --method M         GET (default), POST, PUT, PATCH, DELETE, HEAD\n"
          "      --body TEXT        request body (JSON unless -H sets Content-Type)\n"
          "  -H, --header 'K: V'    an extra request header (repeatable)\n"
          "      --ca FILE          CA bundle that verifies the target\n"
          "  -k, --insecure         do not verify the target (tests only)\n"
          "      --cert FILE        client certificate (with --key)\n"
          "      --key FILE         its private key\n"
          "      --timeout D        a request without its response by then fails (30s)\n"
          "      --no-retry-after   do not retry 429/5xx after Retry-After (client-go does)\n"
          "      --max-retries N    client-go's retry limit (10)\n"
          "      --scenario FILE    populations, identities, watches: see bench/load/README.md\n"
          "      --target URL       replaces the scenario's target\n"
          "      --json FILE        write everything, with a per-second series (\"-\": stdout)\n"
          "      --check            validate and exit\n"
          "  -q, --quiet            no progress line\n"
          "  -h, --help\n",
          out);
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
    enum {
        O_CLOSED = 256,
        O_ARRIVAL,
        O_BODY,
        O_CA,
        O_CERT,
        O_KEY,
        O_TIMEOUT,
        O_NORA,
        O_MAXR,
        O_SCENARIO,
        O_TARGET,
        O_JSON,
        O_CHECK
    };
    static const struct option longs[] = {{"threads", required_argument, NULL, 't'},
                                          {"connections", required_argument, NULL, 'c'},
                                          {"rate", required_argument, NULL, 'r'},
                                          {"duration", required_argument, NULL, 'd'},
                                          {"closed", no_argument, NULL, O_CLOSED},
                                          {"arrival", required_argument, NULL, O_ARRIVAL},
                                          {"method", required_argument, NULL, 'm'},
                                          {"body", required_argument, NULL, O_BODY},
                                          {"header", required_argument, NULL, 'H'},
                                          {"ca", required_argument, NULL, O_CA},
                                          {"insecure", no_argument, NULL, 'k'},
                                          {"cert", required_argument, NULL, O_CERT},
                                          {"key", required_argument, NULL, O_KEY},
                                          {"timeout", required_argument, NULL, O_TIMEOUT},
                                          {"no-retry-after", no_argument, NULL, O_NORA},
                                          {"max-retries", required_argument, NULL, O_MAXR},
                                          {"scenario", required_argument, NULL, O_SCENARIO},
                                          {"target", required_argument, NULL, O_TARGET},
                                          {"json", required_argument, NULL, O_JSON},
                                          {"check", no_argument, NULL, O_CHECK},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    char *end;
    int c;

    o->threads = -1;
    o->connections = -1;
    o->max_retries = -1;
    while ((c = getopt_long(argc, argv, "t:c:r:d:m:H:kqh", longs, NULL)) != -1) {
        switch (c) {
        case 't':
        case 'c':
        case O_MAXR:
            errno = 0;
            *(c == 't'   ? &o->threads
              : c == 'c' ? &o->connections
                         : &o->max_retries) = strtol(optarg, &end, 10);
            /* Threads and connections start at 1, retries at 0. */
            if (errno != 0 || *end != '\0' || end == optarg ||
                strtol(optarg, NULL, 10) < (c == O_MAXR ? 0 : 1) ||
                strtol(optarg, NULL, 10) > (c == 'c'   ? BN_SCN_MAX_COUNT
                                            : c == 't' ? 1024
                                                       : 100)) {
                fprintf(stderr, "floodgate-load: %s: expected %s, got \"%s\"\n",
                        c == 't'   ? "--threads"
                        : c == 'c' ? "--connections"
                                   : "--max-retries",
                        c == 't'   ? "1 to 1024"
                        : c == 'c' ? "1 to 100000"
                                   : "0 to 100",
                        optarg);
                return -1;
            }
            break;
        case 'r':
            o->rate = optarg;
            break;
        case 'd':
            o->duration = optarg;
            break;
        case O_CLOSED:
            o->closed = true;
            break;
        case O_ARRIVAL:
            o->arrival = optarg;
            break;
        case 'm':
            o->method = optarg;
            break;
        case O_BODY:
            o->body = optarg;
            break;
        case 'H':
            if (o->nheaders == MAX_HEADERS) {
                fprintf(stderr, "floodgate-load: at most %d --header\n", MAX_HEADERS);
                return -1;
            }
            o->headers[o->nheaders++] = optarg;
            break;
        case O_CA:
            o->ca = optarg;
            break;
        case 'k':
            o->insecure = true;
            break;
        case O_CERT:
            o->cert = optarg;
            break;
        case O_KEY:
            o->key = optarg;
            break;
        case O_TIMEOUT:
            o->timeout = optarg;
            break;
        case O_NORA:
            o->no_retry_after = true;
            break;
        case O_SCENARIO:
            o->scenario = optarg;
            break;
        case O_TARGET:
            o->target = optarg;
            break;
        case O_JSON:
            o->json = optarg;
            break;
        case O_CHECK:
            o->check = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        o->url = argv[optind++];
    }
    if (optind < argc || (o->url == NULL) == (o->scenario == NULL)) {
        fprintf(stderr, "floodgate-load: give a URL or --scenario FILE (one of them)\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* The flags as a scenario document, so that they are checked like one. */
static json_t *
cli_scenario(const struct opts *o, char *err, size_t errlen)
{
    char *host = NULL, *port = NULL, *path = NULL, why[256], origin[600];
    json_t *req, *pop, *doc, *hdrs = json_array(), *id;
    uint64_t v;
    size_t i;

    if (bn_scn_split_url(o->url, &host, &port, &path, why, sizeof(why)) != 0) {
        px_errf(err, errlen, "%s", why);
        json_decref(hdrs);
        return NULL;
    }
    snprintf(origin, sizeof(origin), "%.*s", (int)(strcspn(o->url + 8, "/?#") + 8), o->url);
    for (i = 0; i < o->nheaders; i++) {
        json_array_append_new(hdrs, json_string(o->headers[i]));
    }
    req = json_pack("{sssssssO}", "method", o->method != NULL ? o->method : "GET", "path", path,
                    "arrival", o->arrival != NULL ? o->arrival : "constant", "headers", hdrs);
    json_decref(hdrs);
    free(host);
    free(port);
    free(path);
    if (o->body != NULL) {
        json_object_set_new(req, "body", json_string(o->body));
    }
    if (o->rate != NULL) {
        if (bn_parse_rate(o->rate, &v) != 0) {
            px_errf(err, errlen, "--rate: expected 2000, 2000/s or 600/m, got \"%s\"", o->rate);
            json_decref(req);
            return NULL;
        }
        json_object_set_new(req, "total_rate", json_string(o->rate));
    } else if (!o->closed) {
        px_errf(err, errlen, "--rate is needed (open loop), or --closed for back-to-back");
        json_decref(req);
        return NULL;
    }
    id = o->cert != NULL || o->key != NULL
             ? json_pack("{ssssss}", "kind", "cert", "cert", o->cert != NULL ? o->cert : "", "key",
                         o->key != NULL ? o->key : "")
             : json_pack("{ss}", "kind", "none");
    pop = json_pack("{sssIsos[o]}", "name", "default", "count",
                    (json_int_t)(o->connections > 0 ? o->connections : 10), "identity", id,
                    "requests", req);
    doc = json_pack("{sssbsbs[o]}", "target", origin, "insecure", o->insecure, "closed", o->closed,
                    "populations", pop);
    if (doc == NULL) {
        px_errf(err, errlen, "out of memory");
    }
    return doc;
}

/* Flags that apply to scenarios too, written into the document. */
static int
apply_common(const struct opts *o, json_t *doc, char *err, size_t errlen)
{
    uint64_t v;

    if (o->duration != NULL) {
        if (bn_parse_duration(o->duration, &v) != 0) {
            px_errf(err, errlen, "--duration: expected 30s, 2m, ..., got \"%s\"", o->duration);
            return -1;
        }
        json_object_set_new(doc, "duration", json_string(o->duration));
    }
    if (o->timeout != NULL) {
        if (bn_parse_duration(o->timeout, &v) != 0) {
            px_errf(err, errlen, "--timeout: expected 30s, 2m, ..., got \"%s\"", o->timeout);
            return -1;
        }
        json_object_set_new(doc, "timeout", json_string(o->timeout));
    }
    if (o->ca != NULL) {
        json_object_set_new(doc, "ca", json_string(o->ca));
    }
    if (o->insecure) {
        json_object_set_new(doc, "insecure", json_true());
    }
    if (o->closed) {
        json_object_set_new(doc, "closed", json_true());
    }
    if (o->no_retry_after) {
        json_object_set_new(doc, "retry_after", json_false());
    }
    if (o->max_retries >= 0) {
        json_object_set_new(doc, "max_retries", json_integer(o->max_retries));
    }
    return 0;
}

/* Reads the scenario (file or flags) with the flags applied on top. */
static struct bn_scn *
load(const struct opts *o, char *err, size_t errlen)
{
    struct bn_scn *s = NULL;
    json_error_t je;
    json_t *doc;
    char *text;
    const char *name = o->scenario != NULL ? o->scenario : "command line";

    if (o->scenario != NULL) {
        doc = json_load_file(o->scenario, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL) {
            /* Let the scenario reader phrase it (file errors, line:column). */
            bn_scn_load(o->scenario, o->target, &s, err, errlen);
            return s;
        }
    } else if ((doc = cli_scenario(o, err, errlen)) == NULL) {
        return NULL;
    }
    if (json_is_object(doc) && apply_common(o, doc, err, errlen) != 0) {
        json_decref(doc);
        return NULL;
    }
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    bn_scn_parse(text, strlen(text), name, o->target, &s, err, errlen);
    free(text);
    return s;
}

int
main(int argc, char **argv)
{
    struct opts o = {0};
    struct bn_scn *s;
    struct bn_creds *creds = NULL;
    struct bn_report *rep = NULL;
    struct bn_run *run = NULL;
    struct bn_run_cfg cfg = {0};
    struct sigaction sa;
    char err[BN_SCN_ERRLEN];
    uint64_t members = 0, setup0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t p, built = 0;
    int rc = 1;

    if (parse_args(argc, argv, &o) != 0) {
        return 2;
    }
    if ((s = load(&o, err, sizeof(err))) == NULL) {
        fprintf(stderr, "floodgate-load: %s\n", err);
        return 2;
    }
    for (p = 0; p < s->npops; p++) {
        members += s->pops[p].count;
    }
    cfg.threads = o.threads > 0    ? (uint32_t)o.threads
                  : s->threads > 0 ? s->threads
                  : cores > 0      ? (uint32_t)cores
                                   : 1;
    if (cfg.threads > members) {
        cfg.threads = (uint32_t)members;
    }
    if (o.check) {
        printf("%s: ok: %zu population%s, %llu members, %llu connections, %u threads\n", s->name,
               s->npops, s->npops == 1 ? "" : "s", (unsigned long long)members,
               (unsigned long long)(bn_run_fds_needed(s) - 64), cfg.threads);
        bn_scn_free(s);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN); /* a peer's close is an error to count, not a death */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    setup0 = px_now_ns();
    if ((creds = calloc(s->npops, sizeof(*creds))) == NULL) {
        fprintf(stderr, "floodgate-load: out of memory\n");
        goto out;
    }
    for (built = 0; built < s->npops; built++) {
        if (bn_creds_build(s, &s->pops[built], px_wall_s(), &creds[built], err, sizeof(err)) != 0) {
            fprintf(stderr, "floodgate-load: %s\n", err);
            goto out;
        }
    }
    rep = bn_report_new(s, cfg.threads, o.quiet ? NULL : stderr, isatty(STDERR_FILENO) == 1);
    cfg.scn = s;
    cfg.creds = creds;
    cfg.report = rep;
    cfg.stop = &stop_flag;
    cfg.setup_started_ns = setup0;
    if (rep == NULL || (run = bn_run_new(&cfg, err, sizeof(err))) == NULL) {
        fprintf(stderr, "floodgate-load: %s\n", rep == NULL ? "out of memory" : err);
        goto out;
    }
    if (bn_run_go(run, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate-load: %s\n", err);
        goto out;
    }
    /* JSON on stdout keeps stdout for itself. */
    bn_report_print(rep, o.json != NULL && strcmp(o.json, "-") == 0 ? stderr : stdout);
    if (o.json != NULL && bn_report_write_json(rep, o.json, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate-load: --json: %s\n", err);
        goto out;
    }
    rc = 0;
out:
    bn_run_free(run);
    bn_report_free(rep);
    for (p = 0; creds != NULL && p < built; p++) {
        bn_creds_fini(&creds[p]);
    }
    free(creds);
    bn_scn_free(s);
    return rc;
}
