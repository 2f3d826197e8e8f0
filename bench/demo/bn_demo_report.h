/* The demo's verdict: the side-by-side table, the checks the issue asks
 * for (direct saturates, floodgate protects), demo.json and the data files
 * gnuplot draws demo.png from. */
#ifndef BN_DEMO_REPORT_H
#define BN_DEMO_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "bn_demo_run.h"

/* Direct saturates when critical p99 reaches this many times its calm value
 * (or critical requests fail); through floodgate it must stay within
 * BN_DEMO_PROTECT_X of calm. */
#define BN_DEMO_SATURATE_X 5.0
#define BN_DEMO_PROTECT_X  1.5

enum bn_demo_check_id {
    BN_DEMO_CHECK_DIRECT_SATURATES = 0,
    BN_DEMO_CHECK_NO_CRITICAL_ERRORS,
    BN_DEMO_CHECK_CRITICAL_P99,
    BN_DEMO_CHECK_INFLIGHT_CAP,
    BN_DEMO_CHECK_WATCHES,
    BN_DEMO_NCHECKS
};

struct bn_demo_check {
    const char *name; /* stable, for demo.json */
    bool pass;
    bool waived;      /* reported, not enforced (see bn_demo_waive) */
    char detail[192]; /* one line a person reads */
};

void bn_demo_checks(const struct bn_demo_run *direct, const struct bn_demo_run *fg,
                    struct bn_demo_check out[BN_DEMO_NCHECKS]);

/* Marks the check named <name> as waived: still computed and shown, but
 * --check does not fail on it (the shortened storm in ctest waives the
 * latency ratio on a machine other work keeps busy). -1: no such check. */
int bn_demo_waive(struct bn_demo_check checks[BN_DEMO_NCHECKS], const char *name)
    __attribute__((warn_unused_result));

/* The table and the checks, for a terminal. */
void bn_demo_table(FILE *out, const struct bn_demo_run *direct, const struct bn_demo_run *fg,
                   const struct bn_demo_check checks[BN_DEMO_NCHECKS]);

/* demo.json: <info> (the machine, the commands; borrowed, may be NULL),
 * both runs and the checks. */
int bn_demo_json(const char *path, json_t *info, const struct bn_demo_run *direct,
                 const struct bn_demo_run *fg, const struct bn_demo_check checks[BN_DEMO_NCHECKS],
                 char *err, size_t errlen) __attribute__((warn_unused_result));

/* <dir>/plot-<mode>-sim.dat ("t_s inflight queue busy") and
 * <dir>/plot-<mode>-p99.dat ("t_s p99_ms", NaN where nothing completed). */
int bn_demo_plot_data(const char *dir, const struct bn_demo_run *r, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif /* BN_DEMO_REPORT_H */
