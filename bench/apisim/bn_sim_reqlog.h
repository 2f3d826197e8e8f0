/* The recent-requests log behind GET /debug/requests?last=N: a bounded
 * ring of who asked what and how it was answered, so that tests can assert
 * the identity a request was served as. Pure. */
#ifndef BN_SIM_REQLOG_H
#define BN_SIM_REQLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bn_sim_auth.h"

struct bn_sim_reqlog;

struct bn_sim_reqlog *bn_sim_reqlog_new(size_t cap);
void bn_sim_reqlog_free(struct bn_sim_reqlog *l);

/* Records a request; strings are copied (truncated to fit their fields). */
void bn_sim_reqlog_add(struct bn_sim_reqlog *l, const char *method, const char *path,
                       const struct bn_sim_user *u, int code, uint64_t latency_ns);

/* The last <n> entries, oldest first, as a JSON array to <out>. */
void bn_sim_reqlog_render(const struct bn_sim_reqlog *l, size_t n, FILE *out);

#endif /* BN_SIM_REQLOG_H */
