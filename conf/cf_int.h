/* conf's private plumbing, shared by its files and by nothing else: the
 * loading context that builds path-precise error messages, the typed readers
 * of JSON values, ${ENV} expansion, the human units, the section readers
 * and the OpenSSL-backed file checks. */
#ifndef CF_INT_H
#define CF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cf.h"

#define CF_PATH_MAX     256          /* a JSON path in messages */
#define CF_STR_MAX      4096         /* a string value after ${} expansion */
#define CF_FILE_MAX     (16u << 20)  /* the configuration file itself */
#define CF_LIST_MAX     1024         /* entries of one list in a rule */
#define CF_MAX_RULES    16384        /* rules of one policy */
#define CF_NAME_MAX     63           /* a class name: a label in metrics and logs */
#define CF_GOT_MAX      160          /* bytes of an offending string quoted back */
#define CF_U64_MAX_SAFE (1ull << 62) /* bound for sizes and durations */

/* One load: where messages point and the first error. Only the first error
 * is kept: later ones are usually consequences of it. */
struct cf_ctx {
    const char *file; /* the name messages start with */
    const char *dir;  /* relative file paths resolve against it; "" = as given */
    char *err;
    size_t errlen;
    bool failed;
    char path[CF_PATH_MAX]; /* "limits.classes[3].burst" */
    size_t pathlen;
};

/* conf/examples/sidecar.json, NUL-terminated (generated at build time). */
extern const char cf_default_policy_json[];

/* --- cf_ctx.c: paths and messages --- */

/* Appends ".<key>" (or "<key>" at the top) / "[<i>]" to the current path;
 * returns the previous length for cf_path_restore. */
size_t cf_path_key(struct cf_ctx *x, const char *key);
size_t cf_path_index(struct cf_ctx *x, size_t i);
void cf_path_restore(struct cf_ctx *x, size_t len);

/* Records "<file>: <path>: <fmt...>" as the error (first one wins) and
 * returns -1. */
int cf_fail(struct cf_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<file>: <path>: expected <fmt...>, got <v>". */
int cf_fail_got(struct cf_ctx *x, const json_t *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a string as what was found (quoted, truncated). */
int cf_fail_str(struct cf_ctx *x, const char *got, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* How <v> reads in a message: -4, 1.5, true, null, "text" (quoted,
 * truncated), an object, an array. */
void cf_got(const json_t *v, char *buf, size_t len);
void cf_got_str(const char *s, char *buf, size_t len);

/* The entry of <names> closest to <word> by edit distance (adjacent
 * transpositions count one), or NULL when none is close enough to be a
 * likely typo. */
const char *cf_suggest(const char *word, const char *const *names, size_t n);

/* Fails on the first key of object <obj> not in <names>, with a "did you
 * mean" when one is close. */
int cf_check_keys(struct cf_ctx *x, const json_t *obj, const char *const *names, size_t n);

/* --- cf_env.c --- */

/* Expands ${NAME} and ${NAME:-default} in <in> into <out>; "$${" is a
 * literal "${". Returns 0, or -1 with <why> completing "expected ...". */
int cf_env_expand(const char *in, char *out, size_t outlen, char *why, size_t whylen);

/* --- cf_read.c: typed values --- */

struct cf_enum {
    const char *name;
    int value;
};

enum cf_type {
    CF_T_STR = 0, /* char *, any string (min = 1: non-empty) */
    CF_T_FILE,    /* char *, a path, resolved against cf_ctx.dir */
    CF_T_ADDR,    /* char *, HOST:PORT | [V6]:PORT | unix:/path (max = 1: port 0 ok) */
    CF_T_U32,     /* uint32_t integer in [min, max] */
    CF_T_SIZE32,  /* uint32_t bytes */
    CF_T_SIZE64,  /* uint64_t bytes */
    CF_T_DUR_NS,  /* uint64_t nanoseconds */
    CF_T_DUR_S,   /* uint32_t whole seconds, bounds in seconds */
    CF_T_RATE,    /* uint64_t milli-tokens/s; min 0: 0 or "none" = no bucket */
    CF_T_PCT,     /* uint32_t percent */
    CF_T_MT32,    /* uint32_t milli-tokens from a number of tokens */
    CF_T_ENUM,    /* int, from <names> */
    CF_T_BOOL,    /* bool */
    CF_T_CUSTOM,  /* a known key the section reads itself */
};

struct cf_key {
    const char *name;
    enum cf_type type;
    size_t off;
    uint64_t min, max;
    const struct cf_enum *names; /* CF_T_ENUM: {NULL, 0} terminated */
};

/* Checks that <obj> is an object whose keys are all in <keys>, then reads
 * every present key of a plain type into <base> + off. Absent keys keep
 * what <base> held (the defaults). String fields must be NULL or owned. */
int cf_read_object(struct cf_ctx *x, const json_t *obj, const struct cf_key *keys, size_t n,
                   void *base);
int cf_read_value(struct cf_ctx *x, const json_t *v, const struct cf_key *k, void *base);

/* A string value after ${} expansion into <out> (CF_STR_MAX bytes). */
int cf_read_string(struct cf_ctx *x, const json_t *v, char *out);
/* An array of strings: each expanded and duplicated into *<out> (a
 * calloc'd array of <*n> malloc'd strings). An absent <v> gives none.
 * <nonempty>: entries may not be "". */
int cf_read_strings(struct cf_ctx *x, const json_t *v, size_t max, bool nonempty, char ***out,
                    size_t *n);
void cf_strings_free(char **l, size_t n);

/* Resolves <path> against <x>->dir into a new string (NULL: no memory). */
char *cf_resolve_path(const struct cf_ctx *x, const char *path);
/* HOST:PORT, [V6]:PORT or (with <allow_unix>) unix:/path. */
bool cf_addr_valid(const char *s, bool allow_unix, bool allow_port0);
bool cf_addr_is_loopback(const char *s);
/* A DNS name or an IPv4/IPv6 literal (no brackets, no port). */
bool cf_host_valid(const char *s);

/* --- cf_units.c: human units, both ways --- */

int cf_parse_pct(const char *s, uint32_t *pct); /* "25%" or "25" */
/* "1", "0.25": a decimal number in thousandths, rounded to nearest. */
int cf_parse_milli(const char *s, uint64_t *milli);
/* Into <buf>: "10/s", "0.5/s", "30/m"; "250ms", "30s", "2m"; "64KiB". */
const char *cf_fmt_rate(uint64_t mtps, char *buf, size_t len);
const char *cf_fmt_duration(uint64_t ns, char *buf, size_t len);
const char *cf_fmt_size(uint64_t bytes, char *buf, size_t len);
/* <milli>/1000 as "2", "0.5", "1.25", then <unit>. */
void cf_fmt_milli(uint64_t milli, const char *unit, char *buf, size_t len);

/* --- cf_sections.c, cf_limits.c, cf_rules.c --- */

int cf_sections_read(struct cf_ctx *x, const json_t *root, struct cf_config *cf);
/* Reads "limits" into a finished policy and cf->max_clients. */
int cf_limits_read(struct cf_ctx *x, const json_t *limits, struct cf_config *cf);

/* Name -> class index, for duplicate names and rule references. */
struct cf_names;
struct cf_names *cf_names_new(size_t cap);
void cf_names_free(struct cf_names *t);
/* Adds <name> as <index>; returns -1 when present (*<prev> = its index). */
int cf_names_add(struct cf_names *t, const char *name, size_t index, size_t *prev);
int cf_names_find(const struct cf_names *t, const char *name); /* -1: none */

int cf_rules_read(struct cf_ctx *x, const json_t *rules, struct lim_policy *p,
                  const struct cf_names *names, const char *const *class_names, size_t nclasses);
/* Whether <r> matches every request (what the last rule must do). */
bool cf_rule_is_catch_all(const struct lim_rule_params *r);

/* --- cf_pem.c: the only OpenSSL user in conf --- */

enum cf_pem_kind {
    CF_PEM_CERTS = 0,   /* one or more certificates */
    CF_PEM_PRIVATE_KEY, /* an unencrypted private key */
    CF_PEM_PUBLIC_KEY,  /* an RSA or EC P-256 public key (RS256 / ES256) */
};

/* 0 when <path> is a readable PEM file holding <kind>; else -1 and <why>
 * says what was wrong ("No such file or directory", "no certificate"). */
int cf_pem_check(const char *path, enum cf_pem_kind kind, char *why, size_t whylen);
/* 0 when private key <key_path> belongs to the first certificate of
 * <cert_path> (both already checked). */
int cf_pem_pair_check(const char *cert_path, const char *key_path, char *why, size_t whylen);
/* The first 8 bytes of SHA-256(<data>) in hex into <out>. */
void cf_hash_prefix(const void *data, size_t len, char out[17]);

#endif /* CF_INT_H */
