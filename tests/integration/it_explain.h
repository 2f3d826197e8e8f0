/* Shared by the floodgate explain tests (it_explain*.c): a throwaway PKI for
 * the shipped sidecar.json, running `floodgate explain`, and reading its
 * JSON by dotted path with a failure that names the path. Header-only. */
#ifndef IT_EXPLAIN_H
#define IT_EXPLAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itlib.h"

#define EX_OUT_MAX  (256 * 1024)
#define EX_MAX_ARGS 32

static char ex_dir[1024];
static char ex_sidecar[1024];
static char ex_out[EX_OUT_MAX];

/* The PKI sidecar.json names through ${FLOODGATE_PKI}, and the example. */
static inline int
ex_setup(const char *tag)
{
    char pki[1200];

    snprintf(ex_dir, sizeof(ex_dir), "%s", it_tmpdir(tag));
    snprintf(pki, sizeof(pki), "%s/pki", ex_dir);
    if (it_pki(pki) != 0 || setenv("FLOODGATE_PKI", pki, 1) != 0) {
        return -1;
    }
    snprintf(ex_sidecar, sizeof(ex_sidecar), "%s", it_src("conf/examples/sidecar.json"));
    return 0;
}

/* Runs `floodgate explain --config <cfg> <args>...` (NULL-terminated),
 * capturing stdout and stderr into ex_out; returns the exit code. */
static inline int
ex_run(const char *cfg, const char *const *args)
{
    char *argv[EX_MAX_ARGS + 5];
    size_t n = 0, i;

    argv[n++] = (char *)it_bin("floodgate");
    argv[n++] = (char *)"explain";
    if (cfg != NULL) {
        argv[n++] = (char *)"--config";
        argv[n++] = (char *)cfg;
    }
    for (i = 0; args[i] != NULL && i < EX_MAX_ARGS; i++) {
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    return it_run(argv, NULL, ex_out, sizeof(ex_out), 30000);
}

/* The --json object for <args> under <cfg>; fails the test unless the
 * command exits 0 with one JSON object. */
static inline json_t *
ex_json(const char *cfg, const char *const *args)
{
    json_error_t je;
    json_t *j;
    int rc = ex_run(cfg, args);

    if (rc != 0) {
        fail_msg("floodgate explain exited %d: %s", rc, ex_out);
    }
    j = json_loads(ex_out, 0, &je);
    if (j == NULL || !json_is_object(j)) {
        fail_msg("not one JSON object (%s): %.400s", je.text, ex_out);
    }
    return j;
}

/* The value at dotted <path> ("cost.tokens", "rule.misses.0.why"). */
static inline json_t *
ex_at(json_t *root, const char *path)
{
    char buf[256], *save = NULL, *part;
    json_t *v = root;

    snprintf(buf, sizeof(buf), "%s", path);
    for (part = strtok_r(buf, ".", &save); part != NULL && v != NULL;
         part = strtok_r(NULL, ".", &save)) {
        v = json_is_array(v) ? json_array_get(v, strtoul(part, NULL, 10))
                             : json_object_get(v, part);
    }
    if (v == NULL) {
        fail_msg("no %s in the explanation", path);
    }
    return v;
}

static inline const char *
ex_str(json_t *root, const char *path)
{
    json_t *v = ex_at(root, path);

    if (!json_is_string(v)) {
        fail_msg("%s is not a string", path);
    }
    return json_string_value(v);
}

static inline long long
ex_int(json_t *root, const char *path)
{
    json_t *v = ex_at(root, path);

    if (!json_is_integer(v)) {
        fail_msg("%s is not an integer", path);
    }
    return (long long)json_integer_value(v);
}

/* A number (tokens, rates) in thousandths, rounded. */
static inline long long
ex_milli(json_t *root, const char *path)
{
    json_t *v = ex_at(root, path);

    if (!json_is_number(v)) {
        fail_msg("%s is not a number", path);
    }
    return llround(json_number_value(v) * 1000.0);
}

static inline int
ex_bool(json_t *root, const char *path)
{
    json_t *v = ex_at(root, path);

    if (!json_is_boolean(v)) {
        fail_msg("%s is not a boolean", path);
    }
    return json_is_true(v);
}

/* Field-by-field comparison that names the case and the field. */
#define EX_STR(tag, j, path, want)                                                                 \
    do {                                                                                           \
        const char *got_ = ex_str((j), (path));                                                    \
        if (strcmp(got_, (want)) != 0) {                                                           \
            fail_msg("%s: %s is \"%s\", want \"%s\"", (tag), (path), got_, (want));                \
        }                                                                                          \
    } while (0)

#define EX_INT(tag, j, path, want)                                                                 \
    do {                                                                                           \
        long long got_ = ex_int((j), (path));                                                      \
        if (got_ != (long long)(want)) {                                                           \
            fail_msg("%s: %s is %lld, want %lld", (tag), (path), got_, (long long)(want));         \
        }                                                                                          \
    } while (0)

#define EX_MILLI(tag, j, path, want)                                                               \
    do {                                                                                           \
        long long got_ = ex_milli((j), (path));                                                    \
        if (got_ != (long long)(want)) {                                                           \
            fail_msg("%s: %s is %lld/1000, want %lld/1000", (tag), (path), got_,                   \
                     (long long)(want));                                                           \
        }                                                                                          \
    } while (0)

#define EX_BOOL(tag, j, path, want)                                                                \
    do {                                                                                           \
        int got_ = ex_bool((j), (path));                                                           \
        if (got_ != (int)(want)) {                                                                 \
            fail_msg("%s: %s is %d, want %d", (tag), (path), got_, (int)(want));                   \
        }                                                                                          \
    } while (0)

#endif /* IT_EXPLAIN_H */
