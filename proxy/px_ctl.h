/* The client side of `floodgate ctl`: one plain HTTP/1.1 request to the
 * admin endpoint over TCP or a unix socket, blocking with a deadline, and
 * the answer read whole. No libevent, no TLS, nothing that needs the
 * apiserver: it must work when nothing else does. */
#ifndef PX_CTL_H
#define PX_CTL_H

#include <stddef.h>
#include <stdint.h>

#define PX_CTL_MAX_ANSWER (64u << 20) /* bytes of an answer: /metrics of 4096 classes fits */

struct px_ctl_answer {
    int status;
    char *body; /* NUL-terminated, malloc'd */
    size_t body_len;
};

/* Sends <method> <path> to <addr> ("HOST:PORT", "[V6]:PORT" or
 * "unix:/path") with "Authorization: Bearer <token>" when <token> is not
 * NULL and <body> (JSON) when not NULL, and reads the answer within
 * <timeout_ms>. 0 with <out> filled (free it with px_ctl_answer_free), or
 * -1 with <err> ("cannot connect to 127.0.0.1:9444: Connection refused"). */
int px_ctl_request(const char *addr, const char *token, const char *method, const char *path,
                   const char *body, int timeout_ms, struct px_ctl_answer *out, char *err,
                   size_t errlen);
void px_ctl_answer_free(struct px_ctl_answer *a);

/* Appends <s> percent-encoded for a query value to <buf> (of <len>,
 * NUL-terminated). Returns -1 when it does not fit. */
int px_ctl_urlencode(char *buf, size_t len, const char *s);

/* Reads a bearer token file as the admin plane does (trailing newline and
 * spaces dropped) into <out>. 0, or -1 with <err>. */
int px_ctl_read_token(const char *path, char *out, size_t outlen, char *err, size_t errlen);

#endif /* PX_CTL_H */
