/* What a run reports: a progress line each second on stderr (one updating
 * line on a terminal), a summary per population at the end, and with
 * --json a document holding all of it plus a per-second time series per
 * population, for plotting critical against fleet. */
#ifndef BN_LOAD_REPORT_H
#define BN_LOAD_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bn_load_stats.h"

struct bn_scn;
struct bn_report;

/* A report of <s> run on <threads> threads; progress lines go to
 * <progress> (NULL: none), as one updating line when <tty>. */
struct bn_report *bn_report_new(const struct bn_scn *s, uint32_t threads, FILE *progress, bool tty);
void bn_report_free(struct bn_report *r);

/* Second <sec> of the run, merged over workers: per population counts,
 * latency of that second, open watches; the generator's CPU use over that
 * second in percent of one core. */
void bn_report_second(struct bn_report *r, uint64_t sec, const struct bn_counts *counts,
                      const struct bn_hist *lat, const int64_t *open, double cpu_pct);

struct bn_run_totals {
    const struct bn_pop_stats *pops; /* merged, one per population */
    uint64_t elapsed_ns;             /* measured part of the run */
    uint64_t setup_ns;               /* identities minted, connections prepared */
    double cpu_user_s, cpu_sys_s;    /* the generator's own, during the run */
    uint64_t handshakes;
    const char *first_error; /* "" when none */
    bool interrupted;
};

void bn_report_final(struct bn_report *r, const struct bn_run_totals *t);
/* The human summary. */
void bn_report_print(const struct bn_report *r, FILE *out);
/* The JSON document into <path> ("-": stdout). */
int bn_report_write_json(const struct bn_report *r, const char *path, char *err, size_t errlen);

#endif /* BN_LOAD_REPORT_H */
