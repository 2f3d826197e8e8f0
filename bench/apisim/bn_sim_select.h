/* Label and field selectors with apimachinery's grammar and meaning
 * (pkg/labels/selector.go, pkg/fields/selector.go): labels `k`, `!k`,
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`;
 * fields `k=v`, `k==v`, `k!=v` with `\` escapes. Objects are matched
 * against packed "key\0value\0...\0" strings. Pure, bounded. */
#ifndef BN_SIM_SELECT_H
#define BN_SIM_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#define BN_SIM_SEL_MAX_REQS   16
#define BN_SIM_SEL_MAX_VALUES 16
#define BN_SIM_SEL_BUF        2048

enum bn_sim_sel_op {
    BN_SIM_SEL_EXISTS = 0,
    BN_SIM_SEL_NOT_EXISTS,
    BN_SIM_SEL_EQ,
    BN_SIM_SEL_NEQ,
    BN_SIM_SEL_IN,
    BN_SIM_SEL_NOTIN,
    BN_SIM_SEL_GT,
    BN_SIM_SEL_LT,
};

struct bn_sim_sel_req {
    enum bn_sim_sel_op op;
    const char *key;
    const char *values[BN_SIM_SEL_MAX_VALUES];
    size_t nvalues;
};

struct bn_sim_selector {
    bool is_field; /* field semantics: an absent field has the value "" */
    struct bn_sim_sel_req reqs[BN_SIM_SEL_MAX_REQS];
    size_t nreqs;
    size_t used;
    char buf[BN_SIM_SEL_BUF];
};

/* Parse <text> (NULL or "" selects everything). Returns 0, or -1 with a
 * kube-like message in <err> ("unable to parse requirement: ..."). */
int bn_sim_label_selector_parse(struct bn_sim_selector *s, const char *text, char *err,
                                size_t errlen) __attribute__((warn_unused_result));
int bn_sim_field_selector_parse(struct bn_sim_selector *s, const char *text, char *err,
                                size_t errlen) __attribute__((warn_unused_result));

/* Whether the object whose labels (or fields) are <packed> is selected. */
bool bn_sim_selector_matches(const struct bn_sim_selector *s, const char *packed);

/* The value <key> must equal (a single `key=value` requirement among the
 * others), or NULL: what an index can serve (pods by spec.nodeName). */
const char *bn_sim_selector_exact(const struct bn_sim_selector *s, const char *key);

/* A copy of <src> in <dst>, its strings rebased into dst->buf. */
void bn_sim_selector_copy(struct bn_sim_selector *dst, const struct bn_sim_selector *src);

/* The value of <key> in <packed>, or NULL. */
const char *bn_sim_packed_get(const char *packed, const char *key);

#endif /* BN_SIM_SELECT_H */
