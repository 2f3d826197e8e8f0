/* Configuration reload: see px_reload.h. The order of the steps puts
 * everything that can fail before anything is committed; lim_bind may run
 * for a snapshot that is then dropped (it only adds class slots, which
 * are harmless unused). */
#include "px_reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "lim.h"
#include "px_creds.h"
#include "px_err.h"
#include "px_log.h"
#include "px_rejlog.h"
#include "px_state.h"
#include "px_worker.h"

#define CLASS_LIST_MAX 1024 /* bytes of class names in the reload log line */

/* The workers' upstream pools and the probe resolved the apiservers at
 * start, so changing them needs a restart, like the listen address. */
static int
same_upstreams(const struct cf_config *prev, const struct cf_config *next, char *err, size_t errlen)
{
    size_t i;

    if (prev->upstream.nservers != next->upstream.nservers) {
        px_errf(err, errlen,
                "upstream.servers: cannot change without a restart (was %zu servers, now %zu)",
                prev->upstream.nservers, next->upstream.nservers);
        return -1;
    }
    for (i = 0; i < next->upstream.nservers; i++) {
        if (strcmp(prev->upstream.servers[i], next->upstream.servers[i]) != 0) {
            px_errf(err, errlen,
                    "upstream.servers[%zu]: cannot change without a restart (was \"%s\", now "
                    "\"%s\")",
                    i, prev->upstream.servers[i], next->upstream.servers[i]);
            return -1;
        }
    }
    if (strcmp(prev->upstream.server_name, next->upstream.server_name) != 0) {
        px_errf(err, errlen,
                "upstream.server_name: cannot change without a restart (was \"%s\", now \"%s\")",
                prev->upstream.server_name, next->upstream.server_name);
        return -1;
    }
    return 0;
}

static void
append(char *buf, size_t len, const char *name)
{
    size_t n = strlen(buf);

    if (n + 1 < len) {
        snprintf(buf + n, len - n, "%s%s", n > 0 ? " " : "", name);
    }
}

/* Logs what the reload changed for the classes: kept (state survives),
 * added (fresh state), removed (their clients are forgotten). */
static void
log_applied(struct px_state *st, const char *who, const struct cf_config *prev,
            const struct cf_config *next)
{
    size_t n = lim_policy_class_count(next->policy), i, nkept;
    bool *kept = calloc(n > 0 ? n : 1, sizeof(*kept));
    char kept_s[CLASS_LIST_MAX] = "", added_s[CLASS_LIST_MAX] = "", removed_s[CLASS_LIST_MAX] = "";

    if (kept == NULL) {
        return;
    }
    nkept = cf_diff_classes(prev, next, kept);
    for (i = 0; i < n; i++) {
        append(kept[i] ? kept_s : added_s, CLASS_LIST_MAX, lim_policy_class(next->policy, i)->name);
    }
    for (i = 0; i < lim_policy_class_count(prev->policy); i++) {
        const char *name = lim_policy_class(prev->policy, i)->name;

        if (lim_policy_class_index(next->policy, name) < 0) {
            append(removed_s, CLASS_LIST_MAX, name);
        }
    }
    px_log_event(st->log, PX_LOG_INFO, "configuration reloaded",
                 (struct px_log_field[]){{"by", who, 0},
                                         {"path", next->path, 0},
                                         {"hash", next->hash, 0},
                                         {"previous_hash", prev->hash, 0},
                                         {"classes_kept", NULL, (int64_t)nkept},
                                         {"kept", kept_s, 0},
                                         {"added", added_s, 0},
                                         {"removed", removed_s, 0}},
                 8);
    free(kept);
}

static void
refused(struct px_state *st, const char *who, const struct cf_config *prev, const char *err)
{
    atomic_fetch_add(&st->reloads[PX_RELOAD_FAILURE], 1);
    pthread_mutex_lock(&st->lock);
    snprintf(st->reload_error, sizeof(st->reload_error), "%s", err);
    pthread_mutex_unlock(&st->lock);
    px_log_event(
        st->log, PX_LOG_ERROR, "configuration reload refused; the running one stays",
        (struct px_log_field[]){{"by", who, 0}, {"error", err, 0}, {"running_hash", prev->hash, 0}},
        3);
}

int
px_reload_run(struct px_state *st, const char *who, char *err, size_t errlen)
{
    struct cf_config *prev, *next = NULL;
    struct px_creds *creds = NULL;
    char why[CF_ERRLEN];
    unsigned i;

    pthread_mutex_lock(&st->reload_lock);
    prev = px_state_config(st);
    if (cf_load(prev->path, &next, why, sizeof(why)) != 0) {
        goto fail;
    }
    if (cf_check_reloadable(prev, next, err, errlen) != 0 ||
        same_upstreams(prev, next, err, errlen) != 0) {
        snprintf(why, sizeof(why), "%s: %s", next->path, err);
        goto fail;
    }
    creds = px_creds_new(next, err, errlen);
    if (creds == NULL) {
        snprintf(why, sizeof(why), "%s: %s", next->path, err);
        goto fail;
    }
    if (lim_bind(st->lim, next->policy, err, errlen) != 0 ||
        px_state_load_token(st, next->admin.token_file, err, errlen) != 0) {
        snprintf(why, sizeof(why), "%s: %s", next->path, err);
        goto fail;
    }
    px_state_publish(st, next, creds);
    for (i = 0; i < st->nworkers; i++) {
        px_worker_set_creds(st->workers[i], creds);
        px_worker_set_config(st->workers[i], next);
    }
    px_log_set(st->log, (enum px_log_level)next->log.level,
               next->log.format == CF_LOG_TEXT ? PX_LOG_TEXT : PX_LOG_JSON);
    if (st->rejlog != NULL) {
        px_rejlog_set_rate(st->rejlog, next->log.reject_log_per_s);
    }
    atomic_fetch_add(&st->reloads[PX_RELOAD_SUCCESS], 1);
    pthread_mutex_lock(&st->lock);
    st->reload_error[0] = '\0';
    pthread_mutex_unlock(&st->lock);
    log_applied(st, who, prev, next);
    px_creds_unref(creds);
    cf_unref(next);
    cf_unref(prev);
    pthread_mutex_unlock(&st->reload_lock);
    return 0;

fail:
    refused(st, who, prev, why);
    px_errf(err, errlen, "%s", why);
    px_creds_unref(creds);
    cf_unref(next);
    cf_unref(prev);
    pthread_mutex_unlock(&st->reload_lock);
    return -1;
}
