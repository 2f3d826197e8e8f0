/* The process-wide state of a running floodgate that outlives any one
 * configuration: the limiter, the logger, the workers, the running
 * configuration snapshot and credentials (swapped as a whole on reload),
 * the operator overrides as people typed them, the upstream probe's
 * verdict, and the counters of reloads and controls. One explicit struct,
 * made by `floodgate run` and handed to the admin plane, the reload and the
 * signal handling; the snapshot pointers are read under a short lock and
 * used through references, everything else is atomics. */
#ifndef PX_STATE_H
#define PX_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cf.h"

struct lim;
struct px_creds;
struct px_log;
struct px_rejlog;
struct px_worker;

#define PX_USER_MAX      256  /* an overridden user name, as typed */
#define PX_OVERRIDES_MAX 1024 /* the limiter's own bound on overrides */
#define PX_TOKEN_MAX     4096 /* bytes of the admin bearer token file */

/* What the operators did through the admin plane (metrics label "action"). */
enum px_ctl_action {
    PX_CTL_SHED = 0,
    PX_CTL_MODE,
    PX_CTL_BLOCK,
    PX_CTL_ALLOW,
    PX_CTL_UNBLOCK,
    PX_CTL_RELOAD,
    PX_CTL_COUNT
};

enum px_reload_result { PX_RELOAD_SUCCESS = 0, PX_RELOAD_FAILURE, PX_RELOAD_COUNT };

/* A block or allow in force: the limiter keeps only keyed hashes of the
 * names, this keeps what /debug/config shows. */
struct px_override {
    char user[PX_USER_MAX];
    bool allow;
    uint64_t until_ns;    /* monotonic */
    int64_t until_wall_s; /* the same instant, for people */
};

struct px_state {
    struct lim *lim;                  /* borrowed */
    struct px_log *log;               /* borrowed */
    struct px_worker *const *workers; /* borrowed; fixed after start */
    unsigned nworkers;
    struct px_rejlog *rejlog; /* borrowed, may be NULL */
    int64_t start_wall_s;

    pthread_mutex_t reload_lock; /* one reload at a time (SIGHUP, POST /reload) */
    pthread_mutex_t lock;        /* the fields down to the next blank line */
    struct cf_config *cf;
    struct px_creds *creds;
    uint8_t token_sha256[32];
    bool token_set;
    struct px_override ov[PX_OVERRIDES_MAX];
    size_t nov;
    char reload_error[CF_ERRLEN]; /* the last failure, "" after a success */
    int64_t reload_wall_s;        /* when the running snapshot was loaded */
    char probe_error[256];        /* why the last probe failed, "" when it passed */

    _Atomic uint64_t reloads[PX_RELOAD_COUNT];
    _Atomic uint64_t controls[PX_CTL_COUNT];
    _Atomic bool draining;
    _Atomic int upstream_up;    /* -1 before the first probe, then 0 or 1 */
    _Atomic uint64_t probe_ns;  /* duration of the last probe */
    _Atomic uint64_t probes[2]; /* passed, failed */
};

/* Takes references to <cf> and <creds>; the rest is borrowed. NULL when
 * out of memory. */
struct px_state *px_state_new(struct lim *lim, struct px_log *log, struct cf_config *cf,
                              struct px_creds *creds);
void px_state_free(struct px_state *st);

/* The running snapshot and credentials, each with a reference for the
 * caller (cf_unref / px_creds_unref). */
struct cf_config *px_state_config(struct px_state *st);
struct px_creds *px_state_creds(struct px_state *st);
/* Replaces both (references taken); the old ones are unreferenced. */
void px_state_publish(struct px_state *st, struct cf_config *cf, struct px_creds *creds);

/* Reads admin.token_file <path> ("" = no token required): the bearer token
 * is its contents without the trailing newline. 0, or -1 with <err> (the
 * token in force is unchanged then). */
int px_state_load_token(struct px_state *st, const char *path, char *err, size_t errlen);
/* Whether the request's Authorization value <authz> (NULL when absent)
 * passes: always when no token is configured, else "Bearer <token>"
 * compared in constant time. */
bool px_state_authorized(struct px_state *st, const char *authz);

/* Records a block (<allow> false) or allow of <user> until <until_ns>
 * (wall-clock <until_wall_s>), replacing any for the same user and
 * forgetting expired ones; -1 when PX_OVERRIDES_MAX are in force. */
int px_state_override_set(struct px_state *st, const char *user, bool allow, uint64_t until_ns,
                          int64_t until_wall_s);
/* Forgets the override of <user>; 0 if there was one. */
int px_state_override_remove(struct px_state *st, const char *user);
/* Copies the overrides in force at <now_ns> into <out> (at most <n>);
 * returns how many. */
size_t px_state_overrides(struct px_state *st, uint64_t now_ns, struct px_override *out, size_t n);

const char *px_ctl_action_name(enum px_ctl_action a);

#endif /* PX_STATE_H */
