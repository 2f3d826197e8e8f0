/* Line-at-a-time logger: see px_log.h. */
#include "px_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PX_LOG_LINE 4096

struct px_log {
    int fd;
    _Atomic int level;
    _Atomic int format;
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

struct line {
    char buf[PX_LOG_LINE];
    size_t len;
};

static void
put(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof(l->buf) - 1 - l->len; /* keep one byte for '\n' */

    if (n > room) {
        n = room;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void
puts_raw(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* JSON string body: escapes quotes, backslashes and control bytes so that a
 * hostile path or user name cannot forge log fields. */
static void
puts_json(struct line *l, const char *s)
{
    char esc[8];

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(l, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(l, esc, 6);
        } else {
            put(l, (const char *)&c, 1);
        }
    }
}

/* Text values: control bytes and spaces are escaped so that a line stays one
 * line and fields stay split on spaces. */
static void
puts_text(struct line *l, const char *s)
{
    char esc[8];

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            put(l, esc, 4);
        } else {
            put(l, (const char *)&c, 1);
        }
    }
}

static void
timestamp(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

struct px_log *
px_log_new(int fd, enum px_log_level level, enum px_log_format format)
{
    struct px_log *lg = calloc(1, sizeof(*lg));

    if (lg == NULL) {
        return NULL;
    }
    lg->fd = fd;
    atomic_init(&lg->level, (int)level);
    atomic_init(&lg->format, (int)format);
    return lg;
}

void
px_log_free(struct px_log *lg)
{
    free(lg);
}

void
px_log_set(struct px_log *lg, enum px_log_level level, enum px_log_format format)
{
    atomic_store(&lg->level, (int)level);
    atomic_store(&lg->format, (int)format);
}

int
px_log_enabled(const struct px_log *lg, enum px_log_level level)
{
    return lg != NULL && (int)level <= atomic_load(&((struct px_log *)lg)->level);
}

const char *
px_log_level_name(enum px_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "debug";
}

void
px_log_event(struct px_log *lg, enum px_log_level level, const char *msg,
             const struct px_log_field *fields, size_t n)
{
    struct line l;
    char ts[64], num[32];
    int json;
    ssize_t w;
    size_t i;

    if (!px_log_enabled(lg, level)) {
        return;
    }
    json = atomic_load(&lg->format) == PX_LOG_JSON;
    l.len = 0;
    timestamp(ts, sizeof(ts));
    if (json) {
        puts_raw(&l, "{\"ts\":\"");
        puts_raw(&l, ts);
        puts_raw(&l, "\",\"level\":\"");
        puts_raw(&l, px_log_level_name(level));
        puts_raw(&l, "\",\"msg\":\"");
        puts_json(&l, msg);
        puts_raw(&l, "\"");
    } else {
        puts_raw(&l, ts);
        puts_raw(&l, " ");
        puts_raw(&l, px_log_level_name(level));
        puts_raw(&l, " ");
        puts_raw(&l, msg);
    }
    for (i = 0; i < n; i++) {
        const struct px_log_field *f = &fields[i];

        snprintf(num, sizeof(num), "%lld", (long long)f->num);
        if (json) {
            puts_raw(&l, ",\"");
            puts_json(&l, f->key);
            puts_raw(&l, "\":");
            if (f->str != NULL) {
                puts_raw(&l, "\"");
                puts_json(&l, f->str);
                puts_raw(&l, "\"");
            } else {
                puts_raw(&l, num);
            }
        } else {
            puts_raw(&l, " ");
            puts_text(&l, f->key);
            puts_raw(&l, "=");
            puts_text(&l, f->str != NULL ? f->str : num);
        }
    }
    if (json) {
        puts_raw(&l, "}");
    }
    l.buf[l.len++] = '\n';
    /* One write per line; a short write on a pipe under pressure loses the
     * tail of one line, never interleaves two. */
    w = write(lg->fd, l.buf, l.len);
    (void)w;
}

void
px_logf(struct px_log *lg, enum px_log_level level, const char *fmt, ...)
{
    char msg[PX_LOG_LINE];
    va_list ap;

    if (!px_log_enabled(lg, level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    px_log_event(lg, level, msg, NULL, 0);
}
