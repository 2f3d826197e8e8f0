/* The demo's scenario, split in three, each run by its own floodgate-load
 * process as they are other machines in a real cluster (the fleet's retries
 * never delay a controller's request in the generator):
 *   informers  critical populations that hold watches (the controllers'
 *              informers): started first, their initial LIST done before
 *              anything is measured, as a control plane's controllers have
 *              synced long before a rollout starts; they watch through it;
 *   critical   the other critical populations (requests: the measured
 *              controllers and operators);
 *   fleet      every population not marked critical.
 * Sizes and ramps can be overridden for a shortened storm. */
#ifndef BN_DEMO_SPLIT_H
#define BN_DEMO_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#define BN_DEMO_MAX_OVERRIDES 8

struct bn_demo_override {
    const char *population;
    const char *key;   /* "count", "ramp" or "start" */
    const char *value; /* a count, or a duration as the scenario writes it */
};

/* Reads the scenario <in>, applies <ov>, and writes <outdir>/critical.json,
 * <outdir>/fleet.json and, when there are any, <outdir>/informers.json
 * (removing a stale one otherwise), each with <in>'s top-level keys.
 * critical and fleet must not come out empty. Relative paths in a scenario
 * resolve against its own directory: <outdir> must hold the files <in>
 * names (the demo's run directory, with its PKI). */
int bn_demo_split(const char *in, const struct bn_demo_override *ov, size_t nov, const char *outdir,
                  char *err, size_t errlen) __attribute__((warn_unused_result));

/* Parses "POP=VALUE" into <o> (pointing into <arg>, which is modified). */
int bn_demo_override_parse(char *arg, const char *key, struct bn_demo_override *o, char *err,
                           size_t errlen) __attribute__((warn_unused_result));

#endif /* BN_DEMO_SPLIT_H */
