/* Reading one demo run back from its directory: see bn_demo_run.h. */
#include "bn_demo_run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

static void
path_join(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static double
num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static uint64_t
count(const json_t *o, const char *key)
{
    double v = num(o, key);

    return v > 0 ? (uint64_t)v : 0;
}

/* --- meta.txt ----------------------------------------------------------- */

static int
read_meta(const char *dir, struct bn_demo_run *r, char *err, size_t errlen)
{
    char path[1024], line[1024], *eq, *nl;
    double tck = 0, sim_ticks = 0, fg_ticks = 0;
    FILE *f;

    path_join(path, sizeof(path), dir, "meta.txt");
    if ((f = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
        }
        if (line[0] == '#' || (eq = strchr(line, '=')) == NULL) {
            continue;
        }
        *eq++ = '\0';
        if (strcmp(line, "mode") == 0) {
            snprintf(r->mode, sizeof(r->mode), "%s", eq);
        } else if (strcmp(line, "config") == 0) {
            snprintf(r->config, sizeof(r->config), "%s", eq);
        } else if (strcmp(line, "storm_t0") == 0) {
            r->storm_t0 = strtod(eq, NULL);
        } else if (strcmp(line, "calm_t0") == 0) {
            r->calm_t0 = strtod(eq, NULL);
        } else if (strcmp(line, "storm_s") == 0) {
            r->storm_s = strtod(eq, NULL);
        } else if (strcmp(line, "calm_s") == 0) {
            r->calm_s = strtod(eq, NULL);
        } else if (strcmp(line, "slots") == 0) {
            r->slots = strtoull(eq, NULL, 10);
        } else if (strcmp(line, "clk_tck") == 0) {
            tck = strtod(eq, NULL);
        } else if (strcmp(line, "sim_cpu_ticks") == 0) {
            sim_ticks = strtod(eq, NULL);
        } else if (strcmp(line, "floodgate_cpu_ticks") == 0) {
            fg_ticks = strtod(eq, NULL);
        } else if (strcmp(line, "floodgate_rss_kb") == 0) {
            r->fg_rss_kb = strtoull(eq, NULL, 10);
        } else if (strcmp(line, "floodgate_rss_peak_kb") == 0) {
            r->fg_rss_peak_kb = strtoull(eq, NULL, 10);
        }
    }
    fclose(f);
    if (tck > 0) {
        r->sim_cpu_s = sim_ticks / tck;
        r->fg_cpu_s = fg_ticks / tck;
    }
    if (r->mode[0] == '\0' || r->storm_t0 <= 0 || r->storm_s <= 0) {
        snprintf(err, errlen, "%s: needs mode, storm_t0 and storm_s", path);
        return -1;
    }
    return 0;
}

/* --- floodgate's seat pools, from its configuration ---------------------- */

static uint64_t
json_u64(const json_t *v)
{
    if (json_is_integer(v)) {
        return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    }
    if (json_is_string(v)) {
        return strtoull(json_string_value(v), NULL, 10);
    }
    return 0;
}

static int
read_caps(struct bn_demo_run *r, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root, *limits;

    if (r->config[0] == '\0') {
        return 0;
    }
    if ((root = json_load_file(r->config, 0, &je)) == NULL) {
        snprintf(err, errlen, "%s:%d: %s", r->config, je.line, je.text);
        return -1;
    }
    limits = json_object_get(root, "limits");
    /* lim_global_defaults when left out: kube-apiserver's own 400 and 200 */
    r->cap_ro = json_object_get(limits, "max_inflight_readonly") != NULL
                    ? json_u64(json_object_get(limits, "max_inflight_readonly"))
                    : 400;
    r->cap_mut = json_object_get(limits, "max_inflight_mutating") != NULL
                     ? json_u64(json_object_get(limits, "max_inflight_mutating"))
                     : 200;
    json_decref(root);
    return 0;
}

/* --- sim.csv -------------------------------------------------------------- */

static int
read_samples(const char *dir, struct bn_demo_run *r, char *err, size_t errlen)
{
    char path[1024], line[512];
    double epoch, t_end = r->storm_t0 + r->storm_s + 2.0;
    unsigned long long ro, mut, q, busy, w, rej, tmo;
    uint64_t rej0 = 0, tmo0 = 0, rej1 = 0, tmo1 = 0;
    FILE *f;

    path_join(path, sizeof(path), dir, "sim.csv");
    if ((f = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%lf %llu %llu %llu %llu %llu %llu %llu", &epoch, &ro, &mut, &q, &busy, &w,
                   &rej, &tmo) != 8) {
            continue; /* the header, or a sample cut by the end */
        }
        if (epoch < r->storm_t0) {
            rej0 = rej;
            tmo0 = tmo;
        } else if (epoch <= t_end) {
            r->peak_inflight_ro = ro > r->peak_inflight_ro ? ro : r->peak_inflight_ro;
            r->peak_inflight_mut = mut > r->peak_inflight_mut ? mut : r->peak_inflight_mut;
            r->peak_queue = q > r->peak_queue ? q : r->peak_queue;
            r->peak_busy = busy > r->peak_busy ? busy : r->peak_busy;
            rej1 = rej;
            tmo1 = tmo;
        }
        if (r->nsamples < BN_DEMO_MAX_SAMPLES) {
            r->samples[r->nsamples++] = (struct bn_demo_sample){
                epoch - r->storm_t0, (uint64_t)(ro + mut), (uint64_t)q, (uint64_t)busy};
        }
    }
    fclose(f);
    r->sim_429 = rej1 > rej0 ? rej1 - rej0 : 0;
    r->sim_timeouts = tmo1 > tmo0 ? tmo1 - tmo0 : 0;
    if (r->nsamples == 0) {
        snprintf(err, errlen, "%s: no samples", path);
        return -1;
    }
    return 0;
}

/* --- floodgate-load's JSON ---------------------------------------------- */

static json_t *
load(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[1024];
    json_error_t je;
    json_t *root;

    path_join(path, sizeof(path), dir, name);
    if ((root = json_load_file(path, 0, &je)) == NULL) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return NULL;
    }
    if (!json_is_array(json_object_get(root, "populations")) ||
        !json_is_array(json_object_get(root, "series"))) {
        snprintf(err, errlen, "%s: not floodgate-load --json output", path);
        json_decref(root);
        return NULL;
    }
    return root;
}

static uint64_t
codes_2xx(const json_t *codes)
{
    const char *k;
    json_t *v;
    uint64_t n = 0;

    json_object_foreach((json_t *)codes, k, v)
    {
        if (k[0] == '2') {
            n += json_u64(v);
        }
    }
    return n;
}

/* p50 and p99 of every critical request: the run holds only critical
 * populations, so its totals are their union. */
static void
critical_latency(const json_t *root, double *p50, double *p99)
{
    const json_t *lat = json_object_get(json_object_get(root, "totals"), "latency_ms");

    *p50 = num(lat, "p50");
    *p99 = num(lat, "p99");
}

/* Per second, the worst critical p99 (for the plot), from <t0> (Unix
 * seconds, when that load run started). */
static void
critical_seconds(const json_t *root, double t0, struct bn_demo_run *r)
{
    size_t i;
    json_t *s;

    json_array_foreach(json_object_get(root, "series"), i, s)
    {
        const char *name;
        json_t *ps = json_object_get(s, "populations"), *pp;
        double worst = -1;

        json_object_foreach(ps, name, pp)
        {
            if (count(pp, "requests") > 0 && num(pp, "p99_ms") > worst) {
                worst = num(pp, "p99_ms");
            }
        }
        if (r->nseconds < 2 * BN_DEMO_MAX_SECONDS) {
            r->seconds[r->nseconds++] =
                (struct bn_demo_second){t0 - r->storm_t0 + num(s, "t"), worst};
        }
    }
}

static void
read_critical(const json_t *root, struct bn_demo_run *r)
{
    size_t i;
    json_t *p;

    critical_latency(root, &r->p50_ms, &r->p99_ms);
    json_array_foreach(json_object_get(root, "populations"), i, p)
    {
        r->crit_requests += count(p, "requests");
        r->crit_scheduled_rps += num(p, "scheduled_rps");
        r->crit_errors += count(p, "errors");
        r->crit_unanswered += count(p, "unsent");
        r->crit_retries += count(p, "retries");
        r->crit_watch_failed += count(json_object_get(p, "watches"), "failed");
    }
}

static void
read_fleet(const json_t *root, struct bn_demo_run *r)
{
    size_t i;
    json_t *p, *s;

    json_array_foreach(json_object_get(root, "populations"), i, p)
    {
        const json_t *w = json_object_get(p, "watches");
        uint64_t ok = codes_2xx(json_object_get(p, "codes"));
        double est = num(json_object_get(w, "establish_ms"), "p99");

        /* populations of the same nodes (watching, polling) are one fleet */
        r->nodes = count(p, "count") > r->nodes ? count(p, "count") : r->nodes;
        r->lists_ok += ok;
        r->lists_failed += count(p, "requests") > ok ? count(p, "requests") - ok : 0;
        r->fleet_retries += count(p, "retries");
        r->fleet_unanswered += count(p, "unsent");
        r->watches_configured += count(w, "configured");
        r->watch_429 += json_u64(json_object_get(json_object_get(w, "codes"), "429"));
        r->establish_p99_ms = est > r->establish_p99_ms ? est : r->establish_p99_ms;
    }
    r->all_watches_s = -1;
    json_array_foreach(json_object_get(root, "series"), i, s)
    {
        const char *name;
        json_t *pp;
        uint64_t open = 0;

        json_object_foreach(json_object_get(s, "populations"), name, pp)
        {
            open += count(pp, "open_watches");
        }
        r->watches_open_max = open > r->watches_open_max ? open : r->watches_open_max;
        if (r->all_watches_s < 0 && r->watches_configured > 0 && open >= r->watches_configured) {
            r->all_watches_s = num(s, "t");
        }
    }
}

/* The informers' watches must have held through calm and storm: a watch
 * that failed (or a LIST that did) is a critical failure. Optional: a
 * scenario without watching critical populations has no such file. */
static int
read_informers(const char *dir, struct bn_demo_run *r, char *err, size_t errlen)
{
    char path[1024];
    json_t *root;
    size_t i;
    json_t *p;

    path_join(path, sizeof(path), dir, "load-informers.json");
    if (access(path, F_OK) != 0) {
        return 0;
    }
    if ((root = load(dir, "load-informers.json", err, errlen)) == NULL) {
        return -1;
    }
    json_array_foreach(json_object_get(root, "populations"), i, p)
    {
        const json_t *w = json_object_get(p, "watches");

        r->crit_watch_failed += count(w, "failed");
        r->informer_watches += count(w, "configured");
        r->informer_open += count(w, "open");
    }
    json_decref(root);
    return 0;
}

static double
gen_cpu(const json_t *root)
{
    const json_t *g = json_object_get(root, "generator");

    return num(g, "cpu_user_s") + num(g, "cpu_sys_s");
}

/* --- kubectl.txt -------------------------------------------------------- */

static void
read_kubectl(const char *dir, struct bn_demo_run *r)
{
    char path[1024], line[256], phase[16], cmd[16];
    struct bn_demo_kubectl k;
    FILE *f;

    path_join(path, sizeof(path), dir, "kubectl.txt");
    if ((f = fopen(path, "r")) == NULL) {
        return; /* the demo without kubectl: the table says so */
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%15s %15s %lf %d %ld", phase, cmd, &k.ms, &k.rc, &k.lines) != 5) {
            continue;
        }
        k.have = true;
        r->kubectl[strcmp(phase, "calm") == 0 ? BN_DEMO_CALM : BN_DEMO_STORM]
                  [strcmp(cmd, "version") == 0 ? BN_DEMO_VERSION : BN_DEMO_GET_PODS] = k;
    }
    fclose(f);
}

int
bn_demo_run_read(const char *dir, struct bn_demo_run *r, char *err, size_t errlen)
{
    json_t *calm = NULL, *crit = NULL, *fleet = NULL;
    int rc = -1;

    memset(r, 0, sizeof(*r));
    if (read_meta(dir, r, err, errlen) != 0 || read_caps(r, err, errlen) != 0 ||
        read_samples(dir, r, err, errlen) != 0 ||
        (calm = load(dir, "load-calm.json", err, errlen)) == NULL ||
        (crit = load(dir, "load-critical.json", err, errlen)) == NULL ||
        (fleet = load(dir, "load-fleet.json", err, errlen)) == NULL) {
        goto out;
    }
    if (read_informers(dir, r, err, errlen) != 0) {
        goto out;
    }
    critical_latency(calm, &r->calm_p50_ms, &r->calm_p99_ms);
    if (r->calm_p99_ms <= 0) {
        snprintf(err, errlen, "%s/load-calm.json: no critical request completed", dir);
        goto out;
    }
    critical_seconds(calm, r->calm_t0 > 0 ? r->calm_t0 : r->storm_t0 - r->calm_s, r);
    critical_seconds(crit, r->storm_t0, r);
    read_critical(crit, r);
    read_fleet(fleet, r);
    r->gen_cpu_s = gen_cpu(crit) + gen_cpu(fleet);
    read_kubectl(dir, r);
    rc = 0;
out:
    json_decref(calm);
    json_decref(crit);
    json_decref(fleet);
    return rc;
}
