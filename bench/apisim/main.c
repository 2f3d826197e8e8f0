/* floodgate-apisim: a kube-apiserver simulator with a capacity model, the
 * default upstream of `make demo` and of the integration tests. Parses the
 * configuration, builds the server, writes the ready file, runs until
 * SIGTERM/SIGINT, exits 0 after a clean stop. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bn_sim_config.h"
#include "bn_sim_server.h"
#include "px_err.h"
#include "px_log.h"

/* listen=HOST:PORT, written to a temporary file and renamed, so that a
 * reader never sees half of it (tests/integration/README.md). */
static int
write_ready(const char *path, const char *addr, char *err, size_t errlen)
{
    char tmp[BN_SIM_CFG_PATH + 16];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        px_errf(err, errlen, "ready file %s: cannot write", tmp);
        return -1;
    }
    fprintf(f, "listen=%s\n", addr);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        px_errf(err, errlen, "ready file %s: cannot write", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static enum px_log_level
level(const char *s)
{
    if (strcmp(s, "error") == 0) {
        return PX_LOG_ERROR;
    }
    if (strcmp(s, "warn") == 0) {
        return PX_LOG_WARN;
    }
    if (strcmp(s, "debug") == 0) {
        return PX_LOG_DEBUG;
    }
    return PX_LOG_INFO;
}

int
main(int argc, char **argv)
{
    struct bn_sim_config *cfg = malloc(sizeof(*cfg));
    struct bn_sim_server *srv = NULL;
    struct px_log *log = NULL;
    char err[PX_ERRLEN] = "";
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    if (cfg == NULL) {
        fprintf(stderr, "floodgate-apisim: out of memory\n");
        return 1;
    }
    bn_sim_config_defaults(cfg);
    switch (bn_sim_config_parse(cfg, argc, argv, stdout, err, sizeof(err))) {
    case 0:
        break;
    case 1:
        free(cfg);
        return 0;
    default:
        fprintf(stderr, "floodgate-apisim: %s\n", err);
        free(cfg);
        return 2;
    }
    log = px_log_new(STDERR_FILENO, level(cfg->log_level),
                     strcmp(cfg->log_format, "json") == 0 ? PX_LOG_JSON : PX_LOG_TEXT);
    if (log == NULL) {
        fprintf(stderr, "floodgate-apisim: out of memory\n");
        goto done;
    }
    srv = bn_sim_server_new(cfg, log, err, sizeof(err));
    if (srv == NULL) {
        px_logf(log, PX_LOG_ERROR, "%s", err);
        goto done;
    }
    if (cfg->ready_file[0] != '\0' &&
        write_ready(cfg->ready_file, bn_sim_server_addr(srv), err, sizeof(err)) != 0) {
        px_logf(log, PX_LOG_ERROR, "%s", err);
        goto done;
    }
    px_logf(log, PX_LOG_INFO,
            "serving on https://%s (%" PRIu64 " slots, max-inflight %" PRIu64 "/%" PRIu64
            ", queue-timeout %" PRIu64 " ms)",
            bn_sim_server_addr(srv), cfg->slots, cfg->max_inflight, cfg->max_mutating_inflight,
            cfg->queue_timeout_ns / 1000000);
    rc = bn_sim_server_run(srv, 1) == 0 ? 0 : 1;
    px_logf(log, PX_LOG_INFO, "stopped");

done:
    bn_sim_server_free(srv);
    px_log_free(log);
    free(cfg);
    return rc;
}
