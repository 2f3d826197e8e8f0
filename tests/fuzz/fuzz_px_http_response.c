/* libFuzzer target for the response framing path: raw bytes from an
 * apiserver through px_http in response mode with the relay's own
 * callbacks (px_relay_response_cbs: interim responses skipped, the head
 * rebuilt by px_headers_response, chunked bodies re-framed, close-delimited
 * bodies marked to close) into a fake downstream connection, in pieces of
 * every size, then the end of the stream. Oracles: an error is a 502 (or
 * the glue's own abort for a 101 nobody asked for); a response that
 * completed reaches the client as one that parses back cleanly with the
 * same status and body length (a 101: the same status). Input: byte 0 is the split seed, byte 1
 * the request's flags (bit 0 HEAD, bit 1 an upgrade request), the rest is
 * the stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_px_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct back {
    int status;
    uint64_t body;
    bool head_seen;
    bool is_head;
};

static enum px_http_act
back_head(void *arg, struct px_http_head *h)
{
    struct back *b = arg;

    b->status = h->status;
    b->head_seen = true;
    return b->is_head || h->status == 101 ? PX_HTTP_SKIP_BODY : PX_HTTP_GO;
}

static int
back_body(void *arg, const char *at, size_t len)
{
    struct back *b = arg;

    (void)at;
    b->body += len;
    return 0;
}

static const struct px_http_cbs back_cbs = {back_head, back_body, NULL, NULL};

/* Field lines in the head at the start of <s> (<len> bytes): more than
 * PX_HTTP_MAX_FIELDS is what floodgate may forward (it adds fields to a
 * head at its own limit) but not what px_http reads back. */
static size_t
field_lines(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i + 1 < len; i++) {
        if (s[i] == '\r' && s[i + 1] == '\n') {
            if (i + 3 < len && s[i + 2] == '\r' && s[i + 3] == '\n') {
                break;
            }
            n++;
        }
    }
    return n;
}

/* The client's bytes parse as one response of <status> with <body> bytes. */
static void
read_back(struct fake *f, struct evbuffer *out, bool is_head, int status, uint64_t body)
{
    struct back b = {0, 0, false, is_head};
    struct px_http p;
    struct px_http_limits lim = {1u << 20, 0};
    size_t len = evbuffer_get_length(out), used = 0;
    const char *s = (const char *)evbuffer_pullup(out, -1);
    enum px_http_result r;

    px_http_init(&p, false, &back_cbs, &b, &f->w->heads, &lim);
    r = px_http_feed(&p, s, len, &used);
    if (r == PX_HTTP_MORE) {
        r = px_http_eof(&p); /* a body delimited by the close */
    }
    if (r == PX_HTTP_ERROR && field_lines(s, len) > PX_HTTP_MAX_FIELDS) {
        px_http_fini(&p);
        return;
    }
    /* After a 101 every byte is the tunnel's, body or not: the client
     * gets them in the same order either way. */
    if (r != PX_HTTP_DONE || b.status != status || (status != 101 && b.body != body)) {
        fprintf(stderr, "client got r=%d status %d (want %d) body %llu (want %llu): %s\n%.*s\n",
                (int)r, b.status, status, (unsigned long long)b.body, (unsigned long long)body,
                p.err_msg != NULL ? p.err_msg : "", (int)(len < 2000 ? len : 2000), s);
        abort();
    }
    px_http_fini(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fake *f = fake_get();
    struct px_conn *c;
    struct px_http_limits rl = {PX_MAX_RESPONSE_HEAD, 0};
    struct splitter sp;
    struct evbuffer *out;
    const char *in = (const char *)data + 2;
    size_t n = size > 1 ? size - 2 : 0, pos = 0, guard = 0;
    bool done = false;

    if (size < 2) {
        return 0;
    }
    split_init(&sp, data[0]);
    c = fake_conn(f);
    c->is_head = (data[1] & 1) != 0;
    c->is_upgrade = (data[1] & 2) != 0;
    out = bufferevent_get_output(c->bev);
    px_http_init(&f->up.resp, false, &px_relay_response_cbs, c, &f->w->heads, &rl);
    for (;;) {
        size_t piece = split_next(&sp, n - pos), used = 0;
        enum px_http_result r = px_http_feed(&f->up.resp, in + pos, piece, &used);
        int st;

        if (used > piece) {
            abort();
        }
        pos += used;
        if (r == PX_HTTP_MORE && pos >= n) {
            r = px_http_eof(&f->up.resp); /* the apiserver closed */
            if (r == PX_HTTP_MORE) {
                break;
            }
        }
        if (r == PX_HTTP_ERROR) {
            if (f->up.resp.err_status != 502 && f->up.resp.err_status != 0) {
                fprintf(stderr, "response error status %d: %s\n", f->up.resp.err_status,
                        f->up.resp.err_msg);
                abort();
            }
            if (f->up.resp.err_status == 0 && c->is_upgrade) {
                abort(); /* only an unasked 101 aborts */
            }
            break;
        }
        if (r == PX_HTTP_DONE) {
            st = f->up.resp.head != NULL ? f->up.resp.head->status : 0;
            if (st >= 100 && st < 200 && st != 101) {
                px_http_next(&f->up.resp); /* as parse_upstream does */
                if (pos >= n) {
                    break;
                }
                continue;
            }
            if (c->chunked_resp) {
                evbuffer_add(out, "0\r\n\r\n", 5); /* response_done */
            }
            done = true;
            break;
        }
        if (++guard > 8 * n + 64) {
            abort();
        }
    }
    if (done) {
        if (!c->head_sent || c->status < 100 || c->status > 999) {
            abort();
        }
        read_back(f, out, c->is_head, c->status, c->resp_bytes);
    }
    fake_conn_free(f);
    return 0;
}
