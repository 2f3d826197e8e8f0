/* Reading a JSON document people wrote, with messages that point at the
 * place: "storm.json: populations[1].watches[0].path: expected a string
 * starting with "/", got 42". Shared by the scenario reader and the
 * kubeconfig reader (kubeconfigs may be JSON). Only the first error is kept:
 * later ones are usually its consequences. */
#ifndef BN_LOAD_JSON_H
#define BN_LOAD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define BN_JSON_PATH_MAX 256
#define BN_JSON_GOT_MAX  64 /* bytes of an offending string quoted back */

struct bn_json_ctx {
    const char *file; /* what messages start with */
    char *err;
    size_t errlen;
    bool failed;
    char path[BN_JSON_PATH_MAX]; /* "populations[1].watches[0].path" */
    size_t pathlen;
};

void bn_json_ctx_init(struct bn_json_ctx *x, const char *file, char *err, size_t errlen);

/* Appends ".<key>" (no dot at the top) or "[<i>]" to the path and returns
 * its previous length, for bn_json_restore. */
size_t bn_json_key(struct bn_json_ctx *x, const char *key);
size_t bn_json_index(struct bn_json_ctx *x, size_t i);
void bn_json_restore(struct bn_json_ctx *x, size_t len);

/* Records "<file>: <path>: <fmt...>" (first error wins); returns -1. */
int bn_json_fail(struct bn_json_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<file>: <path>: expected <fmt...>, got <v>"; returns -1. */
int bn_json_fail_got(struct bn_json_ctx *x, const json_t *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* How <v> reads in a message: -4, 1.5, true, null, "text", an object. */
void bn_json_got(const json_t *v, char *buf, size_t len);

/* The entry of <names> closest to <word> (a likely typo), or NULL. */
const char *bn_json_suggest(const char *word, const char *const *names, size_t n);
/* Fails on the first key of <obj> not in <names>, suggesting the closest. */
int bn_json_check_keys(struct bn_json_ctx *x, const json_t *obj, const char *const *names,
                       size_t n);

/* Typed readers of member <key> of <obj>; an absent key leaves *out as it
 * was (the default) unless <required>. Strings are duplicated (*out is
 * freed first). Durations are "30s" strings or numbers of seconds; rates
 * "10/s" strings or numbers per second. */
int bn_json_string(struct bn_json_ctx *x, const json_t *obj, const char *key, bool required,
                   char **out);
int bn_json_bool(struct bn_json_ctx *x, const json_t *obj, const char *key, bool *out);
int bn_json_u32(struct bn_json_ctx *x, const json_t *obj, const char *key, uint32_t min,
                uint32_t max, uint32_t *out);
int bn_json_duration(struct bn_json_ctx *x, const json_t *obj, const char *key, uint64_t *out);
/* <v> itself (not a member) as a rate. */
int bn_json_rate(struct bn_json_ctx *x, const json_t *v, uint64_t *mrps);

#endif /* BN_LOAD_JSON_H */
