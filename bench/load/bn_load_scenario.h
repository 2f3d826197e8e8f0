/* A scenario: who loads the target and how. Populations of members, each
 * member with its own identity (a minted node certificate, a bound
 * service-account token, ...), the watches it holds open and the request
 * streams it sends. Read from JSON (documented in bench/load/README.md)
 * into plain structs, validated completely before anything connects, with
 * messages that name the JSON path. The command line builds the same JSON. */
#ifndef BN_LOAD_SCENARIO_H
#define BN_LOAD_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bn_load_sched.h"

#define BN_SCN_ERRLEN       512
#define BN_SCN_MAX_POPS     64
#define BN_SCN_MAX_COUNT    100000 /* members of one population */
#define BN_SCN_MAX_WATCHES  16     /* per member */
#define BN_SCN_MAX_REQUESTS 16     /* streams per member */
#define BN_SCN_MAX_HEADERS  16
#define BN_SCN_MAX_GROUPS   16
#define BN_SCN_NAME_MAX     63
#define BN_SCN_MAX_RETRIES  100
#define BN_SCN_FILE_MAX     (4u << 20)

enum bn_id_kind {
    BN_ID_NONE = 0,   /* anonymous */
    BN_ID_CERT,       /* client certificate: minted from user/groups, or files */
    BN_ID_TOKEN,      /* bound service-account JWT signed with sa_key */
    BN_ID_BEARER,     /* a static bearer token */
    BN_ID_KUBECONFIG, /* whatever the kubeconfig's current context holds */
};

/* Strings are owned; NULL when absent. Templates may use {i} etc. */
struct bn_scn_identity {
    enum bn_id_kind kind;
    char *user;                      /* cert: CN template */
    char *groups[BN_SCN_MAX_GROUPS]; /* cert: O templates */
    size_t ngroups;
    char *cert, *key;          /* cert: PEM files instead of minting */
    char *ns, *serviceaccount; /* token */
    char *node, *pod;          /* token: bound objects (templates) */
    char *issuer, *audience;   /* token: default sa_issuer, issuer */
    uint64_t expiration_ns;    /* token: default 1 h */
    char *token;               /* bearer (template) */
    char *path;                /* kubeconfig */
};

struct bn_scn_watch {
    char *path;  /* template; the watch parameter is managed by the reflector */
    bool relist; /* LIST first and watch from its resourceVersion */
};

struct bn_scn_request {
    char *method;                      /* GET POST PUT PATCH DELETE HEAD */
    char *path;                        /* template */
    char *body;                        /* template or NULL */
    char *headers[BN_SCN_MAX_HEADERS]; /* "Name: value" templates */
    size_t nheaders;
    uint64_t rate_mrps; /* per member, or in total when <total> */
    bool total;
    enum bn_arrival arrival;
};

struct bn_scn_pop {
    char *name;
    uint32_t count;
    bool critical; /* the controllers and operators a storm must not lock out */
    struct bn_scn_identity id;
    uint64_t start_ns, ramp_ns;
    struct bn_scn_watch watches[BN_SCN_MAX_WATCHES];
    size_t nwatches;
    struct bn_scn_request requests[BN_SCN_MAX_REQUESTS];
    size_t nrequests;
};

struct bn_scn {
    char *name;   /* the file (or "command line") messages cite */
    char *target; /* "https://host:port" without a path */
    char *host;   /* from target: for SNI, verification and Host */
    char *port;
    char *ca; /* verifies the target; NULL only with insecure */
    bool insecure;
    uint64_t duration_ns;
    uint64_t timeout_ns; /* a request without its response by then fails */
    uint32_t threads;    /* 0: one per core */
    bool closed;         /* closed loop: back-to-back, rates ignored */
    bool retry_after;    /* honour Retry-After on 429/5xx like client-go */
    uint32_t max_retries;
    uint64_t seed;
    char *ca_cert, *ca_key;   /* for minting client certificates */
    char *sa_key, *sa_issuer; /* for signing service-account tokens */
    struct bn_scn_pop *pops;
    size_t npops;
};

/* Parses the scenario <text> (<len> bytes). <name> is what messages cite
 * and relative paths resolve against its directory; <target>, when not
 * NULL, replaces the file's target. On success *<out> is a new scenario. */
int bn_scn_parse(const char *text, size_t len, const char *name, const char *target,
                 struct bn_scn **out, char *err, size_t errlen);
/* Reads <path> (at most BN_SCN_FILE_MAX bytes) and parses it. */
int bn_scn_load(const char *path, const char *target, struct bn_scn **out, char *err,
                size_t errlen);
void bn_scn_free(struct bn_scn *s);

/* Splits "https://host:port[/path]" into its parts (new strings); the
 * port defaults to 443, [v6] brackets are removed from <host>. */
int bn_scn_split_url(const char *url, char **host, char **port, char **path, char *why,
                     size_t whylen);

/* The rate <r> of one member of <pop>, as a fraction: rate_mrps / *div. */
uint64_t bn_scn_member_rate(const struct bn_scn_pop *pop, const struct bn_scn_request *r,
                            uint32_t *div);
/* Requests per second, in mrps, that <pop> is configured to send. */
uint64_t bn_scn_pop_rate(const struct bn_scn_pop *pop);
/* Requests <pop> is scheduled to send in a run of <duration_ns>, each
 * member from its place in the ramp: what an open-loop run should count
 * when the target keeps up. */
double bn_scn_pop_expected(const struct bn_scn_pop *pop, uint64_t duration_ns);

#endif /* BN_LOAD_SCENARIO_H */
