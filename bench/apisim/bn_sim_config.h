/* floodgate-apisim's knobs: one table of typed keys with bounds and
 * defaults, settable as command-line flags (--name value, --name=value) and
 * as keys of a JSON file (--config FILE, same names; flags win). Durations
 * are "250ms", "15s", "2m" (or, in JSON, a number of seconds); sizes take
 * KiB/MiB suffixes. */
#ifndef BN_SIM_CONFIG_H
#define BN_SIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BN_SIM_CFG_PATH 1024
#define BN_SIM_CFG_NAME 256
#define BN_SIM_CFG_LIST 8

struct bn_sim_config {
    /* serving */
    char listen[BN_SIM_CFG_NAME];
    char ready_file[BN_SIM_CFG_PATH];
    char cert[BN_SIM_CFG_PATH];
    char key[BN_SIM_CFG_PATH];
    uint64_t max_connections;
    uint64_t max_body_bytes;
    char log_level[16];
    char log_format[16];
    uint64_t request_log; /* recent requests kept for /debug/requests */
    /* authentication */
    char client_ca[BN_SIM_CFG_PATH];
    char requestheader_ca[BN_SIM_CFG_PATH];
    char allowed_names[BN_SIM_CFG_LIST][BN_SIM_CFG_NAME];
    size_t nallowed_names;
    char sa_key_files[BN_SIM_CFG_LIST][BN_SIM_CFG_PATH];
    size_t nsa_key_files;
    char sa_issuers[BN_SIM_CFG_LIST][BN_SIM_CFG_NAME];
    size_t nsa_issuers;
    char api_audiences[BN_SIM_CFG_LIST][BN_SIM_CFG_NAME];
    size_t napi_audiences;
    bool anonymous_auth;
    /* the generated cluster */
    uint64_t nodes;
    uint64_t pods_per_node;
    uint64_t churn_per_s;
    uint64_t seed;
    uint64_t event_window;
    /* the capacity model */
    uint64_t slots;
    uint64_t max_inflight;
    uint64_t max_mutating_inflight;
    uint64_t queue_timeout_ns;
    uint64_t max_debt_ns;
    uint64_t cost_get_ns;
    uint64_t cost_list_ns;
    uint64_t cost_list_etcd_per_object_ns;
    uint64_t cost_list_cache_per_object_ns;
    uint64_t cost_write_ns;
    uint64_t cost_watch_ns;
    uint64_t cost_watch_event_ns;
    uint64_t cost_discovery_ns;
    uint64_t watch_memory_bytes; /* charged per open watch in the memory gauge */
    /* watches */
    uint64_t watch_buffer_bytes;
    uint64_t min_request_timeout_ns;
    uint64_t bookmark_interval_ns;
};

/* Defaults for every key. */
void bn_sim_config_defaults(struct bn_sim_config *c);

/* Applies --config FILE (wherever it appears) and then every other flag of
 * <argv>. Returns 0; 1 when --help was asked for (usage printed to <out>);
 * -1 with <err> naming the flag or the file:line:col and key. */
int bn_sim_config_parse(struct bn_sim_config *c, int argc, char **argv, FILE *out, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/* Applies the JSON object in file <path>. */
int bn_sim_config_load(struct bn_sim_config *c, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Sets one key from its text form (what a flag carries). */
int bn_sim_config_set(struct bn_sim_config *c, const char *name, const char *value, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/* "250ms" -> 250000000. -1 on a malformed duration. */
int bn_sim_parse_duration(const char *s, uint64_t *ns);

#endif /* BN_SIM_CONFIG_H */
