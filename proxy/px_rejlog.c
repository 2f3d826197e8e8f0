/* Bounded rejection logging: see px_rejlog.h. */
#include "px_rejlog.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_core.h"
#include "px_log.h"

/* The second's budget in one word, so that workers take it with one
 * compare-and-swap: the wall-clock second in the high 40 bits, the lines
 * logged in it in the low 24 (log.reject_log_per_s is at most 100,000). */
#define COUNT_BITS 24
#define COUNT_MASK ((1ull << COUNT_BITS) - 1)

struct px_rejlog {
    _Atomic uint32_t per_s;
    _Atomic uint64_t window;
    _Atomic uint64_t suppressed_total;
    _Atomic uint64_t suppressed[LIM_MAX_CLASSES]; /* since the last flush, per class slot */
};

struct px_rejlog *
px_rejlog_new(uint32_t per_s)
{
    struct px_rejlog *rl = calloc(1, sizeof(*rl));

    if (rl != NULL) {
        atomic_init(&rl->per_s, per_s);
    }
    return rl;
}

void
px_rejlog_free(struct px_rejlog *rl)
{
    free(rl);
}

void
px_rejlog_set_rate(struct px_rejlog *rl, uint32_t per_s)
{
    atomic_store_explicit(&rl->per_s, per_s, memory_order_relaxed);
}

bool
px_rejlog_take(struct px_rejlog *rl, uint32_t class_slot, int64_t now_s)
{
    uint64_t per_s = atomic_load_explicit(&rl->per_s, memory_order_relaxed);
    uint64_t sec = (uint64_t)now_s & ((1ull << (64 - COUNT_BITS)) - 1);
    uint64_t cur = atomic_load_explicit(&rl->window, memory_order_relaxed);

    for (;;) {
        uint64_t next;

        /* Only a later second opens a fresh budget: a worker that read the
         * clock just before another crossed into the next second counts
         * against that next one, so concurrent workers never get a budget
         * twice. */
        if (cur >> COUNT_BITS < sec) {
            next = sec << COUNT_BITS;
        } else {
            next = cur;
        }
        if ((next & COUNT_MASK) >= per_s) {
            break;
        }
        if (atomic_compare_exchange_weak_explicit(&rl->window, &cur, next + 1, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            return true;
        }
    }
    if (class_slot >= LIM_MAX_CLASSES) {
        class_slot = LIM_MAX_CLASSES - 1;
    }
    atomic_fetch_add_explicit(&rl->suppressed[class_slot], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rl->suppressed_total, 1, memory_order_relaxed);
    return false;
}

void
px_rejlog_thousands(uint64_t n, char *buf, size_t len)
{
    char digits[24];
    size_t nd, i, k = 0;

    nd = (size_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    for (i = 0; i < nd && k + 1 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0 && k + 2 < len) {
            buf[k++] = ',';
        }
        buf[k++] = digits[i];
    }
    if (len > 0) {
        buf[k < len ? k : len - 1] = '\0';
    }
}

size_t
px_rejlog_flush(struct px_rejlog *rl, struct px_log *log, const struct lim *lim, uint32_t window_s)
{
    size_t slot, nslots = lim_class_slot_count(lim), lines = 0;

    for (slot = 0; slot < LIM_MAX_CLASSES; slot++) {
        uint64_t n;
        const char *name;
        char count[32], msg[LIM_KEY_DISPLAY + 160];

        if (atomic_load_explicit(&rl->suppressed[slot], memory_order_relaxed) == 0) {
            continue;
        }
        n = atomic_exchange_explicit(&rl->suppressed[slot], 0, memory_order_relaxed);
        name = slot < nslots ? lim_class_slot_name(lim, slot) : "other";
        px_rejlog_thousands(n, count, sizeof(count));
        snprintf(msg, sizeof(msg),
                 "\xe2\x80\xa6"
                 "and %s more from class %s in the last %us",
                 count, name, (unsigned)window_s);
        px_log_event(log, PX_LOG_INFO, msg,
                     (struct px_log_field[]){{"event", "rejections_summary", 0},
                                             {"class", name, 0},
                                             {"count", NULL, (int64_t)n},
                                             {"window_s", NULL, (int64_t)window_s}},
                     4);
        lines++;
    }
    return lines;
}

uint64_t
px_rejlog_suppressed(const struct px_rejlog *rl)
{
    return atomic_load_explicit(&((struct px_rejlog *)rl)->suppressed_total, memory_order_relaxed);
}

void
px_rejlog_attach(struct px_shared *sh, struct px_rejlog *rl)
{
    sh->rejlog = rl;
}
