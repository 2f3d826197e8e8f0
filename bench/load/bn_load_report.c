/* Progress, summary and JSON: see bn_load_report.h. */
#include "bn_load_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bn_load_scenario.h"
#include "bn_load_units.h"
#include "px_clock.h"
#include "px_err.h"

#define SERIES_CODES 8 /* status codes kept per population per second */

struct code_count {
    int code;
    uint64_t n;
};

/* One population in one second. */
struct sample {
    uint64_t requests, errors, failures, retries, events, watch_ok, watch_failed, watch_429;
    uint64_t p50_ns, p99_ns;
    int64_t open;
    struct code_count codes[SERIES_CODES];
    size_t ncodes;
};

struct second {
    uint64_t sec;
    double cpu_pct;
    struct sample *pops;
};

struct bn_report {
    const struct bn_scn *s;
    uint32_t threads;
    FILE *progress;
    bool tty;
    struct second *v;
    size_t n, cap;
    bool final;
    struct bn_pop_stats *tot;
    struct bn_run_totals meta;
    char first_error[160];
};

struct bn_report *
bn_report_new(const struct bn_scn *s, uint32_t threads, FILE *progress, bool tty)
{
    struct bn_report *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->s = s;
    r->threads = threads;
    r->progress = progress;
    r->tty = tty;
    r->tot = calloc(s->npops, sizeof(*r->tot));
    if (r->tot == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void
bn_report_free(struct bn_report *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        free(r->v[i].pops);
    }
    free(r->v);
    free(r->tot);
    free(r);
}

/* The most frequent codes of <c> (failures apart), into <s>. */
static void
top_codes(const uint64_t *codes, struct sample *s)
{
    unsigned code;
    size_t i, j;

    s->ncodes = 0;
    for (code = 100; code < BN_CODES; code++) {
        if (codes[code] == 0) {
            continue;
        }
        for (i = 0; i < s->ncodes && s->codes[i].n >= codes[code]; i++) {
        }
        if (i == SERIES_CODES) {
            continue;
        }
        for (j = s->ncodes < SERIES_CODES ? s->ncodes : SERIES_CODES - 1; j > i; j--) {
            s->codes[j] = s->codes[j - 1];
        }
        s->codes[i] = (struct code_count){(int)code, codes[code]};
        if (s->ncodes < SERIES_CODES) {
            s->ncodes++;
        }
    }
}

static void
progress_line(struct bn_report *r, const struct second *sec)
{
    uint64_t req = 0, err = 0, open = 0, p99 = 0, p50 = 0, creq = 0, cerr = 0, cp99 = 0;
    char a[32], b[32], c[32], line[512];
    size_t p, o;
    bool critical = false;

    for (p = 0; p < r->s->npops; p++) {
        const struct sample *s = &sec->pops[p];

        req += s->requests;
        err += s->errors;
        open += (uint64_t)(s->open > 0 ? s->open : 0);
        p50 = s->p50_ns > p50 ? s->p50_ns : p50; /* the worst population */
        p99 = s->p99_ns > p99 ? s->p99_ns : p99;
        if (r->s->pops[p].critical) {
            critical = true;
            creq += s->requests;
            cerr += s->errors;
            cp99 = s->p99_ns > cp99 ? s->p99_ns : cp99;
        }
    }
    o = (size_t)snprintf(line, sizeof(line),
                         "%4" PRIu64 "s  %7" PRIu64 " req/s  err %5" PRIu64 "  p50 %7s  p99 %7s"
                         "  watches %6" PRIu64 "  cpu %3.0f%%",
                         sec->sec + 1, req, err, bn_fmt_duration(p50, a, sizeof(a)),
                         bn_fmt_duration(p99, b, sizeof(b)), open, sec->cpu_pct);
    if (critical && o < sizeof(line)) {
        snprintf(line + o, sizeof(line) - o,
                 "  | critical %" PRIu64 " req/s err %" PRIu64 " p99 %s", creq, cerr,
                 bn_fmt_duration(cp99, c, sizeof(c)));
    }
    if (r->tty) {
        fprintf(r->progress, "\r\033[K%s", line);
    } else {
        fprintf(r->progress, "%s\n", line);
    }
    fflush(r->progress);
}

void
bn_report_second(struct bn_report *r, uint64_t sec, const struct bn_counts *counts,
                 const struct bn_hist *lat, const int64_t *open, double cpu_pct)
{
    struct second *s;
    size_t p;

    if (r->n == r->cap) {
        size_t cap = r->cap == 0 ? 64 : r->cap * 2;
        struct second *v = realloc(r->v, cap * sizeof(*v));

        if (v == NULL) {
            return; /* the series loses a second; the totals are intact */
        }
        r->v = v;
        r->cap = cap;
    }
    s = &r->v[r->n];
    s->sec = sec;
    s->cpu_pct = cpu_pct;
    if ((s->pops = calloc(r->s->npops, sizeof(*s->pops))) == NULL) {
        return;
    }
    r->n++;
    for (p = 0; p < r->s->npops; p++) {
        struct sample *x = &s->pops[p];
        const struct bn_counts *c = &counts[p];

        x->requests = c->requests;
        x->errors = bn_counts_errors(c);
        x->failures = c->codes[0];
        x->retries = c->retries;
        x->events = c->events;
        x->watch_ok = c->watch_ok;
        x->watch_failed = c->watch_failed;
        x->watch_429 = c->watch_codes[429];
        x->p50_ns = bn_hist_percentile(&lat[p], 50.0);
        x->p99_ns = bn_hist_percentile(&lat[p], 99.0);
        x->open = open[p];
        top_codes(c->codes, x);
    }
    if (r->progress != NULL) {
        progress_line(r, s);
    }
}

void
bn_report_final(struct bn_report *r, const struct bn_run_totals *t)
{
    size_t p;

    for (p = 0; p < r->s->npops; p++) {
        r->tot[p] = t->pops[p];
    }
    r->meta = *t;
    r->meta.pops = r->tot;
    snprintf(r->first_error, sizeof(r->first_error), "%s", t->first_error);
    r->meta.first_error = r->first_error;
    r->final = true;
    if (r->progress != NULL && r->tty) {
        fputc('\n', r->progress);
    }
}

/* --- the summary ------------------------------------------------------- */

static double
secs(const struct bn_report *r)
{
    return r->meta.elapsed_ns > 0 ? (double)r->meta.elapsed_ns / 1e9 : 1.0;
}

static void
print_pcts(FILE *out, const char *label, const struct bn_hist *h)
{
    static const double pct[] = {50.0, 90.0, 99.0, 99.9};
    static const char *const name[] = {"p50", "p90", "p99", "p99.9"};
    char b[32];
    size_t i;

    fprintf(out, "  %-10s", label);
    for (i = 0; i < 4; i++) {
        fprintf(out, " %s %s ", name[i],
                bn_fmt_duration(bn_hist_percentile(h, pct[i]), b, sizeof(b)));
    }
    fprintf(out, " max %s\n", bn_fmt_duration(h->max_ns, b, sizeof(b)));
}

static void
print_pop(const struct bn_report *r, size_t p, FILE *out)
{
    const struct bn_scn_pop *pop = &r->s->pops[p];
    const struct bn_pop_stats *t = &r->tot[p];
    const struct bn_counts *c = &t->total;
    uint64_t errors = bn_counts_errors(c), rate = bn_scn_pop_rate(pop);
    char b[32];
    unsigned code;
    size_t f, n = 0;

    fprintf(out, "population %s (%u member%s%s)\n", pop->name, pop->count,
            pop->count == 1 ? "" : "s", pop->critical ? ", critical" : "");
    if (pop->nrequests > 0) {
        fprintf(out, "  requests   %" PRIu64 " in %.1fs = %.1f req/s", c->requests, secs(r),
                (double)c->requests / secs(r));
        if (!r->s->closed) {
            fprintf(out, " (scheduled %s, %.0f requests after the ramp)",
                    bn_fmt_rate(rate, b, sizeof(b)), bn_scn_pop_expected(pop, r->meta.elapsed_ns));
        }
        fprintf(out, "\n  codes     ");
        for (code = 100; code < BN_CODES; code++) {
            if (c->codes[code] > 0) {
                fprintf(out, "%s %u: %" PRIu64, n++ > 0 ? "," : "", code, c->codes[code]);
            }
        }
        fprintf(out, "%s\n", n == 0 ? " none" : "");
        fprintf(out, "  errors     %" PRIu64 " (%.2f%%)", errors,
                c->requests > 0 ? 100.0 * (double)errors / (double)c->requests : 0.0);
        for (f = 0; f < BN_FAIL_N; f++) {
            if (c->fails[f] > 0) {
                fprintf(out, "  %s %" PRIu64, bn_fail_name((enum bn_fail)f), c->fails[f]);
            }
        }
        fprintf(out, "\n  retries    %" PRIu64 " (gave up %" PRIu64 ", dropped %" PRIu64 ")\n",
                c->retries, c->gave_up, c->dropped);
        if (c->unsent > 0) {
            fprintf(out,
                    "  behind     %" PRIu64 " requests were due but never sent (in flight or "
                    "queued on busy connections at the end)\n",
                    c->unsent);
        }
        print_pcts(out, "latency", &t->lat);
    }
    if (pop->nwatches > 0) {
        fprintf(out,
                "  watches    established %" PRIu64 "  failed %" PRIu64 "  open %" PRId64
                "  ended %" PRIu64 "  events %" PRIu64 "  bookmarks %" PRIu64 "  lists %" PRIu64
                " (relists %" PRIu64 ")",
                c->watch_ok, c->watch_failed, t->open_watches, c->watch_ended, c->events,
                c->bookmarks, c->lists, c->relists);
        if (c->watch_codes[429] > 0) {
            fprintf(out, "  429s %" PRIu64, c->watch_codes[429]);
        }
        fputc('\n', out);
        print_pcts(out, "establish", &t->establish);
    }
}

void
bn_report_print(const struct bn_report *r, FILE *out)
{
    uint64_t hs;
    double cpu;
    char b[32];
    size_t p;
    struct bn_hist lag;

    if (!r->final) {
        return;
    }
    fprintf(out, "floodgate-load: %.1fs against %s, %u thread%s, %s loop, Retry-After %s%s\n",
            secs(r), r->s->target, r->threads, r->threads == 1 ? "" : "s",
            r->s->closed ? "closed" : "open", r->s->retry_after ? "honoured" : "ignored",
            r->meta.interrupted ? " (interrupted)" : "");
    bn_hist_init(&lag);
    for (p = 0; p < r->s->npops; p++) {
        print_pop(r, p, out);
        bn_hist_merge(&lag, &r->tot[p].lag);
    }
    cpu = r->meta.cpu_user_s + r->meta.cpu_sys_s;
    hs = r->meta.handshakes;
    fprintf(out,
            "generator: cpu %.2fs user + %.2fs sys (%.0f%% of one core), %" PRIu64
            " TLS handshakes, setup %.2fs",
            r->meta.cpu_user_s, r->meta.cpu_sys_s, 100.0 * cpu / secs(r), hs,
            (double)r->meta.setup_ns / 1e9);
    if (!r->s->closed && lag.count > 0) {
        fprintf(out, ", send lag p99 %s",
                bn_fmt_duration(bn_hist_percentile(&lag, 99.0), b, sizeof(b)));
    }
    fputc('\n', out);
    if (r->first_error[0] != '\0') {
        fprintf(out, "first connection error: %s\n", r->first_error);
    }
}

/* --- JSON -------------------------------------------------------------- */

static double
ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static json_t *
pcts_json(const struct bn_hist *h)
{
    return json_pack("{sfsfsfsfsfsfsI}", "p50", ms(bn_hist_percentile(h, 50.0)), "p90",
                     ms(bn_hist_percentile(h, 90.0)), "p99", ms(bn_hist_percentile(h, 99.0)),
                     "p99.9", ms(bn_hist_percentile(h, 99.9)), "max", ms(h->max_ns), "mean",
                     ms(bn_hist_mean(h)), "count", (json_int_t)h->count);
}

static json_t *
codes_json(const uint64_t *codes)
{
    json_t *o = json_object();
    char k[8];
    unsigned code;

    for (code = 100; o != NULL && code < BN_CODES; code++) {
        if (codes[code] > 0) {
            snprintf(k, sizeof(k), "%u", code);
            json_object_set_new(o, k, json_integer((json_int_t)codes[code]));
        }
    }
    return o;
}

static json_t *
pop_json(const struct bn_report *r, size_t p)
{
    const struct bn_scn_pop *pop = &r->s->pops[p];
    const struct bn_pop_stats *t = &r->tot[p];
    const struct bn_counts *c = &t->total;
    json_t *fails = json_object(), *o;
    size_t f;

    for (f = 0; fails != NULL && f < BN_FAIL_N; f++) {
        json_object_set_new(fails, bn_fail_name((enum bn_fail)f),
                            json_integer((json_int_t)c->fails[f]));
    }
    o = json_pack("{sssIsbsfsfsIsfsIsososososIsIsIsIsIso}", "name", pop->name, "count",
                  (json_int_t)pop->count, "critical", pop->critical, "scheduled_rps",
                  r->s->closed ? 0.0 : (double)bn_scn_pop_rate(pop) / 1000.0, "expected_requests",
                  r->s->closed ? 0.0 : bn_scn_pop_expected(pop, r->meta.elapsed_ns), "requests",
                  (json_int_t)c->requests, "rps", (double)c->requests / secs(r), "errors",
                  (json_int_t)bn_counts_errors(c), "codes", codes_json(c->codes), "failures", fails,
                  "latency_ms", pcts_json(&t->lat), "send_lag_ms", pcts_json(&t->lag), "retries",
                  (json_int_t)c->retries, "gave_up", (json_int_t)c->gave_up, "dropped",
                  (json_int_t)c->dropped, "unsent", (json_int_t)c->unsent, "bytes_in",
                  (json_int_t)c->bytes_in, "watches",
                  json_pack("{sIsIsIsIsIsIsIsIsIsIsososs}", "configured",
                            (json_int_t)pop->count * (json_int_t)pop->nwatches, "established",
                            (json_int_t)c->watch_ok, "failed", (json_int_t)c->watch_failed, "open",
                            (json_int_t)t->open_watches, "ended", (json_int_t)c->watch_ended,
                            "events", (json_int_t)c->events, "bookmarks", (json_int_t)c->bookmarks,
                            "error_events", (json_int_t)c->error_events, "lists",
                            (json_int_t)c->lists, "relists", (json_int_t)c->relists, "codes",
                            codes_json(c->watch_codes), "establish_ms", pcts_json(&t->establish),
                            "note", "LIST and watch requests count here, not in requests"));
    return o;
}

static json_t *
sample_json(const struct sample *x)
{
    json_t *codes = json_object();
    char k[8];
    size_t i;

    for (i = 0; codes != NULL && i < x->ncodes; i++) {
        snprintf(k, sizeof(k), "%d", x->codes[i].code);
        json_object_set_new(codes, k, json_integer((json_int_t)x->codes[i].n));
    }
    return json_pack("{sIsIsIsIsosfsfsIsIsIsIsI}", "requests", (json_int_t)x->requests, "errors",
                     (json_int_t)x->errors, "failures", (json_int_t)x->failures, "retries",
                     (json_int_t)x->retries, "codes", codes, "p50_ms", ms(x->p50_ns), "p99_ms",
                     ms(x->p99_ns), "open_watches", (json_int_t)x->open, "events",
                     (json_int_t)x->events, "watches_established", (json_int_t)x->watch_ok,
                     "watches_failed", (json_int_t)x->watch_failed, "watch_429",
                     (json_int_t)x->watch_429);
}

static json_t *
series_json(const struct bn_report *r)
{
    json_t *a = json_array();
    size_t i, p;

    for (i = 0; a != NULL && i < r->n; i++) {
        json_t *pops = json_object();

        for (p = 0; pops != NULL && p < r->s->npops; p++) {
            json_object_set_new(pops, r->s->pops[p].name, sample_json(&r->v[i].pops[p]));
        }
        json_array_append_new(a, json_pack("{sIsfso}", "t", (json_int_t)(r->v[i].sec + 1),
                                           "cpu_percent", r->v[i].cpu_pct, "populations", pops));
    }
    return a;
}

int
bn_report_write_json(const struct bn_report *r, const char *path, char *err, size_t errlen)
{
    json_t *pops = json_array(), *root, *codes;
    struct bn_counts *all = calloc(1, sizeof(*all));
    struct bn_hist *lag = malloc(sizeof(*lag)), *lat = malloc(sizeof(*lat));
    double cpu = r->meta.cpu_user_s + r->meta.cpu_sys_s;
    size_t p;
    int rc;

    if (pops == NULL || all == NULL || lag == NULL || lat == NULL || !r->final) {
        json_decref(pops);
        free(all);
        free(lag);
        free(lat);
        px_errf(err, errlen, "%s", r->final ? "out of memory" : "the run did not finish");
        return -1;
    }
    bn_hist_init(lag);
    bn_hist_init(lat);
    for (p = 0; p < r->s->npops; p++) {
        json_array_append_new(pops, pop_json(r, p));
        bn_counts_add(all, &r->tot[p].total);
        bn_hist_merge(lag, &r->tot[p].lag);
        bn_hist_merge(lat, &r->tot[p].lat);
    }
    codes = codes_json(all->codes);
    root = json_pack(
        "{sssssssssIsfsfsbsbsIs{sfsfsfsIsfsoss}s{sIsfsIsoso}soso}", "tool", "floodgate-load",
        "version", "0.1.0", "target", r->s->target, "mode", r->s->closed ? "closed" : "open",
        "threads", (json_int_t)r->threads, "duration_s", (double)r->s->duration_ns / 1e9,
        "elapsed_s", secs(r), "interrupted", r->meta.interrupted, "retry_after", r->s->retry_after,
        "max_retries", (json_int_t)r->s->max_retries, "generator", "cpu_user_s", r->meta.cpu_user_s,
        "cpu_sys_s", r->meta.cpu_sys_s, "cpu_percent_of_one_core", 100.0 * cpu / secs(r),
        "tls_handshakes", (json_int_t)r->meta.handshakes, "setup_s", (double)r->meta.setup_ns / 1e9,
        "send_lag_ms", pcts_json(lag), "first_error", r->first_error, "totals", "requests",
        (json_int_t)all->requests, "rps", (double)all->requests / secs(r), "errors",
        (json_int_t)bn_counts_errors(all), "codes", codes, "latency_ms", pcts_json(lat),
        "populations", pops, "series", series_json(r));
    free(all);
    free(lag);
    free(lat);
    if (root == NULL) {
        px_errf(err, errlen, "building the JSON report failed");
        return -1;
    }
    rc = strcmp(path, "-") == 0 ? json_dumpf(root, stdout, JSON_INDENT(1))
                                : json_dump_file(root, path, JSON_INDENT(1));
    json_decref(root);
    if (rc != 0) {
        px_errf(err, errlen, "%s: cannot write", path);
        return -1;
    }
    return 0;
}
