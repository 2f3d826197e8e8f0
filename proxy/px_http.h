/* HTTP/1.1 message framing for both directions, over llhttp in strict mode:
 * collects a message head into a bounded buffer, enforces the limits (431,
 * 414, 413) and the framing rules llhttp 8.1 lets through (obs-fold, space
 * before a colon, Transfer-Encoding other than exactly "chunked", duplicate
 * Content-Length or Host, ...: 400), and hands the body to its owner as
 * decoded spans. No I/O: bytes in, callbacks out. */
#ifndef PX_HTTP_H
#define PX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define PX_HTTP_MAX_FIELDS 128  /* header lines per message -> 431 beyond */
#define PX_HTTP_MAX_TARGET 8191 /* request-target bytes -> 414 beyond */
#define PX_HTTP_HEAD_BUF   4096 /* head bytes a pooled head holds before growing */

/* Header names the proxy acts on; everything else is PX_H_OTHER. */
enum px_hdr {
    PX_H_OTHER = 0,
    PX_H_HOST,
    PX_H_CONTENT_LENGTH,
    PX_H_TRANSFER_ENCODING,
    PX_H_CONNECTION,
    PX_H_KEEP_ALIVE,
    PX_H_PROXY_CONNECTION,
    PX_H_TE,
    PX_H_TRAILER,
    PX_H_UPGRADE,
    PX_H_PROXY_AUTHENTICATE,
    PX_H_PROXY_AUTHORIZATION,
    PX_H_EXPECT,
    PX_H_AUTHORIZATION,
    PX_H_X_REMOTE, /* any X-Remote-* (requestheader authentication) */
    PX_H_X_FORWARDED_FOR,
};

struct px_http_field {
    uint32_t name_off;
    uint32_t value_off;
    uint32_t value_len; /* trailing whitespace trimmed */
    uint16_t name_len;
    uint16_t kind; /* enum px_hdr */
};

/* One message head. Strings are offsets into buf (not NUL-terminated).
 * Allocated from a struct px_http_pool, owned by the struct px_http that
 * parsed it until px_http_head_done or the next message. */
struct px_http_head {
    struct px_http_head *next; /* pool free list */
    uint32_t cap;              /* bytes of buf */
    uint32_t len;              /* bytes used */
    uint32_t method_off, method_len;
    uint32_t target_off, target_len;
    uint32_t reason_off, reason_len; /* response */
    int status;                      /* response */
    uint8_t http_minor;              /* major is always 1 */
    bool chunked;                    /* Transfer-Encoding: chunked */
    bool has_length;                 /* Content-Length present */
    bool conn_close;                 /* Connection: close (or HTTP/1.0 without keep-alive) */
    bool conn_upgrade;               /* Connection: upgrade */
    bool expect_continue;            /* Expect: 100-continue */
    bool is_upgrade; /* Upgrade with Connection: upgrade (request), 101 (response) */
    uint64_t content_length;
    int authorization; /* field index of the first Authorization, -1 when none */
    uint16_t nfields;
    struct px_http_field fields[PX_HTTP_MAX_FIELDS];
    char buf[]; /* cap bytes */
};

/* Recycles heads of PX_HTTP_HEAD_BUF bytes so that steady-state requests
 * allocate nothing; heads that grew are freed instead. One per worker. */
struct px_http_pool {
    struct px_http_head *free;
    unsigned nfree;
    unsigned max_free;
};

void px_http_pool_init(struct px_http_pool *p, unsigned max_free);
void px_http_pool_fini(struct px_http_pool *p);

struct px_http_limits {
    uint32_t max_header_bytes; /* request line or status line plus fields -> 431 */
    uint64_t max_body_bytes;   /* decoded body -> 413; 0 = unlimited (responses) */
};

/* What the owner wants after a head (returned by on_head). */
enum px_http_act {
    PX_HTTP_GO = 0,    /* go on into the body */
    PX_HTTP_SKIP_BODY, /* the message has no body (response to HEAD) */
    PX_HTTP_PAUSE,     /* stop after the head; px_http_resume continues */
    PX_HTTP_ABORT,     /* stop with error status 0 (the owner already acted) */
};

/* Callbacks into the owner, all with the owner's <arg>. on_body and the
 * chunk callbacks return 0, or -1 to abort parsing (error status 0). */
struct px_http_cbs {
    enum px_http_act (*on_head)(void *arg, struct px_http_head *h);
    int (*on_body)(void *arg, const char *at, size_t len);
    int (*on_chunk)(void *arg, uint64_t size); /* a chunk of <size> > 0 bytes starts */
    int (*on_chunk_end)(void *arg);            /* that chunk's data ended */
};

enum px_http_result {
    PX_HTTP_MORE = 0, /* everything consumed, the message goes on */
    PX_HTTP_HEAD,     /* paused after the head (on_head said PX_HTTP_PAUSE) */
    PX_HTTP_DONE,     /* a message ended; px_http_next allows the next one */
    PX_HTTP_ERROR,    /* px_http_error says why; the connection must close */
};

enum px_http_phase {
    PX_HTTP_IDLE = 0, /* between messages, nothing of the next one seen */
    PX_HTTP_IN_HEAD,
    PX_HTTP_IN_BODY,
    PX_HTTP_ENDED, /* after PX_HTTP_DONE, until px_http_next */
    PX_HTTP_FAILED,
};

/* Embedded in a connection (about 200 bytes). */
struct px_http {
    llhttp_t parser;
    const struct px_http_cbs *cbs;
    void *arg;
    struct px_http_pool *pool;
    struct px_http_head *head;
    struct px_http_limits limits;
    enum px_http_phase phase;
    uint64_t stream_off;   /* bytes fed since init */
    uint64_t value_end;    /* stream offset after the last header-value span */
    uint64_t name_end;     /* stream offset after the last header-name span */
    bool gap_lf;           /* a LF was fed after that name, before any value */
    uint64_t body_bytes;   /* decoded body bytes of this message */
    uint32_t head_bytes;   /* head bytes of this message so far */
    uint8_t field_state;   /* 0 none, 1 in name, 2 in value */
    bool in_chunk;         /* inside the data of a chunk */
    bool value_seen;       /* the current field has a value span already */
    int err_status;        /* 400, 413, 414, 431 (requests), 502 (responses), 0 */
    const char *err_msg;   /* static text */
    const char *feed_base; /* data of the px_http_feed call in progress */
};

/* Initialises <h> to parse requests (<is_request>) or responses. */
void px_http_init(struct px_http *h, bool is_request, const struct px_http_cbs *cbs, void *arg,
                  struct px_http_pool *pool, const struct px_http_limits *limits);
/* Gives the head (if any) back to the pool. */
void px_http_fini(struct px_http *h);

/* Parses <len> bytes of <data>; *<consumed> says how many were used (the
 * rest belongs to the next message, or to a tunnel after an upgrade). */
enum px_http_result px_http_feed(struct px_http *h, const char *data, size_t len, size_t *consumed);
/* The peer closed: ends a message delimited by the close (responses
 * without length). PX_HTTP_DONE, PX_HTTP_ERROR (cut short) or PX_HTTP_MORE
 * (nothing was in progress). */
enum px_http_result px_http_eof(struct px_http *h);

/* After PX_HTTP_HEAD: parse the body. */
void px_http_resume(struct px_http *h);
/* After PX_HTTP_DONE: allow the next message. */
void px_http_next(struct px_http *h);
/* The head of the current message may go back to the pool. */
void px_http_head_done(struct px_http *h);
/* Sets the limits used from the next message on. */
void px_http_set_limits(struct px_http *h, const struct px_http_limits *limits);

/* The message that just ended asked to switch protocols (request) or
 * switched them (101 response): what follows is not HTTP. */
bool px_http_upgraded(const struct px_http *h);
/* The message allows the connection to carry another (llhttp's view:
 * version, Connection, framing). */
bool px_http_keep_alive(const struct px_http *h);
/* The body ended exactly at a chunk boundary or nothing is in progress:
 * a cut-short chunked stream can be terminated cleanly. */
bool px_http_at_chunk_boundary(const struct px_http *h);

/* Helpers on a head. */
static inline const char *
px_http_str(const struct px_http_head *h, uint32_t off)
{
    return h->buf + off;
}
/* The first field of <kind>, or -1. */
int px_http_find(const struct px_http_head *h, enum px_hdr kind);
/* Case-insensitive comparison of ASCII <a> (length <alen>) with <b>. */
bool px_http_ieq(const char *a, size_t alen, const char *b);

#endif /* PX_HTTP_H */
