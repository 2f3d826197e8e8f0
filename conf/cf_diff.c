/* What a reload keeps: classes that keep their names keep their clients'
 * buckets, counters and open watches (the limiter binds state by class
 * name), and the fields a running process cannot change. */
#include "cf_int.h"

#include <stdio.h>
#include <string.h>

size_t
cf_diff_classes(const struct cf_config *prev, const struct cf_config *next, bool *kept)
{
    size_t i, n = lim_policy_class_count(next->policy), count = 0;

    for (i = 0; i < n; i++) {
        kept[i] = prev != NULL && lim_policy_class_index(
                                      prev->policy, lim_policy_class(next->policy, i)->name) >= 0;
        count += kept[i] ? 1 : 0;
    }
    return count;
}

static int
differs(const char *field, const char *was, const char *now, char *err, size_t errlen)
{
    if (strcmp(was, now) == 0) {
        return 0;
    }
    snprintf(err, errlen, "%s: cannot change without a restart (was \"%s\", now \"%s\")", field,
             was, now);
    return -1;
}

static int
differs_u32(const char *field, uint32_t was, uint32_t now, char *err, size_t errlen)
{
    if (was == now) {
        return 0;
    }
    snprintf(err, errlen, "%s: cannot change without a restart (was %u, now %u)", field, was, now);
    return -1;
}

int
cf_check_reloadable(const struct cf_config *prev, const struct cf_config *next, char *err,
                    size_t errlen)
{
    /* Sockets are bound and threads started once; the limiter's table is
     * sized once (max_clients). Everything else is read per request or per
     * connection and may change. */
    if (differs("listen.address", prev->listen.address, next->listen.address, err, errlen) != 0 ||
        differs_u32("listen.workers", prev->listen.workers, next->listen.workers, err, errlen) !=
            0 ||
        differs_u32("limits.max_clients", prev->max_clients, next->max_clients, err, errlen) != 0 ||
        differs("admin.address", prev->admin.address, next->admin.address, err, errlen) != 0 ||
        differs("admin.socket", prev->admin.socket, next->admin.socket, err, errlen) != 0) {
        return -1;
    }
    return 0;
}
