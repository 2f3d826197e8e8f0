/* Error text for the limiter's fallible functions: every one fills a
 * caller-owned <err> buffer (which may be NULL) with a sentence naming what
 * was wrong. Private to limiter/. */
#ifndef LIM_ERR_H
#define LIM_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void lim_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void
lim_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#endif /* LIM_ERR_H */
