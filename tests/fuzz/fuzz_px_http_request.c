/* libFuzzer target for the request framing path: raw bytes from a client
 * through px_http (llhttp plus floodgate's framing rules) in pieces of
 * every size, each head checked by lim_request_parse and rebuilt by
 * px_headers_request with an asserted identity, each body re-framed by the
 * relay's own request callbacks (px_relay_request_cbs) into a fake
 * upstream connection, as px_conn does. Oracles: a parse error carries a
 * client status (400, 413, 414, 431); what would reach the apiserver
 * parses back cleanly, message by message, as the same message (method,
 * target, body length) with nothing left over, so nothing ambiguous
 * crosses, and its only X-Remote-* fields are the
 * asserted ones. Input: byte 0 is the split seed, the rest is the stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_px_fake.h"
#include "lim_request.h"
#include "px_headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 64

struct msg {
    char method[32];
    uint32_t method_len;
    uint32_t target_len;
    uint64_t target_hash;
    uint64_t body;
};

static uint64_t
fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    }
    return h;
}

static void
record(struct msg *m, const struct px_http_head *h)
{
    m->method_len = h->method_len;
    snprintf(m->method, sizeof(m->method), "%.*s", (int)h->method_len, h->buf + h->method_off);
    m->target_len = h->target_len;
    m->target_hash = fnv(h->buf + h->target_off, h->target_len);
}

/* --- reading back what was forwarded --- */

struct back {
    struct msg msgs[MAX_MSGS];
    size_t n;
    uint64_t body;
};

static enum px_http_act
back_head(void *arg, struct px_http_head *h)
{
    struct back *b = arg;
    unsigned i;

    if (b->n == MAX_MSGS) {
        abort();
    }
    record(&b->msgs[b->n], h);
    for (i = 0; i < h->nfields; i++) {
        const struct px_http_field *f = &h->fields[i];
        const char *v = h->buf + f->value_off;

        if (f->kind != PX_H_X_REMOTE) {
            continue;
        }
        /* Only what floodgate asserted: a client's X-Remote-* never
         * reaches the apiserver. */
        if (px_http_ieq(h->buf + f->name_off, f->name_len, "X-Remote-User")) {
            if (!px_http_ieq(v, f->value_len, "alice")) {
                abort();
            }
        } else if (px_http_ieq(h->buf + f->name_off, f->name_len, "X-Remote-Group")) {
            if (!px_http_ieq(v, f->value_len, "developers") &&
                !px_http_ieq(v, f->value_len, "system:authenticated")) {
                abort();
            }
        } else if (!px_http_ieq(h->buf + f->name_off, f->name_len,
                                "X-Remote-Extra-authentication.kubernetes.io%2fcredential-id")) {
            abort();
        }
    }
    b->body = 0;
    b->n++;
    return PX_HTTP_GO;
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

/* Message <want> as forwarded (<s>, <len> bytes: each request goes to the
 * apiserver on its own, on whichever pooled connection) parses back as
 * exactly that message, with nothing left over. */
static void
read_back(struct fake *f, const char *s, size_t len, const struct msg *want)
{
    static struct back b;
    struct px_http p;
    struct px_http_limits lim = {1u << 20, 0};
    size_t pos = 0, guard = 0;
    enum px_http_result r = PX_HTTP_MORE;

    memset(&b, 0, sizeof(b));
    px_http_init(&p, true, &back_cbs, &b, &f->w->heads, &lim);
    while (r != PX_HTTP_DONE) {
        size_t used = 0;

        r = px_http_feed(&p, s + pos, len - pos, &used);
        pos += used;
        if (r == PX_HTTP_ERROR && field_lines(s, len) > PX_HTTP_MAX_FIELDS) {
            px_http_fini(&p);
            return;
        }
        if (r == PX_HTTP_ERROR || (r == PX_HTTP_MORE && pos >= len) || ++guard > len + 4) {
            fprintf(stderr, "forwarded bytes do not parse back: %s\n%.*s\n",
                    p.err_msg != NULL ? p.err_msg : "incomplete", (int)len, s);
            abort();
        }
    }
    b.msgs[0].body = b.body;
    if (b.n != 1 || pos != len || strcmp(b.msgs[0].method, want->method) != 0 ||
        b.msgs[0].target_len != want->target_len || b.msgs[0].target_hash != want->target_hash ||
        b.msgs[0].body != want->body) {
        fprintf(stderr, "message differs after forwarding (%zu of %zu bytes read)\n", pos, len);
        abort();
    }
    px_http_fini(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lim_request lr;
    static const char *const groups[] = {"developers", "system:authenticated"};
    struct fake *f = fake_get();
    struct px_conn *c;
    struct px_http_limits lim = {16 * 1024, 64 * 1024};
    struct px_assert a = {.user = "alice", .groups = groups, .ngroups = 2, .nextras = 1};
    struct msg msgs[MAX_MSGS];
    struct splitter sp;
    struct evbuffer *fwd;
    const char *in = (const char *)data + 1;
    size_t n = size > 0 ? size - 1 : 0, pos = 0, nmsgs = 0, guard = 0, from = 0;
    char err[256];

    if (size == 0) {
        return 0;
    }
    a.extras[0].key = "authentication.kubernetes.io/credential-id";
    a.extras[0].value = "X509SHA256=00";
    split_init(&sp, data[0]);
    c = fake_conn(f);
    fwd = bufferevent_get_output(f->up.bev);
    px_http_init(&c->req, true, &px_relay_request_cbs, c, &f->w->heads, &lim);
    for (;;) {
        size_t piece = split_next(&sp, n - pos), used = 0;
        enum px_http_result r = px_http_feed(&c->req, in + pos, piece, &used);
        struct px_http_head *h;
        bool stop = false;

        if (used > piece) {
            abort();
        }
        pos += used;
        switch (r) {
        case PX_HTTP_MORE:
            stop = pos >= n;
            break;
        case PX_HTTP_HEAD:
            h = c->req.head;
            if (h == NULL) {
                abort();
            }
            if (nmsgs == MAX_MSGS) {
                stop = true; /* the harness keeps MAX_MSGS pipelined messages */
                break;
            }
            (void)lim_request_parse(&lr, h->buf + h->method_off, h->method_len,
                                    h->buf + h->target_off, h->target_len, err, sizeof(err));
            record(&msgs[nmsgs], h);
            from = evbuffer_get_length(fwd);
            c->chunked_req = h->chunked;
            c->close_after = h->conn_close;
            if (px_headers_request(fwd, h, &a, "127.0.0.1") != 0) {
                abort();
            }
            px_http_head_done(&c->req);
            px_http_resume(&c->req);
            break;
        case PX_HTTP_DONE:
            msgs[nmsgs].body = c->req.body_bytes;
            if (c->chunked_req) {
                evbuffer_add(fwd, "0\r\n\r\n", 5); /* px_relay_request_done */
            }
            read_back(f, (const char *)evbuffer_pullup(fwd, -1) + from,
                      evbuffer_get_length(fwd) - from, &msgs[nmsgs]);
            from = evbuffer_get_length(fwd);
            nmsgs++;
            if (px_http_upgraded(&c->req) || c->close_after) {
                stop = true;
                break;
            }
            px_http_next(&c->req);
            stop = pos >= n;
            break;
        case PX_HTTP_ERROR:
            if (c->req.err_status != 400 && c->req.err_status != 413 && c->req.err_status != 414 &&
                c->req.err_status != 431) {
                fprintf(stderr, "parse error with status %d: %s\n", c->req.err_status,
                        c->req.err_msg);
                abort();
            }
            stop = true;
            break;
        }
        if (stop) {
            break;
        }
        if (++guard > 8 * n + 4 * MAX_MSGS + 16) {
            abort(); /* no progress */
        }
    }
    fake_conn_free(f);
    return 0;
}
