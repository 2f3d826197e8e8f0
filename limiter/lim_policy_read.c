/* Read access to a finished policy (summaries, explain, the admin plane)
 * and the names of modes and distinguishers, as the configuration spells
 * them. */
#include "lim_policy.h"

#include <string.h>

#include "lim_policy_int.h"

const struct lim_global_params *
lim_policy_global(const struct lim_policy *p)
{
    return &p->g;
}

size_t
lim_policy_class_count(const struct lim_policy *p)
{
    return p->nclasses;
}

const struct lim_class_params *
lim_policy_class(const struct lim_policy *p, size_t i)
{
    return i < p->nclasses ? &p->classes[i].p : NULL;
}

int
lim_policy_class_index(const struct lim_policy *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nclasses; i++) {
        if (strcmp(p->classes[i].p.name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

size_t
lim_policy_rule_count(const struct lim_policy *p)
{
    return p->nrules;
}

const struct lim_rule_params *
lim_policy_rule(const struct lim_policy *p, size_t i)
{
    return i < p->nrules ? &p->rules[i].p : NULL;
}

static const char *const mode_names[LIM_MODE_COUNT] = {"enforce", "dry-run", "exempt"};
static const char *const dist_names[LIM_DIST_COUNT] = {"none", "user", "namespace", "node"};

const char *
lim_mode_name(enum lim_mode m)
{
    return (unsigned)m < LIM_MODE_COUNT ? mode_names[m] : "unknown";
}

int
lim_mode_from_name(const char *name)
{
    int i;

    for (i = 0; i < LIM_MODE_COUNT; i++) {
        if (strcmp(name, mode_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *
lim_dist_name(enum lim_dist d)
{
    return (unsigned)d < LIM_DIST_COUNT ? dist_names[d] : "unknown";
}

int
lim_dist_from_name(const char *name)
{
    int i;

    for (i = 0; i < LIM_DIST_COUNT; i++) {
        if (strcmp(name, dist_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}
