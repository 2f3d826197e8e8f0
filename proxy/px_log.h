/* One logging module: a line per event, JSON objects or text, written with a
 * single write(2) so that worker threads never interleave. The logger is an
 * explicit object handed to whoever logs; libraries (limiter/, conf/) never
 * log. */
#ifndef PX_LOG_H
#define PX_LOG_H

#include <stddef.h>
#include <stdint.h>

enum px_log_level { PX_LOG_ERROR = 0, PX_LOG_WARN, PX_LOG_INFO, PX_LOG_DEBUG };
enum px_log_format { PX_LOG_JSON = 0, PX_LOG_TEXT };

/* A structured field: string values are escaped for JSON; a NULL <str> means
 * the field is the integer <num>. */
struct px_log_field {
    const char *key;
    const char *str;
    int64_t num;
};

struct px_log;

/* A logger writing to <fd> (not owned). */
struct px_log *px_log_new(int fd, enum px_log_level level, enum px_log_format format);
void px_log_free(struct px_log *lg);
/* Level and format may change at runtime (reload); readers see either. */
void px_log_set(struct px_log *lg, enum px_log_level level, enum px_log_format format);
int px_log_enabled(const struct px_log *lg, enum px_log_level level);

/* "msg" printf-formatted, no fields. */
void px_logf(struct px_log *lg, enum px_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* <msg> plus <n> fields: {"ts":..,"level":..,"msg":..,"k":"v",...} or
 * "TS LEVEL msg k=v ...". Lines longer than 4 KiB are truncated. */
void px_log_event(struct px_log *lg, enum px_log_level level, const char *msg,
                  const struct px_log_field *fields, size_t n);

const char *px_log_level_name(enum px_log_level level);

#endif /* PX_LOG_H */
