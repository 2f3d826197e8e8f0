/* Runs a scenario: one worker thread per core (or as asked), each with its
 * own event base and its share of the members, nothing shared on the hot
 * path. Each second a worker hands its counters for that second to the
 * reporter under its own lock; the reporter (the calling thread) merges
 * them, feeds the report, and after the run merges the totals. */
#ifndef BN_LOAD_RUNNER_H
#define BN_LOAD_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct bn_creds;
struct bn_report;
struct bn_scn;
struct bn_run;

struct bn_run_cfg {
    const struct bn_scn *scn;
    const struct bn_creds *creds; /* one per population, borrowed */
    uint32_t threads;             /* >= 1 */
    struct bn_report *report;
    volatile sig_atomic_t *stop; /* set by a signal handler: end now */
    uint64_t setup_started_ns;   /* for the report */
};

/* Resolves the target, raises RLIMIT_NOFILE to what the members need, and
 * builds the workers and members. */
struct bn_run *bn_run_new(const struct bn_run_cfg *cfg, char *err, size_t errlen);
/* Runs to the end (or the stop signal), reporting as it goes. */
int bn_run_go(struct bn_run *r, char *err, size_t errlen);
void bn_run_free(struct bn_run *r);

/* File descriptors the scenario holds open at once, and some to spare. */
uint64_t bn_run_fds_needed(const struct bn_scn *s);

#endif /* BN_LOAD_RUNNER_H */
