/* Rejection logging that a storm cannot turn into a disk-filling storm of
 * its own: each rejection may be logged in full (identity, class, reason,
 * path) while the process is under log.reject_log_per_s lines this second;
 * the rest are counted per class and summarised every PX_REJLOG_WINDOW_S
 * seconds, one line per class ("…and 4,211 more from class nodes in the
 * last 10s"). Shared by all workers: one atomic word for the second's
 * budget, one relaxed counter per class. */
#ifndef PX_REJLOG_H
#define PX_REJLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lim.h"

#define PX_REJLOG_WINDOW_S 10 /* seconds a summary covers */

struct lim;
struct px_log;
struct px_rejlog;
struct px_shared;

/* At most <per_s> full lines per wall-clock second (0: summaries only).
 * NULL when out of memory. */
struct px_rejlog *px_rejlog_new(uint32_t per_s);
void px_rejlog_free(struct px_rejlog *rl);
/* A reload may change log.reject_log_per_s. */
void px_rejlog_set_rate(struct px_rejlog *rl, uint32_t per_s);

/* Whether a rejection of the limiter's class slot <class_slot> at
 * wall-clock second <now_s> may be logged in full; when not, it is counted
 * for the next summary. Lock-free. */
bool px_rejlog_take(struct px_rejlog *rl, uint32_t class_slot, int64_t now_s);

/* Writes one summary line per class with rejections not logged since the
 * last call (class names from <lim>) to <log>, over a window of
 * <window_s> seconds, and starts counting afresh. Returns the lines
 * written. */
size_t px_rejlog_flush(struct px_rejlog *rl, struct px_log *log, const struct lim *lim,
                       uint32_t window_s);
/* Rejections not logged in full since the start (a metric). */
uint64_t px_rejlog_suppressed(const struct px_rejlog *rl);

/* Makes the workers of <sh> log their rejections through <rl>. */
void px_rejlog_attach(struct px_shared *sh, struct px_rejlog *rl);

/* "4211" -> "4,211", as people read counts. */
void px_rejlog_thousands(uint64_t n, char *buf, size_t len);

#endif /* PX_REJLOG_H */
