/* The demo's checks, its table and the plot's data files: see
 * bn_demo_report.h. */
#include "bn_demo_report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* --- formatting ---------------------------------------------------------- */

static const char *
fmt_ms(char *buf, size_t len, double ms)
{
    if (ms < 0) {
        snprintf(buf, len, "-");
    } else if (ms < 10) {
        snprintf(buf, len, "%.1fms", ms);
    } else if (ms < 1000) {
        snprintf(buf, len, "%.0fms", ms);
    } else {
        snprintf(buf, len, "%.1fs", ms / 1000);
    }
    return buf;
}

/* 12,345 */
static const char *
fmt_n(char *buf, size_t len, uint64_t n)
{
    char raw[32];
    size_t i, o = 0, digits;

    snprintf(raw, sizeof(raw), "%" PRIu64, n);
    digits = strlen(raw);
    for (i = 0; i < digits && o + 2 < len; i++) {
        if (i > 0 && (digits - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static double
ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

/* --- checks --------------------------------------------------------------- */

/* Critical requests never answered, beyond what is normally in flight when
 * a run ends (up to one second of the schedule: an open-loop generator
 * always leaves the requests of its last moments in flight). */
static uint64_t
behind(const struct bn_demo_run *r)
{
    double allowed = r->crit_scheduled_rps < 1 ? 1 : r->crit_scheduled_rps;

    return (double)r->crit_unanswered > allowed ? r->crit_unanswered : 0;
}

void
bn_demo_checks(const struct bn_demo_run *d, const struct bn_demo_run *f,
               struct bn_demo_check out[BN_DEMO_NCHECKS])
{
    struct bn_demo_check *c;
    double dx = ratio(d->p99_ms, d->calm_p99_ms), fx = ratio(f->p99_ms, f->calm_p99_ms);
    uint64_t dfail = d->crit_errors + behind(d) + d->crit_watch_failed;
    uint64_t ffail = f->crit_errors + behind(f) + f->crit_watch_failed;

    memset(out, 0, sizeof(struct bn_demo_check) * BN_DEMO_NCHECKS);
    c = &out[BN_DEMO_CHECK_DIRECT_SATURATES];
    c->name = "direct_saturates";
    c->pass = dx >= BN_DEMO_SATURATE_X || dfail > 0;
    snprintf(c->detail, sizeof(c->detail),
             "direct: the simulator saturates: critical p99 %.1fx calm (>= %.0fx) or critical "
             "failures (%" PRIu64 ")",
             dx, BN_DEMO_SATURATE_X, dfail);

    c = &out[BN_DEMO_CHECK_NO_CRITICAL_ERRORS];
    c->name = "floodgate_no_critical_errors";
    c->pass = ffail == 0;
    snprintf(c->detail, sizeof(c->detail),
             "floodgate: no critical errors: %" PRIu64 " errors, %" PRIu64
             " never answered (more than 1 s of schedule), %" PRIu64 " failed watches",
             f->crit_errors, behind(f), f->crit_watch_failed);

    c = &out[BN_DEMO_CHECK_CRITICAL_P99];
    c->name = "floodgate_critical_p99_within_calm";
    c->pass = f->calm_p99_ms > 0 && fx <= BN_DEMO_PROTECT_X;
    snprintf(c->detail, sizeof(c->detail),
             "floodgate: critical p99 %.2fx its calm value (<= %.1fx)", fx, BN_DEMO_PROTECT_X);

    c = &out[BN_DEMO_CHECK_INFLIGHT_CAP];
    c->name = "floodgate_simulator_inflight_under_cap";
    c->pass =
        f->cap_ro > 0 && f->peak_inflight_ro <= f->cap_ro && f->peak_inflight_mut <= f->cap_mut;
    snprintf(c->detail, sizeof(c->detail),
             "floodgate: simulator in-flight never above floodgate's seats: read-only %" PRIu64
             " <= %" PRIu64 ", mutating %" PRIu64 " <= %" PRIu64,
             f->peak_inflight_ro, f->cap_ro, f->peak_inflight_mut, f->cap_mut);

    c = &out[BN_DEMO_CHECK_WATCHES];
    c->name = "floodgate_every_node_watches";
    c->pass = f->all_watches_s >= 0;
    if (c->pass) {
        snprintf(c->detail, sizeof(c->detail),
                 "floodgate: every node's watches established, all %" PRIu64 " open after %.0fs",
                 f->watches_configured, f->all_watches_s);
    } else {
        snprintf(c->detail, sizeof(c->detail),
                 "floodgate: every node's watches established: at most %" PRIu64 " of %" PRIu64
                 " open by the end",
                 f->watches_open_max, f->watches_configured);
    }
}

int
bn_demo_waive(struct bn_demo_check checks[BN_DEMO_NCHECKS], const char *name)
{
    size_t k;

    for (k = 0; k < BN_DEMO_NCHECKS; k++) {
        if (strcmp(checks[k].name, name) == 0) {
            checks[k].waived = true;
            return 0;
        }
    }
    return -1;
}

/* --- the table ------------------------------------------------------------ */

static void
row(FILE *out, const char *label, const char *a, const char *b)
{
    fprintf(out, "  %-42s %-24s %s\n", label, a, b);
}

static const char *
kubectl_cell(char *buf, size_t len, const struct bn_demo_run *r, enum bn_demo_cmd cmd)
{
    const struct bn_demo_kubectl *calm = &r->kubectl[BN_DEMO_CALM][cmd];
    const struct bn_demo_kubectl *storm = &r->kubectl[BN_DEMO_STORM][cmd];
    char a[16], b[16];

    if (!storm->have) {
        snprintf(buf, len, "not run");
    } else {
        snprintf(buf, len, "%s %s (calm %s)", fmt_ms(a, sizeof(a), storm->ms),
                 storm->rc == 0 ? "ok" : "FAILED",
                 calm->have ? fmt_ms(b, sizeof(b), calm->ms) : "-");
    }
    return buf;
}

void
bn_demo_table(FILE *out, const struct bn_demo_run *d, const struct bn_demo_run *f,
              const struct bn_demo_check checks[BN_DEMO_NCHECKS])
{
    char a[96], b[96], x[16], y[16], label[64];
    const struct bn_demo_run *r[2] = {d, f};
    char cell[2][96];
    size_t i, k;

    fprintf(out, "\n  %-42s %-24s %s\n", "", "direct", "through floodgate");
    snprintf(label, sizeof(label), "simulator (%" PRIu64 " slots) peak in-flight", d->slots);
    snprintf(a, sizeof(a), "%" PRIu64, d->peak_inflight_ro + d->peak_inflight_mut);
    snprintf(b, sizeof(b), "%" PRIu64 " (floodgate's seats: %" PRIu64 ")",
             f->peak_inflight_ro + f->peak_inflight_mut, f->cap_ro + f->cap_mut);
    row(out, label, a, b);
    for (i = 0; i < 2; i++) {
        snprintf(cell[i], sizeof(cell[i]), "%" PRIu64 " (busy slots %" PRIu64 ")", r[i]->peak_queue,
                 r[i]->peak_busy);
    }
    row(out, "simulator peak queue", cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        fmt_n(x, sizeof(x), r[i]->sim_429);
        fmt_n(y, sizeof(y), r[i]->sim_timeouts);
        snprintf(cell[i], sizeof(cell[i]), "%s / %s", x, y);
    }
    row(out, "simulator 429s / timeouts", cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        snprintf(cell[i], sizeof(cell[i]), "%s / %s", fmt_ms(x, sizeof(x), r[i]->p50_ms),
                 fmt_ms(y, sizeof(y), r[i]->p99_ms));
    }
    row(out, "critical p50 / p99", cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        snprintf(cell[i], sizeof(cell[i]), "%.1fx (calm %s)",
                 ratio(r[i]->p99_ms, r[i]->calm_p99_ms), fmt_ms(x, sizeof(x), r[i]->calm_p99_ms));
    }
    row(out, "critical p99 / calm p99", cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        fmt_n(x, sizeof(x), r[i]->crit_errors + r[i]->crit_watch_failed);
        fmt_n(y, sizeof(y), r[i]->crit_unanswered);
        snprintf(cell[i], sizeof(cell[i]), "%s / %s", x, y);
    }
    row(out, "critical errors / unanswered at the end", cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        fmt_n(x, sizeof(x), r[i]->lists_ok);
        fmt_n(y, sizeof(y), r[i]->lists_failed + r[i]->fleet_retries);
        snprintf(cell[i], sizeof(cell[i]), "%s / %s", x, y);
    }
    row(out, "fleet requests served / refused (429, 5xx)", cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        fmt_n(cell[i], sizeof(cell[i]), r[i]->fleet_unanswered);
    }
    row(out, "fleet requests waiting at the end", cell[0], cell[1]);
    fmt_n(y, sizeof(y), d->watches_configured);
    snprintf(label, sizeof(label), "fleet watches established (of %s)", y);
    for (i = 0; i < 2; i++) {
        fmt_n(cell[i], sizeof(cell[i]), r[i]->watches_open_max);
    }
    row(out, label, cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        if (r[i]->all_watches_s >= 0) {
            snprintf(cell[i], sizeof(cell[i]), "%.0fs", r[i]->all_watches_s);
        } else {
            snprintf(cell[i], sizeof(cell[i]), "not by the end (%.0fs)", r[i]->storm_s);
        }
    }
    fmt_n(y, sizeof(y), d->nodes);
    snprintf(label, sizeof(label), "every node (%s) has its watches after", y);
    row(out, label, cell[0], cell[1]);
    for (i = 0; i < 2; i++) {
        if (r[i]->fg_cpu_s > 0) {
            snprintf(cell[i], sizeof(cell[i]), "%.1fs / %.1fs / %.1fs", r[i]->sim_cpu_s,
                     r[i]->fg_cpu_s, r[i]->gen_cpu_s);
        } else {
            snprintf(cell[i], sizeof(cell[i]), "%.1fs / - / %.1fs", r[i]->sim_cpu_s,
                     r[i]->gen_cpu_s);
        }
    }
    row(out, "CPU in the storm: sim / floodgate / load", cell[0], cell[1]);
    snprintf(b, sizeof(b), "%.0f MiB (peak %.0f MiB)", (double)f->fg_rss_kb / 1024,
             (double)f->fg_rss_peak_kb / 1024);
    row(out, "floodgate resident memory at the end", "-", b);
    row(out, "kubectl get pods -n kube-system (masters)",
        kubectl_cell(a, sizeof(a), d, BN_DEMO_GET_PODS),
        kubectl_cell(b, sizeof(b), f, BN_DEMO_GET_PODS));
    row(out, "kubectl get --raw /version (masters)", kubectl_cell(a, sizeof(a), d, BN_DEMO_VERSION),
        kubectl_cell(b, sizeof(b), f, BN_DEMO_VERSION));
    fputc('\n', out);
    for (k = 0; k < BN_DEMO_NCHECKS; k++) {
        fprintf(out, "  %s %s\n",
                checks[k].pass     ? "[ok]    "
                : checks[k].waived ? "[waived]"
                                   : "[FAIL]  ",
                checks[k].detail);
    }
    fputc('\n', out);
}

/* --- plot data -------------------------------------------------------------- */

int
bn_demo_plot_data(const char *dir, const struct bn_demo_run *r, char *err, size_t errlen)
{
    char path[1024];
    FILE *f;
    size_t i;

    snprintf(path, sizeof(path), "%s/plot-%s-sim.dat", dir, r->mode);
    if ((f = fopen(path, "w")) == NULL) {
        goto fail;
    }
    fprintf(f, "# t_s inflight queue busy_slots\n");
    for (i = 0; i < r->nsamples; i++) {
        fprintf(f, "%.2f %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", r->samples[i].t_s,
                r->samples[i].inflight, r->samples[i].queue, r->samples[i].busy);
    }
    if (fclose(f) != 0) {
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/plot-%s-p99.dat", dir, r->mode);
    if ((f = fopen(path, "w")) == NULL) {
        goto fail;
    }
    fprintf(f, "# t_s critical_p99_ms (worst critical population; NaN: none completed)\n");
    for (i = 0; i < r->nseconds; i++) {
        if (r->seconds[i].p99_ms < 0) {
            fprintf(f, "%.2f NaN\n", r->seconds[i].t_s);
        } else {
            fprintf(f, "%.2f %.3f\n", r->seconds[i].t_s, r->seconds[i].p99_ms);
        }
    }
    if (fclose(f) != 0) {
        goto fail;
    }
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}
