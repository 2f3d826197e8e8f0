/* One run of the demo (direct, or through floodgate), read back from the
 * directory bench/demo.sh filled:
 *   meta.txt           key=value: mode, config, storm_t0, calm_t0 (Unix
 *                      seconds), storm_s, calm_s, slots; clk_tck,
 *                      sim_cpu_ticks, floodgate_cpu_ticks (the storm's),
 *                      floodgate_rss_kb, floodgate_rss_peak_kb
 *   sim.csv            the simulator's gauges, sampled twice a second:
 *                      epoch inflight_readonly inflight_mutating queue
 *                      busy_slots watches_open rejected_inflight timeouts
 *   load-calm.json     floodgate-load --json of the calm run (critical only)
 *   load-critical.json floodgate-load --json of the critical populations
 *                      during the storm
 *   load-fleet.json    floodgate-load --json of the fleet during the storm
 *   load-informers.json (optional) the critical populations that watch,
 *                      started before the calm run and stopped after the
 *                      storm
 *   kubectl.txt        "calm|storm get_pods|version MS RC LINES" lines
 * The critical populations run in a generator of their own, so its totals
 * are the percentiles of all critical requests; per second (for the plot)
 * only per-population percentiles exist, and the worst one is drawn. */
#ifndef BN_DEMO_RUN_H
#define BN_DEMO_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BN_DEMO_MAX_SAMPLES 4096 /* 0.5 s samples: over half an hour */
#define BN_DEMO_MAX_SECONDS 1024 /* per-second series of one load run */

enum bn_demo_phase { BN_DEMO_CALM = 0, BN_DEMO_STORM, BN_DEMO_PHASES };
enum bn_demo_cmd { BN_DEMO_GET_PODS = 0, BN_DEMO_VERSION, BN_DEMO_CMDS };

struct bn_demo_kubectl {
    bool have;
    double ms;
    int rc;     /* exit status: 0 succeeded */
    long lines; /* objects printed */
};

struct bn_demo_sample {
    double t_s; /* from the storm's start; negative during the calm run */
    uint64_t inflight;
    uint64_t queue;
    uint64_t busy;
};

struct bn_demo_second {
    double t_s;
    double p99_ms; /* worst critical population; < 0 when none completed */
};

struct bn_demo_run {
    char mode[32];
    char config[512];
    double storm_s, calm_s, storm_t0, calm_t0;
    uint64_t slots;
    /* the simulator, during the storm */
    uint64_t peak_inflight_ro, peak_inflight_mut, peak_queue, peak_busy;
    uint64_t sim_429, sim_timeouts;
    /* floodgate's seat pools (0 for the direct run) */
    uint64_t cap_ro, cap_mut;
    /* critical populations */
    double calm_p50_ms, calm_p99_ms, p50_ms, p99_ms;
    uint64_t crit_requests, crit_errors, crit_unanswered, crit_retries, crit_watch_failed;
    double crit_scheduled_rps;                /* what the critical schedule sends */
    uint64_t informer_watches, informer_open; /* the informers', at the end */
    /* the fleet */
    uint64_t nodes, lists_ok, lists_failed, fleet_retries, fleet_unanswered;
    uint64_t watches_configured, watches_open_max, watch_429;
    double all_watches_s; /* first second every watch was open; < 0: never */
    double establish_p99_ms;
    struct bn_demo_kubectl kubectl[BN_DEMO_PHASES][BN_DEMO_CMDS];
    /* CPU seconds during the storm; floodgate's resident memory (KiB) */
    double sim_cpu_s, fg_cpu_s, gen_cpu_s;
    uint64_t fg_rss_kb, fg_rss_peak_kb;
    /* for the plot */
    struct bn_demo_sample samples[BN_DEMO_MAX_SAMPLES];
    size_t nsamples;
    struct bn_demo_second seconds[2 * BN_DEMO_MAX_SECONDS];
    size_t nseconds;
};

/* Reads the run in <dir> into <r> (zeroed first). Fails naming the file and
 * what was missing or malformed. */
int bn_demo_run_read(const char *dir, struct bn_demo_run *r, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif /* BN_DEMO_RUN_H */
