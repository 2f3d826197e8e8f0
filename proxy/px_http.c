/* llhttp glue and framing rules: see px_http.h. */
#include "px_http.h"

#include <stdlib.h>
#include <string.h>

enum { FIELD_NONE = 0, FIELD_NAME, FIELD_VALUE };

/* Counts for the fields that must appear at most once. */
struct counts {
    unsigned host, length, te;
};

static const struct {
    const char *name;
    enum px_hdr kind;
} px_hdr_names[] = {
    {"host", PX_H_HOST},
    {"content-length", PX_H_CONTENT_LENGTH},
    {"transfer-encoding", PX_H_TRANSFER_ENCODING},
    {"connection", PX_H_CONNECTION},
    {"keep-alive", PX_H_KEEP_ALIVE},
    {"proxy-connection", PX_H_PROXY_CONNECTION},
    {"te", PX_H_TE},
    {"trailer", PX_H_TRAILER},
    {"upgrade", PX_H_UPGRADE},
    {"proxy-authenticate", PX_H_PROXY_AUTHENTICATE},
    {"proxy-authorization", PX_H_PROXY_AUTHORIZATION},
    {"expect", PX_H_EXPECT},
    {"authorization", PX_H_AUTHORIZATION},
    {"x-forwarded-for", PX_H_X_FORWARDED_FOR},
};

static int on_message_begin(llhttp_t *p);
static int on_method(llhttp_t *p, const char *at, size_t n);
static int on_url(llhttp_t *p, const char *at, size_t n);
static int on_status(llhttp_t *p, const char *at, size_t n);
static int on_header_field(llhttp_t *p, const char *at, size_t n);
static int on_header_value(llhttp_t *p, const char *at, size_t n);
static int on_header_value_complete(llhttp_t *p);
static int on_headers_complete(llhttp_t *p);
static int on_body(llhttp_t *p, const char *at, size_t n);
static int on_chunk_header(llhttp_t *p);
static int on_chunk_complete(llhttp_t *p);
static int on_message_complete(llhttp_t *p);

static const llhttp_settings_t px_http_settings = {
    .on_message_begin = on_message_begin,
    .on_method = on_method,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_chunk_complete = on_chunk_complete,
    .on_message_complete = on_message_complete,
};

/* --- pool --- */

void
px_http_pool_init(struct px_http_pool *p, unsigned max_free)
{
    p->free = NULL;
    p->nfree = 0;
    p->max_free = max_free;
}

void
px_http_pool_fini(struct px_http_pool *p)
{
    while (p->free != NULL) {
        struct px_http_head *h = p->free;

        p->free = h->next;
        free(h);
    }
    p->nfree = 0;
}

static struct px_http_head *
pool_get(struct px_http_pool *p)
{
    struct px_http_head *h = p->free;

    if (h != NULL) {
        p->free = h->next;
        p->nfree--;
        return h;
    }
    h = malloc(sizeof(*h) + PX_HTTP_HEAD_BUF);
    if (h != NULL) {
        h->cap = PX_HTTP_HEAD_BUF;
    }
    return h;
}

static void
pool_put(struct px_http_pool *p, struct px_http_head *h)
{
    if (h == NULL) {
        return;
    }
    if (h->cap != PX_HTTP_HEAD_BUF || p->nfree >= p->max_free) {
        free(h);
        return;
    }
    h->next = p->free;
    p->free = h;
    p->nfree++;
}

/* --- helpers --- */

bool
px_http_ieq(const char *a, size_t alen, const char *b)
{
    size_t i;

    for (i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

        if (y == '\0') {
            return false;
        }
        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x + 32);
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y + 32);
        }
        if (x != y) {
            return false;
        }
    }
    return b[alen] == '\0';
}

int
px_http_find(const struct px_http_head *h, enum px_hdr kind)
{
    unsigned i;

    for (i = 0; i < h->nfields; i++) {
        if (h->fields[i].kind == kind) {
            return (int)i;
        }
    }
    return -1;
}

static int
fail(struct px_http *h, int status, const char *msg)
{
    if (h->err_status == 0 && h->err_msg == NULL) {
        h->err_status = status;
        h->err_msg = msg;
    }
    llhttp_set_error_reason(&h->parser, msg);
    return HPE_USER;
}

static int
fail_400(struct px_http *h, const char *msg)
{
    return fail(h, h->parser.type == HTTP_REQUEST ? 400 : 502, msg);
}

static int
append(struct px_http *h, const char *at, size_t n)
{
    struct px_http_head *hd = h->head;

    /* Separators count too: ": " and CRLF per field, roughly as Go counts
     * MaxHeaderBytes, so the bound is on what the peer sent. */
    if (n > h->limits.max_header_bytes - h->head_bytes) {
        return fail(h, h->parser.type == HTTP_REQUEST ? 431 : 502, "header fields too large");
    }
    if (n > hd->cap - hd->len) {
        size_t cap = (size_t)hd->cap * 2;
        struct px_http_head *bigger;

        if (cap < (size_t)hd->len + n) {
            cap = (size_t)hd->len + n;
        }
        if (cap > (size_t)h->limits.max_header_bytes) {
            cap = h->limits.max_header_bytes;
        }
        bigger = realloc(hd, sizeof(*hd) + cap);
        if (bigger == NULL) {
            return fail(h, h->parser.type == HTTP_REQUEST ? 431 : 502, "out of memory for header");
        }
        bigger->cap = (uint32_t)cap;
        h->head = hd = bigger;
    }
    memcpy(hd->buf + hd->len, at, n);
    hd->len += (uint32_t)n;
    h->head_bytes += (uint32_t)n;
    return 0;
}

static bool
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static enum px_hdr
classify(const char *name, size_t n)
{
    size_t i;

    if (n >= 9 && px_http_ieq(name, 9, "x-remote-")) {
        return PX_H_X_REMOTE;
    }
    for (i = 0; i < sizeof(px_hdr_names) / sizeof(px_hdr_names[0]); i++) {
        if (px_http_ieq(name, n, px_hdr_names[i].name)) {
            return px_hdr_names[i].kind;
        }
    }
    return PX_H_OTHER;
}

/* Calls <fn> for each comma-separated token of <v>, trimmed of whitespace. */
static void
each_token(const char *v, size_t n, void (*fn)(void *arg, const char *t, size_t tn), void *arg)
{
    size_t i = 0;

    while (i < n) {
        size_t start, end;

        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        start = i;
        while (i < n && v[i] != ',') {
            i++;
        }
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
            end--;
        }
        if (end > start) {
            fn(arg, v + start, end - start);
        }
    }
}

static void
connection_token(void *arg, const char *t, size_t n)
{
    struct px_http_head *hd = arg;

    if (px_http_ieq(t, n, "close")) {
        hd->conn_close = true;
    } else if (px_http_ieq(t, n, "upgrade")) {
        hd->conn_upgrade = true;
    }
}

static bool
keep_alive_token_in(const struct px_http_head *hd)
{
    unsigned i;

    for (i = 0; i < hd->nfields; i++) {
        const struct px_http_field *f = &hd->fields[i];
        const char *v = hd->buf + f->value_off;
        size_t j;

        if (f->kind != PX_H_CONNECTION) {
            continue;
        }
        for (j = 0; j + 10 <= f->value_len; j++) {
            if (px_http_ieq(v + j, 10, "keep-alive")) {
                return true;
            }
        }
    }
    return false;
}

/* Content-Length is 1*DIGIT, nothing else: no sign, no list, no inner
 * space (RFC 9110 8.6; a list of equal values is what smuggling uses). */
static int
parse_length(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    size_t i;

    if (n == 0 || n > 18) { /* 18 digits < 2^63: no overflow */
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* --- llhttp callbacks --- */

static int
on_message_begin(llhttp_t *p)
{
    struct px_http *h = p->data;
    struct px_http_head *hd = h->head;

    if (hd == NULL) {
        hd = h->head = pool_get(h->pool);
        if (hd == NULL) {
            return fail(h, 500, "out of memory for header");
        }
    }
    hd->len = 0;
    hd->method_off = hd->method_len = 0;
    hd->target_off = hd->target_len = 0;
    hd->reason_off = hd->reason_len = 0;
    hd->status = 0;
    hd->http_minor = 1;
    hd->chunked = hd->has_length = hd->conn_close = hd->conn_upgrade = false;
    hd->expect_continue = hd->is_upgrade = false;
    hd->content_length = 0;
    hd->authorization = -1;
    hd->nfields = 0;
    h->phase = PX_HTTP_IN_HEAD;
    h->head_bytes = 0;
    h->body_bytes = 0;
    h->field_state = FIELD_NONE;
    h->value_seen = false;
    h->in_chunk = false;
    return 0;
}

static int
on_method(llhttp_t *p, const char *at, size_t n)
{
    struct px_http *h = p->data;

    if (h->head->method_len == 0) {
        h->head->method_off = h->head->len;
    }
    h->head->method_len += (uint32_t)n;
    return append(h, at, n);
}

static int
on_url(llhttp_t *p, const char *at, size_t n)
{
    struct px_http *h = p->data;
    size_t to_414 = PX_HTTP_MAX_TARGET - h->head->target_len; /* bytes before 414 */
    size_t to_431 = h->limits.max_header_bytes - h->head_bytes;

    if (h->head->target_len == 0) {
        h->head->target_off = h->head->len;
    }
    /* Whichever limit the bytes cross first, however they were split. */
    if (n > to_414 && to_414 < to_431) {
        return fail(h, 414, "request-target too long");
    }
    h->head->target_len += (uint32_t)n;
    return append(h, at, n);
}

static int
on_status(llhttp_t *p, const char *at, size_t n)
{
    struct px_http *h = p->data;

    if (h->head->reason_len == 0) {
        h->head->reason_off = h->head->len;
    }
    h->head->reason_len += (uint32_t)n;
    return append(h, at, n);
}

/* Trailer fields of a chunked body: counted against max_header_bytes,
 * then dropped (floodgate re-frames bodies and forwards no trailers; the
 * apiserver uses none). */
static int
trailer(struct px_http *h, size_t n)
{
    if (n > h->limits.max_header_bytes - h->head_bytes) {
        return fail(h, h->parser.type == HTTP_REQUEST ? 431 : 502, "trailer fields too large");
    }
    h->head_bytes += (uint32_t)n;
    return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct px_http *h = p->data;
    struct px_http_head *hd = h->head;
    struct px_http_field *f;

    if (h->phase == PX_HTTP_IN_BODY) {
        return trailer(h, n);
    }
    if (h->field_state != FIELD_NAME) {
        if (hd->nfields == PX_HTTP_MAX_FIELDS) {
            return fail(h, h->parser.type == HTTP_REQUEST ? 431 : 502, "too many header fields");
        }
        f = &hd->fields[hd->nfields];
        f->name_off = hd->len;
        f->name_len = 0;
        f->value_off = 0;
        f->value_len = 0;
        f->kind = PX_H_OTHER;
        h->field_state = FIELD_NAME;
        h->value_seen = false;
        /* ": " and CRLF */
        if (h->limits.max_header_bytes - h->head_bytes < 4) {
            return fail(h, h->parser.type == HTTP_REQUEST ? 431 : 502, "header fields too large");
        }
        h->head_bytes += 4;
    }
    f = &hd->fields[hd->nfields];
    if (n > (size_t)(UINT16_MAX - f->name_len)) {
        return fail(h, h->parser.type == HTTP_REQUEST ? 431 : 502, "header field name too long");
    }
    f->name_len = (uint16_t)(f->name_len + n);
    h->name_end = h->stream_off + (uint64_t)(at - h->feed_base) + n;
    h->gap_lf = false;
    return append(h, at, n);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct px_http *h = p->data;
    struct px_http_head *hd = h->head;
    struct px_http_field *f;
    uint64_t abs = h->stream_off + (uint64_t)(at - h->feed_base);

    if (h->phase == PX_HTTP_IN_BODY) {
        return trailer(h, n);
    }
    f = &hd->fields[hd->nfields];
    if (h->field_state == FIELD_NAME) {
        f->value_off = hd->len;
        h->field_state = FIELD_VALUE;
    }
    if (n == 0) {
        return 0; /* llhttp reports an empty value as an empty span after its CRLF */
    }
    if (!h->value_seen) {
        /* The first bytes of a value: a LF between the name and them is a
         * fold after an empty first line ("X-A:" CRLF SP "v"), which
         * llhttp 8.1 reports as a plain value. */
        uint64_t from = h->name_end > h->stream_off ? h->name_end : h->stream_off;
        const char *gap = h->feed_base + (from - h->stream_off);

        if (h->gap_lf || (gap < at && memchr(gap, '\n', (size_t)(at - gap)) != NULL)) {
            return fail_400(h, "obsolete line folding in header field");
        }
    } else if (abs != h->value_end) {
        /* llhttp 8.1 accepts obs-fold and reports the continuation line as
         * a second span of the same value, after the CRLF it skipped: a
         * gap in the stream between two spans of one value is a fold. RFC
         * 9112 5.2 lets a server reject it; Go does, and so do we. */
        return fail_400(h, "obsolete line folding in header field");
    }
    h->value_seen = true;
    h->value_end = abs + n;
    f->value_len += (uint32_t)n;
    return append(h, at, n);
}

static int
field_rules(struct px_http *h, unsigned idx, struct counts *c)
{
    struct px_http_head *hd = h->head;
    struct px_http_field *f = &hd->fields[idx];
    const char *name = hd->buf + f->name_off, *v = hd->buf + f->value_off;
    size_t i;

    for (i = 0; i < f->name_len; i++) {
        /* llhttp keeps "Host " (space before the colon) as a name. */
        if (!is_tchar((unsigned char)name[i])) {
            return fail_400(h, "invalid character in header field name");
        }
    }
    for (i = 0; i < f->value_len; i++) {
        unsigned char ch = (unsigned char)v[i];

        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return fail_400(h, "invalid character in header field value");
        }
    }
    f->kind = (uint16_t)classify(name, f->name_len);
    switch ((enum px_hdr)f->kind) {
    case PX_H_HOST:
        c->host++;
        break;
    case PX_H_CONTENT_LENGTH:
        if (++c->length > 1) {
            return fail_400(h, "more than one Content-Length");
        }
        if (parse_length(v, f->value_len, &hd->content_length) != 0) {
            return fail_400(h, "invalid Content-Length");
        }
        hd->has_length = true;
        break;
    case PX_H_TRANSFER_ENCODING:
        /* Only "chunked", alone (Go refuses anything else too): a list
         * such as "identity, chunked" or "chunked, gzip" is where parsers
         * disagree about framing. */
        if (++c->te > 1 || !px_http_ieq(v, f->value_len, "chunked")) {
            return fail_400(h, "unsupported Transfer-Encoding");
        }
        hd->chunked = true;
        break;
    case PX_H_CONNECTION:
        each_token(v, f->value_len, connection_token, hd);
        break;
    case PX_H_EXPECT:
        if (px_http_ieq(v, f->value_len, "100-continue")) {
            hd->expect_continue = true;
        }
        break;
    case PX_H_AUTHORIZATION:
        if (hd->authorization < 0) {
            hd->authorization = (int)idx;
        }
        break;
    default:
        break;
    }
    return 0;
}

static int
on_header_value_complete(llhttp_t *p)
{
    struct px_http *h = p->data;
    struct px_http_head *hd = h->head;
    struct px_http_field *f;
    const char *v;

    if (h->phase == PX_HTTP_IN_BODY) {
        return 0; /* a trailer */
    }
    f = &hd->fields[hd->nfields];
    if (h->field_state == FIELD_NAME) { /* empty value */
        f->value_off = hd->len;
        f->value_len = 0;
    }
    v = hd->buf + f->value_off;
    while (f->value_len > 0 && (v[f->value_len - 1] == ' ' || v[f->value_len - 1] == '\t')) {
        f->value_len--;
    }
    h->field_state = FIELD_NONE;
    hd->nfields++;
    return 0;
}

static int
head_rules(struct px_http *h)
{
    struct px_http_head *hd = h->head;
    struct counts c = {0, 0, 0};
    bool req = h->parser.type == HTTP_REQUEST;
    unsigned i;
    int rc;

    if (h->parser.http_major != 1 || h->parser.http_minor > 1) {
        return fail_400(h, "unsupported HTTP version");
    }
    hd->http_minor = h->parser.http_minor;
    for (i = 0; i < hd->nfields; i++) {
        if ((rc = field_rules(h, i, &c)) != 0) {
            return rc;
        }
    }
    if (hd->chunked && hd->has_length) {
        return fail_400(h, "both Transfer-Encoding and Content-Length");
    }
    /* The body is framed by llhttp's reading of these fields, the
     * forwarded head by ours: they must agree. llhttp 8.1 does not take
     * "chunked" followed by whitespace as chunked, for one, and would read
     * such a response to the close under our "chunked". */
    if (hd->chunked != ((h->parser.flags & F_CHUNKED) != 0) ||
        hd->has_length != ((h->parser.flags & F_CONTENT_LENGTH) != 0)) {
        return fail_400(h, "ambiguous message framing");
    }
    if (hd->chunked && hd->http_minor == 0) {
        /* RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has
         * faulty framing. */
        return fail_400(h, "Transfer-Encoding in an HTTP/1.0 message");
    }
    if (hd->http_minor == 0 && !keep_alive_token_in(hd)) {
        hd->conn_close = true;
    }
    if (!req) {
        /* RFC 9112 4: status-code is 3DIGIT; llhttp 8.1 also takes "20"
         * and "0", which no client could read back once forwarded. */
        if (h->parser.status_code < 100 || h->parser.status_code > 999) {
            return fail_400(h, "invalid status code");
        }
        hd->status = h->parser.status_code;
        hd->is_upgrade = hd->status == 101;
        return 0;
    }
    if (h->parser.method == HTTP_CONNECT) {
        return fail(h, 400, "CONNECT is not supported");
    }
    if (c.host > 1 || (c.host == 0 && hd->http_minor == 1)) {
        /* RFC 9112 3.2, and Go's "missing required Host header". */
        return fail(h, 400, c.host > 1 ? "more than one Host" : "missing Host");
    }
    hd->is_upgrade = hd->conn_upgrade && px_http_find(hd, PX_H_UPGRADE) >= 0;
    if (hd->is_upgrade && (hd->chunked || hd->content_length > 0)) {
        return fail(h, 400, "an upgrade request with a body");
    }
    if (h->limits.max_body_bytes != 0 && hd->content_length > h->limits.max_body_bytes) {
        return fail(h, 413, "request body too large");
    }
    return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
    struct px_http *h = p->data;
    int rc = head_rules(h);

    if (rc != 0) {
        return rc;
    }
    h->phase = PX_HTTP_IN_BODY;
    switch (h->cbs->on_head(h->arg, h->head)) {
    case PX_HTTP_GO:
        return 0;
    case PX_HTTP_SKIP_BODY:
        return 1;
    case PX_HTTP_PAUSE:
        return HPE_PAUSED;
    case PX_HTTP_ABORT:
    default:
        return fail(h, 0, "aborted");
    }
}

static int
on_body(llhttp_t *p, const char *at, size_t n)
{
    struct px_http *h = p->data;

    h->body_bytes += n;
    if (h->limits.max_body_bytes != 0 && h->body_bytes > h->limits.max_body_bytes) {
        return fail(h, h->parser.type == HTTP_REQUEST ? 413 : 502, "body too large");
    }
    if (h->cbs->on_body != NULL && h->cbs->on_body(h->arg, at, n) != 0) {
        return fail(h, 0, "aborted");
    }
    return 0;
}

static int
on_chunk_header(llhttp_t *p)
{
    struct px_http *h = p->data;
    uint64_t size = p->content_length;

    if (size == 0) {
        return 0;
    }
    if (h->limits.max_body_bytes != 0 && size > h->limits.max_body_bytes - h->body_bytes) {
        return fail(h, h->parser.type == HTTP_REQUEST ? 413 : 502, "body too large");
    }
    h->in_chunk = true;
    if (h->cbs->on_chunk != NULL && h->cbs->on_chunk(h->arg, size) != 0) {
        return fail(h, 0, "aborted");
    }
    return 0;
}

static int
on_chunk_complete(llhttp_t *p)
{
    struct px_http *h = p->data;

    if (!h->in_chunk) {
        return 0; /* the last, empty chunk */
    }
    h->in_chunk = false;
    if (h->cbs->on_chunk_end != NULL && h->cbs->on_chunk_end(h->arg) != 0) {
        return fail(h, 0, "aborted");
    }
    return 0;
}

static int
on_message_complete(llhttp_t *p)
{
    struct px_http *h = p->data;

    h->phase = PX_HTTP_ENDED;
    /* Stop here: the next pipelined message waits for this one's answer. */
    return HPE_PAUSED;
}

/* --- public --- */

void
px_http_init(struct px_http *h, bool is_request, const struct px_http_cbs *cbs, void *arg,
             struct px_http_pool *pool, const struct px_http_limits *limits)
{
    memset(h, 0, sizeof(*h));
    llhttp_init(&h->parser, is_request ? HTTP_REQUEST : HTTP_RESPONSE, &px_http_settings);
    h->parser.data = h;
    h->cbs = cbs;
    h->arg = arg;
    h->pool = pool;
    h->limits = *limits;
    h->phase = PX_HTTP_IDLE;
}

void
px_http_fini(struct px_http *h)
{
    pool_put(h->pool, h->head);
    h->head = NULL;
}

void
px_http_set_limits(struct px_http *h, const struct px_http_limits *limits)
{
    h->limits = *limits;
}

void
px_http_head_done(struct px_http *h)
{
    pool_put(h->pool, h->head);
    h->head = NULL;
}

enum px_http_result
px_http_feed(struct px_http *h, const char *data, size_t len, size_t *consumed)
{
    llhttp_errno_t e;
    size_t used = len;
    enum px_http_result r = PX_HTTP_MORE;

    *consumed = 0;
    if (h->phase == PX_HTTP_FAILED) {
        return PX_HTTP_ERROR;
    }
    if (h->phase == PX_HTTP_ENDED) {
        return PX_HTTP_DONE;
    }
    h->feed_base = data;
    e = llhttp_execute(&h->parser, data, len);
    switch (e) {
    case HPE_OK:
        break;
    case HPE_PAUSED:
    case HPE_PAUSED_UPGRADE:
        used = (size_t)(llhttp_get_error_pos(&h->parser) - data);
        r = h->phase == PX_HTTP_ENDED ? PX_HTTP_DONE : PX_HTTP_HEAD;
        break;
    default:
        used = (size_t)(llhttp_get_error_pos(&h->parser) - data);
        if (h->err_status == 0 && h->err_msg == NULL) {
            h->err_status = h->parser.type == HTTP_REQUEST ? 400 : 502;
            h->err_msg = llhttp_get_error_reason(&h->parser);
            if (h->err_msg == NULL) {
                h->err_msg = llhttp_errno_name(e);
            }
        }
        h->phase = PX_HTTP_FAILED;
        r = PX_HTTP_ERROR;
        break;
    }
    if (used > len) {
        used = len;
    }
    if (h->phase == PX_HTTP_IN_HEAD && h->field_state != FIELD_NONE && !h->value_seen &&
        !h->gap_lf) {
        /* A name ended in this call and its value has not begun: remember
         * a LF fed meanwhile for on_header_value. */
        uint64_t from = h->name_end > h->stream_off ? h->name_end : h->stream_off;

        if (from < h->stream_off + used && memchr(data + (from - h->stream_off), '\n',
                                                  (size_t)(h->stream_off + used - from)) != NULL) {
            h->gap_lf = true;
        }
    }
    h->stream_off += used;
    h->feed_base = NULL;
    *consumed = used;
    return r;
}

enum px_http_result
px_http_eof(struct px_http *h)
{
    llhttp_errno_t e;

    if (h->phase == PX_HTTP_IDLE || h->phase == PX_HTTP_ENDED) {
        return h->phase == PX_HTTP_ENDED ? PX_HTTP_DONE : PX_HTTP_MORE;
    }
    if (h->phase == PX_HTTP_FAILED) {
        return PX_HTTP_ERROR;
    }
    e = llhttp_finish(&h->parser);
    if ((e == HPE_OK || e == HPE_PAUSED) && h->phase == PX_HTTP_ENDED) {
        return PX_HTTP_DONE;
    }
    if (h->err_status == 0 && h->err_msg == NULL) {
        h->err_status = h->parser.type == HTTP_REQUEST ? 400 : 502;
        h->err_msg = "connection closed in the middle of a message";
    }
    h->phase = PX_HTTP_FAILED;
    return PX_HTTP_ERROR;
}

void
px_http_resume(struct px_http *h)
{
    if (llhttp_get_errno(&h->parser) == HPE_PAUSED) {
        llhttp_resume(&h->parser);
    }
}

void
px_http_next(struct px_http *h)
{
    if (llhttp_get_errno(&h->parser) == HPE_PAUSED) {
        llhttp_resume(&h->parser);
    }
    h->phase = PX_HTTP_IDLE;
}

bool
px_http_upgraded(const struct px_http *h)
{
    return h->phase == PX_HTTP_ENDED && h->parser.upgrade != 0;
}

bool
px_http_keep_alive(const struct px_http *h)
{
    return llhttp_should_keep_alive(&h->parser) != 0;
}

bool
px_http_at_chunk_boundary(const struct px_http *h)
{
    return !h->in_chunk;
}
