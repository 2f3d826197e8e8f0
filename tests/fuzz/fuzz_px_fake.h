/* Shared by the HTTP framing fuzz targets: a downstream connection of a
 * fake worker whose bufferevents have no socket (their output buffers
 * collect what floodgate would send), so the relay's llhttp glue runs as
 * in floodgate without I/O; input pieces of sizes drawn from a seed so
 * that every split of the bytes gets exercised; and a re-parser that
 * reads back what floodgate forwards. Header-only, static. */
#ifndef FUZZ_PX_FAKE_H
#define FUZZ_PX_FAKE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "px_core.h"

struct fake {
    struct event_base *base;
    struct px_shared sh;
    struct px_worker *w;
    struct px_conn *c;
    struct px_up up;
};

/* Once per process: the worker, its log (errors only, to /dev/null) and
 * the head pool. */
static struct fake *
fake_get(void)
{
    static struct fake f;

    if (f.base == NULL) {
        int fd = open("/dev/null", O_WRONLY);

        f.base = event_base_new();
        f.sh.log = px_log_new(fd, PX_LOG_ERROR, PX_LOG_TEXT);
        f.w = calloc(1, sizeof(*f.w));
        if (f.base == NULL || f.sh.log == NULL || f.w == NULL) {
            abort();
        }
        f.w->sh = &f.sh;
        f.w->base = f.base;
        px_http_pool_init(&f.w->heads, 4);
    }
    return &f;
}

/* A fresh connection (and upstream) on the fake worker. */
static struct px_conn *
fake_conn(struct fake *f)
{
    struct px_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        abort();
    }
    c->w = f->w;
    c->bev = bufferevent_socket_new(f->base, -1, 0);
    memset(&f->up, 0, sizeof(f->up));
    f->up.fd = -1;
    f->up.bev = bufferevent_socket_new(f->base, -1, 0);
    if (c->bev == NULL || f->up.bev == NULL) {
        abort();
    }
    c->state = PX_CONN_FORWARD;
    c->up = &f->up;
    c->reading = true;
    f->c = c;
    return c;
}

static void
fake_conn_free(struct fake *f)
{
    struct px_conn *c = f->c;

    px_http_fini(&c->req);
    px_http_fini(&f->up.resp);
    bufferevent_free(c->bev);
    bufferevent_free(f->up.bev);
    if (c->fwd != NULL) {
        evbuffer_free(c->fwd);
    }
    free(c);
    f->c = NULL;
    /* libevent 2.1 frees a bufferevent from its loop (a finalizer). */
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    /* Pooled heads go too: an input that ends with more allocations than
     * frees makes libFuzzer run a leak check after it, which is slow. */
    px_http_pool_fini(&f->w->heads);
}

/* Piece sizes: seed 0 feeds everything at once, else 1..(seed & 63) + 1
 * bytes at a time from a xorshift drawn from the seed. */
struct splitter {
    uint32_t x;
    unsigned max;
};

static void
split_init(struct splitter *s, uint8_t seed)
{
    s->x = 0x9e3779b9u ^ seed;
    s->max = seed == 0 ? 0 : (unsigned)(seed & 63) + 1;
}

static size_t
split_next(struct splitter *s, size_t left)
{
    size_t n;

    if (s->max == 0) {
        return left;
    }
    s->x ^= s->x << 13;
    s->x ^= s->x >> 17;
    s->x ^= s->x << 5;
    n = 1 + s->x % s->max;
    return n < left ? n : left;
}

#endif /* FUZZ_PX_FAKE_H */
